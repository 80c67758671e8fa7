//! A fixed loop of token validations, for instruction-count profiling:
//!
//! ```sh
//! cargo build --release -p scalekit-core --example validate_loop
//! valgrind --tool=callgrind --callgrind-out-file=cg.out target/release/examples/validate_loop
//! callgrind_annotate --inclusive=yes cg.out | grep -E 'DecodedJws|check_claims|from_slice'
//! ```
//!
//! It starts the emulator, mints one access token and validates it 2,000
//! times with a static key set.

use scalekit_core::{AccessTokenClaims, KeySet, TokenValidator, ValidationOptions};

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
    let validator = TokenValidator::new(
        KeySet::from_jwks_json(jwks.as_bytes())?,
        ValidationOptions::new(emulator.url()).audience(emulator.client_id()),
    );
    for _ in 0..2000 {
        rt.block_on(validator.validate::<AccessTokenClaims>(&token))?;
    }
    println!("2000 validations done");
    Ok(())
}
