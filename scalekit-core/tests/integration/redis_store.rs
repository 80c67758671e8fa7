//! The Redis session store on its own: `REDIS_URL` among the contract's
//! variables selects it, a Redis that does not answer fails within the
//! store's timeout, and a store opened before Redis starts works once it
//! is up.

use std::time::{Duration, Instant};

use scalekit_core::session::{RedisStore, SessionMode, SessionStore, StoreError};
use scalekit_core::web::WebAuth;

use crate::common::redis::RedisServer;

/// A session secret of the contract's length (any).
const SESSION_SECRET: &str = "scale-out-test-session-secret-of-32-bytes+";

async fn loopback() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[tokio::test]
async fn redis_url_in_the_environment_selects_the_redis_store() {
    let redis = RedisServer::start();
    let vars = |redis_url: Option<&str>| {
        let redis_url = redis_url.map(str::to_owned);
        move |name: &str| match name {
            "SCALEKIT_ENVIRONMENT_URL" => Some("https://acme.scalekit.dev".to_owned()),
            "SCALEKIT_CLIENT_ID" => Some("skc_1".to_owned()),
            "SCALEKIT_CLIENT_SECRET" => Some("secret".to_owned()),
            "APP_BASE_URL" => Some("https://app.example.com".to_owned()),
            "SESSION_SECRET" => Some(SESSION_SECRET.to_owned()),
            "REDIS_URL" => redis_url.clone(),
            _ => None,
        }
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

#[tokio::test]
async fn a_store_opened_before_redis_starts_works_once_it_is_up() {
    let mut redis = RedisServer::start();
    let store = RedisStore::open(&redis.url()).unwrap();
    redis.stop();
    assert_eq!(store.ping().await, Err(StoreError::Unavailable));
    redis.restart();
    assert_eq!(store.ping().await, Ok(()));
    assert!(
        store
            .try_lock("s", Duration::from_secs(5))
            .await
            .unwrap()
            .is_some()
    );
}
