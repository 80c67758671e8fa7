//! Your own responses: every answer the library gives on its own (a layer's
//! or guard's refusal, an extractor's rejection, a sign-in failure page, the
//! retry page, a browser sent to sign in) is first described as a
//! [`Refusal`], then rendered by the application's [`Responder`] when it
//! has one, else by the default. One code path for both adapters.

use std::sync::Arc;

use super::{Answer, WebAuth, WebResponse};
use crate::outcome::{ErrorBody, ErrorOutcome};

/// What kind of refusal a [`Refusal`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalKind {
    /// `401` without an error code: the request carried no credentials.
    MissingCredentials,
    /// `401 invalid_token`: the bearer token was refused, or its claims do
    /// not have the shape a handler asked for.
    InvalidToken,
    /// `400 invalid_request`: malformed credentials (several
    /// `Authorization` headers, one that is not text).
    InvalidRequest,
    /// `403 insufficient_scope`: the caller lacks a required scope,
    /// permission or role.
    InsufficientScope,
    /// `503 temporarily_unavailable` with `Retry-After`: signing keys, the
    /// token endpoint or the session store cannot be reached right now.
    Unavailable,
    /// A browser route without a caller: by default a redirect to the
    /// login route.
    SignInRequired,
    /// A browser or API route whose session has just ended (timeout, a
    /// refused refresh, removed elsewhere): by default a redirect to the
    /// login route (browser routes) or `401` (API routes).
    SessionEnded,
    /// The login or callback could not complete (bad state, a platform
    /// error, a failed code exchange): by default a `400` page.
    SignInFailed,
    /// The after-login hook refused the sign-in: by default a `403` page
    /// with the hook's message.
    SignInRefused,
}

/// Why a sign-in failed, as the failure page says it (fixed words per
/// case: the platform's own text is never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignInFailure {
    /// The user chose not to sign in (pressed "Deny", or the platform
    /// answered `access_denied`).
    Denied,
    /// The sign-in link was already used, has expired, or belongs to
    /// another sign-in (a reloaded or reused callback).
    LinkUsedOrExpired,
    /// The organization's sign-in connection is turned off.
    ConnectionOff,
    /// Any other failure.
    Failed,
}

impl SignInFailure {
    /// The page's title.
    pub fn title(self) -> &'static str {
        match self {
            SignInFailure::Denied => "You did not sign in",
            SignInFailure::LinkUsedOrExpired => "This sign-in link has expired",
            SignInFailure::ConnectionOff => "Sign-in is turned off",
            SignInFailure::Failed => "Sign-in failed",
        }
    }

    /// What happened and what to do, in plain words.
    pub fn message(self) -> &'static str {
        match self {
            SignInFailure::Denied => {
                "You chose not to sign in, so nothing was shared with this application."
            }
            SignInFailure::LinkUsedOrExpired => {
                "The sign-in link was already used or is too old. Please sign in again."
            }
            SignInFailure::ConnectionOff => {
                "Your organization's sign-in connection is turned off. \
                 Ask your administrator to turn it on, then sign in again."
            }
            SignInFailure::Failed => "The sign-in could not be completed. Please try again.",
        }
    }
}

/// A refusal the library is about to answer on its own: its kind, the
/// status, the RFC 6750 challenge (`WWW-Authenticate`), the error code and
/// description, `Retry-After`, and the default answer. Handed to the
/// application's [`Responder`]; also exposed by the adapters' extractor
/// rejections.
///
/// ```
/// use scalekit_core::outcome::{Challenge, ErrorOutcome};
/// use scalekit_core::web::{Refusal, RefusalKind};
///
/// let refusal = Refusal::from(ErrorOutcome::insufficient_scope(&Challenge::new("api"), "admin:read"));
/// assert_eq!(refusal.kind(), RefusalKind::InsufficientScope);
/// assert_eq!(refusal.status(), 403);
/// assert_eq!(refusal.error(), "insufficient_scope");
/// assert!(refusal.www_authenticate().is_some_and(|c| c.contains(r#"scope="admin:read""#)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(
    // Boxed: refusals travel in `Result`s and stay small.
    Box<Parts>,
);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts {
    kind: RefusalKind,
    outcome: ErrorOutcome,
    browser: bool,
    message: Option<String>,
    failure: Option<SignInFailure>,
    default: WebResponse,
}

