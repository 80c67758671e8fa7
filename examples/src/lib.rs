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

/// The README and the guides in `docs/`, compiled and run as doc tests so
/// that no snippet rots.
#[cfg(doctest)]
pub mod guides {
    #[doc = include_str!("../../README.md")]
    pub mod readme {}
    #[doc = include_str!("../../docs/architecture.md")]
    pub mod architecture {}
    #[doc = include_str!("../../docs/core.md")]
    pub mod core {}
    #[doc = include_str!("../../docs/management.md")]
    pub mod management {}
    #[doc = include_str!("../../docs/mcp.md")]
    pub mod mcp {}
    #[doc = include_str!("../../docs/passwordless.md")]
    pub mod passwordless {}
    #[doc = include_str!("../../docs/observability.md")]
    pub mod observability {}
    #[doc = include_str!("../../docs/responses.md")]
    pub mod responses {}
    #[doc = include_str!("../../docs/scale-out.md")]
    pub mod scale_out {}
    #[doc = include_str!("../../docs/security-defaults.md")]
    pub mod security_defaults {}
    #[doc = include_str!("../../docs/sessions.md")]
    pub mod sessions {}
    #[doc = include_str!("../../docs/testing.md")]
    pub mod testing {}
}
