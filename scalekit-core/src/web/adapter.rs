//! The interface between the core and a web framework adapter: everything
//! an adapter needs, and nothing an application uses. Every decision (who
//! is calling, what to refuse and how, which cookies to send, which webhook
//! deliveries to forget) is made here, once; an adapter turns its
//! framework's request into these calls and the plain answers back into
//! its framework's response.
//!
//! A layer (middleware) does, per request:
//!
//! 1. [`WebAuth::gate_now`] with the request's `Authorization` header bytes
//!    ([`AuthorizationHeaders::from_bytes`]), its cookies
//!    ([`RequestCookies::parse_bytes`](crate::session::RequestCookies::parse_bytes)),
//!    its path and query, and the [`Resolution`] an outer layer left in the
//!    request, if any; when that is `None`, [`WebAuth::gate_pending`] (it
//!    waits: a key fetch, a signature check, a refresh, a session store).
//! 2. On [`Gate::Answer`], answers at once: [`WebResponse::into_http`], plus
//!    the gate's `Set-Cookie` values.
//! 3. On [`Gate::Serve`], [`WebAuth::after_gate`]: puts what it returns to
//!    [`Leave`] in the request's extensions (the [`Resolution`] for inner
//!    layers, guards and extractors; the caller; the webhook delivery slot),
//!    calls the inner service, and, when [`AfterRequest::is_needed`], hands
//!    the answer's status and `Set-Cookie` values to
//!    [`AfterRequest::finish`], appending the cookies it returns. The
//!    [`AfterRequest`] is kept with the request's future: dropped unfinished
//!    (a panic, a timeout, a disconnect), it forgets the webhook delivery
//!    being handled, so that the platform's retry runs.
//!
//! The login router is a table ([`WebAuth::auth_routes`]): an adapter
//! mounts each path for every method and hands each request to
//! [`WebAuth::serve_route`] as a [`RouteRequest`] (its method, raw query,
//! headers, cookies, and a `POST`'s body read up to
//! [`MAX_FORM_BYTES`](super::MAX_FORM_BYTES)).
//!
//! Extractors and guards read the [`Resolution`] ([`Extracted::new`]): it
//! carries the [`WebAuth`] of the layer that left it, whose responder
//! answers their refusals (a request holds one extension for both).
//!
//! ```
//! use scalekit_core::ScalekitConfig;
//! use scalekit_core::session::RequestCookies;
//! use scalekit_core::web::adapter::{AuthorizationHeaders, Gate};
//! use scalekit_core::web::{Mode, WebAuth};
//!
//! let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
//! let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?;
//! let cookies = RequestCookies::parse_bytes(Vec::<&[u8]>::new());
//! let (gate, set_cookies) = web
//!     .gate_now(Mode::RequireApi, None, AuthorizationHeaders::default(), &cookies, "/api/me")
//!     .expect("no credentials: decided at once");
//! let Gate::Answer(answer) = gate else { unreachable!() };
//! let http = answer.into_http();
//! assert_eq!(http.status, 401);
//! assert!(http.headers.iter().any(|(name, value)| name == "www-authenticate" && value.starts_with("Bearer")));
//! assert!(set_cookies.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::sync::Arc;

pub use super::resolve::{AuthorizationHeaders, Gate};
pub use super::routes::{AuthRoute, RouteBody, RouteRequest};
pub use crate::webhook::{DeliveryGuard, DeliverySlot};

use super::{Answer, Authenticated, Refusal, Resolution, WebAuth, WebResponse};
use crate::authz::Requirement;
use crate::outcome::{Challenge, ErrorOutcome};
use crate::webhook::{
    HeaderLookup, InterceptorRequest, NOT_CONFIGURED_ANSWER, WebhookError, WebhookEvent,
    WebhookVerifier,
};

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

