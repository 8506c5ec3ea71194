//! Logging: tracing with text or JSON lines, and one line per request.
//! Never logs bodies, cookies, query strings or keys.

use std::{sync::Arc, time::Instant};

use ipnet::IpNet;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing_subscriber::{EnvFilter, fmt};

use crate::{config::LogFormat, guard::client_ip::client_ip, metrics::Metrics};

/// Installs the global subscriber (`RUST_LOG` overrides the default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
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

impl<E: Endpoint> Middleware<E> for RequestLog {
    type Output = RequestLogEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestLogEndpoint {
            inner,
            log: self.clone(),
        }
    }
}

/// The endpoint wrapped by `RequestLog`.
pub struct RequestLogEndpoint<E> {
    inner: E,
    log: RequestLog,
}

/// The route a path belongs to: a fixed label, never user input.
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/api/health" => "/api/health",
        "/api/session" => "/api/session",
        "/api/chat" => "/api/chat",
        "/api/chat/stream" => "/api/chat/stream",
        "/api/analyze" => "/api/analyze",
        "/api/analyze/stream" => "/api/analyze/stream",
        "/openapi.json" => "/openapi.json",
        "/metrics" => "/metrics",
        p if p == "/docs" || p.starts_with("/docs/") => "/docs",
        p if p.starts_with("/api/") || p == "/api" => "/api/other",
        p if p.starts_with("/assets/") => "/assets",
        _ => "/ (app)",
    }
}

impl<E: Endpoint> Endpoint for RequestLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let request_id = format!("{:016x}", rand::random::<u64>());
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let peer = req
            .remote_addr()
            .as_socket_addr()
            .map(|a| client_ip(a.ip(), req.headers(), &self.log.trusted_proxies).to_string())
            .unwrap_or_default();
        let route = route_label(&path);
        let result = self.inner.call(req).await;
        let mut response = match result {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        if let Ok(value) = request_id.parse() {
            response.headers_mut().insert("x-request-id", value);
        }
        let latency = started.elapsed();
        self.log
            .metrics
            .observe_request(route, response.status().as_u16(), latency.as_secs_f64());
        tracing::info!(
            target: "weld_assistant::request",
            route,
            %method,
            path = %truncate(&path, 200),
            status = response.status().as_u16(),
            latency_ms = latency.as_millis() as u64,
            request_id,
            client_ip = %peer,
            "request"
        );
        Ok(response)
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}
