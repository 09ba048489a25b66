//! `GET user/{u}/services` and GET/PUT of the individual service documents.
//!
//! PUT is a partial update (Xsi §3.5.3): the body is parsed into bwlab-xsi's typed document
//! (all fields optional, nillable ones three-state), merged into the stored settings and
//! written back through `Store::update_service`, which runs the merge under the user's
//! service lock and validates the result before storing it. Two concurrent partial PUTs to
//! the same service of the same user therefore both take effect (the body is parsed before
//! the lock is taken).

use bwlab_model::services as m;
use bwlab_model::{ServiceKind, Store, User, UserIdx};
use bwlab_xsi::documents::services as x;
use bwlab_xsi::documents::services::{ServiceEntry, Services};
use bwlab_xsi::{Address, Element, ErrorCode, ErrorInfo, Nillable, ParseOptions, XsiDocument};
use hyper::StatusCode;

use crate::Shared;
use crate::errors::{Fail, Resp, empty, rendered};
use crate::journal::Exchange;

/// A service whose document this build serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImplementedService {
    /// Path segment (canonical spelling).
    pub path: &'static str,
    pub kind: ServiceKind,
}

const IMPLEMENTED: &[ImplementedService] = &[
    svc("DoNotDisturb", ServiceKind::DoNotDisturb),
    svc("CallForwardingAlways", ServiceKind::CallForwardingAlways),
    svc("CallForwardingBusy", ServiceKind::CallForwardingBusy),
    svc(
        "CallForwardingNoAnswer",
        ServiceKind::CallForwardingNoAnswer,
    ),
    svc(
        "CallForwardingNotReachable",
        ServiceKind::CallForwardingNotReachable,
    ),
    svc("CallWaiting", ServiceKind::CallWaiting),
    svc(
        "SimultaneousRingPersonal",
        ServiceKind::SimultaneousRingPersonal,
    ),
    svc("BroadWorksAnywhere", ServiceKind::BroadWorksAnywhere),
    svc("RemoteOffice", ServiceKind::RemoteOffice),
    svc("IntegratedIMP", ServiceKind::IntegratedImp),
];

const fn svc(path: &'static str, kind: ServiceKind) -> ImplementedService {
    ImplementedService { path, kind }
}

impl ImplementedService {
    pub(crate) fn find(segment: &str) -> Option<Self> {
        IMPLEMENTED
            .iter()
            .copied()
            .find(|s| s.path.eq_ignore_ascii_case(segment))
    }

    fn for_kind(kind: ServiceKind) -> Option<Self> {
        IMPLEMENTED.iter().copied().find(|s| s.kind == kind)
    }
}

/// `GET services`: assigned services in store order, with a `uri` only for the services
/// this build serves (lower-case, as real servers write them) and `xsi:nil` otherwise.
pub(crate) fn list(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let services = shared
        .store
        .assigned_services(u.idx)?
        .into_iter()
        .map(|kind| match ImplementedService::for_kind(kind) {
            Some(s) => ServiceEntry::linked(
                kind.display_name(),
                &u.user_id,
                &s.path.to_ascii_lowercase(),
            ),
            None => ServiceEntry {
                name: kind.display_name().to_owned(),
                uri: None,
            },
        })
        .collect();
    Ok(super::ok_doc(ex, &Services { services }))
}

fn addr(v: &Option<String>) -> Nillable<Address> {
    v.as_ref().map_or(Nillable::Absent, |n| {
        Nillable::Value(Address::new(n.clone()))
    })
}

fn merge_addr(put: Nillable<Address>, stored: &mut Option<String>) {
    put.map_value().apply_to(stored);
}

trait MapValue {
    fn map_value(self) -> Nillable<String>;
}

impl MapValue for Nillable<Address> {
    fn map_value(self) -> Nillable<String> {
        match self {
            Nillable::Absent => Nillable::Absent,
            Nillable::Nil => Nillable::Nil,
            Nillable::Value(a) => Nillable::Value(a.value),
        }
    }
}

fn set<T>(put: Option<T>, stored: &mut T) {
    if let Some(v) = put {
        *stored = v;
    }
}

fn incoming_to_xsi(v: m::SimRingIncomingCalls) -> x::SimRingIncomingCalls {
    match v {
        m::SimRingIncomingCalls::DoNotRingIfOnACall => x::SimRingIncomingCalls::DoNotRingIfOnCall,
        m::SimRingIncomingCalls::RingForAllIncomingCalls => {
            x::SimRingIncomingCalls::RingForAllIncomingCalls
        }
    }
}

fn incoming_to_model(v: x::SimRingIncomingCalls) -> m::SimRingIncomingCalls {
    match v {
        x::SimRingIncomingCalls::DoNotRingIfOnCall => m::SimRingIncomingCalls::DoNotRingIfOnACall,
        x::SimRingIncomingCalls::RingForAllIncomingCalls => {
            m::SimRingIncomingCalls::RingForAllIncomingCalls
        }
    }
}

fn location_uri(user: &str, number: &str) -> String {
    format!("/v2.0/user/{user}/services/BroadWorksAnywhere/Location/{number}")
}

