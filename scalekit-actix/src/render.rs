//! Rendering the core's plain-data answers as actix-web responses.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use scalekit_core::web::WebResponse;
use scalekit_core::web::adapter::Finish;

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

/// What the core adds once the inner service answered.
pub(crate) fn finish(headers: &mut HeaderMap, finish: Finish) {
    append_cookies(headers, &finish.set_cookies);
    if let Some(value) = finish.cache_control {
        headers.append(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
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

/// A redirect, page, JSON or error answer of the core, as the core renders
/// it ([`WebResponse::into_http`]).
pub(crate) fn web(answer: WebResponse) -> HttpResponse {
    let http = answer.into_http();
    let mut response =
        HttpResponse::with_body(status(http.status), http.body).map_into_boxed_body();
    let headers = response.headers_mut();
    for (name, value) in &http.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => headers.append(name, value),
            _ => tracing::warn!("a header of an answer was not valid"),
        }
    }
    response
}
