//! [`ManagementClient`] and its transport: the bearer token, the one
//! re-authentication, retries, the per-call timeout and bounded reads all
//! live here, once, for every operation.

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use scalekit_core::oauth::{ClientCredentialsCache, TokenError};
use scalekit_core::{ConfigError, Scalekit};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use crate::error::{TransportFailure, parse_error_body};
use crate::retry::parse_retry_after;
use crate::{ManagementError, RetryPolicy};

/// The default time one call may take, retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default largest answer read (1 MiB): a page of 100 records with their
/// details fits many times over.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A client of the Scalekit management API (the REST API under `/api/v1`),
/// authenticated with the environment's client-credentials token.
///
/// Operations are grouped as in the official SDKs:
/// [`organizations`](Self::organizations), [`connections`](Self::connections),
/// [`directories`](Self::directories), [`users`](Self::users) (memberships
/// and invitations too), [`roles`](Self::roles),
/// [`permissions`](Self::permissions),
/// [`m2m`](Self::m2m) (organization M2M clients),
/// [`domains`](Self::domains), [`sessions`](Self::sessions),
/// [`webauthn`](Self::webauthn), [`auth`](Self::auth),
/// [`passwordless`](Self::passwordless),
/// [`connected_accounts`](Self::connected_accounts) and
/// [`tools`](Self::tools).
///
/// Every call goes through one transport: the token comes from a
/// [`ClientCredentialsCache`] (fetched once, reused until shortly before it
/// expires); a `401` drops it and repeats the call once with a new one;
/// busy answers and connection failures are retried under the
/// [`RetryPolicy`] (a `POST` or `PATCH` only when it cannot have reached
/// the platform, or on `429`); the whole call, retries included, is bounded by
/// [`timeout`](Self::timeout); answers are read up to
/// [`max_response_bytes`](Self::max_response_bytes); redirects are never
/// followed.
///
/// Cloning is cheap and clones share the token.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use scalekit_core::Scalekit;
/// use scalekit_management::{ManagementClient, RetryPolicy};
///
/// let scalekit = Scalekit::from_env()?;
/// let client = ManagementClient::new(&scalekit)?
///     .retry_policy(RetryPolicy::default().max_attempts(3))
///     .timeout(Duration::from_secs(10));
/// let org = client.organizations().get_organization("org_123").await?;
/// println!("{}", org.display_name);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ManagementClient {
    base: Arc<str>,
    http: reqwest::Client,
    tokens: Arc<ClientCredentialsCache>,
    policy: RetryPolicy,
    timeout: Duration,
    max_response_bytes: usize,
}

impl std::fmt::Debug for ManagementClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagementClient")
            .field("environment", &self.base)
            .field("retry_policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// The characters of a path segment sent as they are (RFC 3986
/// unreserved); everything else in an identifier is percent-encoded, so an
/// identifier never changes which path is called.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value` as one path segment: percent-encoded, and refused when empty,
/// `.` or `..` (an empty segment would address another resource, and the
/// URL parser resolves dot segments: `..` would climb out of the path).
pub(crate) fn segment(value: &str, what: &'static str) -> Result<String, ManagementError> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        return Err(ManagementError::InvalidArgument(what));
    }
    Ok(utf8_percent_encode(value, SEGMENT).to_string())
}

/// A decode error, described without echoing the answer's content (which
/// may hold credentials of a connected account).
pub(crate) fn decode_error(err: serde_json::Error) -> ManagementError {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Io | Category::Syntax | Category::Eof => "not valid JSON",
        Category::Data => "JSON of an unexpected shape",
    };
    if err.line() == 0 {
        ManagementError::Decode(what.to_owned())
    } else {
        ManagementError::Decode(format!(
            "{what} at line {} column {}",
            err.line(),
            err.column()
        ))
    }
}

/// Reads a JSON answer as `T`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ManagementError> {
    serde_json::from_slice(bytes).map_err(decode_error)
}

