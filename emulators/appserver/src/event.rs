//! The domain event model: what happened, independent of XML. The XSP renders these.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::package::{EventKind, EventPackage};

/// Who owns a subscription or channel: a user, or a client application (system
/// subscriptions, `clientId`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Owner {
    /// A BroadWorks user id (`user@domain`), as stored in the model.
    User(Arc<str>),
    /// A clientApp id (no `@`).
    Client(Arc<str>),
}

impl Owner {
    /// The id text.
    pub fn id(&self) -> &str {
        match self {
            Owner::User(s) | Owner::Client(s) => s,
        }
    }

    /// A user owner.
    pub fn user(id: impl Into<Arc<str>>) -> Self {
        Owner::User(id.into())
    }

    /// A clientApp owner.
    pub fn client(id: impl Into<Arc<str>>) -> Self {
        Owner::Client(id.into())
    }
}

/// Where an event goes: a channel (of the subscription's channel set) or an HTTP contact.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Route {
    /// `channelId` of the channel this copy is sent on.
    Channel(Arc<str>),
    /// `httpContact/uri`.
    HttpContact(Arc<str>),
}

/// One event as sent to one subscription: the envelope fields plus the shared payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// `eventID` (UUID), echoed by the client's `EventResponse`.
    pub event_id: Arc<str>,
    /// `sequenceNumber`, per subscription, wraps 2147483647 → 1.
    pub sequence_number: u32,
    /// `userId` or `clientId`.
    pub owner: Owner,
    /// `externalApplicationId` (the subscription's `applicationId`).
    pub external_application_id: Option<Arc<str>>,
    /// `subscriptionId`.
    pub subscription_id: Arc<str>,
    /// `sharedSubscriptionId`.
    pub shared_subscription_id: Option<Arc<str>>,
    /// `channelId` or `httpContact/uri`.
    pub route: Route,
    /// `targetId`: the user the event is about.
    pub target_id: Option<Arc<str>>,
    /// `targetSubId`.
    pub target_sub_id: Option<Arc<str>>,
    /// The subscription package this copy was sent for.
    pub package: EventPackage,
    /// The payload, shared by every subscription that receives the event.
    pub data: Arc<EventData>,
}

impl Notification {
    /// The channel id when delivered on a channel.
    pub fn channel_id(&self) -> Option<&str> {
        match &self.route {
            Route::Channel(c) => Some(c),
            Route::HttpContact(_) => None,
        }
    }
}

/// The typed payload (`eventData`).
// Always shared behind an `Arc`: boxing the call snapshot would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum EventData {
    /// A call event carrying one `call`.
    Call {
        /// Which call event (one of the call kinds, not Redirected/Subscription).
        kind: EventKind,
        /// The call half as the subscriber's user sees it.
        call: CallSnapshot,
    },
    /// `CallRedirectedEvent` with its `calls` list.
    CallRedirected(Vec<CallSnapshot>),
    /// `CallSubscriptionEvent` (`resync: false`) or `CallSubscriptionResyncEvent`.
    CallSubscription(CallSubscription),
    /// `HookStatusEvent`.
    HookStatus(HookStatus),
    /// A service event; `info: None` = `unassigned`.
    Service {
        /// The service package (gives the event type).
        package: EventPackage,
        /// The configuration, or `None` when the service was unassigned.
        info: Option<ServiceInfo>,
    },
    /// `VoiceMailMessageSummaryEvent`.
    VoiceMailSummary(VoiceMailSummary),
    /// `PushNotificationRegistrationEvent`.
    PushRegistrations(Arc<[bwlab_model::PushRegistration]>),
    /// `SubscriptionTerminatedEvent` (no content).
    SubscriptionTerminated,
}

impl EventData {
    /// The `eventData` type.
    pub fn kind(&self) -> EventKind {
        match self {
            EventData::Call { kind, .. } => *kind,
            EventData::CallRedirected(_) => EventKind::CallRedirected,
            EventData::CallSubscription(s) if s.resync => EventKind::CallSubscriptionResync,
            EventData::CallSubscription(_) => EventKind::CallSubscription,
            EventData::HookStatus(_) => EventKind::HookStatus,
            EventData::Service { package, .. } => {
                crate::package::EventPackageExt::state_event(*package)
                    .unwrap_or(EventKind::SubscriptionTerminated)
            }
            EventData::VoiceMailSummary(_) => EventKind::VoiceMailMessageSummary,
            EventData::PushRegistrations(_) => EventKind::PushNotificationRegistration,
            EventData::SubscriptionTerminated => EventKind::SubscriptionTerminated,
        }
    }

