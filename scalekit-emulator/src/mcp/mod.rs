//! The emulated environment as the OAuth authorization server of MCP
//! servers (PROTOCOL.md §10).
//!
//! Each registered MCP server (a resource identifier such as
//! `http://localhost:3000/mcp`) gets an id `res_…` and an authorization
//! server URL `{environment}/resources/{res_id}`, which is also the `iss` of
//! its tokens. For each server the emulator serves:
//!
//! - RFC 8414 metadata at `{AS}/.well-known/oauth-authorization-server` and
//!   at the path-inserted `{environment}/.well-known/oauth-authorization-server/resources/{res_id}`;
//! - RFC 7591 dynamic client registration at `{AS}/register` (public clients
//!   with `token_endpoint_auth_method: none`, confidential clients with
//!   `client_secret_basic` or `client_secret_post`), with the RFC 7591 error
//!   answers;
//! - the authorization code flow through the shared `/oauth/authorize` and
//!   `/oauth/token`: PKCE `S256` is required, `resource` (RFC 8707) must name
//!   the server, the hosted page shows the server's name and the requested
//!   scopes;
//! - access tokens with `aud` = [resource, `res_…`] and the granted scopes in
//!   `scope`, refresh tokens (rotated) when `offline_access` is asked for and
//!   allowed, and `client_credentials` for confidential clients (agents).

mod register;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use aws_lc_rs::digest;
use axum::Json;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::html::{error_page, esc, page};
use crate::ids::random_bytes;
use crate::model::SeedUser;
use crate::oauth::{ClientAuth, NO_STORE, client_credentials, invalid_client, oauth_error};
use crate::urls::{redirect, with_query};
use crate::{EmulatorError, State, ids, lock, now};

type Shared = std::sync::Arc<State>;
type Params = HashMap<String, String>;

/// The scope that asks for a refresh token.
const OFFLINE_ACCESS: &str = "offline_access";

/// An MCP server to register with the emulator (see
/// [`EmulatorBuilder::mcp_server`](crate::EmulatorBuilder::mcp_server)).
///
/// ```
/// use scalekit_emulator::McpServer;
///
/// let server = McpServer::new("http://localhost:3000/mcp")
///     .name("Acme tools")
///     .scopes(["mcp:tools", "mcp:admin"]);
/// assert_eq!(server.resource(), "http://localhost:3000/mcp");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServer {
    resource: String,
    name: Option<String>,
    scopes: Vec<String>,
    offline_access: bool,
}

impl McpServer {
    /// A server with this resource identifier, no declared scopes (any scope
    /// a client asks for is granted), and offline access allowed.
    pub fn new(resource: impl Into<String>) -> Self {
        McpServer {
            resource: resource.into(),
            name: None,
            scopes: Vec::new(),
            offline_access: true,
        }
    }

    /// The name the sign-in page shows (default: the resource identifier).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The scopes of the server: `scopes_supported`, and the only ones a
    /// client can be granted.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Whether `offline_access` (refresh tokens) is allowed (default yes).
    pub fn offline_access(mut self, allowed: bool) -> Self {
        self.offline_access = allowed;
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }
}

impl From<&str> for McpServer {
    fn from(resource: &str) -> Self {
        McpServer::new(resource)
    }
}

impl From<String> for McpServer {
    fn from(resource: String) -> Self {
        McpServer::new(resource)
    }
}

/// A registered MCP server, as the platform's dashboard shows it.
///
/// Its `Display` is the line the emulator's binary prints at start:
/// `MCP server: <resource> id res_<…> authorization server <AS_URL>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServerInfo {
    /// The resource identifier (the `aud` of its tokens).
    pub resource: String,
    /// Its id, `res_…` (also in `aud`).
    pub id: String,
    /// Its authorization server URL, `{environment}/resources/{id}`: the
    /// `issuer` of its metadata and the `iss` of its tokens.
    pub authorization_server: String,
    /// The name the sign-in page shows.
    pub name: String,
    /// Its declared scopes.
    pub scopes: Vec<String>,
    /// Whether `offline_access` is allowed.
    pub offline_access: bool,
}

