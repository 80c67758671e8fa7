//! The emulator's HTTP server: a hyper accept loop (so that a fault can drop
//! a connection) in front of an axum router.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::oauth::{NO_STORE, client_credentials, invalid_client, oauth_error};
use crate::{EmulatorEndpoint, Fault, M2mClient, State, lock};

type Shared = Arc<State>;

/// The error that makes hyper close a connection without an answer.
#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedByFault {}

pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (shutdown, watch) = tokio::sync::watch::channel(false);
    let router = router(state.clone());
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors, typically: back off briefly
                    // rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let state = state.clone();
            let router = router.clone();
            let mut watch = watch.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    handle(state.clone(), router.clone(), req)
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = conn => {}
                    _ = watch.changed() => {}
                }
            });
        }
    });
    (shutdown, task)
}

async fn handle(
    state: Shared,
    router: Router,
    req: hyper::Request<Incoming>,
) -> Result<Response, DroppedByFault> {
    let endpoint = EmulatorEndpoint::of_path(req.uri().path());
    state.count(endpoint);
    if let Some(fault) = state.take_fault(endpoint) {
        match fault {
            Fault::Status(code) if endpoint == EmulatorEndpoint::Management => {
                return Ok(crate::management::fault_response(code));
            }
            Fault::Status(code) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Ok((
                    status,
                    Json(json!({"error": "server_error", "error_description": "injected fault"})),
                )
                    .into_response());
            }
            Fault::Delay(delay) => tokio::time::sleep(delay).await,
            Fault::MalformedJson => {
                return Ok((
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"keys": [{"kty": "RSA", "#,
                )
                    .into_response());
            }
            Fault::DropConnection => return Err(DroppedByFault),
            Fault::Redirect { status, location } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
                return Ok((status, [(header::LOCATION, location)]).into_response());
            }
        }
    }
    match router.oneshot(req.map(Body::new)).await {
        Ok(response) => Ok(response),
        Err(never) => match never {},
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(crate::front::front_page))
        .route("/favicon.ico", get(crate::front::favicon))
        .route("/keys", get(keys))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth/token", post(token))
        .route(
            "/oauth/authorize",
            get(crate::flows::authorize_page).post(crate::flows::authorize_submit),
        )
        .route("/oidc/logout", get(crate::flows::logout))
        .route("/sso/idp-initiated", get(crate::flows::idp_initiated))
        .route("/deliveries", get(crate::deliveries::page))
        .route("/outbox", get(crate::passwordless::outbox_page))
        .route("/outbox.json", get(crate::passwordless::outbox_json))
        .route(
            "/deliveries/{number}/resend",
            post(crate::deliveries::resend),
        )
        .route(
            "/directory/{dir}/scim/v2/Users",
            get(crate::scim::list_users).post(crate::scim::create_user),
        )
        .route(
            "/directory/{dir}/scim/v2/Groups",
            get(crate::scim::list_groups).post(crate::scim::create_group),
        )
        .route(
            "/directory/{dir}/scim/v2/{resource}/{id}",
            get(crate::scim::read_one)
                .put(crate::scim::replace_one)
                .patch(crate::scim::patch_one)
                .delete(crate::scim::delete_one),
        )
        .merge(crate::mcp::routes())
        .merge(crate::management::routes(state.clone()))
        .with_state(state)
}

async fn keys(AxumState(state): AxumState<Shared>) -> Response {
    let mut response = Json(state.jwks()).into_response();
    if let Some(cc) = lock(&state.keys_cache_control).as_deref()
        && let Ok(value) = HeaderValue::from_str(cc)
    {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

async fn discovery(AxumState(state): AxumState<Shared>) -> Json<Value> {
    let iss = &state.issuer;
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "jwks_uri": format!("{iss}/keys"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
    }))
}

async fn token(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    };
    if let Some(response) = crate::mcp::token(&state, &headers, &form) {
        return response;
    }
    match form.get("grant_type").map(String::as_str) {
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        ),
        Some("client_credentials") => client_credentials_grant(&state, &headers, &form),
        Some("authorization_code") => {
            crate::flows::authorization_code_grant(&state, &headers, &form)
        }
        Some("refresh_token") => crate::flows::refresh_token_grant(&state, &headers, &form),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "the grant type is not supported",
        ),
    }
}

fn client_credentials_grant(
    state: &State,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Response {
    let Some(auth) = client_credentials(headers, form) else {
        return invalid_client(headers);
    };
    let id = &auth.id;
    let client = lock(&state.m2m_clients).get(id).cloned().or_else(|| {
        (*id == state.client_id)
            .then(|| M2mClient::new(id.clone(), state.client_secret.clone(), ""))
    });
    // Then the organizations' clients created through the management API.
    let client = client.filter(|c| auth.secret_is(&c.secret)).or_else(|| {
        state
            .management
            .organization_client(id, |secret| auth.secret_is(secret))
    });
    let Some(client) = client else {
        return invalid_client(headers);
    };
    let requested: Vec<String> = form
        .get("scope")
        .map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(unknown) = requested.iter().find(|s| !client.scopes.contains(s)) {
        tracing::debug!(scope = %unknown, "scope not granted to the client");
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "a requested scope is not granted to the client",
        );
    }
    let scopes = if requested.is_empty() {
        client.scopes.clone()
    } else {
        requested
    };
    let claims = state.m2m_claims(&client, &scopes, form.get("audience").map(String::as_str));
    match state.sign(&json!({}), &claims) {
        Ok(token) => (
            NO_STORE,
            Json(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": state.m2m_token_ttl_of(&client).as_secs(),
                "scope": scopes.join(" "),
            })),
        )
            .into_response(),
        Err(_) => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the token could not be signed",
        ),
    }
}
