//! The emulator's own contract: document shapes, fault accounting, client
//! authentication variants.

use std::time::Duration;

use scalekit_core::{JwksCache, JwksOptions, TokenValidator, ValidationOptions};
use scalekit_emulator::{Emulator, EmulatorEndpoint, Fault, M2mClient, Rotation};
use serde_json::Value;

async fn emulator() -> Emulator {
    Emulator::start().await.expect("the emulator starts")
}

/// A validator of the emulator's access tokens (the core's, as an
/// application has it): its issuer, the client id as the audience.
fn validator(emulator: &Emulator, options: JwksOptions) -> TokenValidator {
    let keys = JwksCache::builder(format!("{}/keys", emulator.url()))
        .options(options.fetch_timeout(Duration::from_millis(500)))
        .build()
        .expect("a valid JWKS URL");
    TokenValidator::new(
        keys,
        ValidationOptions::new(emulator.url()).audience(emulator.client_id()),
    )
}

async fn get(url: String) -> reqwest::Response {
    reqwest::get(url).await.expect("the emulator answers")
}

#[tokio::test]
async fn keys_and_discovery_have_the_platform_shape() {
    let emulator = emulator().await;
    let jwks: Value = get(format!("{}/keys", emulator.url()))
        .await
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    assert!(key["kid"].as_str().unwrap().starts_with("snk_"));
    assert_eq!(key["kid"], emulator.active_kid());

    let doc: Value = get(format!(
        "{}/.well-known/openid-configuration",
        emulator.url()
    ))
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(doc["issuer"], emulator.url());
    assert_eq!(doc["jwks_uri"], format!("{}/keys", emulator.url()));
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/oauth/token", emulator.url())
    );
}

#[tokio::test]
async fn rotation_publishes_or_withdraws_as_asked() {
    let emulator = emulator().await;
    let first = emulator.active_kid();
    let second = emulator.rotate_keys(Rotation::KeepOld).await.unwrap();
    assert_eq!(emulator.published_kids(), [first, second]);
    let third = emulator.rotate_keys(Rotation::WithdrawOld).await.unwrap();
    assert_eq!(emulator.published_kids(), std::slice::from_ref(&third));
    assert_eq!(emulator.active_kid(), third);
}

#[tokio::test]
async fn faults_can_be_limited_and_counters_reset() {
    let emulator = emulator().await;
    emulator.inject_fault_times(EmulatorEndpoint::Keys, Fault::Status(503), 2);
    for _ in 0..2 {
        assert_eq!(get(format!("{}/keys", emulator.url())).await.status(), 503);
    }
    assert_eq!(get(format!("{}/keys", emulator.url())).await.status(), 200);
    assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 3);

    emulator.inject_fault(EmulatorEndpoint::Keys, Fault::MalformedJson);
    let body = get(format!("{}/keys", emulator.url()))
        .await
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err());
    emulator.inject_fault(EmulatorEndpoint::Keys, Fault::DropConnection);
    assert!(
        reqwest::get(format!("{}/keys", emulator.url()))
            .await
            .is_err()
    );
    emulator.clear_faults();
    assert_eq!(get(format!("{}/keys", emulator.url())).await.status(), 200);

    emulator.reset_counters();
    assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 0);
}

#[tokio::test]
async fn client_credentials_accepts_basic_auth_and_an_audience() {
    let emulator = Emulator::builder()
        .client_id("skc_app")
        .client_secret("app-secret")
        .start()
        .await
        .unwrap();
    emulator.register_m2m_client(M2mClient::new("m2morg_b", "b-secret", "org_b").scopes(["read"]));
    let http = reqwest::Client::new();
    let response: Value = http
        .post(format!("{}/oauth/token", emulator.url()))
        .basic_auth("m2morg_b", Some("b-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&audience=https%3A%2F%2Fapi.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = response["access_token"].as_str().expect("a token");
    let validator = validator(&emulator, JwksOptions::default());
    let options =
        scalekit_core::ValidationOptions::new(emulator.url()).audience("https://api.example");
    let claims: scalekit_core::AccessTokenClaims =
        validator.validate_with(token, &options).await.unwrap();
    assert_eq!(claims.client_id.as_deref(), Some("m2morg_b"));

    // The application's own client may use the grant too (management API).
    let response = http
        .post(format!("{}/oauth/token", emulator.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "skc_app"),
            ("client_secret", "app-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let not_form = http
        .post(format!("{}/oauth/token", emulator.url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_form.status(), 400);
}
