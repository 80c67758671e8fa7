//! JWS signature algorithms and the allow-list that decides which of them a
//! validator accepts.

use std::fmt;

/// A JWS signature algorithm this library can verify.
///
/// Scalekit signs every token with [`Algorithm::RS256`], which is also the only
/// algorithm accepted by default. The others are opt-in through
/// [`AlgorithmSet`]. HMAC algorithms (`HS*`) and `none` are not represented
/// at all: a token naming them is always refused.
///
/// ```
/// use scalekit_core::Algorithm;
///
/// assert_eq!("PS256".parse::<Algorithm>(), Ok(Algorithm::PS256));
/// assert!("HS256".parse::<Algorithm>().is_err());
/// assert_eq!(Algorithm::ES256.as_str(), "ES256");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Scalekit's algorithm).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// EdDSA on Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every algorithm this library can verify, in a fixed order.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The `alg` header value of this algorithm.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an `alg` value this library does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported signature algorithm")]
pub struct UnsupportedAlgorithm;

impl std::str::FromStr for Algorithm {
    type Err = UnsupportedAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnsupportedAlgorithm)
    }
}

/// The set of algorithms a validator accepts (the allow-list).
///
/// The default holds only `RS256`, which is what Scalekit signs with.
///
/// ```
/// use scalekit_core::{Algorithm, AlgorithmSet};
///
/// let default = AlgorithmSet::default();
/// assert!(default.contains(Algorithm::RS256));
/// assert!(!default.contains(Algorithm::PS256));
///
/// let wider = AlgorithmSet::from_iter([Algorithm::RS256, Algorithm::ES256]);
/// assert!(wider.contains(Algorithm::ES256));
/// assert!(AlgorithmSet::all().contains(Algorithm::EdDSA));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// An empty set (accepts nothing).
    pub const fn empty() -> Self {
        AlgorithmSet(0)
    }

    /// Every supported algorithm.
    pub fn all() -> Self {
        Algorithm::ALL.into_iter().collect()
    }

    /// Adds an algorithm.
    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg.bit();
    }

    /// Whether the set accepts `alg`.
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// Iterates over the algorithms in the set.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl Default for AlgorithmSet {
    fn default() -> Self {
        let mut set = AlgorithmSet::empty();
        set.insert(Algorithm::RS256);
        set
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = AlgorithmSet::empty();
        for alg in iter {
            set.insert(alg);
        }
        set
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
