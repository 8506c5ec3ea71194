//! Building and running the server: the listeners are bound first, so tests (and
//! the log line operators read) know the real address before anything runs.
//! With HTTPS of its own (`tls`), the same connection layer also listens on
//! `WELD_HTTPS_LISTEN` with TLS as the transport and serves the app there; the
//! plain listener then only redirects (when a domain is set).

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use crate::{
    config::Config,
    gemini::GeminiClient,
    metrics::Metrics,
    routes,
    server::{self, Listeners, Plain, Settings, Stop, Workers},
    tls::Tls,
    upstream::UpstreamStatus,
};

/// A bound, ready-to-run server.
pub struct App {
    listeners: Listeners,
    workers: Workers,
    config: Config,
    gemini: GeminiClient,
    upstream: UpstreamStatus,
    metrics: Arc<Metrics>,
    https: Option<(Listeners, Tls)>,
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
        let workers = config.workers();
        let gemini = GeminiClient::new(
            routes::gemini_settings(&config),
            upstream.clone(),
            metrics.clone(),
        )?;
        let listeners =
            Listeners::bind(config.listen, workers.sockets()).map_err(|source| StartError::Bind {
                address: config.listen,
                source,
            })?;
        let https = match Tls::start(&config, metrics.clone()).await? {
            Some(tls) => {
                let listeners =
                    Listeners::bind(config.https_listen, workers.sockets()).map_err(|source| {
                        StartError::Bind {
                            address: config.https_listen,
                            source,
                        }
                    })?;
                Some((listeners, tls))
            }
            None => None,
        };
        Ok(Self {
            listeners,
            workers,
            config,
            gemini,
            upstream,
            metrics,
            https,
        })
    }

    /// The bound address (the real port when `listen` asked for port 0).
    pub fn address(&self) -> SocketAddr {
        self.listeners.address()
    }

    /// The bound HTTPS address, when the server serves HTTPS itself.
    pub fn https_address(&self) -> Option<SocketAddr> {
        self.https.as_ref().map(|(listeners, _)| listeners.address())
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        if !self.gemini.is_configured() {
            tracing::warn!("no Gemini API key configured: the AI endpoints answer 503 gemini_not_configured");
        }
        let address = self.address();
        tracing::info!(
            %address,
            model = self.gemini.model(),
            workers = ?self.workers,
            "weld-assistant listening"
        );
        let probe = self.gemini.clone();
        tokio::spawn(async move { probe.probe().await });
        let metrics = self.metrics.clone();
        let mut services = routes::Services::new(&self.config, self.gemini, self.upstream, self.metrics);
        services.tls = self.https.as_ref().map(|(_, tls)| tls.status());
        services.guard.limits().spawn_eviction();
        let endpoint = Arc::new(routes::build(&self.config, &services));
        // An HTTP/2 connection with no traffic at all is closed; a request may
        // legitimately wait twice the Gemini timeout for its answer, so the bound
        // is above that.
        let idle = Duration::from_secs(self.config.request_timeout_seconds)
            .max(self.config.gemini_timeout() * 2 + Duration::from_secs(5));
        let settings = Arc::new(Settings::new(
            Duration::from_secs(self.config.request_timeout_seconds),
            idle,
        ));
        let stop = Stop::new();
        // With HTTPS of its own: the app on the HTTPS listeners, TLS as the
        // transport; the plain listeners redirect when a domain is set.
        let https = match self.https {
            Some((listeners, tls)) => {
                tracing::info!(address = %listeners.address(), "HTTPS listening");
                Some(server::start(
                    listeners,
                    endpoint.clone(),
                    Arc::new(tls),
                    settings.clone(),
                    self.workers,
                    &stop,
                    metrics.clone(),
                )?)
            }
            None => None,
        };
        let running = if https.is_some() && !self.config.domain.is_empty() {
            server::start(
                self.listeners,
                Arc::new(routes::plain_redirect(&self.config, endpoint)),
                Arc::new(Plain),
                settings,
                self.workers,
                &stop,
                metrics,
            )?
        } else {
            server::start(
                self.listeners,
                endpoint,
                Arc::new(Plain),
                settings,
                self.workers,
                &stop,
                metrics,
            )?
        };
        // Questions still waiting for Gemini's quota are told so at once (503,
        // or a stream's `error` event), then the drain finishes the rest.
        let line = services.line.clone();
        server::run_until(running, stop, async move {
            shutdown.await;
            line.close();
        })
        .await;
        if let Some(https) = https {
            https.finished().await;
        }
        Ok(())
    }
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
