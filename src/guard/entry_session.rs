//! The session that comes with the web app's entry page: with no access code
//! configured, a response the SPA endpoint marks as the entry page
//! (`http::assets::EntryPage`) also sets the session cookie when the request has
//! no valid one, so a page served by this binary — the original app's client
//! included — just works. With an access code, sessions come only from
//! `POST /api/session`.

use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderValue, header::SET_COOKIE},
};

use crate::{
    guard::session::Sessions,
    http::{around::Around, assets::EntryPage},
};

/// The middleware around the SPA endpoint; `None` issues nothing.
#[derive(Clone, Debug)]
pub struct EntrySession {
    issuer: Option<Sessions>,
}

impl EntrySession {
    /// Issues sessions of `issuer` with the entry page, when there is one.
    pub fn new(issuer: Option<Sessions>) -> Self {
        Self { issuer }
    }
}

impl Around for EntrySession {
    async fn around<E: Endpoint>(&self, next: &E, req: Box<Request>) -> Result<Response> {
        let Some(sessions) = &self.issuer else {
            return next.call(*req).await.map(IntoResponse::into_response);
        };
        let has_session = sessions.from_headers(req.headers()).is_some();
        let mut response = next.call(*req).await?.into_response();
        if has_session || response.extensions().get::<EntryPage>().is_none() {
            return Ok(response);
        }
        // Never limited: a class opening the site together from one address
        // must all get a session (a cookie costs one HMAC, no state).
        let (_, value) = sessions.issue();
        if let Ok(cookie) = HeaderValue::from_str(&sessions.set_cookie(&value)) {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        Ok(response)
    }
}
