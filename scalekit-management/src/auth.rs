//! Custom connections: the user an application signed in itself, handed to
//! the platform for a pending login request (the SDK's `client.auth`).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::client::segment;
use crate::{ManagementClient, ManagementError};

/// The user an application signed in, for a login request of a custom
/// connection (`sub` and `email` required).
///
/// ```
/// use scalekit_management::LoginUserDetails;
///
/// let user = LoginUserDetails::new("user_42", "ada@acme.com").name("Ada", "Lovelace");
/// assert_eq!(
///     serde_json::to_value(&user).unwrap(),
///     serde_json::json!({"sub": "user_42", "email": "ada@acme.com", "given_name": "Ada",
///                        "family_name": "Lovelace", "email_verified": true})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoginUserDetails {
    /// The user's identifier in the application.
    pub sub: String,
    /// Their email address.
    pub email: String,
    /// Given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Whether the application verified the email address.
    pub email_verified: bool,
    /// Phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Locale (`en-US`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Groups the user belongs to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Roles to give the user.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Your identifier of the user's organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_external_id: Option<String>,
    /// Other attributes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_attributes: BTreeMap<String, Value>,
}

impl LoginUserDetails {
    /// The user `sub` with email address `email` (verified).
    pub fn new(sub: impl Into<String>, email: impl Into<String>) -> Self {
        LoginUserDetails {
            sub: sub.into(),
            email: email.into(),
            email_verified: true,
            ..Default::default()
        }
    }

    /// Sets the given and family names.
    pub fn name(mut self, given: impl Into<String>, family: impl Into<String>) -> Self {
        self.given_name = Some(given.into());
        self.family_name = Some(family.into());
        self
    }

    /// Adds a role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }
}

/// The custom-connection operations: `client.auth()`.
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    pub(crate) client: &'a ManagementClient,
}

impl Auth<'_> {
    /// Hands the platform the user of a pending login request of a custom
    /// connection (the SDK's `updateLoginUserDetails`).
    pub async fn update_login_user_details(
        &self,
        connection_id: &str,
        login_request_id: &str,
        user: &LoginUserDetails,
    ) -> Result<(), ManagementError> {
        let path = format!(
            "/api/v1/connections/{}/auth-requests/{}/user",
            segment(connection_id, "connection id")?,
            segment(login_request_id, "login request id")?
        );
        self.client
            .call_json(Method::POST, &path, &[], user)
            .await?;
        Ok(())
    }
}

impl ManagementClient {
    /// The custom-connection operations.
    pub fn auth(&self) -> Auth<'_> {
        Auth { client: self }
    }
}
