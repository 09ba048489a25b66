//! The [`AppServer`] handle and its shared state.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bwlab_core::journal::{Journal, Kind};
use bwlab_model::{ServiceKind, Store};
use bwlab_profiles::Profile;
use parking_lot::RwLock;

use crate::call::{CallControl, CallTable, ScriptedCall};
use crate::channels::ChannelRegistry;
use crate::dispatch::Pending;
use crate::event::{EventData, Owner};
use crate::fault::{EventFault, FaultId};
use crate::ids::{Dice, EventsAppId};
use crate::settings::AsSettings;
use crate::sink::{ChannelTerminatedReason, EventResponseCode, EventSink};
use crate::subscriptions::SubscriptionRegistry;
use crate::types::*;

/// The Application Server. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct AppServer {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for AppServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppServer")
            .field("node", &self.inner.settings.node_name)
            .field("stats", &self.stats())
            .finish()
    }
}

/// A registered Xsi-Events instance.
pub(crate) struct App {
    pub(crate) id: EventsAppId,
    pub(crate) node: Arc<str>,
    pub(crate) name: Arc<str>,
    pub(crate) sink: Arc<dyn EventSink>,
}

pub(crate) struct Inner {
    pub(crate) me: std::sync::Weak<Inner>,
    pub(crate) store: Store,
    pub(crate) profile: Profile,
    pub(crate) journal: Journal,
    pub(crate) settings: AsSettings,
    pub(crate) node: Arc<str>,
    pub(crate) dice: Dice,
    pub(crate) apps: RwLock<HashMap<EventsAppId, Arc<App>>>,
    next_app: AtomicU64,
    pub(crate) subs: SubscriptionRegistry,
    pub(crate) channels: ChannelRegistry,
    pub(crate) pending: Pending,
    pub(crate) calls: CallTable,
    pub(crate) faults: RwLock<Vec<(FaultId, EventFault)>>,
    pub(crate) faults_on: AtomicBool,
    next_fault: AtomicU64,
    pub(crate) stats: Stats,
}

/// Counters (atomics, read with [`AppServer::stats`]).
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) published: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) acked: AtomicU64,
    pub(crate) dropped_no_channel: AtomicU64,
    pub(crate) lost_app_name: AtomicU64,
    pub(crate) lost_fault: AtomicU64,
    pub(crate) undeliverable: AtomicU64,
    pub(crate) ack_timeouts: AtomicU64,
}

/// A snapshot of the AS counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AsStats {
    /// Events generated (before fan-out to subscriptions).
    pub published: u64,
    /// Notifications handed to a sink with `Delivered`.
    pub delivered: u64,
    /// `EventResponse`s applied.
    pub acked: u64,
    /// Dropped: channel set without a live channel.
    pub dropped_no_channel: u64,
    /// Lost: no Xsi-Events instance with the subscription's `callControlApplicationName`.
    pub lost_app_name: u64,
    /// Lost by an injected fault.
    pub lost_fault: u64,
    /// Dropped after every channel failed.
    pub undeliverable: u64,
    /// Acknowledgement timeouts.
    pub ack_timeouts: u64,
    /// Live subscriptions.
    pub subscriptions: u64,
    /// Live channels.
    pub channels: u64,
    /// Live calls (sessions).
    pub calls: u64,
}

