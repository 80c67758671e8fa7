//! Connected accounts (an agent's authorized third-party connectors) and
//! tool execution.
//!
//! A connected account is identified by its `connector` and `identifier`.
//! It is `ACTIVE` once it has credentials (`authorization_details`),
//! `PENDING` before. The emulator runs no third-party tool: executing a
//! tool through an active account answers, deterministically,
//! `{"data": {"tool_name", "connector", "identifier", "input"}, "execution_id"}`
//! (the request echoed); an unknown account is `404`, one without
//! credentials `400 FAILED_PRECONDITION`.

use axum::body::Bytes;
use axum::extract::State as AxumState;
use serde_json::{Map, Value, json};

use super::{
    ApiError, ApiResult, Pairs, Shared, body_object, created, ok, opt_object, opt_str, paginate,
    query, req_str,
};
use crate::webhooks::rfc3339;
use crate::{ids, now};

/// How long a magic link is valid.
const MAGIC_LINK_TTL: u64 = 600;

/// A connected account.
#[derive(Debug, Clone)]
pub(crate) struct AccountRecord {
    id: String,
    connector: String,
    identifier: String,
    authorization_details: Map<String, Value>,
    create_time: u64,
    update_time: u64,
}

impl AccountRecord {
    fn status(&self) -> &'static str {
        if self.authorization_details.is_empty() {
            "PENDING"
        } else {
            "ACTIVE"
        }
    }

    fn authorization_type(&self) -> &'static str {
        let d = &self.authorization_details;
        if d.contains_key("api_key") || d.contains_key("static_auth") {
            "API_KEY"
        } else {
            "OAUTH2"
        }
    }

    /// The account without its credentials.
    fn view(&self) -> Value {
        json!({
            "id": self.id,
            "connector": self.connector,
            "identifier": self.identifier,
            "status": self.status(),
            "authorization_type": self.authorization_type(),
            "create_time": rfc3339(self.create_time),
            "update_time": rfc3339(self.update_time),
        })
    }
}

impl super::Management {
    /// The connector and identifier of account `id`.
    pub(super) fn account_key(&self, id: &str) -> Option<(String, String)> {
        self.store()
            .accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| (a.connector.clone(), a.identifier.clone()))
    }

    /// Gives account `id` credentials (it becomes `ACTIVE`); false when
    /// there is no such account.
    pub(super) fn authorize_account(&self, id: &str, details: Map<String, Value>) -> bool {
        match self.store().accounts.iter_mut().find(|a| a.id == id) {
            Some(account) => {
                account.authorization_details = details;
                account.update_time = now();
                true
            }
            None => false,
        }
    }
}

/// `connector` and `identifier`, both required.
fn key(map: &Map<String, Value>) -> Result<(String, String), ApiError> {
    Ok((req_str(map, "connector")?, req_str(map, "identifier")?))
}

/// `GET /api/v1/connected_accounts?connector=…&identifier=…`.
pub(super) async fn list(AxumState(state): AxumState<Shared>, Pairs(pairs): Pairs) -> ApiResult {
    let connector = query(&pairs, "connector").filter(|c| !c.is_empty());
    let identifier = query(&pairs, "identifier").filter(|i| !i.is_empty());
    let views: Vec<Value> = state
        .management
        .store()
        .accounts
        .iter()
        .filter(|a| connector.is_none_or(|c| a.connector == c))
        .filter(|a| identifier.is_none_or(|i| a.identifier == i))
        .map(AccountRecord::view)
        .collect();
    let page = paginate(views, &pairs, "connected_accounts")?;
    ok(json!({
        "connected_accounts": page.items,
        "next_page_token": page.next_page_token,
        "total_size": page.total_size,
    }))
}

/// `POST /api/v1/connected_accounts`: `201`; `409` if the connector has an
/// account with this identifier already.
pub(super) async fn create(AxumState(state): AxumState<Shared>, body: Bytes) -> ApiResult {
    let map = body_object(&body)?;
    let (connector, identifier) = key(&map)?;
    let details = opt_object(&map, "authorization_details")?.unwrap_or_default();
    let mut store = state.management.store();
    if store
        .accounts
        .iter()
        .any(|a| a.connector == connector && a.identifier == identifier)
    {
        return Err(ApiError::already_exists(
            "identifier",
            "the connector has an account with this identifier",
        ));
    }
    let now = now();
    let account = AccountRecord {
        id: ids::id("ca"),
        connector,
        identifier,
        authorization_details: details,
        create_time: now,
        update_time: now,
    };
    store.accounts.push(account.clone());
    created(account.view())
}

