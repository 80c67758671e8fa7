//! SCIM 2.0 provisioning (RFC 7643, RFC 7644), one endpoint per directory
//! as the platform exposes it: `{environment}/directory/{directory_id}/scim/v2`
//! with the directory's bearer secret. `Users` and `Groups` can be created,
//! replaced, patched, deleted, read and listed (`filter=userName eq "…"`).
//! Each change updates the directory's state and emits the matching
//! `organization.directory.*` event through the delivery queue.

mod patch;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::{EmulatorError, State, ids, lock};
use patch::apply_operation;

const SCIM_JSON: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Most resources one list answer carries.
const MAX_PAGE: usize = 1000;

/// A directory of an organization, provisioned over SCIM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// Directory id (`dir_…`).
    pub id: String,
    /// The organization it provisions.
    pub organization_id: String,
    /// The SCIM base URL (`{environment}/directory/{id}/scim/v2`).
    pub endpoint: String,
    /// The bearer secret SCIM clients authenticate with.
    pub bearer_token: String,
    /// Whether directory sync is enabled (a disabled directory refuses
    /// SCIM requests).
    pub enabled: bool,
}

struct DirectoryState {
    info: Directory,
    users: Vec<Value>,
    groups: Vec<Value>,
}

pub(crate) struct Directories {
    dirs: Mutex<Vec<DirectoryState>>,
}

/// The resource types of the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Kind::User => USER_SCHEMA,
            Kind::Group => GROUP_SCHEMA,
        }
    }

    fn id_prefix(self) -> &'static str {
        match self {
            Kind::User => "diruser",
            Kind::Group => "dirgroup",
        }
    }

    /// The attribute that must be present and unique.
    fn key(self) -> &'static str {
        match self {
            Kind::User => "userName",
            Kind::Group => "displayName",
        }
    }

    /// Attributes a filter may name.
    fn filterable(self) -> &'static [&'static str] {
        match self {
            Kind::User => &["userName", "externalId", "id", "displayName"],
            Kind::Group => &["displayName", "externalId", "id"],
        }
    }

    fn event(self, change: &str) -> String {
        let noun = match self {
            Kind::User => "user",
            Kind::Group => "group",
        };
        format!("organization.directory.{noun}_{change}")
    }

    fn object(self) -> &'static str {
        match self {
            Kind::User => "DirectoryUser",
            Kind::Group => "DirectoryGroup",
        }
    }
}

/// A SCIM error (RFC 7644 §3.12).
struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    fn not_found(kind: Kind) -> Self {
        ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("{} not found", kind.name()),
        )
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), json!(t));
        }
        let mut response = scim_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(value) = header::HeaderValue::from_str("Bearer realm=\"scim\"")
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, SCIM_JSON)],
        serde_json::to_string(body).unwrap_or_default(),
    )
        .into_response()
}

impl Directories {
    /// One directory per organization, for the environment at `issuer`.
    pub(crate) fn new(issuer: &str, organizations: &[String]) -> Result<Self, EmulatorError> {
        let mut dirs = Vec::new();
        for organization_id in organizations {
            let id = ids::id("dir");
            dirs.push(DirectoryState {
                info: Directory {
                    endpoint: format!("{issuer}/directory/{id}/scim/v2"),
                    id,
                    organization_id: organization_id.clone(),
                    bearer_token: ids::secret()?,
                    enabled: true,
                },
                users: Vec::new(),
                groups: Vec::new(),
            });
        }
        Ok(Directories {
            dirs: Mutex::new(dirs),
        })
    }

    /// Adds a directory for a new organization.
    pub(crate) fn add(
        &self,
        issuer: &str,
        organization_id: &str,
    ) -> Result<Directory, EmulatorError> {
        let id = ids::id("dir");
        let info = Directory {
            endpoint: format!("{issuer}/directory/{id}/scim/v2"),
            id,
            organization_id: organization_id.to_owned(),
            bearer_token: ids::secret()?,
            enabled: true,
        };
        lock(&self.dirs).push(DirectoryState {
            info: info.clone(),
            users: Vec::new(),
            groups: Vec::new(),
        });
        Ok(info)
    }

