//! From the AS's domain events to the bytes on the wire.
//!
//! The AS describes what happened; the Xsi-Events web app owns the XML (as on a real XSP).
//! Each delivery renders its own envelope (channel id, sequence number differ per copy), so
//! rendering writes straight into one buffer without building a tree.

use bwlab_appserver as asv;
use bwlab_profiles::ChannelTerminatedReason as Reason;
use bwlab_xsi::documents::events as x;
use bwlab_xsi::documents::services as xs;
use bwlab_xsi::documents::{Address, Nillable};
use bytes::{Bytes, BytesMut};

/// The `Event` document for one delivery.
pub(crate) fn notification(n: &asv::Notification) -> Bytes {
    let ev = x::SubscriptionEvent {
        event_id: n.event_id.to_string(),
        sequence_number: n.sequence_number,
        owner: match &n.owner {
            asv::Owner::User(u) => x::Owner::User(u.to_string()),
            asv::Owner::Client(c) => x::Owner::Client(c.to_string()),
        },
        external_application_id: n
            .external_application_id
            .as_deref()
            .unwrap_or_default()
            .to_owned(),
        subscription_id: n.subscription_id.to_string(),
        shared_subscription_id: n.shared_subscription_id.as_deref().map(str::to_owned),
        delivery: match &n.route {
            asv::Route::Channel(c) => x::Delivery::Channel(c.to_string()),
            asv::Route::HttpContact(u) => x::Delivery::HttpContact(u.to_string()),
        },
        target_id: n.target_id.as_deref().map(str::to_owned),
        target_sub_id: n.target_sub_id.as_deref().map(str::to_owned),
        data: data(&n.data),
    };
    let mut out = BytesMut::with_capacity(1024);
    ev.write_xml(&mut out);
    out.freeze()
}

/// `ChannelTerminatedEvent` for a channel.
pub(crate) fn channel_terminated(channel_id: &str, reason: Reason) -> Bytes {
    // `maxChannelsReached` left the schema in R22; nothing in the lab sends it.
    let reason = x::ChannelTerminatedReason::parse(reason.as_str())
        .unwrap_or(x::ChannelTerminatedReason::ExplicitDelete);
    x::Event::ChannelTerminated(x::ChannelTerminatedEvent {
        channel_id: channel_id.to_owned(),
        reason,
    })
    .to_bytes()
}

fn data(d: &asv::EventData) -> x::EventData {
    match d {
        asv::EventData::Call { kind, call: c } => {
            let kind = x::CallEventKind::parse(kind.type_name())
                .unwrap_or(x::CallEventKind::parse("CallUpdatedEvent").expect("known type"));
            x::EventData::call(kind, call(c))
        }
        asv::EventData::CallRedirected(calls) => {
            x::EventData::CallRedirected(calls.iter().map(call).collect())
        }
        asv::EventData::CallSubscription(s) => {
            let calls = s.calls.iter().map(call).collect();
            let hook_status = hook(s.hook_status);
            if s.resync {
                x::EventData::CallSubscriptionResync { calls, hook_status }
            } else {
                x::EventData::CallSubscription { calls, hook_status }
            }
        }
        asv::EventData::HookStatus(h) => x::EventData::HookStatus(hook(*h)),
        asv::EventData::Service { package, info } => service(*package, info.as_ref()),
        asv::EventData::VoiceMailSummary(s) => {
            x::EventData::VoiceMailMessageSummary(x::MessageSummary {
                new_messages: s.new,
                old_messages: s.old,
                new_urgent_messages: s.new_urgent,
                old_urgent_messages: s.old_urgent,
            })
        }
        asv::EventData::PushRegistrations(regs) => x::EventData::PushNotificationRegistration(
            bwlab_xsi::documents::push::PushNotificationRegistrations {
                registrations: regs.iter().map(crate::actions::push::to_doc).collect(),
            },
        ),
        asv::EventData::SubscriptionTerminated => x::EventData::SubscriptionTerminated,
    }
}

