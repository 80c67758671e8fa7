//! Rendering the core's plain-data answers as axum responses.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use scalekit_core::web::WebResponse;
use scalekit_core::web::adapter::Finish;

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Appends `Set-Cookie` headers (empty values, which the core gives for a
/// cookie it refused to render, are skipped; values that are not valid
/// header text are dropped and logged; the core never produces them).
pub(crate) fn append_cookies(response: &mut Response, set_cookies: &[String]) {
    append_cookie_headers(response.headers_mut(), set_cookies);
}

fn append_cookie_headers(headers: &mut axum::http::HeaderMap, set_cookies: &[String]) {
    for cookie in set_cookies.iter().filter(|c| !c.is_empty()) {
        match HeaderValue::from_str(cookie) {
            Ok(value) => {
                headers.append(header::SET_COOKIE, value);
            }
            Err(_) => tracing::warn!("a Set-Cookie value was not valid header text"),
        }
    }
}

/// What the core adds once the inner service answered.
pub(crate) fn finish(headers: &mut axum::http::HeaderMap, finish: Finish) {
    append_cookie_headers(headers, &finish.set_cookies);
    if let Some(value) = finish.cache_control {
        headers.append(header::CACHE_CONTROL, HeaderValue::from_static(value));
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
