//! Runs a local Scalekit environment until interrupted.
//!
//! ```text
//! scalekit-emulator [--port PORT] [--client-id ID] [--client-secret SECRET]
//!                   [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
//!                   [--initiate-login-uri URI]
//!                   [--webhook-url URL]... [--webhook-secret whsec_…]
//!                   [--mcp-server RESOURCE_URI]...
//!                   [--passwordless-type otp|link|link-otp] [--passwordless-same-browser]
//! ```
//!
//! Passwordless emails are never sent: each is printed as
//! `  EMAIL to <address>: code <code|-> link <link|->` and kept in the
//! outbox (`/outbox`, `/outbox.json`).
//!
//! Each `--mcp-server` registers an MCP server: the emulator becomes its
//! OAuth authorization server (PROTOCOL.md §10).
//!
//! Every flag can also be set by an environment variable (`--help` names
//! them). Without `--redirect-uri`, `http://localhost:3000/auth/callback` is
//! registered (and `http://localhost:3000/` for logout).

use clap::Parser;
use scalekit_emulator::{Emulator, EmulatorBuilder, M2mClient, PasswordlessType};

/// A local Scalekit environment: keys, tokens, the hosted sign-in page,
/// IdP-initiated logins, SCIM provisioning, signed webhook deliveries and
/// the management REST API.
#[derive(Debug, Parser)]
#[command(name = "scalekit-emulator", version, about)]
struct Cli {
    /// Port to listen on (127.0.0.1).
    #[arg(long, env = "SCALEKIT_EMULATOR_PORT", default_value_t = 8080)]
    port: u16,

    /// The application client's id (default: a random `skc_…`).
    #[arg(long, env = "SCALEKIT_EMULATOR_CLIENT_ID")]
    client_id: Option<String>,

    /// The application client's secret (default: random).
    #[arg(long, env = "SCALEKIT_EMULATOR_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,

    /// A redirect URI of the application (repeatable; comma-separated in
    /// the variable). Default: http://localhost:3000/auth/callback.
    #[arg(
        long = "redirect-uri",
        env = "SCALEKIT_EMULATOR_REDIRECT_URIS",
        value_delimiter = ','
    )]
    redirect_uris: Vec<String>,

    /// A post-logout redirect URI (repeatable; comma-separated in the
    /// variable). Default: http://localhost:3000/.
    #[arg(
        long = "post-logout-redirect-uri",
        env = "SCALEKIT_EMULATOR_POST_LOGOUT_REDIRECT_URIS",
        value_delimiter = ','
    )]
    post_logout_redirect_uris: Vec<String>,

    /// The application's initiate-login URL: IdP-initiated logins and
    /// invitations land there (default: the first redirect URI).
    #[arg(long, env = "SCALEKIT_EMULATOR_INITIATE_LOGIN_URI")]
    initiate_login_uri: Option<String>,

    /// A webhook endpoint receiving the environment's events (repeatable;
    /// comma-separated in the variable).
    #[arg(
        long = "webhook-url",
        env = "SCALEKIT_EMULATOR_WEBHOOK_URLS",
        value_delimiter = ','
    )]
    webhook_urls: Vec<String>,

    /// The webhook signing secret, `whsec_<base64>` (default: generated and
    /// printed).
    #[arg(long, env = "SCALEKIT_EMULATOR_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,

    /// An MCP server's resource identifier (repeatable; comma-separated in
    /// the variable): the emulator becomes its OAuth authorization server
    /// (PROTOCOL.md §10) and prints its `res_…` id and authorization-server
    /// URL.
    #[arg(
        long = "mcp-server",
        env = "SCALEKIT_EMULATOR_MCP_SERVERS",
        value_delimiter = ','
    )]
    mcp_servers: Vec<String>,

    /// What passwordless emails carry: `otp` (a code), `link` (a magic
    /// link) or `link-otp` (both).
    #[arg(
        long,
        env = "SCALEKIT_EMULATOR_PASSWORDLESS_TYPE",
        default_value = "link-otp",
        value_parser = parse_passwordless_type
    )]
    passwordless_type: PasswordlessType,

    /// Enforce "same browser origin" for passwordless magic links: a link
    /// verifies only with the auth request id of the browser that asked.
    #[arg(long, env = "SCALEKIT_EMULATOR_PASSWORDLESS_SAME_BROWSER")]
    passwordless_same_browser: bool,
}

