//! Logging: tracing with text or JSON lines, one line per request, and the one
//! redaction of outside text (an upstream's messages) before it is logged.
//! Never logs bodies, cookies, query strings or keys.

use std::{sync::Arc, time::Instant};

use ipnet::IpNet;

use poem::{Endpoint, IntoResponse, Request, Response, Result, http::HeaderValue};
use tracing_subscriber::{EnvFilter, fmt};

use crate::{config::LogFormat, guard::client_ip::client_ip, http::around::Around, metrics::Metrics, paths};

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

/// What a redacted secret is replaced with.
const REDACTED: &str = "[redacted]";

/// The most characters of outside text a log field carries.
pub(crate) const MAX_OUTSIDE_TEXT: usize = 300;

/// Text from outside (an upstream's error message or finish message) made safe
/// to log: every one of `secrets`, and anything shaped like a Google API key
/// (`AIza` and 20 or more of `[0-9A-Za-z_-]`), becomes `[redacted]`; the result
/// is capped at `MAX_OUTSIDE_TEXT` characters (after redaction, so a cut can
/// never leave half a secret).
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    let mut out = redact_google_keys(&out);
    if let Some((cut, _)) = out.char_indices().nth(MAX_OUTSIDE_TEXT) {
        out.truncate(cut);
        out.push('…');
    }
    out
}

fn redact_google_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("AIza") {
        let tail = &rest[at + 4..];
        let run = tail
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .count();
        if run >= 20 {
            out.push_str(&rest[..at]);
            out.push_str(REDACTED);
            rest = &tail[run..];
        } else {
            out.push_str(&rest[..at + 4]);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_secrets_and_google_shaped_keys_are_redacted() {
        assert_eq!(
            redact("key s3cr3t-value and s3cr3t-value again", &["s3cr3t-value", ""]),
            "key [redacted] and [redacted] again"
        );
        assert_eq!(
            redact("x AIzaSyD-abcdefghijklmnopqrstuvwxyz012345, y", &[]),
            "x [redacted], y"
        );
        // Too short to be a key, and not a configured secret: kept.
        assert_eq!(redact("AIza-short AIzaAIza", &[]), "AIza-short AIzaAIza");
        assert_eq!(redact("ключ: AIzaЯ", &[]), "ключ: AIzaЯ");
    }

    #[test]
    fn long_text_is_capped_on_a_character_boundary() {
        let long = "ж".repeat(MAX_OUTSIDE_TEXT + 50);
        let capped = redact(&long, &[]);
        assert_eq!(capped.chars().count(), MAX_OUTSIDE_TEXT + 1);
        assert!(capped.ends_with('…'));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_secret_anywhere_never_survives(
                before in "\\PC{0,400}",
                after in "\\PC{0,400}",
                secret in "[!-~]{8,40}",
                google in "[0-9A-Za-z_-]{20,45}",
            ) {
                let text = format!("{before}{secret}{after}AIza{google}{before}");
                let out = redact(&text, &[&secret]);
                prop_assert!(!out.contains(&secret), "{out}");
                prop_assert!(!out.contains(&format!("AIza{google}")), "{out}");
                prop_assert!(out.chars().count() <= MAX_OUTSIDE_TEXT + 1);
            }
        }
    }
}
