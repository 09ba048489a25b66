//! The Xsi-Actions web app (`/com.broadsoft.xsi-actions/v2.0`): authentication, routing,
//! method checks and target-user authorisation, then one module per resource family.

mod call_logs;
mod calls;
mod directories;
mod group_system;
mod profile;
pub(crate) mod push;
mod services;
mod versions;
mod voice_messages;

use bwlab_model::User;
use bwlab_profiles::{Feature, XsiVersion};
use bwlab_xsi::{ErrorCode, XsiDocument};
use hyper::Method;
use hyper::header::{HeaderValue, SET_COOKIE};
use std::sync::Arc;

use crate::Shared;
use crate::auth::{self, Principal};
use crate::errors::{Fail, Resp, rendered};
use crate::journal::Exchange;

pub use call_logs::CallLogSubsetShape;
pub(crate) use directories::query_params;
pub use group_system::APPLICATION_CONTROLLER_NOT_READY_CODE;
pub use profile::OWNER_FLAG_ELEMENT;
pub(crate) use services::ImplementedService;
pub(crate) use services::parse as parse_body;

/// A matched resource below `/v2.0`.
enum Resource {
    Versions,
    Profile,
    Devices,
    Device(String),
    /// `profile/Registrations`.
    Registrations,
    Services,
    Service(ImplementedService),
    Directory(directories::Directory),
    /// Basic or enhanced call logs, optionally one type, optionally one entry id.
    CallLogs(
        call_logs::Flavour,
        Option<bwlab_model::CallLogKind>,
        Option<String>,
    ),
    VoiceMessages,
    /// `MarkAllAsRead` (true) / `MarkAllAsUnread` (false).
    VoiceMessagesMarkAll(bool),
    VoiceMessage(String),
    /// `{id}/MarkAsRead` (true) / `MarkAsUnread` (false).
    VoiceMessageMark(String, bool),
    Calls,
    /// `calls/New` (click-to-dial).
    CallsNew,
    /// `calls/HookStatus`.
    HookStatus,
    /// `calls/{cid}`.
    Call(String),
    /// `calls/{cid}/{Talk|Hold|BlindTransfer}`.
    CallAction(String, calls::Action),
    /// `profile/PushNotificationRegistrations`.
    PushRegistrations,
    /// `profile/PushNotificationRegistrations/new`.
    PushRegistrationNew,
}

impl Resource {
    fn allow(&self) -> &'static str {
        match self {
            Resource::Service(_) | Resource::Device(_) => "GET, PUT",
            Resource::CallLogs(_, _, Some(_)) => "DELETE",
            Resource::CallLogs(..) | Resource::VoiceMessage(_) => "GET, DELETE",
            Resource::VoiceMessagesMarkAll(_) | Resource::VoiceMessageMark(..) => "PUT",
            Resource::PushRegistrations => "GET, DELETE",
            Resource::PushRegistrationNew | Resource::CallsNew => "POST",
            Resource::Call(_) => "GET, DELETE",
            Resource::CallAction(..) => "PUT",
            _ => "GET",
        }
    }
}

