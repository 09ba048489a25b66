//! Typed values that profiles carry: platform, release and build numbers, Xsi versions, patch
//! and application identifiers, and the closed sets of Xsi commands, event packages and
//! channel-termination reasons.

use std::fmt;
use std::str::FromStr;

use crate::feature::Feature;
use crate::names::named_enum;

/// Serializes as `Display`, deserializes through `FromStr`.
macro_rules! serde_as_str {
    ($ty:ty, $what:literal) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::names::deserialize_from_str(d, $what)
            }
        }
    };
}

/// A value that did not parse, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{input}`: expected {expected}")]
pub struct InvalidValue {
    /// What was being parsed.
    pub what: &'static str,
    /// The text as written.
    pub input: String,
    /// The accepted forms.
    pub expected: &'static str,
}

fn invalid(what: &'static str, input: &str, expected: &'static str) -> InvalidValue {
    InvalidValue {
        what,
        input: input.to_owned(),
        expected,
    }
}

/// Parses a run of ASCII digits (no sign, no whitespace, at most `max_digits`).
fn digits<T: FromStr>(s: &str, max_digits: usize) -> Option<T> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

named_enum! {
    /// Which server software hosts the Xsi, AuthService, DMS and CTI webapps.
    pub enum Platform: "platform" {
        /// Xtended Services Platform: release-bound software, fixed with `xsp:` patches.
        Xsp = "xsp",
        /// Application Delivery Platform: webapps are release-independent `.bwar` apps.
        Adp = "adp",
    }
}

impl Platform {
    /// The name as the guides print it.
    pub const fn title(self) -> &'static str {
        match self {
            Platform::Xsp => "XSP",
            Platform::Adp => "ADP",
        }
    }
}

named_enum! {
    /// The BroadWorks server a patch applies to (the `<server>` of `AP.<server>.<build>.ap<N>`).
    pub enum Server: "patch server" {
        /// Application Server.
        As = "as",
        /// Xtended Services Platform.
        Xsp = "xsp",
        /// Platform software, common to every server.
        Platform = "platform",
        /// Profile Server.
        Ps = "ps",
        /// Network Server.
        Ns = "ns",
        /// Network Function Manager.
        Nfm = "nfm",
        /// Messaging server.
        Ums = "ums",
        /// Xtended Services Administrator.
        Xsa = "xsa",
        /// Execution Server.
        Xs = "xs",
    }
}

/// The part of a BroadWorks version after the dot: `22.0` or `21.sp1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MinorVersion {
    /// `.0`, `.1`, …
    Point(u16),
    /// `.sp1`, `.sp2`, …
    Sp(u16),
}

/// Parses `<major>.<minor>` or `<major>.sp<n>`.
fn parse_version(s: &str) -> Option<(u16, MinorVersion)> {
    let (major, minor) = s.split_once('.')?;
    let minor = match minor.strip_prefix("sp") {
        Some(n) => MinorVersion::Sp(digits(n, 4)?),
        None => MinorVersion::Point(digits(minor, 4)?),
    };
    Some((digits(major, 4)?, minor))
}

/// Orders as BroadWorks does: `21.0 < 21.sp1 < 22.0`.
fn version_key(major: u16, minor: MinorVersion) -> (u16, u16, u16) {
    match minor {
        MinorVersion::Point(n) => (major, n, 0),
        MinorVersion::Sp(n) => (major, 0, n),
    }
}

fn format_version(major: u16, minor: MinorVersion) -> String {
    match minor {
        MinorVersion::Point(n) => format!("{major}.{n}"),
        MinorVersion::Sp(n) => format!("{major}.sp{n}"),
    }
}

/// Defines a `<major>.<minor>` version type with BroadWorks ordering, parsing and display.
macro_rules! version_type {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name {
            /// 21 in `21.sp1`.
            pub major: u16,
            /// The part after the dot.
            pub minor: MinorVersion,
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                version_key(self.major, self.minor).cmp(&version_key(other.major, other.minor))
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let (major, minor) = parse_version(s).ok_or_else(|| {
                    invalid($what, s, "`<major>.<minor>` or `<major>.sp<n>`, e.g. `22.0`, `21.sp1`")
                })?;
                Ok($name { major, minor })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&format_version(self.major, self.minor))
            }
        }
        serde_as_str!($name, $what);
    };
}

version_type!(
    /// A BroadWorks release, e.g. `22.0` or `21.sp1`.
    Release,
    "release"
);

