//! Handler unit tests with a made-up user: no server, no emulator, no
//! token (feature `test-util` of the core, enabled for these tests).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use scalekit_axum::{AuthUser, RequireScopes};
use scalekit_core::test_util::TestCaller;
use serde_json::{Value, json};
use tower::ServiceExt as _;

async fn me(user: AuthUser) -> Json<Value> {
    Json(json!({
        "sub": user.subject(),
        "email": user.email(),
        "oid": user.claims.oid,
        "roles": user.claims.roles,
    }))
}

async fn admin() -> &'static str {
    "ok"
}

fn app() -> Router {
    Router::new().route("/api/me", get(me)).route(
        "/api/admin",
        get(admin).route_layer(RequireScopes::all(["admin:read"])),
    )
}

async fn call(caller: Option<TestCaller>, path: &str) -> (StatusCode, String) {
    let mut request = Request::get(path).body(Body::empty()).unwrap();
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller.resolution());
    }
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_handler_called_directly_with_a_made_up_user() {
    let user = TestCaller::new("usr_1")
        .email("ada@example.com")
        .organization("org_1")
        .roles(["admin"])
        .build();
    let Json(body) = me(AuthUser(Arc::new(user))).await;
    assert_eq!(
        body,
        json!({"sub": "usr_1", "email": "ada@example.com", "oid": "org_1", "roles": ["admin"]})
    );
}

#[tokio::test]
async fn the_router_with_a_made_up_user_and_no_server() {
    let (status, body) = call(
        Some(TestCaller::new("usr_2").email("b@example.com")),
        "/api/me",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["sub"],
        "usr_2"
    );

    // The scope guard decides on the made-up caller's grants.
    let (status, body) = call(Some(TestCaller::new("usr_2")), "/api/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("insufficient_scope"), "{body}");
    let granted = TestCaller::new("usr_2").scopes(["admin:read"]);
    assert_eq!(
        call(Some(granted), "/api/admin").await,
        (StatusCode::OK, "ok".into())
    );

    // No caller: 401, as behind the real layer.
    assert_eq!(call(None, "/api/me").await.0, StatusCode::UNAUTHORIZED);
}
