//! RS256 validation through our API against `jsonwebtoken::decode` with a
//! prepared key, on the same token, and the raw signature check (the floor).
//!
//! Run: `cargo bench -p scalekit-core --bench validate`
//!
//! With `VALIDATE_AB=<rounds>` it runs no criterion case and times, round
//! after round, 2,000 fresh validations by `jsonwebtoken::decode`, by us
//! (JWKS cache, no verified-token cache) and by the floor, interleaved, so
//! that the machine's drift falls on all three alike; it prints each
//! round's ratios and their medians:
//!
//! ```sh
//! VALIDATE_AB=15 cargo bench -p scalekit-core --bench validate
//! ```

use std::future::Future as _;
use std::hint::black_box;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use scalekit_core::{AccessTokenClaims, JwksCache, KeySet, TokenValidator, ValidationOptions};
use scalekit_emulator::Emulator;
use serde_json::json;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (emulator, token, jwks) = rt.block_on(async {
        let emulator = Emulator::start().await.expect("emulator");
        let token = emulator
            .mint_access_token(json!({"permissions": ["projects:read"], "tenant": "acme"}))
            .expect("token");
        let jwks = reqwest::get(format!("{}/keys", emulator.url()))
            .await
            .expect("keys")
            .text()
            .await
            .expect("keys body");
        (emulator, token, jwks)
    });
    let options = ValidationOptions::new(emulator.url()).audience(emulator.client_id());

    // Ours, through the remote JWKS cache (warm).
    let cache = JwksCache::new(format!("{}/keys", emulator.url())).expect("cache");
    let remote = TokenValidator::new(cache, options.clone());
    rt.block_on(remote.validate::<AccessTokenClaims>(&token))
        .expect("valid");
    // Ours, through the JWKS cache, with the verified-token cache on
    // (`validate` deserializes `C` from the shared payload on each hit;
    // `validate_access` hands out the shared claims).
    let cached = TokenValidator::new(
        JwksCache::new(format!("{}/keys", emulator.url())).expect("cache"),
        options.clone(),
    )
    .with_verified_cache(10_000, std::time::Duration::from_secs(60));
    rt.block_on(cached.validate::<AccessTokenClaims>(&token))
        .expect("valid");
    // Ours, with a static key set.
    let keys = KeySet::from_jwks_json(jwks.as_bytes()).expect("jwks");
    let fixed = TokenValidator::new(keys, options);

    // jsonwebtoken with a prepared key and equivalent checks.
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwks).expect("jwk set");
    let key = jsonwebtoken::DecodingKey::from_jwk(&set.keys[0]).expect("decoding key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[emulator.url()]);
    validation.set_audience(&[emulator.client_id()]);
    validation.leeway = 60;
    jsonwebtoken::decode::<AccessTokenClaims>(&token, &key, &validation).expect("valid");

    // The floor: the RSA signature check alone, key parsed once.
    let jwk: serde_json::Value = serde_json::from_str(&jwks).expect("json");
    let n = URL_SAFE_NO_PAD
        .decode(jwk["keys"][0]["n"].as_str().expect("n"))
        .expect("n");
    let e = URL_SAFE_NO_PAD
        .decode(jwk["keys"][0]["e"].as_str().expect("e"))
        .expect("e");
    let parsed = RsaPublicKeyComponents { n: &n, e: &e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .expect("key");
    let (input, sig) = token.rsplit_once('.').expect("jws");
    let sig = URL_SAFE_NO_PAD.decode(sig).expect("sig");

    if let Ok(rounds) = std::env::var("VALIDATE_AB") {
        let rounds: usize = rounds.parse().expect("VALIDATE_AB=<rounds>");
        let time = |f: &dyn Fn()| {
            let began = std::time::Instant::now();
            for _ in 0..2_000 {
                f();
            }
            began.elapsed().as_secs_f64() / 2_000.0 * 1e6
        };
        let (mut to_jwt, mut to_floor) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let jwt = time(&|| {
                jsonwebtoken::decode::<AccessTokenClaims>(black_box(&token), &key, &validation)
                    .map(|_| ())
                    .expect("valid")
            });
            let ours = time(&|| {
                rt.block_on(remote.validate::<AccessTokenClaims>(black_box(&token)))
                    .map(|_| ())
                    .expect("valid")
            });
            let floor = time(&|| {
                parsed
                    .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .expect("valid")
            });
            println!(
                "round {round}: floor {floor:.2} µs, ours {ours:.2} µs, jsonwebtoken {jwt:.2} µs; \
                 ours / jsonwebtoken {:.3}, ours / floor {:.3}",
                ours / jwt,
                ours / floor
            );
            to_jwt.push(ours / jwt);
            to_floor.push(ours / floor);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "median: ours / jsonwebtoken {:.3}, ours / floor {:.3}",
            median(&mut to_jwt),
            median(&mut to_floor)
        );
        return;
    }

    let mut group = c.benchmark_group("rs256");
    group.bench_function("floor: raw signature verify", |b| {
        b.iter(|| parsed.verify_sig(black_box(input.as_bytes()), black_box(&sig)))
    });
    group.bench_function("scalekit-core: JWKS cache", |b| {
        b.iter(|| {
            rt.block_on(remote.validate::<AccessTokenClaims>(black_box(&token)))
                .expect("valid")
        })
    });
    group.bench_function("scalekit-core: verified-token cache hit", |b| {
        b.iter(|| {
            rt.block_on(cached.validate::<AccessTokenClaims>(black_box(&token)))
                .expect("valid")
        })
    });
    group.bench_function(
        "scalekit-core: verified-token cache hit, shared claims",
        |b| {
            b.iter(|| {
                rt.block_on(cached.validate_access(black_box(&token)))
                    .expect("valid")
            })
        },
    );
    // A hit completes in its first poll: polled once in place, as a
    // request handler already inside a runtime awaits it (no `block_on`).
    group.bench_function(
        "scalekit-core: verified-token cache hit, shared claims, one poll",
        |b| {
            b.iter(|| {
                let mut hit = std::pin::pin!(cached.validate_access(black_box(&token)));
                let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                match hit.as_mut().poll(&mut cx) {
                    std::task::Poll::Ready(result) => result.expect("valid"),
                    std::task::Poll::Pending => panic!("a hit completes in one poll"),
                }
            })
        },
    );
    // What the harness adds to each async call above (a request handler
    // runs inside a runtime already and does not pay it).
    group.bench_function("harness: block_on of a ready future", |b| {
        b.iter(|| rt.block_on(async { black_box(1) }))
    });
    group.bench_function("scalekit-core: static key set", |b| {
        b.iter(|| {
            rt.block_on(fixed.validate::<AccessTokenClaims>(black_box(&token)))
                .expect("valid")
        })
    });
    group.bench_function("jsonwebtoken::decode (prepared key)", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<AccessTokenClaims>(black_box(&token), &key, &validation)
                .expect("valid")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
