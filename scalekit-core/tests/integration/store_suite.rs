//! One suite for every session store: memory, cookie-only, one Redis, a
//! Redis cluster (three primaries) and PostgreSQL, each on its real server.
//! Conditional writes, logout and sign-out-everywhere racing writes and
//! refreshes, the refresh lock (exclusive, expiring), TTLs and the sweep,
//! session data written from two instances, an application restart, sealed
//! records, one refresh across instances, and a store going away and
//! coming back. Where a store promises less (cookie-only sessions cannot be
//! revoked; the memory store is one process's), the test checks what it
//! does promise.
//!
//! `cargo test -p scalekit-core --all-features --test integration -- store_suite::postgres`
//! runs one store's suite.

use std::sync::Arc;
use std::time::{Duration, Instant};

use scalekit_core::session::{
    CookieCodec, RequestCookies, Session, SessionData, SessionEnd, SessionError, SessionManager,
    SessionMode, SessionPolicy, SessionStore, StoreError,
};
use scalekit_emulator::{EmulatorEndpoint, Fault};

use crate::common::stores::Backend;
use crate::sessions::{
    SECRET, cookie_header, cookies, emulator_builder, expired_session, manager, race, resolving,
    sign_in, wait_until,
};

/// Makes `<store>::<test>` for every store and every test of the suite (an
/// `async fn(&mut Backend)` of this module), each on a two-worker runtime.
macro_rules! store_suite {
    ($($test:ident),* $(,)?) => {
        store_suite!(@store memory, Backend::memory, $($test),*);
        store_suite!(@store cookie, Backend::cookie, $($test),*);
        store_suite!(@store redis, Backend::redis, $($test),*);
        store_suite!(@store redis_cluster, Backend::redis_cluster, $($test),*);
        store_suite!(@store postgres, Backend::postgres, $($test),*);
    };
    (@store $store:ident, $start:path, $($test:ident),*) => {
        mod $store {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let mut backend = $start();
                    super::$test(&mut backend).await
                }
            )*
        }
    };
}

store_suite!(
    conditional_writes_let_one_writer_through,
    removals_racing_writes_leave_nothing_behind,
    logout_racing_a_refresh_leaves_no_session_behind,
    logout_racing_a_last_seen_write_leaves_no_session_behind,
    sign_out_everywhere_ends_every_session_of_the_user,
    the_refresh_lock_is_exclusive_and_expires,
    records_expire_and_are_swept,
    session_data_written_from_two_instances_all_lands,
    sessions_survive_an_app_restart,
    records_hold_no_token_in_the_clear,
    concurrent_requests_on_two_instances_refresh_once,
    a_store_going_away_is_a_typed_error_and_its_return_needs_no_restart,
);

const MINUTE: Duration = Duration::from_secs(60);

/// Whether `m` finds a session for `cookie`.
async fn has_session(m: &SessionManager, cookie: &str) -> bool {
    m.resolve(&cookies(cookie)).await.unwrap().session.is_some()
}

/// Two application instances on `b` (for a store that is not shared
/// across processes, two handles on the same one).
async fn two_stores(b: &mut Backend) -> [Arc<dyn SessionStore>; 2] {
    [b.store().await, b.store().await]
}

/// The instances of `b` a multi-instance test uses: two when sessions are
/// shared across processes, else one (the memory store is one process's).
async fn instances(b: &Backend, emulator: &scalekit_emulator::Emulator) -> Vec<SessionManager> {
    let count = if b.shared() { 2 } else { 1 };
    let mut managers = Vec::new();
    for _ in 0..count {
        managers.push(manager(emulator, Some(b.store().await)));
    }
    managers
}

