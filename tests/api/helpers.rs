//! `spawn_app()`: a server bound to 127.0.0.1:0 in this test's runtime, pointed at a
//! fresh fake Gemini, with a canary key that must never come back; and the one way
//! each test posts multipart forms, reads our SSE streams, speaks raw HTTP and
//! waits for the start-up probe.
//!
//! Timing: the tests run on busy 2-core machines, so nothing here asserts how fast
//! something is. Waits are bounded only to turn a hang into a failure, by
//! [`HANG_LIMIT`] — far above any honest answer time.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    stop: Option<oneshot::Sender<()>>,
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
    config.rate_limit_per_ip_per_minute = 6000;
    config.rate_limit_per_ip_burst = 1000;
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
        stop: Some(stop),
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
    /// Asks the server to shut down (as SIGTERM does): it drains what is in flight.
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

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

    /// POSTs raw bytes to a path, with this `Content-Type` if given (as the
    /// original app's `fetch` and broken clients do).
    pub async fn post_body(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.url)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.unwrap()
    }

    /// POSTs a multipart form to a path.
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.url))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// POSTs JSON to a streaming path and reads the whole answer.
    pub async fn stream(&self, path: &str, body: &serde_json::Value) -> Streamed {
        read_events(self.post_json(path, body).await).await
    }

    /// Waits until the start-up probe has been answered and recorded
    /// (`upstream.checkedAt` is set), so health assertions do not race it.
    /// Returns that health body.
    pub async fn wait_for_probe(&self) -> serde_json::Value {
        let started = Instant::now();
        loop {
            let health = Answer::read(self.get("/api/health").await).await.json();
            if !health["upstream"]["checkedAt"].is_null() {
                return health;
            }
            assert!(
                started.elapsed() < HANG_LIMIT,
                "the start-up probe never finished: {health}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// How long a wait may last before the test calls it a hang: far above any honest
/// answer time on a loaded machine, and far below "forever".
pub const HANG_LIMIT: Duration = Duration::from_secs(30);

/// Runs `future`, failing the test when it takes longer than `limit` (a hang).
pub async fn bounded<T>(what: &str, limit: Duration, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within {limit:?}"))
}

/// A multipart file part: these bytes, this file name, and a content type if given.
fn file_part(bytes: Vec<u8>, file_name: &str, content_type: Option<&str>) -> reqwest::multipart::Part {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
    match content_type {
        Some(mime) => part.mime_str(mime).unwrap(),
        None => part,
    }
}

/// A multipart form with one `image` file part.
pub fn image_form(bytes: Vec<u8>, file_name: &str, content_type: Option<&str>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part("image", file_part(bytes, file_name, content_type))
}

/// One item of our SSE stream: an event, or a comment line (keepalive).
#[derive(Debug, Clone)]
pub enum Sse {
    /// `event: name` with its `data:` (parsed as JSON when it is JSON).
    Event(Event),
    /// `: text`.
    Comment(String),
}

/// One SSE event.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub data: serde_json::Value,
}

/// An SSE response read event by event, as a browser's parser would.
pub struct EventStream {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    response: reqwest::Response,
    buffer: String,
    /// Everything read so far.
    pub body: String,
}

impl EventStream {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            response,
            buffer: String::new(),
            body: String::new(),
        }
    }

    /// The next event or comment; `None` at the end of the body. Fails on a hang.
    pub async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse_block(&block));
            }
            let chunk = bounded("the next SSE chunk", HANG_LIMIT, self.response.chunk())
                .await
                .unwrap()?;
            let text = String::from_utf8(chunk.to_vec()).unwrap();
            assert_no_leak(&self.headers, &text);
            self.body.push_str(&text);
            self.buffer.push_str(&text);
        }
    }

    /// The next event, skipping comments.
    pub async fn next_event(&mut self) -> Option<Event> {
        loop {
            match self.next().await? {
                Sse::Event(event) => return Some(event),
                Sse::Comment(_) => {}
            }
        }
    }

    /// Reads the rest of the stream.
    pub async fn finish(mut self) -> Streamed {
        let mut events = Vec::new();
        while let Some(event) = self.next_event().await {
            events.push(event);
        }
        assert!(
            self.buffer.trim().is_empty(),
            "unterminated event: {:?}",
            self.buffer
        );
        Streamed {
            status: self.status,
            headers: self.headers,
            events,
            body: self.body,
        }
    }
}

fn parse_block(block: &str) -> Sse {
    if let Some(comment) = block.strip_prefix(':') {
        return Sse::Comment(comment.trim().to_owned());
    }
    let mut name = String::new();
    let mut data = String::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event: ") {
            name = v.to_owned();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = v.to_owned();
        }
    }
    let data = serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data));
    Sse::Event(Event { name, data })
}

/// A stream read whole: its events in order (comments left out), status and headers.
pub struct Streamed {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub events: Vec<Event>,
    pub body: String,
}

impl Streamed {
    /// The event names in order.
    pub fn names(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.name.as_str()).collect()
    }

    /// The text of all `delta` events.
    pub fn text(&self) -> String {
        self.events
            .iter()
            .filter(|e| e.name == "delta")
            .map(|e| e.data["text"].as_str().unwrap())
            .collect()
    }

    /// The first event of this name.
    pub fn event(&self, name: &str) -> &Event {
        self.events
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no `{name}` event in {}", self.body))
    }
}

/// Reads a whole SSE response (checked for the canary).
pub async fn read_events(response: reqwest::Response) -> Streamed {
    EventStream::new(response).finish().await
}

/// Sends raw bytes and returns what comes back: one whole response (by its
/// `content-length`), or what arrived before the server closed the connection.
pub async fn raw_request(address: SocketAddr, head: &str, body: &[u8]) -> String {
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    let _ = socket.write_all(body).await;
    read_response(&mut socket).await
}

/// Reads one HTTP/1.1 response with a `content-length` body, or up to the close.
/// Fails on a hang.
pub async fn read_response(socket: &mut tokio::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = bounded("an HTTP response", HANG_LIMIT, socket.read(&mut buffer)).await;
        let n = read.unwrap_or(0);
        if n == 0 {
            return String::from_utf8_lossy(&data).into_owned();
        }
        data.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return text;
            }
        }
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

/// The `Set-Cookie` header of a response that sets (or clears) `weld_session`.
pub fn session_set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("weld_session="))
        .map(str::to_owned)
}
