//! The shared scenario suite: the axum and the actix-web full-stack examples
//! over HTTP against the emulator, with the same inputs and the same
//! assertions (one test list, two apps): every route of the contract signed
//! in and signed out, transparent refresh, logout, IdP-initiated login,
//! open-redirect attempts, unreflected errors, webhooks, the
//! protected-resource document, outages, attackers' inputs.

use std::time::Duration;

use crate::common;

use common::apps::{Browser, Framework, FullStack};
use reqwest::StatusCode;
use scalekit_core::Scalekit;
use scalekit_core::webhook::sign_payload;
use scalekit_emulator::{EmulatorEndpoint, Fault, M2mClient, WebhookSender};
use serde_json::{Value, json};

const WEBHOOK_SECRET: &str = "whsec_ZnVsbHN0YWNrLXdlYmhvb2stc2VjcmV0LTEyMzQ1Ng";

type App = FullStack;

async fn start_with(fw: Framework, access_ttl: Option<Duration>) -> App {
    common::apps::fullstack_app(fw, access_ttl, Some(WEBHOOK_SECRET), |web| web).await
}

async fn start(fw: Framework) -> App {
    start_with(fw, None).await
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn every_route_signed_out(fw: Framework) {
    let app = start(fw).await;
    let mut b = Browser::new(&app);
    let home = b.get("/").await;
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("/auth/login"));

    let dashboard = b.get("/dashboard").await;
    assert_eq!(dashboard.status(), StatusCode::FOUND);
    assert_eq!(
        header(&dashboard, "location"),
        "/auth/login?return_to=%2Fdashboard"
    );

    for path in ["/api/me", "/api/admin"] {
        let r = b.get(path).await;
        assert_eq!(r.status(), 401, "{path}");
        assert!(
            header(&r, "www-authenticate")
                .starts_with(&format!(r#"Bearer realm="{}""#, fw.realm()))
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }

    let login = b
        .get("/auth/login?organization_id=org_1&prompt=login&login_hint=a%40b.c")
        .await;
    assert_eq!(login.status(), StatusCode::FOUND);
    let location = header(&login, "location");
    assert!(location.starts_with(&format!("{}/oauth/authorize?", app.emulator.url())));
    for part in [
        "organization_id=org_1",
        "prompt=login",
        "login_hint=a%40b.c",
        "code_challenge_method=S256",
        "offline_access",
    ] {
        assert!(location.contains(part), "{part} in {location}");
    }
    assert!(b.jar.contains_key("sk_oauth_state"));

    let doc: Value = b
        .get("/.well-known/oauth-protected-resource")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["resource"], app.base);
    assert_eq!(doc["authorization_servers"][0], app.emulator.url());
    assert_eq!(doc["bearer_methods_supported"][0], "header");
}

async fn every_route_signed_in_then_logout(fw: Framework) {
    let app = start(fw).await;
    let mut b = Browser::new(&app);
    let landed = b.sign_in(&app, "/dashboard", "ada@example.com").await;
    assert_eq!(
        landed.url().path(),
        "/dashboard",
        "back to the original path"
    );
    assert!(landed.text().await.unwrap().contains("ada@example.com"));
    assert!(b.jar.contains_key("sk_session") || b.jar.contains_key("sk_session.0"));
    assert!(!b.jar.contains_key("sk_oauth_state"), "login state cleared");

    assert!(
        b.get("/")
            .await
            .text()
            .await
            .unwrap()
            .contains("ada@example.com")
    );
    let me: Value = b.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["auth_method"], "oauth", "a hosted-login session");
    assert!(me["sub"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(me["roles"][0], "admin");
    assert_eq!(me["permissions"][0], "admin:read");
    // Ada holds the admin:read permission.
    let admin = b.get("/api/admin").await;
    assert_eq!(admin.status(), 200);
    assert_eq!(
        admin.json::<Value>().await.unwrap(),
        serde_json::json!({"ok": true})
    );

    let logout = b.get("/auth/logout").await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    let location = header(&logout, "location");
    assert!(location.starts_with(&format!(
        "{}/oidc/logout?id_token_hint=",
        app.emulator.url()
    )));
    assert!(location.contains(&format!(
        "post_logout_redirect_uri={}",
        percent(&format!("{}/", app.base))
    )));
    assert!(
        b.jar.keys().all(|k| !k.starts_with("sk_session")),
        "session cookies cleared"
    );
    let back = b.get(&location).await;
    assert_eq!(header(&back, "location"), format!("{}/", app.base));
    assert_eq!(b.get("/dashboard").await.status(), StatusCode::FOUND);
}

fn percent(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

async fn a_grace_member_is_refused_admin(fw: Framework) {
    let app = start(fw).await;
    let mut b = Browser::new(&app);
    b.sign_in(&app, "/auth/login", "grace@globex.example").await;
    let admin = b.get("/api/admin").await;
    assert_eq!(admin.status(), 403);
    // Said as the user is granted access: a permission.
    assert!(header(&admin, "www-authenticate").contains(r#"error="insufficient_scope", error_description="Your access does not include a required permission.", scope="admin:read""#));
}

async fn bearer_tokens_with_and_without_the_scope(fw: Framework) {
    let app = start(fw).await;
    app.emulator
        .register_m2m_client(M2mClient::new("m2morg_ops", "s", "org_1").scopes(["admin:read"]));
    app.emulator
        .register_m2m_client(M2mClient::new("m2morg_ro", "s", "org_1").scopes(["reports:read"]));
    let http = reqwest::Client::new();
    // Tokens for the application's resource identifier (its base URL).
    let aud = serde_json::json!({ "aud": [app.base] });
    let ok = app
        .emulator
        .mint_m2m_token("m2morg_ops", aud.clone())
        .unwrap();
    let weak = app.emulator.mint_m2m_token("m2morg_ro", aud).unwrap();
    let call = |token: String, path: &str| {
        http.get(format!("{}{path}", app.base))
            .bearer_auth(token)
            .send()
    };
    let r = call(ok.clone(), "/api/admin").await.unwrap();
    assert_eq!(r.status(), 200);
    let r = call(weak.clone(), "/api/admin").await.unwrap();
    assert_eq!(r.status(), 403);
    let me: Value = call(weak, "/api/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["sub"], "m2morg_ro");
    assert!(
        me.get("auth_method").is_none(),
        "a bearer caller has no session"
    );
    assert_eq!(me["scopes"][0], "reports:read");
    assert!(me.get("email").is_none());
    let r = call(format!("{ok}x"), "/api/me").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").contains(r#"error="invalid_token""#));
}

async fn an_expired_access_token_is_refreshed_transparently(fw: Framework) {
    // Access tokens of 20 s are always within the 30 s refresh skew.
    let app = start_with(fw, Some(Duration::from_secs(20))).await;
    let mut b = Browser::new(&app);
    b.sign_in(&app, "/dashboard", "ada@example.com").await;
    let before_cookie = b.jar.clone();
    let before = app.emulator.request_count(EmulatorEndpoint::Token);
    let me = b.get("/api/me").await;
    assert_eq!(me.status(), 200);
    assert!(
        me.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("sk_session")),
        "a new session cookie"
    );
    assert_eq!(
        app.emulator.request_count(EmulatorEndpoint::Token),
        before + 1
    );
    assert_ne!(b.jar, before_cookie);
}

async fn idp_initiated_callback_starts_a_new_login(fw: Framework) {
    let app = start(fw).await;
    let mut b = Browser::new(&app);
    let landing = app
        .emulator
        .idp_initiated_login_url("ada@example.com", Some("/dashboard"))
        .unwrap();
    let r = b.get(&landing).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = header(&r, "location");
    let acme = &app.emulator.organizations()[0];
    assert!(location.starts_with(&format!("{}/oauth/authorize?", app.emulator.url())));
    for part in [
        format!("connection_id={}", acme.connection_id),
        format!("organization_id={}", acme.id),
        "login_hint=ada%40example.com".to_owned(),
    ] {
        assert!(location.contains(&part), "{part}");
    }
    assert!(b.jar.contains_key("sk_oauth_state"));
    // Completing it lands on the relay_state path.
    let page = b.follow(r).await;
    let mut form: Vec<(String, String)> = page
        .url()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("user_id".into(), app.emulator.test_user().id.clone()));
    let submitted = b
        .http
        .post(format!("{}/oauth/authorize", app.emulator.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let landed = b.follow(submitted).await;
    assert_eq!(landed.url().path(), "/dashboard");
}

async fn open_redirect_attempts_land_on_the_after_login_page(fw: Framework) {
    let app = start(fw).await;
    for evil in [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "%2F%2Fevil.com",
        "https%3A%2F%2Fevil.com",
        "%2F%5Cevil.com",
    ] {
        let mut b = Browser::new(&app);
        let landed = b
            .sign_in(
                &app,
                &format!("/auth/login?return_to={evil}"),
                "ada@example.com",
            )
            .await;
        // The application's after-login page (the example's dashboard),
        // never the target given.
        assert_eq!(
            landed.url().as_str(),
            format!("{}/dashboard", app.base),
            "{evil}"
        );
    }
}

async fn callback_errors_are_never_reflected(fw: Framework) {
    let app = start(fw).await;
    let mut b = Browser::new(&app);
    b.get("/auth/login").await;
    let r = b.get("/auth/callback?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error_description=%3Cb%3Eevil%3C%2Fb%3E").await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>") && !html.contains("evil") && !html.contains("alert"));
    assert!(!b.jar.contains_key("sk_oauth_state"));
    // A callback without a login state, or with a forged state, fails the same way.
    assert_eq!(b.get("/auth/callback?code=x&state=y").await.status(), 400);
}

/// The failure page says what happened in fixed words per case (never the
/// platform's text), styled, with a way to sign in again; a visitor who is
/// signed in already goes on instead.
async fn sign_in_failures_say_what_happened_in_fixed_words(fw: Framework) {
    let app = start(fw).await;
    let user = |email: &str| {
        app.emulator
            .users()
            .into_iter()
            .find(|u| u.email == email)
            .unwrap()
    };
    let callback_path = |r: &reqwest::Response| {
        let location = header(r, "location");
        assert!(location.starts_with(&app.base), "{location}");
        location[app.base.len()..].to_owned()
    };
    let page = |html: &str, title: &str| {
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{html}");
        assert!(html.contains("<style>") && html.contains("id=\"sign-in-again\""));
    };

    // "Deny" on the hosted page.
    let mut b = Browser::new(&app);
    let denied = b
        .submit_hosted_page(&app, "/dashboard", &[("action", "deny")])
        .await;
    let r = b.get(&callback_path(&denied)).await;
    assert_eq!(r.status(), 400);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let html = r.text().await.unwrap();
    page(&html, "You did not sign in");
    assert!(
        !html.contains("The user denied the request"),
        "never the platform's text"
    );

    // The organization's connection is off.
    let grace = user("grace@globex.example");
    let globex = app
        .emulator
        .organizations()
        .into_iter()
        .find(|o| o.id == grace.organization_id)
        .unwrap();
    app.emulator
        .set_connection_enabled(&globex.connection_id, false)
        .unwrap();
    let mut b = Browser::new(&app);
    let off = b
        .submit_hosted_page(&app, "/dashboard", &[("user_id", grace.id.as_str())])
        .await;
    let html = b.get(&callback_path(&off)).await.text().await.unwrap();
    page(&html, "Sign-in is turned off");
    assert!(!html.contains("not active"), "never the platform's text");
    app.emulator
        .set_connection_enabled(&globex.connection_id, true)
        .unwrap();

    // A sign-in link used twice: the signed-in visitor goes on to the
    // dashboard; another browser is told the link has expired.
    let ada = user("ada@example.com");
    let mut b = Browser::new(&app);
    let signed = b
        .submit_hosted_page(&app, "/auth/login", &[("user_id", ada.id.as_str())])
        .await;
    let link = callback_path(&signed);
    let first = b.get(&link).await;
    assert_eq!(first.status(), StatusCode::FOUND);
    assert_eq!(header(&first, "location"), "/dashboard", "the landing page");
    let again = b.get(&link).await;
    assert_eq!(again.status(), StatusCode::FOUND);
    assert_eq!(header(&again, "location"), "/dashboard");
    assert_eq!(b.get("/dashboard").await.status(), 200, "still signed in");
    let mut other = Browser::new(&app);
    let r = other.get(&link).await;
    assert_eq!(r.status(), 400);
    page(&r.text().await.unwrap(), "This sign-in link has expired");
}

async fn webhooks_are_verified(fw: Framework) {
    let app = start(fw).await;
    let sender = WebhookSender::new(WEBHOOK_SECRET)
        .unwrap()
        .retry_delays(vec![]);
    let event = sender.event(
        "organization.directory.user_created",
        "org_1",
        serde_json::json!({"email": "x@y.z"}),
    );
    let url = format!("{}/webhooks/scalekit", app.base);
    let delivery = sender.send(&url, &event).await;
    assert!(delivery.delivered);
    let forged = WebhookSender::new("whsec_b3RoZXItc2VjcmV0LW9mLWVub3VnaC1sZW5ndGg=")
        .unwrap()
        .retry_delays(vec![]);
    let refused = forged.send(&url, &event).await;
    assert_eq!(refused.last_status, Some(400));
    let body = reqwest::Client::new()
        .post(&url)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), 400);
}

async fn untrusted_host_headers_never_shape_redirects_and_trust_is_opt_in(fw: Framework) {
    let app = start(fw).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/auth/login", app.base))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .unwrap();
    let location = header(&r, "location");
    assert!(
        location.contains(&format!(
            "redirect_uri={}",
            percent(&format!("{}/auth/callback", app.base))
        )),
        "{location}"
    );
    assert!(!location.contains("evil"));

    // With the opt-in, a listed forwarded host is used; others are not.
    let trusting = common::apps::fullstack_app(fw, None, None, |web| {
        web.trust_forwarded_hosts(["app.example.test"])
    })
    .await;
    let other = trusting.base.clone();
    let login = |host: &'static str| {
        http.get(format!("{other}/auth/login"))
            .header("x-forwarded-host", host)
            .header("x-forwarded-proto", "https")
            .send()
    };
    let trusted = header(&login("app.example.test").await.unwrap(), "location");
    assert!(
        trusted.contains("redirect_uri=https%3A%2F%2Fapp.example.test%2Fauth%2Fcallback"),
        "{trusted}"
    );
    let untrusted = header(&login("evil.example").await.unwrap(), "location");
    assert!(
        !untrusted.contains("evil")
            && untrusted.contains(&percent(&format!("{other}/auth/callback")))
    );
}

async fn the_after_login_hook_can_refuse_a_login(fw: Framework) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = common::apps::fullstack_app(fw, None, None, |web| {
        web.after_login(move |auth: scalekit_core::oauth::AuthenticationResponse| {
            let log = log.clone();
            async move {
                let email = auth.user.email.clone().unwrap_or_default();
                log.lock().unwrap().push(email.clone());
                if email.ends_with("@globex.example") {
                    Err("Globex accounts are not allowed <here>.".to_owned())
                } else {
                    Ok(())
                }
            }
        })
    })
    .await;
    let mut b = Browser::new(&app);
    let refused = b.sign_in(&app, "/dashboard", "grace@globex.example").await;
    assert_eq!(refused.status(), 403);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Globex accounts are not allowed &lt;here&gt;."));
    assert!(
        b.jar.keys().all(|k| !k.starts_with("sk_session")),
        "no session"
    );
    let mut b = Browser::new(&app);
    let landed = b.sign_in(&app, "/dashboard", "ada@example.com").await;
    assert_eq!(landed.status(), 200);
    assert_eq!(
        *seen.lock().unwrap(),
        ["grace@globex.example", "ada@example.com"]
    );
}

async fn a_token_endpoint_outage_answers_503_and_keeps_the_session(fw: Framework) {
    // Access tokens of 1 s: expired by the time of the next request.
    let app = start_with(fw, Some(Duration::from_secs(1))).await;
    let mut b = Browser::new(&app);
    let landed = b.sign_in(&app, "/dashboard", "ada@example.com").await;
    assert_eq!(landed.status(), 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let jar = b.jar.clone();
    let logins = app.emulator.request_count(EmulatorEndpoint::Authorize);

    for fault in [Fault::Status(503), Fault::DropConnection] {
        app.emulator
            .inject_fault(EmulatorEndpoint::Token, fault.clone());
        // API route: 503 JSON with Retry-After.
        let api = b.get("/api/me").await;
        assert_eq!(api.status(), 503, "{fault:?}");
        assert!(!header(&api, "retry-after").is_empty());
        assert!(
            header(&api, "set-cookie").is_empty(),
            "the cookie is left alone"
        );
        assert_eq!(
            api.json::<Value>().await.unwrap()["error"],
            "temporarily_unavailable"
        );
        // Browser route: a retry page, 503 with Retry-After, not a login.
        let page = b.get("/dashboard").await;
        assert_eq!(page.status(), 503);
        assert!(!header(&page, "retry-after").is_empty());
        assert!(header(&page, "content-type").starts_with("text/html"));
        assert!(header(&page, "set-cookie").is_empty());
        assert!(page.text().await.unwrap().contains("try again"));
        // A guarded API route answers the same, not 401.
        let admin = b.get("/api/admin").await;
        assert_eq!(admin.status(), 503);
        assert!(!header(&admin, "retry-after").is_empty());
        // An optional-auth page does not show the user as signed out.
        assert_eq!(b.get("/").await.status(), 503);
        assert_eq!(b.jar, jar, "the session cookie is kept");
    }

    // The platform recovers: the same cookie works, no new login.
    app.emulator.clear_faults();
    let me = b.get("/api/me").await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["email"],
        "ada@example.com"
    );
    assert_eq!(b.get("/dashboard").await.status(), 200);
    assert_eq!(
        app.emulator.request_count(EmulatorEndpoint::Authorize),
        logins,
        "no new login"
    );

    // Logging out works during an outage (the example keeps sessions in
    // cookies: logout clears them).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    app.emulator
        .inject_fault(EmulatorEndpoint::Token, Fault::Status(503));
    let logout = b.get("/auth/logout").await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert!(b.jar.keys().all(|k| !k.contains("sk_session")));
    app.emulator.clear_faults();
    assert_eq!(b.get("/dashboard").await.status(), StatusCode::FOUND);
}

async fn a_session_revoked_by_an_administrator_ends_on_the_next_request(fw: Framework) {
    // Access tokens of 1 s: the next request after the revocation refreshes.
    let app = start_with(fw, Some(Duration::from_secs(1))).await;
    let management =
        scalekit_management::ManagementClient::new(&Scalekit::new(config(&app.emulator)).unwrap())
            .unwrap();
    let user_id = app
        .emulator
        .users()
        .into_iter()
        .find(|u| u.email == "ada@example.com")
        .unwrap()
        .id;

    // An API caller: revoked, then the very next request is a 401 that
    // clears the cookie (no 503, no retry page).
    let mut api = Browser::new(&app);
    assert_eq!(
        api.sign_in(&app, "/dashboard", "ada@example.com")
            .await
            .status(),
        200
    );
    // The browser: another sign-in of the same user.
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser
            .sign_in(&app, "/dashboard", "ada@example.com")
            .await
            .status(),
        200
    );
    let revoked = management
        .sessions()
        .revoke_all_user_sessions(&user_id)
        .await
        .unwrap();
    assert_eq!(revoked.total_revoked, 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let token_calls = app.emulator.request_count(EmulatorEndpoint::Token);
    let me = api.get("/api/me").await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&me, "retry-after").is_empty());
    assert!(
        me.headers().get_all("set-cookie").iter().any(|c| {
            let c = c.to_str().unwrap();
            c.starts_with("sk_session") && c.contains("Max-Age=0")
        }),
        "the session cookie is cleared"
    );
    assert!(api.jar.keys().all(|k| !k.starts_with("sk_session")));
    assert_eq!(
        app.emulator.request_count(EmulatorEndpoint::Token),
        token_calls + 1,
        "one refused refresh"
    );

    // A browser route: the sign-in redirect at once, the cookie cleared.
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status(), StatusCode::FOUND);
    assert!(header(&page, "location").contains("/auth/login"));
    assert!(browser.jar.keys().all(|k| !k.starts_with("sk_session")));
    // Signed out for good: no cookie left to retry with.
    assert_eq!(browser.get("/api/me").await.status(), 401);
}

