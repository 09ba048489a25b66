//! Property tests: the body parsers never panic on hostile input, and the writers' output
//! always reads back to the same tree.

use bwlab_xsi::documents::call_logs::{CallLogEntry, CallLogList, CallLogs};
use bwlab_xsi::documents::directories::{DirectoryDetails, EnterpriseDirectory, Paging};
use bwlab_xsi::documents::profile::{Profile, UserDetails};
use bwlab_xsi::documents::services::{
    CallForwardingAlways, CallForwardingNoAnswer, DoNotDisturb, ServiceEntry, Services,
    SimRingIncomingCalls, SimRingLocation, SimultaneousRingPersonal,
};
use bwlab_xsi::documents::{Address, Nillable, XsiDocument};
use bwlab_xsi::error_info::{ErrorCode, ErrorInfo};
use bwlab_xsi::json::parse_json;
use bwlab_xsi::negotiate::RequestMeta;
use bwlab_xsi::xml::{Element, Limits, ParseOptions, parse_xml};
use proptest::prelude::*;

/// Every typed reader, applied to one tree; none may panic whatever the tree.
fn read_with_every_document(el: &Element) {
    use bwlab_xsi::documents::{call_logs, calls, directories, profile, push, services};
    use bwlab_xsi::documents::{versions, voice_messages};
    let _ = ErrorInfo::from_element(el);
    let _ = services::DoNotDisturb::from_element(el);
    let _ = services::CallForwardingAlways::from_element(el);
    let _ = services::CallForwardingAlwaysSecondary::from_element(el);
    let _ = services::CallForwardingBusy::from_element(el);
    let _ = services::CallForwardingNoAnswer::from_element(el);
    let _ = services::CallForwardingNotReachable::from_element(el);
    let _ = services::CallWaiting::from_element(el);
    let _ = services::IntegratedImp::from_element(el);
    let _ = services::RemoteOffice::from_element(el);
    let _ = services::PushNotificationService::from_element(el);
    let _ = services::SimultaneousRingPersonal::from_element(el);
    let _ = services::BroadWorksAnywhere::from_element(el);
    let _ = services::Services::from_element(el);
    let _ = profile::Profile::from_element(el);
    let _ = profile::AccessDevice::from_element(el);
    let _ = profile::AccessDeviceUpdate::from_element(el);
    let _ = profile::AccessDevices::from_element(el);
    let _ = profile::Fac::from_element(el);
    let _ = push::PushNotificationRegistration::from_element(el);
    let _ = push::PushNotificationRegistrations::from_element(el);
    let _ = directories::EnterpriseDirectory::from_element(el);
    let _ = directories::GroupDirectory::from_element(el);
    let _ = directories::PersonalDirectory::from_element(el);
    let _ = directories::EnterpriseCommonDirectory::from_element(el);
    let _ = directories::GroupCommonDirectory::from_element(el);
    let _ = call_logs::CallLogs::from_element(el);
    let _ = call_logs::CallLogList::from_element_any(el);
    let _ = call_logs::EnhancedCallLogs::from_element(el);
    let _ = voice_messages::VoiceMessagingMessages::from_element(el);
    let _ = voice_messages::VoiceMessage::from_element(el);
    let _ = calls::Calls::from_element(el);
    let _ = calls::CallStartInfo::from_element(el);
    let _ = versions::Versions::from_element(el);
}

/// Valid documents to mutate.
fn seeds() -> Vec<Element> {
    vec![
        DoNotDisturb {
            active: Some(true),
            ring_splash: Some(false),
        }
        .to_element(),
        CallForwardingNoAnswer {
            active: Some(true),
            forward_to_phone_number: Nillable::Value(
                Address::new("+15551230000").with_country_code(1),
            ),
            number_of_rings: Some(3),
        }
        .to_element(),
        CallForwardingAlways {
            forward_to_phone_number: Nillable::Nil,
            ..CallForwardingAlways::default()
        }
        .to_element(),
        SimultaneousRingPersonal {
            active: Some(true),
            incoming_calls: Some(SimRingIncomingCalls::RingForAllIncomingCalls),
            sim_ring_locations: Nillable::Value(vec![SimRingLocation {
                address: "+15550001111".into(),
                answer_confirmation_required: Some(false),
            }]),
            criteria_activation_list: None,
        }
        .to_element(),
        Services {
            services: vec![
                ServiceEntry::linked("Do Not Disturb", "a@x", "donotdisturb"),
                ServiceEntry {
                    name: "Call Park".into(),
                    uri: None,
                },
            ],
        }
        .to_element(),
        Profile {
            details: UserDetails::new("alice@example.com"),
            ..Profile::default()
        }
        .with_links("alice@example.com")
        .to_element(),
        EnterpriseDirectory {
            paging: Paging::for_page(1, 10, 1),
            entries: vec![DirectoryDetails {
                details: UserDetails::new("bob@example.com"),
                ..DirectoryDetails::default()
            }],
        }
        .to_element(),
        CallLogs {
            placed: Some(CallLogList {
                entries: vec![CallLogEntry {
                    country_code: Some(1),
                    phone_number: "5550142".into(),
                    name: "Bob & <Li>".into(),
                    time: "2024-05-02T09:15:00.000-04:00".into(),
                    call_log_id: "17:0".into(),
                }],
                ..CallLogList::default()
            }),
            ..CallLogs::default()
        }
        .to_element(),
        ErrorInfo::new(ErrorCode::InvalidPhoneNumber)
            .with_summary("é")
            .to_element(),
    ]
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop::sample::select(b"<>&;/\"'=:!?[]-#x0{}$@ \n".to_vec())
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match *m {
            Mutation::Flip(i, b) => bytes[i % len] ^= b,
            Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Mutation::Delete(i) => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
            Mutation::Duplicate(i, n) => {
                let start = i % len;
                let end = (start + n).min(len);
                let chunk = bytes[start..end].to_vec();
                bytes.splice(start..start, chunk);
            }
        }
    }
    bytes
}

