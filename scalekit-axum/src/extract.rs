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
use scalekit_core::web::{Authenticated, Refusal, Resolution, WebAuth, WebResponse};
use scalekit_core::webhook::{
    DeliverySlot, InterceptorRequest, NOT_CONFIGURED_ANSWER, WebhookError, WebhookEvent,
    WebhookVerifier,
};
use serde::de::DeserializeOwned;

use crate::render;

fn challenge(parts: &Parts) -> Challenge {
    parts
        .extensions
        .get::<Arc<WebAuth>>()
        .map(|web| web.challenge().clone())
        .unwrap_or_default()
}

/// The rejection of `outcome`, answered through the application's
/// responder (a session that has just ended reported as such).
fn reject(parts: &Parts, outcome: ErrorOutcome) -> AuthRejection {
    let refusal = match parts.extensions.get::<Resolution>() {
        Some(resolution) => resolution.refusal(outcome),
        None => Refusal::from(outcome),
    };
    let web = parts.extensions.get::<Arc<WebAuth>>().map(Arc::as_ref);
    AuthRejection {
        answer: Box::new(render::refusal(web, refusal.clone())),
        refusal: Box::new(refusal),
    }
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

/// A refused extraction: no authenticated caller (`401` with
/// `WWW-Authenticate: Bearer realm=…`), authentication temporarily
/// unavailable (`503`), or claims without the requested shape
/// (`401 invalid_token`). It carries the typed [`Refusal`] and the answer
/// of the application's responder (see [`WebAuth::respond_with`]), else
/// the default.
#[derive(Debug, Clone)]
pub struct AuthRejection {
    // Boxed: rejections travel in `Result`s and stay small.
    refusal: Box<Refusal>,
    answer: Box<WebResponse>,
}

impl AuthRejection {
    /// The rejection of `refusal`, answered through `web`'s responder.
    pub fn new(refusal: Refusal, web: &WebAuth) -> Self {
        AuthRejection {
            answer: Box::new(web.respond(refusal.clone())),
            refusal: Box::new(refusal),
        }
    }

    /// What was refused: kind, status, challenge, error code.
    pub fn refusal(&self) -> &Refusal {
        &self.refusal
    }

    /// The RFC 6750 outcome of the refusal.
    pub fn outcome(&self) -> &ErrorOutcome {
        self.refusal.outcome()
    }
}

impl From<ErrorOutcome> for AuthRejection {
    /// The answer to a failed check made with the core (for example
    /// [`Resolution::check`] inside a middleware of your own), with the
    /// default rendering; use [`AuthRejection::new`] to go through the
    /// application's responder.
    fn from(outcome: ErrorOutcome) -> Self {
        let refusal = Refusal::from(outcome);
        AuthRejection {
            answer: Box::new(refusal.default_response().clone()),
            refusal: Box::new(refusal),
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        render::web(*self.answer)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let resolution = parts.extensions.get::<Resolution>();
        if let Some(caller) = resolution.and_then(Resolution::caller) {
            return Ok(AuthUser(caller.clone()));
        }
        let challenge = challenge(parts);
        match resolution {
            Some(resolution) => resolution.require(&challenge).map(|c| AuthUser(c.clone())),
            None => Err(ErrorOutcome::missing_credentials(&challenge)),
        }
        .map_err(|outcome| reject(parts, outcome))
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
        match parts.extensions.get::<Resolution>() {
            Some(resolution) if resolution.failure().is_none() => {
                Ok(resolution.caller().cloned().map(AuthUser))
            }
            Some(resolution) => resolution
                .optional(&challenge(parts))
                .map(|caller| caller.cloned().map(AuthUser))
                .map_err(|outcome| reject(parts, outcome)),
            None => Ok(None),
        }
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
    Shape(AuthRejection),
}

impl ClaimsRejection {
    /// What was refused: kind, status, challenge, error code.
    pub fn refusal(&self) -> &Refusal {
        match self {
            ClaimsRejection::Unauthenticated(rejection) | ClaimsRejection::Shape(rejection) => {
                rejection.refusal()
            }
        }
    }
}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            ClaimsRejection::Unauthenticated(rejection) | ClaimsRejection::Shape(rejection) => {
                rejection.into_response()
            }
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
            ClaimsRejection::Shape(reject(
                parts,
                ErrorOutcome::invalid_token(
                    &challenge(parts),
                    "The access token lacks a required claim.",
                ),
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
        Ok(AccessToken(user.access_token().to_owned()))
    }
}

/// A webhook event whose signature was verified over the raw body (the
/// verifier comes from the auth layer's configuration). The body is read up
/// to the verifier's limit (1 MiB by default), never further.
///
/// With de-duplication on ([`WebhookVerifier::deduplicate`]), a repeated
/// delivery is acknowledged with `200 {"duplicate":true}` without running
/// the handler, and a delivery whose handler answered with an error status
/// is forgotten, so that the platform's retry runs it again.
///
/// [`WebhookVerifier::deduplicate`]: scalekit_core::webhook::WebhookVerifier::deduplicate
#[derive(Debug, Clone)]
pub struct ScalekitWebhook(pub WebhookEvent);

/// An interceptor request whose signature was verified over the raw body
/// (`interceptor-*` headers); answer it with an
/// [`InterceptorResponse`](scalekit_core::webhook::InterceptorResponse).
#[derive(Debug, Clone)]
pub struct ScalekitInterceptor(pub InterceptorRequest);

/// A webhook or interceptor request that was not accepted: `400` with a
/// fixed JSON body when it does not verify (the reason is logged), `413`
/// when its body is over the limit, `200 {"duplicate":true}` for a repeated
/// delivery, `500` when no webhook secret is configured.
#[derive(Debug, Clone)]
pub struct WebhookRejection {
    reason: Option<WebhookError>,
}

impl WebhookRejection {
    /// Why the request was refused (`None`: webhooks are not configured).
    pub fn reason(&self) -> Option<WebhookError> {
        self.reason
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let (status, body) = self
            .reason
            .map_or(NOT_CONFIGURED_ANSWER, |reason| reason.answer());
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

/// The verifier of the request and its body, read up to the verifier's limit.
async fn verified_body(
    request: Request,
) -> Result<(WebhookVerifier, Parts, Bytes), WebhookRejection> {
    let (parts, body) = request.into_parts();
    let Some(verifier) = parts
        .extensions
        .get::<Arc<WebAuth>>()
        .and_then(|web| web.webhook_verifier().cloned())
    else {
        tracing::error!("a webhook arrived but no webhook secret is configured");
        return Err(WebhookRejection { reason: None });
    };
    let limit = verifier.body_limit();
    let too_large = WebhookRejection {
        reason: Some(WebhookError::PayloadTooLarge),
    };
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large);
    }
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        // Over the limit, or a broken body: neither is processed.
        too_large.clone()
    })?;
    Ok((verifier, parts, body))
}

impl<S: Send + Sync> FromRequest<S> for ScalekitWebhook {
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (verifier, parts, body) = verified_body(request).await?;
        let event = verifier
            .verify_event(&parts.headers, &body)
            .map_err(|err| {
                tracing::warn!(error = %err, "webhook refused");
                WebhookRejection { reason: Some(err) }
            })?;
        if verifier.deduplicates()
            && let (Some(slot), Some(id)) = (
                parts.extensions.get::<DeliverySlot>(),
                parts
                    .headers
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok()),
            )
        {
            slot.fill(id);
        }
        Ok(ScalekitWebhook(event))
    }
}

