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
pub struct SessionCookie(Caller);

/// A token of `WELD_API_TOKENS`, for scripts and frontends on another origin.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "X-Proxy-Token",
    key_in = "header",
    checker = "admitted"
)]
pub struct ProxyToken(Caller);

/// Either scheme.
#[derive(SecurityScheme)]
pub enum AiAuth {
    /// A browser session.
    Cookie(SessionCookie),
    /// A script's token.
    Token(ProxyToken),
}

impl AiAuth {
    /// The person the request is from (one session, or one token): the waiting
    /// line is fair between persons.
    pub fn person(&self) -> String {
        match self {
            AiAuth::Cookie(SessionCookie(caller)) | AiAuth::Token(ProxyToken(caller)) => caller.person_key(),
        }
    }
}

async fn admitted(req: &Request, _: ApiKey) -> Option<Caller> {
    req.extensions().get::<Caller>().cloned()
}
