//! A fake Gemini: a real HTTP server on 127.0.0.1:0 that answers with the
//! fixtures of `tests/fixtures/gemini/` byte for byte and records every request.
//! Used by the integration tests and by `examples/fake_gemini.rs`.
//!
//! Unless a test scripts its answers (`script`, `always`), a generation call gets
//! the answer that fits it ([`Reply::answer_to`]): a weld-analysis report when the
//! last user turn carries a photo (`inlineData`), else a welding chat answer; in
//! English when the system instruction says "Answer in English" (as the server's
//! prompts do), in Russian when it says "Answer in Russian"; without such a line,
//! in Russian when the last user text has Cyrillic letters (or no letters at all),
//! else in English. Unary or streamed (SSE, CRLF-framed) as the path asks. The Russian chat answers are Gemini's recorded ones
//! (`generate_response_ok.json`, `stream_ok.sse`); the English chat answers and the
//! reports (`*_chat_en`, `*_analysis_ru`, `*_analysis_en`) are written by hand in
//! exactly their wire shape (same fields, `usageMetadata` with an `IMAGE` part for
//! the reports).
//!
//! Like the real API, every `inlineData` part is checked before anything else:
//! its `mimeType` must be one Gemini accepts inline (the five image types, and
//! the audio types WAV, MP3, AIFF, AAC, OGG Vorbis, FLAC), its `data` valid
//! standard base64, an audio part's bytes of its type, and the whole request
//! within 20 MB — else Google's 400 `INVALID_ARGUMENT`. A spoken question (the
//! last user turn carries audio) is answered with the line `Transcript: …`,
//! a blank line and a chat answer ([`VOICE_TRANSCRIPT_RU`], [`VOICE_TRANSCRIPT_EN`]),
//! the stream cutting the transcript line across chunks as Gemini may.
//!
//! Start-up probes are kept apart from generation calls (`probes()`): the
//! `GET models/…` probe, and the `generate` probe — a `generateContent` call
//! asking for one token (`generationConfig.maxOutputTokens: 1`), answered by
//! default with the real one-token capture (`MAX_TOKENS`, no text). A reply body
//! may hold `{{KEY}}`, replaced by the key the request carried (an upstream that
//! echoes the key).
#![allow(dead_code)]

use std::{
    collections::VecDeque,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use poem::{
    Body, EndpointExt, Request, Response, Route, Server, handler,
    http::{HeaderMap, Method, StatusCode},
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};

/// The fixture folder.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini")
}

/// A fixture's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// Body chunks, sent one after another with `chunk_delay` between them.
    pub chunks: Vec<Vec<u8>>,
    /// Delay before the response head.
    pub delay: Duration,
    /// Delay between body chunks.
    pub chunk_delay: Duration,
    /// A gate the response head waits for (see [`Gate`]).
    pub head_gate: Option<Gate>,
    /// A gate the last body chunk waits for.
    pub last_chunk_gate: Option<Gate>,
}

/// A gate a test opens when it is ready: a reply held at it waits until then, so a
/// test can order events ("the client saw X while Gemini was still answering")
/// instead of guessing how long a busy machine needs.
#[derive(Debug, Clone)]
pub struct Gate(Arc<tokio::sync::Semaphore>);

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(0)))
    }

    /// Opens the gate for every reply held at it, now and later.
    pub fn open(&self) {
        self.0.close();
    }

    /// Waits until the gate is open.
    async fn passed(&self) {
        // A closed semaphore fails every acquire at once: that is "open".
        let _ = self.0.acquire().await;
    }
}

impl Reply {
    /// A JSON answer from a fixture, as Google sends it.
    pub fn json(status: u16, fixture_name: &str) -> Self {
        Self::raw(status, "application/json; charset=UTF-8", fixture(fixture_name))
    }

