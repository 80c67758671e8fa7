//! Extractors: the authenticated caller, typed claims, the raw access token,
//! and a verified webhook event. Each rejection renders its own answer.

use std::ops::Deref;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use scalekit_core::outcome::ErrorOutcome;
use scalekit_core::web::adapter::{Extracted, Rejection};
use scalekit_core::web::{Authenticated, Refusal, Resolution, WebAuth};
use scalekit_core::webhook::{
    DeliverySlot, InterceptorRequest, NOT_CONFIGURED_ANSWER, WebhookError, WebhookEvent,
    WebhookVerifier,
};
use serde::de::DeserializeOwned;

use crate::render;

/// What the auth layer left in the request.
fn extracted(parts: &Parts) -> Extracted<'_> {
    Extracted {
        web: parts.extensions.get::<Arc<WebAuth>>().map(Arc::as_ref),
        resolution: parts.extensions.get::<Resolution>(),
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
pub struct AuthRejection(Rejection);

impl AuthRejection {
    /// The rejection of `refusal`, answered through `web`'s responder.
    pub fn new(refusal: Refusal, web: &WebAuth) -> Self {
        AuthRejection(Rejection::new(refusal, Some(web)))
    }

    /// What was refused: kind, status, challenge, error code.
    pub fn refusal(&self) -> &Refusal {
        self.0.refusal()
    }

    /// The RFC 6750 outcome of the refusal.
    pub fn outcome(&self) -> &ErrorOutcome {
        self.0.refusal().outcome()
    }
}

impl From<Rejection> for AuthRejection {
    fn from(rejection: Rejection) -> Self {
        AuthRejection(rejection)
    }
}

impl From<ErrorOutcome> for AuthRejection {
    /// The answer to a failed check made with the core (for example
    /// [`Resolution::check`] inside a middleware of your own), with the
    /// default rendering; use [`AuthRejection::new`] to go through the
    /// application's responder.
    fn from(outcome: ErrorOutcome) -> Self {
        AuthRejection(Rejection::from(outcome))
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        render::web(self.0.into_answer())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(AuthUser(extracted(parts).caller()?))
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

/// The verified access token's claims in a type of your own:
/// `Claims<MyClaims>`. Refused with `401` without a caller, or when the
/// claims do not have that shape (`401 invalid_token`).
#[derive(Debug, Clone)]
pub struct Claims<C>(pub C);

impl<S: Send + Sync, C: DeserializeOwned> FromRequestParts<S> for Claims<C> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Claims(extracted(parts).claims::<C>()?))
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

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user = extracted(parts).caller()?;
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
        let no_session = |parts: &Parts| AuthRejection(extracted(parts).missing_credentials());
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
