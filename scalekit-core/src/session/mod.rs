//! Sessions (PROTOCOL.md §5, §8): the session value, the sealed-cookie
//! codec, the login state cookie, session stores (cookie-only, memory,
//! Redis) and the refresh coordinator.

mod codec;
mod manager;
mod memory;
mod redis_store;
mod refresh;
mod store;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use codec::{
    CHUNK_SIZE, CookieCodec, CookieError, CookieSettings, DEFAULT_MAX_CHUNKS, MIN_SECRET_LEN,
    RequestCookies, SameSite,
};
pub use manager::{LOGIN_STATE_COOKIE, LOGIN_STATE_TTL, LoginState, Resolved, SessionManager};
pub use memory::MemoryStore;
pub use redis_store::RedisStore;
pub use refresh::RefreshCoordinator;
pub use store::{BoxFuture, CookieStore, SessionStore, StoreError};

use crate::oauth::{RandomError, TokenError, User};

/// A signed-in session: the tokens, their expiry, the verified user, and
/// the times the timeouts are measured from.
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
    /// When the session started (Unix seconds).
    pub created_at: u64,
    /// When the session was last used (Unix seconds).
    pub last_seen: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &"***")
            .field("user", &self.user.id)
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session id: 256 bits from the OS random source, URL-safe.
    pub fn new_id() -> Result<String, RandomError> {
        crate::oauth::generate_state()
    }

    /// Whether the access token is expired or expires within `skew`.
    pub fn needs_refresh(&self, now: u64, skew: Duration) -> bool {
        self.expires_at <= now.saturating_add(skew.as_secs())
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
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            absolute: Duration::from_secs(7 * 24 * 3600),
            idle: Duration::from_secs(24 * 3600),
            refresh_skew: Duration::from_secs(30),
            touch_interval: Duration::from_secs(60),
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

    /// Why `session` has ended at `now`, if it has.
    pub fn check(&self, session: &Session, now: u64) -> Result<(), SessionEnd> {
        if now >= session.created_at.saturating_add(self.absolute.as_secs()) {
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
        let absolute_end = session.created_at.saturating_add(self.absolute.as_secs());
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
    /// Its refresh failed (the refresh token was refused, typically).
    #[error("the session could not be refreshed: {0}")]
    RefreshFailed(TokenError),
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
}
