//! Connected accounts of AI agents: list, create, update credentials and
//! authorization magic links (the SDK's `connected_accounts`).

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::decode_wrapped;
use crate::pagination::{Page, PageOptions, decode_page, page_request, page_stream};

page_request!(ListConnectedAccountsOptions);
use crate::{ManagementClient, ManagementError};

/// A third-party account (Gmail, Slack, …) an agent acts through on a
/// user's behalf.
///
/// Its `Debug` output leaves out `authorization_details`, which may hold
/// tokens.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ConnectedAccount {
    /// The platform's identifier.
    pub id: Option<String>,
    /// The connector (`gmail`, `slack`, …).
    pub connector: String,
    /// Whose account it is (your user's identifier or email).
    pub identifier: String,
    /// The provider behind the connector.
    pub provider: Option<String>,
    /// Whether it can be used.
    pub status: ConnectedAccountStatus,
    /// How it authenticates.
    pub authorization_type: AuthorizationType,
    /// The credentials, when the answer carries them.
    pub authorization_details: Option<Value>,
    /// When it was created (RFC 3339).
    pub create_time: Option<String>,
    /// When it was last changed (RFC 3339).
    pub updated_at: Option<String>,
}

impl std::fmt::Debug for ConnectedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectedAccount")
            .field("id", &self.id)
            .field("connector", &self.connector)
            .field("identifier", &self.identifier)
            .field("provider", &self.provider)
            .field("status", &self.status)
            .field("authorization_type", &self.authorization_type)
            .field(
                "authorization_details",
                &self.authorization_details.as_ref().map(|_| "***"),
            )
            .field("create_time", &self.create_time)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// Whether a connected account can be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ConnectedAccountStatus {
    /// Waiting for the user to authorize it.
    #[serde(alias = "PENDING_AUTH")]
    Pending,
    /// Usable.
    Active,
    /// Its authorization was withdrawn.
    Revoked,
    /// Its credentials expired.
    Expired,
    /// A status this client does not know (or none was sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// How a connected account authenticates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuthorizationType {
    /// OAuth 2.0 tokens.
    #[serde(rename = "OAUTH2", alias = "OAUTH")]
    OAuth2,
    /// An API key.
    #[serde(rename = "API_KEY")]
    ApiKey,
    /// A type this client does not know (or none was sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// A connected account to create, or whose credentials to replace.
///
/// Its `Debug` output leaves out `authorization_details`.
///
/// ```
/// use scalekit_management::ConnectedAccountRequest;
///
/// let request = ConnectedAccountRequest::new("gmail", "user_42")
///     .authorization_details(serde_json::json!({"oauth_token": {"access_token": "…"}}));
/// assert!(!format!("{request:?}").contains("access_token"));
/// ```
#[derive(Clone, Default, PartialEq, Serialize)]
pub struct ConnectedAccountRequest {
    /// The connector (required).
    pub connector: String,
    /// Whose account it is (required).
    pub identifier: String,
    /// The credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Map<String, Value>>,
}

impl std::fmt::Debug for ConnectedAccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectedAccountRequest")
            .field("connector", &self.connector)
            .field("identifier", &self.identifier)
            .field(
                "authorization_details",
                &self.authorization_details.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

impl ConnectedAccountRequest {
    /// The account of `identifier` at `connector`.
    pub fn new(connector: impl Into<String>, identifier: impl Into<String>) -> Self {
        ConnectedAccountRequest {
            connector: connector.into(),
            identifier: identifier.into(),
            authorization_details: None,
        }
    }

    /// Sets the credentials (a JSON object; anything else is ignored).
    pub fn authorization_details(mut self, details: Value) -> Self {
        if let Value::Object(map) = details {
            self.authorization_details = Some(map);
        }
        self
    }
}

/// Which connected accounts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListConnectedAccountsOptions {
    /// Only this connector's.
    pub connector: Option<String>,
    /// Only this identifier's.
    pub identifier: Option<String>,
    /// Only this organization's.
    pub organization_id: Option<String>,
    /// Only this user's.
    pub user_id: Option<String>,
    /// Items per page.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the page before.
    pub page_token: Option<String>,
}

/// A link for the user to authorize a connected account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MagicLink {
    /// The URL to send the user to.
    pub link: String,
    /// When it stops working (RFC 3339).
    #[serde(alias = "expiry")]
    pub expire_time: Option<String>,
}

/// The connected-account operations: `client.connected_accounts()`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectedAccounts<'a> {
    pub(crate) client: &'a ManagementClient,
}

const PATH: &str = "/api/v1/connected_accounts";

