//! The `text/event-stream` answer of the `*/stream` operations: `event: delta`
//! with `{text}`, then `event: done` with `{finishReason, model, usage?}`, or
//! `event: error` with the error object, then the end; `: keepalive` comments
//! while Gemini is quiet. Each event is flushed as it is produced. The answer to
//! a spoken question first has `event: transcript` with `{transcript}`: the
//! answer's transcript line, taken off (`domain::transcript`) before any `delta`.

use std::{future::Future, pin::Pin, time::Duration};

use bytes::Bytes;
use futures_util::StreamExt;
use poem::{Body, IntoResponse, Response};
use poem_openapi::{
    ApiResponse, Object,
    payload::Payload,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::Type,
};

use tokio::sync::watch;

use super::UsageReply;
use crate::{
    domain::{
        language::Language,
        transcript::{Split, Splitter},
    },
    error::{ApiError, ErrorCode},
    gemini::{AnswerStream, StreamEvent, Usage},
    quota::Position,
};

/// The data of one stream event (which fields appear depends on the event).
///
/// - `event: delta` — `{text}`: more of the answer, to append;
/// - `event: done` — `{finishReason, model, usage?}`: the answer is complete;
/// - `event: error` — `{error, code, retryAfterSeconds?}` (an `ErrorBody`, in the
///   request's language): the stream failed after it had started; it ends here;
/// - `event: transcript` — `{transcript}`: what Gemini heard (spoken questions
///   only, before the first `delta`; left out when Gemini did not write it);
/// - `event: waiting` — `{place, estimateSeconds}`: the question waits in line for
///   Gemini's quota (place 1 is sent next); sent at once and again whenever the
///   place or the estimate changes, before the first `delta`.
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
    /// `waiting`: the place in line (1 = sent next).
    pub place: Option<u64>,
    /// `waiting`: the estimated seconds until the question is sent.
    pub estimate_seconds: Option<u64>,
    /// `transcript`: what Gemini heard of a spoken question.
    pub transcript: Option<String>,
}

/// How often a waiting stream writes a `: waiting` comment.
const WAITING_HEARTBEAT: Duration = Duration::from_secs(1);

/// The question's turn, still to come: resolves to the opened stream or an error.
pub type PendingStream = Pin<Box<dyn Future<Output = Result<AnswerStream, ApiError>> + Send>>;

/// A streamed answer as an HTTP response.
pub struct SseAnswer {
    source: Source,
    keepalive: Duration,
    language: Language,
    transcript: Option<Splitter>,
}

enum Source {
    /// Gemini's stream, opened (boxed: a waiting answer is small until its turn).
    Open(Box<AnswerStream>),
    /// Waiting in line: `waiting` events until the turn comes.
    Waiting {
        turn: PendingStream,
        position: Option<watch::Receiver<Position>>,
    },
}

impl SseAnswer {
    /// The response for an opened stream; an `error` event is written in `language`.
    pub fn new(stream: AnswerStream, keepalive: Duration, language: Language) -> Self {
        Self {
            source: Source::Open(Box::new(stream)),
            keepalive,
            language,
            transcript: None,
        }
    }

    /// The response of a question waiting in line: `waiting` events (from
    /// `position`), then the stream `turn` opens, or its error as an `error` event.
    pub fn waiting(
        turn: PendingStream,
        position: watch::Receiver<Position>,
        keepalive: Duration,
        language: Language,
    ) -> Self {
        Self {
            source: Source::Waiting {
                turn,
                position: Some(position),
            },
            keepalive,
            language,
            transcript: None,
        }
    }

    /// The answer to a spoken question: its transcript line is taken off and
    /// sent first as a `transcript` event.
    pub fn with_transcript(mut self) -> Self {
        self.transcript = Some(Splitter::new());
        self
    }
}

/// The `transcript` and `delta` events of what the splitter let through.
fn split_events(split: Split) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(transcript) = split.transcript {
        out.extend_from_slice(&event(
            "transcript",
            &data_json(&StreamEventData {
                transcript: Some(transcript),
                ..Default::default()
            }),
        ));
    }
    if !split.text.is_empty() {
        out.extend_from_slice(&delta(split.text));
    }
    out
}

