//! Metrics and tracing: what the crates report, and under which names.
//!
//! # Metrics
//!
//! Counters and histograms go through the [`metrics`] facade: nothing is
//! recorded until the application installs a recorder (a Prometheus
//! exporter, for example), and no exporter is forced on it. Label values
//! are fixed strings, so recording allocates nothing.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`TOKEN_VALIDATIONS`] | counter | `outcome`: `valid` or a [`ValidationError::reason`] |
//! | [`VERIFIED_CACHE_LOOKUPS`] | counter | `result`: `hit`, `miss` |
//! | [`JWKS_FETCHES`] | counter | `outcome`: `ok`, `error` |
//! | [`JWKS_FETCH_DURATION`] | histogram (seconds) | |
//! | [`SESSION_REFRESHES`] | counter | `outcome`: `refreshed`, `refused`, `transient` |
//! | [`SESSION_REFRESH_DURATION`] | histogram (seconds) | |
//! | [`CALLBACKS`] | counter | `outcome`: a [`CallbackOutcome`] |
//!
//! [`describe_metrics`] registers a description and unit of each with the
//! installed recorder.
//!
//! # Spans
//!
//! | span | level | fields |
//! |---|---|---|
//! | `scalekit.authenticate` | `DEBUG` | `via`, `user_id`, `session`, `outcome` |
//! | `scalekit.refresh` | `INFO` | `user_id`, `session`, `outcome` |
//! | `scalekit.callback` | `INFO` | `user_id`, `session`, `outcome` |
//! | `scalekit.logout` | `INFO` | `user_id`, `session`, `outcome` |
//! | `scalekit.passwordless` | `INFO` | `step` (`send`, `verify_code`, `verify_link`, `resend`), `user_id`, `session`, `outcome` |
//! | `scalekit.jwks_fetch` | `INFO` | `url`, `kid` (the unknown key id that caused it), `keys`, `outcome` |
//!
//! `session` is [`session_id_hash`] of the session id, never the id
//! itself; no span or event carries a token, a code or a secret. Without
//! a subscriber (or with one that filters them out) the spans cost an
//! atomic load each.
//!
//! ```
//! use metrics_util::debugging::DebuggingRecorder;
//! use scalekit_core::{ValidationError, telemetry};
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! metrics::with_local_recorder(&recorder, || {
//!     telemetry::describe_metrics();
//!     telemetry::token_validation(Err(&ValidationError::Expired));
//! });
//! let names: Vec<String> = snapshotter
//!     .snapshot()
//!     .into_vec()
//!     .into_iter()
//!     .map(|(key, ..)| key.key().name().to_owned())
//!     .collect();
//! assert_eq!(names, [telemetry::TOKEN_VALIDATIONS]);
//! ```
//!
//! [`ValidationError::reason`]: crate::ValidationError::reason

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

/// Counter of token validations (signature and claims), by `outcome`.
pub const TOKEN_VALIDATIONS: &str = "scalekit_token_validations_total";
/// Counter of verified-token cache lookups, by `result` (`hit`, `miss`).
pub const VERIFIED_CACHE_LOOKUPS: &str = "scalekit_verified_token_cache_lookups_total";
/// Counter of JWKS fetches, by `outcome` (`ok`, `error`).
pub const JWKS_FETCHES: &str = "scalekit_jwks_fetches_total";
/// Histogram of JWKS fetch durations, in seconds.
pub const JWKS_FETCH_DURATION: &str = "scalekit_jwks_fetch_duration_seconds";
/// Counter of session refreshes made with the token endpoint, by `outcome`
/// (`refreshed`, `refused`: the session ended, `transient`: kept, retried
/// later).
pub const SESSION_REFRESHES: &str = "scalekit_session_refreshes_total";
/// Histogram of session refresh durations (token call and verification of
/// the new tokens), in seconds.
pub const SESSION_REFRESH_DURATION: &str = "scalekit_session_refresh_duration_seconds";
/// Counter of login callbacks, by `outcome` (see [`CallbackOutcome`]).
pub const CALLBACKS: &str = "scalekit_login_callbacks_total";

/// Registers the description and unit of every metric above with the
/// installed recorder (call it once, after installing the recorder).
pub fn describe_metrics() {
    describe_counter!(
        "scalekit_token_validations_total",
        Unit::Count,
        "Token validations (signature and claims), by outcome"
    );
    describe_counter!(
        "scalekit_verified_token_cache_lookups_total",
        Unit::Count,
        "Verified-token cache lookups, by result (hit, miss)"
    );
    describe_counter!(
        "scalekit_jwks_fetches_total",
        Unit::Count,
        "JWKS fetches, by outcome (ok, error)"
    );
    describe_histogram!(
        "scalekit_jwks_fetch_duration_seconds",
        Unit::Seconds,
        "Duration of JWKS fetches"
    );
    describe_counter!(
        "scalekit_session_refreshes_total",
        Unit::Count,
        "Session refreshes with the token endpoint, by outcome (refreshed, refused, transient)"
    );
    describe_histogram!(
        "scalekit_session_refresh_duration_seconds",
        Unit::Seconds,
        "Duration of session refreshes"
    );
    describe_counter!(
        "scalekit_login_callbacks_total",
        Unit::Count,
        "Login callbacks, by outcome"
    );
}

pub use crate::validate::telemetry::token_validation;

/// The outcome of a refresh made with the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshOutcome {
    Refreshed,
    Refused,
    Transient,
}

#[cfg(test)]
impl RefreshOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Refreshed => "refreshed",
            RefreshOutcome::Refused => "refused",
            RefreshOutcome::Transient => "transient",
        }
    }
}