    /// Removes the directories of a deleted organization.
    pub(crate) fn remove_organization(&self, organization_id: &str) {
        lock(&self.dirs).retain(|d| d.info.organization_id != organization_id);
    }

    pub(crate) fn list(&self) -> Vec<Directory> {
        lock(&self.dirs).iter().map(|d| d.info.clone()).collect()
    }

    /// The users of a directory as SCIM resources (with their groups).
    pub(crate) fn users(&self, directory_id: &str) -> Option<Vec<Value>> {
        let dirs = lock(&self.dirs);
        let dir = dirs.iter().find(|d| d.info.id == directory_id)?;
        Some(
            dir.users
                .iter()
                .map(|u| with_groups(u, &dir.groups))
                .collect(),
        )
    }

    /// The groups of a directory as SCIM resources.
    pub(crate) fn groups(&self, directory_id: &str) -> Option<Vec<Value>> {
        let dirs = lock(&self.dirs);
        Some(
            dirs.iter()
                .find(|d| d.info.id == directory_id)?
                .groups
                .clone(),
        )
    }

    /// Sets a directory's `enabled` flag; the directory's organization and
    /// whether it changed.
    pub(crate) fn set_enabled(
        &self,
        directory_id: &str,
        enabled: bool,
    ) -> Result<(Directory, bool), EmulatorError> {
        let mut dirs = lock(&self.dirs);
        let dir = dirs
            .iter_mut()
            .find(|d| d.info.id == directory_id)
            .ok_or(EmulatorError::UnknownDirectory)?;
        let changed = dir.info.enabled != enabled;
        dir.info.enabled = enabled;
        Ok((dir.info.clone(), changed))
    }
}

/// `resource` with its read-only `groups` attribute (RFC 7643 §4.1.2).
fn with_groups(user: &Value, groups: &[Value]) -> Value {
    let mut user = user.clone();
    let id = user.get("id").and_then(Value::as_str).unwrap_or_default();
    let member_of: Vec<Value> = groups
        .iter()
        .filter(|g| members(g).iter().any(|m| m == id))
        .map(|g| {
            json!({
                "value": g["id"],
                "display": g["displayName"],
                "$ref": g["meta"]["location"],
            })
        })
        .collect();
    if let Some(map) = user.as_object_mut()
        && !member_of.is_empty()
    {
        map.insert("groups".into(), Value::Array(member_of));
    }
    user
}

/// The user ids of a group's `members`.
fn members(group: &Value) -> Vec<String> {
    group
        .get("members")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}

/// The event data of a directory user (the platform's payload).
fn user_data(user: &Value, dir: &DirectoryState) -> Value {
    let emails = user.get("emails").and_then(Value::as_array);
    let email = emails
        .and_then(|list| {
            list.iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| list.first())
        })
        .and_then(|e| text(e, "value"))
        .or_else(|| text(user, "userName").filter(|u| u.contains('@')));
    let name = user.get("name");
    let given = name.and_then(|n| text(n, "givenName"));
    let family = name.and_then(|n| text(n, "familyName"));
    let formatted = name
        .and_then(|n| text(n, "formatted"))
        .map(str::to_owned)
        .or_else(|| text(user, "displayName").map(str::to_owned))
        .unwrap_or_else(|| {
            [given, family]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        });
    let id = text(user, "id").unwrap_or_default();
    let groups: Vec<Value> = dir
        .groups
        .iter()
        .filter(|g| members(g).iter().any(|m| m == id))
        .map(|g| json!({"id": g["id"], "name": g["displayName"]}))
        .collect();
    let phone = user
        .get("phoneNumbers")
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .and_then(|p| text(p, "value"));
    json!({
        "id": id,
        "organization_id": dir.info.organization_id,
        "dp_id": user.get("externalId").cloned().unwrap_or(Value::Null),
        "preferred_username": text(user, "userName"),
        "email": email,
        "active": user.get("active").and_then(Value::as_bool).unwrap_or(true),
        "name": formatted,
        "roles": [],
        "groups": groups,
        "given_name": given,
        "family_name": family,
        "nickname": text(user, "nickName"),
        "phone_number": phone,
        "custom_attributes": {},
        "raw_attributes": user,
    })
}

