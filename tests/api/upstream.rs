//! Gemini's bad days and streamed answers: retries, key and model failover,
//! time bounds, SSE relay, disconnects, keepalive and metrics.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{
    fake_gemini::{Gate, Reply},
    helpers::{Answer, EventStream, HANG_LIMIT, Sse, bounded, spawn_app_with},
};

fn chat() -> serde_json::Value {
    json!({"message": "Какой газ для MAG?"})
}

#[tokio::test]
async fn two_overloads_then_success_is_a_200_after_three_attempts() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 2).await;
    app.fake.script([
        Reply::json(503, "error_503_overloaded.json"),
        Reply::json(503, "error_503_overloaded.json"),
        Reply::ok(),
    ]);
    let answer = Answer::read(app.post_json("/api/chat", &chat()).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["model"], "gemini-flash-latest");
    let calls = app.fake.received();
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|c| c.path.ends_with("gemini-flash-latest:generateContent"))
    );
}

#[tokio::test]
async fn a_quota_error_on_key_a_moves_to_key_b() {
    let app = spawn_app_with(|c| {
        c.gemini_api_key = Some("key-A".into());
        c.gemini_api_keys = vec!["key-B".into()];
    })
    .await;
    app.fake.script([Reply::json(429, "error_429_quota.json")]);
    let answer = Answer::read(app.post_json("/api/chat", &chat()).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let keys: Vec<String> = app
        .fake
        .received()
        .iter()
        .map(|c| c.header("x-goog-api-key").unwrap().to_owned())
        .collect();
    assert_eq!(keys, vec!["key-A", "key-B"]);
    // Key A rests: the next request starts with key B.
    let _ = app.post_json("/api/chat", &chat()).await;
    assert_eq!(app.fake.last().header("x-goog-api-key"), Some("key-B"));
}

#[tokio::test]
async fn a_missing_model_fails_over_to_the_fallback_which_is_named() {
    let app = spawn_app_with(|c| c.gemini_fallback_models = vec!["gemini-backup".into()]).await;
    app.fake.script([Reply::json(404, "error_404_model.json")]);
    let answer = Answer::read(app.post_json("/api/chat", &chat()).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["model"], "gemini-backup");
    let paths: Vec<String> = app.fake.received().iter().map(|c| c.path.clone()).collect();
    assert_eq!(
        paths,
        vec![
            "/v1beta/models/gemini-flash-latest:generateContent",
            "/v1beta/models/gemini-backup:generateContent"
        ]
    );

    app.fake.script([Reply::json(404, "error_404_model.json")]);
    let streamed = app.stream("/api/chat/stream", &chat()).await;
    assert_eq!(streamed.event("done").data["model"], "gemini-backup");
}

#[tokio::test]
async fn when_everything_fails_the_mapped_error_comes_within_twice_the_timeout() {
    let app = spawn_app_with(|c| {
        c.gemini_timeout_seconds = 1;
        c.gemini_fallback_models = vec!["gemini-backup".into()];
    })
    .await;
    app.fake.always(Reply::json(503, "error_503_overloaded.json"));
    let started = Instant::now();
    Answer::read(app.post_json("/api/chat", &chat()).await)
        .await
        .assert_error(503, "upstream_unavailable");
    // The bound is 2 × 1 s; 10× that is slack for a busy machine.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let attempts = app.fake.received().len();
    assert!((3..=6).contains(&attempts), "{attempts}");

    // Gemini would answer (200) after a minute. Each attempt may wait the 1 s
    // timeout and all of them twice that, so at most two attempts start: a slower
    // machine makes fewer, never more, and per-attempt timeouts alone make three.
    app.fake.always(Reply::ok().delayed(Duration::from_secs(60)));
    let started = Instant::now();
    Answer::read(app.post_json("/api/chat", &chat()).await)
        .await
        .assert_error(504, "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let timed_out = app.fake.received().len() - attempts;
    assert!((1..=2).contains(&timed_out), "{timed_out} attempts");
}

#[tokio::test]
async fn four_hundreds_are_never_retried() {
    let app = spawn_app_with(|c| c.gemini_fallback_models = vec!["gemini-backup".into()]).await;
    app.fake.always(Reply::json(400, "error_400_location.json"));
    Answer::read(app.post_json("/api/chat", &chat()).await)
        .await
        .assert_error(502, "upstream_region");
    assert_eq!(app.fake.received().len(), 1);
}

#[tokio::test]
async fn the_stream_relays_deltas_as_gemini_writes_them() {
    let app = spawn_app_with(|_| {}).await;
    // Gemini holds its last piece until the client has read the first three.
    let gate = Gate::new();
    app.fake.script([
        Reply::sse_texts(&["Для стали ", "09Г2С берите ", "УОНИ-13/55", "."]).last_chunk_held(&gate),
    ]);
    let mut events = EventStream::new(app.post_json("/api/chat/stream", &chat()).await);
    for expected in ["Для стали ", "09Г2С берите ", "УОНИ-13/55"] {
        // A server that buffers the answer hangs here (and `next_event` fails).
        let event = events.next_event().await.expect("a delta before the end");
        assert_eq!(
            (event.name.as_str(), event.data["text"].as_str()),
            ("delta", Some(expected))
        );
    }
    gate.open();
    let streamed = events.finish().await;
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    assert_eq!(streamed.headers["content-type"], "text/event-stream");
    assert_eq!(streamed.headers["cache-control"], "no-cache");
    assert_eq!(streamed.headers["x-accel-buffering"], "no");
    assert_eq!(streamed.names(), ["delta", "done"], "{}", streamed.body);
    assert_eq!(streamed.event("delta").data["text"], ".");
    let done = streamed.event("done");
    assert_eq!(done.data["finishReason"], "STOP");
    assert_eq!(done.data["model"], "gemini-flash-latest");
    assert_eq!(
        done.data["usage"],
        json!({"promptTokens": 10, "responseTokens": 4, "totalTokens": 14})
    );
    let sent = app.fake.last();
    assert_eq!(
        sent.path,
        "/v1beta/models/gemini-flash-latest:streamGenerateContent"
    );
    assert_eq!(sent.query.as_deref(), Some("alt=sse"));
}

#[tokio::test]
async fn the_recorded_stream_fixture_and_the_analyzer_stream_work() {
    let app = spawn_app_with(|_| {}).await;
    app.fake.script([Reply::sse("stream_ok.sse")]);
    let body = json!({"base64Image": crate::helpers::PNG_1X1_BASE64, "mimeType": "image/png"});
    let streamed = app.stream("/api/analyze/stream", &body).await;
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    assert!(streamed.text().starts_with("Для стенки 6 мм"));
    let done = streamed.events.last().unwrap();
    assert_eq!(
        (done.name.as_str(), done.data["usage"]["totalTokens"].as_u64()),
        ("done", Some(316))
    );
    assert!(app.fake.last().json()["contents"][0]["parts"][0]["inlineData"].is_object());
}

#[tokio::test]
async fn thought_parts_never_appear_in_a_stream() {
    let app = spawn_app_with(|_| {}).await;
    let thought = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"SECRET-THOUGHT\",\"thought\": true}],\"role\": \"model\"},\"index\": 0}]}\r\n\r\n";
    let mut reply = Reply::sse_texts(&["Ответ."]);
    reply.chunks.insert(0, thought.as_bytes().to_vec());
    app.fake.script([reply]);
    let streamed = app.stream("/api/chat/stream", &chat()).await;
    assert_eq!(streamed.text(), "Ответ.");
    assert!(!streamed.body.contains("SECRET-THOUGHT"));
}

#[tokio::test]
async fn a_mid_stream_error_is_an_error_event_then_the_end() {
    let app = spawn_app_with(|_| {}).await;
    app.fake.script([Reply::sse("stream_midstream_error.sse")]);
    let streamed = app.stream("/api/chat/stream", &chat()).await;
    assert_eq!(streamed.status, 200);
    assert_eq!(streamed.names(), ["delta", "delta", "error"]);
    let error = &streamed.events[2].data;
    assert_eq!(error["code"], "upstream_unavailable");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|m| !m.contains("developers.generativeai"))
    );
}

