//! What the two full-stack examples (axum and actix-web) share: their auth
//! configuration and their pages, so that both answer byte for byte alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scalekit_core::session::AuthMethod;
use scalekit_core::session::SessionDataError;
use scalekit_core::web::{
    AuthPaths, Authenticated, LoginDecision, PasswordlessLogin, ProtectedResource, SessionStoreUrl,
    WebAuth, escape_html,
};
use scalekit_core::webhook::{WebhookEvent, WebhookVerifier};
use scalekit_core::{ConfigError, ScalekitConfig};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What the application keeps in each session, sealed with it: set at
/// sign-in by the after-login hook, changed through
/// `PUT /api/preferences`, kept across refreshes, gone at logout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// The dashboard's colour theme.
    pub theme: Theme,
    /// When this session signed in (Unix seconds).
    pub signed_in_at: u64,
}

/// A colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Dark text on light backgrounds.
    Light,
    /// Light text on dark backgrounds.
    Dark,
}

impl Theme {
    fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// The after-login hook: every session starts with the light theme and
/// the time of its sign-in.
pub fn start_session_with_preferences(web: WebAuth) -> WebAuth {
    web.after_login(|_auth| async move {
        let signed_in_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        LoginDecision::allow().with_data(&Preferences {
            theme: Theme::Light,
            signed_in_at,
        })
    })
}

/// An answer of `/api/preferences`: status and JSON body.
pub type JsonAnswer = (u16, Value);

/// `GET /api/preferences`: the session's preferences (`null` without).
pub fn preferences(current: Option<&Preferences>) -> Value {
    json!({ "preferences": current })
}

/// `PUT /api/preferences` with `{"theme": "light"|"dark"}`: the new
/// preferences, or `415` unless the body is `application/json`, or `400`
/// for another body. (A cross-site page cannot send it with the session:
/// a cross-site `PUT` with a JSON body needs a CORS preflight the
/// application never grants, and the session cookie is `SameSite=Lax`.)
pub fn update_preferences(
    current: Option<&Preferences>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Preferences, JsonAnswer> {
    let is_json = content_type
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err((
            415,
            json!({"error": "invalid_request", "error_description": "Send application/json."}),
        ));
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Update {
        theme: Theme,
    }
    let update: Update = serde_json::from_slice(body).map_err(|_| {
        (
            400,
            json!({"error": "invalid_request", "error_description": "Send {\"theme\": \"light\"} or {\"theme\": \"dark\"}."}),
        )
    })?;
    Ok(Preferences {
        theme: update.theme,
        signed_in_at: current.map_or(0, |p| p.signed_in_at),
    })
}

/// The answer when the session could not be written.
pub fn preferences_not_saved(err: &SessionDataError) -> JsonAnswer {
    tracing::warn!(error = %err, "preferences not saved");
    let description = match err.status() {
        401 => "Your session has ended: sign in again.",
        503 => "The session store is unavailable: try again shortly.",
        413 => "The preferences are too large.",
        _ => "The preferences could not be saved.",
    };
    (
        err.status(),
        json!({"error": "preferences_not_saved", "error_description": description}),
    )
}

/// The auth of a full-stack application served at `base_url`: sessions in
/// the store `session_store` names when given (Redis, a Redis cluster or
/// PostgreSQL, shared by every instance with the same `session_secret`),
/// else cookie-only; the hosted login and passwordless sign-in by email
/// (`/auth/passwordless`); the RFC 9728 document naming the base URL as the
/// resource; webhooks when a secret is given.
pub fn web_auth(
    config: ScalekitConfig,
    base_url: &str,
    session_secret: &str,
    webhook_secret: Option<&str>,
    session_store: Option<&SessionStoreUrl>,
    realm: &str,
) -> Result<WebAuth, ConfigError> {
    let mut web = WebAuth::with_cookie_sessions(config, base_url, session_secret)?
        .realm(realm)
        // A sign-in without a return target lands on the dashboard.
        .paths(AuthPaths {
            after_login: "/dashboard".into(),
            ..AuthPaths::default()
        })
        .protected_resource(ProtectedResource {
            resource: base_url.to_owned(),
            scopes_supported: vec!["admin:read".into()],
            documentation: None,
        })
        .passwordless(PasswordlessLogin::new());
    if let Some(secret) = webhook_secret {
        let verifier = WebhookVerifier::new(secret).map_err(|_| {
            ConfigError::new(
                "SCALEKIT_WEBHOOK_SECRET",
                scalekit_core::ConfigProblem::NotAWebhookSecret,
            )
        })?;
        web = web.webhooks(verifier);
    }
    if let Some(store) = session_store {
        web = web.sessions_in(store)?;
    }
    Ok(start_session_with_preferences(web))
}

/// Organization names by id, read through the management API and kept for
/// ten minutes: the access token carries only the organization's id.
#[derive(Clone)]
pub struct OrganizationNames {
    client: Option<Arc<scalekit_management::ManagementClient>>,
    known: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

impl std::fmt::Debug for OrganizationNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrganizationNames").finish_non_exhaustive()
    }
}

impl OrganizationNames {
    const KEEP: Duration = Duration::from_secs(600);

