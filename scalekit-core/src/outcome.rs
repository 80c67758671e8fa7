//! HTTP outcomes of authentication and authorization failures (RFC 6750,
//! PROTOCOL.md §10–§11), as plain data for the framework adapters to render.
//!
//! The core never depends on a web framework: an [`ErrorOutcome`] is a status
//! code, a list of headers and a JSON body, rendered identically by every
//! adapter. Descriptions are fixed strings, never internal error text or
//! anything taken from the request.

use std::fmt::Write as _;

use serde::Serialize;

/// The JSON body of an error answer: `{"error":…,"error_description":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The error code (`invalid_token`, `insufficient_scope`, …).
    pub error: &'static str,
    /// A fixed, human-readable description.
    pub error_description: &'static str,
}

/// A complete HTTP answer to a failed authentication or authorization.
///
/// ```
/// use scalekit_core::outcome::{Challenge, ErrorOutcome};
///
/// let outcome = ErrorOutcome::missing_credentials(&Challenge::new("api"));
/// assert_eq!(outcome.status, 401);
/// assert_eq!(outcome.header("www-authenticate"), Some(r#"Bearer realm="api""#));
/// assert_eq!(outcome.body.error, "invalid_request");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorOutcome {
    /// HTTP status code.
    pub status: u16,
    /// Headers to set (lower-case names).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: ErrorBody,
}

impl ErrorOutcome {
    /// `401` without an error code: the request carried no credentials.
    pub fn missing_credentials(challenge: &Challenge) -> Self {
        Self::unauthorized(
            challenge.render(None),
            ErrorBody {
                error: "invalid_request",
                error_description: "Authentication is required.",
            },
        )
    }

    /// `401 invalid_token` with a fixed description.
    pub fn invalid_token(challenge: &Challenge, description: &'static str) -> Self {
        Self::unauthorized(
            challenge.render(Some(("invalid_token", description, None))),
            ErrorBody {
                error: "invalid_token",
                error_description: description,
            },
        )
    }

    /// `400 invalid_request` (RFC 6750 §3.1): the request's credentials are
    /// malformed (more than one `Authorization` header, for example).
    ///
    /// ```
    /// use scalekit_core::outcome::{Challenge, ErrorOutcome};
    ///
    /// let o = ErrorOutcome::invalid_request(&Challenge::new("api"), "Send one Authorization header.");
    /// assert_eq!(o.status, 400);
    /// assert_eq!(o.body.error, "invalid_request");
    /// ```
    pub fn invalid_request(challenge: &Challenge, description: &'static str) -> Self {
        ErrorOutcome {
            status: 400,
            headers: vec![(
                "www-authenticate",
                challenge.render(Some(("invalid_request", description, None))),
            )],
            body: ErrorBody {
                error: "invalid_request",
                error_description: description,
            },
        }
    }

    /// `403 insufficient_scope`, naming the required scopes.
    pub fn insufficient_scope(challenge: &Challenge, required: &str) -> Self {
        Self::insufficient(
            challenge,
            required,
            "The access token does not grant the required access.",
        )
    }

    /// `403 insufficient_scope` with a description of what was missing.
    pub(crate) fn insufficient(
        challenge: &Challenge,
        required: &str,
        description: &'static str,
    ) -> Self {
        ErrorOutcome {
            status: 403,
            headers: vec![(
                "www-authenticate",
                challenge.render(Some(("insufficient_scope", description, Some(required)))),
            )],
            body: ErrorBody {
                error: "insufficient_scope",
                error_description: description,
            },
        }
    }

    /// `503` with `Retry-After`: the signing keys cannot be had at all.
    pub fn keys_unavailable(retry_after_secs: u64) -> Self {
        Self::temporarily_unavailable(
            retry_after_secs,
            "The token signing keys are temporarily unavailable.",
        )
    }

    /// `503 temporarily_unavailable` with `Retry-After` and a fixed
    /// description.
    ///
    /// ```
    /// use scalekit_core::outcome::ErrorOutcome;
    ///
    /// let o = ErrorOutcome::temporarily_unavailable(5, "Try again shortly.");
    /// assert_eq!((o.status, o.header("retry-after")), (503, Some("5")));
    /// ```
    pub fn temporarily_unavailable(retry_after_secs: u64, description: &'static str) -> Self {
        ErrorOutcome {
            status: 503,
            headers: vec![("retry-after", retry_after_secs.to_string())],
            body: ErrorBody {
                error: "temporarily_unavailable",
                error_description: description,
            },
        }
    }

