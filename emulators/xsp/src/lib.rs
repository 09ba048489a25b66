//! The XSP|ADP node of the lab: two HTTPS listeners (`https`, and `https-mtls` demanding the
//! Webex client certificate) serving the Xsi-Actions web app and the AuthService
//! (see `AuthServiceSettings`) over real sockets, with BroadWorks-style HTTP Basic authentication,
//! BroadWorks bearer tokens, session cookies and administrator scopes.
//!
//! A minimal DMS (`/dms`) serves device configuration files. Other web apps of a real XSP
//! (Xsi-Events, `/com.broadsoft.async`, `/callsettings`, and `/authService` on a node
//! configured without one) have their context paths reserved:
//! they answer an `ErrorInfo` saying the app is not deployed in this build, so a misrouted
//! client sees a clear message instead of a bare 404.
//!
//! ```no_run
//! # async fn run(store: bwlab_model::Store, id: bwlab_pki::Identity,
//! #              profile: bwlab_profiles::Profile, plan: bwlab_core::NodePlan) {
//! use bwlab_xsp::{XspNode, XspSettings};
//! let xsp = XspNode::builder("xsp1")
//!     .plan(&plan)
//!     .identity(id)
//!     .store(store)
//!     .profile(profile)
//!     .settings(XspSettings::default())
//!     .start()
//!     .await
//!     .unwrap();
//! println!("Xsi-Actions on https://{}", xsp.https_addr());
//! xsp.shutdown().await;
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub(crate) mod actions;
mod auth;
mod authservice;
mod body;
mod dms;
mod drift;
mod errors;
mod events;
mod journal;
mod listener;
mod webapps;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bwlab_core::{Journal, LabClock, NodeClock, NodePlan};
use bwlab_model::{AuthEncoding, Store};
use bwlab_pki::rustls::pki_types::CertificateDer;
use bwlab_pki::{CipherPolicy, ClientAuth, ClientAuthPolicy, Identity, TlsVersions};
use bwlab_profiles::{Feature, Profile};
use tokio::sync::watch;

pub use actions::{APPLICATION_CONTROLLER_NOT_READY_CODE, CallLogSubsetShape, OWNER_FLAG_ELEMENT};
pub use authservice::{
    AUTH_KEY_BITS, AUTHSERVICE_REFUSED_CODE, AUTHSERVICE_ROOT, AuthKeys, AuthServiceMode,
    AuthServiceSettings, CI_SCOPES, CI_VALIDATION_UNSUPPORTED_CODE, CiError, CiFuture, CiIdentity,
    CiTokenValidator, DEFAULT_TOKEN_DURATION_HOURS, DEFAULT_TOKEN_ISSUER, MAX_TOKEN_DURATION_HOURS,
    SSO_TOKEN_LIFETIME, StaticCiValidator,
};
pub use authservice::{CI_RESPONSE_MAX_BYTES, HttpCiValidator};
pub use dms::{DMS_ROOT, SOFT_CLIENT_CONFIG_FILE, device_type_dir};
pub use events::{
    ASYNC_ROOT, DEFAULT_CALL_CONTROL_APPLICATION_NAME, EventsSettings, ForeignChannelPolicy,
    XSI_EVENTS_ROOT, XspEventFault, XspFaultId,
};
pub use journal::HTTP_FAULT_CODE;
pub use webapps::{
    CLIENT_CERT_REQUIRED_CODE, RESERVED_WEBAPPS, WEBAPP_NOT_DEPLOYED_CODE, XSI_ACTIONS_ROOT,
};

/// Name of the TLS listener without client certificates (as in `NodePlan`).
pub const PORT_HTTPS: &str = "https";
/// Name of the listener that requires the Webex client certificate.
pub const PORT_HTTPS_MTLS: &str = "https-mtls";
/// Name of the CTI listener (mTLS, Xsi-Events for the Webex CTI client).
pub const PORT_CTI: &str = "cti";

/// Which of the node's interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interface {
    /// `https`: TLS, no client certificate by default.
    Https,
    /// `https-mtls`: client certificate required by default.
    HttpsMtls,
    /// `cti`: the CTI interface (default port 8012); always mTLS against the Webex client
    /// chain, and the certificate's CN must be in the AS `ClientIdentity` list.
    Cti,
}

