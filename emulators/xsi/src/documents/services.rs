//! User service documents (`/user/{u}/services/...`): the services list and the service
//! settings a calling client reads and changes.
//!
//! Every field is optional because the same struct serves GET responses and partial PUT
//! bodies (spec §3.5.3): `None`/[`Nillable::Absent`] means "not sent, leave unchanged".
//! Nillable elements (`forwardToPhoneNumber`, `remoteOfficeNumber`, `simRingLocations`) use
//! [`Nillable`] so that `xsi:nil` can clear them.

use super::common::{Address, CriteriaActivation, Nillable};
use super::read::{
    boolean, enumeration, expect_root, list, nillable, non_empty, number, once, required, string,
    unexpected,
};
use super::{DocError, XsiDocument};
use crate::xml::Element;

/// Reads the children of a service root; `field` handles each child and returns `false`
/// for names it does not know.
fn read_fields(
    el: &Element,
    root: &'static str,
    mut field: impl FnMut(&Element) -> Result<bool, DocError>,
) -> Result<(), DocError> {
    expect_root(el, root)?;
    for c in &el.children {
        if !field(c)? {
            return Err(unexpected(root, c));
        }
    }
    Ok(())
}

/// `ActivatableServiceInfo`-style documents that carry only `active`.
macro_rules! active_only {
    ($(#[$doc:meta])* $ty:ident, $root:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $ty {
            /// Whether the service is on.
            pub active: Option<bool>,
        }

        impl XsiDocument for $ty {
            const ROOT: &'static str = $root;

            fn to_element(&self) -> Element {
                let mut el = Element::new(Self::ROOT);
                el.put_bool("active", self.active);
                el
            }

            fn from_element(el: &Element) -> Result<Self, DocError> {
                let mut doc = Self::default();
                read_fields(el, Self::ROOT, |c| match &*c.name {
                    "active" => once(&mut doc.active, "active", boolean(c, "active")?).map(|_| true),
                    _ => Ok(false),
                })?;
                Ok(doc)
            }
        }
    };
}

active_only!(
    /// `services/CallWaiting` (§3.5.3.32).
    CallWaiting,
    "CallWaiting"
);

active_only!(
    /// `services/IntegratedIMP` (§3.5.3.50); the root is `IntegratedIMPService`.
    IntegratedImp,
    "IntegratedIMPService"
);

/// `services/DoNotDisturb` (§3.5.3.39).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoNotDisturb {
    /// Whether DND is on.
    pub active: Option<bool>,
    /// Whether a ring splash is played while DND is on.
    pub ring_splash: Option<bool>,
}

