//! Several photos of one weld in one analysis (`images` in JSON, repeated `image`
//! parts in multipart), unary and streamed: what the fake Gemini receives (every
//! photo its own inline part, in order, and a prompt that numbers them), one bad
//! photo failing the whole request with its name, the `WELD_MAX_IMAGES` limit,
//! and the body limit scaling with it, still enforced before the body is read.

use std::path::PathBuf;

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use crate::helpers::{
    Answer, PNG_1X1_BASE64, TestApp, image_form, jpeg_bytes, raw_request, spawn_app, spawn_app_with,
};

const PATHS: [&str; 2] = ["/api/analyze", "/api/analyze/stream"];

/// A small JPEG whose scan data carries `marker`, so each photo can be told apart
/// in what Gemini receives.
fn marked_jpeg(marker: &str) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00,
        0x01, 0x00, 0x00, 0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0,
    ];
    b.extend_from_slice(marker.as_bytes());
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

const MARKERS: [&str; 3] = ["FACE-PHOTO-A", "ROOT-PHOTO-B", "SIDE-PHOTO-C"];

fn corpus_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The JSON `images` entry of these bytes.
fn entry(bytes: &[u8], mime: &str) -> Value {
    json!({"base64Image": STANDARD.encode(bytes), "mimeType": mime})
}

/// A multipart form with one `image` part per photo, in order.
fn parts_form(photos: &[(Vec<u8>, &str, &str)]) -> reqwest::multipart::Form {
    photos
        .iter()
        .fold(reqwest::multipart::Form::new(), |form, (bytes, name, mime)| {
            form.part(
                "image",
                reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(name.to_string())
                    .mime_str(mime)
                    .unwrap(),
            )
        })
}

/// Sends JSON or a form to a path and reads a success, unary or streamed, as
/// the status and the answer's text.
async fn analyze(app: &TestApp, path: &str, body: Body) -> (u16, String) {
    let request = app.client.post(format!("{}{path}", app.url));
    let response = match body {
        Body::Json(json) => request.json(&json),
        Body::Form(form) => request.multipart(form),
    }
    .send()
    .await
    .unwrap();
    if path.ends_with("/stream") && response.status() == 200 {
        let streamed = crate::helpers::read_events(response).await;
        assert_eq!(streamed.names().last(), Some(&"done"), "{}", streamed.body);
        (streamed.status, streamed.text())
    } else {
        let answer = Answer::read(response).await;
        let text = if answer.status == 200 {
            answer.json()["text"].as_str().unwrap().to_owned()
        } else {
            answer.text.clone()
        };
        (answer.status, text)
    }
}

enum Body {
    Json(Value),
    Form(reqwest::multipart::Form),
}

