//! The transport against a local stub platform (axum on 127.0.0.1): what is
//! sent, `Retry-After`, the retry budget, bounded answers, redirects and
//! error bodies that are not the platform's shape.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use scalekit_core::{Scalekit, ScalekitConfig};
use scalekit_management::{
    CreateOrganizationRequest, ManagementClient, ManagementError, PageOptions, RetryPolicy,
};

/// What the stub answers to the management call number `n` (0-based).
type Script = Arc<dyn Fn(usize, &Method, &Uri, &HeaderMap, &[u8]) -> Response + Send + Sync>;

#[derive(Clone)]
struct Stub {
    tokens: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    script: Script,
}

async fn token(State(stub): State<Stub>) -> Response {
    let n = stub.tokens.fetch_add(1, Ordering::SeqCst);
    (
        [("content-type", "application/json")],
        format!(r#"{{"access_token":"tok-{n}","token_type":"Bearer","expires_in":3600}}"#),
    )
        .into_response()
}

async fn api(
    State(stub): State<Stub>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let n = stub.calls.fetch_add(1, Ordering::SeqCst);
    (stub.script)(n, &method, &uri, &headers, &body)
}

async fn start(script: Script) -> (Stub, ManagementClient) {
    let stub = Stub {
        tokens: Arc::new(AtomicUsize::new(0)),
        calls: Arc::new(AtomicUsize::new(0)),
        script,
    };
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/api/v1/{*rest}", any(api))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = ScalekitConfig::new(&format!("http://{addr}"), "skc_1", "the-secret").unwrap();
    let client = ManagementClient::new(&Scalekit::new(config).unwrap())
        .unwrap()
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(4)
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(50)),
        );
    (stub, client)
}

fn json(status: u16, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

const ORGS: &str = r#"{"organizations":[{"id":"org_1","display_name":"Acme"}],"next_page_token":"","total_size":1}"#;

#[tokio::test]
async fn the_call_carries_the_bearer_the_json_body_and_the_query() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let (stub, client) = start(Arc::new(move |_, method, uri, headers, body| {
        record.lock().unwrap().push((
            method.clone(),
            uri.to_string(),
            headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned()),
            headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned()),
            String::from_utf8(body.to_vec()).unwrap(),
        ));
        if method == Method::POST {
            json(
                201,
                r#"{"organization":{"id":"org_2","display_name":"New"}}"#,
            )
        } else {
            json(200, ORGS)
        }
    }))
    .await;
    let page = client
        .organizations()
        .list_organizations(&PageOptions::new().page_size(5).page_token("a b&c"))
        .await
        .unwrap();
    assert_eq!(page.items[0].id, "org_1");
    let org = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("New"))
        .await
        .unwrap();
    assert_eq!(org.id, "org_2");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].0, Method::GET);
    assert_eq!(
        seen[0].1,
        "/api/v1/organizations?page_size=5&page_token=a+b%26c"
    );
    assert_eq!(seen[0].2.as_deref(), Some("Bearer tok-0"));
    assert_eq!(seen[1].0, Method::POST);
    assert_eq!(seen[1].3.as_deref(), Some("application/json"));
    assert_eq!(seen[1].4, r#"{"display_name":"New"}"#);
    assert_eq!(
        seen[1].2.as_deref(),
        Some("Bearer tok-0"),
        "the token is reused"
    );
    assert_eq!(stub.tokens.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_identifier_is_one_path_segment_whatever_it_holds() {
    let (_, client) = start(Arc::new(|_, _, uri, _, _| {
        let path = uri.path();
        json(
            200,
            &format!(r#"{{"id":"{path}","error_message":"{path}"}}"#),
        )
    }))
    .await;
    let orgs = client.organizations();
    assert_eq!(
        orgs.get_organization("../users").await.unwrap().id,
        "/api/v1/organizations/..%2Fusers"
    );
    assert_eq!(
        orgs.get_organization("a?b#c").await.unwrap().id,
        "/api/v1/organizations/a%3Fb%23c"
    );
    let toggled = client
        .connections()
        .enable_connection("org_1", "conn_1:disable")
        .await
        .unwrap();
    assert_eq!(
        toggled.error_message.as_deref(),
        Some("/api/v1/organizations/org_1/connections/conn_1%3Adisable:enable")
    );
}

#[tokio::test]
async fn dot_segment_identifiers_are_refused_before_any_call() {
    let (stub, client) = start(Arc::new(|_, _, _, _, _| json(200, ORGS))).await;
    for id in [".", "..", ""] {
        let err = client
            .users()
            .list_organization_users(id, &PageOptions::new())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ManagementError::InvalidArgument(_)),
            "{id:?}: {err:?}"
        );
        let err = client
            .organizations()
            .get_organization(id)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ManagementError::InvalidArgument(_)),
            "{id:?}: {err:?}"
        );
    }
    assert_eq!(stub.calls.load(Ordering::SeqCst), 0, "nothing was called");
}

