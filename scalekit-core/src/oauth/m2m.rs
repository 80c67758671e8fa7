//! A cached client-credentials token for M2M callers and the management API:
//! reused until 60 s before its `exp`, fetched one at a time, dropped when a
//! server answers 401 to it.

use std::sync::{Arc, Mutex};

use crate::client::Scalekit;
use crate::config::Secret;

use super::token::{RENEW_BEFORE_EXPIRY, TokenError, unverified_exp};

#[derive(Clone)]
struct Cached {
    token: Arc<str>,
    /// Unix seconds after which the token is renewed.
    renew_at: u64,
}

/// A client-credentials token, cached and renewed on demand.
///
/// ```no_run
/// # async fn demo(scalekit: scalekit_core::Scalekit) -> Result<(), Box<dyn std::error::Error>> {
/// use scalekit_core::oauth::ClientCredentialsCache;
///
/// let tokens = ClientCredentialsCache::new(scalekit).scopes(["deploy:write"]);
/// let token = tokens.token().await?;          // fetched
/// let again = tokens.token().await?;          // reused
/// assert_eq!(token, again);
/// // The API answered 401 to it: drop it so the next call fetches anew.
/// tokens.invalidate(&token);
/// # Ok(()) }
/// ```
pub struct ClientCredentialsCache {
    scalekit: Scalekit,
    client: Option<(String, Secret)>,
    scopes: Vec<String>,
    audience: Option<String>,
    current: Mutex<Option<Cached>>,
    fetch: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ClientCredentialsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentialsCache")
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    crate::util::unix_time().as_secs()
}

impl ClientCredentialsCache {
    /// Tokens of the configured client.
    pub fn new(scalekit: Scalekit) -> Self {
        ClientCredentialsCache {
            scalekit,
            client: None,
            scopes: Vec::new(),
            audience: None,
            current: Mutex::new(None),
            fetch: tokio::sync::Mutex::new(()),
        }
    }

    /// Tokens of another client (an M2M client's id and secret).
    pub fn for_client(mut self, client_id: impl Into<String>, secret: Secret) -> Self {
        self.client = Some((client_id.into(), secret));
        self
    }

    /// Scopes to request.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Audience to request.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    fn fresh(&self) -> Option<Arc<str>> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|c| now() < c.renew_at)
            .map(|c| c.token.clone())
    }

    /// A valid token: the cached one, or a new one (one fetch at a time;
    /// concurrent callers share it).
    pub async fn token(&self) -> Result<Arc<str>, TokenError> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _guard = self.fetch.lock().await;
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let response = match &self.client {
            Some((id, secret)) => {
                self.scalekit
                    .client_credentials_token_for(id, secret, &scopes, self.audience.as_deref())
                    .await?
            }
            None => {
                self.scalekit
                    .client_credentials_token(&scopes, self.audience.as_deref())
                    .await?
            }
        };
        let expires_at = unverified_exp(&response.access_token)
            .or_else(|| response.expires_in.map(|s| now() + s))
            .unwrap_or(0);
        let token: Arc<str> = Arc::from(response.access_token);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            token: token.clone(),
            renew_at: expires_at.saturating_sub(RENEW_BEFORE_EXPIRY.as_secs()),
        });
        Ok(token)
    }

    /// Drops `token` if it is the cached one (call it when a server answers
    /// 401 to the token).
    pub fn invalidate(&self, token: &str) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|c| &*c.token == token) {
            *current = None;
        }
    }
}
