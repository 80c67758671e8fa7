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
use scalekit_core::web::adapter::{Extracted, Rejection};
use scalekit_core::web::{Authenticated, Refusal, Resolution, WebAuth};
use scalekit_core::webhook::{
    DeliverySlot, HeaderLookup, InterceptorRequest, NOT_CONFIGURED_ANSWER, WebhookError,
    WebhookEvent, WebhookVerifier,
};
use serde::de::DeserializeOwned;

use crate::render;

/// What the auth middleware left in the request, to `f`.
fn extracted<R>(request: &HttpRequest, f: impl FnOnce(Extracted<'_>) -> R) -> R {
    let extensions = request.extensions();
    f(Extracted {
        web: extensions.get::<Arc<WebAuth>>().map(Arc::as_ref),
        resolution: extensions.get::<Resolution>(),
    })
}

/// The caller, or the answer to give instead (`401`, or the `503` the
/// middleware left for the route).
fn caller(request: &HttpRequest) -> Result<Arc<Authenticated>, AuthRejection> {
    extracted(request, |e| e.caller()).map_err(AuthRejection)
}

/// The authenticated caller (bearer token or session). Requires the auth
/// middleware; without a caller the request is refused with `401`.
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

/// A refused extraction as an actix-web error: no authenticated caller
/// (`401` with `WWW-Authenticate: Bearer realm=…`), authentication
/// temporarily unavailable (`503`), or claims that do not have the
/// requested shape (`401 invalid_token`). It carries the typed [`Refusal`]
/// and the answer of the application's responder (see
/// [`WebAuth::respond_with`]), else the default.
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

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.refusal().error_description())
    }
}

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

/// The verified access token's claims in a type of your own:
/// `Claims<MyClaims>`. Refused with `401` without a caller, or when the
/// claims do not have that shape.
#[derive(Debug, Clone)]
pub struct Claims<C>(pub C);

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

/// The caller's verified access token, as sent or from the session.
#[derive(Clone)]
pub struct AccessToken(pub String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl FromRequest for AccessToken {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(
            AuthUser::from_request(request, payload)
                .into_inner()
                .map(|user| AccessToken(user.access_token().to_owned())),
        )
    }
}

/// A webhook event whose signature was verified over the raw body (the
/// verifier comes from the auth middleware's configuration). The body is
/// read up to the verifier's limit (1 MiB by default), never further.
///
/// With de-duplication on, a repeated delivery is acknowledged with
/// `200 {"duplicate":true}` without running the handler, and a delivery
/// whose handler answered with an error status is forgotten, so that the
/// platform's retry runs it again.
#[derive(Debug, Clone)]
pub struct ScalekitWebhook(pub WebhookEvent);

/// An interceptor request whose signature was verified over the raw body
/// (`interceptor-*` headers).
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

    fn answer(&self) -> (StatusCode, &'static str) {
        let (status, body) = self
            .reason
            .map_or(NOT_CONFIGURED_ANSWER, |reason| reason.answer());
        (render::status(status), body)
    }
}

impl std::fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            Some(reason) => write!(f, "{reason}"),
            None => f.write_str("webhooks are not configured"),
        }
    }
}

impl ResponseError for WebhookRejection {
    fn status_code(&self) -> StatusCode {
        self.answer().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, body) = self.answer();
        render::json(status, body)
    }
}

/// Header lookup over actix-web's header map.
struct Headers<'a>(&'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The verifier of the request and its body, read up to the verifier's limit.
async fn verified_body(
    request: &HttpRequest,
    mut payload: Payload,
) -> Result<(WebhookVerifier, Vec<u8>), WebhookRejection> {
    let Some(verifier) = request
        .extensions()
        .get::<Arc<WebAuth>>()
        .and_then(|web| web.webhook_verifier().cloned())
    else {
        tracing::error!("a webhook arrived but no webhook secret is configured");
        return Err(WebhookRejection { reason: None });
    };
    let limit = verifier.body_limit();
    let too_large = || WebhookRejection {
        reason: Some(WebhookError::PayloadTooLarge),
    };
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        // Over the limit, or a broken body: neither is processed.
        let chunk = chunk.map_err(|_| too_large())?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((verifier, body))
}

impl FromRequest for ScalekitWebhook {
    type Error = WebhookRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let payload = payload.take();
        Box::pin(async move {
            let (verifier, body) = verified_body(&request, payload).await?;
            let headers = Headers(request.headers());
            let event = verifier.verify_event(&headers, &body).map_err(|err| {
                tracing::warn!(error = %err, "webhook refused");
                WebhookRejection { reason: Some(err) }
            })?;
            if verifier.deduplicates()
                && let (Some(slot), Some(id)) = (
                    request.extensions().get::<DeliverySlot>(),
                    headers.header("webhook-id"),
                )
            {
                slot.fill(id);
            }
            Ok(ScalekitWebhook(event))
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
            let (verifier, body) = verified_body(&request, payload).await?;
            verifier
                .verify_interceptor_request(&Headers(request.headers()), &body)
                .map(ScalekitInterceptor)
                .map_err(|err| {
                    tracing::warn!(error = %err, "interceptor request refused");
                    WebhookRejection { reason: Some(err) }
                })
        })
    }
}

/// The application data of the caller's session, as a `T` of your own
/// (any serde type): read it with [`get`](scalekit_core::web::SessionValue::get),
/// replace it with [`set`](scalekit_core::web::SessionValue::set) or
/// [`clear`](scalekit_core::web::SessionValue::clear). The data is sealed
/// with the session (cookie or server-side record), size-checked, kept
/// across refreshes and gone at logout; the auth middleware sends the
/// rewritten session cookies with the response.
///
/// Needs the auth middleware and a session caller: without one the request
/// is refused with `401` (a bearer-token caller has no session to keep
/// data in).
///
/// ```no_run
/// use actix_web::{HttpResponse, web};
/// use scalekit_actix::SessionValue;
///
/// #[derive(serde::Serialize, serde::Deserialize, Default)]
/// struct Preferences { theme: String }
///
/// async fn set_theme(
///     mut prefs: SessionValue<Preferences>,
///     theme: web::Json<String>,
/// ) -> HttpResponse {
///     let next = Preferences { theme: theme.into_inner() };
///     match prefs.set(next).await {
///         Ok(()) => HttpResponse::NoContent().finish(),
///         Err(err) => HttpResponse::build(
///             actix_web::http::StatusCode::from_u16(err.status())
///                 .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
///         )
///         .finish(),
///     }
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

impl<T> FromRequest for SessionValue<T>
where
    T: serde::Serialize + DeserializeOwned,
{
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let no_session =
            |request: &HttpRequest| AuthRejection(extracted(request, |e| e.missing_credentials()));
        let value = caller(request).and_then(|caller| {
            let Some(web) = request.extensions().get::<Arc<WebAuth>>().cloned() else {
                return Err(no_session(request));
            };
            let cookies = request
                .headers()
                .get_all(actix_web::http::header::COOKIE)
                .filter_map(|v| String::from_utf8(v.as_bytes().to_vec()).ok())
                .collect();
            scalekit_core::web::SessionValue::new(web, caller, cookies)
                .map(SessionValue)
                .map_err(|_| no_session(request))
        });
        ready(value)
    }
}
