//! The token caches of a validator: the verified-token cache (tokens whose
//! signature verified, admitted at their second use) and the trusted-token
//! cache (session access tokens), each fronted per thread
//! ([`crate::front`]).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::error::{Malformed, ValidationError};
use super::facts::{ClaimFacts, now_secs};
use crate::algorithm::Algorithm;
use crate::claims::AccessTokenClaims;
use crate::front::{self, Front};
use crate::jwk::VerifyingKey;

/// Default capacity of the verified-token cache of [`Scalekit`](crate::Scalekit) (entries).
pub const DEFAULT_VERIFIED_CACHE_CAPACITY: u64 = 10_000;
/// Default longest life of a verified-token cache entry (it never outlives
/// the token's `exp` either).
pub const DEFAULT_VERIFIED_CACHE_TTL: Duration = Duration::from_secs(300);

/// The claims of a verified access token, parsed once and shared: a
/// verified-token cache hit hands these out without any JSON work.
#[derive(Debug, Clone)]
pub struct VerifiedClaims {
    /// The claims as [`AccessTokenClaims`].
    pub claims: Arc<AccessTokenClaims>,
    /// The whole payload (JSON text, verified), for custom claims: read it
    /// with `serde_json::from_slice` only when needed.
    pub payload: Arc<[u8]>,
    /// The token itself, shared with the cache entry (no copy per request).
    pub token: Arc<str>,
}

/// A verified token, as remembered.
pub(super) struct CachedToken {
    /// The whole token: a hit compares it, not just its hash.
    pub(super) token: Arc<str>,
    pub(super) alg: Algorithm,
    pub(super) kid: Option<Box<str>>,
    /// The key that verified it (its identity in the key set).
    pub(super) key: Arc<VerifyingKey>,
    pub(super) facts: ClaimFacts,
    pub(super) payload: Arc<[u8]>,
    /// The payload as [`AccessTokenClaims`], parsed on first use.
    pub(super) claims: OnceLock<Result<Arc<AccessTokenClaims>, Malformed>>,
    /// When its time in the cache ends (Unix seconds; set when it is first
    /// remembered): the per-thread fronts stop serving it then too.
    pub(super) cached_until: AtomicI64,
    /// Whether it went into the shared cache (at its second use).
    pub(super) admitted: AtomicBool,
}

impl CachedToken {
    pub(super) fn access_claims(&self) -> Result<VerifiedClaims, ValidationError> {
        let claims = self
            .claims
            .get_or_init(|| {
                serde_json::from_slice::<AccessTokenClaims>(&self.payload)
                    .map(Arc::new)
                    .map_err(|_| Malformed::Claims)
            })
            .clone()?;
        Ok(VerifiedClaims {
            claims,
            payload: self.payload.clone(),
            token: self.token.clone(),
        })
    }
}

/// The verified-token cache: keyed by a seeded fast hash of the token
/// (collisions only cost a miss: a hit compares the whole token).
#[derive(Clone)]
pub(super) struct VerifiedCache {
    pub(super) entries: moka::sync::Cache<u64, Arc<CachedToken>, foldhash::fast::RandomState>,
    pub(super) hasher: foldhash::fast::RandomState,
    max_ttl: Duration,
    /// This cache's identity in the per-thread fronts (shared by clones,
    /// which share the entries).
    pub(super) id: u64,
    /// The admission's doorkeeper: the hashes of tokens verified once
    /// lately, direct-mapped (a slot holds the last one). A token verified
    /// again while its hash is still here goes into the shared cache.
    seen: Arc<[AtomicU64]>,
}

/// Slots of the doorkeeper per entry of capacity (a power of two, between
/// the bounds below): 8 bytes each.
const SEEN_PER_ENTRY: u64 = 2;
const SEEN_MIN: u64 = 1 << 10;
const SEEN_MAX: u64 = 1 << 18;

