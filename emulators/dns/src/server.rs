//! Starting and stopping the server, and the handle a lab keeps while it runs.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bwlab_core::{Journal, Kind, LabClock, NodePlan};
use hickory_proto::rr::RecordType;
use hickory_server::Server;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::net::{TcpListener, UdpSocket};

use crate::config::{DnsConfig, RecordConfig};
use crate::error::DnsError;
use crate::faults::{ActiveFault, DnsFault, FaultId, FaultRule, Faults};
use crate::handler::DnsHandler;
use crate::records::{DEFAULT_NEGATIVE_TTL, DEFAULT_TTL, RecordData, Records, Srv, Ttls};

/// Default journal node name.
pub const DEFAULT_NODE_NAME: &str = "dns";
/// Attempts at finding a port number free for both UDP and TCP when both are ephemeral.
const SAME_PORT_ATTEMPTS: usize = 16;
/// How long shutdown waits for the socket tasks before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Where entries go and under which node name; shared by records, faults and the handler.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) journal: Journal,
    pub(crate) node: Arc<str>,
}

/// Entry point: `DnsServer::builder()` or `DnsServer::from_config(&config)`.
pub struct DnsServer;

impl DnsServer {
    /// A builder with no zones, journal node `dns`, listening on `127.0.0.1:0` (UDP and TCP
    /// on the same port number when possible).
    pub fn builder() -> DnsServerBuilder {
        DnsServerBuilder::default()
    }

    /// A builder loaded from config; errors in the config are reported by
    /// [`start`](DnsServerBuilder::start).
    pub fn from_config(config: &DnsConfig) -> DnsServerBuilder {
        let mut builder = DnsServerBuilder {
            ttl: config.ttl,
            negative_ttl: config.negative_ttl,
            ..DnsServerBuilder::default()
        };
        if let Some(node) = &config.node_name {
            builder.node_name = node.clone();
        }
        builder.zones.extend(config.zones.iter().cloned());
        builder
            .ops
            .extend(config.records.iter().cloned().map(Op::Set));
        builder.faults.extend(config.faults.iter().cloned());
        builder
    }
}

/// A record operation queued until start, so the builder never fails half-way.
enum Op {
    Set(RecordConfig),
    Add(String, RecordData),
    Rotate(String, RecordType),
}

/// Configures and starts a [`DnsServer`]. Methods take any input; invalid names or values
/// surface as a [`DnsError`] from [`start`](Self::start).
pub struct DnsServerBuilder {
    zones: Vec<String>,
    ops: Vec<Op>,
    faults: Vec<FaultRule>,
    ttl: u32,
    negative_ttl: u32,
    journal: Option<Journal>,
    node_name: String,
    udp: SocketAddr,
    tcp: SocketAddr,
    tcp_idle_timeout: Duration,
    error: Option<DnsError>,
}

impl Default for DnsServerBuilder {
    fn default() -> Self {
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self {
            zones: Vec::new(),
            ops: Vec::new(),
            faults: Vec::new(),
            ttl: DEFAULT_TTL,
            negative_ttl: DEFAULT_NEGATIVE_TTL,
            journal: None,
            node_name: DEFAULT_NODE_NAME.to_string(),
            udp: local,
            tcp: local,
            tcp_idle_timeout: Duration::from_secs(10),
            error: None,
        }
    }
}

