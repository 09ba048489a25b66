//! The closed list of release-dependent behaviours ([`Feature`]) and a cheap set of them
//! ([`FeatureSet`]).

use std::fmt;

use crate::names::named_enum;

/// Groups features for listings and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// AuthService token issuing and validation.
    AuthService,
    /// DMS and Webex device onboarding.
    Devices,
    /// Flow-through provisioning and directory synchronisation.
    Provisioning,
    /// Events Webex receives over the CTI interface.
    Cti,
    /// Calling features Webex clients drive through the AS and Xsi.
    Calling,
    /// Push notifications (NPS, APNs, FCM).
    Push,
    /// Changes of the Xsi-Actions / Xsi-Events interface itself.
    Xsi,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: &'static [Category] = &[
        Category::AuthService,
        Category::Devices,
        Category::Provisioning,
        Category::Cti,
        Category::Calling,
        Category::Push,
        Category::Xsi,
    ];

    /// A short heading.
    pub const fn title(self) -> &'static str {
        match self {
            Category::AuthService => "AuthService",
            Category::Devices => "DMS and devices",
            Category::Provisioning => "Provisioning",
            Category::Cti => "CTI events",
            Category::Calling => "Calling",
            Category::Push => "Push notifications",
            Category::Xsi => "Xsi interface",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.title())
    }
}

macro_rules! features {
    ($( $variant:ident = $name:literal, $category:ident, $desc:literal; )+) => {
        named_enum! {
            /// A release-dependent behaviour. Code asks [`Profile::supports`](crate::Profile::supports)
            /// for one of these instead of comparing release numbers.
            ///
            /// The snake_case name is what profile files, the CLI and JSON use.
            pub enum Feature: "feature" {
                $( #[doc = $desc] $variant = $name ),+
            }
        }

        impl Feature {
            /// One line saying what the feature changes.
            pub const fn description(self) -> &'static str {
                match self {
                    $(Feature::$variant => $desc),+
                }
            }

            /// Where the feature belongs in listings.
            pub const fn category(self) -> Category {
                match self {
                    $(Feature::$variant => Category::$category),+
                }
            }
        }
    };
}

