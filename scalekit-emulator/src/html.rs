//! The HTML of the emulator's pages (the hosted sign-in page, the webhook
//! deliveries, the admin portal and connect pages): escaping and the
//! shared page frame.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and quoted attribute values
/// (the `html-escape` crate, as the application crates use).
pub(crate) fn esc(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

/// A whole page: `title` as its title and heading, then `body` (HTML).
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"/favicon.ico\" type=\"image/svg+xml\">\
         <style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}}\
         button{{display:block;width:100%;margin:.4rem 0;padding:.6rem;font-size:1rem}}\
         .muted{{color:#666;font-size:.9rem}}table{{border-collapse:collapse;width:100%}}\
         td,th{{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}}</style></head><body><h1>{t}</h1>{body}\
         <p class=\"muted\">Scalekit emulator — a local test environment.</p></body></html>",
        t = esc(title)
    )
}

/// `400` with a page that shows `message`.
pub(crate) fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(page(
            "Invalid request",
            &format!("<p id=\"error\">{}</p>", esc(message)),
        )),
    )
        .into_response()
}
