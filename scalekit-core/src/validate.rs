//! Token validation: a compact JWT in, typed claims or a typed error out.
//!
//! The order of checks is fixed: size, structure, header (`alg` on the
//! allow-list, no unknown `crit`), key lookup, signature, and only then the
//! payload is parsed and its claims (`exp`, `nbf`, `iss`, `aud`) checked.

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::{AccessTokenClaims, StringOrList};
use crate::front::{self, Front};
use crate::jwk::{KeySet, SignatureError, VerifyingKey};
use crate::jwks::{JwksCache, KeyLookupError};
use crate::outcome::{Challenge, ErrorOutcome};

/// Default largest accepted token, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Default clock leeway for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// How a token is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Longer than the configured limit.
    #[error("the token is larger than the limit")]
    TooLarge,
    /// Not three dot-separated parts (or not compact serialization at all).
    #[error("the token is not a compact JWS")]
    NotCompact,
    /// A part is not unpadded base64url.
    #[error("a part of the token is not base64url")]
    Base64,
    /// The header is not a JSON object with a string `alg`.
    #[error("the token header is invalid")]
    Header,
    /// The payload is not a JSON object.
    #[error("the token payload is not a JSON object")]
    PayloadNotJson,
    /// The payload is JSON, but its claims do not have the expected shape.
    #[error("the token claims do not have the expected shape")]
    Claims,
}

/// Why a token was refused. Each variant maps to an RFC 6750 answer through
/// [`ValidationError::outcome`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The token is not a well-formed JWT.
    #[error("malformed token: {0}")]
    Malformed(#[from] Malformed),
    /// `alg` is not on the allow-list (this covers `none` and `HS*`).
    #[error("unsupported or disallowed algorithm")]
    UnsupportedAlgorithm,
    /// The header has a `crit` parameter: no extension is understood.
    #[error("unsupported critical header parameter")]
    UnsupportedCriticalHeader,
    /// No key with the token's `kid`, even after refetching the key set.
    #[error("unknown signing key")]
    UnknownKey {
        /// The `kid` of the token header (capped at 128 bytes).
        kid: Option<String>,
    },
    /// The token's `alg` does not fit the key with its `kid`.
    #[error("the algorithm does not fit the signing key")]
    KeyAlgorithmMismatch,
    /// The signature does not verify.
    #[error("invalid signature")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// A required claim is missing.
    #[error("the token lacks the required claim {0}")]
    MissingClaim(&'static str),
    /// `iss` is not an accepted issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` contains none of the accepted audiences.
    #[error("wrong audience")]
    WrongAudience,
    /// The token is not of the expected kind: an ID token or an
    /// IdP-initiated login token presented as an access token, for example.
    #[error("the token is not of the expected kind")]
    WrongTokenType,
    /// The signing keys could not be fetched and none are cached.
    #[error("signing keys are unavailable")]
    KeysUnavailable,
}

impl ValidationError {
    /// A short, fixed name of the reason, for logs and metric labels
    /// (`expired`, `bad_signature`, `wrong_audience`, …).
    ///
    /// ```
    /// assert_eq!(scalekit_core::ValidationError::Expired.reason(), "expired");
    /// ```
    pub fn reason(&self) -> &'static str {
        match self {
            ValidationError::Malformed(_) => "malformed",
            ValidationError::UnsupportedAlgorithm => "unsupported_algorithm",
            ValidationError::UnsupportedCriticalHeader => "unsupported_critical_header",
            ValidationError::UnknownKey { .. } => "unknown_key",
            ValidationError::KeyAlgorithmMismatch => "key_algorithm_mismatch",
            ValidationError::BadSignature => "bad_signature",
            ValidationError::Expired => "expired",
            ValidationError::NotYetValid => "not_yet_valid",
            ValidationError::MissingClaim(_) => "missing_claim",
            ValidationError::WrongIssuer => "wrong_issuer",
            ValidationError::WrongAudience => "wrong_audience",
            ValidationError::WrongTokenType => "wrong_token_type",
            ValidationError::KeysUnavailable => "keys_unavailable",
        }
    }

    /// The RFC 6750 answer to this failure: `401 invalid_token` with a
    /// fixed description, or `503` with `Retry-After` when the keys are
    /// unavailable.
    ///
    /// ```
    /// use scalekit_core::{ValidationError, outcome::Challenge};
    ///
    /// let o = ValidationError::Expired.outcome(&Challenge::new("api"));
    /// assert_eq!(o.status, 401);
    /// assert_eq!(o.body.error_description, "The access token has expired.");
    /// assert_eq!(ValidationError::KeysUnavailable.outcome(&Challenge::new("api")).status, 503);
    /// ```
    pub fn outcome(&self, challenge: &Challenge) -> ErrorOutcome {
        let description = match self {
            ValidationError::KeysUnavailable => return ErrorOutcome::keys_unavailable(5),
            ValidationError::Malformed(_) => "The access token is malformed.",
            ValidationError::UnsupportedAlgorithm
            | ValidationError::UnsupportedCriticalHeader
            | ValidationError::KeyAlgorithmMismatch => {
                "The access token uses an unsupported algorithm."
            }
            ValidationError::UnknownKey { .. } | ValidationError::BadSignature => {
                "The access token signature is invalid."
            }
            ValidationError::Expired => "The access token has expired.",
            ValidationError::NotYetValid => "The access token is not valid yet.",
            ValidationError::MissingClaim(_) => "The access token lacks a required claim.",
            ValidationError::WrongIssuer => "The access token was issued by an unexpected issuer.",
            ValidationError::WrongAudience => "The access token is not meant for this audience.",
            ValidationError::WrongTokenType => "The token is not an access token.",
        };
        ErrorOutcome::invalid_token(challenge, description)
    }
}

/// What kind of token a validation expects. The claims decide, after the
/// signature verified: tokens of one kind are never accepted as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenPurpose {
    /// An access token (the default): it has a `sub`, and none of the marks
    /// of an ID token (`nonce`, `at_hash`, `c_hash`, or `azp` without
    /// `client_id`).
    #[default]
    Access,
    /// An ID token: it has a `sub`.
    Id,
    /// An `idp_initiated_login` token (PROTOCOL.md §6): no `sub`, no
    /// `nonce`, and an `organization_id` or a `connection_id`.
    IdpInitiatedLogin,
    /// Any token of the accepted issuers: no kind check.
    Any,
}

/// Which `aud` values a validation accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Audiences {
    /// `aud` must contain one of these (none listed: nothing is accepted).
    AnyOf(Vec<String>),
    /// `aud` is not checked (explicit opt-out).
    Unchecked,
}

/// What a token must satisfy, besides a valid signature.
///
/// The audience is checked by default: `aud` must contain one of the
/// audiences added with [`ValidationOptions::audience`]; with none added,
/// every token is refused until the application says which audiences it
/// accepts, or opts out with [`ValidationOptions::any_audience`].
///
/// ```
/// use std::time::Duration;
/// use scalekit_core::{Algorithm, AlgorithmSet, ValidationOptions};
///
/// let options = ValidationOptions::new("https://acme.scalekit.dev/")
///     .also_issuer("https://auth.acme.com")
///     .audience("skc_123")
///     .leeway(Duration::from_secs(30))
///     .algorithms(AlgorithmSet::from_iter([Algorithm::RS256, Algorithm::PS256]));
/// assert!(options.accepts_issuer("https://acme.scalekit.dev"));
/// assert!(options.accepts_issuer("https://auth.acme.com/"));
/// assert!(options.accepts_audience(&["skc_123"]));
/// assert!(!options.accepts_audience(&["skc_other"]));
/// ```
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    issuers: Vec<String>,
    audiences: Audiences,
    purpose: TokenPurpose,
    algorithms: AlgorithmSet,
    leeway: Duration,
    max_token_bytes: usize,
}

