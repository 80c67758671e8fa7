//! An axum M2M API: bearer tokens and scopes only (no sessions, no login).

use axum::routing::{get, post};
use axum::{Json, Router};
use scalekit_axum::{AuthUser, RequireScopes, ScalekitAuth};
use scalekit_core::session::{CookieCodec, CookieSettings, SessionManager};
use scalekit_core::web::WebAuth;
use scalekit_core::{ConfigError, Scalekit, ScalekitConfig};
use serde_json::json;

/// The auth of the API: bearer tokens validated against the environment.
pub fn auth(config: ScalekitConfig, base_url: &str) -> Result<ScalekitAuth, ConfigError> {
    let scalekit = Scalekit::new(config)?;
    // No browser sessions here; the manager only has to exist.
    let secret = format!(
        "{}{}",
        scalekit_core::oauth::generate_state().unwrap_or_default(),
        scalekit_core::oauth::generate_nonce().unwrap_or_default()
    );
    let sessions = SessionManager::new(
        scalekit.clone(),
        CookieCodec::new([secret])?,
        CookieSettings::for_base_url(base_url),
    );
    Ok(ScalekitAuth::new(
        WebAuth::new(scalekit, sessions, base_url).realm("axum-m2m"),
    ))
}

/// The API's router: `/health` is open, `/api/reports` needs
/// `reports:read`, `POST /api/deploy` needs `deploy:write`.
pub fn app(auth: &ScalekitAuth) -> Router {
    Router::new()
        .route(
            "/api/reports",
            get(reports).route_layer(RequireScopes::all(["reports:read"])),
        )
        .route(
            "/api/deploy",
            post(deploy).route_layer(RequireScopes::all(["deploy:write"])),
        )
        .route_layer(auth.require())
        .route("/health", get(|| async { "ok" }))
        .layer(auth.layer())
}

async fn reports(caller: AuthUser) -> Json<serde_json::Value> {
    Json(json!({
        "client_id": caller.claims.client_id,
        "organization_id": caller.claims.organization_id(),
        "reports": ["weekly", "monthly"],
    }))
}

async fn deploy(caller: AuthUser) -> Json<serde_json::Value> {
    Json(json!({"deployed_by": caller.subject()}))
}
