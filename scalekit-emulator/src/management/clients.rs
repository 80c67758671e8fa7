//! Organization M2M clients and their secrets
//! (`/api/v1/organizations/{organization_id}/clients`).
//!
//! A client created here gets `client_credentials` tokens at the token
//! endpoint with any of its secrets: its scopes (or those asked for, a
//! subset), its audience, its custom claims, `oid` its organization and,
//! when set, its `expiry` as the tokens' lifetime. The plain secret is in
//! the create answer (and a secret-add answer) only; a deleted secret, or
//! client, or organization, stops minting.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use serde_json::{Map, Value, json};

use super::{
    ApiError, ApiResult, Pairs, Shared, body_object, created, find_organization, ok, opt_str,
    paginate,
};
use crate::webhooks::rfc3339;
use crate::{M2mClient, ids, now};

/// Longest client name.
const MAX_NAME: usize = 200;

/// An organization's M2M client.
#[derive(Debug, Clone)]
pub(crate) struct OrgClientRecord {
    client_id: String,
    organization_id: String,
    name: String,
    description: String,
    scopes: Vec<String>,
    audience: Vec<String>,
    custom_claims: Vec<(String, String)>,
    /// Token lifetime in seconds (`0`: the environment's).
    expiry: i64,
    secrets: Vec<SecretRecord>,
    create_time: u64,
    update_time: u64,
}

#[derive(Debug, Clone)]
struct SecretRecord {
    id: String,
    plain: String,
    create_time: u64,
    last_used_time: Option<u64>,
}

impl OrgClientRecord {
    /// The organization it belongs to.
    pub(crate) fn organization_id(&self) -> &str {
        &self.organization_id
    }
}

fn secret_view(s: &SecretRecord) -> Value {
    let suffix: String = {
        let chars: Vec<char> = s.plain.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    json!({
        "id": s.id,
        "create_time": rfc3339(s.create_time),
        "update_time": rfc3339(s.create_time),
        "secret_suffix": suffix,
        "status": "ACTIVE",
        "last_used_time": s.last_used_time.map(rfc3339),
    })
}

fn client_view(c: &OrgClientRecord) -> Value {
    json!({
        "client_id": c.client_id,
        "organization_id": c.organization_id,
        "name": c.name,
        "description": c.description,
        "scopes": c.scopes,
        "audience": c.audience,
        "custom_claims": c.custom_claims.iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect::<Vec<_>>(),
        "expiry": c.expiry.to_string(),
        "secrets": c.secrets.iter().map(secret_view).collect::<Vec<_>>(),
        "create_time": rfc3339(c.create_time),
        "update_time": rfc3339(c.update_time),
        "is_dcr": false,
        "is_cimd": false,
    })
}

/// The fields of an `OrganizationClient` body; each absent or set.
struct ClientFields {
    name: Option<String>,
    description: Option<String>,
    scopes: Option<Vec<String>>,
    audience: Option<Vec<String>>,
    custom_claims: Option<Vec<(String, String)>>,
    expiry: Option<i64>,
}

fn string_list(map: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for (i, v) in list.iter().enumerate() {
                let s = v
                    .as_str()
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            format!("{field}[{i}]"),
                            "each entry is a non-empty string without spaces",
                        )
                    })?;
                if !out.iter().any(|o| o == s) {
                    out.push(s.to_owned());
                }
            }
            Ok(Some(out))
        }
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} must be a list of strings"),
        )),
    }
}

/// Claims the platform sets itself, which a custom claim may not replace.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "oid",
    "scopes",
];

