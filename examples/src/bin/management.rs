//! The management API: `cargo run -p scalekit-examples --bin management`.
//!
//! Creates an organization, adds a user to it with the `admin` role, prints an
//! admin portal link and lists the organization's users. With no
//! `SCALEKIT_ENVIRONMENT_URL`, a Scalekit emulator starts in-process and the
//! calls go to it; against a real environment, set
//! `SCALEKIT_ENVIRONMENT_URL`, `SCALEKIT_CLIENT_ID` and
//! `SCALEKIT_CLIENT_SECRET` (the organization and user it creates stay there).

use scalekit_core::{Scalekit, ScalekitConfig};
use scalekit_emulator::Emulator;
use scalekit_examples::management::{ROLE, run};
use scalekit_management::{ManagementClient, ManagementError};

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
        println!("Emulated Scalekit environment at {}", emulator.url());
        let config = ScalekitConfig::new(
            emulator.url(),
            emulator.client_id(),
            emulator.client_secret(),
        )?;
        (Some(emulator), config)
    };
    let client = ManagementClient::new(&Scalekit::new(config)?)?;

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
    // The emulator, if one was started, stops here.
    drop(emulator);
    Ok(())
}