impl DnsServerBuilder {
    /// Serves `zone` authoritatively (SOA and NS `ns1.<zone>` are synthesised).
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.zones.push(zone.into());
        self
    }

    /// Appends one value to the set of its type at `name`; repeated calls build a
    /// multi-value set in call order.
    pub fn record(mut self, name: impl Into<String>, value: impl Into<RecordData>) -> Self {
        self.ops.push(Op::Add(name.into(), value.into()));
        self
    }

    /// Sets (replaces) the whole set of the values' type at `name`, in the given order.
    pub fn records(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = RecordData>,
    ) -> Self {
        let values: Vec<RecordData> = values.into_iter().collect();
        let name = name.into();
        match values.first() {
            Some(first) => {
                let rtype = first.record_type();
                self.ops.push(Op::Set(RecordConfig::from_values(
                    &name, rtype, None, false, &values,
                )));
            }
            None => {
                self.error.get_or_insert(DnsError::InvalidRecordSet {
                    name,
                    reason: "no values".into(),
                });
            }
        }
        self
    }

    /// A record set in config form.
    pub fn record_config(mut self, record: RecordConfig) -> Self {
        self.ops.push(Op::Set(record));
        self
    }

    /// A/AAAA records from address strings, in answer order (`["127.77.0.2", "::1"]`).
    pub fn addresses(
        mut self,
        name: impl Into<String>,
        addrs: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Self {
        let name = name.into();
        for addr in addrs {
            let text = addr.as_ref();
            match text.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => self.ops.push(Op::Add(name.clone(), ip.into())),
                Err(_) => {
                    self.error.get_or_insert(DnsError::InvalidValue {
                        name: name.clone(),
                        rtype: "A/AAAA".into(),
                        reason: format!("{text:?} is not an IP address"),
                    });
                }
            }
        }
        self
    }

    /// Round-robin for one set: each answer starts one value further along.
    pub fn rotate(mut self, name: impl Into<String>, rtype: RecordType) -> Self {
        self.ops.push(Op::Rotate(name.into(), rtype));
        self
    }

    /// `_xsi-client._tcp.<domain>` SRV targets (Webex App XSP discovery).
    pub fn xsi_client_srv(self, domain: &str, targets: impl IntoIterator<Item = Srv>) -> Self {
        self.records(
            crate::names::xsi_client(domain),
            targets.into_iter().map(RecordData::Srv),
        )
    }

    /// `_pushnotification-client._tcp.<domain>` SRV targets (AS → NPS).
    pub fn push_notification_srv(
        self,
        domain: &str,
        targets: impl IntoIterator<Item = Srv>,
    ) -> Self {
        self.records(
            crate::names::push_notification_client(domain),
            targets.into_iter().map(RecordData::Srv),
        )
    }

    /// `_sip._tls.<domain>` SRV targets (RoomOS SIP over TLS).
    pub fn sip_tls_srv(self, domain: &str, targets: impl IntoIterator<Item = Srv>) -> Self {
        self.records(
            crate::names::sip_tls(domain),
            targets.into_iter().map(RecordData::Srv),
        )
    }

    /// The NAPTR at `<domain>` that leads RoomOS to `_sip._tls.<domain>`.
    pub fn sip_tls_naptr(self, domain: &str) -> Self {
        let name = domain.trim().trim_end_matches('.').to_string();
        self.record(name, RecordData::naptr_sip_tls(10, 10, domain))
    }

    /// A fault active from the start.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Default record TTL in seconds (60 unless set).
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = seconds;
        self
    }

    /// Negative-caching TTL (SOA minimum) in seconds (0 unless set).
    pub fn negative_ttl(mut self, seconds: u32) -> Self {
        self.negative_ttl = seconds;
        self
    }

    /// The lab journal to record queries and faults in (a private one otherwise).
    pub fn journal(mut self, journal: Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The node name journal entries carry (`dns` unless set).
    pub fn node_name(mut self, node: impl Into<String>) -> Self {
        self.node_name = node.into();
        self
    }

    /// Where to listen. Port 0 is ephemeral; when both ports are 0 the TCP listener takes
    /// the UDP port number if it can, so one `host:port` serves both.
    pub fn bind(mut self, udp: SocketAddr, tcp: SocketAddr) -> Self {
        self.udp = udp;
        self.tcp = tcp;
        self
    }

    /// Listens where the address plan puts this node (ports `dns` and `dns-tcp`); also takes
    /// the node's name for the journal.
    pub fn bind_plan(mut self, node: &NodePlan) -> Self {
        match (node.addr("dns"), node.addr("dns-tcp")) {
            (Some(udp), Some(tcp)) => {
                self.udp = udp;
                self.tcp = tcp;
                self.node_name = node.name.clone();
            }
            (None, _) => {
                self.error.get_or_insert(DnsError::MissingPort {
                    node: node.name.clone(),
                    port: "dns",
                });
            }
            (_, None) => {
                self.error.get_or_insert(DnsError::MissingPort {
                    node: node.name.clone(),
                    port: "dns-tcp",
                });
            }
        }
        self
    }

    /// Closes TCP connections idle this long (10 s unless set).
    pub fn tcp_idle_timeout(mut self, timeout: Duration) -> Self {
        self.tcp_idle_timeout = timeout;
        self
    }

    /// Validates everything, binds the sockets and starts serving.
    pub async fn start(self) -> Result<DnsHandle, DnsError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.zones.is_empty() {
            return Err(DnsError::NoZones);
        }
        let journal = self
            .journal
            .unwrap_or_else(|| Journal::new(LabClock::system()));
        let ctx = Ctx {
            journal,
            node: Arc::from(self.node_name.as_str()),
        };
        // Set-up changes are not lab events: build the store with a throw-away journal.
        let quiet = Ctx {
            journal: Journal::with_limits(LabClock::system(), 1, 0),
            node: ctx.node.clone(),
        };
        let ttls = Ttls {
            ttl: self.ttl,
            negative_ttl: self.negative_ttl,
        };
        let records = Records::new(ttls, quiet.clone());
        for zone in &self.zones {
            records.add_zone(zone)?;
        }
        for op in &self.ops {
            match op {
                Op::Set(config) => records.apply(config)?,
                Op::Add(name, value) => records.add(name, value.clone())?,
                Op::Rotate(name, rtype) => {
                    records.set_rotation(name, *rtype, true)?;
                }
            }
        }
        let records = records.with_ctx(ctx.clone());
        let faults = Faults::new(ctx.clone());
        for rule in &self.faults {
            faults.inject_rule(rule)?;
        }

        let (udp, tcp) = bind_pair(self.udp, self.tcp).await?;
        let udp_addr = udp
            .local_addr()
            .map_err(|e| bind_error("udp", self.udp, e))?;
        let tcp_addr = tcp
            .local_addr()
            .map_err(|e| bind_error("tcp", self.tcp, e))?;

        let handler = DnsHandler::new(records.clone(), faults.clone(), ctx.clone());
        let mut server = Server::new(handler.clone());
        server.register_socket(udp);
        server.register_listener(tcp, self.tcp_idle_timeout, 64);

        ctx.journal
            .record(
                ctx.node.clone(),
                Kind::Lab,
                format!(
                    "dns up: udp {udp_addr} tcp {tcp_addr}, zones {}",
                    records.zones().join(", ")
                ),
            )
            .attr("udp", udp_addr.to_string())
            .attr("tcp", tcp_addr.to_string())
            .commit();
        tracing::info!(%udp_addr, %tcp_addr, node = %ctx.node, "lab DNS server listening");

        Ok(DnsHandle {
            inner: Arc::new(HandleInner {
                udp_addr,
                tcp_addr,
                records,
                faults,
                handler,
                ctx,
                server: Mutex::new(Some(server)),
            }),
        })
    }
}

