//! The emulator issues what the platform issues: ID tokens whose `amr` is
//! the connection signed in through and whose `c_hash` / `at_hash` bind the
//! code and the access token; IdP-initiated logins land on the initiate-login
//! URL, which the login route of both adapters accepts through the
//! callback's code path.

use std::collections::BTreeMap;

use crate::common;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::apps::{Browser, Framework, FullStack, authorize_as, no_redirects};
use reqwest::StatusCode;
use scalekit_core::oauth::CodeExchange;
use scalekit_core::{Scalekit, ScalekitConfig};
use scalekit_emulator::Emulator;
use serde_json::{Value, json};

/// OpenID Connect Core 3.3.2.11: base64url of the left half of SHA-256.
fn half_hash(value: &str) -> String {
    let digest = digest::digest(&digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

fn scalekit(emulator: &Emulator) -> Scalekit {
    Scalekit::new(
        ScalekitConfig::new(
            emulator.url(),
            emulator.client_id(),
            emulator.client_secret(),
        )
        .unwrap(),
    )
    .unwrap()
}

const CALLBACK: &str = "http://localhost:3000/auth/callback";

/// Signs in on the emulator's page as `email` through an authorization URL
/// with `extra` parameters; returns the code.
async fn code_for(emulator: &Emulator, email: &str, extra: &[(&str, &str)]) -> String {
    let mut authorize = url::Url::parse(&format!("{}/oauth/authorize", emulator.url())).unwrap();
    {
        let mut q = authorize.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", emulator.client_id())
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("scope", "openid profile email offline_access")
            .append_pair("state", "s1")
            .append_pair("nonce", "n1");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    let user = emulator
        .users()
        .into_iter()
        .find(|u| u.email == email)
        .unwrap();
    let callback = authorize_as(emulator, &authorize, &user.id).await;
    url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn id_tokens_bind_the_code_and_the_access_token_and_name_the_connection() {
    let emulator = Emulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap();
    let sk = scalekit(&emulator);
    for email in ["ada@example.com", "grace@globex.example"] {
        let user = emulator
            .users()
            .into_iter()
            .find(|u| u.email == email)
            .unwrap();
        let org = emulator
            .organizations()
            .into_iter()
            .find(|o| o.id == user.organization_id)
            .unwrap();
        let code = code_for(&emulator, email, &[]).await;
        let auth = sk
            .authenticate_with_code(
                &code,
                CALLBACK,
                &CodeExchange {
                    code_verifier: None,
                    nonce: Some("n1".into()),
                },
            )
            .await
            .unwrap();
        let claims = &auth.id_token_claims;
        assert_eq!(claims.c_hash.as_deref(), Some(half_hash(&code).as_str()));
        assert_eq!(
            claims.at_hash.as_deref(),
            Some(half_hash(&auth.access_token).as_str())
        );
        // A hash of anything else does not match.
        assert_ne!(
            claims.c_hash.as_deref(),
            Some(half_hash(&auth.access_token).as_str())
        );
        assert_eq!(claims.amr, vec![org.connection_id.clone()]);
        assert_eq!(
            auth.user.connection_id.as_deref(),
            Some(org.connection_id.as_str())
        );
        assert_eq!(auth.user.organization_id.as_deref(), Some(org.id.as_str()));

        // A refresh has no code to bind: at_hash only, same connection.
        let refreshed = sk
            .refresh_access_token(auth.refresh_token.as_deref().unwrap())
            .await
            .unwrap();
        let id_token = refreshed.id_token.unwrap();
        let payload: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(id_token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert!(payload.get("c_hash").is_none());
        assert_eq!(payload["at_hash"], half_hash(&refreshed.access_token));
        assert_eq!(payload["amr"], json!([org.connection_id]));
    }
    // Minted ID tokens carry the seeded user's connection too.
    let minted = emulator.mint_id_token(json!({})).unwrap();
    let claims = sk.verify_id_token(&minted, None).await.unwrap();
    assert_eq!(
        claims.connection_id(),
        Some(emulator.organizations()[0].connection_id.as_str())
    );
}

#[tokio::test]
async fn a_disabled_connection_signs_nobody_in() {
    let emulator = Emulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap();
    let globex = emulator.organizations()[1].clone();
    emulator
        .set_connection_enabled(&globex.connection_id, false)
        .unwrap();
    let authorize = url::Url::parse(&format!(
        "{}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&state=s1",
        emulator.url(),
        emulator.client_id(),
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    ))
    .unwrap();
    let grace = emulator.users()[1].clone();
    let callback = authorize_as(&emulator, &authorize, &grace.id).await;
    // As the platform answers it (its SSO error reference).
    assert!(
        callback.contains("error=connection_not_active"),
        "{callback}"
    );
    assert!(
        emulator
            .idp_initiated_login_url(&grace.email, None)
            .is_err()
    );
    // Other organizations are unaffected; enabled again, Globex signs in.
    let ada = emulator.users()[0].clone();
    assert!(
        authorize_as(&emulator, &authorize, &ada.id)
            .await
            .contains("code=")
    );
    emulator
        .set_connection_enabled(&globex.connection_id, true)
        .unwrap();
    assert!(
        authorize_as(&emulator, &authorize, &grace.id)
            .await
            .contains("code=")
    );
    assert!(emulator.idp_initiated_login_url(&grace.email, None).is_ok());
}

#[tokio::test]
async fn idp_initiated_logins_go_to_the_initiate_login_url_when_one_is_set() {
    let emulator = Emulator::builder()
        .redirect_uri(CALLBACK)
        .initiate_login_uri("http://localhost:3000/auth/login")
        .start()
        .await
        .unwrap();
    let url = emulator
        .idp_initiated_login_url("ada@example.com", None)
        .unwrap();
    assert!(url.starts_with("http://localhost:3000/auth/login?idp_initiated_login="));
    // The dashboard tile of the identity provider goes there too.
    let r = no_redirects()
        .get(format!(
            "{}/sso/idp-initiated?login_hint=ada%40example.com",
            emulator.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("http://localhost:3000/auth/login?idp_initiated_login=")
    );
    // Without it, the first callback URL as before.
    emulator.set_initiate_login_uri(None);
    let url = emulator
        .idp_initiated_login_url("ada@example.com", None)
        .unwrap();
    assert!(url.starts_with(&format!("{CALLBACK}?idp_initiated_login=")));
}

async fn app(fw: Framework) -> FullStack {
    let app = common::apps::fullstack_app(fw, None, None, |web| web).await;
    app.emulator
        .set_initiate_login_uri(Some(&format!("{}/auth/login", app.base)));
    app
}

/// An IdP-initiated login through Globex's connection, landing on the login
/// route, reaches the signed-in page with the organization, connection and
/// login hint applied; the signed-in user reports the connection.
async fn idp_initiated_login_through_the_login_route(fw: Framework) {
    let app = app(fw).await;
    let globex = app.emulator.organizations()[1].clone();
    let landing = app
        .emulator
        .idp_initiated_login_url("grace@globex.example", Some("/dashboard"))
        .unwrap();
    assert!(landing.starts_with(&format!("{}/auth/login?idp_initiated_login=", app.base)));
    let mut b = Browser::new(&app);
    let r = b.get(&landing).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location
            .as_str()
            .starts_with(&format!("{}/oauth/authorize?", app.emulator.url()))
    );
    let params: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(params["organization_id"], globex.id);
    assert_eq!(params["connection_id"], globex.connection_id);
    assert_eq!(params["login_hint"], "grace@globex.example");
    assert!(b.jar.contains_key("sk_oauth_state"));
    // The sign-in page offers Globex's users only, the hinted one first.
    let page = b.follow(r).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("data-email=\"grace@globex.example\" data-hinted=\"true\""));
    assert!(!html.contains("ada@example.com"));
    let grace = app
        .emulator
        .users()
        .into_iter()
        .find(|u| u.email == "grace@globex.example")
        .unwrap();
    let callback = authorize_as(&app.emulator, &location, &grace.id).await;
    let landed = b.get(&callback).await;
    let landed = b.follow(landed).await;
    assert_eq!(landed.status(), StatusCode::OK);
    assert_eq!(landed.url().path(), "/dashboard");
    assert!(
        landed
            .text()
            .await
            .unwrap()
            .contains("grace@globex.example")
    );
    let me: Value = b.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["email"], "grace@globex.example");
    assert_eq!(me["oid"], globex.id);
    assert_eq!(me["connection_id"], globex.connection_id);
}

/// A forged, expired or foreign `idp_initiated_login` on the login route
/// gets the failure page, never a plain login.
async fn a_bad_idp_initiated_token_on_the_login_route_fails(fw: Framework) {
    let app = app(fw).await;
    let good = app
        .emulator
        .idp_initiated_login_url("ada@example.com", None)
        .unwrap();
    let token = url::Url::parse(&good)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "idp_initiated_login")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // Forged: the claims changed under the original signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["organization_id"] = json!(app.emulator.organizations()[1].id);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    // Expired.
    let now = common::now();
    let acme = &app.emulator.organizations()[0];
    let expired = app
        .emulator
        .sign_claims(&json!({
            "iss": app.emulator.url(),
            "organization_id": acme.id,
            "connection_id": acme.connection_id,
            "login_hint": "ada@example.com",
            "iat": now - 900,
            "nbf": now - 900,
            "exp": now - 600,
        }))
        .unwrap();
    // Foreign: signed by another environment.
    let other = Emulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap();
    let foreign_url = other
        .idp_initiated_login_url("ada@example.com", None)
        .unwrap();
    let foreign = url::Url::parse(&foreign_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "idp_initiated_login")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // An access token is not an IdP-initiated login token.
    let access = app.emulator.mint_access_token(json!({})).unwrap();
    let expired_token = expired.clone();
    for bad in [forged, expired, foreign, access, "not-a-jwt".to_owned()] {
        let mut login = url::Url::parse(&format!("{}/auth/login", app.base)).unwrap();
        login
            .query_pairs_mut()
            .append_pair("idp_initiated_login", &bad)
            .append_pair("login_hint", "x@y.z");
        let r = no_redirects().get(login).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.headers().get("location").is_none());
        assert!(r.headers().get("set-cookie").is_none());
        // Fixed words per case: an expired link says so.
        let page = r.text().await.unwrap();
        let said = if bad == expired_token {
            "This sign-in link has expired"
        } else {
            "Sign-in failed"
        };
        assert!(page.contains(said), "{page}");
        assert!(!page.contains(&bad), "the token is never reflected");
    }
    // The genuine token starts a login.
    let r = no_redirects().get(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
}

scenarios!(
    idp_initiated_login_through_the_login_route,
    a_bad_idp_initiated_token_on_the_login_route_fails,
);
