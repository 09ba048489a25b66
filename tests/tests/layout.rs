//! The two XSP layouts of the guide, seen from outside: option 1 (every node has TLS, mTLS
//! and CTI) and option 2 (a TLS-only farm plus an mTLS-only farm).

mod common;

use std::net::SocketAddr;

use common::{a_records, resolver};
use hickory_resolver::proto::rr::{RData, RecordType};

use bwlab::core::addr::Host;
use bwlab::{Lab, XspLayout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One Xsi-Events subscription over TLS with `identity` as the client certificate;
/// `Err` when the handshake or the exchange fails.
async fn subscribe(
    lab: &Lab,
    addr: SocketAddr,
    host: &str,
    identity: Option<bwlab::pki::Identity>,
) -> Result<u16, String> {
    let mut opts = bwlab::pki::ClientOptions::new(lab.pki().lab_trust_bundle());
    opts.identity = identity;
    let cfg = bwlab::pki::client_config(&opts).unwrap();
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let body = r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Advanced Call</event><channelSetId>webex</channelSetId></Subscription>"#;
    let req = format!(
        "POST /com.broadsoft.xsi-events/v2.0/user/alice@lab.example HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {text:?}"))
}

#[tokio::test]
async fn option2_separates_the_tls_and_the_mtls_farm() {
    let lab = Lab::builder()
        .host(Host::Localhost)
        .xsp_layout(XspLayout::Option2)
        .start()
        .await
        .expect("lab starts");
    let names: Vec<&str> = lab.xsps().map(|(n, _)| n).collect();
    assert_eq!(names, ["xsp1", "xsp2", "xsp-mtls1", "xsp-mtls2"]);

    // The TLS farm has no mTLS interfaces; the mTLS farm has CTI.
    let xsp1 = lab.xsp("xsp1").unwrap();
    assert!(xsp1.mtls_addr().is_none());
    assert!(xsp1.cti_addr().is_none());
    let m1 = lab.xsp("xsp-mtls1").unwrap();
    let cti = m1.cti_addr().expect("CTI on the mTLS farm");

    // DNS: the cloud and App names cover the TLS farm only; the mTLS farm has its own name.
    let r = resolver(lab.dns_addr());
    let tls_farm = a_records(&r, "xsp.lab.example.").await;
    let mtls_farm = a_records(&r, "xsp-mtls.lab.example.").await;
    assert_eq!(
        tls_farm.len(),
        1,
        "one loopback address on a localhost plan"
    );
    assert!(!mtls_farm.is_empty());
    let srv = r
        .lookup("_xsi-client._tcp.xsp-app.lab.example.", RecordType::SRV)
        .await
        .unwrap();
    let targets: Vec<String> = srv
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(s) => Some(s.target.to_ascii()),
            _ => None,
        })
        .collect();
    assert!(targets.iter().all(|t| !t.contains("mtls")), "{targets:?}");

    // The Webex CTI client reaches CTI on the mTLS farm; without a certificate it cannot,
    // and the mTLS farm's https interface wants the certificate too.
    let webex = Some(lab.pki().webex_client().clone());
    assert_eq!(
        subscribe(&lab, cti, "xsp-mtls.lab.example", webex.clone()).await,
        Ok(200)
    );
    assert!(
        subscribe(&lab, cti, "xsp-mtls.lab.example", None)
            .await
            .is_err()
    );
    assert!(
        subscribe(&lab, m1.https_addr(), "xsp-mtls.lab.example", None)
            .await
            .is_err()
    );
    // Users reach Xsi over plain TLS on the TLS farm (401 here: no credentials sent).
    assert_eq!(
        subscribe(&lab, xsp1.https_addr(), "xsp.lab.example", None).await,
        Ok(401)
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn option1_puts_every_interface_on_each_node() {
    let lab = Lab::builder()
        .host(Host::Localhost)
        .start()
        .await
        .expect("lab starts");
    let names: Vec<&str> = lab.xsps().map(|(n, _)| n).collect();
    assert_eq!(names, ["xsp1", "xsp2"]);
    for (_, x) in lab.xsps() {
        assert!(x.mtls_addr().is_some());
        let cti = x.cti_addr().expect("CTI on every node");
        let webex = Some(lab.pki().webex_client().clone());
        assert_eq!(
            subscribe(&lab, cti, "xsp.lab.example", webex).await,
            Ok(200)
        );
    }
    lab.shutdown().await;
}
