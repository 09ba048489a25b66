//! Xsi-Events commands: channel add (streaming), channel update/delete/heartbeat, event
//! responses, channel-set query, and the subscription commands.
//!
//! Every command except channel add is an ordinary request/response exchange on its own
//! connection. Heartbeats and event responses must reach the node that holds the stream;
//! what happens when they do not is [`ForeignChannelPolicy`](super::ForeignChannelPolicy).

use std::sync::{Arc, Weak};
use std::time::Duration;

use bwlab_appserver::{
    AckError, ChannelError, EventPackage, EventResponseCode, OpenChannel, Owner, Packages,
    SubscribeError, SubscribeRequest, SubscriptionInfo, SubscriptionQuery, SubscriptionRoute,
    Target, TargetType,
};
use bwlab_core::Kind;
use bwlab_model::AdminScope;
use bwlab_profiles::{Feature, XsiVersion};
use bwlab_xsi::documents::events::{
    Channel, ChannelHeartBeat, ChannelSet, ContactUrl, EventPackages, EventResponse, Subscription,
    SubscriptionList, SubscriptionOwner, TargetIdType,
};
use bwlab_xsi::negotiate::Rendered;
use bwlab_xsi::{ErrorCode, ErrorInfo, XsiDocument};
use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue, SET_COOKIE};
use hyper::{Method, Response, StatusCode};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::channels::{Ctl, Offer};
use super::{EventsApp, ForeignChannelPolicy, XSI_EVENTS_ROOT};
use crate::Shared;
use crate::auth::{self, Principal};
use crate::body::{Chunk, XspBody};
use crate::errors::{Fail, Resp, empty, rendered};
use crate::journal::Exchange;

/// Who sends an Xsi-Events command.
enum Caller {
    /// Authenticated by Basic, session or bearer on the HTTP interfaces.
    Principal(Principal),
    /// The CTI client, identified by its certificate CN (listed in `ClientIdentity`).
    Cti(Arc<str>),
}

impl Caller {
    fn owner(&self) -> Owner {
        match self {
            Caller::Principal(Principal::User(u)) => Owner::user(u.user_id.as_str()),
            Caller::Principal(Principal::Admin(a)) => Owner::user(a.login.as_str()),
            Caller::Cti(cn) => Owner::Client(Arc::clone(cn)),
        }
    }
}

fn matches(seg: &str, name: &str) -> bool {
    seg.eq_ignore_ascii_case(name)
}

