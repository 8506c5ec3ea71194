//! `POST /api/chat` round trips, as the fake Gemini sees them.

use serde_json::json;

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, CANARY_KEY, spawn_app},
};

#[tokio::test]
async fn chat_returns_the_answer_and_sends_key_path_instruction_and_contents() {
    let app = spawn_app().await;
    let answer = Answer::read(
        app.post_json("/api/chat", &json!({"message": "Какой электрод для 09Г2С?"}))
            .await,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert!(body["text"].as_str().unwrap().starts_with("Для стенки 6 мм"));
    assert_eq!(body["finishReason"], "STOP");
    assert_eq!(body["model"], "gemini-flash-latest");
    assert_eq!(
        body["usage"],
        json!({"promptTokens": 87, "responseTokens": 41, "totalTokens": 311})
    );

    let sent = app.fake.last();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1beta/models/gemini-flash-latest:generateContent");
    assert_eq!(sent.query, None, "the key never travels in the URL");
    assert_eq!(sent.header("x-goog-api-key"), Some(CANARY_KEY));
    assert!(
        sent.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let request = sent.json();
    let system = request["systemInstruction"]["parts"][0]["text"].as_str().unwrap();
    assert!(
        system.contains("welding") && system.contains("Answer in Russian"),
        "{system}"
    );
    assert_eq!(
        request["contents"],
        json!([{"role": "user", "parts": [{"text": "Какой электрод для 09Г2С?"}]}])
    );
}

#[tokio::test]
async fn the_original_apps_history_with_its_greeting_is_normalised() {
    let app = spawn_app().await;
    // Exactly what rubybo/WelderWeb's ChatAssistant sends through services/gemini.ts.
    let body = json!({
        "message": "А ток какой?",
        "history": [
            {"role": "model", "parts": [{"text": "Здравствуйте! Я ваш помощник по сварке."}]},
            {"role": "user", "parts": [{"text": "Какой электрод для 09Г2С?"}]},
            {"role": "model", "parts": [{"text": "УОНИ-13/55, 3 мм."}]}
        ]
    });
    let response = app
        .post_body("/api/chat", Some("application/json"), body.to_string())
        .await;
    let answer = Answer::read(response).await;
    assert_eq!(answer.status, 200);
    // The client reads `data.text`.
    assert!(answer.json()["text"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        app.fake.last().json()["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Какой электрод для 09Г2С?"}]},
            {"role": "model", "parts": [{"text": "УОНИ-13/55, 3 мм."}]},
            {"role": "user", "parts": [{"text": "А ток какой?"}]}
        ])
    );
}

#[tokio::test]
async fn the_original_client_reads_data_error_as_a_string() {
    let app = spawn_app().await;
    app.fake.always(Reply::json(503, "error_503_overloaded.json"));
    let body =
        json!({"message": "Привет", "history": [{"role": "model", "parts": [{"text": "Здравствуйте!"}]}]});
    let answer = Answer::read(app.post_json("/api/chat", &body).await).await;
    let json = answer.assert_error(503, "upstream_unavailable");
    assert!(json["error"].is_string());
}

#[tokio::test]
async fn the_simple_history_shape_is_accepted_and_runs_of_one_role_merged() {
    let app = spawn_app().await;
    let body = json!({
        "message": "third",
        "history": [
            {"role": "user", "text": "first"},
            {"role": "user", "text": "second"},
            {"role": "model", "text": ""},
            {"role": "model", "text": "answer"}
        ],
        "language": "en"
    });
    let answer = Answer::read(app.post_json("/api/chat", &body).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let text = answer.json()["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("For a 6 mm wall"), "the English answer: {text}");
    let sent = app.fake.last().json();
    assert_eq!(
        sent["contents"],
        json!([
            {"role": "user", "parts": [{"text": "first\n\nsecond"}]},
            {"role": "model", "parts": [{"text": "answer"}]},
            {"role": "user", "parts": [{"text": "third"}]}
        ])
    );
    assert!(
        sent["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Answer in English")
    );
}

#[tokio::test]
async fn accept_language_chooses_english_when_the_body_does_not_say() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/api/chat", app.url))
        .header("Accept-Language", "en-GB,en;q=0.9")
        .json(&json!({"message": "Which gas for MAG?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let system = app.fake.last().json()["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(system.contains("Answer in English"), "{system}");
}

#[tokio::test]
async fn a_long_history_is_trimmed_to_the_newest_turns() {
    let app = spawn_app().await;
    let mut history = Vec::new();
    for i in 0..200 {
        history.push(json!({"role": "user", "text": format!("question {i} {}", "x".repeat(400))}));
        history.push(json!({"role": "model", "text": format!("answer {i}")}));
    }
    let answer = Answer::read(
        app.post_json("/api/chat", &json!({"message": "last", "history": history}))
            .await,
    )
    .await;
    assert_eq!(answer.status, 200);
    let contents = app.fake.last().json()["contents"].as_array().unwrap().clone();
    assert!(
        contents.len() <= 40 && contents.len() > 2,
        "{} turns",
        contents.len()
    );
    assert_eq!(contents[0]["role"], "user");
    assert_eq!(contents.last().unwrap()["parts"][0]["text"], "last");
    assert!(
        contents[contents.len() - 2]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("answer 199")
    );
}

#[tokio::test]
async fn thought_parts_never_reach_the_client() {
    let app = spawn_app().await;
    app.fake
        .always(Reply::json(200, "generate_response_thought_parts.json"));
    let answer = Answer::read(app.post_json("/api/chat", &json!({"message": "Электрод?"})).await).await;
    assert_eq!(answer.status, 200);
    let text = answer.json()["text"].as_str().unwrap().to_owned();
    assert!(
        text.starts_with("Возьмите") && !text.contains("Choosing the electrode"),
        "{text}"
    );
}

#[tokio::test]
async fn a_max_tokens_answer_with_text_is_returned_with_its_finish_reason() {
    let app = spawn_app().await;
    let body = r#"{"candidates":[{"content":{"parts":[{"text":"Начало ответа"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}]}"#;
    app.fake
        .always(Reply::raw(200, "application/json; charset=UTF-8", body));
    let answer = Answer::read(
        app.post_json("/api/chat", &json!({"message": "Длинный вопрос"}))
            .await,
    )
    .await;
    assert_eq!(answer.status, 200);
    let json = answer.json();
    assert_eq!(
        (json["text"].as_str(), json["finishReason"].as_str()),
        (Some("Начало ответа"), Some("MAX_TOKENS"))
    );
    assert!(json.get("usage").is_none());
}
