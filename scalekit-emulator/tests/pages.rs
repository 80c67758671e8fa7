//! The emulator explains itself: its front page and its icon.

use scalekit_emulator::Emulator;

#[tokio::test]
async fn the_front_page_shows_the_environment_its_users_and_their_sign_in_links() {
    let emulator = Emulator::builder()
        .redirect_uri("http://localhost:3000/auth/callback")
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let front = http.get(emulator.url()).send().await.unwrap();
    assert_eq!(front.status(), 200);
    assert!(
        front.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = front.text().await.unwrap();
    assert!(html.contains(emulator.client_id()));
    assert!(
        !html.contains(emulator.client_secret()),
        "no secret on the page"
    );
    let orgs = emulator.organizations();
    for user in emulator.users() {
        assert!(html.contains(&user.email), "{}", user.email);
        let org = orgs.iter().find(|o| o.id == user.organization_id).unwrap();
        assert!(html.contains(&org.name), "{}", org.name);
        for role in &user.roles {
            assert!(html.contains(role.as_str()));
        }
    }
    assert!(html.contains("href=\"/deliveries\""));
    assert!(html.contains("rel=\"icon\""));

    // Each IdP-initiated link starts a sign-in at the application.
    let user = emulator.test_user();
    let link = format!(
        "{}/sso/idp-initiated?login_hint={}",
        emulator.url(),
        user.email.replace('@', "%40")
    );
    assert!(html.contains(&link[emulator.url().len()..]), "{link}");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = no_redirects.get(&link).send().await.unwrap();
    assert_eq!(started.status(), 302);
    let location = started.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("http://localhost:3000/auth/callback?idp_initiated_login="),
        "{location}"
    );

    let icon = http
        .get(format!("{}/favicon.ico", emulator.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().starts_with("<svg"));
}