/// The event data of a directory group (the platform's payload).
fn group_data(group: &Value, dir: &DirectoryState) -> Value {
    json!({
        "directory_id": dir.info.id,
        "display_name": text(group, "displayName"),
        "external_id": group.get("externalId").cloned().unwrap_or(Value::Null),
        "id": text(group, "id"),
        "organization_id": dir.info.organization_id,
        "raw_attributes": group,
    })
}

fn event_data(kind: Kind, change: &str, resource: &Value, dir: &DirectoryState) -> Value {
    match (kind, change) {
        (Kind::User, "deleted") => {
            let data = user_data(resource, dir);
            json!({
                "id": data["id"],
                "organization_id": data["organization_id"],
                "dp_id": data["dp_id"],
                "email": data["email"],
            })
        }
        (Kind::User, _) => user_data(resource, dir),
        (Kind::Group, "deleted") => {
            let mut data = group_data(resource, dir);
            if let Some(map) = data.as_object_mut()
                && let Some(external) = map.remove("external_id")
            {
                map.insert("dp_id".into(), external);
            }
            data
        }
        (Kind::Group, _) => group_data(resource, dir),
    }
}

/// An event a change reports: its type, the resource kind and the data.
type Emitted = Option<(String, Kind, Value)>;

/// Checks the directory and its bearer secret, then runs `change` on it;
/// the event it reports is emitted while the directory is still locked,
/// so that events leave in the order of the changes.
fn with_directory<T>(
    state: &State,
    directory_id: &str,
    headers: &HeaderMap,
    change: impl FnOnce(&mut DirectoryState) -> Result<(T, Emitted), ScimError>,
) -> Result<T, ScimError> {
    let mut dirs = lock(&state.directories.dirs);
    let Some(dir) = dirs.iter_mut().find(|d| d.info.id == directory_id) else {
        return Err(ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            "directory not found",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        })
        .unwrap_or_default();
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        presented.as_bytes(),
        dir.info.bearer_token.as_bytes(),
    )
    .is_err()
    {
        tracing::info!(
            directory = directory_id,
            "SCIM request with a wrong bearer token"
        );
        return Err(ScimError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "a valid bearer token is required",
        ));
    }
    if !dir.info.enabled {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            "directory sync is disabled for this directory",
        ));
    }
    let (answer, event) = change(dir)?;
    if let Some((event_type, kind, data)) = event {
        state.deliveries.emit(
            &event_type,
            kind.object(),
            &dir.info.organization_id.clone(),
            data,
        );
    }
    Ok(answer)
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, ScimError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ScimError::bad(
            "invalidSyntax",
            "the body must be a JSON object",
        )),
    }
}

fn location(dir: &DirectoryState, kind: Kind, id: &str) -> String {
    format!("{}/{}s/{id}", dir.info.endpoint, kind.name())
}

fn resources(dir: &mut DirectoryState, kind: Kind) -> &mut Vec<Value> {
    match kind {
        Kind::User => &mut dir.users,
        Kind::Group => &mut dir.groups,
    }
}

