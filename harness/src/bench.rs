//! `bwlab bench xsi`: a load generator for an XSP's Xsi-Actions. N clients each keep one TLS
//! connection alive and send requests back to back for a fixed time; the result is
//! throughput and latency percentiles per operation.
//!
//! It measures an in-process lab by default (server and clients share the machine, as a
//! developer's laptop or CI would), or any XSP given with `--url`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Serialize;

/// Which request each client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// `GET user/{u}/profile`.
    GetProfile,
    /// `PUT user/{u}/services/DoNotDisturb`, toggling `active`.
    PutDnd,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::GetProfile => "GET profile",
            Op::PutDnd => "PUT DoNotDisturb",
        }
    }
}

/// What to load and how hard.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub addr: SocketAddr,
    /// TLS server name (SNI and certificate check).
    pub server_name: String,
    pub trust: Vec<CertificateDer<'static>>,
    pub user: String,
    pub password: String,
    pub clients: usize,
    pub duration: Duration,
    pub ops: Vec<Op>,
}

/// Result of one operation's run.
#[derive(Clone, Debug, Serialize)]
pub struct OpResult {
    pub op: Op,
    pub clients: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl std::fmt::Display for OpResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<18} {:>3} clients  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} requests, {} errors)",
            self.op.label(),
            self.clients,
            self.per_second,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.requests,
            self.errors
        )
    }
}

/// Runs each operation in turn; `progress` is called about once a second with the running
/// request count so a terminal can show that something is happening.
pub async fn run(
    config: &BenchConfig,
    mut progress: impl FnMut(Op, u64, Duration),
) -> Result<Vec<OpResult>, String> {
    let tls = bwlab_pki::client_config(&bwlab_pki::ClientOptions::new(config.trust.clone()))
        .map_err(|e| e.to_string())?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", config.user, config.password))
    );
    let mut results = Vec::new();
    for &op in &config.ops {
        let done = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + config.duration;
        let mut tasks = Vec::with_capacity(config.clients);
        for _ in 0..config.clients {
            let tls = tls.clone();
            let auth = auth.clone();
            let cfg = config.clone();
            let done = done.clone();
            tasks.push(tokio::spawn(async move {
                client_loop(cfg, tls, auth, op, deadline, done).await
            }));
        }
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.tick().await;
        while tokio::time::Instant::now() < deadline {
            ticker.tick().await;
            progress(op, done.load(Ordering::Relaxed), started.elapsed());
        }
        let mut latencies: Vec<u32> = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (lat, err) = t.await.map_err(|e| e.to_string())??;
            latencies.extend(lat);
            errors += err;
        }
        let seconds = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let pct = |p: f64| -> f64 {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
            f64::from(latencies[i]) / 1000.0
        };
        results.push(OpResult {
            op,
            clients: config.clients,
            seconds,
            requests: latencies.len() as u64,
            errors,
            per_second: latencies.len() as f64 / seconds,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
        });
    }
    Ok(results)
}

