use std::time::Duration;

use super::{advance, lab, lab_with};
use crate::*;

const ALICE: &str = "alice@lab.example";
const BOB: &str = "bob@lab.example";

#[tokio::test(start_paused = true)]
async fn expires_rules() {
    let lab = lab();
    let mut req = lab.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    let g = lab.as_.subscribe(req.clone()).unwrap();
    assert_eq!(g.expires, 3600);
    req.packages = Packages::Single(EventPackage::CallWaiting);
    req.expires = Some(10);
    assert_eq!(lab.as_.subscribe(req.clone()).unwrap().expires, 3600);
    req.packages = Packages::Single(EventPackage::VoiceMessaging);
    req.expires = Some(NEVER_EXPIRES);
    assert_eq!(
        lab.as_.subscribe(req.clone()).unwrap().expires,
        NEVER_EXPIRES
    );
    let capped = lab_with(
        "r24",
        AsSettings {
            subscription_max_expires: 7200,
            allow_never_expires: false,
            ..AsSettings::default()
        },
    );
    let mut req = capped.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    req.expires = Some(NEVER_EXPIRES);
    assert_eq!(capped.as_.subscribe(req.clone()).unwrap().expires, 7200);
    req.expires = Some(5000);
    assert_eq!(capped.as_.subscribe(req).unwrap().expires, 5000);
}

#[tokio::test(start_paused = true)]
async fn expiry_sends_terminated_and_refresh_extends() {
    let lab = lab();
    let ch = lab.channel(ALICE, "a");
    lab.as_
        .refresh_channel(&Owner::user(ALICE), &ch, Some(NEVER_EXPIRES))
        .unwrap();
    let s1 = lab.sub(ALICE, EventPackage::DoNotDisturb, "a");
    let s2 = lab.sub(ALICE, EventPackage::CallWaiting, "a");
    advance(Duration::from_secs(3000)).await;
    let g = lab.as_.refresh_subscription(&s2, Some(3600)).unwrap();
    assert_eq!(g.expires, 3600);
    assert_eq!(
        lab.rec.kinds_of(&s2),
        ["CallWaitingEvent", "CallWaitingEvent"]
    );
    advance(Duration::from_secs(601)).await;
    assert!(lab.as_.subscription(&s1).is_none());
    assert_eq!(
        lab.rec.kinds_of(&s1),
        ["DoNotDisturbEvent", "SubscriptionTerminatedEvent"]
    );
    let info = lab.as_.subscription(&s2).unwrap();
    assert_eq!(info.expires, 2999);
    assert_eq!(
        lab.as_.refresh_subscription(&s1, None),
        Err(SubscribeError::NotFound)
    );
    advance(Duration::from_secs(3000)).await;
    assert!(lab.as_.subscription(&s2).is_none());
}

#[tokio::test(start_paused = true)]
async fn duplicates_replace() {
    let lab = lab();
    let req = lab.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    let a = lab.as_.subscribe(req.clone()).unwrap();
    let b = lab.as_.subscribe(req.clone()).unwrap();
    assert_eq!(a.subscription_id, b.subscription_id);
    assert_eq!(b.replaced.as_deref(), Some(&*a.subscription_id));
    // Another applicationId is a parallel subscription.
    let mut other = req.clone();
    other.application_id = Some("app2".into());
    let c = lab.as_.subscribe(other).unwrap();
    assert_ne!(c.subscription_id, a.subscription_id);
    // Package lists: one per (owner, target), replaced whatever the list.
    let mut list = req.clone();
    list.packages = Packages::List(vec![EventPackage::BasicCall, EventPackage::DoNotDisturb]);
    let l1 = lab.as_.subscribe(list.clone()).unwrap();
    list.packages = Packages::List(vec![EventPackage::CallWaiting]);
    let l2 = lab.as_.subscribe(list).unwrap();
    assert_ne!(l1.subscription_id, l2.subscription_id);
    assert!(lab.as_.subscription(&l1.subscription_id).is_none());
    assert_eq!(lab.as_.stats().subscriptions, 3);
    // Option: mint a new id and terminate the old one.
    let minted = lab_with(
        "r24",
        AsSettings {
            duplicate_mints_new_id: true,
            ..AsSettings::default()
        },
    );
    minted.channel(ALICE, "a");
    let req = minted.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    let a = minted.as_.subscribe(req.clone()).unwrap();
    let b = minted.as_.subscribe(req).unwrap();
    assert_ne!(a.subscription_id, b.subscription_id);
    assert_eq!(
        minted.rec.kinds_of(&a.subscription_id),
        ["DoNotDisturbEvent", "SubscriptionTerminatedEvent"]
    );
}

