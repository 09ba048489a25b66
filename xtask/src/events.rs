//! Offline part of the conformance run: one rendered sample of every Xsi-Events document
//! type bwlab-xsi writes (channel and subscription requests/answers, the heartbeat chunk, the
//! event response, and every event and `eventData` type), for schema validation.
//!
//! No lab is needed: the documents come straight from the `bwlab_xsi::documents::events`
//! writers, the same ones the XSP uses on the wire.

use std::path::Path;
use std::process::Command;

use bwlab_xsi::XsiDocument;
use bwlab_xsi::documents::events::{
    ActivatableServiceInfo, Call, CallEventKind, CallState, CallType, Channel, ChannelHeartBeat,
    ChannelSet, ChannelTerminatedEvent, ChannelTerminatedReason, Delivery, ErrorEvent, Event,
    EventData, EventPackages, EventResponse, EventStatus, HookStatus, InternalReleaseCause,
    MessageSummary, Owner, Personality, Redirect, RedirectReason, ReleaseCause, ReleasingParty,
    RemoteParty, ServiceEvent, ServiceState, Subscription, SubscriptionEvent, SubscriptionList,
    SubscriptionOwner, SystemChannel, SystemChannelSet, TargetIdType,
};
use bwlab_xsi::documents::push::{
    DeviceToken, PushEvents, PushNotificationRegistration, PushNotificationRegistrations,
};
use bwlab_xsi::documents::services::{
    BroadWorksAnywhere, BroadWorksAnywhereLocation, CallForwardingAlways,
    CallForwardingAlwaysSecondary, CallForwardingBusy, CallForwardingNoAnswer, DoNotDisturb,
    RemoteOffice, SimRingIncomingCalls, SimRingLocation, SimultaneousRingPersonal,
};
use bwlab_xsi::{Address, Nillable};

/// One rendered document: a short label and its bytes.
pub struct Sample {
    pub label: String,
    pub xml: Vec<u8>,
}

fn doc(label: &str, d: &impl XsiDocument) -> Sample {
    Sample {
        label: label.to_owned(),
        xml: d.to_xml(),
    }
}

fn event(label: &str, e: impl Into<Event>) -> Sample {
    Sample {
        label: label.to_owned(),
        xml: e.into().to_xml(),
    }
}

/// A call with every modelled field set, including the lab-defined `callerIdDisposition`
/// (which the run strips before validation).
fn full_call() -> Call {
    let mut call = Call::new(
        "callhalf-4711:0",
        "88:1",
        Personality::Terminator,
        CallState::Released,
        1_700_000_000_123,
    );
    call.network_call_id = Some("a84b4c76e66710@198.51.100.7".into());
    call.release_cause = Some(ReleaseCause {
        internal_release_cause: InternalReleaseCause::Busy,
        q850_cause: Some("17".into()),
        sip_status: Some("486 Busy Here".into()),
        cdr_termination_cause: Some("017".into()),
    });
    call.releasing_party = Some(ReleasingParty::Remote);
    call.remote_party = bob();
    call.remote_party.user_dn = Some(Address::new("+15551232002").with_country_code(1));
    call.redirect = Some(Redirect {
        address: Some(Address::new("tel:3003")),
        reason: RedirectReason::Unconditional,
        redirect_time: 1_700_000_001_000,
    });
    call.appearance = Some(1);
    call.allow_answer = true;
    call.allow_retrieve = true;
    call.answer_time = Some(1_700_000_004_567);
    call.held_time = Some(1_700_000_010_000);
    call.total_held_time = Some(5000);
    call.detached_time = Some(1_700_000_050_000);
    call.release_time = Some(1_700_000_060_890);
    call.caller_id_disposition = Some("presented".into());
    call
}

fn bob() -> RemoteParty {
    RemoteParty {
        name: Some("Bob Jones".into()),
        address: Some(Address::new("tel:2002")),
        user_id: Some("bob@lab.example".into()),
        user_dn: None,
        privacy: false,
        call_type: Some(CallType::Group),
    }
}

