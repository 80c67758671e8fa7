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
use scalekit_core::web::adapter::{AfterRequest, AuthorizationHeaders, Gate};
use scalekit_core::web::{Resolution, WebAuth};

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
        // Most requests are decided without waiting (a cached bearer token,
        // a current session, no credentials, an outer middleware's
        // resolution): the inner service is called at once.
        let decided = {
            let (authorization, cookies, target) = credentials(&request);
            let outer = request.extensions().get::<Resolution>().cloned();
            self.web
                .gate_now(self.mode, outer.as_ref(), authorization, &cookies, target)
        };
        if let Some((gate, set_cookies)) = decided {
            let resolution = match gate {
                Gate::Serve(resolution) => resolution,
                Gate::Answer(answer) => {
                    let response = answer_now(request, answer, &set_cookies);
                    return Box::pin(async move { Ok(response) });
                }
            };
            let after = prepare(&self.web, &request, resolution, set_cookies);
            let response = self.service.call(request);
            // Most requests (a bearer caller, none) have nothing to do
            // after the inner service: no handle on the auth is kept.
            if !after.is_needed() {
                return Box::pin(
                    async move { response.await.map(ServiceResponse::map_into_left_body) },
                );
            }
            let web = self.web.clone();
            return Box::pin(async move { after_inner(after, &web, response.await) });
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
            let after = prepare(&web, &request, resolution, set_cookies);
            let response = service.call(request).await;
            after_inner(after, &web, response)
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

/// Leaves what the core says in the request's extensions.
fn prepare(
    web: &Arc<WebAuth>,
    request: &ServiceRequest,
    resolution: Resolution,
    set_cookies: Vec<String>,
) -> AfterRequest {
    let (after, leave) = web.after_gate(resolution, request.method() == Method::POST, set_cookies);
    let mut extensions = request.extensions_mut();
    if let Some(resolution) = leave.resolution {
        extensions.insert(resolution);
    }
    if let Some(caller) = leave.caller {
        extensions.insert(caller);
    }
    if let Some(slot) = leave.delivery_slot {
        extensions.insert(slot);
    }
    after
}

/// The inner service answered (or failed: the error's answer carries the
/// cookies of a refreshed session all the same, they are never lost).
fn after_inner<B>(
    after: AfterRequest,
    web: &WebAuth,
    response: Result<ServiceResponse<B>, actix_web::Error>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    // What the core adds to an answer (the inner service's, or its
    // error's rendering).
    fn finish(after: AfterRequest, web: &WebAuth, status: u16, headers: &mut header::HeaderMap) {
        let finish = after.finish(
            web,
            status,
            || {
                headers
                    .get_all(header::SET_COOKIE)
                    .filter_map(|v| v.to_str().ok())
            },
            || headers.contains_key(header::CACHE_CONTROL),
        );
        render::finish(headers, finish);
    }
    match response {
        Ok(mut response) => {
            let status = response.status().as_u16();
            finish(after, web, status, response.headers_mut());
            Ok(response.map_into_left_body())
        }
        Err(err) => {
            let mut answer = err.error_response();
            let status = answer.status().as_u16();
            finish(after, web, status, answer.headers_mut());
            Err(actix_web::error::InternalError::from_response(err, answer).into())
        }
    }
}