async fn conditional_writes_let_one_writer_through(b: &mut Backend) {
    let [one, two] = two_stores(b).await;
    if b.mode() == SessionMode::CookieOnly {
        // Nothing is stored: every record operation says so.
        assert_eq!(
            one.create("s", "u", b"x", MINUTE).await,
            Err(StoreError::Unsupported)
        );
        assert_eq!(
            one.replace("s", "u", 1, b"x", MINUTE).await,
            Err(StoreError::Unsupported)
        );
        assert_eq!(one.load("s").await, Ok(None));
        return;
    }
    assert_eq!(one.create("cas", "usr_1", b"first", MINUTE).await, Ok(1));
    let stored = two.load("cas").await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.sealed.as_slice()),
        (1, &b"first"[..])
    );

    // Sixteen writers from version 1 on both instances: one goes through.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16u8 {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        tasks.spawn(async move {
            let payload = vec![b'w', i];
            let written = store.replace("cas", "usr_1", 1, &payload, MINUTE).await;
            (payload, written)
        });
    }
    let mut winners = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (payload, written) = done.unwrap();
        if let Some(version) = written.unwrap() {
            winners.push((payload, version));
        }
    }
    assert_eq!(winners.len(), 1, "exactly one conditional write applies");
    assert_eq!(winners[0].1, 2);
    let stored = one.load("cas").await.unwrap().unwrap();
    assert_eq!((stored.version, &stored.sealed), (2, &winners[0].0));

    // A stale version, an unknown session: nothing written.
    assert_eq!(
        two.replace("cas", "usr_1", 1, b"late", MINUTE).await,
        Ok(None)
    );
    assert_eq!(
        two.replace("gone", "usr_1", 1, b"new", MINUTE).await,
        Ok(None)
    );
    assert_eq!(one.load("gone").await, Ok(None));
    assert_eq!(
        two.replace("cas", "usr_1", 2, b"next", MINUTE).await,
        Ok(Some(3))
    );
    // A login under the same id starts again at version 1.
    assert_eq!(one.create("cas", "usr_1", b"again", MINUTE).await, Ok(1));
    assert_eq!(two.load("cas").await.unwrap().unwrap().version, 1);
}

async fn removals_racing_writes_leave_nothing_behind(b: &mut Backend) {
    let [one, two] = two_stores(b).await;
    if b.mode() == SessionMode::CookieOnly {
        assert_eq!(one.remove("s", "u").await, Ok(()));
        assert_eq!(one.remove_user("u").await, Err(StoreError::Unsupported));
        return;
    }
    for round in 0..24 {
        let id = format!("race-{round}");
        let user = format!("usr_race_{}", round % 3);
        one.create(&id, &user, b"v1", MINUTE).await.unwrap();
        // A write from the version read racing a logout (or, every other
        // round, a sign-out everywhere) on the other instance.
        let write = {
            let (one, id, user) = (one.clone(), id.clone(), user.clone());
            tokio::spawn(async move { one.replace(&id, &user, 1, b"v2", MINUTE).await })
        };
        if round % 2 == 0 {
            two.remove(&id, &user).await.unwrap();
        } else {
            assert!(two.remove_user(&user).await.unwrap() <= 1);
        }
        write.await.unwrap().unwrap();
        assert_eq!(one.load(&id).await, Ok(None), "round {round}");
        assert_eq!(two.load(&id).await, Ok(None), "round {round}");
    }
    assert_eq!(b.records().unwrap_or(0), 0);
}

async fn logout_racing_a_refresh_leaves_no_session_behind(b: &mut Backend) {
    if b.mode() == SessionMode::CookieOnly {
        return; // A cookie-only session cannot be removed anywhere.
    }
    let emulator = emulator_builder().start().await.unwrap();
    // Instance a refreshes; instance b (same store) ends the session
    // meanwhile: by logout, then by sign-out everywhere.
    let a = manager(&emulator, Some(b.store().await));
    let other = manager(&emulator, Some(b.store().await));
    for sign_out_everywhere in [false, true] {
        let (session, cookie) = expired_session(&emulator, &a).await;
        let before = emulator.request_count(EmulatorEndpoint::Token);
        emulator.inject_fault_times(
            EmulatorEndpoint::Token,
            Fault::Delay(Duration::from_millis(1500)),
            1,
        );
        let refreshing = resolving(&a, &cookie);
        wait_until(|| emulator.request_count(EmulatorEndpoint::Token) > before).await;
        if sign_out_everywhere {
            assert_eq!(
                other.sign_out_everywhere(&session.user.id).await.unwrap(),
                1
            );
        } else {
            other.end(&session, &cookies(&cookie)).await.unwrap();
        }
        // The refresh completes after the session was ended: its result is
        // dropped, the request has no session and its cookie is cleared.
        let resolved = refreshing.await.unwrap().unwrap();
        assert!(resolved.session.is_none());
        assert_eq!(resolved.ended, Some(SessionEnd::Removed));
        assert!(resolved.set_cookies.iter().all(|c| c.contains("Max-Age=0")));
        assert_eq!(
            emulator.request_count(EmulatorEndpoint::Token) - before,
            1,
            "the refresh did happen"
        );
        // Nothing is left in the store, and the old cookie has no session
        // on either instance.
        assert_eq!(b.records().unwrap_or(0), 0);
        for m in [&a, &other] {
            assert!(!has_session(m, &cookie).await);
        }
    }
}