/// Whether `value` can be sent as a header value (visible ASCII, spaces,
/// tabs and bytes above ASCII; no control character).
fn header_text(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

impl WebResponse {
    /// This answer as status, headers and body. Every answer of the core
    /// carries `Cache-Control: no-store` unless the application's own
    /// answer set a `Cache-Control` of its own.
    ///
    /// ```
    /// use scalekit_core::web::WebResponse;
    ///
    /// let http = WebResponse::Redirect { location: "/dashboard".into(), set_cookies: vec!["a=1; Path=/".into()] }.into_http();
    /// assert_eq!(http.status, 302);
    /// assert_eq!(
    ///     http.headers,
    ///     [("location".into(), "/dashboard".to_owned()), ("cache-control".into(), "no-store".to_owned()), ("set-cookie".into(), "a=1; Path=/".to_owned())]
    /// );
    /// ```
    pub fn into_http(self) -> Answer {
        let (mut answer, set_cookies) = match self {
            WebResponse::Error { outcome, html } => {
                let (body, content_type) = match html {
                    Some(html) => (html, HTML),
                    None => (outcome.body_json(), JSON),
                };
                let mut answer = Answer::bare(outcome.status, Some(content_type), body);
                answer.headers.extend(
                    outcome
                        .headers
                        .into_iter()
                        .map(|(name, value)| (Cow::Borrowed(name), value)),
                );
                (answer, Vec::new())
            }
            WebResponse::Redirect {
                location,
                set_cookies,
            } => {
                let mut answer = Answer::bare(302, None, String::new());
                if header_text(&location) {
                    answer.headers.push((Cow::Borrowed("location"), location));
                } else {
                    tracing::warn!("a redirect target was not valid header text");
                    answer.status = 500;
                }
                (answer, set_cookies)
            }
            WebResponse::Page {
                status,
                html,
                set_cookies,
            } => (Answer::bare(status, Some(HTML), html), set_cookies),
            WebResponse::Json { status, body } => {
                (Answer::bare(status, Some(JSON), body), Vec::new())
            }
            WebResponse::Custom {
                answer,
                set_cookies,
            } => {
                let mut http = answer;
                for (name, _) in &mut http.headers {
                    if name.bytes().any(|b| b.is_ascii_uppercase()) {
                        *name = Cow::Owned(name.to_ascii_lowercase());
                    }
                }
                (http, set_cookies)
            }
        };
        if !answer.has("cache-control") {
            answer
                .headers
                .push((Cow::Borrowed("cache-control"), "no-store".to_owned()));
        }
        answer.cookies(set_cookies)
    }
}

/// What a layer leaves in the request's extensions for inner layers,
/// guards, extractors and handlers (see [`WebAuth::after_gate`]); each
/// `Some` is inserted, each `None` left alone.
#[derive(Debug, Default)]
pub struct Leave {
    /// The resolution (when this layer made it).
    pub resolution: Option<Resolution>,
    /// The caller on its own, for `Extension<Arc<Authenticated>>` and code
    /// reading the request's extensions.
    pub caller: Option<Arc<Authenticated>>,
    /// Where the webhook extractor records the delivery it verified.
    pub delivery_slot: Option<DeliverySlot>,
}

/// What a layer does once the inner service answered (see
/// [`WebAuth::after_gate`]): the cookies to add, the webhook delivery to
/// settle. Keep it with the request's future; dropped unfinished, it
/// forgets the delivery being handled.
#[derive(Debug)]
pub struct AfterRequest {
    /// A session caller whose handler may write session data: its cookies
    /// replace the gate's.
    session_caller: Option<Arc<Authenticated>>,
    // Boxed: only a webhook delivery has one.
    delivery: Option<Box<DeliveryGuard>>,
    set_cookies: Vec<String>,
}

impl AfterRequest {
    /// Whether [`AfterRequest::finish`] can change anything (else the
    /// adapter may drop it and pass the inner answer on as it is).
    pub fn is_needed(&self) -> bool {
        self.session_caller.is_some() || self.delivery.is_some() || !self.set_cookies.is_empty()
    }

    /// The inner service answered `status` (for an adapter whose inner
    /// service failed: the status of the error's answer). Settles the
    /// webhook delivery (kept as seen only on a success) and returns what to
    /// add to the answer: the cookies of the handler's session writes, else
    /// the gate's, and none when the answer sets the session cookie itself
    /// (a logout, a new session: a refresh on the way in must not undo it);
    /// `Cache-Control: no-store` for a session caller's answer that has none
    /// (see [`WebAuth::no_store_for_sessions`]).
    ///
    /// The answer's headers are read only when they matter:
    /// `response_cookies` gives its `Set-Cookie` values when there are
    /// cookies to add, `has_cache_control` whether it has a `Cache-Control`
    /// header of its own when a session caller's answer may get one (most
    /// requests read neither).
    pub fn finish<'a, I>(
        self,
        web: &WebAuth,
        status: u16,
        response_cookies: impl FnOnce() -> I,
        has_cache_control: impl FnOnce() -> bool,
    ) -> Finish
    where
        I: IntoIterator<Item = &'a str>,
    {
        if let Some(guard) = self.delivery {
            guard.settle((200..300).contains(&status));
        }
        let cache_control =
            (self.session_caller.is_some() && web.no_store_sessions && !has_cache_control())
                .then_some("no-store");
        let set_cookies = self
            .session_caller
            .and_then(|caller| caller.take_session_cookies())
            .unwrap_or(self.set_cookies);
        let set_cookies =
            if set_cookies.is_empty() || web.sessions().sets_session_cookie(response_cookies()) {
                Vec::new()
            } else {
                set_cookies
            };
        Finish {
            set_cookies,
            cache_control,
        }
    }
}

