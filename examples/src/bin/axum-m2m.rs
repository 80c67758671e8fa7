//! The axum m2m example: `cargo run -p scalekit-examples --bin axum-m2m`.
//!
//! With no `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator starts in-process;
//! the program registers an M2M client and prints a token to try with curl.

use scalekit_examples::axum_m2m as example;
use scalekit_examples::environment::{ExampleEnv, serve};

#[tokio::main]
async fn main() -> Result<(), scalekit_examples::Error> {
    scalekit_examples::init_tracing();
    let env = ExampleEnv::load().await?;
    let auth = example::auth(env.config.clone(), &env.base_url)?;
    let listener = env.bind().await?;
    println!("axum-m2m listening on {}", env.base_url);
    if let Some(emulator) = &env.emulator {
        println!("  Scalekit emulator at {}", emulator.url());
    }
    let audience = example::api_audience(&env.base_url);
    if let Some(token) = env.demo_m2m_token(serde_json::json!({ "aud": [audience] }))? {
        println!(
            "  try: curl -H 'Authorization: Bearer {token}' {}/api/reports",
            env.base_url
        );
    }
    serve(listener, example::app(&auth)).await?;
    Ok(())
}