pub(crate) fn route(shared: &Shared, ex: &mut Exchange, segs: &[String], streaming: bool) -> Resp {
    let Some(ev) = &shared.events else {
        return crate::webapps::not_found(ex);
    };
    let rest = match segs.first() {
        Some(v) if matches(v, "v2.0") => &segs[1..],
        _ => {
            return Fail::detail(
                ErrorCode::ResourceNotFound,
                "Xsi-Events is served under /com.broadsoft.xsi-events/v2.0",
            )
            .into_response(&ex.meta());
        }
    };
    if ex.conn.interface != crate::Interface::Cti
        && shared.client_cert_required(ex.conn.interface, XSI_EVENTS_ROOT)
        && !ex.conn.client_cert
    {
        ex.auth = Some("client-cert-required");
        return Fail::info(ErrorInfo::custom(
            crate::webapps::CLIENT_CERT_REQUIRED_CODE,
            "A client certificate is required for this web app",
        ))
        .with_status(403)
        .into_response(&ex.meta());
    }
    let (caller, cookie) = match authenticate(shared, ev, ex) {
        Ok(c) => c,
        Err(f) => {
            let r = f.into_response(&ex.meta());
            return if streaming { chunked(r) } else { r };
        }
    };
    let mut resp = match dispatch(shared, ev, ex, &caller, rest, streaming) {
        Ok(r) => r,
        Err(f) => {
            let r = f.into_response(&ex.meta());
            if streaming { chunked(r) } else { r }
        }
    };
    if let Some(c) = cookie
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

fn authenticate(
    shared: &Shared,
    ev: &EventsApp,
    ex: &mut Exchange,
) -> Result<(Caller, Option<String>), Fail> {
    if ex.conn.interface == crate::Interface::Cti {
        let Some(cn) = ex.conn.client_cn.clone() else {
            ex.auth = Some("no-client-cert");
            return Err(Fail::info(ErrorInfo::custom(
                crate::webapps::CLIENT_CERT_REQUIRED_CODE,
                "The CTI interface requires a client certificate",
            ))
            .with_status(403));
        };
        ex.identity = Some(format!("client:{cn}"));
        if !ev.app_server.client_identity_allowed(&cn) {
            ex.auth = Some("client-identity-refused");
            return Err(Fail::detail(
                ErrorCode::OutOfScope,
                format_args!("client identity {cn} is not listed in System/ClientIdentity"),
            ));
        }
        ex.auth = Some("client-cert");
        return Ok((Caller::Cti(cn), None));
    }
    let (p, cookie) = auth::authenticate(shared, ex)?;
    Ok((Caller::Principal(p), cookie))
}

fn dispatch(
    shared: &Shared,
    ev: &EventsApp,
    ex: &mut Exchange,
    caller: &Caller,
    rest: &[String],
    streaming: bool,
) -> Result<Resp, Fail> {
    let m = ex.method.clone();
    let not_found = || Fail::detail(ErrorCode::ResourceNotFound, &ex.path);
    if streaming {
        return match rest {
            [c] if matches(c, "channel") => {
                if m == Method::POST {
                    open_channel(shared, ev, ex, caller)
                } else {
                    Err(Fail::method_not_allowed("POST"))
                }
            }
            _ => Err(Fail::detail(
                ErrorCode::ResourceNotFound,
                "only channel add is served under /com.broadsoft.async",
            )),
        };
    }
    match rest {
        [c] if matches(c, "channel") => Err(Fail::detail(
            ErrorCode::InvalidParameter,
            "a channel is added with POST /com.broadsoft.async/com.broadsoft.xsi-events/v2.0/channel",
        )),
        [c, r] if matches(c, "channel") && matches(r, "eventresponse") => match m {
            Method::POST => event_response(shared, ev, ex),
            _ => Err(Fail::method_not_allowed("POST")),
        },
        [c, id] if matches(c, "channel") => match m {
            Method::PUT => refresh_channel(ev, ex, caller, id),
            Method::DELETE => {
                ev.app_server
                    .delete_channel(&caller.owner(), id)
                    .map_err(channel_error)?;
                Ok(empty(StatusCode::OK))
            }
            _ => Err(Fail::method_not_allowed("PUT, DELETE")),
        },
        [c, id, h] if matches(c, "channel") && matches(h, "heartbeat") => match m {
            Method::PUT => heartbeat(shared, ev, ex, caller, id),
            _ => Err(Fail::method_not_allowed("PUT")),
        },
        [c, id] if matches(c, "channelset") => match m {
            Method::GET => channel_set(ev, ex, caller, id),
            _ => Err(Fail::method_not_allowed("GET")),
        },
        [s] if matches(s, "subscription") => match m {
            Method::GET => query(shared, ev, ex, caller),
            _ => Err(Fail::method_not_allowed("GET")),
        },
        [s, id] if matches(s, "subscription") => one_subscription(shared, ev, ex, caller, id),
        [s, ..]
            if matches(s, "systemChannel")
                || matches(s, "systemChannelSet")
                || matches(s, "systemSubscription") =>
        {
            if !shared.profile.supports(Feature::XsiSystemChannels) {
                return Err(not_found());
            }
            Err(Fail::info(ErrorInfo::custom(
                crate::webapps::WEBAPP_NOT_DEPLOYED_CODE,
                "system channels and system subscriptions are not emulated in this lab build",
            ))
            .with_status(501))
        }
        _ => {
            let target = parse_target(rest).ok_or_else(not_found)?;
            match m {
                Method::POST => subscribe(shared, ev, ex, caller, target),
                _ => Err(Fail::method_not_allowed("POST")),
            }
        }
    }
}

/// Subscription targets from the URL (`user/<id>[/subId/<s>]`, `enterprise/<e>[/group/<g>]`,
/// `serviceprovider/<sp>[/group/<g>]`, `system`).
fn parse_target(rest: &[String]) -> Option<(Target, Option<String>)> {
    Some(match rest {
        [u, id] if matches(u, "user") => (Target::User(id.clone()), None),
        [u, id, s, sub] if matches(u, "user") && matches(s, "subId") => {
            (Target::User(id.clone()), Some(sub.clone()))
        }
        [e, id] if matches(e, "enterprise") || matches(e, "serviceprovider") => {
            (Target::Enterprise(id.clone()), None)
        }
        [e, id, g, gid]
            if (matches(e, "enterprise") || matches(e, "serviceprovider"))
                && matches(g, "group") =>
        {
            (
                Target::Group {
                    enterprise: id.clone(),
                    group: gid.clone(),
                },
                None,
            )
        }
        [s] if matches(s, "system") => (Target::System, None),
        _ => return None,
    })
}

/// Parses a request body in the format its `Content-Type` names.
fn parse<D: XsiDocument>(ex: &Exchange) -> Result<D, Fail> {
    crate::actions::parse_body(ex)
}

fn ok_doc(ex: &Exchange, doc: &impl XsiDocument) -> Resp {
    rendered(200, doc.render(ex.meta().response_format()))
}

/// Identifiers that appear in URLs: at most 256 characters, no `/`.
fn check_id(what: &'static str, id: &str) -> Result<(), Fail> {
    if id.is_empty() || id.len() > 256 || id.contains('/') {
        return Err(Fail::detail(
            ErrorCode::InvalidParameter,
            format_args!("{what} must be 1 to 256 characters without '/'"),
        ));
    }
    Ok(())
}

fn channel_error(e: ChannelError) -> Fail {
    match e {
        ChannelError::NotFound => Fail::detail(ErrorCode::ResourceNotFound, "no such channel"),
        ChannelError::SetFull(n) => Fail::detail(
            ErrorCode::LimitExceeded,
            format_args!("the channel set already has {n} channels"),
        ),
        ChannelError::UnknownEventsApp => Fail::new(ErrorCode::ServiceUnavailable),
    }
}

/// Makes a finished response look like a failed channel add: the answer to the async POST
/// is chunked whether it succeeds or not.
fn chunked(resp: Resp) -> Resp {
    let (parts, body) = resp.into_parts();
    let bytes = body.as_bytes().cloned().unwrap_or_default();
    let (tx, rx) = mpsc::channel(1);
    if !bytes.is_empty() {
        let _ = tx.try_send(Chunk {
            bytes,
            counted: false,
        });
    }
    Response::from_parts(parts, XspBody::Stream(rx, Default::default()))
}

// ----- channels ---------------------------------------------------------------------------

fn open_channel(
    shared: &Shared,
    ev: &EventsApp,
    ex: &mut Exchange,
    caller: &Caller,
) -> Result<Resp, Fail> {
    let ch = parse::<Channel>(ex)?.for_add();
    let set = ch
        .channel_set_id
        .clone()
        .ok_or_else(|| Fail::detail(ErrorCode::MissingParameter, "channelSetId is required"))?;
    check_id("channelSetId", &set)?;
    if let Some(a) = &ch.application_id {
        check_id("applicationId", a)?;
    }
    let host = ev
        .app_id()
        .ok_or_else(|| Fail::new(ErrorCode::ServiceUnavailable))?;
    let owner = caller.owner();
    let format = ex.meta().response_format();
    let mut attached = None;
    let grant = ev
        .app_server
        .open_channel_with(
            OpenChannel {
                owner: owner.clone(),
                channel_set_id: set.clone(),
                priority: ch.priority,
                weight: ch.weight,
                expires: ch.expires,
                application_id: ch.application_id.clone(),
                host,
            },
            |grant| {
                // The stream exists before the AS replays anything queued for the set.
                let Rendered { body, content_type } =
                    Channel::granted(grant.channel_id.to_string(), grant.expires).render(format);
                let opened =
                    ev.live
                        .open(Arc::clone(&grant.channel_id), Arc::from(owner.id()), body);
                attached = Some((opened, content_type));
            },
        )
        .map_err(channel_error)?;
    let (opened, content_type) = attached.ok_or_else(|| Fail::new(ErrorCode::InternalError))?;
    if ev.faults.stalls(&grant.channel_id) {
        ev.live.set_stalled(&grant.channel_id, true);
    }
    let me = ev.me.read().clone();
    tokio::spawn(supervise(
        me,
        Arc::clone(&grant.channel_id),
        opened.out,
        opened.ctl,
        ev.kill_all.subscribe(),
        ev.settings.event_timeout,
    ));
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Event,
            format!(
                "channel {} opened for {} (set {set})",
                grant.channel_id,
                owner.id()
            ),
        )
        .peer(ex.conn.peer)
        .attr("channel", grant.channel_id.to_string())
        .attr("channel_set", set)
        .attr("owner", owner.id().to_owned())
        .attr("expires", grant.expires.to_string())
        .attr("interface", ex.conn.interface.name())
        .commit();
    let mut resp = Response::new(XspBody::Stream(opened.body, Arc::clone(&ev.live.queued)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}

/// Why a stream ended.
enum End {
    HeartbeatTimeout,
    Terminated(&'static str),
    Killed(&'static str),
    ClientGone,
}

/// Watches one channel: heartbeats push the `eventTimeout` deadline out; termination,
/// kills, restarts and a departed client end it.
async fn supervise(
    me: Weak<Shared>,
    id: Arc<str>,
    out: mpsc::Sender<Chunk>,
    mut ctl: mpsc::Receiver<Ctl>,
    mut kill: watch::Receiver<u64>,
    timeout: Duration,
) {
    let mut deadline = Instant::now() + timeout;
    let end = loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break End::HeartbeatTimeout,
            c = ctl.recv() => match c {
                Some(Ctl::Heartbeat) => deadline = Instant::now() + timeout,
                Some(Ctl::Terminate(body, reason)) => {
                    // After whatever is already queued; a client that stopped reading
                    // does not hold the supervisor forever.
                    let chunk = Chunk { bytes: body, counted: false };
                    let _ = tokio::time::timeout(Duration::from_secs(5), out.send(chunk)).await;
                    break End::Terminated(reason);
                }
                Some(Ctl::Kill(why)) => break End::Killed(why),
                None => break End::Killed("control closed"),
            },
            _ = out.closed() => break End::ClientGone,
            r = kill.changed() => {
                let _ = r;
                break End::Killed("Xsi-Events restart");
            }
        }
    };
    drop(out);
    let Some(shared) = me.upgrade() else {
        return;
    };
    let Some(ev) = &shared.events else {
        return;
    };
    ev.live.remove(&id);
    let why = match end {
        End::HeartbeatTimeout => "heartbeat timeout",
        End::Terminated(r) => r,
        End::Killed(w) => w,
        End::ClientGone => "client closed the stream",
    };
    if !matches!(end, End::Terminated(_)) {
        ev.app_server.channel_lost(&id);
    }
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Event,
            format!("channel {id} closed: {why}"),
        )
        .attr("channel", id.to_string())
        .attr("outcome", "closed")
        .attr("reason", why)
        .commit();
}

fn refresh_channel(ev: &EventsApp, ex: &Exchange, caller: &Caller, id: &str) -> Result<Resp, Fail> {
    let ch = parse::<Channel>(ex)?;
    let grant = ev
        .app_server
        .refresh_channel(&caller.owner(), id, ch.expires)
        .map_err(channel_error)?;
    Ok(ok_doc(
        ex,
        &Channel::granted(grant.channel_id.to_string(), grant.expires),
    ))
}

fn channel_set(ev: &EventsApp, ex: &Exchange, caller: &Caller, id: &str) -> Result<Resp, Fail> {
    let channels = ev.app_server.channel_set(&caller.owner(), id);
    if channels.is_empty() {
        return Err(Fail::detail(
            ErrorCode::ResourceNotFound,
            format_args!("no live channel in set {id}"),
        ));
    }
    let doc = ChannelSet {
        channels: channels
            .into_iter()
            .map(|c| Channel {
                channel_id: Some(c.id.to_string()),
                channel_set_id: Some(c.channel_set_id.to_string()),
                priority: Some(c.priority),
                weight: Some(c.weight),
                expires: Some(c.expires),
                application_id: c.application_id.as_deref().map(str::to_owned),
            })
            .collect(),
    };
    Ok(ok_doc(ex, &doc))
}

fn heartbeat(
    shared: &Shared,
    ev: &EventsApp,
    ex: &mut Exchange,
    caller: &Caller,
    id: &str,
) -> Result<Resp, Fail> {
    let owner = caller.owner();
    match ev.live.owner(id) {
        Some(o) if &*o == owner.id() => {
            if ev.faults.drops_heartbeat(id) {
                ex.auth.get_or_insert("ok");
                journal_heartbeat(shared, ex, id, "dropped-by-fault");
                return Ok(empty(StatusCode::OK));
            }
            let written = ev
                .live
                .offer_plain(id, Bytes::from_static(ChannelHeartBeat::BYTES));
            ev.live.control(id, Ctl::Heartbeat);
            journal_heartbeat(
                shared,
                ex,
                id,
                if written == Offer::Queued {
                    "ok"
                } else {
                    "ok-stream-busy"
                },
            );
            Ok(empty(StatusCode::OK))
        }
        Some(_) => Err(Fail::detail(ErrorCode::ResourceNotFound, "no such channel")),
        None => match ev.app_server.channel(id) {
            Some(info) if info.owner == owner => {
                foreign(shared, ev, ex, id, &info.host_node, "heartbeat")
            }
            _ => Err(Fail::detail(ErrorCode::ResourceNotFound, "no such channel")),
        },
    }
}

fn journal_heartbeat(shared: &Shared, ex: &Exchange, id: &str, outcome: &'static str) {
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Event,
            format!("heartbeat for channel {id}: {outcome}"),
        )
        .peer(ex.conn.peer)
        .attr("direction", "in")
        .attr("heartbeat", "true")
        .attr("channel", id.to_owned())
        .attr("outcome", outcome)
        .commit();
}

