//! What a token must satisfy besides its signature: [`ValidationOptions`]
//! (issuers, audiences, kind, algorithms, leeway, size) and [`TokenPurpose`].

use std::time::Duration;

use crate::algorithm::AlgorithmSet;

/// Default largest accepted token, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Default clock leeway for `exp` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

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
    pub(super) purpose: TokenPurpose,
    pub(super) algorithms: AlgorithmSet,
    pub(super) leeway: Duration,
    pub(super) max_token_bytes: usize,
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

pub(super) fn normalize_issuer(iss: &str) -> &str {
    iss.trim_end_matches('/')
}
