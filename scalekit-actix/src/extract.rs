//! Extractors: the authenticated caller, typed claims, the raw access token,
//! and verified webhook and interceptor requests. Each rejection is a
//! [`ResponseError`] answering exactly as the axum adapter does.

use std::future::{Ready, ready};
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt as _;
use futures_util::future::LocalBoxFuture;
use scalekit_core::outcome::ErrorOutcome;
use scalekit_core::web::adapter::{Extracted, Rejection, WebhookIntake, WebhookRefusal};
use scalekit_core::web::{Authenticated, Refusal, Resolution, WebAuth};
use scalekit_core::webhook::{
    DeliverySlot, HeaderLookup, InterceptorRequest, WebhookError, WebhookEvent,
};
use serde::de::DeserializeOwned;

use crate::render;

/// What the auth middleware left in the request, to `f`.
fn extracted<R>(request: &HttpRequest, f: impl FnOnce(Extracted<'_>) -> R) -> R {
    let extensions = request.extensions();
    f(Extracted::new(extensions.get::<Resolution>()))
}

/// The caller, or the answer to give instead (`401`, or the `503` the
/// middleware left for the route). The common case reads one extension:
/// the middleware resolved a caller.
fn caller(request: &HttpRequest) -> Result<Arc<Authenticated>, AuthRejection> {
    let resolved = request
        .extensions()
        .get::<Resolution>()
        .and_then(Resolution::caller)
        .cloned();
    match resolved {
        Some(caller) => Ok(caller),
        None => extracted(request, |e| e.caller()).map_err(AuthRejection),
    }
}

scalekit_core::scalekit_extractor_types!();

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        render::status(self.0.status())
    }

    fn error_response(&self) -> HttpResponse {
        render::web(self.0.answer().clone())
    }
}

impl FromRequest for AuthUser {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller(request).map(AuthUser))
    }
}

/// The optional caller: `None` for anonymous callers. While authentication
/// is temporarily unavailable (a signed-in caller whose session cannot be
/// refreshed right now) the request is refused with `503` and
/// `Retry-After` rather than served as anonymous. (actix-web's own
/// `Option<AuthUser>` would turn every rejection into `None`.)
#[derive(Clone, Debug)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl Deref for MaybeAuthUser {
    type Target = Option<AuthUser>;

    fn deref(&self) -> &Option<AuthUser> {
        &self.0
    }
}

impl FromRequest for MaybeAuthUser {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let resolved = extracted(request, |e| e.optional_caller());
        ready(
            resolved
                .map(|caller| MaybeAuthUser(caller.map(AuthUser)))
                .map_err(AuthRejection),
        )
    }
}

impl<C: DeserializeOwned> FromRequest for Claims<C> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            extracted(request, |e| e.claims::<C>())
                .map(Claims)
                .map_err(AuthRejection),
        )
    }
}

impl FromRequest for AccessToken {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            extracted(request, |e| e.access_token())
                .map(AccessToken)
                .map_err(AuthRejection),
        )
    }
}

impl ResponseError for WebhookRejection {
    fn status_code(&self) -> StatusCode {
        render::status(self.0.answer().0)
    }

    fn error_response(&self) -> HttpResponse {
        let (status, body) = self.0.answer();
        render::json(render::status(status), body)
    }
}

/// Header lookup over actix-web's header map.
struct Headers<'a>(&'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The intake of a webhook or interceptor request, and its body read up to
/// the verifier's limit.
async fn intake(
    request: &HttpRequest,
    mut payload: Payload,
) -> Result<(WebhookIntake, Vec<u8>), WebhookRejection> {
    let content_length = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .map(|v| v.as_bytes());
    let intake = extracted(request, |extracted| {
        WebhookIntake::start(extracted.web(), content_length)
    })
    .map_err(WebhookRejection)?;
    // Over the limit, or a broken body: neither is processed.
    match read_limited(&mut payload, intake.body_limit()).await {
        Some(body) => Ok((intake, body)),
        None => Err(WebhookRejection(WebhookRefusal::TOO_LARGE)),
    }
}

/// A request body read up to `limit` bytes; `None` when longer, or broken
/// off (the reading stops there).
pub(crate) async fn read_limited<S, E>(payload: &mut S, limit: usize) -> Option<Vec<u8>>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, E>> + Unpin,
{
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.ok()?;
        if body.len().saturating_add(chunk.len()) > limit {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

impl FromRequest for ScalekitWebhook {
    type Error = WebhookRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let payload = payload.take();
        Box::pin(async move {
            let (intake, body) = intake(&request, payload).await?;
            let slot = request.extensions().get::<DeliverySlot>().cloned();
            intake
                .event(&Headers(request.headers()), &body, slot.as_ref())
                .map(ScalekitWebhook)
                .map_err(WebhookRejection)
        })
    }
}

impl FromRequest for ScalekitInterceptor {
    type Error = WebhookRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let payload = payload.take();
        Box::pin(async move {
            let (intake, body) = intake(&request, payload).await?;
            intake
                .interceptor(&Headers(request.headers()), &body)
                .map(ScalekitInterceptor)
                .map_err(WebhookRejection)
        })
    }
}

impl<T> FromRequest for SessionValue<T>
where
    T: serde::Serialize + DeserializeOwned,
{
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let cookies = request
            .headers()
            .get_all(actix_web::http::header::COOKIE)
            .filter_map(|v| String::from_utf8(v.as_bytes().to_vec()).ok())
            .collect();
        ready(
            extracted(request, |e| e.session_value(cookies))
                .map(SessionValue)
                .map_err(AuthRejection),
        )
    }
}
