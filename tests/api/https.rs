//! HTTPS of the server's own, against a real ACME server: Debian's pebble
//! validates a real TLS-ALPN-01 challenge against the running server, which then
//! serves HTTPS with pebble's certificate (HTTP/2, HSTS, `Secure` cookie, the
//! guard), redirects plain HTTP, keeps its cache private and reuses it after a
//! restart; the operator's own files are served and reloaded; bad settings stop
//! start-up.

use std::{
    net::SocketAddr,
    path::Path,
    time::{Duration, Instant},
};

use tokio::sync::oneshot;
use weld_assistant::{App, Config};

use crate::{
    fake_gemini::FakeGemini,
    helpers::{HANG_LIMIT, test_config},
    pebble::{Pebble, TestCa, free_port, temp_dir},
};

/// The site's name in these tests (pebble's DNS says 127.0.0.1).
const DOMAIN: &str = "weld.test";

/// A server running in this test's runtime, with its two ports.
struct Running {
    plain: SocketAddr,
    https: SocketAddr,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(config: Config) -> Self {
        let app = App::build(config).await.expect("the app builds");
        let plain = app.address();
        let https = app.https_address().expect("HTTPS is served");
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            plain,
            https,
            stop,
            done,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap().unwrap();
    }

    /// A client that trusts only `root` and finds `DOMAIN` at the HTTPS port.
    fn client(&self, root: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(root.as_bytes()).unwrap())
            .resolve(DOMAIN, self.https)
            .tls_info(true)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{DOMAIN}:{}{path}", self.https.port())
    }

    fn plain_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.plain)
    }
}

/// The leaf certificate the server presented.
fn peer_certificate(response: &reqwest::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("a TLS response carries the peer certificate")
        .to_vec()
}

async fn plain_health(running: &Running) -> serde_json::Value {
    reqwest::Client::new()
        .get(running.plain_url("/api/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[cfg(unix)]
fn assert_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700, "the cache directory");
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path) & 0o077, 0, "{} is readable by others", path.display());
        files += 1;
    }
    assert!(files >= 2, "the account and the certificate are cached");
}

