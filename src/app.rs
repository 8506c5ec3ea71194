//! Building and running the server: the listener is bound first, so tests (and
//! the log line operators read) know the real address before anything runs.
//! With HTTPS of its own (`tls`), a second server on `WELD_HTTPS_LISTEN` serves the
//! app, and the plain one only redirects (when a domain is set).

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use poem::{
    EndpointExt as _, Server,
    listener::{Acceptor, TcpAcceptor},
};

use crate::{
    config::Config,
    gemini::GeminiClient,
    http::listener::HeadDeadlineAcceptor,
    metrics::Metrics,
    routes,
    tls::{Tls, poem_acceptor::TlsAcceptor},
    upstream::UpstreamStatus,
};

/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound, ready-to-run server.
pub struct App {
    acceptor: HeadDeadlineAcceptor,
    address: SocketAddr,
    config: Config,
    gemini: GeminiClient,
    upstream: UpstreamStatus,
    metrics: Arc<Metrics>,
    https: Option<(TlsAcceptor, SocketAddr, Tls)>,
}

/// A start-up failure.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the Gemini HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// HTTPS cannot work with these settings.
    #[error("cannot serve HTTPS: {0}")]
    Tls(#[from] crate::tls::StartError),
}

impl App {
    /// Binds `config.listen` and prepares the application.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::new());
        let upstream = UpstreamStatus::default();
        let gemini = GeminiClient::new(
            routes::gemini_settings(&config),
            upstream.clone(),
            metrics.clone(),
        )?;
        let tcp = bind(config.listen).map_err(|source| StartError::Bind {
            address: config.listen,
            source,
        })?;
        let acceptor = HeadDeadlineAcceptor::new(tcp, Duration::from_secs(config.request_timeout_seconds));
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .unwrap_or(config.listen);
        let https = match Tls::start(&config, metrics.clone()).await? {
            Some(tls) => {
                let tcp = bind(config.https_listen).map_err(|source| StartError::Bind {
                    address: config.https_listen,
                    source,
                })?;
                let address = tcp
                    .local_addr()
                    .first()
                    .and_then(|a| a.as_socket_addr().copied())
                    .unwrap_or(config.https_listen);
                let head = Duration::from_secs(config.request_timeout_seconds);
                Some((TlsAcceptor::new(tcp, tls.clone(), head), address, tls))
            }
            None => None,
        };
        Ok(Self {
            acceptor,
            address,
            config,
            gemini,
            upstream,
            metrics,
            https,
        })
    }

    /// The bound address (the real port when `listen` asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The bound HTTPS address, when the server serves HTTPS itself.
    pub fn https_address(&self) -> Option<SocketAddr> {
        self.https.as_ref().map(|(_, address, _)| *address)
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        if !self.gemini.is_configured() {
            tracing::warn!("no Gemini API key configured: the AI endpoints answer 503 gemini_not_configured");
        }
        tracing::info!(address = %self.address, model = self.gemini.model(), "weld-assistant listening");
        let probe = self.gemini.clone();
        tokio::spawn(async move { probe.probe().await });
        let mut services = routes::Services::new(&self.config, self.gemini, self.upstream, self.metrics);
        services.tls = self.https.as_ref().map(|(_, _, tls)| tls.status());
        services.guard.limits().spawn_eviction();
        let endpoint = routes::build(&self.config, &services);
        // A connection with no traffic at all is closed; a request may legitimately
        // wait twice the Gemini timeout for its answer, so the bound is above that.
        let idle = Duration::from_secs(self.config.request_timeout_seconds)
            .max(self.config.gemini_timeout() * 2 + Duration::from_secs(5));
        // Questions still waiting for Gemini's quota are told so at once (503,
        // or a stream's `error` event), then the drain finishes the rest.
        let line = services.line.clone();
        let shutdown = async move {
            shutdown.await;
            line.close();
        };
        let Some((tls_acceptor, https_address, _)) = self.https else {
            return Server::new_with_acceptor(self.acceptor)
                .name("weld-assistant")
                .idle_timeout(idle)
                .run_with_graceful_shutdown(endpoint, shutdown, Some(DRAIN_TIMEOUT))
                .await;
        };
        // Two servers, one endpoint, one shutdown.
        tracing::info!(address = %https_address, "HTTPS listening");
        let endpoint = Arc::new(endpoint.boxed());
        let plain = if self.config.domain.is_empty() {
            endpoint.clone().map_to_response().boxed()
        } else {
            routes::plain_redirect(&self.config, endpoint.clone())
                .map_to_response()
                .boxed()
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let signal = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let https = Server::new_with_acceptor(tls_acceptor)
            .name("weld-assistant-https")
            .idle_timeout(idle)
            .run_with_graceful_shutdown(endpoint, signal(stopped.clone()), Some(DRAIN_TIMEOUT));
        let plain = Server::new_with_acceptor(self.acceptor)
            .name("weld-assistant")
            .idle_timeout(idle)
            .run_with_graceful_shutdown(plain, signal(stopped), Some(DRAIN_TIMEOUT));
        let trigger = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        let ((), https, plain) = tokio::join!(trigger, https, plain);
        https.and(plain)
    }
}

/// Connections the kernel may queue before they are accepted (it caps this at
/// `net.core.somaxconn`, 4096 by default). A classroom opening the app at once
/// must not overflow it: a dropped connection attempt is retried only after a
/// second. tokio's own default is 1024.
const BACKLOG: u32 = 8192;

/// Binds the listening socket (address reuse, the deep accept queue).
fn bind(address: SocketAddr) -> std::io::Result<TcpAcceptor> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    TcpAcceptor::from_tokio(socket.listen(BACKLOG)?)
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: draining in-flight requests");
}