impl From<ErrorOutcome> for Refusal {
    /// The refusal of an RFC 6750 outcome (an API answer: JSON by default),
    /// its kind read from the status and error code.
    fn from(outcome: ErrorOutcome) -> Self {
        let kind = match (outcome.status, outcome.body.error) {
            (503, _) => RefusalKind::Unavailable,
            (403, _) => RefusalKind::InsufficientScope,
            (400, _) => RefusalKind::InvalidRequest,
            (_, "invalid_token") => RefusalKind::InvalidToken,
            _ => RefusalKind::MissingCredentials,
        };
        Refusal::api(kind, outcome)
    }
}

impl Refusal {
    /// An API refusal answered by default with the outcome's JSON body.
    pub(crate) fn api(kind: RefusalKind, outcome: ErrorOutcome) -> Self {
        Refusal(Box::new(Parts {
            kind,
            default: WebResponse::Error {
                outcome: outcome.clone(),
                html: None,
            },
            outcome,
            browser: false,
            message: None,
            failure: None,
        }))
    }

    /// A browser refusal answered by default with `default`.
    pub(crate) fn browser(kind: RefusalKind, outcome: ErrorOutcome, default: WebResponse) -> Self {
        Refusal(Box::new(Parts {
            kind,
            outcome,
            browser: true,
            message: None,
            failure: None,
            default,
        }))
    }

    pub(crate) fn into_kind(mut self, kind: RefusalKind) -> Self {
        self.0.kind = kind;
        self
    }

    pub(crate) fn with_failure(mut self, why: SignInFailure) -> Self {
        self.0.failure = Some(why);
        self
    }

    pub(crate) fn with_message(mut self, message: String) -> Self {
        self.0.message = Some(message);
        self
    }

    /// The kind of refusal.
    pub fn kind(&self) -> RefusalKind {
        self.0.kind
    }

    /// The status an API answers with (`401`, `400`, `403`, `503`; the
    /// sign-in pages' `400` and `403`). A browser route sent to sign in
    /// reports `401` here, and its default answer is the redirect.
    pub fn status(&self) -> u16 {
        self.0.outcome.status
    }

    /// The `WWW-Authenticate` challenge (RFC 6750), when the answer carries
    /// one: keep it in your own answer.
    pub fn www_authenticate(&self) -> Option<&str> {
        self.0.outcome.header("www-authenticate")
    }

    /// `Retry-After` in seconds, for `503`.
    pub fn retry_after(&self) -> Option<&str> {
        self.0.outcome.header("retry-after")
    }

