//! The call engine: a sharded call table around the pure [`machine`].
//!
//! Each operation locks one call (never the table), applies an input to its
//! [`Session`], then — with no lock held — writes logs and voice messages
//! to the store, publishes the events and arms no-answer timers on tokio time.

pub mod machine;
mod script;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bwlab_model::services::{
    CallForwardingAlways, CallForwardingBusy, CallForwardingNoAnswer, CallWaiting, DoNotDisturb,
    VoiceMessaging,
};
use bwlab_model::{CallingParty, NewCallLog, NewVoiceMessage, User, UserIdx};
use parking_lot::Mutex;

pub use machine::{Input, MachineError, Output, Party, Routing, Session, Side};
pub use script::ScriptedCall;

use crate::event::{
    CallSnapshot, CallState, CallerIdDisposition, EventData, HookStatus, Personality,
    RedirectReason, ReleaseCause,
};
use crate::ids::TrackingCounter;
use crate::package::EventPackage;
use crate::server::{AppServer, Inner};
use crate::shard::Sharded;

/// Most forwarding hops before a call is rejected.
const MAX_HOPS: usize = 5;

/// Why a call operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No such user.
    #[error("no user {0:?}")]
    UnknownUser(String),
    /// No call with that id.
    #[error("no call {0:?}")]
    NoSuchCall(String),
    /// The operation does not fit the call's state.
    #[error(transparent)]
    State(#[from] MachineError),
    /// The transfer destination cannot be reached.
    #[error("cannot reach {0:?}")]
    UnknownDestination(String),
}

/// The current call ids of one call (session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallHandle {
    /// The staying/originating half (`callhalf-N:0`).
    pub originator: Arc<str>,
    /// The terminating half, once routed.
    pub terminator: Option<Arc<str>>,
    /// `extTrackingId`.
    pub ext_tracking_id: Arc<str>,
    /// Whether the call is over.
    pub ended: bool,
}

struct Entry {
    session: Session,
    /// Call ids indexed for this session, with their users.
    indexed: Vec<(Option<UserIdx>, Arc<str>)>,
    no_answer_gen: u64,
}

pub(crate) struct CallTable {
    sessions: Sharded<u64, Arc<Mutex<Entry>>>,
    by_call_id: Sharded<Arc<str>, u64>,
    by_user: Sharded<UserIdx, Vec<u64>>,
    next_session: AtomicU64,
    next_half: AtomicU64,
    tracking: TrackingCounter,
    server_id: u32,
    count: AtomicUsize,
}

