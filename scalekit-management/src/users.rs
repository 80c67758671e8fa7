//! Users and their memberships: create (with a membership), get, list,
//! update, delete, an organization's users, and adding, changing, removing
//! and re-inviting members (the SDK's `client.user`).

use std::collections::BTreeMap;

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::client::{decode, decode_error, decode_wrapped, segment};
use crate::pagination::{Page, PageOptions, decode_page, page_stream};
use crate::{ManagementClient, ManagementError};
use crate::{Permission, Role};

/// A user of the environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct User {
    /// The platform's identifier (`usr_…`).
    pub id: String,
    /// The primary email address.
    pub email: String,
    /// Your own identifier for the user.
    pub external_id: Option<String>,
    /// Name and other profile data.
    pub user_profile: Option<UserProfile>,
    /// The organizations the user belongs to.
    pub memberships: Vec<Membership>,
    /// Your key-value pairs.
    pub metadata: BTreeMap<String, String>,
    /// When the user was created (RFC 3339).
    pub create_time: Option<String>,
    /// When the user was last changed (RFC 3339).
    pub update_time: Option<String>,
}

impl User {
    /// The membership of `organization_id`, if the user has one.
    pub fn membership(&self, organization_id: &str) -> Option<&Membership> {
        self.memberships
            .iter()
            .find(|m| m.organization_id == organization_id)
    }
}

/// A user's profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UserProfile {
    /// The profile's identifier.
    pub id: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Full name for display.
    pub name: Option<String>,
    /// BCP 47 locale.
    pub locale: Option<String>,
    /// Whether the email address is verified.
    pub email_verified: Option<bool>,
    /// E.164 phone number.
    pub phone_number: Option<String>,
    /// Your own profile attributes.
    pub custom_attributes: BTreeMap<String, String>,
}

/// A user's membership of an organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Membership {
    /// The organization.
    pub organization_id: String,
    /// The user, when the answer names it.
    pub user_id: Option<String>,
    /// The organization's name, when the answer carries it.
    pub display_name: Option<String>,
    /// The roles the user has in the organization.
    pub roles: Vec<RoleRef>,
    /// Invited or active.
    pub membership_status: MembershipStatus,
    /// When the user joined (RFC 3339).
    pub join_time: Option<String>,
    /// Your key-value pairs for the membership.
    pub metadata: BTreeMap<String, String>,
}

impl Membership {
    /// The names of the membership's roles.
    pub fn role_names(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|r| r.name.as_str())
    }
}

/// A role given to a member: its name, and its id and display name when
/// the answer carries them. Read from a bare name (`"admin"`) or an object
/// (`{"name": "admin", …}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RoleRef {
    /// The role's identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The role's name (`admin`, `member`, …).
    pub name: String,
    /// The role's name for display.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl<'de> Deserialize<'de> for RoleRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(default)]
        #[derive(Default)]
        struct Object {
            id: Option<String>,
            name: String,
            display_name: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Name(String),
            Object(Object),
        }
        Ok(match Either::deserialize(deserializer)? {
            Either::Name(name) => RoleRef {
                name,
                ..RoleRef::default()
            },
            Either::Object(o) => RoleRef {
                id: o.id,
                name: o.name,
                display_name: o.display_name,
            },
        })
    }
}

/// Where a membership stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum MembershipStatus {
    /// The user is a member.
    Active,
    /// The membership is suspended.
    Inactive,
    /// The user was invited and has not accepted yet.
    PendingInvite,
    /// A status this client does not know (or none was sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// A name-only role list as the platform takes it for a new user's
/// membership: `[{"name": "admin"}]`.
fn serialize_role_objects<S: serde::Serializer>(
    roles: &[String],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Named<'a> {
        name: &'a str,
    }
    serializer.collect_seq(roles.iter().map(|name| Named { name }))
}

/// A new user's profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateUserProfile {
    /// Given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Full name for display.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// BCP 47 locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// E.164 phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Your own profile attributes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_attributes: BTreeMap<String, String>,
}