    /// The error code (`invalid_request`, `invalid_token`,
    /// `insufficient_scope`, `temporarily_unavailable`, `sign_in_failed`,
    /// `access_denied`).
    pub fn error(&self) -> &'static str {
        self.0.outcome.body.error
    }

    /// A fixed, human-readable description (never request data or
    /// internal error text).
    pub fn error_description(&self) -> &'static str {
        self.0.outcome.body.error_description
    }

    /// The whole RFC 6750 outcome: status, headers, JSON body.
    pub fn outcome(&self) -> &ErrorOutcome {
        &self.0.outcome
    }

    /// Whether the refusal is on a browser route (layers in browser mode,
    /// the login and callback routes): the default answer is HTML or a
    /// redirect rather than JSON.
    pub fn is_browser(&self) -> bool {
        self.0.browser
    }

    /// The message of the after-login hook ([`RefusalKind::SignInRefused`]),
    /// as the hook returned it (unescaped: escape it in HTML).
    pub fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    /// Why the sign-in failed ([`RefusalKind::SignInFailed`]).
    pub fn sign_in_failure(&self) -> Option<SignInFailure> {
        self.0.failure
    }

    /// The answer given without a responder.
    pub fn default_response(&self) -> &WebResponse {
        &self.0.default
    }

    /// Your own answer with this refusal's status and its `WWW-Authenticate`
    /// and `Retry-After` headers: the easy way to stay RFC 6750-correct.
    ///
    /// ```
    /// use scalekit_core::outcome::ErrorOutcome;
    /// use scalekit_core::web::Refusal;
    ///
    /// let refusal = Refusal::from(ErrorOutcome::keys_unavailable(5));
    /// let answer = refusal.answer("text/plain; charset=utf-8", "Back in a moment.");
    /// assert_eq!(answer.status, 503);
    /// assert_eq!(answer.get_header("retry-after"), Some("5"));
    /// ```
    pub fn answer(&self, content_type: &str, body: impl Into<String>) -> Answer {
        let mut answer = Answer::new(self.status(), content_type, body);
        for (name, value) in &self.0.outcome.headers {
            answer = answer.header(*name, value.as_str());
        }
        answer
    }

    /// The `Set-Cookie` values of the default answer (a cleared login
    /// state): sent with your answer too.
    fn set_cookies(&self) -> Vec<String> {
        match &self.0.default {
            WebResponse::Redirect { set_cookies, .. }
            | WebResponse::Page { set_cookies, .. }
            | WebResponse::Custom { set_cookies, .. } => set_cookies.clone(),
            WebResponse::Json { .. } | WebResponse::Error { .. } => Vec::new(),
        }
    }
}

/// The application's renderer of refusals: `Some(answer)` to answer
/// itself, `None` to keep the default. Set with [`WebAuth::respond_with`].
pub type Responder = Arc<dyn Fn(&Refusal) -> Option<Answer> + Send + Sync>;

impl WebAuth {
    /// Renders every refusal the library answers on its own with
    /// `responder` (layers, guards, extractor rejections, the sign-in
    /// failure pages, the retry page, a browser sent to sign in). Without
    /// it, or when it returns `None`, the default answer is given.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::web::{Refusal, WebAuth};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?
    ///     .respond_with(Arc::new(|refusal: &Refusal| {
    ///         (!refusal.is_browser()).then(|| {
    ///             let body = serde_json::json!({
    ///                 "title": refusal.error_description(),
    ///                 "status": refusal.status(),
    ///             });
    ///             refusal.answer("application/problem+json", body.to_string())
    ///         })
    ///     }));
    /// # let _ = web;
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn respond_with(mut self, responder: Responder) -> Self {
        self.responder = Some(responder);
        self
    }

    /// The answer to `refusal`: the application's, else the default. The
    /// one place every refusal of every adapter goes through.
    pub fn respond(&self, refusal: Refusal) -> WebResponse {
        if let Some(responder) = &self.responder
            && let Some(answer) = responder(&refusal)
        {
            return WebResponse::Custom {
                answer,
                set_cookies: refusal.set_cookies(),
            };
        }
        refusal.0.default
    }

    /// The refusal of a browser route without a caller: the redirect to
    /// login ([`RefusalKind::SessionEnded`] when the request's session has
    /// just ended).
    pub(crate) fn sign_in_required(&self, path_and_query: &str, ended: bool) -> Refusal {
        let kind = if ended {
            RefusalKind::SessionEnded
        } else {
            RefusalKind::SignInRequired
        };
        Refusal::browser(
            kind,
            ErrorOutcome::missing_credentials(self.challenge()),
            self.login_redirect(path_and_query),
        )
    }

    /// The sign-in failure page for `why` (fixed text: the platform's
    /// `error_description` is never reflected), through the responder.
    pub(crate) fn sign_in_failed(
        &self,
        why: SignInFailure,
        set_cookies: Vec<String>,
    ) -> WebResponse {
        let outcome = page_outcome(400, "sign_in_failed", SIGN_IN_FAILED);
        let page = WebResponse::Page {
            status: 400,
            html: self.sign_in_page(why.title(), why.message()),
            set_cookies,
        };
        self.respond(Refusal::browser(RefusalKind::SignInFailed, outcome, page).with_failure(why))
    }

