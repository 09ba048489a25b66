//! The `Event` documents: `SubscriptionEvent` with its typed `eventData`,
//! `ChannelTerminatedEvent` and `ErrorEvent` (`XSIBaseEvent.xsd`, `Events/XSIChannel.xsd`,
//! `CallSession/Events/*`, `Services/Events/*`, `Profile/Events/*`).

use bytes::{BufMut, Bytes, BytesMut};

use super::call::{Call, HookStatus, RemoteParty, positive_int};
use super::wire;
use crate::documents::push::PushNotificationRegistrations;
use crate::documents::read::{boolean, expect_root, invalid, non_empty, number, once, required};
use crate::documents::services::{
    BroadWorksAnywhere, CallForwardingAlways, CallForwardingAlwaysSecondary, CallForwardingBusy,
    CallForwardingNoAnswer, DoNotDisturb, RemoteOffice, SimultaneousRingPersonal,
};
use crate::documents::{BodyError, DocError, XsiDocument};
use crate::xml::{Element, Limits, NamespacePolicy, ParseOptions, parse_xml};

xsd_enum! {
    /// `ChannelTerminatedReason`.
    ChannelTerminatedReason, "a channel termination reason" {
        /// Same user and applicationId opened a channel in another set.
        DuplicateChannelSet = "DuplicateChannelSet",
        /// The channel owner was deleted.
        UserDeleted = "UserDeleted",
        /// No channel of the set answers events any more.
        NonResponsiveChannel = "NonResponsiveChannel",
        /// `DELETE channel/<id>` or an administrator.
        ExplicitDelete = "ExplicitDelete",
        /// The channel's lifetime elapsed.
        Expired = "Expired",
        /// The client answered an event with 404.
        UnknownChannel = "UnknownChannel",
    }
}

xsd_enum! {
    /// The `eventData` types that carry exactly one `call` (XSD `CallEvent` and its
    /// extensions without extra elements), by their `xsi:type` name.
    CallEventKind, "a call event type" {
        /// `CallOriginatingEvent` (click-to-dial accepted).
        Originating = "CallOriginatingEvent",
        /// `CallOriginatedEvent`.
        Originated = "CallOriginatedEvent",
        /// `CallCollectingEvent`.
        Collecting = "CallCollectingEvent",
        /// `CallReceivedEvent`.
        Received = "CallReceivedEvent",
        /// `CallAnsweredEvent`.
        Answered = "CallAnsweredEvent",
        /// `CallHeldEvent`.
        Held = "CallHeldEvent",
        /// `CallRetrievedEvent`.
        Retrieved = "CallRetrievedEvent",
        /// `CallUpdatedEvent`.
        Updated = "CallUpdatedEvent",
        /// `CallTransferredEvent`.
        Transferred = "CallTransferredEvent",
        /// `CallReleasingEvent`.
        Releasing = "CallReleasingEvent",
        /// `CallReleasedEvent`.
        Released = "CallReleasedEvent",
        /// `CallPickedUpEvent`.
        PickedUp = "CallPickedUpEvent",
        /// `CallForwardedEvent`.
        Forwarded = "CallForwardedEvent",
        /// `CallDetachedEvent`.
        Detached = "CallDetachedEvent",
        /// `CallBargedInEvent`.
        BargedIn = "CallBargedInEvent",
        /// `CallMonitoredEvent`.
        Monitored = "CallMonitoredEvent",
        /// `CallParkRetrievedEvent`.
        ParkRetrieved = "CallParkRetrievedEvent",
        /// `CallRecordingStartingEvent`.
        RecordingStarting = "CallRecordingStartingEvent",
        /// `CallRecordingStartedEvent`.
        RecordingStarted = "CallRecordingStartedEvent",
        /// `CallRecordingPausedEvent`.
        RecordingPaused = "CallRecordingPausedEvent",
        /// `CallRecordingResumedEvent`.
        RecordingResumed = "CallRecordingResumedEvent",
        /// `CallSecurityClassificationUpdatedEvent`.
        SecurityClassificationUpdated = "CallSecurityClassificationUpdatedEvent",
        /// `CallClientSessionInfoUpdatedEvent`.
        ClientSessionInfoUpdated = "CallClientSessionInfoUpdatedEvent",
        /// `PlayMusicOnHoldFailureEvent` (R24).
        PlayMusicOnHoldFailure = "PlayMusicOnHoldFailureEvent",
    }
}

