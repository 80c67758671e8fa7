//! A resilient cache of a remote JWKS (DESIGN.md, "JWKS policy").
//!
//! - Reads are lock-free: the current key set is an `ArcSwap` snapshot.
//! - Keys are parsed once per fetch into verification keys.
//! - Max age 10 min by default, shortened by `Cache-Control: max-age`; a
//!   background refresh starts once 80 % of it has passed, so warm keys are
//!   never fetched on the request path. Expired keys keep serving while the
//!   background refresh runs.
//! - An unknown `kid` triggers one refetch shared by every concurrent caller
//!   (single flight); it starts a cooldown (30 s) during which unknown kids
//!   fail fast. Routine fetches (start-up, max age) start no cooldown.
//! - A failed fetch keeps the last good keys (stale-while-error); a fetch has
//!   a timeout and a response size limit.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use metrics::{counter, histogram};

use crate::algorithm::Algorithm;
use crate::jwk::{JwksParseError, KeySet, VerifyingKey};

/// Tuning of a [`JwksCache`]. The defaults follow the project's JWKS policy.
///
/// ```
/// use std::time::Duration;
/// use scalekit_core::JwksOptions;
///
/// let options = JwksOptions::default()
///     .max_age(Duration::from_secs(300))
///     .cooldown(Duration::from_secs(10))
///     .fetch_timeout(Duration::from_secs(2));
/// assert_eq!(options.get_cooldown(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
pub struct JwksOptions {
    max_age: Duration,
    min_age: Duration,
    cooldown: Duration,
    fetch_timeout: Duration,
    max_response_bytes: usize,
    failure_backoff: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        JwksOptions {
            max_age: Duration::from_secs(600),
            min_age: Duration::from_secs(30),
            cooldown: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            max_response_bytes: 256 * 1024,
            failure_backoff: Duration::from_secs(2),
        }
    }
}

impl JwksOptions {
    /// Longest time a fetched key set is used before it is refreshed.
    pub fn max_age(mut self, d: Duration) -> Self {
        self.max_age = d;
        self
    }

    /// Shortest max age, whatever `Cache-Control` says (default 30 s).
    pub fn min_age(mut self, d: Duration) -> Self {
        self.min_age = d;
        self
    }

    /// After a refetch for an unknown `kid`, how long further unknown kids
    /// fail without a fetch.
    pub fn cooldown(mut self, d: Duration) -> Self {
        self.cooldown = d;
        self
    }

    /// The cooldown in force.
    pub fn get_cooldown(&self) -> Duration {
        self.cooldown
    }

    /// Timeout of one fetch, body included.
    pub fn fetch_timeout(mut self, d: Duration) -> Self {
        self.fetch_timeout = d;
        self
    }

    /// Largest accepted JWKS response, in bytes.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// After a failed fetch with nothing cached, how long callers get
    /// "keys unavailable" at once instead of starting another fetch; also the
    /// delay before a failed background refresh is retried.
    pub fn failure_backoff(mut self, d: Duration) -> Self {
        self.failure_backoff = d;
        self
    }
}

/// Why a JWKS fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksFetchError {
    /// The fetch did not complete within the timeout.
    #[error("JWKS fetch timed out")]
    Timeout,
    /// No connection could be made, or it broke.
    #[error("JWKS endpoint unreachable")]
    Connect,
    /// The endpoint answered with a non-success status.
    #[error("JWKS endpoint answered HTTP {0}")]
    Status(u16),
    /// The endpoint answered with a redirect (never followed).
    #[error("JWKS endpoint answered with a redirect (HTTP {0}), not followed")]
    Redirect(u16),
    /// The response is larger than the limit.
    #[error("JWKS response larger than the limit")]
    TooLarge,
    /// The response could not be parsed.
    #[error("invalid JWKS document: {0}")]
    Parse(#[from] JwksParseError),
}

/// Why a key could not be had from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyLookupError {
    /// The key set has no such key, even after a refetch (or during the
    /// cooldown).
    #[error("unknown key")]
    Unknown,
    /// No key set could be fetched and none is cached.
    #[error("keys unavailable")]
    Unavailable,
}

struct Snapshot {
    keys: Arc<KeySet>,
    refresh_at: Instant,
}

struct Inner {
    url: String,
    http: reqwest::Client,
    options: JwksOptions,
    current: ArcSwapOption<Snapshot>,
    /// Serializes fetches (single flight).
    fetch_lock: tokio::sync::Mutex<()>,
    /// Incremented by every completed fetch attempt, successful or not.
    attempts: AtomicU64,
    successes: AtomicU64,
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
    last_failure: Mutex<Option<Instant>>,
    /// Whether the latest fetch failed: a key that cannot be found then is
    /// unavailable (the platform may have rotated to it), not unknown.
    last_fetch_failed: std::sync::atomic::AtomicBool,
    background_running: AtomicBool,
}

