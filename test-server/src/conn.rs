//! One accepted TCP connection: served by hyper (HTTP/1.1, upgrades allowed) with the app's router, and closed with a linger when a session asks for it.
//!
//! Owns nothing of HTTP itself: parsing, responses and the upgrade are hyper's and axum's.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::ServiceExt as _;

/// Largest request head (request line plus headers) hyper buffers; beyond it the
/// request is answered 431.
pub const MAX_HEAD_SIZE: usize = 16 * 1024;
/// How long a lingering close keeps reading what the peer still sends.
const LINGER_TIME: Duration = Duration::from_secs(5);
/// Most bytes a lingering close discards before giving up.
const LINGER_LIMIT: usize = 256 * 1024 * 1024;

/// Serves one connection until its request is answered (or its upgraded socket is
/// dropped). Every request carries a [`Linger`] for this connection.
pub async fn serve(router: Router, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    let linger = Linger::default();
    let io = TokioIo::new(LingeringStream {
        tcp: Some(tcp),
        linger: linger.clone(),
    });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(linger.clone());
        router.clone().oneshot(req)
    });
    let served = hyper::server::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_SIZE)
        .serve_connection(io, service)
        .with_upgrades()
        .await;
    if let Err(e) = served {
        tracing::debug!(%peer, "connection ended with an error: {e}");
    }
}

/// Asks for a lingering close of the request's connection: when its socket is
/// dropped, what the peer still sends is read and discarded for a while, so the
/// kernel does not reset the connection (losing our last frame) over unread bytes.
///
/// A session that stopped reading in the middle of a frame (one too big to take)
/// arms it before it drops the socket.
#[derive(Debug, Clone, Default)]
pub struct Linger(Arc<AtomicBool>);

impl Linger {
    /// Makes the connection linger when it is dropped.
    pub fn arm(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn armed(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The accepted TCP stream; lingers on drop when its [`Linger`] is armed.
#[derive(Debug)]
struct LingeringStream {
    /// Only `None` once dropped.
    tcp: Option<TcpStream>,
    linger: Linger,
}

impl LingeringStream {
    fn tcp(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        self.tcp
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl AsyncRead for LingeringStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().tcp() {
            Ok(tcp) => tcp.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for LingeringStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().tcp() {
            Ok(tcp) => tcp.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().tcp() {
            Ok(tcp) => tcp.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().tcp() {
            Ok(tcp) => tcp.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().tcp() {
            Ok(tcp) => tcp.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for LingeringStream {
    fn drop(&mut self) {
        if !self.linger.armed() {
            return;
        }
        let (Some(tcp), Ok(runtime)) = (self.tcp.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        runtime.spawn(async move {
            let mut tcp = tcp;
            let drain = async {
                let mut buf = vec![0u8; 64 * 1024];
                let mut total = 0usize;
                while total < LINGER_LIMIT {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n,
                    }
                }
            };
            let _ = tokio::time::timeout(LINGER_TIME, drain).await;
        });
    }
}
