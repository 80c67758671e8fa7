//! Caller resolution: the `Authorization` header (one, bearer, an access
//! token for an accepted audience), else the session (refreshed when needed).

use std::sync::Arc;

use super::{AuthFailure, Authenticated, Refusal, RefusalKind, WebAuth, WebResponse};
use crate::authz::Requirement;
use crate::outcome::{Challenge, ErrorOutcome};
use crate::session::{RequestCookies, Resolved, SessionEnd, SessionError};
use crate::validate::ValidationError;

/// The `Authorization` headers of a request, as the adapters found them:
/// none, one (as text, or `None` when its bytes are not text), or several.
/// Several are refused (`400 invalid_request`), whichever comes first.
///
/// ```
/// use scalekit_core::web::adapter::AuthorizationHeaders;
///
/// let one = AuthorizationHeaders::from_values([Some("Bearer abc")]);
/// assert_eq!(one.single(), Ok(Some("Bearer abc")));
/// let two = AuthorizationHeaders::from_values([Some("Bearer abc"), Some("Bearer def")]);
/// assert!(two.single().is_err());
/// assert_eq!(AuthorizationHeaders::default().single(), Ok(None));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthorizationHeaders<'a> {
    first: Option<Option<&'a str>>,
    several: bool,
}

impl std::fmt::Debug for AuthorizationHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationHeaders")
            .field("present", &self.first.is_some())
            .field("several", &self.several)
            .finish()
    }
}

impl<'a> AuthorizationHeaders<'a> {
    /// From every `Authorization` header value of a request, in order
    /// (`None` for a value that is not valid text).
    pub fn from_values<I>(values: I) -> Self
    where
        I: IntoIterator<Item = Option<&'a str>>,
    {
        let mut values = values.into_iter();
        let first = values.next();
        AuthorizationHeaders {
            first,
            several: first.is_some() && values.next().is_some(),
        }
    }

    /// From the raw bytes of every `Authorization` header value of a
    /// request, in order: a value is text when it is visible ASCII, spaces
    /// and tabs, as `http::HeaderValue::to_str` decides, checked with SIMD
    /// (the header of a bearer request is most of a kilobyte).
    ///
    /// ```
    /// use scalekit_core::web::adapter::AuthorizationHeaders;
    ///
    /// let one = AuthorizationHeaders::from_bytes([&b"Bearer abc"[..]]);
    /// assert_eq!(one.single(), Ok(Some("Bearer abc")));
    /// // Not text: refused as `invalid_request`, as by `from_values`.
    /// let latin = AuthorizationHeaders::from_bytes([&b"Bearer \xe9"[..]]);
    /// assert!(latin.single().is_err());
    /// ```
    pub fn from_bytes<I>(values: I) -> Self
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        AuthorizationHeaders::from_values(values.into_iter().map(header_text))
    }

    /// The one header's text, `None` without a header, or
    /// [`AuthFailure::InvalidRequest`] for several headers or one that is
    /// not text.
    pub fn single(&self) -> Result<Option<&'a str>, AuthFailure> {
        match self.first {
            _ if self.several => Err(AuthFailure::InvalidRequest),
            None => Ok(None),
            Some(Some(value)) => Ok(Some(value)),
            Some(None) => Err(AuthFailure::InvalidRequest),
        }
    }
}

/// `value` as text when every byte is visible ASCII, a space or a tab
/// (what `http::HeaderValue::to_str` accepts): one pass without an early
/// exit, which the compiler vectorizes (32 bytes a step), then a SIMD UTF-8
/// check gives the `&str` (ASCII is always UTF-8).
fn header_text(value: &[u8]) -> Option<&str> {
    let refused = value.iter().fold(0u8, |refused, &b| {
        refused | u8::from(!(b' '..=b'~').contains(&b) & (b != b'\t'))
    });
    if refused != 0 {
        return None;
    }
    simdutf8::basic::from_utf8(value).ok()
}

