//! HTTPS of the server's own: the certificate (ordered over ACME for
//! `WELD_DOMAIN`, or the operator's files), the TLS handshake of one accepted
//! connection, and the certificate's state for health and metrics.
//!
//! The interface is narrow on purpose, so any accept loop can use it:
//! [`Tls::start`] once at start-up (it spawns the ACME or file-watching task), then
//! [`Tls::accept`] inside each connection's own task — never in the accept loop,
//! so a slow handshake cannot hold up the others. It speaks TLS only: it knows no
//! HTTP and no routes; `transport` makes it the connection layer's TLS transport.
//!
//! - `cert`: PEM into a rustls key, the leaf's validity;
//! - `cache`: the private cache directory;
//! - `acme`: ordering and renewing over ACME (TLS-ALPN-01), with backoff;
//! - `files`: the operator's files, reloaded on change and on SIGHUP;
//! - `status`: what health reports.

mod acme;
mod cache;
pub(crate) mod cert;
mod files;
pub(crate) mod status;
mod transport;

use std::{
    collections::HashMap,
    fmt, io,
    path::Path,
    sync::{Arc, RwLock},
    time::Duration,
};

use rustls::{
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use tokio::{io::AsyncWriteExt as _, net::TcpStream};
use tokio_rustls::server::TlsStream;

use crate::{config::Config, metrics::Metrics};
pub use status::{Problem, Source, TlsStatus};

/// The ALPN protocol of TLS-ALPN-01 validation connections (RFC 8737).
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// A start-up failure of HTTPS: the message says what to fix.
#[derive(Debug)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// The server's TLS: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    status: TlsStatus,
    handshake_timeout: Duration,
    domains: Vec<String>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("domains", &self.domains)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Sets up HTTPS when `WELD_DOMAIN` or `WELD_TLS_CERT_FILE` is set (else `None`):
    /// loads the operator's files, or the cached ACME certificate (served at once),
    /// and spawns the task that orders, renews or reloads it. Must run inside the
    /// runtime. Fails only on settings that cannot work (an unwritable cache
    /// directory, unreadable or mismatched files).
    pub async fn start(config: &Config, metrics: Arc<Metrics>) -> Result<Option<Tls>, StartError> {
        if !config.serves_https() {
            return Ok(None);
        }
        let store = Arc::new(CertStore::default());
        let domains: Vec<String> = config.domain.iter().map(|d| d.to_ascii_lowercase()).collect();
        let status = match (&config.tls_cert_file, &config.tls_key_file) {
            (Some(cert), Some(key)) => {
                let status = TlsStatus::new(Source::Files);
                let served = files::load(Path::new(cert), Path::new(key)).map_err(StartError)?;
                store.install(&served, &status, &metrics);
                tracing::info!(cert = %cert, "serving HTTPS with the certificate file");
                files::spawn_watch(cert.into(), key.into(), store.clone(), status.clone(), metrics);
                status
            }
            _ => {
                let status = TlsStatus::new(Source::Acme);
                let settings = acme::Settings::new(config, domains.clone()).map_err(StartError)?;
                if let Some(served) = settings.cached() {
                    tracing::info!(domains = %domains.join(","), "serving the cached certificate");
                    store.install(&served, &status, &metrics);
                }
                acme::spawn(settings, store.clone(), status.clone(), metrics);
                status
            }
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StartError(format!("TLS cannot be set up: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(store);
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
        Ok(Some(Tls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
            status,
            handshake_timeout: Duration::from_secs(config.request_timeout_seconds),
            domains,
        }))
    }

    /// The TLS handshake of one accepted connection, bounded by the request timeout.
    /// `None`: it was a TLS-ALPN-01 validation connection, now answered and closed.
    /// The negotiated ALPN protocol (`h2` or `http/1.1`) is on the stream.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<Option<TlsStream<TcpStream>>> {
        let handshake = tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(tcp));
        let mut stream = handshake
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake too slow"))??;
        if stream.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN) {
            let _ = stream.shutdown().await;
            return Ok(None);
        }
        Ok(Some(stream))
    }

    /// The certificate's state, for `/api/health`.
    pub fn status(&self) -> TlsStatus {
        self.status.clone()
    }
}

/// The certificates the handshake chooses from: the site's, and the TLS-ALPN-01
/// answers by host name while an order waits for validation.
#[derive(Debug, Default)]
struct CertStore {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl CertStore {
    /// Serves `served` from now on and reports it.
    fn install(&self, served: &cert::Served, status: &TlsStatus, metrics: &Metrics) {
        if let Ok(mut current) = self.current.write() {
            *current = Some(served.key.clone());
        }
        status.served(served.not_after);
        metrics.set_tls_expiry(served.not_after);
    }

    fn set_challenge(&self, domain: &str, key: Option<Arc<CertifiedKey>>) {
        if let Ok(mut challenges) = self.challenges.write() {
            match key {
                Some(key) => challenges.insert(domain.to_owned(), key),
                None => challenges.remove(domain),
            };
        }
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let validation = hello
            .alpn()
            .is_some_and(|mut offered| offered.any(|p| p == ACME_TLS_ALPN));
        if validation {
            let name = hello.server_name()?.to_ascii_lowercase();
            return self.challenges.read().ok()?.get(&name).cloned();
        }
        self.current.read().ok()?.clone()
    }
}
