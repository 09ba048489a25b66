//! The pure per-call state machine: a [`Session`] (two call halves) takes an [`Input`] and
//! answers [`Output`]s. No store, no clock, no locks: the engine (or, later, SIP dialogs)
//! feeds it decisions and timestamps, so any driver produces the same events.

use std::sync::Arc;

use bwlab_model::{CallLogKind, EnterpriseIdx, GroupIdx, UserIdx};

use crate::event::{
    CallSnapshot, CallState, CallType, CallerIdDisposition, EventData, Personality, Redirect,
    RedirectReason, ReleaseCause, ReleasingParty, RemoteParty,
};
use crate::package::EventKind;

/// A party of a call: a lab user, or somebody outside the lab (`user: None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// The lab user, if any.
    pub user: Option<UserIdx>,
    /// BroadWorks user id.
    pub user_id: Option<Arc<str>>,
    /// Calling line name.
    pub name: Option<String>,
    /// E.164 number (`+15550100`) or the dialled digits for outsiders.
    pub number: Option<String>,
    /// Extension.
    pub extension: Option<String>,
    /// Group and enterprise of a lab user.
    pub org: Option<(GroupIdx, EnterpriseIdx)>,
}

impl Party {
    /// An outside party known only by the digits dialled.
    pub fn outside(digits: &str) -> Self {
        Self {
            user: None,
            user_id: None,
            name: None,
            number: Some(digits.to_owned()),
            extension: None,
            org: None,
        }
    }

    /// How `viewer` sees this party (`remoteParty`).
    pub fn seen_by(&self, viewer: &Party) -> RemoteParty {
        let call_type = match (self.org, viewer.org) {
            (Some((g1, _)), Some((g2, _))) if g1 == g2 => CallType::Group,
            (Some((_, e1)), Some((_, e2))) if e1 == e2 => CallType::Enterprise,
            _ => CallType::Network,
        };
        let near = matches!(call_type, CallType::Group | CallType::Enterprise);
        let address = match (&self.extension, &self.number) {
            (Some(ext), _) if call_type == CallType::Group => Some(format!("tel:{ext}")),
            (_, Some(n)) => Some(format!("tel:{n}")),
            (Some(ext), None) if near => Some(format!("tel:{ext}")),
            _ => None,
        };
        RemoteParty {
            name: self.name.clone(),
            address,
            user_id: near
                .then(|| self.user_id.as_deref().map(str::to_owned))
                .flatten(),
            user_dn: near.then(|| self.number.clone()).flatten(),
            call_type,
        }
    }
}

/// Which half.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The caller's half.
    Orig,
    /// The called half.
    Term,
}

impl Side {
    /// The other half.
    pub fn other(self) -> Side {
        match self {
            Side::Orig => Side::Term,
            Side::Term => Side::Orig,
        }
    }
}

/// What the AS decided for a terminating party (from its services and call state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Ring the party; no-answer processing after `rings` rings (never when `None`).
    Alert {
        /// Rings before no-answer processing.
        rings: Option<u8>,
    },
    /// A service sends the call elsewhere (CFA, CFB, CFNA); the engine routes `to` next.
    Forward {
        /// Why.
        reason: RedirectReason,
        /// Where.
        to: Party,
        /// The forward-to address as configured.
        address: String,
    },
    /// The party's mailbox takes the call.
    Voicemail {
        /// Why (busy, no answer, DND, unconditional).
        reason: RedirectReason,
    },
    /// The call fails (busy, DND without voice mail, unknown number).
    Reject {
        /// Release cause shown to the caller.
        cause: ReleaseCause,
        /// The terminator's services refused it (the terminator's Advanced Call sees it).
        seen_by_terminator: bool,
    },
}

/// Inputs of the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Routing decision for the pending terminator; `call_id` names its new half.
    Route {
        /// The decision.
        routing: Routing,
        /// Call id for a new terminating half.
        call_id: Arc<str>,
    },
    /// The destination does not exist.
    NotFound,
    /// The terminator answers.
    Answer,
    /// `side` holds.
    Hold(Side),
    /// `side` retrieves.
    Retrieve(Side),
    /// `side` hangs up.
    Release(Side),
    /// The no-answer timer fired; `routing` is what happens next (forward/voicemail).
    NoAnswer(Routing),
    /// `side` blind-transfers its remote party to `to`; `call_id` names the new half.
    Transfer {
        /// Who transfers.
        side: Side,
        /// The new destination.
        to: Party,
        /// Its new half.
        call_id: Arc<str>,
    },
}