impl CallTable {
    pub(crate) fn new(server_id: u32) -> Self {
        Self {
            sessions: Sharded::new(),
            by_call_id: Sharded::new(),
            by_user: Sharded::new(),
            next_session: AtomicU64::new(1),
            next_half: AtomicU64::new(1),
            tracking: TrackingCounter::starting_at(1),
            server_id,
            count: AtomicUsize::new(0),
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    fn new_call_id(&self) -> Arc<str> {
        format!(
            "callhalf-{}:0",
            self.next_half.fetch_add(1, Ordering::Relaxed)
        )
        .into()
    }

    fn session_of(&self, call_id: &str) -> Option<(u64, Arc<Mutex<Entry>>)> {
        let sid = *self.by_call_id.shard(call_id).lock().get(call_id)?;
        let e = self.sessions.shard(&sid).lock().get(&sid)?.clone();
        Some((sid, e))
    }

    fn sessions_of(&self, user: UserIdx) -> Vec<Arc<Mutex<Entry>>> {
        let ids = self
            .by_user
            .shard(&user)
            .lock()
            .get(&user)
            .cloned()
            .unwrap_or_default();
        ids.iter()
            .filter_map(|sid| self.sessions.shard(sid).lock().get(sid).cloned())
            .collect()
    }

    /// The user's current call halves.
    pub(crate) fn snapshots_of(&self, user: UserIdx) -> Vec<CallSnapshot> {
        let mut out = Vec::new();
        for e in self.sessions_of(user) {
            let e = e.lock();
            for h in [Some(&e.session.orig), e.session.term.as_ref()]
                .into_iter()
                .flatten()
            {
                if h.party.user == Some(user) && h.snap.state != CallState::Released {
                    out.push(h.snap.clone());
                }
            }
        }
        out.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        out
    }

    /// Off-Hook while the user originates or is connected (held calls count).
    pub(crate) fn hook_status(&self, user: UserIdx) -> HookStatus {
        let off = self.snapshots_of(user).iter().any(|s| match s.state {
            CallState::Active | CallState::Held | CallState::RemoteHeld => true,
            CallState::Alerting => s.personality != Personality::Terminator,
            _ => false,
        });
        if off {
            HookStatus::OffHook
        } else {
            HookStatus::OnHook
        }
    }

    /// Whether the user has a call other than `except`.
    fn busy(&self, user: UserIdx) -> bool {
        !self.snapshots_of(user).is_empty()
    }

    fn reindex(&self, sid: u64, entry: &mut Entry) {
        let s = &entry.session;
        let mut now: Vec<(Option<UserIdx>, Arc<str>)> = Vec::with_capacity(2);
        if !s.ended {
            now.push((s.orig.party.user, s.orig.snap.call_id.clone()));
            if let Some(t) = &s.term {
                now.push((t.party.user, t.snap.call_id.clone()));
            }
        }
        for old in &entry.indexed {
            if !now.contains(old) {
                self.by_call_id.shard(&*old.1).lock().remove(&*old.1);
                if let Some(u) = old.0
                    && !now.iter().any(|n| n.0 == Some(u))
                {
                    let mut shard = self.by_user.shard(&u).lock();
                    if let Some(list) = shard.get_mut(&u) {
                        list.retain(|x| *x != sid);
                        if list.is_empty() {
                            shard.remove(&u);
                        }
                    }
                }
            }
        }
        for new in &now {
            if !entry.indexed.contains(new) {
                self.by_call_id
                    .shard(&*new.1)
                    .lock()
                    .insert(new.1.clone(), sid);
                if let Some(u) = new.0 {
                    let mut shard = self.by_user.shard(&u).lock();
                    let list = shard.entry(u).or_default();
                    if !list.contains(&sid) {
                        list.push(sid);
                    }
                }
            }
        }
        entry.indexed = now;
    }
}

fn now_ms(inner: &Inner) -> i64 {
    (inner.store.now().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A lab user as a call party.
pub fn party_of(user: &User) -> Party {
    let name = format!("{} {}", user.clid_first_name(), user.clid_last_name());
    Party {
        user: Some(user.idx),
        user_id: Some(user.user_id.as_str().into()),
        name: Some(name.trim().to_owned()),
        number: user.number.as_ref().map(|n| n.to_string()),
        extension: user.extension.clone(),
        org: Some((user.group, user.enterprise)),
    }
}

impl Inner {
    /// Whom `from` reaches with `digits`: a lab user, or an outsider.
    fn resolve(&self, from: &User, digits: &str) -> Party {
        match self
            .store
            .dial(from, digits)
            .or_else(|| self.store.find_user(digits))
        {
            Some(u) => party_of(&u),
            None => Party::outside(digits),
        }
    }

    /// What the AS does with a call for `party` (services and busy state).
    fn decide(&self, party: &Party, hops: usize) -> Routing {
        let Some(user) = party.user.and_then(|u| self.store.user(u)) else {
            return Routing::Alert { rings: None };
        };
        let vm = user.service::<VoiceMessaging>().filter(|v| v.active);
        if hops < MAX_HOPS
            && let Some(cfa) = user.service::<CallForwardingAlways>()
            && cfa.active
            && let Some(n) = cfa.forward_to_phone_number.as_deref()
        {
            return Routing::Forward {
                reason: RedirectReason::Unconditional,
                to: self.resolve(&user, n),
                address: n.to_owned(),
            };
        }
        if user.service::<DoNotDisturb>().is_some_and(|d| d.active) {
            return match vm {
                Some(_) => Routing::Voicemail {
                    reason: RedirectReason::DoNotDisturb,
                },
                None => Routing::Reject {
                    cause: ReleaseCause::Busy,
                    seen_by_terminator: true,
                },
            };
        }
        let waiting = user.service::<CallWaiting>().is_some_and(|c| c.active);
        if self.calls.busy(user.idx) && !waiting {
            if hops < MAX_HOPS
                && let Some(cfb) = user.service::<CallForwardingBusy>()
                && cfb.active
                && let Some(n) = cfb.forward_to_phone_number.as_deref()
            {
                return Routing::Forward {
                    reason: RedirectReason::UserBusy,
                    to: self.resolve(&user, n),
                    address: n.to_owned(),
                };
            }
            return match vm.filter(|v| v.busy_redirect_to_voice_mail) {
                Some(_) => Routing::Voicemail {
                    reason: RedirectReason::UserBusy,
                },
                None => Routing::Reject {
                    cause: ReleaseCause::Busy,
                    seen_by_terminator: true,
                },
            };
        }
        let cfna = user
            .service::<CallForwardingNoAnswer>()
            .filter(|c| c.active && c.forward_to_phone_number.is_some());
        let rings = match (&cfna, &vm) {
            (Some(c), _) => Some(c.number_of_rings.max(1)),
            (None, Some(v)) if v.no_answer_redirect_to_voice_mail => {
                Some(v.no_answer_number_of_rings.max(1))
            }
            _ => None,
        };
        Routing::Alert { rings }
    }

    /// What happens when `party` does not answer.
    fn decide_no_answer(&self, party: &Party) -> Option<Routing> {
        let user = party.user.and_then(|u| self.store.user(u))?;
        if let Some(c) = user.service::<CallForwardingNoAnswer>()
            && c.active
            && let Some(n) = c.forward_to_phone_number.as_deref()
        {
            return Some(Routing::Forward {
                reason: RedirectReason::NoAnswer,
                to: self.resolve(&user, n),
                address: n.to_owned(),
            });
        }
        user.service::<VoiceMessaging>()
            .filter(|v| v.active && v.no_answer_redirect_to_voice_mail)
            .map(|_| Routing::Voicemail {
                reason: RedirectReason::NoAnswer,
            })
    }

    fn users_of(&self, entry: &Arc<Mutex<Entry>>) -> Vec<UserIdx> {
        let e = entry.lock();
        let mut users: Vec<UserIdx> = e.indexed.iter().filter_map(|(u, _)| *u).collect();
        if let Some(u) = e.session.orig.party.user {
            users.push(u);
        }
        users
    }

    /// Applies `input` (and the routing it leads to), then carries out the outputs.
    fn drive(
        &self,
        sid: u64,
        entry: &Arc<Mutex<Entry>>,
        input: Input,
        extra_users: &[UserIdx],
    ) -> Result<(), CallError> {
        let mut users = self.users_of(entry);
        users.extend_from_slice(extra_users);
        let mut hooks: HashMap<UserIdx, HookStatus> = users
            .iter()
            .map(|&u| (u, self.calls.hook_status(u)))
            .collect();
        let mut events: Vec<(UserIdx, EventData, bool)> = Vec::new();
        let mut input = Some(input);
        let mut hops = 0;
        let mut first = true;
        while let Some(inp) = input.take() {
            let now = now_ms(self);
            let (outs, term_call) = {
                let mut e = entry.lock();
                let outs = match e.session.apply(inp, now) {
                    Ok(o) => o,
                    Err(err) if first => return Err(err.into()),
                    Err(_) => break,
                };
                self.calls.reindex(sid, &mut e);
                let term_call = e.session.term.as_ref().map(|t| t.snap.call_id.clone());
                (outs, term_call)
            };
            first = false;
            for o in outs {
                match o {
                    Output::Event {
                        user,
                        data,
                        advanced_only,
                    } => {
                        hooks.entry(user).or_insert(HookStatus::OnHook);
                        events.push((user, data, advanced_only));
                    }
                    Output::Log {
                        user,
                        kind,
                        name,
                        number,
                        time_ms,
                    } => {
                        let time = time::OffsetDateTime::from_unix_timestamp_nanos(
                            i128::from(time_ms) * 1_000_000,
                        )
                        .unwrap_or_else(|_| self.store.now());
                        let _ = self.store.append_call_log(
                            user,
                            NewCallLog {
                                kind,
                                name: if name.is_empty() {
                                    number.clone()
                                } else {
                                    name
                                },
                                number,
                                time,
                            },
                        );
                    }
                    Output::VoiceMessage {
                        user,
                        from,
                        duration_ms,
                        time_ms,
                    } => self.leave_voice_message(user, &from, duration_ms, time_ms),
                    Output::NeedRouting(party) => {
                        hops += 1;
                        if let Some(u) = party.user {
                            hooks.entry(u).or_insert_with(|| self.calls.hook_status(u));
                        }
                        let routing = if hops > MAX_HOPS + 1 {
                            Routing::Reject {
                                cause: ReleaseCause::RequestFailure,
                                seen_by_terminator: false,
                            }
                        } else {
                            self.decide(&party, hops)
                        };
                        input = Some(Input::Route {
                            routing,
                            call_id: self.calls.new_call_id(),
                        });
                    }
                    Output::ArmNoAnswer(rings) => {
                        if let Some(call) = term_call.clone() {
                            self.arm_no_answer(sid, entry, rings, call);
                        }
                    }
                    Output::Ended => {
                        self.calls.sessions.shard(&sid).lock().remove(&sid);
                        self.calls.count.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            }
        }
        // Hook status: Off-Hook before the call events, On-Hook after them.
        let mut before = Vec::new();
        let mut after = Vec::new();
        for (&u, &old) in &hooks {
            let new = self.calls.hook_status(u);
            if new != old {
                if new == HookStatus::OffHook {
                    before.push(u);
                } else {
                    after.push(u);
                }
            }
        }
        for u in before {
            self.publish_call(u, EventData::HookStatus(HookStatus::OffHook), false);
        }
        for (u, data, advanced_only) in events {
            self.publish_call(u, data, advanced_only);
        }
        for u in after {
            self.publish_call(u, EventData::HookStatus(HookStatus::OnHook), false);
        }
        Ok(())
    }

    fn publish_call(&self, user: UserIdx, data: EventData, advanced_only: bool) {
        let Some(u) = self.store.user(user) else {
            return;
        };
        if advanced_only {
            self.publish_only(&u, Arc::new(data), EventPackage::AdvancedCall);
        } else {
            self.publish(&u, Arc::new(data));
        }
    }

    fn leave_voice_message(&self, user: UserIdx, from: &Party, duration_ms: i64, time_ms: i64) {
        let time =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_ms) * 1_000_000).ok();
        let msg = NewVoiceMessage {
            from: CallingParty {
                name: from.name.clone(),
                user_id: from.user_id.as_deref().map(str::to_owned),
                address: from.number.as_ref().map(|n| format!("tel:{n}")),
                privacy: false,
            },
            time,
            duration_ms: Some(u32::try_from(duration_ms).unwrap_or(u32::MAX)),
            ..NewVoiceMessage::default()
        };
        match self.store.deposit_voice_message(user, msg) {
            Ok(_) => {
                if let Some(u) = self.store.user(user) {
                    let data = self.voicemail_event(&u);
                    self.publish(&u, data);
                }
            }
            Err(e) => {
                self.journal
                    .record(
                        self.node.clone(),
                        bwlab_core::journal::Kind::Event,
                        format!("voice message not deposited: {e}"),
                    )
                    .commit();
            }
        }
    }

    fn arm_no_answer(&self, sid: u64, entry: &Arc<Mutex<Entry>>, rings: u8, call: Arc<str>) {
        let generation = {
            let mut e = entry.lock();
            e.no_answer_gen += 1;
            e.no_answer_gen
        };
        let weak = self.me.clone();
        let entry = Arc::downgrade(entry);
        let wait = self.settings.ring_duration * u32::from(rings);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let (Some(inner), Some(entry)) = (weak.upgrade(), entry.upgrade()) else {
                return;
            };
            let party = {
                let e = entry.lock();
                if e.no_answer_gen != generation {
                    return;
                }
                match &e.session.term {
                    Some(t) if t.snap.call_id == call && t.snap.state == CallState::Alerting => {
                        t.party.clone()
                    }
                    _ => return,
                }
            };
            if let Some(routing) = inner.decide_no_answer(&party) {
                let _ = inner.drive(sid, &entry, Input::NoAnswer(routing), &[]);
            }
        });
    }

    pub(crate) fn dial(
        &self,
        caller: &str,
        dialed: &str,
        disposition: Option<CallerIdDisposition>,
    ) -> Result<CallHandle, CallError> {
        let user = self
            .store
            .find_user(caller)
            .ok_or_else(|| CallError::UnknownUser(caller.to_owned()))?;
        let me = party_of(&user);
        let callee_user = self
            .store
            .dial(&user, dialed)
            .or_else(|| self.store.find_user(dialed));
        let callee = callee_user.as_deref().map(party_of);
        let mut extra = vec![user.idx];
        extra.extend(callee_user.as_ref().map(|u| u.idx));
        let sid = self.calls.next_session.fetch_add(1, Ordering::Relaxed);
        let ext: Arc<str> =
            format!("{}:{}", self.calls.tracking.next(), self.calls.server_id).into();
        let call_id = self.calls.new_call_id();
        let found = callee.is_some();
        let (session, outs) = Session::originate(
            call_id.clone(),
            ext,
            me,
            callee,
            dialed,
            now_ms(self),
            disposition,
        );
        let entry = Arc::new(Mutex::new(Entry {
            session,
            indexed: Vec::new(),
            no_answer_gen: 0,
        }));
        let hook_before = self.calls.hook_status(user.idx);
        {
            let mut e = entry.lock();
            self.calls.reindex(sid, &mut e);
        }
        self.calls
            .sessions
            .shard(&sid)
            .lock()
            .insert(sid, entry.clone());
        self.calls.count.fetch_add(1, Ordering::Relaxed);
        if hook_before == HookStatus::OnHook {
            self.publish_call(user.idx, EventData::HookStatus(HookStatus::OffHook), false);
        }
        let mut routing = None;
        for o in outs {
            match o {
                Output::Event {
                    user,
                    data,
                    advanced_only,
                } => self.publish_call(user, data, advanced_only),
                Output::NeedRouting(p) => routing = Some(p),
                _ => {}
            }
        }
        let input = match routing {
            Some(p) => Input::Route {
                routing: self.decide(&p, 0),
                call_id: self.calls.new_call_id(),
            },
            None => {
                debug_assert!(!found);
                Input::NotFound
            }
        };
        self.drive(sid, &entry, input, &extra)?;
        Ok(self.handle(&entry))
    }

    fn handle(&self, entry: &Arc<Mutex<Entry>>) -> CallHandle {
        let e = entry.lock();
        CallHandle {
            originator: e.session.orig.snap.call_id.clone(),
            terminator: e.session.term.as_ref().map(|t| t.snap.call_id.clone()),
            ext_tracking_id: e.session.orig.snap.ext_tracking_id.clone(),
            ended: e.session.ended,
        }
    }

    fn side_of(entry: &Arc<Mutex<Entry>>, call_id: &str) -> Side {
        let e = entry.lock();
        if &*e.session.orig.snap.call_id == call_id {
            Side::Orig
        } else {
            Side::Term
        }
    }

    fn with_call(&self, call_id: &str) -> Result<(u64, Arc<Mutex<Entry>>), CallError> {
        self.calls
            .session_of(call_id)
            .ok_or_else(|| CallError::NoSuchCall(call_id.to_owned()))
    }
}

/// Call control: originate, answer, hold, retrieve, transfer, release.
///
/// Call ids are the `callId`s of the halves (`callhalf-N:0`); an operation acts for the
/// user of the half named (answer always answers the terminating half).
#[derive(Clone, Copy)]
pub struct CallControl<'a> {
    pub(crate) server: &'a AppServer,
}

impl CallControl<'_> {
    fn inner(&self) -> &Inner {
        &self.server.inner
    }

