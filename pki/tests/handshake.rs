//! Real TLS handshakes over 127.0.0.1 with the lab certificates and configurations.

mod common;

use std::sync::{Arc, OnceLock};

use bwlab_pki::rustls::{CertificateError, CipherSuite, Error as RustlsError, ProtocolVersion};
use bwlab_pki::{
    BadCert, CaId, CipherPolicy, ClientAuth, ClientAuthPolicy, ClientCertRejection, ClientIssuer,
    ClientOptions, KeyAlgorithm, LabClock, LabPki, NodeSpec, PkiConfig, ServerCertRequest,
    ServerIssuer, ServerOptions, TlsVersions, client_config, server_config,
};
use common::{handshake, now, rustls_error};

/// One PKI for the whole test binary: generation is cheap, but sharing it also checks that
/// a `LabPki` can issue on demand from many tasks.
fn pki() -> &'static LabPki {
    static PKI: OnceLock<LabPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let cfg = PkiConfig::example(now()).with_node(
            NodeSpec::new("xsp3", "xsp3.lab.example").issued_by(ServerIssuer::PartnerInternal),
        );
        LabPki::generate(cfg).expect("generate")
    })
}

fn lab_client() -> ClientOptions {
    ClientOptions::new(pki().lab_trust_bundle())
}

fn client_cert_error(e: &std::io::Error) -> &CertificateError {
    match rustls_error(e) {
        Some(RustlsError::InvalidCertificate(c)) => c,
        other => panic!("expected an InvalidCertificate error, got {other:?} ({e})"),
    }
}

