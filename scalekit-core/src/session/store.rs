//! The `SessionStore` trait, the cookie-only store, and the sealing layer
//! between the session manager and server-side stores.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::codec::{CookieCodec, CookieError};
use super::{Session, SessionEnd, SessionError};

/// A boxed, sendable future (the trait is object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Longest time-to-live a store is asked for (ten years): longer ones from
/// the configuration are cut to it, so that no deadline overflows.
pub const MAX_STORE_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Why a session store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached (Redis or PostgreSQL down, connection
    /// lost, no pooled connection within the timeout).
    #[error("the session store is unavailable")]
    Unavailable,
    /// A stored record could not be read.
    #[error("a stored session is corrupt")]
    Corrupt,
    /// The operation needs a server-side store.
    #[error("this operation needs a server-side session store")]
    Unsupported,
    /// Another instance held the refresh lock for too long.
    #[error("timed out waiting for a concurrent refresh")]
    LockTimeout,
    /// A conditional write found another version of the session than the
    /// one it was given (another request wrote it meanwhile): nothing was
    /// written.
    #[error("the session changed since it was read; nothing was written")]
    Conflict,
    /// The store's address is not one it understands (for Redis: not a
    /// `redis://` or `rediss://` URL).
    #[error("the session store address is not valid")]
    InvalidUrl,
}

/// A session as a server-side store keeps it: sealed by the session manager
/// (AES-256-GCM, bound to its session id, so records cannot be swapped and
/// the store never holds a token in the clear), and the version that
/// conditional writes compare.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The sealed session: opaque bytes to the store.
    pub sealed: Vec<u8>,
    /// Starts at 1 on creation and grows by one with every replacement.
    pub version: u64,
}

impl fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSession")
            .field("sealed", &format_args!("<{} bytes>", self.sealed.len()))
            .field("version", &self.version)
            .finish()
    }
}

/// Where a [`SessionStore`] keeps sessions.
///
/// ```
/// use scalekit_core::session::{CookieStore, MemoryStore, SessionMode, SessionStore};
///
/// assert_eq!(CookieStore.mode(), SessionMode::CookieOnly);
/// let memory = MemoryStore::new(10_000, std::time::Duration::from_secs(7 * 24 * 3600));
/// assert_eq!(memory.mode(), SessionMode::ServerSide);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionMode {
    /// The whole session travels in the sealed cookie: stateless, nothing
    /// to run; a logout cannot revoke a copy of the cookie kept elsewhere,
    /// and "sign out everywhere" is not possible.
    CookieOnly,
    /// The session lives in the store; the cookie holds its sealed id. A
    /// refresh, a logout or "sign out everywhere" is seen by every instance
    /// sharing the store at once.
    ServerSide,
}

/// Where sessions live.
///
/// Server-side stores ([`MemoryStore`](super::MemoryStore), `RedisStore`
/// with the `redis` feature, `RedisClusterStore` with `redis-cluster`,
/// `PostgresStore` with `postgres`) keep sealed records by session id;
/// the cookie carries only the (sealed) id. The cookie-only [`CookieStore`]
/// keeps nothing: the whole sealed session travels in the cookie, and the
/// record methods are never called on it.
///
/// A store must make [`replace`](SessionStore::replace) atomic with respect
/// to every other write and removal of the same session: it writes only if
/// the stored version is still the expected one. That is what keeps a
/// removed session (logout, sign-out everywhere) from being written back
/// by a refresh or a "last seen" update that read it just before.
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Where the store keeps sessions: in the cookie itself, or on the
    /// server with only an id in the cookie (so that every instance sharing
    /// the store sees a refresh or a removal at once).
    fn mode(&self) -> SessionMode;

    /// Stores a new session (a login) for `ttl`, unconditionally; returns
    /// its version. `user_id` indexes it for
    /// [`remove_user`](SessionStore::remove_user).
    fn create<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
        sealed: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Replaces a stored session for `ttl` only if the store still holds it
    /// at version `expected`; returns the new version, or `None` when the
    /// session is gone or at another version (nothing is written then).
    fn replace<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
        expected: u64,
        sealed: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, StoreError>>;

    /// The stored session with this id, if it still exists.
    fn load<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;

    /// Deletes a session.
    fn remove<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Deletes every session of a user ("sign out everywhere"); returns how
    /// many there were.
    fn remove_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Takes the refresh lock of a session across every instance sharing the
    /// store, for at most `ttl` (a lease longer than the longest refresh).
    /// `Ok(None)`: another holder has it. Stores without cross-instance
    /// state grant it at once.
    fn try_lock<'a>(
        &'a self,
        session_id: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let _ = (session_id, ttl);
        Box::pin(async { Ok(Some(String::new())) })
    }

    /// Releases a lock taken with [`SessionStore::try_lock`].
    fn unlock<'a>(
        &'a self,
        session_id: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = (session_id, token);
        Box::pin(async { Ok(()) })
    }
}

/// The default store: the whole session travels in the (sealed, chunked)
/// cookie. Stateless, nothing to run. "Sign out everywhere" is not possible
/// with it, and a logout cannot revoke a copy of the cookie kept elsewhere:
/// use a server-side store for that.
#[derive(Debug, Clone, Copy, Default)]
pub struct CookieStore;

