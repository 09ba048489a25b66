//! Tests of the Xsi-Events documents, with the project's own fixtures.

use proptest::prelude::*;

use super::*;
use crate::documents::push::{
    DeviceToken, PushEvents, PushNotificationRegistration, PushNotificationRegistrations,
};
use crate::documents::services::{CallForwardingNoAnswer, DoNotDisturb, RemoteOffice};
use crate::documents::test_util::{names, round_trip, xml_body};
use crate::documents::{Address, BodyError, DocError, Nillable, XsiDocument};
use crate::xml::Element;

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

// ---------------------------------------------------------------- channels

fn channel_add() -> Channel {
    Channel {
        channel_id: None,
        channel_set_id: Some("softclient-alice-4f1c".into()),
        priority: Some(1),
        weight: Some(100),
        expires: Some(7200),
        application_id: Some("com.example.softclient".into()),
    }
}

#[test]
fn channel_schema_order_and_round_trip() {
    let mut ch = channel_add();
    ch.channel_id = Some("5d0c2e77-1b43-4c1a-9e2f-83aa10c7d9e1".into());
    assert_eq!(
        names(&ch.to_element()),
        [
            "channelId",
            "channelSetId",
            "priority",
            "weight",
            "expires",
            "applicationId"
        ]
    );
    round_trip(&ch);
    round_trip(&Channel::default());
    let granted = Channel::granted("ch-1", 3600);
    assert!(text(&granted.to_xml()).ends_with(
        "<Channel xmlns=\"http://schema.broadsoft.com/xsi\"><channelId>ch-1</channelId>\
         <expires>3600</expires></Channel>"
    ));
    assert_eq!(ch.clone().for_add().channel_id, None);
}

#[test]
fn channel_add_request_is_read_strictly() {
    let body = xml_body(
        "Channel",
        "<channelId>client-made</channelId><channelSetId>set</channelSetId>\
         <priority>2</priority><weight>10</weight><expires>0</expires>\
         <applicationId>app</applicationId>",
    );
    let ch = Channel::from_xml(&body).unwrap();
    assert_eq!(ch.priority, Some(2));
    assert_eq!(ch.expires, Some(0));
    assert_eq!(ch.for_add().channel_id, None);

    for (inner, what) in [
        ("<bogus>1</bogus>", "unknown element"),
        ("<priority>0</priority>", "priority not positive"),
        ("<weight>-1</weight>", "weight negative"),
        ("<weight>abc</weight>", "weight not a number"),
        ("<expires>2147483648</expires>", "expires beyond xs:int"),
        ("<expires>-5</expires>", "expires negative"),
        ("<channelSetId></channelSetId>", "empty set ID"),
        ("<expires>1</expires><expires>2</expires>", "repeated"),
        ("<priority xsi:nil=\"true\"/>", "nil"),
    ] {
        let body = xml_body("Channel", inner);
        assert!(Channel::from_xml(&body).is_err(), "{what}");
    }
    assert!(matches!(
        Channel::from_xml(&xml_body("ChannelSet", "")),
        Err(BodyError::Doc(DocError::WrongRoot { .. }))
    ));
    // Never: the maximum expires value is accepted.
    let ch = Channel::from_xml(&xml_body("Channel", "<expires>2147483647</expires>")).unwrap();
    assert_eq!(ch.expires, Some(i32::MAX as u32));
}

#[test]
fn channel_json() {
    let body = br#"{"Channel":{"@xmlns":{"$":"http://schema.broadsoft.com/xsi"},
        "channelSetId":{"$":"s"},"expires":{"$":"3600"}}}"#;
    let el = Element::from_json(body).unwrap();
    let ch = Channel::from_element(&el).unwrap();
    assert_eq!(ch.channel_set_id.as_deref(), Some("s"));
    assert_eq!(ch.expires, Some(3600));
}

#[test]
fn channel_sets() {
    let set = ChannelSet {
        channels: vec![Channel::granted("a", 10), channel_add()],
    };
    assert_eq!(names(&set.to_element()), ["channel", "channel"]);
    round_trip(&set);
    assert!(ChannelSet::from_xml(&xml_body("ChannelSet", "")).is_err());

    let sys = SystemChannel {
        channel_id: Some("c".into()),
        channel_set_id: Some("s".into()),
        priority: Some(1),
        weight: Some(50),
    };
    assert_eq!(
        names(&sys.to_element()),
        ["channelId", "channelSetId", "priority", "weight"]
    );
    round_trip(&sys);
    round_trip(&SystemChannelSet {
        channels: vec![sys.clone(), sys],
    });
    assert!(SystemChannel::from_xml(&xml_body("SystemChannel", "<expires>1</expires>")).is_err());
}

