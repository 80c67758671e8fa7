//! The core's integration tests, one binary: the core against the emulator
//! over HTTP (the code flow, token validation, the key set and
//! verified-token caches, sessions and their stores, webhooks delivered by
//! the emulator) and against fixtures computed outside our code
//! (authorization URLs, webhook signatures). No web framework: the
//! scenarios through the axum and actix-web adapters are in
//! `tests/tests/scenarios/`.
//!
//! `cargo test -p scalekit-core --all-features --test integration -- sessions::`
//! runs one module. The session store modules need the `redis`,
//! `redis-cluster` and `postgres` features, `redis-server` and PostgreSQL
//! (`scripts/setup`); the modules that count signature checks need the
//! `test-util` feature.

mod common;

mod authorization_url;
mod jwks_cache;
mod m2m;
mod oauth_flow;
#[cfg(feature = "postgres")]
mod postgres_store;
#[cfg(feature = "redis-cluster")]
mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
mod redis_write_retry;
#[cfg(all(feature = "redis", feature = "test-util"))]
mod sessions;
#[cfg(all(feature = "redis-cluster", feature = "postgres", feature = "test-util"))]
mod store_suite;
mod token_validation;
#[cfg(feature = "test-util")]
mod verified_cache;
mod webhook_delivery;
mod webhooks;
