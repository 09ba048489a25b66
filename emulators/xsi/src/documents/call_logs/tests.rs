use super::*;
use crate::documents::test_util::{names, round_trip, xml_body};
use crate::xml::Element;

fn entry(id: &str, name: &str) -> CallLogEntry {
    CallLogEntry {
        country_code: Some(1),
        phone_number: "5550142".into(),
        name: name.into(),
        time: "2024-05-02T09:15:00.000-04:00".into(),
        call_log_id: id.into(),
    }
}

#[test]
fn basic_call_logs() {
    let logs = CallLogs {
        placed: Some(CallLogList {
            entries: vec![entry("17:0", "Bob Li"), entry("18:0", "Carol Diaz")],
            ..CallLogList::default()
        }),
        received: Some(CallLogList::default()),
        missed: Some(CallLogList::default()),
    };
    let el = logs.to_element();
    assert_eq!(names(&el), ["placed", "received", "missed"]);
    let placed = &el.children[0];
    assert_eq!(names(placed), ["callLogsEntry", "callLogsEntry"]);
    assert_eq!(
        names(&placed.children[0]),
        ["countryCode", "phoneNumber", "name", "time", "callLogId"]
    );
    let xml = String::from_utf8(logs.to_xml()).unwrap();
    assert!(xml.ends_with("<received/><missed/></CallLogs>"));
    round_trip(&logs);
    round_trip(&CallLogs::default());
}

#[test]
fn single_list_root() {
    let list = CallLogList {
        start_index: Some(1),
        number_of_records: Some(1),
        entries: vec![entry("9:1", "Dan")],
    };
    let el = list.to_element_as(CallLogKind::Missed);
    let xml = String::from_utf8(el.to_xml()).unwrap();
    assert!(
        xml.contains(
            "<missed xmlns=\"http://schema.broadsoft.com/xsi\"><startIndex>1</startIndex>"
        )
    );
    let parsed = Element::from_xml(xml.as_bytes()).unwrap();
    assert_eq!(
        CallLogList::from_element_any(&parsed).unwrap(),
        (CallLogKind::Missed, list)
    );
    assert!(CallLogList::from_element_any(&Element::new("dialed")).is_err());
}

#[test]
fn entry_needs_mandatory_fields() {
    let body = xml_body(
        "CallLogs",
        "<placed><callLogsEntry><phoneNumber>1</phoneNumber></callLogsEntry></placed>",
    );
    assert!(CallLogs::from_xml(&body).is_err());
}

fn extended() -> ExtendedCallLogEntry {
    let mut e = ExtendedCallLogEntry {
        call_log_id: "2041:1".into(),
        call_id: "callhalf-77:0".into(),
        subscriber_type: "User".into(),
        calling_presentation_indicator: "Public".into(),
        basic_call_type: "Network".into(),
        time: "2024-05-02T09:15:00.000-04:00".into(),
        start_time: 1_714_655_700_000,
        details: ExtendedCallLogDetails::default(),
    };
    e.details.country_code = Some("1".into());
    e.details.dialed_number = Some("5550142".into());
    e.details.calling_presentation_name = Some("Bob Li".into());
    e.details.answer_time = Some("1714655705000".into());
    e.details.release_time = Some("1714655760000".into());
    e.details.redirecting_reason = Some("unconditional".into());
    e.details.route_list_number = Some("2025550100".into());
    e
}

#[test]
fn enhanced_call_logs() {
    let logs = EnhancedCallLogs {
        start_index: 1,
        number_of_records: 2,
        placed: Some(EnhancedCallLogList {
            start_index: Some(1),
            number_of_records: Some(1),
            entries: EnhancedEntries::Extended(vec![extended()]),
        }),
        received: None,
        missed: Some(EnhancedCallLogList {
            entries: EnhancedEntries::Basic(vec![entry("3:0", "Eve")]),
            ..EnhancedCallLogList::default()
        }),
    };
    let el = logs.to_element();
    assert_eq!(
        names(&el),
        ["startIndex", "numberOfRecords", "placed", "missed"]
    );
    let ext = &el.children[2].children[2];
    assert_eq!(
        names(ext),
        [
            "countryCode",
            "callLogId",
            "callId",
            "subscriberType",
            "dialedNumber",
            "callingPresentationName",
            "callingPresentationIndicator",
            "basicCallType",
            "time",
            "startTime",
            "answerTime",
            "releaseTime",
            "redirectingReason",
            "routeListNumber"
        ]
    );
    assert_eq!(el.children[3].children[0].name, "enhancedCallLogsEntry");
    round_trip(&logs);
}

#[test]
fn every_optional_extended_field_is_written() {
    // Set every optional field through the reader, then check the writer emits all 54
    // elements in schema order.
    let mut e = extended();
    e.details = ExtendedCallLogDetails::default();
    for name in EXTENDED_ORDER {
        let _ = e.details.read_field(&Element::leaf(name, "x")).unwrap();
    }
    let el = e.to_element();
    assert_eq!(names(&el), EXTENDED_ORDER);
    assert_eq!(ExtendedCallLogEntry::read(&el).unwrap(), e);
}

#[test]
fn mixed_entry_forms_are_rejected() {
    let list = EnhancedCallLogList {
        entries: EnhancedEntries::Basic(vec![entry("1:0", "a")]),
        ..EnhancedCallLogList::default()
    };
    let mut placed = list.to_element(CallLogKind::Placed);
    placed.push(extended().to_element());
    assert!(EnhancedCallLogList::read(&placed).is_err());
    placed.children.remove(0);
    assert!(EnhancedCallLogList::read(&placed).is_ok());
}
