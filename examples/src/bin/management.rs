//! The management API: `cargo run -p scalekit-examples --bin management`.
//!
//! Creates an organization, adds a user to it with the `admin` role, prints an
//! admin portal link and lists the organization's users. Then roles and
//! permissions: a permission, a role extending `member` with it, given to the
//! user (against the emulator, the user then signs in on its hosted page and
//! the access token shows the role's effective permissions). Then M2M: an
//! organization client, a token from its plain secret, and a call to the M2M
//! example's scope-guarded `GET /api/reports` with it. With no
//! `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator starts in-process and the
//! calls go to it; against a real environment, set
//! `SCALEKIT_ENVIRONMENT_URL`, `SCALEKIT_CLIENT_ID` and
//! `SCALEKIT_CLIENT_SECRET` (the organization and user it creates stay there).

use scalekit_core::{AccessTokenClaims, Scalekit, ScalekitConfig};
use scalekit_emulator::Emulator;
use scalekit_examples::management::{
    EXTENDED_ROLE, ROLE, organization_client_calls_the_m2m_example, roles_and_permissions, run,
};
use scalekit_management::{ManagementClient, ManagementError};

/// Where the emulator sends the sign-in's code (nothing listens there: the
/// code is read from the redirect).
const CALLBACK: &str = "http://localhost:3000/auth/callback";

/// Signs `user_id` in on the emulator's hosted page over plain HTTP and
/// exchanges the code: the access token.
async fn sign_in_on_the_emulator(
    emulator: &Emulator,
    user_id: &str,
) -> Result<String, scalekit_examples::Error> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = http
        .post(format!("{}/oauth/authorize", emulator.url()))
        .form(&[
            ("response_type", "code"),
            ("client_id", emulator.client_id()),
            ("redirect_uri", CALLBACK),
            ("scope", "openid email"),
            ("state", "example"),
            ("user_id", user_id),
        ])
        .send()
        .await?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("the sign-in did not redirect")?;
    let code = url::Url::parse(location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("the sign-in answered no code")?;
    let answer: serde_json::Value = http
        .post(format!("{}/oauth/token", emulator.url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("client_id", emulator.client_id()),
            ("client_secret", emulator.client_secret()),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(answer["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned())
}

#[tokio::main]
async fn main() -> Result<(), scalekit_examples::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    let configured = std::env::var_os("SCALEKIT_ENVIRONMENT_URL").is_some()
        || std::env::var_os("SCALEKIT_ENV_URL").is_some();
    let (emulator, config) = if configured {
        (None, ScalekitConfig::from_env()?)
    } else {
        let emulator = Emulator::start().await?;
        emulator.register_redirect_uri(CALLBACK);
        println!("Emulated Scalekit environment at {}", emulator.url());
        let config = ScalekitConfig::new(
            emulator.url(),
            emulator.client_id(),
            emulator.client_secret(),
        )?;
        (Some(emulator), config)
    };
    let scalekit = Scalekit::new(config.clone())?;
    let client = ManagementClient::new(&scalekit)?;

    // A fresh address each run: emails are unique in an environment.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let email = format!("ada.{stamp}@acme-rockets.example");

    let report = match run(&client, "Acme Rockets", &email).await {
        Ok(report) => report,
        Err(ManagementError::Api {
            status,
            code,
            message,
            details,
        }) => {
            eprintln!("The management API refused: HTTP {status} {code}: {message}");
            for detail in details {
                eprintln!(
                    "  {} {}",
                    detail.type_url.unwrap_or_default(),
                    detail.error_code.unwrap_or_default()
                );
            }
            std::process::exit(1);
        }
        Err(err) => return Err(err.into()),
    };

    println!(
        "\nOrganization {} ({})",
        report.organization.display_name, report.organization.id
    );
    println!(
        "User {} ({}) with role {ROLE}",
        report.user.email, report.user.id
    );
    println!("Admin portal link: {}", report.portal_link.location);
    if let Some(expires) = &report.portal_link.expire_time {
        println!("  valid until {expires}");
    }
    println!("\nUsers of {}:", report.organization.display_name);
    for member in &report.members {
        let roles: Vec<&str> = member
            .membership(&report.organization.id)
            .map(|m| m.role_names().collect())
            .unwrap_or_default();
        println!(
            "  {:<40} {:<24} {}",
            member.email,
            member.id,
            roles.join(", ")
        );
    }

    // Roles and permissions.
    let org_id = &report.organization.id;
    let roles = roles_and_permissions(&client, org_id, &report.user.id).await?;
    println!(
        "\nRole {} extends {}: effective permissions {}",
        roles.role.name,
        roles.role.extends.as_deref().unwrap_or("nothing"),
        roles.effective.join(", ")
    );
    println!(
        "{} now holds {}",
        report.user.email,
        roles.user_roles.join(", ")
    );
    if let Some(emulator) = &emulator {
        let token = sign_in_on_the_emulator(emulator, &report.user.id).await?;
        let claims: AccessTokenClaims = scalekit.validate_token(&token).await?;
        println!(
            "Signed in: the access token has roles [{}] and permissions [{}]",
            claims.roles.join(", "),
            claims.permissions.join(", ")
        );
        if !claims.roles.iter().any(|r| r == EXTENDED_ROLE) {
            return Err(format!("the access token lacks the {EXTENDED_ROLE} role").into());
        }
    }

    // M2M: an organization client calls the M2M example's API.
    let m2m = organization_client_calls_the_m2m_example(&client, &config, org_id).await?;
    println!(
        "\nOrganization client {} ({}) called GET /api/reports: {}",
        m2m.client.name, m2m.client.client_id, m2m.answer
    );
    // The emulator, if one was started, stops here.
    drop(emulator);
    Ok(())
}
