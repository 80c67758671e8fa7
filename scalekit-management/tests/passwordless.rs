//! `client.passwordless()` against the emulator: the SDK's three calls,
//! typed errors for every limit, reserved names refused before any call,
//! and no send repeated once it may have reached the platform.

mod common;

use std::time::Duration;

use scalekit_emulator::{EmulatorEndpoint, Fault, PasswordlessType};
use scalekit_management::passwordless::{
    Credential, PasswordlessError, SendPasswordlessRequest, Template,
};

const MAGIC: &str = "http://localhost:3000/auth/passwordless/verify";

fn request(email: &str) -> SendPasswordlessRequest {
    SendPasswordlessRequest::new(email).magiclink_auth_uri(MAGIC)
}

#[tokio::test]
async fn send_verify_and_resend_under_the_sdks_names() {
    let (emulator, client) = common::setup().await;
    let passwordless = client.passwordless();
    let sent = passwordless
        .send_passwordless_email(
            &request("ada@example.com")
                .template(Template::Signup)
                .state("st_42")
                .expires_in(600)
                .template_variable("team", "Engines")
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        sent.passwordless_type,
        PasswordlessType::LinkOtp.into_core()
    );
    assert_eq!(sent.expires_in, 600);
    assert!(sent.expires_at > 0);
    let resent = passwordless
        .resend_passwordless_email(&sent.auth_request_id)
        .await
        .unwrap();
    assert_eq!(resent.auth_request_id, sent.auth_request_id);
    let code = emulator.outbox()[0].code.clone().unwrap();
    let verified = passwordless
        .verify_passwordless_email(&Credential::code(code), Some(&sent.auth_request_id))
        .await
        .unwrap();
    assert_eq!(verified.email, "ada@example.com");
    assert_eq!(verified.state.as_deref(), Some("st_42"));
    assert_eq!(verified.template, Some(Template::Signup));
    // A link token verifies too (without enforcement, alone).
    passwordless
        .send_passwordless_email(&request("grace@example.com"))
        .await
        .unwrap();
    let link = emulator.outbox()[0].link.clone().unwrap();
    let token = link.split_once("link_token=").unwrap().1;
    let verified = passwordless
        .verify_passwordless_email(&Credential::link_token(token), None)
        .await
        .unwrap();
    assert_eq!(verified.email, "grace@example.com");
    let again = passwordless
        .verify_passwordless_email(&Credential::link_token(token), None)
        .await;
    assert_eq!(again.unwrap_err(), PasswordlessError::InvalidLink);
}

/// The emulator's type as the core's enum (the crates do not share it).
trait IntoCore {
    fn into_core(self) -> scalekit_management::passwordless::PasswordlessType;
}

impl IntoCore for PasswordlessType {
    fn into_core(self) -> scalekit_management::passwordless::PasswordlessType {
        use scalekit_management::passwordless::PasswordlessType as Core;
        match self {
            PasswordlessType::Otp => Core::Otp,
            PasswordlessType::Link => Core::Link,
            PasswordlessType::LinkOtp => Core::LinkOtp,
        }
    }
}

#[tokio::test]
async fn wrong_codes_say_the_attempts_left_then_the_request_is_dead() {
    let (emulator, client) = common::setup().await;
    let passwordless = client.passwordless();
    let sent = passwordless
        .send_passwordless_email(&request("ada@example.com"))
        .await
        .unwrap();
    let code = emulator.outbox()[0].code.clone().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let err = passwordless
            .verify_passwordless_email(&Credential::code(wrong), Some(&sent.auth_request_id))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            PasswordlessError::WrongCode {
                attempts_left: Some(left)
            }
        );
        assert!(!err.is_transient());
    }
    let before = emulator.request_count(EmulatorEndpoint::Management);
    let dead = passwordless
        .verify_passwordless_email(&Credential::code(code), Some(&sent.auth_request_id))
        .await;
    assert_eq!(dead.unwrap_err(), PasswordlessError::AuthRequestDead);
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Management),
        before + 1,
        "a 429 is never retried"
    );
    let expired = passwordless
        .resend_passwordless_email(&sent.auth_request_id)
        .await;
    assert_eq!(expired.unwrap_err(), PasswordlessError::Expired);
}

