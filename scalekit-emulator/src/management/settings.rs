//! An organization's user-management settings
//! (`/api/v1/organizations/{organization_id}/settings/usermanagement`):
//! the maximum number of members, which refuses the membership over it.

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Shared, Store, body_object, find_organization, ok, opt_object};
use crate::State;

/// Refuses a new member of `organization_id` when it has its maximum
/// already (`400 FAILED_PRECONDITION`).
pub(super) fn check_room_for_member(
    state: &State,
    store: &mut Store,
    organization_id: &str,
) -> Result<(), ApiError> {
    let Some(max) = store.max_users.get(organization_id).copied() else {
        return Ok(());
    };
    for user in state.model.users() {
        store.user_extra(&user, state.management.started);
    }
    let members = store
        .users
        .values()
        .filter(|e| {
            e.memberships
                .iter()
                .any(|m| m.organization_id == organization_id)
        })
        .count();
    if members >= usize::try_from(max).unwrap_or(0) {
        return Err(ApiError::failed_precondition(format!(
            "the organization has its maximum of {max} users"
        )));
    }
    Ok(())
}

fn settings_view(max: Option<i64>) -> Value {
    match max {
        Some(max) => json!({"settings": {"max_allowed_users": max}}),
        None => json!({"settings": {}}),
    }
}

/// `GET /api/v1/organizations/{organization_id}/settings/usermanagement`.
pub(super) async fn get(AxumState(state): AxumState<Shared>, Path(org): Path<String>) -> ApiResult {
    find_organization(&state, &org)?;
    let max = state.management.store().max_users.get(&org).copied();
    ok(settings_view(max))
}

/// `PATCH /api/v1/organizations/{organization_id}/settings/usermanagement`
/// (`{"settings": {"max_allowed_users": n}}`; `null` removes the limit).
pub(super) async fn upsert(
    AxumState(state): AxumState<Shared>,
    Path(org): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let settings = opt_object(&map, "settings")?
        .ok_or_else(|| ApiError::invalid("settings", "settings is required"))?;
    let max = match settings.get("max_allowed_users") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "settings.max_allowed_users",
                        "max_allowed_users must be a non-negative 32-bit integer",
                    )
                })?,
        ),
    };
    find_organization(&state, &org)?;
    let mut store = state.management.store();
    match max {
        Some(max) => store.max_users.insert(org, max),
        None => store.max_users.remove(&org),
    };
    ok(settings_view(max))
}