pub(crate) fn route(shared: &Shared, ex: &mut Exchange, segs: &[String]) -> Resp {
    let (principal, cookie) = match auth::authenticate(shared, ex) {
        Ok(x) => x,
        Err(f) => return f.into_response(&ex.meta()),
    };
    let mut resp = match route_authenticated(shared, ex, &principal, segs) {
        Ok(r) => r,
        Err(f) => f.into_response(&ex.meta()),
    };
    if let Some(c) = cookie
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

fn matches(seg: &str, name: &str) -> bool {
    seg.eq_ignore_ascii_case(name)
}

fn route_authenticated(
    shared: &Shared,
    ex: &mut Exchange,
    principal: &Principal,
    segs: &[String],
) -> Result<Resp, Fail> {
    check_protocol_version(shared, ex)?;
    if let Some(r) = crate::authservice::sso_route(shared, ex, principal, segs) {
        return r;
    }
    if let Some(r) = group_system::route(shared, ex, principal, segs) {
        return r;
    }
    let not_found = || Fail::detail(ErrorCode::ResourceNotFound, &ex.path);
    let (resource, target) = match segs {
        [v] if matches(v, "versions") => (Resource::Versions, None),
        [u, id, rest @ ..] if matches(u, "user") => {
            let r = match rest {
                [p] if matches(p, "profile") => Resource::Profile,
                [p, d] if matches(p, "profile") && matches(d, "device") => Resource::Devices,
                [p, r] if matches(p, "profile") && matches(r, "Registrations") => {
                    Resource::Registrations
                }
                [p, d, port] if matches(p, "profile") && matches(d, "device") => {
                    Resource::Device(port.clone())
                }
                [p, n, more @ ..]
                    if matches(p, "profile") && matches(n, "PushNotificationRegistrations") =>
                {
                    if !shared
                        .profile
                        .supports(Feature::XsiPushNotificationRegistrations)
                    {
                        return Err(not_found());
                    }
                    match more {
                        [] => Resource::PushRegistrations,
                        [new] if matches(new, "new") => Resource::PushRegistrationNew,
                        _ => return Err(not_found()),
                    }
                }
                [s] if matches(s, "services") => Resource::Services,
                [s, name] if matches(s, "services") => {
                    Resource::Service(ImplementedService::find(name).ok_or_else(not_found)?)
                }
                [d, name]
                    if matches(d, "directories")
                        && directories::Directory::find(name).is_some() =>
                {
                    Resource::Directory(directories::Directory::find(name).ok_or_else(not_found)?)
                }
                [d, f, more @ ..]
                    if matches(d, "directories") && call_logs::Flavour::find(f).is_some() =>
                {
                    let flavour = call_logs::Flavour::find(f).ok_or_else(not_found)?;
                    match more {
                        [] => Resource::CallLogs(flavour, None, None),
                        [k] => Resource::CallLogs(
                            flavour,
                            Some(call_logs::kind(k).ok_or_else(not_found)?),
                            None,
                        ),
                        [k, log_id] => Resource::CallLogs(
                            flavour,
                            Some(call_logs::kind(k).ok_or_else(not_found)?),
                            Some(log_id.clone()),
                        ),
                        _ => return Err(not_found()),
                    }
                }
                [v] if matches(v, "VoiceMessagingMessages") => Resource::VoiceMessages,
                [v, a] if matches(v, "VoiceMessagingMessages") && matches(a, "MarkAllAsRead") => {
                    Resource::VoiceMessagesMarkAll(true)
                }
                [v, a] if matches(v, "VoiceMessagingMessages") && matches(a, "MarkAllAsUnread") => {
                    Resource::VoiceMessagesMarkAll(false)
                }
                [v, m] if matches(v, "VoiceMessagingMessages") => Resource::VoiceMessage(m.clone()),
                [v, m, a] if matches(v, "VoiceMessagingMessages") && matches(a, "MarkAsRead") => {
                    Resource::VoiceMessageMark(m.clone(), true)
                }
                [v, m, a] if matches(v, "VoiceMessagingMessages") && matches(a, "MarkAsUnread") => {
                    Resource::VoiceMessageMark(m.clone(), false)
                }
                [c] if matches(c, "calls") => Resource::Calls,
                [c, n] if matches(c, "calls") && matches(n, "New") => Resource::CallsNew,
                [c, h] if matches(c, "calls") && matches(h, "HookStatus") => Resource::HookStatus,
                [c, id] if matches(c, "calls") => Resource::Call(id.clone()),
                [c, id, a] if matches(c, "calls") => match calls::Action::parse(a) {
                    Some(a) => Resource::CallAction(id.clone(), a),
                    None => return Err(not_found()),
                },
                _ => return Err(not_found()),
            };
            (r, Some(id.as_str()))
        }
        _ => return Err(not_found()),
    };
    let write = match (&resource, &ex.method) {
        (
            Resource::CallLogs(_, _, Some(_))
            | Resource::VoiceMessagesMarkAll(_)
            | Resource::VoiceMessageMark(..)
            | Resource::PushRegistrationNew
            | Resource::CallsNew
            | Resource::CallAction(..),
            &Method::GET,
        ) => return Err(Fail::method_not_allowed(resource.allow())),
        (_, &Method::GET) => false,
        (Resource::CallLogs(..) | Resource::VoiceMessage(_), &Method::DELETE) => true,
        (Resource::VoiceMessagesMarkAll(_) | Resource::VoiceMessageMark(..), &Method::PUT) => true,
        (Resource::Service(_) | Resource::Device(_), &Method::PUT) => true,
        (Resource::PushRegistrations, &Method::DELETE) => true,
        (Resource::PushRegistrationNew | Resource::CallsNew, &Method::POST) => true,
        (Resource::Call(_), &Method::DELETE) => true,
        (Resource::CallAction(..), &Method::PUT) => true,
        _ => return Err(Fail::method_not_allowed(resource.allow())),
    };
    let target = match target {
        None => None,
        Some(id) => Some(authorise(shared, principal, id, write)?),
    };
    match (resource, target) {
        (Resource::Versions, _) => Ok(versions::get(shared, ex)),
        (Resource::Profile, Some(u)) => profile::get_profile(shared, ex, &u),
        (Resource::Devices, Some(u)) => profile::get_devices(shared, ex, &u),
        (Resource::Registrations, Some(u)) => profile::get_registrations(shared, ex, &u),
        (Resource::Device(p), Some(u)) if write => profile::put_device(shared, ex, &u, &p),
        (Resource::Device(p), Some(u)) => profile::get_device(shared, ex, &u, &p),
        (Resource::Services, Some(u)) => services::list(shared, ex, &u),
        (Resource::Service(s), Some(u)) if write => services::put(shared, ex, &u, s),
        (Resource::Service(s), Some(u)) => services::get(shared, ex, &u, s),
        (Resource::Directory(d), Some(u)) => directories::get(shared, ex, &u, d),
        (Resource::CallLogs(f, k, id), Some(u)) if write => {
            call_logs::delete(shared, ex, &u, f, k, id.as_deref())
        }
        (Resource::CallLogs(f, k, _), Some(u)) => call_logs::get(shared, ex, &u, f, k),
        (Resource::VoiceMessages, Some(u)) => voice_messages::list(shared, ex, &u),
        (Resource::VoiceMessagesMarkAll(r), Some(u)) => voice_messages::mark_all(shared, &u, r),
        (Resource::VoiceMessage(m), Some(u)) if write => voice_messages::delete(shared, ex, &u, &m),
        (Resource::VoiceMessage(m), Some(u)) => voice_messages::get(shared, ex, &u, &m),
        (Resource::VoiceMessageMark(m, r), Some(u)) => voice_messages::mark(shared, ex, &u, &m, r),
        (Resource::Calls, Some(u)) => calls::list(shared, ex, &u),
        (Resource::CallsNew, Some(u)) => calls::new(shared, ex, &u),
        (Resource::HookStatus, Some(u)) => calls::hook_status(shared, ex, &u),
        (Resource::Call(c), Some(u)) if write => calls::release(shared, ex, &u, &c),
        (Resource::Call(c), Some(u)) => calls::get(shared, ex, &u, &c),
        (Resource::CallAction(c, a), Some(u)) => calls::act(shared, ex, &u, &c, a),
        (Resource::PushRegistrations, Some(u)) if write => push::delete(shared, ex, &u),
        (Resource::PushRegistrations, Some(u)) => push::list(shared, ex, &u),
        (Resource::PushRegistrationNew, Some(u)) => push::register(shared, ex, &u),
        _ => Err(not_found()),
    }
}

/// `X-BroadWorks-Protocol-Version`: absent means the node's own release; a version outside
/// the profile's accepted range (or not a version at all) is "method not supported".
fn check_protocol_version(shared: &Shared, ex: &Exchange) -> Result<(), Fail> {
    let Some(text) = ex.protocol_version.as_deref() else {
        return Ok(());
    };
    let xsi = shared.profile.xsi();
    match text.trim().parse::<XsiVersion>() {
        Ok(v) if shared.profile.accepts_protocol_version(v) => Ok(()),
        _ => Err(Fail::detail(
            ErrorCode::VersionNotSupported,
            format!(
                "{text:?} (this server accepts {} to {})",
                xsi.oldest_protocol_version, xsi.baseline
            ),
        )),
    }
}

/// Resolves the target user and applies the scope rules: 404 for an unknown user, 403 when
/// the caller may not read (or, for PUT, change) it.
fn authorise(
    shared: &Shared,
    principal: &Principal,
    id: &str,
    write: bool,
) -> Result<Arc<User>, Fail> {
    let user = shared
        .store
        .find_user(id)
        .ok_or_else(|| Fail::detail(ErrorCode::UserNotFound, id))?;
    let allowed = if write {
        principal.may_write(&user)
    } else {
        principal.may_read(&user)
    };
    if allowed {
        Ok(user)
    } else {
        Err(Fail::new(ErrorCode::OutOfScope))
    }
}

/// A 200 answer with `doc` in the negotiated format.
pub(crate) fn ok_doc(ex: &Exchange, doc: &impl XsiDocument) -> Resp {
    rendered(200, doc.render(ex.meta().response_format()))
}