#[test]
fn heartbeat_exact_bytes() {
    let bytes = ChannelHeartBeat.to_xml();
    assert_eq!(bytes.len(), 97);
    assert_eq!(
        text(&bytes),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ChannelHeartBeat xmlns=\"http://schema.broadsoft.com/xsi\"/>"
    );
    assert_eq!(format!("{:x}", bytes.len()), "61");
    let mut buf = bytes::BytesMut::new();
    ChannelHeartBeat::write(&mut buf);
    assert_eq!(&buf[..], &bytes[..]);
    assert_eq!(
        &ChannelHeartBeat.render(crate::Format::Xml).body[..],
        &bytes[..]
    );

    assert_eq!(
        ChannelHeartBeat::from_xml(&bytes).unwrap(),
        ChannelHeartBeat
    );
    let alt = b"<ChannelHeartbeat xmlns=\"http://schema.broadsoft.com/xsi\"/>";
    assert_eq!(ChannelHeartBeat::from_xml(alt).unwrap(), ChannelHeartBeat);
    assert!(ChannelHeartBeat::from_xml(&xml_body("Heartbeat", "")).is_err());
    assert!(ChannelHeartBeat::from_xml(&xml_body("ChannelHeartBeat", "<x/>")).is_err());
}

// ---------------------------------------------------------------- event responses

#[test]
fn event_response() {
    let r = EventResponse::ok("0b6e2f5a-9d1c-4c1e-8f3a-2a7d5e9c41b0");
    assert_eq!(names(&r.to_element()), ["eventID", "statusCode", "reason"]);
    round_trip(&r);
    for status in EventStatus::ALL {
        let r = EventResponse {
            event_id: "e".into(),
            status: *status,
            reason: "r".into(),
        };
        round_trip(&r);
        assert_eq!(EventStatus::from_code(status.code()), Some(*status));
    }
    let parsed = EventResponse::parse(&r.to_json(), true).unwrap();
    assert_eq!(parsed, r);
}

#[test]
fn event_response_rejections() {
    let ok = "<eventID>e</eventID><statusCode>200</statusCode><reason>OK</reason>";
    assert!(EventResponse::from_xml(&xml_body("EventResponse", ok)).is_ok());
    for (inner, what) in [
        (
            "<statusCode>200</statusCode><eventID>e</eventID><reason>OK</reason>",
            "out of order",
        ),
        (
            "<eventID>e</eventID><statusCode>200</statusCode>",
            "no reason",
        ),
        (
            "<eventID>e</eventID><statusCode>201</statusCode><reason>OK</reason>",
            "status outside the enumeration",
        ),
        (
            "<eventID>e</eventID><statusCode>OK</statusCode><reason>OK</reason>",
            "status not a number",
        ),
        (
            "<eventID>e</eventID><statusCode>200</statusCode><reason></reason>",
            "empty reason",
        ),
        (
            "<eventID></eventID><statusCode>200</statusCode><reason>OK</reason>",
            "empty event ID",
        ),
        (
            "<eventID>e</eventID><eventID>e</eventID><statusCode>200</statusCode><reason>OK</reason>",
            "duplicate",
        ),
        (
            "<eventID>e</eventID><statusCode>200</statusCode><reason>OK</reason><x/>",
            "extra element",
        ),
    ] {
        let body = xml_body("EventResponse", inner);
        assert!(EventResponse::from_xml(&body).is_err(), "{what}");
    }
    // The spec's example closes EventResponse with </Channel>: malformed, not accepted.
    let typo = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
        <EventResponse xmlns=\"http://schema.broadsoft.com/xsi\">\
        <eventID>e</eventID><statusCode>200</statusCode><reason>OK</reason></Channel>";
    assert!(matches!(
        EventResponse::from_xml(typo),
        Err(BodyError::Parse(_))
    ));
}

// ---------------------------------------------------------------- subscriptions

fn full_subscription() -> Subscription {
    Subscription {
        subscription_id: Some("c4e0a1b2".into()),
        shared_subscription_id: Some("ssid".into()),
        owner: Some(SubscriptionOwner::Subscriber("alice@example.com".into())),
        target_id_type: Some(TargetIdType::User),
        target_grp_parent_id: Some("sp1".into()),
        target_id: Some("alice@example.com".into()),
        target_sub_id: Some("conf-1".into()),
        events: Some(EventPackages::Single("Advanced Call".into())),
        expires: Some(86400),
        http_contact: None,
        channel_set_id: Some("set".into()),
        application_id: Some("com.example.softclient".into()),
    }
}