fn hook(h: asv::HookStatus) -> x::HookStatus {
    match h {
        asv::HookStatus::OffHook => x::HookStatus::OffHook,
        asv::HookStatus::OnHook => x::HookStatus::OnHook,
    }
}

/// `tel:+1555…` / `tel:100` / a SIP URI as the schema's `Address` (value kept verbatim).
fn address(s: &str) -> Address {
    Address::new(s)
}

fn call(c: &asv::CallSnapshot) -> x::Call {
    let personality = match c.personality {
        asv::Personality::Originator => x::Personality::Originator,
        asv::Personality::Terminator => x::Personality::Terminator,
        asv::Personality::ClickToDial => x::Personality::ClickToDial,
    };
    let state = x::CallState::parse(c.state.as_str()).unwrap_or(x::CallState::Active);
    let mut out = x::Call::new(
        c.call_id.to_string(),
        c.ext_tracking_id.to_string(),
        personality,
        state,
        c.start_time,
    );
    out.network_call_id = c.network_call_id.as_deref().map(str::to_owned);
    out.release_cause = c
        .release_cause
        .and_then(|r| x::InternalReleaseCause::parse(r.as_str()).map(x::ReleaseCause::new));
    out.releasing_party = c.releasing_party.map(|p| match p {
        asv::ReleasingParty::Local => x::ReleasingParty::Local,
        asv::ReleasingParty::Remote => x::ReleasingParty::Remote,
    });
    let rp = &c.remote_party;
    out.remote_party = x::RemoteParty {
        name: rp.name.clone(),
        address: rp.address.as_deref().map(address),
        user_id: rp.user_id.clone(),
        user_dn: rp.user_dn.as_deref().map(address),
        privacy: false,
        call_type: x::CallType::parse(rp.call_type.as_str()),
    };
    out.redirect = c.redirect.as_ref().and_then(|r| {
        Some(x::Redirect {
            address: r.address.as_deref().map(address),
            reason: x::RedirectReason::parse(r.reason.as_str())?,
            redirect_time: r.time,
        })
    });
    out.allow_answer =
        c.state == asv::CallState::Alerting && c.personality == asv::Personality::Terminator;
    out.allow_retrieve = c.state == asv::CallState::Held;
    out.answer_time = c.answer_time;
    out.held_time = c.held_time;
    out.detached_time = c.detached_time;
    out.release_time = c.release_time;
    out.caller_id_disposition = c.caller_id_disposition.map(|d| d.as_str().to_owned());
    out
}

fn forward_to(n: &Option<String>) -> Nillable<Address> {
    match n {
        Some(v) => Nillable::Value(address(v)),
        None => Nillable::Absent,
    }
}

