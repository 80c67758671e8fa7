//! Configuration: the environment URL, the credentials and the endpoints
//! (PROTOCOL.md §1–§2).

use std::fmt;

use serde::Deserialize;
use url::Url;

/// Environment variable holding the environment URL.
pub const ENV_ENVIRONMENT_URL: &str = "SCALEKIT_ENVIRONMENT_URL";
/// Accepted alias of [`ENV_ENVIRONMENT_URL`].
pub const ENV_ENVIRONMENT_URL_ALIAS: &str = "SCALEKIT_ENV_URL";
/// Environment variable holding the client id.
pub const ENV_CLIENT_ID: &str = "SCALEKIT_CLIENT_ID";
/// Environment variable holding the client secret.
pub const ENV_CLIENT_SECRET: &str = "SCALEKIT_CLIENT_SECRET";

/// What is wrong with a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The value is absent.
    Missing,
    /// The value is empty or only whitespace.
    Empty,
    /// The value is not a URL.
    NotAUrl,
    /// The URL is not `https` (plain `http` is only for localhost).
    NotHttps,
    /// The URL has a query, a fragment or credentials.
    UnexpectedUrlParts,
    /// The HTTP client could not be initialised (no TLS backend, for example).
    HttpClient,
    /// The value is not a webhook secret: `whsec_` followed by base64.
    NotAWebhookSecret,
    /// The value is not a Redis URL (`redis://…` or `rediss://…`).
    NotARedisUrl,
    /// A Redis URL is set, but the crates were built without their `redis`
    /// feature.
    RedisNotBuilt,
    /// The value is not a comma-separated list of Redis URLs (the seed
    /// nodes of a cluster).
    NotARedisClusterUrlList,
    /// The value is not a PostgreSQL URL (`postgres://…`), or asks for TLS,
    /// which the PostgreSQL store does not build in.
    NotAPostgresUrl,
    /// The value is set, but the crates were built without the feature
    /// that reads it.
    NotBuilt {
        /// The crates' feature to enable.
        feature: &'static str,
    },
    /// Another setting that excludes this one is set too (two session
    /// stores).
    ConflictsWith {
        /// The other setting.
        other: &'static str,
    },
    /// The value is shorter than required.
    TooShort {
        /// Least length in bytes.
        min: usize,
    },
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigProblem::Missing => "is not set",
            ConfigProblem::Empty => "is empty",
            ConfigProblem::NotAUrl => "is not a valid URL",
            ConfigProblem::NotHttps => {
                "must be an https URL (plain http is only allowed for localhost, 127.0.0.1 and [::1])"
            }
            ConfigProblem::UnexpectedUrlParts => {
                "must not carry a query, a fragment or credentials"
            }
            ConfigProblem::HttpClient => "could not be initialised",
            ConfigProblem::NotAWebhookSecret => {
                "must be a webhook secret: whsec_ followed by the base64 of the key, as the dashboard shows it"
            }
            ConfigProblem::NotARedisUrl => {
                "must be a Redis URL: redis://host:port/db, or rediss:// for TLS"
            }
            ConfigProblem::RedisNotBuilt => {
                "is set, but this build has no Redis support: enable the `redis` feature of scalekit-axum, scalekit-actix or scalekit-core"
            }
            ConfigProblem::NotARedisClusterUrlList => {
                "must be the comma-separated seed nodes of a Redis cluster: redis://host:port, or rediss:// for TLS"
            }
            ConfigProblem::NotAPostgresUrl => {
                "must be a PostgreSQL URL without TLS: postgres://user:password@host:port/database"
            }
            ConfigProblem::NotBuilt { feature } => {
                return write!(
                    f,
                    "is set, but this build cannot use it: enable the `{feature}` feature of scalekit-axum, scalekit-actix or scalekit-core"
                );
            }
            ConfigProblem::ConflictsWith { other } => {
                return write!(
                    f,
                    "and {other} are both set: choose one session store and unset the other"
                );
            }
            ConfigProblem::TooShort { min } => {
                return write!(f, "must be at least {min} bytes long");
            }
        })
    }
}