#[test]
fn subscription_full_form_in_schema_order() {
    let s = full_subscription();
    assert_eq!(
        names(&s.to_element()),
        [
            "subscriptionId",
            "sharedSubscriptionId",
            "subscriberId",
            "targetIdType",
            "targetGrpParentId",
            "targetId",
            "targetSubId",
            "event",
            "expires",
            "channelSetId",
            "applicationId"
        ]
    );
    round_trip(&s);
    let mut list = full_subscription();
    list.owner = Some(SubscriptionOwner::Client("UCaaS".into()));
    list.events = Some(EventPackages::List(vec![
        "Basic Call".into(),
        "Do Not Disturb".into(),
    ]));
    list.channel_set_id = None;
    list.http_contact = Some("https://events.example.org:8443/bw/notify".into());
    let el = list.to_element();
    assert_eq!(el.children[2].name, "clientId");
    assert_eq!(names(&el.children[7]), ["event", "event"]);
    assert_eq!(names(&el.children[9]), ["uri"]);
    round_trip(&list);
    round_trip(&SubscriptionList {
        subscriptions: vec![s, list],
    });
    round_trip(&SubscriptionList::default());
}

#[test]
fn subscription_short_answer() {
    let s = Subscription::created("sub-1", 3600);
    assert!(text(&s.to_xml()).ends_with(
        "<Subscription xmlns=\"http://schema.broadsoft.com/xsi\"><subscriptionId>sub-1</subscriptionId>\
         <expires>3600</expires></Subscription>"
    ));
    round_trip(&s);
}

#[test]
fn subscription_requests() {
    let body = xml_body(
        "Subscription",
        "<event>Advanced Call</event><expires>86400</expires>\
         <channelSetId>softclient-alice-4f1c</channelSetId>\
         <applicationId>com.example.softclient</applicationId>",
    );
    let s = Subscription::from_xml(&body).unwrap();
    assert_eq!(
        s.events.as_ref().unwrap().names(),
        ["Advanced Call".to_string()]
    );
    assert_eq!(s.expires, Some(86400));

    // Unknown package names are the app server's business.
    let body = xml_body(
        "Subscription",
        "<eventPackageList><event>Basic Call</event><event>No Such Package</event>\
         </eventPackageList><httpContact><uri>events.example.org/notify</uri></httpContact>",
    );
    let s = Subscription::from_xml(&body).unwrap();
    assert_eq!(s.events.as_ref().unwrap().names().len(), 2);
    assert_eq!(s.http_contact.as_deref(), Some("events.example.org/notify"));

    // Both delivery routes: accepted, the channel wins when written.
    let body = xml_body(
        "Subscription",
        "<event>Basic Call</event><httpContact><uri>h/p</uri></httpContact>\
         <channelSetId>set</channelSetId>",
    );
    let s = Subscription::from_xml(&body).unwrap();
    assert!(s.http_contact.is_some() && s.channel_set_id.is_some());
    assert_eq!(
        names(&s.to_element()),
        ["event", "channelSetId"],
        "the schema's choice allows one route"
    );

    // Owner/target fields are accepted, and dropped for URL-addressed targets.
    let body = xml_body(
        "Subscription",
        "<subscriberId>x@y</subscriberId><targetIdType>User</targetIdType>\
         <targetId>alice@example.com</targetId><event>Basic Call</event>\
         <channelSetId>s</channelSetId><sharedSubscriptionId>sh</sharedSubscriptionId>",
    );
    let s = Subscription::from_xml(&body).unwrap().into_create_request();
    assert_eq!(s.owner, None);
    assert_eq!(s.target_id, None);
    assert_eq!(s.shared_subscription_id.as_deref(), Some("sh"));

    for (inner, what) in [
        ("<bogus/>", "unknown element"),
        (
            "<event>Basic Call</event><eventPackageList><event>x</event></eventPackageList>",
            "event and list",
        ),
        ("<eventPackageList/>", "empty list"),
        (
            "<eventPackageList><x>1</x></eventPackageList>",
            "bad list child",
        ),
        ("<expires>soon</expires>", "expires not a number"),
        ("<httpContact/>", "contact without uri"),
        (
            "<httpContact><uri>a</uri><port>1</port></httpContact>",
            "contact extra",
        ),
        ("<targetIdType>Planet</targetIdType>", "target type"),
        ("<event></event>", "empty package"),
    ] {
        let body = xml_body("Subscription", inner);
        assert!(Subscription::from_xml(&body).is_err(), "{what}");
    }
}

