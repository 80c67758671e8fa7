//! The authorization URL (PROTOCOL.md §3), the logout URL (§8), and the
//! PKCE, `state` and `nonce` generators.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::config::{Endpoint, ScalekitConfig};

/// What the official SDK's query strings leave unencoded: RFC 3986
/// unreserved characters. Space becomes `%20`, `:` and `/` are encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `name=value` pairs, encoded as the official SDK encodes them.
pub(crate) fn push_query(out: &mut String, pairs: &[(&str, &str)]) {
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(utf8_percent_encode(name, QUERY_VALUE));
        out.push('=');
        out.extend(utf8_percent_encode(value, QUERY_VALUE));
    }
}

/// An `application/x-www-form-urlencoded` body with `%20` for spaces, fields
/// in the given order.
pub(crate) fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    push_query(&mut out, pairs);
    out
}

/// The value of an option, unless it is unset or empty.
fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// The default scopes of a login: `openid profile email`.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Options of an authorization URL. Unset (or empty) options are left out
/// of the URL.
///
/// ```
/// use scalekit_core::oauth::AuthorizationUrlOptions;
///
/// let options = AuthorizationUrlOptions {
///     state: Some("xyz".into()),
///     organization_id: Some("org_1".into()),
///     ..AuthorizationUrlOptions::default()
/// };
/// assert!(options.scopes.is_none()); // openid profile email
/// assert!(!format!("{options:?}").contains("xyz")); // state, nonce, challenge redacted
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthorizationUrlOptions {
    /// Scopes; `None` means `openid profile email`.
    pub scopes: Option<Vec<String>>,
    /// Anti-CSRF state.
    pub state: Option<String>,
    /// Nonce, echoed in the ID token.
    pub nonce: Option<String>,
    /// The user's email, as a hint.
    pub login_hint: Option<String>,
    /// An email domain; sent as `domain_hint` and as `domain`.
    pub domain_hint: Option<String>,
    /// An enterprise connection.
    pub connection_id: Option<String>,
    /// An organization.
    pub organization_id: Option<String>,
    /// PKCE code challenge.
    pub code_challenge: Option<String>,
    /// PKCE method (`S256`).
    pub code_challenge_method: Option<String>,
    /// A social provider (`google`, `microsoft`, …).
    pub provider: Option<String>,
    /// `login`, `create`, `select_account` or `consent`.
    pub prompt: Option<String>,
}

impl std::fmt::Debug for AuthorizationUrlOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::util::redact;
        f.debug_struct("AuthorizationUrlOptions")
            .field("scopes", &self.scopes)
            .field("state", &redact(&self.state))
            .field("nonce", &redact(&self.nonce))
            .field("login_hint", &redact(&self.login_hint))
            .field("domain_hint", &self.domain_hint)
            .field("connection_id", &self.connection_id)
            .field("organization_id", &self.organization_id)
            .field("code_challenge", &redact(&self.code_challenge))
            .field("code_challenge_method", &self.code_challenge_method)
            .field("provider", &self.provider)
            .field("prompt", &self.prompt)
            .finish()
    }
}

/// Builds the authorization URL, byte for byte as the official Node SDK's
/// `getAuthorizationUrl` does for the same inputs: parameters in the
/// documented order, only those that are set, RFC 3986 encoding.
///
/// ```
/// use scalekit_core::ScalekitConfig;
/// use scalekit_core::oauth::{AuthorizationUrlOptions, authorization_url};
///
/// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
/// let url = authorization_url(&config, "https://app.example.com/cb", &AuthorizationUrlOptions {
///     domain_hint: Some("example.com".into()),
///     ..Default::default()
/// });
/// assert_eq!(url, "https://acme.scalekit.dev/oauth/authorize?response_type=code&client_id=skc_1\
/// &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&scope=openid%20profile%20email\
/// &domain_hint=example.com&domain=example.com");
/// # Ok::<(), scalekit_core::ConfigError>(())
/// ```
pub fn authorization_url(
    config: &ScalekitConfig,
    redirect_uri: &str,
    options: &AuthorizationUrlOptions,
) -> String {
    let scope = match &options.scopes {
        Some(scopes) => scopes.join(" "),
        None => DEFAULT_SCOPES.join(" "),
    };
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", config.client_id()),
        ("redirect_uri", redirect_uri),
        ("scope", &scope),
    ];
    let optional = [
        ("state", set(&options.state)),
        ("nonce", set(&options.nonce)),
        ("login_hint", set(&options.login_hint)),
        ("domain_hint", set(&options.domain_hint)),
        ("domain", set(&options.domain_hint)),
        ("connection_id", set(&options.connection_id)),
        ("organization_id", set(&options.organization_id)),
        ("code_challenge", set(&options.code_challenge)),
        ("code_challenge_method", set(&options.code_challenge_method)),
        ("provider", set(&options.provider)),
        ("prompt", set(&options.prompt)),
    ];
    pairs.extend(
        optional
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?))),
    );
    let mut url = String::from(config.endpoint_url(Endpoint::Authorize));
    url.push('?');
    push_query(&mut url, &pairs);
    url
}

