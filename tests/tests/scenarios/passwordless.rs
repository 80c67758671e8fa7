//! Passwordless sign-in without a redirect, through both full-stack
//! examples and the emulator: the code read from the emulator's
//! `/outbox.json`, the magic link in the same browser and in another, the
//! attempt and send limits, the same answer for every address, cross-site
//! posts refused, logout, and a passwordless session seen by a second
//! instance through Redis.

use std::collections::BTreeMap;

use crate::common;

use common::apps::{Browser, Framework, FullStack, SESSION_SECRET, no_redirects};
use common::redis::RedisServer;
use reqwest::StatusCode;
use scalekit_core::session::AuthMethod;
use scalekit_core::web::LoginDecision;
use serde_json::Value;

type App = FullStack;

/// The full-stack example of `fw`, its emulator enforcing same-browser
/// magic links when `same_browser`.
async fn start(fw: Framework, same_browser: bool) -> App {
    common::apps::fullstack_app_on(
        fw,
        |builder| builder.passwordless_same_browser(same_browser),
        None,
        |web| web,
    )
    .await
}

/// The outbox of the emulator at `emulator_url`, newest first, as its
/// `/outbox.json` gives it.
async fn outbox_at(emulator_url: &str) -> Vec<Value> {
    let answer = reqwest::get(format!("{emulator_url}/outbox.json"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// The outbox of the application's emulator, newest first.
async fn outbox(app: &App) -> Vec<Value> {
    outbox_at(app.emulator.url()).await
}

/// The newest email to `to`.
async fn newest_to(app: &App, to: &str) -> Value {
    outbox(app)
        .await
        .into_iter()
        .find(|email| email["to"] == to)
        .unwrap_or_else(|| panic!("an email to {to}"))
}

/// `field` (`code`, `link`) of the newest email to `to`.
async fn emailed(app: &App, to: &str, field: &str) -> String {
    newest_to(app, to).await[field]
        .as_str()
        .unwrap_or_else(|| panic!("a {field} in the email to {to}"))
        .to_owned()
}

/// Asks for an email to `email`: the "check your email" page.
async fn ask(b: &mut Browser, email: &str) -> String {
    let page = b.post("/auth/passwordless", &[("email", email)]).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"passwordless-code-form\""), "{html}");
    html
}

async fn me(b: &mut Browser) -> Value {
    let answer = b.get("/api/me").await;
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

async fn signs_in_with_the_code_from_the_outbox(fw: Framework) {
    let app = start(fw, true).await;
    let mut b = Browser::new(&app);
    let form = b
        .get("/auth/passwordless?return_to=%2Fdashboard%3Ftab%3D2")
        .await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("id=\"passwordless-form\"") && html.contains("name=\"email\""));
    assert!(
        html.contains("value=\"/dashboard?tab=2\""),
        "return_to passed through"
    );
    let page = b
        .post(
            "/auth/passwordless",
            &[
                ("email", "ada@example.com"),
                ("return_to", "/dashboard?tab=2"),
            ],
        )
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let email = newest_to(&app, "ada@example.com").await;
    let code = email["code"].as_str().unwrap().to_owned();
    let id = email["auth_request_id"].as_str().unwrap();
    // The auth request is in a sealed HttpOnly cookie, never in the page.
    assert!(!html.contains(id) && !html.contains(&code));
    assert!(!html.contains("ada@example.com"));
    assert!(b.jar.contains_key("sk_passwordless"));
    let signed_in = b
        .post("/auth/passwordless/verify", &[("code", &code)])
        .await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    assert_eq!(signed_in.headers()["location"], "/dashboard?tab=2");
    assert!(b.signed_in());
    assert!(
        !b.jar.contains_key("sk_passwordless"),
        "the auth request is forgotten"
    );
    let me = me(&mut b).await;
    assert_eq!(me["auth_method"], "passwordless");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["scopes"], serde_json::json!([]));
    let dashboard = b.get("/dashboard").await;
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("<dd id=\"email\">ada@example.com</dd>"));
    assert!(html.contains("passwordless"));
    // Scope guards refuse it: it has no scopes.
    assert_eq!(b.get("/api/admin").await.status(), StatusCode::FORBIDDEN);
    // The code was used: it does not sign in again.
    let mut again = Browser::new(&app);
    again.jar.insert(
        "sk_passwordless".into(),
        b.jar.get("sk_passwordless").cloned().unwrap_or_default(),
    );
    let reused = again
        .post("/auth/passwordless/verify", &[("code", &code)])
        .await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
}