fn minimal_call() -> Call {
    let mut call = Call::new(
        "callhalf-4712:0",
        "89:1",
        Personality::Originator,
        CallState::Alerting,
        1_700_000_000_500,
    );
    call.remote_party.address = Some(Address::new("tel:2002"));
    call
}

fn envelope(data: EventData) -> SubscriptionEvent {
    SubscriptionEvent {
        event_id: "2f8e4c61-0a9b-4d3e-b5c7-8e1f2a3b4c5d".into(),
        sequence_number: 3,
        owner: Owner::User("alice@lab.example".into()),
        external_application_id: "com.example.softclient".into(),
        subscription_id: "c4e0a1b2-7f6d-4e3c-9b8a-1d2e3f4a5b6c".into(),
        shared_subscription_id: None,
        delivery: Delivery::Channel("5d0c2e77-1b43-4c1a-9e2f-83aa10c7d9e1".into()),
        target_id: Some("alice@lab.example".into()),
        target_sub_id: None,
        data,
    }
}

fn services() -> Vec<ServiceEvent> {
    let number = || Nillable::Value(Address::new("+15551230000"));
    vec![
        ServiceEvent::DoNotDisturb(ServiceState::Info(DoNotDisturb {
            active: Some(true),
            ring_splash: Some(false),
        })),
        ServiceEvent::CallForwardingAlways(ServiceState::Info(CallForwardingAlways {
            active: Some(true),
            forward_to_phone_number: number(),
            ring_splash: Some(true),
        })),
        ServiceEvent::CallForwardingAlwaysSecondary(ServiceState::Info(
            CallForwardingAlwaysSecondary {
                active: Some(false),
                forward_to_phone_number: Nillable::Absent,
                ring_splash: None,
            },
        )),
        ServiceEvent::CallForwardingBusy(ServiceState::Info(CallForwardingBusy {
            active: Some(true),
            forward_to_phone_number: number(),
        })),
        ServiceEvent::CallForwardingNoAnswer(ServiceState::Info(CallForwardingNoAnswer {
            active: Some(true),
            forward_to_phone_number: number(),
            number_of_rings: Some(3),
        })),
        ServiceEvent::CallWaiting(ServiceState::Info(ActivatableServiceInfo {
            active: Some(true),
        })),
        ServiceEvent::VoiceMessaging(ServiceState::Info(ActivatableServiceInfo {
            active: Some(false),
        })),
        ServiceEvent::ThirdPartyVoiceMailSupport(ServiceState::Info(ActivatableServiceInfo {
            active: Some(true),
        })),
        ServiceEvent::SimultaneousRingPersonal(ServiceState::Info(SimultaneousRingPersonal {
            active: Some(true),
            incoming_calls: Some(SimRingIncomingCalls::RingForAllIncomingCalls),
            sim_ring_locations: Nillable::Value(vec![SimRingLocation {
                address: Address::new("+15551239999"),
                answer_confirmation_required: Some(false),
            }]),
            criteria_activation_list: None,
        })),
        ServiceEvent::RemoteOffice(ServiceState::Info(RemoteOffice {
            active: Some(false),
            remote_office_number: Nillable::Nil,
        })),
        ServiceEvent::BroadWorksAnywhere(ServiceState::Info(BroadWorksAnywhere {
            alert_all_locations_for_click_to_dial_calls: Some(false),
            alert_all_locations_for_group_paging_calls: Some(true),
            locations: Some(vec![BroadWorksAnywhereLocation {
                location_uri: None,
                phone_number: Address::new("+15551238888"),
                active: Some(true),
                description: Some("mobile".into()),
                criteria_activations: None,
            }]),
        })),
        ServiceEvent::DoNotDisturb(ServiceState::Unassigned),
    ]
}

