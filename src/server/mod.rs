//! The connection layer: our own accept loop and connection tasks on hyper,
//! serving the poem endpoint (poem builds its `Request` from hyper's parts; the
//! route tree, middlewares and operations are poem's and poem-openapi's).
//!
//! ```text
//! listener(s) ── accept loop ──▶ a task per connection:
//!                                  transport (plain TCP, or TLS by ALPN)
//!                                  ├─ first bytes `PR…` (HTTP/2 preface) or ALPN h2 → hyper HTTP/2
//!                                  │     stream limits and windows; closed when quiet for the idle timeout
//!                                  └─ anything else → hyper HTTP/1.1
//!                                        header read timeout (hyper's timer), buffer ceiling, keep-alive
//! ```
//!
//! Two ways to run ([`Workers`]): one work-stealing runtime shared by every
//! connection, or a worker thread per core, each with a single-threaded runtime
//! and its own listening socket on the same port (`SO_REUSEPORT`: the kernel
//! spreads connections over them), so a request lives on one thread from accept
//! to answer. The state shared by every request (sessions, limits, the budget,
//! the quota line) is behind `Arc`s and locks that do not care which runtime
//! polls them.
//!
//! Shutdown: the accept loops stop, every connection is told to finish
//! (HTTP/1.1 closes after its in-flight response, HTTP/2 sends GOAWAY and lets
//! its streams end), and the server waits for them up to the drain timeout.

pub(crate) mod conn;
pub(crate) mod io;
pub mod transport;

use std::{
    cell::Cell,
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use poem::Endpoint;

use crate::metrics::{Metrics, worker_label};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Notify, oneshot, watch},
};

pub use conn::Alpn;
pub use transport::{Plain, Transport};

/// How connections are served (the settings hyper is given).
#[derive(Debug, Clone)]
pub struct Settings {
    /// A request head must arrive within it; an HTTP/1.1 connection waiting
    /// for its next request is closed after it too (hyper's header read timeout).
    pub head_timeout: Duration,
    /// An HTTP/2 connection with no bytes moving for this long is closed
    /// (GOAWAY, then its streams finish).
    pub idle_timeout: Duration,
    /// The HTTP/1.1 read buffer's ceiling: a head larger than it is refused by
    /// hyper itself, so it sits above the route tree's own 414/431 limits.
    pub h1_max_buf: usize,
    /// The largest head, as HTTP/2's `SETTINGS_MAX_HEADER_LIST_SIZE`.
    pub max_head_bytes: u32,
    /// Streams at once on one HTTP/2 connection.
    pub h2_max_streams: u32,
    /// HTTP/2 flow-control windows: per stream and per connection.
    pub h2_stream_window: u32,
    pub h2_connection_window: u32,
    /// The most an HTTP/2 stream buffers for sending.
    pub h2_max_send_buf: usize,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
}

