//! Error messages are written for the person using the app, in their language:
//! the request's `language`, else `Accept-Language`, else Russian — for REST
//! answers, SSE `error` events, the guard's and the boundary's refusals and
//! poem's own (404, 405, 415, bad JSON, 413). The `code` never changes. Also: a
//! `{"message": 42}` is refused, and a forged far-future cookie is a 401.

use std::time::Duration;

use serde_json::json;

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, CANARY_CODE, CANARY_SECRET, TestApp, spawn_app, spawn_app_with},
};

/// Fails when a secret canary appears in an answer (the key is checked by `Answer::read`).
fn assert_no_secret(answer: &Answer) {
    for canary in [CANARY_SECRET, CANARY_CODE] {
        assert!(!answer.text.contains(canary), "a secret leaked: {}", answer.text);
    }
}

fn is_russian(text: &str) -> bool {
    text.chars()
        .any(|c| ('а'..='я').contains(&c) || ('А'..='Я').contains(&c))
}

async fn post(app: &TestApp, path: &str, body: &serde_json::Value, accept: Option<&str>) -> Answer {
    let mut request = app.client.post(format!("{}{path}", app.url)).json(body);
    if let Some(accept) = accept {
        request = request.header("accept-language", accept);
    }
    Answer::read(request.send().await.unwrap()).await
}

