//! De-duplication of deliveries by `webhook-id` ([`Deduplicator`]), and
//! the settlement of a delivery being handled ([`DeliveryGuard`],
//! [`DeliverySlot`]): a delivery not handled to success is forgotten, so
//! that the platform's retry runs.

use std::time::Duration;

/// The id of a de-duplicated delivery being handled, shared between a
/// framework's extractor and its middleware (see
/// [`WebhookVerifier::delivery_guard`](super::WebhookVerifier::delivery_guard)).
#[derive(Clone, Debug, Default)]
pub struct DeliverySlot(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl DeliverySlot {
    /// Records the delivery id the handler is processing.
    pub fn fill(&self, webhook_id: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(webhook_id.to_owned());
    }

    fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The settlement of a de-duplicated delivery (see
/// [`WebhookVerifier::delivery_guard`](super::WebhookVerifier::delivery_guard)):
/// the delivery id is kept as seen
/// only when [`settle`](DeliveryGuard::settle) is called with a success;
/// on every other path, dropping the guard included, it is forgotten, so
/// that the platform's retry is processed.
///
/// ```
/// use std::time::Duration;
/// use scalekit_core::webhook::{Deduplicator, WebhookVerifier};
///
/// let dedup = Deduplicator::new(100, Duration::from_secs(60));
/// let verifier = WebhookVerifier::new("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ")?
///     .deduplicate(dedup.clone());
/// assert!(dedup.first_delivery("msg_1"));
/// let guard = verifier.delivery_guard().expect("de-duplicated");
/// guard.slot().fill("msg_1");
/// drop(guard); // the handler never finished
/// assert!(dedup.first_delivery("msg_1"), "the retry runs");
/// # Ok::<(), scalekit_core::webhook::WebhookError>(())
/// ```
#[derive(Debug)]
pub struct DeliveryGuard {
    pub(super) deduplicator: Deduplicator,
    pub(super) slot: DeliverySlot,
    pub(super) settled: bool,
}

impl DeliveryGuard {
    /// The slot the extractor fills with the delivery id.
    pub fn slot(&self) -> &DeliverySlot {
        &self.slot
    }

    /// The handler answered: a success keeps the delivery as seen,
    /// anything else forgets it.
    pub fn settle(mut self, succeeded: bool) {
        self.settled = succeeded;
        // Drop forgets the id unless it succeeded.
    }
}

impl Drop for DeliveryGuard {
    fn drop(&mut self) {
        if let Some(id) = self.slot.take()
            && !self.settled
        {
            tracing::info!(webhook_id = %id, "webhook delivery not handled to success; its retry will run");
            self.deduplicator.forget(&id);
        }
    }
}

/// Remembers recent `webhook-id`s so that retried deliveries are processed
/// once: bounded in size, each id forgotten after a TTL.
///
/// ```
/// use std::time::Duration;
/// use scalekit_core::webhook::Deduplicator;
///
/// let seen = Deduplicator::new(10_000, Duration::from_secs(24 * 3600));
/// assert!(seen.first_delivery("msg_1"));
/// assert!(!seen.first_delivery("msg_1"));
/// assert!(seen.first_delivery("msg_2"));
/// ```
#[derive(Clone)]
pub struct Deduplicator {
    seen: moka::sync::Cache<String, ()>,
}

impl std::fmt::Debug for Deduplicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deduplicator").finish_non_exhaustive()
    }
}

impl Deduplicator {
    /// Remembers at most `capacity` ids, each for `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Deduplicator {
            seen: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// `true` the first time `webhook_id` is seen (within the TTL), `false`
    /// for a repeat. Atomic under concurrency.
    pub fn first_delivery(&self, webhook_id: &str) -> bool {
        self.seen
            .entry(webhook_id.to_owned())
            // `or_insert_with` coalesces concurrent first calls: one is fresh.
            .or_insert_with(|| ())
            .is_fresh()
    }

    /// Forgets an id (when processing failed and a retry should run).
    pub fn forget(&self, webhook_id: &str) {
        self.seen.invalidate(webhook_id);
    }
}
