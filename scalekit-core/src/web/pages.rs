//! The few HTML pages the auth routes answer with (fixed text: nothing
//! from the request is ever reflected).

use super::{AuthFailure, Refusal, RefusalKind, WebAuth, WebResponse};

/// The pages' style: readable at phone width, light and dark.
const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;\
background:#f5f6f8;color:#1d2330}main{max-width:30rem;margin:12vh auto;padding:2rem;\
background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}\
h1{font-size:1.4rem;margin-top:0}p{line-height:1.5}.actions{display:flex;gap:.75rem;flex-wrap:wrap}\
.actions a{padding:.55rem 1rem;border-radius:8px;text-decoration:none;border:1px solid #c9ced8;color:inherit}\
.actions a.primary{background:#2f54eb;border-color:#2f54eb;color:#fff}\
@media (prefers-color-scheme:dark){body{background:#14161b;color:#e6e8ee}main{background:#1e2129;\
box-shadow:none}.actions a{border-color:#3a3f4b}}";

/// A page with `title` and `message` (HTML), and links to the home page
/// and, when given, to sign in again.
pub(super) fn html_page_with(title: &str, message: &str, sign_in: Option<&str>) -> String {
    let sign_in = sign_in
        .map(|href| {
            format!(
                "<a class=\"primary\" id=\"sign-in-again\" href=\"{}\">Sign in again</a>",
                escape_html(href)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>\
         <h1>{title}</h1><p id=\"message\">{message}</p><p class=\"actions\">{sign_in}\
         <a href=\"/\">Home</a></p></main></body></html>"
    )
}

/// The style of the passwordless pages' forms, added to the pages' own.
const FORM_STYLE: &str = "form{display:flex;flex-direction:column;gap:.5rem;margin:1rem 0}\
label{font-weight:600;font-size:.9rem}input{font:inherit;padding:.6rem .7rem;border:1px solid #c9ced8;\
border-radius:8px}button{font:inherit;padding:.6rem 1rem;border-radius:8px;border:0;background:#2f54eb;\
color:#fff;cursor:pointer}form.secondary button{background:transparent;color:inherit;border:1px solid #c9ced8}\
.error{color:#c62828}.note{color:#2e7d32}@media (prefers-color-scheme:dark){input{background:#14161b;\
color:inherit;border-color:#3a3f4b}.error{color:#ff8a80}.note{color:#81c784}}";

/// A passwordless page: `title`, `body` (HTML: fixed text and forms, every
/// value in it escaped by the caller), and `links` (HTML) beside the link
/// to the home page.
pub(super) fn passwordless_page(title: &str, body: &str, links: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}{FORM_STYLE}</style></head><body><main>\
         <h1>{title}</h1>{body}<p class=\"actions\">{links}<a href=\"/\">Home</a></p>\
         </main></body></html>"
    )
}

pub(super) fn html_page(title: &str, message: &str) -> String {
    html_page_with(title, message, None)
}

impl WebAuth {
    /// A sign-in page (failed, refused) with a link to sign in again.
    pub(super) fn sign_in_page(&self, title: &str, message: &str) -> String {
        html_page_with(title, message, Some(&self.paths.login))
    }

    /// The page a browser route answers while authentication is
    /// temporarily unavailable (a session refresh that cannot be made now):
    /// `503`, to be sent with the `Retry-After` of
    /// [`AuthFailure::outcome`]. The session cookie is left untouched.
    /// Given through the application's responder, when it has one.
    pub fn unavailable_page(&self) -> WebResponse {
        self.respond(self.unavailable_refusal())
    }

    /// The refusal of a browser route while authentication is temporarily
    /// unavailable: `503` with the retry page by default.
    pub(super) fn unavailable_refusal(&self) -> Refusal {
        let outcome = AuthFailure::Unavailable.outcome(self.challenge());
        let page = WebResponse::Error {
            outcome: outcome.clone(),
            html: Some(self.unavailable_html()),
        };
        Refusal::browser(RefusalKind::Unavailable, outcome, page)
    }

    /// `503` with `Retry-After` and a page (`title`, `message`): the
    /// session store cannot be reached (a login or logout that cannot be
    /// completed now). No cookie is changed.
    /// Given through the application's responder, when it has one.
    pub(super) fn store_unavailable_page(&self, title: &str, message: &str) -> WebResponse {
        let outcome = AuthFailure::Unavailable.outcome(self.challenge());
        let page = WebResponse::Error {
            outcome: outcome.clone(),
            html: Some(html_page(title, message)),
        };
        self.respond(Refusal::browser(RefusalKind::Unavailable, outcome, page))
    }

    pub(super) fn unavailable_html(&self) -> String {
        html_page(
            "Temporarily unavailable",
            "Your session could not be checked just now. You are still signed in: \
             please try again in a few seconds.",
        )
    }
}

/// Escapes text for HTML element content and quoted attribute values
/// (`&`, `<`, `>`, `"` and `'`), with the `html-escape` crate: the one
/// escaper of these crates and their examples.
///
/// ```
/// use scalekit_core::web::escape_html;
///
/// assert_eq!(escape_html("<b title=\"x\">Tom & Jerry's</b>"),
///            "&lt;b title=&quot;x&quot;&gt;Tom &amp; Jerry&#x27;s&lt;/b&gt;");
/// ```
pub fn escape_html(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping() {
        assert_eq!(
            escape_html("<a href='x'>&"),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;"
        );
    }
}