fn config(emulator: &scalekit_emulator::Emulator) -> scalekit_core::ScalekitConfig {
    scalekit_core::ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap()
}

/// `POST url` as a webhook delivery with these headers and body.
async fn post_webhook(
    url: &str,
    id: &str,
    timestamp: i64,
    signature: impl AsRef<str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    client()
        .post(url)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature.as_ref())
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The status of a POST whose body the server may refuse before reading it
/// all. A server that answers 413 early and closes the connection makes an
/// HTTP client's write fail with a broken pipe, depending on timing, before
/// it reads the answer that is already there; this writes the body and reads
/// the answer concurrently over one connection and ignores write errors, so
/// the status the server sent is what the test sees.
async fn post_status_even_if_cut_short(
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let url = reqwest::Url::parse(url).unwrap();
    let host = format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    );
    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let mut head = format!(
        "POST {} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {}\r\nconnection: close\r\n",
        url.path(),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let writing = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_ok() {
            // The server may answer and close before it has read this.
            let _ = writer.write_all(&body).await;
        }
    });
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(30), reader.read(&mut chunk))
            .await
            .expect("the server answers")
            .expect("the answer is readable");
        assert!(n > 0, "the server closed without answering");
        answer.extend_from_slice(&chunk[..n]);
    }
    writing.abort();
    let line = String::from_utf8_lossy(&answer);
    let mut parts = line.split(' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{line}");
    parts
        .next()
        .and_then(|code| code.parse().ok())
        .expect("a status code")
}