/// Every sample, labelled.
pub fn samples() -> Vec<Sample> {
    let mut out = Vec::new();

    // Requests and answers.
    let add = Channel {
        channel_id: None,
        channel_set_id: Some("softclient-alice-4f1c".into()),
        priority: Some(1),
        weight: Some(100),
        expires: Some(7200),
        application_id: Some("com.example.softclient".into()),
    };
    let mut listed = add.clone();
    listed.channel_id = Some("5d0c2e77-1b43-4c1a-9e2f-83aa10c7d9e1".into());
    out.push(doc("Channel (add request)", &add));
    out.push(doc(
        "Channel (granted)",
        &Channel::granted("5d0c2e77-1b43-4c1a-9e2f-83aa10c7d9e1", 3600),
    ));
    out.push(doc(
        "ChannelSet",
        &ChannelSet {
            channels: vec![listed.clone(), listed],
        },
    ));
    out.push(Sample {
        label: "ChannelHeartBeat (chunk)".into(),
        xml: ChannelHeartBeat::BYTES.to_vec(),
    });
    out.push(doc("EventResponse", &EventResponse::ok("2f8e4c61")));
    out.push(doc(
        "EventResponse (481)",
        &EventResponse {
            event_id: "2f8e4c61".into(),
            status: EventStatus::UnknownSubscription,
            reason: "unknown subscription".into(),
        },
    ));
    let sub_request = Subscription {
        events: Some(EventPackages::Single("Advanced Call".into())),
        expires: Some(86400),
        channel_set_id: Some("softclient-alice-4f1c".into()),
        application_id: Some("com.example.softclient".into()),
        ..Subscription::default()
    };
    out.push(doc("Subscription (channel request)", &sub_request));
    let http_request = Subscription {
        events: Some(EventPackages::List(vec![
            "Basic Call".into(),
            "Do Not Disturb".into(),
        ])),
        expires: Some(2_147_483_647),
        http_contact: Some("https://events.example.org:8443/bw/notify".into()),
        application_id: Some("urn:example:middleware:1".into()),
        ..Subscription::default()
    };
    out.push(doc("Subscription (HTTP contact request)", &http_request));
    out.push(doc(
        "Subscription (created)",
        &Subscription::created("c4e0a1b2", 3600),
    ));
    let full = Subscription {
        subscription_id: Some("c4e0a1b2".into()),
        shared_subscription_id: Some("shared-1".into()),
        owner: Some(SubscriptionOwner::Subscriber("alice@lab.example".into())),
        target_id_type: Some(TargetIdType::Group),
        target_grp_parent_id: Some("sp1".into()),
        target_id: Some("sales".into()),
        target_sub_id: Some("conf-1".into()),
        ..sub_request.clone()
    };
    out.push(doc("Subscription (GET, full)", &full));
    let system = Subscription {
        subscription_id: Some("d5f1".into()),
        owner: Some(SubscriptionOwner::Client("UCaaS".into())),
        target_id_type: Some(TargetIdType::User),
        target_id: Some("alice@lab.example".into()),
        ..http_request
    };
    out.push(doc(
        "SubscriptionList",
        &SubscriptionList {
            subscriptions: vec![full, system],
        },
    ));
    out.push(doc(
        "SubscriptionList (empty)",
        &SubscriptionList::default(),
    ));
    let sys_channel = SystemChannel {
        channel_id: Some("6e1d".into()),
        channel_set_id: Some("ucaas-set".into()),
        priority: Some(1),
        weight: Some(50),
    };
    out.push(doc(
        "SystemChannel (request)",
        &SystemChannel {
            channel_id: None,
            ..sys_channel.clone()
        },
    ));
    out.push(doc(
        "SystemChannelSet",
        &SystemChannelSet {
            channels: vec![sys_channel],
        },
    ));

    // Events.
    for kind in CallEventKind::ALL {
        out.push(event(
            kind.as_str(),
            envelope(EventData::call(*kind, full_call())),
        ));
    }
    let more = [
        EventData::CallRedirected(vec![full_call(), minimal_call()]),
        EventData::CallSubscription {
            calls: vec![full_call(), minimal_call()],
            hook_status: HookStatus::OffHook,
        },
        EventData::CallSubscription {
            calls: vec![],
            hook_status: HookStatus::OnHook,
        },
        EventData::CallSubscriptionResync {
            calls: vec![minimal_call()],
            hook_status: HookStatus::OffHook,
        },
        EventData::HookStatus(HookStatus::OnHook),
        EventData::VoiceMailMessageSummary(MessageSummary {
            new_messages: 2,
            old_messages: 5,
            new_urgent_messages: 1,
            old_urgent_messages: 1,
        }),
        EventData::VoiceMailMessageSummary(MessageSummary::default()),
        EventData::PushNotificationRegistration(PushNotificationRegistrations {
            registrations: vec![PushNotificationRegistration {
                application_id: "com.example.softphone".into(),
                application_version: "5.2.0".into(),
                registration_id: "inst-1".into(),
                device_os_type: "Android".into(),
                device_os_version: "14".into(),
                device_tokens: vec![DeviceToken {
                    token: "tok-legacy".into(),
                    token_type: None,
                    events: PushEvents::Names(vec!["NEW_CALL".into(), "CALL_UPD".into()]),
                }],
            }],
        }),
        EventData::SubscriptionTerminated,
        EventData::CallParkedAgainst(Some(bob())),
        EventData::CallParkedAgainst(None),
    ];
    for (i, data) in more.into_iter().enumerate() {
        let label = format!("{} #{i}", data.type_name());
        out.push(event(&label, envelope(data)));
    }
    for (i, s) in services().into_iter().enumerate() {
        let label = format!("{} #{i}", s.type_name());
        out.push(event(&label, envelope(EventData::Service(s))));
    }
    // Envelope variants: HTTP contact, clientId owner, shared and sub-target IDs.
    let mut env = envelope(EventData::HookStatus(HookStatus::OffHook));
    env.owner = Owner::Client("UCaaS".into());
    env.shared_subscription_id = Some("shared-1".into());
    env.delivery = Delivery::HttpContact("https://events.example.org:8443/bw/notify".into());
    env.target_sub_id = Some("conf-1".into());
    out.push(event("SubscriptionEvent (HTTP contact, clientId)", env));
    for reason in ChannelTerminatedReason::ALL {
        out.push(event(
            &format!("ChannelTerminatedEvent ({reason})"),
            ChannelTerminatedEvent {
                channel_id: "5d0c2e77-1b43-4c1a-9e2f-83aa10c7d9e1".into(),
                reason: *reason,
            },
        ));
    }
    out.push(event(
        "ErrorEvent",
        ErrorEvent {
            error_code: 110_001,
            error_message: "only EventResponse and ChannelHeartBeat may be sent".into(),
        },
    ));
    out
}