    fn unauthorized(www_authenticate: String, body: ErrorBody) -> Self {
        ErrorOutcome {
            status: 401,
            headers: vec![("www-authenticate", www_authenticate)],
            body,
        }
    }

    /// The value of a header of the outcome, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body serialized as JSON.
    pub fn body_json(&self) -> String {
        // Serializing two static strings cannot fail; fall back to a fixed body
        // rather than panicking all the same.
        serde_json::to_string(&self.body)
            .unwrap_or_else(|_| String::from(r#"{"error":"server_error"}"#))
    }
}

/// The parameters of a `WWW-Authenticate: Bearer` challenge that do not
/// depend on the failure: the realm and, for OAuth protected resources
/// (MCP servers), the URL of the resource metadata document.
///
/// ```
/// use scalekit_core::outcome::Challenge;
///
/// let c = Challenge::new("mcp").resource_metadata("https://mcp.example.com/.well-known/oauth-protected-resource");
/// assert_eq!(
///     c.render(None),
///     r#"Bearer realm="mcp", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource""#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    realm: String,
    resource_metadata: Option<String>,
}

impl Challenge {
    /// A challenge with this realm.
    pub fn new(realm: impl Into<String>) -> Self {
        Challenge {
            realm: realm.into(),
            resource_metadata: None,
        }
    }

    /// Adds `resource_metadata="<url>"` (RFC 9728).
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// Renders the header value; `error` is `(code, description, scope)`.
    pub fn render(&self, error: Option<(&str, &str, Option<&str>)>) -> String {
        let mut out = String::from("Bearer ");
        push_param(&mut out, "realm", &self.realm);
        if let Some(url) = &self.resource_metadata {
            push_param(&mut out, "resource_metadata", url);
        }
        if let Some((code, description, scope)) = error {
            push_param(&mut out, "error", code);
            push_param(&mut out, "error_description", description);
            if let Some(scope) = scope {
                push_param(&mut out, "scope", scope);
            }
        }
        out
    }
}

impl Default for Challenge {
    fn default() -> Self {
        Challenge::new("scalekit")
    }
}

fn push_param(out: &mut String, name: &str, value: &str) {
    if !out.ends_with(' ') {
        out.push_str(", ");
    }
    let _ = write!(out, "{name}=\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            // Control characters have no place in a header value.
            c if c.is_control() => {}
            // Other non-ASCII characters are percent-encoded, so that the
            // header is never dropped.
            c => crate::util::push_ascii(out, c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_escaped() {
        let c = Challenge::new("a\"b\\c\n");
        assert_eq!(c.render(None), r#"Bearer realm="a\"b\\c""#);
    }

    #[test]
    fn non_ascii_is_percent_encoded() {
        let c = Challenge::new("café");
        assert_eq!(c.render(None), r#"Bearer realm="caf%C3%A9""#);
        let o = ErrorOutcome::insufficient_scope(&c, "lire:données");
        let header = o.header("www-authenticate").unwrap_or_default();
        assert!(header.is_ascii());
        assert!(header.ends_with(r#"scope="lire:donn%C3%A9es""#));
    }

    #[test]
    fn insufficient_scope_names_the_scope() {
        let o = ErrorOutcome::insufficient_scope(&Challenge::new("api"), "admin:read");
        assert_eq!(o.status, 403);
        assert_eq!(
            o.header("www-authenticate"),
            Some(
                r#"Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant the required access.", scope="admin:read""#
            )
        );
        assert_eq!(
            o.body_json(),
            r#"{"error":"insufficient_scope","error_description":"The access token does not grant the required access."}"#
        );
    }

    #[test]
    fn unavailable_is_503_with_retry_after() {
        let o = ErrorOutcome::keys_unavailable(5);
        assert_eq!(o.status, 503);
        assert_eq!(o.header("retry-after"), Some("5"));
    }
}
