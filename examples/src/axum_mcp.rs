//! An axum MCP-style resource server (PROTOCOL.md §10): it publishes its
//! RFC 9728 metadata, names it in every `WWW-Authenticate`, and accepts only
//! tokens whose `aud` carries its resource identifier.

use axum::routing::post;
use axum::{Json, Router};
use scalekit_axum::{AuthUser, RequireScopes, ScalekitAuth};
use scalekit_core::web::{ProtectedResource, WebAuth};
use scalekit_core::{Scalekit, ScalekitConfig};
use serde_json::{Value, json};

/// The resource identifier of the server at `base_url`.
pub fn resource_id(base_url: &str) -> String {
    format!("{}/mcp", base_url.trim_end_matches('/'))
}

/// The auth of the server: tokens must be for [`resource_id`].
pub fn auth(config: ScalekitConfig, base_url: &str) -> Result<ScalekitAuth, crate::Error> {
    let resource = resource_id(base_url);
    // Only tokens minted for this server: not even the client id.
    let scalekit = Scalekit::new(config)?.only_audiences([resource.clone()]);
    let web = WebAuth::for_api(scalekit, base_url)?
        .realm("mcp")
        .protected_resource(ProtectedResource {
            resource,
            scopes_supported: vec!["mcp:tools".into()],
            documentation: None,
        });
    Ok(ScalekitAuth::new(web))
}

/// The server's router: `POST /mcp` (scope `mcp:tools`) and the metadata.
pub fn app(auth: &ScalekitAuth) -> Router {
    Router::new()
        .route(
            "/mcp",
            post(mcp).route_layer(RequireScopes::all(["mcp:tools"])),
        )
        .route_layer(auth.require())
        .merge(auth.routes())
        .layer(auth.layer())
}

/// A minimal JSON-RPC answer: `tools/list` lists one tool.
async fn mcp(caller: AuthUser, Json(request): Json<Value>) -> Json<Value> {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let result = match request.get("method").and_then(Value::as_str) {
        Some("tools/list") => {
            json!({"tools": [{"name": "whoami", "description": "The caller's subject"}]})
        }
        Some("tools/call") => json!({"content": [{"type": "text", "text": caller.subject()}]}),
        _ => {
            return Json(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}}),
            );
        }
    };
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}
