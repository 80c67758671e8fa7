//! An attacker's inputs against the axum full-stack example and the core
//! (SECURITY.md): audience confusion, tokens of the wrong kind, duplicated
//! `Authorization` headers, webhook verification cost and body size,
//! redirects from platform endpoints, non-ASCII return targets.

use crate::common;

use common::apps::Framework;

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

/// How the webhook handler of [`webhooks_are_deduplicated_and_a_delivery_not_handled_to_success_is_retried`] treats the first
/// delivery of an event (the event id names it); later ones succeed.
#[derive(Clone, Copy, PartialEq, Debug)]
enum FirstTime {
    /// Answers `500`.
    Fails,
    /// Panics.
    Panics,
    /// Never finishes (the client gives up; the server drops the future).
    Hangs,
    /// (actix-web) Returns an `Err` from the handler.
    Errs,
    Succeeds,
}

fn first_time(event_id: &str) -> FirstTime {
    match event_id {
        "evt_fails" => FirstTime::Fails,
        "evt_panics" => FirstTime::Panics,
        "evt_hangs" => FirstTime::Hangs,
        "evt_errs" => FirstTime::Errs,
        _ => FirstTime::Succeeds,
    }
}

/// An actix-web middleware answering `408` after 300 ms, dropping the
/// inner services' future.
async fn actix_timeout(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    match tokio::time::timeout(Duration::from_millis(300), next.call(request)).await {
        Ok(answer) => answer.map(actix_web::dev::ServiceResponse::map_into_boxed_body),
        Err(_) => Err(actix_web::error::ErrorRequestTimeout("timed out")),
    }
}

