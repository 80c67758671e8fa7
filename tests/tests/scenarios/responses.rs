//! Your own responses: the full-stack example's routes with the problem
//! details responder (examples/src/problem.rs) answer every API refusal as
//! `application/problem+json` (RFC 9457) through the core's public hook,
//! with the same statuses, `WWW-Authenticate` and `Retry-After` as the
//! default answers, for both frameworks; browser refusals keep their HTML.

use std::time::Duration;

use crate::common;

use common::apps::{Framework, FullStack, authorize_as, fullstack_app, no_redirects, start_login};
use scalekit_emulator::{EmulatorEndpoint, Fault, M2mClient};
use serde_json::{Value, json};

/// An answer, with what differs between two deployments masked.
#[derive(Debug)]
struct Seen {
    status: u16,
    www_authenticate: Option<String>,
    retry_after: Option<String>,
    content_type: String,
    body: String,
}

async fn seen(app: &FullStack, response: reqwest::Response) -> Seen {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.replace(&app.base, "<app>"))
    };
    let (www_authenticate, retry_after, content_type) = (
        header("www-authenticate"),
        header("retry-after"),
        header("content-type").unwrap_or_default(),
    );
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    Seen {
        status: response.status().as_u16(),
        www_authenticate,
        retry_after,
        content_type,
        body: response.text().await.unwrap().replace(&app.base, "<app>"),
    }
}

/// The default answer and the problem-details answer of the same refusal
/// agree on everything but the body's format.
fn assert_problem_of(default: &Seen, problem: &Seen, expected_status: u16) {
    assert_eq!(default.status, expected_status, "{default:?}");
    assert_eq!(problem.status, default.status, "{problem:?}");
    assert_eq!(problem.www_authenticate, default.www_authenticate);
    assert_eq!(problem.retry_after, default.retry_after);
    assert_eq!(default.content_type, "application/json");
    assert_eq!(problem.content_type, "application/problem+json");
    let default_body: Value = serde_json::from_str(&default.body).unwrap();
    let doc: Value = serde_json::from_str(&problem.body).unwrap();
    assert_eq!(doc["type"], "about:blank");
    assert_eq!(doc["status"], u64::from(expected_status));
    assert_eq!(doc["error"], default_body["error"]);
    assert_eq!(doc["detail"], default_body["error_description"]);
}