/// A cached remote JWKS. Cheap to clone (clones share the cache).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use scalekit_core::{JwksCache, JwksOptions};
///
/// let cache = JwksCache::builder("https://acme.scalekit.dev/keys")
///     .options(JwksOptions::default())
///     .http_client(reqwest::Client::new())
///     .build()?;
/// let count = cache.refresh().await?; // optional warm-up at start-up
/// println!("{count} keys");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.inner.url)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// Builds a [`JwksCache`].
#[derive(Debug)]
pub struct JwksCacheBuilder {
    url: String,
    options: JwksOptions,
    http: Option<reqwest::Client>,
}

/// A JWKS cache that cannot be built: the URL, or the HTTP client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JwksBuildError(pub crate::config::ConfigError);

fn invalid(problem: crate::config::ConfigProblem) -> JwksBuildError {
    let setting = match problem {
        crate::config::ConfigProblem::HttpClient => "JWKS HTTP client",
        _ => "JWKS URL",
    };
    JwksBuildError(crate::config::ConfigError::new(setting, problem))
}

impl JwksCacheBuilder {
    /// Replaces the default options.
    pub fn options(mut self, options: JwksOptions) -> Self {
        self.options = options;
        self
    }

    /// Uses this HTTP client (its own timeouts, proxies, TLS roots).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Builds the cache. Nothing is fetched until the first lookup or an
    /// explicit [`JwksCache::refresh`].
    pub fn build(self) -> Result<JwksCache, JwksBuildError> {
        use crate::config::ConfigProblem;
        let parsed = url::Url::parse(&self.url).map_err(|_| invalid(ConfigProblem::NotAUrl))?;
        let secure = parsed.scheme() == "https"
            || (parsed.scheme() == "http" && crate::config::is_loopback_host(&parsed));
        if !secure {
            return Err(invalid(ConfigProblem::NotHttps));
        }
        let http = match self.http {
            Some(client) => client,
            None => crate::http_client::platform_http_client(self.options.fetch_timeout)
                .map_err(|_| invalid(ConfigProblem::HttpClient))?,
        };
        Ok(JwksCache {
            inner: Arc::new(Inner {
                url: self.url,
                http,
                options: self.options,
                current: ArcSwapOption::empty(),
                fetch_lock: tokio::sync::Mutex::new(()),
                attempts: AtomicU64::new(0),
                successes: AtomicU64::new(0),
                last_unknown_kid_fetch: Mutex::new(None),
                last_failure: Mutex::new(None),
                last_fetch_failed: std::sync::atomic::AtomicBool::new(false),
                background_running: AtomicBool::new(false),
            }),
        })
    }
}

impl JwksCache {
    /// A cache of the JWKS at `url` with default options and HTTP client.
    pub fn new(url: impl Into<String>) -> Result<JwksCache, JwksBuildError> {
        Self::builder(url).build()
    }

    /// A builder for a cache of the JWKS at `url`.
    pub fn builder(url: impl Into<String>) -> JwksCacheBuilder {
        JwksCacheBuilder {
            url: url.into(),
            options: JwksOptions::default(),
            http: None,
        }
    }

    /// The JWKS URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Number of successful fetches so far.
    pub fn fetch_count(&self) -> u64 {
        self.inner.successes.load(Ordering::Relaxed)
    }

    /// The currently cached key set, if any.
    pub fn cached(&self) -> Option<Arc<KeySet>> {
        self.inner.current.load().as_ref().map(|s| s.keys.clone())
    }

    /// Fetches the key set now, whatever the cache holds, and returns the
    /// number of accepted keys. A failure keeps the cached keys.
    pub async fn refresh(&self) -> Result<usize, JwksFetchError> {
        let _guard = self.inner.fetch_lock.lock().await;
        self.fetch_and_store().await
    }

    /// Fetches the key set now, whatever the cooldown for unknown key ids
    /// says, unless a fetch completed while this caller waited for the
    /// fetch lock: for a token the platform has just issued (a refresh), whose
    /// key can only be new.
    pub(crate) async fn refetch_for_platform_token(&self) {
        self.fetch_for_missing_key(None, None).await;
    }

    /// Fetches the key set for a key it lacks, under the fetch lock, unless
    /// a fetch completed while this caller waited for the lock (the fetch of
    /// another caller missing the same key, typically: its result stands).
    /// `cooldown` is stamped when the fetch completes.
    async fn fetch_for_missing_key(
        &self,
        cooldown: Option<&Mutex<Option<Instant>>>,
        kid: Option<&str>,
    ) {
        let inner = &self.inner;
        let seen = inner.attempts.load(Ordering::Acquire);
        let _guard = inner.fetch_lock.lock().await;
        if inner.attempts.load(Ordering::Acquire) == seen {
            tracing::info!(kid, "a key is missing: refetching the JWKS");
            let _ = self.fetch_and_store_then(cooldown, kid).await;
        }
    }

