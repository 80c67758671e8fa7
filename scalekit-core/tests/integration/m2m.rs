//! Machine-to-machine tokens from the emulator's `client_credentials` grant,
//! validated through the `Scalekit` client and its SDK-named helpers.

use crate::common;

use scalekit_core::authz::Requirement;
use scalekit_core::{AccessTokenClaims, Endpoint, Scalekit, ScalekitConfig};
use scalekit_emulator::{EmulatorEndpoint, M2mClient};
use serde_json::{Value, json};

async fn client_credentials(url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form.iter()
                .map(|(k, v)| format!("{k}={}", v.replace(' ', "%20")))
                .collect::<Vec<_>>()
                .join("&"),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_client_credentials_token_validates_and_exposes_client_org_and_scopes() {
    let emulator = common::emulator().await;
    emulator.register_m2m_client(
        M2mClient::new("m2morg_42", "s3cret", "org_7")
            .scopes(["deploy:write", "logs:read", "billing:read"])
            .claim("tier", json!("gold")),
    );
    let (status, body) = client_credentials(
        emulator.url(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "m2morg_42"),
            ("client_secret", "s3cret"),
            ("scope", "deploy:write logs:read"),
            ("audience", "https://api.acme.example"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "deploy:write logs:read");
    let token = body["access_token"].as_str().unwrap();

    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    // By default only tokens for the application's client id are accepted:
    // the API names the identifier its M2M clients ask for.
    let default = Scalekit::new(config.clone()).unwrap();
    assert_eq!(
        default
            .validate_token::<AccessTokenClaims>(token)
            .await
            .unwrap_err(),
        scalekit_core::ValidationError::WrongAudience
    );
    let scalekit = Scalekit::new(config)
        .unwrap()
        .accept_audiences(["https://api.acme.example"]);
    let claims: AccessTokenClaims = scalekit.validate_token(token).await.unwrap();
    assert_eq!(claims.client_id.as_deref(), Some("m2morg_42"));
    assert_eq!(claims.sub.as_deref(), Some("m2morg_42"));
    assert_eq!(claims.oid.as_deref(), Some("org_7"));
    assert!(claims.is_m2m());
    let granted = claims.scopes();
    let scopes: Vec<&str> = granted.iter().collect();
    assert_eq!(scopes, ["deploy:write", "logs:read"]);
    assert_eq!(claims.custom["tier"], "gold");

    assert!(scalekit.validate_access_token(token).await);
    assert!(scalekit.verify_scopes(token, &["deploy:write"]).await);
    assert!(
        scalekit
            .verify_scopes(token, &["deploy:write", "logs:read"])
            .await
    );
    assert!(!scalekit.verify_scopes(token, &["billing:read"]).await);
    assert!(!scalekit.validate_access_token("not.a.token").await);
    assert!(!scalekit.verify_scopes("not.a.token", &[]).await);
    let need = Requirement::scopes_any(["admin", "logs:read"]);
    assert!(need.check_claims(&claims).is_ok());
}

#[tokio::test]
async fn the_token_endpoint_refuses_bad_clients_and_scopes() {
    let emulator = common::emulator().await;
    emulator.register_m2m_client(M2mClient::new("m2morg_1", "right", "org_1").scopes(["read"]));
    let (status, body) = client_credentials(
        emulator.url(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "m2morg_1"),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = client_credentials(
        emulator.url(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "m2morg_1"),
            ("client_secret", "right"),
            ("scope", "write"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = client_credentials(emulator.url(), &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token), 3);
}

#[tokio::test]
async fn discovery_finds_the_emulator_endpoints() {
    let emulator = common::emulator().await;
    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap()
    .discover(&reqwest::Client::new())
    .await
    .unwrap();
    assert_eq!(
        config.endpoint_url(Endpoint::Jwks),
        format!("{}/keys", emulator.url())
    );
    assert_eq!(
        config.endpoint_url(Endpoint::Token),
        format!("{}/oauth/token", emulator.url())
    );
    assert_eq!(emulator.request_count(EmulatorEndpoint::Discovery), 1);
}
