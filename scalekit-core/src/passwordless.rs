//! Headless passwordless email (PROTOCOL.md §13): the platform emails a
//! one-time code, a magic link or both, and checks what the user brings
//! back; the application keeps its own session.
//!
//! [`PasswordlessClient`] sends, resends and verifies with the
//! environment's client-credentials token (cached, fetched anew once after
//! a `401`). A call is repeated only when it cannot have reached the
//! platform (the connection could not be made): a send is never repeated
//! once it may have been received, and a `429` is never retried (it is the
//! answer: the per-address send limit, or an auth request that is dead).
//! Failures are a typed [`PasswordlessError`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use scalekit_core::Scalekit;
//! use scalekit_core::passwordless::{
//!     Credential, PasswordlessClient, PasswordlessError, SendPasswordlessRequest,
//! };
//!
//! let passwordless = PasswordlessClient::new(&Scalekit::from_env()?);
//! let sent = passwordless
//!     .send(
//!         &SendPasswordlessRequest::new("ada@example.com")
//!             .magiclink_auth_uri("https://app.example.com/auth/passwordless/verify")
//!             .template_variable("team", "Analytical Engines")?,
//!     )
//!     .await?;
//! // Later, with the code the user typed in:
//! match passwordless.verify(&Credential::code("123456"), Some(&sent.auth_request_id)).await {
//!     Ok(identity) => println!("signed in: {}", identity.email),
//!     Err(PasswordlessError::WrongCode { attempts_left }) => println!("wrong code ({attempts_left:?} left)"),
//!     Err(PasswordlessError::AuthRequestDead) => println!("too many attempts: start again"),
//!     Err(err) => println!("{err}"),
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Scalekit;
use crate::http::{ReadError, not_redirected, read_bounded};
use crate::oauth::{ClientCredentialsCache, TokenError};

/// Template variable names the platform fills in itself: refused before
/// any call.
pub const RESERVED_TEMPLATE_VARIABLES: [&str; 5] = [
    "otp",
    "expiry_time_relative",
    "link",
    "expire_time",
    "expiry_time",
];

/// The most template variables one email may carry.
pub const MAX_TEMPLATE_VARIABLES: usize = 30;

/// The default time one call may take, connection retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read (the answers are a few fields).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Connection attempts of one call (only a failure to connect is retried).
const CONNECT_ATTEMPTS: u32 = 3;

/// The platform paths, relative to the environment URL.
const SEND_PATH: &str = "/api/v1/passwordless/email/send";
const RESEND_PATH: &str = "/api/v1/passwordless/email/resend";
const VERIFY_PATH: &str = "/api/v1/passwordless/email/verify";

/// Which email template the platform sends: a sign-in (existing users) or a
/// sign-up (new users).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Template {
    /// `SIGNIN` (the default).
    #[default]
    Signin,
    /// `SIGNUP`.
    Signup,
}

/// What the email carries: a one-time code, a magic link, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordlessType {
    /// `OTP`: a one-time code.
    #[serde(rename = "OTP")]
    Otp,
    /// `LINK`: a magic link.
    #[serde(rename = "LINK")]
    Link,
    /// `LINK_OTP`: both.
    #[serde(rename = "LINK_OTP")]
    LinkOtp,
    /// A type this library does not know (`PASSWORDLESS_TYPE_UNSPECIFIED`,
    /// or a newer one).
    #[serde(other)]
    Unknown,
}

impl PasswordlessType {
    /// Whether the email carries a code to type in.
    ///
    /// ```
    /// use scalekit_core::passwordless::PasswordlessType;
    ///
    /// assert!(PasswordlessType::LinkOtp.has_code());
    /// assert!(!PasswordlessType::Link.has_code());
    /// ```
    pub fn has_code(self) -> bool {
        matches!(
            self,
            PasswordlessType::Otp | PasswordlessType::LinkOtp | PasswordlessType::Unknown
        )
    }

    /// Whether the email carries a magic link.
    pub fn has_link(self) -> bool {
        matches!(
            self,
            PasswordlessType::Link | PasswordlessType::LinkOtp | PasswordlessType::Unknown
        )
    }
}

