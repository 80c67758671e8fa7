//! The axum MCP server example: `cargo run -p scalekit-examples --bin axum-mcp`.
//!
//! Configured by `SCALEKIT_ENVIRONMENT_URL`, `SCALEKIT_CLIENT_ID`,
//! `SCALEKIT_CLIENT_SECRET`, `SCALEKIT_MCP_RESOURCE_ID` (the `res_…` id of
//! the MCP server registered in the environment), `APP_BASE_URL` (default
//! `http://localhost:$PORT`; the resource is `{APP_BASE_URL}/mcp`) and `PORT`
//! (default 3000). With no `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator
//! starts in-process with this server registered, and the program prints how
//! to connect an MCP client.

use scalekit_examples::axum_mcp as example;
use scalekit_examples::environment::{ExampleEnv, serve};

#[tokio::main]
async fn main() -> Result<(), scalekit_examples::Error> {
    scalekit_examples::init_tracing();
    let env = ExampleEnv::load().await?;
    let resource = example::resource_id(&env.base_url);
    let mcp_resource_id = match &env.emulator {
        Some(emulator) => {
            emulator
                .register_mcp_server(example::emulated_server(&env.base_url))
                .id
        }
        None => std::env::var(example::ENV_MCP_RESOURCE_ID).map_err(|_| {
            format!(
                "{} must be set (the res_… id of the MCP server in the Scalekit dashboard)",
                example::ENV_MCP_RESOURCE_ID
            )
        })?,
    };
    let auth = example::auth(env.config.clone(), &env.base_url, &mcp_resource_id)?;
    let listener = env.bind().await?;
    println!("axum-mcp listening on {}", env.base_url);
    println!("  MCP endpoint (streamable HTTP): {resource}");
    println!(
        "  metadata: {}/.well-known/oauth-protected-resource",
        env.base_url
    );
    println!(
        "  authorization server: {}",
        env.config.mcp_authorization_server(&mcp_resource_id)
    );
    if let Some(emulator) = &env.emulator {
        println!("  Scalekit emulator at {}", emulator.url());
        for server in emulator.mcp_servers() {
            println!("  {server}");
        }
        println!(
            "  connect an MCP client to {resource}: it registers itself, opens the sign-in page \
             (choose a user), and calls the tools whoami and admin_report"
        );
        if let Ok(token) = emulator.mint_mcp_access_token(&resource, serde_json::json!({})) {
            println!(
                "  or try: curl -H 'Authorization: Bearer {token}' -H 'content-type: application/json' \\\n       \
                 -H 'accept: application/json, text/event-stream' \\\n       \
                 -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"curl\",\"version\":\"1\"}}}}}}' {resource}"
            );
        }
    }
    serve(listener, example::app(&auth, &env.base_url)).await?;
    Ok(())
}
