//! The load balancer in front of an XSP farm.
//!
//! A [`LoadBalancer`] listens on one address and hands each client to one of its backends
//! (XSP nodes). It runs in one of two [`Mode`]s:
//!
//! * [`Mode::Terminate`] — a TLS-terminating reverse proxy for HTTP/1.1 ("reverse SSL proxy"
//!   or TLS bridging, what the deployment guide recommends): the LB presents its own lab
//!   certificate, reads each request, picks a backend, and re-encrypts towards it, verifying
//!   the backend's certificate against the configured trust anchors. Keep-alive on both sides;
//!   response bodies are forwarded frame by frame as they arrive, so a never-ending chunked
//!   Xsi-Events channel passes through unbuffered.
//! * [`Mode::Passthrough`] — a TCP splice: no decryption, the client sees the backend's
//!   certificate. Affinity is then by client address.
//!
//! Backends are chosen by a [`Policy`] (round-robin, or seeded random so runs replay), with
//! optional [`Affinity`] (follow the backend's session cookie, or insert the LB's own).
//! Optional [`HealthCheck`]s mark backends down and up; requests only go to backends that are
//! up, and with none left the LB answers `503`.
//!
//! The misconfigurations the deployment guide warns about are run-time faults on the
//! [`LbHandle`]: [`LbHandle::set_redirect`] (answer with a 3xx to the backend instead of
//! proxying — Webex never follows it), [`LbHandle::set_affinity`] with [`Affinity::Off`] (no
//! persistence: heartbeats reach an XSP that does not own the channel) and
//! [`LbHandle::set_backend_up`] (a node down/up). Every change and every proxied request is
//! journalled under the LB's name.
//!
//! See `docs/lb.md` for the settings and the journal entries.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! use bwlab_core::{Filter, Kind};
//! use bwlab_lb::{Affinity, HealthCheck, LoadBalancer, Policy};
//! use bwlab_pki::{LabPki, NodeSpec, PkiConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pki = LabPki::generate(
//!     PkiConfig::new("xsp.lab.example", time::OffsetDateTime::now_utc())
//!         .with_node(NodeSpec::new("lb1", "xsp.lab.example")),
//! )?;
//! // Two XSPs of the farm (started elsewhere; here nobody listens, which is fine to start).
//! let xsp1 = "127.0.0.1:18443".parse()?;
//! let xsp2 = "127.0.0.1:18444".parse()?;
//!
//! let lb = LoadBalancer::builder("lb1")
//!     .backends([
//!         ("xsp1", xsp1, "xsp1.lab.example"),
//!         ("xsp2", xsp2, "xsp2.lab.example"),
//!     ])
//!     .policy(Policy::Random { seed: 7 })
//!     .affinity(Affinity::jsessionid())
//!     .health(HealthCheck::tcp(Duration::from_secs(5)))
//!     .identity(pki.node("lb1").expect("configured").clone())
//!     .trust(pki.lab_trust_bundle())
//!     .start()
//!     .await?;
//! println!("Xsi through https://xsp.lab.example:{}/", lb.addr().port());
//!
//! // The guide's misconfigurations, injected and reverted at run time.
//! lb.set_affinity(Affinity::Off);
//! lb.set_redirect(true);
//! lb.set_backend_up("xsp2", false)?;
//! assert_eq!(lb.backend_up("xsp2"), Some(false));
//! lb.set_backend_up("xsp2", true)?;
//! lb.set_redirect(false);
//! lb.set_affinity(Affinity::jsessionid());
//!
//! let faults = lb.journal().query(&Filter::kind(Kind::Fault).node("lb1"));
//! assert_eq!(faults.len(), 6);
//! lb.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod health;
mod passthrough;
mod proxy;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab_core::{Journal, Kind, LabClock};
use bwlab_pki::rustls::pki_types::{CertificateDer, ServerName};
use bwlab_pki::{ClientOptions, Identity, ServerOptions, TlsError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::{Backend, Shared};

/// How long a stop waits for open connections before dropping them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// One backend of the farm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendSpec {
    /// Node name (journalled, used by [`LbHandle::set_backend_up`]).
    pub name: String,
    /// Where the backend listens.
    pub addr: SocketAddr,
    /// The TLS server name the LB verifies the backend's certificate against (and the host
    /// written into redirects), e.g. `xsp1.lab.example`.
    pub server_name: String,
}

