//! A real browser (headless Debian Chromium through WebDriver) signs in
//! through the emulator's hosted page, sees the user's email on
//! `/dashboard`, and signs out; and signs in by email, with the code it
//! reads from the emulator's outbox. `scripts/test` installs `chromium` and
//! `chromium-driver`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

use common::apps::Framework;
use fantoccini::{ClientBuilder, Locator};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_driver() -> (Driver, u16) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (scripts/test installs chromium-driver)");
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, port)
}

scenarios!(
    signs_in_sees_the_dashboard_and_signs_out,
    signs_in_with_an_emailed_code,
);

/// A headless Chromium session through a fresh chromedriver, with its own
/// profile directory.
async fn chromium(framework: Framework) -> (Driver, fantoccini::Client, std::path::PathBuf) {
    let (driver, port) = start_driver();
    // A profile directory per session: sessions running at once (two
    // scenarios of one framework) must not share one (Chromium locks it).
    static SESSIONS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = std::env::temp_dir().join(format!(
        "scalekit-chromium-{}-{framework:?}-{n}",
        std::process::id()
    ));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let browser = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    (driver, browser, profile)
}

async fn signs_in_sees_the_dashboard_and_signs_out(framework: Framework) {
    let app = common::apps::fullstack_app(framework, None, None, |web| web).await;
    let (base, emulator) = (app.base.clone(), &app.emulator);
    let (_driver, browser, profile) = chromium(framework).await;

    // Signed out, the dashboard sends the browser to the hosted sign-in
    // page. "Deny" there gives the failure page, in the app's style, with
    // a way to sign in again.
    browser.goto(&format!("{base}/dashboard")).await.unwrap();
    browser
        .wait()
        .for_element(Locator::Id("deny"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let again = browser
        .wait()
        .for_element(Locator::Id("sign-in-again"))
        .await
        .unwrap();
    let title = browser.find(Locator::Css("h1")).await.unwrap();
    assert_eq!(title.text().await.unwrap(), "You did not sign in");
    again.click().await.unwrap();
    let ada = browser
        .wait()
        .for_element(Locator::Css(r#"button[data-email="ada@example.com"]"#))
        .await
        .unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(emulator.url())
    );
    ada.click().await.unwrap();

    // Back on the dashboard, signed in.
    let email = browser
        .wait()
        .for_element(Locator::Id("email"))
        .await
        .unwrap();
    assert_eq!(email.text().await.unwrap(), "ada@example.com");
    assert_eq!(browser.current_url().await.unwrap().path(), "/dashboard");

    // The dashboard's button calls /api/me with the session.
    browser
        .find(Locator::Id("call-me"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let output = browser.find(Locator::Id("me-output")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        let text = output.text().await.unwrap();
        if text.starts_with("200") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(answer.starts_with("200"), "{answer}");
    assert!(answer.contains(r#""email": "ada@example.com""#), "{answer}");

    // The theme kept in the session: the button switches it (PUT
    // /api/preferences, then a reload), and it stays switched.
    assert_eq!(
        browser
            .find(Locator::Id("theme"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "light"
    );
    browser
        .find(Locator::Id("toggle-theme"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("body.dark #theme"))
        .await
        .unwrap();
    browser.goto(&format!("{base}/dashboard")).await.unwrap();
    assert_eq!(
        browser
            .find(Locator::Id("theme"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "dark"
    );

    // Sign out: through the platform logout, back home, signed out.
    browser
        .find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("login"))
        .await
        .unwrap();
    assert_eq!(
        browser.current_url().await.unwrap().as_str(),
        format!("{base}/")
    );
    // Back shows nothing private: the signed-in page was not kept in the
    // browser's cache, so it is asked for again and sends to sign-in.
    browser.back().await.unwrap();
    browser
        .wait()
        .for_element(Locator::Css(r#"button[data-email="ada@example.com"]"#))
        .await
        .unwrap();
    assert!(browser.find(Locator::Id("session-expiry")).await.is_err());
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(emulator.url())
    );
    browser.goto(&format!("{base}/dashboard")).await.unwrap();
    browser
        .wait()
        .for_element(Locator::Css(r#"button[data-email="ada@example.com"]"#))
        .await
        .unwrap();

    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(profile);
}

/// From the home page, signed out: asks for a code for `email`, reads it
/// from the emulator's `/outbox` page in another tab, enters it, and waits
/// for the dashboard. `shot` is called with a name on the email form and
/// on the "check your email" page.
async fn sign_in_by_email<F, Fut>(
    browser: &fantoccini::Client,
    emulator_url: &str,
    email: &str,
    shot: F,
) where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let click = |id: &'static str| async move {
        browser
            .wait()
            .for_element(Locator::Id(id))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    };
    click("login-passwordless").await;
    let field = browser
        .wait()
        .for_element(Locator::Id("email"))
        .await
        .unwrap();
    shot("passwordless-form.png").await;
    field.send_keys(email).await.unwrap();
    click("send").await;
    let code_field = browser
        .wait()
        .for_element(Locator::Id("code"))
        .await
        .unwrap();
    shot("passwordless-check-email.png").await;

    // The code, read from the emulator's outbox in another tab.
    let page = browser.window().await.unwrap();
    let tab = browser.new_window(true).await.unwrap();
    browser.switch_to_window(tab.handle).await.unwrap();
    browser
        .goto(&format!("{emulator_url}/outbox"))
        .await
        .unwrap();
    let code = browser
        .wait()
        .for_element(Locator::Css("#email-0 .code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(code.len(), 6, "{code}");
    browser.close_window().await.unwrap();
    browser.switch_to_window(page).await.unwrap();

    code_field.send_keys(&code).await.unwrap();
    click("verify").await;
    browser
        .wait()
        .for_element(Locator::Id("auth-method"))
        .await
        .unwrap();
}

async fn signs_in_with_an_emailed_code(framework: Framework) {
    let app = common::apps::fullstack_app(framework, None, None, |web| web).await;
    let (_driver, browser, profile) = chromium(framework).await;

    // Home, signed out, offers both ways to sign in.
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    sign_in_by_email(&browser, app.emulator.url(), "ada@example.com", |_| async {
    })
    .await;
    let text = |id: &'static str| {
        let browser = browser.clone();
        async move {
            browser
                .find(Locator::Id(id))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(text("auth-method").await.contains("passwordless"));
    assert_eq!(browser.current_url().await.unwrap().path(), "/dashboard");
    assert_eq!(text("email").await, "ada@example.com");

    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(profile);
}

/// Screenshots of the full-stack example's pages (home signed out, the
/// dashboard signed in, light and dark, the page after "Deny", the
/// passwordless pages and a passwordless session's dashboard) and the
/// emulator's (its front page, the hosted sign-in page) as PNG files in `$SCREENSHOT_DIR` (default
/// `docs/screenshots`): `scripts/screenshots` regenerates the committed
/// ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes files; run by scripts/screenshots"]
async fn screenshots() {
    let dir = std::env::var_os("SCREENSHOT_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    let app = common::apps::fullstack_app(Framework::Axum, None, None, |web| web).await;
    let (_driver, browser, profile) = chromium(Framework::Axum).await;
    browser.set_window_size(1100, 640).await.unwrap();

    let shot = |name: &'static str| {
        let browser = browser.clone();
        let path = dir.join(name);
        async move {
            browser
                .execute("window.scrollTo(0, 0)", Vec::new())
                .await
                .unwrap();
            std::fs::write(path, browser.screenshot().await.unwrap()).unwrap();
        }
    };

    // The emulator explains itself at its root URL.
    browser.goto(app.emulator.url()).await.unwrap();
    browser
        .wait()
        .for_element(Locator::Id("users"))
        .await
        .unwrap();
    shot("emulator-front.png").await;

    browser.goto(&format!("{}/", app.base)).await.unwrap();
    browser
        .wait()
        .for_element(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Wait for the hosted page before the home page's picture: its link
    // was followed.
    let deny = browser
        .wait()
        .for_element(Locator::Id("deny"))
        .await
        .unwrap();
    shot("emulator-sign-in.png").await;
    deny.click().await.unwrap();
    let again = browser
        .wait()
        .for_element(Locator::Id("sign-in-again"))
        .await
        .unwrap();
    shot("sign-in-denied.png").await;
    again.click().await.unwrap();
    browser
        .wait()
        .for_element(Locator::Css(r#"button[data-email="ada@example.com"]"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("call-me"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let output = browser.find(Locator::Id("me-output")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !output.text().await.unwrap().starts_with("200") {
        assert!(Instant::now() < deadline, "/api/me answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.set_window_size(1100, 1000).await.unwrap();
    shot("dashboard-signed-in.png").await;
    browser
        .find(Locator::Id("toggle-theme"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css("body.dark #theme"))
        .await
        .unwrap();
    shot("dashboard-dark.png").await;

    // The home page, signed out (after the platform's logout).
    browser.set_window_size(1100, 640).await.unwrap();
    browser
        .find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("login"))
        .await
        .unwrap();
    shot("home-signed-out.png").await;

    // Passwordless: the email form, the "check your email" page, and the
    // dashboard of a session signed in with the code.
    sign_in_by_email(&browser, app.emulator.url(), "ada@example.com", &shot).await;
    browser.set_window_size(1100, 1000).await.unwrap();
    shot("dashboard-passwordless.png").await;

    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(profile);
}
