//! Sessions (PROTOCOL.md §5, §8): the session value, the sealed-cookie
//! codec, the login state cookie, session stores (cookie-only, memory,
//! Redis, Redis cluster, PostgreSQL) and the refresh coordinator.

mod codec;
mod cookies;
mod data;
mod login;
mod manager;
mod memory;
mod opened;
mod passwordless;
#[cfg(feature = "postgres")]
mod postgres_store;
#[cfg(feature = "redis-cluster")]
mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_store;
mod refresh;
mod store;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use codec::{CHUNK_SIZE, CookieCodec, CookieError, DEFAULT_MAX_CHUNKS, MIN_SECRET_LEN};
pub(crate) use cookies::cookie_names;
pub use cookies::{CookieSettings, CookieSettingsError, RequestCookies, SameSite};
pub use data::{AuthMethod, DEFAULT_MAX_SESSION_DATA, SessionData, SessionDataError};
pub use login::{LOGIN_STATE_COOKIE, LOGIN_STATE_TTL, LoginState};
pub use manager::{Resolved, SessionManager};
pub use memory::MemoryStore;
pub use passwordless::{PASSWORDLESS_STATE_COOKIE, PASSWORDLESS_STATE_TTL, PasswordlessState};
#[cfg(feature = "postgres")]
pub use postgres_store::PostgresStore;
#[cfg(feature = "redis-cluster")]
pub use redis_cluster::RedisClusterStore;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use store::{
    BoxFuture, CookieStore, MAX_STORE_TTL, SessionMode, SessionStore, StoreError, StoredSession,
};

use crate::oauth::{RandomError, TokenError, User};

/// A signed-in session: the tokens, their expiry, the verified user, and
/// the times the timeouts are measured from. Its `Debug` leaves the id and
/// the tokens out.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Random id (256 bits), stable across refreshes.
    pub id: String,
    /// The user, from the verified ID token.
    pub user: User,
    /// The access token.
    pub access_token: String,
    /// The refresh token (rotates on every refresh).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The ID token (the logout `id_token_hint`).
    #[serde(default)]
    pub id_token: Option<String>,
    /// The access token's `exp` (Unix seconds).
    pub expires_at: u64,
    /// The application's data (see [`SessionData`]): sealed with the
    /// session, carried across refreshes, gone with the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<SessionData>,
    /// How the user signed in (absent from the records of OAuth sessions).
    #[serde(default, skip_serializing_if = "AuthMethod::is_oauth")]
    pub auth_method: AuthMethod,
    /// When the session started (Unix seconds).
    pub created_at: u64,
    /// When the session was last used (Unix seconds).
    pub last_seen: u64,
    /// The version of the server-side record this value was read at (0 for
    /// cookie-only sessions). Writing an existing session back succeeds
    /// only while the store still holds this version, so a session removed
    /// meanwhile (logout, sign-out everywhere) is never written back. Not
    /// part of the sealed record: the store keeps it.
    #[serde(skip)]
    pub version: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &"***")
            .field("user", &self.user.id)
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .field("data", &self.data)
            .field("auth_method", &self.auth_method)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session id: 256 bits from the OS random source, URL-safe.
    pub fn new_id() -> Result<String, RandomError> {
        crate::oauth::generate_state()
    }

    /// The application data as a `T`: `Ok(None)` when none was stored,
    /// [`SessionDataError::Decode`] when it has another shape.
    pub fn data_as<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, SessionDataError> {
        self.data.as_ref().map(SessionData::decode).transpose()
    }

    /// Whether the access token is expired or expires within `skew`
    /// (never for a passwordless session: it has no token to refresh).
    pub fn needs_refresh(&self, now: u64, skew: Duration) -> bool {
        self.auth_method == AuthMethod::Oauth
            && self.expires_at <= now.saturating_add(skew.as_secs())
    }
}

