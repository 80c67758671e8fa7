//! The code flow over HTTP against the emulator (no browser): authorize,
//! sign-in form, callback, exchange, verified ID token, user; and each way
//! it is refused. Refresh rotation, logout, IdP-initiated login, the cached
//! client-credentials token and token-endpoint faults.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use scalekit_core::oauth::{
    AuthorizationUrlOptions, ClientCredentialsCache, CodeExchange, LogoutUrlOptions,
    OAuthErrorCode, Pkce, TokenError,
};
use scalekit_core::{AccessTokenClaims, Scalekit, ScalekitConfig};
use scalekit_emulator::{Emulator, EmulatorBuilder, EmulatorEndpoint, Fault};

use common::flow::{
    CALLBACK, HOME, Login, browser, exchange, logged_in, login, query_of, scalekit, sign_in,
};

fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri(HOME)
}

fn invalid_grant(err: TokenError) -> String {
    match err {
        TokenError::OAuth {
            status: 400,
            code: OAuthErrorCode::InvalidGrant,
            description,
        } => description.unwrap_or_default(),
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

#[tokio::test]
async fn the_whole_code_flow_yields_a_verified_user() {
    let emulator = builder().start().await.unwrap();
    let sk = scalekit(&emulator, Duration::from_secs(5));
    let login = login(&["openid", "profile", "email", "offline_access"]);
    let url = sk.authorization_url(CALLBACK, &login.options);
    let callback = sign_in(&emulator, &url, Some("ada@example.com")).await;
    assert_eq!(
        callback.get("state"),
        login.options.state.as_ref(),
        "state is echoed"
    );

    let auth = sk
        .authenticate_with_code(&callback["code"], CALLBACK, &exchange(&login))
        .await
        .unwrap();
    assert_eq!(auth.user.email.as_deref(), Some("ada@example.com"));
    assert_eq!(auth.user.given_name.as_deref(), Some("Ada"));
    assert_eq!(auth.user.email_verified, Some(true));
    assert!(auth.user.id.starts_with("usr_"));
    assert_eq!(auth.id_token_claims.nonce, login.options.nonce);
    assert!(auth.id_token_claims.at_hash.is_some());
    assert!(
        auth.id_token_claims
            .sid
            .as_deref()
            .is_some_and(|s| s.starts_with("ses_"))
    );
    assert!(
        auth.refresh_token.is_some(),
        "offline_access gives a refresh token"
    );
    let access: AccessTokenClaims = sk.validate_token(&auth.access_token).await.unwrap();
    assert_eq!(access.sub.as_deref(), Some(auth.user.id.as_str()));
    assert_eq!(access.permissions, ["admin:read", "projects:read"]);
    assert_eq!(access.sid, auth.id_token_claims.sid);
}

#[tokio::test]
async fn without_offline_access_there_is_no_refresh_token() {
    let emulator = builder().start().await.unwrap();
    let sk = scalekit(&emulator, Duration::from_secs(5));
    let auth = logged_in(&emulator, &sk, &["openid", "email"], "grace@globex.example").await;
    assert!(auth.refresh_token.is_none());
    assert_eq!(auth.user.email.as_deref(), Some("grace@globex.example"));
}

#[tokio::test]
async fn each_broken_exchange_is_refused() {
    let emulator = builder()
        .code_ttl(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let sk = scalekit(&emulator, Duration::from_secs(5));
    let code_for = |login: &Login| {
        let url = sk.authorization_url(CALLBACK, &login.options);
        let emulator = &emulator;
        async move { sign_in(emulator, &url, Some("ada@example.com")).await["code"].clone() }
    };

    // PKCE verifier mismatch.
    let l = login(&["openid"]);
    let code = code_for(&l).await;
    let wrong = CodeExchange {
        code_verifier: Some(Pkce::generate().unwrap().verifier().to_owned()),
        ..exchange(&l)
    };
    let err = sk
        .authenticate_with_code(&code, CALLBACK, &wrong)
        .await
        .unwrap_err();
    assert_eq!(
        invalid_grant(err),
        "the PKCE verifier does not match the challenge"
    );

    // A reused code.
    let l = login(&["openid"]);
    let code = code_for(&l).await;
    sk.authenticate_with_code(&code, CALLBACK, &exchange(&l))
        .await
        .unwrap();
    let err = sk
        .authenticate_with_code(&code, CALLBACK, &exchange(&l))
        .await
        .unwrap_err();
    assert_eq!(
        invalid_grant(err),
        "the code is invalid or was already used"
    );

    // A different redirect_uri.
    emulator.register_redirect_uri("http://localhost:3000/other");
    let l = login(&["openid"]);
    let code = code_for(&l).await;
    let err = sk
        .authenticate_with_code(&code, "http://localhost:3000/other", &exchange(&l))
        .await
        .unwrap_err();
    assert_eq!(
        invalid_grant(err),
        "redirect_uri does not match the authorization request"
    );

    // A nonce mismatch: the exchange succeeds at the platform, and the ID
    // token is refused by us.
    let l = login(&["openid"]);
    let code = code_for(&l).await;
    let other_nonce = CodeExchange {
        nonce: Some("another-nonce".into()),
        ..exchange(&l)
    };
    let err = sk
        .authenticate_with_code(&code, CALLBACK, &other_nonce)
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::NonceMismatch);

    // An expired code.
    let l = login(&["openid"]);
    let code = code_for(&l).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = sk
        .authenticate_with_code(&code, CALLBACK, &exchange(&l))
        .await
        .unwrap_err();
    assert_eq!(invalid_grant(err), "the code has expired");
}

#[tokio::test]
async fn the_sign_in_page_refuses_bad_requests_and_reports_denial() {
    let emulator = builder().start().await.unwrap();
    let sk = scalekit(&emulator, Duration::from_secs(5));
    let http = browser();
    // Unregistered redirect URI: an error page, never a redirect.
    let evil = sk.authorization_url(
        "https://evil.example/cb",
        &AuthorizationUrlOptions::default(),
    );
    let response = http.get(&evil).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // Unknown client.
    let other = ScalekitConfig::new(emulator.url(), "skc_unknown", "x").unwrap();
    let url = scalekit_core::oauth::authorization_url(
        &other,
        CALLBACK,
        &AuthorizationUrlOptions::default(),
    );
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // Deny: back to the application with access_denied and the state.
    let options = AuthorizationUrlOptions {
        state: Some("st-1".into()),
        ..Default::default()
    };
    let callback = sign_in(&emulator, &sk.authorization_url(CALLBACK, &options), None).await;
    assert_eq!(callback["error"], "access_denied");
    assert_eq!(callback["state"], "st-1");
    assert!(!callback.contains_key("code"));
    // Filters and hints shape the page.
    let acme = &emulator.organizations()[0];
    let url = sk.authorization_url(
        CALLBACK,
        &AuthorizationUrlOptions {
            organization_id: Some(acme.id.clone()),
            prompt: Some("login".into()),
            ..Default::default()
        },
    );
    let html = http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("ada@example.com") && !html.contains("grace@globex.example"));
    assert!(html.contains("Sign in again"));
    let url = sk.authorization_url(
        CALLBACK,
        &AuthorizationUrlOptions {
            login_hint: Some("<script>@x".into()),
            provider: Some("google".into()),
            ..Default::default()
        },
    );
    let html = http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("with google"));
    assert!(!html.contains("<script>"), "reflected values are escaped");
}

