//! User services and their settings.
//!
//! Each service has a typed settings struct whose serde names are the Xsi element names
//! (`ringSplash`, `forwardToPhoneNumber`, …), so lab files, the Xsi server and tests all
//! speak the same vocabulary. A user's assigned services are a small sorted list of
//! [`ServiceSettings`]; assigning a service without settings gives BroadWorks' defaults.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, FieldPath};
use crate::ids::E164;

/// Typed access to one service's settings.
pub trait Service: Clone + Into<ServiceSettings> {
    /// Which service this struct configures.
    const KIND: ServiceKind;
    /// The settings if `s` is of this service.
    fn from_settings(s: &ServiceSettings) -> Option<&Self>;
}

macro_rules! services {
    ($( $(#[$doc:meta])* $variant:ident, $yaml:literal, $display:literal, $xsi:expr; )*) => {
        /// A BroadWorks user service the lab models.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ServiceKind {
            $( $(#[$doc])* $variant, )*
        }

        impl ServiceKind {
            /// Every modelled service, in declaration order.
            pub const ALL: &'static [ServiceKind] = &[$(ServiceKind::$variant,)*];
            /// The names lab files use.
            pub const YAML_NAMES: &'static [&'static str] = &[$($yaml,)*];

            /// Name used in lab files, e.g. `doNotDisturb`.
            pub fn yaml_name(self) -> &'static str {
                match self { $(Self::$variant => $yaml,)* }
            }

            /// BroadWorks display name, as Xsi `services` lists it (`Do Not Disturb`).
            pub fn display_name(self) -> &'static str {
                match self { $(Self::$variant => $display,)* }
            }

            /// Xsi resource name under `/user/{u}/services/`, if Xsi exposes the service.
            pub fn xsi_name(self) -> Option<&'static str> {
                match self { $(Self::$variant => $xsi,)* }
            }

            /// Settings a freshly assigned service starts with.
            pub fn default_settings(self) -> ServiceSettings {
                match self { $(Self::$variant => ServiceSettings::$variant(<$variant>::default()),)* }
            }

            /// Deserializes this service's settings from any serde source.
            pub fn deserialize_settings<'de, D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<ServiceSettings, D::Error> {
                match self { $(Self::$variant => <$variant>::deserialize(d).map(ServiceSettings::$variant),)* }
            }
        }

        /// The settings of one assigned service.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
        #[serde(untagged)]
        pub enum ServiceSettings {
            $( $(#[$doc])* $variant($variant), )*
        }

        impl ServiceSettings {
            /// Which service these settings belong to.
            pub fn kind(&self) -> ServiceKind {
                match self { $(Self::$variant(_) => ServiceKind::$variant,)* }
            }
        }

        $(
            impl Service for $variant {
                const KIND: ServiceKind = ServiceKind::$variant;
                fn from_settings(s: &ServiceSettings) -> Option<&Self> {
                    match s { ServiceSettings::$variant(v) => Some(v), #[allow(unreachable_patterns)] _ => None }
                }
            }
            impl From<$variant> for ServiceSettings {
                fn from(v: $variant) -> Self { Self::$variant(v) }
            }
        )*
    };
}

services! {
    /// Integrated IM&P: assigning it triggers flow-through provisioning to Webex.
    IntegratedImp, "integratedImp", "Integrated IMP", Some("IntegratedIMP");
    /// Do Not Disturb.
    DoNotDisturb, "doNotDisturb", "Do Not Disturb", Some("DoNotDisturb");
    /// Call Forwarding Always.
    CallForwardingAlways, "callForwardingAlways", "Call Forwarding Always", Some("CallForwardingAlways");
    /// Call Forwarding Busy.
    CallForwardingBusy, "callForwardingBusy", "Call Forwarding Busy", Some("CallForwardingBusy");
    /// Call Forwarding No Answer.
    CallForwardingNoAnswer, "callForwardingNoAnswer", "Call Forwarding No Answer", Some("CallForwardingNoAnswer");
    /// Call Forwarding Not Reachable.
    CallForwardingNotReachable, "callForwardingNotReachable", "Call Forwarding Not Reachable", Some("CallForwardingNotReachable");
    /// Call Waiting.
    CallWaiting, "callWaiting", "Call Waiting", Some("CallWaiting");
    /// Voice Messaging (mailbox, redirect rules).
    VoiceMessaging, "voiceMessaging", "Voice Messaging User", Some("VoiceMessaging");
    /// BroadWorks Anywhere (extra locations that ring).
    BroadWorksAnywhere, "broadWorksAnywhere", "BroadWorks Anywhere", Some("BroadWorksAnywhere");
    /// Shared Call Appearance (the user's line on other devices).
    SharedCallAppearance, "sharedCallAppearance", "Shared Call Appearance", None;
    /// Busy Lamp Field.
    BusyLampField, "busyLampField", "Busy Lamp Field", Some("BusyLampField");
    /// Directed Call Pickup.
    DirectedCallPickup, "directedCallPickup", "Directed Call Pickup", Some("DirectedCallPickup");
    /// Directed Call Pickup with Barge-in.
    DirectedCallPickupWithBargeIn, "directedCallPickupWithBargeIn", "Directed Call Pickup with Barge-in", Some("DirectedCallPickupWithBargeIn");
    /// Call Recording (third-party recording platform).
    CallRecording, "callRecording", "Call Recording", Some("CallRecording");
    /// Simultaneous Ring Personal.
    SimultaneousRingPersonal, "simultaneousRingPersonal", "Simultaneous Ring Personal", Some("SimultaneousRingPersonal");
    /// Remote Office.
    RemoteOffice, "remoteOffice", "Remote Office", Some("RemoteOffice");
    /// Basic Call Logs (needed for Xsi `directories/CallLogs`).
    BasicCallLogs, "basicCallLogs", "Basic Call Logs", None;
    /// Enhanced Call Logs (needed for Xsi `directories/EnhancedCallLogs`).
    EnhancedCallLogs, "enhancedCallLogs", "Enhanced Call Logs", None;
    /// Call Transfer.
    CallTransfer, "callTransfer", "Call Transfer", Some("CallTransfer");
    /// Three-Way Call (conferences need it or N-Way).
    ThreeWayCall, "threeWayCall", "Three-Way Call", None;
    /// N-Way Call.
    NWayCall, "nWayCall", "N-Way Call", None;
}

impl ServiceKind {
    /// Finds a service by its lab-file name, display name or Xsi name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        // Lab files use the exact names: check those first, cheaply.
        if let Some(i) = Self::YAML_NAMES.iter().position(|n| *n == name) {
            return Some(Self::ALL[i]);
        }
        Self::ALL.iter().copied().find(|k| {
            k.yaml_name().eq_ignore_ascii_case(name)
                || k.display_name().eq_ignore_ascii_case(name)
                || k.xsi_name().is_some_and(|x| x.eq_ignore_ascii_case(name))
        })
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.yaml_name())
    }
}

