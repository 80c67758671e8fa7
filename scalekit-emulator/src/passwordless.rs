//! Headless passwordless email (PROTOCOL.md §13): `POST
//! /api/v1/passwordless/email/{send,resend,verify}` with the platform's
//! limits, and the outbox that stands in for email.
//!
//! - At most 2 emails a minute per address (resends count): the next is
//!   `429 RESOURCE_EXHAUSTED`.
//! - 5 wrong codes per auth request within 10 minutes: each wrong code is
//!   `400` with `attempts_remaining` in the error's `metadata`; after the
//!   fifth the auth request is dead and every verification is `429`, even
//!   with the right code.
//! - An auth request expires after its `expires_in` (default 300 s): then
//!   `400` saying it has expired.
//! - With same-browser enforcement, a magic link verifies only with its
//!   `auth_request_id`.
//!
//! No email leaves the emulator: each is kept in the outbox
//! (`{env}/outbox`, `{env}/outbox.json`, newest first) and, when the
//! emulator prints emails, printed as one line.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::management::{ApiError, ApiResult, body_object, ok, opt_str};
use crate::{State, html, ids, lock, now};

/// Emails a minute to one address, resends included.
const SENDS_PER_MINUTE: usize = 2;
/// Wrong codes an auth request takes within [`ATTEMPT_WINDOW`].
const MAX_WRONG_CODES: usize = 5;
/// The window wrong codes are counted in.
const ATTEMPT_WINDOW: Duration = Duration::from_secs(600);
/// The expiry of an auth request whose send names none.
const DEFAULT_EXPIRES_IN: u64 = 300;
/// The longest expiry a send may ask for (a day).
const MAX_EXPIRES_IN: u64 = 86_400;
/// Template variables the platform fills in itself.
const RESERVED: [&str; 5] = [
    "otp",
    "expiry_time_relative",
    "link",
    "expire_time",
    "expiry_time",
];
/// Emails kept in the outbox (the oldest are dropped).
const OUTBOX_SIZE: usize = 500;

/// What the emulator's passwordless emails carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PasswordlessType {
    /// A one-time code (`OTP`).
    Otp,
    /// A magic link (`LINK`).
    Link,
    /// Both (`LINK_OTP`, the default).
    #[default]
    LinkOtp,
}

impl PasswordlessType {
    /// The platform's name: `OTP`, `LINK` or `LINK_OTP`.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordlessType::Otp => "OTP",
            PasswordlessType::Link => "LINK",
            PasswordlessType::LinkOtp => "LINK_OTP",
        }
    }

    fn has_code(self) -> bool {
        self != PasswordlessType::Link
    }

    fn has_link(self) -> bool {
        self != PasswordlessType::Otp
    }
}

impl std::str::FromStr for PasswordlessType {
    type Err = String;

    /// `otp`, `link` or `link-otp` (the flag's values; the platform's
    /// names are accepted too).
    ///
    /// ```
    /// use scalekit_emulator::PasswordlessType;
    ///
    /// assert_eq!("link-otp".parse::<PasswordlessType>(), Ok(PasswordlessType::LinkOtp));
    /// assert_eq!("OTP".parse::<PasswordlessType>(), Ok(PasswordlessType::Otp));
    /// assert!("sms".parse::<PasswordlessType>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "otp" => Ok(PasswordlessType::Otp),
            "link" => Ok(PasswordlessType::Link),
            "link-otp" => Ok(PasswordlessType::LinkOtp),
            other => Err(format!(
                "unknown passwordless type {other:?}: expected otp, link or link-otp"
            )),
        }
    }
}

/// An email in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxEmail {
    /// The address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// `SIGNIN` or `SIGNUP`.
    pub template: String,
    /// The one-time code, when the type has one.
    pub code: Option<String>,
    /// The magic link, when the type has one.
    pub link: Option<String>,
    /// The auth request the email belongs to.
    pub auth_request_id: String,
    /// When it was sent (Unix seconds).
    pub sent_at: u64,
}

struct AuthRequest {
    email: String,
    template: String,
    state: Option<String>,
    magiclink_auth_uri: Option<String>,
    expires_in: u64,
    expires_at: u64,
    kind: PasswordlessType,
    code: Option<String>,
    link_token: Option<String>,
    wrong_codes: Vec<Instant>,
    dead: bool,
}

#[derive(Default)]
struct Inner {
    requests: HashMap<String, AuthRequest>,
    /// Link tokens to their auth request.
    links: HashMap<String, String>,
    /// Send times per address (lowercase), the last minute's.
    sends: HashMap<String, VecDeque<Instant>>,
    /// Newest last.
    outbox: VecDeque<OutboxEmail>,
}

