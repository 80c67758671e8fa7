//! The management REST API (`/api/v1/…`), served from the emulator's
//! in-memory state: the organizations and users of the sign-in page are the
//! ones the API lists, creates, changes and deletes.
//!
//! Every call needs `Authorization: Bearer <token>` with an access token the
//! emulator issued by the `client_credentials` grant to the environment's
//! own client (its signature checked against the emulator's keys, not
//! expired). Errors have the platform's shape:
//! `{"code": "NOT_FOUND", "message": "…", "details": [{"@type": "…ErrorInfo", "error_code": "NOT_FOUND", …}]}`.

mod accounts;
mod auth;
mod clients;
mod links;
mod organizations;
mod roles;
mod settings;
mod users;
mod webauthn;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::model::Organization;
use crate::{State, lock, now};

pub(crate) use accounts::AccountRecord;
pub(crate) use clients::OrgClientRecord;
pub(crate) use organizations::{DomainRecord, OrgExtra};
pub(crate) use roles::Rbac;
pub(crate) use users::UserExtra;
pub(crate) use webauthn::PasskeyRecord;

type Shared = Arc<State>;

/// The query string as pairs (repeated keys kept, never rejected).
pub(crate) struct Pairs(pub(crate) Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Pairs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(Pairs(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

/// Default page size of the list operations (the spec's `PageSize`).
const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page size; bigger requests get pages of this size.
const MAX_PAGE_SIZE: usize = 100;

const ERROR_INFO: &str = "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo";

/// The management API's state that the model (`crate::model`) does not keep:
/// organization and user attributes beyond the sign-in page's, roles,
/// domains and connected accounts.
pub(crate) struct Management {
    store: Mutex<Store>,
    /// When the environment started (the seeds' `create_time`).
    started: u64,
}

#[derive(Default)]
pub(crate) struct Store {
    orgs: HashMap<String, OrgExtra>,
    users: HashMap<String, UserExtra>,
    /// The environment's roles, the organizations' and the permissions.
    rbac: Rbac,
    /// Organizations' maximum number of members.
    max_users: HashMap<String, i64>,
    /// Organizations' M2M clients, in creation order.
    org_clients: Vec<OrgClientRecord>,
    /// Users' passkeys (WebAuthn credentials).
    passkeys: Vec<PasskeyRecord>,
    /// Custom connections' login requests.
    login_requests: HashMap<String, auth::LoginRequest>,
    domains: Vec<DomainRecord>,
    accounts: Vec<AccountRecord>,
    portal_links: HashMap<String, links::PortalLink>,
    magic_links: HashMap<String, links::MagicLink>,
}

impl Management {
    pub(crate) fn new() -> Self {
        Management {
            store: Mutex::new(Store::default()),
            started: now(),
        }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        lock(&self.store)
    }
}

/// An error answer in the platform's shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    resource: Option<&'static str>,
    /// Extra facts of the error (`attempts_remaining`, …), in its detail.
    metadata: Option<Map<String, Value>>,
}

impl ApiError {
    /// `429 RESOURCE_EXHAUSTED`: a limit was reached.
    pub(crate) fn exhausted(message: impl Into<String>) -> Self {
        ApiError::status(StatusCode::TOO_MANY_REQUESTS, "").message(message)
    }

    /// `500 INTERNAL`.
    pub(crate) fn internal() -> Self {
        ApiError::status(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Adds `name: value` to the error detail's `metadata`.
    pub(crate) fn with_metadata(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.metadata
            .get_or_insert_with(Map::new)
            .insert(name.to_owned(), value.into());
        self
    }

    /// `400 INVALID_ARGUMENT` naming the offending field.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_ARGUMENT",
            message: message.into(),
            field: Some(field.into()),
            resource: None,
            metadata: None,
        }
    }

    /// `404 NOT_FOUND` for a resource kind (`"organization"`, …).
    pub(crate) fn not_found(resource: &'static str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            message: format!("{resource} not found"),
            field: None,
            resource: Some(resource),
            metadata: None,
        }
    }

    /// `409 ALREADY_EXISTS`.
    pub(crate) fn already_exists(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "ALREADY_EXISTS",
            message: message.into(),
            field: Some(field.into()),
            resource: None,
            metadata: None,
        }
    }

    /// `400 FAILED_PRECONDITION`: the resource is not in a state that
    /// allows the operation.
    pub(crate) fn failed_precondition(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "FAILED_PRECONDITION",
            message: message.into(),
            field: None,
            resource: None,
            metadata: None,
        }
    }

    fn unauthenticated(message: &str) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "UNAUTHENTICATED",
            message: message.to_owned(),
            field: None,
            resource: None,
            metadata: None,
        }
    }

    fn status(status: StatusCode, message: &str) -> Self {
        ApiError {
            status,
            code: code_of(status),
            message: message.to_owned(),
            field: None,
            resource: None,
            metadata: None,
        }
    }
}

