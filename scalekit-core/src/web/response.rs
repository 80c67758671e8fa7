//! The plain-data HTTP answers of the auth routes.

use super::Answer;
use crate::outcome::ErrorOutcome;

/// The names of `Set-Cookie` values, for `Debug` (values are sealed).
pub(crate) fn cookie_names(set_cookies: &[String]) -> Vec<&str> {
    set_cookies
        .iter()
        .map(|c| c.split_once('=').map_or("?", |(name, _)| name))
        .collect()
}

/// A plain-data HTTP answer of the auth routes. Its `Debug` prints the
/// redirect target without its query (an authorization URL carries the
/// state and nonce) and the names of the cookies it sets, not their
/// (sealed) values.
#[derive(Clone, PartialEq, Eq)]
pub enum WebResponse {
    /// `302 Found`.
    Redirect {
        /// `Location`.
        location: String,
        /// `Set-Cookie` values.
        set_cookies: Vec<String>,
    },
    /// An HTML page.
    Page {
        /// Status code.
        status: u16,
        /// The page.
        html: String,
        /// `Set-Cookie` values.
        set_cookies: Vec<String>,
    },
    /// A JSON document.
    Json {
        /// Status code.
        status: u16,
        /// The body.
        body: String,
    },
    /// An RFC 6750 failure: its status and headers, with its JSON body, or
    /// with an HTML page for browser routes.
    Error {
        /// The failure.
        outcome: ErrorOutcome,
        /// The page to show instead of the JSON body.
        html: Option<String>,
    },
    /// The application's own answer to a [`Refusal`](super::Refusal) (see
    /// [`WebAuth::respond_with`](super::WebAuth::respond_with)).
    Custom {
        /// The answer.
        answer: Answer,
        /// `Set-Cookie` values of the default answer, sent with it.
        set_cookies: Vec<String>,
    },
}

impl std::fmt::Debug for WebResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebResponse::Redirect {
                location,
                set_cookies,
            } => f
                .debug_struct("Redirect")
                .field(
                    "location",
                    &location
                        .split_once('?')
                        .map_or(location.as_str(), |(path, _)| path),
                )
                .field("set_cookies", &cookie_names(set_cookies))
                .finish(),
            WebResponse::Page {
                status,
                html,
                set_cookies,
            } => f
                .debug_struct("Page")
                .field("status", status)
                .field("html", &format_args!("<{} bytes>", html.len()))
                .field("set_cookies", &cookie_names(set_cookies))
                .finish(),
            WebResponse::Json { status, body } => f
                .debug_struct("Json")
                .field("status", status)
                .field("body", body)
                .finish(),
            WebResponse::Error { outcome, html } => f
                .debug_struct("Error")
                .field("outcome", outcome)
                .field("html", &html.as_ref().map(String::len))
                .finish(),
            WebResponse::Custom {
                answer,
                set_cookies,
            } => f
                .debug_struct("Custom")
                .field("status", &answer.status)
                .field("body", &format_args!("<{} bytes>", answer.body.len()))
                .field("set_cookies", &cookie_names(set_cookies))
                .finish(),
        }
    }
}
