use std::time::Duration;

use bwlab_model::CallLogKind;

use super::{advance, lab, settle};
use crate::*;

const ALICE: &str = "alice@lab.example";
const BOB: &str = "bob@lab.example";
const CAROL: &str = "carol@lab.example";

#[tokio::test(start_paused = true)]
async fn basic_call_answer_release_events_and_logs() {
    let lab = lab();
    lab.channel(ALICE, "a");
    lab.channel(BOB, "b");
    let sa = lab.sub(ALICE, EventPackage::BasicCall, "a");
    let sb = lab.sub(BOB, EventPackage::AdvancedCall, "b");
    let h = lab.as_.calls().dial(ALICE, "102").unwrap();
    let term = h.terminator.clone().unwrap();
    assert!(h.originator.starts_with("callhalf-") && h.originator.ends_with(":0"));
    assert!(h.ext_tracking_id.ends_with(":1"));
    assert_eq!(lab.as_.calls().hook_status(ALICE), HookStatus::OffHook);
    assert_eq!(lab.as_.calls().hook_status(BOB), HookStatus::OnHook);
    lab.as_.calls().answer(&term).unwrap();
    assert_eq!(lab.as_.calls().hook_status(BOB), HookStatus::OffHook);
    advance(Duration::from_secs(30)).await;
    lab.as_.calls().release(&h.originator).unwrap();
    assert_eq!(
        lab.rec.kinds_of(&sa),
        [
            "CallSubscriptionEvent",
            "HookStatusEvent",
            "CallOriginatedEvent",
            "CallAnsweredEvent",
            "CallReleasedEvent",
            "HookStatusEvent"
        ]
    );
    assert_eq!(
        lab.rec.kinds_of(&sb),
        [
            "CallSubscriptionEvent",
            "CallReceivedEvent",
            "HookStatusEvent",
            "CallAnsweredEvent",
            "CallReleasedEvent",
            "HookStatusEvent"
        ]
    );
    let evs = lab.rec.take();
    let released = evs
        .iter()
        .filter(|n| *n.subscription_id == *sb)
        .find(|n| n.data.kind() == EventKind::CallReleased)
        .unwrap();
    let call = released.data.call().unwrap();
    assert_eq!(call.personality, Personality::Terminator);
    assert_eq!(call.releasing_party, Some(ReleasingParty::Remote));
    assert_eq!(call.remote_party.address.as_deref(), Some("tel:101"));
    assert_eq!(call.remote_party.user_id.as_deref(), Some(ALICE));
    assert_eq!(call.remote_party.call_type, CallType::Group);
    assert_eq!(
        call.release_time.unwrap() - call.answer_time.unwrap(),
        30_000
    );
    assert_eq!(call.ext_tracking_id, h.ext_tracking_id);
    // Hook status events carry the state.
    assert!(
        evs.iter()
            .any(|n| matches!(&*n.data, EventData::HookStatus(HookStatus::OnHook)))
    );
    // Logs on both sides.
    let store = lab.as_.store();
    let a = store.find_user(ALICE).unwrap();
    let b = store.find_user(BOB).unwrap();
    assert_eq!(
        store
            .call_logs(a.idx, Some(CallLogKind::Placed))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .call_logs(b.idx, Some(CallLogKind::Received))
            .unwrap()
            .len(),
        1
    );
    assert!(lab.as_.calls().calls_of(ALICE).is_empty());
    assert_eq!(lab.as_.stats().calls, 0);
}

#[tokio::test(start_paused = true)]
async fn unknown_destination_is_released_user_not_found() {
    let lab = lab();
    lab.channel(ALICE, "a");
    let sa = lab.sub(ALICE, EventPackage::StandardCall, "a");
    let h = lab.as_.calls().dial(ALICE, "999").unwrap();
    assert!(h.terminator.is_none());
    assert!(h.ended);
    assert_eq!(
        lab.rec.kinds_of(&sa),
        [
            "CallSubscriptionEvent",
            "HookStatusEvent",
            "CallOriginatedEvent",
            "CallReleasingEvent",
            "CallReleasedEvent",
            "HookStatusEvent"
        ]
    );
    let evs = lab.rec.take();
    let releasing = evs
        .iter()
        .find(|n| n.data.kind() == EventKind::CallReleasing)
        .unwrap();
    assert_eq!(
        releasing.data.call().unwrap().release_cause,
        Some(ReleaseCause::UserNotFound)
    );
}

