//! Shape of the generated certificates, configuration checks, export layout and speed.

use std::time::Instant;

use bwlab_pki::{
    BROADWORKS_CLIENT_OID, BadCert, CaId, DeviceSpec, HostSpec, KeyAlgorithm, LabPki, MacAddress,
    NodeSpec, PkiConfig, PkiError, ServerIssuer, WEBEX_CLIENT_CN, WRONG_HOST, inspect,
    mac_from_cert,
};
use time::{Duration, OffsetDateTime};

const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";

fn now() -> OffsetDateTime {
    // A fixed lab time: nothing here depends on the host clock.
    time::macros::datetime!(2031-05-04 12:00:00 UTC)
}

fn pki() -> LabPki {
    LabPki::generate(PkiConfig::example(now())).expect("generate")
}

#[test]
fn default_pki_generation_is_fast() {
    // Warm-up run excluded (first use of the OS RNG, lazy statics).
    let _ = pki();
    let start = Instant::now();
    let pki = pki();
    let elapsed = start.elapsed();
    println!("generated the example PKI in {elapsed:?}");
    assert!(elapsed.as_millis() < 1000, "took {elapsed:?}");
    assert_eq!(pki.nodes().count(), 2);
}

#[test]
fn node_certs_name_the_node_in_cn_and_the_cluster_in_san() {
    let pki = pki();
    for (spec, id) in pki.nodes() {
        let info = id.info().expect("parse");
        assert_eq!(info.subject_common_names, std::slice::from_ref(&spec.fqdn));
        assert_eq!(
            info.dns_sans,
            ["xsp.lab.example".to_string(), spec.fqdn.clone()]
        );
        assert_eq!(info.eku_oids, [SERVER_AUTH]);
        assert!(!info.is_ca);
        assert_eq!(info.public_key_type, "EC");
        // Chain: leaf + the lab public intermediate.
        assert_eq!(id.chain().len(), 2);
        assert_eq!(&id.chain()[1], &pki.ca_chain(CaId::LabPublic)[1]);
        assert_eq!(id.anchor(), pki.ca_root(CaId::LabPublic));
        assert_eq!(info.not_before, now() - Duration::hours(1));
        assert_eq!(info.not_after, now() + Duration::days(397));
    }
}

#[test]
fn extra_sans_and_several_cluster_domains_are_included() {
    let mut cfg = PkiConfig::new("xsp.lab.example", now()).with_node(
        NodeSpec::new("lb", "lb1.lab.example")
            .with_san("*.apps.lab.example")
            .with_san("192.0.2.10"),
    );
    cfg.cluster_domains.push("xsp-alt.lab.example".into());
    let pki = LabPki::generate(cfg).expect("generate");
    let info = pki.node("lb").expect("lb").info().expect("parse");
    assert_eq!(
        info.dns_sans,
        [
            "xsp.lab.example",
            "xsp-alt.lab.example",
            "lb1.lab.example",
            "*.apps.lab.example"
        ]
    );
    assert_eq!(
        info.ip_sans,
        ["192.0.2.10".parse::<std::net::IpAddr>().expect("ip")]
    );
}

#[test]
fn webex_chain_has_the_real_names_and_shape() {
    let pki = pki();
    let chain = pki.ca_chain(CaId::WebexClient);
    let root = inspect(&chain[0]).expect("root");
    let sub = inspect(&chain[1]).expect("sub");
    assert_eq!(root.subject_common_names, ["Internal Private Root"]);
    assert_eq!(sub.subject_common_names, ["Internal Private TLS SubCA"]);
    assert!(root.is_ca && sub.is_ca);
    assert_eq!(root.issuer, root.subject);
    assert_eq!(sub.issuer, root.subject);

    let leaf = pki.webex_client().info().expect("leaf");
    assert_eq!(leaf.subject_common_names, [WEBEX_CLIENT_CN]);
    assert_eq!(leaf.issuer, sub.subject);
    assert!(!leaf.has_san, "the Webex client cert has no SAN");
    assert_eq!(leaf.eku_oids, [CLIENT_AUTH, BROADWORKS_CLIENT_OID]);
    assert_eq!(pki.webex_trust_anchors(), chain.to_vec());
}

