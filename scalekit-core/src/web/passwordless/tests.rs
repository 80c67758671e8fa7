//! Tests of `web/passwordless.rs`.

use super::*;

fn web() -> WebAuth {
    super::super::test_web().passwordless(PasswordlessLogin::new())
}

fn post<'a>(
    origin: Option<&'a str>,
    referer: Option<&'a str>,
    site: Option<&'a str>,
) -> FormPost<'a> {
    FormPost {
        body: b"email=a%40b.c",
        content_type: Some("application/x-www-form-urlencoded"),
        origin,
        referer,
        fetch_site: site,
        oversized: false,
    }
}

#[test]
fn only_posts_from_the_applications_own_pages_are_read() {
    let web = web();
    let none = RequestOrigin::default();
    let own = "https://app.example.com";
    assert!(web.same_origin_post(&post(Some(own), None, None), &none));
    assert!(web.same_origin_post(
        &post(Some("HTTPS://APP.EXAMPLE.COM"), None, Some("same-origin")),
        &none
    ));
    assert!(web.same_origin_post(
        &post(
            None,
            Some("https://app.example.com/auth/passwordless"),
            None
        ),
        &none
    ));
    for (origin, referer, site) in [
        (Some("https://evil.example"), None, None),
        (Some("https://app.example.com.evil.example"), None, None),
        (Some("null"), None, None),
        (None, None, None),
        (None, Some("https://app.example.com.evil.example/x"), None),
        (None, Some("https://app.example.com"), None),
        (Some(own), None, Some("cross-site")),
    ] {
        assert!(
            !web.same_origin_post(&post(origin, referer, site), &none),
            "{origin:?} {referer:?} {site:?}"
        );
    }
}

#[test]
fn the_form_keeps_a_safe_return_target_only() {
    let web = web();
    let page = |target: &str| match web
        .passwordless_form(&HashMap::from([("return_to".into(), target.into())]))
    {
        WebResponse::Page {
            status: 200, html, ..
        } => html,
        other => panic!("{other:?}"),
    };
    assert!(page("/reports?x=1").contains("value=\"/reports?x=1\""));
    assert!(!page("//evil.example").contains("return_to"));
    assert!(page("/a\"><script>").contains("passwordless-form"));
    assert!(!page("/a\"><script>").contains("<script>"));
}

#[tokio::test]
async fn a_cross_site_post_is_refused_before_any_call() {
    let web = web();
    let answer = web
        .passwordless_send(
            &post(Some("https://evil.example"), None, None),
            &RequestOrigin::default(),
        )
        .await;
    assert!(
        matches!(answer, WebResponse::Page { status: 403, .. }),
        "{answer:?}"
    );
}

#[tokio::test]
async fn without_passwordless_the_routes_are_not_found() {
    let web = super::super::test_web();
    assert!(web.passwordless_paths().is_none());
    let answer = web.passwordless_form(&HashMap::new());
    assert!(matches!(answer, WebResponse::Page { status: 404, .. }));
    let answer = web
        .passwordless_send(
            &post(Some("https://app.example.com"), None, None),
            &RequestOrigin::default(),
        )
        .await;
    assert!(matches!(answer, WebResponse::Page { status: 404, .. }));
}

#[test]
fn the_user_is_the_verified_address() {
    let verified: VerifiedEmail = serde_json::from_str(r#"{"email":" Ada@Example.com "}"#).unwrap();
    let user = passwordless_user(&verified);
    assert_eq!(
        (user.id.as_str(), user.email.as_deref()),
        ("ada@example.com", Some("ada@example.com"))
    );
}
