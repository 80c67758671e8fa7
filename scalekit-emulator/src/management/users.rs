//! Users, memberships and invitations, organization roles, sessions.
//!
//! The users are the sign-in page's: a user created through the API is
//! listed there and signs in to the organization of their first
//! membership (or, when the sign-in names an organization, to that one if
//! they are a member), with that membership's roles (and those roles'
//! permissions) in their tokens. Deleting a user removes them from the
//! page and ends their sessions; revoking sessions makes their refresh
//! tokens fail with `invalid_grant`.

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::{
    ApiError, ApiResult, Pairs, Shared, Store, body_object, created, find_organization, ok,
    opt_object, opt_str, opt_string_map, paginate, query_bool,
};
use crate::model::{SeedUser, SessionRecord};
use crate::webhooks::rfc3339;
use crate::{State, ids, now};

/// What the API keeps of a user beyond the sign-in page's view.
#[derive(Debug, Clone)]
pub(crate) struct UserExtra {
    pub(super) external_id: Option<String>,
    metadata: Map<String, Value>,
    locale: Option<String>,
    phone_number: Option<String>,
    profile_metadata: Map<String, Value>,
    custom_attributes: Map<String, Value>,
    create_time: u64,
    update_time: u64,
    pub(super) memberships: Vec<MembershipRecord>,
}

#[derive(Debug, Clone)]
pub(super) struct MembershipRecord {
    pub(super) organization_id: String,
    pub(super) roles: Vec<String>,
    /// `ACTIVE` or `PENDING_INVITE`.
    status: &'static str,
    metadata: Map<String, Value>,
    join_time: u64,
}

impl Store {
    /// The extra attributes of `user` (defaults: one active membership in
    /// their organization with their roles).
    pub(super) fn user_extra(&mut self, user: &SeedUser, started: u64) -> &mut UserExtra {
        self.users
            .entry(user.id.clone())
            .or_insert_with(|| UserExtra {
                external_id: None,
                metadata: Map::new(),
                locale: None,
                phone_number: None,
                profile_metadata: Map::new(),
                custom_attributes: Map::new(),
                create_time: started,
                update_time: started,
                memberships: if user.organization_id.is_empty() {
                    Vec::new()
                } else {
                    vec![MembershipRecord {
                        organization_id: user.organization_id.clone(),
                        roles: user.roles.clone(),
                        status: "ACTIVE",
                        metadata: Map::new(),
                        join_time: started,
                    }]
                },
            })
    }
}

/// Makes the sign-in page's user `id` match their memberships: their
/// organization is the first membership's (the current one while it
/// lasts), with its roles and their permissions.
pub(super) fn sync_user(state: &State, store: &mut Store, id: &str) {
    let Some(user) = state.model.users().into_iter().find(|u| u.id == id) else {
        return;
    };
    let memberships = store
        .user_extra(&user, state.management.started)
        .memberships
        .clone();
    let primary = memberships
        .iter()
        .find(|m| m.organization_id == user.organization_id)
        .or_else(|| memberships.first())
        .cloned();
    let (organization_id, roles, permissions) = match primary {
        Some(m) => {
            let permissions = store
                .rbac
                .effective_permissions(&m.organization_id, &m.roles);
            (m.organization_id, m.roles, permissions)
        }
        None => (String::new(), Vec::new(), Vec::new()),
    };
    state.model.update_user(id, |u| {
        u.organization_id = organization_id;
        u.roles = roles;
        u.permissions = permissions;
    });
}

impl super::Management {
    /// `user` as they sign in to `organization_id`: with that membership's
    /// roles and their permissions; `None` if they are not a member.
    pub(crate) fn as_member_of(&self, user: &SeedUser, organization_id: &str) -> Option<SeedUser> {
        if user.organization_id == organization_id {
            return Some(user.clone());
        }
        let store = self.store();
        let membership = store
            .users
            .get(&user.id)?
            .memberships
            .iter()
            .find(|m| m.organization_id == organization_id)?
            .clone();
        let permissions = store
            .rbac
            .effective_permissions(organization_id, &membership.roles);
        Some(SeedUser {
            organization_id: membership.organization_id,
            roles: membership.roles,
            permissions,
            ..user.clone()
        })
    }