/// The inline images of the last request the fake received, decoded, and the
/// text of its user turn.
fn received_photos(app: &TestApp) -> (Vec<(String, Vec<u8>)>, String, String) {
    let request = app.fake.last().json();
    let contents = request["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 1, "one user turn");
    let parts = contents[0]["parts"].as_array().unwrap();
    let (text, images) = parts.split_last().unwrap();
    let images = images
        .iter()
        .map(|p| {
            let inline = &p["inlineData"];
            (
                inline["mimeType"].as_str().unwrap().to_owned(),
                STANDARD.decode(inline["data"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    let system = request["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    (images, text["text"].as_str().unwrap().to_owned(), system)
}

fn assert_three_in_order(app: &TestApp, what: &str) {
    let (images, text, system) = received_photos(app);
    assert_eq!(images.len(), 3, "{what}: {} inline images", images.len());
    for ((mime, bytes), (marker, original)) in images.iter().zip(MARKERS.iter().map(|m| (m, marked_jpeg(m))))
    {
        assert_eq!(mime, "image/jpeg", "{what}");
        assert_eq!(
            bytes, &original,
            "{what}: {marker} not received as sent, in order"
        );
    }
    assert!(
        text.contains("3 шт.") && text.contains("Photo 1 to Photo 3") && text.contains("same weld"),
        "{what}: {text}"
    );
    assert!(system.contains("say which photo shows it"), "{what}: {system}");
}

#[tokio::test]
async fn three_photos_in_json_reach_gemini_as_three_inline_images_in_order() {
    let app = spawn_app().await;
    for path in PATHS {
        let images: Vec<Value> = MARKERS
            .iter()
            .map(|m| entry(&marked_jpeg(m), "image/jpeg"))
            .collect();
        let before = app.fake.received().len();
        let (status, text) = analyze(&app, path, Body::Json(json!({"images": images}))).await;
        assert_eq!(status, 200, "{path}: {text}");
        assert!(
            text.starts_with("## Что на фото") && text.contains("## Вердикт"),
            "{path}: one report for the weld: {text}"
        );
        assert_eq!(app.fake.received().len(), before + 1, "{path}: one Gemini call");
        assert_three_in_order(&app, path);
    }
}

#[tokio::test]
async fn three_photos_in_multipart_reach_gemini_as_three_inline_images_in_order() {
    let app = spawn_app().await;
    for path in PATHS {
        let photos: Vec<_> = MARKERS
            .iter()
            .map(|m| (marked_jpeg(m), "weld.jpg", "image/jpeg"))
            .collect();
        let form = parts_form(&photos).text("note", "MMA, 09G2S, 8 mm");
        let (status, text) = analyze(&app, path, Body::Form(form)).await;
        assert_eq!(status, 200, "{path}: {text}");
        assert_three_in_order(&app, path);
        let (_, request, _) = received_photos(&app);
        assert!(request.contains("MMA, 09G2S, 8 mm"), "{request}");
    }
}

#[tokio::test]
async fn a_turned_photo_among_several_is_named_in_its_orientation_note() {
    let app = spawn_app().await;
    let turned = corpus_file("samsung-mpf.jpg");
    let body = json!({
        "images": [entry(&marked_jpeg(MARKERS[0]), "image/jpeg"), entry(&turned, "image/jpeg")],
        "language": "en",
    });
    let (status, text) = analyze(&app, "/api/analyze", Body::Json(body)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("## Verdict"), "the English report: {text}");
    let (images, request, _) = received_photos(&app);
    assert_eq!(images.len(), 2);
    assert!(
        request.starts_with("Analyze the weld in these 2 photos."),
        "{request}"
    );
    assert!(
        request.contains("(Photo 2 is stored turned: EXIF orientation 6."),
        "{request}"
    );
    assert!(!contains(&images[1].1, b"GPSMARKER"), "metadata removed");
}

#[tokio::test]
async fn the_single_photo_forms_still_send_one_image_and_the_single_photo_prompt() {
    let app = spawn_app().await;
    let png = STANDARD.decode(PNG_1X1_BASE64).unwrap();
    let bodies = [
        Body::Json(json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"})),
        Body::Json(json!({"images": [{"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"}]})),
        Body::Form(image_form(png.clone(), "seam.png", Some("image/png"))),
    ];
    for (n, body) in bodies.into_iter().enumerate() {
        let path = PATHS[n % 2];
        let (status, text) = analyze(&app, path, body).await;
        assert_eq!(status, 200, "{n}: {text}");
        let (images, request, system) = received_photos(&app);
        assert_eq!(images, vec![("image/png".to_owned(), png.clone())], "{n}");
        assert_eq!(request, "Проанализируй сварной шов на этом фото.", "{n}");
        assert!(
            system.contains("You will receive one photo") && !system.contains("Photo 1"),
            "{n}: {system}"
        );
    }
}

/// One bad photo, second of three: what it is, its type, and the expected answer.
fn bad_photos() -> Vec<(&'static str, Vec<u8>, &'static str, u16, &'static str)> {
    let mut webp = corpus_file("exif-xmp.webp");
    webp[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    vec![
        (
            "a GIF",
            b"GIF89a not allowed".to_vec(),
            "image/gif",
            415,
            "unsupported_media_type",
        ),
        (
            "a PNG called JPEG",
            STANDARD.decode(PNG_1X1_BASE64).unwrap(),
            "image/jpeg",
            415,
            "unsupported_media_type",
        ),
        (
            "an unwalkable WebP",
            webp,
            "image/webp",
            415,
            "unsupported_media_type",
        ),
        (
            "a photo over the limit",
            {
                let mut big = jpeg_bytes();
                big.resize(5000, 0x20);
                big
            },
            "image/jpeg",
            413,
            "payload_too_large",
        ),
    ]
}

#[tokio::test]
async fn one_bad_photo_among_three_fails_the_whole_request_and_names_the_photo() {
    let app = spawn_app_with(|c| c.max_image_bytes = 4096).await;
    let good = |i: usize| marked_jpeg(MARKERS[i]);
    for path in PATHS {
        // JSON: the base64 itself is bad.
        let body = json!({"images": [
            entry(&good(0), "image/jpeg"),
            {"base64Image": "@@not base64@@", "mimeType": "image/jpeg"},
            entry(&good(2), "image/jpeg"),
        ], "language": "en"});
        let answer = Answer::read(app.post_json(path, &body).await).await;
        let json = answer.assert_error(400, "invalid_request");
        let message = json["error"].as_str().unwrap();
        assert!(
            message.starts_with("Photo 2 (`images[1]`): ") && message.contains("`base64Image`"),
            "{path}: {message}"
        );

        for (what, bytes, mime, status, code) in bad_photos() {
            let body = json!({"images": [
                entry(&good(0), "image/jpeg"),
                entry(&bytes, mime),
                entry(&good(2), "image/jpeg"),
            ]});
            let answer = Answer::read(app.post_json(path, &body).await).await;
            let json = answer.assert_error(status, code);
            let message = json["error"].as_str().unwrap();
            // Russian by default.
            assert!(
                message.starts_with("Фото 2 (`images[1]`): "),
                "{path}, JSON, {what}: {message}"
            );

            let form = parts_form(&[
                (good(0), "a.jpg", "image/jpeg"),
                (bytes.clone(), "b", mime),
                (good(2), "c.jpg", "image/jpeg"),
            ]);
            let answer = Answer::read(app.post_multipart(path, form).await).await;
            let json = answer.assert_error(status, code);
            let message = json["error"].as_str().unwrap();
            assert!(
                message.starts_with("Фото 2 (`image[1]`): "),
                "{path}, multipart, {what}: {message}"
            );
        }
    }
    assert!(
        app.fake.received().is_empty(),
        "a request with a bad photo reached Gemini"
    );
}

#[tokio::test]
async fn more_photos_than_the_limit_is_400_naming_images() {
    let app = spawn_app().await;
    let five: Vec<_> = (0..5).map(|i| marked_jpeg(&format!("PHOTO-{i}"))).collect();
    for path in PATHS {
        let images: Vec<Value> = five.iter().map(|b| entry(b, "image/jpeg")).collect();
        let answer = Answer::read(
            app.post_json(path, &json!({"images": images, "language": "en"}))
                .await,
        )
        .await;
        let json = answer.assert_error(400, "invalid_request");
        assert_eq!(
            json["error"], "Too many photos in `images`: at most 4 per analysis.",
            "{path}"
        );

        let parts: Vec<_> = five.iter().map(|b| (b.clone(), "w.jpg", "image/jpeg")).collect();
        let answer = Answer::read(app.post_multipart(path, parts_form(&parts)).await).await;
        let json = answer.assert_error(400, "invalid_request");
        assert!(
            json["error"].as_str().unwrap().contains("`images`"),
            "{path}: {}",
            answer.text
        );
    }
    // Four is the limit, and it is allowed.
    let four: Vec<Value> = five[..4].iter().map(|b| entry(b, "image/jpeg")).collect();
    assert_eq!(
        app.post_json("/api/analyze", &json!({"images": four}))
            .await
            .status(),
        200
    );
    assert_eq!(received_photos(&app).0.len(), 4);
    assert_eq!(
        app.fake.received().len(),
        1,
        "only the allowed request reached Gemini"
    );
}

#[tokio::test]
async fn the_limit_follows_weld_max_images() {
    let app = spawn_app_with(|c| c.max_images = 2).await;
    let images: Vec<Value> = MARKERS
        .iter()
        .map(|m| entry(&marked_jpeg(m), "image/jpeg"))
        .collect();
    let answer = Answer::read(app.post_json("/api/analyze", &json!({"images": images})).await).await;
    let json = answer.assert_error(400, "invalid_request");
    assert!(
        json["error"].as_str().unwrap().contains("`images`") && json["error"].as_str().unwrap().contains('2'),
        "{}",
        answer.text
    );
    let two: Vec<Value> = images[..2].to_vec();
    assert_eq!(
        app.post_json("/api/analyze", &json!({"images": two}))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn images_and_base64image_are_exclusive_and_images_must_not_be_empty() {
    let app = spawn_app().await;
    let one = entry(&marked_jpeg(MARKERS[0]), "image/jpeg");
    let cases = [
        (json!({"images": []}), "`images`"),
        (json!({"note": "no photo"}), "`base64Image`"),
        (json!({"note": "no photo"}), "`images`"),
        (
            json!({"images": [one.clone()], "base64Image": PNG_1X1_BASE64, "mimeType": "image/png"}),
            "`base64Image`",
        ),
        (
            json!({"images": [one.clone()], "mimeType": "image/png"}),
            "`mimeType`",
        ),
        (json!({"images": [{"base64Image": PNG_1X1_BASE64}]}), "mimeType"),
        (json!({"images": "not an array"}), "images"),
    ];
    for (body, named) in cases {
        for path in PATHS {
            let answer = Answer::read(app.post_json(path, &body).await).await;
            let json = answer.assert_error(400, "invalid_request");
            assert!(
                json["error"].as_str().unwrap().contains(named),
                "{body}: {named} not named: {}",
                answer.text
            );
        }
    }
    assert!(app.fake.received().is_empty());
}

/// `n` photos' worth of base64 at the photo limit, plus 64 KiB.
fn analyze_limit(n: usize, max_image_bytes: usize) -> usize {
    n * max_image_bytes.div_ceil(3) * 4 + 64 * 1024
}

#[tokio::test]
async fn the_body_limit_scales_with_weld_max_images_and_is_enforced_before_reading() {
    for max_images in [1, 3] {
        let app = spawn_app_with(|c| {
            c.max_image_bytes = 30_000;
            c.max_images = max_images;
            c.api_tokens = vec!["t".into()];
        })
        .await;
        let limit = analyze_limit(max_images, 30_000);
        // Declared over the limit: 413 from the head alone (no body is ever sent;
        // a server that waited for it would hang, which `raw_request` fails on).
        let head = |length: usize| {
            format!(
                "POST /api/analyze HTTP/1.1\r\nHost: {}\r\nX-Proxy-Token: t\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
                app.address
            )
        };
        let response = raw_request(app.address, &head(limit + 1), b"").await;
        assert!(response.starts_with("HTTP/1.1 413"), "{max_images}: {response}");
        assert!(response.contains("\"code\":\"payload_too_large\""), "{response}");

        // Just under it: read and parsed (here: valid JSON photos that are each at
        // the photo limit, padded with spaces to just under the body limit).
        let photo = |i: usize| {
            let mut b = marked_jpeg(&format!("PHOTO-{i}"));
            b.resize(30_000 - 2, b' ');
            b.extend_from_slice(&[0xFF, 0xD9]);
            b
        };
        let images: Vec<Value> = (0..max_images).map(|i| entry(&photo(i), "image/jpeg")).collect();
        let mut body = serde_json::to_vec(&json!({"images": images})).unwrap();
        assert!(body.len() < limit);
        body.resize(limit - 1, b' ');
        let answer = Answer::read(
            app.post_body("/api/analyze", Some("application/json"), body)
                .await,
        )
        .await;
        assert_eq!(answer.status, 200, "{max_images}: {}", answer.text);
        assert_eq!(received_photos(&app).0.len(), max_images);

        // Chunked, over the limit: cut off at the limit.
        let chunked = format!(
            "POST /api/analyze HTTP/1.1\r\nHost: {}\r\nX-Proxy-Token: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            app.address
        );
        let size = limit + 1000;
        let chunk = format!("{size:x}\r\n{}\r\n0\r\n\r\n", " ".repeat(size));
        let response = raw_request(app.address, &chunked, chunk.as_bytes()).await;
        assert!(response.starts_with("HTTP/1.1 413"), "{max_images}: {response}");
        assert_eq!(
            app.fake.received().len(),
            1,
            "only the body under the limit was analyzed"
        );
    }
}

#[tokio::test]
async fn a_request_of_several_full_size_photos_takes_as_much_analysis_capacity_as_that_many_requests() {
    use crate::fake_gemini::{Gate, Reply};
    let app = spawn_app_with(|c| {
        c.max_image_bytes = 30_000;
        c.max_images = 4;
    })
    .await;
    let photo = |i: usize| {
        let mut b = marked_jpeg(&format!("FULL-{i}"));
        b.resize(30_000 - 2, b' ');
        b.extend_from_slice(&[0xFF, 0xD9]);
        b
    };
    // Four photos at the size limit: the body of four, so all four permits.
    let gate = Gate::new();
    app.fake.script([Reply::ok().held(&gate)]);
    let four: Vec<Value> = (0..4).map(|i| entry(&photo(i), "image/jpeg")).collect();
    let big = {
        let (client, url) = (app.client.clone(), format!("{}/api/analyze", app.url));
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"images": four}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    crate::helpers::bounded(
        "the four photos reach Gemini",
        crate::helpers::HANG_LIMIT,
        async {
            while app.fake.received().is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        },
    )
    .await;
    // A one-photo analysis now waits for capacity: it does not reach Gemini
    // while the four-photo request is being answered.
    let small = {
        let (client, url) = (app.client.clone(), format!("{}/api/analyze", app.url));
        let body = json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"});
        tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap().status() })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.fake.received().len(),
        1,
        "a photo was analyzed beside four full-size ones"
    );
    assert!(!small.is_finished());
    gate.open();
    assert_eq!(big.await.unwrap(), 200);
    assert_eq!(small.await.unwrap(), 200);
    assert_eq!(app.fake.received().len(), 2);
}
