//! The axum full-stack example: `cargo run -p scalekit-examples --bin axum-fullstack`.
//!
//! With no `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator starts in-process
//! and the program prints the URL to open and a test user.

use scalekit_examples::axum_fullstack;
use scalekit_examples::environment::{ExampleEnv, serve};

#[tokio::main]
async fn main() -> Result<(), scalekit_examples::Error> {
    scalekit_examples::init_tracing();
    let env = ExampleEnv::load().await?;
    let auth = axum_fullstack::auth(
        env.config.clone(),
        &env.base_url,
        &env.session_secret,
        env.webhook_secret.as_deref(),
    )?;
    let app = axum_fullstack::app(&auth);
    let listener = env.bind().await?;
    println!("axum-fullstack listening: open {}/", env.base_url);
    if let Some(emulator) = &env.emulator {
        println!("  Scalekit emulator at {}", emulator.url());
        for user in emulator.users() {
            println!("  sign in as {} ({})", user.email, user.id);
        }
    }
    serve(listener, app).await?;
    Ok(())
}
