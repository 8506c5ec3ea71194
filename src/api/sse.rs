//! The `text/event-stream` answer of the `*/stream` operations: `event: delta`
//! with `{text}`, then `event: done` with `{finishReason, model, usage?}`, or
//! `event: error` with the error object, then the end; `: keepalive` comments
//! while Gemini is quiet. Each event is flushed as it is produced.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use poem::{Body, IntoResponse, Response};
use poem_openapi::{
    ApiResponse, Object,
    payload::Payload,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::Type,
};

use super::UsageReply;
use crate::{
    domain::language::Language,
    error::{ApiError, ErrorCode},
    gemini::{AnswerStream, StreamEvent, Usage},
};

/// The data of one stream event (which fields appear depends on the event).
///
/// - `event: delta` — `{text}`: more of the answer, to append;
/// - `event: done` — `{finishReason, model, usage?}`: the answer is complete;
/// - `event: error` — `{error, code, retryAfterSeconds?}` (an `ErrorBody`, in the
///   request's language): the stream failed after it had started; it ends here.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename_all = "camelCase", skip_serializing_if_is_none)]
pub struct StreamEventData {
    /// `delta`: the next piece of the answer (Markdown).
    pub text: Option<String>,
    /// `done`: Gemini's finish reason.
    pub finish_reason: Option<String>,
    /// `done`: the model id that answered.
    pub model: Option<String>,
    /// `done`: token counts.
    pub usage: Option<UsageReply>,
    /// `error`: a message for the person using the app, in the request's language.
    pub error: Option<String>,
    /// `error`: the error code.
    pub code: Option<ErrorCode>,
    /// `error`: seconds to wait before retrying.
    pub retry_after_seconds: Option<u64>,
}

/// A streamed answer as an HTTP response.
pub struct SseAnswer {
    stream: AnswerStream,
    keepalive: Duration,
    language: Language,
}

impl SseAnswer {
    /// The response for an opened stream; an `error` event is written in `language`.
    pub fn new(stream: AnswerStream, keepalive: Duration, language: Language) -> Self {
        Self {
            stream,
            keepalive,
            language,
        }
    }
}

impl Payload for SseAnswer {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        StreamEventData::schema_ref()
    }

    fn register(registry: &mut Registry) {
        StreamEventData::register(registry);
    }
}

impl ApiResponse for SseAnswer {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Server-Sent Events: `delta` events, then `done` (or `error`).",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        StreamEventData::register(registry);
    }
}

/// One SSE event in our format; `data` is one line of JSON.
fn event(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The JSON of a `delta` or `done` event.
fn data_json(data: &StreamEventData) -> String {
    use poem_openapi::types::ToJSON;
    data.to_json().map(|v| v.to_string()).unwrap_or_default()
}

fn usage_reply(usage: &Usage) -> UsageReply {
    UsageReply {
        prompt_tokens: usage.prompt_tokens,
        response_tokens: usage.response_tokens,
        total_tokens: usage.total_tokens,
    }
}

struct State {
    stream: AnswerStream,
    keepalive: tokio::time::Interval,
    language: Language,
    over: bool,
}

impl IntoResponse for SseAnswer {
    fn into_response(self) -> Response {
        let mut keepalive = tokio::time::interval(self.keepalive);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        keepalive.reset();
        let state = State {
            stream: self.stream,
            keepalive,
            language: self.language,
            over: false,
        };
        let body = futures_util::stream::unfold(state, |mut state| async move {
            if state.over {
                return None;
            }
            let bytes = tokio::select! {
                biased;
                next = state.stream.next() => {
                    state.keepalive.reset();
                    match next {
                        Some(Ok(StreamEvent::Delta(text))) => event(
                            "delta",
                            &data_json(&StreamEventData { text: Some(text), ..Default::default() }),
                        ),
                        Some(Ok(StreamEvent::Done(done))) => {
                            state.over = true;
                            let data = StreamEventData {
                                finish_reason: Some(done.finish_reason),
                                model: Some(done.model),
                                usage: done.usage.as_ref().map(usage_reply),
                                ..Default::default()
                            };
                            event("done", &data_json(&data))
                        }
                        Some(Err(error)) => {
                            state.over = true;
                            tracing::warn!(error = %error, "gemini stream failed after it started");
                            event("error", &ApiError::from(error).json(state.language))
                        }
                        None => return None,
                    }
                }
                _ = state.keepalive.tick() => Bytes::from_static(b": keepalive\n\n"),
            };
            Some((Ok::<_, std::io::Error>(bytes), state))
        });
        Response::builder()
            .content_type("text/event-stream")
            .header("cache-control", "no-cache")
            .header("x-accel-buffering", "no")
            .body(Body::from_bytes_stream(body.boxed()))
    }
}
