//! `spawn_app()`: a server bound to 127.0.0.1:0 in this test's runtime, pointed at a
//! fresh fake Gemini, with a canary key that must never come back.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use weld_assistant::{App, Config};

use crate::fake_gemini::FakeGemini;

/// The canary key: any response or log that contains it is a leak.
pub const CANARY_KEY: &str = "AIzaCANARY-key-0123456789-must-never-leak";

/// The canary session secret and access code.
pub const CANARY_SECRET: &str = "CANARY-session-secret-0123456789abcdef-xyz";
pub const CANARY_CODE: &str = "CANARY-access-code-4242";

/// A running server and its fake upstream.
pub struct TestApp {
    pub address: SocketAddr,
    pub url: String,
    pub client: reqwest::Client,
    pub fake: FakeGemini,
    _stop: oneshot::Sender<()>,
}

/// The test configuration: defaults, loopback, the fake, the canary key, short timeouts.
pub fn test_config(fake: &FakeGemini) -> Config {
    let mut config = Config::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.gemini_base_url = fake.url.parse().unwrap();
    config.gemini_api_key = Some(CANARY_KEY.into());
    config.session_secret = Some(CANARY_SECRET.into());
    config.gemini_timeout_seconds = 5;
    config.cookie_secure = false;
    // Generous limits: tests of the limits set their own.
    config.rate_limit_per_minute = 6000;
    config.rate_limit_burst = 1000;
    config
}

/// A client that keeps cookies, like a browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Spawns the server with the test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the server with the test configuration changed by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let fake = FakeGemini::start().await;
    let mut config = test_config(&fake);
    adjust(&mut config);
    let access_code = config.access_code.is_some();
    let app = App::build(config).await.expect("the app builds");
    let address = app.address();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let app = TestApp {
        address,
        url: format!("http://{address}"),
        client: browser(),
        fake,
        _stop: stop,
    };
    // Like a browser that opened the site: the entry page issues the session cookie
    // (or, with an access code, the test logs in itself).
    let code = if access_code { CANARY_CODE } else { "" };
    let _ = app
        .client
        .post(format!("{}/api/session", app.url))
        .json(&serde_json::json!({"accessCode": code}))
        .send()
        .await;
    app
}

impl TestApp {
    /// POSTs JSON to a path.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// GETs a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }
}

/// A response read whole: status, headers and body, checked for the canary.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        assert_no_leak(&headers, &text);
        Self {
            status,
            headers,
            text,
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the DESIGN error envelope with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "content-type {content_type}"
        );
        let json = self.json();
        assert_eq!(json["code"], code, "body: {}", self.text);
        let message = json["error"].as_str().expect("`error` is a string");
        assert!(!message.is_empty());
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert!(
            keys.iter()
                .all(|k| ["error", "code", "retryAfterSeconds"].contains(&k.as_str())),
            "flat envelope only: {keys:?}"
        );
        json
    }
}

/// Fails when the canary key appears in headers or body.
pub fn assert_no_leak(headers: &reqwest::header::HeaderMap, body: &str) {
    assert!(!body.contains(CANARY_KEY), "the key leaked into a body: {body}");
    for (name, value) in headers {
        assert!(
            !value
                .as_bytes()
                .windows(CANARY_KEY.len())
                .any(|w| w == CANARY_KEY.as_bytes()),
            "the key leaked into {name}"
        );
    }
}

/// A tiny JPEG (SOI, APP0 JFIF, …): enough for magic-number checks upstream of a decoder.
pub fn jpeg_bytes() -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00,
        0x01, 0x00, 0x00,
    ];
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

/// The 1×1 PNG of the request fixture.
pub const PNG_1X1_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

/// A JPEG whose EXIF APP1 carries a GPS marker (`GPSCANAR`) before the image data.
pub fn jpeg_with_gps() -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08GPSCANARY-59.93N-30.31E".to_vec();
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1];
    b.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    b.append(&mut exif);
    b.extend_from_slice(&[
        0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
        0x00,
    ]);
    b.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0, 0x12, 0x34, 0x56, 0xFF, 0xD9,
    ]);
    b
}