#[test]
fn proxy_client_comes_from_the_partner_ca_with_the_same_shape() {
    let pki = pki();
    let leaf = pki.proxy_client().info().expect("leaf");
    let partner = inspect(pki.ca_root(CaId::PartnerInternal)).expect("partner");
    assert_eq!(leaf.issuer, partner.subject);
    assert_eq!(leaf.subject_common_names, [WEBEX_CLIENT_CN]);
    assert!(leaf.has_broadworks_oid() && leaf.has_client_auth() && !leaf.has_san);
    // A one-level CA: the proxy sends only its leaf.
    assert_eq!(pki.proxy_client().chain().len(), 1);
}

#[test]
fn outbound_roots_carry_the_expected_names_and_issue_cloud_hosts() {
    let pki = pki();
    let identrust = inspect(pki.ca_root(CaId::IdenTrust)).expect("identrust");
    let godaddy = inspect(pki.ca_root(CaId::GoDaddyG2)).expect("godaddy");
    assert_eq!(
        identrust.subject_common_names,
        ["IdenTrust Commercial Root CA 1"]
    );
    assert_eq!(
        godaddy.subject_common_names,
        ["Go Daddy Root Certificate Authority - G2"]
    );
    let idbroker = pki
        .host("IDBROKER.webex.com")
        .expect("host lookup ignores case");
    assert_eq!(idbroker.anchor(), pki.ca_root(CaId::IdenTrust));
    let info = idbroker.info().expect("parse");
    assert_eq!(info.dns_sans, ["idbroker.webex.com"]);
    assert_eq!(
        pki.lab_trust_bundle(),
        vec![
            pki.ca_root(CaId::LabPublic).clone(),
            pki.ca_root(CaId::IdenTrust).clone(),
            pki.ca_root(CaId::GoDaddyG2).clone(),
        ]
    );
}

#[test]
fn device_certs_carry_the_mac_and_client_auth() {
    let pki = pki();
    let (mac, dev) = pki.devices().next().expect("device");
    assert_eq!(mac.to_string(), "001BD4AABBCC");
    let info = dev.info().expect("parse");
    assert_eq!(info.subject_common_names, ["CP-8841-3PCC-SEP001BD4AABBCC"]);
    assert_eq!(info.eku_oids, [CLIENT_AUTH]);
    assert!(!info.has_san);
    assert_eq!(mac_from_cert(dev.leaf()).expect("mac"), mac);
    assert_eq!(pki.device(mac).map(|d| d.leaf()), Some(dev.leaf()));

    let other = pki
        .issue_device_cert("a4-5e-60-00-11-22", Some("7841"))
        .expect("issue");
    let got = mac_from_cert(other.leaf()).expect("mac");
    assert_eq!(got, MacAddress::parse("A45E60001122").expect("mac"));
    assert_eq!(
        other.info().expect("parse").subject_common_names,
        ["CP-7841-SEPA45E60001122"]
    );
}

#[test]
fn mac_extraction_fails_cleanly_without_a_mac() {
    let pki = pki();
    let err = mac_from_cert(pki.webex_client().leaf()).expect_err("no MAC");
    assert!(matches!(err, PkiError::NoMacInSubject(_)), "{err}");
    assert!(matches!(
        mac_from_cert(b"not a certificate"),
        Err(PkiError::Parse(_))
    ));
}