/// `ActivatableServiceInfo`: the `info` of Call Waiting, Voice Messaging and Third-Party
/// Voice Mail Support events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivatableServiceInfo {
    /// Whether the service is on.
    pub active: Option<bool>,
}

/// A service event's content: `unassigned` (service removed; nothing else) or `info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceState<T> {
    /// `<unassigned/>`.
    Unassigned,
    /// `<info>` with the service's settings (the Xsi-Actions service document's content).
    Info(T),
}

/// The `info` payloads: Xsi-Actions service documents written under the name `info`.
trait Info: Sized {
    fn info_element(&self) -> Element;
    fn read_info(el: &Element) -> Result<Self, DocError>;
}

macro_rules! doc_info {
    ($($ty:ty),+) => {$(
        impl Info for $ty {
            fn info_element(&self) -> Element {
                let mut el = self.to_element();
                el.name = "info".into();
                el
            }

            fn read_info(el: &Element) -> Result<Self, DocError> {
                let mut el = el.clone();
                el.name = <$ty as XsiDocument>::ROOT.into();
                <$ty>::from_element(&el)
            }
        }
    )+};
}

doc_info!(
    DoNotDisturb,
    CallForwardingAlways,
    CallForwardingAlwaysSecondary,
    CallForwardingBusy,
    CallForwardingNoAnswer,
    SimultaneousRingPersonal,
    RemoteOffice,
    BroadWorksAnywhere
);

impl Info for ActivatableServiceInfo {
    fn info_element(&self) -> Element {
        let mut el = Element::new("info");
        el.put_bool("active", self.active);
        el
    }

    fn read_info(el: &Element) -> Result<Self, DocError> {
        let mut info = ActivatableServiceInfo::default();
        for c in &el.children {
            if c.name == "active" {
                once(&mut info.active, "active", boolean(c, "active")?)?;
            }
        }
        Ok(info)
    }
}

fn write_state<T: Info, B: BufMut>(state: &ServiceState<T>, out: &mut B) {
    match state {
        ServiceState::Unassigned => wire::flag(out, "unassigned"),
        ServiceState::Info(info) => wire::element(out, &info.info_element()),
    }
}

fn read_state<T: Info>(el: &Element) -> Result<ServiceState<T>, DocError> {
    if el.child("unassigned").is_some() {
        return Ok(ServiceState::Unassigned);
    }
    match el.child("info") {
        Some(info) => Ok(ServiceState::Info(T::read_info(info)?)),
        None => Err(DocError::Missing {
            parent: "eventData",
            element: "info",
        }),
    }
}

/// Service events (`ServiceEvent` extensions) the lab emits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceEvent {
    /// `DoNotDisturbEvent`: `active`, `ringSplash`?.
    DoNotDisturb(ServiceState<DoNotDisturb>),
    /// `CallForwardingAlwaysEvent`: `active`, `forwardToPhoneNumber`?, `ringSplash`?.
    CallForwardingAlways(ServiceState<CallForwardingAlways>),
    /// `CallForwardingAlwaysSecondaryEvent` (R22+).
    CallForwardingAlwaysSecondary(ServiceState<CallForwardingAlwaysSecondary>),
    /// `CallForwardingBusyEvent`: `active`, `forwardToPhoneNumber`?.
    CallForwardingBusy(ServiceState<CallForwardingBusy>),
    /// `CallForwardingNoAnswerEvent`: `active`, `forwardToPhoneNumber`?, `numberOfRings`?.
    CallForwardingNoAnswer(ServiceState<CallForwardingNoAnswer>),
    /// `CallWaitingEvent`: `active`.
    CallWaiting(ServiceState<ActivatableServiceInfo>),
    /// `VoiceMessagingEvent`: `active`.
    VoiceMessaging(ServiceState<ActivatableServiceInfo>),
    /// `ThirdPartyVoiceMailSupportEvent`: `active`.
    ThirdPartyVoiceMailSupport(ServiceState<ActivatableServiceInfo>),
    /// `SimultaneousRingPersonalEvent`: the full service settings (`incomingCalls` is
    /// mandatory in the schema).
    SimultaneousRingPersonal(ServiceState<SimultaneousRingPersonal>),
    /// `RemoteOfficeEvent`: `active`, `remoteOfficeNumber`?.
    RemoteOffice(ServiceState<RemoteOffice>),
    /// `BroadWorksAnywhereEvent`: `BroadWorksAnywhereInfo` (the two alert flags and the
    /// locations).
    BroadWorksAnywhere(ServiceState<BroadWorksAnywhere>),
}

