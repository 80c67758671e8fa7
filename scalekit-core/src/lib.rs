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
//! - [`passwordless`]: headless passwordless email (a code, a magic link).
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
mod http;
mod http_client;
pub mod jwk;
pub mod jwks;
pub mod oauth;
pub mod outcome;
pub mod passwordless;
pub mod session;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod test_util;
mod util;
pub mod validate;
pub mod web;
pub mod webhook;

pub use algorithm::{Algorithm, AlgorithmSet};
pub use claims::{AccessTokenClaims, IdTokenClaims, IdpInitiatedLoginClaims, ScopeSet};
pub use client::Scalekit;
pub use config::{ConfigError, ConfigProblem, Endpoint, ScalekitConfig, Secret};
pub use http::MAX_PLATFORM_RESPONSE_BYTES;
pub use http_client::platform_http_client;
pub use jwk::{KeyRejection, KeySet, VerifyingKey};
pub use jwks::{JwksCache, JwksFetchError, JwksOptions};
pub use validate::{
    DEFAULT_VERIFIED_CACHE_CAPACITY, DEFAULT_VERIFIED_CACHE_TTL, KeySource, Malformed,
    TokenPurpose, TokenValidator, ValidationError, ValidationOptions, VerifiedClaims, verify_jws,
};
