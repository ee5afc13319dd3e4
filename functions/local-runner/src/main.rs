//! `nexus-local [serve|migrate|seed]`: runs the whole API on one port for development.

use std::net::SocketAddr;

use nexus_shared::AppState;
use nexus_shared::db::MIGRATOR;

const USAGE: &str =
    "usage: nexus-local [serve|migrate|seed]   (PORT, DATABASE_URL, NEXUS_JWT_SECRET from the environment)";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    nexus_shared::telemetry::init();
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let state = AppState::from_env()?;
    match command.as_str() {
        "migrate" => MIGRATOR.run(&state.pool).await?,
        "seed" => {
            MIGRATOR.run(&state.pool).await?;
            nexus_local_runner::demo::seed(&state).await?;
        }
        "serve" => {
            MIGRATOR.run(&state.pool).await?;
            let summary = nexus_local_runner::demo::seed(&state).await?;
            serve(state, summary).await?;
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
    Ok(())
}

async fn serve(state: AppState, summary: nexus_local_runner::demo::Summary) -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Nexus API on http://{addr}  (OpenAPI: http://{addr}/api/openapi.json)");
    println!("Demo data: {} locations, {} assets", summary.locations, summary.assets);
    println!("Demo logins (password {}):", nexus_local_runner::demo::PASSWORD);
    for (email, role) in nexus_local_runner::demo::USERS {
        println!("  {email:<26} {role}");
    }
    axum::serve(listener, nexus_local_runner::app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
