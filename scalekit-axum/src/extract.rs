//! Extractors: the authenticated caller, typed claims, the raw access token,
//! and a verified webhook event. Each rejection renders its own answer.

use std::ops::Deref;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use scalekit_core::outcome::{Challenge, ErrorOutcome};
use scalekit_core::web::{Authenticated, WebAuth};
use scalekit_core::webhook::{WebhookError, WebhookEvent};
use serde::de::DeserializeOwned;

use crate::layer::Resolution;
use crate::render;

fn challenge(parts: &Parts) -> Challenge {
    parts
        .extensions
        .get::<Arc<WebAuth>>()
        .map(|web| web.challenge().clone())
        .unwrap_or_default()
}

/// The authenticated caller (bearer token or session). Requires the auth
/// layer; without a caller the request is refused with `401`.
///
/// Use `Option<AuthUser>` on routes open to anonymous callers.
#[derive(Clone, Debug)]
pub struct AuthUser(pub Arc<Authenticated>);

impl Deref for AuthUser {
    type Target = Authenticated;

    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

/// No authenticated caller: `401` with `WWW-Authenticate: Bearer realm=…`.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    outcome: ErrorOutcome,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        render::outcome(&self.outcome)
    }
}

/// The failure the auth layer left for the route to answer (authentication
/// temporarily unavailable), as a rejection.
fn deferred_failure(parts: &Parts) -> Option<AuthRejection> {
    match parts.extensions.get::<Resolution>() {
        Some(Resolution(Err(failure))) => Some(AuthRejection {
            outcome: failure.outcome(&challenge(parts)),
        }),
        _ => None,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Arc<Authenticated>>() {
            return Ok(AuthUser(caller.clone()));
        }
        Err(deferred_failure(parts).unwrap_or_else(|| AuthRejection {
            outcome: ErrorOutcome::missing_credentials(&challenge(parts)),
        }))
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
        if let Some(rejection) = deferred_failure(parts) {
            return Err(rejection);
        }
        Ok(parts
            .extensions
            .get::<Arc<Authenticated>>()
            .cloned()
            .map(AuthUser))
    }
}

/// The verified access token's claims in a type of your own:
/// `Claims<MyClaims>`. Refused with `401` without a caller, or when the
/// claims do not have that shape.
#[derive(Debug, Clone)]
pub struct Claims<C>(pub C);

/// Why [`Claims`] could not be extracted: no caller (`401`), or claims
/// that do not have the requested shape (`401 invalid_token`).
#[derive(Debug, Clone)]
pub enum ClaimsRejection {
    /// No authenticated caller.
    Unauthenticated(AuthRejection),
    /// The verified claims do not fit the requested type.
    Shape(ErrorOutcome),
}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            ClaimsRejection::Unauthenticated(rejection) => rejection.into_response(),
            ClaimsRejection::Shape(outcome) => render::outcome(&outcome),
        }
    }
}

impl<S: Send + Sync, C: DeserializeOwned> FromRequestParts<S> for Claims<C> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <AuthUser as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(ClaimsRejection::Unauthenticated)?;
        user.claims_as::<C>().map(Claims).map_err(|_| {
            ClaimsRejection::Shape(ErrorOutcome::invalid_token(
                &challenge(parts),
                "The access token lacks a required claim.",
            ))
        })
    }
}

/// The caller's verified access token, as sent or from the session.
#[derive(Clone)]
pub struct AccessToken(pub String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <AuthUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(AccessToken(user.access_token.clone()))
    }
}

/// A webhook event whose signature was verified over the raw body (the
/// verifier comes from the auth layer's configuration).
#[derive(Debug, Clone)]
pub struct ScalekitWebhook(pub WebhookEvent);

/// A webhook that did not verify: `400` with a fixed JSON body (the
/// reason is logged). `500` when no webhook secret is configured.
#[derive(Debug, Clone)]
pub struct WebhookRejection {
    reason: Option<WebhookError>,
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let (status, body) = match self.reason {
            Some(_) => (
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_webhook","error_description":"The webhook could not be verified."}"#,
            ),
            None => (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"error":"server_error","error_description":"Webhooks are not configured."}"#,
            ),
        };
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

impl<S: Send + Sync> FromRequest<S> for ScalekitWebhook {
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let Some(verifier) = parts
            .extensions
            .get::<Arc<WebAuth>>()
            .and_then(|web| web.webhook_verifier().cloned())
        else {
            tracing::error!("a webhook arrived but no webhook secret is configured");
            return Err(WebhookRejection { reason: None });
        };
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|_| WebhookRejection {
                reason: Some(WebhookError::InvalidPayload),
            })?;
        verifier
            .verify_event(&parts.headers, &body)
            .map(ScalekitWebhook)
            .map_err(|err| {
                tracing::warn!(error = %err, "webhook refused");
                WebhookRejection { reason: Some(err) }
            })
    }
}