/// A configuration error: which setting, and what is wrong with it. The
/// value itself is never included (it may be a secret).
///
/// ```
/// use scalekit_core::{ConfigError, ScalekitConfig};
///
/// let err = ScalekitConfig::new("http://acme.scalekit.dev", "skc_1", "secret").unwrap_err();
/// assert_eq!(err.setting(), "environment URL");
/// assert!(err.to_string().contains("https"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} {problem}")]
pub struct ConfigError {
    setting: &'static str,
    problem: ConfigProblem,
}

impl ConfigError {
    /// A new error about `setting` (a variable or setting name).
    pub fn new(setting: &'static str, problem: ConfigProblem) -> Self {
        ConfigError { setting, problem }
    }

    /// The variable or setting at fault.
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// What is wrong.
    pub fn problem(&self) -> ConfigProblem {
        self.problem
    }
}

/// A secret string: its `Debug` and `Display` are redacted.
///
/// ```
/// use scalekit_core::Secret;
///
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "Secret(***)");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the code that has to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The platform endpoints (PROTOCOL.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /oauth/authorize`.
    Authorize,
    /// `POST /oauth/token`.
    Token,
    /// `GET /keys`.
    Jwks,
    /// `GET /oidc/logout`.
    Logout,
}

impl Endpoint {
    /// The default path, relative to the environment URL.
    pub const fn default_path(self) -> &'static str {
        match self {
            Endpoint::Authorize => "/oauth/authorize",
            Endpoint::Token => "/oauth/token",
            Endpoint::Jwks => "/keys",
            Endpoint::Logout => "/oidc/logout",
        }
    }

    const fn setting(self) -> &'static str {
        match self {
            Endpoint::Authorize => "authorize endpoint",
            Endpoint::Token => "token endpoint",
            Endpoint::Jwks => "JWKS endpoint",
            Endpoint::Logout => "logout endpoint",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// The configuration of one Scalekit environment and one client.
///
/// ```
/// use scalekit_core::{Endpoint, ScalekitConfig};
///
/// let config = ScalekitConfig::new("https://acme.scalekit.dev/", "skc_123", "secret")?
///     .with_endpoint(Endpoint::Jwks, "/.well-known/jwks")?;
/// assert_eq!(config.environment_url(), "https://acme.scalekit.dev");
/// assert_eq!(config.endpoint_url(Endpoint::Jwks), "https://acme.scalekit.dev/.well-known/jwks");
/// assert_eq!(config.endpoint_url(Endpoint::Token), "https://acme.scalekit.dev/oauth/token");
/// # Ok::<(), scalekit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalekitConfig {
    environment_url: String,
    client_id: String,
    client_secret: Secret,
    endpoints: [String; 4],
}

