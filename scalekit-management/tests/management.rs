//! The management client against the emulator's management API: every
//! operation with its not-found and validation answers, pagination, the
//! transport's re-authentication and retries (proven by the emulator's
//! counters), and a user created through the API signing in with the role
//! it was given.

/// The sign-in flow through the emulator's hosted page, shared with the
/// core's integration tests.
#[allow(dead_code)]
#[path = "../../scalekit-core/tests/integration/common/flow.rs"]
mod flow;

use std::time::Duration;

use futures_util::TryStreamExt;
use scalekit_core::oauth::AuthorizationUrlOptions;
use scalekit_core::{AccessTokenClaims, Scalekit, ScalekitConfig};
use scalekit_emulator::{Emulator, EmulatorEndpoint, Fault};
use scalekit_management::{
    ConnectedAccountRequest, ConnectedAccountStatus, CreateDomainRequest,
    CreateOrganizationRequest, CreateRoleRequest, CreateUserRequest, DomainType,
    ExecuteToolRequest, ListConnectedAccountsOptions, ListConnectionsOptions,
    ListDirectoryMembersOptions, ManagementClient, ManagementError, MembershipRequest,
    MembershipStatus, OrganizationSettings, PageOptions, RetryPolicy, TransportFailure,
    UpdateOrganizationRequest, UpdateUserRequest, UserSessionsOptions,
};
use serde_json::json;

fn scalekit(emulator: &Emulator) -> Scalekit {
    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    Scalekit::new(config).unwrap()
}

/// A client with short waits between retries.
fn client(emulator: &Emulator) -> ManagementClient {
    ManagementClient::new(&scalekit(emulator))
        .unwrap()
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(5)
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(100)),
        )
        .timeout(Duration::from_secs(10))
}

async fn setup() -> (Emulator, ManagementClient) {
    let emulator = Emulator::start().await.expect("the emulator starts");
    let client = client(&emulator);
    (emulator, client)
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, ManagementError>) {
    match result {
        Err(ManagementError::Api {
            status: 404,
            code,
            details,
            ..
        }) => {
            assert_eq!(code, "NOT_FOUND");
            assert_eq!(details[0].error_code.as_deref(), Some("NOT_FOUND"));
        }
        other => panic!("expected 404 NOT_FOUND, got {other:?}"),
    }
}