impl ServiceEvent {
    /// The `xsi:type` of the `eventData`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServiceEvent::DoNotDisturb(_) => "DoNotDisturbEvent",
            ServiceEvent::CallForwardingAlways(_) => "CallForwardingAlwaysEvent",
            ServiceEvent::CallForwardingAlwaysSecondary(_) => "CallForwardingAlwaysSecondaryEvent",
            ServiceEvent::CallForwardingBusy(_) => "CallForwardingBusyEvent",
            ServiceEvent::CallForwardingNoAnswer(_) => "CallForwardingNoAnswerEvent",
            ServiceEvent::CallWaiting(_) => "CallWaitingEvent",
            ServiceEvent::VoiceMessaging(_) => "VoiceMessagingEvent",
            ServiceEvent::ThirdPartyVoiceMailSupport(_) => "ThirdPartyVoiceMailSupportEvent",
            ServiceEvent::SimultaneousRingPersonal(_) => "SimultaneousRingPersonalEvent",
            ServiceEvent::RemoteOffice(_) => "RemoteOfficeEvent",
            ServiceEvent::BroadWorksAnywhere(_) => "BroadWorksAnywhereEvent",
        }
    }

    fn write<B: BufMut>(&self, out: &mut B) {
        match self {
            ServiceEvent::DoNotDisturb(s) => write_state(s, out),
            ServiceEvent::CallForwardingAlways(s) => write_state(s, out),
            ServiceEvent::CallForwardingAlwaysSecondary(s) => write_state(s, out),
            ServiceEvent::CallForwardingBusy(s) => write_state(s, out),
            ServiceEvent::CallForwardingNoAnswer(s) => write_state(s, out),
            ServiceEvent::CallWaiting(s)
            | ServiceEvent::VoiceMessaging(s)
            | ServiceEvent::ThirdPartyVoiceMailSupport(s) => write_state(s, out),
            ServiceEvent::SimultaneousRingPersonal(s) => write_state(s, out),
            ServiceEvent::RemoteOffice(s) => write_state(s, out),
            ServiceEvent::BroadWorksAnywhere(s) => write_state(s, out),
        }
    }

    /// `None` when `ty` is not a service event type.
    fn read(ty: &str, el: &Element) -> Option<Result<Self, DocError>> {
        Some(match ty {
            "DoNotDisturbEvent" => read_state(el).map(ServiceEvent::DoNotDisturb),
            "CallForwardingAlwaysEvent" => read_state(el).map(ServiceEvent::CallForwardingAlways),
            "CallForwardingAlwaysSecondaryEvent" => {
                read_state(el).map(ServiceEvent::CallForwardingAlwaysSecondary)
            }
            "CallForwardingBusyEvent" => read_state(el).map(ServiceEvent::CallForwardingBusy),
            "CallForwardingNoAnswerEvent" => {
                read_state(el).map(ServiceEvent::CallForwardingNoAnswer)
            }
            "CallWaitingEvent" => read_state(el).map(ServiceEvent::CallWaiting),
            "VoiceMessagingEvent" => read_state(el).map(ServiceEvent::VoiceMessaging),
            "ThirdPartyVoiceMailSupportEvent" => {
                read_state(el).map(ServiceEvent::ThirdPartyVoiceMailSupport)
            }
            "SimultaneousRingPersonalEvent" => {
                read_state(el).map(ServiceEvent::SimultaneousRingPersonal)
            }
            "RemoteOfficeEvent" => read_state(el).map(ServiceEvent::RemoteOffice),
            "BroadWorksAnywhereEvent" => read_state(el).map(ServiceEvent::BroadWorksAnywhere),
            _ => return None,
        })
    }
}

