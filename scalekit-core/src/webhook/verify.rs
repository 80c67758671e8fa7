//! Signature verification of webhook deliveries and interceptor requests
//! over the raw body ([`WebhookVerifier`]), the refusals and their HTTP
//! answers ([`WebhookError`]), and the signing the platform does
//! ([`sign_payload`]).

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use super::dedup::{Deduplicator, DeliveryGuard, DeliverySlot};
use super::events::WebhookEvent;
use super::interceptors::InterceptorRequest;

/// Default tolerance on the signature timestamp.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// Default largest body a webhook or interceptor request may carry (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most entries a signature header may list (the platform sends one per
/// active secret).
pub const MAX_SIGNATURE_ENTRIES: usize = 16;
/// Longest accepted signature header, in bytes.
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 2048;
/// Longest accepted id header, in bytes.
pub const MAX_ID_HEADER_BYTES: usize = 256;
/// Length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// Why a webhook or interceptor payload was refused. The messages are those
/// of the official SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// One of the id, timestamp and signature headers is missing.
    #[error("Missing required headers")]
    MissingHeaders,
    /// The secret is not `whsec_<base64>`.
    #[error("Invalid secret")]
    InvalidSecret,
    /// The timestamp header is not an integer, or the id or signature
    /// header is longer, or lists more entries, than the limits.
    #[error("Invalid Signature Headers")]
    InvalidHeaders,
    /// The timestamp is more than the tolerance in the past.
    #[error("Message timestamp too old")]
    TimestampTooOld,
    /// The timestamp is more than the tolerance in the future.
    #[error("Message timestamp too new")]
    TimestampTooNew,
    /// No signature of the header matches.
    #[error("Invalid Signature")]
    InvalidSignature,
    /// The signature is valid but the body is not the expected JSON.
    #[error("Invalid payload")]
    InvalidPayload,
    /// The body is larger than the verifier's limit (`413`).
    #[error("Payload too large")]
    PayloadTooLarge,
    /// A valid delivery whose `webhook-id` was already processed (only with
    /// a [`Deduplicator`]): acknowledge it, do not process it again.
    #[error("Duplicate delivery")]
    Duplicate,
}

