//! The HTTP client for `models/{model}:generateContent`.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{
    error::GeminiError,
    failover::{AUTH_COOLDOWN, KeyRing, MAX_ATTEMPTS, QUOTA_COOLDOWN, SHORT_RETRY_DELAY, backoff},
    stream::AnswerStream,
    wire,
};
use crate::{
    domain::history::{Role, Turn},
    metrics::Metrics,
    upstream::{UpstreamState, UpstreamStatus},
};

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
    /// Models tried in order after it.
    pub fallback_models: Vec<String>,
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
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: KeyRing,
    models: Vec<String>,
    base_url: Url,
    timeout: Duration,
    status: UpstreamStatus,
    metrics: Arc<Metrics>,
}

/// What one attempt produced, for the per-attempt log line.
trait AttemptOutput {
    fn usage(&self) -> Option<Usage> {
        None
    }
}

impl AttemptOutput for Answer {
    fn usage(&self) -> Option<Usage> {
        self.usage
    }
}

impl AttemptOutput for AnswerStream {}

impl GeminiClient {
    /// Builds the client (rustls; no system proxy so the key cannot be routed elsewhere).
    pub fn new(
        settings: GeminiSettings,
        status: UpstreamStatus,
        metrics: Arc<Metrics>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("weld-assistant/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            // Idle connections are kept briefly: enough for a burst over HTTP/1.1
            // (Google speaks HTTP/2, where one connection carries many calls),
            // released 15 s after the burst.
            .pool_idle_timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(256)
            .no_proxy()
            .build()?;
        let mut models = vec![settings.model];
        for fallback in settings.fallback_models {
            if !models.contains(&fallback) {
                models.push(fallback);
            }
        }
        Ok(Self {
            http,
            inner: Arc::new(Inner {
                keys: KeyRing::new(settings.keys),
                models,
                base_url: settings.base_url,
                timeout: settings.timeout,
                status,
                metrics,
            }),
        })
    }

    /// Whether a key is configured.
    pub fn is_configured(&self) -> bool {
        !self.inner.keys.is_empty()
    }

    /// The configured model id.
    pub fn model(&self) -> &str {
        &self.inner.models[0]
    }

    /// The shared upstream status this client reports into.
    pub fn status(&self) -> &UpstreamStatus {
        &self.inner.status
    }

    /// One answer, with retries and failover (`generateContent`).
    pub async fn generate(&self, prompt: &Prompt) -> Result<Answer, GeminiError> {
        let answer = self
            .with_failover(|key, model, budget| async move {
                self.attempt_unary(&key, &model, prompt, budget).await
            })
            .await?;
        if let Some(usage) = answer.usage {
            self.inner
                .metrics
                .observe_tokens(usage.prompt_tokens, usage.response_tokens);
        }
        Ok(answer)
    }

    /// A streamed answer (`streamGenerateContent?alt=sse`), returned once the first
    /// text has arrived: everything that fails before that (after retries and
    /// failover) is an error here, never a half-sent stream.
    pub async fn stream(&self, prompt: &Prompt) -> Result<AnswerStream, GeminiError> {
        self.with_failover(|key, model, budget| async move {
            self.attempt_stream(&key, &model, prompt, budget).await
        })
        .await
    }

    /// Tokens of a finished stream, for the metrics.
    pub fn record_stream_usage(&self, usage: Option<Usage>) {
        if let Some(usage) = usage {
            self.inner
                .metrics
                .observe_tokens(usage.prompt_tokens, usage.response_tokens);
        }
    }

    /// A cheap start-up check: `GET models/{model}` with the first key. It checks the
    /// key and the model without spending generation quota; it cannot see a
    /// geo-block (only generation is refused by location).
    pub async fn probe(&self) {
        if self.inner.keys.is_empty() {
            return;
        }
        let model = self.model().to_owned();
        let url = format!("{}/v1beta/models/{model}", self.base());
        let started = Instant::now();
        let result = async {
            let response = self
                .http
                .get(url)
                .header("x-goog-api-key", key_header(self.inner.keys.key(0))?)
                .timeout(self.inner.timeout)
                .send()
                .await
                .map_err(transport_error)?;
            let status = response.status().as_u16();
            let body = read_limited(response).await?;
            if status == 200 {
                Ok(())
            } else {
                Err(GeminiError::from_response(status, &body, &model))
            }
        }
        .await;
        let state = match &result {
            Ok(()) => Some(UpstreamState::Ok),
            Err(e) => e.upstream_state(),
        };
        if let Some(state) = state {
            self.inner.status.record(state);
        }
        tracing::info!(
            target: "weld_assistant::upstream",
            model,
            outcome = result.as_ref().map_or_else(error_label, |_| "ok"),
            latency_ms = started.elapsed().as_millis() as u64,
            "gemini start-up probe"
        );
    }

    fn base(&self) -> &str {
        self.inner.base_url.as_str().trim_end_matches('/')
    }

    fn method_url(&self, model: &str, method: &str) -> String {
        // The model and the method share one path segment; the ':' is not encoded.
        format!("{}/v1beta/models/{model}:{method}", self.base())
    }

    /// Runs attempts over keys and models: transient errors (429 with a short
    /// delay, 500, 503, 504, timeouts, connection errors) are retried on the same
    /// key with jittered backoff; a 429 or a rejected key moves to the next key
    /// (and rests this one); overload, quota on every key, or a missing model moves
    /// to the next fallback model. 400s are never retried. Everything stays within
    /// twice the attempt timeout.
    async fn with_failover<T, F, Fut>(&self, mut attempt: F) -> Result<T, GeminiError>
    where
        T: AttemptOutput,
        F: FnMut(SecretString, String, Duration) -> Fut,
        Fut: Future<Output = Result<T, GeminiError>>,
    {
        if self.inner.keys.is_empty() {
            return Err(GeminiError::NotConfigured);
        }
        let inner = &self.inner;
        let deadline = Instant::now() + inner.timeout * 2;
        let base_delay = (inner.timeout / 10).min(Duration::from_secs(1));
        let mut last: Option<GeminiError> = None;
        let mut attempts = 0u32;
        'models: for model in &inner.models {
            let mut rejected_keys = 0;
            let order = inner.keys.order();
            for &key_index in &order {
                let mut tries = 0u32;
                loop {
                    if Instant::now() >= deadline {
                        return Err(last.unwrap_or(GeminiError::Timeout));
                    }
                    tries += 1;
                    attempts += 1;
                    if attempts > 1 {
                        inner.metrics.observe_retry();
                    }
                    let started = Instant::now();
                    // No attempt may run past the deadline.
                    let budget = inner
                        .timeout
                        .min(deadline.saturating_duration_since(Instant::now()));
                    let result = attempt(inner.keys.key(key_index).clone(), model.clone(), budget).await;
                    let outcome = result.as_ref().map_or_else(error_label, |_| "ok");
                    let usage = result.as_ref().ok().and_then(AttemptOutput::usage);
                    inner.metrics.observe_upstream(model, outcome);
                    tracing::info!(
                        target: "weld_assistant::upstream",
                        model = model.as_str(),
                        outcome,
                        attempt = attempts,
                        key = key_index + 1,
                        latency_ms = started.elapsed().as_millis() as u64,
                        prompt_tokens = usage.map(|u| u.prompt_tokens),
                        response_tokens = usage.map(|u| u.response_tokens),
                        "gemini attempt"
                    );
                    let error = match result {
                        Ok(value) => {
                            inner.keys.ready(key_index);
                            inner.status.record(UpstreamState::Ok);
                            return Ok(value);
                        }
                        Err(error) => error,
                    };
                    tracing::debug!(model = model.as_str(), error = %error, "gemini attempt failed");
                    if let Some(state) = error.upstream_state() {
                        inner.status.record(state);
                    }
                    match &error {
                        GeminiError::Unavailable { .. }
                        | GeminiError::Timeout
                        | GeminiError::Unreachable(_) => {
                            let wait = backoff(base_delay, tries);
                            let transient = error.clone();
                            last = Some(error);
                            if tries < MAX_ATTEMPTS && Instant::now() + wait < deadline {
                                tokio::time::sleep(wait).await;
                                continue;
                            }
                            if matches!(transient, GeminiError::Unavailable { .. }) {
                                continue 'models;
                            }
                            return Err(transient);
                        }
                        GeminiError::Quota { retry_after } => {
                            let short = retry_after.filter(|d| *d <= SHORT_RETRY_DELAY);
                            if let Some(wait) = short {
                                if tries < MAX_ATTEMPTS && Instant::now() + wait < deadline {
                                    last = Some(error);
                                    tokio::time::sleep(wait).await;
                                    continue;
                                }
                            }
                            inner.keys.rest(key_index, retry_after.unwrap_or(QUOTA_COOLDOWN));
                            last = Some(error);
                            break;
                        }
                        GeminiError::Auth { .. } => {
                            inner.keys.rest(key_index, AUTH_COOLDOWN);
                            rejected_keys += 1;
                            last = Some(error);
                            break;
                        }
                        GeminiError::ModelNotFound { .. } => {
                            last = Some(error);
                            continue 'models;
                        }
                        _ => return Err(error),
                    }
                }
            }
            if rejected_keys == order.len() {
                break;
            }
        }
        Err(last.unwrap_or(GeminiError::NotConfigured))
    }