fn parse_passwordless_type(value: &str) -> Result<PasswordlessType, String> {
    value.parse()
}

impl Cli {
    /// The emulator these options describe.
    fn builder(&self) -> EmulatorBuilder {
        let mut builder = Emulator::builder()
            .port(self.port)
            .passwordless_type(self.passwordless_type)
            .passwordless_same_browser(self.passwordless_same_browser)
            .print_emails(true);
        if let Some(id) = &self.client_id {
            builder = builder.client_id(id);
        }
        if let Some(secret) = &self.client_secret {
            builder = builder.client_secret(secret);
        }
        for uri in self.redirect_uris() {
            builder = builder.redirect_uri(uri);
        }
        for uri in self.post_logout_redirect_uris() {
            builder = builder.post_logout_redirect_uri(uri);
        }
        if let Some(uri) = &self.initiate_login_uri {
            builder = builder.initiate_login_uri(uri);
        }
        for url in &self.webhook_urls {
            builder = builder.webhook_url(url);
        }
        if let Some(secret) = &self.webhook_secret {
            builder = builder.webhook_secret(secret);
        }
        for resource in &self.mcp_servers {
            builder = builder.mcp_server(resource.as_str());
        }
        builder
    }

    fn redirect_uris(&self) -> Vec<String> {
        non_empty_or(&self.redirect_uris, "http://localhost:3000/auth/callback")
    }

    fn post_logout_redirect_uris(&self) -> Vec<String> {
        non_empty_or(&self.post_logout_redirect_uris, "http://localhost:3000/")
    }
}

fn non_empty_or(values: &[String], default: &str) -> Vec<String> {
    let values: Vec<String> = values.iter().filter(|v| !v.is_empty()).cloned().collect();
    if values.is_empty() {
        vec![default.to_owned()]
    } else {
        values
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let emulator = match cli.builder().start().await {
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
    let redirects = cli.redirect_uris();
    println!("Scalekit emulator at {}", emulator.url());
    println!("  SCALEKIT_ENVIRONMENT_URL={}", emulator.url());
    println!("  SCALEKIT_CLIENT_ID={}", emulator.client_id());
    println!("  SCALEKIT_CLIENT_SECRET={}", emulator.client_secret());
    println!("  SCALEKIT_WEBHOOK_SECRET={}", emulator.webhook_secret());
    println!("  M2M client: m2morg_emulator / m2m-emulator-secret (scopes: read write)");
    println!("  JWKS: {}/keys", emulator.url());
    println!("  redirect URIs: {}", redirects.join(", "));
    if let Some(uri) = &cli.initiate_login_uri {
        println!("  initiate-login URL: {uri}");
    }
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
        println!(
            "  IdP-initiated login: {}/sso/idp-initiated?login_hint={}",
            emulator.url(),
            user.email.replace('@', "%40")
        );
    }
    if let Some(directory) = emulator.directories().first() {
        println!(
            "  SCIM endpoint: {} (bearer token: {})",
            directory.endpoint, directory.bearer_token
        );
    }
    let webhooks = emulator.webhook_urls();
    if webhooks.is_empty() {
        println!("  webhooks: none registered (--webhook-url URL)");
    } else {
        println!("  webhooks: {}", webhooks.join(", "));
    }
    println!(
        "  management API: {}/api/v1 (Bearer token from client_credentials with the client above)",
        emulator.url()
    );
    println!("  deliveries: {}/deliveries", emulator.url());
    println!(
        "  passwordless emails ({}{}): {}/outbox",
        cli.passwordless_type.as_str(),
        if cli.passwordless_same_browser {
            ", same browser enforced"
        } else {
            ""
        },
        emulator.url()
    );
    if let Ok(token) = emulator.mint_access_token(serde_json::json!({})) {
        println!(
            "  a user access token ({}): {token}",
            emulator.test_user().email
        );
    }
    let _ = tokio::signal::ctrl_c().await;
}
