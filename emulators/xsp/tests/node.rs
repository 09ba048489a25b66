//! The node itself: TLS and mTLS listeners, routing and error bodies, the journal,
//! shutdown, and robustness against hostile PUT bodies.

mod common;

use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_pki::{ClientOptions, TlsVersions};
use bwlab_xsp::{Interface, WebAppClientAuth, XSI_ACTIONS_ROOT, XspSettings};
use common::{BASE, Client, Lab, LabOptions, user_path};
use hyper::Method;
use proptest::prelude::*;

const WAIT: Duration = Duration::from_secs(5);

async fn try_get(client: Result<Client, std::io::Error>, path: &str) -> Result<u16, String> {
    let mut c = client.map_err(|e| format!("connect: {e}"))?;
    c = c.with_auth("alice@lab.example", "Alice-pw1");
    c.request(Method::GET, path, &[], bytes::Bytes::new())
        .await
        .map(|r| r.status)
        .map_err(|e| format!("request: {e}"))
}

#[tokio::test]
async fn tls12_and_tls13_accepted_on_https() {
    let lab = Lab::start().await;
    for versions in [TlsVersions::Tls12Only, TlsVersions::Tls13Only] {
        let mut opts = ClientOptions::new(lab.pki.lab_trust_bundle());
        opts.versions = versions;
        opts.key_log = false;
        let cfg = bwlab_pki::client_config(&opts).unwrap();
        let c = Client::connect(lab.xsp.https_addr(), cfg).await;
        assert_eq!(
            try_get(c, &user_path("alice@lab.example", "profile")).await,
            Ok(200),
            "{versions:?}"
        );
    }
}

#[tokio::test]
async fn tls11_is_refused() {
    let lab = Lab::start().await;
    let addr = lab.xsp.https_addr();
    let out = tokio::process::Command::new("openssl")
        .args([
            "s_client",
            "-tls1_1",
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-connect",
        ])
        .arg(addr.to_string())
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    let Ok(out) = out else {
        println!("skip: openssl is not on PATH");
        return;
    };
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "TLS 1.1 handshake succeeded:\n{text}"
    );
    // s_client prints the offered protocol even when nothing was negotiated.
    assert!(
        text.contains("Cipher is (NONE)") || text.contains("alert"),
        "{text}"
    );
    let e = lab
        .journal
        .wait_for(&Filter::kind(Kind::Tls).attr("interface", "https"), WAIT)
        .await
        .expect("refused handshake journalled");
    assert_eq!(e.attr("outcome"), Some("refused"));
}

#[tokio::test]
async fn mtls_requires_the_webex_client_chain() {
    let lab = Lab::start().await;
    let addr = lab.xsp.mtls_addr().expect("mtls listener");
    let path = user_path("alice@lab.example", "profile");

    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    assert_eq!(
        try_get(Client::connect(addr, webex).await, &path).await,
        Ok(200)
    );

    let none = lab.client_config(None);
    assert!(
        try_get(Client::connect(addr, none).await, &path)
            .await
            .is_err()
    );
    let wrong_ca = lab.client_config(Some(lab.pki.proxy_client().clone()));
    assert!(
        try_get(Client::connect(addr, wrong_ca).await, &path)
            .await
            .is_err()
    );

    let filter = Filter::kind(Kind::Tls).attr("interface", "https-mtls");
    lab.journal
        .wait_for(&filter, WAIT)
        .await
        .expect("journalled");
    let deadline = tokio::time::Instant::now() + WAIT;
    while lab.journal.query(&filter).len() < 2 && tokio::time::Instant::now() < deadline {
        let seq = lab.journal.next_seq();
        let _ = lab.journal.wait_for(&filter.clone().since(seq), WAIT).await;
    }
    assert_eq!(lab.journal.query(&filter).len(), 2);

    // The plain https listener needs no certificate.
    let c = Client::connect(lab.xsp.https_addr(), lab.client_config(None)).await;
    assert_eq!(try_get(c, &path).await, Ok(200));
}