    /// Names read with the application's own credentials.
    pub fn new(web: &WebAuth) -> Self {
        OrganizationNames {
            client: scalekit_management::ManagementClient::new(web.scalekit())
                .ok()
                .map(Arc::new),
            known: Arc::default(),
        }
    }

    /// The name of organization `id`; `None` when it cannot be read now
    /// (the page shows the id alone).
    pub async fn name(&self, id: &str) -> Option<String> {
        if let Ok(known) = self.known.lock()
            && let Some((name, at)) = known.get(id)
            && at.elapsed() < Self::KEEP
        {
            return Some(name.clone());
        }
        let client = self.client.as_ref()?;
        let organizations = client.organizations();
        let read = organizations.get_organization(id);
        let organization = match tokio::time::timeout(Duration::from_secs(2), read).await {
            Ok(Ok(organization)) => organization,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "the organization's name could not be read");
                return None;
            }
            Err(_) => return None,
        };
        if let Ok(mut known) = self.known.lock() {
            known.retain(|_, (_, at)| at.elapsed() < Self::KEEP);
            known.insert(
                id.to_owned(),
                (organization.display_name.clone(), Instant::now()),
            );
        }
        Some(organization.display_name)
    }
}

/// The stylesheet of every page: inline, no external assets.
const STYLE: &str = "\
:root{color-scheme:light;--ink:#1d2433;--muted:#5b6478;--line:#e3e7ef;--bg:#f6f7fb;--accent:#3f51f5}\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:var(--bg)}\
header{display:flex;align-items:center;justify-content:space-between;padding:14px 28px;background:#fff;border-bottom:1px solid var(--line)}\
header .brand{font-weight:600}\
header nav{display:flex;gap:18px;white-space:nowrap}\
@media (max-width:480px){header{padding:12px 14px}header nav{gap:12px;font-size:.95rem}main{margin:20px auto;padding:0 12px}.hero{padding:24px 16px}}\
main{max-width:980px;margin:32px auto;padding:0 20px}\
h1{font-size:1.6rem;margin:0 0 4px}\
.lead{color:var(--muted);margin:0 0 24px}\
a{color:var(--accent);text-decoration:none}\
a:hover{text-decoration:underline}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:16px}\
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 20px}\
.card h2{font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;color:var(--muted);margin:0 0 10px}\
dl{margin:0}\
dt{color:var(--muted);font-size:.85rem}\
dd{margin:0 0 10px;overflow-wrap:anywhere}\
dd:last-child{margin-bottom:0}\
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:0;padding:0;list-style:none}\
.chips li{background:#eef0fe;color:#2c3bb8;border-radius:999px;padding:2px 10px;font-size:.85rem}\
.none{color:var(--muted);font-style:italic}\
.error{color:#c62828;margin:8px 0 0}body.dark .error{color:#ff8a80}\
.actions{display:flex;gap:8px;flex-wrap:wrap}\
.button{display:inline-block;background:var(--accent);color:#fff;border:0;border-radius:8px;padding:10px 18px;font:inherit;cursor:pointer}\
.button:hover{background:#2f40d8;text-decoration:none}\
.hero{background:#fff;border:1px solid var(--line);border-radius:12px;padding:36px;text-align:center}\
body.dark{--ink:#e6e9f2;--muted:#a3abc2;--line:#2c3450;--bg:#121829;color-scheme:dark}\
body.dark header,body.dark .card,body.dark .hero{background:#1a2136}\
pre{background:#10152a;color:#d8def5;border-radius:8px;padding:14px;overflow:auto;font-size:.85rem;min-height:3em;margin:12px 0 0}\
";

