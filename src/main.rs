use clap::Parser;

// Less fragmentation than the system allocator under many small per-request allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use grantd::cli::{run_admin, Cli, Command};
use grantd::startup::Application;
use grantd::telemetry;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    telemetry::init(cli.settings.log_format, &filter, std::io::stderr);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.settings).await,
        Command::Migrate => grantd::state::migrate(&cli.settings)
            .await
            .map(|_| tracing::info!("migrations are up to date")),
        admin => run_admin(&cli.settings, admin)
            .await
            .map(|output| println!("{output:#}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "grantd failed");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(settings: grantd::config::Settings) -> anyhow::Result<()> {
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}