/// A heartbeat or event response for a channel another node hosts.
fn foreign(
    shared: &Shared,
    ev: &EventsApp,
    ex: &Exchange,
    id: &str,
    host_node: &str,
    what: &'static str,
) -> Result<Resp, Fail> {
    let policy = ev.settings.foreign_channel;
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Event,
            format!("{what} for channel {id} hosted by {host_node}: affinity broken"),
        )
        .peer(ex.conn.peer)
        .attr("direction", "in")
        .attr("channel", id.to_owned())
        .attr("outcome", "foreign-channel")
        .attr("host_node", host_node.to_owned())
        .attr(what, "true")
        .commit();
    match policy {
        ForeignChannelPolicy::IgnoreSilently => Ok(empty(StatusCode::OK)),
        ForeignChannelPolicy::RefuseAndTearDown => {
            ev.app_server.drop_channel(id);
            Err(Fail::detail(
                ErrorCode::ResourceNotFound,
                format_args!("channel {id} is not hosted on this server"),
            ))
        }
    }
}

fn event_response(shared: &Shared, ev: &EventsApp, ex: &mut Exchange) -> Result<Resp, Fail> {
    let json = ex
        .content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let resp = EventResponse::parse(&ex.body, json)
        .map_err(|e| Fail::info(ErrorInfo::for_body_error(&e)))?;
    let code = EventResponseCode::from_code(resp.status.code()).ok_or_else(|| {
        Fail::detail(
            ErrorCode::InvalidParameter,
            "statusCode must be 200, 400, 404, 481 or 500",
        )
    })?;
    let host = ev
        .app_id()
        .ok_or_else(|| Fail::new(ErrorCode::ServiceUnavailable))?;
    let outcome = ev.app_server.event_response(host, &resp.event_id, code);
    let label = match &outcome {
        Ok(_) => "applied",
        Err(AckError::UnknownEvent(_)) => "unknown-event",
        Err(AckError::NotHostedHere { .. }) => "foreign-channel",
    };
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Event,
            format!(
                "event response {} for {}: {label}",
                code.code(),
                resp.event_id
            ),
        )
        .peer(ex.conn.peer)
        .attr("direction", "in")
        .attr("event_response", code.code().to_string())
        .attr("event_id", resp.event_id.clone())
        .attr("outcome", label)
        .commit();
    match outcome {
        Ok(_) | Err(AckError::UnknownEvent(_)) => Ok(empty(StatusCode::OK)),
        Err(AckError::NotHostedHere { channel_id }) => {
            let node = ev
                .app_server
                .channel(&channel_id)
                .map(|c| c.host_node.to_string())
                .unwrap_or_default();
            foreign(shared, ev, ex, &channel_id, &node, "event_response")
        }
    }
}