/// What [`AfterRequest::finish`] adds to the inner service's answer.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Finish {
    /// `Set-Cookie` values to append.
    pub set_cookies: Vec<String>,
    /// A `Cache-Control` value to set (the answer has none).
    pub cache_control: Option<&'static str>,
}

impl WebAuth {
    /// For adapters: what to leave in a request that [`Gate::Serve`]s with
    /// `resolution`, and what to do once it is answered. A resolution the
    /// gate took from an outer layer of the same `Arc<WebAuth>` is already
    /// in the request and is not left again; one taken from a layer of a
    /// clone (the same acceptance, perhaps another responder) is left
    /// again, carrying this auth, so that extractors answer through the
    /// innermost layer's responder. `is_post`: whether the request is a
    /// `POST` (a webhook delivery may be handled); `set_cookies`: the
    /// gate's cookies.
    pub fn after_gate(
        self: &Arc<Self>,
        mut resolution: Resolution,
        is_post: bool,
        set_cookies: Vec<String>,
    ) -> (AfterRequest, Leave) {
        let mut leave = Leave::default();
        let mut session_caller = None;
        // Extractors answer through the innermost layer's auth: a
        // resolution taken from an outer layer of another `WebAuth` value
        // (the same acceptance, another responder) is left again with this
        // one.
        let innermost = resolution
            .web
            .as_ref()
            .is_some_and(|web| Arc::ptr_eq(web, self));
        if !resolution.reused
            && let Some(caller) = resolution.caller()
        {
            if caller.has_session() {
                session_caller = Some(caller.clone());
            }
            leave.caller = Some(caller.clone());
        }
        if !resolution.reused || !innermost {
            resolution.web = Some(Arc::clone(self));
            leave.resolution = Some(resolution);
        }
        let delivery = if is_post {
            self.webhook_verifier()
                .and_then(WebhookVerifier::delivery_guard)
                .map(Box::new)
        } else {
            None
        };
        leave.delivery_slot = delivery.as_ref().map(|guard| guard.slot().clone());
        (
            AfterRequest {
                session_caller,
                delivery,
                set_cookies,
            },
            leave,
        )
    }
}

