//! Organizations: list, create, get, update, delete, settings and admin
//! portal links (the SDK's `client.organization`).

use std::collections::BTreeMap;

use futures_util::Stream;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{decode_wrapped, segment};
use crate::pagination::{Page, PageOptions, page_stream};
use crate::{ManagementClient, ManagementError};

/// An organization: one of your customers (a tenant).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Organization {
    /// The platform's identifier (`org_…`).
    pub id: String,
    /// Your own identifier for it.
    pub external_id: Option<String>,
    /// Its name.
    pub display_name: String,
    /// Where its data lives (`US`, …).
    pub region_code: Option<String>,
    /// Your key-value pairs.
    pub metadata: BTreeMap<String, String>,
    /// Its feature settings.
    pub settings: Option<OrganizationSettings>,
    /// When it was created (RFC 3339).
    pub create_time: Option<String>,
    /// When it was last changed (RFC 3339).
    pub update_time: Option<String>,
}

/// An organization's feature toggles (`sso`, `directory_sync`, …).
///
/// ```
/// use scalekit_management::OrganizationSettings;
///
/// let settings = OrganizationSettings::new().feature("sso", true).feature("directory_sync", false);
/// assert_eq!(settings.features.len(), 2);
/// assert!(settings.features[0].enabled);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationSettings {
    /// The features and whether each is on.
    pub features: Vec<OrganizationFeature>,
}

impl OrganizationSettings {
    /// No feature named.
    pub fn new() -> Self {
        OrganizationSettings::default()
    }

    /// Adds a feature toggle.
    pub fn feature(mut self, name: impl Into<String>, enabled: bool) -> Self {
        self.features.push(OrganizationFeature {
            name: name.into(),
            enabled,
        });
        self
    }
}

/// One feature toggle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationFeature {
    /// The feature (`sso`, `directory_sync`, …).
    pub name: String,
    /// Whether it is on.
    pub enabled: bool,
}

/// What a new organization is made of.
///
/// ```
/// use scalekit_management::CreateOrganizationRequest;
///
/// let request = CreateOrganizationRequest::new("Acme").external_id("cust_42").metadata("plan", "pro");
/// assert_eq!(
///     serde_json::to_value(&request).unwrap(),
///     serde_json::json!({"display_name": "Acme", "external_id": "cust_42", "metadata": {"plan": "pro"}})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateOrganizationRequest {
    /// Its name (required).
    pub display_name: String,
    /// Your own identifier for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Your key-value pairs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl CreateOrganizationRequest {
    /// An organization named `display_name`.
    pub fn new(display_name: impl Into<String>) -> Self {
        CreateOrganizationRequest {
            display_name: display_name.into(),
            ..Default::default()
        }
    }

    /// Sets your own identifier for it.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// The fields of an organization to change; unset fields stay as they are.
///
/// ```
/// use scalekit_management::UpdateOrganizationRequest;
///
/// let request = UpdateOrganizationRequest { display_name: Some("Acme Inc".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&request).unwrap(), serde_json::json!({"display_name": "Acme Inc"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateOrganizationRequest {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A new external identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// New metadata (replaces the old).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A single-use admin portal link, for an organization's administrator to
/// set up SSO and SCIM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PortalLink {
    /// The link's identifier, when the platform sends one.
    pub id: Option<String>,
    /// The URL to send the administrator to.
    pub location: String,
    /// When it stops working (RFC 3339).
    pub expire_time: Option<String>,
}

/// The organization operations: `client.organizations()`.
#[derive(Debug, Clone, Copy)]
pub struct Organizations<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn organization_path(id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations/{}",
        segment(id, "organization id")?
    ))
}

impl Organizations<'_> {
    /// One page of organizations (the SDK's `listOrganization`).
    pub async fn list_organizations(
        &self,
        options: &PageOptions,
    ) -> Result<Page<Organization>, ManagementError> {
        self.client
            .list_page(
                "/api/v1/organizations",
                "organizations",
                options,
                Vec::new(),
            )
            .await
    }

    /// Every organization, page after page (of `options.page_size`), as
    /// the stream is read.
    ///
    /// ```no_run
    /// # async fn demo(client: scalekit_management::ManagementClient) -> Result<(), scalekit_management::ManagementError> {
    /// use futures_util::TryStreamExt;
    /// use scalekit_management::PageOptions;
    ///
    /// let mut organizations = client.organizations().list_organizations_stream(PageOptions::new().page_size(50));
    /// while let Some(org) = organizations.try_next().await? {
    ///     println!("{} {}", org.id, org.display_name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_organizations_stream(
        &self,
        options: PageOptions,
    ) -> impl Stream<Item = Result<Organization, ManagementError>> + Send + 'static {
        page_stream(self.client, options, |client, options| async move {
            client.organizations().list_organizations(&options).await
        })
    }

    /// Creates an organization (the SDK's `createOrganization`).
    pub async fn create_organization(
        &self,
        request: &CreateOrganizationRequest,
    ) -> Result<Organization, ManagementError> {
        let bytes = self
            .client
            .call_json(Method::POST, "/api/v1/organizations", &[], request)
            .await?;
        decode_wrapped(&bytes, "organization")
    }

    /// An organization by its identifier (the SDK's `getOrganization`).
    pub async fn get_organization(&self, id: &str) -> Result<Organization, ManagementError> {
        let bytes = self
            .client
            .call(Method::GET, &organization_path(id)?, &[], None)
            .await?;
        decode_wrapped(&bytes, "organization")
    }

    /// Changes an organization (the SDK's `updateOrganization`).
    pub async fn update_organization(
        &self,
        id: &str,
        request: &UpdateOrganizationRequest,
    ) -> Result<Organization, ManagementError> {
        let bytes = self
            .client
            .call_json(Method::PATCH, &organization_path(id)?, &[], request)
            .await?;
        decode_wrapped(&bytes, "organization")
    }

    /// Deletes an organization (the SDK's `deleteOrganization`).
    pub async fn delete_organization(&self, id: &str) -> Result<(), ManagementError> {
        self.client
            .call(Method::DELETE, &organization_path(id)?, &[], None)
            .await?;
        Ok(())
    }

    /// Turns an organization's features on or off (the SDK's
    /// `updateOrganizationSettings`); answers the organization.
    pub async fn update_organization_settings(
        &self,
        id: &str,
        settings: &OrganizationSettings,
    ) -> Result<Organization, ManagementError> {
        let path = format!("{}/settings", organization_path(id)?);
        let bytes = self
            .client
            .call_json(Method::PATCH, &path, &[], settings)
            .await?;
        decode_wrapped(&bytes, "organization")
    }

    /// A new admin portal link for an organization (the SDK's
    /// `generatePortalLink`).
    pub async fn generate_portal_link(&self, id: &str) -> Result<PortalLink, ManagementError> {
        let path = format!("{}/portal_links", organization_path(id)?);
        let bytes = self.client.call(Method::PUT, &path, &[], None).await?;
        decode_wrapped(&bytes, "link")
    }
}

