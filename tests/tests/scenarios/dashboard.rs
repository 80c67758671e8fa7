//! The full-stack example's pages: the dashboard shows the signed-in user,
//! organization, roles, permissions and session expiry, escapes everything,
//! loads nothing from elsewhere, and the axum and actix-web apps serve it
//! byte for byte alike.

use crate::common;

use common::apps::{Framework, FullStack, authorize_as, fullstack_app, no_redirects, start_login};

/// Signs in as `email`: the session cookies.
async fn sign_in(app: &FullStack, email: &str) -> String {
    let (state_cookie, authorize) = start_login(&app.base, "/auth/login").await;
    let user = app
        .emulator
        .users()
        .into_iter()
        .find(|u| u.email == email)
        .unwrap();
    let callback = authorize_as(&app.emulator, &authorize, &user.id).await;
    let landed = no_redirects()
        .get(callback)
        .header("cookie", state_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 302);
    landed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .filter(|v| !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

async fn get(app: &FullStack, path: &str, cookie: &str) -> String {
    let r = no_redirects()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A signed-in page is never kept in the browser's cache.
    assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    r.text().await.unwrap()
}

/// The text of the element with this id (the first text up to `<`).
fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap();
    let open = start + html[start..].find('>').unwrap() + 1;
    let end = open + html[open..].find('<').unwrap();
    &html[open..end]
}

/// Masks what differs between two runs: times (to the minute) and ids.
fn masked(app: &FullStack, html: &str) -> String {
    let mut out = html.replace(&app.base, "<app>");
    for id in [
        "token-expiry",
        "session-expiry",
        "signed-in-at",
        "user-id",
        "organization",
        "connection",
    ] {
        let value = text_of(&out, id).to_owned();
        if !value.is_empty() {
            out = out.replace(&value, &format!("<{id}>"));
        }
    }
    out
}

/// Both frameworks at once, to compare their pages: not a `scenarios!`
/// pair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_user_and_is_alike_in_both_frameworks() {
    let mut pages = Vec::new();
    for fw in [Framework::Axum, Framework::Actix] {
        let app = fullstack_app(fw, None, None, |web| web).await;
        let cookie = sign_in(&app, "ada@example.com").await;
        let html = get(&app, "/dashboard", &cookie).await;
        let ada = app
            .emulator
            .users()
            .into_iter()
            .find(|u| u.email == "ada@example.com")
            .unwrap();
        assert_eq!(text_of(&html, "email"), "ada@example.com");
        assert_eq!(text_of(&html, "name"), "Ada Lovelace");
        assert_eq!(text_of(&html, "user-id"), ada.id);
        assert_eq!(text_of(&html, "organization"), ada.organization_id);
        assert!(html.contains("<ul id=\"roles\" class=\"chips\"><li>admin</li></ul>"));
        assert!(html.contains(
            "<ul id=\"permissions\" class=\"chips\"><li>admin:read</li><li>projects:read</li></ul>"
        ));
        for id in ["token-expiry", "session-expiry"] {
            let when = text_of(&html, id);
            assert!(when.ends_with(" UTC") && when.len() == 20, "{id}: {when}");
        }
        assert!(html.contains("id=\"call-me\"") && html.contains("call('/api/me'"));
        assert!(html.contains("id=\"call-admin\"") && html.contains("call('/api/admin'"));
        // The organization's name, read through the management API.
        let org = app
            .emulator
            .organizations()
            .into_iter()
            .find(|o| o.id == ada.organization_id)
            .unwrap();
        assert_eq!(text_of(&html, "organization-name"), org.name);
        assert!(html.contains("id=\"logout\""));
        // Inline only: no stylesheet, script or image from anywhere else.
        for external in ["<link", "src=", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
        let home = get(&app, "/", &cookie).await;
        assert_eq!(text_of(&home, "email"), "ada@example.com");
        pages.push(masked(&app, &html));
    }
    assert_eq!(pages[0], pages[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_dashboard_shows_is_escaped() {
    let app = fullstack_app(Framework::Axum, None, None, |web| web).await;
    let hostile = "<img src=x onerror=alert(1)>";
    let token = app
        .emulator
        .mint_access_token(serde_json::json!({
            "roles": [hostile],
            "permissions": ["a&b"],
            "oid": "org_\"x\"",
        }))
        .unwrap();
    // A bearer caller (no session) on the dashboard's page.
    let web = scalekit_core::web::WebAuth::with_cookie_sessions(
        scalekit_core::ScalekitConfig::new(
            app.emulator.url(),
            app.emulator.client_id(),
            app.emulator.client_secret(),
        )
        .unwrap(),
        &app.base,
        common::apps::SESSION_SECRET,
    )
    .unwrap();
    let authorization = format!("Bearer {token}");
    let cookies = Default::default();
    let (resolution, _) = web
        .authenticate(Some(authorization.as_str()), &cookies)
        .await;
    let caller = resolution.caller().expect("a bearer caller");
    let html = scalekit_examples::fullstack::dashboard(caller, None, None);
    assert!(!html.contains(hostile));
    assert!(html.contains("<li>&lt;img src=x onerror=alert(1)&gt;</li>"));
    assert!(html.contains("<li>a&amp;b</li>"));
    assert!(html.contains("org_&quot;x&quot;"));
    assert_eq!(
        text_of(&html, "session-expiry"),
        "",
        "no session: shown as unknown"
    );
    assert!(html.contains("id=\"session-expiry\"><span class=\"none\">unknown</span>"));
}
