//! Organization M2M clients through the client and the emulator: every
//! operation's success, not-found and validation answers; the plain
//! secret shown once; tokens minted with it carrying the client's scopes,
//! audience, custom claims, lifetime and organization; a deleted secret
//! or client minting no more.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{assert_invalid, assert_not_found, assert_refused, setup};
use futures_util::TryStreamExt;
use scalekit_emulator::Emulator;
use scalekit_management::{OrganizationClient, OrganizationClientRequest, PageOptions};
use serde_json::Value;

/// The token endpoint's answer to a client-credentials grant.
async fn grant(emulator: &Emulator, client_id: &str, secret: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", emulator.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn a_client_is_created_with_its_secret_shown_once_and_mints_tokens() {
    let (emulator, client) = setup().await;
    let org = emulator.test_user().organization_id.clone();
    let clients = client.m2m();
    let created = clients
        .create_organization_client(
            &org,
            &OrganizationClientRequest::new("Billing sync")
                .description("Nightly export")
                .scopes(["reports:read", "deploy:write"])
                .audience(["https://api.example.com/api"])
                .claim("tier", "gold")
                .expiry(600),
        )
        .await
        .unwrap();
    let c = &created.client;
    assert!(c.client_id.starts_with("m2morg_"), "{c:?}");
    assert_eq!(c.organization_id, org);
    assert_eq!(c.scopes, ["reports:read", "deploy:write"]);
    assert_eq!(c.expiry, Some(600));
    assert_eq!(c.custom_claims[0].key, "tier");
    let plain = created.plain_secret.expose().to_owned();
    assert!(!format!("{created:?}").contains(&plain));
    assert_eq!(c.secrets.len(), 1);
    assert_eq!(
        c.secrets[0].secret_suffix.as_deref(),
        Some(&plain[plain.len() - 4..])
    );

    // Read back: never the plain secret.
    let read = clients
        .get_organization_client(&org, &c.client_id)
        .await
        .unwrap();
    assert_eq!(read.name, "Billing sync");
    let raw = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/organizations/{org}/clients/{}",
            emulator.url(),
            c.client_id
        ))
        .bearer_auth(client.token_cache().token().await.unwrap().as_ref())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!raw.contains(&plain), "{raw}");

    // Its tokens: scopes, audience, claims, lifetime, organization.
    let (status, answer) = grant(&emulator, &c.client_id, &plain).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["expires_in"], 600);
    let token = claims(answer["access_token"].as_str().unwrap());
    assert_eq!(token["sub"], c.client_id.as_str());
    assert_eq!(token["oid"], org.as_str());
    assert_eq!(
        token["scopes"],
        serde_json::json!(["reports:read", "deploy:write"])
    );
    assert_eq!(
        token["aud"],
        serde_json::json!(["https://api.example.com/api"])
    );
    assert_eq!(token["tier"], "gold");
    assert_eq!(
        token["exp"].as_u64().unwrap() - token["iat"].as_u64().unwrap(),
        600
    );
    let (status, answer) = grant(&emulator, &c.client_id, "test_wrong").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // A name is optional, as in the SDK; a name too long is refused.
    let unnamed = clients
        .create_organization_client(&org, &OrganizationClientRequest::change())
        .await
        .unwrap();
    assert_eq!(unnamed.client.name, "");
    assert_invalid(
        clients
            .create_organization_client(&org, &OrganizationClientRequest::new("n".repeat(201)))
            .await,
        "name",
    );
    // Validation and unknown organizations and clients.
    assert_invalid(
        clients
            .create_organization_client(
                &org,
                &OrganizationClientRequest::new("x").claim("sub", "forged"),
            )
            .await,
        "custom_claims[0]",
    );
    assert_invalid(
        clients
            .create_organization_client(&org, &OrganizationClientRequest::new("x").scopes([""]))
            .await,
        "scopes[0]",
    );
    assert_not_found(
        clients
            .create_organization_client(
                "org_000000000000000001",
                &OrganizationClientRequest::new("x"),
            )
            .await,
    );
    assert_not_found(
        clients
            .get_organization_client(&org, "m2morg_000000000000000001")
            .await,
    );
}

