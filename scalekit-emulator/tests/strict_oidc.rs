//! The emulator as a strict OpenID provider: what any conforming relying
//! party may send (HTTP Basic client authentication with form-encoded
//! credentials, `max_age`, `prompt=none`, RP-initiated logout with a
//! `client_id`, a replayed code), driven with plain HTTP.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use scalekit_emulator::Emulator;
use serde_json::Value;

const CALLBACK: &str = "http://localhost:3000/auth/callback";
/// A secret with every character that form encoding changes.
const SECRET: &str = "s3cr+t/with=:%&?# chars";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start() -> Emulator {
    Emulator::builder()
        .client_id("skc_strict")
        .client_secret(SECRET)
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri("http://localhost:3000/")
        .start()
        .await
        .unwrap()
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `Authorization: Basic` as RFC 6749 §2.3.1 has it: each part
/// form-encoded, then Base64.
fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{}:{}", form_encode(id), form_encode(secret));
    format!("Basic {}", STANDARD.encode(pair))
}

fn body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn query_param(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Signs the test user in on the hosted page (`extra` authorization
/// parameters): the callback's code and the emulator's session cookie.
async fn sign_in(emulator: &Emulator, extra: &[(&str, &str)]) -> (String, String) {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", emulator.client_id()),
        ("redirect_uri", CALLBACK),
        ("scope", "openid email offline_access"),
        ("state", "st"),
        ("user_id", emulator.test_user().id.as_str()),
    ];
    pairs.extend_from_slice(extra);
    let response = http()
        .post(format!("{}/oauth/authorize", emulator.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&pairs))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("the emulator's session cookie")
        .to_owned();
    let code = query_param(&location(&response), "code").expect("a code");
    (code, cookie)
}

async fn exchange(emulator: &Emulator, code: &str) -> reqwest::Response {
    http()
        .post(format!("{}/oauth/token", emulator.url()))
        .header("authorization", basic(emulator.client_id(), SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
        ]))
        .send()
        .await
        .unwrap()
}