/// A `400 INVALID_ARGUMENT` naming `field` in its details.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, ManagementError>, field: &str) {
    match result {
        Err(ManagementError::Api {
            status: 400,
            code,
            message,
            details,
        }) => {
            assert_eq!(code, "INVALID_ARGUMENT");
            assert!(!message.is_empty());
            let detail = &details[0];
            assert!(
                detail
                    .type_url
                    .as_deref()
                    .is_some_and(|t| t.ends_with("ErrorInfo")),
                "{detail:?}"
            );
            assert_eq!(detail.error_code.as_deref(), Some("INVALID_ARGUMENT"));
            assert_eq!(
                detail.fields["validation_error_info"]["field_violations"][0]["field"], field,
                "{detail:?}"
            );
        }
        other => panic!("expected 400 INVALID_ARGUMENT on {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn organizations_are_created_read_updated_configured_linked_and_deleted() {
    let (_emulator, client) = setup().await;
    let orgs = client.organizations();
    let created = orgs
        .create_organization(
            &CreateOrganizationRequest::new("Initech")
                .external_id("cust_7")
                .metadata("plan", "pro"),
        )
        .await
        .unwrap();
    assert!(created.id.starts_with("org_"), "{created:?}");
    assert_eq!(created.display_name, "Initech");
    assert_eq!(created.external_id.as_deref(), Some("cust_7"));
    assert_eq!(created.metadata["plan"], "pro");

    let read = orgs.get_organization(&created.id).await.unwrap();
    assert_eq!(read.id, created.id);
    assert_eq!(read.display_name, "Initech");

    let updated = orgs
        .update_organization(
            &created.id,
            &UpdateOrganizationRequest {
                display_name: Some("Initech Global".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.display_name, "Initech Global");
    assert_eq!(updated.external_id.as_deref(), Some("cust_7"));

    let configured = orgs
        .update_organization_settings(
            &created.id,
            &OrganizationSettings::new().feature("sso", true),
        )
        .await
        .unwrap();
    let features = configured.settings.unwrap().features;
    assert!(
        features.iter().any(|f| f.name == "sso" && f.enabled),
        "{features:?}"
    );

    let link = orgs.generate_portal_link(&created.id).await.unwrap();
    assert!(link.location.starts_with("http"), "{link:?}");
    assert!(link.expire_time.is_some());

    let page = orgs
        .list_organizations(&PageOptions::new().page_size(100))
        .await
        .unwrap();
    assert!(page.items.iter().any(|o| o.id == created.id));
    assert_eq!(page.total_size, Some(page.items.len() as u64));
    assert!(!page.has_next());

    orgs.delete_organization(&created.id).await.unwrap();
    assert_not_found(orgs.get_organization(&created.id).await);

    // Not found, for each operation on one organization.
    assert_not_found(orgs.get_organization("org_404").await);
    assert_not_found(
        orgs.update_organization("org_404", &UpdateOrganizationRequest::default())
            .await,
    );
    assert_not_found(orgs.delete_organization("org_404").await);
    assert_not_found(
        orgs.update_organization_settings("org_404", &OrganizationSettings::new())
            .await,
    );
    assert_not_found(orgs.generate_portal_link("org_404").await);

    // Validation.
    assert_invalid(
        orgs.create_organization(&CreateOrganizationRequest::new("   "))
            .await,
        "display_name",
    );
    let kept = orgs
        .create_organization(&CreateOrganizationRequest::new("Kept"))
        .await
        .unwrap();
    assert_invalid(
        orgs.update_organization(
            &kept.id,
            &UpdateOrganizationRequest {
                display_name: Some(String::new()),
                ..Default::default()
            },
        )
        .await,
        "display_name",
    );
    assert_invalid(
        orgs.list_organizations(&PageOptions::new().page_token("not a token"))
            .await,
        "page_token",
    );
    // An empty identifier is refused before any request.
    assert_eq!(
        orgs.get_organization("").await,
        Err(ManagementError::InvalidArgument("organization id"))
    );
}

#[tokio::test]
async fn listing_250_organizations_by_20_gives_each_exactly_once_by_page_and_by_stream() {
    let (emulator, client) = setup().await;
    let seeded = emulator.organizations().len();
    let mut created = std::collections::HashSet::new();
    for i in 0..250 - seeded {
        let org = client
            .organizations()
            .create_organization(&CreateOrganizationRequest::new(format!("Org {i}")))
            .await
            .unwrap();
        created.insert(org.id);
    }
    let mut expected: std::collections::HashSet<String> = created;
    expected.extend(emulator.organizations().into_iter().map(|o| o.id));
    assert_eq!(expected.len(), 250);

    // Page by page.
    let mut options = PageOptions::new().page_size(20);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = client
            .organizations()
            .list_organizations(&options)
            .await
            .unwrap();
        pages += 1;
        assert_eq!(page.total_size, Some(250));
        assert!(page.items.len() <= 20);
        seen.extend(page.items.iter().map(|o| o.id.clone()));
        match page.next_page(&options) {
            Some(next) => options = next,
            None => break,
        }
    }
    assert_eq!(pages, 13);
    assert_eq!(seen.len(), 250);
    assert_eq!(
        seen.iter()
            .cloned()
            .collect::<std::collections::HashSet<_>>(),
        expected
    );

    // As a stream.
    let before = emulator.request_count(EmulatorEndpoint::Management);
    let streamed: Vec<String> = client
        .organizations()
        .list_organizations_stream(PageOptions::new().page_size(20))
        .map_ok(|o| o.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, seen, "the stream walks the same pages in order");
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Management) - before,
        13
    );
}

