//! Organization roles: list and create (the SDK's `client.role`
//! `listOrganizationRoles` and `createOrganizationRole`).

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::{decode_wrapped, segment};
use crate::pagination::decode_page;
use crate::{ManagementClient, ManagementError};

/// A role: a name members are given, and the permissions it grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Role {
    /// The platform's identifier.
    pub id: Option<String>,
    /// The role's name (`admin`, …): what access tokens carry in `roles`.
    pub name: String,
    /// Its name for display.
    pub display_name: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// The permissions it grants (read from names or `{"name": …}` objects).
    #[serde(deserialize_with = "permission_names")]
    pub permissions: Vec<String>,
    /// Whether new members get it by default.
    pub default_member: Option<bool>,
}

fn permission_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Named {
        name: String,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Name(String),
        Named(Named),
    }
    let entries: Option<Vec<Either>> = Option::deserialize(deserializer)?;
    Ok(entries
        .unwrap_or_default()
        .into_iter()
        .map(|e| match e {
            Either::Name(name) => name,
            Either::Named(named) => named.name,
        })
        .collect())
}

/// A new role.
///
/// ```
/// use scalekit_management::CreateRoleRequest;
///
/// let role = CreateRoleRequest::new("editor").display_name("Editor").permission("docs:write");
/// assert_eq!(
///     serde_json::to_value(&role).unwrap(),
///     serde_json::json!({"name": "editor", "display_name": "Editor", "permissions": ["docs:write"]})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateRoleRequest {
    /// Its name (required; unique in the organization).
    pub name: String,
    /// Its name for display.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The permissions it grants.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
}

impl CreateRoleRequest {
    /// A role named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        CreateRoleRequest {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Sets its display name.
    pub fn display_name(mut self, display_name: impl Into<String>) -> Self {
        self.display_name = Some(display_name.into());
        self
    }

    /// Sets its description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a permission.
    pub fn permission(mut self, permission: impl Into<String>) -> Self {
        self.permissions.push(permission.into());
        self
    }
}

/// The role operations: `client.roles()`.
#[derive(Debug, Clone, Copy)]
pub struct Roles<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn organization_roles_path(organization_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations/{}/roles",
        segment(organization_id, "organization id")?
    ))
}

impl Roles<'_> {
    /// The roles available in an organization (the SDK's
    /// `listOrganizationRoles`).
    pub async fn list_organization_roles(
        &self,
        organization_id: &str,
    ) -> Result<Vec<Role>, ManagementError> {
        let path = organization_roles_path(organization_id)?;
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "roles")?.items)
    }

    /// Creates a role in an organization (the SDK's
    /// `createOrganizationRole`).
    pub async fn create_organization_role(
        &self,
        organization_id: &str,
        role: &CreateRoleRequest,
    ) -> Result<Role, ManagementError> {
        let path = organization_roles_path(organization_id)?;
        let bytes = self
            .client
            .call_json(Method::POST, &path, &[], role)
            .await?;
        decode_wrapped(&bytes, "role")
    }
}

impl ManagementClient {
    /// The role operations.
    pub fn roles(&self) -> Roles<'_> {
        Roles { client: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_read_as_names_or_objects() {
        let role: Role = serde_json::from_str(
            r#"{"name":"editor","permissions":["a:read",{"name":"a:write","description":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(role.permissions, ["a:read", "a:write"]);
        let role: Role = serde_json::from_str(r#"{"name":"viewer","permissions":null}"#).unwrap();
        assert!(role.permissions.is_empty());
        let role: Role = decode_wrapped(br#"{"role":{"name":"r"}}"#, "role").unwrap();
        assert_eq!(role.name, "r");
    }
}