version_type!(
    /// An Xsi protocol version as used by `X-BroadWorks-Protocol-Version` and `/versions`,
    /// e.g. `22.0` or `21.sp1`.
    XsiVersion,
    "Xsi version"
);

/// A BroadWorks build, e.g. `22.0.1123` or `21.sp1.551`; patch IDs embed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Build {
    /// The release part (`22.0`).
    pub release: Release,
    /// The build number (`1123`).
    pub number: u32,
}

impl Build {
    /// The version string BroadWorks uses for webapps of this build, e.g. `22.0_1.1123` in
    /// `activate application AuthenticationService 22.0_1.1123 /authService`.
    pub fn app_version(&self) -> String {
        format!("{}_1.{}", self.release, self.number)
    }
}

impl FromStr for Build {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || invalid("build", s, "`<release>.<build>`, e.g. `22.0.1123`");
        let (release, number) = s.rsplit_once('.').ok_or_else(bad)?;
        Ok(Build {
            release: release.parse().map_err(|_| bad())?,
            number: digits(number, 9).ok_or_else(bad)?,
        })
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("{}.{}", self.release, self.number))
    }
}
serde_as_str!(Build, "build");

/// A BroadWorks patch: `AP.as.22.0.1123.ap376508`, written `as:ap376508` in profile files
/// (the build then comes from the profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Patch {
    /// The server it applies to.
    pub server: Server,
    /// The `ap` number.
    pub number: u32,
    /// The build; `None` in the short form until the profile fills it in.
    pub build: Option<Build>,
}

impl Patch {
    /// The short form `as:ap376508`, without the build.
    pub fn short(&self) -> String {
        format!("{}:ap{:06}", self.server, self.number)
    }

    /// The same patch for `build` unless it names a build already.
    pub fn or_build(self, build: Build) -> Patch {
        Patch {
            build: self.build.or(Some(build)),
            ..self
        }
    }
}

const PATCH_FORMS: &str =
    "`<server>:ap<number>` (e.g. `as:ap376508`) or `AP.<server>.<build>.ap<number>`";

impl FromStr for Patch {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || invalid("patch", s, PATCH_FORMS);
        let number = |n: &str| {
            n.strip_prefix("ap")
                .and_then(|n| digits::<u32>(n, 9))
                .ok_or_else(bad)
        };
        if let Some(rest) = s.strip_prefix("AP.") {
            let (server, rest) = rest.split_once('.').ok_or_else(bad)?;
            let (build, n) = rest.rsplit_once('.').ok_or_else(bad)?;
            Ok(Patch {
                server: server.parse().map_err(|_| bad())?,
                number: number(n)?,
                build: Some(build.parse().map_err(|_| bad())?),
            })
        } else {
            let (server, n) = s.split_once(':').ok_or_else(bad)?;
            Ok(Patch {
                server: server.parse().map_err(|_| bad())?,
                number: number(n)?,
                build: None,
            })
        }
    }
}

impl fmt::Display for Patch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.build {
            Some(build) => f.pad(&format!("AP.{}.{build}.ap{:06}", self.server, self.number)),
            None => f.pad(&self.short()),
        }
    }
}
serde_as_str!(Patch, "patch");

/// A release-independent ADP application, e.g. `Xsi-Events-24_2021.05_1.251.bwar`. Without
/// the `_1.<build>` part it stands for "this month's drop or later".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RiApp {
    /// Application name, e.g. `Xsi-Events`.
    pub app: String,
    /// The release line it belongs to (`24`).
    pub release: u16,
    /// Year of the drop.
    pub year: u16,
    /// Month of the drop.
    pub month: u8,
    /// Build suffix (`1.251` → `(1, 251)`), if pinned.
    pub build: Option<(u32, u32)>,
}

const RI_FORMS: &str =
    "`<App>-<release>_<YYYY.MM>[_<n>.<build>][.bwar]`, e.g. `Xsi-Events-24_2021.05_1.251.bwar`";

impl FromStr for RiApp {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || invalid("release-independent app", s, RI_FORMS);
        let body = s.strip_suffix(".bwar").unwrap_or(s);
        let mut parts = body.split('_');
        let (app, release) = parts
            .next()
            .and_then(|p| p.rsplit_once('-'))
            .ok_or_else(bad)?;
        if app.is_empty() || !app.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad());
        }
        let (year, month) = parts
            .next()
            .and_then(|p| p.split_once('.'))
            .ok_or_else(bad)?;
        let month: u8 = digits(month, 2)
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(bad)?;
        let build = match parts.next() {
            None => None,
            Some(b) => {
                let (a, b) = b.split_once('.').ok_or_else(bad)?;
                Some((digits(a, 9).ok_or_else(bad)?, digits(b, 9).ok_or_else(bad)?))
            }
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(RiApp {
            app: app.to_owned(),
            release: digits(release, 4).ok_or_else(bad)?,
            year: digits(year, 4).filter(|y| *y >= 1000).ok_or_else(bad)?,
            month,
            build,
        })
    }
}

