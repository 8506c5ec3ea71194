//! How Gemini's answers read: a `GenerateContentResponse` (whole or one stream
//! chunk) turned into text, finish reason and usage — or into the error it really
//! is: a blocked prompt, a blocking finish reason, an answer with no text. Thought
//! parts are never text.
//!
//! No I/O. The one thing logged here (Gemini's `finishMessage` on an answer with
//! no text) goes through the `Redactor`, like all upstream text that is logged.

use super::{
    error::{GeminiError, Redactor},
    wire,
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

/// Reads a whole 200 body of `generateContent`.
pub(super) fn answer(body: &[u8], model: &str, redactor: &Redactor) -> Result<Answer, GeminiError> {
    let parsed: wire::GenerateResponse = serde_json::from_slice(body)
        .map_err(|e| GeminiError::Malformed(format!("not a GenerateContentResponse: {e}")))?;
    interpret(parsed, model, redactor)
}

/// Turns a 200 answer into text or the error it really is.
fn interpret(
    response: wire::GenerateResponse,
    model: &str,
    redactor: &Redactor,
) -> Result<Answer, GeminiError> {
    let chunk = read_chunk(response)?;
    if !chunk.has_candidate {
        return Err(GeminiError::Malformed("an answer with no candidates".into()));
    }
    let finish_reason = redactor.text(
        chunk
            .finish_reason
            .as_deref()
            .unwrap_or("FINISH_REASON_UNSPECIFIED"),
    );
    if chunk.text.trim().is_empty() {
        log_no_text(redactor, &finish_reason, chunk.finish_message.as_deref());
        return Err(GeminiError::NoText { finish_reason });
    }
    Ok(Answer {
        text: chunk.text,
        finish_reason,
        model: model.to_owned(),
        usage: chunk.usage,
    })
}

/// Logs Gemini's own explanation of an answer without text (redacted: it is
/// upstream text).
pub(super) fn log_no_text(redactor: &Redactor, finish_reason: &str, message: Option<&str>) {
    if let Some(message) = message {
        tracing::warn!(
            finish_reason = redactor.text(finish_reason),
            message = redactor.text(message),
            "gemini returned no text"
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn interpret_fixture(name: &str) -> Result<Answer, GeminiError> {
        let path = format!("{}/tests/fixtures/gemini/{name}", env!("CARGO_MANIFEST_DIR"));
        let parsed: wire::GenerateResponse = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        interpret(parsed, "gemini-test", &Redactor::default())
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
        let answer = interpret(partial, "m", &Redactor::default()).unwrap();
        assert_eq!(
            (answer.text.as_str(), answer.finish_reason.as_str()),
            ("Half an ans", "MAX_TOKENS")
        );
        let empty: wire::GenerateResponse = serde_json::from_str(r#"{"candidates":[]}"#).unwrap();
        assert!(matches!(
            interpret(empty, "m", &Redactor::default()),
            Err(GeminiError::Malformed(_))
        ));
    }
}