impl<'a> From<Option<&'a str>> for AuthorizationHeaders<'a> {
    fn from(value: Option<&'a str>) -> Self {
        AuthorizationHeaders::from_values(value.map(Some))
    }
}

/// What an auth layer in front of a route does with a request that has no
/// valid caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serves it; the handler decides (an optional caller).
    Optional,
    /// `401` with `WWW-Authenticate` (API routes).
    RequireApi,
    /// `302` to the login route with the original path and query as the
    /// return target (browser routes).
    RequireBrowser,
}

/// What the outermost auth layer resolved for a request, left in the
/// request's extensions for inner layers, guards and extractors, so that a
/// request is authenticated once. A failure is left only when the layer
/// could defer it to the route: a session that cannot be checked right now
/// (`503`), so that browser routes answer with a page and APIs with JSON.
/// It also remembers whether the request's session has just ended, and
/// which auth made it: an inner layer of another auth (an MCP server under
/// an application's own layer, say) does not take its word (see
/// [`WebAuth::gate_now`]).
#[derive(Debug, Clone)]
pub struct Resolution {
    result: Result<Option<Arc<Authenticated>>, AuthFailure>,
    /// Why the session the request carried has just ended, if it has
    /// (boxed: rare, and a resolution moves through every request).
    ended: Option<Box<SessionEnd>>,
    /// The acceptance identity of the [`WebAuth`] that made it.
    by: u64,
    /// Taken from an outer layer of the same acceptance (the request
    /// already holds it): not left again by a layer of the same
    /// `Arc<WebAuth>` (see [`WebAuth::after_gate`]).
    pub(super) reused: bool,
    /// The auth of the layer that left it in the request (its responder
    /// and challenge answer the extractors' refusals): set by
    /// [`WebAuth::after_gate`], so that a request carries one extension
    /// for both.
    pub(super) web: Option<Arc<WebAuth>>,
}

impl Resolution {
    /// What an auth layer leaves for `caller` (`None`: an anonymous
    /// request), to test routes, guards and extractors without the layer
    /// (feature `test-util`; see `test_util::TestCaller::resolution`).
    #[cfg(any(test, feature = "test-util"))]
    pub fn from_caller(caller: Option<Arc<Authenticated>>) -> Self {
        Resolution {
            result: Ok(caller),
            ended: None,
            by: super::TEST_CALLER,
            reused: false,
            web: None,
        }
    }

    /// Whether `web` (or a clone of it with the same acceptance) made this
    /// resolution: its layers and extractors take it as it is.
    pub(crate) fn resolved_by(&self, web: &WebAuth) -> bool {
        self.by == web.acceptance || self.by == super::TEST_CALLER
    }

    /// The caller, if one was authenticated.
    pub fn caller(&self) -> Option<&Arc<Authenticated>> {
        self.result.as_ref().ok().and_then(Option::as_ref)
    }

    /// The failure deferred to the route, if any (see [`Resolution`]).
    pub fn failure(&self) -> Option<&AuthFailure> {
        self.result.as_ref().err()
    }

    /// Whether the session the request carried has just ended (timeout,
    /// refused refresh, removed elsewhere).
    pub fn session_ended(&self) -> bool {
        self.ended.is_some()
    }

    /// Why the session the request carried has just ended, if it has.
    pub fn session_end(&self) -> Option<&SessionEnd> {
        self.ended.as_deref()
    }

    /// The [`Refusal`] of an `outcome` of this resolution:
    /// [`RefusalKind::SessionEnded`] instead of a missing caller when the
    /// session has just ended.
    pub(crate) fn refusal(&self, outcome: ErrorOutcome) -> Refusal {
        let refusal = Refusal::from(outcome);
        if self.ended.is_some() && refusal.kind() == RefusalKind::MissingCredentials {
            return refusal.into_kind(RefusalKind::SessionEnded);
        }
        refusal
    }

