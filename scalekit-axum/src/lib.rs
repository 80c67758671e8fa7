//! Scalekit authentication for axum 0.8: an auth layer that resolves the
//! caller (bearer token or session cookie, refreshed when needed), per-route
//! scope guards, extractors, and a mountable auth router.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use scalekit_axum::{AuthUser, RequireScopes, ScalekitAuth};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = ScalekitAuth::from_env()?; // SCALEKIT_*, APP_BASE_URL, SESSION_SECRET, REDIS_URL
//! let app: Router = Router::new()
//!     .route("/dashboard", get(dashboard).route_layer(auth.require_browser()))
//!     .route("/api/admin", get(admin).route_layer(RequireScopes::all(["admin:read"])))
//!     .merge(auth.routes())
//!     .layer(auth.layer());
//! # let _ = app; Ok(()) }
//!
//! async fn dashboard(user: AuthUser) -> String {
//!     format!("hello {}", user.email().unwrap_or("there"))
//! }
//! async fn admin() -> &'static str { "ok" }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod extract;
mod layer;
mod render;
mod routes;
mod scope;

use std::sync::Arc;

pub use extract::{
    AccessToken, AuthRejection, AuthUser, Claims, ScalekitInterceptor, ScalekitWebhook,
    SessionValue, WebhookRejection,
};
pub use layer::{AuthFuture, AuthLayer, AuthService, Mode};
pub use scalekit_core as core;
pub use scope::{Require, RequirePermissions, RequireRoles, RequireScopes};

use scalekit_core::web::WebAuth;

/// Scalekit authentication for an axum application: build it once, then take
/// layers and routes from it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ScalekitAuth {
    web: Arc<WebAuth>,
}

impl ScalekitAuth {
    scalekit_core::scalekit_auth_constructors!();

    /// The layer that resolves the caller on every request and lets every
    /// request through (`Option<AuthUser>` is `None` for anonymous ones;
    /// a bearer token that is sent but invalid is still refused with 401).
    pub fn layer(&self) -> AuthLayer {
        AuthLayer::new(self.web.clone(), Mode::Optional)
    }

    /// A layer that answers `401` (RFC 6750) to requests without a valid
    /// caller: for API routes.
    pub fn require(&self) -> AuthLayer {
        AuthLayer::new(self.web.clone(), Mode::RequireApi)
    }

    /// A layer that redirects requests without a session to the login route,
    /// with the original path as the return target: for browser routes.
    pub fn require_browser(&self) -> AuthLayer {
        AuthLayer::new(self.web.clone(), Mode::RequireBrowser)
    }

    /// The auth routes (login, callback, logout, and, when configured,
    /// passwordless sign-in ([`WebAuth::passwordless`]) and the
    /// protected-resource metadata), to `.merge()` into the application.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        routes::router(self.web.clone())
    }
}