impl ScalekitConfig {
    /// Validates and builds a configuration.
    pub fn new(
        environment_url: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Self, ConfigError> {
        Self::build(
            ("environment URL", environment_url),
            ("client id", client_id),
            ("client secret", client_secret),
        )
    }

    fn build(
        (url_name, url): (&'static str, &str),
        (id_name, id): (&'static str, &str),
        (secret_name, secret): (&'static str, &str),
    ) -> Result<Self, ConfigError> {
        let environment_url = parse_base_url(url_name, url)?;
        let client_id = non_empty(id_name, id)?;
        let client_secret = non_empty(secret_name, secret)?;
        let endpoints = [
            Endpoint::Authorize,
            Endpoint::Token,
            Endpoint::Jwks,
            Endpoint::Logout,
        ]
        .map(|e| format!("{environment_url}{}", e.default_path()));
        Ok(ScalekitConfig {
            environment_url,
            client_id: client_id.to_owned(),
            client_secret: Secret::new(client_secret),
            endpoints,
        })
    }

    /// Reads `SCALEKIT_ENVIRONMENT_URL` (or its alias `SCALEKIT_ENV_URL`),
    /// `SCALEKIT_CLIENT_ID` and `SCALEKIT_CLIENT_SECRET`.
    ///
    /// The error names the variable and what is wrong with it.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`ScalekitConfig::from_env`], reading variables through `lookup`.
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    ///
    /// let err = ScalekitConfig::from_lookup(|name| match name {
    ///     "SCALEKIT_ENV_URL" => Some("https://acme.scalekit.dev".into()),
    ///     "SCALEKIT_CLIENT_ID" => Some("  ".into()),
    ///     "SCALEKIT_CLIENT_SECRET" => Some("s3cret".into()),
    ///     _ => None,
    /// }).unwrap_err();
    /// assert_eq!(err.to_string(), "SCALEKIT_CLIENT_ID is empty");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let (url_name, url) = match lookup(ENV_ENVIRONMENT_URL) {
            Some(v) => (ENV_ENVIRONMENT_URL, v),
            None => match lookup(ENV_ENVIRONMENT_URL_ALIAS) {
                Some(v) => (ENV_ENVIRONMENT_URL_ALIAS, v),
                None => {
                    return Err(ConfigError::new(
                        ENV_ENVIRONMENT_URL,
                        ConfigProblem::Missing,
                    ));
                }
            },
        };
        let id =
            lookup(ENV_CLIENT_ID).ok_or(ConfigError::new(ENV_CLIENT_ID, ConfigProblem::Missing))?;
        let secret = lookup(ENV_CLIENT_SECRET)
            .ok_or(ConfigError::new(ENV_CLIENT_SECRET, ConfigProblem::Missing))?;
        Self::build(
            (url_name, &url),
            (ENV_CLIENT_ID, &id),
            (ENV_CLIENT_SECRET, &secret),
        )
    }

    /// Overrides one endpoint with a path (relative to the environment URL)
    /// or an absolute URL.
    pub fn with_endpoint(
        mut self,
        endpoint: Endpoint,
        path_or_url: &str,
    ) -> Result<Self, ConfigError> {
        let value = non_empty(endpoint.setting(), path_or_url)?;
        let resolved = if value.starts_with('/') {
            format!("{}{}", self.environment_url, value)
        } else {
            parse_base_url(endpoint.setting(), value)?
        };
        self.endpoints[endpoint.index()] = resolved;
        Ok(self)
    }

    /// The environment URL, without a trailing slash. It is also the token
    /// issuer.
    pub fn environment_url(&self) -> &str {
        &self.environment_url
    }

    /// The OAuth authorization server URL of the MCP server `resource_id`
    /// (`res_…`) in this environment: `{environment}/resources/{resource_id}`
    /// (PROTOCOL.md §10). It is the `issuer` of that server's RFC 8414
    /// metadata and the `iss` of the tokens issued for it.
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev/", "skc_1", "secret")?;
    /// assert_eq!(
    ///     config.mcp_authorization_server("res_42"),
    ///     "https://acme.scalekit.dev/resources/res_42"
    /// );
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn mcp_authorization_server(&self, resource_id: &str) -> String {
        format!("{}/resources/{resource_id}", self.environment_url)
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret.
    pub fn client_secret(&self) -> &Secret {
        &self.client_secret
    }

    /// The absolute URL of an endpoint.
    pub fn endpoint_url(&self, endpoint: Endpoint) -> &str {
        &self.endpoints[endpoint.index()]
    }

    /// Reads `/.well-known/openid-configuration` and takes the endpoints it
    /// names (the issuer must be the environment URL). Explicit overrides
    /// made afterwards still apply.
    pub async fn discover(mut self, http: &reqwest::Client) -> Result<Self, DiscoveryError> {
        #[derive(Deserialize)]
        struct Document {
            issuer: String,
            authorization_endpoint: Option<String>,
            token_endpoint: Option<String>,
            jwks_uri: Option<String>,
            end_session_endpoint: Option<String>,
        }
        use crate::http::{ReadError, not_redirected, read_bounded};
        let classify = |err: ReadError| match err {
            ReadError::Redirect(status) => DiscoveryError::Redirect(status),
            ReadError::TooLarge => DiscoveryError::TooLarge,
            ReadError::Timeout | ReadError::Connect => DiscoveryError::Unreachable,
        };
        let url = format!("{}/.well-known/openid-configuration", self.environment_url);
        let response = http
            .get(&url)
            .send()
            .await
            .map_err(|_| DiscoveryError::Unreachable)?;
        not_redirected(&url, &response).map_err(classify)?;
        if !response.status().is_success() {
            return Err(DiscoveryError::Status(response.status().as_u16()));
        }
        let body = read_bounded(response, crate::http::MAX_PLATFORM_RESPONSE_BYTES)
            .await
            .map_err(classify)?;
        let doc: Document =
            serde_json::from_slice(&body).map_err(|_| DiscoveryError::InvalidDocument)?;
        if doc.issuer.trim_end_matches('/') != self.environment_url {
            return Err(DiscoveryError::IssuerMismatch);
        }
        for (endpoint, value) in [
            (Endpoint::Authorize, doc.authorization_endpoint),
            (Endpoint::Token, doc.token_endpoint),
            (Endpoint::Jwks, doc.jwks_uri),
            (Endpoint::Logout, doc.end_session_endpoint),
        ] {
            if let Some(value) = value {
                self.endpoints[endpoint.index()] = parse_base_url(endpoint.setting(), &value)
                    .map_err(DiscoveryError::InvalidEndpoint)?;
            }
        }
        Ok(self)
    }
}

/// Why OIDC discovery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The discovery document could not be fetched.
    #[error("the discovery document could not be fetched")]
    Unreachable,
    /// The endpoint answered with a non-success status.
    #[error("the discovery endpoint answered HTTP {0}")]
    Status(u16),
    /// The endpoint answered with a redirect (never followed).
    #[error("the discovery endpoint answered with a redirect (HTTP {0}), not followed")]
    Redirect(u16),
    /// The document is larger than the limit.
    #[error("the discovery document is larger than the limit")]
    TooLarge,
    /// The document is not valid discovery JSON.
    #[error("the discovery document is invalid")]
    InvalidDocument,
    /// The document's issuer is not the environment URL.
    #[error("the discovery document names another issuer")]
    IssuerMismatch,
    /// An endpoint of the document is not an acceptable URL.
    #[error("the discovery document has an invalid endpoint: {0}")]
    InvalidEndpoint(ConfigError),
}

fn non_empty<'a>(setting: &'static str, value: &'a str) -> Result<&'a str, ConfigError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::new(setting, ConfigProblem::Empty));
    }
    Ok(trimmed)
}