/// Reads a JSON answer as `T`, found under `key` when the answer wraps it
/// (`{"organization": {…}}`) or as the whole answer otherwise: the REST
/// reference and the platform's gateway differ on this.
pub(crate) fn decode_wrapped<T: DeserializeOwned>(
    bytes: &[u8],
    key: &str,
) -> Result<T, ManagementError> {
    let mut value: Value = decode(bytes)?;
    let inner = match value.get_mut(key) {
        Some(inner @ Value::Object(_)) => inner.take(),
        _ => value,
    };
    serde_json::from_value(inner).map_err(decode_error)
}

/// What one attempt ended with, when it did not succeed.
struct Failure {
    error: ManagementError,
    /// Whether the policy may try again.
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn fatal(error: ManagementError) -> Self {
        Failure {
            error,
            retryable: false,
            retry_after: None,
        }
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// Whether a failed token fetch may be tried again (the token endpoint
/// answered that it is busy, or could not be reached).
fn token_error_is_transient(err: &TokenError) -> bool {
    matches!(
        err,
        TokenError::Connect | TokenError::Status(429) | TokenError::Status(503)
    )
}

impl ManagementClient {
    /// A client of `scalekit`'s environment with its credentials, and an
    /// HTTP client of its own that follows no redirect
    /// ([`scalekit_core::platform_http_client`]).
    pub fn new(scalekit: &Scalekit) -> Result<Self, ConfigError> {
        let http = scalekit_core::platform_http_client(DEFAULT_TIMEOUT)?;
        Ok(Self::with_http_client(scalekit, http))
    }

    /// A client that sends its calls through `http`, such as
    /// [`Scalekit::http_client`]. It must not follow redirects (build it with
    /// [`scalekit_core::platform_http_client`]): a redirect answer is
    /// refused all the same, but a client that follows one would already
    /// have sent the token on.
    pub fn with_http_client(scalekit: &Scalekit, http: reqwest::Client) -> Self {
        let tokens = ClientCredentialsCache::new(scalekit.clone());
        Self::with_token_cache(scalekit, http, Arc::new(tokens))
    }

    /// A client that takes its tokens from `tokens` (shared with other
    /// users of the same cache).
    pub fn with_token_cache(
        scalekit: &Scalekit,
        http: reqwest::Client,
        tokens: Arc<ClientCredentialsCache>,
    ) -> Self {
        ManagementClient {
            base: Arc::from(scalekit.config().environment_url().trim_end_matches('/')),
            http,
            tokens,
            policy: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Replaces the retry policy (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The longest one call may take, retries and waits included (default
    /// [`DEFAULT_TIMEOUT`]); past it the call fails with
    /// [`ManagementError::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer read (default [`DEFAULT_MAX_RESPONSE_BYTES`]);
    /// a larger one fails with [`ManagementError::TooLarge`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The environment URL calls go to.
    pub fn environment_url(&self) -> &str {
        &self.base
    }

    /// The retry policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The HTTP client calls go through.
    pub(crate) fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The longest one call may take.
    pub(crate) fn call_timeout(&self) -> Duration {
        self.timeout
    }

    /// The token cache (to share it, or to drop a token).
    pub fn token_cache(&self) -> &Arc<ClientCredentialsCache> {
        &self.tokens
    }

    /// Sends a call and reads its success answer.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ManagementError> {
        let mut url = url::Url::parse(&format!("{}{path}", self.base))
            .map_err(|_| ManagementError::InvalidArgument("the request URL is not valid"))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        let now = Instant::now();
        let deadline = now
            .checked_add(self.timeout)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 24 * 3600));
        match tokio::time::timeout_at(deadline, self.attempts(&method, &url, body, deadline)).await
        {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(method = %method, path, "management call timed out");
                Err(ManagementError::Timeout)
            }
        }
    }

    /// `GET path` answered by one object, under `key` or bare.
    pub(crate) async fn get_wrapped<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
    ) -> Result<T, ManagementError> {
        let bytes = self.call(Method::GET, path, &[], None).await?;
        decode_wrapped(&bytes, key)
    }

    /// A call with a JSON body answered by one object, under `key` or bare.
    pub(crate) async fn send_wrapped<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        key: &str,
    ) -> Result<T, ManagementError> {
        let bytes = self.call_json(method, path, &[], body).await?;
        decode_wrapped(&bytes, key)
    }

