//! What can go wrong with a Gemini call, and the classification of Gemini's error
//! bodies. Classification reads `error.status`, `details` and the message, never
//! the HTTP code alone: a bad key and a geo-block are both 400.

use std::time::Duration;

use super::wire::ErrorEnvelope;
use crate::upstream::UpstreamState;

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
            GeminiError::Quota { .. } => Some(UpstreamState::Quota),
            GeminiError::Timeout | GeminiError::Unreachable(_) => Some(UpstreamState::Unreachable),
            // Gemini answered: the key, region and quota are fine.
            GeminiError::Blocked { .. } | GeminiError::NoText { .. } => Some(UpstreamState::Ok),
            _ => None,
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
    fn retry_delays_parse_as_protobuf_durations() {
        assert_eq!(parse_duration("38s"), Some(Duration::from_secs(38)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("38"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("NaNs"), None);
    }
}
