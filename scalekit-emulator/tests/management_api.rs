//! The management REST API served by the emulator, driven with plain HTTP.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use scalekit_emulator::{Emulator, EmulatorEndpoint, Fault};
use serde_json::{Value, json};

const CALLBACK: &str = "http://localhost:3000/auth/callback";

struct Api {
    emulator: Emulator,
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn start() -> Api {
        let emulator = Emulator::builder()
            .redirect_uri(CALLBACK)
            .start()
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer: Value = http
            .post(format!("{}/oauth/token", emulator.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "client_credentials"),
                ("client_id", emulator.client_id()),
                ("client_secret", emulator.client_secret()),
            ]))
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

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.emulator.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, body)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_with(method, path, Some(&self.token), body).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    async fn create_org(&self, name: &str) -> String {
        let (status, body) = self
            .post("/api/v1/organizations", json!({"display_name": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["organization"]["id"].as_str().unwrap().to_owned()
    }
}

/// Checks the platform's error shape and returns the field a validation
/// error names, if any.
fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) -> String {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let detail = &body["details"][0];
    assert_eq!(
        detail["@type"],
        "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo"
    );
    assert_eq!(detail["error_code"], code);
    detail["validation_error_info"]["field_violations"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn assert_not_found(answer: (StatusCode, Value)) {
    assert_error(answer.0, &answer.1, StatusCode::NOT_FOUND, "NOT_FOUND");
}

fn assert_invalid(answer: (StatusCode, Value), field: &str) {
    let named = assert_error(
        answer.0,
        &answer.1,
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
    );
    assert_eq!(named, field, "{}", answer.1);
}

/// An `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn calls_without_a_valid_client_token_are_unauthenticated() {
    let api = Api::start().await;
    let path = "/api/v1/organizations";
    let user_token = api.emulator.mint_access_token(json!({})).unwrap();
    let expired = api
        .emulator
        .sign_claims(&json!({
            "iss": api.emulator.url(),
            "sub": api.emulator.client_id(),
            "client_id": api.emulator.client_id(),
            "iat": 1_000,
            "exp": 2_000,
        }))
        .unwrap();
    let mut forged = api.token.clone();
    forged.pop();
    forged.push(if api.token.ends_with('A') { 'B' } else { 'A' });
    for token in [
        None,
        Some("not-a-jwt"),
        Some(user_token.as_str()),
        Some(expired.as_str()),
        Some(forged.as_str()),
    ] {
        let (status, body) = api.call_with(Method::GET, path, token, None).await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
    // An M2M client of an organization is not the environment's client.
    api.emulator
        .register_m2m_client(scalekit_emulator::M2mClient::new(
            "m2morg_1", "secret", "org_1",
        ));
    let m2m = api.emulator.mint_m2m_token("m2morg_1", json!({})).unwrap();
    let (status, body) = api.call_with(Method::GET, path, Some(&m2m), None).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let (status, _) = api.get(path).await;
    assert_eq!(status, StatusCode::OK);
    // Unknown management paths answer in the platform's shape too.
    assert_not_found(api.get("/api/v1/no_such_thing").await);
}

#[tokio::test]
async fn organizations_are_created_read_updated_and_deleted() {
    let api = Api::start().await;
    let (status, body) = api
        .post(
            "/api/v1/organizations",
            json!({"display_name": "Initech", "external_id": "tenant-7", "metadata": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let org = &body["organization"];
    let id = org["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("org_"));
    assert_eq!(org["display_name"], "Initech");
    assert_eq!(org["external_id"], "tenant-7");
    assert_eq!(org["metadata"]["plan"], "pro");
    assert!(org["create_time"].as_str().unwrap().ends_with('Z'));

    // Shared with the environment: the library API sees it too.
    assert!(api.emulator.organizations().iter().any(|o| o.id == id));

    let (status, body) = api.get(&format!("/api/v1/organizations/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["organization"]["display_name"], "Initech");

    let (status, body) = api
        .patch(
            &format!("/api/v1/organizations/{id}"),
            json!({"display_name": "Initrode"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["organization"]["display_name"], "Initrode");
    assert_eq!(body["organization"]["external_id"], "tenant-7");

    let (status, body) = api
        .patch(
            &format!("/api/v1/organizations/{id}/settings"),
            json!({"features": [{"name": "sso", "enabled": true}, {"name": "dir_sync", "enabled": false}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["organization"]["settings"]["features"],
        json!([{"name": "sso", "enabled": true}, {"name": "dir_sync", "enabled": false}])
    );

    let (status, body) = api
        .call(
            Method::PUT,
            &format!("/api/v1/organizations/{id}/portal_links?features=sso"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["location"]
            .as_str()
            .unwrap()
            .starts_with(api.emulator.url())
    );
    assert!(body["expire_time"].as_str().is_some());

    let (status, body) = api.get("/api/v1/organizations?external_id=tenant-7").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["organizations"].as_array().unwrap().len(), 1);

    let (status, body) = api.delete(&format!("/api/v1/organizations/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(!api.emulator.organizations().iter().any(|o| o.id == id));

    // Not found, for every operation on the organization.
    assert_not_found(api.get(&format!("/api/v1/organizations/{id}")).await);
    assert_not_found(
        api.patch(
            &format!("/api/v1/organizations/{id}"),
            json!({"display_name": "x"}),
        )
        .await,
    );
    assert_not_found(api.delete(&format!("/api/v1/organizations/{id}")).await);
    assert_not_found(
        api.patch(
            &format!("/api/v1/organizations/{id}/settings"),
            json!({"features": []}),
        )
        .await,
    );
    assert_not_found(
        api.call(
            Method::PUT,
            &format!("/api/v1/organizations/{id}/portal_links"),
            None,
        )
        .await,
    );

    // Validation errors name the field.
    assert_invalid(
        api.post("/api/v1/organizations", json!({})).await,
        "display_name",
    );
    assert_invalid(
        api.post("/api/v1/organizations", json!({"display_name": "  "}))
            .await,
        "display_name",
    );
    assert_invalid(
        api.post(
            "/api/v1/organizations",
            json!({"display_name": "A", "metadata": {"n": 1}}),
        )
        .await,
        "metadata",
    );
    let acme = api.emulator.organizations()[0].id.clone();
    assert_invalid(
        api.patch(
            &format!("/api/v1/organizations/{acme}/settings"),
            json!({"features": [{"enabled": true}]}),
        )
        .await,
        "features[0].name",
    );
    assert_invalid(
        api.call(
            Method::PUT,
            &format!("/api/v1/organizations/{acme}/portal_links?features=billing"),
            None,
        )
        .await,
        "features",
    );
    let (status, body) = api
        .call_with(
            Method::POST,
            "/api/v1/organizations",
            Some(&api.token),
            None,
        )
        .await;
    assert_invalid((status, body), "display_name");
    // A second organization with the same external id conflicts.
    let (status, _) = api
        .post(
            "/api/v1/organizations",
            json!({"display_name": "B", "external_id": "dup"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api
        .post(
            "/api/v1/organizations",
            json!({"display_name": "C", "external_id": "dup"}),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "ALREADY_EXISTS");
}

#[tokio::test]
async fn listing_250_organizations_by_20_returns_each_exactly_once() {
    let api = Api::start().await;
    let seeded = api.emulator.organizations().len();
    let mut created = Vec::new();
    for i in seeded..250 {
        created.push(api.create_org(&format!("Org {i}")).await);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let (status, body) = api
            .get(&format!(
                "/api/v1/organizations?page_size=20&page_token={token}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total_size"], 250);
        pages += 1;
        let page = body["organizations"].as_array().unwrap();
        assert!(page.len() <= 20);
        seen.extend(page.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        token = body["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 13);
    assert_eq!(seen.len(), 250);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 250);
    // Creation order: the seeds, then the organizations as created.
    assert_eq!(seen[seeded..], created[..]);

    // The default page size is 20, the largest 100.
    let (_, body) = api.get("/api/v1/organizations").await;
    assert_eq!(body["organizations"].as_array().unwrap().len(), 20);
    let (_, body) = api.get("/api/v1/organizations?page_size=500").await;
    assert_eq!(body["organizations"].as_array().unwrap().len(), 100);
    assert_invalid(
        api.get("/api/v1/organizations?page_token=garbage").await,
        "page_token",
    );
    assert_invalid(
        api.get("/api/v1/organizations?page_size=-3").await,
        "page_size",
    );
}

#[tokio::test]
async fn injected_faults_answer_in_the_platform_shape_and_are_counted() {
    let api = Api::start().await;
    api.emulator.reset_counters();
    api.emulator
        .inject_fault_times(EmulatorEndpoint::Management, Fault::Status(503), 2);
    for _ in 0..2 {
        let response = api
            .http
            .get(format!("{}/api/v1/organizations", api.emulator.url()))
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "0");
        let body: Value = response.json().await.unwrap();
        assert_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &body,
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
        );
    }
    let (status, _) = api.get("/api/v1/organizations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.emulator.request_count(EmulatorEndpoint::Management), 3);
    assert_eq!(api.emulator.request_count(EmulatorEndpoint::Other), 0);

    api.emulator
        .inject_fault_times(EmulatorEndpoint::Management, Fault::Status(429), 1);
    let response = api
        .http
        .get(format!("{}/api/v1/users", api.emulator.url()))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "0");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "RESOURCE_EXHAUSTED");

    api.emulator
        .inject_fault_times(EmulatorEndpoint::Management, Fault::Status(401), 1);
    let (status, body) = api.get("/api/v1/organizations").await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    // A management fault leaves the token endpoint alone.
    api.emulator
        .inject_fault_times(EmulatorEndpoint::Management, Fault::DropConnection, 1);
    let dropped = api
        .http
        .get(format!("{}/api/v1/organizations", api.emulator.url()))
        .bearer_auth(&api.token)
        .send()
        .await;
    assert!(dropped.is_err());
    assert_eq!(api.emulator.request_count(EmulatorEndpoint::Management), 6);
    assert_eq!(api.emulator.request_count(EmulatorEndpoint::Token), 0);
}
