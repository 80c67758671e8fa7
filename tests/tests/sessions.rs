//! Sessions end to end: cookie codec properties, the refresh race (one
//! refresh for 50 concurrent requests, also across two instances sharing
//! Redis), Redis persistence, sign-out everywhere, and Redis going away.

mod common;

use std::sync::Arc;
use std::time::Duration;

use scalekit_core::oauth::{OAuthErrorCode, TokenError};
use scalekit_core::session::{
    CookieCodec, CookieError, CookieSettings, LoginState, MemoryStore, RedisStore, RequestCookies,
    Session, SessionEnd, SessionError, SessionManager, SessionPolicy, SessionStore, StoreError,
};
use scalekit_emulator::{Emulator, EmulatorEndpoint};

use common::flow::{CALLBACK, HOME, logged_in, scalekit};
use common::redis::RedisServer;

const SECRET: &str = "test-session-secret-of-at-least-32-bytes";

fn manager(emulator: &Emulator, store: Option<Arc<dyn SessionStore>>) -> SessionManager {
    let sk = scalekit(emulator, Duration::from_secs(5));
    let codec = CookieCodec::new([SECRET]).unwrap();
    let m = SessionManager::new(
        sk,
        codec,
        CookieSettings::for_base_url("http://localhost:3000"),
    );
    match store {
        Some(store) => m.store(store),
        None => m,
    }
}

