//! Scalekit authentication for actix.
//!
//! The actix layers, extractors and routes are not built yet; for now this
//! crate re-exports the framework-agnostic core, which already validates
//! tokens and renders RFC 6750 answers as plain data.
//!
//! ```
//! use scalekit_actix::core::outcome::{Challenge, ErrorOutcome};
//!
//! let answer = ErrorOutcome::missing_credentials(&Challenge::new("api"));
//! assert_eq!(answer.status, 401);
//! ```
#![forbid(unsafe_code)]

pub use scalekit_core as core;
