//! Exports the lab PKI and checks every file with the `openssl verify` binary: good
//! certificates must verify, bad variants must fail with their stated reason.
//!
//! The two BroadWorks client variants (`client-no-eku-oid`, `client-with-san`) are fine as far
//! as X.509 path validation goes, so OpenSSL accepts them; the test asserts that, and that the
//! crate's own BroadWorks checker refuses them.

use std::path::Path;
use std::process::Command;

use bwlab_pki::{
    BadCert, CaId, CertRole, ClientCertRejection, ExportManifest, LabPki, NodeSpec, PkiConfig,
    ServerIssuer, check_broadworks_client_cert, pem,
};

fn openssl_available() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => {
            println!("using {}", String::from_utf8_lossy(&out.stdout).trim());
            true
        }
        _ => false,
    }
}

/// Runs `openssl verify` and returns (success, combined output).
fn verify(args: &[&str], cert: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .arg("verify")
        .args(args)
        .arg(cert)
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// OpenSSL spellings differ slightly between versions ("self signed" / "self-signed",
/// "Hostname mismatch" / "hostname mismatch"): compare loosely.
fn normalise(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', " ")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

fn setup() -> (tempfile::TempDir, LabPki, ExportManifest, String) {
    let now = time::OffsetDateTime::now_utc();
    let cfg = PkiConfig::example(now).with_node(
        NodeSpec::new("xsp3", "xsp3.lab.example").issued_by(ServerIssuer::PartnerInternal),
    );
    let pki = LabPki::generate(cfg).expect("generate");
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = pki.export(dir.path()).expect("export");
    let attime = now.unix_timestamp().to_string();
    (dir, pki, manifest, attime)
}

fn ca_root(manifest: &ExportManifest, id: CaId) -> &Path {
    &manifest
        .cas
        .iter()
        .find(|c| c.id == id)
        .expect("every CA is exported")
        .root
}

#[test]
fn openssl_accepts_every_good_certificate() {
    if !openssl_available() {
        println!("SKIPPED: `openssl` is not on PATH; install it to run this test");
        return;
    }
    let (_dir, _pki, m, attime) = setup();
    let base = [
        "-x509_strict",
        "-auth_level",
        "2",
        "-attime",
        attime.as_str(),
    ];

    let mut checked = 0;
    let mut ok = |extra: &[&str], cert: &Path, what: &str| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        let (success, text) = verify(&args, cert);
        assert!(success, "{what}: openssl verify failed:\n{text}");
        assert!(text.contains(": OK"), "{what}: {text}");
        checked += 1;
    };

    // Nodes: own FQDN and cluster domain.
    for node in &m.nodes {
        let ca = match node.issuer {
            ServerIssuer::PartnerInternal => ca_root(&m, CaId::PartnerInternal),
            _ => m.ca_bundle.as_path(),
        };
        for host in [node.fqdn.as_str(), "xsp.lab.example"] {
            ok(
                &[
                    "-CAfile",
                    p(ca),
                    "-untrusted",
                    p(&node.files.chain),
                    "-purpose",
                    "sslserver",
                    "-verify_hostname",
                    host,
                ],
                &node.files.cert,
                &format!("node {} as {host}", node.name),
            );
        }
    }
    // Cloud hosts chain to the outbound roots in ca-bundle.pem.
    for host in &m.hosts {
        ok(
            &[
                "-CAfile",
                p(&m.ca_bundle),
                "-untrusted",
                p(&host.files.chain),
                "-purpose",
                "sslserver",
                "-verify_hostname",
                &host.fqdn,
            ],
            &host.files.cert,
            &format!("host {}", host.fqdn),
        );
    }
    // Webex client: against the root alone, and against the combined chain as anchors.
    for ca in [
        ca_root(&m, CaId::WebexClient),
        m.webex_combined_chain.as_path(),
    ] {
        ok(
            &[
                "-CAfile",
                p(ca),
                "-untrusted",
                p(&m.webex_client.chain),
                "-purpose",
                "sslclient",
            ],
            &m.webex_client.cert,
            "webex client",
        );
    }
    ok(
        &[
            "-CAfile",
            p(ca_root(&m, CaId::PartnerInternal)),
            "-untrusted",
            p(&m.proxy_client.chain),
            "-purpose",
            "sslclient",
        ],
        &m.proxy_client.cert,
        "proxy client",
    );
    for dev in &m.devices {
        ok(
            &[
                "-CAfile",
                p(ca_root(&m, CaId::DeviceManufacturing)),
                "-untrusted",
                p(&dev.files.chain),
                "-purpose",
                "sslclient",
            ],
            &dev.files.cert,
            &format!("device {}", dev.mac),
        );
    }
    // Each CA's issuing certificate verifies against its root.
    for ca in &m.cas {
        if let Some(issuing) = &ca.issuing {
            ok(&["-CAfile", p(&ca.root)], issuing, &format!("CA {}", ca.id));
        }
    }
    assert_eq!(checked, 6 + 1 + 2 + 1 + 1 + 5, "number of checks");
}

#[test]
fn webex_combined_chain_is_root_first_then_subca() {
    let (_dir, pki, m, _) = setup();
    let text = std::fs::read_to_string(&m.webex_combined_chain).expect("read");
    let certs = pem::decode_certs(&text).expect("pem");
    assert_eq!(certs.len(), 2);
    let root = bwlab_pki::inspect(&certs[0]).expect("root");
    let sub = bwlab_pki::inspect(&certs[1]).expect("sub");
    assert_eq!(root.subject_common_names, ["Internal Private Root"]);
    assert_eq!(root.subject, root.issuer, "root is self-signed");
    assert_eq!(sub.subject_common_names, ["Internal Private TLS SubCA"]);
    assert_eq!(sub.issuer, root.subject);
    assert_eq!(certs.as_slice(), pki.ca_chain(CaId::WebexClient));
}

#[test]
fn openssl_rejects_every_bad_variant_for_its_stated_reason() {
    if !openssl_available() {
        println!("SKIPPED: `openssl` is not on PATH; install it to run this test");
        return;
    }
    let (_dir, _pki, m, attime) = setup();
    assert_eq!(m.bad.len(), BadCert::ALL.len());
    for bad in &m.bad {
        let mut args: Vec<&str> = vec![
            "-auth_level",
            "2",
            "-attime",
            attime.as_str(),
            "-CAfile",
            p(&bad.trust),
            "-untrusted",
            p(&bad.files.chain),
        ];
        match bad.role {
            CertRole::Server => {
                args.extend_from_slice(&["-purpose", "sslserver", "-verify_hostname"]);
                args.push(
                    bad.expected_host
                        .as_deref()
                        .expect("server variant has a host"),
                );
            }
            CertRole::Client => args.extend_from_slice(&["-purpose", "sslclient"]),
        }
        let (success, text) = verify(&args, &bad.files.cert);
        println!("--- {} ---\n{}", bad.variant, text.trim());
        match bad.variant.openssl_error() {
            Some(expected) => {
                assert!(!success, "{}: openssl accepted it:\n{text}", bad.variant);
                assert!(
                    normalise(&text).contains(&normalise(expected)),
                    "{}: expected {expected:?} in:\n{text}",
                    bad.variant
                );
            }
            None => {
                // OpenSSL cannot know the BroadWorks rules: path validation passes...
                assert!(success, "{}: chain should be valid:\n{text}", bad.variant);
                // ...and the crate's checker refuses it for the stated reason.
                let der =
                    pem::decode_certs(&std::fs::read_to_string(&bad.files.cert).expect("read"))
                        .expect("pem")
                        .remove(0);
                let rejection = check_broadworks_client_cert(&der).expect_err("must be refused");
                match bad.variant {
                    BadCert::ClientNoEkuOid => {
                        assert_eq!(rejection, ClientCertRejection::MissingBroadWorksOid)
                    }
                    BadCert::ClientWithSan => assert!(
                        matches!(rejection, ClientCertRejection::HasSubjectAltName(_)),
                        "{rejection}"
                    ),
                    other => panic!("{other} should be visible to openssl"),
                }
            }
        }
    }
}

#[test]
fn good_client_certs_pass_the_broadworks_checker() {
    let (_dir, pki, m, _) = setup();
    for path in [&m.webex_client.cert, &m.proxy_client.cert] {
        let der = pem::decode_certs(&std::fs::read_to_string(path).expect("read"))
            .expect("pem")
            .remove(0);
        check_broadworks_client_cert(&der).expect("follows the rules");
    }
    check_broadworks_client_cert(pki.webex_client().leaf()).expect("in memory too");
}
