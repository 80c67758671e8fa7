//! An in-memory session store: bounded, with a TTL; for a single instance.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::store::{
    BoxFuture, MAX_STORE_TTL, SessionMode, SessionStore, StoreError, StoredSession,
};

#[derive(Clone)]
struct Entry {
    user_id: String,
    stored: StoredSession,
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Entry>,
    /// (expiry, id) of every session: eviction and expiry in order.
    by_expiry: BTreeSet<(Instant, String)>,
}

impl Inner {
    fn take(&mut self, id: &str) -> Option<Entry> {
        let entry = self.sessions.remove(id)?;
        self.by_expiry.remove(&(entry.expires, id.to_owned()));
        Some(entry)
    }

    fn put(&mut self, id: &str, entry: Entry) {
        self.take(id);
        self.by_expiry.insert((entry.expires, id.to_owned()));
        self.sessions.insert(id.to_owned(), entry);
    }

    /// Drops expired sessions, then the ones closest to expiry until there
    /// is room for one more within `capacity`.
    fn evict(&mut self, now: Instant, capacity: usize) {
        while let Some((expires, id)) = self.by_expiry.first().cloned() {
            if expires > now && self.sessions.len() < capacity {
                break;
            }
            self.take(&id);
        }
    }

    fn live(&mut self, id: &str, now: Instant) -> Option<&Entry> {
        if self.sessions.get(id).is_some_and(|e| now >= e.expires) {
            self.take(id);
        }
        self.sessions.get(id)
    }
}

/// Sessions in this process's memory, sealed like the cookies: at most
/// `capacity`, each kept for its TTL (the ones closest to expiry go first
/// when it is full). The cookie carries only the session id. Writes are
/// serialized by a lock, which makes the conditional writes atomic.
///
/// ```
/// use std::time::Duration;
/// use scalekit_core::session::MemoryStore;
///
/// let store = MemoryStore::new(100_000, Duration::from_secs(7 * 24 * 3600));
/// # let _ = store;
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
    max_ttl: Duration,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.lock().sessions.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl MemoryStore {
    /// A store of at most `capacity` sessions, none kept longer than
    /// `max_ttl`.
    pub fn new(capacity: u64, max_ttl: Duration) -> Self {
        MemoryStore {
            inner: Arc::default(),
            capacity: usize::try_from(capacity).unwrap_or(usize::MAX).max(1),
            max_ttl: max_ttl.min(MAX_STORE_TTL),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expiry(&self, now: Instant, ttl: Duration) -> Instant {
        let ttl = ttl.min(self.max_ttl);
        now.checked_add(ttl).unwrap_or(now)
    }
}

impl SessionStore for MemoryStore {
    fn mode(&self) -> SessionMode {
        SessionMode::ServerSide
    }

    fn create<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
        sealed: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let now = Instant::now();
            let mut inner = self.lock();
            inner.take(session_id);
            inner.evict(now, self.capacity);
            let entry = Entry {
                user_id: user_id.to_owned(),
                stored: StoredSession {
                    sealed: sealed.to_vec(),
                    version: 1,
                },
                expires: self.expiry(now, ttl),
            };
            inner.put(session_id, entry);
            Ok(1)
        })
    }

    fn replace<'a>(
        &'a self,
        session_id: &'a str,
        user_id: &'a str,
        expected: u64,
        sealed: &'a [u8],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, StoreError>> {
        Box::pin(async move {
            let now = Instant::now();
            let mut inner = self.lock();
            let Some(current) = inner.live(session_id, now) else {
                return Ok(None);
            };
            if current.stored.version != expected {
                return Ok(None);
            }
            let version = expected.saturating_add(1);
            let entry = Entry {
                user_id: user_id.to_owned(),
                stored: StoredSession {
                    sealed: sealed.to_vec(),
                    version,
                },
                expires: self.expiry(now, ttl),
            };
            inner.put(session_id, entry);
            Ok(Some(version))
        })
    }

    fn load<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let mut inner = self.lock();
            Ok(inner
                .live(session_id, Instant::now())
                .map(|e| e.stored.clone()))
        })
    }

    fn remove<'a>(
        &'a self,
        session_id: &'a str,
        _user_id: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.lock().take(session_id);
            Ok(())
        })
    }

    fn remove_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let now = Instant::now();
            let mut inner = self.lock();
            let ids: Vec<String> = inner
                .sessions
                .iter()
                .filter(|(_, e)| e.user_id == user_id)
                .map(|(id, _)| id.clone())
                .collect();
            let mut live = 0;
            for id in &ids {
                if inner.take(id).is_some_and(|e| e.expires > now) {
                    live += 1;
                }
            }
            Ok(live)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conditional_writes_and_capacity() {
        let store = MemoryStore::new(2, Duration::from_secs(60));
        let ttl = Duration::from_secs(30);
        assert_eq!(store.create("a", "u", b"1", ttl).await, Ok(1));
        assert_eq!(store.replace("a", "u", 1, b"2", ttl).await, Ok(Some(2)));
        // A writer that read version 1 is refused.
        assert_eq!(store.replace("a", "u", 1, b"3", ttl).await, Ok(None));
        assert_eq!(store.load("a").await.unwrap().unwrap().sealed, b"2");
        store.remove("a", "u").await.unwrap();
        assert_eq!(store.replace("a", "u", 2, b"4", ttl).await, Ok(None));
        assert_eq!(store.load("a").await, Ok(None));
        // Full: the session closest to expiry goes first.
        store
            .create("b", "u", b"b", Duration::from_secs(5))
            .await
            .unwrap();
        store.create("c", "u", b"c", ttl).await.unwrap();
        store.create("d", "v", b"d", ttl).await.unwrap();
        assert_eq!(store.load("b").await, Ok(None));
        assert_eq!(store.remove_user("u").await, Ok(1));
        assert!(store.load("d").await.unwrap().is_some());
        // Huge TTLs do not overflow.
        let huge = MemoryStore::new(1, Duration::MAX);
        huge.create("x", "u", b"x", Duration::MAX).await.unwrap();
        assert!(huge.load("x").await.unwrap().is_some());
    }
}