/// Calls `/api/me` and `/api/admin` and shows the answers as text (never
/// as HTML); switches the theme, saying so when the change was not saved.
const SCRIPT: &str = "\
const call=async(path,out)=>{out.textContent='Calling '+path+'\u{2026}';\
try{const r=await fetch(path,{credentials:'same-origin',headers:{accept:'application/json'}});\
const text=await r.text();let shown=text;try{shown=JSON.stringify(JSON.parse(text),null,2)}catch(_){}\
out.textContent=r.status+' '+r.statusText+'\\n'+shown}catch(_){out.textContent='The request failed.'}};\
document.getElementById('call-me').addEventListener('click',()=>call('/api/me',document.getElementById('me-output')));\
document.getElementById('call-admin').addEventListener('click',()=>call('/api/admin',document.getElementById('me-output')));\
const toggle=document.getElementById('toggle-theme');if(toggle){toggle.addEventListener('click',async()=>{\
const failed=document.getElementById('theme-error');failed.textContent='';\
try{const r=await fetch('/api/preferences',{method:'PUT',credentials:'same-origin',headers:{'content-type':'application/json'},\
body:JSON.stringify({theme:toggle.dataset.next})});if(r.ok){location.reload();return}\
let said='The theme could not be saved.';try{const b=await r.json();if(b.error_description){said=b.error_description}}catch(_){}\
failed.textContent=said}catch(_){failed.textContent='The theme could not be saved: the application did not answer.'}})}";

fn page(title: &str, nav: &str, body: &str) -> String {
    themed_page(title, nav, body, Theme::Light)
}

fn themed_page(title: &str, nav: &str, body: &str, theme: Theme) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · Scalekit example</title><style>{STYLE}</style></head>\
         <body class=\"{theme}\"><header><span class=\"brand\">Scalekit example</span><nav>{nav}</nav></header>\
         <main>{body}</main></body></html>",
        theme = theme.as_str()
    )
}

const SIGNED_IN_NAV: &str = "<a href=\"/\">Home</a><a href=\"/dashboard\">Dashboard</a><a href=\"/auth/logout\" id=\"logout\">Sign out</a>";

/// Whether a session that signed in at `signed_in_at` (Unix seconds) did
/// so over two minutes ago: a visitor coming back, not one who has just
/// signed in.
fn returning(signed_in_at: u64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    now.saturating_sub(signed_in_at) > 120
}