impl Serialize for ServiceKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.yaml_name())
    }
}

impl<'de> Deserialize<'de> for ServiceKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::from_name(&name)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, ServiceKind::YAML_NAMES))
    }
}

fn yes() -> bool {
    true
}

/// Integrated IM&P settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegratedImp {
    /// Whether the user is provisioned to Webex.
    pub active: bool,
}

impl Default for IntegratedImp {
    fn default() -> Self {
        Self { active: true }
    }
}

/// Do Not Disturb settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct DoNotDisturb {
    /// Calls go to busy treatment.
    pub active: bool,
    /// Play a short ring on the phone when a call is blocked.
    pub ring_splash: bool,
}

/// Call Forwarding Always settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CallForwardingAlways {
    /// Forwarding on.
    pub active: bool,
    /// Destination: E.164, digits (extension) or SIP URI.
    pub forward_to_phone_number: Option<String>,
    /// Ring splash on forwarded calls.
    pub ring_splash: bool,
}

/// Call Forwarding Busy settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CallForwardingBusy {
    /// Forwarding on.
    pub active: bool,
    /// Destination.
    pub forward_to_phone_number: Option<String>,
}

/// Call Forwarding No Answer settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CallForwardingNoAnswer {
    /// Forwarding on.
    pub active: bool,
    /// Destination.
    pub forward_to_phone_number: Option<String>,
    /// Rings before forwarding: 0 (system default) or 2–20.
    pub number_of_rings: u8,
}

