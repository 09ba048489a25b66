//! The `call` element of call events (XSD `Call`, `CallSession/XSICallSession.xsd`) and the
//! party, release and redirect types it uses.
//!
//! Only the fields a lab call model produces are typed; the reader skips the others
//! (`endpoint`, `acdCallInfo`, recording fields, …) so that real or decorated streams read.

use bytes::BufMut;

use super::wire;
use crate::documents::read::{invalid, non_empty, number, once, required, string, text};
use crate::documents::{Address, DocError};
use crate::xml::Element;

xsd_enum! {
    /// `Personality` of a call half.
    Personality, "a call personality" {
        /// `Originator`.
        Originator = "Originator",
        /// `Terminator`.
        Terminator = "Terminator",
        /// `Click-to-Dial`.
        ClickToDial = "Click-to-Dial",
    }
}

xsd_enum! {
    /// `CallState`.
    CallState, "a call state" {
        /// `Alerting`.
        Alerting = "Alerting",
        /// `Active`.
        Active = "Active",
        /// `Held`.
        Held = "Held",
        /// `Remote Held`.
        RemoteHeld = "Remote Held",
        /// `Detached` (can only go on to `Released`).
        Detached = "Detached",
        /// `Released`.
        Released = "Released",
        /// `Idle`.
        Idle = "Idle",
    }
}

xsd_enum! {
    /// `ReleasingParty`.
    ReleasingParty, "a releasing party" {
        /// `localRelease`.
        Local = "localRelease",
        /// `remoteRelease`.
        Remote = "remoteRelease",
    }
}

xsd_enum! {
    /// `CallType` of the remote party.
    CallType, "a call type" {
        /// `Group`.
        Group = "Group",
        /// `Enterprise`.
        Enterprise = "Enterprise",
        /// `Network`.
        Network = "Network",
        /// `Emergency`.
        Emergency = "Emergency",
        /// `Repair`.
        Repair = "Repair",
        /// `City-Wide Centrex`.
        CityWideCentrex = "City-Wide Centrex",
        /// `Private Dial Plan`.
        PrivateDialPlan = "Private Dial Plan",
        /// `Unknown`.
        Unknown = "Unknown",
        /// `Error`.
        Error = "Error",
    }
}

xsd_enum! {
    /// `InternalReleaseCause`.
    InternalReleaseCause, "an internal release cause" {
        /// `Busy`.
        Busy = "Busy",
        /// `Forbidden`.
        Forbidden = "Forbidden",
        /// `Routing Failure`.
        RoutingFailure = "Routing Failure",
        /// `Global Failure`.
        GlobalFailure = "Global Failure",
        /// `Request Failure`.
        RequestFailure = "Request Failure",
        /// `Server Failure`.
        ServerFailure = "Server Failure",
        /// `Translation Failure`.
        TranslationFailure = "Translation Failure",
        /// `Temporarily Unavailable`.
        TemporarilyUnavailable = "Temporarily Unavailable",
        /// `User Not Found`.
        UserNotFound = "User Not Found",
        /// `Request Timeout`.
        RequestTimeout = "Request Timeout",
        /// `Dial Tone Timeout`.
        DialToneTimeout = "Dial Tone Timeout",
        /// `Insufficient Credits`.
        InsufficientCredits = "Insufficient Credits",
    }
}

xsd_enum! {
    /// `RedirectReason`.
    RedirectReason, "a redirect reason" {
        /// `user-busy`.
        UserBusy = "user-busy",
        /// `no-answer`.
        NoAnswer = "no-answer",
        /// `unavailable`.
        Unavailable = "unavailable",
        /// `unconditional`.
        Unconditional = "unconditional",
        /// `time-of-day`.
        TimeOfDay = "time-of-day",
        /// `do-not-disturb`.
        DoNotDisturb = "do-not-disturb",
        /// `deflection`.
        Deflection = "deflection",
        /// `follow-me`.
        FollowMe = "follow-me",
        /// `out-of-service`.
        OutOfService = "out-of-service",
        /// `away`.
        Away = "away",
        /// `transfer`.
        Transfer = "transfer",
        /// `voicemail`.
        Voicemail = "voicemail",
        /// `hunt-group`.
        HuntGroup = "hunt-group",
        /// `call-center`.
        CallCenter = "call-center",
        /// `route-point`.
        RoutePoint = "route-point",
        /// `agent-wrap-up`.
        AgentWrapUp = "agent-wrap-up",
        /// `voicexml-script-termination`.
        VoiceXmlScriptTermination = "voicexml-script-termination",
        /// `unknown`.
        Unknown = "unknown",
    }
}

