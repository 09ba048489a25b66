//! Profile documents (`/user/{u}/profile...`): the user profile, the access-device list,
//! one access device and the feature access codes.

use super::read::{
    boolean, enumeration, expect_root, list, non_empty, number, once, required, string, unexpected,
};
use super::{DocError, XsiDocument};
use crate::xml::Element;

/// `serviceProvider` with its `isEnterprise` attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceProvider {
    /// Service provider or enterprise ID.
    pub id: String,
    /// Whether it is an enterprise.
    pub is_enterprise: Option<bool>,
}

/// `nameDialingName`: the names used by name dialing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameDialingName {
    /// `nameDialingLastName`.
    pub last_name: String,
    /// `nameDialingFirstName`.
    pub first_name: String,
}

impl NameDialingName {
    fn to_element(&self) -> Element {
        let mut el = Element::new("nameDialingName");
        el.put("nameDialingLastName", self.last_name.as_str());
        el.put("nameDialingFirstName", self.first_name.as_str());
        el
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "nameDialingName";
        let (mut last, mut first) = (None, None);
        for c in &el.children {
            match &*c.name {
                "nameDialingLastName" => once(
                    &mut last,
                    "nameDialingLastName",
                    string(c, "nameDialingLastName")?,
                )?,
                "nameDialingFirstName" => once(
                    &mut first,
                    "nameDialingFirstName",
                    string(c, "nameDialingFirstName")?,
                )?,
                _ => {}
            }
        }
        Ok(NameDialingName {
            last_name: required(last, P, "nameDialingLastName")?,
            first_name: required(first, P, "nameDialingFirstName")?,
        })
    }
}

/// XSD `UserDetails` (`UserInfo` plus group, provider, number and extension): the identity
/// block of the profile and of every directory entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserDetails {
    /// User ID, e.g. `alice@example.com`.
    pub user_id: String,
    /// External user identity.
    pub external_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Hiragana last name (element `hiranganaLastName`, the schema's spelling).
    pub hiragana_last_name: Option<String>,
    /// Hiragana first name (element `hiranganaFirstName`).
    pub hiragana_first_name: Option<String>,
    /// Name-dialing names.
    pub name_dialing_name: Option<NameDialingName>,
    /// Group ID.
    pub group_id: Option<String>,
    /// Service provider / enterprise.
    pub service_provider: Option<ServiceProvider>,
    /// Directory number.
    pub number: Option<String>,
    /// Extension.
    pub extension: Option<String>,
}

impl UserDetails {
    /// Details with only the user ID set.
    pub fn new(user_id: impl Into<String>) -> Self {
        UserDetails {
            user_id: user_id.into(),
            ..UserDetails::default()
        }
    }

    /// Appends the fields in schema order to `el`.
    pub(crate) fn write_fields(&self, el: &mut Element) {
        el.put("userId", self.user_id.as_str());
        el.put_opt("externalId", self.external_id.as_ref());
        el.put_opt("firstName", self.first_name.as_ref());
        el.put_opt("lastName", self.last_name.as_ref());
        el.put_opt("hiranganaLastName", self.hiragana_last_name.as_ref());
        el.put_opt("hiranganaFirstName", self.hiragana_first_name.as_ref());
        if let Some(n) = &self.name_dialing_name {
            el.push(n.to_element());
        }
        el.put_opt("groupId", self.group_id.as_ref());
        if let Some(sp) = &self.service_provider {
            let mut e = Element::leaf("serviceProvider", sp.id.as_str());
            if let Some(ent) = sp.is_enterprise {
                e.set_attr("isEnterprise", if ent { "true" } else { "false" });
            }
            el.push(e);
        }
        el.put_opt("number", self.number.as_ref());
        el.put_opt("extension", self.extension.as_ref());
    }