impl<S: Send + Sync> FromRequest<S> for ScalekitInterceptor {
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (verifier, parts, body) = verified_body(request).await?;
        verifier
            .verify_interceptor_request(&parts.headers, &body)
            .map(ScalekitInterceptor)
            .map_err(|err| {
                tracing::warn!(error = %err, "interceptor request refused");
                WebhookRejection { reason: Some(err) }
            })
    }
}

/// The application data of the caller's session, as a `T` of your own
/// (any serde type): read it with [`get`](scalekit_core::web::SessionValue::get),
/// replace it with [`set`](scalekit_core::web::SessionValue::set) or
/// [`clear`](scalekit_core::web::SessionValue::clear). The data is sealed
/// with the session (cookie or server-side record), size-checked, kept
/// across refreshes and gone at logout; the auth layer sends the rewritten
/// session cookies with the response.
///
/// Needs the auth layer and a session caller: without one the request is
/// refused with `401` (a bearer-token caller has no session to keep data
/// in).
///
/// ```no_run
/// use axum::Json;
/// use axum::http::StatusCode;
/// use scalekit_axum::SessionValue;
///
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// struct Preferences { theme: String }
///
/// async fn set_theme(
///     mut prefs: SessionValue<Preferences>,
///     Json(theme): Json<String>,
/// ) -> Result<StatusCode, StatusCode> {
///     let mut next = prefs.get().map(|p| Preferences { theme: p.theme.clone() }).unwrap_or_default();
///     next.theme = theme;
///     prefs.set(next).await.map_err(|err| {
///         StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
///     })?;
///     Ok(StatusCode::NO_CONTENT)
/// }
/// ```
#[derive(Debug)]
pub struct SessionValue<T>(pub scalekit_core::web::SessionValue<T>);

impl<T> Deref for SessionValue<T> {
    type Target = scalekit_core::web::SessionValue<T>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> std::ops::DerefMut for SessionValue<T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<S, T> FromRequestParts<S> for SessionValue<T>
where
    S: Send + Sync,
    T: serde::Serialize + DeserializeOwned + Send,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AuthUser(caller) =
            <AuthUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let no_session =
            |parts: &Parts| reject(parts, ErrorOutcome::missing_credentials(&challenge(parts)));
        let Some(web) = parts.extensions.get::<Arc<WebAuth>>().cloned() else {
            return Err(no_session(parts));
        };
        let cookies = parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| String::from_utf8(v.as_bytes().to_vec()).ok())
            .collect();
        scalekit_core::web::SessionValue::new(web, caller, cookies)
            .map(SessionValue)
            .map_err(|_| no_session(parts))
    }
}
