//! What turns an accepted TCP connection into the bytes HTTP is read from:
//! plain TCP here; TLS plugs in the same way. It runs in the connection's own
//! task (a slow handshake never holds up the accept loop), bounded by the head
//! timeout.

use std::future::Future;

use poem::http::uri::Scheme;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};

use super::Alpn;

/// A connection's transport.
pub trait Transport: Send + Sync + 'static {
    /// The stream HTTP is served over.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens the transport over an accepted connection: the stream and the
    /// protocol it agreed on, or `None` when there is nothing to serve (a
    /// failed handshake, or one that was only a certificate challenge).
    fn open(&self, tcp: TcpStream) -> impl Future<Output = Option<(Self::Io, Alpn)>> + Send;

    /// `http` or `https`.
    fn scheme(&self) -> Scheme;
}

/// Plain TCP: HTTP/1.1, or HTTP/2 with prior knowledge (h2c).
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Transport for Plain {
    type Io = TcpStream;

    async fn open(&self, tcp: TcpStream) -> Option<(TcpStream, Alpn)> {
        Some((tcp, Alpn::Unknown))
    }

    fn scheme(&self) -> Scheme {
        Scheme::HTTP
    }
}
