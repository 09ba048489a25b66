//! A whole lab, started through the library API, seen from the outside.

use std::net::SocketAddr;
use std::time::Duration;

use bwlab::core::{Filter, Kind, LabClock};
use bwlab::dns::{DnsFault, RecordData, RecordType as LabRecordType};
use bwlab::model::AuthOutcome;
use bwlab::{Lab, LabError};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use time::macros::datetime;
use tokio::net::{TcpListener, TcpStream};

fn resolver(addr: SocketAddr, proto: ProtocolConfig) -> TokioResolver {
    let mut conn = ConnectionConfig::new(proto);
    conn.port = addr.port();
    let ns = NameServerConfig::new(addr.ip(), true, vec![conn]);
    let cfg = ResolverConfig::from_parts(None, vec![], vec![ns]);
    let mut b = TokioResolver::builder_with_config(cfg, TokioRuntimeProvider::default());
    b.options_mut().cache_size = 0;
    b.build().expect("resolver")
}

#[tokio::test]
async fn default_lab_resolves_its_nodes_over_udp_and_tcp_and_journals_queries() {
    let lab = Lab::builder().start().await.expect("lab starts");
    let xsp1 = lab.plan().node("xsp1").unwrap().ip;
    for proto in [ProtocolConfig::Udp, ProtocolConfig::Tcp] {
        let r = resolver(lab.dns_addr(), proto);
        let a = r.lookup("xsp1.lab.example.", RecordType::A).await.unwrap();
        let got: Vec<_> = a.answers().iter().map(|r| r.data.clone()).collect();
        assert_eq!(got.len(), 1);
        assert!(matches!(&got[0], RData::A(ip) if std::net::IpAddr::V4(ip.0) == xsp1));
        let srv = r
            .lookup("_xsi-client._tcp.xsp-app.lab.example.", RecordType::SRV)
            .await
            .unwrap();
        let mut targets: Vec<_> = srv
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(s) => Some((s.priority, s.target.to_ascii())),
                _ => None,
            })
            .collect();
        targets.sort();
        assert_eq!(targets[0], (10, "xsp1.lab.example.".to_string()));
        assert_eq!(targets[1], (20, "xsp2.lab.example.".to_string()));
    }
    let dns_entries = lab
        .journal()
        .query(&Filter::kind(Kind::Dns).attr("qtype", "SRV"));
    assert!(dns_entries.iter().any(|e| e.attr("proto") == Some("udp")));
    assert!(dns_entries.iter().any(|e| e.attr("proto") == Some("tcp")));
    lab.shutdown().await;
}

#[tokio::test]
async fn dns_faults_and_record_changes_at_run_time() {
    let lab = Lab::builder().start().await.unwrap();
    let r = resolver(lab.dns_addr(), ProtocolConfig::Udp);
    let id = lab.dns().inject(
        "xsp.lab.example",
        Some(LabRecordType::A),
        DnsFault::NxDomain,
    );
    let err = r.lookup("xsp.lab.example.", RecordType::A).await;
    assert!(err.is_err(), "NXDOMAIN fault answered {err:?}");
    assert!(lab.dns().revert(id));
    let ok = r.lookup("xsp.lab.example.", RecordType::A).await.unwrap();
    assert_eq!(ok.answers().len(), 2);

    lab.dns()
        .records()
        .replace(
            "xsp.lab.example",
            [RecordData::A("127.77.0.9".parse().unwrap())],
        )
        .unwrap();
    let changed = r.lookup("xsp.lab.example.", RecordType::A).await.unwrap();
    assert_eq!(changed.answers().len(), 1);
    assert!(!lab.journal().query(&Filter::kind(Kind::Fault)).is_empty());
    lab.shutdown().await;
}