impl<N: Into<String>, S: Into<String>> From<(N, SocketAddr, S)> for BackendSpec {
    fn from((name, addr, server_name): (N, SocketAddr, S)) -> Self {
        BackendSpec {
            name: name.into(),
            addr,
            server_name: server_name.into(),
        }
    }
}

/// How the LB carries traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// TLS-terminating HTTP/1.1 reverse proxy, re-encrypting to the backend.
    #[default]
    Terminate,
    /// TLS pass-through: a TCP splice, one backend per client connection.
    Passthrough,
}

/// How a backend is chosen when affinity does not decide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Each choice takes the next backend that is up, in configuration order.
    #[default]
    RoundRobin,
    /// A uniformly random backend among those up, from a generator seeded with `seed`: the
    /// same seed and the same order of requests give the same choices.
    Random {
        /// Seed of the generator.
        seed: u64,
    },
}

impl Policy {
    /// The name used in the journal (`why` attribute).
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::RoundRobin => "round-robin",
            Policy::Random { .. } => "random",
        }
    }
}

/// Session persistence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Affinity {
    /// No persistence: every request (every connection in pass-through) is balanced on its
    /// own. The misconfiguration that breaks Xsi-Events heartbeats.
    Off,
    /// Learn the backend's session cookie: when a backend's response sets the cookie with
    /// this name (the XSP's `JSESSIONID`), later requests carrying that cookie value go to
    /// that backend while it is up. In pass-through mode: affinity by client IP address.
    Cookie(String),
    /// Insert the LB's own cookie with this name (value: the backend name) into responses of
    /// requests that did not carry a valid one; requests carrying it go to that backend while
    /// it is up. In pass-through mode: affinity by client IP address.
    Insert(String),
}

impl Affinity {
    /// Learning the XSP's `JSESSIONID` cookie (the default).
    pub fn jsessionid() -> Self {
        Affinity::Cookie("JSESSIONID".to_owned())
    }

    /// Whether any persistence is on.
    pub fn is_on(&self) -> bool {
        !matches!(self, Affinity::Off)
    }

    /// The name used in the journal (`affinity` attribute): `off`, `cookie` or `insert`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Affinity::Off => "off",
            Affinity::Cookie(_) => "cookie",
            Affinity::Insert(_) => "insert",
        }
    }
}

impl Default for Affinity {
    fn default() -> Self {
        Affinity::jsessionid()
    }
}

/// What a health check does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connect succeeds.
    Tcp,
    /// An HTTPS `GET path` (TLS verified like proxied traffic) answers with a status below 500.
    Http {
        /// Request path, e.g. `/com.broadsoft.xsi-actions/test/versions`.
        path: String,
    },
}

/// Periodic health checks of every backend.
///
/// The first round runs when the LB starts; one failed probe marks a backend down, one
/// successful probe marks it up again. Transitions are journalled as [`Kind::Lab`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// Time between two rounds (tokio time).
    pub interval: Duration,
    /// How long one probe may take before it counts as failed.
    pub timeout: Duration,
    /// What a probe does.
    pub probe: Probe,
}

impl HealthCheck {
    /// TCP connect checks every `interval` (probe timeout: the smaller of `interval` and 2 s).
    pub fn tcp(interval: Duration) -> Self {
        HealthCheck {
            interval,
            timeout: interval.min(Duration::from_secs(2)),
            probe: Probe::Tcp,
        }
    }

    /// HTTPS `GET path` checks every `interval` (probe timeout: the smaller of `interval` and 2 s).
    pub fn http(path: impl Into<String>, interval: Duration) -> Self {
        HealthCheck {
            interval,
            timeout: interval.min(Duration::from_secs(2)),
            probe: Probe::Http { path: path.into() },
        }
    }

    /// Sets the probe timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Why a backend was chosen (the journal's `why` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The client's cookie (or address, in pass-through) pinned it.
    Affinity,
    /// Round-robin.
    RoundRobin,
    /// Seeded random.
    Random,
}

impl Why {
    /// `affinity`, `round-robin` or `random`.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Affinity => "affinity",
            Why::RoundRobin => "round-robin",
            Why::Random => "random",
        }
    }
}