/// `MessageSummary` of `VoiceMailMessageSummaryEvent`. Zero counts are omitted on the wire
/// (the schema types them positive); all zero is an empty `messageSummary`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageSummary {
    /// New messages.
    pub new_messages: u32,
    /// Old messages.
    pub old_messages: u32,
    /// New urgent messages.
    pub new_urgent_messages: u32,
    /// Old urgent messages.
    pub old_urgent_messages: u32,
}

impl MessageSummary {
    const FIELDS: [&'static str; 4] = [
        "newMessages",
        "oldMessages",
        "newUrgentMessages",
        "oldUrgentMessages",
    ];

    fn counts(&self) -> [u32; 4] {
        [
            self.new_messages,
            self.old_messages,
            self.new_urgent_messages,
            self.old_urgent_messages,
        ]
    }

    fn write<B: BufMut>(&self, out: &mut B) {
        let counts = self.counts();
        if counts.iter().all(|n| *n == 0) {
            wire::flag(out, "messageSummary");
            return;
        }
        wire::open(out, "messageSummary");
        for (name, n) in Self::FIELDS.iter().zip(counts) {
            if n > 0 {
                wire::leaf_int(out, name, n.into());
            }
        }
        wire::close(out, "messageSummary");
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        let mut counts = [0u32; 4];
        for c in &el.children {
            if let Some(i) = Self::FIELDS.iter().position(|f| c.name == *f) {
                counts[i] = positive_int(c, Self::FIELDS[i])?;
            }
        }
        let [
            new_messages,
            old_messages,
            new_urgent_messages,
            old_urgent_messages,
        ] = counts;
        Ok(MessageSummary {
            new_messages,
            old_messages,
            new_urgent_messages,
            old_urgent_messages,
        })
    }
}

/// The typed `eventData` of a [`SubscriptionEvent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventData {
    /// A `CallEvent` type with one `call`.
    Call(CallEventKind, Box<Call>),
    /// `CallRedirectedEvent`: `calls{ call+ }`.
    CallRedirected(Vec<Call>),
    /// `CallSubscriptionEvent`: `calls?` (written only when non-empty), `hookStatus`.
    /// (`conference` is not modelled; the reader skips it.)
    CallSubscription {
        /// The user's calls.
        calls: Vec<Call>,
        /// Hook status.
        hook_status: HookStatus,
    },
    /// `CallSubscriptionResyncEvent`: same shape as `CallSubscriptionEvent`.
    CallSubscriptionResync {
        /// The user's calls.
        calls: Vec<Call>,
        /// Hook status.
        hook_status: HookStatus,
    },
    /// `HookStatusEvent`.
    HookStatus(HookStatus),
    /// A service event.
    Service(ServiceEvent),
    /// `VoiceMailMessageSummaryEvent`.
    VoiceMailMessageSummary(MessageSummary),
    /// `PushNotificationRegistrationEvent`: the user's registrations (full picture).
    PushNotificationRegistration(PushNotificationRegistrations),
    /// `SubscriptionTerminatedEvent` (empty).
    SubscriptionTerminated,
    /// `CallParkedAgainstEvent`: the parked party, or `None` when nothing is parked.
    CallParkedAgainst(Option<RemoteParty>),
    /// Any other type (reader only, or to replay a captured payload): the `eventData`
    /// element as read; its children are written back prefixed.
    Other {
        /// `xsi:type` local name.
        type_name: String,
        /// The `eventData` element.
        content: Element,
    },
}

impl EventData {
    /// A one-call event.
    pub fn call(kind: CallEventKind, call: Call) -> Self {
        EventData::Call(kind, Box::new(call))
    }

