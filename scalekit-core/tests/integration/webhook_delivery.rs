//! Webhooks sent by the emulator verify with the core's verifier; failed
//! deliveries are retried under the same `webhook-id`, which the
//! de-duplication helper recognises.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use scalekit_core::webhook::{Deduplicator, EventType, WebhookVerifier};
use scalekit_emulator::WebhookSender;

const SECRET: &str = "whsec_ZW11bGF0b3Itd2ViaG9vay1zZWNyZXQtMDEyMzQ1";

/// Each request: its `webhook-id`, whether it was a first delivery, and the
/// event type once verified.
type Log = Arc<Mutex<Vec<(String, bool, Option<EventType>)>>>;

#[derive(Clone)]
struct Receiver {
    verifier: WebhookVerifier,
    seen: Deduplicator,
    fail_first: Arc<Mutex<u32>>,
    log: Log,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    {
        let mut fail = r.fail_first.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            r.log.lock().unwrap().push((id, false, None));
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    match r.verifier.verify_event(&headers, &body) {
        Ok(event) => {
            let first = r.seen.first_delivery(&id);
            r.log
                .lock()
                .unwrap()
                .push((id, first, Some(event.event_type)));
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn serve(fail_first: u32) -> (String, Receiver) {
    let receiver = Receiver {
        verifier: WebhookVerifier::new(SECRET).unwrap(),
        seen: Deduplicator::new(100, Duration::from_secs(60)),
        fail_first: Arc::new(Mutex::new(fail_first)),
        log: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/webhooks/scalekit", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/scalekit",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

#[tokio::test]
async fn emulator_webhooks_verify_and_retries_keep_their_id() {
    let (url, receiver) = serve(2).await;
    let sender = WebhookSender::new(SECRET)
        .unwrap()
        .retry_delays(vec![Duration::from_millis(20); 3]);
    let event = sender.event(
        "organization.directory.user_created",
        "org_1",
        serde_json::json!({"email": "ada@example.com"}),
    );
    let delivery = sender.send(&url, &event).await;
    assert!(delivery.delivered);
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.last_status, Some(200));
    let log = receiver.log.lock().unwrap().clone();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|(id, _, _)| *id == delivery.webhook_id));
    assert_eq!(log[2].2, Some(EventType::DirectoryUserCreated));

    // A redelivery of the same id is recognised as a duplicate.
    let body = serde_json::to_vec(&event).unwrap();
    let again = sender.send_body(&url, &delivery.webhook_id, &body).await;
    assert!(again.delivered);
    let log = receiver.log.lock().unwrap().clone();
    assert_eq!((log[2].1, log[3].1), (true, false));
}

#[tokio::test]
async fn a_sender_with_another_secret_is_refused_and_gives_up() {
    let (url, receiver) = serve(0).await;
    let sender = WebhookSender::new("whsec_b3RoZXItc2VjcmV0LW9mLWVub3VnaC1sZW5ndGg=")
        .unwrap()
        .retry_delays(vec![Duration::from_millis(10)]);
    let event = sender.event("organization.sso_enabled", "org_1", serde_json::json!({}));
    let delivery = sender.send(&url, &event).await;
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 2);
    assert_eq!(delivery.last_status, Some(400));
    assert!(receiver.log.lock().unwrap().is_empty());
}