    /// A user signed in to an organization: a pending invitation to it is
    /// accepted.
    pub(crate) fn signed_in(&self, user_id: &str, organization_id: &str) {
        if let Some(extra) = self.store().users.get_mut(user_id) {
            for m in &mut extra.memberships {
                if m.organization_id == organization_id && m.status == "PENDING_INVITE" {
                    m.status = "ACTIVE";
                }
            }
        }
    }
}

/// Removes every membership in a deleted organization.
pub(super) fn remove_all_memberships_of(state: &State, organization_id: &str) {
    let mut store = state.management.store();
    let users = state.model.users();
    for user in users {
        let extra = store.user_extra(&user, state.management.started);
        let before = extra.memberships.len();
        extra
            .memberships
            .retain(|m| m.organization_id != organization_id);
        if extra.memberships.len() != before {
            sync_user(state, &mut store, &user.id);
        }
    }
}

fn full_name(user: &SeedUser) -> String {
    format!("{} {}", user.given_name, user.family_name)
        .trim()
        .to_owned()
}

fn user_view(state: &State, store: &mut Store, user: &SeedUser) -> Value {
    let extra = store.user_extra(user, state.management.started).clone();
    let memberships: Vec<Value> = extra
        .memberships
        .iter()
        .map(|m| {
            let org_name = state
                .model
                .organization(&m.organization_id)
                .map(|o| o.name)
                .unwrap_or_default();
            let roles: Vec<Value> = m
                .roles
                .iter()
                .map(|name| match store.rbac.find(&m.organization_id, name) {
                    Some(r) => json!({"id": r.id, "name": r.name, "display_name": r.display_name}),
                    None => json!({"name": name}),
                })
                .collect();
            json!({
                "organization_id": m.organization_id,
                "name": org_name,
                "display_name": org_name,
                "membership_status": m.status,
                "roles": roles,
                "metadata": m.metadata,
                "join_time": rfc3339(m.join_time),
            })
        })
        .collect();
    let mut view = json!({
        "id": user.id,
        "email": user.email,
        "create_time": rfc3339(extra.create_time),
        "update_time": rfc3339(extra.update_time),
        "metadata": extra.metadata,
        "memberships": memberships,
        "user_profile": {
            "id": user.id,
            "first_name": user.given_name,
            "last_name": user.family_name,
            "name": full_name(user),
            "locale": extra.locale.clone().unwrap_or_default(),
            "phone_number": extra.phone_number.clone().unwrap_or_default(),
            "email_verified": true,
            "metadata": extra.profile_metadata,
            "custom_attributes": extra.custom_attributes,
        },
    });
    if let (Some(external), Some(map)) = (&extra.external_id, view.as_object_mut()) {
        map.insert("external_id".into(), json!(external));
    }
    view
}

fn membership_view(user_id: &str, m: &MembershipRecord) -> Value {
    json!({
        "user_id": user_id,
        "organization_id": m.organization_id,
        "roles": m.roles,
        "membership_status": m.status,
        "metadata": m.metadata,
        "join_time": rfc3339(m.join_time),
    })
}

/// The user `id`, or `404`.
pub(super) fn find_user(state: &State, id: &str) -> Result<SeedUser, ApiError> {
    state
        .model
        .users()
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Role names: a list of names or of `{"name": …}` objects.
fn parse_roles(value: Option<&Value>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ApiError::invalid(field, format!("{field} must be a list")));
        }
    };
    let mut roles: Vec<String> = Vec::new();
    for (i, role) in list.iter().enumerate() {
        let name = match role {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("name").and_then(Value::as_str),
            _ => None,
        }
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(format!("{field}[{i}]"), "a role needs a non-empty name")
        })?;
        if !roles.iter().any(|r| r == name) {
            roles.push(name.to_owned());
        }
    }
    Ok(Some(roles))
}

