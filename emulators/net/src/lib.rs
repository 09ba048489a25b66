//! Listener plumbing shared by the lab's servers (XSP, cloud fakes, and the load balancers
//! to come): one bounded accept loop with graceful stop, so every server applies
//! back-pressure and drains the same way; the transport fault layer ([`faults`]) under
//! every listener and the per-request HTTP fault layer ([`http_faults`]) above it.

pub mod faults;
pub mod http_faults;
mod rules;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// How many connections a listener serves at once, and how long a stop waits for them.
#[derive(Clone, Copy, Debug)]
pub struct AcceptLimits {
    /// Connections served at once; further clients wait in the kernel's accept backlog
    /// (back-pressure instead of unbounded tasks).
    pub max_connections: usize,
    /// After a stop, how long to wait for open connections to finish.
    pub drain_timeout: Duration,
}

/// Resolves once `stop` holds `true` (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    // Drop the `Ref` inside: it is not `Send`.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Accepts connections on `tcp` until `stop` turns true, running `serve` for each in its own
/// task with at most `limits.max_connections` at once, then waits up to
/// `limits.drain_timeout` for the open ones to end. Accept errors (e.g. out of file
/// descriptors) are logged and retried after a short pause rather than ending the listener.
pub async fn accept_loop<F, Fut>(
    tcp: TcpListener,
    limits: AcceptLimits,
    mut stop: watch::Receiver<bool>,
    mut serve: F,
) where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    loop {
        let permit = tokio::select! {
            _ = stopped(&mut stop) => break,
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (conn, peer) = tokio::select! {
            _ = stopped(&mut stop) => break,
            r = tcp.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = conn.set_nodelay(true);
        let fut = serve(conn, peer);
        tokio::spawn(async move {
            fut.await;
            drop(permit);
        });
    }
    drop(tcp);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.drain_timeout, permits.acquire_many(all)).await;
}

/// Timers of one HTTP/1.1 connection.
#[derive(Clone, Copy, Debug)]
pub struct HttpTimeouts {
    /// A client that opens a connection (or goes idle between requests) and sends no
    /// complete header within this time is dropped, so idle sockets cannot pile up.
    pub header_read: Duration,
    /// After a stop, how long the in-flight request may take to finish.
    pub drain: Duration,
}

/// Serves HTTP/1.1 with keep-alive on an accepted (usually TLS) stream until the client
/// leaves or `stop` turns true; on stop the current request is finished, then the
/// connection closes.
pub async fn serve_http1<I, S>(
    io: I,
    service: S,
    peer: SocketAddr,
    timeouts: HttpTimeouts,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService<Incoming>,
    S::ResBody: 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = http1::Builder::new()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        }
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(timeouts.drain, conn.as_mut()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn serves_until_stopped_and_bounds_concurrency() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let limits = AcceptLimits {
            max_connections: 1,
            drain_timeout: Duration::from_secs(1),
        };
        let server = tokio::spawn(accept_loop(tcp, limits, rx, |mut conn, _| async move {
            let mut b = [0u8; 1];
            if conn.read_exact(&mut b).await.is_ok() {
                let _ = conn.write_all(&b).await;
            }
        }));
        // The first client occupies the only slot; the second is accepted only after it ends.
        let mut first = TcpStream::connect(addr).await.unwrap();
        let mut second = TcpStream::connect(addr).await.unwrap();
        second.write_all(b"b").await.unwrap();
        first.write_all(b"a").await.unwrap();
        let mut got = [0u8; 1];
        first.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"a");
        drop(first);
        second.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"b");
        tx.send(true).unwrap();
        server.await.unwrap();
        // Stopped: nobody accepts any more.
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
