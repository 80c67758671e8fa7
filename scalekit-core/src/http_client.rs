//! The HTTP client of platform calls ([`platform_http_client`]). It sits
//! above `config` (its error is a [`ConfigError`]) and below the JWKS cache
//! and [`Scalekit`](crate::Scalekit), which build it. The module is
//! private: the function's public path is the crate root's, as before.

use crate::config::{ConfigError, ConfigProblem};

/// An HTTP client fit for platform calls: it follows no redirect (a `3xx`
/// answer is an error, so that a secret is never re-sent elsewhere and
/// https is never downgraded), and every call times out after `timeout`.
///
/// ```
/// let http = scalekit_core::platform_http_client(std::time::Duration::from_secs(5))?;
/// # let _ = http; Ok::<(), scalekit_core::ConfigError>(())
/// ```
pub fn platform_http_client(timeout: std::time::Duration) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|_| ConfigError::new("HTTP client", ConfigProblem::HttpClient))
}