/// Timeouts and refresh timing of sessions.
///
/// ```
/// use std::time::Duration;
/// use scalekit_core::session::SessionPolicy;
///
/// let policy = SessionPolicy::default()
///     .absolute_timeout(Duration::from_secs(8 * 3600))
///     .idle_timeout(Duration::from_secs(3600));
/// assert_eq!(policy.refresh_skew, Duration::from_secs(30));
/// assert_eq!(policy.refresh_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Longest life of a session, refreshes included (default 7 days).
    pub absolute: Duration,
    /// Longest time without a request (default 1 day).
    pub idle: Duration,
    /// Refresh when the access token expires within this (default 30 s).
    pub refresh_skew: Duration,
    /// `last_seen` is written at most this often (default 60 s), so that a
    /// cookie session is not rewritten on every request.
    pub touch_interval: Duration,
    /// Longest time one refresh may take, token call and verification of
    /// the new tokens included (default 10 s, the default HTTP timeout of
    /// [`Scalekit::new`](crate::Scalekit::new)). A refresh still running
    /// then is abandoned as a transient failure. The cross-instance refresh
    /// lock is leased for this plus a margin, so it cannot expire while its
    /// holder is still refreshing.
    pub refresh_timeout: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            absolute: Duration::from_secs(7 * 24 * 3600),
            idle: Duration::from_secs(24 * 3600),
            refresh_skew: Duration::from_secs(30),
            touch_interval: Duration::from_secs(60),
            refresh_timeout: Duration::from_secs(10),
        }
    }
}

