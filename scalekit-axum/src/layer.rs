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
use scalekit_core::web::adapter::{AfterRequest, AuthorizationHeaders, Gate};
use scalekit_core::web::{Resolution, WebAuth};
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
        // Most requests are decided without waiting (a cached bearer token,
        // no credentials, an outer layer's resolution): the inner service
        // is called at once, and the future is the inner one's (nothing
        // boxed on this path).
        let decided = {
            let (authorization, cookies, target) = credentials(&request);
            let outer = request.extensions().get::<Resolution>();
            self.web
                .gate_now(self.mode, outer, authorization, &cookies, target)
        };
        if let Some((gate, set_cookies)) = decided {
            let resolution = match gate {
                Gate::Serve(resolution) => resolution,
                Gate::Answer(answer) => {
                    return AuthFuture::answered(answer_now(answer, &set_cookies));
                }
            };
            let after = prepare(&self.web, &mut request, resolution, set_cookies);
            // Most requests (a bearer caller, none) have nothing to do
            // after the inner service: no handle on the auth is kept.
            let finish = after.is_needed().then(|| (after, self.web.clone()));
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
                        Gate::Answer(answer) => return Ok(answer_now(answer, &set_cookies)),
                    };
                    let after = prepare(&web, &mut request, resolution, set_cookies);
                    let response = inner.call(request).await?;
                    Ok(after_inner(after, &web, response))
                }),
            },
        }
    }
}

/// The gate's own answer, with its cookies.
fn answer_now(answer: scalekit_core::web::WebResponse, set_cookies: &[String]) -> Response {
    let mut response = render::web(answer);
    render::append_cookies(&mut response, set_cookies);
    response
}

/// Leaves what the core says in the request's extensions.
fn prepare(
    web: &Arc<WebAuth>,
    request: &mut Request<Body>,
    resolution: Resolution,
    set_cookies: Vec<String>,
) -> AfterRequest {
    let (after, leave) = web.after_gate(resolution, request.method() == Method::POST, set_cookies);
    let extensions = request.extensions_mut();
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

/// The inner service answered: the cookies the core adds.
fn after_inner(after: AfterRequest, web: &WebAuth, mut response: Response) -> Response {
    let headers = response.headers();
    let finish = after.finish(
        web,
        response.status().as_u16(),
        || {
            headers
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
        },
        || headers.contains_key(header::CACHE_CONTROL),
    );
    render::finish(response.headers_mut(), finish);
    response
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
            finish: Option<(AfterRequest, Arc<WebAuth>)>,
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
                    Some((after, web)) => after_inner(after, &web, response),
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
