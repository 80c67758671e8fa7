//! Sealing and opening a typical 3 KB session cookie, against the floor:
//! AES-256-GCM alone on the same bytes.
//!
//! Run: `cargo bench -p scalekit-core --bench session`

use std::hint::black_box;

use aws_lc_rs::aead::{AES_256_GCM, Aad, RandomizedNonceKey};
use criterion::{Criterion, criterion_group, criterion_main};
use scalekit_core::oauth::User;
use scalekit_core::session::{
    CookieCodec, CookieSettings, RequestCookies, Session, SessionManager,
};
use scalekit_core::{Scalekit, ScalekitConfig};

fn typical_session() -> Session {
    // Tokens of realistic sizes: an access token of ~1.1 KB, an ID token of
    // ~1.2 KB, a refresh token, and the user.
    let jwt = |len: usize| {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.{}",
            "x".repeat(len - 364),
            "s".repeat(342)
        )
    };
    let user: User = serde_json::from_value(serde_json::json!({
        "id": "usr_482019374650192837",
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.com",
        "email_verified": true,
        "picture": "https://example.com/avatars/ada.png",
        "locale": "en-GB"
    }))
    .expect("user");
    Session {
        id: "b3BhcXVlLXNlc3Npb24taWQtb2YtMjU2LWJpdHMtLS0".into(),
        user,
        access_token: jwt(1100),
        refresh_token: Some("rt_".to_owned() + &"r".repeat(43)),
        id_token: Some(jwt(1200)),
        expires_at: 2_000_000_000,
        data: None,
        auth_method: scalekit_core::session::AuthMethod::Oauth,
        created_at: 1_763_800_000,
        last_seen: 1_763_800_000,
        version: 0,
    }
}

fn bench(c: &mut Criterion) {
    let codec = CookieCodec::new(["benchmark-session-secret-of-32-bytes-min"]).expect("codec");
    let session = typical_session();
    let json = serde_json::to_vec(&session).expect("json");
    let chunks = codec.seal_chunked("sk_session", &json).expect("seal");
    let header: String = chunks
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    println!(
        "session JSON: {} bytes, sealed: {} bytes in {} cookie(s)",
        json.len(),
        chunks.iter().map(|(_, v)| v.len()).sum::<usize>(),
        chunks.len()
    );

    let key = RandomizedNonceKey::new(&AES_256_GCM, &[7u8; 32]).expect("key");
    let mut sealed_raw = json.clone();
    let nonce = key
        .seal_in_place_append_tag(Aad::from(b"sk_session"), &mut sealed_raw)
        .expect("seal");

    let mut group = c.benchmark_group("session-3k");
    group.bench_function("floor: AES-256-GCM seal", |b| {
        b.iter(|| {
            let mut buf = black_box(&json).clone();
            key.seal_in_place_append_tag(Aad::from(b"sk_session"), &mut buf)
                .expect("seal");
            buf
        })
    });
    group.bench_function("scalekit-core: seal session", |b| {
        b.iter(|| {
            let json = serde_json::to_vec(black_box(&session)).expect("json");
            codec.seal_chunked("sk_session", &json).expect("seal")
        })
    });
    group.bench_function("floor: AES-256-GCM open", |b| {
        b.iter(|| {
            let mut buf = black_box(&sealed_raw).clone();
            let n =
                aws_lc_rs::aead::Nonce::try_assume_unique_for_key(nonce.as_ref()).expect("nonce");
            key.open_in_place(n, Aad::from(b"sk_session"), &mut buf)
                .expect("open")
                .len()
        })
    });
    group.bench_function("scalekit-core: open session", |b| {
        b.iter(|| {
            let cookies = RequestCookies::parse([black_box(header.as_str())]);
            let json = codec
                .open_chunked("sk_session", &cookies)
                .expect("open")
                .expect("present");
            serde_json::from_slice::<Session>(&json).expect("session")
        })
    });
    // Through the session manager (cookie-only store): a request that
    // sends a cookie seen before (every request but the first, until the
    // touch interval rewrites it).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let scalekit = Scalekit::new(
        ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret").expect("config"),
    )
    .expect("client");
    let manager = SessionManager::new(
        scalekit,
        CookieCodec::new(["benchmark-session-secret-of-32-bytes-min"]).expect("codec"),
        CookieSettings::for_base_url("http://localhost:3000"),
    );
    let name = manager.session_cookie_name();
    let chunks = manager_cookies(&manager, &name, &json);
    rt.block_on(manager.load(&RequestCookies::parse([chunks.as_str()])))
        .expect("load")
        .expect("present");
    group.bench_function(
        "scalekit-core: open session (manager, cookie seen before)",
        |b| {
            b.iter(|| {
                let cookies = RequestCookies::parse([black_box(chunks.as_str())]);
                rt.block_on(manager.load(&cookies))
                    .expect("load")
                    .expect("present")
            })
        },
    );
    group.finish();
}

/// The `Cookie` header carrying `json` sealed as the manager's session cookie.
fn manager_cookies(_manager: &SessionManager, name: &str, json: &[u8]) -> String {
    let codec = CookieCodec::new(["benchmark-session-secret-of-32-bytes-min"]).expect("codec");
    codec
        .seal_chunked(name, json)
        .expect("seal")
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

criterion_group!(benches, bench);
criterion_main!(benches);
