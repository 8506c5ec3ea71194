//! The HTTP client for `models/{model}:generateContent`.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{
    error::GeminiError,
    status::{UpstreamState, UpstreamStatus},
    wire,
};
use crate::domain::history::{Role, Turn};

/// Finish reasons that mean Gemini withheld the answer.
const BLOCKING_FINISH_REASONS: &[&str] = &[
    "SAFETY",
    "RECITATION",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
];

/// The largest upstream body read (answers are a few KiB; this bounds garbage).
const MAX_UPSTREAM_BODY: usize = 8 * 1024 * 1024;

/// What the client needs from the configuration.
#[derive(Debug, Clone)]
pub struct GeminiSettings {
    /// Keys in the order they are tried.
    pub keys: Vec<SecretString>,
    /// The model id.
    pub model: String,
    /// The upstream base URL.
    pub base_url: Url,
    /// Bound on one attempt.
    pub timeout: Duration,
}

/// An image sent inline with the prompt.
#[derive(Debug, Clone)]
pub struct InlineImage {
    /// Its MIME type.
    pub mime: &'static str,
    /// Its standard base64.
    pub base64: String,
}

/// One generation request, independent of Gemini's wire format.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// The system instruction.
    pub system: String,
    /// The conversation, starting with the user and ending with the user.
    pub turns: Vec<Turn>,
    /// An image placed before the text of the last user turn.
    pub image: Option<InlineImage>,
    /// Sampling temperature.
    pub temperature: f32,
    /// Output token cap (thinking tokens count against it).
    pub max_output_tokens: u32,
}

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Visible answer tokens.
    pub response_tokens: u32,
    /// Everything billed, thinking included.
    pub total_tokens: u32,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The answer's text (Markdown), thoughts excluded.
    pub text: String,
    /// Gemini's finish reason, passed through.
    pub finish_reason: String,
    /// The configured model id that answered.
    pub model: String,
    /// Token counts, when Gemini sent them.
    pub usage: Option<Usage>,
}

/// The Gemini client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GeminiClient {
    http: reqwest::Client,
    settings: std::sync::Arc<GeminiSettings>,
    status: UpstreamStatus,
}

impl GeminiClient {
    /// Builds the client (rustls; no system proxy so the key cannot be routed elsewhere).
    pub fn new(settings: GeminiSettings, status: UpstreamStatus) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("weld-assistant/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .no_proxy()
            .build()?;
        Ok(Self {
            http,
            settings: std::sync::Arc::new(settings),
            status,
        })
    }

    /// Whether a key is configured.
    pub fn is_configured(&self) -> bool {
        !self.settings.keys.is_empty()
    }

    /// The configured model id.
    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// The shared upstream status this client reports into.
    pub fn status(&self) -> &UpstreamStatus {
        &self.status
    }

    /// Sends one `generateContent` call and interprets the answer.
    pub async fn generate(&self, prompt: &Prompt) -> Result<Answer, GeminiError> {
        let key = self.settings.keys.first().ok_or(GeminiError::NotConfigured)?;
        let model = self.settings.model.as_str();
        let started = Instant::now();
        let result = self.attempt(key, model, prompt).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => error_label(e),
        };
        let usage = result.as_ref().ok().and_then(|a| a.usage);
        tracing::info!(
            target: "weld_assistant::upstream",
            model,
            outcome,
            attempt = 1,
            latency_ms = started.elapsed().as_millis() as u64,
            prompt_tokens = usage.map(|u| u.prompt_tokens),
            response_tokens = usage.map(|u| u.response_tokens),
            "gemini call"
        );
        match &result {
            Ok(_) => self.status.record(UpstreamState::Ok),
            Err(e) => {
                tracing::warn!(model, error = %e, "gemini call failed");
                if let Some(state) = e.upstream_state() {
                    self.status.record(state);
                }
            }
        }
        result
    }

    async fn attempt(&self, key: &SecretString, model: &str, prompt: &Prompt) -> Result<Answer, GeminiError> {
        let url = self.method_url(model, "generateContent");
        let body = build_request(prompt);
        let mut key_header = HeaderValue::from_str(key.expose_secret()).map_err(|_| GeminiError::Auth {
            reason: "the configured key is not a valid header value".into(),
        })?;
        key_header.set_sensitive(true);
        let response = self
            .http
            .post(url)
            .header("x-goog-api-key", key_header)
            .header(CONTENT_TYPE, "application/json")
            .json(&body)
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let bytes = read_limited(response).await?;
        if status != 200 {
            return Err(GeminiError::from_response(status, &bytes, model));
        }
        let parsed: wire::GenerateResponse = serde_json::from_slice(&bytes)
            .map_err(|e| GeminiError::Malformed(format!("not a GenerateContentResponse: {e}")))?;
        interpret(parsed, model)
    }

    fn method_url(&self, model: &str, method: &str) -> String {
        // The model and the method share one path segment; the ':' is not encoded.
        let base = self.settings.base_url.as_str().trim_end_matches('/');
        format!("{base}/v1beta/models/{model}:{method}")
    }
}

