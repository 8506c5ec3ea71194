//! The HTTP edge: everything between the connection layer (`server`) and the
//! operations — the request log, the `/api` boundary (body limits,
//! the JSON error envelope), the panic catcher, CORS, security headers, the
//! client address behind trusted proxies, the embedded web app, and the plain
//! listener's redirect to HTTPS.
//!
//! Every middleware is written one way: an `around::Around` put in the route
//! tree as `.with(Layer(…))`. Which path is what comes from `crate::paths`.
//!
//! It is the bottom layer of the web plumbing: it must not import `guard`,
//! `api`, `gemini`, `routes` or `telemetry`, and knows neither Gemini nor the
//! guard's rules (the guard builds on it).

pub(crate) mod around;
pub(crate) mod assets;
pub(crate) mod body;
pub(crate) mod boundary;
pub(crate) mod catch_panic;
pub(crate) mod client_ip;
pub(crate) mod cors;
pub(crate) mod https_redirect;
pub(crate) mod request_log;
pub(crate) mod schema_check;
pub(crate) mod security;