impl fmt::Display for RiApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = format!(
            "{}-{}_{}.{:02}",
            self.app, self.release, self.year, self.month
        );
        if let Some((a, b)) = self.build {
            text.push_str(&format!("_{a}.{b}.bwar"));
        }
        f.pad(&text)
    }
}
serde_as_str!(RiApp, "release-independent app");

/// What must be in place for a feature on a given release: a patch, an ADP app, an AS
/// activatable feature, or a setting. Recorded for documentation and for the patch inventory a
/// profile reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Gate {
    /// `as:ap376508` or `AP.as.22.0.1123.ap376508`.
    Patch(Patch),
    /// `ri:Xsi-Events-24_2021.05_1.251.bwar`.
    RiApp(RiApp),
    /// `feature:25433` — an `AS_CLI/System/ActivatableFeature` ID.
    ActivatableFeature(u32),
    /// `setting:<text>` — a CLI setting or container option that must be set.
    Setting(String),
}

const GATE_FORMS: &str = "a patch (`as:ap376508`, `AP.as.22.0.1123.ap376508`), `ri:<App>-<release>_<YYYY.MM>[_<n>.<build>].bwar`, `feature:<id>` or `setting:<text>`";

impl FromStr for Gate {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || invalid("gate", s, GATE_FORMS);
        if let Some(app) = s.strip_prefix("ri:") {
            app.parse().map(Gate::RiApp)
        } else if let Some(id) = s.strip_prefix("feature:") {
            digits(id, 9).map(Gate::ActivatableFeature).ok_or_else(bad)
        } else if let Some(text) = s.strip_prefix("setting:") {
            let text = text.trim();
            if text.is_empty() {
                Err(bad())
            } else {
                Ok(Gate::Setting(text.to_owned()))
            }
        } else {
            s.parse().map(Gate::Patch).map_err(|_| bad())
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gate::Patch(p) => p.fmt(f),
            Gate::RiApp(app) => f.pad(&format!("ri:{app}")),
            Gate::ActivatableFeature(id) => f.pad(&format!("feature:{id:05}")),
            Gate::Setting(text) => f.pad(&format!("setting:{text}")),
        }
    }
}
serde_as_str!(Gate, "gate");

named_enum! {
    /// Xsi-Actions resources added after R21 (xsi-actions spec §6). Resources every supported
    /// release has are not listed; a profile lists which of these it serves.
    pub enum XsiCommand: "Xsi-Actions command" {
        /// `calls/conference/mute` (22.0).
        ConferenceMute = "conference_mute",
        /// `services/CallForwardingAlwaysSecondary` (22.0).
        CallForwardingAlwaysSecondary = "call_forwarding_always_secondary",
        /// `services/SilentAlerting` (22.0).
        SilentAlerting = "silent_alerting",
        /// `profile/PushNotificationRegistrations` and `…/new` (22.0).
        PushNotificationRegistrations = "push_notification_registrations",
        /// `profile/device/{linePort}` (22.0).
        DeviceLinePort = "device_line_port",
        /// `fax` and `fax/{faxid}` (23.0).
        Fax = "fax",
        /// `services/GETSCallingLineIDDeliveryBlocking` (23.0).
        GetsCallingLineIdDeliveryBlocking = "gets_calling_line_id_delivery_blocking",
        /// `services/PushNotification` (23.0).
        PushNotification = "push_notification",
        /// `calls/{cid}/PlayMusicOnHold` (2020.07).
        PlayMusicOnHold = "play_music_on_hold",
        /// `routepoint/{id}/calls/{cid}/ConnectToVoiceXML` (2020.07).
        RoutePointConnectToVoiceXml = "route_point_connect_to_voice_xml",
        /// `routepoint/{id}/calls/{cid}/admit` (2020.07).
        RoutePointAdmit = "route_point_admit",
        /// `routepoint/{id}/calls/{cid}/reject` (2020.07).
        RoutePointReject = "route_point_reject",
        /// `calls/coachagent` (2020.07).
        CoachAgent = "coach_agent",
        /// `calls/conference/silentmonitor` (2020.07).
        ConferenceSilentMonitor = "conference_silent_monitor",
        /// `calls/conference/supervisorcoach` (2020.07).
        ConferenceSupervisorCoach = "conference_supervisor_coach",
        /// `calls/conference/bargein` (2020.07).
        ConferenceBargeIn = "conference_barge_in",
        /// `services/CallNotify/Criteria[/{name}]` (2020.07).
        CallNotifyCriteria = "call_notify_criteria",
        /// `profile/schedule/{time|holiday}/{name}/event[/{eventName}]` (2020.07).
        ScheduleEvents = "schedule_events",
    }
}

