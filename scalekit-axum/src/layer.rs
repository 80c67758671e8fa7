//! The auth layer: resolves the caller of every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Method, Request, header};
use axum::response::Response;
use pin_project_lite::pin_project;
use scalekit_core::session::RequestCookies;
use scalekit_core::web::{AuthorizationHeaders, Gate, Resolution, WebAuth};
use tower::{Layer, Service};

use crate::render;

pub use scalekit_core::web::Mode;

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
    type Future = AuthFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // An inner layer of the same auth finds everything in place.
        let same_web = request
            .extensions()
            .get::<Arc<WebAuth>>()
            .is_some_and(|outer| Arc::ptr_eq(outer, &self.web));
        if !same_web {
            request.extensions_mut().insert(self.web.clone());
        }
        // Most requests are decided without waiting (a cached bearer token,
        // no credentials, an outer layer's resolution): the inner service
        // is called at once, and the future is the inner one's (nothing
        // boxed on this path).
        let decided = {
            let (authorization, cookies, target) = credentials(&request);
            let outer = request.extensions().get::<Resolution>();
            let resolved_here = outer.is_none_or(|o| !o.resolved_by(&self.web));
            self.web
                .gate_now(self.mode, outer, authorization, &cookies, target)
                .map(|(gate, set_cookies)| (gate, set_cookies, resolved_here))
        };
        if let Some((gate, set_cookies, resolved_here)) = decided {
            let resolution = match gate {
                Gate::Serve(resolution) => resolution,
                Gate::Answer(answer) => {
                    let mut response = render::web(answer);
                    render::append_cookies(&mut response, &set_cookies);
                    return AuthFuture::answered(response);
                }
            };
            let after = After::prepare(&self.web, &mut request, resolution, resolved_here);
            // Most requests (a bearer caller, none) have nothing to do
            // after the inner service: no handle on the auth is kept.
            let finish = (after.has_work() || !set_cookies.is_empty())
                .then(|| (after, self.web.clone(), set_cookies));
            return AuthFuture {
                state: State::Inner {
                    future: self.inner.call(request),
                    finish,
                },
            };
        }
        // The clone that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let web = self.web.clone();
        let mode = self.mode;
        AuthFuture {
            state: State::Pending {
                future: Box::pin(async move {
                    let (gate, set_cookies) = {
                        let (authorization, cookies, target) = credentials(&request);
                        let outer = request.extensions().get::<Resolution>();
                        web.gate_pending(mode, outer, authorization, &cookies, target)
                            .await
                    };
                    let resolution = match gate {
                        Gate::Serve(resolution) => resolution,
                        Gate::Answer(answer) => {
                            let mut response = render::web(answer);
                            render::append_cookies(&mut response, &set_cookies);
                            return Ok(response);
                        }
                    };
                    let after = After::prepare(&web, &mut request, resolution, true);
                    let response = inner.call(request).await?;
                    Ok(after.finish(&web, response, set_cookies))
                }),
            },
        }
    }
}

pin_project! {
    /// The response future of [`AuthService`]: the inner service's future
    /// when the request was decided at once (a cached token, an opened
    /// session, no credentials), a boxed one when the decision waits (a key
    /// fetch, a signature check, a refresh, a session store).
    pub struct AuthFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        Answered {
            response: Option<Response>,
        },
        Inner {
            #[pin]
            future: F,
            finish: Option<(After, Arc<WebAuth>, Vec<String>)>,
        },
        Pending {
            future: Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>,
        },
    }
}

impl<F, E> AuthFuture<F, E> {
    fn answered(response: Response) -> Self {
        AuthFuture {
            state: State::Answered {
                response: Some(response),
            },
        }
    }
}

impl<F, E> std::fmt::Debug for AuthFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFuture").finish_non_exhaustive()
    }
}

impl<F, E> Future for AuthFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Answered { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled again after it answered: a caller's bug, answered
                // without a panic.
                None => Poll::Pending,
            },
            StateProj::Inner { future, finish } => {
                let response = std::task::ready!(future.poll(cx))?;
                Poll::Ready(Ok(match finish.take() {
                    Some((after, web, set_cookies)) => after.finish(&web, response, set_cookies),
                    None => response,
                }))
            }
            StateProj::Pending { future } => future.as_mut().poll(cx),
        }
    }
}

/// The credentials of a request and its full path and query (also under
/// `Router::nest`, which strips the prefix from `uri()`).
fn credentials(request: &Request<Body>) -> (AuthorizationHeaders<'_>, RequestCookies<'_>, &str) {
    let headers = request.headers();
    let authorization = AuthorizationHeaders::from_bytes(
        headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .map(|v| v.as_bytes()),
    );
    let cookies =
        RequestCookies::parse_bytes(headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()));
    let uri = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or(request.uri(), |original| &original.0);
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    (authorization, cookies, target)
}

/// What the layer does after the inner service answered.
struct After {
    /// A session caller whose handler writes session data: its cookies
    /// replace the layer's.
    session_caller: Option<Arc<scalekit_core::web::Authenticated>>,
    /// A de-duplicated webhook whose handler does not succeed (an error
    /// answer, a panic, a future dropped) is forgotten, so that the
    /// platform's retry is processed.
    delivery: Option<scalekit_core::webhook::DeliveryGuard>,
}

impl After {
    /// Leaves what the layer resolved in the request's extensions.
    fn prepare(
        web: &WebAuth,
        request: &mut Request<Body>,
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

    fn finish(self, web: &WebAuth, mut response: Response, set_cookies: Vec<String>) -> Response {
        if let Some(guard) = self.delivery {
            guard.settle(response.status().is_success());
        }
        let set_cookies = self
            .session_caller
            .and_then(|caller| caller.take_session_cookies())
            .unwrap_or(set_cookies);
        // A response that sets the session cookie itself (logout, a new
        // session) keeps it: a refresh on the way in must not undo it.
        if !set_cookies.is_empty()
            && !web.sessions().sets_session_cookie(
                response
                    .headers()
                    .get_all(header::SET_COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
        {
            render::append_cookies(&mut response, &set_cookies);
        }
        response
    }
}
