//! [`EmulatorBuilder`]: the settings of an emulator, and its start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::keys::SigningKey;
use crate::{
    Emulator, EmulatorError, McpServer, State, TestUser, deliveries, flows, ids, management, mcp,
    model, scim, server,
};

/// Builds an [`Emulator`].
#[derive(Debug, Clone, Default)]
pub struct EmulatorBuilder {
    port: u16,
    client_id: Option<String>,
    client_secret: Option<String>,
    access_token_ttl: Option<Duration>,
    m2m_token_ttl: Option<Duration>,
    code_ttl: Option<Duration>,
    refresh_grace: Option<Duration>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    initiate_login_uri: Option<String>,
    webhook_urls: Vec<String>,
    webhook_secret: Option<String>,
    webhook_retry_delays: Option<Vec<Duration>>,
    mcp_servers: Vec<McpServer>,
    passwordless_type: crate::PasswordlessType,
    passwordless_same_browser: bool,
    print_emails: bool,
}

impl EmulatorBuilder {
    /// Registers an MCP server (PROTOCOL.md §10): the emulator becomes its
    /// OAuth authorization server at `{url}/resources/{res_id}` (see
    /// [`Emulator::mcp_servers`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), scalekit_emulator::EmulatorError> {
    /// use scalekit_emulator::{Emulator, McpServer};
    ///
    /// let emulator = Emulator::builder()
    ///     .mcp_server(McpServer::new("http://localhost:3000/mcp").scopes(["mcp:tools"]))
    ///     .start()
    ///     .await?;
    /// let server = &emulator.mcp_servers()[0];
    /// assert!(server.id.starts_with("res_"));
    /// assert_eq!(server.authorization_server, format!("{}/resources/{}", emulator.url(), server.id));
    /// # Ok(()) }
    /// ```
    pub fn mcp_server(mut self, server: impl Into<McpServer>) -> Self {
        self.mcp_servers.push(server.into());
        self
    }

    /// What passwordless emails carry (default
    /// [`PasswordlessType::LinkOtp`](crate::PasswordlessType::LinkOtp): a
    /// code and a magic link).
    ///
    /// ```
    /// use scalekit_emulator::{Emulator, PasswordlessType};
    ///
    /// let builder = Emulator::builder()
    ///     .passwordless_type(PasswordlessType::Otp)
    ///     .passwordless_same_browser(true);
    /// # let _ = builder;
    /// ```
    pub fn passwordless_type(mut self, kind: crate::PasswordlessType) -> Self {
        self.passwordless_type = kind;
        self
    }

    /// Enforces "same browser origin" for passwordless magic links: a link
    /// verifies only with its `auth_request_id` (default: off).
    pub fn passwordless_same_browser(mut self, on: bool) -> Self {
        self.passwordless_same_browser = on;
        self
    }

    /// Prints each passwordless email as a line on standard output,
    /// `  EMAIL to <address>: code <code|-> link <link|->` (default: off;
    /// the outbox keeps them either way).
    pub fn print_emails(mut self, on: bool) -> Self {
        self.print_emails = on;
        self
    }

