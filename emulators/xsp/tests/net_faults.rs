//! Transport faults under the XSP's listeners, seen by a client: they hit the TLS handshake,
//! plain requests and an open event stream alike, and revert cleanly.

mod common;

use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_net::faults::{Toxic, ToxicRule};
use common::stream::{ASYNC_CHANNEL, EventStream};
use common::{Client, Lab, LabOptions, basic, user_path};

const ALICE: (&str, &str) = ("alice@lab.example", "Alice-pw1");

async fn get_profile(lab: &Lab) -> Result<u16, String> {
    let mut c = Client::connect(lab.xsp.https_addr(), lab.client_config(None))
        .await
        .map_err(|e| e.to_string())?
        .with_auth(ALICE.0, ALICE.1);
    c.request(
        hyper::Method::GET,
        &user_path(ALICE.0, "profile"),
        &[],
        bytes::Bytes::new(),
    )
    .await
    .map(|r| r.status)
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn reset_peer_and_limit_data_break_requests_until_reverted() {
    let lab = Lab::start().await;
    assert_eq!(get_profile(&lab).await, Ok(200));

    let reset = lab
        .xsp
        .net_faults()
        .add(ToxicRule::new(Toxic::ResetPeer { timeout: 0 }));
    assert!(get_profile(&lab).await.is_err(), "connection reset");
    assert!(lab.xsp.net_faults().remove(reset));

    // The server's answer is cut after 100 bytes: the TLS handshake itself fails.
    let cut = lab
        .xsp
        .net_faults()
        .add(ToxicRule::new(Toxic::LimitData { bytes: 100 }));
    assert!(get_profile(&lab).await.is_err());
    lab.xsp.net_faults().remove(cut);
    assert_eq!(get_profile(&lab).await, Ok(200));

    let f = Filter::kind(Kind::Fault).attr("fault", "reset_peer");
    assert_eq!(lab.journal.query(&f).len(), 2, "injected and reverted");
}

#[tokio::test(start_paused = true)]
async fn latency_on_an_open_event_stream() {
    let lab = Lab::start_with(LabOptions {
        events: Some(bwlab_xsp::EventsSettings::default()),
        ..Default::default()
    })
    .await;
    let mut s = EventStream::open(
        lab.xsp.https_addr(),
        lab.client_config(None),
        ASYNC_CHANNEL,
        Some(&basic(ALICE.0, ALICE.1)),
        r#"<Channel xmlns="http://schema.broadsoft.com/xsi"><channelSetId>s</channelSetId></Channel>"#,
    )
    .await
    .unwrap();
    let first = s.next_text().await;
    assert!(first.contains("channelId"));
    // Injected while the stream is open: the next chunk comes 2 s late.
    lab.xsp.net_faults().add(ToxicRule::new(Toxic::Latency {
        latency: 2000,
        jitter: 0,
    }));
    let t0 = tokio::time::Instant::now();
    // The subscription's initial event is the next chunk on the (now slow) stream.
    let body = r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>Do Not Disturb</event><channelSetId>s</channelSetId></Subscription>"#;
    let mut c = Client::connect(lab.xsp.https_addr(), lab.client_config(None))
        .await
        .unwrap()
        .with_auth(ALICE.0, ALICE.1);
    let r = c
        .request(
            hyper::Method::POST,
            &format!("/com.broadsoft.xsi-events/v2.0/user/{}", ALICE.0),
            &[],
            body,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let ev = tokio::time::timeout(Duration::from_secs(60), s.next_chunk())
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&ev).contains("DoNotDisturbEvent"));
    assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
}