impl XsiCommand {
    /// The resource path below `/v2.0/user/{userid}/` as the Xsi spec prints it.
    pub const fn path(self) -> &'static str {
        use XsiCommand::*;
        match self {
            ConferenceMute => "calls/conference/mute",
            CallForwardingAlwaysSecondary => "services/CallForwardingAlwaysSecondary",
            SilentAlerting => "services/SilentAlerting",
            PushNotificationRegistrations => "profile/PushNotificationRegistrations",
            DeviceLinePort => "profile/device/{linePort}",
            Fax => "fax",
            GetsCallingLineIdDeliveryBlocking => "services/GETSCallingLineIDDeliveryBlocking",
            PushNotification => "services/PushNotification",
            PlayMusicOnHold => "calls/{cid}/PlayMusicOnHold",
            RoutePointConnectToVoiceXml => "routepoint/{id}/calls/{cid}/ConnectToVoiceXML",
            RoutePointAdmit => "routepoint/{id}/calls/{cid}/admit",
            RoutePointReject => "routepoint/{id}/calls/{cid}/reject",
            CoachAgent => "calls/coachagent",
            ConferenceSilentMonitor => "calls/conference/silentmonitor",
            ConferenceSupervisorCoach => "calls/conference/supervisorcoach",
            ConferenceBargeIn => "calls/conference/bargein",
            CallNotifyCriteria => "services/CallNotify/Criteria",
            ScheduleEvents => "profile/schedule/{type}/{name}/event",
        }
    }

    /// The Xsi release that added the resource.
    pub const fn since(self) -> &'static str {
        use XsiCommand::*;
        match self {
            ConferenceMute
            | CallForwardingAlwaysSecondary
            | SilentAlerting
            | PushNotificationRegistrations
            | DeviceLinePort => "22.0",
            Fax | GetsCallingLineIdDeliveryBlocking | PushNotification => "23.0",
            _ => "2020.07",
        }
    }

    /// The feature that can switch this resource off as a group with related changes.
    pub const fn gate(self) -> Option<Feature> {
        use XsiCommand::*;
        match self {
            CallForwardingAlwaysSecondary => Some(Feature::XsiCallForwardingAlwaysSecondary),
            SilentAlerting => Some(Feature::XsiSilentAlerting),
            PushNotificationRegistrations => Some(Feature::XsiPushNotificationRegistrations),
            DeviceLinePort => Some(Feature::XsiDeviceAllowTermination),
            Fax => Some(Feature::XsiFax),
            PushNotification => Some(Feature::XsiPushNotificationService),
            PlayMusicOnHold => Some(Feature::XsiPlayMusicOnHold),
            _ => None,
        }
    }
}

