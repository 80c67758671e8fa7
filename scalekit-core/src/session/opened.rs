//! The opened-cookie cache of the [`SessionManager`](super::SessionManager):
//! cookie-only sessions whose sealed cookie opened recently, shared and
//! fronted per thread ([`crate::front`]).

use std::sync::Arc;
use std::time::Duration;

use super::{Session, SessionData};

/// Largest total size of the opened-cookie cache (sealed values and
/// sessions), in bytes.
const OPENED_COOKIES_BYTES: u64 = 16 * 1024 * 1024;

/// A session cookie that opened, and its session.
pub(super) struct OpenedCookie {
    /// The whole sealed value: a hit compares it, not just its hash.
    pub(super) sealed: Box<str>,
    pub(super) session: Arc<Session>,
    /// What this cookie was answered with when its session was last
    /// written (touched or refreshed): the session and its new cookies. A
    /// client that sends this cookie again (it ignored the `Set-Cookie`, or
    /// its requests overlapped) gets the same answer instead of a new seal
    /// per request.
    pub(super) replaced_by: std::sync::OnceLock<Replacement>,
    /// When its time in the cache ends (Unix seconds): the per-thread
    /// fronts stop serving it then too.
    pub(super) until: i64,
}

thread_local! {
    /// Each thread's front of the opened-cookie caches (see
    /// [`crate::front`]).
    pub(super) static OPENED_FRONT: std::cell::RefCell<crate::front::Front<OpenedCookie>> =
        std::cell::RefCell::default();
}

/// See [`OpenedCookie::replaced_by`].
pub(super) struct Replacement {
    pub(super) session: Arc<Session>,
    pub(super) set_cookies: Vec<String>,
}

/// Session cookies that opened recently (cookie-only sessions): a request
/// that sends the same sealed value again skips base64, AES-GCM and JSON.
/// Opening is a pure function of the sealed value and the codec's keys,
/// which never change in a process, so a hit answers exactly what opening
/// would; only cookies that opened are remembered (a forged one never is),
/// each for at most the touch interval (after which its session is written
/// again under a new sealed value anyway), within a byte budget, plus each
/// thread's front of the last 64 it used ([`crate::front`]), which skips the
/// shared cache's bookkeeping.
#[derive(Clone)]
pub(super) struct OpenedCookies {
    pub(super) entries: moka::sync::Cache<u64, Arc<OpenedCookie>, foldhash::fast::RandomState>,
    pub(super) hasher: foldhash::fast::RandomState,
    /// How long an entry is kept, in seconds.
    pub(super) ttl: i64,
    /// This cache's identity in the per-thread fronts.
    pub(super) id: u64,
}

impl OpenedCookies {
    pub(super) fn new(ttl: Duration) -> Self {
        let ttl = ttl.max(Duration::from_secs(1));
        OpenedCookies {
            entries: moka::sync::Cache::builder()
                .max_capacity(OPENED_COOKIES_BYTES)
                .weigher(|_, cookie: &Arc<OpenedCookie>| {
                    let s = &cookie.session;
                    let bytes = cookie.sealed.len()
                        + s.data.as_ref().map_or(0, SessionData::len)
                        + s.access_token.len()
                        + s.id_token.as_ref().map_or(0, String::len)
                        + s.refresh_token.as_ref().map_or(0, String::len)
                        + 512;
                    // Twice: the entry may come to remember its replacement.
                    u32::try_from(bytes.saturating_mul(2)).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            hasher: foldhash::fast::RandomState::default(),
            ttl: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
            id: crate::front::new_owner(),
        }
    }
}