/// A backend's state as the LB sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendStatus {
    /// Node name.
    pub name: String,
    /// Address.
    pub addr: SocketAddr,
    /// The last health check passed (always true without health checks).
    pub healthy: bool,
    /// Forced down by [`LbHandle::set_backend_up`].
    pub forced_down: bool,
    /// Receives traffic: healthy and not forced down.
    pub up: bool,
}

/// Errors starting or controlling an LB.
#[derive(Debug, thiserror::Error)]
pub enum LbError {
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Building a TLS configuration failed.
    #[error("TLS configuration: {0}")]
    Tls(#[from] TlsError),
    /// Terminating mode needs the LB's own certificate.
    #[error("the LB {0} terminates TLS but has no identity (call .identity(...))")]
    MissingIdentity(String),
    /// Terminating mode (or an HTTPS health check) needs trust anchors for the backends.
    #[error(
        "the LB {0} connects to its backends over TLS but has no trust anchors (call .trust(...))"
    )]
    MissingTrust(String),
    /// No backend configured.
    #[error("the LB {0} has no backends")]
    NoBackends(String),
    /// Two backends share a name.
    #[error("backend name {0:?} is used twice")]
    DuplicateBackend(String),
    /// A backend's TLS server name is not a valid DNS name or IP address.
    #[error("backend {name}: invalid TLS server name {server_name:?}")]
    InvalidServerName {
        /// Backend name.
        name: String,
        /// The offending server name.
        server_name: String,
    },
    /// No backend has that name.
    #[error("no backend named {0:?}")]
    UnknownBackend(String),
}

/// Entry point: [`LoadBalancer::builder`].
pub struct LoadBalancer;

