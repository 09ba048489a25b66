//! `GET user/{u}/profile` and `GET user/{u}/profile/Device`.
//!
//! Release-dependent parts come from the profile's feature set, never from release
//! numbers: `timeZone`/`timeZoneDisplayName` (`xsi_profile_time_zone`),
//! `locationDialingCode` (`extension_dialing`), `allowTermination`
//! (`xsi_device_allow_termination`) and the shared-line owner flag
//! (`shared_lines_owner_flag`).

use std::sync::Arc;

use bwlab_model::{Device, EndpointType as MEndpoint, Line, User};
use bwlab_profiles::Feature;
use bwlab_xsi::Element;
use bwlab_xsi::documents::profile::{
    AccessDevice, AccessDeviceUpdate, AccessDevices, DeviceCredentials, DeviceLevel, EndpointType,
    Profile, RegistrationEntry, Registrations, ServiceProvider, UserAdditionalDetails, UserDetails,
};

use crate::Shared;
use crate::errors::{Fail, Resp, empty};
use crate::journal::Exchange;
use bwlab_xsi::ErrorCode;
use hyper::StatusCode;

/// Element carrying the shared-line owner flag (patch ap384179). The shared schemas do not
/// name it; this name is lab-defined and documented in docs/xsp.md.
pub const OWNER_FLAG_ELEMENT: &str = "isOwner";

pub(crate) fn get_profile(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let mut details = UserDetails::new(u.user_id.clone());
    details.first_name = Some(u.first_name.clone());
    details.last_name = Some(u.last_name.clone());
    details.group_id = Some(u.group_id.to_string());
    details.service_provider = Some(ServiceProvider {
        id: u.enterprise_id.to_string(),
        is_enterprise: Some(u.is_enterprise),
    });
    details.number = u.number.as_ref().map(|n| n.national().to_owned());
    details.extension = u.extension.clone();

    let mut extra = UserAdditionalDetails {
        mobile: u.mobile.as_ref().map(ToString::to_string),
        email_address: u.email.clone(),
        title: u.title.clone(),
        department: u.department.clone(),
        imp_id: u.imp_id.clone(),
        ..Default::default()
    };
    if shared.profile.supports(Feature::ExtensionDialing) {
        extra.location_dialing_code = u.location_dialing_code.as_deref().map(str::to_owned);
    }
    let days = shared.store.days_to_expiry(u.idx, shared.clock.now())?;
    let mut doc = Profile {
        details,
        additional_details: extra,
        password_expires_days: days.map(|d| d.clamp(i32::MIN.into(), i32::MAX.into()) as i32),
        country_code: u.country_code().and_then(|c| c.parse().ok()),
        ..Default::default()
    }
    .with_links(&u.user_id);
    if shared.profile.supports(Feature::XsiProfileTimeZone) {
        doc.time_zone = Some(u.time_zone.name.clone());
        doc.time_zone_display_name = Some(u.time_zone.display_name.clone());
    }
    Ok(super::ok_doc(ex, &doc))
}