    /// A call whose answer carries nothing (`DELETE`, mostly).
    pub(crate) async fn call_empty(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<(), ManagementError> {
        self.call(method, path, query, None).await?;
        Ok(())
    }

    /// `PATCH {path}:{verb}` (`enable` / `disable`): the answer under `key`
    /// or bare, or `empty(enabled)` when the platform answers nothing.
    pub(crate) async fn toggle<T: DeserializeOwned>(
        &self,
        path: &str,
        verb: &str,
        key: &str,
        empty: impl FnOnce(bool) -> T,
    ) -> Result<T, ManagementError> {
        let path = format!("{path}:{verb}");
        let bytes = self.call(Method::PATCH, &path, &[], None).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(empty(verb == "enable"));
        }
        decode_wrapped(&bytes, key)
    }

    /// One page of the list at `path` (items under `key`), with `query`
    /// and the page options.
    pub(crate) async fn list_page<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        options: &crate::PageOptions,
        mut query: Vec<(&'static str, String)>,
    ) -> Result<crate::Page<T>, ManagementError> {
        options.push_query(&mut query);
        let bytes = self.call(Method::GET, path, &query, None).await?;
        crate::pagination::decode_page(&bytes, key)
    }

    /// `call` with a JSON body.
    pub(crate) async fn call_json<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: &B,
    ) -> Result<Vec<u8>, ManagementError> {
        let body = serde_json::to_vec(body)
            .map_err(|_| ManagementError::InvalidArgument("the request body cannot be encoded"))?;
        self.call(method, path, query, Some(body)).await
    }

    async fn attempts(
        &self,
        method: &Method,
        url: &url::Url,
        body: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Vec<u8>, ManagementError> {
        let path = url.path();
        let mut attempt: u32 = 0;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let failure = match self.tokens.token().await {
                Err(err) => Failure {
                    retryable: token_error_is_transient(&err),
                    error: ManagementError::Token(err),
                    retry_after: None,
                },
                Ok(token) => match self.attempt(method, url, body.as_deref(), &token).await {
                    Ok(bytes) => return Ok(bytes),
                    Err(failure) => {
                        if matches!(failure.error, ManagementError::Unauthenticated { .. })
                            && !reauthenticated
                        {
                            // Once: a new token, and the same attempt again.
                            tracing::debug!(method = %method, path, "401: fetching a new token");
                            self.tokens.invalidate(&token);
                            reauthenticated = true;
                            attempt -= 1;
                            continue;
                        }
                        failure
                    }
                },
            };
            if !failure.retryable || attempt >= self.policy.attempts() {
                return Err(failure.error);
            }
            let delay = self.policy.delay(attempt, failure.retry_after);
            if Instant::now()
                .checked_add(delay)
                .is_none_or(|wake| wake >= deadline)
            {
                // Waiting would outlast the call's timeout: the last answer
                // says more than a timeout would.
                return Err(failure.error);
            }
            tracing::debug!(
                method = %method,
                path,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %failure.error,
                "retrying management call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &url::Url,
        body: Option<&[u8]>,
        token: &str,
    ) -> Result<Vec<u8>, Failure> {
        let idempotent = is_idempotent(method);
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return Err(transport_failure(&err, idempotent)),
        };
        let status = response.status();
        if status.is_redirection() || response.url() != url {
            tracing::warn!(
                status = status.as_u16(),
                "the management API answered with a redirect; not followed"
            );
            return Err(Failure::fatal(ManagementError::Redirect(status.as_u16())));
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = match read_bounded(response, self.max_response_bytes).await {
            Ok(bytes) => bytes,
            Err(ReadFailure::TooLarge) => return Err(Failure::fatal(ManagementError::TooLarge)),
            Err(ReadFailure::Transport(err)) => {
                // The request reached the server: only an idempotent call
                // may be repeated.
                return Err(Failure {
                    error: if err.is_timeout() {
                        ManagementError::Timeout
                    } else {
                        ManagementError::Transport(TransportFailure::Interrupted)
                    },
                    retryable: idempotent,
                    retry_after: None,
                });
            }
        };
        if status.is_success() {
            return Ok(bytes);
        }
        let status = status.as_u16();
        let (code, message, details) = parse_error_body(status, &bytes);
        tracing::debug!(status, code = %code, "management API error answer");
        if status == 401 {
            return Err(Failure::fatal(ManagementError::Unauthenticated {
                code,
                message,
            }));
        }
        Err(Failure {
            // `429` is refused before any work; a `503` may have come after
            // the platform acted, so only an idempotent call repeats it.
            retryable: status == 429 || (status == 503 && idempotent),
            retry_after,
            error: ManagementError::Api {
                status,
                code,
                message,
                details,
            },
        })
    }
}

/// A send error, and whether it may be retried: a failure to connect always
/// (nothing was sent), anything else only for an idempotent call.
fn transport_failure(err: &reqwest::Error, idempotent: bool) -> Failure {
    if err.is_connect() {
        return Failure {
            error: ManagementError::Transport(TransportFailure::Connect),
            retryable: true,
            retry_after: None,
        };
    }
    if err.is_timeout() {
        return Failure {
            error: ManagementError::Timeout,
            retryable: idempotent,
            retry_after: None,
        };
    }
    if err.is_builder() {
        return Failure::fatal(ManagementError::Transport(TransportFailure::Other));
    }
    Failure {
        error: ManagementError::Transport(TransportFailure::Interrupted),
        retryable: idempotent,
        retry_after: None,
    }
}

enum ReadFailure {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads at most `limit` bytes of `response`.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadFailure> {
    if response
        .content_length()
        .is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(ReadFailure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadFailure::Transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(ReadFailure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_one_percent_encoded_segment() {
        assert_eq!(segment("org_123", "id").unwrap(), "org_123");
        assert_eq!(segment("a/b", "id").unwrap(), "a%2Fb");
        assert_eq!(segment("x:enable", "id").unwrap(), "x%3Aenable");
        assert_eq!(segment("...", "id").unwrap(), "...");
        assert_eq!(segment("%2e%2e", "id").unwrap(), "%252e%252e");
        for dots in [".", "..", " .. "] {
            assert_eq!(
                segment(dots, "user id"),
                Err(ManagementError::InvalidArgument("user id"))
            );
        }
        assert_eq!(segment("é ?#", "id").unwrap(), "%C3%A9%20%3F%23");
        assert_eq!(
            segment("", "organization id"),
            Err(ManagementError::InvalidArgument("organization id"))
        );
        assert!(segment("  ", "id").is_err());
    }

    #[test]
    fn wrapped_and_bare_answers_are_both_read() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Thing {
            id: String,
        }
        let wrapped: Thing = decode_wrapped(br#"{"thing":{"id":"a"}}"#, "thing").unwrap();
        let bare: Thing =
            decode_wrapped(br#"{"id":"b","thing":"not an object"}"#, "thing").unwrap();
        assert_eq!((wrapped.id.as_str(), bare.id.as_str()), ("a", "b"));
        let err = decode_wrapped::<Thing>(b"{", "thing").unwrap_err();
        assert!(matches!(err, ManagementError::Decode(ref m) if m.starts_with("not valid JSON")));
    }

    #[test]
    fn decode_errors_do_not_echo_the_answer() {
        let err = decode::<Vec<u32>>(br#"["sk_live_secret_value"]"#).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("unexpected shape"), "{text}");
    }

    #[test]
    fn only_get_put_delete_are_idempotent() {
        for m in [Method::GET, Method::PUT, Method::DELETE, Method::HEAD] {
            assert!(is_idempotent(&m), "{m}");
        }
        for m in [Method::POST, Method::PATCH] {
            assert!(!is_idempotent(&m), "{m}");
        }
    }

    #[test]
    fn transient_token_errors_are_the_busy_and_unreachable_ones() {
        assert!(token_error_is_transient(&TokenError::Connect));
        assert!(token_error_is_transient(&TokenError::Status(503)));
        assert!(token_error_is_transient(&TokenError::Status(429)));
        assert!(!token_error_is_transient(&TokenError::Status(400)));
        assert!(!token_error_is_transient(&TokenError::Timeout));
        assert!(!token_error_is_transient(&TokenError::InvalidResponse));
    }
}
