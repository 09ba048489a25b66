//! The Xsi-Events web app (`/com.broadsoft.xsi-events/v2.0`, and the streaming channel add
//! under `/com.broadsoft.async`), plus the CTI interface that serves the same protocol to
//! the Webex CTI client over mTLS.
//!
//! What lives where:
//!
//! * subscriptions, channel sets, event generation, acknowledgement fail-over: the
//!   application server (`bwlab-appserver`), shared by every XSP of the cluster;
//! * streams, heartbeats and the `eventTimeout` deadline, event rendering, HTTP-contact
//!   POSTs, server affinity, `eventQueueSize`: here, per node ([`channels`], [`sink`],
//!   [`contact`]);
//! * the commands themselves: [`commands`].

pub(crate) mod channels;
mod commands;
mod contact;
pub(crate) mod faults;
mod render;
pub(crate) mod sink;

use std::sync::Arc;
use std::time::Duration;

use bwlab_appserver::{AppServer, EventsAppId};
use bwlab_pki::rustls::pki_types::CertificateDer;

use crate::Shared;
use crate::errors::Resp;
use crate::journal::Exchange;

pub use faults::{XspEventFault, XspFaultId};

/// Context path of the Xsi-Events web app.
pub const XSI_EVENTS_ROOT: &str = "/com.broadsoft.xsi-events";
/// Context path that switches a request to streaming (channel add only).
pub const ASYNC_ROOT: &str = "/com.broadsoft.async";
/// `callControlApplicationName` of a fresh XSP.
pub const DEFAULT_CALL_CONTROL_APPLICATION_NAME: &str = "com.broadsoft.xsi-events";

/// What a node answers to a heartbeat or event response for a channel that another XSP of
/// the cluster hosts (server affinity broken, e.g. a load balancer without persistence).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForeignChannelPolicy {
    /// Refuse with 404 `ErrorInfo` and end the channel on its host (the guide's "channel
    /// torn down"). Default.
    #[default]
    RefuseAndTearDown,
    /// Answer 200 and do nothing: the heartbeat is silently lost, so the channel dies of
    /// its `eventTimeout` later (the literal reading of the spec).
    IgnoreSilently,
}

/// Xsi-Events settings of one node (`ADP_CLI/Applications/Xsi-Events/...`).
#[derive(Clone, Debug)]
pub struct EventsSettings {
    /// `GeneralSettings callControlApplicationName`: the AS routes a subscription's events
    /// only to Xsi-Events instances of the name it was created with.
    pub call_control_application_name: String,
    /// `eventTimeout`: a channel without a heartbeat for this long is closed (no
    /// `ChannelTerminatedEvent`; subscriptions survive).
    pub event_timeout: Duration,
    /// `BWIntegration eventQueueSize`: events accepted but not yet written to a socket,
    /// across the node. Beyond it, events are refused (journalled as overflow).
    pub event_queue_size: usize,
    /// Documents a channel's stream may hold before the client reads them; a slow
    /// consumer beyond that refuses events (the AS tries the next channel of the set).
    pub channel_buffer: usize,
    /// Heartbeats and event responses that reach the wrong node.
    pub foreign_channel: ForeignChannelPolicy,
    /// Time allowed for an HTTP-contact POST.
    pub http_contact_timeout: Duration,
    /// POSTs to HTTP contacts in flight at once; more are refused as overflow.
    pub http_contact_concurrency: usize,
    /// Trust anchors for `https` contacts (usually the lab CA bundle).
    pub http_contact_trust: Vec<CertificateDer<'static>>,
}

impl Default for EventsSettings {
    fn default() -> Self {
        EventsSettings {
            call_control_application_name: DEFAULT_CALL_CONTROL_APPLICATION_NAME.into(),
            event_timeout: Duration::from_secs(30),
            event_queue_size: 2000,
            channel_buffer: 256,
            foreign_channel: ForeignChannelPolicy::default(),
            http_contact_timeout: Duration::from_secs(5),
            http_contact_concurrency: 64,
            http_contact_trust: Vec::new(),
        }
    }
}

