//! The interactive flows: the hosted sign-in page, authorization codes,
//! refresh-token rotation, logout and IdP-initiated login.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::html::{error_page, esc, page};
use crate::ids::random_bytes;
use crate::model::SeedUser;
use crate::oauth::{NO_STORE, client_credentials, invalid_client, oauth_error};
use crate::urls::{redirect, with_query};
use crate::{EmulatorError, State, ids, lock, now};

type Shared = std::sync::Arc<State>;
type Params = HashMap<String, String>;

struct AuthCode {
    client_id: String,
    redirect_uri: String,
    user: SeedUser,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    issued: Instant,
    /// When the user authenticated (Unix seconds), told in the ID token
    /// when the request asked for `max_age`.
    auth_time: Option<u64>,
}

/// What a used authorization code issued, to revoke on a replay.
struct UsedCode {
    family: String,
    sid: String,
    at: Instant,
}

/// The emulator's own sign-in session in a browser (its cookie): who
/// signed in there and when. `prompt=none` answers from it.
#[derive(Clone)]
struct BrowserSession {
    user_id: String,
    auth_time: u64,
}

/// The emulator's browser-session cookie.
const BROWSER_COOKIE: &str = "sk_emulator_session";

/// How long a used code is remembered, to catch a replay.
const USED_CODE_MEMORY: Duration = Duration::from_secs(600);

struct RefreshRecord {
    family: String,
    user: SeedUser,
    sid: String,
    scope: String,
    rotated_at: Option<Instant>,
    auth_time: Option<u64>,
}

/// The application client's flows: its registered URIs, the authorization
/// codes and the refresh-token families (the users, organizations and
/// sessions are the model's).
pub(crate) struct FlowState {
    redirect_uris: Mutex<Vec<String>>,
    post_logout_redirect_uris: Mutex<Vec<String>>,
    initiate_login_uri: Mutex<Option<String>>,
    codes: Mutex<HashMap<String, AuthCode>>,
    used_codes: Mutex<HashMap<String, UsedCode>>,
    browser_sessions: Mutex<HashMap<String, BrowserSession>>,
    /// IdP-initiated sign-ins started lately: email, connection, when.
    idp_starts: Mutex<Vec<(String, String, Instant)>>,
    refresh_tokens: Mutex<HashMap<String, RefreshRecord>>,
    revoked_families: Mutex<HashSet<String>>,
    refresh_grace: Duration,
}

impl FlowState {
    pub(crate) fn new(
        redirect_uris: Vec<String>,
        post_logout_redirect_uris: Vec<String>,
        initiate_login_uri: Option<String>,
        refresh_grace: Duration,
    ) -> Self {
        FlowState {
            redirect_uris: Mutex::new(redirect_uris),
            post_logout_redirect_uris: Mutex::new(post_logout_redirect_uris),
            initiate_login_uri: Mutex::new(initiate_login_uri),
            codes: Mutex::new(HashMap::new()),
            used_codes: Mutex::new(HashMap::new()),
            browser_sessions: Mutex::new(HashMap::new()),
            idp_starts: Mutex::new(Vec::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            revoked_families: Mutex::new(HashSet::new()),
            refresh_grace,
        }
    }

    /// Revokes the refresh tokens issued in session `sid`.
    pub(crate) fn revoke_refresh_tokens_of(&self, sid: &str) {
        let families: Vec<String> = lock(&self.refresh_tokens)
            .values()
            .filter(|r| r.sid == sid)
            .map(|r| r.family.clone())
            .collect();
        lock(&self.revoked_families).extend(families);
    }

    pub(crate) fn add_redirect_uri(&self, uri: String) {
        lock(&self.redirect_uris).push(uri);
    }

    pub(crate) fn add_post_logout_redirect_uri(&self, uri: String) {
        lock(&self.post_logout_redirect_uris).push(uri);
    }

    pub(crate) fn default_redirect_uri(&self) -> Option<String> {
        lock(&self.redirect_uris).first().cloned()
    }

    pub(crate) fn set_initiate_login_uri(&self, uri: Option<String>) {
        *lock(&self.initiate_login_uri) = uri;
    }

    /// Remembers an IdP-initiated sign-in of `email` through `connection`
    /// (for five minutes, as its token lives).
    fn idp_started(&self, email: &str, connection: &str) {
        let mut starts = lock(&self.idp_starts);
        starts.retain(|(_, _, at)| at.elapsed() < Duration::from_secs(300));
        starts.push((email.to_owned(), connection.to_owned(), Instant::now()));
    }

    /// Whether an authorization request for `email` through `connection`
    /// follows an IdP-initiated sign-in of the last five minutes.
    fn started_by_idp(&self, email: Option<&str>, connection: Option<&str>) -> bool {
        let (Some(email), Some(connection)) = (email, connection) else {
            return false;
        };
        lock(&self.idp_starts).iter().any(|(e, c, at)| {
            e == email && c == connection && at.elapsed() < Duration::from_secs(300)
        })
    }

    /// Where IdP-initiated logins and invitations land: the initiate-login
    /// URI when one is set, else the first redirect URI.
    pub(crate) fn initiate_login_target(&self) -> Option<String> {
        lock(&self.initiate_login_uri)
            .clone()
            .or_else(|| self.default_redirect_uri())
    }
}

fn get<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// A checked authorization request: the client and redirect URI are known
/// (so errors from here on may be redirected).
struct AuthRequest<'a> {
    params: &'a Params,
    redirect_uri: &'a str,
}

