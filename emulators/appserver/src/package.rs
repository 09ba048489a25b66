//! Event packages (re-exported from `bwlab-profiles`, the one closed set of names) and what
//! this AS does with each: implemented or not, and which event types it carries.

use bwlab_profiles::{MinorVersion, XsiVersion};

pub use bwlab_profiles::EventPackage;

/// The `eventData` type of an event, named without the `Event` suffix
/// ([`type_name`](EventKind::type_name) adds it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum EventKind {
    // Call events, Basic/Standard/Advanced.
    CallOriginating,
    CallOriginated,
    CallCollecting,
    CallReceived,
    CallAnswered,
    CallReleasing,
    CallReleased,
    CallSubscription,
    CallSubscriptionResync,
    HookStatus,
    // Standard and Advanced.
    CallHeld,
    CallRetrieved,
    CallTransferred,
    CallForwarded,
    CallUpdated,
    CallPickedUp,
    CallParkRetrieved,
    CallMonitored,
    CallBargedIn,
    PlayMusicOnHoldFailure,
    // Advanced only.
    CallRedirected,
    CallDetached,
    // Service and data events.
    DoNotDisturb,
    CallForwardingAlways,
    CallForwardingAlwaysSecondary,
    CallForwardingBusy,
    CallForwardingNoAnswer,
    CallWaiting,
    VoiceMessaging,
    ThirdPartyVoiceMailSupport,
    SimultaneousRingPersonal,
    RemoteOffice,
    BroadWorksAnywhere,
    VoiceMailMessageSummary,
    PushNotificationRegistration,
    SubscriptionTerminated,
}

impl EventKind {
    /// The `xsi1:type` of the `eventData` element, e.g. `CallReceivedEvent`.
    pub const fn type_name(self) -> &'static str {
        use EventKind::*;
        match self {
            CallOriginating => "CallOriginatingEvent",
            CallOriginated => "CallOriginatedEvent",
            CallCollecting => "CallCollectingEvent",
            CallReceived => "CallReceivedEvent",
            CallAnswered => "CallAnsweredEvent",
            CallReleasing => "CallReleasingEvent",
            CallReleased => "CallReleasedEvent",
            CallSubscription => "CallSubscriptionEvent",
            CallSubscriptionResync => "CallSubscriptionResyncEvent",
            HookStatus => "HookStatusEvent",
            CallHeld => "CallHeldEvent",
            CallRetrieved => "CallRetrievedEvent",
            CallTransferred => "CallTransferredEvent",
            CallForwarded => "CallForwardedEvent",
            CallUpdated => "CallUpdatedEvent",
            CallPickedUp => "CallPickedUpEvent",
            CallParkRetrieved => "CallParkRetrievedEvent",
            CallMonitored => "CallMonitoredEvent",
            CallBargedIn => "CallBargedInEvent",
            PlayMusicOnHoldFailure => "PlayMusicOnHoldFailureEvent",
            CallRedirected => "CallRedirectedEvent",
            CallDetached => "CallDetachedEvent",
            DoNotDisturb => "DoNotDisturbEvent",
            CallForwardingAlways => "CallForwardingAlwaysEvent",
            CallForwardingAlwaysSecondary => "CallForwardingAlwaysSecondaryEvent",
            CallForwardingBusy => "CallForwardingBusyEvent",
            CallForwardingNoAnswer => "CallForwardingNoAnswerEvent",
            CallWaiting => "CallWaitingEvent",
            VoiceMessaging => "VoiceMessagingEvent",
            ThirdPartyVoiceMailSupport => "ThirdPartyVoiceMailSupportEvent",
            SimultaneousRingPersonal => "SimultaneousRingPersonalEvent",
            RemoteOffice => "RemoteOfficeEvent",
            BroadWorksAnywhere => "BroadWorksAnywhereEvent",
            VoiceMailMessageSummary => "VoiceMailMessageSummaryEvent",
            PushNotificationRegistration => "PushNotificationRegistrationEvent",
            SubscriptionTerminated => "SubscriptionTerminatedEvent",
        }
    }

    /// Whether this is a call event (history: carries a `call`, or the call-state snapshot).
    pub const fn is_call_event(self) -> bool {
        use EventKind::*;
        matches!(
            self,
            CallOriginating
                | CallOriginated
                | CallCollecting
                | CallReceived
                | CallAnswered
                | CallReleasing
                | CallReleased
                | CallSubscription
                | CallSubscriptionResync
                | CallHeld
                | CallRetrieved
                | CallTransferred
                | CallForwarded
                | CallUpdated
                | CallPickedUp
                | CallParkRetrieved
                | CallMonitored
                | CallBargedIn
                | PlayMusicOnHoldFailure
                | CallRedirected
                | CallDetached
        )
    }
}

