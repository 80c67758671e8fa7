//! What the two full-stack examples (axum and actix-web) share: their auth
//! configuration and their pages, so that both answer byte for byte alike.

use scalekit_core::web::{Authenticated, ProtectedResource, WebAuth, escape_html};
use scalekit_core::webhook::{WebhookEvent, WebhookVerifier};
use scalekit_core::{ConfigError, ScalekitConfig};
use serde::Serialize;
use serde_json::{Value, json};

/// The auth of a full-stack application served at `base_url`: sessions in
/// the Redis of `redis_url` when given (shared by every instance with the
/// same `session_secret`), else cookie-only; the RFC 9728 document naming
/// the base URL as the resource; webhooks when a secret is given.
pub fn web_auth(
    config: ScalekitConfig,
    base_url: &str,
    session_secret: &str,
    webhook_secret: Option<&str>,
    redis_url: Option<&str>,
    realm: &str,
) -> Result<WebAuth, ConfigError> {
    let mut web = WebAuth::with_cookie_sessions(config, base_url, session_secret)?
        .realm(realm)
        .protected_resource(ProtectedResource {
            resource: base_url.to_owned(),
            scopes_supported: vec!["admin:read".into()],
            documentation: None,
        });
    if let Some(secret) = webhook_secret {
        let verifier = WebhookVerifier::new(secret).map_err(|_| {
            ConfigError::new(
                "SCALEKIT_WEBHOOK_SECRET",
                scalekit_core::ConfigProblem::NotAWebhookSecret,
            )
        })?;
        web = web.webhooks(verifier);
    }
    if let Some(url) = redis_url {
        web = web.redis_sessions(url)?;
    }
    Ok(web)
}

fn page(body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Scalekit example</title></head><body>{body}</body></html>"
    )
}

/// `GET /`: the signed-in user, or a sign-in link.
pub fn home(user: Option<&Authenticated>) -> String {
    match user {
        Some(user) => page(&format!(
            "<p>Signed in as <strong id=\"email\">{}</strong>.</p><p><a href=\"/dashboard\">Dashboard</a> · <a href=\"/auth/logout\" id=\"logout\">Sign out</a></p>",
            escape_html(user.email().unwrap_or(user.subject()))
        )),
        None => page(
            "<p>You are not signed in.</p><p><a href=\"/auth/login\" id=\"login\">Sign in</a></p>",
        ),
    }
}

/// `GET /dashboard`: the user's email.
pub fn dashboard(user: &Authenticated) -> String {
    page(&format!(
        "<h1>Dashboard</h1><p id=\"email\">{}</p><p><a href=\"/auth/logout\" id=\"logout\">Sign out</a></p>",
        escape_html(user.email().unwrap_or(user.subject()))
    ))
}

/// `GET /api/me`: `sub`, `email` and `connection_id` (if known), `oid`,
/// `roles`, `permissions`, `scopes` (the keys in this order: sorted).
#[derive(Debug, Serialize)]
pub struct Me<'a> {
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
        connection_id: user.connection_id(),
        email: user.email(),
        oid: claims.organization_id(),
        permissions: &claims.permissions,
        roles: &claims.roles,
        scopes: {
            // The granted scopes, sorted and unique (as `claims.scopes()`),
            // borrowed.
            let mut scopes: Vec<&str> = claims
                .scopes
                .iter()
                .chain(claims.scp.0.iter())
                .map(String::as_str)
                .chain(claims.scope.iter().flat_map(|s| s.split(' ')))
                .filter(|s| !s.is_empty())
                .collect();
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