impl AuthRequest<'_> {
    fn fail(&self, error: &str, description: &str) -> Response {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(state) = get(self.params, "state") {
            pairs.push(("state", state));
        }
        redirect(&with_query(self.redirect_uri, &pairs))
    }
}

fn check_request<'a>(state: &State, params: &'a Params) -> Result<AuthRequest<'a>, Box<Response>> {
    let client_id =
        get(params, "client_id").ok_or_else(|| Box::new(error_page("client_id is required")))?;
    if client_id != state.client_id {
        return Err(Box::new(error_page("Unknown client.")));
    }
    let redirect_uri = get(params, "redirect_uri")
        .ok_or_else(|| Box::new(error_page("redirect_uri is required")))?;
    if !lock(&state.flows.redirect_uris)
        .iter()
        .any(|u| u == redirect_uri)
    {
        return Err(Box::new(error_page(
            "The redirect_uri is not registered for this client.",
        )));
    }
    let request = AuthRequest {
        params,
        redirect_uri,
    };
    if get(params, "response_type") != Some("code") {
        return Err(Box::new(
            request.fail("unsupported_response_type", "response_type must be code"),
        ));
    }
    if get(params, "code_challenge").is_some()
        && get(params, "code_challenge_method") != Some("S256")
    {
        return Err(Box::new(
            request.fail("invalid_request", "code_challenge_method must be S256"),
        ));
    }
    Ok(request)
}

const CARRIED: [&str; 14] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "organization_id",
    "connection_id",
    "provider",
    "prompt",
    "max_age",
];