#[tokio::test]
async fn the_third_email_in_a_minute_is_a_send_limit() {
    let (emulator, client) = common::setup().await;
    let passwordless = client.passwordless();
    let sent = passwordless
        .send_passwordless_email(&request("ada@example.com"))
        .await
        .unwrap();
    passwordless
        .resend_passwordless_email(&sent.auth_request_id)
        .await
        .unwrap();
    let before = emulator.request_count(EmulatorEndpoint::Management);
    let limited = passwordless
        .send_passwordless_email(&request("ada@example.com"))
        .await;
    assert!(matches!(
        limited,
        Err(PasswordlessError::SendLimit { retry_after: Some(d) }) if d == Duration::ZERO
    ));
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Management),
        before + 1
    );
    assert_eq!(emulator.outbox().len(), 2);
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_call() {
    let (emulator, client) = common::setup().await;
    let passwordless = client.passwordless();
    let reserved =
        SendPasswordlessRequest::new("ada@example.com").template_variable("expiry_time", "1");
    assert_eq!(
        reserved.unwrap_err(),
        PasswordlessError::ReservedVariable("expiry_time".into())
    );
    let not_an_address = passwordless
        .send_passwordless_email(&request("ada at example.com"))
        .await;
    assert!(matches!(
        not_an_address,
        Err(PasswordlessError::InvalidArgument(_))
    ));
    let no_request = passwordless
        .verify_passwordless_email(&Credential::code("123456"), None)
        .await;
    assert!(matches!(
        no_request,
        Err(PasswordlessError::InvalidArgument(_))
    ));
    let empty = passwordless.resend_passwordless_email(" ").await;
    assert!(matches!(empty, Err(PasswordlessError::InvalidArgument(_))));
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 0);
    assert!(emulator.outbox().is_empty());
}

#[tokio::test]
async fn a_send_that_may_have_reached_the_platform_is_not_repeated() {
    let (emulator, client) = common::setup().await;
    let passwordless = client.passwordless();
    // A 503 may come after the platform acted: not repeated.
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::Status(503), 1);
    let err = passwordless
        .send_passwordless_email(&request("ada@example.com"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PasswordlessError::Api {
            status: 503,
            code: "UNAVAILABLE".into()
        }
    );
    assert!(err.is_transient());
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 1);
    // A dropped connection neither.
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::DropConnection, 1);
    let err = passwordless
        .send_passwordless_email(&request("ada@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err, PasswordlessError::Unreachable);
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 2);
    // Nor one that outlasts the timeout.
    emulator.inject_fault_times(
        EmulatorEndpoint::Management,
        Fault::Delay(Duration::from_secs(2)),
        1,
    );
    let slow = client
        .clone()
        .timeout(Duration::from_millis(300))
        .passwordless();
    let err = slow
        .send_passwordless_email(&request("ada@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err, PasswordlessError::Timeout);
    assert_eq!(emulator.request_count(EmulatorEndpoint::Management), 3);
    assert!(emulator.outbox().is_empty());
    // A token refused once is fetched anew, and the call goes through.
    emulator.inject_fault_times(EmulatorEndpoint::Management, Fault::Status(401), 1);
    passwordless
        .send_passwordless_email(&request("ada@example.com"))
        .await
        .unwrap();
    assert_eq!(emulator.outbox().len(), 1);
}

#[tokio::test]
async fn under_same_browser_enforcement_a_link_needs_its_request() {
    let (emulator, client) = common::setup().await;
    emulator.set_passwordless_same_browser(true);
    let passwordless = client.passwordless();
    let sent = passwordless
        .send_passwordless_email(&request("ada@example.com"))
        .await
        .unwrap();
    let link = emulator.outbox()[0].link.clone().unwrap();
    let token = link.split_once("link_token=").unwrap().1.to_owned();
    let alone = passwordless
        .verify_passwordless_email(&Credential::link_token(token.as_str()), None)
        .await;
    assert_eq!(alone.unwrap_err(), PasswordlessError::InvalidLink);
    let verified = passwordless
        .verify_passwordless_email(
            &Credential::link_token(token.as_str()),
            Some(&sent.auth_request_id),
        )
        .await
        .unwrap();
    assert_eq!(verified.email, "ada@example.com");
}
