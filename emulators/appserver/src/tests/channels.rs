use std::sync::Arc;
use std::time::Duration;

use super::{Recorder, advance, lab, lab_with};
use crate::*;

const ALICE: &str = "alice@lab.example";

fn open(lab: &super::Lab, set: &str, priority: u32, weight: u32, host: EventsAppId) -> Arc<str> {
    lab.as_
        .open_channel(OpenChannel {
            owner: Owner::user(ALICE),
            channel_set_id: set.into(),
            priority: Some(priority),
            weight: Some(weight),
            expires: None,
            application_id: None,
            host,
        })
        .unwrap()
        .channel_id
}

fn on(n: &Notification) -> String {
    n.channel_id().unwrap().to_owned()
}

#[tokio::test(start_paused = true)]
async fn lowest_priority_first_then_weighted() {
    let lab = lab();
    let low = open(&lab, "s", 2, 50, lab.app);
    let a = open(&lab, "s", 1, 90, lab.app);
    let b = open(&lab, "s", 1, 10, lab.app);
    lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    for _ in 0..999 {
        lab.as_
            .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    }
    let evs = lab.rec.take();
    let count = |c: &str| evs.iter().filter(|n| on(n) == c).count();
    assert_eq!(count(&low), 0);
    let (ca, cb) = (count(&a), count(&b));
    assert_eq!(ca + cb, 1000);
    assert!((850..=950).contains(&ca), "weights 90/10 gave {ca}/{cb}");
    // Same seed, same choices.
    let again = lab_with("r24", AsSettings::default());
    let _ = (again.as_.stats(), low);
}

#[tokio::test(start_paused = true)]
async fn ack_codes() {
    let lab = lab();
    lab.manual_acks();
    let c1 = open(&lab, "s", 1, 50, lab.app);
    let c2 = open(&lab, "s", 2, 50, lab.app);
    let sid = lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    let first = lab.rec.take().pop().unwrap();
    assert_eq!(on(&first), *c1);
    assert_eq!(
        lab.as_
            .event_response(lab.app, &first.event_id, EventResponseCode::Ok),
        Ok(AckOutcome::Done)
    );
    assert!(matches!(
        lab.as_
            .event_response(lab.app, &first.event_id, EventResponseCode::Ok),
        Err(AckError::UnknownEvent(_))
    ));
    // 400: dropped.
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    let n = lab.rec.take().pop().unwrap();
    assert_eq!(
        lab.as_
            .event_response(lab.app, &n.event_id, EventResponseCode::BadEvent),
        Ok(AckOutcome::Dropped)
    );
    assert!(lab.rec.take().is_empty());
    // 500: same event re-sent on the next channel.
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    let n = lab.rec.take().pop().unwrap();
    assert_eq!(
        lab.as_
            .event_response(lab.app, &n.event_id, EventResponseCode::ClientError),
        Ok(AckOutcome::Resent(Some(c2.clone())))
    );
    let again = lab.rec.take().pop().unwrap();
    assert_eq!(again.event_id, n.event_id);
    assert_eq!(again.sequence_number, n.sequence_number);
    assert_eq!(on(&again), *c2);
    lab.as_
        .event_response(lab.app, &again.event_id, EventResponseCode::Ok)
        .unwrap();
    // 404: channel deleted (UnknownChannel), re-sent on the next one.
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    let n = lab.rec.take().pop().unwrap();
    assert_eq!(on(&n), *c1);
    assert_eq!(
        lab.as_
            .event_response(lab.app, &n.event_id, EventResponseCode::UnknownChannel),
        Ok(AckOutcome::Resent(Some(c2.clone())))
    );
    assert_eq!(
        lab.rec.terminations(),
        [(c1.to_string(), ChannelTerminatedReason::UnknownChannel)]
    );
    assert!(lab.as_.channel(&c1).is_none());
    let n = lab.rec.take().pop().unwrap();
    // 481: subscription deleted, no terminated event.
    assert_eq!(
        lab.as_
            .event_response(lab.app, &n.event_id, EventResponseCode::UnknownSubscription),
        Ok(AckOutcome::SubscriptionDeleted)
    );
    assert!(lab.as_.subscription(&sid).is_none());
    assert!(lab.rec.take().is_empty());
    assert_eq!(
        EventResponseCode::from_code(481),
        Some(EventResponseCode::UnknownSubscription)
    );
    assert_eq!(EventResponseCode::from_code(302), None);
}

