//! Rendering the core's plain-data answers as axum responses.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use scalekit_core::outcome::ErrorOutcome;
use scalekit_core::web::WebResponse;

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

/// An RFC 6750 answer.
pub(crate) fn outcome(outcome: &ErrorOutcome) -> Response {
    error(outcome, None)
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
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    append_cookies(&mut response, &cookies);
    response
}
