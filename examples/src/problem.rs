//! Your own responses: an application that answers the API refusals of its
//! routes as RFC 9457 problem details (`application/problem+json`) through
//! the core's public hook ([`WebAuth::respond_with`]), keeping the status,
//! `WWW-Authenticate` and `Retry-After` of the default answers. Browser
//! refusals (the sign-in pages, the retry page, a browser sent to sign in)
//! keep their default HTML.

use std::sync::Arc;

use scalekit_core::web::{Refusal, Responder, WebAuth};
use serde_json::json;

/// The RFC 9457 document of an API refusal: `type`, `title`, `status`,
/// `detail`, and the OAuth `error` code as an extension member.
///
/// ```
/// use scalekit_core::outcome::{Challenge, ErrorOutcome};
/// use scalekit_core::web::Refusal;
///
/// let refusal = Refusal::from(ErrorOutcome::insufficient_scope(&Challenge::new("api"), "admin:read"));
/// let doc = scalekit_examples::problem::problem_details(&refusal);
/// assert_eq!(doc["status"], 403);
/// assert_eq!(doc["error"], "insufficient_scope");
/// ```
pub fn problem_details(refusal: &Refusal) -> serde_json::Value {
    let title = match refusal.status() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        503 => "Service Unavailable",
        _ => "Error",
    };
    json!({
        "type": "about:blank",
        "title": title,
        "status": refusal.status(),
        "detail": refusal.error_description(),
        "error": refusal.error(),
    })
}

/// The responder: API refusals as `application/problem+json`, browser
/// refusals left to the default.
pub fn responder() -> Responder {
    Arc::new(|refusal: &Refusal| {
        (!refusal.is_browser()).then(|| {
            refusal.answer(
                "application/problem+json",
                problem_details(refusal).to_string(),
            )
        })
    })
}

/// `web` answering its API refusals as problem details.
pub fn with_problem_details(web: WebAuth) -> WebAuth {
    web.respond_with(responder())
}