named_enum! {
    /// Xsi-Events event packages, spelled exactly as the schema enumerates them (the value of
    /// `event` / `eventPackageList/event`).
    pub enum EventPackage: "event package" {
        /// §4.4.1.
        BasicCall = "Basic Call",
        /// §4.4.2.
        StandardCall = "Standard Call",
        /// §4.4.3.
        AdvancedCall = "Advanced Call",
        /// §4.4.4, AS only.
        CallCenterQueue = "Call Center Queue",
        /// §4.4.5, AS only.
        RoutePointQueue = "Route Point Queue",
        /// §4.4.6.
        VoiceMailMessageSummary = "Voice Mail Message Summary",
        /// §4.4.7.
        ThreeWayCall = "Three-Way Call",
        /// §4.4.8.
        BroadWorksAnywhere = "BroadWorks Anywhere",
        /// §4.4.9, AS only.
        CallCenterAgent = "Call Center Agent",
        /// §4.4.10, AS only.
        CallCenterAgentMonitoring = "Call Center Agent Monitoring",
        /// §4.4.11, AS only.
        CallCenterConfiguration = "Call Center Configuration",
        /// §4.4.12, AS only.
        CallCenterMonitoring = "Call Center Monitoring",
        /// §4.4.13.
        CallForwardingAlways = "Call Forwarding Always",
        /// §4.4.14 (22.0).
        CallForwardingAlwaysSecondary = "Call Forwarding Always Secondary",
        /// §4.4.15.
        CallForwardingBusy = "Call Forwarding Busy",
        /// §4.4.16.
        CallForwardingNoAnswer = "Call Forwarding No Answer",
        /// §4.4.17.
        CallPark = "Call Park",
        /// §4.4.18.
        CallTransfer = "Call Transfer",
        /// §4.4.19.
        CallWaiting = "Call Waiting",
        /// §4.4.20.
        DoNotDisturb = "Do Not Disturb",
        /// §4.4.21.
        HotelingGuest = "Hoteling Guest",
        /// §4.4.22.
        LastNumberRedial = "Last Number Redial",
        /// §4.4.23, AS only.
        MeetMeConference = "Meet Me Conference",
        /// §4.4.24.
        MusicOnHold = "Music On Hold",
        /// §4.4.25.
        NWayCall = "N-Way Call",
        /// §4.4.26, AS only.
        RemoteOffice = "Remote Office",
        /// §4.4.27.
        SequentialRing = "Sequential Ring",
        /// §4.4.28.
        SimultaneousRingPersonal = "Simultaneous Ring Personal",
        /// §4.4.29.
        ThirdPartyVoiceMailSupport = "Third-Party Voice Mail Support",
        /// §4.4.30.
        VoiceMessaging = "Voice Messaging",
        /// §4.4.31, AS only.
        SecurityClassification = "Security Classification",
        /// §4.4.32, AS only.
        FlexibleSeatingGuest = "Flexible Seating Guest",
        /// §4.4.33, AS only.
        PersonalAssistant = "Personal Assistant",
        /// §4.4.34, AS only.
        CollaborateRoom = "Collaborate Room",
        /// §4.4.35, AS only (22.0).
        SilentAlerting = "Silent Alerting",
        /// §4.4.36, AS only (22.0).
        PushNotificationRegistration = "Push Notification Registration",
        /// In the schema only.
        CommPilotExpress = "CommPilot Express",
        /// Deprecated in 20.0: rejected for protocol version 20.0 or later.
        CallRecording = "Call Recording",
    }
}

impl EventPackage {
    /// Whether the package is marked "AS Only" (an error for users hosted on an Execution
    /// Server).
    pub const fn as_only(self) -> bool {
        use EventPackage::*;
        matches!(
            self,
            CallCenterQueue
                | RoutePointQueue
                | CallCenterAgent
                | CallCenterAgentMonitoring
                | CallCenterConfiguration
                | CallCenterMonitoring
                | MeetMeConference
                | RemoteOffice
                | SecurityClassification
                | FlexibleSeatingGuest
                | PersonalAssistant
                | CollaborateRoom
                | SilentAlerting
                | PushNotificationRegistration
        )
    }

    /// The feature that can switch this package off as a group with related changes.
    pub const fn gate(self) -> Option<Feature> {
        match self {
            EventPackage::CallForwardingAlwaysSecondary => {
                Some(Feature::XsiCallForwardingAlwaysSecondary)
            }
            EventPackage::SilentAlerting => Some(Feature::XsiSilentAlerting),
            EventPackage::PushNotificationRegistration => {
                Some(Feature::XsiPushNotificationRegistrations)
            }
            _ => None,
        }
    }
}

