//! Webhooks and interceptors (PROTOCOL.md §9): signature verification over
//! the raw body, typed events, interceptor requests and responses, and a
//! de-duplication helper keyed by `webhook-id`.

mod dedup;
mod events;
mod interceptors;
mod verify;

pub use dedup::{Deduplicator, DeliveryGuard, DeliverySlot};
pub use events::{EventType, WebhookEvent};
pub use interceptors::{Decision, InterceptorRequest, InterceptorResponse, TriggerPoint};
pub(crate) use verify::NOT_CONFIGURED_ANSWER;
pub use verify::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_TOLERANCE, HeaderLookup, MAX_ID_HEADER_BYTES,
    MAX_SIGNATURE_ENTRIES, MAX_SIGNATURE_HEADER_BYTES, WebhookError, WebhookVerifier, sign_payload,
};
