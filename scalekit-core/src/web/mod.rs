//! Framework-neutral web authentication: resolve a request's caller (bearer
//! token or session cookie), and the login, callback and logout handlers,
//! all answering plain data that the axum and actix adapters render
//! identically.

pub mod adapter;
mod caller;
mod data;
mod hooks;
mod login;
mod logout;
mod metadata;
mod pages;
mod passwordless;
mod resolve;
mod respond;
mod response;
mod routes;
mod stores;

pub use caller::{AuthFailure, Authenticated, Via};
pub use data::SessionValue;
pub(crate) use hooks::Decision;
pub use hooks::{AfterLogin, LoginDecision};
pub use pages::escape_html;
pub use passwordless::{FormPost, MAX_FORM_BYTES, PasswordlessLogin, PasswordlessPaths};
pub use resolve::{Mode, Resolution, bearer_token};
pub use respond::{Refusal, RefusalKind, Responder, SignInFailure};
pub use response::{Answer, WebResponse};
pub use stores::{ENV_DATABASE_URL, ENV_REDIS_CLUSTER_URLS, SessionStoreUrl};

use std::future::Future;
use std::sync::Arc;

use crate::Scalekit;
use crate::oauth::AuthenticationResponse;
use crate::outcome::Challenge;
use crate::session::{SessionError, SessionManager};

use crate::webhook::WebhookVerifier;

/// Paths of the auth routes (relative to the application's base URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPaths {
    /// Login (default `/auth/login`).
    pub login: String,
    /// Callback (default `/auth/callback`); with the base URL, the redirect URI.
    pub callback: String,
    /// Logout (default `/auth/logout`).
    pub logout: String,
    /// Where to go after login without a return target (default `/`).
    pub after_login: String,
    /// Where the platform sends the browser after logout (default `/`).
    pub after_logout: String,
    /// The RFC 9728 metadata document (default
    /// `/.well-known/oauth-protected-resource`).
    pub resource_metadata: String,
    /// Passwordless sign-in, when on (default `/auth/passwordless`; the
    /// code and the magic link at `{passwordless}/verify`, resends at
    /// `{passwordless}/resend`).
    pub passwordless: String,
}

impl Default for AuthPaths {
    fn default() -> Self {
        AuthPaths {
            login: "/auth/login".into(),
            callback: "/auth/callback".into(),
            logout: "/auth/logout".into(),
            after_login: "/".into(),
            after_logout: "/".into(),
            resource_metadata: "/.well-known/oauth-protected-resource".into(),
            passwordless: "/auth/passwordless".into(),
        }
    }
}

/// The protected-resource description of an MCP server (PROTOCOL.md §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    /// The resource identifier (tokens must carry it in `aud`).
    pub resource: String,
    /// Scopes the resource understands.
    pub scopes_supported: Vec<String>,
    /// Optional documentation URL.
    pub documentation: Option<String>,
}

/// Web authentication for one application.
#[derive(Clone)]
pub struct WebAuth {
    scalekit: Scalekit,
    sessions: SessionManager,
    base_url: String,
    paths: AuthPaths,
    login_scopes: Vec<String>,
    challenge: Challenge,
    resource: Option<ProtectedResource>,
    /// The authorization server the RFC 9728 document names (default: the
    /// environment URL).
    authorization_server: Option<String>,
    after_login: Option<AfterLogin>,
    /// Passwordless sign-in, when on.
    passwordless: Option<Arc<PasswordlessLogin>>,
    webhooks: Option<WebhookVerifier>,
    trusted_hosts: Vec<String>,
    responder: Option<Responder>,
    /// Whether answers to session callers get `Cache-Control: no-store`.
    no_store_sessions: bool,
    /// Who this auth accepts, as an identity: renewed by every builder
    /// method that changes it, so that a [`Resolution`] tells an inner
    /// layer of another auth from one of the same.
    acceptance: u64,
}

/// A cookie-session web auth for the unit tests of the `web` modules.
#[cfg(test)]
pub(crate) fn test_web() -> WebAuth {
    let config = crate::ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")
        .expect("a valid test configuration");
    WebAuth::with_cookie_sessions(
        config,
        "https://app.example.com",
        "a session secret of at least 32 bytes",
    )
    .expect("a valid test secret")
}