/// A refused extraction or guard: the typed [`Refusal`] and the answer to
/// give (the application's responder's, else the default). Each adapter's
/// `AuthRejection` wraps one.
#[derive(Debug, Clone)]
pub struct Rejection {
    // Boxed: rejections travel in `Result`s and stay small.
    refusal: Box<Refusal>,
    answer: Box<WebResponse>,
}

impl Rejection {
    /// The rejection of `refusal`, answered through `web`'s responder (the
    /// default answer without one).
    pub fn new(refusal: Refusal, web: Option<&WebAuth>) -> Self {
        let answer = match web {
            Some(web) => web.respond(refusal.clone()),
            None => refusal.default_response().clone(),
        };
        Rejection {
            refusal: Box::new(refusal),
            answer: Box::new(answer),
        }
    }

    /// What was refused: kind, status, challenge, error code.
    pub fn refusal(&self) -> &Refusal {
        &self.refusal
    }

    /// The answer to give.
    pub fn answer(&self) -> &WebResponse {
        &self.answer
    }

    /// The answer to give, taken.
    pub fn into_answer(self) -> WebResponse {
        *self.answer
    }

    /// The status of the answer (the application's own, or the refusal's).
    pub fn status(&self) -> u16 {
        match &*self.answer {
            WebResponse::Custom { answer, .. } => answer.status,
            _ => self.refusal.status(),
        }
    }
}

impl From<Refusal> for Rejection {
    /// The default answer to a refusal.
    fn from(refusal: Refusal) -> Self {
        Rejection::new(refusal, None)
    }
}

/// What the auth layer left in a request, as extractors and guards see it:
/// its [`Resolution`] and, through it, its [`WebAuth`] (missing when the
/// route has no layer).
#[derive(Debug, Clone, Copy, Default)]
pub struct Extracted<'a> {
    resolution: Option<&'a Resolution>,
}

impl<'a> Extracted<'a> {
    /// What the innermost layer left: the [`Resolution`] found in the
    /// request's extensions, if any.
    pub fn new(resolution: Option<&'a Resolution>) -> Self {
        Extracted { resolution }
    }