impl SessionPolicy {
    /// Sets the absolute timeout.
    pub fn absolute_timeout(mut self, d: Duration) -> Self {
        self.absolute = d;
        self
    }

    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle = d;
        self
    }

    /// Sets the refresh skew.
    pub fn refresh_skew(mut self, d: Duration) -> Self {
        self.refresh_skew = d;
        self
    }

    /// Sets how often `last_seen` is written.
    pub fn touch_interval(mut self, d: Duration) -> Self {
        self.touch_interval = d;
        self
    }

    /// Sets the longest time a refresh may take.
    pub fn refresh_timeout(mut self, d: Duration) -> Self {
        self.refresh_timeout = d;
        self
    }

    /// When `session` reaches its absolute timeout: the policy's, and for
    /// a passwordless session also its own lifetime, set at sign-in (it has
    /// no platform token whose refusal would end it earlier).
    pub(crate) fn absolute_end(&self, session: &Session) -> u64 {
        let end = session.created_at.saturating_add(self.absolute.as_secs());
        match session.auth_method {
            AuthMethod::Passwordless => end.min(session.expires_at),
            AuthMethod::Oauth => end,
        }
    }

    /// Why `session` has ended at `now`, if it has.
    pub fn check(&self, session: &Session, now: u64) -> Result<(), SessionEnd> {
        if now >= self.absolute_end(session) {
            return Err(SessionEnd::AbsoluteTimeout);
        }
        if now >= session.last_seen.saturating_add(self.idle.as_secs()) {
            return Err(SessionEnd::IdleTimeout);
        }
        Ok(())
    }

    /// How long the session may still live: the lifetime of its cookie and
    /// of its server-side record.
    pub fn remaining(&self, session: &Session, now: u64) -> Duration {
        let absolute_end = self.absolute_end(session);
        let idle_end = session.last_seen.saturating_add(self.idle.as_secs());
        Duration::from_secs(absolute_end.min(idle_end).saturating_sub(now))
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionEnd {
    /// Older than the absolute timeout.
    #[error("the session reached its absolute timeout")]
    AbsoluteTimeout,
    /// Unused for longer than the idle timeout.
    #[error("the session was idle too long")]
    IdleTimeout,
    /// Its refresh was refused (the refresh token was refused, or the
    /// platform answered tokens that do not verify).
    #[error("the session could not be refreshed: {0}")]
    RefreshFailed(TokenError),
    /// The refreshed ID token (or access token) names another subject than
    /// the session's user (OpenID Connect Core 12.2).
    #[error("the refreshed tokens name another user than the session")]
    SubjectChanged,
    /// The session was removed from the store (logout, sign-out everywhere)
    /// while this request was using it.
    #[error("the session was removed")]
    Removed,
}

/// Why a session operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The cookie could not be opened.
    #[error(transparent)]
    Cookie(#[from] CookieError),
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The session has ended.
    #[error(transparent)]
    Ended(#[from] SessionEnd),
    /// The tokens of a login could not be turned into a session.
    #[error("the login could not be turned into a session: {0}")]
    Login(TokenError),
    /// The system random source failed.
    #[error("the system random source failed")]
    Random,
    /// The session needs a refresh that cannot be made now (the token
    /// endpoint timed out, failed with a server error or could not be
    /// reached, or the signing keys are unavailable). The session is kept;
    /// the request should be answered `503` with `Retry-After`.
    #[error("the session cannot be refreshed right now; it is kept")]
    RefreshUnavailable,
    /// The application data to start a session with is larger than the
    /// limit ([`SessionManager::max_session_data`]).
    #[error("the session data is too large ({size} bytes, at most {max})")]
    DataTooLarge {
        /// Its size, as JSON text.
        size: usize,
        /// The limit.
        max: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "SECRET-f00dfeed-never-printed";

    fn session() -> Session {
        Session {
            id: format!("id-{SECRET}"),
            user: serde_json::from_value(serde_json::json!({"id": "usr_1"})).unwrap(),
            access_token: format!("eyJ.{SECRET}.sig"),
            refresh_token: Some(format!("rt_{SECRET}")),
            id_token: Some(format!("eyJ.{SECRET}.id")),
            expires_at: 1,
            data: Some(SessionData::encode(&format!("data-{SECRET}")).unwrap()),
            auth_method: AuthMethod::Oauth,
            created_at: 1,
            last_seen: 1,
            version: 3,
        }
    }

    #[test]
    fn records_without_an_auth_method_are_oauth_sessions() {
        let oauth = serde_json::to_value(session()).unwrap();
        assert!(
            oauth.get("auth_method").is_none(),
            "OAuth records are unchanged"
        );
        let back: Session = serde_json::from_value(oauth).unwrap();
        assert_eq!(back.auth_method, AuthMethod::Oauth);
        let passwordless = Session {
            auth_method: AuthMethod::Passwordless,
            expires_at: 0,
            ..session()
        };
        let value = serde_json::to_value(&passwordless).unwrap();
        assert_eq!(value["auth_method"], "passwordless");
        let back: Session = serde_json::from_value(value).unwrap();
        assert_eq!(back.auth_method, AuthMethod::Passwordless);
        // No token to refresh, whatever `expires_at` says.
        assert!(!back.needs_refresh(u64::MAX / 2, Duration::from_secs(30)));
        assert!(session().needs_refresh(2, Duration::ZERO));
    }

    #[test]
    fn a_passwordless_session_ends_at_its_own_lifetime() {
        let policy = SessionPolicy::default();
        let started = 1_000;
        let passwordless = Session {
            auth_method: AuthMethod::Passwordless,
            expires_at: started + 3600,
            created_at: started,
            last_seen: started + 3500,
            ..session()
        };
        assert_eq!(policy.check(&passwordless, started + 3599), Ok(()));
        assert_eq!(
            policy.remaining(&passwordless, started + 3000),
            Duration::from_secs(600),
            "its cookie and record live no longer than the session"
        );
        assert_eq!(
            policy.check(&passwordless, started + 3600),
            Err(SessionEnd::AbsoluteTimeout)
        );
        // An OAuth session's `expires_at` is its access token's: a refresh
        // is due then, the session does not end.
        let oauth = Session {
            auth_method: AuthMethod::Oauth,
            ..passwordless.clone()
        };
        assert_eq!(policy.check(&oauth, started + 3600), Ok(()));
        // The policy's shorter absolute timeout still wins.
        let short = policy.absolute_timeout(Duration::from_secs(60));
        assert_eq!(
            short.check(&passwordless, started + 60),
            Err(SessionEnd::AbsoluteTimeout)
        );
    }

    #[test]
    fn debug_output_leaves_every_secret_out() {
        let codec = CookieCodec::new([format!("{SECRET}-long-enough-for-a-key")]).unwrap();
        let login = LoginState {
            state: format!("state-{SECRET}"),
            nonce: format!("nonce-{SECRET}"),
            code_verifier: format!("verifier-{SECRET}"),
            return_to: Some("/dashboard".into()),
            created_at: 1,
        };
        let header = format!("sk_session=sealed-{SECRET}; other=x{SECRET}");
        let cookies = RequestCookies::parse([header.as_str()]);
        let resolved = Resolved {
            session: Some(std::sync::Arc::new(session())),
            set_cookies: vec![format!("sk_session=sealed-{SECRET}; Path=/")],
            ended: None,
        };
        let stored = StoredSession {
            sealed: format!("sealed-{SECRET}").into_bytes(),
            version: 1,
        };
        let printed = [
            format!("{:?}", session()),
            format!("{login:?}"),
            format!("{resolved:?}"),
            format!("{codec:?}"),
            format!("{cookies:?}"),
            format!("{stored:?}"),
        ];
        for text in &printed {
            assert!(!text.contains(SECRET), "{text}");
        }
        // What helps debugging is still there.
        assert!(printed[0].contains("usr_1"));
        assert!(printed[2].contains("sk_session"));
        assert!(printed[4].contains("other"));
    }
}