#[test]
fn contact_urls() {
    let u = ContactUrl::parse("https://events.example.org:8443/bw/notify").unwrap();
    assert_eq!(u.scheme, Scheme::Https);
    assert_eq!(u.host, "events.example.org");
    assert_eq!(u.port(), 8443);
    assert_eq!(u.path, "/bw/notify");
    assert_eq!(u.to_string(), "https://events.example.org:8443/bw/notify");

    let u = ContactUrl::parse("events.example.org:8080/ctx/x").unwrap();
    assert_eq!(
        (u.scheme, u.port(), u.path.as_str()),
        (Scheme::Http, 8080, "/ctx/x")
    );
    let u = ContactUrl::parse("events.example.org/ctx").unwrap();
    assert_eq!(
        (u.scheme, u.port(), u.explicit_port),
        (Scheme::Http, 80, None)
    );
    let u = ContactUrl::parse("HTTPS://h").unwrap();
    assert_eq!((u.port(), u.path.as_str()), (443, "/"));
    let u = ContactUrl::parse("http://[::1]:9000/p?q=1").unwrap();
    assert_eq!(
        (u.host.as_str(), u.port(), u.path.as_str()),
        ("::1", 9000, "/p?q=1")
    );
    assert_eq!(u.to_string(), "http://[::1]:9000/p?q=1");
    let u: ContactUrl = "127.0.0.1:81".parse().unwrap();
    assert_eq!((u.host.as_str(), u.port()), ("127.0.0.1", 81));

    for bad in [
        "",
        "ftp://h/p",
        "http:///p",
        "h:0/p",
        "h:99999/p",
        "h:+1/p",
        "h:/p",
        "a b/p",
        "user@h/p",
        "[::1/p",
        "::1/p",
    ] {
        assert!(ContactUrl::parse(bad).is_err(), "{bad:?}");
    }
}

// ---------------------------------------------------------------- events

fn received_call() -> Call {
    let mut call = Call::new(
        "callhalf-4711:0",
        "88:1",
        Personality::Terminator,
        CallState::Alerting,
        1_700_000_000_123,
    );
    call.remote_party = RemoteParty {
        name: Some("Bob Jones".into()),
        address: Some(Address::new("tel:2002")),
        user_id: Some("bob@example.com".into()),
        call_type: Some(CallType::Group),
        ..RemoteParty::default()
    };
    call.allow_answer = true;
    call
}

fn envelope(data: EventData) -> SubscriptionEvent {
    SubscriptionEvent {
        event_id: "2f8e4c61-0a9b-4d3e-b5c7-8e1f2a3b4c5d".into(),
        sequence_number: 3,
        owner: Owner::User("alice@example.com".into()),
        external_application_id: "com.example.softclient".into(),
        subscription_id: "c4e0a1b2-7f6d-4e3c-9b8a-1d2e3f4a5b6c".into(),
        shared_subscription_id: None,
        delivery: Delivery::Channel("5d0c2e77-1b43-4c1a-9e2f-83aa10c7d9e1".into()),
        target_id: Some("alice@example.com".into()),
        target_sub_id: None,
        data,
    }
}

fn event_round_trip(e: &Event) {
    let xml = e.to_xml();
    let back = Event::from_xml(&xml).unwrap_or_else(|err| panic!("{err}: {}", text(&xml)));
    assert_eq!(&back, e, "{}", text(&xml));
    assert_eq!(back.to_xml(), xml);
    assert_eq!(&e.to_bytes()[..], &xml[..]);
}

#[test]
fn call_received_exact_bytes() {
    let e = Event::from(envelope(EventData::call(
        CallEventKind::Received,
        received_call(),
    )));
    let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
        <xsi:Event xmlns:xsi=\"http://schema.broadsoft.com/xsi\" \
        xmlns:xsi1=\"http://www.w3.org/2001/XMLSchema-instance\" xsi1:type=\"xsi:SubscriptionEvent\">\
        <xsi:eventID>2f8e4c61-0a9b-4d3e-b5c7-8e1f2a3b4c5d</xsi:eventID>\
        <xsi:sequenceNumber>3</xsi:sequenceNumber>\
        <xsi:userId>alice@example.com</xsi:userId>\
        <xsi:externalApplicationId>com.example.softclient</xsi:externalApplicationId>\
        <xsi:subscriptionId>c4e0a1b2-7f6d-4e3c-9b8a-1d2e3f4a5b6c</xsi:subscriptionId>\
        <xsi:channelId>5d0c2e77-1b43-4c1a-9e2f-83aa10c7d9e1</xsi:channelId>\
        <xsi:targetId>alice@example.com</xsi:targetId>\
        <xsi:eventData xsi1:type=\"xsi:CallReceivedEvent\">\
        <xsi:call><xsi:callId>callhalf-4711:0</xsi:callId><xsi:extTrackingId>88:1</xsi:extTrackingId>\
        <xsi:personality>Terminator</xsi:personality><xsi:state>Alerting</xsi:state>\
        <xsi:remoteParty><xsi:name>Bob Jones</xsi:name><xsi:address>tel:2002</xsi:address>\
        <xsi:userId>bob@example.com</xsi:userId><xsi:callType>Group</xsi:callType></xsi:remoteParty>\
        <xsi:allowAnswer/><xsi:startTime>1700000000123</xsi:startTime></xsi:call>\
        </xsi:eventData></xsi:Event>";
    assert_eq!(text(&e.to_xml()), expected);
    event_round_trip(&e);
}

