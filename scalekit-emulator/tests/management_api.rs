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
        let token = Api::client_token(&emulator, &http).await;
        Api {
            emulator,
            http,
            token,
        }
    }

    /// A client-credentials access token of the environment's client.
    async fn client_token(emulator: &Emulator, http: &reqwest::Client) -> String {
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
        answer["access_token"].as_str().unwrap().to_owned()
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
    // A token signed by a withdrawn key no longer authenticates.
    api.emulator
        .rotate_keys(scalekit_emulator::Rotation::WithdrawOld)
        .await
        .unwrap();
    let (status, body) = api.get(path).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    let api = Api {
        token: Api::client_token(&api.emulator, &api.http).await,
        ..api
    };
    let (status, _) = api.get(path).await;
    assert_eq!(status, StatusCode::OK);
    // Unknown management paths answer in the platform's shape too.
    assert_not_found(api.get("/api/v1/no_such_thing").await);
    let (status, body) = api.delete("/api/v1/connections").await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "UNIMPLEMENTED",
    );
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
    // The link opens the admin portal page, with the features it names.
    let portal = body["location"].as_str().unwrap().to_owned();
    let response = api.http.get(&portal).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Initrode"), "{html}");
    assert!(html.contains("id=\"sso\""));
    assert!(!html.contains("id=\"dir_sync\""));

    let (status, body) = api.get("/api/v1/organizations?external_id=tenant-7").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["organizations"].as_array().unwrap().len(), 1);

    let (status, body) = api.delete(&format!("/api/v1/organizations/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(!api.emulator.organizations().iter().any(|o| o.id == id));
    let gone = api.http.get(&portal).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

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

#[tokio::test]
async fn connections_are_listed_read_and_toggled_with_events() {
    let api = Api::start().await;
    let acme = api.emulator.organizations()[0].clone();
    let (status, body) = api.get("/api/v1/connections").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["connections"].as_array().unwrap().len(), 2);
    assert_eq!(body["next_page_token"], "");
    let (_, body) = api
        .get(&format!("/api/v1/connections?organization_id={}", acme.id))
        .await;
    assert_eq!(body["connections"][0]["id"], acme.connection_id.as_str());

    let (status, body) = api
        .get(&format!("/api/v1/organizations/{}/connections", acme.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["connections"][0]["id"], acme.connection_id.as_str());

    let path = format!(
        "/api/v1/organizations/{}/connections/{}",
        acme.id, acme.connection_id
    );
    let (status, body) = api.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["organization_id"], acme.id.as_str());
    assert_eq!(body["enabled"], true);

    let (status, body) = api.patch(&format!("{path}:disable"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], false);
    assert!(!api.emulator.connection_enabled(&acme.connection_id));
    let (_, body) = api.get(&path).await;
    assert_eq!(body["enabled"], false);
    assert_eq!(body["status"], "INACTIVE");
    let (status, _) = api.patch(&format!("{path}:enable"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(api.emulator.connection_enabled(&acme.connection_id));

    // Not found: an unknown connection, another organization's, an
    // unknown organization.
    let globex = api.emulator.organizations()[1].clone();
    assert_not_found(
        api.get(&format!(
            "/api/v1/organizations/{}/connections/conn_000000000000000001",
            acme.id
        ))
        .await,
    );
    assert_not_found(
        api.get(&format!(
            "/api/v1/organizations/{}/connections/{}",
            acme.id, globex.connection_id
        ))
        .await,
    );
    assert_not_found(
        api.patch(
            &format!(
                "/api/v1/organizations/{}/connections/conn_000000000000000001:enable",
                acme.id
            ),
            json!({}),
        )
        .await,
    );
    assert_not_found(
        api.get("/api/v1/organizations/org_000000000000000001/connections")
            .await,
    );
    assert_invalid(
        api.get("/api/v1/connections?page_size=many").await,
        "page_size",
    );
}

#[tokio::test]
async fn connection_toggles_through_the_api_emit_webhook_events() {
    let api = Api::start().await;
    api.emulator.add_webhook_url("http://127.0.0.1:9/hooks");
    let acme = api.emulator.organizations()[0].clone();
    let path = format!(
        "/api/v1/organizations/{}/connections/{}",
        acme.id, acme.connection_id
    );
    api.patch(&format!("{path}:disable"), json!({})).await;
    api.patch(&format!("{path}:disable"), json!({})).await;
    api.patch(&format!("{path}:enable"), json!({})).await;
    let types: Vec<String> = api
        .emulator
        .webhook_deliveries()
        .iter()
        .map(|d| d.event["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        ["organization.sso_disabled", "organization.sso_enabled"]
    );
}

#[tokio::test]
async fn directories_list_the_users_and_groups_provisioned_over_scim() {
    let api = Api::start().await;
    let acme = api.emulator.organizations()[0].clone();
    let directory = api
        .emulator
        .directories()
        .into_iter()
        .find(|d| d.organization_id == acme.id)
        .unwrap();
    for (resource, body) in [
        (
            "Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "lin@example.com",
                   "name": {"givenName": "Lin", "familyName": "Ye"}, "emails": [{"value": "lin@example.com", "primary": true}]}),
        ),
        (
            "Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering"}),
        ),
    ] {
        let response = api
            .http
            .post(format!("{}/{resource}", directory.endpoint))
            .bearer_auth(&directory.bearer_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let base = format!("/api/v1/organizations/{}/directories", acme.id);
    let (status, body) = api.get(&base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["directories"][0]["id"], directory.id.as_str());
    assert_eq!(body["directories"][0]["total_users"], 1);

    let (status, body) = api.get(&format!("{base}/{}", directory.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["directory_type"], "SCIM");
    assert!(body["last_sync_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["enabled"], true);

    let (status, body) = api.get(&format!("{base}/{}/users", directory.id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total_size"], 1);
    assert_eq!(body["users"][0]["email"], "lin@example.com");
    assert_eq!(body["users"][0]["given_name"], "Lin");
    assert_eq!(body["next_page_token"], "");

    let (status, body) = api.get(&format!("{base}/{}/groups", directory.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["groups"][0]["display_name"], "Engineering");

    let (status, body) = api
        .patch(&format!("{base}/{}:disable", directory.id), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!api.emulator.directories()[0].enabled);
    api.patch(&format!("{base}/{}:enable", directory.id), json!({}))
        .await;
    assert!(api.emulator.directories()[0].enabled);

    assert_not_found(api.get(&format!("{base}/dir_000000000000000001")).await);
    assert_not_found(
        api.get(&format!("{base}/dir_000000000000000001/users"))
            .await,
    );
    assert_not_found(
        api.get("/api/v1/organizations/org_000000000000000001/directories")
            .await,
    );
    assert_invalid(
        api.get(&format!(
            "{base}/{}/users?page_token=bm90LWEtdG9rZW4",
            directory.id
        ))
        .await,
        "page_token",
    );
}

#[tokio::test]
async fn domains_are_created_read_listed_and_deleted() {
    let api = Api::start().await;
    let org = api.create_org("Hooli").await;
    let base = format!("/api/v1/organizations/{org}/domains");
    let (status, body) = api
        .post(
            &base,
            json!({"domain": "Hooli.example", "domain_type": "ORGANIZATION_DOMAIN"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["domain"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["domain"]["domain"], "hooli.example");
    // The organization's first domain routes its sign-ins.
    assert_eq!(
        api.emulator
            .organizations()
            .iter()
            .find(|o| o.id == org)
            .unwrap()
            .domain,
        "hooli.example"
    );
    let (status, body) = api.get(&format!("{base}/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["domain"]["organization_id"], org.as_str());
    let (_, body) = api.get(&base).await;
    assert_eq!(body["domains"].as_array().unwrap().len(), 1);
    let (status, body) = api.post(&base, json!({"domain": "hooli.example"})).await;
    assert_error(status, &body, StatusCode::CONFLICT, "ALREADY_EXISTS");
    let (status, _) = api.delete(&format!("{base}/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_not_found(api.get(&format!("{base}/{id}")).await);
    assert_not_found(api.delete(&format!("{base}/{id}")).await);
    assert_not_found(
        api.post(
            "/api/v1/organizations/org_000000000000000001/domains",
            json!({"domain": "a.example"}),
        )
        .await,
    );
    assert_invalid(api.post(&base, json!({})).await, "domain");
    assert_invalid(
        api.post(&base, json!({"domain": "not a domain"})).await,
        "domain",
    );
    assert_invalid(
        api.post(
            &base,
            json!({"domain": "b.example", "domain_type": "OTHER"}),
        )
        .await,
        "domain_type",
    );
}

#[tokio::test]
async fn roles_are_listed_and_created() {
    let api = Api::start().await;
    let org = api.create_org("Pied Piper").await;
    let base = format!("/api/v1/organizations/{org}/roles");
    let (status, body) = api.get(&base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "member"]);
    let (status, body) = api
        .post(
            &base,
            json!({"name": "editor", "display_name": "Editor", "permissions": ["docs:write"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["role"]["id"].as_str().unwrap().starts_with("role_"));
    assert_eq!(body["role"]["permissions"][0]["name"], "docs:write");
    assert_eq!(body["role"]["is_org_role"], true);
    let (_, body) = api.get(&base).await;
    assert_eq!(body["roles"].as_array().unwrap().len(), 3);
    let (status, body) = api.post(&base, json!({"name": "editor"})).await;
    assert_error(status, &body, StatusCode::CONFLICT, "ALREADY_EXISTS");
    assert_invalid(api.post(&base, json!({"display_name": "X"})).await, "name");
    assert_invalid(
        api.post(&base, json!({"name": "x", "permissions": [""]}))
            .await,
        "permissions[0]",
    );
    assert_not_found(
        api.get("/api/v1/organizations/org_000000000000000001/roles")
            .await,
    );
}

#[tokio::test]
async fn users_are_created_with_a_membership_read_listed_updated_and_deleted() {
    let api = Api::start().await;
    let org = api.create_org("Umbrella").await;
    let (status, body) = api
        .post(
            &format!("/api/v1/organizations/{org}/users"),
            json!({
                "email": "alice@umbrella.example",
                "external_id": "u-1",
                "user_profile": {"first_name": "Alice", "last_name": "Abernathy"},
                "membership": {"roles": [{"name": "admin"}]},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = &body["user"];
    let id = user["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("usr_"));
    assert_eq!(user["email"], "alice@umbrella.example");
    assert_eq!(user["user_profile"]["first_name"], "Alice");
    assert_eq!(user["memberships"][0]["organization_id"], org.as_str());
    assert_eq!(user["memberships"][0]["roles"][0]["name"], "admin");
    assert_eq!(user["memberships"][0]["membership_status"], "ACTIVE");

    let (status, body) = api.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["external_id"], "u-1");

    let (_, body) = api.get("/api/v1/users").await;
    assert_eq!(body["total_size"], 3);
    let (status, body) = api.get(&format!("/api/v1/organizations/{org}/users")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total_size"], 1);
    assert_eq!(body["users"][0]["id"], id.as_str());

    let (status, body) = api
        .patch(
            &format!("/api/v1/users/{id}"),
            json!({"user_profile": {"last_name": "Smith", "locale": "en-GB"}, "metadata": {"team": "r&d"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["user_profile"]["last_name"], "Smith");
    assert_eq!(body["user"]["user_profile"]["locale"], "en-GB");
    assert_eq!(body["user"]["metadata"]["team"], "r&d");
    let seen = api
        .emulator
        .users()
        .into_iter()
        .find(|u| u.id == id)
        .unwrap();
    assert_eq!(seen.family_name, "Smith");
    assert_eq!(seen.roles, ["admin"]);

    let (status, _) = api.delete(&format!("/api/v1/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(api.emulator.users().iter().all(|u| u.id != id));
    assert_not_found(api.get(&format!("/api/v1/users/{id}")).await);
    assert_not_found(api.patch(&format!("/api/v1/users/{id}"), json!({})).await);
    assert_not_found(api.delete(&format!("/api/v1/users/{id}")).await);
    assert_not_found(
        api.post(
            "/api/v1/organizations/org_000000000000000001/users",
            json!({"email": "x@y.example"}),
        )
        .await,
    );

    let users = format!("/api/v1/organizations/{org}/users");
    assert_invalid(api.post(&users, json!({})).await, "email");
    assert_invalid(
        api.post(&users, json!({"email": "not-an-email"})).await,
        "email",
    );
    assert_invalid(
        api.post(
            &users,
            json!({"email": "b@umbrella.example", "membership": {"roles": [""]}}),
        )
        .await,
        "membership.roles[0]",
    );
    let (status, body) = api.post(&users, json!({"email": "ada@example.com"})).await;
    assert_error(status, &body, StatusCode::CONFLICT, "ALREADY_EXISTS");

    // With every seeded user and organization deleted, the library API
    // still mints tokens for the seeded user.
    for user in api.emulator.users() {
        let (status, _) = api.delete(&format!("/api/v1/users/{}", user.id)).await;
        assert_eq!(status, StatusCode::OK);
    }
    for org in api.emulator.organizations() {
        let (status, _) = api
            .delete(&format!("/api/v1/organizations/{}", org.id))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert!(api.emulator.users().is_empty());
    let (_, body) = api.get("/api/v1/users").await;
    assert_eq!(body["total_size"], 0);
    assert_eq!(body["next_page_token"], "");
    assert!(api.emulator.mint_id_token(json!({})).is_ok());
    assert!(api.emulator.mint_access_token(json!({})).is_ok());
}

#[tokio::test]
async fn memberships_and_invitations_are_added_updated_resent_and_removed() {
    let api = Api::start().await;
    let org = api.create_org("Vandelay").await;
    let ada = api.emulator.users()[0].clone();
    let path = format!("/api/v1/memberships/organizations/{org}/users/{}", ada.id);
    let (status, body) = api
        .call(
            Method::POST,
            &format!("{path}?send_invitation_email=true"),
            Some(json!({"roles": ["member"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user_id"], ada.id.as_str());
    assert_eq!(body["organization_id"], org.as_str());
    assert_eq!(body["roles"], json!(["member"]));
    assert_eq!(body["membership_status"], "PENDING_INVITE");
    let (status, body) = api.post(&path, json!({})).await;
    assert_error(status, &body, StatusCode::CONFLICT, "ALREADY_EXISTS");

    let resend = format!(
        "/api/v1/invites/organizations/{org}/users/{}/resend",
        ada.id
    );
    let (status, body) = api.patch(&resend, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["membership_status"], "PENDING_INVITE");

    let (status, body) = api.patch(&path, json!({"roles": ["admin"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["admin"]));
    let (_, body) = api.get(&format!("/api/v1/users/{}", ada.id)).await;
    assert_eq!(body["user"]["memberships"].as_array().unwrap().len(), 2);
    // Ada still signs in to her first organization, with its roles.
    let now = api
        .emulator
        .users()
        .into_iter()
        .find(|u| u.id == ada.id)
        .unwrap();
    assert_eq!(now.organization_id, ada.organization_id);
    // Signing in to the new organization: that membership's roles, and the
    // invitation accepted.
    let tokens = api.sign_in(&org, &ada.email).await;
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["oid"], org.as_str());
    assert_eq!(access["roles"], json!(["admin"]));
    let (_, body) = api.get(&format!("/api/v1/users/{}", ada.id)).await;
    assert_eq!(
        body["user"]["memberships"][1]["membership_status"],
        "ACTIVE"
    );

    let (status, _) = api.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Removed from the organization: its refresh tokens fail.
    let (status, body) = api.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_not_found(api.delete(&path).await);
    assert_not_found(api.patch(&path, json!({"roles": ["admin"]})).await);
    assert_not_found(api.patch(&resend, json!({})).await);
    assert_not_found(
        api.post(
            &format!("/api/v1/memberships/organizations/{org}/users/usr_000000000000000001"),
            json!({}),
        )
        .await,
    );
    assert_invalid(api.post(&path, json!({"roles": "admin"})).await, "roles");
    assert_invalid(
        api.call(
            Method::POST,
            &format!("{path}?send_invitation_email=perhaps"),
            Some(json!({})),
        )
        .await,
        "send_invitation_email",
    );
    // An active membership has no invitation to resend.
    let acme = &ada.organization_id;
    let (status, body) = api
        .patch(
            &format!(
                "/api/v1/invites/organizations/{acme}/users/{}/resend",
                ada.id
            ),
            json!({}),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "FAILED_PRECONDITION",
    );
}

#[tokio::test]
async fn connected_accounts_are_created_authorized_and_run_tools() {
    let api = Api::start().await;
    let base = "/api/v1/connected_accounts";
    let (status, body) = api
        .post(base, json!({"connector": "gmail", "identifier": "user_42"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PENDING");
    assert!(body["id"].as_str().unwrap().starts_with("ca_"));

    let (status, body) = api
        .post(
            &format!("{base}/magic_link"),
            json!({"connector": "gmail", "identifier": "user_42"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["link"]
            .as_str()
            .unwrap()
            .starts_with(api.emulator.url())
    );

    let tool = json!({"tool_name": "gmail_fetch_mails", "identifier": "user_42", "tool_input": {"max": 5}});
    let (status, body) = api.post("/api/v1/execute_tool", tool.clone()).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "FAILED_PRECONDITION",
    );

    let (status, body) = api
        .call(
            Method::PUT,
            base,
            Some(json!({"connector": "gmail", "identifier": "user_42",
                        "authorization_details": {"oauth_token": {"access_token": "at", "scopes": ["mail.read"]}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ACTIVE");
    assert!(body.get("authorization_details").is_none());

    let (status, body) = api.post("/api/v1/execute_tool", tool).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!({"tool_name": "gmail_fetch_mails", "connector": "gmail", "identifier": "user_42", "input": {"max": 5}})
    );
    assert!(body["execution_id"].as_str().is_some());

    // The magic link's page authorizes an account.
    let (status, _) = api
        .post(base, json!({"connector": "slack", "identifier": "user_42"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = api
        .post(
            &format!("{base}/magic_link"),
            json!({"connector": "slack", "identifier": "user_42"}),
        )
        .await;
    let link = url::Url::parse(body["link"].as_str().unwrap()).unwrap();
    let page = api.http.get(link.as_str()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let link_id = link
        .query_pairs()
        .find(|(k, _)| k == "link_id")
        .unwrap()
        .1
        .into_owned();
    let forged = api
        .http
        .post(format!("{}{}", api.emulator.url(), link.path()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("link_id", "lnk_000000000000000001")]))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
    let authorized = api
        .http
        .post(format!("{}{}", api.emulator.url(), link.path()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("link_id", &link_id)]))
        .send()
        .await
        .unwrap();
    assert_eq!(authorized.status(), StatusCode::OK);
    let (status, body) = api
        .post(
            "/api/v1/execute_tool",
            json!({"tool_name": "slack_send", "identifier": "user_42", "connection_name": "slack"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["connector"], "slack");

    let (status, body) = api.get(&format!("{base}?connector=gmail")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["connected_accounts"].as_array().unwrap().len(), 1);

    let (status, body) = api
        .post(base, json!({"connector": "gmail", "identifier": "user_42"}))
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "ALREADY_EXISTS");
    assert_not_found(
        api.call(
            Method::PUT,
            base,
            Some(json!({"connector": "notion", "identifier": "user_42", "authorization_details": {"api_key": "k"}})),
        )
        .await,
    );
    assert_not_found(
        api.post(
            &format!("{base}/magic_link"),
            json!({"connector": "slack", "identifier": "nobody"}),
        )
        .await,
    );
    assert_not_found(
        api.post(
            "/api/v1/execute_tool",
            json!({"tool_name": "x", "identifier": "nobody"}),
        )
        .await,
    );
    assert_invalid(
        api.post(base, json!({"connector": "gmail"})).await,
        "identifier",
    );
    assert_invalid(
        api.call(
            Method::PUT,
            base,
            Some(json!({"connector": "gmail", "identifier": "user_42"})),
        )
        .await,
        "authorization_details",
    );
    assert_invalid(
        api.post("/api/v1/execute_tool", json!({"identifier": "user_42"}))
            .await,
        "tool_name",
    );
}

fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

impl Api {
    /// The hosted sign-in page for `organization_id`, as HTML.
    async fn sign_in_page(&self, organization_id: &str) -> String {
        let url = format!(
            "{}/oauth/authorize?{}",
            self.emulator.url(),
            form(&self.authorize_params(organization_id))
        );
        let page = self.http.get(url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        page.text().await.unwrap()
    }

    fn authorize_params<'a>(&'a self, organization_id: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("response_type", "code"),
            ("client_id", self.emulator.client_id()),
            ("redirect_uri", CALLBACK),
            ("scope", "openid email offline_access"),
            ("state", "st4te"),
            ("organization_id", organization_id),
        ]
    }

    /// Signs in on the hosted page as the user listed with `email` and
    /// exchanges the code: the token answer.
    async fn sign_in(&self, organization_id: &str, email: &str) -> Value {
        let html = self.sign_in_page(organization_id).await;
        let marker = format!("data-email=\"{email}\"");
        let at = html.find(&marker).expect("the page lists the user");
        let button = &html[..at];
        let start = button.rfind("value=\"").unwrap() + "value=\"".len();
        let user_id = &button[start..button[start..].find('"').unwrap() + start];
        let mut params = self.authorize_params(organization_id);
        params.push(("user_id", user_id));
        let response = self
            .http
            .post(format!("{}/oauth/authorize", self.emulator.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&params))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        let (status, tokens) = self
            .token_call(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    async fn token_call(&self, params: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut all = params.to_vec();
        all.push(("client_id", self.emulator.client_id()));
        all.push(("client_secret", self.emulator.client_secret()));
        let response = self
            .http
            .post(format!("{}/oauth/token", self.emulator.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&all))
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.token_call(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }
}

#[tokio::test]
async fn a_user_created_through_the_api_signs_in_with_the_roles_it_gave() {
    let api = Api::start().await;
    let org = api.create_org("Wonka Industries").await;
    let (status, body) = api
        .post(
            &format!("/api/v1/organizations/{org}/roles"),
            json!({"name": "editor", "permissions": ["docs:write", "docs:read"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = api
        .post(
            &format!("/api/v1/organizations/{org}/users"),
            json!({"email": "charlie@wonka.example", "membership": {"roles": [{"name": "editor"}]},
                   "user_profile": {"first_name": "Charlie", "last_name": "Bucket"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user_id = body["user"]["id"].as_str().unwrap().to_owned();

    let tokens = api.sign_in(&org, "charlie@wonka.example").await;
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], user_id.as_str());
    assert_eq!(access["oid"], org.as_str());
    assert_eq!(access["roles"], json!(["editor"]));
    assert_eq!(access["permissions"], json!(["docs:write", "docs:read"]));
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["email"], "charlie@wonka.example");
    assert_eq!(id_token["name"], "Charlie Bucket");

    // A role change through the API shows in the refreshed tokens.
    let (status, _) = api
        .patch(
            &format!("/api/v1/memberships/organizations/{org}/users/{user_id}"),
            json!({"roles": ["admin"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refreshed) = api.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access = claims_of(refreshed["access_token"].as_str().unwrap());
    assert_eq!(access["roles"], json!(["admin"]));
    assert_eq!(
        access["permissions"],
        json!(["admin:read", "projects:read"])
    );

    // Deleted: gone from the page, and the session's refresh tokens fail.
    let (status, _) = api.delete(&format!("/api/v1/users/{user_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let html = api.sign_in_page(&org).await;
    assert!(!html.contains("charlie@wonka.example"));
    let (status, body) = api
        .refresh(refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn sessions_are_listed_and_revoking_them_refuses_refresh_tokens() {
    let api = Api::start().await;
    let ada = api.emulator.users()[0].clone();
    let first = api.sign_in(&ada.organization_id, &ada.email).await;
    let second = api.sign_in(&ada.organization_id, &ada.email).await;
    let first_sid = claims_of(first["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, body) = api.get(&format!("/api/v1/users/{}/sessions", ada.id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total_size"], 2);
    assert_eq!(body["sessions"][0]["session_id"], first_sid.as_str());
    assert_eq!(body["sessions"][0]["status"], "active");

    let (status, body) = api.get(&format!("/api/v1/sessions/{first_sid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user_id"], ada.id.as_str());
    assert_eq!(body["organization_id"], ada.organization_id.as_str());

    // Revoking one session refuses its refresh tokens only.
    let (status, body) = api
        .post(&format!("/api/v1/sessions/{first_sid}/revoke"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked_session"]["status"], "revoked");
    let (status, body) = api.refresh(first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, renewed) = api.refresh(second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");

    // Revoking all of the user's sessions refuses every refresh token.
    let (status, body) = api
        .post(
            &format!("/api/v1/users/{}/sessions/revoke", ada.id),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total_revoked"], 1);
    let (_, body) = api
        .get(&format!(
            "/api/v1/users/{}/sessions?filter.status=active",
            ada.id
        ))
        .await;
    assert_eq!(body["total_size"], 0);
    let (_, body) = api
        .get(&format!(
            "/api/v1/users/{}/sessions?filter.status=revoked",
            ada.id
        ))
        .await;
    assert_eq!(body["total_size"], 2);
    assert_invalid(
        api.get(&format!(
            "/api/v1/users/{}/sessions?filter.status=sleeping",
            ada.id
        ))
        .await,
        "filter.status",
    );
    for token in [&second["refresh_token"], &renewed["refresh_token"]] {
        let (status, body) = api.refresh(token.as_str().unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
    }

    assert_not_found(api.get("/api/v1/sessions/ses_000000000000000001").await);
    assert_not_found(
        api.post("/api/v1/sessions/ses_000000000000000001/revoke", json!({}))
            .await,
    );
    assert_not_found(
        api.get("/api/v1/users/usr_000000000000000001/sessions")
            .await,
    );
    assert_invalid(
        api.get("/api/v1/sessions/not-a-session").await,
        "session_id",
    );
    assert_invalid(
        api.post("/api/v1/users/someone/sessions/revoke", json!({}))
            .await,
        "user_id",
    );
}

#[tokio::test]
async fn an_invited_user_accepts_the_invitation_by_signing_in() {
    let api = Api::start().await;
    let org = api.create_org("Stark").await;
    let (status, body) = api
        .post(
            &format!("/api/v1/organizations/{org}/users?send_invitation_email=true"),
            json!({"email": "pepper@stark.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body["user"]["memberships"][0]["membership_status"],
        "PENDING_INVITE"
    );
    assert_eq!(body["user"]["memberships"][0]["roles"][0]["name"], "member");
    let resend = format!("/api/v1/invites/organizations/{org}/users/{id}/resend");
    let (status, _) = api.patch(&resend, json!({})).await;
    assert_eq!(status, StatusCode::OK);

    let tokens = api.sign_in(&org, "pepper@stark.example").await;
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["roles"], json!(["member"]));
    let (_, body) = api.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(
        body["user"]["memberships"][0]["membership_status"],
        "ACTIVE"
    );
    let (status, body) = api.patch(&resend, json!({})).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "FAILED_PRECONDITION",
    );
}