    async fn send(
        &self,
        key: &SecretString,
        url: String,
        prompt: &Prompt,
        budget: Duration,
    ) -> Result<reqwest::Response, GeminiError> {
        self.http
            .post(url)
            .header("x-goog-api-key", key_header(key)?)
            .header(CONTENT_TYPE, "application/json")
            .json(&build_request(prompt))
            .timeout(budget)
            .send()
            .await
            .map_err(transport_error)
    }

    async fn attempt_unary(
        &self,
        key: &SecretString,
        model: &str,
        prompt: &Prompt,
        budget: Duration,
    ) -> Result<Answer, GeminiError> {
        let response = self
            .send(key, self.method_url(model, "generateContent"), prompt, budget)
            .await?;
        let status = response.status().as_u16();
        let bytes = read_limited(response).await?;
        if status != 200 {
            return Err(GeminiError::from_response(status, &bytes, model));
        }
        let parsed: wire::GenerateResponse = serde_json::from_slice(&bytes)
            .map_err(|e| GeminiError::Malformed(format!("not a GenerateContentResponse: {e}")))?;
        interpret(parsed, model)
    }

    async fn attempt_stream(
        &self,
        key: &SecretString,
        model: &str,
        prompt: &Prompt,
        budget: Duration,
    ) -> Result<AnswerStream, GeminiError> {
        // The whole-request timeout of `send` would cut a long stream: bound the
        // head here, then every chunk inside the stream.
        let url = format!("{}?alt=sse", self.method_url(model, "streamGenerateContent"));
        let request = self
            .http
            .post(url)
            .header("x-goog-api-key", key_header(key)?)
            .header(CONTENT_TYPE, "application/json")
            .json(&build_request(prompt));
        let response = tokio::time::timeout(budget, request.send())
            .await
            .map_err(|_| GeminiError::Timeout)?
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        if status != 200 {
            let bytes = tokio::time::timeout(budget, read_limited(response))
                .await
                .map_err(|_| GeminiError::Timeout)??;
            return Err(GeminiError::from_response(status, &bytes, model));
        }
        AnswerStream::open(response, model, self.inner.timeout).await
    }
}

