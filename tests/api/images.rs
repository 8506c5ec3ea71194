//! The metadata corpus (`tests/fixtures/images/`, written by
//! `cargo run --example image_corpus`) through `/api/analyze`: what the fake
//! Gemini receives carries no marker, still decodes to the same pixels, and the
//! EXIF orientation reaches the model as words. Files the stripper cannot walk
//! are refused with 415.

use std::path::PathBuf;

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;

use crate::helpers::{Answer, TestApp, spawn_app};

/// Each corpus file: name, type, the EXIF orientation it carries (as the note the
/// model must get), and how many distinct markers are in it.
const CORPUS: [(&str, &str, Option<u8>); 6] = [
    ("iphone.heic", "image/heic", None),
    ("samsung-mpf.jpg", "image/jpeg", Some(6)),
    ("photoshop-extended-xmp.jpg", "image/jpeg", None),
    ("progressive-exif-between-scans.jpg", "image/jpeg", Some(8)),
    ("imagemagick-raw-profile.png", "image/png", Some(6)),
    ("exif-xmp.webp", "image/webp", Some(6)),
];

fn corpus_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether the bytes carry a marker, as text or as ImageMagick's hex.
fn leaks(bytes: &[u8]) -> bool {
    let needles: [&[u8]; 3] = [b"GPSMARKER", b"4750534d41524b4552", b"4750534D41524B4552"];
    needles.iter().any(|n| bytes.windows(n.len()).any(|w| w == *n))
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Json,
    Multipart,
}

async fn send(app: &TestApp, mode: Mode, stream: bool, name: &str, mime: &str, bytes: &[u8]) -> Answer {
    let path = if stream {
        "/api/analyze/stream"
    } else {
        "/api/analyze"
    };
    let request = app.client.post(format!("{}{path}", app.url));
    let request = match mode {
        Mode::Json => request.json(&json!({"base64Image": STANDARD.encode(bytes), "mimeType": mime})),
        Mode::Multipart => request.multipart(
            reqwest::multipart::Form::new().part(
                "image",
                reqwest::multipart::Part::bytes(bytes.to_vec())
                    .file_name(name.to_owned())
                    .mime_str(mime)
                    .unwrap(),
            ),
        ),
    };
    Answer::read(request.send().await.unwrap()).await
}

/// Checks a HEIF's box structure: top-level boxes tile the file, `meta` children
/// tile `meta`, and every `iloc` extent of method 0 lies inside the file.
fn assert_heif_structure(bytes: &[u8]) {
    let read = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let mut pos = 0;
    let mut kinds = Vec::new();
    while pos < bytes.len() {
        let size = read(pos);
        assert!(size >= 8 && pos + size <= bytes.len(), "box at {pos}");
        let kind = &bytes[pos + 4..pos + 8];
        kinds.push(String::from_utf8_lossy(kind).into_owned());
        if kind == b"meta" {
            let mut child = pos + 12;
            let mut children = Vec::new();
            while child < pos + size {
                let len = read(child);
                assert!(len >= 8 && child + len <= pos + size, "meta child at {child}");
                children.push(String::from_utf8_lossy(&bytes[child + 4..child + 8]).into_owned());
                child += len;
            }
            assert_eq!(child, pos + size);
            for needed in ["hdlr", "pitm", "iinf", "iloc", "iprp", "idat"] {
                assert!(
                    children.iter().any(|c| c == needed),
                    "{needed} missing: {children:?}"
                );
            }
        }
        pos += size;
    }
    assert_eq!(pos, bytes.len());
    assert_eq!(kinds, ["ftyp", "meta", "mdat"]);
}

/// Asserts the received image decodes to the very pixels of the original.
fn assert_same_picture(mime: &str, original: &[u8], received: &[u8]) {
    let format = match mime {
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/png" => image::ImageFormat::Png,
        "image/webp" => image::ImageFormat::WebP,
        _ => {
            assert_heif_structure(received);
            assert_eq!(received.len(), original.len());
            let stand_in = b"(HEVC stand-in)";
            assert!(received.windows(stand_in.len()).any(|w| w == stand_in));
            assert!(received.windows(4).any(|w| w == b"irot"), "rotation kept");
            return;
        }
    };
    let before = image::load_from_memory_with_format(original, format).unwrap();
    let after = image::load_from_memory_with_format(received, format)
        .unwrap_or_else(|e| panic!("the stripped {mime} does not decode: {e}"));
    assert_eq!(after.width(), 32);
    assert_eq!(before.to_rgb8(), after.to_rgb8(), "pixels changed");
}

