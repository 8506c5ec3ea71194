//! `POST /api/chat/voice`: a spoken question to the welding expert chat. The
//! recording goes to Gemini inline with the conversation so far; Gemini writes
//! what it heard on the answer's first line, which is taken off as `transcript`
//! (`domain::transcript`). Nothing of the recording is kept or logged.

use poem_openapi::{Object, OpenApi, param::Header, payload::Json};

use super::{
    Ai, AnswerLanguage, ApiTags, Caller, SseAnswer, UsageReply,
    auth::AiAuth,
    chat::{HistoryItem, history_turns},
    json_string::JsonString,
};
use crate::{
    domain::{
        audio::{AudioType, Recording},
        history::{self, HistoryBudget},
        image::{self, ImageError},
        language::Language,
        prompt::Prompt,
        transcript::{self, VOICE_TURN},
    },
    error::{ApiError, Detail, ErrorCode, Invalid},
    gemini::Answer,
};

/// Spoken questions to the welding expert chat.
pub struct VoiceApi {
    ai: Ai,
    limits: VoiceLimits,
}

/// How large and how long a recording may be.
#[derive(Debug, Clone, Copy)]
pub struct VoiceLimits {
    /// Decoded bytes.
    pub max_bytes: usize,
    /// Seconds, where the format states its length.
    pub max_seconds: u64,
}

impl VoiceApi {
    /// The API over the shared Gemini client and budget, with the recording limits.
    pub fn new(ai: Ai, limits: VoiceLimits) -> Self {
        Self { ai, limits }
    }
}

/// The recording of a spoken question.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct VoiceAudio {
    /// Its type, one Gemini accepts inline: `audio/wav`, `audio/mp3`, `audio/aiff`,
    /// `audio/aac` (ADTS), `audio/ogg` (Vorbis) or `audio/flac` (the aliases
    /// `audio/x-wav`, `audio/wave`, `audio/mpeg`, `audio/x-aiff`, `audio/x-flac` too;
    /// parameters such as `;codecs=` are ignored). The bytes must match it.
    pub mime_type: JsonString,
    /// The recording as standard base64 (a `data:audio/...;base64,` prefix is
    /// allowed). Decoded, at most `WELD_VOICE_MAX_BYTES` (2 MiB by default) and
    /// `WELD_VOICE_MAX_SECONDS` long (60 s by default).
    pub data: JsonString,
}

/// A spoken question with the conversation so far.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct VoiceRequest {
    /// The recording of the question.
    pub audio: VoiceAudio,
    /// Earlier turns, oldest first, as in `chat` (earlier spoken questions as
    /// their transcripts).
    pub history: Option<Vec<HistoryItem>>,
    /// The answer's language; else `Accept-Language`, else Russian. The
    /// transcript is in the language spoken.
    pub language: Option<AnswerLanguage>,
}

/// The answer to a spoken question.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase", example)]
pub struct VoiceReply {
    /// What Gemini heard, to show as the person's message; absent when Gemini
    /// did not write the transcript line.
    #[oai(skip_serializing_if_is_none)]
    pub transcript: Option<String>,
    /// The answer, in Markdown.
    pub text: String,
    /// Gemini's finish reason, passed through: `STOP`, `MAX_TOKENS` (text cut short), …
    pub finish_reason: String,
    /// The model id that answered, as configured.
    pub model: String,
    /// Token counts, when Gemini reported them (a second of audio is about 32 tokens).
    #[oai(skip_serializing_if_is_none)]
    pub usage: Option<UsageReply>,
}

impl poem_openapi::types::Example for VoiceReply {
    fn example() -> Self {
        Self {
            transcript: Some("Какой ток ставить на электрод УОНИ-13/55 тройку?".to_owned()),
            text: "Для электрода **УОНИ-13/55** диаметром 3 мм в нижнем положении — 80–110 А…".to_owned(),
            finish_reason: "STOP".to_owned(),
            model: "gemini-flash-latest".to_owned(),
            usage: None,
        }
    }
}

impl From<Answer> for VoiceReply {
    fn from(answer: Answer) -> Self {
        let reply = super::AnswerReply::from(answer);
        let (transcript, text) = transcript::split(&reply.text);
        Self {
            transcript,
            text,
            finish_reason: reply.finish_reason,
            model: reply.model,
            usage: reply.usage,
        }
    }
}

#[OpenApi(tag = "ApiTags::Chat")]
impl VoiceApi {
    /// Ask the welding expert by voice
    ///
    /// Sends the recording (inline, as it is) and the conversation so far to
    /// Gemini, which hears the question and answers it. The reply carries
    /// `transcript`, what Gemini heard, to show as the person's message (send
    /// it as a `user` turn of the `history` of later questions), and the answer
    /// in Markdown. The same limits, budget and waiting line as `chat` apply.
    /// The recording is not stored or logged.
    #[oai(path = "/api/chat/voice", method = "post", operation_id = "chatVoice")]
    async fn voice(
        &self,
        auth: AiAuth,
        req: &poem::Request,
        body: Json<VoiceRequest>,
        /// Used for the answer's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<Json<VoiceReply>, ApiError> {
        let Json(request) = body;
        let language = Language::resolve(request.language.map(Into::into), accept_language.0.as_deref());
        let prompt = self
            .prompt(request, language)
            .map_err(|e| e.in_language(language))?;
        let answer = self.ai.answer(prompt, language, &Caller::of(&auth, req)).await?;
        Ok(Json(answer.into()))
    }

    /// Ask the welding expert by voice, streamed
    ///
    /// The same as `chatVoice`, streamed like `chatStream`: first an event
    /// `transcript` with `{transcript}` (what Gemini heard; left out when Gemini
    /// did not write it), then `delta` events, then `done` — or `error`.
    #[oai(
        path = "/api/chat/voice/stream",
        method = "post",
        operation_id = "chatVoiceStream"
    )]
    async fn voice_stream(
        &self,
        auth: AiAuth,
        req: &poem::Request,
        body: Json<VoiceRequest>,
        /// Used for the answer's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<SseAnswer, ApiError> {
        let Json(request) = body;
        let language = Language::resolve(request.language.map(Into::into), accept_language.0.as_deref());
        let prompt = self
            .prompt(request, language)
            .map_err(|e| e.in_language(language))?;
        let answer = self.ai.stream(prompt, language, &Caller::of(&auth, req)).await?;
        Ok(answer.with_transcript())
    }
}

impl VoiceApi {
    /// The prompt of a spoken question: the recording decoded and checked, the
    /// history normalised, the voice turn last.
    fn prompt(&self, request: VoiceRequest, language: Language) -> Result<Prompt, ApiError> {
        let VoiceAudio { mime_type, data } = request.audio;
        if mime_type.as_str().trim().is_empty() {
            return Err(ApiError::invalid(Invalid::Empty {
                field: "audio.mimeType".to_owned(),
            }));
        }
        let kind = AudioType::from_mime(mime_type.as_str())?;
        let bytes =
            image::decode_base64("audio.data", data.as_str(), self.limits.max_bytes).map_err(|error| {
                match error {
                    ImageError::TooLarge { limit } => {
                        ApiError::new(ErrorCode::PayloadTooLarge).detail(Detail::AudioLimit(limit))
                    }
                    other => ApiError::from(other),
                }
            })?;
        drop(data);
        let recording = Recording::check(kind, bytes, self.limits.max_seconds)?;
        let turns = history_turns(request.history)?;
        let turns = history::normalise(turns, VOICE_TURN, HistoryBudget::default());
        Ok(Prompt::voice(language, turns, recording))
    }
}