// ----- subscriptions ----------------------------------------------------------------------

/// Whether `caller` may act on `target` (403 otherwise; 404 for an unknown user).
fn authorise_target(shared: &Shared, caller: &Caller, target: &Target) -> Result<(), Fail> {
    let p = match caller {
        Caller::Cti(_) => return Ok(()),
        Caller::Principal(p) => p,
    };
    let allowed = match target {
        Target::User(id) => {
            let user = shared
                .store
                .find_user(id)
                .ok_or_else(|| Fail::new(ErrorCode::UserNotFound))?;
            p.may_read(&user)
        }
        Target::Group { enterprise, group } => match p {
            Principal::User(_) => false,
            Principal::Admin(a) => {
                let g = shared
                    .store
                    .find_group(enterprise, group)
                    .ok_or_else(|| Fail::detail(ErrorCode::ResourceNotFound, "no such group"))?;
                match a.scope {
                    AdminScope::System => true,
                    AdminScope::ServiceProvider(e) => g.enterprise == e,
                    AdminScope::Group(_, gi) => g.idx == gi,
                }
            }
        },
        Target::Enterprise(id) => match p {
            Principal::User(_) => false,
            Principal::Admin(a) => {
                let e = shared.store.find_enterprise(id).ok_or_else(|| {
                    Fail::detail(ErrorCode::ResourceNotFound, "no such enterprise")
                })?;
                match a.scope {
                    AdminScope::System => true,
                    AdminScope::ServiceProvider(ei) => e.idx == ei,
                    AdminScope::Group(..) => false,
                }
            }
        },
        Target::System => matches!(p, Principal::Admin(a) if a.scope == AdminScope::System),
    };
    if allowed {
        Ok(())
    } else {
        Err(Fail::new(ErrorCode::OutOfScope))
    }
}

