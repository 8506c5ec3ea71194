//! `POST /api/chat`: one turn of the welding expert chat.

use poem_openapi::{Enum, Object, OpenApi, param::Header, payload::Json};

use super::{
    Ai, AnswerLanguage, AnswerReply, ApiTags, Caller, SseAnswer, auth::AiAuth, json_string::JsonString,
};
use crate::{
    domain::{
        history::{self, HistoryBudget, Role, Turn},
        language::Language,
        prompt::Prompt,
    },
    error::{ApiError, Invalid},
};

/// The longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// The welding expert chat.
pub struct ChatApi {
    ai: Ai,
}

impl ChatApi {
    /// The API over the shared Gemini client and budget.
    pub fn new(ai: Ai) -> Self {
        Self { ai }
    }
}

/// Who said a history turn.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum HistoryRole {
    /// The person.
    User,
    /// The assistant.
    Model,
}

/// One part of a turn in Gemini's own shape.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HistoryPart {
    /// The part's text; parts without text are ignored.
    pub text: Option<JsonString>,
}

/// An earlier turn: `{role, text}` or Gemini's own `{role, parts: [{text}]}`.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct HistoryItem {
    /// Who said it.
    pub role: HistoryRole,
    /// The turn's text (the simple shape).
    pub text: Option<JsonString>,
    /// The turn's parts (Gemini's shape); their texts are joined.
    pub parts: Option<Vec<HistoryPart>>,
}

/// A chat message with the conversation so far.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase", example)]
pub struct ChatRequest {
    /// The user's new message (1 to 20,000 characters).
    #[oai(validator(max_length = 20000))]
    pub message: JsonString,
    /// Earlier turns, oldest first. Leading model turns (a greeting) are dropped,
    /// consecutive turns of one role merged, empty ones skipped, and only the
    /// newest turns within the server's budget are sent to Gemini.
    pub history: Option<Vec<HistoryItem>>,
    /// The answer's language; else `Accept-Language`, else Russian.
    pub language: Option<AnswerLanguage>,
}

impl poem_openapi::types::Example for ChatRequest {
    fn example() -> Self {
        Self {
            message: "Какой электрод взять для трубы из 09Г2С, стенка 6 мм?".into(),
            history: Some(vec![HistoryItem {
                role: HistoryRole::Model,
                text: None,
                parts: Some(vec![HistoryPart {
                    text: Some("Здравствуйте! Я эксперт по сварке.".into()),
                }]),
            }]),
            language: Some(AnswerLanguage::Ru),
        }
    }
}

#[OpenApi(tag = "ApiTags::Chat")]
impl ChatApi {
    /// Ask the welding expert
    ///
    /// Sends the message and the conversation so far to Gemini with a welding-expert
    /// system instruction and returns the answer in Markdown. The server keeps no
    /// chat state: send the history with every request.
    #[oai(path = "/api/chat", method = "post", operation_id = "chat")]
    async fn chat(
        &self,
        auth: AiAuth,
        req: &poem::Request,
        body: Json<ChatRequest>,
        /// Used for the answer's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<Json<AnswerReply>, ApiError> {
        let Json(request) = body;
        let language = request_language(&request, accept_language.0.as_deref());
        let prompt = build_prompt(request, language).map_err(|e| e.in_language(language))?;
        let answer = self.ai.answer(prompt, language, &Caller::of(&auth, req)).await?;
        Ok(Json(answer.into()))
    }

    /// Ask the welding expert, streamed
    ///
    /// The same as `chat`, but the answer arrives as Server-Sent Events while Gemini
    /// writes it: `delta` events with `{text}`, then `done` with
    /// `{finishReason, model, usage?}` — or `error` with the error object if the
    /// stream fails after it started. Anything that fails before the first text is
    /// a normal JSON error. `: keepalive` comments keep idle proxies from closing
    /// a slow answer. Past Gemini's per-minute quota the question waits its turn
    /// in a fair line: the response is then `200` at once with `waiting` events
    /// `{place, estimateSeconds}` (place 1 is sent next; repeated as the line
    /// moves, with a `: waiting` comment every second) before the first `delta`,
    /// and a failure after that is an `error` event. Closing the stream takes the
    /// question out of the line.
    #[oai(path = "/api/chat/stream", method = "post", operation_id = "chatStream")]
    async fn chat_stream(
        &self,
        auth: AiAuth,
        req: &poem::Request,
        body: Json<ChatRequest>,
        /// Used for the answer's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<SseAnswer, ApiError> {
        let Json(request) = body;
        let language = request_language(&request, accept_language.0.as_deref());
        let prompt = build_prompt(request, language).map_err(|e| e.in_language(language))?;
        self.ai.stream(prompt, language, &Caller::of(&auth, req)).await
    }
}

/// The language of the answer and of its errors: the request's, else `Accept-Language`'s, else Russian.
fn request_language(request: &ChatRequest, accept_language: Option<&str>) -> Language {
    Language::resolve(request.language.map(Into::into), accept_language)
}

fn build_prompt(request: ChatRequest, language: Language) -> Result<Prompt, ApiError> {
    let message = request.message.into_inner();
    if message.trim().is_empty() {
        return Err(ApiError::invalid(Invalid::Empty {
            field: "message".to_owned(),
        }));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(Invalid::TooLong {
            field: "message".to_owned(),
            max: MAX_MESSAGE_CHARS as u64,
        }));
    }
    let turns = history_turns(request.history)?;
    let turns = history::normalise(turns, &message, HistoryBudget::default());
    Ok(Prompt::chat(language, turns))
}

/// The turns of a request's `history`, in order, before normalisation.
pub(super) fn history_turns(history: Option<Vec<HistoryItem>>) -> Result<Vec<Turn>, ApiError> {
    let mut turns = Vec::new();
    for (index, item) in history.unwrap_or_default().into_iter().enumerate() {
        let role = match item.role {
            HistoryRole::User => Role::User,
            HistoryRole::Model => Role::Model,
        };
        let text = match (item.text, item.parts) {
            (Some(text), _) => text.into_inner(),
            (None, Some(parts)) => parts
                .into_iter()
                .filter_map(|p| p.text.map(JsonString::into_inner))
                .collect::<Vec<_>>()
                .join(""),
            (None, None) => {
                return Err(ApiError::invalid(Invalid::NoText {
                    field: format!("history[{index}]"),
                }));
            }
        };
        turns.push(Turn::new(role, text));
    }
    Ok(turns)
}