/// The `Cookie` header a browser sends back after these `Set-Cookie`s.
fn cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .filter_map(|c| c.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `Cookie` header of a client that ignores `Max-Age` (a replayed
/// cookie): the server must enforce the timeouts itself.
fn replayed_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Signs in through the emulator and returns the session (its access token
/// marked expired, so the next request must refresh) and its cookie header.
async fn expired_session(emulator: &Emulator, m: &SessionManager) -> (Session, String) {
    let auth = logged_in(
        emulator,
        m.scalekit(),
        &["openid", "email", "offline_access"],
        "ada@example.com",
    )
    .await;
    let (mut session, _) = m.start(&auth, &RequestCookies::default()).await.unwrap();
    session.expires_at = 1;
    let cookies = m.write(&session, &RequestCookies::default()).await.unwrap();
    (session, cookie_header(&cookies))
}

fn emulator_builder() -> scalekit_emulator::EmulatorBuilder {
    Emulator::builder()
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri(HOME)
}

// ---------------------------------------------------------------- codec

#[test]
fn codec_round_trips_and_refuses_every_damaged_cookie() {
    let codec = CookieCodec::new([SECRET]).unwrap();
    let sealed = codec.seal("sk_session", b"{\"user\":\"ada\"}").unwrap();
    assert_eq!(
        codec.open("sk_session", &sealed).unwrap(),
        b"{\"user\":\"ada\"}"
    );

    // Tampered: every single-character change is refused with a typed error.
    let alphabet = ['A', 'z', '0', '-', '_', '!', '.'];
    for i in 0..sealed.len() {
        for c in alphabet {
            let mut bytes = sealed.clone().into_bytes();
            if bytes[i] == c as u8 {
                continue;
            }
            bytes[i] = c as u8;
            let damaged = String::from_utf8(bytes).unwrap();
            assert!(codec.open("sk_session", &damaged).is_err(), "position {i}");
        }
    }
    // Truncated at every length.
    for len in 0..sealed.len() {
        let err = codec.open("sk_session", &sealed[..len]).unwrap_err();
        assert!(
            matches!(
                err,
                CookieError::Malformed | CookieError::Tampered | CookieError::UnknownVersion
            ),
            "{len}: {err:?}"
        );
    }
    // Wrong key.
    let other = CookieCodec::new(["another-secret-of-at-least-32-bytes!!"]).unwrap();
    assert_eq!(
        other.open("sk_session", &sealed).unwrap_err(),
        CookieError::UnknownKey
    );
    // Another cookie name (associated data).
    assert_eq!(
        codec.open("sk_oauth_state", &sealed).unwrap_err(),
        CookieError::Tampered
    );
    // Unknown version: change the version byte.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut raw = b64.decode(&sealed).unwrap();
    raw[0] = 2;
    assert_eq!(
        codec.open("sk_session", &b64.encode(&raw)).unwrap_err(),
        CookieError::UnknownVersion
    );
    // Not base64 at all.
    assert_eq!(
        codec.open("sk_session", "%%%").unwrap_err(),
        CookieError::Malformed
    );
}

#[test]
fn a_rotated_secret_still_opens_old_cookies() {
    let old = CookieCodec::new([SECRET]).unwrap();
    let sealed = old.seal("sk_session", b"payload").unwrap();
    let rotated = CookieCodec::new(["the-new-session-secret-of-32-bytes-plus", SECRET]).unwrap();
    assert_eq!(rotated.open("sk_session", &sealed).unwrap(), b"payload");
    // New cookies are sealed with the new secret, which the old codec lacks.
    let fresh = rotated.seal("sk_session", b"payload").unwrap();
    assert_eq!(
        old.open("sk_session", &fresh).unwrap_err(),
        CookieError::UnknownKey
    );
}

#[test]
fn chunking_at_three_sizes_and_leftover_chunks_are_cleared() {
    let codec = CookieCodec::new([SECRET]).unwrap();
    let settings = CookieSettings::for_base_url("https://app.example.com");
    let mut previous = String::new();
    for (size, chunks) in [(1_000usize, 1usize), (4_000, 2), (12 * 1024, 5)] {
        let plaintext: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        let cookies = codec.seal_chunked("sk_session", &plaintext).unwrap();
        assert_eq!(cookies.len(), chunks, "{size} bytes");
        if chunks == 1 {
            assert_eq!(cookies[0].0, "sk_session");
        } else {
            for (i, (name, value)) in cookies.iter().enumerate() {
                assert_eq!(name, &format!("sk_session.{i}"));
                assert!(value.len() <= 3800);
            }
        }
        let header: String = cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = RequestCookies::parse([header.as_str()]);
        assert_eq!(
            codec.open_chunked("sk_session", &request).unwrap().unwrap(),
            plaintext
        );
        // Writing this value over the previous one clears what is left over.
        let before = RequestCookies::parse([previous.as_str()]);
        let set = settings.write_family(
            "sk_session",
            &cookies,
            Some(Duration::from_secs(60)),
            &before,
        );
        let cleared = set.iter().filter(|c| c.contains("Max-Age=0")).count();
        let stale = before
            .family("sk_session")
            .iter()
            .filter(|n| !cookies.iter().any(|(c, _)| c == *n))
            .count();
        assert_eq!(cleared, stale);
        previous = header;
    }
    // Back to one cookie: the five chunks are cleared.
    let small = codec.seal_chunked("sk_session", b"x").unwrap();
    let before = RequestCookies::parse([previous.as_str()]);
    let set = settings.write_family("sk_session", &small, None, &before);
    assert_eq!(set.iter().filter(|c| c.contains("Max-Age=0")).count(), 5);
    // A missing chunk fails authentication instead of yielding garbage.
    let big = codec
        .seal_chunked("sk_session", &vec![b'z'; 12 * 1024])
        .unwrap();
    let header: String = big
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, (n, v))| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        codec
            .open_chunked("sk_session", &RequestCookies::parse([header.as_str()]))
            .is_err()
    );
}

#[test]
fn a_session_too_large_for_cookies_is_a_clear_error() {
    let codec = CookieCodec::new([SECRET]).unwrap();
    let err = codec
        .seal_chunked("sk_session", &vec![b'x'; 40_000])
        .unwrap_err();
    assert!(matches!(err, CookieError::TooLarge { .. }));
    assert!(err.to_string().contains("use a server-side session store"));
}

#[test]
fn set_cookie_strings_carry_the_flags() {
    let https = CookieSettings::for_base_url("https://app.example.com");
    assert_eq!(
        https.set_cookie("sk_session", "abc", Some(Duration::from_secs(3600))),
        "sk_session=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"
    );
    assert_eq!(
        https.removal("sk_session.3"),
        "sk_session.3=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    let local = CookieSettings::for_base_url("http://localhost:3000");
    assert_eq!(
        local.set_cookie("sk_session", "abc", None),
        "sk_session=abc; Path=/; HttpOnly; SameSite=Lax"
    );
    // Plain http on a real host still gets Secure.
    assert!(CookieSettings::for_base_url("http://app.example.com").secure);
    let custom = CookieSettings {
        name: "app_session".into(),
        domain: Some("example.com".into()),
        ..https
    };
    assert_eq!(
        custom.set_cookie("app_session", "v", None),
        "app_session=v; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Lax"
    );
}

#[tokio::test]
async fn the_login_state_cookie_round_trips_and_expires() {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, None);
    let state = LoginState::new(Some("/dashboard".into())).unwrap();
    let set = m.login_state_cookie(&state).unwrap();
    assert!(set.starts_with("sk_oauth_state="));
    assert!(
        set.contains("Max-Age=600") && set.contains("SameSite=Lax") && set.contains("HttpOnly")
    );
    let header = cookie_header(&[set]);
    let (opened, clear) = m
        .take_login_state(&RequestCookies::parse([header.as_str()]))
        .unwrap();
    assert_eq!(opened, state);
    assert!(clear.contains("Max-Age=0"));
    let old = LoginState {
        created_at: state.created_at - 601,
        ..state
    };
    let header = cookie_header(&[m.login_state_cookie(&old).unwrap()]);
    assert_eq!(
        m.take_login_state(&RequestCookies::parse([header.as_str()]))
            .unwrap_err(),
        SessionError::Cookie(CookieError::Expired)
    );
}

// -------------------------------------------------------------- refresh

async fn race(managers: &[SessionManager], cookie: &str, requests: usize) -> Vec<Session> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..requests {
        let m = managers[i % managers.len()].clone();
        let cookie = cookie.to_owned();
        tasks.spawn(async move { m.resolve(&RequestCookies::parse([cookie.as_str()])).await });
    }
    let mut sessions = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let resolved = result.unwrap().expect("every request succeeds");
        sessions.push(resolved.session.expect("a live session"));
    }
    sessions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_cause_one_refresh_with_cookie_sessions() {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, None);
    let (old, cookie) = expired_session(&emulator, &m).await;
    let before = emulator.request_count(EmulatorEndpoint::Token);
    let sessions = race(std::slice::from_ref(&m), &cookie, 50).await;
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Token) - before,
        1,
        "exactly one refresh"
    );
    assert_eq!(sessions.len(), 50);
    assert!(
        sessions
            .iter()
            .all(|s| s.access_token == sessions[0].access_token)
    );
    assert_ne!(sessions[0].access_token, old.access_token);
    assert_ne!(sessions[0].refresh_token, old.refresh_token);
    assert_eq!(sessions[0].id, old.id);
    assert!(sessions[0].expires_at > 1);
    // A later request with the old cookie still gets the new tokens.
    let late = m
        .resolve(&RequestCookies::parse([cookie.as_str()]))
        .await
        .unwrap();
    assert_eq!(late.session.unwrap().access_token, sessions[0].access_token);
    assert!(!late.set_cookies.is_empty(), "the new cookie is sent");
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token) - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_cause_one_refresh_with_a_memory_store() {
    let emulator = emulator_builder().start().await.unwrap();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(1000, Duration::from_secs(3600)));
    let m = manager(&emulator, Some(store));
    let (_, cookie) = expired_session(&emulator, &m).await;
    let before = emulator.request_count(EmulatorEndpoint::Token);
    let sessions = race(std::slice::from_ref(&m), &cookie, 50).await;
    assert_eq!(emulator.request_count(EmulatorEndpoint::Token) - before, 1);
    assert!(
        sessions
            .iter()
            .all(|s| s.access_token == sessions[0].access_token)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sharing_redis_refresh_once() {
    let redis = RedisServer::start();
    let emulator = emulator_builder().start().await.unwrap();
    let a = manager(
        &emulator,
        Some(Arc::new(RedisStore::connect(&redis.url()).await.unwrap())),
    );
    let b = manager(
        &emulator,
        Some(Arc::new(RedisStore::connect(&redis.url()).await.unwrap())),
    );
    let (_, cookie) = expired_session(&emulator, &a).await;
    let before = emulator.request_count(EmulatorEndpoint::Token);
    let sessions = race(&[a, b], &cookie, 50).await;
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Token) - before,
        1,
        "one refresh across both instances"
    );
    assert!(
        sessions
            .iter()
            .all(|s| s.access_token == sessions[0].access_token)
    );
}