impl AppServer {
    /// An AS over `store`, behaving like `profile`, journalling to `journal`.
    pub fn new(store: Store, profile: Profile, journal: Journal, settings: AsSettings) -> Self {
        let node: Arc<str> = settings.node_name.as_str().into();
        let dice = Dice::new(settings.seed);
        Self {
            inner: Arc::new_cyclic(|me| Inner {
                me: me.clone(),
                store,
                profile,
                journal,
                node,
                dice,
                apps: RwLock::new(HashMap::new()),
                next_app: AtomicU64::new(1),
                subs: SubscriptionRegistry::new(),
                channels: ChannelRegistry::new(),
                pending: Pending::new(),
                calls: CallTable::new(settings.server_id),
                faults: RwLock::new(Vec::new()),
                faults_on: AtomicBool::new(false),
                next_fault: AtomicU64::new(1),
                stats: Stats::default(),
                settings,
            }),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &AsSettings {
        &self.inner.settings
    }

    /// The release profile.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// The subscriber data.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Whether a client certificate CN may use CTI (`System/ClientIdentity`).
    pub fn client_identity_allowed(&self, cn: &str) -> bool {
        self.inner.settings.client_identity_allowed(cn)
    }

    /// Counters.
    pub fn stats(&self) -> AsStats {
        let s = &self.inner.stats;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        AsStats {
            published: l(&s.published),
            delivered: l(&s.delivered),
            acked: l(&s.acked),
            dropped_no_channel: l(&s.dropped_no_channel),
            lost_app_name: l(&s.lost_app_name),
            lost_fault: l(&s.lost_fault),
            undeliverable: l(&s.undeliverable),
            ack_timeouts: l(&s.ack_timeouts),
            subscriptions: self.inner.subs.count() as u64,
            channels: self.inner.channels.count() as u64,
            calls: self.inner.calls.count() as u64,
        }
    }

    // ----- Xsi-Events instances --------------------------------------------------------

    /// Registers an Xsi-Events instance (one per XSP node start). Events of subscriptions
    /// tagged with `call_control_application_name` may be routed to it.
    pub fn register_events_app(
        &self,
        node_name: &str,
        call_control_application_name: &str,
        sink: Arc<dyn EventSink>,
    ) -> EventsAppId {
        let id = EventsAppId(self.inner.next_app.fetch_add(1, Ordering::Relaxed));
        let app = Arc::new(App {
            id,
            node: node_name.into(),
            name: call_control_application_name.into(),
            sink,
        });
        self.inner.apps.write().insert(id, app);
        self.inner
            .journal
            .record(
                self.inner.node.clone(),
                Kind::Lab,
                format!("Xsi-Events on {node_name} registered as {call_control_application_name}"),
            )
            .attr("events_app", id.to_string())
            .commit();
        id
    }

    /// Unregisters an instance (node stop/restart). Its channels disappear without a
    /// `ChannelTerminatedEvent` (the XSP drops its streams); subscriptions stay.
    pub fn unregister_events_app(&self, id: EventsAppId) {
        let Some(app) = self.inner.apps.write().remove(&id) else {
            return;
        };
        for ch in self.inner.channels.hosted_by(id) {
            self.inner.remove_channel(&ch, None);
        }
        self.inner
            .journal
            .record(
                self.inner.node.clone(),
                Kind::Lab,
                format!("Xsi-Events on {} unregistered", app.node),
            )
            .attr("events_app", id.to_string())
            .commit();
    }

    /// Changes the `callControlApplicationName` of a registered instance while it runs (the
    /// configuration-drift fault, and its revert). Subscriptions created through the instance
    /// from now on carry the new name; events of subscriptions tagged with another name are no
    /// longer routed to its channels (they are lost, journalled with
    /// `lost=call_control_application_name`). Its open channels stay. False when `id` is not
    /// registered.
    pub fn rename_events_app(&self, id: EventsAppId, call_control_application_name: &str) -> bool {
        let node = {
            let mut apps = self.inner.apps.write();
            let Some(old) = apps.get(&id) else {
                return false;
            };
            let app = Arc::new(App {
                id,
                node: old.node.clone(),
                name: call_control_application_name.into(),
                sink: old.sink.clone(),
            });
            let node = app.node.clone();
            apps.insert(id, app);
            node
        };
        self.inner
            .journal
            .record(
                self.inner.node.clone(),
                Kind::Lab,
                format!("Xsi-Events on {node} renamed to {call_control_application_name}"),
            )
            .attr("events_app", id.to_string())
            .commit();
        true
    }

    /// The `callControlApplicationName` of a registered instance.
    pub fn events_app_name(&self, id: EventsAppId) -> Option<Arc<str>> {
        self.inner.apps.read().get(&id).map(|a| a.name.clone())
    }

    // ----- channels ---------------------------------------------------------------------

    /// Adds a channel (the hosting instance calls this when it accepted the stream).
    pub fn open_channel(&self, req: OpenChannel) -> Result<ChannelGrant, ChannelError> {
        self.inner.open_channel(req, |_| {})
    }

    /// [`open_channel`](Self::open_channel) for a host that must attach its stream before
    /// events can flow: `attach` runs once the channel exists and before events queued for
    /// the set (`AsSettings::replay_queue`) are replayed on it.
    pub fn open_channel_with(
        &self,
        req: OpenChannel,
        attach: impl FnOnce(&ChannelGrant),
    ) -> Result<ChannelGrant, ChannelError> {
        self.inner.open_channel(req, attach)
    }

    /// `PUT channel/<id>`: new `expires` (0 = expire now). Answers the granted value.
    pub fn refresh_channel(
        &self,
        owner: &Owner,
        channel_id: &str,
        expires: Option<u32>,
    ) -> Result<ChannelGrant, ChannelError> {
        self.inner.refresh_channel(owner, channel_id, expires)
    }

    /// `DELETE channel/<id>`: the host gets `terminate(ExplicitDelete)`.
    pub fn delete_channel(&self, owner: &Owner, channel_id: &str) -> Result<(), ChannelError> {
        let ch = self
            .inner
            .channels
            .get(channel_id)
            .filter(|c| c.owner == *owner)
            .ok_or(ChannelError::NotFound)?;
        self.inner
            .remove_channel(&ch, Some(ChannelTerminatedReason::ExplicitDelete));
        Ok(())
    }

    /// The stream of a channel is gone (heartbeat timeout, client closed it): forget the
    /// channel without a `ChannelTerminatedEvent`. Subscriptions stay.
    pub fn channel_lost(&self, channel_id: &str) {
        if let Some(ch) = self.inner.channels.get(channel_id) {
            self.inner.remove_channel(&ch, None);
        }
    }

    /// Ends a channel with `reason` (administrator action, `UserDeleted`, scenarios).
    pub fn terminate_channel(&self, channel_id: &str, reason: ChannelTerminatedReason) -> bool {
        match self.inner.channels.get(channel_id) {
            Some(ch) => {
                self.inner.remove_channel(&ch, Some(reason));
                true
            }
            None => false,
        }
    }

    /// One channel, with its hosting instance.
    pub fn channel(&self, channel_id: &str) -> Option<ChannelInfo> {
        let ch = self.inner.channels.get(channel_id)?;
        Some(self.inner.channel_info(&ch))
    }

    /// `GET channelset/<id>`: the live channels of the owner's set (empty if none).
    pub fn channel_set(&self, owner: &Owner, channel_set_id: &str) -> Vec<ChannelInfo> {
        self.inner
            .channels
            .set_channels(owner, channel_set_id)
            .iter()
            .map(|c| self.inner.channel_info(c))
            .collect()
    }

    /// `POST channel/eventresponse`, arriving at instance `host`.
    pub fn event_response(
        &self,
        host: EventsAppId,
        event_id: &str,
        status: EventResponseCode,
    ) -> Result<AckOutcome, AckError> {
        self.inner.event_response(host, event_id, status)
    }

    // ----- subscriptions ----------------------------------------------------------------

    /// Creates (or replaces, per the duplicate rules) a subscription, then sends the
    /// initial-state event for user targets.
    pub fn subscribe(&self, req: SubscribeRequest) -> Result<SubscriptionGrant, SubscribeError> {
        self.inner.subscribe(req)
    }

    /// `PUT subscription/<id>`: new `expires`; user targets get the state event again.
    pub fn refresh_subscription(
        &self,
        id: &str,
        expires: Option<u32>,
    ) -> Result<SubscriptionGrant, SubscribeError> {
        self.inner.refresh_subscription(id, expires)
    }

    /// `DELETE subscription/<id>`.
    pub fn delete_subscription(&self, id: &str) -> Result<(), SubscribeError> {
        self.inner.delete_subscription(id, true)
    }

    /// `GET subscription/<id>`.
    pub fn subscription(&self, id: &str) -> Option<SubscriptionInfo> {
        self.inner.subs.get(id).map(|s| s.info())
    }

    /// `GET subscription?…`.
    pub fn query_subscriptions(
        &self,
        q: &SubscriptionQuery,
    ) -> Result<Vec<SubscriptionInfo>, SubscribeError> {
        self.inner.query_subscriptions(q)
    }

    // ----- data change hooks ------------------------------------------------------------

    /// A service of `user` changed (or was assigned/unassigned): service event to matching
    /// subscriptions. Unknown users are ignored.
    pub fn service_changed(&self, user: &str, kind: ServiceKind) {
        if let Some(u) = self.inner.store.find_user(user) {
            self.inner.service_changed(&u, kind);
        }
    }

    /// The user's push registrations changed.
    pub fn push_registrations_changed(&self, user: &str) {
        if let Some(u) = self.inner.store.find_user(user) {
            let data = self.inner.push_event(&u);
            self.inner.publish(&u, data);
        }
    }

    /// The user's voice messages changed (deposit, read, delete).
    pub fn voice_messages_changed(&self, user: &str) {
        if let Some(u) = self.inner.store.find_user(user) {
            let data = self.inner.voicemail_event(&u);
            self.inner.publish(&u, data);
        }
    }

    /// Sends `CallSubscriptionResyncEvent` (current calls) to the user's call subscriptions.
    pub fn inject_resync(&self, user: &str) {
        if let Some(u) = self.inner.store.find_user(user) {
            let data = self.inner.call_state_event(&u, true);
            self.inner.publish(&u, data);
        }
    }

    /// Publishes an arbitrary event about `user` to the matching subscriptions (scenarios).
    pub fn publish(&self, user: &str, data: EventData) -> bool {
        match self.inner.store.find_user(user) {
            Some(u) => {
                self.inner.publish(&u, Arc::new(data));
                true
            }
            None => false,
        }
    }

    // ----- calls ------------------------------------------------------------------------

    /// Call control (tests, scenarios, Xsi-Actions call commands).
    pub fn calls(&self) -> CallControl<'_> {
        CallControl { server: self }
    }

    /// A scripted call from `caller` dialling `dialed`, run on tokio time.
    pub fn call(&self, caller: &str, dialed: &str) -> ScriptedCall {
        ScriptedCall::new(self.clone(), caller, dialed)
    }

    // ----- faults -----------------------------------------------------------------------

    /// Injects a fault (journalled). `KillChannel` acts once, now.
    pub fn inject_fault(&self, fault: EventFault) -> FaultId {
        self.inner.inject_fault(fault)
    }

    /// Reverts a fault; false if it was not active.
    pub fn revert_fault(&self, id: FaultId) -> bool {
        self.inner.revert_fault(id)
    }

    /// Active faults.
    pub fn faults(&self) -> Vec<(FaultId, EventFault)> {
        self.inner.faults.read().clone()
    }
}

impl Inner {
    pub(crate) fn app(&self, id: EventsAppId) -> Option<Arc<App>> {
        self.apps.read().get(&id).cloned()
    }

