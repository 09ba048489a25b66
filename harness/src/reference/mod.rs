//! The built-in reference clients: stand-ins for the Webex components that talk to a
//! BroadWorks XSP farm, implementing their documented behaviours against a running
//! [`Lab`](crate::Lab) over real sockets.
//!
//! * [`WebexApp`] — the Webex App's Xsi-Events side: SRV discovery once at sign-in,
//!   host order by priority then weight, an event channel with cookie affinity,
//!   re-initialisation after two consecutive heartbeat failures, no fail-back.
//! * [`CloudClient`] — a Webex cloud microservice calling Xsi-Actions on the farm's cloud
//!   name: first IP of the A record, 2 s per try, three tries, a blocked-IP list with expiry
//!   and a random pick when every address is blocked.
//!
//! Both journal what they do as `Kind::Sut` entries (nodes `webex-app` and `webex-cloud`,
//! attribute `action`), so expectations read them like any other lab traffic. Timers run on
//! tokio time: tests use paused time and never sleep to synchronise.
//!
//! The user guide is [docs/reference-clients.md](../../docs/reference-clients.md).

mod app;
mod cloud;
mod tls11;

/// The guide's examples run as doc tests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/reference-clients.md")]
struct ReferenceClientsGuide;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bwlab_core::{Journal, Kind};
use bytes::Bytes;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolveHosts, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

pub use app::{AppLogin, DiscoveredHost, WebexApp, WebexAppError, WebexAppHandle, WebexAppOptions};
pub use cloud::{
    Auth, CloudClient, CloudClientOptions, CloudError, CloudResponse, CloudRunner, CloudSignIn,
    CtiOptions, TlsVersion, XSI_ACTIONS_ROOT,
};

/// Journal node of the reference Webex App.
pub const APP_NODE: &str = "webex-app";
/// Journal node of the reference cloud microservice.
pub const CLOUD_NODE: &str = "webex-cloud";

/// What a reference client needs from the lab: where DNS answers, whom to trust, where to
/// journal, and which XSP listens where (names for journal entries; ports for A records,
/// which carry none).
#[derive(Clone)]
pub(crate) struct LabView {
    pub dns: SocketAddr,
    pub trust: Vec<CertificateDer<'static>>,
    pub journal: Journal,
    /// Every XSP `https` listener: node name and address.
    pub xsps: Vec<(String, SocketAddr)>,
    /// Every XSP `https-mtls` listener (option 1 nodes).
    pub mtls: Vec<(String, SocketAddr)>,
    /// Every XSP `cti` listener.
    pub cti: Vec<(String, SocketAddr)>,
    /// Where the lab's IdP proxy listens (its port; the address comes from DNS).
    pub idp: Option<SocketAddr>,
    /// Every load balancer's listener (a farm name may resolve to them).
    pub lbs: Vec<(String, SocketAddr)>,
}

impl LabView {
    pub fn of(lab: &crate::Lab) -> Self {
        LabView {
            dns: lab.dns_addr(),
            trust: lab.pki().lab_trust_bundle(),
            journal: lab.journal().clone(),
            xsps: lab
                .xsps()
                .map(|(n, h)| (n.to_owned(), h.https_addr()))
                .collect(),
            mtls: lab
                .xsps()
                .filter_map(|(n, h)| Some((n.to_owned(), h.mtls_addr()?)))
                .collect(),
            cti: lab
                .xsps()
                .filter_map(|(n, h)| Some((n.to_owned(), h.cti_addr()?)))
                .collect(),
            idp: lab.cloud().addr(bwlab_cloud::DEFAULT_IDP_HOST),
            lbs: lab.lbs().map(|(n, h)| (n.to_owned(), h.addr())).collect(),
        }
    }

    /// The lab node listening at `addr`, if it is an XSP (any of its listeners).
    pub fn node_at(&self, addr: SocketAddr) -> Option<&str> {
        self.xsps
            .iter()
            .chain(&self.mtls)
            .chain(&self.cti)
            .chain(&self.lbs)
            .find(|(_, a)| *a == addr)
            .map(|(n, _)| n.as_str())
    }

    /// The lab node at `addr`, else the address itself.
    pub fn label(&self, addr: SocketAddr) -> String {
        self.node_at(addr)
            .map_or_else(|| addr.to_string(), str::to_owned)
    }