    /// Whether the caller meets `requirement` (no caller: `false`). The
    /// check of guards before they build an answer.
    pub fn satisfies(&self, requirement: &Requirement) -> bool {
        self.caller()
            .is_some_and(|caller| requirement.check_claims(&caller.claims).is_ok())
    }

    /// The caller, or the refusal to answer with instead (through
    /// [`WebAuth::respond`]): the deferred failure (`503`), or `401`
    /// without credentials ([`RefusalKind::SessionEnded`] when the
    /// request's session has just ended).
    pub fn require(&self, challenge: &Challenge) -> Result<&Arc<Authenticated>, Refusal> {
        match &self.result {
            Ok(Some(caller)) => Ok(caller),
            Ok(None) => Err(self.refusal(ErrorOutcome::missing_credentials(challenge))),
            Err(failure) => Err(self.refusal(failure.outcome(challenge))),
        }
    }

    /// For optional authentication: the caller or `None` for an anonymous
    /// request; the deferred failure (`503`) rather than serving a
    /// signed-in user as anonymous.
    pub fn optional(&self, challenge: &Challenge) -> Result<Option<&Arc<Authenticated>>, Refusal> {
        match &self.result {
            Ok(caller) => Ok(caller.as_ref()),
            Err(failure) => Err(self.refusal(failure.outcome(challenge))),
        }
    }

    /// Checks `requirement` against the caller: `401` without one, the
    /// deferred failure, or `403 insufficient_scope` when it falls short.
    pub fn check(&self, requirement: &Requirement, challenge: &Challenge) -> Result<(), Refusal> {
        let caller = self.require(challenge)?;
        requirement
            .check_claims(&caller.claims)
            .map_err(|missing| Refusal::from(missing.outcome(challenge)))
    }
}

/// What an auth layer does with a request: serve it (leaving the
/// [`Resolution`] for inner layers and extractors) or answer it now.
#[derive(Debug, Clone)]
pub enum Gate {
    /// Serve the request.
    Serve(Resolution),
    /// Answer with this instead (a `401`/`400`/`503` failure, a redirect to
    /// login, a retry page).
    Answer(WebResponse),
}

impl WebAuth {
    /// The decision of an auth layer in `mode` for a request: authenticates
    /// it unless an outer layer already did (`outer`), then serves it or
    /// answers it. Returns the `Set-Cookie` values to add to whatever the
    /// response is (a refreshed session, cleared cookies). One code path for
    /// every framework adapter.
    ///
    /// - An invalid bearer token, several `Authorization` headers, or keys
    ///   that cannot be had are answered at once, in every mode.
    /// - A session that cannot be checked right now (refresh or store
    ///   unavailable, no bearer token sent) is left to the route by an
    ///   optional layer, so that an inner browser layer answers with the
    ///   retry page and API routes with `503` JSON; routes that need no
    ///   caller (login, logout, webhooks) still work.
    /// - Without a caller, `RequireApi` answers `401` and `RequireBrowser`
    ///   redirects to the login route with `path_and_query` as the return
    ///   target.
    pub async fn gate(
        &self,
        mode: Mode,
        outer: Option<&Resolution>,
        authorization: AuthorizationHeaders<'_>,
        cookies: &RequestCookies<'_>,
        path_and_query: &str,
    ) -> (Gate, Vec<String>) {
        match self.gate_now(mode, outer, authorization, cookies, path_and_query) {
            Some(decided) => decided,
            None => {
                self.gate_pending(mode, outer, authorization, cookies, path_and_query)
                    .await
            }
        }
    }