/// The emulator's passwordless state and settings.
pub(crate) struct Passwordless {
    kind: Mutex<PasswordlessType>,
    same_browser: Mutex<bool>,
    print: bool,
    inner: Mutex<Inner>,
}

impl Passwordless {
    pub(crate) fn new(kind: PasswordlessType, same_browser: bool, print: bool) -> Self {
        Passwordless {
            kind: Mutex::new(kind),
            same_browser: Mutex::new(same_browser),
            print,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn set_type(&self, kind: PasswordlessType) {
        *lock(&self.kind) = kind;
    }

    pub(crate) fn set_same_browser(&self, on: bool) {
        *lock(&self.same_browser) = on;
    }

    pub(crate) fn kind(&self) -> PasswordlessType {
        *lock(&self.kind)
    }

    pub(crate) fn same_browser(&self) -> bool {
        *lock(&self.same_browser)
    }

    /// The outbox, newest first.
    pub(crate) fn outbox(&self) -> Vec<OutboxEmail> {
        lock(&self.inner).outbox.iter().rev().cloned().collect()
    }

    /// Counts a send to `email` within the per-minute limit.
    fn count_send(inner: &mut Inner, email: &str) -> Result<(), ApiError> {
        let sends = inner.sends.entry(email.to_ascii_lowercase()).or_default();
        let now = Instant::now();
        while sends
            .front()
            .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(60))
        {
            sends.pop_front();
        }
        if sends.len() >= SENDS_PER_MINUTE {
            return Err(ApiError::exhausted(
                "too many emails to this address: at most 2 a minute",
            ));
        }
        sends.push_back(now);
        Ok(())
    }

    /// A new code and link token for `id`, and its email in the outbox.
    fn mail(&self, inner: &mut Inner, id: &str) -> Result<(), ApiError> {
        let Some(request) = inner.requests.get_mut(id) else {
            return Err(ApiError::not_found("auth_request"));
        };
        if let Some(old) = request.link_token.take() {
            inner.links.remove(&old);
        }
        let code = request.kind.has_code().then(six_digits);
        let link_token = match (request.kind.has_link(), &request.magiclink_auth_uri) {
            (true, Some(_)) => Some(ids::secret().map_err(|_| ApiError::internal())?),
            _ => None,
        };
        let link = match (&link_token, &request.magiclink_auth_uri) {
            (Some(token), Some(uri)) => {
                let separator = if uri.contains('?') { '&' } else { '?' };
                Some(format!("{uri}{separator}link_token={token}"))
            }
            _ => None,
        };
        request.code = code.clone();
        request.link_token = link_token.clone();
        let email = OutboxEmail {
            to: request.email.clone(),
            subject: if request.template == "SIGNUP" {
                "Finish signing up".to_owned()
            } else {
                "Your sign-in code and link".to_owned()
            },
            template: request.template.clone(),
            code,
            link,
            auth_request_id: id.to_owned(),
            sent_at: now(),
        };
        if let Some(token) = link_token {
            inner.links.insert(token, id.to_owned());
        }
        tracing::info!(to = %email.to, "passwordless email kept in the outbox");
        if self.print {
            println!("{}", email_line(&email));
        }
        inner.outbox.push_back(email);
        while inner.outbox.len() > OUTBOX_SIZE {
            inner.outbox.pop_front();
        }
        Ok(())
    }
}

/// The line printed for an email (PROTOCOL.md §13).
fn email_line(email: &OutboxEmail) -> String {
    format!(
        "  EMAIL to {}: code {} link {}",
        email.to,
        email.code.as_deref().unwrap_or("-"),
        email.link.as_deref().unwrap_or("-")
    )
}

/// Six random digits.
fn six_digits() -> String {
    let bytes = ids::random_bytes();
    let n = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) % 1_000_000;
    format!("{n:06}")
}

fn send_answer(id: &str, request: &AuthRequest) -> Value {
    json!({
        "auth_request_id": id,
        "expires_at": request.expires_at.to_string(),
        "expires_in": request.expires_in,
        "passwordless_type": request.kind.as_str(),
    })
}

fn looks_like_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@')
    }) && !email.chars().any(char::is_whitespace)
}

