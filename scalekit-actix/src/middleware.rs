//! The auth middleware: resolves the caller of every request.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::HttpMessage as _;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::{Method, header};
use futures_util::future::LocalBoxFuture;
use scalekit_core::session::RequestCookies;
use scalekit_core::web::{AuthorizationHeaders, Gate, Resolution, WebAuth};

use crate::render;

pub use scalekit_core::web::Mode;

/// An actix-web middleware ([`Transform`]) resolving the caller from
/// `Authorization: Bearer` or the session cookie; see
/// [`ScalekitAuth::middleware`](crate::ScalekitAuth::middleware). Works with
/// `App::wrap`, `Scope::wrap` and `Resource::wrap`.
#[derive(Clone, Debug)]
pub struct AuthMiddleware {
    web: Arc<WebAuth>,
    mode: Mode,
}

impl AuthMiddleware {
    pub(crate) fn new(web: Arc<WebAuth>, mode: Mode) -> Self {
        AuthMiddleware { web, mode }
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = AuthService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthService {
            service: Rc::new(service),
            web: self.web.clone(),
            mode: self.mode,
        }))
    }
}

/// The service of [`AuthMiddleware`].
pub struct AuthService<S> {
    service: Rc<S>,
    web: Arc<WebAuth>,
    mode: Mode,
}

impl<S> std::fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for AuthService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let web = self.web.clone();
        let mode = self.mode;
        Box::pin(async move {
            // An inner middleware of the same auth finds everything in place.
            let same_web = request
                .extensions()
                .get::<Arc<WebAuth>>()
                .is_some_and(|outer| Arc::ptr_eq(outer, &web));
            if !same_web {
                request.extensions_mut().insert(web.clone());
            }
            let (gate, set_cookies, resolved_here) = {
                let headers = request.headers();
                let authorization = AuthorizationHeaders::from_values(
                    headers
                        .get_all(header::AUTHORIZATION)
                        .map(|v| v.to_str().ok()),
                );
                let cookies = RequestCookies::parse_bytes(
                    headers.get_all(header::COOKIE).map(|v| v.as_bytes()),
                );
                let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
                let outer = request.extensions().get::<Resolution>().cloned();
                let resolved_here = outer.is_none();
                let (gate, set_cookies) = web
                    .gate(mode, outer.as_ref(), authorization, &cookies, target)
                    .await;
                (gate, set_cookies, resolved_here)
            };
            let resolution = match gate {
                Gate::Serve(resolution) => resolution,
                Gate::Answer(answer) => {
                    let mut response = render::web(answer);
                    render::append_cookies(response.headers_mut(), &set_cookies);
                    return Ok(request.into_response(response).map_into_right_body());
                }
            };
            // A session caller whose handler writes session data: its
            // cookies replace the middleware's.
            let mut session_caller = None;
            if resolved_here {
                // The caller also on its own, for `Extension<Arc<Authenticated>>`
                // and code that reads the request's extensions.
                if let Some(caller) = resolution.caller() {
                    if caller.has_session() {
                        session_caller = Some(caller.clone());
                    }
                    request.extensions_mut().insert(caller.clone());
                }
                request.extensions_mut().insert(resolution);
            }
            let set_cookies = move || {
                session_caller
                    .and_then(|caller| caller.take_session_cookies())
                    .unwrap_or(set_cookies)
            };
            // A de-duplicated webhook whose handler fails is forgotten, so
            // that the platform's retry is processed.
            let delivery = match web.webhook_verifier() {
                Some(verifier) if request.method() == Method::POST => verifier
                    .delivery_slot()
                    .map(|slot| (verifier.clone(), slot)),
                _ => None,
            };
            if let Some((_, slot)) = &delivery {
                request.extensions_mut().insert(slot.clone());
            }
            let mut response = match service.call(request).await {
                Ok(response) => response.map_into_left_body(),
                Err(err) => {
                    // The error's answer carries the cookies of a refreshed
                    // session all the same: they are never lost.
                    let mut answer = err.error_response();
                    render::append_layer_cookies(answer.headers_mut(), &web, &set_cookies());
                    return Err(actix_web::error::InternalError::from_response(err, answer).into());
                }
            };
            if let Some((verifier, slot)) = delivery {
                verifier.settle(&slot, response.status().is_success());
            }
            render::append_layer_cookies(response.headers_mut(), &web, &set_cookies());
            Ok(response)
        })
    }
}
