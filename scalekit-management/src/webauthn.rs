//! Users' passkeys (WebAuthn credentials): list, rename, delete (the SDK's
//! `client.webauthn`).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{decode, segment};
use crate::{ManagementClient, ManagementError};

/// A passkey a user registered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WebAuthnCredential {
    /// The platform's identifier (to rename or delete it).
    pub id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// The authenticator's credential id (base64url).
    pub credential_id: Option<String>,
    /// The name the user gave it.
    pub display_name: Option<String>,
    /// How the authenticator attested it (`none`, …).
    pub attestation_type: Option<String>,
    /// How it is reached (`internal`, `usb`, …).
    pub transports: Vec<String>,
    /// The authenticator (`aaguid`, `name`, `attachment`, …).
    pub authenticator: Option<Value>,
    /// When it was registered (RFC 3339).
    pub created_at: Option<String>,
    /// When it was last changed (RFC 3339).
    pub updated_at: Option<String>,
}

/// What the browser's `signalAllAcceptedCredentials` needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AllAcceptedCredentialsOptions {
    /// The relying party id.
    pub rp_id: String,
    /// The user.
    pub user_id: String,
    /// The credential ids still accepted.
    pub all_accepted_credential_ids: Vec<String>,
}

/// A user's passkeys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WebAuthnCredentials {
    /// The passkeys.
    pub credentials: Vec<WebAuthnCredential>,
    /// For the browser's `signalAllAcceptedCredentials`.
    pub all_accepted_credentials_options: Option<AllAcceptedCredentialsOptions>,
}

/// What the browser's `signalUnknownCredential` needs after a delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UnknownCredentialOptions {
    /// The relying party id.
    pub rp_id: String,
    /// The deleted credential's id.
    pub credential_id: String,
}

/// The answer of a delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DeletedCredential {
    /// Whether it was deleted.
    pub success: bool,
    /// For the browser's `signalUnknownCredential`.
    pub unknown_credential_options: Option<UnknownCredentialOptions>,
}

/// The passkey operations: `client.webauthn()`.
#[derive(Debug, Clone, Copy)]
pub struct WebAuthn<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn credential_path(credential_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/webauthn/credentials/{}",
        segment(credential_id, "credential id")?
    ))
}

impl WebAuthn<'_> {
    /// A user's passkeys (the SDK's `listCredentials`).
    pub async fn list_credentials(
        &self,
        user_id: &str,
    ) -> Result<WebAuthnCredentials, ManagementError> {
        if user_id.trim().is_empty() {
            return Err(ManagementError::InvalidArgument("user id"));
        }
        let query = [("user_id", user_id.to_owned())];
        let bytes = self
            .client
            .call(Method::GET, "/api/v1/webauthn/credentials", &query, None)
            .await?;
        decode(&bytes)
    }

    /// Renames a passkey (the SDK's `updateCredential`).
    pub async fn update_credential(
        &self,
        credential_id: &str,
        display_name: &str,
    ) -> Result<WebAuthnCredential, ManagementError> {
        let body = serde_json::json!({"display_name": display_name});
        self.client
            .send_wrapped(
                Method::PATCH,
                &credential_path(credential_id)?,
                &body,
                "credential",
            )
            .await
    }

    /// Deletes a passkey (the SDK's `deleteCredential`).
    pub async fn delete_credential(
        &self,
        credential_id: &str,
    ) -> Result<DeletedCredential, ManagementError> {
        let bytes = self
            .client
            .call(Method::DELETE, &credential_path(credential_id)?, &[], None)
            .await?;
        decode(&bytes)
    }
}

impl ManagementClient {
    /// The passkey (WebAuthn credential) operations.
    pub fn webauthn(&self) -> WebAuthn<'_> {
        WebAuthn { client: self }
    }
}