/// A send request (the SDK's `sendPasswordlessEmail` options).
///
/// ```
/// use scalekit_core::passwordless::{PasswordlessError, SendPasswordlessRequest, Template};
///
/// let request = SendPasswordlessRequest::new("ada@example.com")
///     .template(Template::Signup)
///     .state("opaque")
///     .expires_in(600)
///     .template_variable("team", "Engines")?;
/// assert_eq!(
///     serde_json::to_value(&request).unwrap(),
///     serde_json::json!({"email": "ada@example.com", "template": "SIGNUP", "state": "opaque",
///                        "expires_in": 600, "template_variables": {"team": "Engines"}})
/// );
/// // Names the platform fills in itself are refused.
/// let refused = SendPasswordlessRequest::new("ada@example.com").template_variable("otp", "1");
/// assert_eq!(refused.unwrap_err(), PasswordlessError::ReservedVariable("otp".into()));
/// # Ok::<(), PasswordlessError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct SendPasswordlessRequest {
    email: String,
    template: Template,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    magiclink_auth_uri: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    template_variables: BTreeMap<String, String>,
}

impl std::fmt::Debug for SendPasswordlessRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendPasswordlessRequest")
            .field("template", &self.template)
            .field("expires_in", &self.expires_in)
            .field("magiclink_auth_uri", &self.magiclink_auth_uri)
            .finish_non_exhaustive()
    }
}

impl SendPasswordlessRequest {
    /// A sign-in email to `email`, expiring when the platform's default
    /// says (300 s).
    pub fn new(email: impl Into<String>) -> Self {
        SendPasswordlessRequest {
            email: email.into(),
            template: Template::Signin,
            state: None,
            expires_in: None,
            magiclink_auth_uri: None,
            template_variables: BTreeMap::new(),
        }
    }

    /// The same request, to `email`.
    pub(crate) fn to(&self, email: &str) -> Self {
        SendPasswordlessRequest {
            email: email.to_owned(),
            ..self.clone()
        }
    }

    /// The template (default [`Template::Signin`]).
    pub fn template(mut self, template: Template) -> Self {
        self.template = template;
        self
    }

    /// A value the platform hands back unchanged at verification.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Seconds until the code and link expire.
    pub fn expires_in(mut self, seconds: u32) -> Self {
        self.expires_in = Some(seconds);
        self
    }

    /// Where the magic link points (`?link_token=…` is appended).
    pub fn magiclink_auth_uri(mut self, uri: impl Into<String>) -> Self {
        self.magiclink_auth_uri = Some(uri.into());
        self
    }

    /// A variable of the email template. A reserved name
    /// ([`RESERVED_TEMPLATE_VARIABLES`], any case) is refused with
    /// [`PasswordlessError::ReservedVariable`], more than
    /// [`MAX_TEMPLATE_VARIABLES`] with [`PasswordlessError::InvalidArgument`].
    pub fn template_variable(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, PasswordlessError> {
        let name = name.into();
        check_variable_name(&name)?;
        self.template_variables.insert(name, value.into());
        if self.template_variables.len() > MAX_TEMPLATE_VARIABLES {
            return Err(PasswordlessError::InvalidArgument(
                "at most 30 template variables",
            ));
        }
        Ok(self)
    }

    /// The address.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// Checks what can be checked before a call: an address that looks
    /// like one, and template variables (see
    /// [`SendPasswordlessRequest::template_variable`]).
    pub fn validate(&self) -> Result<(), PasswordlessError> {
        if !looks_like_email(&self.email) {
            return Err(PasswordlessError::InvalidArgument(
                "email must be an email address",
            ));
        }
        if self.template_variables.len() > MAX_TEMPLATE_VARIABLES {
            return Err(PasswordlessError::InvalidArgument(
                "at most 30 template variables",
            ));
        }
        self.template_variables
            .keys()
            .try_for_each(|name| check_variable_name(name))
    }
}

/// Whether `name` may be a template variable.
fn check_variable_name(name: &str) -> Result<(), PasswordlessError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(PasswordlessError::InvalidArgument(
            "a template variable needs a name",
        ));
    }
    if RESERVED_TEMPLATE_VARIABLES
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(trimmed))
    {
        return Err(PasswordlessError::ReservedVariable(name.to_owned()));
    }
    Ok(())
}

/// Whether `email` has the shape of an address: one `@` with text on both
/// sides, no whitespace or control character, at most 254 bytes.
///
/// ```
/// use scalekit_core::passwordless::looks_like_email;
///
/// assert!(looks_like_email("ada@example.com"));
/// assert!(!looks_like_email("ada@"));
/// assert!(!looks_like_email("a b@example.com"));
/// ```
pub fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// What a send or resend answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SendPasswordlessResponse {
    /// The auth request: needed to verify a code and to resend.
    pub auth_request_id: String,
    /// When the code and link expire (Unix seconds).
    #[serde(default, deserialize_with = "int_or_string")]
    pub expires_at: i64,
    /// Seconds until they expire.
    #[serde(default, deserialize_with = "int_or_string")]
    pub expires_in: i64,
    /// What the email carries.
    #[serde(default = "unknown_type")]
    pub passwordless_type: PasswordlessType,
}