#[tokio::test]
async fn refresh_tokens_rotate_with_a_grace_and_reuse_revokes_the_family() {
    let emulator = builder()
        .refresh_grace(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let sk = scalekit(&emulator, Duration::from_secs(5));
    let auth = logged_in(
        &emulator,
        &sk,
        &["openid", "offline_access"],
        "ada@example.com",
    )
    .await;
    let first = auth.refresh_token.unwrap();

    let second = sk.refresh_access_token(&first).await.unwrap();
    let second_rt = second.refresh_token.clone().unwrap();
    assert_ne!(second_rt, first, "a new refresh token comes back");
    let claims: AccessTokenClaims = sk.validate_token(&second.access_token).await.unwrap();
    assert_eq!(claims.sub.as_deref(), Some(auth.user.id.as_str()));

    // Within the grace the old token still works (a concurrent request of
    // another instance, say).
    sk.refresh_access_token(&first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let err = sk.refresh_access_token(&first).await.unwrap_err();
    assert_eq!(invalid_grant(err), "the refresh token was already used");
    // The reuse revoked the whole family, the newest token included.
    let err = sk.refresh_access_token(&second_rt).await.unwrap_err();
    assert_eq!(invalid_grant(err), "the refresh token was revoked");
}

#[tokio::test]
async fn logout_checks_the_hint_and_the_registered_target_and_ends_the_session() {
    let emulator = builder().start().await.unwrap();
    let sk = scalekit(&emulator, Duration::from_secs(5));
    let auth = logged_in(
        &emulator,
        &sk,
        &["openid", "offline_access"],
        "ada@example.com",
    )
    .await;
    let http = browser();

    let unregistered = sk.logout_url(&LogoutUrlOptions {
        id_token_hint: Some(auth.id_token.clone()),
        post_logout_redirect_uri: Some("https://evil.example/".into()),
        state: None,
    });
    let response = http.get(&unregistered).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());

    let forged = sk.logout_url(&LogoutUrlOptions {
        id_token_hint: Some(format!("{}x", auth.id_token)),
        post_logout_redirect_uri: Some(HOME.into()),
        state: None,
    });
    assert_eq!(http.get(&forged).send().await.unwrap().status(), 400);

    let url = sk.logout_url(&LogoutUrlOptions {
        id_token_hint: Some(auth.id_token.clone()),
        post_logout_redirect_uri: Some(HOME.into()),
        state: Some("bye".into()),
    });
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "http://localhost:3000/?state=bye"
    );
    let err = sk
        .refresh_access_token(auth.refresh_token.as_deref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(invalid_grant(err), "the refresh token was revoked");
    assert_eq!(emulator.request_count(EmulatorEndpoint::Logout), 3);
}

#[tokio::test]
async fn idp_initiated_login_produces_the_right_authorization_url() {
    let emulator = builder().start().await.unwrap();
    let sk = scalekit(&emulator, Duration::from_secs(5));
    let landing = emulator
        .idp_initiated_login_url("ada@example.com", Some("/projects/42"))
        .unwrap();
    let token = query_of(&landing)["idp_initiated_login"].clone();
    let login = sk.idp_initiated_login(&token).await.unwrap();
    let acme = &emulator.organizations()[0];
    assert_eq!(login.return_to.as_deref(), Some("/projects/42"));
    let mut options = login.authorization_options.clone();
    options.state = Some("fresh-state".into());
    assert_eq!(
        sk.authorization_url(CALLBACK, &options),
        format!(
            "{}/oauth/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fauth%2Fcallback\
             &scope=openid%20profile%20email&state=fresh-state&login_hint=ada%40example.com&connection_id={}&organization_id={}",
            emulator.url(),
            emulator.client_id(),
            acme.connection_id,
            acme.id
        )
    );
    // A relay_state that is not a safe relative path is ignored.
    let landing = emulator
        .idp_initiated_login_url("ada@example.com", Some("https://evil.example/"))
        .unwrap();
    let token = query_of(&landing)["idp_initiated_login"].clone();
    assert_eq!(
        sk.idp_initiated_login(&token).await.unwrap().return_to,
        None
    );
    // The endpoint form: the IdP dashboard tile.
    let response = browser()
        .get(format!(
            "{}/sso/idp-initiated?login_hint=grace%40globex.example",
            emulator.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(CALLBACK));
    let claims = sk
        .get_idp_initiated_login_claims(&query_of(&location)["idp_initiated_login"])
        .await
        .unwrap();
    assert_eq!(claims.login_hint.as_deref(), Some("grace@globex.example"));
    // A tampered token is refused.
    assert!(sk.idp_initiated_login(&format!("{token}x")).await.is_err());
}

#[tokio::test]
async fn the_client_credentials_token_is_cached_and_fetched_once_at_a_time() {
    let emulator = builder().start().await.unwrap();
    let sk =
        scalekit(&emulator, Duration::from_secs(5)).accept_audiences(["https://api.acme.example"]);
    let cache =
        Arc::new(ClientCredentialsCache::new(sk.clone()).audience("https://api.acme.example"));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let cache = cache.clone();
        tasks.spawn(async move { cache.token().await.unwrap() });
    }
    let mut tokens = Vec::new();
    while let Some(t) = tasks.join_next().await {
        tokens.push(t.unwrap());
    }
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token), 1);
    let claims: AccessTokenClaims = sk.validate_token(&tokens[0]).await.unwrap();
    assert_eq!(claims.client_id.as_deref(), Some(emulator.client_id()));
    // Dropped on a 401: the next call fetches anew.
    cache.invalidate(&tokens[0]);
    cache.token().await.unwrap();
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token), 2);
    cache.token().await.unwrap();
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token), 2);
}

