//! Spoken questions (`/api/chat/voice*`): a WAV made here goes through the real
//! server to the fake Gemini as inline audio, the transcript and the answer come
//! back (plain and streamed), and bad recordings get clear errors.

use base64::Engine;
use serde_json::json;

use crate::{
    fake_gemini::{
        AUDIO_TYPES, Reply, VOICE_ANSWER_EN, VOICE_ANSWER_RU, VOICE_TRANSCRIPT_EN, VOICE_TRANSCRIPT_RU,
        audio_parts,
    },
    helpers::{Answer, browser, spawn_app, spawn_app_with},
};

/// A 16 kHz mono 16-bit PCM WAV of a 440 Hz tone, `seconds` long.
fn tone_wav(seconds: f64) -> Vec<u8> {
    let rate = 16_000u32;
    let n = (seconds * f64::from(rate)) as usize;
    let data = n * 2;
    let mut out = Vec::with_capacity(44 + data);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((36 + data) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data as u32).to_le_bytes());
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        let sample = ((t * 440.0 * std::f64::consts::TAU).sin() * 12_000.0) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn voice_body(mime: &str, data: &str) -> serde_json::Value {
    json!({"audio": {"mimeType": mime, "data": data}})
}

/// The one audio part the fake received, checked against what was sent.
fn assert_audio_reached_gemini(app: &crate::helpers::TestApp, wav: &[u8]) -> serde_json::Value {
    let request = app.fake.last().json();
    let audio = audio_parts(&request);
    assert_eq!(audio.len(), 1, "{request}");
    assert_eq!(audio[0].0, "audio/wav");
    assert!(AUDIO_TYPES.contains(&audio[0].0.as_str()));
    assert_eq!(audio[0].1, wav, "the recording arrives byte for byte");
    // The audio goes before the text of the last user turn, like photos do.
    let last = request["contents"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "user");
    assert!(last["parts"][0]["inlineData"].is_object(), "{last}");
    assert!(last["parts"][1]["text"].is_string(), "{last}");
    let system = request["systemInstruction"]["parts"][0]["text"].as_str().unwrap();
    assert!(system.contains("Transcript: "), "{system}");
    request
}

