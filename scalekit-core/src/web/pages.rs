//! The few HTML pages the auth routes answer with (fixed text: nothing
//! from the request is ever reflected).

use super::{AuthFailure, Refusal, RefusalKind, WebAuth, WebResponse};

pub(super) fn html_page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{message}</p><p><a href=\"/\">Back to the home page</a></p></body></html>"
    )
}

impl WebAuth {
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