/// The stored settings as the Xsi document.
fn document(store: &Store, u: &User, kind: ServiceKind) -> Result<Element, Fail> {
    let idx = u.idx;
    Ok(match kind {
        ServiceKind::DoNotDisturb => {
            let s: m::DoNotDisturb = store.service(idx)?;
            x::DoNotDisturb {
                active: Some(s.active),
                ring_splash: Some(s.ring_splash),
            }
            .to_element()
        }
        ServiceKind::CallForwardingAlways => {
            let s: m::CallForwardingAlways = store.service(idx)?;
            x::CallForwardingAlways {
                active: Some(s.active),
                forward_to_phone_number: addr(&s.forward_to_phone_number),
                ring_splash: Some(s.ring_splash),
            }
            .to_element()
        }
        ServiceKind::CallForwardingBusy => {
            let s: m::CallForwardingBusy = store.service(idx)?;
            x::CallForwardingBusy {
                active: Some(s.active),
                forward_to_phone_number: addr(&s.forward_to_phone_number),
            }
            .to_element()
        }
        ServiceKind::CallForwardingNoAnswer => {
            let s: m::CallForwardingNoAnswer = store.service(idx)?;
            x::CallForwardingNoAnswer {
                active: Some(s.active),
                forward_to_phone_number: addr(&s.forward_to_phone_number),
                number_of_rings: Some(s.number_of_rings),
            }
            .to_element()
        }
        ServiceKind::CallForwardingNotReachable => {
            let s: m::CallForwardingNotReachable = store.service(idx)?;
            x::CallForwardingNotReachable {
                active: Some(s.active),
                forward_to_phone_number: addr(&s.forward_to_phone_number),
            }
            .to_element()
        }
        ServiceKind::CallWaiting => {
            let s: m::CallWaiting = store.service(idx)?;
            x::CallWaiting {
                active: Some(s.active),
            }
            .to_element()
        }
        ServiceKind::IntegratedImp => {
            let s: m::IntegratedImp = store.service(idx)?;
            x::IntegratedImp {
                active: Some(s.active),
            }
            .to_element()
        }
        ServiceKind::RemoteOffice => {
            let s: m::RemoteOffice = store.service(idx)?;
            x::RemoteOffice {
                active: Some(s.active),
                remote_office_number: addr(&s.remote_office_number),
            }
            .to_element()
        }
        ServiceKind::SimultaneousRingPersonal => {
            let s: m::SimultaneousRingPersonal = store.service(idx)?;
            let locations = s
                .sim_ring_locations
                .iter()
                .map(|l| x::SimRingLocation {
                    address: Address::new(l.address.clone()),
                    answer_confirmation_required: Some(l.answer_confirmation_required),
                })
                .collect::<Vec<_>>();
            x::SimultaneousRingPersonal {
                active: Some(s.active),
                incoming_calls: Some(incoming_to_xsi(s.incoming_calls)),
                sim_ring_locations: if locations.is_empty() {
                    Nillable::Absent
                } else {
                    Nillable::Value(locations)
                },
                criteria_activation_list: None,
            }
            .to_element()
        }
        ServiceKind::BroadWorksAnywhere => {
            let s: m::BroadWorksAnywhere = store.service(idx)?;
            x::BroadWorksAnywhere {
                alert_all_locations_for_click_to_dial_calls: Some(
                    s.alert_all_locations_for_click_to_dial_calls,
                ),
                alert_all_locations_for_group_paging_calls: Some(
                    s.alert_all_locations_for_group_paging_calls,
                ),
                locations: Some(
                    s.locations
                        .iter()
                        .map(|l| x::BroadWorksAnywhereLocation {
                            location_uri: Some(location_uri(&u.user_id, &l.phone_number)),
                            phone_number: Address::new(l.phone_number.clone()),
                            active: Some(l.active),
                            description: l.description.clone(),
                            criteria_activations: None,
                        })
                        .collect(),
                ),
            }
            .to_element()
        }
        other => {
            return Err(Fail::detail(
                ErrorCode::ResourceNotFound,
                format!("{} is not served by this build", other.display_name()),
            ));
        }
    })
}

pub(crate) fn get(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    s: ImplementedService,
) -> Result<Resp, Fail> {
    let el = document(&shared.store, u, s.kind)?;
    Ok(rendered(
        200,
        bwlab_xsi::negotiate::render(&el, ex.meta().response_format()),
    ))
}

pub(crate) fn parse<D: XsiDocument>(ex: &Exchange) -> Result<D, Fail> {
    let opts = ParseOptions {
        limits: bwlab_xsi::Limits {
            max_bytes: ex.body.len().max(1),
            ..Default::default()
        },
        ..Default::default()
    };
    let tree = ex
        .meta()
        .parse_body(&ex.body, &opts)
        .map_err(|e| Fail::info(ErrorInfo::for_parse_error(&e)))?;
    D::from_element(&tree).map_err(|e| Fail::info(ErrorInfo::for_doc_error(&e)))
}