/// The platform's error code for an HTTP status (gRPC code names).
fn code_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "UNIMPLEMENTED",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut detail = json!({"@type": ERROR_INFO, "error_code": self.code});
        if let Some(map) = detail.as_object_mut() {
            if let Some(field) = &self.field {
                map.insert(
                    "validation_error_info".into(),
                    json!({"field_violations": [{"field": field, "description": self.message}]}),
                );
            }
            if let Some(metadata) = &self.metadata {
                map.insert("metadata".into(), Value::Object(metadata.clone()));
            }
            if let Some(resource) = self.resource {
                map.insert(
                    "resource_info".into(),
                    json!({"resource_name": resource, "description": self.message}),
                );
            }
        }
        let mut response = (
            self.status,
            Json(json!({"code": self.code, "message": self.message, "details": [detail]})),
        )
            .into_response();
        if matches!(self.status.as_u16(), 429 | 503) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The answer of an injected `Fault::Status(code)` on a management path.
pub(crate) fn fault_response(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    ApiError::status(status, "injected fault").into_response()
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// `200` with a JSON body.
pub(crate) fn ok(body: Value) -> ApiResult {
    Ok(Json(body).into_response())
}

/// `201` with a JSON body.
pub(crate) fn created(body: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The request body as a JSON object (an empty body is an empty object).
pub(crate) fn body_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::invalid("body", "the body must be a JSON object")),
    }
}

/// An optional string field; another type is invalid.
pub(crate) fn opt_str(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} must be a string"),
        )),
    }
}

/// A required, non-blank string field.
pub(crate) fn req_str(map: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match opt_str(map, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ApiError::invalid(field, format!("{field} is required"))),
    }
}

/// An optional object of strings (`metadata`).
pub(crate) fn opt_string_map(
    map: &Map<String, Value>,
    field: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => Ok(Some(m.clone())),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} must be an object of strings"),
        )),
    }
}

/// An optional JSON object of any values.
pub(crate) fn opt_object(
    map: &Map<String, Value>,
    field: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} must be an object"),
        )),
    }
}

/// The first value of query parameter `name`.
pub(crate) fn query<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A query parameter that must be `true` or `false` when present.
pub(crate) fn query_bool(pairs: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match query(pairs, name) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid(
            name,
            format!("{name} must be true or false"),
        )),
    }
}

/// The `query` of a search: required, at least 3 characters, lowercased.
pub(crate) fn search_query(pairs: &[(String, String)]) -> Result<String, ApiError> {
    match query(pairs, "query").map(str::trim) {
        Some(q) if q.chars().count() >= 3 => Ok(q.to_lowercase()),
        _ => Err(ApiError::invalid(
            "query",
            "query must be at least 3 characters",
        )),
    }
}

/// The organization `id`, or `404`.
pub(crate) fn find_organization(state: &State, id: &str) -> Result<Organization, ApiError> {
    state
        .model
        .organization(id)
        .ok_or_else(|| ApiError::not_found("organization"))
}

/// One page of a list, in creation order.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    /// Empty on the last page.
    pub(crate) next_page_token: String,
    /// Empty on the first page.
    pub(crate) prev_page_token: String,
    pub(crate) total_size: usize,
}

fn page_token(kind: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{offset}"))
}

