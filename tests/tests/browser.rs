//! A real browser (headless Debian Chromium through WebDriver) signs in
//! through the emulator's hosted page, sees the user's email on
//! `/dashboard`, and signs out. `scripts/test` installs `chromium` and
//! `chromium-driver`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_and_out_through_axum() {
    signs_in_sees_the_dashboard_and_signs_out(Framework::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_and_out_through_actix() {
    signs_in_sees_the_dashboard_and_signs_out(Framework::Actix).await;
}

async fn signs_in_sees_the_dashboard_and_signs_out(framework: Framework) {
    let app = common::apps::fullstack_app(framework, None, None, |web| web).await;
    let (base, emulator) = (app.base.clone(), &app.emulator);

    let (_driver, port) = start_driver();
    let profile = std::env::temp_dir().join(format!(
        "scalekit-chromium-{}-{framework:?}",
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

    // Signed out, the dashboard sends the browser to the hosted sign-in page.
    browser.goto(&format!("{base}/dashboard")).await.unwrap();
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
    browser.goto(&format!("{base}/dashboard")).await.unwrap();
    browser
        .wait()
        .for_element(Locator::Css(r#"button[data-email="ada@example.com"]"#))
        .await
        .unwrap();

    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(profile);
}