/// An email address: one `@` with text on both sides and a dot after it.
fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The `user_profile` fields a create or update sets.
struct ProfileChange {
    first_name: Option<String>,
    last_name: Option<String>,
    locale: Option<String>,
    phone_number: Option<String>,
    metadata: Option<Map<String, Value>>,
    custom_attributes: Option<Map<String, Value>>,
}

fn parse_profile(map: &Map<String, Value>) -> Result<ProfileChange, ApiError> {
    let profile = opt_object(map, "user_profile")?.unwrap_or_default();
    let field = |name: &str| -> Result<Option<String>, ApiError> {
        opt_str(&profile, name).map_err(|_| {
            ApiError::invalid(
                format!("user_profile.{name}"),
                format!("user_profile.{name} must be a string"),
            )
        })
    };
    let mut first_name = field("first_name")?;
    let mut last_name = field("last_name")?;
    // A `name` alone fills first and last name.
    if let (None, None, Some(name)) = (&first_name, &last_name, field("name")?) {
        let mut parts = name.trim().splitn(2, ' ');
        first_name = parts.next().map(str::to_owned);
        last_name = Some(parts.next().unwrap_or_default().to_owned());
    }
    let metadata = opt_string_map(&profile, "metadata").map_err(|_| {
        ApiError::invalid(
            "user_profile.metadata",
            "user_profile.metadata must be an object of strings",
        )
    })?;
    let custom_attributes = opt_object(&profile, "custom_attributes").map_err(|_| {
        ApiError::invalid(
            "user_profile.custom_attributes",
            "user_profile.custom_attributes must be an object",
        )
    })?;
    Ok(ProfileChange {
        first_name,
        last_name,
        locale: field("locale")?,
        phone_number: field("phone_number")?,
        metadata,
        custom_attributes,
    })
}

fn apply_profile(extra: &mut UserExtra, change: &ProfileChange) {
    if let Some(locale) = &change.locale {
        extra.locale = Some(locale.clone());
    }
    if let Some(phone) = &change.phone_number {
        extra.phone_number = Some(phone.clone());
    }
    if let Some(metadata) = &change.metadata {
        extra.profile_metadata = metadata.clone();
    }
    if let Some(custom) = &change.custom_attributes {
        extra.custom_attributes = custom.clone();
    }
}

/// Checks that no other user has `external_id`.
fn check_user_external_id(
    store: &Store,
    external_id: &str,
    own_id: Option<&str>,
) -> Result<(), ApiError> {
    let taken = store.users.iter().any(|(id, extra)| {
        Some(id.as_str()) != own_id && extra.external_id.as_deref() == Some(external_id)
    });
    if taken {
        return Err(ApiError::already_exists(
            "external_id",
            "another user has this external_id",
        ));
    }
    Ok(())
}

