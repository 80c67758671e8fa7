//! Sessions end to end: cookie codec properties, cookie names, the refresh
//! race (one refresh for 50 concurrent requests, also when the refresh
//! outlasts the old lock lease across two instances sharing Redis), the
//! Redis user index, refresh outages that keep the session. What every
//! store must do (conditional writes, removals racing writes, sealed
//! records, restarts, a store going away) is the store suite's
//! (`store_suite`), run against each store.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use scalekit_core::oauth::{OAuthErrorCode, TokenError};
use scalekit_core::session::{
    CookieCodec, CookieError, CookieSettings, LoginState, MemoryStore, RedisStore, RequestCookies,
    Session, SessionData, SessionDataError, SessionEnd, SessionError, SessionManager,
    SessionPolicy, SessionStore, StoreError,
};
use scalekit_core::web::{AuthFailure, WebAuth};
use scalekit_core::{Endpoint, JwksOptions, Scalekit, ScalekitConfig};
use scalekit_emulator::{Emulator, EmulatorEndpoint, Fault};

use common::flow::{CALLBACK, HOME, logged_in, scalekit};
use common::redis::RedisServer;

pub(crate) const SECRET: &str = "test-session-secret-of-at-least-32-bytes";

pub(crate) fn manager(emulator: &Emulator, store: Option<Arc<dyn SessionStore>>) -> SessionManager {
    manager_with(scalekit(emulator, Duration::from_secs(5)), store)
}

pub(crate) fn manager_with(sk: Scalekit, store: Option<Arc<dyn SessionStore>>) -> SessionManager {
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

async fn redis_store(redis: &RedisServer) -> Arc<dyn SessionStore> {
    Arc::new(RedisStore::connect(&redis.url()).await.unwrap())
}

fn memory_store() -> Arc<dyn SessionStore> {
    Arc::new(MemoryStore::new(1000, Duration::from_secs(3600)))
}

pub(crate) fn cookies(header: &str) -> RequestCookies<'_> {
    RequestCookies::parse([header])
}

/// Waits until `condition` holds (at most 10 s).
pub(crate) async fn wait_until(mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) async fn sign_in(emulator: &Emulator, m: &SessionManager) -> (Session, String) {
    let auth = logged_in(
        emulator,
        m.scalekit(),
        &["openid", "email", "offline_access"],
        "ada@example.com",
    )
    .await;
    let (session, set) = m.start(&auth, &RequestCookies::default()).await.unwrap();
    (session, cookie_header(&set))
}

/// A request with `cookie` resolved by `m` in a task of its own.
pub(crate) fn resolving(
    m: &SessionManager,
    cookie: &str,
) -> tokio::task::JoinHandle<Result<scalekit_core::session::Resolved, SessionError>> {
    let (m, cookie) = (m.clone(), cookie.to_owned());
    tokio::spawn(async move { m.resolve(&cookies(&cookie)).await })
}

