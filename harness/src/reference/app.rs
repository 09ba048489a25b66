//! The reference Webex App: the Xsi-Events side of a signed-in Webex App.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bwlab_xsi::documents::events::Event;
use hyper::Method;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::{
    APP_NODE, IdpLogin, LabView, Rng, idp_authenticate, idp_call, lab_resolver, resolve_addresses,
    resolve_srv, srv_order,
};
use crate::events_client::{
    ChannelRequest, DialFuture, Dialer, EVENTS_ROOT, Endpoint, EventsClient, EventsError,
    StreamItem,
};

/// How the reference App signs in and authenticates its Xsi-Events requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AppLogin {
    /// As the Webex App does for BroadWorks users: the credentials go to the lab's IdP
    /// proxy (which applies the password-expiry rules), the App gets the user's CI access
    /// token, exchanges it at the IdP proxy for a BroadWorks token (the proxy asks the
    /// XSP's AuthService), and sends `Authorization: Bearer <BroadWorks JWT>` on every
    /// Xsi-Events request. The default.
    #[default]
    Webex,
    /// Straight to Xsi-Events with HTTP Basic (user id and password), no IdP proxy and no
    /// token: the older direct-authentication path.
    XsiBasic,
}

/// How the reference App behaves; every field has the documented default.
#[derive(Clone, Debug)]
pub struct WebexAppOptions {
    /// The Xsi host from the cluster configuration (default: the lab's App farm name,
    /// `xsp-app.<domain>`); discovery asks for `_xsi-client._tcp.<this>`.
    pub xsi_host: Option<String>,
    /// The fixed channel set id (default `webex-app-<user>`).
    pub channel_set_id: Option<String>,
    /// `applicationId` of the channel and the subscriptions.
    pub application_id: String,
    /// Event packages subscribed for the user.
    pub packages: Vec<String>,
    /// Time between heartbeats (15 s: half the XSP's default `eventTimeout`).
    pub heartbeat_interval: Duration,
    /// How long a request (channel add, subscribe, heartbeat, event response) may take
    /// before it counts as "no answer".
    pub request_timeout: Duration,
    /// First delay before trying every host again after all of them failed; doubles up to
    /// `max_backoff`.
    pub retry_backoff: Duration,
    pub max_backoff: Duration,
    /// Requested channel lifetime in seconds.
    pub channel_expires: u32,
    /// Seed of the weighted random order among SRV records of equal priority, and of the
    /// address choice when an SRV target has several addresses.
    pub seed: u64,
    /// How the App signs in (default [`AppLogin::Webex`]).
    pub login: AppLogin,
}

impl Default for WebexAppOptions {
    fn default() -> Self {
        WebexAppOptions {
            xsi_host: None,
            channel_set_id: None,
            application_id: "webex-app".into(),
            packages: vec!["Advanced Call".into(), "Do Not Disturb".into()],
            heartbeat_interval: Duration::from_secs(15),
            request_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            channel_expires: 3600,
            seed: 0x5eed,
            login: AppLogin::default(),
        }
    }
}

/// One Xsi host found at sign-in, in the order the App tries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveredHost {
    /// The SRV target (or the Xsi host itself without SRV).
    pub name: String,
    /// The first address of the target at discovery.
    pub addr: SocketAddr,
    /// Every address the target had at discovery. With more than one, each new TCP
    /// connection resolves `name` again and takes one of its addresses at random (seeded),
    /// as an OS resolver rotating its answers would.
    pub addrs: Vec<SocketAddr>,
    pub priority: u16,
    pub weight: u16,
    /// The lab XSP listening at `addr`, when there is one (`xsp1`); `None` for a target
    /// with several addresses.
    pub node: Option<String>,
}

impl DiscoveredHost {
    fn label(&self) -> String {
        self.node.clone().unwrap_or_else(|| self.name.clone())
    }
}

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum WebexAppError {
    /// Neither SRV nor A/AAAA records gave a host.
    #[error("DNS discovery for {name}: {message}")]
    Discovery { name: String, message: String },
    /// A host answered the channel add with a refusal (401, 403, …).
    #[error("sign-in refused by {host}: {source}")]
    Refused { host: String, source: EventsError },
    /// Every host failed (transport, 5xx, timeout).
    #[error("no Xsi host accepted the event channel: {0}")]
    NoHost(String),
    /// The client TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The IdP proxy refused the login (wrong password, expired password…); `message` is
    /// the proxy's text (e.g. ending in "Error code 100006").
    #[error("login refused by the IdP proxy (HTTP {status}): {message}")]
    LoginRefused { status: u16, message: String },
    /// The IdP proxy could not be reached or answered nonsense.
    #[error("IdP proxy: {0}")]
    Idp(String),
    /// No BroadWorks token for the user (the IdP proxy's `bwtoken/fetch` failed).
    #[error("no BroadWorks token (HTTP {status}): {message}")]
    Token { status: u16, message: String },
}

