//! Tests of `passwordless.rs`.

use super::*;

#[test]
fn reserved_names_are_refused_in_any_case_and_before_any_call() {
    for name in RESERVED_TEMPLATE_VARIABLES {
        let refused = SendPasswordlessRequest::new("a@b.c").template_variable(name, "x");
        assert_eq!(
            refused.unwrap_err(),
            PasswordlessError::ReservedVariable(name.to_owned())
        );
    }
    assert!(matches!(
        SendPasswordlessRequest::new("a@b.c").template_variable(" OTP ", "x"),
        Err(PasswordlessError::ReservedVariable(_))
    ));
    assert!(matches!(
        SendPasswordlessRequest::new("a@b.c").template_variable("", "x"),
        Err(PasswordlessError::InvalidArgument(_))
    ));
    assert!(
        SendPasswordlessRequest::new("a@b.c")
            .template_variable("otp_hint", "x")
            .is_ok()
    );
}

#[test]
fn at_most_thirty_variables() {
    let mut request = SendPasswordlessRequest::new("a@b.c");
    for i in 0..MAX_TEMPLATE_VARIABLES {
        request = request.template_variable(format!("v{i}"), "x").unwrap();
    }
    assert_eq!(
        request.template_variable("one_more", "x").unwrap_err(),
        PasswordlessError::InvalidArgument("at most 30 template variables")
    );
}

#[test]
fn addresses_are_checked_before_a_send() {
    for bad in [
        "",
        "ada",
        "@example.com",
        "ada@",
        "a@b@c",
        "a\n@b.c",
        "<a@b.c>",
    ] {
        assert!(
            SendPasswordlessRequest::new(bad).validate().is_err(),
            "{bad:?}"
        );
    }
    assert!(
        SendPasswordlessRequest::new("ada+x@example.com")
            .validate()
            .is_ok()
    );
}

#[test]
fn error_answers_are_typed_by_call() {
    let wrong = br#"{"code":"INVALID_ARGUMENT","message":"invalid code","details":[{"@type":"x","error_code":"INVALID_ARGUMENT","metadata":{"attempts_remaining":"3"}}]}"#;
    assert_eq!(
        classify(Call::VerifyCode, 400, wrong, None),
        PasswordlessError::WrongCode {
            attempts_left: Some(3)
        }
    );
    let top = br#"{"code":"INVALID_ARGUMENT","details":[{"attempts_remaining":2}]}"#;
    assert_eq!(
        classify(Call::VerifyCode, 400, top, None),
        PasswordlessError::WrongCode {
            attempts_left: Some(2)
        }
    );
    assert_eq!(
        classify(Call::VerifyCode, 400, b"not json", None),
        PasswordlessError::WrongCode {
            attempts_left: None
        }
    );
    assert_eq!(
        classify(Call::VerifyCode, 429, b"{}", None),
        PasswordlessError::AuthRequestDead
    );
    assert_eq!(
        classify(Call::VerifyLink, 429, b"{}", None),
        PasswordlessError::AuthRequestDead
    );
    assert_eq!(
        classify(Call::Send, 429, b"{}", Some(Duration::from_secs(30))),
        PasswordlessError::SendLimit {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    let expired = br#"{"code":"FAILED_PRECONDITION","message":"The auth request has expired"}"#;
    assert_eq!(
        classify(Call::VerifyCode, 400, expired, None),
        PasswordlessError::Expired
    );
    assert_eq!(
        classify(Call::Send, 404, b"{}", None),
        PasswordlessError::Expired
    );
    assert_eq!(
        classify(Call::VerifyLink, 400, b"{}", None),
        PasswordlessError::InvalidLink
    );
    assert_eq!(
        classify(Call::Send, 503, br#"{"code":"UNAVAILABLE"}"#, None),
        PasswordlessError::Api {
            status: 503,
            code: "UNAVAILABLE".into()
        }
    );
}

#[test]
fn answers_read_int64_as_strings_or_numbers() {
    let sent: SendPasswordlessResponse = serde_json::from_str(
        r#"{"auth_request_id":"ar_1","expires_at":"1748696575","expires_in":300,"passwordless_type":"LINK_OTP"}"#,
    )
    .unwrap();
    assert_eq!(
        (sent.expires_at, sent.expires_in, sent.passwordless_type),
        (1_748_696_575, 300, PasswordlessType::LinkOtp)
    );
    let odd: SendPasswordlessResponse = serde_json::from_str(
        r#"{"auth_request_id":"ar_1","passwordless_type":"PASSWORDLESS_TYPE_UNSPECIFIED"}"#,
    )
    .unwrap();
    assert_eq!(odd.passwordless_type, PasswordlessType::Unknown);
}

#[test]
fn debug_leaves_codes_and_addresses_out() {
    let printed = format!(
        "{:?} {:?} {:?}",
        Credential::code("834211"),
        Credential::link_token("lt_secret"),
        SendPasswordlessRequest::new("ada@example.com").state("st_secret")
    );
    for secret in ["834211", "lt_secret", "ada@example.com", "st_secret"] {
        assert!(!printed.contains(secret), "{printed}");
    }
}