/// Sends a request with optional `Accept-Language` and returns `(code, message)`
/// after checking the envelope and the status.
async fn error_of(request: reqwest::RequestBuilder, accept: Option<&str>, status: u16) -> (String, String) {
    let request = match accept {
        Some(accept) => request.header("accept-language", accept),
        None => request,
    };
    let answer = Answer::read(request.send().await.unwrap()).await;
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_no_secret(&answer);
    let json = answer.json();
    let code = json["code"].as_str().unwrap().to_owned();
    let json = answer.assert_error(status, &code);
    (code, json["error"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn one_code_is_russian_or_english_by_the_body_then_accept_language_then_russian() {
    let app = spawn_app().await;
    let cases = [
        // (body language, Accept-Language, expected message)
        (None, None, "Поле `message` не должно быть пустым."),
        (
            None,
            Some("en-US,en;q=0.9"),
            "The field `message` must not be empty.",
        ),
        (
            None,
            Some("de-DE,ru;q=0.5"),
            "Поле `message` не должно быть пустым.",
        ),
        (Some("en"), None, "The field `message` must not be empty."),
        (Some("en"), Some("ru"), "The field `message` must not be empty."),
        (Some("ru"), Some("en"), "Поле `message` не должно быть пустым."),
    ];
    for (language, accept, expected) in cases {
        let mut body = json!({"message": "   "});
        if let Some(language) = language {
            body["language"] = json!(language);
        }
        let answer = post(&app, "/api/chat", &body, accept).await;
        let json = answer.assert_error(400, "invalid_request");
        assert_eq!(json["error"], expected, "{language:?} {accept:?}");
        assert_no_secret(&answer);
    }
    assert!(app.fake.received().is_empty());
}

#[tokio::test]
async fn an_upstream_error_is_localized_and_keeps_its_code_and_detail() {
    let app = spawn_app_with(|c| c.gemini_fallback_models = vec![]).await;
    app.fake
        .always(Reply::json(200, "generate_response_safety_blocked_prompt.json"));
    let body = json!({"message": "Как сварить?"});
    let ru = post(&app, "/api/chat", &body, None).await;
    let en = post(&app, "/api/chat", &body, Some("en")).await;
    let (ru, en) = (
        ru.assert_error(422, "content_blocked"),
        en.assert_error(422, "content_blocked"),
    );
    let (ru, en) = (ru["error"].as_str().unwrap(), en["error"].as_str().unwrap());
    assert!(
        ru.starts_with("Gemini отказался отвечать") && ru.contains("PROHIBITED_CONTENT"),
        "{ru}"
    );
    assert!(
        en.starts_with("Gemini declined to answer") && en.contains("PROHIBITED_CONTENT"),
        "{en}"
    );

    app.fake.always(Reply::json(404, "error_404_model.json"));
    let en = post(
        &app,
        "/api/chat",
        &json!({"message": "hi", "language": "en"}),
        Some("ru"),
    )
    .await;
    let message = en.assert_error(502, "upstream_error")["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("`gemini-flash-latest`") && message.contains("administrator"),
        "{message}"
    );
    assert!(!message.contains("is not found"), "no upstream text: {message}");
}

#[tokio::test]
async fn an_sse_error_event_is_in_the_requests_language() {
    let app = spawn_app().await;
    app.fake.always(Reply::sse("stream_midstream_error.sse"));
    let mut events = Vec::new();
    for (body, accept) in [
        (json!({"message": "Какой электрод?"}), None),
        (
            json!({"message": "Which electrode?", "language": "en"}),
            Some("ru"),
        ),
        (json!({"message": "Which electrode?"}), Some("en-GB")),
    ] {
        let mut request = app
            .client
            .post(format!("{}/api/chat/stream", app.url))
            .json(&body);
        if let Some(accept) = accept {
            request = request.header("accept-language", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let text = tokio::time::timeout(Duration::from_secs(30), response.text())
            .await
            .unwrap()
            .unwrap();
        assert!(!text.contains(CANARY_SECRET) && !text.contains("developers.generativeai"));
        let data = text
            .split("event: error\ndata: ")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .unwrap_or_else(|| panic!("no error event: {text}"));
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        events.push(data);
    }
    let codes: Vec<_> = events.iter().map(|e| e["code"].clone()).collect();
    assert!(codes.iter().all(|c| c == &codes[0] && c.is_string()), "{codes:?}");
    let messages: Vec<&str> = events.iter().map(|e| e["error"].as_str().unwrap()).collect();
    assert!(is_russian(messages[0]), "{}", messages[0]);
    assert!(messages[1].is_ascii() && messages[2].is_ascii(), "{messages:?}");
    assert_ne!(messages[0], messages[1]);
    assert_eq!(messages[1], messages[2]);
}

#[tokio::test]
async fn the_frameworks_refusals_follow_accept_language() {
    let app = spawn_app_with(|c| c.max_chat_bytes = 4096).await;
    let url = |path: &str| format!("{}{path}", app.url);
    let client = &app.client;
    type MakeRequest<'a> = Box<dyn Fn() -> reqwest::RequestBuilder + 'a>;
    let requests: Vec<(MakeRequest, u16, &str)> = vec![
        (Box::new(|| client.get(url("/api/nope"))), 404, "not_found"),
        (
            Box::new(|| client.get(url("/api/chat"))),
            405,
            "method_not_allowed",
        ),
        (
            Box::new(|| {
                client
                    .post(url("/api/chat"))
                    .header("content-type", "text/plain")
                    .body("hi")
            }),
            415,
            "unsupported_media_type",
        ),
        (
            Box::new(|| {
                client
                    .post(url("/api/chat"))
                    .header("content-type", "application/json")
                    .body("{\"message\": \"unterminated")
            }),
            400,
            "invalid_request",
        ),
        (
            Box::new(|| {
                client
                    .post(url("/api/chat"))
                    .json(&json!({"message": "x".repeat(5000)}))
            }),
            413,
            "payload_too_large",
        ),
        (Box::new(|| client.get(url("/metrics"))), 404, "not_found"),
    ];
    for (request, status, code) in requests {
        let (ru_code, ru) = error_of(request(), None, status).await;
        let (en_code, en) = error_of(request(), Some("en-US,en;q=0.9,ru;q=0.5"), status).await;
        let (ru2_code, ru2) = error_of(request(), Some("ru-RU"), status).await;
        assert_eq!(
            (ru_code.as_str(), en_code.as_str(), ru2_code.as_str()),
            (code, code, code)
        );
        assert!(is_russian(&ru) && ru == ru2, "{code}: {ru} / {ru2}");
        assert!(en.is_ascii() && !en.is_empty(), "{code}: {en}");
        if code == "payload_too_large" {
            assert!(
                ru.contains("4096 байт") && en.contains("4096 bytes"),
                "{ru} / {en}"
            );
        }
        if code == "invalid_request" {
            assert!(en.contains("not valid JSON"), "{en}");
        }
    }
}

#[tokio::test]
async fn the_guards_refusals_follow_accept_language() {
    let app = spawn_app().await;
    let stranger = reqwest::Client::builder().no_proxy().build().unwrap();
    let chat = || {
        stranger
            .post(format!("{}/api/chat", app.url))
            .json(&json!({"message": "hi"}))
    };
    let (code, ru) = error_of(chat(), None, 401).await;
    let (en_code, en) = error_of(chat(), Some("en"), 401).await;
    assert_eq!(
        (code.as_str(), en_code.as_str()),
        ("session_required", "session_required")
    );
    assert!(is_russian(&ru) && en.is_ascii(), "{ru} / {en}");

    let coded = spawn_app_with(|c| c.access_code = Some(CANARY_CODE.into())).await;
    let session = || {
        stranger
            .post(format!("{}/api/session", coded.url))
            .json(&json!({"accessCode": "wrong"}))
    };
    let (code, ru) = error_of(session(), None, 401).await;
    let (_, en) = error_of(session(), Some("en"), 401).await;
    assert_eq!(code, "access_code_invalid");
    assert_eq!(ru, "Код доступа не указан или неверен.");
    assert_eq!(en, "The access code is missing or wrong.");
}

#[tokio::test]
async fn a_number_or_a_boolean_where_a_string_belongs_is_400_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({"message": 42}), "message"),
        (json!({"message": true, "language": "en"}), "message"),
        (
            json!({"message": "hi", "history": [{"role": "user", "text": 5}]}),
            "history[0].text",
        ),
        (
            json!({"message": "hi", "history": [{"role": "model", "parts": [{"text": 1.5}]}]}),
            "history[0].parts[0].text",
        ),
    ];
    for (body, field) in cases {
        let answer = post(&app, "/api/chat", &body, Some("en")).await;
        let json = answer.assert_error(400, "invalid_request");
        assert_eq!(
            json["error"],
            format!("The field `{field}` must be a string."),
            "{body}"
        );
    }
    let answer = post(&app, "/api/chat", &json!({"message": 42}), None).await;
    let json = answer.assert_error(400, "invalid_request");
    assert_eq!(json["error"], "Поле `message` должно быть строкой.");
    let body = json!({"base64Image": 12, "mimeType": "image/png"});
    let json = post(&app, "/api/analyze", &body, Some("en"))
        .await
        .assert_error(400, "invalid_request");
    assert!(
        json["error"].as_str().unwrap().contains("`base64Image`"),
        "{json}"
    );
    assert!(app.fake.received().is_empty(), "nothing mistyped reached Gemini");

    // The original app's payload (history in Gemini's own shape) still works.
    let body = json!({
        "message": "А для алюминия?",
        "history": [
            {"role": "model", "parts": [{"text": "Здравствуйте!"}]},
            {"role": "user", "parts": [{"text": "Какой газ для MAG?"}]},
            {"role": "model", "parts": [{"text": "Смесь Ar + CO2."}]}
        ]
    });
    let answer = post(&app, "/api/chat", &body, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn a_signed_cookie_expiring_past_the_clock_is_401_not_a_dropped_connection() {
    let app = spawn_app().await;
    let sessions = weld_assistant::guard::session::Sessions::new(
        CANARY_SECRET.as_bytes().to_vec(),
        Duration::from_secs(3600),
        false,
    );
    let stranger = reqwest::Client::builder().no_proxy().build().unwrap();
    for secs in [u64::MAX, i64::MAX as u64, 253_402_300_800] {
        let (_, value) = sessions.sign_with_expiry(secs);
        let request = stranger
            .post(format!("{}/api/chat", app.url))
            .header("cookie", format!("weld_session={value}"))
            .json(&json!({"message": "hi"}));
        let (code, _) = error_of(request, Some("en"), 401).await;
        assert_eq!(code, "session_required", "{secs}");
        let state = stranger
            .get(format!("{}/api/session", app.url))
            .header("cookie", format!("weld_session={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(state.status(), 200, "{secs}");
        assert_eq!(state.json::<serde_json::Value>().await.unwrap()["active"], false);
    }
    assert!(app.fake.received().is_empty());
}
