//! End to end, through the management API, the emulator's hosted sign-in
//! and token endpoint, and guarded routes of an axum application:
//!
//! - a role created through the API that extends another API-created role,
//!   given to a new user, shows its effective permissions in the user's
//!   access token after a hosted sign-in, and a route guarded by
//!   `RequirePermissions` on an inherited permission lets the user in;
//! - an organization client's token, had with its plain secret, is
//!   accepted by the M2M example's scope-guarded route; once the secret is
//!   deleted, no token can be had with it and the route stays shut.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::client;
use scalekit_axum::{AuthUser, RequirePermissions};
use scalekit_core::oauth::ClientCredentialsCache;
use scalekit_core::{Scalekit, ScalekitConfig};
use scalekit_emulator::Emulator;
use scalekit_examples::axum_m2m;
use scalekit_management::{
    CreatePermissionRequest, CreateRoleRequest, CreateUserRequest, OrganizationClientRequest,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const CALLBACK: &str = "http://localhost:3000/auth/callback";
/// Where the APIs under test say they live.
const API_BASE: &str = "http://localhost:4000";

fn config(emulator: &Emulator) -> ScalekitConfig {
    ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Signs `user_id` in on the hosted page over plain HTTP and exchanges the
/// code: the token endpoint's answer.
async fn hosted_sign_in(emulator: &Emulator, user_id: &str) -> Value {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .post(format!("{}/oauth/authorize", emulator.url()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[
            ("response_type", "code"),
            ("client_id", emulator.client_id()),
            ("redirect_uri", CALLBACK),
            ("scope", "openid email offline_access"),
            ("state", "st"),
            ("user_id", user_id),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let code = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code on the callback");
    let answer = http
        .post(format!("{}/oauth/token", emulator.url()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("client_id", emulator.client_id()),
            ("client_secret", emulator.client_secret()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.json().await.unwrap()
}

/// `GET path` on `app` with `token` as the bearer, if any: the status and
/// the JSON body (null when not JSON).
async fn call(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn an_api_created_role_extending_another_gives_its_effective_permissions_at_sign_in() {
    let emulator = Emulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap();
    let management = client(&emulator);
    let org = emulator.test_user().organization_id.clone();
    for name in ["reports:read", "reports:export"] {
        management
            .permissions()
            .create_permission(&CreatePermissionRequest::new(name))
            .await
            .unwrap();
    }
    let roles = management.roles();
    roles
        .create_role(&CreateRoleRequest::new("analyst").permission("reports:read"))
        .await
        .unwrap();
    roles
        .create_role(
            &CreateRoleRequest::new("senior-analyst")
                .extends("analyst")
                .permission("reports:export"),
        )
        .await
        .unwrap();
    let user = management
        .users()
        .create_user_and_membership(
            &org,
            &CreateUserRequest::new("sam@example.com")
                .name("Sam", "Analyst")
                .role("senior-analyst")
                .send_invitation_email(false),
        )
        .await
        .unwrap();

    let tokens = hosted_sign_in(&emulator, &user.id).await;
    let access_token = tokens["access_token"].as_str().unwrap();
    let access = claims(access_token);
    assert_eq!(access["sub"], user.id.as_str());
    assert_eq!(access["oid"], org.as_str());
    assert_eq!(access["roles"], json!(["senior-analyst"]));
    assert_eq!(
        access["permissions"],
        json!(["reports:export", "reports:read"])
    );

    // An API guarded on the inherited permission lets the user in; one
    // guarded on a permission no role grants does not.
    let auth = axum_m2m::auth(config(&emulator), API_BASE).unwrap();
    let app = Router::new()
        .route(
            "/reports",
            get(|user: AuthUser| async move { Json(json!({"sub": user.subject()})) })
                .route_layer(RequirePermissions::all(["reports:read"])),
        )
        .route(
            "/billing",
            get(|| async { "billing" }).route_layer(RequirePermissions::all(["billing:read"])),
        )
        .route_layer(auth.require())
        .layer(auth.layer());
    let (status, body) = call(&app, "/reports", Some(access_token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sub"], user.id.as_str());
    assert_eq!(
        call(&app, "/billing", Some(access_token)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&app, "/reports", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The base role losing the permission shows at the next sign-in.
    management
        .permissions()
        .remove_permission_from_role("analyst", "reports:read")
        .await
        .unwrap();
    let tokens = hosted_sign_in(&emulator, &user.id).await;
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        claims(access_token)["permissions"],
        json!(["reports:export"])
    );
    assert_eq!(
        call(&app, "/reports", Some(access_token)).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_organization_clients_token_opens_the_m2m_example_until_its_secret_is_deleted() {
    let emulator = Emulator::start().await.unwrap();
    let management = client(&emulator);
    let org = emulator.test_user().organization_id.clone();
    let created = management
        .m2m()
        .create_organization_client(
            &org,
            &OrganizationClientRequest::new("Acme reporting")
                .scopes(["reports:read"])
                .audience([axum_m2m::api_audience(API_BASE)]),
        )
        .await
        .unwrap();
    let client_id = created.client.client_id.clone();
    let secret_id = created.client.secrets[0].id.clone();

    // The customer's side: a token from the plain secret.
    let customer = |secret: scalekit_core::Secret| {
        ClientCredentialsCache::new(Scalekit::new(config(&emulator)).unwrap())
            .for_client(client_id.clone(), secret)
    };
    let tokens = customer(created.plain_secret.clone().into_secret());
    let token = tokens.token().await.unwrap();

    let app = axum_m2m::app(&axum_m2m::auth(config(&emulator), API_BASE).unwrap());
    let (status, body) = call(&app, "/api/reports", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["client_id"], client_id.as_str());
    assert_eq!(body["organization_id"], org.as_str());
    // Its scopes do not include deploy:write.
    let refused = app
        .clone()
        .oneshot(
            Request::post("/api/deploy")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The secret deleted: no new token with it, so no way in.
    management
        .m2m()
        .remove_organization_client_secret(&org, &client_id, &secret_id)
        .await
        .unwrap();
    let after = customer(created.plain_secret.clone().into_secret());
    let refusal = after.token().await;
    assert!(refusal.is_err(), "{refusal:?}");
    assert_eq!(
        call(&app, "/api/reports", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}