/// Every element of an event document is prefixed `xsi:`, every attribute `xsi1:` (or is
/// the `countryCode` attribute), and only the root declares namespaces.
fn assert_prefix_convention(xml: &str) {
    let body = xml.split_once("?>\n").unwrap().1;
    for tag in body.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap();
        let name = tag.trim_start_matches('/');
        assert!(name.starts_with("xsi:"), "unprefixed element in {tag:?}");
        for attr in tag.split_whitespace().skip(1) {
            let attr = attr.trim_end_matches('/');
            assert!(
                attr.starts_with("xsi1:")
                    || attr.starts_with("countryCode=")
                    || (name.starts_with("xsi:Event ") && attr.starts_with("xmlns:")),
                "attribute {attr:?} in {tag:?}"
            );
        }
    }
}

fn full_call() -> Call {
    let mut call = received_call();
    call.network_call_id = Some("abc@10.0.0.1".into());
    call.state = CallState::Released;
    call.release_cause = Some(ReleaseCause {
        internal_release_cause: InternalReleaseCause::Busy,
        q850_cause: Some("17".into()),
        sip_status: Some("486 Busy Here".into()),
        cdr_termination_cause: Some("017".into()),
    });
    call.releasing_party = Some(ReleasingParty::Remote);
    call.remote_party.user_dn = Some(Address::new("+15551230002").with_country_code(1));
    call.remote_party.privacy = true;
    call.redirect = Some(Redirect {
        address: Some(Address::new("tel:3003")),
        reason: RedirectReason::Unconditional,
        redirect_time: 1_700_000_001_000,
    });
    call.appearance = Some(2);
    call.allow_retrieve = true;
    call.answer_time = Some(1_700_000_004_567);
    call.held_time = Some(1_700_000_010_000);
    call.total_held_time = Some(5000);
    call.detached_time = Some(1_700_000_050_000);
    call.release_time = Some(1_700_000_060_890);
    call
}

#[test]
fn call_schema_order() {
    let mut out = Vec::new();
    full_call().write(&mut out);
    let el = Element::from_xml(
        format!(
            "<xsi:x xmlns:xsi=\"http://schema.broadsoft.com/xsi\">{}</xsi:x>",
            text(&out)
        )
        .as_bytes(),
    )
    .unwrap();
    let call = &el.children[0];
    assert_eq!(
        names(call),
        [
            "callId",
            "extTrackingId",
            "networkCallId",
            "personality",
            "state",
            "releaseCause",
            "releasingParty",
            "remoteParty",
            "redirect",
            "appearance",
            "allowAnswer",
            "allowRetrieve",
            "startTime",
            "answerTime",
            "heldTime",
            "totalHeldTime",
            "detachedTime",
            "releaseTime"
        ]
    );
    assert_eq!(
        names(call.child("releaseCause").unwrap()),
        [
            "internalReleaseCause",
            "q850Cause",
            "sipStatus",
            "cdrTerminationCause"
        ]
    );
    assert_eq!(
        names(call.child("remoteParty").unwrap()),
        ["name", "address", "userId", "userDN", "privacy", "callType"]
    );
    assert_eq!(
        names(call.child("redirect").unwrap()),
        ["address", "reason", "redirectTime"]
    );
    assert_eq!(
        call.child("remoteParty")
            .unwrap()
            .child("userDN")
            .unwrap()
            .attr("countryCode"),
        Some("1")
    );
    assert_eq!(Call::read(call).unwrap(), full_call());
}

#[test]
fn caller_id_disposition_only_when_set() {
    let mut call = received_call();
    let mut out = Vec::new();
    call.write(&mut out);
    assert!(!text(&out).contains(CALLER_ID_DISPOSITION));
    call.caller_id_disposition = Some("withheld".into());
    let e = Event::from(envelope(EventData::call(CallEventKind::Received, call)));
    let xml = e.to_xml();
    assert!(text(&xml).contains(
        "<xsi:startTime>1700000000123</xsi:startTime>\
         <xsi:callerIdDisposition>withheld</xsi:callerIdDisposition></xsi:call>"
    ));
    event_round_trip(&e);
}

