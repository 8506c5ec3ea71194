//! The start-up probe's rules: which check it makes, the one-token request of the
//! `generate` check, and what its outcome says about the upstream.
//!
//! `models` (`GET models/{model}`) checks the key and the model but is answered
//! from blocked regions too; only generation is refused by location, so the
//! default asks Gemini for one token. Must not send anything itself (`client`
//! does) nor touch the daily budget or the token metrics.

use bytes::Bytes;

use super::{error::GeminiError, request, wire};
use crate::upstream::UpstreamState;

/// How the server checks Gemini once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProbeMode {
    /// Ask for one token (`generateContent`): sees a geo-block, a bad key,
    /// quota and reachability. Costs a few tokens, never the daily budget.
    #[default]
    Generate,
    /// `GET models/{model}`: sees a bad key and a missing model, not a geo-block.
    Models,
    /// No probe: the state stays `unknown` until the first real call.
    Off,
}

impl ProbeMode {
    /// The name used in logs (and in the configuration).
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeMode::Generate => "generate",
            ProbeMode::Models => "models",
            ProbeMode::Off => "off",
        }
    }
}

/// The prompt of the `generate` probe.
const PROBE_TEXT: &str = "ping";

/// The body of the `generate` probe: one short user turn, one output token, no
/// system instruction, thinking off where the model allows it.
pub(super) fn generate_body(model: &str) -> Result<Bytes, GeminiError> {
    let request = wire::GenerateRequest {
        contents: vec![wire::Content {
            role: Some("user"),
            parts: vec![wire::Part::Text { text: PROBE_TEXT }],
        }],
        system_instruction: None,
        generation_config: wire::GenerationConfig {
            temperature: None,
            max_output_tokens: 1,
            candidate_count: 1,
            thinking_config: thinking_can_be_off(model)
                .then_some(wire::ThinkingConfig { thinking_budget: 0 }),
        },
    };
    request::encode(&request, 256)
}

/// Whether `thinkingBudget: 0` is accepted (WIRE.md §2.3: Flash and Flash-Lite
/// turn thinking off with 0; Pro cannot and answers 400 to it). Thinking left on
/// only spends the single output token, so when in doubt it is left out.
fn thinking_can_be_off(model: &str) -> bool {
    let model = model.to_ascii_lowercase();
    model.contains("flash") && !model.contains("pro")
}

/// What a probe's outcome says about the upstream: any answer — text, none
/// (`MAX_TOKENS` on one token is the usual one), or a safety stop — proves the
/// key, the region and the quota; errors say what they prove, if anything
/// (`None`: a 5xx, a missing model or a refused request leave the state as it was).
pub(super) fn state(result: &Result<(), GeminiError>) -> Option<UpstreamState> {
    match result {
        Ok(()) => Some(UpstreamState::Ok),
        Err(error) => error.upstream_state(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_generate_probe_asks_for_one_token_with_thinking_off_on_flash() {
        let json: serde_json::Value =
            serde_json::from_slice(&generate_body("gemini-flash-latest").unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "contents": [{"role": "user", "parts": [{"text": "ping"}]}],
                "generationConfig": {
                    "maxOutputTokens": 1,
                    "candidateCount": 1,
                    "thinkingConfig": {"thinkingBudget": 0}
                }
            })
        );
        let pro: serde_json::Value =
            serde_json::from_slice(&generate_body("gemini-2.5-pro").unwrap()).unwrap();
        assert!(pro["generationConfig"].get("thinkingConfig").is_none(), "{pro}");
        assert_eq!(pro["generationConfig"]["maxOutputTokens"], 1);
    }

    #[test]
    fn an_answer_without_text_is_a_healthy_upstream_and_errors_say_what_they_prove() {
        let no_text = Err(GeminiError::NoText {
            finish_reason: "MAX_TOKENS".into(),
        });
        assert_eq!(state(&no_text), Some(UpstreamState::Ok));
        assert_eq!(state(&Ok(())), Some(UpstreamState::Ok));
        let region = Err(GeminiError::Region { message: "x".into() });
        assert_eq!(state(&region), Some(UpstreamState::RegionBlocked));
        let auth = Err(GeminiError::Auth { reason: "x".into() });
        assert_eq!(state(&auth), Some(UpstreamState::AuthFailed));
        let quota = Err(GeminiError::Quota { retry_after: None });
        assert_eq!(state(&quota), Some(UpstreamState::Quota));
        assert_eq!(
            state(&Err(GeminiError::Timeout)),
            Some(UpstreamState::Unreachable)
        );
        assert_eq!(state(&Err(GeminiError::Unavailable { status: 503 })), None);
    }

    #[test]
    fn modes_have_their_configuration_names() {
        assert_eq!(ProbeMode::default(), ProbeMode::Generate);
        let names: Vec<_> = [ProbeMode::Generate, ProbeMode::Models, ProbeMode::Off]
            .map(ProbeMode::as_str)
            .to_vec();
        assert_eq!(names, ["generate", "models", "off"]);
    }
}