/// One keep-alive connection sending requests until the deadline. Latencies in µs.
async fn client_loop(
    cfg: BenchConfig,
    tls: Arc<rustls::ClientConfig>,
    auth: String,
    op: Op,
    deadline: tokio::time::Instant,
    done: Arc<AtomicU64>,
) -> Result<(Vec<u32>, u64), String> {
    let tcp = tokio::net::TcpStream::connect(cfg.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", cfg.addr))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(cfg.server_name.clone()).map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let base = format!("/com.broadsoft.xsi-actions/v2.0/user/{}", cfg.user);
    let profile_path = format!("{base}/profile");
    let dnd_path = format!("{base}/services/DoNotDisturb");
    let mut latencies = Vec::with_capacity(4096);
    let mut errors = 0u64;
    let mut active = false;
    while tokio::time::Instant::now() < deadline {
        let req = match op {
            Op::GetProfile => Request::get(profile_path.as_str())
                .header("host", cfg.server_name.as_str())
                .header("authorization", auth.as_str())
                .body(Full::new(Bytes::new())),
            Op::PutDnd => {
                active = !active;
                let body = if active { DND_ON } else { DND_OFF };
                Request::put(dnd_path.as_str())
                    .header("host", cfg.server_name.as_str())
                    .header("authorization", auth.as_str())
                    .header("content-type", "application/xml")
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
            }
        }
        .map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        match sender.send_request(req).await {
            Ok(resp) => {
                let ok = resp.status().is_success();
                // Read the whole body: a real client does, and keep-alive needs it.
                let _ = resp.into_body().collect().await;
                let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                if ok {
                    latencies.push(us);
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors += 1;
                }
            }
            Err(e) => return Err(format!("request failed: {e}")),
        }
    }
    Ok((latencies, errors))
}

const DND_ON: &str = r#"<?xml version="1.0" encoding="UTF-8"?><DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>true</active></DoNotDisturb>"#;
const DND_OFF: &str = r#"<?xml version="1.0" encoding="UTF-8"?><DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>false</active></DoNotDisturb>"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator works end to end against a real lab (a smoke test: no timing asserted).
    #[tokio::test]
    async fn drives_a_lab_xsp() {
        let lab = crate::Lab::builder().start().await.unwrap();
        let (_, xsp) = lab.xsps().next().unwrap();
        let config = BenchConfig {
            addr: xsp.https_addr(),
            server_name: "xsp.lab.example".into(),
            trust: lab.pki().lab_trust_bundle(),
            user: "alice@lab.example".into(),
            password: "Alice-pw1".into(),
            clients: 2,
            duration: Duration::from_millis(300),
            ops: vec![Op::GetProfile, Op::PutDnd],
        };
        let results = run(&config, |_, _, _| {}).await.unwrap();
        assert_eq!(results.len(), 2);
        for r in &results {
            assert!(r.requests > 0, "{r}");
            assert_eq!(r.errors, 0, "{r}");
        }
        lab.shutdown().await;
    }
}

// ===== bwlab bench events ==================================================================
//
// `bwlab bench events`: event-channel scale and event latency of an XSP's Xsi-Events.
//
// The bench starts one XSP-only node of its own (an application server, the XSP with its
// Xsi-Events web app, a generated PKI and N generated subscribers), not a whole `Lab`: a lab
// XSP accepts 256 connections per listener, and 10,000 streaming channels need 10,000. The
// clients run in the same process, so memory and CPU figures include both sides.

/// Knobs of `bwlab bench events`.
#[derive(Clone, Debug)]
pub struct EventsBenchConfig {
    /// Channels to open (one subscriber and one streaming connection each).
    pub channels: usize,
    /// Target events per second in the latency phase.
    pub rate: u32,
    /// Length of the latency phase.
    pub duration: Duration,
    /// Length of the CPU measurement window while heartbeats run.
    pub window: Duration,
    /// The node's `eventTimeout`; clients heartbeat every half of it.
    pub event_timeout: Duration,
    /// Client tasks sending heartbeats and event responses, each on one keep-alive
    /// connection.
    pub workers: usize,
    /// Release profile of the node.
    pub profile: String,
}

impl Default for EventsBenchConfig {
    fn default() -> Self {
        EventsBenchConfig {
            channels: 10_000,
            rate: 1_000,
            duration: Duration::from_secs(10),
            window: Duration::from_secs(30),
            event_timeout: Duration::from_secs(30),
            workers: 32,
            profile: "r24".into(),
        }
    }
}