/// An HTTP client that follows no redirect.
fn client() -> reqwest::Client {
    common::apps::no_redirects()
}

fn www(r: &reqwest::Response) -> String {
    header(r, "www-authenticate")
}

async fn only_access_tokens_for_the_app_authenticate(fw: Framework) {
    let app = start(fw).await;
    let me = format!("{}/api/me", app.base);
    let call = |token: String| client().get(&me).bearer_auth(token).send();

    // The client id in `aud`: accepted.
    let ok = app.emulator.mint_access_token(json!({})).unwrap();
    let r = call(ok).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Another client's token of the same environment.
    let other = app
        .emulator
        .mint_access_token(json!({"aud": ["skc_another_app"], "client_id": "skc_another_app"}))
        .unwrap();
    let r = call(other).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        www(&r).contains("not meant for this audience"),
        "{}",
        www(&r)
    );

    // No `aud` at all.
    let none = app
        .emulator
        .mint_access_token(json!({"aud": null}))
        .unwrap();
    assert_eq!(call(none).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // The user's own ID tokens, whatever marks them: `azp` without
    // `client_id`, `nonce`, `at_hash`, `c_hash`.
    for marks in [
        json!({}),
        json!({"nonce": "n-1"}),
        json!({"client_id": app.emulator.client_id(), "at_hash": "x"}),
        json!({"client_id": app.emulator.client_id(), "c_hash": "x"}),
    ] {
        let id_token = app.emulator.mint_id_token(marks.clone()).unwrap();
        let r = call(id_token).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{marks}");
        assert!(www(&r).contains("not an access token"), "{}", www(&r));
    }

    // An IdP-initiated login token: signed by the environment, no `sub`.
    let url = app
        .emulator
        .idp_initiated_login_url("ada@example.com", None)
        .unwrap();
    let parsed = url::Url::parse(&url).unwrap();
    let idp_token = parsed
        .query_pairs()
        .find(|(k, _)| k == "idp_initiated_login")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let r = call(idp_token.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // ...while it still serves its purpose: the callback starts a new login.
    let r = client()
        .get(format!(
            "{}/auth/callback?idp_initiated_login={idp_token}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{}/oauth/authorize", app.emulator.url())));

    // An access token cannot pass for an IdP-initiated login token.
    let sk = Scalekit::new(config(&app.emulator)).unwrap();
    let access = app.emulator.mint_access_token(json!({})).unwrap();
    assert!(sk.get_idp_initiated_login_claims(&access).await.is_err());
}

