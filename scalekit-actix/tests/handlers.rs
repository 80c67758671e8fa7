//! Handler unit tests with a made-up user: no server, no emulator, no
//! token (feature `test-util` of the core, enabled for these tests).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{App, HttpMessage as _, HttpResponse, test, web};
use scalekit_actix::{AuthUser, RequireScopes};
use scalekit_core::test_util::TestCaller;
use serde_json::{Value, json};

async fn me(user: AuthUser) -> web::Json<Value> {
    web::Json(json!({
        "sub": user.subject(),
        "email": user.email(),
        "oid": user.claims.oid,
        "roles": user.claims.roles,
    }))
}

async fn admin() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

async fn call(caller: Option<TestCaller>, path: &str) -> (StatusCode, String) {
    let app = test::init_service(
        App::new().route("/api/me", web::get().to(me)).service(
            web::resource("/api/admin")
                .wrap(RequireScopes::all(["admin:read"]))
                .to(admin),
        ),
    )
    .await;
    let request = test::TestRequest::get().uri(path).to_request();
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller.resolution());
    }
    let response = test::call_service(&app, request).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn the_handler_called_directly_with_a_made_up_user() {
    let user = TestCaller::new("usr_1")
        .email("ada@example.com")
        .organization("org_1")
        .roles(["admin"])
        .build();
    let web::Json(body) = me(AuthUser(Arc::new(user))).await;
    assert_eq!(
        body,
        json!({"sub": "usr_1", "email": "ada@example.com", "oid": "org_1", "roles": ["admin"]})
    );
}

#[actix_web::test]
async fn the_app_with_a_made_up_user_and_no_server() {
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

    // No caller: 401, as behind the real middleware.
    assert_eq!(call(None, "/api/me").await.0, StatusCode::UNAUTHORIZED);
}