impl Default for CallForwardingNoAnswer {
    fn default() -> Self {
        Self {
            active: false,
            forward_to_phone_number: None,
            number_of_rings: 2,
        }
    }
}

/// Call Forwarding Not Reachable settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CallForwardingNotReachable {
    /// Forwarding on.
    pub active: bool,
    /// Destination.
    pub forward_to_phone_number: Option<String>,
}

/// Call Waiting settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CallWaiting {
    /// A second call alerts during a call.
    pub active: bool,
}

impl Default for CallWaiting {
    fn default() -> Self {
        Self { active: true }
    }
}

/// How voice messages are delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoiceMessageProcessing {
    /// Kept in the mailbox (and optionally notified by e-mail).
    #[default]
    #[serde(rename = "unified")]
    Unified,
    /// Only sent to an e-mail address.
    #[serde(rename = "deliverToEmailAddressOnly")]
    DeliverToEmailAddressOnly,
}

impl VoiceMessageProcessing {
    /// The Xsi enumeration text.
    pub fn xsi_text(self) -> &'static str {
        match self {
            Self::Unified => "Unified Voice and Email Messaging",
            Self::DeliverToEmailAddressOnly => "Deliver To Email Address Only",
        }
    }
}

/// Voice Messaging settings, including the mailbox the lab keeps messages in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct VoiceMessaging {
    /// Voice mail on.
    pub active: bool,
    /// Mailbox or e-mail only.
    pub processing: VoiceMessageProcessing,
    /// Where messages go with e-mail delivery.
    pub voice_message_delivery_email_address: Option<String>,
    /// Light the phone's message-waiting lamp.
    pub use_phone_message_waiting_indicator: bool,
    /// Send a notification e-mail per message.
    pub send_voice_message_notify_email: bool,
    /// Notification address.
    pub voice_message_notify_email_address: Option<String>,
    /// Send a copy of each message by e-mail.
    pub send_carbon_copy_voice_message: bool,
    /// Copy address.
    pub voice_message_carbon_copy_email_address: Option<String>,
    /// Callers pressing 0 are transferred.
    pub transfer_on_zero_to_phone_number: bool,
    /// Where 0 transfers to.
    pub transfer_phone_number: Option<String>,
    /// Every call goes to voice mail.
    pub always_redirect_to_voice_mail: bool,
    /// Busy calls go to voice mail.
    pub busy_redirect_to_voice_mail: bool,
    /// Unanswered calls go to voice mail.
    pub no_answer_redirect_to_voice_mail: bool,
    /// Calls outside the primary zone go to voice mail.
    pub out_of_primary_zone_redirect_to_voice_mail: bool,
    /// Rings before an unanswered call goes to voice mail (Greetings `noAnswerNumberOfRings`).
    pub no_answer_number_of_rings: u8,
    /// Most messages the mailbox holds; further deposits are refused.
    pub mailbox_limit: u32,
    /// Alias numbers that reach this mailbox.
    pub aliases: Vec<String>,
}

impl Default for VoiceMessaging {
    fn default() -> Self {
        Self {
            active: true,
            processing: VoiceMessageProcessing::Unified,
            voice_message_delivery_email_address: None,
            use_phone_message_waiting_indicator: true,
            send_voice_message_notify_email: false,
            voice_message_notify_email_address: None,
            send_carbon_copy_voice_message: false,
            voice_message_carbon_copy_email_address: None,
            transfer_on_zero_to_phone_number: false,
            transfer_phone_number: None,
            always_redirect_to_voice_mail: false,
            busy_redirect_to_voice_mail: true,
            no_answer_redirect_to_voice_mail: true,
            out_of_primary_zone_redirect_to_voice_mail: false,
            no_answer_number_of_rings: 3,
            mailbox_limit: 100,
            aliases: Vec::new(),
        }
    }
}

/// One BroadWorks Anywhere location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnywhereLocation {
    /// The location's number (identifies it).
    pub phone_number: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Rings when the user is called.
    #[serde(default = "yes")]
    pub active: bool,
    /// Number presented on outbound calls from the location.
    #[serde(default)]
    pub outbound_alternate_number: Option<String>,
    /// BroadWorks keeps control of calls answered there.
    #[serde(default)]
    pub broadworks_call_control: bool,
    /// Stop the location's own forwarding from taking the call.
    #[serde(default)]
    pub use_diversion_inhibitor: bool,
    /// The answerer must press a key to accept.
    #[serde(default)]
    pub answer_confirmation_required: bool,
}