impl Settings {
    /// The settings for a head timeout and an idle timeout; the rest chosen by
    /// measurement (`bench/held.sh`, see the README's performance section).
    pub fn new(head_timeout: Duration, idle_timeout: Duration) -> Self {
        Self {
            head_timeout,
            idle_timeout,
            h1_max_buf: 64 * 1024,
            max_head_bytes: 64 * 1024,
            h2_max_streams: 128,
            h2_stream_window: 256 * 1024,
            h2_connection_window: 1024 * 1024,
            h2_max_send_buf: 64 * 1024,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Where connections are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// On the runtime that starts the server (work-stealing over every core).
    Shared,
    /// On this many worker threads, each with a single-threaded runtime and a
    /// listening socket of its own.
    PerCore(usize),
}

impl Workers {
    /// How many listening sockets this needs.
    pub fn sockets(self) -> usize {
        match self {
            Workers::Shared => 1,
            Workers::PerCore(n) => n.max(1),
        }
    }
}

thread_local! {
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The index of the worker thread running this code, if it is one (per-core
/// mode): what each worker keeps of its own (upstream connections) is chosen by it.
pub fn worker_index() -> Option<usize> {
    WORKER.with(Cell::get)
}

/// Marks this thread as worker `index`.
pub(crate) fn set_worker_index(index: usize) {
    WORKER.with(|w| w.set(Some(index)));
}

/// Connections that cannot be accepted because the process ran out of file
/// descriptors are retried after this pause.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Connections the kernel may queue before they are accepted (it caps this at
/// `net.core.somaxconn`, 4096 by default). A classroom opening the app at once
/// must not overflow it: a dropped connection attempt is retried only after a
/// second. tokio's own default is 1024.
const BACKLOG: u32 = 8192;

/// Bound listening sockets, one per worker, all on the same address.
pub struct Listeners {
    sockets: Vec<std::net::TcpListener>,
    address: SocketAddr,
}

impl Listeners {
    /// Binds `count` sockets to `address` (the first picks the port when it is
    /// 0; `SO_REUSEPORT` when there are several).
    pub fn bind(address: SocketAddr, count: usize) -> std::io::Result<Self> {
        let first = bind_one(address, count > 1)?;
        let address = first.local_addr()?;
        let mut sockets = vec![first];
        for _ in 1..count {
            sockets.push(bind_one(address, true)?);
        }
        Ok(Self { sockets, address })
    }

    /// The bound address (the real port when port 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

fn bind_one(address: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    socket.bind(address)?;
    socket.listen(BACKLOG)?.into_std()
}

/// A signal every accept loop and connection watches: true means stop.
#[derive(Debug, Clone)]
pub struct Stop(watch::Sender<bool>);

impl Stop {
    /// Not stopped yet.
    pub fn new() -> Self {
        Self(watch::channel(false).0)
    }

    /// Stops every loop and tells every connection to finish.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    fn watch(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

/// Serving listeners: completes when every accept loop has stopped and its
/// connections have finished (or the drain timeout passed).
pub struct Running {
    done: Vec<oneshot::Receiver<()>>,
}

impl Running {
    /// Waits until everything has stopped.
    pub async fn finished(self) {
        for done in self.done {
            let _ = done.await;
        }
    }
}

/// Starts serving `endpoint` on `listeners` over `transport` until `stop`.
pub fn start<E, T>(
    listeners: Listeners,
    endpoint: Arc<E>,
    transport: Arc<T>,
    settings: Arc<Settings>,
    workers: Workers,
    stop: &Stop,
    metrics: Arc<Metrics>,
) -> std::io::Result<Running>
where
    E: Endpoint + 'static,
    T: Transport,
{
    let mut done = Vec::new();
    for (index, socket) in listeners.sockets.into_iter().enumerate() {
        let (finished, receiver) = oneshot::channel();
        done.push(receiver);
        let site = Site {
            endpoint: endpoint.clone(),
            transport: transport.clone(),
            settings: settings.clone(),
            local: listeners.address,
            stop: stop.watch(),
            metrics: metrics.clone(),
            worker: worker_label(match workers {
                Workers::Shared => None,
                Workers::PerCore(_) => Some(index),
            }),
        };
        match workers {
            Workers::Shared => {
                let listener = TcpListener::from_std(socket)?;
                tokio::spawn(async move {
                    site.run(listener).await;
                    let _ = finished.send(());
                });
            }
            Workers::PerCore(_) => {
                // The workers log where the starting thread logs.
                let dispatch = tracing::dispatcher::get_default(Clone::clone);
                std::thread::Builder::new()
                    .name(format!("weld-worker-{index}"))
                    .spawn(move || {
                        let _logs = tracing::dispatcher::set_default(&dispatch);
                        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build()
                        {
                            Ok(runtime) => runtime,
                            Err(error) => {
                                tracing::error!(worker = index, "cannot start a worker runtime: {error}");
                                return;
                            }
                        };
                        set_worker_index(index);
                        runtime.block_on(async move {
                            match TcpListener::from_std(socket) {
                                Ok(listener) => site.run(listener).await,
                                Err(error) => tracing::error!(worker = index, "cannot listen: {error}"),
                            }
                        });
                        let _ = finished.send(());
                    })?;
            }
        }
    }
    Ok(Running { done })
}

/// What one accept loop serves.
struct Site<E, T> {
    endpoint: Arc<E>,
    transport: Arc<T>,
    settings: Arc<Settings>,
    local: SocketAddr,
    stop: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
    worker: &'static str,
}

impl<E, T> Site<E, T>
where
    E: Endpoint + 'static,
    T: Transport,
{
    /// Accepts until stopped, then waits for this loop's connections.
    async fn run(mut self, listener: TcpListener) {
        let open = Tracker::default();
        loop {
            let accepted = tokio::select! {
                biased;
                _ = self.stop.wait_for(|stop| *stop) => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, remote) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    if is_out_of_descriptors(&error) {
                        tracing::warn!("cannot accept a connection: {error}");
                        tokio::time::sleep(ACCEPT_PAUSE).await;
                    }
                    continue;
                }
            };
            self.spawn(tcp, remote, open.enter());
        }
        drop(listener);
        open.drained(self.settings.drain_timeout).await;
    }

    fn spawn(&self, tcp: TcpStream, remote: SocketAddr, guard: Guard) {
        let _ = tcp.set_nodelay(true);
        let endpoint = self.endpoint.clone();
        let transport = self.transport.clone();
        let settings = self.settings.clone();
        let stop = self.stop.clone();
        let metrics = self.metrics.clone();
        let worker = self.worker;
        metrics.observe_accepted(worker);
        let peer = conn::Peer {
            local: self.local,
            remote,
            scheme: transport.scheme(),
        };
        tokio::spawn(async move {
            let _guard = guard;
            let _closed = Closed(metrics, worker);
            let opened = tokio::time::timeout(settings.head_timeout, transport.open(tcp)).await;
            if let Ok(Some((io, alpn))) = opened {
                conn::serve(endpoint, settings, io, alpn, peer, stop).await;
            }
        });
    }
}

/// Counts the connection closed when its task ends.
struct Closed(Arc<Metrics>, &'static str);

impl Drop for Closed {
    fn drop(&mut self) {
        self.0.observe_closed(self.1);
    }
}

fn is_out_of_descriptors(error: &std::io::Error) -> bool {
    // EMFILE, ENFILE, ENOBUFS, ENOMEM.
    matches!(error.raw_os_error(), Some(24 | 23 | 105 | 12))
}

/// Counts a loop's open connections, to wait for them at shutdown.
#[derive(Default, Clone)]
struct Tracker(Arc<TrackerInner>);

#[derive(Default)]
struct TrackerInner {
    open: AtomicUsize,
    closed: Notify,
}

struct Guard(Tracker);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.0.closed.notify_waiters();
        }
    }
}

impl Tracker {
    fn enter(&self) -> Guard {
        self.0.open.fetch_add(1, Ordering::AcqRel);
        Guard(self.clone())
    }

    /// Waits until no connection is open, at most `limit`.
    async fn drained(&self, limit: Duration) {
        let waiting = async {
            loop {
                let closed = self.0.closed.notified();
                if self.0.open.load(Ordering::Acquire) == 0 {
                    return;
                }
                closed.await;
            }
        };
        if tokio::time::timeout(limit, waiting).await.is_err() {
            tracing::warn!(
                open = self.0.open.load(Ordering::Acquire),
                "connections still open after the drain timeout"
            );
        }
    }
}

/// Runs until `shutdown` completes, then stops `stop` and waits for `running`.
/// Dropped before that (its task cancelled), it stops the listeners too: the
/// worker threads never outlive it.
pub async fn run_until(running: Running, stop: Stop, shutdown: impl Future<Output = ()>) {
    let stop = StopOnDrop(stop);
    shutdown.await;
    stop.0.stop();
    running.finished().await;
}

struct StopOnDrop(Stop);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}