/// The membership created with a new user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewMembership {
    /// The roles' names (sent as `[{"name": …}]`).
    #[serde(
        serialize_with = "serialize_role_objects",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub roles: Vec<String>,
    /// Your key-value pairs for the membership.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// A new user and their membership of an organization (the SDK's
/// `CreateUserRequest`).
///
/// ```
/// use scalekit_management::CreateUserRequest;
///
/// let request = CreateUserRequest::new("ada@example.com").name("Ada", "Lovelace").role("admin");
/// assert_eq!(
///     serde_json::to_value(&request).unwrap(),
///     serde_json::json!({
///         "email": "ada@example.com",
///         "user_profile": {"first_name": "Ada", "last_name": "Lovelace"},
///         "membership": {"roles": [{"name": "admin"}]}
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateUserRequest {
    /// The email address (required, unique in the environment).
    pub email: String,
    /// Your own identifier for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Name and other profile data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_profile: Option<CreateUserProfile>,
    /// Your key-value pairs for the user.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Roles and metadata of the membership.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership: Option<NewMembership>,
    /// Whether the platform emails an invitation (sent as the
    /// `send_invitation_email` query parameter).
    #[serde(skip)]
    pub send_invitation_email: Option<bool>,
}

impl CreateUserRequest {
    /// A user with this email address.
    pub fn new(email: impl Into<String>) -> Self {
        CreateUserRequest {
            email: email.into(),
            ..Default::default()
        }
    }

    /// Sets the given and family names.
    pub fn name(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        let profile = self.user_profile.get_or_insert_with(Default::default);
        profile.first_name = Some(first.into());
        profile.last_name = Some(last.into());
        self
    }

    /// Gives the user a role in the organization.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.membership
            .get_or_insert_with(Default::default)
            .roles
            .push(role.into());
        self
    }

    /// Sets your own identifier for the user.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Adds a metadata entry to the user.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Whether the platform emails an invitation.
    pub fn send_invitation_email(mut self, send: bool) -> Self {
        self.send_invitation_email = Some(send);
        self
    }
}

/// A user's profile changes; unset fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateUserProfile {
    /// Given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Full name for display.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// BCP 47 locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// E.164 phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Your own profile attributes (replace the old).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<BTreeMap<String, String>>,
}

/// The fields of a user to change (the SDK's `UpdateUserRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateUserRequest {
    /// A new external identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Profile changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_profile: Option<UpdateUserProfile>,
    /// New metadata (replaces the old).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Roles and metadata of a membership being added or changed.
///
/// ```
/// use scalekit_management::MembershipRequest;
///
/// let request = MembershipRequest::new().role("admin");
/// assert_eq!(serde_json::to_value(&request).unwrap(), serde_json::json!({"roles": ["admin"]}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MembershipRequest {
    /// The roles' names (on an update, they replace the old ones).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Your key-value pairs for the membership.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Whether the platform emails an invitation (on adding; sent as the
    /// `send_invitation_email` query parameter).
    #[serde(skip)]
    pub send_invitation_email: Option<bool>,
}

impl MembershipRequest {
    /// No role, no metadata.
    pub fn new() -> Self {
        MembershipRequest::default()
    }

    /// Adds a role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// The user operations, memberships and invitations included:
/// `client.users()`.
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn user_path(id: &str) -> Result<String, ManagementError> {
    Ok(format!("/api/v1/users/{}", segment(id, "user id")?))
}

fn membership_path(organization_id: &str, user_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/memberships/organizations/{}/users/{}",
        segment(organization_id, "organization id")?,
        segment(user_id, "user id")?
    ))
}

fn organization_users_path(organization_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations/{}/users",
        segment(organization_id, "organization id")?
    ))
}