    /// The single `call` of a call event.
    pub fn call(&self) -> Option<&CallSnapshot> {
        match self {
            EventData::Call { call, .. } => Some(call),
            _ => None,
        }
    }
}

/// `Off-Hook` / `On-Hook`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookStatus {
    /// `Off-Hook`.
    OffHook,
    /// `On-Hook`.
    OnHook,
}

impl HookStatus {
    /// Wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            HookStatus::OffHook => "Off-Hook",
            HookStatus::OnHook => "On-Hook",
        }
    }
}

/// `CallSubscriptionEvent` / `CallSubscriptionResyncEvent` content.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallSubscription {
    /// The user's current calls (empty = omit `calls`).
    pub calls: Vec<CallSnapshot>,
    /// `hookStatus`.
    pub hook_status: HookStatus,
    /// Resync variant.
    pub resync: bool,
}

/// `personality`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Personality {
    /// `Originator`.
    Originator,
    /// `Terminator`.
    Terminator,
    /// `Click-to-Dial`.
    ClickToDial,
}

impl Personality {
    /// Wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Personality::Originator => "Originator",
            Personality::Terminator => "Terminator",
            Personality::ClickToDial => "Click-to-Dial",
        }
    }
}

/// `state` of a call half.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallState {
    /// `Alerting`.
    Alerting,
    /// `Active`.
    Active,
    /// `Held`.
    Held,
    /// `Remote Held`.
    RemoteHeld,
    /// `Detached`.
    Detached,
    /// `Released`.
    Released,
}

impl CallState {
    /// Wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            CallState::Alerting => "Alerting",
            CallState::Active => "Active",
            CallState::Held => "Held",
            CallState::RemoteHeld => "Remote Held",
            CallState::Detached => "Detached",
            CallState::Released => "Released",
        }
    }
}

/// `internalReleaseCause` values the engine produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReleaseCause {
    /// `Busy`.
    Busy,
    /// `User Not Found`.
    UserNotFound,
    /// `Temporarily Unavailable`.
    TemporarilyUnavailable,
    /// `Request Failure`.
    RequestFailure,
    /// `Forbidden`.
    Forbidden,
}

impl ReleaseCause {
    /// Wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReleaseCause::Busy => "Busy",
            ReleaseCause::UserNotFound => "User Not Found",
            ReleaseCause::TemporarilyUnavailable => "Temporarily Unavailable",
            ReleaseCause::RequestFailure => "Request Failure",
            ReleaseCause::Forbidden => "Forbidden",
        }
    }
}

/// `releasingParty`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReleasingParty {
    /// `localRelease`.
    Local,
    /// `remoteRelease`.
    Remote,
}

impl ReleasingParty {
    /// Wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReleasingParty::Local => "localRelease",
            ReleasingParty::Remote => "remoteRelease",
        }
    }
}

/// `remoteParty/callType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallType {
    /// Same group.
    Group,
    /// Same enterprise, other group.
    Enterprise,
    /// Outside the enterprise.
    Network,
    /// Nothing known.
    Unknown,
}

impl CallType {
    /// Wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            CallType::Group => "Group",
            CallType::Enterprise => "Enterprise",
            CallType::Network => "Network",
            CallType::Unknown => "Unknown",
        }
    }
}

/// `remoteParty`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteParty {
    /// Display name.
    pub name: Option<String>,
    /// `tel:+15550100`, `tel:100` (extension) …
    pub address: Option<String>,
    /// BroadWorks user id (same group/enterprise only).
    pub user_id: Option<String>,
    /// `userDN` (E.164 without `tel:`), same group/enterprise only.
    pub user_dn: Option<String>,
    /// Call type.
    pub call_type: CallType,
}

/// `redirect` reason values the engine produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedirectReason {
    /// `user-busy`.
    UserBusy,
    /// `no-answer`.
    NoAnswer,
    /// `unconditional`.
    Unconditional,
    /// `do-not-disturb`.
    DoNotDisturb,
    /// `transfer`.
    Transfer,
    /// `voicemail`.
    Voicemail,
    /// `deflection`.
    Deflection,
}

