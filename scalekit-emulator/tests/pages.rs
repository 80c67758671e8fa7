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

#[tokio::test]
async fn the_hosted_page_says_who_asks_who_can_sign_in_what_deny_does_and_who_started_it() {
    let callback = "http://localhost:3000/auth/callback";
    let emulator = Emulator::builder()
        .redirect_uri(callback)
        .start()
        .await
        .unwrap();
    let user = emulator.test_user().clone();
    let org = emulator
        .organizations()
        .into_iter()
        .find(|o| o.id == user.organization_id)
        .unwrap();
    let authorize = |extra: &[(&str, &str)]| {
        let mut url = url::Url::parse(&format!("{}/oauth/authorize", emulator.url())).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", emulator.client_id())
            .append_pair("redirect_uri", callback)
            .extend_pairs(extra);
        url
    };
    let page = reqwest::get(authorize(&[]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<strong>localhost:3000</strong>"), "{page}");
    assert!(page.contains(&org.name));
    assert!(page.contains("admin"), "the user's roles");
    assert!(page.contains("id=\"deny-explained\""));
    assert!(!page.contains("id=\"idp-initiated\""));

    // After the identity provider started a sign-in, the application's
    // authorization request for that user and connection says so.
    let hint = [
        ("login_hint", user.email.as_str()),
        ("connection_id", org.connection_id.as_str()),
    ];
    let before = reqwest::get(authorize(&hint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!before.contains("id=\"idp-initiated\""));
    emulator.idp_initiated_login_url(&user.email, None).unwrap();
    let after = reqwest::get(authorize(&hint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(after.contains("id=\"idp-initiated\""), "{after}");
}
