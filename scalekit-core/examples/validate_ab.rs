//! An interleaved A/B timing of RS256 validation: ours (through the JWKS
//! cache) against `jsonwebtoken::decode` with a prepared key, in alternating
//! batches so that machine drift affects both alike.
//!
//! `cargo run --release -p scalekit-core --example validate_ab`

use std::time::Instant;

use scalekit_core::{AccessTokenClaims, JwksCache, TokenValidator, ValidationOptions};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (emulator, token, jwks) = rt.block_on(async {
        let emulator = scalekit_emulator::Emulator::start().await?;
        let token = emulator.mint_access_token(
            serde_json::json!({"permissions": ["projects:read"], "tenant": "acme"}),
        )?;
        let jwks = reqwest::get(format!("{}/keys", emulator.url()))
            .await?
            .text()
            .await?;
        Ok::<_, Box<dyn std::error::Error>>((emulator, token, jwks))
    })?;
    let ours = TokenValidator::new(
        JwksCache::new(format!("{}/keys", emulator.url()))?,
        ValidationOptions::new(emulator.url()).audience(emulator.client_id()),
    );
    rt.block_on(ours.validate::<AccessTokenClaims>(&token))?;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwks)?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&set.keys[0])?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[emulator.url()]);
    validation.set_audience(&[emulator.client_id()]);
    validation.leeway = 60;

    const BATCH: u32 = 200;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..60 {
        let start = Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(rt.block_on(ours.validate::<AccessTokenClaims>(&token))?);
        }
        a.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH));
        let start = Instant::now();
        for _ in 0..BATCH {
            std::hint::black_box(jsonwebtoken::decode::<AccessTokenClaims>(
                &token,
                &key,
                &validation,
            )?);
        }
        b.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH));
    }
    let (ma, mb) = (median(a), median(b));
    println!("ours (JWKS cache)        {ma:.2} µs (median of 60 batches of {BATCH})");
    println!("jsonwebtoken::decode     {mb:.2} µs");
    println!("ratio ours/jsonwebtoken  {:.3}", ma / mb);
    Ok(())
}
