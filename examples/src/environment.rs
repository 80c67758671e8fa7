//! The examples contract (DESIGN.md): configuration only from environment
//! variables, and an in-process emulator when `SCALEKIT_ENVIRONMENT_URL` is
//! unset.

use scalekit_core::ScalekitConfig;
use scalekit_core::web::SessionStoreUrl;
use scalekit_emulator::{Emulator, M2mClient};

/// What an example needs to run.
pub struct ExampleEnv {
    /// The Scalekit configuration (real or emulated).
    pub config: ScalekitConfig,
    /// `PORT` (default 3000).
    pub port: u16,
    /// `APP_BASE_URL` (default `http://localhost:$PORT`).
    pub base_url: String,
    /// `SESSION_SECRET` (generated, with a warning, when absent).
    pub session_secret: String,
    /// `SCALEKIT_WEBHOOK_SECRET` (generated in emulator mode).
    pub webhook_secret: Option<String>,
    /// `REDIS_URL`, `REDIS_CLUSTER_URLS` or `DATABASE_URL` (at most one):
    /// sessions in that Redis, Redis cluster or PostgreSQL database, shared
    /// by every instance with the same `SESSION_SECRET`; none set,
    /// cookie-only sessions.
    pub session_store: Option<SessionStoreUrl>,
    /// The in-process emulator, when one was started.
    pub emulator: Option<Emulator>,
}

fn random_secret() -> String {
    // Two 256-bit random values from the OS source, URL-safe.
    let a = scalekit_core::oauth::generate_state().unwrap_or_default();
    let b = scalekit_core::oauth::generate_nonce().unwrap_or_default();
    format!("{a}{b}")
}

impl ExampleEnv {
    /// Reads the environment; starts the emulator when
    /// `SCALEKIT_ENVIRONMENT_URL` is unset.
    pub async fn load() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Self::from_lookup(|name| std::env::var(name).ok()).await
    }

    /// As [`ExampleEnv::load`], reading variables through `lookup`.
    pub async fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let port: u16 = match lookup("PORT") {
            Some(p) => p.parse().map_err(|_| "PORT must be a port number")?,
            None => 3000,
        };
        let base_url = lookup("APP_BASE_URL")
            .unwrap_or_else(|| format!("http://localhost:{port}"))
            .trim_end_matches('/')
            .to_owned();
        let session_secret = match lookup("SESSION_SECRET") {
            Some(secret) => secret,
            None => {
                tracing::warn!(
                    "SESSION_SECRET is not set: using a random one, so sessions end when the app restarts"
                );
                random_secret()
            }
        };
        let session_store = SessionStoreUrl::from_lookup(&lookup)?;
        if let Some(store) = &session_store
            && lookup("SESSION_SECRET").is_none()
        {
            tracing::warn!(
                "{} is set but SESSION_SECRET is not: other instances cannot open this one's sessions",
                store.variable()
            );
        }
        let env_url = lookup("SCALEKIT_ENVIRONMENT_URL").or_else(|| lookup("SCALEKIT_ENV_URL"));
        if env_url.is_some() {
            return Ok(ExampleEnv {
                config: ScalekitConfig::from_lookup(&lookup)?,
                port,
                base_url,
                session_secret,
                webhook_secret: lookup("SCALEKIT_WEBHOOK_SECRET"),
                session_store,
                emulator: None,
            });
        }
        let emulator = Emulator::builder()
            .redirect_uri(format!("{base_url}/auth/callback"))
            .post_logout_redirect_uri(format!("{base_url}/"))
            .initiate_login_uri(format!("{base_url}/auth/login"))
            // Passwordless emails are printed and kept at `{emulator}/outbox`.
            .print_emails(true)
            .start()
            .await?;
        let config = ScalekitConfig::new(
            emulator.url(),
            emulator.client_id(),
            emulator.client_secret(),
        )?;
        let webhook_secret = lookup("SCALEKIT_WEBHOOK_SECRET").unwrap_or_else(|| {
            // `whsec_` + base64: 40 alphanumeric characters decode to 30
            // random bytes (no `_`, which would split the secret).
            let alnum: String = random_secret()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(40)
                .collect();
            format!("whsec_{alnum}")
        });
        Ok(ExampleEnv {
            config,
            port,
            base_url,
            session_secret,
            webhook_secret: Some(webhook_secret),
            session_store,
            emulator: Some(emulator),
        })
    }
}

impl ExampleEnv {
    /// Prints where the embedded emulator is and how to sign in: each user,
    /// and the link that starts their sign-in from the identity provider
    /// (nothing when a real environment is configured).
    pub fn print_emulator(&self) {
        let Some(emulator) = &self.emulator else {
            return;
        };
        println!(
            "  Scalekit emulator at {} (its front page lists the users and links)",
            emulator.url()
        );
        for user in emulator.users() {
            let hint: String =
                url::form_urlencoded::byte_serialize(user.email.as_bytes()).collect();
            println!("  sign in as {} ({})", user.email, user.id);
            println!(
                "    or from the identity provider: {}/sso/idp-initiated?login_hint={hint}",
                emulator.url()
            );
        }
        println!(
            "  or sign in by email at {}/auth/passwordless: the emulator prints each email \
             and keeps it at {}/outbox",
            self.base_url,
            emulator.url()
        );
    }

    /// Binds `127.0.0.1:$PORT`.
    pub async fn bind(&self) -> std::io::Result<tokio::net::TcpListener> {
        tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await
    }

    /// In emulator mode, registers an M2M client with the examples' scopes
    /// and returns a token for it with `overrides` merged into its claims.
    pub fn demo_m2m_token(
        &self,
        overrides: serde_json::Value,
    ) -> Result<Option<String>, scalekit_emulator::EmulatorError> {
        let Some(emulator) = &self.emulator else {
            return Ok(None);
        };
        let org = emulator.test_user().organization_id.clone();
        emulator.register_m2m_client(
            M2mClient::new("m2morg_example", "example-secret", org).scopes([
                "reports:read",
                "deploy:write",
                "mcp:tools",
            ]),
        );
        emulator
            .mint_m2m_token("m2morg_example", overrides)
            .map(Some)
    }
}

/// Serves `router` until Ctrl-C.
pub async fn serve(listener: tokio::net::TcpListener, router: axum::Router) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