#[tokio::test]
async fn token_endpoint_failures_are_typed_and_not_retried() {
    let emulator = builder().start().await.unwrap();
    let sk = scalekit(&emulator, Duration::from_millis(500));
    emulator.inject_fault(EmulatorEndpoint::Token, Fault::Status(503));
    let err = sk.refresh_access_token("rt_x").await.unwrap_err();
    assert!(
        matches!(err, TokenError::OAuth { status: 503, .. }),
        "{err:?}"
    );
    emulator.inject_fault(EmulatorEndpoint::Token, Fault::DropConnection);
    assert_eq!(
        sk.refresh_access_token("rt_x").await.unwrap_err(),
        TokenError::Connect
    );
    emulator.inject_fault(
        EmulatorEndpoint::Token,
        Fault::Delay(Duration::from_secs(2)),
    );
    assert_eq!(
        sk.refresh_access_token("rt_x").await.unwrap_err(),
        TokenError::Timeout
    );
    emulator.inject_fault(EmulatorEndpoint::Token, Fault::MalformedJson);
    assert_eq!(
        sk.refresh_access_token("rt_x").await.unwrap_err(),
        TokenError::InvalidResponse
    );
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Token),
        4,
        "one request each, no retries"
    );
    emulator.clear_faults();
    let err = sk.refresh_access_token("rt_unknown").await.unwrap_err();
    assert_eq!(invalid_grant(err), "the refresh token is invalid");
    let wrong = ScalekitConfig::new(emulator.url(), emulator.client_id(), "wrong-secret").unwrap();
    let wrong = Scalekit::new(wrong).unwrap();
    let err = wrong.client_credentials_token(&[], None).await.unwrap_err();
    assert!(matches!(
        err,
        TokenError::OAuth {
            status: 401,
            code: OAuthErrorCode::InvalidClient,
            ..
        }
    ));
}