    /// The page of a sign-in the after-login hook refused, with its
    /// message, through the responder.
    pub(crate) fn sign_in_refused(&self, message: String, set_cookies: Vec<String>) -> WebResponse {
        let outcome = page_outcome(403, "access_denied", "The sign-in was refused.");
        let page = WebResponse::Page {
            status: 403,
            html: self.sign_in_page("Sign-in refused", &super::pages::escape_html(&message)),
            set_cookies,
        };
        self.respond(
            Refusal::browser(RefusalKind::SignInRefused, outcome, page).with_message(message),
        )
    }
}

const SIGN_IN_FAILED: &str = "The sign-in could not be completed.";

fn page_outcome(status: u16, error: &'static str, description: &'static str) -> ErrorOutcome {
    ErrorOutcome {
        status,
        headers: Vec::new(),
        body: ErrorBody {
            error,
            error_description: description,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Challenge;

    fn web() -> WebAuth {
        crate::web::test_web()
    }

    #[test]
    fn kinds_are_read_from_outcomes() {
        let c = Challenge::new("api");
        let kind = |o: ErrorOutcome| Refusal::from(o).kind();
        assert_eq!(
            kind(ErrorOutcome::missing_credentials(&c)),
            RefusalKind::MissingCredentials
        );
        assert_eq!(
            kind(ErrorOutcome::invalid_token(&c, "x")),
            RefusalKind::InvalidToken
        );
        assert_eq!(
            kind(ErrorOutcome::invalid_request(&c, "x")),
            RefusalKind::InvalidRequest
        );
        assert_eq!(
            kind(ErrorOutcome::insufficient_scope(&c, "a")),
            RefusalKind::InsufficientScope
        );
        assert_eq!(
            kind(ErrorOutcome::keys_unavailable(5)),
            RefusalKind::Unavailable
        );
    }

    #[test]
    fn without_a_responder_the_default_is_given() {
        let web = web();
        let outcome = ErrorOutcome::missing_credentials(web.challenge());
        assert_eq!(
            web.respond(Refusal::from(outcome.clone())),
            WebResponse::Error {
                outcome,
                html: None
            }
        );
        // A responder that declines keeps the default too.
        let web = web.respond_with(Arc::new(|_: &Refusal| None));
        assert!(matches!(
            web.sign_in_failed(SignInFailure::Failed, vec!["a=; Max-Age=0".into()]),
            WebResponse::Page { status: 400, .. }
        ));
    }

    #[test]
    fn a_responder_answers_and_keeps_cookies() {
        let web = web().respond_with(Arc::new(|r: &Refusal| {
            Some(r.answer(
                "text/plain",
                format!("{:?}:{}", r.kind(), r.message().unwrap_or("")),
            ))
        }));
        let WebResponse::Custom {
            answer,
            set_cookies,
        } = web.sign_in_refused("<not you>".into(), vec!["s=; Max-Age=0".into()])
        else {
            panic!("a custom answer");
        };
        assert_eq!(answer.status, 403);
        assert_eq!(answer.body, "SignInRefused:<not you>");
        assert_eq!(set_cookies, ["s=; Max-Age=0"]);
        let WebResponse::Custom { answer, .. } = web.respond(Refusal::from(
            ErrorOutcome::insufficient_scope(web.challenge(), "admin:read"),
        )) else {
            panic!("a custom answer");
        };
        assert_eq!(answer.get_header("Content-Type"), Some("text/plain"));
        assert!(
            answer
                .get_header("www-authenticate")
                .is_some_and(|c| c.contains("insufficient_scope"))
        );
        let ended = web.sign_in_required("/dashboard", true);
        assert_eq!(
            (ended.kind(), ended.status(), ended.is_browser()),
            (RefusalKind::SessionEnded, 401, true)
        );
        assert!(matches!(
            ended.default_response(),
            WebResponse::Redirect { location, .. } if location == "/auth/login?return_to=%2Fdashboard"
        ));
    }
}
