//! Handler unit tests with a made-up user, through each adapter: no server,
//! no emulator, no token (feature `test-util` of the core). The handler
//! called directly with the caller, and the routes with their scope guard
//! given a caller where the auth layer would put it (docs/testing.md).

use std::sync::Arc;

use scalekit_core::test_util::TestCaller;
use serde_json::{Value, json};

use crate::common::apps::Framework;

/// The caller `me` is called with directly: an email, an organization, a
/// role.
fn ada() -> TestCaller {
    TestCaller::new("usr_1")
        .email("ada@example.com")
        .organization("org_1")
        .roles(["admin"])
}

mod with_axum {
    use ::axum::body::Body;
    use ::axum::http::Request;
    use ::axum::routing::get;
    use ::axum::{Json, Router};
    use scalekit_axum::{AuthUser, RequireScopes};
    use scalekit_core::test_util::TestCaller;
    use serde_json::{Value, json};
    use tower::ServiceExt as _;

    pub async fn me(user: AuthUser) -> Json<Value> {
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

    pub async fn call(caller: Option<TestCaller>, path: &str) -> (u16, String) {
        let mut request = Request::get(path).body(Body::empty()).unwrap();
        if let Some(caller) = caller {
            request.extensions_mut().insert(caller.resolution());
        }
        let response = app().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = ::axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }
}

mod with_actix {
    use actix_web::{App, HttpMessage as _, HttpResponse, test, web};
    use scalekit_actix::{AuthUser, RequireScopes};
    use scalekit_core::test_util::TestCaller;
    use serde_json::{Value, json};

    pub async fn me(user: AuthUser) -> web::Json<Value> {
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

    pub async fn call(caller: Option<TestCaller>, path: &str) -> (u16, String) {
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
        let status = response.status().as_u16();
        let body = test::read_body(response).await;
        (status, String::from_utf8(body.to_vec()).unwrap())
    }
}

/// `(status, body)` of `GET path` through `framework`'s routes, with
/// `caller` where the auth layer would have put it.
async fn call(framework: Framework, caller: Option<TestCaller>, path: &str) -> (u16, String) {
    match framework {
        Framework::Axum => with_axum::call(caller, path).await,
        Framework::Actix => with_actix::call(caller, path).await,
    }
}

async fn the_handler_called_directly_with_a_made_up_user(framework: Framework) {
    let user = Arc::new(ada().build());
    let body = match framework {
        Framework::Axum => with_axum::me(scalekit_axum::AuthUser(user)).await.0,
        Framework::Actix => with_actix::me(scalekit_actix::AuthUser(user))
            .await
            .into_inner(),
    };
    assert_eq!(
        body,
        json!({"sub": "usr_1", "email": "ada@example.com", "oid": "org_1", "roles": ["admin"]})
    );
}

async fn the_app_with_a_made_up_user_and_no_server(framework: Framework) {
    let (status, body) = call(
        framework,
        Some(TestCaller::new("usr_2").email("b@example.com")),
        "/api/me",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["sub"],
        "usr_2"
    );

    // The scope guard decides on the made-up caller's grants.
    let (status, body) = call(framework, Some(TestCaller::new("usr_2")), "/api/admin").await;
    assert_eq!(status, 403);
    assert!(body.contains("insufficient_scope"), "{body}");
    let granted = TestCaller::new("usr_2").scopes(["admin:read"]);
    assert_eq!(
        call(framework, Some(granted), "/api/admin").await,
        (200, "ok".into())
    );

    // No caller: 401, as behind the real layer.
    assert_eq!(call(framework, None, "/api/me").await.0, 401);
}

scenarios!(
    the_handler_called_directly_with_a_made_up_user,
    the_app_with_a_made_up_user_and_no_server,
);
