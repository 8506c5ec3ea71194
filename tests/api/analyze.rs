//! `POST /api/analyze` in both encodings, and image validation.

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, PNG_1X1_BASE64, jpeg_bytes, spawn_app, spawn_app_with},
};

#[tokio::test]
async fn json_base64_analysis_sends_the_image_inline_before_the_text() {
    let app = spawn_app().await;
    let body = json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"});
    let answer = Answer::read(app.post_json("/api/analyze", &body).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.json()["text"].as_str().is_some_and(|t| !t.is_empty()));

    let sent = app.fake.last();
    assert_eq!(sent.path, "/v1beta/models/gemini-flash-latest:generateContent");
    let request = sent.json();
    let parts = request["contents"][0]["parts"].as_array().unwrap();
    assert_eq!(
        parts[0]["inlineData"],
        json!({"mimeType": "image/png", "data": PNG_1X1_BASE64})
    );
    assert!(parts[1]["text"].as_str().unwrap().contains("Проанализируй"));
    let system = request["systemInstruction"]["parts"][0]["text"].as_str().unwrap();
    assert!(
        system.contains("Verdict") && system.contains("Defects found"),
        "{system}"
    );
}

#[tokio::test]
async fn multipart_analysis_with_a_note_and_language() {
    let app = spawn_app().await;
    let form = reqwest::multipart::Form::new()
        .part(
            "image",
            reqwest::multipart::Part::bytes(jpeg_bytes())
                .file_name("weld.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        )
        .text("note", "TIG, 3 mm stainless, vertical")
        .text("language", "en");
    let response = app
        .client
        .post(format!("{}/api/analyze", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let answer = Answer::read(response).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let request = app.fake.last().json();
    let parts = &request["contents"][0]["parts"];
    assert_eq!(parts[0]["inlineData"]["mimeType"], "image/jpeg");
    assert_eq!(parts[0]["inlineData"]["data"], STANDARD.encode(jpeg_bytes()));
    let text = parts[1]["text"].as_str().unwrap();
    assert!(
        text.contains("Analyze the weld") && text.contains("TIG, 3 mm stainless, vertical"),
        "{text}"
    );
    assert!(
        request["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Answer in English")
    );
}

#[tokio::test]
async fn a_multipart_file_without_a_type_is_recognised_by_its_name_or_bytes() {
    let app = spawn_app().await;
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(STANDARD.decode(PNG_1X1_BASE64).unwrap()).file_name("seam.png"),
    );
    let response = app
        .client
        .post(format!("{}/api/analyze", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.fake.last().json()["contents"][0]["parts"][0]["inlineData"]["mimeType"],
        "image/png"
    );
}

#[tokio::test]
async fn the_original_apps_analyze_call_works_unchanged() {
    let app = spawn_app().await;
    let body = json!({"base64Image": STANDARD.encode(jpeg_bytes()), "mimeType": "image/jpeg"});
    let response = app
        .client
        .post(format!("{}/api/analyze", app.url))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let answer = Answer::read(response).await;
    assert_eq!(answer.status, 200);
    assert!(answer.json()["text"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn image_validation_maps_to_400_413_and_415() {
    let app = spawn_app_with(|c| c.max_image_bytes = 2048).await;
    let png = PNG_1X1_BASE64;
    let cases = [
        (
            json!({"base64Image": "@@not base64@@", "mimeType": "image/png"}),
            400,
            "invalid_request",
            Some("base64Image"),
        ),
        (
            json!({"base64Image": "", "mimeType": "image/png"}),
            400,
            "invalid_request",
            Some("base64Image"),
        ),
        (
            json!({"base64Image": png, "mimeType": ""}),
            400,
            "invalid_request",
            Some("mimeType"),
        ),
        (
            json!({"mimeType": "image/png"}),
            400,
            "invalid_request",
            Some("base64Image"),
        ),
        (
            json!({"base64Image": png}),
            400,
            "invalid_request",
            Some("mimeType"),
        ),
        (
            json!({"base64Image": png, "mimeType": "image/gif"}),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            json!({"base64Image": png, "mimeType": "image/jpeg"}),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            json!({"base64Image": STANDARD.encode(b"just some text, not an image"), "mimeType": "image/png"}),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            json!({"base64Image": STANDARD.encode(vec![0xFFu8; 4096]), "mimeType": "image/jpeg"}),
            413,
            "payload_too_large",
            None,
        ),
        (
            json!({"base64Image": png, "mimeType": "image/png", "language": "de"}),
            400,
            "invalid_request",
            Some("language"),
        ),
        (
            json!({"base64Image": png, "mimeType": "image/png", "note": "x".repeat(1001)}),
            400,
            "invalid_request",
            Some("note"),
        ),
    ];
    for (body, status, code, field) in cases {
        let answer = Answer::read(app.post_json("/api/analyze", &body).await).await;
        let json = answer.assert_error(status, code);
        if let Some(field) = field {
            assert!(
                json["error"].as_str().unwrap().contains(field),
                "{field} not named: {}",
                answer.text
            );
        }
    }
    assert!(app.fake.received().is_empty(), "nothing invalid reached Gemini");
}

#[tokio::test]
async fn a_multipart_file_of_the_wrong_type_is_415_and_a_missing_file_400() {
    let app = spawn_app().await;
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(b"%PDF-1.7 not an image".to_vec())
            .file_name("a.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let response = app
        .client
        .post(format!("{}/api/analyze", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Answer::read(response)
        .await
        .assert_error(415, "unsupported_media_type");

    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(STANDARD.decode(PNG_1X1_BASE64).unwrap())
            .file_name("a.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let response = app
        .client
        .post(format!("{}/api/analyze", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Answer::read(response)
        .await
        .assert_error(415, "unsupported_media_type");

    let form = reqwest::multipart::Form::new().text("note", "no image here");
    let response = app
        .client
        .post(format!("{}/api/analyze", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let answer = Answer::read(response).await;
    let json = answer.assert_error(400, "invalid_request");
    assert!(
        json["error"].as_str().unwrap().contains("image"),
        "{}",
        answer.text
    );
    assert!(app.fake.received().is_empty());
}

#[tokio::test]
async fn a_blocked_image_prompt_is_422() {
    let app = spawn_app().await;
    app.fake
        .always(Reply::json(200, "generate_response_safety_blocked_prompt.json"));
    let body = json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"});
    let json = Answer::read(app.post_json("/api/analyze", &body).await)
        .await
        .assert_error(422, "content_blocked");
    assert!(json["error"].as_str().unwrap().contains("PROHIBITED_CONTENT"));
}

#[tokio::test]
async fn at_most_four_photos_are_worked_on_at_once() {
    let app = spawn_app().await;
    app.fake
        .always(Reply::ok().delayed(std::time::Duration::from_millis(400)));
    let body = json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"});
    let started = std::time::Instant::now();
    let requests = (0..8).map(|_| app.post_json("/api/analyze", &body));
    let responses = futures_util::future::join_all(requests).await;
    assert!(responses.iter().all(|r| r.status() == 200));
    // Eight requests, four at a time, 400 ms each: two waves.
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(780),
        "{took:?}: more than four at once"
    );
    // Chat is not held up by the photo queue.
    app.fake.always(Reply::ok());
    let chat = std::time::Instant::now();
    assert_eq!(
        app.post_json("/api/chat", &json!({"message": "x"}))
            .await
            .status(),
        200
    );
    assert!(chat.elapsed() < std::time::Duration::from_millis(400));
}
