//! Shared pieces of the libFuzzer targets: a signed token and its key set,
//! a sealed cookie, webhook secrets, and the reference rules the targets
//! check the library against (the same rules as
//! `scalekit-core/tests/properties.rs`).

use std::future::Future;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// The issuer of the signed token.
pub const ISSUER: &str = "https://env.example";
/// Its audience.
pub const AUDIENCE: &str = "api";

/// Runs a future that never waits (validation against a static key set).
pub fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a static key set never waits"),
    }
}

/// A signing key, its JWKS, the key set, and two signed tokens.
pub struct Signed {
    pub jwks: Value,
    pub keys: scalekit_core::KeySet,
    pub tokens: [String; 2],
    pub validator: scalekit_core::TokenValidator,
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The signing fixture (an RSA-2048 key made once per process).
pub fn signed() -> &'static Signed {
    static S: OnceLock<Signed> = OnceLock::new();
    S.get_or_init(|| {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa");
        let public = pair.public_key();
        let jwks = json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "rsa-1",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        }]});
        let keys = scalekit_core::KeySet::from_jwks_json(jwks.to_string().as_bytes()).expect("jwks");
        let exp = 4_000_000_000u64;
        let sign = |claims: Value| {
            let header = json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT"});
            let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
            let mut sig = vec![0; pair.public_modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut sig)
                .expect("sign");
            format!("{input}.{}", b64(sig))
        };
        let tokens = [
            sign(json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "usr_1", "exp": exp})),
            sign(json!({"iss": ISSUER, "aud": [AUDIENCE], "sub": "usr_2", "exp": exp, "scope": "a b"})),
        ];
        let validator = scalekit_core::TokenValidator::new(
            keys.clone(),
            scalekit_core::ValidationOptions::new(ISSUER).audience(AUDIENCE),
        );
        Signed {
            jwks,
            keys,
            tokens,
            validator,
        }
    })
}

/// Whether a JOSE header is what the reference accepts: a JSON object with
/// `"alg": "RS256"` and no `crit`.
pub fn reference_header_ok(header: &[u8]) -> bool {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(header) else {
        return false;
    };
    map.get("alg").and_then(Value::as_str) == Some("RS256")
        && map.get("crit").is_none_or(Value::is_null)
}

/// XORs `edits` (position, mask) pairs into `text` as bytes, keeping UTF-8.
pub fn mutate(text: &str, edits: &[(u16, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (pos, mask) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = usize::from(*pos) % bytes.len();
        bytes[i] ^= mask;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Webhook secrets: bytes and `whsec_` text.
pub fn webhook_secrets() -> &'static [(Vec<u8>, String)] {
    static S: OnceLock<Vec<(Vec<u8>, String)>> = OnceLock::new();
    S.get_or_init(|| {
        (0u8..2)
            .map(|i| {
                let bytes: Vec<u8> = (0..32).map(|j: u8| j.wrapping_mul(97) ^ i).collect();
                let text = format!("whsec_{}", STANDARD.encode(&bytes));
                (bytes, text)
            })
            .collect()
    })
}

/// `HMAC-SHA256(secret, id "." timestamp "." body)`.
pub fn reference_tag(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let mut out = [0; 32];
    out.copy_from_slice(aws_lc_rs::hmac::sign(&key, &message).as_ref());
    out
}

/// An optional `-` and 1 to 18 digits.
pub fn reference_timestamp(value: &str) -> Option<i64> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, value),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if negative { -n } else { n })
}

/// The reference rule of a delivery (see the property tests).
pub fn reference_webhook_ok(
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
) -> bool {
    let Some(ts) = reference_timestamp(timestamp) else {
        return false;
    };
    if (now - ts).abs() > 300 || id.len() > 256 || signature.len() > 2048 {
        return false;
    }
    let entries: Vec<&str> = signature.split(' ').filter(|e| !e.is_empty()).collect();
    if entries.len() > 16 {
        return false;
    }
    let tags: Vec<[u8; 32]> = webhook_secrets()
        .iter()
        .map(|(secret, _)| reference_tag(secret, id, ts, body))
        .collect();
    entries.iter().any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|sig| STANDARD.decode(sig).ok())
            .is_some_and(|sig| tags.iter().any(|t| t[..] == sig[..]))
    })
}

/// The reference reading of `Cookie` headers.
pub fn reference_cookies(headers: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for header in headers {
        for part in header.split(';') {
            let Some(eq) = part.find('=') else { continue };
            let name = part[..eq].trim().to_owned();
            let mut value = part[eq + 1..].trim();
            if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                value = &value[1..value.len() - 1];
            }
            out.push((name, value.to_owned()));
        }
    }
    out
}
