//! Roles: the environment's and each organization's own, their base role
//! (`extends`), default roles and how many users hold them (the SDK's
//! `client.role`).
//!
//! A role grants its own permissions and every permission of the role it
//! `extends`, transitively; members get the effective set in their access
//! tokens' `permissions`. An organization sees the environment's roles and
//! its own.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::{decode, segment};
use crate::pagination::{count_of, decode_page};
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
    /// Whether an organization's creator gets it by default.
    pub default_creator: Option<bool>,
    /// The base role whose permissions it inherits (`None`: none).
    #[serde(deserialize_with = "non_empty")]
    pub extends: Option<String>,
    /// How many roles extend it.
    pub dependent_roles_count: Option<u32>,
    /// Whether it is an organization's own role (not the environment's).
    pub is_org_role: Option<bool>,
}

fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.is_empty()))
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

/// A new role (of the environment or of an organization).
///
/// ```
/// use scalekit_management::CreateRoleRequest;
///
/// let role = CreateRoleRequest::new("editor")
///     .display_name("Editor")
///     .extends("member")
///     .permission("docs:write");
/// assert_eq!(
///     serde_json::to_value(&role).unwrap(),
///     serde_json::json!({"name": "editor", "display_name": "Editor", "extends": "member",
///                        "permissions": ["docs:write"]})
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
    /// The base role whose permissions it inherits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
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

    /// Sets the base role whose permissions it inherits.
    pub fn extends(mut self, base_role: impl Into<String>) -> Self {
        self.extends = Some(base_role.into());
        self
    }

    /// Adds a permission.
    pub fn permission(mut self, permission: impl Into<String>) -> Self {
        self.permissions.push(permission.into());
        self
    }
}

/// The fields of a role to change; unset fields stay as they are.
///
/// ```
/// use scalekit_management::UpdateRoleRequest;
///
/// let change = UpdateRoleRequest::new().extends("viewer").permissions(["docs:read"]);
/// assert_eq!(
///     serde_json::to_value(&change).unwrap(),
///     serde_json::json!({"extends": "viewer", "permissions": ["docs:read"]})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateRoleRequest {
    /// A new display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A new description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A new base role (remove it with `delete_role_base`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// The role's own permissions, replacing the old.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

impl UpdateRoleRequest {
    /// No change yet.
    pub fn new() -> Self {
        UpdateRoleRequest::default()
    }

    /// Sets a new display name.
    pub fn display_name(mut self, display_name: impl Into<String>) -> Self {
        self.display_name = Some(display_name.into());
        self
    }

    /// Sets a new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets a new base role.
    pub fn extends(mut self, base_role: impl Into<String>) -> Self {
        self.extends = Some(base_role.into());
        self
    }

    /// Replaces the role's own permissions.
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = Some(permissions.into_iter().map(Into::into).collect());
        self
    }
}

/// The environment's default roles after a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DefaultRoles {
    /// The role new members get.
    pub default_member: Option<Role>,
    /// The role an organization's creator gets.
    pub default_creator: Option<Role>,
}

/// The role operations: `client.roles()`.
#[derive(Debug, Clone, Copy)]
pub struct Roles<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn roles_path() -> &'static str {
    "/api/v1/roles"
}

fn role_path(role_name: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/roles/{}",
        segment(role_name, "role name")?
    ))
}

fn organization_roles_path(organization_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations/{}/roles",
        segment(organization_id, "organization id")?
    ))
}

fn organization_role_path(
    organization_id: &str,
    role_name: &str,
) -> Result<String, ManagementError> {
    Ok(format!(
        "{}/{}",
        organization_roles_path(organization_id)?,
        segment(role_name, "role name")?
    ))
}

/// The `reassign_role_name` query of a delete.
fn reassign_query(reassign_role_name: Option<&str>) -> Vec<(&'static str, String)> {
    reassign_role_name
        .filter(|r| !r.is_empty())
        .map(|r| vec![("reassign_role_name", r.to_owned())])
        .unwrap_or_default()
}

/// A users-count answer (`{"count": "3"}`: an int64, a string in JSON).
fn decode_count(bytes: &[u8]) -> Result<u64, ManagementError> {
    let value: serde_json::Value = decode(bytes)?;
    count_of(value.get("count"))
        .or_else(|| value.as_object().filter(|m| m.is_empty()).map(|_| 0))
        .ok_or_else(|| ManagementError::Decode("the answer has no count".to_owned()))
}

