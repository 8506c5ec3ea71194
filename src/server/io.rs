//! Two small wrappers around a connection's byte stream: [`Rewind`] gives back
//! the bytes read to tell HTTP/1 from HTTP/2, and [`Activity`] notes when bytes
//! last moved, for the idle watchdog of HTTP/2 connections.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream whose first bytes, already read, are read again first.
pub struct Rewind<T> {
    inner: T,
    prefix: [u8; 2],
    start: usize,
    end: usize,
}

impl<T> Rewind<T> {
    /// The stream `inner` after `prefix` (at most two bytes).
    pub fn new(inner: T, prefix: &[u8]) -> Self {
        let mut bytes = [0; 2];
        let end = prefix.len().min(2);
        bytes[..end].copy_from_slice(&prefix[..end]);
        Self {
            inner,
            prefix: bytes,
            start: 0,
            end,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Rewind<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.start < self.end {
            let n = (self.end - self.start).min(buf.remaining());
            let start = self.start;
            buf.put_slice(&self.prefix[start..start + n]);
            self.start += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Rewind<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
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
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// When bytes last moved on a connection, in milliseconds since a start.
#[derive(Debug, Clone)]
pub struct LastMoved {
    origin: Instant,
    millis: Arc<AtomicU64>,
}

impl LastMoved {
    /// Bytes moved now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            millis: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.millis.store(now, Ordering::Relaxed);
    }

    /// When bytes last moved.
    pub fn at(&self) -> Instant {
        self.origin + std::time::Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }
}

/// A stream that notes in a [`LastMoved`] whenever bytes are read or written.
pub struct Activity<T> {
    inner: T,
    moved: LastMoved,
}

impl<T> Activity<T> {
    /// Wraps `inner`, noting into `moved`.
    pub fn new(inner: T, moved: LastMoved) -> Self {
        Self { inner, moved }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Activity<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.moved.touch();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Activity<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.moved.touch();
        }
        result
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
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.moved.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn the_prefix_is_read_again_before_the_rest() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"ST / HTTP/1.1").await.unwrap_or_default();
        drop(client);
        let mut rewound = Rewind::new(server, b"PO");
        let mut all = String::new();
        rewound.read_to_string(&mut all).await.unwrap_or_default();
        assert_eq!(all, "POST / HTTP/1.1");
    }

    #[tokio::test]
    async fn a_one_byte_buffer_still_gets_every_prefix_byte() {
        let (client, server) = tokio::io::duplex(64);
        drop(client);
        let mut rewound = Rewind::new(server, b"GE");
        let mut one = [0u8; 1];
        assert_eq!(rewound.read(&mut one).await.unwrap_or(9), 1);
        assert_eq!(&one, b"G");
        assert_eq!(rewound.read(&mut one).await.unwrap_or(9), 1);
        assert_eq!(&one, b"E");
        assert_eq!(rewound.read(&mut one).await.unwrap_or(9), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_and_writes_move_the_last_moved_time() {
        let (mut client, server) = tokio::io::duplex(64);
        let moved = LastMoved::new();
        let mut watched = Activity::new(server, moved.clone());
        let first = moved.at();
        std::thread::sleep(std::time::Duration::from_millis(20));
        client.write_all(b"x").await.unwrap_or_default();
        let mut one = [0u8; 1];
        watched.read_exact(&mut one).await.unwrap_or_default();
        let after_read = moved.at();
        assert!(after_read > first, "{after_read:?} !> {first:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        watched.write_all(b"y").await.unwrap_or_default();
        assert!(moved.at() > after_read);
    }
}
