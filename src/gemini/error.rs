//! What can go wrong with a Gemini call, and the classification of Gemini's error
//! bodies. Classification reads `error.status`, `details` and the message, never
//! the HTTP code alone: a bad key and a geo-block are both 400.
//!
//! Also the `Redactor`: text that came from upstream (messages, reasons) is
//! passed through it before it is logged or returned, so an upstream that echoes
//! the key cannot put it in a log line or an answer.

use std::{sync::Arc, time::Duration};

use secrecy::{ExposeSecret, SecretString};

use super::wire::ErrorEnvelope;
use crate::{redact::redact, upstream::UpstreamState};

/// A failed Gemini call. `Display` is for logs: it never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeminiError {
    /// No key is configured.
    #[error("no Gemini API key is configured")]
    NotConfigured,
    /// Google refuses calls from the server's location.
    #[error("Gemini refused the server's location: {message}")]
    Region { message: String },
    /// Google rejected the key (invalid, leaked, missing, restricted, API disabled).
    #[error("Gemini rejected the API key: {reason}")]
    Auth { reason: String },
    /// Over quota (HTTP 429 / RESOURCE_EXHAUSTED).
    #[error("Gemini quota exhausted (retry after {retry_after:?})")]
    Quota { retry_after: Option<Duration> },
    /// The day's quota is gone (a `…PerDay…` quota id): back at midnight Pacific.
    #[error("Gemini's daily quota is exhausted")]
    DailyQuota,
    /// Overloaded or failing (500, 503).
    #[error("Gemini is unavailable (HTTP {status})")]
    Unavailable { status: u16 },
    /// The model id does not exist or is closed.
    #[error("Gemini model `{model}` was not found: {message}")]
    ModelNotFound { model: String, message: String },
    /// Gemini refused our request as invalid (a bug on our side).
    #[error("Gemini rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// No answer within the time bound (or Gemini's own 504).
    #[error("Gemini did not answer in time")]
    Timeout,
    /// The connection failed.
    #[error("could not reach Gemini: {0}")]
    Unreachable(String),
    /// Gemini blocked the prompt or stopped the answer for safety.
    #[error("Gemini blocked the content: {reason}")]
    Blocked { reason: String },
    /// A successful answer with no text at all.
    #[error("Gemini returned no text (finishReason {finish_reason})")]
    NoText { finish_reason: String },
    /// An answer that is not Gemini's format.
    #[error("Gemini sent a malformed answer: {0}")]
    Malformed(String),
}

impl GeminiError {
    /// The upstream state this error proves, if any.
    pub fn upstream_state(&self) -> Option<UpstreamState> {
        match self {
            GeminiError::Region { .. } => Some(UpstreamState::RegionBlocked),
            GeminiError::Auth { .. } => Some(UpstreamState::AuthFailed),
            GeminiError::Quota { .. } | GeminiError::DailyQuota => Some(UpstreamState::Quota),
            GeminiError::Timeout | GeminiError::Unreachable(_) => Some(UpstreamState::Unreachable),
            // Gemini answered: the key, region and quota are fine.
            GeminiError::Blocked { .. } | GeminiError::NoText { .. } => Some(UpstreamState::Ok),
            _ => None,
        }
    }

