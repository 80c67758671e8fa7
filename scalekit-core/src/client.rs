//! [`Scalekit`]: one value built from the configuration, holding the JWKS
//! cache and the validator, with the official SDK's method names as helpers.

use serde::de::DeserializeOwned;

use crate::authz::Requirement;
use crate::claims::AccessTokenClaims;
use crate::config::{ConfigError, Endpoint, ScalekitConfig};
use crate::http_client::platform_http_client;
use crate::jwks::{JwksCache, JwksOptions};
use crate::validate::{TokenValidator, ValidationError, ValidationOptions};

/// The Scalekit client of one environment.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use scalekit_core::{AccessTokenClaims, Scalekit};
///
/// let scalekit = Scalekit::from_env()?;
/// let token = "eyJ…";
/// if scalekit.validate_access_token(token).await {
///     let claims: AccessTokenClaims = scalekit.validate_token(token).await?;
///     println!("caller {:?}", claims.sub);
/// }
/// let may_deploy = scalekit.verify_scopes(token, &["deploy:write"]).await;
/// # let _ = may_deploy; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Scalekit {
    config: ScalekitConfig,
    http: reqwest::Client,
    validator: TokenValidator,
}

impl Scalekit {
    /// A client for `config`, with default JWKS options and an HTTP client
    /// that follows no redirect and times out after 10 s
    /// ([`platform_http_client`]).
    pub fn new(config: ScalekitConfig) -> Result<Self, ConfigError> {
        let http = platform_http_client(std::time::Duration::from_secs(10))?;
        Self::with_http_client(config, http, JwksOptions::default())
    }

    /// A client for `config` using `http` for every platform call, with the
    /// verified-token cache on ([`DEFAULT_VERIFIED_CACHE_CAPACITY`](crate::DEFAULT_VERIFIED_CACHE_CAPACITY)
    /// entries, each for at most [`DEFAULT_VERIFIED_CACHE_TTL`](crate::DEFAULT_VERIFIED_CACHE_TTL)
    /// and never past its token's `exp`; see
    /// [`Scalekit::with_verified_token_cache`] and
    /// [`Scalekit::without_verified_token_cache`]). Build
    /// `http` with [`platform_http_client`] (or at least with
    /// `redirect::Policy::none()`): a client that follows redirects would
    /// re-send the client secret to wherever a `307` points. Answers that
    /// were redirected are refused all the same.
    pub fn with_http_client(
        config: ScalekitConfig,
        http: reqwest::Client,
        jwks: JwksOptions,
    ) -> Result<Self, ConfigError> {
        let cache = JwksCache::builder(config.endpoint_url(Endpoint::Jwks))
            .options(jwks)
            .http_client(http.clone())
            .build()
            .map_err(|e| e.0)?;
        let options = ValidationOptions::new(config.environment_url()).audience(config.client_id());
        Ok(Scalekit {
            validator: TokenValidator::new(cache, options).with_verified_cache(
                crate::validate::DEFAULT_VERIFIED_CACHE_CAPACITY,
                crate::validate::DEFAULT_VERIFIED_CACHE_TTL,
            ),
            config,
            http,
        })
    }

