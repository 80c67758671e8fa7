//! The seam proved: a third adapter, over plain `hyper` 1, written from
//! `scalekit_core::web::adapter` alone (the gate, the after-request step,
//! extraction, `into_http`), answers a scenario list exactly as the axum
//! adapter does: no credentials, valid, expired, foreign and forged tokens,
//! two `Authorization` headers, a missing scope, a browser route without a
//! session, and a whole sign-in through the emulator with its session.

use crate::common;

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use scalekit_core::authz::Requirement;
use scalekit_core::session::RequestCookies;
use scalekit_core::web::adapter::{AuthorizationHeaders, Extracted, Gate, RouteBody, RouteRequest};
use scalekit_core::web::{Answer, Mode, WebAuth};
use serde_json::json;

// ------------------------------------------------------ the hyper adapter

fn response(http: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(http.body)));
    *response.status_mut() = hyper::StatusCode::from_u16(http.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in http.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn json_answer(status: u16, body: serde_json::Value) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string(),
    }
}

/// The application: the auth routes, `/api/me` (the caller), `/api/admin`
/// (a scope guard) and `/dashboard` (a browser route), behind the gate.
async fn serve(web: Arc<WebAuth>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let headers = request.headers();
    let authorization = AuthorizationHeaders::from_bytes(
        headers
            .get_all(hyper::header::AUTHORIZATION)
            .iter()
            .map(|v| v.as_bytes()),
    );
    let cookies = RequestCookies::parse_bytes(
        headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .map(|v| v.as_bytes()),
    );
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let path = request.uri().path();
    // The auth routes (the scenarios sign in with GETs only: no body read).
    let route = web.auth_routes().into_iter().find(|(at, _)| at == path);
    if let Some((_, route)) = route {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let query = request.uri().query().unwrap_or_default();
        let method = request.method().as_str();
        let route_request = RouteRequest::new(method, query, header, cookies, RouteBody::None);
        return response(web.serve_route(route, &route_request).await.into_http());
    }
    let mode = match path {
        "/dashboard" => Mode::RequireBrowser,
        "/api/me" | "/api/admin" => Mode::RequireApi,
        _ => Mode::Optional,
    };
    let (gate, set_cookies) = match web.gate_now(mode, None, authorization, &cookies, target) {
        Some(decided) => decided,
        None => {
            web.gate_pending(mode, None, authorization, &cookies, target)
                .await
        }
    };
    let resolution = match gate {
        Gate::Serve(resolution) => resolution,
        Gate::Answer(answer) => {
            let mut http = answer.into_http();
            http.headers
                .extend(set_cookies.into_iter().map(|c| ("set-cookie".into(), c)));
            return response(http);
        }
    };
    let (after, leave) = web.after_gate(resolution, false, set_cookies);
    let extracted = Extracted::new(leave.resolution.as_ref());
    let mut http = match path {
        "/api/me" => match extracted.caller() {
            Ok(caller) => json_answer(200, json!({"sub": caller.subject()})),
            Err(rejection) => rejection.into_answer().into_http(),
        },
        "/api/admin" => match extracted.check(&Requirement::scopes_all(["admin:read"])) {
            None => json_answer(200, json!({"ok": true})),
            Some(rejection) => rejection.into_answer().into_http(),
        },
        "/dashboard" => json_answer(200, json!({"page": "dashboard"})),
        _ => json_answer(404, json!({"error": "not_found"})),
    };
    let finish = after.finish(
        &web,
        http.status,
        || {
            http.headers
                .iter()
                .filter(|(name, _)| name == "set-cookie")
                .map(|(_, value)| value.as_str())
        },
        || http.headers.iter().any(|(name, _)| name == "cache-control"),
    );
    http.headers.extend(
        finish
            .set_cookies
            .into_iter()
            .map(|c| ("set-cookie".into(), c)),
    );
    if let Some(value) = finish.cache_control {
        http.headers.push(("cache-control".into(), value.into()));
    }
    response(http)
}

