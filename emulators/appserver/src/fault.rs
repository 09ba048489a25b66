//! Faults the AS can inject into event delivery, as data: serialisable, injectable and
//! revertible at run time, journalled, and driven by the seeded dice so runs replay.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::package::EventPackage;
use crate::sink::ChannelTerminatedReason;

/// Which events a fault applies to (all when empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FaultScope {
    /// Only events about this user (`targetId`).
    pub user: Option<String>,
    /// Only events of this package.
    pub package: Option<EventPackage>,
}

/// One event-delivery fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum EventFault {
    /// Hold matching events for `delay` before delivery.
    Delay {
        /// How long.
        #[serde(with = "crate::fault::secs")]
        delay: Duration,
        /// Share of events affected (0–1).
        probability: f64,
        /// Which events.
        #[serde(default)]
        scope: FaultScope,
    },
    /// Lose matching events (journalled as lost).
    Lose {
        /// Share of events affected (0–1).
        probability: f64,
        /// Which events.
        #[serde(default)]
        scope: FaultScope,
    },
    /// Deliver matching events twice (same eventID and sequence number).
    Duplicate {
        /// Share of events affected (0–1).
        probability: f64,
        /// Which events.
        #[serde(default)]
        scope: FaultScope,
    },
    /// Hold matching events for `hold` so later events overtake them.
    Reorder {
        /// How long the event is held back.
        #[serde(with = "crate::fault::secs")]
        hold: Duration,
        /// Share of events affected (0–1).
        probability: f64,
        /// Which events.
        #[serde(default)]
        scope: FaultScope,
    },
    /// Kill a channel once, at injection: with a reason the client gets a
    /// `ChannelTerminatedEvent`; without one the channel just disappears (as if the AS lost
    /// it) and the stream is closed.
    KillChannel {
        /// The channel.
        channel_id: String,
        /// Reason sent to the client, if any.
        #[serde(default)]
        reason: Option<ChannelTerminatedReason>,
    },
}

impl EventFault {
    /// Short name for the journal.
    pub fn name(&self) -> &'static str {
        match self {
            EventFault::Delay { .. } => "delay",
            EventFault::Lose { .. } => "lose",
            EventFault::Duplicate { .. } => "duplicate",
            EventFault::Reorder { .. } => "reorder",
            EventFault::KillChannel { .. } => "kill_channel",
        }
    }

    pub(crate) fn scope(&self) -> Option<&FaultScope> {
        match self {
            EventFault::Delay { scope, .. }
            | EventFault::Lose { scope, .. }
            | EventFault::Duplicate { scope, .. }
            | EventFault::Reorder { scope, .. } => Some(scope),
            EventFault::KillChannel { .. } => None,
        }
    }
}

/// Handle of an injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FaultId(pub u64);

pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}
