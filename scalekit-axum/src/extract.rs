//! Extractors: the authenticated caller, typed claims, the raw access token,
//! and a verified webhook event. Each rejection renders its own answer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use scalekit_core::outcome::ErrorOutcome;
use scalekit_core::web::adapter::{Extracted, Rejection, WebhookIntake, WebhookRefusal};
use scalekit_core::web::{Authenticated, Refusal, Resolution, WebAuth};
use scalekit_core::webhook::{DeliverySlot, InterceptorRequest, WebhookError, WebhookEvent};
use serde::de::DeserializeOwned;

use crate::render;

/// What the auth layer left in the request.
fn extracted(parts: &Parts) -> Extracted<'_> {
    Extracted::new(parts.extensions.get::<Resolution>())
}

/// The caller, or the answer to give instead. The common case reads one
/// extension: the layer resolved a caller.
fn caller(parts: &Parts) -> Result<Arc<Authenticated>, AuthRejection> {
    match parts
        .extensions
        .get::<Resolution>()
        .and_then(Resolution::caller)
    {
        Some(caller) => Ok(caller.clone()),
        None => Ok(extracted(parts).caller()?),
    }
}

scalekit_core::scalekit_extractor_types!();

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        render::web(self.0.into_answer())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        caller(parts).map(AuthUser)
    }
}

/// `None` for anonymous callers. While authentication is temporarily
/// unavailable (a signed-in caller whose session cannot be refreshed right
/// now) the request is refused with `503` and `Retry-After` rather than
/// served as anonymous.
impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(extracted(parts).optional_caller()?.map(AuthUser))
    }
}

impl<S: Send + Sync, C: DeserializeOwned> FromRequestParts<S> for Claims<C> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Claims(extracted(parts).claims::<C>()?))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(AccessToken(extracted(parts).access_token()?))
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let (status, body) = self.0.answer();
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

/// The intake of a webhook or interceptor request, and its body read up to
/// the verifier's limit.
async fn intake(request: Request) -> Result<(WebhookIntake, Parts, Bytes), WebhookRejection> {
    let (parts, body) = request.into_parts();
    let intake = WebhookIntake::start(
        extracted(&parts).web(),
        parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .map(|v| v.as_bytes()),
    )
    .map_err(WebhookRejection)?;
    // Over the limit, or a broken body: neither is processed.
    let body = axum::body::to_bytes(body, intake.body_limit())
        .await
        .map_err(|_| WebhookRejection(WebhookRefusal::TOO_LARGE))?;
    Ok((intake, parts, body))
}

impl<S: Send + Sync> FromRequest<S> for ScalekitWebhook {
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (intake, parts, body) = intake(request).await?;
        intake
            .event(
                &parts.headers,
                &body,
                parts.extensions.get::<DeliverySlot>(),
            )
            .map(ScalekitWebhook)
            .map_err(WebhookRejection)
    }
}

impl<S: Send + Sync> FromRequest<S> for ScalekitInterceptor {
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (intake, parts, body) = intake(request).await?;
        intake
            .interceptor(&parts.headers, &body)
            .map(ScalekitInterceptor)
            .map_err(WebhookRejection)
    }
}

impl<S, T> FromRequestParts<S> for SessionValue<T>
where
    S: Send + Sync,
    T: serde::Serialize + DeserializeOwned + Send,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let cookies = parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| String::from_utf8(v.as_bytes().to_vec()).ok())
            .collect();
        Ok(SessionValue(extracted(parts).session_value(cookies)?))
    }
}
