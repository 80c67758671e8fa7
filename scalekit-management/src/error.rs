//! [`ManagementError`]: what a management call can fail with, and the
//! platform's error body (`{"code", "message", "details"}`) it carries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why a management call failed.
///
/// Messages and `Debug` output never contain the access token or the client
/// secret: only the platform's own error code and message, an HTTP status, or
/// a fixed description.
///
/// ```
/// use scalekit_management::ManagementError;
///
/// fn describe(err: &ManagementError) -> &'static str {
///     match err {
///         e if e.is_not_found() => "no such thing",
///         ManagementError::Api { status: 400, .. } => "the request was refused as invalid",
///         ManagementError::Unauthenticated { .. } => "check the client id and secret",
///         ManagementError::Timeout => "try again later",
///         _ => "something else went wrong",
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ManagementError {
    /// The platform answered with an error status (not retried, or still
    /// failing after the retries the policy allows).
    #[error("the management API answered HTTP {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The platform's error code, such as `NOT_FOUND` or
        /// `INVALID_ARGUMENT` (derived from the status when the body has
        /// none).
        code: String,
        /// The platform's message.
        message: String,
        /// The platform's typed details.
        details: Vec<ErrorDetail>,
    },
    /// The platform refused the access token, even after one fresh token
    /// was fetched (`401` twice in a row).
    #[error("the management API refused the client's credentials ({code}: {message})")]
    Unauthenticated {
        /// The platform's error code (`UNAUTHENTICATED`).
        code: String,
        /// The platform's message.
        message: String,
    },
    /// No access token could be had from the token endpoint.
    #[error("no management access token: {0}")]
    Token(#[source] scalekit_core::oauth::TokenError),
    /// The call did not finish within its timeout
    /// ([`ManagementClient::timeout`](crate::ManagementClient::timeout)).
    #[error("the management call timed out")]
    Timeout,
    /// The request could not be sent or its answer could not be received.
    #[error("management API transport failure: {0}")]
    Transport(TransportFailure),
    /// The platform answered with a redirect, which is never followed (the
    /// access token is not sent anywhere else).
    #[error("the management API answered with a redirect (HTTP {0}), not followed")]
    Redirect(u16),
    /// The answer is larger than the client's limit
    /// ([`ManagementClient::max_response_bytes`](crate::ManagementClient::max_response_bytes)).
    #[error("the management API answer is larger than the limit")]
    TooLarge,
    /// A success answer that does not have the expected shape.
    #[error("invalid management API answer: {0}")]
    Decode(String),
    /// An argument was refused before any request was sent (an empty
    /// identifier, which would address another resource).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

/// How a request failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportFailure {
    /// No connection could be made: the request never reached the server.
    Connect,
    /// The connection broke after the request may have been sent (it was
    /// not repeated if the call is not idempotent).
    Interrupted,
    /// The request could not be built or sent for another reason.
    Other,
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportFailure::Connect => "no connection could be made",
            TransportFailure::Interrupted => "the connection broke before an answer",
            TransportFailure::Other => "the request could not be sent",
        })
    }
}

impl ManagementError {
    /// The HTTP status of an [`Api`](ManagementError::Api) or
    /// [`Unauthenticated`](ManagementError::Unauthenticated) error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ManagementError::Api { status, .. } => Some(*status),
            ManagementError::Unauthenticated { .. } => Some(401),
            _ => None,
        }
    }

    /// The platform's error code, when it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ManagementError::Api { code, .. } | ManagementError::Unauthenticated { code, .. } => {
                Some(code)
            }
            _ => None,
        }
    }

    /// Whether the platform answered `404` (`NOT_FOUND`).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ManagementError::Api { status: 404, .. })
    }

    /// Whether the platform refused the request as invalid (`400`,
    /// `INVALID_ARGUMENT`).
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, ManagementError::Api { status: 400, .. })
    }
}

/// One entry of an error's `details`: its `@type`, its `error_code`, and
/// every other field as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    /// The entry's type (`@type`), such as
    /// `type.googleapis.com/scalekit.v1.errdetails.ErrorInfo`.
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    pub type_url: Option<String>,
    /// The platform's fine-grained error code, when the entry has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The entry's other fields (for example `validation_error_info`).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// The gRPC status names, by number (what a gateway sends as a numeric
/// `code`).
const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The platform's code for an HTTP status, when the body carries none.
fn code_of_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "UNKNOWN",
    }
}

/// The longest platform message kept in an error.
const MAX_MESSAGE_CHARS: usize = 1000;

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    details: Option<Vec<Value>>,
}