#[tokio::test]
async fn every_lab_public_node_serves_its_fqdn_and_the_cluster_domain() {
    let pki = pki();
    let client = client_config(&lab_client()).expect("client");
    let mut checked = 0;
    for (spec, id) in pki
        .nodes()
        .filter(|(s, _)| s.issuer == ServerIssuer::LabPublic)
    {
        let server = server_config(id, &ServerOptions::default()).expect("server");
        for name in [spec.fqdn.as_str(), "xsp.lab.example"] {
            let out = handshake(server.clone(), client.clone(), name).await;
            let c = out
                .client
                .unwrap_or_else(|e| panic!("{} as {name}: {e}", spec.name));
            assert_eq!(c.version, ProtocolVersion::TLSv1_3);
            out.server.expect("server side");
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

#[tokio::test]
async fn partner_internal_node_is_trusted_only_with_the_partner_ca() {
    let pki = pki();
    let xsp3 = pki.node("xsp3").expect("xsp3");
    let server = server_config(xsp3, &ServerOptions::default()).expect("server");

    let with_partner = client_config(&ClientOptions::new(vec![
        pki.ca_root(CaId::PartnerInternal).clone(),
    ]))
    .expect("client");
    let out = handshake(server.clone(), with_partner, "xsp3.lab.example").await;
    out.client.expect("partner-trusting client accepts xsp3");

    let out = handshake(
        server,
        client_config(&lab_client()).expect("client"),
        "xsp3.lab.example",
    )
    .await;
    let err = out
        .client
        .expect_err("lab bundle does not include the partner CA");
    assert_eq!(client_cert_error(&err), &CertificateError::UnknownIssuer);
}

#[tokio::test]
async fn cloud_hosts_from_the_outbound_roots_are_trusted_by_the_lab_bundle() {
    let pki = pki();
    let client = client_config(&lab_client()).expect("client");
    let idbroker = pki.host("idbroker.webex.com").expect("configured host");
    let out = handshake(
        server_config(idbroker, &ServerOptions::default()).expect("server"),
        client.clone(),
        "idbroker.webex.com",
    )
    .await;
    out.client.expect("idbroker");

    let on_demand = pki
        .issue_server_cert(
            &ServerCertRequest::new("webexapis.com").issued_by(ServerIssuer::GoDaddyG2),
        )
        .expect("issue");
    let out = handshake(
        server_config(&on_demand, &ServerOptions::default()).expect("server"),
        client,
        "webexapis.com",
    )
    .await;
    out.client.expect("go daddy host");
}

async fn bad_server_outcome(kind: BadCert, versions: TlsVersions) -> common::Outcome {
    let pki = pki();
    let bad = pki.bad_cert(kind).expect("bad cert");
    let host = bad.expected_host.clone().expect("server variant");
    let server = server_config(
        &bad.identity,
        &ServerOptions {
            versions,
            ..ServerOptions::default()
        },
    )
    .expect("server config");
    let client = client_config(&ClientOptions::new(bad.trust.clone())).expect("client");
    handshake(server, client, &host).await
}

#[tokio::test]
async fn expired_server_cert_is_refused_as_expired() {
    let out = bad_server_outcome(BadCert::Expired, TlsVersions::Tls12And13).await;
    let err = out.client.expect_err("must fail");
    assert!(
        matches!(
            client_cert_error(&err),
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{err}"
    );
    assert!(out.server.is_err());
}

#[tokio::test]
async fn not_yet_valid_server_cert_is_refused_as_not_valid_yet() {
    let out = bad_server_outcome(BadCert::NotYetValid, TlsVersions::Tls12And13).await;
    let err = out.client.expect_err("must fail");
    assert!(
        matches!(
            client_cert_error(&err),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn self_signed_server_cert_has_an_unknown_issuer() {
    let out = bad_server_outcome(BadCert::SelfSigned, TlsVersions::Tls12And13).await;
    let err = out.client.expect_err("must fail");
    assert_eq!(client_cert_error(&err), &CertificateError::UnknownIssuer);
}

#[tokio::test]
async fn wrong_host_server_cert_is_not_valid_for_the_name() {
    let out = bad_server_outcome(BadCert::WrongHost, TlsVersions::Tls12And13).await;
    let err = out.client.expect_err("must fail");
    assert!(
        matches!(
            client_cert_error(&err),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn missing_intermediate_leaves_the_issuer_unknown() {
    let out = bad_server_outcome(BadCert::MissingIntermediate, TlsVersions::Tls12And13).await;
    let err = out.client.expect_err("must fail");
    assert_eq!(client_cert_error(&err), &CertificateError::UnknownIssuer);
}

#[tokio::test]
async fn rsa_1024_server_cert_fails_the_signature_check() {
    // The chain itself is fine (the issuer signs with ECDSA); ring refuses to verify the
    // server's handshake signature made with a key under 2048 bits.
    let out = bad_server_outcome(BadCert::Rsa1024, TlsVersions::Tls12Only).await;
    let err = out.client.expect_err("must fail");
    assert_eq!(client_cert_error(&err), &CertificateError::BadSignature);
}

#[tokio::test]
async fn rsa_1024_server_falls_back_to_tls12_so_the_weak_key_is_what_fails() {
    // The RSA-1024 signer only does PKCS#1 v1.5, which TLS 1.3 forbids, so server_config
    // serves such an identity over TLS 1.2 even when 1.3 is enabled.
    let out = bad_server_outcome(BadCert::Rsa1024, TlsVersions::Tls12And13).await;
    let err = out.client.expect_err("must fail");
    assert_eq!(client_cert_error(&err), &CertificateError::BadSignature);

    let bad = pki().bad_cert(BadCert::Rsa1024).expect("bad");
    let tls13_only = ServerOptions {
        versions: TlsVersions::Tls13Only,
        ..ServerOptions::default()
    };
    assert!(server_config(&bad.identity, &tls13_only).is_err());
}

#[tokio::test]
async fn the_good_twin_of_each_bad_server_variant_succeeds() {
    // Guards against a bad variant failing for an unrelated reason (wrong trust, wrong name).
    let pki = pki();
    let host = pki.default_bad_host();
    let good = pki.server_cert_for_host(&host).expect("issue");
    let server = server_config(&good, &ServerOptions::default()).expect("server");
    let client = client_config(&ClientOptions::new(
        pki.bad_cert(BadCert::Expired).expect("bad").trust,
    ))
    .expect("client");
    handshake(server, client, &host)
        .await
        .client
        .expect("good twin");
}

fn mtls_server(policy: ClientAuth) -> Arc<bwlab_pki::rustls::ServerConfig> {
    let xsp1 = pki().node("xsp1").expect("xsp1");
    server_config(
        xsp1,
        &ServerOptions {
            client_auth: policy,
            ..ServerOptions::default()
        },
    )
    .expect("server")
}

fn webex_required() -> ClientAuth {
    ClientAuth::Required(ClientAuthPolicy::broadworks(pki().webex_trust_anchors()))
}

fn partner_required() -> ClientAuth {
    ClientAuth::Required(ClientAuthPolicy::broadworks(vec![
        pki().ca_root(CaId::PartnerInternal).clone(),
    ]))
}

fn server_rejection(e: &std::io::Error) -> ClientCertRejection {
    match rustls_error(e) {
        Some(RustlsError::InvalidCertificate(CertificateError::Other(other))) => other
            .0
            .downcast_ref::<ClientCertRejection>()
            .cloned()
            .unwrap_or_else(|| panic!("other error is not a ClientCertRejection: {other:?}")),
        other => panic!("expected a BroadWorks rejection, got {other:?} ({e})"),
    }
}

#[tokio::test]
async fn webex_client_chain_is_accepted_by_a_server_requiring_client_auth() {
    let pki = pki();
    let client =
        client_config(&lab_client().with_identity(pki.webex_client().clone())).expect("client");
    let out = handshake(mtls_server(webex_required()), client, "xsp1.lab.example").await;
    out.client.expect("client side");
    let server = out.server.expect("server side");
    assert_eq!(
        server.peer_leaf.as_deref(),
        Some(pki.webex_client().leaf().as_ref())
    );
}

#[tokio::test]
async fn webex_client_is_accepted_with_only_the_root_as_anchor() {
    let pki = pki();
    let server = mtls_server(ClientAuth::Required(ClientAuthPolicy::broadworks(vec![
        pki.ca_root(CaId::WebexClient).clone(),
    ])));
    let client =
        client_config(&lab_client().with_identity(pki.webex_client().clone())).expect("client");
    handshake(server, client, "xsp1.lab.example")
        .await
        .server
        .expect("root-only anchor");
}

#[tokio::test]
async fn removing_the_webex_anchor_trusts_nothing_and_refuses_the_webex_client() {
    let pki = pki();
    let anchors = pki.webex_trust_anchors();
    let ca: CaId = "webex-ca".parse().expect("scenario name");
    assert_eq!(ca, CaId::WebexClient);
    assert_eq!("godaddy-g2".parse::<CaId>().unwrap(), CaId::GoDaddyG2);
    assert!("nobody".parse::<CaId>().is_err());
    assert!(pki.trust_anchors_without(&anchors, ca).is_empty());
    let bundle = pki.lab_trust_bundle();
    let without = pki.trust_anchors_without(&bundle, CaId::IdenTrust);
    assert_eq!(without.len(), bundle.len() - 1);
    assert!(!without.contains(pki.ca_root(CaId::IdenTrust)));
    // An empty list is refused by rustls; the placeholder trusts nothing instead.
    let nothing = bwlab_pki::trust_nothing_anchor().expect("anchor");
    assert_eq!(
        bwlab_pki::trust_nothing_anchor().unwrap(),
        nothing,
        "generated once"
    );
    let server = mtls_server(ClientAuth::Required(ClientAuthPolicy::broadworks(vec![
        nothing,
    ])));
    let client =
        client_config(&lab_client().with_identity(pki.webex_client().clone())).expect("client");
    let err = handshake(server, client, "xsp1.lab.example")
        .await
        .server
        .expect_err("refused");
    assert!(
        matches!(client_cert_error(&err), CertificateError::UnknownIssuer),
        "{err}"
    );
}

#[tokio::test]
async fn missing_client_cert_is_refused_when_required() {
    let client = client_config(&lab_client()).expect("client");
    let out = handshake(mtls_server(webex_required()), client, "xsp1.lab.example").await;
    let err = out.server.expect_err("must fail");
    assert!(
        matches!(
            rustls_error(&err),
            Some(RustlsError::NoCertificatesPresented)
        ),
        "{err}"
    );
    assert!(out.client.is_err());
}

#[tokio::test]
async fn missing_client_cert_is_let_through_when_optional() {
    let optional = ClientAuth::Optional(ClientAuthPolicy::broadworks(pki().webex_trust_anchors()));
    let client = client_config(&lab_client()).expect("client");
    let out = handshake(mtls_server(optional), client, "xsp1.lab.example").await;
    assert_eq!(out.server.expect("server").peer_leaf, None);
}

#[tokio::test]
async fn client_cert_from_the_wrong_ca_is_refused() {
    // The proxy's certificate is well-formed but comes from the partner CA, not Webex.
    let pki = pki();
    let client =
        client_config(&lab_client().with_identity(pki.proxy_client().clone())).expect("client");
    let out = handshake(mtls_server(webex_required()), client, "xsp1.lab.example").await;
    let err = out.server.expect_err("must fail");
    assert!(
        matches!(
            rustls_error(&err),
            Some(RustlsError::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ),
        "{err}"
    );
    assert!(out.client.is_err());
}

#[tokio::test]
async fn proxy_client_cert_is_accepted_by_a_server_trusting_the_partner_ca() {
    let pki = pki();
    let client =
        client_config(&lab_client().with_identity(pki.proxy_client().clone())).expect("client");
    handshake(mtls_server(partner_required()), client, "xsp1.lab.example")
        .await
        .server
        .expect("proxy accepted");
}

#[tokio::test]
async fn client_cert_without_the_broadworks_oid_is_refused() {
    let bad = pki().bad_cert(BadCert::ClientNoEkuOid).expect("bad");
    let client = client_config(&lab_client().with_identity(bad.identity)).expect("client");
    let out = handshake(mtls_server(partner_required()), client, "xsp1.lab.example").await;
    let err = out.server.expect_err("must fail");
    assert_eq!(
        server_rejection(&err),
        ClientCertRejection::MissingBroadWorksOid
    );
    assert!(out.client.is_err());
}

#[tokio::test]
async fn client_cert_with_a_san_is_refused() {
    let bad = pki().bad_cert(BadCert::ClientWithSan).expect("bad");
    let client = client_config(&lab_client().with_identity(bad.identity)).expect("client");
    let out = handshake(mtls_server(partner_required()), client, "xsp1.lab.example").await;
    let err = out.server.expect_err("must fail");
    assert!(
        matches!(
            server_rejection(&err),
            ClientCertRejection::HasSubjectAltName(_)
        ),
        "{err}"
    );
}

#[tokio::test]
async fn device_certs_pass_only_when_the_broadworks_rules_are_off() {
    let pki = pki();
    let (mac, device) = pki.devices().next().expect("example device");
    let device_roots = vec![pki.ca_root(CaId::DeviceManufacturing).clone()];
    let client = client_config(&lab_client().with_identity(device.clone())).expect("client");

    let dms = mtls_server(ClientAuth::Required(ClientAuthPolicy::chain_only(
        device_roots.clone(),
    )));
    let out = handshake(dms, client.clone(), "xsp1.lab.example").await;
    let leaf = out
        .server
        .expect("DMS accepts the device")
        .peer_leaf
        .expect("leaf");
    assert_eq!(bwlab_pki::mac_from_cert(&leaf).expect("mac"), mac);

    let strict = mtls_server(ClientAuth::Required(ClientAuthPolicy::broadworks(
        device_roots,
    )));
    let out = handshake(strict, client, "xsp1.lab.example").await;
    let err = out.server.expect_err("device certs lack the OID");
    assert_eq!(
        server_rejection(&err),
        ClientCertRejection::MissingBroadWorksOid
    );
}

#[tokio::test]
async fn tls12_only_server_negotiates_tls12_with_a_tls13_client() {
    let xsp1 = pki().node("xsp1").expect("xsp1");
    let server = server_config(
        xsp1,
        &ServerOptions {
            versions: TlsVersions::Tls12Only,
            ..ServerOptions::default()
        },
    )
    .expect("server");
    let client = client_config(&lab_client()).expect("client offers 1.2 and 1.3");
    let out = handshake(server, client, "xsp1.lab.example").await;
    assert_eq!(
        out.client.expect("client").version,
        ProtocolVersion::TLSv1_2
    );
    assert_eq!(
        out.server.expect("server").version,
        ProtocolVersion::TLSv1_2
    );
}

#[tokio::test]
async fn named_cipher_policy_negotiates_the_named_suite() {
    let xsp1 = pki().node("xsp1").expect("xsp1");
    let server = server_config(
        xsp1,
        &ServerOptions {
            ciphers: CipherPolicy::Named(vec![
                "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384".into(),
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into(),
            ]),
            ..ServerOptions::default()
        },
    )
    .expect("server");
    let out = handshake(
        server,
        client_config(&lab_client()).expect("client"),
        "xsp1.lab.example",
    )
    .await;
    let c = out.client.expect("client");
    assert_eq!(
        c.suite,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    );
    assert_eq!(c.version, ProtocolVersion::TLSv1_2);
}

#[tokio::test]
async fn cisco_compliant_server_refuses_a_chacha_only_client() {
    let xsp1 = pki().node("xsp1").expect("xsp1");
    let server = server_config(
        xsp1,
        &ServerOptions {
            ciphers: CipherPolicy::CiscoCompliant,
            ..ServerOptions::default()
        },
    )
    .expect("server");
    let chacha_only = ClientOptions {
        ciphers: CipherPolicy::Named(vec![
            "TLS_CHACHA20_POLY1305_SHA256".into(),
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into(),
        ]),
        ..lab_client()
    };
    let out = handshake(
        server.clone(),
        client_config(&chacha_only).expect("client"),
        "xsp1.lab.example",
    )
    .await;
    assert!(out.client.is_err());
    assert!(out.server.is_err());

    let out = handshake(
        server,
        client_config(&lab_client()).expect("client"),
        "xsp1.lab.example",
    )
    .await;
    let c = out.client.expect("default client");
    assert!(bwlab_pki::iana_name(c.suite).contains("AES"));
}

#[tokio::test]
async fn rsa_2048_node_serves_an_ecdhe_rsa_suite() {
    let pki = pki();
    let rsa = pki
        .issue_server_cert(
            &ServerCertRequest::new("xsp9.lab.example").with_key(KeyAlgorithm::Rsa2048),
        )
        .expect("issue");
    let server = server_config(
        &rsa,
        &ServerOptions {
            ciphers: CipherPolicy::Named(vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()]),
            ..ServerOptions::default()
        },
    )
    .expect("server");
    let out = handshake(
        server,
        client_config(&lab_client()).expect("client"),
        "xsp9.lab.example",
    )
    .await;
    assert_eq!(
        out.client.expect("client").suite,
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    );
}

#[tokio::test]
async fn alpn_is_negotiated() {
    let xsp1 = pki().node("xsp1").expect("xsp1");
    let server = server_config(
        xsp1,
        &ServerOptions {
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            ..ServerOptions::default()
        },
    )
    .expect("server");
    let client = ClientOptions {
        alpn: vec![b"http/1.1".to_vec()],
        ..lab_client()
    };
    let out = handshake(
        server,
        client_config(&client).expect("client"),
        "xsp1.lab.example",
    )
    .await;
    assert_eq!(
        out.client.expect("client").alpn.as_deref(),
        Some(&b"http/1.1"[..])
    );
}

#[tokio::test]
async fn lab_clock_drives_validity_checks() {
    // A PKI generated three years ahead is "not yet valid" on the host clock, but fine when
    // both sides use the lab clock.
    let future = now() + time::Duration::days(3 * 365);
    let pki = LabPki::generate(PkiConfig::example(future)).expect("generate");
    let clock = LabClock::fixed(future);
    let xsp1 = pki.node("xsp1").expect("xsp1");
    let server = server_config(
        xsp1,
        &ServerOptions {
            client_auth: ClientAuth::Required(ClientAuthPolicy::broadworks(
                pki.webex_trust_anchors(),
            )),
            clock: Some(clock.clone()),
            ..ServerOptions::default()
        },
    )
    .expect("server");
    let host_clock =
        ClientOptions::new(pki.lab_trust_bundle()).with_identity(pki.webex_client().clone());
    let lab_clock = ClientOptions {
        clock: Some(clock),
        ..host_clock.clone()
    };

    let out = handshake(
        server.clone(),
        client_config(&host_clock).expect("client"),
        "xsp1.lab.example",
    )
    .await;
    let err = out.client.expect_err("host clock is three years early");
    assert!(
        matches!(
            client_cert_error(&err),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
        ),
        "{err}"
    );

    let out = handshake(
        server,
        client_config(&lab_clock).expect("client"),
        "xsp1.lab.example",
    )
    .await;
    out.client.expect("lab clock client");
    out.server.expect("lab clock server");
}

#[tokio::test]
async fn webex_client_issued_on_demand_matches_the_generated_one() {
    let pki = pki();
    let fresh = pki
        .issue_broadworks_client_cert(ClientIssuer::Webex)
        .expect("issue");
    assert_eq!(fresh.intermediates(), pki.webex_client().intermediates());
    let client = client_config(&lab_client().with_identity(fresh)).expect("client");
    handshake(mtls_server(webex_required()), client, "xsp1.lab.example")
        .await
        .server
        .expect("fresh webex client accepted");
}
