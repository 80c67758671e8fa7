//! Rendering the core's plain-data answers as actix-web responses.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use scalekit_core::outcome::ErrorOutcome;
use scalekit_core::web::{Answer, Refusal, WebAuth, WebResponse};

pub(crate) fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Appends `Set-Cookie` headers (empty values, which the core gives for a
/// cookie it refused to render, are skipped; values that are not valid
/// header text are dropped and logged; the core never produces them).
pub(crate) fn append_cookies(headers: &mut HeaderMap, set_cookies: &[String]) {
    for cookie in set_cookies.iter().filter(|c| !c.is_empty()) {
        match HeaderValue::from_str(cookie) {
            Ok(value) => headers.append(header::SET_COOKIE, value),
            Err(_) => tracing::warn!("a Set-Cookie value was not valid header text"),
        }
    }
}

/// Appends the auth middleware's own `Set-Cookie` values to a response,
/// unless the response sets the session cookie itself (logout, a new
/// session): a refresh on the way in must not undo it.
pub(crate) fn append_layer_cookies(headers: &mut HeaderMap, web: &WebAuth, set_cookies: &[String]) {
    if set_cookies.is_empty()
        || web.sessions().sets_session_cookie(
            headers
                .get_all(header::SET_COOKIE)
                .filter_map(|v| v.to_str().ok()),
        )
    {
        return;
    }
    append_cookies(headers, set_cookies);
}

/// The answer to a refusal: the application's responder's, else the
/// default (also when no auth middleware put its `WebAuth` in the request).
pub(crate) fn refusal(web: Option<&WebAuth>, refusal: Refusal) -> WebResponse {
    match web {
        Some(web) => web.respond(refusal),
        None => refusal.default_response().clone(),
    }
}

/// The application's own answer (invalid header names or values are
/// dropped and logged).
fn custom(answer: Answer) -> HttpResponse {
    let mut response =
        HttpResponse::with_body(status(answer.status), answer.body).map_into_boxed_body();
    let headers = response.headers_mut();
    for (name, value) in &answer.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => headers.append(name, value),
            _ => tracing::warn!("a header of the application's answer was not valid"),
        }
    }
    response
}

/// An RFC 6750 answer: its status and headers, with its JSON body or with
/// `html` (a retry page for browser routes).
fn error(outcome: &ErrorOutcome, html: Option<String>) -> HttpResponse {
    let (body, content_type) = match html {
        Some(html) => (html, "text/html; charset=utf-8"),
        None => (outcome.body_json(), "application/json"),
    };
    let mut response = HttpResponse::with_body(status(outcome.status), body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in &outcome.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    response.map_into_boxed_body()
}

/// A fixed JSON answer.
pub(crate) fn json(code: StatusCode, body: &'static str) -> HttpResponse {
    let mut response = HttpResponse::with_body(code, body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.map_into_boxed_body()
}

/// A redirect, page or JSON answer of the auth routes.
pub(crate) fn web(answer: WebResponse) -> HttpResponse {
    let (mut response, cookies) = match answer {
        WebResponse::Error { outcome, html } => return error(&outcome, html),
        WebResponse::Redirect {
            location,
            set_cookies,
        } => {
            let mut response = HttpResponse::new(StatusCode::FOUND);
            match HeaderValue::from_str(&location) {
                Ok(value) => {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                Err(_) => *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
            }
            (response, set_cookies)
        }
        WebResponse::Page {
            status: code,
            html,
            set_cookies,
        } => {
            let mut response = HttpResponse::with_body(status(code), html).map_into_boxed_body();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            (response, set_cookies)
        }
        WebResponse::Json { status: code, body } => {
            let mut response = HttpResponse::with_body(status(code), body).map_into_boxed_body();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            (response, Vec::new())
        }
        WebResponse::Custom {
            answer,
            set_cookies,
        } => (custom(answer), set_cookies),
    };
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    append_cookies(response.headers_mut(), &cookies);
    response
}
