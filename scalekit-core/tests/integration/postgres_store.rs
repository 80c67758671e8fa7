//! The PostgreSQL store on its own, beyond the store suite: instances
//! starting together create the schema once, the schema can come from your
//! own migration, tables dropped under a running store are created
//! again, expired rows are swept in the background, a small pool
//! serves many concurrent requests within its bounded waits, and a
//! database that does not answer fails within the store's timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scalekit_core::session::{PostgresStore, SessionStore, StoreError};

use crate::common::postgres::PostgresServer;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_create_the_schema_once() {
    let pg = PostgresServer::start();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let url = pg.url();
        tasks.spawn(async move {
            let store = PostgresStore::connect(&url).await?;
            store
                .create(&format!("s{i}"), "usr_1", b"sealed", MINUTE)
                .await
        });
    }
    while let Some(created) = tasks.join_next().await {
        assert_eq!(created.unwrap(), Ok(1));
    }
    assert_eq!(
        pg.psql("SELECT count(*) FROM scalekit_sessions").trim(),
        "8"
    );
    // The user index is a column with an index.
    let indexes = pg.psql("SELECT indexname FROM pg_indexes WHERE tablename = 'scalekit_sessions'");
    assert!(indexes.contains("scalekit_sessions_user_id"), "{indexes}");
}

#[tokio::test]
async fn the_schema_can_come_from_your_own_migration() {
    let pg = PostgresServer::start();
    let store = PostgresStore::open(&pg.url()).unwrap().create_schema(false);
    // No table yet, and the store may not create it: unavailable (its
    // statements cannot be prepared), and nothing was created.
    assert_eq!(store.ping().await, Err(StoreError::Unavailable));
    assert_eq!(store.load("s").await, Err(StoreError::Unavailable));
    assert_eq!(
        pg.psql("SELECT to_regclass('scalekit_sessions') IS NULL")
            .trim(),
        "t"
    );
    pg.psql(PostgresStore::SCHEMA);
    let store = PostgresStore::open(&pg.url()).unwrap().create_schema(false);
    assert_eq!(store.create("s", "usr_1", b"sealed", MINUTE).await, Ok(1));
    assert!(store.load("s").await.unwrap().is_some());
}

#[tokio::test]
async fn tables_dropped_under_a_running_store_are_created_again() {
    let pg = PostgresServer::start();
    let store = PostgresStore::connect(&pg.url()).await.unwrap();
    assert_eq!(store.create("s", "usr_1", b"sealed", MINUTE).await, Ok(1));
    // A restore from an older dump, a new primary without the tables: the
    // pooled connection's statements point at tables that are gone.
    pg.psql("DROP TABLE scalekit_sessions, scalekit_session_locks");
    assert_eq!(store.load("s").await, Ok(None));
    assert_eq!(store.create("t", "usr_1", b"sealed", MINUTE).await, Ok(1));
    assert!(store.load("t").await.unwrap().is_some());
    // Not when the tables are yours to create: unavailable, nothing made.
    let yours = PostgresStore::connect(&pg.url())
        .await
        .unwrap()
        .create_schema(false);
    pg.psql("DROP TABLE scalekit_sessions, scalekit_session_locks");
    assert_eq!(yours.load("t").await, Err(StoreError::Unavailable));
    assert_eq!(
        pg.psql("SELECT to_regclass('scalekit_sessions') IS NULL")
            .trim(),
        "t"
    );
}

#[tokio::test]
async fn expired_rows_are_swept_in_the_background() {
    let pg = PostgresServer::start();
    let store = PostgresStore::open(&pg.url())
        .unwrap()
        .sweep_interval(Duration::from_millis(200));
    let ttl = Duration::from_millis(300);
    for i in 0..5 {
        store
            .create(&format!("s{i}"), "usr_1", b"sealed", ttl)
            .await
            .unwrap();
    }
    store
        .create("live", "usr_1", b"sealed", MINUTE)
        .await
        .unwrap();
    assert!(store.try_lock("s0", ttl).await.unwrap().is_some());
    let count = |table: &str| {
        pg.psql(&format!("SELECT count(*) FROM {table}"))
            .trim()
            .to_owned()
    };
    assert_eq!(count("scalekit_sessions"), "6");
    assert_eq!(count("scalekit_session_locks"), "1");
    // Nobody asks for the expired rows: the store's task deletes them.
    let deadline = Instant::now() + Duration::from_secs(5);
    while count("scalekit_sessions") != "1" || count("scalekit_session_locks") != "0" {
        assert!(Instant::now() < deadline, "not swept");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(store.load("live").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_pool_serves_many_concurrent_requests() {
    let pg = PostgresServer::start();
    let store = Arc::new(PostgresStore::open(&pg.url()).unwrap().pool_size(2));
    store.create("s", "usr_1", b"v1", MINUTE).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let store = store.clone();
        tasks.spawn(async move { store.load("s").await });
    }
    while let Some(loaded) = tasks.join_next().await {
        assert!(loaded.unwrap().unwrap().is_some());
    }
    // At most two connections were opened (besides psql's own).
    let connections = pg.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name <> 'psql'",
    );
    assert!(
        connections.trim().parse::<u32>().unwrap() <= 2,
        "{connections}"
    );
}

#[tokio::test]
async fn a_database_that_does_not_answer_fails_within_the_timeout() {
    // A listener that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let store = PostgresStore::open(&format!("postgres://app@{addr}/app"))
        .unwrap()
        .timeout(Duration::from_millis(400));
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(store.load("s").await, Err(StoreError::Unavailable));
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
    }
    // Nobody listening at all: refused at once.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = gone.local_addr().unwrap();
    drop(gone);
    let started = Instant::now();
    assert_eq!(
        PostgresStore::connect(&format!("postgres://app@{addr}/app"))
            .await
            .unwrap_err(),
        StoreError::Unavailable
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}