async fn signs_in_with_the_magic_link_in_the_same_browser(fw: Framework) {
    let app = start(fw, true).await;
    let mut b = Browser::new(&app);
    ask(&mut b, "grace@example.com").await;
    let link = emailed(&app, "grace@example.com", "link").await;
    assert!(link.starts_with(&format!(
        "{}/auth/passwordless/verify?link_token=",
        app.base
    )));
    let signed_in = b.get(&link).await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    assert_eq!(signed_in.headers()["location"], "/dashboard");
    assert_eq!(me(&mut b).await["auth_method"], "passwordless");
    // A used link signs no one in.
    let mut other = Browser::new(&app);
    assert_eq!(other.get(&link).await.status(), StatusCode::BAD_REQUEST);
    assert!(!other.signed_in());
}

async fn a_link_from_another_browser_is_refused_under_enforcement_only(fw: Framework) {
    let app = start(fw, true).await;
    let mut asked = Browser::new(&app);
    ask(&mut asked, "linus@example.com").await;
    let link = emailed(&app, "linus@example.com", "link").await;
    let mut other = Browser::new(&app);
    let refused = other.get(&link).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("another browser"));
    assert!(!other.signed_in());
    // A link someone else made (a junk token, none at all) does not cancel
    // the asking browser's sign-in: its own link still works.
    for junk in ["?link_token=junk", ""] {
        let refused = asked.get(&format!("/auth/passwordless/verify{junk}")).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(asked.get(&link).await.status(), StatusCode::FOUND);
    assert!(asked.signed_in());
    // Without enforcement, a link opened elsewhere signs in.
    app.emulator.set_passwordless_same_browser(false);
    let mut asked = Browser::new(&app);
    ask(&mut asked, "margaret@example.com").await;
    let link = emailed(&app, "margaret@example.com", "link").await;
    // A HEAD (a link preview, a scanner) does not use it up.
    let head = reqwest::Client::new().head(&link).send().await.unwrap();
    assert!(head.status().is_client_error(), "{}", head.status());
    let mut other = Browser::new(&app);
    let accepted = other.get(&link).await;
    assert_eq!(accepted.status(), StatusCode::FOUND);
    assert!(other.signed_in());
    assert_eq!(me(&mut other).await["email"], "margaret@example.com");
}

async fn five_wrong_codes_kill_the_auth_request(fw: Framework) {
    let app = start(fw, true).await;
    let mut b = Browser::new(&app);
    ask(&mut b, "ada@example.com").await;
    let code = emailed(&app, "ada@example.com", "code").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let answer = b
            .post("/auth/passwordless/verify", &[("code", wrong)])
            .await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let html = answer.text().await.unwrap();
        let said = if left == 1 {
            "1 attempt left".to_owned()
        } else {
            format!("{left} attempts left")
        };
        assert!(html.contains(&said), "{said}: {html}");
        assert!(
            html.contains("id=\"passwordless-code-form\""),
            "the form again"
        );
    }
    // The sixth attempt is refused, even with the right code.
    let sixth = b
        .post("/auth/passwordless/verify", &[("code", &code)])
        .await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = sixth.text().await.unwrap();
    assert!(html.contains("id=\"start-again\""), "{html}");
    assert!(!b.signed_in());
    assert!(!b.jar.contains_key("sk_passwordless"));
}

async fn the_third_email_in_a_minute_is_refused(fw: Framework) {
    let app = start(fw, true).await;
    let mut b = Browser::new(&app);
    ask(&mut b, "ada@example.com").await;
    // A resend counts.
    let resent = b.post("/auth/passwordless/resend", &[]).await;
    assert_eq!(resent.status(), 200);
    assert!(resent.text().await.unwrap().contains("new email"));
    let third = b
        .post("/auth/passwordless", &[("email", "ada@example.com")])
        .await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    let resend = b.post("/auth/passwordless/resend", &[]).await;
    assert_eq!(resend.status(), StatusCode::TOO_MANY_REQUESTS);
    let to_ada = outbox(&app)
        .await
        .into_iter()
        .filter(|e| e["to"] == "ada@example.com")
        .count();
    assert_eq!(to_ada, 2);
    // The resent code is the one that works; another address is not held
    // back.
    let code = emailed(&app, "ada@example.com", "code").await;
    let signed_in = b
        .post("/auth/passwordless/verify", &[("code", &code)])
        .await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    ask(&mut Browser::new(&app), "grace@example.com").await;
}