/// A membership answer: a membership (bare or under `membership`), or the
/// user with their memberships (under `user`), whose membership of
/// `organization_id` is taken.
fn decode_membership(
    bytes: &[u8],
    organization_id: &str,
    user_id: &str,
) -> Result<Membership, ManagementError> {
    let value: Value = decode(bytes)?;
    let mut membership = match value.get("user") {
        Some(user @ Value::Object(_)) => {
            let user: User = serde_json::from_value(user.clone()).map_err(decode_error)?;
            user.membership(organization_id).cloned().ok_or_else(|| {
                ManagementError::Decode("the answer has no membership of the organization".into())
            })?
        }
        _ => {
            let inner = match value.get("membership") {
                Some(inner @ Value::Object(_)) => inner.clone(),
                _ => value,
            };
            serde_json::from_value(inner).map_err(decode_error)?
        }
    };
    if membership.organization_id.is_empty() {
        membership.organization_id = organization_id.to_owned();
    }
    if membership.user_id.is_none() {
        membership.user_id = Some(user_id.to_owned());
    }
    Ok(membership)
}

fn invitation_query(send: Option<bool>) -> Vec<(&'static str, String)> {
    send.map(|s| vec![("send_invitation_email", s.to_string())])
        .unwrap_or_default()
}

impl Users<'_> {
    /// Creates a user and their membership of `organization_id` (the SDK's
    /// `createUserAndMembership`).
    pub async fn create_user_and_membership(
        &self,
        organization_id: &str,
        request: &CreateUserRequest,
    ) -> Result<User, ManagementError> {
        let path = organization_users_path(organization_id)?;
        let query = invitation_query(request.send_invitation_email);
        let bytes = self
            .client
            .call_json(Method::POST, &path, &query, request)
            .await?;
        decode_wrapped(&bytes, "user")
    }

    /// A user by identifier (the SDK's `getUser`).
    pub async fn get_user(&self, user_id: &str) -> Result<User, ManagementError> {
        let bytes = self
            .client
            .call(Method::GET, &user_path(user_id)?, &[], None)
            .await?;
        decode_wrapped(&bytes, "user")
    }

    /// One page of the environment's users (the SDK's `listUsers`).
    pub async fn list_users(&self, options: &PageOptions) -> Result<Page<User>, ManagementError> {
        self.client
            .list_page("/api/v1/users", "users", options, Vec::new())
            .await
    }

    /// Every user of the environment, page after page.
    pub fn list_users_stream(
        &self,
        options: PageOptions,
    ) -> impl Stream<Item = Result<User, ManagementError>> + Send + 'static {
        page_stream(self.client, options, |client, options| async move {
            client.users().list_users(&options).await
        })
    }

    /// Changes a user (the SDK's `updateUser`).
    pub async fn update_user(
        &self,
        user_id: &str,
        request: &UpdateUserRequest,
    ) -> Result<User, ManagementError> {
        let bytes = self
            .client
            .call_json(Method::PATCH, &user_path(user_id)?, &[], request)
            .await?;
        decode_wrapped(&bytes, "user")
    }

    /// Deletes a user and their memberships (the SDK's `deleteUser`).
    pub async fn delete_user(&self, user_id: &str) -> Result<(), ManagementError> {
        self.client
            .call(Method::DELETE, &user_path(user_id)?, &[], None)
            .await?;
        Ok(())
    }

    /// One page of an organization's users (the SDK's
    /// `listOrganizationUsers`).
    pub async fn list_organization_users(
        &self,
        organization_id: &str,
        options: &PageOptions,
    ) -> Result<Page<User>, ManagementError> {
        let path = organization_users_path(organization_id)?;
        self.client
            .list_page(&path, "users", options, Vec::new())
            .await
    }

    /// Every user of an organization, page after page.
    pub fn list_organization_users_stream(
        &self,
        organization_id: &str,
        options: PageOptions,
    ) -> impl Stream<Item = Result<User, ManagementError>> + Send + 'static {
        let organization_id = organization_id.to_owned();
        page_stream(self.client, options, move |client, options| {
            let organization_id = organization_id.clone();
            async move {
                client
                    .users()
                    .list_organization_users(&organization_id, &options)
                    .await
            }
        })
    }

    /// Makes an existing user a member of `organization_id` (the SDK's
    /// `createMembership`).
    pub async fn create_membership(
        &self,
        organization_id: &str,
        user_id: &str,
        request: &MembershipRequest,
    ) -> Result<Membership, ManagementError> {
        let path = membership_path(organization_id, user_id)?;
        let query = invitation_query(request.send_invitation_email);
        let bytes = self
            .client
            .call_json(Method::POST, &path, &query, request)
            .await?;
        decode_membership(&bytes, organization_id, user_id)
    }

    /// Changes a member's roles or metadata (the SDK's `updateMembership`).
    pub async fn update_membership(
        &self,
        organization_id: &str,
        user_id: &str,
        request: &MembershipRequest,
    ) -> Result<Membership, ManagementError> {
        let path = membership_path(organization_id, user_id)?;
        let bytes = self
            .client
            .call_json(Method::PATCH, &path, &[], request)
            .await?;
        decode_membership(&bytes, organization_id, user_id)
    }

    /// Removes a user from an organization; the user stays (the SDK's
    /// `deleteMembership`).
    pub async fn delete_membership(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<(), ManagementError> {
        let path = membership_path(organization_id, user_id)?;
        self.client.call(Method::DELETE, &path, &[], None).await?;
        Ok(())
    }

    /// Sends a pending member's invitation again (the SDK's `resendInvite`).
    pub async fn resend_invite(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<Membership, ManagementError> {
        let path = format!(
            "/api/v1/invites/organizations/{}/users/{}/resend",
            segment(organization_id, "organization id")?,
            segment(user_id, "user id")?
        );
        let bytes = self
            .client
            .call_json(Method::PATCH, &path, &[], &serde_json::json!({}))
            .await?;
        decode_membership(&bytes, organization_id, user_id)
    }
}

fn user_external_path(external_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/users:external/{}",
        segment(external_id, "external id")?
    ))
}