    /// Any bytes.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type: content_type.to_owned(),
            chunks: vec![body.into()],
            delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            head_gate: None,
            last_chunk_gate: None,
        }
    }

    /// The normal successful answer.
    pub fn ok() -> Self {
        Self::json(200, "generate_response_ok.json")
    }

    /// A streamed answer from an `.sse` fixture, one event per chunk.
    pub fn sse(fixture_name: &str) -> Self {
        let bytes = fixture(fixture_name);
        let text = String::from_utf8(bytes).expect("utf-8 fixture");
        let mut chunks: Vec<Vec<u8>> = text
            .split_inclusive("\r\n\r\n")
            .map(|c| c.as_bytes().to_vec())
            .collect();
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        Self {
            chunks,
            ..Self::raw(200, "text/event-stream", Vec::new())
        }
    }

    /// The unscripted answer to a generation call: see the module's documentation.
    pub fn answer_to(received: &Received) -> Self {
        let request: serde_json::Value = serde_json::from_slice(&received.body).unwrap_or_default();
        if !audio_parts(&request).is_empty() {
            return voice_reply(&request, received.path.ends_with(":streamGenerateContent"));
        }
        let name = default_fixture(received);
        if name.ends_with(".sse") {
            Self::sse(name)
        } else {
            Self::json(200, name)
        }
    }

    /// A unary answer of this text, `STOP`, in Google's shape.
    pub fn json_text(text: &str) -> Self {
        let body = serde_json::json!({
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 42, "candidatesTokenCount": 17, "totalTokenCount": 59},
            "modelVersion": "gemini-flash-latest"
        });
        Self::raw(
            200,
            "application/json; charset=UTF-8",
            serde_json::to_vec_pretty(&body).unwrap(),
        )
    }

    /// Google's 400 `INVALID_ARGUMENT` with this message.
    pub fn invalid_argument(message: &str) -> Self {
        let body = serde_json::json!({
            "error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
        });
        Self::raw(
            400,
            "application/json; charset=UTF-8",
            serde_json::to_vec_pretty(&body).unwrap(),
        )
    }

    /// A streamed answer of these texts, `STOP` on the last, CRLF-framed like Google's.
    pub fn sse_texts(texts: &[&str]) -> Self {
        let last = texts.len().saturating_sub(1);
        let chunks = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let finish = if i == last { r#","finishReason": "STOP""# } else { "" };
                let text = serde_json::to_string(t).unwrap();
                format!(
                    "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": {text}}}],\"role\": \"model\"}}{finish},\"index\": 0}}],\"usageMetadata\": {{\"promptTokenCount\": 10,\"candidatesTokenCount\": {n},\"totalTokenCount\": {total}}}}}\r\n\r\n",
                    n = i + 1,
                    total = 11 + i
                )
                .into_bytes()
            })
            .collect();
        Self {
            chunks,
            ..Self::raw(200, "text/event-stream", Vec::new())
        }
    }

    /// With a delay between body chunks.
    pub fn paced(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// With a delay before the head.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// With the head held until `gate` opens.
    pub fn held(mut self, gate: &Gate) -> Self {
        self.head_gate = Some(gate.clone());
        self
    }

    /// With the last body chunk held until `gate` opens.
    pub fn last_chunk_held(mut self, gate: &Gate) -> Self {
        self.last_chunk_gate = Some(gate.clone());
        self
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the proxy sent JSON")
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    fallback: Option<Reply>,
    received: Vec<Received>,
    probes: Vec<Received>,
    probe_reply: Option<Reply>,
    /// Refuse every generation call by location, as Google does from a blocked region.
    geo_blocked: bool,
    /// When streamed bodies were dropped before their last chunk (client gone).
    dropped: Vec<std::time::Instant>,
    /// When bodies were sent to their end.
    completed: Vec<std::time::Instant>,
    /// Google's quota, when enforced.
    quota: Option<Quota>,
}

/// Google's request quota per project and model, as the fake enforces it: a
/// sliding minute and a day, each answered with Google's own 429 body.
#[derive(Debug, Clone, Default)]
pub struct Quota {
    /// Requests per minute for each model.
    pub per_minute: u32,
    /// Requests per day for each model, if limited.
    pub per_day: Option<u32>,
    /// Accepted generation calls: (model, when).
    accepted: Vec<(String, std::time::Instant)>,
    /// Refused generation calls: (model, when, per-day?).
    refused: Vec<(String, std::time::Instant, bool)>,
}

impl Quota {
    /// `per_minute` requests a minute for each model, no daily limit.
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute,
            ..Self::default()
        }
    }

    /// The same, with `per_day` requests a day for each model.
    pub fn per_day(mut self, per_day: u32) -> Self {
        self.per_day = Some(per_day);
        self
    }

    /// Whether a call of `model` now is within the quota; else Google's 429.
    fn admit(&mut self, model: &str) -> Option<Reply> {
        let now = std::time::Instant::now();
        let minute = Duration::from_secs(60);
        let today = self.accepted.iter().filter(|(m, _)| m == model).count() as u32;
        if self.per_day.is_some_and(|limit| today >= limit) {
            self.refused.push((model.to_owned(), now, true));
            // Google's per-day 429 carries a short RetryInfo too: it must not be trusted.
            return Some(quota_429(
                model,
                "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                self.per_day.unwrap_or(0),
                17,
            ));
        }
        let in_minute: Vec<std::time::Instant> = self
            .accepted
            .iter()
            .filter(|(m, at)| m == model && now.duration_since(*at) < minute)
            .map(|(_, at)| *at)
            .collect();
        if in_minute.len() as u32 >= self.per_minute {
            self.refused.push((model.to_owned(), now, false));
            let oldest = in_minute.iter().min().copied().unwrap_or(now);
            let left = (oldest + minute).saturating_duration_since(now);
            let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Some(quota_429(
                model,
                "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                self.per_minute,
                seconds,
            ));
        }
        self.accepted.push((model.to_owned(), now));
        None
    }
}

