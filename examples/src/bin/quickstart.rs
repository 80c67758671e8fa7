//! Quickstart: validate Scalekit tokens, with no account needed.
//!
//! With `SCALEKIT_ENVIRONMENT_URL` unset, an emulated Scalekit environment is
//! started in-process on 127.0.0.1. The program then
//!
//! 1. obtains an M2M token through the `client_credentials` grant,
//! 2. validates it against the environment's JWKS and checks its scopes,
//! 3. validates a user access token (minted by the emulator), and
//! 4. shows the RFC 6750 answer an API gives to an expired token.
//!
//! Against a real environment, set `SCALEKIT_ENVIRONMENT_URL`,
//! `SCALEKIT_CLIENT_ID`, `SCALEKIT_CLIENT_SECRET`; steps 1–2 then use those
//! credentials and steps 3–4, which need the emulator, are skipped.
//!
//! Run it with `cargo run -p scalekit-examples --bin quickstart`.

use scalekit_core::authz::Requirement;
use scalekit_core::outcome::Challenge;
use scalekit_core::{AccessTokenClaims, Endpoint, Scalekit, ScalekitConfig};
use scalekit_emulator::{Emulator, M2mClient};
use serde_json::{Value, json};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    // 0. The environment: real when configured, emulated otherwise.
    let (emulator, config, m2m) = if std::env::var_os("SCALEKIT_ENVIRONMENT_URL").is_some()
        || std::env::var_os("SCALEKIT_ENV_URL").is_some()
    {
        let config = ScalekitConfig::from_env()?;
        let m2m = (
            config.client_id().to_owned(),
            config.client_secret().expose().to_owned(),
        );
        (None, config, m2m)
    } else {
        let emulator = Emulator::start().await?;
        let org = emulator.test_user().organization_id.clone();
        emulator.register_m2m_client(
            M2mClient::new("m2morg_quickstart", "quickstart-secret", org)
                .scopes(["deploy:write", "logs:read"]),
        );
        println!("Emulated Scalekit environment at {}", emulator.url());
        println!(
            "  test user: {} ({})",
            emulator.test_user().email,
            emulator.test_user().id
        );
        let config = ScalekitConfig::new(
            emulator.url(),
            emulator.client_id(),
            emulator.client_secret(),
        )?;
        let m2m = (
            "m2morg_quickstart".to_owned(),
            "quickstart-secret".to_owned(),
        );
        (Some(emulator), config, m2m)
    };
    // Tokens are accepted for the client id (user tokens) and for the API
    // identifier the M2M client asks for: the audience is always checked.
    const API: &str = "https://api.quickstart.example";
    let scalekit = Scalekit::new(config)?.accept_audiences([API]);

    // 1. An M2M token from the token endpoint, for the API.
    let response: Value = scalekit
        .http_client()
        .post(scalekit.config().endpoint_url(Endpoint::Token))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", m2m.0.as_str()),
            ("client_secret", m2m.1.as_str()),
            ("audience", API),
        ])
        .send()
        .await?
        .json()
        .await?;
    let Some(token) = response["access_token"].as_str() else {
        return Err(format!("the token endpoint refused: {}", response["error"]).into());
    };

    // 2. Validate it and check scopes.
    let claims: AccessTokenClaims = scalekit.validate_token(token).await?;
    println!("\nM2M token validated:");
    println!(
        "  client_id = {:?}",
        claims.client_id.as_deref().unwrap_or("-")
    );
    println!("  oid       = {:?}", claims.oid.as_deref().unwrap_or("-"));
    println!(
        "  scopes    = {:?}",
        claims.scopes().iter().collect::<Vec<_>>()
    );
    for need in ["deploy:write", "billing:read"] {
        let verdict = match Requirement::scopes_all([need]).check_claims(&claims) {
            Ok(()) => "granted".to_owned(),
            Err(missing) => {
                let answer = missing.outcome(&Challenge::new("quickstart"));
                format!("refused with HTTP {}", answer.status)
            }
        };
        println!("  scope {need:<13} {verdict}");
    }

    let Some(emulator) = emulator else {
        return Ok(());
    };

    // 3. A user access token.
    let user_token = emulator.mint_access_token(json!({"permissions": ["projects:read"]}))?;
    let user: AccessTokenClaims = scalekit.validate_token(&user_token).await?;
    println!(
        "\nUser token validated: sub = {}, roles = {:?}",
        user.sub.as_deref().unwrap_or("-"),
        user.roles
    );

    // 4. What an API answers to an expired token.
    let expired = emulator.mint_access_token(json!({"exp": 1_000_000_000}))?;
    if let Err(err) = scalekit.validate_token::<AccessTokenClaims>(&expired).await {
        let answer = err.outcome(&Challenge::new("quickstart"));
        println!("\nAn expired token is refused ({err}):");
        println!("  HTTP {}", answer.status);
        for (name, value) in &answer.headers {
            println!("  {name}: {value}");
        }
        println!("  {}", answer.body_json());
    }
    Ok(())
}
