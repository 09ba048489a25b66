//! Xsi-Events faults owned by the XSP (the AS owns lost/delayed/duplicated/reordered
//! events): values that can be injected and reverted at run time, each journalled.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

/// A fault of one node's Xsi-Events web app. `channel: None` means every channel of the
/// node, including channels opened while the fault is active.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum XspEventFault {
    /// Heartbeats are answered 200 but have no effect: no `ChannelHeartBeat` on the
    /// stream and no extension of the `eventTimeout` deadline.
    DropHeartbeats {
        /// One channel, or all.
        #[serde(default)]
        channel: Option<String>,
    },
    /// Nothing reaches the socket — events, heartbeats — until reverted; documents wait
    /// (bounded by the channel buffer), then flow again.
    StallStream {
        /// One channel, or all.
        #[serde(default)]
        channel: Option<String>,
    },
    /// Closes streams at injection, without `ChannelTerminatedEvent` (a killed
    /// connection). Acts once; reverting it does nothing.
    KillChannel {
        /// One channel, or all.
        #[serde(default)]
        channel: Option<String>,
    },
    /// Overrides `eventQueueSize` (e.g. 0 makes every event overflow).
    EventQueueSize {
        /// The new limit.
        size: usize,
    },
}

impl XspEventFault {
    /// Short name for the journal.
    pub fn name(&self) -> &'static str {
        match self {
            XspEventFault::DropHeartbeats { .. } => "drop_heartbeats",
            XspEventFault::StallStream { .. } => "stall_stream",
            XspEventFault::KillChannel { .. } => "kill_channel",
            XspEventFault::EventQueueSize { .. } => "event_queue_size",
        }
    }

    pub(crate) fn channel(&self) -> Option<&str> {
        match self {
            XspEventFault::DropHeartbeats { channel }
            | XspEventFault::StallStream { channel }
            | XspEventFault::KillChannel { channel } => channel.as_deref(),
            XspEventFault::EventQueueSize { .. } => None,
        }
    }
}

/// Handle of an injected [`XspEventFault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct XspFaultId(pub u64);

/// Active faults, with a flag so the no-fault hot path costs one atomic load.
#[derive(Default)]
pub(crate) struct XspFaults {
    any: AtomicBool,
    next: AtomicU64,
    active: RwLock<Vec<(XspFaultId, XspEventFault)>>,
}

impl XspFaults {
    pub(crate) fn add(&self, f: XspEventFault) -> XspFaultId {
        let id = XspFaultId(self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let mut a = self.active.write();
        a.push((id, f));
        self.any.store(true, Ordering::Release);
        id
    }

    pub(crate) fn remove(&self, id: XspFaultId) -> Option<XspEventFault> {
        let mut a = self.active.write();
        let pos = a.iter().position(|(i, _)| *i == id)?;
        let (_, f) = a.remove(pos);
        self.any.store(!a.is_empty(), Ordering::Release);
        Some(f)
    }

    pub(crate) fn list(&self) -> Vec<(XspFaultId, XspEventFault)> {
        self.active.read().clone()
    }

    fn any(&self, pred: impl Fn(&XspEventFault) -> bool) -> bool {
        self.any.load(Ordering::Acquire) && self.active.read().iter().any(|(_, f)| pred(f))
    }

    pub(crate) fn drops_heartbeat(&self, channel: &str) -> bool {
        self.any(|f| {
            matches!(f, XspEventFault::DropHeartbeats { channel: c }
                if c.as_deref().is_none_or(|c| c == channel))
        })
    }

    pub(crate) fn stalls(&self, channel: &str) -> bool {
        self.any(|f| {
            matches!(f, XspEventFault::StallStream { channel: c }
                if c.as_deref().is_none_or(|c| c == channel))
        })
    }

    pub(crate) fn queue_limit(&self, configured: usize) -> usize {
        if !self.any.load(Ordering::Acquire) {
            return configured;
        }
        self.active
            .read()
            .iter()
            .rev()
            .find_map(|(_, f)| match f {
                XspEventFault::EventQueueSize { size } => Some(*size),
                _ => None,
            })
            .unwrap_or(configured)
    }
}

/// Injects `fault` on the node: journalled, immediate effects applied (stalls hold the
/// matching streams, kills close them).
pub(crate) fn inject(shared: &crate::Shared, fault: XspEventFault) -> Option<XspFaultId> {
    let ev = shared.events.as_ref()?;
    let targets: Vec<std::sync::Arc<str>> = match fault.channel() {
        Some(c) => vec![std::sync::Arc::from(c)],
        None => ev.live.ids(),
    };
    match &fault {
        XspEventFault::StallStream { .. } => {
            for c in &targets {
                ev.live.set_stalled(c, true);
            }
        }
        XspEventFault::KillChannel { .. } => {
            for c in &targets {
                ev.live
                    .control(c, super::channels::Ctl::Kill("killed by fault"));
            }
        }
        _ => {}
    }
    let one_shot = matches!(fault, XspEventFault::KillChannel { .. });
    let id = if one_shot {
        XspFaultId(ev.faults.next.fetch_add(1, Ordering::Relaxed) + 1)
    } else {
        ev.faults.add(fault.clone())
    };
    journal(shared, &fault, id, "injected");
    Some(id)
}

/// Reverts a fault; stalled streams flow again.
pub(crate) fn revert(shared: &crate::Shared, id: XspFaultId) -> bool {
    let Some(ev) = shared.events.as_ref() else {
        return false;
    };
    let Some(fault) = ev.faults.remove(id) else {
        return false;
    };
    if let XspEventFault::StallStream { channel } = &fault {
        let targets: Vec<std::sync::Arc<str>> = match channel {
            Some(c) => vec![std::sync::Arc::from(c.as_str())],
            None => ev.live.ids(),
        };
        for c in &targets {
            if !ev.faults.stalls(c) {
                ev.live.set_stalled(c, false);
            }
        }
    }
    journal(shared, &fault, id, "reverted");
    true
}

fn journal(shared: &crate::Shared, fault: &XspEventFault, id: XspFaultId, what: &'static str) {
    let mut rec = shared
        .journal
        .record(
            std::sync::Arc::clone(&shared.name),
            bwlab_core::Kind::Fault,
            format!("fault {} {what}", fault.name()),
        )
        .attr("fault", fault.name())
        .attr("fault_id", id.0.to_string())
        .attr("action", what);
    if let Some(c) = fault.channel() {
        rec = rec.attr("channel", c.to_owned());
    }
    rec.commit();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_and_revert() {
        let f = XspFaults::default();
        assert!(!f.drops_heartbeat("c1"));
        let a = f.add(XspEventFault::DropHeartbeats {
            channel: Some("c1".into()),
        });
        assert!(f.drops_heartbeat("c1"));
        assert!(!f.drops_heartbeat("c2"));
        let b = f.add(XspEventFault::EventQueueSize { size: 3 });
        assert_eq!(f.queue_limit(2000), 3);
        assert!(f.remove(a).is_some());
        assert!(f.remove(a).is_none());
        assert!(!f.drops_heartbeat("c1"));
        f.remove(b);
        assert_eq!(f.queue_limit(2000), 2000);
    }

    #[test]
    fn faults_are_data() {
        let f: XspEventFault =
            serde_json::from_str(r#"{"fault":"stall_stream","channel":"c9"}"#).unwrap();
        assert_eq!(
            f,
            XspEventFault::StallStream {
                channel: Some("c9".into())
            }
        );
        assert!(
            serde_json::from_str::<XspEventFault>(r#"{"fault":"stall_stream","x":1}"#).is_err()
        );
    }
}