    /// The auth of the innermost layer (`None` without a layer, or for a
    /// resolution made in a test without one).
    pub fn web(&self) -> Option<&'a WebAuth> {
        self.shared_web().map(Arc::as_ref)
    }

    /// The same, shared.
    fn shared_web(&self) -> Option<&'a Arc<WebAuth>> {
        self.resolution
            .and_then(|resolution| resolution.web.as_ref())
    }

    fn challenge(&self) -> Challenge {
        self.web()
            .map(|web| web.challenge().clone())
            .unwrap_or_default()
    }

    /// The rejection of `outcome`, answered through the application's
    /// responder (a session that has just ended reported as such).
    pub fn reject(&self, outcome: ErrorOutcome) -> Rejection {
        let refusal = match self.resolution {
            Some(resolution) => resolution.refusal(outcome),
            None => Refusal::from(outcome),
        };
        Rejection::new(refusal, self.web())
    }

    /// The rejection of `refusal`, answered through the application's
    /// responder.
    fn rejection(&self, refusal: Refusal) -> Rejection {
        Rejection::new(refusal, self.web())
    }

    /// `401` without credentials (a route that needs a session, reached
    /// with none).
    pub fn missing_credentials(&self) -> Rejection {
        self.reject(ErrorOutcome::missing_credentials(&self.challenge()))
    }

    /// The caller, or the answer to give instead: `401` without one, the
    /// `503` the layer left for the route.
    pub fn caller(&self) -> Result<Arc<Authenticated>, Rejection> {
        if let Some(caller) = self.resolution.and_then(Resolution::caller) {
            return Ok(caller.clone());
        }
        match self.resolution {
            Some(resolution) => resolution
                .require(&self.challenge())
                .cloned()
                .map_err(|refusal| self.rejection(refusal)),
            None => Err(self.missing_credentials()),
        }
    }

    /// The optional caller: `None` for an anonymous request (or a route
    /// without a layer), the `503` the layer left rather than serving a
    /// signed-in caller as anonymous.
    pub fn optional_caller(&self) -> Result<Option<Arc<Authenticated>>, Rejection> {
        match self.resolution {
            Some(resolution) if resolution.failure().is_none() => Ok(resolution.caller().cloned()),
            Some(resolution) => resolution
                .optional(&self.challenge())
                .map(|caller| caller.cloned())
                .map_err(|refusal| self.rejection(refusal)),
            None => Ok(None),
        }
    }

    /// The caller's access token: `401` without a caller, and for a
    /// caller that has none (a passwordless session holds no platform
    /// token: there is nothing to call another API with).
    pub fn access_token(&self) -> Result<String, Rejection> {
        let caller = self.caller()?;
        match caller.access_token() {
            "" => Err(self.missing_credentials()),
            token => Ok(token.to_owned()),
        }
    }

    /// The caller's verified claims as `C`: `401` without a caller,
    /// `401 invalid_token` when they do not have that shape.
    pub fn claims<C: serde::de::DeserializeOwned>(&self) -> Result<C, Rejection> {
        self.caller()?.claims_as::<C>().map_err(|_| {
            self.reject(ErrorOutcome::invalid_token(
                &self.challenge(),
                "The access token lacks a required claim.",
            ))
        })
    }

    /// The application data of the caller's session as a `T` (see
    /// [`SessionValue`](super::SessionValue)); `cookies` are the request's
    /// `Cookie` headers. `401` without a caller, and for a caller without a
    /// session (a bearer token has no session to keep data in).
    pub fn session_value<T>(
        &self,
        cookies: Vec<String>,
    ) -> Result<super::SessionValue<T>, Rejection>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let caller = self.caller()?;
        let web = self
            .shared_web()
            .ok_or_else(|| self.missing_credentials())?;
        super::SessionValue::new(web.clone(), caller, cookies)
            .map_err(|_| self.missing_credentials())
    }

    /// A guard's check of `requirement`: `None` to serve the request, else
    /// the rejection (`401` without a caller, the layer's `503`,
    /// `403 insufficient_scope` when the caller falls short).
    pub fn check(&self, requirement: &Requirement) -> Option<Rejection> {
        if self.resolution.is_some_and(|r| r.satisfies(requirement)) {
            return None;
        }
        match self.resolution {
            Some(resolution) => resolution
                .check(requirement, &self.challenge())
                .err()
                .map(|refusal| self.rejection(refusal)),
            None => Some(self.missing_credentials()),
        }
    }
}

/// A webhook or interceptor request that was not accepted: why (`None`:
/// webhooks are not configured) and its fixed JSON answer (`400` when it
/// does not verify, `413` over the body limit, `200 {"duplicate":true}` for
/// a repeated delivery, `500` when no webhook secret is configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookRefusal(Option<WebhookError>);

impl WebhookRefusal {
    /// Over the body limit, or a body that broke while it was read.
    pub const TOO_LARGE: WebhookRefusal = WebhookRefusal(Some(WebhookError::PayloadTooLarge));

    /// Why the request was refused (`None`: webhooks are not configured).
    pub fn reason(&self) -> Option<WebhookError> {
        self.0
    }

    /// The status and JSON body to answer with.
    pub fn answer(&self) -> (u16, &'static str) {
        self.0
            .map_or(NOT_CONFIGURED_ANSWER, |reason| reason.answer())
    }
}

/// A webhook or interceptor extractor's steps (see [`WebhookIntake::start`]).
#[derive(Debug)]
pub struct WebhookIntake {
    verifier: WebhookVerifier,
}