/// The `Cookie` header a browser sends back after these `Set-Cookie`s.
pub(crate) fn cookie_header(set_cookies: &[String]) -> String {
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
pub(crate) async fn expired_session(emulator: &Emulator, m: &SessionManager) -> (Session, String) {
    let auth = logged_in(
        emulator,
        m.scalekit(),
        &["openid", "email", "offline_access"],
        "ada@example.com",
    )
    .await;
    let (mut session, _) = m.start(&auth, &RequestCookies::default()).await.unwrap();
    session.expires_at = 1;
    let cookies = m
        .write(&mut session, &RequestCookies::default())
        .await
        .unwrap();
    (session, cookie_header(&cookies))
}

pub(crate) fn emulator_builder() -> scalekit_emulator::EmulatorBuilder {
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
        "sk_session=abc; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=3600"
    );
    assert_eq!(
        https.removal("sk_session.3"),
        "sk_session.3=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    let local = CookieSettings::for_base_url("http://localhost:3000");
    assert_eq!(
        local.set_cookie("sk_session", "abc", None),
        "sk_session=abc; HttpOnly; SameSite=Lax; Path=/"
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
        "app_session=v; HttpOnly; SameSite=Lax; Secure; Path=/; Domain=example.com"
    );
    // Settings cannot smuggle attributes of their own into the header: a
    // bad domain or path is left out, a bad name gives no cookie at all.
    let smuggled = CookieSettings {
        domain: Some("example.com; SameSite=None".into()),
        path: "/; Domain=evil.example".into(),
        ..custom.clone()
    };
    assert_eq!(
        smuggled.validate(),
        Err(scalekit_core::session::CookieSettingsError::Path)
    );
    assert_eq!(
        smuggled.set_cookie("app_session", "v", None),
        "app_session=v; HttpOnly; SameSite=Lax; Secure"
    );
    assert_eq!(custom.set_cookie("app session", "v", None), "");
    assert_eq!(custom.set_cookie("app_session", "v;w", None), "");
    assert_eq!(custom.removal("a\r\nb"), "");
    assert_eq!(custom.validate(), Ok(()));
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

pub(crate) async fn race(
    managers: &[SessionManager],
    cookie: &str,
    requests: usize,
) -> Vec<Session> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..requests {
        let m = managers[i % managers.len()].clone();
        let cookie = cookie.to_owned();
        tasks.spawn(async move { m.resolve(&RequestCookies::parse([cookie.as_str()])).await });
    }
    let mut sessions = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let resolved = result.unwrap().expect("every request succeeds");
        sessions.push(Session::clone(&resolved.session.expect("a live session")));
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

/// The usual request is resolved without waiting (what lets the adapters
/// call the route at once): a current cookie-only session seen lately, no
/// cookie, a cookie that does not open (cleared). A session due for a
/// refresh, or a server-side session, waits for `resolve`; where both
/// decide, they decide alike.
#[tokio::test]
async fn a_current_cookie_session_resolves_without_waiting_and_the_rest_waits() {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, None);
    let (session, header) = sign_in(&emulator, &m).await;
    let now = m.resolve_now(&cookies(&header)).expect("decided").unwrap();
    assert_eq!(now.session.as_ref().map(|s| &s.id), Some(&session.id));
    assert!(now.set_cookies.is_empty());
    let waited = m.resolve(&cookies(&header)).await.unwrap();
    assert_eq!(waited.session.as_ref().map(|s| &s.id), Some(&session.id));
    assert!(waited.set_cookies.is_empty());

    let anonymous = m
        .resolve_now(&cookies("theme=dark"))
        .expect("decided")
        .unwrap();
    assert!(anonymous.session.is_none() && anonymous.set_cookies.is_empty());

    let (name, value) = header.split_once('=').unwrap();
    let damaged = format!("{name}=x{value}");
    let cleared = m.resolve_now(&cookies(&damaged)).expect("decided").unwrap();
    assert!(cleared.session.is_none());
    assert!(cleared.set_cookies.iter().any(|c| c.contains("Max-Age=0")));

    let (_, due) = expired_session(&emulator, &m).await;
    assert!(m.resolve_now(&cookies(&due)).is_none(), "a refresh is due");
    let refreshed = m.resolve(&cookies(&due)).await.unwrap();
    assert!(refreshed.session.is_some() && !refreshed.set_cookies.is_empty());

    let server_side = manager(&emulator, Some(memory_store()));
    let (_, header) = sign_in(&emulator, &server_side).await;
    assert!(
        server_side.resolve_now(&cookies(&header)).is_none(),
        "the record must be read"
    );
    assert!(
        server_side
            .resolve(&cookies(&header))
            .await
            .unwrap()
            .session
            .is_some()
    );
    let anonymous = server_side
        .resolve_now(&cookies("theme=dark"))
        .expect("decided")
        .unwrap();
    assert!(anonymous.session.is_none());
}

#[tokio::test]
async fn a_refused_refresh_ends_the_session() {
    let emulator = emulator_builder()
        .refresh_grace(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let refused = |resolved: &scalekit_core::session::Resolved| {
        assert!(resolved.session.is_none());
        match &resolved.ended {
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
    };
    // A server-side session ends at once: no other instance can hold a
    // newer cookie for it.
    let m = manager(&emulator, Some(memory_store()));
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
    refused(&resolved);

    // A cookie-only session ends at once too (an `invalid_grant` is final:
    // the platform's grace for a rotated refresh token is what lets racing
    // instances both refresh), and the refusal is remembered for the same
    // cookie, without asking the platform again.
    let m = manager(&emulator, None);
    let (old, cookie) = expired_session(&emulator, &m).await;
    m.scalekit()
        .refresh_access_token(old.refresh_token.as_deref().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refreshes = emulator.request_count(EmulatorEndpoint::Token);
    let request = RequestCookies::parse([cookie.as_str()]);
    refused(&m.resolve(&request).await.unwrap());
    refused(&m.resolve(&request).await.unwrap());
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Token),
        refreshes + 1
    );
}

/// The platform rotates its keys while the key cache is in its cooldown
/// for unknown key ids (someone sent a token with a made-up `kid` a moment
/// ago): the refreshed tokens, signed with the new key, are checked after
/// one fetch of the key set, and the session goes on.
#[tokio::test]
async fn a_refresh_signed_with_a_key_the_cache_has_not_seen_keeps_the_session() {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, None);
    let (_, cookie) = expired_session(&emulator, &m).await;
    // A token with an unknown key id starts the cooldown.
    let made_up = emulator
        .sign_with_header(
            &serde_json::json!({"alg": "RS256", "kid": "snk_made_up"}),
            &emulator.access_token_claims(serde_json::json!({})),
        )
        .unwrap();
    assert!(
        m.scalekit()
            .validate_token::<scalekit_core::AccessTokenClaims>(&made_up)
            .await
            .is_err()
    );
    let fetches = emulator.request_count(EmulatorEndpoint::Keys);
    emulator
        .rotate_keys(scalekit_emulator::Rotation::KeepOld)
        .await
        .unwrap();
    let resolved = m
        .resolve(&RequestCookies::parse([cookie.as_str()]))
        .await
        .unwrap();
    assert_eq!(resolved.ended, None);
    assert!(resolved.session.is_some(), "refreshed, not ended");
    assert!(!resolved.set_cookies.is_empty(), "the new tokens are sent");
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Keys),
        fetches + 1,
        "one fetch of the key set"
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
    let header = replayed_header(
        &m.write(&mut idle.clone(), &RequestCookies::default())
            .await
            .unwrap(),
    );
    let resolved = m
        .resolve(&RequestCookies::parse([header.as_str()]))
        .await
        .unwrap();
    assert_eq!(resolved.ended, Some(SessionEnd::IdleTimeout));
    let old = Session {
        created_at: session.created_at - 8 * 24 * 3600,
        ..session
    };
    let header = replayed_header(
        &m.write(&mut old.clone(), &RequestCookies::default())
            .await
            .unwrap(),
    );
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

// ------------------------------------------------------ cookie names

#[tokio::test]
async fn cookie_names_carry_the_host_prefix_on_https_only() {
    let emulator = emulator_builder().start().await.unwrap();
    let https = SessionManager::new(
        scalekit(&emulator, Duration::from_secs(5)),
        CookieCodec::new([SECRET]).unwrap(),
        CookieSettings::for_base_url("https://app.example.com"),
    );
    assert_eq!(https.session_cookie_name(), "__Host-sk_session");
    assert_eq!(https.login_state_cookie_name(), "__Host-sk_oauth_state");

    // The login state cookie: __Host-, Secure, Path=/, no Domain.
    let state = LoginState::new(None).unwrap();
    let set = https.login_state_cookie(&state).unwrap();
    assert!(set.starts_with("__Host-sk_oauth_state="), "{set}");
    assert!(set.contains("; Path=/;") && set.contains("; Secure") && !set.contains("Domain"));
    let header = cookie_header(std::slice::from_ref(&set));
    let (opened, clear) = https.take_login_state(&cookies(&header)).unwrap();
    assert_eq!(opened, state);
    assert!(clear.starts_with("__Host-sk_oauth_state=; "));
    // The same value under the unprefixed name (planted by a sibling
    // subdomain, say) is not read.
    let planted = header.replacen("__Host-", "", 1);
    assert!(https.take_login_state(&cookies(&planted)).is_err());

    // The session cookie, and every chunk of a large one.
    let (mut session, header) = sign_in(&emulator, &https).await;
    assert!(header.starts_with("__Host-sk_session="), "{header}");
    let resolved = https.resolve(&cookies(&header)).await.unwrap();
    assert_eq!(resolved.session.unwrap().id, session.id);
    session.id_token = Some("x".repeat(9000));
    let set = https.write(&mut session, &cookies(&header)).await.unwrap();
    let written: Vec<&String> = set.iter().filter(|c| !c.contains("Max-Age=0")).collect();
    assert!(written.len() >= 3, "{}", written.len());
    for (i, cookie) in written.iter().enumerate() {
        assert!(
            cookie.starts_with(&format!("__Host-sk_session.{i}=")),
            "{cookie}"
        );
        assert!(cookie.contains("; Path=/;") && cookie.contains("; Secure"));
    }
    assert!(
        set.iter()
            .any(|c| c.starts_with("__Host-sk_session=; ") && c.contains("Max-Age=0")),
        "the unchunked cookie is cleared"
    );
    let chunked = cookie_header(&set);
    let resolved = https.resolve(&cookies(&chunked)).await.unwrap();
    assert_eq!(resolved.session.unwrap().id_token, session.id_token);
    // Logout clears the prefixed names.
    let cleared = https.end(&session, &cookies(&chunked)).await.unwrap();
    assert!(cleared.iter().all(|c| c.starts_with("__Host-sk_session.")));

    // Plain-http localhost: the names of today.
    let local = manager(&emulator, None);
    assert_eq!(local.session_cookie_name(), "sk_session");
    assert_eq!(local.login_state_cookie_name(), "sk_oauth_state");
    let (_, header) = sign_in(&emulator, &local).await;
    assert!(header.starts_with("sk_session="), "{header}");

    // A configured Domain drops the prefix (browsers refuse __Host- with it).
    let shared = CookieSettings {
        domain: Some("example.com".into()),
        ..CookieSettings::for_base_url("https://app.example.com")
    };
    assert_eq!(shared.session_cookie_name(), "sk_session");
    let with_domain = SessionManager::new(
        scalekit(&emulator, Duration::from_secs(5)),
        CookieCodec::new([SECRET]).unwrap(),
        shared,
    );
    let set = with_domain.login_state_cookie(&state).unwrap();
    assert!(set.starts_with("sk_oauth_state=") && set.contains("; Domain=example.com"));
}

// ------------------------------------- removed sessions stay removed

#[tokio::test]
async fn sign_out_everywhere_finds_a_long_lived_session_after_a_near_expired_one_was_saved() {
    let redis = RedisServer::start();
    let emulator = emulator_builder().start().await.unwrap();
    let day = 24 * 3600;
    let m = manager(&emulator, Some(redis_store(&redis).await));
    // A session with days to live, and one of the same user about to expire.
    let (long, long_cookie) = sign_in(&emulator, &m).await;
    let (mut short, _) = sign_in(&emulator, &m).await;
    short.last_seen = short.last_seen - day + 2;
    m.write(&mut short, &RequestCookies::default())
        .await
        .unwrap();
    let user_key = format!("scalekit:user:{}", long.user.id);
    let pttl = |key: &str| -> i64 {
        String::from_utf8_lossy(&redis.cli(&["PTTL", key]))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(
        pttl(&user_key) > (day as i64 - 60) * 1000,
        "{}",
        pttl(&user_key)
    );
    // The short one expires; the index of the user stays.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(
        redis
            .keys(&format!("scalekit:session:{}", short.id))
            .is_empty()
    );
    assert_eq!(redis.keys(&user_key), vec![user_key.clone()]);
    // The next login prunes the expired id from the index.
    sign_in(&emulator, &m).await;
    let members = String::from_utf8_lossy(&redis.cli(&["SMEMBERS", &user_key])).into_owned();
    assert_eq!(members.lines().filter(|l| !l.is_empty()).count(), 2);
    assert!(!members.contains(&short.id));
    // Sign-out everywhere finds both live sessions, the long one included.
    assert_eq!(m.sign_out_everywhere(&long.user.id).await.unwrap(), 2);
    assert!(
        m.resolve(&cookies(&long_cookie))
            .await
            .unwrap()
            .session
            .is_none()
    );
    assert!(redis.keys("scalekit:*").is_empty());
}

// ------------------------------------------------------- refresh lock

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_slower_than_the_old_lock_lease_is_not_repeated_by_another_instance() {
    let redis = RedisServer::start();
    let emulator = emulator_builder().start().await.unwrap();
    // The token call takes 11 s: longer than the former fixed 10 s lease,
    // within this policy's 20 s refresh timeout.
    let policy = SessionPolicy::default().refresh_timeout(Duration::from_secs(20));
    let instance = |store| {
        manager_with(scalekit(&emulator, Duration::from_secs(30)), Some(store)).policy(policy)
    };
    let a = instance(redis_store(&redis).await);
    let b = instance(redis_store(&redis).await);
    let (old, cookie) = expired_session(&emulator, &a).await;
    let before = emulator.request_count(EmulatorEndpoint::Token);
    emulator.inject_fault_times(
        EmulatorEndpoint::Token,
        Fault::Delay(Duration::from_secs(11)),
        1,
    );
    let first = resolving(&a, &cookie);
    wait_until(|| emulator.request_count(EmulatorEndpoint::Token) > before).await;
    let second = resolving(&b, &cookie);
    let first = first.await.unwrap().unwrap().session.unwrap();
    let second = second.await.unwrap().unwrap().session.unwrap();
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Token) - before,
        1,
        "exactly one refresh reached the platform"
    );
    assert_ne!(first.access_token, old.access_token);
    assert_eq!(second.access_token, first.access_token);
    assert_eq!(second.refresh_token, first.refresh_token);
}