/// `POST /api/v1/passwordless/email/send`.
pub(crate) async fn send(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> ApiResult {
    let map = body_object(&body)?;
    let email = opt_str(&map, "email")?.unwrap_or_default();
    if !looks_like_email(email.trim()) {
        return Err(ApiError::invalid(
            "email",
            "email must be a valid email address",
        ));
    }
    let template = match opt_str(&map, "template")?.as_deref() {
        None | Some("") | Some("SIGNIN") => "SIGNIN",
        Some("SIGNUP") => "SIGNUP",
        Some(_) => {
            return Err(ApiError::invalid(
                "template",
                "template must be SIGNIN or SIGNUP",
            ));
        }
    };
    let expires_in = match map.get("expires_in") {
        None | Some(Value::Null) => DEFAULT_EXPIRES_IN,
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .filter(|s| (1..=MAX_EXPIRES_IN).contains(s))
            .ok_or_else(|| {
                ApiError::invalid(
                    "expires_in",
                    "expires_in must be between 1 and 86400 seconds",
                )
            })?,
    };
    check_variables(&map)?;
    let magiclink_auth_uri = opt_str(&map, "magiclink_auth_uri")?.filter(|u| !u.is_empty());
    let passwordless = &state.passwordless;
    let kind = passwordless.kind();
    if kind.has_link() && magiclink_auth_uri.is_none() {
        return Err(ApiError::invalid(
            "magiclink_auth_uri",
            "magiclink_auth_uri is required when the email carries a magic link",
        ));
    }
    if let Some(uri) = &magiclink_auth_uri
        && !(uri.starts_with("http://") || uri.starts_with("https://"))
    {
        return Err(ApiError::invalid(
            "magiclink_auth_uri",
            "magiclink_auth_uri must be an http(s) URL",
        ));
    }
    let mut inner = lock(&passwordless.inner);
    Passwordless::count_send(&mut inner, email.trim())?;
    let id = format!(
        "passwordless_{}",
        ids::secret().map_err(|_| ApiError::internal())?
    );
    inner.requests.insert(
        id.clone(),
        AuthRequest {
            email: email.trim().to_owned(),
            template: template.to_owned(),
            state: opt_str(&map, "state")?,
            magiclink_auth_uri,
            expires_in,
            expires_at: now().saturating_add(expires_in),
            kind,
            code: None,
            link_token: None,
            wrong_codes: Vec::new(),
            dead: false,
        },
    );
    passwordless.mail(&mut inner, &id)?;
    let answer = inner.requests.get(&id).map(|r| send_answer(&id, r));
    ok(answer.unwrap_or(Value::Null))
}

/// Template variables: an object of strings, at most 30, no reserved name.
fn check_variables(map: &Map<String, Value>) -> Result<(), ApiError> {
    let Some(variables) = map.get("template_variables").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let Some(variables) = variables.as_object() else {
        return Err(ApiError::invalid(
            "template_variables",
            "template_variables must be an object",
        ));
    };
    if variables.len() > 30 {
        return Err(ApiError::invalid(
            "template_variables",
            "at most 30 template variables",
        ));
    }
    for (name, value) in variables {
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name.trim())) {
            return Err(ApiError::invalid(
                "template_variables",
                format!("{name} is a reserved template variable"),
            ));
        }
        if !value.is_string() {
            return Err(ApiError::invalid(
                "template_variables",
                "template variables must be strings",
            ));
        }
    }
    Ok(())
}

