//! A local Scalekit environment for tests and offline development.
//!
//! The emulator listens on `127.0.0.1` (a chosen or random port) and serves
//! what the platform serves: the JWKS at `/keys`, OIDC discovery, and the
//! token endpoint (`client_credentials` for registered M2M clients). Through
//! the library API a test mints access, ID and M2M tokens with any claims,
//! rotates the signing keys, injects faults and reads per-endpoint request
//! counters.
//!
//! It is also a local platform: the hosted sign-in page and the
//! authorization-code flow (ID tokens with `amr` = the connection signed in
//! through, `c_hash` and `at_hash`), IdP-initiated logins sent to the
//! application's initiate-login URL, a SCIM 2.0 endpoint per directory, and
//! one webhook delivery queue (signed as the platform signs, retried with
//! backoff, listed at `/deliveries`) for every event it emits, and the
//! management REST API under `/api/v1/` (see below). Tokens are
//! signed by the `jsonwebtoken` crate, so tests check tokens made by an
//! implementation independent of the verifier under test.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), scalekit_emulator::EmulatorError> {
//! use scalekit_emulator::{Emulator, EmulatorEndpoint};
//!
//! let emulator = Emulator::start().await?;
//! let token = emulator.mint_access_token(serde_json::json!({"permissions": ["admin:read"]}))?;
//! assert_eq!(token.split('.').count(), 3);
//! assert!(emulator.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 0);
//! # Ok(()) }
//! ```
//!
//! # Management API
//!
//! `/api/v1/…` serves organizations (list, create, get, update, delete,
//! settings, portal links), connections (list, per organization, get,
//! `:enable`/`:disable`), directories (list, get, `:enable`/`:disable`,
//! users, groups), domains, organization roles, users (create with a
//! membership, get, list, update, delete, an organization's users),
//! memberships and invitations, sessions (get, a user's, revoke one, revoke
//! a user's), connected accounts (list, create, update credentials, magic
//! link) and tool execution, from the same state as the sign-in page. Calls
//! need a bearer token from the `client_credentials` grant of the
//! environment's client ([`Emulator::client_id`]); errors have the
//! platform's shape (`{"code": "NOT_FOUND", "message": …, "details": […]}`).
//! The README lists every path. [`EmulatorEndpoint::Management`] counts
//! and faults every `/api/v1/` request.
//!
//! # Passwordless email
//!
//! `POST /api/v1/passwordless/email/{send,resend,verify}` keep the
//! platform's limits (2 emails a minute per address, resends counted; 5
//! wrong codes per auth request in 10 minutes, then `429` and the request
//! dead; expiry; same-browser enforcement when turned on). No email leaves
//! the emulator: each is kept in the outbox, shown at `{url}/outbox`
//! (newest first) and `{url}/outbox.json` ([`Emulator::outbox`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod deliveries;
mod flows;
mod front;
mod html;
mod ids;
mod keys;
mod management;
mod mcp;
mod model;
mod oauth;
mod passwordless;
mod scim;
mod server;
mod urls;
mod webhooks;

pub use builder::EmulatorBuilder;
pub use deliveries::{DeliveryState, WebhookDelivery};
pub use mcp::{McpServer, McpServerInfo};
pub use model::{Organization, SeedUser};
pub use passwordless::{OutboxEmail, PasswordlessType};
pub use scim::Directory;
pub use webhooks::{Delivery, WebhookSender};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use keys::SigningKey;
use model::SessionRecord;