impl Roles<'_> {
    /// Creates a role of the environment (the SDK's `createRole`).
    pub async fn create_role(&self, role: &CreateRoleRequest) -> Result<Role, ManagementError> {
        self.client
            .send_wrapped(Method::POST, roles_path(), role, "role")
            .await
    }

    /// A role of the environment by name (the SDK's `getRole`).
    pub async fn get_role(&self, role_name: &str) -> Result<Role, ManagementError> {
        self.client
            .get_wrapped(&role_path(role_name)?, "role")
            .await
    }

    /// The environment's roles (the SDK's `listRoles`).
    pub async fn list_roles(&self) -> Result<Vec<Role>, ManagementError> {
        let bytes = self
            .client
            .call(Method::GET, roles_path(), &[], None)
            .await?;
        Ok(decode_page(&bytes, "roles")?.items)
    }

    /// Changes a role of the environment (the SDK's `updateRole`); an
    /// `extends` that would make a cycle is refused.
    pub async fn update_role(
        &self,
        role_name: &str,
        change: &UpdateRoleRequest,
    ) -> Result<Role, ManagementError> {
        self.client
            .send_wrapped(Method::PUT, &role_path(role_name)?, change, "role")
            .await
    }

    /// Deletes a role of the environment (the SDK's `deleteRole`); its
    /// members get `reassign_role_name` instead (required while users hold
    /// the role). A role that another extends, or a default role, cannot be
    /// deleted.
    pub async fn delete_role(
        &self,
        role_name: &str,
        reassign_role_name: Option<&str>,
    ) -> Result<(), ManagementError> {
        self.client
            .call_empty(
                Method::DELETE,
                &role_path(role_name)?,
                &reassign_query(reassign_role_name),
            )
            .await
    }

    /// How many users hold a role of the environment (the SDK's
    /// `getRoleUsersCount`).
    pub async fn get_role_users_count(&self, role_name: &str) -> Result<u64, ManagementError> {
        let path = format!("{}/users:count", role_path(role_name)?);
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        decode_count(&bytes)
    }

    /// The roles that extend a role of the environment.
    pub async fn list_dependent_roles(
        &self,
        role_name: &str,
    ) -> Result<Vec<Role>, ManagementError> {
        let path = format!("{}/dependents", role_path(role_name)?);
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "roles")?.items)
    }

    /// Makes a role of the environment extend nothing.
    pub async fn delete_role_base(&self, role_name: &str) -> Result<(), ManagementError> {
        let path = format!("{}/base", role_path(role_name)?);
        self.client.call_empty(Method::DELETE, &path, &[]).await
    }

    /// Sets the environment's default member role and/or default creator
    /// role (by name).
    pub async fn update_default_roles(
        &self,
        default_member_role: Option<&str>,
        default_creator_role: Option<&str>,
    ) -> Result<DefaultRoles, ManagementError> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            default_member_role: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            default_creator_role: Option<&'a str>,
        }
        let body = Body {
            default_member_role,
            default_creator_role,
        };
        let bytes = self
            .client
            .call_json(Method::PATCH, "/api/v1/roles:set_defaults", &[], &body)
            .await?;
        decode(&bytes)
    }

    /// The roles available in an organization: the environment's and its
    /// own (the SDK's `listOrganizationRoles`).
    pub async fn list_organization_roles(
        &self,
        organization_id: &str,
    ) -> Result<Vec<Role>, ManagementError> {
        let path = organization_roles_path(organization_id)?;
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "roles")?.items)
    }

    /// Creates a role of an organization (the SDK's
    /// `createOrganizationRole`).
    pub async fn create_organization_role(
        &self,
        organization_id: &str,
        role: &CreateRoleRequest,
    ) -> Result<Role, ManagementError> {
        let path = organization_roles_path(organization_id)?;
        self.client
            .send_wrapped(Method::POST, &path, role, "role")
            .await
    }

    /// A role of an organization by name (the SDK's
    /// `getOrganizationRole`).
    pub async fn get_organization_role(
        &self,
        organization_id: &str,
        role_name: &str,
    ) -> Result<Role, ManagementError> {
        let path = organization_role_path(organization_id, role_name)?;
        self.client.get_wrapped(&path, "role").await
    }

    /// Changes a role of an organization (the SDK's
    /// `updateOrganizationRole`).
    pub async fn update_organization_role(
        &self,
        organization_id: &str,
        role_name: &str,
        change: &UpdateRoleRequest,
    ) -> Result<Role, ManagementError> {
        let path = organization_role_path(organization_id, role_name)?;
        self.client
            .send_wrapped(Method::PUT, &path, change, "role")
            .await
    }

    /// Deletes a role of an organization (the SDK's
    /// `deleteOrganizationRole`); its members get `reassign_role_name`
    /// instead (required while members hold the role).
    pub async fn delete_organization_role(
        &self,
        organization_id: &str,
        role_name: &str,
        reassign_role_name: Option<&str>,
    ) -> Result<(), ManagementError> {
        let path = organization_role_path(organization_id, role_name)?;
        self.client
            .call_empty(Method::DELETE, &path, &reassign_query(reassign_role_name))
            .await
    }

    /// How many members of an organization hold one of its roles (the
    /// SDK's `getOrganizationRoleUsersCount`).
    pub async fn get_organization_role_users_count(
        &self,
        organization_id: &str,
        role_name: &str,
    ) -> Result<u64, ManagementError> {
        let path = format!(
            "{}/users:count",
            organization_role_path(organization_id, role_name)?
        );
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        decode_count(&bytes)
    }

    /// Sets the role new members of an organization get (the SDK's
    /// `updateDefaultOrganizationRoles`); answers that role.
    pub async fn update_default_organization_roles(
        &self,
        organization_id: &str,
        default_member_role: &str,
    ) -> Result<Role, ManagementError> {
        let path = format!(
            "/api/v1/organizations/{}/roles:set_defaults",
            segment(organization_id, "organization id")?
        );
        let body = serde_json::json!({ "default_member_role": default_member_role });
        self.client
            .send_wrapped(Method::PATCH, &path, &body, "default_member")
            .await
    }

    /// Makes a role of an organization extend nothing (the SDK's
    /// `deleteOrganizationRoleBase`).
    pub async fn delete_organization_role_base(
        &self,
        organization_id: &str,
        role_name: &str,
    ) -> Result<(), ManagementError> {
        let path = format!(
            "{}/base",
            organization_role_path(organization_id, role_name)?
        );
        self.client.call_empty(Method::DELETE, &path, &[]).await
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
    use crate::client::decode_wrapped;

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
