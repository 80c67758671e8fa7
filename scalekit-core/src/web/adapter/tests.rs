//! Tests of `web/adapter.rs`.

use super::*;
use crate::web::Answer;

#[test]
fn a_passwordless_caller_has_no_access_token_to_extract() {
    let session = crate::web::caller::tests::passwordless_session();
    let caller = Authenticated::passwordless(
        Arc::new(session),
        "https://acme.scalekit.dev",
        &crate::session::SessionPolicy::default(),
    );
    let resolution = Resolution::from_caller(Some(Arc::new(caller)));
    let extracted = Extracted::new(Some(&resolution));
    assert!(extracted.caller().is_ok(), "a caller all the same");
    let refused = extracted.access_token().unwrap_err();
    assert_eq!(refused.status(), 401);
}

#[test]
fn every_answer_is_no_store_unless_the_application_says_otherwise() {
    let error = WebResponse::Error {
        outcome: ErrorOutcome::missing_credentials(&Challenge::new("app")),
        html: None,
    }
    .into_http();
    assert_eq!(error.status, 401);
    assert!(error.has("www-authenticate") && error.has("cache-control"));
    assert_eq!(error.headers[0].1, "application/json");

    let own = WebResponse::Custom {
        answer: Answer::new(402, "text/plain", "pay").header("Cache-Control", "max-age=5"),
        set_cookies: vec![String::new(), "x=1".into()],
    }
    .into_http();
    let cache: Vec<_> = own
        .headers
        .iter()
        .filter(|(n, _)| n == "cache-control")
        .collect();
    assert_eq!(cache.len(), 1);
    assert_eq!(cache[0].1, "max-age=5");
    let cookies: Vec<_> = own
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .collect();
    assert_eq!(cookies.len(), 1, "empty cookies are skipped");
}

#[test]
fn a_redirect_to_a_target_that_is_not_header_text_is_a_500() {
    let http = WebResponse::Redirect {
        location: "/a\r\nSet-Cookie: x=1".into(),
        set_cookies: Vec::new(),
    }
    .into_http();
    assert_eq!(http.status, 500);
    assert!(!http.has("location"));
}

#[cfg(feature = "test-util")]
#[test]
fn extractors_answer_through_the_innermost_layers_auth() {
    use super::super::Mode;
    use crate::session::RequestCookies;
    use crate::test_util::TestCaller;
    let serve = |web: &WebAuth, outer: &Resolution| {
        let decided = web.gate_now(
            Mode::RequireApi,
            Some(outer),
            AuthorizationHeaders::default(),
            &RequestCookies::default(),
            "/api/me",
        );
        match decided {
            Some((Gate::Serve(resolution), _)) => resolution,
            other => panic!("served: {other:?}"),
        }
    };
    let made_by = |resolution: &Resolution, web: &Arc<WebAuth>| {
        Extracted::new(Some(resolution))
            .web()
            .is_some_and(|made| std::ptr::eq(made, web.as_ref()))
    };
    let outer = Arc::new(crate::web::test_web());
    let (_, leave) = outer.after_gate(TestCaller::new("usr_1").resolution(), false, Vec::new());
    let left = leave.resolution.expect("left");
    assert!(made_by(&left, &outer));
    // An inner layer of the same auth leaves nothing again.
    let (_, leave) = outer.after_gate(serve(&outer, &left), false, Vec::new());
    assert!(leave.resolution.is_none() && leave.caller.is_none());
    // One of a clone (another responder, the same acceptance) leaves it
    // again, answering through its own.
    let inner = Arc::new(WebAuth::clone(&outer));
    let (_, leave) = inner.after_gate(serve(&inner, &left), false, Vec::new());
    let left = leave.resolution.expect("left again");
    assert!(made_by(&left, &inner));
    assert!(Extracted::new(Some(&left)).caller().is_ok());
    assert!(
        leave.caller.is_none(),
        "the caller is already in the request"
    );
}

#[cfg(feature = "test-util")]
#[test]
fn answers_to_session_callers_are_not_cached_unless_the_handler_says_so() {
    use crate::test_util::TestCaller;
    let web = Arc::new(crate::web::test_web());
    let finish = |web: &Arc<WebAuth>, caller: TestCaller, has_cache_control: bool| {
        let (after, _) = web.after_gate(caller.resolution(), false, Vec::new());
        after.finish(web, 200, std::iter::empty, || has_cache_control)
    };
    let session = || TestCaller::new("usr_1");
    assert_eq!(
        finish(&web, session(), false).cache_control,
        Some("no-store")
    );
    // The handler's own Cache-Control wins.
    assert_eq!(finish(&web, session(), true).cache_control, None);
    // Bearer callers (APIs) are left alone.
    assert_eq!(
        finish(&web, TestCaller::new("m2m_1").bearer(), false).cache_control,
        None
    );
    // The switch.
    let web = Arc::new(Arc::unwrap_or_clone(web).no_store_for_sessions(false));
    assert_eq!(finish(&web, session(), false).cache_control, None);
}
