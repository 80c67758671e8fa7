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
        // An inner middleware of the same auth finds everything in place.
        let same_web = request
            .extensions()
            .get::<Arc<WebAuth>>()
            .is_some_and(|outer| Arc::ptr_eq(outer, &self.web));
        if !same_web {
            request.extensions_mut().insert(self.web.clone());
        }
        // Most requests are decided without waiting (a cached bearer token,
        // a current session, no credentials, an outer middleware's
        // resolution): the inner service is called at once.
        let decided = {
            let (authorization, cookies, target) = credentials(&request);
            let outer = request.extensions().get::<Resolution>().cloned();
            let resolved_here = outer.as_ref().is_none_or(|o| !o.resolved_by(&self.web));
            self.web
                .gate_now(self.mode, outer.as_ref(), authorization, &cookies, target)
                .map(|(gate, set_cookies)| (gate, set_cookies, resolved_here))
        };
        if let Some((gate, set_cookies, resolved_here)) = decided {
            let resolution = match gate {
                Gate::Serve(resolution) => resolution,
                Gate::Answer(answer) => {
                    let response = answer_now(request, answer, &set_cookies);
                    return Box::pin(async move { Ok(response) });
                }
            };
            let after = After::prepare(&self.web, &request, resolution, resolved_here);
            let response = self.service.call(request);
            // Most requests (a bearer caller, none) have nothing to do
            // after the inner service: no handle on the auth is kept.
            if !after.has_work() && set_cookies.is_empty() {
                return Box::pin(
                    async move { response.await.map(ServiceResponse::map_into_left_body) },
                );
            }
            let web = self.web.clone();
            return Box::pin(async move { after.finish(&web, response.await, set_cookies) });
        }
        let service = self.service.clone();
        let web = self.web.clone();
        let mode = self.mode;
        Box::pin(async move {
            let (gate, set_cookies) = {
                let (authorization, cookies, target) = credentials(&request);
                let outer = request.extensions().get::<Resolution>().cloned();
                web.gate_pending(mode, outer.as_ref(), authorization, &cookies, target)
                    .await
            };
            let resolution = match gate {
                Gate::Serve(resolution) => resolution,
                Gate::Answer(answer) => return Ok(answer_now(request, answer, &set_cookies)),
            };
            let after = After::prepare(&web, &request, resolution, true);
            let response = service.call(request).await;
            after.finish(&web, response, set_cookies)
        })
    }
}

/// The credentials of a request and its path and query.
fn credentials(request: &ServiceRequest) -> (AuthorizationHeaders<'_>, RequestCookies<'_>, &str) {
    let headers = request.headers();
    let authorization = AuthorizationHeaders::from_bytes(
        headers.get_all(header::AUTHORIZATION).map(|v| v.as_bytes()),
    );
    let cookies =
        RequestCookies::parse_bytes(headers.get_all(header::COOKIE).map(|v| v.as_bytes()));
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    (authorization, cookies, target)
}

/// The gate's own answer, with its cookies.
fn answer_now<B>(
    request: ServiceRequest,
    answer: scalekit_core::web::WebResponse,
    set_cookies: &[String],
) -> ServiceResponse<EitherBody<B>> {
    let mut response = render::web(answer);
    render::append_cookies(response.headers_mut(), set_cookies);
    request.into_response(response).map_into_right_body()
}

/// What the middleware does after the inner service answered.
struct After {
    /// A session caller whose handler writes session data: its cookies
    /// replace the middleware's.
    session_caller: Option<Arc<scalekit_core::web::Authenticated>>,
    /// A de-duplicated webhook whose handler does not succeed (an error
    /// answer, a panic, a future dropped) is forgotten, so that the
    /// platform's retry is processed.
    delivery: Option<scalekit_core::webhook::DeliveryGuard>,
}

impl After {
    /// Leaves what the middleware resolved in the request's extensions.
    fn prepare(
        web: &WebAuth,
        request: &ServiceRequest,
        resolution: Resolution,
        resolved_here: bool,
    ) -> After {
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
        let delivery = match web.webhook_verifier() {
            Some(verifier) if request.method() == Method::POST => verifier.delivery_guard(),
            _ => None,
        };
        if let Some(guard) = &delivery {
            request.extensions_mut().insert(guard.slot().clone());
        }
        After {
            session_caller,
            delivery,
        }
    }

    /// Whether [`After::finish`] could change the response or settle a
    /// delivery (else, with no cookies to set, it is skipped).
    fn has_work(&self) -> bool {
        self.session_caller.is_some() || self.delivery.is_some()
    }

    fn finish<B>(
        self,
        web: &WebAuth,
        response: Result<ServiceResponse<B>, actix_web::Error>,
        set_cookies: Vec<String>,
    ) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
        let set_cookies = self
            .session_caller
            .and_then(|caller| caller.take_session_cookies())
            .unwrap_or(set_cookies);
        let mut response = match response {
            Ok(response) => response.map_into_left_body(),
            Err(err) => {
                // The error's answer carries the cookies of a refreshed
                // session all the same: they are never lost.
                let mut answer = err.error_response();
                render::append_layer_cookies(answer.headers_mut(), web, &set_cookies);
                return Err(actix_web::error::InternalError::from_response(err, answer).into());
            }
        };
        if let Some(guard) = self.delivery {
            guard.settle(response.status().is_success());
        }
        render::append_layer_cookies(response.headers_mut(), web, &set_cookies);
        Ok(response)
    }
}