#[tokio::test]
async fn connections_are_listed_read_enabled_and_disabled() {
    let (emulator, client) = setup().await;
    let acme = emulator.organizations()[0].clone();
    let connections = client.connections();

    let all = connections
        .list_connections(&ListConnectionsOptions::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), emulator.organizations().len());
    let streamed: Vec<_> = connections
        .list_connections_stream(ListConnectionsOptions {
            page_size: Some(1),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), all.items.len());

    let of_acme = connections
        .list_connections(&ListConnectionsOptions {
            organization_id: Some(acme.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(of_acme.items.len(), 1);
    assert_eq!(of_acme.items[0].id, acme.connection_id);
    let by_domain = connections
        .list_connections_by_domain(&acme.domain)
        .await
        .unwrap();
    assert_eq!(by_domain.items[0].organization_id, acme.id);
    let listed = connections
        .list_organization_connections(&acme.id)
        .await
        .unwrap();
    assert_eq!(listed[0].id, acme.connection_id);

    let connection = connections
        .get_connection(&acme.id, &acme.connection_id)
        .await
        .unwrap();
    assert_eq!(connection.id, acme.connection_id);
    assert_eq!(connection.organization_id, acme.id);

    let off = connections
        .disable_connection(&acme.id, &acme.connection_id)
        .await
        .unwrap();
    assert!(!off.enabled);
    assert!(!emulator.connection_enabled(&acme.connection_id));
    let on = connections
        .enable_connection(&acme.id, &acme.connection_id)
        .await
        .unwrap();
    assert!(on.enabled);
    assert!(emulator.connection_enabled(&acme.connection_id));

    assert_not_found(connections.get_connection(&acme.id, "conn_404").await);
    assert_not_found(
        connections
            .get_connection("org_404", &acme.connection_id)
            .await,
    );
    assert_not_found(connections.enable_connection(&acme.id, "conn_404").await);
    assert_not_found(connections.disable_connection(&acme.id, "conn_404").await);
    assert_not_found(connections.list_organization_connections("org_404").await);
    assert_invalid(
        connections
            .list_connections(&ListConnectionsOptions {
                page_token: Some("bogus".into()),
                ..Default::default()
            })
            .await,
        "page_token",
    );
}

#[tokio::test]
async fn directories_are_listed_and_read_with_their_users_and_groups() {
    let (emulator, client) = setup().await;
    let acme = emulator.organizations()[0].clone();
    let directory = emulator
        .directories()
        .into_iter()
        .find(|d| d.organization_id == acme.id)
        .unwrap();
    let scim = reqwest::Client::new();
    for i in 0..3 {
        let response = scim
            .post(format!("{}/Users", directory.endpoint))
            .bearer_auth(&directory.bearer_token)
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("user{i}@acme.example"),
                "name": {"givenName": "User", "familyName": format!("{i}")},
                "emails": [{"value": format!("user{i}@acme.example"), "primary": true}]
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let response = scim
        .post(format!("{}/Groups", directory.endpoint))
        .bearer_auth(&directory.bearer_token)
        .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let directories = client.directories();
    let listed = directories.list_directories(&acme.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, directory.id);
    assert_eq!(listed[0].total_users, Some(3));
    let primary = directories
        .get_primary_directory_by_organization_id(&acme.id)
        .await
        .unwrap();
    assert_eq!(primary.map(|d| d.id), Some(directory.id.clone()));
    let read = directories
        .get_directory(&acme.id, &directory.id)
        .await
        .unwrap();
    assert_eq!(read.id, directory.id);
    assert_eq!(read.directory_type.as_deref(), Some("SCIM"));

    let options = ListDirectoryMembersOptions {
        page_size: Some(2),
        ..Default::default()
    };
    let first = directories
        .list_directory_users(&acme.id, &directory.id, &options)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.total_size, Some(3));
    assert!(first.has_next());
    let users: Vec<_> = directories
        .list_directory_users_stream(&acme.id, &directory.id, options.clone())
        .try_collect()
        .await
        .unwrap();
    let mut emails: Vec<_> = users.iter().filter_map(|u| u.email.clone()).collect();
    emails.sort();
    assert_eq!(
        emails,
        [
            "user0@acme.example",
            "user1@acme.example",
            "user2@acme.example"
        ]
    );
    let groups = directories
        .list_directory_groups(
            &acme.id,
            &directory.id,
            &ListDirectoryMembersOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(groups.items.len(), 1);
    assert_eq!(groups.items[0].display_name.as_deref(), Some("Engineering"));
    let streamed: Vec<_> = directories
        .list_directory_groups_stream(&acme.id, &directory.id, Default::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, groups.items);

    let off = directories
        .disable_directory(&acme.id, &directory.id)
        .await
        .unwrap();
    assert!(!off.enabled);
    assert!(
        !directories
            .get_directory(&acme.id, &directory.id)
            .await
            .unwrap()
            .enabled
    );
    let on = directories
        .enable_directory(&acme.id, &directory.id)
        .await
        .unwrap();
    assert!(on.enabled);
    assert!(
        emulator
            .directories()
            .iter()
            .any(|d| d.id == directory.id && d.enabled)
    );

    assert_not_found(directories.get_directory(&acme.id, "dir_404").await);
    assert_not_found(directories.enable_directory(&acme.id, "dir_404").await);
    assert_not_found(
        directories
            .disable_directory("org_404", &directory.id)
            .await,
    );
    assert_not_found(directories.list_directories("org_404").await);
    assert_not_found(
        directories
            .list_directory_users(&acme.id, "dir_404", &Default::default())
            .await,
    );
    assert_not_found(
        directories
            .list_directory_groups(&acme.id, "dir_404", &Default::default())
            .await,
    );
    assert_invalid(
        directories
            .list_directory_users(
                &acme.id,
                &directory.id,
                &ListDirectoryMembersOptions {
                    page_token: Some("bogus".into()),
                    ..Default::default()
                },
            )
            .await,
        "page_token",
    );
}

#[tokio::test]
async fn users_are_created_with_a_membership_read_listed_updated_and_deleted() {
    let (_emulator, client) = setup().await;
    let org = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Hooli"))
        .await
        .unwrap();
    let users = client.users();
    let created = users
        .create_user_and_membership(
            &org.id,
            &CreateUserRequest::new("gavin@hooli.example")
                .name("Gavin", "Belson")
                .role("admin")
                .external_id("emp_1")
                .metadata("team", "exec"),
        )
        .await
        .unwrap();
    assert!(created.id.starts_with("usr_"), "{created:?}");
    assert_eq!(created.email, "gavin@hooli.example");
    let membership = created.membership(&org.id).unwrap();
    assert_eq!(membership.role_names().collect::<Vec<_>>(), ["admin"]);
    assert_eq!(membership.membership_status, MembershipStatus::Active);
    let profile = created.user_profile.clone().unwrap();
    assert_eq!(profile.first_name.as_deref(), Some("Gavin"));

    let read = users.get_user(&created.id).await.unwrap();
    assert_eq!(read.id, created.id);
    assert_eq!(read.external_id.as_deref(), Some("emp_1"));

    let in_org = users
        .list_organization_users(&org.id, &PageOptions::new())
        .await
        .unwrap();
    assert_eq!(in_org.items.len(), 1);
    assert_eq!(in_org.items[0].id, created.id);
    let streamed: Vec<_> = users
        .list_organization_users_stream(&org.id, PageOptions::new().page_size(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 1);
    let everyone: Vec<_> = users
        .list_users_stream(PageOptions::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert!(everyone.iter().any(|u| u.id == created.id));
    let first_page = users
        .list_users(&PageOptions::new().page_size(2))
        .await
        .unwrap();
    assert_eq!(first_page.total_size, Some(everyone.len() as u64));

    let updated = users
        .update_user(
            &created.id,
            &UpdateUserRequest {
                user_profile: Some(scalekit_management::UpdateUserProfile {
                    last_name: Some("Belson-Hooli".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.user_profile.unwrap().last_name.as_deref(),
        Some("Belson-Hooli")
    );

    users.delete_user(&created.id).await.unwrap();
    assert_not_found(users.get_user(&created.id).await);

    assert_not_found(users.get_user("usr_404").await);
    assert_not_found(
        users
            .update_user("usr_404", &UpdateUserRequest::default())
            .await,
    );
    assert_not_found(users.delete_user("usr_404").await);
    assert_not_found(
        users
            .create_user_and_membership("org_404", &CreateUserRequest::new("a@b.example"))
            .await,
    );
    assert_not_found(
        users
            .list_organization_users("org_404", &PageOptions::new())
            .await,
    );
    assert_invalid(
        users
            .create_user_and_membership(&org.id, &CreateUserRequest::new("not-an-email"))
            .await,
        "email",
    );
    assert_invalid(
        users
            .create_user_and_membership(&org.id, &CreateUserRequest::new("x@y.example").role(" "))
            .await,
        "membership.roles[0]",
    );
    assert_invalid(
        users
            .list_users(&PageOptions::new().page_token("bogus"))
            .await,
        "page_token",
    );
}

#[tokio::test]
async fn memberships_are_added_updated_reinvited_and_removed() {
    let (_emulator, client) = setup().await;
    let orgs = client.organizations();
    let home = orgs
        .create_organization(&CreateOrganizationRequest::new("Pied Piper"))
        .await
        .unwrap();
    let other = orgs
        .create_organization(&CreateOrganizationRequest::new("Raviga"))
        .await
        .unwrap();
    let users = client.users();
    let user = users
        .create_user_and_membership(&home.id, &CreateUserRequest::new("jared@piedpiper.example"))
        .await
        .unwrap();

    let added = users
        .create_membership(
            &other.id,
            &user.id,
            &MembershipRequest {
                send_invitation_email: Some(true),
                ..MembershipRequest::new().role("member")
            },
        )
        .await
        .unwrap();
    assert_eq!(added.organization_id, other.id);
    assert_eq!(added.user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(added.role_names().collect::<Vec<_>>(), ["member"]);
    assert_eq!(added.membership_status, MembershipStatus::PendingInvite);

    let resent = users.resend_invite(&other.id, &user.id).await.unwrap();
    assert_eq!(resent.organization_id, other.id);
    assert_eq!(resent.membership_status, MembershipStatus::PendingInvite);

    let changed = users
        .update_membership(&other.id, &user.id, &MembershipRequest::new().role("admin"))
        .await
        .unwrap();
    assert_eq!(changed.role_names().collect::<Vec<_>>(), ["admin"]);
    let read = users.get_user(&user.id).await.unwrap();
    assert_eq!(read.memberships.len(), 2);
    assert_eq!(
        read.membership(&other.id)
            .unwrap()
            .role_names()
            .collect::<Vec<_>>(),
        ["admin"]
    );

    users.delete_membership(&other.id, &user.id).await.unwrap();
    let read = users.get_user(&user.id).await.unwrap();
    assert!(read.membership(&other.id).is_none());
    assert!(read.membership(&home.id).is_some());

    assert_not_found(users.delete_membership(&other.id, &user.id).await);
    assert_not_found(
        users
            .update_membership(&other.id, &user.id, &MembershipRequest::new().role("admin"))
            .await,
    );
    assert_not_found(users.resend_invite(&other.id, &user.id).await);
    assert_not_found(
        users
            .create_membership("org_404", &user.id, &MembershipRequest::new())
            .await,
    );
    assert_not_found(
        users
            .create_membership(&other.id, "usr_404", &MembershipRequest::new())
            .await,
    );
    assert_invalid(
        users
            .create_membership(&other.id, &user.id, &MembershipRequest::new().role(""))
            .await,
        "roles[0]",
    );
}

#[tokio::test]
async fn organization_roles_are_listed_and_created() {
    let (_emulator, client) = setup().await;
    let org = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Aviato"))
        .await
        .unwrap();
    let roles = client.roles();
    let before = roles.list_organization_roles(&org.id).await.unwrap();
    let role = roles
        .create_organization_role(
            &org.id,
            &CreateRoleRequest::new("editor")
                .display_name("Editor")
                .description("Edits documents")
                .permission("docs:write"),
        )
        .await
        .unwrap();
    assert_eq!(role.name, "editor");
    assert_eq!(role.display_name.as_deref(), Some("Editor"));
    assert_eq!(role.permissions, ["docs:write"]);
    let after = roles.list_organization_roles(&org.id).await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.iter().any(|r| r.name == "editor"));

    assert_not_found(roles.list_organization_roles("org_404").await);
    assert_not_found(
        roles
            .create_organization_role("org_404", &CreateRoleRequest::new("x"))
            .await,
    );
    assert_invalid(
        roles
            .create_organization_role(&org.id, &CreateRoleRequest::new(""))
            .await,
        "name",
    );
}

#[tokio::test]
async fn domains_are_created_read_listed_and_deleted() {
    let (_emulator, client) = setup().await;
    let org = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Bachmanity"))
        .await
        .unwrap();
    let domains = client.domains();
    let created = domains
        .create_domain(
            &org.id,
            &CreateDomainRequest::new("bachmanity.example")
                .domain_type(DomainType::OrganizationDomain),
        )
        .await
        .unwrap();
    assert_eq!(created.domain, "bachmanity.example");
    assert_eq!(created.organization_id, org.id);
    assert_eq!(created.domain_type, DomainType::OrganizationDomain);
    domains
        .create_domain(
            &org.id,
            &CreateDomainRequest::new("mail.example").domain_type(DomainType::AllowedEmailDomain),
        )
        .await
        .unwrap();

    let read = domains.get_domain(&org.id, &created.id).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(domains.list_domains(&org.id, None).await.unwrap().len(), 2);
    let allowed = domains
        .list_domains(&org.id, Some(DomainType::AllowedEmailDomain))
        .await
        .unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0].domain, "mail.example");

    domains.delete_domain(&org.id, &created.id).await.unwrap();
    assert_not_found(domains.get_domain(&org.id, &created.id).await);
    assert_not_found(domains.delete_domain(&org.id, &created.id).await);
    assert_not_found(domains.list_domains("org_404", None).await);
    assert_not_found(
        domains
            .create_domain("org_404", &CreateDomainRequest::new("a.example"))
            .await,
    );
    assert_invalid(
        domains
            .create_domain(&org.id, &CreateDomainRequest::new("not a domain"))
            .await,
        "domain",
    );
}

#[tokio::test]
async fn connected_accounts_are_created_listed_authorized_and_run_tools() {
    let (_emulator, client) = setup().await;
    let accounts = client.connected_accounts();
    let created = accounts
        .create_connected_account(&ConnectedAccountRequest::new("gmail", "user_42"))
        .await
        .unwrap();
    assert_eq!(created.connector, "gmail");
    assert_eq!(created.identifier, "user_42");
    assert_eq!(created.status, ConnectedAccountStatus::Pending);
    accounts
        .create_connected_account(&ConnectedAccountRequest::new("slack", "user_42"))
        .await
        .unwrap();

    let page = accounts
        .list_connected_accounts(&ListConnectedAccountsOptions {
            connector: Some("gmail".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let all: Vec<_> = accounts
        .list_connected_accounts_stream(ListConnectedAccountsOptions {
            page_size: Some(1),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);

    let link = accounts
        .get_magic_link_for_connected_account("gmail", "user_42")
        .await
        .unwrap();
    assert!(link.link.starts_with("http"), "{link:?}");

    // Not authorized yet: the tool cannot run.
    let tools = client.tools();
    let run = ExecuteToolRequest::new("gmail_fetch_mails", "user_42")
        .connection_name("gmail")
        .input("max_results", 5);
    match tools.execute_tool(&run).await {
        Err(ManagementError::Api {
            status: 400, code, ..
        }) => {
            assert_eq!(code, "FAILED_PRECONDITION")
        }
        other => panic!("{other:?}"),
    }

    let updated = accounts
        .update_connected_account(
            &ConnectedAccountRequest::new("gmail", "user_42")
                .authorization_details(json!({"oauth_token": {"access_token": "ya29.token"}})),
        )
        .await
        .unwrap();
    assert_eq!(updated.status, ConnectedAccountStatus::Active);
    assert!(!format!("{updated:?}").contains("ya29"));

    let result = tools.execute_tool(&run).await.unwrap();
    assert_eq!(result.data["tool_name"], "gmail_fetch_mails");
    assert_eq!(result.data["input"]["max_results"], 5);
    assert!(result.execution_id.is_some());

    assert_not_found(
        accounts
            .update_connected_account(
                &ConnectedAccountRequest::new("gmail", "nobody")
                    .authorization_details(json!({"static_auth": {"k": "v"}})),
            )
            .await,
    );
    assert_not_found(
        accounts
            .get_magic_link_for_connected_account("gmail", "nobody")
            .await,
    );
    assert_not_found(
        tools
            .execute_tool(&ExecuteToolRequest::new("gmail_fetch_mails", "nobody"))
            .await,
    );
    assert_invalid(
        accounts
            .create_connected_account(&ConnectedAccountRequest::new("", "user_1"))
            .await,
        "connector",
    );
    assert_invalid(
        accounts
            .update_connected_account(&ConnectedAccountRequest::new("gmail", "user_42"))
            .await,
        "authorization_details",
    );
    assert_invalid(
        tools
            .execute_tool(&ExecuteToolRequest::new("no spaces allowed", "user_42"))
            .await,
        "tool_name",
    );
}

/// Signs `email` in on the emulator's hosted page for `organization_id`.
async fn sign_in(
    emulator: &Emulator,
    organization_id: &str,
    email: &str,
) -> scalekit_core::oauth::AuthenticationResponse {
    let sk = flow::scalekit(emulator, Duration::from_secs(5));
    let mut login = flow::login(&["openid", "email", "profile", "offline_access"]);
    login.options = AuthorizationUrlOptions {
        organization_id: Some(organization_id.to_owned()),
        ..login.options
    };
    let url = sk.authorization_url(flow::CALLBACK, &login.options);
    let callback = flow::sign_in(emulator, &url, Some(email)).await;
    sk.authenticate_with_code(&callback["code"], flow::CALLBACK, &flow::exchange(&login))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_created_through_the_api_signs_in_with_the_role_it_was_given() {
    let emulator = Emulator::builder()
        .redirect_uri(flow::CALLBACK)
        .start()
        .await
        .unwrap();
    let client = client(&emulator);
    let org = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Wonka Industries"))
        .await
        .unwrap();
    client
        .roles()
        .create_organization_role(
            &org.id,
            &CreateRoleRequest::new("chocolatier").permission("factory:tour"),
        )
        .await
        .unwrap();
    let user = client
        .users()
        .create_user_and_membership(
            &org.id,
            &CreateUserRequest::new("charlie@wonka.example")
                .name("Charlie", "Bucket")
                .role("chocolatier"),
        )
        .await
        .unwrap();

    let signed_in = sign_in(&emulator, &org.id, "charlie@wonka.example").await;
    let claims: AccessTokenClaims = scalekit(&emulator)
        .validate_token(&signed_in.access_token)
        .await
        .unwrap();
    assert_eq!(claims.sub.as_deref(), Some(user.id.as_str()));
    assert_eq!(claims.roles, ["chocolatier"]);
    assert_eq!(claims.permissions, ["factory:tour"]);
    assert_eq!(
        signed_in.user.email.as_deref(),
        Some("charlie@wonka.example")
    );

    // The session is visible and revocable through the API.
    let sessions = client.sessions();
    let listed = sessions
        .get_user_sessions(&user.id, &UserSessionsOptions::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let session_id = listed.items[0].session_id.clone();
    let streamed: Vec<_> = sessions
        .get_user_sessions_stream(&user.id, UserSessionsOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, listed.items);
    let session = sessions.get_session(&session_id).await.unwrap();
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.status.to_ascii_lowercase(), "active");
    let revoked = sessions.revoke_session(&session_id).await.unwrap();
    assert_eq!(revoked.session_id, session_id);
    assert_eq!(revoked.status.to_ascii_lowercase(), "revoked");

    // A second sign-in, then every session of the user revoked at once.
    sign_in(&emulator, &org.id, "charlie@wonka.example").await;
    let all = sessions.revoke_all_user_sessions(&user.id).await.unwrap();
    assert_eq!(all.total_revoked, 1);
    assert_eq!(all.revoked_sessions.len(), 1);

    assert_not_found(sessions.get_session("ses_404").await);
    assert_not_found(sessions.revoke_session("ses_404").await);
    assert_not_found(
        sessions
            .get_user_sessions("usr_404", &UserSessionsOptions::default())
            .await,
    );
    assert_not_found(sessions.revoke_all_user_sessions("usr_404").await);
    assert_invalid(sessions.get_session("not-a-session").await, "session_id");
}

#[tokio::test]
async fn a_401_reauthenticates_exactly_once_and_the_call_succeeds() {
    let (emulator, client) = setup().await;
    let orgs = client.organizations();
    orgs.list_organizations(&PageOptions::new()).await.unwrap();
    let tokens = emulator.request_count(EmulatorEndpoint::Token);
    let calls = emulator.request_count(EmulatorEndpoint::Management);
    assert_eq!(tokens, 1);

    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::Status(401), 1);
    let page = orgs.list_organizations(&PageOptions::new()).await.unwrap();
    assert!(!page.items.is_empty());
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token), tokens + 1);
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Management),
        calls + 2
    );

    // A 401 that persists: one new token, then the typed error.
    emulator.inject_fault(EmulatorEndpoint::Management, Fault::Status(401));
    let err = orgs.get_organization("org_1").await.unwrap_err();
    assert!(
        matches!(err, ManagementError::Unauthenticated { ref code, .. } if code == "UNAUTHENTICATED"),
        "{err:?}"
    );
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token), tokens + 2);
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Management),
        calls + 4
    );
    emulator.clear_faults();
}

#[tokio::test]
async fn a_burst_of_503_is_retried_until_it_succeeds() {
    let (emulator, client) = setup().await;
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::Status(503), 3);
    let page = client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 4);

    // A POST answered 503 may have been processed: it is not repeated.
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::Status(503), 1);
    let err = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Not repeated"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 5);

    // A 429 was refused before any work: a POST is repeated after it.
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::Status(429), 1);
    client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Retried"))
        .await
        .unwrap();
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 7);
}

