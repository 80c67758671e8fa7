//! Lookups by external id, searches, the user-management settings and
//! passkeys, through the client and the emulator: success, not found and
//! validation for each operation.

mod common;

use common::{assert_invalid, assert_not_found, assert_precondition, assert_refused, setup};
use futures_util::TryStreamExt;
use scalekit_management::{
    CreateOrganizationRequest, CreateUserRequest, MembershipRequest, Organization, PageOptions,
    UpdateOrganizationRequest, UpdateUserRequest, User, UserManagementSettings,
};

#[tokio::test]
async fn organizations_are_found_by_external_id_and_searched() {
    let (_emulator, client) = setup().await;
    let orgs = client.organizations();
    let created = orgs
        .create_organization(&CreateOrganizationRequest::new("Initech").external_id("cust_7"))
        .await
        .unwrap();
    let found = orgs
        .get_organization_by_external_id("cust_7")
        .await
        .unwrap();
    assert_eq!(found.id, created.id);
    assert_not_found(orgs.get_organization_by_external_id("cust_none").await);
    assert_refused(orgs.get_organization_by_external_id("").await);

    let renamed = orgs
        .update_organization_by_external_id(
            "cust_7",
            &UpdateOrganizationRequest {
                display_name: Some("Initech Inc".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "Initech Inc");
    assert_eq!(
        orgs.get_organization(&created.id)
            .await
            .unwrap()
            .display_name,
        "Initech Inc"
    );
    assert_not_found(
        orgs.update_organization_by_external_id("cust_none", &UpdateOrganizationRequest::default())
            .await,
    );
    assert_invalid(
        orgs.update_organization_by_external_id(
            "cust_7",
            &UpdateOrganizationRequest {
                display_name: Some(" ".into()),
                ..Default::default()
            },
        )
        .await,
        "display_name",
    );

    // Search: name, id or external id, case-insensitive, paged.
    for name in ["Initrode", "Initial Ventures"] {
        orgs.create_organization(&CreateOrganizationRequest::new(name))
            .await
            .unwrap();
    }
    let page = orgs
        .search_organizations("INIT", &PageOptions::new().page_size(2))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total_size), (2, Some(3)));
    let all: Vec<Organization> = orgs
        .search_organizations_stream("init", PageOptions::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let by_external = orgs
        .search_organizations("cust_7", &PageOptions::new())
        .await
        .unwrap();
    assert_eq!(by_external.items[0].id, created.id);
    assert!(
        orgs.search_organizations("nothing-like-it", &PageOptions::new())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_invalid(
        orgs.search_organizations("in", &PageOptions::new()).await,
        "query",
    );
}

#[tokio::test]
async fn users_are_found_by_external_id_and_searched() {
    let (emulator, client) = setup().await;
    let org = emulator.test_user().organization_id.clone();
    let users = client.users();
    let created = users
        .create_user_and_membership(
            &org,
            &CreateUserRequest::new("milton@initech.example")
                .name("Milton", "Waddams")
                .external_id("emp_42"),
        )
        .await
        .unwrap();
    assert_eq!(
        users.get_user_by_external_id("emp_42").await.unwrap().id,
        created.id
    );
    assert_not_found(users.get_user_by_external_id("emp_none").await);
    let updated = users
        .update_user_by_external_id(
            "emp_42",
            &UpdateUserRequest {
                metadata: Some([("desk".to_owned(), "basement".to_owned())].into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.metadata["desk"], "basement");
    assert_not_found(
        users
            .update_user_by_external_id("emp_none", &UpdateUserRequest::default())
            .await,
    );

    // Search: email, name, ids; in the environment or one organization.
    let found: Vec<User> = users
        .search_users_stream("waddams", PageOptions::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        users
            .search_users("MILTON@", &PageOptions::new())
            .await
            .unwrap()
            .items[0]
            .id,
        created.id
    );
    assert_invalid(users.search_users("", &PageOptions::new()).await, "query");
    let other = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Chotchkie's"))
        .await
        .unwrap();
    assert!(
        users
            .search_organization_users(&other.id, "milton", &PageOptions::new())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        users
            .search_organization_users(&org, "milton", &PageOptions::new())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_not_found(
        users
            .search_organization_users("org_000000000000000001", "milton", &PageOptions::new())
            .await,
    );

    users.delete_user_by_external_id("emp_42").await.unwrap();
    assert_not_found(users.get_user(&created.id).await);
    assert_not_found(users.delete_user_by_external_id("emp_42").await);
}

#[tokio::test]
async fn the_maximum_users_setting_refuses_the_membership_over_it() {
    let (_emulator, client) = setup().await;
    let orgs = client.organizations();
    let org = orgs
        .create_organization(&CreateOrganizationRequest::new("Small Co"))
        .await
        .unwrap();
    assert_eq!(
        orgs.get_user_management_settings(&org.id).await.unwrap(),
        UserManagementSettings::new()
    );
    let settings = orgs
        .upsert_user_management_settings(
            &org.id,
            &UserManagementSettings::new().max_allowed_users(1),
        )
        .await
        .unwrap();
    assert_eq!(settings.max_allowed_users, Some(1));
    assert_eq!(
        orgs.get_user_management_settings(&org.id)
            .await
            .unwrap()
            .max_allowed_users,
        Some(1)
    );
    let users = client.users();
    let first = users
        .create_user_and_membership(&org.id, &CreateUserRequest::new("one@small.example"))
        .await
        .unwrap();
    assert_precondition(
        users
            .create_user_and_membership(&org.id, &CreateUserRequest::new("two@small.example"))
            .await,
        "maximum",
    );
    let elsewhere = users
        .create_user_and_membership(
            &client
                .organizations()
                .create_organization(&CreateOrganizationRequest::new("Big Co"))
                .await
                .unwrap()
                .id,
            &CreateUserRequest::new("three@big.example"),
        )
        .await
        .unwrap();
    assert_precondition(
        users
            .create_membership(&org.id, &elsewhere.id, &MembershipRequest::new())
            .await,
        "maximum",
    );
    // Room again once a member leaves.
    users.delete_membership(&org.id, &first.id).await.unwrap();
    users
        .create_membership(&org.id, &elsewhere.id, &MembershipRequest::new())
        .await
        .unwrap();

    assert_not_found(
        orgs.upsert_user_management_settings(
            "org_000000000000000001",
            &UserManagementSettings::new().max_allowed_users(5),
        )
        .await,
    );
    assert_not_found(
        orgs.get_user_management_settings("org_000000000000000001")
            .await,
    );
    // A negative maximum, sent raw: the client's type cannot hold one.
    let answer = reqwest::Client::new()
        .patch(format!(
            "{}/api/v1/organizations/{}/settings/usermanagement",
            client.environment_url(),
            org.id
        ))
        .bearer_auth(client.token_cache().token().await.unwrap().as_ref())
        .json(&serde_json::json!({"settings": {"max_allowed_users": -1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(
        body["details"][0]["validation_error_info"]["field_violations"][0]["field"],
        "settings.max_allowed_users"
    );
}

#[tokio::test]
async fn passkeys_are_listed_renamed_and_deleted() {
    let (emulator, client) = setup().await;
    let user_id = emulator.test_user().id.clone();
    let webauthn = client.webauthn();
    assert!(
        webauthn
            .list_credentials(&user_id)
            .await
            .unwrap()
            .credentials
            .is_empty()
    );
    let id = emulator.add_passkey(&user_id, "Laptop").unwrap();
    emulator.add_passkey(&user_id, "Phone").unwrap();
    let listed = webauthn.list_credentials(&user_id).await.unwrap();
    assert_eq!(listed.credentials.len(), 2);
    assert_eq!(
        listed.credentials[0].display_name.as_deref(),
        Some("Laptop")
    );
    let options = listed.all_accepted_credentials_options.unwrap();
    assert_eq!(options.user_id, user_id);
    assert_eq!(options.all_accepted_credential_ids.len(), 2);
    assert_not_found(webauthn.list_credentials("usr_000000000000000001").await);
    assert_refused(webauthn.list_credentials(" ").await);

    let renamed = webauthn
        .update_credential(&id, "Work laptop")
        .await
        .unwrap();
    assert_eq!(renamed.display_name.as_deref(), Some("Work laptop"));
    assert_invalid(webauthn.update_credential(&id, " ").await, "display_name");
    assert_not_found(
        webauthn
            .update_credential("wac_000000000000000001", "x")
            .await,
    );

    let deleted = webauthn.delete_credential(&id).await.unwrap();
    assert!(deleted.success);
    let unknown = deleted.unknown_credential_options.unwrap();
    assert_eq!(
        Some(unknown.credential_id),
        listed.credentials[0].credential_id
    );
    assert_not_found(webauthn.delete_credential(&id).await);
    assert_eq!(
        webauthn
            .list_credentials(&user_id)
            .await
            .unwrap()
            .credentials
            .len(),
        1
    );
}
