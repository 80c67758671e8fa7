//! Helpers shared by the core's integration tests: the emulator, a key set
//! cache and a validator of its tokens, the sign-in flow through its hosted
//! page (`flow`), a real `redis-server` and Redis cluster (`redis`), a real
//! PostgreSQL (`postgres`), and the session stores on them (`stores`).
#![allow(dead_code)]

pub mod flow;
pub mod postgres;
pub mod redis;
#[cfg(all(feature = "redis-cluster", feature = "postgres"))]
pub mod stores;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scalekit_core::{JwksCache, JwksOptions, TokenValidator, ValidationOptions};
use scalekit_emulator::Emulator;

pub async fn emulator() -> Emulator {
    Emulator::start().await.expect("the emulator starts")
}

pub fn cache(emulator: &Emulator, options: JwksOptions) -> JwksCache {
    JwksCache::builder(format!("{}/keys", emulator.url()))
        .options(options.fetch_timeout(Duration::from_millis(500)))
        .build()
        .expect("a valid JWKS URL")
}

/// A validator of the emulator's access tokens: its issuer, and the client
/// id as the accepted audience (what an application accepts by default).
pub fn validator(emulator: &Emulator, options: JwksOptions) -> TokenValidator {
    TokenValidator::new(
        cache(emulator, options),
        ValidationOptions::new(emulator.url()).audience(emulator.client_id()),
    )
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A token with this header and claims and a signature that verifies
/// nothing: enough to exercise every path that comes before the signature.
pub fn unsigned(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(claims.to_string()),
        b64([7u8; 256])
    )
}
