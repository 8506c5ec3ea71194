//! The HTTP edge: everything between the socket and the operations — the
//! listener's head deadline, the `/api` boundary (body limits, the JSON error
//! envelope), the panic catcher, CORS, security headers and the embedded web app. Nothing here
//! knows Gemini or the guard's rules.

pub(crate) mod around;
pub(crate) mod assets;
pub(crate) mod body;
pub(crate) mod boundary;
pub(crate) mod catch_panic;
pub(crate) mod cors;
pub(crate) mod listener;
pub(crate) mod schema_check;
pub(crate) mod security;
