//! Scalekit authentication for Rust services: the framework-agnostic core.
//!
//! - [`ScalekitConfig`]: the environment URL, credentials and endpoints.
//! - [`JwksCache`] / [`KeySet`]: the environment's signing keys, cached under
//!   a resilient policy, or fixed for air-gapped use.
//! - [`TokenValidator`]: a compact JWT in, typed claims or a typed
//!   [`ValidationError`] out.
//! - [`claims`]: [`AccessTokenClaims`], [`IdTokenClaims`],
//!   [`IdpInitiatedLoginClaims`] and the granted [`ScopeSet`].
//! - [`authz`]: requirements over scopes, permissions and roles.
//! - [`outcome`]: the RFC 6750 answers, as plain data for the adapters.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use scalekit_core::{AccessTokenClaims, Scalekit, authz::Requirement, outcome::Challenge};
//!
//! let scalekit = Scalekit::from_env()?;
//! match scalekit.validate_token::<AccessTokenClaims>("eyJ…").await {
//!     Ok(claims) => {
//!         if let Err(missing) = Requirement::scopes_all(["admin:read"]).check_claims(&claims) {
//!             let answer = missing.outcome(&Challenge::new("api"));
//!             assert_eq!(answer.status, 403);
//!         }
//!     }
//!     Err(err) => {
//!         let answer = err.outcome(&Challenge::new("api"));
//!         assert!(answer.status == 401 || answer.status == 503);
//!     }
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod algorithm;
pub mod authz;
pub mod claims;
mod client;
pub mod config;
mod front;
pub mod jwk;
pub mod jwks;
pub mod oauth;
pub mod outcome;
pub mod session;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod validate;
pub mod web;
pub mod webhook;

/// Time since the Unix epoch (zero if the clock is before it).
pub(crate) fn unix_time() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// `start + d`, saturating at about thirty years after `start`: durations
/// from configuration never overflow an `Instant`.
pub(crate) fn saturating_instant(
    start: std::time::Instant,
    d: std::time::Duration,
) -> std::time::Instant {
    const FAR: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 24 * 3600);
    start
        .checked_add(d.min(FAR))
        .or_else(|| start.checked_add(std::time::Duration::from_secs(24 * 3600)))
        .unwrap_or(start)
}

/// `Some("***")` for a set secret, for `Debug` output.
pub(crate) fn redact<T>(value: &Option<T>) -> Option<&'static str> {
    value.as_ref().map(|_| "***")
}

/// Appends `c` to `out`, percent-encoded (its UTF-8 bytes) unless it is
/// ASCII: header values are ASCII.
pub(crate) fn push_ascii(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c);
        return;
    }
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push('%');
        out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0x0f)]));
    }
}

pub use algorithm::{Algorithm, AlgorithmSet};
pub use claims::{AccessTokenClaims, IdTokenClaims, IdpInitiatedLoginClaims, ScopeSet};
pub use client::{MAX_PLATFORM_RESPONSE_BYTES, Scalekit, platform_http_client};
pub use config::{ConfigError, ConfigProblem, Endpoint, ScalekitConfig, Secret};
pub use jwk::{KeyRejection, KeySet, VerifyingKey};
pub use jwks::{JwksCache, JwksFetchError, JwksOptions};
pub use validate::{
    DEFAULT_VERIFIED_CACHE_CAPACITY, DEFAULT_VERIFIED_CACHE_TTL, KeySource, Malformed,
    TokenPurpose, TokenValidator, ValidationError, ValidationOptions, VerifiedClaims, verify_jws,
};