impl XsiDocument for DoNotDisturb {
    const ROOT: &'static str = "DoNotDisturb";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put_bool("active", self.active);
        el.put_bool("ringSplash", self.ring_splash);
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        let mut doc = DoNotDisturb::default();
        read_fields(el, Self::ROOT, |c| {
            match &*c.name {
                "active" => once(&mut doc.active, "active", boolean(c, "active")?)?,
                "ringSplash" => once(
                    &mut doc.ring_splash,
                    "ringSplash",
                    boolean(c, "ringSplash")?,
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(doc)
    }
}

/// Handles the `CallForwarding` base elements (`active`, `forwardToPhoneNumber`).
fn forwarding_field(
    c: &Element,
    active: &mut Option<bool>,
    number: &mut Nillable<Address>,
) -> Result<bool, DocError> {
    match &*c.name {
        "active" => once(active, "active", boolean(c, "active")?)?,
        "forwardToPhoneNumber" => nillable(number, c, "forwardToPhoneNumber", |c| {
            Address::read(c, "forwardToPhoneNumber")
        })?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn forwarding_element(
    root: &'static str,
    active: Option<bool>,
    number: &Nillable<Address>,
) -> Element {
    let mut el = Element::new(root);
    el.put_bool("active", active);
    el.put_nillable("forwardToPhoneNumber", number, |a| {
        a.to_element("forwardToPhoneNumber")
    });
    el
}

/// Forwarding documents with a ring-splash flag: CFA and CFA Secondary.
macro_rules! forwarding_with_splash {
    ($(#[$doc:meta])* $ty:ident, $root:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $ty {
            /// Whether forwarding is on.
            pub active: Option<bool>,
            /// Destination; nil clears it.
            pub forward_to_phone_number: Nillable<Address>,
            /// Whether a ring splash reminds the user that calls are forwarded.
            pub ring_splash: Option<bool>,
        }

        impl XsiDocument for $ty {
            const ROOT: &'static str = $root;

            fn to_element(&self) -> Element {
                let mut el =
                    forwarding_element(Self::ROOT, self.active, &self.forward_to_phone_number);
                el.put_bool("ringSplash", self.ring_splash);
                el
            }

            fn from_element(el: &Element) -> Result<Self, DocError> {
                let mut doc = Self::default();
                read_fields(el, Self::ROOT, |c| {
                    if forwarding_field(c, &mut doc.active, &mut doc.forward_to_phone_number)? {
                        return Ok(true);
                    }
                    if c.name == "ringSplash" {
                        once(&mut doc.ring_splash, "ringSplash", boolean(c, "ringSplash")?)?;
                        return Ok(true);
                    }
                    Ok(false)
                })?;
                Ok(doc)
            }
        }
    };
}

/// Forwarding documents with only the `CallForwarding` base: CFB and CFNR.
macro_rules! forwarding_plain {
    ($(#[$doc:meta])* $ty:ident, $root:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $ty {
            /// Whether forwarding is on.
            pub active: Option<bool>,
            /// Destination; nil clears it.
            pub forward_to_phone_number: Nillable<Address>,
        }

        impl XsiDocument for $ty {
            const ROOT: &'static str = $root;

            fn to_element(&self) -> Element {
                forwarding_element(Self::ROOT, self.active, &self.forward_to_phone_number)
            }

            fn from_element(el: &Element) -> Result<Self, DocError> {
                let mut doc = Self::default();
                read_fields(el, Self::ROOT, |c| {
                    forwarding_field(c, &mut doc.active, &mut doc.forward_to_phone_number)
                })?;
                Ok(doc)
            }
        }
    };
}

forwarding_with_splash!(
    /// `services/CallForwardingAlways` (§3.5.3.15).
    CallForwardingAlways,
    "CallForwardingAlways"
);

forwarding_with_splash!(
    /// `services/CallForwardingAlwaysSecondary` (§3.5.3.16, R22+).
    CallForwardingAlwaysSecondary,
    "CallForwardingAlwaysSecondary"
);

forwarding_plain!(
    /// `services/CallForwardingBusy` (§3.5.3.17).
    CallForwardingBusy,
    "CallForwardingBusy"
);

forwarding_plain!(
    /// `services/CallForwardingNotReachable` (§3.5.3.19).
    CallForwardingNotReachable,
    "CallForwardingNotReachable"
);

/// `services/CallForwardingNoAnswer` (§3.5.3.18).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallForwardingNoAnswer {
    /// Whether forwarding is on.
    pub active: Option<bool>,
    /// Destination; nil clears it.
    pub forward_to_phone_number: Nillable<Address>,
    /// Rings before forwarding: 0 or 2–20 (the schema excludes 1).
    pub number_of_rings: Option<u8>,
}

impl XsiDocument for CallForwardingNoAnswer {
    const ROOT: &'static str = "CallForwardingNoAnswer";

    fn to_element(&self) -> Element {
        let mut el = forwarding_element(Self::ROOT, self.active, &self.forward_to_phone_number);
        el.put_num("numberOfRings", self.number_of_rings);
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        const WHAT: &str = "0 or 2 to 20 rings";
        let mut doc = CallForwardingNoAnswer::default();
        read_fields(el, Self::ROOT, |c| {
            if forwarding_field(c, &mut doc.active, &mut doc.forward_to_phone_number)? {
                return Ok(true);
            }
            if c.name != "numberOfRings" {
                return Ok(false);
            }
            let n: u8 = number(c, "numberOfRings", WHAT)?;
            if n == 1 || n > 20 {
                return Err(super::read::invalid("numberOfRings", &n.to_string(), WHAT));
            }
            once(&mut doc.number_of_rings, "numberOfRings", n)?;
            Ok(true)
        })?;
        Ok(doc)
    }
}

/// `services/RemoteOffice` (§3.5.3.64, AS only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteOffice {
    /// Whether Remote Office is on.
    pub active: Option<bool>,
    /// The remote number; nil clears it.
    pub remote_office_number: Nillable<Address>,
}

impl XsiDocument for RemoteOffice {
    const ROOT: &'static str = "RemoteOffice";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put_bool("active", self.active);
        el.put_nillable("remoteOfficeNumber", &self.remote_office_number, |a| {
            a.to_element("remoteOfficeNumber")
        });
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        let mut doc = RemoteOffice::default();
        read_fields(el, Self::ROOT, |c| {
            match &*c.name {
                "active" => once(&mut doc.active, "active", boolean(c, "active")?)?,
                "remoteOfficeNumber" => nillable(
                    &mut doc.remote_office_number,
                    c,
                    "remoteOfficeNumber",
                    |c| Address::read(c, "remoteOfficeNumber"),
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(doc)
    }
}

/// `services/PushNotification` (§3.5.3.62, AS only, R23+).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushNotificationService {
    /// Push a notification for click-to-dial calls.
    pub send_push_notification_for_click_to_dial: Option<bool>,
    /// Push a notification for group paging calls (R24 schema).
    pub send_push_notification_for_group_paging: Option<bool>,
}

impl XsiDocument for PushNotificationService {
    const ROOT: &'static str = "PushNotification";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put_bool(
            "sendPushNotificationForClickToDial",
            self.send_push_notification_for_click_to_dial,
        );
        el.put_bool(
            "sendPushNotificationForGroupPaging",
            self.send_push_notification_for_group_paging,
        );
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        const CTD: &str = "sendPushNotificationForClickToDial";
        const PAGING: &str = "sendPushNotificationForGroupPaging";
        let mut doc = PushNotificationService::default();
        read_fields(el, Self::ROOT, |c| {
            match &*c.name {
                CTD => once(
                    &mut doc.send_push_notification_for_click_to_dial,
                    CTD,
                    boolean(c, CTD)?,
                )?,
                PAGING => once(
                    &mut doc.send_push_notification_for_group_paging,
                    PAGING,
                    boolean(c, PAGING)?,
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(doc)
    }
}

/// `incomingCalls` of Simultaneous Ring Personal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimRingIncomingCalls {
    /// `Do not Ring if on a Call`.
    DoNotRingIfOnCall,
    /// `Ring for all Incoming Calls`.
    RingForAllIncomingCalls,
}

impl SimRingIncomingCalls {
    const VALUES: [(&'static str, Self); 2] = [
        ("Do not Ring if on a Call", Self::DoNotRingIfOnCall),
        ("Ring for all Incoming Calls", Self::RingForAllIncomingCalls),
    ];

    /// The schema's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoNotRingIfOnCall => Self::VALUES[0].0,
            Self::RingForAllIncomingCalls => Self::VALUES[1].0,
        }
    }
}

/// One `simRingLocation`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimRingLocation {
    /// Number or URI to ring.
    pub address: Address,
    /// Whether the called party must confirm before the call is connected.
    pub answer_confirmation_required: Option<bool>,
}

/// `services/SimultaneousRingPersonal` (§3.5.3.69).
///
/// `incoming_calls` is mandatory in the schema; it is optional here so that partial PUT
/// bodies can omit it. Responses must set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimultaneousRingPersonal {
    /// Whether the service is on.
    pub active: Option<bool>,
    /// Ring policy while the user is on a call.
    pub incoming_calls: Option<SimRingIncomingCalls>,
    /// Locations rung in parallel; nil clears the list, a sent list replaces it.
    pub sim_ring_locations: Nillable<Vec<SimRingLocation>>,
    /// Criteria activation states.
    pub criteria_activation_list: Option<Vec<CriteriaActivation>>,
}

impl XsiDocument for SimultaneousRingPersonal {
    const ROOT: &'static str = "SimultaneousRingPersonal";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put_bool("active", self.active);
        if let Some(ic) = self.incoming_calls {
            el.put("incomingCalls", ic.as_str());
        }
        el.put_nillable("simRingLocations", &self.sim_ring_locations, |locs| {
            let mut list = Element::new("simRingLocations");
            for loc in locs {
                let mut l = Element::new("simRingLocation");
                l.push(loc.address.to_element("address"));
                l.put_bool(
                    "answerConfirmationRequired",
                    loc.answer_confirmation_required,
                );
                list.push(l);
            }
            list
        });
        if let Some(list) = &self.criteria_activation_list {
            let mut l = Element::new("criteriaActivationList");
            for ca in list {
                l.push(ca.to_element("criteriaActivation"));
            }
            el.push(l);
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        let mut doc = SimultaneousRingPersonal::default();
        read_fields(el, Self::ROOT, |c| {
            match &*c.name {
                "active" => once(&mut doc.active, "active", boolean(c, "active")?)?,
                "incomingCalls" => once(
                    &mut doc.incoming_calls,
                    "incomingCalls",
                    enumeration(
                        c,
                        "incomingCalls",
                        &SimRingIncomingCalls::VALUES,
                        "a Simultaneous Ring selection",
                    )?,
                )?,
                "simRingLocations" => {
                    nillable(&mut doc.sim_ring_locations, c, "simRingLocations", |c| {
                        list(
                            c,
                            "simRingLocations",
                            "simRingLocation",
                            read_sim_ring_location,
                        )
                    })?
                }
                "criteriaActivationList" => once(
                    &mut doc.criteria_activation_list,
                    "criteriaActivationList",
                    list(
                        c,
                        "criteriaActivationList",
                        "criteriaActivation",
                        CriteriaActivation::read,
                    )?,
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(doc)
    }
}

fn read_sim_ring_location(el: &Element) -> Result<SimRingLocation, DocError> {
    const P: &str = "simRingLocation";
    let (mut address, mut confirm) = (None, None);
    for c in &el.children {
        match &*c.name {
            "address" => once(&mut address, "address", Address::read(c, "address")?)?,
            "answerConfirmationRequired" => once(
                &mut confirm,
                "answerConfirmationRequired",
                boolean(c, "answerConfirmationRequired")?,
            )?,
            _ => return Err(unexpected(P, c)),
        }
    }
    Ok(SimRingLocation {
        address: required(address, P, "address")?,
        answer_confirmation_required: confirm,
    })
}

/// One BroadWorks Anywhere location in the service document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BroadWorksAnywhereLocation {
    /// Relative URI of the location resource.
    pub location_uri: Option<String>,
    /// The location's number; on PUT it identifies the location.
    pub phone_number: Address,
    /// Whether the location is alerted.
    pub active: Option<bool>,
    /// Free-text description.
    pub description: Option<String>,
    /// Criteria activation states of the location.
    pub criteria_activations: Option<Vec<CriteriaActivation>>,
}

/// `services/BroadWorksAnywhere` (§3.5.3.9).
///
/// `locations` is written only when non-empty: the schema requires at least one `location`
/// inside `locations`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BroadWorksAnywhere {
    /// Alert all locations for click-to-dial calls.
    pub alert_all_locations_for_click_to_dial_calls: Option<bool>,
    /// Alert all locations for group paging calls.
    pub alert_all_locations_for_group_paging_calls: Option<bool>,
    /// The user's locations.
    pub locations: Option<Vec<BroadWorksAnywhereLocation>>,
}

impl XsiDocument for BroadWorksAnywhere {
    const ROOT: &'static str = "BroadWorksAnywhere";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put_bool(
            "alertAllLocationsForClickToDialCalls",
            self.alert_all_locations_for_click_to_dial_calls,
        );
        el.put_bool(
            "alertAllLocationsForGroupPagingCalls",
            self.alert_all_locations_for_group_paging_calls,
        );
        if let Some(locs) = self.locations.as_ref().filter(|l| !l.is_empty()) {
            let mut list = Element::new("locations");
            for loc in locs {
                let mut l = Element::new("location");
                l.put_opt("locationUri", loc.location_uri.as_ref());
                l.push(loc.phone_number.to_element("phoneNumber"));
                l.put_bool("active", loc.active);
                l.put_opt("description", loc.description.as_ref());
                if let Some(cas) = &loc.criteria_activations {
                    let mut c = Element::new("criteriaActivations");
                    for ca in cas {
                        c.push(ca.to_element("criteriaActivation"));
                    }
                    l.push(c);
                }
                list.push(l);
            }
            el.push(list);
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        const CTD: &str = "alertAllLocationsForClickToDialCalls";
        const PAGING: &str = "alertAllLocationsForGroupPagingCalls";
        let mut doc = BroadWorksAnywhere::default();
        read_fields(el, Self::ROOT, |c| {
            match &*c.name {
                CTD => once(
                    &mut doc.alert_all_locations_for_click_to_dial_calls,
                    CTD,
                    boolean(c, CTD)?,
                )?,
                PAGING => once(
                    &mut doc.alert_all_locations_for_group_paging_calls,
                    PAGING,
                    boolean(c, PAGING)?,
                )?,
                "locations" => once(
                    &mut doc.locations,
                    "locations",
                    list(c, "locations", "location", read_bwa_location)?,
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(doc)
    }
}

fn read_bwa_location(el: &Element) -> Result<BroadWorksAnywhereLocation, DocError> {
    const P: &str = "location";
    let mut uri = None;
    let mut number = None;
    let mut active = None;
    let mut description = None;
    let mut criteria = None;
    for c in &el.children {
        match &*c.name {
            "locationUri" => once(&mut uri, "locationUri", string(c, "locationUri")?)?,
            "phoneNumber" => once(&mut number, "phoneNumber", Address::read(c, "phoneNumber")?)?,
            "active" => once(&mut active, "active", boolean(c, "active")?)?,
            "description" => once(&mut description, "description", string(c, "description")?)?,
            "criteriaActivations" => once(
                &mut criteria,
                "criteriaActivations",
                list(
                    c,
                    "criteriaActivations",
                    "criteriaActivation",
                    CriteriaActivation::read,
                )?,
            )?,
            _ => return Err(unexpected(P, c)),
        }
    }
    Ok(BroadWorksAnywhereLocation {
        location_uri: uri,
        phone_number: required(number, P, "phoneNumber")?,
        active,
        description,
        criteria_activations: criteria,
    })
}

/// One entry of the services list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceEntry {
    /// Display name, e.g. `Do Not Disturb`.
    pub name: String,
    /// Relative URI of the service resource; `None` is written as `xsi:nil` (the service
    /// is assigned but has no Xsi resource in this emulator).
    pub uri: Option<String>,
}

impl ServiceEntry {
    /// An entry linking to `/v2.0/user/{user}/services/{path}` (spec examples use lower
    /// case paths, e.g. `donotdisturb`).
    pub fn linked(name: impl Into<String>, user: &str, path: &str) -> Self {
        ServiceEntry {
            name: name.into(),
            uri: Some(format!("/v2.0/user/{user}/services/{path}")),
        }
    }
}

/// `GET /user/{u}/services` (§3.5.3.1): the services assigned to the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Services {
    /// Entries in server order.
    pub services: Vec<ServiceEntry>,
}

impl XsiDocument for Services {
    const ROOT: &'static str = "Services";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.children.reserve(self.services.len());
        for s in &self.services {
            let mut e = Element::new("service");
            e.put("name", s.name.as_str());
            e.push(match &s.uri {
                Some(uri) => Element::leaf("uri", uri.as_str()),
                None => Element::nil("uri"),
            });
            el.push(e);
        }
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let services = list(el, Self::ROOT, "service", |s| {
            const P: &str = "service";
            let (mut name, mut uri) = (None, None);
            for c in &s.children {
                match &*c.name {
                    "name" => once(&mut name, "name", non_empty(c, "name")?)?,
                    "uri" if c.is_nil() => once(&mut uri, "uri", None)?,
                    "uri" => once(&mut uri, "uri", Some(string(c, "uri")?))?,
                    _ => return Err(unexpected(P, c)),
                }
            }
            Ok(ServiceEntry {
                name: required(name, P, "name")?,
                uri: required(uri, P, "uri")?,
            })
        })?;
        Ok(Services { services })
    }
}

#[cfg(test)]
mod tests;