impl LoadBalancer {
    /// Starts configuring an LB called `name` (its node name in the journal).
    pub fn builder(name: impl Into<String>) -> LbBuilder {
        LbBuilder {
            name: name.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            backends: Vec::new(),
            mode: Mode::default(),
            policy: Policy::default(),
            affinity: Affinity::default(),
            health: None,
            identity: None,
            server_options: ServerOptions::default(),
            trust: Vec::new(),
            client_identity: None,
            journal: None,
            redirect: false,
            max_connections: 1024,
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// Configuration of one LB; finish with [`LbBuilder::start`].
#[must_use]
pub struct LbBuilder {
    name: String,
    listen: SocketAddr,
    backends: Vec<BackendSpec>,
    mode: Mode,
    policy: Policy,
    affinity: Affinity,
    health: Option<HealthCheck>,
    identity: Option<Identity>,
    server_options: ServerOptions,
    trust: Vec<CertificateDer<'static>>,
    client_identity: Option<Identity>,
    journal: Option<Journal>,
    redirect: bool,
    max_connections: usize,
    connect_timeout: Duration,
}

impl LbBuilder {
    /// Listening address (default `127.0.0.1:0`, an ephemeral port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Adds backends: `(name, address, TLS server name)` tuples or [`BackendSpec`]s.
    pub fn backends<I, B>(mut self, backends: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<BackendSpec>,
    {
        self.backends.extend(backends.into_iter().map(Into::into));
        self
    }

    /// Terminate (default) or pass through.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Balancing policy (default round-robin).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Session persistence (default: learn `JSESSIONID`).
    pub fn affinity(mut self, affinity: Affinity) -> Self {
        self.affinity = affinity;
        self
    }

    /// Health checks (default none: backends are up unless forced down).
    pub fn health(mut self, health: HealthCheck) -> Self {
        self.health = Some(health);
        self
    }

    /// The LB's own server certificate (terminating mode).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// TLS options of the client-facing side (versions, ciphers, client auth). Default:
    /// [`ServerOptions::default`].
    pub fn server_options(mut self, options: ServerOptions) -> Self {
        self.server_options = options;
        self
    }

    /// Trust anchors for the backends' certificates (e.g. `pki.lab_trust_bundle()`).
    pub fn trust(mut self, trust: Vec<CertificateDer<'static>>) -> Self {
        self.trust = trust;
        self
    }

    /// A client certificate the LB presents to its backends (e.g. the proxy client
    /// certificate, for an mTLS interface).
    pub fn backend_client_identity(mut self, identity: Identity) -> Self {
        self.client_identity = Some(identity);
        self
    }

    /// The journal to record into (default: a fresh one on the system clock).
    pub fn journal(mut self, journal: Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Starts with the redirect misconfiguration on.
    pub fn redirect(mut self, on: bool) -> Self {
        self.redirect = on;
        self
    }

    /// Client connections served at once (default 1024).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Timeout of a connection to a backend (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Binds the listener and starts serving (and health checking).
    pub async fn start(self) -> Result<LbHandle, LbError> {
        if self.backends.is_empty() {
            return Err(LbError::NoBackends(self.name));
        }
        let mut backends = Vec::with_capacity(self.backends.len());
        for spec in self.backends {
            if backends.iter().any(|b: &Backend| *b.name == *spec.name) {
                return Err(LbError::DuplicateBackend(spec.name));
            }
            let server_name = ServerName::try_from(spec.server_name.clone()).map_err(|_| {
                LbError::InvalidServerName {
                    name: spec.name.clone(),
                    server_name: spec.server_name.clone(),
                }
            })?;
            backends.push(Backend::new(spec, server_name));
        }
        let terminate = self.mode == Mode::Terminate;
        let https_probe = matches!(
            self.health,
            Some(HealthCheck {
                probe: Probe::Http { .. },
                ..
            })
        );
        let server_tls = if terminate {
            let identity = self
                .identity
                .as_ref()
                .ok_or_else(|| LbError::MissingIdentity(self.name.clone()))?;
            Some(bwlab_pki::server_config(identity, &self.server_options)?)
        } else {
            None
        };
        let client_tls = if terminate || https_probe {
            if self.trust.is_empty() {
                return Err(LbError::MissingTrust(self.name));
            }
            let mut opts = ClientOptions::new(self.trust);
            opts.identity = self.client_identity;
            Some(bwlab_pki::client_config(&opts)?)
        } else {
            None
        };
        let tcp = TcpListener::bind(self.listen)
            .await
            .map_err(|source| LbError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = tcp.local_addr().map_err(|source| LbError::Bind {
            addr: self.listen,
            source,
        })?;
        let journal = self
            .journal
            .unwrap_or_else(|| Journal::new(LabClock::system()));
        let shared = Arc::new(Shared::new(
            Arc::from(self.name.as_str()),
            journal,
            backends,
            self.mode,
            self.policy,
            self.affinity,
            self.redirect,
            client_tls,
            self.connect_timeout,
            Some(addr.ip()).filter(|ip| !ip.is_unspecified()),
        ));
        let (stop_tx, stop) = watch::channel(false);
        let limits = bwlab_net::AcceptLimits {
            max_connections: self.max_connections,
            drain_timeout: DRAIN_TIMEOUT,
        };
        let mut tasks = Vec::new();
        let conn_stop = stop.clone();
        let conn_shared = Arc::clone(&shared);
        let acceptor = server_tls.map(tokio_rustls::TlsAcceptor::from);
        tasks.push(tokio::spawn(bwlab_net::accept_loop(
            tcp,
            limits,
            stop.clone(),
            move |conn, peer| {
                let shared = Arc::clone(&conn_shared);
                let stop = conn_stop.clone();
                let acceptor = acceptor.clone();
                let conn = shared.net_faults.wrap(conn, peer);
                async move {
                    match acceptor {
                        Some(acceptor) => {
                            proxy::serve_connection(shared, acceptor, conn, peer, stop).await
                        }
                        None => passthrough::splice(shared, conn, peer, stop).await,
                    }
                }
            },
        )));
        if let Some(check) = self.health {
            tasks.push(tokio::spawn(health::run(
                Arc::clone(&shared),
                check,
                stop.clone(),
            )));
        }
        shared
            .journal
            .record(
                Arc::clone(&shared.name),
                Kind::Lab,
                format!(
                    "load balancer {} listening on {addr} ({} backends)",
                    shared.name,
                    shared.backends.len()
                ),
            )
            .attr("state", "up")
            .attr("mode", shared.mode_str())
            .commit();
        Ok(LbHandle {
            shared,
            addr,
            stop: stop_tx,
            tasks,
        })
    }
}

/// A running LB. Dropping it stops the LB too (without waiting); [`LbHandle::shutdown`]
/// stops it and waits for connections to drain.
pub struct LbHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl LbHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Transport faults under the LB's listener (Toxiproxy vocabulary). A `reset_peer`
    /// toxic with timeout 0 is how the lab takes an LB "down": every connection, open or
    /// new, is reset until the toxic is removed.
    pub fn net_faults(&self) -> &bwlab_net::faults::NetFaults {
        &self.shared.net_faults
    }

    /// The LB's node name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The journal the LB records into.
    pub fn journal(&self) -> &Journal {
        &self.shared.journal
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.shared.mode
    }

    /// Forces a backend down (`false`, fault injected) or lifts that (`true`, fault
    /// reverted; the backend then receives traffic again if its health checks pass).
    /// Journalled as [`Kind::Fault`] with attrs `fault=backend-down`, `backend`, `state`.
    pub fn set_backend_up(&self, name: &str, up: bool) -> Result<(), LbError> {
        let backend = self
            .shared
            .backend(name)
            .ok_or_else(|| LbError::UnknownBackend(name.to_owned()))?;
        backend.set_forced_down(!up);
        let (action, state) = if up {
            ("revert", "up")
        } else {
            ("inject", "down")
        };
        self.shared
            .fault(
                format!("backend {name} forced {state}"),
                "backend-down",
                action,
            )
            .attr("backend", name)
            .attr("state", state)
            .commit();
        Ok(())
    }

    /// Whether the backend receives traffic (`None`: no such backend).
    pub fn backend_up(&self, name: &str) -> Option<bool> {
        self.shared.backend(name).map(Backend::is_up)
    }

    /// Every backend's state, in configuration order.
    pub fn backends(&self) -> Vec<BackendStatus> {
        self.shared.backends.iter().map(Backend::status).collect()
    }

    /// Changes persistence at run time. Setting [`Affinity::Off`] injects the no-affinity
    /// fault, anything else reverts it; journalled as [`Kind::Fault`] with
    /// `fault=no-affinity` and `affinity=off|cookie|insert`.
    pub fn set_affinity(&self, affinity: Affinity) {
        let label = affinity.as_str();
        let action = if affinity.is_on() { "revert" } else { "inject" };
        *self.shared.affinity.write() = affinity;
        self.shared
            .fault(format!("affinity set to {label}"), "no-affinity", action)
            .attr("affinity", label)
            .commit();
    }

    /// The current persistence setting.
    pub fn affinity(&self) -> Affinity {
        self.shared.affinity.read().clone()
    }

    /// Turns the redirect misconfiguration on or off: instead of proxying, the LB answers
    /// `302 Found` with `Location: https://<backend server name>:<port><path>`.
    /// Only meaningful in terminating mode (a pass-through LB cannot see requests).
    /// Journalled as [`Kind::Fault`] with `fault=redirect`, `status=302`.
    pub fn set_redirect(&self, on: bool) {
        self.shared
            .redirect
            .store(on, std::sync::atomic::Ordering::Release);
        let action = if on { "inject" } else { "revert" };
        self.shared
            .fault(
                format!("redirect to backend {}", if on { "on" } else { "off" }),
                "redirect",
                action,
            )
            .attr("status", proxy::REDIRECT_STATUS.as_str())
            .commit();
    }

    /// Whether the redirect misconfiguration is on.
    pub fn redirect(&self) -> bool {
        self.shared
            .redirect
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Changes the balancing policy (a new random seed restarts its sequence). Journalled as
    /// [`Kind::Lab`].
    pub fn set_policy(&self, policy: Policy) {
        self.shared.set_policy(policy);
        self.shared
            .journal
            .record(
                Arc::clone(&self.shared.name),
                Kind::Lab,
                format!("policy set to {}", policy.as_str()),
            )
            .attr("policy", policy.as_str())
            .commit();
    }

    /// Stops accepting, lets open connections finish (bounded), stops health checks.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        self.shared
            .journal
            .record(
                Arc::clone(&self.shared.name),
                Kind::Lab,
                format!("load balancer {} stopped", self.shared.name),
            )
            .attr("state", "down")
            .commit();
    }
}

impl Drop for LbHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