/// An organization's user-management settings.
///
/// ```
/// use scalekit_management::UserManagementSettings;
///
/// let settings = UserManagementSettings::new().max_allowed_users(50);
/// assert_eq!(
///     serde_json::to_value(&settings).unwrap(),
///     serde_json::json!({"max_allowed_users": 50})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UserManagementSettings {
    /// The most members the organization may have (`None`: no limit); a
    /// membership over it is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_allowed_users: Option<u32>,
}

impl UserManagementSettings {
    /// No setting.
    pub fn new() -> Self {
        UserManagementSettings::default()
    }

    /// Sets the most members the organization may have.
    pub fn max_allowed_users(mut self, max: u32) -> Self {
        self.max_allowed_users = Some(max);
        self
    }
}

fn external_path(external_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations:external/{}",
        segment(external_id, "external id")?
    ))
}

fn user_management_path(id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "{}/settings/usermanagement",
        organization_path(id)?
    ))
}

impl Organizations<'_> {
    /// An organization by your own identifier for it (the SDK's
    /// `getOrganizationByExternalId`).
    pub async fn get_organization_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Organization, ManagementError> {
        self.client
            .get_wrapped(&external_path(external_id)?, "organization")
            .await
    }

    /// Changes an organization found by your own identifier for it (the
    /// SDK's `updateOrganizationByExternalId`).
    pub async fn update_organization_by_external_id(
        &self,
        external_id: &str,
        request: &UpdateOrganizationRequest,
    ) -> Result<Organization, ManagementError> {
        self.client
            .send_wrapped(
                Method::PATCH,
                &external_path(external_id)?,
                request,
                "organization",
            )
            .await
    }

    /// One page of the organizations whose name or identifiers contain
    /// `query` (at least 3 characters).
    pub async fn search_organizations(
        &self,
        query: &str,
        options: &PageOptions,
    ) -> Result<Page<Organization>, ManagementError> {
        self.client
            .list_page(
                "/api/v1/organizations:search",
                "organizations",
                options,
                vec![("query", query.to_owned())],
            )
            .await
    }

    /// Every organization matching `query`, page after page.
    pub fn search_organizations_stream(
        &self,
        query: &str,
        options: PageOptions,
    ) -> impl Stream<Item = Result<Organization, ManagementError>> + Send + 'static {
        let query = query.to_owned();
        page_stream(self.client, options, move |client, options| {
            let query = query.clone();
            async move {
                client
                    .organizations()
                    .search_organizations(&query, &options)
                    .await
            }
        })
    }

    /// Sets an organization's user-management settings (the SDK's
    /// `upsertUserManagementSettings`); answers them.
    pub async fn upsert_user_management_settings(
        &self,
        id: &str,
        settings: &UserManagementSettings,
    ) -> Result<UserManagementSettings, ManagementError> {
        let body = serde_json::json!({ "settings": settings });
        self.client
            .send_wrapped(Method::PATCH, &user_management_path(id)?, &body, "settings")
            .await
    }

    /// An organization's user-management settings.
    pub async fn get_user_management_settings(
        &self,
        id: &str,
    ) -> Result<UserManagementSettings, ManagementError> {
        self.client
            .get_wrapped(&user_management_path(id)?, "settings")
            .await
    }
}

impl ManagementClient {
    /// The organization operations.
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations { client: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organization_is_read_leniently() {
        let org: Organization = serde_json::from_str(
            r#"{"id":"org_1","display_name":"Acme","metadata":{"a":"b"},
                "settings":{"features":[{"name":"sso","enabled":true}]},
                "create_time":"2025-01-01T00:00:00Z","something_new":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(org.id, "org_1");
        assert_eq!(org.metadata["a"], "b");
        assert_eq!(org.external_id, None);
        assert!(org.settings.unwrap().features[0].enabled);
        let empty: Organization = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Organization::default());
    }

    #[test]
    fn a_portal_link_is_read_bare_or_wrapped() {
        let bare: PortalLink = decode_wrapped(
            br#"{"location":"https://x/portal","expire_time":"t"}"#,
            "link",
        )
        .unwrap();
        let wrapped: PortalLink = decode_wrapped(
            br#"{"link":{"id":"lnk_1","location":"https://x/portal"}}"#,
            "link",
        )
        .unwrap();
        assert_eq!(bare.location, wrapped.location);
        assert_eq!(wrapped.id.as_deref(), Some("lnk_1"));
    }
}