async fn logout_racing_a_last_seen_write_leaves_no_session_behind(b: &mut Backend) {
    let emulator = emulator_builder().start().await.unwrap();
    let store = b.store().await;
    // Every request writes last_seen.
    let m = manager(&emulator, Some(store.clone()))
        .policy(SessionPolicy::default().touch_interval(Duration::ZERO));
    if b.mode() == SessionMode::CookieOnly {
        // The cookie is the session: a logout clears it in the browser,
        // and a copy kept elsewhere still opens (why server-side stores
        // exist).
        let (session, cookie) = sign_in(&emulator, &m).await;
        let cleared = m.end(&session, &cookies(&cookie)).await.unwrap();
        assert!(cleared.iter().all(|c| c.contains("Max-Age=0")));
        let replayed = m.resolve(&cookies(&cookie)).await.unwrap();
        assert!(replayed.session.is_some());
        return;
    }
    // Exactly interleaved: read, logout, write.
    let (session, cookie) = sign_in(&emulator, &m).await;
    let mut read = m.load(&cookies(&cookie)).await.unwrap().unwrap();
    m.end(&session, &cookies(&cookie)).await.unwrap();
    read.last_seen += 1;
    assert_eq!(
        m.write(&mut read, &cookies(&cookie)).await.unwrap_err(),
        SessionError::Ended(SessionEnd::Removed)
    );
    assert!(store.load(&session.id).await.unwrap().is_none());
    assert!(!has_session(&m, &cookie).await);

    // A stale writer of a still-live session is refused too.
    let (_, cookie) = sign_in(&emulator, &m).await;
    let mut first = m.load(&cookies(&cookie)).await.unwrap().unwrap();
    let mut second = first.clone();
    m.write(&mut first, &cookies(&cookie)).await.unwrap();
    assert_eq!(
        m.write(&mut second, &cookies(&cookie)).await.unwrap_err(),
        SessionError::Store(StoreError::Conflict)
    );
    m.end(&first, &cookies(&cookie)).await.unwrap();

    // Racing for real: requests touching the session while it is ended.
    let (session, cookie) = sign_in(&emulator, &m).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (m, cookie) = (m.clone(), cookie.clone());
        tasks.spawn(async move { m.resolve(&cookies(&cookie)).await });
    }
    tokio::task::yield_now().await;
    m.end(&session, &cookies(&cookie)).await.unwrap();
    while let Some(result) = tasks.join_next().await {
        let resolved = result.unwrap().unwrap();
        if resolved.session.is_none() {
            assert!(matches!(resolved.ended, None | Some(SessionEnd::Removed)));
        }
    }
    assert!(store.load(&session.id).await.unwrap().is_none());
    assert!(!has_session(&m, &cookie).await);
    assert_eq!(b.records().unwrap_or(0), 0);
}

async fn sign_out_everywhere_ends_every_session_of_the_user(b: &mut Backend) {
    let emulator = emulator_builder().start().await.unwrap();
    let ms = instances(b, &emulator).await;
    let (a, other) = (&ms[0], ms.last().unwrap());
    let (ada, ada_cookie) = sign_in(&emulator, a).await;
    if b.mode() == SessionMode::CookieOnly {
        assert_eq!(
            a.sign_out_everywhere(&ada.user.id).await,
            Err(StoreError::Unsupported)
        );
        return;
    }
    // Three sessions of the user (on both instances, one short-lived), one
    // of another user.
    let (_, second) = sign_in(&emulator, other).await;
    let (mut short, short_cookie) = sign_in(&emulator, a).await;
    short.last_seen -= 24 * 3600 - 30;
    a.write(&mut short, &RequestCookies::default())
        .await
        .unwrap();
    let store = b.store().await;
    store
        .create("someone-else", "usr_other", b"sealed", MINUTE)
        .await
        .unwrap();
    assert_eq!(other.sign_out_everywhere(&ada.user.id).await, Ok(3));
    for m in &ms {
        for cookie in [&ada_cookie, &second, &short_cookie] {
            assert!(!has_session(m, cookie).await);
        }
    }
    assert!(store.load("someone-else").await.unwrap().is_some());
    assert_eq!(a.sign_out_everywhere(&ada.user.id).await, Ok(0));
}