    /// Reads the details fields of `el`; other children go to `other` (a response reader
    /// decides whether to keep or ignore them). Nil values read as absent.
    pub(crate) fn read(
        el: &Element,
        parent: &'static str,
        mut other: impl FnMut(&Element) -> Result<(), DocError>,
    ) -> Result<Self, DocError> {
        let mut d = UserDetails::default();
        let mut user_id = None;
        for c in &el.children {
            let slot = match &*c.name {
                "userId" => {
                    once(&mut user_id, "userId", non_empty(c, "userId")?)?;
                    continue;
                }
                "nameDialingName" => {
                    if !c.is_nil() {
                        let n = NameDialingName::read(c)?;
                        once(&mut d.name_dialing_name, "nameDialingName", n)?;
                    }
                    continue;
                }
                "serviceProvider" => {
                    let is_enterprise = match c.attr("isEnterprise").map(str::trim) {
                        None => None,
                        Some("true" | "1") => Some(true),
                        Some("false" | "0") => Some(false),
                        Some(v) => {
                            return Err(super::read::invalid("serviceProvider", v, "a boolean"));
                        }
                    };
                    let sp = ServiceProvider {
                        id: string(c, "serviceProvider")?,
                        is_enterprise,
                    };
                    once(&mut d.service_provider, "serviceProvider", sp)?;
                    continue;
                }
                "externalId" => (&mut d.external_id, "externalId"),
                "firstName" => (&mut d.first_name, "firstName"),
                "lastName" => (&mut d.last_name, "lastName"),
                "hiranganaLastName" => (&mut d.hiragana_last_name, "hiranganaLastName"),
                "hiranganaFirstName" => (&mut d.hiragana_first_name, "hiranganaFirstName"),
                "groupId" => (&mut d.group_id, "groupId"),
                "number" => (&mut d.number, "number"),
                "extension" => (&mut d.extension, "extension"),
                _ => {
                    other(c)?;
                    continue;
                }
            };
            if !c.is_nil() {
                once(slot.0, slot.1, c.text.trim().to_owned())?;
            }
        }
        d.user_id = required(user_id, parent, "userId")?;
        Ok(d)
    }
}

string_record! {
    /// XSD `UserAdditionalDetails`: contact and location data, all optional.
    pub struct UserAdditionalDetails {
        /// Mobile number.
        mobile: "mobile",
        /// Yahoo ID.
        yahoo_id: "yahooId",
        /// Pager number.
        pager: "pager",
        /// E-mail address.
        email_address: "emailAddress",
        /// Job title.
        title: "title",
        /// Location.
        location: "location",
        /// Address line 1.
        address_line1: "addressLine1",
        /// Address line 2.
        address_line2: "addressLine2",
        /// City.
        city: "city",
        /// State or province.
        state: "state",
        /// ZIP / postal code.
        zip: "zip",
        /// Country.
        country: "country",
        /// Department.
        department: "department",
        /// IM&P ID.
        imp_id: "impId",
        /// My Room bridge ID.
        bridge_id: "bridgeId",
        /// My Room room ID.
        room_id: "roomId",
        /// Service name.
        service_name: "serviceName",
        /// Location dialing code (R24 / patched).
        location_dialing_code: "locationDialingCode",
    }
}

impl UserAdditionalDetails {
    pub(crate) fn to_element(&self) -> Element {
        let mut el = Element::new("additionalDetails");
        self.write_fields(&mut el);
        el
    }

    /// Reads an `additionalDetails` element, ignoring unknown children.
    pub(crate) fn read(el: &Element) -> Result<Self, DocError> {
        let mut d = UserAdditionalDetails::default();
        for c in &el.children {
            d.read_field(c)?;
        }
        Ok(d)
    }
}

/// `GET /user/{u}/profile` (§3.5.2.1).
///
/// Release-dependent elements (`timeZone`, `timeZoneDisplayName` since R22) are plain
/// options: the caller decides from the release profile whether to fill them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Identity block.
    pub details: UserDetails,
    /// Contact block; always written (mandatory in the schema), possibly empty.
    pub additional_details: UserAdditionalDetails,
    /// Days until the portal password expires.
    pub password_expires_days: Option<i32>,
    /// Relative URI of the feature access codes.
    pub fac: Option<String>,
    /// Relative URI of the registrations.
    pub registrations: Option<String>,
    /// Relative URI of the schedules.
    pub schedule_list: Option<String>,
    /// Relative URI of the portal password change.
    pub portal_password_change: Option<String>,
    /// Country calling code.
    pub country_code: Option<u32>,
    /// National prefix.
    pub national_prefix: Option<u32>,
    /// Time zone ID, e.g. `America/New_York` (R22+).
    pub time_zone: Option<String>,
    /// Time zone display name (R22+).
    pub time_zone_display_name: Option<String>,
}