features! {
    CiTokenValidation = "ci_token_validation", AuthService,
        "AuthService issues BroadWorks tokens after validating the user's Webex CI token (TLS, no client certificate).";
    AuthserviceWebappClientAuth = "authservice_webapp_client_auth", AuthService,
        "Client-certificate demand can be set per webapp, e.g. `AuthenticationService clientAuthReq false` for CI validation.";
    DmsIdpFederationPartners = "dms_idp_federation_partners", Devices,
        "DMS reads identity-provider federation partners (`partnerName`) instead of the legacy Federation token setting.";
    DeviceOnboarding = "device_onboarding", Devices,
        "RoomOS and MPP devices can be onboarded to Webex through DMS and the device activation service.";
    FlowthroughIsenterprise = "flowthrough_isenterprise", Provisioning,
        "Flow-through provisioning sends IsEnterprise to Webex (`bw.msg.includeIsEnterpriseInOSSschema`).";
    ProvisioningUrl = "provisioning_url", Provisioning,
        "Flow-through provisioning posts to the configured provisioning URL (`bw.imp.useProvisioningUrl`).";
    DirectorySync = "directory_sync", Provisioning,
        "Webex can synchronise the BroadWorks enterprise directory.";
    CtiHookStatus = "cti_hook_status", Cti,
        "CTI subscriptions deliver hook-status (telephony presence) events.";
    UnifiedCallHistory = "unified_call_history", Cti,
        "CTI subscriptions deliver call-history events (unified call history, feature 25433).";
    UchHgCcRedirection = "uch_hg_cc_redirection", Cti,
        "Call-history events carry hunt group and call centre redirection details.";
    UchExecAssistant = "uch_exec_assistant", Cti,
        "Call-history events carry executive-assistant details.";
    CallerIdDisposition = "caller_id_disposition", Cti,
        "Call-history events over CTI carry `callerIdDisposition` (the spam verdict).";
    DndSync = "dnd_sync", Cti,
        "Do Not Disturb is synchronised between Webex and BroadWorks; CTI subscriptions include the DND package.";
    SpamIndication = "spam_indication", Calling,
        "The AS sends `X-Cisco-CallerId-Disposition` to Webex clients (feature 104112, STIR/SHAKEN verdict).";
    ExtensionDialing = "extension_dialing", Calling,
        "User extension and location dialing code are exposed to Webex, so users can dial by extension.";
    SharedLinesOwnerFlag = "shared_lines_owner_flag", Calling,
        "Device lists mark which shared-line appearance the user owns.";
    BlfCallPickup = "blf_call_pickup", Calling,
        "Busy lamp field and directed call pickup through enhanced Xsi team-telephony events (feature 101642).";
    CallRecording = "call_recording", Calling,
        "Webex clients control call recording through BroadWorks.";
    EscalateToMeeting = "escalate_to_meeting", Calling,
        "A native call can be escalated to a Webex meeting (feature 25239).";
    PushV2 = "push_v2", Push,
        "Push notifications use the V2 model (NPS) rather than V1.";
    NpsAuthProxy = "nps_auth_proxy", Push,
        "NPS fetches short-lived push tokens from the Webex NPS proxy instead of holding push keys.";
    FcmV1 = "fcm_v1", Push,
        "NPS sends to FCM with the HTTP v1 API (`FCM V1Enabled`).";
    ApnsHttp2 = "apns_http2", Push,
        "NPS sends to APNs over HTTP/2 (`APNS HTTP2Enabled`).";
    XsiPushNotificationRegistrations = "xsi_push_notification_registrations", Xsi,
        "Xsi `profile/PushNotificationRegistrations` and the Push Notification Registration event package.";
    XsiCallForwardingAlwaysSecondary = "xsi_call_forwarding_always_secondary", Xsi,
        "Xsi `services/CallForwardingAlwaysSecondary` and its event package.";
    XsiSilentAlerting = "xsi_silent_alerting", Xsi,
        "Xsi `services/SilentAlerting` and its event package.";
    XsiDeviceAllowTermination = "xsi_device_allow_termination", Xsi,
        "Xsi `profile/device/{linePort}` with per-endpoint `allowTermination`.";
    XsiProfileTimeZone = "xsi_profile_time_zone", Xsi,
        "The Xsi `Profile` document carries `timeZone` and `timeZoneDisplayName`.";
    XsiFax = "xsi_fax", Xsi,
        "Xsi-Actions `fax` and `fax/{faxid}`.";
    XsiPushNotificationService = "xsi_push_notification_service", Xsi,
        "Xsi `services/PushNotification` with `sendPushNotificationForClickToDial`.";
    XsiSystemChannels = "xsi_system_channels", Xsi,
        "Xsi-Events `systemChannel`, `systemChannelSet` and `systemSubscription` for client apps (AS only).";
    XsiEventPackageList = "xsi_event_package_list", Xsi,
        "An Xsi-Events subscription may name several packages in `eventPackageList`.";
    XsiSubscriptionClientId = "xsi_subscription_client_id", Xsi,
        "Xsi-Events subscriptions and event envelopes may be owned by a `clientId` instead of a user.";
    XsiLocationDialingCode = "xsi_location_dialing_code", Xsi,
        "Xsi directory details and Enterprise search carry `locationDialingCode`.";
    XsiPushEventDetail = "xsi_push_event_detail", Xsi,
        "Xsi push registrations carry `eventDetail`/`parameters` and a token `type`.";
    XsiPushGroupPaging = "xsi_push_group_paging", Xsi,
        "Xsi `services/PushNotification` has `sendPushNotificationForGroupPaging`.";
    XsiPlayMusicOnHold = "xsi_play_music_on_hold", Xsi,
        "Xsi `calls/{cid}/PlayMusicOnHold` and the `PlayMusicOnHoldFailureEvent`.";
}

impl Feature {
    /// Features that must also be on for this one to take effect. A profile that enables a
    /// feature without its prerequisites gets it switched off (see
    /// [`Profile::suppressed`](crate::Profile::suppressed)).
    pub const fn requires(self) -> &'static [Feature] {
        use Feature::*;
        match self {
            UchHgCcRedirection => &[UnifiedCallHistory],
            UchExecAssistant => &[UnifiedCallHistory, DirectorySync],
            // The release matrix says spam indication needs unified call history.
            SpamIndication => &[UnifiedCallHistory],
            CallerIdDisposition => &[UnifiedCallHistory, SpamIndication],
            XsiPushEventDetail => &[XsiPushNotificationRegistrations],
            XsiPushGroupPaging => &[XsiPushNotificationService],
            _ => &[],
        }
    }

    /// Position of the feature in [`Feature::ALL`] (and its bit in a [`FeatureSet`]).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