pub(crate) fn put(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    s: ImplementedService,
) -> Result<Resp, Fail> {
    // An unassigned service is refused before the body is looked at.
    shared.store.service_settings(u.idx, s.kind)?;
    apply(&shared.store, u.idx, s.kind, ex)?;
    crate::events::notify(shared, |a| a.service_changed(&u.user_id, s.kind));
    Ok(empty(StatusCode::OK))
}

fn apply(store: &Store, idx: UserIdx, kind: ServiceKind, ex: &Exchange) -> Result<(), Fail> {
    match kind {
        ServiceKind::DoNotDisturb => {
            let p: x::DoNotDisturb = parse(ex)?;
            store.update_service(idx, |s: &mut m::DoNotDisturb| {
                set(p.active, &mut s.active);
                set(p.ring_splash, &mut s.ring_splash);
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::CallForwardingAlways => {
            let p: x::CallForwardingAlways = parse(ex)?;
            store.update_service(idx, |s: &mut m::CallForwardingAlways| {
                set(p.active, &mut s.active);
                merge_addr(p.forward_to_phone_number, &mut s.forward_to_phone_number);
                set(p.ring_splash, &mut s.ring_splash);
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::CallForwardingBusy => {
            let p: x::CallForwardingBusy = parse(ex)?;
            store.update_service(idx, |s: &mut m::CallForwardingBusy| {
                set(p.active, &mut s.active);
                merge_addr(p.forward_to_phone_number, &mut s.forward_to_phone_number);
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::CallForwardingNoAnswer => {
            let p: x::CallForwardingNoAnswer = parse(ex)?;
            store.update_service(idx, |s: &mut m::CallForwardingNoAnswer| {
                set(p.active, &mut s.active);
                merge_addr(p.forward_to_phone_number, &mut s.forward_to_phone_number);
                set(p.number_of_rings, &mut s.number_of_rings);
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::CallForwardingNotReachable => {
            let p: x::CallForwardingNotReachable = parse(ex)?;
            store.update_service(idx, |s: &mut m::CallForwardingNotReachable| {
                set(p.active, &mut s.active);
                merge_addr(p.forward_to_phone_number, &mut s.forward_to_phone_number);
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::CallWaiting => {
            let p: x::CallWaiting = parse(ex)?;
            store.update_service(idx, |s: &mut m::CallWaiting| {
                set(p.active, &mut s.active);
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::IntegratedImp => {
            let p: x::IntegratedImp = parse(ex)?;
            store.update_service(idx, |s: &mut m::IntegratedImp| {
                set(p.active, &mut s.active);
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::RemoteOffice => {
            let p: x::RemoteOffice = parse(ex)?;
            store.update_service(idx, |s: &mut m::RemoteOffice| {
                set(p.active, &mut s.active);
                merge_addr(p.remote_office_number, &mut s.remote_office_number);
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::SimultaneousRingPersonal => {
            // criteriaActivationList is accepted and ignored: the model has no criteria yet.
            let p: x::SimultaneousRingPersonal = parse(ex)?;
            store.update_service(idx, |s: &mut m::SimultaneousRingPersonal| {
                set(p.active, &mut s.active);
                if let Some(ic) = p.incoming_calls {
                    s.incoming_calls = incoming_to_model(ic);
                }
                match p.sim_ring_locations {
                    Nillable::Absent => {}
                    Nillable::Nil => s.sim_ring_locations.clear(),
                    Nillable::Value(list) => {
                        s.sim_ring_locations = list
                            .into_iter()
                            .map(|l| m::SimRingLocation {
                                address: l.address.value,
                                answer_confirmation_required: l
                                    .answer_confirmation_required
                                    .unwrap_or(false),
                            })
                            .collect();
                    }
                }
                Ok::<_, Fail>(())
            })?;
        }
        ServiceKind::BroadWorksAnywhere => {
            // PUT may change flags of existing locations, never add one (§3.5.3.9).
            let p: x::BroadWorksAnywhere = parse(ex)?;
            store.update_service(idx, |s: &mut m::BroadWorksAnywhere| {
                set(
                    p.alert_all_locations_for_click_to_dial_calls,
                    &mut s.alert_all_locations_for_click_to_dial_calls,
                );
                set(
                    p.alert_all_locations_for_group_paging_calls,
                    &mut s.alert_all_locations_for_group_paging_calls,
                );
                for loc in p.locations.unwrap_or_default() {
                    let number = loc.phone_number.value;
                    let stored = s
                        .locations
                        .iter_mut()
                        .find(|l| l.phone_number == number)
                        .ok_or_else(|| {
                            Fail::detail(
                                ErrorCode::InvalidParameter,
                                format!("no BroadWorks Anywhere location {number}"),
                            )
                        })?;
                    set(loc.active, &mut stored.active);
                    if loc.description.is_some() {
                        stored.description = loc.description;
                    }
                }
                Ok::<_, Fail>(())
            })?;
        }
        other => {
            return Err(Fail::detail(
                ErrorCode::ResourceNotFound,
                format!("{} is not served by this build", other.display_name()),
            ));
        }
    }
    Ok(())
}
