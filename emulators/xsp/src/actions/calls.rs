//! `user/{u}/calls` (§5.6 of the digest): the active call list, click-to-dial
//! (`calls/New`), call details and release, `Talk` / `Hold` / `BlindTransfer`, and
//! `calls/HookStatus` — all as state changes of the application server's call engine, so
//! the same calls show up in Xsi-Events and in the call logs.
//!
//! Click-to-dial is emulated as if the user's own device answered at once: the call goes
//! straight out to `address` (the lab has no device to alert first).

use bwlab_appserver::{AppServer, CallError, CallSnapshot, CallState};
use bwlab_model::User;
use bwlab_xsi::documents::calls::{CallInfo, CallStartInfo, Calls};
use bwlab_xsi::xml::Element;
use bwlab_xsi::{ErrorCode, XsiDocument};
use hyper::StatusCode;
use hyper::header::{HeaderValue, LOCATION};

use crate::Shared;
use crate::errors::{Fail, Resp, empty, rendered};
use crate::journal::Exchange;

/// The per-call actions (`PUT calls/{cid}/<action>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Answer an alerting call, or retrieve a held one.
    Talk,
    Hold,
    BlindTransfer,
}

impl Action {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        [
            ("Talk", Action::Talk),
            ("Hold", Action::Hold),
            ("BlindTransfer", Action::BlindTransfer),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, a)| a)
    }
}

fn engine(shared: &Shared) -> Result<&AppServer, Fail> {
    shared
        .events
        .as_ref()
        .map(|e| &e.app_server)
        .ok_or_else(|| {
            Fail::detail(
                ErrorCode::ServiceUnavailable,
                "no application server behind this XSP",
            )
        })
}

fn call_error(e: CallError) -> Fail {
    match e {
        CallError::NoSuchCall(_) => Fail::new(ErrorCode::CallNotFound),
        CallError::UnknownUser(_) => Fail::new(ErrorCode::UserNotFound),
        CallError::State(m) => Fail::detail(ErrorCode::InvalidCallState, m),
        CallError::UnknownDestination(d) => Fail::detail(ErrorCode::InvalidPhoneNumber, d),
    }
}

fn param(ex: &Exchange, name: &str) -> Result<Option<String>, Fail> {
    Ok(super::query_params(ex)?
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v))
}

/// The call `cid` if it is one of `u`'s.
fn own_call(a: &AppServer, u: &User, cid: &str) -> Result<CallSnapshot, Fail> {
    a.calls()
        .calls_of(&u.user_id)
        .into_iter()
        .find(|c| &*c.call_id == cid)
        .ok_or_else(|| Fail::new(ErrorCode::CallNotFound))
}

pub(crate) fn list(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let mut calls: Vec<CallInfo> = match &shared.events {
        None => Vec::new(),
        Some(e) => e
            .app_server
            .calls()
            .calls_of(&u.user_id)
            .iter()
            .map(|c| CallInfo::linked(&u.user_id, c.call_id.to_string(), false))
            .collect(),
    };
    calls.sort_by(|a, b| a.call_id.cmp(&b.call_id));
    Ok(super::ok_doc(ex, &Calls { calls }))
}

/// `POST calls/New?address=…`: 201, `Location`, `CallStartInfo`.
pub(crate) fn new(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let a = engine(shared)?;
    let address = param(ex, "address")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| Fail::detail(ErrorCode::MissingParameter, "address"))?;
    let h = a
        .calls()
        .dial(&u.user_id, address.trim())
        .map_err(call_error)?;
    let info = CallStartInfo {
        call_id: h.originator.to_string(),
        external_tracking_id: h.ext_tracking_id.to_string(),
    };
    let mut resp = rendered(201, info.render(ex.meta().response_format()));
    let location = format!(
        "{}/v2.0/user/{}/calls/{}",
        crate::XSI_ACTIONS_ROOT,
        u.user_id,
        h.originator
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(LOCATION, v);
    }
    Ok(resp)
}