fn unknown_type() -> PasswordlessType {
    PasswordlessType::Unknown
}

/// The platform sends int64 as a JSON string or a number.
fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("not an integer")),
        Value::String(s) => s
            .parse()
            .map_err(|_| serde::de::Error::custom("not an integer")),
        Value::Null => Ok(0),
        _ => Err(serde::de::Error::custom("not an integer")),
    }
}

/// What the user brought back: the code they typed in, or the magic link's
/// token. Its `Debug` leaves the value out.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// The one-time code.
    Code(String),
    /// The `link_token` of the magic link.
    LinkToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credential::Code(_) => "Code(***)",
            Credential::LinkToken(_) => "LinkToken(***)",
        })
    }
}

impl Credential {
    /// A code.
    pub fn code(code: impl Into<String>) -> Self {
        Credential::Code(code.into())
    }

    /// A link token.
    pub fn link_token(token: impl Into<String>) -> Self {
        Credential::LinkToken(token.into())
    }
}

/// Who verified: the platform vouches for the address, and hands back the
/// send's `state`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct VerifiedEmail {
    /// The address that received the email.
    pub email: String,
    /// The send's `state`.
    #[serde(default)]
    pub state: Option<String>,
    /// The send's template.
    #[serde(default)]
    pub template: Option<Template>,
    /// What the email carried.
    #[serde(default)]
    pub passwordless_type: Option<PasswordlessType>,
}

/// Why a passwordless call failed. Messages never carry a code, a link
/// token or the platform's answer text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordlessError {
    /// A template variable has a name the platform reserves (nothing was
    /// sent).
    #[error("the template variable name {0:?} is reserved")]
    ReservedVariable(String),
    /// The request is not valid (nothing was sent).
    #[error("invalid request: {0}")]
    InvalidArgument(&'static str),
    /// The code is wrong; the number of attempts left when the platform
    /// says it.
    #[error("the code is wrong")]
    WrongCode {
        /// Attempts left on this auth request, when known.
        attempts_left: Option<u32>,
    },
    /// The magic link was refused: used, expired, of another auth request,
    /// or opened in another browser under same-browser enforcement.
    #[error("the magic link was refused")]
    InvalidLink,
    /// The auth request is dead: too many wrong codes (`429`); the user
    /// must start again.
    #[error("too many attempts: the auth request is dead")]
    AuthRequestDead,
    /// The auth request has expired or is unknown; the user must start
    /// again.
    #[error("the auth request has expired")]
    Expired,
    /// Too many emails to this address (at most 2 a minute, resends
    /// included): `429` on a send or resend.
    #[error("too many emails to this address; try again later")]
    SendLimit {
        /// The platform's `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
    /// Another error answer of the platform.
    #[error("the platform answered HTTP {status} ({code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The platform's error code (`INVALID_ARGUMENT`, …).
        code: String,
    },
    /// The client-credentials token could not be had.
    #[error("no management token: {0}")]
    Token(TokenError),
    /// The platform could not be reached, or the connection broke.
    #[error("the platform could not be reached")]
    Unreachable,
    /// The call took longer than its timeout.
    #[error("the platform did not answer in time")]
    Timeout,
    /// The platform answered with a redirect (not followed).
    #[error("the platform answered with a redirect (HTTP {0}), not followed")]
    Redirect(u16),
    /// A success answer that is not what was expected (or too large).
    #[error("the platform's answer could not be read")]
    Decode,
}

impl PasswordlessError {
    /// Whether trying again later may work (the platform or its token
    /// endpoint could not be reached, was busy or slow); a wrong code, a
    /// dead auth request or a send limit will not change by retrying now.
    ///
    /// ```
    /// use scalekit_core::passwordless::PasswordlessError;
    ///
    /// assert!(PasswordlessError::Timeout.is_transient());
    /// assert!(PasswordlessError::Api { status: 503, code: "UNAVAILABLE".into() }.is_transient());
    /// assert!(!PasswordlessError::AuthRequestDead.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            PasswordlessError::Unreachable | PasswordlessError::Timeout => true,
            PasswordlessError::Api { status, .. } => *status >= 500,
            PasswordlessError::Token(err) => err.is_transient(),
            _ => false,
        }
    }
}