impl RedirectReason {
    /// Wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            RedirectReason::UserBusy => "user-busy",
            RedirectReason::NoAnswer => "no-answer",
            RedirectReason::Unconditional => "unconditional",
            RedirectReason::DoNotDisturb => "do-not-disturb",
            RedirectReason::Transfer => "transfer",
            RedirectReason::Voicemail => "voicemail",
            RedirectReason::Deflection => "deflection",
        }
    }
}

/// `redirect`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// Where the call went.
    pub address: Option<String>,
    /// Why.
    pub reason: RedirectReason,
    /// `redirectTime`, ms since the epoch (lab clock).
    pub time: i64,
}

/// Lab-defined spam indication (`callerIdDisposition`), only with the `CallerIdDisposition`
/// feature on CTI subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallerIdDisposition {
    /// Verified caller.
    Verified,
    /// Suspected spam.
    SpamSuspected,
    /// Not verified.
    Unverified,
}

impl CallerIdDisposition {
    /// Lab wire text.
    pub const fn as_str(self) -> &'static str {
        match self {
            CallerIdDisposition::Verified => "verified",
            CallerIdDisposition::SpamSuspected => "spam",
            CallerIdDisposition::Unverified => "unverified",
        }
    }
}

/// One call half as its user sees it (the schema `Call` fields the lab uses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallSnapshot {
    /// `callhalf-N:0`.
    pub call_id: Arc<str>,
    /// `counter:serverId`, same on both halves.
    pub ext_tracking_id: Arc<str>,
    /// SIP Call-ID for network calls.
    pub network_call_id: Option<Arc<str>>,
    /// Originator / Terminator / Click-to-Dial.
    pub personality: Personality,
    /// Current state.
    pub state: CallState,
    /// Failure cause.
    pub release_cause: Option<ReleaseCause>,
    /// Who released.
    pub releasing_party: Option<ReleasingParty>,
    /// The other side.
    pub remote_party: RemoteParty,
    /// Redirection of this call.
    pub redirect: Option<Redirect>,
    /// ms since the epoch (lab clock).
    pub start_time: i64,
    /// First answer.
    pub answer_time: Option<i64>,
    /// Last hold.
    pub held_time: Option<i64>,
    /// When detached.
    pub detached_time: Option<i64>,
    /// When released.
    pub release_time: Option<i64>,
    /// Spam indication (filled only for CTI subscriptions with `CallerIdDisposition`).
    pub caller_id_disposition: Option<CallerIdDisposition>,
}

/// A service's configuration as its service event carries it (`info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub enum ServiceInfo {
    DoNotDisturb {
        active: bool,
        ring_splash: bool,
    },
    CallForwardingAlways {
        active: bool,
        forward_to_phone_number: Option<String>,
        ring_splash: bool,
    },
    CallForwardingAlwaysSecondary {
        active: bool,
        forward_to_phone_number: Option<String>,
        ring_splash: bool,
    },
    CallForwardingBusy {
        active: bool,
        forward_to_phone_number: Option<String>,
    },
    CallForwardingNoAnswer {
        active: bool,
        forward_to_phone_number: Option<String>,
        number_of_rings: u8,
    },
    CallWaiting {
        active: bool,
    },
    VoiceMessaging {
        active: bool,
    },
    ThirdPartyVoiceMailSupport {
        active: bool,
    },
    SimultaneousRingPersonal {
        active: bool,
        locations: Vec<String>,
    },
    RemoteOffice {
        active: bool,
        remote_office_number: Option<String>,
    },
    BroadWorksAnywhere {
        alert_all_locations_for_click_to_dial_calls: bool,
        alert_all_locations_for_group_paging_calls: bool,
        locations: Vec<String>,
    },
}

/// `VoiceMailMessageSummaryEvent` counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VoiceMailSummary {
    /// Unread, not urgent.
    pub new: u32,
    /// Read, not urgent.
    pub old: u32,
    /// Unread, urgent.
    pub new_urgent: u32,
    /// Read, urgent.
    pub old_urgent: u32,
}

impl From<bwlab_model::MessageSummary> for VoiceMailSummary {
    fn from(s: bwlab_model::MessageSummary) -> Self {
        Self {
            new: s.new_messages,
            old: s.old_messages,
            new_urgent: s.new_urgent_messages,
            old_urgent: s.old_urgent_messages,
        }
    }
}