    /// A short fixed word for logs and metric labels.
    pub fn label(&self) -> &'static str {
        match self {
            GeminiError::NotConfigured => "not_configured",
            GeminiError::Region { .. } => "region_blocked",
            GeminiError::Auth { .. } => "auth_failed",
            GeminiError::Quota { .. } => "quota",
            GeminiError::DailyQuota => "daily_quota",
            GeminiError::Unavailable { .. } => "unavailable",
            GeminiError::ModelNotFound { .. } => "model_not_found",
            GeminiError::Rejected { .. } => "rejected",
            GeminiError::Timeout => "timeout",
            GeminiError::Unreachable(_) => "unreachable",
            GeminiError::Blocked { .. } => "blocked",
            GeminiError::NoText { .. } => "no_text",
            GeminiError::Malformed(_) => "malformed",
        }
    }

    /// A failed HTTP exchange (connection, TLS, body read, timeout).
    pub(super) fn from_transport(error: reqwest::Error) -> GeminiError {
        if error.is_timeout() {
            GeminiError::Timeout
        } else {
            // Without the URL; it never carries the key anyway.
            GeminiError::Unreachable(error.without_url().to_string())
        }
    }

    /// Classifies an error response of Gemini (`status` is the HTTP status).
    pub(super) fn from_response(status: u16, body: &[u8], model: &str) -> GeminiError {
        let parsed: Option<ErrorEnvelope> = serde_json::from_slice(body)
            .ok()
            // A streamed JSON array wraps errors in a one-element list.
            .or_else(|| {
                serde_json::from_slice::<Vec<ErrorEnvelope>>(body)
                    .ok()
                    .and_then(|v| v.into_iter().next())
            });
        let Some(ErrorEnvelope { error }) = parsed else {
            return match status {
                429 => GeminiError::Quota { retry_after: None },
                500 | 502 | 503 => GeminiError::Unavailable { status },
                504 => GeminiError::Timeout,
                401 | 403 => GeminiError::Auth {
                    reason: format!("HTTP {status}"),
                },
                _ => GeminiError::Malformed(format!("HTTP {status} with a body that is not a Gemini error")),
            };
        };
        let message = error.message.unwrap_or_default();
        let rpc = error.status.unwrap_or_default();
        let reasons: Vec<&str> = error
            .details
            .iter()
            .filter(|d| type_is(d, "google.rpc.ErrorInfo"))
            .filter_map(|d| d.get("reason").and_then(|r| r.as_str()))
            .collect();
        let lower = message.to_ascii_lowercase();

        if rpc == "FAILED_PRECONDITION"
            && (lower.contains("location is not supported")
                || lower.contains("not available in your country"))
        {
            return GeminiError::Region { message };
        }
        if let Some(reason) = reasons
            .iter()
            .find(|r| r.starts_with("API_KEY_") || **r == "SERVICE_DISABLED")
        {
            return GeminiError::Auth {
                reason: (*reason).to_owned(),
            };
        }
        if status == 401 || status == 403 || rpc == "PERMISSION_DENIED" || rpc == "UNAUTHENTICATED" {
            return GeminiError::Auth {
                reason: if rpc.is_empty() {
                    format!("HTTP {status}")
                } else {
                    rpc
                },
            };
        }
        if status == 429 || rpc == "RESOURCE_EXHAUSTED" {
            // A day's quota does not free before midnight Pacific, whatever
            // RetryInfo says: it is told apart by the violated quota's id.
            let per_day = error
                .details
                .iter()
                .filter(|d| type_is(d, "google.rpc.QuotaFailure"))
                .filter_map(|d| d.get("violations").and_then(|v| v.as_array()))
                .flatten()
                .filter_map(|v| v.get("quotaId").and_then(|id| id.as_str()))
                .any(|id| id.contains("PerDay"));
            if per_day {
                return GeminiError::DailyQuota;
            }
            let retry_after = error
                .details
                .iter()
                .filter(|d| type_is(d, "google.rpc.RetryInfo"))
                .find_map(|d| {
                    d.get("retryDelay")
                        .and_then(|v| v.as_str())
                        .and_then(parse_duration)
                });
            return GeminiError::Quota { retry_after };
        }
        if status == 404 || rpc == "NOT_FOUND" {
            return GeminiError::ModelNotFound {
                model: model.to_owned(),
                message,
            };
        }
        if status == 504 || rpc == "DEADLINE_EXCEEDED" {
            return GeminiError::Timeout;
        }
        if matches!(status, 500 | 502 | 503) || rpc == "UNAVAILABLE" || rpc == "INTERNAL" {
            return GeminiError::Unavailable { status };
        }
        GeminiError::Rejected { status, message }
    }
}

/// Makes upstream text safe to log or return: every configured key (and anything
/// shaped like a Google API key) becomes `[redacted]`, and the text is capped.
#[derive(Debug, Clone, Default)]
pub(super) struct Redactor {
    keys: Arc<[SecretString]>,
}

impl Redactor {
    /// A redactor of these keys.
    pub(super) fn new(keys: &[SecretString]) -> Self {
        Self { keys: keys.into() }
    }

    /// Redacted, capped text.
    pub(super) fn text(&self, text: &str) -> String {
        let secrets: Vec<&str> = self.keys.iter().map(|k| k.expose_secret()).collect();
        redact(text, &secrets)
    }

    /// The same error with every text that came from upstream redacted.
    pub(super) fn error(&self, error: GeminiError) -> GeminiError {
        match error {
            GeminiError::Region { message } => GeminiError::Region {
                message: self.text(&message),
            },
            GeminiError::Auth { reason } => GeminiError::Auth {
                reason: self.text(&reason),
            },
            GeminiError::ModelNotFound { model, message } => GeminiError::ModelNotFound {
                model,
                message: self.text(&message),
            },
            GeminiError::Rejected { status, message } => GeminiError::Rejected {
                status,
                message: self.text(&message),
            },
            GeminiError::Unreachable(message) => GeminiError::Unreachable(self.text(&message)),
            GeminiError::Blocked { reason } => GeminiError::Blocked {
                reason: self.text(&reason),
            },
            GeminiError::NoText { finish_reason } => GeminiError::NoText {
                finish_reason: self.text(&finish_reason),
            },
            GeminiError::DailyQuota => GeminiError::DailyQuota,
            GeminiError::Malformed(message) => GeminiError::Malformed(self.text(&message)),
            other @ (GeminiError::NotConfigured
            | GeminiError::Quota { .. }
            | GeminiError::Unavailable { .. }
            | GeminiError::Timeout) => other,
        }
    }
}

fn type_is(detail: &serde_json::Value, name: &str) -> bool {
    detail
        .get("@type")
        .and_then(|t| t.as_str())
        .is_some_and(|t| t.ends_with(name))
}

