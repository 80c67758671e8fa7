//! An attacker's inputs against the axum full-stack example and the core
//! (SECURITY.md): audience confusion, tokens of the wrong kind, duplicated
//! `Authorization` headers, webhook verification cost and body size,
//! redirects from platform endpoints, non-ASCII return targets.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use scalekit_axum::ScalekitAuth;
use scalekit_core::oauth::TokenError;
use scalekit_core::webhook::{Deduplicator, WebhookVerifier, sign_payload};
use scalekit_core::{JwksCache, JwksFetchError, Scalekit, ScalekitConfig};
use scalekit_emulator::{Emulator, EmulatorEndpoint, Fault};
use serde_json::json;

const WEBHOOK_SECRET: &str = "whsec_ZnVsbHN0YWNrLXdlYmhvb2stc2VjcmV0LTEyMzQ1Ng";

struct App {
    base: String,
    emulator: Emulator,
    auth: ScalekitAuth,
    http: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

fn config(emulator: &Emulator) -> ScalekitConfig {
    ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap()
}

/// The full-stack example, keeping its `ScalekitAuth` (to read the webhook
/// verifier's cost counter).
async fn start() -> App {
    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let auth = scalekit_examples::axum_fullstack::auth(
        config(&emulator),
        &base,
        common::apps::SESSION_SECRET,
        Some(WEBHOOK_SECRET),
    )
    .unwrap();
    let server = common::apps::serve(listener, scalekit_examples::axum_fullstack::app(&auth));
    App {
        base,
        emulator,
        auth,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _server: server,
    }
}

fn www(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn only_access_tokens_for_the_app_authenticate() {
    let app = start().await;
    let me = format!("{}/api/me", app.base);
    let call = |token: String| app.http.get(&me).bearer_auth(token).send();

    // The client id in `aud`: accepted.
    let ok = app.emulator.mint_access_token(json!({})).unwrap();
    let r = call(ok).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Another client's token of the same environment.
    let other = app
        .emulator
        .mint_access_token(json!({"aud": ["skc_another_app"], "client_id": "skc_another_app"}))
        .unwrap();
    let r = call(other).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        www(&r).contains("not meant for this audience"),
        "{}",
        www(&r)
    );

    // No `aud` at all.
    let none = app
        .emulator
        .mint_access_token(json!({"aud": null}))
        .unwrap();
    assert_eq!(call(none).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // The user's own ID tokens, whatever marks them: `azp` without
    // `client_id`, `nonce`, `at_hash`, `c_hash`.
    for marks in [
        json!({}),
        json!({"nonce": "n-1"}),
        json!({"client_id": app.emulator.client_id(), "at_hash": "x"}),
        json!({"client_id": app.emulator.client_id(), "c_hash": "x"}),
    ] {
        let id_token = app.emulator.mint_id_token(marks.clone()).unwrap();
        let r = call(id_token).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{marks}");
        assert!(www(&r).contains("not an access token"), "{}", www(&r));
    }

    // An IdP-initiated login token: signed by the environment, no `sub`.
    let url = app
        .emulator
        .idp_initiated_login_url("ada@example.com", None)
        .unwrap();
    let parsed = url::Url::parse(&url).unwrap();
    let idp_token = parsed
        .query_pairs()
        .find(|(k, _)| k == "idp_initiated_login")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let r = call(idp_token.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // ...while it still serves its purpose: the callback starts a new login.
    let r = app
        .http
        .get(format!(
            "{}/auth/callback?idp_initiated_login={idp_token}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{}/oauth/authorize", app.emulator.url())));

    // An access token cannot pass for an IdP-initiated login token.
    let sk = Scalekit::new(config(&app.emulator)).unwrap();
    let access = app.emulator.mint_access_token(json!({})).unwrap();
    assert!(sk.get_idp_initiated_login_claims(&access).await.is_err());
}

#[tokio::test]
async fn two_authorization_headers_are_a_bad_request() {
    let app = start().await;
    let token = app.emulator.mint_access_token(json!({})).unwrap();
    for (first, second) in [
        (format!("Bearer {token}"), "Bearer nonsense".to_owned()),
        ("Bearer nonsense".to_owned(), format!("Bearer {token}")),
        (format!("Bearer {token}"), format!("Bearer {token}")),
    ] {
        let r = app
            .http
            .get(format!("{}/api/me", app.base))
            .header("authorization", first)
            .header("authorization", second)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(www(&r).contains(r#"error="invalid_request""#));
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
    // One header, any scheme case: fine.
    let r = app
        .http
        .get(format!("{}/api/me", app.base))
        .header("authorization", format!("bEaReR {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn webhook_verification_cost_is_bounded() {
    let app = start().await;
    let verifier = app.auth.web().webhook_verifier().unwrap().clone();
    let url = format!("{}/webhooks/scalekit", app.base);
    let now = common::now();
    let body = vec![b'x'; 1024 * 1024 - 64];
    let before = verifier.mac_computations();

    // 12,000 empty entries over a 1 MB body: refused before any MAC.
    let flood = vec!["v1,"; 12_000].join(" ");
    let r = app
        .http
        .post(&url)
        .header("webhook-id", "msg_flood")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", flood)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(verifier.mac_computations(), before);

    // Sixteen wrong entries of the right shape: one MAC (one secret).
    let wrong = sign_payload(
        "whsec_b3RoZXItc2VjcmV0LW9mLWVub3VnaC1sZW5ndGg=",
        "msg_16",
        now,
        &body,
    )
    .unwrap();
    let sixteen = vec![wrong.as_str(); 16].join(" ");
    let r = app
        .http
        .post(&url)
        .header("webhook-id", "msg_16")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", sixteen)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(verifier.mac_computations(), before + 1);

    // A body over the limit (1 MiB): 413, nothing computed.
    let big = vec![b'x'; 1024 * 1024 + 1];
    let signature = sign_payload(WEBHOOK_SECRET, "msg_big", now, &big).unwrap();
    let r = app
        .http
        .post(&url)
        .header("webhook-id", "msg_big")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(verifier.mac_computations(), before + 1);

    // A valid delivery among other-version and malformed entries.
    let event = json!({"id": "evt_1", "type": "organization.sso_enabled", "data": {}}).to_string();
    let good = sign_payload(WEBHOOK_SECRET, "msg_ok", now, event.as_bytes()).unwrap();
    let r = app
        .http
        .post(&url)
        .header("webhook-id", "msg_ok")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", format!("v2,abc v1,!!! v1,AAAA {good}"))
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(verifier.mac_computations(), before + 2);
}

#[tokio::test]
async fn webhooks_are_deduplicated_on_request_and_failed_ones_retried() {
    use axum::http::StatusCode as AxumStatus;
    use axum::routing::post;
    use scalekit_axum::ScalekitWebhook;

    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let verifier = WebhookVerifier::new(WEBHOOK_SECRET)
        .unwrap()
        .deduplicate(Deduplicator::new(1000, Duration::from_secs(3600)));
    let web = ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET)
        .unwrap()
        .webhooks(verifier);
    let auth = ScalekitAuth::new(web);
    let processed = Arc::new(Mutex::new(Vec::<String>::new()));
    let fail_next = Arc::new(Mutex::new(true));
    let (p, f) = (processed.clone(), fail_next.clone());
    let router = axum::Router::new()
        .route(
            "/hook",
            post(move |ScalekitWebhook(event): ScalekitWebhook| async move {
                p.lock().unwrap().push(event.id.clone());
                // The first processing fails: the platform will retry.
                if std::mem::replace(&mut *f.lock().unwrap(), false) {
                    AxumStatus::INTERNAL_SERVER_ERROR
                } else {
                    AxumStatus::OK
                }
            }),
        )
        .layer(auth.layer());
    let _server = common::apps::serve(listener, router);
    let http = reqwest::Client::new();
    let event = json!({"id": "evt_9", "type": "user.created", "data": {}}).to_string();
    let deliver = |id: &'static str| {
        let now = common::now();
        let signature = sign_payload(WEBHOOK_SECRET, id, now, event.as_bytes()).unwrap();
        http.post(format!("{base}/hook"))
            .header("webhook-id", id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(event.clone())
            .send()
    };
    // Fails, is forgotten; the retry is processed; the next retry is a
    // duplicate, acknowledged without running the handler.
    assert_eq!(deliver("msg_a").await.unwrap().status(), 500);
    assert_eq!(deliver("msg_a").await.unwrap().status(), 200);
    let dup = deliver("msg_a").await.unwrap();
    assert_eq!(dup.status(), 200);
    assert_eq!(dup.text().await.unwrap(), r#"{"duplicate":true}"#);
    assert_eq!(*processed.lock().unwrap(), ["evt_9", "evt_9"]);
    // Another delivery id is processed.
    assert_eq!(deliver("msg_b").await.unwrap().status(), 200);
    assert_eq!(processed.lock().unwrap().len(), 3);
}

/// A listener that counts the requests it receives and keeps their bodies.
async fn counting_listener() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let router = axum::Router::new().fallback(move |body: String| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(body);
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    common::apps::serve(listener, router);
    (url, seen)
}

#[tokio::test]
async fn platform_redirects_are_never_followed() {
    let emulator = common::emulator().await;
    let (elsewhere, seen) = counting_listener().await;
    let sk = Scalekit::new(config(&emulator)).unwrap();

    emulator.inject_fault(
        EmulatorEndpoint::Token,
        Fault::Redirect {
            status: 307,
            location: format!("{elsewhere}/oauth/token"),
        },
    );
    let err = sk.client_credentials_token(&[], None).await.unwrap_err();
    assert_eq!(err, TokenError::Redirect(307));
    let err = sk.refresh_access_token("rt_1").await.unwrap_err();
    assert_eq!(err, TokenError::Redirect(307));
    emulator.clear_faults();

    emulator.inject_fault(
        EmulatorEndpoint::Keys,
        Fault::Redirect {
            status: 307,
            location: format!("{elsewhere}/keys"),
        },
    );
    let cache = JwksCache::new(format!("{}/keys", emulator.url())).unwrap();
    assert_eq!(cache.refresh().await, Err(JwksFetchError::Redirect(307)));
    // Validation with no keys at all: 503, not a key from elsewhere.
    let token = emulator.mint_access_token(json!({})).unwrap();
    assert_eq!(
        sk.validate_token::<scalekit_core::AccessTokenClaims>(&token)
            .await
            .unwrap_err(),
        scalekit_core::ValidationError::KeysUnavailable
    );
    emulator.clear_faults();

    // The secret never reached the second listener.
    assert!(seen.lock().unwrap().is_empty());
    assert!(emulator.request_count(EmulatorEndpoint::Token) >= 2);

    // A client that follows redirects (against the documentation) still
    // gets a typed error, not the other server's answer.
    let following = reqwest::Client::new();
    let sk = Scalekit::with_http_client(config(&emulator), following, Default::default()).unwrap();
    emulator.inject_fault(
        EmulatorEndpoint::Token,
        Fault::Redirect {
            status: 302,
            location: format!("{elsewhere}/oauth/token"),
        },
    );
    let err = sk.client_credentials_token(&[], None).await.unwrap_err();
    assert!(matches!(err, TokenError::Redirect(_)), "{err:?}");
}

#[tokio::test]
async fn oversized_platform_answers_are_refused() {
    use axum::routing::post;
    // A token endpoint that answers 10 MB.
    let router = axum::Router::new().route(
        "/oauth/token",
        post(|| async { "x".repeat(10 * 1024 * 1024) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    common::apps::serve(listener, router);
    let sk = Scalekit::new(ScalekitConfig::new(&url, "skc_1", "secret").unwrap()).unwrap();
    assert_eq!(
        sk.client_credentials_token(&[], None).await.unwrap_err(),
        TokenError::TooLarge
    );
}

/// `GET path` (a login route): the login-state cookie and the
/// authorization URL it redirects to.
async fn start_login(app: &App, path: &str) -> (String, url::Url) {
    let r = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let authorize = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    (cookie, authorize)
}

/// Signs in on the emulator's page as `user_id`: the callback URL, with
/// its `code` and `state`.
async fn authorize_as(app: &App, authorize: &url::Url, user_id: &str) -> String {
    let mut form: Vec<(String, String)> = authorize
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("user_id".into(), user_id.to_owned()));
    let submitted = app
        .http
        .post(format!("{}/oauth/authorize", app.emulator.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), StatusCode::FOUND);
    submitted.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_callback_from_another_login_is_refused() {
    // Login CSRF: the attacker completes a login of their own and sends the
    // victim to the callback with the attacker's code and state. The
    // victim's browser holds its own login state (or none): refused, and no
    // session cookie is set.
    let app = start().await;
    let (_, attacker_authorize) = start_login(&app, "/auth/login").await;
    let attacker_user = app
        .emulator
        .users()
        .into_iter()
        .find(|u| u.email != app.emulator.test_user().email)
        .unwrap();
    let attacker_callback = authorize_as(&app, &attacker_authorize, &attacker_user.id).await;
    let (victim_cookie, _) = start_login(&app, "/auth/login").await;
    for cookie in [Some(victim_cookie), None] {
        let mut request = app.http.get(&attacker_callback);
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(
            r.headers().get_all("set-cookie").iter().all(|c| !c
                .to_str()
                .unwrap()
                .contains("sk_session=")
                || c.to_str().unwrap().contains("Max-Age=0")),
            "no session may start"
        );
    }
}

#[tokio::test]
async fn non_ascii_return_targets_and_realms_never_break_answers() {
    let app = start().await;
    // A decoded return target with non-ASCII characters survives a whole
    // sign-in and comes back percent-encoded in `Location`.
    let (state_cookie, authorize) =
        start_login(&app, "/auth/login?return_to=%2Fcaf%C3%A9%3Fx%3D%C3%BC").await;
    let callback = authorize_as(&app, &authorize, &app.emulator.test_user().id).await;
    let r = app
        .http
        .get(callback)
        .header("cookie", state_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/caf%C3%A9?x=%C3%BC");
    // A protected browser route under a non-ASCII path.
    let r = app
        .http
        .get(format!("{}/dashboard?q=%C3%A9", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/auth/login?return_to="));

    // A non-ASCII realm and scope still produce the challenge header.
    use axum::routing::get;
    use scalekit_axum::RequireScopes;
    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let web = ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET)
        .unwrap()
        .realm("réalm");
    let auth = ScalekitAuth::new(web);
    let router = axum::Router::new()
        .route(
            "/x",
            get(|| async { "ok" }).route_layer(RequireScopes::all(["lire:données"])),
        )
        .layer(auth.layer());
    common::apps::serve(listener, router);
    let http = reqwest::Client::new();
    let r = http.get(format!("{base}/x")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www(&r), r#"Bearer realm="r%C3%A9alm""#);
    let token = emulator.mint_access_token(json!({})).unwrap();
    let r = http
        .get(format!("{base}/x"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(www(&r).ends_with(r#"scope="lire:donn%C3%A9es""#));
}

#[tokio::test]
async fn huge_configured_durations_do_not_overflow() {
    let emulator = common::emulator().await;
    let options = scalekit_core::JwksOptions::default()
        .max_age(Duration::MAX)
        .min_age(Duration::MAX)
        .cooldown(Duration::MAX)
        .failure_backoff(Duration::MAX);
    let cache = JwksCache::builder(format!("{}/keys", emulator.url()))
        .options(options)
        .build()
        .unwrap();
    assert_eq!(cache.refresh().await, Ok(1));
    emulator.inject_fault(EmulatorEndpoint::Keys, Fault::Status(500));
    assert!(cache.refresh().await.is_err());
    let validator = scalekit_core::TokenValidator::new(
        cache,
        scalekit_core::ValidationOptions::new(emulator.url())
            .audience(emulator.client_id())
            .leeway(Duration::MAX),
    );
    let token = emulator.mint_access_token(json!({})).unwrap();
    assert!(
        validator
            .validate::<scalekit_core::AccessTokenClaims>(&token)
            .await
            .is_ok()
    );
    let verifier = WebhookVerifier::new(WEBHOOK_SECRET)
        .unwrap()
        .tolerance(Duration::MAX);
    let signature = sign_payload(WEBHOOK_SECRET, "msg_1", 0, b"{}").unwrap();
    let headers = [
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", "0"),
        ("webhook-signature", signature.as_str()),
    ];
    assert!(verifier.verify(&headers[..], b"{}").is_ok());
}