/// Signs in as the emulator's first user: the session cookies.
async fn sign_in(app: &FullStack) -> String {
    let (state_cookie, authorize) = start_login(&app.base, "/auth/login").await;
    let user = app.emulator.users().into_iter().next().unwrap();
    let callback = authorize_as(&app.emulator, &authorize, &user.id).await;
    let landed = no_redirects()
        .get(callback)
        .header("cookie", state_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 302);
    let cookies: Vec<String> = landed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .filter(|v| !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .collect();
    assert!(cookies.iter().any(|c| c.contains("sk_session")));
    cookies.join("; ")
}

async fn problem_details_keep_statuses_and_challenges(fw: Framework) {
    // Access tokens of 1 s: a session's is expired by its next request.
    let ttl = Some(Duration::from_secs(1));
    let default = fullstack_app(fw, ttl, None, |web| web).await;
    let problem = fullstack_app(
        fw,
        ttl,
        None,
        scalekit_examples::problem::with_problem_details,
    )
    .await;
    let apps = [&default, &problem];
    let http = no_redirects();

    // 401, 400 and 403 from the layers, the guard and the gate.
    let mut cases: Vec<(u16, Vec<Seen>)> = Vec::new();
    for (status, path, authorization) in [
        (401, "/api/me", None),
        (401, "/api/me", Some(vec!["Bearer not-a-token"])),
        (401, "/api/admin", None),
        (403, "/api/admin", Some(vec![])),
        (400, "/api/me", Some(vec!["Bearer a", "Bearer b"])),
    ] {
        let mut answers = Vec::new();
        for app in apps {
            let mut request = http.get(format!("{}{path}", app.base));
            match &authorization {
                None => {}
                // A valid token without `admin:read`.
                Some(values) if values.is_empty() => {
                    app.emulator.register_m2m_client(
                        M2mClient::new("m2morg_ro", "s", "org_1").scopes(["reports:read"]),
                    );
                    let weak = app
                        .emulator
                        .mint_m2m_token("m2morg_ro", json!({ "aud": [app.base] }))
                        .unwrap();
                    request = request.bearer_auth(weak);
                }
                Some(values) => {
                    for value in values {
                        request = request.header("authorization", *value);
                    }
                }
            }
            answers.push(seen(app, request.send().await.unwrap()).await);
        }
        cases.push((status, answers));
    }
    for (status, answers) in &cases {
        assert_problem_of(&answers[0], &answers[1], *status);
    }
    let www = |i: usize| cases[i].1[1].www_authenticate.clone().unwrap_or_default();
    assert!(www(0).starts_with("Bearer realm="));
    assert!(www(1).contains(r#"error="invalid_token""#));
    assert!(www(3).contains(r#"error="insufficient_scope""#) && www(3).contains("admin:read"));

    // 503 for a session whose refresh cannot be made now: the layer, the
    // guard and the optional extractor of the home page answer problem
    // details; the browser route keeps its retry page.
    let mut sessions = Vec::new();
    for app in apps {
        sessions.push(sign_in(app).await);
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for path in ["/api/me", "/api/admin", "/", "/dashboard"] {
        let mut answers = Vec::new();
        for (app, cookie) in apps.iter().zip(&sessions) {
            app.emulator
                .inject_fault(EmulatorEndpoint::Token, Fault::Status(503));
            let r = http
                .get(format!("{}{path}", app.base))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            answers.push(seen(app, r).await);
        }
        if path == "/dashboard" {
            assert_eq!(answers[0].status, 503);
            assert!(answers[0].content_type.starts_with("text/html"));
            assert_eq!(answers[1].content_type, answers[0].content_type);
            assert_eq!(answers[1].body, answers[0].body);
            assert_eq!(answers[1].retry_after, answers[0].retry_after);
        } else {
            assert_problem_of(&answers[0], &answers[1], 503);
        }
    }
    for app in apps {
        app.emulator.clear_faults();
    }

    // 503: the signing keys cannot be had (before any key was fetched).
    // Fresh applications, which have fetched no key yet.
    let fresh = [
        fullstack_app(fw, None, None, |web| web).await,
        fullstack_app(
            fw,
            None,
            None,
            scalekit_examples::problem::with_problem_details,
        )
        .await,
    ];
    let mut answers = Vec::new();
    for app in &fresh {
        app.emulator
            .inject_fault(EmulatorEndpoint::Keys, Fault::Status(500));
        let token = app.emulator.mint_access_token(json!({})).unwrap();
        let r = http
            .get(format!("{}/api/me", app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        answers.push(seen(app, r).await);
    }
    assert_problem_of(&answers[0], &answers[1], 503);
    assert!(answers[1].retry_after.is_some());

    // The sign-in failure page is a browser answer: unchanged.
    let mut pages = Vec::new();
    for app in apps {
        let r = http
            .get(format!("{}/auth/callback?code=x&state=y", app.base))
            .send()
            .await
            .unwrap();
        pages.push(seen(app, r).await);
    }
    assert_eq!(pages[0].status, 400);
    assert_eq!(
        (&pages[1].status, &pages[1].body),
        (&pages[0].status, &pages[0].body)
    );
}

/// A browser route whose session has just ended (its refresh refused) is a
/// [`RefusalKind::SessionEnded`] refusal: the default sends the browser to
/// sign in; a responder can show its own page, and the cookies that clear
/// the ended session are sent with it.
async fn an_ended_session_reaches_the_responder(fw: Framework) {
    use scalekit_core::web::{Refusal, RefusalKind};
    let ttl = Some(Duration::from_secs(1));
    let default = fullstack_app(fw, ttl, None, |web| web).await;
    let own = fullstack_app(fw, ttl, None, |web| {
        web.respond_with(std::sync::Arc::new(|refusal: &Refusal| {
            (refusal.kind() == RefusalKind::SessionEnded && refusal.is_browser()).then(|| {
                refusal
                    .answer("text/html; charset=utf-8", "<p>Your session has ended.</p>")
                    .header("x-session", "ended")
            })
        }))
    })
    .await;
    let mut answers = Vec::new();
    for app in [&default, &own] {
        let cookie = sign_in(app).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        // The platform refuses the refresh token: the session ends.
        app.emulator
            .inject_fault(EmulatorEndpoint::Token, Fault::Status(400));
        let r = no_redirects()
            .get(format!("{}/dashboard", app.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        let cleared = r.headers().get_all("set-cookie").iter().any(|v| {
            v.to_str().unwrap().contains("sk_session") && v.to_str().unwrap().contains("Max-Age=0")
        });
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let marker = r.headers().get("x-session").is_some();
        answers.push((
            r.status().as_u16(),
            location,
            marker,
            cleared,
            r.text().await.unwrap(),
        ));
    }
    let (status, location, marker, cleared, _) = &answers[0];
    assert_eq!(*status, 302);
    assert_eq!(
        location.as_deref(),
        Some("/auth/login?return_to=%2Fdashboard")
    );
    assert!(!marker && *cleared);
    let (status, location, marker, cleared, body) = &answers[1];
    assert_eq!((*status, location.as_deref()), (401, None));
    assert!(*marker && *cleared);
    assert_eq!(body, "<p>Your session has ended.</p>");
}

scenarios!(
    problem_details_keep_statuses_and_challenges,
    an_ended_session_reaches_the_responder,
);
