//! The fake Gemini's unscripted answers (what `cargo run --example fake_gemini`
//! and the end-to-end tests get): a report for a photo, a chat answer for a
//! question, in the language the request asks for, unary and streamed, in
//! Gemini's wire shape — read through the real server, and straight from the fake.

use serde_json::{Value, json};

use crate::{
    fake_gemini::{FakeGemini, Reply},
    helpers::{Answer, CANARY_KEY, PNG_1X1_BASE64, spawn_app},
};

/// The beginning and a line of each unscripted answer.
const CHAT_RU: (&str, &str) = ("Для стенки 6 мм", "УОНИ-13/55");
const CHAT_EN: (&str, &str) = (
    "For a 6 mm wall in the vertical position",
    "welding uphill (vertical-up)",
);
const REPORT_RU: (&str, &str) = (
    "## Что на фото\n\n",
    "## Вердикт\n\n**Требует доработки:** подрез глубже 0,5 мм",
);
const REPORT_EN: (&str, &str) = (
    "## What is in the photo\n\n",
    "## Verdict\n\n**Needs rework:** undercut deeper than 0.5 mm",
);

#[tokio::test]
async fn through_the_server_each_request_gets_the_answer_of_its_kind_and_language() {
    let app = spawn_app().await;
    let photo = |language: Option<&str>| {
        let mut body = json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"});
        if let Some(language) = language {
            body["language"] = json!(language);
        }
        body
    };
    let cases = [
        ("chat", json!({"message": "Какой электрод для 09Г2С?"}), CHAT_RU),
        (
            "chat",
            json!({"message": "Which electrode for 09G2S?", "language": "en"}),
            CHAT_EN,
        ),
        // No `language` and no Accept-Language: the server asks for Russian, and
        // the fake follows the instruction, not the question's language.
        ("chat", json!({"message": "Which electrode for 09G2S?"}), CHAT_RU),
        ("analyze", photo(None), REPORT_RU),
        ("analyze", photo(Some("en")), REPORT_EN),
    ];
    for (route, body, (start, line)) in cases {
        let answer = Answer::read(app.post_json(&format!("/api/{route}"), &body).await).await;
        assert_eq!(answer.status, 200, "{route} {body}: {}", answer.text);
        let json = answer.json();
        let text = json["text"].as_str().unwrap();
        assert!(
            text.starts_with(start) && text.contains(line),
            "{route} {body}: {text}"
        );
        assert_eq!(json["finishReason"], "STOP");

        let streamed = app.stream(&format!("/api/{route}/stream"), &body).await;
        assert_eq!(streamed.status, 200, "{route}/stream {body}: {}", streamed.body);
        assert_eq!(streamed.names().last(), Some(&"done"), "{}", streamed.body);
        let text = streamed.text();
        assert!(
            text.starts_with(start) && text.contains(line),
            "{route}/stream {body}: {text}"
        );
    }
    // A report's usage counts the photo: Gemini's `usageMetadata` with an IMAGE part.
    let report = Answer::read(app.post_json("/api/analyze", &photo(None)).await).await;
    assert_eq!(
        report.json()["usage"],
        json!({"promptTokens": 710, "responseTokens": 218, "totalTokens": 1802})
    );
}

/// POSTs a Gemini request straight to the fake and returns the answer's text
/// (the concatenated parts of every event when streamed) and the raw body.
async fn ask_fake(fake: &FakeGemini, stream: bool, request: Value) -> (String, String) {
    let (method, query) = if stream {
        ("streamGenerateContent", "?alt=sse")
    } else {
        ("generateContent", "")
    };
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!(
            "{}/v1beta/models/gemini-flash-latest:{method}{query}",
            fake.url
        ))
        .header("x-goog-api-key", CANARY_KEY)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let text_of = |json: &Value| {
        json["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let text = if stream {
        body.split_terminator("\r\n\r\n")
            .map(|event| text_of(&serde_json::from_str(event.strip_prefix("data: ").unwrap()).unwrap()))
            .collect()
    } else {
        text_of(&serde_json::from_str(&body).unwrap())
    };
    (text, body)
}

#[tokio::test]
async fn straight_from_the_fake_the_instruction_decides_else_the_users_script() {
    let fake = FakeGemini::start().await;
    let user = |parts: Value| json!({"contents": [{"role": "user", "parts": parts}]});
    let image = json!({"inlineData": {"mimeType": "image/png", "data": PNG_1X1_BASE64}});
    let cases = [
        // Without a system instruction: Cyrillic in the last user text is Russian.
        (user(json!([{"text": "Which electrode for 6 mm?"}])), CHAT_EN),
        (user(json!([{"text": "Какой электрод для 6 мм?"}])), CHAT_RU),
        (user(json!([image.clone()])), REPORT_RU),
        (
            user(json!([image.clone(), {"text": "Analyze the weld in this photo."}])),
            REPORT_EN,
        ),
        // The last user turn counts, not the history.
        (
            json!({"contents": [
                {"role": "user", "parts": [{"text": "Какой электрод?"}]},
                {"role": "model", "parts": [{"text": "УОНИ-13/55."}]},
                {"role": "user", "parts": [{"text": "And the current?"}]}
            ]}),
            CHAT_EN,
        ),
        // The instruction wins over the user's language.
        (
            json!({
                "systemInstruction": {"parts": [{"text": "You are a welder.\n\nAnswer in Russian (the user's language)."}]},
                "contents": [{"role": "user", "parts": [{"text": "Which electrode?"}]}]
            }),
            CHAT_RU,
        ),
        (
            json!({
                "systemInstruction": {"parts": [{"text": "Judge the weld.\n\nAnswer in English (the user's language)."}]},
                "contents": [{"role": "user", "parts": [image.clone(), {"text": "Проанализируй сварной шов на этом фото."}]}]
            }),
            REPORT_EN,
        ),
    ];
    for (request, (start, line)) in cases {
        for stream in [false, true] {
            let (text, body) = ask_fake(&fake, stream, request.clone()).await;
            assert!(
                text.starts_with(start) && text.contains(line),
                "stream {stream}, {request}: {text}"
            );
            if stream {
                assert!(
                    body.starts_with("data: {\"candidates\": ") && body.ends_with("\"}\r\n\r\n"),
                    "CRLF-framed like Google's: {body:?}"
                );
                assert!(!body.replace("\r\n", "").contains('\n'), "no bare LF: {body:?}");
            } else {
                let json: Value = serde_json::from_str(&body).unwrap();
                for field in ["candidates", "usageMetadata", "modelVersion", "responseId"] {
                    assert!(!json[field].is_null(), "{field} missing: {body}");
                }
                assert_eq!(json["candidates"][0]["finishReason"], "STOP");
            }
        }
    }

    // A scripted answer still comes first, and the default returns after it.
    fake.script([Reply::json(200, "generate_response_ok.json")]);
    let english = user(json!([{"text": "Which electrode?"}]));
    assert!(
        ask_fake(&fake, false, english.clone())
            .await
            .0
            .starts_with(CHAT_RU.0)
    );
    assert!(ask_fake(&fake, false, english).await.0.starts_with(CHAT_EN.0));
}
