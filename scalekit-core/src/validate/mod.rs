//! Token validation: a compact JWT in, typed claims or a typed error out.
//!
//! The order of checks is fixed: size, structure, header (`alg` on the
//! allow-list, no unknown `crit`), key lookup, signature, and only then the
//! payload is parsed and its claims (`exp`, `nbf`, `iss`, `aud`) checked.

mod cache;
mod error;
mod facts;
mod jws;
mod keys;
mod options;
pub(crate) mod telemetry;

use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;

use cache::{CachedToken, TOKEN_FRONT, TrustedCache, TrustedToken, VerifiedCache};
use facts::{ClaimFacts, now_secs};
use jws::{b64, truncate};

use crate::algorithm::Algorithm;
use crate::claims::AccessTokenClaims;
use crate::front;
use crate::jwk::VerifyingKey;

pub(crate) use cache::cache_key;
pub use cache::{DEFAULT_VERIFIED_CACHE_CAPACITY, DEFAULT_VERIFIED_CACHE_TTL, VerifiedClaims};
pub use error::{Malformed, ValidationError};
pub use jws::{DecodedJws, verify_jws};
pub use keys::KeySource;
pub use options::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, TokenPurpose, ValidationOptions};

/// Validates tokens against a key source and default options.
///
/// With the verified-token cache on ([`TokenValidator::with_verified_cache`];
/// [`Scalekit`](crate::Scalekit) turns it on by default), a token seen again
/// costs a hash, a lookup and a comparison of the whole token, not a
/// signature check; the algorithm allow-list, `exp`, `nbf`, issuer,
/// audience and token kind are still checked on every call, from claims
/// extracted once, and an entry is used only while the key that signed it
/// is still in the key set.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use scalekit_core::{AccessTokenClaims, JwksCache, TokenValidator, ValidationOptions};
///
/// let env = "https://acme.scalekit.dev";
/// let keys = JwksCache::new(format!("{env}/keys"))?;
/// let validator = TokenValidator::new(keys, ValidationOptions::new(env));
/// let claims: AccessTokenClaims = validator.validate("eyJ…").await?;
/// println!("{:?}", claims.sub);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TokenValidator {
    keys: KeySource,
    options: ValidationOptions,
    verified: Option<VerifiedCache>,
    /// Tokens that need no signature check (see
    /// [`TokenValidator::trusted_access_claims`]); never consulted for
    /// tokens from requests.
    trusted: TrustedCache,
    signature_checks: crate::util::TestCounter,
}

impl TokenValidator {
    /// A validator over `keys` with default `options`, without a
    /// verified-token cache (see [`TokenValidator::with_verified_cache`]).
    pub fn new(keys: impl Into<KeySource>, options: ValidationOptions) -> Self {
        TokenValidator {
            keys: keys.into(),
            options,
            verified: None,
            trusted: TrustedCache::new(),
            signature_checks: crate::util::TestCounter::default(),
        }
    }

    /// Remembers tokens whose signature verified (at most `capacity`, each
    /// for at most `max_ttl` and never past its `exp` plus the leeway), so
    /// that a token seen again skips the signature check. Everything else —
    /// the algorithm allow-list, `exp`, `nbf`, issuer, audience, token kind
    /// — is checked on every call, and an entry is unusable as soon as the
    /// key that signed it has left the key set. Only tokens whose signature
    /// verified are remembered. A token seen once waits in the calling
    /// thread's small front of the cache; its second use admits it to the
    /// shared cache, which admits new entries by frequency (TinyLFU), so a
    /// flood of distinct tokens, each used once, costs the shared cache
    /// nothing and cannot flush out the ones in use.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scalekit_core::{KeySet, TokenValidator, ValidationOptions};
    ///
    /// let validator = TokenValidator::new(KeySet::default(), ValidationOptions::new("https://acme.scalekit.dev"))
    ///     .with_verified_cache(10_000, Duration::from_secs(300));
    /// assert!(validator.has_verified_cache());
    /// assert!(!validator.without_verified_cache().has_verified_cache());
    /// ```
    pub fn with_verified_cache(mut self, capacity: u64, max_ttl: Duration) -> Self {
        self.verified = Some(VerifiedCache::new(capacity, max_ttl));
        self
    }

    /// Turns the verified-token cache off: every call checks the signature.
    pub fn without_verified_cache(mut self) -> Self {
        self.verified = None;
        self
    }

    /// Whether the verified-token cache is on.
    pub fn has_verified_cache(&self) -> bool {
        self.verified.is_some()
    }

    /// Number of entries in the shared verified-token cache (0 when it is
    /// off), after pending evictions have been applied: the tokens used at
    /// least twice (see [`TokenValidator::with_verified_cache`]). Feature
    /// `test-util`.
    #[cfg(feature = "test-util")]
    pub fn verified_cache_entries(&self) -> u64 {
        self.verified.as_ref().map_or(0, |cache| {
            cache.entries.run_pending_tasks();
            cache.entries.entry_count()
        })
    }

