//! The emulator's roles, permissions, organization clients, lookups and
//! passkeys routes over plain HTTP: status codes, answer shapes and the
//! platform's error shape.

use reqwest::{Method, StatusCode};
use scalekit_emulator::Emulator;
use serde_json::{Value, json};

struct Api {
    emulator: Emulator,
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn start() -> Api {
        let emulator = Emulator::start().await.unwrap();
        let http = reqwest::Client::new();
        let answer: Value = http
            .post(format!("{}/oauth/token", emulator.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("grant_type", "client_credentials"),
                        ("client_id", emulator.client_id()),
                        ("client_secret", emulator.client_secret()),
                    ])
                    .finish(),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["access_token"].as_str().unwrap().to_owned();
        Api {
            emulator,
            http,
            token,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.emulator.url()))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[track_caller]
fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert_eq!(answer.1["details"][0]["error_code"], code);
    assert!(
        answer.1["details"][0]["@type"]
            .as_str()
            .unwrap()
            .ends_with("ErrorInfo")
    );
}

#[tokio::test]
async fn creates_answer_201_with_the_resource_wrapped_and_errors_have_the_platforms_shape() {
    let api = Api::start().await;
    let org = api.emulator.test_user().organization_id.clone();

    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/permissions",
            Some(json!({"name": "docs:read"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["permission"]["name"], "docs:read");
    let (status, body) = api
        .call(
            Method::POST,
            "/api/v1/roles",
            Some(json!({"name": "reader", "extends": "member", "permissions": ["docs:read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role"]["extends"], "member");
    assert_eq!(body["role"]["permissions"][0]["name"], "docs:read");
    assert_eq!(body["role"]["permissions"][0]["role_name"], "reader");
    let (status, body) = api
        .call(Method::GET, "/api/v1/roles/reader/permissions:all", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["docs:read", "projects:read"]);
    let (status, body) = api
        .call(Method::GET, "/api/v1/roles/reader/users:count", None)
        .await;
    assert_eq!((status, &body["count"]), (StatusCode::OK, &json!("0")));

    // A cycle through an organization's own roles is refused too.
    let base = format!("/api/v1/organizations/{org}/roles");
    for (name, extends) in [("a", "member"), ("b", "a")] {
        let answer = api
            .call(
                Method::POST,
                &base,
                Some(json!({"name": name, "extends": extends})),
            )
            .await;
        assert_eq!(answer.0, StatusCode::CREATED, "{}", answer.1);
    }
    let answer = api
        .call(
            Method::PUT,
            &format!("{base}/a"),
            Some(json!({"extends": "b"})),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "INVALID_ARGUMENT");
    assert_eq!(
        answer.1["details"][0]["validation_error_info"]["field_violations"][0]["field"],
        "extends"
    );
    let answer = api.call(Method::DELETE, &format!("{base}/a"), None).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "FAILED_PRECONDITION");
    assert_error(
        &api.call(Method::GET, "/api/v1/roles/nobody", None).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_error(
        &api.call(Method::POST, "/api/v1/roles/reader", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "UNIMPLEMENTED",
    );

    // An organization client: 201 with the plain secret; never again.
    let clients = format!("/api/v1/organizations/{org}/clients");
    let (status, body) = api
        .call(
            Method::POST,
            &clients,
            Some(json!({"name": "c", "scopes": ["a:b"], "expiry": "60"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let plain = body["plain_secret"].as_str().unwrap().to_owned();
    let id = body["client"]["client_id"].as_str().unwrap().to_owned();
    assert!(body["client"].get("plain_secret").is_none());
    let (status, listed) = api.call(Method::GET, &clients, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!listed.to_string().contains(&plain));
    assert_eq!(listed["total_size"], 1);
    let (status, body) = api
        .call(Method::POST, &format!("{clients}/{id}/secrets"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["plain_secret"].as_str().unwrap().starts_with("test_"));
    assert!(body["secret"].get("plain_secret").is_none());
    assert_error(
        &api.call(
            Method::POST,
            &clients,
            Some(json!({"name": "x", "scopes": "not a list"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
    );

    // Lookups and searches.
    assert_error(
        &api.call(Method::GET, "/api/v1/organizations:external/none", None)
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_error(
        &api.call(Method::GET, "/api/v1/users:search?query=a", None)
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
    );
    let (status, body) = api
        .call(Method::GET, "/api/v1/organizations:search?query=acm", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["organizations"][0]["id"], org.as_str());
    assert_error(
        &api.call(Method::GET, "/api/v1/webauthn/credentials", None)
            .await,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
    );
}

#[tokio::test]
async fn the_new_routes_need_the_environments_token() {
    let api = Api::start().await;
    let org = api.emulator.test_user().organization_id.clone();
    for path in [
        "/api/v1/roles".to_owned(),
        "/api/v1/permissions".to_owned(),
        format!("/api/v1/organizations/{org}/clients"),
        "/api/v1/users:search?query=ada".to_owned(),
        format!("/api/v1/organizations/{org}/settings/usermanagement"),
    ] {
        let response = reqwest::get(format!("{}{path}", api.emulator.url()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}
