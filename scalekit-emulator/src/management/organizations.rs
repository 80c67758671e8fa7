//! Organizations, their settings and portal links, connections,
//! directories and domains.
//!
//! Every organization has one SSO connection (OIDC, provider Okta: the
//! emulated identity provider) and one SCIM directory, as the seeded ones
//! do; an organization created through the API gets both.

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::{
    ApiError, ApiResult, Management, Pairs, Shared, Store, body_object, created, find_organization,
    ok, opt_str, opt_string_map, paginate, query, req_str,
};
use crate::model::Organization;
use crate::webhooks::rfc3339;
use crate::{Directory, State, ids, now};

/// Longest display name accepted.
const MAX_NAME: usize = 200;
/// How long a portal link is valid (the platform's 7 days).
const PORTAL_LINK_TTL: u64 = 7 * 24 * 3600;

/// What the API keeps of an organization beyond the sign-in page's view.
#[derive(Debug, Clone)]
pub(crate) struct OrgExtra {
    external_id: Option<String>,
    metadata: Map<String, Value>,
    /// Settings features (`sso`, `dir_sync`, …) in the order first set.
    features: Vec<(String, bool)>,
    create_time: u64,
    update_time: u64,
}

impl OrgExtra {
    fn new(at: u64) -> Self {
        OrgExtra {
            external_id: None,
            metadata: Map::new(),
            features: Vec::new(),
            create_time: at,
            update_time: at,
        }
    }
}

/// A domain of an organization.
#[derive(Debug, Clone)]
pub(crate) struct DomainRecord {
    id: String,
    organization_id: String,
    domain: String,
    domain_type: String,
    create_time: u64,
}

impl Store {
    /// The extra attributes of organization `id` (defaults for the seeds).
    pub(super) fn org_extra(&mut self, id: &str, started: u64) -> &mut OrgExtra {
        self.orgs
            .entry(id.to_owned())
            .or_insert_with(|| OrgExtra::new(started))
    }

    fn domains_of(&self, organization_id: &str) -> Vec<DomainRecord> {
        self.domains
            .iter()
            .filter(|d| d.organization_id == organization_id)
            .cloned()
            .collect()
    }
}

impl Management {
    /// Forgets what the API kept of a deleted organization.
    fn forget_organization(&self, id: &str) {
        let mut store = self.store();
        store.orgs.remove(id);
        store.rbac.forget_organization(id);
        store.max_users.remove(id);
        store.org_clients.retain(|c| c.organization_id() != id);
        store.domains.retain(|d| d.organization_id != id);
    }
}

pub(super) fn organization_view(org: &Organization, extra: &OrgExtra) -> Value {
    let features: Vec<Value> = extra
        .features
        .iter()
        .map(|(name, enabled)| json!({"name": name, "enabled": enabled}))
        .collect();
    let mut view = json!({
        "id": org.id,
        "display_name": org.name,
        "region_code": "US",
        "metadata": extra.metadata,
        "settings": {"features": features},
        "create_time": rfc3339(extra.create_time),
        "update_time": rfc3339(extra.update_time),
    });
    if let (Some(external), Some(map)) = (&extra.external_id, view.as_object_mut()) {
        map.insert("external_id".into(), json!(external));
    }
    view
}

fn org_response(state: &State, org: &Organization) -> Value {
    let mut store = state.management.store();
    let extra = store.org_extra(&org.id, state.management.started).clone();
    json!({"organization": organization_view(org, &extra)})
}

fn display_name(map: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match opt_str(map, "display_name")? {
        None => Ok(None),
        Some(name) if name.trim().is_empty() => Err(ApiError::invalid(
            "display_name",
            "display_name must not be blank",
        )),
        Some(name) if name.chars().count() > MAX_NAME => Err(ApiError::invalid(
            "display_name",
            format!("display_name must be at most {MAX_NAME} characters"),
        )),
        Some(name) => Ok(Some(name)),
    }
}

/// Checks that no other organization has `external_id`.
fn check_external_id(
    state: &State,
    store: &Store,
    external_id: &str,
    own_id: Option<&str>,
) -> Result<(), ApiError> {
    let taken = state.model.organizations().iter().any(|o| {
        Some(o.id.as_str()) != own_id
            && store.orgs.get(&o.id).and_then(|e| e.external_id.as_deref()) == Some(external_id)
    });
    if taken {
        return Err(ApiError::already_exists(
            "external_id",
            "another organization has this external_id",
        ));
    }
    Ok(())
}