#[tokio::test(start_paused = true)]
async fn per_owner_limit() {
    let lab = lab_with(
        "r24",
        AsSettings {
            max_subscriptions_per_owner: 2,
            ..AsSettings::default()
        },
    );
    let mut req = lab.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    lab.as_.subscribe(req.clone()).unwrap();
    req.packages = Packages::Single(EventPackage::CallWaiting);
    lab.as_.subscribe(req.clone()).unwrap();
    // A duplicate still fits (it replaces).
    lab.as_.subscribe(req.clone()).unwrap();
    req.packages = Packages::Single(EventPackage::VoiceMessaging);
    assert_eq!(lab.as_.subscribe(req), Err(SubscribeError::LimitReached(2)));
}

#[tokio::test(start_paused = true)]
async fn query_filters() {
    let lab = lab();
    lab.sub(ALICE, EventPackage::DoNotDisturb, "a");
    let mut r = lab.request(ALICE, ALICE, EventPackage::BasicCall, "a");
    r.application_id = Some("x".into());
    lab.as_.subscribe(r).unwrap();
    let mut list = lab.request(ALICE, ALICE, EventPackage::BasicCall, "a");
    list.packages = Packages::List(vec![EventPackage::DoNotDisturb, EventPackage::CallWaiting]);
    let lid = lab.as_.subscribe(list).unwrap().subscription_id;
    let mut grp = lab.request(ALICE, ALICE, EventPackage::BasicCall, "a");
    grp.target = Target::Group {
        enterprise: "acme".into(),
        group: "hq".into(),
    };
    lab.as_.subscribe(grp).unwrap();
    lab.sub(BOB, EventPackage::DoNotDisturb, "b");

    let q = |q: SubscriptionQuery| lab.as_.query_subscriptions(&q).unwrap().len();
    let me = Some(Owner::user(ALICE));
    assert_eq!(
        q(SubscriptionQuery {
            owner: me.clone(),
            target_type: Some(TargetType::User),
            ..Default::default()
        }),
        3
    );
    assert_eq!(
        q(SubscriptionQuery {
            owner: me.clone(),
            event: Some(EventPackage::DoNotDisturb),
            ..Default::default()
        }),
        1,
        "lists only by id"
    );
    assert_eq!(
        q(SubscriptionQuery {
            owner: me.clone(),
            ext_app_id: Some("x".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        q(SubscriptionQuery {
            owner: me.clone(),
            target_type: Some(TargetType::Group),
            target_grp_parent_id: Some("acme".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        lab.as_.query_subscriptions(&SubscriptionQuery {
            owner: me.clone(),
            target_type: Some(TargetType::Group),
            ..Default::default()
        }),
        Err(SubscribeError::MissingGroupParent)
    );
    assert_eq!(
        q(SubscriptionQuery {
            target_id: Some(BOB.into()),
            ..Default::default()
        }),
        1
    );
    let info = lab.as_.subscription(&lid).unwrap();
    assert_eq!(info.packages.as_slice().len(), 2);
    assert_eq!(
        &*info.call_control_application_name,
        "com.broadsoft.xsi-events"
    );
    lab.as_.delete_subscription(&lid).unwrap();
    assert_eq!(
        lab.as_.delete_subscription(&lid),
        Err(SubscribeError::NotFound)
    );
}

#[tokio::test(start_paused = true)]
async fn group_and_enterprise_subscriptions_see_members_without_initial_state() {
    let lab = lab();
    lab.channel(ALICE, "a");
    let mut grp = lab.request(ALICE, ALICE, EventPackage::BasicCall, "a");
    grp.target = Target::Group {
        enterprise: "acme".into(),
        group: "hq".into(),
    };
    let g = lab.as_.subscribe(grp).unwrap().subscription_id;
    let mut ent = lab.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    ent.target = Target::Enterprise("acme".into());
    let e = lab.as_.subscribe(ent).unwrap().subscription_id;
    assert!(lab.rec.kinds_of(&g).is_empty());
    lab.as_.calls().dial(BOB, "101").unwrap();
    let k = lab.rec.kinds_of(&g);
    assert!(k.contains(&"CallOriginatedEvent") && k.contains(&"CallReceivedEvent"));
    lab.as_
        .service_changed("gus@lab.example", bwlab_model::ServiceKind::DoNotDisturb);
    assert_eq!(lab.rec.kinds_of(&e), ["DoNotDisturbEvent"]);
    let n = lab
        .rec
        .take()
        .into_iter()
        .find(|n| *n.subscription_id == *e)
        .unwrap();
    assert!(
        matches!(&*n.data, EventData::Service { info: None, .. }),
        "gus has no DND: unassigned"
    );
    assert_eq!(n.target_id.as_deref(), Some("gus@lab.example"));
    // Sequence numbers count per subscription.
    let seqs: Vec<u32> = lab.rec.take().iter().map(|n| n.sequence_number).collect();
    assert!(seqs.is_empty());
    assert_eq!(
        lab.as_.subscribe({
            let mut r = lab.request(ALICE, ALICE, EventPackage::BasicCall, "a");
            r.target = Target::Group {
                enterprise: "acme".into(),
                group: "nope".into(),
            };
            r
        }),
        Err(SubscribeError::UnknownTarget)
    );
}

#[tokio::test(start_paused = true)]
async fn service_and_data_hooks() {
    let lab = lab();
    lab.channel(ALICE, "a");
    let dnd = lab.sub(ALICE, EventPackage::DoNotDisturb, "a");
    let vm = lab.sub(ALICE, EventPackage::VoiceMailMessageSummary, "a");
    let push = lab.sub(ALICE, EventPackage::PushNotificationRegistration, "a");
    let alice = lab.as_.store().find_user(ALICE).unwrap();
    lab.as_
        .store()
        .assign_service_with(
            alice.idx,
            bwlab_model::services::DoNotDisturb {
                active: true,
                ring_splash: true,
            },
        )
        .unwrap();
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    lab.as_.voice_messages_changed(ALICE);
    lab.as_.push_registrations_changed(ALICE);
    assert_eq!(
        lab.rec.kinds_of(&dnd),
        ["DoNotDisturbEvent", "DoNotDisturbEvent"]
    );
    assert_eq!(lab.rec.kinds_of(&vm).len(), 2);
    assert_eq!(
        lab.rec.kinds_of(&push),
        ["PushNotificationRegistrationEvent"; 2]
    );
    let evs = lab.rec.take();
    let last = evs
        .iter()
        .rev()
        .find(|n| *n.subscription_id == *dnd)
        .unwrap();
    assert_eq!(
        *last.data,
        EventData::Service {
            package: EventPackage::DoNotDisturb,
            info: Some(ServiceInfo::DoNotDisturb {
                active: true,
                ring_splash: true
            })
        }
    );
    let seq: Vec<u32> = evs
        .iter()
        .filter(|n| *n.subscription_id == *dnd)
        .map(|n| n.sequence_number)
        .collect();
    assert_eq!(seq, [1, 2]);
}

#[tokio::test(start_paused = true)]
async fn http_contact_delivery() {
    let lab = lab();
    let mut r = lab.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    r.route = SubscriptionRoute::HttpContact("https://app.example/notify".into());
    lab.as_.subscribe(r).unwrap();
    let http = lab.rec.http.lock().clone();
    assert_eq!(http.len(), 1);
    assert_eq!(http[0].0, "https://app.example/notify");
    assert_eq!(
        http[0].1.route,
        Route::HttpContact("https://app.example/notify".into())
    );
}

#[tokio::test(start_paused = true)]
async fn shared_subscriptions_get_one_notification() {
    let lab = lab();
    lab.channel(ALICE, "a");
    let mut r1 = lab.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    r1.shared_subscription_id = Some("ssid".into());
    r1.application_id = Some("one".into());
    let mut r2 = r1.clone();
    r2.application_id = Some("two".into());
    let s1 = lab.as_.subscribe(r1).unwrap().subscription_id;
    let s2 = lab.as_.subscribe(r2).unwrap().subscription_id;
    lab.rec.take();
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    let evs = lab.rec.take();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].shared_subscription_id.as_deref(), Some("ssid"));
    assert!(evs[0].subscription_id == s1 || evs[0].subscription_id == s2);
}

#[tokio::test(start_paused = true)]
async fn sequence_numbers_wrap_per_subscription() {
    let lab = lab();
    lab.channel(ALICE, "a");
    let id = lab.sub(ALICE, EventPackage::DoNotDisturb, "a");
    lab.as_
        .inner
        .subs
        .get(&id)
        .unwrap()
        .seq_set_next(SequenceCounter::MAX);
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
    let seqs: Vec<u32> = lab.rec.take().iter().map(|n| n.sequence_number).collect();
    assert_eq!(seqs, [1, SequenceCounter::MAX, 1]);
}

#[tokio::test(start_paused = true)]
async fn replaced_subscription_keeps_its_id_and_the_new_lifetime() {
    let lab = lab();
    let req = lab.request(ALICE, ALICE, EventPackage::DoNotDisturb, "a");
    let a = lab.as_.subscribe(req.clone()).unwrap();
    advance(Duration::from_secs(3000)).await;
    let b = lab.as_.subscribe(req).unwrap();
    assert_eq!(a.subscription_id, b.subscription_id);
    advance(Duration::from_secs(700)).await;
    assert_eq!(
        lab.as_.subscription(&b.subscription_id).unwrap().expires,
        2900
    );
    assert_eq!(lab.as_.stats().subscriptions, 1);
    advance(Duration::from_secs(2901)).await;
    assert!(lab.as_.subscription(&b.subscription_id).is_none());
}