/// Effects the engine carries out.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// An event about `user`. `advanced_only`: only Advanced Call subscriptions see it
    /// (service processing before the user's device is alerted).
    Event {
        /// Whom it is about.
        user: UserIdx,
        /// The payload.
        data: EventData,
        /// Advanced Call only.
        advanced_only: bool,
    },
    /// A call log entry.
    Log {
        /// Owner of the log.
        user: UserIdx,
        /// Placed / received / missed.
        kind: CallLogKind,
        /// Other party's name.
        name: String,
        /// Other party's number.
        number: String,
        /// Call start, ms since the epoch.
        time_ms: i64,
    },
    /// Deposit a voice message into `user`'s mailbox.
    VoiceMessage {
        /// Mailbox owner.
        user: UserIdx,
        /// Caller.
        from: Party,
        /// Length.
        duration_ms: i64,
        /// When it was left.
        time_ms: i64,
    },
    /// Route the (new) terminator `party`, then feed [`Input::Route`].
    NeedRouting(Party),
    /// Start the no-answer timer.
    ArmNoAnswer(u8),
    /// The call is over; drop it.
    Ended,
}

/// Why an input does not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    /// The input does not fit the current state.
    #[error("{op} is not possible in state {state}")]
    InvalidState {
        /// The operation.
        op: &'static str,
        /// The state of the half concerned.
        state: &'static str,
    },
}

/// One call half.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Half {
    /// The party this half belongs to.
    pub party: Party,
    /// What this half's user sees.
    pub snap: CallSnapshot,
    /// A missed/received log was written already.
    logged: bool,
}

/// One call: an originating half and (once routed) a terminating half.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The caller's half.
    pub orig: Half,
    /// The called half (absent before routing or when the destination is unknown).
    pub term: Option<Half>,
    /// The party being routed to, before its half exists.
    pending: Option<Party>,
    /// Caller connected to the terminator's mailbox: (mailbox owner, since).
    voicemail: Option<(Party, i64)>,
    /// Digits dialled.
    pub dialed: String,
    /// Over.
    pub ended: bool,
    disposition: Option<CallerIdDisposition>,
}

fn snap(
    call_id: Arc<str>,
    ext: Arc<str>,
    personality: Personality,
    remote: RemoteParty,
    now: i64,
) -> CallSnapshot {
    CallSnapshot {
        call_id,
        ext_tracking_id: ext,
        network_call_id: None,
        personality,
        state: CallState::Alerting,
        release_cause: None,
        releasing_party: None,
        remote_party: remote,
        redirect: None,
        start_time: now,
        answer_time: None,
        held_time: None,
        detached_time: None,
        release_time: None,
        caller_id_disposition: None,
    }
}

fn state_name(s: CallState) -> &'static str {
    s.as_str()
}

impl Session {
    /// A call from `caller` dialling `dialed` to `callee` (resolved party or outsider).
    /// Outputs: `CallOriginated` and a routing request for the callee.
    pub fn originate(
        call_id: Arc<str>,
        ext_tracking_id: Arc<str>,
        caller: Party,
        callee: Option<Party>,
        dialed: &str,
        now: i64,
        disposition: Option<CallerIdDisposition>,
    ) -> (Self, Vec<Output>) {
        let remote = match &callee {
            Some(c) => c.seen_by(&caller),
            None => Party::outside(dialed).seen_by(&caller),
        };
        let s = snap(
            call_id,
            ext_tracking_id,
            Personality::Originator,
            remote,
            now,
        );
        let session = Session {
            orig: Half {
                party: caller,
                snap: s,
                logged: false,
            },
            term: None,
            pending: callee.clone(),
            voicemail: None,
            dialed: dialed.to_owned(),
            ended: false,
            disposition,
        };
        let mut out = Vec::new();
        session.emit(&mut out, Side::Orig, EventKind::CallOriginated, false);
        if let Some(c) = callee {
            out.push(Output::NeedRouting(c));
        }
        (session, out)
    }

    /// The half on `side`.
    pub fn half(&self, side: Side) -> Option<&Half> {
        match side {
            Side::Orig => Some(&self.orig),
            Side::Term => self.term.as_ref(),
        }
    }

