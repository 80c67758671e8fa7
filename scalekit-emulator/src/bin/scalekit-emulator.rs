//! Runs a local Scalekit environment until interrupted.
//!
//! ```text
//! scalekit-emulator [--port PORT] [--client-id ID] [--client-secret SECRET]
//! ```

use scalekit_emulator::{Emulator, M2mClient};

fn usage() -> ! {
    eprintln!("usage: scalekit-emulator [--port PORT] [--client-id ID] [--client-secret SECRET]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let mut builder = Emulator::builder().port(8080);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else { usage() };
        builder = match flag.as_str() {
            "--port" => match value.parse() {
                Ok(port) => builder.port(port),
                Err(_) => usage(),
            },
            "--client-id" => builder.client_id(value),
            "--client-secret" => builder.client_secret(value),
            _ => usage(),
        };
    }

    let emulator = match builder.start().await {
        Ok(e) => e,
        Err(err) => {
            eprintln!("scalekit-emulator: {err}");
            std::process::exit(1);
        }
    };
    emulator.register_m2m_client(
        M2mClient::new(
            "m2morg_emulator",
            "m2m-emulator-secret",
            &emulator.test_user().organization_id,
        )
        .scopes(["read", "write"]),
    );
    println!("Scalekit emulator at {}", emulator.url());
    println!("  SCALEKIT_ENVIRONMENT_URL={}", emulator.url());
    println!("  SCALEKIT_CLIENT_ID={}", emulator.client_id());
    println!("  SCALEKIT_CLIENT_SECRET={}", emulator.client_secret());
    println!("  M2M client: m2morg_emulator / m2m-emulator-secret (scopes: read write)");
    println!("  JWKS: {}/keys", emulator.url());
    if let Ok(token) = emulator.mint_access_token(serde_json::json!({})) {
        println!(
            "  a user access token ({}): {token}",
            emulator.test_user().email
        );
    }
    let _ = tokio::signal::ctrl_c().await;
}