/// `GET /api/v1/organizations`.
pub(super) async fn list(AxumState(state): AxumState<Shared>, Pairs(pairs): Pairs) -> ApiResult {
    let orgs = state.model.organizations();
    let external = query(&pairs, "external_id").filter(|e| !e.is_empty());
    let views: Vec<Value> = {
        let mut store = state.management.store();
        orgs.iter()
            .filter_map(|org| {
                let extra = store.org_extra(&org.id, state.management.started).clone();
                external
                    .is_none_or(|e| extra.external_id.as_deref() == Some(e))
                    .then(|| organization_view(org, &extra))
            })
            .collect()
    };
    let page = paginate(views, &pairs, "organizations")?;
    ok(json!({
        "organizations": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}

/// `POST /api/v1/organizations`.
pub(super) async fn create(AxumState(state): AxumState<Shared>, body: Bytes) -> ApiResult {
    let map = body_object(&body)?;
    let name = display_name(&map)?
        .ok_or_else(|| ApiError::invalid("display_name", "display_name is required"))?;
    let external_id = opt_str(&map, "external_id")?.filter(|e| !e.is_empty());
    let metadata = opt_string_map(&map, "metadata")?.unwrap_or_default();
    let org = Organization {
        id: ids::id("org"),
        name,
        domain: String::new(),
        connection_id: ids::id("conn"),
    };
    let view = {
        let mut store = state.management.store();
        if let Some(external) = &external_id {
            check_external_id(&state, &store, external, None)?;
        }
        state.directories.add(&state.issuer, &org.id).map_err(|_| {
            ApiError::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the directory's bearer secret could not be generated",
            )
        })?;
        let mut extra = OrgExtra::new(now());
        extra.external_id = external_id;
        extra.metadata = metadata;
        store.orgs.insert(org.id.clone(), extra.clone());
        state.model.add_organization(org.clone());
        organization_view(&org, &extra)
    };
    created(json!({"organization": view}))
}

/// `GET /api/v1/organizations/{id}`.
pub(super) async fn get_one(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> ApiResult {
    let org = find_organization(&state, &id)?;
    ok(org_response(&state, &org))
}

/// `PATCH /api/v1/organizations/{id}`.
pub(super) async fn update(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let name = display_name(&map)?;
    let external_id = opt_str(&map, "external_id")?;
    let metadata = opt_string_map(&map, "metadata")?;
    let org = find_organization(&state, &id)?;
    {
        let mut store = state.management.store();
        if let Some(external) = external_id.as_deref().filter(|e| !e.is_empty()) {
            check_external_id(&state, &store, external, Some(&id))?;
        }
        let extra = store.org_extra(&id, state.management.started);
        if let Some(external) = external_id {
            extra.external_id = Some(external).filter(|e| !e.is_empty());
        }
        if let Some(metadata) = metadata {
            extra.metadata = metadata;
        }
        extra.update_time = now();
        if let Some(name) = name {
            state.model.update_organization(&id, |o| o.name = name);
        }
    }
    let org = state.model.organization(&id).unwrap_or(org);
    ok(org_response(&state, &org))
}

/// `DELETE /api/v1/organizations/{id}`: `204`. Its directory, domains and
/// roles go with it, and its members lose their membership.
pub(super) async fn delete(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> ApiResult {
    find_organization(&state, &id)?;
    super::users::remove_all_memberships_of(&state, &id);
    state.model.remove_organization(&id);
    state.directories.remove_organization(&id);
    state.management.forget_organization(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PATCH /api/v1/organizations/{id}/settings`: sets the named features.
pub(super) async fn settings(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let Some(Value::Array(features)) = map.get("features") else {
        return Err(ApiError::invalid(
            "features",
            "features must be a list of {name, enabled}",
        ));
    };
    let mut changes = Vec::new();
    for (i, feature) in features.iter().enumerate() {
        let name = feature
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| {
                ApiError::invalid(format!("features[{i}].name"), "a feature needs a name")
            })?;
        let enabled = feature
            .get("enabled")
            .and_then(Value::as_bool)
            .ok_or_else(|| {
                ApiError::invalid(
                    format!("features[{i}].enabled"),
                    "enabled must be true or false",
                )
            })?;
        changes.push((name.to_owned(), enabled));
    }
    let org = find_organization(&state, &id)?;
    {
        let mut store = state.management.store();
        let extra = store.org_extra(&id, state.management.started);
        for (name, enabled) in changes {
            match extra.features.iter_mut().find(|(n, _)| *n == name) {
                Some(feature) => feature.1 = enabled,
                None => extra.features.push((name, enabled)),
            }
        }
        extra.update_time = now();
    }
    ok(org_response(&state, &org))
}

/// `PUT /api/v1/organizations/{id}/portal_links?features=sso&features=dir_sync`:
/// a link to the admin portal page (`/portal/{link_id}`), valid 7 days.
pub(super) async fn portal_link(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    let mut features = Vec::new();
    for (name, value) in &pairs {
        if name != "features" {
            continue;
        }
        if !matches!(value.as_str(), "sso" | "dir_sync") {
            return Err(ApiError::invalid(
                "features",
                "features must be sso or dir_sync",
            ));
        }
        features.push(("features", value.as_str()));
    }
    find_organization(&state, &id)?;
    let link_id = ids::id("lnk");
    let expires = now() + PORTAL_LINK_TTL;
    state.management.store().portal_links.insert(
        link_id.clone(),
        super::links::PortalLink {
            organization_id: id.clone(),
            features: features.iter().map(|(_, f)| (*f).to_owned()).collect(),
            expires,
        },
    );
    let location =
        crate::urls::with_query(&format!("{}/portal/{link_id}", state.issuer), &features);
    ok(json!({
        "id": link_id,
        "location": location,
        "expire_time": rfc3339(expires),
    }))
}

fn connection_view(state: &State, org: &Organization, domains: &[DomainRecord]) -> Value {
    let enabled = state.connection_enabled(&org.connection_id);
    let created = state
        .management
        .store()
        .org_extra(&org.id, state.management.started)
        .create_time;
    json!({
        "id": org.connection_id,
        "organization_id": org.id,
        "organization_name": org.name,
        "provider": "OKTA",
        "type": "SSO_OIDC",
        "status": if enabled { "ACTIVE" } else { "INACTIVE" },
        "enabled": enabled,
        "domains": domains.iter().map(|d| d.domain.clone()).collect::<Vec<_>>(),
        "create_time": rfc3339(created),
    })
}

fn domains_of(state: &State, organization_id: &str) -> Vec<DomainRecord> {
    state.management.store().domains_of(organization_id)
}

/// `GET /api/v1/connections?organization_id=…&domain=…`.
pub(super) async fn list_connections(
    AxumState(state): AxumState<Shared>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    let by_org = query(&pairs, "organization_id").filter(|o| !o.is_empty());
    let by_domain = query(&pairs, "domain").filter(|d| !d.is_empty());
    let views: Vec<Value> = state
        .model
        .organizations()
        .iter()
        .filter(|o| by_org.is_none_or(|id| o.id == id))
        .filter_map(|o| {
            let domains = domains_of(&state, &o.id);
            let matches = by_domain.is_none_or(|d| {
                o.domain.eq_ignore_ascii_case(d)
                    || domains.iter().any(|r| r.domain.eq_ignore_ascii_case(d))
            });
            matches.then(|| connection_view(&state, o, &domains))
        })
        .collect();
    let page = paginate(views, &pairs, "connections")?;
    ok(json!({
        "connections": page.items,
        "next_page_token": page.next_page_token,
        "total_size": page.total_size,
    }))
}

/// `GET /api/v1/organizations/{organization_id}/connections`.
pub(super) async fn organization_connections(
    AxumState(state): AxumState<Shared>,
    Path(org_id): Path<String>,
) -> ApiResult {
    let org = find_organization(&state, &org_id)?;
    let view = connection_view(&state, &org, &domains_of(&state, &org.id));
    ok(json!({"connections": [view], "next_page_token": ""}))
}

/// The organization and its connection `id`, or `404`.
fn find_connection(state: &State, org_id: &str, id: &str) -> Result<Organization, ApiError> {
    let org = find_organization(state, org_id)?;
    if org.connection_id != id {
        return Err(ApiError::not_found("connection"));
    }
    Ok(org)
}

/// `GET /api/v1/organizations/{organization_id}/connections/{id}`.
pub(super) async fn get_connection(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
) -> ApiResult {
    let org = find_connection(&state, &org_id, &id)?;
    ok(connection_view(&state, &org, &domains_of(&state, &org.id)))
}

/// `{id}:enable` or `{id}:disable`: the id and whether to enable.
fn toggle_target(segment: &str) -> Result<(&str, bool), ApiError> {
    match segment.rsplit_once(':') {
        Some((id, "enable")) => Ok((id, true)),
        Some((id, "disable")) => Ok((id, false)),
        _ => Err(ApiError::not_found("endpoint")),
    }
}

/// `PATCH /api/v1/organizations/{organization_id}/connections/{id}:enable`
/// (or `:disable`): emits `organization.sso_enabled` / `_disabled` on a
/// change.
pub(super) async fn toggle_connection(
    AxumState(state): AxumState<Shared>,
    Path((org_id, segment)): Path<(String, String)>,
) -> ApiResult {
    let (id, enabled) = toggle_target(&segment)?;
    find_connection(&state, &org_id, id)?;
    state
        .set_connection_enabled(id, enabled)
        .map_err(|_| ApiError::not_found("connection"))?;
    ok(json!({"enabled": enabled, "error_message": ""}))
}

fn directory_view(state: &State, dir: &Directory) -> Value {
    let users = state.directories.users(&dir.id).unwrap_or_default();
    let groups = state.directories.groups(&dir.id).unwrap_or_default();
    // The last provisioning change (RFC 3339 UTC strings sort by time).
    let last_sync = users
        .iter()
        .chain(groups.iter())
        .filter_map(|r| r["meta"]["lastModified"].as_str())
        .max()
        .map(str::to_owned);
    let (users, groups) = (users.len(), groups.len());
    let mut view = json!({
        "id": dir.id,
        "name": "SCIM directory",
        "organization_id": dir.organization_id,
        "directory_type": "SCIM",
        "directory_provider": "OKTA",
        "directory_endpoint": dir.endpoint,
        "status": if dir.enabled { "ACTIVE" } else { "INACTIVE" },
        "enabled": dir.enabled,
        "total_users": users,
        "total_groups": groups,
    });
    if let (Some(at), Some(map)) = (last_sync, view.as_object_mut()) {
        map.insert("last_sync_time".into(), json!(at));
    }
    view
}

fn find_directory(state: &State, org_id: &str, id: &str) -> Result<Directory, ApiError> {
    find_organization(state, org_id)?;
    state
        .directories
        .list()
        .into_iter()
        .find(|d| d.id == id && d.organization_id == org_id)
        .ok_or_else(|| ApiError::not_found("directory"))
}

/// `GET /api/v1/organizations/{organization_id}/directories`.
pub(super) async fn list_directories(
    AxumState(state): AxumState<Shared>,
    Path(org_id): Path<String>,
) -> ApiResult {
    find_organization(&state, &org_id)?;
    let views: Vec<Value> = state
        .directories
        .list()
        .iter()
        .filter(|d| d.organization_id == org_id)
        .map(|d| directory_view(&state, d))
        .collect();
    ok(json!({"directories": views, "next_page_token": ""}))
}

/// `GET /api/v1/organizations/{organization_id}/directories/{id}`.
pub(super) async fn get_directory(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
) -> ApiResult {
    let dir = find_directory(&state, &org_id, &id)?;
    ok(directory_view(&state, &dir))
}

/// `PATCH /api/v1/organizations/{organization_id}/directories/{id}:enable`
/// (or `:disable`): emits `organization.directory_enabled` / `_disabled` on
/// a change.
pub(super) async fn toggle_directory(
    AxumState(state): AxumState<Shared>,
    Path((org_id, segment)): Path<(String, String)>,
) -> ApiResult {
    let (id, enabled) = toggle_target(&segment)?;
    find_directory(&state, &org_id, id)?;
    state
        .set_directory_enabled(id, enabled)
        .map_err(|_| ApiError::not_found("directory"))?;
    ok(json!({"enabled": enabled, "error_message": ""}))
}

fn text(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A SCIM user as the API's directory user.
fn directory_user(user: &Value) -> Value {
    let emails: Vec<String> = user
        .get("emails")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|e| text(e, "value")).collect())
        .unwrap_or_default();
    let primary = user
        .get("emails")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        })
        .and_then(|e| text(e, "value"))
        .or_else(|| emails.first().cloned())
        .or_else(|| text(user, "userName").filter(|u| u.contains('@')));
    let name = user.get("name");
    let groups: Vec<Value> = user
        .get("groups")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|g| json!({"id": g["value"], "display_name": g["display"]}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": user["id"],
        "email": primary,
        "emails": emails,
        "preferred_username": text(user, "userName"),
        "given_name": name.and_then(|n| text(n, "givenName")),
        "family_name": name.and_then(|n| text(n, "familyName")),
        "active": user.get("active").and_then(Value::as_bool).unwrap_or(true),
        "roles": [],
        "groups": groups,
        "updated_at": user["meta"]["lastModified"],
        "user_detail": user,
    })
}

/// A SCIM group as the API's directory group.
fn directory_group(group: &Value) -> Value {
    let members = group
        .get("members")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    json!({
        "id": group["id"],
        "display_name": group["displayName"],
        "external_id": group.get("externalId").cloned().unwrap_or(Value::Null),
        "total_users": members,
        "updated_at": group["meta"]["lastModified"],
    })
}

/// `GET /api/v1/organizations/{organization_id}/directories/{id}/users`
/// (`directory_group_id` keeps a group's members).
pub(super) async fn directory_users(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    let dir = find_directory(&state, &org_id, &id)?;
    let group = query(&pairs, "directory_group_id").filter(|g| !g.is_empty());
    let users: Vec<Value> = state
        .directories
        .users(&dir.id)
        .unwrap_or_default()
        .iter()
        .map(directory_user)
        .filter(|u| {
            group.is_none_or(|g| {
                u["groups"]
                    .as_array()
                    .is_some_and(|list| list.iter().any(|x| x["id"] == g))
            })
        })
        .collect();
    let page = paginate(users, &pairs, "directory_users")?;
    ok(json!({
        "users": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}

/// `GET /api/v1/organizations/{organization_id}/directories/{id}/groups`.
pub(super) async fn directory_groups(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    let dir = find_directory(&state, &org_id, &id)?;
    let groups: Vec<Value> = state
        .directories
        .groups(&dir.id)
        .unwrap_or_default()
        .iter()
        .map(directory_group)
        .collect();
    let page = paginate(groups, &pairs, "directory_groups")?;
    ok(json!({
        "groups": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}

fn domain_view(domain: &DomainRecord) -> Value {
    json!({
        "id": domain.id,
        "domain": domain.domain,
        "organization_id": domain.organization_id,
        "domain_type": domain.domain_type,
        "verification_status": "VERIFIED",
        "verification_method": "ADMIN",
        "create_time": rfc3339(domain.create_time),
        "update_time": rfc3339(domain.create_time),
    })
}

/// A host name: dot-separated labels of letters, digits and hyphens.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `POST /api/v1/organizations/{organization_id}/domains`
/// (`{"domain": "…", "domain_type": "ORGANIZATION_DOMAIN"}`): `201`. The
/// organization's first domain is its sign-in page's `domain_hint`.
pub(super) async fn create_domain(
    AxumState(state): AxumState<Shared>,
    Path(org_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let domain = req_str(&map, "domain")?.trim().to_ascii_lowercase();
    if !valid_domain(&domain) {
        return Err(ApiError::invalid("domain", "domain must be a host name"));
    }
    let domain_type = match opt_str(&map, "domain_type")?.as_deref() {
        None | Some("") | Some("DOMAIN_TYPE_UNSPECIFIED") => "ORGANIZATION_DOMAIN",
        Some("ORGANIZATION_DOMAIN") => "ORGANIZATION_DOMAIN",
        Some("ALLOWED_EMAIL_DOMAIN") => "ALLOWED_EMAIL_DOMAIN",
        Some(_) => {
            return Err(ApiError::invalid(
                "domain_type",
                "domain_type must be ORGANIZATION_DOMAIN or ALLOWED_EMAIL_DOMAIN",
            ));
        }
    };
    let org = find_organization(&state, &org_id)?;
    let record = {
        let mut store = state.management.store();
        if store.domains.iter().any(|d| d.domain == domain) {
            return Err(ApiError::already_exists(
                "domain",
                "the domain belongs to an organization already",
            ));
        }
        let record = DomainRecord {
            id: ids::id("dom"),
            organization_id: org.id.clone(),
            domain: domain.clone(),
            domain_type: domain_type.to_owned(),
            create_time: now(),
        };
        store.domains.push(record.clone());
        record
    };
    if org.domain.is_empty() {
        state
            .model
            .update_organization(&org.id, |o| o.domain = domain);
    }
    created(json!({"domain": domain_view(&record)}))
}

fn find_domain(state: &State, org_id: &str, id: &str) -> Result<DomainRecord, ApiError> {
    find_organization(state, org_id)?;
    state
        .management
        .store()
        .domains
        .iter()
        .find(|d| d.id == id && d.organization_id == org_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("domain"))
}

/// `GET /api/v1/organizations/{organization_id}/domains/{id}`.
pub(super) async fn get_domain(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
) -> ApiResult {
    let domain = find_domain(&state, &org_id, &id)?;
    ok(json!({"domain": domain_view(&domain)}))
}

/// `GET /api/v1/organizations/{organization_id}/domains`: every domain of
/// the organization on one page.
pub(super) async fn list_domains(
    AxumState(state): AxumState<Shared>,
    Path(org_id): Path<String>,
) -> ApiResult {
    find_organization(&state, &org_id)?;
    let domains: Vec<Value> = domains_of(&state, &org_id)
        .iter()
        .map(domain_view)
        .collect();
    ok(json!({"page_size": domains.len(), "page_number": 1, "domains": domains}))
}

/// `DELETE /api/v1/organizations/{organization_id}/domains/{id}`: `200 {}`.
pub(super) async fn delete_domain(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
) -> ApiResult {
    let domain = find_domain(&state, &org_id, &id)?;
    let next = {
        let mut store = state.management.store();
        store.domains.retain(|d| d.id != id);
        store.domains_of(&org_id).first().map(|d| d.domain.clone())
    };
    state.model.update_organization(&org_id, |o| {
        if o.domain == domain.domain {
            o.domain = next.unwrap_or_default();
        }
    });
    ok(json!({}))
}

/// The id of the organization whose external id is `external_id`, or `404`.
fn by_external_id(state: &State, external_id: &str) -> Result<String, ApiError> {
    let store = state.management.store();
    state
        .model
        .organizations()
        .into_iter()
        .find(|o| store.orgs.get(&o.id).and_then(|e| e.external_id.as_deref()) == Some(external_id))
        .map(|o| o.id)
        .ok_or_else(|| ApiError::not_found("organization"))
}

/// `GET /api/v1/organizations:external/{external_id}`.
pub(super) async fn get_by_external_id(
    AxumState(state): AxumState<Shared>,
    Path(external_id): Path<String>,
) -> ApiResult {
    let id = by_external_id(&state, &external_id)?;
    get_one(AxumState(state), Path(id)).await
}

/// `PATCH /api/v1/organizations:external/{external_id}`.
pub(super) async fn update_by_external_id(
    AxumState(state): AxumState<Shared>,
    Path(external_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = by_external_id(&state, &external_id)?;
    update(AxumState(state), Path(id), body).await
}

/// `GET /api/v1/organizations:search?query=…`: the organizations whose
/// name, id or external id contains the query (case-insensitive), paged.
pub(super) async fn search(AxumState(state): AxumState<Shared>, Pairs(pairs): Pairs) -> ApiResult {
    let needle = super::search_query(&pairs)?;
    let views: Vec<Value> = {
        let mut store = state.management.store();
        state
            .model
            .organizations()
            .iter()
            .filter_map(|org| {
                let extra = store.org_extra(&org.id, state.management.started).clone();
                let hit = [
                    Some(org.name.as_str()),
                    Some(org.id.as_str()),
                    extra.external_id.as_deref(),
                ]
                .into_iter()
                .flatten()
                .any(|text| text.to_lowercase().contains(&needle));
                hit.then(|| organization_view(org, &extra))
            })
            .collect()
    };
    let page = paginate(views, &pairs, "organizations_search")?;
    ok(json!({
        "organizations": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}

/// `PATCH /api/v1/organizations/{organization_id}/domains/{id}` (the
/// platform's `UpdateDomain` has no field yet: the domain as it is), and
/// `PATCH …/domains/{id}:verify` (`{"verified": true}`: the emulator's
/// domains are verified when added).
pub(super) async fn patch_domain(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    if let Some(id) = id.strip_suffix(":verify") {
        find_domain(&state, &org_id, id)?;
        return ok(json!({"verified": true}));
    }
    body_object(&body)?;
    let domain = find_domain(&state, &org_id, &id)?;
    ok(json!({"domain": domain_view(&domain)}))
}
