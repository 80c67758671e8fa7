//! The authorization URL against the official Node SDK's output
//! (`scalekit-core/tests/fixtures/authorization_urls.json`, see its README).

use scalekit_core::ScalekitConfig;
use scalekit_core::oauth::{AuthorizationUrlOptions, authorization_url};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    environment_url: String,
    client_id: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    redirect_uri: String,
    options: Options,
    expected: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Options {
    scopes: Option<Vec<String>>,
    state: Option<String>,
    nonce: Option<String>,
    login_hint: Option<String>,
    domain_hint: Option<String>,
    connection_id: Option<String>,
    organization_id: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    provider: Option<String>,
    prompt: Option<String>,
}

#[test]
fn urls_match_the_node_sdk_byte_for_byte() {
    let text = include_str!("../fixtures/authorization_urls.json");
    let fixture: Fixture = serde_json::from_str(text).expect("fixture JSON");
    assert!(fixture.cases.len() >= 15, "at least 15 cases");
    let config =
        ScalekitConfig::new(&fixture.environment_url, &fixture.client_id, "unused").unwrap();
    for case in fixture.cases {
        let o = case.options;
        let options = AuthorizationUrlOptions {
            scopes: o.scopes,
            state: o.state,
            nonce: o.nonce,
            login_hint: o.login_hint,
            domain_hint: o.domain_hint,
            connection_id: o.connection_id,
            organization_id: o.organization_id,
            code_challenge: o.code_challenge,
            code_challenge_method: o.code_challenge_method,
            provider: o.provider,
            prompt: o.prompt,
        };
        assert_eq!(
            authorization_url(&config, &case.redirect_uri, &options),
            case.expected,
            "case {:?}",
            case.name
        );
    }
}

#[test]
fn a_trailing_slash_on_the_environment_url_changes_nothing() {
    let a = ScalekitConfig::new("https://acme.scalekit.dev/", "skc_1", "s").unwrap();
    let b = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "s").unwrap();
    let o = AuthorizationUrlOptions::default();
    assert_eq!(
        authorization_url(&a, "https://x/cb", &o),
        authorization_url(&b, "https://x/cb", &o)
    );
}
