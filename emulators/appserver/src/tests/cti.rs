use super::{lab_with, lab_without};
use crate::*;

const ALICE: &str = "alice@lab.example";
const BOB: &str = "bob@lab.example";

fn cti(lab: &super::Lab, p: EventPackage) -> Result<SubscriptionGrant, SubscribeError> {
    let mut r = lab.request(ALICE, ALICE, p, "cti");
    r.origin.cti = true;
    r.origin.client_identity = Some("bwcticlient.webex.com".into());
    r.application_id = Some("webex-cti".into());
    lab.as_.subscribe(r)
}

#[tokio::test(start_paused = true)]
async fn patched_release_sends_everything() {
    let lab = lab_with("r24", AsSettings::default());
    lab.channel(ALICE, "cti");
    let s = cti(&lab, EventPackage::AdvancedCall)
        .unwrap()
        .subscription_id;
    cti(&lab, EventPackage::DoNotDisturb).unwrap();
    lab.as_
        .calls()
        .dial_with_disposition(BOB, "101", CallerIdDisposition::SpamSuspected)
        .unwrap();
    let k = lab.rec.kinds_of(&s);
    assert_eq!(k, ["CallSubscriptionEvent", "CallReceivedEvent"]);
    let n = lab
        .rec
        .take()
        .into_iter()
        .find(|n| n.data.kind() == EventKind::CallReceived)
        .unwrap();
    assert_eq!(
        n.data.call().unwrap().caller_id_disposition,
        Some(CallerIdDisposition::SpamSuspected)
    );
    assert!(lab.as_.subscription(&s).unwrap().cti);
}

#[tokio::test(start_paused = true)]
async fn unpatched_release_gates_cti() {
    let lab = lab_with("r24-unpatched", AsSettings::default());
    lab.channel(ALICE, "cti");
    lab.channel(ALICE, "xsi");
    assert_eq!(
        cti(&lab, EventPackage::DoNotDisturb),
        Err(SubscribeError::NotAllowedOverCti(
            EventPackage::DoNotDisturb
        ))
    );
    let s = cti(&lab, EventPackage::BasicCall).unwrap().subscription_id;
    // The same package over plain Xsi is not gated.
    let x = lab.sub(ALICE, EventPackage::BasicCall, "xsi");
    lab.as_
        .calls()
        .dial_with_disposition(BOB, "101", CallerIdDisposition::SpamSuspected)
        .unwrap();
    assert!(
        lab.rec.kinds_of(&s).is_empty(),
        "{:?}",
        lab.rec.kinds_of(&s)
    );
    assert_eq!(
        lab.rec.kinds_of(&x),
        ["CallSubscriptionEvent", "CallReceivedEvent"]
    );
    let n = lab
        .rec
        .take()
        .into_iter()
        .find(|n| n.data.kind() == EventKind::CallReceived)
        .unwrap();
    assert_eq!(
        n.data.call().unwrap().caller_id_disposition,
        None,
        "Xsi never sees it"
    );
}

#[tokio::test(start_paused = true)]
async fn client_identities() {
    let lab = lab_with("r24", AsSettings::default());
    assert!(lab.as_.client_identity_allowed("BWCTIClient.webex.com"));
    assert!(!lab.as_.client_identity_allowed("evil.example"));
    let mut r = lab.request(ALICE, ALICE, EventPackage::BasicCall, "cti");
    r.origin.cti = true;
    r.origin.client_identity = Some("evil.example".into());
    assert_eq!(
        lab.as_.subscribe(r),
        Err(SubscribeError::ClientIdentityRefused("evil.example".into()))
    );
}

#[tokio::test(start_paused = true)]
async fn each_feature_gates_its_part() {
    // Hook status without call history: hook events and the state snapshot only.
    let lab = lab_without(&["unified_call_history"]);
    lab.channel(ALICE, "cti");
    let s = cti(&lab, EventPackage::AdvancedCall)
        .unwrap()
        .subscription_id;
    let h = lab.as_.calls().dial(ALICE, "102").unwrap();
    lab.as_.calls().release(&h.originator).unwrap();
    assert_eq!(
        lab.rec.kinds_of(&s),
        [
            "CallSubscriptionEvent",
            "HookStatusEvent",
            "HookStatusEvent"
        ]
    );
    // Call history without hook status.
    let lab = lab_without(&["cti_hook_status"]);
    lab.channel(ALICE, "cti");
    let s = cti(&lab, EventPackage::BasicCall).unwrap().subscription_id;
    let h = lab.as_.calls().dial(ALICE, "102").unwrap();
    lab.as_.calls().release(&h.originator).unwrap();
    assert_eq!(
        lab.rec.kinds_of(&s),
        [
            "CallSubscriptionEvent",
            "CallOriginatedEvent",
            "CallReleasedEvent"
        ]
    );
    // Call history without spam indication: no disposition.
    let lab = lab_without(&["caller_id_disposition"]);
    lab.channel(ALICE, "cti");
    cti(&lab, EventPackage::BasicCall).unwrap();
    lab.as_
        .calls()
        .dial_with_disposition(BOB, "101", CallerIdDisposition::SpamSuspected)
        .unwrap();
    let n = lab
        .rec
        .take()
        .into_iter()
        .find(|n| n.data.kind() == EventKind::CallReceived)
        .unwrap();
    assert_eq!(n.data.call().unwrap().caller_id_disposition, None);
    // DND sync off: the package is refused over CTI only.
    let lab = lab_without(&["dnd_sync"]);
    assert_eq!(
        cti(&lab, EventPackage::DoNotDisturb),
        Err(SubscribeError::NotAllowedOverCti(
            EventPackage::DoNotDisturb
        ))
    );
    assert!(
        lab.as_
            .subscribe(lab.request(ALICE, ALICE, EventPackage::DoNotDisturb, "x"))
            .is_ok()
    );
}
