//! What we ask Gemini: the `Prompt` the domain builds, turned into the JSON body
//! of a `generateContent` call. The photos (or the recording) arrive as bytes and
//! are base64-encoded here, once, straight into the body.
//!
//! Must not send anything (that is `client`) nor read answers (that is `response`).

use bytes::Bytes;

use super::{error::GeminiError, wire};
use crate::domain::{
    history::Role,
    prompt::{InlineMedia, Prompt},
};

/// The request body of a prompt, serialised once (attempts and failover reuse it).
pub(super) fn body(prompt: &Prompt) -> Result<Bytes, GeminiError> {
    let image: usize = prompt
        .media
        .iter()
        .map(|i| i.bytes.len().div_ceil(3) * 4 + 64)
        .sum();
    let text: usize = prompt.turns.iter().map(|t| t.text.len()).sum::<usize>() + prompt.system.len();
    // Text may grow when escaped; a little slack avoids a regrowth (a photo's
    // copy) in the common case.
    encode(&build(prompt), image + text + text / 8 + 512)
}

/// Serialises a request into a buffer of `capacity` bytes.
pub(super) fn encode(request: &wire::GenerateRequest<'_>, capacity: usize) -> Result<Bytes, GeminiError> {
    let mut out = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut out, request)
        .map_err(|e| GeminiError::Malformed(format!("the request could not be encoded: {e}")))?;
    Ok(out.into())
}

/// The wire request of a prompt: the photos (or the recording) go, in order,
/// each as its own `inlineData` part, before the text of the last turn.
pub(super) fn build(prompt: &Prompt) -> wire::GenerateRequest<'_> {
    let last = prompt.turns.len().saturating_sub(1);
    let contents = prompt
        .turns
        .iter()
        .enumerate()
        .map(|(index, turn)| {
            let media: &[InlineMedia] = if index == last { &prompt.media } else { &[] };
            let mut parts = Vec::with_capacity(media.len() + 1);
            parts.extend(media.iter().map(|file| wire::Part::Inline {
                inline_data: wire::InlineData {
                    mime_type: file.mime,
                    data: wire::Base64(&file.bytes),
                },
            }));
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
        system_instruction: Some(wire::Content {
            role: None,
            parts: vec![wire::Part::Text { text: &prompt.system }],
        }),
        generation_config: wire::GenerationConfig {
            temperature: Some(prompt.sampling.temperature),
            max_output_tokens: prompt.sampling.max_output_tokens,
            candidate_count: 1,
            thinking_config: None,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use base64::Engine;

    use super::*;
    use crate::domain::{history::Turn, prompt::Sampling};

    fn photo_prompt(bytes: Vec<u8>) -> Prompt {
        Prompt {
            system: "sys".into(),
            turns: vec![Turn::new(Role::User, "look")],
            media: vec![InlineMedia {
                mime: "image/png",
                bytes: bytes.into(),
            }],
            sampling: Sampling {
                temperature: 0.2,
                max_output_tokens: 100,
            },
        }
    }

    #[test]
    fn the_request_puts_the_image_before_the_text_of_the_last_turn() {
        let json: serde_json::Value =
            serde_json::from_slice(&body(&photo_prompt(vec![0, 0, 0])).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "contents": [{"role": "user", "parts": [
                    {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                    {"text": "look"}
                ]}],
                "systemInstruction": {"parts": [{"text": "sys"}]},
                "generationConfig": {"temperature": 0.2, "maxOutputTokens": 100, "candidateCount": 1}
            })
        );
    }

    #[test]
    fn several_photos_are_separate_parts_in_order_before_the_text() {
        let mut prompt = photo_prompt(vec![1]);
        prompt.media.push(InlineMedia {
            mime: "image/jpeg",
            bytes: vec![2, 2].into(),
        });
        prompt.media.push(InlineMedia {
            mime: "image/webp",
            bytes: vec![3, 3, 3].into(),
        });
        let json: serde_json::Value = serde_json::from_slice(&body(&prompt).unwrap()).unwrap();
        assert_eq!(
            json["contents"][0]["parts"],
            serde_json::json!([
                {"inlineData": {"mimeType": "image/png", "data": "AQ=="}},
                {"inlineData": {"mimeType": "image/jpeg", "data": "AgI="}},
                {"inlineData": {"mimeType": "image/webp", "data": "AwMD"}},
                {"text": "look"}
            ])
        );
    }

    #[test]
    fn the_photo_is_standard_padded_base64() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(100_003).collect();
        let encoded = body(&photo_prompt(bytes.clone())).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&encoded).unwrap();
        let data = json["contents"][0]["parts"][0]["inlineData"]["data"]
            .as_str()
            .unwrap();
        assert_eq!(data, base64::engine::general_purpose::STANDARD.encode(&bytes));
        assert!(data.ends_with('='), "padded like Gemini expects");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_photo_and_text_round_trip_through_the_body(
                bytes in prop::collection::vec(any::<u8>(), 0..600),
                text in "\\PC{0,80}",
            ) {
                let mut prompt = photo_prompt(bytes.clone());
                prompt.turns = vec![Turn::new(Role::User, text.clone())];
                let json: serde_json::Value = serde_json::from_slice(&body(&prompt).unwrap()).unwrap();
                let parts = &json["contents"][0]["parts"];
                let data = parts[0]["inlineData"]["data"].as_str().unwrap();
                prop_assert_eq!(base64::engine::general_purpose::STANDARD.decode(data).unwrap(), bytes);
                prop_assert_eq!(parts[1]["text"].as_str().unwrap(), text.as_str());
            }
        }
    }
}