    /// The `xsi:type` local name.
    pub fn type_name(&self) -> &str {
        match self {
            EventData::Call(kind, _) => kind.as_str(),
            EventData::CallRedirected(_) => "CallRedirectedEvent",
            EventData::CallSubscription { .. } => "CallSubscriptionEvent",
            EventData::CallSubscriptionResync { .. } => "CallSubscriptionResyncEvent",
            EventData::HookStatus(_) => "HookStatusEvent",
            EventData::Service(s) => s.type_name(),
            EventData::VoiceMailMessageSummary(_) => "VoiceMailMessageSummaryEvent",
            EventData::PushNotificationRegistration(_) => "PushNotificationRegistrationEvent",
            EventData::SubscriptionTerminated => "SubscriptionTerminatedEvent",
            EventData::CallParkedAgainst(_) => "CallParkedAgainstEvent",
            EventData::Other { type_name, .. } => type_name,
        }
    }

    /// The calls carried (one-call events, redirected and subscription snapshots).
    pub fn calls(&self) -> &[Call] {
        match self {
            EventData::Call(_, call) => std::slice::from_ref(&**call),
            EventData::CallRedirected(calls)
            | EventData::CallSubscription { calls, .. }
            | EventData::CallSubscriptionResync { calls, .. } => calls,
            _ => &[],
        }
    }

    /// The hook status, for the types that carry one.
    pub fn hook_status(&self) -> Option<HookStatus> {
        match self {
            EventData::HookStatus(h)
            | EventData::CallSubscription { hook_status: h, .. }
            | EventData::CallSubscriptionResync { hook_status: h, .. } => Some(*h),
            _ => None,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            EventData::SubscriptionTerminated | EventData::CallParkedAgainst(None) => true,
            EventData::Other { content, .. } => content.children.is_empty(),
            _ => false,
        }
    }

    /// Writes `<xsi:eventData xsi1:type="xsi:…">…</xsi:eventData>`.
    pub fn write<B: BufMut>(&self, out: &mut B) {
        let empty = self.is_empty();
        wire::open_typed(out, "eventData", self.type_name(), empty);
        if empty {
            return;
        }
        match self {
            EventData::Call(_, call) => call.write(out),
            EventData::CallRedirected(calls) => write_calls(out, calls),
            EventData::CallSubscription { calls, hook_status }
            | EventData::CallSubscriptionResync { calls, hook_status } => {
                if !calls.is_empty() {
                    write_calls(out, calls);
                }
                wire::leaf(out, "hookStatus", hook_status.as_str());
            }
            EventData::HookStatus(h) => wire::leaf(out, "hookStatus", h.as_str()),
            EventData::Service(s) => s.write(out),
            EventData::VoiceMailMessageSummary(m) => m.write(out),
            EventData::PushNotificationRegistration(regs) => {
                let mut el = regs.to_element();
                el.name = "pushNotificationRegistrations".into();
                wire::element(out, &el);
            }
            EventData::CallParkedAgainst(Some(p)) => p.write(out, "parkedParty"),
            EventData::Other { content, .. } => {
                for c in &content.children {
                    wire::element(out, c);
                }
            }
            EventData::SubscriptionTerminated | EventData::CallParkedAgainst(None) => {}
        }
        wire::close(out, "eventData");
    }

    /// Reads an `eventData` element (tolerant: unknown children skipped, unknown types kept
    /// as [`EventData::Other`]).
    pub fn read(el: &Element) -> Result<Self, DocError> {
        let ty = type_local_name(el).ok_or_else(|| missing_type("eventData"))?;
        if let Some(kind) = CallEventKind::parse(ty) {
            let call = el.child("call").ok_or(DocError::Missing {
                parent: "eventData",
                element: "call",
            })?;
            return Ok(EventData::call(kind, Call::read(call)?));
        }
        if let Some(service) = ServiceEvent::read(ty, el) {
            return service.map(EventData::Service);
        }
        Ok(match ty {
            "CallRedirectedEvent" => {
                let calls = el.child("calls").ok_or(DocError::Missing {
                    parent: "eventData",
                    element: "calls",
                })?;
                EventData::CallRedirected(read_calls(calls)?)
            }
            "CallSubscriptionEvent" | "CallSubscriptionResyncEvent" => {
                let calls = match el.child("calls") {
                    Some(c) => read_calls(c)?,
                    None => Vec::new(),
                };
                let hook_status = read_hook_status(el)?;
                if ty == "CallSubscriptionEvent" {
                    EventData::CallSubscription { calls, hook_status }
                } else {
                    EventData::CallSubscriptionResync { calls, hook_status }
                }
            }
            "HookStatusEvent" => EventData::HookStatus(read_hook_status(el)?),
            "VoiceMailMessageSummaryEvent" => {
                let summary = el.child("messageSummary").ok_or(DocError::Missing {
                    parent: "eventData",
                    element: "messageSummary",
                })?;
                EventData::VoiceMailMessageSummary(MessageSummary::read(summary)?)
            }
            "PushNotificationRegistrationEvent" => {
                let mut regs = el
                    .child("pushNotificationRegistrations")
                    .ok_or(DocError::Missing {
                        parent: "eventData",
                        element: "pushNotificationRegistrations",
                    })?
                    .clone();
                regs.name = PushNotificationRegistrations::ROOT.into();
                EventData::PushNotificationRegistration(
                    PushNotificationRegistrations::from_element(&regs)?,
                )
            }
            "SubscriptionTerminatedEvent" => EventData::SubscriptionTerminated,
            "CallParkedAgainstEvent" => EventData::CallParkedAgainst(
                el.child("parkedParty").map(RemoteParty::read).transpose()?,
            ),
            other => EventData::Other {
                type_name: other.to_owned(),
                content: el.clone(),
            },
        })
    }
}