const ENDPOINT_TYPES: [EndpointType; 7] = [
    EndpointType::Primary,
    EndpointType::SharedCallAppearance,
    EndpointType::VideoAddOn,
    EndpointType::PublicServiceIdentity,
    EndpointType::MusicOnHoldInternal,
    EndpointType::FlexibleSeatingGuest,
    EndpointType::Mobility,
];

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn mac_digits(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn access_device(shared: &Shared, dev: &Device, line: &Line) -> AccessDevice {
    let mut extra = Vec::new();
    if shared.profile.supports(Feature::SharedLinesOwnerFlag)
        && line.endpoint == MEndpoint::SharedCallAppearance
    {
        extra.push(Element::leaf(
            OWNER_FLAG_ELEMENT,
            if line.owner { "true" } else { "false" },
        ));
    }
    AccessDevice {
        device_name: dev.name.clone(),
        device_level: DeviceLevel::parse(dev.level.xsi_text()).unwrap_or_default(),
        device_type: dev.device_type.clone(),
        device_line_port: line.line_port.clone(),
        device_type_url: None,
        device_user_name_password: dev.credentials.as_ref().map(|c| DeviceCredentials {
            user_name: c.user_name.clone(),
            password: c.password.clone(),
        }),
        version: dev.version.clone(),
        allow_termination: shared
            .profile
            .supports(Feature::XsiDeviceAllowTermination)
            .then(|| line.allow_termination()),
        endpoint_type: ENDPOINT_TYPES
            .into_iter()
            .find(|t| t.as_str() == line.endpoint.xsi_text()),
        extra,
    }
}

pub(crate) fn get_devices(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let query = ex.query.as_deref();
    let only_soft = query_param(query, "onlySoftClient").is_some_and(|v| v == "true");
    let mac = query_param(query, "macAddress").map(mac_digits);
    let mut devices = Vec::new();
    for (dev, line_idx) in shared.store.user_endpoints(u.idx)? {
        let Some(line) = dev.lines.get(line_idx) else {
            continue;
        };
        if only_soft && !dev.is_soft_client() {
            continue;
        }
        if let Some(want) = &mac
            && dev
                .mac
                .as_ref()
                .map(|m| mac_digits(&m.to_string()))
                .as_ref()
                != Some(want)
        {
            continue;
        }
        devices.push(access_device(shared, &dev, line));
    }
    Ok(super::ok_doc(ex, &AccessDevices { devices }))
}

/// `GET profile/Registrations` (§3.5.2.12): the live SIP registrations of the user's
/// endpoints (primary and shared appearances), from the store's registrar state. The
/// schema leaves `expiration` free text; the lab writes the binding's expiry as RFC 3339 UTC
/// to the second, on the lab clock.
pub(crate) fn get_registrations(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let registrations = shared
        .store
        .user_registrations(u.idx)?
        .into_iter()
        .filter_map(|(dev, line_idx, r)| {
            let line = dev.lines.get(line_idx)?;
            Some(RegistrationEntry {
                endpoint_type: ENDPOINT_TYPES
                    .into_iter()
                    .find(|t| t.as_str() == line.endpoint.xsi_text()),
                uri: Some(r.uri),
                expiration: r
                    .expires_at
                    .to_offset(time::UtcOffset::UTC)
                    .replace_nanosecond(0)
                    .unwrap_or(r.expires_at)
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok(),
                line_port: Some(line.line_port.clone()),
                public_ip: r.public_addr.map(|a| a.ip().to_string()),
                public_port: r.public_addr.map(|a| a.port()).filter(|p| *p != 0),
                private_ip: r.private_addr.map(|a| a.ip().to_string()),
                private_port: r.private_addr.map(|a| a.port()).filter(|p| *p != 0),
                user_agent: r.user_agent,
                path_header: r.path,
            })
        })
        .collect();
    Ok(super::ok_doc(ex, &Registrations { registrations }))
}

/// The user's endpoint with this line port (case-insensitive), or 404.
fn endpoint(shared: &Shared, u: &User, line_port: &str) -> Result<(Arc<Device>, usize), Fail> {
    shared
        .store
        .user_endpoints(u.idx)?
        .into_iter()
        .find(|(d, i)| {
            d.lines
                .get(*i)
                .is_some_and(|l| l.line_port.eq_ignore_ascii_case(line_port))
        })
        .ok_or_else(|| Fail::detail(ErrorCode::ResourceNotFound, line_port))
}

/// `GET profile/Device/{linePort}` (new in 22.0).
pub(crate) fn get_device(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    line_port: &str,
) -> Result<Resp, Fail> {
    let (dev, i) = endpoint(shared, u, line_port)?;
    Ok(super::ok_doc(
        ex,
        &access_device(shared, &dev, &dev.lines[i]),
    ))
}

/// `PUT profile/Device/{linePort}`: only `allowTermination` changes. The documented body
/// carries nothing else, so the schema's mandatory elements are not demanded.
pub(crate) fn put_device(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    line_port: &str,
) -> Result<Resp, Fail> {
    let (dev, i) = endpoint(shared, u, line_port)?;
    let update: AccessDeviceUpdate = super::services::parse(ex)?;
    if let Some(allow) = update.allow_termination {
        shared
            .store
            .set_allow_termination(&dev.lines[i].line_port, allow);
    }
    Ok(empty(StatusCode::OK))
}
