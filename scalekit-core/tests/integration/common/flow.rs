//! The sign-in flow through the emulator's hosted page, without a browser.

use std::collections::HashMap;
use std::time::Duration;

use scalekit_core::oauth::{
    AuthenticationResponse, AuthorizationUrlOptions, CodeExchange, Pkce, generate_nonce,
    generate_state,
};
use scalekit_core::{JwksOptions, Scalekit, ScalekitConfig};
use scalekit_emulator::Emulator;

pub const CALLBACK: &str = "http://localhost:3000/auth/callback";
pub const HOME: &str = "http://localhost:3000/";

pub fn scalekit(emulator: &Emulator, timeout: Duration) -> Scalekit {
    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    let http = reqwest::Client::builder().timeout(timeout).build().unwrap();
    Scalekit::with_http_client(config, http, JwksOptions::default()).unwrap()
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Opens the sign-in page of `authorize_url`, checks it lists `email`, and
/// submits it as that user (or denies). Returns the redirect's query.
pub async fn sign_in(
    emulator: &Emulator,
    authorize_url: &str,
    email: Option<&str>,
) -> HashMap<String, String> {
    let http = browser();
    let page = http.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let mut form: Vec<(String, String)> = query_of(authorize_url).into_iter().collect();
    match email {
        Some(email) => {
            assert!(html.contains(email), "the page lists {email}");
            let user = emulator
                .users()
                .into_iter()
                .find(|u| u.email == email)
                .unwrap();
            form.push(("user_id".into(), user.id));
        }
        None => form.push(("action".into(), "deny".into())),
    }
    let response = http
        .post(format!("{}/oauth/authorize", emulator.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(CALLBACK), "{location}");
    query_of(&location)
}

pub struct Login {
    pub options: AuthorizationUrlOptions,
    pub pkce: Pkce,
}

pub fn login(scopes: &[&str]) -> Login {
    let pkce = Pkce::generate().unwrap();
    let options = AuthorizationUrlOptions {
        scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        state: Some(generate_state().unwrap()),
        nonce: Some(generate_nonce().unwrap()),
        code_challenge: Some(pkce.challenge().to_owned()),
        code_challenge_method: Some(pkce.method().to_owned()),
        ..Default::default()
    };
    Login { options, pkce }
}

pub fn exchange(login: &Login) -> CodeExchange {
    CodeExchange {
        code_verifier: Some(login.pkce.verifier().to_owned()),
        nonce: login.options.nonce.clone(),
    }
}

/// A complete login as `email` with `scopes`, through the sign-in page.
pub async fn logged_in(
    emulator: &Emulator,
    sk: &Scalekit,
    scopes: &[&str],
    email: &str,
) -> AuthenticationResponse {
    let l = login(scopes);
    let url = sk.authorization_url(CALLBACK, &l.options);
    let callback = sign_in(emulator, &url, Some(email)).await;
    sk.authenticate_with_code(&callback["code"], CALLBACK, &exchange(&l))
        .await
        .unwrap()
}