// ----------------------------------------------------- sealed records

// -------------------------------------------- refresh outages and refusals

#[tokio::test]
async fn a_token_endpoint_outage_keeps_the_session() {
    let redis = RedisServer::start();
    let emulator = emulator_builder().start().await.unwrap();
    let stores: [Option<Arc<dyn SessionStore>>; 3] =
        [None, Some(memory_store()), Some(redis_store(&redis).await)];
    for store in stores {
        let m = manager(&emulator, store.clone());
        let web = WebAuth::new(m.scalekit().clone(), m.clone(), "http://localhost:3000");
        for fault in [Fault::Status(503), Fault::DropConnection] {
            // The access token has expired, and the token endpoint fails.
            let (session, cookie) = expired_session(&emulator, &m).await;
            emulator.inject_fault(EmulatorEndpoint::Token, fault.clone());
            assert_eq!(
                m.resolve(&cookies(&cookie)).await.unwrap_err(),
                SessionError::RefreshUnavailable,
                "{fault:?}"
            );
            let (resolution, set_cookies) = web.authenticate(None, &cookies(&cookie)).await;
            assert_eq!(resolution.failure(), Some(&AuthFailure::Unavailable));
            assert!(set_cookies.is_empty(), "the cookie is left alone");
            let outcome = AuthFailure::Unavailable.outcome(web.challenge());
            assert_eq!(outcome.status, 503);
            assert!(outcome.header("retry-after").is_some());
            // The platform recovers: the same cookie works, refreshed.
            emulator.clear_faults();
            let resolved = m.resolve(&cookies(&cookie)).await.unwrap();
            let refreshed = resolved.session.expect("the session was kept");
            assert_eq!(refreshed.id, session.id);
            assert_ne!(refreshed.access_token, session.access_token);
        }
    }

    // A token endpoint that cannot be reached at all (nothing listens).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap()
    .with_endpoint(
        Endpoint::Token,
        &format!("http://127.0.0.1:{closed}/oauth/token"),
    )
    .unwrap();
    let unreachable = Scalekit::with_http_client(
        config,
        reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
        JwksOptions::default(),
    )
    .unwrap();
    let store = redis_store(&redis).await;
    let up = manager(&emulator, Some(store.clone()));
    let down = manager_with(unreachable, Some(store));
    let (session, cookie) = expired_session(&emulator, &up).await;
    assert_eq!(
        down.resolve(&cookies(&cookie)).await.unwrap_err(),
        SessionError::RefreshUnavailable
    );
    let resolved = up.resolve(&cookies(&cookie)).await.unwrap();
    assert_eq!(resolved.session.unwrap().id, session.id);

    // Logging out needs no refresh: it works while the endpoint is down.
    let (session, cookie) = expired_session(&emulator, &up).await;
    let web = WebAuth::new(
        down.scalekit().clone(),
        down.clone(),
        "http://localhost:3000",
    );
    let origin = scalekit_core::web::RequestOrigin::default();
    match web.logout(&cookies(&cookie), &origin).await {
        scalekit_core::web::WebResponse::Redirect { set_cookies, .. } => {
            assert!(set_cookies.iter().all(|c| c.contains("Max-Age=0")));
        }
        other => panic!("{other:?}"),
    }
    assert!(up.load(&cookies(&cookie)).await.unwrap().is_none());
    assert!(
        redis
            .keys(&format!("scalekit:session:{}", session.id))
            .is_empty()
    );
}

