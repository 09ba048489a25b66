use super::*;
use crate::documents::BodyError;
use crate::documents::test_util::{names, round_trip, xml_body};

fn alice() -> Profile {
    Profile {
        details: UserDetails {
            user_id: "alice@example.com".into(),
            external_id: Some("5b9c4f2e".into()),
            first_name: Some("Alice".into()),
            last_name: Some("Ng".into()),
            hiragana_last_name: Some("ん".into()),
            hiragana_first_name: Some("あ".into()),
            name_dialing_name: Some(NameDialingName {
                last_name: "Ng".into(),
                first_name: "Alice".into(),
            }),
            group_id: Some("grp1".into()),
            service_provider: Some(ServiceProvider {
                id: "ent1".into(),
                is_enterprise: Some(true),
            }),
            number: Some("2025550101".into()),
            extension: Some("0101".into()),
        },
        additional_details: UserAdditionalDetails {
            mobile: Some("2025550199".into()),
            email_address: Some("alice@example.com".into()),
            department: Some("Sales".into()),
            location_dialing_code: Some("81".into()),
            ..UserAdditionalDetails::default()
        },
        password_expires_days: Some(42),
        country_code: Some(1),
        national_prefix: Some(1),
        time_zone: Some("America/New_York".into()),
        time_zone_display_name: Some("(GMT-05:00) Eastern Time".into()),
        ..Profile::default()
    }
    .with_links("alice@example.com")
}

#[test]
fn profile_order_and_content() {
    let p = alice();
    let el = p.to_element();
    assert_eq!(
        names(&el),
        [
            "details",
            "additionalDetails",
            "passwordExpiresDays",
            "fac",
            "registrations",
            "scheduleList",
            "portalPasswordChange",
            "countryCode",
            "nationalPrefix",
            "timeZone",
            "timeZoneDisplayName"
        ]
    );
    assert_eq!(
        names(&el.children[0]),
        [
            "userId",
            "externalId",
            "firstName",
            "lastName",
            "hiranganaLastName",
            "hiranganaFirstName",
            "nameDialingName",
            "groupId",
            "serviceProvider",
            "number",
            "extension"
        ]
    );
    assert_eq!(
        names(&el.children[1]),
        [
            "mobile",
            "emailAddress",
            "department",
            "locationDialingCode"
        ]
    );
    let ndn = el.children[0].child("nameDialingName").unwrap();
    assert_eq!(names(ndn), ["nameDialingLastName", "nameDialingFirstName"]);
    let sp = el.children[0].child("serviceProvider").unwrap();
    assert_eq!(sp.attr("isEnterprise"), Some("true"));
    assert_eq!(
        el.child_text("fac"),
        Some("/v2.0/user/alice@example.com/profile/Fac")
    );
    round_trip(&p);
}

#[test]
fn minimal_profile_keeps_additional_details() {
    let p = Profile {
        details: UserDetails::new("bob@example.com"),
        ..Profile::default()
    };
    let xml = String::from_utf8(p.to_xml()).unwrap();
    assert!(xml.ends_with(
        "<Profile xmlns=\"http://schema.broadsoft.com/xsi\"><details><userId>bob@example.com</userId>\
         </details><additionalDetails/></Profile>"
    ));
    round_trip(&p);
}

#[test]
fn profile_reader_is_tolerant() {
    // Spec-example quirks: elements out of schema order, nil on non-nillable leaves,
    // elements the schema does not know.
    let body = xml_body(
        "Profile",
        "<details><userId>a@x</userId><lastName xsi:nil=\"true\"/></details>\
         <timeZone>UTC</timeZone><passwordExpiresDays>3</passwordExpiresDays>\
         <additionalDetails><title xsi:nil=\"true\"/><somethingNew>1</somethingNew></additionalDetails>\
         <futureElement/>",
    );
    let p = Profile::from_xml(&body).unwrap();
    assert_eq!(p.details.user_id, "a@x");
    assert_eq!(p.details.last_name, None);
    assert_eq!(p.time_zone.as_deref(), Some("UTC"));
    assert_eq!(p.password_expires_days, Some(3));
    assert_eq!(p.additional_details, UserAdditionalDetails::default());

    let body = xml_body("Profile", "<additionalDetails/>");
    assert!(matches!(
        Profile::from_xml(&body),
        Err(BodyError::Doc(DocError::Missing {
            element: "details",
            ..
        }))
    ));
    let body = xml_body("Profile", "<details/>");
    assert!(matches!(
        Profile::from_xml(&body),
        Err(BodyError::Doc(DocError::Missing {
            element: "userId",
            ..
        }))
    ));
}

fn pc() -> AccessDevice {
    AccessDevice {
        device_name: "alice-pc".into(),
        device_level: DeviceLevel::Group,
        device_type: "Business Communicator - PC".into(),
        device_line_port: "alice_pc@example.com".into(),
        device_type_url: Some("https://dms.example.com:443/dms/BC/pc".into()),
        device_user_name_password: Some(DeviceCredentials {
            user_name: "alice_dm".into(),
            password: "s3cret".into(),
        }),
        version: Some("BroadWorks Softphone 24.0".into()),
        allow_termination: Some(true),
        endpoint_type: Some(EndpointType::Primary),
        extra: vec![],
    }
}

