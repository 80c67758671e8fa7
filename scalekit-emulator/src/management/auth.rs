//! `UpdateLoginUserDetails`: an application that signs users in itself (a
//! custom connection) hands the platform the user of a pending login
//! request (`POST /api/v1/connections/{connection_id}/auth-requests/{login_request_id}/user`).
//!
//! The emulator does not redirect to an application's own login page; a
//! test opens a login request with
//! [`Emulator::open_login_request`](crate::Emulator::open_login_request),
//! the application posts the user, and
//! [`Emulator::login_request_user`](crate::Emulator::login_request_user)
//! shows what it posted. A request takes one user, once.

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use serde_json::{Map, Value, json};

use super::{ApiError, ApiResult, Shared, body_object, ok, opt_str};
use crate::ids;

/// A pending login request of a connection.
#[derive(Debug, Clone)]
pub(crate) struct LoginRequest {
    connection_id: String,
    /// The user the application posted, once it has.
    user: Option<Map<String, Value>>,
}

impl super::Management {
    /// Opens a login request of `connection_id`; its id.
    pub(crate) fn open_login_request(&self, connection_id: &str) -> String {
        let id = ids::id("lrq");
        self.store().login_requests.insert(
            id.clone(),
            LoginRequest {
                connection_id: connection_id.to_owned(),
                user: None,
            },
        );
        id
    }

    /// The user posted for login request `id`, if any.
    pub(crate) fn login_request_user(&self, id: &str) -> Option<Value> {
        self.store()
            .login_requests
            .get(id)
            .and_then(|r| r.user.clone())
            .map(Value::Object)
    }
}

/// `POST /api/v1/connections/{connection_id}/auth-requests/{login_request_id}/user`
/// (the user: `sub` and `email` required): `200 {"auth_request_id": …}`.
pub(super) async fn update_login_user_details(
    AxumState(state): AxumState<Shared>,
    Path((connection_id, login_request_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    for field in ["sub", "email"] {
        if opt_str(&map, field)?.is_none_or(|v| v.trim().is_empty()) {
            return Err(ApiError::invalid(field, format!("{field} is required")));
        }
    }
    if opt_str(&map, "email")?.is_some_and(|e| !e.contains('@')) {
        return Err(ApiError::invalid("email", "email must be an email address"));
    }
    if !state
        .model
        .organizations()
        .iter()
        .any(|o| o.connection_id == connection_id)
    {
        return Err(ApiError::not_found("connection"));
    }
    let mut store = state.management.store();
    let request = store
        .login_requests
        .get_mut(&login_request_id)
        .filter(|r| r.connection_id == connection_id)
        .ok_or_else(|| ApiError::not_found("login_request"))?;
    if request.user.is_some() {
        return Err(ApiError::failed_precondition(
            "the login request has its user already",
        ));
    }
    request.user = Some(map);
    ok(json!({"auth_request_id": login_request_id}))
}