/// BroadWorks Anywhere settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadWorksAnywhere {
    /// Click-to-dial alerts every location.
    pub alert_all_locations_for_click_to_dial_calls: bool,
    /// Group paging alerts every location.
    pub alert_all_locations_for_group_paging_calls: bool,
    /// The locations.
    pub locations: Vec<AnywhereLocation>,
}

/// What a barge into a shared line plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BridgeWarningTone {
    /// Silence.
    None,
    /// One tone on barge-in.
    #[default]
    BargeIn,
    /// A tone on barge-in, repeated.
    BargeInAndRepeat,
}

/// Shared Call Appearance settings. The appearances themselves are device lines with
/// endpoint type `sharedCallAppearance` (see [`crate::device`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SharedCallAppearance {
    /// Click-to-dial alerts every appearance.
    pub alert_all_appearances_for_click_to_dial_calls: bool,
    /// Group paging alerts every appearance.
    pub alert_all_appearances_for_group_paging_calls: bool,
    /// A call can be retrieved from another appearance.
    #[serde(rename = "allowSCACallRetrieve")]
    pub allow_sca_call_retrieve: bool,
    /// Several calls at once across appearances.
    pub multiple_call_arrangement_is_active: bool,
    /// Appearances may bridge into each other's calls.
    pub allow_bridging_between_locations: bool,
    /// Tone played on bridging.
    pub bridge_warning_tone: BridgeWarningTone,
    /// Notify appearances when a call is parked.
    pub enable_call_park_notification: bool,
}

impl Default for SharedCallAppearance {
    fn default() -> Self {
        Self {
            alert_all_appearances_for_click_to_dial_calls: false,
            alert_all_appearances_for_group_paging_calls: false,
            allow_sca_call_retrieve: true,
            multiple_call_arrangement_is_active: true,
            allow_bridging_between_locations: false,
            bridge_warning_tone: BridgeWarningTone::BargeIn,
            enable_call_park_notification: false,
        }
    }
}

/// Busy Lamp Field settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct BusyLampField {
    /// SIP URI of the resource list a phone subscribes to (`sip:blf-alice@lab.example`).
    #[serde(rename = "listURI")]
    pub list_uri: Option<String>,
    /// User ids of the monitored users.
    pub monitored_users: Vec<String>,
    /// Include call park state.
    pub enable_call_park_notification: bool,
}

/// Directed Call Pickup (no settings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectedCallPickup {}

/// Directed Call Pickup with Barge-in settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectedCallPickupWithBargeIn {
    /// Play a tone when barging in.
    pub enable_barge_in_warning_tone: bool,
    /// Pick the target automatically when no number is dialled.
    pub enable_automatic_target_selection: bool,
}

impl Default for DirectedCallPickupWithBargeIn {
    fn default() -> Self {
        Self {
            enable_barge_in_warning_tone: true,
            enable_automatic_target_selection: false,
        }
    }
}

/// Call recording modes (BroadWorks names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordingMode {
    /// Every call.
    #[serde(rename = "always")]
    Always,
    /// No call.
    #[default]
    #[serde(rename = "never")]
    Never,
    /// Recorded, kept only if the user presses Start.
    #[serde(rename = "on-demand")]
    OnDemand,
    /// Every call, user can pause and resume.
    #[serde(rename = "always-pause-resume")]
    AlwaysPauseResume,
    /// The user starts, stops and pauses at will.
    #[serde(rename = "on-demand-user-start")]
    OnDemandUserStart,
}

/// How a pause/resume is signalled to the parties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PauseResumeNotify {
    /// Silently.
    #[default]
    None,
    /// An announcement.
    Announcement,
    /// A beep.
    Beeponly,
}

