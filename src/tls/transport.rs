//! TLS as a transport of the connection layer (`server::Transport`): the
//! handshake in the connection's own task, the protocol agreed by ALPN, `https`
//! as the requests' scheme. A TLS-ALPN-01 validation connection ends here, served.

use poem::http::uri::Scheme;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::Tls;
use crate::server::{Alpn, Transport};

impl Transport for Tls {
    type Io = TlsStream<TcpStream>;

    async fn open(&self, tcp: TcpStream) -> Option<(Self::Io, Alpn)> {
        let stream = match self.accept(tcp).await {
            Ok(Some(stream)) => stream,
            Ok(None) => return None,
            Err(error) => {
                tracing::debug!("TLS handshake failed: {error}");
                return None;
            }
        };
        let alpn = match stream.get_ref().1.alpn_protocol() {
            Some(b"h2") => Alpn::Http2,
            Some(b"http/1.1") => Alpn::Http1,
            _ => Alpn::Unknown,
        };
        Some((stream, alpn))
    }

    fn scheme(&self) -> Scheme {
        Scheme::HTTPS
    }
}
