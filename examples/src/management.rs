//! The management example: creates an organization, adds a user with a role,
//! makes an admin portal link and lists the organization's users; then a
//! permission and a role extending `member` with it, given to the user; then
//! an organization M2M client whose token calls the M2M example's API, all
//! through `scalekit-management`.

use futures_util::TryStreamExt;
use scalekit_core::oauth::ClientCredentialsCache;
use scalekit_core::{Scalekit, ScalekitConfig};
use scalekit_management::{
    CreateOrganizationRequest, CreatePermissionRequest, CreateRoleRequest, CreateUserRequest,
    ManagementClient, ManagementError, Organization, OrganizationClient, OrganizationClientRequest,
    PageOptions, PortalLink, Role, User,
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

/// The permission the roles-and-permissions part creates.
pub const PERMISSION: &str = "reports:export";
/// The role it creates, extending `member`.
pub const EXTENDED_ROLE: &str = "report-exporter";
/// The base role.
pub const BASE_ROLE: &str = "member";

/// What the roles-and-permissions part did.
#[derive(Debug)]
pub struct RolesReport {
    /// The role created (or found from an earlier run), extending
    /// [`BASE_ROLE`].
    pub role: Role,
    /// Its effective permissions: its own and `member`'s.
    pub effective: Vec<String>,
    /// The user's roles in the organization after the assignment.
    pub user_roles: Vec<String>,
}

/// Creates the [`PERMISSION`] permission and the [`EXTENDED_ROLE`] role
/// extending [`BASE_ROLE`] with it (both reused when an earlier run made
/// them), and gives that role to `user_id` in `organization_id`.
pub async fn roles_and_permissions(
    client: &ManagementClient,
    organization_id: &str,
    user_id: &str,
) -> Result<RolesReport, ManagementError> {
    let created = client
        .permissions()
        .create_permission(&CreatePermissionRequest::new(PERMISSION).description("Exports reports"))
        .await;
    match created {
        Ok(_) => {}
        // From an earlier run.
        Err(ManagementError::Api { status: 409, .. }) => {}
        Err(err) => return Err(err),
    }
    let role = match client
        .roles()
        .create_role(
            &CreateRoleRequest::new(EXTENDED_ROLE)
                .display_name("Report exporter")
                .extends(BASE_ROLE)
                .permission(PERMISSION),
        )
        .await
    {
        Ok(role) => role,
        Err(ManagementError::Api { status: 409, .. }) => {
            client.roles().get_role(EXTENDED_ROLE).await?
        }
        Err(err) => return Err(err),
    };
    let effective = client
        .permissions()
        .list_effective_role_permissions(EXTENDED_ROLE)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let user_roles = client
        .users()
        .assign_user_roles(organization_id, user_id, [EXTENDED_ROLE])
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    Ok(RolesReport {
        role,
        effective,
        user_roles,
    })
}

/// The scope the M2M part's client gets: the one the M2M example's
/// `GET /api/reports` requires.
pub const M2M_SCOPE: &str = "reports:read";

/// What the M2M part did.
#[derive(Debug)]
pub struct M2mReport {
    /// The organization client created.
    pub client: OrganizationClient,
    /// The M2M example's answer to `GET /api/reports` with the client's
    /// token.
    pub answer: serde_json::Value,
}

/// Creates an M2M client of `organization_id` for the M2M example's API
/// (scope [`M2M_SCOPE`], audience [`api_audience`](crate::axum_m2m::api_audience)), gets a
/// token with its plain secret as the customer would, and calls the
/// example's scope-guarded `GET /api/reports` (served here on a local
/// port) with it.
pub async fn organization_client_calls_the_m2m_example(
    client: &ManagementClient,
    config: &ScalekitConfig,
    organization_id: &str,
) -> Result<M2mReport, crate::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let app = crate::axum_m2m::app(&crate::axum_m2m::auth(config.clone(), &base_url)?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let created = client
        .m2m()
        .create_organization_client(
            organization_id,
            &OrganizationClientRequest::new("Reports export (example)")
                .scopes([M2M_SCOPE])
                .audience([crate::axum_m2m::api_audience(&base_url)]),
        )
        .await?;
    // The customer's side: the client id and the plain secret.
    let tokens = ClientCredentialsCache::new(Scalekit::new(config.clone())?).for_client(
        created.client.client_id.clone(),
        created.plain_secret.into_secret(),
    );
    let token = tokens.token().await?;
    let answer = reqwest::Client::new()
        .get(format!("{base_url}/api/reports"))
        .bearer_auth(token.as_ref())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    server.abort();
    Ok(M2mReport {
        client: created.client,
        answer,
    })
}
