//! The emulator's one webhook delivery queue: every event the emulated
//! platform emits (SCIM provisioning, connection and directory toggles, and
//! the management API's calls when it is built) goes through
//! [`Deliveries::emit`]. Each event becomes one delivery per registered
//! endpoint, signed as the platform signs them (PROTOCOL.md §9), sent in
//! emission order to a healthy receiver, and retried with backoff (same
//! `webhook-id`, fresh timestamp and signature) when the receiver fails.
//! `GET /deliveries` lists them with a button that sends one again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use crate::html::esc;
use crate::webhooks::{WebhookSender, occurred_at_now};
use crate::{EmulatorError, State, ids, lock};

/// The default delays between attempts: the platform's schedule shape
/// (immediately, then growing), compressed for local development.
pub(crate) const DEFAULT_RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
];

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not answered with a 2xx yet; attempts are still scheduled.
    Pending,
    /// An attempt was answered with a 2xx status.
    Delivered,
    /// Every scheduled attempt failed (it can still be sent again by hand).
    Failed,
}

impl DeliveryState {
    fn label(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

/// One event sent to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    /// Position in the emulator's delivery list (1, 2, …): the resend key.
    pub number: u64,
    /// The `webhook-id` header, the same on every attempt and resend.
    pub webhook_id: String,
    /// The event's `type`.
    pub event_type: String,
    /// The receiving endpoint.
    pub url: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Status of the last answer, if one came.
    pub last_status: Option<u16>,
    /// Where it stands.
    pub state: DeliveryState,
    /// The event envelope sent as the body.
    pub event: Value,
}

struct Job {
    number: u64,
    /// `false` for the first send (retried on failure), `true` for one
    /// manual resend.
    resend: bool,
}

pub(crate) struct Deliveries {
    sender: WebhookSender,
    secret: String,
    endpoints: Mutex<Vec<String>>,
    records: Mutex<Vec<(WebhookDelivery, Arc<[u8]>)>>,
    retry_delays: Vec<Duration>,
    queue: mpsc::UnboundedSender<Job>,
    jobs: Mutex<Option<mpsc::UnboundedReceiver<Job>>>,
}

impl Deliveries {
    /// A queue signing with `secret` (`whsec_…`; generated when `None`).
    pub(crate) fn new(
        secret: Option<String>,
        endpoints: Vec<String>,
        retry_delays: Option<Vec<Duration>>,
    ) -> Result<Self, EmulatorError> {
        let secret = match secret {
            Some(secret) => secret,
            None => generate_secret()?,
        };
        let sender = WebhookSender::new(&secret)?;
        let (queue, jobs) = mpsc::unbounded_channel();
        Ok(Deliveries {
            sender,
            secret,
            endpoints: Mutex::new(endpoints),
            records: Mutex::new(Vec::new()),
            retry_delays: retry_delays.unwrap_or_else(|| DEFAULT_RETRY_DELAYS.to_vec()),
            queue,
            jobs: Mutex::new(Some(jobs)),
        })
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    pub(crate) fn environment_id(&self) -> &str {
        self.sender.environment_id()
    }

    pub(crate) fn add_endpoint(&self, url: String) {
        lock(&self.endpoints).push(url);
    }

    pub(crate) fn endpoints(&self) -> Vec<String> {
        lock(&self.endpoints).clone()
    }

    pub(crate) fn list(&self) -> Vec<WebhookDelivery> {
        lock(&self.records).iter().map(|(d, _)| d.clone()).collect()
    }

    /// Emits an event: builds its envelope and queues one delivery per
    /// endpoint. Returns the envelope.
    pub(crate) fn emit(
        &self,
        event_type: &str,
        object: &str,
        organization_id: &str,
        data: Value,
    ) -> Value {
        let event = json!({
            "spec_version": "1",
            "id": ids::id("evt"),
            "type": event_type,
            "occurred_at": occurred_at_now(),
            "environment_id": self.environment_id(),
            "organization_id": organization_id,
            "object": object,
            "data": data,
        });
        let body: Arc<[u8]> = serde_json::to_vec(&event).unwrap_or_default().into();
        let webhook_id = ids::id("msg");
        for url in self.endpoints() {
            let number = {
                let mut records = lock(&self.records);
                let number = records.len() as u64 + 1;
                records.push((
                    WebhookDelivery {
                        number,
                        webhook_id: webhook_id.clone(),
                        event_type: event_type.to_owned(),
                        url,
                        attempts: 0,
                        last_status: None,
                        state: DeliveryState::Pending,
                        event: event.clone(),
                    },
                    body.clone(),
                ));
                number
            };
            // The worker lives as long as the emulator; a send after its
            // end has nobody to deliver to.
            let _ = self.queue.send(Job {
                number,
                resend: false,
            });
        }
        tracing::debug!(event_type, "webhook event emitted");
        event
    }

    /// Queues one more attempt of delivery `number`.
    pub(crate) fn resend(&self, number: u64) -> Result<(), EmulatorError> {
        if !lock(&self.records).iter().any(|(d, _)| d.number == number) {
            return Err(EmulatorError::UnknownDelivery);
        }
        let _ = self.queue.send(Job {
            number,
            resend: true,
        });
        Ok(())
    }

    /// One attempt of delivery `number`; whether it was delivered.
    async fn attempt(&self, number: u64) -> bool {
        let Some((url, webhook_id, body)) = lock(&self.records)
            .iter()
            .find(|(d, _)| d.number == number)
            .map(|(d, body)| (d.url.clone(), d.webhook_id.clone(), body.clone()))
        else {
            return false;
        };
        let status = self.sender.attempt(&url, &webhook_id, &body).await;
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        if let Some((record, _)) = lock(&self.records)
            .iter_mut()
            .find(|(d, _)| d.number == number)
        {
            record.attempts += 1;
            if status.is_some() {
                record.last_status = status;
            }
            if delivered {
                record.state = DeliveryState::Delivered;
            }
        }
        tracing::info!(
            webhook_id,
            url,
            status = ?status,
            delivered,
            "webhook delivery attempt"
        );
        delivered
    }

    fn mark_failed(&self, number: u64) {
        if let Some((record, _)) = lock(&self.records)
            .iter_mut()
            .find(|(d, _)| d.number == number && d.state == DeliveryState::Pending)
        {
            record.state = DeliveryState::Failed;
        }
    }
}

/// A new `whsec_<base64>` secret of 32 random bytes.
fn generate_secret() -> Result<String, EmulatorError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| EmulatorError::Random)?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// Starts the worker: first attempts in emission order, one at a time;
/// a failed delivery is retried on its own schedule beside the queue, so
/// that one failing receiver does not hold the others' events back.
pub(crate) fn start_worker(
    state: Arc<State>,
    shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let mut jobs = lock(&state.deliveries.jobs).take()?;
    Some(tokio::spawn(async move {
        let mut stop = shutdown.clone();
        loop {
            let job = tokio::select! {
                job = jobs.recv() => job,
                _ = stop.changed() => None,
            };
            let Some(job) = job else { return };
            let deliveries = &state.deliveries;
            if deliveries.attempt(job.number).await || job.resend {
                continue;
            }
            let state = state.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let delays = state.deliveries.retry_delays.clone();
                for delay in delays {
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.changed() => return,
                    }
                    if state.deliveries.attempt(job.number).await {
                        return;
                    }
                }
                state.deliveries.mark_failed(job.number);
            });
        }
    }))
}