/// `GET /`: the signed-in user, or a sign-in link.
pub fn home(user: Option<&Authenticated>) -> String {
    match user {
        Some(user) => {
            // The session's data, read once for the greeting and the theme.
            let prefs = user.session_data::<Preferences>().ok().flatten();
            themed_page(
                "Home",
                SIGNED_IN_NAV,
                &format!(
                    "<section class=\"hero\"><h1 id=\"welcome\">{welcome}</h1><p class=\"lead\">Signed in as <strong id=\"email\">{email}</strong>.</p>\
                 <p><a class=\"button\" href=\"/dashboard\">Open the dashboard</a></p></section>",
                    welcome = if prefs.is_some_and(|p| returning(p.signed_in_at)) {
                        "Welcome back"
                    } else {
                        "Welcome"
                    },
                    email = escape_html(user.email().unwrap_or(user.subject()))
                ),
                prefs.map_or(Theme::Light, |p| p.theme),
            )
        }
        None => page(
            "Home",
            "<a href=\"/auth/login\">Sign in</a>",
            "<section class=\"hero\"><h1>You are not signed in</h1>\
             <p class=\"lead\">Sign in through Scalekit to see your dashboard: your user, organization, roles, permissions and session.</p>\
             <p class=\"actions\" style=\"justify-content:center\"><a class=\"button\" href=\"/auth/login\" id=\"login\">Sign in</a>\
             <a class=\"button\" href=\"/auth/passwordless\" id=\"login-passwordless\">Sign in with an email code</a></p></section>",
        ),
    }
}