#[tokio::test]
async fn per_webapp_client_auth_needs_the_profile_feature() {
    let relaxed = XspSettings {
        webapp_client_auth: vec![WebAppClientAuth {
            interface: Interface::HttpsMtls,
            context_path: XSI_ACTIONS_ROOT.into(),
            required: false,
        }],
        ..Default::default()
    };
    let path = user_path("alice@lab.example", "profile");
    // r24 supports authservice_webapp_client_auth: the override lets a client without a
    // certificate reach Xsi-Actions on the mTLS interface.
    let lab = Lab::start_with(LabOptions {
        profile: "r24",
        settings: relaxed.clone(),
        ..Default::default()
    })
    .await;
    let c = Client::connect(lab.xsp.mtls_addr().unwrap(), lab.client_config(None)).await;
    assert_eq!(try_get(c, &path).await, Ok(200));
    // r22 does not: the interface setting wins.
    let lab = Lab::start_with(LabOptions {
        profile: "r22",
        settings: relaxed,
        ..Default::default()
    })
    .await;
    let c = Client::connect(lab.xsp.mtls_addr().unwrap(), lab.client_config(None)).await;
    assert!(try_get(c, &path).await.is_err());

    // Requiring a certificate for one web app on the plain interface: 403 without one.
    let lab = Lab::start_with(LabOptions {
        profile: "r24",
        settings: XspSettings {
            webapp_client_auth: vec![WebAppClientAuth {
                interface: Interface::Https,
                context_path: XSI_ACTIONS_ROOT.into(),
                required: true,
            }],
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let c = Client::connect(lab.xsp.https_addr(), lab.client_config(None)).await;
    assert_eq!(try_get(c, &path).await, Ok(403));
    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    let c = Client::connect(lab.xsp.https_addr(), webex).await;
    assert_eq!(try_get(c, &path).await, Ok(200));
}

#[tokio::test]
async fn routing_and_error_bodies() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");

    // Case-insensitive segments, several requests on one keep-alive connection.
    let r = c
        .get("/COM.BROADSOFT.XSI-ACTIONS/V2.0/USER/alice@lab.example/SERVICES/donotdisturb")
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    let r = c.get(&user_path("alice@lab.example", "nothing/here")).await;
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.text().contains("<ErrorInfo"), "{r:?}");
    let r = c.get("/no/such/app").await;
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.text().contains("<errorCode>3001</errorCode>"), "{r:?}");
    let r = c
        .get(&format!(
            "{BASE}/user/alice@lab.example/services/VoiceMessaging"
        ))
        .await;
    assert_eq!(r.status, 404, "not served by this build: {r:?}");

    let r = c
        .request(
            Method::DELETE,
            &user_path("alice@lab.example", "services/DoNotDisturb"),
            &[],
            "",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.header("allow"), Some("GET, PUT"));
    assert!(r.text().contains("<errorCode>3003</errorCode>"));
    let r = c
        .request(
            Method::PUT,
            &user_path("alice@lab.example", "profile"),
            &[],
            "",
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));

    for app in bwlab_xsp::RESERVED_WEBAPPS {
        let r = c.get(&format!("{app}/v2.0/whatever")).await;
        assert_eq!(r.status, 501, "{app}: {r:?}");
        assert!(
            r.text().contains("not deployed in this lab build"),
            "{app}: {r:?}"
        );
    }

    // Malformed bodies: 400 with the parser's message; JSON errors in JSON.
    let dnd = user_path("alice@lab.example", "services/DoNotDisturb");
    let r = c
        .put(
            &dnd,
            &[],
            "<DoNotDisturb xmlns=\"http://schema.broadsoft.com/xsi\"><active>",
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("<errorCode>1000</errorCode>"), "{r:?}");
    let r = c.put(&format!("{dnd}?format=json"), &[], "{oops").await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().starts_with("{\"ErrorInfo\""), "{r:?}");
    let r = c
        .put(
            &dnd,
            &[],
            "<Wrong xmlns=\"http://schema.broadsoft.com/xsi\"/>",
        )
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    let r = c.put(&dnd, &[], "").await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("<errorCode>1004</errorCode>"), "{r:?}");
    // Unassigned service.
    let mut bob = lab.client().await.with_auth("bob@lab.example", "Bob-pw1");
    let r = bob
        .get(&user_path(
            "bob@lab.example",
            "services/CallForwardingAlways",
        ))
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("<errorCode>3004</errorCode>"), "{r:?}");

    // Oversized body: 413 ErrorInfo, on a fresh connection (the server may close it).
    let big = format!(
        "<DoNotDisturb xmlns=\"http://schema.broadsoft.com/xsi\">{}</DoNotDisturb>",
        " ".repeat(bwlab_xsp::DEFAULT_MAX_BODY)
    );
    let mut c2 = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let r = c2
        .request(Method::PUT, &dnd, &[], big)
        .await
        .expect("413 answer");
    assert_eq!(r.status, 413, "{r:?}");
    assert!(r.text().contains("<errorCode>1002</errorCode>"), "{r:?}");
}

