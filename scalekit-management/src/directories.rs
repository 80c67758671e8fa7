//! SCIM directories: list, get, and the users and groups they provisioned
//! (the SDK's `client.directory`).

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::{decode_wrapped, segment};
use crate::pagination::{Page, PageOptions, decode_page, page_request, page_stream};

page_request!(ListDirectoryMembersOptions);
use crate::{ManagementClient, ManagementError};

/// A SCIM directory of an organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Directory {
    /// The platform's identifier (`dir_…`).
    pub id: String,
    /// The organization it belongs to.
    pub organization_id: String,
    /// Its name.
    pub name: Option<String>,
    /// The protocol (`SCIM`).
    pub directory_type: Option<String>,
    /// The identity provider (`okta`, `AZURE_AD`, …).
    pub directory_provider: Option<String>,
    /// How far its setup has come.
    pub status: DirectoryStatus,
    /// Whether it is syncing.
    pub enabled: bool,
    /// When it last synced (RFC 3339).
    #[serde(alias = "last_synced_at")]
    pub last_sync_time: Option<String>,
    /// How many users it holds, when the platform says.
    pub total_users: Option<u64>,
    /// How many groups it holds, when the platform says.
    pub total_groups: Option<u64>,
    /// The other fields of the answer (endpoint, mappings, …).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// How far a directory's setup has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum DirectoryStatus {
    /// Being configured.
    #[serde(alias = "IN_PROGRESS")]
    Pending,
    /// Syncing.
    #[serde(alias = "COMPLETED")]
    Active,
    /// Switched off.
    Inactive,
    /// A status this client does not know (or none was sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// A user a directory provisioned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DirectoryUser {
    /// The platform's identifier.
    pub id: String,
    /// Primary email address.
    pub email: Option<String>,
    /// Every email address.
    pub emails: Vec<String>,
    /// User name at the identity provider.
    pub preferred_username: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Whether the account is active at the identity provider.
    pub active: Option<bool>,
    /// Roles mapped from the user's groups.
    pub roles: Vec<String>,
    /// The user's groups, when the platform includes them.
    pub groups: Vec<DirectoryGroup>,
    /// When it last changed (RFC 3339).
    pub updated_at: Option<String>,
    /// The full SCIM record, with `include_detail`.
    pub user_detail: Option<Value>,
}

/// A group a directory provisioned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DirectoryGroup {
    /// The platform's identifier.
    pub id: String,
    /// Its name.
    pub display_name: Option<String>,
    /// The identity provider's identifier for it.
    pub external_id: Option<String>,
    /// How many users it has, when the platform says.
    pub total_users: Option<u64>,
    /// When it last changed (RFC 3339).
    pub updated_at: Option<String>,
    /// The full SCIM record, with `include_detail`.
    pub group_detail: Option<Value>,
}

/// What enabling or disabling a directory answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ToggleDirectoryResponse {
    /// Whether the directory is now enabled.
    pub enabled: bool,
    /// Why it could not be changed, if the platform says.
    pub error_message: Option<String>,
}

/// Which directory users or groups to list, and which page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListDirectoryMembersOptions {
    /// Items per page.
    pub page_size: Option<u32>,
    /// The `next_page_token` of the page before.
    pub page_token: Option<String>,
    /// Include the full SCIM records.
    pub include_detail: Option<bool>,
    /// Users only: only the members of this group.
    pub directory_group_id: Option<String>,
    /// Only those changed after this time (RFC 3339).
    pub updated_after: Option<String>,
}

impl ListDirectoryMembersOptions {
    fn query(&self, users: bool) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        PageOptions {
            page_size: self.page_size,
            page_token: self.page_token.clone(),
        }
        .push_query(&mut query);
        if let Some(detail) = self.include_detail {
            query.push(("include_detail", detail.to_string()));
        }
        if users && let Some(group) = self.directory_group_id.as_deref().filter(|g| !g.is_empty()) {
            query.push(("directory_group_id", group.to_owned()));
        }
        if let Some(after) = self.updated_after.as_deref().filter(|a| !a.is_empty()) {
            query.push(("updated_after", after.to_owned()));
        }
        query
    }
}

/// The directory operations: `client.directories()`.
#[derive(Debug, Clone, Copy)]
pub struct Directories<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn directory_path(organization_id: &str, id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations/{}/directories/{}",
        segment(organization_id, "organization id")?,
        segment(id, "directory id")?
    ))
}