#[tokio::test]
async fn lab_clock_drives_password_policy_of_the_lab_data() {
    let clock = LabClock::frozen_at(datetime!(2026-03-01 09:00 UTC));
    let lab = Lab::builder().clock(clock.clone()).start().await.unwrap();
    let data = lab.data();
    // carol's password expires 7 days after the lab starts: she gets a warning.
    match data.authenticate("carol@lab.example", "Carol-pw1", clock.now()) {
        AuthOutcome::Ok {
            expiring_soon,
            days_to_expiry,
            ..
        } => {
            assert!(expiring_soon);
            assert_eq!(days_to_expiry, Some(7));
        }
        other => panic!("carol: {other:?}"),
    }
    // "advance 8 days": expired, and this lab does not enforce a change.
    clock.advance(Duration::from_secs(8 * 86_400));
    assert!(matches!(
        data.authenticate("carol@lab.example", "Carol-pw1", clock.now()),
        AuthOutcome::Expired { .. }
    ));
    // Login by alternate id works too.
    assert!(matches!(
        data.authenticate("alice@acme.example", "Alice-pw1", clock.now()),
        AuthOutcome::Ok { .. }
    ));
    lab.shutdown().await;
}

#[tokio::test]
async fn node_certificates_complete_a_tls_handshake_under_the_lab_ca() {
    let lab = Lab::builder().start().await.unwrap();
    let pki = lab.pki();
    let identity = pki.node("xsp1").expect("xsp1 has a certificate").clone();
    let server_cfg =
        bwlab::pki::server_config(&identity, &bwlab::pki::ServerOptions::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_cfg);
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        acceptor.accept(tcp).await.map(|_| ())
    });
    let client_cfg =
        bwlab::pki::client_config(&bwlab::pki::ClientOptions::new(pki.lab_trust_bundle())).unwrap();
    let connector = tokio_rustls::TlsConnector::from(client_cfg);
    // Both the node's own name and the farm name the cloud uses are in the certificate.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("xsp.lab.example").unwrap();
    connector.connect(name, tcp).await.expect("handshake");
    server.await.unwrap().expect("server side handshake");
    lab.shutdown().await;
}

#[tokio::test]
async fn state_dir_gets_the_ca_bundle_and_bad_profiles_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::builder().state_dir(dir.path()).start().await.unwrap();
    let bundle = lab.ca_bundle_path().expect("exported").to_path_buf();
    assert!(
        std::fs::read_to_string(bundle)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let summary = lab.summary();
    assert_eq!(summary.dns.port, lab.dns_addr().port());
    assert!(summary.users.iter().any(|u| u.user_id == "bob@lab.example"));
    lab.shutdown().await;

    let err = Lab::builder()
        .profile("r2x")
        .start()
        .await
        .err()
        .expect("unknown profile");
    assert!(matches!(err, LabError::Profile(_)));
    assert!(err.to_string().contains("r2"), "{err}");
}

#[tokio::test]
async fn two_labs_run_side_by_side() {
    let a = Lab::builder().start().await.unwrap();
    let b = Lab::builder().start().await.unwrap();
    assert_ne!(a.dns_addr(), b.dns_addr());
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn node_certificates_name_only_their_own_hosts() {
    let lab = Lab::builder().start().await.unwrap();
    let dns = lab.pki().node("dns").unwrap().info().unwrap();
    assert_eq!(dns.dns_sans, ["dns.lab.example"]);
    let xsp = lab.pki().node("xsp2").unwrap().info().unwrap();
    for name in ["xsp2.lab.example", "xsp.lab.example", "xsp-app.lab.example"] {
        assert!(
            xsp.dns_sans.iter().any(|n| n == name),
            "{name} not in {:?}",
            xsp.dns_sans
        );
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn labs_share_authservice_keys_through_a_pem_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authService.keys");
    let a = Lab::builder()
        .authservice_keys_file(&file)
        .start()
        .await
        .unwrap();
    assert!(a.auth_keys().is_created(), "created at start and exported");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let b = Lab::builder()
        .authservice_keys_file(&file)
        .start()
        .await
        .unwrap();
    assert_eq!(a.auth_keys().key_id(), b.auth_keys().key_id());
    let c = Lab::builder().start().await.unwrap();
    assert!(
        !c.auth_keys().is_created(),
        "default: a fresh pair, made on first need"
    );
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;

    std::fs::write(&file, "garbage").unwrap();
    match Lab::builder().authservice_keys_file(&file).start().await {
        Err(e @ LabError::AuthKeys { .. }) => {
            assert!(e.to_string().contains("authService.keys"), "{e}")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a garbage key file was accepted"),
    }
}