fn service(package: bwlab_profiles::EventPackage, info: Option<&asv::ServiceInfo>) -> x::EventData {
    use asv::ServiceInfo as I;
    use bwlab_profiles::EventPackage as P;
    use x::ServiceEvent as E;
    use x::ServiceState::{Info, Unassigned};
    let ev = match (package, info) {
        (P::DoNotDisturb, None) => E::DoNotDisturb(Unassigned),
        (P::CallForwardingAlways, None) => E::CallForwardingAlways(Unassigned),
        (P::CallForwardingAlwaysSecondary, None) => E::CallForwardingAlwaysSecondary(Unassigned),
        (P::CallForwardingBusy, None) => E::CallForwardingBusy(Unassigned),
        (P::CallForwardingNoAnswer, None) => E::CallForwardingNoAnswer(Unassigned),
        (P::CallWaiting, None) => E::CallWaiting(Unassigned),
        (P::VoiceMessaging, None) => E::VoiceMessaging(Unassigned),
        (P::ThirdPartyVoiceMailSupport, None) => E::ThirdPartyVoiceMailSupport(Unassigned),
        (P::SimultaneousRingPersonal, None) => E::SimultaneousRingPersonal(Unassigned),
        (P::RemoteOffice, None) => E::RemoteOffice(Unassigned),
        (P::BroadWorksAnywhere, None) => E::BroadWorksAnywhere(Unassigned),
        (
            _,
            Some(I::DoNotDisturb {
                active,
                ring_splash,
            }),
        ) => E::DoNotDisturb(Info(xs::DoNotDisturb {
            active: Some(*active),
            ring_splash: Some(*ring_splash),
        })),
        (
            _,
            Some(I::CallForwardingAlways {
                active,
                forward_to_phone_number,
                ring_splash,
            }),
        ) => E::CallForwardingAlways(Info(xs::CallForwardingAlways {
            active: Some(*active),
            forward_to_phone_number: forward_to(forward_to_phone_number),
            ring_splash: Some(*ring_splash),
        })),
        (
            _,
            Some(I::CallForwardingAlwaysSecondary {
                active,
                forward_to_phone_number,
                ring_splash,
            }),
        ) => E::CallForwardingAlwaysSecondary(Info(xs::CallForwardingAlwaysSecondary {
            active: Some(*active),
            forward_to_phone_number: forward_to(forward_to_phone_number),
            ring_splash: Some(*ring_splash),
        })),
        (
            _,
            Some(I::CallForwardingBusy {
                active,
                forward_to_phone_number,
            }),
        ) => E::CallForwardingBusy(Info(xs::CallForwardingBusy {
            active: Some(*active),
            forward_to_phone_number: forward_to(forward_to_phone_number),
        })),
        (
            _,
            Some(I::CallForwardingNoAnswer {
                active,
                forward_to_phone_number,
                number_of_rings,
            }),
        ) => E::CallForwardingNoAnswer(Info(xs::CallForwardingNoAnswer {
            active: Some(*active),
            forward_to_phone_number: forward_to(forward_to_phone_number),
            number_of_rings: Some(*number_of_rings),
        })),
        (_, Some(I::CallWaiting { active })) => E::CallWaiting(Info(x::ActivatableServiceInfo {
            active: Some(*active),
        })),
        (_, Some(I::VoiceMessaging { active })) => {
            E::VoiceMessaging(Info(x::ActivatableServiceInfo {
                active: Some(*active),
            }))
        }
        (_, Some(I::ThirdPartyVoiceMailSupport { active })) => {
            E::ThirdPartyVoiceMailSupport(Info(x::ActivatableServiceInfo {
                active: Some(*active),
            }))
        }
        (_, Some(I::SimultaneousRingPersonal { active, locations })) => {
            E::SimultaneousRingPersonal(Info(xs::SimultaneousRingPersonal {
                active: Some(*active),
                incoming_calls: Some(xs::SimRingIncomingCalls::DoNotRingIfOnCall),
                sim_ring_locations: if locations.is_empty() {
                    Nillable::Absent
                } else {
                    Nillable::Value(
                        locations
                            .iter()
                            .map(|l| xs::SimRingLocation {
                                address: address(l),
                                answer_confirmation_required: Some(false),
                            })
                            .collect(),
                    )
                },
                criteria_activation_list: None,
            }))
        }
        (
            _,
            Some(I::RemoteOffice {
                active,
                remote_office_number,
            }),
        ) => E::RemoteOffice(Info(xs::RemoteOffice {
            active: Some(*active),
            remote_office_number: forward_to(remote_office_number),
        })),
        (
            _,
            Some(I::BroadWorksAnywhere {
                alert_all_locations_for_click_to_dial_calls,
                alert_all_locations_for_group_paging_calls,
                locations,
            }),
        ) => E::BroadWorksAnywhere(Info(xs::BroadWorksAnywhere {
            alert_all_locations_for_click_to_dial_calls: Some(
                *alert_all_locations_for_click_to_dial_calls,
            ),
            alert_all_locations_for_group_paging_calls: Some(
                *alert_all_locations_for_group_paging_calls,
            ),
            locations: Some(
                locations
                    .iter()
                    .map(|l| xs::BroadWorksAnywhereLocation {
                        location_uri: None,
                        phone_number: address(l),
                        active: Some(true),
                        description: None,
                        criteria_activations: None,
                    })
                    .collect(),
            ),
        })),
        // A package the renderer does not know: say the service is gone rather than lie.
        (_, None) => E::DoNotDisturb(Unassigned),
    };
    x::EventData::Service(ev)
}