    /// The key for a token header (`kid`, `alg`), fetching the key set when
    /// needed under the cache policy.
    pub async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        // The snapshot guard is dropped before any await.
        let found = match self.inner.current.load().as_ref() {
            Some(snap) => {
                if Instant::now() >= snap.refresh_at {
                    self.refresh_in_background();
                }
                Some(snap.keys.find(kid, alg).cloned())
            }
            None => None,
        };
        match found {
            Some(Some(key)) => Ok(key),
            Some(None) => self.refetch_for_unknown_kid(kid, alg).await,
            None => self.cold_fetch(kid, alg).await,
        }
    }

    /// Whether the current key set still holds exactly `key` (the same
    /// parsed key, not merely one with the same `kid`) for (`kid`, `alg`).
    /// Lock-free and synchronous; starts the background refresh when the
    /// key set is due, as [`JwksCache::key`] does, so that a withdrawn key
    /// is noticed even when every request is answered from the
    /// verified-token cache.
    pub fn holds(&self, kid: Option<&str>, alg: Algorithm, key: &Arc<VerifyingKey>) -> bool {
        let snapshot = self.inner.current.load();
        let Some(snap) = snapshot.as_ref() else {
            return false;
        };
        if Instant::now() >= snap.refresh_at {
            self.refresh_in_background();
        }
        snap.keys
            .find(kid, alg)
            .is_some_and(|found| Arc::ptr_eq(found, key))
    }

    fn lookup(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        match self.inner.current.load().as_ref() {
            Some(snap) => snap
                .keys
                .find(kid, alg)
                .cloned()
                .ok_or(KeyLookupError::Unknown),
            None => Err(KeyLookupError::Unavailable),
        }
    }

    fn within(stamp: &Mutex<Option<Instant>>, window: Duration) -> bool {
        let at = *stamp.lock().unwrap_or_else(|e| e.into_inner());
        at.is_some_and(|t| t.elapsed() < window)
    }

    fn stamp(stamp: &Mutex<Option<Instant>>) {
        *stamp.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    async fn cold_fetch(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        let inner = &self.inner;
        if Self::within(&inner.last_failure, inner.options.failure_backoff) {
            return Err(KeyLookupError::Unavailable);
        }
        let seen = inner.attempts.load(Ordering::Acquire);
        let _guard = inner.fetch_lock.lock().await;
        if inner.attempts.load(Ordering::Acquire) == seen && inner.current.load().is_none() {
            let _ = self.fetch_and_store().await;
        }
        self.lookup(kid, alg)
    }

    async fn refetch_for_unknown_kid(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        let inner = &self.inner;
        // Not in the key set: unknown, unless the key set could not be
        // fetched (then the key may be a new one the platform rotated to).
        let unknown = |_| {
            if inner.last_fetch_failed.load(Ordering::Acquire) {
                KeyLookupError::Unavailable
            } else {
                KeyLookupError::Unknown
            }
        };
        if Self::within(&inner.last_unknown_kid_fetch, inner.options.cooldown) {
            tracing::debug!(kid, "unknown kid during the JWKS cooldown");
            return self.lookup(kid, alg).map_err(unknown);
        }
        // The cooldown starts when the refetch completes, so that callers
        // arriving during it wait for its result rather than fail fast.
        self.fetch_for_missing_key(Some(&inner.last_unknown_kid_fetch), kid)
            .await;
        self.lookup(kid, alg).map_err(unknown)
    }

    fn refresh_in_background(&self) {
        let inner = &self.inner;
        if inner.background_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            inner.background_running.store(false, Ordering::Release);
            return;
        };
        let cache = self.clone();
        runtime.spawn(async move {
            {
                let _guard = cache.inner.fetch_lock.lock().await;
                let due = cache
                    .inner
                    .current
                    .load()
                    .as_ref()
                    .is_none_or(|s| Instant::now() >= s.refresh_at);
                if due {
                    let _ = cache.fetch_and_store().await;
                }
            }
            cache
                .inner
                .background_running
                .store(false, Ordering::Release);
        });
    }

    /// Fetches and, on success, swaps in the new key set. The caller holds
    /// the fetch lock.
    async fn fetch_and_store(&self) -> Result<usize, JwksFetchError> {
        self.fetch_and_store_then(None, None).await
    }

    /// As `fetch_and_store`, and stamps `cooldown` (when given) once the
    /// result is in place but before waiting callers can see the attempt.
    /// `kid` is the unknown key id that caused the fetch, if any.
    async fn fetch_and_store_then(
        &self,
        cooldown: Option<&Mutex<Option<Instant>>>,
        kid: Option<&str>,
    ) -> Result<usize, JwksFetchError> {
        use tracing::Instrument;
        let inner = &self.inner;
        let span = tracing::info_span!(
            "scalekit.jwks_fetch",
            url = %inner.url,
            kid,
            keys = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = tokio::time::timeout(inner.options.fetch_timeout, self.fetch())
            .instrument(span.clone())
            .await
            .unwrap_or(Err(JwksFetchError::Timeout));
        jwks_fetch(result.is_ok(), started.elapsed());
        let _entered = span.enter();
        match &result {
            Ok((keys, _)) => {
                span.record("keys", keys.len());
                span.record("outcome", "ok");
            }
            Err(_) => {
                span.record("outcome", "error");
            }
        }
        let outcome = match result {
            Ok((keys, max_age)) => {
                let count = keys.len();
                for rejected in keys.rejected() {
                    tracing::warn!(kid = ?rejected.kid, reason = %rejected.reason, "JWKS key refused");
                }
                let max_age = max_age.unwrap_or(inner.options.max_age).clamp(
                    inner.options.min_age,
                    inner.options.max_age.max(inner.options.min_age),
                );
                inner.current.store(Some(Arc::new(Snapshot {
                    keys: Arc::new(keys),
                    refresh_at: crate::util::saturating_instant(started, max_age / 5 * 4),
                })));
                inner.successes.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    url = %inner.url,
                    keys = count,
                    duration_ms = started.elapsed().as_millis() as u64,
                    "JWKS fetched"
                );
                Ok(count)
            }
            Err(err) => {
                Self::stamp(&inner.last_failure);
                // Stale-while-error: keep the keys, retry after the backoff.
                if let Some(snap) = inner.current.load_full() {
                    inner.current.store(Some(Arc::new(Snapshot {
                        keys: snap.keys.clone(),
                        refresh_at: crate::util::saturating_instant(
                            Instant::now(),
                            inner.options.failure_backoff,
                        ),
                    })));
                }
                tracing::warn!(
                    url = %inner.url,
                    error = %err,
                    duration_ms = started.elapsed().as_millis() as u64,
                    "JWKS fetch failed"
                );
                Err(err)
            }
        };
        if let Some(stamp) = cooldown {
            Self::stamp(stamp);
        }
        inner
            .last_fetch_failed
            .store(outcome.is_err(), Ordering::Release);
        inner.attempts.fetch_add(1, Ordering::AcqRel);
        outcome
    }

    async fn fetch(&self) -> Result<(KeySet, Option<Duration>), JwksFetchError> {
        let inner = &self.inner;
        let response = inner
            .http
            .get(&inner.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| classify(e.into()))?;
        crate::http::not_redirected(&inner.url, &response).map_err(classify)?;
        let status = response.status();
        if !status.is_success() {
            return Err(JwksFetchError::Status(status.as_u16()));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(cache_control_max_age);
        let body = crate::http::read_bounded(response, inner.options.max_response_bytes)
            .await
            .map_err(classify)?;
        let keys = KeySet::from_jwks_json(&body)?;
        Ok((keys, max_age))
    }
}

