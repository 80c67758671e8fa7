//! Permissions: the environment's, and those a role grants, its own and
//! effective (the SDK's `client.permission`).

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::segment;
use crate::pagination::{Page, PageOptions, decode_page, page_stream};
use crate::{ManagementClient, ManagementError};

/// A permission: a name (`docs:write`, …) that roles grant and access
/// tokens carry in `permissions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Permission {
    /// The platform's identifier.
    pub id: Option<String>,
    /// Its name.
    pub name: String,
    /// What it allows.
    pub description: Option<String>,
    /// Whether the platform defines it (not the environment).
    pub is_scalekit_permission: Option<bool>,
    /// When it was created (RFC 3339).
    pub create_time: Option<String>,
    /// When it was last changed (RFC 3339).
    pub update_time: Option<String>,
}

/// A new permission, or a permission's new description.
///
/// ```
/// use scalekit_management::CreatePermissionRequest;
///
/// let permission = CreatePermissionRequest::new("docs:write").description("Edits documents");
/// assert_eq!(
///     serde_json::to_value(&permission).unwrap(),
///     serde_json::json!({"name": "docs:write", "description": "Edits documents"})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreatePermissionRequest {
    /// Its name (required; unique in the environment).
    pub name: String,
    /// What it allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl CreatePermissionRequest {
    /// A permission named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        CreatePermissionRequest {
            name: name.into(),
            description: None,
        }
    }

    /// Sets what it allows.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The permission operations: `client.permissions()`.
#[derive(Debug, Clone, Copy)]
pub struct Permissions<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn permission_path(name: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/permissions/{}",
        segment(name, "permission name")?
    ))
}

fn role_permissions_path(role_name: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/roles/{}/permissions",
        segment(role_name, "role name")?
    ))
}

impl Permissions<'_> {
    /// Creates a permission (the SDK's `createPermission`).
    pub async fn create_permission(
        &self,
        permission: &CreatePermissionRequest,
    ) -> Result<Permission, ManagementError> {
        self.client
            .send_wrapped(
                Method::POST,
                "/api/v1/permissions",
                permission,
                "permission",
            )
            .await
    }

    /// A permission by name (the SDK's `getPermission`).
    pub async fn get_permission(&self, name: &str) -> Result<Permission, ManagementError> {
        self.client
            .get_wrapped(&permission_path(name)?, "permission")
            .await
    }

    /// One page of the environment's permissions (the SDK's
    /// `listPermissions`).
    pub async fn list_permissions(
        &self,
        options: &PageOptions,
    ) -> Result<Page<Permission>, ManagementError> {
        self.client
            .list_page("/api/v1/permissions", "permissions", options, Vec::new())
            .await
    }

    /// Every permission, page after page, as the stream is read.
    pub fn list_permissions_stream(
        &self,
        options: PageOptions,
    ) -> impl Stream<Item = Result<Permission, ManagementError>> + Send + 'static {
        page_stream(self.client, options, |client, options| async move {
            client.permissions().list_permissions(&options).await
        })
    }

    /// Changes a permission's description (the SDK's `updatePermission`);
    /// its name cannot change.
    pub async fn update_permission(
        &self,
        name: &str,
        permission: &CreatePermissionRequest,
    ) -> Result<Permission, ManagementError> {
        self.client
            .send_wrapped(
                Method::PUT,
                &permission_path(name)?,
                permission,
                "permission",
            )
            .await
    }

    /// Deletes a permission (the SDK's `deletePermission`); refused while a
    /// role grants it.
    pub async fn delete_permission(&self, name: &str) -> Result<(), ManagementError> {
        self.client
            .call_empty(Method::DELETE, &permission_path(name)?, &[])
            .await
    }

    /// The permissions a role of the environment grants itself, without
    /// those it inherits (the SDK's `listRolePermissions`).
    pub async fn list_role_permissions(
        &self,
        role_name: &str,
    ) -> Result<Vec<Permission>, ManagementError> {
        let path = role_permissions_path(role_name)?;
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "permissions")?.items)
    }

    /// Adds existing permissions to a role of the environment (the SDK's
    /// `addPermissionsToRole`); answers the role's own permissions.
    pub async fn add_permissions_to_role<I, S>(
        &self,
        role_name: &str,
        permission_names: I,
    ) -> Result<Vec<Permission>, ManagementError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = permission_names.into_iter().map(Into::into).collect();
        let body = serde_json::json!({"role_name": role_name, "permission_names": names});
        let path = role_permissions_path(role_name)?;
        let bytes = self
            .client
            .call_json(Method::POST, &path, &[], &body)
            .await?;
        Ok(decode_page(&bytes, "permissions")?.items)
    }

    /// Takes a permission from a role of the environment (the SDK's
    /// `removePermissionFromRole`).
    pub async fn remove_permission_from_role(
        &self,
        role_name: &str,
        permission_name: &str,
    ) -> Result<(), ManagementError> {
        let path = format!(
            "{}/{}",
            role_permissions_path(role_name)?,
            segment(permission_name, "permission name")?
        );
        self.client.call_empty(Method::DELETE, &path, &[]).await
    }

    /// Every permission a role of the environment grants: its own and its
    /// base roles', transitively (the SDK's `listEffectiveRolePermissions`).
    pub async fn list_effective_role_permissions(
        &self,
        role_name: &str,
    ) -> Result<Vec<Permission>, ManagementError> {
        let path = format!(
            "/api/v1/roles/{}/permissions:all",
            segment(role_name, "role name")?
        );
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "permissions")?.items)
    }
}

impl ManagementClient {
    /// The permission operations.
    pub fn permissions(&self) -> Permissions<'_> {
        Permissions { client: self }
    }
}