/// `POST /api/v1/passwordless/email/resend`.
pub(crate) async fn resend(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> ApiResult {
    let map = body_object(&body)?;
    let id = opt_str(&map, "auth_request_id")?.unwrap_or_default();
    let passwordless = &state.passwordless;
    let mut inner = lock(&passwordless.inner);
    let (email, expires_in) = match inner.requests.get(&id) {
        Some(request) if !request.dead => (request.email.clone(), request.expires_in),
        _ => return Err(ApiError::not_found("auth_request")),
    };
    Passwordless::count_send(&mut inner, &email)?;
    if let Some(request) = inner.requests.get_mut(&id) {
        request.expires_at = now().saturating_add(expires_in);
    }
    passwordless.mail(&mut inner, &id)?;
    let answer = inner.requests.get(&id).map(|r| send_answer(&id, r));
    ok(answer.unwrap_or(Value::Null))
}

/// `POST /api/v1/passwordless/email/verify`: `{code, auth_request_id}` or
/// `{link_token[, auth_request_id]}`.
pub(crate) async fn verify(AxumState(state): AxumState<Arc<State>>, body: Bytes) -> ApiResult {
    let map = body_object(&body)?;
    let code = opt_str(&map, "code")?.filter(|c| !c.is_empty());
    let link_token = opt_str(&map, "link_token")?.filter(|t| !t.is_empty());
    let given_id = opt_str(&map, "auth_request_id")?.filter(|i| !i.is_empty());
    let passwordless = &state.passwordless;
    let mut inner = lock(&passwordless.inner);
    let id = match (&code, &link_token) {
        (Some(_), None) => given_id.ok_or_else(|| {
            ApiError::invalid("auth_request_id", "auth_request_id is required with a code")
        })?,
        (None, Some(token)) => {
            let Some(id) = inner.links.get(token).cloned() else {
                return Err(ApiError::invalid(
                    "link_token",
                    "the link is invalid or was already used",
                ));
            };
            match given_id {
                Some(given) if given != id => {
                    return Err(ApiError::invalid(
                        "auth_request_id",
                        "the link belongs to another auth request",
                    ));
                }
                None if passwordless.same_browser() => {
                    return Err(ApiError::invalid(
                        "auth_request_id",
                        "same browser origin is enforced: the link must be verified with its auth_request_id",
                    ));
                }
                _ => id,
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "code",
                "send either a code or a link_token",
            ));
        }
    };
    let Some(request) = inner.requests.get_mut(&id) else {
        return Err(ApiError::not_found("auth_request"));
    };
    let instant = Instant::now();
    request
        .wrong_codes
        .retain(|at| instant.duration_since(*at) < ATTEMPT_WINDOW);
    if request.dead || request.wrong_codes.len() >= MAX_WRONG_CODES {
        request.dead = true;
        return Err(ApiError::exhausted(
            "too many attempts: start the passwordless sign-in again",
        ));
    }
    if now() >= request.expires_at {
        return Err(ApiError::failed_precondition(
            "the auth request has expired",
        ));
    }
    if let Some(code) = code {
        let right = request
            .code
            .as_deref()
            .is_some_and(|expected| constant_time_eq(expected.as_bytes(), code.trim().as_bytes()));
        if !right {
            request.wrong_codes.push(instant);
            let left = MAX_WRONG_CODES.saturating_sub(request.wrong_codes.len());
            // The fifth wrong code in the window kills the request for
            // good (a resend cannot revive it, nor can waiting).
            if left == 0 {
                request.dead = true;
            }
            return Err(ApiError::invalid("code", "the code is invalid")
                .with_metadata("attempts_remaining", left.to_string()));
        }
    }
    let verified = json!({
        "email": request.email,
        "state": request.state,
        "template": request.template,
        "passwordless_type": request.kind.as_str(),
    });
    // Used: neither the code nor the link works again.
    if let Some(request) = inner.requests.remove(&id)
        && let Some(token) = request.link_token
    {
        inner.links.remove(&token);
    }
    ok(verified)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /outbox.json`: the outbox, newest first.
pub(crate) async fn outbox_json(AxumState(state): AxumState<Arc<State>>) -> Response {
    Json(state.passwordless.outbox()).into_response()
}

/// `GET /outbox`: the outbox as a page, newest first.
pub(crate) async fn outbox_page(AxumState(state): AxumState<Arc<State>>) -> Response {
    let emails = state.passwordless.outbox();
    let mut rows = String::new();
    for (n, email) in emails.iter().enumerate() {
        let link = email.link.as_deref().map_or_else(
            || "-".to_owned(),
            |l| format!("<a class=\"link\" href=\"{0}\">{0}</a>", html::esc(l)),
        );
        rows.push_str(&format!(
            "<tr id=\"email-{n}\"><td class=\"to\">{to}</td><td>{subject}</td><td class=\"code\">{code}</td>\
             <td>{link}</td><td>{sent}</td></tr>",
            to = html::esc(&email.to),
            subject = html::esc(&email.subject),
            code = html::esc(email.code.as_deref().unwrap_or("-")),
            sent = email.sent_at,
        ));
    }
    let body = if emails.is_empty() {
        "<p id=\"empty\">No email has been sent yet.</p>".to_owned()
    } else {
        format!(
            "<table id=\"outbox\"><thead><tr><th>to</th><th>subject</th><th>code</th><th>link</th>\
             <th>sent at</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    Html(html::page("Outbox", &body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_line_has_the_protocols_shape() {
        let email = OutboxEmail {
            to: "ada@example.com".into(),
            subject: "s".into(),
            template: "SIGNIN".into(),
            code: Some("123456".into()),
            link: None,
            auth_request_id: "passwordless_1".into(),
            sent_at: 1,
        };
        assert_eq!(
            email_line(&email),
            "  EMAIL to ada@example.com: code 123456 link -"
        );
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..50 {
            let code = six_digits();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