#[tokio::test]
async fn a_certificate_from_a_real_acme_server_is_served_and_reused_after_a_restart() {
    let dir = temp_dir("acme");
    let cache = dir.join("tls-cache");
    let https_port = free_port();
    let pebble = Pebble::start(&dir, https_port).await;
    let fake = FakeGemini::start().await;
    let mut config = test_config(&fake);
    config.domain = vec![DOMAIN.to_owned()];
    config.https_listen = format!("127.0.0.1:{https_port}").parse().unwrap();
    config.acme_directory_url = pebble.directory.parse().unwrap();
    config.acme_ca_file = Some(pebble.ca_file.display().to_string());
    config.acme_email = Some("admin@weld.test".to_owned());
    config.tls_cache_dir = Some(cache.display().to_string());
    config.metrics = true;
    // A domain makes the cookie Secure whatever this says.
    config.cookie_secure = false;
    let running = Running::start(config.clone()).await;

    // Until pebble has validated and issued, health says so over plain HTTP.
    let started = Instant::now();
    let health = loop {
        let health = plain_health(&running).await;
        if health["tls"]["state"] == "ok" {
            break health;
        }
        assert!(
            started.elapsed() < HANG_LIMIT * 4,
            "no certificate: {health}\npebble: {}",
            pebble.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health["tls"]["source"], "acme", "{health}");
    assert!(health["tls"]["expiresAt"].is_string(), "{health}");
    assert!(health["tls"].get("problem").is_none(), "{health}");
    // Pebble connected to our HTTPS port and checked the TLS-ALPN-01 answer.
    let log = pebble.log();
    assert!(
        log.contains("Starting 3 validations") && log.contains("set VALID by completed challenge"),
        "{log}"
    );

    // HTTPS, verified with pebble's root only: HTTP/2 by ALPN, HSTS.
    let root = pebble.root().await;
    let client = running.client(&root);
    let response = client.get(running.url("/api/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let issued = peer_certificate(&response);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["tls"]["state"], "ok");

    // The entry page issues the session cookie, Secure.
    let response = client.get(running.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("weld_session=") && cookie.contains("Secure"),
        "{cookie}"
    );

    // The guard holds over HTTPS: no session, no chat.
    let response = client
        .post(running.url("/api/chat"))
        .json(&serde_json::json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["code"], "session_required");
    assert!(fake.received().is_empty(), "no question reached Gemini");

    // Plain HTTP: redirected for good with path and query; health answered.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, target) in [
        (
            "/analyze?photo=1&x=%20y",
            "https://weld.test/analyze?photo=1&x=%20y",
        ),
        ("/", "https://weld.test/"),
        ("/api/chat", "https://weld.test/api/chat"),
    ] {
        let response = plain.get(running.plain_url(path)).send().await.unwrap();
        assert_eq!(response.status(), 308, "{path}");
        assert_eq!(response.headers()["location"], target, "{path}");
    }
    let response = plain.get(running.plain_url("/api/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("strict-transport-security").is_none());

    // The expiry is a metric; one order was made.
    let metrics = client
        .get(running.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("weld_acme_orders_total{outcome=\"issued\"} 1"),
        "{metrics}"
    );
    let expiry = metrics
        .lines()
        .find_map(|l| l.strip_prefix("weld_tls_certificate_expiry_timestamp_seconds "))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .expect("the expiry metric");
    assert!(expiry > 1_700_000_000, "{expiry}");

    #[cfg(unix)]
    assert_private(&cache);

    // A restart with the same cache and no ACME server at all: the same
    // certificate at once, no order.
    running.stop().await;
    pebble.stop().await;
    config.https_listen = "127.0.0.1:0".parse().unwrap();
    let again = Running::start(config).await;
    let response = again
        .client(&root)
        .get(again.url("/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(peer_certificate(&response), issued, "the cached certificate");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["tls"]["state"], "ok", "{body}");
    let metrics = again
        .client(&root)
        .get(again.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("weld_acme_orders_total{"),
        "no order: {metrics}"
    );
    again.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_operators_certificate_files_are_served_and_reloaded_when_they_change() {
    let dir = temp_dir("files");
    let ca = TestCa::new("operator");
    let (cert, key, first) = ca.leaf(&[DOMAIN]);
    let cert_file = dir.join("cert.pem");
    let key_file = dir.join("key.pem");
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let fake = FakeGemini::start().await;
    let mut config = test_config(&fake);
    config.https_listen = "127.0.0.1:0".parse().unwrap();
    config.tls_cert_file = Some(cert_file.display().to_string());
    config.tls_key_file = Some(key_file.display().to_string());
    let running = Running::start(config).await;

    let client = running.client(&ca.ca_pem);
    let response = client.get(running.url("/api/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(peer_certificate(&response), first);
    assert!(response.headers().contains_key("strict-transport-security"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["tls"]["source"], "files", "{body}");
    assert_eq!(body["tls"]["state"], "ok", "{body}");
    // Without a domain, plain HTTP still serves the app (no redirect target).
    let response = reqwest::get(running.plain_url("/")).await.unwrap();
    assert_eq!(response.status(), 200);

    // New files: the next connections get the new certificate.
    let (cert, key, second) = ca.leaf(&[DOMAIN]);
    std::fs::write(&key_file, key).unwrap();
    std::fs::write(&cert_file, cert).unwrap();
    let started = Instant::now();
    loop {
        // A new client each time: a resumed TLS session would report the old certificate.
        let client = running.client(&ca.ca_pem);
        let response = client.get(running.url("/api/health")).send().await.unwrap();
        if peer_certificate(&response) == second {
            break;
        }
        assert!(
            started.elapsed() < HANG_LIMIT,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_cache_directory_that_cannot_be_written_stops_start_up_with_the_fix() {
    let dir = temp_dir("unwritable");
    // A path under a regular file cannot be a directory, not even for root.
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let fake = FakeGemini::start().await;
    let mut config = test_config(&fake);
    config.domain = vec![DOMAIN.to_owned()];
    config.https_listen = "127.0.0.1:0".parse().unwrap();
    config.tls_cache_dir = Some(file.join("tls").display().to_string());
    let error = App::build(config)
        .await
        .err()
        .expect("start-up fails")
        .to_string();
    assert!(
        error.contains("WELD_TLS_CACHE_DIR") && error.contains("a-file/tls") && error.contains("can write"),
        "{error}"
    );

    // Certificate files that do not match.
    let ca = TestCa::new("mismatch");
    let (cert, _, _) = ca.leaf(&[DOMAIN]);
    let (_, other_key, _) = ca.leaf(&[DOMAIN]);
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("key.pem"), other_key).unwrap();
    let mut config = test_config(&fake);
    config.https_listen = "127.0.0.1:0".parse().unwrap();
    config.tls_cert_file = Some(dir.join("cert.pem").display().to_string());
    config.tls_key_file = Some(dir.join("key.pem").display().to_string());
    let error = App::build(config)
        .await
        .err()
        .expect("start-up fails")
        .to_string();
    assert!(
        error.contains("WELD_TLS_KEY_FILE") && error.contains("does not fit"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn while_the_acme_server_cannot_be_reached_health_says_why_and_the_plain_port_still_answers() {
    let dir = temp_dir("unreachable");
    let fake = FakeGemini::start().await;
    let mut config = test_config(&fake);
    config.domain = vec![DOMAIN.to_owned()];
    config.https_listen = "127.0.0.1:0".parse().unwrap();
    // Nothing listens on port 1.
    config.acme_directory_url = "https://127.0.0.1:1/dir".parse().unwrap();
    config.tls_cache_dir = Some(dir.join("tls").display().to_string());
    let running = Running::start(config).await;
    let started = Instant::now();
    let health = loop {
        let health = plain_health(&running).await;
        if !health["tls"]["problem"].is_null() {
            break health;
        }
        assert!(started.elapsed() < HANG_LIMIT, "no problem reported: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(health["tls"]["state"], "pending", "{health}");
    assert_eq!(health["tls"]["problem"], "acme_unreachable", "{health}");
    assert!(health["tls"].get("expiresAt").is_none(), "{health}");
    // No certificate: the handshake fails, nothing panics, the server keeps serving.
    let https = reqwest::Client::builder()
        .no_proxy()
        .resolve(DOMAIN, running.https)
        .build()
        .unwrap()
        .get(running.url("/api/health"))
        .send()
        .await;
    assert!(https.is_err());
    assert_eq!(plain_health(&running).await["status"], "ok");
    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn when_the_ca_cannot_connect_to_port_443_health_and_the_log_say_so() {
    let dir = temp_dir("no-connection");
    // Pebble validates on a port where nothing listens: a port mapping missing.
    let pebble = Pebble::start(&dir, free_port()).await;
    let fake = FakeGemini::start().await;
    let mut config = test_config(&fake);
    config.domain = vec![DOMAIN.to_owned()];
    config.https_listen = "127.0.0.1:0".parse().unwrap();
    config.acme_directory_url = pebble.directory.parse().unwrap();
    config.acme_ca_file = Some(pebble.ca_file.display().to_string());
    config.tls_cache_dir = Some(dir.join("tls").display().to_string());
    let running = Running::start(config).await;
    let started = Instant::now();
    let health = loop {
        let health = plain_health(&running).await;
        if !health["tls"]["problem"].is_null() {
            break health;
        }
        assert!(
            started.elapsed() < HANG_LIMIT * 4,
            "no problem reported: {health}\npebble: {}",
            pebble.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health["tls"]["state"], "pending", "{health}");
    assert_eq!(health["tls"]["problem"], "connection", "{health}");
    running.stop().await;
    pebble.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