    pub(crate) fn inject_fault(&self, fault: EventFault) -> FaultId {
        let id = FaultId(self.next_fault.fetch_add(1, Ordering::Relaxed));
        let text = serde_json::to_string(&fault).unwrap_or_default();
        self.journal
            .record(
                self.node.clone(),
                Kind::Fault,
                format!("inject {}", fault.name()),
            )
            .attr("fault_id", id.0.to_string())
            .attr("fault", text)
            .commit();
        if let EventFault::KillChannel { channel_id, reason } = &fault {
            if let Some(ch) = self.channels.get(channel_id) {
                let host = self.app(ch.host);
                self.remove_channel(&ch, *reason);
                if reason.is_none()
                    && let Some(app) = host
                {
                    app.sink.drop_channel(channel_id);
                }
            }
            return id;
        }
        let mut faults = self.faults.write();
        faults.push((id, fault));
        self.faults_on.store(true, Ordering::Release);
        id
    }

    pub(crate) fn revert_fault(&self, id: FaultId) -> bool {
        let mut faults = self.faults.write();
        let before = faults.len();
        faults.retain(|(f, _)| *f != id);
        self.faults_on.store(!faults.is_empty(), Ordering::Release);
        let found = faults.len() != before;
        drop(faults);
        if found {
            self.journal
                .record(self.node.clone(), Kind::Fault, "revert")
                .attr("fault_id", id.0.to_string())
                .commit();
        }
        found
    }
}
