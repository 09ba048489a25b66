//! Helpers shared by the socket tests: one real TCP connection per handshake, no sleeps.

#![allow(dead_code)]

use std::io;
use std::sync::Arc;

use bwlab_pki::rustls::pki_types::ServerName;
use bwlab_pki::rustls::{self, CipherSuite, ClientConfig, ProtocolVersion, ServerConfig};
use bwlab_pki::tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What one side saw of a successful handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub version: ProtocolVersion,
    pub suite: CipherSuite,
    pub alpn: Option<Vec<u8>>,
    /// For the server: the CN-bearing leaf the client presented, if any.
    pub peer_leaf: Option<Vec<u8>>,
}

/// Outcome of both sides.
#[derive(Debug)]
pub struct Outcome {
    pub client: Result<Negotiated, io::Error>,
    pub server: Result<Negotiated, io::Error>,
}

/// Runs a handshake over 127.0.0.1. The server writes two bytes after its handshake, and the
/// client reads them: with TLS 1.3 a client learns that its certificate was refused only then.
pub async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    server_name: &str,
) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = TlsAcceptor::from(server);
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor.accept(tcp).await?;
        let (_, conn) = tls.get_ref();
        let n = Negotiated {
            version: conn.protocol_version().expect("version after handshake"),
            suite: conn
                .negotiated_cipher_suite()
                .expect("suite after handshake")
                .suite(),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            peer_leaf: conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec()),
        };
        tls.write_all(b"ok").await?;
        tls.flush().await?;
        tls.shutdown().await?;
        Ok::<_, io::Error>(n)
    });

    let connector = TlsConnector::from(client);
    let name = ServerName::try_from(server_name.to_string()).expect("server name");
    let client = async {
        let tcp = TcpStream::connect(addr).await?;
        let mut tls = connector.connect(name, tcp).await?;
        let mut buf = [0u8; 2];
        tls.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ok");
        let (_, conn) = tls.get_ref();
        Ok::<_, io::Error>(Negotiated {
            version: conn.protocol_version().expect("version after handshake"),
            suite: conn
                .negotiated_cipher_suite()
                .expect("suite after handshake")
                .suite(),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            peer_leaf: None,
        })
    }
    .await;
    let server = server_task.await.expect("server task panicked");
    Outcome { client, server }
}

/// The rustls error inside an I/O error from tokio-rustls, if there is one.
pub fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// The lab "now" for tests: the host clock, so rustls' default time source agrees.
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