/// Three levels of call visibility (spec §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum CallLevel {
    Basic,
    Standard,
    Advanced,
}

fn call_level(kind: EventKind) -> Option<CallLevel> {
    use EventKind::*;
    Some(match kind {
        CallOriginating
        | CallOriginated
        | CallCollecting
        | CallReceived
        | CallAnswered
        | CallReleasing
        | CallReleased
        | CallSubscription
        | CallSubscriptionResync
        | HookStatus => CallLevel::Basic,
        CallHeld
        | CallRetrieved
        | CallTransferred
        | CallForwarded
        | CallUpdated
        | CallPickedUp
        | CallParkRetrieved
        | CallMonitored
        | CallBargedIn
        | PlayMusicOnHoldFailure => CallLevel::Standard,
        CallRedirected | CallDetached => CallLevel::Advanced,
        _ => return None,
    })
}

/// What this AS knows about each package beyond its name.
///
/// `EventPackage` lives in `bwlab-profiles` (profiles list which packages a release has);
/// this trait adds the AS's view. `use bwlab_appserver::EventPackageExt;` to call it.
pub trait EventPackageExt: Sized {
    /// The package named exactly `name` (request value of `event`), if any.
    fn from_name(name: &str) -> Option<Self>;
    /// Whether this AS emits events for the package. Unimplemented packages may still be
    /// subscribed to (they are known names); they just stay silent.
    fn implemented(self) -> bool;
    /// Whether the package carries events of `kind`.
    fn carries(self, kind: EventKind) -> bool;
    /// Basic, Standard or Advanced Call.
    #[allow(clippy::wrong_self_convention)]
    fn is_call_package(self) -> bool;
    /// The state event sent after subscribe/refresh of a user target, if the package has one
    /// that this AS emits.
    fn state_event(self) -> Option<EventKind>;
    /// Whether a subscription made with this `X-BroadWorks-Protocol-Version` (None = absent)
    /// may name the package (`Call Recording` is refused for ≥ 20.0 and for absent).
    fn allowed_for_version(self, version: Option<XsiVersion>) -> bool;
}

impl EventPackageExt for EventPackage {
    fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    fn implemented(self) -> bool {
        self.state_event().is_some()
    }

    fn carries(self, kind: EventKind) -> bool {
        use EventPackage as P;
        if kind == EventKind::SubscriptionTerminated {
            return true;
        }
        let level = match self {
            P::BasicCall => Some(CallLevel::Basic),
            P::StandardCall => Some(CallLevel::Standard),
            P::AdvancedCall => Some(CallLevel::Advanced),
            _ => None,
        };
        if let Some(level) = level {
            return call_level(kind).is_some_and(|l| l <= level);
        }
        service_kind(self) == Some(kind)
    }

    fn is_call_package(self) -> bool {
        matches!(
            self,
            EventPackage::BasicCall | EventPackage::StandardCall | EventPackage::AdvancedCall
        )
    }

    fn state_event(self) -> Option<EventKind> {
        if self.is_call_package() {
            Some(EventKind::CallSubscription)
        } else {
            service_kind(self)
        }
    }

    fn allowed_for_version(self, version: Option<XsiVersion>) -> bool {
        if self != EventPackage::CallRecording {
            return true;
        }
        let v20 = XsiVersion {
            major: 20,
            minor: MinorVersion::Point(0),
        };
        version.is_some_and(|v| v < v20)
    }
}

/// The single event type of an implemented non-call package.
fn service_kind(p: EventPackage) -> Option<EventKind> {
    use EventPackage as P;
    Some(match p {
        P::DoNotDisturb => EventKind::DoNotDisturb,
        P::CallForwardingAlways => EventKind::CallForwardingAlways,
        P::CallForwardingAlwaysSecondary => EventKind::CallForwardingAlwaysSecondary,
        P::CallForwardingBusy => EventKind::CallForwardingBusy,
        P::CallForwardingNoAnswer => EventKind::CallForwardingNoAnswer,
        P::CallWaiting => EventKind::CallWaiting,
        P::VoiceMessaging => EventKind::VoiceMessaging,
        P::ThirdPartyVoiceMailSupport => EventKind::ThirdPartyVoiceMailSupport,
        P::SimultaneousRingPersonal => EventKind::SimultaneousRingPersonal,
        P::RemoteOffice => EventKind::RemoteOffice,
        P::BroadWorksAnywhere => EventKind::BroadWorksAnywhere,
        P::VoiceMailMessageSummary => EventKind::VoiceMailMessageSummary,
        P::PushNotificationRegistration => EventKind::PushNotificationRegistration,
        _ => return None,
    })
}
