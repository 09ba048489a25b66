//! Xsi-Events over real sockets: channel streams read chunk by chunk, subscriptions,
//! heartbeats and their timeout, event responses, affinity, CTI mTLS, faults.
//!
//! Time-based behaviour runs on paused tokio time (`start_paused`): when every task waits,
//! tokio jumps to the next timer, so an `eventTimeout` of 30 s passes at once and nothing
//! sleeps.

mod common;

use std::time::Duration;

use bwlab_appserver::AsSettings;
use bwlab_core::{Filter, Kind};
use bwlab_xsi::documents::events::{ChannelHeartBeat, Event, EventData};
use bwlab_xsp::{EventsSettings, XspEventFault, XspNode};
use bytes::Bytes;
use common::stream::{ASYNC_CHANNEL, EventStream};
use common::{Client, Lab, LabOptions, basic};
use hyper::Method;

const EV: &str = "/com.broadsoft.xsi-events/v2.0";
const ALICE: (&str, &str) = ("alice@lab.example", "Alice-pw1");
const BOB: (&str, &str) = ("bob@lab.example", "Bob-pw1");
const WAIT: Duration = Duration::from_secs(60);

async fn lab() -> Lab {
    lab_with(EventsSettings::default(), AsSettings::default()).await
}

async fn lab_with(events: EventsSettings, as_settings: AsSettings) -> Lab {
    Lab::start_with(LabOptions {
        events: Some(events),
        as_settings,
        ..Default::default()
    })
    .await
}

fn channel_body(set: &str, priority: u32, app: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Channel xmlns="http://schema.broadsoft.com/xsi"><channelSetId>{set}</channelSetId><priority>{priority}</priority><weight>50</weight><expires>3600</expires><applicationId>{app}</applicationId></Channel>"#
    )
}

/// Opens a channel for `who` on `addr`; returns the stream (first chunk consumed) and the
/// channel id.
async fn open_at(
    lab: &Lab,
    addr: std::net::SocketAddr,
    who: (&str, &str),
    set: &str,
) -> (EventStream, String) {
    let mut s = EventStream::open(
        addr,
        lab.client_config(None),
        ASYNC_CHANNEL,
        Some(&basic(who.0, who.1)),
        &channel_body(set, 1, "test-app"),
    )
    .await
    .expect("stream opens");
    assert_eq!(s.status, 200);
    assert_eq!(s.header("transfer-encoding"), Some("chunked"));
    let first = s.next_text().await;
    assert!(first.contains("<Channel "), "{first}");
    let id = between(&first, "<channelId>", "</channelId>");
    (s, id)
}

async fn open(lab: &Lab, who: (&str, &str), set: &str) -> (EventStream, String) {
    open_at(lab, lab.xsp.https_addr(), who, set).await
}

fn between(s: &str, a: &str, b: &str) -> String {
    let i = s.find(a).unwrap_or_else(|| panic!("{a} in {s}")) + a.len();
    let j = s[i..].find(b).expect("end") + i;
    s[i..j].to_owned()
}

async fn client(lab: &Lab, who: (&str, &str)) -> Client {
    lab.client().await.with_auth(who.0, who.1)
}

async fn subscribe(c: &mut Client, target: &str, package: &str, set: &str) -> String {
    let body = format!(
        r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>{package}</event><expires>7200</expires><channelSetId>{set}</channelSetId><applicationId>test-app</applicationId></Subscription>"#
    );
    let r = c
        .request(Method::POST, &format!("{EV}/user/{target}"), &[], body)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    between(&r.text(), "<subscriptionId>", "</subscriptionId>")
}

async fn ack(c: &mut Client, event_id: &str, code: u16) -> u16 {
    let body = format!(
        r#"<EventResponse xmlns="http://schema.broadsoft.com/xsi"><eventID>{event_id}</eventID><statusCode>{code}</statusCode><reason>test</reason></EventResponse>"#
    );
    c.request(
        Method::POST,
        &format!("{EV}/channel/eventresponse"),
        &[],
        body,
    )
    .await
    .unwrap()
    .status
}

/// The next event on the stream, parsed.
async fn next_event(s: &mut EventStream) -> Event {
    let chunk = tokio::time::timeout(WAIT, s.next_chunk())
        .await
        .expect("an event in time")
        .expect("stream open");
    Event::from_xml(&chunk).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&chunk)))
}

fn type_of(e: &Event) -> String {
    e.as_subscription()
        .map(|s| s.data.type_name().to_owned())
        .unwrap_or_else(|| match e {
            Event::ChannelTerminated(t) => format!("ChannelTerminatedEvent:{}", t.reason.as_str()),
            _ => "other".into(),
        })
}

