//! The request log: one line per request (route, method, HTTP version, path,
//! status, latency, request id, client IP) and its count in the metrics, plus an
//! `X-Request-Id` on every response. Never logs bodies, cookies, query strings
//! or keys; the route is a fixed label (`paths::route_label`). A handler may note
//! how long the request waited in line for Gemini's quota (`WaitNote`); the line
//! then says `waited_ms` (or `queued` for a stream answered while it waits).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use ipnet::IpNet;
use poem::{Endpoint, IntoResponse, Request, Response, Result, http::HeaderValue};

use crate::{
    http::{around::Around, client_ip::client_ip},
    metrics::Metrics,
    paths,
};

/// Where a handler notes how long its request waited in line, for the log line.
#[derive(Debug, Clone)]
pub struct WaitNote(Arc<AtomicU64>);

/// Nothing noted.
const NOT_NOTED: u64 = u64::MAX;
/// A stream answered while its question still waits.
const STILL_WAITING: u64 = u64::MAX - 1;

impl WaitNote {
    fn new() -> Self {
        Self(Arc::new(AtomicU64::new(NOT_NOTED)))
    }

    /// The request waited this long before its call went to Gemini.
    pub fn waited(&self, waited: Duration) {
        let ms = u64::try_from(waited.as_millis()).unwrap_or(STILL_WAITING - 1);
        self.0.store(ms.min(STILL_WAITING - 1), Ordering::Relaxed);
    }

    /// The response (a stream) starts while the question still waits.
    pub fn still_waiting(&self) {
        self.0.store(STILL_WAITING, Ordering::Relaxed);
    }

    fn read(&self) -> (Option<u64>, bool) {
        match self.0.load(Ordering::Relaxed) {
            NOT_NOTED => (None, false),
            STILL_WAITING => (None, true),
            ms => (Some(ms), false),
        }
    }
}

/// Logs one line per request (route, method, path, status, latency, request id,
/// client IP) and counts it in the metrics.
#[derive(Debug, Clone)]
pub struct RequestLog {
    metrics: Arc<Metrics>,
    trusted_proxies: Arc<Vec<IpNet>>,
}

impl RequestLog {
    /// The middleware, counting into `metrics`.
    pub fn new(metrics: Arc<Metrics>, trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            metrics,
            trusted_proxies: Arc::new(trusted_proxies),
        }
    }
}

impl Around for RequestLog {
    async fn around<E: Endpoint>(&self, next: &E, req: Box<Request>) -> Result<Response> {
        let started = Instant::now();
        let route = paths::route_label(req.uri().path());
        // What only the log line needs is gathered only when it is written.
        let logged = tracing::enabled!(target: "weld_assistant::request", tracing::Level::INFO).then(|| {
            let peer = req
                .remote_addr()
                .as_socket_addr()
                .map(|a| client_ip(a.ip(), req.headers(), &self.trusted_proxies).to_string())
                .unwrap_or_default();
            (
                req.method().clone(),
                req.version(),
                truncate(req.uri().path(), 200).to_owned(),
                peer,
            )
        });
        let note = WaitNote::new();
        let mut req = req;
        req.extensions_mut().insert(note.clone());
        let result = next.call(*req).await;
        let mut response = match result {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let request_id = format!("{:016x}", rand::random::<u64>());
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        let latency = started.elapsed();
        self.metrics
            .observe_request(route, response.status().as_u16(), latency.as_secs_f64());
        if let Some((method, version, path, peer)) = logged {
            let (waited_ms, queued) = note.read();
            tracing::info!(
                target: "weld_assistant::request",
                route,
                %method,
                http = ?version,
                path = %path,
                status = response.status().as_u16(),
                latency_ms = latency.as_millis() as u64,
                request_id,
                client_ip = %peer,
                waited_ms,
                queued = queued.then_some(true),
                "request"
            );
        }
        Ok(response)
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}
