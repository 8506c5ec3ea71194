//! The TCP acceptor with a deadline on request heads: a client must send a
//! request's headers (up to the blank line) within the request timeout, or its
//! connection is closed. poem does not expose hyper's `header_read_timeout`, and
//! its idle timeout waits politely for a half-sent request — which is exactly what
//! a slowloris client keeps it doing.
//!
//! A connection that opens with the HTTP/2 preface (`PRI * HTTP/2.0…`, cleartext
//! HTTP/2 with prior knowledge, as a reverse proxy may speak it) has no HTTP/1
//! heads: once the preface is complete, no head deadline applies to it (the
//! preface itself must still arrive within the limit).

use std::{
    future::Future as _,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use poem::{
    listener::{Acceptor, TcpAcceptor},
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::{Instant, Sleep},
};

/// Wraps a TCP acceptor so every connection gets head deadlines.
pub struct HeadDeadlineAcceptor {
    inner: TcpAcceptor,
    limit: Duration,
}

impl HeadDeadlineAcceptor {
    /// Each request head must arrive within `limit` of its first byte (of the
    /// connection, for the first request).
    pub fn new(inner: TcpAcceptor, limit: Duration) -> Self {
        Self { inner, limit }
    }
}

impl Acceptor for HeadDeadlineAcceptor {
    type Io = HeadDeadline<TcpStream>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        let (io, local, remote, scheme) = self.inner.accept().await?;
        Ok((HeadDeadline::new(io, self.limit), local, remote, scheme))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head; the deadline runs.
    Head,
    /// The head is complete: body and response, no deadline here.
    Open,
    /// A response was written; the next bytes read start a new head.
    Between,
    /// The connection speaks HTTP/2 (it sent the preface): no HTTP/1 heads.
    Http2,
}

/// The client connection preface of HTTP/2 (RFC 9113, section 3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A stream whose request heads must complete before a deadline.
pub struct HeadDeadline<T> {
    inner: T,
    limit: Duration,
    phase: Phase,
    sleep: Pin<Box<Sleep>>,
    /// The last three bytes of the head so far, to find `\r\n\r\n` across reads.
    tail: [u8; 3],
    /// How many bytes of the HTTP/2 preface the connection has sent so far;
    /// `None` once it sent something else.
    preface: Option<usize>,
}

impl<T> HeadDeadline<T> {
    pub(crate) fn new(inner: T, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            phase: Phase::Head,
            sleep: Box::pin(tokio::time::sleep(limit)),
            tail: [0; 3],
            preface: Some(0),
        }
    }

    /// Follows the connection's first bytes: once they are the whole HTTP/2
    /// preface, the connection is HTTP/2 for good. True while it may still be.
    fn follow_preface(&mut self, bytes: &[u8]) -> bool {
        let Some(seen) = self.preface else {
            return false;
        };
        let take = bytes.len().min(H2_PREFACE.len() - seen);
        if bytes[..take] != H2_PREFACE[seen..seen + take] {
            self.preface = None;
            return false;
        }
        let seen = seen + take;
        if seen == H2_PREFACE.len() {
            self.phase = Phase::Http2;
            self.preface = None;
        } else {
            self.preface = Some(seen);
        }
        true
    }

    /// Scans newly read head bytes for the blank line that ends the head.
    fn scan(&mut self, bytes: &[u8]) {
        let mut window = self.tail.to_vec();
        window.extend_from_slice(bytes);
        if window.windows(4).any(|w| w == b"\r\n\r\n") || window.windows(2).any(|w| w == b"\n\n") {
            self.phase = Phase::Open;
            self.tail = [0; 3];
            return;
        }
        let n = window.len();
        for (i, slot) in self.tail.iter_mut().enumerate() {
            *slot = if n >= 3 - i { window[n - (3 - i)] } else { 0 };
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = buf.filled()[before..].to_vec();
                if !new.is_empty() {
                    if this.phase == Phase::Between {
                        this.phase = Phase::Head;
                        let deadline = Instant::now() + this.limit;
                        this.sleep.as_mut().reset(deadline);
                    }
                    if this.phase == Phase::Head && !this.follow_preface(&new) {
                        this.scan(&new);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if this.phase == Phase::Head && this.sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request head too slow",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadDeadline<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        // An interim `100 Continue` comes before the body, not after the response.
        if self.phase == Phase::Open && !buf.starts_with(b"HTTP/1.1 1") {
            self.phase = Phase::Between;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let interim = bufs.first().is_some_and(|b| b.starts_with(b"HTTP/1.1 1"));
        if self.phase == Phase::Open && !interim {
            self.phase = Phase::Between;
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_blank_line_is_found_across_reads() {
        let mut h = HeadDeadline::new((), Duration::from_secs(1));
        h.scan(b"GET / HTTP/1.1\r\nHost: x\r");
        assert_eq!(h.phase, Phase::Head);
        h.scan(b"\n\r");
        assert_eq!(h.phase, Phase::Head);
        h.scan(b"\n");
        assert_eq!(h.phase, Phase::Open);
    }

    #[tokio::test]
    async fn the_http2_preface_ends_head_deadlines_for_good() {
        for split in [1, 5, 18, 24] {
            let mut h = HeadDeadline::new((), Duration::from_secs(1));
            let mut bytes = H2_PREFACE.to_vec();
            bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
            for chunk in bytes.chunks(split) {
                if h.phase == Phase::Head && !h.follow_preface(chunk) {
                    h.scan(chunk);
                }
            }
            assert_eq!(h.phase, Phase::Http2, "split {split}");
        }
        // An HTTP/1 request starting like it (`P`) is still an HTTP/1 head.
        let mut h = HeadDeadline::new((), Duration::from_secs(1));
        assert!(h.follow_preface(b"P"));
        assert!(!h.follow_preface(b"OST / HTTP/1.1\r\n"));
        assert_eq!(h.phase, Phase::Head);
        assert!(!h.follow_preface(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        assert_eq!(h.phase, Phase::Head);
    }

    #[tokio::test]
    async fn one_byte_reads_also_find_it() {
        let mut h = HeadDeadline::new((), Duration::from_secs(1));
        for b in b"GET / HTTP/1.1\r\nA: b\r\n\r\n" {
            assert_eq!(h.phase, Phase::Head);
            h.scan(&[*b]);
        }
        assert_eq!(h.phase, Phase::Open);
    }
}
