//! A webhook sender that signs deliveries as the platform does
//! (PROTOCOL.md §9) and retries them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::{EmulatorError, ids};

/// The outcome of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The `webhook-id` (the same on every attempt).
    pub webhook_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// Status of the last answer, if one came.
    pub last_status: Option<u16>,
    /// Whether an attempt was answered with a 2xx status.
    pub delivered: bool,
}

/// Signs and POSTs webhook events, retrying failed deliveries.
///
/// ```no_run
/// # async fn demo() -> Result<(), scalekit_emulator::EmulatorError> {
/// use scalekit_emulator::WebhookSender;
///
/// let sender = WebhookSender::new("whsec_c2VjcmV0LWtleS1vZi1hdC1sZWFzdC0yNC1ieXRlcw==")?;
/// let event = sender.event("organization.sso_enabled", "org_1", serde_json::json!({}));
/// let delivery = sender.send("http://127.0.0.1:3000/webhooks/scalekit", &event).await;
/// assert!(delivery.delivered);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct WebhookSender {
    key: hmac::Key,
    http: reqwest::Client,
    retry_delays: Vec<Duration>,
    environment_id: String,
}

impl WebhookSender {
    /// A sender signing with `secret` (`whsec_<base64>`). Retries follow the
    /// platform's schedule shape, compressed for tests: 0.1 s, 0.5 s, 2 s.
    pub fn new(secret: &str) -> Result<Self, EmulatorError> {
        let encoded = secret
            .split('_')
            .nth(1)
            .ok_or(EmulatorError::InvalidSecret)?;
        let bytes = STANDARD
            .decode(encoded)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
            .map_err(|_| EmulatorError::InvalidSecret)?;
        Ok(WebhookSender {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .map_err(|_| EmulatorError::InvalidSecret)?,
            retry_delays: vec![
                Duration::from_millis(100),
                Duration::from_millis(500),
                Duration::from_secs(2),
            ],
            environment_id: ids::id("env"),
        })
    }

    /// Replaces the delays between attempts (their count is the number of
    /// retries).
    pub fn retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.retry_delays = delays;
        self
    }

    /// An event envelope of `event_type` for `organization_id`.
    pub fn event(&self, event_type: &str, organization_id: &str, data: Value) -> Value {
        json!({
            "spec_version": "1",
            "id": ids::id("evt"),
            "object": "Event",
            "environment_id": self.environment_id,
            "occurred_at": occurred_at(),
            "organization_id": organization_id,
            "type": event_type,
            "data": data,
        })
    }

    /// The `webhook-signature` value for these parts.
    pub fn signature(&self, webhook_id: &str, timestamp: u64, body: &[u8]) -> String {
        let mut signed = format!("{webhook_id}.{timestamp}.").into_bytes();
        signed.extend_from_slice(body);
        format!(
            "v1,{}",
            STANDARD.encode(hmac::sign(&self.key, &signed).as_ref())
        )
    }

    /// Signs and POSTs `event` to `url`, retrying on failure.
    pub async fn send(&self, url: &str, event: &Value) -> Delivery {
        let body = serde_json::to_vec(event).unwrap_or_default();
        self.send_body(url, &ids::id("msg"), &body).await
    }

    /// Signs and POSTs raw `body` bytes under `webhook_id`, retrying on
    /// failure (a new timestamp and signature each attempt).
    pub async fn send_body(&self, url: &str, webhook_id: &str, body: &[u8]) -> Delivery {
        let mut delivery = Delivery {
            webhook_id: webhook_id.to_owned(),
            attempts: 0,
            last_status: None,
            delivered: false,
        };
        let mut delays = self.retry_delays.iter();
        loop {
            delivery.attempts += 1;
            let status = self.attempt(url, webhook_id, body).await;
            if let Some(status) = status {
                delivery.last_status = Some(status);
                if (200..300).contains(&status) {
                    delivery.delivered = true;
                    return delivery;
                }
            }
            match delays.next() {
                Some(delay) => tokio::time::sleep(*delay).await,
                None => return delivery,
            }
        }
    }

    /// One signed POST of `body` under `webhook_id` (a fresh timestamp and
    /// signature): the answer's status, or `None` when none came.
    pub(crate) async fn attempt(&self, url: &str, webhook_id: &str, body: &[u8]) -> Option<u16> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let result = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                self.signature(webhook_id, timestamp, body),
            )
            .body(body.to_vec())
            .send()
            .await;
        match result {
            Ok(response) => Some(response.status().as_u16()),
            Err(err) => {
                tracing::debug!(error = %err, url, "webhook delivery attempt failed");
                None
            }
        }
    }

    /// The environment id of the envelopes this sender makes.
    pub(crate) fn environment_id(&self) -> &str {
        &self.environment_id
    }
}

/// The current time as RFC 3339 UTC (the envelopes' `occurred_at`).
pub(crate) fn occurred_at_now() -> String {
    occurred_at()
}

fn occurred_at() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// RFC 3339 (UTC, whole seconds) of a Unix time.
pub(crate) fn rfc3339(secs: u64) -> String {
    // RFC 3339 in UTC from Unix seconds (civil-from-days).
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
