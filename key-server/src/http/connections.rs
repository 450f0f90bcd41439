//! Accepting connections with limits on how long a client may hold one.
//!
//! `axum::serve` has no header-read or idle timeout, so one client that opens
//! connections and sends a byte now and then (slowloris) would hold sockets
//! and tasks for ever. Here each connection gets:
//! - a header timeout (hyper's): the request line and headers must arrive in
//!   time, counted from the first byte of the request or, on a kept-alive
//!   connection, from the previous answer — so it also bounds idle keep-alive;
//! - an idle timeout ([`IdleTimeout`]): no byte read or written for that long
//!   closes the connection (a client that stops reading its answer, a body
//!   that stalls);
//! - and, above them, the request timeout (a layer in [`super::app`]'s caller)
//!   answers 503 `busy` when a handler takes too long.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};
use tower_http::add_extension::AddExtension;

/// How long a client may take; see the module docs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    pub header: Duration,
    pub idle: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open
/// connections finish their requests (at most `grace`).
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, mostly: wait rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // What `into_make_service_with_connect_info` does: handlers see the peer.
        let service = AddExtension::new(app.clone(), axum::extract::ConnectInfo(peer));
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(IdleTimeout::new(stream, limits.idle)),
                TowerToHyperService::new(service),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Timeouts and clients that hang up: routine, not the server's fault.
                tracing::debug!(%peer, %error, "connection closed");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("connections still open after 10 s; closing them");
        }
    }
}

/// A stream that fails with `TimedOut` once no byte has moved either way for
/// `idle`. One connection is one task, so one timer serves both directions.
struct IdleTimeout<S> {
    stream: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> IdleTimeout<S> {
    fn new(stream: S, idle: Duration) -> IdleTimeout<S> {
        IdleTimeout {
            stream,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn moved(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// Called when the stream is not ready: an error once the deadline passed.
    fn check<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no data moved on the connection for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// A write's outcome: bytes written count as movement; not ready is
    /// checked against the deadline.
    fn written(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => self.check(cx),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => self.check(cx),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.written(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.written(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const IDLE: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_connection_where_nothing_moves_times_out() {
        let (_client, server) = tokio::io::duplex(64);
        let mut server = IdleTimeout::new(server, IDLE);
        let started = Instant::now();
        let error = server.read(&mut [0u8; 8]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= IDLE);
    }

    #[tokio::test]
    async fn bytes_that_keep_moving_keep_it_open() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut server = IdleTimeout::new(server, IDLE);
        tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(IDLE / 3).await;
                client.write_all(b"x").await.unwrap();
            }
        });
        let mut byte = [0u8; 1];
        for _ in 0..5 {
            server.read_exact(&mut byte).await.unwrap();
        }
        // More than one idle period in all, and still open; then the client
        // hangs up (its end is dropped): end of stream, not a timeout.
        assert_eq!(server.read(&mut byte).await.unwrap(), 0);
    }
}