#[test]
fn access_devices() {
    let sca = AccessDevice {
        device_name: "bob-desk".into(),
        device_level: DeviceLevel::ServiceProvider,
        device_type: "Polycom VVX 450".into(),
        device_line_port: "alice_sca@example.com".into(),
        endpoint_type: Some(EndpointType::SharedCallAppearance),
        extra: vec![Element::leaf("macAddress", "0004f2abcdef")],
        ..AccessDevice::default()
    };
    let list = AccessDevices {
        devices: vec![pc(), sca],
    };
    let el = list.to_element();
    assert_eq!(names(&el), ["accessDevice", "accessDevice"]);
    assert_eq!(
        names(&el.children[0]),
        [
            "deviceName",
            "deviceLevel",
            "deviceType",
            "deviceLinePort",
            "deviceTypeUrl",
            "deviceUserNamePassword",
            "version",
            "allowTermination",
            "endpointType"
        ]
    );
    let second = &el.children[1];
    assert_eq!(second.child_text("deviceLevel"), Some("Service Provider"));
    assert_eq!(
        second.child_text("endpointType"),
        Some("Shared Call Appearance")
    );
    assert_eq!(second.children.last().unwrap().name, "macAddress");
    round_trip(&list);
    round_trip(&AccessDevices::default());
    round_trip(&pc());
    assert_eq!(pc().to_element().name, "AccessDevice");
}

#[test]
fn access_device_update() {
    // The documented PUT body: only allowTermination.
    let body = xml_body("AccessDevice", "<allowTermination>false</allowTermination>");
    let u = AccessDeviceUpdate::from_xml(&body).unwrap();
    assert_eq!(u.allow_termination, Some(false));
    round_trip(&u);
    // A full device document is fine too; its other fields are ignored.
    let full = pc().to_xml();
    assert_eq!(
        AccessDeviceUpdate::from_xml(&full)
            .unwrap()
            .allow_termination,
        Some(true)
    );
    let body = xml_body("AccessDevice", "<macAddress>x</macAddress>");
    assert!(AccessDeviceUpdate::from_xml(&body).is_err());
    // A full AccessDevice needs its mandatory elements.
    let body = xml_body("AccessDevice", "<allowTermination>false</allowTermination>");
    assert!(matches!(
        AccessDevice::from_xml(&body),
        Err(BodyError::Doc(DocError::Missing {
            element: "deviceName",
            ..
        }))
    ));
    let body = xml_body(
        "AccessDevice",
        "<deviceName>a</deviceName><deviceLevel>Planet</deviceLevel>",
    );
    assert!(matches!(
        AccessDevice::from_xml(&body),
        Err(BodyError::Doc(DocError::Invalid {
            element: "deviceLevel",
            ..
        }))
    ));
}

#[test]
fn device_level_strings() {
    for l in [
        DeviceLevel::System,
        DeviceLevel::ServiceProvider,
        DeviceLevel::Group,
    ] {
        assert_eq!(DeviceLevel::parse(l.as_str()), Some(l));
    }
    assert_eq!(DeviceLevel::parse("group"), None);
}

#[test]
fn feature_access_codes() {
    let fac = Fac {
        codes: vec![
            FeatureAccessCode {
                code_name: Some("Do Not Disturb Activation".into()),
                code: Some("*78".into()),
                alternate_code: None,
            },
            FeatureAccessCode {
                code_name: Some("Call Forwarding Always Activation".into()),
                code: Some("*72".into()),
                alternate_code: Some("#72".into()),
            },
        ],
    };
    let el = fac.to_element();
    assert_eq!(el.name, "FAC");
    assert_eq!(
        names(&el.children[1]),
        ["codeName", "code", "alternateCode"]
    );
    round_trip(&fac);
}

#[test]
fn registrations() {
    let doc = Registrations {
        registrations: vec![
            RegistrationEntry {
                endpoint_type: Some(EndpointType::Primary),
                uri: Some("sip:alice_1@198.51.100.7:5061;transport=tls".into()),
                expiration: Some("2026-01-01T10:00:00Z".into()),
                line_port: Some("alice_1@example.com".into()),
                public_ip: Some("198.51.100.7".into()),
                public_port: Some(5061),
                private_ip: Some("10.0.0.7".into()),
                private_port: Some(5060),
                user_agent: Some("Cisco-CP8851/14.2".into()),
                path_header: Some("<sip:sbc.example.com;lr>".into()),
            },
            RegistrationEntry {
                line_port: Some("alice_2@example.com".into()),
                ..RegistrationEntry::default()
            },
        ],
    };
    let el = doc.to_element();
    assert_eq!(names(&el), ["registration", "registration"]);
    assert_eq!(
        names(&el.children[0]),
        [
            "endpointType",
            "uri",
            "expiration",
            "linePort",
            "publicIP",
            "publicPort",
            "privateIP",
            "privatePort",
            "userAgent",
            "pathHeader"
        ]
    );
    round_trip(&doc);
    round_trip(&Registrations::default());
    let bad = xml_body(
        "Registrations",
        "<registration><publicPort>70000</publicPort></registration>",
    );
    assert!(Registrations::from_xml(&bad).is_err());
    let bad = xml_body(
        "Registrations",
        "<registration><color>red</color></registration>",
    );
    assert!(Registrations::from_xml(&bad).is_err());
}
