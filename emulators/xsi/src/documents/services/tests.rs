use super::*;
use crate::documents::BodyError;
use crate::documents::test_util::{names, round_trip, xml_body};

#[test]
fn do_not_disturb() {
    let dnd = DoNotDisturb {
        active: Some(true),
        ring_splash: Some(false),
    };
    let xml = String::from_utf8(dnd.to_xml()).unwrap();
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DoNotDisturb xmlns=\"http://schema.broadsoft.com/xsi\">\
         <active>true</active><ringSplash>false</ringSplash></DoNotDisturb>"
    );
    round_trip(&dnd);
    round_trip(&DoNotDisturb::default());
    // Partial PUT: only `active`.
    let put = DoNotDisturb::from_xml(&xml_body("DoNotDisturb", "<active>false</active>")).unwrap();
    assert_eq!(
        put,
        DoNotDisturb {
            active: Some(false),
            ring_splash: None
        }
    );
    // JSON form of the same PUT, with the element order reversed.
    let json = br#"{"DoNotDisturb":{"ringSplash":{"$":"1"},"active":{"$":"0"}}}"#;
    let put = DoNotDisturb::from_element(&Element::from_json(json).unwrap()).unwrap();
    assert_eq!(
        put,
        DoNotDisturb {
            active: Some(false),
            ring_splash: Some(true)
        }
    );
}

#[test]
fn call_forwarding_always() {
    let cfa = CallForwardingAlways {
        active: Some(true),
        forward_to_phone_number: Nillable::Value(Address::new("+15551230000").with_country_code(1)),
        ring_splash: Some(true),
    };
    let el = cfa.to_element();
    assert_eq!(names(&el), ["active", "forwardToPhoneNumber", "ringSplash"]);
    let fwd = &el.children[1];
    assert_eq!(fwd.text, "+15551230000");
    assert_eq!(fwd.attr("countryCode"), Some("1"));
    round_trip(&cfa);

    let secondary = CallForwardingAlwaysSecondary {
        active: Some(false),
        forward_to_phone_number: Nillable::Nil,
        ring_splash: None,
    };
    assert_eq!(secondary.to_element().name, "CallForwardingAlwaysSecondary");
    round_trip(&secondary);
}