/// Whether `caller` may see subscriptions owned by `owner`.
fn may_see_owner(shared: &Shared, caller: &Caller, owner: &Owner) -> bool {
    if caller.owner() == *owner {
        return true;
    }
    match (caller, owner) {
        (Caller::Principal(p @ Principal::Admin(_)), Owner::User(u)) => shared
            .store
            .find_user(u)
            .is_some_and(|user| p.may_read(&user)),
        _ => false,
    }
}

fn subscribe_error(e: SubscribeError) -> Fail {
    match e {
        SubscribeError::NoPackage => {
            Fail::detail(ErrorCode::MissingParameter, "event or eventPackageList")
        }
        SubscribeError::UnsupportedPackage(_) | SubscribeError::PackageVersion(_) => {
            Fail::detail(ErrorCode::InvalidParameter, e)
        }
        SubscribeError::NotAllowedOverCti(_) | SubscribeError::ClientIdentityRefused(_) => {
            Fail::detail(ErrorCode::OutOfScope, e)
        }
        SubscribeError::UnknownTarget => Fail::detail(ErrorCode::ResourceNotFound, e),
        SubscribeError::MissingGroupParent => Fail::detail(ErrorCode::MissingParameter, e),
        SubscribeError::LimitReached(_) => Fail::detail(ErrorCode::LimitExceeded, e),
        SubscribeError::UnknownEventsApp => Fail::new(ErrorCode::ServiceUnavailable),
        SubscribeError::NotFound => Fail::new(ErrorCode::OutOfScope),
    }
}