/// Checks a resource's required attributes and, for groups, that members
/// exist; fills member `display` values.
fn check_resource(
    dir: &DirectoryState,
    kind: Kind,
    resource: &mut Map<String, Value>,
    own_id: Option<&str>,
) -> Result<(), ScimError> {
    let key = kind.key();
    let Some(value) = resource
        .get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.trim().is_empty())
    else {
        return Err(ScimError::bad("invalidValue", format!("{key} is required")));
    };
    let existing = match kind {
        Kind::User => &dir.users,
        Kind::Group => &dir.groups,
    };
    if existing.iter().any(|r| {
        text(r, key).is_some_and(|v| v.eq_ignore_ascii_case(value)) && text(r, "id") != own_id
    }) {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("{key} is already taken"),
        ));
    }
    if kind == Kind::Group
        && let Some(list) = resource.get_mut("members")
    {
        let Some(list) = list.as_array_mut() else {
            return Err(ScimError::bad("invalidValue", "members must be an array"));
        };
        for member in list.iter_mut() {
            let Some(id) = member.get("value").and_then(Value::as_str) else {
                return Err(ScimError::bad("invalidValue", "a member needs a value"));
            };
            let Some(user) = dir.users.iter().find(|u| text(u, "id") == Some(id)) else {
                return Err(ScimError::bad(
                    "invalidValue",
                    "a member is not a user of this directory",
                ));
            };
            let display = user.get("userName").cloned().unwrap_or(Value::Null);
            if let Some(m) = member.as_object_mut() {
                m.insert("display".into(), display);
            }
        }
        // One entry per member.
        let mut seen = std::collections::HashSet::new();
        list.retain(|m| seen.insert(m.get("value").and_then(Value::as_str).map(str::to_owned)));
    }
    Ok(())
}

fn now_rfc3339() -> String {
    crate::webhooks::occurred_at_now()
}

/// A stored resource made of a client's attributes: `schemas`, `id`,
/// `meta` are the server's.
fn stored(
    dir: &DirectoryState,
    kind: Kind,
    mut attributes: Map<String, Value>,
    id: &str,
    created: &str,
) -> Value {
    attributes.remove("id");
    attributes.remove("meta");
    attributes.remove("groups");
    attributes.insert("schemas".into(), json!([kind.schema()]));
    attributes.insert("id".into(), json!(id));
    if kind == Kind::User && !attributes.contains_key("active") {
        attributes.insert("active".into(), json!(true));
    }
    attributes.insert(
        "meta".into(),
        json!({
            "resourceType": kind.name(),
            "created": created,
            "lastModified": now_rfc3339(),
            "location": location(dir, kind, id),
        }),
    );
    Value::Object(attributes)
}

