//! `group/{groupid}/services/…` and `system/services/…`: the resources the Xsi-Actions
//! spec defines below those paths (spec digest §5.10), all of them call-centre or route-point
//! settings. The lab models neither call centres nor route points yet, so the answers are
//! the settings of a group or system that has them switched off:
//!
//! * `GET group/{g}/services/CallCenter/ExternalReporting` → `ACDExternalReporting` with
//!   `mode` `Off`;
//! * `GET group/{g}/services/CallCenter/UnavailableCodes` → `ACDAgentUnavailableCodes`
//!   with unavailable codes disabled and an empty code list;
//! * `GET|PUT system/services/RoutePoint/ApplicationController/{id}` → `ApplicationController`
//!   with `state` `not ready`; a PUT of `not ready` is accepted, `ready` is refused because no
//!   event channel set is associated with any controller (the XSD's rule).
//!
//! The spec defines no document for the bare `group/{g}/services` or `system/services`
//! (there is no list), so those paths answer 404 like any unknown resource.

use bwlab_model::{AdminScope, Group};
use bwlab_xsi::{Element, ErrorCode, ErrorInfo, ParseOptions};
use hyper::{Method, StatusCode};

use super::directories::query_params;
use crate::Shared;
use crate::auth::Principal;
use crate::errors::{Fail, Resp, empty, rendered};
use crate::journal::Exchange;

/// Lab-defined `errorCode`: an application controller cannot become `ready` because its
/// event channel set is empty.
pub const APPLICATION_CONTROLLER_NOT_READY_CODE: i32 = 4100;

fn is(seg: &str, name: &str) -> bool {
    seg.eq_ignore_ascii_case(name)
}

/// Routes `group/…` and `system/…`; `None` for any other path.
pub(crate) fn route(
    shared: &Shared,
    ex: &Exchange,
    principal: &Principal,
    segs: &[String],
) -> Option<Result<Resp, Fail>> {
    match segs {
        [g, id, s, cc, what] if is(g, "group") && is(s, "services") && is(cc, "CallCenter") => {
            let unavailable = if is(what, "ExternalReporting") {
                false
            } else if is(what, "UnavailableCodes") {
                true
            } else {
                return None;
            };
            Some(group_call_center(shared, ex, principal, id, unavailable))
        }
        [s, v, rp, ac, id]
            if is(s, "system")
                && is(v, "services")
                && is(rp, "RoutePoint")
                && is(ac, "ApplicationController") =>
        {
            Some(application_controller(shared, ex, principal, id))
        }
        _ => None,
    }
}

/// The group named by `{groupid}` and the `enterpriseId` / `serviceProviderId` parameters
/// (`enterpriseId` wins when both are given). Without either, the group id must be unique
/// in the lab, unless `provider_required`.
fn find_group<'a>(
    shared: &'a Shared,
    ex: &Exchange,
    group_id: &str,
    provider_required: bool,
) -> Result<&'a Group, Fail> {
    let params = query_params(ex)?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let provider = param("enterpriseId").or_else(|| param("serviceProviderId"));
    let not_found = || Fail::detail(ErrorCode::ResourceNotFound, format!("group {group_id}"));
    match provider {
        Some(p) => shared.store.find_group(p, group_id).ok_or_else(not_found),
        None if provider_required => Err(Fail::detail(
            ErrorCode::MissingParameter,
            "serviceProviderId or enterpriseId",
        )),
        None => {
            let mut matches = shared.store.groups().iter().filter(|g| &*g.id == group_id);
            match (matches.next(), matches.next()) {
                (Some(g), None) => Ok(g),
                (Some(_), Some(_)) => Err(Fail::detail(
                    ErrorCode::MissingParameter,
                    format!(
                        "group {group_id} exists in several providers: give serviceProviderId or enterpriseId"
                    ),
                )),
                (None, _) => Err(not_found()),
            }
        }
    }
}

/// Group resources: the group's users (agents and supervisors read these settings) and the
/// administrators whose scope covers the group.
fn may_read_group(principal: &Principal, group: &Group) -> bool {
    match principal {
        Principal::User(u) => u.group == group.idx,
        Principal::Admin(a) => match a.scope {
            AdminScope::System => true,
            AdminScope::ServiceProvider(e) => group.enterprise == e,
            AdminScope::Group(_, g) => g == group.idx,
        },
    }
}

fn group_call_center(
    shared: &Shared,
    ex: &Exchange,
    principal: &Principal,
    group_id: &str,
    unavailable_codes: bool,
) -> Result<Resp, Fail> {
    if ex.method != Method::GET {
        return Err(Fail::method_not_allowed("GET"));
    }
    let group = find_group(shared, ex, group_id, unavailable_codes)?;
    if !may_read_group(principal, group) {
        return Err(Fail::new(ErrorCode::OutOfScope));
    }
    let el = if unavailable_codes {
        let mut el = Element::new("ACDAgentUnavailableCodes");
        el.push_leaf("enableAgentUnavailableCodes", "false");
        el.push_leaf("forceUseOfAgentUnavailableCodes", "false");
        el.push(Element::new("unavailableCodes"));
        el
    } else {
        Element::new("ACDExternalReporting").with_child(Element::leaf("mode", "Off"))
    };
    Ok(rendered(
        200,
        bwlab_xsi::negotiate::render(&el, ex.meta().response_format()),
    ))
}

fn application_controller(
    shared: &Shared,
    ex: &Exchange,
    principal: &Principal,
    id: &str,
) -> Result<Resp, Fail> {
    let write = match ex.method {
        Method::GET => false,
        Method::PUT => true,
        _ => return Err(Fail::method_not_allowed("GET, PUT")),
    };
    let allowed = match principal {
        Principal::Admin(a) => a.scope == AdminScope::System && (!write || !a.read_only),
        Principal::User(_) => false,
    };
    if !allowed {
        return Err(Fail::new(ErrorCode::OutOfScope));
    }
    if !write {
        let el =
            Element::new("ApplicationController").with_child(Element::leaf("state", "not ready"));
        return Ok(rendered(
            200,
            bwlab_xsi::negotiate::render(&el, ex.meta().response_format()),
        ));
    }
    if ex.body.is_empty() {
        return Err(Fail::new(ErrorCode::BodyRequired));
    }
    let opts = ParseOptions {
        limits: bwlab_xsi::Limits {
            max_bytes: shared.settings.max_body_bytes.max(1),
            ..Default::default()
        },
        ..Default::default()
    };
    let tree = ex
        .meta()
        .parse_body(&ex.body, &opts)
        .map_err(|e| Fail::info(ErrorInfo::for_parse_error(&e)))?;
    let invalid = |detail: String| Fail::detail(ErrorCode::InvalidDocument, detail);
    if &*tree.name != "ApplicationController" {
        return Err(invalid(format!(
            "expected ApplicationController, got {}",
            tree.name
        )));
    }
    match tree.child_text("state").map(str::trim) {
        Some("not ready") => Ok(empty(StatusCode::OK)),
        Some("ready") => Err(Fail::info(ErrorInfo::custom(
            APPLICATION_CONTROLLER_NOT_READY_CODE,
            format!(
                "Application controller {id} cannot be set to ready: its event channel set is empty"
            ),
        ))
        .with_status(400)),
        Some(other) => Err(invalid(format!(
            "state {other:?} is neither \"ready\" nor \"not ready\""
        ))),
        None => Err(invalid("state is missing".into())),
    }
}