/// `GET calls/{cid}`: the `Call` document.
pub(crate) fn get(shared: &Shared, ex: &Exchange, u: &User, cid: &str) -> Result<Resp, Fail> {
    let a = engine(shared)?;
    let c = own_call(a, u, cid)?;
    Ok(rendered(
        200,
        bwlab_xsi::negotiate::render(&call_element(&c), ex.meta().response_format()),
    ))
}

/// `DELETE calls/{cid}`: the user hangs up (or stops an alerting call).
pub(crate) fn release(shared: &Shared, _ex: &Exchange, u: &User, cid: &str) -> Result<Resp, Fail> {
    let a = engine(shared)?;
    own_call(a, u, cid)?;
    a.calls().release(cid).map_err(call_error)?;
    Ok(empty(StatusCode::OK))
}

pub(crate) fn act(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    cid: &str,
    action: Action,
) -> Result<Resp, Fail> {
    let a = engine(shared)?;
    let c = own_call(a, u, cid)?;
    let calls = a.calls();
    match action {
        Action::Talk => match c.state {
            CallState::Alerting => calls.answer(cid),
            CallState::Held => calls.retrieve(cid),
            _ => {
                return Err(Fail::detail(
                    ErrorCode::InvalidCallState,
                    format_args!("the call is {}", c.state.as_str()),
                ));
            }
        },
        Action::Hold => calls.hold(cid),
        Action::BlindTransfer => {
            let to = param(ex, "address")?
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| Fail::detail(ErrorCode::MissingParameter, "address"))?;
            calls.transfer(cid, to.trim())
        }
    }
    .map_err(call_error)?;
    Ok(empty(StatusCode::OK))
}

/// `GET calls/HookStatus`.
pub(crate) fn hook_status(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let a = engine(shared)?;
    let mut el = Element::new("HookStatus");
    el.push_leaf("hookStatus", a.calls().hook_status(&u.user_id).as_str());
    Ok(rendered(
        200,
        bwlab_xsi::negotiate::render(&el, ex.meta().response_format()),
    ))
}

/// The schema's `Call` (XSICallSession), children in sequence order.
fn call_element(c: &CallSnapshot) -> Element {
    let mut el = Element::new("Call");
    el.push_leaf("callId", c.call_id.as_ref());
    el.push_leaf("extTrackingId", c.ext_tracking_id.as_ref());
    if let Some(n) = &c.network_call_id {
        el.push_leaf("networkCallId", n.as_ref());
    }
    el.push_leaf("personality", c.personality.as_str());
    el.push_leaf("state", c.state.as_str());
    if let Some(rc) = c.release_cause {
        let mut r = Element::new("releaseCause");
        r.push_leaf("internalReleaseCause", rc.as_str());
        el.push(r);
    }
    if let Some(p) = c.releasing_party {
        el.push_leaf("releasingParty", p.as_str());
    }
    let rp = &c.remote_party;
    let mut r = Element::new("remoteParty");
    if let Some(n) = &rp.name {
        r.push_leaf("name", n.as_str());
    }
    if let Some(a) = &rp.address {
        r.push_leaf("address", a.as_str());
    }
    if let Some(u) = &rp.user_id {
        r.push_leaf("userId", u.as_str());
    }
    if let Some(d) = &rp.user_dn {
        r.push_leaf("userDN", d.as_str());
    }
    r.push_leaf("callType", rp.call_type.as_str());
    el.push(r);
    if let Some(rd) = &c.redirect {
        let mut r = Element::new("redirect");
        if let Some(a) = &rd.address {
            r.push_leaf("address", a.as_str());
        }
        r.push_leaf("reason", rd.reason.as_str());
        r.push_leaf("redirectTime", rd.time.to_string());
        el.push(r);
    }
    if c.state == CallState::Alerting && c.personality == bwlab_appserver::Personality::Terminator {
        el.push(Element::new("allowAnswer"));
    }
    if c.state == CallState::Held {
        el.push(Element::new("allowRetrieve"));
    }
    el.push_leaf("startTime", c.start_time.to_string());
    for (name, v) in [
        ("answerTime", c.answer_time),
        ("heldTime", c.held_time),
        ("detachedTime", c.detached_time),
        ("releaseTime", c.release_time),
    ] {
        if let Some(v) = v {
            el.push_leaf(name, v.to_string());
        }
    }
    el
}