/// Cuts the page `page_size`/`page_token` asks for out of `all`. Page
/// tokens are opaque (an offset bound to the list `kind`); one from
/// another list, or not from the emulator, is invalid.
pub(crate) fn paginate<T>(
    all: Vec<T>,
    pairs: &[(String, String)],
    kind: &str,
) -> Result<Page<T>, ApiError> {
    let size = match query(pairs, "page_size").filter(|s| !s.is_empty()) {
        None => DEFAULT_PAGE_SIZE,
        Some(s) => match s.parse::<i64>() {
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(n) if n > 0 => usize::try_from(n)
                .unwrap_or(MAX_PAGE_SIZE)
                .min(MAX_PAGE_SIZE),
            _ => {
                return Err(ApiError::invalid(
                    "page_size",
                    "page_size must be a positive integer",
                ));
            }
        },
    };
    let offset = match query(pairs, "page_token").filter(|s| !s.is_empty()) {
        None => 0,
        Some(token) => URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|text| {
                let (k, offset) = text.split_once(':')?;
                (k == kind).then(|| offset.parse::<usize>().ok())?
            })
            .filter(|offset| *offset <= all.len())
            .ok_or_else(|| ApiError::invalid("page_token", "the page token is invalid"))?,
    };
    let total_size = all.len();
    let end = offset.saturating_add(size).min(total_size);
    let next_page_token = if end < total_size {
        page_token(kind, end)
    } else {
        String::new()
    };
    let prev_page_token = if offset > 0 {
        page_token(kind, offset.saturating_sub(size))
    } else {
        String::new()
    };
    let items = all.into_iter().skip(offset).take(end - offset).collect();
    Ok(Page {
        items,
        next_page_token,
        prev_page_token,
        total_size,
    })
}