#[tokio::test]
async fn clients_are_listed_updated_rotated_and_deleted() {
    let (emulator, client) = setup().await;
    let org = emulator.test_user().organization_id.clone();
    let clients = client.m2m();
    let mut ids = Vec::new();
    for i in 0..3 {
        let created = clients
            .create_organization_client(
                &org,
                &OrganizationClientRequest::new(format!("client {i}")).scopes(["reports:read"]),
            )
            .await
            .unwrap();
        ids.push((created.client.client_id, created.plain_secret));
    }
    let page = clients
        .list_organization_clients(&org, &PageOptions::new().page_size(2))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total_size), (2, Some(3)));
    let all: Vec<OrganizationClient> = clients
        .list_organization_clients_stream(&org, PageOptions::new().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_not_found(
        clients
            .list_organization_clients("org_000000000000000001", &PageOptions::new())
            .await,
    );
    assert_invalid(
        clients
            .list_organization_clients(&org, &PageOptions::new().page_token("forged"))
            .await,
        "page_token",
    );

    // Update: only the fields given change; the next token shows them.
    let (id, first_secret) = &ids[0];
    let updated = clients
        .update_organization_client(
            &org,
            id,
            &OrganizationClientRequest::change().scopes(["reports:read", "audit:read"]),
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "client 0");
    assert_eq!(updated.scopes, ["reports:read", "audit:read"]);
    let (_, answer) = grant(&emulator, id, first_secret.expose()).await;
    assert_eq!(
        claims(answer["access_token"].as_str().unwrap())["scopes"],
        serde_json::json!(["reports:read", "audit:read"])
    );
    assert_invalid(
        clients
            .update_organization_client(&org, id, &OrganizationClientRequest::new("n".repeat(201)))
            .await,
        "name",
    );
    assert_not_found(
        clients
            .update_organization_client(
                &org,
                "m2morg_000000000000000001",
                &OrganizationClientRequest::change(),
            )
            .await,
    );

    // Rotation: a second secret; both mint until the first is deleted.
    let added = clients
        .add_organization_client_secret(&org, id)
        .await
        .unwrap();
    assert!(!format!("{added:?}").contains(added.plain_secret.expose()));
    assert_eq!(
        grant(&emulator, id, added.plain_secret.expose()).await.0,
        200
    );
    let old_secret_id = clients
        .get_organization_client(&org, id)
        .await
        .unwrap()
        .secrets
        .into_iter()
        .find(|s| s.id != added.secret.id)
        .unwrap()
        .id;
    clients
        .remove_organization_client_secret(&org, id, &old_secret_id)
        .await
        .unwrap();
    assert_eq!(grant(&emulator, id, first_secret.expose()).await.0, 401);
    assert_eq!(
        grant(&emulator, id, added.plain_secret.expose()).await.0,
        200
    );
    assert_not_found(
        clients
            .remove_organization_client_secret(&org, id, &old_secret_id)
            .await,
    );
    assert_not_found(
        clients
            .add_organization_client_secret(&org, "m2morg_000000000000000001")
            .await,
    );
    assert_refused(
        clients
            .remove_organization_client_secret(&org, id, "")
            .await,
    );

    // Deleted: gone, and its secrets mint nothing.
    clients.delete_organization_client(&org, id).await.unwrap();
    assert_not_found(clients.get_organization_client(&org, id).await);
    assert_not_found(clients.delete_organization_client(&org, id).await);
    assert_eq!(
        grant(&emulator, id, added.plain_secret.expose()).await.0,
        401
    );

    // Deleting the organization deletes its clients.
    let (other_id, other_secret) = &ids[1];
    client
        .organizations()
        .delete_organization(&org)
        .await
        .unwrap();
    assert_eq!(
        grant(&emulator, other_id, other_secret.expose()).await.0,
        401
    );
}