/// The node's Xsi-Events instance.
pub(crate) struct EventsApp {
    pub app_server: AppServer,
    /// The registration with the AS: made right after the node's shared state exists
    /// (the sink points back at it), renewed by an Xsi-Events restart.
    pub id: parking_lot::RwLock<Option<EventsAppId>>,
    pub live: channels::LiveChannels,
    pub settings: EventsSettings,
    /// The `callControlApplicationName` in force: the configured one, or a run-time
    /// override (`XspHandle::set_call_control_application_name`).
    pub name: parking_lot::RwLock<Arc<str>>,
    pub faults: faults::XspFaults,
    pub contact: contact::ContactClient,
    /// The node itself, for the per-channel supervisor tasks.
    pub me: parking_lot::RwLock<std::sync::Weak<Shared>>,
    /// Bumped to end every stream at once (node stop, Xsi-Events restart).
    pub kill_all: tokio::sync::watch::Sender<u64>,
}

impl EventsApp {
    pub(crate) fn new(app_server: AppServer, settings: EventsSettings) -> Self {
        EventsApp {
            live: channels::LiveChannels::new(settings.channel_buffer),
            contact: contact::ContactClient::new(&settings),
            app_server,
            id: parking_lot::RwLock::new(None),
            faults: faults::XspFaults::default(),
            me: parking_lot::RwLock::new(std::sync::Weak::new()),
            kill_all: tokio::sync::watch::Sender::new(0),
            name: parking_lot::RwLock::new(Arc::from(
                settings.call_control_application_name.as_str(),
            )),
            settings,
        }
    }

    /// The registration id; `None` only while the instance restarts.
    pub(crate) fn app_id(&self) -> Option<EventsAppId> {
        *self.id.read()
    }
}

/// Registers the node's instance with the AS.
pub(crate) fn register(shared: &Arc<Shared>) {
    if let Some(ev) = &shared.events {
        *ev.me.write() = Arc::downgrade(shared);
        let sink = Arc::new(sink::NodeSink::new(Arc::downgrade(shared)));
        let name = Arc::clone(&ev.name.read());
        let id = ev.app_server.register_events_app(&shared.name, &name, sink);
        *ev.id.write() = Some(id);
    }
}

/// Sets the node's `callControlApplicationName` (`None`: the configured one) and tells the
/// AS at once, so new subscriptions carry it and routing follows it. Returns the name now in
/// force, or `None` when the node has no Xsi-Events web app.
pub(crate) fn set_name(shared: &Shared, name: Option<String>) -> Option<Arc<str>> {
    let ev = shared.events.as_ref()?;
    let name: Arc<str> = Arc::from(
        name.unwrap_or_else(|| ev.settings.call_control_application_name.clone())
            .as_str(),
    );
    *ev.name.write() = Arc::clone(&name);
    if let Some(id) = ev.app_id() {
        ev.app_server.rename_events_app(id, &name);
    }
    Some(name)
}

/// Routes a request below `/com.broadsoft.xsi-events` (`streaming = false`) or
/// `/com.broadsoft.async` (`streaming = true`); `segs` starts after the context path.
pub(crate) fn route(shared: &Shared, ex: &mut Exchange, segs: &[String], streaming: bool) -> Resp {
    commands::route(shared, ex, segs, streaming)
}

/// Ends every stream of the node without a word and unregisters from the AS (node stop).
pub(crate) fn unregister(shared: &Shared) {
    if let Some(ev) = &shared.events {
        ev.kill_all.send_modify(|g| *g += 1);
        if let Some(id) = ev.id.write().take() {
            ev.app_server.unregister_events_app(id);
        }
    }
}

/// An Xsi-Events restart: every channel drops (no `ChannelTerminatedEvent`), the instance
/// registers again; subscriptions survive in the AS.
pub(crate) fn restart(shared: &Arc<Shared>) {
    unregister(shared);
    register(shared);
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            bwlab_core::Kind::Lab,
            "Xsi-Events restarted: every channel dropped",
        )
        .commit();
}

/// Tells the AS about a change made through Xsi-Actions, so subscribers get the event.
pub(crate) fn notify(shared: &Shared, f: impl FnOnce(&AppServer)) {
    if let Some(ev) = &shared.events {
        f(&ev.app_server);
    }
}