#[tokio::test(start_paused = true)]
async fn ack_timeout_fails_over_then_non_responsive() {
    let lab = lab();
    lab.manual_acks();
    let c1 = open(&lab, "s", 1, 50, lab.app);
    let c2 = open(&lab, "s", 2, 50, lab.app);
    lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    let n = lab.rec.take().pop().unwrap();
    assert_eq!(on(&n), *c1);
    advance(Duration::from_secs(10)).await;
    let n2 = lab.rec.take().pop().unwrap();
    assert_eq!(on(&n2), *c2);
    assert_eq!(n2.event_id, n.event_id);
    advance(Duration::from_secs(10)).await;
    let mut t = lab.rec.terminations();
    t.sort();
    let mut want = vec![
        (
            c1.to_string(),
            ChannelTerminatedReason::NonResponsiveChannel,
        ),
        (
            c2.to_string(),
            ChannelTerminatedReason::NonResponsiveChannel,
        ),
    ];
    want.sort();
    assert_eq!(t, want);
    assert_eq!(lab.as_.stats().ack_timeouts, 2);
    assert_eq!(lab.as_.stats().channels, 0);
}

#[tokio::test(start_paused = true)]
async fn affinity_wrong_instance_is_refused() {
    let lab = lab();
    lab.manual_acks();
    let other = Arc::new(Recorder::default());
    let xsp2 = lab
        .as_
        .register_events_app("xsp2", "com.broadsoft.xsi-events", other.clone());
    let c1 = open(&lab, "s", 1, 50, lab.app);
    lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    let n = lab.rec.take().pop().unwrap();
    assert_eq!(
        lab.as_
            .event_response(xsp2, &n.event_id, EventResponseCode::Ok),
        Err(AckError::NotHostedHere {
            channel_id: c1.clone()
        })
    );
    assert_eq!(
        lab.as_
            .event_response(lab.app, &n.event_id, EventResponseCode::Ok),
        Ok(AckOutcome::Done)
    );
    // A channel on xsp2 of the same set receives events too.
    let c2 = open(&lab, "s", 1, 50, xsp2);
    lab.as_.channel_lost(&c1);
    assert!(
        lab.rec.terminations().is_empty(),
        "lost channels get no terminate"
    );
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    assert_eq!(on(&other.take()[0]), *c2);
    assert_eq!(lab.as_.channel(&c2).unwrap().host_node.as_ref(), "xsp2");
    // Unregistering the node drops its channels silently.
    lab.as_.unregister_events_app(xsp2);
    assert!(lab.as_.channel(&c2).is_none());
    assert!(other.terminations().is_empty());
}