impl WebhookError {
    /// The HTTP answer of a webhook or interceptor request refused for this
    /// reason, the same in every framework adapter: `200 {"duplicate":true}`
    /// for a repeated delivery (acknowledged, not processed), `413` for a
    /// body over the limit, `400` with a fixed body otherwise (the reason is
    /// for logs, never for the sender).
    ///
    /// ```
    /// use scalekit_core::webhook::WebhookError;
    ///
    /// assert_eq!(WebhookError::InvalidSignature.answer().0, 400);
    /// assert_eq!(WebhookError::PayloadTooLarge.answer().0, 413);
    /// ```
    pub fn answer(&self) -> (u16, &'static str) {
        match self {
            WebhookError::Duplicate => (200, r#"{"duplicate":true}"#),
            WebhookError::PayloadTooLarge => (
                413,
                r#"{"error":"invalid_request","error_description":"The request body is too large."}"#,
            ),
            _ => (
                400,
                r#"{"error":"invalid_webhook","error_description":"The webhook could not be verified."}"#,
            ),
        }
    }
}

/// The answer when a webhook arrives but no webhook secret is configured:
/// `500` with a fixed body.
pub(crate) const NOT_CONFIGURED_ANSWER: (u16, &str) = (
    500,
    r#"{"error":"server_error","error_description":"Webhooks are not configured."}"#,
);

/// Read access to request headers by name, case-insensitively.
///
/// Implemented for `http::HeaderMap` (axum, reqwest), string maps and
/// slices of pairs; adapters of other frameworks implement it too.
pub trait HeaderLookup {
    /// The value of the header `name` (lower-case), if present and text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderLookup for reqwest::header::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

impl<S: AsRef<str>, V: AsRef<str>> HeaderLookup for [(S, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<S: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(S, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<S: AsRef<str>, V: AsRef<str>> HeaderLookup for HashMap<S, V> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// Decodes a `whsec_<base64>` secret: the second `_`-separated segment,
/// standard or URL-safe alphabet, padded or not.
fn decode_secret(secret: &str) -> Result<hmac::Key, WebhookError> {
    let encoded = secret
        .split('_')
        .nth(1)
        .ok_or(WebhookError::InvalidSecret)?;
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .filter(|b| !b.is_empty())
        .ok_or(WebhookError::InvalidSecret)?;
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

/// Verifies webhook (or interceptor) signatures with one or more secrets.
///
/// The cost of a verification is bounded whatever the request holds: one
/// HMAC per secret over a body of at most [`WebhookVerifier::max_body_bytes`],
/// compared in constant time with each `v1` entry of a signature header of
/// at most [`MAX_SIGNATURE_ENTRIES`] entries and
/// [`MAX_SIGNATURE_HEADER_BYTES`] bytes.
///
/// ```
/// use scalekit_core::webhook::{WebhookError, WebhookVerifier};
///
/// let verifier = WebhookVerifier::new("whsec_c2VjcmV0LWtleS1vZi1hdC1sZWFzdC0yNC1ieXRlcw==")?;
/// let headers = [("webhook-id", "msg_1"), ("webhook-timestamp", "1700000000")];
/// assert_eq!(verifier.verify(&headers[..], b"{}"), Err(WebhookError::MissingHeaders));
/// # Ok::<(), WebhookError>(())
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    keys: Vec<hmac::Key>,
    tolerance: Duration,
    max_body_bytes: usize,
    deduplicator: Option<Deduplicator>,
    macs: crate::util::TestCounter,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("deduplicates", &self.deduplicator.is_some())
            .finish()
    }
}

/// The header names of a signed delivery.
#[derive(Debug, Clone, Copy)]
struct HeaderNames {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const WEBHOOK_HEADERS: HeaderNames = HeaderNames {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};

const INTERCEPTOR_HEADERS: HeaderNames = HeaderNames {
    id: "interceptor-id",
    timestamp: "interceptor-timestamp",
    signature: "interceptor-signature",
};

fn now_unix() -> i64 {
    i64::try_from(crate::util::unix_time().as_secs()).unwrap_or(i64::MAX)
}

impl WebhookVerifier {
    /// A verifier for one secret (`whsec_…`).
    pub fn new(secret: &str) -> Result<Self, WebhookError> {
        Self::with_secrets([secret])
    }

    /// A verifier accepting any of several secrets (during a rotation).
    pub fn with_secrets<I, S>(secrets: I) -> Result<Self, WebhookError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let keys = secrets
            .into_iter()
            .map(|s| decode_secret(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(WebhookError::InvalidSecret);
        }
        Ok(WebhookVerifier {
            keys,
            tolerance: DEFAULT_TOLERANCE,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            deduplicator: None,
            macs: crate::util::TestCounter::default(),
        })
    }

    /// Changes the timestamp tolerance (default 300 s).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Changes the largest accepted body (default 1 MiB): a larger one is
    /// refused with [`WebhookError::PayloadTooLarge`] (`413`), and the
    /// framework extractors stop reading at this size.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The largest accepted body, in bytes.
    pub fn body_limit(&self) -> usize {
        self.max_body_bytes
    }

    /// De-duplicates deliveries by `webhook-id`: a repeat of a delivery
    /// already verified is answered [`WebhookError::Duplicate`] by
    /// [`WebhookVerifier::verify_event`] (the framework extractors
    /// acknowledge it with `200` without running the handler). A delivery
    /// whose handler failed is forgotten, so that the platform's retry is
    /// processed ([`WebhookVerifier::forget_delivery`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use scalekit_core::webhook::{Deduplicator, WebhookVerifier};
    ///
    /// let verifier = WebhookVerifier::new("whsec_c2VjcmV0LWtleS1vZi1hdC1sZWFzdC0yNC1ieXRlcw")?
    ///     .deduplicate(Deduplicator::new(100_000, Duration::from_secs(24 * 3600)));
    /// # let _ = verifier; Ok::<(), scalekit_core::webhook::WebhookError>(())
    /// ```
    pub fn deduplicate(mut self, deduplicator: Deduplicator) -> Self {
        self.deduplicator = Some(deduplicator);
        self
    }

    /// Whether deliveries are de-duplicated.
    pub fn deduplicates(&self) -> bool {
        self.deduplicator.is_some()
    }

    /// Forgets a delivery id (its processing failed and the platform's
    /// retry should run). No-op without a [`Deduplicator`].
    pub fn forget_delivery(&self, webhook_id: &str) {
        if let Some(dedup) = &self.deduplicator {
            dedup.forget(webhook_id);
        }
    }

    /// For framework adapters: the settlement of a de-duplicated delivery
    /// about to be handled (`None` when deliveries are not de-duplicated).
    /// Put its [`slot`](DeliveryGuard::slot) where the extractor finds it
    /// (the extractor [`fills`](DeliverySlot::fill) it after verifying), and
    /// keep the guard with the request's future: once the handler answered,
    /// [`DeliveryGuard::settle`] forgets the id unless the answer was a
    /// success, and a guard dropped unsettled (the handler panicked, its
    /// future was dropped by a timeout or a disconnect, the service failed)
    /// forgets it too, so that the platform's retry runs.
    pub fn delivery_guard(&self) -> Option<DeliveryGuard> {
        self.deduplicator.as_ref().map(|dedup| DeliveryGuard {
            deduplicator: dedup.clone(),
            slot: DeliverySlot::default(),
            settled: false,
        })
    }

    /// How many HMACs this verifier (and its clones) computed: one per
    /// secret per request that reached the signature check, whatever the
    /// request holds. Feature `test-util`.
    #[cfg(feature = "test-util")]
    pub fn mac_computations(&self) -> u64 {
        self.macs.get()
    }

    /// Verifies a webhook delivery: `body` must be the exact received bytes.
    pub fn verify(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> Result<(), WebhookError> {
        self.verify_at(WEBHOOK_HEADERS, headers, body, now_unix())
    }

    /// Verifies a webhook delivery as of `now` (Unix seconds).
    pub fn verify_webhook_at(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
        now: i64,
    ) -> Result<(), WebhookError> {
        self.verify_at(WEBHOOK_HEADERS, headers, body, now)
    }

    /// Verifies an interceptor request (`interceptor-*` headers).
    pub fn verify_interceptor(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> Result<(), WebhookError> {
        self.verify_at(INTERCEPTOR_HEADERS, headers, body, now_unix())
    }

    /// Verifies a webhook delivery and parses its event. With a
    /// [`Deduplicator`], a repeated `webhook-id` is
    /// [`WebhookError::Duplicate`].
    pub fn verify_event(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        self.verify(headers, body)?;
        let event: WebhookEvent =
            serde_json::from_slice(body).map_err(|_| WebhookError::InvalidPayload)?;
        if let (Some(dedup), Some(id)) = (&self.deduplicator, headers.header(WEBHOOK_HEADERS.id))
            && !dedup.first_delivery(id)
        {
            return Err(WebhookError::Duplicate);
        }
        Ok(event)
    }

    /// Verifies an interceptor request and parses it.
    pub fn verify_interceptor_request(
        &self,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
    ) -> Result<InterceptorRequest, WebhookError> {
        self.verify_interceptor(headers, body)?;
        serde_json::from_slice(body).map_err(|_| WebhookError::InvalidPayload)
    }

    fn verify_at(
        &self,
        names: HeaderNames,
        headers: &(impl HeaderLookup + ?Sized),
        body: &[u8],
        now: i64,
    ) -> Result<(), WebhookError> {
        let (Some(id), Some(timestamp), Some(signatures)) = (
            headers.header(names.id),
            headers.header(names.timestamp),
            headers.header(names.signature),
        ) else {
            return Err(WebhookError::MissingHeaders);
        };
        if body.len() > self.max_body_bytes {
            return Err(WebhookError::PayloadTooLarge);
        }
        let timestamp = parse_timestamp(timestamp)?;
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        if now.saturating_sub(timestamp) > tolerance {
            return Err(WebhookError::TimestampTooOld);
        }
        if timestamp > now.saturating_add(tolerance) {
            return Err(WebhookError::TimestampTooNew);
        }
        if id.len() > MAX_ID_HEADER_BYTES {
            return Err(WebhookError::InvalidHeaders);
        }
        let candidates = signature_candidates(signatures)?;
        if candidates.is_empty() {
            return Err(WebhookError::InvalidSignature);
        }
        let timestamp = timestamp.to_string();
        for key in &self.keys {
            // One MAC per secret, over the body in place (no copy).
            self.macs.add();
            let mut context = hmac::Context::with_key(key);
            for part in [id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
                context.update(part);
            }
            let tag = context.sign();
            if candidates.iter().any(|candidate| {
                aws_lc_rs::constant_time::verify_slices_are_equal(tag.as_ref(), candidate).is_ok()
            }) {
                return Ok(());
            }
        }
        Err(WebhookError::InvalidSignature)
    }
}

/// The decoded `v1` signatures of a signature header: at most
/// [`MAX_SIGNATURE_ENTRIES`] entries in at most
/// [`MAX_SIGNATURE_HEADER_BYTES`] bytes (else the header is refused); entries
/// of other versions, and `v1` entries that are not 32 bytes of base64, are
/// skipped.
fn signature_candidates(header: &str) -> Result<Vec<[u8; TAG_LEN]>, WebhookError> {
    if header.len() > MAX_SIGNATURE_HEADER_BYTES {
        return Err(WebhookError::InvalidHeaders);
    }
    let mut candidates = Vec::new();
    for (index, entry) in header.split(' ').filter(|e| !e.is_empty()).enumerate() {
        if index >= MAX_SIGNATURE_ENTRIES {
            return Err(WebhookError::InvalidHeaders);
        }
        let Some(("v1", signature)) = entry.split_once(',') else {
            continue;
        };
        // A malformed entry is skipped; the next may still match. (The
        // decoder wants room for its estimate: 33 bytes for 44 characters.)
        let mut decoded = [0u8; TAG_LEN + 16];
        if STANDARD.decode_slice(signature, &mut decoded[..]) == Ok(TAG_LEN) {
            let mut tag = [0u8; TAG_LEN];
            tag.copy_from_slice(&decoded[..TAG_LEN]);
            candidates.push(tag);
        }
    }
    Ok(candidates)
}

fn parse_timestamp(value: &str) -> Result<i64, WebhookError> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::InvalidHeaders);
    }
    value.parse().map_err(|_| WebhookError::InvalidHeaders)
}

/// Signs a payload as the platform does: returns the `webhook-signature`
/// value (`v1,<base64>`) for `id`, `timestamp` and `body`. For tests and
/// emulators.
///
/// ```
/// use scalekit_core::webhook::{WebhookVerifier, sign_payload};
///
/// let secret = "whsec_c2VjcmV0LWtleS1vZi1hdC1sZWFzdC0yNC1ieXRlcw";
/// let sig = sign_payload(secret, "msg_1", 1_700_000_000, b"{}").unwrap();
/// let headers = [("webhook-id", "msg_1"), ("webhook-timestamp", "1700000000"), ("webhook-signature", sig.as_str())];
/// assert!(WebhookVerifier::new(secret).unwrap().verify_webhook_at(&headers[..], b"{}", 1_700_000_100).is_ok());
/// ```
pub fn sign_payload(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, WebhookError> {
    let key = decode_secret(secret)?;
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let tag = hmac::sign(&key, &signed);
    Ok(format!("v1,{}", STANDARD.encode(tag.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        assert_eq!(
            decode_secret("nounderscore").err(),
            Some(WebhookError::InvalidSecret)
        );
        assert_eq!(
            decode_secret("whsec_").err(),
            Some(WebhookError::InvalidSecret)
        );
        assert_eq!(
            decode_secret("whsec_!!!").err(),
            Some(WebhookError::InvalidSecret)
        );
        // Standard, URL-safe, padded or not.
        for s in [
            "whsec_+/+/",
            "whsec_-A-A",
            "whsec_YWJj",
            "whsec_YWI=",
            "whsec_YWI",
        ] {
            assert!(decode_secret(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn signature_header_bounds() {
        let tag = STANDARD.encode([7u8; TAG_LEN]);
        let one = format!("v1,{tag}");
        assert_eq!(signature_candidates(&one), Ok(vec![[7u8; TAG_LEN]]));
        // Other versions, short and malformed entries are skipped.
        let mixed = format!("v2,{tag} v1,AAAA v1,!!! v1 {one}");
        assert_eq!(signature_candidates(&mixed).map(|c| c.len()), Ok(1));
        let sixteen = vec![one.as_str(); MAX_SIGNATURE_ENTRIES].join(" ");
        assert_eq!(signature_candidates(&sixteen).map(|c| c.len()), Ok(16));
        let seventeen = vec!["v1,"; MAX_SIGNATURE_ENTRIES + 1].join(" ");
        assert_eq!(
            signature_candidates(&seventeen),
            Err(WebhookError::InvalidHeaders)
        );
        let long = " ".repeat(MAX_SIGNATURE_HEADER_BYTES + 1);
        assert_eq!(
            signature_candidates(&long),
            Err(WebhookError::InvalidHeaders)
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1700000000"), Ok(1_700_000_000));
        for bad in ["", "-", "1.5", "12a", " 1", "99999999999999999999"] {
            assert_eq!(
                parse_timestamp(bad),
                Err(WebhookError::InvalidHeaders),
                "{bad}"
            );
        }
    }
}