/// `POST /api/v1/organizations/{organization_id}/users`: creates a user
/// with a membership (`201 {"user": …}`); the roles default to `member`,
/// and `send_invitation_email=true` makes the membership `PENDING_INVITE`.
pub(super) async fn create_user(
    AxumState(state): AxumState<Shared>,
    Path(org_id): Path<String>,
    Pairs(pairs): Pairs,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let invite = query_bool(&pairs, "send_invitation_email")?;
    let email = opt_str(&map, "email")?
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::invalid("email", "email is required"))?;
    if !valid_email(&email) {
        return Err(ApiError::invalid("email", "email must be an email address"));
    }
    let external_id = opt_str(&map, "external_id")?.filter(|e| !e.is_empty());
    let metadata = opt_string_map(&map, "metadata")?.unwrap_or_default();
    let profile = parse_profile(&map)?;
    let membership = opt_object(&map, "membership")?.unwrap_or_default();
    let roles = parse_roles(membership.get("roles"), "membership.roles")?.filter(|r| !r.is_empty());
    let membership_metadata = opt_string_map(&membership, "metadata")
        .map_err(|_| {
            ApiError::invalid(
                "membership.metadata",
                "membership.metadata must be an object of strings",
            )
        })?
        .unwrap_or_default();
    let org = find_organization(&state, &org_id)?;
    let mut store = state.management.store();
    let roles = roles.unwrap_or_else(|| vec![store.rbac.default_member_of(&org.id)]);
    if state.model.user_by_email(&email).is_some() {
        return Err(ApiError::already_exists(
            "email",
            "a user with this email exists",
        ));
    }
    if let Some(external) = &external_id {
        check_user_external_id(&store, external, None)?;
    }
    super::settings::check_room_for_member(&state, &mut store, &org.id)?;
    let now = now();
    let local = email.split('@').next().unwrap_or_default().to_owned();
    let user = SeedUser {
        id: ids::id("usr"),
        email: email.clone(),
        given_name: profile.first_name.clone().unwrap_or(local),
        family_name: profile.last_name.clone().unwrap_or_default(),
        organization_id: org.id.clone(),
        roles: roles.clone(),
        permissions: store.rbac.effective_permissions(&org.id, &roles),
    };
    let mut extra = UserExtra {
        external_id,
        metadata,
        locale: None,
        phone_number: None,
        profile_metadata: Map::new(),
        custom_attributes: Map::new(),
        create_time: now,
        update_time: now,
        memberships: vec![MembershipRecord {
            organization_id: org.id.clone(),
            roles,
            status: if invite { "PENDING_INVITE" } else { "ACTIVE" },
            metadata: membership_metadata,
            join_time: now,
        }],
    };
    apply_profile(&mut extra, &profile);
    store.users.insert(user.id.clone(), extra);
    state.model.add_user(user.clone());
    let view = user_view(&state, &mut store, &user);
    created(json!({"user": view}))
}

