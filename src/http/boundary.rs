//! The `/api` boundary: body limits and the JSON error envelope.
//!
//! The body itself is read further in, after the guard (`http::body`), which
//! leaves a JSON body here (`KeptBody`) to explain a parse failure. Every error
//! that leaves an operation —
//! ours (`ApiError`), or poem's own (bad JSON, content type, 404, 405) — becomes
//! the flat JSON of docs/api.md here, where the request's `Accept-Language` is
//! known: an error that carries the request's `language` is written in it, any
//! other follows `Accept-Language`, else Russian. A JSON body poem-openapi refused
//! is checked against the OpenAPI schema so the message names the field (in the
//! body's own `language` when it has a valid one).

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Request, Response, Result, http::header::ACCEPT_LANGUAGE};

use crate::{
    error::{self, ApiError},
    http::{around::Around, body::KeptBody, schema_check},
};

/// The `/api` boundary middleware.
#[derive(Debug, Clone)]
pub struct ApiBoundary {
    /// The OpenAPI document, for field diagnosis.
    pub spec: Arc<serde_json::Value>,
}

impl Around for ApiBoundary {
    async fn around<E: Endpoint>(&self, next: &E, mut req: Box<Request>) -> Result<Response> {
        let path = req.uri().path().to_owned();
        let accept_language = req
            .headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let accept = accept_language.as_deref();
        let kept = KeptBody::default();
        req.extensions_mut().insert(kept.clone());
        let error = match next.call(*req).await {
            Ok(response) => return Ok(response.into_response()),
            Err(error) => error,
        };
        if error.is_from_response() {
            // A response someone else made on purpose: passed on as it is.
            return Ok(error.into_response());
        }
        let mut api = error::from_poem(&error);
        if error.status().as_u16() == 400 && !error.is::<ApiError>() {
            // poem-openapi refused the body: say which field, in the body's language.
            if let Some(body) = kept.0.lock().ok().and_then(|mut slot| slot.take()) {
                if let Some(problem) = schema_check::explain(&self.spec, &path, &body) {
                    api = ApiError::invalid(problem);
                }
                if let Some(language) = schema_check::body_language(&body) {
                    api = api.in_language(language);
                }
            }
        }
        Ok(api.response(accept))
    }
}
