//! The LB in front of two real XSP nodes: the XSP's own `JSESSIONID` pins the client.

use std::time::Duration;

use bwlab_core::{Filter, Journal, Kind, LabClock};
use bwlab_lb::{Affinity, LoadBalancer};
use bwlab_model::{AuthEncoding, Store, encode_basic};
use bwlab_pki::rustls::pki_types::ServerName;
use bwlab_pki::{ClientOptions, LabPki, NodeSpec, PkiConfig};
use bwlab_profiles::Profiles;
use bwlab_xsp::{XspHandle, XspNode};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, COOKIE, HOST, SET_COOKIE};
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;
use tokio::net::TcpStream;

const LAB: &str = r#"
enterprises:
  - id: acme
    defaultDomain: lab.example
    groups:
      - {id: hq}
users:
  - userId: alice@lab.example
    group: hq
    firstName: Alice
    lastName: Liddell
    password: Alice-pw1
    services: [doNotDisturb]
"#;

const PROFILE: &str = "/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/profile";

async fn xsp(
    name: &str,
    pki: &LabPki,
    store: &Store,
    clock: &LabClock,
    journal: &Journal,
) -> XspHandle {
    let profile = Profiles::builtin().get("r24").unwrap().clone();
    XspNode::builder(name)
        .identity(pki.node(name).unwrap().clone())
        .store(store.clone())
        .profile(profile)
        .journal(journal.clone())
        .clock(clock.clone())
        .mtls_addr(None)
        .start()
        .await
        .expect("xsp starts")
}

/// GET the profile like the Webex App: Basic credentials plus the session cookie once it has one.
/// Returns the serving XSP (from the journal) and the `Set-Cookie` value, if any.
async fn get(
    sender: &mut SendRequest<Empty<Bytes>>,
    cookie: &mut Option<String>,
    journal: &Journal,
) -> (String, Option<String>) {
    let since = journal.next_seq();
    let mut req = Request::get(PROFILE)
        .header(HOST, "xsp.lab.example")
        .header(
            AUTHORIZATION,
            encode_basic("alice@lab.example", "Alice-pw1", AuthEncoding::Utf8).unwrap(),
        );
    if let Some(c) = cookie.as_deref() {
        req = req.header(COOKIE, c);
    }
    let resp = sender
        .send_request(req.body(Empty::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let set = resp
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    if let Some(s) = &set {
        *cookie = Some(s.clone());
    }
    resp.into_body().collect().await.unwrap();
    let entry = journal
        .query(&Filter::kind(Kind::Http).node("lb1").since(since))
        .pop()
        .expect("journalled by the LB");
    (entry.attr("backend").unwrap().to_owned(), set)
}

#[tokio::test]
async fn xsp_session_cookie_keeps_the_app_on_one_xsp() {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let clock = LabClock::frozen_at(now);
    let pki = LabPki::generate(
        PkiConfig::example(now).with_node(NodeSpec::new("lb1", "xsp.lab.example")),
    )
    .unwrap();
    let store = Store::from_yaml_str(LAB, "lb-lab.yaml", clock.clone()).unwrap();
    let journal = Journal::new(clock.clone());
    let xsp1 = xsp("xsp1", &pki, &store, &clock, &journal).await;
    let xsp2 = xsp("xsp2", &pki, &store, &clock, &journal).await;
    let lb = LoadBalancer::builder("lb1")
        .backends([
            ("xsp1", xsp1.https_addr(), "xsp1.lab.example"),
            ("xsp2", xsp2.https_addr(), "xsp2.lab.example"),
        ])
        .identity(pki.node("lb1").unwrap().clone())
        .trust(pki.lab_trust_bundle())
        .journal(journal.clone())
        .start()
        .await
        .unwrap();

    let tls = bwlab_pki::client_config(&ClientOptions::new(pki.lab_trust_bundle())).unwrap();
    let tcp = TcpStream::connect(lb.addr()).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from("xsp.lab.example").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);

    // With the XSP's cookie learned, the session stays on one XSP: no new session anywhere.
    let mut cookie = None;
    let (first, set) = get(&mut sender, &mut cookie, &journal).await;
    assert!(set.is_some_and(|c| c.starts_with("JSESSIONID=")));
    for _ in 0..4 {
        let (backend, set) = get(&mut sender, &mut cookie, &journal).await;
        assert_eq!(backend, first);
        assert_eq!(set, None, "the owning XSP knows the session");
    }

    // Without affinity the other XSP sees a session it does not know and starts its own.
    lb.set_affinity(Affinity::Off);
    let mut new_sessions = 0;
    let mut backends = Vec::new();
    for _ in 0..4 {
        let (backend, set) = get(&mut sender, &mut cookie, &journal).await;
        new_sessions += usize::from(set.is_some());
        backends.push(backend);
    }
    assert!(backends.contains(&"xsp1".to_owned()) && backends.contains(&"xsp2".to_owned()));
    assert!(
        new_sessions >= 1,
        "sessions churn between XSPs: {backends:?}"
    );

    lb.shutdown().await;
    tokio::time::timeout(Duration::from_secs(10), async {
        xsp1.shutdown().await;
        xsp2.shutdown().await;
    })
    .await
    .unwrap();
}