/// Errors of the emulator's library API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listening socket could not be bound.
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The requested port.
        port: u16,
        /// The I/O error.
        source: std::io::Error,
    },
    /// RSA key generation failed.
    #[error("signing key generation failed")]
    KeyGeneration,
    /// Signing failed.
    #[error("signing failed")]
    Signing,
    /// The system random source failed.
    #[error("the system random source failed")]
    Random,
    /// No M2M client with this id is registered.
    #[error("unknown M2M client")]
    UnknownClient,
    /// No signing key with this kid.
    #[error("unknown signing key")]
    UnknownKey,
    /// A webhook secret that is not `whsec_<base64>`.
    #[error("invalid webhook secret")]
    InvalidSecret,
    /// No seeded user with this email.
    #[error("unknown user")]
    UnknownUser,
    /// The application client has no registered redirect URI.
    #[error("no redirect URI is registered")]
    NoRedirectUri,
    /// No directory with this id.
    #[error("unknown directory")]
    UnknownDirectory,
    /// No connection with this id.
    #[error("unknown connection")]
    UnknownConnection,
    /// The user's connection is disabled.
    #[error("the connection is disabled")]
    ConnectionDisabled,
    /// No webhook delivery with this number.
    #[error("unknown webhook delivery")]
    UnknownDelivery,
    /// No MCP server with this resource identifier is registered.
    #[error("unknown MCP server")]
    UnknownMcpServer,
}

/// The emulator's endpoints, for fault injection and request counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmulatorEndpoint {
    /// `GET /keys`.
    Keys,
    /// `GET /.well-known/openid-configuration`.
    Discovery,
    /// `POST /oauth/token`.
    Token,
    /// `GET` and `POST /oauth/authorize` (the hosted sign-in page).
    Authorize,
    /// `GET /oidc/logout`.
    Logout,
    /// Any other path.
    Other,
    /// The management API: every path under `/api/v1/`.
    Management,
}

impl EmulatorEndpoint {
    const ALL: [EmulatorEndpoint; 7] = [
        EmulatorEndpoint::Keys,
        EmulatorEndpoint::Discovery,
        EmulatorEndpoint::Token,
        EmulatorEndpoint::Authorize,
        EmulatorEndpoint::Logout,
        EmulatorEndpoint::Other,
        EmulatorEndpoint::Management,
    ];