fn delta(text: String) -> Bytes {
    event(
        "delta",
        &data_json(&StreamEventData {
            text: Some(text),
            ..Default::default()
        }),
    )
}

fn waiting_event(position: Position) -> Bytes {
    event(
        "waiting",
        &data_json(&StreamEventData {
            place: Some(position.place as u64),
            estimate_seconds: Some(position.estimate_seconds),
            ..Default::default()
        }),
    )
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
                description: "Server-Sent Events: `waiting` events while the question waits for Gemini's quota, then (spoken questions) `transcript`, then `delta` events, then `done` (or `error`).",
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
    source: Source,
    /// Whether the current place was sent.
    told: bool,
    keepalive: tokio::time::Interval,
    language: Language,
    over: bool,
    transcript: Option<Splitter>,
}

impl IntoResponse for SseAnswer {
    fn into_response(self) -> Response {
        let mut keepalive = tokio::time::interval(self.keepalive);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        keepalive.reset();
        let state = State {
            source: self.source,
            told: false,
            keepalive,
            language: self.language,
            over: false,
            transcript: self.transcript,
        };
        let body = futures_util::stream::unfold(state, |mut state| async move {
            if state.over {
                return None;
            }
            while let Source::Waiting { turn, position } = &mut state.source {
                if !state.told {
                    state.told = true;
                    if let Some(position) = position {
                        let now = *position.borrow_and_update();
                        return Some((Ok(waiting_event(now)), state));
                    }
                }
                let moved = async {
                    match position {
                        Some(receiver) => receiver.changed().await.is_ok(),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    opened = turn.as_mut() => match opened {
                        Ok(stream) => {
                            state.source = Source::Open(Box::new(stream));
                            state.keepalive.reset();
                        }
                        Err(error) => {
                            state.over = true;
                            return Some((Ok(event("error", &error.json(state.language))), state));
                        }
                    },
                    moved = moved => {
                        if moved {
                            state.told = false;
                        } else if let Source::Waiting { position, .. } = &mut state.source {
                            // The question left the line: its turn is being taken.
                            *position = None;
                        }
                    }
                    // While it waits, a comment every second: a client that went
                    // away (Stop, a closed tab) is only noticed when a write fails,
                    // and its question must leave the line at once.
                    () = tokio::time::sleep(WAITING_HEARTBEAT) => {
                        return Some((Ok(Bytes::from_static(b": waiting\n\n")), state));
                    }
                }
            }
            let Source::Open(stream) = &mut state.source else {
                return None;
            };
            // A spoken answer's first pieces may all be held back (the
            // transcript line is not whole yet): read on until there is
            // something to write.
            let bytes = loop {
                let bytes = tokio::select! {
                    biased;
                    next = stream.next() => {
                        state.keepalive.reset();
                        match next {
                            Some(Ok(StreamEvent::Delta(text))) => match &mut state.transcript {
                                Some(splitter) => Bytes::from(split_events(splitter.push(&text))),
                                None => delta(text),
                            },
                            Some(Ok(StreamEvent::Done(done))) => {
                                state.over = true;
                                let mut out = state
                                    .transcript
                                    .as_mut()
                                    .map(|splitter| split_events(splitter.finish()))
                                    .unwrap_or_default();
                                let data = StreamEventData {
                                    finish_reason: Some(done.finish_reason),
                                    model: Some(done.model),
                                    usage: done.usage.as_ref().map(usage_reply),
                                    ..Default::default()
                                };
                                out.extend_from_slice(&event("done", &data_json(&data)));
                                Bytes::from(out)
                            }
                            Some(Err(error)) => {
                                state.over = true;
                                tracing::warn!(error = %error, "gemini stream failed after it started");
                                let mut out = state
                                    .transcript
                                    .as_mut()
                                    .map(|splitter| split_events(splitter.finish()))
                                    .unwrap_or_default();
                                out.extend_from_slice(&event("error", &ApiError::from(error).json(state.language)));
                                Bytes::from(out)
                            }
                            None => return None,
                        }
                    }
                    _ = state.keepalive.tick() => Bytes::from_static(b": keepalive\n\n"),
                };
                if !bytes.is_empty() {
                    break bytes;
                }
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