    /// A client for `config` that verifies tokens with a fixed key set
    /// and never fetches the JWKS: for air-gapped deployments with pinned
    /// keys, and for tests (see `test_util::TestSigner` with the
    /// `test-util` feature). Platform calls (code exchange, refresh) still
    /// go to the environment; token validation needs no network.
    ///
    /// ```
    /// use scalekit_core::{KeySet, Scalekit, ScalekitConfig};
    ///
    /// let keys = KeySet::from_jwks_json(br#"{"keys":[]}"#)?;
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let scalekit = Scalekit::with_key_set(config, keys)?;
    /// assert!(matches!(scalekit.validator().keys(), scalekit_core::KeySource::Static(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_key_set(
        config: ScalekitConfig,
        keys: crate::jwk::KeySet,
    ) -> Result<Self, ConfigError> {
        let http = platform_http_client(std::time::Duration::from_secs(10))?;
        let options = ValidationOptions::new(config.environment_url()).audience(config.client_id());
        Ok(Scalekit {
            validator: TokenValidator::new(keys, options).with_verified_cache(
                crate::validate::DEFAULT_VERIFIED_CACHE_CAPACITY,
                crate::validate::DEFAULT_VERIFIED_CACHE_TTL,
            ),
            config,
            http,
        })
    }

    /// A client configured from the environment variables of
    /// [`ScalekitConfig::from_env`].
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(ScalekitConfig::from_env()?)
    }

    /// Replaces the default validation options (issuer, audience,
    /// algorithms, leeway).
    pub fn with_validation_options(mut self, options: ValidationOptions) -> Self {
        self.validator = self.validator.with_options(options);
        self
    }

    /// Also accepts access tokens whose `aud` contains one of `audiences`
    /// (an API identifier given to M2M clients, an RFC 9728 resource). By
    /// default only the client id is accepted.
    ///
    /// ```
    /// use scalekit_core::{Scalekit, ScalekitConfig};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let scalekit = Scalekit::new(config)?.accept_audiences(["https://api.acme.com"]);
    /// assert_eq!(scalekit.validator().options().audiences(), ["skc_1", "https://api.acme.com"]);
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn accept_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut options = self.validator.options().clone();
        if options.checks_audience() {
            for audience in audiences {
                options = options.audience(audience);
            }
        }
        self.validator = self.validator.with_options(options);
        self
    }

    /// Accepts access tokens whose `aud` contains one of `audiences` and no
    /// other (not even the client id): for a resource server that only
    /// takes tokens minted for it, such as an MCP server.
    ///
    /// ```
    /// use scalekit_core::{Scalekit, ScalekitConfig};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let scalekit = Scalekit::new(config)?.only_audiences(["https://mcp.acme.com/mcp"]);
    /// assert_eq!(scalekit.validator().options().audiences(), ["https://mcp.acme.com/mcp"]);
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn only_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let options = self
            .validator
            .options()
            .clone()
            .only_audiences(audiences.into_iter().map(Into::into).collect());
        self.validator = self.validator.with_options(options);
        self
    }

    /// Accepts exactly the access tokens the platform issues for one MCP
    /// server (PROTOCOL.md §10): `iss` is the environment or the server's
    /// authorization server URL
    /// ([`ScalekitConfig::mcp_authorization_server`]), and `aud` contains
    /// its resource identifier or its id `res_…`. Nothing wider: not the
    /// client id, not another MCP server's tokens. (Issuers accepted
    /// before, such as a custom domain, stay accepted.)
    ///
    /// ```
    /// use scalekit_core::{Scalekit, ScalekitConfig};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let scalekit = Scalekit::new(config)?.only_mcp_server("https://mcp.acme.com/mcp", "res_42");
    /// let options = scalekit.validator().options();
    /// assert_eq!(options.issuers(), ["https://acme.scalekit.dev", "https://acme.scalekit.dev/resources/res_42"]);
    /// assert_eq!(options.audiences(), ["https://mcp.acme.com/mcp", "res_42"]);
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn only_mcp_server(mut self, resource: impl Into<String>, resource_id: &str) -> Self {
        let issuer = self.config.mcp_authorization_server(resource_id);
        let mut options = self.validator.options().clone();
        if !options.accepts_issuer(&issuer) {
            options = options.also_issuer(issuer);
        }
        let options = options.only_audiences(vec![resource.into(), resource_id.to_owned()]);
        self.validator = self.validator.with_options(options);
        self
    }

    /// Accepts access tokens whatever their audience: the explicit opt-out
    /// of the audience check (logs a warning). Any client of the environment
    /// could then call this service with its own tokens.
    pub fn any_audience(mut self) -> Self {
        let options = self.validator.options().clone().any_audience();
        self.validator = self.validator.with_options(options);
        self
    }

    /// Replaces the verified-token cache of the validator (on by default)
    /// with one of `capacity` entries, each kept for at most `max_ttl` (see
    /// [`TokenValidator::with_verified_cache`]): a token seen again skips
    /// its signature check while its key is still in the key set; every
    /// claim is still checked.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scalekit_core::{Scalekit, ScalekitConfig};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let scalekit = Scalekit::new(config)?;
    /// assert!(scalekit.validator().has_verified_cache());
    /// let larger = scalekit.clone().with_verified_token_cache(100_000, Duration::from_secs(60));
    /// assert!(larger.validator().has_verified_cache());
    /// assert!(!scalekit.without_verified_token_cache().validator().has_verified_cache());
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn with_verified_token_cache(
        mut self,
        capacity: u64,
        max_ttl: std::time::Duration,
    ) -> Self {
        self.validator = self.validator.with_verified_cache(capacity, max_ttl);
        self
    }

    /// Turns the verified-token cache off: every token's signature is
    /// checked on every call.
    pub fn without_verified_token_cache(mut self) -> Self {
        self.validator = self.validator.without_verified_cache();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ScalekitConfig {
        &self.config
    }

    /// The HTTP client used for platform calls.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The token validator.
    pub fn validator(&self) -> &TokenValidator {
        &self.validator
    }

    /// Validates a token and returns its claims (the SDK's `validateToken`).
    pub async fn validate_token<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<C, ValidationError> {
        self.validator.validate(token).await
    }

    /// Whether an access token is valid (the SDK's `validateAccessToken`).
    pub async fn validate_access_token(&self, token: &str) -> bool {
        self.validator
            .validate::<AccessTokenClaims>(token)
            .await
            .is_ok()
    }

    /// Whether a token is valid and grants every one of `scopes` (the SDK's
    /// `verifyScopes`). Unlike the Node SDK, the token is verified first: an
    /// unverified token grants nothing.
    pub async fn verify_scopes(&self, token: &str, scopes: &[&str]) -> bool {
        match self.validator.validate::<AccessTokenClaims>(token).await {
            Ok(claims) => Requirement::scopes_all(scopes.iter().copied())
                .check_claims(&claims)
                .is_ok(),
            Err(_) => false,
        }
    }
}
