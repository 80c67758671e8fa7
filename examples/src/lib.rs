//! The example applications, as libraries so that the end-to-end tests drive
//! exactly what the binaries serve.
#![forbid(unsafe_code)]

pub mod axum_fullstack;
pub mod axum_m2m;
pub mod axum_mcp;
pub mod environment;