#[test]
fn bad_variants_break_exactly_their_rule() {
    let pki = pki();
    let host = "xsp1.lab.example";
    for kind in BadCert::ALL {
        let bad = pki.bad_cert(kind).expect("bad cert");
        assert_eq!(bad.kind, kind);
        let info = bad.identity.info().expect("parse");
        match kind {
            BadCert::Expired => assert!(info.not_after < now()),
            BadCert::NotYetValid => assert!(info.not_before > now()),
            BadCert::SelfSigned => {
                assert_eq!(info.subject, info.issuer);
                assert_eq!(bad.identity.chain().len(), 1);
                assert_eq!(bad.identity.anchor(), bad.identity.leaf());
            }
            BadCert::WrongHost => {
                assert_eq!(info.dns_sans, [WRONG_HOST]);
                assert_eq!(bad.expected_host.as_deref(), Some(host));
            }
            BadCert::MissingIntermediate => {
                assert_eq!(bad.identity.chain().len(), 1);
                assert_eq!(info.dns_sans, [host]);
            }
            BadCert::ClientNoEkuOid => {
                assert_eq!(info.eku_oids, [CLIENT_AUTH]);
                assert!(!info.has_san);
            }
            BadCert::ClientWithSan => {
                assert!(info.has_san && info.has_broadworks_oid());
            }
            BadCert::Rsa1024 => {
                assert_eq!(
                    (info.public_key_type.as_str(), info.public_key_bits),
                    ("RSA", 1024)
                );
                assert_eq!(bad.identity.key_algorithm(), KeyAlgorithm::Rsa1024);
                assert!(info.has_server_auth());
            }
        }
        assert!(!kind.reason().is_empty() && !kind.peer_sees().is_empty());
    }
    let custom = pki
        .bad_cert_for_host(BadCert::Expired, "idbroker.webex.com")
        .expect("custom host");
    assert_eq!(
        custom.identity.info().expect("parse").dns_sans,
        ["idbroker.webex.com"]
    );
    assert!(matches!(
        pki.bad_cert_for_host(BadCert::Expired, "not a host"),
        Err(PkiError::InvalidDnsName { .. })
    ));
    // A node known by more names (its farm): only the defect is wrong, not the name.
    let farm = ["xsp.lab.example".to_owned()];
    let named = pki
        .bad_cert_for_names(BadCert::Expired, "xsp1.lab.example", &farm)
        .expect("with names");
    let sans = named.identity.info().expect("parse").dns_sans;
    assert!(
        sans.contains(&"xsp1.lab.example".to_owned()) && sans.contains(&farm[0]),
        "{sans:?}"
    );
    let wrong = pki
        .bad_cert_for_names(BadCert::WrongHost, "xsp1.lab.example", &farm)
        .expect("wrong host");
    assert!(
        !wrong
            .identity
            .info()
            .expect("parse")
            .dns_sans
            .contains(&farm[0])
    );
}

#[test]
fn bad_variant_names_round_trip() {
    for kind in BadCert::ALL {
        assert_eq!(kind.name().parse::<BadCert>().expect("parse"), kind);
        let json = serde_json::to_string(&kind).expect("serialize");
        assert_eq!(json, format!("\"{}\"", kind.name()));
        assert_eq!(
            serde_json::from_str::<BadCert>(&json).expect("deserialize"),
            kind
        );
    }
    assert!("rsa-512".parse::<BadCert>().is_err());
    for (alg, name) in [
        (KeyAlgorithm::EcdsaP256, "ecdsa-p256"),
        (KeyAlgorithm::EcdsaP384, "ecdsa-p384"),
        (KeyAlgorithm::Rsa2048, "rsa-2048"),
        (KeyAlgorithm::Rsa1024, "rsa-1024"),
    ] {
        assert_eq!(
            serde_json::to_string(&alg).expect("serialize"),
            format!("\"{name}\"")
        );
    }
    for (issuer, name) in [
        (ServerIssuer::LabPublic, "lab-public"),
        (ServerIssuer::PartnerInternal, "partner-internal"),
        (ServerIssuer::IdenTrust, "identrust"),
        (ServerIssuer::GoDaddyG2, "godaddy-g2"),
    ] {
        assert_eq!(
            serde_json::to_string(&issuer).expect("serialize"),
            format!("\"{name}\"")
        );
    }
}

#[test]
fn invalid_configurations_are_refused() {
    let base = || PkiConfig::new("xsp.lab.example", now());
    let cases: Vec<(&str, PkiConfig)> = vec![
        ("bad cluster domain", PkiConfig::new("not valid", now())),
        (
            "empty node name",
            base().with_node(NodeSpec::new("", "a.lab.example")),
        ),
        (
            "path in node name",
            base().with_node(NodeSpec::new("../x", "a.lab.example")),
        ),
        (
            "duplicate node",
            base()
                .with_node(NodeSpec::new("a", "a.lab.example"))
                .with_node(NodeSpec::new("a", "b.lab.example")),
        ),
        (
            "bad fqdn",
            base().with_node(NodeSpec::new("a", "a..example")),
        ),
        (
            "bad san",
            base().with_node(NodeSpec::new("a", "a.lab.example").with_san("x y")),
        ),
        ("bad mac", base().with_device(DeviceSpec::new("00:11:22"))),
        (
            "duplicate mac",
            base()
                .with_device(DeviceSpec::new("001122334455"))
                .with_device(DeviceSpec::new("00:11:22:33:44:55")),
        ),
        (
            "duplicate host",
            base()
                .with_host(HostSpec::new("a.webex.com", ServerIssuer::IdenTrust))
                .with_host(HostSpec::new("A.webex.com", ServerIssuer::GoDaddyG2)),
        ),
    ];
    for (what, cfg) in cases {
        let err = LabPki::generate(cfg).expect_err(what);
        println!("{what}: {err}");
    }
}