/// `PUT /api/v1/connected_accounts`: replaces an account's credentials
/// (`authorization_details` required); the account becomes `ACTIVE`.
pub(super) async fn update_credentials(
    AxumState(state): AxumState<Shared>,
    body: Bytes,
) -> ApiResult {
    let map = body_object(&body)?;
    let (connector, identifier) = key(&map)?;
    let details = opt_object(&map, "authorization_details")?
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("authorization_details", "authorization_details is required")
        })?;
    let mut store = state.management.store();
    let account = store
        .accounts
        .iter_mut()
        .find(|a| a.connector == connector && a.identifier == identifier)
        .ok_or_else(|| ApiError::not_found("connected_account"))?;
    account.authorization_details = details;
    account.update_time = now();
    ok(account.view())
}

/// `POST /api/v1/connected_accounts/magic_link`: a link (valid 10 minutes)
/// to the page on which the account's owner authorizes it.
pub(super) async fn magic_link(AxumState(state): AxumState<Shared>, body: Bytes) -> ApiResult {
    let map = body_object(&body)?;
    let (connector, identifier) = key(&map)?;
    let mut store = state.management.store();
    let account_id = store
        .accounts
        .iter()
        .find(|a| a.connector == connector && a.identifier == identifier)
        .map(|a| a.id.clone())
        .ok_or_else(|| ApiError::not_found("connected_account"))?;
    let link_id = ids::id("lnk");
    let expires = now() + MAGIC_LINK_TTL;
    store.magic_links.insert(
        link_id.clone(),
        super::links::MagicLink {
            account_id: account_id.clone(),
            expires,
        },
    );
    let link = crate::urls::with_query(
        &format!("{}/connect/{account_id}", state.issuer),
        &[("link_id", &link_id)],
    );
    ok(json!({"link": link, "expire_time": rfc3339(expires)}))
}

/// A tool name: letters, digits, `_`, `-` and `.`, at most 128.
fn valid_tool_name(name: &str) -> bool {
    name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `POST /api/v1/execute_tool`: see the module documentation for the
/// answer.
pub(super) async fn execute_tool(AxumState(state): AxumState<Shared>, body: Bytes) -> ApiResult {
    let map = body_object(&body)?;
    let tool_name = req_str(&map, "tool_name")?;
    if !valid_tool_name(&tool_name) {
        return Err(ApiError::invalid(
            "tool_name",
            "tool_name has letters, digits, _, - and . only",
        ));
    }
    let identifier = req_str(&map, "identifier")?;
    let connection_name = opt_str(&map, "connection_name")?.filter(|c| !c.is_empty());
    let input = opt_object(&map, "tool_input")?.unwrap_or_default();
    let account = state
        .management
        .store()
        .accounts
        .iter()
        .find(|a| {
            a.identifier == identifier
                && connection_name.as_deref().is_none_or(|c| a.connector == c)
        })
        .cloned()
        .ok_or_else(|| ApiError::not_found("connected_account"))?;
    if account.status() != "ACTIVE" {
        return Err(ApiError::failed_precondition(
            "the connected account has no credentials yet",
        ));
    }
    ok(json!({
        "data": {
            "tool_name": tool_name,
            "connector": account.connector,
            "identifier": account.identifier,
            "input": input,
        },
        "execution_id": ids::id("exec"),
    }))
}

/// `POST /api/v1/connected_accounts:delete` (`connector` and `identifier`,
/// or `id`): `200 {}`; its credentials and magic links go with it.
pub(super) async fn delete(AxumState(state): AxumState<Shared>, body: Bytes) -> ApiResult {
    let map = body_object(&body)?;
    let id = opt_str(&map, "id")?.filter(|i| !i.is_empty());
    let key = match &id {
        Some(_) => None,
        None => Some(key(&map)?),
    };
    let mut store = state.management.store();
    let index = store
        .accounts
        .iter()
        .position(|a| match (&id, &key) {
            (Some(id), _) => a.id == *id,
            (None, Some((connector, identifier))) => {
                a.connector == *connector && a.identifier == *identifier
            }
            (None, None) => false,
        })
        .ok_or_else(|| ApiError::not_found("connected_account"))?;
    let account = store.accounts.remove(index);
    store.magic_links.retain(|_, l| l.account_id != account.id);
    ok(json!({}))
}

/// `GET /api/v1/connected_accounts:search?query=…`: the accounts whose
/// identifier, connector or id contains the query (case-insensitive),
/// paged.
pub(super) async fn search(AxumState(state): AxumState<Shared>, Pairs(pairs): Pairs) -> ApiResult {
    let needle = super::search_query(&pairs)?;
    let views: Vec<Value> = state
        .management
        .store()
        .accounts
        .iter()
        .filter(|a| {
            [&a.identifier, &a.connector, &a.id]
                .iter()
                .any(|t| t.to_lowercase().contains(&needle))
        })
        .map(AccountRecord::view)
        .collect();
    let page = paginate(views, &pairs, "connected_accounts_search")?;
    ok(json!({
        "connected_accounts": page.items,
        "next_page_token": page.next_page_token,
        "prev_page_token": page.prev_page_token,
        "total_size": page.total_size,
    }))
}
