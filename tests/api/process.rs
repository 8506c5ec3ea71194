//! The binary as an operator runs it: CLI commands, start-up errors, logs without
//! secrets, the healthcheck, and graceful shutdown on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    fake_gemini::{FakeGemini, Gate, Reply},
    helpers::{CANARY_KEY, EventStream, HANG_LIMIT},
};

const BIN: &str = env!("CARGO_BIN_EXE_weld-assistant");

/// A command with a clean environment: only what the test sets.
fn command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

/// A running server process whose log lines are collected.
struct Server {
    child: Child,
    address: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(fake: &FakeGemini, extra: &[(&str, &str)]) -> Self {
        let mut cmd = command();
        cmd.env("WELD_LISTEN", "127.0.0.1:0")
            .env("WELD_GEMINI_BASE_URL", &fake.url)
            .env("GEMINI_API_KEY", CANARY_KEY)
            .env("WELD_GEMINI_TIMEOUT_SECONDS", "5")
            .env("WELD_COOKIE_SECURE", "false")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("weld-assistant listening") {
                    // Text: `… address=127.0.0.1:1234 …`; JSON: `{…, "address": "127.0.0.1:1234", …}`.
                    let address = serde_json::from_str::<serde_json::Value>(&line)
                        .ok()
                        .and_then(|v| v["address"].as_str().map(str::to_owned))
                        .or_else(|| {
                            line.split("address=")
                                .nth(1)
                                .and_then(|r| r.split_whitespace().next())
                                .map(str::to_owned)
                        });
                    if let Some(address) = address {
                        let _ = tx.send(address);
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let Ok(address) = rx.recv_timeout(Duration::from_secs(20)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not log its address");
        };
        Self { child, address, logs }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// A browser-like client with a session on this server.
    async fn browser(&self) -> reqwest::Client {
        let client = crate::helpers::browser();
        let session = client
            .post(self.url("/api/session"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(session.status(), 200);
        client
    }

    /// Sends SIGTERM, lets it land, then lets Gemini answer what is in flight.
    async fn stop_while_held(&self, gate: &Gate) {
        sigterm(&self.pid());
        tokio::time::sleep(Duration::from_millis(300)).await;
        gate.open();
    }

    /// Asserts the process exits with 0 (within [`HANG_LIMIT`]).
    async fn exits_0(mut self) {
        let status = tokio::task::spawn_blocking(move || self.wait(HANG_LIMIT))
            .await
            .unwrap();
        assert_eq!(status.and_then(|s| s.code()), Some(0));
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// The logs once `ready` says they are complete (lines arrive through a pipe, a
    /// little after the responses), or after [`HANG_LIMIT`].
    async fn logs_when(&self, ready: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let logs = self.logs();
            if ready(&logs) || started.elapsed() > HANG_LIMIT {
                return logs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sigterm(pid: &str) {
    let status = Command::new("kill").args(["-TERM", pid]).status().unwrap();
    assert!(status.success());
}

#[test]
fn help_lists_the_commands() {
    let out = command().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["serve", "config", "openapi", "healthcheck"] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
}

#[test]
fn config_prints_the_effective_configuration_with_secrets_redacted() {
    let out = command()
        .env("GEMINI_API_KEY", CANARY_KEY)
        .env("WELD_ACCESS_CODE", "canary-access-code")
        .env("WELD_SESSION_SECRET", "canary-session-secret-0123456789abcdef")
        .env("WELD_GEMINI_MODEL", "gemini-test-model")
        .arg("config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("gemini_model = \"gemini-test-model\""), "{text}");
    for canary in [CANARY_KEY, "canary-access-code", "canary-session-secret"] {
        assert!(!text.contains(canary), "{canary} leaked:\n{text}");
    }
}

#[test]
fn the_openapi_command_prints_the_committed_document() {
    let out = command().arg("openapi").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    assert!(
        out.stdout == committed,
        "stale: run `cargo run -q -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn invalid_configuration_stops_start_up_with_one_line_naming_the_setting() {
    let out = command()
        .env("WELD_GEMINI_TIMEOUT_SECONDS", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("WELD_GEMINI_TIMEOUT_SECONDS") && err.contains("expected"),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("weld-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("weld.toml");
    std::fs::write(&file, "rate_limit_per_minute = 0\n").unwrap();
    let out = command()
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("WELD_RATE_LIMIT_PER_MINUTE")
    );
}

#[tokio::test]
async fn the_server_logs_no_secret_on_any_error_path_and_healthcheck_works() {
    let fake = FakeGemini::start().await;
    let server = Server::start(
        &fake,
        &[
            ("WELD_ACCESS_CODE", "canary-access-code"),
            ("WELD_SESSION_SECRET", "canary-session-secret-0123456789abcdef"),
        ],
    );
    let client = crate::helpers::browser();
    let session = client
        .post(server.url("/api/session"))
        .json(&json!({"accessCode": "canary-access-code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 200);
    for fixture in [
        "error_400_api_key_invalid.json",
        "error_400_location.json",
        "error_403_bad_key.json",
        "error_429_quota.json",
        "error_500_internal.json",
        "error_404_model.json",
    ] {
        let status = fixture[6..9].parse().unwrap();
        fake.script([Reply::json(status, fixture)]);
        let body = client
            .post(server.url("/api/chat"))
            .json(&json!({"message": "hi"}))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!body.contains(CANARY_KEY));
    }
    let _ = client
        .post(server.url("/api/chat"))
        .body("{bad json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();

    let port = server.address.rsplit(':').next().unwrap().to_owned();
    let check = command()
        .env("WELD_LISTEN", format!("0.0.0.0:{port}"))
        .arg("healthcheck")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let down = command()
        .env("WELD_LISTEN", "127.0.0.1:9")
        .arg("healthcheck")
        .output()
        .unwrap();
    assert!(!down.status.success());

    let region_logged = |logs: &str| {
        logs.contains("gemini call") && logs.contains("upstream_region") || logs.contains("region_blocked")
    };
    let logs = server.logs_when(region_logged).await;
    assert!(region_logged(&logs), "{logs}");
    for canary in [CANARY_KEY, "canary-access-code", "canary-session-secret"] {
        assert!(!logs.contains(canary), "{canary} leaked into the logs:\n{logs}");
    }
}

#[tokio::test]
async fn sigterm_drains_an_in_flight_request_then_exits_0() {
    let fake = FakeGemini::start().await;
    // Gemini answers only after the server was told to stop.
    let gate = Gate::new();
    fake.always(Reply::ok().held(&gate));
    let server = Server::start(&fake, &[]);
    let url = server.url("/api/chat");
    let client = server.browser().await;
    let request = tokio::spawn(async move {
        client
            .post(url)
            .json(&json!({"message": "долгий вопрос"}))
            .send()
            .await
            .unwrap()
    });
    // Wait until the request has reached the fake, then ask the server to stop.
    let started = Instant::now();
    while fake.received().is_empty() && started.elapsed() < HANG_LIMIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if fake.received().is_empty() {
        gate.open();
        let response = request.await.unwrap();
        panic!(
            "the request never reached Gemini: {} {}",
            response.status(),
            response.text().await.unwrap()
        );
    }
    server.stop_while_held(&gate).await;
    let response = request.await.unwrap();
    assert_eq!(response.status(), 200, "the in-flight request completed");
    assert!(response.text().await.unwrap().contains("text"));
    server.exits_0().await;
}

#[tokio::test]
async fn sigterm_mid_stream_lets_the_stream_finish_then_exits_0() {
    let fake = FakeGemini::start().await;
    // The last piece comes only after the server was told to stop.
    let gate = Gate::new();
    fake.always(Reply::sse_texts(&["один ", "два ", "три"]).last_chunk_held(&gate));
    let server = Server::start(&fake, &[]);
    let client = server.browser().await;
    let response = client
        .post(server.url("/api/chat/stream"))
        .json(&json!({"message": "считай"}))
        .send()
        .await
        .unwrap();
    let mut events = EventStream::new(response);
    assert_eq!(events.status, 200);
    let first = events.next_event().await.expect("a first delta");
    assert_eq!(first.name, "delta");
    server.stop_while_held(&gate).await;
    let rest = events.finish().await;
    assert_eq!(
        rest.names().last(),
        Some(&"done"),
        "the open stream was drained: {}",
        rest.body
    );
    assert!(rest.text().ends_with("три"), "{}", rest.body);
    server.exits_0().await;
}

#[tokio::test]
async fn json_logs_have_one_line_per_request_and_per_upstream_attempt_without_secrets() {
    let fake = FakeGemini::start().await;
    fake.script([
        Reply::json(503, "error_503_overloaded.json"),
        Reply::ok(),
        Reply::json(400, "error_400_api_key_invalid.json"),
        Reply::sse("stream_midstream_error.sse"),
    ]);
    let server = Server::start(
        &fake,
        &[
            ("WELD_LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
            ("WELD_SESSION_SECRET", "canary-session-secret-0123456789abcdef"),
        ],
    );
    let client = server.browser().await;
    for path in ["/api/chat", "/api/chat", "/api/chat/stream"] {
        let response = client
            .post(server.url(path))
            .json(&json!({"message": "hi"}))
            .send()
            .await
            .unwrap();
        let _ = response.text().await;
    }
    // Three request lines and four attempt lines are due.
    let count = |logs: &str, message: &str| {
        logs.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["message"] == message)
            .filter(|l| {
                message != "request" || l["route"].as_str().is_some_and(|r| r.starts_with("/api/chat"))
            })
            .count()
    };
    let logs = server
        .logs_when(|logs| count(logs, "request") >= 3 && count(logs, "gemini attempt") >= 4)
        .await;
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| {
            l["message"] == "request" && l["route"].as_str().is_some_and(|r| r.starts_with("/api/chat"))
        })
        .collect();
    assert_eq!(requests.len(), 3, "{logs}");
    for r in &requests {
        for field in [
            "route",
            "method",
            "status",
            "latency_ms",
            "request_id",
            "client_ip",
            "http",
        ] {
            assert!(!r[field].is_null(), "request line lacks {field}: {r}");
        }
        assert_eq!(r["http"], "HTTP/1.1", "{r}");
    }
    let attempts: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["message"] == "gemini attempt")
        .collect();
    assert_eq!(attempts.len(), 4, "{logs}");
    for a in &attempts {
        for field in ["model", "outcome", "attempt", "latency_ms"] {
            assert!(!a[field].is_null(), "attempt line lacks {field}: {a}");
        }
    }
    assert_eq!(attempts[0]["outcome"], "unavailable");
    assert_eq!(attempts[1]["outcome"], "ok");
    assert_eq!(attempts[1]["prompt_tokens"], 87);
    for canary in [
        CANARY_KEY,
        "canary-session-secret",
        "weld_session=",
        "\"message\":\"hi\"",
    ] {
        assert!(!logs.contains(canary), "{canary} in the logs:\n{logs}");
    }
}

#[tokio::test]
async fn a_secure_cookie_over_plain_http_from_the_lan_is_logged_once_with_the_fix() {
    let fake = FakeGemini::start().await;
    let server = Server::start(&fake, &[("WELD_COOKIE_SECURE", "true")]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let warnings = |logs: &str| {
        logs.lines()
            .filter(|l| l.contains("WELD_COOKIE_SECURE=false") && l.contains("HTTPS"))
            .count()
    };
    // Opened on this machine: browsers keep Secure cookies on localhost.
    let local = client
        .get(server.url("/api/session"))
        .header("Host", "localhost:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200);
    // Opened from a phone on the LAN, over and over.
    for path in ["/api/session", "/api/session", "/api/health"] {
        let response = client
            .get(server.url(path))
            .header("Host", "192.168.1.20:8080")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let started = Instant::now();
    while warnings(&server.logs()) == 0 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The request log lines of all four requests are in: nothing more will come.
    while server.logs().matches("/api/").count() < 4 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs = server.logs();
    assert_eq!(warnings(&logs), 1, "{logs}");
    assert!(logs.contains("192.168.1.20:8080"), "{logs}");
}

#[test]
fn bad_settings_stop_start_up_naming_them_and_unknown_variables_are_warned_about() {
    // A keepalive of zero used to start and then panic every stream.
    let out = command().env("WELD_SSE_KEEPALIVE_SECONDS", "0").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("WELD_SSE_KEEPALIVE_SECONDS") && err.contains("from 1 to 300"),
        "{err}"
    );

    let missing = std::env::temp_dir().join("weld-no-such-dir/missing.toml");
    let out = command()
        .arg("--config")
        .arg(&missing)
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&missing.display().to_string()), "{err}");

    let out = command()
        .env("WELD_ACCESS_CODE", "0451")
        .env("WELD_ACCES_CODE", "typo")
        .arg("config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("WELD_ACCES_CODE") && err.contains("did you mean WELD_ACCESS_CODE"),
        "{err}"
    );
    assert!(!err.contains("typo") && !err.contains("0451"), "{err}");
}

#[tokio::test]
async fn the_request_line_says_how_long_a_question_waited_for_the_quota() {
    let fake = FakeGemini::start().await;
    // Google's minute is taken: a 429 whose RetryInfo says 4 s, then the answer.
    let quota = String::from_utf8(crate::fake_gemini::fixture("error_429_quota.json"))
        .unwrap()
        .replace("\"38s\"", "\"4s\"");
    fake.script([
        Reply::raw(429, "application/json; charset=UTF-8", quota),
        Reply::ok(),
    ]);
    let server = Server::start(
        &fake,
        &[
            ("WELD_LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
            ("WELD_GEMINI_FALLBACK_MODELS", ""),
        ],
    );
    let client = server.browser().await;
    let response = client
        .post(server.url("/api/chat"))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let is_chat = |l: &serde_json::Value| l["message"] == "request" && l["route"] == "/api/chat";
    let logs = server
        .logs_when(|logs| {
            logs.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .any(|l| is_chat(&l))
        })
        .await;
    let line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| is_chat(l))
        .unwrap();
    let waited = line["waited_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("no waited_ms: {line}"));
    assert!((3_500..=10_000).contains(&waited), "waited {waited} ms: {line}");
    assert_eq!(fake.received().len(), 2);
}

#[test]
fn https_settings_that_cannot_work_stop_start_up_with_the_fix() {
    let dir = std::env::temp_dir().join(format!("weld-tls-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("cert.pem");
    std::fs::write(&cert, "").unwrap();
    let cert = cert.display().to_string();
    for (settings, named, says) in [
        (
            vec![("WELD_TLS_CERT_FILE", cert.as_str())],
            "WELD_TLS_KEY_FILE",
            "set both",
        ),
        (
            vec![("WELD_DOMAIN", "weld.example.org")],
            "WELD_TLS_CACHE_DIR",
            "survives restarts",
        ),
        (
            vec![("WELD_DOMAIN", "weld.example.org,not a name")],
            "WELD_DOMAIN",
            "is not a host name",
        ),
        (vec![("WELD_DOMAIN", "*.example.org")], "WELD_DOMAIN", "wildcard"),
        (
            vec![("WELD_ACME_DIRECTORY_URL", "http://acme.example/dir")],
            "WELD_ACME_DIRECTORY_URL",
            "not https",
        ),
        (
            vec![("WELD_ACME_EMAIL", "admin")],
            "WELD_ACME_EMAIL",
            "not an e-mail",
        ),
    ] {
        let mut cmd = command();
        for (k, v) in &settings {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{settings:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(named) && err.contains(says), "{settings:?}: {err}");
    }

    // A cache directory under a regular file cannot be made: start-up stops, exit 1.
    let out = command()
        .env("WELD_LISTEN", "127.0.0.1:0")
        .env("WELD_HTTPS_LISTEN", "127.0.0.1:0")
        .env("WELD_DOMAIN", "weld.example.org")
        .env("WELD_TLS_CACHE_DIR", format!("{cert}/tls"))
        .env("WELD_STARTUP_PROBE", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("WELD_TLS_CACHE_DIR") && err.contains("cannot be created"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sighup_reloads_the_certificate_files_and_the_server_keeps_running() {
    let fake = FakeGemini::start().await;
    let dir = std::env::temp_dir().join(format!("weld-sighup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["weld.test".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let server = Server::start(
        &fake,
        &[
            ("WELD_HTTPS_LISTEN", "127.0.0.1:0"),
            ("WELD_TLS_CERT_FILE", cert_file.to_str().unwrap()),
            ("WELD_TLS_KEY_FILE", key_file.to_str().unwrap()),
        ],
    );
    server.logs_when(|l| l.contains("HTTPS listening")).await;
    let _ = Command::new("kill").args(["-HUP", &server.pid()]).status();
    let logs = server
        .logs_when(|l| l.contains("reloaded the certificate file") && l.contains("by_signal=true"))
        .await;
    assert!(logs.contains("by_signal=true"), "{logs}");
    let health = reqwest::get(server.url("/api/health")).await.unwrap();
    assert_eq!(health.status(), 200, "the server still runs after SIGHUP");
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["tls"]["source"], "files", "{body}");
    sigterm(&server.pid());
    server.exits_0().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_spoken_question_leaves_neither_its_recording_nor_its_transcript_in_the_logs() {
    use base64::Engine;
    let fake = FakeGemini::start().await;
    // Gemini answers the first call and refuses the second, so an upstream
    // error is logged too; the third is refused by the server itself.
    fake.script([Reply::ok(), Reply::json(400, "error_400_api_key_invalid.json")]);
    let server = Server::start(&fake, &[("RUST_LOG", "trace,hyper=debug,h2=debug,reqwest=debug")]);
    let client = server.browser().await;
    // A distinctive recording: a RIFF/WAVE header, then bytes that spell a marker.
    let mut wav =
        b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data".to_vec();
    let payload = b"voice-canary-0123456789".repeat(400);
    wav.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    wav.extend_from_slice(&payload);
    let data = base64::engine::general_purpose::STANDARD.encode(&wav);
    for (path, mime) in [
        ("/api/chat/voice", "audio/wav"),
        ("/api/chat/voice/stream", "audio/wav"),
        ("/api/chat/voice", "audio/mp3"),
    ] {
        let response = client
            .post(server.url(path))
            .json(&json!({"audio": {"mimeType": mime, "data": data}}))
            .send()
            .await
            .unwrap();
        let _ = response.text().await;
    }
    let logs = server
        .logs_when(|logs| logs.matches("route=\"/api/chat/voice").count() >= 3)
        .await;
    assert!(logs.matches("route=\"/api/chat/voice").count() >= 3, "{logs}");
    let marker = base64::engine::general_purpose::STANDARD.encode(&payload[..30]);
    for needle in [
        "voice-canary",
        &data[..40],
        &marker[..20],
        "Transcript",
        "Какой ток",
    ] {
        assert!(!logs.contains(needle), "`{needle}` is in the logs:\n{logs}");
    }
}