/// Which call an error answer came from: the same status means different
/// things on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Send,
    VerifyCode,
    VerifyLink,
}

/// The typed error of an error answer (`status`, body) to `call`.
fn classify(
    call: Call,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> PasswordlessError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = parsed
        .get("code")
        .map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    let message = parsed
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let expired = message.contains("expired") || code.eq_ignore_ascii_case("expired");
    match (call, status) {
        (Call::Send, 429) => PasswordlessError::SendLimit { retry_after },
        (Call::VerifyCode | Call::VerifyLink, 429) => PasswordlessError::AuthRequestDead,
        (_, 404 | 410) => PasswordlessError::Expired,
        (_, 400) if expired => PasswordlessError::Expired,
        (Call::VerifyCode, 400) => PasswordlessError::WrongCode {
            attempts_left: attempts_left(&parsed),
        },
        (Call::VerifyLink, 400 | 403) => PasswordlessError::InvalidLink,
        _ => PasswordlessError::Api {
            status,
            code: if code.is_empty() {
                "UNKNOWN".to_owned()
            } else {
                code.chars().take(64).collect()
            },
        },
    }
}

/// The attempts left, when an error answer's details say it
/// (`attempts_remaining` or `remaining_attempts`, a number or a numeric
/// string, in a detail or its `metadata`).
fn attempts_left(body: &Value) -> Option<u32> {
    let read = |v: &Value| -> Option<u32> {
        ["attempts_remaining", "remaining_attempts", "attempts_left"]
            .iter()
            .find_map(|key| match v.get(key)? {
                Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
    };
    body.get("details")?
        .as_array()?
        .iter()
        .find_map(|detail| read(detail).or_else(|| detail.get("metadata").and_then(read)))
}

/// Sends, resends and verifies passwordless emails (the SDK's
/// `client.passwordless`). Cheap to clone: clones share the token.
#[derive(Clone)]
pub struct PasswordlessClient {
    base: Arc<str>,
    http: reqwest::Client,
    tokens: Arc<ClientCredentialsCache>,
    timeout: Duration,
}

impl std::fmt::Debug for PasswordlessClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordlessClient")
            .field("environment", &self.base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PasswordlessClient {
    /// A client of `scalekit`'s environment, with its HTTP client and a
    /// token cache of its own.
    pub fn new(scalekit: &Scalekit) -> Self {
        let tokens = Arc::new(ClientCredentialsCache::new(scalekit.clone()));
        Self::with_token_cache(
            scalekit.config().environment_url(),
            scalekit.http_client().clone(),
            tokens,
        )
    }

    /// A client of the environment at `environment_url` that sends through
    /// `http` (it must follow no redirect: see
    /// [`platform_http_client`](crate::platform_http_client)) with the
    /// tokens of `tokens` (shared with a management client, say).
    pub fn with_token_cache(
        environment_url: &str,
        http: reqwest::Client,
        tokens: Arc<ClientCredentialsCache>,
    ) -> Self {
        PasswordlessClient {
            base: Arc::from(environment_url.trim_end_matches('/')),
            http,
            tokens,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The longest one call may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Emails a code and/or a magic link to the request's address. Checked
    /// first ([`SendPasswordlessRequest::validate`]): nothing is sent for a
    /// request that fails.
    pub async fn send(
        &self,
        request: &SendPasswordlessRequest,
    ) -> Result<SendPasswordlessResponse, PasswordlessError> {
        request.validate()?;
        let body = serde_json::to_vec(request)
            .map_err(|_| PasswordlessError::InvalidArgument("the request cannot be encoded"))?;
        let answer = self.call(SEND_PATH, body, Call::Send).await?;
        let sent: SendPasswordlessResponse =
            serde_json::from_slice(&answer).map_err(|_| PasswordlessError::Decode)?;
        if sent.auth_request_id.is_empty() {
            return Err(PasswordlessError::Decode);
        }
        Ok(sent)
    }

    /// Sends the email of `auth_request_id` again (a new code; it counts
    /// towards the address's send limit).
    pub async fn resend(
        &self,
        auth_request_id: &str,
    ) -> Result<SendPasswordlessResponse, PasswordlessError> {
        if auth_request_id.trim().is_empty() {
            return Err(PasswordlessError::InvalidArgument(
                "auth_request_id is required",
            ));
        }
        let body = serde_json::to_vec(&serde_json::json!({"auth_request_id": auth_request_id}))
            .map_err(|_| PasswordlessError::InvalidArgument("the request cannot be encoded"))?;
        let answer = self.call(RESEND_PATH, body, Call::Send).await?;
        serde_json::from_slice(&answer).map_err(|_| PasswordlessError::Decode)
    }

    /// Checks a code (with its `auth_request_id`, required) or a link
    /// token (with the `auth_request_id` of the browser that asked, when
    /// known: required under same-browser enforcement).
    pub async fn verify(
        &self,
        credential: &Credential,
        auth_request_id: Option<&str>,
    ) -> Result<VerifiedEmail, PasswordlessError> {
        let auth_request_id = auth_request_id.filter(|id| !id.trim().is_empty());
        let (body, call) = match credential {
            Credential::Code(code) => {
                let code = code.trim();
                if code.is_empty() || code.len() > 64 {
                    return Err(PasswordlessError::WrongCode {
                        attempts_left: None,
                    });
                }
                let Some(id) = auth_request_id else {
                    return Err(PasswordlessError::InvalidArgument(
                        "a code is verified with its auth_request_id",
                    ));
                };
                (
                    serde_json::json!({"code": code, "auth_request_id": id}),
                    Call::VerifyCode,
                )
            }
            Credential::LinkToken(token) => {
                if token.is_empty() || token.len() > 1024 {
                    return Err(PasswordlessError::InvalidLink);
                }
                let mut body = serde_json::json!({"link_token": token});
                if let (Some(id), Some(map)) = (auth_request_id, body.as_object_mut()) {
                    map.insert("auth_request_id".into(), Value::from(id));
                }
                (body, Call::VerifyLink)
            }
        };
        let body = serde_json::to_vec(&body)
            .map_err(|_| PasswordlessError::InvalidArgument("the request cannot be encoded"))?;
        let answer = self.call(VERIFY_PATH, body, call).await?;
        let verified: VerifiedEmail =
            serde_json::from_slice(&answer).map_err(|_| PasswordlessError::Decode)?;
        if !looks_like_email(&verified.email) {
            return Err(PasswordlessError::Decode);
        }
        Ok(verified)
    }

    /// One call within the timeout.
    async fn call(
        &self,
        path: &str,
        body: Vec<u8>,
        call: Call,
    ) -> Result<Vec<u8>, PasswordlessError> {
        match tokio::time::timeout(self.timeout, self.attempts(path, body, call)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(path, "passwordless call timed out");
                Err(PasswordlessError::Timeout)
            }
        }
    }

    /// The attempts of one call: a new token once after a `401`; another
    /// attempt only when the connection could not be made.
    async fn attempts(
        &self,
        path: &str,
        body: Vec<u8>,
        call: Call,
    ) -> Result<Vec<u8>, PasswordlessError> {
        let url = format!("{}{path}", self.base);
        let mut reauthenticated = false;
        let mut connect_failures = 0;
        loop {
            let token = self
                .tokens
                .token()
                .await
                .map_err(PasswordlessError::Token)?;
            let sent = self
                .http
                .post(&url)
                .bearer_auth(&*token)
                .header(reqwest::header::ACCEPT, "application/json")
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(err) if err.is_connect() => {
                    // Nothing reached the platform: safe to try again.
                    connect_failures += 1;
                    if connect_failures >= CONNECT_ATTEMPTS {
                        return Err(PasswordlessError::Unreachable);
                    }
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(connect_failures)))
                        .await;
                    continue;
                }
                Err(err) if err.is_timeout() => return Err(PasswordlessError::Timeout),
                Err(_) => return Err(PasswordlessError::Unreachable),
            };
            not_redirected(&url, &response).map_err(read_error)?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let answer = read_bounded(response, MAX_ANSWER_BYTES)
                .await
                .map_err(read_error)?;
            if (200..300).contains(&status) {
                return Ok(answer);
            }
            if status == 401 && !reauthenticated {
                tracing::debug!(path, "401: fetching a new token");
                self.tokens.invalidate(&token);
                reauthenticated = true;
                continue;
            }
            let error = classify(call, status, &answer, retry_after);
            tracing::debug!(path, status, error = %error, "passwordless call refused");
            return Err(error);
        }
    }
}

fn read_error(err: ReadError) -> PasswordlessError {
    match err {
        ReadError::Redirect(status) => PasswordlessError::Redirect(status),
        ReadError::Timeout => PasswordlessError::Timeout,
        ReadError::Connect => PasswordlessError::Unreachable,
        ReadError::TooLarge => PasswordlessError::Decode,
    }
}

#[cfg(test)]
mod tests;