/// Counts one refresh and records its duration.
pub(crate) fn session_refresh(outcome: RefreshOutcome, duration: Duration) {
    match outcome {
        RefreshOutcome::Refreshed => {
            counter!("scalekit_session_refreshes_total", "outcome" => "refreshed").increment(1)
        }
        RefreshOutcome::Refused => {
            counter!("scalekit_session_refreshes_total", "outcome" => "refused").increment(1)
        }
        RefreshOutcome::Transient => {
            counter!("scalekit_session_refreshes_total", "outcome" => "transient").increment(1)
        }
    }
    histogram!("scalekit_session_refresh_duration_seconds").record(duration.as_secs_f64());
}

/// How a login callback ended: the `outcome` label of [`CALLBACKS`] and
/// the `outcome` field of the `scalekit.callback` span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackOutcome {
    /// A session started.
    SignedIn,
    /// An IdP-initiated login was turned into a new login.
    IdpInitiated,
    /// The IdP-initiated login token was refused.
    IdpInitiatedRefused,
    /// No valid login state cookie (expired, missing, or from another
    /// browser).
    NoLoginState,
    /// The platform answered with an `error`.
    PlatformError,
    /// `code` or `state` is missing.
    MissingCode,
    /// `state` does not match the login state.
    StateMismatch,
    /// The code exchange or the verification of its tokens failed.
    ExchangeFailed,
    /// The after-login hook refused the sign-in.
    RefusedByHook,
    /// The session could not be started (store unavailable).
    SessionFailed,
}

impl CallbackOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackOutcome::SignedIn => "signed_in",
            CallbackOutcome::IdpInitiated => "idp_initiated",
            CallbackOutcome::IdpInitiatedRefused => "idp_initiated_refused",
            CallbackOutcome::NoLoginState => "no_login_state",
            CallbackOutcome::PlatformError => "platform_error",
            CallbackOutcome::MissingCode => "missing_code",
            CallbackOutcome::StateMismatch => "state_mismatch",
            CallbackOutcome::ExchangeFailed => "exchange_failed",
            CallbackOutcome::RefusedByHook => "refused_by_hook",
            CallbackOutcome::SessionFailed => "session_failed",
        }
    }
}

/// Counts one login callback.
pub(crate) fn callback(outcome: CallbackOutcome) {
    macro_rules! outcome {
        ($label:literal) => {
            counter!("scalekit_login_callbacks_total", "outcome" => $label).increment(1)
        };
    }
    match outcome {
        CallbackOutcome::SignedIn => outcome!("signed_in"),
        CallbackOutcome::IdpInitiated => outcome!("idp_initiated"),
        CallbackOutcome::IdpInitiatedRefused => outcome!("idp_initiated_refused"),
        CallbackOutcome::NoLoginState => outcome!("no_login_state"),
        CallbackOutcome::PlatformError => outcome!("platform_error"),
        CallbackOutcome::MissingCode => outcome!("missing_code"),
        CallbackOutcome::StateMismatch => outcome!("state_mismatch"),
        CallbackOutcome::ExchangeFailed => outcome!("exchange_failed"),
        CallbackOutcome::RefusedByHook => outcome!("refused_by_hook"),
        CallbackOutcome::SessionFailed => outcome!("session_failed"),
    }
}