    fn half_mut(&mut self, side: Side) -> Option<&mut Half> {
        match side {
            Side::Orig => Some(&mut self.orig),
            Side::Term => self.term.as_mut(),
        }
    }

    /// Whether the caller is in the terminator's mailbox.
    pub fn in_voicemail(&self) -> bool {
        self.voicemail.is_some()
    }

    fn emit(&self, out: &mut Vec<Output>, side: Side, kind: EventKind, advanced_only: bool) {
        let Some(h) = self.half(side) else { return };
        let Some(user) = h.party.user else { return };
        out.push(Output::Event {
            user,
            data: EventData::Call {
                kind,
                call: h.snap.clone(),
            },
            advanced_only,
        });
    }

    /// Applies one input.
    pub fn apply(&mut self, input: Input, now: i64) -> Result<Vec<Output>, MachineError> {
        let mut out = Vec::new();
        if self.ended {
            return Err(MachineError::InvalidState {
                op: "any operation",
                state: "Released",
            });
        }
        match input {
            Input::NotFound => {
                let o = &mut self.orig.snap;
                o.release_cause = Some(ReleaseCause::UserNotFound);
                self.emit(&mut out, Side::Orig, EventKind::CallReleasing, false);
                self.finish(&mut out, Side::Orig, now, None);
            }
            Input::Route { routing, call_id } => self.route(routing, call_id, now, &mut out)?,
            Input::Answer => {
                let Some(t) = self.term.as_mut() else {
                    return Err(self.invalid("answer", Side::Term));
                };
                if t.snap.state != CallState::Alerting {
                    return Err(self.invalid("answer", Side::Term));
                }
                t.snap.state = CallState::Active;
                t.snap.answer_time.get_or_insert(now);
                self.orig.snap.state = CallState::Active;
                self.orig.snap.answer_time.get_or_insert(now);
                self.emit(&mut out, Side::Term, EventKind::CallAnswered, false);
                self.emit(&mut out, Side::Orig, EventKind::CallAnswered, false);
            }
            Input::Hold(side) => {
                self.require_connected("hold", side)?;
                let h = self.half_mut(side).expect("checked");
                if h.snap.state == CallState::Held {
                    return Err(self.invalid("hold", side));
                }
                h.snap.state = CallState::Held;
                h.snap.held_time = Some(now);
                self.emit(&mut out, side, EventKind::CallHeld, false);
                if let Some(o) = self.half_mut(side.other())
                    && o.snap.state == CallState::Active
                {
                    o.snap.state = CallState::RemoteHeld;
                    o.snap.held_time = Some(now);
                    self.emit(&mut out, side.other(), EventKind::CallHeld, false);
                }
            }
            Input::Retrieve(side) => {
                let state = self.half(side).map(|h| h.snap.state);
                if state != Some(CallState::Held) {
                    return Err(self.invalid("retrieve", side));
                }
                let h = self.half_mut(side).expect("checked");
                h.snap.state = CallState::Active;
                self.emit(&mut out, side, EventKind::CallRetrieved, false);
                if let Some(o) = self.half_mut(side.other())
                    && o.snap.state == CallState::RemoteHeld
                {
                    o.snap.state = CallState::Active;
                    self.emit(&mut out, side.other(), EventKind::CallRetrieved, false);
                }
            }
            Input::Release(side) => {
                if self.half(side).is_none() {
                    return Err(self.invalid("release", side));
                }
                self.finish(&mut out, side, now, None);
            }
            Input::NoAnswer(routing) => {
                let alerting = self
                    .term
                    .as_ref()
                    .is_some_and(|t| t.snap.state == CallState::Alerting);
                if !alerting {
                    return Ok(out);
                }
                self.redirect_term(routing, now, &mut out, false)?;
            }
            Input::Transfer { side, to, call_id } => {
                self.require_connected("transfer", side)?;
                self.transfer(side, to, call_id, now, &mut out);
            }
        }
        Ok(out)
    }

    fn invalid(&self, op: &'static str, side: Side) -> MachineError {
        MachineError::InvalidState {
            op,
            state: self.half(side).map_or("Idle", |h| state_name(h.snap.state)),
        }
    }

