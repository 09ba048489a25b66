//! Run-time drift on a running node, over real sockets: non-shared AuthService keys, a
//! mismatched `callControlApplicationName`, the missing AuthService URL, a removed trust
//! anchor, a bad server certificate, TLS 1.3 only and clock skew — each injected on one node
//! of a two-node farm, checked for its effect, then reverted and checked for recovery.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_pki::rustls::ClientConfig;
use bwlab_pki::{BadCert, CaId, ClientOptions, Identity, TlsVersions};
use bwlab_xsi::documents::events::Event;
use bwlab_xsp::{
    AuthKeys, AuthServiceMode, AuthServiceSettings, EventsSettings, XspHandle, XspNode, XspSettings,
};
use common::stream::{ASYNC_CHANNEL, EventStream};
use common::{Client, Lab, LabOptions, SERVER_NAME, basic, user_path};
use hyper::Method;
use serde_json::Value;

const TOKEN_PATH: &str = "/authService/token";
const EV: &str = "/com.broadsoft.xsi-events/v2.0";
const ALICE: (&str, &str) = ("alice@lab.example", "Alice-pw1");
const WAIT: Duration = Duration::from_secs(30);

/// One key set for the whole test binary (RSA key generation is slow).
fn farm_keys() -> AuthKeys {
    static KEYS: OnceLock<AuthKeys> = OnceLock::new();
    KEYS.get_or_init(AuthKeys::new).clone()
}

fn basic_authservice() -> XspSettings {
    XspSettings {
        authservice: Some(AuthServiceSettings::new(
            farm_keys(),
            AuthServiceMode::Basic,
        )),
        ..Default::default()
    }
}

/// A second node on the same store, clock, journal, AS and certificate as `lab`'s.
async fn second_node(lab: &Lab, name: &str, mut settings: XspSettings) -> XspHandle {
    settings.client_trust_anchors = lab.pki.webex_trust_anchors();
    let mut b = XspNode::builder(name)
        .identity(lab.pki.node("xsp1").expect("identity").clone())
        .store(lab.store.clone())
        .profile(lab.profile.clone())
        .journal(lab.journal.clone())
        .clock(lab.clock.clone())
        .settings(settings);
    if let Some(a) = &lab.app_server {
        b = b.app_server(a.clone()).events(EventsSettings::default());
    }
    b.start().await.expect("second node starts")
}

async fn client_to(lab: &Lab, addr: SocketAddr) -> Client {
    Client::connect(addr, lab.client_config(None))
        .await
        .expect("connect")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A token for Alice from `addr`'s AuthService (Basic mode).
async fn token_from(lab: &Lab, addr: SocketAddr) -> String {
    let mut c = client_to(lab, addr).await;
    let r = c
        .get_with(TOKEN_PATH, &[("authorization", &basic(ALICE.0, ALICE.1))])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let v: Value = serde_json::from_slice(&r.body).expect("json");
    v["token"].as_str().expect("token").to_owned()
}

/// Alice's profile with `token` on `addr`: the reply.
async fn profile_with(lab: &Lab, addr: SocketAddr, token: &str) -> common::Reply {
    let mut c = client_to(lab, addr).await;
    c.get_with(
        &user_path(ALICE.0, "profile"),
        &[("authorization", &bearer(token))],
    )
    .await
}

/// A 401 with the Basic challenge and the "invalid credentials" `ErrorInfo` (2001), and the
/// journal's `auth` reason on `node`.
async fn assert_refused(lab: &Lab, r: &common::Reply, node: &str, reason: &str) {
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic")),
        "{r:?}"
    );
    let text = r.text();
    assert!(text.contains("ErrorInfo"), "{text}");
    assert!(text.contains("<errorCode>2001</errorCode>"), "{text}");
    let f = Filter::kind(Kind::Http).node(node).attr("auth", reason);
    assert!(
        lab.journal.wait_for(&f, WAIT).await.is_some(),
        "journal auth={reason} on {node}"
    );
}

