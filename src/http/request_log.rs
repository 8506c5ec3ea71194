//! The request log: one line per request (route, method, HTTP version, path,
//! status, latency, request id, client IP) and its count in the metrics, plus an
//! `X-Request-Id` on every response. Never logs bodies, cookies, query strings
//! or keys; the route is a fixed label (`paths::route_label`).

use std::{sync::Arc, time::Instant};

use ipnet::IpNet;
use poem::{Endpoint, IntoResponse, Request, Response, Result, http::HeaderValue};

use crate::{
    http::{around::Around, client_ip::client_ip},
    metrics::Metrics,
    paths,
};

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