#[tokio::test]
async fn channel_streams_one_document_per_chunk() {
    let lab = lab().await;
    let (mut s, channel) = open(&lab, ALICE, "set-a").await;
    assert_eq!(channel.len(), 36, "a UUID");
    let mut c = client(&lab, ALICE).await;
    subscribe(&mut c, ALICE.0, "Advanced Call", "set-a").await;

    // The initial state: a CallSubscriptionEvent with the hook status, in its own chunk.
    let ev = next_event(&mut s).await;
    let sub = ev.as_subscription().expect("subscription event");
    assert_eq!(sub.data.type_name(), "CallSubscriptionEvent");
    assert_eq!(sub.sequence_number, 1);
    assert!(matches!(
        &sub.delivery,
        bwlab_xsi::documents::events::Delivery::Channel(id) if *id == channel
    ));
    assert_eq!(ack(&mut c, &sub.event_id, 200).await, 200);

    // Heartbeat: 200 without body, and exactly the 97-byte document on the stream.
    let r = c
        .request(
            Method::PUT,
            &format!("{EV}/channel/{channel}/heartbeat"),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let hb = s.next_chunk().await.unwrap();
    assert_eq!(&hb[..], &ChannelHeartBeat::BYTES[..]);

    // Channel set query.
    let r = c.get(&format!("{EV}/channelset/set-a")).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains(&channel));

    // Explicit delete: ChannelTerminatedEvent, then the stream ends.
    let r = c
        .request(
            Method::DELETE,
            &format!("{EV}/channel/{channel}"),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let ev = next_event(&mut s).await;
    assert_eq!(type_of(&ev), "ChannelTerminatedEvent:ExplicitDelete");
    assert!(s.next_chunk().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn missing_heartbeats_close_the_stream_but_keep_subscriptions() {
    let lab = lab().await;
    let (mut s, channel) = open(&lab, ALICE, "set-hb").await;
    let mut c = client(&lab, ALICE).await;
    let sub = subscribe(&mut c, ALICE.0, "Do Not Disturb", "set-hb").await;
    let ev = next_event(&mut s).await;
    assert_eq!(type_of(&ev), "DoNotDisturbEvent");
    // (Unanswered, the event would end the channel as NonResponsiveChannel after 10 s.)
    assert_eq!(ack(&mut c, ev.event_id().unwrap(), 200).await, 200);

    // Heartbeats keep it alive past eventTimeout (30 s).
    for _ in 0..3 {
        tokio::time::advance(Duration::from_secs(20)).await;
        let r = c
            .request(
                Method::PUT,
                &format!("{EV}/channel/{channel}/heartbeat"),
                &[],
                Bytes::new(),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            &s.next_chunk().await.unwrap()[..],
            &ChannelHeartBeat::BYTES[..]
        );
    }
    // Then silence: the stream closes without a ChannelTerminatedEvent.
    assert!(s.next_chunk().await.is_none());
    let closed = Filter::kind(Kind::Event).attr("reason", "heartbeat timeout");
    lab.journal
        .wait_for(&closed, WAIT)
        .await
        .expect("journalled");
    // (The idle keep-alive connection timed out during the same silence.)
    let mut c = client(&lab, ALICE).await;
    assert_eq!(c.get(&format!("{EV}/channelset/set-hb")).await.status, 404);
    // The subscription survives; a new channel of the same set gets its events.
    assert_eq!(c.get(&format!("{EV}/subscription/{sub}")).await.status, 200);
    let (mut s2, _) = open(&lab, ALICE, "set-hb").await;
    let r = c
        .put(
            &common::user_path(ALICE.0, "services/DoNotDisturb"),
            &[],
            r#"<DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>true</active></DoNotDisturb>"#,
        )
        .await;
    assert_eq!(r.status, 200);
    let ev = next_event(&mut s2).await;
    assert_eq!(type_of(&ev), "DoNotDisturbEvent");
    let xml = match &ev.as_subscription().unwrap().data {
        EventData::Service(_) => String::from_utf8(ev.to_xml()).unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(xml.contains("<xsi:active>true</xsi:active>"), "{xml}");
}

#[tokio::test]
async fn calls_reach_both_parties_channels() {
    let lab = lab().await;
    let app = lab.app_server.clone().unwrap();
    let (mut sa, _) = open(&lab, ALICE, "alice-set").await;
    let (mut sb, _) = open(&lab, BOB, "bob-set").await;
    let mut ca = client(&lab, ALICE).await;
    let mut cb = client(&lab, BOB).await;
    subscribe(&mut ca, ALICE.0, "Advanced Call", "alice-set").await;
    subscribe(&mut cb, BOB.0, "Basic Call", "bob-set").await;
    assert_eq!(type_of(&next_event(&mut sa).await), "CallSubscriptionEvent");
    assert_eq!(type_of(&next_event(&mut sb).await), "CallSubscriptionEvent");

    let call = app.calls().dial(ALICE.0, "102").expect("dial");
    let mut alice_types = Vec::new();
    while !alice_types
        .iter()
        .any(|t: &String| t == "CallOriginatedEvent")
    {
        alice_types.push(type_of(&next_event(&mut sa).await));
    }
    let mut bob = next_event(&mut sb).await;
    while type_of(&bob) == "HookStatusEvent" {
        bob = next_event(&mut sb).await;
    }
    assert_eq!(type_of(&bob), "CallReceivedEvent");
    let c = &bob.as_subscription().unwrap().data.calls()[0];
    assert_eq!(c.personality.as_str(), "Terminator");
    assert_eq!(c.state.as_str(), "Alerting");
    let term = call.terminator.clone().expect("routed");
    app.calls().answer(&term).expect("answer");
    let mut bob = next_event(&mut sb).await;
    while type_of(&bob) == "HookStatusEvent" {
        bob = next_event(&mut sb).await;
    }
    assert_eq!(type_of(&bob), "CallAnsweredEvent");
}

#[tokio::test]
async fn event_response_codes_have_their_effects() {
    let lab = lab().await;
    let mut c = client(&lab, ALICE).await;
    // Two channels in one set: a 500 sends the event to the other one.
    let (mut s1, ch1) = open(&lab, ALICE, "set-r").await;
    let (mut s2, _ch2) = open(&lab, ALICE, "set-r").await;
    let sub = subscribe(&mut c, ALICE.0, "Do Not Disturb", "set-r").await;
    // The initial event lands on one of them.
    let (first, other) = tokio::select! {
        e = next_event(&mut s1) => (e, 2),
        e = next_event(&mut s2) => (e, 1),
    };
    let id = first.event_id().unwrap().to_owned();
    assert_eq!(ack(&mut c, &id, 500).await, 200);
    let again = if other == 1 {
        next_event(&mut s1).await
    } else {
        next_event(&mut s2).await
    };
    assert_eq!(
        again.event_id(),
        Some(id.as_str()),
        "re-sent with the same eventID"
    );
    assert_eq!(ack(&mut c, &id, 200).await, 200);

    // 481: the subscription is deleted; its id then answers 403.
    let p = common::user_path(ALICE.0, "services/DoNotDisturb");
    let on = r#"<DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>true</active></DoNotDisturb>"#;
    assert_eq!(c.put(&p, &[], on).await.status, 200);
    let ev = tokio::select! {
        e = next_event(&mut s1) => e,
        e = next_event(&mut s2) => e,
    };
    assert_eq!(ack(&mut c, ev.event_id().unwrap(), 481).await, 200);
    assert_eq!(c.get(&format!("{EV}/subscription/{sub}")).await.status, 403);

    // 404: the channel the event came on is terminated with UnknownChannel.
    subscribe(&mut c, ALICE.0, "Do Not Disturb", "set-r").await;
    let (ev, which) = tokio::select! {
        e = next_event(&mut s1) => (e, 1),
        e = next_event(&mut s2) => (e, 2),
    };
    assert_eq!(ack(&mut c, ev.event_id().unwrap(), 404).await, 200);
    let s = if which == 1 { &mut s1 } else { &mut s2 };
    let mut t = next_event(s).await;
    while type_of(&t) == "DoNotDisturbEvent" {
        t = next_event(s).await;
    }
    assert_eq!(type_of(&t), "ChannelTerminatedEvent:UnknownChannel");
    let _ = ch1;
}

#[tokio::test]
async fn affinity_a_heartbeat_on_another_xsp_tears_the_channel_down() {
    let lab = lab().await;
    let app = lab.app_server.clone().unwrap();
    let xsp2 = XspNode::builder("xsp2")
        .identity(lab.pki.node("xsp1").unwrap().clone())
        .store(lab.store.clone())
        .profile(lab.profile.clone())
        .journal(lab.journal.clone())
        .clock(lab.clock.clone())
        .settings(bwlab_xsp::XspSettings {
            client_trust_anchors: lab.pki.webex_trust_anchors(),
            ..Default::default()
        })
        .app_server(app.clone())
        .start()
        .await
        .unwrap();
    let (mut s, channel) = open(&lab, ALICE, "set-aff").await;
    let mut other = Client::connect(xsp2.https_addr(), lab.client_config(None))
        .await
        .unwrap()
        .with_auth(ALICE.0, ALICE.1);
    let r = other
        .request(
            Method::PUT,
            &format!("{EV}/channel/{channel}/heartbeat"),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.text().contains("ErrorInfo"));
    // The stream on xsp1 ends without a termination event.
    assert!(
        tokio::time::timeout(WAIT, s.next_chunk())
            .await
            .unwrap()
            .is_none()
    );
    assert!(app.channel(&channel).is_none());
    let f = Filter::kind(Kind::Event).attr("outcome", "foreign-channel");
    assert_eq!(lab.journal.query(&f).len(), 1);
    xsp2.shutdown().await;
}

#[tokio::test]
async fn cti_needs_the_webex_chain_and_a_listed_identity() {
    let lab = lab().await;
    let cti = lab.xsp.cti_addr().expect("cti listener");
    let body = r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Advanced Call</event><expires>3600</expires><channelSetId>webex-cti</channelSetId><applicationId>webex</applicationId></Subscription>"#;
    let path = format!("{EV}/user/{}", ALICE.0);

    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut c = Client::connect(cti, webex).await.expect("mTLS accepted");
    let r = c.request(Method::POST, &path, &[], body).await.unwrap();
    assert_eq!(r.status, 200, "{r:?}");

    // No certificate, another CA's certificate, a certificate without the BroadWorks EKU
    // OID: the handshake fails.
    for cfg in [
        lab.client_config(None),
        lab.client_config(Some(lab.pki.proxy_client().clone())),
        lab.client_config(Some(
            lab.pki
                .bad_cert(bwlab_pki::BadCert::ClientNoEkuOid)
                .unwrap()
                .identity,
        )),
    ] {
        let refused = match Client::connect(cti, cfg).await {
            Err(_) => true,
            Ok(mut c) => c.request(Method::POST, &path, &[], body).await.is_err(),
        };
        assert!(refused);
    }
    // Only Xsi-Events is served there.
    let r = c.get(&common::user_path(ALICE.0, "profile")).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn cti_refuses_a_cn_missing_from_client_identity() {
    let lab = lab_with(
        EventsSettings::default(),
        AsSettings {
            client_identities: vec!["someone-else.example".into()],
            ..Default::default()
        },
    )
    .await;
    let cti = lab.xsp.cti_addr().unwrap();
    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut c = Client::connect(cti, webex).await.unwrap();
    let body = r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Advanced Call</event><channelSetId>webex-cti</channelSetId></Subscription>"#;
    let r = c
        .request(Method::POST, &format!("{EV}/user/{}", ALICE.0), &[], body)
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert!(r.text().contains("ClientIdentity"), "{}", r.text());
}

#[tokio::test]
async fn xsp_faults_drop_stall_kill_and_overflow() {
    let lab = lab().await;
    let (mut s, channel) = open(&lab, ALICE, "set-f").await;
    let mut c = client(&lab, ALICE).await;
    subscribe(&mut c, ALICE.0, "Do Not Disturb", "set-f").await;
    let ev = next_event(&mut s).await;
    ack(&mut c, ev.event_id().unwrap(), 200).await;
    let hb = format!("{EV}/channel/{channel}/heartbeat");
    let p = common::user_path(ALICE.0, "services/DoNotDisturb");
    let dnd = |on: bool| {
        format!(
            r#"<DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>{on}</active></DoNotDisturb>"#
        )
    };

    // Dropped heartbeat: 200, but nothing on the stream (the next chunk is the event).
    let f = lab
        .xsp
        .inject_event_fault(XspEventFault::DropHeartbeats { channel: None })
        .unwrap();
    assert_eq!(
        c.request(Method::PUT, &hb, &[], Bytes::new())
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(c.put(&p, &[], &dnd(true)).await.status, 200);
    assert_eq!(type_of(&next_event(&mut s).await), "DoNotDisturbEvent");
    assert!(lab.xsp.revert_event_fault(f));

    // Stall: the event waits until the fault is reverted.
    let f = lab
        .xsp
        .inject_event_fault(XspEventFault::StallStream {
            channel: Some(channel.clone()),
        })
        .unwrap();
    assert_eq!(c.put(&p, &[], &dnd(false)).await.status, 200);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), s.next_chunk())
            .await
            .is_err(),
        "nothing reaches the socket while stalled"
    );
    assert_eq!(lab.xsp.queued_events(), 1);
    lab.xsp.revert_event_fault(f);
    assert_eq!(type_of(&next_event(&mut s).await), "DoNotDisturbEvent");

    // Queue size 0: every event overflows, and the journal says so.
    let f = lab
        .xsp
        .inject_event_fault(XspEventFault::EventQueueSize { size: 0 })
        .unwrap();
    assert_eq!(c.put(&p, &[], &dnd(true)).await.status, 200);
    let overflow = Filter::kind(Kind::Event).attr("outcome", "queue-full");
    lab.journal
        .wait_for(&overflow, WAIT)
        .await
        .expect("overflow journalled");
    lab.xsp.revert_event_fault(f);

    // Kill: the stream just ends.
    lab.xsp
        .inject_event_fault(XspEventFault::KillChannel { channel: None })
        .unwrap();
    loop {
        match tokio::time::timeout(WAIT, s.next_chunk()).await.unwrap() {
            None => break,
            Some(_) => continue, // events queued before the kill
        }
    }
    let faults = Filter::kind(Kind::Fault);
    assert!(lab.journal.query(&faults).len() >= 7);
}

#[tokio::test]
async fn restart_drops_every_channel_and_keeps_subscriptions() {
    let lab = lab().await;
    let (mut s1, _) = open(&lab, ALICE, "set-x").await;
    let (mut s2, _) = open(&lab, BOB, "set-y").await;
    let mut c = client(&lab, ALICE).await;
    let sub = subscribe(&mut c, ALICE.0, "Do Not Disturb", "set-x").await;
    next_event(&mut s1).await;
    assert_eq!(lab.xsp.open_channels(), 2);
    lab.xsp.restart_events();
    assert!(
        tokio::time::timeout(WAIT, s1.next_chunk())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tokio::time::timeout(WAIT, s2.next_chunk())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(c.get(&format!("{EV}/subscription/{sub}")).await.status, 200);
    // The node serves again after the restart.
    let (_s, _) = open(&lab, ALICE, "set-x").await;
}

#[tokio::test]
async fn bad_requests_get_error_info() {
    let lab = lab().await;
    let mut c = client(&lab, ALICE).await;
    // Channel add without the async prefix.
    let r = c
        .request(
            Method::POST,
            &format!("{EV}/channel"),
            &[],
            channel_body("s", 1, "a"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.text().contains("ErrorInfo"));
    // A malformed channel add is still answered chunked, with an ErrorInfo chunk.
    let mut s = EventStream::open(
        lab.xsp.https_addr(),
        lab.client_config(None),
        ASYNC_CHANNEL,
        Some(&basic(ALICE.0, ALICE.1)),
        "<Channel xmlns=\"http://schema.broadsoft.com/xsi\"><priority>x</priority>",
    )
    .await
    .unwrap();
    assert_eq!(s.status, 400);
    assert_eq!(s.header("transfer-encoding"), Some("chunked"));
    assert!(s.next_text().await.contains("ErrorInfo"));
    // Wrong credentials on the stream.
    let s = EventStream::open(
        lab.xsp.https_addr(),
        lab.client_config(None),
        ASYNC_CHANNEL,
        Some(&basic(ALICE.0, "wrong")),
        &channel_body("s", 1, "a"),
    )
    .await
    .unwrap();
    assert_eq!(s.status, 401);
    // Unknown package, someone else's target, unknown subscription, bad event response.
    let bad = r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Hook Status</event><channelSetId>s</channelSetId></Subscription>"#;
    let r = c
        .request(Method::POST, &format!("{EV}/user/{}", ALICE.0), &[], bad)
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let ok = r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Basic Call</event><channelSetId>s</channelSetId></Subscription>"#;
    let r = c
        .request(Method::POST, &format!("{EV}/user/{}", BOB.0), &[], ok)
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(c.get(&format!("{EV}/subscription/nope")).await.status, 403);
    let r = c
        .request(
            Method::POST,
            &format!("{EV}/channel/eventresponse"),
            &[],
            "<EventResponse xmlns=\"http://schema.broadsoft.com/xsi\"><eventID>x</eventID></Channel>",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    // A heartbeat for an unknown channel.
    let r = c
        .request(
            Method::PUT,
            &format!("{EV}/channel/nope/heartbeat"),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn http_contact_receives_posts() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let lab = lab().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        loop {
            let n = sock.read(&mut tmp).await.unwrap();
            buf.extend_from_slice(&tmp[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some(h) = text.find("\r\n\r\n") {
                let len: usize = text[..h]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= h + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8(buf).unwrap()
    });
    let mut c = client(&lab, ALICE).await;
    let body = format!(
        r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Do Not Disturb</event><httpContact><uri>http://127.0.0.1:{port}/notify</uri></httpContact><applicationId>hc</applicationId></Subscription>"#
    );
    let r = c
        .request(Method::POST, &format!("{EV}/user/{}", ALICE.0), &[], body)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let req = tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
    assert!(req.starts_with("POST /notify HTTP/1.1"), "{req}");
    assert!(req.contains("DoNotDisturbEvent"));
    assert!(req.contains("<xsi:httpContact><xsi:uri>"));
}

#[tokio::test]
async fn xsi_actions_call_commands_drive_the_call_engine() {
    let lab = lab().await;
    let mut alice = client(&lab, ALICE).await;
    let mut bob = client(&lab, BOB).await;
    let calls = |u: &str| common::user_path(u, "calls");

    let r = alice
        .request(
            Method::POST,
            &format!("{}/New?address=102", calls(ALICE.0)),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{r:?}");
    let cid = between(&r.text(), "<callId>", "</callId>");
    assert!(r.text().contains("<externalTrackingId>"));
    assert!(
        r.header("location")
            .unwrap()
            .ends_with(&format!("/calls/{cid}"))
    );
    assert!(alice.get(&calls(ALICE.0)).await.text().contains(&cid));

    // Bob's phone rings: one alerting call he may answer.
    let list = bob.get(&calls(BOB.0)).await.text();
    let bcid = between(&list, "<callId>", "</callId>");
    let detail = bob.get(&format!("{}/{bcid}", calls(BOB.0))).await;
    assert_eq!(detail.status, 200);
    assert!(
        detail.text().contains("<state>Alerting</state>"),
        "{}",
        detail.text()
    );
    assert!(detail.text().contains("<allowAnswer/>"));
    assert_eq!(
        put(&mut bob, format!("{}/{bcid}/Talk", calls(BOB.0))).await,
        200
    );
    let detail = alice.get(&format!("{}/{cid}", calls(ALICE.0))).await.text();
    assert!(detail.contains("<state>Active</state>"), "{detail}");
    assert!(detail.contains("<answerTime>"));

    // Hold and retrieve; Talk on an active call is refused.
    assert_eq!(
        put(&mut alice, format!("{}/{cid}/Hold", calls(ALICE.0))).await,
        200
    );
    assert!(
        alice
            .get(&format!("{}/{cid}", calls(ALICE.0)))
            .await
            .text()
            .contains("<state>Held</state>")
    );
    assert_eq!(
        put(&mut alice, format!("{}/{cid}/Talk", calls(ALICE.0))).await,
        200
    );
    assert_eq!(
        put(&mut alice, format!("{}/{cid}/Talk", calls(ALICE.0))).await,
        400
    );
    let hook = alice.get(&format!("{}/HookStatus", calls(ALICE.0))).await;
    assert!(
        hook.text().contains("<hookStatus>Off-Hook</hookStatus>"),
        "{hook:?}"
    );

    // Hang up: no calls left, both sides have a log entry.
    let r = alice
        .request(
            Method::DELETE,
            &format!("{}/{cid}", calls(ALICE.0)),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(!alice.get(&calls(ALICE.0)).await.text().contains("<callId>"));
    let logs = alice
        .get(&common::user_path(ALICE.0, "directories/CallLogs/Placed"))
        .await;
    assert!(logs.text().contains("102"), "{logs:?}");

    // Refusals: unknown call, missing address, someone else's call.
    assert_eq!(
        alice
            .get(&format!("{}/callhalf-999:0", calls(ALICE.0)))
            .await
            .status,
        404
    );
    let r = alice
        .request(
            Method::POST,
            &format!("{}/New", calls(ALICE.0)),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        alice
            .get(&format!("{}/HookStatus", calls(BOB.0)))
            .await
            .status,
        403
    );
}

async fn put(c: &mut Client, path: String) -> u16 {
    c.request(Method::PUT, &path, &[], Bytes::new())
        .await
        .unwrap()
        .status
}

#[tokio::test]
async fn without_an_application_server_call_commands_are_unavailable() {
    let lab = Lab::start().await;
    let mut alice = client(&lab, ALICE).await;
    let r = alice
        .request(
            Method::POST,
            &common::user_path(ALICE.0, "calls/New?address=102"),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 503);
    assert!(r.text().contains("ErrorInfo"));
    // Xsi-Events is not deployed either.
    assert_eq!(alice.get(&format!("{EV}/subscription")).await.status, 501);
}

#[tokio::test(start_paused = true)]
async fn termination_reasons_and_subscription_expiry_reach_the_stream() {
    let lab = lab().await;
    let app = lab.app_server.clone().unwrap();
    let mut c = client(&lab, ALICE).await;

    // The first response carries the session cookie a load balancer can pin on.
    let (mut s1, _) = open(&lab, ALICE, "set-1").await;
    assert!(
        s1.headers
            .iter()
            .any(|(k, v)| k == "set-cookie" && v.starts_with("JSESSIONID=")),
        "{:?}",
        s1.headers
    );
    // Same user and applicationId, another set: the first set's channels end.
    let (mut s2, ch2) = open(&lab, ALICE, "set-2").await;
    assert_eq!(
        type_of(&next_event(&mut s1).await),
        "ChannelTerminatedEvent:DuplicateChannelSet"
    );
    assert!(s1.next_chunk().await.is_none());

    // An administrator action: UserDeleted.
    assert!(app.terminate_channel(&ch2, bwlab_profiles::ChannelTerminatedReason::UserDeleted));
    assert_eq!(
        type_of(&next_event(&mut s2).await),
        "ChannelTerminatedEvent:UserDeleted"
    );

    // Unanswered events: NonResponsiveChannel after the ack timeout (10 s), with heartbeats
    // keeping the stream itself alive.
    let (mut s3, ch3) = open(&lab, ALICE, "set-3").await;
    subscribe(&mut c, ALICE.0, "Call Waiting", "set-3").await;
    assert_eq!(type_of(&next_event(&mut s3).await), "CallWaitingEvent");
    let t = next_event(&mut s3).await;
    assert_eq!(type_of(&t), "ChannelTerminatedEvent:NonResponsiveChannel");
    let _ = ch3;

    // A subscription that is not refreshed ends with SubscriptionTerminatedEvent (acked
    // like any event); its id then answers 403. The channel (2 h) outlives it, then
    // expires itself.
    let mut s4 = EventStream::open(
        lab.xsp.https_addr(),
        lab.client_config(None),
        ASYNC_CHANNEL,
        Some(&basic(ALICE.0, ALICE.1)),
        &channel_body("set-4", 1, "test-app").replace("<expires>3600<", "<expires>7200<"),
    )
    .await
    .unwrap();
    let ch4 = between(&s4.next_text().await, "<channelId>", "</channelId>");
    let body = r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Remote Office</event><expires>3600</expires><channelSetId>set-4</channelSetId><applicationId>test-app</applicationId></Subscription>"#;
    let r = c
        .request(Method::POST, &format!("{EV}/user/{}", ALICE.0), &[], body)
        .await
        .unwrap();
    let sub = between(&r.text(), "<subscriptionId>", "</subscriptionId>");
    let first = next_event(&mut s4).await;
    assert_eq!(type_of(&first), "RemoteOfficeEvent");
    assert_eq!(ack(&mut c, first.event_id().unwrap(), 200).await, 200);
    let hb = format!("{EV}/channel/{ch4}/heartbeat");
    let ended = until_event(&lab, &mut c, &mut s4, &hb).await;
    assert_eq!(type_of(&ended), "SubscriptionTerminatedEvent");
    assert_eq!(ack(&mut c, ended.event_id().unwrap(), 200).await, 200);
    assert_eq!(c.get(&format!("{EV}/subscription/{sub}")).await.status, 403);
    let expired = until_event(&lab, &mut c, &mut s4, &hb).await;
    assert_eq!(type_of(&expired), "ChannelTerminatedEvent:Expired");
}

/// Heartbeats every 15 s of (paused) tokio time until something other than a heartbeat
/// arrives on the stream.
async fn until_event(lab: &Lab, c: &mut Client, s: &mut EventStream, hb: &str) -> Event {
    loop {
        tokio::time::advance(Duration::from_secs(15)).await;
        if c.request(Method::PUT, hb, &[], Bytes::new()).await.is_err() {
            // The idle keep-alive connection was closed meanwhile; reconnect.
            *c = client(lab, ALICE).await;
            assert_eq!(put(c, hb.to_owned()).await, 200);
        }
        while let Ok(Some(chunk)) =
            tokio::time::timeout(Duration::from_millis(1), s.next_chunk()).await
        {
            if chunk[..] != ChannelHeartBeat::BYTES[..] {
                return Event::from_xml(&chunk).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn every_event_package_name_is_accepted() {
    let lab = lab().await;
    let mut c = client(&lab, ALICE).await;
    let (_s, _) = open(&lab, ALICE, "set-all").await;
    let mut refused = Vec::new();
    for p in bwlab_profiles::EventPackage::ALL {
        let name = p.as_str();
        let body = format!(
            r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>{name}</event><channelSetId>set-all</channelSetId><applicationId>pkg-{}</applicationId></Subscription>"#,
            name.replace(' ', "-")
        );
        let r = c
            .request(
                Method::POST,
                &format!("{EV}/user/{}", ALICE.0),
                &[("x-broadworks-protocol-version", "19.0")],
                body,
            )
            .await
            .unwrap();
        if r.status != 200 {
            refused.push((name, r.status));
        }
    }
    // Only packages the release does not list may be refused (r24 has dropped the
    // deprecated Call Recording; every other package name is known).
    let gated: Vec<_> = refused
        .iter()
        .filter(|(n, _)| {
            n.parse::<bwlab_profiles::EventPackage>()
                .is_ok_and(|p| lab.profile.has_event_package(p))
        })
        .collect();
    assert!(refused.len() <= 1, "refused: {refused:?}");
    assert!(gated.is_empty(), "refused: {refused:?}");
}

#[tokio::test]
async fn cti_resubscription_storm_is_absorbed() {
    const USERS: usize = 1500;
    const CONNECTIONS: usize = 8;
    let lab = lab().await;
    let app = lab.app_server.clone().unwrap();
    for i in 0..USERS {
        lab.store
            .add_user(bwlab_model::spec::UserSpec {
                user_id: format!("storm{i}@lab.example"),
                enterprise: Some("acme".into()),
                group: "hq".into(),
                first_name: "Storm".into(),
                last_name: format!("{i}"),
                password: "Storm-pw1".into(),
                extension: Some(format!("{}", 5000 + i)),
                ..Default::default()
            })
            .unwrap();
    }
    let cti = lab.xsp.cti_addr().unwrap();
    // The Webex CTI client opens its channel, then subscribes every user at once over a
    // few connections, as after turning on Call History in Partner Hub.
    let mut stream = EventStream::open(
        cti,
        lab.client_config(Some(lab.pki.webex_client().clone())),
        ASYNC_CHANNEL,
        None,
        &channel_body("webex-cti", 1, "webex-cti"),
    )
    .await
    .unwrap();
    assert_eq!(stream.status, 200);
    stream.next_text().await;
    let mut tasks = Vec::new();
    for k in 0..CONNECTIONS {
        let cfg = lab.client_config(Some(lab.pki.webex_client().clone()));
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(cti, cfg).await.unwrap();
            let mut failures = 0;
            for i in (k..USERS).step_by(CONNECTIONS) {
                let body = r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Advanced Call</event><expires>3600</expires><channelSetId>webex-cti</channelSetId><applicationId>webex-cti</applicationId></Subscription>"#;
                let r = c
                    .request(Method::POST, &format!("{EV}/user/storm{i}@lab.example"), &[], body)
                    .await
                    .unwrap();
                if r.status != 200 {
                    failures += 1;
                }
            }
            failures
        }));
    }
    // Meanwhile the stream delivers the initial states; the client acknowledges them.
    let cfg = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut acker = Client::connect(cti, cfg).await.unwrap();
    let mut seen = 0;
    while seen < USERS {
        let ev = next_event(&mut stream).await;
        assert_eq!(type_of(&ev), "CallSubscriptionEvent");
        assert_eq!(ack(&mut acker, ev.event_id().unwrap(), 200).await, 200);
        seen += 1;
    }
    let mut failures = 0;
    for t in tasks {
        failures += t.await.unwrap();
    }
    assert_eq!(failures, 0);
    assert_eq!(app.stats().subscriptions, USERS as u64);
}

/// A CTI channel + Advanced Call subscription for alice on `profile`; bob calls her with a
/// spam verdict and hangs up. Returns the event types and whether any call carried the
/// lab's `callerIdDisposition`.
async fn cti_view(profile: &'static str) -> (Vec<String>, bool) {
    let lab = Lab::start_with(LabOptions {
        profile,
        events: Some(EventsSettings::default()),
        ..Default::default()
    })
    .await;
    let app = lab.app_server.clone().unwrap();
    let cti = lab.xsp.cti_addr().unwrap();
    let cfg = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut s = EventStream::open(
        cti,
        cfg.clone(),
        ASYNC_CHANNEL,
        None,
        &channel_body("cti", 1, "cti"),
    )
    .await
    .unwrap();
    s.next_text().await;
    let mut c = Client::connect(cti, cfg).await.unwrap();
    subscribe(&mut c, ALICE.0, "Advanced Call", "cti").await;
    let call = app
        .calls()
        .dial_with_disposition(
            BOB.0,
            "101",
            bwlab_appserver::CallerIdDisposition::SpamSuspected,
        )
        .unwrap();
    app.calls()
        .answer(call.terminator.as_deref().unwrap())
        .unwrap();
    app.calls().release(&call.originator).unwrap();
    // A marker: the initial event of a service subscription (allowed over CTI on every
    // release) follows everything the call produced.
    subscribe(&mut c, ALICE.0, "Call Forwarding Always", "cti").await;
    let (mut types, mut disposition) = (Vec::new(), false);
    loop {
        let ev = next_event(&mut s).await;
        ack(&mut c, ev.event_id().unwrap(), 200).await;
        let t = type_of(&ev);
        if t == "CallForwardingAlwaysEvent" {
            break;
        }
        disposition |= String::from_utf8(ev.to_xml())
            .unwrap()
            .contains("callerIdDisposition");
        types.push(t);
    }
    (types, disposition)
}

#[tokio::test]
async fn cti_events_follow_the_release_profile() {
    // r24 (patched): call history and hook status, with the spam verdict.
    let (types, disposition) = cti_view("r24").await;
    assert_eq!(types[0], "CallSubscriptionEvent");
    assert!(types.contains(&"HookStatusEvent".to_owned()), "{types:?}");
    assert!(types.contains(&"CallReceivedEvent".to_owned()), "{types:?}");
    assert!(types.contains(&"CallReleasedEvent".to_owned()), "{types:?}");
    assert!(disposition);
    // r22 (patched): call history, but no callerIdDisposition.
    let (types, disposition) = cti_view("r22").await;
    assert!(types.contains(&"CallReleasedEvent".to_owned()), "{types:?}");
    assert!(!disposition);
    // r24 without the patches: no call-history or hook-status events over CTI.
    let (types, _) = cti_view("r24-unpatched").await;
    assert!(
        !types
            .iter()
            .any(|t| t.starts_with("Call") || t == "HookStatusEvent"),
        "{types:?}"
    );
}

#[tokio::test]
async fn subscriptions_are_queried_refreshed_and_deleted() {
    let lab = lab().await;
    let (mut s, _) = open(&lab, ALICE, "set-q").await;
    let mut c = client(&lab, ALICE).await;
    let sub = subscribe(&mut c, ALICE.0, "Call Forwarding Always", "set-q").await;
    let ev = next_event(&mut s).await;
    assert_eq!(type_of(&ev), "CallForwardingAlwaysEvent");
    ack(&mut c, ev.event_id().unwrap(), 200).await;

    let list = c.get(&format!("{EV}/subscription")).await;
    assert_eq!(list.status, 200);
    assert!(list.text().contains(&sub), "{}", list.text());
    assert!(
        list.text()
            .contains("<event>Call Forwarding Always</event>")
    );
    let one = c.get(&format!("{EV}/subscription/{sub}")).await;
    assert!(
        one.text().contains("<targetIdType>User</targetIdType>"),
        "{}",
        one.text()
    );
    // Filters: another package finds nothing; a group query needs its parent.
    let none = c
        .get(&format!("{EV}/subscription?event=Do%20Not%20Disturb"))
        .await;
    assert!(!none.text().contains(&sub));
    assert_eq!(
        c.get(&format!(
            "{EV}/subscription?targetEntityType=Group&targetId=hq"
        ))
        .await
        .status,
        400
    );
    // Someone else's subscriptions are out of scope.
    assert_eq!(
        c.get(&format!("{EV}/subscription?subscriberId={}", BOB.0))
            .await
            .status,
        403
    );

    // Refresh: the granted expires, and the state event again.
    let r = c
        .put(
            &format!("{EV}/subscription/{sub}"),
            &[],
            r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><expires>90000</expires></Subscription>"#,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text().contains("<expires>90000</expires>"),
        "{}",
        r.text()
    );
    assert_eq!(
        type_of(&next_event(&mut s).await),
        "CallForwardingAlwaysEvent"
    );

    // Delete, then the id is gone (403 like every failed single-subscription command).
    let r = c
        .request(
            Method::DELETE,
            &format!("{EV}/subscription/{sub}"),
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(c.get(&format!("{EV}/subscription/{sub}")).await.status, 403);
    // Bob cannot touch alice's subscriptions either.
    let sub2 = subscribe(&mut c, ALICE.0, "Call Waiting", "set-q").await;
    let mut b = client(&lab, BOB).await;
    assert_eq!(
        b.get(&format!("{EV}/subscription/{sub2}")).await.status,
        403
    );
    // An administrator of the group can.
    let mut admin = client(&lab, ("hq-admin@lab.example", "Hq-pw1")).await;
    assert_eq!(
        admin.get(&format!("{EV}/subscription/{sub2}")).await.status,
        200
    );
}

#[tokio::test]
async fn push_registration_changes_and_a_400_acknowledgement() {
    let lab = lab().await;
    let (mut s, _) = open(&lab, ALICE, "set-p").await;
    let mut c = client(&lab, ALICE).await;
    subscribe(&mut c, ALICE.0, "Push Notification Registration", "set-p").await;
    let first = next_event(&mut s).await;
    assert_eq!(type_of(&first), "PushNotificationRegistrationEvent");
    // 400: "could not process this one" — dropped, not re-sent.
    assert_eq!(ack(&mut c, first.event_id().unwrap(), 400).await, 200);

    let reg = r#"<PushNotificationRegistration xmlns="http://schema.broadsoft.com/xsi"><applicationId>com.example.softphone</applicationId><applicationVersion>5.2.0</applicationVersion><registrationId>inst-9</registrationId><deviceOSType>iOS</deviceOSType><deviceOSVersion>17</deviceOSVersion><deviceTokenList><deviceToken><token>tok-z</token><pushNotificationEvents><event>NEW_CALL</event></pushNotificationEvents></deviceToken></deviceTokenList></PushNotificationRegistration>"#;
    let r = c
        .request(
            Method::POST,
            &common::user_path(ALICE.0, "profile/PushNotificationRegistrations/new"),
            &[],
            reg,
        )
        .await
        .unwrap();
    assert!(r.status == 200 || r.status == 201, "{r:?}");
    // The next event is the new full picture, not a re-sent copy of the first.
    let ev = next_event(&mut s).await;
    assert_eq!(type_of(&ev), "PushNotificationRegistrationEvent");
    assert_ne!(ev.event_id(), first.event_id());
    let xml = String::from_utf8(ev.to_xml()).unwrap();
    assert!(xml.contains("inst-9"), "{xml}");
    assert_eq!(
        ev.as_subscription().unwrap().sequence_number,
        2,
        "one counter per subscription"
    );
}
