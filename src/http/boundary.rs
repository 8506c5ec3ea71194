//! The `/api` boundary: body limits and the JSON error envelope.
//!
//! A declared `Content-Length` over the route's limit is refused before a byte of
//! the body is read; an unsized (chunked) body is read only up to the limit.
//! Either way: 413 `payload_too_large`. Every error that leaves an operation —
//! ours (`ApiError`), or poem's own (bad JSON, content type, 404, 405) — becomes
//! the flat JSON of docs/api.md here, where the request's `Accept-Language` is
//! known: an error that carries the request's `language` is written in it, any
//! other follows `Accept-Language`, else Russian. A JSON body poem-openapi refused
//! is checked against the OpenAPI schema so the message names the field (in the
//! body's own `language` when it has a valid one).

use std::sync::Arc;

use bytes::Bytes;
use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::header::{ACCEPT_LANGUAGE, CONTENT_LENGTH, CONTENT_TYPE},
};

use crate::{
    error::{self, ApiError, Invalid},
    http::schema_check,
};

/// The `/api` boundary middleware.
#[derive(Debug, Clone)]
pub struct ApiBoundary {
    /// `/api/analyze*` body limit.
    pub analyze_limit: usize,
    /// Every other `/api` body limit.
    pub other_limit: usize,
    /// The OpenAPI document, for field diagnosis.
    pub spec: Arc<serde_json::Value>,
    /// Bound on receiving a body.
    pub read_timeout: std::time::Duration,
    /// Analyze requests read and processed at once; the rest wait their turn, so
    /// a burst of large photos cannot take the memory of a small VPS.
    pub image_work: Arc<tokio::sync::Semaphore>,
}

impl ApiBoundary {
    fn limit_for(&self, path: &str) -> usize {
        if path.starts_with("/api/analyze") {
            self.analyze_limit
        } else {
            self.other_limit
        }
    }
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
        let accept_language = req
            .headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let accept = accept_language.as_deref();
        let limit = self.boundary.limit_for(&path);
        let _turn = if path.starts_with("/api/analyze") && req.method() == poem::http::Method::POST {
            self.boundary.image_work.clone().acquire_owned().await.ok()
        } else {
            None
        };
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Ok(ApiError::payload_too_large(limit).response(accept));
        }
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        // The body is read here, whole and bounded in size and time, so a client
        // that trickles it is cut off and chunked uploads obey the limit too; JSON
        // bodies are kept (a cheap shared copy) to explain a parse failure.
        let mut kept: Option<Bytes> = None;
        // Bounded by the request timeout plus time for the size at 16 KiB/s, so a
        // slow phone uploading a large photo gets through and a trickle does not.
        let size = declared.map_or(limit as u64, |len| len.min(limit as u64));
        let allowance = self.boundary.read_timeout + std::time::Duration::from_secs(size / (16 * 1024));
        let read = tokio::time::timeout(allowance, req.take_body().into_bytes_limit(limit)).await;
        match read {
            Ok(Ok(bytes)) => {
                // A POST with no body and no type (`curl -X POST …/api/session`) is
                // taken as an empty JSON body: optional bodies work, required ones
                // get a 400 naming what is missing.
                if bytes.is_empty() && !req.headers().contains_key(CONTENT_TYPE) {
                    req.headers_mut().insert(
                        CONTENT_TYPE,
                        poem::http::HeaderValue::from_static("application/json"),
                    );
                    kept = Some(bytes.clone());
                }
                if is_json {
                    kept = Some(bytes.clone());
                }
                req.set_body(bytes);
            }
            Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => {
                return Ok(ApiError::payload_too_large(limit).response(accept));
            }
            Ok(Err(_)) => return Ok(ApiError::invalid(Invalid::Unreadable).response(accept)),
            Err(_) => return Ok(ApiError::request_timeout().response(accept)),
        }
        let error = match self.inner.call(req).await {
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
            if let Some(body) = kept {
                if let Some(problem) = schema_check::explain(&self.boundary.spec, &path, &body) {
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