impl WebhookIntake {
    /// Before the body is read: the verifier of the auth layer's `web`
    /// (refused when no webhook secret is configured), and the declared
    /// `Content-Length` checked against its body limit.
    pub fn start(
        web: Option<&WebAuth>,
        content_length: Option<&[u8]>,
    ) -> Result<Self, WebhookRefusal> {
        let Some(verifier) = web.and_then(|web| web.webhook_verifier().cloned()) else {
            tracing::error!("a webhook arrived but no webhook secret is configured");
            return Err(WebhookRefusal(None));
        };
        let declared = content_length
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok());
        let limit = u64::try_from(verifier.body_limit()).unwrap_or(u64::MAX);
        if declared.is_some_and(|len| len > limit) {
            return Err(WebhookRefusal::TOO_LARGE);
        }
        Ok(WebhookIntake { verifier })
    }

    /// The most bytes to read of the body: more is
    /// [`WebhookRefusal::TOO_LARGE`], and so is a body that breaks.
    pub fn body_limit(&self) -> usize {
        self.verifier.body_limit()
    }

    /// A webhook event verified over the exact `body`; a de-duplicated
    /// delivery is recorded in the layer's `slot` (see
    /// [`AfterRequest`]).
    pub fn event(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
        slot: Option<&DeliverySlot>,
    ) -> Result<WebhookEvent, WebhookRefusal> {
        let event = self.verifier.verify_event(headers, body).map_err(|err| {
            tracing::warn!(error = %err, "webhook refused");
            WebhookRefusal(Some(err))
        })?;
        if self.verifier.deduplicates()
            && let (Some(slot), Some(id)) = (slot, headers.header("webhook-id"))
        {
            slot.fill(id);
        }
        Ok(event)
    }

    /// An interceptor request verified over the exact `body`.
    pub fn interceptor(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> Result<InterceptorRequest, WebhookRefusal> {
        self.verifier
            .verify_interceptor_request(headers, body)
            .map_err(|err| {
                tracing::warn!(error = %err, "interceptor request refused");
                WebhookRefusal(Some(err))
            })
    }
}

/// For adapters: the framework-neutral constructors and accessor of an
/// adapter's `ScalekitAuth` (a struct with one field, `web: Arc<WebAuth>`),
/// written once: `new`, `from_env`, `web_auth` and `web`. Use it inside the
/// struct's `impl` block.
#[doc(hidden)]
#[macro_export]
macro_rules! scalekit_auth_constructors {
    () => {
        /// Wraps a configured [`WebAuth`] (paths, realm, protected
        /// resource, after-login hook, webhooks, session store).
        pub fn new(web: ::scalekit_core::web::WebAuth) -> Self {
            Self {
                web: ::std::sync::Arc::new(web),
            }
        }

        /// Builds everything from the environment (see
        /// [`WebAuth::from_env`](::scalekit_core::web::WebAuth::from_env)):
        /// `SCALEKIT_ENVIRONMENT_URL`, `SCALEKIT_CLIENT_ID`,
        /// `SCALEKIT_CLIENT_SECRET`, `APP_BASE_URL` (the application's
        /// public URL) and `SESSION_SECRET` (at least 32 bytes); webhooks
        /// verified with `SCALEKIT_WEBHOOK_SECRET` when set; sessions in the
        /// Redis of `REDIS_URL` when set (shared by every instance with the
        /// same `SESSION_SECRET`), cookie-only otherwise.
        pub fn from_env() -> ::std::result::Result<Self, ::scalekit_core::config::ConfigError> {
            ::scalekit_core::web::WebAuth::from_env().map(Self::new)
        }

        /// A [`WebAuth`] with cookie-only sessions sealed by
        /// `session_secret`, for an application served at `base_url` (see
        /// [`WebAuth::with_cookie_sessions`](::scalekit_core::web::WebAuth::with_cookie_sessions)).
        pub fn web_auth(
            config: ::scalekit_core::ScalekitConfig,
            base_url: &str,
            session_secret: &str,
        ) -> ::std::result::Result<
            ::scalekit_core::web::WebAuth,
            ::scalekit_core::config::ConfigError,
        > {
            ::scalekit_core::web::WebAuth::with_cookie_sessions(config, base_url, session_secret)
        }

        /// The framework-neutral core of it.
        pub fn web(&self) -> &::scalekit_core::web::WebAuth {
            &self.web
        }
    };
}