#[tokio::test]
async fn a_post_or_patch_answered_503_is_not_repeated_but_one_answered_429_is() {
    let unavailable = |_, _: &Method, _: &Uri, _: &HeaderMap, _: &[u8]| {
        json(503, r#"{"code":"UNAVAILABLE","message":"busy"}"#)
    };
    let (stub, client) = start(Arc::new(unavailable)).await;
    let err = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Once"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1, "a POST is sent once");
    let err = client
        .organizations()
        .update_organization(
            "org_1",
            &scalekit_management::UpdateOrganizationRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(stub.calls.load(Ordering::SeqCst), 2, "a PATCH is sent once");
    // A GET is repeated (4 attempts under the test policy).
    let _ = client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap_err();
    assert_eq!(stub.calls.load(Ordering::SeqCst), 6);

    // 429: refused before any work, so a POST is repeated.
    let (stub, client) = start(Arc::new(|n, _, _, _, _| {
        if n == 0 {
            json(
                429,
                r#"{"code":"RESOURCE_EXHAUSTED","message":"slow down"}"#,
            )
        } else {
            json(
                201,
                r#"{"organization":{"id":"org_2","display_name":"New"}}"#,
            )
        }
    }))
    .await;
    let org = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("New"))
        .await
        .unwrap();
    assert_eq!(org.id, "org_2");
    assert_eq!(stub.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_cap() {
    // Retry-After: 30 with a 50 ms cap: three waits of 50 ms, not 90 s.
    let (stub, client) = start(Arc::new(|n, _, _, _, _| {
        if n < 3 {
            Response::builder()
                .status(503)
                .header("retry-after", "30")
                .body(Body::from(r#"{"code":"UNAVAILABLE","message":"busy"}"#))
                .unwrap()
        } else {
            json(200, ORGS)
        }
    }))
    .await;
    let started = Instant::now();
    client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(stub.calls.load(Ordering::SeqCst), 4);

    // Under the cap, the platform's word is the wait.
    let (_, client) = start(Arc::new(|n, _, _, _, _| {
        if n == 0 {
            Response::builder()
                .status(429)
                .header("retry-after", "1")
                .body(Body::empty())
                .unwrap()
        } else {
            json(200, ORGS)
        }
    }))
    .await;
    let client = client.retry_policy(RetryPolicy::default().max_delay(Duration::from_secs(5)));
    let started = Instant::now();
    client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_wait_longer_than_the_timeout_gives_the_last_answer() {
    let (stub, client) = start(Arc::new(|_, _, _, _, _| {
        Response::builder()
            .status(503)
            .header("retry-after", "10")
            .body(Body::from(
                r#"{"code":"UNAVAILABLE","message":"down for maintenance"}"#,
            ))
            .unwrap()
    }))
    .await;
    let client = client
        .retry_policy(RetryPolicy::default().max_delay(Duration::from_secs(60)))
        .timeout(Duration::from_secs(2));
    let started = Instant::now();
    let err = client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.code(), Some("UNAVAILABLE"));
    assert!(err.to_string().contains("down for maintenance"));
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_second_401_is_unauthenticated_after_one_new_token() {
    let (stub, client) = start(Arc::new(|_, _, _, _, _| {
        json(
            401,
            r#"{"code":"UNAUTHENTICATED","message":"token revoked"}"#,
        )
    }))
    .await;
    let err = client
        .organizations()
        .get_organization("org_1")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ManagementError::Unauthenticated {
            code: "UNAUTHENTICATED".into(),
            message: "token revoked".into()
        }
    );
    assert_eq!(stub.tokens.load(Ordering::SeqCst), 2);
    assert_eq!(stub.calls.load(Ordering::SeqCst), 2);
    let text = format!("{err} {err:?} {client:?}");
    assert!(
        !text.contains("the-secret") && !text.contains("tok-"),
        "{text}"
    );
}

#[tokio::test]
async fn answers_over_the_limit_are_refused() {
    let big = format!(
        r#"{{"organizations":[{{"id":"org_1","display_name":"{}"}}]}}"#,
        "x".repeat(10_000)
    );
    let (_, client) = start(Arc::new(move |n, _, _, _, _| {
        if n == 0 {
            json(200, &big)
        } else {
            // No Content-Length: the limit is checked as the body arrives.
            let chunks = (0..20).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1000]));
            Response::builder()
                .status(200)
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap()
        }
    }))
    .await;
    let client = client.max_response_bytes(4096);
    for _ in 0..2 {
        let err = client
            .organizations()
            .list_organizations(&PageOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err, ManagementError::TooLarge);
    }
}

#[tokio::test]
async fn redirects_are_refused_and_odd_error_bodies_still_typed() {
    let (stub, client) = start(Arc::new(|n, _, _, _, _| match n {
        0 => Response::builder()
            .status(StatusCode::PERMANENT_REDIRECT)
            .header("location", "http://127.0.0.1:9/elsewhere")
            .body(Body::empty())
            .unwrap(),
        1 => Response::builder()
            .status(404)
            .header("content-type", "text/html")
            .body(Body::from("<h1>Not Found</h1>"))
            .unwrap(),
        2 => json(500, r#"{"code":13,"message":"boom","details":[]}"#),
        3 => json(200, "not json"),
        _ => Response::builder().status(204).body(Body::empty()).unwrap(),
    }))
    .await;
    let orgs = client.organizations();
    assert_eq!(
        orgs.get_organization("org_1").await.unwrap_err(),
        ManagementError::Redirect(308)
    );
    let err = orgs.get_organization("org_1").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.code(), Some("NOT_FOUND"));
    let err = orgs.get_organization("org_1").await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.code(), Some("INTERNAL"));
    let err = orgs.get_organization("org_1").await.unwrap_err();
    assert!(matches!(err, ManagementError::Decode(_)), "{err:?}");
    // An empty success answer to a delete is fine.
    orgs.delete_organization("org_1").await.unwrap();
    assert_eq!(stub.calls.load(Ordering::SeqCst), 5, "nothing was retried");
}

#[tokio::test]
async fn a_post_that_could_not_connect_is_sent_once_the_platform_is_up() {
    // Tokens come from a live stub; the management calls go to a port where
    // nothing listens yet, and where the platform comes up a little later.
    let (stub, _) = start(Arc::new(|_, method, _, _, _| {
        assert_eq!(method, Method::POST);
        json(
            201,
            r#"{"organization":{"id":"org_9","display_name":"Late"}}"#,
        )
    }))
    .await;
    let token_config = {
        let live = stub.clone();
        let app = Router::new()
            .route("/oauth/token", post(token))
            .with_state(live);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        ScalekitConfig::new(&format!("http://{addr}"), "skc_1", "the-secret").unwrap()
    };
    let tokens = Arc::new(scalekit_core::oauth::ClientCredentialsCache::new(
        Scalekit::new(token_config).unwrap(),
    ));
    let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = parked.local_addr().unwrap();
    drop(parked);
    let later = stub.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(40)).await;
        let app = Router::new()
            .route("/api/v1/{*rest}", any(api))
            .with_state(later);
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        axum::serve(listener, app).await
    });
    let base = ScalekitConfig::new(&format!("http://{addr}"), "skc_1", "the-secret").unwrap();
    let client = ManagementClient::with_token_cache(
        &Scalekit::new(base).unwrap(),
        scalekit_core::platform_http_client(Duration::from_secs(5)).unwrap(),
        tokens,
    )
    .retry_policy(
        RetryPolicy::default()
            .max_attempts(10)
            .base_delay(Duration::from_millis(10))
            .max_delay(Duration::from_millis(100)),
    );
    let org = client
        .organizations()
        .create_organization(&CreateOrganizationRequest::new("Late"))
        .await
        .unwrap();
    assert_eq!(org.id, "org_9");
    // It waited for the platform: the attempts before failed to connect.
    assert!(started.elapsed() >= Duration::from_millis(40));
    // Only the attempt that connected reached the platform.
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1);
    assert_eq!(stub.tokens.load(Ordering::SeqCst), 1);
}

/// `at` (Unix seconds) as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(at: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = at / 86_400;
    let secs = at % 86_400;
    // H. Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_the_wait_until_then() {
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Two seconds from now (whole seconds): a wait of one to two seconds.
    let date = http_date(now + 2);
    let (stub, client) = start(Arc::new(move |n, _, _, _, _| {
        if n == 0 {
            Response::builder()
                .status(429)
                .header("retry-after", date.as_str())
                .body(Body::empty())
                .unwrap()
        } else {
            json(200, ORGS)
        }
    }))
    .await;
    let client = client.retry_policy(RetryPolicy::default().max_delay(Duration::from_secs(5)));
    let started = Instant::now();
    client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(stub.calls.load(Ordering::SeqCst), 2);

    // A date past: no wait beyond the first backoff.
    let past = http_date(now - 60);
    let (_, client) = start(Arc::new(move |n, _, _, _, _| {
        if n == 0 {
            Response::builder()
                .status(503)
                .header("retry-after", past.as_str())
                .body(Body::empty())
                .unwrap()
        } else {
            json(200, ORGS)
        }
    }))
    .await;
    let started = Instant::now();
    client
        .organizations()
        .list_organizations(&PageOptions::new())
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
}
