//! Today's poem `Server` on the HTTPS port: a poem `Acceptor` whose connections do
//! their TLS handshake lazily, on first use inside the connection's own task (poem
//! polls `accept` in its accept loop, so the handshake must not happen there).
//! Head deadlines apply as on the plain port. An adapter only: an accept loop of
//! our own calls [`Tls::accept`] directly and needs none of this.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use poem::{
    http::uri::Scheme,
    listener::{Acceptor, TcpAcceptor},
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::server::TlsStream;

use super::Tls;
use crate::http::listener::HeadDeadline;

/// A TCP acceptor whose connections speak TLS.
pub struct TlsAcceptor {
    tcp: TcpAcceptor,
    tls: Tls,
    head_limit: Duration,
}

impl TlsAcceptor {
    /// Serves `tls` on `tcp`; each request head must arrive within `head_limit`.
    pub fn new(tcp: TcpAcceptor, tls: Tls, head_limit: Duration) -> Self {
        Self { tcp, tls, head_limit }
    }
}

impl Acceptor for TlsAcceptor {
    type Io = HeadDeadline<LazyTls>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.tcp.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (tcp, local, remote, _) = self.tcp.accept().await?;
        let tls = self.tls.clone();
        let lazy = LazyTls(State::Handshake(Box::pin(async move { tls.accept(tcp).await })));
        Ok((
            HeadDeadline::new(lazy, self.head_limit),
            local,
            remote,
            Scheme::HTTPS,
        ))
    }
}

type Handshake = Pin<Box<dyn Future<Output = io::Result<Option<TlsStream<TcpStream>>>> + Send>>;

enum State {
    Handshake(Handshake),
    Ready(Box<TlsStream<TcpStream>>),
    /// A validation connection that was answered, or a failed handshake.
    Closed,
}

/// A connection that does its handshake on first read or write.
pub struct LazyTls(State);

impl LazyTls {
    fn poll_stream(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<&mut TlsStream<TcpStream>>>> {
        if let State::Handshake(handshake) = &mut self.0 {
            match handshake.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Some(stream))) => self.0 = State::Ready(Box::new(stream)),
                Poll::Ready(Ok(None)) => self.0 = State::Closed,
                Poll::Ready(Err(e)) => {
                    self.0 = State::Closed;
                    return Poll::Ready(Err(e));
                }
            }
        }
        match &mut self.0 {
            State::Ready(stream) => Poll::Ready(Ok(Some(stream))),
            _ => Poll::Ready(Ok(None)),
        }
    }
}

impl AsyncRead for LazyTls {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().poll_stream(cx) {
            Poll::Ready(Ok(Some(stream))) => Pin::new(stream).poll_read(cx, buf),
            // Closed: end of stream.
            Poll::Ready(Ok(None)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for LazyTls {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().poll_stream(cx) {
            Poll::Ready(Ok(Some(stream))) => Pin::new(stream).poll_write(cx, buf),
            Poll::Ready(Ok(None)) => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().poll_stream(cx) {
            Poll::Ready(Ok(Some(stream))) => Pin::new(stream).poll_flush(cx),
            Poll::Ready(Ok(None)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().poll_stream(cx) {
            Poll::Ready(Ok(Some(stream))) => Pin::new(stream).poll_shutdown(cx),
            Poll::Ready(Ok(None)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}