fn bind_error(proto: &'static str, addr: SocketAddr, source: io::Error) -> DnsError {
    DnsError::Bind {
        proto,
        addr,
        source,
    }
}

/// Binds both sockets; with both ports ephemeral, tries to give them one port number.
async fn bind_pair(udp: SocketAddr, tcp: SocketAddr) -> Result<(UdpSocket, TcpListener), DnsError> {
    if udp.port() == 0 && tcp.port() == 0 {
        for _ in 0..SAME_PORT_ATTEMPTS {
            let socket = UdpSocket::bind(udp)
                .await
                .map_err(|e| bind_error("udp", udp, e))?;
            let port = socket
                .local_addr()
                .map_err(|e| bind_error("udp", udp, e))?
                .port();
            let same = SocketAddr::new(tcp.ip(), port);
            match TcpListener::bind(same).await {
                Ok(listener) => return Ok((socket, listener)),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(bind_error("tcp", same, e)),
            }
        }
        tracing::debug!("no common UDP/TCP port found; TCP gets its own ephemeral port");
    }
    let socket = UdpSocket::bind(udp)
        .await
        .map_err(|e| bind_error("udp", udp, e))?;
    let listener = TcpListener::bind(tcp)
        .await
        .map_err(|e| bind_error("tcp", tcp, e))?;
    Ok((socket, listener))
}

