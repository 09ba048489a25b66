//! The Webex App's first steps against a whole lab: find an XSP through the lab DNS, open TLS
//! under the lab CA, and call Xsi-Actions with Basic credentials.

use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use bwlab::Lab;
use bwlab::core::{Filter, Kind};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn resolver(addr: SocketAddr) -> TokioResolver {
    let mut conn = ConnectionConfig::new(ProtocolConfig::Udp);
    conn.port = addr.port();
    let ns = NameServerConfig::new(addr.ip(), true, vec![conn]);
    let cfg = ResolverConfig::from_parts(None, vec![], vec![ns]);
    TokioResolver::builder_with_config(cfg, TokioRuntimeProvider::default())
        .build()
        .unwrap()
}

/// One HTTP/1.1 request on a fresh TLS connection; returns (status, body).
async fn https_get(
    lab: &Lab,
    host: &str,
    addr: SocketAddr,
    path: &str,
    auth: &str,
) -> (u16, String) {
    let basic = base64::engine::general_purpose::STANDARD.encode(auth);
    https(lab, host, addr, "GET", path, &format!("Basic {basic}"), "").await
}

/// One HTTP/1.1 request with an optional Authorization header and JSON body.
async fn https(
    lab: &Lab,
    host: &str,
    addr: SocketAddr,
    method: &str,
    path: &str,
    authorization: &str,
    body: &str,
) -> (u16, String) {
    let cfg = bwlab::pki::client_config(&bwlab::pki::ClientOptions::new(
        lab.pki().lab_trust_bundle(),
    ))
    .unwrap();
    let connector = tokio_rustls::TlsConnector::from(cfg);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .expect("TLS under the lab CA");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if !authorization.is_empty() {
        req.push_str(&format!("Authorization: {authorization}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn app_discovers_an_xsp_by_srv_and_reads_its_profile() {
    let lab = Lab::builder().start().await.unwrap();
    let r = resolver(lab.dns_addr());
    let srv = r
        .lookup("_xsi-client._tcp.xsp-app.lab.example.", RecordType::SRV)
        .await
        .unwrap();
    let (port, target) = srv
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::SRV(s) => Some((s.priority, s.port, s.target.to_ascii())),
            _ => None,
        })
        .min()
        .map(|(_, port, target)| (port, target))
        .expect("an SRV target");
    let host = target.trim_end_matches('.').to_string();
    let a = r.lookup(target.as_str(), RecordType::A).await.unwrap();
    let ip = a
        .answers()
        .iter()
        .find_map(|rec| match &rec.data {
            RData::A(ip) => Some(IpAddr::V4(ip.0)),
            _ => None,
        })
        .unwrap();
    let addr = SocketAddr::new(ip, port);
    assert_eq!(Some(addr), lab.xsp("xsp1").map(|x| x.https_addr()));

    let (status, body) = https_get(
        &lab,
        &host,
        addr,
        "/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/profile",
        "alice@lab.example:Alice-pw1",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Profile"), "{body}");
    assert!(body.contains("alice@lab.example"), "{body}");

    let (status, body) = https_get(
        &lab,
        &host,
        addr,
        "/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/profile",
        "alice@lab.example:wrong",
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("ErrorInfo"), "{body}");

    // The cloud-side farm name reaches the other XSP with the same certificate rules.
    let xsp2 = lab.xsp("xsp2").unwrap().https_addr();
    let (status, _) = https_get(
        &lab,
        "xsp.lab.example",
        xsp2,
        "/com.broadsoft.xsi-actions/v2.0/user/bob@lab.example/services/DoNotDisturb",
        "bob@acme.example:Bob-pw1",
    )
    .await;
    assert_eq!(status, 200);

    let http = lab.journal().query(&Filter::kind(Kind::Http));
    assert!(
        http.iter()
            .any(|e| &*e.node == "xsp1" && e.attr("status") == Some("401"))
    );
    assert!(
        http.iter()
            .any(|e| &*e.node == "xsp2" && e.attr("status") == Some("200"))
    );
    lab.shutdown().await;
}

async fn resolve(lab: &Lab, name: &str) -> IpAddr {
    let a = resolver(lab.dns_addr())
        .lookup(name, RecordType::A)
        .await
        .unwrap();
    a.answers()
        .iter()
        .find_map(|rec| match &rec.data {
            RData::A(ip) => Some(IpAddr::V4(ip.0)),
            _ => None,
        })
        .unwrap()
}

/// The Webex sign-in chain across the whole lab: the IdP proxy checks BroadWorks credentials
/// through Xsi, hands out a CI token, exchanges it at the XSP AuthService for a BroadWorks
/// JWT, and that JWT works on the *other* XSP because the farm shares one key set.
#[tokio::test]
async fn webex_sign_in_chain_yields_a_jwt_valid_on_every_xsp() {
    let lab = Lab::builder().start().await.unwrap();
    // RSA key generation on first need can outlast the proxy's 2 s timeout on a loaded
    // machine; that timing is not what this test is about.
    let keys = lab.auth_keys().clone();
    tokio::task::spawn_blocking(move || keys.ensure())
        .await
        .unwrap()
        .unwrap();
    let idp = "broadworks-idp-proxy-a.wbx2.com";
    let ip = resolve(&lab, &format!("{idp}.")).await;
    let port = lab.cloud().addr(idp).unwrap().port();
    let idp_addr = SocketAddr::new(ip, port);

    let (status, body) = https(
        &lab,
        idp,
        idp_addr,
        "POST",
        "/broadworks-idp-proxy/api/v1/idp/authenticate",
        "",
        r#"{"userId":"alice@acme.example","password":"Alice-pw1"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ci_token = v["accessToken"].as_str().expect("a CI token").to_string();

    let (status, body) = https(
        &lab,
        idp,
        idp_addr,
        "GET",
        "/idp/bwtoken/fetch",
        &format!("Bearer {ci_token}"),
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let jwt = v["token"]["bearer"]
        .as_str()
        .expect("a BroadWorks JWT")
        .to_string();

    for (name, xsp) in lab.xsps() {
        let (status, body) = https(
            &lab,
            "xsp.lab.example",
            xsp.https_addr(),
            "GET",
            "/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/profile",
            &format!("Bearer {jwt}"),
            "",
        )
        .await;
        assert_eq!(status, 200, "{name}: {body}");
    }

    // A wrong password gets the guide's exact message.
    let (status, body) = https(
        &lab,
        idp,
        idp_addr,
        "POST",
        "/broadworks-idp-proxy/api/v1/idp/authenticate",
        "",
        r#"{"userId":"alice@lab.example","password":"nope"}"#,
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("Error code 100006"), "{body}");
    lab.shutdown().await;
}