#[tokio::test]
async fn a_transient_failure_with_a_valid_access_token_serves_the_request() {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, Some(memory_store()));
    let (mut session, _) = sign_in(&emulator, &m).await;
    // Within the refresh skew, not yet expired.
    session.expires_at = scalekit_tests_now() + 10;
    let header = cookie_header(
        &m.write(&mut session, &RequestCookies::default())
            .await
            .unwrap(),
    );
    emulator.inject_fault(EmulatorEndpoint::Token, Fault::Status(502));
    let resolved = m.resolve(&cookies(&header)).await.unwrap();
    assert_eq!(resolved.session.unwrap().access_token, session.access_token);
}

fn scalekit_tests_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token endpoint in front of the emulator's that hands out
/// `id_token` instead of the real one on refresh.
async fn token_proxy(emulator: &Emulator, id_token: String) -> String {
    let upstream = format!("{}/oauth/token", emulator.url());
    let http = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move |body: String| {
            let (http, upstream, id_token) = (http.clone(), upstream.clone(), id_token.clone());
            async move {
                let response = http
                    .post(&upstream)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let mut json: serde_json::Value = response.json().await.unwrap();
                if body.contains("grant_type=refresh_token") && json.get("id_token").is_some() {
                    json["id_token"] = serde_json::Value::String(id_token);
                }
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    axum::Json(json),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test]
async fn a_refreshed_id_token_about_another_user_ends_the_session() {
    let emulator = emulator_builder().start().await.unwrap();
    let other = emulator
        .mint_id_token(serde_json::json!({"sub": "usr_someone_else"}))
        .unwrap();
    let proxy = token_proxy(&emulator, other).await;
    let config = ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap()
    .with_endpoint(Endpoint::Token, &proxy)
    .unwrap();
    let sk =
        Scalekit::with_http_client(config, reqwest::Client::new(), JwksOptions::default()).unwrap();
    let store = memory_store();
    let m = manager_with(sk, Some(store.clone()));
    let (session, cookie) = expired_session(&emulator, &m).await;
    let resolved = m.resolve(&cookies(&cookie)).await.unwrap();
    assert!(resolved.session.is_none());
    assert_eq!(resolved.ended, Some(SessionEnd::SubjectChanged));
    assert!(resolved.set_cookies.iter().all(|c| c.contains("Max-Age=0")));
    assert!(store.load(&session.id).await.unwrap().is_none());
    assert!(
        m.resolve(&cookies(&cookie))
            .await
            .unwrap()
            .session
            .is_none()
    );
}

#[tokio::test]
async fn redis_over_tls_with_a_private_ca() {
    let pki = common::redis::test_pki();
    let redis = RedisServer::start_tls(&pki);
    let emulator = emulator_builder().start().await.unwrap();
    let url = format!("rediss://localhost:{}/", redis.port);
    // The system's roots do not know this CA: the certificate is refused.
    assert_eq!(
        RedisStore::connect(&url).await.unwrap_err(),
        StoreError::Unavailable
    );
    let ca = std::fs::read(pki.join("ca.crt")).unwrap();
    let store = RedisStore::connect_with_root_certificates(&url, &ca)
        .await
        .unwrap();
    let m = manager(&emulator, Some(Arc::new(store)));
    let (session, cookie) = sign_in(&emulator, &m).await;
    let resolved = m.resolve(&cookies(&cookie)).await.unwrap();
    assert_eq!(resolved.session.unwrap().id, session.id);
    assert_eq!(m.sign_out_everywhere(&session.user.id).await.unwrap(), 1);
    assert!(
        m.resolve(&cookies(&cookie))
            .await
            .unwrap()
            .session
            .is_none()
    );
    let _ = std::fs::remove_dir_all(&pki);
}

#[tokio::test]
async fn session_requests_check_no_signature_and_still_expire() {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, None);
    let (session, header) = sign_in(&emulator, &m).await;
    let web = WebAuth::new(m.scalekit().clone(), m.clone(), "http://localhost:3000");
    // Signing in verified the access token (and the ID token).
    let checks = m.scalekit().validator().signature_checks();
    assert!(checks >= 1);
    for _ in 0..5 {
        let (resolution, _) = web.authenticate(None, &cookies(&header)).await;
        let caller = resolution.caller().expect("signed in");
        assert_eq!(caller.subject(), session.user.id);
        assert_eq!(caller.access_token(), session.access_token);
    }
    assert_eq!(
        m.scalekit().validator().signature_checks(),
        checks,
        "session requests make no signature check"
    );

    // A session (sealed by this application) whose access token is past
    // its expiry and the leeway is not a caller, even without a refresh.
    let codec = CookieCodec::new([SECRET]).unwrap();
    let stale_token = emulator
        .mint_access_token(serde_json::json!({"exp": common::now() - 120}))
        .unwrap();
    let stale = Session {
        access_token: stale_token,
        expires_at: u64::MAX, // the session layer would not refresh it
        ..session
    };
    let name = m.session_cookie_name();
    let chunks = codec
        .seal_chunked(&name, &serde_json::to_vec(&stale).unwrap())
        .unwrap();
    let stale_header = chunks
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let (resolution, _) = web.authenticate(None, &cookies(&stale_header)).await;
    assert!(
        resolution.caller().is_none() && resolution.failure().is_none(),
        "{resolution:?}"
    );
}

// ------------------------------------------------------ application data

#[tokio::test]
async fn session_data_writes_are_size_checked_merge_concurrent_changes_and_stop_at_logout() {
    let emulator = emulator_builder().start().await.unwrap();
    for store in [None, Some(memory_store())] {
        let server_side = store.is_some();
        let m = manager(&emulator, store).max_session_data(64);
        let (session, header) = sign_in(&emulator, &m).await;
        assert_eq!(session.data_as::<serde_json::Value>(), Ok(None));

        // Too large: refused before anything is written.
        let huge = SessionData::encode(&"x".repeat(100)).unwrap();
        assert_eq!(
            m.set_data(&session, Some(huge), &cookies(&header))
                .await
                .unwrap_err(),
            SessionDataError::TooLarge { size: 102, max: 64 }
        );
        assert_eq!(m.encode_data(&"x".repeat(100)).unwrap_err().status(), 413);

        // Written and read back from the cookie (or the store).
        let data = m.encode_data(&serde_json::json!({"cart": 1})).unwrap();
        let (written, set) = m
            .set_data(&session, Some(data), &cookies(&header))
            .await
            .unwrap();
        let header = cookie_header(&set);
        let resolved = m.resolve(&cookies(&header)).await.unwrap();
        let read = resolved.session.unwrap();
        assert_eq!(
            read.data_as::<serde_json::Value>().unwrap(),
            Some(serde_json::json!({"cart": 1}))
        );
        assert_eq!(read.access_token, written.access_token);

        if server_side {
            // Two writes from the same (now stale) snapshot: the second
            // reads the session again and wins; neither fails.
            let two = m.encode_data(&serde_json::json!({"cart": 2})).unwrap();
            let three = m.encode_data(&serde_json::json!({"cart": 3})).unwrap();
            m.set_data(&read, Some(two), &cookies(&header))
                .await
                .unwrap();
            m.set_data(&read, Some(three), &cookies(&header))
                .await
                .unwrap();
            let now = m.load(&cookies(&header)).await.unwrap().unwrap();
            assert_eq!(
                now.data_as::<serde_json::Value>().unwrap(),
                Some(serde_json::json!({"cart": 3}))
            );
            // Removed: the data is gone with it and is not written back.
            m.end(&now, &cookies(&header)).await.unwrap();
            let late = m.encode_data(&serde_json::json!({"cart": 4})).unwrap();
            let err = m
                .set_data(&now, Some(late), &cookies(&header))
                .await
                .unwrap_err();
            assert!(err.session_ended(), "{err:?}");
            assert_eq!(err.status(), 401);
            assert!(m.load(&cookies(&header)).await.unwrap().is_none());
        } else {
            // Removing the data.
            let (cleared, set) = m.set_data(&read, None, &cookies(&header)).await.unwrap();
            assert!(cleared.data.is_none());
            let resolved = m.resolve(&cookies(&cookie_header(&set))).await.unwrap();
            assert!(resolved.session.unwrap().data.is_none());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_write_during_a_refresh_keeps_both_and_concurrent_updates_are_all_kept() {
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, Some(memory_store()));
    let (session, header) = expired_session(&emulator, &m).await;

    // A refresh holding the session's lock (a slow token endpoint) while
    // a handler writes data from the pre-refresh snapshot: the refresh's
    // write-back keeps the data, the data write keeps nothing stale.
    emulator.inject_fault_times(
        EmulatorEndpoint::Token,
        Fault::Delay(Duration::from_millis(600)),
        1,
    );
    let refreshing = {
        let m = m.clone();
        let header = header.clone();
        tokio::spawn(async move { m.resolve(&cookies(&header)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let data = m
        .encode_data(&serde_json::json!({"theme": "dark"}))
        .unwrap();
    m.set_data(&session, Some(data), &cookies(&header))
        .await
        .unwrap();
    let refreshed = refreshing.await.unwrap().unwrap().session.unwrap();
    assert_ne!(refreshed.refresh_token, session.refresh_token, "refreshed");
    let stored = m.load(&cookies(&header)).await.unwrap().unwrap();
    assert_eq!(
        stored.refresh_token, refreshed.refresh_token,
        "new tokens kept"
    );
    assert_eq!(
        stored.data_as::<serde_json::Value>().unwrap(),
        Some(serde_json::json!({"theme": "dark"})),
        "data kept"
    );

    // Eight updates at once from the same snapshot, each adding an item:
    // every one is kept.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8u32 {
        let m = m.clone();
        let header = header.clone();
        let snapshot = stored.clone();
        tasks.spawn(async move {
            m.update_data(
                &snapshot,
                |current| {
                    let mut items: Vec<u32> = current
                        .and_then(|d| d.decode::<Vec<u32>>().ok())
                        .unwrap_or_default();
                    items.push(i);
                    SessionData::encode(&items).map(Some)
                },
                &cookies(&header),
            )
            .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let stored = m.load(&cookies(&header)).await.unwrap().unwrap();
    let mut items: Vec<u32> = stored.data_as().unwrap().unwrap();
    items.sort_unstable();
    assert_eq!(items, (0..8).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_cookie_sent_again_after_its_session_was_rewritten_gets_the_same_answer() {
    // A client that ignores `Set-Cookie` (or overlapping requests): once
    // its session was touched, the old cookie is answered with the cookie
    // already made, not sealed again per request.
    let emulator = emulator_builder().start().await.unwrap();
    let m = manager(&emulator, None)
        .policy(SessionPolicy::default().touch_interval(Duration::from_secs(1)));
    let (session, header) = sign_in(&emulator, &m).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let first = m.resolve(&cookies(&header)).await.unwrap();
    assert!(!first.set_cookies.is_empty(), "touched");
    let again = m.resolve(&cookies(&header)).await.unwrap();
    assert_eq!(
        again.set_cookies, first.set_cookies,
        "the same sealed value"
    );
    assert_eq!(again.session.as_ref().unwrap().id, session.id);
    assert!(again.session.unwrap().last_seen > session.last_seen);
    // The new cookie is a current session: nothing to write.
    let next = m
        .resolve(&cookies(&cookie_header(&first.set_cookies)))
        .await
        .unwrap();
    assert!(next.set_cookies.is_empty());
    assert!(next.session.is_some());
}