impl Profile {
    /// Builder: fills the four resource links the way an XSP does for `user`.
    pub fn with_links(mut self, user: &str) -> Self {
        let base = format!("/v2.0/user/{user}/profile");
        self.fac = Some(format!("{base}/Fac"));
        self.registrations = Some(format!("{base}/Registrations"));
        self.schedule_list = Some(format!("{base}/Schedule"));
        self.portal_password_change = Some(format!("{base}/Password/Portal"));
        self
    }
}

impl XsiDocument for Profile {
    const ROOT: &'static str = "Profile";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        let mut details = Element::new("details");
        self.details.write_fields(&mut details);
        el.push(details);
        el.push(self.additional_details.to_element());
        el.put_num("passwordExpiresDays", self.password_expires_days);
        el.put_opt("fac", self.fac.as_ref());
        el.put_opt("registrations", self.registrations.as_ref());
        el.put_opt("scheduleList", self.schedule_list.as_ref());
        el.put_opt("portalPasswordChange", self.portal_password_change.as_ref());
        el.put_num("countryCode", self.country_code);
        el.put_num("nationalPrefix", self.national_prefix);
        el.put_opt("timeZone", self.time_zone.as_ref());
        el.put_opt("timeZoneDisplayName", self.time_zone_display_name.as_ref());
        el
    }

    /// Tolerant: unknown elements are ignored and a missing `additionalDetails` reads as
    /// empty (this is a response document).
    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let mut p = Profile::default();
        let mut details = None;
        let mut additional = None;
        for c in &el.children {
            match &*c.name {
                "details" => once(
                    &mut details,
                    "details",
                    UserDetails::read(c, "details", |_| Ok(()))?,
                )?,
                "additionalDetails" => once(
                    &mut additional,
                    "additionalDetails",
                    UserAdditionalDetails::read(c)?,
                )?,
                "passwordExpiresDays" => once(
                    &mut p.password_expires_days,
                    "passwordExpiresDays",
                    number(c, "passwordExpiresDays", "an int")?,
                )?,
                "fac" => once(&mut p.fac, "fac", string(c, "fac")?)?,
                "registrations" => once(
                    &mut p.registrations,
                    "registrations",
                    string(c, "registrations")?,
                )?,
                "scheduleList" => once(
                    &mut p.schedule_list,
                    "scheduleList",
                    string(c, "scheduleList")?,
                )?,
                "portalPasswordChange" => once(
                    &mut p.portal_password_change,
                    "portalPasswordChange",
                    string(c, "portalPasswordChange")?,
                )?,
                "countryCode" => once(
                    &mut p.country_code,
                    "countryCode",
                    super::common::positive(c, "countryCode")?,
                )?,
                "nationalPrefix" => once(
                    &mut p.national_prefix,
                    "nationalPrefix",
                    super::common::positive(c, "nationalPrefix")?,
                )?,
                "timeZone" => once(&mut p.time_zone, "timeZone", string(c, "timeZone")?)?,
                "timeZoneDisplayName" => once(
                    &mut p.time_zone_display_name,
                    "timeZoneDisplayName",
                    string(c, "timeZoneDisplayName")?,
                )?,
                _ => {}
            }
        }
        p.details = required(details, Self::ROOT, "details")?;
        p.additional_details = additional.unwrap_or_default();
        Ok(p)
    }
}

/// `AccessDeviceLevel`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeviceLevel {
    /// `System`.
    System,
    /// `Service Provider`.
    ServiceProvider,
    /// `Group` (the usual level for user devices).
    #[default]
    Group,
}

impl DeviceLevel {
    const VALUES: [(&'static str, Self); 3] = [
        ("System", Self::System),
        ("Service Provider", Self::ServiceProvider),
        ("Group", Self::Group),
    ];

    /// The schema's spelling (also the `deviceLevel` query value of `DeviceToken`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::ServiceProvider => "Service Provider",
            Self::Group => "Group",
        }
    }

    /// Parses the schema's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::VALUES.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }
}

/// `EndpointType` (returned for request versions 21.sp1 and later).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointType {
    /// `Primary`.
    Primary,
    /// `Shared Call Appearance`.
    SharedCallAppearance,
    /// `Video Add On`.
    VideoAddOn,
    /// `Public Service Identity`.
    PublicServiceIdentity,
    /// `Music On Hold Internal`.
    MusicOnHoldInternal,
    /// `Flexible Seating Guest`.
    FlexibleSeatingGuest,
    /// `Mobility`.
    Mobility,
}