    /// The `https` port of the XSP at `ip` (the lab's ports may be ephemeral, so an A
    /// record alone does not say where to connect).
    pub fn port_map(&self) -> HashMap<IpAddr, u16> {
        let mut map = HashMap::new();
        for (_, a) in self.xsps.iter().chain(&self.lbs) {
            map.entry(a.ip()).or_insert(a.port());
        }
        map
    }

    /// Starts a journal entry of kind `Sut`.
    pub fn log<'a>(
        &'a self,
        node: &str,
        action: &str,
        summary: impl Into<String>,
    ) -> bwlab_core::journal::Record<'a> {
        self.journal
            .record(node.to_owned(), Kind::Sut, summary)
            .attr("action", action)
    }
}

/// An HTTP answer read whole.
pub(crate) struct HttpAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub body: Bytes,
}

impl HttpAnswer {
    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One HTTP/1.1 exchange over a new TLS connection to `addr`, with `host` as server name
/// and `Host` header. Errors are text: `connect …`, `TLS with …`, `HTTP: …`.
pub(crate) async fn https_exchange(
    tls: Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    host: &str,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: Bytes,
) -> Result<HttpAnswer, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| format!("invalid server name {host:?}"))?;
    let io = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let host_header = match addr.port() {
        443 => host.to_owned(),
        p => format!("{host}:{p}"),
    };
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host_header);
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    let req = b.body(Full::new(body)).map_err(|e| e.to_string())?;
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("HTTP body: {e}"))?
            .to_bytes();
        Ok(HttpAnswer {
            status,
            location,
            body,
        })
    }
    .await;
    driver.abort();
    result
}

/// What the IdP proxy said to a BroadWorks login (`POST …/idp/authenticate`).
pub(crate) enum IdpLogin {
    /// Accepted: the user's CI access token and, when the password expires soon, the
    /// proxy's warning text.
    Accepted {
        ci_token: String,
        warning: Option<String>,
    },
    /// Refused: the status and the proxy's message text.
    Refused { status: u16, message: String },
}

/// Posts BroadWorks credentials to the lab's IdP proxy (resolved through the lab DNS).
pub(crate) async fn idp_authenticate(
    view: &LabView,
    tls: Arc<rustls::ClientConfig>,
    user: &str,
    password: &str,
    timeout: Duration,
) -> Result<IdpLogin, String> {
    let body = serde_json::json!({"userId": user, "password": password}).to_string();
    let answer = idp_call(
        view,
        tls,
        Method::POST,
        bwlab_cloud::PATH_AUTHENTICATE,
        &[("content-type", "application/json".to_owned())],
        Bytes::from(body),
        timeout,
    )
    .await?;
    let json = answer.json().unwrap_or_default();
    let text = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    if answer.status == 200 {
        let ci_token = text("accessToken").ok_or("no accessToken in the IdP answer")?;
        let warning = json
            .get("warning")
            .and_then(|w| w.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_owned);
        Ok(IdpLogin::Accepted { ci_token, warning })
    } else {
        let mut message = text("message")
            .or_else(|| text("error"))
            .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).into_owned());
        // An expired password refused by the Webex flag: say how long ago, plainly.
        if let Some(days) = json.get("daysAgo").and_then(|d| d.as_i64()) {
            let plain = format!("password expired {days} days ago");
            if !message.contains(&plain) {
                message = format!("{message} ({plain})");
            }
        }
        Ok(IdpLogin::Refused {
            status: answer.status,
            message,
        })
    }
}

