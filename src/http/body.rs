//! Reading `/api` request bodies — after the guard has let the request in, so
//! an anonymous or over-limit client never holds a buffer or an upload slot.
//!
//! A declared `Content-Length` over the route's limit is refused before a byte
//! is read; an unsized (chunked) body is read only up to the limit (413
//! `payload_too_large`). The body must keep moving: a body that makes no
//! progress for `stall` is cut with 408 `request_timeout`, and the whole body
//! has the request timeout plus one second per 16 KiB. Analysis capacity (the
//! work on photos, which multiplies a body's size in memory) is taken only once
//! the whole body is here, so slow uploads cannot stall the others.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{
        HeaderValue,
        header::{CONTENT_LENGTH, CONTENT_TYPE},
    },
};
use tokio::sync::Semaphore;

use crate::{
    error::{ApiError, Invalid},
    http::around::Around,
    paths::{self, BodyLimit},
};

/// Bytes per second a body is given on top of the request timeout.
const ALLOWANCE_BYTES_PER_SECOND: u64 = 16 * 1024;

/// The largest JSON body kept aside to explain a parse failure; a larger one (a
/// full-size photo) is not held twice for the rare error message.
const KEEP_FOR_EXPLAINING: usize = 1024 * 1024;

/// The unit of the read budget.
const KIB: usize = 1024;

/// The body of a JSON request as it was read, for explaining a parse error (a
/// request extension the boundary puts in and reads back).
#[derive(Clone, Default)]
pub struct KeptBody(pub Arc<Mutex<Option<Bytes>>>);

/// The body-reading middleware.
#[derive(Clone)]
pub struct BodyReader {
    /// `/api/analyze*` body limit.
    pub analyze_limit: usize,
    /// `/api/chat/voice*` body limit.
    pub voice_limit: usize,
    /// Every other `/api` body limit.
    pub other_limit: usize,
    /// Bound on receiving a whole body (plus the size allowance).
    pub read_timeout: Duration,
    /// Longest time a body may make no progress at all.
    pub stall: Duration,
    /// Analysis capacity, in photos' worth of body: a request takes one permit per
    /// `photo_body_bytes` of its body (at least one, at most all), once it is in.
    pub image_work: Arc<Semaphore>,
    /// How many permits `image_work` was made with.
    pub image_work_permits: usize,
    /// The body one photo at the size limit takes (base64 of `WELD_MAX_IMAGE_BYTES`).
    pub photo_body_bytes: usize,
    /// Analyze bodies being read or waiting for capacity, in KiB: a request takes
    /// its size before reading and gives it back once its analysis starts, so
    /// memory stays bounded under a burst of large uploads, while a few slow
    /// uploads hold only their own share of it.
    pub read_budget: Arc<Semaphore>,
    /// How many KiB `read_budget` was made with.
    pub read_budget_kib: usize,
}

/// `wanted` permits of `semaphore`, waiting for them (`None` only once it is closed).
async fn take(semaphore: &Arc<Semaphore>, wanted: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let wanted = u32::try_from(wanted).unwrap_or(u32::MAX);
    semaphore.clone().acquire_many_owned(wanted).await.ok()
}

/// Why a body was not read.
enum ReadError {
    TooLarge,
    TimedOut,
    Broken,
}

/// Reads a body of at most `limit` bytes that never stalls for `stall` and
/// arrives within `deadline`.
async fn read_body(
    body: poem::Body,
    limit: usize,
    stall: Duration,
    deadline: Duration,
) -> std::result::Result<Bytes, ReadError> {
    let started = tokio::time::Instant::now();
    let mut stream = body.into_bytes_stream();
    let mut buffer = BytesMut::new();
    loop {
        let remaining = deadline.saturating_sub(started.elapsed());
        let wait = stall.min(remaining);
        match tokio::time::timeout(wait, stream.next()).await {
            Err(_) => return Err(ReadError::TimedOut),
            Ok(None) => return Ok(buffer.freeze()),
            Ok(Some(Err(_))) => return Err(ReadError::Broken),
            Ok(Some(Ok(chunk))) => {
                if buffer.len() + chunk.len() > limit {
                    return Err(ReadError::TooLarge);
                }
                if buffer.is_empty() {
                    // One chunk is the whole body more often than not: no copy.
                    buffer = BytesMut::from(chunk);
                } else {
                    buffer.extend_from_slice(&chunk);
                }
            }
        }
    }
}

impl Around for BodyReader {
    async fn around<E: Endpoint>(&self, next: &E, mut req: Box<Request>) -> Result<Response> {
        let kind = paths::body_limit(req.method(), req.uri().path());
        let is_analyze = kind == BodyLimit::Analyze;
        let limit = match kind {
            BodyLimit::Analyze => self.analyze_limit,
            BodyLimit::Voice => self.voice_limit,
            BodyLimit::Other => self.other_limit,
        };
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Ok(ApiError::payload_too_large(limit).response_for(req.headers()));
        }
        let size = declared.map_or(limit as u64, |len| len.min(limit as u64));
        let reading = if is_analyze {
            let wanted = (size as usize)
                .div_ceil(KIB)
                .clamp(1, self.read_budget_kib.max(1));
            take(&self.read_budget, wanted).await
        } else {
            None
        };
        let deadline = self.read_timeout + Duration::from_secs(size / ALLOWANCE_BYTES_PER_SECOND);
        let bytes = match read_body(req.take_body(), limit, self.stall, deadline).await {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge) => {
                return Ok(ApiError::payload_too_large(limit).response_for(req.headers()));
            }
            Err(ReadError::TimedOut) => return Ok(ApiError::request_timeout().response_for(req.headers())),
            Err(ReadError::Broken) => {
                return Ok(ApiError::invalid(Invalid::Unreadable).response_for(req.headers()));
            }
        };
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        // A POST with no body and no type (`curl -X POST …/api/session`) is taken
        // as an empty JSON body: optional bodies work, required ones get a 400
        // naming what is missing.
        let untyped_empty = bytes.is_empty() && !req.headers().contains_key(CONTENT_TYPE);
        if untyped_empty {
            req.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if (is_json || untyped_empty) && bytes.len() <= KEEP_FOR_EXPLAINING {
            if let Some(kept) = req.extensions().get::<KeptBody>() {
                if let Ok(mut slot) = kept.0.lock() {
                    // A copy: the body as read may be a slice of the
                    // connection's read buffer, which would then stay alive for
                    // as long as the request waits for its answer.
                    *slot = Some(Bytes::copy_from_slice(&bytes));
                }
            }
        }
        let body_len = bytes.len();
        req.set_body(bytes);
        // A request of several full-size photos multiplies its body in memory
        // like several requests would: it takes as many permits.
        let _work = if is_analyze {
            let total = self.image_work_permits.max(1);
            let wanted = body_len.div_ceil(self.photo_body_bytes.max(1)).clamp(1, total);
            take(&self.image_work, wanted).await
        } else {
            None
        };
        drop(reading);
        next.call(*req).await.map(IntoResponse::into_response)
    }
}
