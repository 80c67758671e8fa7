//! Per-route guards over scopes, permissions and roles, on tower-http's
//! `AsyncRequireAuthorizationLayer`.

use std::future::{Ready, ready};
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::http::request::Parts;
use axum::response::Response;
use scalekit_core::authz::Requirement;
use scalekit_core::web::Resolution;
use scalekit_core::web::adapter::Extracted;
use tower_http::auth::{AsyncAuthorizeRequest, AsyncRequireAuthorizationLayer};

use crate::render;

/// A requirement checked against the caller the auth layer resolved:
/// `401` without a caller, `403 insufficient_scope` when it falls short.
///
/// ```
/// use scalekit_axum::Require;
/// use scalekit_core::authz::{GrantKind, Match, Requirement};
///
/// // "admin:read" as a scope or as a permission.
/// let layer = Require::layer(Requirement::clause(GrantKind::ScopeOrPermission, Match::All, ["admin:read"]));
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct Require {
    requirement: Arc<Requirement>,
}

impl Require {
    /// The layer for `requirement`; use it with `route_layer`.
    pub fn layer(requirement: Requirement) -> AsyncRequireAuthorizationLayer<Require> {
        AsyncRequireAuthorizationLayer::new(Require {
            requirement: Arc::new(requirement),
        })
    }

    /// The guard's check, for what a route guard cannot see (the tool an
    /// MCP request's body names, say): `Err` with the answer the guard
    /// would give.
    ///
    /// ```
    /// use axum::http::Request;
    /// use scalekit_axum::Require;
    /// use scalekit_core::authz::Requirement;
    ///
    /// let (parts, _) = Request::new(()).into_parts();
    /// // No auth layer ran: no caller, 401.
    /// let refused = Require::check(&Requirement::scopes_all(["mcp:admin"]), &parts).unwrap_err();
    /// assert_eq!(refused.outcome().status, 401);
    /// ```
    pub fn check(requirement: &Requirement, parts: &Parts) -> Result<(), crate::AuthRejection> {
        match Extracted::new(parts.extensions.get::<Resolution>()).check(requirement) {
            None => Ok(()),
            Some(rejection) => Err(rejection.into()),
        }
    }
}

impl<B: Send + 'static> AsyncAuthorizeRequest<B> for Require {
    type RequestBody = B;
    type ResponseBody = Body;
    type Future = Ready<Result<Request<B>, Response>>;

    fn authorize(&mut self, request: Request<B>) -> Self::Future {
        let extensions = request.extensions();
        let refused = Extracted::new(extensions.get::<Resolution>()).check(&self.requirement);
        ready(match refused {
            Some(rejection) => Err(render::web(rejection.into_answer())),
            None => Ok(request),
        })
    }
}

scalekit_core::scalekit_guard_types!(AsyncRequireAuthorizationLayer<Require>, Require::layer);