fn member_path(organization_id: &str, user_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "{}/{}",
        organization_users_path(organization_id)?,
        segment(user_id, "user id")?
    ))
}

impl Users<'_> {
    /// A user by your own identifier for them.
    pub async fn get_user_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<User, ManagementError> {
        self.client
            .get_wrapped(&user_external_path(external_id)?, "user")
            .await
    }

    /// Changes a user found by your own identifier for them.
    pub async fn update_user_by_external_id(
        &self,
        external_id: &str,
        request: &UpdateUserRequest,
    ) -> Result<User, ManagementError> {
        self.client
            .send_wrapped(
                Method::PATCH,
                &user_external_path(external_id)?,
                request,
                "user",
            )
            .await
    }

    /// Deletes a user found by your own identifier for them.
    pub async fn delete_user_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<(), ManagementError> {
        self.client
            .call_empty(Method::DELETE, &user_external_path(external_id)?, &[])
            .await
    }

    /// One page of the users whose email, name or identifiers contain
    /// `query` (at least 3 characters).
    pub async fn search_users(
        &self,
        query: &str,
        options: &PageOptions,
    ) -> Result<Page<User>, ManagementError> {
        self.client
            .list_page(
                "/api/v1/users:search",
                "users",
                options,
                vec![("query", query.to_owned())],
            )
            .await
    }

    /// Every user matching `query`, page after page.
    pub fn search_users_stream(
        &self,
        query: &str,
        options: PageOptions,
    ) -> impl Stream<Item = Result<User, ManagementError>> + Send + 'static {
        let query = query.to_owned();
        page_stream(self.client, options, move |client, options| {
            let query = query.clone();
            async move { client.users().search_users(&query, &options).await }
        })
    }

    /// One page of an organization's members matching `query`.
    pub async fn search_organization_users(
        &self,
        organization_id: &str,
        query: &str,
        options: &PageOptions,
    ) -> Result<Page<User>, ManagementError> {
        let path = format!(
            "/api/v1/organizations/{}/users:search",
            segment(organization_id, "organization id")?
        );
        self.client
            .list_page(&path, "users", options, vec![("query", query.to_owned())])
            .await
    }

    /// The roles of a user's membership of an organization.
    pub async fn list_user_roles(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<Vec<Role>, ManagementError> {
        let path = format!("{}/roles", member_path(organization_id, user_id)?);
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "roles")?.items)
    }

    /// Gives a member of an organization more roles (by name, roles the
    /// organization sees); answers all their roles there.
    pub async fn assign_user_roles<I, S>(
        &self,
        organization_id: &str,
        user_id: &str,
        role_names: I,
    ) -> Result<Vec<Role>, ManagementError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: Vec<serde_json::Value> = role_names
            .into_iter()
            .map(|r| serde_json::json!({"role_name": r.into()}))
            .collect();
        if roles.is_empty() {
            return Err(ManagementError::InvalidArgument("role names"));
        }
        let path = format!("{}/roles", member_path(organization_id, user_id)?);
        let body = serde_json::json!({ "roles": roles });
        let bytes = self
            .client
            .call_json(Method::POST, &path, &[], &body)
            .await?;
        Ok(decode_page(&bytes, "roles")?.items)
    }

    /// Takes a role from a member of an organization.
    pub async fn remove_user_role(
        &self,
        organization_id: &str,
        user_id: &str,
        role_name: &str,
    ) -> Result<(), ManagementError> {
        let path = format!(
            "{}/roles/{}",
            member_path(organization_id, user_id)?,
            segment(role_name, "role name")?
        );
        self.client.call_empty(Method::DELETE, &path, &[]).await
    }

    /// The effective permissions a member of an organization has through
    /// their roles there.
    pub async fn list_user_permissions(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<Vec<Permission>, ManagementError> {
        let path = format!("{}/permissions", member_path(organization_id, user_id)?);
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        Ok(decode_page(&bytes, "permissions")?.items)
    }
}