fn protocol_version(ex: &Exchange) -> Result<Option<XsiVersion>, Fail> {
    match ex.protocol_version.as_deref() {
        None => Ok(None),
        Some(t) => t.trim().parse::<XsiVersion>().map(Some).map_err(|_| {
            Fail::detail(
                ErrorCode::VersionNotSupported,
                format_args!("X-BroadWorks-Protocol-Version {t:?}"),
            )
        }),
    }
}

fn package(name: &str) -> Result<EventPackage, Fail> {
    name.parse::<EventPackage>().map_err(|_| {
        Fail::detail(
            ErrorCode::InvalidParameter,
            format_args!("unknown event package {name:?}"),
        )
    })
}

fn subscribe(
    shared: &Shared,
    ev: &EventsApp,
    ex: &mut Exchange,
    caller: &Caller,
    (target, sub_id): (Target, Option<String>),
) -> Result<Resp, Fail> {
    let doc = parse::<Subscription>(ex)?.into_create_request();
    authorise_target(shared, caller, &target)?;
    let packages = match &doc.events {
        None => return Err(subscribe_error(SubscribeError::NoPackage)),
        Some(EventPackages::Single(n)) => Packages::Single(package(n)?),
        Some(EventPackages::List(ns)) => {
            Packages::List(ns.iter().map(|n| package(n)).collect::<Result<_, _>>()?)
        }
    };
    let route = match (&doc.channel_set_id, &doc.http_contact) {
        (Some(set), _) => {
            check_id("channelSetId", set)?;
            SubscriptionRoute::ChannelSet(Arc::from(set.as_str()))
        }
        (None, Some(uri)) => {
            ContactUrl::parse(uri).map_err(|e| Fail::detail(ErrorCode::InvalidParameter, e))?;
            SubscriptionRoute::HttpContact(Arc::from(uri.as_str()))
        }
        (None, None) => {
            return Err(Fail::detail(
                ErrorCode::MissingParameter,
                "channelSetId or httpContact is required",
            ));
        }
    };
    if let Some(a) = &doc.application_id {
        check_id("applicationId", a)?;
    }
    let via = ev
        .app_id()
        .ok_or_else(|| Fail::new(ErrorCode::ServiceUnavailable))?;
    let grant = ev
        .app_server
        .subscribe(SubscribeRequest {
            owner: caller.owner(),
            target,
            target_sub_id: sub_id,
            packages,
            expires: doc.expires,
            route,
            application_id: doc.application_id.clone(),
            shared_subscription_id: doc.shared_subscription_id.clone(),
            protocol_version: protocol_version(ex)?,
            origin: bwlab_appserver::Origin {
                via,
                cti: matches!(caller, Caller::Cti(_)),
                client_identity: match caller {
                    Caller::Cti(cn) => Some(cn.to_string()),
                    Caller::Principal(_) => None,
                },
            },
        })
        .map_err(subscribe_error)?;
    Ok(ok_doc(
        ex,
        &Subscription::created(grant.subscription_id.to_string(), grant.expires),
    ))
}