fn xml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => prop::char::range(' ', '~'),
        2 => prop::sample::select(vec!['\t', '\n', '\r', '<', '>', '&', '"', '\'', ']']),
        1 => prop::char::range('\u{A0}', '\u{D7FF}'),
        1 => prop::char::range('\u{E000}', '\u{FFFD}'),
        1 => prop::char::range('\u{10000}', '\u{10FFFF}'),
    ]
}

fn xml_text() -> impl Strategy<Value = String> {
    prop::collection::vec(xml_char(), 0..12).prop_map(|v| v.into_iter().collect())
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_.-]{0,6}"
}

fn attrs() -> impl Strategy<Value = Vec<(String, String)>> {
    let attr_name = prop_oneof![
        Just("countryCode".to_string()),
        Just("inConference".to_string()),
        Just("xsi:nil".to_string()),
        Just("xsi:type".to_string()),
        "[a-w][a-z]{0,4}",
    ];
    prop::collection::vec((attr_name, xml_text()), 0..3).prop_map(|mut v| {
        let mut seen = std::collections::HashSet::new();
        v.retain(|(n, _)| seen.insert(n.clone()));
        v
    })
}

fn build(
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
) -> Element {
    let mut el = Element::new(name);
    for (k, v) in attrs {
        el.set_attr(k, v);
    }
    el.children = children;
    el.text = text;
    el
}

/// Arbitrary trees in the Xsi shape: text only on leaves.
fn tree() -> impl Strategy<Value = Element> {
    let leaf = (name(), attrs(), xml_text()).prop_map(|(n, a, t)| build(n, a, vec![], t));
    leaf.prop_recursive(4, 32, 5, |inner| {
        (name(), attrs(), prop::collection::vec(inner, 1..5))
            .prop_map(|(n, a, c)| build(n, a, c, String::new()))
    })
}

/// Reorders siblings so that equal names are adjacent, in order of first appearance: the
/// only information the JSON form does not keep.
fn grouped(el: &Element) -> Element {
    let mut out = el.clone();
    let mut order: Vec<&str> = Vec::new();
    for c in &el.children {
        if !order.contains(&&*c.name) {
            order.push(&c.name);
        }
    }
    out.children = order
        .iter()
        .flat_map(|n| el.children.iter().filter(move |c| c.name == *n))
        .map(grouped)
        .collect();
    out
}

/// Element names typed readers look for, to build trees that get past the root checks.
const VOCABULARY: &[&str] = &[
    "DoNotDisturb",
    "CallForwardingAlways",
    "CallForwardingNoAnswer",
    "SimultaneousRingPersonal",
    "BroadWorksAnywhere",
    "Services",
    "Profile",
    "AccessDevices",
    "AccessDevice",
    "Enterprise",
    "Personal",
    "CallLogs",
    "EnhancedCallLogs",
    "VoiceMessagingMessages",
    "VoiceMessage",
    "Calls",
    "Versions",
    "ErrorInfo",
    "PushNotificationRegistration",
    "active",
    "ringSplash",
    "forwardToPhoneNumber",
    "numberOfRings",
    "incomingCalls",
    "simRingLocations",
    "simRingLocation",
    "address",
    "criteriaActivationList",
    "criteriaActivation",
    "criteriaName",
    "locations",
    "location",
    "phoneNumber",
    "service",
    "name",
    "uri",
    "details",
    "additionalDetails",
    "userId",
    "serviceProvider",
    "nameDialingName",
    "accessDevice",
    "deviceName",
    "deviceLevel",
    "deviceType",
    "deviceLinePort",
    "deviceUserNamePassword",
    "endpointType",
    "startIndex",
    "numberOfRecords",
    "totalAvailableRecords",
    "enterpriseDirectory",
    "directoryDetails",
    "entry",
    "number",
    "placed",
    "missed",
    "callLogsEntry",
    "enhancedCallLogsExtendedEntry",
    "callLogId",
    "time",
    "startTime",
    "messageInfoList",
    "messageInfo",
    "messageMediaContent",
    "mediaType",
    "call",
    "callId",
    "commands",
    "baseline",
    "patchedCommand",
    "version",
    "value",
    "summaryEnglish",
    "errorCode",
    "deviceTokenList",
    "deviceToken",
    "token",
    "pushNotificationEvents",
    "eventDetail",
    "parameters",
    "iOSParam",
    "param",
];

