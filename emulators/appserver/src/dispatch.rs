//! Event routing: subscriptions → channel sets / HTTP contacts → Xsi-Events instances;
//! acknowledgements, fail-over, faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bwlab_core::journal::Kind;
use bwlab_model::services::{
    BroadWorksAnywhere, CallForwardingAlways, CallForwardingBusy, CallForwardingNoAnswer,
    CallWaiting, DoNotDisturb, RemoteOffice, SimultaneousRingPersonal, VoiceMessaging,
};
use bwlab_model::{ServiceKind, User};
use bwlab_profiles::Feature;

use crate::channels::{Chan, SetKey};
use crate::event::{EventData, Notification, Route, ServiceInfo, VoiceMailSummary};
use crate::fault::EventFault;
use crate::package::{EventKind, EventPackage, EventPackageExt};
use crate::server::{App, Inner};
use crate::shard::Sharded;
use crate::sink::{ChannelTerminatedReason, Delivery, EventResponseCode};
use crate::subscriptions::Sub;
use crate::types::{AckError, AckOutcome, SubscriptionRoute};

/// An event for one subscription, not yet bound to a channel.
pub(crate) struct Queued {
    pub(crate) sub: Arc<Sub>,
    pub(crate) n: Notification,
}

struct PendingAck {
    n: Arc<Notification>,
    sub: Arc<Sub>,
    channel: Arc<Chan>,
    excluded: Vec<Arc<str>>,
    timed_out: bool,
    attempt: u64,
}

pub(crate) struct Pending {
    map: Sharded<Arc<str>, PendingAck>,
    attempts: AtomicU64,
}

impl Pending {
    pub(crate) fn new() -> Self {
        Self {
            map: Sharded::new(),
            attempts: AtomicU64::new(0),
        }
    }
}

/// The service package a model service reports through.
pub(crate) fn package_of_service(kind: ServiceKind) -> Option<EventPackage> {
    Some(match kind {
        ServiceKind::DoNotDisturb => EventPackage::DoNotDisturb,
        ServiceKind::CallForwardingAlways => EventPackage::CallForwardingAlways,
        ServiceKind::CallForwardingBusy => EventPackage::CallForwardingBusy,
        ServiceKind::CallForwardingNoAnswer => EventPackage::CallForwardingNoAnswer,
        ServiceKind::CallWaiting => EventPackage::CallWaiting,
        ServiceKind::VoiceMessaging => EventPackage::VoiceMessaging,
        ServiceKind::SimultaneousRingPersonal => EventPackage::SimultaneousRingPersonal,
        ServiceKind::RemoteOffice => EventPackage::RemoteOffice,
        ServiceKind::BroadWorksAnywhere => EventPackage::BroadWorksAnywhere,
        _ => return None,
    })
}

fn strip_disposition(data: &EventData) -> EventData {
    let mut d = data.clone();
    match &mut d {
        EventData::Call { call, .. } => call.caller_id_disposition = None,
        EventData::CallRedirected(calls) => calls
            .iter_mut()
            .for_each(|c| c.caller_id_disposition = None),
        EventData::CallSubscription(s) => s
            .calls
            .iter_mut()
            .for_each(|c| c.caller_id_disposition = None),
        _ => {}
    }
    d
}

fn has_disposition(data: &EventData) -> bool {
    match data {
        EventData::Call { call, .. } => call.caller_id_disposition.is_some(),
        EventData::CallRedirected(calls) => calls.iter().any(|c| c.caller_id_disposition.is_some()),
        EventData::CallSubscription(s) => s.calls.iter().any(|c| c.caller_id_disposition.is_some()),
        _ => false,
    }
}

impl Inner {
    /// CTI gating by release features.
    fn cti_allows(&self, kind: EventKind) -> bool {
        let p = &self.profile;
        match kind {
            EventKind::HookStatus => p.supports(Feature::CtiHookStatus),
            EventKind::CallSubscription | EventKind::CallSubscriptionResync => {
                p.supports(Feature::CtiHookStatus) || p.supports(Feature::UnifiedCallHistory)
            }
            k if k.is_call_event() => p.supports(Feature::UnifiedCallHistory),
            _ => true,
        }
    }

