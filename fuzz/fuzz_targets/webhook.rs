//! Webhook signature headers: arbitrary id, timestamp, signature header and
//! body, with the correct signature spliced in or not: accepted exactly
//! when the reference rule accepts, at most one MAC per secret per call.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use scalekit_core::webhook::WebhookVerifier;
use scalekit_fuzz::{reference_tag, reference_timestamp, reference_webhook_ok, webhook_secrets};

const NOW: i64 = 1_700_000_000;

fn verifier() -> &'static WebhookVerifier {
    static V: OnceLock<WebhookVerifier> = OnceLock::new();
    V.get_or_init(|| {
        WebhookVerifier::with_secrets(webhook_secrets().iter().map(|(_, t)| t)).expect("verifier")
    })
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    id: &'a str,
    timestamp: &'a str,
    /// Relative timestamp used when `timestamp` is empty.
    delta: i16,
    signature: &'a str,
    /// Where the correct signature goes into the header (if at all), and
    /// under which secret.
    real: Option<(u8, bool)>,
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let timestamp = if input.timestamp.is_empty() {
        (NOW + i64::from(input.delta)).to_string()
    } else {
        input.timestamp.to_owned()
    };
    let mut signature = input.signature.to_owned();
    if let Some((at, second)) = input.real {
        let secrets = webhook_secrets();
        let (secret, _) = &secrets[usize::from(second) % secrets.len()];
        let ts = reference_timestamp(&timestamp).unwrap_or(NOW);
        let tag = reference_tag(secret, input.id, ts, input.body);
        let entry = format!(
            "v1,{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, tag)
        );
        let entries: Vec<&str> = signature.split(' ').collect();
        let at = usize::from(at) % (entries.len() + 1);
        let mut joined: Vec<&str> = entries[..at].to_vec();
        joined.push(&entry);
        joined.extend_from_slice(&entries[at..]);
        signature = joined.join(" ");
    }
    let headers = [
        ("webhook-id", input.id),
        ("webhook-timestamp", timestamp.as_str()),
        ("webhook-signature", signature.as_str()),
    ];
    let v = verifier();
    let before = v.mac_computations();
    let result = v.verify_webhook_at(&headers[..], input.body, NOW);
    assert!(v.mac_computations() - before <= webhook_secrets().len() as u64);
    let expected = reference_webhook_ok(input.id, &timestamp, &signature, input.body, NOW);
    assert_eq!(result.is_ok(), expected, "{headers:?} {result:?}");
});