fn parse_fields(body: &Bytes) -> Result<ClientFields, ApiError> {
    let map = body_object(body)?;
    let name = opt_str(&map, "name")?;
    if let Some(name) = &name
        && name.chars().count() > MAX_NAME
    {
        return Err(ApiError::invalid(
            "name",
            format!("name must be at most {MAX_NAME} characters"),
        ));
    }
    let custom_claims = match map.get("custom_claims") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => {
            let mut claims: Vec<(String, String)> = Vec::new();
            for (i, c) in list.iter().enumerate() {
                let field = format!("custom_claims[{i}]");
                let key = c.get("key").and_then(Value::as_str).map(str::trim);
                let value = c.get("value").and_then(Value::as_str);
                let (Some(key), Some(value)) = (key.filter(|k| !k.is_empty()), value) else {
                    return Err(ApiError::invalid(
                        field,
                        "a custom claim has a key and a value",
                    ));
                };
                if RESERVED_CLAIMS.contains(&key) {
                    return Err(ApiError::invalid(
                        field,
                        format!("{key} is a reserved claim"),
                    ));
                }
                claims.retain(|(k, _)| k != key);
                claims.push((key.to_owned(), value.to_owned()));
            }
            Some(claims)
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "custom_claims",
                "custom_claims must be a list of {key, value}",
            ));
        }
    };
    let expiry = match map.get("expiry") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::invalid("expiry", "expiry is a non-negative number of seconds")
                })?,
        ),
    };
    Ok(ClientFields {
        name,
        description: opt_str(&map, "description")?,
        scopes: string_list(&map, "scopes")?,
        audience: string_list(&map, "audience")?,
        custom_claims,
        expiry,
    })
}

fn new_secret() -> Result<SecretRecord, ApiError> {
    let plain = crate::ids::secret().map_err(|_| {
        ApiError::status(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the secret could not be generated",
        )
    })?;
    Ok(SecretRecord {
        id: ids::id("sec"),
        plain: format!("test_{plain}"),
        create_time: now(),
        last_used_time: None,
    })
}

fn not_found() -> ApiError {
    ApiError::not_found("client")
}

/// `POST /api/v1/organizations/{organization_id}/clients`: `201
/// {"client": …, "plain_secret": …}`.
pub(super) async fn create(
    AxumState(state): AxumState<Shared>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    let fields = parse_fields(&body)?;
    let name = fields.name.unwrap_or_default();
    find_organization(&state, &org)?;
    let secret = new_secret()?;
    let plain = secret.plain.clone();
    let at = now();
    let client = OrgClientRecord {
        client_id: ids::id("m2morg"),
        organization_id: org,
        name,
        description: fields.description.unwrap_or_default(),
        scopes: fields.scopes.unwrap_or_default(),
        audience: fields.audience.unwrap_or_default(),
        custom_claims: fields.custom_claims.unwrap_or_default(),
        expiry: fields.expiry.unwrap_or(0),
        secrets: vec![secret],
        create_time: at,
        update_time: at,
    };
    let view = client_view(&client);
    state.management.store().org_clients.push(client);
    created(json!({"client": view, "plain_secret": plain}))
}