/// The bearer token of the request.
fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The `kid` of a JWT's header.
fn signing_kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// Lets through requests with an access token the emulator issued to the
/// environment's client by `client_credentials`: signed by a published
/// key of the emulator, unexpired.
async fn authenticate(
    AxumState(state): AxumState<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(&request) else {
        return ApiError::unauthenticated("a bearer access token is required").into_response();
    };
    let Some(claims) = state.verify_own_token(token) else {
        return ApiError::unauthenticated("the access token is invalid").into_response();
    };
    // Signed by a key still published (a withdrawn key signs nothing valid).
    if !signing_kid(token).is_some_and(|kid| state.is_published(&kid)) {
        return ApiError::unauthenticated("the access token's signing key was withdrawn")
            .into_response();
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    if claims
        .get("exp")
        .and_then(Value::as_u64)
        .is_none_or(|exp| exp <= now())
    {
        return ApiError::unauthenticated("the access token has expired").into_response();
    }
    if text("client_id") != state.client_id || text("sub") != state.client_id {
        return ApiError::unauthenticated(
            "the access token was not issued to the environment's client",
        )
        .into_response();
    }
    next.run(request).await
}

async fn no_such_endpoint() -> ApiError {
    ApiError::not_found("endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        "the endpoint does not serve this method",
    )
}

/// A route's methods; other methods answer `405` in the platform's shape.
fn api(methods: MethodRouter<Shared>) -> MethodRouter<Shared> {
    methods.fallback(method_not_allowed)
}

/// The `/api/v1` routes.
pub(crate) fn routes(state: Shared) -> Router<Shared> {
    Router::new()
        .route(
            "/api/v1/organizations",
            api(get(organizations::list).post(organizations::create)),
        )
        .route(
            "/api/v1/organizations/{org}",
            api(get(organizations::get_one)
                .patch(organizations::update)
                .delete(organizations::delete)),
        )
        .route(
            "/api/v1/organizations/{org}/settings",
            api(patch(organizations::settings)),
        )
        .route(
            "/api/v1/organizations/{org}/portal_links",
            api(put(organizations::portal_link)),
        )
        .route(
            "/api/v1/connections",
            api(get(organizations::list_connections)),
        )
        .route(
            "/api/v1/organizations/{org}/connections",
            api(get(organizations::organization_connections)),
        )
        .route(
            "/api/v1/organizations/{org}/connections/{id}",
            api(get(organizations::get_connection).patch(organizations::toggle_connection)),
        )
        .route(
            "/api/v1/organizations/{org}/directories",
            api(get(organizations::list_directories)),
        )
        .route(
            "/api/v1/organizations/{org}/directories/{id}",
            api(get(organizations::get_directory).patch(organizations::toggle_directory)),
        )
        .route(
            "/api/v1/organizations/{org}/directories/{id}/users",
            api(get(organizations::directory_users)),
        )
        .route(
            "/api/v1/organizations/{org}/directories/{id}/groups",
            api(get(organizations::directory_groups)),
        )
        .route(
            "/api/v1/organizations/{org}/domains",
            api(get(organizations::list_domains).post(organizations::create_domain)),
        )
        .route(
            "/api/v1/organizations/{org}/domains/{id}",
            api(get(organizations::get_domain)
                .patch(organizations::patch_domain)
                .delete(organizations::delete_domain)),
        )
        .route(
            "/api/v1/organizations:external/{external_id}",
            api(get(organizations::get_by_external_id).patch(organizations::update_by_external_id)),
        )
        .route(
            "/api/v1/organizations:search",
            api(get(organizations::search)),
        )
        .route(
            "/api/v1/organizations/{org}/settings/usermanagement",
            api(get(settings::get).patch(settings::upsert)),
        )
        .route(
            "/api/v1/organizations/{org}/roles",
            api(get(roles::list_organization_roles).post(roles::create_organization_role)),
        )
        .route(
            "/api/v1/organizations/{org}/roles:set_defaults",
            api(patch(roles::set_default_organization_roles)),
        )
        .route(
            "/api/v1/organizations/{org}/roles/{name}",
            api(get(roles::get_organization_role)
                .put(roles::update_organization_role)
                .delete(roles::delete_organization_role)),
        )
        .route(
            "/api/v1/organizations/{org}/roles/{name}/users:count",
            api(get(roles::organization_role_users_count)),
        )
        .route(
            "/api/v1/organizations/{org}/roles/{name}/base",
            api(delete(roles::delete_organization_role_base)),
        )
        .route(
            "/api/v1/roles",
            api(get(roles::list_roles).post(roles::create_role)),
        )
        .route(
            "/api/v1/roles:set_defaults",
            api(patch(roles::set_default_roles)),
        )
        .route(
            "/api/v1/roles/{name}",
            api(get(roles::get_role)
                .put(roles::update_role)
                .delete(roles::delete_role)),
        )
        .route(
            "/api/v1/roles/{name}/users:count",
            api(get(roles::role_users_count)),
        )
        .route(
            "/api/v1/roles/{name}/base",
            api(delete(roles::delete_role_base)),
        )
        .route(
            "/api/v1/roles/{name}/dependents",
            api(get(roles::dependent_roles)),
        )
        .route(
            "/api/v1/roles/{name}/permissions",
            api(get(roles::role_permissions).post(roles::add_role_permissions)),
        )
        .route(
            "/api/v1/roles/{name}/permissions:all",
            api(get(roles::effective_role_permissions)),
        )
        .route(
            "/api/v1/roles/{name}/permissions/{permission}",
            api(delete(roles::remove_role_permission)),
        )
        .route(
            "/api/v1/permissions",
            api(get(roles::list_permissions).post(roles::create_permission)),
        )
        .route(
            "/api/v1/permissions/{name}",
            api(get(roles::get_permission)
                .put(roles::update_permission)
                .delete(roles::delete_permission)),
        )
        .route(
            "/api/v1/organizations/{org}/users/{id}/roles",
            api(get(roles::user_roles).post(roles::assign_user_roles)),
        )
        .route(
            "/api/v1/organizations/{org}/users/{id}/roles/{name}",
            api(delete(roles::remove_user_role)),
        )
        .route(
            "/api/v1/organizations/{org}/users/{id}/permissions",
            api(get(roles::user_permissions)),
        )
        .route(
            "/api/v1/organizations/{org}/users:search",
            api(get(users::search_organization_users)),
        )
        .route(
            "/api/v1/organizations/{org}/clients",
            api(get(clients::list).post(clients::create)),
        )
        .route(
            "/api/v1/organizations/{org}/clients/{id}",
            api(get(clients::get_one)
                .patch(clients::update)
                .delete(clients::delete)),
        )
        .route(
            "/api/v1/organizations/{org}/clients/{id}/secrets",
            api(post(clients::add_secret)),
        )
        .route(
            "/api/v1/organizations/{org}/clients/{id}/secrets/{secret}",
            api(delete(clients::delete_secret)),
        )
        .route(
            "/api/v1/users:external/{external_id}",
            api(get(users::get_by_external_id)
                .patch(users::update_by_external_id)
                .delete(users::delete_by_external_id)),
        )
        .route("/api/v1/users:search", api(get(users::search)))
        .route(
            "/api/v1/connections/{connection}/auth-requests/{request}/user",
            api(post(auth::update_login_user_details)),
        )
        .route("/api/v1/webauthn/credentials", api(get(webauthn::list)))
        .route(
            "/api/v1/webauthn/credentials/{id}",
            api(patch(webauthn::update).delete(webauthn::delete)),
        )
        .route(
            "/api/v1/organizations/{org}/users",
            api(get(users::organization_users).post(users::create_user)),
        )
        .route(
            "/api/v1/memberships/organizations/{org}/users/{id}",
            api(post(users::add_membership)
                .patch(users::update_membership)
                .delete(users::remove_membership)),
        )
        .route(
            "/api/v1/invites/organizations/{org}/users/{id}/resend",
            api(patch(users::resend_invite)),
        )
        .route("/api/v1/users", api(get(users::list_users)))
        .route(
            "/api/v1/users/{id}",
            api(get(users::get_user)
                .patch(users::update_user)
                .delete(users::delete_user)),
        )
        .route(
            "/api/v1/users/{id}/sessions",
            api(get(users::user_sessions)),
        )
        .route(
            "/api/v1/users/{id}/sessions/revoke",
            api(post(users::revoke_user_sessions)),
        )
        .route("/api/v1/sessions/{id}", api(get(users::get_session)))
        .route(
            "/api/v1/sessions/{id}/revoke",
            api(post(users::revoke_session)),
        )
        .route(
            "/api/v1/connected_accounts",
            api(get(accounts::list)
                .post(accounts::create)
                .put(accounts::update_credentials)),
        )
        .route(
            "/api/v1/connected_accounts:delete",
            api(post(accounts::delete)),
        )
        .route(
            "/api/v1/connected_accounts:search",
            api(get(accounts::search)),
        )
        .route(
            "/api/v1/connected_accounts/magic_link",
            api(post(accounts::magic_link)),
        )
        .route("/api/v1/execute_tool", api(post(accounts::execute_tool)))
        .route(
            "/api/v1/passwordless/email/send",
            api(post(crate::passwordless::send)),
        )
        .route(
            "/api/v1/passwordless/email/resend",
            api(post(crate::passwordless::resend)),
        )
        .route(
            "/api/v1/passwordless/email/verify",
            api(post(crate::passwordless::verify)),
        )
        .route("/api/v1/{*rest}", axum::routing::any(no_such_endpoint))
        .layer(axum::middleware::from_fn_with_state(state, authenticate))
        .merge(links::routes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pages_walk_every_item_once_and_tokens_are_checked() {
        let all: Vec<usize> = (0..45).collect();
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = paginate(
                all.clone(),
                &pairs(&[("page_size", "20"), ("page_token", &token)]),
                "orgs",
            )
            .unwrap();
            assert_eq!(page.total_size, 45);
            seen.extend(page.items);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen, all);
        let foreign = page_token("users", 20);
        for (name, value) in [
            ("page_token", foreign.as_str()),
            ("page_token", "not a token"),
            ("page_size", "-1"),
            ("page_size", "ten"),
        ] {
            let err = paginate(all.clone(), &pairs(&[(name, value)]), "orgs").err();
            assert_eq!(err.map(|e| e.field), Some(Some(name.to_owned())), "{value}");
        }
        let big = paginate(all.clone(), &pairs(&[("page_size", "1000")]), "orgs").unwrap();
        assert_eq!(big.items.len(), 45);
        let default = paginate((0..30).collect::<Vec<_>>(), &[], "orgs").unwrap();
        assert_eq!(default.items.len(), DEFAULT_PAGE_SIZE);
    }
}