/// The parts of an error answer: code, message and details, read leniently
/// (a missing or non-JSON body gives the status's code and an empty
/// message; a numeric gRPC code is named).
pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> (String, String, Vec<ErrorDetail>) {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let Some(parsed) = parsed else {
        return (code_of_status(status).to_owned(), String::new(), Vec::new());
    };
    let code = match parsed.code {
        Some(Value::String(code)) if !code.trim().is_empty() => code,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| GRPC_CODES.get(n))
            .map_or_else(|| code_of_status(status).to_owned(), |c| (*c).to_owned()),
        _ => match parsed.error {
            // An OAuth-style body (`{"error": "invalid_token"}`).
            Some(error) if !error.trim().is_empty() => error,
            _ => code_of_status(status).to_owned(),
        },
    };
    let message = parsed
        .message
        .or(parsed.error_description)
        .unwrap_or_default();
    let message = if message.chars().count() > MAX_MESSAGE_CHARS {
        message.chars().take(MAX_MESSAGE_CHARS).collect()
    } else {
        message
    };
    let details = parsed
        .details
        .unwrap_or_default()
        .into_iter()
        .map(|d| match d {
            Value::Object(_) => serde_json::from_value(d).unwrap_or_default(),
            other => {
                let mut fields = Map::new();
                fields.insert("value".to_owned(), other);
                ErrorDetail {
                    fields,
                    ..ErrorDetail::default()
                }
            }
        })
        .collect();
    (code, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_error_shape_is_read_with_typed_details() {
        let body = br#"{"code":"INVALID_ARGUMENT","message":"display_name is required",
            "details":[{"@type":"type.googleapis.com/scalekit.v1.errdetails.ErrorInfo",
                        "error_code":"INVALID_DISPLAY_NAME",
                        "validation_error_info":{"field_violations":[{"field":"display_name"}]}}]}"#;
        let (code, message, details) = parse_error_body(400, body);
        assert_eq!(code, "INVALID_ARGUMENT");
        assert_eq!(message, "display_name is required");
        assert_eq!(details.len(), 1);
        assert_eq!(
            details[0].type_url.as_deref(),
            Some("type.googleapis.com/scalekit.v1.errdetails.ErrorInfo")
        );
        assert_eq!(
            details[0].error_code.as_deref(),
            Some("INVALID_DISPLAY_NAME")
        );
        assert_eq!(
            details[0].fields["validation_error_info"]["field_violations"][0]["field"],
            "display_name"
        );
        assert!(!details[0].fields.contains_key("@type"));
    }

    #[test]
    fn a_numeric_grpc_code_is_named() {
        let (code, message, details) = parse_error_body(404, br#"{"code":5,"message":"gone"}"#);
        assert_eq!((code.as_str(), message.as_str()), ("NOT_FOUND", "gone"));
        assert!(details.is_empty());
        let (code, _, _) = parse_error_body(500, br#"{"code":99}"#);
        assert_eq!(code, "INTERNAL");
    }

    #[test]
    fn a_body_without_the_shape_gets_the_status_code() {
        for (status, code) in [
            (404, "NOT_FOUND"),
            (400, "INVALID_ARGUMENT"),
            (503, "UNAVAILABLE"),
            (429, "RESOURCE_EXHAUSTED"),
            (502, "INTERNAL"),
            (418, "UNKNOWN"),
        ] {
            let (got, message, _) = parse_error_body(status, b"<html>Bad gateway</html>");
            assert_eq!(got, code);
            assert_eq!(message, "");
            let (got, _, _) = parse_error_body(status, b"");
            assert_eq!(got, code);
            let (got, _, _) = parse_error_body(status, br#"{"code":""}"#);
            assert_eq!(got, code);
        }
    }

    #[test]
    fn an_oauth_style_body_is_understood() {
        let (code, message, _) = parse_error_body(
            401,
            br#"{"error":"invalid_token","error_description":"expired"}"#,
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("invalid_token", "expired")
        );
    }

    #[test]
    fn odd_details_are_kept_and_long_messages_cut() {
        let long = "x".repeat(5000);
        let body = serde_json::json!({"code": "INTERNAL", "message": long, "details": ["text", 3]});
        let (_, message, details) = parse_error_body(500, body.to_string().as_bytes());
        assert_eq!(message.len(), MAX_MESSAGE_CHARS);
        assert_eq!(details.len(), 2);
        assert_eq!(details[0].fields["value"], "text");
        assert_eq!(details[1].type_url, None);
    }

    #[test]
    fn the_error_helpers_report_status_and_code() {
        let err = ManagementError::Api {
            status: 404,
            code: "NOT_FOUND".into(),
            message: "organization not found".into(),
            details: vec![],
        };
        assert!(err.is_not_found());
        assert!(!err.is_invalid_argument());
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.code(), Some("NOT_FOUND"));
        assert_eq!(
            err.to_string(),
            "the management API answered HTTP 404 NOT_FOUND: organization not found"
        );
        assert_eq!(ManagementError::Timeout.status(), None);
        assert_eq!(ManagementError::Timeout.code(), None);
        assert_eq!(
            ManagementError::Transport(TransportFailure::Connect).to_string(),
            "management API transport failure: no connection could be made"
        );
    }
}
