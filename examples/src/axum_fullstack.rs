//! The axum full-stack application of the examples contract (DESIGN.md).

use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use scalekit_axum::{AuthUser, Require, ScalekitAuth, ScalekitWebhook};
use scalekit_core::authz::{GrantKind, Match, Requirement};
use scalekit_core::web::{ProtectedResource, escape_html};
use scalekit_core::webhook::WebhookVerifier;
use scalekit_core::{ConfigError, ScalekitConfig};
use serde_json::json;

/// Builds the auth of the application.
pub fn auth(
    config: ScalekitConfig,
    base_url: &str,
    session_secret: &str,
    webhook_secret: Option<&str>,
) -> Result<ScalekitAuth, ConfigError> {
    let mut web = ScalekitAuth::web_auth(config, base_url, session_secret)?
        .realm("axum-fullstack")
        .protected_resource(ProtectedResource {
            resource: base_url.to_owned(),
            scopes_supported: vec!["admin:read".into()],
            documentation: None,
        });
    if let Some(secret) = webhook_secret {
        let verifier = WebhookVerifier::new(secret).map_err(|_| {
            ConfigError::new(
                "SCALEKIT_WEBHOOK_SECRET",
                scalekit_core::ConfigProblem::NotAWebhookSecret,
            )
        })?;
        web = web.webhooks(verifier);
    }
    Ok(ScalekitAuth::new(web))
}

/// The application's router.
pub fn app(auth: &ScalekitAuth) -> Router {
    let admin = Requirement::clause(GrantKind::ScopeOrPermission, Match::All, ["admin:read"]);
    Router::new()
        .route("/", get(home))
        .route(
            "/dashboard",
            get(dashboard).route_layer(auth.require_browser()),
        )
        .route("/api/me", get(me).route_layer(auth.require()))
        .route(
            "/api/admin",
            get(admin_route).route_layer(Require::layer(admin)),
        )
        .route("/webhooks/scalekit", post(webhook))
        .merge(auth.routes())
        .layer(auth.layer())
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Scalekit axum example</title></head><body>{body}</body></html>"
    ))
}

async fn home(user: Option<AuthUser>) -> Html<String> {
    match user {
        Some(user) => page(&format!(
            "<p>Signed in as <strong id=\"email\">{}</strong>.</p><p><a href=\"/dashboard\">Dashboard</a> · <a href=\"/auth/logout\" id=\"logout\">Sign out</a></p>",
            escape_html(user.email().unwrap_or(user.subject()))
        )),
        None => page(
            "<p>You are not signed in.</p><p><a href=\"/auth/login\" id=\"login\">Sign in</a></p>",
        ),
    }
}

async fn dashboard(user: AuthUser) -> Html<String> {
    page(&format!(
        "<h1>Dashboard</h1><p id=\"email\">{}</p><p><a href=\"/auth/logout\" id=\"logout\">Sign out</a></p>",
        escape_html(user.email().unwrap_or(user.subject()))
    ))
}

async fn me(user: AuthUser) -> impl IntoResponse {
    let claims = &user.claims;
    let mut body = json!({
        "sub": user.subject(),
        "oid": claims.organization_id(),
        "roles": claims.roles,
        "permissions": claims.permissions,
        "scopes": claims.scopes().iter().collect::<Vec<_>>(),
    });
    if let (Some(email), Some(map)) = (user.email(), body.as_object_mut()) {
        map.insert("email".into(), json!(email));
    }
    Json(body)
}

async fn admin_route() -> Json<serde_json::Value> {
    Json(json!({"ok": true}))
}

async fn webhook(ScalekitWebhook(event): ScalekitWebhook) -> Json<serde_json::Value> {
    tracing::info!(event = %event.id, kind = event.event_type.as_str(), "webhook received");
    Json(json!({"received": event.event_type.as_str()}))
}
