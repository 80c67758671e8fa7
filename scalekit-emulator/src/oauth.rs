//! What the OAuth endpoints (the token endpoint, the application's flows
//! and the MCP servers' authorization servers) share: the error answer and
//! client authentication.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

/// The headers of every token-endpoint answer (RFC 6749 §5.1): never
/// cached, by HTTP/1.1 caches or by HTTP/1.0 ones.
pub(crate) const NO_STORE: [(header::HeaderName, &str); 2] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::PRAGMA, "no-cache"),
];

/// An OAuth error answer (RFC 6749 §5.2), never cached.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        NO_STORE,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `401 invalid_client`; with `WWW-Authenticate: Basic` when the client
/// tried HTTP Basic (RFC 6749 §5.2: the scheme the client used).
pub(crate) fn invalid_client(headers: &HeaderMap) -> Response {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if basic_credentials(headers).is_some() {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"token\", charset=\"UTF-8\""),
        );
    }
    response
}

/// How a client authenticated at the token endpoint.
#[derive(Debug, Clone)]
pub(crate) struct ClientAuth {
    /// The client id.
    pub(crate) id: String,
    secret: String,
    /// The secret as sent in HTTP Basic before form-decoding, when that
    /// differs: a client that did not encode it.
    raw_secret: Option<String>,
    /// Whether it came in HTTP Basic (else in the form).
    pub(crate) basic: bool,
}

impl ClientAuth {
    /// Whether the client presented `expected` as its secret.
    pub(crate) fn secret_is(&self, expected: &str) -> bool {
        self.secret == expected || self.raw_secret.as_deref() == Some(expected)
    }
}

/// `application/x-www-form-urlencoded` decoding of one value (RFC 6749
/// §2.3.1: the client id and secret are encoded so before HTTP Basic).
fn form_decode(value: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&value.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// The raw `id:secret` pair of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Client credentials from the form (`client_secret_post`) or HTTP Basic
/// (`client_secret_basic`, form-decoded).
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<ClientAuth> {
    if let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) {
        return Some(ClientAuth {
            id: id.clone(),
            secret: secret.clone(),
            raw_secret: None,
            basic: false,
        });
    }
    let (raw_id, raw_secret) = basic_credentials(headers)?;
    let secret = form_decode(&raw_secret)?;
    Some(ClientAuth {
        id: form_decode(&raw_id)?,
        raw_secret: (raw_secret != secret).then_some(raw_secret),
        secret,
        basic: true,
    })
}