impl ValidationOptions {
    /// Options that accept access tokens from `issuer` (the environment
    /// URL; a trailing slash does not matter), `RS256` only, with a 60 s
    /// leeway and a 16 KiB size limit, and no audience yet: add the
    /// accepted ones with [`ValidationOptions::audience`].
    pub fn new(issuer: impl AsRef<str>) -> Self {
        ValidationOptions {
            issuers: vec![normalize_issuer(issuer.as_ref()).to_owned()],
            audiences: Audiences::AnyOf(Vec::new()),
            purpose: TokenPurpose::Access,
            algorithms: AlgorithmSet::default(),
            leeway: DEFAULT_LEEWAY,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Accepts one more issuer (a custom domain, for example).
    pub fn also_issuer(mut self, issuer: impl AsRef<str>) -> Self {
        self.issuers
            .push(normalize_issuer(issuer.as_ref()).to_owned());
        self
    }

    /// Accepts tokens whose `aud` contains this audience, or any other one
    /// added the same way (any-of). After [`ValidationOptions::any_audience`]
    /// this turns the audience check back on with this audience alone.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        let audience = audience.into();
        match &mut self.audiences {
            Audiences::AnyOf(list) => {
                if !list.contains(&audience) {
                    list.push(audience);
                }
            }
            Audiences::Unchecked => self.audiences = Audiences::AnyOf(vec![audience]),
        }
        self
    }

    /// Accepts tokens whose `aud` contains this audience, replacing any
    /// audience set before.
    pub fn only_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences = Audiences::AnyOf(vec![audience.into()]);
        self
    }

    /// Accepts any audience: the explicit opt-out of the audience check,
    /// for a service that accepts every token of its environment whoever it
    /// was issued to. Logs a warning (once per call, at configuration time).
    pub fn any_audience(mut self) -> Self {
        tracing::warn!(
            "token audience check disabled (any_audience): tokens issued to any client of the environment are accepted"
        );
        self.audiences = Audiences::Unchecked;
        self
    }

    /// Exactly these audiences (none: nothing is accepted).
    pub(crate) fn only_audiences(mut self, audiences: Vec<String>) -> Self {
        self.audiences = Audiences::AnyOf(Vec::new());
        for audience in audiences {
            self = self.audience(audience);
        }
        self
    }

    /// No audience check, without the warning: for tokens that carry no
    /// audience by design (IdP-initiated login tokens).
    pub(crate) fn without_audience_check(mut self) -> Self {
        self.audiences = Audiences::Unchecked;
        self
    }

    /// Sets the kind of token expected (default [`TokenPurpose::Access`]).
    pub fn purpose(mut self, purpose: TokenPurpose) -> Self {
        self.purpose = purpose;
        self
    }

    /// Replaces the algorithm allow-list.
    pub fn algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// Sets the clock leeway for `exp` and `nbf`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets the largest accepted token, in bytes.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The accepted issuers, without trailing slashes.
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// The accepted audiences (empty when any audience is accepted, or when
    /// none was configured yet; see [`ValidationOptions::checks_audience`]).
    pub fn audiences(&self) -> &[String] {
        match &self.audiences {
            Audiences::AnyOf(list) => list,
            Audiences::Unchecked => &[],
        }
    }

    /// Whether `aud` is checked (`false` only after
    /// [`ValidationOptions::any_audience`]).
    pub fn checks_audience(&self) -> bool {
        matches!(self.audiences, Audiences::AnyOf(_))
    }

    /// Whether a token with these `aud` values would pass the audience check.
    pub fn accepts_audience<S: AsRef<str>>(&self, aud: &[S]) -> bool {
        match &self.audiences {
            Audiences::Unchecked => true,
            Audiences::AnyOf(list) => list.iter().any(|a| aud.iter().any(|t| t.as_ref() == a)),
        }
    }

    /// The kind of token expected.
    pub fn token_purpose(&self) -> TokenPurpose {
        self.purpose
    }

    /// The algorithm allow-list.
    pub fn allowed_algorithms(&self) -> AlgorithmSet {
        self.algorithms
    }

    /// Whether `iss` is one of the accepted issuers (trailing slash ignored).
    pub fn accepts_issuer(&self, iss: &str) -> bool {
        let iss = normalize_issuer(iss);
        self.issuers.iter().any(|i| i == iss)
    }
}

fn normalize_issuer(iss: &str) -> &str {
    iss.trim_end_matches('/')
}

/// Where a validator gets its verification keys.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A fixed key set (air-gapped use, tests).
    Static(Arc<KeySet>),
    /// A remote JWKS, cached.
    Remote(JwksCache),
    /// One source per issuer (compared without trailing slash): the token's
    /// `iss` picks the source, and a token from an issuer not in the map is
    /// refused as [`ValidationError::WrongIssuer`].
    PerIssuer(Arc<HashMap<String, KeySource>>),
}

impl From<KeySet> for KeySource {
    fn from(set: KeySet) -> Self {
        KeySource::Static(Arc::new(set))
    }
}

impl From<JwksCache> for KeySource {
    fn from(cache: JwksCache) -> Self {
        KeySource::Remote(cache)
    }
}

impl KeySource {
    /// Keys per issuer.
    pub fn per_issuer<I, S>(sources: I) -> Self
    where
        I: IntoIterator<Item = (S, KeySource)>,
        S: AsRef<str>,
    {
        KeySource::PerIssuer(Arc::new(
            sources
                .into_iter()
                .map(|(iss, src)| (normalize_issuer(iss.as_ref()).to_owned(), src))
                .collect(),
        ))
    }

