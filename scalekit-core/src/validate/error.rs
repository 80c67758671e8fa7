//! Why a token was refused: [`ValidationError`] and [`Malformed`], each
//! with its RFC 6750 answer.

use crate::outcome::{Challenge, ErrorOutcome};

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