/// Result of `bwlab bench events` (the `--json` output).
#[derive(Clone, Debug, Default, Serialize)]
pub struct EventsBenchResult {
    /// Channels asked for.
    pub channels_requested: usize,
    /// Channels the file-descriptor limit allowed (see `fd_limit`).
    pub channels_planned: usize,
    /// Channels that opened.
    pub channels_opened: usize,
    /// Channel adds that failed.
    pub open_errors: u64,
    /// Time to open every channel (TLS handshake, Basic auth, channel add, first chunk).
    pub open_seconds: f64,
    /// Soft `RLIMIT_NOFILE` in effect.
    pub fd_limit: u64,
    /// Client tasks for heartbeats and event responses.
    pub client_tasks: usize,
    /// `eventTimeout` of the node, seconds.
    pub event_timeout_s: f64,
    /// Heartbeat period per channel, seconds.
    pub heartbeat_every_s: f64,
    /// Resident set size before opening channels (node started, users loaded), MiB.
    pub rss_before_mib: f64,
    /// Resident set size with every channel open, MiB.
    pub rss_open_mib: f64,
    /// (rss_open − rss_before) / channels_opened, KiB.
    pub memory_per_channel_kib: f64,
    /// Whether the memory and CPU figures include the client side (always: same process).
    pub includes_client_side: bool,
    /// CPU measurement window, seconds.
    pub window_s: f64,
    /// Process user + system CPU over the window, percent of one core.
    pub cpu_percent: f64,
    /// Of which user time.
    pub cpu_user_percent: f64,
    /// Of which system time.
    pub cpu_sys_percent: f64,
    /// Heartbeats sent per second during the window.
    pub heartbeats_per_s: f64,
    /// Heartbeat requests that failed (whole run).
    pub heartbeat_errors: u64,
    /// Channels still open on the node after the window.
    pub channels_alive_after_window: usize,
    /// Subscribers subscribed to `Advanced Call` for the latency phase.
    pub subscribed: usize,
    /// Target event rate, events/s.
    pub target_rate: u32,
    /// Latency phase length, seconds.
    pub latency_seconds: f64,
    /// Events published.
    pub events_published: u64,
    /// Events parsed by a client.
    pub events_received: u64,
    /// Published events never seen on a stream.
    pub events_lost: u64,
    /// Publish slots skipped because every subscriber still had an event in flight.
    pub events_skipped: u64,
    /// events_received / latency_seconds.
    pub achieved_rate: f64,
    /// Publish → parsed on the client stream, median, ms.
    pub latency_p50_ms: f64,
    /// 99th percentile, ms.
    pub latency_p99_ms: f64,
    /// Maximum, ms.
    pub latency_max_ms: f64,
    /// Event responses sent (every event is acknowledged).
    pub acks: u64,
    /// Event responses that failed.
    pub ack_errors: u64,
    /// Streams that ended or broke during the run.
    pub streams_closed: u64,
}

impl std::fmt::Display for EventsBenchResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "channels      {} open of {} requested ({} errors) in {:.1} s; fd limit {}",
            self.channels_opened,
            self.channels_requested,
            self.open_errors,
            self.open_seconds,
            self.fd_limit
        )?;
        writeln!(
            f,
            "memory        {:.1} KiB per channel (RSS {:.0} → {:.0} MiB, server and clients together)",
            self.memory_per_channel_kib, self.rss_before_mib, self.rss_open_mib
        )?;
        writeln!(
            f,
            "heartbeats    every {:.1} s per channel from {} client tasks: {:.0}/s, {} errors, {} channels alive",
            self.heartbeat_every_s,
            self.client_tasks,
            self.heartbeats_per_s,
            self.heartbeat_errors,
            self.channels_alive_after_window
        )?;
        writeln!(
            f,
            "cpu           {:.1} % of one core over {:.0} s (user {:.1} %, sys {:.1} %)",
            self.cpu_percent, self.window_s, self.cpu_user_percent, self.cpu_sys_percent
        )?;
        write!(
            f,
            "events        {:.0}/s of {} target to {} subscribers: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} published, {} received, {} lost, {} acks, {} ack errors)",
            self.achieved_rate,
            self.target_rate,
            self.subscribed,
            self.latency_p50_ms,
            self.latency_p99_ms,
            self.latency_max_ms,
            self.events_published,
            self.events_received,
            self.events_lost,
            self.acks,
            self.ack_errors
        )
    }
}

