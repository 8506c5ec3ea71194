//! The `/api` operations (poem-openapi), one `XxxApi` per file (or folder),
//! combined as a tuple. Handlers are thin: extract, validate the request's
//! shape, hand the rules to `domain` (prompts, sampling, the photo check), call
//! the Gemini client, map. `upstream_error` is where Gemini's errors become
//! `ApiError`s.
//!
//! Must not hold the assistant's rules (they are `domain`'s) nor know Gemini's
//! wire format (it is `gemini`'s).

mod analyze;
mod auth;
mod chat;
mod json_string;
mod meta;
mod session;
mod sse;
mod upload;
mod upstream_error;

use std::{sync::Arc, time::Duration};

use poem_openapi::{Object, OpenApiService, Tags};

pub use analyze::AnalyzeApi;
pub use chat::ChatApi;
pub use meta::MetaApi;
pub use session::SessionApi;

pub use sse::SseAnswer;

use crate::{
    domain::{language::Language, prompt::Prompt},
    error::ApiError,
    gemini::{Answer, GeminiClient, GeminiError, Usage},
    guard::budget::{DailyBudget, Refusal, Reservation},
    metrics::Metrics,
};

/// The combined API, as served and as documented.
pub type Api = (MetaApi, SessionApi, ChatApi, AnalyzeApi);

/// What the AI operations share: the Gemini client, the daily budget, metrics,
/// and the keepalive interval of streams.
#[derive(Clone)]
pub struct Ai {
    gemini: GeminiClient,
    budget: Arc<DailyBudget>,
    metrics: Arc<Metrics>,
    keepalive: Duration,
}

impl Ai {
    /// The client and the budget its calls count against.
    pub fn new(
        gemini: GeminiClient,
        budget: Arc<DailyBudget>,
        metrics: Arc<Metrics>,
        keepalive: Duration,
    ) -> Self {
        Self {
            gemini,
            budget,
            metrics,
            keepalive,
        }
    }

    async fn reserve(&self) -> Result<Reservation, ApiError> {
        if !self.gemini.is_configured() {
            return Err(GeminiError::NotConfigured.into());
        }
        self.budget.reserve().await.map_err(|refusal| {
            self.metrics.observe_budget_refused();
            match refusal {
                Refusal::Exhausted { retry_after } => ApiError::budget_exhausted(retry_after),
                Refusal::Unavailable => ApiError::limits_unavailable(),
            }
        })
    }

    /// Keeps the unit spent, or gives it back when no upstream call happened.
    async fn settle(&self, reservation: Reservation, called_upstream: bool) {
        if called_upstream {
            self.budget.settle(reservation);
        } else {
            self.budget.release(reservation).await;
        }
    }

    /// Streams an answer, counting the call against the daily budget; fails as a
    /// normal error until Gemini's first text has arrived. Errors, before and
    /// during the stream, are written in `language`.
    pub async fn stream(&self, prompt: Prompt, language: Language) -> Result<SseAnswer, ApiError> {
        let reservation = self.reserve().await.map_err(|e| e.in_language(language))?;
        let result = self.gemini.stream(prompt).await;
        self.settle(reservation, called_upstream(&result)).await;
        let stream = result.map_err(|e| ApiError::from(e).in_language(language))?;
        Ok(SseAnswer::new(stream, self.keepalive, language))
    }

    /// Asks Gemini, counting the call against the daily budget (reserved first,
    /// given back when no upstream call happened). Errors are written in `language`.
    pub async fn answer(&self, prompt: Prompt, language: Language) -> Result<Answer, ApiError> {
        let reservation = self.reserve().await.map_err(|e| e.in_language(language))?;
        let result = self.gemini.generate(prompt).await;
        self.settle(reservation, called_upstream(&result)).await;
        result.map_err(|e| ApiError::from(e).in_language(language))
    }
}

/// Whether a Gemini call reached Gemini (and so spent a unit of the budget).
fn called_upstream<T>(result: &Result<T, GeminiError>) -> bool {
    !matches!(
        result,
        Err(GeminiError::NotConfigured | GeminiError::Unreachable(_))
    )
}

/// The OpenAPI service of the whole API.
pub fn service(api: Api) -> OpenApiService<Api, ()> {
    OpenApiService::new(api, "Weld Assistant API", env!("CARGO_PKG_VERSION"))
        .description(
            "A welding assistant: a chat with a welding expert and an analysis of weld photos, \
             answered by Google Gemini on the server. Every error is JSON \
             `{\"error\", \"code\", \"retryAfterSeconds\"?}`: `code` is one of `ErrorCode` and \
             never changes with the language; `error` is a message for the person using the app, \
             in the request's `language`, else `Accept-Language` (Russian or English), else Russian.",
        )
        .server("/")
}

/// The OpenAPI document as served at `/openapi.json` and committed in `openapi/`.
pub fn spec_json(api: Api) -> String {
    let mut spec = service(api).spec();
    spec.push('\n');
    spec
}

#[derive(Tags)]
enum ApiTags {
    /// The welding expert chat.
    Chat,
    /// Weld photo analysis.
    Analyze,
    /// Health and service information.
    Meta,
    /// The browser session.
    Session,
}

/// The language of the answer.
#[derive(Debug, Clone, Copy, poem_openapi::Enum)]
#[oai(rename_all = "lowercase")]
pub enum AnswerLanguage {
    /// Russian (the default).
    Ru,
    /// English.
    En,
}

impl From<AnswerLanguage> for Language {
    fn from(value: AnswerLanguage) -> Self {
        match value {
            AnswerLanguage::Ru => Language::Ru,
            AnswerLanguage::En => Language::En,
        }
    }
}

/// Token counts of an answer, from Gemini's `usageMetadata`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct UsageReply {
    /// Tokens of the prompt (instructions, history, image).
    pub prompt_tokens: u32,
    /// Tokens of the visible answer.
    pub response_tokens: u32,
    /// All tokens billed, thinking included.
    pub total_tokens: u32,
}

/// A generated answer.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase", example)]
pub struct AnswerReply {
    /// The answer, in Markdown.
    pub text: String,
    /// Gemini's finish reason, passed through: `STOP`, `MAX_TOKENS` (text cut short), …
    pub finish_reason: String,
    /// The model id that answered, as configured.
    pub model: String,
    /// Token counts, when Gemini reported them.
    #[oai(skip_serializing_if_is_none)]
    pub usage: Option<UsageReply>,
}

impl poem_openapi::types::Example for AnswerReply {
    fn example() -> Self {
        Self {
            text: "Для стали 09Г2С толщиной 6 мм подойдут электроды **УОНИ-13/55** диаметром 3 мм…"
                .to_owned(),
            finish_reason: "STOP".to_owned(),
            model: "gemini-flash-latest".to_owned(),
            usage: Some(UsageReply {
                prompt_tokens: 87,
                response_tokens: 41,
                total_tokens: 311,
            }),
        }
    }
}

impl From<Answer> for AnswerReply {
    fn from(answer: Answer) -> Self {
        Self {
            text: answer.text,
            finish_reason: answer.finish_reason,
            model: answer.model,
            usage: answer.usage.map(
                |Usage {
                     prompt_tokens,
                     response_tokens,
                     total_tokens,
                 }| UsageReply {
                    prompt_tokens,
                    response_tokens,
                    total_tokens,
                },
            ),
        }
    }
}