/// The acceptance identity of [`Resolution::from_caller`]: any layer takes
/// a test's caller.
pub(crate) const TEST_CALLER: u64 = 0;

/// A new acceptance identity (never [`TEST_CALLER`]).
fn new_acceptance() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Where a request says it was sent to: its `Host`, and the
/// `X-Forwarded-Host` / `X-Forwarded-Proto` a proxy may add. Ignored unless
/// the application opted in with [`WebAuth::trust_forwarded_hosts`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOrigin<'a> {
    /// `X-Forwarded-Host`, else `Host`.
    pub host: Option<&'a str>,
    /// `X-Forwarded-Proto`.
    pub proto: Option<&'a str>,
}

impl std::fmt::Debug for WebAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAuth")
            .field("base_url", &self.base_url)
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

/// Environment variable holding the application's public URL.
pub const ENV_APP_BASE_URL: &str = "APP_BASE_URL";
/// Environment variable holding the session secret.
pub const ENV_SESSION_SECRET: &str = "SESSION_SECRET";
/// Environment variable holding the webhook secret.
pub const ENV_WEBHOOK_SECRET: &str = "SCALEKIT_WEBHOOK_SECRET";
/// Environment variable holding the URL of the Redis that keeps the
/// sessions (optional: cookie-only sessions without it).
pub const ENV_REDIS_URL: &str = "REDIS_URL";

impl WebAuth {
    /// Web authentication for an application served at `base_url` (its
    /// public URL: redirect URIs and cookie decisions come from it, never
    /// from the request's `Host`).
    pub fn new(scalekit: Scalekit, sessions: SessionManager, base_url: &str) -> Self {
        WebAuth {
            challenge: Challenge::new("scalekit"),
            scalekit,
            sessions,
            base_url: base_url.trim_end_matches('/').to_owned(),
            paths: AuthPaths::default(),
            login_scopes: ["openid", "profile", "email", "offline_access"]
                .map(String::from)
                .to_vec(),
            resource: None,
            authorization_server: None,
            after_login: None,
            passwordless: None,
            webhooks: None,
            trusted_hosts: Vec::new(),
            responder: None,
            no_store_sessions: true,
            acceptance: new_acceptance(),
        }
    }

    /// Web authentication for an API that takes bearer tokens only: its
    /// session manager (never used for login) seals with a random secret.
    pub fn for_api(scalekit: Scalekit, base_url: &str) -> Result<Self, SessionError> {
        let random = |_| SessionError::Random;
        let secret = format!(
            "{}{}",
            crate::oauth::generate_state().map_err(random)?,
            crate::oauth::generate_nonce().map_err(random)?
        );
        let codec = crate::session::CookieCodec::new([secret]).map_err(|_| SessionError::Random)?;
        let sessions = SessionManager::new(
            scalekit.clone(),
            codec,
            crate::session::CookieSettings::for_base_url(base_url),
        );
        Ok(WebAuth::new(scalekit, sessions, base_url))
    }

    /// Web authentication with cookie-only sessions sealed by
    /// `session_secret` (at least 32 bytes), for an application served at
    /// `base_url`.
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::web::WebAuth;
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?;
    /// assert_eq!(web.redirect_uri(), "https://app.example.com/auth/callback");
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn with_cookie_sessions(
        config: crate::ScalekitConfig,
        base_url: &str,
        session_secret: &str,
    ) -> Result<Self, crate::ConfigError> {
        let scalekit = Scalekit::new(config)?;
        let codec = crate::session::CookieCodec::new([session_secret])
            .map_err(|e| crate::ConfigError::new(ENV_SESSION_SECRET, e.problem()))?;
        let sessions = SessionManager::new(
            scalekit.clone(),
            codec,
            crate::session::CookieSettings::for_base_url(base_url),
        );
        Ok(WebAuth::new(scalekit, sessions, base_url))
    }

