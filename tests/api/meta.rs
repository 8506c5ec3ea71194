//! Health, the OpenAPI document and Swagger UI.

use serde_json::json;

use std::time::{Duration, Instant};

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, HANG_LIMIT, spawn_app},
};

#[tokio::test]
async fn health_reports_version_key_and_the_probe_without_spending_generation_quota() {
    let app = spawn_app().await;
    let health = app.wait_for_probe().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["geminiConfigured"], true);
    assert_eq!(health["upstream"]["state"], "ok");
    assert!(health["upstream"]["checkedAt"].as_str().unwrap().ends_with('Z'));
    let probes = app.fake.probes();
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].path, "/v1beta/models/gemini-flash-latest");
    assert_eq!(
        probes[0].header("x-goog-api-key"),
        Some(crate::helpers::CANARY_KEY)
    );
    assert!(app.fake.received().is_empty(), "no generateContent call");
    for _ in 0..5 {
        let _ = app.get("/api/health").await;
    }
    assert_eq!(app.fake.probes().len(), 1, "health never calls Gemini itself");
}

#[tokio::test]
async fn a_probe_rejected_key_shows_auth_failed() {
    let fake = crate::fake_gemini::FakeGemini::start().await;
    fake.probe_reply(Reply::json(400, "error_400_api_key_invalid.json"));
    let mut config = crate::helpers::test_config(&fake);
    config.listen = "127.0.0.1:0".parse().unwrap();
    let app = weld_assistant::App::build(config).await.unwrap();
    let url = format!("http://{}", app.address());
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    let health = loop {
        let health: serde_json::Value = reqwest::get(format!("{url}/api/health"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !health["upstream"]["checkedAt"].is_null() || started.elapsed() > HANG_LIMIT {
            break health;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(health["upstream"]["state"], "auth_failed", "{health}");
}

#[tokio::test]
async fn health_shows_region_blocked_after_a_location_error_and_ok_after_success() {
    let app = spawn_app().await;
    // The start-up probe's "ok" must not land after (and over) what the chat shows.
    assert_eq!(app.wait_for_probe().await["upstream"]["state"], "ok");
    app.fake.script([Reply::json(400, "error_400_location.json")]);
    let _ = app.post_json("/api/chat", &json!({"message": "hi"})).await;
    let health = Answer::read(app.get("/api/health").await).await.json();
    assert_eq!(health["upstream"]["state"], "region_blocked");
    let checked = health["upstream"]["checkedAt"].as_str().unwrap();
    assert!(checked.ends_with('Z') && checked.contains('T'), "{checked}");

    app.fake
        .script([Reply::json(400, "error_400_api_key_invalid.json")]);
    let _ = app.post_json("/api/chat", &json!({"message": "hi"})).await;
    assert_eq!(
        Answer::read(app.get("/api/health").await).await.json()["upstream"]["state"],
        "auth_failed"
    );

    let _ = app.post_json("/api/chat", &json!({"message": "hi"})).await;
    assert_eq!(
        Answer::read(app.get("/api/health").await).await.json()["upstream"]["state"],
        "ok"
    );
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one() {
    let app = spawn_app().await;
    let served = app.get("/openapi.json").await.text().await.unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        served == committed,
        "openapi/openapi.json is stale; regenerate it with:\n\n    cargo run -q -- openapi > openapi/openapi.json\n"
    );
    let spec: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/health", "/api/chat", "/api/analyze"] {
        assert!(spec["paths"][path].is_object(), "{path} documented");
    }
    let analyze = spec["paths"]["/api/analyze"]["post"]["requestBody"]["content"]
        .as_object()
        .unwrap();
    assert!(
        analyze.keys().any(|k| k.starts_with("application/json")),
        "{analyze:?}"
    );
    assert!(analyze.contains_key("multipart/form-data"));
}

#[tokio::test]
async fn swagger_ui_is_served_without_any_third_party_host() {
    let app = spawn_app().await;
    let response = app.get("/docs").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger"), "looks like Swagger UI");
    for cdn in [
        "unpkg.com",
        "cdn.jsdelivr",
        "cdnjs.",
        "fonts.googleapis",
        "src=\"http",
        "href=\"http",
        "src='http",
    ] {
        assert!(!html.contains(cdn), "Swagger UI loads from {cdn}");
    }
}