impl std::fmt::Display for McpServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MCP server: {} id {} authorization server {}",
            self.resource, self.id, self.authorization_server
        )
    }
}

impl McpServerInfo {
    /// The scopes the authorization server metadata lists.
    fn scopes_supported(&self) -> Vec<String> {
        let mut scopes = self.scopes.clone();
        if self.offline_access && !scopes.iter().any(|s| s == OFFLINE_ACCESS) {
            scopes.push(OFFLINE_ACCESS.to_owned());
        }
        scopes
    }

    /// The part of `requested` that can be granted (in request order,
    /// without duplicates).
    fn grant(&self, requested: &str) -> Vec<String> {
        let mut granted: Vec<String> = Vec::new();
        for scope in requested.split(' ').filter(|s| !s.is_empty()) {
            let allowed = if scope == OFFLINE_ACCESS {
                self.offline_access
            } else {
                self.scopes.is_empty() || self.scopes.iter().any(|s| s == scope)
            };
            if allowed && !granted.iter().any(|g| g == scope) {
                granted.push(scope.to_owned());
            }
        }
        granted
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthMethod {
    None,
    SecretBasic,
    SecretPost,
}

impl AuthMethod {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(AuthMethod::None),
            "client_secret_basic" => Some(AuthMethod::SecretBasic),
            "client_secret_post" => Some(AuthMethod::SecretPost),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::SecretBasic => "client_secret_basic",
            AuthMethod::SecretPost => "client_secret_post",
        }
    }
}

#[derive(Debug, Clone)]
struct Client {
    client_id: String,
    secret: Option<String>,
    method: AuthMethod,
    name: String,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    scope: Option<String>,
    server_id: String,
}

struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    server_id: String,
    user: SeedUser,
    scopes: Vec<String>,
    issued: Instant,
}

struct Refresh {
    client_id: String,
    server_id: String,
    user: SeedUser,
    sid: String,
    scopes: Vec<String>,
}

/// What the emulator knows of MCP servers and their clients.
#[derive(Default)]
pub(crate) struct McpState {
    servers: Mutex<Vec<McpServerInfo>>,
    clients: Mutex<HashMap<String, Client>>,
    codes: Mutex<HashMap<String, Code>>,
    refresh_tokens: Mutex<HashMap<String, Refresh>>,
}

impl McpState {
    pub(crate) fn register(&self, issuer: &str, server: McpServer) -> McpServerInfo {
        let id = ids::id("res");
        let info = McpServerInfo {
            name: server.name.unwrap_or_else(|| server.resource.clone()),
            authorization_server: format!("{issuer}/resources/{id}"),
            resource: server.resource,
            id,
            scopes: server.scopes,
            offline_access: server.offline_access,
        };
        tracing::info!(resource = %info.resource, id = %info.id, "MCP server registered");
        lock(&self.servers).push(info.clone());
        info
    }

    pub(crate) fn servers(&self) -> Vec<McpServerInfo> {
        lock(&self.servers).clone()
    }

    fn server(&self, id: &str) -> Option<McpServerInfo> {
        lock(&self.servers).iter().find(|s| s.id == id).cloned()
    }

    pub(crate) fn server_for(&self, resource: &str) -> Option<McpServerInfo> {
        lock(&self.servers)
            .iter()
            .find(|s| s.resource == resource)
            .cloned()
    }

    fn client(&self, id: &str) -> Option<Client> {
        lock(&self.clients).get(id).cloned()
    }
}