/// Process resources from `/proc/self` (Linux); zeros elsewhere.
pub mod procfs {
    /// Resident set size in bytes (`VmRSS` of `/proc/self/status`).
    pub fn rss_bytes() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kb| kb * 1024)
    }

    /// User and system CPU time of the process in seconds (`/proc/self/stat` fields 14, 15).
    pub fn cpu_seconds() -> (f64, f64) {
        let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
            return (0.0, 0.0);
        };
        // The command name (field 2) may hold spaces; fields after it are plain.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return (0.0, 0.0);
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // rest starts at field 3 (state): utime is field 14, stime field 15.
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let hz = if hz > 0 { hz as f64 } else { 100.0 };
        (tick(11) / hz, tick(12) / hz)
    }

    /// Raises the soft `RLIMIT_NOFILE` towards `wanted` (up to the hard limit; past it too
    /// when the process may raise the hard limit, e.g. as root). Returns the soft limit in
    /// effect afterwards.
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    pub fn raise_nofile(wanted: u64) -> u64 {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return 1024;
        }
        let soft = lim.rlim_cur as u64;
        if soft >= wanted {
            return soft;
        }
        if (lim.rlim_max as u64) < wanted {
            let bigger = libc::rlimit {
                rlim_cur: wanted as libc::rlim_t,
                rlim_max: wanted as libc::rlim_t,
            };
            // SAFETY: setrlimit reads the struct; failure (EPERM) leaves the limits alone.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &bigger) } == 0 {
                return wanted;
            }
        }
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_max as u64
        } else {
            soft
        }
    }
}

/// File descriptors kept for everything but channels (listeners, workers, DNS, logs…).
const FD_RESERVE: u64 = 192;

/// Channels that fit into `fd_limit`: each in-process channel holds two descriptors (the
/// client's socket and the server's).
pub fn channels_for_fd_limit(fd_limit: u64, workers: usize) -> usize {
    let spare = fd_limit.saturating_sub(FD_RESERVE + 2 * workers as u64);
    usize::try_from(spare / 2).unwrap_or(usize::MAX)
}

const BENCH_DOMAIN: &str = "bench.example";
const BENCH_PASSWORD: &str = "Bench-pw1";
const BENCH_SET: &str = "bench-set";
const BENCH_APP: &str = "bwlab-bench";

fn bench_user(i: usize) -> String {
    format!("u{i:06}@{BENCH_DOMAIN}")
}

/// Lab data with `n` subscribers in one group (compact `userTable` form).
fn bench_users_yaml(n: usize) -> String {
    let mut y = format!(
        "enterprises:\n  - id: bench\n    defaultDomain: {BENCH_DOMAIN}\n    groups:\n      - id: load\nuserTable:\n  columns: [userId, group, firstName, lastName, password]\n  defaults: {{enterprise: bench}}\n  rows: |\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "    {} | load | Bench | U{i} | {BENCH_PASSWORD}\n",
            bench_user(i)
        ));
    }
    y
}

/// The node under test.
struct EventsNode {
    xsp: bwlab_xsp::XspHandle,
    app_server: bwlab_appserver::AppServer,
    endpoint: crate::events_client::Endpoint,
}