impl Interface {
    /// The port name used in `NodePlan` and in journal entries.
    pub fn name(self) -> &'static str {
        match self {
            Interface::Https => PORT_HTTPS,
            Interface::HttpsMtls => PORT_HTTPS_MTLS,
            Interface::Cti => PORT_CTI,
        }
    }
}

/// Per-web-app client-certificate demand
/// (`SSLCommonSettings/ClientAuthentication/WebApps`), overriding the interface. Honoured
/// only when the release profile supports `authservice_webapp_client_auth`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebAppClientAuth {
    /// Interface the rule applies to.
    pub interface: Interface,
    /// Context path of the web app, e.g. `/authService` or `/com.broadsoft.xsi-actions`.
    pub context_path: String,
    /// Whether a client certificate is required for this web app on this interface.
    pub required: bool,
}

/// Node settings, mirroring the XSP CLI where there is an equivalent.
#[derive(Clone, Debug)]
pub struct XspSettings {
    /// `WebContainer/Tomcat/GeneralSettings authenticationEncoding`: how Basic credentials
    /// are decoded (ISO-8859-1 by default, as on a real XSP).
    pub authentication_encoding: AuthEncoding,
    /// Cluster FQDN (informational; written into the journal's startup entry).
    pub cluster_fqdn: Option<String>,
    /// Client auth required on the `https` interface (default `false`).
    pub https_client_auth: bool,
    /// Client auth required on the `https-mtls` interface (default `true`).
    pub mtls_client_auth: bool,
    /// Per-web-app overrides (see [`WebAppClientAuth`]).
    pub webapp_client_auth: Vec<WebAppClientAuth>,
    /// Trust anchors for client certificates (`ClientAuthentication/Trusts`), DER; usually
    /// `LabPki::webex_trust_anchors()`. Required when any interface asks for client certs.
    pub client_trust_anchors: Vec<CertificateDer<'static>>,
    /// TLS versions. TLS 1.2 is the floor either way: rustls cannot speak anything older.
    pub tls_versions: TlsVersions,
    /// Cipher suites offered. `None` (the default) takes the profile's `tls.ciphers` list
    /// (see [`XspSettings::cipher_policy`]); `Some` overrides it for this node. Names must be
    /// IANA names: an OpenSSL-style name makes `start` fail with [`XspError::Tls`].
    pub ciphers: Option<CipherPolicy>,
    /// Concurrent connections per listener; further clients wait in the accept backlog.
    pub max_connections: usize,
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// Idle lifetime of a session cookie, measured on the lab clock.
    pub session_idle_timeout: time::Duration,
    /// The AuthService web app (`/authService`); `None` leaves the path reserved (501) and
    /// makes every bearer token fail on this node.
    pub authservice: Option<AuthServiceSettings>,
    /// `ExternalAuthentication/AuthService url` (and the Tomcat container option) set on
    /// this node: without it the node's Xsi web apps refuse bearer tokens (default `true`).
    pub authservice_url_configured: bool,
    /// Root of a single-type basic call-log answer (`directories/CallLogs/Missed`): the
    /// schema-valid `CallLogs` (default) or the spec examples' bare list.
    pub call_log_subset_shape: CallLogSubsetShape,
}

impl Default for XspSettings {
    fn default() -> Self {
        XspSettings {
            authentication_encoding: AuthEncoding::Iso8859_1,
            cluster_fqdn: None,
            https_client_auth: false,
            mtls_client_auth: true,
            webapp_client_auth: Vec::new(),
            client_trust_anchors: Vec::new(),
            tls_versions: TlsVersions::Tls12And13,
            ciphers: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_body_bytes: DEFAULT_MAX_BODY,
            session_idle_timeout: time::Duration::minutes(30),
            authservice: None,
            authservice_url_configured: true,
            call_log_subset_shape: CallLogSubsetShape::default(),
        }
    }
}