named_enum! {
    /// `reason` values of an Xsi-Events `ChannelTerminatedEvent`.
    pub enum ChannelTerminatedReason: "channel termination reason" {
        /// Same user and applicationId opened a channel in another channel set.
        DuplicateChannelSet = "DuplicateChannelSet",
        /// The channel owner was deleted.
        UserDeleted = "UserDeleted",
        /// Every channel of the set stopped answering events.
        NonResponsiveChannel = "NonResponsiveChannel",
        /// Deleted by the client or an administrator.
        ExplicitDelete = "ExplicitDelete",
        /// The channel's lifetime elapsed.
        Expired = "Expired",
        /// The client answered an event with 404.
        UnknownChannel = "UnknownChannel",
        /// Removed in 22.0; kept for profiles of older releases.
        MaxChannelsReached = "maxChannelsReached",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_like_broadworks() {
        let v = |s: &str| s.parse::<XsiVersion>().unwrap();
        assert!(v("21.0") < v("21.sp1"));
        assert!(v("21.sp1") < v("22.0"));
        assert!(v("20.sp1") < v("21.0"));
        assert_eq!(v("21.sp1").to_string(), "21.sp1");
        assert!("22".parse::<XsiVersion>().is_err());
        assert!("22.x".parse::<XsiVersion>().is_err());
        assert!("+22.0".parse::<XsiVersion>().is_err());
    }

    #[test]
    fn builds_and_releases() {
        let b: Build = "22.0.1123".parse().unwrap();
        assert_eq!(
            b.release,
            Release {
                major: 22,
                minor: MinorVersion::Point(0)
            }
        );
        let sp: Build = "21.sp1.551".parse().unwrap();
        assert_eq!(sp.release.to_string(), "21.sp1");
        assert_eq!(sp.to_string(), "21.sp1.551");
        let patch: Patch = "AP.as.21.sp1.551.ap375094".parse().unwrap();
        assert_eq!(patch.build, Some(sp));
        assert_eq!(b.number, 1123);
        assert_eq!(b.to_string(), "22.0.1123");
        assert_eq!(b.app_version(), "22.0_1.1123");
        assert!("22.0".parse::<Build>().is_err());
        assert!("22.0.".parse::<Build>().is_err());
        assert!("v22.0".parse::<Release>().is_err());
    }

    #[test]
    fn patches_in_both_forms() {
        let short: Patch = "as:ap376508".parse().unwrap();
        assert_eq!(short.server, Server::As);
        assert_eq!(short.number, 376508);
        assert_eq!(short.to_string(), "as:ap376508");
        let build: Build = "22.0.1123".parse().unwrap();
        assert_eq!(
            short.or_build(build).to_string(),
            "AP.as.22.0.1123.ap376508"
        );
        let long: Patch = "AP.xsa.22.0.1123.ap372757".parse().unwrap();
        assert_eq!(long.server, Server::Xsa);
        assert_eq!(long.to_string(), "AP.xsa.22.0.1123.ap372757");
        for bad in [
            "as:376508",
            "foo:ap1",
            "AP.as.22.0.ap1",
            "as:ap",
            "as:ap12x",
            "AP.as.22.0.1123.376508",
        ] {
            assert!(bad.parse::<Patch>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ri_apps() {
        let app: RiApp = "Xsi-Events-24_2021.05_1.251.bwar".parse().unwrap();
        assert_eq!(app.app, "Xsi-Events");
        assert_eq!(app.release, 24);
        assert_eq!((app.year, app.month), (2021, 5));
        assert_eq!(app.build, Some((1, 251)));
        assert_eq!(app.to_string(), "Xsi-Events-24_2021.05_1.251.bwar");
        let open: RiApp = "Xsi-Actions-23_2022.10".parse().unwrap();
        assert_eq!(open.build, None);
        assert_eq!(open.to_string(), "Xsi-Actions-23_2022.10");
        for bad in [
            "Xsi-Events",
            "Xsi-Events-24_2021.13",
            "-24_2021.05",
            "Xsi-Events-24_2021.05_1",
            "X-24_2021.05_1.2_3",
        ] {
            assert!(bad.parse::<RiApp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn gates() {
        for text in [
            "as:ap376508",
            "AP.as.22.0.1123.ap378585",
            "ri:Xsi-Events-24_2021.05_1.251.bwar",
            "feature:25433",
            "feature:02283",
            "setting:bw.imp.useProvisioningUrl true",
        ] {
            let gate: Gate = text.parse().unwrap();
            assert_eq!(gate.to_string(), text);
        }
        assert!("setting:".parse::<Gate>().is_err());
        assert!("feature:abc".parse::<Gate>().is_err());
        assert!("ri:nonsense".parse::<Gate>().is_err());
    }

    #[test]
    fn closed_sets_round_trip() {
        for p in EventPackage::ALL {
            assert_eq!(p.as_str().parse::<EventPackage>().unwrap(), *p);
        }
        for c in XsiCommand::ALL {
            assert_eq!(c.as_str().parse::<XsiCommand>().unwrap(), *c);
            assert!(!c.path().is_empty());
        }
        let err = "silent_alertng".parse::<XsiCommand>().unwrap_err();
        assert_eq!(err.suggestion, Some("silent_alerting"));
        let err = "xsq".parse::<Platform>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown platform `xsq`, did you mean `xsp`? Expected `xsp` or `adp`"
        );
    }
}