/// Call Recording settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CallRecording {
    /// When calls are recorded.
    pub recording_mode: RecordingMode,
    /// Pause/resume signalling.
    pub pause_resume_notify_method: PauseResumeNotify,
    /// Record voice-mail deposits too.
    pub record_voice_messaging: bool,
    /// Announce start and stop.
    pub play_call_recording_start_stop_announcement: bool,
    /// Play a periodic warning tone.
    pub play_call_recording_warning_tone: bool,
    /// Warning tone period, 10–1800 s.
    pub play_call_recording_warning_tone_seconds: u16,
}

impl Default for CallRecording {
    fn default() -> Self {
        Self {
            recording_mode: RecordingMode::Never,
            pause_resume_notify_method: PauseResumeNotify::None,
            record_voice_messaging: false,
            play_call_recording_start_stop_announcement: false,
            play_call_recording_warning_tone: false,
            play_call_recording_warning_tone_seconds: 15,
        }
    }
}

/// Which calls Simultaneous Ring applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SimRingIncomingCalls {
    /// Skip the extra locations while the user is on a call.
    #[default]
    DoNotRingIfOnACall,
    /// Always ring them.
    RingForAllIncomingCalls,
}

impl SimRingIncomingCalls {
    /// The Xsi enumeration text.
    pub fn xsi_text(self) -> &'static str {
        match self {
            Self::DoNotRingIfOnACall => "Do not Ring if on a Call",
            Self::RingForAllIncomingCalls => "Ring for all Incoming Calls",
        }
    }
}

/// One Simultaneous Ring location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimRingLocation {
    /// Number or SIP URI to ring.
    pub address: String,
    /// The answerer must press a key to accept.
    #[serde(default)]
    pub answer_confirmation_required: bool,
}

/// Simultaneous Ring Personal settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SimultaneousRingPersonal {
    /// Service on.
    pub active: bool,
    /// Which calls ring the locations.
    pub incoming_calls: SimRingIncomingCalls,
    /// Up to 10 locations.
    pub sim_ring_locations: Vec<SimRingLocation>,
}

/// Remote Office settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteOffice {
    /// Calls go to the remote office number.
    pub active: bool,
    /// The number to use.
    pub remote_office_number: Option<String>,
}

macro_rules! unit_service {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {}
    )*};
}

unit_service! {
    /// Basic Call Logs (no settings).
    BasicCallLogs;
    /// Enhanced Call Logs (no settings).
    EnhancedCallLogs;
    /// Call Transfer (no settings modelled).
    CallTransfer;
    /// Three-Way Call (no settings).
    ThreeWayCall;
    /// N-Way Call (no settings).
    NWayCall;
}

/// One problem in a service's settings, relative to the service (`forwardToPhoneNumber`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsProblem {
    /// Path below the service, e.g. `locations[1].phoneNumber`.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
    pub(crate) kind: ErrorKind,
}

impl fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.0.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Checks a destination the way BroadWorks' `OutgoingDNorSIPURI` does: E.164, a dialable
/// digit string (extension, national number, `*`/`#` codes) or a SIP URI.
pub fn check_destination(text: &str) -> Result<(), String> {
    let t = text.trim();
    let ok = if t.starts_with('+') {
        E164::parse(t).is_ok()
    } else if let Some(uri) = t.strip_prefix("sip:").or_else(|| t.strip_prefix("sips:")) {
        uri.contains('@') && !uri.contains(char::is_whitespace)
    } else {
        (1..=30).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a phone number or SIP URI (expected +<digits>, digits or sip:user@host)"
        ))
    }
}