pub(crate) async fn authorize_page(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if let Some(response) = crate::mcp::authorize(&state, &params, false) {
        return response;
    }
    let request = match check_request(&state, &params) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let max_age = match get(&params, "max_age").map(str::parse::<u64>) {
        None => None,
        Some(Ok(seconds)) => Some(seconds),
        Some(Err(_)) => {
            return request.fail("invalid_request", "max_age must be a number of seconds");
        }
    };
    let prompts: Vec<&str> = get(&params, "prompt")
        .map(|p| p.split(' ').filter(|v| !v.is_empty()).collect())
        .unwrap_or_default();
    if prompts.contains(&"none") {
        if prompts.len() > 1 {
            return request.fail(
                "invalid_request",
                "prompt=none cannot be combined with another value",
            );
        }
        return silent_sign_in(&state, &headers, &request, max_age);
    }
    let model = &state.model;
    let orgs = model.organizations();
    let org_filter: Option<String> = named_organization(&state, &params).or_else(|| {
        get(&params, "domain_hint").and_then(|d| {
            orgs.iter()
                .find(|o| o.domain.eq_ignore_ascii_case(d))
                .map(|o| o.id.clone())
        })
    });
    let hint = get(&params, "login_hint");
    // The members of the organization asked for (as its members), or all.
    let mut users: Vec<SeedUser> = model
        .users()
        .into_iter()
        .filter_map(|u| match org_filter.as_deref() {
            Some(o) => state.management.as_member_of(&u, o),
            None => Some(u),
        })
        .collect();
    users.sort_by_key(|u| Some(u.email.as_str()) != hint);

    let hidden: String = CARRIED
        .iter()
        .filter_map(|name| {
            get(&params, name).map(|v| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    esc(v)
                )
            })
        })
        .collect();
    let via = get(&params, "provider")
        .map(|p| format!(" with {}", esc(p)))
        .unwrap_or_default();
    let mut body = String::new();
    // Which application asks: the host it sends the browser back to.
    let asking = url::Url::parse(request.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_owned(),
            })
        })
        .unwrap_or_default();
    body.push_str(&format!(
        "<p id=\"asking\">Sign in to <strong>{}</strong> <span class=\"muted\">(client {})</span></p>",
        esc(&asking),
        esc(&state.client_id)
    ));
    if state
        .flows
        .started_by_idp(hint, get(&params, "connection_id"))
    {
        body.push_str(
            "<p id=\"idp-initiated\">This sign-in was started from your identity provider.</p>",
        );
    }
    body.push_str("<form method=\"post\" action=\"/oauth/authorize\">");
    body.push_str(&hidden);
    let prompt = get(&params, "prompt");
    if prompt == Some("create") {
        body.push_str(
            "<p><label>Email <input type=\"email\" name=\"email\" id=\"email\"></label></p>\
             <button type=\"submit\" name=\"action\" value=\"create\" id=\"create\">Create account</button>",
        );
    }
    for user in &users {
        let org = orgs
            .iter()
            .find(|o| o.id == user.organization_id)
            .map(|o| o.name.as_str())
            .unwrap_or("");
        let roles = if user.roles.is_empty() {
            String::new()
        } else {
            format!(" · {}", user.roles.join(", "))
        };
        let selected = if Some(user.email.as_str()) == hint {
            " data-hinted=\"true\" autofocus"
        } else {
            ""
        };
        body.push_str(&format!(
            "<button type=\"submit\" name=\"user_id\" value=\"{id}\" data-email=\"{email}\"{selected}>\
             Continue{via} as {email} <span class=\"muted\">({org}{roles})</span></button>",
            id = esc(&user.id),
            email = esc(&user.email),
            org = esc(org),
            roles = esc(&roles),
        ));
    }
    if users.is_empty() {
        body.push_str("<p id=\"no-users\">No user matches this sign-in request.</p>");
    }
    body.push_str(
        "<button type=\"submit\" name=\"action\" value=\"deny\" id=\"deny\">Deny</button></form>\
         <p class=\"muted\" id=\"deny-explained\">Deny goes back to the application without signing in \
         (it receives <code>error=access_denied</code>).</p>",
    );
    let title = match prompt {
        Some("create") => "Create your account",
        Some("login") => "Sign in again",
        Some("select_account") => "Choose an account",
        Some("consent") => "Allow access",
        _ => "Sign in",
    };
    let _ = request;
    Html(page(title, &body)).into_response()
}

