//! TLS accept loop and the HTTP/1.1 connection driver.
//!
//! Each listener owns a semaphore of `max_connections` permits: a permit is taken *before*
//! `accept`, so an overloaded node leaves clients in the kernel backlog instead of
//! spawning unbounded tasks. Shutdown stops accepting, asks hyper to finish the in-flight
//! request on every connection, and waits (bounded) for all permits to come back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab_core::Kind;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::{Interface, Shared};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Facts about the connection a request arrived on.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    pub peer: SocketAddr,
    pub interface: Interface,
    /// The client presented a certificate that passed verification.
    pub client_cert: bool,
    /// The CN of that certificate (the CTI interface checks it against `ClientIdentity`).
    pub client_cn: Option<Arc<str>>,
    /// Arms a connection-breaking HTTP fault (reset, empty response…) on this connection.
    pub trap: bwlab_net::http_faults::ConnTrap,
}

pub(crate) struct Listener {
    pub interface: Interface,
    pub local_addr: SocketAddr,
    tcp: TcpListener,
    shared: Arc<Shared>,
}

impl Listener {
    pub(crate) async fn bind(
        interface: Interface,
        addr: SocketAddr,
        shared: Arc<Shared>,
    ) -> std::io::Result<Self> {
        let tcp = TcpListener::bind(addr).await?;
        Ok(Listener {
            interface,
            local_addr: tcp.local_addr()?,
            tcp,
            shared,
        })
    }

    pub(crate) fn spawn(self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let limits = bwlab_net::AcceptLimits {
            max_connections: self.shared.settings.max_connections,
            drain_timeout: DRAIN_TIMEOUT,
        };
        let shared = Arc::clone(&self.shared);
        let interface = self.interface;
        let conn_stop = stop.clone();
        tokio::spawn(bwlab_net::accept_loop(
            self.tcp,
            limits,
            stop,
            move |tcp, peer| {
                serve_connection(tcp, peer, interface, Arc::clone(&shared), conn_stop.clone())
            },
        ))
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    interface: Interface,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    // Transport faults sit under TLS, where a real network would fail.
    let tcp = shared.net_faults.wrap(tcp, peer);
    // Read once per connection: a run-time change (certificate, trust anchors, TLS
    // versions; `drift.rs`) applies to the next handshake.
    let Some(config) = shared.drift.acceptor(interface) else {
        return;
    };
    let acceptor = TlsAcceptor::from(config);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            journal_tls_failure(&shared, interface, peer, &e.to_string());
            return;
        }
        Err(_) => {
            journal_tls_failure(&shared, interface, peer, "handshake timed out");
            return;
        }
    };
    let (_, conn) = tls.get_ref();
    let leaf = conn.peer_certificates().and_then(|c| c.first());
    let client_cn = leaf
        .and_then(|der| bwlab_pki::inspect(der).ok())
        .and_then(|i| i.subject_common_names.into_iter().next())
        .map(Arc::from);
    let client_cert = leaf.is_some();
    // HTTP faults that break the connection act above TLS, where hyper writes.
    let (tls, trap) = bwlab_net::http_faults::trap(tls, |tls| {
        bwlab_net::http_faults::reset_on_drop(tls.get_ref().0.get_ref());
    });
    let info = ConnInfo {
        peer,
        interface,
        client_cert,
        client_cn,
        trap,
    };
    let svc_shared = Arc::clone(&shared);
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&svc_shared);
        let info = info.clone();
        async move {
            Ok::<Response<crate::body::XspBody>, Infallible>(
                crate::journal::handle(shared, info, req).await,
            )
        }
    });
    let timeouts = bwlab_net::HttpTimeouts {
        header_read: HEADER_READ_TIMEOUT,
        drain: DRAIN_TIMEOUT,
    };
    bwlab_net::serve_http1(tls, service, peer, timeouts, stop).await;
}

fn journal_tls_failure(shared: &Shared, interface: Interface, peer: SocketAddr, error: &str) {
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Tls,
            format!("TLS handshake refused on {}: {error}", interface.name()),
        )
        .peer(peer)
        .attr("interface", interface.name())
        .attr("outcome", "refused")
        .attr("error", error.to_owned())
        .commit();
}