xsd_enum! {
    /// `HookStatusType`.
    HookStatus, "a hook status" {
        /// `Off-Hook`.
        OffHook = "Off-Hook",
        /// `On-Hook`.
        OnHook = "On-Hook",
    }
}

/// XSD `PartyInformation`: the `remoteParty` of a call (also `parkedParty`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteParty {
    /// Display name.
    pub name: Option<String>,
    /// Address, e.g. `tel:2002` or `sip:bob@example.com` (absent with privacy).
    pub address: Option<Address>,
    /// BroadWorks user ID (same group/enterprise only).
    pub user_id: Option<String>,
    /// The user's DN, with an optional `countryCode` attribute.
    pub user_dn: Option<Address>,
    /// `privacy` flag: the party's identity is withheld.
    pub privacy: bool,
    /// Call type.
    pub call_type: Option<CallType>,
}

/// XSD `ReleaseCause`: why a call failed (also present during treatment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseCause {
    /// The BroadWorks-internal cause.
    pub internal_release_cause: InternalReleaseCause,
    /// ISDN cause code.
    pub q850_cause: Option<String>,
    /// SIP status code and phrase.
    pub sip_status: Option<String>,
    /// Three-digit CDR termination cause.
    pub cdr_termination_cause: Option<String>,
}

impl ReleaseCause {
    /// A cause with only the internal cause set.
    pub fn new(internal_release_cause: InternalReleaseCause) -> Self {
        ReleaseCause {
            internal_release_cause,
            q850_cause: None,
            sip_status: None,
            cdr_termination_cause: None,
        }
    }
}

/// XSD `Redirect`: the redirection the user applied to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// Where the call went.
    pub address: Option<Address>,
    /// Why.
    pub reason: RedirectReason,
    /// When (ms since the epoch).
    pub redirect_time: i64,
}

/// XSD `Call`: one call half as call events report it. Fields in schema order; times are
/// milliseconds since 1970-01-01 UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `sessionId:callId`, e.g. `callhalf-4711:0`.
    pub call_id: String,
    /// `counter:serverId`, shared by both halves of a session.
    pub ext_tracking_id: String,
    /// SIP Call-ID (network and distributed-group calls only).
    pub network_call_id: Option<String>,
    /// Personality.
    pub personality: Personality,
    /// State.
    pub state: CallState,
    /// Present on failures and during treatment.
    pub release_cause: Option<ReleaseCause>,
    /// Who released the call.
    pub releasing_party: Option<ReleasingParty>,
    /// The other party.
    pub remote_party: RemoteParty,
    /// Redirection applied by the user.
    pub redirect: Option<Redirect>,
    /// Shared Call Appearance line index (positive).
    pub appearance: Option<u32>,
    /// `allowAnswer` flag.
    pub allow_answer: bool,
    /// `allowRetrieve` flag.
    pub allow_retrieve: bool,
    /// Start time.
    pub start_time: i64,
    /// First answer.
    pub answer_time: Option<i64>,
    /// Time of the last hold.
    pub held_time: Option<i64>,
    /// Accumulated hold time (positive).
    pub total_held_time: Option<u32>,
    /// Detach time.
    pub detached_time: Option<i64>,
    /// Release time.
    pub release_time: Option<i64>,
    /// **Lab-defined**, not in the BroadWorks schemas: how the remote party's caller ID was
    /// treated (free text chosen by the lab, e.g. `presented` or `withheld`). Written as the
    /// last child of `call`, only when set; the conformance run strips it before schema
    /// validation (like `isOwner`).
    pub caller_id_disposition: Option<String>,
}

impl Call {
    /// A call with the mandatory fields; everything else unset.
    pub fn new(
        call_id: impl Into<String>,
        ext_tracking_id: impl Into<String>,
        personality: Personality,
        state: CallState,
        start_time: i64,
    ) -> Self {
        Call {
            call_id: call_id.into(),
            ext_tracking_id: ext_tracking_id.into(),
            network_call_id: None,
            personality,
            state,
            release_cause: None,
            releasing_party: None,
            remote_party: RemoteParty::default(),
            redirect: None,
            appearance: None,
            allow_answer: false,
            allow_retrieve: false,
            start_time,
            answer_time: None,
            held_time: None,
            total_held_time: None,
            detached_time: None,
            release_time: None,
            caller_id_disposition: None,
        }
    }
}

/// Name of the lab-defined leaf of [`Call::caller_id_disposition`].
pub const CALLER_ID_DISPOSITION: &str = "callerIdDisposition";

fn write_address<B: BufMut>(out: &mut B, name: &str, a: &Address) {
    match a.country_code {
        None => wire::leaf(out, name, &a.value),
        Some(cc) => {
            out.put_slice(b"<xsi:");
            out.put_slice(name.as_bytes());
            out.put_slice(b" countryCode=\"");
            wire::put_int(out, cc.into());
            out.put_slice(b"\">");
            crate::xml::write_escaped(out, &a.value, false, crate::xml::Charset::Utf8);
            wire::close(out, name);
        }
    }
}