fn answer(dir: &DirectoryState, kind: Kind, resource: &Value, status: StatusCode) -> Response {
    let body = match kind {
        Kind::User => with_groups(resource, &dir.groups),
        Kind::Group => resource.clone(),
    };
    let mut response = scim_json(status, &body);
    if status == StatusCode::CREATED
        && let Some(loc) = body["meta"]["location"].as_str()
        && let Ok(value) = header::HeaderValue::from_str(loc)
    {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

type Shared = Arc<State>;

fn create(state: &State, kind: Kind, dir_id: &str, headers: &HeaderMap, body: &Bytes) -> Response {
    let result = with_directory(state, dir_id, headers, |dir| {
        let mut attributes = parse_body(body)?;
        check_resource(dir, kind, &mut attributes, None)?;
        let id = ids::id(kind.id_prefix());
        let resource = stored(dir, kind, attributes, &id, &now_rfc3339());
        resources(dir, kind).push(resource.clone());
        let data = event_data(kind, "created", &resource, dir);
        Ok((
            answer(dir, kind, &resource, StatusCode::CREATED),
            Some((kind.event("created"), kind, data)),
        ))
    });
    result.unwrap_or_else(IntoResponse::into_response)
}

fn find(dir: &DirectoryState, kind: Kind, id: &str) -> Option<usize> {
    let list = match kind {
        Kind::User => &dir.users,
        Kind::Group => &dir.groups,
    };
    list.iter().position(|r| text(r, "id") == Some(id))
}

fn read(state: &State, kind: Kind, dir_id: &str, id: &str, headers: &HeaderMap) -> Response {
    with_directory(state, dir_id, headers, |dir| {
        let index = find(dir, kind, id).ok_or_else(|| ScimError::not_found(kind))?;
        let resource = resources(dir, kind)[index].clone();
        Ok((answer(dir, kind, &resource, StatusCode::OK), None))
    })
    .unwrap_or_else(IntoResponse::into_response)
}

/// Stores `updated` in place of the resource at `index` and reports the
/// `updated` event.
fn commit_update(
    dir: &mut DirectoryState,
    kind: Kind,
    index: usize,
    mut updated: Map<String, Value>,
) -> Result<(Response, Emitted), ScimError> {
    let current = resources(dir, kind)[index].clone();
    let id = text(&current, "id").unwrap_or_default().to_owned();
    let created = current["meta"]["created"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    check_resource(dir, kind, &mut updated, Some(&id))?;
    let resource = stored(dir, kind, updated, &id, &created);
    resources(dir, kind)[index] = resource.clone();
    let data = event_data(kind, "updated", &resource, dir);
    Ok((
        answer(dir, kind, &resource, StatusCode::OK),
        Some((kind.event("updated"), kind, data)),
    ))
}

fn replace(
    state: &State,
    kind: Kind,
    dir_id: &str,
    id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    with_directory(state, dir_id, headers, |dir| {
        let index = find(dir, kind, id).ok_or_else(|| ScimError::not_found(kind))?;
        let attributes = parse_body(body)?;
        commit_update(dir, kind, index, attributes)
    })
    .unwrap_or_else(IntoResponse::into_response)
}

fn patch(
    state: &State,
    kind: Kind,
    dir_id: &str,
    id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    with_directory(state, dir_id, headers, |dir| {
        let index = find(dir, kind, id).ok_or_else(|| ScimError::not_found(kind))?;
        let request = parse_body(body)?;
        let schemas_ok = request
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|v| v == PATCH_SCHEMA));
        let Some(operations) = request
            .get("Operations")
            .or_else(|| request.get("operations"))
            .and_then(Value::as_array)
            .filter(|_| schemas_ok)
        else {
            return Err(ScimError::bad(
                "invalidSyntax",
                "a PatchOp with Operations is required",
            ));
        };
        let Value::Object(mut resource) = resources(dir, kind)[index].clone() else {
            return Err(ScimError::not_found(kind));
        };
        for operation in operations {
            apply_operation(&mut resource, operation)?;
        }
        commit_update(dir, kind, index, resource)
    })
    .unwrap_or_else(IntoResponse::into_response)
}

fn delete(state: &State, kind: Kind, dir_id: &str, id: &str, headers: &HeaderMap) -> Response {
    with_directory(state, dir_id, headers, |dir| {
        let index = find(dir, kind, id).ok_or_else(|| ScimError::not_found(kind))?;
        let resource = resources(dir, kind)[index].clone();
        let data = event_data(kind, "deleted", &resource, dir);
        resources(dir, kind).remove(index);
        if kind == Kind::User {
            // A deleted user leaves every group.
            for group in &mut dir.groups {
                if let Some(list) = group.get_mut("members").and_then(Value::as_array_mut) {
                    list.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
                }
            }
        }
        Ok((
            StatusCode::NO_CONTENT.into_response(),
            Some((kind.event("deleted"), kind, data)),
        ))
    })
    .unwrap_or_else(IntoResponse::into_response)
}

/// `attr eq "value"`: the attribute and the value.
fn parse_filter(filter: &str) -> Result<(String, String), ScimError> {
    let invalid = |detail: &str| ScimError::bad("invalidFilter", detail.to_owned());
    let filter = filter.trim();
    let (attribute, rest) = filter
        .split_once(char::is_whitespace)
        .ok_or_else(|| invalid("a filter is `attribute eq \"value\"`"))?;
    let (op, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(|| invalid("a filter is `attribute eq \"value\"`"))?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(invalid("only the eq operator is supported"));
    }
    let value: String = serde_json::from_str(value.trim())
        .map_err(|_| invalid("the value must be a quoted string"))?;
    Ok((attribute.to_owned(), value))
}

fn list(
    state: &State,
    kind: Kind,
    dir_id: &str,
    headers: &HeaderMap,
    query: &std::collections::HashMap<String, String>,
) -> Response {
    with_directory(state, dir_id, headers, |dir| {
        let filter = match query.get("filter") {
            Some(f) => {
                let (attribute, value) = parse_filter(f)?;
                let Some(canonical) = kind
                    .filterable()
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(&attribute))
                else {
                    return Err(ScimError::bad(
                        "invalidFilter",
                        "the filter names an attribute that cannot be filtered",
                    ));
                };
                Some((*canonical, value))
            }
            None => None,
        };
        let start = match query.get("startIndex").map(|s| s.parse::<usize>()) {
            None => 1,
            Some(Ok(n)) => n.max(1),
            Some(Err(_)) => {
                return Err(ScimError::bad(
                    "invalidValue",
                    "startIndex must be a number",
                ));
            }
        };
        let count = match query.get("count").map(|s| s.parse::<usize>()) {
            None => MAX_PAGE,
            Some(Ok(n)) => n.min(MAX_PAGE),
            Some(Err(_)) => return Err(ScimError::bad("invalidValue", "count must be a number")),
        };
        let all = match kind {
            Kind::User => &dir.users,
            Kind::Group => &dir.groups,
        };
        let matching: Vec<&Value> = all
            .iter()
            .filter(|r| match &filter {
                // userName is case-insensitive (RFC 7643 §4.1.1).
                Some(("userName", v)) => {
                    text(r, "userName").is_some_and(|u| u.eq_ignore_ascii_case(v))
                }
                Some((attribute, v)) => text(r, attribute) == Some(v.as_str()),
                None => true,
            })
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(start - 1)
            .take(count)
            .map(|r| match kind {
                Kind::User => with_groups(r, &dir.groups),
                Kind::Group => (*r).clone(),
            })
            .collect();
        let body = json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": matching.len(),
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        });
        Ok((scim_json(StatusCode::OK, &body), None))
    })
    .unwrap_or_else(IntoResponse::into_response)
}

