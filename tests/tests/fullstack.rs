//! The shared scenario suite: the axum and the actix-web full-stack examples
//! over HTTP against the emulator, with the same inputs and the same
//! assertions (one test list, two apps): every route of the contract signed
//! in and signed out, transparent refresh, logout, IdP-initiated login,
//! open-redirect attempts, unreflected errors, webhooks, the
//! protected-resource document, outages, attackers' inputs.

use std::collections::BTreeMap;
use std::time::Duration;

mod common;

use common::apps::{Framework, FullStack};
use reqwest::StatusCode;
use scalekit_emulator::{EmulatorEndpoint, Fault, M2mClient, WebhookSender};
use serde_json::Value;

const WEBHOOK_SECRET: &str = "whsec_ZnVsbHN0YWNrLXdlYmhvb2stc2VjcmV0LTEyMzQ1Ng";

type App = FullStack;

async fn start_with(fw: Framework, access_ttl: Option<Duration>) -> App {
    common::apps::fullstack_app(fw, access_ttl, Some(WEBHOOK_SECRET), |web| web).await
}

async fn start(fw: Framework) -> App {
    start_with(fw, None).await
}

/// Each scenario runs against both frameworks: `axum::<name>` and
/// `actix::<name>`.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod axum {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Framework::Axum).await
                }
            )*
        }
        mod actix {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Framework::Actix).await
                }
            )*
        }
    };
}

/// A minimal browser: a cookie jar for the application, no automatic
/// redirects.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
    base: String,
}

impl Browser {
    fn new(app: &App) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            base: app.base.clone(),
        }
    }

    fn absorb(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let (name, val) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), val.to_owned());
            }
        }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        };
        let mut request = self.http.get(&url);
        if url.starts_with(&self.base) && !self.jar.is_empty() {
            let cookie: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("cookie", cookie.join("; "));
        }
        let response = request.send().await.unwrap();
        if url.starts_with(&self.base) {
            self.absorb(&response);
        }
        response
    }

    /// Follows redirects (applying cookies) until a non-redirect answer or
    /// the emulator's sign-in page.
    async fn follow(&mut self, mut response: reqwest::Response) -> reqwest::Response {
        while response.status() == StatusCode::FOUND {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            response = self.get(&location).await;
        }
        response
    }

    /// Signs in as `email` starting from `start` (a path of the app);
    /// returns the final answer after the callback's redirect is followed.
    async fn sign_in(&mut self, app: &App, start: &str, email: &str) -> reqwest::Response {
        let first = self.get(start).await;
        let page = self.follow(first).await;
        assert_eq!(page.status(), 200);
        let authorize_url = page.url().clone();
        let html = page.text().await.unwrap();
        assert!(html.contains(email));
        let user = app
            .emulator
            .users()
            .into_iter()
            .find(|u| u.email == email)
            .unwrap();
        let mut form: Vec<(String, String)> = authorize_url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.push(("user_id".into(), user.id));
        let submitted = self
            .http
            .post(format!("{}/oauth/authorize", app.emulator.url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(submitted.status(), StatusCode::FOUND);
        self.follow(submitted).await
    }
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
    assert!(header(&admin, "www-authenticate").contains(r#"error="insufficient_scope", error_description="The access token does not grant the required access.", scope="admin:read""#));
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

async fn open_redirect_attempts_land_on_home(fw: Framework) {
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
        assert_eq!(landed.url().as_str(), format!("{}/", app.base), "{evil}");
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
        web.after_login(std::sync::Arc::new(
            move |auth: scalekit_core::oauth::AuthenticationResponse| {
                let log = log.clone();
                Box::pin(async move {
                    let email = auth.user.email.clone().unwrap_or_default();
                    log.lock().unwrap().push(email.clone());
                    if email.ends_with("@globex.example") {
                        Err("Globex accounts are not allowed <here>.".to_owned())
                    } else {
                        Ok(())
                    }
                })
            },
        ))
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

scenarios!(
    every_route_signed_out,
    every_route_signed_in_then_logout,
    a_grace_member_is_refused_admin,
    bearer_tokens_with_and_without_the_scope,
    an_expired_access_token_is_refreshed_transparently,
    idp_initiated_callback_starts_a_new_login,
    open_redirect_attempts_land_on_home,
    callback_errors_are_never_reflected,
    webhooks_are_verified,
    untrusted_host_headers_never_shape_redirects_and_trust_is_opt_in,
    the_after_login_hook_can_refuse_a_login,
    a_token_endpoint_outage_answers_503_and_keeps_the_session,
);