async fn start_events_node(cfg: &EventsBenchConfig) -> Result<EventsNode, String> {
    use bwlab_core::{Journal, LabClock};
    let clock = LabClock::system();
    let journal = Journal::new(clock.clone());
    let profile = bwlab_profiles::Profiles::builtin()
        .get(&cfg.profile)
        .map_err(|e| e.to_string())?
        .clone();
    let store = bwlab_model::Store::from_yaml_str(
        &bench_users_yaml(cfg.channels),
        "<bench users>",
        clock.clone(),
    )
    .map_err(|e| e.to_string())?;
    let topology = crate::Topology::default_lab("lab.example");
    let pki = crate::lab_pki(&topology, &store, &clock).map_err(|e| e.to_string())?;
    let identity = pki.node("xsp1").cloned().ok_or("no certificate for xsp1")?;
    let app_server = bwlab_appserver::AppServer::new(
        store.clone(),
        profile.clone(),
        journal.clone(),
        bwlab_appserver::AsSettings::default(),
    );
    let settings = bwlab_xsp::XspSettings {
        max_connections: cfg.channels + 4 * cfg.workers + 256,
        client_trust_anchors: pki.webex_trust_anchors(),
        ..bwlab_xsp::XspSettings::default()
    };
    let events = bwlab_xsp::EventsSettings {
        event_timeout: cfg.event_timeout,
        event_queue_size: 2000usize.max(cfg.rate as usize * 2),
        ..bwlab_xsp::EventsSettings::default()
    };
    let xsp = bwlab_xsp::XspNode::builder("xsp1")
        .https_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .mtls_addr(None)
        .identity(identity)
        .store(store)
        .profile(profile)
        .journal(journal)
        .clock(clock)
        .settings(settings)
        .app_server(app_server.clone())
        .events(events)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let endpoint = crate::events_client::Endpoint::new(
        xsp.https_addr(),
        topology.fqdn("xsp1"),
        pki.lab_trust_bundle(),
    )
    .map_err(|e| e.to_string())?;
    Ok(EventsNode {
        xsp,
        app_server,
        endpoint,
    })
}

/// Counters shared by the client tasks.
struct EventsShared {
    start: Instant,
    /// Per channel: when its latest event was published (ns since `start`, +1); 0 = none in
    /// flight.
    sent_at: Vec<AtomicU64>,
    latencies_us: std::sync::Mutex<Vec<u32>>,
    received: AtomicU64,
    other_events: AtomicU64,
    heartbeats_seen: AtomicU64,
    heartbeats_sent: AtomicU64,
    heartbeat_errors: AtomicU64,
    acks: AtomicU64,
    ack_errors: AtomicU64,
    streams_closed: AtomicU64,
}

impl EventsShared {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX) + 1
    }
}

enum WorkerMsg {
    /// Heartbeat this channel from now on.
    Add(
        crate::events_client::EventsClient,
        String,
        tokio::time::Instant,
    ),
    /// Acknowledge an event.
    Ack(crate::events_client::EventsClient, String),
}

/// One client task: heartbeats for its channels (each every `period`) and event
/// responses, on one keep-alive connection.
async fn events_worker(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<WorkerMsg>,
    period: Duration,
    shared: Arc<EventsShared>,
) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut channels: Vec<(crate::events_client::EventsClient, String)> = Vec::new();
    // Next heartbeat of each channel: (due, index into `channels`).
    let mut timers: BinaryHeap<Reverse<(tokio::time::Instant, usize)>> = BinaryHeap::new();
    loop {
        let due = timers.peek().map(|Reverse((d, _))| *d);
        tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Some(WorkerMsg::Add(client, id, first)) => {
                    timers.push(Reverse((first, channels.len())));
                    channels.push((client, id));
                }
                Some(WorkerMsg::Ack(client, event_id)) => {
                    match client.ack(&event_id, 200).await {
                        Ok(()) => shared.acks.fetch_add(1, Ordering::Relaxed),
                        Err(_) => shared.ack_errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
                None => break,
            },
            () = async { tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)).await }, if due.is_some() => {
                if let Some(Reverse((at, i))) = timers.pop() {
                    let (client, id) = &channels[i];
                    match client.heartbeat(id).await {
                        Ok(()) => shared.heartbeats_sent.fetch_add(1, Ordering::Relaxed),
                        Err(_) => shared.heartbeat_errors.fetch_add(1, Ordering::Relaxed),
                    };
                    timers.push(Reverse((at + period, i)));
                }
            }
        }
    }
}

