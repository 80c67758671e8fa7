//! Organization M2M clients and their secrets: the credentials a B2B API
//! provider hands each customer organization for the `client_credentials`
//! grant (`/api/v1/organizations/{organization_id}/clients`).
//!
//! A client's tokens carry its scopes, audience and custom claims, and the
//! organization as `oid`. The secret in plain text is in the answer of
//! [`create_organization_client`](OrganizationClients::create_organization_client)
//! and of [`add_organization_client_secret`](OrganizationClients::add_organization_client_secret)
//! only, as a [`PlainSecret`]; later reads show its last characters.

use std::fmt;

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::{decode, segment};
use crate::pagination::{Page, PageOptions, count_of, page_stream};
use crate::{ManagementClient, ManagementError};

/// A client secret in plain text: shown once, when created. Its `Debug`
/// output is redacted and it is never logged; read it with
/// [`expose`](Self::expose) to hand it over.
///
/// ```
/// use scalekit_management::PlainSecret;
///
/// let secret: PlainSecret = serde_json::from_str(r#""test_s3cr3t""#).unwrap();
/// assert_eq!(secret.expose(), "test_s3cr3t");
/// assert_eq!(format!("{secret:?}"), "PlainSecret(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct PlainSecret(String);

impl PlainSecret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret as the core crate's [`Secret`](scalekit_core::Secret),
    /// to get tokens with it
    /// ([`ClientCredentialsCache::for_client`](scalekit_core::oauth::ClientCredentialsCache::for_client)).
    pub fn into_secret(self) -> scalekit_core::Secret {
        scalekit_core::Secret::new(self.0)
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

/// A custom claim added to every token of a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomClaim {
    /// The claim's name.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// A secret of a client, as it is listed (never its plain text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ClientSecret {
    /// The secret's identifier (to delete it).
    pub id: String,
    /// Its last characters, to tell secrets apart.
    pub secret_suffix: Option<String>,
    /// `ACTIVE` or `INACTIVE`.
    pub status: Option<String>,
    /// When it was created (RFC 3339).
    pub create_time: Option<String>,
    /// When it last got a token (RFC 3339).
    pub last_used_time: Option<String>,
    /// When it stops working (RFC 3339), if it does.
    pub expire_time: Option<String>,
}

/// An organization's M2M client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct OrganizationClient {
    /// Its client id (`m2morg_…`), for the `client_credentials` grant.
    pub client_id: String,
    /// The organization it belongs to (its tokens' `oid`).
    pub organization_id: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The scopes its tokens carry.
    pub scopes: Vec<String>,
    /// The audience of its tokens.
    pub audience: Vec<String>,
    /// Claims added to its tokens.
    pub custom_claims: Vec<CustomClaim>,
    /// Its tokens' lifetime in seconds (`None` or 0: the environment's).
    #[serde(deserialize_with = "lenient_count")]
    pub expiry: Option<u64>,
    /// Its secrets (never in plain text).
    pub secrets: Vec<ClientSecret>,
    /// When it was created (RFC 3339).
    pub create_time: Option<String>,
    /// When it was last changed (RFC 3339).
    pub update_time: Option<String>,
}

/// An int64, which proto3 JSON sends as a string.
fn lenient_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value: Option<serde_json::Value> = Option::deserialize(deserializer)?;
    Ok(count_of(value.as_ref()))
}

/// What a client is made of (to create one), or the fields to change (to
/// update one: unset fields stay as they are).
///
/// ```
/// use scalekit_management::OrganizationClientRequest;
///
/// let request = OrganizationClientRequest::new("Acme billing sync")
///     .scopes(["reports:read"])
///     .audience(["https://api.example.com/api"])
///     .claim("tier", "gold");
/// assert_eq!(
///     serde_json::to_value(&request).unwrap(),
///     serde_json::json!({"name": "Acme billing sync", "scopes": ["reports:read"],
///                        "audience": ["https://api.example.com/api"],
///                        "custom_claims": [{"key": "tier", "value": "gold"}]})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrganizationClientRequest {
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The scopes its tokens carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// The audience of its tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    /// Claims added to its tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_claims: Option<Vec<CustomClaim>>,
    /// Its tokens' lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<u64>,
}

impl OrganizationClientRequest {
    /// A client named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        OrganizationClientRequest {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    /// No field set (for an update).
    pub fn change() -> Self {
        OrganizationClientRequest::default()
    }

    /// Sets what it is for.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the scopes its tokens carry.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the audience of its tokens.
    pub fn audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = Some(audience.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a custom claim.
    pub fn claim(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.custom_claims
            .get_or_insert_with(Vec::new)
            .push(CustomClaim {
                key: key.into(),
                value: value.into(),
            });
        self
    }

    /// Sets its tokens' lifetime in seconds.
    pub fn expiry(mut self, seconds: u64) -> Self {
        self.expiry = Some(seconds);
        self
    }
}

/// A client just created, with its first secret in plain text.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct CreatedOrganizationClient {
    /// The client.
    pub client: OrganizationClient,
    /// Its secret: shown this once.
    pub plain_secret: PlainSecret,
}

