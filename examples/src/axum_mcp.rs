//! An MCP server on the official Rust MCP SDK (`rmcp`), protected by
//! Scalekit (PROTOCOL.md §10).
//!
//! - `POST|GET|DELETE /mcp`: rmcp's streamable HTTP transport, behind the
//!   auth layer. Every request needs a bearer token issued for this server
//!   (`iss` the environment or the server's authorization server,
//!   `aud` its resource identifier or `res_…`) with scope `mcp:tools`;
//!   without one the answer is `401` naming the RFC 9728 document.
//! - Tools: `whoami` (the caller's subject and scopes, read from the
//!   authenticated caller inside the tool) and `admin_report`, which also
//!   needs `mcp:admin`: a `tools/call` of it without that scope is refused
//!   with `403 insufficient_scope` and `scope="mcp:admin"`, so that a client
//!   can step up.
//! - `GET /.well-known/oauth-protected-resource` and
//!   `/.well-known/oauth-protected-resource/mcp`: the RFC 9728 document,
//!   naming the server's authorization server.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use scalekit_axum::{AuthRejection, Require, RequireScopes, ScalekitAuth};
use scalekit_core::authz::Requirement;
use scalekit_core::web::{Authenticated, ProtectedResource, WebAuth};
use scalekit_core::{Scalekit, ScalekitConfig};
use serde_json::{Value, json};

/// The scope every request to `/mcp` needs.
pub const TOOLS_SCOPE: &str = "mcp:tools";
/// The narrower scope of the `admin_report` tool.
pub const ADMIN_SCOPE: &str = "mcp:admin";
/// The scopes the server publishes.
pub const SCOPES: [&str; 2] = [TOOLS_SCOPE, ADMIN_SCOPE];
/// Environment variable holding the server's id on the platform (`res_…`).
pub const ENV_MCP_RESOURCE_ID: &str = "SCALEKIT_MCP_RESOURCE_ID";
/// The name the platform's sign-in page shows for this server.
pub const SERVER_NAME: &str = "axum-mcp example";

/// The scope each tool needs on top of [`TOOLS_SCOPE`].
const TOOL_SCOPES: [(&str, &str); 1] = [("admin_report", ADMIN_SCOPE)];

/// Largest JSON-RPC body read before the tool scopes are checked (rmcp's
/// own limit is larger; this bounds what the check buffers).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The resource identifier of the server at `base_url`: `{base_url}/mcp`,
/// the URL clients connect to.
pub fn resource_id(base_url: &str) -> String {
    format!("{}/mcp", base_url.trim_end_matches('/'))
}

/// The server as the emulator registers it (the in-process emulator, or
/// `scalekit-emulator --mcp-server {base_url}/mcp`).
pub fn emulated_server(base_url: &str) -> scalekit_emulator::McpServer {
    scalekit_emulator::McpServer::new(resource_id(base_url))
        .name(SERVER_NAME)
        .scopes(SCOPES)
}

/// The auth of the server: exactly the tokens the platform issues for the
/// MCP server `mcp_resource_id` (`res_…`) at [`resource_id`].
pub fn auth(
    config: ScalekitConfig,
    base_url: &str,
    mcp_resource_id: &str,
) -> Result<ScalekitAuth, crate::Error> {
    let web = WebAuth::for_api(Scalekit::new(config)?, base_url)?
        .realm("mcp")
        .mcp_server(
            ProtectedResource {
                resource: resource_id(base_url),
                scopes_supported: SCOPES.map(String::from).to_vec(),
                documentation: None,
            },
            mcp_resource_id,
        );
    Ok(ScalekitAuth::new(web))
}

