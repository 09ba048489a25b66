use bwlab_profiles::XsiVersion;

use crate::*;

#[test]
fn names_round_trip_and_call_matrix() {
    for p in EventPackage::ALL {
        assert_eq!(EventPackage::from_name(p.as_str()), Some(*p));
    }
    assert_eq!(
        EventPackage::from_name("N-Way Call"),
        Some(EventPackage::NWayCall)
    );
    assert_eq!(
        EventPackage::from_name("basic call"),
        None,
        "exact strings only"
    );
    use EventKind::*;
    let b = EventPackage::BasicCall;
    let s = EventPackage::StandardCall;
    let a = EventPackage::AdvancedCall;
    for k in [
        CallOriginated,
        CallReceived,
        CallAnswered,
        CallReleased,
        CallReleasing,
        HookStatus,
        CallSubscription,
    ] {
        assert!(b.carries(k) && s.carries(k) && a.carries(k), "{k:?}");
    }
    for k in [
        CallHeld,
        CallRetrieved,
        CallTransferred,
        CallForwarded,
        CallUpdated,
    ] {
        assert!(!b.carries(k) && s.carries(k) && a.carries(k), "{k:?}");
    }
    for k in [CallRedirected, CallDetached] {
        assert!(!b.carries(k) && !s.carries(k) && a.carries(k), "{k:?}");
    }
    assert!(!a.carries(DoNotDisturb));
    assert!(EventPackage::DoNotDisturb.carries(DoNotDisturb));
    assert!(EventPackage::DoNotDisturb.carries(SubscriptionTerminated));
    assert!(!EventPackage::DoNotDisturb.carries(CallReceived));
    assert!(EventPackage::RemoteOffice.as_only());
    assert!(!EventPackage::BasicCall.as_only());
    assert!(EventPackage::VoiceMailMessageSummary.implemented());
    assert!(!EventPackage::CallCenterQueue.implemented());
    assert_eq!(
        CallSubscriptionResync.type_name(),
        "CallSubscriptionResyncEvent"
    );
}

#[test]
fn call_recording_needs_an_old_protocol_version() {
    let v = |s: &str| Some(s.parse::<XsiVersion>().unwrap());
    let cr = EventPackage::CallRecording;
    assert!(!cr.allowed_for_version(None));
    assert!(!cr.allowed_for_version(v("20.0")));
    assert!(!cr.allowed_for_version(v("22.0")));
    assert!(cr.allowed_for_version(v("19.sp1")));
    assert!(EventPackage::BasicCall.allowed_for_version(None));
}

#[tokio::test(start_paused = true)]
async fn call_recording_subscription_is_refused() {
    let lab = super::lab();
    let err = lab
        .as_
        .subscribe(lab.request(
            "alice@lab.example",
            "alice@lab.example",
            EventPackage::CallRecording,
            "s",
        ))
        .unwrap_err();
    assert_eq!(
        err,
        SubscribeError::PackageVersion(EventPackage::CallRecording)
    );
}