async fn refresh(emulator: &Emulator, refresh_token: &str) -> reqwest::Response {
    http()
        .post(format!("{}/oauth/token", emulator.url()))
        .header("authorization", basic(emulator.client_id(), SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn http_basic_credentials_are_form_decoded_and_a_refusal_names_the_scheme() {
    let emulator = start().await;
    let token = |authorization: String| {
        http()
            .post(format!("{}/oauth/token", emulator.url()))
            .header("authorization", authorization)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
    };
    // Encoded as RFC 6749 has it: `_` → `%5F`, `+` → `%2B`, ` ` → `+`…
    let ok = token(basic("skc_strict", SECRET)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    assert_eq!(ok.headers()["pragma"], "no-cache");
    let answer: Value = ok.json().await.unwrap();
    assert!(answer["access_token"].is_string());

    // A wrong secret over HTTP Basic: 401 with the Basic challenge.
    let refused = token(basic("skc_strict", "s3cr+t/with=:%&?#"))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");
    assert_eq!(refused.headers()["pragma"], "no-cache");
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"], "invalid_client");

    // The same refusal for credentials in the form carries no challenge.
    let posted = http()
        .post(format!("{}/oauth/token", emulator.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&[
            ("grant_type", "client_credentials"),
            ("client_id", "skc_strict"),
            ("client_secret", "wrong"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::UNAUTHORIZED);
    assert!(posted.headers().get("www-authenticate").is_none());

    // The code and refresh grants take the encoded credentials too.
    let (code, _) = sign_in(&emulator, &[]).await;
    let tokens = exchange(&emulator, &code).await;
    assert_eq!(tokens.status(), StatusCode::OK);
    assert_eq!(tokens.headers()["pragma"], "no-cache");
}

#[tokio::test]
async fn max_age_puts_auth_time_in_the_id_token_and_keeps_it_across_refreshes() {
    let emulator = start().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (code, _) = sign_in(&emulator, &[("max_age", "300")]).await;
    let tokens: Value = exchange(&emulator, &code).await.json().await.unwrap();
    let auth_time = claims(tokens["id_token"].as_str().unwrap())["auth_time"]
        .as_u64()
        .expect("auth_time with max_age");
    assert!(auth_time >= before && auth_time <= before + 5);
    let refreshed: Value = refresh(&emulator, tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(refreshed["id_token"].as_str().unwrap())["auth_time"].as_u64(),
        Some(auth_time)
    );

    // Without max_age, no auth_time (as the platform's ID tokens).
    let (code, _) = sign_in(&emulator, &[]).await;
    let tokens: Value = exchange(&emulator, &code).await.json().await.unwrap();
    assert!(claims(tokens["id_token"].as_str().unwrap())["auth_time"].is_null());
}

#[tokio::test]
async fn prompt_none_answers_without_a_page() {
    let emulator = start().await;
    let authorize = |extra: &[(&str, &str)], cookie: Option<&str>| {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", emulator.client_id()),
            ("redirect_uri", CALLBACK),
            ("scope", "openid"),
            ("state", "st-1"),
            ("prompt", "none"),
        ];
        pairs.extend_from_slice(extra);
        let mut request = http().get(format!(
            "{}/oauth/authorize?{}",
            emulator.url(),
            body(&pairs)
        ));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send()
    };
    // No emulator session: login_required, with the state, and no page.
    let anonymous = authorize(&[], None).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::FOUND);
    let target = location(&anonymous);
    assert!(target.starts_with(CALLBACK), "{target}");
    assert_eq!(
        query_param(&target, "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-1"));

    // Signed in to the emulator: a code straight away, for the same user.
    let (_, cookie) = sign_in(&emulator, &[]).await;
    let silent = authorize(&[], Some(&cookie)).await.unwrap();
    assert_eq!(silent.status(), StatusCode::FOUND);
    let target = location(&silent);
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-1"));
    let code = query_param(&target, "code").expect("a code without a page");
    let tokens: Value = exchange(&emulator, &code).await.json().await.unwrap();
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap())["sub"],
        emulator.test_user().id.as_str()
    );

    // A sign-in older than max_age is not silent.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let stale = authorize(&[("max_age", "0")], Some(&cookie)).await.unwrap();
    assert_eq!(
        query_param(&location(&stale), "error").as_deref(),
        Some("login_required")
    );
    // `none` with another value is a bad request.
    let mixed = authorize(&[("prompt", "none login")], Some(&cookie))
        .await
        .unwrap();
    assert_eq!(
        query_param(&location(&mixed), "error").as_deref(),
        Some("invalid_request")
    );

    // Logout ends the emulator session too: prompt=none fails again.
    let logout = http()
        .get(format!("{}/oidc/logout", emulator.url()))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let after = authorize(&[], Some(&cookie)).await.unwrap();
    assert_eq!(
        query_param(&location(&after), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn logout_refuses_a_client_id_that_is_not_the_hints_audience() {
    let emulator = start().await;
    let (code, _) = sign_in(&emulator, &[]).await;
    let tokens: Value = exchange(&emulator, &code).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let logout = |client_id: &str| {
        http()
            .get(format!(
                "{}/oidc/logout?{}",
                emulator.url(),
                body(&[("id_token_hint", id_token), ("client_id", client_id)])
            ))
            .send()
    };
    let refused = logout("skc_someone_else").await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    // The session was not ended: its refresh token still works.
    let still = refresh(&emulator, refresh_token).await;
    assert_eq!(still.status(), StatusCode::OK);
    let rotated: Value = still.json().await.unwrap();

    let accepted = logout("skc_strict").await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let ended = refresh(&emulator, rotated["refresh_token"].as_str().unwrap()).await;
    assert_eq!(ended.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_replayed_code_revokes_the_tokens_issued_for_it() {
    let emulator = start().await;
    let (code, _) = sign_in(&emulator, &[]).await;
    let first = exchange(&emulator, &code).await;
    assert_eq!(first.status(), StatusCode::OK);
    let tokens: Value = first.json().await.unwrap();
    let replay = exchange(&emulator, &code).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let error: Value = replay.json().await.unwrap();
    assert_eq!(error["error"], "invalid_grant");
    // The refresh token the first exchange issued no longer works.
    let refused = refresh(&emulator, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"], "invalid_grant");
}
