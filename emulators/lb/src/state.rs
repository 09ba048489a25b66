//! Shared state of one LB: backends and their health, the balancing policy, persistence
//! tables, and journalling helpers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bwlab_core::journal::Record;
use bwlab_core::{Journal, Kind};
use bwlab_pki::rustls::ClientConfig;
use bwlab_pki::rustls::pki_types::ServerName;
use parking_lot::{Mutex, RwLock};

use crate::{Affinity, BackendSpec, BackendStatus, Mode, Policy, Why};

/// Most persistence entries kept (learned cookies, client addresses); past that an arbitrary
/// old entry is forgotten, as a real LB's persistence table would age out.
const MAX_PERSISTENCE: usize = 100_000;

pub(crate) struct Backend {
    pub name: Arc<str>,
    pub spec: BackendSpec,
    pub server_name: ServerName<'static>,
    healthy: AtomicBool,
    forced_down: AtomicBool,
}

impl Backend {
    pub(crate) fn new(spec: BackendSpec, server_name: ServerName<'static>) -> Self {
        Backend {
            name: Arc::from(spec.name.as_str()),
            spec,
            server_name,
            healthy: AtomicBool::new(true),
            forced_down: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.healthy.load(Ordering::Acquire) && !self.forced_down.load(Ordering::Acquire)
    }

    pub(crate) fn set_forced_down(&self, down: bool) {
        self.forced_down.store(down, Ordering::Release);
    }

    /// Records a health result; returns whether it changed.
    pub(crate) fn set_healthy(&self, healthy: bool) -> bool {
        self.healthy.swap(healthy, Ordering::AcqRel) != healthy
    }

    pub(crate) fn status(&self) -> BackendStatus {
        let healthy = self.healthy.load(Ordering::Acquire);
        let forced_down = self.forced_down.load(Ordering::Acquire);
        BackendStatus {
            name: self.spec.name.clone(),
            addr: self.spec.addr,
            healthy,
            forced_down,
            up: healthy && !forced_down,
        }
    }
}

/// The policy with its running state.
enum Picker {
    RoundRobin { next: usize },
    Random { state: u64 },
}

impl Picker {
    fn new(policy: Policy) -> Self {
        match policy {
            Policy::RoundRobin => Picker::RoundRobin { next: 0 },
            Policy::Random { seed } => Picker::Random { state: seed },
        }
    }