/// The server's router: rmcp's streamable HTTP service at `/mcp` (scope
/// [`TOOLS_SCOPE`], and per-tool scopes) and the RFC 9728 documents.
pub fn app(auth: &ScalekitAuth, base_url: &str) -> Router {
    // rmcp refuses requests whose `Host` is not the server's (DNS
    // rebinding): the host of the public URL.
    let authority = url::Url::parse(base_url)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_owned();
            Some(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let mcp = StreamableHttpService::new(
        || Ok(Tools::new()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default().with_allowed_hosts([authority]),
    );
    Router::new()
        .route_service("/mcp", mcp)
        .route_layer(axum::middleware::from_fn(tool_scopes))
        .route_layer(RequireScopes::all([TOOLS_SCOPE]))
        .route_layer(auth.require())
        .merge(auth.routes())
        .layer(auth.layer())
}

/// The names of the tools a JSON-RPC message (or batch) calls.
fn called_tools(body: &[u8]) -> Vec<String> {
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        // Not JSON: rmcp answers it.
        return Vec::new();
    };
    let messages = match message {
        Value::Array(batch) => batch,
        single => vec![single],
    };
    messages
        .iter()
        .filter(|m| m.get("method").and_then(Value::as_str) == Some("tools/call"))
        .filter_map(|m| m.pointer("/params/name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Scopes per tool: a `tools/call` of a tool that needs a scope the token
/// lacks is answered `403 insufficient_scope` with `scope="…"` before rmcp
/// sees it, the answer the MCP authorization spec asks for (step-up).
async fn tool_scopes(request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    for tool in called_tools(&bytes) {
        let Some((_, scope)) = TOOL_SCOPES.iter().find(|(name, _)| *name == tool) else {
            continue;
        };
        if let Err(outcome) = check_scope(&parts, scope) {
            return outcome.into_response();
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Checks `scope` against the caller the auth layer resolved, answering as
/// the layer's own guards do.
fn check_scope(parts: &Parts, scope: &str) -> Result<(), AuthRejection> {
    // Answered through the application's responder, as the layer's guards.
    Require::check(&Requirement::scopes_all([scope]), parts)
}

/// The MCP server's tools.
#[derive(Debug, Clone)]
pub struct Tools {
    tool_router: ToolRouter<Self>,
}

impl Default for Tools {
    fn default() -> Self {
        Self::new()
    }
}

/// The caller the auth layer authenticated for this request: rmcp hands
/// each tool the HTTP request's parts, where the layer left it.
fn caller(parts: &Parts) -> Result<&Arc<Authenticated>, ErrorData> {
    parts
        .extensions
        .get::<Arc<Authenticated>>()
        .ok_or_else(|| ErrorData::invalid_request("no authenticated caller", None))
}

#[tool_router]
impl Tools {
    /// The tools, routed by name.
    pub fn new() -> Self {
        Tools {
            tool_router: Self::tool_router(),
        }
    }

    /// `whoami`: the caller's subject, client and scopes.
    #[tool(description = "Who is calling: the subject, client and scopes of the access token")]
    async fn whoami(&self, Extension(parts): Extension<Parts>) -> Result<String, ErrorData> {
        let caller = caller(&parts)?;
        let scopes: Vec<String> = caller.claims.scopes().iter().map(str::to_owned).collect();
        Ok(json!({
            "sub": caller.subject(),
            "client_id": caller.claims.client_id,
            "organization_id": caller.claims.organization_id(),
            "scopes": scopes,
        })
        .to_string())
    }

    /// `admin_report`: needs `mcp:admin` (checked before the call by the
    /// per-tool scope middleware, and here again).
    #[tool(description = "A report for administrators (needs the mcp:admin scope)")]
    async fn admin_report(&self, Extension(parts): Extension<Parts>) -> Result<String, ErrorData> {
        let caller = caller(&parts)?;
        if !caller.claims.scopes().grants(ADMIN_SCOPE) {
            return Err(ErrorData::invalid_request(
                "the mcp:admin scope is required",
                None,
            ));
        }
        Ok(json!({
            "requested_by": caller.subject(),
            "tools": ["whoami", "admin_report"],
        })
        .to_string())
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_instructions(
            "An MCP server protected by Scalekit: call whoami to see who you are.",
        )
    }
}
