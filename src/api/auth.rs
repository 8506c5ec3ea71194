//! The security schemes of the AI operations, as documented in the OpenAPI
//! document. The `Guard` middleware does the real check before the operation
//! runs; these checkers only confirm that it let the request in.

use poem::Request;
use poem_openapi::{SecurityScheme, auth::ApiKey};

use crate::guard::Caller;

/// The session cookie `weld_session`, issued by `POST /api/session` or with the page.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "weld_session",
    key_in = "cookie",
    checker = "admitted"
)]
pub struct SessionCookie(#[allow(dead_code)] Caller);

/// A token of `WELD_API_TOKENS`, for scripts and frontends on another origin.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "X-Proxy-Token",
    key_in = "header",
    checker = "admitted"
)]
pub struct ProxyToken(#[allow(dead_code)] Caller);

/// Either scheme.
#[derive(SecurityScheme)]
#[allow(dead_code)]
pub enum AiAuth {
    /// A browser session.
    Cookie(SessionCookie),
    /// A script's token.
    Token(ProxyToken),
}

async fn admitted(req: &Request, _: ApiKey) -> Option<Caller> {
    req.extensions().get::<Caller>().cloned()
}
