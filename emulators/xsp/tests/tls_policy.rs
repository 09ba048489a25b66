//! The cipher policy of the XSP listeners comes from the release profile (`tls.ciphers`) unless
//! the node overrides it; a client offering only suites outside the policy fails the handshake,
//! and OpenSSL-style names are refused before anything listens.

mod common;

use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_pki::{CipherPolicy, ClientOptions, TlsVersions};
use bwlab_profiles::Profiles;
use bwlab_xsp::{XspError, XspNode, XspSettings};
use common::{Client, Lab, LabOptions, user_path};
use hyper::Method;

const WAIT: Duration = Duration::from_secs(5);

fn named(names: &[&str]) -> CipherPolicy {
    CipherPolicy::Named(names.iter().map(|n| (*n).to_owned()).collect())
}

/// Connects with a TLS 1.2 client offering exactly `offer`, then GETs the profile.
async fn get_with_offer(lab: &Lab, offer: &[&str]) -> Result<u16, String> {
    let mut opts = ClientOptions::new(lab.pki.lab_trust_bundle());
    opts.versions = TlsVersions::Tls12Only;
    opts.ciphers = named(offer);
    opts.key_log = false;
    let cfg = bwlab_pki::client_config(&opts).map_err(|e| format!("client config: {e}"))?;
    let c = Client::connect(lab.xsp.https_addr(), cfg)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let mut c = c.with_auth("alice@lab.example", "Alice-pw1");
    c.request(
        Method::GET,
        &user_path("alice@lab.example", "profile"),
        &[],
        bytes::Bytes::new(),
    )
    .await
    .map(|r| r.status)
    .map_err(|e| format!("request: {e}"))
}

const AES128: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
];
const AES256: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
];
const CHACHA: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

#[tokio::test]
async fn profile_list_decides_what_a_tls12_client_may_offer() {
    // r24's list is the fresh-install default: of its TLS 1.2 suites rustls serves only
    // ECDHE + AES-128-GCM.
    let lab = Lab::start().await;
    assert_eq!(get_with_offer(&lab, AES128).await, Ok(200));
    for offer in [CHACHA, AES256] {
        let seq = lab.journal.next_seq();
        let r = get_with_offer(&lab, offer).await;
        assert!(
            r.as_ref().is_err_and(|e| e.starts_with("handshake")),
            "{offer:?}: {r:?}"
        );
        let e = lab
            .journal
            .wait_for(
                &Filter::kind(Kind::Tls)
                    .attr("interface", "https")
                    .since(seq),
                WAIT,
            )
            .await
            .expect("refused handshake journalled");
        assert_eq!(e.attr("outcome"), Some("refused"));
    }
}

#[tokio::test]
async fn node_setting_overrides_the_profile() {
    let lab = Lab::start_with(LabOptions {
        settings: XspSettings {
            ciphers: Some(named(&[
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            ])),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert_eq!(get_with_offer(&lab, AES256).await, Ok(200));
    assert!(get_with_offer(&lab, AES128).await.is_err());
}

#[test]
fn cipher_policy_follows_the_profile_file() {
    let mut profiles = Profiles::builtin();
    profiles
        .load_str(
            "narrow.toml",
            "name = \"r24-narrow\"\nextends = \"r24\"\n[tls]\nciphers = [\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\"]\n",
        )
        .unwrap();
    let narrow = profiles.get("r24-narrow").unwrap();
    let settings = XspSettings::default();
    assert_eq!(
        settings.cipher_policy(narrow),
        named(&["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"])
    );
    let r22 = profiles.get("r22").unwrap();
    match settings.cipher_policy(r22) {
        CipherPolicy::Named(n) => assert_eq!(n, r22.tls().ciphers.clone().unwrap()),
        other => panic!("{other:?}"),
    }
    let explicit = XspSettings {
        ciphers: Some(CipherPolicy::CiscoCompliant),
        ..Default::default()
    };
    assert_eq!(explicit.cipher_policy(r22), CipherPolicy::CiscoCompliant);
}

#[tokio::test]
async fn openssl_cipher_name_is_refused_at_start() {
    let lab = Lab::start().await;
    let profile = Profiles::builtin().get("r24").unwrap().clone();
    let err = XspNode::builder("xsp9")
        .identity(lab.pki.node("xsp1").unwrap().clone())
        .store(lab.store.clone())
        .profile(profile)
        .settings(XspSettings {
            ciphers: Some(named(&["ECDHE-RSA-AES128-GCM-SHA256"])),
            client_trust_anchors: lab.pki.webex_trust_anchors(),
            ..Default::default()
        })
        .start()
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, XspError::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("\"ECDHE-RSA-AES128-GCM-SHA256\" is an OpenSSL-style cipher name")
            && text.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "{text}"
    );
}