/// For adapters: the extractor types every adapter has, with their
/// framework-neutral parts (the types, `Deref`, constructors, accessors,
/// conversions, `Display`), written once. The adapter implements its
/// framework's extractor and response traits for them. Needs in scope:
/// `Rejection` and `WebhookRefusal` (this module), `Refusal`, `WebAuth`,
/// `Resolution`, `Authenticated`, `ErrorOutcome`, `WebhookError`,
/// `WebhookEvent`, `InterceptorRequest`.
#[doc(hidden)]
#[macro_export]
macro_rules! scalekit_extractor_types {
    () => {
        /// The authenticated caller (bearer token or session). Requires the
        /// auth layer; without a caller the request is refused with `401`,
        /// and with the layer's `503` while the caller's session cannot be
        /// checked.
        #[derive(Clone, Debug)]
        pub struct AuthUser(pub ::std::sync::Arc<Authenticated>);

        impl ::std::ops::Deref for AuthUser {
            type Target = Authenticated;

            fn deref(&self) -> &Authenticated {
                &self.0
            }
        }

        /// A refused extraction: no authenticated caller (`401` with
        /// `WWW-Authenticate: Bearer realm=…`), authentication temporarily
        /// unavailable (`503`), or claims without the requested shape
        /// (`401 invalid_token`). It carries the typed [`Refusal`] and the
        /// answer of the application's responder (see
        /// [`WebAuth::respond_with`]), else the default.
        #[derive(Debug, Clone)]
        pub struct AuthRejection(Rejection);

        impl AuthRejection {
            /// The rejection of `refusal`, answered through `web`'s responder.
            pub fn new(refusal: Refusal, web: &WebAuth) -> Self {
                AuthRejection(Rejection::new(refusal, Some(web)))
            }

            /// What was refused: kind, status, challenge, error code.
            pub fn refusal(&self) -> &Refusal {
                self.0.refusal()
            }

            /// The RFC 6750 outcome of the refusal.
            pub fn outcome(&self) -> &ErrorOutcome {
                self.0.refusal().outcome()
            }
        }

        impl From<Rejection> for AuthRejection {
            fn from(rejection: Rejection) -> Self {
                AuthRejection(rejection)
            }
        }

        impl From<Refusal> for AuthRejection {
            /// The answer to a failed check made with the core (for example
            /// [`Resolution::check`] inside a middleware of your own), with
            /// the default rendering; use [`AuthRejection::new`] to go
            /// through the application's responder.
            fn from(refusal: Refusal) -> Self {
                AuthRejection(Rejection::new(refusal, None))
            }
        }

        impl ::std::fmt::Display for AuthRejection {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.0.refusal().error_description())
            }
        }

        /// The verified access token's claims in a type of your own:
        /// `Claims<MyClaims>`. Refused with `401` without a caller, or when
        /// the claims do not have that shape (`401 invalid_token`).
        #[derive(Debug, Clone)]
        pub struct Claims<C>(pub C);

        /// The caller's verified access token, as sent or from the session.
        /// Refused with `401` without a caller, and for a passwordless
        /// session (it holds no platform token).
        #[derive(Clone)]
        pub struct AccessToken(pub String);

        impl ::std::fmt::Debug for AccessToken {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str("AccessToken(***)")
            }
        }

        /// A webhook event whose signature was verified over the raw body
        /// (the verifier comes from the auth layer's configuration). The
        /// body is read up to the verifier's limit (1 MiB by default), never
        /// further. With de-duplication on
        /// ([`WebhookVerifier::deduplicate`](::scalekit_core::webhook::WebhookVerifier::deduplicate)),
        /// a repeated delivery is acknowledged with `200 {"duplicate":true}`
        /// without running the handler, and a delivery whose handler did not
        /// answer with a success is forgotten, so that the platform's retry
        /// runs it again.
        #[derive(Debug, Clone)]
        pub struct ScalekitWebhook(pub WebhookEvent);

        /// An interceptor request whose signature was verified over the raw
        /// body (`interceptor-*` headers); answer it with an
        /// [`InterceptorResponse`](::scalekit_core::webhook::InterceptorResponse).
        #[derive(Debug, Clone)]
        pub struct ScalekitInterceptor(pub InterceptorRequest);

        /// A webhook or interceptor request that was not accepted: `400`
        /// with a fixed JSON body when it does not verify (the reason is
        /// logged), `413` when its body is over the limit,
        /// `200 {"duplicate":true}` for a repeated delivery, `500` when no
        /// webhook secret is configured.
        #[derive(Debug, Clone)]
        pub struct WebhookRejection(WebhookRefusal);

        impl WebhookRejection {
            /// Why the request was refused (`None`: webhooks are not
            /// configured).
            pub fn reason(&self) -> Option<WebhookError> {
                self.0.reason()
            }
        }

        impl ::std::fmt::Display for WebhookRejection {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.0.reason() {
                    Some(reason) => write!(f, "{reason}"),
                    None => f.write_str("webhooks are not configured"),
                }
            }
        }

        /// The extractor of [`scalekit_core::web::SessionValue`]: the
        /// caller's session data as a `T` of your own. Refused with `401`
        /// without a session caller (a bearer token has no session to keep
        /// data in); the auth layer sends the rewritten session cookies
        /// with the response.
        #[derive(Debug)]
        pub struct SessionValue<T>(pub ::scalekit_core::web::SessionValue<T>);

        impl<T> ::std::ops::Deref for SessionValue<T> {
            type Target = ::scalekit_core::web::SessionValue<T>;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl<T> ::std::ops::DerefMut for SessionValue<T> {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.0
            }
        }
    };
}