#[tokio::test]
async fn failures_before_the_first_text_are_normal_json_errors() {
    let app = spawn_app_with(|c| {
        c.gemini_fallback_models = vec![];
        c.gemini_timeout_seconds = 1;
    })
    .await;
    app.fake.script([Reply::sse("stream_prompt_blocked.sse")]);
    Answer::read(app.post_json("/api/chat/stream", &chat()).await)
        .await
        .assert_error(422, "content_blocked");

    let mut overloaded = Reply::json(503, "error_503_overloaded.json");
    overloaded.content_type = "text/event-stream".into();
    app.fake.always(overloaded);
    Answer::read(app.post_json("/api/chat/stream", &chat()).await)
        .await
        .assert_error(503, "upstream_unavailable");

    let response = crate::helpers::browser()
        .post(format!("{}/api/chat/stream", app.url))
        .json(&chat())
        .send()
        .await
        .unwrap();
    Answer::read(response).await.assert_error(401, "session_required");
}

#[tokio::test]
async fn an_overloaded_stream_is_retried_before_anything_is_sent() {
    let app = spawn_app_with(|c| c.gemini_timeout_seconds = 2).await;
    let mut overloaded = Reply::json(503, "error_503_overloaded.json");
    overloaded.content_type = "text/event-stream".into();
    app.fake.script([overloaded, Reply::sse_texts(&["ok"])]);
    let streamed = app.stream("/api/chat/stream", &chat()).await;
    assert_eq!(streamed.status, 200);
    assert_eq!(streamed.text(), "ok");
    assert_eq!(app.fake.received().len(), 2);
}

