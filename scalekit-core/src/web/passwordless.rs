//! Passwordless sign-in without a redirect (PROTOCOL.md §13): the email
//! form, the "check your email" page with the code form, the code and the
//! magic link checked with the platform, resends. The auth request is
//! bound to the browser that asked (a sealed `HttpOnly` cookie, never the
//! page); every form is checked against cross-site posts; the session that
//! starts is ours alone (no platform token), with a new id.

use std::collections::HashMap;
use std::time::Duration;

use super::pages::{escape_html, passwordless_page};
use super::{RequestOrigin, WebAuth, WebResponse};
use crate::oauth::{AuthenticationResponse, User, safe_return_target};
use crate::passwordless::{
    Credential, PasswordlessClient, PasswordlessError, SendPasswordlessRequest, Template,
    VerifiedEmail,
};
use crate::session::{PasswordlessState, RequestCookies, SessionError, StoreError};

/// The largest form body read (an address and a return target fit many
/// times over).
pub const MAX_FORM_BYTES: usize = 8 * 1024;

/// The passwordless sign-in of a [`WebAuth`]: which template the platform
/// sends, how long its code and link live, the template's variables.
///
/// ```
/// use scalekit_core::passwordless::{PasswordlessError, Template};
/// use scalekit_core::web::PasswordlessLogin;
///
/// let login = PasswordlessLogin::new()
///     .template(Template::Signin)
///     .expires_in(600)
///     .template_variable("app_name", "Acme")?;
/// assert!(PasswordlessLogin::new().template_variable("link", "x").is_err());
/// # let _ = login;
/// # Ok::<(), PasswordlessError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PasswordlessLogin {
    /// Every send's options (its address set per send).
    request: SendPasswordlessRequest,
    client: Option<PasswordlessClient>,
    session_lifetime: Duration,
}

impl Default for PasswordlessLogin {
    fn default() -> Self {
        PasswordlessLogin {
            request: SendPasswordlessRequest::new(""),
            client: None,
            session_lifetime: PasswordlessLogin::DEFAULT_SESSION_LIFETIME,
        }
    }
}

impl PasswordlessLogin {
    /// Sign-in emails with the platform's default expiry.
    pub fn new() -> Self {
        PasswordlessLogin::default()
    }

    /// The template (default [`Template::Signin`]).
    pub fn template(mut self, template: Template) -> Self {
        self.request = self.request.template(template);
        self
    }

    /// Seconds until a code and link expire (default: the platform's).
    pub fn expires_in(mut self, seconds: u32) -> Self {
        self.request = self.request.expires_in(seconds);
        self
    }

    /// A variable of every email; reserved names are refused here (see
    /// [`SendPasswordlessRequest::template_variable`]).
    pub fn template_variable(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, PasswordlessError> {
        self.request = self.request.template_variable(name, value)?;
        Ok(self)
    }

    /// Calls the platform through `client` (default: a client of the
    /// web auth's environment with a token cache of its own).
    pub fn client(mut self, client: PasswordlessClient) -> Self {
        self.client = Some(client);
        self
    }

    /// The default lifetime of a passwordless session: 8 hours.
    pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

    /// How long a passwordless session lives at most (default
    /// [`PasswordlessLogin::DEFAULT_SESSION_LIFETIME`]; the session policy's
    /// absolute and idle timeouts end it earlier when they are shorter).
    ///
    /// A hosted-login session also ends when the platform refuses its next
    /// refresh (a user removed or signed out at the platform); a
    /// passwordless session holds no platform token, so nothing but this
    /// lifetime, logout and "sign out everywhere" (with a session store)
    /// ends it, and a copied cookie-only session cookie lives until this
    /// lifetime is over. Keep it short.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scalekit_core::web::PasswordlessLogin;
    ///
    /// let login = PasswordlessLogin::new().session_lifetime(Duration::from_secs(3600));
    /// assert_eq!(login.lifetime(), Duration::from_secs(3600));
    /// ```
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    /// The lifetime of its sessions (see
    /// [`PasswordlessLogin::session_lifetime`]).
    pub fn lifetime(&self) -> Duration {
        self.session_lifetime
    }
}

/// The passwordless routes' paths (see [`WebAuth::passwordless_paths`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordlessPaths {
    /// `GET` the email form, `POST` it (default `/auth/passwordless`).
    pub form: String,
    /// `POST` a code, `GET` a magic link (`{form}/verify`).
    pub verify: String,
    /// `POST` a resend (`{form}/resend`).
    pub resend: String,
}

