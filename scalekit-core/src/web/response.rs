//! The plain-data HTTP answers of the auth routes.

use std::borrow::Cow;

use crate::outcome::ErrorOutcome;
use crate::session::cookie_names;

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

/// An HTTP answer as status, headers and body: the application's own
/// answer to a refusal (returned by its [`Responder`](super::Responder)),
/// and any [`WebResponse`] rendered for an adapter
/// ([`WebResponse::into_http`]). Header names may be given in any case;
/// rendered, they are lower-case. A value that is not valid header text
/// is dropped and logged by the adapters. `Cache-Control: no-store` is
/// added unless it sets one; the `Set-Cookie` values of the default answer
/// are always added.
///
/// ```
/// use scalekit_core::web::Answer;
///
/// let answer = Answer::new(503, "text/plain; charset=utf-8", "Back soon.").header("Retry-After", "5");
/// assert_eq!(answer.get_header("retry-after"), Some("5"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers, in order (`Set-Cookie` values included once rendered).
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// Body.
    pub body: String,
}

impl Answer {
    /// An answer with this status, `Content-Type` and body.
    pub fn new(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        Answer {
            status,
            headers: vec![(Cow::Borrowed("content-type"), content_type.to_owned())],
            body: body.into(),
        }
    }

    /// An answer with this status and body and, when given, this
    /// `Content-Type`.
    pub(crate) fn bare(status: u16, content_type: Option<&'static str>, body: String) -> Self {
        let mut headers = Vec::with_capacity(4);
        if let Some(content_type) = content_type {
            headers.push((Cow::Borrowed("content-type"), content_type.to_owned()));
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of a header, by case-insensitive name.
    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a header is set, by case-insensitive name.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get_header(name).is_some()
    }

    /// Adds `Set-Cookie` values (empty ones skipped).
    pub(crate) fn cookies(mut self, set_cookies: Vec<String>) -> Self {
        self.headers.extend(
            set_cookies
                .into_iter()
                .filter(|c| !c.is_empty())
                .map(|c| (Cow::Borrowed("set-cookie"), c)),
        );
        self
    }
}
