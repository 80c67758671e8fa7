//! The axum full-stack application of the examples contract (DESIGN.md).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scalekit_axum::{AuthUser, Require, ScalekitAuth, ScalekitWebhook, SessionValue};
use scalekit_core::authz::{GrantKind, Match, Requirement};
use scalekit_core::web::SessionStoreUrl;
use scalekit_core::{ConfigError, ScalekitConfig};

use crate::fullstack::{self, JsonAnswer, Preferences};

/// Builds the auth of the application (sessions in the store
/// `session_store` names when given, else cookie-only).
pub fn auth(
    config: ScalekitConfig,
    base_url: &str,
    session_secret: &str,
    webhook_secret: Option<&str>,
    session_store: Option<&SessionStoreUrl>,
) -> Result<ScalekitAuth, ConfigError> {
    fullstack::web_auth(
        config,
        base_url,
        session_secret,
        webhook_secret,
        session_store,
        "axum-fullstack",
    )
    .map(ScalekitAuth::new)
}

/// The application's router.
pub fn app(auth: &ScalekitAuth) -> Router {
    let admin = Requirement::clause(GrantKind::ScopeOrPermission, Match::All, ["admin:read"]);
    let names = fullstack::OrganizationNames::new(auth.web());
    Router::new()
        .route("/", get(home))
        .route(
            "/dashboard",
            get({
                let auth = auth.clone();
                move |user: AuthUser| async move {
                    let expires = fullstack::session_expires_at(auth.web(), &user);
                    let name = match user.organization_id() {
                        Some(id) => names.name(id).await,
                        None => None,
                    };
                    Html(fullstack::dashboard(&user, expires, name.as_deref()))
                }
            })
            .route_layer(auth.require_browser()),
        )
        // The `AuthUser` argument is the guard: without a caller the
        // extractor answers 401 with the challenge, as `auth.require()`
        // does (used on the next route), at no extra layer.
        .route("/api/me", get(me))
        .route(
            "/api/preferences",
            get(preferences)
                .put(update_preferences)
                .route_layer(auth.require()),
        )
        .route(
            "/api/admin",
            get(|| async { Json(fullstack::admin()) }).route_layer(Require::layer(admin)),
        )
        .route("/webhooks/scalekit", post(webhook))
        .merge(auth.routes())
        .layer(auth.layer())
        // Outside the auth layer: the unprotected floor of scripts/bench-http.
        .route("/health", get(|| async { "ok" }))
}

async fn home(user: Option<AuthUser>) -> Html<String> {
    Html(fullstack::home(user.as_deref()))
}

async fn me(user: AuthUser) -> Response {
    Json(fullstack::me(&user)).into_response()
}

async fn preferences(prefs: SessionValue<Preferences>) -> Json<serde_json::Value> {
    Json(fullstack::preferences(prefs.get()))
}

async fn update_preferences(
    mut prefs: SessionValue<Preferences>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let next = match fullstack::update_preferences(prefs.get(), content_type, &body) {
        Ok(next) => next,
        Err(answer) => return json_answer(answer),
    };
    match prefs.set(next).await {
        Ok(()) => Json(fullstack::preferences(prefs.get())).into_response(),
        Err(err) => json_answer(fullstack::preferences_not_saved(&err)),
    }
}

fn json_answer((status, body): JsonAnswer) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

async fn webhook(ScalekitWebhook(event): ScalekitWebhook) -> Json<serde_json::Value> {
    Json(fullstack::webhook_received(&event))
}