    pub(crate) fn of_path(path: &str) -> Self {
        match path {
            "/keys" => EmulatorEndpoint::Keys,
            "/.well-known/openid-configuration" => EmulatorEndpoint::Discovery,
            "/oauth/token" => EmulatorEndpoint::Token,
            "/oauth/authorize" => EmulatorEndpoint::Authorize,
            "/oidc/logout" => EmulatorEndpoint::Logout,
            _ if path.starts_with("/api/v1/") => EmulatorEndpoint::Management,
            _ => EmulatorEndpoint::Other,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A fault the emulator injects into an endpoint's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a JSON error body: on
    /// [`EmulatorEndpoint::Management`], the platform's error shape
    /// (`{"code": "UNAVAILABLE", "message", "details"}`), with
    /// `Retry-After: 0` for `429` and `503`.
    Status(u16),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Close the connection without answering.
    DropConnection,
    /// Answer with this redirect status (`307`, `302`, …) to `location`.
    Redirect {
        /// The redirect status.
        status: u16,
        /// The `Location` header.
        location: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct FaultSlot {
    pub(crate) fault: Fault,
    remaining: Option<usize>,
}

/// How [`Emulator::rotate_keys`] treats the keys that signed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old keys stay published (tokens they signed keep validating).
    KeepOld,
    /// The old keys are withdrawn from `/keys`.
    WithdrawOld,
}

/// A registered machine-to-machine client.
///
/// ```
/// use scalekit_emulator::M2mClient;
///
/// let client = M2mClient::new("m2morg_1", "secret", "org_1").scopes(["deploy:write"]);
/// assert_eq!(client.client_id(), "m2morg_1");
/// ```
#[derive(Debug, Clone)]
pub struct M2mClient {
    client_id: String,
    secret: String,
    organization_id: String,
    scopes: Vec<String>,
    custom_claims: serde_json::Map<String, Value>,
    audience: Vec<String>,
    token_lifetime: Option<Duration>,
}

impl M2mClient {
    /// A client with this id, secret and organization, and no scopes.
    pub fn new(
        client_id: impl Into<String>,
        secret: impl Into<String>,
        organization_id: impl Into<String>,
    ) -> Self {
        M2mClient {
            client_id: client_id.into(),
            secret: secret.into(),
            organization_id: organization_id.into(),
            scopes: Vec::new(),
            custom_claims: serde_json::Map::new(),
            audience: Vec::new(),
            token_lifetime: None,
        }
    }

    /// The audience of its tokens when the grant names none (`aud`).
    pub fn audience<I, S>(mut self, audience: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// The lifetime of its tokens (default: the emulator's M2M token
    /// lifetime).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// The scopes the client may be granted.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A custom claim added to every token of this client.
    pub fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        self.custom_claims.insert(name.into(), value);
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// The seeded user the emulator's user tokens are about by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser {
    /// User id (`usr_…`).
    pub id: String,
    /// Email address.
    pub email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Organization id (`org_…`).
    pub organization_id: String,
}

pub(crate) struct State {
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) user: TestUser,
    access_token_ttl: Duration,
    m2m_token_ttl: Duration,
    code_ttl: Duration,
    keys: Mutex<Vec<SigningKey>>,
    pub(crate) m2m_clients: Mutex<HashMap<String, M2mClient>>,
    faults: Mutex<HashMap<EmulatorEndpoint, FaultSlot>>,
    counters: [AtomicU64; 7],
    pub(crate) keys_cache_control: Mutex<Option<String>>,
    pub(crate) model: model::Model,
    pub(crate) flows: flows::FlowState,
    pub(crate) deliveries: deliveries::Deliveries,
    pub(crate) directories: scim::Directories,
    /// Connections disabled through [`Emulator::set_connection_enabled`].
    disabled_connections: Mutex<std::collections::HashSet<String>>,
    pub(crate) mcp: mcp::McpState,
    pub(crate) management: management::Management,
    pub(crate) passwordless: passwordless::Passwordless,
}

impl State {
    /// Whether `user` may sign in: their organization's connection is not
    /// disabled.
    pub(crate) fn connection_enabled_for(&self, user: &SeedUser) -> bool {
        self.model
            .connection_of(user)
            .is_none_or(|c| !lock(&self.disabled_connections).contains(&c))
    }
}

impl State {
    /// See [`Emulator::set_directory_enabled`].
    pub(crate) fn set_directory_enabled(
        &self,
        directory_id: &str,
        enabled: bool,
    ) -> Result<(), EmulatorError> {
        let (directory, changed) = self.directories.set_enabled(directory_id, enabled)?;
        if changed {
            let event_type = if enabled {
                "organization.directory_enabled"
            } else {
                "organization.directory_disabled"
            };
            self.deliveries.emit(
                event_type,
                "Directory",
                &directory.organization_id,
                json!({
                    "directory_type": "SCIM",
                    "enabled": enabled,
                    "id": directory.id,
                    "organization_id": directory.organization_id,
                    "provider": "OKTA",
                    "updated_at": webhooks::occurred_at_now(),
                }),
            );
        }
        Ok(())
    }

    /// See [`Emulator::set_connection_enabled`].
    pub(crate) fn set_connection_enabled(
        &self,
        connection_id: &str,
        enabled: bool,
    ) -> Result<(), EmulatorError> {
        let organization = self
            .model
            .organizations()
            .into_iter()
            .find(|o| o.connection_id == connection_id)
            .ok_or(EmulatorError::UnknownConnection)?;
        let changed = {
            let mut disabled = lock(&self.disabled_connections);
            if enabled {
                disabled.remove(connection_id)
            } else {
                disabled.insert(connection_id.to_owned())
            }
        };
        if changed {
            let event_type = if enabled {
                "organization.sso_enabled"
            } else {
                "organization.sso_disabled"
            };
            self.deliveries.emit(
                event_type,
                "Connection",
                &organization.id,
                json!({
                    "connection_type": "OIDC",
                    "enabled": enabled,
                    "id": connection_id,
                    "provider": "OKTA",
                    "organization_id": organization.id,
                    "status": "COMPLETED",
                }),
            );
        }
        Ok(())
    }

    /// Whether a connection is enabled (connections start enabled).
    pub(crate) fn connection_enabled(&self, connection_id: &str) -> bool {
        !lock(&self.disabled_connections).contains(connection_id)
    }
}

impl State {
    /// Removes the user `id` from the sign-in page and ends their sessions.
    pub(crate) fn remove_user(&self, id: &str) -> Option<SeedUser> {
        let removed = self.model.remove_user(id)?;
        self.revoke_user_sessions(id);
        Some(removed)
    }

    /// Revokes session `id` if it is active: its refresh tokens stop
    /// working. The session as it is afterwards, or `None` if unknown.
    pub(crate) fn revoke_session(&self, id: &str) -> Option<SessionRecord> {
        let session = self.model.revoke_session(id)?;
        self.flows.revoke_refresh_tokens_of(id);
        Some(session)
    }

    /// Revokes every active session of `user_id` and returns them.
    pub(crate) fn revoke_user_sessions(&self, user_id: &str) -> Vec<SessionRecord> {
        let revoked = self.model.revoke_user_sessions(user_id);
        // Every refresh token of the user, whatever its session's state.
        for session in self.model.sessions_of(user_id) {
            self.flows.revoke_refresh_tokens_of(&session.id);
        }
        revoked
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl State {
    pub(crate) fn count(&self, endpoint: EmulatorEndpoint) {
        self.counters[endpoint.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The fault to apply to this request, consuming one use of it.
    pub(crate) fn take_fault(&self, endpoint: EmulatorEndpoint) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let slot = faults.get_mut(&endpoint)?;
        let fault = slot.fault.clone();
        if let Some(remaining) = &mut slot.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                faults.remove(&endpoint);
            }
        }
        Some(fault)
    }

    pub(crate) fn jwks(&self) -> Value {
        let keys: Vec<Value> = lock(&self.keys)
            .iter()
            .filter(|k| k.published)
            .map(SigningKey::jwk)
            .collect();
        json!({ "keys": keys })
    }

    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> Result<String, EmulatorError> {
        let keys = lock(&self.keys);
        let key = keys.last().ok_or(EmulatorError::UnknownKey)?;
        keys::sign_jwt(key, header, claims)
    }

    /// Whether the key `kid` is published at `/keys`.
    pub(crate) fn is_published(&self, kid: &str) -> bool {
        lock(&self.keys).iter().any(|k| k.kid == kid && k.published)
    }

    /// Verifies a token signed by the emulator's keys (published or not) and
    /// returns its claims.
    pub(crate) fn verify_own_token(&self, token: &str) -> Option<Value> {
        keys::verify_own_token(&lock(&self.keys), &self.issuer, token)
    }

    pub(crate) fn m2m_claims(
        &self,
        client: &M2mClient,
        scopes: &[String],
        audience: Option<&str>,
    ) -> Value {
        let now = now();
        let mut claims = json!({
            "iss": self.issuer,
            "sub": client.client_id,
            "client_id": client.client_id,
            "oid": client.organization_id,
            "scopes": scopes,
            "jti": ids::id("tkn"),
            "iat": now,
            "nbf": now,
            "exp": now + self.m2m_token_ttl_of(client).as_secs(),
        });
        if let Some(map) = claims.as_object_mut() {
            if let Some(aud) = audience {
                map.insert("aud".into(), json!([aud]));
            } else if !client.audience.is_empty() {
                map.insert("aud".into(), json!(client.audience));
            }
            for (k, v) in &client.custom_claims {
                map.insert(k.clone(), v.clone());
            }
        }
        claims
    }

    /// The lifetime of `client`'s tokens.
    pub(crate) fn m2m_token_ttl_of(&self, client: &M2mClient) -> Duration {
        client.token_lifetime.unwrap_or(self.m2m_token_ttl)
    }

    pub(crate) fn access_token_ttl(&self) -> Duration {
        self.access_token_ttl
    }

    /// Lifetime of authorization codes (the application's and the MCP
    /// servers').
    pub(crate) fn code_ttl(&self) -> Duration {
        self.code_ttl
    }
}

/// A running emulated environment. Dropping it stops the server.
pub struct Emulator {
    state: Arc<State>,
    addr: SocketAddr,
    url: String,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
        if let Some(worker) = &self.worker {
            worker.abort();
        }
    }
}

fn merge(mut base: Value, overrides: Value) -> Value {
    if let (Some(base), Value::Object(overrides)) = (base.as_object_mut(), overrides) {
        for (k, v) in overrides {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
    base
}

impl Emulator {
    /// A builder with default settings.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts an emulator with default settings on a random port.
    pub async fn start() -> Result<Emulator, EmulatorError> {
        EmulatorBuilder::default().start().await
    }

    /// The environment URL (`http://127.0.0.1:<port>`), also the issuer.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The application client's id.
    pub fn client_id(&self) -> &str {
        &self.state.client_id
    }

    /// The application client's secret.
    pub fn client_secret(&self) -> &str {
        &self.state.client_secret
    }

    /// The seeded user.
    pub fn test_user(&self) -> &TestUser {
        &self.state.user
    }

    /// The kid of the key that signs now.
    pub fn active_kid(&self) -> String {
        lock(&self.state.keys)
            .last()
            .map(|k| k.kid.clone())
            .unwrap_or_default()
    }

    /// The kids published at `/keys`.
    pub fn published_kids(&self) -> Vec<String> {
        lock(&self.state.keys)
            .iter()
            .filter(|k| k.published)
            .map(|k| k.kid.clone())
            .collect()
    }

    /// Generates a new signing key that signs from now on, and returns its
    /// kid. The old keys stay published or are withdrawn, as asked.
    pub async fn rotate_keys(&self, rotation: Rotation) -> Result<String, EmulatorError> {
        let key = tokio::task::spawn_blocking(SigningKey::generate)
            .await
            .map_err(|_| EmulatorError::KeyGeneration)??;
        let kid = key.kid.clone();
        let mut keys = lock(&self.state.keys);
        if rotation == Rotation::WithdrawOld {
            keys.iter_mut().for_each(|k| k.published = false);
        }
        keys.push(key);
        Ok(kid)
    }

    /// Signs `claims` as they are, with the active key.
    pub fn sign_claims(&self, claims: &Value) -> Result<String, EmulatorError> {
        self.state.sign(&json!({}), claims)
    }

    /// Signs `claims` with the active key under a header of your own: `alg`,
    /// `typ` and `kid` default to `RS256`, `JWT` and the active kid, and any
    /// of them can be overridden (the signature is RS256 whatever `alg` says).
    pub fn sign_with_header(
        &self,
        header: &Value,
        claims: &Value,
    ) -> Result<String, EmulatorError> {
        self.state.sign(header, claims)
    }

    /// Signs an arbitrary payload (not necessarily JSON) with the active key.
    pub fn sign_raw_payload(&self, payload: &[u8]) -> Result<String, EmulatorError> {
        let keys = lock(&self.state.keys);
        let key = keys.last().ok_or(EmulatorError::UnknownKey)?;
        let header = serde_json::to_vec(&json!({"alg": "RS256", "typ": "JWT", "kid": key.kid}))
            .map_err(|_| EmulatorError::Signing)?;
        keys::sign_raw(key, &header, payload)
    }

    /// The DER (PKCS#1) of the active key's public key.
    pub fn active_public_key_der(&self) -> Vec<u8> {
        lock(&self.state.keys)
            .last()
            .map(SigningKey::public_key_der)
            .unwrap_or_default()
    }

    /// The claims of a user access token for the seeded user, with
    /// `overrides` merged in (a `null` removes a claim).
    pub fn access_token_claims(&self, overrides: Value) -> Value {
        let s = &self.state;
        let now = now();
        merge(
            json!({
                "iss": s.issuer,
                "aud": [s.client_id],
                "client_id": s.client_id,
                "sub": s.user.id,
                "sid": ids::id("ses"),
                "jti": ids::id("tkn"),
                "iat": now,
                "nbf": now,
                "exp": now + s.access_token_ttl.as_secs(),
                "oid": s.user.organization_id,
                "roles": ["member"],
            }),
            overrides,
        )
    }

    /// Mints a user access token (PROTOCOL.md §7) for the seeded user.
    pub fn mint_access_token(&self, overrides: Value) -> Result<String, EmulatorError> {
        self.sign_claims(&self.access_token_claims(overrides))
    }

    /// Mints an ID token for the seeded user (`amr`: their organization's
    /// connection).
    pub fn mint_id_token(&self, overrides: Value) -> Result<String, EmulatorError> {
        let s = &self.state;
        let now = now();
        let claims = merge(
            json!({
                "iss": s.issuer,
                "aud": [s.client_id],
                "azp": s.client_id,
                "sub": s.user.id,
                "oid": s.user.organization_id,
                "sid": ids::id("ses"),
                "amr": s.model.connection_of(&s.model.first_user()).into_iter().collect::<Vec<_>>(),
                "iat": now,
                "exp": now + s.access_token_ttl.as_secs(),
                "email": s.user.email,
                "email_verified": true,
                "name": format!("{} {}", s.user.given_name, s.user.family_name),
                "given_name": s.user.given_name,
                "family_name": s.user.family_name,
            }),
            overrides,
        );
        self.sign_claims(&claims)
    }

    /// The seeded users.
    pub fn users(&self) -> Vec<SeedUser> {
        self.state.model.users()
    }

    /// The seeded organizations.
    pub fn organizations(&self) -> Vec<Organization> {
        self.state.model.organizations()
    }

    /// Adds a user to the sign-in page.
    pub fn add_user(&self, user: SeedUser) {
        self.state.model.add_user(user);
    }

    /// Registers a redirect URI of the application client.
    pub fn register_redirect_uri(&self, uri: impl Into<String>) {
        self.state.flows.add_redirect_uri(uri.into());
    }

    /// Registers a post-logout redirect URI.
    pub fn register_post_logout_redirect_uri(&self, uri: impl Into<String>) {
        self.state.flows.add_post_logout_redirect_uri(uri.into());
    }

    /// Sets (or, with `None`, removes) the initiate-login URL.
    pub fn set_initiate_login_uri(&self, uri: Option<&str>) {
        self.state
            .flows
            .set_initiate_login_uri(uri.map(str::to_owned));
    }

    /// The URL an IdP-initiated login sends the browser to: the
    /// initiate-login URL (or the first registered redirect URI) with `?idp_initiated_login=<JWT>` for the
    /// seeded user with this email.
    pub fn idp_initiated_login_url(
        &self,
        email: &str,
        relay_state: Option<&str>,
    ) -> Result<String, EmulatorError> {
        flows::idp_initiated_url(&self.state, email, relay_state)
    }

    /// Registers an MCP server while the emulator runs (see
    /// [`EmulatorBuilder::mcp_server`]).
    pub fn register_mcp_server(&self, server: impl Into<McpServer>) -> McpServerInfo {
        self.state.mcp.register(&self.state.issuer, server.into())
    }

    /// The registered MCP servers, in registration order.
    pub fn mcp_servers(&self) -> Vec<McpServerInfo> {
        self.state.mcp.servers()
    }

    /// Mints an access token of the MCP server `resource` for the seeded
    /// user, as its authorization server issues them (`iss` its
    /// authorization server URL, `aud` its resource identifier and id, all
    /// its scopes in `scope`), with `overrides` merged in.
    pub fn mint_mcp_access_token(
        &self,
        resource: &str,
        overrides: Value,
    ) -> Result<String, EmulatorError> {
        let server = self
            .state
            .mcp
            .server_for(resource)
            .ok_or(EmulatorError::UnknownMcpServer)?;
        mcp::mint_user_token(&self.state, &server, overrides)
    }

    /// Registers a passkey (a WebAuthn credential) named `display_name`
    /// for the user `user_id`, as a finished registration would; the
    /// management API lists, renames and deletes it. Its id (`wac_…`).
    pub fn add_passkey(&self, user_id: &str, display_name: &str) -> Result<String, EmulatorError> {
        if !self.state.model.users().iter().any(|u| u.id == user_id) {
            return Err(EmulatorError::UnknownUser);
        }
        Ok(self.state.management.add_passkey(user_id, display_name))
    }

    /// Opens a login request of the custom connection `connection_id`, as
    /// the platform does when it sends a user to an application's own login
    /// page; the application then posts the user it signed in
    /// (`UpdateLoginUserDetails`). Its id (`lrq_…`).
    pub fn open_login_request(&self, connection_id: &str) -> String {
        self.state.management.open_login_request(connection_id)
    }

    /// The user an application posted for login request `login_request_id`
    /// (the body of its `UpdateLoginUserDetails`), if it has.
    pub fn login_request_user(&self, login_request_id: &str) -> Option<Value> {
        self.state.management.login_request_user(login_request_id)
    }

    /// Registers an M2M client for the `client_credentials` grant.
    pub fn register_m2m_client(&self, client: M2mClient) {
        lock(&self.state.m2m_clients).insert(client.client_id.clone(), client);
    }

    /// Mints an M2M token for a registered client, with all its scopes and
    /// `overrides` merged in.
    pub fn mint_m2m_token(
        &self,
        client_id: &str,
        overrides: Value,
    ) -> Result<String, EmulatorError> {
        let client = lock(&self.state.m2m_clients)
            .get(client_id)
            .cloned()
            .ok_or(EmulatorError::UnknownClient)?;
        let claims = merge(
            self.state.m2m_claims(&client, &client.scopes, None),
            overrides,
        );
        self.sign_claims(&claims)
    }

    /// Injects `fault` into every answer of `endpoint` until cleared.
    pub fn inject_fault(&self, endpoint: EmulatorEndpoint, fault: Fault) {
        lock(&self.state.faults).insert(
            endpoint,
            FaultSlot {
                fault,
                remaining: None,
            },
        );
    }

    /// Injects `fault` into the next `times` answers of `endpoint`.
    pub fn inject_fault_times(&self, endpoint: EmulatorEndpoint, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        lock(&self.state.faults).insert(
            endpoint,
            FaultSlot {
                fault,
                remaining: Some(times),
            },
        );
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// Sets (or removes) the `Cache-Control` header of `/keys`.
    pub fn set_keys_cache_control(&self, value: Option<&str>) {
        *lock(&self.state.keys_cache_control) = value.map(str::to_owned);
    }

    /// Requests received by `endpoint` since start or the last reset.
    pub fn request_count(&self, endpoint: EmulatorEndpoint) -> u64 {
        self.state.counters[endpoint.index()].load(Ordering::Relaxed)
    }

    /// The passwordless emails sent so far, newest first (what
    /// `{url}/outbox.json` answers).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), scalekit_emulator::EmulatorError> {
    /// let emulator = scalekit_emulator::Emulator::start().await?;
    /// assert!(emulator.outbox().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn outbox(&self) -> Vec<OutboxEmail> {
        self.state.passwordless.outbox()
    }

    /// What passwordless emails carry from now on.
    pub fn set_passwordless_type(&self, kind: PasswordlessType) {
        self.state.passwordless.set_type(kind);
    }

    /// What passwordless emails carry.
    pub fn passwordless_type(&self) -> PasswordlessType {
        self.state.passwordless.kind()
    }

    /// Turns "same browser origin" enforcement of magic links on or off
    /// (see [`EmulatorBuilder::passwordless_same_browser`]).
    pub fn set_passwordless_same_browser(&self, on: bool) {
        self.state.passwordless.set_same_browser(on);
    }

    /// Whether magic links verify only with their `auth_request_id`.
    pub fn passwordless_same_browser(&self) -> bool {
        self.state.passwordless.same_browser()
    }

    /// The webhook signing secret (`whsec_…`) deliveries are signed with.
    pub fn webhook_secret(&self) -> &str {
        self.state.deliveries.secret()
    }

    /// Registers one more webhook endpoint.
    pub fn add_webhook_url(&self, url: impl Into<String>) {
        self.state.deliveries.add_endpoint(url.into());
    }

    /// The registered webhook endpoints.
    pub fn webhook_urls(&self) -> Vec<String> {
        self.state.deliveries.endpoints()
    }

    /// Emits an event of the environment through the delivery queue (one
    /// delivery per endpoint, retried on failure) and returns its envelope:
    /// `object` is the envelope's `object` (`"DirectoryUser"`,
    /// `"Connection"`, …).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), scalekit_emulator::EmulatorError> {
    /// let emulator = scalekit_emulator::Emulator::start().await?;
    /// let event = emulator.emit_event("organization.created", "Organization", "org_1", serde_json::json!({}));
    /// assert_eq!(event["type"], "organization.created");
    /// assert!(emulator.webhook_deliveries().is_empty()); // no endpoint registered
    /// # Ok(()) }
    /// ```
    pub fn emit_event(
        &self,
        event_type: &str,
        object: &str,
        organization_id: &str,
        data: Value,
    ) -> Value {
        self.state
            .deliveries
            .emit(event_type, object, organization_id, data)
    }

    /// Every webhook delivery so far, oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.state.deliveries.list()
    }

    /// Sends delivery `number` once more (same `webhook-id`), as the
    /// deliveries page's button does.
    pub fn resend_webhook_delivery(&self, number: u64) -> Result<(), EmulatorError> {
        self.state.deliveries.resend(number)
    }

    /// The directories (one per organization), with their SCIM endpoints
    /// and bearer secrets.
    pub fn directories(&self) -> Vec<Directory> {
        self.state.directories.list()
    }

    /// The users of a directory, as SCIM resources.
    pub fn directory_users(&self, directory_id: &str) -> Result<Vec<Value>, EmulatorError> {
        self.state
            .directories
            .users(directory_id)
            .ok_or(EmulatorError::UnknownDirectory)
    }

    /// The groups of a directory, as SCIM resources.
    pub fn directory_groups(&self, directory_id: &str) -> Result<Vec<Value>, EmulatorError> {
        self.state
            .directories
            .groups(directory_id)
            .ok_or(EmulatorError::UnknownDirectory)
    }

    /// Enables or disables a directory; a change emits
    /// `organization.directory_enabled` or `organization.directory_disabled`
    /// (the management API's directory toggles do the same).
    pub fn set_directory_enabled(
        &self,
        directory_id: &str,
        enabled: bool,
    ) -> Result<(), EmulatorError> {
        self.state.set_directory_enabled(directory_id, enabled)
    }

    /// Enables or disables an organization's SSO connection; a change emits
    /// `organization.sso_enabled` or `organization.sso_disabled` (the
    /// management API's connection toggles do the same). Its users cannot
    /// sign in (`access_denied`), nor be sent IdP-initiated logins, while it
    /// is disabled.
    pub fn set_connection_enabled(
        &self,
        connection_id: &str,
        enabled: bool,
    ) -> Result<(), EmulatorError> {
        self.state.set_connection_enabled(connection_id, enabled)
    }

    /// Whether a connection is enabled (connections start enabled).
    pub fn connection_enabled(&self, connection_id: &str) -> bool {
        self.state.connection_enabled(connection_id)
    }

    /// Resets every request counter to zero.
    pub fn reset_counters(&self) {
        for endpoint in EmulatorEndpoint::ALL {
            self.state.counters[endpoint.index()].store(0, Ordering::Relaxed);
        }
    }
}