#[tokio::test]
async fn a_spoken_question_reaches_gemini_as_inline_audio_and_comes_back_with_its_transcript() {
    let app = spawn_app().await;
    let wav = tone_wav(1.0);
    let mut body = voice_body("audio/wav", &b64(&wav));
    body["history"] = json!([
        {"role": "model", "parts": [{"text": "Здравствуйте!"}]},
        {"role": "user", "text": "Варю 09Г2С."},
        {"role": "model", "text": "Хорошо."}
    ]);
    let answer = Answer::read(app.post_json("/api/chat/voice", &body).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let reply = answer.json();
    assert_eq!(reply["transcript"], VOICE_TRANSCRIPT_RU);
    assert_eq!(reply["text"], VOICE_ANSWER_RU);
    assert_eq!(reply["finishReason"], "STOP");
    assert!(
        reply["model"].is_string() && reply["usage"].is_object(),
        "{reply}"
    );

    let request = assert_audio_reached_gemini(&app, &wav);
    // The history came along: the greeting dropped, the earlier turns kept.
    let contents = request["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "{request}");
    assert_eq!(contents[0]["parts"][0]["text"], "Варю 09Г2С.");
}

#[tokio::test]
async fn a_streamed_spoken_question_sends_the_transcript_first_then_the_answer() {
    let app = spawn_app().await;
    let wav = tone_wav(0.5);
    let mut body = voice_body("audio/x-wav", &format!("data:audio/wav;base64,{}", b64(&wav)));
    body["language"] = json!("en");
    let streamed = app.stream("/api/chat/voice/stream", &body).await;
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    let names = streamed.names();
    assert_eq!(names.first(), Some(&"transcript"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert_eq!(
        streamed.event("transcript").data,
        json!({"transcript": VOICE_TRANSCRIPT_EN})
    );
    assert_eq!(streamed.text(), VOICE_ANSWER_EN);
    assert!(!streamed.body.contains("Transcript:"), "{}", streamed.body);
    assert_audio_reached_gemini(&app, &wav);
}

#[tokio::test]
async fn an_answer_without_the_transcript_line_passes_through_whole() {
    let app = spawn_app().await;
    let wav = tone_wav(0.2);
    app.fake.script([
        Reply::json_text("Ставьте **90 А**."),
        Reply::sse_texts(&["Ставьте ", "**90 А**."]),
    ]);
    let reply = Answer::read(
        app.post_json("/api/chat/voice", &voice_body("audio/wav", &b64(&wav)))
            .await,
    )
    .await;
    assert_eq!(reply.status, 200);
    let reply = reply.json();
    assert_eq!(reply["text"], "Ставьте **90 А**.");
    assert!(reply.get("transcript").is_none(), "{reply}");

    let streamed = app
        .stream("/api/chat/voice/stream", &voice_body("audio/wav", &b64(&wav)))
        .await;
    assert_eq!(streamed.names(), ["delta", "delta", "done"]);
    assert_eq!(streamed.text(), "Ставьте **90 А**.");
}

#[tokio::test]
async fn bad_recordings_are_refused_with_clear_errors_and_never_reach_gemini() {
    let app = spawn_app_with(|c| {
        c.voice_max_bytes = 64 * 1024;
        c.voice_max_seconds = 1;
    })
    .await;
    let wav = tone_wav(0.5);
    let webm = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01];
    let cases: Vec<(serde_json::Value, u16, &str, &str)> = vec![
        // A type Gemini does not take inline (Chrome's MediaRecorder default).
        (
            voice_body("audio/webm;codecs=opus", &b64(&webm)),
            415,
            "unsupported_media_type",
            "audio/webm",
        ),
        // WebM bytes claimed to be WAV: the bytes decide.
        (
            voice_body("audio/wav", &b64(&webm)),
            415,
            "unsupported_media_type",
            "WebM",
        ),
        (
            voice_body("audio/wav", "not base64!!"),
            400,
            "invalid_request",
            "`audio.data`",
        ),
        (
            voice_body("audio/wav", ""),
            400,
            "invalid_request",
            "`audio.data`",
        ),
        (
            voice_body(" ", &b64(&wav)),
            400,
            "invalid_request",
            "`audio.mimeType`",
        ),
        (
            json!({"audio": {"mimeType": "audio/wav"}}),
            400,
            "invalid_request",
            "`audio.data`",
        ),
        (json!({"history": []}), 400, "invalid_request", "`audio`"),
        // 1.5 s over a 1 s limit, read from the WAV header.
        (
            voice_body("audio/wav", &b64(&tone_wav(1.6))),
            413,
            "audio_too_long",
            "1 s",
        ),
        // 96 KB over a 64 KiB limit (the body itself is within its limit).
        (
            voice_body("audio/wav", &b64(&tone_wav(3.0))),
            413,
            "payload_too_large",
            "65536",
        ),
    ];
    for (body, status, code, needle) in cases {
        for path in ["/api/chat/voice", "/api/chat/voice/stream"] {
            let answer = Answer::read(
                app.client
                    .post(format!("{}{path}", app.url))
                    .header("accept-language", "en")
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let error = answer.assert_error(status, code);
            let message = error["error"].as_str().unwrap();
            assert!(message.contains(needle), "{path} {code}: {message}");
            assert!(
                !answer.text.contains(&b64(&webm)) && !answer.text.contains("UklGR"),
                "{}",
                answer.text
            );
        }
    }
    assert!(app.fake.received().is_empty(), "nothing reached Gemini");

    // In Russian by default, the code unchanged.
    let answer = Answer::read(
        app.post_json("/api/chat/voice", &voice_body("audio/wav", &b64(&tone_wav(2.0))))
            .await,
    )
    .await;
    let error = answer.assert_error(413, "audio_too_long");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("Запись слишком длинная"),
        "{error}"
    );
}

#[tokio::test]
async fn a_voice_body_over_its_limit_is_refused_before_it_is_read() {
    let app = spawn_app_with(|c| {
        c.voice_max_bytes = 8 * 1024;
        c.max_chat_bytes = 4096;
    })
    .await;
    // 4/3 × 8 KiB + 4 KiB: a 40 KB body is over it.
    let body = voice_body("audio/wav", &"A".repeat(40_000));
    let answer = Answer::read(app.post_json("/api/chat/voice", &body).await).await;
    answer.assert_error(413, "payload_too_large");
    // The voice limit is its own: a recording near it fits, while a 5 KB chat body does not.
    let wav = tone_wav(0.25);
    assert!(wav.len() < 8 * 1024);
    let answer = Answer::read(
        app.post_json("/api/chat/voice", &voice_body("audio/wav", &b64(&wav)))
            .await,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let chat = json!({"message": "x".repeat(5000)});
    Answer::read(app.post_json("/api/chat", &chat).await)
        .await
        .assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn a_spoken_question_without_a_session_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    let wav = tone_wav(0.2);
    for path in ["/api/chat/voice", "/api/chat/voice/stream"] {
        let answer = Answer::read(
            browser()
                .post(format!("{}{path}", app.url))
                .json(&voice_body("audio/wav", &b64(&wav)))
                .send()
                .await
                .unwrap(),
        )
        .await;
        answer.assert_error(401, "session_required");
        assert!(!answer.text.contains("UklGR"));
    }
    assert!(app.fake.received().is_empty());
}

#[tokio::test]
async fn spoken_questions_count_against_the_rate_limit_and_the_daily_budget() {
    let app = spawn_app_with(|c| {
        c.daily_request_budget = Some(1);
    })
    .await;
    let body = voice_body("audio/wav", &b64(&tone_wav(0.2)));
    let first = Answer::read(app.post_json("/api/chat/voice", &body).await).await;
    assert_eq!(first.status, 200, "{}", first.text);
    Answer::read(app.post_json("/api/chat/voice/stream", &body).await)
        .await
        .assert_error(429, "budget_exhausted");
    Answer::read(app.post_json("/api/chat", &json!({"message": "hi"})).await)
        .await
        .assert_error(429, "budget_exhausted");
    assert_eq!(app.fake.received().len(), 1);

    let app = spawn_app_with(|c| {
        c.rate_limit_per_minute = 1;
        c.rate_limit_burst = 1;
    })
    .await;
    assert_eq!(app.post_json("/api/chat/voice", &body).await.status(), 200);
    Answer::read(app.post_json("/api/chat/voice", &body).await)
        .await
        .assert_error(429, "rate_limited");
}

#[tokio::test]
async fn the_fake_gemini_refuses_audio_the_real_api_would_refuse() {
    // The fake is a test of its own: a client sending what Google refuses must fail.
    let fake = crate::fake_gemini::FakeGemini::start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1beta/models/gemini-flash-latest:generateContent", fake.url);
    let send = |part: serde_json::Value| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let body = json!({"contents": [{"role": "user", "parts": [part, {"text": "?"}]}]});
            let response = client
                .post(&url)
                .header("x-goog-api-key", "k")
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let wav = b64(&tone_wav(0.1));
    let (status, text) = send(json!({"inlineData": {"mimeType": "audio/webm", "data": wav}})).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Unsupported MIME type: audio/webm") && text.contains("INVALID_ARGUMENT"));
    let (status, text) = send(json!({"inlineData": {"mimeType": "audio/wav", "data": "%%%"}})).await;
    assert_eq!(status, 400);
    assert!(text.contains("Base64 decoding failed"), "{text}");
    let (status, _) = send(json!({"inlineData": {"mimeType": "audio/mp3", "data": wav}})).await;
    assert_eq!(status, 400, "WAV bytes sent as MP3");
    let (status, text) = send(json!({"inlineData": {"mimeType": "audio/wav", "data": wav}})).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Transcript: "), "{text}");
}
