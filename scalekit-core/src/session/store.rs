//! The `SessionStore` trait and the cookie-only store.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::Session;

/// A boxed, sendable future (the trait is object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a session store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached (Redis down, connection lost).
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
}

/// Where sessions live. The cookie always carries what [`save`] returns,
/// sealed: the whole session for the cookie-only store, only its id for
/// server-side stores.
///
/// [`save`]: SessionStore::save
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Whether sessions live on the server (the cookie holds only an id), so
    /// that every instance sharing the store sees a refresh at once.
    fn is_server_side(&self) -> bool;

    /// Stores `session` for `ttl`; returns the bytes the cookie carries.
    fn save<'a>(
        &'a self,
        session: &'a Session,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<u8>, StoreError>>;

    /// The session a cookie refers to, if it still exists. The default
    /// reads the cookie as a session id (what server-side stores save).
    fn load<'a>(&'a self, cookie: &'a [u8]) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(async move {
            let id = std::str::from_utf8(cookie).map_err(|_| StoreError::Corrupt)?;
            self.load_by_id(id).await
        })
    }

    /// The session with this id, if the store keeps sessions by id.
    fn load_by_id<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Session>, StoreError>>;

    /// Deletes a session.
    fn remove<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Deletes every session of a user ("sign out everywhere"); returns how
    /// many there were.
    fn remove_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Takes the refresh lock of a session across every instance sharing the
    /// store, for at most `ttl`. `Ok(None)`: another holder has it.
    /// Stores without cross-instance state grant it at once.
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
/// with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CookieStore;

impl SessionStore for CookieStore {
    fn is_server_side(&self) -> bool {
        false
    }

    fn save<'a>(
        &'a self,
        session: &'a Session,
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<u8>, StoreError>> {
        Box::pin(async move { serde_json::to_vec(session).map_err(|_| StoreError::Corrupt) })
    }

    fn load<'a>(&'a self, cookie: &'a [u8]) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(async move {
            serde_json::from_slice(cookie)
                .map(Some)
                .map_err(|_| StoreError::Corrupt)
        })
    }

    fn load_by_id<'a>(
        &'a self,
        _id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    fn remove<'a>(&'a self, _session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn remove_user<'a>(&'a self, _user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async { Err(StoreError::Unsupported) })
    }
}