#[tokio::test(start_paused = true)]
async fn hold_retrieve_seen_by_standard_not_basic() {
    let lab = lab();
    lab.channel(ALICE, "a");
    lab.channel(BOB, "b");
    let basic = lab.sub(ALICE, EventPackage::BasicCall, "a");
    let std = lab.sub(BOB, EventPackage::StandardCall, "b");
    let h = lab.as_.calls().dial(ALICE, "102").unwrap();
    lab.as_
        .calls()
        .answer(h.terminator.as_ref().unwrap())
        .unwrap();
    lab.as_.calls().hold(&h.originator).unwrap();
    assert_eq!(
        lab.as_
            .calls()
            .call(h.terminator.as_ref().unwrap())
            .unwrap()
            .state,
        CallState::RemoteHeld
    );
    assert!(lab.as_.calls().hold(&h.originator).is_err());
    lab.as_.calls().retrieve(&h.originator).unwrap();
    assert!(!lab.rec.kinds_of(&basic).contains(&"CallHeldEvent"));
    let k = lab.rec.kinds_of(&std);
    assert!(k.contains(&"CallHeldEvent") && k.contains(&"CallRetrievedEvent"));
}

#[tokio::test(start_paused = true)]
async fn dnd_advanced_sees_received_then_released_caller_gets_busy() {
    let lab = lab();
    let dan = "dan@lab.example";
    lab.channel(dan, "d");
    lab.channel(ALICE, "a");
    let adv = lab.sub(dan, EventPackage::AdvancedCall, "d");
    let basic = lab.sub(dan, EventPackage::BasicCall, "d");
    let caller = lab.sub(ALICE, EventPackage::StandardCall, "a");
    lab.as_.calls().dial(ALICE, "104").unwrap();
    assert_eq!(
        lab.rec.kinds_of(&adv),
        [
            "CallSubscriptionEvent",
            "CallReceivedEvent",
            "CallReleasedEvent"
        ]
    );
    assert_eq!(lab.rec.kinds_of(&basic), ["CallSubscriptionEvent"]);
    let k = lab.rec.kinds_of(&caller);
    assert!(k.contains(&"CallReleasingEvent"));
    let evs = lab.rec.take();
    let rel = evs
        .iter()
        .filter(|n| *n.subscription_id == *caller)
        .find(|n| n.data.kind() == EventKind::CallReleasing)
        .unwrap();
    assert_eq!(
        rel.data.call().unwrap().release_cause,
        Some(ReleaseCause::Busy)
    );
    let d = lab.as_.store().find_user(dan).unwrap();
    assert_eq!(
        lab.as_
            .store()
            .call_logs(d.idx, Some(CallLogKind::Missed))
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn dnd_with_voicemail_deposits_a_message() {
    let lab = lab();
    let carol = lab.as_.store().find_user(CAROL).unwrap();
    lab.as_
        .store()
        .assign_service_with(
            carol.idx,
            bwlab_model::services::DoNotDisturb {
                active: true,
                ring_splash: false,
            },
        )
        .unwrap();
    lab.channel(CAROL, "c");
    let adv = lab.sub(CAROL, EventPackage::AdvancedCall, "c");
    let vm = lab.sub(CAROL, EventPackage::VoiceMailMessageSummary, "c");
    let h = lab.as_.calls().dial(ALICE, "103").unwrap();
    assert_eq!(
        lab.rec.kinds_of(&adv),
        [
            "CallSubscriptionEvent",
            "CallReceivedEvent",
            "CallRedirectedEvent",
            "CallReleasedEvent"
        ]
    );
    advance(Duration::from_secs(20)).await;
    lab.as_.calls().release(&h.originator).unwrap();
    assert_eq!(
        lab.rec.kinds_of(&vm),
        [
            "VoiceMailMessageSummaryEvent",
            "VoiceMailMessageSummaryEvent"
        ]
    );
    let last = lab
        .rec
        .take()
        .into_iter()
        .rev()
        .find(|n| *n.subscription_id == *vm)
        .unwrap();
    assert!(matches!(&*last.data, EventData::VoiceMailSummary(s) if s.new == 1));
    let msgs = lab.as_.store().voice_messages(carol.idx).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].duration_ms, Some(20_000));
}