fn to_doc(s: &SubscriptionInfo) -> Subscription {
    let names: Vec<String> = s
        .packages
        .as_slice()
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    let (channel_set_id, http_contact) = match &s.route {
        SubscriptionRoute::ChannelSet(c) => (Some(c.to_string()), None),
        SubscriptionRoute::HttpContact(u) => (None, Some(u.to_string())),
    };
    Subscription {
        subscription_id: Some(s.id.to_string()),
        shared_subscription_id: s.shared_subscription_id.as_deref().map(str::to_owned),
        owner: Some(match &s.owner {
            Owner::User(u) => SubscriptionOwner::Subscriber(u.to_string()),
            Owner::Client(c) => SubscriptionOwner::Client(c.to_string()),
        }),
        target_id_type: Some(match &s.target {
            Target::User(_) => TargetIdType::User,
            Target::Group { .. } => TargetIdType::Group,
            Target::Enterprise(_) => TargetIdType::ServiceProvider,
            Target::System => TargetIdType::System,
        }),
        target_grp_parent_id: s.target.parent_id().map(str::to_owned),
        target_id: s.target.id().map(str::to_owned),
        target_sub_id: s.target_sub_id.as_deref().map(str::to_owned),
        events: Some(match &s.packages {
            Packages::Single(_) => EventPackages::Single(names[0].clone()),
            Packages::List(_) => EventPackages::List(names),
        }),
        expires: Some(s.expires),
        http_contact,
        channel_set_id,
        application_id: s.application_id.as_deref().map(str::to_owned),
    }
}