    /// `caller` (a user id) dials `dialed` (extension, location code + extension, number or
    /// user id).
    pub fn dial(&self, caller: &str, dialed: &str) -> Result<CallHandle, CallError> {
        self.inner().dial(caller, dialed, None)
    }

    /// Like [`dial`](Self::dial), marking the caller's identity with a spam disposition
    /// (seen only by CTI subscriptions of releases with `CallerIdDisposition`).
    pub fn dial_with_disposition(
        &self,
        caller: &str,
        dialed: &str,
        disposition: CallerIdDisposition,
    ) -> Result<CallHandle, CallError> {
        self.inner().dial(caller, dialed, Some(disposition))
    }

    /// The terminator answers.
    pub fn answer(&self, call_id: &str) -> Result<(), CallError> {
        let (sid, e) = self.inner().with_call(call_id)?;
        self.inner().drive(sid, &e, Input::Answer, &[])
    }

    /// The half's user holds.
    pub fn hold(&self, call_id: &str) -> Result<(), CallError> {
        let (sid, e) = self.inner().with_call(call_id)?;
        let side = Inner::side_of(&e, call_id);
        self.inner().drive(sid, &e, Input::Hold(side), &[])
    }

    /// The half's user retrieves.
    pub fn retrieve(&self, call_id: &str) -> Result<(), CallError> {
        let (sid, e) = self.inner().with_call(call_id)?;
        let side = Inner::side_of(&e, call_id);
        self.inner().drive(sid, &e, Input::Retrieve(side), &[])
    }