fn error_label(error: &GeminiError) -> &'static str {
    match error {
        GeminiError::NotConfigured => "not_configured",
        GeminiError::Region { .. } => "region_blocked",
        GeminiError::Auth { .. } => "auth_failed",
        GeminiError::Quota { .. } => "quota",
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

fn transport_error(error: reqwest::Error) -> GeminiError {
    if error.is_timeout() {
        GeminiError::Timeout
    } else {
        // reqwest's Display includes the URL, which never carries the key.
        GeminiError::Unreachable(error.without_url().to_string())
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, GeminiError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_UPSTREAM_BODY {
            return Err(GeminiError::Malformed("the answer is too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn build_request(prompt: &Prompt) -> wire::GenerateRequest<'_> {
    let last = prompt.turns.len().saturating_sub(1);
    let contents = prompt
        .turns
        .iter()
        .enumerate()
        .map(|(index, turn)| {
            let mut parts = Vec::with_capacity(2);
            if index == last {
                if let Some(image) = &prompt.image {
                    parts.push(wire::Part::Inline {
                        inline_data: wire::InlineData {
                            mime_type: image.mime,
                            data: &image.base64,
                        },
                    });
                }
            }
            parts.push(wire::Part::Text { text: &turn.text });
            wire::Content {
                role: Some(match turn.role {
                    Role::User => "user",
                    Role::Model => "model",
                }),
                parts,
            }
        })
        .collect();
    wire::GenerateRequest {
        contents,
        system_instruction: wire::Content {
            role: None,
            parts: vec![wire::Part::Text { text: &prompt.system }],
        },
        generation_config: wire::GenerationConfig {
            temperature: prompt.temperature,
            max_output_tokens: prompt.max_output_tokens,
            candidate_count: 1,
        },
    }
}

/// Turns a 200 answer into text or the error it really is.
fn interpret(response: wire::GenerateResponse, model: &str) -> Result<Answer, GeminiError> {
    let usage = response.usage_metadata.map(|u| Usage {
        prompt_tokens: u.prompt_token_count.unwrap_or(0),
        response_tokens: u.candidates_token_count.unwrap_or(0),
        total_tokens: u.total_token_count.unwrap_or(0),
    });
    let candidate = response.candidates.and_then(|c| c.into_iter().next());
    let Some(candidate) = candidate else {
        return Err(match response.prompt_feedback.and_then(|f| f.block_reason) {
            Some(reason) => GeminiError::Blocked { reason },
            None => GeminiError::Malformed("an answer with no candidates".into()),
        });
    };
    let finish_reason = candidate
        .finish_reason
        .unwrap_or_else(|| "FINISH_REASON_UNSPECIFIED".to_owned());
    if BLOCKING_FINISH_REASONS.contains(&finish_reason.as_str()) {
        return Err(GeminiError::Blocked {
            reason: finish_reason,
        });
    }
    let text: String = candidate
        .content
        .and_then(|c| c.parts)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.thought != Some(true))
        .filter_map(|p| p.text)
        .collect();
    if text.trim().is_empty() {
        if let Some(message) = candidate.finish_message {
            tracing::warn!(finish_reason, message, "gemini returned no text");
        }
        return Err(GeminiError::NoText { finish_reason });
    }
    Ok(Answer {
        text,
        finish_reason,
        model: model.to_owned(),
        usage,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn interpret_fixture(name: &str) -> Result<Answer, GeminiError> {
        let path = format!("{}/tests/fixtures/gemini/{name}", env!("CARGO_MANIFEST_DIR"));
        let parsed: wire::GenerateResponse = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        interpret(parsed, "gemini-test")
    }

    #[test]
    fn a_normal_answer_yields_text_usage_and_finish_reason() {
        let answer = interpret_fixture("generate_response_ok.json").unwrap();
        assert!(answer.text.starts_with("Для стенки 6 мм"), "{}", answer.text);
        assert_eq!(answer.finish_reason, "STOP");
        assert_eq!(answer.model, "gemini-test");
        assert_eq!(
            answer.usage,
            Some(Usage {
                prompt_tokens: 87,
                response_tokens: 41,
                total_tokens: 311
            })
        );
    }

    #[test]
    fn thought_parts_are_never_part_of_the_text() {
        let answer = interpret_fixture("generate_response_thought_parts.json").unwrap();
        assert!(!answer.text.contains("Choosing the electrode"));
        assert!(answer.text.starts_with("Возьмите"), "{}", answer.text);
    }

    #[test]
    fn blocked_prompts_and_safety_stops_are_blocked_errors() {
        assert_eq!(
            interpret_fixture("generate_response_safety_blocked_prompt.json").unwrap_err(),
            GeminiError::Blocked {
                reason: "PROHIBITED_CONTENT".into()
            }
        );
        assert_eq!(
            interpret_fixture("generate_response_safety_blocked_prompt_with_ratings.json").unwrap_err(),
            GeminiError::Blocked {
                reason: "SAFETY".into()
            }
        );
        assert_eq!(
            interpret_fixture("generate_response_finish_safety.json").unwrap_err(),
            GeminiError::Blocked {
                reason: "SAFETY".into()
            }
        );
    }

    #[test]
    fn an_answer_without_text_is_an_error_not_an_empty_success() {
        assert_eq!(
            interpret_fixture("generate_response_max_tokens_empty.json").unwrap_err(),
            GeminiError::NoText {
                finish_reason: "MAX_TOKENS".into()
            }
        );
        let partial: wire::GenerateResponse = serde_json::from_str(
            r#"{"candidates":[{"content":{"parts":[{"text":"Half an ans"}],"role":"model"},"finishReason":"MAX_TOKENS"}]}"#,
        )
        .unwrap();
        let answer = interpret(partial, "m").unwrap();
        assert_eq!(
            (answer.text.as_str(), answer.finish_reason.as_str()),
            ("Half an ans", "MAX_TOKENS")
        );
        let empty: wire::GenerateResponse = serde_json::from_str(r#"{"candidates":[]}"#).unwrap();
        assert!(matches!(interpret(empty, "m"), Err(GeminiError::Malformed(_))));
    }

    #[test]
    fn the_request_puts_the_image_before_the_text_of_the_last_turn() {
        let prompt = Prompt {
            system: "sys".into(),
            turns: vec![Turn::new(Role::User, "look")],
            image: Some(InlineImage {
                mime: "image/png",
                base64: "AAAA".into(),
            }),
            temperature: 0.2,
            max_output_tokens: 100,
        };
        let json = serde_json::to_value(build_request(&prompt)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "contents": [{"role": "user", "parts": [
                    {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                    {"text": "look"}
                ]}],
                "systemInstruction": {"parts": [{"text": "sys"}]},
                "generationConfig": {"temperature": 0.2f32, "maxOutputTokens": 100, "candidateCount": 1}
            })
        );
    }
}