    fn wants_disposition(&self, sub: &Sub) -> bool {
        sub.cti && self.profile.supports(Feature::CallerIdDisposition)
    }

    /// The payload `sub` may see, or `None` when gated off.
    fn prepare(
        &self,
        sub: &Sub,
        data: &Arc<EventData>,
        stripped: &mut Option<Arc<EventData>>,
    ) -> Option<Arc<EventData>> {
        if sub.cti && !self.cti_allows(data.kind()) {
            return None;
        }
        if !self.wants_disposition(sub) && has_disposition(data) {
            return Some(
                stripped
                    .get_or_insert_with(|| Arc::new(strip_disposition(data)))
                    .clone(),
            );
        }
        Some(data.clone())
    }

    /// Sends an event about `user` to every subscription whose packages carry it.
    pub(crate) fn publish(&self, user: &User, data: Arc<EventData>) {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        let kind = data.kind();
        let mut subs = Vec::new();
        self.subs.for_user(user, &mut subs);
        let mut stripped = None;
        let mut shared = Vec::new();
        for sub in subs {
            let Some(&package) = sub.packages.as_slice().iter().find(|p| p.carries(kind)) else {
                continue;
            };
            if first_of_shared(&sub, package, &mut shared)
                && let Some(d) = self.prepare(&sub, &data, &mut stripped)
            {
                self.send_raw(&sub, Some(user), package, d);
            }
        }
    }

    /// Like [`publish`](Self::publish), to subscriptions of `only` (Advanced Call views).
    pub(crate) fn publish_only(&self, user: &User, data: Arc<EventData>, only: EventPackage) {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        let mut subs = Vec::new();
        self.subs.for_user(user, &mut subs);
        let mut stripped = None;
        let mut shared = Vec::new();
        for sub in subs {
            if !sub.packages.as_slice().contains(&only) {
                continue;
            }
            if first_of_shared(&sub, only, &mut shared)
                && let Some(d) = self.prepare(&sub, &data, &mut stripped)
            {
                self.send_raw(&sub, Some(user), only, d);
            }
        }
    }

    /// Sends one event to one subscription (initial state), with gating.
    pub(crate) fn send_to_subscription(
        &self,
        sub: &Arc<Sub>,
        user: &User,
        package: EventPackage,
        data: Arc<EventData>,
    ) {
        let mut stripped = None;
        if let Some(d) = self.prepare(sub, &data, &mut stripped) {
            self.send_raw(sub, Some(user), package, d);
        }
    }

    /// Builds the envelope, applies faults and routes.
    pub(crate) fn send_raw(
        &self,
        sub: &Arc<Sub>,
        user: Option<&User>,
        package: EventPackage,
        data: Arc<EventData>,
    ) {
        let n = Notification {
            event_id: self.dice.uuid(),
            sequence_number: sub.seq.next(),
            owner: sub.owner.clone(),
            external_application_id: sub.application_id.clone(),
            subscription_id: sub.id.clone(),
            shared_subscription_id: sub.shared_id.clone(),
            route: Route::Channel("".into()),
            target_id: user.map(|u| u.user_id.as_str().into()),
            target_sub_id: sub.target_sub_id.clone(),
            package,
            data,
        };
        let q = Queued {
            sub: sub.clone(),
            n,
        };
        if self.faults_on.load(Ordering::Acquire) {
            self.send_with_faults(q);
        } else {
            self.route(q);
        }
    }