/// A secret just added to a client, in plain text.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct CreatedClientSecret {
    /// The secret as it will be listed.
    pub secret: ClientSecret,
    /// The secret: shown this once.
    pub plain_secret: PlainSecret,
}

/// The organization M2M client operations: `client.m2m()` (the SDK's
/// `client.m2m`).
#[derive(Debug, Clone, Copy)]
pub struct OrganizationClients<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn clients_path(organization_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations/{}/clients",
        segment(organization_id, "organization id")?
    ))
}

fn client_path(organization_id: &str, client_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "{}/{}",
        clients_path(organization_id)?,
        segment(client_id, "client id")?
    ))
}

impl OrganizationClients<'_> {
    /// Creates an M2M client of an organization (the SDK's
    /// `createOrganizationClient`); the answer holds its secret in plain
    /// text, the only time it is shown.
    pub async fn create_organization_client(
        &self,
        organization_id: &str,
        request: &OrganizationClientRequest,
    ) -> Result<CreatedOrganizationClient, ManagementError> {
        let path = clients_path(organization_id)?;
        let bytes = self
            .client
            .call_json(Method::POST, &path, &[], request)
            .await?;
        decode(&bytes)
    }

    /// An organization's M2M client (the SDK's `getOrganizationClient`).
    pub async fn get_organization_client(
        &self,
        organization_id: &str,
        client_id: &str,
    ) -> Result<OrganizationClient, ManagementError> {
        let path = client_path(organization_id, client_id)?;
        self.client.get_wrapped(&path, "client").await
    }

    /// One page of an organization's M2M clients (the SDK's
    /// `listOrganizationClients`).
    pub async fn list_organization_clients(
        &self,
        organization_id: &str,
        options: &PageOptions,
    ) -> Result<Page<OrganizationClient>, ManagementError> {
        let path = clients_path(organization_id)?;
        self.client
            .list_page(&path, "clients", options, Vec::new())
            .await
    }

    /// Every M2M client of an organization, page after page.
    pub fn list_organization_clients_stream(
        &self,
        organization_id: &str,
        options: PageOptions,
    ) -> impl Stream<Item = Result<OrganizationClient, ManagementError>> + Send + 'static {
        let organization_id = organization_id.to_owned();
        page_stream(self.client, options, move |client, options| {
            let organization_id = organization_id.clone();
            async move {
                client
                    .m2m()
                    .list_organization_clients(&organization_id, &options)
                    .await
            }
        })
    }

    /// Changes an organization's M2M client, the fields set in `change`
    /// (the SDK's `updateOrganizationClient`).
    pub async fn update_organization_client(
        &self,
        organization_id: &str,
        client_id: &str,
        change: &OrganizationClientRequest,
    ) -> Result<OrganizationClient, ManagementError> {
        let path = client_path(organization_id, client_id)?;
        self.client
            .send_wrapped(Method::PATCH, &path, change, "client")
            .await
    }

    /// Deletes an organization's M2M client (the SDK's
    /// `deleteOrganizationClient`): no token can be had with it any more.
    pub async fn delete_organization_client(
        &self,
        organization_id: &str,
        client_id: &str,
    ) -> Result<(), ManagementError> {
        let path = client_path(organization_id, client_id)?;
        self.client.call_empty(Method::DELETE, &path, &[]).await
    }

    /// Adds a secret to a client (the SDK's `addOrganizationClientSecret`;
    /// to rotate: add, hand over, remove the old one); the answer holds it
    /// in plain text, the only time it is shown.
    pub async fn add_organization_client_secret(
        &self,
        organization_id: &str,
        client_id: &str,
    ) -> Result<CreatedClientSecret, ManagementError> {
        let path = format!("{}/secrets", client_path(organization_id, client_id)?);
        let bytes = self.client.call(Method::POST, &path, &[], None).await?;
        decode(&bytes)
    }

    /// Removes a secret of a client (the SDK's
    /// `removeOrganizationClientSecret`): no token can be had with it any
    /// more.
    pub async fn remove_organization_client_secret(
        &self,
        organization_id: &str,
        client_id: &str,
        secret_id: &str,
    ) -> Result<(), ManagementError> {
        let path = format!(
            "{}/secrets/{}",
            client_path(organization_id, client_id)?,
            segment(secret_id, "secret id")?
        );
        self.client.call_empty(Method::DELETE, &path, &[]).await
    }
}

impl ManagementClient {
    /// The organization M2M client operations (the SDK's `client.m2m`).
    pub fn m2m(&self) -> OrganizationClients<'_> {
        OrganizationClients { client: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_client_is_read_and_its_secret_never_printed() {
        let created: CreatedOrganizationClient = serde_json::from_str(
            r#"{"client":{"client_id":"m2morg_1","organization_id":"org_1","name":"n",
                "expiry":"3600","scopes":["a"],"secrets":[{"id":"sec_1","secret_suffix":"abcd"}]},
                "plain_secret":"test_very_secret_value"}"#,
        )
        .unwrap();
        assert_eq!(created.client.expiry, Some(3600));
        assert_eq!(created.plain_secret.expose(), "test_very_secret_value");
        let printed = format!("{created:?}");
        assert!(!printed.contains("very_secret"), "{printed}");
    }
}