impl EndpointType {
    const VALUES: [(&'static str, Self); 7] = [
        ("Primary", Self::Primary),
        ("Shared Call Appearance", Self::SharedCallAppearance),
        ("Video Add On", Self::VideoAddOn),
        ("Public Service Identity", Self::PublicServiceIdentity),
        ("Music On Hold Internal", Self::MusicOnHoldInternal),
        ("Flexible Seating Guest", Self::FlexibleSeatingGuest),
        ("Mobility", Self::Mobility),
    ];

    /// The schema's spelling.
    pub fn as_str(self) -> &'static str {
        Self::VALUES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(n, _)| n)
    }
}

/// `deviceUserNamePassword`: device-management credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceCredentials {
    /// User name.
    pub user_name: String,
    /// Password.
    pub password: String,
}

/// XSD `AccessDevice`: one endpoint of the user (`profile/Device/{linePort}` and the
/// entries of [`AccessDevices`]).
///
/// `extra` carries elements the shared schema does not define but real servers emit: the
/// spec example's `macAddress`, and the shared-line owner flag that patch ap384179 adds
/// (the shared XSDs contain no element for it, so its name is left to the caller). They are
/// written after the schema elements; reading collects unknown children there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessDevice {
    /// Device profile name.
    pub device_name: String,
    /// Level the device profile is defined at.
    pub device_level: DeviceLevel,
    /// Device type, e.g. `Business Communicator - PC`.
    pub device_type: String,
    /// Line/port (SIP address of record), e.g. `alice_pc@example.com`.
    pub device_line_port: String,
    /// Device management (DMS) URL.
    pub device_type_url: Option<String>,
    /// Device-management credentials, when the server allows retrieving them.
    pub device_user_name_password: Option<DeviceCredentials>,
    /// User agent of the device.
    pub version: Option<String>,
    /// Whether the endpoint receives incoming calls (R22+).
    pub allow_termination: Option<bool>,
    /// Endpoint type (request version ≥ 21.sp1).
    pub endpoint_type: Option<EndpointType>,
    /// Non-schema elements, written last.
    pub extra: Vec<Element>,
}

impl AccessDevice {
    fn build(&self, name: &'static str) -> Element {
        let mut el = Element::new(name);
        el.put("deviceName", self.device_name.as_str());
        el.put("deviceLevel", self.device_level.as_str());
        el.put("deviceType", self.device_type.as_str());
        el.put("deviceLinePort", self.device_line_port.as_str());
        el.put_opt("deviceTypeUrl", self.device_type_url.as_ref());
        if let Some(cred) = &self.device_user_name_password {
            let mut c = Element::new("deviceUserNamePassword");
            c.put("userName", cred.user_name.as_str());
            c.put("password", cred.password.as_str());
            el.push(c);
        }
        el.put_opt("version", self.version.as_ref());
        el.put_bool("allowTermination", self.allow_termination);
        if let Some(t) = self.endpoint_type {
            el.put("endpointType", t.as_str());
        }
        el.children.extend(self.extra.iter().cloned());
        el
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "accessDevice";
        let mut d = AccessDevice::default();
        let (mut name, mut level, mut ty, mut port) = (None, None, None, None);
        for c in &el.children {
            match &*c.name {
                "deviceName" => once(&mut name, "deviceName", non_empty(c, "deviceName")?)?,
                "deviceLevel" => once(
                    &mut level,
                    "deviceLevel",
                    enumeration(c, "deviceLevel", &DeviceLevel::VALUES, "a device level")?,
                )?,
                "deviceType" => once(&mut ty, "deviceType", non_empty(c, "deviceType")?)?,
                "deviceLinePort" => {
                    once(&mut port, "deviceLinePort", non_empty(c, "deviceLinePort")?)?
                }
                "deviceTypeUrl" => once(
                    &mut d.device_type_url,
                    "deviceTypeUrl",
                    string(c, "deviceTypeUrl")?,
                )?,
                "deviceUserNamePassword" => {
                    let (mut user, mut pass) = (None, None);
                    for cc in &c.children {
                        match &*cc.name {
                            "userName" => once(&mut user, "userName", string(cc, "userName")?)?,
                            "password" => once(&mut pass, "password", string(cc, "password")?)?,
                            _ => return Err(unexpected("deviceUserNamePassword", cc)),
                        }
                    }
                    let cred = DeviceCredentials {
                        user_name: required(user, "deviceUserNamePassword", "userName")?,
                        password: required(pass, "deviceUserNamePassword", "password")?,
                    };
                    once(
                        &mut d.device_user_name_password,
                        "deviceUserNamePassword",
                        cred,
                    )?;
                }
                "version" => once(&mut d.version, "version", string(c, "version")?)?,
                "allowTermination" => once(
                    &mut d.allow_termination,
                    "allowTermination",
                    boolean(c, "allowTermination")?,
                )?,
                "endpointType" => once(
                    &mut d.endpoint_type,
                    "endpointType",
                    enumeration(c, "endpointType", &EndpointType::VALUES, "an endpoint type")?,
                )?,
                _ => d.extra.push(c.clone()),
            }
        }
        d.device_name = required(name, P, "deviceName")?;
        d.device_level = required(level, P, "deviceLevel")?;
        d.device_type = required(ty, P, "deviceType")?;
        d.device_line_port = required(port, P, "deviceLinePort")?;
        Ok(d)
    }
}