#[tokio::test]
async fn no_corpus_marker_reaches_gemini_in_any_encoding_and_the_photos_still_decode() {
    let app = spawn_app().await;
    for (name, mime, orientation) in CORPUS {
        let original = corpus_file(name);
        assert!(
            leaks(&original),
            "{name} carries no marker: the test would prove nothing"
        );
        for mode in [Mode::Json, Mode::Multipart] {
            for stream in [false, true] {
                let answer = send(&app, mode, stream, name, mime, &original).await;
                assert_eq!(
                    answer.status, 200,
                    "{name} {mode:?} stream={stream}: {}",
                    answer.text
                );
                let sent = app.fake.last();
                assert_eq!(
                    sent.path.ends_with(":streamGenerateContent"),
                    stream,
                    "{}",
                    sent.path
                );
                assert!(!leaks(&sent.body), "{name} {mode:?}: a marker in the request");
                let request = sent.json();
                let parts = &request["contents"][0]["parts"];
                assert_eq!(parts[0]["inlineData"]["mimeType"], mime);
                let image = STANDARD
                    .decode(parts[0]["inlineData"]["data"].as_str().unwrap())
                    .unwrap();
                assert!(
                    !leaks(&image),
                    "{name} {mode:?} stream={stream}: metadata reached Gemini"
                );
                assert_same_picture(mime, &original, &image);
                let text = parts[1]["text"].as_str().unwrap();
                match orientation {
                    Some(o) => assert!(
                        text.contains(&format!("EXIF orientation {o}")),
                        "{name}: orientation not told: {text}"
                    ),
                    None => assert!(!text.contains("orientation"), "{name}: {text}"),
                }
            }
        }
    }
    assert_eq!(app.fake.received().len(), CORPUS.len() * 4);
}

#[tokio::test]
async fn the_corpus_keeps_what_decoding_needs() {
    // Kept on purpose: JFIF and Adobe markers (colour transform); gAMA.
    let app = spawn_app().await;
    for (name, mime, kept) in [
        ("photoshop-extended-xmp.jpg", "image/jpeg", &b"Adobe"[..]),
        ("samsung-mpf.jpg", "image/jpeg", b"JFIF"),
        ("imagemagick-raw-profile.png", "image/png", b"gAMA"),
        ("exif-xmp.webp", "image/webp", b"VP8X"),
    ] {
        let answer = send(&app, Mode::Json, false, name, mime, &corpus_file(name)).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let request = app.fake.last().json();
        let image = STANDARD
            .decode(
                request["contents"][0]["parts"][0]["inlineData"]["data"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        assert!(
            image.windows(kept.len()).any(|w| w == kept),
            "{name} lost {kept:?}"
        );
        assert!(!image.windows(4).any(|w| w == b"MPF\0" || w == b"tIME"));
    }
}

/// A cut a little after the first marker: inside the segment or chunk that holds it.
fn after_marker(bytes: &[u8]) -> usize {
    bytes.windows(9).position(|w| w == b"GPSMARKER").unwrap() + 12
}

#[tokio::test]
async fn a_file_the_stripper_cannot_walk_is_refused_with_415() {
    let app = spawn_app().await;
    let jpeg = corpus_file("samsung-mpf.jpg");
    let png = corpus_file("imagemagick-raw-profile.png");
    let mut heic = corpus_file("iphone.heic");
    // The meta box claims more bytes than the file has after it.
    heic[32..36].copy_from_slice(&0x00FF_FFFFu32.to_be_bytes());
    let mut webp = corpus_file("exif-xmp.webp");
    webp[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let cases = [
        ("cut.jpg", "image/jpeg", jpeg[..after_marker(&jpeg)].to_vec()),
        ("cut.png", "image/png", png[..after_marker(&png)].to_vec()),
        ("broken.heic", "image/heic", heic),
        ("broken.webp", "image/webp", webp),
    ];
    for (name, mime, bytes) in cases {
        assert!(leaks(&bytes), "{name}: the refused file carries a marker");
        for mode in [Mode::Json, Mode::Multipart] {
            let answer = send(&app, mode, false, name, mime, &bytes).await;
            let json = answer.assert_error(415, "unsupported_media_type");
            let message = json["error"].as_str().unwrap();
            // Russian by default (no `language`, no Accept-Language).
            assert!(
                message.contains("метаданные") && message.contains(mime),
                "{name}: {message}"
            );
            assert!(!leaks(answer.text.as_bytes()));
        }
    }
    assert!(app.fake.received().is_empty(), "a refused file reached Gemini");
}