fn write_calls<B: BufMut>(out: &mut B, calls: &[Call]) {
    wire::open(out, "calls");
    for c in calls {
        c.write(out);
    }
    wire::close(out, "calls");
}

fn read_calls(el: &Element) -> Result<Vec<Call>, DocError> {
    el.children_named("call").map(Call::read).collect()
}

fn read_hook_status(el: &Element) -> Result<HookStatus, DocError> {
    let c = el.child("hookStatus").ok_or(DocError::Missing {
        parent: "eventData",
        element: "hookStatus",
    })?;
    HookStatus::read(c, "hookStatus")
}

/// The local part of an `xsi:type` value (whatever prefix the sender bound to the
/// BroadSoft namespace).
fn type_local_name(el: &Element) -> Option<&str> {
    let v = el.attr("xsi:type")?.trim();
    let local = v.rsplit(':').next().unwrap_or(v);
    (!local.is_empty()).then_some(local)
}

fn missing_type(element: &'static str) -> DocError {
    invalid(element, "", "an element with an xsi:type")
}

/// Owner of the subscription in the envelope (`userId` | `clientId`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// `userId`.
    User(String),
    /// `clientId` (system subscriptions, R23+).
    Client(String),
}

/// Delivery route in the envelope (`channelId` | `httpContact{uri}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Event channel.
    Channel(String),
    /// HTTP contact URI.
    HttpContact(String),
}

/// `Event` of type `SubscriptionEvent`: the envelope of every subscription's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionEvent {
    /// UUID, echoed in the [`EventResponse`](super::EventResponse).
    pub event_id: String,
    /// 1 ..= 2147483647, wraps to 1.
    pub sequence_number: u32,
    /// Subscription owner.
    pub owner: Owner,
    /// The subscription's `applicationId`.
    pub external_application_id: String,
    /// Subscription ID.
    pub subscription_id: String,
    /// Shared subscription ID.
    pub shared_subscription_id: Option<String>,
    /// Channel or HTTP contact.
    pub delivery: Delivery,
    /// The user the event is about.
    pub target_id: Option<String>,
    /// Sub-target.
    pub target_sub_id: Option<String>,
    /// Payload.
    pub data: EventData,
}