#[tokio::test(start_paused = true)]
async fn call_forwarding_always_redirects_to_the_target() {
    let lab = lab();
    let erin = "erin@lab.example";
    lab.channel(erin, "e");
    lab.channel(ALICE, "a");
    lab.channel(BOB, "b");
    let e = lab.sub(erin, EventPackage::AdvancedCall, "e");
    let a = lab.sub(ALICE, EventPackage::StandardCall, "a");
    let b = lab.sub(BOB, EventPackage::BasicCall, "b");
    let h = lab.as_.calls().dial(ALICE, "105").unwrap();
    assert_eq!(
        lab.rec.kinds_of(&e),
        [
            "CallSubscriptionEvent",
            "CallReceivedEvent",
            "CallRedirectedEvent",
            "CallReleasedEvent"
        ]
    );
    assert_eq!(
        lab.rec.kinds_of(&a),
        [
            "CallSubscriptionEvent",
            "HookStatusEvent",
            "CallOriginatedEvent",
            "CallForwardedEvent"
        ]
    );
    assert_eq!(
        lab.rec.kinds_of(&b),
        ["CallSubscriptionEvent", "CallReceivedEvent"]
    );
    let fwd = lab
        .rec
        .take()
        .into_iter()
        .find(|n| n.data.kind() == EventKind::CallForwarded)
        .unwrap();
    let call = fwd.data.call().unwrap();
    assert_eq!(call.remote_party.user_id.as_deref(), Some(BOB));
    assert_eq!(
        call.redirect.as_ref().unwrap().reason,
        RedirectReason::Unconditional
    );
    let term = lab
        .as_
        .calls()
        .session(&h.originator)
        .unwrap()
        .terminator
        .unwrap();
    assert_eq!(
        lab.as_.calls().call(&term).unwrap().personality,
        Personality::Terminator
    );
}

#[tokio::test(start_paused = true)]
async fn busy_without_call_waiting_forwards_or_rejects() {
    let lab = lab();
    // bob is on a call; bob has no call waiting and no forwarding: alice gets busy.
    let first = lab.as_.calls().dial(CAROL, "102").unwrap();
    lab.as_
        .calls()
        .answer(first.terminator.as_ref().unwrap())
        .unwrap();
    lab.channel(ALICE, "a");
    let a = lab.sub(ALICE, EventPackage::BasicCall, "a");
    let h = lab.as_.calls().dial(ALICE, "102").unwrap();
    assert!(h.ended);
    let evs = lab.rec.take();
    let releasing = evs
        .iter()
        .find(|n| *n.subscription_id == *a && n.data.kind() == EventKind::CallReleasing);
    assert_eq!(
        releasing.unwrap().data.call().unwrap().release_cause,
        Some(ReleaseCause::Busy)
    );
    // gus is busy (with alice), has no call waiting and forwards busy calls to fay.
    let g = lab
        .as_
        .calls()
        .dial("gus@lab.example", "+15550100101")
        .unwrap();
    lab.as_
        .calls()
        .answer(g.terminator.as_ref().unwrap())
        .unwrap();
    let h2 = lab.as_.calls().dial(BOB, "+15550100107").unwrap();
    let t = lab
        .as_
        .calls()
        .session(&h2.originator)
        .unwrap()
        .terminator
        .unwrap();
    let snap = lab.as_.calls().call(&t).unwrap();
    assert_eq!(snap.state, CallState::Alerting);
    assert_eq!(lab.as_.calls().calls_of("fay@lab.example").len(), 1);
    let orig = lab.as_.calls().call(&h2.originator).unwrap();
    assert_eq!(orig.redirect.unwrap().reason, RedirectReason::UserBusy);
}

