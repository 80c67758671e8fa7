//! Per-route guards over scopes, permissions and roles.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::HttpMessage as _;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;
use scalekit_core::authz::Requirement;
use scalekit_core::web::Resolution;
use scalekit_core::web::adapter::{Extracted, Rejection};

use crate::render;

/// A requirement checked against the caller the auth middleware resolved:
/// `401` without a caller, `403 insufficient_scope` when it falls short.
/// Wrap it inside the auth middleware (`App::wrap(auth.middleware())`
/// registered last, so that it runs first).
///
/// ```
/// use scalekit_actix::Require;
/// use scalekit_core::authz::{GrantKind, Match, Requirement};
///
/// // "admin:read" as a scope or as a permission.
/// let guard = Require::new(Requirement::clause(GrantKind::ScopeOrPermission, Match::All, ["admin:read"]));
/// # let _ = guard;
/// ```
#[derive(Clone, Debug)]
pub struct Require {
    requirement: Arc<Requirement>,
}

impl Require {
    /// The guard for `requirement`; use it with `wrap`.
    pub fn new(requirement: Requirement) -> Self {
        Require {
            requirement: Arc::new(requirement),
        }
    }

    /// The guard's check, for what a route guard cannot see (a body's
    /// content, say): `Err` with the answer the guard would give.
    ///
    /// ```
    /// use scalekit_actix::Require;
    /// use scalekit_core::authz::Requirement;
    ///
    /// let request = actix_web::test::TestRequest::default().to_http_request();
    /// // No auth middleware ran: no caller, 401.
    /// let refused = Require::check(&Requirement::scopes_all(["mcp:admin"]), &request).unwrap_err();
    /// assert_eq!(refused.outcome().status, 401);
    /// ```
    pub fn check(
        requirement: &Requirement,
        request: &actix_web::HttpRequest,
    ) -> Result<(), crate::AuthRejection> {
        match Extracted::new(request.extensions().get::<Resolution>()).check(requirement) {
            None => Ok(()),
            Some(rejection) => Err(rejection.into()),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Require
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireService {
            service: Rc::new(service),
            requirement: self.requirement.clone(),
        }))
    }
}

/// The service of [`Require`].
#[derive(Debug)]
pub struct RequireService<S> {
    service: Rc<S>,
    requirement: Arc<Requirement>,
}

impl<S, B> Service<ServiceRequest> for RequireService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let refusal = {
            let extensions = request.extensions();
            Extracted::new(extensions.get::<Resolution>())
                .check(&self.requirement)
                .map(Rejection::into_answer)
        };
        if let Some(answer) = refusal {
            let response = render::web(answer);
            return Box::pin(ready(Ok(request
                .into_response(response)
                .map_into_right_body())));
        }
        let service = self.service.clone();
        Box::pin(async move { Ok(service.call(request).await?.map_into_left_body()) })
    }
}

scalekit_core::scalekit_guard_types!(Require, Require::new);