    fn pick(&mut self, backends: &[Backend]) -> Option<(usize, Why)> {
        let n = backends.len();
        match self {
            Picker::RoundRobin { next } => {
                let start = *next % n;
                let i = (0..n)
                    .map(|k| (start + k) % n)
                    .find(|&i| backends[i].is_up())?;
                *next = (i + 1) % n;
                Some((i, Why::RoundRobin))
            }
            Picker::Random { state } => {
                let up: Vec<usize> = (0..n).filter(|&i| backends[i].is_up()).collect();
                if up.is_empty() {
                    return None;
                }
                let r = splitmix64(state);
                Some((up[(r % up.len() as u64) as usize], Why::Random))
            }
        }
    }
}

/// SplitMix64: tiny, good enough for spreading requests, and fully determined by the seed.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) struct Shared {
    pub name: Arc<str>,
    pub journal: Journal,
    pub backends: Vec<Backend>,
    pub mode: Mode,
    picker: Mutex<Picker>,
    pub affinity: RwLock<Affinity>,
    pub redirect: AtomicBool,
    /// Learned session cookie value → backend index.
    sessions: Mutex<HashMap<String, usize>>,
    /// Pass-through persistence: client address → backend index.
    clients: Mutex<HashMap<IpAddr, usize>>,
    pub client_tls: Option<Arc<ClientConfig>>,
    pub connect_timeout: Duration,
    /// Transport faults (Toxiproxy-style) under the LB's listener: a dead LB is a
    /// `reset_peer` toxic here.
    pub net_faults: bwlab_net::faults::NetFaults,
    /// Address backend connections come from: the LB's own, so the XSP sees (and
    /// journals) the LB as its peer, as behind a real proxy.
    pub source_ip: Option<IpAddr>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: Arc<str>,
        journal: Journal,
        backends: Vec<Backend>,
        mode: Mode,
        policy: Policy,
        affinity: Affinity,
        redirect: bool,
        client_tls: Option<Arc<ClientConfig>>,
        connect_timeout: Duration,
        source_ip: Option<IpAddr>,
    ) -> Self {
        let net_faults =
            bwlab_net::faults::NetFaults::with_journal(0x5eed, journal.clone(), Arc::clone(&name));
        Shared {
            net_faults,
            source_ip,
            name,
            journal,
            backends,
            mode,
            picker: Mutex::new(Picker::new(policy)),
            affinity: RwLock::new(affinity),
            redirect: AtomicBool::new(redirect),
            sessions: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            client_tls,
            connect_timeout,
        }
    }

    pub(crate) fn mode_str(&self) -> &'static str {
        match self.mode {
            Mode::Terminate => "terminate",
            Mode::Passthrough => "passthrough",
        }
    }

    pub(crate) fn backend(&self, name: &str) -> Option<&Backend> {
        self.backends.iter().find(|b| &*b.name == name)
    }

    pub(crate) fn backend_index(&self, name: &str) -> Option<usize> {
        self.backends.iter().position(|b| &*b.name == name)
    }

    pub(crate) fn set_policy(&self, policy: Policy) {
        *self.picker.lock() = Picker::new(policy);
    }

    /// The pinned backend if it is up, else the policy's choice; `None` when all are down.
    pub(crate) fn choose(&self, pinned: Option<usize>) -> Option<(usize, Why)> {
        if let Some(i) = pinned
            && self.backends.get(i).is_some_and(Backend::is_up)
        {
            return Some((i, Why::Affinity));
        }
        self.picker.lock().pick(&self.backends)
    }

    pub(crate) fn learned_session(&self, value: &str) -> Option<usize> {
        self.sessions.lock().get(value).copied()
    }

    pub(crate) fn learn_session(&self, value: &str, backend: usize) {
        remember(&mut self.sessions.lock(), value.to_owned(), backend);
    }

    pub(crate) fn forget_session(&self, value: &str) {
        self.sessions.lock().remove(value);
    }

    pub(crate) fn client_backend(&self, ip: IpAddr) -> Option<usize> {
        self.clients.lock().get(&ip).copied()
    }

    pub(crate) fn pin_client(&self, ip: IpAddr, backend: usize) {
        remember(&mut self.clients.lock(), ip, backend);
    }

    /// A [`Kind::Fault`] entry under the LB's name.
    pub(crate) fn fault(&self, summary: String, fault: &str, action: &str) -> Record<'_> {
        self.journal
            .record(Arc::clone(&self.name), Kind::Fault, summary)
            .attr("fault", fault)
            .attr("action", action)
    }
}

fn remember<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, usize>, key: K, v: usize) {
    if map.len() >= MAX_PERSISTENCE
        && !map.contains_key(&key)
        && let Some(old) = map.keys().next().cloned()
    {
        map.remove(&old);
    }
    map.insert(key, v);
}

/// Opens a TCP connection to `addr` from `source` (any port) when given, so the backend sees
/// the LB's address as the peer.
pub(crate) async fn connect_from(
    source: Option<IpAddr>,
    addr: std::net::SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    match source {
        Some(ip) if ip.is_ipv4() == addr.is_ipv4() => {
            let socket = if ip.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            socket.bind(std::net::SocketAddr::new(ip, 0))?;
            socket.connect(addr).await
        }
        _ => tokio::net::TcpStream::connect(addr).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(n: usize) -> Vec<Backend> {
        (0..n)
            .map(|i| {
                let spec = BackendSpec {
                    name: format!("b{i}"),
                    addr: ([127, 0, 0, 1], 1000 + i as u16).into(),
                    server_name: "b.lab.example".into(),
                };
                Backend::new(spec, ServerName::try_from("b.lab.example").unwrap())
            })
            .collect()
    }

    #[test]
    fn round_robin_skips_down_backends() {
        let b = backends(3);
        let mut p = Picker::new(Policy::RoundRobin);
        let picks: Vec<usize> = (0..4).map(|_| p.pick(&b).unwrap().0).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        b[2].set_forced_down(true);
        let picks: Vec<usize> = (0..3).map(|_| p.pick(&b).unwrap().0).collect();
        assert_eq!(picks, [1, 0, 1]);
        b[0].set_forced_down(true);
        b[1].set_healthy(false);
        assert!(p.pick(&b).is_none());
    }

    #[test]
    fn random_replays_with_its_seed() {
        let b = backends(4);
        let run = |seed| {
            let mut p = Picker::new(Policy::Random { seed });
            (0..32).map(|_| p.pick(&b).unwrap().0).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let seen: std::collections::HashSet<_> = run(7).into_iter().collect();
        assert_eq!(seen.len(), 4);
    }
}