    fn require_connected(&self, op: &'static str, side: Side) -> Result<(), MachineError> {
        let ok = self.half(side).is_some_and(|h| {
            matches!(
                h.snap.state,
                CallState::Active | CallState::Held | CallState::RemoteHeld
            )
        }) && self.term.is_some();
        if ok {
            Ok(())
        } else {
            Err(self.invalid(op, side))
        }
    }

    fn route(
        &mut self,
        routing: Routing,
        call_id: Arc<str>,
        now: i64,
        out: &mut Vec<Output>,
    ) -> Result<(), MachineError> {
        let Some(callee) = self.pending.take() else {
            return Err(MachineError::InvalidState {
                op: "route",
                state: "Idle",
            });
        };
        let mut t = snap(
            call_id,
            self.orig.snap.ext_tracking_id.clone(),
            Personality::Terminator,
            self.orig.party.seen_by(&callee),
            now,
        );
        t.caller_id_disposition = self.disposition;
        self.term = Some(Half {
            party: callee,
            snap: t,
            logged: false,
        });
        match routing {
            Routing::Alert { rings } => {
                self.emit(out, Side::Term, EventKind::CallReceived, false);
                if let Some(r) = rings {
                    out.push(Output::ArmNoAnswer(r));
                }
            }
            other => {
                // Service processing before alerting: only Advanced Call sees the call.
                self.emit(out, Side::Term, EventKind::CallReceived, true);
                self.redirect_term(other, now, out, true)?;
            }
        }
        Ok(())
    }

    /// The terminator's services move the call away from it.
    fn redirect_term(
        &mut self,
        routing: Routing,
        now: i64,
        out: &mut Vec<Output>,
        before_alerting: bool,
    ) -> Result<(), MachineError> {
        let reason = match &routing {
            Routing::Forward { reason, .. } | Routing::Voicemail { reason } => Some(*reason),
            _ => None,
        };
        let address = match &routing {
            Routing::Forward { address, .. } => Some(address.clone()),
            Routing::Voicemail { .. } => self
                .term
                .as_ref()
                .and_then(|t| t.party.number.clone().or_else(|| t.party.extension.clone())),
            _ => None,
        };
        let Some(term) = self.term.as_mut() else {
            return Err(MachineError::InvalidState {
                op: "redirect",
                state: "Idle",
            });
        };
        let callee = term.party.clone();
        // The terminator's half ends: Advanced sees it redirected/detached, everybody sees
        // it released (unless it never alerted).
        if let Some(reason) = reason {
            term.snap.redirect = Some(Redirect {
                address: address.clone(),
                reason,
                time: now,
            });
            term.snap.state = CallState::Detached;
            term.snap.detached_time = Some(now);
            if let Some(user) = term.party.user {
                out.push(Output::Event {
                    user,
                    data: EventData::CallRedirected(vec![term.snap.clone()]),
                    advanced_only: true,
                });
            }
        }
        let term = self.term.as_mut().expect("present");
        term.snap.state = CallState::Released;
        term.snap.release_time = Some(now);
        let term_user = term.party.user;
        let term_snap = term.snap.clone();
        if let Some(user) = term_user {
            out.push(Output::Event {
                user,
                data: EventData::Call {
                    kind: EventKind::CallReleased,
                    call: term_snap,
                },
                advanced_only: before_alerting,
            });
        }
        self.log_term(out);
        match routing {
            Routing::Forward {
                reason,
                to,
                address,
            } => {
                let o = &mut self.orig.snap;
                o.remote_party = to.seen_by(&self.orig.party);
                o.redirect = Some(Redirect {
                    address: Some(address),
                    reason,
                    time: now,
                });
                self.term = None;
                self.pending = Some(to.clone());
                self.emit(out, Side::Orig, EventKind::CallForwarded, false);
                out.push(Output::NeedRouting(to));
            }
            Routing::Voicemail { reason } => {
                let o = &mut self.orig.snap;
                o.redirect = Some(Redirect {
                    address,
                    reason,
                    time: now,
                });
                o.state = CallState::Active;
                o.answer_time.get_or_insert(now);
                self.term = None;
                self.voicemail = Some((callee, now));
                self.emit(out, Side::Orig, EventKind::CallForwarded, false);
                self.emit(out, Side::Orig, EventKind::CallAnswered, false);
            }
            Routing::Reject { cause, .. } => {
                self.term = None;
                self.orig.snap.release_cause = Some(cause);
                self.emit(out, Side::Orig, EventKind::CallReleasing, false);
                self.finish(out, Side::Orig, now, None);
            }
            Routing::Alert { .. } => {}
        }
        Ok(())
    }