#[tokio::test(start_paused = true)]
async fn mismatched_call_control_application_name_loses_events() {
    let lab = lab();
    let other = Arc::new(Recorder::default());
    let renamed = lab
        .as_
        .register_events_app("xsp2", "com.example.renamed", other.clone());
    open(&lab, "s", 1, 50, renamed);
    lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    assert!(other.take().is_empty());
    assert_eq!(lab.as_.stats().lost_app_name, 1);
    let lost = lab.as_.journal().query(
        &bwlab_core::journal::Filter::kind(bwlab_core::journal::Kind::Event)
            .attr("lost", "call_control_application_name"),
    );
    assert_eq!(lost.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn renaming_an_instance_changes_routing_at_once() {
    let lab = lab();
    let other = Arc::new(Recorder::default());
    let xsp2 = lab
        .as_
        .register_events_app("xsp2", "com.broadsoft.xsi-events", other.clone());
    open(&lab, "s", 1, 50, xsp2);
    // Drift: xsp2 renamed while its channel stays open; xsp1's subscriptions are lost.
    assert!(lab.as_.rename_events_app(xsp2, "com.example.renamed"));
    assert_eq!(
        lab.as_.events_app_name(xsp2).as_deref(),
        Some("com.example.renamed")
    );
    lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    assert!(other.take().is_empty());
    assert_eq!(lab.as_.stats().lost_app_name, 1);
    // Revert: delivered again.
    assert!(lab.as_.rename_events_app(xsp2, "com.broadsoft.xsi-events"));
    lab.sub(ALICE, EventPackage::AdvancedCall, "s");
    assert_eq!(other.take().len(), 1);
    lab.as_.unregister_events_app(xsp2);
    assert!(!lab.as_.rename_events_app(xsp2, "x"));
}

#[tokio::test(start_paused = true)]
async fn duplicate_channel_set_expiry_limit_delete() {
    let lab = lab();
    let mk = |set: &str, app: Option<&str>, expires: Option<u32>| {
        lab.as_.open_channel(OpenChannel {
            owner: Owner::user(ALICE),
            channel_set_id: set.into(),
            priority: None,
            weight: None,
            expires,
            application_id: app.map(Into::into),
            host: lab.app,
        })
    };
    let a1 = mk("s1", Some("app"), None).unwrap();
    assert_eq!(a1.expires, 3600);
    let a2 = mk("s1", Some("app"), Some(100)).unwrap();
    assert_eq!(a2.expires, 3600);
    let b1 = mk("s2", Some("app"), Some(NEVER_EXPIRES)).unwrap();
    assert_eq!(b1.expires, NEVER_EXPIRES);
    let mut t = lab.rec.terminations();
    t.sort();
    let mut want = vec![
        (
            a1.channel_id.to_string(),
            ChannelTerminatedReason::DuplicateChannelSet,
        ),
        (
            a2.channel_id.to_string(),
            ChannelTerminatedReason::DuplicateChannelSet,
        ),
    ];
    want.sort();
    assert_eq!(t, want);
    lab.rec.terminated.lock().clear();
    let info = lab.as_.channel_set(&Owner::user(ALICE), "s2");
    assert_eq!(info.len(), 1);
    assert_eq!((info[0].priority, info[0].weight), (1, 50));
    // Expiry and refresh.
    let e = mk("s3", None, Some(4000)).unwrap();
    advance(Duration::from_secs(3900)).await;
    assert_eq!(
        lab.as_
            .refresh_channel(&Owner::user(ALICE), &e.channel_id, Some(3800))
            .unwrap()
            .expires,
        3800
    );
    advance(Duration::from_secs(3799)).await;
    assert!(lab.as_.channel(&e.channel_id).is_some());
    advance(Duration::from_secs(2)).await;
    assert_eq!(
        lab.rec.terminations(),
        [(e.channel_id.to_string(), ChannelTerminatedReason::Expired)]
    );
    // Limit.
    for _ in 0..8 {
        mk("full", None, None).unwrap();
    }
    assert_eq!(mk("full", None, None), Err(ChannelError::SetFull(8)));
    // Delete.
    lab.as_
        .delete_channel(&Owner::user(ALICE), &b1.channel_id)
        .unwrap();
    assert_eq!(
        lab.rec.terminations().last().unwrap().1,
        ChannelTerminatedReason::ExplicitDelete
    );
    assert_eq!(
        lab.as_
            .delete_channel(&Owner::user("bob@lab.example"), &a1.channel_id),
        Err(ChannelError::NotFound)
    );
}

#[tokio::test(start_paused = true)]
async fn no_live_channel_drops_or_replays() {
    let lab = lab();
    lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    assert_eq!(lab.as_.stats().dropped_no_channel, 1);
    let replay = lab_with(
        "r24",
        AsSettings {
            replay_queue: 2,
            ..AsSettings::default()
        },
    );
    replay.sub(ALICE, EventPackage::DoNotDisturb, "s");
    for _ in 0..2 {
        replay
            .as_
            .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    }
    assert_eq!(replay.as_.stats().dropped_no_channel, 1);
    replay.channel(ALICE, "s");
    let seqs: Vec<u32> = replay
        .rec
        .take()
        .iter()
        .map(|n| n.sequence_number)
        .collect();
    assert_eq!(seqs, [2, 3]);
}

#[tokio::test(start_paused = true)]
async fn refused_delivery_tries_the_next_channel() {
    let lab = lab();
    let other = Arc::new(Recorder::default());
    let xsp2 = lab
        .as_
        .register_events_app("xsp2", "com.broadsoft.xsi-events", other.clone());
    let c1 = open(&lab, "s", 1, 50, lab.app);
    let c2 = open(&lab, "s", 2, 50, xsp2);
    *lab.rec.refuse.lock() = Some(Delivery::QueueFull);
    lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    assert_eq!(on(&other.take()[0]), *c2);
    *lab.rec.refuse.lock() = Some(Delivery::NotHere);
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    assert_eq!(other.take().len(), 1);
    assert!(
        lab.as_.channel(&c1).is_none(),
        "NotHere forgets the channel"
    );
}
