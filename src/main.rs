//! The `weld-assistant` binary: parse the command line, load the configuration,
//! then serve, or print the configuration or the spec, or check health.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use weld_assistant::{
    App, Config,
    app::shutdown_signal,
    cli::{self, Cli, Command},
    routes, telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Config => {
            println!("{}", config.redacted_toml().trim_end());
            ExitCode::SUCCESS
        }
        Command::Openapi => {
            print!("{}", routes::spec_json(&config));
            ExitCode::SUCCESS
        }
        Command::Healthcheck => cli::healthcheck(&config).await,
        Command::Serve => serve(config).await,
    }
}

async fn serve(config: Config) -> ExitCode {
    telemetry::init(config.log_format);
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
