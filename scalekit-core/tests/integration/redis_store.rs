//! The Redis session store on its own: `REDIS_URL` among the contract's
//! variables selects it (and with the other store variables, is an error
//! naming both), a Redis that does not answer fails within the store's
//! timeout. What every store does is the store suite's.

use std::time::{Duration, Instant};

use scalekit_core::session::{RedisStore, SessionMode, SessionStore, StoreError};
use scalekit_core::web::WebAuth;

use crate::common::redis::RedisServer;

/// A session secret of the contract's length (any).
const SESSION_SECRET: &str = "scale-out-test-session-secret-of-32-bytes+";

/// The contract's variables, with `set` besides.
fn contract(set: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |name: &str| match name {
        "SCALEKIT_ENVIRONMENT_URL" => Some("https://acme.scalekit.dev".to_owned()),
        "SCALEKIT_CLIENT_ID" => Some("skc_1".to_owned()),
        "SCALEKIT_CLIENT_SECRET" => Some("secret".to_owned()),
        "APP_BASE_URL" => Some("https://app.example.com".to_owned()),
        "SESSION_SECRET" => Some(SESSION_SECRET.to_owned()),
        other => set
            .iter()
            .find(|(n, _)| *n == other)
            .map(|(_, v)| v.clone()),
    }
}

async fn loopback() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test]
async fn redis_url_in_the_environment_selects_the_redis_store() {
    let redis = RedisServer::start();
    let vars = |redis_url: Option<&str>| {
        contract(
            redis_url
                .map(|url| vec![("REDIS_URL", url.to_owned())])
                .unwrap_or_default(),
        )
    };
    assert_eq!(
        WebAuth::from_lookup(vars(None)).unwrap().sessions().mode(),
        SessionMode::CookieOnly
    );
    assert_eq!(
        WebAuth::from_lookup(vars(Some(" ")))
            .unwrap()
            .sessions()
            .mode(),
        SessionMode::CookieOnly
    );
    assert_eq!(
        WebAuth::from_lookup(vars(Some(&redis.url())))
            .unwrap()
            .sessions()
            .mode(),
        SessionMode::ServerSide
    );
    for bad in ["http://127.0.0.1:6379/", "not a url", "redis://[::1"] {
        let err = WebAuth::from_lookup(vars(Some(bad))).unwrap_err();
        assert_eq!(err.setting(), "REDIS_URL");
        assert!(!err.to_string().contains(bad), "the value is not echoed");
    }
}

#[tokio::test]
async fn a_redis_that_does_not_answer_fails_within_the_timeout() {
    // A listener that accepts connections and never answers.
    let (listener, addr) = loopback().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let store = RedisStore::open(&format!("redis://{addr}/"))
        .unwrap()
        .timeout(Duration::from_millis(400));
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(
            store.load("some-session").await,
            Err(StoreError::Unavailable)
        );
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
    }
    // Nobody listening at all: refused at once.
    let (gone, addr) = loopback().await;
    drop(gone);
    let store = RedisStore::open(&format!("redis://{addr}/")).unwrap();
    let started = Instant::now();
    assert_eq!(store.ping().await, Err(StoreError::Unavailable));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        RedisStore::open("http://127.0.0.1/").unwrap_err(),
        StoreError::InvalidUrl
    );
}

#[cfg(all(feature = "redis-cluster", feature = "postgres"))]
#[test]
fn each_store_variable_selects_its_store_and_two_are_an_error() {
    let vars = |set: &'static [(&'static str, &'static str)]| {
        contract(set.iter().map(|(n, v)| (*n, (*v).to_owned())).collect())
    };
    // Nothing is sent to a store here: the addresses need not answer.
    for set in [
        &[(
            "REDIS_CLUSTER_URLS",
            "redis://127.0.0.1:7000, redis://127.0.0.1:7001",
        )][..],
        &[("DATABASE_URL", "postgres://app:pw@127.0.0.1:5432/app")][..],
        &[
            ("DATABASE_URL", "postgres://app@127.0.0.1/app"),
            ("REDIS_URL", " "),
        ][..],
    ] {
        let web = WebAuth::from_lookup(vars(set)).unwrap();
        assert_eq!(web.sessions().mode(), SessionMode::ServerSide, "{set:?}");
    }
    for (set, setting) in [
        (
            &[("REDIS_CLUSTER_URLS", "http://127.0.0.1:7000")][..],
            "REDIS_CLUSTER_URLS",
        ),
        (&[("REDIS_CLUSTER_URLS", " , ")][..], "REDIS_CLUSTER_URLS"),
        (
            &[("DATABASE_URL", "mysql://127.0.0.1/app")][..],
            "DATABASE_URL",
        ),
        (
            &[(
                "DATABASE_URL",
                "postgres://app:pw@127.0.0.1/app?sslmode=require",
            )][..],
            "DATABASE_URL",
        ),
    ] {
        let err = WebAuth::from_lookup(vars(set)).unwrap_err();
        assert_eq!(err.setting(), setting, "{set:?}");
        assert!(!err.to_string().contains("pw@"), "the value is not echoed");
    }
    // Two stores named: an error naming both.
    for (set, first, second) in [
        (
            &[
                ("REDIS_URL", "redis://127.0.0.1/"),
                ("DATABASE_URL", "postgres://a@h/d"),
            ][..],
            "REDIS_URL",
            "DATABASE_URL",
        ),
        (
            &[
                ("REDIS_URL", "redis://127.0.0.1/"),
                ("REDIS_CLUSTER_URLS", "redis://127.0.0.1:7000"),
            ][..],
            "REDIS_URL",
            "REDIS_CLUSTER_URLS",
        ),
        (
            &[
                ("REDIS_CLUSTER_URLS", "redis://127.0.0.1:7000"),
                ("DATABASE_URL", "postgres://a@h/d"),
            ][..],
            "REDIS_CLUSTER_URLS",
            "DATABASE_URL",
        ),
    ] {
        let err = WebAuth::from_lookup(vars(set)).unwrap_err();
        assert_eq!(err.setting(), first);
        let message = err.to_string();
        assert!(
            message.contains(first) && message.contains(second),
            "{message}"
        );
    }
}
