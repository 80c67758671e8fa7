//! The example applications, as libraries so that the end-to-end tests drive
//! exactly what the binaries serve.
#![forbid(unsafe_code)]

/// The error type of the examples.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Logs to stderr, `RUST_LOG` or `info`.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}

pub mod actix_fullstack;
pub mod actix_m2m;
pub mod axum_fullstack;
pub mod axum_m2m;
pub mod axum_mcp;
pub mod environment;
pub mod fullstack;
pub mod m2m;
pub mod management;
pub mod problem;
