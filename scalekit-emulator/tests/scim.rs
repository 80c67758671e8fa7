//! SCIM provisioning against the emulator's directory endpoint: each change
//! reaches a local webhook receiver as its `organization.directory.*` event,
//! verified by our webhook verifier with the environment's secret, in order
//! and once per change; a failing receiver gets the same delivery again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use scalekit_core::webhook::{WebhookEvent, WebhookVerifier};
use scalekit_emulator::{DeliveryState, Directory, Emulator};
use serde_json::{Value, json};

/// What the receiver saw: each request's `webhook-id` and, when it
/// answered 200, the verified event.
type Log = Arc<Mutex<Vec<(String, Option<WebhookEvent>)>>>;

#[derive(Clone)]
struct Receiver {
    verifier: Arc<Mutex<Option<WebhookVerifier>>>,
    fail_first: Arc<Mutex<u32>>,
    log: Log,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    {
        let mut fail = r.fail_first.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            r.log.lock().unwrap().push((id, None));
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let verified = r
        .verifier
        .lock()
        .unwrap()
        .as_ref()
        .map(|v| v.verify_event(&headers, &body));
    match verified {
        Some(Ok(event)) => {
            r.log.lock().unwrap().push((id, Some(event)));
            StatusCode::OK
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

struct Setup {
    emulator: Emulator,
    log: Log,
    directory: Directory,
    http: reqwest::Client,
}

/// A receiver failing its first `fail_first` requests, and an emulator
/// delivering to it with short retry delays.
async fn setup(fail_first: u32) -> Setup {
    let receiver = Receiver {
        verifier: Arc::new(Mutex::new(None)),
        fail_first: Arc::new(Mutex::new(fail_first)),
        log: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/webhooks", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let emulator = Emulator::builder()
        .webhook_url(url)
        .webhook_retry_delays(vec![Duration::from_millis(100), Duration::from_millis(200)])
        .start()
        .await
        .unwrap();
    // The receiver verifies with the secret the environment signs with
    // (the binary prints it as SCALEKIT_WEBHOOK_SECRET).
    assert!(emulator.webhook_secret().starts_with("whsec_"));
    *receiver.verifier.lock().unwrap() =
        Some(WebhookVerifier::new(emulator.webhook_secret()).unwrap());
    let directory = emulator.directories()[0].clone();
    assert_eq!(
        directory.endpoint,
        format!("{}/directory/{}/scim/v2", emulator.url(), directory.id)
    );
    Setup {
        emulator,
        log: receiver.log,
        directory,
        http: reqwest::Client::new(),
    }
}

impl Setup {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.directory.endpoint))
            .bearer_auth(&self.directory.bearer_token)
            .header("content-type", "application/scim+json")
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Waits until the receiver saw `n` requests.
    async fn wait_for(&self, n: usize) -> Vec<(String, Option<WebhookEvent>)> {
        for _ in 0..100 {
            if self.log.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Nothing more arrives after the expected requests.
        tokio::time::sleep(Duration::from_millis(400)).await;
        self.log.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_changes_produce_the_six_directory_events_in_order() {
    let s = setup(0).await;
    use reqwest::Method;
    let (status, user) = s
        .send(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "lin@example.com",
                "externalId": "okta-1",
                "name": {"givenName": "Lin", "familyName": "Chen"},
                "emails": [{"value": "lin@example.com", "primary": true, "type": "work"}],
                "active": true,
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let user_id = user["id"].as_str().unwrap().to_owned();
    assert!(user_id.starts_with("diruser_"));
    assert_eq!(user["meta"]["resourceType"], "User");

    // Listing with a filter finds it (userName is case-insensitive).
    let (status, list) = s
        .send(
            Method::GET,
            "/Users?filter=userName%20eq%20%22LIN%40example.com%22",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["id"], user_id);
    let (_, none) = s
        .send(
            Method::GET,
            "/Users?filter=userName%20eq%20%22nobody%22",
            None,
        )
        .await;
    assert_eq!(none["totalResults"], 0);

    let (status, patched) = s
        .send(
            Method::PATCH,
            &format!("/Users/{user_id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}],
            })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["active"], false);
    // The directory's state follows (what the management API serves).
    let users = s.emulator.directory_users(&s.directory.id).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["active"], false);

    let (status, group) = s
        .send(
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"value": user_id}],
            })),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["members"][0]["display"], "lin@example.com");
    let (_, read) = s
        .send(Method::GET, &format!("/Users/{user_id}"), None)
        .await;
    assert_eq!(read["groups"][0]["value"], group_id);

