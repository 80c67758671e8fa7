//! An axum M2M API: bearer tokens and scopes only (no sessions, no login).

use axum::routing::{get, post};
use axum::{Json, Router};
use scalekit_axum::{AuthUser, RequireScopes, ScalekitAuth};
use scalekit_core::web::WebAuth;
use scalekit_core::{Scalekit, ScalekitConfig};
use serde_json::json;

/// The API identifier its M2M clients ask for (the `audience` of their
/// client-credentials grant): `{base_url}/api`.
pub fn api_audience(base_url: &str) -> String {
    format!("{}/api", base_url.trim_end_matches('/'))
}

/// The auth of the API: bearer tokens validated against the environment,
/// for the application's client id or the API identifier
/// ([`api_audience`]).
pub fn auth(config: ScalekitConfig, base_url: &str) -> Result<ScalekitAuth, crate::Error> {
    // Callers reuse their tokens: a verified token skips its signature check
    // for up to a minute (claims are still checked on every request).
    let scalekit = Scalekit::new(config)?
        .accept_audiences([api_audience(base_url)])
        .with_verified_token_cache(100_000, std::time::Duration::from_secs(60));
    Ok(ScalekitAuth::new(
        WebAuth::for_api(scalekit, base_url)?.realm("axum-m2m"),
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