/// The claims of an access token for `server`.
pub(crate) fn access_claims(
    state: &State,
    server: &McpServerInfo,
    client_id: &str,
    subject: &str,
    user: Option<(&SeedUser, &str)>,
    scopes: &[String],
) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": server.authorization_server,
        "aud": [server.resource, server.id],
        "client_id": client_id,
        "sub": subject,
        "jti": ids::id("tkn"),
        "iat": now,
        "nbf": now,
        "exp": now + state.access_token_ttl().as_secs(),
        "scope": scopes.join(" "),
    });
    if let (Some((user, sid)), Some(map)) = (user, claims.as_object_mut()) {
        map.insert("sid".into(), json!(sid));
        map.insert("oid".into(), json!(user.organization_id));
    }
    claims
}

/// Mints an access token of `server` for the seeded user with all the
/// server's scopes.
pub(crate) fn mint_user_token(
    state: &State,
    server: &McpServerInfo,
    overrides: Value,
) -> Result<String, EmulatorError> {
    let user = state.model.first_user();
    let sid = ids::id("ses");
    let claims = access_claims(
        state,
        server,
        &state.client_id,
        &user.id,
        Some((&user, &sid)),
        &server.scopes,
    );
    state.sign(&json!({}), &crate::merge(claims, overrides))
}

pub(crate) fn routes() -> axum::Router<Shared> {
    axum::Router::new()
        .route(
            "/resources/{res_id}/.well-known/oauth-authorization-server",
            get(metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server/resources/{res_id}",
            get(metadata),
        )
        .route("/resources/{res_id}/register", post(register::register))
}

fn not_found() -> Response {
    oauth_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no MCP server with this id",
    )
}