pub(crate) async fn authorize_submit(
    AxumState(state): AxumState<Shared>,
    form: Result<Form<Params>, FormRejection>,
) -> Response {
    let Ok(Form(params)) = form else {
        return error_page("The form could not be read.");
    };
    if let Some(response) = crate::mcp::authorize(&state, &params, true) {
        return response;
    }
    let request = match check_request(&state, &params) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let model = &state.model;
    let user = match get(&params, "action") {
        Some("deny") => {
            return request.fail("access_denied", "The user denied the request.");
        }
        Some("create") => {
            let Some(email) = get(&params, "email").filter(|e| e.contains('@')) else {
                return request.fail("invalid_request", "An email address is required.");
            };
            if let Some(existing) = model.user_by_email(email) {
                existing
            } else {
                let organization_id = get(&params, "organization_id")
                    .and_then(|o| model.organization(o))
                    .map(|o| o.id)
                    .unwrap_or_else(|| state.user.organization_id.clone());
                let local = email.split('@').next().unwrap_or(email);
                // The organization's default member role.
                let (roles, permissions) = state.management.default_membership(&organization_id);
                let user = SeedUser {
                    id: ids::id("usr"),
                    email: email.to_owned(),
                    given_name: local.to_owned(),
                    family_name: String::new(),
                    organization_id,
                    roles,
                    permissions,
                };
                model.add_user(user.clone());
                user
            }
        }
        _ => {
            let id = get(&params, "user_id").unwrap_or_default();
            let Some(user) = model.users().into_iter().find(|u| u.id == id) else {
                return request.fail("access_denied", "Unknown user.");
            };
            // Signing in to a named organization the user is a member of:
            // that membership's roles.
            named_organization(&state, &params)
                .and_then(|o| state.management.as_member_of(&user, &o))
                .unwrap_or(user)
        }
    };
    if !state.connection_enabled_for(&user) {
        return request.fail(
            "connection_not_active",
            "The configured connection is not active",
        );
    }
    // The browser is now signed in to the emulator (for `prompt=none`).
    let now = now();
    let session_id = URL_SAFE_NO_PAD.encode(random_bytes());
    lock(&state.flows.browser_sessions).insert(
        session_id.clone(),
        BrowserSession {
            user_id: user.id.clone(),
            auth_time: now,
        },
    );
    let auth_time = get(&params, "max_age").is_some().then_some(now);
    let mut response = issue_code(&state, &request, user, auth_time);
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{BROWSER_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax"
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The organization an authorization request names (`organization_id`, or
/// the organization of its `connection_id`).
fn named_organization(state: &State, params: &Params) -> Option<String> {
    get(params, "organization_id")
        .map(str::to_owned)
        .or_else(|| {
            get(params, "connection_id").and_then(|c| {
                state
                    .model
                    .organizations()
                    .into_iter()
                    .find(|o| o.connection_id == c)
                    .map(|o| o.id)
            })
        })
}

/// An authorization code for `user`, sent back to the client.
fn issue_code(
    state: &State,
    request: &AuthRequest<'_>,
    user: SeedUser,
    auth_time: Option<u64>,
) -> Response {
    let params = request.params;
    let code = URL_SAFE_NO_PAD.encode(random_bytes());
    lock(&state.flows.codes).insert(
        code.clone(),
        AuthCode {
            client_id: state.client_id.clone(),
            redirect_uri: request.redirect_uri.to_owned(),
            user,
            scope: get(params, "scope").unwrap_or("openid").to_owned(),
            nonce: get(params, "nonce").map(str::to_owned),
            code_challenge: get(params, "code_challenge").map(str::to_owned),
            issued: Instant::now(),
            auth_time,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = get(params, "state") {
        pairs.push(("state", s));
    }
    redirect(&with_query(request.redirect_uri, &pairs))
}

/// The browser session a request's emulator cookie names, and that
/// cookie's value.
fn browser_session(state: &State, headers: &HeaderMap) -> Option<(String, BrowserSession)> {
    let id = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(BROWSER_COOKIE)?
                .strip_prefix('=')
                .map(str::to_owned)
        })?;
    let session = lock(&state.flows.browser_sessions).get(&id).cloned()?;
    Some((id, session))
}

/// `prompt=none`: no page. A code when the browser is signed in to the
/// emulator (within `max_age`, as a member of the organization asked for),
/// else `error=login_required`.
fn silent_sign_in(
    state: &State,
    headers: &HeaderMap,
    request: &AuthRequest<'_>,
    max_age: Option<u64>,
) -> Response {
    let now = now();
    let signed_in = browser_session(state, headers)
        .map(|(_, session)| session)
        .filter(|session| max_age.is_none_or(|max| now.saturating_sub(session.auth_time) <= max))
        .and_then(|session| {
            let user = state
                .model
                .users()
                .into_iter()
                .find(|u| u.id == session.user_id)?;
            let user = match named_organization(state, request.params) {
                Some(org) => state.management.as_member_of(&user, &org)?,
                None => user,
            };
            Some((user, session.auth_time))
        })
        .filter(|(user, _)| state.connection_enabled_for(user));
    match signed_in {
        Some((user, auth_time)) => issue_code(state, request, user, max_age.map(|_| auth_time)),
        None => request.fail("login_required", "The user is not signed in."),
    }
}

/// Whether the request authenticates the application client.
fn app_client(state: &State, headers: &HeaderMap, form: &Params) -> bool {
    client_credentials(headers, form)
        .is_some_and(|auth| auth.id == state.client_id && auth.secret_is(&state.client_secret))
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub(crate) fn authorization_code_grant(
    state: &State,
    headers: &HeaderMap,
    form: &Params,
) -> Response {
    if !app_client(state, headers, form) {
        return invalid_client(headers);
    }
    let Some(code) = get(form, "code") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is required",
        );
    };
    // Single use: the code is consumed by the first attempt, valid or not.
    let Some(record) = lock(&state.flows.codes).remove(code) else {
        // A replay of a code that was exchanged: whoever holds it, the
        // tokens issued for it are revoked (RFC 6749 §4.1.2).
        if let Some(used) = lock(&state.flows.used_codes).remove(code) {
            tracing::warn!(family = %used.family, "authorization code replayed: its tokens are revoked");
            lock(&state.flows.revoked_families).insert(used.family);
            state.model.end_session_by_logout(&used.sid);
        }
        return invalid_grant("the code is invalid or was already used");
    };
    if record.issued.elapsed() > state.code_ttl() {
        return invalid_grant("the code has expired");
    }
    if record.client_id != state.client_id {
        return invalid_grant("the code was issued to another client");
    }
    if get(form, "redirect_uri") != Some(record.redirect_uri.as_str()) {
        return invalid_grant("redirect_uri does not match the authorization request");
    }
    match (&record.code_challenge, get(form, "code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let digest = digest::digest(&digest::SHA256, verifier.as_bytes());
            if URL_SAFE_NO_PAD.encode(digest.as_ref()) != *challenge {
                return invalid_grant("the PKCE verifier does not match the challenge");
            }
        }
        (Some(_), None) => return invalid_grant("code_verifier is required"),
        (None, Some(_)) => return invalid_grant("no PKCE challenge was sent for this code"),
        (None, None) => {}
    }
    // The user as they are now (roles may have changed since the sign-in);
    // a user deleted, or removed from the organization, in between gets no
    // tokens.
    let Some(user) = current_member(state, &record.user) else {
        return invalid_grant("the user is no longer a member of the organization");
    };
    let sid = ids::id("ses");
    let family = ids::id("rtf");
    state.model.record_session(&sid, &user);
    state.management.signed_in(&user.id, &user.organization_id);
    {
        let mut used = lock(&state.flows.used_codes);
        used.retain(|_, u| u.at.elapsed() < USED_CODE_MEMORY);
        used.insert(
            code.to_owned(),
            UsedCode {
                family: family.clone(),
                sid: sid.clone(),
                at: Instant::now(),
            },
        );
    }
    issue_user_tokens(
        state,
        &user,
        &sid,
        &record.scope,
        record.nonce.as_deref(),
        &family,
        Some(code),
        record.auth_time,
    )
}

pub(crate) fn refresh_token_grant(state: &State, headers: &HeaderMap, form: &Params) -> Response {
    if !app_client(state, headers, form) {
        return invalid_client(headers);
    }
    let Some(token) = get(form, "refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        );
    };
    let flows = &state.flows;
    let (user, sid, scope, family, auth_time) = {
        let mut tokens = lock(&flows.refresh_tokens);
        let Some(record) = tokens.get_mut(token) else {
            return invalid_grant("the refresh token is invalid");
        };
        if lock(&flows.revoked_families).contains(&record.family) {
            return invalid_grant("the refresh token was revoked");
        }
        match record.rotated_at {
            Some(at) if at.elapsed() > flows.refresh_grace => {
                // Reuse after the grace window: the token leaked or a client
                // raced itself. Revoke the whole family.
                lock(&flows.revoked_families).insert(record.family.clone());
                tracing::warn!(family = %record.family, "refresh token reuse: family revoked");
                return invalid_grant("the refresh token was already used");
            }
            Some(_) => {}
            None => record.rotated_at = Some(Instant::now()),
        }
        (
            record.user.clone(),
            record.sid.clone(),
            record.scope.clone(),
            record.family.clone(),
            record.auth_time,
        )
    };
    // The user as they are now: roles changed through the management API
    // show in the refreshed tokens.
    let Some(user) = current_member(state, &user) else {
        return invalid_grant("the user is no longer a member of the organization");
    };
    state.model.touch_session(&sid);
    issue_user_tokens(state, &user, &sid, &scope, None, &family, None, auth_time)
}

/// `user` (as signed in to their organization then) as they are now:
/// `None` if deleted or no longer a member of that organization.
fn current_member(state: &State, user: &SeedUser) -> Option<SeedUser> {
    let current = state.model.users().into_iter().find(|u| u.id == user.id)?;
    state
        .management
        .as_member_of(&current, &user.organization_id)
}

/// `at_hash` / `c_hash` (OpenID Connect Core 3.3.2.11): the base64url
/// left half of the SHA-256 of the value (RS256 hashes with SHA-256).
pub(crate) fn half_hash(value: &str) -> String {
    let digest = digest::digest(&digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

#[allow(clippy::too_many_arguments)]
fn issue_user_tokens(
    state: &State,
    user: &SeedUser,
    sid: &str,
    scope: &str,
    nonce: Option<&str>,
    family: &str,
    code: Option<&str>,
    auth_time: Option<u64>,
) -> Response {
    let now = now();
    let exp = now + state.access_token_ttl().as_secs();
    let access_claims = json!({
        "iss": state.issuer,
        "aud": [state.client_id],
        "client_id": state.client_id,
        "sub": user.id,
        "sid": sid,
        "jti": ids::id("tkn"),
        "iat": now,
        "nbf": now,
        "exp": exp,
        "oid": user.organization_id,
        "roles": user.roles,
        "permissions": user.permissions,
    });
    let Ok(access_token) = state.sign(&json!({}), &access_claims) else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "signing failed",
        );
    };
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": state.access_token_ttl().as_secs(),
        "scope": scope,
    });
    if scopes.contains(&"openid") {
        let mut id_claims = json!({
            "iss": state.issuer,
            "aud": [state.client_id],
            "azp": state.client_id,
            "sub": user.id,
            "oid": user.organization_id,
            "sid": sid,
            "amr": state.model.connection_of(user).into_iter().collect::<Vec<_>>(),
            "at_hash": half_hash(&access_token),
            "iat": now,
            "exp": exp,
            "email": user.email,
            "email_verified": true,
            "name": format!("{} {}", user.given_name, user.family_name).trim().to_owned(),
            "given_name": user.given_name,
            "family_name": user.family_name,
            "roles": user.roles,
            "permissions": user.permissions,
        });
        if let Some(map) = id_claims.as_object_mut() {
            if let Some(n) = nonce {
                map.insert("nonce".into(), json!(n));
            }
            // A code exchange has a code to bind; a refresh has none.
            if let Some(code) = code {
                map.insert("c_hash".into(), json!(half_hash(code)));
            }
            // Asked for with `max_age` (OpenID Connect Core 3.1.2.1), and
            // kept across refreshes (12.2).
            if let Some(auth_time) = auth_time {
                map.insert("auth_time".into(), json!(auth_time));
            }
        }
        let Ok(id_token) = state.sign(&json!({}), &id_claims) else {
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "signing failed",
            );
        };
        body["id_token"] = json!(id_token);
    }
    if scopes.contains(&"offline_access") {
        let refresh_token = format!("rt_{}", URL_SAFE_NO_PAD.encode(random_bytes()));
        lock(&state.flows.refresh_tokens).insert(
            refresh_token.clone(),
            RefreshRecord {
                family: family.to_owned(),
                user: user.clone(),
                sid: sid.to_owned(),
                scope: scope.to_owned(),
                rotated_at: None,
                auth_time,
            },
        );
        body["refresh_token"] = json!(refresh_token);
    }
    (NO_STORE, axum::Json(body)).into_response()
}