fn sample_data() -> Vec<EventData> {
    let mut data: Vec<EventData> = CallEventKind::ALL
        .iter()
        .map(|k| EventData::call(*k, full_call()))
        .collect();
    data.extend([
        EventData::CallRedirected(vec![received_call(), full_call()]),
        EventData::CallSubscription {
            calls: vec![],
            hook_status: HookStatus::OnHook,
        },
        EventData::CallSubscription {
            calls: vec![received_call()],
            hook_status: HookStatus::OffHook,
        },
        EventData::CallSubscriptionResync {
            calls: vec![full_call(), received_call()],
            hook_status: HookStatus::OffHook,
        },
        EventData::HookStatus(HookStatus::OnHook),
        EventData::Service(ServiceEvent::DoNotDisturb(ServiceState::Info(
            DoNotDisturb {
                active: Some(true),
                ring_splash: Some(false),
            },
        ))),
        EventData::Service(ServiceEvent::DoNotDisturb(ServiceState::Unassigned)),
        EventData::Service(ServiceEvent::CallForwardingNoAnswer(ServiceState::Info(
            CallForwardingNoAnswer {
                active: Some(false),
                forward_to_phone_number: Nillable::Value(Address::new("+15551230000")),
                number_of_rings: Some(3),
            },
        ))),
        EventData::Service(ServiceEvent::RemoteOffice(ServiceState::Info(
            RemoteOffice {
                active: Some(true),
                remote_office_number: Nillable::Nil,
            },
        ))),
        EventData::Service(ServiceEvent::CallWaiting(ServiceState::Info(
            ActivatableServiceInfo { active: Some(true) },
        ))),
        EventData::VoiceMailMessageSummary(MessageSummary::default()),
        EventData::VoiceMailMessageSummary(MessageSummary {
            new_messages: 2,
            old_messages: 0,
            new_urgent_messages: 1,
            old_urgent_messages: 0,
        }),
        EventData::PushNotificationRegistration(PushNotificationRegistrations {
            registrations: vec![PushNotificationRegistration {
                application_id: "com.example.softphone".into(),
                application_version: "5.2.0".into(),
                registration_id: "inst-1".into(),
                device_os_type: "Android".into(),
                device_os_version: "14".into(),
                device_tokens: vec![DeviceToken {
                    token: "tok".into(),
                    token_type: None,
                    events: PushEvents::Names(vec!["NEW_CALL".into(), "CALL_UPD".into()]),
                }],
            }],
        }),
        EventData::SubscriptionTerminated,
        EventData::CallParkedAgainst(None),
        EventData::CallParkedAgainst(Some(received_call().remote_party)),
    ]);
    data
}

#[test]
fn every_event_data_round_trips_with_the_prefix_convention() {
    for data in sample_data() {
        let ty = data.type_name().to_owned();
        let mut env = envelope(data);
        env.delivery = Delivery::HttpContact("https://events.example.org:8443/bw/notify".into());
        env.shared_subscription_id = Some("shared-1".into());
        env.target_sub_id = Some("sub".into());
        let e = Event::from(env);
        let xml = e.to_xml();
        let s = text(&xml);
        assert!(
            s.contains(&format!("<xsi:eventData xsi1:type=\"xsi:{ty}\"")),
            "{s}"
        );
        assert_prefix_convention(s);
        event_round_trip(&e);
    }
}

#[test]
fn envelope_schema_order() {
    let mut env = envelope(EventData::SubscriptionTerminated);
    env.shared_subscription_id = Some("sh".into());
    env.target_sub_id = Some("ts".into());
    env.owner = Owner::Client("UCaaS".into());
    let xml = Event::from(env).to_xml();
    let el = Element::from_xml(&xml).unwrap();
    assert_eq!(el.name, "Event");
    assert_eq!(el.attr("xsi:type"), Some("xsi:SubscriptionEvent"));
    assert_eq!(
        names(&el),
        [
            "eventID",
            "sequenceNumber",
            "clientId",
            "externalApplicationId",
            "subscriptionId",
            "sharedSubscriptionId",
            "channelId",
            "targetId",
            "targetSubId",
            "eventData"
        ]
    );
    assert!(
        text(&xml).ends_with(
            "<xsi:eventData xsi1:type=\"xsi:SubscriptionTerminatedEvent\"/></xsi:Event>"
        )
    );
}

#[test]
fn channel_terminated_and_error_events() {
    for reason in ChannelTerminatedReason::ALL {
        let e = Event::from(ChannelTerminatedEvent {
            channel_id: "5d0c2e77".into(),
            reason: *reason,
        });
        event_round_trip(&e);
        assert_eq!(e.event_id(), None);
    }
    let e = Event::from(ChannelTerminatedEvent {
        channel_id: "5d0c2e77".into(),
        reason: ChannelTerminatedReason::Expired,
    });
    assert_eq!(
        text(&e.to_xml()),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <xsi:Event xmlns:xsi=\"http://schema.broadsoft.com/xsi\" \
         xmlns:xsi1=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi1:type=\"xsi:ChannelTerminatedEvent\"><xsi:channelId>5d0c2e77</xsi:channelId>\
         <xsi:reason>Expired</xsi:reason></xsi:Event>"
    );
    let e = Event::from(ErrorEvent {
        error_code: -3,
        error_message: "bad <input> & more".into(),
    });
    assert!(text(&e.to_xml()).contains("<xsi:errorMessage>bad &lt;input&gt; &amp; more<"));
    event_round_trip(&e);
}