/// One request to the lab's IdP proxy.
pub(crate) async fn idp_call(
    view: &LabView,
    tls: Arc<rustls::ClientConfig>,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<HttpAnswer, String> {
    let host = bwlab_cloud::DEFAULT_IDP_HOST;
    let port = view.idp.map_or(443, |a| a.port());
    let resolver = lab_resolver(view.dns, timeout)?;
    let ips = resolve_addresses(&resolver, host).await?;
    let addr = SocketAddr::new(ips[0], port);
    let mut all = vec![("accept", "application/json".to_owned())];
    all.extend(headers.iter().cloned());
    tokio::time::timeout(
        timeout,
        https_exchange(tls, addr, host, method, path, &all, body),
    )
    .await
    .map_err(|_| format!("{host}: no answer within {timeout:?}"))?
}

/// A resolver that asks only the lab DNS server, without a cache (record changes and DNS
/// faults are seen at once) and without the hosts file.
pub(crate) fn lab_resolver(dns: SocketAddr, timeout: Duration) -> Result<TokioResolver, String> {
    let mut udp = ConnectionConfig::new(ProtocolConfig::Udp);
    udp.port = dns.port();
    let ns = NameServerConfig::new(dns.ip(), true, vec![udp]);
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![ns]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let opts = builder.options_mut();
    opts.timeout = timeout;
    opts.attempts = 2;
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.ndots = 0;
    builder.build().map_err(|e| e.to_string())
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

/// The A and AAAA addresses of `name`, in answer order (A first).
pub(crate) async fn resolve_addresses(
    resolver: &TokioResolver,
    name: &str,
) -> Result<Vec<IpAddr>, String> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for rtype in [RecordType::A, RecordType::AAAA] {
        match resolver.lookup(fqdn(name), rtype).await {
            Ok(lookup) => out.extend(lookup.answers().iter().filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })),
            Err(e) => errors.push(format!("{rtype}: {e}")),
        }
        if !out.is_empty() {
            break;
        }
    }
    if out.is_empty() {
        Err(if errors.is_empty() {
            format!("no address for {name}")
        } else {
            format!("no address for {name} ({})", errors.join("; "))
        })
    } else {
        Ok(out)
    }
}

/// One SRV record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SrvTarget {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

pub(crate) async fn resolve_srv(
    resolver: &TokioResolver,
    name: &str,
) -> Result<Vec<SrvTarget>, String> {
    let lookup = resolver
        .lookup(fqdn(name), RecordType::SRV)
        .await
        .map_err(|e| e.to_string())?;
    Ok(lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(s) => Some(SrvTarget {
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: s.target.to_ascii().trim_end_matches('.').to_owned(),
            }),
            _ => None,
        })
        .collect())
}

/// SplitMix64: small, seeded, enough for host choice; the same seed gives the same run.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        // The bias for lab-sized n is far below anything a test could see.
        self.next_u64() % n
    }
}

/// Orders SRV records as RFC 2782 says: by priority, lowest first; within a priority a
/// weighted random order (weight-0 records first in the running sum, so they are picked
/// rarely but not never).
pub(crate) fn srv_order(mut records: Vec<SrvTarget>, rng: &mut Rng) -> Vec<SrvTarget> {
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records[0].priority;
        let end = records
            .iter()
            .position(|r| r.priority != priority)
            .unwrap_or(records.len());
        let mut group: Vec<SrvTarget> = records.drain(..end).collect();
        while !group.is_empty() {
            let total: u64 = group.iter().map(|r| u64::from(r.weight)).sum();
            let pick = rng.below(total + 1);
            let mut running = 0u64;
            let idx = group
                .iter()
                .position(|r| {
                    running += u64::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(idx));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, target: &str) -> SrvTarget {
        SrvTarget {
            priority,
            weight,
            port: 443,
            target: target.into(),
        }
    }

    #[test]
    fn priority_first_then_weight() {
        let records = vec![
            srv(20, 10, "c"),
            srv(10, 10, "a"),
            srv(10, 10, "b"),
            srv(30, 0, "d"),
        ];
        let mut seen_first = HashMap::new();
        for seed in 0..400 {
            let order = srv_order(records.clone(), &mut Rng::new(seed));
            let names: Vec<&str> = order.iter().map(|r| r.target.as_str()).collect();
            assert_eq!(&names[2..], ["c", "d"], "{names:?}");
            *seen_first.entry(names[0].to_owned()).or_insert(0) += 1;
        }
        // Equal weights: both orders happen, roughly evenly.
        let a = seen_first["a"];
        assert!((120..=280).contains(&a), "a first {a} times of 400");
    }

    #[test]
    fn heavier_weight_wins_more_often_and_seed_replays() {
        let records = vec![srv(10, 90, "heavy"), srv(10, 10, "light")];
        let heavy = (0..500)
            .filter(|&s| srv_order(records.clone(), &mut Rng::new(s))[0].target == "heavy")
            .count();
        assert!(heavy > 380, "heavy first {heavy} times of 500");
        let a = srv_order(records.clone(), &mut Rng::new(7));
        let b = srv_order(records, &mut Rng::new(7));
        assert_eq!(a, b);
    }
}