/// Google's 429 `RESOURCE_EXHAUSTED` body for a quota id, limit and retry delay.
fn quota_429(model: &str, quota_id: &str, limit: u32, retry_seconds: u64) -> Reply {
    let body = serde_json::json!({
        "error": {
            "code": 429,
            "message": format!(
                "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: {limit}, model: {model}\nPlease retry in {retry_seconds}.5s."
            ),
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]
                },
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": quota_id,
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": limit.to_string()
                    }]
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{retry_seconds}s")}
            ]
        }
    });
    Reply::raw(429, "application/json; charset=UTF-8", body.to_string())
}

/// The model of a generation path: `/v1beta/models/<model>:generateContent`.
fn model_of(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .and_then(|last| last.split(':').next())
        .unwrap_or("")
}

/// A handle on a running fake.
#[derive(Clone)]
pub struct FakeGemini {
    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// Its address.
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeGemini {
    /// Starts a fake on 127.0.0.1:0 (or `address`) that answers [`Reply::answer_to`] unless scripted.
    pub async fn start_on(address: &str) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let acceptor = TcpListener::bind(address)
            .into_acceptor()
            .await
            .expect("bind fake gemini");
        let address = *acceptor.local_addr()[0].as_socket_addr().expect("tcp address");
        let app = Route::new()
            .at("/__fake/received", poem::get(received_json))
            .at("/__fake/script", poem::post(script_json))
            .at("/__fake/quota", poem::post(quota_json))
            .at("/*path", answer)
            .data(state.clone());
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self {
            url: format!("http://{address}"),
            address,
            state,
        }
    }