    let (status, patched) = s
        .send(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "replace", "path": "displayName", "value": "Platform"},
                    {"op": "remove", "path": format!("members[value eq \"{user_id}\"]")},
                ],
            })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["displayName"], "Platform");
    assert_eq!(patched["members"], json!([]));

    let (status, _) = s
        .send(Method::DELETE, &format!("/Groups/{group_id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = s
        .send(Method::DELETE, &format!("/Users/{user_id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, gone) = s
        .send(Method::GET, &format!("/Users/{user_id}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(gone["status"], "404");
    assert!(
        s.emulator
            .directory_users(&s.directory.id)
            .unwrap()
            .is_empty()
    );
    assert!(
        s.emulator
            .directory_groups(&s.directory.id)
            .unwrap()
            .is_empty()
    );

    let log = s.wait_for(6).await;
    let kinds: Vec<String> = log
        .iter()
        .map(|(_, e)| e.as_ref().unwrap().event_type.as_str().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "organization.directory.user_created",
            "organization.directory.user_updated",
            "organization.directory.group_created",
            "organization.directory.group_updated",
            "organization.directory.group_deleted",
            "organization.directory.user_deleted",
        ]
    );
    // Once per change: six distinct deliveries.
    let mut ids: Vec<&str> = log.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    let events: Vec<&WebhookEvent> = log.iter().filter_map(|(_, e)| e.as_ref()).collect();
    for event in &events {
        assert_eq!(
            event.organization_id.as_deref(),
            Some(s.directory.organization_id.as_str())
        );
        assert_eq!(event.spec_version.as_deref(), Some("1"));
    }
    let created = &events[0].data;
    assert_eq!(events[0].object.as_deref(), Some("DirectoryUser"));
    assert_eq!(created["id"], user_id);
    assert_eq!(created["email"], "lin@example.com");
    assert_eq!(created["dp_id"], "okta-1");
    assert_eq!(created["given_name"], "Lin");
    assert_eq!(created["active"], true);
    assert_eq!(events[1].data["active"], false);
    assert_eq!(events[2].object.as_deref(), Some("DirectoryGroup"));
    assert_eq!(events[2].data["display_name"], "Engineering");
    assert_eq!(events[2].data["directory_id"], s.directory.id);
    assert_eq!(events[3].data["display_name"], "Platform");
    assert_eq!(events[4].data["id"], group_id);
    assert_eq!(
        events[5].data,
        json!({
            "id": user_id,
            "organization_id": s.directory.organization_id,
            "dp_id": "okta-1",
            "email": "lin@example.com",
        })
    );
    assert!(
        s.emulator
            .webhook_deliveries()
            .iter()
            .all(|d| d.state == DeliveryState::Delivered && d.attempts == 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_the_same_delivery_again_and_the_page_resends() {
    let s = setup(1).await;
    let (status, _) = s
        .send(
            reqwest::Method::POST,
            "/Users",
            Some(json!({"userName": "kim@example.com"})),
        )
        .await;
    assert_eq!(status, 201);
    let log = s.wait_for(2).await;
    assert_eq!(log.len(), 2, "one failed attempt, one retry");
    assert!(log[0].1.is_none(), "the first attempt was answered 500");
    assert_eq!(log[0].0, log[1].0, "the retry carries the same webhook-id");
    assert!(log[0].0.starts_with("msg_"));
    let event = log[1].1.as_ref().unwrap();
    assert_eq!(
        event.event_type.as_str(),
        "organization.directory.user_created"
    );
    let deliveries = s.emulator.webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, 2);
    assert_eq!(deliveries[0].last_status, Some(200));
    assert_eq!(deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(deliveries[0].webhook_id, log[0].0);

    // The deliveries page lists it with its button; the button sends the
    // same delivery once more.
    let page = reqwest::get(format!("{}/deliveries", s.emulator.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&log[0].0));
    assert!(page.contains("action=\"/deliveries/1/resend\""));
    assert!(page.contains("delivered"));
    let resend = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/deliveries/1/resend", s.emulator.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status(), 303);
    let log = s.wait_for(3).await;
    assert_eq!(log.len(), 3);
    assert_eq!(log[2].0, log[0].0);
    assert_eq!(s.emulator.webhook_deliveries()[0].attempts, 3);
    let unknown = reqwest::Client::new()
        .post(format!("{}/deliveries/99/resend", s.emulator.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_errors_are_rfc_7644_errors() {
    let s = setup(0).await;
    let users = format!("{}/Users", s.directory.endpoint);
    for request in [
        s.http.get(&users),
        s.http.get(&users).bearer_auth("wrong"),
        s.http.get(&users).header("authorization", "Basic abc"),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["content-type"], "application/scim+json");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(body["status"], "401");
    }
    // Another directory's secret does not open this one.
    let other = &s.emulator.directories()[1];
    let r = s
        .http
        .get(&users)
        .bearer_auth(&other.bearer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    for filter in [
        "nickName eq \"x\"",
        "password eq \"x\"",
        "userName sw \"a\"",
        "userName eq unquoted",
        "userName",
    ] {
        let (status, body) = s
            .send(
                reqwest::Method::GET,
                &format!(
                    "/Users?filter={}",
                    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
                ),
                None,
            )
            .await;
        assert_eq!(status, 400, "{filter}");
        assert_eq!(body["scimType"], "invalidFilter", "{filter}");
        assert_eq!(body["status"], "400");
    }
    let (status, body) = s
        .send(
            reqwest::Method::GET,
            "/Groups?filter=userName%20eq%20%22x%22",
            None,
        )
        .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );

    let (status, _) = s
        .send(
            reqwest::Method::POST,
            "/Users",
            Some(json!({"userName": "dup@example.com"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = s
        .send(
            reqwest::Method::POST,
            "/Users",
            Some(json!({"userName": "DUP@example.com"})),
        )
        .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    let (status, body) = s
        .send(reqwest::Method::POST, "/Users", Some(json!({"emails": []})))
        .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let r = s
        .request(reqwest::Method::POST, "/Users")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["scimType"],
        "invalidSyntax"
    );
    let (status, body) = s
        .send(
            reqwest::Method::POST,
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": "diruser_unknown"}]})),
        )
        .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    let (status, _) = s
        .send(reqwest::Method::GET, "/Users/diruser_missing", None)
        .await;
    assert_eq!(status, 404);

    // Only the one successful creation was a change.
    let log = s.wait_for(1).await;
    assert_eq!(log.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_and_directory_toggles_emit_their_events() {
    let s = setup(0).await;
    let acme = s.emulator.organizations()[0].clone();
    s.emulator
        .set_connection_enabled(&acme.connection_id, false)
        .unwrap();
    s.emulator
        .set_connection_enabled(&acme.connection_id, false)
        .unwrap(); // no change
    assert!(!s.emulator.connection_enabled(&acme.connection_id));
    s.emulator
        .set_connection_enabled(&acme.connection_id, true)
        .unwrap();
    s.emulator
        .set_directory_enabled(&s.directory.id, false)
        .unwrap();
    // A disabled directory refuses provisioning.
    let (status, body) = s.send(reqwest::Method::GET, "/Users", None).await;
    assert_eq!((status, body["status"].as_str()), (403, Some("403")));
    s.emulator
        .set_directory_enabled(&s.directory.id, true)
        .unwrap();
    assert!(
        s.emulator
            .set_connection_enabled("conn_unknown", true)
            .is_err()
    );
    assert!(
        s.emulator
            .set_directory_enabled("dir_unknown", true)
            .is_err()
    );

    let log = s.wait_for(4).await;
    let events: Vec<&WebhookEvent> = log.iter().filter_map(|(_, e)| e.as_ref()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "organization.sso_disabled",
            "organization.sso_enabled",
            "organization.directory_disabled",
            "organization.directory_enabled",
        ]
    );
    assert_eq!(events[0].object.as_deref(), Some("Connection"));
    assert_eq!(events[0].data["id"], acme.connection_id);
    assert_eq!(events[0].data["enabled"], false);
    assert_eq!(events[1].data["enabled"], true);
    assert_eq!(events[2].object.as_deref(), Some("Directory"));
    assert_eq!(events[2].data["id"], s.directory.id);
    assert_eq!(events[3].data["enabled"], true);
    for event in events {
        assert_eq!(event.organization_id.as_deref(), Some(acme.id.as_str()));
    }
}