#[test]
fn forwarding_nil_clears() {
    let body = xml_body(
        "CallForwardingBusy",
        "<forwardToPhoneNumber xsi:nil=\"true\"/>",
    );
    let put = CallForwardingBusy::from_xml(&body).unwrap();
    assert_eq!(put.active, None);
    assert_eq!(put.forward_to_phone_number, Nillable::Nil);
    let mut stored = Some(Address::new("+15550001111"));
    put.forward_to_phone_number.clone().apply_to(&mut stored);
    assert_eq!(stored, None);

    let xml = String::from_utf8(put.to_xml()).unwrap();
    assert!(xml.contains("xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""));
    assert!(xml.contains("<forwardToPhoneNumber xsi:nil=\"true\"/>"));
    round_trip(&put);
}

#[test]
fn forwarding_busy_and_not_reachable() {
    let cfb = CallForwardingBusy {
        active: Some(true),
        forward_to_phone_number: Nillable::Value("2025550199".into()),
    };
    assert_eq!(names(&cfb.to_element()), ["active", "forwardToPhoneNumber"]);
    round_trip(&cfb);
    let cfnr = CallForwardingNotReachable {
        active: Some(false),
        forward_to_phone_number: Nillable::Absent,
    };
    assert_eq!(names(&cfnr.to_element()), ["active"]);
    round_trip(&cfnr);
    // CFB has no ringSplash.
    let body = xml_body("CallForwardingBusy", "<ringSplash>true</ringSplash>");
    assert!(matches!(
        CallForwardingBusy::from_xml(&body),
        Err(BodyError::Doc(DocError::Unexpected { .. }))
    ));
}

#[test]
fn call_forwarding_no_answer() {
    let cfna = CallForwardingNoAnswer {
        active: Some(true),
        forward_to_phone_number: Nillable::Value("+15551230000".into()),
        number_of_rings: Some(3),
    };
    let xml = String::from_utf8(cfna.to_xml()).unwrap();
    assert!(xml.ends_with(
        "<CallForwardingNoAnswer xmlns=\"http://schema.broadsoft.com/xsi\"><active>true</active>\
         <forwardToPhoneNumber>+15551230000</forwardToPhoneNumber><numberOfRings>3</numberOfRings>\
         </CallForwardingNoAnswer>"
    ));
    round_trip(&cfna);
    for ok in ["0", "2", "20", " 4 "] {
        let body = xml_body(
            "CallForwardingNoAnswer",
            &format!("<numberOfRings>{ok}</numberOfRings>"),
        );
        assert!(CallForwardingNoAnswer::from_xml(&body).is_ok(), "{ok}");
    }
    for bad in ["1", "21", "-1", "x", ""] {
        let body = xml_body(
            "CallForwardingNoAnswer",
            &format!("<numberOfRings>{bad}</numberOfRings>"),
        );
        assert!(
            matches!(
                CallForwardingNoAnswer::from_xml(&body),
                Err(BodyError::Doc(DocError::Invalid { .. }))
            ),
            "{bad}"
        );
    }
}

/// A request body fragment and a check on the error it must produce.
type Case = (&'static str, fn(&DocError) -> bool);

#[test]
fn request_validation() {
    let cases: &[Case] = &[
        ("<active>yes</active>", |e| {
            matches!(
                e,
                DocError::Invalid {
                    element: "active",
                    ..
                }
            )
        }),
        ("<active>true</active><active>true</active>", |e| {
            matches!(e, DocError::Duplicate { element: "active" })
        }),
        ("<active xsi:nil=\"true\"/>", |e| {
            matches!(e, DocError::NotNillable { element: "active" })
        }),
        ("<bogus/>", |e| matches!(e, DocError::Unexpected { .. })),
        ("<forwardToPhoneNumber></forwardToPhoneNumber>", |e| {
            matches!(e, DocError::Invalid { .. })
        }),
        (
            "<forwardToPhoneNumber countryCode=\"0\">1</forwardToPhoneNumber>",
            |e| matches!(e, DocError::Invalid { .. }),
        ),
    ];
    for (inner, check) in cases {
        let body = xml_body("CallForwardingAlways", inner);
        match CallForwardingAlways::from_xml(&body) {
            Err(BodyError::Doc(e)) => assert!(check(&e), "{inner}: {e}"),
            other => panic!("{inner}: {other:?}"),
        }
    }
    let wrong = xml_body("DoNotDisturb", "");
    assert!(matches!(
        CallForwardingAlways::from_xml(&wrong),
        Err(BodyError::Doc(DocError::WrongRoot {
            expected: "CallForwardingAlways",
            ..
        }))
    ));
}

#[test]
fn call_waiting_and_integrated_imp() {
    let cw = CallWaiting { active: Some(true) };
    assert_eq!(names(&cw.to_element()), ["active"]);
    round_trip(&cw);
    let imp = IntegratedImp {
        active: Some(false),
    };
    assert_eq!(imp.to_element().name, "IntegratedIMPService");
    round_trip(&imp);
}

#[test]
fn remote_office() {
    let ro = RemoteOffice {
        active: Some(true),
        remote_office_number: Nillable::Value("+15557654321".into()),
    };
    assert_eq!(names(&ro.to_element()), ["active", "remoteOfficeNumber"]);
    round_trip(&ro);
    round_trip(&RemoteOffice {
        active: None,
        remote_office_number: Nillable::Nil,
    });
}

#[test]
fn push_notification_service() {
    let p = PushNotificationService {
        send_push_notification_for_click_to_dial: Some(true),
        send_push_notification_for_group_paging: Some(false),
    };
    assert_eq!(
        names(&p.to_element()),
        [
            "sendPushNotificationForClickToDial",
            "sendPushNotificationForGroupPaging"
        ]
    );
    round_trip(&p);
}

fn sim_ring() -> SimultaneousRingPersonal {
    SimultaneousRingPersonal {
        active: Some(true),
        incoming_calls: Some(SimRingIncomingCalls::RingForAllIncomingCalls),
        sim_ring_locations: Nillable::Value(vec![
            SimRingLocation {
                address: "+15550001111".into(),
                answer_confirmation_required: Some(false),
            },
            SimRingLocation {
                address: "sip:desk@example.com".into(),
                answer_confirmation_required: None,
            },
        ]),
        criteria_activation_list: Some(vec![CriteriaActivation {
            criteria_name: "Office hours".into(),
            active: Some(true),
            uri: Some("/v2.0/user/alice@example.com/services/SimultaneousRingPersonal/Criteria/Office%20hours".into()),
        }]),
    }
}

#[test]
fn simultaneous_ring_personal() {
    let sr = sim_ring();
    let el = sr.to_element();
    assert_eq!(
        names(&el),
        [
            "active",
            "incomingCalls",
            "simRingLocations",
            "criteriaActivationList"
        ]
    );
    assert_eq!(el.children[1].text, "Ring for all Incoming Calls");
    let loc = &el.children[2].children[0];
    assert_eq!(names(loc), ["address", "answerConfirmationRequired"]);
    assert_eq!(
        names(&el.children[3].children[0]),
        ["criteriaName", "active", "uri"]
    );
    round_trip(&sr);

    // Clearing the list, leaving everything else unchanged.
    let body = xml_body(
        "SimultaneousRingPersonal",
        "<simRingLocations xsi:nil=\"true\"/>",
    );
    let put = SimultaneousRingPersonal::from_xml(&body).unwrap();
    assert_eq!(put.sim_ring_locations, Nillable::Nil);
    assert_eq!(put.incoming_calls, None);
    round_trip(&put);

    let body = xml_body(
        "SimultaneousRingPersonal",
        "<incomingCalls>Sometimes</incomingCalls>",
    );
    assert!(SimultaneousRingPersonal::from_xml(&body).is_err());
    let body = xml_body(
        "SimultaneousRingPersonal",
        "<simRingLocations><location/></simRingLocations>",
    );
    assert!(SimultaneousRingPersonal::from_xml(&body).is_err());
}

#[test]
fn broadworks_anywhere() {
    let bwa = BroadWorksAnywhere {
        alert_all_locations_for_click_to_dial_calls: Some(false),
        alert_all_locations_for_group_paging_calls: Some(false),
        locations: Some(vec![BroadWorksAnywhereLocation {
            location_uri: Some(
                "/v2.0/user/alice@example.com/services/BroadWorksAnywhere/Location/5551234567"
                    .into(),
            ),
            phone_number: Address::new("5551234567").with_country_code(1),
            active: Some(true),
            description: Some("Mobile".into()),
            criteria_activations: Some(vec![]),
        }]),
    };
    let el = bwa.to_element();
    assert_eq!(
        names(&el),
        [
            "alertAllLocationsForClickToDialCalls",
            "alertAllLocationsForGroupPagingCalls",
            "locations"
        ]
    );
    assert_eq!(
        names(&el.children[2].children[0]),
        [
            "locationUri",
            "phoneNumber",
            "active",
            "description",
            "criteriaActivations"
        ]
    );
    round_trip(&bwa);
    // No empty <locations/> (the schema needs at least one location).
    let none = BroadWorksAnywhere {
        locations: Some(vec![]),
        ..BroadWorksAnywhere::default()
    };
    assert!(none.to_element().children.is_empty());
}

#[test]
fn services_list() {
    let list = Services {
        services: vec![
            ServiceEntry::linked("Do Not Disturb", "alice@example.com", "donotdisturb"),
            ServiceEntry {
                name: "Basic Call Logs".into(),
                uri: None,
            },
        ],
    };
    let xml = String::from_utf8(list.to_xml()).unwrap();
    assert!(xml.contains(
        "<service><name>Do Not Disturb</name><uri>/v2.0/user/alice@example.com/services/donotdisturb</uri></service>"
    ));
    assert!(xml.contains("<service><name>Basic Call Logs</name><uri xsi:nil=\"true\"/></service>"));
    round_trip(&list);
    round_trip(&Services::default());
    // JSON: two entries become an array, one entry an object; both read back.
    let v = list.to_element().to_json_value();
    assert!(v["Services"]["service"].is_array());
    let one = Services {
        services: vec![list.services[0].clone()],
    };
    assert!(one.to_element().to_json_value()["Services"]["service"].is_object());
    round_trip(&one);
}
