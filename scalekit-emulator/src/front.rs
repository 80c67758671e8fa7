//! The emulator's front page (`GET /`): what this environment is and what
//! it serves: its ids, each user with their organization and roles, the
//! IdP-initiated sign-in links, the webhook deliveries, the SCIM
//! directories and MCP servers; and the favicon.

use axum::extract::State as AxumState;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::State;
use crate::html::{esc, page};
use crate::urls::with_query;

type Shared = std::sync::Arc<State>;

/// The emulator's icon (a key on the platform's blue), also linked from
/// every page's head.
pub(crate) const FAVICON_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">\
<rect width=\"32\" height=\"32\" rx=\"7\" fill=\"#2f54eb\"/>\
<circle cx=\"12\" cy=\"16\" r=\"5\" fill=\"none\" stroke=\"#fff\" stroke-width=\"3\"/>\
<path d=\"M17 16h10M23 16v4M26 16v3\" stroke=\"#fff\" stroke-width=\"3\" stroke-linecap=\"round\"/></svg>";

/// `GET /favicon.ico`.
pub(crate) async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        FAVICON_SVG,
    )
        .into_response()
}

/// `GET /`.
pub(crate) async fn front_page(AxumState(state): AxumState<Shared>) -> Response {
    let iss = &state.issuer;
    let mut body = format!(
        "<p>A local Scalekit environment for development and tests: the same \
         routes as the platform, with made-up users and keys.</p>\
         <dl id=\"environment\"><dt>Environment URL</dt><dd><code>{iss}</code></dd>\
         <dt>Client id</dt><dd><code id=\"client-id\">{client}</code></dd>\
         <dt>Discovery</dt><dd><a href=\"/.well-known/openid-configuration\">/.well-known/openid-configuration</a> \
         · <a href=\"/keys\">/keys</a></dd></dl>",
        iss = esc(iss),
        client = esc(&state.client_id),
    );
    let orgs = state.model.organizations();
    body.push_str(
        "<h2>Users</h2><p class=\"muted\">Each can sign in on the hosted sign-in page; \
         the link starts a sign-in from the identity provider (IdP-initiated).</p>\
         <table id=\"users\"><tr><th>Email</th><th>Organization</th><th>Roles</th><th></th></tr>",
    );
    for user in state.model.users() {
        let org = orgs
            .iter()
            .find(|o| o.id == user.organization_id)
            .map_or(user.organization_id.as_str(), |o| o.name.as_str());
        let link = with_query(
            &format!("{iss}/sso/idp-initiated"),
            &[("login_hint", user.email.as_str())],
        );
        body.push_str(&format!(
            "<tr><td>{email}</td><td>{org}</td><td>{roles}</td>\
             <td><a class=\"idp-initiated\" href=\"{link}\">Sign in from the IdP</a></td></tr>",
            email = esc(&user.email),
            org = esc(org),
            roles = esc(&user.roles.join(", ")),
            link = esc(&link),
        ));
    }
    body.push_str("</table>");
    body.push_str(
        "<h2>Webhooks</h2><p><a id=\"deliveries\" href=\"/deliveries\">The deliveries</a> \
         (each event sent, its answers, a button to send it again).</p>",
    );
    let directories = state.directories.list();
    if !directories.is_empty() {
        body.push_str("<h2>SCIM directories</h2><ul id=\"directories\">");
        for directory in directories {
            body.push_str(&format!(
                "<li><code>{}</code> ({}){}</li>",
                esc(&directory.endpoint),
                esc(&directory.organization_id),
                if directory.enabled {
                    ""
                } else {
                    " — disabled"
                },
            ));
        }
        body.push_str("</ul>");
    }
    let servers = state.mcp.servers();
    if !servers.is_empty() {
        body.push_str("<h2>MCP servers</h2><ul id=\"mcp-servers\">");
        for server in servers {
            body.push_str(&format!(
                "<li>{name}: resource <code>{resource}</code>, authorization server \
                 <code>{auth}</code></li>",
                name = esc(&server.name),
                resource = esc(&server.resource),
                auth = esc(&server.authorization_server),
            ));
        }
        body.push_str("</ul>");
    }
    Html(page("Scalekit emulator", &body)).into_response()
}