impl Directories<'_> {
    /// An organization's directories (the SDK's `listDirectories`).
    pub async fn list_directories(
        &self,
        organization_id: &str,
    ) -> Result<Vec<Directory>, ManagementError> {
        let path = format!(
            "/api/v1/organizations/{}/directories",
            segment(organization_id, "organization id")?
        );
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "directories")?.items)
    }

    /// A directory of an organization (the SDK's `getDirectory`).
    pub async fn get_directory(
        &self,
        organization_id: &str,
        directory_id: &str,
    ) -> Result<Directory, ManagementError> {
        let path = directory_path(organization_id, directory_id)?;
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        decode_wrapped(&bytes, "directory")
    }

    /// The organization's first directory, if it has one (the SDK's
    /// `getPrimaryDirectoryByOrganizationId`).
    pub async fn get_primary_directory_by_organization_id(
        &self,
        organization_id: &str,
    ) -> Result<Option<Directory>, ManagementError> {
        Ok(self
            .list_directories(organization_id)
            .await?
            .into_iter()
            .next())
    }

    /// Starts syncing a directory (the SDK's `enableDirectory`).
    pub async fn enable_directory(
        &self,
        organization_id: &str,
        directory_id: &str,
    ) -> Result<ToggleDirectoryResponse, ManagementError> {
        self.toggle(organization_id, directory_id, "enable").await
    }

    /// Stops syncing a directory; what it provisioned stays (the SDK's
    /// `disableDirectory`).
    pub async fn disable_directory(
        &self,
        organization_id: &str,
        directory_id: &str,
    ) -> Result<ToggleDirectoryResponse, ManagementError> {
        self.toggle(organization_id, directory_id, "disable").await
    }

    async fn toggle(
        &self,
        organization_id: &str,
        directory_id: &str,
        verb: &str,
    ) -> Result<ToggleDirectoryResponse, ManagementError> {
        let path = directory_path(organization_id, directory_id)?;
        self.client
            .toggle(&path, verb, "directory", |enabled| {
                ToggleDirectoryResponse {
                    enabled,
                    error_message: None,
                }
            })
            .await
    }

    /// One page of a directory's users (the SDK's `listDirectoryUsers`).
    pub async fn list_directory_users(
        &self,
        organization_id: &str,
        directory_id: &str,
        options: &ListDirectoryMembersOptions,
    ) -> Result<Page<DirectoryUser>, ManagementError> {
        let path = format!("{}/users", directory_path(organization_id, directory_id)?);
        let bytes = self
            .client
            .call(Method::GET, &path, &options.query(true), None)
            .await?;
        decode_page(&bytes, "users")
    }

    /// Every user of a directory, page after page.
    pub fn list_directory_users_stream(
        &self,
        organization_id: &str,
        directory_id: &str,
        options: ListDirectoryMembersOptions,
    ) -> impl Stream<Item = Result<DirectoryUser, ManagementError>> + Send + 'static {
        let ids = (organization_id.to_owned(), directory_id.to_owned());
        page_stream(self.client, options, move |client, options| {
            let ids = ids.clone();
            async move {
                client
                    .directories()
                    .list_directory_users(&ids.0, &ids.1, &options)
                    .await
            }
        })
    }

    /// One page of a directory's groups (the SDK's `listDirectoryGroups`).
    pub async fn list_directory_groups(
        &self,
        organization_id: &str,
        directory_id: &str,
        options: &ListDirectoryMembersOptions,
    ) -> Result<Page<DirectoryGroup>, ManagementError> {
        let path = format!("{}/groups", directory_path(organization_id, directory_id)?);
        let bytes = self
            .client
            .call(Method::GET, &path, &options.query(false), None)
            .await?;
        decode_page(&bytes, "groups")
    }

    /// Every group of a directory, page after page.
    pub fn list_directory_groups_stream(
        &self,
        organization_id: &str,
        directory_id: &str,
        options: ListDirectoryMembersOptions,
    ) -> impl Stream<Item = Result<DirectoryGroup, ManagementError>> + Send + 'static {
        let ids = (organization_id.to_owned(), directory_id.to_owned());
        page_stream(self.client, options, move |client, options| {
            let ids = ids.clone();
            async move {
                client
                    .directories()
                    .list_directory_groups(&ids.0, &ids.1, &options)
                    .await
            }
        })
    }
}

impl ManagementClient {
    /// The directory operations.
    pub fn directories(&self) -> Directories<'_> {
        Directories { client: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_options_become_query_parameters() {
        let options = ListDirectoryMembersOptions {
            page_size: Some(10),
            include_detail: Some(true),
            directory_group_id: Some("dirgroup_1".into()),
            updated_after: Some("2025-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        let users = options.query(true);
        assert!(users.contains(&("directory_group_id", "dirgroup_1".to_owned())));
        assert!(users.contains(&("include_detail", "true".to_owned())));
        assert!(users.contains(&("page_size", "10".to_owned())));
        let groups = options.query(false);
        assert!(!groups.iter().any(|(k, _)| *k == "directory_group_id"));
        assert_eq!(groups.len(), 3);
    }

    #[test]
    fn a_directory_is_read_with_either_sync_field_name() {
        let d: Directory = serde_json::from_str(
            r#"{"id":"dir_1","status":"ACTIVE","enabled":true,"last_synced_at":"t","total_users":3,"directory_endpoint":"https://x"}"#,
        )
        .unwrap();
        assert_eq!(d.status, DirectoryStatus::Active);
        assert_eq!(d.last_sync_time.as_deref(), Some("t"));
        assert_eq!(d.total_users, Some(3));
        assert_eq!(d.other["directory_endpoint"], "https://x");
    }
}
