//! What the tests against the emulator share: a client of a fresh
//! emulated environment, and the checks of the platform's error answers.
#![allow(dead_code)]

use scalekit_core::{Scalekit, ScalekitConfig};
use scalekit_emulator::Emulator;
use scalekit_management::{ManagementClient, ManagementError, RetryPolicy};

/// A fresh emulator and a management client of its environment.
pub async fn setup() -> (Emulator, ManagementClient) {
    let emulator = Emulator::start().await.expect("the emulator starts");
    let client = client(&emulator);
    (emulator, client)
}

/// A management client of `emulator`'s environment (no retries: every
/// answer is the first).
pub fn client(emulator: &Emulator) -> ManagementClient {
    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .expect("a valid configuration");
    ManagementClient::new(&Scalekit::new(config).expect("a client"))
        .expect("a management client")
        .retry_policy(RetryPolicy::none())
}

/// A `404 NOT_FOUND` in the platform's shape.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, ManagementError>) {
    match result {
        Err(ManagementError::Api {
            status: 404,
            code,
            details,
            ..
        }) => {
            assert_eq!(code, "NOT_FOUND");
            assert_eq!(details[0].error_code.as_deref(), Some("NOT_FOUND"));
        }
        other => panic!("expected 404 NOT_FOUND, got {other:?}"),
    }
}

/// A `400 INVALID_ARGUMENT` naming `field` in its details.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, ManagementError>, field: &str) {
    match result {
        Err(ManagementError::Api {
            status: 400,
            code,
            details,
            ..
        }) => {
            assert_eq!(code, "INVALID_ARGUMENT");
            assert_eq!(
                details[0].fields["validation_error_info"]["field_violations"][0]["field"], field,
                "{details:?}"
            );
        }
        other => panic!("expected 400 INVALID_ARGUMENT on {field}, got {other:?}"),
    }
}

/// A `400 FAILED_PRECONDITION` whose message mentions `words`.
#[track_caller]
pub fn assert_precondition<T: std::fmt::Debug>(result: Result<T, ManagementError>, words: &str) {
    match result {
        Err(ManagementError::Api {
            status: 400,
            code,
            message,
            ..
        }) => {
            assert_eq!(code, "FAILED_PRECONDITION");
            assert!(message.contains(words), "{message}");
        }
        other => panic!("expected 400 FAILED_PRECONDITION, got {other:?}"),
    }
}

/// A `409 ALREADY_EXISTS`.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, ManagementError>) {
    match result {
        Err(ManagementError::Api {
            status: 409, code, ..
        }) => assert_eq!(code, "ALREADY_EXISTS"),
        other => panic!("expected 409 ALREADY_EXISTS, got {other:?}"),
    }
}

/// An argument the client refuses before sending anything.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(result: Result<T, ManagementError>) {
    assert!(
        matches!(result, Err(ManagementError::InvalidArgument(_))),
        "{result:?}"
    );
}
