//! The axum mcp example: `cargo run -p scalekit-examples --bin axum-mcp`.
//!
//! With no `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator starts in-process;
//! the program registers an M2M client and prints a token to try with curl.

use scalekit_examples::axum_mcp as example;
use scalekit_examples::environment::{ExampleEnv, serve};

#[tokio::main]
async fn main() -> Result<(), scalekit_examples::Error> {
    scalekit_examples::init_tracing();
    let env = ExampleEnv::load().await?;
    let auth = example::auth(env.config.clone(), &env.base_url)?;
    let listener = env.bind().await?;
    println!("axum-mcp listening on {}", env.base_url);
    println!(
        "  metadata: {}/.well-known/oauth-protected-resource",
        env.base_url
    );
    if let Some(emulator) = &env.emulator {
        println!("  Scalekit emulator at {}", emulator.url());
    }
    let audience = serde_json::json!({"aud": [example::resource_id(&env.base_url)]});
    if let Some(token) = env.demo_m2m_token(audience)? {
        println!(
            "  try: curl -H 'Authorization: Bearer {token}' -H 'content-type: application/json' \\\n       -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}}' {}/mcp",
            env.base_url
        );
    }
    serve(listener, example::app(&auth)).await?;
    Ok(())
}