async fn the_refresh_lock_is_exclusive_and_expires(b: &mut Backend) {
    let [one, two] = two_stores(b).await;
    let lease = Duration::from_millis(400);
    if !b.shared() {
        // One process: its refreshes are coordinated in memory, and the
        // store grants its lock at once.
        assert!(one.try_lock("s", lease).await.unwrap().is_some());
        assert!(two.try_lock("s", lease).await.unwrap().is_some());
        return;
    }
    let first = one.try_lock("lock", lease).await.unwrap().unwrap();
    let started = Instant::now();
    assert_eq!(two.try_lock("lock", lease).await, Ok(None), "held");
    assert_eq!(one.try_lock("lock", lease).await, Ok(None), "held");
    // Another session's lock is its own.
    assert!(two.try_lock("other", lease).await.unwrap().is_some());
    // The lease ends by itself.
    tokio::time::sleep_until((started + lease + Duration::from_millis(150)).into()).await;
    let second = two.try_lock("lock", lease).await.unwrap().unwrap();
    assert_ne!(first, second);
    // The former holder's release does not free the new holder's lock.
    one.unlock("lock", &first).await.unwrap();
    assert_eq!(one.try_lock("lock", lease).await, Ok(None));
    // The holder's release does.
    two.unlock("lock", &second).await.unwrap();
    assert!(one.try_lock("lock", lease).await.unwrap().is_some());
}

async fn records_expire_and_are_swept(b: &mut Backend) {
    let store = b.store().await;
    if b.mode() == SessionMode::CookieOnly {
        return; // Nothing stored, nothing to expire: the cookie's own expiry applies.
    }
    let ttl = Duration::from_millis(500);
    store.create("short", "usr_ttl", b"s", ttl).await.unwrap();
    store.create("long", "usr_ttl", b"l", MINUTE).await.unwrap();
    let started = Instant::now();
    assert!(store.load("short").await.unwrap().is_some());
    tokio::time::sleep_until((started + ttl + Duration::from_millis(200)).into()).await;
    assert_eq!(store.load("short").await, Ok(None));
    assert_eq!(
        store.replace("short", "usr_ttl", 1, b"x", MINUTE).await,
        Ok(None)
    );
    assert!(store.load("long").await.unwrap().is_some());
    // A replacement sets the new TTL.
    store
        .replace("long", "usr_ttl", 1, b"l2", ttl)
        .await
        .unwrap()
        .unwrap();
    let replaced = Instant::now();
    tokio::time::sleep_until((replaced + ttl + Duration::from_millis(200)).into()).await;
    assert_eq!(store.load("long").await, Ok(None));
    // Expired records are deleted, not only hidden; sign-out everywhere
    // counts only live sessions.
    b.sweep().await;
    assert_eq!(b.records().unwrap_or(0), 0);
    assert_eq!(store.remove_user("usr_ttl").await, Ok(0));
}

