//! The management example: creates an organization, adds a user with a role,
//! makes an admin portal link and lists the organization's users, through
//! `scalekit-management`.

use futures_util::TryStreamExt;
use scalekit_management::{
    CreateOrganizationRequest, CreateUserRequest, ManagementClient, ManagementError, Organization,
    PageOptions, PortalLink, User,
};

/// The role the example gives its user (a role every environment has).
pub const ROLE: &str = "admin";

/// What the example did.
#[derive(Debug)]
pub struct Report {
    /// The organization it created.
    pub organization: Organization,
    /// The user it added to it.
    pub user: User,
    /// The admin portal link for the organization.
    pub portal_link: PortalLink,
    /// The organization's users, every page.
    pub members: Vec<User>,
}

/// Creates an organization named `name`, adds `email` to it with the
/// [`ROLE`] role, generates its admin portal link and lists its users.
pub async fn run(
    client: &ManagementClient,
    name: &str,
    email: &str,
) -> Result<Report, ManagementError> {
    let organization = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new(name).metadata("source", "example"))
        .await?;
    let user = client
        .users()
        .create_user_and_membership(
            &organization.id,
            &CreateUserRequest::new(email)
                .name("Ada", "Lovelace")
                .role(ROLE)
                .send_invitation_email(false),
        )
        .await?;
    let portal_link = client
        .organizations()
        .generate_portal_link(&organization.id)
        .await?;
    let members = client
        .users()
        .list_organization_users_stream(&organization.id, PageOptions::new().page_size(50))
        .try_collect()
        .await?;
    Ok(Report {
        organization,
        user,
        portal_link,
        members,
    })
}