type Params = Query<std::collections::HashMap<String, String>>;

pub(crate) async fn list_users(
    AxumState(state): AxumState<Shared>,
    Path(dir): Path<String>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    list(&state, Kind::User, &dir, &headers, &query)
}

pub(crate) async fn list_groups(
    AxumState(state): AxumState<Shared>,
    Path(dir): Path<String>,
    headers: HeaderMap,
    Query(query): Params,
) -> Response {
    list(&state, Kind::Group, &dir, &headers, &query)
}

pub(crate) async fn create_user(
    AxumState(state): AxumState<Shared>,
    Path(dir): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create(&state, Kind::User, &dir, &headers, &body)
}

pub(crate) async fn create_group(
    AxumState(state): AxumState<Shared>,
    Path(dir): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create(&state, Kind::Group, &dir, &headers, &body)
}

fn kind_of(resource: &str) -> Option<Kind> {
    match resource {
        "Users" => Some(Kind::User),
        "Groups" => Some(Kind::Group),
        _ => None,
    }
}

fn unknown_resource() -> Response {
    ScimError::new(StatusCode::NOT_FOUND, None, "unknown resource type").into_response()
}

pub(crate) async fn read_one(
    AxumState(state): AxumState<Shared>,
    Path((dir, resource, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    match kind_of(&resource) {
        Some(kind) => read(&state, kind, &dir, &id, &headers),
        None => unknown_resource(),
    }
}

pub(crate) async fn replace_one(
    AxumState(state): AxumState<Shared>,
    Path((dir, resource, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match kind_of(&resource) {
        Some(kind) => replace(&state, kind, &dir, &id, &headers, &body),
        None => unknown_resource(),
    }
}

pub(crate) async fn patch_one(
    AxumState(state): AxumState<Shared>,
    Path((dir, resource, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match kind_of(&resource) {
        Some(kind) => patch(&state, kind, &dir, &id, &headers, &body),
        None => unknown_resource(),
    }
}

pub(crate) async fn delete_one(
    AxumState(state): AxumState<Shared>,
    Path((dir, resource, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    match kind_of(&resource) {
        Some(kind) => delete(&state, kind, &dir, &id, &headers),
        None => unknown_resource(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_or_are_invalid() {
        assert_eq!(
            parse_filter(r#"userName eq "ada@example.com""#).ok(),
            Some(("userName".to_owned(), "ada@example.com".to_owned()))
        );
        for bad in ["userName", r#"userName co "a""#, "userName eq ada", ""] {
            let err = parse_filter(bad).err().map(|e| e.scim_type);
            assert_eq!(err, Some(Some("invalidFilter")), "{bad}");
        }
    }
}