/// The reference Webex App: the Xsi-Events side of a signed-in Webex App.
///
/// Behaviour, as documented for the App:
///
/// 1. **Discovery once, at sign-in:** SRV `_xsi-client._tcp.<xsi host>`; every target is
///    resolved and the list kept for the session, ordered by priority, then weighted random
///    among equal priorities (seeded). No SRV → the A/AAAA record of the Xsi host, first
///    address only.
/// 2. **Host selection:** the first host that accepts the event channel is the selected host
///    for everything; every request after the channel add carries the cookie it returned.
/// 3. **Failures while connecting:** a TCP/TLS error, a 5xx or no answer within
///    `request_timeout` → the next host at once, wrapping after the last; when every host
///    failed, again after an increasing delay.
/// 4. **Heartbeats** every `heartbeat_interval` on the channel's host; **two consecutive
///    failures** re-initialise the channel (same channel set). When the failures were the
///    host's fault (transport, 5xx, timeout) the new channel goes to the next host, else to
///    the same one. Subscriptions are made again only if they are gone.
/// 5. **No fail-back:** a preferred host that recovers is not used again until a new sign-in.
///
/// A stream that ends silently is not by itself a reason to reconnect: the heartbeats find
/// out (a `ChannelTerminatedEvent` is, and re-initialises on the same host at once).
pub struct WebexApp;

impl WebexApp {
    /// Signs `user` (`alice` or `alice@lab.example`) in against the lab: discovers the
    /// Xsi hosts, opens the event channel on the first one that accepts it, subscribes the
    /// packages, and leaves a task running that acknowledges events and heartbeats.
    /// Returns once the channel is open.
    pub async fn sign_in(
        lab: &crate::Lab,
        user: &str,
        password: &str,
        opts: WebexAppOptions,
    ) -> Result<WebexAppHandle, WebexAppError> {
        let user = lab.user_id(user);
        let xsi_host = opts
            .xsi_host
            .clone()
            .unwrap_or_else(|| lab.topology().app_xsp_fqdn());
        sign_in(LabView::of(lab), xsi_host, user, password.to_owned(), opts).await
    }
}