    fn send_with_faults(&self, q: Queued) {
        let mut delay = None;
        let mut copies = 1;
        {
            let faults = self.faults.read();
            for (id, f) in faults.iter() {
                let Some(scope) = f.scope() else { continue };
                if scope.package.is_some_and(|p| p != q.n.package)
                    || scope.user.as_deref().is_some_and(|u| {
                        q.n.target_id
                            .as_deref()
                            .is_none_or(|t| !t.eq_ignore_ascii_case(u))
                    })
                {
                    continue;
                }
                match f {
                    EventFault::Lose { probability, .. } if self.dice.chance(*probability) => {
                        self.stats.lost_fault.fetch_add(1, Ordering::Relaxed);
                        self.journal
                            .record(self.node.clone(), Kind::Fault, "event lost (fault)")
                            .attr("fault_id", id.0.to_string())
                            .attr("event_id", q.n.event_id.to_string())
                            .attr("subscription_id", q.n.subscription_id.to_string())
                            .attr("event", q.n.data.kind().type_name())
                            .commit();
                        return;
                    }
                    EventFault::Duplicate { probability, .. } if self.dice.chance(*probability) => {
                        copies = 2;
                    }
                    EventFault::Delay {
                        delay: d,
                        probability,
                        ..
                    }
                    | EventFault::Reorder {
                        hold: d,
                        probability,
                        ..
                    } if self.dice.chance(*probability) => {
                        delay = Some(delay.unwrap_or_default() + *d);
                    }
                    _ => {}
                }
            }
        }
        let Some(inner) = self.me.upgrade() else {
            return;
        };
        match delay {
            None => {
                for _ in 1..copies {
                    self.route(Queued {
                        sub: q.sub.clone(),
                        n: q.n.clone(),
                    });
                }
                self.route(q);
            }
            Some(d) => {
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    for _ in 1..copies {
                        inner.route(Queued {
                            sub: q.sub.clone(),
                            n: q.n.clone(),
                        });
                    }
                    inner.route(q);
                });
            }
        }
    }

    fn route(&self, q: Queued) {
        if !q.sub.alive.load(Ordering::Relaxed)
            && q.n.data.kind() != EventKind::SubscriptionTerminated
        {
            return;
        }
        match q.sub.route() {
            SubscriptionRoute::HttpContact(uri) => self.send_http(q, uri),
            SubscriptionRoute::ChannelSet(_) => {
                self.send_on_set(q, Vec::new(), false);
            }
        }
    }

    fn eligible_http_app(&self, tag: &str) -> Option<Arc<App>> {
        let apps = self.apps.read();
        apps.values()
            .filter(|a| &*a.name == tag)
            .min_by_key(|a| a.id)
            .cloned()
    }

    fn send_http(&self, mut q: Queued, uri: Arc<str>) {
        let Some(app) = self.eligible_http_app(&q.sub.tag) else {
            self.lost_app_name(&q);
            return;
        };
        q.n.route = Route::HttpContact(uri.clone());
        match app.sink.deliver_http(&uri, Arc::new(q.n)) {
            Delivery::Delivered => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
            }
            other => {
                self.stats.undeliverable.fetch_add(1, Ordering::Relaxed);
                self.journal
                    .record(
                        self.node.clone(),
                        Kind::Event,
                        "HTTP contact event not delivered",
                    )
                    .attr("uri", uri.to_string())
                    .attr("delivery", format!("{other:?}"))
                    .commit();
            }
        }
    }

    fn lost_app_name(&self, q: &Queued) {
        self.stats.lost_app_name.fetch_add(1, Ordering::Relaxed);
        self.journal
            .record(
                self.node.clone(),
                Kind::Event,
                format!(
                    "event lost: no Xsi-Events instance named {} serves the route",
                    q.sub.tag
                ),
            )
            .attr("lost", "call_control_application_name")
            .attr("call_control_application_name", q.sub.tag.to_string())
            .attr("subscription_id", q.sub.id.to_string())
            .attr("event_id", q.n.event_id.to_string())
            .attr("event", q.n.data.kind().type_name())
            .commit();
    }

    fn no_live_channel(&self, q: Queued, key: SetKey) {
        let limit = self.settings.replay_queue;
        if limit > 0 {
            let mut sets = self.channels.sets.shard(&key).lock();
            let set = sets.entry(key).or_default();
            if set.channels.is_empty() {
                if set.replay.len() >= limit {
                    set.replay.pop_front();
                    self.stats
                        .dropped_no_channel
                        .fetch_add(1, Ordering::Relaxed);
                }
                set.replay.push_back(q);
                return;
            }
            // A channel appeared meanwhile.
            drop(sets);
            self.send_on_set(q, Vec::new(), false);
            return;
        }
        self.stats
            .dropped_no_channel
            .fetch_add(1, Ordering::Relaxed);
        self.journal
            .record(
                self.node.clone(),
                Kind::Event,
                "event dropped: channel set has no live channel",
            )
            .attr("subscription_id", q.sub.id.to_string())
            .attr("event_id", q.n.event_id.to_string())
            .attr("event", q.n.data.kind().type_name())
            .commit();
    }

    /// A replayed event (channel appeared).
    pub(crate) fn send_queued(&self, q: Queued) {
        self.send_on_set(q, Vec::new(), false);
    }

    /// Chooses a channel: lowest priority value, then weighted random (seeded).
    fn choose(&self, eligible: &[(&Arc<Chan>, Arc<App>)]) -> usize {
        let best = eligible.iter().map(|(c, _)| c.priority).min().unwrap_or(1);
        let total: u64 = eligible
            .iter()
            .filter(|(c, _)| c.priority == best)
            .map(|(c, _)| u64::from(c.weight))
            .sum();
        let mut r = self.dice.below(total.max(1));
        for (i, (c, _)) in eligible.iter().enumerate() {
            if c.priority != best {
                continue;
            }
            let w = u64::from(c.weight);
            if r < w {
                return i;
            }
            r -= w;
        }
        0
    }

    /// Delivers on the subscription's channel set, skipping `excluded` channels. Returns the
    /// channel used.
    fn send_on_set(
        &self,
        q: Queued,
        mut excluded: Vec<Arc<str>>,
        timed_out: bool,
    ) -> Option<Arc<str>> {
        let SubscriptionRoute::ChannelSet(set_id) = q.sub.route() else {
            self.route(q);
            return None;
        };
        loop {
            let channels = self.channels.set_channels(&q.sub.owner, &set_id);
            if channels.is_empty() {
                if excluded.is_empty() {
                    let key = (q.sub.owner.clone(), set_id);
                    self.no_live_channel(q, key);
                } else {
                    self.undeliverable(&q, "every channel of the set failed");
                }
                return None;
            }
            let mut mismatched = false;
            let eligible: Vec<(&Arc<Chan>, Arc<App>)> = {
                let apps = self.apps.read();
                channels
                    .iter()
                    .filter(|c| !excluded.contains(&c.id))
                    .filter_map(|c| match apps.get(&c.host) {
                        Some(a) if a.name == q.sub.tag => Some((c, a.clone())),
                        Some(_) => {
                            mismatched = true;
                            None
                        }
                        None => None,
                    })
                    .collect()
            };
            if eligible.is_empty() {
                if mismatched && excluded.is_empty() {
                    self.lost_app_name(&q);
                } else if timed_out {
                    self.undeliverable(&q, "no channel answered");
                    for c in channels.iter() {
                        self.remove_channel(c, Some(ChannelTerminatedReason::NonResponsiveChannel));
                    }
                } else if excluded.is_empty() {
                    let key = (q.sub.owner.clone(), set_id);
                    self.no_live_channel(q, key);
                } else {
                    self.undeliverable(&q, "every channel of the set failed");
                }
                return None;
            }
            let i = self.choose(&eligible);
            let (chan, app) = (eligible[i].0.clone(), eligible[i].1.clone());
            let n = Arc::new(Notification {
                route: Route::Channel(chan.id.clone()),
                ..q.n.clone()
            });
            let attempt = self.pending.attempts.fetch_add(1, Ordering::Relaxed);
            let event_id = n.event_id.clone();
            self.pending.map.shard(&*event_id).lock().insert(
                event_id.clone(),
                PendingAck {
                    n: n.clone(),
                    sub: q.sub.clone(),
                    channel: chan.clone(),
                    excluded: excluded.clone(),
                    timed_out,
                    attempt,
                },
            );
            match app.sink.deliver(&chan.id, n) {
                Delivery::Delivered => {
                    self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                    self.arm_ack_timeout(event_id, attempt);
                    return Some(chan.id.clone());
                }
                refused => {
                    let mut shard = self.pending.map.shard(&*event_id).lock();
                    if shard.get(&*event_id).is_some_and(|p| p.attempt == attempt) {
                        shard.remove(&*event_id);
                    }
                    drop(shard);
                    if refused == Delivery::NotHere {
                        self.remove_channel(&chan, None);
                    }
                    excluded.push(chan.id.clone());
                }
            }
        }
    }

    fn undeliverable(&self, q: &Queued, why: &str) {
        self.stats.undeliverable.fetch_add(1, Ordering::Relaxed);
        self.journal
            .record(
                self.node.clone(),
                Kind::Event,
                format!("event dropped: {why}"),
            )
            .attr("subscription_id", q.sub.id.to_string())
            .attr("event_id", q.n.event_id.to_string())
            .attr("event", q.n.data.kind().type_name())
            .commit();
    }

    fn arm_ack_timeout(&self, event_id: Arc<str>, attempt: u64) {
        let weak = self.me.clone();
        let timeout = self.settings.ack_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let Some(inner) = weak.upgrade() else { return };
            inner.ack_timed_out(&event_id, attempt);
        });
    }

    fn ack_timed_out(&self, event_id: &str, attempt: u64) {
        let p = {
            let mut shard = self.pending.map.shard(event_id).lock();
            match shard.get(event_id) {
                Some(p) if p.attempt == attempt => shard.remove(event_id),
                _ => None,
            }
        };
        let Some(mut p) = p else { return };
        self.stats.ack_timeouts.fetch_add(1, Ordering::Relaxed);
        self.journal
            .record(self.node.clone(), Kind::Event, "event response timed out")
            .attr("event_id", event_id)
            .attr("channel_id", p.channel.id.to_string())
            .commit();
        p.excluded.push(p.channel.id.clone());
        self.send_on_set(
            Queued {
                sub: p.sub,
                n: (*p.n).clone(),
            },
            p.excluded,
            true,
        );
    }

    pub(crate) fn event_response(
        &self,
        host: crate::ids::EventsAppId,
        event_id: &str,
        code: EventResponseCode,
    ) -> Result<AckOutcome, AckError> {
        let p = {
            let mut shard = self.pending.map.shard(event_id).lock();
            match shard.get(event_id) {
                None => return Err(AckError::UnknownEvent(event_id.to_owned())),
                Some(p) if p.channel.host != host => {
                    return Err(AckError::NotHostedHere {
                        channel_id: p.channel.id.clone(),
                    });
                }
                Some(_) => shard.remove(event_id).expect("present"),
            }
        };
        self.stats.acked.fetch_add(1, Ordering::Relaxed);
        let mut p = p;
        match code {
            EventResponseCode::Ok => Ok(AckOutcome::Done),
            EventResponseCode::BadEvent => {
                self.journal
                    .record(
                        self.node.clone(),
                        Kind::Event,
                        "event refused by client (400)",
                    )
                    .attr("event_id", event_id)
                    .commit();
                Ok(AckOutcome::Dropped)
            }
            EventResponseCode::UnknownSubscription => {
                let _ = self.delete_subscription(&p.sub.id, false);
                Ok(AckOutcome::SubscriptionDeleted)
            }
            EventResponseCode::UnknownChannel | EventResponseCode::ClientError => {
                if code == EventResponseCode::UnknownChannel {
                    self.remove_channel(&p.channel, Some(ChannelTerminatedReason::UnknownChannel));
                }
                p.excluded.push(p.channel.id.clone());
                let used = self.send_on_set(
                    Queued {
                        sub: p.sub,
                        n: (*p.n).clone(),
                    },
                    p.excluded,
                    p.timed_out,
                );
                Ok(AckOutcome::Resent(used))
            }
        }
    }

    // ----- state events -----------------------------------------------------------------

    pub(crate) fn state_event(&self, user: &User, package: EventPackage) -> Option<Arc<EventData>> {
        match package {
            p if p.is_call_package() => Some(self.call_state_event(user, false)),
            EventPackage::VoiceMailMessageSummary => Some(self.voicemail_event(user)),
            EventPackage::PushNotificationRegistration => Some(self.push_event(user)),
            p if p.implemented() => Some(Arc::new(EventData::Service {
                package: p,
                info: service_info(user, p),
            })),
            _ => None,
        }
    }

    pub(crate) fn call_state_event(&self, user: &User, resync: bool) -> Arc<EventData> {
        Arc::new(EventData::CallSubscription(
            crate::event::CallSubscription {
                calls: self.calls.snapshots_of(user.idx),
                hook_status: self.calls.hook_status(user.idx),
                resync,
            },
        ))
    }

    pub(crate) fn voicemail_event(&self, user: &User) -> Arc<EventData> {
        let summary = self
            .store
            .message_summary(user.idx)
            .map(VoiceMailSummary::from)
            .unwrap_or_default();
        Arc::new(EventData::VoiceMailSummary(summary))
    }

    pub(crate) fn push_event(&self, user: &User) -> Arc<EventData> {
        let regs = self.store.push_registrations(user.idx).unwrap_or_default();
        Arc::new(EventData::PushRegistrations(regs.into()))
    }

    pub(crate) fn service_changed(&self, user: &User, kind: ServiceKind) {
        let Some(package) = package_of_service(kind) else {
            return;
        };
        let data = Arc::new(EventData::Service {
            package,
            info: service_info(user, package),
        });
        self.publish(user, data);
    }
}

