//! The `weld-assistant` binary: parse the command line, load the configuration,
//! then serve, or print the configuration or the spec, or check health.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use weld_assistant::{
    App, Config,
    app::shutdown_signal,
    cli::{self, Cli, Command},
    config::{self, Loaded},
    routes, telemetry,
};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Config { reference: true } = command {
        print!("{}", config::markdown_table());
        return ExitCode::SUCCESS;
    }
    let Loaded { config, warnings } = match Config::load(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    if let Command::Serve = command {
        return serve(config, warnings).await;
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    match command {
        Command::Config { .. } => {
            println!("{}", config.redacted_toml().trim_end());
            ExitCode::SUCCESS
        }
        Command::Openapi => {
            print!("{}", routes::spec_json(&config));
            ExitCode::SUCCESS
        }
        Command::Healthcheck | Command::Serve => cli::healthcheck(&config).await,
    }
}

async fn serve(config: Config, warnings: Vec<String>) -> ExitCode {
    telemetry::init(config.log_format);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    if config.session_secret.is_none() {
        tracing::warn!("WELD_SESSION_SECRET is not set: a random secret is used and sessions end at restart");
    }
    let app = match App::build(config).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}