thread_local! {
    /// Each thread's front of the verified-token caches (see
    /// [`crate::front`]): it only ever holds tokens whose signature
    /// verified, and a hit runs every check a shared-cache hit runs
    /// (algorithm, signing key still in the key set, every claim).
    pub(super) static TOKEN_FRONT: std::cell::RefCell<Front<CachedToken>> = std::cell::RefCell::default();
    /// Each thread's front of the trusted-token caches.
    static TRUSTED_FRONT: std::cell::RefCell<Front<TrustedToken>> = std::cell::RefCell::default();
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

/// Each entry lives until its own deadline, counted from its first
/// verification (`cached_until`), not from its admission at a later use.
struct UntilDeadline;

impl moka::Expiry<u64, Arc<CachedToken>> for UntilDeadline {
    fn expire_after_create(
        &self,
        _key: &u64,
        value: &Arc<CachedToken>,
        created_at: Instant,
    ) -> Option<Duration> {
        let _ = created_at;
        let left = value
            .cached_until
            .load(Ordering::Relaxed)
            .saturating_sub(now_secs());
        Some(Duration::from_secs(u64::try_from(left).unwrap_or(0)))
    }
}

impl VerifiedCache {
    pub(super) fn new(capacity: u64, max_ttl: Duration) -> Self {
        VerifiedCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilDeadline)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            hasher: foldhash::fast::RandomState::default(),
            max_ttl,
            id: front::new_owner(),
            seen: (0..capacity
                .saturating_mul(SEEN_PER_ENTRY)
                .clamp(SEEN_MIN, SEEN_MAX)
                .next_power_of_two())
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// The entry of `token` (hashed `hash`): from this thread's front, else
    /// from the shared cache (and then put in the front).
    pub(super) fn get(&self, hash: u64, token: &str, now: i64) -> Option<Arc<CachedToken>> {
        let (entry, from_front) = front::lookup(
            &TOKEN_FRONT,
            &self.entries,
            (self.id, hash, now),
            |e| *e.token == *token,
            |e| e.cached_until.load(Ordering::Relaxed),
        )?;
        if from_front {
            // At least its second use: into the shared cache.
            self.admit(hash, &entry);
        }
        Some(entry)
    }

    /// Forgets the entry of `hash` (its signing key left the key set).
    pub(super) fn invalidate(&self, hash: u64) {
        front::with(&TOKEN_FRONT, |f| f.remove(self.id, hash));
        self.entries.invalidate(&hash);
    }

    /// Remembers a token that just verified, for at most the maximum and
    /// never past its `exp` plus `leeway` (after which every call would
    /// refuse it anyway): in this thread's front, and in the shared cache
    /// when the doorkeeper saw it verified before (a second use on another
    /// thread). A token used once never reaches the shared cache, whose
    /// insertions and evictions cost more than the lookup they save.
    pub(super) fn remember(&self, hash: u64, entry: &Arc<CachedToken>, leeway: Duration) {
        let lifetime = entry.facts.lifetime_within(self.max_ttl, leeway);
        if lifetime == 0 {
            return;
        }
        entry.facts.lifetime.store(lifetime, Ordering::Relaxed);
        entry.cached_until.store(
            now_secs().saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
            Ordering::Relaxed,
        );
        let mask = self.seen.len().saturating_sub(1) as u64;
        let seen_before = self
            .seen
            .get(usize::try_from(hash & mask).unwrap_or(0))
            .is_some_and(|slot| slot.swap(hash, Ordering::Relaxed) == hash);
        if seen_before {
            self.admit(hash, entry);
        }
        self.put_in_front(hash, entry);
    }

    fn put_in_front(&self, hash: u64, entry: &Arc<CachedToken>) {
        let until = entry.cached_until.load(Ordering::Relaxed);
        front::with(&TOKEN_FRONT, |f| f.put(self.id, hash, until, entry.clone()));
    }

    /// Puts `entry` in the shared cache (once; once it is there, a load
    /// of the flag and nothing else).
    pub(super) fn admit(&self, hash: u64, entry: &Arc<CachedToken>) {
        if !entry.admitted.load(Ordering::Relaxed) && !entry.admitted.swap(true, Ordering::Relaxed)
        {
            self.entries.insert(hash, entry.clone());
        }
    }
}

/// A trusted token's claims (see
/// [`TokenValidator::trusted_access_claims`](super::TokenValidator::trusted_access_claims)).
pub(super) struct TrustedToken {
    pub(super) token: Arc<str>,
    pub(super) facts: ClaimFacts,
    pub(super) claims: Arc<AccessTokenClaims>,
    pub(super) payload: Arc<[u8]>,
    /// When its time in the cache ends (Unix seconds).
    pub(super) until: i64,
}

impl TrustedToken {
    pub(super) fn access_claims(&self) -> Result<VerifiedClaims, ValidationError> {
        Ok(VerifiedClaims {
            claims: self.claims.clone(),
            payload: self.payload.clone(),
            token: self.token.clone(),
        })
    }
}

impl moka::Expiry<u64, Arc<TrustedToken>> for UntilDeadline {
    fn expire_after_create(
        &self,
        _key: &u64,
        value: &Arc<TrustedToken>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(
            value.facts.lifetime.load(Ordering::Relaxed),
        ))
    }
}

/// Capacity of the trusted-token cache (session access tokens), entries.
const TRUSTED_CACHE_CAPACITY: u64 = 10_000;

/// The claims of trusted tokens (session access tokens), parsed once.
#[derive(Clone)]
pub(super) struct TrustedCache {
    pub(super) entries: moka::sync::Cache<u64, Arc<TrustedToken>, foldhash::fast::RandomState>,
    pub(super) hasher: foldhash::fast::RandomState,
    /// This cache's identity in the per-thread fronts.
    id: u64,
}

impl std::fmt::Debug for TrustedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedCache").finish_non_exhaustive()
    }
}

impl TrustedCache {
    pub(super) fn new() -> Self {
        TrustedCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(TRUSTED_CACHE_CAPACITY)
                .expire_after(UntilDeadline)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            hasher: foldhash::fast::RandomState::default(),
            id: front::new_owner(),
        }
    }

    /// The entry of `token` (hashed `hash`): from this thread's front, else
    /// from the shared cache (and then put in the front).
    pub(super) fn get(&self, hash: u64, token: &str, now: i64) -> Option<Arc<TrustedToken>> {
        front::lookup(
            &TRUSTED_FRONT,
            &self.entries,
            (self.id, hash, now),
            |e| *e.token == *token,
            |e| e.until,
        )
        .map(|(entry, _)| entry)
    }

    pub(super) fn put_in_front(&self, hash: u64, entry: &Arc<TrustedToken>) {
        front::with(&TRUSTED_FRONT, |f| {
            f.put(self.id, hash, entry.until, entry.clone())
        });
    }
}

/// What the token caches hash: the last 64 bytes of a token, its
/// signature's (unique per token as far as anyone without the key can
/// tell), not the whole kilobyte. A hit still compares the whole token;
/// tokens made to share a signature's end only miss.
pub(crate) fn cache_key(token: &str) -> &[u8] {
    let bytes = token.as_bytes();
    &bytes[bytes.len().saturating_sub(64)..]
}
