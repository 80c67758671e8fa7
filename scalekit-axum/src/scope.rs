//! Per-route guards over scopes, permissions and roles, on tower-http's
//! `AsyncRequireAuthorizationLayer`.

use std::future::{Ready, ready};
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use scalekit_core::authz::Requirement;
use scalekit_core::web::adapter::Extracted;
use scalekit_core::web::{Resolution, WebAuth};
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
}

impl<B: Send + 'static> AsyncAuthorizeRequest<B> for Require {
    type RequestBody = B;
    type ResponseBody = Body;
    type Future = Ready<Result<Request<B>, Response>>;

    fn authorize(&mut self, request: Request<B>) -> Self::Future {
        let extensions = request.extensions();
        let refused = Extracted {
            web: extensions.get::<Arc<WebAuth>>().map(Arc::as_ref),
            resolution: extensions.get::<Resolution>(),
        }
        .check(&self.requirement);
        ready(match refused {
            Some(rejection) => Err(render::web(rejection.into_answer())),
            None => Ok(request),
        })
    }
}

macro_rules! guard {
    ($(#[$doc:meta])* $name:ident, $all:ident, $any:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl $name {
            /// Every one of these.
            pub fn all<I, S>(values: I) -> AsyncRequireAuthorizationLayer<Require>
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                Require::layer(Requirement::$all(values))
            }

            /// At least one of these.
            pub fn any<I, S>(values: I) -> AsyncRequireAuthorizationLayer<Require>
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                Require::layer(Requirement::$any(values))
            }
        }
    };
}

guard!(
    /// Scope guards: `RequireScopes::all(["admin:read"])` (wildcards apply).
    RequireScopes, scopes_all, scopes_any
);
guard!(
    /// Permission guards: `RequirePermissions::any(["billing:read", "billing:*"])`.
    RequirePermissions, permissions_all, permissions_any
);
guard!(
    /// Role guards: `RequireRoles::any(["admin", "owner"])` (exact match).
    RequireRoles, roles_all, roles_any
);
