//! `nexus-local [serve|migrate|seed|generate|<scheduled job>]`: the whole API on one port for
//! development, with every scheduled job running beside it on its deployed rate.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use nexus_local_runner::{States, generate, jobs};
use nexus_shared::db::MIGRATOR;

const USAGE: &str = "usage: nexus-local [serve|migrate [--admin EMAIL]|seed|generate [--tids N] [--assets N] [--tickets N]|sla-check [--now RFC3339]|pm-generate [--now RFC3339]|housekeeping [--now RFC3339]|report-rollup [--now RFC3339]|webhook-dispatch [--now RFC3339]]   \
                     (PORT, DATABASE_URL, NEXUS_JWT_SECRET, NEXUS_WEBHOOK_KEY, NEXUS_MFA_KEY, NEXUS_MFA_REQUIRED_ROLES from the environment)";

/// What the command line asks for.
enum Command {
    Serve,
    /// Migrations, and with an e-mail the first admin, as the deployed `migrate` function does.
    Migrate {
        admin: Option<String>,
    },
    /// The demo preset.
    Seed,
    /// The scale preset.
    Generate(generate::Preset),
    /// One run of a scheduled job at `now` (the current instant if not given).
    Job {
        job: &'static jobs::Job,
        now: Option<DateTime<Utc>>,
    },
}

impl Command {
    /// `None` when the arguments are not understood.
    fn parse(args: &[&str]) -> Option<Command> {
        match args {
            [] | ["serve"] => Some(Command::Serve),
            ["migrate"] => Some(Command::Migrate { admin: None }),
            ["migrate", "--admin", email] => Some(Command::Migrate { admin: Some(email.to_string()) }),
            ["seed"] => Some(Command::Seed),
            ["generate", rest @ ..] => {
                let (mut sites, mut devices, mut tickets) = (10_000, 50_000, 500_000);
                for pair in rest.chunks(2) {
                    let value: i64 = pair.get(1)?.parse().ok().filter(|n| *n > 0)?;
                    match pair[0] {
                        "--tids" => sites = value,
                        "--assets" => devices = value,
                        "--tickets" => tickets = value,
                        _ => return None,
                    }
                }
                Some(Command::Generate(generate::Preset::scale(sites, devices, tickets)))
            }
            [name] => Some(Command::Job { job: jobs::find(name)?, now: None }),
            [name, "--now", instant] => {
                Some(Command::Job { job: jobs::find(name)?, now: Some(parse_instant(instant)?) })
            }
            _ => None,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    nexus_shared::telemetry::init();
    let command = nexus_local_runner::cli::command(USAGE, Command::parse);
    let states = nexus_shared::config::load::<States>().await?;
    let state = &states.core;
    MIGRATOR.run(&state.pool).await?;
    match command {
        Command::Migrate { admin: None } => {}
        Command::Migrate { admin: Some(email) } => first_admin(&states, &email).await?,
        Command::Seed => {
            generate::demo(&state.pool, states.passwords()).await?;
        }
        Command::Generate(preset) => {
            println!("Generating {} sites, {} devices, {} tickets", preset.sites, preset.devices, preset.tickets);
            generate::generate(&state.pool, states.passwords(), preset, |step| println!("{step}")).await?;
        }
        Command::Job { job, now } => {
            let report = (job.run)(states.clone(), now.unwrap_or_else(Utc::now)).await?;
            println!("{report}");
        }
        Command::Serve => {
            let summary = generate::demo(&state.pool, states.passwords()).await?;
            if let Err(error) = create_jobcard_bucket(&states.pdf.jobcards).await {
                tracing::warn!(%error, "the jobcard bucket could not be created: jobcards will fail until S3 is reachable");
            } else if let Err(error) = generate::field::upload_photos(&state.pool, states.pdf.jobcards.as_ref()).await {
                tracing::warn!(%error, "the demo's photos could not be uploaded: their download links will 404");
            }
            for job in &jobs::JOBS {
                tokio::spawn(jobs::run_periodically(job, states.clone()));
            }
            serve(&states, summary).await?;
        }
    }
    Ok(())
}

fn parse_instant(instant: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(instant).ok()?.with_timezone(&Utc))
}

/// Where the local first admin's password goes (in moto's Secrets Manager, started by
/// `scripts/run`) unless `NEXUS_ADMIN_PASSWORD_SECRET_ID` names another secret.
const LOCAL_ADMIN_SECRET: &str = "nexus/admin-initial-password";

/// The deployed migrator's first-admin step, against moto: the secret is created when missing.
async fn first_admin(states: &States, email: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use nexus_migrate::first_admin::{self, AdminOutcome, FirstAdmin};
    let secret = std::env::var("NEXUS_ADMIN_PASSWORD_SECRET_ID").unwrap_or_else(|_| LOCAL_ADMIN_SECRET.into());
    let admin = FirstAdmin { email: nexus_shared::user::Email::parse(email)?, password_secret_id: secret.clone() };
    let client = aws_sdk_secretsmanager::Client::new(&nexus_shared::aws::sdk_config().await);
    if client.describe_secret().secret_id(&secret).send().await.is_err() {
        client.create_secret().name(&secret).secret_string("not set yet").send().await?;
    }
    match first_admin::ensure(&states.core.pool, states.passwords(), &admin, &client).await? {
        AdminOutcome::Created => println!(
            "{} is the admin; its initial password is in the secret {secret} (must be changed at first sign-in):\n  \
             aws --endpoint-url \"$AWS_ENDPOINT_URL\" secretsmanager get-secret-value --secret-id {secret} --query SecretString",
            admin.email.as_str()
        ),
        _ => println!("an active admin exists: nothing done"),
    }
    Ok(())
}

/// Jobcards go to S3 (moto locally, started by `scripts/run`): the bucket is created when missing.
async fn create_jobcard_bucket(
    store: &nexus_shared::storage::S3Store,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if store.client().head_bucket().bucket(store.bucket()).send().await.is_err() {
        let region = store.client().config().region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
        let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region.as_str()))
            .build();
        store.client().create_bucket().bucket(store.bucket()).create_bucket_configuration(location).send().await?;
    }
    Ok(())
}

async fn serve(states: &States, summary: generate::Summary) -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Nexus API on http://{addr}  (OpenAPI: http://{addr}/api/openapi.json)");
    println!(
        "Demo data: {} locations, {} assets, {} tickets, {} PM plans ({} PM tickets generated so far)",
        summary.locations, summary.assets, summary.tickets, summary.pm_plans, summary.pm_tickets
    );
    println!("Demo logins (password {}):", generate::PASSWORD);
    for (email, role) in generate::USERS {
        println!("  {email:<26} {role}");
    }
    for job in &jobs::JOBS {
        println!("Scheduled: {} every {} s", job.name, job.every.as_secs());
    }
    axum::serve(listener, nexus_local_runner::app(states))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