#[tokio::test]
async fn a_503_that_persists_ends_after_the_policy_s_attempts() {
    let (emulator, client) = setup().await;
    let client = client.retry_policy(
        RetryPolicy::default()
            .max_attempts(3)
            .base_delay(Duration::from_millis(5)),
    );
    emulator.inject_fault(EmulatorEndpoint::Management, Fault::Status(503));
    let err = client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ManagementError::Api { status: 503, ref code, .. } if code == "UNAVAILABLE"),
        "{err:?}"
    );
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 3);
    emulator.clear_faults();
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let (emulator, client) = setup().await;
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::Status(400), 1);
    let err = client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_invalid_argument(), "{err:?}");
    assert_eq!(err.code(), Some("INVALID_ARGUMENT"));
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 1);

    // Nor a 404, nor a 500.
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::Status(500), 1);
    let err = client
        .organizations()
        .get_organization("org_1")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_not_found(client.organizations().get_organization("org_404").await);
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 3);
}

#[tokio::test]
async fn a_post_whose_connection_drops_is_not_repeated() {
    let (emulator, client) = setup().await;
    let seeded = emulator.organizations().len();
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::DropConnection, 1);
    let err = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Maybe"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ManagementError::Transport(TransportFailure::Interrupted),
        "{err:?}"
    );
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 1);
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token), 1);
    let listed = client
        .organizations()
        .list_organizations(&PageOptions::new().page_size(100))
        .await
        .unwrap();
    assert_eq!(
        listed.items.len(),
        seeded,
        "the dropped POST was not sent again"
    );

    // The same failure on a GET is retried: reading twice is harmless.
    let calls = emulator.request_count(EmulatorEndpoint::Management);
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::DropConnection, 1);
    client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap();
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Management),
        calls + 2
    );
}

