//! The Application Server core of the lab: the part of BroadWorks that keeps calls,
//! Xsi-Events subscriptions and channel sets, and generates events.
//!
//! Why a crate of its own: subscriptions and channel sets are cluster-wide (a channel set's
//! channels may sit on different XSPs, a subscription outlives any one channel), so they
//! cannot live in one XSP node. The XSP nodes' Xsi-Events web apps register with the
//! [`AppServer`] in-process ([`AppServer::register_events_app`]) and receive
//! [`Notification`]s through their [`EventSink`]; they own HTTP, streaming, heartbeats and
//! XML. This crate has domain types only.
//!
//! * [`call`]: a call table and a pure per-call state machine (SIP can drive it later);
//! * subscriptions: expiry, duplicates, limits, initial-state events, CTI gating by profile;
//! * channel sets: priority/weight selection (seeded), acknowledgements, fail-over;
//! * [`fault`]: delivery faults as data.
//!
//! Hot paths take no AS-wide lock: tables are sharded, payloads are shared (`Arc`), and
//! timers run on tokio time (tests run with paused time). Everything must run inside a
//! tokio runtime.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod affinity;
pub mod call;
mod channels;
mod dispatch;
pub mod event;
pub mod fault;
mod ids;
pub mod package;
mod server;
pub mod settings;
mod shard;
pub mod sink;
mod subscriptions;
pub mod types;

pub use call::{CallControl, CallError, CallHandle, ScriptedCall};
pub use event::{
    CallSnapshot, CallState, CallSubscription, CallType, CallerIdDisposition, EventData,
    HookStatus, Notification, Owner, Personality, Redirect, RedirectReason, ReleaseCause,
    ReleasingParty, RemoteParty, Route, ServiceInfo, VoiceMailSummary,
};
pub use fault::{EventFault, FaultId, FaultScope};
pub use ids::{EventsAppId, SequenceCounter};
pub use package::{EventKind, EventPackage, EventPackageExt};
pub use server::{AppServer, AsStats};
pub use settings::AsSettings;
pub use sink::{ChannelTerminatedReason, Delivery, EventResponseCode, EventSink};
pub use types::*;

#[cfg(test)]
mod tests;