    /// [`WebAuth::gate`] when it can be decided without waiting: an outer
    /// layer's resolution (when that layer's auth is this one: see below), a bearer token found in the verified-token
    /// cache, a cookie-only session that is current and was seen lately
    /// ([`SessionManager::resolve_now`](crate::session::SessionManager::resolve_now)),
    /// a request without credentials, or one refused for its headers alone.
    /// `None` otherwise (a signature check, a key fetch, a session to
    /// refresh, touch or read from its store): then call
    /// [`WebAuth::gate_pending`]. An adapter that gets an answer here calls
    /// its inner service at once, without boxing the request's future.
    ///
    /// An outer layer's resolution made by another auth (one that accepts
    /// other audiences, issuers or sessions) is not taken as it is: this
    /// auth checks the request's bearer token itself, and only that (the
    /// session cookie is the outer layer's to open, refresh and set), so an
    /// inner layer never accepts more than it would alone.
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::session::RequestCookies;
    /// use scalekit_core::web::adapter::{AuthorizationHeaders, Gate};
    /// use scalekit_core::web::{Mode, WebAuth, WebResponse};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret").unwrap();
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "0123456789abcdef0123456789abcdef").unwrap();
    /// let no_cookies = RequestCookies::parse(Vec::<&str>::new());
    /// // No credentials: decided at once (`401` for an API route).
    /// let (gate, _) = web.gate_now(Mode::RequireApi, None, AuthorizationHeaders::default(), &no_cookies, "/api").unwrap();
    /// assert!(matches!(gate, Gate::Answer(WebResponse::Error { outcome, .. }) if outcome.status == 401));
    /// // A bearer token never seen: its signature must be checked first.
    /// let bearer = AuthorizationHeaders::from(Some("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
    /// assert!(web.gate_now(Mode::RequireApi, None, bearer, &no_cookies, "/api").is_none());
    /// ```
    pub fn gate_now(
        &self,
        mode: Mode,
        outer: Option<&Resolution>,
        authorization: AuthorizationHeaders<'_>,
        cookies: &RequestCookies<'_>,
        path_and_query: &str,
    ) -> Option<(Gate, Vec<String>)> {
        let cookies = match outer {
            Some(outer) if outer.resolved_by(self) => {
                let gate = match self.decide(
                    mode,
                    outer.result.clone(),
                    true,
                    outer.ended.as_deref().cloned(),
                    path_and_query,
                ) {
                    Gate::Serve(resolution) => Gate::Serve(Resolution {
                        reused: true,
                        web: outer.web.clone(),
                        ..resolution
                    }),
                    answer => answer,
                };
                return Some((gate, Vec::new()));
            }
            // Another auth's: the bearer token only.
            Some(_) => &RequestCookies::default(),
            None => cookies,
        };
        let auth = self.shared_now(authorization, cookies)?;
        Some(self.decide_auth(mode, auth, authorization, path_and_query))
    }

    /// The rest of [`WebAuth::gate`] for a request that
    /// [`WebAuth::gate_now`] could not decide: authenticates it, waiting
    /// for what it needs (`outer` as for [`WebAuth::gate_now`]).
    pub async fn gate_pending(
        &self,
        mode: Mode,
        outer: Option<&Resolution>,
        authorization: AuthorizationHeaders<'_>,
        cookies: &RequestCookies<'_>,
        path_and_query: &str,
    ) -> (Gate, Vec<String>) {
        let no_cookies = RequestCookies::default();
        let cookies = if outer.is_some() {
            &no_cookies
        } else {
            cookies
        };
        let auth = self.authenticate_pending(authorization, cookies).await;
        self.decide_auth(mode, auth, authorization, path_and_query)
    }

    fn decide_auth(
        &self,
        mode: Mode,
        auth: SharedAuth,
        authorization: AuthorizationHeaders<'_>,
        path_and_query: &str,
    ) -> (Gate, Vec<String>) {
        // Read only for an unavailable platform (`decide`): the header is
        // not parsed again for every other request.
        let via_session = matches!(auth.result, Err(AuthFailure::Unavailable))
            && !matches!(authorization.single(), Ok(Some(value)) if bearer_token(value).is_some());
        let gate = self.decide(mode, auth.result, via_session, auth.ended, path_and_query);
        (gate, auth.set_cookies)
    }

    fn resolution(
        &self,
        result: Result<Option<Arc<Authenticated>>, AuthFailure>,
        ended: Option<SessionEnd>,
    ) -> Resolution {
        Resolution {
            result,
            ended: ended.map(Box::new),
            by: self.acceptance,
            reused: false,
            web: None,
        }
    }

    fn decide(
        &self,
        mode: Mode,
        result: Result<Option<Arc<Authenticated>>, AuthFailure>,
        via_session: bool,
        ended: Option<SessionEnd>,
        path_and_query: &str,
    ) -> Gate {
        // Every answer given here goes through the application's responder.
        match result {
            Ok(None) if mode == Mode::RequireApi => {
                let missing = ErrorOutcome::missing_credentials(self.challenge());
                Gate::Answer(self.respond(self.resolution(Ok(None), ended).refusal(missing)))
            }
            Ok(None) if mode == Mode::RequireBrowser => {
                Gate::Answer(self.respond(self.sign_in_required(path_and_query, ended.is_some())))
            }
            Ok(caller) => Gate::Serve(self.resolution(Ok(caller), ended)),
            Err(AuthFailure::Unavailable) if via_session && mode == Mode::Optional => {
                Gate::Serve(self.resolution(Err(AuthFailure::Unavailable), ended))
            }
            Err(AuthFailure::Unavailable) if mode == Mode::RequireBrowser => {
                Gate::Answer(self.respond(self.unavailable_refusal()))
            }
            Err(failure) => {
                Gate::Answer(self.respond(Refusal::from(failure.outcome(self.challenge()))))
            }
        }
    }

    /// Authenticates a request from its `Authorization` headers and
    /// cookies: a bearer token first, else the session (refreshed when
    /// needed). Several `Authorization` headers are refused
    /// ([`AuthFailure::InvalidRequest`]); a bearer token authenticates only
    /// when it is an access token for one of the accepted audiences.
    ///
    /// Runs in a `scalekit.authenticate` span (level `DEBUG`; fields `via`,
    /// `user_id`, `session`, `outcome`; see [`crate::telemetry`]).
    ///
    /// Returns what an auth layer would leave for the request (the caller,
    /// none, or why its credentials were refused, and whether its session
    /// has just ended) and the `Set-Cookie` values to send with the
    /// response (a refreshed session, cleared cookies). For code that
    /// authenticates outside a layer; a layer calls
    /// [`WebAuth::gate`](crate::web::WebAuth::gate).
    pub async fn authenticate(
        &self,
        authorization: impl Into<AuthorizationHeaders<'_>>,
        cookies: &RequestCookies<'_>,
    ) -> (Resolution, Vec<String>) {
        let authorization = authorization.into();
        let auth = match self.shared_now(authorization, cookies) {
            Some(auth) => auth,
            None => self.authenticate_pending(authorization, cookies).await,
        };
        (self.resolution(auth.result, auth.ended), auth.set_cookies)
    }

    /// What [`WebAuth::authenticate`] makes of a request when it needs no
    /// waiting; `None` otherwise.
    fn shared_now(
        &self,
        authorization: AuthorizationHeaders<'_>,
        cookies: &RequestCookies<'_>,
    ) -> Option<SharedAuth> {
        let now = self.resolve_caller_now(authorization, cookies)?;
        let span = authenticate_span();
        let auth = match now {
            Now::Auth(auth, via) => {
                if let Some(via) = via {
                    span.record("via", via);
                }
                auth
            }
            Now::Session(resolved) => self.session_auth(resolved, &span),
        };
        record_outcome(&span, &auth.result);
        Some(auth)
    }

    /// The caller when no waiting is needed: several or unreadable
    /// `Authorization` headers, a bearer token the verified-token cache
    /// answers for, no credentials at all, a cookie-only session that is
    /// current and was seen lately.
    fn resolve_caller_now(
        &self,
        authorization: AuthorizationHeaders<'_>,
        cookies: &RequestCookies<'_>,
    ) -> Option<Now> {
        let authorization = match authorization.single() {
            Ok(value) => value,
            Err(failure) => return Some(Now::Auth(SharedAuth::refused(failure), None)),
        };
        if let Some(token) = authorization.and_then(bearer_token) {
            // This thread's own caller for the token (no reference count
            // shared with other threads' requests).
            let found = {
                let validator = self.scalekit.validator();
                validator.cached_access_local(token, validator.options(), Authenticated::bearer)?
            };
            return Some(Now::Auth(bearer_auth(found), Some("bearer")));
        }
        self.sessions.resolve_now(cookies).map(Now::Session)
    }

    async fn authenticate_pending(
        &self,
        authorization: AuthorizationHeaders<'_>,
        cookies: &RequestCookies<'_>,
    ) -> SharedAuth {
        use tracing::Instrument;
        let span = authenticate_span();
        let auth = self
            .resolve_caller(authorization, cookies, &span)
            .instrument(span.clone())
            .await;
        record_outcome(&span, &auth.result);
        auth
    }

    async fn resolve_caller(
        &self,
        authorization: AuthorizationHeaders<'_>,
        cookies: &RequestCookies<'_>,
        span: &tracing::Span,
    ) -> SharedAuth {
        let authorization = match authorization.single() {
            Ok(value) => value,
            Err(failure) => return SharedAuth::refused(failure),
        };
        if let Some(token) = authorization.and_then(bearer_token) {
            span.record("via", "bearer");
            // The cache was asked already (`resolve_caller_now`).
            let validator = self.scalekit.validator();
            let verified = validator
                .verify_access_uncached(token, validator.options())
                .await;
            return bearer_auth(verified.map(|claims| Arc::new(Authenticated::bearer(claims))));
        }
        let resolved = self.sessions.resolve(cookies).await;
        self.session_auth(resolved, span)
    }

    /// What a request's session makes of it.
    fn session_auth(
        &self,
        resolved: Result<Resolved, SessionError>,
        span: &tracing::Span,
    ) -> SharedAuth {
        let resolved = match resolved {
            Ok(resolved) => resolved,
            Err(err) => {
                // The session is kept and its cookie left untouched: a
                // refresh that cannot be made now, or the store, is
                // unavailable. 503 with Retry-After.
                match err {
                    SessionError::RefreshUnavailable => {
                        tracing::warn!("session refresh unavailable; the session is kept");
                    }
                    err => tracing::warn!(error = %err, "session unavailable"),
                }
                return SharedAuth::refused(AuthFailure::Unavailable);
            }
        };
        let Some(session) = resolved.session else {
            return SharedAuth {
                result: Ok(None),
                set_cookies: resolved.set_cookies,
                ended: resolved.ended,
            };
        };
        span.record("via", "session");
        crate::telemetry::record_session(span, &session.id);
        if session.auth_method == crate::session::AuthMethod::Passwordless {
            // No platform token: the session itself is the credential.
            let caller = Authenticated::passwordless(
                session,
                self.scalekit.config().environment_url(),
                self.sessions.session_policy(),
            );
            return SharedAuth {
                result: Ok(Some(Arc::new(caller))),
                set_cookies: resolved.set_cookies,
                ended: resolved.ended,
            };
        }
        // The session's access token was verified (signature and claims)
        // when the platform issued it, at login and at each refresh, and
        // reaches us only inside a sealed session (AES-256-GCM with our
        // secret), so its signature is not checked again: the claims are
        // parsed once per token and process and checked on every request
        // (expiry above all; the session layer refreshed it when due).
        let result = match self
            .scalekit
            .validator()
            .trusted_access_claims(&session.access_token)
        {
            Ok(verified) => Ok(Some(Arc::new(Authenticated::session(verified, session)))),
            Err(ValidationError::KeysUnavailable) => Err(AuthFailure::Unavailable),
            Err(err) => {
                tracing::info!(error = %err, "session access token refused");
                Ok(None)
            }
        };
        SharedAuth {
            result,
            set_cookies: resolved.set_cookies,
            ended: resolved.ended,
        }
    }
}