impl ManagementClient {
    /// The user, membership and invitation operations.
    pub fn users(&self) -> Users<'_> {
        Users { client: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_names_or_objects() {
        let m: Membership = serde_json::from_str(
            r#"{"organization_id":"org_1","roles":["admin",{"id":"role_1","name":"member","display_name":"Member"}],
                "membership_status":"PENDING_INVITE"}"#,
        )
        .unwrap();
        assert_eq!(m.role_names().collect::<Vec<_>>(), ["admin", "member"]);
        assert_eq!(m.roles[1].id.as_deref(), Some("role_1"));
        assert_eq!(m.membership_status, MembershipStatus::PendingInvite);
        let odd: Membership = serde_json::from_str(r#"{"membership_status":"FROZEN"}"#).unwrap();
        assert_eq!(odd.membership_status, MembershipStatus::Unknown);
        assert!(serde_json::from_str::<Membership>(r#"{"roles":[3]}"#).is_err());
    }

    #[test]
    fn a_membership_answer_is_read_in_each_of_its_shapes() {
        let bare = decode_membership(
            br#"{"user_id":"usr_1","organization_id":"org_1","roles":["admin"],"membership_status":"ACTIVE"}"#,
            "org_1",
            "usr_1",
        )
        .unwrap();
        let wrapped =
            decode_membership(br#"{"membership":{"roles":["admin"]}}"#, "org_1", "usr_1").unwrap();
        let in_user = decode_membership(
            br#"{"user":{"id":"usr_1","memberships":[{"organization_id":"org_0"},{"organization_id":"org_1","roles":[{"name":"admin"}]}]}}"#,
            "org_1",
            "usr_1",
        )
        .unwrap();
        for m in [&bare, &wrapped, &in_user] {
            assert_eq!(m.organization_id, "org_1");
            assert_eq!(m.user_id.as_deref(), Some("usr_1"));
            assert_eq!(m.role_names().collect::<Vec<_>>(), ["admin"]);
        }
        assert!(matches!(
            decode_membership(br#"{"user":{"memberships":[]}}"#, "org_1", "usr_1"),
            Err(ManagementError::Decode(_))
        ));
    }

    #[test]
    fn a_user_request_and_its_invitation_flag() {
        let request = CreateUserRequest::new("a@b.c")
            .send_invitation_email(false)
            .metadata("k", "v")
            .external_id("e1");
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"email": "a@b.c", "external_id": "e1", "metadata": {"k": "v"}})
        );
        assert_eq!(
            invitation_query(request.send_invitation_email),
            [("send_invitation_email", "false".to_owned())]
        );
        assert!(invitation_query(None).is_empty());
    }
}