/// A list of values as chips, or "none".
fn chips(id: &str, values: &[String]) -> String {
    if values.is_empty() {
        return format!("<p id=\"{id}\" class=\"none\">none</p>");
    }
    let items: String = values
        .iter()
        .map(|v| format!("<li>{}</li>", escape_html(v)))
        .collect();
    format!("<ul id=\"{id}\" class=\"chips\">{items}</ul>")
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

fn optional(value: Option<&str>) -> String {
    value.map_or_else(
        || "<span class=\"none\">unknown</span>".to_owned(),
        escape_html,
    )
}

/// When the caller's session ends unless used again, under `web`'s policy.
pub fn session_expires_at(web: &WebAuth, user: &Authenticated) -> Option<u64> {
    user.session_expires_at(web.sessions().session_policy())
}

/// `GET /dashboard`: the user, organization, roles, permissions, session
/// expiry, and a button that calls `/api/me`. Everything shown is escaped.
pub fn dashboard(
    user: &Authenticated,
    session_expires_at: Option<u64>,
    organization_name: Option<&str>,
) -> String {
    let claims = &user.claims;
    let name = user.user().and_then(|u| {
        u.name
            .clone()
            .or_else(|| match (&u.given_name, &u.family_name) {
                (Some(given), Some(family)) => Some(format!("{given} {family}")),
                (given, family) => given.clone().or_else(|| family.clone()),
            })
    });
    let session_end = session_expires_at
        .and_then(|at| i64::try_from(at).ok())
        .map(utc);
    let prefs = user.session_data::<Preferences>().ok().flatten();
    let theme = prefs.map_or(Theme::Light, |p| p.theme);
    let next = match theme {
        Theme::Light => Theme::Dark,
        Theme::Dark => Theme::Light,
    };
    let signed_in = prefs
        .and_then(|p| i64::try_from(p.signed_in_at).ok())
        .map(utc);
    let body = format!(
        "<h1>Dashboard</h1><p class=\"lead\">What this application knows about you, from your verified tokens.</p>\
         <div class=\"grid\">\
         <section class=\"card\"><h2>User</h2><dl>\
         <dt>Name</dt><dd id=\"name\">{name}</dd>\
         <dt>Email</dt><dd id=\"email\">{email}</dd>\
         <dt>User id</dt><dd id=\"user-id\">{subject}</dd>\
         </dl></section>\
         <section class=\"card\"><h2>Organization</h2><dl>\
         <dt>Name</dt><dd id=\"organization-name\">{organization_name}</dd>\
         <dt>Organization id</dt><dd id=\"organization\">{organization}</dd>\
         <dt>Connection</dt><dd id=\"connection\">{connection}</dd>\
         </dl></section>\
         <section class=\"card\"><h2>Roles</h2>{roles}</section>\
         <section class=\"card\"><h2>Permissions</h2>{permissions}</section>\
         <section class=\"card\"><h2>Session</h2><dl>\
         <dt>Signed in with</dt><dd id=\"auth-method\">{auth_method}</dd>\
         <dt>Access token expires</dt><dd id=\"token-expiry\">{token_expiry}</dd>\
         <dt>Session expires</dt><dd id=\"session-expiry\">{session_expiry}</dd>\
         </dl></section>\
         <section class=\"card\"><h2>Preferences (kept in your session)</h2><dl>\
         <dt>Signed in</dt><dd id=\"signed-in-at\">{signed_in}</dd>\
         <dt>Theme</dt><dd id=\"theme\">{theme}</dd>\
         </dl><p><button class=\"button\" id=\"toggle-theme\" type=\"button\" data-next=\"{next}\">Switch to the {next} theme</button></p>\
         <p class=\"error\" id=\"theme-error\" role=\"alert\"></p></section>\
         </div>\
         <section class=\"card\" style=\"margin-top:16px\"><h2>API</h2>\
         <p class=\"actions\"><button class=\"button\" id=\"call-me\" type=\"button\">Call /api/me</button> \
         <button class=\"button\" id=\"call-admin\" type=\"button\">Call /api/admin</button></p>\
         <pre id=\"me-output\">Press a button to call the API with your session: /api/admin needs the admin:read permission.</pre></section>\
         <script>{SCRIPT}</script>",
        name = optional(name.as_deref()),
        email = escape_html(user.email().unwrap_or(user.subject())),
        subject = escape_html(user.subject()),
        organization = optional(user.organization_id()),
        organization_name = optional(organization_name),
        connection = optional(user.connection_id()),
        roles = chips("roles", &claims.roles),
        permissions = chips("permissions", &claims.permissions),
        auth_method = match user.auth_method() {
            Some(AuthMethod::Passwordless) => "an email code or link (passwordless)",
            _ => "Scalekit (hosted login)",
        },
        token_expiry = if user.auth_method() == Some(AuthMethod::Passwordless) {
            "<span class=\"none\">no platform token</span>".to_owned()
        } else {
            escape_html(&utc(claims.exp))
        },
        session_expiry = optional(session_end.as_deref()),
        signed_in = optional(signed_in.as_deref()),
        theme = theme.as_str(),
        next = next.as_str(),
    );
    themed_page("Dashboard", SIGNED_IN_NAV, &body, theme)
}

/// `GET /api/me`: `auth_method` (session callers: `oauth` or
/// `passwordless`), `sub`, `email` and `connection_id` (if known), `oid`,
/// `roles`, `permissions`, `scopes` (the keys in this order: sorted).
#[derive(Debug, Serialize)]
pub struct Me<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    oid: Option<&'a str>,
    permissions: &'a [String],
    roles: &'a [String],
    scopes: Vec<&'a str>,
    sub: &'a str,
}

/// The body of `GET /api/me`, borrowed from the caller.
pub fn me(user: &Authenticated) -> Me<'_> {
    let claims = &user.claims;
    Me {
        auth_method: user.auth_method().map(AuthMethod::as_str),
        connection_id: user.connection_id(),
        email: user.email(),
        oid: claims.organization_id(),
        permissions: &claims.permissions,
        roles: &claims.roles,
        scopes: {
            // The granted scopes, sorted and unique (as `claims.scopes()`),
            // borrowed.
            let mut scopes: Vec<&str> = claims.granted_scopes().collect();
            scopes.sort_unstable();
            scopes.dedup();
            scopes
        },
        sub: user.subject(),
    }
}

/// `GET /api/admin`.
pub fn admin() -> Value {
    json!({"ok": true})
}

/// `POST /webhooks/scalekit`: the event type received.
pub fn webhook_received(event: &WebhookEvent) -> Value {
    tracing::info!(event = %event.id, kind = event.event_type.as_str(), "webhook received");
    json!({"received": event.event_type.as_str()})
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_796_191_800), "2026-12-02 06:10 UTC");
    }
}
