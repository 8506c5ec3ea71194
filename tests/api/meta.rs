//! Health, the OpenAPI document and Swagger UI.

use serde_json::json;

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::{
    fake_gemini::{FakeGemini, Reply},
    helpers::{Answer, CANARY_KEY, spawn_app, test_config},
};

/// How long a test waits for the start-up probe: far above what it takes.
const PROBE_DEADLINE: Duration = Duration::from_secs(30);

/// Polls `/api/health` until the start-up probe has been recorded.
async fn health_after_probe(url: &str) -> serde_json::Value {
    let client = crate::helpers::browser();
    let started = Instant::now();
    loop {
        let health = Answer::read(client.get(format!("{url}/api/health")).send().await.unwrap())
            .await
            .json();
        if health["upstream"]["state"] != "unknown" {
            return health;
        }
        assert!(
            started.elapsed() < PROBE_DEADLINE,
            "the start-up probe never finished: {health}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server over a fake prepared before start-up (so the probe sees it); stops
/// when the returned sender is dropped.
async fn serve_over(
    fake: &FakeGemini,
    adjust: impl FnOnce(&mut weld_assistant::Config),
) -> (String, oneshot::Sender<()>) {
    let mut config = test_config(fake);
    adjust(&mut config);
    let app = weld_assistant::App::build(config).await.unwrap();
    let url = format!("http://{}", app.address());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    (url, stop)
}

#[tokio::test]
async fn health_reports_version_key_and_the_one_token_probe() {
    let app = spawn_app().await;
    let health = app.wait_for_probe().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["geminiConfigured"], true);
    // The fake answers the probe like Google answers one token: MAX_TOKENS, no text.
    assert_eq!(health["upstream"]["state"], "ok");
    assert!(health["upstream"]["checkedAt"].as_str().unwrap().ends_with('Z'));
    let probes = app.fake.probes();
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].method, "POST");
    assert_eq!(
        probes[0].path,
        "/v1beta/models/gemini-flash-latest:generateContent"
    );
    assert_eq!(probes[0].header("x-goog-api-key"), Some(CANARY_KEY));
    let body = probes[0].json();
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 1);
    assert_eq!(body["generationConfig"]["thinkingConfig"]["thinkingBudget"], 0);
    assert!(body.get("systemInstruction").is_none(), "{body}");
    assert!(app.fake.received().is_empty(), "the probe is no chat call");
    for _ in 0..5 {
        let _ = app.get("/api/health").await;
    }
    assert_eq!(app.fake.probes().len(), 1, "health never calls Gemini itself");
}

#[tokio::test]
async fn a_geo_blocked_server_is_region_blocked_from_the_start_up_probe() {
    let fake = FakeGemini::start().await;
    fake.geo_block();
    let (url, _stop) = serve_over(&fake, |_| {}).await;
    let health = health_after_probe(&url).await;
    assert_eq!(health["upstream"]["state"], "region_blocked", "{health}");
    assert_eq!(fake.probes().len(), 1);
    assert!(fake.received().is_empty());
}

#[tokio::test]
async fn the_probe_never_counts_against_the_daily_budget() {
    let fake = FakeGemini::start().await;
    let (url, _stop) = serve_over(&fake, |c| c.daily_request_budget = Some(1)).await;
    assert_eq!(health_after_probe(&url).await["upstream"]["state"], "ok");
    assert_eq!(fake.probes().len(), 1);
    let client = crate::helpers::browser();
    client
        .post(format!("{url}/api/session"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let chat = |message: &str| {
        client
            .post(format!("{url}/api/chat"))
            .json(&json!({"message": message}))
            .send()
    };
    let first = Answer::read(chat("первый").await.unwrap()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    Answer::read(chat("второй").await.unwrap())
        .await
        .assert_error(429, "budget_exhausted");
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn a_probe_rejected_key_shows_auth_failed() {
    let fake = FakeGemini::start().await;
    fake.probe_reply(Reply::json(400, "error_400_api_key_invalid.json"));
    let (url, _stop) = serve_over(&fake, |_| {}).await;
    assert_eq!(health_after_probe(&url).await["upstream"]["state"], "auth_failed");
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