fn start_hyper(listener: tokio::net::TcpListener, web: Arc<WebAuth>) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let web = web.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let web = web.clone();
                    async move { Ok::<_, Infallible>(serve(web, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

// --------------------------------------------- the same app on axum

fn start_axum(listener: tokio::net::TcpListener, web: WebAuth) {
    use axum::Json;
    use axum::routing::get;
    use scalekit_axum::{AuthUser, RequireScopes, ScalekitAuth};
    let auth = ScalekitAuth::new(web);
    let app = axum::Router::new()
        .route(
            "/api/me",
            get(|user: AuthUser| async move { Json(json!({"sub": user.subject()})) })
                .route_layer(auth.require()),
        )
        .route(
            "/api/admin",
            get(|| async { Json(json!({"ok": true})) })
                .route_layer(RequireScopes::all(["admin:read"]))
                .route_layer(auth.require()),
        )
        .route(
            "/dashboard",
            get(|| async { Json(json!({"page": "dashboard"})) })
                .route_layer(auth.require_browser()),
        )
        .merge(auth.routes())
        .layer(auth.layer());
    common::apps::serve(listener, app);
}

// ------------------------------------------------------------- scenarios

/// What a client sees of an answer, with the values that differ per run
/// (ports, random state) masked.
async fn seen(response: reqwest::Response, bases: &[&str]) -> String {
    let mut text = format!("{}", response.status().as_u16());
    for name in [
        "www-authenticate",
        "content-type",
        "cache-control",
        "retry-after",
    ] {
        if let Some(v) = response.headers().get(name) {
            text.push_str(&format!(" {name}={}", v.to_str().unwrap()));
        }
    }
    if let Some(location) = response.headers().get("location") {
        let location = location.to_str().unwrap();
        text.push_str(&format!(
            " location={}",
            location.split('?').next().unwrap()
        ));
    }
    let names: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split('=').next().unwrap().to_owned())
        .collect();
    text.push_str(&format!(" cookies={names:?} "));
    text.push_str(&response.text().await.unwrap());
    for base in bases {
        text = text.replace(base, "<base>");
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hyper_adapter_from_the_adapter_module_answers_as_axum_does() {
    let (hyper_listener, hyper_base, builder) = common::apps::bind().await;
    let axum_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let axum_base = format!(
        "http://127.0.0.1:{}",
        axum_listener.local_addr().unwrap().port()
    );
    let emulator = builder
        .redirect_uri(format!("{axum_base}/auth/callback"))
        .start()
        .await
        .unwrap();
    let config = || {
        scalekit_core::ScalekitConfig::new(
            emulator.url(),
            emulator.client_id(),
            emulator.client_secret(),
        )
        .unwrap()
    };
    let web = |base: &str| {
        scalekit_axum::ScalekitAuth::web_auth(config(), base, common::apps::SESSION_SECRET).unwrap()
    };
    start_hyper(hyper_listener, Arc::new(web(&hyper_base)));
    start_axum(axum_listener, web(&axum_base));

    let valid = emulator
        .mint_access_token(json!({"scope": "openid"}))
        .unwrap();
    let admin = emulator
        .mint_access_token(json!({"scope": "admin:read"}))
        .unwrap();
    let expired = emulator
        .mint_access_token(json!({"exp": common::now() - 600, "iat": common::now() - 900}))
        .unwrap();
    let foreign = emulator
        .mint_access_token(json!({"aud": ["skc_someone_else"]}))
        .unwrap();
    let forged = format!("{}x", &valid[..valid.len() - 1]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("/api/me", vec![]),
        ("/api/me", vec![format!("Bearer {valid}")]),
        ("/api/me", vec![format!("Bearer {expired}")]),
        ("/api/me", vec![format!("Bearer {foreign}")]),
        ("/api/me", vec![format!("Bearer {forged}")]),
        (
            "/api/me",
            vec![format!("Bearer {valid}"), format!("Bearer {valid}")],
        ),
        ("/api/me", vec!["Basic dXNlcjpwYXNz".into()]),
        ("/api/admin", vec![format!("Bearer {valid}")]),
        ("/api/admin", vec![format!("Bearer {admin}")]),
        ("/dashboard?tab=1", vec![]),
        ("/dashboard", vec![format!("Bearer {valid}")]),
    ];
    let bases = [hyper_base.as_str(), axum_base.as_str()];
    for (path, authorization) in &cases {
        let mut answers = Vec::new();
        for base in bases {
            let mut request = http.get(format!("{base}{path}"));
            for value in authorization {
                request = request.header("authorization", value);
            }
            answers.push(seen(request.send().await.unwrap(), &bases).await);
        }
        assert_eq!(answers[0], answers[1], "{path} {authorization:?}");
    }

    // A whole sign-in on each, then the session on /api/me.
    let mut sessions = Vec::new();
    for base in bases {
        let cookie = common::apps::sign_in_first_user(&emulator, base).await;
        let me = http
            .get(format!("{base}/api/me"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        sessions.push(seen(me, &bases).await);
    }
    assert_eq!(sessions[0], sessions[1]);
    assert!(sessions[0].starts_with("200"), "{}", sessions[0]);
}
