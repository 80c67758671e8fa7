//! The actix-web full-stack example: `cargo run -p scalekit-examples --bin actix-fullstack`.
//!
//! With no `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator starts in-process
//! and the program prints the URL to open and a test user. With `REDIS_URL`,
//! `REDIS_CLUSTER_URLS` or `DATABASE_URL` set, sessions live in that Redis,
//! Redis cluster or PostgreSQL database, so that several instances (same
//! `SESSION_SECRET`) serve the same users (`docs/scale-out.md`).

use actix_web::{App, HttpServer, web};
use scalekit_examples::actix_fullstack;
use scalekit_examples::environment::ExampleEnv;

#[tokio::main]
async fn main() -> Result<(), scalekit_examples::Error> {
    scalekit_examples::init_tracing();
    let env = ExampleEnv::load().await?;
    let auth = actix_fullstack::auth(
        env.config.clone(),
        &env.base_url,
        &env.session_secret,
        env.webhook_secret.as_deref(),
        env.session_store.as_ref(),
    )?;
    let listener = env.bind().await?.into_std()?;
    println!("actix-fullstack listening: open {}/", env.base_url);
    if let Some(store) = &env.session_store {
        println!(
            "  sessions in the store of {}, shared with every instance that has the same SESSION_SECRET",
            store.variable()
        );
    }
    env.print_emulator();
    let routes = actix_fullstack::configure(&auth);
    HttpServer::new(move || {
        App::new()
            // Outside the auth middleware: the unprotected floor of
            // scripts/bench-http.
            .route("/health", web::get().to(|| async { "ok" }))
            .service(
                web::scope("")
                    .configure(routes.clone())
                    .wrap(auth.middleware()),
            )
    })
    .listen(listener)?
    .run()
    .await?;
    Ok(())
}
