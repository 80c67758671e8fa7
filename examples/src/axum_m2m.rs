//! An axum M2M API: bearer tokens and scopes only (no sessions, no login).

use axum::routing::{get, post};
use axum::{Json, Router};
use scalekit_axum::{AuthUser, RequireScopes, ScalekitAuth};
use scalekit_core::ScalekitConfig;

use crate::m2m;
pub use crate::m2m::api_audience;

/// The auth of the API (see [`m2m::web_auth`]).
pub fn auth(config: ScalekitConfig, base_url: &str) -> Result<ScalekitAuth, crate::Error> {
    m2m::web_auth(config, base_url, "axum-m2m").map(ScalekitAuth::new)
}

/// The API's router: `/health` is open, `/api/reports` needs
/// `reports:read`, `POST /api/deploy` needs `deploy:write`.
pub fn app(auth: &ScalekitAuth) -> Router {
    Router::new()
        .route(
            "/api/reports",
            get(|caller: AuthUser| async move { Json(m2m::reports(&caller)) })
                .route_layer(RequireScopes::all(["reports:read"])),
        )
        .route(
            "/api/deploy",
            post(|caller: AuthUser| async move { Json(m2m::deploy(&caller)) })
                .route_layer(RequireScopes::all(["deploy:write"])),
        )
        .route_layer(auth.require())
        .route("/health", get(|| async { "ok" }))
        .layer(auth.layer())
}
