//! Runs a local Scalekit environment until interrupted.
//!
//! ```text
//! scalekit-emulator [--port PORT] [--client-id ID] [--client-secret SECRET]
//!                   [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
//!                   [--mcp-server RESOURCE_URI]...
//! ```
//!
//! Each `--mcp-server` registers an MCP server: the emulator becomes its
//! OAuth authorization server (PROTOCOL.md §10).
//!
//! Without `--redirect-uri`, `http://localhost:3000/auth/callback` is
//! registered (and `http://localhost:3000/` for logout).

use scalekit_emulator::{Emulator, M2mClient};

fn usage() -> ! {
    eprintln!(
        "usage: scalekit-emulator [--port PORT] [--client-id ID] [--client-secret SECRET] \
         [--redirect-uri URI]... [--post-logout-redirect-uri URI]... [--mcp-server RESOURCE_URI]..."
    );
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
    let (mut redirects, mut logouts) = (Vec::new(), Vec::new());
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
            "--mcp-server" => builder.mcp_server(value),
            "--redirect-uri" => {
                redirects.push(value);
                builder
            }
            "--post-logout-redirect-uri" => {
                logouts.push(value);
                builder
            }
            _ => usage(),
        };
    }
    if redirects.is_empty() {
        redirects.push("http://localhost:3000/auth/callback".to_owned());
    }
    if logouts.is_empty() {
        logouts.push("http://localhost:3000/".to_owned());
    }
    for uri in &redirects {
        builder = builder.redirect_uri(uri);
    }
    for uri in &logouts {
        builder = builder.post_logout_redirect_uri(uri);
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
    println!("  redirect URIs: {}", redirects.join(", "));
    println!(
        "  sign-in page: {}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}",
        emulator.url(),
        emulator.client_id(),
        redirects[0].replace(':', "%3A").replace('/', "%2F")
    );
    for server in emulator.mcp_servers() {
        println!("  {server}");
    }
    for user in emulator.users() {
        println!("  user: {} ({})", user.email, user.id);
    }
    if let Ok(token) = emulator.mint_access_token(serde_json::json!({})) {
        println!(
            "  a user access token ({}): {token}",
            emulator.test_user().email
        );
    }
    let _ = tokio::signal::ctrl_c().await;
}
