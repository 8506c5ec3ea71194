//! The `/api` boundary: the JSON error envelope.
//!
//! Every error that leaves an operation —
//! ours, or poem's own (bad JSON, content type, 404, 405) — becomes the flat JSON
//! of DESIGN.md; a JSON body poem-openapi refused is checked against the OpenAPI
//! schema so the message names the field.

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use crate::{
    error::{ApiError, json_error_response},
    http::{body::KeptBody, schema_check},
};

/// The `/api` boundary middleware.
#[derive(Debug, Clone)]
pub struct ApiBoundary {
    /// The OpenAPI document, for field diagnosis.
    pub spec: Arc<serde_json::Value>,
}

impl<E: Endpoint> Middleware<E> for ApiBoundary {
    type Output = ApiBoundaryEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ApiBoundaryEndpoint {
            inner,
            boundary: self.clone(),
        }
    }
}

/// The endpoint wrapped by `ApiBoundary`.
pub struct ApiBoundaryEndpoint<E> {
    inner: E,
    boundary: ApiBoundary,
}

impl<E: Endpoint> Endpoint for ApiBoundaryEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_owned();
        // The body is read further in, after the guard (`http::body`); it leaves
        // a JSON body here so a parse failure can be explained.
        let kept = KeptBody::default();
        req.extensions_mut().insert(kept.clone());
        match self.inner.call(req).await {
            Ok(response) => Ok(response.into_response()),
            Err(error) if error.status().as_u16() == 400 && !error.is_from_response() => {
                let body = kept.0.lock().ok().and_then(|mut slot| slot.take());
                let explained =
                    body.and_then(|body| schema_check::explain(&self.boundary.spec, &path, &body));
                Ok(match explained {
                    Some(message) => ApiError::invalid(message).into_response(),
                    None => json_error_response(error),
                })
            }
            Err(error) => Ok(json_error_response(error)),
        }
    }
}