impl SubscriptionEvent {
    /// Appends the complete document to `out`.
    pub fn write_xml<B: BufMut>(&self, out: &mut B) {
        wire::event_start(out, "SubscriptionEvent");
        wire::leaf(out, "eventID", &self.event_id);
        wire::leaf_int(out, "sequenceNumber", self.sequence_number.into());
        match &self.owner {
            Owner::User(id) => wire::leaf(out, "userId", id),
            Owner::Client(id) => wire::leaf(out, "clientId", id),
        }
        wire::leaf(out, "externalApplicationId", &self.external_application_id);
        wire::leaf(out, "subscriptionId", &self.subscription_id);
        wire::leaf_opt(
            out,
            "sharedSubscriptionId",
            self.shared_subscription_id.as_ref(),
        );
        match &self.delivery {
            Delivery::Channel(id) => wire::leaf(out, "channelId", id),
            Delivery::HttpContact(uri) => {
                wire::open(out, "httpContact");
                wire::leaf(out, "uri", uri);
                wire::close(out, "httpContact");
            }
        }
        wire::leaf_opt(out, "targetId", self.target_id.as_ref());
        wire::leaf_opt(out, "targetSubId", self.target_sub_id.as_ref());
        self.data.write(out);
        wire::event_end(out);
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "Event";
        let mut event_id = None;
        let mut seq = None;
        let mut owner = None;
        let mut ext = None;
        let mut sub = None;
        let mut shared = None;
        let mut delivery = None;
        let mut target = None;
        let mut target_sub = None;
        let mut data = None;
        for c in &el.children {
            match &*c.name {
                "eventID" => once(&mut event_id, "eventID", non_empty(c, "eventID")?)?,
                "sequenceNumber" => once(
                    &mut seq,
                    "sequenceNumber",
                    positive_int(c, "sequenceNumber")?,
                )?,
                "userId" => once(&mut owner, "userId", Owner::User(non_empty(c, "userId")?))?,
                "clientId" => once(
                    &mut owner,
                    "clientId",
                    Owner::Client(non_empty(c, "clientId")?),
                )?,
                "externalApplicationId" => once(
                    &mut ext,
                    "externalApplicationId",
                    non_empty(c, "externalApplicationId")?,
                )?,
                "subscriptionId" => {
                    once(&mut sub, "subscriptionId", non_empty(c, "subscriptionId")?)?
                }
                "sharedSubscriptionId" => once(
                    &mut shared,
                    "sharedSubscriptionId",
                    non_empty(c, "sharedSubscriptionId")?,
                )?,
                "channelId" => once(
                    &mut delivery,
                    "channelId",
                    Delivery::Channel(non_empty(c, "channelId")?),
                )?,
                "httpContact" => {
                    let uri = c.child("uri").ok_or(DocError::Missing {
                        parent: "httpContact",
                        element: "uri",
                    })?;
                    once(
                        &mut delivery,
                        "httpContact",
                        Delivery::HttpContact(non_empty(uri, "uri")?),
                    )?
                }
                "targetId" => once(&mut target, "targetId", non_empty(c, "targetId")?)?,
                "targetSubId" => once(
                    &mut target_sub,
                    "targetSubId",
                    crate::documents::read::string(c, "targetSubId")?,
                )?,
                "eventData" => once(&mut data, "eventData", EventData::read(c)?)?,
                _ => {}
            }
        }
        Ok(SubscriptionEvent {
            event_id: required(event_id, P, "eventID")?,
            sequence_number: required(seq, P, "sequenceNumber")?,
            owner: required(owner, P, "userId")?,
            external_application_id: required(ext, P, "externalApplicationId")?,
            subscription_id: required(sub, P, "subscriptionId")?,
            shared_subscription_id: shared,
            delivery: required(delivery, P, "channelId")?,
            target_id: target,
            target_sub_id: target_sub,
            data: required(data, P, "eventData")?,
        })
    }
}

/// `Event` of type `ChannelTerminatedEvent`: written on the stream when a channel ends; not
/// acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelTerminatedEvent {
    /// The channel.
    pub channel_id: String,
    /// Why.
    pub reason: ChannelTerminatedReason,
}

/// `Event` of type `ErrorEvent` (legacy): the client wrote something other than an
/// `EventResponse` or heartbeat onto the channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorEvent {
    /// `xs:int` code.
    pub error_code: i32,
    /// Message.
    pub error_message: String,
}

/// Any `Event` document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // built, written once, dropped
pub enum Event {
    /// `SubscriptionEvent`.
    Subscription(SubscriptionEvent),
    /// `ChannelTerminatedEvent`.
    ChannelTerminated(ChannelTerminatedEvent),
    /// `ErrorEvent`.
    Error(ErrorEvent),
}

impl From<SubscriptionEvent> for Event {
    fn from(e: SubscriptionEvent) -> Self {
        Event::Subscription(e)
    }
}

