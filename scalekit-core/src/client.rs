//! [`Scalekit`]: one value built from the configuration, holding the JWKS
//! cache and the validator, with the official SDK's method names as helpers.

use serde::de::DeserializeOwned;

use crate::authz::Requirement;
use crate::claims::AccessTokenClaims;
use crate::config::{ConfigError, ConfigProblem, Endpoint, ScalekitConfig};
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
    /// A client for `config`, with default JWKS options and HTTP client.
    pub fn new(config: ScalekitConfig) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|_| ConfigError::new("HTTP client", ConfigProblem::HttpClient))?;
        Self::with_http_client(config, http, JwksOptions::default())
    }

    /// A client for `config` using `http` for every platform call.
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
        let options = ValidationOptions::new(config.environment_url());
        Ok(Scalekit {
            validator: TokenValidator::new(cache, options),
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

    /// Turns on the verified-token cache of the validator (see
    /// [`TokenValidator::with_verified_cache`]): a token seen again within
    /// `ttl` skips its signature check; every claim is still checked.
    pub fn with_verified_token_cache(mut self, capacity: u64, ttl: std::time::Duration) -> Self {
        self.validator = self.validator.with_verified_cache(capacity, ttl);
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
