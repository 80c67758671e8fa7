//! What validation reports: token validations and verified-token cache
//! lookups, counted under the names that [`crate::telemetry`] lists (it
//! re-exports [`token_validation`]).

use metrics::counter;

use super::error::ValidationError;

/// Counts one token validation: `valid`, or the reason of its refusal.
pub fn token_validation(result: Result<(), &ValidationError>) {
    // One literal key per arm: the keys are statics, nothing is allocated.
    macro_rules! outcome {
        ($label:literal) => {
            counter!("scalekit_token_validations_total", "outcome" => $label).increment(1)
        };
    }
    let Err(err) = result else {
        outcome!("valid");
        return;
    };
    match err {
        ValidationError::Malformed(_) => outcome!("malformed"),
        ValidationError::UnsupportedAlgorithm => outcome!("unsupported_algorithm"),
        ValidationError::UnsupportedCriticalHeader => outcome!("unsupported_critical_header"),
        ValidationError::UnknownKey { .. } => outcome!("unknown_key"),
        ValidationError::KeyAlgorithmMismatch => outcome!("key_algorithm_mismatch"),
        ValidationError::BadSignature => outcome!("bad_signature"),
        ValidationError::Expired => outcome!("expired"),
        ValidationError::NotYetValid => outcome!("not_yet_valid"),
        ValidationError::MissingClaim(_) => outcome!("missing_claim"),
        ValidationError::WrongIssuer => outcome!("wrong_issuer"),
        ValidationError::WrongAudience => outcome!("wrong_audience"),
        ValidationError::WrongTokenType => outcome!("wrong_token_type"),
        ValidationError::KeysUnavailable => outcome!("keys_unavailable"),
    }
}

/// Counts one verified-token cache lookup.
pub(crate) fn verified_cache_lookup(hit: bool) {
    if hit {
        counter!("scalekit_verified_token_cache_lookups_total", "result" => "hit").increment(1);
    } else {
        counter!("scalekit_verified_token_cache_lookups_total", "result" => "miss").increment(1);
    }
}