pub(crate) async fn logout(
    AxumState(state): AxumState<Shared>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let hint = match get(&params, "id_token_hint") {
        Some(hint) => match state.verify_own_token(hint) {
            Some(claims) => Some(claims),
            None => return error_page("The id_token_hint is not a valid ID token."),
        },
        None => None,
    };
    // RP-Initiated Logout 1.0 §2: a client_id must be this client's, and
    // the audience of the id_token_hint.
    if let Some(client_id) = get(&params, "client_id") {
        let in_hint = |claims: &Value| match claims.get("aud") {
            Some(Value::String(aud)) => aud == client_id,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
            _ => false,
        };
        if client_id != state.client_id || hint.as_ref().is_some_and(|c| !in_hint(c)) {
            return error_page("The client_id does not match the id_token_hint.");
        }
    }
    let sid = hint
        .as_ref()
        .and_then(|claims| claims.get("sid").and_then(Value::as_str).map(str::to_owned));
    let target = get(&params, "post_logout_redirect_uri");
    if let Some(target) = target
        && !lock(&state.flows.post_logout_redirect_uris)
            .iter()
            .any(|u| u == target)
    {
        return error_page("The post_logout_redirect_uri is not registered.");
    }
    if let Some(sid) = &sid {
        // End the session: its refresh tokens stop working.
        state.model.end_session_by_logout(sid);
        state.flows.revoke_refresh_tokens_of(sid);
    }
    // The browser is signed out of the emulator too.
    let browser = browser_session(&state, &headers).map(|(id, _)| id);
    if let Some(id) = &browser {
        lock(&state.flows.browser_sessions).remove(id);
    }
    let mut response = match target {
        Some(target) => {
            let pairs: Vec<(&str, &str)> = get(&params, "state")
                .map(|s| vec![("state", s)])
                .unwrap_or_default();
            redirect(&with_query(target, &pairs))
        }
        None => Html(page(
            "Signed out",
            "<p id=\"signed-out\">You are signed out.</p>",
        ))
        .into_response(),
    };
    if browser.is_some() {
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "sk_emulator_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
            ),
        );
    }
    response
}