fn key_header(key: &SecretString) -> Result<HeaderValue, GeminiError> {
    let mut value = HeaderValue::from_str(key.expose_secret()).map_err(|_| GeminiError::Auth {
        reason: "the configured key is not a valid header value".into(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

pub(super) fn error_label(error: &GeminiError) -> &'static str {
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

pub(super) fn transport_error(error: reqwest::Error) -> GeminiError {
    if error.is_timeout() {
        GeminiError::Timeout
    } else {
        // Without the URL; it never carries the key anyway.
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

/// What one response (or stream chunk) says.
#[derive(Debug, Default)]
pub(super) struct Chunk {
    /// Its visible text (thoughts excluded); may be empty.
    pub text: String,
    /// The finish reason, on the last chunk.
    pub finish_reason: Option<String>,
    /// A message that may accompany the finish reason.
    pub finish_message: Option<String>,
    /// Token counts (cumulative in streams).
    pub usage: Option<Usage>,
    /// Whether there was a candidate at all.
    pub has_candidate: bool,
}

/// Reads one response or chunk; a blocked prompt or a blocking finish reason is
/// an error.
pub(super) fn read_chunk(response: wire::GenerateResponse) -> Result<Chunk, GeminiError> {
    let usage = response.usage_metadata.map(|u| Usage {
        prompt_tokens: u.prompt_token_count.unwrap_or(0),
        response_tokens: u.candidates_token_count.unwrap_or(0),
        total_tokens: u.total_token_count.unwrap_or(0),
    });
    let candidate = response.candidates.and_then(|c| c.into_iter().next());
    let Some(candidate) = candidate else {
        if let Some(reason) = response.prompt_feedback.and_then(|f| f.block_reason) {
            return Err(GeminiError::Blocked { reason });
        }
        return Ok(Chunk {
            usage,
            ..Chunk::default()
        });
    };
    if let Some(reason) = candidate.finish_reason.as_deref() {
        if BLOCKING_FINISH_REASONS.contains(&reason) {
            return Err(GeminiError::Blocked {
                reason: reason.to_owned(),
            });
        }
    }
    let text = candidate
        .content
        .and_then(|c| c.parts)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.thought != Some(true))
        .filter_map(|p| p.text)
        .collect();
    Ok(Chunk {
        text,
        finish_reason: candidate.finish_reason,
        finish_message: candidate.finish_message,
        usage,
        has_candidate: true,
    })
}

/// Turns a 200 answer into text or the error it really is.
fn interpret(response: wire::GenerateResponse, model: &str) -> Result<Answer, GeminiError> {
    let chunk = read_chunk(response)?;
    if !chunk.has_candidate {
        return Err(GeminiError::Malformed("an answer with no candidates".into()));
    }
    let finish_reason = chunk
        .finish_reason
        .unwrap_or_else(|| "FINISH_REASON_UNSPECIFIED".to_owned());
    if chunk.text.trim().is_empty() {
        if let Some(message) = chunk.finish_message {
            tracing::warn!(finish_reason, message, "gemini returned no text");
        }
        return Err(GeminiError::NoText { finish_reason });
    }
    Ok(Answer {
        text: chunk.text,
        finish_reason,
        model: model.to_owned(),
        usage: chunk.usage,
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
