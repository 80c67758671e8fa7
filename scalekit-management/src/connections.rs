//! SSO connections: list (all, by organization, by domain), get, enable and
//! disable (the SDK's `client.connection`).

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{decode_wrapped, segment};
use crate::pagination::{Page, PageOptions, decode_page, page_request, page_stream};

page_request!(ListConnectionsOptions);
use crate::{ManagementClient, ManagementError};

/// An enterprise SSO connection (SAML or OIDC) of an organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Connection {
    /// The platform's identifier (`conn_…`).
    pub id: String,
    /// The organization it belongs to.
    pub organization_id: String,
    /// The identity provider (`OKTA`, `okta`, `AZURE_AD`, …).
    pub provider: Option<String>,
    /// The protocol.
    #[serde(rename = "type")]
    pub connection_type: ConnectionType,
    /// How far its setup has come.
    pub status: ConnectionStatus,
    /// Whether users can sign in through it.
    pub enabled: bool,
    /// The email domains routed to it.
    pub domains: Vec<String>,
    /// When it was created (RFC 3339).
    pub create_time: Option<String>,
    /// The other fields of the answer (protocol configuration, …).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A connection's protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConnectionType {
    /// SAML 2.0.
    #[serde(rename = "SSO_SAML", alias = "SAML")]
    Saml,
    /// OpenID Connect.
    #[serde(rename = "SSO_OIDC", alias = "OIDC")]
    Oidc,
    /// A type this client does not know (or none was sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// How far a connection's setup has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// Not configured yet.
    Draft,
    /// Being configured.
    #[serde(alias = "IN_PROGRESS")]
    Pending,
    /// Configured and usable.
    #[serde(alias = "COMPLETED")]
    Active,
    /// Switched off.
    Inactive,
    /// A status this client does not know (or none was sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// Which connections to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListConnectionsOptions {
    /// Only this organization's.
    pub organization_id: Option<String>,
    /// Only those routed from this email domain.
    pub domain: Option<String>,
    /// Items per page.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the page before.
    pub page_token: Option<String>,
}

/// What enabling or disabling a connection answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ToggleConnectionResponse {
    /// Whether the connection is now enabled.
    pub enabled: bool,
    /// Why it could not be changed, if the platform says.
    pub error_message: Option<String>,
}

/// The connection operations: `client.connections()`.
#[derive(Debug, Clone, Copy)]
pub struct Connections<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn connection_path(organization_id: &str, id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations/{}/connections/{}",
        segment(organization_id, "organization id")?,
        segment(id, "connection id")?
    ))
}

impl Connections<'_> {
    /// One page of the environment's connections, filtered by organization
    /// or domain (the SDK's `listConnections`).
    pub async fn list_connections(
        &self,
        options: &ListConnectionsOptions,
    ) -> Result<Page<Connection>, ManagementError> {
        let mut query = Vec::new();
        if let Some(org) = options.organization_id.as_deref().filter(|o| !o.is_empty()) {
            query.push(("organization_id", org.to_owned()));
        }
        if let Some(domain) = options.domain.as_deref().filter(|d| !d.is_empty()) {
            query.push(("domain", domain.to_owned()));
        }
        PageOptions {
            page_size: options.page_size,
            page_token: options.page_token.clone(),
        }
        .push_query(&mut query);
        let bytes = self
            .client
            .call(Method::GET, "/api/v1/connections", &query, None)
            .await?;
        decode_page(&bytes, "connections")
    }

    /// Every connection `options` selects, page after page.
    pub fn list_connections_stream(
        &self,
        options: ListConnectionsOptions,
    ) -> impl Stream<Item = Result<Connection, ManagementError>> + Send + 'static {
        page_stream(self.client, options, |client, options| async move {
            client.connections().list_connections(&options).await
        })
    }

    /// The connections routed from an email domain (the SDK's
    /// `listConnectionsByDomain`).
    pub async fn list_connections_by_domain(
        &self,
        domain: &str,
    ) -> Result<Page<Connection>, ManagementError> {
        if domain.trim().is_empty() {
            return Err(ManagementError::InvalidArgument("domain"));
        }
        self.list_connections(&ListConnectionsOptions {
            domain: Some(domain.to_owned()),
            ..Default::default()
        })
        .await
    }

    /// An organization's connections (the REST API's
    /// `listOrganizationConnections`; the SDK's `listConnections(organizationId)`).
    pub async fn list_organization_connections(
        &self,
        organization_id: &str,
    ) -> Result<Vec<Connection>, ManagementError> {
        let path = format!(
            "/api/v1/organizations/{}/connections",
            segment(organization_id, "organization id")?
        );
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "connections")?.items)
    }

    /// A connection of an organization (the SDK's `getConnection`).
    pub async fn get_connection(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<Connection, ManagementError> {
        let path = connection_path(organization_id, id)?;
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        decode_wrapped(&bytes, "connection")
    }

    /// Lets users sign in through a connection (the SDK's `enableConnection`).
    pub async fn enable_connection(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<ToggleConnectionResponse, ManagementError> {
        self.toggle(organization_id, id, "enable").await
    }

    /// Stops sign-ins through a connection (the SDK's `disableConnection`).
    pub async fn disable_connection(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<ToggleConnectionResponse, ManagementError> {
        self.toggle(organization_id, id, "disable").await
    }

    async fn toggle(
        &self,
        organization_id: &str,
        id: &str,
        verb: &str,
    ) -> Result<ToggleConnectionResponse, ManagementError> {
        let path = connection_path(organization_id, id)?;
        self.client
            .toggle(&path, verb, "connection", |enabled| {
                ToggleConnectionResponse {
                    enabled,
                    error_message: None,
                }
            })
            .await
    }
}

impl ManagementClient {
    /// The connection operations.
    pub fn connections(&self) -> Connections<'_> {
        Connections { client: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_keeps_unknown_fields_and_unknown_enum_values() {
        let c: Connection = serde_json::from_str(
            r#"{"id":"conn_1","organization_id":"org_1","type":"SAML","status":"COMPLETED","enabled":true,
                "saml_config":{"idp_entity_id":"x"}}"#,
        )
        .unwrap();
        assert_eq!(c.connection_type, ConnectionType::Saml);
        assert_eq!(c.status, ConnectionStatus::Active);
        assert_eq!(c.other["saml_config"]["idp_entity_id"], "x");
        let c: Connection =
            serde_json::from_str(r#"{"type":"PASSWORDLESS","status":"WEIRD"}"#).unwrap();
        assert_eq!(c.connection_type, ConnectionType::Unknown);
        assert_eq!(c.status, ConnectionStatus::Unknown);
        let c: Connection = serde_json::from_str(r#"{"type":"SSO_OIDC"}"#).unwrap();
        assert_eq!(c.connection_type, ConnectionType::Oidc);
    }

    #[test]
    fn a_toggle_answer_is_read_bare_or_as_the_connection() {
        let bare: ToggleConnectionResponse =
            decode_wrapped(br#"{"enabled":true}"#, "connection").unwrap();
        let wrapped: ToggleConnectionResponse = decode_wrapped(
            br#"{"connection":{"id":"conn_1","enabled":true}}"#,
            "connection",
        )
        .unwrap();
        assert!(bare.enabled && wrapped.enabled);
    }
}