    /// Starts a fake on a free loopback port.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// Queues answers, used in order before the fallback.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    /// Sets the answer used when the script is empty.
    pub fn always(&self, reply: Reply) {
        self.state.lock().unwrap().fallback = Some(reply);
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The last request received.
    pub fn last(&self) -> Received {
        self.received().pop().expect("the fake received a request")
    }

    /// The start-up probes (`GET models/…`, or a one-token `generateContent`), kept
    /// apart from generation calls.
    pub fn probes(&self) -> Vec<Received> {
        self.state.lock().unwrap().probes.clone()
    }

    /// Sets the answer to probes (default: a model description for `GET models/…`,
    /// the one-token `MAX_TOKENS` answer for the `generate` probe).
    pub fn probe_reply(&self, reply: Reply) {
        self.state.lock().unwrap().probe_reply = Some(reply);
    }

    /// Acts as Google from a blocked region: every generation call (probe or not)
    /// gets the location error; `GET models/…` still answers normally.
    pub fn geo_block(&self) {
        self.state.lock().unwrap().geo_blocked = true;
    }

    /// Enforces Google's quota from now on (see [`Quota`]).
    pub fn enforce_quota(&self, quota: Quota) {
        self.state.lock().unwrap().quota = Some(quota);
    }

    /// Generation calls the quota let through: (model, when).
    pub fn accepted(&self) -> Vec<(String, std::time::Instant)> {
        self.state
            .lock()
            .unwrap()
            .quota
            .as_ref()
            .map(|q| q.accepted.clone())
            .unwrap_or_default()
    }

    /// Generation calls the quota refused: (model, when, whether by the day's quota).
    pub fn refused(&self) -> Vec<(String, std::time::Instant, bool)> {
        self.state
            .lock()
            .unwrap()
            .quota
            .as_ref()
            .map(|q| q.refused.clone())
            .unwrap_or_default()
    }

    /// When streamed response bodies were dropped before they were fully sent.
    pub fn dropped(&self) -> Vec<std::time::Instant> {
        self.state.lock().unwrap().dropped.clone()
    }

    /// When streamed response bodies were sent to their end.
    pub fn completed(&self) -> Vec<std::time::Instant> {
        self.state.lock().unwrap().completed.clone()
    }
}

/// `GET /__fake/received`: what the fake received, for end-to-end tests in other
/// processes: `[{method, path, query, hasKey, body}]` (body as JSON when it is JSON).
#[handler]
fn received_json(state: Data<&Arc<Mutex<State>>>) -> poem::web::Json<serde_json::Value> {
    let state = state.lock().unwrap();
    let list: Vec<serde_json::Value> = state
        .received
        .iter()
        .map(|r| {
            serde_json::json!({
                "method": r.method.as_str(),
                "path": r.path,
                "query": r.query,
                "hasKey": r.headers.contains_key("x-goog-api-key"),
                "body": serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect();
    poem::web::Json(serde_json::Value::Array(list))
}

/// `POST /__fake/quota` with `{perMinute, perDay?}`: enforces Google's quota
/// per model from now on (end-to-end tests and trying the waiting line by hand).
#[handler]
fn quota_json(state: Data<&Arc<Mutex<State>>>, body: poem::web::Json<serde_json::Value>) -> StatusCode {
    let Some(per_minute) = body["perMinute"].as_u64() else {
        return StatusCode::BAD_REQUEST;
    };
    state.lock().unwrap().quota = Some(Quota {
        per_minute: per_minute as u32,
        per_day: body["perDay"].as_u64().map(|d| d as u32),
        ..Quota::default()
    });
    StatusCode::NO_CONTENT
}

/// `POST /__fake/script` with `[{status, fixture}]` or `[{status, contentType, body}]`:
/// queues answers, for end-to-end tests in other processes.
#[handler]
fn script_json(state: Data<&Arc<Mutex<State>>>, body: poem::web::Json<Vec<serde_json::Value>>) -> StatusCode {
    let mut replies = Vec::new();
    for item in body.0 {
        let status = item["status"].as_u64().unwrap_or(200) as u16;
        let mut reply = match (item["fixture"].as_str(), item["body"].as_str()) {
            (Some(name), _) if name.ends_with(".sse") => Reply {
                status,
                ..Reply::sse(name)
            },
            (Some(name), _) => Reply::json(status, name),
            (None, None) if item["chunks"].is_array() => Reply {
                status,
                content_type: item["contentType"]
                    .as_str()
                    .unwrap_or("text/event-stream")
                    .to_owned(),
                chunks: item["chunks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap_or("").as_bytes().to_vec())
                    .collect(),
                chunk_delay: Duration::from_millis(item["chunkDelayMs"].as_u64().unwrap_or(0)),
                ..Reply::raw(status, "text/event-stream", Vec::new())
            },
            (None, Some(text)) => Reply::raw(
                status,
                item["contentType"]
                    .as_str()
                    .unwrap_or("application/json; charset=UTF-8"),
                text.as_bytes().to_vec(),
            ),
            _ => return StatusCode::BAD_REQUEST,
        };
        reply.delay = Duration::from_millis(item["delayMs"].as_u64().unwrap_or(0));
        replies.push(reply);
    }
    state.lock().unwrap().script.extend(replies);
    StatusCode::NO_CONTENT
}

#[handler]
async fn answer(req: &Request, body: Body, state: Data<&Arc<Mutex<State>>>) -> Response {
    let body = body.into_vec().await.unwrap_or_default();
    let received = Received {
        method: req.method().clone(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        headers: req.headers().clone(),
        body,
    };
    let has_key = received.headers.contains_key("x-goog-api-key")
        || received
            .query
            .as_deref()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("key=")));
    let key = received.header("x-goog-api-key").unwrap_or("").to_owned();
    let is_probe = received.method == Method::GET || is_generate_probe(&received);
    let is_get = received.method == Method::GET;
    let model = model_of(&received.path).to_owned();
    let reply = {
        let mut state = state.lock().unwrap();
        if is_probe {
            state.probes.push(received);
        } else {
            state.received.push(received);
        }
        if state.geo_blocked && !is_get {
            Reply::json(400, "error_400_location.json")
        } else if is_probe {
            state.probe_reply.clone().unwrap_or_else(|| {
                if !is_get {
                    return if has_key {
                        Reply::json(200, "generate_response_max_tokens_empty.json")
                    } else {
                        Reply::json(403, "error_403_no_key.json")
                    };
                }
                let list: serde_json::Value = serde_json::from_slice(&fixture("models_list.json")).unwrap();
                Reply::raw(
                    200,
                    "application/json; charset=UTF-8",
                    list["models"][0].to_string(),
                )
            })
        } else if let Some(refusal) = state
            .quota
            .as_mut()
            .filter(|_| has_key)
            .and_then(|quota| quota.admit(&model))
        {
            refusal
        } else if let Some(refusal) = has_key
            .then(|| check_inline(&state.received.last().expect("recorded above").body))
            .flatten()
        {
            refusal
        } else if has_key {
            match state.script.pop_front().or_else(|| state.fallback.clone()) {
                Some(reply) => reply,
                None => Reply::answer_to(state.received.last().expect("recorded above")),
            }
        } else {
            Reply::json(403, "error_403_no_key.json")
        }
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if let Some(gate) = &reply.head_gate {
        gate.passed().await;
    }
    let chunks = reply.chunks.into_iter().map(|c| echo_key(c, &key)).collect();
    let stream = async_stream(
        chunks,
        reply.chunk_delay,
        reply.last_chunk_gate,
        DropWatch {
            state: state.clone(),
            done: false,
            streamed: reply.content_type.starts_with("text/event-stream"),
        },
    );
    Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type(reply.content_type)
        .body(Body::from_bytes_stream(stream))
}

/// Whether a request is the `generate` start-up probe: `generateContent` for one token.
fn is_generate_probe(received: &Received) -> bool {
    received.method == Method::POST
        && received.path.ends_with(":generateContent")
        && serde_json::from_slice::<serde_json::Value>(&received.body)
            .is_ok_and(|b| b["generationConfig"]["maxOutputTokens"] == 1)
}

/// The image types Gemini accepts inline.
pub const IMAGE_TYPES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
];
/// The audio types Gemini accepts inline, as its audio-understanding page lists them.
pub const AUDIO_TYPES: [&str; 6] = [
    "audio/wav",
    "audio/mp3",
    "audio/aiff",
    "audio/aac",
    "audio/ogg",
    "audio/flac",
];
/// The largest request Gemini takes with inline data.
pub const MAX_INLINE_REQUEST: usize = 20 * 1024 * 1024;

/// The transcript the fake hears in any Russian spoken question.
pub const VOICE_TRANSCRIPT_RU: &str = "Какой ток ставить на электрод УОНИ-13/55 диаметром 3 мм?";
/// The transcript the fake hears in any English spoken question.
pub const VOICE_TRANSCRIPT_EN: &str = "Which current for a 3 mm UONI-13/55 electrode?";
/// The answer to the Russian spoken question.
pub const VOICE_ANSWER_RU: &str = "Для электрода **УОНИ-13/55** диаметром 3 мм в нижнем положении ставьте **80–110 А**; в вертикальном — на 10–15 % меньше.";
/// The answer to the English spoken question.
pub const VOICE_ANSWER_EN: &str =
    "For a 3 mm **UONI-13/55** electrode in the flat position set **80–110 A**; vertical up, 10–15 % less.";

/// Google's refusal of a request whose inline parts it would refuse, if any.
fn check_inline(body: &[u8]) -> Option<Reply> {
    use base64::Engine;
    if body.len() > MAX_INLINE_REQUEST {
        return Some(Reply::invalid_argument(&format!(
            "Request payload size exceeds the limit: {MAX_INLINE_REQUEST} bytes."
        )));
    }
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    for (i, content) in request["contents"].as_array()?.iter().enumerate() {
        for (j, part) in content["parts"].as_array().into_iter().flatten().enumerate() {
            let Some(inline) = part.get("inlineData") else {
                continue;
            };
            let mime = inline["mimeType"].as_str().unwrap_or("");
            if !IMAGE_TYPES.contains(&mime) && !AUDIO_TYPES.contains(&mime) {
                return Some(Reply::invalid_argument(&format!("Unsupported MIME type: {mime}")));
            }
            let data = inline["data"].as_str().unwrap_or("");
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
                return Some(Reply::invalid_argument(&format!(
                    "Invalid value at 'contents[{i}].parts[{j}].inline_data.data' (TYPE_BYTES), Base64 decoding failed."
                )));
            };
            if mime.starts_with("audio/") && !audio_matches(mime, &bytes) {
                return Some(Reply::invalid_argument("Request contains an invalid argument."));
            }
        }
    }
    None
}

/// Whether audio bytes are of their declared type (by their magic numbers).
fn audio_matches(mime: &str, b: &[u8]) -> bool {
    match mime {
        "audio/wav" => b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WAVE",
        "audio/aiff" => b.len() >= 12 && &b[0..4] == b"FORM",
        "audio/flac" => b.starts_with(b"fLaC"),
        "audio/ogg" => b.starts_with(b"OggS"),
        "audio/mp3" => b.starts_with(b"ID3") || (b.len() > 1 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0),
        "audio/aac" => b.len() > 1 && b[0] == 0xFF && b[1] & 0xF6 == 0xF0,
        _ => false,
    }
}

/// The audio parts of the last user turn of a request: `(mimeType, bytes)`.
pub fn audio_parts(request: &serde_json::Value) -> Vec<(String, Vec<u8>)> {
    use base64::Engine;
    let last_user = request["contents"]
        .as_array()
        .and_then(|turns| turns.iter().rev().find(|t| t["role"] != "model"));
    last_user
        .and_then(|t| t["parts"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let inline = p.get("inlineData")?;
            let mime = inline["mimeType"].as_str()?;
            mime.starts_with("audio/").then(|| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(inline["data"].as_str().unwrap_or(""))
                    .unwrap_or_default();
                (mime.to_owned(), bytes)
            })
        })
        .collect()
}

/// The answer to a spoken question: the transcript line, a blank line, the
/// answer; streamed with the transcript line cut across chunks.
fn voice_reply(request: &serde_json::Value, streaming: bool) -> Reply {
    let english = wants_english(request, None);
    let (transcript, text) = if english {
        (VOICE_TRANSCRIPT_EN, VOICE_ANSWER_EN)
    } else {
        (VOICE_TRANSCRIPT_RU, VOICE_ANSWER_RU)
    };
    if !streaming {
        return Reply::json_text(&format!("Transcript: {transcript}\n\n{text}"));
    }
    let (head, tail) = text.split_at(text.char_indices().nth(20).map_or(text.len(), |(i, _)| i));
    let line = format!("script: {transcript}\n");
    let rest = format!("\n{head}");
    Reply::sse_texts(&["Tran", &line, &rest, tail])
}

/// The fixture of the unscripted answer to a generation call.
pub fn default_fixture(received: &Received) -> &'static str {
    let request: serde_json::Value = serde_json::from_slice(&received.body).unwrap_or_default();
    let streaming = received.path.ends_with(":streamGenerateContent");
    let last_user = request["contents"]
        .as_array()
        .and_then(|turns| turns.iter().rev().find(|t| t["role"] != "model"));
    let photo = last_user
        .and_then(|t| t["parts"].as_array())
        .is_some_and(|parts| parts.iter().any(|p| p.get("inlineData").is_some()));
    let english = wants_english(&request, last_user);
    match (photo, english, streaming) {
        (false, false, false) => "generate_response_ok.json",
        (false, false, true) => "stream_ok.sse",
        (false, true, false) => "generate_response_chat_en.json",
        (false, true, true) => "stream_chat_en.sse",
        (true, false, false) => "generate_response_analysis_ru.json",
        (true, false, true) => "stream_analysis_ru.sse",
        (true, true, false) => "generate_response_analysis_en.json",
        (true, true, true) => "stream_analysis_en.sse",
    }
}

/// Whether a request asks for an English answer: the system instruction's "Answer
/// in English" / "Answer in Russian" (the first one named wins), else whether the
/// last user turn's text has letters and none of them Cyrillic.
fn wants_english(request: &serde_json::Value, last_user: Option<&serde_json::Value>) -> bool {
    let system = texts(&request["systemInstruction"]);
    let named = |language: &str| system.find(&format!("Answer in {language}"));
    match (named("English"), named("Russian")) {
        (Some(en), Some(ru)) => return en < ru,
        (Some(_), None) => return true,
        (None, Some(_)) => return false,
        (None, None) => {}
    }
    let text = last_user.map(texts).unwrap_or_default();
    text.chars().any(char::is_alphabetic) && !text.chars().any(|c| matches!(c, '\u{0400}'..='\u{052F}'))
}

/// The text parts of a content object (`{parts: [{text}]}`), joined.
fn texts(content: &serde_json::Value) -> String {
    content["parts"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// `{{KEY}}` in a reply body becomes the request's key.
fn echo_key(chunk: Vec<u8>, key: &str) -> Vec<u8> {
    const MARK: &[u8] = b"{{KEY}}";
    if !chunk.windows(MARK.len()).any(|w| w == MARK) {
        return chunk;
    }
    String::from_utf8_lossy(&chunk)
        .replace("{{KEY}}", key)
        .into_bytes()
}

/// Records when a streamed (`text/event-stream`) body is dropped before its last
/// chunk was sent, or sent to its end.
struct DropWatch {
    state: Arc<Mutex<State>>,
    done: bool,
    streamed: bool,
}

impl DropWatch {
    fn finish(&mut self) {
        self.done = true;
    }
}

impl Drop for DropWatch {
    fn drop(&mut self) {
        if !self.streamed {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            let list = if self.done {
                &mut state.completed
            } else {
                &mut state.dropped
            };
            list.push(std::time::Instant::now());
        }
    }
}

fn async_stream(
    chunks: Vec<Vec<u8>>,
    delay: Duration,
    last_gate: Option<Gate>,
    watch: DropWatch,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(
        (chunks.into_iter(), true, watch),
        move |(mut iter, first, mut watch)| {
            let last_gate = last_gate.clone();
            async move {
                if !first && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                if iter.len() == 1 {
                    if let Some(gate) = &last_gate {
                        gate.passed().await;
                    }
                }
                match iter.next() {
                    Some(chunk) => Some((Ok(bytes::Bytes::from(chunk)), (iter, false, watch))),
                    None => {
                        watch.finish();
                        None
                    }
                }
            }
        },
    )
}