/// Shared subscriptions (same `sharedSubscriptionId`) get one notification per change: the
/// first linked subscription carries it.
fn first_of_shared(
    sub: &Sub,
    package: EventPackage,
    seen: &mut Vec<(Arc<str>, EventPackage)>,
) -> bool {
    let Some(id) = &sub.shared_id else {
        return true;
    };
    if seen.iter().any(|(s, p)| s == id && *p == package) {
        return false;
    }
    seen.push((id.clone(), package));
    true
}

/// The service configuration as its event shows it; `None` = unassigned.
pub(crate) fn service_info(user: &User, package: EventPackage) -> Option<ServiceInfo> {
    Some(match package {
        EventPackage::DoNotDisturb => {
            let s = user.service::<DoNotDisturb>()?;
            ServiceInfo::DoNotDisturb {
                active: s.active,
                ring_splash: s.ring_splash,
            }
        }
        EventPackage::CallForwardingAlways => {
            let s = user.service::<CallForwardingAlways>()?;
            ServiceInfo::CallForwardingAlways {
                active: s.active,
                forward_to_phone_number: s.forward_to_phone_number,
                ring_splash: s.ring_splash,
            }
        }
        EventPackage::CallForwardingBusy => {
            let s = user.service::<CallForwardingBusy>()?;
            ServiceInfo::CallForwardingBusy {
                active: s.active,
                forward_to_phone_number: s.forward_to_phone_number,
            }
        }
        EventPackage::CallForwardingNoAnswer => {
            let s = user.service::<CallForwardingNoAnswer>()?;
            ServiceInfo::CallForwardingNoAnswer {
                active: s.active,
                forward_to_phone_number: s.forward_to_phone_number,
                number_of_rings: s.number_of_rings,
            }
        }
        EventPackage::CallWaiting => ServiceInfo::CallWaiting {
            active: user.service::<CallWaiting>()?.active,
        },
        EventPackage::VoiceMessaging => ServiceInfo::VoiceMessaging {
            active: user.service::<VoiceMessaging>()?.active,
        },
        EventPackage::SimultaneousRingPersonal => {
            let s = user.service::<SimultaneousRingPersonal>()?;
            ServiceInfo::SimultaneousRingPersonal {
                active: s.active,
                locations: s
                    .sim_ring_locations
                    .into_iter()
                    .map(|l| l.address)
                    .collect(),
            }
        }
        EventPackage::RemoteOffice => {
            let s = user.service::<RemoteOffice>()?;
            ServiceInfo::RemoteOffice {
                active: s.active,
                remote_office_number: s.remote_office_number,
            }
        }
        EventPackage::BroadWorksAnywhere => {
            let s = user.service::<BroadWorksAnywhere>()?;
            ServiceInfo::BroadWorksAnywhere {
                alert_all_locations_for_click_to_dial_calls: s
                    .alert_all_locations_for_click_to_dial_calls,
                alert_all_locations_for_group_paging_calls: s
                    .alert_all_locations_for_group_paging_calls,
                locations: s.locations.into_iter().map(|l| l.phone_number).collect(),
            }
        }
        _ => return None,
    })
}
