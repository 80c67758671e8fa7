//! Webhook verification against vectors computed outside our code
//! (`scalekit-core/tests/fixtures/webhook_vectors.json`), plus events and interceptors.

use std::collections::HashMap;

use base64::Engine as _;
use scalekit_core::webhook::{
    Deduplicator, EventType, InterceptorResponse, TriggerPoint, WebhookError, WebhookVerifier,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    secrets: Vec<String>,
    headers: HashMap<String, String>,
    body_b64: String,
    now: i64,
    expected: String,
}

#[test]
fn fixed_vectors() {
    let vectors: Vectors =
        serde_json::from_str(include_str!("../fixtures/webhook_vectors.json")).unwrap();
    assert!(vectors.cases.len() >= 15);
    for case in vectors.cases {
        let body = base64::engine::general_purpose::STANDARD
            .decode(&case.body_b64)
            .unwrap();
        let outcome = WebhookVerifier::with_secrets(&case.secrets)
            .and_then(|v| v.verify_webhook_at(&case.headers, &body, case.now));
        let got = match outcome {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, case.expected, "case {:?}", case.name);
    }
}

#[test]
fn events_parse_with_known_and_unknown_types() {
    let known = br#"{"spec_version":"1","id":"evt_1","object":"DirectoryUser","environment_id":"env_1","occurred_at":"2026-11-22T10:00:00Z","organization_id":"org_1","type":"organization.directory.user_created","data":{"email":"a@b.c"}}"#;
    let secret = "whsec_c2NhbGVraXQtdGVzdC13ZWJob29rLWtleQ";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sig = scalekit_core::webhook::sign_payload(secret, "msg_1", now, known).unwrap();
    let ts = now.to_string();
    let headers = vec![
        ("Webhook-Id", "msg_1"),
        ("Webhook-Timestamp", ts.as_str()),
        ("Webhook-Signature", sig.as_str()),
    ];
    let verifier = WebhookVerifier::new(secret).unwrap();
    let event = verifier.verify_event(&headers, known).unwrap();
    assert_eq!(event.event_type, EventType::DirectoryUserCreated);
    assert_eq!(event.organization_id.as_deref(), Some("org_1"));
    assert_eq!(event.data["email"], "a@b.c");

    let unknown = br#"{"id":"evt_2","type":"session.revoked_everywhere","data":{}}"#;
    let sig = scalekit_core::webhook::sign_payload(secret, "msg_2", now, unknown).unwrap();
    let headers = vec![
        ("webhook-id", "msg_2"),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", sig.as_str()),
    ];
    let event = verifier.verify_event(&headers, unknown).unwrap();
    assert_eq!(
        event.event_type,
        EventType::Other("session.revoked_everywhere".into())
    );

    // Signed but not an event: a typed error, after the signature check.
    let sig = scalekit_core::webhook::sign_payload(secret, "msg_3", now, b"[]").unwrap();
    let headers = vec![
        ("webhook-id", "msg_3"),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", sig.as_str()),
    ];
    assert_eq!(
        verifier.verify_event(&headers, b"[]").unwrap_err(),
        WebhookError::InvalidPayload
    );
}

#[test]
fn interceptors_verify_with_their_own_headers_and_answer_allow_or_deny() {
    let secret = "whsec_aW50ZXJjZXB0b3Itc2VjcmV0LWtleQ==";
    let body = br#"{"display_name":"Block free mail","trigger_point":"PRE_SIGNUP","interceptor_context":{"ip":"127.0.0.1"},"data":{"user":{"email":"x@free.example"}}}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sig = scalekit_core::webhook::sign_payload(secret, "icp_1", now, body).unwrap();
    let ts = now.to_string();
    let headers = vec![
        ("interceptor-id", "icp_1"),
        ("interceptor-timestamp", ts.as_str()),
        ("interceptor-signature", sig.as_str()),
    ];
    let verifier = WebhookVerifier::new(secret).unwrap();
    let request = verifier.verify_interceptor_request(&headers, body).unwrap();
    assert_eq!(request.trigger_point, TriggerPoint::PreSignup);
    assert_eq!(request.data["user"]["email"], "x@free.example");
    // The same headers named as a webhook are missing.
    assert_eq!(
        verifier.verify(&headers, body),
        Err(WebhookError::MissingHeaders)
    );
    let answer = InterceptorResponse::deny("Use your work email.");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.to_json(),
        r#"{"decision":"DENY","error":{"message":"Use your work email."}}"#
    );
}

#[test]
fn duplicates_are_detected_once_each_under_concurrency() {
    let seen = Deduplicator::new(1000, std::time::Duration::from_secs(60));
    let firsts: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..100)
                        .filter(|i| seen.first_delivery(&format!("msg_{i}")))
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(firsts, 100);
    seen.forget("msg_5");
    assert!(seen.first_delivery("msg_5"));
}