const _: () = assert!(Feature::ALL.len() <= 64, "FeatureSet is a u64");

/// A set of [`Feature`]s as a 64-bit mask: membership is one AND.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FeatureSet(u64);

impl FeatureSet {
    /// No features.
    pub const EMPTY: FeatureSet = FeatureSet(0);

    /// Every feature.
    pub fn all() -> FeatureSet {
        Feature::ALL.iter().copied().collect()
    }

    /// Whether `feature` is in the set.
    #[inline]
    pub const fn contains(self, feature: Feature) -> bool {
        self.0 & (1 << feature.index()) != 0
    }

    /// Adds `feature`; returns whether it was new.
    pub fn insert(&mut self, feature: Feature) -> bool {
        let new = !self.contains(feature);
        self.0 |= 1 << feature.index();
        new
    }

    /// Removes `feature`; returns whether it was present.
    pub fn remove(&mut self, feature: Feature) -> bool {
        let had = self.contains(feature);
        self.0 &= !(1 << feature.index());
        had
    }

    /// Number of features in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Features in `self` but not in `other`.
    pub const fn difference(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 & !other.0)
    }

    /// Features in both sets.
    pub const fn intersection(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 & other.0)
    }

    /// Features in either set.
    pub const fn union(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 | other.0)
    }

    /// The features in [`Feature::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Feature> {
        Feature::ALL
            .iter()
            .copied()
            .filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Feature> for FeatureSet {
    fn from_iter<I: IntoIterator<Item = Feature>>(iter: I) -> Self {
        let mut set = FeatureSet::EMPTY;
        for f in iter {
            set.insert(f);
        }
        set
    }
}

impl fmt::Debug for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Feature::as_str))
            .finish()
    }
}

impl serde::Serialize for FeatureSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Feature::ALL {
            assert_eq!(f.as_str().parse::<Feature>().unwrap(), *f);
            assert_eq!(f.to_string(), f.as_str());
            assert!(!f.description().is_empty());
            let name = f.as_str();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name} is not snake_case"
            );
        }
    }

    #[test]
    fn indices_match_all() {
        for (i, f) in Feature::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
        }
    }

    #[test]
    fn unknown_feature_has_hint() {
        let err = "ci_token_validaton".parse::<Feature>().unwrap_err();
        assert_eq!(err.suggestion, Some("ci_token_validation"));
        assert_eq!(
            err.to_string(),
            "unknown feature `ci_token_validaton`, did you mean `ci_token_validation`?"
        );
    }

    #[test]
    fn prerequisites_do_not_form_cycles() {
        fn reaches(from: Feature, target: Feature, depth: usize) -> bool {
            depth < 64
                && from
                    .requires()
                    .iter()
                    .any(|r| *r == target || reaches(*r, target, depth + 1))
        }
        for f in Feature::ALL {
            assert!(!reaches(*f, *f, 0), "{f} requires itself");
        }
    }

    #[test]
    fn set_operations() {
        let mut s = FeatureSet::EMPTY;
        assert!(s.is_empty());
        assert!(s.insert(Feature::DndSync));
        assert!(!s.insert(Feature::DndSync));
        assert!(s.contains(Feature::DndSync));
        assert!(!s.contains(Feature::PushV2));
        assert_eq!(s.len(), 1);
        let all = FeatureSet::all();
        assert_eq!(all.len(), Feature::ALL.len());
        assert_eq!(all.difference(s).len(), Feature::ALL.len() - 1);
        assert_eq!(all.intersection(s), s);
        assert_eq!(s.union(all), all);
        assert!(s.remove(Feature::DndSync));
        assert!(!s.remove(Feature::DndSync));
        assert_eq!(
            format!("{:?}", FeatureSet::from_iter([Feature::PushV2])),
            "{\"push_v2\"}"
        );
    }
}