    fn resolve<'a>(&'a self, payload: &[u8]) -> Result<&'a KeySource, ValidationError> {
        match self {
            KeySource::PerIssuer(map) => {
                #[derive(Deserialize)]
                struct Iss {
                    iss: Option<String>,
                }
                let iss: Iss =
                    serde_json::from_slice(payload).map_err(|_| Malformed::PayloadNotJson)?;
                let iss = iss.iss.ok_or(ValidationError::MissingClaim("iss"))?;
                let source = map
                    .get(normalize_issuer(&iss))
                    .ok_or(ValidationError::WrongIssuer)?;
                match source {
                    KeySource::PerIssuer(_) => Err(ValidationError::WrongIssuer),
                    other => Ok(other),
                }
            }
            other => Ok(other),
        }
    }

    /// Whether the key set of `iss` still holds exactly `key` for
    /// (`kid`, `alg`): a verified-token cache entry is usable only while the
    /// key that signed it has not left the key set.
    fn holds(
        &self,
        iss: Option<&str>,
        kid: Option<&str>,
        alg: Algorithm,
        key: &Arc<VerifyingKey>,
    ) -> bool {
        match self {
            KeySource::Static(set) => set.find(kid, alg).is_some_and(|k| Arc::ptr_eq(k, key)),
            KeySource::Remote(cache) => cache.holds(kid, alg, key),
            KeySource::PerIssuer(map) => match iss.and_then(|iss| map.get(normalize_issuer(iss))) {
                Some(KeySource::PerIssuer(_)) | None => false,
                Some(source) => source.holds(None, kid, alg, key),
            },
        }
    }

    async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, ValidationError> {
        let unknown = || ValidationError::UnknownKey {
            kid: kid.map(|k| truncate(k, 128).to_owned()),
        };
        match self {
            KeySource::Static(set) => set.find(kid, alg).cloned().ok_or_else(unknown),
            KeySource::Remote(cache) => cache.key(kid, alg).await.map_err(|e| match e {
                KeyLookupError::Unknown => unknown(),
                KeyLookupError::Unavailable => ValidationError::KeysUnavailable,
            }),
            KeySource::PerIssuer(_) => Err(ValidationError::WrongIssuer),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A compact JWS split and decoded, its header checked, not yet verified.
#[derive(Debug)]
pub struct DecodedJws<'t> {
    alg: Algorithm,
    kid: Option<String>,
    signing_input: &'t str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'t> DecodedJws<'t> {
    /// Splits and decodes `token`, checking its size, its structure and its
    /// header against the allow-list.
    pub fn decode(
        token: &'t str,
        algorithms: AlgorithmSet,
        max_token_bytes: usize,
    ) -> Result<Self, ValidationError> {
        if token.len() > max_token_bytes {
            return Err(Malformed::TooLarge.into());
        }
        let (signing_input, signature_b64) = token.rsplit_once('.').ok_or(Malformed::NotCompact)?;
        let (header_b64, payload_b64) =
            signing_input.split_once('.').ok_or(Malformed::NotCompact)?;
        if payload_b64.contains('.') {
            return Err(Malformed::NotCompact.into());
        }

        #[derive(Deserialize)]
        struct Header {
            alg: String,
            #[serde(default)]
            kid: Option<String>,
            #[serde(default)]
            crit: Option<serde::de::IgnoredAny>,
        }
        let header_bytes = b64(header_b64)?;
        // A JOSE header is a JSON object; serde would read an array positionally.
        if header_bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(Malformed::Header.into());
        }
        // JSON text is UTF-8, and serde_json does not check the members it skips.
        let header_text = std::str::from_utf8(&header_bytes).map_err(|_| Malformed::Header)?;
        let header: Header = serde_json::from_str(header_text).map_err(|_| Malformed::Header)?;
        let alg: Algorithm = header
            .alg
            .parse()
            .map_err(|_| ValidationError::UnsupportedAlgorithm)?;
        if !algorithms.contains(alg) {
            return Err(ValidationError::UnsupportedAlgorithm);
        }
        if header.crit.is_some() {
            return Err(ValidationError::UnsupportedCriticalHeader);
        }
        Ok(DecodedJws {
            alg,
            kid: header.kid,
            signing_input,
            payload: b64(payload_b64)?,
            signature: b64(signature_b64)?,
        })
    }

    /// The header's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The header's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Verifies the signature with `key` and returns the payload bytes.
    pub fn verify(self, key: &VerifyingKey) -> Result<Vec<u8>, ValidationError> {
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
            .map_err(|e| match e {
                SignatureError::AlgorithmMismatch => ValidationError::KeyAlgorithmMismatch,
                SignatureError::Invalid => ValidationError::BadSignature,
            })?;
        Ok(self.payload)
    }
}

fn b64(part: &str) -> Result<Vec<u8>, Malformed> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| Malformed::Base64)
}

/// Verifies a compact JWS against a key set and returns its payload bytes:
/// the key-and-signature path alone, with no claim checks.
///
/// ```
/// use scalekit_core::{AlgorithmSet, KeySet, ValidationError, verify_jws};
///
/// let keys = KeySet::default();
/// let err = verify_jws("eyJhbGciOiJub25lIn0.e30.", &keys, AlgorithmSet::all()).unwrap_err();
/// assert_eq!(err, ValidationError::UnsupportedAlgorithm);
/// ```
pub fn verify_jws(
    token: &str,
    keys: &KeySet,
    algorithms: AlgorithmSet,
) -> Result<Vec<u8>, ValidationError> {
    let jws = DecodedJws::decode(token, algorithms, DEFAULT_MAX_TOKEN_BYTES)?;
    let key = keys
        .find(jws.kid(), jws.algorithm())
        .ok_or_else(|| ValidationError::UnknownKey {
            kid: jws.kid().map(|k| truncate(k, 128).to_owned()),
        })?;
    jws.verify(key)
}

/// Default capacity of the verified-token cache of [`Scalekit`](crate::Scalekit) (entries).
pub const DEFAULT_VERIFIED_CACHE_CAPACITY: u64 = 10_000;
/// Default longest life of a verified-token cache entry (it never outlives
/// the token's `exp` either).
pub const DEFAULT_VERIFIED_CACHE_TTL: Duration = Duration::from_secs(300);

/// The claims of a verified access token, parsed once and shared: a
/// verified-token cache hit hands these out without any JSON work.
#[derive(Debug, Clone)]
pub struct VerifiedClaims {
    /// The claims as [`AccessTokenClaims`].
    pub claims: Arc<AccessTokenClaims>,
    /// The whole payload (JSON text, verified), for custom claims: read it
    /// with `serde_json::from_slice` only when needed.
    pub payload: Arc<[u8]>,
    /// The token itself, shared with the cache entry (no copy per request).
    pub token: Arc<str>,
}

/// Validates tokens against a key source and default options.
///
/// With the verified-token cache on ([`TokenValidator::with_verified_cache`];
/// [`Scalekit`](crate::Scalekit) turns it on by default), a token seen again
/// costs a hash, a lookup and a comparison of the whole token, not a
/// signature check; the algorithm allow-list, `exp`, `nbf`, issuer,
/// audience and token kind are still checked on every call, from claims
/// extracted once, and an entry is used only while the key that signed it
/// is still in the key set.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use scalekit_core::{AccessTokenClaims, JwksCache, TokenValidator, ValidationOptions};
///
/// let env = "https://acme.scalekit.dev";
/// let keys = JwksCache::new(format!("{env}/keys"))?;
/// let validator = TokenValidator::new(keys, ValidationOptions::new(env));
/// let claims: AccessTokenClaims = validator.validate("eyJ…").await?;
/// println!("{:?}", claims.sub);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TokenValidator {
    keys: KeySource,
    options: ValidationOptions,
    verified: Option<VerifiedCache>,
    /// Tokens that need no signature check (see
    /// [`TokenValidator::trusted_access_claims`]); never consulted for
    /// tokens from requests.
    trusted: TrustedCache,
    signature_checks: Arc<AtomicU64>,
}

