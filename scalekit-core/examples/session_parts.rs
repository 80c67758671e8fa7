//! Where the time of sealing and opening a 3 KB session goes (JSON, base64,
//! AEAD), for `BENCHMARKS.md`: `cargo run --release -p scalekit-core --example session_parts`.

use std::time::Instant;

use base64::Engine as _;
use scalekit_core::session::{CookieCodec, Session};

fn time<T>(label: &str, n: u32, mut f: impl FnMut() -> T) {
    for _ in 0..1000 {
        std::hint::black_box(f());
    }
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(f());
    }
    println!(
        "{label:<28} {:>8.2} µs",
        start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jwt = |len: usize| {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.{}",
            "x".repeat(len - 364),
            "s".repeat(342)
        )
    };
    let session: Session = serde_json::from_value(serde_json::json!({
        "id": "b3BhcXVlLXNlc3Npb24taWQtb2YtMjU2LWJpdHMtLS0",
        "user": {"id": "usr_482019374650192837", "name": "Ada Lovelace", "given_name": "Ada",
                 "family_name": "Lovelace", "email": "ada@example.com", "email_verified": true},
        "access_token": jwt(1100), "refresh_token": "rt_x", "id_token": jwt(1200),
        "expires_at": 2_000_000_000u64, "created_at": 1_763_800_000u64, "last_seen": 1_763_800_000u64
    }))?;
    let codec = CookieCodec::new(["benchmark-session-secret-of-32-bytes-min"])?;
    let json = serde_json::to_vec(&session)?;
    let sealed = codec.seal("sk_session", &json)?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = b64.decode(&sealed)?;
    let n = 20_000;
    time("serde_json::to_vec", n, || serde_json::to_vec(&session));
    time("serde_json::from_slice", n, || {
        serde_json::from_slice::<Session>(&json)
    });
    time("base64 encode", n, || b64.encode(&raw));
    time("base64 decode", n, || b64.decode(&sealed));
    time("codec.seal (AEAD + base64)", n, || {
        codec.seal("sk_session", &json)
    });
    time("codec.open (base64 + AEAD)", n, || {
        codec.open("sk_session", &sealed)
    });
    Ok(())
}