#[test]
fn tolerant_reader() {
    // Pretty-printed, other prefixes, default namespace on the payload, unknown elements,
    // an unknown eventData type with a typed child.
    let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<bs:Event xmlns:bs="http://schema.broadsoft.com/xsi"
    xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:type="bs:SubscriptionEvent">
  <bs:sequenceNumber>9</bs:sequenceNumber>
  <bs:eventID>ev-9</bs:eventID>
  <bs:userId>alice@example.com</bs:userId>
  <bs:externalApplicationId>app</bs:externalApplicationId>
  <bs:subscriptionId>sub</bs:subscriptionId>
  <bs:channelId>ch</bs:channelId>
  <bs:futureElement>x</bs:futureElement>
  <bs:eventData i:type="bs:CallHeldEvent">
    <call xmlns="http://schema.broadsoft.com/xsi">
      <callId>callhalf-1:0</callId><extTrackingId>1:1</extTrackingId>
      <personality>Originator</personality><state>Remote Held</state>
      <remoteParty><address countryCode="44">tel:+441</address><callType>Network</callType></remoteParty>
      <endpoint i:type="bs:AccessEndpoint"><addressOfRecord>a@b</addressOfRecord></endpoint>
      <startTime>1</startTime><heldTime>2</heldTime>
    </call>
  </bs:eventData>
</bs:Event>"#;
    let e = Event::from_xml(body).unwrap();
    let env = e.as_subscription().unwrap();
    assert_eq!(e.event_id(), Some("ev-9"));
    assert_eq!(env.sequence_number, 9);
    assert_eq!(env.target_id, None);
    assert_eq!(env.data.type_name(), "CallHeldEvent");
    let call = &env.data.calls()[0];
    assert_eq!(call.state, CallState::RemoteHeld);
    assert_eq!(call.held_time, Some(2));
    assert_eq!(
        call.remote_party.address,
        Some(Address::new("tel:+441").with_country_code(44))
    );

    let other = br#"<xsi:Event xmlns:xsi="http://schema.broadsoft.com/xsi"
        xmlns:xsi1="http://www.w3.org/2001/XMLSchema-instance" xsi1:type="xsi:SubscriptionEvent">
        <xsi:eventID>e</xsi:eventID><xsi:sequenceNumber>1</xsi:sequenceNumber>
        <xsi:userId>u@d</xsi:userId><xsi:externalApplicationId>a</xsi:externalApplicationId>
        <xsi:subscriptionId>s</xsi:subscriptionId><xsi:channelId>c</xsi:channelId>
        <xsi:eventData xsi1:type="xsi:ConferenceHeldEvent"><xsi:conference>
        <xsi:state>Held</xsi:state></xsi:conference></xsi:eventData></xsi:Event>"#;
    let e = Event::from_xml(other).unwrap();
    let data = &e.as_subscription().unwrap().data;
    assert_eq!(data.type_name(), "ConferenceHeldEvent");
    assert!(data.calls().is_empty());
    // Written back with the lab's convention, and read again identically.
    let again = Event::from_xml(&e.to_xml()).unwrap();
    assert_eq!(again, e);
    assert!(text(&e.to_xml()).contains(
        "<xsi:eventData xsi1:type=\"xsi:ConferenceHeldEvent\"><xsi:conference>\
         <xsi:state>Held</xsi:state></xsi:conference></xsi:eventData>"
    ));
}

#[test]
fn reader_rejections() {
    let base = |ty: &str, inner: &str| {
        format!(
            "<xsi:Event xmlns:xsi=\"http://schema.broadsoft.com/xsi\" \
             xmlns:xsi1=\"http://www.w3.org/2001/XMLSchema-instance\" xsi1:type=\"xsi:{ty}\">{inner}</xsi:Event>"
        )
    };
    assert!(Event::from_xml(base("Bogus", "").as_bytes()).is_err());
    assert!(
        Event::from_xml(
            base("ChannelTerminatedEvent", "<xsi:channelId>c</xsi:channelId>").as_bytes()
        )
        .is_err()
    );
    assert!(
        Event::from_xml(
            base(
                "ChannelTerminatedEvent",
                "<xsi:channelId>c</xsi:channelId><xsi:reason>maxChannelsReached</xsi:reason>"
            )
            .as_bytes()
        )
        .is_err()
    );
    assert!(
        Event::from_xml(base("SubscriptionEvent", "<xsi:eventID>e</xsi:eventID>").as_bytes())
            .is_err()
    );
    assert!(Event::from_xml(b"<Event xmlns=\"http://schema.broadsoft.com/xsi\"/>").is_err());
    assert!(Event::from_xml(b"<Channel xmlns=\"http://schema.broadsoft.com/xsi\"/>").is_err());
}

// ---------------------------------------------------------------- property tests

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9:@._-]{0,40}"
}

fn opt_id() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(id())
}

fn positive() -> impl Strategy<Value = u32> {
    1..=i32::MAX as u32
}

