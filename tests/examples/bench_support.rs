//! What `scripts/bench-http` needs besides the examples: an emulator that
//! can hand out many distinct signed access tokens quickly, and the RSA
//! floor server.
//!
//! ```text
//! bench_support --port EMU --floor-port FLOOR --client-id ID --client-secret SECRET \
//!               --tokens N --tokens-file PATH [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
//! ```
//!
//! - Runs the emulator in-process on `EMU` (the same routes as the
//!   `scalekit-emulator` binary) and prints its seeded users and a user
//!   access token, in the binary's format.
//! - Signs `N` distinct user access tokens (distinct `jti`/`sid`, on every
//!   core) and writes them to `PATH`, one per line, then prints `tokens: N`.
//! - Serves `GET /floor` on `FLOOR`: the least a server can do for a fresh
//!   token, one RS256 signature check of the bearer token with a key parsed
//!   once (aws-lc-rs), then the token's payload as the JSON answer. No claim
//!   checks, no cache; the floor the fresh-token case is compared to.

use std::io::Write as _;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scalekit_emulator::Emulator;

struct Args {
    port: u16,
    floor_port: u16,
    client_id: String,
    client_secret: String,
    tokens: usize,
    tokens_file: String,
    redirects: Vec<String>,
    logouts: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        floor_port: 0,
        client_id: "skc_bench".into(),
        client_secret: "bench-secret".into(),
        tokens: 0,
        tokens_file: String::new(),
        redirects: Vec::new(),
        logouts: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--port" => args.port = number(&value)? as u16,
            "--floor-port" => args.floor_port = number(&value)? as u16,
            "--client-id" => args.client_id = value,
            "--client-secret" => args.client_secret = value,
            "--tokens" => args.tokens = number(&value)?,
            "--tokens-file" => args.tokens_file = value,
            "--redirect-uri" => args.redirects.push(value),
            "--post-logout-redirect-uri" => args.logouts.push(value),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.tokens > 0 && args.tokens_file.is_empty() {
        return Err("--tokens needs --tokens-file".into());
    }
    Ok(args)
}

/// Signs `n` distinct user access tokens on every core.
fn mint(emulator: &Emulator, n: usize) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per.min(n.saturating_sub(t * per));
                scope.spawn(move || {
                    (0..count)
                        .filter_map(|_| emulator.mint_access_token(serde_json::json!({})).ok())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn floor(key: &ParsedPublicKey, headers: &HeaderMap) -> Response {
    let verified = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| {
            let (signed, signature) = token.rsplit_once('.')?;
            let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
            key.verify_sig(signed.as_bytes(), &signature).ok()?;
            let payload = signed.split_once('.')?.1;
            URL_SAFE_NO_PAD.decode(payload).ok()
        });
    match verified {
        Some(payload) => ([(header::CONTENT_TYPE, "application/json")], payload).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("bench_support: {err}");
            std::process::exit(2);
        }
    };
    // Tokens and sessions outlive the whole run (no refresh, no expiry
    // midway).
    let mut builder = Emulator::builder()
        .port(args.port)
        .access_token_ttl(std::time::Duration::from_secs(3600))
        .client_id(&args.client_id)
        .client_secret(&args.client_secret);
    for uri in &args.redirects {
        builder = builder.redirect_uri(uri);
    }
    for uri in &args.logouts {
        builder = builder.post_logout_redirect_uri(uri);
    }
    let emulator = match builder.start().await {
        Ok(emulator) => emulator,
        Err(err) => {
            eprintln!("bench_support: {err}");
            std::process::exit(1);
        }
    };
    println!("Scalekit emulator at {}", emulator.url());
    for user in emulator.users() {
        println!("  user: {} ({})", user.email, user.id);
    }
    match emulator.mint_access_token(serde_json::json!({})) {
        Ok(token) => println!("  a user access token: {token}"),
        Err(err) => {
            eprintln!("bench_support: {err}");
            std::process::exit(1);
        }
    }
    if args.tokens > 0 {
        let tokens = mint(&emulator, args.tokens);
        let written = std::fs::File::create(&args.tokens_file).and_then(|mut file| {
            for token in &tokens {
                writeln!(file, "{token}")?;
            }
            Ok(())
        });
        if let Err(err) = written {
            eprintln!("bench_support: {}: {err}", args.tokens_file);
            std::process::exit(1);
        }
        println!("tokens: {}", tokens.len());
    }
    let key = match ParsedPublicKey::new(
        &RSA_PKCS1_2048_8192_SHA256,
        emulator.active_public_key_der(),
    ) {
        Ok(key) => Arc::new(key),
        Err(err) => {
            eprintln!("bench_support: the emulator's key: {err}");
            std::process::exit(1);
        }
    };
    let app = Router::new()
        .route(
            "/floor",
            get(move |headers: HeaderMap| {
                let key = key.clone();
                async move { floor(&key, &headers) }
            }),
        )
        .route("/health", get(|| async { "ok" }));
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.floor_port)).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("bench_support: port {}: {err}", args.floor_port);
            std::process::exit(1);
        }
    };
    println!(
        "floor: http://{}/floor",
        listener
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string())
    );
    if let Err(err) = axum::serve(listener, app).await {
        eprintln!("bench_support: {err}");
    }
}
