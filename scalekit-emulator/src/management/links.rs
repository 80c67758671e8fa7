//! The pages behind the links the API hands out: the admin portal
//! (`/portal/{link_id}`) and a connected account's authorization page
//! (`/connect/{account_id}?link_id=…`). The link is the credential; an
//! unknown or expired one answers `404`.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, json};

use super::{Pairs, Shared, query};
use crate::html::{esc, page};
use crate::{ids, now};

/// A portal link: the organization and the features it opens.
#[derive(Debug, Clone)]
pub(crate) struct PortalLink {
    pub(crate) organization_id: String,
    pub(crate) features: Vec<String>,
    pub(crate) expires: u64,
}

/// A magic link: the connected account it authorizes.
#[derive(Debug, Clone)]
pub(crate) struct MagicLink {
    pub(crate) account_id: String,
    pub(crate) expires: u64,
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "Link not found",
            &format!(
                "<p id=\"error\">This {} link is unknown or has expired.</p>",
                esc(what)
            ),
        )),
    )
        .into_response()
}

/// `GET /portal/{link_id}`: the organization's SSO connection and SCIM
/// directory, as the admin portal shows them to the customer's IT admin.
async fn portal(AxumState(state): AxumState<Shared>, Path(link_id): Path<String>) -> Response {
    let link = state
        .management
        .store()
        .portal_links
        .get(&link_id)
        .filter(|l| l.expires > now())
        .cloned();
    let Some(link) = link else {
        return not_found("admin portal");
    };
    let Some(org) = state.model.organization(&link.organization_id) else {
        return not_found("admin portal");
    };
    let all = link.features.is_empty();
    let mut body = format!(
        "<p id=\"organization\" data-id=\"{}\">Organization: {}</p>",
        esc(&org.id),
        esc(&org.name)
    );
    if all || link.features.iter().any(|f| f == "sso") {
        let enabled = state.connection_enabled(&org.connection_id);
        body.push_str(&format!(
            "<p id=\"sso\" data-enabled=\"{enabled}\">SSO connection {} (OIDC): {}</p>",
            esc(&org.connection_id),
            if enabled { "enabled" } else { "disabled" }
        ));
    }
    if all || link.features.iter().any(|f| f == "dir_sync") {
        for dir in state
            .directories
            .list()
            .into_iter()
            .filter(|d| d.organization_id == org.id)
        {
            body.push_str(&format!(
                "<p id=\"dir_sync\" data-enabled=\"{}\">SCIM endpoint: <code>{}</code>, bearer token: <code>{}</code></p>",
                dir.enabled,
                esc(&dir.endpoint),
                esc(&dir.bearer_token)
            ));
        }
    }
    Html(page("Admin portal", &body)).into_response()
}

/// The magic link `link_id` if it is valid for `account_id`.
fn magic_link(state: &Shared, account_id: &str, link_id: &str) -> Option<MagicLink> {
    state
        .management
        .store()
        .magic_links
        .get(link_id)
        .filter(|l| l.account_id == account_id && l.expires > now())
        .cloned()
}

/// `GET /connect/{account_id}?link_id=…`: the page on which the account's
/// owner authorizes it.
async fn connect_page(
    AxumState(state): AxumState<Shared>,
    Path(account_id): Path<String>,
    Pairs(pairs): Pairs,
) -> Response {
    let link_id = query(&pairs, "link_id").unwrap_or_default();
    if magic_link(&state, &account_id, link_id).is_none() {
        return not_found("authorization");
    }
    let Some((connector, identifier)) = state.management.account_key(&account_id) else {
        return not_found("authorization");
    };
    Html(page(
        "Connect your account",
        &format!(
            "<p>Allow the agent to use your {c} account ({i})?</p>\
             <form method=\"post\"><input type=\"hidden\" name=\"link_id\" value=\"{l}\">\
             <button type=\"submit\" id=\"authorize\">Authorize</button></form>",
            c = esc(&connector),
            i = esc(&identifier),
            l = esc(link_id),
        ),
    ))
    .into_response()
}

/// `POST /connect/{account_id}` (`link_id`): the account gets (emulated)
/// OAuth credentials and becomes `ACTIVE`.
async fn connect_submit(
    AxumState(state): AxumState<Shared>,
    Path(account_id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Ok(Form(pairs)) = form else {
        return crate::html::error_page("The form could not be read.");
    };
    let link_id = query(&pairs, "link_id").unwrap_or_default();
    if magic_link(&state, &account_id, link_id).is_none() {
        return not_found("authorization");
    }
    let mut details = Map::new();
    details.insert(
        "oauth_token".into(),
        json!({"access_token": ids::id("emulated"), "scopes": []}),
    );
    if !state.management.authorize_account(&account_id, details) {
        return not_found("authorization");
    }
    Html(page(
        "Connected",
        "<p id=\"connected\">Your account is connected. You can close this page.</p>",
    ))
    .into_response()
}

/// The link pages' routes.
pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/portal/{link_id}", get(portal)).route(
        "/connect/{account_id}",
        get(connect_page).post(connect_submit),
    )
}
