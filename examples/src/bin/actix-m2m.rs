//! The actix-web m2m example: `cargo run -p scalekit-examples --bin actix-m2m`.
//!
//! With no `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator starts in-process;
//! the program registers an M2M client and prints a token to try with curl.

use actix_web::{App, HttpServer};
use scalekit_examples::actix_m2m as example;
use scalekit_examples::environment::ExampleEnv;

#[tokio::main]
async fn main() -> Result<(), scalekit_examples::Error> {
    scalekit_examples::init_tracing();
    let env = ExampleEnv::load().await?;
    let auth = example::auth(env.config.clone(), &env.base_url)?;
    let listener = env.bind().await?.into_std()?;
    println!("actix-m2m listening on {}", env.base_url);
    if let Some(emulator) = &env.emulator {
        println!("  Scalekit emulator at {}", emulator.url());
    }
    let audience = example::api_audience(&env.base_url);
    if let Some(token) = env.demo_m2m_token(serde_json::json!({ "aud": [audience] }))? {
        println!(
            "  try: curl -H 'Authorization: Bearer {token}' {}/api/reports",
            env.base_url
        );
    }
    let routes = example::configure(&auth);
    HttpServer::new(move || App::new().configure(routes.clone()).wrap(auth.middleware()))
        .listen(listener)?
        .run()
        .await?;
    Ok(())
}
