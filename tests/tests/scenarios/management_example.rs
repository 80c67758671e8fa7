//! The management example (`examples/src/management.rs`) against the
//! emulator's management API. Not beside the management client's own
//! tests: the examples crate depends on `scalekit-management`, and a
//! dev-dependency of that crate on the examples would build a second copy
//! of the client's types.

use std::time::Duration;

use scalekit_core::{Scalekit, ScalekitConfig};
use scalekit_emulator::Emulator;
use scalekit_management::{ManagementClient, RetryPolicy};

/// A client with short waits between retries.
async fn setup() -> (Emulator, ManagementClient) {
    let emulator = Emulator::start().await.expect("the emulator starts");
    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    let client = ManagementClient::new(&Scalekit::new(config).unwrap())
        .unwrap()
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(5)
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(100)),
        )
        .timeout(Duration::from_secs(10));
    (emulator, client)
}

#[tokio::test]
async fn the_management_example_creates_adds_links_and_lists() {
    let (_emulator, client) = setup().await;
    let report =
        scalekit_examples::management::run(&client, "Acme Rockets", "ada@acme-rockets.example")
            .await
            .unwrap();
    assert_eq!(report.organization.display_name, "Acme Rockets");
    assert_eq!(report.user.email, "ada@acme-rockets.example");
    assert!(report.portal_link.location.starts_with("http"));
    assert_eq!(report.members.len(), 1);
    assert_eq!(report.members[0].id, report.user.id);
    assert_eq!(
        report.members[0]
            .membership(&report.organization.id)
            .unwrap()
            .role_names()
            .collect::<Vec<_>>(),
        [scalekit_examples::management::ROLE]
    );
    // The same address again: the platform's answer, typed.
    let err =
        scalekit_examples::management::run(&client, "Acme Rockets", "ada@acme-rockets.example")
            .await
            .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err:?}");
    assert_eq!(err.code(), Some("ALREADY_EXISTS"));
}
