//! The M2M examples (axum and actix-web, the same test for both): 401 with
//! the right `WWW-Authenticate`, 403 on a missing scope, 200 with it. (The
//! MCP example has its own module, `mcp_end_to_end`.)

use crate::common;

use common::apps::Framework;
use scalekit_emulator::{Emulator, M2mClient};
use serde_json::{Value, json};

struct Served {
    base: String,
    emulator: Emulator,
    http: reqwest::Client,
}

async fn serve(router: impl FnOnce(&Emulator, &str) -> ::axum::Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let emulator = Emulator::start().await.unwrap();
    let app = router(&emulator, &base);
    tokio::spawn(async move {
        let _ = ::axum::serve(listener, app).await;
    });
    served(base, emulator)
}

/// The M2M example of `framework`.
async fn serve_m2m(framework: Framework) -> Served {
    match framework {
        Framework::Axum => {
            use scalekit_examples::axum_m2m::{app, auth};
            serve(|e, base| app(&auth(config(e), base).unwrap())).await
        }
        Framework::Actix => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
            let emulator = Emulator::start().await.unwrap();
            let auth = scalekit_examples::actix_m2m::auth(config(&emulator), &base).unwrap();
            let routes = scalekit_examples::actix_m2m::configure(&auth);
            let _server = common::apps::serve_actix(listener, auth, routes);
            served(base, emulator)
        }
    }
}

fn served(base: String, emulator: Emulator) -> Served {
    emulator.register_m2m_client(
        M2mClient::new("m2morg_full", "s", "org_1").scopes(["reports:read", "mcp:tools"]),
    );
    emulator.register_m2m_client(M2mClient::new("m2morg_none", "s", "org_1").scopes(["other"]));
    Served {
        base,
        emulator,
        http: reqwest::Client::new(),
    }
}

fn config(emulator: &Emulator) -> scalekit_core::ScalekitConfig {
    scalekit_core::ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap()
}

fn www(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn m2m_api_answers_401_403_200(framework: Framework) {
    let s = serve_m2m(framework).await;
    let realm = framework.m2m_realm();
    let url = format!("{}/api/reports", s.base);
    let r = s.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(www(&r), format!(r#"Bearer realm="{realm}""#));
    let r = s
        .http
        .get(&url)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        www(&r),
        format!(
            r#"Bearer realm="{realm}", error="invalid_token", error_description="The access token is malformed.""#
        )
    );
    // M2M tokens for the API identifier.
    let aud = json!({ "aud": [scalekit_examples::m2m::api_audience(&s.base)] });
    // Without an audience, or for another one, a token is refused.
    for other in [json!({}), json!({ "aud": ["https://other.example/api"] })] {
        let token = s.emulator.mint_m2m_token("m2morg_full", other).unwrap();
        let r = s.http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(www(&r).contains("not meant for this audience"));
    }
    let none = s
        .emulator
        .mint_m2m_token("m2morg_none", aud.clone())
        .unwrap();
    let r = s.http.get(&url).bearer_auth(&none).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(www(&r).ends_with(r#"scope="reports:read""#));
    let full = s.emulator.mint_m2m_token("m2morg_full", aud).unwrap();
    let r = s.http.get(&url).bearer_auth(&full).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["client_id"], "m2morg_full");
    assert_eq!(body["organization_id"], "org_1");
    let r = s
        .http
        .post(format!("{}/api/deploy", s.base))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "deploy:write is missing");
    assert_eq!(
        s.http
            .get(format!("{}/health", s.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

scenarios!(m2m_api_answers_401_403_200);

/// The axum adapter's typed-claims and raw-token extractors.
#[tokio::test]
async fn typed_custom_claims_and_the_raw_token_are_extracted() {
    use ::axum::routing::get;
    use scalekit_axum::{AccessToken, Claims};

    #[derive(serde::Deserialize)]
    struct Tier {
        tier: String,
    }

    let s = serve(|e, base| {
        let auth = scalekit_examples::axum_m2m::auth(config(e), base).unwrap();
        ::axum::Router::new()
            .route(
                "/tier",
                get(|Claims(t): Claims<Tier>| async move { t.tier }),
            )
            .route(
                "/token",
                get(|AccessToken(t): AccessToken| async move { t.len().to_string() }),
            )
            .layer(auth.layer())
    })
    .await;
    s.emulator.register_m2m_client(
        M2mClient::new("m2morg_gold", "s", "org_1").claim("tier", json!("gold")),
    );
    let aud = json!({ "aud": [scalekit_examples::m2m::api_audience(&s.base)] });
    let gold = s
        .emulator
        .mint_m2m_token("m2morg_gold", aud.clone())
        .unwrap();
    let plain = s.emulator.mint_m2m_token("m2morg_none", aud).unwrap();
    let get = |path: &str, token: &str| {
        s.http
            .get(format!("{}{path}", s.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        get("/tier", &gold).await.unwrap().text().await.unwrap(),
        "gold"
    );
    let r = get("/tier", &plain).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(www(&r).contains(
        r#"error="invalid_token", error_description="The access token lacks a required claim.""#
    ));
    assert_eq!(
        get("/token", &gold).await.unwrap().text().await.unwrap(),
        gold.len().to_string()
    );
    let anonymous = s.http.get(format!("{}/tier", s.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(www(&anonymous), r#"Bearer realm="axum-m2m""#);
}