fn query(shared: &Shared, ev: &EventsApp, ex: &Exchange, caller: &Caller) -> Result<Resp, Fail> {
    let params = crate::actions::query_params(ex)?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let owner = match get("subscriberId") {
        Some(id) => {
            let o = Owner::user(id.as_str());
            if !may_see_owner(shared, caller, &o) {
                return Err(Fail::new(ErrorCode::OutOfScope));
            }
            o
        }
        None => caller.owner(),
    };
    let target_type = match get("targetEntityType").as_deref() {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("User") => Some(TargetType::User),
        Some(t) if t.eq_ignore_ascii_case("Group") => Some(TargetType::Group),
        Some(t)
            if t.eq_ignore_ascii_case("ServiceProvider")
                || t.eq_ignore_ascii_case("Enterprise") =>
        {
            Some(TargetType::ServiceProvider)
        }
        Some(t) if t.eq_ignore_ascii_case("System") => Some(TargetType::System),
        Some(t) => {
            return Err(Fail::detail(
                ErrorCode::InvalidParameter,
                format_args!("targetEntityType {t:?}"),
            ));
        }
    };
    if target_type == Some(TargetType::Group) && get("targetGrpParentId").is_none() {
        return Err(Fail::detail(
            ErrorCode::MissingParameter,
            "targetGrpParentId is required for group targets",
        ));
    }
    if let (Some(t), None | Some(TargetType::User)) = (get("targetId"), target_type)
        && let Caller::Principal(Principal::User(u)) = caller
        && t != u.user_id
    {
        return Err(Fail::new(ErrorCode::OutOfScope));
    }
    let q = SubscriptionQuery {
        owner: Some(owner),
        target_id: get("targetId"),
        target_type,
        target_grp_parent_id: get("targetGrpParentId"),
        event: get("event").map(|e| package(&e)).transpose()?,
        ext_app_id: get("extAppId"),
        target_sub_id: get("targetSubId"),
    };
    let list = ev
        .app_server
        .query_subscriptions(&q)
        .map_err(subscribe_error)?;
    Ok(ok_doc(
        ex,
        &SubscriptionList {
            subscriptions: list.iter().map(to_doc).collect(),
        },
    ))
}

fn one_subscription(
    shared: &Shared,
    ev: &EventsApp,
    ex: &Exchange,
    caller: &Caller,
    id: &str,
) -> Result<Resp, Fail> {
    if !matches!(ex.method, Method::GET | Method::PUT | Method::DELETE) {
        return Err(Fail::method_not_allowed("GET, PUT, DELETE"));
    }
    // Every unsuccessful single-subscription operation is a 403 (unknown ids included).
    let refused = || Fail::new(ErrorCode::OutOfScope);
    let info = ev.app_server.subscription(id).ok_or_else(refused)?;
    if !may_see_owner(shared, caller, &info.owner) {
        return Err(refused());
    }
    match ex.method {
        Method::GET => Ok(ok_doc(ex, &to_doc(&info))),
        Method::PUT => {
            let doc = parse::<Subscription>(ex)?;
            let grant = ev
                .app_server
                .refresh_subscription(id, doc.expires)
                .map_err(|_| refused())?;
            Ok(ok_doc(
                ex,
                &Subscription::created(grant.subscription_id.to_string(), grant.expires),
            ))
        }
        _ => {
            ev.app_server
                .delete_subscription(id)
                .map_err(|_| refused())?;
            Ok(empty(StatusCode::OK))
        }
    }
}