/// A request's caller (shared: a bearer caller is the thread's own, from
/// the verified-token cache's front), the cookies to send, and why its
/// session ended: what the gate decides on.
struct SharedAuth {
    result: Result<Option<Arc<Authenticated>>, AuthFailure>,
    set_cookies: Vec<String>,
    ended: Option<SessionEnd>,
}

impl SharedAuth {
    fn refused(failure: AuthFailure) -> Self {
        SharedAuth {
            result: Err(failure),
            set_cookies: Vec::new(),
            ended: None,
        }
    }
}

/// A caller resolved without waiting.
enum Now {
    /// Decided from the headers or the verified-token cache (and how).
    Auth(SharedAuth, Option<&'static str>),
    /// The session, resolved without waiting.
    Session(Result<Resolved, SessionError>),
}

fn authenticate_span() -> tracing::Span {
    use tracing::field::Empty;
    tracing::debug_span!(
        "scalekit.authenticate",
        via = Empty,
        user_id = Empty,
        session = Empty,
        outcome = Empty,
    )
}

fn record_outcome(span: &tracing::Span, result: &Result<Option<Arc<Authenticated>>, AuthFailure>) {
    if span.is_disabled() {
        return;
    }
    let outcome = match result {
        Ok(Some(caller)) => {
            span.record("user_id", caller.subject());
            "authenticated"
        }
        Ok(None) => "anonymous",
        Err(AuthFailure::InvalidToken(err)) => err.reason(),
        Err(AuthFailure::Unavailable) => "unavailable",
        Err(AuthFailure::InvalidRequest) => "invalid_request",
    };
    span.record("outcome", outcome);
}

/// What a bearer token's validation makes of the request.
fn bearer_auth(verified: Result<Arc<Authenticated>, ValidationError>) -> SharedAuth {
    match verified {
        Ok(caller) => SharedAuth {
            result: Ok(Some(caller)),
            set_cookies: Vec::new(),
            ended: None,
        },
        Err(ValidationError::KeysUnavailable) => SharedAuth::refused(AuthFailure::Unavailable),
        Err(err) => SharedAuth::refused(AuthFailure::InvalidToken(err)),
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme
/// case-insensitive).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text is what `http::HeaderValue::to_str` accepts (visible ASCII,
    /// space, tab), whatever byte is out of place and wherever it is in a
    /// long value.
    #[test]
    fn header_text_accepts_what_to_str_accepts() {
        let token = "Bearer ".to_owned() + &"eyJh.bGci-_Oi".repeat(70);
        assert_eq!(header_text(token.as_bytes()), Some(token.as_str()));
        for b in 0..=u8::MAX {
            let expected = (0x20..0x7f).contains(&b) || b == b'\t';
            for at in [0, 31, 32, 500, token.len() - 1] {
                let mut value = token.clone().into_bytes();
                value[at] = b;
                assert_eq!(
                    header_text(&value).is_some(),
                    expected,
                    "byte {b:#x} at {at}"
                );
            }
        }
        assert_eq!(header_text(b""), Some(""));
    }

    /// Every request's future holds the gate's future; a refresh, a touch,
    /// a store read or a key fetch are boxed where they happen, so that a
    /// request does not move kilobytes of future state around (they were
    /// 6.5 KB before).
    #[test]
    fn the_request_future_stays_small() {
        let web = crate::web::test_web();
        let cookies = RequestCookies::parse(["a=b"]);
        let gate = web.gate(
            Mode::Optional,
            None,
            AuthorizationHeaders::default(),
            &cookies,
            "/",
        );
        assert!(
            std::mem::size_of_val(&gate) <= 1536,
            "{}",
            std::mem::size_of_val(&gate)
        );
        let hit = web.scalekit.validator().validate_access("x");
        assert!(
            std::mem::size_of_val(&hit) <= 256,
            "{}",
            std::mem::size_of_val(&hit)
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
