//! Rendering the core's plain-data answers as axum responses.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
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

/// A redirect, page, JSON or error answer of the core, as the core renders
/// it ([`WebResponse::into_http`]).
pub(crate) fn web(answer: WebResponse) -> Response {
    let http = answer.into_http();
    let mut response = Response::new(Body::from(http.body));
    *response.status_mut() = status(http.status);
    let headers = response.headers_mut();
    for (name, value) in &http.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!("a header of an answer was not valid"),
        }
    }
    response
}