/// Options of the logout URL (PROTOCOL.md §8). Its `Debug` leaves the ID
/// token and the state out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LogoutUrlOptions {
    /// The ID token of the session being ended.
    pub id_token_hint: Option<String>,
    /// Where the platform sends the browser afterwards (absolute and
    /// registered).
    pub post_logout_redirect_uri: Option<String>,
    /// Opaque state echoed to the post-logout URI.
    pub state: Option<String>,
}

impl std::fmt::Debug for LogoutUrlOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogoutUrlOptions")
            .field("id_token_hint", &crate::util::redact(&self.id_token_hint))
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("state", &crate::util::redact(&self.state))
            .finish()
    }
}

/// Builds the logout URL: `/oidc/logout` with `id_token_hint`,
/// `post_logout_redirect_uri` and `state`, each only when set.
///
/// ```
/// use scalekit_core::ScalekitConfig;
/// use scalekit_core::oauth::{LogoutUrlOptions, logout_url};
///
/// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
/// assert_eq!(logout_url(&config, &LogoutUrlOptions::default()), "https://acme.scalekit.dev/oidc/logout");
/// let url = logout_url(&config, &LogoutUrlOptions {
///     post_logout_redirect_uri: Some("https://app.example.com/".into()),
///     state: Some("s".into()),
///     ..Default::default()
/// });
/// assert_eq!(url, "https://acme.scalekit.dev/oidc/logout?post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2F&state=s");
/// # Ok::<(), scalekit_core::ConfigError>(())
/// ```
pub fn logout_url(config: &ScalekitConfig, options: &LogoutUrlOptions) -> String {
    let pairs: Vec<(&str, &str)> = [
        ("id_token_hint", set(&options.id_token_hint)),
        (
            "post_logout_redirect_uri",
            set(&options.post_logout_redirect_uri),
        ),
        ("state", set(&options.state)),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .collect();
    let mut url = String::from(config.endpoint_url(Endpoint::Logout));
    if !pairs.is_empty() {
        url.push('?');
        push_query(&mut url, &pairs);
    }
    url
}

/// The system random source failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random source failed")]
pub struct RandomError;

/// `bytes` random bytes from the OS source, base64url without padding.
fn random_token(bytes: usize) -> Result<String, RandomError> {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| RandomError)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// A fresh `state`: 256 bits from the OS random source, URL-safe.
///
/// ```
/// let a = scalekit_core::oauth::generate_state()?;
/// assert_eq!(a.len(), 43);
/// assert_ne!(a, scalekit_core::oauth::generate_state()?);
/// # Ok::<(), scalekit_core::oauth::RandomError>(())
/// ```
pub fn generate_state() -> Result<String, RandomError> {
    random_token(32)
}

/// A fresh `nonce`: 256 bits from the OS random source, URL-safe.
pub fn generate_nonce() -> Result<String, RandomError> {
    random_token(32)
}

/// A PKCE pair (RFC 7636, `S256` only). The example is the RFC's Appendix B vector.
///
/// ```
/// use scalekit_core::oauth::Pkce;
///
/// let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
/// assert_eq!(pkce.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// assert_eq!(pkce.method(), "S256");
/// let fresh = Pkce::generate()?;
/// assert_eq!(fresh.verifier().len(), 43);
/// # Ok::<(), scalekit_core::oauth::RandomError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"***")
            .field("challenge", &self.challenge)
            .finish()
    }
}

impl Pkce {
    /// A fresh verifier (256 bits, 43 characters) and its challenge.
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Self::from_verifier(&random_token(32)?))
    }

    /// The pair for a known verifier.
    pub fn from_verifier(verifier: &str) -> Self {
        let digest = digest::digest(&digest::SHA256, verifier.as_bytes());
        Pkce {
            verifier: verifier.to_owned(),
            challenge: URL_SAFE_NO_PAD.encode(digest.as_ref()),
        }
    }

    /// The verifier, kept secret until the code exchange.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// The challenge sent in the authorization URL.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// Always `S256`.
    pub fn method(&self) -> &'static str {
        "S256"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_rfc3986_unreserved() {
        assert_eq!(
            form_body(&[("a b", "x:y/z~-._!*'()")]),
            "a%20b=x%3Ay%2Fz~-._%21%2A%27%28%29"
        );
        assert_eq!(form_body(&[("k", "é")]), "k=%C3%A9");
    }
}