async fn sign_in(
    view: LabView,
    xsi_host: String,
    user: String,
    password: String,
    opts: WebexAppOptions,
) -> Result<WebexAppHandle, WebexAppError> {
    let tls = bwlab_pki::client_config(&bwlab_pki::ClientOptions::new(view.trust.clone()))
        .map_err(|e| WebexAppError::Tls(e.to_string()))?;
    view.log(APP_NODE, "sign-in", format!("{user} signs in ({xsi_host})"))
        .attr("user", user.as_str())
        .commit();
    let authorization = match opts.login {
        AppLogin::XsiBasic => basic(&user, &password),
        AppLogin::Webex => {
            let jwt =
                webex_login(&view, tls.clone(), &user, &password, opts.request_timeout).await?;
            format!("Bearer {jwt}")
        }
    };
    let mut rng = Rng::new(opts.seed);
    let hosts = discover(&view, &xsi_host, &mut rng).await?;
    let channel_set = opts
        .channel_set_id
        .clone()
        .unwrap_or_else(|| format!("webex-app-{}", user.split('@').next().unwrap_or(&user)));
    let shared = Arc::new(Mutex::new(State::default()));
    let mut app = App {
        view,
        opts,
        user: user.clone(),
        authorization,
        channel_set,
        rng: Arc::new(Mutex::new(rng)),
        hosts: hosts.clone(),
        tls,
        shared: shared.clone(),
        subscriptions: Vec::new(),
    };
    let live = app.establish(0, true).await?;
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(app.run(live, stop_rx));
    Ok(WebexAppHandle {
        user,
        hosts,
        shared,
        stop,
        task: Some(task),
    })
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The Webex sign-in: the IdP proxy checks the credentials and hands out the user's CI
/// token; the IdP proxy's `bwtoken/fetch` turns it into the user's BroadWorks JWT.
async fn webex_login(
    view: &LabView,
    tls: Arc<rustls::ClientConfig>,
    user: &str,
    password: &str,
    timeout: Duration,
) -> Result<String, WebexAppError> {
    let login = idp_authenticate(view, tls.clone(), user, password, timeout).await;
    let ci_token = match login {
        Ok(IdpLogin::Accepted { ci_token, warning }) => {
            if let Some(w) = warning {
                view.log(APP_NODE, "password-warning", w.clone())
                    .attr("user", user)
                    .commit();
            }
            view.log(
                APP_NODE,
                "idp-login",
                format!("{user} authenticated by the IdP proxy; CI token received"),
            )
            .attr("user", user)
            .commit();
            ci_token
        }
        Ok(IdpLogin::Refused { status, message }) => {
            let action = if status >= 500 {
                "idp-failed"
            } else {
                "login-refused"
            };
            view.log(APP_NODE, action, message.clone())
                .attr("user", user)
                .attr("status", status.to_string())
                .commit();
            return Err(if status >= 500 {
                WebexAppError::Idp(format!("HTTP {status}: {message}"))
            } else {
                WebexAppError::LoginRefused { status, message }
            });
        }
        Err(e) => {
            view.log(
                APP_NODE,
                "idp-unreachable",
                format!("IdP proxy {}: {e}", bwlab_cloud::DEFAULT_IDP_HOST),
            )
            .attr("user", user)
            .attr("error", e.as_str())
            .commit();
            return Err(WebexAppError::Idp(e));
        }
    };
    let fetched = idp_call(
        view,
        tls,
        Method::GET,
        bwlab_cloud::PATH_BWTOKEN_FETCH_API,
        &[("authorization", format!("Bearer {ci_token}"))],
        bytes::Bytes::new(),
        timeout,
    )
    .await;
    let answer = match fetched {
        Ok(a) => a,
        Err(e) => {
            view.log(APP_NODE, "token-failed", format!("BroadWorks token: {e}"))
                .attr("user", user)
                .attr("error", e.as_str())
                .commit();
            return Err(WebexAppError::Idp(e));
        }
    };
    let jwt = (answer.status == 200)
        .then(|| answer.json())
        .flatten()
        .and_then(|v| {
            v.pointer("/token/bearer")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        });
    match jwt {
        Some(jwt) => {
            view.log(
                APP_NODE,
                "token",
                format!("BroadWorks token for {user} received"),
            )
            .attr("user", user)
            .commit();
            Ok(jwt)
        }
        None => {
            let message = answer
                .json()
                .and_then(|v| {
                    v.get("message")
                        .or_else(|| v.get("error"))
                        .and_then(|m| m.as_str())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).into_owned());
            view.log(
                APP_NODE,
                "token-failed",
                format!("no BroadWorks token (HTTP {}): {message}", answer.status),
            )
            .attr("user", user)
            .attr("status", answer.status.to_string())
            .commit();
            Err(WebexAppError::Token {
                status: answer.status,
                message,
            })
        }
    }
}

/// Where to connect for an address of an SRV target: the SRV port, unless a lab XSP
/// listens at that address on another port (the lab's ports may be ephemeral, while one
/// SRV record gives one port for every address of its target).
fn target_addr(view: &LabView, ip: std::net::IpAddr, port: u16) -> SocketAddr {
    let addr = SocketAddr::new(ip, port);
    if view.node_at(addr).is_some() {
        return addr;
    }
    match view.port_map().get(&ip) {
        Some(p) => SocketAddr::new(ip, *p),
        None => addr,
    }
}

/// SRV discovery, once: every target resolved, ordered; the A/AAAA fallback without SRV.
async fn discover(
    view: &LabView,
    xsi_host: &str,
    rng: &mut Rng,
) -> Result<Vec<DiscoveredHost>, WebexAppError> {
    let fail = |message: String| WebexAppError::Discovery {
        name: xsi_host.to_owned(),
        message,
    };
    let resolver = lab_resolver(view.dns, Duration::from_secs(2)).map_err(&fail)?;
    let srv_name = format!("_xsi-client._tcp.{xsi_host}");
    let mut hosts = Vec::new();
    let srv = resolve_srv(&resolver, &srv_name).await;
    match srv {
        Ok(records) if !records.is_empty() => {
            for r in srv_order(records, rng) {
                match resolve_addresses(&resolver, &r.target).await {
                    Ok(ips) if ips.len() > 1 => {
                        // One name, several addresses: one host; every connection asks
                        // the resolver again.
                        let addrs: Vec<SocketAddr> = ips
                            .iter()
                            .map(|ip| target_addr(view, *ip, r.port))
                            .collect();
                        hosts.push(DiscoveredHost {
                            name: r.target.clone(),
                            addr: addrs[0],
                            addrs,
                            priority: r.priority,
                            weight: r.weight,
                            node: None,
                        });
                    }
                    Ok(ips) => hosts.extend(ips.into_iter().map(|ip| {
                        let addr = SocketAddr::new(ip, r.port);
                        DiscoveredHost {
                            name: r.target.clone(),
                            addr,
                            addrs: vec![addr],
                            priority: r.priority,
                            weight: r.weight,
                            node: view.node_at(addr).map(str::to_owned),
                        }
                    })),
                    Err(e) => {
                        view.log(APP_NODE, "discovery-failed", format!("SRV target {e}"))
                            .attr("host", r.target.as_str())
                            .commit();
                    }
                }
            }
        }
        other => {
            let why = match other {
                Ok(_) => "no SRV records".to_owned(),
                Err(e) => e,
            };
            view.log(
                APP_NODE,
                "srv-missing",
                format!("{srv_name}: {why}; falling back to the A record of {xsi_host}"),
            )
            .attr("qname", srv_name.as_str())
            .commit();
            let ips = resolve_addresses(&resolver, xsi_host)
                .await
                .map_err(&fail)?;
            // Without SRV there is no port in DNS: the lab knows where its XSPs listen.
            let ip = ips[0];
            let port = view.port_map().get(&ip).copied().unwrap_or(443);
            let addr = SocketAddr::new(ip, port);
            hosts.push(DiscoveredHost {
                name: xsi_host.to_owned(),
                addr,
                addrs: vec![addr],
                priority: 0,
                weight: 0,
                node: view.node_at(addr).map(str::to_owned),
            });
        }
    }
    if hosts.is_empty() {
        return Err(fail(format!("{srv_name}: no target resolves")));
    }
    let list: Vec<String> = hosts
        .iter()
        .map(|h| {
            let addrs: Vec<String> = h.addrs.iter().map(ToString::to_string).collect();
            format!(
                "{} {} (priority {}, weight {})",
                h.name,
                addrs.join(" "),
                h.priority,
                h.weight
            )
        })
        .collect();
    view.log(
        APP_NODE,
        "discovered",
        format!("Xsi hosts: {}", list.join(", ")),
    )
    .attr(
        "hosts",
        hosts
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(","),
    )
    .attr("host", hosts[0].name.as_str())
    .commit();
    Ok(hosts)
}

#[derive(Default)]
struct State {
    host: Option<DiscoveredHost>,
    channel_id: Option<String>,
    events_received: u64,
    event_types: Vec<String>,
    reinitialisations: u64,
    heartbeats_ok: u64,
    running: bool,
}

/// Most event types remembered by [`WebexAppHandle::event_types`].
const EVENT_TYPES_KEPT: usize = 10_000;

/// A signed-in reference App running as a task. Dropping the handle stops the task too
/// (without waiting); [`stop`](Self::stop) signs out and waits.
pub struct WebexAppHandle {
    user: String,
    hosts: Vec<DiscoveredHost>,
    shared: Arc<Mutex<State>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl WebexAppHandle {
    fn state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.shared.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The signed-in user id.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The hosts found at sign-in, in the order they are tried.
    pub fn hosts(&self) -> &[DiscoveredHost] {
        &self.hosts
    }

    /// The selected host's name (`xsp1.lab.example`); `None` while no channel is open.
    pub fn current_host(&self) -> Option<String> {
        self.state(|s| s.host.as_ref().map(|h| h.name.clone()))
    }

    /// The lab node of the selected host (`xsp1`), when it is a lab XSP.
    pub fn current_node(&self) -> Option<String> {
        self.state(|s| s.host.as_ref().and_then(|h| h.node.clone()))
    }

    /// The open channel's id; `None` while re-initialising.
    pub fn channel_id(&self) -> Option<String> {
        self.state(|s| s.channel_id.clone())
    }

    /// Subscription events received (and acknowledged) so far, over every channel.
    pub fn events_received(&self) -> u64 {
        self.state(|s| s.events_received)
    }

    /// The `eventData` types received, in order (`CallReceivedEvent`, …).
    pub fn event_types(&self) -> Vec<String> {
        self.state(|s| s.event_types.clone())
    }

    /// How often the channel was re-initialised.
    pub fn reinitialisations(&self) -> u64 {
        self.state(|s| s.reinitialisations)
    }

    /// Heartbeats answered 200.
    pub fn heartbeats_ok(&self) -> u64 {
        self.state(|s| s.heartbeats_ok)
    }

    /// Whether the task still runs.
    pub fn is_running(&self) -> bool {
        self.state(|s| s.running)
    }

    /// Signs out: deletes the channel (best effort) and waits for the task to end.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for WebexAppHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The address (and lab node) of a host's latest connection.
type LastAddr = Arc<Mutex<Option<(SocketAddr, Option<String>)>>>;

/// One open channel: the command client (cookie inside) and the stream's reader task.
struct Live {
    index: usize,
    client: EventsClient,
    channel_id: String,
    items: mpsc::Receiver<Result<StreamItem, String>>,
    reader: JoinHandle<()>,
    /// Where the latest connection went (a host with several addresses).
    last: LastAddr,
}

impl Live {
    /// The lab node the latest connection reached, else the host's label.
    fn label(&self, host: &DiscoveredHost) -> String {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|(_, n)| n.clone())
            .unwrap_or_else(|| host.label())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // Closes the stream's connection; the XSP forgets the channel.
        self.reader.abort();
    }
}

/// A failed request and whether it was the host's fault.
struct Failure {
    error: String,
    /// Transport error, 5xx or no answer: the App moves to the next host.
    host_failure: bool,
    /// A refusal (4xx) of the channel add, kept for the sign-in error.
    refused: Option<EventsError>,
    /// The HTTP status, when the host answered.
    status: Option<u16>,
}

impl Failure {
    fn from_error(e: EventsError) -> Self {
        let status = match &e {
            EventsError::Status { status, .. } => Some(*status),
            _ => None,
        };
        let mut f = Self::classify(e);
        f.status = status;
        f
    }

    fn classify(e: EventsError) -> Self {
        match &e {
            // Redirects are never followed: the host counts as failed.
            EventsError::Status { status, .. } if (300..400).contains(status) => Failure {
                error: format!("redirect not followed: {e}"),
                host_failure: true,
                refused: None,
                status: None,
            },
            EventsError::Status { status, .. } if *status < 500 => Failure {
                error: e.to_string(),
                host_failure: false,
                refused: Some(e),
                status: None,
            },
            _ => Failure {
                error: e.to_string(),
                host_failure: true,
                refused: None,
                status: None,
            },
        }
    }

    fn timeout(what: &str, after: Duration) -> Self {
        Failure {
            error: format!("{what}: no answer within {after:?}"),
            host_failure: true,
            refused: None,
            status: None,
        }
    }

    fn kind(&self) -> &'static str {
        if self.refused.is_some() {
            "refused"
        } else if self.host_failure {
            "host"
        } else {
            "channel"
        }
    }
}

enum Outcome {
    Reinit { next_host: bool, reason: String },
}

struct App {
    view: LabView,
    opts: WebexAppOptions,
    user: String,
    /// `Authorization` of every Xsi-Events request (`Bearer <JWT>` or `Basic …`).
    authorization: String,
    channel_set: String,
    /// Address choice for hosts with several addresses.
    rng: Arc<Mutex<Rng>>,
    hosts: Vec<DiscoveredHost>,
    tls: Arc<rustls::ClientConfig>,
    shared: Arc<Mutex<State>>,
    /// Package and subscription id of every subscription made.
    subscriptions: Vec<(String, String)>,
}

impl App {
    /// Picks the address of each new connection to a host with several addresses: the
    /// name is resolved again and one of the answers taken at random (seeded).
    fn dialer(&self, host: &DiscoveredHost, last: LastAddr) -> Dialer {
        let view = self.view.clone();
        let rng = self.rng.clone();
        let name = host.name.clone();
        let port = host.addr.port();
        let user = self.user.clone();
        let timeout = self.opts.request_timeout;
        Arc::new(move || -> DialFuture {
            let (view, rng, name, user, last) = (
                view.clone(),
                rng.clone(),
                name.clone(),
                user.clone(),
                last.clone(),
            );
            Box::pin(async move {
                let resolver = lab_resolver(view.dns, timeout)?;
                let ips = resolve_addresses(&resolver, &name).await.inspect_err(|e| {
                    view.log(APP_NODE, "resolve-failed", format!("{name}: {e}"))
                        .attr("user", user.as_str())
                        .attr("host", name.as_str())
                        .commit();
                })?;
                let i = rng
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .below(ips.len() as u64) as usize;
                let addr = target_addr(&view, ips[i], port);
                let node = view.node_at(addr).map(str::to_owned);
                view.log(
                    APP_NODE,
                    "address-picked",
                    format!(
                        "{name} has {} addresses; connecting to {addr} ({})",
                        ips.len(),
                        node.as_deref().unwrap_or("not a lab XSP")
                    ),
                )
                .attr("user", user.as_str())
                .attr("host", name.as_str())
                .attr("ip", addr.ip().to_string())
                .attr("xsp", node.clone().unwrap_or_else(|| addr.to_string()))
                .attr("addresses", ips.len().to_string())
                .commit();
                *last.lock().unwrap_or_else(|e| e.into_inner()) = Some((addr, node));
                Ok(addr)
            })
        })
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.shared.lock().unwrap_or_else(|e| e.into_inner()));
    }

    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, EventsError>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(self.opts.request_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Failure::from_error(e)),
            Err(_) => Err(Failure::timeout(what, self.opts.request_timeout)),
        }
    }

    /// Opens the channel on the first host that accepts it, from `start` on, wrapping.
    /// At sign-in one pass; later it keeps trying with an increasing delay.
    async fn establish(&mut self, start: usize, signing_in: bool) -> Result<Live, WebexAppError> {
        let n = self.hosts.len();
        let mut backoff = self.opts.retry_backoff;
        loop {
            let mut errors = Vec::new();
            for k in 0..n {
                let i = (start + k) % n;
                match self.open_on(i).await {
                    Ok(live) => return Ok(live),
                    Err(f) => {
                        let host = &self.hosts[i];
                        self.view
                            .log(
                                APP_NODE,
                                "host-failed",
                                format!("{}: {}", host.name, f.error),
                            )
                            .attr("user", self.user.as_str())
                            .attr("host", host.name.as_str())
                            .attr("xsp", host.label())
                            .attr("failure", f.kind())
                            .attr("error", f.error.as_str())
                            .commit();
                        if signing_in && let Some(source) = f.refused {
                            return Err(WebexAppError::Refused {
                                host: host.name.clone(),
                                source,
                            });
                        }
                        errors.push(format!("{}: {}", host.name, f.error));
                    }
                }
            }
            if signing_in {
                return Err(WebexAppError::NoHost(errors.join("; ")));
            }
            self.view
                .log(
                    APP_NODE,
                    "all-hosts-failed",
                    format!("every Xsi host failed; again in {backoff:?}"),
                )
                .attr("user", self.user.as_str())
                .attr("retry_in_ms", backoff.as_millis().to_string())
                .commit();
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.opts.max_backoff);
        }
    }

    /// Channel add on host `index`, then the subscriptions that are missing.
    async fn open_on(&mut self, index: usize) -> Result<Live, Failure> {
        let host = self.hosts[index].clone();
        let mut endpoint = Endpoint::with_tls(host.addr, host.name.clone(), self.tls.clone());
        let last: LastAddr = Arc::new(Mutex::new(None));
        if host.addrs.len() > 1 {
            endpoint = endpoint.dialing(self.dialer(&host, last.clone()));
        }
        let client = EventsClient::with_authorization(endpoint, Some(self.authorization.clone()));
        let mut req = ChannelRequest::new(&self.channel_set, &self.opts.application_id);
        req.expires = self.opts.channel_expires;
        let mut channel = self.timed("channel add", client.open_channel(&req)).await?;
        let channel_id = channel.id().to_owned();
        let channel_xsp = channel
            .peer_addr()
            .and_then(|a| self.view.node_at(a).map(str::to_owned))
            .unwrap_or_else(|| host.label());
        let (tx, items) = mpsc::channel(64);
        let reader = tokio::spawn(async move {
            loop {
                let item = match channel.next_event().await {
                    Ok(Some(item)) => Ok(item),
                    Ok(None) => Err("the stream ended".to_owned()),
                    Err(e) => Err(e.to_string()),
                };
                let end = item.is_err();
                if tx.send(item).await.is_err() || end {
                    return;
                }
            }
        });
        let live = Live {
            index,
            client,
            channel_id,
            items,
            reader,
            last,
        };
        self.view
            .log(
                APP_NODE,
                "channel-opened",
                format!("event channel {} on {}", live.channel_id, host.name),
            )
            .attr("user", self.user.as_str())
            .attr("host", host.name.as_str())
            .attr("xsp", channel_xsp)
            .attr("channel", live.channel_id.as_str())
            .attr("channel_set", self.channel_set.as_str())
            .attr(
                "cookie",
                if live.client.cookie().is_some() {
                    "yes"
                } else {
                    "no"
                },
            )
            .commit();
        self.ensure_subscriptions(&live, &host).await?;
        self.update(|s| {
            s.host = Some(host);
            s.channel_id = Some(live.channel_id.clone());
            s.running = true;
        });
        Ok(live)
    }

    /// Subscribes every package that has no live subscription yet.
    async fn ensure_subscriptions(
        &mut self,
        live: &Live,
        host: &DiscoveredHost,
    ) -> Result<(), Failure> {
        for package in self.opts.packages.clone() {
            let known = self.subscriptions.iter().position(|(p, _)| *p == package);
            if let Some(pos) = known {
                let id = self.subscriptions[pos].1.clone();
                let path = format!("{EVENTS_ROOT}/subscription/{id}");
                let (status, _) = self
                    .timed(
                        "subscription check",
                        live.client.request(Method::GET, &path, bytes::Bytes::new()),
                    )
                    .await?;
                if status == 200 {
                    continue;
                }
                if status >= 500 {
                    return Err(Failure {
                        error: format!("subscription check: HTTP {status}"),
                        host_failure: true,
                        refused: None,
                        status: None,
                    });
                }
                self.view
                    .log(
                        APP_NODE,
                        "subscription-gone",
                        format!("{package} subscription {id} is gone (HTTP {status})"),
                    )
                    .attr("user", self.user.as_str())
                    .attr("package", package.as_str())
                    .attr("subscription", id.as_str())
                    .commit();
                self.subscriptions.remove(pos);
            }
            let subscribed = self
                .timed(
                    "subscribe",
                    live.client.subscribe(
                        &self.user,
                        &package,
                        &self.channel_set,
                        &self.opts.application_id,
                    ),
                )
                .await;
            match subscribed {
                Ok(id) => {
                    self.view
                        .log(
                            APP_NODE,
                            "subscribed",
                            format!("{package} for {} on {}", self.user, host.name),
                        )
                        .attr("user", self.user.as_str())
                        .attr("host", host.name.as_str())
                        .attr("xsp", live.label(host))
                        .attr("package", package.as_str())
                        .attr("subscription", id.as_str())
                        .commit();
                    self.subscriptions.push((package, id));
                }
                // A refused package (not in this release…) does not stop the App.
                Err(f) if f.refused.is_some() => {
                    self.view
                        .log(
                            APP_NODE,
                            "subscribe-refused",
                            format!("{package}: {}", f.error),
                        )
                        .attr("user", self.user.as_str())
                        .attr("host", host.name.as_str())
                        .attr("package", package.as_str())
                        .attr("error", f.error.as_str())
                        .commit();
                }
                Err(f) => return Err(f),
            }
        }
        Ok(())
    }

    /// The running App: serve the channel, re-initialise it when it fails, until stopped.
    async fn run(mut self, mut live: Live, mut stop: watch::Receiver<bool>) {
        loop {
            let outcome = tokio::select! {
                _ = stop.wait_for(|s| *s) => None,
                o = self.session(&mut live) => Some(o),
            };
            let Some(Outcome::Reinit { next_host, reason }) = outcome else {
                self.sign_out(live).await;
                return;
            };
            let from = live.index;
            let old_label = live.label(&self.hosts[from]);
            drop(live);
            self.update(|s| s.channel_id = None);
            let start = if next_host {
                (from + 1) % self.hosts.len()
            } else {
                from
            };
            let old = self.hosts[from].clone();
            self.view
                .log(
                    APP_NODE,
                    "reinitialising",
                    format!("re-initialising the event channel ({reason})"),
                )
                .attr("user", self.user.as_str())
                .attr("host", old.name.as_str())
                .attr("xsp", old_label)
                .attr("reason", reason.as_str())
                .commit();
            let established = tokio::select! {
                _ = stop.wait_for(|s| *s) => None,
                r = self.establish(start, false) => r.ok(),
            };
            let Some(new) = established else {
                self.signed_out();
                return;
            };
            live = new;
            let host = self.hosts[live.index].clone();
            self.update(|s| s.reinitialisations += 1);
            self.view
                .log(
                    APP_NODE,
                    "channel-reinitialised",
                    format!("channel re-initialised on {}", live.label(&host)),
                )
                .attr("user", self.user.as_str())
                .attr("host", host.name.as_str())
                .attr("xsp", live.label(&host))
                .attr("channel", live.channel_id.as_str())
                .attr("previous_host", old.name.as_str())
                .attr("reason", reason.as_str())
                .commit();
        }
    }

    /// Serves one channel until it must be re-initialised.
    async fn session(&mut self, live: &mut Live) -> Outcome {
        let every = self.opts.heartbeat_interval;
        let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut failures = 0u32;
        let mut stream_open = true;
        loop {
            tokio::select! {
                item = live.items.recv(), if stream_open => match item {
                    Some(Ok(StreamItem::Event(ev))) => {
                        if let Some(o) = self.on_event(live, ev).await {
                            return o;
                        }
                    }
                    Some(Ok(StreamItem::Heartbeat)) => {}
                    Some(Err(e)) => {
                        stream_open = false;
                        self.stream_ended(live, &e);
                    }
                    None => {
                        stream_open = false;
                        self.stream_ended(live, "the reader stopped");
                    }
                },
                _ = ticks.tick() => {
                    let host = self.hosts[live.index].clone();
                    let beat = self.timed("heartbeat", live.client.heartbeat(&live.channel_id)).await;
                    match beat {
                        Ok(()) => {
                            failures = 0;
                            self.update(|s| s.heartbeats_ok += 1);
                            self.view
                                .log(APP_NODE, "heartbeat", format!("heartbeat on {}", host.name))
                                .attr("user", self.user.as_str())
                                .attr("host", host.name.as_str())
                                .attr("xsp", live.label(&host))
                                .attr("channel", live.channel_id.as_str())
                                .attr("outcome", "ok")
                                .commit();
                        }
                        Err(f) => {
                            failures += 1;
                            let mut rec = self
                                .view
                                .log(
                                    APP_NODE,
                                    "heartbeat-failed",
                                    format!("heartbeat on {} failed ({failures} in a row): {}", host.name, f.error),
                                )
                                .attr("user", self.user.as_str())
                                .attr("host", host.name.as_str())
                                .attr("xsp", live.label(&host))
                                .attr("channel", live.channel_id.as_str())
                                .attr("consecutive", failures.to_string())
                                .attr("failure", if f.host_failure { "host" } else { "channel" })
                                .attr("error", f.error.as_str());
                            if let Some(status) = f.status {
                                rec = rec.attr("status", status.to_string());
                            }
                            rec.commit();
                            if failures >= 2 {
                                return Outcome::Reinit {
                                    next_host: f.host_failure,
                                    reason: format!("two consecutive heartbeat failures: {}", f.error),
                                };
                            }
                        }
                    }
                }
            }
        }
    }

    fn stream_ended(&self, live: &Live, why: &str) {
        let host = self.hosts[live.index].clone();
        self.view
            .log(
                APP_NODE,
                "stream-ended",
                format!("event stream of {} ended: {why}", live.channel_id),
            )
            .attr("user", self.user.as_str())
            .attr("host", host.name.as_str())
            .attr("xsp", live.label(&host))
            .attr("channel", live.channel_id.as_str())
            .attr("error", why)
            .commit();
    }

    /// Acknowledges a subscription event; a `ChannelTerminatedEvent` re-initialises.
    async fn on_event(&mut self, live: &Live, ev: Event) -> Option<Outcome> {
        let host = self.hosts[live.index].clone();
        match ev {
            Event::Subscription(ev) => {
                let event_type = ev.data.type_name().to_owned();
                let acked = self
                    .timed("event response", live.client.ack(&ev.event_id, 200))
                    .await;
                self.update(|s| {
                    s.events_received += 1;
                    if s.event_types.len() < EVENT_TYPES_KEPT {
                        s.event_types.push(event_type.clone());
                    }
                });
                let mut rec = self
                    .view
                    .log(
                        APP_NODE,
                        "event",
                        format!("{event_type} on {} ({})", live.channel_id, host.name),
                    )
                    .attr("user", self.user.as_str())
                    .attr("host", host.name.as_str())
                    .attr("xsp", live.label(&host))
                    .attr("channel", live.channel_id.as_str())
                    .attr("event_type", event_type.as_str())
                    .attr("event_id", ev.event_id.as_str())
                    .attr("sequence", ev.sequence_number.to_string());
                rec = match &acked {
                    Ok(()) => rec.attr("ack", "ok"),
                    Err(f) => rec.attr("ack", "failed").attr("error", f.error.as_str()),
                };
                rec.commit();
                None
            }
            Event::ChannelTerminated(t) => {
                let reason = t.reason.as_str();
                self.view
                    .log(
                        APP_NODE,
                        "channel-terminated",
                        format!("channel {} terminated: {reason}", t.channel_id),
                    )
                    .attr("user", self.user.as_str())
                    .attr("host", host.name.as_str())
                    .attr("xsp", live.label(&host))
                    .attr("channel", t.channel_id.as_str())
                    .attr("reason", reason)
                    .commit();
                Some(Outcome::Reinit {
                    next_host: false,
                    reason: format!("ChannelTerminatedEvent ({reason})"),
                })
            }
            Event::Error(_) => None,
        }
    }

    async fn sign_out(&self, live: Live) {
        let _ = tokio::time::timeout(
            self.opts.request_timeout,
            live.client.delete_channel(&live.channel_id),
        )
        .await;
        drop(live);
        self.signed_out();
    }

    fn signed_out(&self) {
        self.update(|s| {
            s.running = false;
            s.host = None;
            s.channel_id = None;
        });
        self.view
            .log(APP_NODE, "signed-out", format!("{} signed out", self.user))
            .attr("user", self.user.as_str())
            .commit();
    }
}