/// For adapters: the scope, permission and role guard types
/// (`RequireScopes`, `RequirePermissions`, `RequireRoles`, each with `all`
/// and `any`), written once; `$make` turns a
/// [`Requirement`](::scalekit_core::authz::Requirement) into the adapter's
/// guard, of type `$guard`.
#[doc(hidden)]
#[macro_export]
macro_rules! scalekit_guard_types {
    ($guard:ty, $make:path) => {
        $crate::scalekit_guard_types!(@one $guard, $make,
            /// Scope guards: `RequireScopes::all(["admin:read"])` (wildcards apply).
            RequireScopes, scopes_all, scopes_any);
        $crate::scalekit_guard_types!(@one $guard, $make,
            /// Permission guards: `RequirePermissions::any(["billing:read", "billing:*"])`.
            RequirePermissions, permissions_all, permissions_any);
        $crate::scalekit_guard_types!(@one $guard, $make,
            /// Role guards: `RequireRoles::any(["admin", "owner"])` (exact match).
            RequireRoles, roles_all, roles_any);
    };
    (@one $guard:ty, $make:path, $(#[$doc:meta])* $name:ident, $all:ident, $any:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl $name {
            /// Every one of these.
            pub fn all<I, S>(values: I) -> $guard
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                $make(::scalekit_core::authz::Requirement::$all(values))
            }

            /// At least one of these.
            pub fn any<I, S>(values: I) -> $guard
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                $make(::scalekit_core::authz::Requirement::$any(values))
            }
        }
    };
}

#[cfg(test)]
mod tests;
