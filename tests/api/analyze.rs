//! `POST /api/analyze` in both encodings, and image validation.

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;

use crate::{
    fake_gemini::{Gate, Reply},
    helpers::{
        Answer, HANG_LIMIT, PNG_1X1_BASE64, bounded, image_form, jpeg_bytes, spawn_app, spawn_app_with,
    },
};

#[tokio::test]
async fn json_base64_analysis_sends_the_image_inline_before_the_text() {
    let app = spawn_app().await;
    let body = json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"});
    let answer = Answer::read(app.post_json("/api/analyze", &body).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // The fake's report for a photo, in Russian as the instruction asks.
    let report = answer.json()["text"].as_str().unwrap().to_owned();
    assert!(
        report.starts_with("## Что на фото") && report.contains("## Вердикт\n\n**Требует доработки:**"),
        "{report}"
    );

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
    let form = image_form(jpeg_bytes(), "weld.jpg", Some("image/jpeg"))
        .text("note", "TIG, 3 mm stainless, vertical")
        .text("language", "en");
    let answer = Answer::read(app.post_multipart("/api/analyze", form).await).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let report = answer.json()["text"].as_str().unwrap().to_owned();
    assert!(
        report.starts_with("## What is in the photo") && report.contains("## Verdict\n\n**Needs rework:**"),
        "the English report: {report}"
    );
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
    let form = image_form(STANDARD.decode(PNG_1X1_BASE64).unwrap(), "seam.png", None);
    assert_eq!(app.post_multipart("/api/analyze", form).await.status(), 200);
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
        .post_body("/api/analyze", Some("application/json"), body.to_string())
        .await;
    let answer = Answer::read(response).await;
    assert_eq!(answer.status, 200);
    // The original app reads `data.text`: the Markdown report.
    let report = answer.json()["text"].as_str().unwrap().to_owned();
    assert!(
        report.contains("## Найденные дефекты") && report.contains("## Вердикт"),
        "{report}"
    );
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
    let png = STANDARD.decode(PNG_1X1_BASE64).unwrap();
    for form in [
        image_form(
            b"%PDF-1.7 not an image".to_vec(),
            "a.pdf",
            Some("application/pdf"),
        ),
        image_form(png, "a.jpg", Some("image/jpeg")),
    ] {
        Answer::read(app.post_multipart("/api/analyze", form).await)
            .await
            .assert_error(415, "unsupported_media_type");
    }

    let form = reqwest::multipart::Form::new().text("note", "no image here");
    let answer = Answer::read(app.post_multipart("/api/analyze", form).await).await;
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
    // The first four photos Gemini sees are held until the test opens the gate;
    // everything after them is answered at once.
    let gate = Gate::new();
    app.fake.script((0..4).map(|_| Reply::ok().held(&gate)));
    let body = json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"});
    let photos: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, body) = (
                app.client.clone(),
                format!("{}/api/analyze", app.url),
                body.clone(),
            );
            tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap().status() })
        })
        .collect();
    bounded("four photos reach Gemini", HANG_LIMIT, async {
        while app.fake.received().len() < 4 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    // Chat is not held up by the photo queue: it is answered while four photos wait.
    let chat = bounded(
        "chat while the photo queue is full",
        HANG_LIMIT,
        app.post_json("/api/chat", &json!({"message": "x"})),
    )
    .await;
    assert_eq!(chat.status(), 200);
    // All eight were sent long before the chat answer; only four got through.
    let analyses = |app: &crate::helpers::TestApp| {
        app.fake
            .received()
            .iter()
            .filter(|r| r.json()["contents"][0]["parts"][0]["inlineData"].is_object())
            .count()
    };
    assert_eq!(analyses(&app), 4, "more than four photos at once");
    assert!(
        photos.iter().all(|p| !p.is_finished()),
        "a held photo was answered"
    );
    gate.open();
    for photo in photos {
        assert_eq!(bounded("a photo answer", HANG_LIMIT, photo).await.unwrap(), 200);
    }
    assert_eq!(analyses(&app), 8);
}