fn fault_entries(lab: &Lab, node: &str, fault: &str) -> Vec<(String, String)> {
    lab.journal
        .query(&Filter::kind(Kind::Fault).node(node).attr("fault", fault))
        .iter()
        .map(|e| {
            (
                e.attr("action").unwrap_or_default().to_owned(),
                e.attr("value").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn tls_client(lab: &Lab, identity: Option<Identity>, versions: TlsVersions) -> Arc<ClientConfig> {
    let mut opts = ClientOptions::new(lab.pki.lab_trust_bundle());
    opts.identity = identity;
    opts.versions = versions;
    opts.key_log = false;
    bwlab_pki::client_config(&opts).expect("client config")
}

/// GETs Alice's profile with Basic over a new connection; `Err` with the failure text when
/// the handshake (or, with TLS 1.3 and a refused client certificate, the first request)
/// fails.
async fn try_profile(addr: SocketAddr, cfg: Arc<ClientConfig>) -> Result<u16, String> {
    let mut c = Client::connect(addr, cfg)
        .await
        .map_err(|e| e.to_string())?
        .with_auth(ALICE.0, ALICE.1);
    c.request(
        Method::GET,
        &user_path(ALICE.0, "profile"),
        &[],
        bytes::Bytes::new(),
    )
    .await
    .map(|r| r.status)
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn non_shared_auth_keys_split_the_farm_until_reverted() {
    let lab = Lab::start_with(LabOptions {
        settings: basic_authservice(),
        ..Default::default()
    })
    .await;
    let xsp2 = second_node(&lab, "xsp2", basic_authservice()).await;
    let a = lab.xsp.https_addr();
    let b = xsp2.https_addr();
    let farm_token = token_from(&lab, a).await;
    assert_eq!(profile_with(&lab, b, &farm_token).await.status, 200);

    // Own keys on xsp2: the farm's token is refused there, its own works only there.
    let own = AuthKeys::new();
    xsp2.set_own_auth_keys(Some(own.clone()));
    assert!(xsp2.own_auth_keys().is_some());
    let r = profile_with(&lab, b, &farm_token).await;
    assert_refused(&lab, &r, "xsp2", "bearer-bad-signature").await;
    let own_token = token_from(&lab, b).await;
    assert!(own.is_created(), "xsp2 signed with its own pair");
    assert_eq!(profile_with(&lab, b, &own_token).await.status, 200);
    let r = profile_with(&lab, a, &own_token).await;
    assert_refused(&lab, &r, "xsp1", "bearer-bad-signature").await;
    // xsp1 is untouched.
    assert_eq!(profile_with(&lab, a, &farm_token).await.status, 200);

    // Revert: the farm's keys again.
    xsp2.set_own_auth_keys(None);
    assert!(xsp2.own_auth_keys().is_none());
    assert_eq!(profile_with(&lab, b, &farm_token).await.status, 200);
    let r = profile_with(&lab, b, &own_token).await;
    assert_eq!(r.status, 401, "{r:?}");
    let again = token_from(&lab, b).await;
    assert_eq!(profile_with(&lab, a, &again).await.status, 200);

    let journal = fault_entries(&lab, "xsp2", "non-shared-authservice-keys");
    assert_eq!(journal.len(), 2, "{journal:?}");
    assert_eq!(journal[0].0, "injected");
    assert!(journal[0].1.starts_with("own AuthService key pair"));
    assert_eq!(journal[1].0, "reverted");
    xsp2.shutdown().await;
}

#[tokio::test]
async fn missing_authservice_url_refuses_bearers_until_reverted() {
    let lab = Lab::start_with(LabOptions {
        settings: basic_authservice(),
        ..Default::default()
    })
    .await;
    let a = lab.xsp.https_addr();
    let token = token_from(&lab, a).await;
    assert!(lab.xsp.authservice_url_configured());

    lab.xsp.set_authservice_url_configured(false);
    assert!(!lab.xsp.authservice_url_configured());
    let r = profile_with(&lab, a, &token).await;
    assert_refused(&lab, &r, "xsp1", "bearer-no-authservice-url").await;
    // Basic still works.
    let mut c = client_to(&lab, a).await.with_auth(ALICE.0, ALICE.1);
    assert_eq!(c.get(&user_path(ALICE.0, "profile")).await.status, 200);

    lab.xsp.set_authservice_url_configured(true);
    assert_eq!(profile_with(&lab, a, &token).await.status, 200);
    let journal = fault_entries(&lab, "xsp1", "missing-authservice-url");
    let actions: Vec<&str> = journal.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["injected", "reverted"]);
    assert_eq!(journal[0].1, "AuthService URL missing");
}

fn subscription_body(set: &str, app: &str) -> String {
    format!(
        r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Advanced Call</event><expires>7200</expires><channelSetId>{set}</channelSetId><applicationId>{app}</applicationId></Subscription>"#
    )
}

async fn subscribe_at(lab: &Lab, addr: SocketAddr, set: &str, app: &str) -> String {
    let mut c = client_to(lab, addr).await.with_auth(ALICE.0, ALICE.1);
    let r = c
        .request(
            Method::POST,
            &format!("{EV}/user/{}", ALICE.0),
            &[],
            subscription_body(set, app),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    between(&r.text(), "<subscriptionId>", "</subscriptionId>")
}

fn between(s: &str, a: &str, b: &str) -> String {
    let i = s.find(a).unwrap_or_else(|| panic!("{a} in {s}")) + a.len();
    let j = s[i..].find(b).expect("end") + i;
    s[i..j].to_owned()
}

async fn open_channel(lab: &Lab, addr: SocketAddr, set: &str) -> EventStream {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Channel xmlns="http://schema.broadsoft.com/xsi"><channelSetId>{set}</channelSetId><priority>1</priority><weight>50</weight><expires>3600</expires><applicationId>test-app</applicationId></Channel>"#
    );
    let mut s = EventStream::open(
        addr,
        lab.client_config(None),
        ASYNC_CHANNEL,
        Some(&basic(ALICE.0, ALICE.1)),
        &body,
    )
    .await
    .expect("stream opens");
    assert_eq!(s.status, 200);
    let first = s.next_text().await;
    assert!(first.contains("<Channel "), "{first}");
    s
}

/// The subscription id of the next event on the stream.
async fn next_subscription_id(s: &mut EventStream) -> String {
    let chunk = tokio::time::timeout(WAIT, s.next_chunk())
        .await
        .expect("an event in time")
        .expect("stream open");
    let ev = Event::from_xml(&chunk).expect("event");
    ev.as_subscription()
        .expect("subscription event")
        .subscription_id
        .clone()
}

#[tokio::test]
async fn mismatched_call_control_application_name_loses_events_until_reverted() {
    let lab = Lab::start_with(LabOptions {
        events: Some(EventsSettings::default()),
        ..Default::default()
    })
    .await;
    let xsp2 = second_node(&lab, "xsp2", XspSettings::default()).await;
    let a = lab.xsp.https_addr();
    let b = xsp2.https_addr();
    let default_name = xsp2.call_control_application_name().expect("Xsi-Events");

    assert!(xsp2.set_call_control_application_name(Some("com.broadsoft.xsi-events-old".into())));
    assert_eq!(
        xsp2.call_control_application_name().as_deref(),
        Some("com.broadsoft.xsi-events-old")
    );
    // Alice's channel lives on xsp1 (the farm's name). A subscription made through xsp2
    // carries xsp2's name: the AS finds no instance of that name behind the set, and the
    // initial event is lost.
    let mut stream = open_channel(&lab, a, "set-drift").await;
    let lost_sub = subscribe_at(&lab, b, "set-drift", "app-through-xsp2").await;
    let lost = Filter::kind(Kind::Event)
        .attr("lost", "call_control_application_name")
        .attr("subscription_id", lost_sub.as_str());
    let e = lab.journal.wait_for(&lost, WAIT).await.expect("event lost");
    assert_eq!(
        e.attr("call_control_application_name"),
        Some("com.broadsoft.xsi-events-old")
    );
    // Through xsp1 (the right name) the same channel gets its events: the next event on
    // the stream is that subscription's, the lost one never arrives.
    let good_sub = subscribe_at(&lab, a, "set-drift", "app-through-xsp1").await;
    assert_eq!(next_subscription_id(&mut stream).await, good_sub);

    // Revert: subscriptions through xsp2 are delivered again.
    assert!(xsp2.set_call_control_application_name(None));
    assert_eq!(xsp2.call_control_application_name(), Some(default_name));
    let back_sub = subscribe_at(&lab, b, "set-drift", "app-after-revert").await;
    assert_eq!(next_subscription_id(&mut stream).await, back_sub);

    let journal = fault_entries(&lab, "xsp2", "call-control-application-name");
    let actions: Vec<&str> = journal.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["injected", "reverted"]);
    // A node without Xsi-Events has no name to change.
    let plain = second_node(&Lab::start().await, "xsp-no-events", XspSettings::default()).await;
    assert!(!plain.set_call_control_application_name(Some("x".into())));
    assert!(plain.call_control_application_name().is_none());
    xsp2.shutdown().await;
}

#[tokio::test]
async fn removed_webex_anchor_refuses_the_webex_client_until_reverted() {
    let lab = Lab::start().await;
    let mtls = lab.xsp.mtls_addr().expect("https-mtls");
    let webex = || {
        tls_client(
            &lab,
            Some(lab.pki.webex_client().clone()),
            TlsVersions::default(),
        )
    };
    assert_eq!(try_profile(mtls, webex()).await, Ok(200));
    // A connection opened before the change keeps its handshake.
    let mut before = Client::connect(mtls, webex())
        .await
        .unwrap()
        .with_auth(ALICE.0, ALICE.1);

    let configured = lab.xsp.client_trust_anchors();
    assert_eq!(configured, lab.pki.webex_trust_anchors());
    let without = lab
        .pki
        .trust_anchors_without(&configured, "webex-ca".parse::<CaId>().unwrap());
    assert!(without.is_empty());
    // Removing another authority's anchor changes nothing here.
    assert_eq!(
        lab.pki.trust_anchors_without(&configured, CaId::IdenTrust),
        configured
    );
    lab.xsp.set_client_trust_anchors(Some(without)).unwrap();
    assert!(lab.xsp.client_trust_anchors().is_empty());
    let err = try_profile(mtls, webex()).await.expect_err("refused");
    assert!(!err.is_empty());
    let refused = Filter::kind(Kind::Tls)
        .node("xsp1")
        .attr("interface", "https-mtls")
        .attr("outcome", "refused");
    let e = lab.journal.wait_for(&refused, WAIT).await.expect("journal");
    assert!(
        e.attr("error")
            .unwrap_or_default()
            .contains("UnknownIssuer"),
        "{e:?}"
    );
    assert_eq!(
        before.get(&user_path(ALICE.0, "profile")).await.status,
        200,
        "open connection unaffected"
    );
    // The https interface asks for no certificate and is unaffected.
    let tls = tls_client(&lab, None, TlsVersions::default());
    assert_eq!(try_profile(lab.xsp.https_addr(), tls).await, Ok(200));

    lab.xsp.set_client_trust_anchors(None).unwrap();
    assert_eq!(lab.xsp.client_trust_anchors(), configured);
    assert_eq!(try_profile(mtls, webex()).await, Ok(200));
    let journal = fault_entries(&lab, "xsp1", "missing-trust-anchor");
    let actions: Vec<&str> = journal.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["injected", "reverted"]);
    assert!(
        journal[0].1.starts_with("0 client trust anchor"),
        "{journal:?}"
    );
}

#[tokio::test]
async fn bad_server_certificates_are_seen_by_clients_until_reverted() {
    let lab = Lab::start().await;
    let addr = lab.xsp.https_addr();
    let cfg = || tls_client(&lab, None, TlsVersions::default());
    assert_eq!(try_profile(addr, cfg()).await, Ok(200));
    let real = lab.xsp.server_identity().label().to_owned();

    for kind in [
        BadCert::Expired,
        BadCert::NotYetValid,
        BadCert::SelfSigned,
        BadCert::WrongHost,
        BadCert::MissingIntermediate,
        BadCert::Rsa1024,
    ] {
        let bad = lab.pki.bad_cert_for_host(kind, SERVER_NAME).unwrap();
        lab.xsp
            .set_server_identity(Some(bad.identity.clone()))
            .unwrap();
        assert_eq!(lab.xsp.server_identity().label(), bad.identity.label());
        let err = try_profile(addr, cfg()).await.expect_err("bad certificate");
        let lower = err.to_ascii_lowercase();
        match kind {
            BadCert::Expired => assert!(lower.contains("expired"), "{kind}: {err}"),
            BadCert::NotYetValid => assert!(
                lower.contains("not valid yet") || lower.contains("notvalidyet"),
                "{kind}: {err}"
            ),
            BadCert::WrongHost => assert!(
                lower.contains("not valid for name") || lower.contains("notvalidforname"),
                "{kind}: {err}"
            ),
            BadCert::SelfSigned | BadCert::MissingIntermediate => {
                assert!(
                    lower.contains("unknownissuer") || lower.contains("unknown issuer"),
                    "{kind}: {err}"
                )
            }
            _ => assert!(
                lower.contains("certificate") || lower.contains("signature"),
                "{kind}: {err}"
            ),
        }
    }
    // TLS 1.3 only and an RSA-1024 key cannot go together: refused, nothing changes.
    lab.xsp.set_server_identity(None).unwrap();
    lab.xsp
        .set_tls_versions(Some(TlsVersions::Tls13Only))
        .unwrap();
    let rsa = lab
        .pki
        .bad_cert_for_host(BadCert::Rsa1024, SERVER_NAME)
        .unwrap();
    assert!(lab.xsp.set_server_identity(Some(rsa.identity)).is_err());
    assert_eq!(lab.xsp.server_identity().label(), real);
    lab.xsp.set_tls_versions(None).unwrap();

    assert_eq!(try_profile(addr, cfg()).await, Ok(200));
    let journal = fault_entries(&lab, "xsp1", "bad-certificate");
    assert_eq!(journal.len(), 7, "{journal:?}");
    assert_eq!(journal[6].0, "reverted");
    assert!(journal[6].1.contains(&real), "{journal:?}");
}

#[tokio::test]
async fn tls13_only_refuses_a_tls12_client_until_reverted() {
    let lab = Lab::start().await;
    let addr = lab.xsp.https_addr();
    let tls12 = || tls_client(&lab, None, TlsVersions::Tls12Only);
    let tls13 = || tls_client(&lab, None, TlsVersions::Tls13Only);
    assert_eq!(try_profile(addr, tls12()).await, Ok(200));
    assert_eq!(lab.xsp.tls_versions(), TlsVersions::Tls12And13);

    lab.xsp
        .set_tls_versions(Some(TlsVersions::Tls13Only))
        .unwrap();
    assert_eq!(lab.xsp.tls_versions(), TlsVersions::Tls13Only);
    assert!(try_profile(addr, tls12()).await.is_err());
    assert_eq!(try_profile(addr, tls13()).await, Ok(200));
    // Every listener follows, the mTLS one too.
    let mtls = lab.xsp.mtls_addr().unwrap();
    let webex12 = tls_client(
        &lab,
        Some(lab.pki.webex_client().clone()),
        TlsVersions::Tls12Only,
    );
    assert!(try_profile(mtls, webex12.clone()).await.is_err());
    let refused = Filter::kind(Kind::Tls)
        .node("xsp1")
        .attr("interface", "https")
        .attr("outcome", "refused");
    assert!(lab.journal.wait_for(&refused, WAIT).await.is_some());

    lab.xsp.set_tls_versions(None).unwrap();
    assert_eq!(try_profile(addr, tls12()).await, Ok(200));
    assert_eq!(try_profile(mtls, webex12).await, Ok(200));
    let journal = fault_entries(&lab, "xsp1", "tls");
    let actions: Vec<&str> = journal.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["injected", "reverted"]);
}

#[tokio::test]
async fn clock_skew_rejects_tokens_and_certificates_until_reverted() {
    let lab = Lab::start_with(LabOptions {
        settings: basic_authservice(),
        ..Default::default()
    })
    .await;
    let xsp2 = second_node(&lab, "xsp2", basic_authservice()).await;
    let a = lab.xsp.https_addr();
    let b = xsp2.https_addr();
    let token = token_from(&lab, a).await;
    assert_eq!(profile_with(&lab, b, &token).await.status, 200);

    // xsp2 an hour behind: the token is not valid yet there.
    xsp2.set_clock_skew(-time::Duration::hours(1));
    assert_eq!(xsp2.clock_skew(), -time::Duration::hours(1));
    assert_eq!(xsp2.now(), lab.clock.now() - time::Duration::hours(1));
    let r = profile_with(&lab, b, &token).await;
    assert_refused(&lab, &r, "xsp2", "bearer-not-yet-valid").await;
    // xsp2 past the token's 720 h lifetime: expired there.
    xsp2.set_clock_skew(time::Duration::hours(721));
    let r = profile_with(&lab, b, &token).await;
    assert_refused(&lab, &r, "xsp2", "bearer-expired").await;
    // Password expiry follows the node's clock too: Alice's password (30 days left) has
    // expired there, and enforcement refuses her.
    let mut c = client_to(&lab, b).await.with_auth(ALICE.0, ALICE.1);
    assert_eq!(c.get(&user_path(ALICE.0, "profile")).await.status, 401);
    let f = Filter::kind(Kind::Http)
        .node("xsp2")
        .attr("auth", "expired-enforced");
    assert!(lab.journal.wait_for(&f, WAIT).await.is_some());
    // A token xsp2 issues on its own clock (an hour ahead) is not valid yet on xsp1.
    xsp2.set_clock_skew(time::Duration::hours(1));
    let ahead = token_from(&lab, b).await;
    let r = profile_with(&lab, a, &ahead).await;
    assert_refused(&lab, &r, "xsp1", "bearer-not-yet-valid").await;
    // Client certificates are judged on the node's clock too: twenty years on, the Webex
    // client certificate has expired.
    xsp2.set_clock_skew(time::Duration::days(20 * 365));
    let webex = || {
        tls_client(
            &lab,
            Some(lab.pki.webex_client().clone()),
            TlsVersions::default(),
        )
    };
    let mtls = xsp2.mtls_addr().unwrap();
    assert!(try_profile(mtls, webex()).await.is_err());
    let refused = Filter::kind(Kind::Tls)
        .node("xsp2")
        .attr("interface", "https-mtls");
    let e = lab.journal.wait_for(&refused, WAIT).await.expect("journal");
    assert!(
        e.attr("error")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .contains("expired"),
        "{e:?}"
    );

    // Revert.
    xsp2.set_clock_skew(time::Duration::ZERO);
    assert_eq!(xsp2.now(), lab.clock.now());
    assert_eq!(profile_with(&lab, b, &token).await.status, 200);
    assert_eq!(try_profile(mtls, webex()).await, Ok(200));
    let journal = fault_entries(&lab, "xsp2", "clock-skew");
    let actions: Vec<&str> = journal.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["injected", "injected", "injected", "injected", "reverted"]
    );
    assert_eq!(journal[0].1, "clock skew -3600s");
    xsp2.shutdown().await;
}