    fn log_term(&mut self, out: &mut Vec<Output>) {
        self.log_half(Side::Term, out);
    }

    /// Writes the half's call log once: placed for originators, received or missed for
    /// terminators.
    fn log_half(&mut self, side: Side, out: &mut Vec<Output>) {
        let dialed = self.dialed.clone();
        let Some(h) = self.half_mut(side) else { return };
        if h.logged {
            return;
        }
        h.logged = true;
        let Some(user) = h.party.user else { return };
        let remote = &h.snap.remote_party;
        let (kind, number) = match h.snap.personality {
            Personality::Terminator => (
                if h.snap.answer_time.is_some() {
                    CallLogKind::Received
                } else {
                    CallLogKind::Missed
                },
                remote
                    .user_dn
                    .clone()
                    .or_else(|| {
                        remote
                            .address
                            .as_deref()
                            .map(|a| a.trim_start_matches("tel:").to_owned())
                    })
                    .unwrap_or_default(),
            ),
            _ => (CallLogKind::Placed, dialed),
        };
        out.push(Output::Log {
            user,
            kind,
            name: remote.name.clone().unwrap_or_default(),
            number,
            time_ms: h.snap.start_time,
        });
    }

    /// Releases both halves; `side` released locally.
    fn finish(&mut self, out: &mut Vec<Output>, side: Side, now: i64, _why: Option<()>) {
        for s in [side, side.other()] {
            let party = if s == side {
                ReleasingParty::Local
            } else {
                ReleasingParty::Remote
            };
            let Some(h) = self.half_mut(s) else { continue };
            if h.snap.state == CallState::Released {
                continue;
            }
            h.snap.state = CallState::Released;
            h.snap.releasing_party = Some(party);
            h.snap.release_time = Some(now);
            self.emit(out, s, EventKind::CallReleased, false);
        }
        self.log_half(Side::Orig, out);
        self.log_half(Side::Term, out);
        if let Some((owner, since)) = self.voicemail.take()
            && let Some(user) = owner.user
        {
            out.push(Output::VoiceMessage {
                user,
                from: self.orig.party.clone(),
                duration_ms: (now - since).max(0),
                time_ms: since,
            });
        }
        self.ended = true;
        out.push(Output::Ended);
    }

    fn transfer(
        &mut self,
        side: Side,
        to: Party,
        call_id: Arc<str>,
        now: i64,
        out: &mut Vec<Output>,
    ) {
        let remote_side = side.other();
        // The transferring half leaves the call.
        let transferee = self.half(remote_side).map(|h| h.party.clone());
        let address = to.number.clone().or_else(|| to.extension.clone());
        if let Some(h) = self.half_mut(side) {
            h.snap.redirect = Some(Redirect {
                address,
                reason: RedirectReason::Transfer,
                time: now,
            });
            h.snap.state = CallState::Detached;
            h.snap.detached_time = Some(now);
        }
        if let Some(h) = self.half(side)
            && let Some(user) = h.party.user
        {
            out.push(Output::Event {
                user,
                data: EventData::CallRedirected(vec![h.snap.clone()]),
                advanced_only: true,
            });
        }
        if let Some(h) = self.half_mut(side) {
            h.snap.state = CallState::Released;
            h.snap.releasing_party = Some(ReleasingParty::Local);
            h.snap.release_time = Some(now);
        }
        self.emit(out, side, EventKind::CallReleased, false);
        self.log_half(side, out);
        let Some(transferee) = transferee else { return };
        // Normalise: the transferee becomes the originator, the target the new terminator.
        let mut staying = self.half(remote_side).cloned().expect("connected");
        staying.snap.remote_party = to.seen_by(&transferee);
        if staying.snap.state != CallState::Active {
            staying.snap.state = CallState::Active;
        }
        let mut target = snap(
            call_id,
            staying.snap.ext_tracking_id.clone(),
            Personality::Terminator,
            transferee.seen_by(&to),
            now,
        );
        target.caller_id_disposition = self.disposition;
        self.orig = staying;
        self.term = Some(Half {
            party: to,
            snap: target,
            logged: false,
        });
        self.emit(out, Side::Orig, EventKind::CallTransferred, false);
        self.emit(out, Side::Term, EventKind::CallReceived, false);
    }
}
