use std::time::Duration;

use super::{advance, lab};
use crate::*;

const ALICE: &str = "alice@lab.example";

fn change(lab: &super::Lab) {
    lab.as_
        .service_changed(ALICE, bwlab_model::ServiceKind::DoNotDisturb);
}

#[tokio::test(start_paused = true)]
async fn lose_duplicate_delay_reorder_and_revert() {
    let lab = lab();
    lab.channel(ALICE, "s");
    lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
    lab.rec.take();
    let lose = lab.as_.inject_fault(EventFault::Lose {
        probability: 1.0,
        scope: FaultScope::default(),
    });
    change(&lab);
    assert!(lab.rec.take().is_empty());
    assert!(lab.as_.revert_fault(lose));
    assert!(!lab.as_.revert_fault(lose));
    change(&lab);
    let n = lab.rec.take();
    assert_eq!(n[0].sequence_number, 3, "the lost event left a gap");

    let dup = lab.as_.inject_fault(EventFault::Duplicate {
        probability: 1.0,
        scope: FaultScope::default(),
    });
    change(&lab);
    let n = lab.rec.take();
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].event_id, n[1].event_id);
    lab.as_.revert_fault(dup);

    let reorder = lab.as_.inject_fault(EventFault::Reorder {
        hold: Duration::from_secs(1),
        probability: 1.0,
        scope: FaultScope {
            user: Some(ALICE.into()),
            package: Some(EventPackage::DoNotDisturb),
        },
    });
    change(&lab);
    lab.as_.revert_fault(reorder);
    change(&lab);
    advance(Duration::from_secs(2)).await;
    let seqs: Vec<u32> = lab.rec.take().iter().map(|n| n.sequence_number).collect();
    assert_eq!(seqs, [6, 5]);

    // Scope: other users untouched.
    let f = lab.as_.inject_fault(EventFault::Lose {
        probability: 1.0,
        scope: FaultScope {
            user: Some("bob@lab.example".into()),
            package: None,
        },
    });
    change(&lab);
    assert_eq!(lab.rec.take().len(), 1);
    assert_eq!(lab.as_.faults().len(), 1);
    lab.as_.revert_fault(f);
    let journal = lab.as_.journal().query(&bwlab_core::journal::Filter::kind(
        bwlab_core::journal::Kind::Fault,
    ));
    assert!(journal.len() >= 8);
}

#[tokio::test(start_paused = true)]
async fn kill_channel_and_serde() {
    let lab = lab();
    let c = lab.channel(ALICE, "s");
    let f = EventFault::KillChannel {
        channel_id: c.to_string(),
        reason: Some(ChannelTerminatedReason::UserDeleted),
    };
    let text = serde_json::to_string(&f).unwrap();
    assert_eq!(serde_json::from_str::<EventFault>(&text).unwrap(), f);
    lab.as_.inject_fault(f);
    assert_eq!(
        lab.rec.terminations(),
        [(c.to_string(), ChannelTerminatedReason::UserDeleted)]
    );
    let d: EventFault =
        serde_json::from_str(r#"{"fault":"delay","delay":2.5,"probability":0.5}"#).unwrap();
    assert_eq!(
        d,
        EventFault::Delay {
            delay: Duration::from_millis(2500),
            probability: 0.5,
            scope: FaultScope::default()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn probabilistic_faults_replay_with_the_seed() {
    let run = || {
        let lab = lab();
        lab.channel(ALICE, "s");
        lab.sub(ALICE, EventPackage::DoNotDisturb, "s");
        lab.as_.inject_fault(EventFault::Lose {
            probability: 0.5,
            scope: FaultScope::default(),
        });
        for _ in 0..50 {
            change(&lab);
        }
        lab.rec
            .take()
            .iter()
            .map(|n| n.sequence_number)
            .collect::<Vec<_>>()
    };
    let a = run();
    assert_eq!(a, run());
    assert!(a.len() > 10 && a.len() < 45);
}

#[tokio::test(start_paused = true)]
async fn silent_kill_and_drop_close_the_stream_without_a_reason() {
    let lab = lab();
    let c1 = lab.channel(ALICE, "s");
    let c2 = lab.channel(ALICE, "s");
    lab.as_.inject_fault(EventFault::KillChannel {
        channel_id: c1.to_string(),
        reason: None,
    });
    assert!(lab.as_.channel(&c1).is_none());
    assert!(lab.as_.drop_channel(&c2));
    assert!(!lab.as_.drop_channel(&c2));
    assert_eq!(*lab.rec.dropped.lock(), [c1.to_string(), c2.to_string()]);
    assert!(lab.rec.terminations().is_empty());
}
