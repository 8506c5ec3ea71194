//! The command line: `serve` (the default), `config`, `openapi`, `healthcheck`.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Weld Assistant: a welding-expert chat and weld photo analysis, served with Google
/// Gemini behind one origin.
#[derive(Debug, Parser)]
#[command(name = "weld-assistant", version, about)]
pub struct Cli {
    /// A TOML configuration file (keys are the environment names, lower-case,
    /// without `WELD_`). Environment variables override it.
    #[arg(long, global = true, env = "WELD_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Print the effective configuration as TOML, secrets redacted.
    Config {
        /// Print instead the reference of every setting as the README's markdown
        /// table (env name, TOML key, default, valid values, meaning).
        #[arg(long)]
        reference: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Call /api/health on the configured listen address; exit 0 when healthy.
    Healthcheck,
}

/// Runs `healthcheck`: GET `/api/health` on the listen address (0.0.0.0 → loopback).
pub async fn healthcheck(config: &Config) -> ExitCode {
    let mut address = config.listen;
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{address}/api/health");
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => {
            let body = r.text().await.unwrap_or_default();
            println!("{body}");
            ExitCode::SUCCESS
        }
        Ok(r) => {
            eprintln!("healthcheck: {url} answered {}", r.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("healthcheck: {url}: {}", e.without_url());
            ExitCode::FAILURE
        }
    }
}
