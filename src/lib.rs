//! Weld Assistant: one binary that serves the welding-assistant web app and its
//! `/api`, calling Google Gemini on the server so the key never leaves it.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod app;
pub mod assets;
pub mod boundary;
pub mod budget;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod cors;
pub mod domain;
pub mod error;
pub mod gemini;
pub mod guard;
pub mod listener;
pub mod metrics;
pub mod rate_limit;
pub mod routes;
pub mod schema_check;
pub mod security;
pub mod session;
pub mod telemetry;

pub use app::App;
pub use config::Config;