impl ServiceSettings {
    /// Checks the rules BroadWorks enforces on these settings (numbers, ranges, limits).
    /// References to other users (Busy Lamp Field) are checked by the store.
    pub fn problems(&self) -> Vec<SettingsProblem> {
        let mut out = Vec::new();
        let mut bad = |path: FieldPath, kind: ErrorKind, message: String| {
            out.push(SettingsProblem {
                path,
                message,
                kind,
            })
        };
        let root = FieldPath::root;
        let mut forward = |active: bool, number: &Option<String>| match number {
            Some(n) => {
                if let Err(m) = check_destination(n) {
                    bad(root().key("forwardToPhoneNumber"), ErrorKind::Invalid, m);
                }
            }
            None if active => bad(
                root().key("forwardToPhoneNumber"),
                ErrorKind::MissingField,
                "required when active is true".into(),
            ),
            None => {}
        };
        match self {
            Self::CallForwardingAlways(s) => forward(s.active, &s.forward_to_phone_number),
            Self::CallForwardingBusy(s) => forward(s.active, &s.forward_to_phone_number),
            Self::CallForwardingNotReachable(s) => forward(s.active, &s.forward_to_phone_number),
            Self::CallForwardingNoAnswer(s) => {
                forward(s.active, &s.forward_to_phone_number);
                if s.number_of_rings == 1 || s.number_of_rings > 20 {
                    out.push(SettingsProblem {
                        path: root().key("numberOfRings"),
                        message: format!("{} is out of range (0 or 2-20)", s.number_of_rings),
                        kind: ErrorKind::Invalid,
                    });
                }
            }
            Self::RemoteOffice(s) => {
                if let Some(n) = &s.remote_office_number {
                    if let Err(m) = check_destination(n) {
                        out.push(SettingsProblem {
                            path: root().key("remoteOfficeNumber"),
                            message: m,
                            kind: ErrorKind::Invalid,
                        });
                    }
                } else if s.active {
                    out.push(SettingsProblem {
                        path: root().key("remoteOfficeNumber"),
                        message: "required when active is true".into(),
                        kind: ErrorKind::MissingField,
                    });
                }
            }
            Self::VoiceMessaging(s) => vm_problems(s, &mut out),
            Self::BroadWorksAnywhere(s) => {
                let mut seen = Vec::new();
                for (i, loc) in s.locations.iter().enumerate() {
                    let p = root().key("locations").index(i);
                    if let Err(m) = check_destination(&loc.phone_number) {
                        out.push(problem(p.clone().key("phoneNumber"), ErrorKind::Invalid, m));
                    } else if seen.contains(&loc.phone_number.as_str()) {
                        out.push(problem(
                            p.clone().key("phoneNumber"),
                            ErrorKind::Duplicate,
                            format!("{:?} is listed twice", loc.phone_number),
                        ));
                    }
                    seen.push(loc.phone_number.as_str());
                    if let Some(n) = &loc.outbound_alternate_number
                        && let Err(m) = check_destination(n)
                    {
                        out.push(problem(
                            p.key("outboundAlternateNumber"),
                            ErrorKind::Invalid,
                            m,
                        ));
                    }
                }
                if s.locations.len() > 100 {
                    out.push(problem(
                        root().key("locations"),
                        ErrorKind::Invalid,
                        format!("{} locations (at most 100)", s.locations.len()),
                    ));
                }
            }
            Self::SimultaneousRingPersonal(s) => {
                for (i, loc) in s.sim_ring_locations.iter().enumerate() {
                    if let Err(m) = check_destination(&loc.address) {
                        out.push(problem(
                            root().key("simRingLocations").index(i).key("address"),
                            ErrorKind::Invalid,
                            m,
                        ));
                    }
                }
                if s.sim_ring_locations.len() > 10 {
                    out.push(problem(
                        root().key("simRingLocations"),
                        ErrorKind::Invalid,
                        format!("{} locations (at most 10)", s.sim_ring_locations.len()),
                    ));
                }
            }
            Self::BusyLampField(s) => {
                if let Some(uri) = &s.list_uri {
                    let ok = uri
                        .strip_prefix("sip:")
                        .is_some_and(|u| u.contains('@') && !u.contains(char::is_whitespace));
                    if !ok {
                        out.push(problem(
                            root().key("listURI"),
                            ErrorKind::Invalid,
                            format!("{uri:?} is not a SIP URI (expected sip:name@domain)"),
                        ));
                    }
                }
            }
            Self::CallRecording(s)
                if !(10..=1800).contains(&s.play_call_recording_warning_tone_seconds) =>
            {
                out.push(problem(
                    root().key("playCallRecordingWarningToneSeconds"),
                    ErrorKind::Invalid,
                    format!(
                        "{} is out of range (10-1800)",
                        s.play_call_recording_warning_tone_seconds
                    ),
                ));
            }
            _ => {}
        }
        out
    }
}

fn problem(path: FieldPath, kind: ErrorKind, message: String) -> SettingsProblem {
    SettingsProblem {
        path,
        message,
        kind,
    }
}