fn xsi_tree() -> impl Strategy<Value = Element> {
    let vname = prop::sample::select(VOCABULARY).prop_map(str::to_string);
    let text = prop_oneof![
        Just(String::new()),
        Just("true".to_string()),
        Just("0".to_string()),
        Just("1".to_string()),
        Just("Group".to_string()),
        Just("-5".to_string()),
        Just("99999999999".to_string()),
        xml_text(),
    ];
    let leaf = (vname.clone(), attrs(), text).prop_map(|(n, a, t)| build(n, a, vec![], t));
    leaf.prop_recursive(5, 48, 6, move |inner| {
        (vname.clone(), attrs(), prop::collection::vec(inner, 0..6))
            .prop_map(|(n, a, c)| build(n, a, c, String::new()))
    })
}

fn small_limits() -> ParseOptions {
    ParseOptions {
        limits: Limits {
            max_bytes: 4096,
            max_depth: 8,
            max_elements: 64,
            max_attributes: 4,
        },
        ..ParseOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn xml_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_xml(&bytes, &ParseOptions::default());
        let _ = parse_xml(&bytes, &small_limits());
    }

    #[test]
    fn json_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_json(&bytes, &ParseOptions::default());
        let _ = parse_json(&bytes, &small_limits());
    }

    #[test]
    fn parsers_never_panic_on_text(s in "\\PC{0,300}") {
        let _ = parse_xml(s.as_bytes(), &ParseOptions::default());
        let _ = parse_json(s.as_bytes(), &ParseOptions::default());
    }

    #[test]
    fn mutated_xml_documents(seed in 0usize..9, muts in prop::collection::vec(mutation(), 1..6)) {
        let doc = seeds()[seed].to_xml();
        let bytes = mutate(doc, &muts);
        for opts in [ParseOptions::default(), small_limits()] {
            if let Ok(el) = parse_xml(&bytes, &opts) {
                read_with_every_document(&el);
                // Whatever parses must survive the writers.
                prop_assert_eq!(parse_xml(&el.to_xml(), &ParseOptions::default()).unwrap(), el.clone());
                let _ = el.to_json();
            }
        }
    }

    #[test]
    fn mutated_json_documents(seed in 0usize..9, muts in prop::collection::vec(mutation(), 1..6)) {
        let doc = seeds()[seed].to_json();
        let bytes = mutate(doc, &muts);
        if let Ok(el) = parse_json(&bytes, &ParseOptions::default()) {
            read_with_every_document(&el);
            let _ = el.to_xml();
        }
    }

    #[test]
    fn negotiated_parsing_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..256),
        content_type in prop::option::of("[ -~]{0,40}"),
        query in prop::option::of("[ -~]{0,30}"),
        accept in prop::option::of("[ -~]{0,40}"),
    ) {
        let meta = RequestMeta {
            accept: accept.as_deref(),
            content_type: content_type.as_deref(),
            query: query.as_deref(),
        };
        let _ = meta.response_format();
        let _ = meta.parse_body(&body, &ParseOptions::default());
    }

    #[test]
    fn typed_readers_never_panic(el in xsi_tree()) {
        read_with_every_document(&el);
    }

    #[test]
    fn xml_round_trip(el in tree()) {
        let parsed = parse_xml(&el.to_xml(), &ParseOptions::default()).unwrap();
        prop_assert_eq!(parsed, el);
    }

    #[test]
    fn json_round_trip(el in tree()) {
        let parsed = parse_json(&el.to_json(), &ParseOptions::default()).unwrap();
        prop_assert_eq!(parsed, grouped(&el));
    }

    #[test]
    fn typed_round_trip_with_arbitrary_text(
        number in "[!-~]([ -~]{0,20}[!-~])?",
        name in "[!-~\u{e9}\u{4e2d}]{1,20}",
        rings in prop::sample::select(vec![0u8, 2, 5, 20]),
        active in any::<bool>(),
    ) {
        let cfna = CallForwardingNoAnswer {
            active: Some(active),
            forward_to_phone_number: Nillable::Value(Address::new(number.clone())),
            number_of_rings: Some(rings),
        };
        prop_assert_eq!(CallForwardingNoAnswer::from_xml(&cfna.to_xml()).unwrap(), cfna.clone());
        let json = Element::from_json(&cfna.to_json()).unwrap();
        prop_assert_eq!(CallForwardingNoAnswer::from_element(&json).unwrap(), cfna);

        let services = Services { services: vec![ServiceEntry { name, uri: Some(number) }] };
        prop_assert_eq!(Services::from_xml(&services.to_xml()).unwrap(), services);
    }
}
