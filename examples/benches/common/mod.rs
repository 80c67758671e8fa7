//! What the in-process benches share: the emulator the application runs
//! against, and Ada's consent at its hosted page.

use std::time::Duration;

use scalekit_core::ScalekitConfig;
use scalekit_emulator::Emulator;

/// The application's base URL (never called: requests go in-process).
pub const BASE: &str = "http://127.0.0.1:9";

/// The application's session secret.
pub const SESSION_SECRET: &str = "bench-session-secret-of-at-least-32-bytes";

/// An emulator whose access tokens outlive the bench, the configuration of
/// an application at [`BASE`] against it, and a bearer token it minted.
pub async fn platform() -> (Emulator, ScalekitConfig, String) {
    let emulator = Emulator::builder()
        .access_token_ttl(Duration::from_secs(3600))
        .redirect_uri(format!("{BASE}/auth/callback"))
        .start()
        .await
        .expect("emulator");
    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .expect("config");
    let token = emulator
        .mint_access_token(serde_json::json!({}))
        .expect("token");
    (emulator, config, token)
}

/// Gives Ada's consent to the authorization request at `authorize` (the
/// `Location` of the application's `/auth/login`); the path and query of
/// the application's callback the emulator redirects to.
pub async fn consent(emulator: &Emulator, authorize: &str) -> String {
    let authorize = url::Url::parse(authorize).expect("authorize url");
    let ada = emulator
        .users()
        .into_iter()
        .find(|u| u.email == "ada@example.com")
        .expect("ada");
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("user_id".into(), ada.id.clone()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let consent = client
        .post(format!("{}/oauth/authorize", emulator.url()))
        .form(&form)
        .send()
        .await
        .expect("authorize");
    let callback = url::Url::parse(consent.headers()["location"].to_str().expect("location"))
        .expect("callback url");
    format!("{}?{}", callback.path(), callback.query().unwrap_or(""))
}