fn vm_problems(s: &VoiceMessaging, out: &mut Vec<SettingsProblem>) {
    let root = FieldPath::root;
    let emails = [
        (
            "voiceMessageDeliveryEmailAddress",
            &s.voice_message_delivery_email_address,
            s.processing == VoiceMessageProcessing::DeliverToEmailAddressOnly,
        ),
        (
            "voiceMessageNotifyEmailAddress",
            &s.voice_message_notify_email_address,
            s.send_voice_message_notify_email,
        ),
        (
            "voiceMessageCarbonCopyEmailAddress",
            &s.voice_message_carbon_copy_email_address,
            s.send_carbon_copy_voice_message,
        ),
    ];
    for (name, value, required) in emails {
        match value {
            Some(v) if !v.contains('@') => out.push(problem(
                root().key(name),
                ErrorKind::Invalid,
                format!("{v:?} is not an e-mail address"),
            )),
            None if required => out.push(problem(
                root().key(name),
                ErrorKind::MissingField,
                "required by the other settings".into(),
            )),
            _ => {}
        }
    }
    if let Some(n) = &s.transfer_phone_number
        && let Err(m) = check_destination(n)
    {
        out.push(problem(
            root().key("transferPhoneNumber"),
            ErrorKind::Invalid,
            m,
        ));
    }
    for (i, a) in s.aliases.iter().enumerate() {
        if let Err(m) = check_destination(a) {
            out.push(problem(
                root().key("aliases").index(i),
                ErrorKind::Invalid,
                m,
            ));
        }
    }
    if s.no_answer_number_of_rings > 20 {
        out.push(problem(
            root().key("noAnswerNumberOfRings"),
            ErrorKind::Invalid,
            format!("{} is out of range (0-20)", s.no_answer_number_of_rings),
        ));
    }
    if s.mailbox_limit == 0 || s.mailbox_limit > 10_000 {
        out.push(problem(
            root().key("mailboxLimit"),
            ErrorKind::Invalid,
            format!("{} is out of range (1-10000)", s.mailbox_limit),
        ));
    }
}

/// A user's assigned services, kept sorted by kind (a handful per user: a vector beats a
/// map here).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Services(Vec<ServiceSettings>);

impl Services {
    /// Empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn pos(&self, kind: ServiceKind) -> Result<usize, usize> {
        self.0.binary_search_by(|s| s.kind().cmp(&kind))
    }

    /// Settings of an assigned service.
    pub fn get(&self, kind: ServiceKind) -> Option<&ServiceSettings> {
        self.pos(kind).ok().map(|i| &self.0[i])
    }

    /// Typed settings of an assigned service.
    pub fn typed<S: Service>(&self) -> Option<&S> {
        self.get(S::KIND).and_then(S::from_settings)
    }

    /// Whether `kind` is assigned.
    pub fn has(&self, kind: ServiceKind) -> bool {
        self.pos(kind).is_ok()
    }

    /// Assigns (or replaces) a service with these settings; returns the previous settings.
    pub fn put(&mut self, settings: ServiceSettings) -> Option<ServiceSettings> {
        match self.pos(settings.kind()) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i], settings)),
            Err(i) => {
                self.0.insert(i, settings);
                None
            }
        }
    }

    /// Unassigns a service; returns its last settings.
    pub fn remove(&mut self, kind: ServiceKind) -> Option<ServiceSettings> {
        self.pos(kind).ok().map(|i| self.0.remove(i))
    }

    /// Assigned kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = ServiceKind> + '_ {
        self.0.iter().map(ServiceSettings::kind)
    }

    /// All settings, sorted by kind.
    pub fn iter(&self) -> impl Iterator<Item = &ServiceSettings> {
        self.0.iter()
    }

    /// Number of assigned services.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No service assigned.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Services {
    /// From a list in any order; a later entry of the same kind replaces an earlier one.
    pub fn from_vec(mut v: Vec<ServiceSettings>) -> Self {
        // In place: reverse + stable sort + dedup keeps the *last* entry of each kind.
        v.reverse();
        v.sort_by_key(ServiceSettings::kind);
        v.dedup_by_key(|s| s.kind());
        Self(v)
    }
}

