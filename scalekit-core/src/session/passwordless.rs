//! The passwordless state cookie: which auth request this browser asked
//! for and where it returns after signing in ([`PasswordlessState`]),
//! sealed into a short-lived `HttpOnly` cookie, never shown in a page.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SessionError;
use super::codec::CookieError;
use super::cookies::RequestCookies;
use super::manager::SessionManager;

/// Base name of the passwordless state cookie (`__Host-sk_passwordless`
/// when the cookies are `Secure`).
pub const PASSWORDLESS_STATE_COOKIE: &str = "sk_passwordless";
/// The longest a passwordless sign-in may take, from the email's send to
/// the code or link: the cookie's lifetime (the platform's expiry of the
/// auth request is usually shorter).
pub const PASSWORDLESS_STATE_TTL: Duration = Duration::from_secs(3600);

/// What a passwordless sign-in remembers in the browser that asked: the
/// auth request and the return target. Its `Debug` leaves the auth request
/// out.
///
/// ```
/// use scalekit_core::session::PasswordlessState;
///
/// let state = PasswordlessState::new("ar_123", Some("/reports".into()), true);
/// assert_eq!(state.return_to.as_deref(), Some("/reports"));
/// assert!(!format!("{state:?}").contains("ar_123"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordlessState {
    /// The platform's auth request.
    pub auth_request_id: String,
    /// A safe same-site path to return to after signing in.
    pub return_to: Option<String>,
    /// Whether the email carries a code (the page then offers the code
    /// form).
    #[serde(default)]
    pub has_code: bool,
    /// When the email was sent (Unix seconds).
    pub created_at: u64,
}

impl std::fmt::Debug for PasswordlessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordlessState")
            .field("return_to", &self.return_to)
            .field("has_code", &self.has_code)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl PasswordlessState {
    /// The state of a sign-in whose email was just sent. `return_to`
    /// should already be checked with
    /// [`safe_return_target`](crate::oauth::safe_return_target).
    pub fn new(
        auth_request_id: impl Into<String>,
        return_to: Option<String>,
        has_code: bool,
    ) -> Self {
        PasswordlessState {
            auth_request_id: auth_request_id.into(),
            return_to,
            has_code,
            created_at: crate::util::unix_time().as_secs(),
        }
    }
}

impl SessionManager {
    /// The `Set-Cookie` value carrying a sealed passwordless state (1 hour,
    /// `HttpOnly`, `SameSite=Lax` so that a magic link opened from an
    /// email client still carries it).
    pub fn passwordless_state_cookie(
        &self,
        state: &PasswordlessState,
    ) -> Result<String, SessionError> {
        self.sealed_flow_cookie(PASSWORDLESS_STATE_COOKIE, state, PASSWORDLESS_STATE_TTL)
    }

    /// The passwordless state of a request (refusing one older than
    /// [`PASSWORDLESS_STATE_TTL`]).
    pub fn passwordless_state(
        &self,
        request: &RequestCookies<'_>,
    ) -> Result<PasswordlessState, SessionError> {
        let state: PasswordlessState = self.open_flow_cookie(PASSWORDLESS_STATE_COOKIE, request)?;
        let now = crate::util::unix_time().as_secs();
        if now
            >= state
                .created_at
                .saturating_add(PASSWORDLESS_STATE_TTL.as_secs())
        {
            return Err(CookieError::Expired.into());
        }
        Ok(state)
    }

    /// The `Set-Cookie` value that deletes the passwordless state cookie.
    pub fn passwordless_state_removal(&self) -> String {
        self.flow_cookie_removal(PASSWORDLESS_STATE_COOKIE)
    }
}