/// Reads one channel's stream until it ends: records latencies of the bench's events and
/// hands every event to the worker for acknowledgement.
async fn events_reader(
    index: usize,
    mut channel: crate::events_client::EventChannel,
    client: crate::events_client::EventsClient,
    worker: tokio::sync::mpsc::UnboundedSender<WorkerMsg>,
    shared: Arc<EventsShared>,
) {
    use crate::events_client::StreamItem;
    loop {
        match channel.next_event().await {
            Ok(Some(StreamItem::Heartbeat)) => {
                shared.heartbeats_seen.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(StreamItem::Event(ev))) => {
                let parsed = shared.now_ns();
                let Some(sub) = ev.as_subscription() else {
                    continue; // ChannelTerminatedEvent: the stream ends next.
                };
                if sub.data.type_name() == "HookStatusEvent" {
                    let sent = shared.sent_at[index].swap(0, Ordering::AcqRel);
                    if sent != 0 {
                        let us = parsed.saturating_sub(sent) / 1000;
                        if let Ok(mut l) = shared.latencies_us.lock() {
                            l.push(u32::try_from(us).unwrap_or(u32::MAX));
                        }
                        shared.received.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    shared.other_events.fetch_add(1, Ordering::Relaxed);
                }
                let _ = worker.send(WorkerMsg::Ack(client.clone(), sub.event_id.clone()));
            }
            Ok(None) | Err(_) => {
                shared.streams_closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted_us[i]) / 1000.0
}

/// Runs `bwlab bench events`. `progress` gets a one-line status about every second.
pub async fn run_events(
    cfg: &EventsBenchConfig,
    mut progress: impl FnMut(&str),
) -> Result<EventsBenchResult, String> {
    let workers = cfg.workers.max(1);
    let mut result = EventsBenchResult {
        channels_requested: cfg.channels,
        client_tasks: workers,
        includes_client_side: true,
        event_timeout_s: cfg.event_timeout.as_secs_f64(),
        heartbeat_every_s: cfg.event_timeout.as_secs_f64() / 2.0,
        target_rate: cfg.rate,
        ..EventsBenchResult::default()
    };
    // Two descriptors per channel in one process; raise the limit or plan fewer channels.
    let wanted = FD_RESERVE + 2 * workers as u64 + 2 * cfg.channels as u64;
    result.fd_limit = procfs::raise_nofile(wanted);
    let planned = cfg
        .channels
        .min(channels_for_fd_limit(result.fd_limit, workers));
    if planned < cfg.channels {
        progress(&format!(
            "note: the open-file limit ({}) allows only {planned} channels here; run `ulimit -n {wanted}` (or raise the hard limit) for {}",
            result.fd_limit, cfg.channels
        ));
    }
    if planned == 0 {
        return Err(format!(
            "the open-file limit ({}) leaves no room for channels; run `ulimit -n {wanted}` first",
            result.fd_limit
        ));
    }
    result.channels_planned = planned;
    let node_cfg = EventsBenchConfig {
        channels: planned,
        workers,
        ..cfg.clone()
    };
    progress(&format!("starting an XSP with {planned} subscribers"));
    let node = start_events_node(&node_cfg).await?;
    let shared = Arc::new(EventsShared {
        start: Instant::now(),
        sent_at: (0..planned).map(|_| AtomicU64::new(0)).collect(),
        latencies_us: std::sync::Mutex::new(Vec::new()),
        received: AtomicU64::new(0),
        other_events: AtomicU64::new(0),
        heartbeats_seen: AtomicU64::new(0),
        heartbeats_sent: AtomicU64::new(0),
        heartbeat_errors: AtomicU64::new(0),
        acks: AtomicU64::new(0),
        ack_errors: AtomicU64::new(0),
        streams_closed: AtomicU64::new(0),
    });
    let period = cfg.event_timeout / 2;
    let base = crate::events_client::EventsClient::new(node.endpoint.clone(), "", "");
    let mut worker_tx = Vec::with_capacity(workers);
    let mut worker_clients = Vec::with_capacity(workers);
    let mut worker_tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        worker_tasks.push(tokio::spawn(events_worker(rx, period, shared.clone())));
        worker_tx.push(tx);
        // A fresh client per worker: its own command connection.
        worker_clients.push(crate::events_client::EventsClient::new(
            node.endpoint.clone(),
            "",
            "",
        ));
    }
    drop(base);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = procfs::rss_bytes();

    // (a) open the channels, at most 64 handshakes at a time.
    let opened_at = Instant::now();
    // First heartbeats spread evenly over one period, so the window sees the steady rate.
    let hb_origin = tokio::time::Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let opened = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let last_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut openers = Vec::with_capacity(planned);
    let mut readers = Vec::with_capacity(planned);
    let (reader_tx, mut reader_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..planned {
        let client = worker_clients[i % workers].as_user(&bench_user(i), BENCH_PASSWORD);
        let tx = worker_tx[i % workers].clone();
        let (gate, opened, failed, last_error, shared, reader_tx) = (
            gate.clone(),
            opened.clone(),
            failed.clone(),
            last_error.clone(),
            shared.clone(),
            reader_tx.clone(),
        );
        openers.push(tokio::spawn(async move {
            let Ok(_permit) = gate.acquire_owned().await else {
                return;
            };
            let req = crate::events_client::ChannelRequest::new(BENCH_SET, BENCH_APP);
            match client.open_channel(&req).await {
                Ok(ch) => {
                    opened.fetch_add(1, Ordering::Relaxed);
                    let first = hb_origin + period.mul_f64(i as f64 / planned as f64);
                    let _ = tx.send(WorkerMsg::Add(client.clone(), ch.id().to_owned(), first));
                    let _ = reader_tx.send(tokio::spawn(events_reader(i, ch, client, tx, shared)));
                }
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut l) = last_error.lock() {
                        *l = Some(e.to_string());
                    }
                }
            }
        }));
    }
    drop(reader_tx);
    let mut last_report = Instant::now();
    loop {
        let done = opened.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed);
        if done as usize >= planned {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        if last_report.elapsed() < Duration::from_secs(1) {
            continue;
        }
        last_report = Instant::now();
        progress(&format!(
            "opening channels: {}/{planned} ({} failed)",
            opened.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        ));
    }
    for o in openers {
        let _ = o.await;
    }
    while let Ok(r) = reader_rx.try_recv() {
        readers.push(r);
    }
    result.open_seconds = opened_at.elapsed().as_secs_f64();
    result.channels_opened = opened.load(Ordering::Relaxed) as usize;
    result.open_errors = failed.load(Ordering::Relaxed);
    if result.channels_opened == 0 {
        let why = last_error
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .unwrap_or_default();
        node.xsp.shutdown().await;
        return Err(format!("no channel opened: {why}"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_open = procfs::rss_bytes();
    result.rss_before_mib = rss_before as f64 / 1048576.0;
    result.rss_open_mib = rss_open as f64 / 1048576.0;
    result.memory_per_channel_kib =
        rss_open.saturating_sub(rss_before) as f64 / 1024.0 / result.channels_opened as f64;

    // CPU while heartbeats run.
    let (u0, s0) = procfs::cpu_seconds();
    let hb0 = shared.heartbeats_sent.load(Ordering::Relaxed);
    let window_start = Instant::now();
    while window_start.elapsed() < cfg.window {
        let left = cfg.window.saturating_sub(window_start.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        progress(&format!(
            "heartbeats: {:.0}/{:.0} s, {} sent, {} channels open",
            window_start.elapsed().as_secs_f64(),
            cfg.window.as_secs_f64(),
            shared.heartbeats_sent.load(Ordering::Relaxed) - hb0,
            node.xsp.open_channels()
        ));
    }
    let window = window_start.elapsed().as_secs_f64();
    let (u1, s1) = procfs::cpu_seconds();
    result.window_s = window;
    result.cpu_user_percent = (u1 - u0) / window * 100.0;
    result.cpu_sys_percent = (s1 - s0) / window * 100.0;
    result.cpu_percent = result.cpu_user_percent + result.cpu_sys_percent;
    result.heartbeats_per_s =
        (shared.heartbeats_sent.load(Ordering::Relaxed) - hb0) as f64 / window;
    result.channels_alive_after_window = node.xsp.open_channels();

    // (b) latency: subscribe enough users for the rate (one event in flight per user).
    let subscribed = planned.min((cfg.rate as usize).max(1));
    progress(&format!("subscribing {subscribed} users to Advanced Call"));
    let sub_gate = Arc::new(tokio::sync::Semaphore::new(workers));
    let mut subs = Vec::with_capacity(subscribed);
    for i in 0..subscribed {
        let client = worker_clients[i % workers].as_user(&bench_user(i), BENCH_PASSWORD);
        let gate = sub_gate.clone();
        subs.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            client
                .subscribe(&bench_user(i), "Advanced Call", BENCH_SET, BENCH_APP)
                .await
                .ok()
        }));
    }
    let mut subscribed_ok = 0;
    for s in subs {
        if matches!(s.await, Ok(Some(_))) {
            subscribed_ok += 1;
        }
    }
    result.subscribed = subscribed_ok;
    // The initial CallSubscriptionEvents arrive and are acknowledged before measuring.
    let settle = Instant::now();
    while (shared.other_events.load(Ordering::Relaxed) as usize) < subscribed_ok
        && settle.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let users: Vec<String> = (0..subscribed).map(bench_user).collect();
    let received0 = shared.received.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut published = 0u64;
    let mut skipped = 0u64;
    let mut next = 0usize;
    let mut last_report = Instant::now();
    let mut pace = tokio::time::interval(Duration::from_millis(2));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while started.elapsed() < cfg.duration {
        pace.tick().await;
        let due = (started.elapsed().as_secs_f64() * f64::from(cfg.rate)) as u64;
        while published + skipped < due {
            let mut found = None;
            for _ in 0..users.len() {
                let i = next;
                next = (next + 1) % users.len();
                if shared.sent_at[i].load(Ordering::Acquire) == 0 {
                    found = Some(i);
                    break;
                }
            }
            let Some(i) = found else {
                skipped += 1;
                continue;
            };
            shared.sent_at[i].store(shared.now_ns(), Ordering::Release);
            let data = bwlab_appserver::EventData::HookStatus(if published.is_multiple_of(2) {
                bwlab_appserver::HookStatus::OffHook
            } else {
                bwlab_appserver::HookStatus::OnHook
            });
            if node.app_server.publish(&users[i], data) {
                published += 1;
            } else {
                shared.sent_at[i].store(0, Ordering::Release);
                skipped += 1;
            }
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress(&format!(
                "events: {:.0}/{:.0} s, {published} published, {} received",
                started.elapsed().as_secs_f64(),
                cfg.duration.as_secs_f64(),
                shared.received.load(Ordering::Relaxed) - received0
            ));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // Let the last events arrive.
    let drain = Instant::now();
    while shared
        .sent_at
        .iter()
        .any(|s| s.load(Ordering::Acquire) != 0)
        && drain.elapsed() < Duration::from_secs(2)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Acknowledgements queued behind the last events.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let received = shared.received.load(Ordering::Relaxed) - received0;
    result.latency_seconds = seconds;
    result.events_published = published;
    result.events_received = received;
    result.events_lost = shared
        .sent_at
        .iter()
        .filter(|s| s.load(Ordering::Acquire) != 0)
        .count() as u64;
    result.events_skipped = skipped;
    result.achieved_rate = received as f64 / seconds;
    let mut lat = shared
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    lat.sort_unstable();
    result.latency_p50_ms = percentile_ms(&lat, 0.50);
    result.latency_p99_ms = percentile_ms(&lat, 0.99);
    result.latency_max_ms = percentile_ms(&lat, 1.0);
    result.acks = shared.acks.load(Ordering::Relaxed);
    result.ack_errors = shared.ack_errors.load(Ordering::Relaxed);
    result.heartbeat_errors = shared.heartbeat_errors.load(Ordering::Relaxed);
    result.streams_closed = shared.streams_closed.load(Ordering::Relaxed);

    progress("stopping");
    for r in &readers {
        r.abort();
    }
    drop(worker_tx);
    for w in worker_tasks {
        w.abort();
    }
    drop(readers);
    node.xsp.shutdown().await;
    Ok(result)
}