    /// The half's user hangs up.
    pub fn release(&self, call_id: &str) -> Result<(), CallError> {
        let (sid, e) = self.inner().with_call(call_id)?;
        let side = Inner::side_of(&e, call_id);
        self.inner().drive(sid, &e, Input::Release(side), &[])
    }

    /// The half's user blind-transfers the other party to `to` (dialled from the
    /// transferring user).
    pub fn transfer(&self, call_id: &str, to: &str) -> Result<(), CallError> {
        let inner = self.inner();
        let (sid, e) = inner.with_call(call_id)?;
        let side = Inner::side_of(&e, call_id);
        let who = e.lock().session.half(side).and_then(|h| h.party.user);
        let user = who
            .and_then(|u| inner.store.user(u))
            .ok_or_else(|| CallError::NoSuchCall(call_id.to_owned()))?;
        let target = inner
            .store
            .dial(&user, to)
            .or_else(|| inner.store.find_user(to))
            .ok_or_else(|| CallError::UnknownDestination(to.to_owned()))?;
        let party = party_of(&target);
        let extra = [target.idx];
        inner.drive(
            sid,
            &e,
            Input::Transfer {
                side,
                to: party,
                call_id: inner.calls.new_call_id(),
            },
            &extra,
        )
    }

    /// The current ids of the call `call_id` belongs to.
    pub fn session(&self, call_id: &str) -> Option<CallHandle> {
        let (_, e) = self.inner().calls.session_of(call_id)?;
        Some(self.inner().handle(&e))
    }

    /// One call half as its user sees it.
    pub fn call(&self, call_id: &str) -> Option<CallSnapshot> {
        let (_, e) = self.inner().calls.session_of(call_id)?;
        let e = e.lock();
        [Some(&e.session.orig), e.session.term.as_ref()]
            .into_iter()
            .flatten()
            .find(|h| &*h.snap.call_id == call_id)
            .map(|h| h.snap.clone())
    }

    /// A user's current calls.
    pub fn calls_of(&self, user: &str) -> Vec<CallSnapshot> {
        self.inner()
            .store
            .find_user(user)
            .map(|u| self.inner().calls.snapshots_of(u.idx))
            .unwrap_or_default()
    }

    /// A user's hook status.
    pub fn hook_status(&self, user: &str) -> HookStatus {
        self.inner()
            .store
            .find_user(user)
            .map_or(HookStatus::OnHook, |u| {
                self.inner().calls.hook_status(u.idx)
            })
    }
}
