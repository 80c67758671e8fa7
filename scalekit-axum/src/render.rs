//! Rendering the core's plain-data answers as axum responses.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use scalekit_core::outcome::ErrorOutcome;
use scalekit_core::web::{Answer, Refusal, WebAuth, WebResponse};

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Appends `Set-Cookie` headers (empty values, which the core gives for a
/// cookie it refused to render, are skipped; values that are not valid
/// header text are dropped and logged; the core never produces them).
pub(crate) fn append_cookies(response: &mut Response, set_cookies: &[String]) {
    for cookie in set_cookies.iter().filter(|c| !c.is_empty()) {
        match HeaderValue::from_str(cookie) {
            Ok(value) => {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Err(_) => tracing::warn!("a Set-Cookie value was not valid header text"),
        }
    }
}

/// The answer to a refusal: the application's responder's, else the
/// default (also when no auth layer put its `WebAuth` in the request).
pub(crate) fn refusal(web: Option<&WebAuth>, refusal: Refusal) -> WebResponse {
    match web {
        Some(web) => web.respond(refusal),
        None => refusal.default_response().clone(),
    }
}

/// The application's own answer (invalid header names or values are
/// dropped and logged).
fn custom(answer: Answer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = status(answer.status);
    let headers = response.headers_mut();
    for (name, value) in &answer.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!("a header of the application's answer was not valid"),
        }
    }
    response
}

/// An RFC 6750 answer: its status and headers, with its JSON body or with
/// `html` (a retry page for browser routes).
fn error(outcome: &ErrorOutcome, html: Option<String>) -> Response {
    let (body, content_type) = match html {
        Some(html) => (html, "text/html; charset=utf-8"),
        None => (outcome.body_json(), "application/json"),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status(outcome.status);
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
    response
}

/// A redirect, page or JSON answer of the auth routes.
pub(crate) fn web(answer: WebResponse) -> Response {
    let (mut response, cookies) = match answer {
        WebResponse::Error { outcome, html } => return error(&outcome, html),
        WebResponse::Redirect {
            location,
            set_cookies,
        } => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::FOUND;
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
            let mut response = Response::new(Body::from(html));
            *response.status_mut() = status(code);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            (response, set_cookies)
        }
        WebResponse::Json { status: code, body } => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status(code);
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
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    append_cookies(&mut response, &cookies);
    response
}