/// RFC 8414 authorization server metadata of one MCP server.
async fn metadata(AxumState(state): AxumState<Shared>, Path(res_id): Path<String>) -> Response {
    let Some(server) = state.mcp.server(&res_id) else {
        return not_found();
    };
    let env = &state.issuer;
    Json(json!({
        "issuer": server.authorization_server,
        "authorization_endpoint": format!("{env}/oauth/authorize"),
        "token_endpoint": format!("{env}/oauth/token"),
        "jwks_uri": format!("{env}/keys"),
        "registration_endpoint": format!("{}/register", server.authorization_server),
        "scopes_supported": server.scopes_supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The parameters the sign-in form carries through.
const CARRIED: [&str; 10] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "login_hint",
    "prompt",
];

/// A checked authorization request of a registered MCP client.
struct Checked {
    client: Client,
    server: McpServerInfo,
    redirect_uri: String,
    challenge: String,
    scopes: Vec<String>,
}

/// Sends an error back to the client's redirect URI, with `state` and `iss`.
fn fail(
    server: &McpServerInfo,
    params: &Params,
    redirect_uri: &str,
    error: &str,
    description: &str,
) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = param(params, "state") {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &server.authorization_server));
    redirect(&with_query(redirect_uri, &pairs))
}

fn page_error(message: &str) -> Box<Response> {
    Box::new(error_page(message))
}

fn check(state: &State, client: Client, params: &Params) -> Result<Checked, Box<Response>> {
    let Some(server) = state.mcp.server(&client.server_id) else {
        return Err(page_error("Unknown client."));
    };
    let Some(redirect_uri) = param(params, "redirect_uri") else {
        return Err(page_error("redirect_uri is required"));
    };
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(page_error(
            "The redirect_uri is not registered for this client.",
        ));
    }
    let fail = |error: &str, description: &str| {
        Box::new(fail(&server, params, redirect_uri, error, description))
    };
    if param(params, "response_type") != Some("code") {
        return Err(fail(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "the client may not use the authorization code grant",
        ));
    }
    let Some(challenge) = param(params, "code_challenge") else {
        return Err(fail(
            "invalid_request",
            "code_challenge is required (PKCE S256)",
        ));
    };
    if param(params, "code_challenge_method") != Some("S256") {
        return Err(fail(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    match param(params, "resource") {
        None => {
            return Err(fail(
                "invalid_target",
                "resource is required and must name the MCP server",
            ));
        }
        Some(resource) if resource != server.resource => {
            return Err(fail(
                "invalid_target",
                "resource does not name this client's MCP server",
            ));
        }
        Some(_) => {}
    }
    let requested = param(params, "scope")
        .map(str::to_owned)
        .or_else(|| client.scope.clone())
        .unwrap_or_else(|| server.scopes.join(" "));
    let scopes = server.grant(&requested);
    if scopes.is_empty() && !requested.trim().is_empty() {
        return Err(fail(
            "invalid_scope",
            "none of the requested scopes belongs to this MCP server",
        ));
    }
    Ok(Checked {
        redirect_uri: redirect_uri.to_owned(),
        challenge: challenge.to_owned(),
        client,
        server,
        scopes,
    })
}

/// The authorization endpoint for registered MCP clients: `None` when the
/// `client_id` is not one (the application's own flow handles it).
pub(crate) fn authorize(state: &State, params: &Params, submitted: bool) -> Option<Response> {
    let client = state.mcp.client(param(params, "client_id")?)?;
    let checked = match check(state, client, params) {
        Ok(checked) => checked,
        Err(response) => return Some(*response),
    };
    Some(if submitted {
        submit(state, params, checked)
    } else {
        sign_in_page(state, params, &checked)
    })
}

fn sign_in_page(state: &State, params: &Params, checked: &Checked) -> Response {
    let hint = param(params, "login_hint");
    let mut users = state.model.users();
    users.sort_by_key(|u| Some(u.email.as_str()) != hint);
    let orgs = state.model.organizations();
    let hidden: String = CARRIED
        .iter()
        .filter_map(|name| {
            param(params, name).map(|v| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    esc(v)
                )
            })
        })
        .collect();
    let scopes: String = checked
        .scopes
        .iter()
        .map(|s| format!("<li class=\"scope\">{}</li>", esc(s)))
        .collect();
    let mut body = format!(
        "<p id=\"mcp-request\"><strong id=\"mcp-client\">{client}</strong> asks to use \
         <strong id=\"mcp-server\">{server}</strong> <span class=\"muted\">({resource})</span> \
         on your behalf, with these scopes:</p><ul id=\"scopes\">{scopes}</ul>\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}",
        client = esc(&checked.client.name),
        server = esc(&checked.server.name),
        resource = esc(&checked.server.resource),
    );
    for user in &users {
        let org = orgs
            .iter()
            .find(|o| o.id == user.organization_id)
            .map(|o| o.name.as_str())
            .unwrap_or("");
        body.push_str(&format!(
            "<button type=\"submit\" name=\"user_id\" value=\"{id}\" data-email=\"{email}\">\
             Allow as {email} <span class=\"muted\">({org})</span></button>",
            id = esc(&user.id),
            email = esc(&user.email),
            org = esc(org),
        ));
    }
    body.push_str(
        "<button type=\"submit\" name=\"action\" value=\"deny\" id=\"deny\">Deny</button></form>",
    );
    Html(page(&format!("Sign in to {}", checked.server.name), &body)).into_response()
}

fn submit(state: &State, params: &Params, checked: Checked) -> Response {
    let fail = |error: &str, description: &str| {
        fail(
            &checked.server,
            params,
            &checked.redirect_uri,
            error,
            description,
        )
    };
    if param(params, "action") == Some("deny") {
        return fail("access_denied", "The user denied the request.");
    }
    let id = param(params, "user_id").unwrap_or_default();
    let Some(user) = state.model.users().into_iter().find(|u| u.id == id) else {
        return fail("access_denied", "Unknown user.");
    };
    let code = URL_SAFE_NO_PAD.encode(random_bytes());
    lock(&state.mcp.codes).insert(
        code.clone(),
        Code {
            client_id: checked.client.client_id.clone(),
            redirect_uri: checked.redirect_uri.clone(),
            challenge: checked.challenge.clone(),
            server_id: checked.server.id.clone(),
            user,
            scopes: checked.scopes.clone(),
            issued: Instant::now(),
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = param(params, "state") {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &checked.server.authorization_server));
    redirect(&with_query(&checked.redirect_uri, &pairs))
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// The token endpoint for registered MCP clients: `None` when the request
/// is not from one (the application's and M2M clients' grants handle it).
pub(crate) fn token(state: &State, headers: &HeaderMap, form: &Params) -> Option<Response> {
    let (client_id, presented) = match client_credentials(headers, form) {
        Some(auth) => {
            let method = if auth.basic {
                AuthMethod::SecretBasic
            } else {
                AuthMethod::SecretPost
            };
            (auth.id.clone(), Some((method, auth)))
        }
        None => (param(form, "client_id")?.to_owned(), None),
    };
    let client = state.mcp.client(&client_id)?;
    Some(token_for(state, headers, &client, presented, form))
}

fn token_for(
    state: &State,
    headers: &HeaderMap,
    client: &Client,
    presented: Option<(AuthMethod, ClientAuth)>,
    form: &Params,
) -> Response {
    // A public client authenticates with nothing; a confidential one with
    // its secret, the way it registered.
    match (&client.secret, presented) {
        (None, None) if client.method == AuthMethod::None => {}
        (Some(secret), Some((method, presented)))
            if method == client.method && presented.secret_is(secret) => {}
        _ => return invalid_client(headers),
    }
    let Some(server) = state.mcp.server(&client.server_id) else {
        return invalid_client(headers);
    };
    let Some(grant) = param(form, "grant_type") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        );
    };
    if !matches!(
        grant,
        "authorization_code" | "refresh_token" | "client_credentials"
    ) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "the grant type is not supported",
        );
    }
    if !client.grant_types.iter().any(|g| g == grant) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "the client is not registered for this grant type",
        );
    }
    if let Some(resource) = param(form, "resource")
        && resource != server.resource
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource does not name this client's MCP server",
        );
    }
    match grant {
        "authorization_code" => code_grant(state, client, &server, form),
        "refresh_token" => refresh_grant(state, client, &server, form),
        _ => agent_grant(state, client, &server, form),
    }
}