impl XsiDocument for AccessDevice {
    const ROOT: &'static str = "AccessDevice";

    fn to_element(&self) -> Element {
        self.build(Self::ROOT)
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        AccessDevice::read(el)
    }
}

/// `PUT profile/Device/{linePort}` body (§3.5.2.3): only `allowTermination` can change.
///
/// The documented body is a partial `AccessDevice`; the other `AccessDevice` elements are
/// accepted and ignored (they cannot be modified through Xsi), anything else is an error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessDeviceUpdate {
    /// New termination setting, if sent.
    pub allow_termination: Option<bool>,
}

impl XsiDocument for AccessDeviceUpdate {
    const ROOT: &'static str = "AccessDevice";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put_bool("allowTermination", self.allow_termination);
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let mut u = AccessDeviceUpdate::default();
        for c in &el.children {
            match &*c.name {
                "allowTermination" => once(
                    &mut u.allow_termination,
                    "allowTermination",
                    boolean(c, "allowTermination")?,
                )?,
                "deviceName"
                | "deviceLevel"
                | "deviceType"
                | "deviceLinePort"
                | "deviceTypeUrl"
                | "deviceUserNamePassword"
                | "version"
                | "endpointType" => {}
                _ => return Err(unexpected(Self::ROOT, c)),
            }
        }
        Ok(u)
    }
}

/// `GET profile/Device` (§3.5.2.2): primary and shared-call-appearance devices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessDevices {
    /// The devices.
    pub devices: Vec<AccessDevice>,
}

impl XsiDocument for AccessDevices {
    const ROOT: &'static str = "AccessDevices";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.children = self
            .devices
            .iter()
            .map(|d| d.build("accessDevice"))
            .collect();
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let devices = list(el, Self::ROOT, "accessDevice", AccessDevice::read)?;
        Ok(AccessDevices { devices })
    }
}

/// One `featureAccessCode`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeatureAccessCode {
    /// Name, e.g. `Do Not Disturb Activation`.
    pub code_name: Option<String>,
    /// Code, e.g. `*78`.
    pub code: Option<String>,
    /// Alternate code.
    pub alternate_code: Option<String>,
}

/// `GET profile/Fac` (§3.5.2.5); the root is `FAC`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fac {
    /// The codes.
    pub codes: Vec<FeatureAccessCode>,
}

impl XsiDocument for Fac {
    const ROOT: &'static str = "FAC";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        for f in &self.codes {
            let mut e = Element::new("featureAccessCode");
            e.put_opt("codeName", f.code_name.as_ref());
            e.put_opt("code", f.code.as_ref());
            e.put_opt("alternateCode", f.alternate_code.as_ref());
            el.push(e);
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let codes = list(el, Self::ROOT, "featureAccessCode", |e| {
            let mut f = FeatureAccessCode::default();
            for c in &e.children {
                let slot = match &*c.name {
                    "codeName" => (&mut f.code_name, "codeName"),
                    "code" => (&mut f.code, "code"),
                    "alternateCode" => (&mut f.alternate_code, "alternateCode"),
                    _ => continue,
                };
                if !c.is_nil() {
                    once(slot.0, slot.1, c.text.trim().to_owned())?;
                }
            }
            Ok(f)
        })?;
        Ok(Fac { codes })
    }
}