impl FromIterator<ServiceSettings> for Services {
    fn from_iter<T: IntoIterator<Item = ServiceSettings>>(iter: T) -> Self {
        let mut s = Self::new();
        for v in iter {
            s.put(v);
        }
        s
    }
}

/// The services a lab file or builder assigns to a user, in the order written.
///
/// In YAML either a list of names (default settings) or a mapping from name to settings
/// (`doNotDisturb: {active: true}`; an empty value means defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceList(pub Vec<ServiceSettings>);

impl Serialize for ServiceList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for v in &self.0 {
            m.serialize_entry(v.kind().yaml_name(), v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ServiceList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        struct Seed(ServiceKind);
        impl<'de> serde::de::DeserializeSeed<'de> for Seed {
            type Value = ServiceSettings;
            fn deserialize<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<ServiceSettings, D::Error> {
                self.0.deserialize_settings(d)
            }
        }
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ServiceList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of service names or a mapping from service name to settings")
            }
            fn visit_unit<E>(self) -> Result<ServiceList, E> {
                Ok(ServiceList::default())
            }
            fn visit_none<E>(self) -> Result<ServiceList, E> {
                Ok(ServiceList::default())
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ServiceList, E> {
                let k = ServiceKind::from_name(v)
                    .ok_or_else(|| E::unknown_variant(v, ServiceKind::YAML_NAMES))?;
                Ok(ServiceList(vec![k.default_settings()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ServiceList, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = a.next_element::<ServiceKind>()? {
                    out.push(k.default_settings());
                }
                Ok(ServiceList(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ServiceList, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = a.next_key::<ServiceKind>()? {
                    out.push(a.next_value_seed(Seed(k))?);
                }
                Ok(ServiceList(out))
            }
        }
        // A struct request with a private name: the lab-file deserializer recognises it to
        // check service names itself (reporting unknown ones and carrying on); other
        // deserializers see an ordinary struct (map or sequence).
        d.deserialize_struct(SERVICE_LIST_MARKER, ServiceKind::YAML_NAMES, V)
    }
}

/// Struct name under which [`ServiceList`] asks to be deserialized (see its impl).
pub(crate) const SERVICE_LIST_MARKER: &str = "__bwlab_service_list";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &k in ServiceKind::ALL {
            assert_eq!(ServiceKind::from_name(k.yaml_name()), Some(k));
            assert_eq!(ServiceKind::from_name(k.display_name()), Some(k));
            assert_eq!(k.default_settings().kind(), k);
        }
        assert_eq!(
            ServiceKind::from_name("DONOTDISTURB"),
            Some(ServiceKind::DoNotDisturb)
        );
        assert_eq!(ServiceKind::from_name("nope"), None);
    }

    #[test]
    fn services_sorted_put_remove() {
        let mut s = Services::new();
        assert!(s.put(CallWaiting::default().into()).is_none());
        assert!(s.put(DoNotDisturb::default().into()).is_none());
        let dnd = DoNotDisturb {
            active: true,
            ring_splash: true,
        };
        assert!(s.put(dnd.clone().into()).is_some());
        assert_eq!(s.typed::<DoNotDisturb>(), Some(&dnd));
        assert_eq!(
            s.kinds().collect::<Vec<_>>(),
            vec![ServiceKind::DoNotDisturb, ServiceKind::CallWaiting]
        );
        assert!(s.remove(ServiceKind::DoNotDisturb).is_some());
        assert!(!s.has(ServiceKind::DoNotDisturb));
    }

    #[test]
    fn settings_rules() {
        let cfna = CallForwardingNoAnswer {
            active: true,
            forward_to_phone_number: None,
            number_of_rings: 1,
        };
        let p = ServiceSettings::from(cfna).problems();
        let text: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "forwardToPhoneNumber: required when active is true",
                "numberOfRings: 1 is out of range (0 or 2-20)"
            ]
        );
        let cfa = CallForwardingAlways {
            active: true,
            forward_to_phone_number: Some("+15550100".into()),
            ring_splash: false,
        };
        assert!(ServiceSettings::from(cfa).problems().is_empty());
        assert!(check_destination("sip:bob@lab.example").is_ok());
        assert!(check_destination("1234").is_ok());
        assert!(check_destination("*72").is_ok());
        assert!(check_destination("hello").is_err());
    }
}
