//! A streamed answer: Gemini's SSE chunks turned into text deltas and a final
//! `Done`, or an error. Opened only once the first text has arrived. Dropping it
//! drops the upstream connection. A finished stream records its own tokens in
//! the metrics; its errors carry upstream text only redacted.
//!
//! Reads bytes through `sse` and chunks through `response`; knows nothing of the
//! client that opened it.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::{
    error::{GeminiError, Redactor},
    lanes::Ticket,
    response::{self, Usage},
    sse::{SseItem, SseParser},
    wire,
};
use crate::metrics::Metrics;

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// More text (Markdown), to append.
    Delta(String),
    /// The answer is complete.
    Done(StreamDone),
}

/// The end of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDone {
    /// Gemini's finish reason.
    pub finish_reason: String,
    /// The configured model id that answered.
    pub model: String,
    /// The last (cumulative) token counts.
    pub usage: Option<Usage>,
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// A streamed answer in progress.
pub struct AnswerStream {
    body: ByteStream,
    parser: SseParser,
    pending: VecDeque<SseItem>,
    model: String,
    timeout: Duration,
    usage: Option<Usage>,
    finish_reason: Option<String>,
    finish_message: Option<String>,
    first: Option<String>,
    ended: bool,
    finished: bool,
    opened: Instant,
    relayed: usize,
    metrics: Arc<Metrics>,
    redactor: Redactor,
}

/// The most text a sane answer has (65k tokens are ~260 KB).
const MAX_STREAM_TEXT: usize = 2 * 1024 * 1024;
/// A stream may last this many attempt timeouts in all.
const MAX_STREAM_TIMEOUTS: u32 = 5;

impl std::fmt::Debug for AnswerStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerStream")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl AnswerStream {
    /// Reads a 200 stream until its first text.
    pub(super) async fn open(
        response: reqwest::Response,
        lane: Ticket,
        model: &str,
        timeout: Duration,
        metrics: Arc<Metrics>,
        redactor: Redactor,
    ) -> Result<Self, GeminiError> {
        let mut stream = Self {
            // The lane's place is held until the stream ends.
            body: Box::pin(response.bytes_stream().inspect(move |_| {
                let _ = &lane;
            })),
            parser: SseParser::default(),
            pending: VecDeque::new(),
            model: model.to_owned(),
            timeout,
            usage: None,
            finish_reason: None,
            finish_message: None,
            first: None,
            ended: false,
            finished: false,
            opened: Instant::now(),
            relayed: 0,
            metrics,
            redactor,
        };
        match stream.next_text().await? {
            Some(text) => {
                stream.first = Some(text);
                Ok(stream)
            }
            None => {
                let finish_reason = stream
                    .finish_reason
                    .unwrap_or_else(|| "FINISH_REASON_UNSPECIFIED".to_owned());
                response::log_no_text(&stream.redactor, &finish_reason, stream.finish_message.as_deref());
                Err(GeminiError::NoText { finish_reason })
            }
        }
    }

    /// The model id that answered.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The next event; `None` after `Done` or an error. `Done` has counted the
    /// answer's tokens in the metrics.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, GeminiError>> {
        if let Some(first) = self.first.take() {
            return Some(Ok(StreamEvent::Delta(first)));
        }
        if self.finished {
            return None;
        }
        match self.next_text().await {
            Ok(Some(text)) => Some(Ok(StreamEvent::Delta(text))),
            Ok(None) => {
                self.finished = true;
                if let Some(usage) = self.usage {
                    self.metrics
                        .observe_tokens(usage.prompt_tokens, usage.response_tokens);
                }
                let finish_reason = self.finish_reason.as_deref().unwrap_or("STOP");
                Some(Ok(StreamEvent::Done(StreamDone {
                    finish_reason: self.redactor.text(finish_reason),
                    model: self.model.clone(),
                    usage: self.usage,
                })))
            }
            Err(error) => {
                self.finished = true;
                Some(Err(self.redactor.error(error)))
            }
        }
    }

    /// The next non-empty text, or `None` when Gemini finished. A stream that
    /// never ends (or sends megabytes) is cut off as an error.
    async fn next_text(&mut self) -> Result<Option<String>, GeminiError> {
        let text = self.next_text_unbounded().await?;
        if let Some(text) = &text {
            self.relayed += text.len();
            if self.relayed > MAX_STREAM_TEXT {
                return Err(GeminiError::Malformed(
                    "the streamed answer is far too long".into(),
                ));
            }
            if self.opened.elapsed() > self.timeout * MAX_STREAM_TIMEOUTS {
                return Err(GeminiError::Timeout);
            }
        }
        Ok(text)
    }

    async fn next_text_unbounded(&mut self) -> Result<Option<String>, GeminiError> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                match item {
                    SseItem::Data(data) => {
                        let response: wire::GenerateResponse = serde_json::from_str(&data).map_err(|e| {
                            GeminiError::Malformed(format!("a stream chunk is not JSON: {e}"))
                        })?;
                        let chunk = response::read_chunk(response)?;
                        if chunk.usage.is_some() {
                            self.usage = chunk.usage;
                        }
                        if chunk.finish_reason.is_some() {
                            self.finish_reason = chunk.finish_reason;
                        }
                        if chunk.finish_message.is_some() {
                            self.finish_message = chunk.finish_message;
                        }
                        if !chunk.text.is_empty() {
                            return Ok(Some(chunk.text));
                        }
                    }
                    SseItem::Raw(raw) => return Err(raw_error(&raw, &self.model)),
                }
                continue;
            }
            if self.ended {
                return match self.finish_reason {
                    Some(_) => Ok(None),
                    None => Err(GeminiError::Malformed(
                        "the stream ended before Gemini finished".into(),
                    )),
                };
            }
            match tokio::time::timeout(self.timeout, self.body.next()).await {
                Err(_) => return Err(GeminiError::Timeout),
                Ok(None) => {
                    self.ended = true;
                    self.pending.extend(self.parser.finish());
                }
                Ok(Some(Err(error))) => return Err(GeminiError::from_transport(error)),
                Ok(Some(Ok(bytes))) => {
                    let items = self
                        .parser
                        .feed(&bytes)
                        .map_err(|_| GeminiError::Malformed("a stream event is too large".into()))?;
                    self.pending.extend(items);
                }
            }
        }
    }
}

/// A bare JSON error object inside the stream.
fn raw_error(raw: &str, model: &str) -> GeminiError {
    let code = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v["error"]["code"].as_u64())
        .and_then(|c| u16::try_from(c).ok());
    match code {
        Some(code) => GeminiError::from_response(code, raw.as_bytes(), model),
        None => GeminiError::Malformed("text in the stream that is neither an event nor an error".into()),
    }
}