#[tokio::test]
async fn requests_are_journalled() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let body = "<DoNotDisturb xmlns=\"http://schema.broadsoft.com/xsi\"><active>true</active></DoNotDisturb>";
    c.put(
        &user_path("alice@lab.example", "services/DoNotDisturb"),
        &[],
        body,
    )
    .await;
    let e = lab
        .journal
        .query(&Filter::kind(Kind::Http).attr("method", "PUT"))
        .pop()
        .expect("journalled");
    assert_eq!(e.node.as_ref(), "xsp1");
    assert_eq!(e.attr("status"), Some("200"));
    assert_eq!(e.attr("user"), Some("alice@lab.example"));
    assert_eq!(
        e.attr("path"),
        Some("/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/services/DoNotDisturb")
    );
    assert!(e.peer.is_some());
    assert_eq!(e.body_text().as_deref(), Some(body));
    assert!(e.summary.ends_with("→ 200"), "{}", e.summary);
}

#[tokio::test]
async fn connections_are_bounded_per_listener() {
    let lab = Lab::start_with(LabOptions {
        settings: XspSettings {
            max_connections: 1,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let path = user_path("alice@lab.example", "profile");
    let mut first = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    assert_eq!(first.get(&path).await.status, 200);
    // The second client's handshake cannot complete while the first holds the only slot.
    let second = Client::connect(lab.xsp.https_addr(), lab.client_config(None));
    tokio::pin!(second);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), second.as_mut())
            .await
            .is_err(),
        "second connection served beyond the limit"
    );
    drop(first);
    let second = tokio::time::timeout(WAIT, second)
        .await
        .expect("admitted")
        .unwrap();
    assert_eq!(try_get(Ok(second), &path).await, Ok(200));
}

#[tokio::test]
async fn graceful_shutdown() {
    let lab = Lab::start().await;
    let addr = lab.xsp.https_addr();
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    assert_eq!(
        c.get(&user_path("alice@lab.example", "profile"))
            .await
            .status,
        200
    );
    let Lab { xsp, journal, .. } = lab;
    tokio::time::timeout(WAIT, xsp.shutdown())
        .await
        .expect("drains");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(journal.entries().iter().any(|e| e.summary == "XSP down"));
}

#[test]
fn random_dnd_bodies_never_yield_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let lab = rt.block_on(Lab::start());
    let client = tokio::sync::Mutex::new(
        rt.block_on(lab.client())
            .with_auth("alice@lab.example", "Alice-pw1"),
    );
    let path = user_path("alice@lab.example", "services/DoNotDisturb");
    let bodies = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "<DoNotDisturb xmlns=\"http://schema.broadsoft.com/xsi\">[a-zA-Z<>/=\" :&;]{0,60}</DoNotDisturb>",
        "\\{\"DoNotDisturb\":[\\{\\}\\[\\]\"a-z:$@0-9, ]{0,60}\\}",
    ];
    let content_types = prop_oneof![
        Just("application/xml"),
        Just("application/json"),
        Just("text/plain; charset=UTF-16"),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&(bodies, content_types), |(body, ct)| {
            let r = rt.block_on(async {
                let mut c = client.lock().await;
                c.put(&path, &[("content-type", ct)], &body).await
            });
            prop_assert!(r.status < 500, "{r:?} for {body:?}");
            prop_assert!(r.status == 200 || r.text().contains("ErrorInfo"), "{r:?}");
            Ok(())
        })
        .unwrap();
}

/// A third-party client (curl) against the node, the way docs/xsp.md shows it.
#[tokio::test]
async fn curl_interop() {
    let lab = Lab::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca-bundle.pem");
    let pem = bwlab_pki::pem::encode_certs(&lab.pki.lab_trust_bundle());
    std::fs::write(&ca, pem).unwrap();
    let addr = lab.xsp.https_addr();
    let url = format!(
        "https://{}:{}{}",
        common::SERVER_NAME,
        addr.port(),
        user_path("alice@lab.example", "services/DoNotDisturb?format=json")
    );
    let out = tokio::process::Command::new("curl")
        .arg("-sS")
        .arg("--cacert")
        .arg(&ca)
        .arg("--resolve")
        .arg(format!(
            "{}:{}:{}",
            common::SERVER_NAME,
            addr.port(),
            addr.ip()
        ))
        .args(["-u", "alice@lab.example:Alice-pw1", "-w", "\n%{http_code}"])
        .arg(&url)
        .output()
        .await;
    let Ok(out) = out else {
        println!("skip: curl is not on PATH");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("{\"DoNotDisturb\""), "{text}");
    assert!(text.ends_with("\n200"), "{text}");
}
