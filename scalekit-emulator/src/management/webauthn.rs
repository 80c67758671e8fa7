//! Users' passkeys (WebAuthn credentials): listed, renamed and deleted
//! through `/api/v1/webauthn/credentials`. The emulator has no
//! authenticator; [`Emulator::add_passkey`](crate::Emulator::add_passkey)
//! registers one for a user as a finished registration would.

use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::users::find_user;
use super::{ApiError, ApiResult, Pairs, Shared, body_object, ok, opt_str, query};
use crate::webhooks::rfc3339;
use crate::{State, ids, now};

/// Longest display name of a passkey.
const MAX_DISPLAY_NAME: usize = 100;

/// A registered passkey.
#[derive(Debug, Clone)]
pub(crate) struct PasskeyRecord {
    id: String,
    user_id: String,
    /// The authenticator's credential id (random bytes).
    credential_id: [u8; 32],
    display_name: String,
    created_at: u64,
    updated_at: u64,
}

/// The relying party id: the emulator's host.
fn rp_id(state: &State) -> String {
    url::Url::parse(&state.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

impl PasskeyRecord {
    /// The user it belongs to.
    pub(crate) fn user_id(&self) -> &str {
        &self.user_id
    }
}

fn passkey_view(p: &PasskeyRecord) -> Value {
    json!({
        "id": p.id,
        "user_id": p.user_id,
        "credential_id": URL_SAFE_NO_PAD.encode(p.credential_id),
        "attestation_type": "none",
        "authenticator": {"aaguid": "00000000-0000-0000-0000-000000000000", "name": "Emulated passkey", "attachment": "platform"},
        "transports": ["internal"],
        "authenticator_flags": {"user_present": true, "user_verified": true, "backup_eligible": false, "backup_state": false},
        "display_name": p.display_name,
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
    })
}

impl super::Management {
    /// Registers a passkey named `display_name` for `user_id`; its id.
    pub(crate) fn add_passkey(&self, user_id: &str, display_name: &str) -> String {
        let at = now();
        let record = PasskeyRecord {
            id: ids::id("wac"),
            user_id: user_id.to_owned(),
            credential_id: ids::random_bytes(),
            display_name: display_name.to_owned(),
            created_at: at,
            updated_at: at,
        };
        let id = record.id.clone();
        self.store().passkeys.push(record);
        id
    }
}

/// `GET /api/v1/webauthn/credentials?user_id=…`.
pub(super) async fn list(AxumState(state): AxumState<Shared>, Pairs(pairs): Pairs) -> ApiResult {
    let user_id = query(&pairs, "user_id")
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("user_id", "user_id is required"))?
        .to_owned();
    find_user(&state, &user_id)?;
    let store = state.management.store();
    let mine: Vec<&PasskeyRecord> = store
        .passkeys
        .iter()
        .filter(|p| p.user_id == user_id)
        .collect();
    ok(json!({
        "credentials": mine.iter().map(|p| passkey_view(p)).collect::<Vec<_>>(),
        "all_accepted_credentials_options": {
            "rp_id": rp_id(&state),
            "user_id": user_id,
            "all_accepted_credential_ids": mine.iter()
                .map(|p| URL_SAFE_NO_PAD.encode(p.credential_id))
                .collect::<Vec<_>>(),
        },
    }))
}

/// `PATCH /api/v1/webauthn/credentials/{credential_id}` (`display_name`).
pub(super) async fn update(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let name = opt_str(&map, "display_name")?
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("display_name", "display_name is required"))?;
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(ApiError::invalid(
            "display_name",
            format!("display_name must be at most {MAX_DISPLAY_NAME} characters"),
        ));
    }
    let mut store = state.management.store();
    let passkey = store
        .passkeys
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::not_found("credential"))?;
    passkey.display_name = name;
    passkey.updated_at = now();
    ok(json!({"credential": passkey_view(passkey)}))
}

/// `DELETE /api/v1/webauthn/credentials/{credential_id}`: the answer names
/// the credential for the browser's `signalUnknownCredential`.
pub(super) async fn delete(
    AxumState(state): AxumState<Shared>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = state.management.store();
    let index = store
        .passkeys
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| ApiError::not_found("credential"))?;
    let passkey = store.passkeys.remove(index);
    ok(json!({
        "success": true,
        "unknown_credential_options": {
            "rp_id": rp_id(&state),
            "credential_id": URL_SAFE_NO_PAD.encode(passkey.credential_id),
        },
    }))
}
