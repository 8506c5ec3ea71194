//! Debian's `pebble` (Let's Encrypt's test ACME server) on free loopback ports,
//! for the HTTPS tests: a throwaway CA signs its own HTTPS listener, its VA
//! checks TLS-ALPN-01 on the port the server under test listens on, and it
//! resolves every name to 127.0.0.1 through a tiny DNS responder of ours (its
//! `-dnsserver`), so the validation is real: pebble connects to our server and
//! checks its answer.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::{net::UdpSocket, process::Child};

use crate::helpers::HANG_LIMIT;

/// A throwaway CA and a certificate it signed, as PEM files in a directory.
pub struct TestCa {
    pub ca_pem: String,
    ca: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("weld test CA {name}"));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            ca_pem: cert.pem(),
            ca: rcgen::Issuer::new(params, key),
        }
    }

    /// A leaf for `names` (host names or IP addresses): (chain PEM, key PEM, DER).
    pub fn leaf(&self, names: &[&str]) -> (String, String, Vec<u8>) {
        let params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }
}

/// A fresh directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weld-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running pebble.
pub struct Pebble {
    /// The ACME directory URL.
    pub directory: String,
    /// The CA file that makes pebble's own HTTPS listener trusted.
    pub ca_file: PathBuf,
    management: SocketAddr,
    client: reqwest::Client,
    child: Child,
    dns: tokio::task::JoinHandle<()>,
    log: PathBuf,
}

impl Pebble {
    /// Starts pebble validating TLS-ALPN-01 on `tls_port` of 127.0.0.1.
    pub async fn start(dir: &Path, tls_port: u16) -> Self {
        let ca = TestCa::new("pebble");
        let (cert, key, _) = ca.leaf(&["127.0.0.1", "localhost"]);
        let ca_file = dir.join("pebble-ca.pem");
        std::fs::write(&ca_file, &ca.ca_pem).unwrap();
        std::fs::write(dir.join("pebble-cert.pem"), cert).unwrap();
        std::fs::write(dir.join("pebble-key.pem"), key).unwrap();
        let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let management: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = serde_json::json!({"pebble": {
            "listenAddress": listen.to_string(),
            "managementListenAddress": management.to_string(),
            "certificate": dir.join("pebble-cert.pem"),
            "privateKey": dir.join("pebble-key.pem"),
            "httpPort": free_port(),
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let dns_socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let dns_address = dns_socket.local_addr().unwrap();
        let dns = tokio::spawn(answer_dns(dns_socket));
        let log = dir.join("pebble.log");
        let child = tokio::process::Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .arg("-dnsserver")
            .arg(dns_address.to_string())
            // No artificial sleeps before validating, no nonces refused at random.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("pebble runs (apt-get install pebble)");
        let root = reqwest::Certificate::from_pem(ca.ca_pem.as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            .tls_built_in_root_certs(false)
            .add_root_certificate(root)
            .build()
            .unwrap();
        let pebble = Self {
            directory: format!("https://{listen}/dir"),
            ca_file,
            management,
            client,
            child,
            dns,
            log,
        };
        let started = Instant::now();
        loop {
            let answer = pebble.client.get(&pebble.directory).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                started.elapsed() < HANG_LIMIT,
                "pebble did not start: {}",
                pebble.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        pebble
    }

    /// Pebble's root, which signs the certificates it issues (PEM).
    pub async fn root(&self) -> String {
        self.client
            .get(format!("https://{}/roots/0", self.management))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// What pebble logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops pebble (and its DNS).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.dns.abort();
    }
}

/// Answers every A question with 127.0.0.1 and every other with no records.
async fn answer_dns(socket: UdpSocket) {
    let mut buf = [0u8; 1500];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let query = &buf[..n];
        if n < 12 {
            continue;
        }
        // The question: labels up to the zero byte, then type and class.
        let mut end = 12;
        while end < n && query[end] != 0 {
            end += usize::from(query[end]) + 1;
        }
        let question_end = end + 5;
        if question_end > n {
            continue;
        }
        let qtype = u16::from_be_bytes([query[end + 1], query[end + 2]]);
        let a = qtype == 1;
        let mut reply = Vec::with_capacity(question_end + 16);
        reply.extend_from_slice(&query[..2]);
        reply.extend_from_slice(&[0x81, 0x80, 0, 1, 0, u8::from(a), 0, 0, 0, 0]);
        reply.extend_from_slice(&query[12..question_end]);
        if a {
            reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
        }
        let _ = socket.send_to(&reply, from).await;
    }
}