async fn every_address_gets_the_same_answer(fw: Framework) {
    let app = start(fw, true).await;
    let known = app.emulator.users()[0].email.clone();
    let mut answers = Vec::new();
    for address in [known.as_str(), "nobody-at-all@unknown.example"] {
        let answer = Browser::new(&app)
            .post("/auth/passwordless", &[("email", address)])
            .await;
        let status = answer.status();
        let cookies: Vec<String> = answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_owned())
            .collect();
        answers.push((status, cookies, answer.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, StatusCode::OK);
    assert_eq!(answers[0], answers[1]);
}

async fn a_form_posted_from_another_origin_is_refused(fw: Framework) {
    let app = start(fw, true).await;
    let mut b = Browser::new(&app);
    let refused = b
        .post_from(
            "https://evil.example",
            "/auth/passwordless",
            &[("email", "ada@example.com")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Without Origin or Referer: refused too.
    let bare = no_redirects()
        .post(format!("{}/auth/passwordless", app.base))
        .form(&[("email", "ada@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    // A body past the form limit is refused, unread.
    let huge = no_redirects()
        .post(format!("{}/auth/passwordless", app.base))
        .header("origin", &app.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=ada%40example.com&pad={}",
            "a".repeat(64 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        huge.text()
            .await
            .unwrap()
            .contains("This form is too large")
    );
    assert!(outbox(&app).await.is_empty(), "no email sent");
    // The code and resend forms are checked alike.
    ask(&mut b, "ada@example.com").await;
    let code = emailed(&app, "ada@example.com", "code").await;
    let forged = b
        .post_from(
            "https://evil.example",
            "/auth/passwordless/verify",
            &[("code", &code)],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let forged = b
        .post_from("https://evil.example", "/auth/passwordless/resend", &[])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(outbox(&app).await.len(), 1);
    assert!(!b.signed_in());
}

async fn logout_ends_a_passwordless_session(fw: Framework) {
    let app = start(fw, true).await;
    let mut b = Browser::new(&app);
    ask(&mut b, "ada@example.com").await;
    let code = emailed(&app, "ada@example.com", "code").await;
    let signed_in = b
        .post("/auth/passwordless/verify", &[("code", &code)])
        .await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    assert_eq!(me(&mut b).await["email"], "ada@example.com");
    let out = b.get("/auth/logout").await;
    assert_eq!(out.status(), StatusCode::FOUND);
    // No session at the platform: straight to the after-logout page.
    assert_eq!(out.headers()["location"], "/");
    assert!(!b.signed_in(), "the session cookie is cleared");
    assert_eq!(b.get("/api/me").await.status(), StatusCode::UNAUTHORIZED);
    let dashboard = b.get("/dashboard").await;
    assert_eq!(dashboard.status(), StatusCode::FOUND);
    assert!(
        dashboard.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login")
    );
}

async fn a_passwordless_session_is_shared_through_redis(fw: Framework) {
    let redis = RedisServer::start();
    let (first, base, builder) = common::apps::bind().await;
    let emulator = builder.start().await.unwrap();
    let second = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second_base = format!("http://{}", second.local_addr().unwrap());
    let web = || {
        scalekit_examples::fullstack::web_auth(
            scalekit_core::ScalekitConfig::new(
                emulator.url(),
                emulator.client_id(),
                emulator.client_secret(),
            )
            .unwrap(),
            &base,
            SESSION_SECRET,
            None,
            Some(&scalekit_core::web::SessionStoreUrl::Redis(redis.url())),
            fw.realm(),
        )
        .unwrap()
    };
    let _a = fw.serve_fullstack(first, web());
    let _b = fw.serve_fullstack(second, web());
    let mut b = Browser {
        http: no_redirects(),
        jar: BTreeMap::new(),
        base: base.clone(),
    };
    let page = b
        .post("/auth/passwordless", &[("email", "ada@example.com")])
        .await;
    assert_eq!(page.status(), 200);
    let code = outbox_at(emulator.url()).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let signed_in = b
        .post("/auth/passwordless/verify", &[("code", &code)])
        .await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    assert!(
        !redis.keys("scalekit:session:*").is_empty(),
        "kept in Redis"
    );
    let session = b.cookie_header();
    // The second instance sees the session.
    b.base = second_base.clone();
    let me = me(&mut b).await;
    assert_eq!(me["auth_method"], "passwordless");
    assert_eq!(me["email"], "ada@example.com");
    // Logout on the second ends it on the first too.
    assert_eq!(b.get("/auth/logout").await.status(), StatusCode::FOUND);
    assert!(redis.keys("scalekit:session:*").is_empty());
    let replayed = no_redirects()
        .get(format!("{base}/api/me"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    // Signing in again in a browser that holds a session starts a new one,
    // with a new id.
    b.base = base.clone();
    let mut sessions = Vec::new();
    for _ in 0..2 {
        assert_eq!(
            b.post("/auth/passwordless", &[("email", "grace@example.com")])
                .await
                .status(),
            200
        );
        let code = outbox_at(emulator.url()).await[0]["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let before = redis.keys("scalekit:session:*");
        let signed_in = b
            .post("/auth/passwordless/verify", &[("code", &code)])
            .await;
        assert_eq!(signed_in.status(), StatusCode::FOUND);
        let after = redis.keys("scalekit:session:*");
        assert!(
            after.iter().any(|key| !before.contains(key)),
            "a new record"
        );
        sessions.push(b.cookie_header());
    }
    assert_ne!(sessions[0], sessions[1]);
    // "Sign out everywhere" ends every passwordless session of the address.
    let ended = web()
        .sessions()
        .sign_out_everywhere("grace@example.com")
        .await
        .unwrap();
    assert_eq!(ended, 2);
    for session in sessions {
        let replayed = no_redirects()
            .get(format!("{second_base}/api/me"))
            .header("cookie", session)
            .send()
            .await
            .unwrap();
        assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    }
}

async fn the_after_login_hook_sees_the_address_and_may_refuse(fw: Framework) {
    let app = common::apps::fullstack_app_on(
        fw,
        |builder| builder,
        None,
        |web| {
            web.after_login(|auth| async move {
                let email = auth.user.email.clone().unwrap_or_default();
                if AuthMethod::of_login(&auth) != AuthMethod::Passwordless {
                    return LoginDecision::refuse("Only passwordless here.");
                }
                if email == "blocked@example.com" {
                    return LoginDecision::refuse("This address may not sign in.");
                }
                LoginDecision::allow()
                    .with_data(&serde_json::json!({"app_user": format!("user-of-{email}")}))
                    .redirect_to("/api/me")
            })
        },
    )
    .await;
    let mut blocked = Browser::new(&app);
    ask(&mut blocked, "blocked@example.com").await;
    let code = emailed(&app, "blocked@example.com", "code").await;
    let refused = blocked
        .post("/auth/passwordless/verify", &[("code", &code)])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("This address may not sign in.")
    );
    assert!(!blocked.signed_in());
    let mut b = Browser::new(&app);
    ask(&mut b, "ada@example.com").await;
    let code = emailed(&app, "ada@example.com", "code").await;
    let signed_in = b
        .post("/auth/passwordless/verify", &[("code", &code)])
        .await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    assert_eq!(
        signed_in.headers()["location"],
        "/api/me",
        "the hook's landing page"
    );
    // The session holds the hook's data, not the example's preferences
    // (which its own hook would have set).
    let data = b.get("/api/preferences").await;
    assert_eq!(data.status(), 200);
    let data: Value = data.json().await.unwrap();
    assert_eq!(data["preferences"], Value::Null);
    assert_eq!(me(&mut b).await["auth_method"], "passwordless");
}

/// Every auth route answers the methods it does not take with `405` and
/// `Allow`, alike on both frameworks: a `HEAD` (a link preview, a
/// scanner) neither signs in, nor uses up a link, nor ends a session.
async fn auth_routes_refuse_other_methods_alike(fw: Framework) {
    let app = start(fw, false).await;
    let http = no_redirects();
    let cases = [
        ("HEAD", "/auth/login", "GET"),
        ("POST", "/auth/login", "GET"),
        ("HEAD", "/auth/callback?code=c&state=s", "GET"),
        ("HEAD", "/auth/logout", "GET"),
        ("POST", "/auth/logout", "GET"),
        ("PUT", "/auth/passwordless", "GET, POST"),
        (
            "HEAD",
            "/auth/passwordless/verify?link_token=t",
            "GET, POST",
        ),
        ("DELETE", "/auth/passwordless/verify", "GET, POST"),
        ("GET", "/auth/passwordless/resend", "POST"),
    ];
    for (method, path, allow) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = http
            .request(method.clone(), format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{fw:?} {method} {path}"
        );
        assert_eq!(answer.headers()["allow"], allow, "{fw:?} {method} {path}");
        assert!(answer.headers().get("set-cookie").is_none());
    }
}

scenarios!(
    auth_routes_refuse_other_methods_alike,
    signs_in_with_the_code_from_the_outbox,
    signs_in_with_the_magic_link_in_the_same_browser,
    a_link_from_another_browser_is_refused_under_enforcement_only,
    five_wrong_codes_kill_the_auth_request,
    the_third_email_in_a_minute_is_refused,
    every_address_gets_the_same_answer,
    a_form_posted_from_another_origin_is_refused,
    logout_ends_a_passwordless_session,
    a_passwordless_session_is_shared_through_redis,
    the_after_login_hook_sees_the_address_and_may_refuse,
);