impl RemoteParty {
    pub(crate) fn write<B: BufMut>(&self, out: &mut B, name: &str) {
        wire::open(out, name);
        wire::leaf_opt(out, "name", self.name.as_ref());
        if let Some(a) = &self.address {
            write_address(out, "address", a);
        }
        wire::leaf_opt(out, "userId", self.user_id.as_ref());
        if let Some(a) = &self.user_dn {
            write_address(out, "userDN", a);
        }
        if self.privacy {
            wire::flag(out, "privacy");
        }
        if let Some(t) = self.call_type {
            wire::leaf(out, "callType", t.as_str());
        }
        wire::close(out, name);
    }

    pub(crate) fn read(el: &Element) -> Result<Self, DocError> {
        let mut p = RemoteParty::default();
        for c in &el.children {
            match &*c.name {
                "name" => once(&mut p.name, "name", string(c, "name")?)?,
                "address" => once(&mut p.address, "address", Address::read(c, "address")?)?,
                "userId" => once(&mut p.user_id, "userId", string(c, "userId")?)?,
                "userDN" => once(&mut p.user_dn, "userDN", Address::read(c, "userDN")?)?,
                "privacy" => p.privacy = true,
                "callType" => once(&mut p.call_type, "callType", CallType::read(c, "callType")?)?,
                _ => {}
            }
        }
        Ok(p)
    }
}

impl ReleaseCause {
    fn write<B: BufMut>(&self, out: &mut B) {
        wire::open(out, "releaseCause");
        wire::leaf(
            out,
            "internalReleaseCause",
            self.internal_release_cause.as_str(),
        );
        wire::leaf_opt(out, "q850Cause", self.q850_cause.as_ref());
        wire::leaf_opt(out, "sipStatus", self.sip_status.as_ref());
        wire::leaf_opt(
            out,
            "cdrTerminationCause",
            self.cdr_termination_cause.as_ref(),
        );
        wire::close(out, "releaseCause");
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        let (mut internal, mut q850, mut sip, mut cdr) = (None, None, None, None);
        for c in &el.children {
            match &*c.name {
                "internalReleaseCause" => once(
                    &mut internal,
                    "internalReleaseCause",
                    InternalReleaseCause::read(c, "internalReleaseCause")?,
                )?,
                "q850Cause" => once(&mut q850, "q850Cause", string(c, "q850Cause")?)?,
                "sipStatus" => once(&mut sip, "sipStatus", string(c, "sipStatus")?)?,
                "cdrTerminationCause" => once(
                    &mut cdr,
                    "cdrTerminationCause",
                    string(c, "cdrTerminationCause")?,
                )?,
                _ => {}
            }
        }
        Ok(ReleaseCause {
            internal_release_cause: required(internal, "releaseCause", "internalReleaseCause")?,
            q850_cause: q850,
            sip_status: sip,
            cdr_termination_cause: cdr,
        })
    }
}

impl Redirect {
    fn write<B: BufMut>(&self, out: &mut B) {
        wire::open(out, "redirect");
        if let Some(a) = &self.address {
            write_address(out, "address", a);
        }
        wire::leaf(out, "reason", self.reason.as_str());
        wire::leaf_int(out, "redirectTime", self.redirect_time);
        wire::close(out, "redirect");
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        let (mut address, mut reason, mut time) = (None, None, None);
        for c in &el.children {
            match &*c.name {
                "address" => once(&mut address, "address", Address::read(c, "address")?)?,
                "reason" => once(&mut reason, "reason", RedirectReason::read(c, "reason")?)?,
                "redirectTime" => once(&mut time, "redirectTime", timestamp(c, "redirectTime")?)?,
                _ => {}
            }
        }
        Ok(Redirect {
            address,
            reason: required(reason, "redirect", "reason")?,
            redirect_time: required(time, "redirect", "redirectTime")?,
        })
    }
}

pub(crate) fn timestamp(c: &Element, name: &'static str) -> Result<i64, DocError> {
    number(c, name, "a timestamp")
}

/// `PositiveInt`: 1 ..= 2147483647.
pub(crate) fn positive_int(c: &Element, name: &'static str) -> Result<u32, DocError> {
    let t = text(c, name)?;
    match t.parse::<u32>() {
        Ok(n) if (1..=i32::MAX as u32).contains(&n) => Ok(n),
        _ => Err(invalid(name, t, "a positive int")),
    }
}