impl SessionStore for CookieStore {
    fn mode(&self) -> SessionMode {
        SessionMode::CookieOnly
    }

    fn create<'a>(
        &'a self,
        _session_id: &'a str,
        _user_id: &'a str,
        _sealed: &'a [u8],
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async { Err(StoreError::Unsupported) })
    }

    fn replace<'a>(
        &'a self,
        _session_id: &'a str,
        _user_id: &'a str,
        _expected: u64,
        _sealed: &'a [u8],
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
        Box::pin(async { Err(StoreError::Unsupported) })
    }

    fn load<'a>(
        &'a self,
        _session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    fn remove<'a>(
        &'a self,
        _session_id: &'a str,
        _user_id: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn remove_user<'a>(&'a self, _user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async { Err(StoreError::Unsupported) })
    }
}

/// How a conditional write ended.
#[derive(Debug)]
pub(crate) enum Replaced {
    /// Written; the session carries its new version.
    Written(Session),
    /// Not written: another write came first; this is what the store holds.
    Changed(Session),
    /// Not written: the session no longer exists.
    Removed,
}

/// The store seen through the codec: sessions in, sealed records out, each
/// bound to its session id by the associated data.
#[derive(Clone)]
pub(crate) struct SealedStore {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) codec: Arc<CookieCodec>,
}

/// Associated data of a stored record: a domain label and the session id.
fn record_aad(session_id: &str) -> Vec<u8> {
    format!("scalekit-rs session record\0{session_id}").into_bytes()
}

impl SealedStore {
    pub(crate) fn mode(&self) -> SessionMode {
        self.store.mode()
    }

    fn seal(&self, session: &Session) -> Result<Vec<u8>, SessionError> {
        let json = serde_json::to_vec(session).map_err(|_| StoreError::Corrupt)?;
        Ok(self.codec.seal_bytes(&record_aad(&session.id), &json)?)
    }

    fn open(&self, session_id: &str, stored: StoredSession) -> Result<Session, SessionError> {
        let json = self
            .codec
            .open_bytes(&record_aad(session_id), &stored.sealed)
            .map_err(|err| {
                tracing::warn!(error = %err, "a stored session could not be opened");
                match err {
                    CookieError::Random => SessionError::Random,
                    _ => StoreError::Corrupt.into(),
                }
            })?;
        let mut session: Session =
            serde_json::from_slice(&json).map_err(|_| StoreError::Corrupt)?;
        if session.id != session_id {
            return Err(StoreError::Corrupt.into());
        }
        session.version = stored.version;
        Ok(session)
    }

    /// The stored session with this id.
    pub(crate) async fn load(&self, session_id: &str) -> Result<Option<Session>, SessionError> {
        match self.store.load(session_id).await? {
            Some(stored) => self.open(session_id, stored).map(Some),
            None => Ok(None),
        }
    }

    /// Stores a new session; returns it with its version.
    pub(crate) async fn create(
        &self,
        session: &Session,
        ttl: Duration,
    ) -> Result<Session, SessionError> {
        let sealed = self.seal(session)?;
        let version = self
            .store
            .create(
                &session.id,
                &session.user.id,
                &sealed,
                ttl.min(MAX_STORE_TTL),
            )
            .await?;
        Ok(Session {
            version,
            ..session.clone()
        })
    }

    /// Writes `session` if the store still holds the version it carries.
    pub(crate) async fn replace(
        &self,
        session: &Session,
        ttl: Duration,
    ) -> Result<Replaced, SessionError> {
        let sealed = self.seal(session)?;
        let written = self
            .store
            .replace(
                &session.id,
                &session.user.id,
                session.version,
                &sealed,
                ttl.min(MAX_STORE_TTL),
            )
            .await?;
        if let Some(version) = written {
            return Ok(Replaced::Written(Session {
                version,
                ..session.clone()
            }));
        }
        Ok(match self.load(&session.id).await? {
            Some(stored) => Replaced::Changed(stored),
            None => Replaced::Removed,
        })
    }

    /// Deletes a session, whatever its version.
    pub(crate) async fn remove(&self, session: &Session) -> Result<(), SessionError> {
        Ok(self.store.remove(&session.id, &session.user.id).await?)
    }

    /// Ends `session` for `end`: removed from the store (a failure is
    /// logged; the record expires by itself).
    pub(crate) async fn end(&self, session: &Session, end: SessionEnd) -> SessionError {
        tracing::info!(user = ?session.user.id, reason = %end, "session ended");
        if let Err(err) = self.remove(session).await {
            tracing::warn!(error = %err, "could not remove an ended session");
        }
        SessionError::Ended(end)
    }
}

/// The default bound of one operation of a networked store, connecting
/// included.
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A fresh id for one conditional write (and its repetition after a lost
/// answer): 128 random bits, in hex (no separator of a list of ids, nothing
/// that looks like a token).
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) fn write_id() -> Result<String, StoreError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError::Unavailable)?;
    Ok(bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
        .map(char::from)
        .collect())
}

/// A TTL in milliseconds as a server-side store takes it: at least 1, at
/// most [`MAX_STORE_TTL`].
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.min(MAX_STORE_TTL).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