#[tokio::test]
async fn a_refused_refresh_ends_the_session() {
    let emulator = emulator_builder()
        .refresh_grace(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let m = manager(&emulator, None);
    let (old, cookie) = expired_session(&emulator, &m).await;
    // Use the refresh token elsewhere first, so that it is rotated.
    m.scalekit()
        .refresh_access_token(old.refresh_token.as_deref().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resolved = m
        .resolve(&RequestCookies::parse([cookie.as_str()]))
        .await
        .unwrap();
    assert!(resolved.session.is_none());
    match resolved.ended {
        Some(SessionEnd::RefreshFailed(TokenError::OAuth {
            code: OAuthErrorCode::InvalidGrant,
            ..
        })) => {}
        other => panic!("expected a refused refresh, got {other:?}"),
    }
    assert!(
        resolved.set_cookies.iter().all(|c| c.contains("Max-Age=0")),
        "cookies cleared"
    );
}

#[tokio::test]
async fn timeouts_are_enforced() {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, None)
        .policy(SessionPolicy::default().idle_timeout(Duration::from_secs(3600)));
    let auth = logged_in(
        &emulator,
        m.scalekit(),
        &["openid", "offline_access"],
        "ada@example.com",
    )
    .await;
    let (session, _) = m.start(&auth, &RequestCookies::default()).await.unwrap();
    let idle = Session {
        last_seen: session.last_seen - 3601,
        ..session.clone()
    };
    let header = replayed_header(&m.write(&idle, &RequestCookies::default()).await.unwrap());
    let resolved = m
        .resolve(&RequestCookies::parse([header.as_str()]))
        .await
        .unwrap();
    assert_eq!(resolved.ended, Some(SessionEnd::IdleTimeout));
    let old = Session {
        created_at: session.created_at - 8 * 24 * 3600,
        ..session
    };
    let header = replayed_header(&m.write(&old, &RequestCookies::default()).await.unwrap());
    let resolved = m
        .resolve(&RequestCookies::parse([header.as_str()]))
        .await
        .unwrap();
    assert_eq!(resolved.ended, Some(SessionEnd::AbsoluteTimeout));
    // A tampered cookie is no session, and is cleared.
    let resolved = m
        .resolve(&RequestCookies::parse(["sk_session=AAAA"]))
        .await
        .unwrap();
    assert!(resolved.session.is_none() && resolved.ended.is_none());
    assert!(resolved.set_cookies[0].starts_with("sk_session=; "));
}

// ---------------------------------------------------------------- Redis

#[tokio::test]
async fn redis_sessions_survive_an_app_restart_and_sign_out_everywhere_works() {
    let redis = RedisServer::start();
    let emulator = emulator_builder().start().await.unwrap();
    let cookie;
    let user_id;
    {
        let m = manager(
            &emulator,
            Some(Arc::new(RedisStore::connect(&redis.url()).await.unwrap())),
        );
        let auth = logged_in(
            &emulator,
            m.scalekit(),
            &["openid", "offline_access"],
            "ada@example.com",
        )
        .await;
        let (session, set) = m.start(&auth, &RequestCookies::default()).await.unwrap();
        cookie = cookie_header(&set);
        user_id = session.user.id.clone();
        // The cookie holds only the (sealed) id: small whatever the session.
        assert!(cookie.len() < 200, "{}", cookie.len());
        // A second session of the same user, elsewhere.
        let auth = logged_in(
            &emulator,
            m.scalekit(),
            &["openid", "offline_access"],
            "ada@example.com",
        )
        .await;
        m.start(&auth, &RequestCookies::default()).await.unwrap();
    }
    // "Restart": a new manager, a new connection.
    let m = manager(
        &emulator,
        Some(Arc::new(RedisStore::connect(&redis.url()).await.unwrap())),
    );
    let resolved = m
        .resolve(&RequestCookies::parse([cookie.as_str()]))
        .await
        .unwrap();
    assert_eq!(
        resolved.session.as_ref().map(|s| s.user.id.as_str()),
        Some(user_id.as_str())
    );
    assert_eq!(m.sign_out_everywhere(&user_id).await.unwrap(), 2);
    let resolved = m
        .resolve(&RequestCookies::parse([cookie.as_str()]))
        .await
        .unwrap();
    assert!(resolved.session.is_none());
    // Cookie sessions cannot do that, and say so.
    assert_eq!(
        manager(&emulator, None)
            .sign_out_everywhere(&user_id)
            .await
            .unwrap_err(),
        StoreError::Unsupported
    );
}

#[tokio::test]
async fn redis_going_away_is_a_typed_error_not_a_panic() {
    let mut redis = RedisServer::start();
    let emulator = emulator_builder().start().await.unwrap();
    let store = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let m = manager(&emulator, Some(store));
    let auth = logged_in(
        &emulator,
        m.scalekit(),
        &["openid", "offline_access"],
        "ada@example.com",
    )
    .await;
    let (session, set) = m.start(&auth, &RequestCookies::default()).await.unwrap();
    let cookie = cookie_header(&set);
    redis.stop();
    let err = m
        .resolve(&RequestCookies::parse([cookie.as_str()]))
        .await
        .unwrap_err();
    assert_eq!(err, SessionError::Store(StoreError::Unavailable));
    assert_eq!(
        m.write(&session, &RequestCookies::default())
            .await
            .unwrap_err(),
        SessionError::Store(StoreError::Unavailable)
    );
    assert_eq!(
        m.sign_out_everywhere(&session.user.id).await.unwrap_err(),
        StoreError::Unavailable
    );
    // Connecting to a Redis that is not there fails the same way.
    assert_eq!(
        RedisStore::connect(&redis.url()).await.unwrap_err(),
        StoreError::Unavailable
    );
}
