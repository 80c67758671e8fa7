//! The few HTML pages the auth routes answer with (fixed text: nothing
//! from the request is ever reflected).

use super::{AuthFailure, WebAuth, WebResponse};

pub(super) fn html_page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{message}</p><p><a href=\"/\">Back to the home page</a></p></body></html>"
    )
}

pub(super) fn failure_page(set_cookies: Vec<String>) -> WebResponse {
    // Fixed text: the platform's `error_description` is never reflected.
    WebResponse::Page {
        status: 400,
        html: html_page(
            "Sign-in failed",
            "The sign-in could not be completed. Please try again.",
        ),
        set_cookies,
    }
}

impl WebAuth {
    /// The page a browser route answers while authentication is
    /// temporarily unavailable (a session refresh that cannot be made now):
    /// `503`, to be sent with the `Retry-After` of
    /// [`AuthFailure::outcome`]. The session cookie is left untouched.
    pub fn unavailable_page(&self) -> WebResponse {
        WebResponse::Error {
            outcome: AuthFailure::Unavailable.outcome(self.challenge()),
            html: Some(self.unavailable_html()),
        }
    }

    /// `503` with `Retry-After` and a page (`title`, `message`): the
    /// session store cannot be reached (a login or logout that cannot be
    /// completed now). No cookie is changed.
    pub(super) fn store_unavailable_page(&self, title: &str, message: &str) -> WebResponse {
        WebResponse::Error {
            outcome: AuthFailure::Unavailable.outcome(self.challenge()),
            html: Some(html_page(title, message)),
        }
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