/// A form posted to a passwordless route, as an adapter hands it over:
/// its body and the headers that say where it was posted from.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormPost<'a> {
    /// The body (`application/x-www-form-urlencoded`).
    pub body: &'a [u8],
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Referer`.
    pub referer: Option<&'a str>,
    /// `Sec-Fetch-Site`.
    pub fetch_site: Option<&'a str>,
    /// The body was longer than [`MAX_FORM_BYTES`] (or broke off): an
    /// adapter stops reading there and says so.
    pub oversized: bool,
}

impl<'a> FormPost<'a> {
    /// A post of `body`, its headers read through `header` (by lowercase
    /// name; `None` for a missing header or one that is not text).
    pub fn new(body: &'a [u8], header: impl Fn(&'static str) -> Option<&'a str>) -> Self {
        FormPost {
            body,
            content_type: header("content-type"),
            origin: header("origin"),
            referer: header("referer"),
            fetch_site: header("sec-fetch-site"),
            oversized: false,
        }
    }

    /// The same post, its body not read to the end (longer than
    /// [`MAX_FORM_BYTES`], or broken off).
    pub fn oversized(mut self) -> Self {
        self.oversized = true;
        self
    }
}

/// Why a post was not read.
enum Refused {
    CrossSite,
    TooLarge,
    NotAForm,
}

/// The user of a passwordless sign-in: the address the platform vouched
/// for, lowercase, as its id too.
fn passwordless_user(verified: &VerifiedEmail) -> User {
    let email = verified.email.trim().to_ascii_lowercase();
    User {
        id: email.clone(),
        email: Some(email),
        email_verified: Some(true),
        ..User::default()
    }
}

impl WebAuth {
    /// Serves passwordless sign-in (PROTOCOL.md §13) on the paths of
    /// [`WebAuth::passwordless_paths`]: the adapters' auth routes then
    /// include them.
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::web::{PasswordlessLogin, WebAuth};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?
    ///     .passwordless(PasswordlessLogin::new());
    /// assert_eq!(web.passwordless_paths().map(|p| p.verify), Some("/auth/passwordless/verify".to_owned()));
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn passwordless(mut self, mut login: PasswordlessLogin) -> Self {
        if login.client.is_none() {
            login.client = Some(PasswordlessClient::new(&self.scalekit));
        }
        self.passwordless = Some(std::sync::Arc::new(login));
        self
    }

    /// The passwordless routes' paths, when passwordless sign-in is on.
    pub fn passwordless_paths(&self) -> Option<PasswordlessPaths> {
        self.passwordless.as_ref()?;
        let form = self.paths.passwordless.clone();
        Some(PasswordlessPaths {
            verify: format!("{form}/verify"),
            resend: format!("{form}/resend"),
            form,
        })
    }

    /// `GET /auth/passwordless`: the email form (`id="passwordless-form"`),
    /// `return_to` passed through when it is a safe same-site path.
    pub fn passwordless_form(&self, query: &HashMap<String, String>) -> WebResponse {
        if self.passwordless.is_none() {
            return not_found();
        }
        let return_to = query.get("return_to").and_then(|t| safe_return_target(t));
        self.email_form_page(200, None, return_to.as_deref(), Vec::new())
    }

    /// The work of [`WebAuth::passwordless_send`].
    async fn send_email(&self, post: &FormPost<'_>, origin: &RequestOrigin<'_>) -> WebResponse {
        let (login, client) = match self.passwordless_login() {
            Some(found) => found,
            None => return not_found(),
        };
        let form = match self.read_form(post, origin) {
            Ok(form) => form,
            Err(refused) => return self.refused_post(refused),
        };
        let return_to = form.get("return_to").and_then(|t| safe_return_target(t));
        let email = form.get("email").map(|e| e.trim()).unwrap_or_default();
        if !crate::passwordless::looks_like_email(email) {
            return self.email_form_page(
                400,
                Some("Enter your email address."),
                return_to.as_deref(),
                Vec::new(),
            );
        }
        let request = login.request.to(email).magiclink_auth_uri(format!(
            "{}{}/verify",
            self.base_url_for(origin),
            self.paths.passwordless
        ));
        match client.send(&request).await {
            Ok(sent) => {
                tracing::info!("passwordless email sent");
                let state = PasswordlessState::new(
                    sent.auth_request_id,
                    return_to,
                    sent.passwordless_type.has_code(),
                );
                self.check_email_page(200, &state, None)
            }
            Err(err) => self.send_failed(&err, return_to.as_deref(), Vec::new()),
        }
    }

    /// The work of [`WebAuth::passwordless_verify_code`].
    async fn check_code(
        &self,
        post: &FormPost<'_>,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
    ) -> WebResponse {
        let (client, form, state) = match self.posted_to_state(post, cookies, origin) {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        let code = form.get("code").map(|c| c.trim()).unwrap_or_default();
        let verified = client
            .verify(&Credential::code(code), Some(&state.auth_request_id))
            .await;
        self.verified(verified, Some(state), cookies).await
    }

    /// The work of [`WebAuth::passwordless_verify_link`].
    async fn check_link(
        &self,
        query: &HashMap<String, String>,
        cookies: &RequestCookies<'_>,
    ) -> WebResponse {
        let Some((_, client)) = self.passwordless_login() else {
            return not_found();
        };
        let state = self.sessions.passwordless_state(cookies).ok();
        let Some(token) = query.get("link_token").filter(|t| !t.is_empty()) else {
            return self.start_again(400, LINK_REFUSED, Vec::new());
        };
        let verified = client
            .verify(
                &Credential::link_token(token.as_str()),
                state.as_ref().map(|s| s.auth_request_id.as_str()),
            )
            .await;
        self.verified(verified, state, cookies).await
    }

    /// The work of [`WebAuth::passwordless_resend`].
    async fn resend_email(
        &self,
        post: &FormPost<'_>,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
    ) -> WebResponse {
        let (client, _, state) = match self.posted_to_state(post, cookies, origin) {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        match client.resend(&state.auth_request_id).await {
            Ok(sent) => {
                let state = PasswordlessState::new(
                    sent.auth_request_id,
                    state.return_to,
                    sent.passwordless_type.has_code(),
                );
                self.check_email_page(200, &state, Some("We sent you a new email."))
            }
            Err(PasswordlessError::SendLimit { .. }) => self.check_email_page(
                429,
                &state,
                Some("Too many emails to this address: wait a minute before asking for another."),
            ),
            Err(err) => self.send_failed(&err, None, self.clear_state(Some(&state))),
        }
    }

    /// What a form posted to the sign-in of this browser brings: the
    /// client, the form (checked against cross-site posts) and the
    /// browser's passwordless state; else the answer to give.
    fn posted_to_state(
        &self,
        post: &FormPost<'_>,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
    ) -> Result<
        (
            &PasswordlessClient,
            HashMap<String, String>,
            PasswordlessState,
        ),
        WebResponse,
    > {
        let Some((_, client)) = self.passwordless_login() else {
            return Err(not_found());
        };
        let form = self
            .read_form(post, origin)
            .map_err(|refused| self.refused_post(refused))?;
        let state = self
            .sessions
            .passwordless_state(cookies)
            .map_err(|_| self.start_again(400, EXPIRED, Vec::new()))?;
        Ok((client, form, state))
    }

    /// `POST /auth/passwordless` (form `email`, `return_to`): emails a code
    /// and/or a link, binds the auth request to this browser (a sealed
    /// cookie) and answers the "check your email" page, the same whatever
    /// the address.
    ///
    /// Runs in a `scalekit.passwordless` span (fields `step`: `send`,
    /// `user_id`, `session`, `outcome`).
    pub async fn passwordless_send(
        &self,
        post: &FormPost<'_>,
        origin: &RequestOrigin<'_>,
    ) -> WebResponse {
        traced("send", self.send_email(post, origin)).await
    }

    /// `POST /auth/passwordless/verify` (form `code`): checks the code of
    /// this browser's auth request; signed in, the session starts (a new
    /// one) and the browser goes to the return target (else the
    /// after-login path).
    ///
    /// Runs in a `scalekit.passwordless` span (fields `step`: `verify_code`,
    /// `user_id`, `session`, `outcome`).
    pub async fn passwordless_verify_code(
        &self,
        post: &FormPost<'_>,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
    ) -> WebResponse {
        traced("verify_code", self.check_code(post, cookies, origin)).await
    }

    /// `GET /auth/passwordless/verify?link_token=…`: the magic link, with
    /// this browser's auth request id when it has one (required by the
    /// platform under same-browser enforcement).
    ///
    /// Runs in a `scalekit.passwordless` span (fields `step`: `verify_link`,
    /// `user_id`, `session`, `outcome`).
    pub async fn passwordless_verify_link(
        &self,
        query: &HashMap<String, String>,
        cookies: &RequestCookies<'_>,
    ) -> WebResponse {
        traced("verify_link", self.check_link(query, cookies)).await
    }

    /// `POST /auth/passwordless/resend`: a new email for this browser's
    /// auth request (it counts towards the address's send limit).
    ///
    /// Runs in a `scalekit.passwordless` span (fields `step`: `resend`,
    /// `user_id`, `session`, `outcome`).
    pub async fn passwordless_resend(
        &self,
        post: &FormPost<'_>,
        cookies: &RequestCookies<'_>,
        origin: &RequestOrigin<'_>,
    ) -> WebResponse {
        traced("resend", self.resend_email(post, cookies, origin)).await
    }

    /// The login options and the client, when passwordless sign-in is on.
    fn passwordless_login(&self) -> Option<(&PasswordlessLogin, &PasswordlessClient)> {
        let login = self.passwordless.as_deref()?;
        Some((login, login.client.as_ref()?))
    }

    /// The form of a post that passed the cross-site check.
    fn read_form(
        &self,
        post: &FormPost<'_>,
        origin: &RequestOrigin<'_>,
    ) -> Result<HashMap<String, String>, Refused> {
        if !self.same_origin_post(post, origin) {
            tracing::warn!("a passwordless form was posted from another site; refused");
            return Err(Refused::CrossSite);
        }
        if post.oversized || post.body.len() > MAX_FORM_BYTES {
            return Err(Refused::TooLarge);
        }
        let is_form = post
            .content_type
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(Refused::NotAForm);
        }
        Ok(url::form_urlencoded::parse(post.body)
            .into_owned()
            .collect())
    }

    /// Whether a post comes from this application's own pages: its
    /// `Origin` (else its `Referer`) is the application's origin, and the
    /// browser does not call it cross-site.
    fn same_origin_post(&self, post: &FormPost<'_>, origin: &RequestOrigin<'_>) -> bool {
        if post
            .fetch_site
            .is_some_and(|site| site.trim().eq_ignore_ascii_case("cross-site"))
        {
            return false;
        }
        let own = self.base_url_for(origin);
        let own = own.trim_end_matches('/');
        match post.origin.map(str::trim).filter(|o| *o != "null") {
            Some(sent) => sent.eq_ignore_ascii_case(own),
            None => post.referer.is_some_and(|referer| {
                referer.len() > own.len()
                    && referer.is_char_boundary(own.len())
                    && referer[..own.len()].eq_ignore_ascii_case(own)
                    && referer[own.len()..].starts_with('/')
            }),
        }
    }

    fn refused_post(&self, refused: Refused) -> WebResponse {
        let (status, title, message) = match refused {
            Refused::CrossSite => (
                403,
                "This form came from another site",
                "For your safety, sign-in forms are accepted only from this application's own pages.",
            ),
            Refused::TooLarge => (413, "This form is too large", "Please try again."),
            Refused::NotAForm => (400, "This is not a sign-in form", "Please try again."),
        };
        WebResponse::Page {
            status,
            html: passwordless_page(
                title,
                &format!("<p id=\"message\">{message}</p>"),
                &self.start_link(),
            ),
            set_cookies: Vec::new(),
        }
    }

    /// What a verification ends with.
    async fn verified(
        &self,
        verified: Result<VerifiedEmail, PasswordlessError>,
        state: Option<PasswordlessState>,
        cookies: &RequestCookies<'_>,
    ) -> WebResponse {
        let clear = self.clear_state(state.as_ref());
        let verified = match verified {
            Ok(verified) => verified,
            Err(PasswordlessError::WrongCode { attempts_left }) => {
                tracing::info!(attempts_left, "passwordless code refused");
                let said = match attempts_left {
                    Some(1) => "That code is not right. 1 attempt left.".to_owned(),
                    Some(n) => format!("That code is not right. {n} attempts left."),
                    None => "That code is not right.".to_owned(),
                };
                return match &state {
                    Some(state) => self.check_email_page(400, state, Some(&said)),
                    None => self.start_again(400, EXPIRED, clear),
                };
            }
            Err(PasswordlessError::AuthRequestDead) => {
                tracing::info!("passwordless auth request dead: too many attempts");
                return self.start_again(429, TOO_MANY_ATTEMPTS, clear);
            }
            Err(PasswordlessError::InvalidLink) => {
                // The browser's own pending sign-in (if any) stays: a link
                // someone else sent it must not cancel it.
                tracing::info!("passwordless link refused");
                return self.start_again(400, LINK_REFUSED, Vec::new());
            }
            Err(PasswordlessError::Expired | PasswordlessError::InvalidArgument(_)) => {
                return self.start_again(400, EXPIRED, clear);
            }
            Err(err) if err.is_transient() => {
                tracing::warn!(error = %err, "passwordless verification unavailable");
                return self.store_unavailable_page(
                    "Sign-in is temporarily unavailable",
                    "Your sign-in could not be checked just now. Please try again in a few seconds.",
                );
            }
            Err(err) => {
                tracing::warn!(error = %err, "passwordless verification failed");
                return self.passwordless_failed(clear);
            }
        };
        let user = passwordless_user(&verified);
        let auth = AuthenticationResponse {
            user: user.clone(),
            id_token: String::new(),
            id_token_claims: crate::IdTokenClaims::default(),
            access_token: String::new(),
            refresh_token: None,
            expires_in: None,
        };
        let removal = self.sessions.passwordless_state_removal();
        let (data, redirect) = match self.decide_after_login(&auth, &removal).await {
            Ok(allowed) => allowed,
            Err((response, _)) => return response,
        };
        let lifetime = self.passwordless.as_deref().map_or(
            PasswordlessLogin::DEFAULT_SESSION_LIFETIME,
            PasswordlessLogin::lifetime,
        );
        let mut set_cookies = vec![removal];
        match self
            .sessions
            .start_passwordless(&user, cookies, data, lifetime)
            .await
        {
            Ok((session, session_cookies)) => {
                let span = tracing::Span::current();
                span.record("user_id", session.user.id.as_str());
                crate::telemetry::record_session(&span, &session.id);
                set_cookies.extend(session_cookies);
            }
            Err(SessionError::Store(StoreError::Unavailable)) => {
                tracing::warn!(
                    "passwordless session could not start: the session store is unavailable"
                );
                return self.store_unavailable_page(
                    "Sign-in is temporarily unavailable",
                    "Your sign-in could not be completed just now. Please sign in again in a few seconds.",
                );
            }
            Err(err) => {
                tracing::warn!(error = %err, "passwordless session could not start");
                return self.passwordless_failed(set_cookies);
            }
        }
        tracing::info!(user = ?user.id, "signed in by passwordless email");
        WebResponse::Redirect {
            location: redirect
                .or(state.and_then(|s| s.return_to))
                .unwrap_or_else(|| self.paths.after_login.clone()),
            set_cookies,
        }
    }

    /// The removal of the passwordless state cookie, when the request had
    /// one.
    fn clear_state(&self, state: Option<&PasswordlessState>) -> Vec<String> {
        state
            .map(|_| vec![self.sessions.passwordless_state_removal()])
            .unwrap_or_default()
    }

    /// The answer to a send or resend the platform refused.
    fn send_failed(
        &self,
        err: &PasswordlessError,
        return_to: Option<&str>,
        set_cookies: Vec<String>,
    ) -> WebResponse {
        match err {
            PasswordlessError::SendLimit { .. } => self.email_form_page(
                429,
                Some("Too many emails to this address: wait a minute before asking for another."),
                return_to,
                set_cookies,
            ),
            PasswordlessError::Expired => self.start_again(400, EXPIRED, set_cookies),
            err if err.is_transient() => {
                tracing::warn!(error = %err, "passwordless email not sent");
                self.store_unavailable_page(
                    "Sign-in is temporarily unavailable",
                    "The email could not be sent just now. Please try again in a few seconds.",
                )
            }
            err => {
                tracing::warn!(error = %err, "passwordless email not sent");
                self.passwordless_failed(set_cookies)
            }
        }
    }

    fn passwordless_failed(&self, set_cookies: Vec<String>) -> WebResponse {
        self.start_again(400, FAILED, set_cookies)
    }

    /// A page that starts the sign-in again.
    fn start_again(
        &self,
        status: u16,
        (title, message): (&str, &str),
        set_cookies: Vec<String>,
    ) -> WebResponse {
        WebResponse::Page {
            status,
            html: passwordless_page(
                title,
                &format!("<p id=\"message\">{message}</p>"),
                &self.start_link(),
            ),
            set_cookies,
        }
    }

    fn start_link(&self) -> String {
        format!(
            "<a class=\"primary\" id=\"start-again\" href=\"{}\">Start again</a>",
            escape_html(&self.paths.passwordless)
        )
    }

    /// The email form, with an error when given.
    fn email_form_page(
        &self,
        status: u16,
        error: Option<&str>,
        return_to: Option<&str>,
        set_cookies: Vec<String>,
    ) -> WebResponse {
        let error = error
            .map(|e| {
                format!(
                    "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
                    escape_html(e)
                )
            })
            .unwrap_or_default();
        let return_to = return_to
            .map(|t| {
                format!(
                    "<input type=\"hidden\" name=\"return_to\" value=\"{}\">",
                    escape_html(t)
                )
            })
            .unwrap_or_default();
        let body = format!(
            "<p id=\"message\">Enter your email address: we will email you a sign-in code and link.</p>{error}\
             <form id=\"passwordless-form\" method=\"post\" action=\"{action}\">\
             <label for=\"email\">Email</label>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required maxlength=\"254\">{return_to}\
             <button type=\"submit\" id=\"send\">Email me a sign-in code</button></form>",
            action = escape_html(&self.paths.passwordless),
        );
        let other = format!(
            "<a id=\"sign-in-hosted\" href=\"{}\">Sign in another way</a>",
            escape_html(&self.paths.login)
        );
        WebResponse::Page {
            status,
            html: passwordless_page("Sign in with your email", &body, &other),
            set_cookies,
        }
    }

    /// "Check your email", the code form when the email has a code, the
    /// resend form; the state cookie (re)set. Nothing of the address or
    /// the auth request is in the page.
    fn check_email_page(
        &self,
        status: u16,
        state: &PasswordlessState,
        note: Option<&str>,
    ) -> WebResponse {
        let cookie = match self.sessions.passwordless_state_cookie(state) {
            Ok(cookie) => cookie,
            Err(err) => {
                tracing::warn!(error = %err, "the passwordless state could not be sealed");
                return self.passwordless_failed(Vec::new());
            }
        };
        let verify = format!("{}/verify", self.paths.passwordless);
        let resend = format!("{}/resend", self.paths.passwordless);
        let note = note
            .map(|n| {
                let class = if status == 200 { "note" } else { "error" };
                format!(
                    "<p class=\"{class}\" id=\"error\" role=\"alert\">{}</p>",
                    escape_html(n)
                )
            })
            .unwrap_or_default();
        let (intro, code_form) = if state.has_code {
            (
                "We emailed a sign-in code to the address you entered, if it can receive email. \
                 Enter the code below, or open the link in the email in this browser.",
                format!(
                    "<form id=\"passwordless-code-form\" method=\"post\" action=\"{}\">\
                     <label for=\"code\">Code</label>\
                     <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required maxlength=\"64\">\
                     <button type=\"submit\" id=\"verify\">Sign in</button></form>",
                    escape_html(&verify)
                ),
            )
        } else {
            (
                "We emailed a sign-in link to the address you entered, if it can receive email. \
                 Open the link in this browser to sign in.",
                String::new(),
            )
        };
        let body = format!(
            "<p id=\"message\">{intro}</p>{note}{code_form}\
             <form id=\"passwordless-resend-form\" class=\"secondary\" method=\"post\" action=\"{}\">\
             <button type=\"submit\" id=\"resend\">Send a new email</button></form>",
            escape_html(&resend)
        );
        WebResponse::Page {
            status,
            html: passwordless_page("Check your email", &body, &self.start_link()),
            set_cookies: vec![cookie],
        }
    }
}

/// Runs `work` in a `scalekit.passwordless` span and records its outcome.
async fn traced(
    step: &'static str,
    work: impl std::future::Future<Output = WebResponse>,
) -> WebResponse {
    use tracing::Instrument;
    use tracing::field::Empty;
    let span = tracing::info_span!(
        "scalekit.passwordless",
        step,
        user_id = Empty,
        session = Empty,
        outcome = Empty
    );
    let response = work.instrument(span.clone()).await;
    span.record("outcome", outcome_of(&response));
    response
}

/// The span's `outcome` for an answer: `signed_in`, `sent`, `wrong_code`
/// (a `400` page with the code form), `limited` (`429`), `cross_site`
/// (`403`), `unavailable` (`503`), `refused` otherwise.
fn outcome_of(response: &WebResponse) -> &'static str {
    match response {
        WebResponse::Redirect { .. } => "signed_in",
        WebResponse::Page { status: 200, .. } => "sent",
        WebResponse::Page { status: 429, .. } => "limited",
        WebResponse::Page { status: 403, .. } => "cross_site",
        WebResponse::Page {
            status: 400, html, ..
        } if html.contains("passwordless-code-form") => "wrong_code",
        WebResponse::Error { outcome, .. } if outcome.status == 503 => "unavailable",
        _ => "refused",
    }
}

fn not_found() -> WebResponse {
    WebResponse::Page {
        status: 404,
        html: super::pages::html_page("Not found", "Passwordless sign-in is not enabled."),
        set_cookies: Vec::new(),
    }
}

const EXPIRED: (&str, &str) = (
    "This sign-in has expired",
    "Your sign-in code or link has expired or was already used. Start again to get a new one.",
);
const TOO_MANY_ATTEMPTS: (&str, &str) = (
    "Too many attempts",
    "Too many wrong codes were entered for this sign-in. Start again to get a new code.",
);
const LINK_REFUSED: (&str, &str) = (
    "This link cannot be used",
    "This sign-in link has expired, was already used, or was opened in another browser than the one \
     where you asked for it. Start again from this browser.",
);
const FAILED: (&str, &str) = (
    "Sign-in failed",
    "The email could not be sent or checked. Please start again.",
);

#[cfg(test)]
mod tests;