    /// Web authentication from the environment: `SCALEKIT_ENVIRONMENT_URL`
    /// (or `SCALEKIT_ENV_URL`), `SCALEKIT_CLIENT_ID`,
    /// `SCALEKIT_CLIENT_SECRET`, `APP_BASE_URL` (the application's public
    /// URL), `SESSION_SECRET` (at least 32 bytes), `SCALEKIT_WEBHOOK_SECRET`
    /// when set, and one of `REDIS_URL`, `REDIS_CLUSTER_URLS` or
    /// `DATABASE_URL` when set: sessions then live in that Redis, Redis
    /// cluster or PostgreSQL database (see [`WebAuth::sessions_in`]), shared
    /// by every instance that has the same `SESSION_SECRET`; without any
    /// they are cookie-only, and two of them set is an error naming both.
    /// The error names the variable and what is wrong with it, never its
    /// value.
    pub fn from_env() -> Result<Self, crate::ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`WebAuth::from_env`], reading variables through `lookup`.
    ///
    /// ```
    /// use scalekit_core::web::WebAuth;
    ///
    /// let err = WebAuth::from_lookup(|name| match name {
    ///     "SCALEKIT_ENVIRONMENT_URL" => Some("https://acme.scalekit.dev".into()),
    ///     "SCALEKIT_CLIENT_ID" => Some("skc_1".into()),
    ///     "SCALEKIT_CLIENT_SECRET" => Some("secret".into()),
    ///     "APP_BASE_URL" => Some("https://app.example.com".into()),
    ///     "SESSION_SECRET" => Some("a session secret of at least 32 bytes".into()),
    ///     "SCALEKIT_WEBHOOK_SECRET" => Some("not-a-secret".into()),
    ///     _ => None,
    /// }).unwrap_err();
    /// assert_eq!(err.setting(), "SCALEKIT_WEBHOOK_SECRET");
    /// ```
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::ConfigError> {
        use crate::config::{ConfigError, ConfigProblem};
        let config = crate::ScalekitConfig::from_lookup(&lookup)?;
        let base_url = lookup(ENV_APP_BASE_URL)
            .ok_or(ConfigError::new(ENV_APP_BASE_URL, ConfigProblem::Missing))?;
        let secret = lookup(ENV_SESSION_SECRET)
            .ok_or(ConfigError::new(ENV_SESSION_SECRET, ConfigProblem::Missing))?;
        let mut web = Self::with_cookie_sessions(config, &base_url, &secret)?;
        if let Some(webhook_secret) = lookup(ENV_WEBHOOK_SECRET) {
            let verifier = WebhookVerifier::new(&webhook_secret).map_err(|_| {
                ConfigError::new(ENV_WEBHOOK_SECRET, ConfigProblem::NotAWebhookSecret)
            })?;
            web = web.webhooks(verifier);
        }
        if let Some(store) = SessionStoreUrl::from_lookup(&lookup)? {
            web = web.sessions_in(&store)?;
        }
        Ok(web)
    }

    /// Keeps sessions in the Redis at `url` (`redis://host:port/db`, or
    /// `rediss://` for TLS): the cookie carries only the sealed session id,
    /// so that several instances of the application (with the same session
    /// secret) share every session, refresh each one once between them,
    /// and a logout or "sign out everywhere" on one ends it on all. Redis
    /// is connected to on first use, each operation bounded to 2 s; while
    /// it cannot be reached, session requests answer `503` with
    /// `Retry-After` (bearer requests are unaffected) and the instance
    /// reconnects by itself. The error names `REDIS_URL` for a URL that is
    /// not a Redis URL (nothing is sent to Redis here).
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::web::WebAuth;
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?
    ///     .redis_sessions("redis://127.0.0.1:6379/")?;
    /// assert_eq!(web.sessions().mode(), scalekit_core::session::SessionMode::ServerSide);
    /// let err = WebAuth::with_cookie_sessions(
    ///     ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?,
    ///     "https://app.example.com",
    ///     "a session secret of at least 32 bytes",
    /// )?
    /// .redis_sessions("http://127.0.0.1:6379/")
    /// .unwrap_err();
    /// assert_eq!(err.setting(), "REDIS_URL");
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis_sessions(self, url: &str) -> Result<Self, crate::ConfigError> {
        let store = crate::session::RedisStore::open(url).map_err(|_| {
            crate::ConfigError::new(ENV_REDIS_URL, crate::config::ConfigProblem::NotARedisUrl)
        })?;
        Ok(self.session_store(Arc::new(store)))
    }

    /// Uses another session policy (timeouts, refresh skew, refresh
    /// timeout).
    pub fn session_policy(mut self, policy: crate::session::SessionPolicy) -> Self {
        self.sessions = self.sessions.policy(policy);
        self.acceptance = new_acceptance();
        self
    }

    /// Sets the largest size of a session's application data (see
    /// [`SessionManager::max_session_data`]; default 4 KiB).
    pub fn max_session_data(mut self, bytes: usize) -> Self {
        self.sessions = self.sessions.max_session_data(bytes);
        self
    }

    /// Keeps sessions in `store` (memory, Redis, or a store of your own),
    /// sealed with this application's session secret.
    pub fn session_store(mut self, store: Arc<dyn crate::session::SessionStore>) -> Self {
        self.sessions = self.sessions.store(store);
        self.acceptance = new_acceptance();
        self
    }

    /// Opt-in for applications reached under several hosts behind a proxy:
    /// when a request's `X-Forwarded-Host` (else `Host`) is one of `hosts`,
    /// redirect URIs are built from it (and `X-Forwarded-Proto`, default
    /// `https`; never `http` when the base URL is `https`) instead of the
    /// configured base URL. Any other host is ignored. Off by default: the
    /// base URL alone decides.
    pub fn trust_forwarded_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trusted_hosts = hosts
            .into_iter()
            .map(|h| h.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// The base URL for a request: the configured one, or the trusted
    /// forwarded host (see [`WebAuth::trust_forwarded_hosts`]).
    pub fn base_url_for(&self, origin: &RequestOrigin<'_>) -> String {
        if let Some(host) = origin.host.map(|h| h.trim().to_ascii_lowercase())
            && self.trusted_hosts.contains(&host)
        {
            // Never below the configured scheme: a forwarded `http` for an
            // application configured on `https` would put links and
            // redirect URIs on plain HTTP.
            let proto = match origin.proto.map(str::trim) {
                Some("http") if !self.base_url.starts_with("https://") => "http",
                _ => "https",
            };
            return format!("{proto}://{host}");
        }
        self.base_url.clone()
    }

    /// Changes the paths.
    pub fn paths(mut self, paths: AuthPaths) -> Self {
        self.paths = paths;
        self
    }

    /// Changes the realm of `WWW-Authenticate`.
    pub fn realm(mut self, realm: &str) -> Self {
        self.challenge = Challenge::new(realm);
        self
    }

    /// Serves RFC 9728 metadata for this resource, names it in every
    /// challenge (`resource_metadata`), and accepts bearer tokens whose
    /// `aud` contains the resource identifier (besides the audiences the
    /// Scalekit client already accepts: to accept only the resource, build
    /// the client with [`Scalekit::only_audiences`]).
    pub fn protected_resource(mut self, resource: ProtectedResource) -> Self {
        let url = format!("{}{}", self.base_url, self.paths.resource_metadata);
        self.challenge = self.challenge.resource_metadata(url);
        self.scalekit = self.scalekit.accept_audiences([resource.resource.clone()]);
        self.resource = Some(resource);
        self.acceptance = new_acceptance();
        self
    }

    /// Makes this application the MCP server `resource_id` (`res_…`) of its
    /// environment (PROTOCOL.md §10): it serves the RFC 9728 document for
    /// `resource`, naming the server's authorization server
    /// `{environment}/resources/{resource_id}`, names that document in every
    /// challenge (`resource_metadata`), and accepts exactly the tokens issued
    /// for it (see [`Scalekit::only_mcp_server`]): `iss` the environment or
    /// the authorization server, `aud` containing `resource` or
    /// `resource_id`.
    ///
    /// ```
    /// use scalekit_core::{Scalekit, ScalekitConfig};
    /// use scalekit_core::web::{ProtectedResource, WebAuth};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::for_api(Scalekit::new(config)?, "https://mcp.acme.com")
    ///     .map_err(|_| "random source")?
    ///     .mcp_server(
    ///         ProtectedResource {
    ///             resource: "https://mcp.acme.com/mcp".into(),
    ///             scopes_supported: vec!["mcp:tools".into()],
    ///             documentation: None,
    ///         },
    ///         "res_42",
    ///     );
    /// assert_eq!(
    ///     web.resource_metadata_paths(),
    ///     ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
    /// );
    /// assert_eq!(web.scalekit().validator().options().audiences(), ["https://mcp.acme.com/mcp", "res_42"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mcp_server(mut self, resource: ProtectedResource, resource_id: &str) -> Self {
        let url = format!("{}{}", self.base_url, self.paths.resource_metadata);
        self.challenge = self.challenge.resource_metadata(url);
        self.authorization_server =
            Some(self.scalekit.config().mcp_authorization_server(resource_id));
        self.scalekit = self
            .scalekit
            .only_mcp_server(resource.resource.clone(), resource_id);
        self.resource = Some(resource);
        self.acceptance = new_acceptance();
        self
    }

    /// The paths the RFC 9728 document is served at, when this application
    /// is a protected resource: the configured path, and the path-inserted
    /// form for a resource identifier with a path (RFC 9728 §3.1:
    /// `/.well-known/oauth-protected-resource/mcp` for `https://host/mcp`).
    pub fn resource_metadata_paths(&self) -> Vec<String> {
        let Some(resource) = &self.resource else {
            return Vec::new();
        };
        let mut paths = vec![self.paths.resource_metadata.clone()];
        if let Ok(url) = url::Url::parse(&resource.resource) {
            let path = url.path().trim_end_matches('/');
            if !path.is_empty() {
                paths.push(format!("{}{path}", self.paths.resource_metadata));
            }
        }
        paths
    }

    /// Also accepts bearer tokens whose `aud` contains one of `audiences`
    /// (see [`Scalekit::accept_audiences`]): an API identifier given to
    /// M2M clients, for example. By default only the client id (and the
    /// protected resource, when one is published) is accepted.
    pub fn accept_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scalekit = self.scalekit.accept_audiences(audiences);
        self.acceptance = new_acceptance();
        self
    }

    /// Runs `hook` after each login, before the session starts: provision
    /// the user, put application data in the session, choose where the
    /// user lands, or refuse the sign-in (see [`LoginDecision`]). The hook
    /// may answer a [`LoginDecision`], a `Result<(), String>` (`Err`:
    /// refused with that message) or an [`Answer`] (refused with it).
    ///
    /// ```no_run
    /// # fn demo(web: scalekit_core::web::WebAuth) -> scalekit_core::web::WebAuth {
    /// use scalekit_core::web::LoginDecision;
    ///
    /// web.after_login(|auth| async move {
    ///     if auth.user.email.as_deref().is_some_and(|e| e.ends_with("@blocked.example")) {
    ///         return LoginDecision::refuse("This account is blocked.");
    ///     }
    ///     LoginDecision::allow().with_data(&serde_json::json!({"plan": "team"}))
    /// })
    /// # }
    /// ```
    pub fn after_login<F, Fut, D>(mut self, hook: F) -> Self
    where
        F: Fn(AuthenticationResponse) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = D> + Send + 'static,
        D: Into<LoginDecision>,
    {
        let hook = Arc::new(hook);
        self.after_login = Some(Arc::new(move |auth| {
            let hook = hook.clone();
            Box::pin(async move { hook(auth).await.into() })
        }));
        self
    }

    /// Whether an answer to a request authenticated by its session cookie
    /// gets `Cache-Control: no-store` when its handler set no
    /// `Cache-Control` of its own (default: `true`). A signed-in page kept
    /// in the browser's cache shows the user's data after they sign out
    /// (the Back button) or to the next user of a shared computer; bearer
    /// callers, anonymous requests and answers with their own
    /// `Cache-Control` are left alone. The auth routes' answers are always
    /// `no-store`.
    ///
    /// ```
    /// # fn demo(web: scalekit_core::web::WebAuth) -> scalekit_core::web::WebAuth {
    /// // Session pages set their own caching (a handler's `Cache-Control`
    /// // wins either way).
    /// web.no_store_for_sessions(false)
    /// # }
    /// ```
    pub fn no_store_for_sessions(mut self, on: bool) -> Self {
        self.no_store_sessions = on;
        self
    }

    /// Verifies webhooks with this verifier.
    pub fn webhooks(mut self, verifier: WebhookVerifier) -> Self {
        self.webhooks = Some(verifier);
        self
    }

    /// The Scalekit client.
    pub fn scalekit(&self) -> &Scalekit {
        &self.scalekit
    }

    /// The session manager.
    pub fn sessions(&self) -> &SessionManager {
        &self.sessions
    }

    /// The paths.
    pub fn auth_paths(&self) -> &AuthPaths {
        &self.paths
    }

    /// The `WWW-Authenticate` parameters.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The webhook verifier, when configured.
    pub fn webhook_verifier(&self) -> Option<&WebhookVerifier> {
        self.webhooks.as_ref()
    }

    /// The redirect URI: base URL + callback path.
    pub fn redirect_uri(&self) -> String {
        self.redirect_uri_for(&RequestOrigin::default())
    }

    fn redirect_uri_for(&self, origin: &RequestOrigin<'_>) -> String {
        format!("{}{}", self.base_url_for(origin), self.paths.callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::AccessTokenClaims;
    use crate::oauth::User;
    use crate::oauth::{AuthorizationUrlOptions, CodeExchange, LogoutUrlOptions};
    use crate::validate::VerifiedClaims;
    use crate::web::adapter::AuthorizationHeaders;

    #[test]
    fn debug_output_leaves_secrets_out() {
        let caller = Authenticated::bearer(VerifiedClaims {
            claims: Arc::new(AccessTokenClaims::default()),
            payload: Arc::from(&b"{}"[..]),
            token: "eyJ.secret.token".into(),
        });
        assert!(!format!("{caller:?}").contains("secret"));
        let exchange = CodeExchange {
            code_verifier: Some("verifier-secret".into()),
            nonce: Some("nonce-secret".into()),
        };
        assert!(!format!("{exchange:?}").contains("secret"));
    }

    /// Every public type of the core that holds a token, code, verifier,
    /// state, nonce, sealed cookie or secret prints it redacted.
    #[test]
    fn no_secret_in_debug() {
        const S: &str = "SeCrEt-4711";
        let secret = || S.to_owned();
        let mut printed = vec![
            format!("{:?}", crate::Secret::new(S)),
            format!(
                "{:?}",
                crate::ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", S).unwrap()
            ),
            format!(
                "{:?}",
                AuthorizationUrlOptions {
                    state: Some(secret()),
                    nonce: Some(secret()),
                    login_hint: Some(secret()),
                    code_challenge: Some(secret()),
                    ..Default::default()
                }
            ),
            format!(
                "{:?}",
                LogoutUrlOptions {
                    id_token_hint: Some(secret()),
                    state: Some(secret()),
                    post_logout_redirect_uri: None,
                }
            ),
            format!(
                "{:?}",
                CodeExchange {
                    code_verifier: Some(secret()),
                    nonce: Some(secret()),
                }
            ),
            format!(
                "{:?}",
                AuthenticationResponse {
                    user: User::default(),
                    id_token: secret(),
                    id_token_claims: crate::IdTokenClaims::default(),
                    access_token: secret(),
                    refresh_token: Some(secret()),
                    expires_in: Some(1),
                }
            ),
            format!(
                "{:?}",
                serde_json::from_value::<crate::oauth::TokenResponse>(serde_json::json!({
                    "access_token": S, "id_token": S, "refresh_token": S
                }))
                .unwrap()
            ),
            format!("{:?}", crate::oauth::Pkce::from_verifier(S)),
            format!(
                "{:?}",
                WebResponse::Redirect {
                    location: format!("https://acme.scalekit.dev/oauth/authorize?state={S}"),
                    set_cookies: vec![format!("sk_session={S}")],
                }
            ),
            format!(
                "{:?}",
                WebResponse::Page {
                    status: 200,
                    html: String::new(),
                    set_cookies: vec![format!("sk_session={S}")],
                }
            ),
            format!(
                "{:?}",
                Authenticated::bearer(VerifiedClaims {
                    claims: Arc::new(AccessTokenClaims::default()),
                    payload: Arc::from(&b"{}"[..]),
                    token: secret().into(),
                })
            ),
            format!(
                "{:?}",
                AuthorizationHeaders::from(Some(format!("Bearer {S}").as_str()))
            ),
            format!(
                "{:?}",
                crate::webhook::WebhookVerifier::new("whsec_U2VDckVULTQ3MTE=").unwrap()
            ),
        ];
        let config = crate::ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", S).unwrap();
        if let Ok(scalekit) = crate::Scalekit::new(config) {
            printed.push(format!("{scalekit:?}"));
            printed.push(format!(
                "{:?}",
                crate::oauth::ClientCredentialsCache::new(scalekit)
                    .for_client("m2m_1", crate::Secret::new(S))
            ));
        }
        for text in &printed {
            assert!(!text.contains(S), "{text}");
            // The base64 of the webhook secret's key, too.
            assert!(!text.contains("U2VDckVULTQ3MTE"), "{text}");
        }
    }
}