async fn webhooks_are_deduplicated_and_a_delivery_not_handled_to_success_is_retried(
    framework: Framework,
) {
    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let verifier = WebhookVerifier::new(WEBHOOK_SECRET)
        .unwrap()
        .deduplicate(Deduplicator::new(1000, Duration::from_secs(3600)));
    let web = ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET)
        .unwrap()
        .webhooks(verifier);
    let processed = Arc::new(Mutex::new(Vec::<String>::new()));
    // What the handler does with this event: the first time as its id
    // says, then it succeeds.
    let handle = {
        let p = processed.clone();
        move |id: String| {
            let mut p = p.lock().unwrap();
            let first = !p.contains(&id);
            p.push(id.clone());
            if first {
                first_time(&id)
            } else {
                FirstTime::Succeeds
            }
        }
    };
    let _server = match framework {
        Framework::Axum => {
            use ::axum::http::StatusCode as AxumStatus;
            use ::axum::routing::post;
            let auth = ScalekitAuth::new(web);
            let router = ::axum::Router::new()
                .route(
                    "/hook",
                    post(
                        move |scalekit_axum::ScalekitWebhook(event): scalekit_axum::ScalekitWebhook| async move {
                            match handle(event.id) {
                                FirstTime::Fails | FirstTime::Errs => AxumStatus::INTERNAL_SERVER_ERROR,
                                FirstTime::Panics => panic!("the handler panics"),
                                FirstTime::Hangs => {
                                    tokio::time::sleep(Duration::from_secs(3600)).await;
                                    AxumStatus::OK
                                }
                                FirstTime::Succeeds => AxumStatus::OK,
                            }
                        },
                    ),
                )
                .layer(auth.layer())
                // A timeout outside the auth layer: it drops the layer's
                // future (hyper does not notice a client that went away
                // while a handler runs).
                .layer(::axum::middleware::from_fn(
                    |request: ::axum::extract::Request, next: ::axum::middleware::Next| async move {
                        use ::axum::response::IntoResponse as _;
                        tokio::time::timeout(Duration::from_millis(300), next.run(request))
                            .await
                            .unwrap_or_else(|_| AxumStatus::REQUEST_TIMEOUT.into_response())
                    },
                ));
            common::apps::Server::Axum(common::apps::serve(listener, router))
        }
        Framework::Actix => {
            use actix_web::{HttpResponse, web};
            let auth = scalekit_actix::ScalekitAuth::new(web);
            let listener = listener.into_std().unwrap();
            let server = actix_web::HttpServer::new(move || {
                let handle = handle.clone();
                actix_web::App::new()
                    .route(
                        "/hook",
                        web::post().to(
                            move |scalekit_actix::ScalekitWebhook(event): scalekit_actix::ScalekitWebhook| {
                                let what = handle(event.id);
                                async move {
                                    match what {
                                        FirstTime::Fails => Ok(HttpResponse::InternalServerError().finish()),
                                        FirstTime::Errs => Err(actix_web::error::ErrorBadGateway("upstream failed")),
                                        FirstTime::Panics => panic!("the handler panics"),
                                        FirstTime::Hangs => {
                                            tokio::time::sleep(Duration::from_secs(3600)).await;
                                            Ok(HttpResponse::Ok().finish())
                                        }
                                        FirstTime::Succeeds => Ok(HttpResponse::Ok().finish()),
                                    }
                                }
                            },
                        ),
                    )
                    .wrap(auth.middleware())
                    // A timeout outside the auth middleware (wrapped last):
                    // it drops the middleware's future (actix-web does not
                    // notice a client that went away while a handler runs).
                    .wrap(actix_web::middleware::from_fn(actix_timeout))
            })
            .workers(2)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            let handle = server.handle();
            tokio::spawn(server);
            common::apps::Server::Actix(handle)
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let deliver = |id: &'static str, event_id: &'static str| {
        let event = json!({"id": event_id, "type": "user.created", "data": {}}).to_string();
        let now = common::now();
        let signature = sign_payload(WEBHOOK_SECRET, id, now, event.as_bytes()).unwrap();
        http.post(format!("{base}/hook"))
            .header("webhook-id", id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(event)
            .send()
    };
    let runs = |event_id: &str| {
        processed
            .lock()
            .unwrap()
            .iter()
            .filter(|e| *e == event_id)
            .count()
    };
    // Fails, is forgotten; the retry is processed; the next retry is a
    // duplicate, acknowledged without running the handler.
    assert_eq!(deliver("msg_a", "evt_fails").await.unwrap().status(), 500);
    assert_eq!(deliver("msg_a", "evt_fails").await.unwrap().status(), 200);
    let dup = deliver("msg_a", "evt_fails").await.unwrap();
    assert_eq!(dup.status(), 200);
    assert_eq!(dup.text().await.unwrap(), r#"{"duplicate":true}"#);
    assert_eq!(runs("evt_fails"), 2);
    // Another delivery id is processed.
    assert_eq!(deliver("msg_b", "evt_ok").await.unwrap().status(), 200);
    assert_eq!(runs("evt_ok"), 1);

    // A handler that panics, one whose future is dropped (the client gave
    // up and went away) and (actix-web) one that returns an error: none
    // leaves its delivery marked as seen, the platform's retry runs.
    let mut paths = vec![("msg_panics", "evt_panics"), ("msg_hangs", "evt_hangs")];
    if framework == Framework::Actix {
        paths.push(("msg_errs", "evt_errs"));
    }
    for (id, event_id) in paths {
        let first = deliver(id, event_id).await;
        assert!(
            first.as_ref().map_or(true, |r| !r.status().is_success()),
            "{event_id}: {first:?}"
        );
        assert_eq!(runs(event_id), 1, "{event_id}");
        // The retry runs the handler (the server may take a moment to
        // notice a client that went away: retry as the platform would).
        let mut retried = None;
        for _ in 0..30 {
            let r = deliver(id, event_id).await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            if body != r#"{"duplicate":true}"# {
                retried = Some(status);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(retried, Some(reqwest::StatusCode::OK), "{event_id}");
        assert_eq!(runs(event_id), 2, "{event_id}: processed again, once");
        let dup = deliver(id, event_id).await.unwrap();
        assert_eq!(dup.text().await.unwrap(), r#"{"duplicate":true}"#);
        assert_eq!(runs(event_id), 2, "{event_id}");
    }
}

async fn a_nested_mcp_layer_refuses_what_only_the_outer_layer_accepts(framework: Framework) {
    use scalekit_core::web::{ProtectedResource, WebAuth};
    let (listener, base, builder) = common::apps::bind().await;
    let resource = format!("{base}/mcp");
    let emulator = builder
        .mcp_server(scalekit_emulator::McpServer::new(resource.clone()).scopes(["mcp:tools"]))
        .start()
        .await
        .unwrap();
    let server_id = emulator.mcp_servers()[0].id.clone();
    // The application's own layer: its client id, any audience it was
    // told to accept, browser sessions.
    let app_web = ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET)
        .unwrap()
        .accept_audiences(["https://api.example.com", resource.as_str()]);
    // The MCP server's, nested under it on /mcp.
    let mcp_web = WebAuth::for_api(Scalekit::new(config(&emulator)).unwrap(), &base)
        .unwrap()
        .mcp_server(
            ProtectedResource {
                resource: resource.clone(),
                scopes_supported: vec!["mcp:tools".into()],
                documentation: None,
            },
            &server_id,
        );
    let _server = match framework {
        Framework::Axum => {
            use ::axum::routing::{get, post};
            let app = ScalekitAuth::new(app_web);
            let mcp = ScalekitAuth::new(mcp_web);
            let router = ::axum::Router::new()
                .route(
                    "/mcp",
                    post(|user: scalekit_axum::AuthUser| async move { user.subject().to_owned() })
                        .layer(mcp.require()),
                )
                .route(
                    "/api/app",
                    get(|user: scalekit_axum::AuthUser| async move { user.subject().to_owned() }),
                )
                .merge(app.routes())
                .layer(app.layer());
            common::apps::Server::Axum(common::apps::serve(listener, router))
        }
        Framework::Actix => {
            use actix_web::web;
            let app = scalekit_actix::ScalekitAuth::new(app_web);
            let mcp = scalekit_actix::ScalekitAuth::new(mcp_web);
            let routes = app.configure_routes();
            common::apps::Server::Actix(common::apps::serve_actix(listener, app, move |config| {
                routes(config);
                config
                    .service(
                        web::resource("/mcp").wrap(mcp.require()).route(
                            web::post().to(|user: scalekit_actix::AuthUser| async move {
                                user.subject().to_owned()
                            }),
                        ),
                    )
                    .route(
                        "/api/app",
                        web::get().to(|user: scalekit_actix::AuthUser| async move {
                            user.subject().to_owned()
                        }),
                    );
            }))
        }
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let app_token = emulator.mint_access_token(json!({})).unwrap();
    let other_audience = emulator
        .mint_access_token(json!({"aud": ["https://api.example.com"]}))
        .unwrap();
    // Issued by the environment (a resource server accepts it, PROTOCOL.md
    // §10), so that the outer layer, told to accept the MCP resource too,
    // lets it through to the nested one.
    let mcp_token = emulator
        .mint_mcp_access_token(
            &resource,
            json!({"scope": "mcp:tools", "iss": emulator.url()}),
        )
        .unwrap();
    // A browser session of the application.
    let session = common::apps::sign_in_first_user(&emulator, &base).await;

    // The outer layer accepts all of them on its own routes.
    for token in [&app_token, &other_audience, &mcp_token] {
        let r = http
            .get(format!("{base}/api/app"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{framework:?}");
    }
    let r = http
        .get(format!("{base}/api/app"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{framework:?}");

    // The nested MCP route accepts only tokens issued for the MCP server.
    for token in [&app_token, &other_audience] {
        let r = http
            .post(format!("{base}/mcp"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{framework:?}");
        assert!(www(&r).contains("resource_metadata="), "{}", www(&r));
    }
    let r = http
        .post(format!("{base}/mcp"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "{framework:?}: a browser session"
    );
    assert!(
        r.headers().get("set-cookie").is_none(),
        "the application's session cookie is left alone"
    );
    let r = http
        .post(format!("{base}/mcp"))
        .bearer_auth(&mcp_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{framework:?}");
    assert_eq!(r.text().await.unwrap(), user_subject(&emulator, &mcp_token));
}

/// The `sub` of a token minted by the emulator.
fn user_subject(_emulator: &Emulator, token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A listener that counts the requests it receives and keeps their bodies.
async fn counting_listener() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let router = ::axum::Router::new().fallback(move |body: String| {
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
    use ::axum::routing::post;
    // A token endpoint that answers 10 MB.
    let router = ::axum::Router::new().route(
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
    use ::axum::routing::get;
    use scalekit_axum::RequireScopes;
    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let web = ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET)
        .unwrap()
        .realm("réalm");
    let auth = ScalekitAuth::new(web);
    let router = ::axum::Router::new()
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

async fn a_panicking_handler_behind_the_middleware_leaves_the_server_serving(framework: Framework) {
    #[allow(clippy::unused_async)]
    async fn boom() -> &'static str {
        panic!("handler panic (expected by the test)")
    }
    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let web =
        ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET).unwrap();
    let _server = match framework {
        Framework::Axum => {
            use ::axum::routing::get;
            let auth = ScalekitAuth::new(web);
            let router = ::axum::Router::new()
                .route("/boom", get(boom))
                .route("/ok", get(|| async { "ok" }))
                .layer(auth.layer());
            common::apps::Server::Axum(common::apps::serve(listener, router))
        }
        Framework::Actix => {
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

async fn the_login_return_target_is_the_full_path_under_a_prefix(framework: Framework) {
    let (listener, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let web =
        ScalekitAuth::web_auth(config(&emulator), &base, common::apps::SESSION_SECRET).unwrap();
    let _server = match framework {
        Framework::Axum => {
            use ::axum::routing::get;
            let auth = ScalekitAuth::new(web);
            let inner = ::axum::Router::new().route(
                "/page",
                get(|| async { "ok" }).route_layer(auth.require_browser()),
            );
            let router = ::axum::Router::new()
                .nest("/app", inner)
                .layer(auth.layer());
            common::apps::Server::Axum(common::apps::serve(listener, router))
        }
        Framework::Actix => {
            use actix_web::web;
            let auth = scalekit_actix::ScalekitAuth::new(web);
            let browser = auth.require_browser();
            common::apps::Server::Actix(common::apps::serve_actix(listener, auth, move |config| {
                config.service(
                    web::scope("/app")
                        .wrap(browser.clone())
                        .route("/page", web::get().to(|| async { "ok" })),
                );
            }))
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

scenarios!(
    webhooks_are_deduplicated_and_a_delivery_not_handled_to_success_is_retried,
    a_nested_mcp_layer_refuses_what_only_the_outer_layer_accepts,
    a_panicking_handler_behind_the_middleware_leaves_the_server_serving,
    the_login_return_target_is_the_full_path_under_a_prefix,
);
