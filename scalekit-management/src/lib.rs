//! A typed client for the Scalekit management API: organizations, users and
//! memberships, SSO connections, SCIM directories, roles and permissions,
//! organization M2M clients, domains, sessions, passkeys, custom
//! connections, passwordless email, connected accounts and tool execution.
//!
//! [`ManagementClient`] is built from a [`scalekit_core::Scalekit`] and
//! authenticates with the environment's client-credentials token (cached,
//! renewed shortly before it expires, fetched anew once after a `401`).
//! Operations are grouped and named as in the official SDKs
//! (`client.organizations().create_organization(…)` for the Node SDK's
//! `client.organization.createOrganization(…)`). Lists come a page at a time
//! ([`Page`]) or as a `Stream` over every page (`*_stream`). Busy answers
//! (`429`, `503`) and connection failures are retried under a
//! [`RetryPolicy`], never a call that may already have reached the platform
//! unless it is idempotent; failures are a typed [`ManagementError`] that
//! carries the platform's `code`, `message` and `details`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::TryStreamExt;
//! use scalekit_core::Scalekit;
//! use scalekit_management::{
//!     CreateOrganizationRequest, CreateUserRequest, ManagementClient, ManagementError, PageOptions,
//! };
//!
//! // SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID, SCALEKIT_CLIENT_SECRET
//! let client = ManagementClient::new(&Scalekit::from_env()?)?;
//!
//! let org = client
//!     .organizations()
//!     .create_organization(&CreateOrganizationRequest::new("Acme").external_id("cust_42"))
//!     .await?;
//! let user = client
//!     .users()
//!     .create_user_and_membership(&org.id, &CreateUserRequest::new("ada@acme.com").role("admin"))
//!     .await?;
//! let link = client.organizations().generate_portal_link(&org.id).await?;
//! println!("{} joined {}; admin portal: {}", user.email, org.display_name, link.location);
//!
//! // Every organization, however many pages.
//! let all: Vec<_> = client
//!     .organizations()
//!     .list_organizations_stream(PageOptions::new().page_size(100))
//!     .try_collect()
//!     .await?;
//! println!("{} organizations", all.len());
//!
//! match client.organizations().get_organization("org_missing").await {
//!     Err(ManagementError::Api { status: 404, code, message, .. }) => println!("{code}: {message}"),
//!     other => println!("{other:?}"),
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
mod client;
pub mod connected_accounts;
pub mod connections;
pub mod directories;
pub mod domains;
mod error;
pub mod organization_clients;
pub mod organizations;
mod pagination;
pub mod passwordless;
pub mod permissions;
mod retry;
pub mod roles;
pub mod sessions;
pub mod tools;
pub mod users;
pub mod webauthn;

pub use auth::{Auth, LoginUserDetails};
pub use client::{DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, ManagementClient};
pub use connected_accounts::{
    AuthorizationType, ConnectedAccount, ConnectedAccountRequest, ConnectedAccountStatus,
    ConnectedAccounts, ListConnectedAccountsOptions, MagicLink,
};
pub use connections::{
    Connection, ConnectionStatus, ConnectionType, Connections, ListConnectionsOptions,
    ToggleConnectionResponse,
};
pub use directories::{
    Directories, Directory, DirectoryGroup, DirectoryStatus, DirectoryUser,
    ListDirectoryMembersOptions, ToggleDirectoryResponse,
};
pub use domains::{CreateDomainRequest, Domain, DomainType, Domains, VerificationStatus};
pub use error::{ErrorDetail, ManagementError, TransportFailure};
pub use organization_clients::{
    ClientSecret, CreatedClientSecret, CreatedOrganizationClient, CustomClaim, OrganizationClient,
    OrganizationClientRequest, OrganizationClients, PlainSecret,
};
pub use organizations::{
    CreateOrganizationRequest, Organization, OrganizationFeature, OrganizationSettings,
    Organizations, PortalLink, UpdateOrganizationRequest, UserManagementSettings,
};
pub use pagination::{Page, PageOptions};
pub use passwordless::Passwordless;
pub use permissions::{CreatePermissionRequest, Permission, Permissions};
pub use retry::RetryPolicy;
pub use roles::{CreateRoleRequest, DefaultRoles, Role, Roles, UpdateRoleRequest};
pub use sessions::{RevokedSessions, Session, Sessions, UserSessionsOptions};
pub use tools::{ExecuteToolRequest, ExecuteToolResponse, Tools};
pub use users::{
    CreateUserProfile, CreateUserRequest, Membership, MembershipRequest, MembershipStatus,
    NewMembership, RoleRef, UpdateUserProfile, UpdateUserRequest, User, UserProfile, Users,
};
pub use webauthn::{
    AllAcceptedCredentialsOptions, DeletedCredential, UnknownCredentialOptions, WebAuthn,
    WebAuthnCredential, WebAuthnCredentials,
};