/// `GET /deliveries`: every delivery, newest first, with a resend button.
pub(crate) async fn page(AxumState(state): AxumState<Arc<State>>) -> Response {
    let deliveries = &state.deliveries;
    let mut rows = String::new();
    for d in deliveries.list().iter().rev() {
        rows.push_str(&format!(
            "<tr id=\"delivery-{n}\"><td>{n}</td><td><code>{id}</code></td><td>{ty}</td>\
             <td>{url}</td><td class=\"state\">{st}</td><td>{attempts}</td><td>{status}</td>\
             <td><form method=\"post\" action=\"/deliveries/{n}/resend\">\
             <button type=\"submit\">Send again</button></form></td></tr>",
            n = d.number,
            id = esc(&d.webhook_id),
            ty = esc(&d.event_type),
            url = esc(&d.url),
            st = d.state.label(),
            attempts = d.attempts,
            status = d.last_status.map(|s| s.to_string()).unwrap_or_default(),
        ));
    }
    let endpoints = deliveries.endpoints();
    let endpoints = if endpoints.is_empty() {
        "<p id=\"no-endpoints\">No webhook endpoint is registered (<code>--webhook-url</code>).</p>"
            .to_owned()
    } else {
        let list: String = endpoints
            .iter()
            .map(|u| format!("<li>{}</li>", esc(u)))
            .collect();
        format!("<ul id=\"endpoints\">{list}</ul>")
    };
    let body = format!(
        "{endpoints}<table><thead><tr><th>#</th><th>webhook-id</th><th>event</th><th>endpoint</th>\
         <th>state</th><th>attempts</th><th>last status</th><th></th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    );
    Html(crate::html::page("Webhook deliveries", &body)).into_response()
}

/// `POST /deliveries/{number}/resend`: one more attempt, then back to the
/// list.
pub(crate) async fn resend(
    AxumState(state): AxumState<Arc<State>>,
    Path(number): Path<String>,
) -> Response {
    let found = number
        .parse::<u64>()
        .ok()
        .map(|n| state.deliveries.resend(n));
    match found {
        Some(Ok(())) => {
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/deliveries")]).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            Html(crate::html::page(
                "Unknown delivery",
                "<p id=\"error\">No delivery has this number.</p>",
            )),
        )
            .into_response(),
    }
}