fn code_grant(state: &State, client: &Client, server: &McpServerInfo, form: &Params) -> Response {
    let Some(code) = param(form, "code") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is required",
        );
    };
    // Single use: the first attempt consumes the code, valid or not.
    let Some(record) = lock(&state.mcp.codes).remove(code) else {
        return invalid_grant("the code is invalid or was already used");
    };
    if record.issued.elapsed() > state.code_ttl() {
        return invalid_grant("the code has expired");
    }
    if record.client_id != client.client_id || record.server_id != server.id {
        return invalid_grant("the code was issued to another client");
    }
    if param(form, "redirect_uri") != Some(record.redirect_uri.as_str()) {
        return invalid_grant("redirect_uri does not match the authorization request");
    }
    let Some(verifier) = param(form, "code_verifier") else {
        return invalid_grant("code_verifier is required");
    };
    let digest = digest::digest(&digest::SHA256, verifier.as_bytes());
    if URL_SAFE_NO_PAD.encode(digest.as_ref()) != record.challenge {
        return invalid_grant("the PKCE verifier does not match the challenge");
    }
    let sid = ids::id("ses");
    user_tokens(state, client, server, &record.user, &sid, &record.scopes)
}

fn refresh_grant(
    state: &State,
    client: &Client,
    server: &McpServerInfo,
    form: &Params,
) -> Response {
    let Some(token) = param(form, "refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        );
    };
    // Rotation: the old refresh token dies with this use.
    let Some(record) = lock(&state.mcp.refresh_tokens).remove(token) else {
        return invalid_grant("the refresh token is invalid");
    };
    if record.client_id != client.client_id || record.server_id != server.id {
        return invalid_grant("the refresh token was issued to another client");
    }
    // A narrower scope may be asked for, never a wider one.
    let scopes = match param(form, "scope") {
        Some(asked) => {
            let asked: HashSet<&str> = asked.split(' ').filter(|s| !s.is_empty()).collect();
            if asked.iter().any(|s| !record.scopes.iter().any(|g| g == s)) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "a requested scope was not granted",
                );
            }
            record
                .scopes
                .iter()
                .filter(|s| asked.contains(s.as_str()))
                .cloned()
                .collect()
        }
        None => record.scopes.clone(),
    };
    user_tokens(state, client, server, &record.user, &record.sid, &scopes)
}