impl ConnectedAccounts<'_> {
    /// One page of connected accounts (the SDK's `list_connected_accounts`).
    pub async fn list_connected_accounts(
        &self,
        options: &ListConnectedAccountsOptions,
    ) -> Result<Page<ConnectedAccount>, ManagementError> {
        let mut query = Vec::new();
        for (name, value) in [
            ("connector", &options.connector),
            ("identifier", &options.identifier),
            ("organization_id", &options.organization_id),
            ("user_id", &options.user_id),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.push((name, value.to_owned()));
            }
        }
        PageOptions {
            page_size: options.page_size,
            page_token: options.page_token.clone(),
        }
        .push_query(&mut query);
        let bytes = self.client.call(Method::GET, PATH, &query, None).await?;
        decode_page(&bytes, "connected_accounts")
    }

    /// Every connected account `options` selects, page after page.
    pub fn list_connected_accounts_stream(
        &self,
        options: ListConnectedAccountsOptions,
    ) -> impl Stream<Item = Result<ConnectedAccount, ManagementError>> + Send + 'static {
        page_stream(self.client, options, |client, options| async move {
            client
                .connected_accounts()
                .list_connected_accounts(&options)
                .await
        })
    }

    /// Creates a connected account (the SDK's `create_connected_account`).
    pub async fn create_connected_account(
        &self,
        request: &ConnectedAccountRequest,
    ) -> Result<ConnectedAccount, ManagementError> {
        let bytes = self
            .client
            .call_json(Method::POST, PATH, &[], request)
            .await?;
        decode_wrapped(&bytes, "connected_account")
    }

    /// Replaces a connected account's credentials (the SDK's
    /// `update_connected_account`).
    pub async fn update_connected_account(
        &self,
        request: &ConnectedAccountRequest,
    ) -> Result<ConnectedAccount, ManagementError> {
        let bytes = self
            .client
            .call_json(Method::PUT, PATH, &[], request)
            .await?;
        decode_wrapped(&bytes, "connected_account")
    }

    /// A link for the user to authorize the account of `identifier` at
    /// `connector` (the SDK's `get_magic_link_for_connected_account`).
    pub async fn get_magic_link_for_connected_account(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<MagicLink, ManagementError> {
        let body = serde_json::json!({ "connector": connector, "identifier": identifier });
        let bytes = self
            .client
            .call_json(Method::POST, &format!("{PATH}/magic_link"), &[], &body)
            .await?;
        decode_wrapped(&bytes, "magic_link")
    }
}

impl ConnectedAccounts<'_> {
    /// Deletes the account `identifier` of `connector`, with its
    /// credentials.
    pub async fn delete_connected_account(
        &self,
        connector: &str,
        identifier: &str,
    ) -> Result<(), ManagementError> {
        if connector.trim().is_empty() || identifier.trim().is_empty() {
            return Err(ManagementError::InvalidArgument("connector and identifier"));
        }
        let body = serde_json::json!({ "connector": connector, "identifier": identifier });
        self.client
            .call_json(Method::POST, &format!("{PATH}:delete"), &[], &body)
            .await?;
        Ok(())
    }

    /// One page of the accounts whose identifier, connector or id contains
    /// `query` (at least 3 characters).
    pub async fn search_connected_accounts(
        &self,
        query: &str,
        options: &PageOptions,
    ) -> Result<Page<ConnectedAccount>, ManagementError> {
        self.client
            .list_page(
                &format!("{PATH}:search"),
                "connected_accounts",
                options,
                vec![("query", query.to_owned())],
            )
            .await
    }

    /// Every account matching `query`, page after page.
    pub fn search_connected_accounts_stream(
        &self,
        query: &str,
        options: PageOptions,
    ) -> impl Stream<Item = Result<ConnectedAccount, ManagementError>> + Send + 'static {
        let query = query.to_owned();
        page_stream(self.client, options, move |client, options| {
            let query = query.clone();
            async move {
                client
                    .connected_accounts()
                    .search_connected_accounts(&query, &options)
                    .await
            }
        })
    }
}

impl ManagementClient {
    /// The connected-account operations.
    pub fn connected_accounts(&self) -> ConnectedAccounts<'_> {
        ConnectedAccounts { client: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_out_of_debug_output() {
        let account: ConnectedAccount = serde_json::from_str(
            r#"{"connector":"gmail","identifier":"u","status":"ACTIVE","authorization_type":"OAUTH2",
                "authorization_details":{"oauth_token":{"access_token":"ya29.secret"}}}"#,
        )
        .unwrap();
        assert_eq!(account.status, ConnectedAccountStatus::Active);
        assert_eq!(account.authorization_type, AuthorizationType::OAuth2);
        let debug = format!("{account:?}");
        assert!(!debug.contains("ya29"), "{debug}");
        assert!(debug.contains("gmail"));
        let request = ConnectedAccountRequest::new("gmail", "u")
            .authorization_details(serde_json::json!({"static_auth": {"api_key": "k-secret"}}));
        assert!(!format!("{request:?}").contains("k-secret"));
        assert_eq!(
            serde_json::to_value(&request).unwrap()["authorization_details"]["static_auth"]["api_key"],
            "k-secret"
        );
        let ignored = ConnectedAccountRequest::new("a", "b").authorization_details(Value::Null);
        assert!(ignored.authorization_details.is_none());
    }

    #[test]
    fn unknown_statuses_and_a_magic_link_in_either_spelling() {
        let account: ConnectedAccount =
            serde_json::from_str(r#"{"status":"PAUSED","authorization_type":"BASIC"}"#).unwrap();
        assert_eq!(account.status, ConnectedAccountStatus::Unknown);
        assert_eq!(account.authorization_type, AuthorizationType::Unknown);
        let link: MagicLink = serde_json::from_str(r#"{"link":"https://x","expiry":"t"}"#).unwrap();
        assert_eq!(link.expire_time.as_deref(), Some("t"));
    }
}
