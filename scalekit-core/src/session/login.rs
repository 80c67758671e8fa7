//! The login state cookie: what a login remembers between the redirect to
//! the platform and the callback ([`LoginState`]), sealed into a
//! short-lived cookie and opened again by the [`SessionManager`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SessionError;
use super::codec::CookieError;
use super::cookies::{CookieSettings, RequestCookies};
use super::manager::SessionManager;
use crate::oauth::{Pkce, generate_nonce, generate_state};

/// Base name of the login state cookie (`__Host-sk_oauth_state` when the
/// cookies are `Secure`; see [`SessionManager::login_state_cookie_name`]).
pub const LOGIN_STATE_COOKIE: &str = "sk_oauth_state";
/// Lifetime of the login state cookie.
pub const LOGIN_STATE_TTL: Duration = Duration::from_secs(600);

/// What a login must remember between the redirect to the platform and the
/// callback: `state`, `nonce`, the PKCE verifier and where to go afterwards.
/// Its `Debug` leaves the first three out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    /// The CSRF `state` sent in the authorization URL.
    pub state: String,
    /// The `nonce` the ID token must echo.
    pub nonce: String,
    /// The PKCE verifier.
    pub code_verifier: String,
    /// A safe same-site path to return to after login.
    pub return_to: Option<String>,
    /// When the login started (Unix seconds).
    pub created_at: u64,
}

impl std::fmt::Debug for LoginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginState")
            .field("return_to", &self.return_to)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl LoginState {
    /// Fresh `state`, `nonce` and PKCE verifier. `return_to` should already
    /// be checked with [`safe_return_to`](crate::oauth::safe_return_to).
    pub fn new(return_to: Option<String>) -> Result<Self, SessionError> {
        let random = |_| SessionError::Random;
        Ok(LoginState {
            state: generate_state().map_err(random)?,
            nonce: generate_nonce().map_err(random)?,
            code_verifier: Pkce::generate().map_err(random)?.verifier().to_owned(),
            return_to,
            created_at: crate::util::unix_time().as_secs(),
        })
    }

    /// The PKCE pair of the verifier.
    pub fn pkce(&self) -> Pkce {
        Pkce::from_verifier(&self.code_verifier)
    }
}

impl SessionManager {
    fn login_settings(&self) -> CookieSettings {
        CookieSettings {
            same_site: super::SameSite::Lax,
            ..self.settings.clone()
        }
    }

    /// The login state cookie's name on the wire (`__Host-sk_oauth_state`
    /// on https, `sk_oauth_state` on plain-http localhost).
    pub fn login_state_cookie_name(&self) -> String {
        self.login_settings().cookie_name(LOGIN_STATE_COOKIE)
    }

    /// The `Set-Cookie` value that deletes the login state cookie.
    pub fn login_state_removal(&self) -> String {
        self.flow_cookie_removal(LOGIN_STATE_COOKIE)
    }

    /// The `Set-Cookie` value carrying a sealed login state (10 minutes,
    /// `SameSite=Lax`).
    pub fn login_state_cookie(&self, state: &LoginState) -> Result<String, SessionError> {
        self.sealed_flow_cookie(LOGIN_STATE_COOKIE, state, LOGIN_STATE_TTL)
    }

    /// The `Set-Cookie` value carrying `value` sealed under the cookie
    /// `base` (its wire name per the settings) for `ttl`, `SameSite=Lax`:
    /// what a sign-in flow remembers between two requests.
    pub(super) fn sealed_flow_cookie<T: Serialize>(
        &self,
        base: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<String, SessionError> {
        let settings = self.login_settings();
        let name = settings.cookie_name(base);
        let json = serde_json::to_vec(value).map_err(|_| CookieError::InvalidContent)?;
        let sealed = self.records.codec.seal(&name, &json)?;
        Ok(settings.set_cookie(&name, &sealed, Some(ttl)))
    }

    /// Opens the flow cookie `base` of a request (see
    /// [`SessionManager::sealed_flow_cookie`]).
    pub(super) fn open_flow_cookie<T: serde::de::DeserializeOwned>(
        &self,
        base: &str,
        request: &RequestCookies<'_>,
    ) -> Result<T, SessionError> {
        let name = self.login_settings().cookie_name(base);
        let sealed = request.get(&name).ok_or(CookieError::Malformed)?;
        let json = self.records.codec.open(&name, sealed)?;
        Ok(serde_json::from_slice(&json).map_err(|_| CookieError::InvalidContent)?)
    }

    /// The `Set-Cookie` value that deletes the flow cookie `base`.
    pub(super) fn flow_cookie_removal(&self, base: &str) -> String {
        let settings = self.login_settings();
        settings.removal(&settings.cookie_name(base))
    }

    /// Opens the login state cookie of a callback request (refusing one
    /// older than 10 minutes) and returns it with the `Set-Cookie` value
    /// that clears it.
    pub fn take_login_state(
        &self,
        request: &RequestCookies<'_>,
    ) -> Result<(LoginState, String), SessionError> {
        let clear = self.login_state_removal();
        let state: LoginState = self.open_flow_cookie(LOGIN_STATE_COOKIE, request)?;
        let now = crate::util::unix_time().as_secs();
        if now >= state.created_at.saturating_add(LOGIN_STATE_TTL.as_secs()) {
            return Err(CookieError::Expired.into());
        }
        Ok((state, clear))
    }
}