/// A running server. Cloning is cheap; the server runs until [`shutdown`](Self::shutdown)
/// or until the last clone is dropped (which aborts its tasks).
#[derive(Clone)]
pub struct DnsHandle {
    inner: Arc<HandleInner>,
}

struct HandleInner {
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
    records: Records,
    faults: Faults,
    handler: DnsHandler,
    ctx: Ctx,
    server: Mutex<Option<Server<DnsHandler>>>,
}

impl std::fmt::Debug for DnsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsHandle")
            .field("node", &self.node_name())
            .field("udp", &self.inner.udp_addr)
            .field("tcp", &self.inner.tcp_addr)
            .finish_non_exhaustive()
    }
}

/// Everything the server serves right now, for reports.
#[derive(Clone, Debug, Serialize)]
pub struct DnsReport {
    pub node: String,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub running: bool,
    pub serial: u32,
    pub zones: Vec<String>,
    pub records: Vec<RecordConfig>,
    pub faults: Vec<ActiveFault>,
}

impl DnsHandle {
    /// The bound UDP address (the real port when 0 was asked for).
    pub fn udp_addr(&self) -> SocketAddr {
        self.inner.udp_addr
    }

    /// The bound TCP address.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.inner.tcp_addr
    }

    /// Run-time record changes; visible to the next query.
    pub fn records(&self) -> &Records {
        &self.inner.records
    }

    /// The fault table.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Shorthand for [`Faults::inject`].
    pub fn inject(
        &self,
        name_pattern: &str,
        rtype: Option<RecordType>,
        fault: DnsFault,
    ) -> FaultId {
        self.inner.faults.inject(name_pattern, rtype, fault)
    }

    /// Shorthand for [`Faults::revert`].
    pub fn revert(&self, id: FaultId) -> bool {
        self.inner.faults.revert(id)
    }

    /// The journal this server records in.
    pub fn journal(&self) -> &Journal {
        &self.inner.ctx.journal
    }

    pub fn node_name(&self) -> &str {
        &self.inner.ctx.node
    }

    /// The handler, for answering raw bytes without a socket.
    pub fn handler(&self) -> &DnsHandler {
        &self.inner.handler
    }

    /// False once [`shutdown`](Self::shutdown) has been called.
    pub fn is_running(&self) -> bool {
        self.inner.server.lock().is_some()
    }

    /// Zones, records and faults in config form (what a scenario would write to get here).
    pub fn config(&self) -> DnsConfig {
        let ttls = self.inner.records.ttls();
        DnsConfig {
            zones: self.inner.records.zones(),
            records: self.inner.records.list(),
            faults: self
                .inner
                .faults
                .list()
                .into_iter()
                .map(|f| f.rule)
                .collect(),
            ttl: ttls.ttl,
            negative_ttl: ttls.negative_ttl,
            node_name: Some(self.node_name().to_string()),
        }
    }

    /// A serialisable picture of the server for lab reports.
    pub fn report(&self) -> DnsReport {
        DnsReport {
            node: self.node_name().to_string(),
            udp: self.udp_addr(),
            tcp: self.tcp_addr(),
            running: self.is_running(),
            serial: self.inner.records.serial(),
            zones: self.inner.records.zones(),
            records: self.inner.records.list(),
            faults: self.inner.faults.list(),
        }
    }

    /// Stops accepting queries and waits (briefly) for the socket tasks to end; in-flight
    /// delayed answers are abandoned. Idempotent: later calls return `Ok` at once.
    pub async fn shutdown(&self) -> Result<(), DnsError> {
        let Some(mut server) = self.inner.server.lock().take() else {
            return Ok(());
        };
        let outcome = match tokio::time::timeout(SHUTDOWN_GRACE, server.shutdown_gracefully()).await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DnsError::Shutdown(e.to_string())),
            Err(_) => Err(DnsError::Shutdown(
                "socket tasks did not stop in time".into(),
            )),
        };
        // Dropping the server aborts whatever is still running.
        drop(server);
        let ctx = &self.inner.ctx;
        ctx.journal
            .record(ctx.node.clone(), Kind::Lab, "dns down")
            .commit();
        outcome
    }
}