/// Renders every sample into `dir`, validates them with `xmllint --schema`, prints one line
/// per document, and returns (documents, failures).
pub fn check(schema: &Path, dir: &Path) -> Result<(usize, usize), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for (i, sample) in samples().into_iter().enumerate() {
        let mut text = String::from_utf8(sample.xml).map_err(|e| e.to_string())?;
        let stripped: Vec<&str> = crate::NEWER_THAN_SCHEMA
            .iter()
            .copied()
            .filter(|name| crate::strip_elements(&mut text, name) > 0)
            .collect();
        let file = dir.join(format!("event-{i:02}.xml"));
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        files.push((sample.label, file, stripped));
    }
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .args(files.iter().map(|(_, f, _)| f))
        .output()
        .map_err(|e| format!("running xmllint: {e}"))?;
    let report = String::from_utf8_lossy(&output.stderr);
    let mut failures = 0;
    for (label, file, stripped) in &files {
        let name = file.display().to_string();
        let ok = report
            .lines()
            .any(|l| l.starts_with(&name) && l.ends_with(" validates"));
        if ok {
            let note = if stripped.is_empty() {
                String::new()
            } else {
                format!(
                    "  (not in the schema, not checked: {})",
                    stripped.join(", ")
                )
            };
            println!("ok   {:<14} {label}{note}", "xsi-events");
        } else {
            failures += 1;
            println!("FAIL {:<14} {label}", "xsi-events");
            for line in report.lines().filter(|l| l.starts_with(&name)) {
                println!("       {line}");
            }
        }
    }
    Ok((files.len(), failures))
}
