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
mod voice;

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;

use poem_openapi::{Object, OpenApiService, Tags};

pub use analyze::AnalyzeApi;
pub use chat::ChatApi;
pub use meta::MetaApi;
pub use session::SessionApi;
pub use voice::{VoiceApi, VoiceLimits};

pub use sse::SseAnswer;

use crate::{
    domain::{language::Language, prompt::Prompt},
    error::ApiError,
    gemini::{Answer, GeminiClient, GeminiError, Usage},
    guard::budget::{DailyBudget, Refusal, Reservation},
    http::request_log::WaitNote,
    metrics::Metrics,
    quota::{self, Admission, Line},
};

/// The combined API, as served and as documented.
pub type Api = (MetaApi, SessionApi, ChatApi, VoiceApi, AnalyzeApi);

/// What the AI operations share: the Gemini client, the waiting line in front
/// of its quota, the daily budget, metrics, and the keepalive interval of streams.
#[derive(Clone)]
pub struct Ai {
    gemini: GeminiClient,
    line: Line,
    budget: Arc<DailyBudget>,
    metrics: Arc<Metrics>,
    keepalive: Duration,
}

impl Ai {
    /// The client and the budget its calls count against.
    pub fn new(
        gemini: GeminiClient,
        line: Line,
        budget: Arc<DailyBudget>,
        metrics: Arc<Metrics>,
        keepalive: Duration,
    ) -> Self {
        Self {
            gemini,
            line,
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

    /// Reserves a unit of the daily budget and encodes the prompt once for
    /// every attempt (the unit goes back if it cannot be encoded).
    async fn prepare(
        &self,
        prompt: Prompt,
        language: Language,
    ) -> Result<(Reservation, bytes::Bytes), ApiError> {
        let reservation = self.reserve().await.map_err(|e| e.in_language(language))?;
        match GeminiClient::encode(prompt) {
            Ok(body) => Ok((reservation, body)),
            Err(error) => {
                self.settle(reservation, false).await;
                Err(ApiError::from(error).in_language(language))
            }
        }
    }

    /// Keeps the unit spent, or gives it back when no upstream call happened.
    async fn settle(&self, reservation: Reservation, called_upstream: bool) {
        if called_upstream {
            self.budget.settle(reservation);
        } else {
            self.budget.release(reservation).await;
        }
    }

    /// Streams an answer, counting the call against the daily budget. Past
    /// Gemini's quota the question waits its turn in line: the response then
    /// starts at once with `waiting` events. Until the stream is answered (or
    /// waiting), failures are normal errors. Errors are written in `language`.
    pub async fn stream(
        &self,
        prompt: Prompt,
        language: Language,
        caller: &Caller,
    ) -> Result<SseAnswer, ApiError> {
        let person = caller.person.as_str();
        let (reservation, body) = self.prepare(prompt, language).await?;
        let joined = Instant::now();
        let waiter = match self.line.enter(person).await {
            Err(refusal) => {
                self.settle(reservation, false).await;
                return Err(self.refused(&refusal).in_language(language));
            }
            Ok(Admission::Now(grant)) => {
                let result = self.gemini.stream_encoded(body.clone(), grant.model).await;
                if !must_wait(&result, &self.line) {
                    self.settle(reservation, called_upstream(&result)).await;
                    let stream = result.map_err(|e| ApiError::from(e).in_language(language))?;
                    return Ok(SseAnswer::new(stream, self.keepalive, language));
                }
                match self.line.rejoin(person, joined) {
                    Ok(waiter) => waiter,
                    Err(refusal) => {
                        self.settle(reservation, true).await;
                        return Err(self.refused(&refusal).in_language(language));
                    }
                }
            }
            Ok(Admission::Wait(waiter)) => waiter,
        };
        let position = waiter.position();
        if let Some(note) = &caller.note {
            note.still_waiting();
        }
        let ai = self.clone();
        let person = person.to_owned();
        let turn = async move {
            let mut waiter = waiter;
            let mut called = false;
            let result = loop {
                let grant = match waiter.turn().await {
                    Ok(grant) => grant,
                    Err(refusal) => break Err(ai.refused(&refusal)),
                };
                ai.waited(grant.waited);
                let result = ai.gemini.stream_encoded(body.clone(), grant.model).await;
                called |= called_upstream(&result);
                if !must_wait(&result, &ai.line) {
                    break result.map_err(ApiError::from);
                }
                match ai.line.rejoin(&person, joined) {
                    Ok(next) => waiter = next,
                    Err(refusal) => break Err(ai.refused(&refusal)),
                }
            };
            ai.settle(reservation, called).await;
            result.map_err(|e| e.in_language(language))
        };
        Ok(SseAnswer::waiting(
            Box::pin(turn),
            position,
            self.keepalive,
            language,
        ))
    }

    /// Asks Gemini, counting the call against the daily budget (reserved first,
    /// given back when no upstream call happened). Past Gemini's quota the
    /// question waits its turn in line (within the line's bounds). Errors are
    /// written in `language`.
    pub async fn answer(
        &self,
        prompt: Prompt,
        language: Language,
        caller: &Caller,
    ) -> Result<Answer, ApiError> {
        let person = caller.person.as_str();
        let (reservation, body) = self.prepare(prompt, language).await?;
        let joined = Instant::now();
        let mut admission = self.line.enter(person).await;
        let mut called = false;
        let result = loop {
            let grant = match admission {
                Ok(Admission::Now(grant)) => grant,
                Ok(Admission::Wait(mut waiter)) => match waiter.turn().await {
                    Ok(grant) => {
                        self.waited(grant.waited);
                        if let Some(note) = &caller.note {
                            note.waited(joined.elapsed());
                        }
                        grant
                    }
                    Err(refusal) => break Err(self.refused(&refusal)),
                },
                Err(refusal) => break Err(self.refused(&refusal)),
            };
            let result = self.gemini.generate_encoded(body.clone(), grant.model).await;
            called |= called_upstream(&result);
            if !must_wait(&result, &self.line) {
                break result.map_err(ApiError::from);
            }
            admission = self.line.rejoin(person, joined).map(Admission::Wait);
        };
        self.settle(reservation, called).await;
        result.map_err(|e| e.in_language(language))
    }

    /// The error of a question the line did not take or keep.
    fn refused(&self, refusal: &quota::Refusal) -> ApiError {
        use crate::error::{ErrorCode, Waiting};
        self.metrics.observe_line_refused(refusal.label());
        let (code, waiting) = match refusal {
            quota::Refusal::PersonFull { max, .. } => {
                (ErrorCode::UpstreamQuota, Waiting::PersonFull { max: *max })
            }
            quota::Refusal::LineFull { max, .. } => {
                (ErrorCode::UpstreamQuota, Waiting::LineFull { max: *max })
            }
            quota::Refusal::TooLong { max_seconds, .. } => (
                ErrorCode::UpstreamQuota,
                Waiting::TooLong {
                    max_seconds: *max_seconds,
                },
            ),
            quota::Refusal::Day { reset } => (
                ErrorCode::UpstreamQuota,
                Waiting::Day {
                    moscow: crate::quota::clock::moscow_clock(*reset),
                },
            ),
            quota::Refusal::Closing => (ErrorCode::UpstreamUnavailable, Waiting::Closing),
        };
        ApiError::new(code)
            .detail(crate::error::Detail::Waiting(waiting))
            .retry_after(Some(refusal.retry_after()))
    }

    /// Notes how long a question waited in line, for the metrics and the request log.
    fn waited(&self, waited: Duration) {
        self.metrics.observe_line_wait(waited.as_secs_f64());
        tracing::info!(
            target: "weld_assistant::quota",
            waited_ms = waited.as_millis() as u64,
            "a question's turn came after waiting in line"
        );
    }
}

/// Who asks, for the waiting line (the person it is fair between) and the
/// request log (how long the request waited).
pub struct Caller {
    /// The person: one session or one token.
    pub person: String,
    /// The request log's note, when the request has one.
    pub note: Option<WaitNote>,
}

impl Caller {
    /// The caller of a request the guard let in.
    pub fn of(auth: &auth::AiAuth, req: &poem::Request) -> Self {
        Self {
            person: auth.person(),
            note: req.extensions().get::<WaitNote>().cloned(),
        }
    }
}

/// Whether a call's result sends the question (back) into the line: Gemini's
/// quota for the minute is taken (or the day's, while a model still has one).
fn must_wait<T>(result: &Result<T, GeminiError>, line: &Line) -> bool {
    match result {
        Err(GeminiError::Quota { .. }) => true,
        Err(GeminiError::DailyQuota) => line.book().day_gone().is_none(),
        _ => false,
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
            "A welding assistant: a chat with a welding expert (typed or spoken) and an analysis of weld photos, \
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
