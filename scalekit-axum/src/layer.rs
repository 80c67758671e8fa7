//! The auth layer: resolves the caller of every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Method, Request, header};
use axum::response::Response;
use scalekit_core::outcome::ErrorOutcome;
use scalekit_core::session::RequestCookies;
use scalekit_core::web::{AuthFailure, Authenticated, AuthorizationHeaders, WebAuth, bearer_token};
use tower::{Layer, Service};

use crate::extract::DeliverySlot;
use crate::render;

/// What a request without a valid caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Passes through; handlers decide (`Option<AuthUser>`). While
    /// authentication is temporarily unavailable (a session refresh that
    /// cannot be made now), the decision is left to inner layers and
    /// extractors, which answer `503` each in their way.
    Optional,
    /// `401` with `WWW-Authenticate` (API routes); `503` with `Retry-After`
    /// while authentication is temporarily unavailable.
    RequireApi,
    /// `302` to the login route with the original path as return target
    /// (browser routes); a `503` retry page with `Retry-After` while
    /// authentication is temporarily unavailable (the session is kept).
    RequireBrowser,
}

/// The outcome of authentication, left in the request extensions by the
/// first auth layer so that inner ones do not authenticate again.
#[derive(Clone, Debug)]
pub(crate) struct Resolution(pub(crate) Result<Option<Arc<Authenticated>>, AuthFailure>);

/// A tower [`Layer`] resolving the caller from `Authorization: Bearer` or
/// the session cookie; see [`ScalekitAuth::layer`](crate::ScalekitAuth::layer).
#[derive(Clone, Debug)]
pub struct AuthLayer {
    web: Arc<WebAuth>,
    mode: Mode,
}

impl AuthLayer {
    pub(crate) fn new(web: Arc<WebAuth>, mode: Mode) -> Self {
        AuthLayer { web, mode }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            web: self.web.clone(),
            mode: self.mode,
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    web: Arc<WebAuth>,
    mode: Mode,
}

impl<S> Service<Request<Body>> for AuthService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let web = self.web.clone();
        let mode = self.mode;
        Box::pin(async move {
            request.extensions_mut().insert(web.clone());
            let mut set_cookies = Vec::new();
            // Whether a failure is the session's (no bearer token was sent):
            // only those are left to the route to answer.
            let mut via_session = false;
            let resolution = match request.extensions().get::<Resolution>() {
                Some(Resolution(resolution)) => resolution.clone(),
                None => {
                    let authorization = AuthorizationHeaders::from_values(
                        request
                            .headers()
                            .get_all(header::AUTHORIZATION)
                            .iter()
                            .map(|v| v.to_str().ok()),
                    );
                    let cookie_headers: Vec<&str> = request
                        .headers()
                        .get_all(header::COOKIE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect();
                    via_session = !matches!(authorization.single(), Ok(Some(value)) if bearer_token(value).is_some());
                    let cookies = RequestCookies::parse(cookie_headers);
                    let auth = web.authenticate(authorization, &cookies).await;
                    set_cookies = auth.set_cookies;
                    auth.result.map(|caller| caller.map(Arc::new))
                }
            };
            let caller = match resolution {
                Ok(caller) => caller,
                Err(AuthFailure::Unavailable) if mode == Mode::Optional && via_session => {
                    // A session that cannot be refreshed right now: let the
                    // route's own layer, guard or extractor answer (a retry
                    // page for browser routes, JSON for APIs); routes that
                    // need no caller (login, logout, webhooks) still work.
                    request
                        .extensions_mut()
                        .insert(Resolution(Err(AuthFailure::Unavailable)));
                    let mut response = inner.call(request).await?;
                    render::append_cookies(&mut response, &set_cookies);
                    return Ok(response);
                }
                Err(failure) => {
                    let outcome = failure.outcome(web.challenge());
                    let mut response = match (mode, &failure) {
                        (Mode::RequireBrowser, AuthFailure::Unavailable) => {
                            render::with_headers(render::web(web.unavailable_page()), &outcome)
                        }
                        _ => render::outcome(&outcome),
                    };
                    render::append_cookies(&mut response, &set_cookies);
                    return Ok(response);
                }
            };
            if caller.is_none() && mode != Mode::Optional {
                let mut response = match mode {
                    Mode::RequireBrowser => {
                        let target = request
                            .uri()
                            .path_and_query()
                            .map(|p| p.as_str())
                            .unwrap_or("/");
                        render::web(web.login_redirect(target))
                    }
                    _ => render::outcome(&ErrorOutcome::missing_credentials(web.challenge())),
                };
                render::append_cookies(&mut response, &set_cookies);
                return Ok(response);
            }
            request
                .extensions_mut()
                .insert(Resolution(Ok(caller.clone())));
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            // A de-duplicated webhook whose handler fails is forgotten, so
            // that the platform's retry is processed.
            let delivery = (request.method() == Method::POST
                && web.webhook_verifier().is_some_and(|v| v.deduplicates()))
            .then(DeliverySlot::default);
            if let Some(slot) = &delivery {
                request.extensions_mut().insert(slot.clone());
            }
            let mut response = inner.call(request).await?;
            if let Some(slot) = delivery
                && !response.status().is_success()
                && let Some(id) = slot.0.lock().unwrap_or_else(|e| e.into_inner()).take()
                && let Some(verifier) = web.webhook_verifier()
            {
                verifier.forget_delivery(&id);
            }
            render::append_cookies(&mut response, &set_cookies);
            Ok(response)
        })
    }
}
