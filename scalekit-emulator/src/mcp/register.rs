//! RFC 7591 dynamic client registration at `{AS}/register`: public clients
//! (`token_endpoint_auth_method: none`) and confidential ones
//! (`client_secret_basic`, `client_secret_post`), with the RFC 7591 error
//! answers.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{AuthMethod, Client, Shared, not_found};
use crate::oauth::oauth_error;
use crate::{ids, lock, now};

/// Registered clients per MCP server, at most (the emulator keeps them in
/// memory).
const MAX_CLIENTS: usize = 10_000;

fn registration_error(error: &str, description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error, description)
}

/// A redirect URI a client may register: absolute, no fragment, `https`,
/// or plain `http` on a loopback host.
fn acceptable_redirect_uri(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    if url.fragment().is_some() {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => matches!(
            url.host_str(),
            Some("localhost") | Some("127.0.0.1") | Some("[::1]")
        ),
        _ => false,
    }
}

fn strings(value: Option<&Value>) -> Result<Option<Vec<String>>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(()),
    }
}

/// RFC 7591 dynamic client registration.
pub(super) async fn register(
    AxumState(state): AxumState<Shared>,
    Path(res_id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let Some(server) = state.mcp.server(&res_id) else {
        return not_found();
    };
    let Ok(Json(Value::Object(meta))) = body else {
        return registration_error(
            "invalid_client_metadata",
            "the body must be a JSON object of client metadata",
        );
    };
    // A field of the wrong type is `Err(())`.
    let text = |name: &str| -> Result<Option<String>, ()> {
        match meta.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(()),
        }
    };
    let list = |name: &str| strings(meta.get(name));
    let parsed = (|| {
        Ok::<_, ()>((
            text("token_endpoint_auth_method")?,
            list("grant_types")?,
            list("response_types")?,
            list("redirect_uris")?,
            text("client_name")?,
            text("scope")?,
        ))
    })();
    let Ok((method, grant_types, response_types, redirect_uris, name, scope)) = parsed else {
        return registration_error(
            "invalid_client_metadata",
            "a client metadata field has the wrong type",
        );
    };
    // RFC 7591 §2: the default method is client_secret_basic.
    let Some(method) = AuthMethod::parse(method.as_deref().unwrap_or("client_secret_basic")) else {
        return registration_error(
            "invalid_client_metadata",
            "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
        );
    };
    let grant_types = grant_types.unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    if grant_types.is_empty()
        || grant_types.iter().any(|g| {
            !matches!(
                g.as_str(),
                "authorization_code" | "refresh_token" | "client_credentials"
            )
        })
    {
        return registration_error(
            "invalid_client_metadata",
            "grant_types may hold authorization_code, refresh_token and client_credentials",
        );
    }
    if method == AuthMethod::None && grant_types.iter().any(|g| g == "client_credentials") {
        return registration_error(
            "invalid_client_metadata",
            "client_credentials needs a confidential client",
        );
    }
    let response_types = response_types.unwrap_or_else(|| vec!["code".to_owned()]);
    if response_types.iter().any(|r| r != "code") {
        return registration_error(
            "invalid_client_metadata",
            "response_types may hold code only",
        );
    }
    let redirect_uris = redirect_uris.unwrap_or_default();
    let uses_code = grant_types.iter().any(|g| g == "authorization_code");
    if uses_code && redirect_uris.is_empty() {
        return registration_error(
            "invalid_redirect_uri",
            "redirect_uris is required for the authorization code grant",
        );
    }
    if redirect_uris.iter().any(|u| !acceptable_redirect_uri(u)) {
        return registration_error(
            "invalid_redirect_uri",
            "a redirect URI must be https, or http on a loopback host, without a fragment",
        );
    }
    let secret = match method {
        AuthMethod::None => None,
        _ => match ids::secret() {
            Ok(secret) => Some(secret),
            Err(_) => {
                return oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the client secret could not be generated",
                );
            }
        },
    };
    let client = Client {
        client_id: ids::id("skc"),
        secret: secret.clone(),
        method,
        name: name.unwrap_or_else(|| "MCP client".to_owned()),
        redirect_uris,
        grant_types,
        scope,
        server_id: server.id.clone(),
    };
    {
        let mut clients = lock(&state.mcp.clients);
        if clients.len() >= MAX_CLIENTS {
            return registration_error(
                "invalid_client_metadata",
                "too many clients are registered",
            );
        }
        clients.insert(client.client_id.clone(), client.clone());
    }
    tracing::info!(
        client_id = %client.client_id,
        mcp_server = %server.id,
        method = method.as_str(),
        "MCP client registered"
    );
    let mut answer = json!({
        "client_id": client.client_id,
        "client_id_issued_at": now(),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": response_types,
        "token_endpoint_auth_method": method.as_str(),
    });
    if let Some(map) = answer.as_object_mut() {
        if let Some(secret) = secret {
            map.insert("client_secret".into(), json!(secret));
            map.insert("client_secret_expires_at".into(), json!(0));
        }
        if let Some(scope) = &client.scope {
            map.insert("scope".into(), json!(scope));
        }
    }
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(answer),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        assert!(acceptable_redirect_uri("http://127.0.0.1:8123/callback"));
        assert!(acceptable_redirect_uri("http://localhost:1/cb"));
        assert!(acceptable_redirect_uri("https://client.example/cb"));
        assert!(!acceptable_redirect_uri("http://client.example/cb"));
        assert!(!acceptable_redirect_uri("https://client.example/cb#x"));
        assert!(!acceptable_redirect_uri("javascript:alert(1)"));
        assert!(!acceptable_redirect_uri("/relative"));
    }
}
