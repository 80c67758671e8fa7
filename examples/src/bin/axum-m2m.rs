//! The axum m2m example: `cargo run -p scalekit-examples --bin axum-m2m`.
//!
//! With no `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator starts in-process;
//! the program registers an M2M client and prints a token to try with curl.

use scalekit_emulator::M2mClient;
use scalekit_examples::axum_m2m as example;
use scalekit_examples::environment::ExampleEnv;

#[tokio::main]
async fn main() -> Result<(), scalekit_examples::Error> {
    scalekit_examples::init_tracing();
    let env = ExampleEnv::load().await?;
    let auth = example::auth(env.config.clone(), &env.base_url)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", env.port)).await?;
    println!("axum-m2m listening on {}", env.base_url);
    if let Some(emulator) = &env.emulator {
        println!("  Scalekit emulator at {}", emulator.url());
        let org = emulator.test_user().organization_id.clone();
        emulator.register_m2m_client(
            M2mClient::new("m2morg_example", "example-secret", org).scopes([
                "reports:read",
                "deploy:write",
                "mcp:tools",
            ]),
        );
        let audience = serde_json::json!({});
        let token = emulator.mint_m2m_token("m2morg_example", audience)?;
        println!(
            "  try: curl -H 'Authorization: Bearer {token}' {}/api/reports",
            env.base_url
        );
    }
    axum::serve(listener, example::app(&auth))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