/// One `registration` (XSD `RegistrationEntry`): a SIP contact binding of one of the user's
/// endpoints. Every element is optional in the schema.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationEntry {
    /// Endpoint type of the registered line.
    pub endpoint_type: Option<EndpointType>,
    /// Contact URI.
    pub uri: Option<String>,
    /// When the binding expires (free text in the schema).
    pub expiration: Option<String>,
    /// The line/port (address of record) that registered.
    pub line_port: Option<String>,
    /// Public address of the REGISTER (from the Via header).
    pub public_ip: Option<String>,
    /// Public port.
    pub public_port: Option<u16>,
    /// Private address (the device's own, behind NAT).
    pub private_ip: Option<String>,
    /// Private port.
    pub private_port: Option<u16>,
    /// `User-Agent` of the latest REGISTER.
    pub user_agent: Option<String>,
    /// `Path` header of the latest REGISTER.
    pub path_header: Option<String>,
}

impl RegistrationEntry {
    fn to_element(&self) -> Element {
        let mut e = Element::new("registration");
        if let Some(t) = self.endpoint_type {
            e.put("endpointType", t.as_str());
        }
        e.put_opt("uri", self.uri.as_ref());
        e.put_opt("expiration", self.expiration.as_ref());
        e.put_opt("linePort", self.line_port.as_ref());
        e.put_opt("publicIP", self.public_ip.as_ref());
        e.put_num("publicPort", self.public_port);
        e.put_opt("privateIP", self.private_ip.as_ref());
        e.put_num("privatePort", self.private_port);
        e.put_opt("userAgent", self.user_agent.as_ref());
        e.put_opt("pathHeader", self.path_header.as_ref());
        e
    }

    fn read(el: &Element) -> Result<Self, DocError> {
        const P: &str = "registration";
        let mut r = RegistrationEntry::default();
        for c in &el.children {
            match &*c.name {
                "endpointType" => once(
                    &mut r.endpoint_type,
                    "endpointType",
                    enumeration(c, "endpointType", &EndpointType::VALUES, "an endpoint type")?,
                )?,
                "uri" => once(&mut r.uri, "uri", non_empty(c, "uri")?)?,
                "expiration" => once(&mut r.expiration, "expiration", non_empty(c, "expiration")?)?,
                "linePort" => once(&mut r.line_port, "linePort", non_empty(c, "linePort")?)?,
                "publicIP" => once(&mut r.public_ip, "publicIP", non_empty(c, "publicIP")?)?,
                "publicPort" => once(
                    &mut r.public_port,
                    "publicPort",
                    number(c, "publicPort", "a port (1-65535)")?,
                )?,
                "privateIP" => once(&mut r.private_ip, "privateIP", non_empty(c, "privateIP")?)?,
                "privatePort" => once(
                    &mut r.private_port,
                    "privatePort",
                    number(c, "privatePort", "a port (1-65535)")?,
                )?,
                "userAgent" => once(&mut r.user_agent, "userAgent", non_empty(c, "userAgent")?)?,
                "pathHeader" => once(
                    &mut r.path_header,
                    "pathHeader",
                    non_empty(c, "pathHeader")?,
                )?,
                _ => return Err(unexpected(P, c)),
            }
        }
        if r.public_port == Some(0) || r.private_port == Some(0) {
            return Err(super::read::invalid("publicPort", "0", "a port (1-65535)"));
        }
        Ok(r)
    }
}

/// `GET profile/Registrations` (§3.5.2.12): the user's current SIP registrations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registrations {
    /// The registrations.
    pub registrations: Vec<RegistrationEntry>,
}

impl XsiDocument for Registrations {
    const ROOT: &'static str = "Registrations";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.children = self
            .registrations
            .iter()
            .map(RegistrationEntry::to_element)
            .collect();
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let registrations = list(el, Self::ROOT, "registration", RegistrationEntry::read)?;
        Ok(Registrations { registrations })
    }
}

#[cfg(test)]
mod tests;