fn classify(err: crate::http::ReadError) -> JwksFetchError {
    use crate::http::ReadError;
    match err {
        ReadError::Redirect(status) => JwksFetchError::Redirect(status),
        ReadError::Timeout => JwksFetchError::Timeout,
        ReadError::Connect => JwksFetchError::Connect,
        ReadError::TooLarge => JwksFetchError::TooLarge,
    }
}

/// Counts one JWKS fetch and records its duration.
pub(crate) fn jwks_fetch(ok: bool, duration: Duration) {
    if ok {
        counter!("scalekit_jwks_fetches_total", "outcome" => "ok").increment(1);
    } else {
        counter!("scalekit_jwks_fetches_total", "outcome" => "error").increment(1);
    }
    histogram!("scalekit_jwks_fetch_duration_seconds").record(duration.as_secs_f64());
}

/// The `max-age` of a `Cache-Control` value; `no-cache`/`no-store` count as 0.
fn cache_control_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            max_age = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control() {
        assert_eq!(
            cache_control_max_age("public, max-age=120"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(cache_control_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(cache_control_max_age("public"), None);
        assert_eq!(cache_control_max_age("max-age=abc"), None);
    }

    #[test]
    fn url_rules() {
        assert!(JwksCache::new("https://acme.scalekit.dev/keys").is_ok());
        assert!(JwksCache::new("http://127.0.0.1:9/keys").is_ok());
        assert_eq!(
            JwksCache::new("http://acme.scalekit.dev/keys")
                .unwrap_err()
                .to_string(),
            "JWKS URL must be an https URL (plain http is only allowed for localhost, 127.0.0.1 and [::1])"
        );
        assert!(JwksCache::new("ftp://x/keys").is_err());
        assert!(JwksCache::new("not a url").is_err());
    }
}