impl From<ChannelTerminatedEvent> for Event {
    fn from(e: ChannelTerminatedEvent) -> Self {
        Event::ChannelTerminated(e)
    }
}

impl From<ErrorEvent> for Event {
    fn from(e: ErrorEvent) -> Self {
        Event::Error(e)
    }
}

/// Limits for reading event chunks (snapshots of busy users are larger than requests).
fn event_parse_options() -> ParseOptions {
    ParseOptions {
        limits: Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 32,
            max_elements: 1 << 16,
            max_attributes: 16,
        },
        namespaces: NamespacePolicy::AllowUnqualified,
        charset: None,
    }
}

impl Event {
    /// The `xsi:type` of the root.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Subscription(_) => "SubscriptionEvent",
            Event::ChannelTerminated(_) => "ChannelTerminatedEvent",
            Event::Error(_) => "ErrorEvent",
        }
    }

    /// Appends the complete document (declaration included) to `out`.
    pub fn write_xml<B: BufMut>(&self, out: &mut B) {
        match self {
            Event::Subscription(e) => e.write_xml(out),
            Event::ChannelTerminated(e) => {
                wire::event_start(out, "ChannelTerminatedEvent");
                wire::leaf(out, "channelId", &e.channel_id);
                wire::leaf(out, "reason", e.reason.as_str());
                wire::event_end(out);
            }
            Event::Error(e) => {
                wire::event_start(out, "ErrorEvent");
                wire::leaf_int(out, "errorCode", e.error_code.into());
                wire::leaf(out, "errorMessage", &e.error_message);
                wire::event_end(out);
            }
        }
    }

    /// The document as bytes.
    pub fn to_xml(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_xml(&mut out);
        out
    }

    /// The document as [`Bytes`] (one buffer, no copy).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(1024);
        self.write_xml(&mut out);
        out.freeze()
    }

    /// The envelope, for subscription events.
    pub fn as_subscription(&self) -> Option<&SubscriptionEvent> {
        match self {
            Event::Subscription(e) => Some(e),
            _ => None,
        }
    }

    /// The `eventID` to acknowledge (subscription events only).
    pub fn event_id(&self) -> Option<&str> {
        self.as_subscription().map(|e| e.event_id.as_str())
    }

    /// Reads one event chunk (any namespace prefixes, any order; see the module docs).
    pub fn from_xml(body: &[u8]) -> Result<Self, BodyError> {
        let el = parse_xml(body, &event_parse_options())?;
        Ok(Self::from_element(&el)?)
    }

    /// Reads a parsed `Event` element.
    pub fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, "Event")?;
        let ty = type_local_name(el).ok_or_else(|| missing_type("Event"))?;
        match ty {
            "SubscriptionEvent" => SubscriptionEvent::read(el).map(Event::Subscription),
            "ChannelTerminatedEvent" => {
                let (mut channel_id, mut reason) = (None, None);
                for c in &el.children {
                    match &*c.name {
                        "channelId" => {
                            once(&mut channel_id, "channelId", non_empty(c, "channelId")?)?
                        }
                        "reason" => once(
                            &mut reason,
                            "reason",
                            ChannelTerminatedReason::read(c, "reason")?,
                        )?,
                        _ => {}
                    }
                }
                Ok(Event::ChannelTerminated(ChannelTerminatedEvent {
                    channel_id: required(channel_id, "Event", "channelId")?,
                    reason: required(reason, "Event", "reason")?,
                }))
            }
            "ErrorEvent" => {
                let (mut code, mut message) = (None, None);
                for c in &el.children {
                    match &*c.name {
                        "errorCode" => {
                            once(&mut code, "errorCode", number(c, "errorCode", "an int")?)?
                        }
                        "errorMessage" => once(
                            &mut message,
                            "errorMessage",
                            crate::documents::read::string(c, "errorMessage")?,
                        )?,
                        _ => {}
                    }
                }
                Ok(Event::Error(ErrorEvent {
                    error_code: required(code, "Event", "errorCode")?,
                    error_message: required(message, "Event", "errorMessage")?,
                }))
            }
            other => Err(invalid(
                "Event",
                other,
                "SubscriptionEvent, ChannelTerminatedEvent or ErrorEvent",
            )),
        }
    }
}