prop_compose! {
    fn channels()(
        channel_id in opt_id(),
        channel_set_id in opt_id(),
        priority in proptest::option::of(positive()),
        weight in proptest::option::of(positive()),
        expires in proptest::option::of(0..=i32::MAX as u32),
        application_id in opt_id(),
    ) -> Channel {
        Channel { channel_id, channel_set_id, priority, weight, expires, application_id }
    }
}

prop_compose! {
    fn event_responses()(
        event_id in id(),
        status in proptest::sample::select(EventStatus::ALL),
        reason in "[!-~]([ -~]{0,20}[!-~])?",
    ) -> EventResponse {
        EventResponse { event_id, status, reason }
    }
}

prop_compose! {
    fn subscriptions()(
        ids in (opt_id(), opt_id(), opt_id(), opt_id(), opt_id()),
        owner in proptest::option::of(prop_oneof![
            id().prop_map(SubscriptionOwner::Subscriber),
            id().prop_map(SubscriptionOwner::Client),
        ]),
        target_id_type in proptest::option::of(proptest::sample::select(TargetIdType::ALL)),
        events in proptest::option::of(prop_oneof![
            "[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8}){0,2}".prop_map(EventPackages::Single),
            proptest::collection::vec("[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8}){0,2}", 1..4)
                .prop_map(EventPackages::List),
        ]),
        expires in proptest::option::of(0..=i32::MAX as u32),
        route in proptest::option::of(prop_oneof![
            id().prop_map(|s| (None, Some(s))),
            "(https?://)?[a-z]{1,10}(:[1-9][0-9]{0,3})?/[a-z/]{0,10}".prop_map(|u| (Some(u), None)),
        ]),
        application_id in opt_id(),
    ) -> Subscription {
        let (subscription_id, shared_subscription_id, target_grp_parent_id, target_id, target_sub_id) = ids;
        let (http_contact, channel_set_id) = route.unwrap_or((None, None));
        Subscription {
            subscription_id,
            shared_subscription_id,
            owner,
            target_id_type,
            target_grp_parent_id,
            target_id,
            target_sub_id,
            events,
            expires,
            http_contact,
            channel_set_id,
            application_id,
        }
    }
}

proptest! {
    #[test]
    fn request_parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Channel::from_xml(&body);
        let _ = EventResponse::from_xml(&body);
        let _ = EventResponse::parse(&body, true);
        let _ = Subscription::from_xml(&body);
        let _ = ChannelHeartBeat::from_xml(&body);
        let _ = Event::from_xml(&body);
        let _ = ContactUrl::parse(&String::from_utf8_lossy(&body));
    }

    #[test]
    fn request_parsers_never_panic_on_near_documents(
        root in proptest::sample::select(vec!["Channel", "EventResponse", "Subscription"]),
        children in proptest::collection::vec(
            (proptest::sample::select(vec![
                "channelId", "channelSetId", "priority", "weight", "expires", "applicationId",
                "eventID", "statusCode", "reason", "event", "eventPackageList", "httpContact",
                "uri", "subscriberId", "targetIdType",
            ]), "[ -~]{0,12}"),
            0..8,
        ),
    ) {
        let inner: String = children
            .iter()
            .map(|(n, t)| format!("<{n}>{}</{n}>", t.replace('&', "&amp;").replace('<', "&lt;")))
            .collect();
        let body = xml_body(root, &inner);
        let _ = Channel::from_xml(&body);
        let _ = EventResponse::from_xml(&body);
        let _ = Subscription::from_xml(&body);
    }

    #[test]
    fn channel_round_trips(ch in channels()) {
        round_trip(&ch);
    }

    #[test]
    fn event_response_round_trips(r in event_responses()) {
        round_trip(&r);
    }

    #[test]
    fn subscription_round_trips(s in subscriptions()) {
        round_trip(&s);
        if let Some(uri) = &s.http_contact {
            prop_assert!(ContactUrl::parse(uri).is_ok(), "{}", uri);
        }
    }

    #[test]
    fn contact_url_display_reparses(
        uri in "(https?://)?[a-z0-9.-]{1,12}(:[0-9]{1,5})?(/[!-~]{0,12})?",
    ) {
        if let Ok(u) = ContactUrl::parse(&uri) {
            prop_assert_eq!(ContactUrl::parse(&u.to_string()).unwrap(), u);
        }
    }

    #[test]
    fn call_events_round_trip(
        kind in proptest::sample::select(CallEventKind::ALL),
        seq in positive(),
        name in "[ -~]{1,20}",
        start in any::<i64>(),
    ) {
        let mut call = received_call();
        call.remote_party.name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
        call.start_time = start;
        let mut env = envelope(EventData::call(kind, call));
        env.sequence_number = seq;
        let e = Event::from(env);
        let back = Event::from_xml(&e.to_xml()).unwrap();
        prop_assert_eq!(back, e);
    }
}
