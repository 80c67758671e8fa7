//! Domain verification and update, connected-account deletion and search,
//! through the client and the emulator: success, not found and validation.

mod common;

use common::{assert_invalid, assert_not_found, assert_refused, setup};
use futures_util::TryStreamExt;
use scalekit_management::{
    ConnectedAccount, ConnectedAccountRequest, CreateDomainRequest, ListConnectedAccountsOptions,
    PageOptions,
};

#[tokio::test]
async fn a_domain_is_verified_and_updated() {
    let (emulator, client) = setup().await;
    let org = emulator.test_user().organization_id.clone();
    let domains = client.domains();
    let domain = domains
        .create_domain(&org, &CreateDomainRequest::new("acme-rockets.example"))
        .await
        .unwrap();
    assert!(domains.verify_domain(&org, &domain.id).await.unwrap());
    assert_not_found(domains.verify_domain(&org, "dom_000000000000000001").await);
    assert_not_found(
        domains
            .verify_domain("org_000000000000000001", &domain.id)
            .await,
    );
    assert_refused(domains.verify_domain(&org, "").await);
    let updated = domains.update_domain(&org, &domain.id).await.unwrap();
    assert_eq!(updated.domain, "acme-rockets.example");
    assert_not_found(domains.update_domain(&org, "dom_000000000000000001").await);
}

#[tokio::test]
async fn connected_accounts_are_searched_and_deleted() {
    let (_emulator, client) = setup().await;
    let accounts = client.connected_accounts();
    for (connector, identifier) in [
        ("gmail", "ada@example.com"),
        ("slack", "ada@example.com"),
        ("gmail", "grace@example.com"),
    ] {
        accounts
            .create_connected_account(&ConnectedAccountRequest::new(connector, identifier))
            .await
            .unwrap();
    }
    let page = accounts
        .search_connected_accounts("ADA@", &PageOptions::new().page_size(1))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total_size), (1, Some(2)));
    let all: Vec<ConnectedAccount> = accounts
        .search_connected_accounts_stream("gmail", PageOptions::new().page_size(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_invalid(
        accounts
            .search_connected_accounts("ad", &PageOptions::new())
            .await,
        "query",
    );

    accounts
        .delete_connected_account("gmail", "ada@example.com")
        .await
        .unwrap();
    let left = accounts
        .list_connected_accounts(&ListConnectedAccountsOptions::default())
        .await
        .unwrap();
    assert_eq!(left.items.len(), 2);
    assert_not_found(
        accounts
            .delete_connected_account("gmail", "ada@example.com")
            .await,
    );
    assert_not_found(
        accounts
            .get_magic_link_for_connected_account("gmail", "ada@example.com")
            .await,
    );
    assert_refused(accounts.delete_connected_account("gmail", " ").await);
}

#[tokio::test]
async fn a_custom_connection_gets_the_user_of_its_login_request() {
    let (emulator, client) = setup().await;
    let connection = client
        .connections()
        .list_connections(&Default::default())
        .await
        .unwrap()
        .items
        .remove(0)
        .id;
    let request = emulator.open_login_request(&connection);
    let user = scalekit_management::LoginUserDetails::new("app_user_7", "ada@example.com")
        .name("Ada", "Lovelace")
        .role("admin");
    client
        .auth()
        .update_login_user_details(&connection, &request, &user)
        .await
        .unwrap();
    let posted = emulator.login_request_user(&request).unwrap();
    assert_eq!(posted["sub"], "app_user_7");
    assert_eq!(posted["roles"], serde_json::json!(["admin"]));
    // Once only; unknown requests and connections; a user without email.
    common::assert_precondition(
        client
            .auth()
            .update_login_user_details(&connection, &request, &user)
            .await,
        "already",
    );
    assert_not_found(
        client
            .auth()
            .update_login_user_details(&connection, "lrq_000000000000000001", &user)
            .await,
    );
    assert_not_found(
        client
            .auth()
            .update_login_user_details("conn_000000000000000001", &request, &user)
            .await,
    );
    let other = emulator.open_login_request(&connection);
    assert_invalid(
        client
            .auth()
            .update_login_user_details(
                &connection,
                &other,
                &scalekit_management::LoginUserDetails::new("u", ""),
            )
            .await,
        "email",
    );
    assert_refused(
        client
            .auth()
            .update_login_user_details(&connection, "", &user)
            .await,
    );
}