/// A short, stable name for a session in logs and spans: the first 8 bytes
/// of the SHA-256 of its id, in hex. It correlates the lines of one session
/// without being usable as the session id.
///
/// ```
/// let name = scalekit_core::telemetry::session_id_hash("a-session-id");
/// assert_eq!(name.len(), 16);
/// assert_eq!(name, scalekit_core::telemetry::session_id_hash("a-session-id"));
/// assert!(!name.contains("session"));
/// ```
pub fn session_id_hash(session_id: &str) -> String {
    use std::fmt::Write;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, session_id.as_bytes());
    let mut out = String::with_capacity(16);
    for b in &digest.as_ref()[..8] {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Records `session` = [`session_id_hash`] of `id` on `span`, unless the
/// span is disabled (the hash is not computed then).
pub(crate) fn record_session(span: &tracing::Span, id: &str) {
    if !span.is_disabled() {
        span.record("session", session_id_hash(id).as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwks::jwks_fetch;
    use crate::validate::telemetry::verified_cache_lookup;
    use crate::validate::{Malformed, ValidationError};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    /// A counter: its name, its labels, its value.
    type Count = (String, Vec<(String, String)>, u64);

    fn counts(f: impl FnOnce()) -> Vec<Count> {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, f);
        let mut out: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| match value {
                DebugValue::Counter(n) => Some((
                    key.key().name().to_owned(),
                    key.key()
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect(),
                    n,
                )),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_validation_outcome_has_its_label() {
        let errors = [
            ValidationError::Malformed(Malformed::Base64),
            ValidationError::UnsupportedAlgorithm,
            ValidationError::UnsupportedCriticalHeader,
            ValidationError::UnknownKey { kid: None },
            ValidationError::KeyAlgorithmMismatch,
            ValidationError::BadSignature,
            ValidationError::Expired,
            ValidationError::NotYetValid,
            ValidationError::MissingClaim("sub"),
            ValidationError::WrongIssuer,
            ValidationError::WrongAudience,
            ValidationError::WrongTokenType,
            ValidationError::KeysUnavailable,
        ];
        let seen = counts(|| {
            token_validation(Ok(()));
            for err in &errors {
                token_validation(Err(err));
            }
        });
        let mut labels: Vec<String> = seen
            .iter()
            .map(|(name, labels, n)| {
                assert_eq!(name, TOKEN_VALIDATIONS);
                assert_eq!(*n, 1);
                labels[0].1.clone()
            })
            .collect();
        labels.sort();
        let mut expected: Vec<String> = errors.iter().map(|e| e.reason().to_owned()).collect();
        expected.push("valid".into());
        expected.sort();
        assert_eq!(labels, expected);
    }

    #[test]
    fn callback_labels_match_their_names() {
        let all = [
            CallbackOutcome::SignedIn,
            CallbackOutcome::IdpInitiated,
            CallbackOutcome::IdpInitiatedRefused,
            CallbackOutcome::NoLoginState,
            CallbackOutcome::PlatformError,
            CallbackOutcome::MissingCode,
            CallbackOutcome::StateMismatch,
            CallbackOutcome::ExchangeFailed,
            CallbackOutcome::RefusedByHook,
            CallbackOutcome::SessionFailed,
        ];
        for outcome in all {
            let seen = counts(|| callback(outcome));
            assert_eq!(
                seen,
                [(
                    CALLBACKS.to_owned(),
                    vec![("outcome".to_owned(), outcome.as_str().to_owned())],
                    1
                )]
            );
        }
        for outcome in [
            RefreshOutcome::Refreshed,
            RefreshOutcome::Refused,
            RefreshOutcome::Transient,
        ] {
            let seen = counts(|| session_refresh(outcome, Duration::from_millis(3)));
            assert_eq!(
                seen,
                [(
                    SESSION_REFRESHES.to_owned(),
                    vec![("outcome".to_owned(), outcome.as_str().to_owned())],
                    1
                )]
            );
        }
        let seen = counts(|| {
            verified_cache_lookup(true);
            verified_cache_lookup(false);
            jwks_fetch(true, Duration::ZERO);
            jwks_fetch(false, Duration::ZERO);
        });
        let names: Vec<&str> = seen.iter().map(|(n, ..)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                JWKS_FETCHES,
                JWKS_FETCHES,
                VERIFIED_CACHE_LOOKUPS,
                VERIFIED_CACHE_LOOKUPS
            ]
        );
    }

    #[test]
    fn session_hash_is_not_the_id() {
        let id = "0123456789abcdef0123456789abcdef";
        let hash = session_id_hash(id);
        assert_eq!(hash.len(), 16);
        assert!(!id.contains(&hash));
        assert_ne!(hash, session_id_hash("another id"));
    }
}