impl Call {
    /// Writes `<xsi:call>…</xsi:call>` (children in schema order).
    pub fn write<B: BufMut>(&self, out: &mut B) {
        wire::open(out, "call");
        wire::leaf(out, "callId", &self.call_id);
        wire::leaf(out, "extTrackingId", &self.ext_tracking_id);
        wire::leaf_opt(out, "networkCallId", self.network_call_id.as_ref());
        wire::leaf(out, "personality", self.personality.as_str());
        wire::leaf(out, "state", self.state.as_str());
        if let Some(rc) = &self.release_cause {
            rc.write(out);
        }
        if let Some(rp) = self.releasing_party {
            wire::leaf(out, "releasingParty", rp.as_str());
        }
        self.remote_party.write(out, "remoteParty");
        if let Some(r) = &self.redirect {
            r.write(out);
        }
        wire::leaf_int_opt(out, "appearance", self.appearance);
        if self.allow_answer {
            wire::flag(out, "allowAnswer");
        }
        if self.allow_retrieve {
            wire::flag(out, "allowRetrieve");
        }
        wire::leaf_int(out, "startTime", self.start_time);
        wire::leaf_int_opt(out, "answerTime", self.answer_time);
        wire::leaf_int_opt(out, "heldTime", self.held_time);
        wire::leaf_int_opt(out, "totalHeldTime", self.total_held_time);
        wire::leaf_int_opt(out, "detachedTime", self.detached_time);
        wire::leaf_int_opt(out, "releaseTime", self.release_time);
        wire::leaf_opt(
            out,
            CALLER_ID_DISPOSITION,
            self.caller_id_disposition.as_ref(),
        );
        wire::close(out, "call");
    }

    /// Reads a `call` element: any order, unknown children skipped.
    pub fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "call";
        let mut call_id = None;
        let mut ext = None;
        let mut personality = None;
        let mut state = None;
        let mut remote_party = None;
        let mut start_time = None;
        let mut call = Call::new("", "", Personality::Originator, CallState::Idle, 0);
        for c in &el.children {
            match &*c.name {
                "callId" => once(&mut call_id, "callId", non_empty(c, "callId")?)?,
                "extTrackingId" => once(&mut ext, "extTrackingId", non_empty(c, "extTrackingId")?)?,
                "networkCallId" => once(
                    &mut call.network_call_id,
                    "networkCallId",
                    string(c, "networkCallId")?,
                )?,
                "personality" => once(
                    &mut personality,
                    "personality",
                    Personality::read(c, "personality")?,
                )?,
                "state" => once(&mut state, "state", CallState::read(c, "state")?)?,
                "releaseCause" => once(
                    &mut call.release_cause,
                    "releaseCause",
                    ReleaseCause::read(c)?,
                )?,
                "releasingParty" => once(
                    &mut call.releasing_party,
                    "releasingParty",
                    ReleasingParty::read(c, "releasingParty")?,
                )?,
                "remoteParty" => once(&mut remote_party, "remoteParty", RemoteParty::read(c)?)?,
                "redirect" => once(&mut call.redirect, "redirect", Redirect::read(c)?)?,
                "appearance" => once(
                    &mut call.appearance,
                    "appearance",
                    positive_int(c, "appearance")?,
                )?,
                "allowAnswer" => call.allow_answer = true,
                "allowRetrieve" => call.allow_retrieve = true,
                "startTime" => once(&mut start_time, "startTime", timestamp(c, "startTime")?)?,
                "answerTime" => once(
                    &mut call.answer_time,
                    "answerTime",
                    timestamp(c, "answerTime")?,
                )?,
                "heldTime" => once(&mut call.held_time, "heldTime", timestamp(c, "heldTime")?)?,
                "totalHeldTime" => once(
                    &mut call.total_held_time,
                    "totalHeldTime",
                    positive_int(c, "totalHeldTime")?,
                )?,
                "detachedTime" => once(
                    &mut call.detached_time,
                    "detachedTime",
                    timestamp(c, "detachedTime")?,
                )?,
                "releaseTime" => once(
                    &mut call.release_time,
                    "releaseTime",
                    timestamp(c, "releaseTime")?,
                )?,
                CALLER_ID_DISPOSITION => once(
                    &mut call.caller_id_disposition,
                    CALLER_ID_DISPOSITION,
                    string(c, CALLER_ID_DISPOSITION)?,
                )?,
                _ => {}
            }
        }
        call.call_id = required(call_id, P, "callId")?;
        call.ext_tracking_id = required(ext, P, "extTrackingId")?;
        call.personality = required(personality, P, "personality")?;
        call.state = required(state, P, "state")?;
        call.remote_party = required(remote_party, P, "remoteParty")?;
        call.start_time = required(start_time, P, "startTime")?;
        Ok(call)
    }
}