#[tokio::test]
async fn an_unreachable_platform_fails_typed_after_the_retries() {
    // A port nothing listens on: every attempt fails to connect (nothing
    // was sent, so even a POST may be retried), then the error is typed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let emulator = Emulator::start().await.expect("the emulator starts");
    let config = ScalekitConfig::new(
        &format!("http://{addr}"),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    let client = ManagementClient::new(&Scalekit::new(config).unwrap())
        .unwrap()
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .base_delay(Duration::from_millis(5)),
        );
    let err = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Nowhere"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ManagementError::Token(scalekit_core::oauth::TokenError::Connect)
    );
}

#[tokio::test]
async fn a_slow_platform_ends_in_a_timeout() {
    let (emulator, client) = setup().await;
    client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap();
    let client = client.timeout(Duration::from_millis(200));
    emulator.inject_fault_times(
        EmulatorEndpoint::Management,
        Fault::Delay(Duration::from_secs(2)),
        1,
    );
    let started = std::time::Instant::now();
    let err = client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err, ManagementError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_redirect_is_refused_and_errors_never_show_the_secret() {
    let (emulator, client) = setup().await;
    emulator.inject_fault_times(
        EmulatorEndpoint::Management,
        Fault::Redirect {
            status: 307,
            location: "http://127.0.0.1:9/steal".into(),
        },
        1,
    );
    let err = client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err, ManagementError::Redirect(307));
    let text = format!("{err} {err:?} {client:?}");
    assert!(!text.contains(emulator.client_secret()), "{text}");

    // Credentials the emulator refuses: the token endpoint's error, typed.
    let config = ScalekitConfig::new(emulator.url(), emulator.client_id(), "wrong-secret").unwrap();
    let refused = ManagementClient::new(&Scalekit::new(config).unwrap()).unwrap();
    let err = refused
        .organizations()
        .get_organization("org_1")
        .await
        .unwrap_err();
    assert!(matches!(err, ManagementError::Token(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("wrong-secret"));
}
