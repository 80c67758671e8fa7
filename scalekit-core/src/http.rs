//! Platform HTTP: the answers of the platform's endpoints read without
//! following a redirect and within a size limit. It imports nothing of the
//! crate: configuration, keys and OAuth build on it.

/// Largest response body read from the discovery and token endpoints.
pub const MAX_PLATFORM_RESPONSE_BYTES: usize = 256 * 1024;

/// Why a platform response could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// A `3xx` answer, or a client that followed one (its final URL is not
    /// the one requested).
    Redirect(u16),
    Timeout,
    Connect,
    TooLarge,
}

impl From<reqwest::Error> for ReadError {
    fn from(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            ReadError::Timeout
        } else {
            ReadError::Connect
        }
    }
}

/// Refuses a redirect answer (or a followed one) from `requested`.
pub(crate) fn not_redirected(
    requested: &str,
    response: &reqwest::Response,
) -> Result<(), ReadError> {
    let status = response.status();
    if status.is_redirection() {
        tracing::warn!(
            status = status.as_u16(),
            "a platform endpoint answered with a redirect; not followed"
        );
        return Err(ReadError::Redirect(status.as_u16()));
    }
    if response.url().as_str() != requested
        && url::Url::parse(requested).ok().as_ref() != Some(response.url())
    {
        tracing::warn!("the HTTP client followed a redirect from a platform endpoint");
        return Err(ReadError::Redirect(status.as_u16()));
    }
    Ok(())
}

/// Reads a response body of at most `limit` bytes.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