#[tokio::test]
async fn a_client_that_goes_away_drops_the_upstream_request() {
    let app = spawn_app_with(|_| {}).await;
    // Thirty pieces 200 ms apart: a server that keeps reading after the client left
    // lets the fake finish its body (`completed`) instead of dropping it.
    let pieces: Vec<String> = (0..30).map(|i| format!("piece {i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    app.fake
        .script([Reply::sse_texts(&refs).paced(Duration::from_millis(200))]);
    let mut events = EventStream::new(app.post_json("/api/chat/stream", &chat()).await);
    let first = events.next_event().await.expect("a first delta");
    assert_eq!(first.name, "delta");
    drop(events);
    bounded("the upstream body ends", HANG_LIMIT, async {
        while app.fake.dropped().is_empty() && app.fake.completed().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        (app.fake.dropped().len(), app.fake.completed().len()),
        (1, 0),
        "the upstream stream was read to its end after the client left"
    );
}

#[tokio::test]
async fn a_slow_stream_carries_keepalive_comments() {
    let app = spawn_app_with(|c| c.sse_keepalive_seconds = 1).await;
    // Gemini is silent after its first piece until the client has seen two keepalives.
    let gate = Gate::new();
    app.fake
        .script([Reply::sse_texts(&["first ", "second"]).last_chunk_held(&gate)]);
    let mut events = EventStream::new(app.post_json("/api/chat/stream", &chat()).await);
    let (mut comments, mut text) = (Vec::new(), String::new());
    while comments.len() < 2 {
        // Without keepalives the stream stays silent and `next` fails as a hang.
        match events.next().await.expect("the stream stays open") {
            Sse::Comment(comment) => comments.push(comment),
            Sse::Event(event) => text.push_str(event.data["text"].as_str().unwrap()),
        }
    }
    assert_eq!(comments, ["keepalive", "keepalive"]);
    assert!(events.body.contains(": keepalive\n\n"));
    gate.open();
    let streamed = events.finish().await;
    assert_eq!(streamed.names().last(), Some(&"done"), "{}", streamed.body);
    assert_eq!(text + &streamed.text(), "first second");
}

#[tokio::test]
async fn metrics_count_requests_upstream_calls_tokens_and_refusals() {
    let app = spawn_app_with(|c| {
        c.metrics = true;
        c.daily_request_budget = Some(2);
    })
    .await;
    app.fake.script([Reply::json(503, "error_503_overloaded.json")]);
    assert_eq!(app.post_json("/api/chat", &chat()).await.status(), 200);
    assert_eq!(app.post_json("/api/chat", &chat()).await.status(), 200);
    assert_eq!(app.post_json("/api/chat", &chat()).await.status(), 429);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for line in [
        "weld_http_requests_total{route=\"/api/chat\",status=\"200\"} 2",
        "weld_http_requests_total{route=\"/api/chat\",status=\"429\"} 1",
        "weld_upstream_calls_total{model=\"gemini-flash-latest\",outcome=\"ok\"} 2",
        "weld_upstream_calls_total{model=\"gemini-flash-latest\",outcome=\"unavailable\"} 1",
        "weld_upstream_retries_total 1",
        "weld_tokens_total{kind=\"prompt\"} 174",
        "weld_tokens_total{kind=\"response\"} 82",
        "weld_budget_refused_total 1",
        "weld_budget_remaining 0",
        "weld_upstream_state{state=\"ok\"} 1",
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
    assert!(
        text.contains("weld_http_request_duration_seconds_bucket{le="),
        "{text}"
    );
    assert!(!text.contains("Какой газ"), "no user input in labels");
}

#[tokio::test]
async fn rate_limited_requests_are_counted() {
    let app = spawn_app_with(|c| {
        c.metrics = true;
        c.rate_limit_burst = 1;
        c.rate_limit_per_minute = 1;
        c.api_tokens = vec!["t".into()];
    })
    .await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let _ = client
            .post(format!("{}/api/chat", app.url))
            .header("x-proxy-token", "t")
            .json(&chat())
            .send()
            .await
            .unwrap();
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains("weld_rate_limited_total 1"), "{text}");
}

#[tokio::test]
async fn a_finished_stream_counts_its_own_tokens() {
    let app = spawn_app_with(|c| c.metrics = true).await;
    app.fake.script([Reply::sse_texts(&["раз ", "два"])]);
    let streamed = app.stream("/api/chat/stream", &chat()).await;
    assert_eq!(streamed.status, 200);
    let done = streamed.events.last().unwrap();
    assert_eq!(done.name, "done", "{}", streamed.body);
    assert_eq!(done.data["usage"]["promptTokens"], 10);
    let text = app.get("/metrics").await.text().await.unwrap();
    for line in [
        "weld_tokens_total{kind=\"prompt\"} 10",
        "weld_tokens_total{kind=\"response\"} 2",
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
}

/// Everything this test's thread logs, at debug level. The server runs in the
/// test's current-thread runtime, so its log lines land here.
struct CapturedLogs {
    lines: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl CapturedLogs {
    fn start() -> Self {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .finish();
        Self {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().unwrap()).into_owned()
    }
}

struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_upstream_that_echoes_the_key_puts_it_in_no_log_line_and_no_answer() {
    let logs = CapturedLogs::start();
    let app = spawn_app_with(|_| {}).await;
    let json = |status: u16, body: &str| Reply::raw(status, "application/json; charset=UTF-8", body);
    // `{{KEY}}`: the fake puts the key the request carried there.
    app.fake.script([
        json(
            200,
            r#"{"candidates":[{"content":{"role":"model"},"finishReason":"OTHER","finishMessage":"Declined for key {{KEY}}."}]}"#,
        ),
        json(
            400,
            r#"{"error":{"code":400,"message":"API key {{KEY}} is not valid for this method.","status":"INVALID_ARGUMENT"}}"#,
        ),
        json(
            400,
            r#"{"error":{"code":400,"message":"User location is not supported for {{KEY}}.","status":"FAILED_PRECONDITION"}}"#,
        ),
        json(200, r#"{"candidates":[{"content":{"role":"model"},"finishReason":"{{KEY}}"}]}"#),
        json(200, r#"{"candidates": "{{KEY}}"}"#),
    ]);
    for expected in [502, 502, 502, 502, 502] {
        let answer = Answer::read(app.post_json("/api/chat", &chat()).await).await;
        assert_eq!(answer.status, expected, "{}", answer.text);
    }
    app.fake.script([
        Reply::raw(
            200,
            "text/event-stream",
            "data: {\"candidates\":[{\"content\":{\"role\":\"model\"},\"finishReason\":\"OTHER\",\"finishMessage\":\"stream {{KEY}}\"}]}\r\n\r\n",
        ),
        Reply {
            chunks: vec![
                b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"half\"}],\"role\":\"model\"}}]}\r\n\r\n".to_vec(),
                b"{\"error\":{\"code\":400,\"message\":\"mid-stream {{KEY}}\",\"status\":\"INVALID_ARGUMENT\"}}\n".to_vec(),
            ],
            ..Reply::raw(200, "text/event-stream", "")
        },
    ]);
    let refused = Answer::read(app.post_json("/api/chat/stream", &chat()).await).await;
    assert_eq!(refused.status, 502, "{}", refused.text);
    let broken = app.stream("/api/chat/stream", &chat()).await;
    assert_eq!(broken.events.last().unwrap().name, "error", "{}", broken.body);

    let text = logs.text();
    // The upstream text itself is logged — redacted.
    for logged in [
        "Declined for key [redacted].",
        "API key [redacted] is not valid",
        "User location is not supported for [redacted].",
        "stream [redacted]",
        "mid-stream [redacted]",
    ] {
        assert!(text.contains(logged), "`{logged}` not logged:\n{text}");
    }
    let key = crate::helpers::CANARY_KEY;
    for line in text.lines() {
        assert!(!line.contains(key), "the key reached a log line: {line}");
        assert!(
            !line.contains("AIzaCANARY"),
            "part of the key reached a log line: {line}"
        );
    }
}
