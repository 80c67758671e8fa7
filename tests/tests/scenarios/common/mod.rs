//! Helpers shared by the scenarios: the `scenarios!` macro, the full-stack
//! examples served for either framework (`apps`), a real `redis-server`, a
//! Redis cluster and a PostgreSQL, and the session stores on them (`redis`,
//! `postgres`, `stores`: the core's integration tests' own).
#![allow(dead_code)]

/// Makes `axum::<name>` and `actix::<name>` tests of each scenario, an
/// `async fn(Framework)` of the calling module; each test runs its
/// scenario on a two-worker runtime. Attributes written before a name
/// (`#[ignore = "…"]`) go on both of its tests. The calling module's code
/// names the axum crate `::axum` (the generated `mod axum` shadows it).
#[allow(unused_macros)]
macro_rules! scenarios {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {
        mod axum {
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::apps::Framework::Axum).await
                }
            )*
        }
        mod actix {
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::apps::Framework::Actix).await
                }
            )*
        }
    };
}

pub mod apps;
#[path = "../../../../scalekit-core/tests/integration/common/postgres.rs"]
pub mod postgres;
#[path = "../../../../scalekit-core/tests/integration/common/redis.rs"]
pub mod redis;
#[path = "../../../../scalekit-core/tests/integration/common/stores.rs"]
pub mod stores;

use scalekit_emulator::Emulator;

pub async fn emulator() -> Emulator {
    Emulator::start().await.expect("the emulator starts")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