/// The claims of an `idp_initiated_login` token for `user`.
pub(crate) fn idp_initiated_claims(
    state: &State,
    user: &SeedUser,
    relay_state: Option<&str>,
) -> Result<Value, EmulatorError> {
    let org = state
        .model
        .organization(&user.organization_id)
        .ok_or(EmulatorError::UnknownUser)?;
    let now = now();
    let mut claims = json!({
        "iss": state.issuer,
        "organization_id": org.id,
        "connection_id": org.connection_id,
        "login_hint": user.email,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    });
    if let (Some(relay), Some(map)) = (relay_state, claims.as_object_mut()) {
        map.insert("relay_state".into(), json!(relay));
    }
    Ok(claims)
}

pub(crate) fn idp_initiated_url(
    state: &State,
    email: &str,
    relay_state: Option<&str>,
) -> Result<String, EmulatorError> {
    let user = state
        .model
        .user_by_email(email)
        .ok_or(EmulatorError::UnknownUser)?;
    if !state.connection_enabled_for(&user) {
        return Err(EmulatorError::ConnectionDisabled);
    }
    let target = state
        .flows
        .initiate_login_target()
        .ok_or(EmulatorError::NoRedirectUri)?;
    let claims = idp_initiated_claims(state, &user, relay_state)?;
    let token = state.sign(&json!({}), &claims)?;
    if let Some(connection) = claims.get("connection_id").and_then(Value::as_str) {
        state.flows.idp_started(&user.email, connection);
    }
    Ok(with_query(&target, &[("idp_initiated_login", &token)]))
}

/// `GET /sso/idp-initiated?login_hint=…&relay_state=…`: what the identity
/// provider's dashboard tile does.
pub(crate) async fn idp_initiated(
    AxumState(state): AxumState<Shared>,
    Query(params): Query<Params>,
) -> Response {
    let email = get(&params, "login_hint")
        .unwrap_or(&state.user.email)
        .to_owned();
    match idp_initiated_url(&state, &email, get(&params, "relay_state")) {
        Ok(url) => redirect(&url),
        Err(err) => error_page(&err.to_string()),
    }
}
