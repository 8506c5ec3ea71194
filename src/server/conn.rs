//! One connection, from its first byte to its close: tell HTTP/1.1 from HTTP/2,
//! serve the endpoint with hyper under our settings, and close gracefully on
//! shutdown or when an HTTP/2 connection has been quiet too long.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use poem::{
    Endpoint, Request,
    http::{self, HeaderMap, HeaderValue, Uri, uri::Scheme},
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite},
    sync::watch,
};

use super::{
    Settings,
    io::{Activity, LastMoved, Rewind},
};

/// The first bytes of the HTTP/2 client preface (`PRI * HTTP/2.0…`): two
/// bytes tell it from every HTTP/1.1 method (`POST`, `PUT`, `PATCH` start
/// with `P` too).
const H2_START: &[u8; 2] = b"PR";

/// Which protocol a connection speaks, when the transport already said so
/// (TLS with ALPN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// The transport did not say: read the first bytes.
    Unknown,
    /// `http/1.1`.
    Http1,
    /// `h2`.
    Http2,
}

/// What a connection knows of itself.
#[derive(Clone)]
pub struct Peer {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub scheme: Scheme,
}

/// Serves one connection until it closes, the idle watchdog closes it, or
/// `shutdown` turns true (then in-flight requests finish first).
pub async fn serve<E, I>(
    endpoint: Arc<E>,
    settings: Arc<Settings>,
    io: I,
    alpn: Alpn,
    peer: Peer,
    mut shutdown: watch::Receiver<bool>,
) where
    E: Endpoint + 'static,
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut io = io;
    let http2 = match alpn {
        Alpn::Http1 => false,
        Alpn::Http2 => true,
        Alpn::Unknown => {
            let mut first = [0u8; 2];
            let read = tokio::select! {
                read = tokio::time::timeout(settings.head_timeout, read_start(&mut io, &mut first)) => read,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let Ok(Ok(n)) = read else {
                // Silent past the head timeout, or gone.
                return;
            };
            if n == 0 {
                return;
            }
            let http2 = first[..n] == H2_START[..];
            return dispatch(
                endpoint,
                settings,
                Rewind::new(io, &first[..n]),
                http2,
                peer,
                shutdown,
            )
            .await;
        }
    };
    dispatch(endpoint, settings, Rewind::new(io, &[]), http2, peer, shutdown).await;
}

/// Reads until two bytes are in or the first byte is not `P` (then it is
/// HTTP/1.1 whatever follows); 0 when the connection closed first.
async fn read_start<I: AsyncRead + Unpin>(io: &mut I, first: &mut [u8; 2]) -> io::Result<usize> {
    let mut n = 0;
    while n < 2 {
        let got = io.read(&mut first[n..]).await?;
        if got == 0 {
            return Ok(n);
        }
        n += got;
        if first[0] != H2_START[0] {
            return Ok(n);
        }
    }
    Ok(n)
}

async fn dispatch<E, I>(
    endpoint: Arc<E>,
    settings: Arc<Settings>,
    io: Rewind<I>,
    http2: bool,
    peer: Peer,
    mut shutdown: watch::Receiver<bool>,
) where
    E: Endpoint + 'static,
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let local = LocalAddr(poem::Addr::SocketAddr(peer.local));
    let remote = RemoteAddr(poem::Addr::SocketAddr(peer.remote));
    let scheme = peer.scheme;
    // Whether a request arrived: until one does, an HTTP/2 connection (preface,
    // settings, first head) is bound by the head timeout.
    let started = Arc::new(AtomicBool::new(false));
    let service = hyper::service::service_fn({
        let started = started.clone();
        move |request: http::Request<Incoming>| {
            started.store(true, Ordering::Relaxed);
            let endpoint = endpoint.clone();
            // Copied out of hyper's read buffer, so the buffer is not kept alive
            // for as long as the request waits (HTTP/1.1 reads every head into it).
            let request = Request::from((unshare(request), local.clone(), remote.clone(), scheme.clone()));
            async move {
                let response: hyper::Response<_> = endpoint.get_response(request).await.into();
                Ok::<_, Infallible>(response)
            }
        }
    });
    if http2 {
        // Boxed: an HTTP/2 connection's state is larger, and the far more
        // common HTTP/1.1 connection should not carry room for it.
        Box::pin(async move {
            let moved = LastMoved::new();
            let io = TokioIo::new(Activity::new(io, moved.clone()));
            let conn = {
                let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                builder
                    .timer(TokioTimer::new())
                    .max_concurrent_streams(settings.h2_max_streams)
                    .initial_stream_window_size(settings.h2_stream_window)
                    .initial_connection_window_size(settings.h2_connection_window)
                    .max_send_buf_size(settings.h2_max_send_buf)
                    .max_header_list_size(settings.max_head_bytes);
                builder.serve_connection(io, service)
            };
            tokio::pin!(conn);
            let idle = settings.idle_timeout;
            let first_by = tokio::time::Instant::now() + settings.head_timeout;
            // True when the connection went quiet after requests; false when no
            // request came within the head timeout (then it is simply dropped).
            let quiet = async {
                tokio::time::sleep_until(first_by).await;
                if !started.load(Ordering::Relaxed) {
                    return false;
                }
                loop {
                    let deadline = tokio::time::Instant::from_std(moved.at() + idle);
                    if tokio::time::Instant::now() >= deadline {
                        return true;
                    }
                    tokio::time::sleep_until(deadline).await;
                }
            };
            tokio::select! {
                _ = conn.as_mut() => return,
                served = quiet => if !served {
                    return;
                },
                _ = shutdown.wait_for(|stop| *stop) => {},
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        })
        .await;
    } else {
        let conn = {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(settings.head_timeout)
                .max_buf_size(settings.h1_max_buf)
                .keep_alive(true);
            builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades()
        };
        drop(settings);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = shutdown.wait_for(|stop| *stop) => {},
        }
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

/// The request with its target and header values in allocations of their own
/// (hyper's HTTP/1.1 parser hands out slices of its 8 KiB read buffer).
fn unshare(request: http::Request<Incoming>) -> http::Request<Incoming> {
    let (mut parts, body) = request.into_parts();
    if let Some(path) = parts.uri.path_and_query()
        && parts.uri.scheme().is_none()
        && let Ok(uri) = Uri::from_maybe_shared(bytes::Bytes::copy_from_slice(path.as_str().as_bytes()))
    {
        parts.uri = uri;
    }
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    let mut last = None;
    for (name, value) in std::mem::take(&mut parts.headers) {
        if let Some(name) = name {
            last = Some(name);
        }
        if let Some(name) = &last
            && let Ok(mut copy) = HeaderValue::from_bytes(value.as_bytes())
        {
            copy.set_sensitive(value.is_sensitive());
            headers.append(name.clone(), copy);
        }
    }
    parts.headers = headers;
    http::Request::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_bytes_tell_the_preface_from_every_method() {
        for (sent, want, h2) in [
            (&b"PRI * HTTP/2.0"[..], 2, true),
            (b"POST /", 2, false),
            (b"PUT /", 2, false),
            (b"P", 1, false),
            (b"", 0, false),
        ] {
            let (mut client, mut server) = tokio::io::duplex(64);
            tokio::io::AsyncWriteExt::write_all(&mut client, sent)
                .await
                .unwrap_or_default();
            drop(client);
            let mut first = [0u8; 2];
            let n = read_start(&mut server, &mut first).await.unwrap_or(9);
            assert_eq!(n, want, "{sent:?}");
            assert_eq!(first[..n] == H2_START[..], h2, "{sent:?}");
        }
    }
}