/// Parses a protobuf Duration string such as `38s` or `0.5s`.
fn parse_duration(text: &str) -> Option<Duration> {
    let secs: f64 = text.strip_suffix('s')?.parse().ok()?;
    (0.0..86_400.0)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/gemini/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap()
    }

    fn classify(status: u16, name: &str) -> GeminiError {
        GeminiError::from_response(status, &fixture(name), "gemini-test")
    }

    #[test]
    fn the_error_mapping_table_follows_status_and_details() {
        assert!(matches!(
            classify(400, "error_400_location.json"),
            GeminiError::Region { .. }
        ));
        assert_eq!(
            classify(400, "error_400_api_key_invalid.json"),
            GeminiError::Auth {
                reason: "API_KEY_INVALID".into()
            }
        );
        assert!(matches!(
            classify(403, "error_403_bad_key.json"),
            GeminiError::Auth { .. }
        ));
        assert!(matches!(
            classify(403, "error_403_no_key.json"),
            GeminiError::Auth { .. }
        ));
        assert_eq!(
            classify(429, "error_429_quota.json"),
            GeminiError::Quota {
                retry_after: Some(Duration::from_secs(38))
            }
        );
        assert!(matches!(
            classify(404, "error_404_model.json"),
            GeminiError::ModelNotFound { model, .. } if model == "gemini-test"
        ));
        assert_eq!(
            classify(500, "error_500_internal.json"),
            GeminiError::Unavailable { status: 500 }
        );
        assert_eq!(
            classify(503, "error_503_overloaded.json"),
            GeminiError::Unavailable { status: 503 }
        );
    }

    #[test]
    fn the_same_http_code_maps_differently_by_rpc_status() {
        let invalid = br#"{"error":{"code":400,"message":"Please use a valid role: user, model.","status":"INVALID_ARGUMENT"}}"#;
        assert!(matches!(
            GeminiError::from_response(400, invalid, "m"),
            GeminiError::Rejected { status: 400, .. }
        ));
        let country = br#"{"error":{"code":400,"message":"Gemini API free tier is not available in your country. Please enable billing.","status":"FAILED_PRECONDITION"}}"#;
        assert!(matches!(
            GeminiError::from_response(400, country, "m"),
            GeminiError::Region { .. }
        ));
        let disabled = br#"{"error":{"code":403,"message":"x","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED"}]}}"#;
        assert_eq!(
            GeminiError::from_response(403, disabled, "m"),
            GeminiError::Auth {
                reason: "SERVICE_DISABLED".into()
            }
        );
        let wrapped = br#"[{"error":{"code":503,"message":"x","status":"UNAVAILABLE"}}]"#;
        assert_eq!(
            GeminiError::from_response(503, wrapped, "m"),
            GeminiError::Unavailable { status: 503 }
        );
        let deadline = br#"{"error":{"code":504,"message":"x","status":"DEADLINE_EXCEEDED"}}"#;
        assert_eq!(
            GeminiError::from_response(504, deadline, "m"),
            GeminiError::Timeout
        );
    }

    #[test]
    fn garbage_bodies_fall_back_to_the_http_code() {
        assert_eq!(
            GeminiError::from_response(503, b"<html>oops</html>", "m"),
            GeminiError::Unavailable { status: 503 }
        );
        assert_eq!(
            GeminiError::from_response(429, b"", "m"),
            GeminiError::Quota { retry_after: None }
        );
        assert!(matches!(
            GeminiError::from_response(418, b"\xff\xfe", "m"),
            GeminiError::Malformed(_)
        ));
    }

    #[test]
    fn upstream_text_in_errors_is_redacted_and_fixed_fields_are_kept() {
        let key = "my-own-key-without-the-google-shape";
        let redactor = Redactor::new(&[key.into()]);
        let echoed = format!(
            r#"{{"error":{{"code":400,"message":"API key {key} (also AIzaSyA-0123456789abcdefghij_KLMNO) is bad","status":"INVALID_ARGUMENT"}}}}"#
        );
        let error = redactor.error(GeminiError::from_response(400, echoed.as_bytes(), "m"));
        let GeminiError::Rejected { status: 400, message } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(message, "API key [redacted] (also [redacted]) is bad");
        let shown = error.to_string();
        assert!(!shown.contains(key) && !shown.contains("AIzaSy"), "{shown}");
        assert_eq!(
            redactor.error(GeminiError::NoText {
                finish_reason: format!("x{key}")
            }),
            GeminiError::NoText {
                finish_reason: "x[redacted]".into()
            }
        );
        assert_eq!(
            redactor.error(GeminiError::Quota { retry_after: None }),
            GeminiError::Quota { retry_after: None }
        );
    }

    #[test]
    fn retry_delays_parse_as_protobuf_durations() {
        assert_eq!(parse_duration("38s"), Some(Duration::from_secs(38)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("38"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("NaNs"), None);
    }
}