#[test]
fn config_round_trips_through_json() {
    let cfg = PkiConfig::example(now());
    let json = serde_json::to_string(&cfg).expect("serialize");
    assert!(json.contains("2031-05-04T12:00:00Z"), "{json}");
    let back: PkiConfig = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, cfg);

    // Minimal hand-written config: defaults fill the rest.
    let minimal: PkiConfig = serde_json::from_str(
        r#"{"cluster_domains":["xsp.lab.example"],"now":"2031-05-04T12:00:00Z",
            "nodes":[{"name":"xsp1","fqdn":"xsp1.lab.example","issuer":"partner-internal"}]}"#,
    )
    .expect("deserialize");
    assert_eq!(minimal.nodes[0].issuer, ServerIssuer::PartnerInternal);
    assert_eq!(minimal.nodes[0].key, KeyAlgorithm::EcdsaP256);
}

#[test]
fn export_layout_and_manifest() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("tempdir");
    let m = pki.export(dir.path()).expect("export");
    let root = dir.path();
    for rel in [
        "README.txt",
        "ca-bundle.pem",
        "ca/lab-public/root.pem",
        "ca/lab-public/issuing.pem",
        "ca/lab-public/chain.pem",
        "ca/partner-internal/root.pem",
        "ca/device-manufacturing/chain.pem",
        "webex/combined-chain.pem",
        "webex/client/cert.pem",
        "webex/client/key.pem",
        "webex/client/chain.pem",
        "partner/proxy-client/cert.pem",
        "nodes/xsp1/cert.pem",
        "nodes/xsp1/key.pem",
        "nodes/xsp1/chain.pem",
        "nodes/xsp2/chain.pem",
        "hosts/idbroker.webex.com/chain.pem",
        "devices/001BD4AABBCC/cert.pem",
        "bad/expired/cert.pem",
        "bad/rsa-1024/key.pem",
        "bad/client-with-san/trust.pem",
        "bad/missing-intermediate/reason.txt",
    ] {
        assert!(root.join(rel).is_file(), "missing {rel}");
    }
    assert!(!root.join("ca/partner-internal/issuing.pem").exists());

    // chain.pem of a node: leaf, then intermediate.
    let chain = bwlab_pki::pem::decode_certs(
        &std::fs::read_to_string(root.join("nodes/xsp1/chain.pem")).expect("read"),
    )
    .expect("pem");
    assert_eq!(chain, pki.node("xsp1").expect("xsp1").chain());
    // The missing-intermediate folder presents only the leaf.
    let chain = bwlab_pki::pem::decode_certs(
        &std::fs::read_to_string(root.join("bad/missing-intermediate/chain.pem")).expect("read"),
    )
    .expect("pem");
    assert_eq!(chain.len(), 1);
    // Keys load back.
    let key = std::fs::read_to_string(root.join("nodes/xsp1/key.pem")).expect("read");
    bwlab_pki::pem::decode_private_key(&key).expect("key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.join("nodes/xsp1/key.pem"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
    }

    let readme = std::fs::read_to_string(&m.readme).expect("readme");
    for kind in BadCert::ALL {
        assert!(readme.contains(kind.name()), "README lacks {kind}");
    }
    assert!(readme.contains("openssl verify"));

    let json = serde_json::to_value(&m).expect("manifest serializes");
    assert_eq!(json["nodes"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        json["bad"].as_array().map(Vec::len),
        Some(BadCert::ALL.len())
    );
    assert_eq!(json["bad"][0]["variant"], "expired");
    assert_eq!(json["cas"][1]["id"], "webex-client");
    assert_eq!(m.devices[0].mac.to_string(), "001BD4AABBCC");

    // Exporting twice into the same directory overwrites cleanly.
    pki.export(dir.path()).expect("second export");
}