/// `GET /api/v1/users/{id}`.
pub(super) async fn get_user(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> ApiResult {
    let user = find_user(&state, &id)?;
    let mut store = state.management.store();
    ok(json!({"user": user_view(&state, &mut store, &user)}))
}

/// `PATCH /api/v1/users/{id}`: `external_id`, `metadata`, `user_profile`.
pub(super) async fn update_user(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let external_id = opt_str(&map, "external_id")?;
    let metadata = opt_string_map(&map, "metadata")?;
    let profile = parse_profile(&map)?;
    let user = find_user(&state, &id)?;
    let mut store = state.management.store();
    if let Some(external) = external_id.as_deref().filter(|e| !e.is_empty()) {
        check_user_external_id(&store, external, Some(&id))?;
    }
    let extra = store.user_extra(&user, state.management.started);
    if let Some(external) = external_id {
        extra.external_id = Some(external).filter(|e| !e.is_empty());
    }
    if let Some(metadata) = metadata {
        extra.metadata = metadata;
    }
    apply_profile(extra, &profile);
    extra.update_time = now();
    state.model.update_user(&id, |u| {
        if let Some(first) = &profile.first_name {
            u.given_name = first.clone();
        }
        if let Some(last) = &profile.last_name {
            u.family_name = last.clone();
        }
    });
    let user = find_user(&state, &id)?;
    ok(json!({"user": user_view(&state, &mut store, &user)}))
}

/// `DELETE /api/v1/users/{id}`: `200 {}`. The user leaves the sign-in
/// page and their sessions are revoked.
pub(super) async fn delete_user(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> ApiResult {
    find_user(&state, &id)?;
    let mut store = state.management.store();
    state.remove_user(&id);
    store.users.remove(&id);
    store.passkeys.retain(|p| p.user_id() != id);
    ok(json!({}))
}

fn users_page(
    state: &State,
    users: Vec<SeedUser>,
    pairs: &[(String, String)],
    kind: &str,
) -> ApiResult {
    let views: Vec<Value> = {
        let mut store = state.management.store();
        users
            .iter()
            .map(|u| user_view(state, &mut store, u))
            .collect()
    };
    let page = paginate(views, pairs, kind)?;
    ok(json!({
        "users": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}

/// `GET /api/v1/users`.
pub(super) async fn list_users(
    AxumState(state): AxumState<Shared>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    users_page(&state, state.model.users(), &pairs, "users")
}

/// `GET /api/v1/organizations/{organization_id}/users`: the users with a
/// membership in the organization.
pub(super) async fn organization_users(
    AxumState(state): AxumState<Shared>,
    Path(org_id): Path<String>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    find_organization(&state, &org_id)?;
    let members: Vec<SeedUser> = {
        let mut store = state.management.store();
        state
            .model
            .users()
            .into_iter()
            .filter(|u| {
                store
                    .user_extra(u, state.management.started)
                    .memberships
                    .iter()
                    .any(|m| m.organization_id == org_id)
            })
            .collect()
    };
    users_page(&state, members, &pairs, "organization_users")
}

/// The roles and metadata of a membership change (each absent or set).
type MembershipChange = (Option<Vec<String>>, Option<Map<String, Value>>);

/// The body of a membership add or update: roles and metadata.
fn parse_membership(body: &Bytes) -> Result<MembershipChange, ApiError> {
    let map = body_object(body)?;
    let roles = parse_roles(map.get("roles"), "roles")?;
    let metadata = opt_string_map(&map, "metadata")?;
    Ok((roles, metadata))
}

/// `POST /api/v1/memberships/organizations/{organization_id}/users/{id}`:
/// `201` with the membership; `409` if the user is a member already.
pub(super) async fn add_membership(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
    Pairs(pairs): Pairs,
    body: Bytes,
) -> ApiResult {
    let (roles, metadata) = parse_membership(&body)?;
    let invite = query_bool(&pairs, "send_invitation_email")?;
    find_organization(&state, &org_id)?;
    let user = find_user(&state, &id)?;
    let mut store = state.management.store();
    let extra = store.user_extra(&user, state.management.started);
    if extra
        .memberships
        .iter()
        .any(|m| m.organization_id == org_id)
    {
        return Err(ApiError::already_exists(
            "organization_id",
            "the user is a member of the organization already",
        ));
    }
    super::settings::check_room_for_member(&state, &mut store, &org_id)?;
    let default_role = store.rbac.default_member_of(&org_id);
    let extra = store.user_extra(&user, state.management.started);
    let membership = MembershipRecord {
        organization_id: org_id,
        roles: roles
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| vec![default_role]),
        status: if invite { "PENDING_INVITE" } else { "ACTIVE" },
        metadata: metadata.unwrap_or_default(),
        join_time: now(),
    };
    extra.memberships.push(membership.clone());
    extra.update_time = now();
    sync_user(&state, &mut store, &id);
    created(membership_view(&id, &membership))
}

/// Runs `change` on the membership of user `id` in `org_id` (`404` if
/// there is none) and syncs the sign-in page.
fn with_membership(
    state: &State,
    org_id: &str,
    id: &str,
    change: impl FnOnce(&mut Vec<MembershipRecord>, usize) -> Result<Option<MembershipRecord>, ApiError>,
) -> Result<Option<MembershipRecord>, ApiError> {
    find_organization(state, org_id)?;
    let user = find_user(state, id)?;
    let mut store = state.management.store();
    let extra = store.user_extra(&user, state.management.started);
    let index = extra
        .memberships
        .iter()
        .position(|m| m.organization_id == org_id)
        .ok_or_else(|| ApiError::not_found("membership"))?;
    let result = change(&mut extra.memberships, index)?;
    extra.update_time = now();
    sync_user(state, &mut store, id);
    Ok(result)
}

/// `PATCH /api/v1/memberships/organizations/{organization_id}/users/{id}`:
/// replaces the roles and/or metadata given.
pub(super) async fn update_membership(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let (roles, metadata) = parse_membership(&body)?;
    let membership = with_membership(&state, &org_id, &id, |list, i| {
        if let Some(roles) = roles {
            list[i].roles = roles;
        }
        if let Some(metadata) = metadata {
            list[i].metadata = metadata;
        }
        Ok(Some(list[i].clone()))
    })?;
    match membership {
        Some(m) => ok(membership_view(&id, &m)),
        None => Err(ApiError::not_found("membership")),
    }
}

/// `DELETE /api/v1/memberships/organizations/{organization_id}/users/{id}`:
/// `204`.
pub(super) async fn remove_membership(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
) -> ApiResult {
    with_membership(&state, &org_id, &id, |list, i| {
        list.remove(i);
        Ok(None)
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PATCH /api/v1/invites/organizations/{organization_id}/users/{id}/resend`:
/// the membership must be a pending invitation (`400 FAILED_PRECONDITION`
/// otherwise).
pub(super) async fn resend_invite(
    AxumState(state): AxumState<Shared>,
    Path((org_id, id)): Path<(String, String)>,
) -> ApiResult {
    let membership = with_membership(&state, &org_id, &id, |list, i| {
        if list[i].status != "PENDING_INVITE" {
            return Err(ApiError::failed_precondition(
                "the membership has no pending invitation",
            ));
        }
        Ok(Some(list[i].clone()))
    })?;
    match membership {
        Some(m) => ok(membership_view(&id, &m)),
        None => Err(ApiError::not_found("membership")),
    }
}

fn session_view(session: &SessionRecord) -> Value {
    let time = |t: Option<u64>| t.map(rfc3339).map_or(Value::Null, Value::String);
    json!({
        "session_id": session.id,
        "user_id": session.user_id,
        "organization_id": session.organization_id,
        "authenticated_organizations": [session.organization_id],
        "created_at": rfc3339(session.created_at),
        "updated_at": rfc3339(session.last_active_at),
        "last_active_at": rfc3339(session.last_active_at),
        "expired_at": time(session.expired_at),
        "logout_at": time(session.logout_at),
        "status": session.status,
    })
}

/// Checks an id's shape (`ses_123…`, `usr_123…`), as the platform does.
fn check_id(id: &str, prefix: &str, field: &str) -> Result<(), ApiError> {
    let digits = id
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'));
    if digits.is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("{field} must look like {prefix}_<digits>"),
        ))
    }
}

/// `GET /api/v1/sessions/{session_id}`.
pub(super) async fn get_session(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> ApiResult {
    check_id(&id, "ses", "session_id")?;
    let session = state
        .model
        .session(&id)
        .ok_or_else(|| ApiError::not_found("session"))?;
    ok(session_view(&session))
}

/// `POST /api/v1/sessions/{session_id}/revoke`: its refresh tokens stop
/// working.
pub(super) async fn revoke_session(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> ApiResult {
    check_id(&id, "ses", "session_id")?;
    let session = state
        .revoke_session(&id)
        .ok_or_else(|| ApiError::not_found("session"))?;
    ok(json!({"revoked_session": session_view(&session)}))
}

/// `GET /api/v1/users/{user_id}/sessions` (`filter.status=active`, …,
/// repeatable, keeps sessions in those states).
pub(super) async fn user_sessions(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    check_id(&id, "usr", "user_id")?;
    let mut statuses = Vec::new();
    for (name, value) in &pairs {
        if name != "filter.status" {
            continue;
        }
        if !matches!(value.as_str(), "active" | "expired" | "revoked" | "logout") {
            return Err(ApiError::invalid(
                "filter.status",
                "a status is active, expired, revoked or logout",
            ));
        }
        statuses.push(value.as_str());
    }
    find_user(&state, &id)?;
    let sessions: Vec<Value> = state
        .model
        .sessions_of(&id)
        .iter()
        .filter(|s| statuses.is_empty() || statuses.contains(&s.status))
        .map(session_view)
        .collect();
    let page = paginate(sessions, &pairs, "sessions")?;
    ok(json!({
        "sessions": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}

/// `POST /api/v1/users/{user_id}/sessions/revoke`: every active session of
/// the user; none of their refresh tokens works afterwards.
pub(super) async fn revoke_user_sessions(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> ApiResult {
    check_id(&id, "usr", "user_id")?;
    find_user(&state, &id)?;
    let revoked: Vec<Value> = state
        .revoke_user_sessions(&id)
        .iter()
        .map(session_view)
        .collect();
    ok(json!({"total_revoked": revoked.len(), "revoked_sessions": revoked}))
}

/// The id of the user whose external id is `external_id`, or `404`.
fn by_external_id(state: &State, external_id: &str) -> Result<String, ApiError> {
    let store = state.management.store();
    state
        .model
        .users()
        .into_iter()
        .find(|u| {
            store
                .users
                .get(&u.id)
                .and_then(|e| e.external_id.as_deref())
                == Some(external_id)
        })
        .map(|u| u.id)
        .ok_or_else(|| ApiError::not_found("user"))
}

/// `GET /api/v1/users:external/{external_id}`.
pub(super) async fn get_by_external_id(
    AxumState(state): AxumState<Shared>,
    Path(external_id): Path<String>,
) -> ApiResult {
    let id = by_external_id(&state, &external_id)?;
    get_user(AxumState(state), Path(id)).await
}

/// `PATCH /api/v1/users:external/{external_id}`.
pub(super) async fn update_by_external_id(
    AxumState(state): AxumState<Shared>,
    Path(external_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id = by_external_id(&state, &external_id)?;
    update_user(AxumState(state), Path(id), body).await
}

/// `DELETE /api/v1/users:external/{external_id}`.
pub(super) async fn delete_by_external_id(
    AxumState(state): AxumState<Shared>,
    Path(external_id): Path<String>,
) -> ApiResult {
    let id = by_external_id(&state, &external_id)?;
    delete_user(AxumState(state), Path(id)).await
}

/// Whether `user` matches a search (email, name, id or external id).
fn user_matches(store: &Store, user: &SeedUser, needle: &str) -> bool {
    let external = store
        .users
        .get(&user.id)
        .and_then(|e| e.external_id.clone());
    [
        Some(user.email.clone()),
        Some(full_name(user)),
        Some(user.id.clone()),
        external,
    ]
    .into_iter()
    .flatten()
    .any(|text| text.to_lowercase().contains(needle))
}

/// `GET /api/v1/users:search?query=…`, paged.
pub(super) async fn search(AxumState(state): AxumState<Shared>, Pairs(pairs): Pairs) -> ApiResult {
    let needle = super::search_query(&pairs)?;
    let found: Vec<SeedUser> = {
        let store = state.management.store();
        state
            .model
            .users()
            .into_iter()
            .filter(|u| user_matches(&store, u, &needle))
            .collect()
    };
    users_page(&state, found, &pairs, "users_search")
}

/// `GET /api/v1/organizations/{organization_id}/users:search?query=…`.
pub(super) async fn search_organization_users(
    AxumState(state): AxumState<Shared>,
    Path(org_id): Path<String>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    let needle = super::search_query(&pairs)?;
    find_organization(&state, &org_id)?;
    let found: Vec<SeedUser> = {
        let mut store = state.management.store();
        state
            .model
            .users()
            .into_iter()
            .filter(|u| {
                let member = store
                    .user_extra(u, state.management.started)
                    .memberships
                    .iter()
                    .any(|m| m.organization_id == org_id);
                member && user_matches(&store, u, &needle)
            })
            .collect()
    };
    users_page(&state, found, &pairs, "organization_users_search")
}