impl XspSettings {
    /// The cipher policy the node's listeners use with `profile`: the explicit
    /// [`ciphers`](Self::ciphers) if set, else the profile's `tls.ciphers` list as a named
    /// policy, else the TLS library's defaults (a profile without a list).
    pub fn cipher_policy(&self, profile: &Profile) -> CipherPolicy {
        match (&self.ciphers, &profile.tls().ciphers) {
            (Some(p), _) => p.clone(),
            (None, Some(names)) => CipherPolicy::Named(names.clone()),
            (None, None) => CipherPolicy::Default,
        }
    }
}

/// Default concurrent connections per listener.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default request body limit (the same as bwlab-xsi's parser limit).
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum XspError {
    /// A mandatory builder input is missing.
    #[error("XSP {node}: missing {what}")]
    Missing {
        /// Node name.
        node: String,
        /// What is missing.
        what: &'static str,
    },
    /// Settings are inconsistent.
    #[error("XSP {node}: {message}")]
    Config {
        /// Node name.
        node: String,
        /// What is wrong.
        message: String,
    },
    /// The TLS configuration could not be built.
    #[error("XSP {node}: TLS configuration for {interface}: {source}")]
    Tls {
        /// Node name.
        node: String,
        /// Listener name.
        interface: &'static str,
        /// Cause.
        source: bwlab_pki::TlsError,
    },
    /// A socket could not be bound.
    #[error("XSP {node}: cannot listen on {addr} ({interface}): {source}")]
    Bind {
        /// Node name.
        node: String,
        /// Listener name.
        interface: &'static str,
        /// Requested address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// State shared by every connection of a node.
pub(crate) struct Shared {
    pub name: Arc<str>,
    pub store: Store,
    pub profile: Profile,
    pub journal: Journal,
    /// The node's view of the lab clock (plus its skew, a fault): token, session, password
    /// and client-certificate validity are judged against it. The journal keeps lab time.
    pub clock: NodeClock,
    pub settings: XspSettings,
    /// Run-time drift: AuthService keys and URL, TLS configurations of the listeners.
    pub drift: drift::Drift,
    pub sessions: auth::Sessions,
    pub authservice: authservice::State,
    /// The Xsi-Events web app and CTI interface (present when the node has an AS).
    pub events: Option<events::EventsApp>,
    /// Transport faults (Toxiproxy-style) under every listener of the node.
    pub net_faults: bwlab_net::faults::NetFaults,
    /// HTTP faults per route (WireMock-style) on every request the node serves.
    pub http_faults: bwlab_net::http_faults::HttpFaults,
}

impl Shared {
    /// Whether a client certificate is required for `context_path` on `interface`.
    pub(crate) fn client_cert_required(&self, interface: Interface, context_path: &str) -> bool {
        if self.profile.supports(Feature::AuthserviceWebappClientAuth)
            && let Some(rule) = self.settings.webapp_client_auth.iter().find(|r| {
                r.interface == interface && r.context_path.eq_ignore_ascii_case(context_path)
            })
        {
            return rule.required;
        }
        self.interface_requires(interface)
    }

    fn interface_requires(&self, interface: Interface) -> bool {
        match interface {
            Interface::Https => self.settings.https_client_auth,
            Interface::HttpsMtls => self.settings.mtls_client_auth,
            Interface::Cti => true,
        }
    }

    /// The handshake-level demand: `Required` when every web app on the interface requires
    /// a certificate, `Optional` when only some do (checked again per request), else `Off`.
    fn tls_client_auth(
        &self,
        interface: Interface,
        anchors: Vec<CertificateDer<'static>>,
    ) -> ClientAuth {
        let base = self.interface_requires(interface);
        let overrides: Vec<bool> = if self.profile.supports(Feature::AuthserviceWebappClientAuth) {
            self.settings
                .webapp_client_auth
                .iter()
                .filter(|r| r.interface == interface)
                .map(|r| r.required)
                .collect()
        } else {
            Vec::new()
        };
        let policy = || ClientAuthPolicy::broadworks(anchors.clone());
        let any_differs = overrides.iter().any(|&r| r != base);
        match (base, any_differs) {
            (true, false) => ClientAuth::Required(policy()),
            (false, false) => ClientAuth::Off,
            _ => ClientAuth::Optional(policy()),
        }
    }
}

/// Entry point: `XspNode::builder(name)`.
pub struct XspNode;

impl XspNode {
    /// Starts describing a node called `name` (its journal node name).
    pub fn builder(name: impl Into<String>) -> XspNodeBuilder {
        XspNodeBuilder {
            name: name.into(),
            https: None,
            mtls: None,
            cti: None,
            identity: None,
            store: None,
            profile: None,
            journal: None,
            clock: None,
            settings: XspSettings::default(),
            app_server: None,
            events: EventsSettings::default(),
        }
    }
}

/// Builder returned by [`XspNode::builder`].
pub struct XspNodeBuilder {
    name: String,
    https: Option<SocketAddr>,
    mtls: Option<Option<SocketAddr>>,
    cti: Option<SocketAddr>,
    identity: Option<Identity>,
    store: Option<Store>,
    profile: Option<Profile>,
    journal: Option<Journal>,
    clock: Option<LabClock>,
    settings: XspSettings,
    app_server: Option<bwlab_appserver::AppServer>,
    events: EventsSettings,
}

impl XspNodeBuilder {
    /// Takes the `https`, `https-mtls` and `cti` addresses from a node plan (port 0 =
    /// ephemeral). A plan without `https-mtls` starts only the `https` listener; the CTI
    /// listener runs when the plan has a `cti` port and the node has an application server.
    pub fn plan(mut self, plan: &NodePlan) -> Self {
        self.https = plan.addr(PORT_HTTPS);
        self.mtls = Some(plan.addr(PORT_HTTPS_MTLS));
        self.cti = plan.addr(PORT_CTI);
        self
    }

    /// Address of the CTI listener (needs an application server and client trust anchors).
    pub fn cti_addr(mut self, addr: Option<SocketAddr>) -> Self {
        self.cti = addr;
        self
    }

    /// Address of the `https` listener.
    pub fn https_addr(mut self, addr: SocketAddr) -> Self {
        self.https = Some(addr);
        self
    }

    /// Address of the `https-mtls` listener; `None` disables it.
    pub fn mtls_addr(mut self, addr: Option<SocketAddr>) -> Self {
        self.mtls = Some(addr);
        self
    }

    /// Server certificate and key.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Subscriber data.
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Release profile (decides optional elements and behaviours).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Journal to record into (default: a new one on the lab clock).
    pub fn journal(mut self, journal: Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Lab clock (default: the store's clock).
    pub fn clock(mut self, clock: LabClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Node settings.
    pub fn settings(mut self, settings: XspSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The application server behind the node. With one, the node serves Xsi-Events
    /// (and the CTI interface when its address is set); without, those paths answer 501.
    pub fn app_server(mut self, app_server: bwlab_appserver::AppServer) -> Self {
        self.app_server = Some(app_server);
        self
    }

    /// Xsi-Events settings (`callControlApplicationName`, `eventTimeout`, …).
    pub fn events(mut self, events: EventsSettings) -> Self {
        self.events = events;
        self
    }

    /// Binds the listeners and starts serving.
    pub async fn start(self) -> Result<XspHandle, XspError> {
        let node = self.name.clone();
        let missing = |what| XspError::Missing {
            node: node.clone(),
            what,
        };
        let identity = self.identity.ok_or_else(|| missing("identity"))?;
        let store = self.store.ok_or_else(|| missing("store"))?;
        let profile = self.profile.ok_or_else(|| missing("profile"))?;
        let clock = self.clock.unwrap_or_else(|| store.clock().clone());
        let journal = self.journal.unwrap_or_else(|| Journal::new(clock.clone()));
        let https = self
            .https
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let mtls = self
            .mtls
            .unwrap_or_else(|| Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
        let settings = self.settings;
        if settings.max_connections == 0 || settings.max_body_bytes == 0 {
            return Err(XspError::Config {
                node,
                message: "max_connections and max_body_bytes must be positive".into(),
            });
        }
        if let Some(a) = &settings.authservice
            && let Err(message) = a.validate()
        {
            return Err(XspError::Config { node, message });
        }
        let sessions = auth::Sessions::new(settings.session_idle_timeout);
        let drift = drift::Drift::new(identity, settings.authservice_url_configured);
        let shared = Arc::new(Shared {
            name: Arc::from(self.name.as_str()),
            store,
            profile,
            journal: journal.clone(),
            clock: clock.skewed(),
            settings,
            drift,
            sessions,
            authservice: authservice::State::default(),
            events: self
                .app_server
                .clone()
                .map(|a| events::EventsApp::new(a, self.events.clone())),
            net_faults: bwlab_net::faults::NetFaults::with_journal(
                0x5eed,
                journal.clone(),
                self.name.as_str(),
            ),
            http_faults: bwlab_net::http_faults::HttpFaults::with_journal(
                0x5eed,
                journal.clone(),
                self.name.as_str(),
            ),
        });

        let (stop_tx, stop_rx) = watch::channel(false);
        let mut listeners = Vec::new();
        let mut wanted = vec![(Interface::Https, https)];
        if let Some(m) = mtls {
            wanted.push((Interface::HttpsMtls, m));
        }
        if let Some(c) = self.cti
            && shared.events.is_some()
        {
            wanted.push((Interface::Cti, c));
        }
        for (interface, addr) in wanted {
            let client_auth = shared.tls_client_auth(interface, Vec::new());
            if !matches!(client_auth, ClientAuth::Off)
                && shared.settings.client_trust_anchors.is_empty()
            {
                return Err(XspError::Config {
                    node,
                    message: format!(
                        "{} asks for client certificates but no trust anchors are configured",
                        interface.name()
                    ),
                });
            }
            shared.drift.install(&shared, interface)?;
            let l = listener::Listener::bind(interface, addr, Arc::clone(&shared))
                .await
                .map_err(|source| XspError::Bind {
                    node: node.clone(),
                    interface: interface.name(),
                    addr,
                    source,
                })?;
            listeners.push(l);
        }
        // Registered only once nothing can fail any more, and before anything is served.
        events::register(&shared);
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for l in listeners {
            addrs.push((l.interface, l.local_addr));
            tasks.push(l.spawn(stop_rx.clone()));
        }
        let summary = addrs
            .iter()
            .map(|(i, a)| format!("{}={a}", i.name()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut rec = journal
            .record(
                Arc::clone(&shared.name),
                bwlab_core::Kind::Lab,
                format!("XSP up: {summary}"),
            )
            .attr("profile", shared.profile.name().to_owned());
        if let Some(fqdn) = &shared.settings.cluster_fqdn {
            rec = rec.attr("cluster_fqdn", fqdn.clone());
        }
        if let Some(a) = &shared.settings.authservice {
            rec = rec.attr("authservice", a.mode.label());
        }
        rec.commit();
        Ok(XspHandle {
            shared,
            addrs,
            stop: stop_tx,
            tasks,
        })
    }
}

/// A running node. Dropping it without [`shutdown`](Self::shutdown) stops accepting too,
/// but does not wait for open connections.
pub struct XspHandle {
    shared: Arc<Shared>,
    addrs: Vec<(Interface, SocketAddr)>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl XspHandle {
    /// Bound address of the `https` listener.
    pub fn https_addr(&self) -> SocketAddr {
        self.addr(Interface::Https)
            .expect("the https listener always runs")
    }

    /// Bound address of the `https-mtls` listener, if it runs.
    pub fn mtls_addr(&self) -> Option<SocketAddr> {
        self.addr(Interface::HttpsMtls)
    }

    /// Bound address of a listener.
    pub fn addr(&self, interface: Interface) -> Option<SocketAddr> {
        self.addrs
            .iter()
            .find(|(i, _)| *i == interface)
            .map(|(_, a)| *a)
    }

    /// The journal this node records into.
    pub fn journal(&self) -> &Journal {
        &self.shared.journal
    }

    /// The subscriber data this node serves.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Redeems a `DeviceToken` issued by `user/{u}/profile/DeviceToken` (single use, valid
    /// 60 s on the lab clock): the BroadWorks userId it was issued for.
    pub fn redeem_device_token(&self, token: &str) -> Option<String> {
        authservice::redeem_device_token(&self.shared, token)
    }

    /// Transport faults under every listener of the node (latency, bandwidth, timeout,
    /// reset, slicer, limit_data, slow_close — Toxiproxy's vocabulary). Rules apply to
    /// new and open connections; see `bwlab_net::faults`.
    pub fn net_faults(&self) -> &bwlab_net::faults::NetFaults {
        &self.shared.net_faults
    }

    /// HTTP faults per route on every request of every interface of the node (WireMock's
    /// vocabulary: reset, empty response, malformed chunk, random data, delay, chunked
    /// dribble; plus status and redirect answers). Checked before routing, first match
    /// wins; see `bwlab_net::http_faults`.
    pub fn http_faults(&self) -> &bwlab_net::http_faults::HttpFaults {
        &self.shared.http_faults
    }

    /// Bound address of the CTI listener, if it runs.
    pub fn cti_addr(&self) -> Option<SocketAddr> {
        self.addr(Interface::Cti)
    }

    /// Event channels whose stream ends on this node.
    pub fn open_channels(&self) -> usize {
        self.shared.events.as_ref().map_or(0, |e| e.live.len())
    }

    /// Events accepted for delivery but not yet taken by a socket (`eventQueueSize` counts
    /// these).
    pub fn queued_events(&self) -> usize {
        self.shared.events.as_ref().map_or(0, |e| {
            e.live.queued.load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    /// Injects an Xsi-Events fault on this node (journalled). `None` when the node has no
    /// Xsi-Events web app.
    pub fn inject_event_fault(&self, fault: XspEventFault) -> Option<XspFaultId> {
        events::faults::inject(&self.shared, fault)
    }

    /// Reverts an Xsi-Events fault; false if it was not active.
    pub fn revert_event_fault(&self, id: XspFaultId) -> bool {
        events::faults::revert(&self.shared, id)
    }

    /// Active Xsi-Events faults.
    pub fn event_faults(&self) -> Vec<(XspFaultId, XspEventFault)> {
        self.shared
            .events
            .as_ref()
            .map_or_else(Vec::new, |e| e.faults.list())
    }

    /// Restarts the Xsi-Events web app: every channel drops without a
    /// `ChannelTerminatedEvent`; subscriptions survive in the AS.
    pub fn restart_events(&self) {
        events::restart(&self.shared);
    }

    // ----- run-time drift (docs/xsp.md, "Run-time drift and faults") ---------------------
    //
    // Each change applies to new requests and new connections at once (open connections keep
    // the TLS configuration they were accepted with), is journalled as a `Kind::Fault` entry
    // of the node (`fault`, `action` = `injected`|`reverted`, `value`), and has a way back to
    // the configured value.

    /// The "non-shared AuthService keys" drift: with `Some(keys)` the node's AuthService signs
    /// *and* validates BroadWorks tokens with `keys` (created on first need like any
    /// [`AuthKeys`]), so tokens issued by the rest of the farm fail here with 401 and tokens
    /// issued here fail elsewhere. `None` restores the keys of
    /// [`AuthServiceSettings::keys`].
    pub fn set_own_auth_keys(&self, keys: Option<AuthKeys>) {
        drift::set_own_keys(&self.shared, keys);
    }

    /// The node's own key set while the "non-shared keys" drift is on.
    pub fn own_auth_keys(&self) -> Option<AuthKeys> {
        self.shared.drift.own_keys()
    }

    /// Overrides `callControlApplicationName` of the node's Xsi-Events web app
    /// (`None`: back to [`EventsSettings::call_control_application_name`]). The AS learns the
    /// new name at once: subscriptions made through this node from now on carry it, and the
    /// AS routes their events only to channels hosted by instances of that name (elsewhere
    /// they are lost, journalled `lost=call_control_application_name`); subscriptions of
    /// the farm's name no longer reach this node's channels. Open channels stay. False when
    /// the node has no Xsi-Events web app.
    pub fn set_call_control_application_name(&self, name: Option<String>) -> bool {
        drift::set_call_control_application_name(&self.shared, name)
    }

    /// The `callControlApplicationName` in force, if the node serves Xsi-Events.
    pub fn call_control_application_name(&self) -> Option<String> {
        self.shared
            .events
            .as_ref()
            .map(|e| e.name.read().to_string())
    }

    /// The "missing AuthService URL" drift: with `false` the node's Xsi web apps refuse every
    /// bearer token (401, journal `auth=bearer-no-authservice-url`); `true` configures it
    /// again. The configured value is [`XspSettings::authservice_url_configured`].
    pub fn set_authservice_url_configured(&self, configured: bool) {
        drift::set_authservice_url(&self.shared, configured);
    }

    /// Whether the AuthService URL is configured right now.
    pub fn authservice_url_configured(&self) -> bool {
        self.shared.drift.authservice_url_configured()
    }

    /// The "missing trust anchor" drift: replaces the client-certificate trust anchors of
    /// every listener that asks for client certificates (`None`: back to
    /// [`XspSettings::client_trust_anchors`]). New handshakes use the new list; an empty list
    /// trusts nothing (every client certificate is refused, `UnknownIssuer`). Use
    /// `LabPki::trust_anchors_without(&anchors, CaId::WebexClient)` to drop one authority.
    /// On error (the configuration cannot be built) nothing changes.
    pub fn set_client_trust_anchors(
        &self,
        anchors: Option<Vec<CertificateDer<'static>>>,
    ) -> Result<(), XspError> {
        drift::set_client_trust_anchors(&self.shared, anchors)
    }

    /// The client trust anchors in force.
    pub fn client_trust_anchors(&self) -> Vec<CertificateDer<'static>> {
        drift::client_trust_anchors(&self.shared)
    }

    /// Swaps the certificate every listener presents (e.g. a `bwlab_pki::BadCert` variant
    /// from `LabPki::bad_cert_for_host`); `None` restores the node's own identity. New
    /// handshakes present it. On error (e.g. an RSA-1024 key on a TLS-1.3-only node) nothing
    /// changes.
    pub fn set_server_identity(&self, identity: Option<Identity>) -> Result<(), XspError> {
        drift::set_server_identity(&self.shared, identity)
    }

    /// The identity the listeners present right now.
    pub fn server_identity(&self) -> Identity {
        drift::server_identity(&self.shared)
    }

    /// Restricts (or widens) the TLS versions of every listener, e.g.
    /// `Some(TlsVersions::Tls13Only)`; `None` restores [`XspSettings::tls_versions`]. On
    /// error nothing changes.
    pub fn set_tls_versions(&self, versions: Option<TlsVersions>) -> Result<(), XspError> {
        drift::set_tls_versions(&self.shared, versions)
    }

    /// The TLS versions in force.
    pub fn tls_versions(&self) -> TlsVersions {
        drift::tls_versions(&self.shared)
    }

    /// The node's clock runs `skew` ahead of the lab clock (negative: behind); zero restores
    /// it. Token `iat`/`nbf`/`exp` (issue and validation), session idle expiry, password
    /// expiry, LoginToken/DeviceToken lifetimes and client-certificate validity are judged
    /// on the node's clock; the journal keeps lab time.
    pub fn set_clock_skew(&self, skew: time::Duration) {
        drift::set_clock_skew(&self.shared, skew);
    }

    /// The node's clock skew.
    pub fn clock_skew(&self) -> time::Duration {
        self.shared.clock.skew()
    }

    /// "Now" as this node sees it (lab time plus the skew).
    pub fn now(&self) -> time::OffsetDateTime {
        self.shared.clock.now()
    }

    /// Number of live session cookies.
    pub fn session_count(&self) -> usize {
        self.shared.sessions.len()
    }

    /// Stops accepting, lets in-flight requests finish (idle keep-alive connections are
    /// closed), and waits up to 5 s for connections to drain.
    pub async fn shutdown(mut self) {
        events::unregister(&self.shared);
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.shared
            .journal
            .record(
                Arc::clone(&self.shared.name),
                bwlab_core::Kind::Lab,
                "XSP down",
            )
            .commit();
    }
}

impl Drop for XspHandle {
    fn drop(&mut self) {
        events::unregister(&self.shared);
        let _ = self.stop.send(true);
    }
}
