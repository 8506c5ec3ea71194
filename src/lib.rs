//! Weld Assistant: one binary that serves the welding-assistant web app and its
//! `/api`, calling Google Gemini on the server so the key never leaves it.
//!
//! Layout, by role (data walks one way: request → guard → handler → upstream
//! client → mapper):
//! - `app`, `routes`, `cli`, `config`, `telemetry`, `metrics`: start-up and wiring
//!   (`telemetry` installs the tracing subscriber only);
//! - `paths`: every path the site serves and what each is (a leaf);
//! - `redact`: outside text made safe to log (a leaf);
//! - `server`: the connection layer (accept loops, per-core workers, hyper's
//!   HTTP/1.1 and HTTP/2 under our settings, graceful drain);
//! - `http`: the edge (request log, client address, boundary, CORS, security
//!   headers, static files), under everything else of the web plumbing;
//! - `guard`: who may spend the key (session, token, client address, limits, budget);
//! - `api`: the operations, thin over `domain` and `gemini`;
//! - `domain`: the assistant's own rules (history, prompts, photos, language);
//! - `gemini`: the upstream client, owning Gemini's wire format;
//! - `quota`: the fair waiting line in front of Gemini's per-minute quota;
//! - `upstream`: what the server last learned about Gemini (health, metrics);
//! - `tls`: HTTPS of its own (ACME or the operator's files), under `app`;
//! - `error`: the one error type at the API boundary.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub(crate) mod api;
pub mod app;
pub mod cli;
pub mod config;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod gemini;
pub mod guard;
pub(crate) mod http;
pub(crate) mod metrics;
pub mod paths;
pub(crate) mod quota;
pub(crate) mod redact;
pub mod routes;
pub mod server;
pub mod telemetry;
pub(crate) mod tls;
pub(crate) mod upstream;

pub use app::App;
pub use config::Config;