impl TokenValidator {
    /// A validator over `keys` with default `options`, without a
    /// verified-token cache (see [`TokenValidator::with_verified_cache`]).
    pub fn new(keys: impl Into<KeySource>, options: ValidationOptions) -> Self {
        TokenValidator {
            keys: keys.into(),
            options,
            verified: None,
            trusted: TrustedCache::new(),
            signature_checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Remembers tokens whose signature verified (at most `capacity`, each
    /// for at most `max_ttl` and never past its `exp` plus the leeway), so
    /// that a token seen again skips the signature check. Everything else —
    /// the algorithm allow-list, `exp`, `nbf`, issuer, audience, token kind
    /// — is checked on every call, and an entry is unusable as soon as the
    /// key that signed it has left the key set. Only tokens whose signature
    /// verified are remembered. A token seen once waits in the calling
    /// thread's small front of the cache; its second use admits it to the
    /// shared cache, which admits new entries by frequency (TinyLFU), so a
    /// flood of distinct tokens, each used once, costs the shared cache
    /// nothing and cannot flush out the ones in use.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scalekit_core::{KeySet, TokenValidator, ValidationOptions};
    ///
    /// let validator = TokenValidator::new(KeySet::default(), ValidationOptions::new("https://acme.scalekit.dev"))
    ///     .with_verified_cache(10_000, Duration::from_secs(300));
    /// assert!(validator.has_verified_cache());
    /// assert!(!validator.without_verified_cache().has_verified_cache());
    /// ```
    pub fn with_verified_cache(mut self, capacity: u64, max_ttl: Duration) -> Self {
        self.verified = Some(VerifiedCache::new(capacity, max_ttl));
        self
    }

    /// Turns the verified-token cache off: every call checks the signature.
    pub fn without_verified_cache(mut self) -> Self {
        self.verified = None;
        self
    }

    /// Whether the verified-token cache is on.
    pub fn has_verified_cache(&self) -> bool {
        self.verified.is_some()
    }

    /// Number of entries in the shared verified-token cache (0 when it is
    /// off), after pending evictions have been applied: the tokens used at
    /// least twice (see [`TokenValidator::with_verified_cache`]).
    pub fn verified_cache_entries(&self) -> u64 {
        self.verified.as_ref().map_or(0, |cache| {
            cache.entries.run_pending_tasks();
            cache.entries.entry_count()
        })
    }

    /// Number of signature checks made so far by this validator and its
    /// clones (a verified-token cache hit makes none).
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks.load(Ordering::Relaxed)
    }

    /// The same validator (keys, cache) with other default options.
    pub fn with_options(mut self, options: ValidationOptions) -> Self {
        self.options = options;
        self
    }

    /// The default options.
    pub fn options(&self) -> &ValidationOptions {
        &self.options
    }

    /// The key source.
    pub fn keys(&self) -> &KeySource {
        &self.keys
    }

    /// Validates `token` with the default options and deserializes its
    /// claims into `C`.
    pub async fn validate<C: DeserializeOwned>(&self, token: &str) -> Result<C, ValidationError> {
        self.validate_with(token, &self.options).await
    }

    /// Validates `token` with `options` and deserializes its claims into `C`.
    pub async fn validate_with<C: DeserializeOwned>(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<C, ValidationError> {
        let result = self.validate_into(token, options).await;
        crate::telemetry::token_validation(result.as_ref().map(|_| ()));
        result
    }

    async fn validate_into<C: DeserializeOwned>(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<C, ValidationError> {
        let payload = match self.cached(token, options) {
            Some(hit) => hit?.payload.clone(),
            // No cache: straight from the verified payload into `C`.
            None if self.verified.is_none() => {
                let fresh = self.verify_fresh(token, options).await?;
                return serde_json::from_slice(&fresh.payload)
                    .map_err(|_| Malformed::Claims.into());
            }
            None => self
                .verify_and_remember(token, options, false)
                .await?
                .payload
                .clone(),
        };
        serde_json::from_slice(&payload).map_err(|_| Malformed::Claims.into())
    }

    /// Validates an access token with the default options and returns its
    /// claims, shared: on a verified-token cache hit, without any JSON work.
    pub async fn validate_access(&self, token: &str) -> Result<VerifiedClaims, ValidationError> {
        self.validate_access_with(token, &self.options).await
    }

    /// Validates an access token with `options` and returns its claims,
    /// shared (see [`TokenValidator::validate_access`]).
    pub async fn validate_access_with(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<VerifiedClaims, ValidationError> {
        match self.cached_access(token, options) {
            Some(hit) => hit,
            None => self.verify_access_uncached(token, options).await,
        }
    }

    /// A verified-token cache hit for an access token under `options`,
    /// decided without waiting: the claims, or why the cached token is
    /// refused now; `None` on a miss (or without the cache), for
    /// [`TokenValidator::verify_access_uncached`].
    pub(crate) fn cached_access(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Option<Result<VerifiedClaims, ValidationError>> {
        let result = self
            .cached(token, options)?
            .and_then(|entry| entry.access_claims());
        crate::telemetry::token_validation(result.as_ref().map(|_| ()));
        Some(result)
    }

    /// [`TokenValidator::cached_access`] for a value that `make` builds
    /// from the claims (the web layer's bearer caller): built once per
    /// thread and cached token, and kept in the thread's front of the
    /// cache with the token, so that a hit clones the thread's own `Arc`
    /// and shares no reference count with other threads' hits. Every check
    /// of a hit runs on every call.
    pub(crate) fn cached_access_local<T: std::any::Any + Send + Sync>(
        &self,
        token: &str,
        options: &ValidationOptions,
        make: impl Fn(VerifiedClaims) -> T,
    ) -> Option<Result<Arc<T>, ValidationError>> {
        let cache = self.verified.as_ref()?;
        if token.len() > options.max_token_bytes {
            return None;
        }
        let hash = cache.hasher.hash_one(cache_key(token));
        let now = now_secs();
        let visited = front::visit(
            &TOKEN_FRONT,
            &cache.entries,
            (cache.id, hash, now),
            |e| *e.token == *token,
            |entry, local| {
                // A front hit is at least its second use: into the shared
                // cache.
                cache.admit(hash, entry);
                match self.recheck(entry, options, now) {
                    Recheck::Stale => None,
                    Recheck::Refused(err) => Some(Err(err)),
                    Recheck::Valid => Some(local_value(entry, local, &make)),
                }
            },
        );
        let result = match visited {
            Some(Some(result)) => result,
            Some(None) => {
                // The signing key left the key set: verify again.
                cache.invalidate(hash);
                crate::telemetry::verified_cache_lookup(false);
                return None;
            }
            // Not in this thread's front: from the shared cache, if there.
            None => {
                return self
                    .cached_access(token, options)
                    .map(|found| found.map(|claims| Arc::new(make(claims))));
            }
        };
        crate::telemetry::verified_cache_lookup(true);
        crate::telemetry::token_validation(result.as_ref().map(|_| ()));
        Some(result)
    }

    /// The rest of [`TokenValidator::validate_access`] after
    /// [`TokenValidator::cached_access`] missed: the full check, and the
    /// token remembered.
    pub(crate) async fn verify_access_uncached(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<VerifiedClaims, ValidationError> {
        // Boxed: the miss (a key fetch, a signature check) is the rare and
        // slow path; the future of a hit stays small, and so do the futures
        // of the web layers that await it.
        let result = Box::pin(self.verify_and_remember(token, options, true))
            .await
            .and_then(|entry| entry.access_claims());
        crate::telemetry::token_validation(result.as_ref().map(|_| ()));
        result
    }

    /// The claims of an access token that this application verified itself
    /// earlier and kept where nobody else can change it: the access token
    /// of a sealed session (cookie or sealed server-side record), verified
    /// by [`TokenValidator::validate`] when the platform issued it, at login
    /// and at each refresh. Every claim check of the default options still
    /// runs on every call (`exp`, `nbf`, issuer, audience, kind); the
    /// signature is not checked again, and the payload is parsed once per
    /// token and process (an in-process cache bounded by the token's `exp`).
    ///
    /// Never call this with a token from a request: a forged token would
    /// pass. The cache is separate from the verified-token cache, so a
    /// token read here never makes a bearer token valid.
    pub(crate) fn trusted_access_claims(
        &self,
        token: &str,
    ) -> Result<VerifiedClaims, ValidationError> {
        let options = &self.options;
        let hash = self.trusted.hasher.hash_one(cache_key(token));
        let now = now_secs();
        if let Some(entry) = self.trusted.get(hash, token, now) {
            entry.facts.check(options, now)?;
            return entry.access_claims();
        }
        let payload = token
            .split('.')
            .nth(1)
            .ok_or(Malformed::NotCompact)
            .and_then(b64)?;
        let facts = ClaimFacts::parse(&payload)?;
        facts.check(options, now)?;
        let claims = serde_json::from_slice::<AccessTokenClaims>(&payload)
            .map(Arc::new)
            .map_err(|_| Malformed::Claims)?;
        let verified = VerifiedClaims {
            claims: claims.clone(),
            payload: payload.into(),
            token: token.into(),
        };
        let lifetime = facts.lifetime_within(DEFAULT_VERIFIED_CACHE_TTL, options.leeway);
        if lifetime > 0 {
            facts.lifetime.store(lifetime, Ordering::Relaxed);
            let entry = Arc::new(TrustedToken {
                token: verified.token.clone(),
                facts,
                claims,
                payload: verified.payload.clone(),
                until: now.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
            });
            self.trusted.put_in_front(hash, &entry);
            self.trusted.entries.insert(hash, entry);
        }
        Ok(verified)
    }

    /// A cache hit: `None` on a miss, else the entry or why the token is
    /// refused under `options`.
    fn cached(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Option<Result<Arc<CachedToken>, ValidationError>> {
        let cache = self.verified.as_ref()?;
        let found = self.lookup_verified(cache, token, options);
        crate::telemetry::verified_cache_lookup(found.is_some());
        found
    }

    fn lookup_verified(
        &self,
        cache: &VerifiedCache,
        token: &str,
        options: &ValidationOptions,
    ) -> Option<Result<Arc<CachedToken>, ValidationError>> {
        if token.len() > options.max_token_bytes {
            return None;
        }
        let hash = cache.hasher.hash_one(cache_key(token));
        let now = now_secs();
        let entry = cache.get(hash, token, now)?;
        match self.recheck(&entry, options, now) {
            Recheck::Valid => Some(Ok(entry)),
            Recheck::Refused(err) => Some(Err(err)),
            Recheck::Stale => {
                // The signing key left the key set (or the set was
                // refetched): verify again, from scratch.
                cache.invalidate(hash);
                None
            }
        }
    }

    /// The checks of a verified-token cache hit under `options` at `now`.
    fn recheck(&self, entry: &CachedToken, options: &ValidationOptions, now: i64) -> Recheck {
        if !options.algorithms.contains(entry.alg) {
            return Recheck::Refused(ValidationError::UnsupportedAlgorithm);
        }
        if !self.keys.holds(
            entry.facts.iss.as_deref(),
            entry.kid.as_deref(),
            entry.alg,
            &entry.key,
        ) {
            return Recheck::Stale;
        }
        match entry.facts.check(options, now) {
            Ok(()) => Recheck::Valid,
            Err(err) => {
                tracing::debug!(reason = %err, "token refused");
                Recheck::Refused(err)
            }
        }
    }

    /// Verifies `token` and remembers it in the verified-token cache.
    async fn verify_and_remember(
        &self,
        token: &str,
        options: &ValidationOptions,
        access: bool,
    ) -> Result<Arc<CachedToken>, ValidationError> {
        let fresh = self.verify_fresh(token, options).await?;
        let claims = OnceLock::new();
        if access {
            let parsed = serde_json::from_slice::<AccessTokenClaims>(&fresh.payload)
                .map(Arc::new)
                .map_err(|_| Malformed::Claims)?;
            let _ = claims.set(Ok(parsed));
        }
        let entry = Arc::new(CachedToken {
            token: token.into(),
            alg: fresh.alg,
            kid: fresh.kid,
            key: fresh.key,
            facts: fresh.facts,
            payload: fresh.payload.into(),
            claims,
            cached_until: AtomicI64::new(0),
            admitted: AtomicBool::new(false),
        });
        if let Some(cache) = &self.verified {
            cache.remember(
                cache.hasher.hash_one(cache_key(token)),
                &entry,
                options.leeway,
            );
        }
        Ok(entry)
    }

    /// The full path: structure, header, key, signature, claims.
    async fn verify_fresh(
        &self,
        token: &str,
        options: &ValidationOptions,
    ) -> Result<Fresh, ValidationError> {
        let jws = match DecodedJws::decode(token, options.algorithms, options.max_token_bytes) {
            Ok(jws) => jws,
            Err(err) => {
                tracing::debug!(reason = %err, "token refused");
                return Err(err);
            }
        };
        let kid = jws.kid().map(|k| truncate(k, 128).to_owned());
        let result = self.verify_and_check(jws, options).await;
        if let Err(err) = &result {
            // The reason and the key id, never the token.
            tracing::debug!(reason = %err, kid = ?kid, "token refused");
        }
        result
    }

    async fn verify_and_check(
        &self,
        jws: DecodedJws<'_>,
        options: &ValidationOptions,
    ) -> Result<Fresh, ValidationError> {
        // The claims are checked before the signature: a token that would
        // be refused anyway (expired, another audience or issuer, another
        // kind) costs no key lookup, no key fetch and no signature check.
        // Unverified claims can only refuse a token here, never accept it.
        let facts = ClaimFacts::parse(&jws.payload)?;
        facts.check(options, now_secs())?;
        let source = self.keys.resolve(&jws.payload)?;
        let alg = jws.algorithm();
        let kid = jws.kid.clone().map(String::into_boxed_str);
        let key = source.key(jws.kid(), alg).await?;
        self.signature_checks.fetch_add(1, Ordering::Relaxed);
        let payload = jws.verify(&key)?;
        Ok(Fresh {
            alg,
            kid,
            key,
            facts,
            payload,
        })
    }
}

/// A token that just verified.
struct Fresh {
    alg: Algorithm,
    kid: Option<Box<str>>,
    key: Arc<VerifyingKey>,
    facts: ClaimFacts,
    payload: Vec<u8>,
}

/// A verified token, as remembered.
struct CachedToken {
    /// The whole token: a hit compares it, not just its hash.
    token: Arc<str>,
    alg: Algorithm,
    kid: Option<Box<str>>,
    /// The key that verified it (its identity in the key set).
    key: Arc<VerifyingKey>,
    facts: ClaimFacts,
    payload: Arc<[u8]>,
    /// The payload as [`AccessTokenClaims`], parsed on first use.
    claims: OnceLock<Result<Arc<AccessTokenClaims>, Malformed>>,
    /// When its time in the cache ends (Unix seconds; set when it is first
    /// remembered): the per-thread fronts stop serving it then too.
    cached_until: AtomicI64,
    /// Whether it went into the shared cache (at its second use).
    admitted: AtomicBool,
}

/// What the checks of a verified-token cache hit make of it.
enum Recheck {
    Valid,
    Refused(ValidationError),
    /// Its signing key left the key set: the entry is dropped and the
    /// token verified again.
    Stale,
}

/// This thread's `T` made from `entry` (see
/// [`TokenValidator::cached_access_local`]): the one kept in the front's
/// `local`, else a new one, then kept there.
fn local_value<T: std::any::Any + Send + Sync>(
    entry: &CachedToken,
    local: &mut Option<front::Local>,
    make: impl Fn(VerifiedClaims) -> T,
) -> Result<Arc<T>, ValidationError> {
    if let Some(mine) = local.clone().and_then(|l| l.downcast::<T>().ok()) {
        return Ok(mine);
    }
    let made = Arc::new(make(entry.access_claims()?));
    *local = Some(made.clone());
    Ok(made)
}

impl CachedToken {
    fn access_claims(&self) -> Result<VerifiedClaims, ValidationError> {
        let claims = self
            .claims
            .get_or_init(|| {
                serde_json::from_slice::<AccessTokenClaims>(&self.payload)
                    .map(Arc::new)
                    .map_err(|_| Malformed::Claims)
            })
            .clone()?;
        Ok(VerifiedClaims {
            claims,
            payload: self.payload.clone(),
            token: self.token.clone(),
        })
    }
}

/// The verified-token cache: keyed by a seeded fast hash of the token
/// (collisions only cost a miss: a hit compares the whole token).
#[derive(Clone)]
struct VerifiedCache {
    entries: moka::sync::Cache<u64, Arc<CachedToken>, foldhash::fast::RandomState>,
    hasher: foldhash::fast::RandomState,
    max_ttl: Duration,
    /// This cache's identity in the per-thread fronts (shared by clones,
    /// which share the entries).
    id: u64,
    /// The admission's doorkeeper: the hashes of tokens verified once
    /// lately, direct-mapped (a slot holds the last one). A token verified
    /// again while its hash is still here goes into the shared cache.
    seen: Arc<[AtomicU64]>,
}

/// Slots of the doorkeeper per entry of capacity (a power of two, between
/// the bounds below): 8 bytes each.
const SEEN_PER_ENTRY: u64 = 2;
const SEEN_MIN: u64 = 1 << 10;
const SEEN_MAX: u64 = 1 << 18;

thread_local! {
    /// Each thread's front of the verified-token caches (see
    /// [`crate::front`]): it only ever holds tokens whose signature
    /// verified, and a hit runs every check a shared-cache hit runs
    /// (algorithm, signing key still in the key set, every claim).
    static TOKEN_FRONT: std::cell::RefCell<Front<CachedToken>> = std::cell::RefCell::default();
    /// Each thread's front of the trusted-token caches.
    static TRUSTED_FRONT: std::cell::RefCell<Front<TrustedToken>> = std::cell::RefCell::default();
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

/// Each entry lives until its own deadline, counted from its first
/// verification (`cached_until`), not from its admission at a later use.
struct UntilDeadline;

impl moka::Expiry<u64, Arc<CachedToken>> for UntilDeadline {
    fn expire_after_create(
        &self,
        _key: &u64,
        value: &Arc<CachedToken>,
        created_at: Instant,
    ) -> Option<Duration> {
        let _ = created_at;
        let left = value
            .cached_until
            .load(Ordering::Relaxed)
            .saturating_sub(now_secs());
        Some(Duration::from_secs(u64::try_from(left).unwrap_or(0)))
    }
}

impl VerifiedCache {
    fn new(capacity: u64, max_ttl: Duration) -> Self {
        VerifiedCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilDeadline)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            hasher: foldhash::fast::RandomState::default(),
            max_ttl,
            id: front::new_owner(),
            seen: (0..capacity
                .saturating_mul(SEEN_PER_ENTRY)
                .clamp(SEEN_MIN, SEEN_MAX)
                .next_power_of_two())
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// The entry of `token` (hashed `hash`): from this thread's front, else
    /// from the shared cache (and then put in the front).
    fn get(&self, hash: u64, token: &str, now: i64) -> Option<Arc<CachedToken>> {
        let (entry, from_front) = front::lookup(
            &TOKEN_FRONT,
            &self.entries,
            (self.id, hash, now),
            |e| *e.token == *token,
            |e| e.cached_until.load(Ordering::Relaxed),
        )?;
        if from_front {
            // At least its second use: into the shared cache.
            self.admit(hash, &entry);
        }
        Some(entry)
    }

    /// Forgets the entry of `hash` (its signing key left the key set).
    fn invalidate(&self, hash: u64) {
        front::with(&TOKEN_FRONT, |f| f.remove(self.id, hash));
        self.entries.invalidate(&hash);
    }

    /// Remembers a token that just verified, for at most the maximum and
    /// never past its `exp` plus `leeway` (after which every call would
    /// refuse it anyway): in this thread's front, and in the shared cache
    /// when the doorkeeper saw it verified before (a second use on another
    /// thread). A token used once never reaches the shared cache, whose
    /// insertions and evictions cost more than the lookup they save.
    fn remember(&self, hash: u64, entry: &Arc<CachedToken>, leeway: Duration) {
        let lifetime = entry.facts.lifetime_within(self.max_ttl, leeway);
        if lifetime == 0 {
            return;
        }
        entry.facts.lifetime.store(lifetime, Ordering::Relaxed);
        entry.cached_until.store(
            now_secs().saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
            Ordering::Relaxed,
        );
        let mask = self.seen.len().saturating_sub(1) as u64;
        let seen_before = self
            .seen
            .get(usize::try_from(hash & mask).unwrap_or(0))
            .is_some_and(|slot| slot.swap(hash, Ordering::Relaxed) == hash);
        if seen_before {
            self.admit(hash, entry);
        }
        self.put_in_front(hash, entry);
    }

    fn put_in_front(&self, hash: u64, entry: &Arc<CachedToken>) {
        let until = entry.cached_until.load(Ordering::Relaxed);
        front::with(&TOKEN_FRONT, |f| f.put(self.id, hash, until, entry.clone()));
    }

    /// Puts `entry` in the shared cache (once; once it is there, a load
    /// of the flag and nothing else).
    fn admit(&self, hash: u64, entry: &Arc<CachedToken>) {
        if !entry.admitted.load(Ordering::Relaxed) && !entry.admitted.swap(true, Ordering::Relaxed)
        {
            self.entries.insert(hash, entry.clone());
        }
    }
}

/// A trusted token's claims (see [`TokenValidator::trusted_access_claims`]).
struct TrustedToken {
    token: Arc<str>,
    facts: ClaimFacts,
    claims: Arc<AccessTokenClaims>,
    payload: Arc<[u8]>,
    /// When its time in the cache ends (Unix seconds).
    until: i64,
}

impl TrustedToken {
    fn access_claims(&self) -> Result<VerifiedClaims, ValidationError> {
        Ok(VerifiedClaims {
            claims: self.claims.clone(),
            payload: self.payload.clone(),
            token: self.token.clone(),
        })
    }
}

impl moka::Expiry<u64, Arc<TrustedToken>> for UntilDeadline {
    fn expire_after_create(
        &self,
        _key: &u64,
        value: &Arc<TrustedToken>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(
            value.facts.lifetime.load(Ordering::Relaxed),
        ))
    }
}

/// Capacity of the trusted-token cache (session access tokens), entries.
const TRUSTED_CACHE_CAPACITY: u64 = 10_000;

/// The claims of trusted tokens (session access tokens), parsed once.
#[derive(Clone)]
struct TrustedCache {
    entries: moka::sync::Cache<u64, Arc<TrustedToken>, foldhash::fast::RandomState>,
    hasher: foldhash::fast::RandomState,
    /// This cache's identity in the per-thread fronts.
    id: u64,
}

impl std::fmt::Debug for TrustedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedCache").finish_non_exhaustive()
    }
}

impl TrustedCache {
    fn new() -> Self {
        TrustedCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(TRUSTED_CACHE_CAPACITY)
                .expire_after(UntilDeadline)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            hasher: foldhash::fast::RandomState::default(),
            id: front::new_owner(),
        }
    }

    /// The entry of `token` (hashed `hash`): from this thread's front, else
    /// from the shared cache (and then put in the front).
    fn get(&self, hash: u64, token: &str, now: i64) -> Option<Arc<TrustedToken>> {
        front::lookup(
            &TRUSTED_FRONT,
            &self.entries,
            (self.id, hash, now),
            |e| *e.token == *token,
            |e| e.until,
        )
        .map(|(entry, _)| entry)
    }

    fn put_in_front(&self, hash: u64, entry: &Arc<TrustedToken>) {
        front::with(&TRUSTED_FRONT, |f| {
            f.put(self.id, hash, entry.until, entry.clone())
        });
    }
}

/// The clock of the claim checks: Unix seconds.
/// What the token caches hash: the last 64 bytes of a token, its
/// signature's (unique per token as far as anyone without the key can
/// tell), not the whole kilobyte. A hit still compares the whole token;
/// tokens made to share a signature's end only miss.
pub(crate) fn cache_key(token: &str) -> &[u8] {
    let bytes = token.as_bytes();
    &bytes[bytes.len().saturating_sub(64)..]
}

fn now_secs() -> i64 {
    i64::try_from(crate::util::unix_time().as_secs()).unwrap_or(i64::MAX)
}

fn secs_i64(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

const HAS_SUB: u8 = 1;
const HAS_NONCE: u8 = 1 << 1;
const HAS_AT_HASH: u8 = 1 << 2;
const HAS_C_HASH: u8 = 1 << 3;
const HAS_AZP: u8 = 1 << 4;
const HAS_CLIENT_ID: u8 = 1 << 5;
const HAS_ORGANIZATION_ID: u8 = 1 << 6;
const HAS_CONNECTION_ID: u8 = 1 << 7;

/// What the claim checks need from a verified payload, read once: `exp`
/// and `nbf` as whole seconds (rounded towards refusal: `exp` down, `nbf`
/// up), the issuer, the audiences and which kind-marking claims are there.
#[derive(Debug, Default)]
struct ClaimFacts {
    exp: Option<i64>,
    nbf: Option<i64>,
    iss: Option<Box<str>>,
    aud: Option<Vec<String>>,
    present: u8,
    /// The cache lifetime of the entry, in seconds (set at insertion).
    lifetime: AtomicU64,
}

impl ClaimFacts {
    /// Reads the registered claims of a verified payload.
    fn parse(payload: &[u8]) -> Result<ClaimFacts, ValidationError> {
        #[derive(Deserialize)]
        struct Registered<'a> {
            #[serde(default)]
            exp: Option<f64>,
            #[serde(default)]
            nbf: Option<f64>,
            #[serde(default, borrow)]
            iss: Option<std::borrow::Cow<'a, str>>,
            #[serde(default)]
            aud: Option<StringOrList>,
            #[serde(default)]
            sub: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            nonce: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            at_hash: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            c_hash: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            azp: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            client_id: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            organization_id: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            connection_id: Option<serde::de::IgnoredAny>,
        }
        // A claims set is a JSON object; anything else is refused before serde
        // gets a chance to read an array positionally.
        if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Malformed::PayloadNotJson.into());
        }
        let claims: Registered =
            serde_json::from_slice(payload).map_err(|e| match e.classify() {
                serde_json::error::Category::Data => Malformed::Claims,
                _ => Malformed::PayloadNotJson,
            })?;
        // `as` saturates (and JSON numbers are finite).
        let whole = |v: f64, up: bool| {
            if !v.is_finite() {
                i64::MIN
            } else if up {
                v.ceil() as i64
            } else {
                v.floor() as i64
            }
        };
        let flag = |present: bool, bit: u8| if present { bit } else { 0 };
        Ok(ClaimFacts {
            exp: claims.exp.map(|v| whole(v, false)),
            // A non-finite `nbf` is never reached.
            nbf: claims.nbf.map(|v| {
                if v.is_finite() {
                    whole(v, true)
                } else {
                    i64::MAX
                }
            }),
            iss: claims.iss.map(|iss| iss.as_ref().into()),
            aud: claims.aud.map(|aud| aud.as_slice().to_vec()),
            present: flag(claims.sub.is_some(), HAS_SUB)
                | flag(claims.nonce.is_some(), HAS_NONCE)
                | flag(claims.at_hash.is_some(), HAS_AT_HASH)
                | flag(claims.c_hash.is_some(), HAS_C_HASH)
                | flag(claims.azp.is_some(), HAS_AZP)
                | flag(claims.client_id.is_some(), HAS_CLIENT_ID)
                | flag(claims.organization_id.is_some(), HAS_ORGANIZATION_ID)
                | flag(claims.connection_id.is_some(), HAS_CONNECTION_ID),
            lifetime: AtomicU64::new(0),
        })
    }

    /// How long (whole seconds) a cache may keep these claims: at most
    /// `max`, and never past `exp` plus `leeway`.
    fn lifetime_within(&self, max: Duration, leeway: Duration) -> u64 {
        let until_exp = self.exp.map_or(0, |exp| {
            exp.saturating_add(secs_i64(leeway))
                .saturating_sub(now_secs())
                .max(0)
        });
        u64::try_from(until_exp).unwrap_or(0).min(max.as_secs())
    }

    fn has(&self, bit: u8) -> bool {
        self.present & bit != 0
    }

    /// The registered-claim checks under `options` at `now` (Unix seconds).
    fn check(&self, options: &ValidationOptions, now: i64) -> Result<(), ValidationError> {
        let leeway = secs_i64(options.leeway);
        let exp = self.exp.ok_or(ValidationError::MissingClaim("exp"))?;
        // `now` is whole seconds (rounded down): the token is valid while
        // the current time is before `exp` plus the leeway (RFC 7519 4.1.4).
        if now >= exp.saturating_add(leeway) {
            return Err(ValidationError::Expired);
        }
        if let Some(nbf) = self.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(ValidationError::NotYetValid);
        }
        let iss = self
            .iss
            .as_deref()
            .ok_or(ValidationError::MissingClaim("iss"))?;
        if !options.accepts_issuer(iss) {
            return Err(ValidationError::WrongIssuer);
        }
        let kind_ok = match options.purpose {
            TokenPurpose::Access => {
                self.has(HAS_SUB)
                    && !self.has(HAS_NONCE)
                    && !self.has(HAS_AT_HASH)
                    && !self.has(HAS_C_HASH)
                    && (!self.has(HAS_AZP) || self.has(HAS_CLIENT_ID))
            }
            TokenPurpose::Id => self.has(HAS_SUB),
            TokenPurpose::IdpInitiatedLogin => {
                !self.has(HAS_SUB)
                    && !self.has(HAS_NONCE)
                    && (self.has(HAS_ORGANIZATION_ID) || self.has(HAS_CONNECTION_ID))
            }
            TokenPurpose::Any => true,
        };
        if !kind_ok {
            return Err(ValidationError::WrongTokenType);
        }
        if options.checks_audience() {
            let aud = self.aud.as_deref().unwrap_or_default();
            if !options.accepts_audience(aud) {
                return Err(ValidationError::WrongAudience);
            }
        }
        Ok(())
    }
}

/// Checks the registered claims of a verified payload at `now` (Unix seconds).
#[cfg(test)]
fn check_claims(
    payload: &[u8],
    options: &ValidationOptions,
    now: i64,
) -> Result<(), ValidationError> {
    ClaimFacts::parse(payload)?.check(options, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ValidationOptions {
        ValidationOptions::new("https://env.example/")
            .purpose(TokenPurpose::Any)
            .any_audience()
    }

    #[test]
    fn claim_checks() {
        let ok = br#"{"exp": 1000, "iss": "https://env.example"}"#;
        assert_eq!(check_claims(ok, &opts(), 900), Ok(()));
        assert_eq!(check_claims(ok, &opts(), 1059), Ok(()));
        assert_eq!(
            check_claims(ok, &opts(), 1060),
            Err(ValidationError::Expired)
        );
        let nbf = br#"{"exp": 5000, "nbf": 2000, "iss": "https://env.example/"}"#;
        assert_eq!(check_claims(nbf, &opts(), 1940), Ok(()));
        assert_eq!(
            check_claims(nbf, &opts(), 1939),
            Err(ValidationError::NotYetValid)
        );
        assert_eq!(
            check_claims(br#"{"iss": "https://env.example"}"#, &opts(), 0),
            Err(ValidationError::MissingClaim("exp"))
        );
        assert_eq!(
            check_claims(br#"{"exp": 10}"#, &opts(), 0),
            Err(ValidationError::MissingClaim("iss"))
        );
        assert_eq!(
            check_claims(br#"{"exp": 10, "iss": "https://other"}"#, &opts(), 0),
            Err(ValidationError::WrongIssuer)
        );
        assert_eq!(
            check_claims(br#"{"exp": "10", "iss": "x"}"#, &opts(), 0),
            Err(ValidationError::Malformed(Malformed::Claims))
        );
        assert_eq!(
            check_claims(b"[1]", &opts(), 0),
            Err(ValidationError::Malformed(Malformed::PayloadNotJson))
        );
    }

    #[test]
    fn audience_any_of() {
        let o = opts().audience("a").audience("b");
        let with = |aud: &str| {
            format!(r#"{{"exp": 10, "iss": "https://env.example", "aud": {aud}}}"#).into_bytes()
        };
        assert_eq!(check_claims(&with(r#""b""#), &o, 0), Ok(()));
        assert_eq!(check_claims(&with(r#"["x","a"]"#), &o, 0), Ok(()));
        assert_eq!(
            check_claims(&with(r#"["x"]"#), &o, 0),
            Err(ValidationError::WrongAudience)
        );
        assert_eq!(
            check_claims(br#"{"exp": 10, "iss": "https://env.example"}"#, &o, 0),
            Err(ValidationError::WrongAudience)
        );
        // No audience configured: nothing is accepted.
        let none = ValidationOptions::new("https://env.example").purpose(TokenPurpose::Any);
        assert_eq!(
            check_claims(&with(r#"["a"]"#), &none, 0),
            Err(ValidationError::WrongAudience)
        );
    }

    #[test]
    fn token_kinds() {
        let access = ValidationOptions::new("https://env.example").audience("skc_1");
        let claims = |extra: &str| {
            format!(r#"{{"exp": 10, "iss": "https://env.example", "aud": ["skc_1"]{extra}}}"#)
                .into_bytes()
        };
        let user = claims(r#", "sub": "usr_1", "client_id": "skc_1", "sid": "ses_1""#);
        assert_eq!(check_claims(&user, &access, 0), Ok(()));
        for id_token in [
            r#", "sub": "usr_1", "nonce": "n""#,
            r#", "sub": "usr_1", "at_hash": "h""#,
            r#", "sub": "usr_1", "c_hash": "h""#,
            r#", "sub": "usr_1", "azp": "skc_1""#,
            r#", "organization_id": "org_1", "connection_id": "conn_1""#,
        ] {
            assert_eq!(
                check_claims(&claims(id_token), &access, 0),
                Err(ValidationError::WrongTokenType),
                "{id_token}"
            );
        }
        let idp = ValidationOptions::new("https://env.example")
            .any_audience()
            .purpose(TokenPurpose::IdpInitiatedLogin);
        let login = br#"{"exp": 10, "iss": "https://env.example", "connection_id": "conn_1"}"#;
        assert_eq!(check_claims(login, &idp, 0), Ok(()));
        assert_eq!(
            check_claims(&user, &idp, 0),
            Err(ValidationError::WrongTokenType)
        );
        let id = ValidationOptions::new("https://env.example")
            .audience("skc_1")
            .purpose(TokenPurpose::Id);
        assert_eq!(
            check_claims(&claims(r#", "sub": "usr_1", "nonce": "n""#), &id, 0),
            Ok(())
        );
    }

    #[test]
    fn structure() {
        let all = AlgorithmSet::all();
        let err = |t: &str| DecodedJws::decode(t, all, 100).unwrap_err();
        assert_eq!(err("a.b"), Malformed::NotCompact.into());
        assert_eq!(err("a.b.c.d"), Malformed::NotCompact.into());
        assert_eq!(err(&"a".repeat(101)), Malformed::TooLarge.into());
        assert_eq!(err("!!.e30.AA"), Malformed::Base64.into());
        // {"alg":"RS256","crit":["b64"]}
        assert_eq!(
            err("eyJhbGciOiJSUzI1NiIsImNyaXQiOlsiYjY0Il19.e30.AA"),
            ValidationError::UnsupportedCriticalHeader
        );
        // {"typ":"JWT"}: no alg
        assert_eq!(err("eyJ0eXAiOiJKV1QifQ.e30.AA"), Malformed::Header.into());
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é");
        assert_eq!(truncate("abc", 8), "abc");
    }
}