    /// Number of signature checks made so far by this validator and its
    /// clones (a verified-token cache hit makes none). Feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks.get()
    }

    /// The same validator (keys, cache) with other default options.
    pub fn with_options(mut self, options: ValidationOptions) -> Self {
        self.options = options;
        self
    }

    /// The default options.
    pub fn options(&self) -> &ValidationOptions {
        &self.options
    }

    /// The key source.
    pub fn keys(&self) -> &KeySource {
        &self.keys
    }

    /// Validates `token` with the default options and deserializes its
    /// claims into `C`.
    pub async fn validate<C: DeserializeOwned>(&self, token: &str) -> Result<C, ValidationError> {
        self.validate_with(token, &self.options).await
    }

    /// Validates `token` with `options` and deserializes its claims into `C`.
    pub async fn validate_with<C: DeserializeOwned>(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<C, ValidationError> {
        let result = self.validate_into(token, options).await;
        telemetry::token_validation(result.as_ref().map(|_| ()));
        result
    }

    async fn validate_into<C: DeserializeOwned>(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<C, ValidationError> {
        let payload = match self.cached(token, options) {
            Some(hit) => hit?.payload.clone(),
            // No cache: straight from the verified payload into `C`.
            None if self.verified.is_none() => {
                let fresh = self.verify_fresh(token, options).await?;
                return serde_json::from_slice(&fresh.payload)
                    .map_err(|_| Malformed::Claims.into());
            }
            None => self
                .verify_and_remember(token, options, false)
                .await?
                .payload
                .clone(),
        };
        serde_json::from_slice(&payload).map_err(|_| Malformed::Claims.into())
    }

    /// Validates an access token with the default options and returns its
    /// claims, shared: on a verified-token cache hit, without any JSON work.
    pub async fn validate_access(&self, token: &str) -> Result<VerifiedClaims, ValidationError> {
        self.validate_access_with(token, &self.options).await
    }

    /// Validates an access token with `options` and returns its claims,
    /// shared (see [`TokenValidator::validate_access`]).
    pub async fn validate_access_with(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<VerifiedClaims, ValidationError> {
        match self.cached_access(token, options) {
            Some(hit) => hit,
            None => self.verify_access_uncached(token, options).await,
        }
    }

    /// A verified-token cache hit for an access token under `options`,
    /// decided without waiting: the claims, or why the cached token is
    /// refused now; `None` on a miss (or without the cache), for
    /// [`TokenValidator::verify_access_uncached`].
    pub(crate) fn cached_access(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Option<Result<VerifiedClaims, ValidationError>> {
        let result = self
            .cached(token, options)?
            .and_then(|entry| entry.access_claims());
        telemetry::token_validation(result.as_ref().map(|_| ()));
        Some(result)
    }

    /// [`TokenValidator::cached_access`] for a value that `make` builds
    /// from the claims (the web layer's bearer caller): built once per
    /// thread and cached token, and kept in the thread's front of the
    /// cache with the token, so that a hit clones the thread's own `Arc`
    /// and shares no reference count with other threads' hits. Every check
    /// of a hit runs on every call.
    pub(crate) fn cached_access_local<T: std::any::Any + Send + Sync>(
        &self,
        token: &str,
        options: &ValidationOptions,
        make: impl Fn(VerifiedClaims) -> T,
    ) -> Option<Result<Arc<T>, ValidationError>> {
        let cache = self.verified.as_ref()?;
        if token.len() > options.max_token_bytes {
            return None;
        }
        let hash = cache.hasher.hash_one(cache_key(token));
        let now = now_secs();
        let visited = front::visit(
            &TOKEN_FRONT,
            &cache.entries,
            (cache.id, hash, now),
            |e| *e.token == *token,
            |entry, local| {
                // A front hit is at least its second use: into the shared
                // cache.
                cache.admit(hash, entry);
                match self.recheck(entry, options, now) {
                    Recheck::Stale => None,
                    Recheck::Refused(err) => Some(Err(err)),
                    Recheck::Valid => Some(local_value(entry, local, &make)),
                }
            },
        );
        let result = match visited {
            Some(Some(result)) => result,
            Some(None) => {
                // The signing key left the key set: verify again.
                cache.invalidate(hash);
                telemetry::verified_cache_lookup(false);
                return None;
            }
            // Not in this thread's front: from the shared cache, if there.
            None => {
                return self
                    .cached_access(token, options)
                    .map(|found| found.map(|claims| Arc::new(make(claims))));
            }
        };
        telemetry::verified_cache_lookup(true);
        telemetry::token_validation(result.as_ref().map(|_| ()));
        Some(result)
    }

    /// The rest of [`TokenValidator::validate_access`] after
    /// [`TokenValidator::cached_access`] missed: the full check, and the
    /// token remembered.
    pub(crate) async fn verify_access_uncached(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<VerifiedClaims, ValidationError> {
        // Boxed: the miss (a key fetch, a signature check) is the rare and
        // slow path; the future of a hit stays small, and so do the futures
        // of the web layers that await it.
        let result = Box::pin(self.verify_and_remember(token, options, true))
            .await
            .and_then(|entry| entry.access_claims());
        telemetry::token_validation(result.as_ref().map(|_| ()));
        result
    }

    /// The claims of an access token that this application verified itself
    /// earlier and kept where nobody else can change it: the access token
    /// of a sealed session (cookie or sealed server-side record), verified
    /// by [`TokenValidator::validate`] when the platform issued it, at login
    /// and at each refresh. Every claim check of the default options still
    /// runs on every call (`exp`, `nbf`, issuer, audience, kind); the
    /// signature is not checked again, and the payload is parsed once per
    /// token and process (an in-process cache bounded by the token's `exp`).
    ///
    /// Never call this with a token from a request: a forged token would
    /// pass. The cache is separate from the verified-token cache, so a
    /// token read here never makes a bearer token valid.
    pub(crate) fn trusted_access_claims(
        &self,
        token: &str,
    ) -> Result<VerifiedClaims, ValidationError> {
        let options = &self.options;
        let hash = self.trusted.hasher.hash_one(cache_key(token));
        let now = now_secs();
        if let Some(entry) = self.trusted.get(hash, token, now) {
            entry.facts.check(options, now)?;
            return entry.access_claims();
        }
        let payload = token
            .split('.')
            .nth(1)
            .ok_or(Malformed::NotCompact)
            .and_then(b64)?;
        let facts = ClaimFacts::parse(&payload)?;
        facts.check(options, now)?;
        let claims = serde_json::from_slice::<AccessTokenClaims>(&payload)
            .map(Arc::new)
            .map_err(|_| Malformed::Claims)?;
        let verified = VerifiedClaims {
            claims,
            payload: payload.into(),
            token: token.into(),
        };
        self.trust(hash, facts, &verified, now);
        Ok(verified)
    }

    /// Verifies an access token the platform has just issued to this
    /// application (at a login, at a refresh) in full, and keeps its claims
    /// for [`TokenValidator::trusted_access_claims`], so that the session it
    /// goes into is served without parsing the token again.
    pub(crate) async fn verify_issued_access(
        &self,
        token: &str,
    ) -> Result<Arc<AccessTokenClaims>, ValidationError> {
        let fresh = Box::pin(self.verify_fresh(token, &self.options)).await?;
        let claims = serde_json::from_slice::<AccessTokenClaims>(&fresh.payload)
            .map(Arc::new)
            .map_err(|_| Malformed::Claims)?;
        let verified = VerifiedClaims {
            claims: claims.clone(),
            payload: fresh.payload.into(),
            token: token.into(),
        };
        let hash = self.trusted.hasher.hash_one(cache_key(token));
        self.trust(hash, fresh.facts, &verified, now_secs());
        Ok(claims)
    }

    /// Keeps `verified` (whose claim `facts` are given) in the trusted
    /// cache for as long as it may be used.
    fn trust(&self, hash: u64, facts: ClaimFacts, verified: &VerifiedClaims, now: i64) {
        let lifetime = facts.lifetime_within(DEFAULT_VERIFIED_CACHE_TTL, self.options.leeway);
        if lifetime > 0 {
            facts.lifetime.store(lifetime, Ordering::Relaxed);
            let entry = Arc::new(TrustedToken {
                token: verified.token.clone(),
                facts,
                claims: verified.claims.clone(),
                payload: verified.payload.clone(),
                until: now.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
            });
            self.trusted.put_in_front(hash, &entry);
            self.trusted.entries.insert(hash, entry);
        }
    }

    /// A cache hit: `None` on a miss, else the entry or why the token is
    /// refused under `options`.
    fn cached(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Option<Result<Arc<CachedToken>, ValidationError>> {
        let cache = self.verified.as_ref()?;
        let found = self.lookup_verified(cache, token, options);
        telemetry::verified_cache_lookup(found.is_some());
        found
    }

    fn lookup_verified(
        &self,
        cache: &VerifiedCache,
        token: &str,
        options: &ValidationOptions,
    ) -> Option<Result<Arc<CachedToken>, ValidationError>> {
        if token.len() > options.max_token_bytes {
            return None;
        }
        let hash = cache.hasher.hash_one(cache_key(token));
        let now = now_secs();
        let entry = cache.get(hash, token, now)?;
        match self.recheck(&entry, options, now) {
            Recheck::Valid => Some(Ok(entry)),
            Recheck::Refused(err) => Some(Err(err)),
            Recheck::Stale => {
                // The signing key left the key set (or the set was
                // refetched): verify again, from scratch.
                cache.invalidate(hash);
                None
            }
        }
    }

    /// The checks of a verified-token cache hit under `options` at `now`.
    fn recheck(&self, entry: &CachedToken, options: &ValidationOptions, now: i64) -> Recheck {
        if !options.algorithms.contains(entry.alg) {
            return Recheck::Refused(ValidationError::UnsupportedAlgorithm);
        }
        if !self.keys.holds(
            entry.facts.iss.as_deref(),
            entry.kid.as_deref(),
            entry.alg,
            &entry.key,
        ) {
            return Recheck::Stale;
        }
        match entry.facts.check(options, now) {
            Ok(()) => Recheck::Valid,
            Err(err) => {
                tracing::debug!(reason = %err, "token refused");
                Recheck::Refused(err)
            }
        }
    }

    /// Verifies `token` and remembers it in the verified-token cache.
    async fn verify_and_remember(
        &self,
        token: &str,
        options: &ValidationOptions,
        access: bool,
    ) -> Result<Arc<CachedToken>, ValidationError> {
        let fresh = self.verify_fresh(token, options).await?;
        let claims = OnceLock::new();
        if access {
            let parsed = serde_json::from_slice::<AccessTokenClaims>(&fresh.payload)
                .map(Arc::new)
                .map_err(|_| Malformed::Claims)?;
            let _ = claims.set(Ok(parsed));
        }
        let entry = Arc::new(CachedToken {
            token: token.into(),
            alg: fresh.alg,
            kid: fresh.kid,
            key: fresh.key,
            facts: fresh.facts,
            payload: fresh.payload.into(),
            claims,
            cached_until: AtomicI64::new(0),
            admitted: AtomicBool::new(false),
        });
        if let Some(cache) = &self.verified {
            cache.remember(
                cache.hasher.hash_one(cache_key(token)),
                &entry,
                options.leeway,
            );
        }
        Ok(entry)
    }

    /// The full path: structure, header, key, signature, claims.
    async fn verify_fresh(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<Fresh, ValidationError> {
        let jws = match DecodedJws::decode(token, options.algorithms, options.max_token_bytes) {
            Ok(jws) => jws,
            Err(err) => {
                tracing::debug!(reason = %err, "token refused");
                return Err(err);
            }
        };
        let kid = jws.kid().map(|k| truncate(k, 128).to_owned());
        let result = self.verify_and_check(jws, options).await;
        if let Err(err) = &result {
            // The reason and the key id, never the token.
            tracing::debug!(reason = %err, kid = ?kid, "token refused");
        }
        result
    }

    async fn verify_and_check(
        &self,
        jws: DecodedJws<'_>,
        options: &ValidationOptions,
    ) -> Result<Fresh, ValidationError> {
        // The claims are checked before the signature: a token that would
        // be refused anyway (expired, another audience or issuer, another
        // kind) costs no key lookup, no key fetch and no signature check.
        // Unverified claims can only refuse a token here, never accept it.
        let facts = ClaimFacts::parse(&jws.payload)?;
        facts.check(options, now_secs())?;
        let source = self.keys.resolve(&jws.payload)?;
        let alg = jws.algorithm();
        let kid = jws.kid.clone().map(String::into_boxed_str);
        let key = source.key(jws.kid(), alg).await?;
        self.signature_checks.add();
        let payload = jws.verify(&key)?;
        Ok(Fresh {
            alg,
            kid,
            key,
            facts,
            payload,
        })
    }
}

/// A token that just verified.
struct Fresh {
    alg: Algorithm,
    kid: Option<Box<str>>,
    key: Arc<VerifyingKey>,
    facts: ClaimFacts,
    payload: Vec<u8>,
}

/// What the checks of a verified-token cache hit make of it.
enum Recheck {
    Valid,
    Refused(ValidationError),
    /// Its signing key left the key set: the entry is dropped and the
    /// token verified again.
    Stale,
}

/// This thread's `T` made from `entry` (see
/// [`TokenValidator::cached_access_local`]): the one kept in the front's
/// `local`, else a new one, then kept there.
fn local_value<T: std::any::Any + Send + Sync>(
    entry: &CachedToken,
    local: &mut Option<front::Local>,
    make: impl Fn(VerifiedClaims) -> T,
) -> Result<Arc<T>, ValidationError> {
    if let Some(mine) = local.clone().and_then(|l| l.downcast::<T>().ok()) {
        return Ok(mine);
    }
    let made = Arc::new(make(entry.access_claims()?));
    *local = Some(made.clone());
    Ok(made)
}
