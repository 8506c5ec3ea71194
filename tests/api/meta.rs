//! Health, the OpenAPI document and Swagger UI.

use serde_json::json;

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, spawn_app},
};

#[tokio::test]
async fn health_reports_the_version_key_and_unknown_upstream_without_calling_gemini() {
    let app = spawn_app().await;
    let answer = Answer::read(app.get("/api/health").await).await;
    assert_eq!(answer.status, 200);
    let json = answer.json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["geminiConfigured"], true);
    assert_eq!(json["upstream"], json!({"state": "unknown"}));
    assert!(app.fake.received().is_empty(), "health never calls Gemini");
}

#[tokio::test]
async fn health_shows_region_blocked_after_a_location_error_and_ok_after_success() {
    let app = spawn_app().await;
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
