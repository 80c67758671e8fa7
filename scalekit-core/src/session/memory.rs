//! An in-memory session store: bounded, with a TTL; for a single instance.

use std::time::{Duration, Instant};

use super::Session;
use super::store::{BoxFuture, SessionStore, StoreError};

#[derive(Clone)]
struct Entry {
    session: Session,
    expires: Instant,
}

/// Sessions in this process's memory: at most `capacity`, each kept for its
/// TTL. The cookie carries only the session id.
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
    sessions: moka::sync::Cache<String, Entry>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.sessions.entry_count())
            .finish()
    }
}

impl MemoryStore {
    /// A store of at most `capacity` sessions, none kept longer than
    /// `max_ttl`.
    pub fn new(capacity: u64, max_ttl: Duration) -> Self {
        MemoryStore {
            sessions: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(max_ttl)
                .build(),
        }
    }

    fn get(&self, id: &str) -> Option<Session> {
        let entry = self.sessions.get(id)?;
        if Instant::now() >= entry.expires {
            self.sessions.invalidate(id);
            return None;
        }
        Some(entry.session)
    }
}

impl SessionStore for MemoryStore {
    fn is_server_side(&self) -> bool {
        true
    }

    fn save<'a>(
        &'a self,
        session: &'a Session,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<u8>, StoreError>> {
        Box::pin(async move {
            self.sessions.insert(
                session.id.clone(),
                Entry {
                    session: session.clone(),
                    expires: Instant::now() + ttl,
                },
            );
            Ok(session.id.clone().into_bytes())
        })
    }

    fn load_by_id<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(async move { Ok(self.get(id)) })
    }

    fn remove<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions.invalidate(&session.id);
            Ok(())
        })
    }

    fn remove_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let ids: Vec<String> = self
                .sessions
                .iter()
                .filter(|(_, e)| e.session.user.id == user_id)
                .map(|(id, _)| (*id).clone())
                .collect();
            for id in &ids {
                self.sessions.invalidate(id);
            }
            Ok(ids.len() as u64)
        })
    }
}
