//! `GET/POST/DELETE /api/session`: the browser's session cookie, and the access
//! code when one is configured.

use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{ApiTags, json_string::JsonString};
use crate::{
    error::ApiError,
    guard::session::rfc3339,
    guard::{ClientIp, Guard, SecretSet},
    guard::{client_ip::address_key, gcra::Decision},
};

/// Sessions.
pub struct SessionApi {
    guard: Guard,
    access_code: Option<SecretSet>,
}

impl SessionApi {
    /// The API over the guard's sessions and the optional access code.
    pub fn new(guard: Guard, access_code: Option<SecretSet>) -> Self {
        Self { guard, access_code }
    }
}

/// The session state.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SessionReply {
    /// Whether the request carries a valid session cookie.
    pub active: bool,
    /// Whether creating a session needs an access code.
    pub access_code_required: bool,
    /// When the session ends (RFC 3339 UTC), when active.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<String>,
}

/// A request for a session.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct CreateSessionRequest {
    /// The access code, when the server requires one.
    #[oai(validator(max_length = 256))]
    pub access_code: Option<JsonString>,
}

/// A created session.
#[derive(Debug, ApiResponse)]
pub enum SessionCreated {
    /// The session; the cookie is in `Set-Cookie` (HttpOnly, SameSite=Strict, Path=/).
    #[oai(status = 200)]
    Created(Json<SessionReply>, #[oai(header = "Set-Cookie")] String),
}

/// An ended session.
#[derive(Debug, ApiResponse)]
pub enum SessionEnded {
    /// The cookie is cleared at `Path=/`.
    #[oai(status = 204)]
    Ended(#[oai(header = "Set-Cookie")] String),
}

#[OpenApi(tag = "ApiTags::Session")]
impl SessionApi {
    /// Session state
    ///
    /// Whether this browser has a session and whether an access code is needed to get one.
    #[oai(path = "/api/session", method = "get", operation_id = "getSession")]
    async fn get(&self, req: &Request) -> Json<SessionReply> {
        let session = self.guard.sessions().from_headers(req.headers());
        Json(SessionReply {
            active: session.is_some(),
            access_code_required: self.access_code.is_some(),
            expires_at: session.map(|s| rfc3339(s.expires)),
        })
    }

    /// Create a session
    ///
    /// Sets the `weld_session` cookie. When the server has an access code, the
    /// request must carry it (`access_code_invalid` otherwise). Attempts are
    /// rate-limited per client.
    #[oai(path = "/api/session", method = "post", operation_id = "createSession")]
    async fn create(
        &self,
        req: &Request,
        body: Json<Option<CreateSessionRequest>>,
    ) -> Result<SessionCreated, ApiError> {
        let ip = req
            .extensions()
            .get::<ClientIp>()
            .map(|c| c.0)
            .unwrap_or(self.guard.client_ip(req));
        if let Some(codes) = &self.access_code {
            // Only guesses are limited, per address: while an address has failed
            // too often, its attempts are refused before the code is compared.
            let address = address_key(ip);
            if let Decision::Limited { retry_after } = self.guard.limits().may_guess(&address).await {
                self.guard.count_rate_limited();
                return Err(ApiError::rate_limited(retry_after));
            }
            let given = body.0.and_then(|b| b.access_code).unwrap_or_default();
            if given.as_str().is_empty() || !codes.contains(given.as_str()) {
                tracing::info!(client_ip = %ip, "access code refused");
                if let Decision::Limited { retry_after } =
                    self.guard.limits().count_failed_guess(&address).await
                {
                    self.guard.count_rate_limited();
                    return Err(ApiError::rate_limited(retry_after));
                }
                return Err(ApiError::access_code_invalid());
            }
        }
        let (session, value) = self.guard.sessions().issue();
        let reply = SessionReply {
            active: true,
            access_code_required: self.access_code.is_some(),
            expires_at: Some(rfc3339(session.expires)),
        };
        Ok(SessionCreated::Created(
            Json(reply),
            self.guard.sessions().set_cookie(&value),
        ))
    }

    /// End the session
    ///
    /// Clears the `weld_session` cookie (at `Path=/`).
    #[oai(path = "/api/session", method = "delete", operation_id = "deleteSession")]
    async fn delete(&self) -> SessionEnded {
        SessionEnded::Ended(self.guard.sessions().clear_cookie())
    }
}
