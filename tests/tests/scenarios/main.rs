//! The scenarios through both web frameworks, one binary: each module's
//! scenarios are `async fn(Framework)`, and `scenarios!` (in `common`)
//! makes an `axum::<name>` and an `actix::<name>` test of each. A test
//! that needs both frameworks at once (the two adapters' transcripts
//! compared) is an ordinary test beside them and says so; so is one about
//! a single framework's own feature, or one about an application only one
//! framework has (the MCP example is axum-only). Two modules are no
//! scenarios but need this crate's dependencies: `hyper_adapter` (a third
//! adapter, compared with axum's) and `management_example`.
//!
//! `cargo test -p scalekit-tests --test scenarios -- fullstack::` runs one
//! module; `-- actix::` every scenario of one framework. The metrics and
//! tracing test (`observability.rs`) is a binary of its own: it installs
//! the process's global recorder and subscriber.

#[macro_use]
mod common;

mod browser;
mod dashboard;
mod emulator_platform;
mod fullstack;
mod handlers;
mod hardening;
mod hyper_adapter;
mod m2m;
mod management_example;
mod mcp_end_to_end;
mod passwordless;
mod responses;
mod scale_out;