#[tokio::test(start_paused = true)]
async fn no_answer_goes_to_voicemail_after_the_rings() {
    let lab = lab();
    lab.channel(CAROL, "c");
    let s = lab.sub(CAROL, EventPackage::StandardCall, "c");
    let h = lab.as_.calls().dial(ALICE, "103").unwrap();
    advance(Duration::from_secs(11)).await;
    assert_eq!(
        lab.rec.kinds_of(&s),
        ["CallSubscriptionEvent", "CallReceivedEvent"]
    );
    advance(Duration::from_secs(2)).await; // 2 rings × 6 s
    assert_eq!(
        lab.rec.kinds_of(&s),
        [
            "CallSubscriptionEvent",
            "CallReceivedEvent",
            "CallReleasedEvent"
        ]
    );
    let snap = lab.as_.calls().call(&h.originator).unwrap();
    assert_eq!(snap.state, CallState::Active);
    assert_eq!(snap.redirect.unwrap().reason, RedirectReason::NoAnswer);
    lab.as_.calls().release(&h.originator).unwrap();
    let carol = lab.as_.store().find_user(CAROL).unwrap();
    assert_eq!(
        lab.as_
            .store()
            .message_summary(carol.idx)
            .unwrap()
            .new_messages,
        1
    );
    assert_eq!(
        lab.as_
            .store()
            .call_logs(carol.idx, Some(CallLogKind::Missed))
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn no_answer_forwarding_after_configured_rings() {
    let lab = lab();
    let h = lab.as_.calls().dial(BOB, "106").unwrap();
    advance(Duration::from_secs(17)).await;
    assert_eq!(lab.as_.calls().calls_of("fay@lab.example").len(), 1);
    advance(Duration::from_secs(1)).await; // 3 rings
    assert!(lab.as_.calls().calls_of("fay@lab.example").is_empty());
    let t = lab
        .as_
        .calls()
        .session(&h.originator)
        .unwrap()
        .terminator
        .unwrap();
    assert_eq!(
        lab.as_
            .calls()
            .call(&t)
            .unwrap()
            .remote_party
            .user_id
            .as_deref(),
        Some(BOB)
    );
    assert_eq!(lab.as_.calls().calls_of(ALICE).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn blind_transfer_moves_the_remote_party() {
    let lab = lab();
    lab.channel(ALICE, "a");
    lab.channel(CAROL, "c");
    let a = lab.sub(ALICE, EventPackage::StandardCall, "a");
    let c = lab.sub(CAROL, EventPackage::BasicCall, "c");
    let h = lab.as_.calls().dial(ALICE, "102").unwrap();
    let bob_half = h.terminator.clone().unwrap();
    lab.as_.calls().answer(&bob_half).unwrap();
    lab.as_.calls().transfer(&bob_half, "103").unwrap();
    assert!(lab.as_.calls().calls_of(BOB).is_empty());
    let k = lab.rec.kinds_of(&a);
    assert_eq!(k.last(), Some(&"CallTransferredEvent"));
    assert_eq!(
        lab.rec.kinds_of(&c),
        ["CallSubscriptionEvent", "CallReceivedEvent"]
    );
    let now = lab.as_.calls().session(&h.originator).unwrap();
    lab.as_
        .calls()
        .answer(now.terminator.as_ref().unwrap())
        .unwrap();
    assert_eq!(lab.rec.kinds_of(&a).last(), Some(&"CallAnsweredEvent"));
    let snap = lab.as_.calls().call(&h.originator).unwrap();
    assert_eq!(snap.remote_party.user_id.as_deref(), Some(CAROL));
    lab.as_.calls().release(&h.originator).unwrap();
    assert!(lab.as_.calls().calls_of(CAROL).is_empty());
}

#[tokio::test(start_paused = true)]
async fn scripted_call_runs_on_tokio_time() {
    let lab = lab();
    lab.channel(BOB, "b");
    let b = lab.sub(BOB, EventPackage::BasicCall, "b");
    let (_h, task) = lab
        .as_
        .call(ALICE, "102")
        .answer_after(Duration::from_secs(3))
        .release_after(Duration::from_secs(10))
        .start()
        .unwrap();
    settle().await;
    assert_eq!(
        lab.rec.kinds_of(&b),
        ["CallSubscriptionEvent", "CallReceivedEvent"]
    );
    task.await.unwrap();
    assert_eq!(
        lab.rec.kinds_of(&b),
        [
            "CallSubscriptionEvent",
            "CallReceivedEvent",
            "HookStatusEvent",
            "CallAnsweredEvent",
            "CallReleasedEvent",
            "HookStatusEvent"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn initial_state_lists_current_calls() {
    let lab = lab();
    let h = lab.as_.calls().dial(ALICE, "102").unwrap();
    lab.as_
        .calls()
        .answer(h.terminator.as_ref().unwrap())
        .unwrap();
    lab.channel(BOB, "b");
    lab.sub(BOB, EventPackage::AdvancedCall, "b");
    let evs = lab.rec.take();
    let EventData::CallSubscription(s) = &*evs[0].data else {
        panic!("{:?}", evs[0].data)
    };
    assert_eq!(s.hook_status, HookStatus::OffHook);
    assert_eq!(s.calls.len(), 1);
    assert_eq!(s.calls[0].state, CallState::Active);
    lab.as_.inject_resync(BOB);
    let evs = lab.rec.take();
    assert_eq!(evs[0].data.kind(), EventKind::CallSubscriptionResync);
}

mod machine_props {
    use std::sync::Arc;

    use proptest::prelude::*;

    use crate::call::{Input, Party, Routing, Session, Side};
    use crate::event::{RedirectReason, ReleaseCause};

    fn party(n: u32) -> Party {
        Party {
            user: None,
            user_id: Some(format!("u{n}@x").into()),
            name: Some(format!("U{n}")),
            number: Some(format!("+1555000{n}")),
            extension: None,
            org: None,
        }
    }

    fn input() -> impl Strategy<Value = Input> {
        let side = prop_oneof![Just(Side::Orig), Just(Side::Term)];
        let routing = prop_oneof![
            Just(Routing::Alert { rings: Some(2) }),
            Just(Routing::Voicemail {
                reason: RedirectReason::NoAnswer
            }),
            Just(Routing::Reject {
                cause: ReleaseCause::Busy,
                seen_by_terminator: true
            }),
            Just(Routing::Forward {
                reason: RedirectReason::Unconditional,
                to: party(9),
                address: "9".into()
            }),
        ];
        prop_oneof![
            routing.clone().prop_map(|r| Input::Route {
                routing: r,
                call_id: Arc::from("callhalf-9:0")
            }),
            Just(Input::NotFound),
            Just(Input::Answer),
            side.clone().prop_map(Input::Hold),
            side.clone().prop_map(Input::Retrieve),
            side.clone().prop_map(Input::Release),
            routing.prop_map(Input::NoAnswer),
            side.prop_map(|s| Input::Transfer {
                side: s,
                to: party(7),
                call_id: Arc::from("callhalf-8:0")
            }),
        ]
    }

    proptest! {
        #[test]
        fn never_panics(inputs in proptest::collection::vec(input(), 0..20)) {
            let (mut s, _) = Session::originate(
                "callhalf-1:0".into(), "1:1".into(), party(1), Some(party(2)), "2", 0, None);
            for (i, inp) in inputs.into_iter().enumerate() {
                let _ = s.apply(inp, i as i64 * 1000);
                if s.ended {
                    prop_assert!(s.apply(Input::Answer, 0).is_err());
                }
            }
        }
    }
}
