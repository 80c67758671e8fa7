//! The axum full-stack example served on a free loopback port, with an
//! emulator that knows its redirect URIs.

use std::time::Duration;

use scalekit_emulator::{Emulator, EmulatorBuilder};

pub const SESSION_SECRET: &str = "fullstack-test-session-secret-32-bytes+";

/// Binds a port and returns the listener, its base URL, and an emulator
/// builder with that base's callback and home registered.
pub async fn bind() -> (tokio::net::TcpListener, String, EmulatorBuilder) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let builder = Emulator::builder()
        .redirect_uri(format!("{base}/auth/callback"))
        .post_logout_redirect_uri(format!("{base}/"));
    (listener, base, builder)
}

/// Serves `router` on `listener` in the background.
pub fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    })
}

/// The full-stack example with its emulator: (base URL, emulator, server).
pub async fn fullstack(
    access_ttl: Option<Duration>,
    webhook_secret: Option<&str>,
) -> (String, Emulator, tokio::task::JoinHandle<()>) {
    let (listener, base, mut builder) = bind().await;
    if let Some(ttl) = access_ttl {
        builder = builder.access_token_ttl(ttl);
    }
    let emulator = builder.start().await.unwrap();
    let config = scalekit_core::ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    let auth =
        scalekit_examples::axum_fullstack::auth(config, &base, SESSION_SECRET, webhook_secret)
            .unwrap();
    let server = serve(listener, scalekit_examples::axum_fullstack::app(&auth));
    (base, emulator, server)
}

/// Serves an actix-web application made of `configure` wrapped in `auth`'s
/// middleware on `listener`, in the background (two workers); stopped when
/// the handle is dropped with the test's runtime.
pub fn serve_actix<F>(
    listener: tokio::net::TcpListener,
    auth: scalekit_actix::ScalekitAuth,
    configure: F,
) -> actix_web::dev::ServerHandle
where
    F: Fn(&mut actix_web::web::ServiceConfig) + Clone + Send + 'static,
{
    let listener = listener.into_std().unwrap();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .configure(configure.clone())
            .wrap(auth.middleware())
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    handle
}