    /// Registers a webhook endpoint (repeatable): every event the
    /// environment emits (SCIM provisioning, connection and directory
    /// toggles) is delivered there, signed with the webhook secret.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_urls.push(url.into());
        self
    }

    /// The webhook signing secret (`whsec_<base64>`; default: generated).
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// The delays between delivery attempts after a failed one (default
    /// 1 s, 5 s, 30 s, 2 min, 10 min: the platform's schedule shape,
    /// compressed); their count is the number of retries.
    pub fn webhook_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.webhook_retry_delays = Some(delays);
        self
    }

    /// The application's initiate-login URL: IdP-initiated logins and
    /// invitation links land there (default: the first redirect URI).
    ///
    /// ```
    /// use scalekit_emulator::Emulator;
    ///
    /// let builder = Emulator::builder()
    ///     .redirect_uri("http://localhost:3000/auth/callback")
    ///     .initiate_login_uri("http://localhost:3000/auth/login");
    /// # let _ = builder;
    /// ```
    pub fn initiate_login_uri(mut self, uri: impl Into<String>) -> Self {
        self.initiate_login_uri = Some(uri.into());
        self
    }

    /// Registers a redirect URI of the application client (exact match).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Registers a post-logout redirect URI (exact match).
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Lifetime of authorization codes (default 5 min).
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = Some(ttl);
        self
    }

    /// How long a rotated refresh token still works (default 30 s); reuse
    /// after that revokes the whole token family.
    pub fn refresh_grace(mut self, grace: Duration) -> Self {
        self.refresh_grace = Some(grace);
        self
    }
    /// Listens on this port (default 0: a random free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The application client's id (default: a random `skc_…`).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The application client's secret (default: random).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Lifetime of minted user access and ID tokens (default 5 min).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = Some(ttl);
        self
    }

    /// Lifetime of M2M tokens (default 1 h).
    pub fn m2m_token_ttl(mut self, ttl: Duration) -> Self {
        self.m2m_token_ttl = Some(ttl);
        self
    }

    /// Generates the first signing key, binds `127.0.0.1` and starts serving.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .map_err(|source| EmulatorError::Bind {
                port: self.port,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                port: self.port,
                source,
            })?;
        let issuer = format!("http://127.0.0.1:{}", addr.port());
        let first_key = tokio::task::spawn_blocking(SigningKey::generate)
            .await
            .map_err(|_| EmulatorError::KeyGeneration)??;
        let organization_id = ids::id("org");
        let model = model::Model::new(&organization_id);
        let flows = flows::FlowState::new(
            self.redirect_uris,
            self.post_logout_redirect_uris,
            self.initiate_login_uri,
            self.refresh_grace.unwrap_or(Duration::from_secs(30)),
        );
        let user = model.first_user();
        let deliveries = deliveries::Deliveries::new(
            self.webhook_secret,
            self.webhook_urls,
            self.webhook_retry_delays,
        )?;
        let org_ids: Vec<String> = model.organizations().into_iter().map(|o| o.id).collect();
        let directories = scim::Directories::new(&issuer, &org_ids)?;
        let state = Arc::new(State {
            issuer: issuer.clone(),
            client_id: self.client_id.unwrap_or_else(|| ids::id("skc")),
            client_secret: match self.client_secret {
                Some(s) => s,
                None => ids::secret()?,
            },
            user: TestUser {
                id: user.id,
                email: user.email,
                given_name: user.given_name,
                family_name: user.family_name,
                organization_id: user.organization_id,
            },
            access_token_ttl: self.access_token_ttl.unwrap_or(Duration::from_secs(300)),
            m2m_token_ttl: self.m2m_token_ttl.unwrap_or(Duration::from_secs(3600)),
            code_ttl: self.code_ttl.unwrap_or(Duration::from_secs(300)),
            keys: Mutex::new(vec![first_key]),
            m2m_clients: Mutex::new(HashMap::new()),
            faults: Mutex::new(HashMap::new()),
            counters: Default::default(),
            keys_cache_control: Mutex::new(None),
            model,
            flows,
            deliveries,
            directories,
            disabled_connections: Mutex::new(std::collections::HashSet::new()),
            mcp: mcp::McpState::default(),
            management: management::Management::new(),
            passwordless: crate::passwordless::Passwordless::new(
                self.passwordless_type,
                self.passwordless_same_browser,
                self.print_emails,
            ),
        });
        for server in self.mcp_servers {
            state.mcp.register(&issuer, server);
        }
        let (shutdown, task) = server::serve(listener, state.clone());
        let worker = deliveries::start_worker(state.clone(), shutdown.subscribe());
        tracing::info!(url = %issuer, "Scalekit emulator listening");
        Ok(Emulator {
            state,
            addr,
            url: issuer,
            shutdown,
            task,
            worker,
        })
    }
}
