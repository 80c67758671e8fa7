//! Scalekit authentication for actix-web 4: a middleware that resolves the
//! caller (bearer token or session cookie, refreshed when needed), per-route
//! scope guards, extractors, and mountable auth routes — the same product,
//! with the same answers, as `scalekit-axum`. All auth logic lives in
//! [`scalekit_core::web::WebAuth`]; this crate translates requests and
//! responses.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use scalekit_actix::{AuthUser, RequireScopes, ScalekitAuth};
//!
//! async fn dashboard(user: AuthUser) -> String {
//!     format!("hello {}", user.email().unwrap_or("there"))
//! }
//! async fn admin() -> &'static str { "ok" }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let auth = ScalekitAuth::from_env()?; // SCALEKIT_*, APP_BASE_URL, SESSION_SECRET, REDIS_URL
//!     HttpServer::new(move || {
//!         App::new()
//!             .service(web::resource("/dashboard").wrap(auth.require_browser()).to(dashboard))
//!             .service(web::resource("/api/admin").wrap(RequireScopes::all(["admin:read"])).to(admin))
//!             .configure(auth.configure_routes()) // /auth/login, /auth/callback, /auth/logout
//!             .wrap(auth.middleware()) // registered last: runs first
//!     })
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod extract;
mod guard;
mod middleware;
mod render;
mod routes;

use std::sync::Arc;

pub use extract::{
    AccessToken, AuthRejection, AuthUser, Claims, MaybeAuthUser, ScalekitInterceptor,
    ScalekitWebhook, SessionValue, WebhookRejection,
};
pub use guard::{Require, RequirePermissions, RequireRoles, RequireScopes, RequireService};
pub use middleware::{AuthMiddleware, AuthService, Mode};
pub use scalekit_core as core;

use scalekit_core::web::WebAuth;

/// Scalekit authentication for an actix-web application: build it once
/// (outside `HttpServer::new`), then take middleware and routes from it in
/// each worker's `App`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ScalekitAuth {
    web: Arc<WebAuth>,
}

impl ScalekitAuth {
    scalekit_core::scalekit_auth_constructors!();

    /// The middleware that resolves the caller on every request and lets
    /// every request through (`Option<AuthUser>` is `None` for anonymous
    /// ones; a bearer token that is sent but invalid is still refused with
    /// 401).
    pub fn middleware(&self) -> AuthMiddleware {
        AuthMiddleware::new(self.web.clone(), Mode::Optional)
    }

    /// A middleware that answers `401` (RFC 6750) to requests without a
    /// valid caller: for API routes.
    pub fn require(&self) -> AuthMiddleware {
        AuthMiddleware::new(self.web.clone(), Mode::RequireApi)
    }

    /// A middleware that redirects requests without a session to the login
    /// route, with the original path and query as the return target: for
    /// browser routes.
    pub fn require_browser(&self) -> AuthMiddleware {
        AuthMiddleware::new(self.web.clone(), Mode::RequireBrowser)
    }

    /// The auth routes (login, callback, logout, and, when configured,
    /// passwordless sign-in (`WebAuth::passwordless`) and the
    /// protected-resource metadata), for `App::configure` or
    /// `Scope::configure`.
    pub fn configure_routes(
        &self,
    ) -> impl Fn(&mut actix_web::web::ServiceConfig) + Clone + 'static {
        let web = self.web.clone();
        move |config| routes::configure(&web, config)
    }
}