/// `GET /api/v1/organizations/{organization_id}/clients` (paged).
pub(super) async fn list(
    AxumState(state): AxumState<Shared>,
    Path(org): Path<String>,
    Pairs(pairs): Pairs,
) -> ApiResult {
    find_organization(&state, &org)?;
    let views: Vec<Value> = state
        .management
        .store()
        .org_clients
        .iter()
        .filter(|c| c.organization_id == org)
        .map(client_view)
        .collect();
    let page = paginate(views, &pairs, "organization_clients")?;
    ok(json!({
        "clients": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}

/// Runs `f` on client `id` of organization `org` (`404` for either).
fn with_client<T>(
    state: &crate::State,
    org: &str,
    id: &str,
    f: impl FnOnce(&mut Vec<OrgClientRecord>, usize) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    find_organization(state, org)?;
    let mut store = state.management.store();
    let index = store
        .org_clients
        .iter()
        .position(|c| c.organization_id == org && c.client_id == id)
        .ok_or_else(not_found)?;
    f(&mut store.org_clients, index)
}

/// `GET /api/v1/organizations/{organization_id}/clients/{client_id}`.
pub(super) async fn get_one(
    AxumState(state): AxumState<Shared>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult {
    let view = with_client(&state, &org, &id, |list, i| Ok(client_view(&list[i])))?;
    ok(json!({"client": view}))
}

/// `PATCH /api/v1/organizations/{organization_id}/clients/{client_id}`:
/// replaces the fields given.
pub(super) async fn update(
    AxumState(state): AxumState<Shared>,
    Path((org, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let fields = parse_fields(&body)?;
    let view = with_client(&state, &org, &id, |list, i| {
        let c = &mut list[i];
        if let Some(v) = fields.name {
            c.name = v;
        }
        if let Some(v) = fields.description {
            c.description = v;
        }
        if let Some(v) = fields.scopes {
            c.scopes = v;
        }
        if let Some(v) = fields.audience {
            c.audience = v;
        }
        if let Some(v) = fields.custom_claims {
            c.custom_claims = v;
        }
        if let Some(v) = fields.expiry {
            c.expiry = v;
        }
        c.update_time = now();
        Ok(client_view(c))
    })?;
    ok(json!({"client": view}))
}

/// `DELETE /api/v1/organizations/{organization_id}/clients/{client_id}`.
pub(super) async fn delete(
    AxumState(state): AxumState<Shared>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult {
    with_client(&state, &org, &id, |list, i| {
        list.remove(i);
        Ok(())
    })?;
    ok(json!({}))
}

/// `POST /api/v1/organizations/{organization_id}/clients/{client_id}/secrets`:
/// `201 {"plain_secret": …, "secret": …}` (the old secrets keep working
/// until deleted: rotation).
pub(super) async fn add_secret(
    AxumState(state): AxumState<Shared>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult {
    let secret = new_secret()?;
    let plain = secret.plain.clone();
    let view = with_client(&state, &org, &id, |list, i| {
        let c = &mut list[i];
        let view = secret_view(&secret);
        c.secrets.push(secret);
        c.update_time = now();
        Ok(view)
    })?;
    created(json!({"plain_secret": plain, "secret": view}))
}

/// `DELETE /api/v1/organizations/{organization_id}/clients/{client_id}/secrets/{secret_id}`:
/// tokens can no longer be had with it.
pub(super) async fn delete_secret(
    AxumState(state): AxumState<Shared>,
    Path((org, id, secret_id)): Path<(String, String, String)>,
) -> ApiResult {
    with_client(&state, &org, &id, |list, i| {
        let c = &mut list[i];
        let before = c.secrets.len();
        c.secrets.retain(|s| s.id != secret_id);
        if c.secrets.len() == before {
            return Err(ApiError::not_found("secret"));
        }
        c.update_time = now();
        Ok(())
    })?;
    ok(json!({}))
}

impl super::Management {
    /// The organization client `client_id` as the token endpoint grants
    /// it, when one of its secrets `matches` (which is then marked used).
    pub(crate) fn organization_client(
        &self,
        client_id: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Option<M2mClient> {
        let mut store = self.store();
        let client = store
            .org_clients
            .iter_mut()
            .find(|c| c.client_id == client_id)?;
        let secret = client.secrets.iter_mut().find(|s| matches(&s.plain))?;
        secret.last_used_time = Some(now());
        let plain = secret.plain.clone();
        let mut m2m = M2mClient::new(&client.client_id, plain, &client.organization_id)
            .scopes(client.scopes.clone())
            .audience(client.audience.clone());
        if let Ok(expiry) = u64::try_from(client.expiry)
            && expiry > 0
        {
            m2m = m2m.token_lifetime(Duration::from_secs(expiry));
        }
        for (k, v) in &client.custom_claims {
            m2m = m2m.claim(k.clone(), Value::String(v.clone()));
        }
        Some(m2m)
    }
}
