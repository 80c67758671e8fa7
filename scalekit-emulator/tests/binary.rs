//! The `scalekit-emulator` binary as a team runs it: flags and environment
//! variables, the printed webhook secret and SCIM endpoint, and a SCIM
//! change delivered to a webhook endpoint, verified by the core's verifier
//! with the printed secret.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use scalekit_core::webhook::WebhookVerifier;

const BIN: &str = env!("CARGO_BIN_EXE_scalekit-emulator");

/// Kills the emulator when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value after `prefix` on the first printed line that has it.
fn printed<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?} in {lines:#?}"))
}

#[test]
fn help_documents_every_flag_and_its_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (flag, var) in [
        ("--port", "SCALEKIT_EMULATOR_PORT"),
        ("--client-id", "SCALEKIT_EMULATOR_CLIENT_ID"),
        ("--client-secret", "SCALEKIT_EMULATOR_CLIENT_SECRET"),
        ("--redirect-uri", "SCALEKIT_EMULATOR_REDIRECT_URIS"),
        (
            "--post-logout-redirect-uri",
            "SCALEKIT_EMULATOR_POST_LOGOUT_REDIRECT_URIS",
        ),
        (
            "--initiate-login-uri",
            "SCALEKIT_EMULATOR_INITIATE_LOGIN_URI",
        ),
        ("--webhook-url", "SCALEKIT_EMULATOR_WEBHOOK_URLS"),
        ("--webhook-secret", "SCALEKIT_EMULATOR_WEBHOOK_SECRET"),
        ("--passwordless-type", "SCALEKIT_EMULATOR_PASSWORDLESS_TYPE"),
        (
            "--passwordless-same-browser",
            "SCALEKIT_EMULATOR_PASSWORDLESS_SAME_BROWSER",
        ),
    ] {
        assert!(help.contains(flag), "{flag}");
        assert!(help.contains(var), "{var}");
    }
    assert!(help.contains("link-otp"), "the types are named");
    let bad = Command::new(BIN).args(["--port", "http"]).output().unwrap();
    assert!(!bad.status.success());
    let bad = Command::new(BIN)
        .args(["--passwordless-type", "sms"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("otp, link or link-otp"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_provisions_over_scim_and_delivers_signed_webhooks() {
    // A webhook receiver that verifies with the secret the binary prints.
    type Seen = Arc<Mutex<Vec<(String, String)>>>;
    let verifier: Arc<Mutex<Option<WebhookVerifier>>> = Arc::default();
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route(
            "/hooks",
            post(
                |State((verifier, seen)): State<(Arc<Mutex<Option<WebhookVerifier>>>, Seen)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let verified = verifier
                        .lock()
                        .unwrap()
                        .as_ref()
                        .map(|v| v.verify_event(&headers, &body));
                    match verified {
                        Some(Ok(event)) => {
                            let id = headers["webhook-id"].to_str().unwrap().to_owned();
                            seen.lock()
                                .unwrap()
                                .push((id, event.event_type.as_str().to_owned()));
                            StatusCode::OK
                        }
                        _ => StatusCode::BAD_REQUEST,
                    }
                },
            ),
        )
        .with_state((verifier.clone(), seen.clone()));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let mut child = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--initiate-login-uri",
            "http://localhost:3000/auth/login",
        ])
        .env("SCALEKIT_EMULATOR_WEBHOOK_URLS", &hook_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    // The startup banner, up to its `deliveries:` line; the rest of the
    // output is drained until the binary exits, so that it never writes to
    // a closed pipe (which would stop it).
    let (banner, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = Some(banner);
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if banner.is_none() {
                continue;
            }
            let last = line.trim_start().starts_with("deliveries:");
            lines.push(line);
            if last && let Some(banner) = banner.take() {
                let _ = banner.send(std::mem::take(&mut lines));
            }
        }
    });
    let lines = tokio::task::spawn_blocking(move || rx.recv())
        .await
        .unwrap()
        .unwrap();

    let url = printed(&lines, "SCALEKIT_ENVIRONMENT_URL=").to_owned();
    let secret = printed(&lines, "SCALEKIT_WEBHOOK_SECRET=").to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(printed(&lines, "webhooks: "), hook_url);
    *verifier.lock().unwrap() = Some(WebhookVerifier::new(&secret).unwrap());
    let scim = printed(&lines, "SCIM endpoint: ");
    let (endpoint, token) = scim.split_once(" (bearer token: ").unwrap();
    let token = token.strip_suffix(')').unwrap();
    assert!(endpoint.starts_with(&format!("{url}/directory/dir_")));
    assert!(endpoint.ends_with("/scim/v2"));

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let created = http
        .post(format!("{endpoint}/Users"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(r#"{"userName":"sam@example.com","emails":[{"value":"sam@example.com"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for _ in 0..100 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "organization.directory.user_created");
    let page = http
        .get(format!("{url}/deliveries"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&got[0].0));

    // IdP-initiated logins land on the initiate-login URL.
    let tile = http
        .get(format!(
            "{url}/sso/idp-initiated?login_hint=ada%40example.com"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(tile.status(), 302);
    assert!(
        tile.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("http://localhost:3000/auth/login?idp_initiated_login=")
    );
}

/// The binary prints each passwordless email as PROTOCOL.md §13 has it,
/// with the type and enforcement its flag and variable chose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_each_passwordless_email() {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--passwordless-type", "otp"])
        .env("SCALEKIT_EMULATOR_PASSWORDLESS_SAME_BROWSER", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    // Every printed line, as it comes (drained until the binary exits).
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let rx = Arc::new(Mutex::new(rx));
    // The next printed line that starts (after its indentation) with `prefix`.
    let next = |prefix: &'static str| {
        let rx = rx.clone();
        tokio::task::spawn_blocking(move || {
            let rx = rx.lock().unwrap();
            let mut seen = Vec::new();
            loop {
                match rx.recv_timeout(Duration::from_secs(20)) {
                    Ok(line) if line.trim_start().starts_with(prefix) => return (line, seen),
                    Ok(line) => seen.push(line),
                    Err(_) => panic!("no line starts with {prefix:?} after {seen:#?}"),
                }
            }
        })
    };
    let (banner, earlier) = next("passwordless emails").await.unwrap();
    assert!(banner.contains("(OTP, same browser enforced)"), "{banner}");
    let url = printed(&earlier, "SCALEKIT_ENVIRONMENT_URL=").to_owned();
    let id = printed(&earlier, "SCALEKIT_CLIENT_ID=").to_owned();
    let secret = printed(&earlier, "SCALEKIT_CLIENT_SECRET=").to_owned();
    assert!(banner.ends_with(&format!("{url}/outbox")), "{banner}");

    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{url}/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = http
        .post(format!("{url}/api/v1/passwordless/email/send"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let (line, _) = next("EMAIL to").await.unwrap();
    let outbox: serde_json::Value = http
        .get(format!("{url}/outbox.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = outbox[0]["code"].as_str().unwrap();
    assert_eq!(
        line,
        format!("  EMAIL to ada@example.com: code {code} link -")
    );
}