async fn session_data_written_from_two_instances_all_lands(b: &mut Backend) {
    let emulator = emulator_builder().start().await.unwrap();
    let ms = instances(b, &emulator).await;
    let (session, mut header) = sign_in(&emulator, &ms[0]).await;
    let add = |i: u32| {
        move |current: Option<&SessionData>| {
            let mut items: Vec<u32> = current
                .and_then(|d| d.decode::<Vec<u32>>().ok())
                .unwrap_or_default();
            items.push(i);
            SessionData::encode(&items).map(Some)
        }
    };
    if b.mode() == SessionMode::CookieOnly {
        // Each write is a new cookie: writes land in order, each on the
        // cookie the previous one sent.
        let mut current = session;
        for i in 0..4 {
            let (next, set) = ms[0]
                .update_data(&current, add(i), &cookies(&header))
                .await
                .unwrap();
            header = cookie_header(&set);
            current = next;
        }
        let stored = ms[0].load(&cookies(&header)).await.unwrap().unwrap();
        assert_eq!(
            stored.data_as::<Vec<u32>>().unwrap(),
            Some(vec![0, 1, 2, 3])
        );
        return;
    }
    // Eight updates at once from the same snapshot, on both instances:
    // every one is kept.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8u32 {
        let m = ms[i as usize % ms.len()].clone();
        let (header, snapshot) = (header.clone(), session.clone());
        tasks.spawn(async move { m.update_data(&snapshot, add(i), &cookies(&header)).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    for m in &ms {
        let stored = m.load(&cookies(&header)).await.unwrap().unwrap();
        let mut items: Vec<u32> = stored.data_as().unwrap().unwrap();
        items.sort_unstable();
        assert_eq!(items, (0..8).collect::<Vec<_>>());
    }
}

async fn sessions_survive_an_app_restart(b: &mut Backend) {
    let emulator = emulator_builder().start().await.unwrap();
    let (session, cookie) = {
        let m = manager(&emulator, Some(b.store().await));
        sign_in(&emulator, &m).await
    };
    if b.mode() == SessionMode::ServerSide {
        // The cookie holds only the (sealed) id: small whatever the session.
        assert!(cookie.len() < 200, "{}", cookie.len());
    }
    // "Restart": a new process state, a new connection.
    let m = manager(&emulator, Some(b.store_after_restart().await));
    let resolved = m.resolve(&cookies(&cookie)).await.unwrap();
    if b.survives_restart() {
        let restored = resolved.session.expect("the session survives the restart");
        assert_eq!(restored.user.id, session.user.id);
        assert_eq!(restored.access_token, session.access_token);
    } else {
        assert!(resolved.session.is_none(), "memory is one process's");
    }
}

async fn records_hold_no_token_in_the_clear(b: &mut Backend) {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, Some(b.store().await));
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (session, cookie) = expired_session(&emulator, &m).await;
        let refreshed = m.resolve(&cookies(&cookie)).await.unwrap().session.unwrap();
        assert_ne!(refreshed.access_token, session.access_token);
        ids.push(session.id.clone());
        for s in [session, Session::clone(&refreshed)] {
            tokens.push(s.access_token.clone());
            tokens.extend(s.refresh_token.clone());
            tokens.extend(s.id_token.clone());
        }
    }
    let dump = b.dump();
    if b.shared() {
        assert!(!dump.is_empty(), "the sessions are stored");
    }
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for (key, value) in &dump {
        assert!(!contains(value, b"eyJ"), "a JWT in the clear at {key}");
        assert!(!contains(value, b"ada@example.com"), "the email at {key}");
        for token in &tokens {
            assert!(!contains(value, token.as_bytes()), "a token at {key}");
        }
    }
    if b.mode() == SessionMode::CookieOnly {
        return;
    }
    // A record moved under another session's id does not open.
    let store = b.store().await;
    let moved = store.load(&ids[0]).await.unwrap().unwrap().sealed;
    let version = store.load(&ids[1]).await.unwrap().unwrap().version;
    store
        .replace(&ids[1], "usr_x", version, &moved, MINUTE)
        .await
        .unwrap()
        .unwrap();
    let codec = CookieCodec::new([SECRET]).unwrap();
    let cookie = format!(
        "sk_session={}",
        codec.seal("sk_session", ids[1].as_bytes()).unwrap()
    );
    let resolved = m.resolve(&cookies(&cookie)).await.unwrap();
    assert!(resolved.session.is_none(), "a swapped record is refused");
}

async fn concurrent_requests_on_two_instances_refresh_once(b: &mut Backend) {
    let emulator = emulator_builder().start().await.unwrap();
    let ms = instances(b, &emulator).await;
    let (old, cookie) = expired_session(&emulator, &ms[0]).await;
    let before = emulator.request_count(EmulatorEndpoint::Token);
    let sessions = race(&ms, &cookie, 50).await;
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Token) - before,
        1,
        "one refresh across the instances"
    );
    assert!(
        sessions
            .iter()
            .all(|s| s.access_token == sessions[0].access_token)
    );
    assert_ne!(sessions[0].access_token, old.access_token);
}

async fn a_store_going_away_is_a_typed_error_and_its_return_needs_no_restart(b: &mut Backend) {
    if !b.shared() {
        return; // In the process: it cannot go away on its own.
    }
    let emulator = emulator_builder().start().await.unwrap();
    let store = b.store().await;
    let m = manager(&emulator, Some(store.clone()));
    let (session, cookie) = sign_in(&emulator, &m).await;
    b.stop();
    let started = Instant::now();
    assert_eq!(
        m.resolve(&cookies(&cookie)).await.unwrap_err(),
        SessionError::Store(StoreError::Unavailable)
    );
    assert_eq!(
        m.write(&mut session.clone(), &RequestCookies::default())
            .await
            .unwrap_err(),
        SessionError::Store(StoreError::Unavailable)
    );
    assert_eq!(
        m.sign_out_everywhere(&session.user.id).await.unwrap_err(),
        StoreError::Unavailable
    );
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "within the operations' bounds: {:?}",
        started.elapsed()
    );
    // Back (as it was, or empty for a server that keeps nothing on disk):
    // the same instance works again without a restart.
    b.restart();
    let (_, cookie) = sign_in(&emulator, &m).await;
    assert!(has_session(&m, &cookie).await);
}
