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

/// The axum full-stack example.
async fn start() -> App {
    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let auth = scalekit_examples::axum_fullstack::auth(
        config(&emulator),
        &base,
        common::apps::SESSION_SECRET,
        Some(WEBHOOK_SECRET),
        None,
    )
    .unwrap();
    let server = common::apps::serve(listener, scalekit_examples::axum_fullstack::app(&auth));
    App {
        base,
        emulator,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_deduplicated_on_request_and_failed_ones_retried() {
    for framework in [
        common::apps::Framework::Axum,
        common::apps::Framework::Actix,
    ] {
        deduplicated_webhooks(framework).await;
    }
}

async fn deduplicated_webhooks(framework: common::apps::Framework) {
    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let verifier = WebhookVerifier::new(WEBHOOK_SECRET)
        .unwrap()
        .deduplicate(Deduplicator::new(1000, Duration::from_secs(3600)));
    let web = ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET)
        .unwrap()
        .webhooks(verifier);
    let processed = Arc::new(Mutex::new(Vec::<String>::new()));
    let fail_next = Arc::new(Mutex::new(true));
    // The first processing fails: the platform will retry.
    let handle = {
        let (p, f) = (processed.clone(), fail_next.clone());
        move |id: String| {
            p.lock().unwrap().push(id);
            !std::mem::replace(&mut *f.lock().unwrap(), false)
        }
    };
    let _server = match framework {
        common::apps::Framework::Axum => {
            use axum::http::StatusCode as AxumStatus;
            use axum::routing::post;
            let auth = ScalekitAuth::new(web);
            let router = axum::Router::new()
                .route(
                    "/hook",
                    post(
                        move |scalekit_axum::ScalekitWebhook(event): scalekit_axum::ScalekitWebhook| async move {
                            if handle(event.id) {
                                AxumStatus::OK
                            } else {
                                AxumStatus::INTERNAL_SERVER_ERROR
                            }
                        },
                    ),
                )
                .layer(auth.layer());
            common::apps::Server::Axum(common::apps::serve(listener, router))
        }
        common::apps::Framework::Actix => {
            use actix_web::{HttpResponse, web};
            let auth = scalekit_actix::ScalekitAuth::new(web);
            common::apps::Server::Actix(common::apps::serve_actix(listener, auth, move |config| {
                let handle = handle.clone();
                config.route(
                    "/hook",
                    web::post().to(
                        move |scalekit_actix::ScalekitWebhook(event): scalekit_actix::ScalekitWebhook| {
                            let ok = handle(event.id);
                            async move {
                                if ok {
                                    HttpResponse::Ok().finish()
                                } else {
                                    HttpResponse::InternalServerError().finish()
                                }
                            }
                        },
                    ),
                );
            }))
        }
    };
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

#[tokio::test]
async fn non_ascii_return_targets_and_realms_never_break_answers() {
    let app = start().await;
    // A decoded return target with non-ASCII characters survives a whole
    // sign-in and comes back percent-encoded in `Location`.
    let (state_cookie, authorize) =
        common::apps::start_login(&app.base, "/auth/login?return_to=%2Fcaf%C3%A9%3Fx%3D%C3%BC")
            .await;
    let callback =
        common::apps::authorize_as(&app.emulator, &authorize, &app.emulator.test_user().id).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_behind_the_middleware_leaves_the_server_serving() {
    #[allow(clippy::unused_async)]
    async fn boom() -> &'static str {
        panic!("handler panic (expected by the test)")
    }
    for framework in [
        common::apps::Framework::Axum,
        common::apps::Framework::Actix,
    ] {
        let (listener, base, builder) = common::apps::bind().await;
        let emulator = builder.start().await.unwrap();
        let web =
            ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET).unwrap();
        let _server = match framework {
            common::apps::Framework::Axum => {
                use axum::routing::get;
                let auth = ScalekitAuth::new(web);
                let router = axum::Router::new()
                    .route("/boom", get(boom))
                    .route("/ok", get(|| async { "ok" }))
                    .layer(auth.layer());
                common::apps::Server::Axum(common::apps::serve(listener, router))
            }
            common::apps::Framework::Actix => {
                use actix_web::web;
                let auth = scalekit_actix::ScalekitAuth::new(web);
                common::apps::Server::Actix(common::apps::serve_actix(listener, auth, |config| {
                    config
                        .route("/boom", web::get().to(boom))
                        .route("/ok", web::get().to(|| async { "ok" }));
                }))
            }
        };
        let http = reqwest::Client::new();
        let token = emulator.mint_access_token(json!({})).unwrap();
        // The panic: a dropped connection or the framework's own 500.
        match http
            .get(format!("{base}/boom"))
            .bearer_auth(&token)
            .send()
            .await
        {
            Ok(r) => assert_eq!(
                r.status(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "{framework:?}"
            ),
            Err(err) => assert!(!err.is_timeout(), "{framework:?}: {err}"),
        }
        // The server goes on serving, authentication included.
        for _ in 0..4 {
            let r = http
                .get(format!("{base}/ok"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{framework:?}");
        }
    }
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn untrusted_strings_cannot_forge_log_lines() {
    let emulator = common::emulator().await;
    let web = ScalekitAuth::web_auth(
        config(&emulator),
        "http://localhost:3000",
        common::apps::SESSION_SECRET,
    )
    .unwrap();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // A login state, so that the callback reaches the platform's `error`.
    let login = web
        .login(
            &Default::default(),
            &scalekit_core::web::RequestOrigin::default(),
        )
        .await;
    let scalekit_core::web::WebResponse::Redirect { set_cookies, .. } = login else {
        panic!("a redirect");
    };
    let state_cookie = set_cookies[0].split(';').next().unwrap().to_owned();
    let forged = "x\n2099-01-01T00:00:00Z  INFO admin signed in";
    let query = [("error".to_owned(), forged.to_owned())]
        .into_iter()
        .collect();
    let cookies = scalekit_core::session::RequestCookies::parse([state_cookie.as_str()]);
    let answer = web
        .callback(
            &query,
            &cookies,
            &scalekit_core::web::RequestOrigin::default(),
        )
        .await;
    assert!(matches!(
        answer,
        scalekit_core::web::WebResponse::Page { status: 400, .. }
    ));
    // A token whose `kid` carries a line break.
    let token = emulator
        .sign_with_header(
            &json!({"alg": "RS256", "kid": "k\nINFO forged kid"}),
            &emulator.access_token_claims(json!({})),
        )
        .unwrap();
    let _ = web
        .authenticate(
            Some(format!("Bearer {token}").as_str()),
            &Default::default(),
        )
        .await;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("the platform returned an error"), "{log}");
    assert!(log.contains(r"x\n2099"), "quoted: {log}");
    assert!(log.contains(r"k\nINFO forged kid"), "quoted: {log}");
    for line in log.lines() {
        assert!(!line.starts_with("2099-01-01"), "forged line: {line}");
        assert!(!line.starts_with("INFO forged"), "forged line: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_return_target_is_the_full_path_under_a_prefix() {
    for framework in [
        common::apps::Framework::Axum,
        common::apps::Framework::Actix,
    ] {
        let (listener, base, builder) = common::apps::bind().await;
        let emulator = builder.start().await.unwrap();
        let web =
            ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET).unwrap();
        let _server = match framework {
            common::apps::Framework::Axum => {
                use axum::routing::get;
                let auth = ScalekitAuth::new(web);
                let inner = axum::Router::new().route(
                    "/page",
                    get(|| async { "ok" }).route_layer(auth.require_browser()),
                );
                let router = axum::Router::new().nest("/app", inner).layer(auth.layer());
                common::apps::Server::Axum(common::apps::serve(listener, router))
            }
            common::apps::Framework::Actix => {
                use actix_web::web;
                let auth = scalekit_actix::ScalekitAuth::new(web);
                let browser = auth.require_browser();
                common::apps::Server::Actix(common::apps::serve_actix(
                    listener,
                    auth,
                    move |config| {
                        config.service(
                            web::scope("/app")
                                .wrap(browser.clone())
                                .route("/page", web::get().to(|| async { "ok" })),
                        );
                    },
                ))
            }
        };
        let r = common::apps::no_redirects()
            .get(format!("{base}/app/page?tab=2"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FOUND, "{framework:?}");
        assert_eq!(
            r.headers()["location"],
            "/auth/login?return_to=%2Fapp%2Fpage%3Ftab%3D2",
            "{framework:?}"
        );
    }
}