fn agent_grant(state: &State, client: &Client, server: &McpServerInfo, form: &Params) -> Response {
    let requested = param(form, "scope")
        .map(str::to_owned)
        .or_else(|| client.scope.clone())
        .unwrap_or_else(|| server.scopes.join(" "));
    let scopes: Vec<String> = server
        .grant(&requested)
        .into_iter()
        .filter(|s| s != OFFLINE_ACCESS)
        .collect();
    if scopes.is_empty() && !requested.trim().is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "none of the requested scopes belongs to this MCP server",
        );
    }
    let claims = access_claims(
        state,
        server,
        &client.client_id,
        &client.client_id,
        None,
        &scopes,
    );
    match state.sign(&json!({}), &claims) {
        Ok(access_token) => token_answer(state, &access_token, &scopes, None),
        Err(_) => signing_failed(),
    }
}

fn signing_failed() -> Response {
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "the token could not be signed",
    )
}

fn user_tokens(
    state: &State,
    client: &Client,
    server: &McpServerInfo,
    user: &SeedUser,
    sid: &str,
    scopes: &[String],
) -> Response {
    let claims = access_claims(
        state,
        server,
        &client.client_id,
        &user.id,
        Some((user, sid)),
        scopes,
    );
    let Ok(access_token) = state.sign(&json!({}), &claims) else {
        return signing_failed();
    };
    let refresh = (scopes.iter().any(|s| s == OFFLINE_ACCESS)
        && client.grant_types.iter().any(|g| g == "refresh_token"))
    .then(|| {
        let token = format!("rt_{}", URL_SAFE_NO_PAD.encode(random_bytes()));
        lock(&state.mcp.refresh_tokens).insert(
            token.clone(),
            Refresh {
                client_id: client.client_id.clone(),
                server_id: server.id.clone(),
                user: user.clone(),
                sid: sid.to_owned(),
                scopes: scopes.to_vec(),
            },
        );
        token
    });
    token_answer(state, &access_token, scopes, refresh.as_deref())
}

fn token_answer(
    state: &State,
    access_token: &str,
    scopes: &[String],
    refresh_token: Option<&str>,
) -> Response {
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": state.access_token_ttl().as_secs(),
        "scope": scopes.join(" "),
    });
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    (NO_STORE, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(scopes: &[&str], offline: bool) -> McpServerInfo {
        McpServerInfo {
            resource: "http://localhost:3000/mcp".into(),
            id: "res_1".into(),
            authorization_server: "http://127.0.0.1:1/resources/res_1".into(),
            name: "Tools".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            offline_access: offline,
        }
    }

    #[test]
    fn grants_only_declared_scopes_and_offline_access_when_allowed() {
        let server = info(&["mcp:tools", "mcp:admin"], true);
        assert_eq!(
            server.grant("mcp:tools openid offline_access mcp:tools"),
            ["mcp:tools", "offline_access"]
        );
        assert!(
            info(&["mcp:tools"], false)
                .grant("offline_access")
                .is_empty()
        );
        // No declared scopes: whatever is asked.
        assert_eq!(info(&[], true).grant("a b"), ["a", "b"]);
        assert_eq!(
            server.scopes_supported(),
            ["mcp:tools", "mcp:admin", "offline_access"]
        );
    }

    #[test]
    fn the_startup_line_names_the_resource_id_and_authorization_server() {
        assert_eq!(
            info(&[], true).to_string(),
            "MCP server: http://localhost:3000/mcp id res_1 authorization server http://127.0.0.1:1/resources/res_1"
        );
    }
}
