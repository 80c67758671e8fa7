//! What the two M2M API examples (axum and actix-web) share: bearer-only
//! auth for the application's client id and the API identifier, and the
//! answers.

use scalekit_core::web::{Authenticated, WebAuth};
use scalekit_core::{Scalekit, ScalekitConfig};
use serde_json::{Value, json};

/// The API identifier its M2M clients ask for (the `audience` of their
/// client-credentials grant): `{base_url}/api`.
pub fn api_audience(base_url: &str) -> String {
    format!("{}/api", base_url.trim_end_matches('/'))
}

/// The auth of the API: bearer tokens validated against the environment,
/// for the application's client id or the API identifier
/// ([`api_audience`]).
pub fn web_auth(
    config: ScalekitConfig,
    base_url: &str,
    realm: &str,
) -> Result<WebAuth, crate::Error> {
    // Callers reuse their tokens: the verified-token cache (on by default)
    // lets a token seen again skip its signature check while its key is in
    // the key set (claims are still checked on every request). Many M2M
    // callers: a larger cache than the default.
    let scalekit = Scalekit::new(config)?
        .accept_audiences([api_audience(base_url)])
        .with_verified_token_cache(100_000, scalekit_core::DEFAULT_VERIFIED_CACHE_TTL);
    Ok(WebAuth::for_api(scalekit, base_url)?.realm(realm))
}

/// `GET /api/reports` (scope `reports:read`).
pub fn reports(caller: &Authenticated) -> Value {
    json!({
        "client_id": caller.claims.client_id,
        "organization_id": caller.claims.organization_id(),
        "reports": ["weekly", "monthly"],
    })
}

/// `POST /api/deploy` (scope `deploy:write`).
pub fn deploy(caller: &Authenticated) -> Value {
    json!({"deployed_by": caller.subject()})
}