async fn two_authorization_headers_are_a_bad_request(fw: Framework) {
    let app = start(fw).await;
    let token = app.emulator.mint_access_token(json!({})).unwrap();
    for (first, second) in [
        (format!("Bearer {token}"), "Bearer nonsense".to_owned()),
        ("Bearer nonsense".to_owned(), format!("Bearer {token}")),
        (format!("Bearer {token}"), format!("Bearer {token}")),
    ] {
        let r = client()
            .get(format!("{}/api/me", app.base))
            .header("authorization", first)
            .header("authorization", second)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(www(&r).contains(r#"error="invalid_request""#));
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
    // One header, any scheme case: fine.
    let r = client()
        .get(format!("{}/api/me", app.base))
        .header("authorization", format!("bEaReR {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn webhook_verification_cost_is_bounded(fw: Framework) {
    let app = start(fw).await;
    let verifier = app.webhooks.clone().unwrap();
    let url = format!("{}/webhooks/scalekit", app.base);
    let now = common::now();
    let body = vec![b'x'; 1024 * 1024 - 64];
    let before = verifier.mac_computations();

    // 12,000 empty entries over a 1 MB body: refused before any MAC.
    let flood = vec!["v1,"; 12_000].join(" ");
    let r = post_webhook(&url, "msg_flood", now, flood, body.clone()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(verifier.mac_computations(), before);

    // Sixteen wrong entries of the right shape: one MAC (one secret).
    let wrong = sign_payload(
        "whsec_b3RoZXItc2VjcmV0LW9mLWVub3VnaC1sZW5ndGg=",
        "msg_16",
        now,
        &body,
    )
    .unwrap();
    let sixteen = vec![wrong.as_str(); 16].join(" ");
    let r = post_webhook(&url, "msg_16", now, sixteen, body.clone()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(verifier.mac_computations(), before + 1);

    // A body over the limit (1 MiB): 413, nothing computed.
    let big = vec![b'x'; 1024 * 1024 + 1];
    let signature = sign_payload(WEBHOOK_SECRET, "msg_big", now, &big).unwrap();
    let status = post_status_even_if_cut_short(
        &url,
        &[
            ("webhook-id", "msg_big".to_owned()),
            ("webhook-timestamp", now.to_string()),
            ("webhook-signature", signature),
        ],
        big,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE.as_u16());
    assert_eq!(verifier.mac_computations(), before + 1);

    // A valid delivery among other-version and malformed entries.
    let event = json!({"id": "evt_1", "type": "organization.sso_enabled", "data": {}}).to_string();
    let good = sign_payload(WEBHOOK_SECRET, "msg_ok", now, event.as_bytes()).unwrap();
    let r = post_webhook(
        &url,
        "msg_ok",
        now,
        format!("v2,abc v1,!!! v1,AAAA {good}"),
        event,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(verifier.mac_computations(), before + 2);
}

async fn a_callback_from_another_login_is_refused(fw: Framework) {
    // Login CSRF: the attacker completes a login of their own and sends the
    // victim to the callback with the attacker's code and state. The
    // victim's browser holds its own login state (or none): refused, and no
    // session cookie is set.
    let app = start(fw).await;
    let (_, attacker_authorize) = common::apps::start_login(&app.base, "/auth/login").await;
    let attacker_user = app
        .emulator
        .users()
        .into_iter()
        .find(|u| u.email != app.emulator.test_user().email)
        .unwrap();
    let attacker_callback =
        common::apps::authorize_as(&app.emulator, &attacker_authorize, &attacker_user.id).await;
    let (victim_cookie, _) = common::apps::start_login(&app.base, "/auth/login").await;
    for cookie in [Some(victim_cookie), None] {
        let mut request = client().get(&attacker_callback);
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(
            r.headers().get_all("set-cookie").iter().all(|c| !c
                .to_str()
                .unwrap()
                .contains("sk_session=")
                || c.to_str().unwrap().contains("Max-Age=0")),
            "no session may start"
        );
    }
}

async fn fifty_concurrent_requests_on_an_expired_session_refresh_once(fw: Framework) {
    // Access tokens of 20 s are always within the 30 s refresh skew.
    let app = start_with(fw, Some(Duration::from_secs(20))).await;
    let mut b = Browser::new(&app);
    b.sign_in(&app, "/dashboard", "ada@example.com").await;
    let cookie: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let cookie = cookie.join("; ");
    let before = app.emulator.request_count(EmulatorEndpoint::Token);
    let http = client();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let request = http
            .get(format!("{}/api/me", app.base))
            .header("cookie", cookie.clone());
        tasks.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        app.emulator.request_count(EmulatorEndpoint::Token),
        before + 1,
        "exactly one refresh"
    );
}

async fn hostile_headers_and_bodies_get_clear_answers(fw: Framework) {
    let app = start(fw).await;
    let http = client();
    let url = |path: &str| format!("{}{path}", app.base);
    let raw = |bytes: &'static [u8]| reqwest::header::HeaderValue::from_bytes(bytes).unwrap();
    // An Authorization header that is not text: 400 invalid_request.
    let r = http
        .get(url("/api/me"))
        .header("authorization", raw(b"Bearer \xff\xfe\x80"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(www(&r).contains(r#"error="invalid_request""#));
    // A Cookie header that is not text is ignored: an anonymous visitor.
    let r = http
        .get(url("/"))
        .header("cookie", raw(b"sk_session=\xff\xfe"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A 30 KB Cookie header of junk: answered, no session, never a 5xx.
    let junk: String = (0..1500)
        .map(|i| format!("c{i}=xxxxxxxxxxxxxx; "))
        .collect();
    assert!(junk.len() > 30_000);
    let r = http
        .get(url("/api/me"))
        .header("cookie", junk)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // A session cookie that is forged: cleared, no session.
    let r = http
        .get(url("/dashboard"))
        .header(
            "cookie",
            "sk_session=AAAA; sk_session.0=BBBB; sk_session.7=CCCC",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    // A webhook body over the limit: 413 without reading it all.
    let status = post_status_even_if_cut_short(
        &url("/webhooks/scalekit"),
        &[
            ("webhook-id", "msg_1".to_owned()),
            ("webhook-timestamp", common::now().to_string()),
            ("webhook-signature", "v1,AAAA".to_owned()),
        ],
        vec![b'x'; 2 * 1024 * 1024],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE.as_u16());
    // The server is still there.
    assert_eq!(
        http.get(url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

/// One request's answer with everything that may differ between two
/// deployments (hosts, ports, client ids, random values, dates) masked.
async fn normalized(app: &App, response: reqwest::Response) -> String {
    let mut out = format!("{}\n", response.status().as_u16());
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "content-length"))
        .map(|(name, value)| {
            (
                name.to_string(),
                value.to_str().unwrap_or("<bytes>").to_owned(),
            )
        })
        .collect();
    headers.sort();
    let body = response.text().await.unwrap();
    let mask = |text: &str| {
        let text = text
            .replace(&app.base, "<app>")
            .replace(&percent(&app.base), "<app>")
            .replace(app.emulator.url(), "<env>")
            .replace(&percent(app.emulator.url()), "<env>")
            .replace(app.emulator.client_id(), "<client>")
            .replace(app.framework.realm(), "<realm>");
        // Random state, nonce, PKCE challenge and sealed cookie values.
        mask_random(&text)
    };
    for (name, value) in headers {
        out.push_str(&format!("{name}: {}\n", mask(&value)));
    }
    out.push_str(&mask(&body));
    out
}

/// Masks values that are random per request (`state=…`, `nonce=…`,
/// `code_challenge=…`, cookie values) in `text`.
fn mask_random(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let markers = [
        "state=",
        "nonce=",
        "code_challenge=",
        "sk_oauth_state=",
        "sk_session=",
        "sk_passwordless=",
    ];
    'outer: while !rest.is_empty() {
        for marker in markers {
            if let Some(tail) = rest.strip_prefix(marker) {
                out.push_str(marker);
                out.push('*');
                let end = tail.find(['&', ';', ' ', '"']).unwrap_or(tail.len());
                rest = &tail[end..];
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// The two adapters answer the same requests with the same statuses,
/// headers, cookie names and attributes, and bodies. (Both frameworks at
/// once, to compare their transcripts: not a `scenarios!` pair.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_frameworks_answer_alike() {
    let apps = [start(Framework::Axum).await, start(Framework::Actix).await];
    let mut transcripts = Vec::new();
    for app in &apps {
        app.emulator.register_m2m_client(
            M2mClient::new("m2morg_ro", "s", "org_1").scopes(["reports:read"]),
        );
        let weak = app
            .emulator
            .mint_m2m_token("m2morg_ro", json!({ "aud": [app.base] }))
            .unwrap();
        let id_token = app.emulator.mint_id_token(json!({})).unwrap();
        let http = client();
        let url = |path: &str| format!("{}{path}", app.base);
        let requests = vec![
            http.get(url("/")),
            http.get(url("/dashboard?tab=1&x=%C3%A9")),
            http.get(url("/api/me")),
            http.get(url("/api/admin")),
            http.get(url("/api/me")).bearer_auth("not-a-token"),
            http.get(url("/api/me")).bearer_auth(&id_token),
            http.get(url("/api/admin")).bearer_auth(&weak),
            http.get(url("/api/me"))
                .header("authorization", "Bearer a")
                .header("authorization", "Bearer b"),
            http.get(url("/api/me"))
                .header("authorization", "Basic abc"),
            http.get(url(
                "/auth/login?return_to=%2Fdashboard&organization_id=org_1",
            )),
            http.get(url("/auth/login?return_to=%2F%2Fevil.com")),
            http.get(url(
                "/auth/callback?error=access_denied&error_description=%3Cb%3Ex",
            )),
            http.get(url("/auth/callback?code=x&state=y")),
            http.get(url("/auth/logout")),
            http.get(url("/.well-known/oauth-protected-resource")),
            http.post(url("/webhooks/scalekit")).body("{}"),
            http.get(url("/dashboard"))
                .header("cookie", "sk_session=forged; sk_session.1=junk"),
            http.get(url("/auth/passwordless?return_to=%2Fdashboard%3Fa%3D1")),
            http.post(url("/auth/passwordless"))
                .header("origin", "https://evil.example")
                .form(&[("email", "ada@example.com")]),
            http.post(url("/auth/passwordless"))
                .header("origin", &app.base)
                .form(&[("email", "not an address")]),
            http.post(url("/auth/passwordless"))
                .header("origin", &app.base)
                .form(&[("email", "ada@example.com"), ("return_to", "/dashboard")]),
            http.post(url("/auth/passwordless/verify"))
                .header("origin", &app.base)
                .form(&[("code", "123456")]),
            http.post(url("/auth/passwordless/verify"))
                .header("origin", &app.base)
                .header("cookie", "sk_passwordless=forged")
                .form(&[("code", "123456")]),
            http.get(url("/auth/passwordless/verify?link_token=unknown")),
            http.post(url("/auth/passwordless/resend"))
                .header("origin", &app.base),
        ];
        let mut transcript = Vec::new();
        for request in requests {
            transcript.push(normalized(app, request.send().await.unwrap()).await);
        }
        transcripts.push(transcript);
    }
    if std::env::var_os("SHOW_TRANSCRIPT").is_some() {
        eprintln!("{}", transcripts[1].join("\n----\n"));
    }
    for (axum, actix) in transcripts[0].iter().zip(&transcripts[1]) {
        assert_eq!(axum, actix);
    }
}

async fn logout_with_an_expired_access_token_signs_out(fw: Framework) {
    // The layer refreshes the session on the way in to the logout route;
    // the logout's removal of the cookie must win over that refresh.
    let app = start_with(fw, Some(Duration::from_secs(1))).await;
    let mut b = Browser::new(&app);
    assert_eq!(
        b.sign_in(&app, "/dashboard", "ada@example.com")
            .await
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let tokens = app.emulator.request_count(EmulatorEndpoint::Token);
    let logout = b.get("/auth/logout").await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert!(
        app.emulator.request_count(EmulatorEndpoint::Token) > tokens,
        "refreshed on the way in"
    );
    let set: Vec<String> = logout
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|v| v.starts_with("sk_session"))
        .collect();
    assert!(
        !set.is_empty() && set.iter().all(|v| v.contains("Max-Age=0")),
        "{set:?}"
    );
    assert!(b.jar.keys().all(|k| !k.contains("sk_session")));
    assert_eq!(b.get("/dashboard").await.status(), StatusCode::FOUND);
}

async fn preferences_of(b: &mut Browser) -> Value {
    let r = b.get("/api/preferences").await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["preferences"].clone()
}

async fn session_data_is_set_at_sign_in_changed_by_handlers_kept_across_refreshes_and_gone_at_logout(
    fw: Framework,
) {
    // Access tokens of 1 s: every request after the first second refreshes;
    // no refresh grace: a refresh token sent again after its rotation is
    // refused (and revokes the session's tokens).
    let app = common::apps::fullstack_app_on(
        fw,
        |emulator| {
            emulator
                .access_token_ttl(Duration::from_secs(1))
                .refresh_grace(Duration::ZERO)
        },
        None,
        |web| web,
    )
    .await;
    let mut b = Browser::new(&app);
    let before = common::now();
    assert_eq!(
        b.sign_in(&app, "/dashboard", "ada@example.com")
            .await
            .status(),
        200
    );
    let prefs = preferences_of(&mut b).await;
    assert_eq!(prefs["theme"], "light", "set by the after-login hook");
    let signed_in_at = prefs["signed_in_at"].as_i64().unwrap();
    assert!(signed_in_at >= before && signed_in_at <= common::now());

    // A handler changes it; the cookie-only session carries it in a new
    // sealed cookie.
    let jar = b.jar.clone();
    let r = b
        .put(
            "/api/preferences",
            "application/json",
            r#"{"theme":"dark"}"#,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(!header(&r, "set-cookie").is_empty());
    assert_ne!(b.jar, jar);
    assert_eq!(
        r.json::<Value>().await.unwrap()["preferences"]["theme"],
        "dark"
    );
    assert_eq!(preferences_of(&mut b).await["theme"], "dark");
    let dashboard = b.get("/dashboard").await.text().await.unwrap();
    assert!(dashboard.contains("<body class=\"dark\">"));
    assert!(dashboard.contains("<dd id=\"theme\">dark</dd>"));

    // Refreshes keep it, and a write in the same request as a refresh
    // keeps the refreshed tokens.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let tokens = app.emulator.request_count(EmulatorEndpoint::Token);
    assert_eq!(preferences_of(&mut b).await["theme"], "dark");
    assert!(
        app.emulator.request_count(EmulatorEndpoint::Token) > tokens,
        "refreshed"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = b
        .put(
            "/api/preferences",
            "application/json",
            r#"{"theme":"light"}"#,
        )
        .await;
    assert_eq!(r.status(), 200);
    let sessions: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|v| v.starts_with("sk_session"))
        .collect();
    assert_eq!(sessions.len(), 1, "one session cookie: {sessions:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let me = b.get("/api/me").await;
    assert_eq!(me.status(), 200, "the refreshed refresh token was kept");
    assert_eq!(preferences_of(&mut b).await["theme"], "light");

    // Bad writes change nothing.
    let r = b
        .put("/api/preferences", "text/plain", r#"{"theme":"dark"}"#)
        .await;
    assert_eq!(r.status(), 415);
    let r = b
        .put(
            "/api/preferences",
            "application/json",
            r#"{"theme":"blue"}"#,
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(preferences_of(&mut b).await["theme"], "light");

    // A bearer caller has no session to keep data in.
    let token = app.emulator.mint_access_token(json!({})).unwrap();
    let r = reqwest::Client::new()
        .get(format!("{}/api/preferences", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(header(&r, "www-authenticate").starts_with("Bearer"));

    // Logout drops it; the next sign-in starts from the hook's data.
    let r = b
        .put(
            "/api/preferences",
            "application/json",
            r#"{"theme":"dark"}"#,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(b.get("/auth/logout").await.status(), StatusCode::FOUND);
    assert!(b.jar.keys().all(|k| !k.contains("sk_session")));
    assert_eq!(b.get("/api/preferences").await.status(), 401);
    assert_eq!(
        b.sign_in(&app, "/dashboard", "ada@example.com")
            .await
            .status(),
        200
    );
    assert_eq!(preferences_of(&mut b).await["theme"], "light");
}

async fn the_after_login_hook_sets_data_chooses_the_landing_page_or_answers_itself(fw: Framework) {
    use scalekit_core::web::{Answer, LoginDecision};
    let logins = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = logins.clone();
    let app = common::apps::fullstack_app(fw, None, None, move |web| {
        web.max_session_data(64).after_login(move |_auth| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                match n {
                    0 => LoginDecision::allow()
                        .with_data(&json!({"theme": "dark", "signed_in_at": 7}))
                        .redirect_to("/api/preferences"),
                    1 => LoginDecision::respond(Answer::new(
                        402,
                        "application/json",
                        r#"{"error":"subscription_required"}"#,
                    )),
                    2 => LoginDecision::allow().redirect_to("//evil.example/landing"),
                    _ => LoginDecision::allow().with_data(&"x".repeat(100)),
                }
            }
        })
    })
    .await;

    // Data and landing page from the hook.
    let mut b = Browser::new(&app);
    let landed = b.sign_in(&app, "/dashboard", "ada@example.com").await;
    assert_eq!(landed.url().path(), "/api/preferences");
    assert_eq!(
        landed.json::<Value>().await.unwrap()["preferences"],
        json!({"theme": "dark", "signed_in_at": 7})
    );

    // The application's own answer: no session, the login state cleared.
    let mut b = Browser::new(&app);
    let own = b.sign_in(&app, "/dashboard", "ada@example.com").await;
    assert_eq!(own.status(), 402);
    assert_eq!(header(&own, "content-type"), "application/json");
    assert_eq!(
        own.text().await.unwrap(),
        r#"{"error":"subscription_required"}"#
    );
    assert!(b.jar.is_empty(), "{:?}", b.jar.keys());

    // A landing page on another site is ignored: the return target wins.
    let mut b = Browser::new(&app);
    let landed = b.sign_in(&app, "/dashboard", "ada@example.com").await;
    assert_eq!(landed.status(), 200);
    assert_eq!(landed.url().path(), "/dashboard");

    // Data over the limit fails the sign-in with the failure page.
    let mut b = Browser::new(&app);
    let failed = b.sign_in(&app, "/dashboard", "ada@example.com").await;
    assert_eq!(failed.status(), 400);
    assert!(b.jar.keys().all(|k| !k.contains("sk_session")));
}

scenarios!(
    sign_in_failures_say_what_happened_in_fixed_words,
    a_session_revoked_by_an_administrator_ends_on_the_next_request,
    logout_with_an_expired_access_token_signs_out,
    session_data_is_set_at_sign_in_changed_by_handlers_kept_across_refreshes_and_gone_at_logout,
    the_after_login_hook_sets_data_chooses_the_landing_page_or_answers_itself,
    fifty_concurrent_requests_on_an_expired_session_refresh_once,
    hostile_headers_and_bodies_get_clear_answers,
    only_access_tokens_for_the_app_authenticate,
    two_authorization_headers_are_a_bad_request,
    webhook_verification_cost_is_bounded,
    a_callback_from_another_login_is_refused,
    every_route_signed_out,
    every_route_signed_in_then_logout,
    a_grace_member_is_refused_admin,
    bearer_tokens_with_and_without_the_scope,
    an_expired_access_token_is_refreshed_transparently,
    idp_initiated_callback_starts_a_new_login,
    open_redirect_attempts_land_on_the_after_login_page,
    callback_errors_are_never_reflected,
    webhooks_are_verified,
    untrusted_host_headers_never_shape_redirects_and_trust_is_opt_in,
    the_after_login_hook_can_refuse_a_login,
    a_token_endpoint_outage_answers_503_and_keeps_the_session,
);