/// Parses an `https` URL (plain `http` only for loopback hosts) and returns
/// it without a trailing slash.
fn parse_base_url(setting: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = non_empty(setting, value)?;
    let url = Url::parse(value).map_err(|_| ConfigError::new(setting, ConfigProblem::NotAUrl))?;
    if url.host().is_none() {
        return Err(ConfigError::new(setting, ConfigProblem::NotAUrl));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        "http" => return Err(ConfigError::new(setting, ConfigProblem::NotHttps)),
        _ => return Err(ConfigError::new(setting, ConfigProblem::NotHttps)),
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(ConfigError::new(setting, ConfigProblem::UnexpectedUrlParts));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Whether the URL's host is `localhost`, `127.0.0.1` or `[::1]`.
pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(url: &str) -> ConfigProblem {
        ScalekitConfig::new(url, "skc_1", "s")
            .unwrap_err()
            .problem()
    }

    #[test]
    fn environment_url_rules() {
        assert_eq!(err(""), ConfigProblem::Empty);
        assert_eq!(err("acme.scalekit.dev"), ConfigProblem::NotAUrl);
        assert_eq!(err("http://acme.scalekit.dev"), ConfigProblem::NotHttps);
        assert_eq!(err("ftp://acme.scalekit.dev"), ConfigProblem::NotHttps);
        assert_eq!(
            err("https://acme.scalekit.dev?x=1"),
            ConfigProblem::UnexpectedUrlParts
        );
        assert_eq!(
            err("https://u:p@acme.scalekit.dev"),
            ConfigProblem::UnexpectedUrlParts
        );
        for ok in [
            "https://acme.scalekit.dev/",
            "https://auth.example.com",
            "http://localhost:8080",
            "http://127.0.0.1:9000/",
            "http://[::1]:9000",
        ] {
            assert!(ScalekitConfig::new(ok, "skc_1", "s").is_ok(), "{ok}");
        }
    }

    #[test]
    fn env_lookup_names_the_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let e = ScalekitConfig::from_lookup(env(&[])).unwrap_err();
        assert_eq!(e.to_string(), "SCALEKIT_ENVIRONMENT_URL is not set");
        let e = ScalekitConfig::from_lookup(env(&[
            ("SCALEKIT_ENVIRONMENT_URL", "http://acme.scalekit.dev"),
            ("SCALEKIT_CLIENT_ID", "skc_1"),
            ("SCALEKIT_CLIENT_SECRET", "s"),
        ]))
        .unwrap_err();
        assert_eq!(e.setting(), "SCALEKIT_ENVIRONMENT_URL");
        assert_eq!(e.problem(), ConfigProblem::NotHttps);
        let e = ScalekitConfig::from_lookup(env(&[
            ("SCALEKIT_ENV_URL", "not a url"),
            ("SCALEKIT_CLIENT_ID", "skc_1"),
            ("SCALEKIT_CLIENT_SECRET", "s"),
        ]))
        .unwrap_err();
        assert_eq!(e.to_string(), "SCALEKIT_ENV_URL is not a valid URL");
        let e = ScalekitConfig::from_lookup(env(&[
            ("SCALEKIT_ENVIRONMENT_URL", "https://acme.scalekit.dev"),
            ("SCALEKIT_CLIENT_ID", "skc_1"),
        ]))
        .unwrap_err();
        assert_eq!(e.to_string(), "SCALEKIT_CLIENT_SECRET is not set");
        let ok = ScalekitConfig::from_lookup(env(&[
            ("SCALEKIT_ENVIRONMENT_URL", "https://acme.scalekit.dev/"),
            ("SCALEKIT_CLIENT_ID", "skc_1"),
            ("SCALEKIT_CLIENT_SECRET", "s3cret"),
        ]))
        .unwrap();
        assert_eq!(ok.environment_url(), "https://acme.scalekit.dev");
        assert!(!format!("{ok:?}").contains("s3cret"));
    }

    #[test]
    fn endpoint_overrides() {
        let c = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "s").unwrap();
        let c = c
            .with_endpoint(Endpoint::Token, "https://other.example/oauth2/token")
            .unwrap();
        assert_eq!(
            c.endpoint_url(Endpoint::Token),
            "https://other.example/oauth2/token"
        );
        assert_eq!(
            c.endpoint_url(Endpoint::Logout),
            "https://acme.scalekit.dev/oidc/logout"
        );
        assert_eq!(
            c.clone()
                .with_endpoint(Endpoint::Jwks, "http://other.example/keys")
                .unwrap_err()
                .problem(),
            ConfigProblem::NotHttps
        );
        assert_eq!(
            c.with_endpoint(Endpoint::Jwks, " ")
                .unwrap_err()
                .to_string(),
            "JWKS endpoint is empty"
        );
    }
}
