//! Load generators of `bwlab bench`.
//!
//! * `bwlab bench xsi` ([`run`]): N clients each keep one TLS connection alive and send
//!   Xsi-Actions requests back to back for a fixed time; the result is throughput and latency
//!   percentiles per operation. It measures an in-process lab by default (server and clients
//!   share the machine, as a developer's laptop or CI would), or any XSP given with `--url`.
//! * `bwlab bench events` ([`run_events`]): many open Xsi-Events channels (memory per channel,
//!   CPU while heartbeats run) and event latency from the application server to the client's
//!   parsed event, on an XSP node of its own (see the section below).

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
// XSP accepts 256 connections per listener, and 10,000 streaming channels need 10,000.
//
// The clients run in a child process by default ([`ClientSide::ChildProcess`]: this
// executable with the hidden `bench events-clients` subcommand, see
// [`run_events_clients_stdio`]), so the bench process holds one descriptor per channel and
// its memory and CPU are the server's alone. The child gets a [`ClientsConfig`] as the first
// JSON line on its stdin, then commands ([`ClientCmd`], one JSON line each); it answers with
// [`ClientReport`]s, one JSON line each on its stdout. [`ClientSide::InProcess`] runs the
// same client code on the bench's own runtime (the reports then travel over a channel).
//
// Latency crosses the process boundary, so both ends read one clock: `CLOCK_MONOTONIC`
// ([`monotonic_ns`]), which is system-wide on Linux (`std::time::Instant` reads it too, but
// its value is opaque and not comparable between processes). The bench notes the clock before
// `AppServer::publish`; the client reports the clock right after parsing the event and the
// channel index it arrived on; the bench subtracts.

/// Where the clients of `bwlab bench events` run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ClientSide {
    /// On the bench's own runtime: two descriptors per channel in one process, and memory
    /// and CPU figures include both ends.
    #[default]
    InProcess,
    /// In a child process: this executable (normally `std::env::current_exe()`) run as
    /// `bench events-clients`.
    ChildProcess(std::path::PathBuf),
}

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
    /// Where the clients run.
    pub clients: ClientSide,
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
            clients: ClientSide::InProcess,
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
    /// The last channel-add error, if any.
    pub open_error: Option<String>,
    /// Time to open every channel (TLS handshake, Basic auth, channel add, first chunk).
    pub open_seconds: f64,
    /// Soft `RLIMIT_NOFILE` in effect in the bench process.
    pub fd_limit: u64,
    /// `child-process` or `in-process`.
    pub client_mode: String,
    /// Client tasks for heartbeats and event responses.
    pub client_tasks: usize,
    /// `eventTimeout` of the node, seconds.
    pub event_timeout_s: f64,
    /// Heartbeat period per channel, seconds.
    pub heartbeat_every_s: f64,
    /// RSS of the bench process before opening channels (node started, users loaded), MiB.
    pub rss_before_mib: f64,
    /// RSS of the bench process with every channel open, MiB.
    pub rss_open_mib: f64,
    /// (rss_open − rss_before) / channels_opened, KiB: the server's memory per channel
    /// unless `includes_client_side`.
    pub memory_per_channel_kib: f64,
    /// Whether the bench process's memory and CPU figures include the client side (only
    /// with `--in-process`).
    pub includes_client_side: bool,
    /// CPU measurement window, seconds.
    pub window_s: f64,
    /// Bench process user + system CPU over the window, percent of one core (the server
    /// alone unless `includes_client_side`).
    pub cpu_percent: f64,
    /// Of which user time.
    pub cpu_user_percent: f64,
    /// Of which system time.
    pub cpu_sys_percent: f64,
    /// Soft `RLIMIT_NOFILE` of the client process (0 in process).
    pub client_fd_limit: u64,
    /// RSS of the client process before opening channels, MiB (0 in process).
    pub client_rss_before_mib: f64,
    /// RSS of the client process with every channel open, MiB (0 in process).
    pub client_rss_open_mib: f64,
    /// Client RSS growth per channel, KiB (0 in process).
    pub client_memory_per_channel_kib: f64,
    /// Client process user + system CPU over the window, percent of one core (0 in process).
    pub client_cpu_percent: f64,
    /// Of which user time.
    pub client_cpu_user_percent: f64,
    /// Of which system time.
    pub client_cpu_sys_percent: f64,
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
    /// Clock both processes read for latency (`CLOCK_MONOTONIC`).
    pub latency_clock: String,
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
            "channels      {} open of {} requested ({} errors) in {:.1} s; fd limit {}; clients {}",
            self.channels_opened,
            self.channels_requested,
            self.open_errors,
            self.open_seconds,
            self.fd_limit,
            self.client_mode
        )?;
        if self.includes_client_side {
            writeln!(
                f,
                "memory        {:.1} KiB per channel (RSS {:.0} → {:.0} MiB, server and clients together)",
                self.memory_per_channel_kib, self.rss_before_mib, self.rss_open_mib
            )?;
        } else {
            writeln!(
                f,
                "memory        server {:.1} KiB per channel (RSS {:.0} → {:.0} MiB); clients {:.1} KiB per channel (RSS {:.0} → {:.0} MiB)",
                self.memory_per_channel_kib,
                self.rss_before_mib,
                self.rss_open_mib,
                self.client_memory_per_channel_kib,
                self.client_rss_before_mib,
                self.client_rss_open_mib
            )?;
        }
        writeln!(
            f,
            "heartbeats    every {:.1} s per channel from {} client tasks: {:.0}/s, {} errors, {} channels alive",
            self.heartbeat_every_s,
            self.client_tasks,
            self.heartbeats_per_s,
            self.heartbeat_errors,
            self.channels_alive_after_window
        )?;
        if self.includes_client_side {
            writeln!(
                f,
                "cpu           {:.1} % of one core over {:.0} s (user {:.1} %, sys {:.1} %), server and clients together",
                self.cpu_percent, self.window_s, self.cpu_user_percent, self.cpu_sys_percent
            )?;
        } else {
            writeln!(
                f,
                "cpu           server {:.1} % of one core over {:.0} s (user {:.1} %, sys {:.1} %); clients {:.1} % (user {:.1} %, sys {:.1} %)",
                self.cpu_percent,
                self.window_s,
                self.cpu_user_percent,
                self.cpu_sys_percent,
                self.client_cpu_percent,
                self.client_cpu_user_percent,
                self.client_cpu_sys_percent
            )?;
        }
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

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process of the machine (unlike the
/// opaque `std::time::Instant`), so a time noted in the bench and one noted in the client
/// process can be subtracted. Never 0.
#[allow(clippy::unnecessary_cast)] // time_t and c_long are not i64 everywhere
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the struct we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
        .max(1)
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

/// Channels that fit into `fd_limit` when each channel holds `fds_per_channel` descriptors
/// in one process: two with the clients in process (the client's socket and the server's),
/// one in each process with the clients in a child process.
pub fn channels_for_fd_limit(fd_limit: u64, workers: usize, fds_per_channel: u64) -> usize {
    let spare = fd_limit.saturating_sub(FD_RESERVE + 2 * workers as u64);
    usize::try_from(spare / fds_per_channel.max(1)).unwrap_or(usize::MAX)
}

const BENCH_DOMAIN: &str = "bench.example";
const BENCH_PASSWORD: &str = "Bench-pw1";
const BENCH_SET: &str = "bench-set";
const BENCH_APP: &str = "bwlab-bench";

fn bench_user(i: usize) -> String {
    user_name(BENCH_DOMAIN, i)
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
    /// The CA bundle of `endpoint`, PEM (for a client process).
    ca_pem: String,
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
        ca_pem: bwlab_pki::pem::encode_certs(pki.lab_trust_bundle().iter()),
    })
}

/// Subscriber `i` of the bench's naming scheme: `u{i:06}@{domain}`.
fn user_name(domain: &str, i: usize) -> String {
    format!("u{i:06}@{domain}")
}

// ----- the client side (a child process, or in process) -------------------------------------

/// What the client side needs: the first JSON line on the child's stdin.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct ClientsConfig {
    /// The XSP's HTTPS address.
    pub addr: SocketAddr,
    /// TLS server name (SNI, certificate check, `Host`).
    pub server_name: String,
    /// CA bundle (PEM) that signs the XSP's certificate.
    pub ca_pem: String,
    /// Users are `u{i:06}@{domain}` for channel `i`.
    pub domain: String,
    /// Every user's password.
    pub password: String,
    /// Channel set and application id of every channel.
    pub channel_set: String,
    pub application: String,
    /// Channels to open.
    pub channels: usize,
    /// Heartbeat period per channel, ms.
    pub heartbeat_every_ms: u64,
    /// Client tasks (one keep-alive command connection each).
    pub workers: usize,
    /// Channel adds in flight at once.
    pub open_concurrency: usize,
    /// Report this process's RSS, CPU and descriptor limit (a child process; in process
    /// they would be the bench's own).
    pub own_process: bool,
}

/// A command from the bench to the client side (one JSON line on the child's stdin).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ClientCmd {
    /// Subscribe users `0..count` to `Advanced Call`; answered with `Subscribed` once their
    /// initial events have arrived (or after 10 s).
    Subscribe { count: usize },
    /// Answered with `Stats`.
    Stats,
    /// Close everything and exit.
    Stop,
}

/// Counters and process figures of the client side.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct ClientStats {
    pub heartbeats_sent: u64,
    pub heartbeat_errors: u64,
    pub heartbeats_seen: u64,
    pub acks: u64,
    pub ack_errors: u64,
    pub other_events: u64,
    pub streams_closed: u64,
    /// RSS of the client process, bytes (0 in process).
    pub rss_bytes: u64,
    /// CPU of the client process, seconds (0 in process).
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
}

/// A report from the client side (one JSON line on the child's stdout).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientReport {
    /// About once a second while channels open.
    Progress { opened: u64, failed: u64 },
    /// Every channel add has finished.
    Opened {
        opened: u64,
        failed: u64,
        seconds: f64,
        last_error: Option<String>,
        /// RSS before the first channel add and with every channel open, bytes (0 in
        /// process).
        rss_before: u64,
        rss_open: u64,
        /// Soft `RLIMIT_NOFILE` of the client process (0 in process).
        fd_limit: u64,
    },
    /// Answer to `Subscribe`.
    Subscribed { ok: usize },
    /// A `HookStatusEvent` parsed on channel `i` at `t` (`CLOCK_MONOTONIC`, ns).
    Event { i: usize, t: u64 },
    /// Answer to `Stats`.
    Stats(ClientStats),
    /// The client side cannot go on.
    Fatal { message: String },
}

/// Counters shared by the client tasks.
#[derive(Default)]
struct ClientCounters {
    other_events: AtomicU64,
    heartbeats_seen: AtomicU64,
    heartbeats_sent: AtomicU64,
    heartbeat_errors: AtomicU64,
    acks: AtomicU64,
    ack_errors: AtomicU64,
    streams_closed: AtomicU64,
}

impl ClientCounters {
    fn stats(&self, own_process: bool) -> ClientStats {
        let (cpu_user_s, cpu_sys_s) = if own_process {
            procfs::cpu_seconds()
        } else {
            (0.0, 0.0)
        };
        ClientStats {
            heartbeats_sent: self.heartbeats_sent.load(Ordering::Relaxed),
            heartbeat_errors: self.heartbeat_errors.load(Ordering::Relaxed),
            heartbeats_seen: self.heartbeats_seen.load(Ordering::Relaxed),
            acks: self.acks.load(Ordering::Relaxed),
            ack_errors: self.ack_errors.load(Ordering::Relaxed),
            other_events: self.other_events.load(Ordering::Relaxed),
            streams_closed: self.streams_closed.load(Ordering::Relaxed),
            rss_bytes: if own_process { procfs::rss_bytes() } else { 0 },
            cpu_user_s,
            cpu_sys_s,
        }
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
    counters: Arc<ClientCounters>,
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
                        Ok(()) => counters.acks.fetch_add(1, Ordering::Relaxed),
                        Err(_) => counters.ack_errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
                None => break,
            },
            () = async { tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)).await }, if due.is_some() => {
                if let Some(Reverse((at, i))) = timers.pop() {
                    let (client, id) = &channels[i];
                    match client.heartbeat(id).await {
                        Ok(()) => counters.heartbeats_sent.fetch_add(1, Ordering::Relaxed),
                        Err(_) => counters.heartbeat_errors.fetch_add(1, Ordering::Relaxed),
                    };
                    timers.push(Reverse((at + period, i)));
                }
            }
        }
    }
}

/// Reads one channel's stream until it ends: reports when each of the bench's events was
/// parsed and hands every event to the worker for acknowledgement.
async fn events_reader(
    index: usize,
    mut channel: crate::events_client::EventChannel,
    client: crate::events_client::EventsClient,
    worker: tokio::sync::mpsc::UnboundedSender<WorkerMsg>,
    counters: Arc<ClientCounters>,
    out: tokio::sync::mpsc::UnboundedSender<ClientReport>,
) {
    use crate::events_client::StreamItem;
    loop {
        match channel.next_event().await {
            Ok(Some(StreamItem::Heartbeat)) => {
                counters.heartbeats_seen.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(StreamItem::Event(ev))) => {
                let parsed = monotonic_ns();
                let Some(sub) = ev.as_subscription() else {
                    continue; // ChannelTerminatedEvent: the stream ends next.
                };
                if sub.data.type_name() == "HookStatusEvent" {
                    let _ = out.send(ClientReport::Event {
                        i: index,
                        t: parsed,
                    });
                } else {
                    counters.other_events.fetch_add(1, Ordering::Relaxed);
                }
                let _ = worker.send(WorkerMsg::Ack(client.clone(), sub.event_id.clone()));
            }
            Ok(None) | Err(_) => {
                counters.streams_closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// The client side of `bwlab bench events`: opens `cfg.channels` channels (reporting
/// progress), heartbeats them, reads and acknowledges every event, and answers `cmds` until
/// `Stop` or until the command stream ends.
pub async fn run_events_clients(
    cfg: ClientsConfig,
    mut cmds: tokio::sync::mpsc::UnboundedReceiver<ClientCmd>,
    out: tokio::sync::mpsc::UnboundedSender<ClientReport>,
) -> Result<(), String> {
    let workers = cfg.workers.max(1);
    let fd_limit = if cfg.own_process {
        procfs::raise_nofile(FD_RESERVE + 2 * workers as u64 + cfg.channels as u64)
    } else {
        0
    };
    let trust = bwlab_pki::pem::decode_certs(&cfg.ca_pem).map_err(|e| format!("CA: {e}"))?;
    let endpoint = crate::events_client::Endpoint::new(cfg.addr, cfg.server_name.clone(), trust)
        .map_err(|e| e.to_string())?;
    let counters = Arc::new(ClientCounters::default());
    let period = Duration::from_millis(cfg.heartbeat_every_ms.max(1));
    let mut worker_tx = Vec::with_capacity(workers);
    let mut worker_clients = Vec::with_capacity(workers);
    let mut worker_tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        worker_tasks.push(tokio::spawn(events_worker(rx, period, counters.clone())));
        worker_tx.push(tx);
        // A fresh client per worker: its own command connection.
        worker_clients.push(crate::events_client::EventsClient::new(
            endpoint.clone(),
            "",
            "",
        ));
    }
    let rss_before = if cfg.own_process {
        procfs::rss_bytes()
    } else {
        0
    };

    // Open the channels, `open_concurrency` handshakes at a time.
    let planned = cfg.channels;
    let opened_at = Instant::now();
    // First heartbeats spread evenly over one period, so a window sees the steady rate.
    let hb_origin = tokio::time::Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(cfg.open_concurrency.max(1)));
    let opened = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let last_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut openers = Vec::with_capacity(planned);
    let (reader_tx, mut reader_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..planned {
        let client = worker_clients[i % workers].as_user(&user_name(&cfg.domain, i), &cfg.password);
        let tx = worker_tx[i % workers].clone();
        let req = crate::events_client::ChannelRequest::new(
            cfg.channel_set.clone(),
            cfg.application.clone(),
        );
        let (gate, opened, failed, last_error, counters, reader_tx, out) = (
            gate.clone(),
            opened.clone(),
            failed.clone(),
            last_error.clone(),
            counters.clone(),
            reader_tx.clone(),
            out.clone(),
        );
        openers.push(tokio::spawn(async move {
            let Ok(_permit) = gate.acquire_owned().await else {
                return;
            };
            match client.open_channel(&req).await {
                Ok(ch) => {
                    opened.fetch_add(1, Ordering::Relaxed);
                    let first = hb_origin + period.mul_f64(i as f64 / planned as f64);
                    let _ = tx.send(WorkerMsg::Add(client.clone(), ch.id().to_owned(), first));
                    let _ = reader_tx.send(tokio::spawn(events_reader(
                        i, ch, client, tx, counters, out,
                    )));
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
        let _ = out.send(ClientReport::Progress {
            opened: opened.load(Ordering::Relaxed),
            failed: failed.load(Ordering::Relaxed),
        });
    }
    for o in openers {
        let _ = o.await;
    }
    let mut readers = Vec::with_capacity(planned);
    while let Ok(r) = reader_rx.try_recv() {
        readers.push(r);
    }
    let seconds = opened_at.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = out.send(ClientReport::Opened {
        opened: opened.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        seconds,
        last_error: last_error.lock().ok().and_then(|l| l.clone()),
        rss_before,
        rss_open: if cfg.own_process {
            procfs::rss_bytes()
        } else {
            0
        },
        fd_limit,
    });

    while let Some(cmd) = cmds.recv().await {
        match cmd {
            ClientCmd::Stats => {
                let _ = out.send(ClientReport::Stats(counters.stats(cfg.own_process)));
            }
            ClientCmd::Subscribe { count } => {
                let count = count.min(planned);
                let gate = Arc::new(tokio::sync::Semaphore::new(workers));
                let others0 = counters.other_events.load(Ordering::Relaxed);
                let mut subs = Vec::with_capacity(count);
                for i in 0..count {
                    let user = user_name(&cfg.domain, i);
                    let client = worker_clients[i % workers].as_user(&user, &cfg.password);
                    let (gate, set, app) = (
                        gate.clone(),
                        cfg.channel_set.clone(),
                        cfg.application.clone(),
                    );
                    subs.push(tokio::spawn(async move {
                        let _permit = gate.acquire_owned().await.ok()?;
                        client
                            .subscribe(&user, "Advanced Call", &set, &app)
                            .await
                            .ok()
                    }));
                }
                let mut ok = 0;
                for s in subs {
                    if matches!(s.await, Ok(Some(_))) {
                        ok += 1;
                    }
                }
                // The initial CallSubscriptionEvents arrive and are acknowledged before
                // the bench measures.
                let settle = Instant::now();
                while counters.other_events.load(Ordering::Relaxed) - others0 < ok as u64
                    && settle.elapsed() < Duration::from_secs(10)
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let _ = out.send(ClientReport::Subscribed { ok });
            }
            ClientCmd::Stop => break,
        }
    }
    for r in &readers {
        r.abort();
    }
    drop(worker_tx);
    for w in worker_tasks {
        w.abort();
    }
    Ok(())
}

/// `bwlab bench events-clients`: [`run_events_clients`] in a child process of
/// `bwlab bench events` — a [`ClientsConfig`] as the first JSON line on stdin, then
/// [`ClientCmd`]s one per line; [`ClientReport`]s one per line on stdout. Ends after `Stop`
/// or when stdin closes (the bench is gone).
pub async fn run_events_clients_stdio() -> Result<(), String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let first = lines
        .next_line()
        .await
        .map_err(|e| format!("stdin: {e}"))?
        .ok_or("no configuration on stdin")?;
    let cfg: ClientsConfig =
        serde_json::from_str(&first).map_err(|e| format!("configuration: {e}"))?;
    let (cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<ClientCmd>(&line) {
                Ok(cmd) => {
                    if cmd_tx.send(cmd).is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("bench events-clients: bad command {line:?}: {e}"),
            }
        }
    });
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<ClientReport>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::BufWriter::new(tokio::io::stdout());
        let mut line = Vec::with_capacity(256);
        while let Some(report) = out_rx.recv().await {
            // Whatever else is queued goes in the same write.
            let mut next = Some(report);
            while let Some(r) = next {
                line.clear();
                if serde_json::to_writer(&mut line, &r).is_ok() {
                    line.push(b'\n');
                    if stdout.write_all(&line).await.is_err() {
                        return;
                    }
                }
                next = out_rx.try_recv().ok();
            }
            if stdout.flush().await.is_err() {
                return;
            }
        }
    });
    let result = run_events_clients(cfg, cmd_rx, out_tx.clone()).await;
    if let Err(e) = &result {
        let _ = out_tx.send(ClientReport::Fatal { message: e.clone() });
    }
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    result
}

// ----- the bench side --------------------------------------------------------------------------

/// Publish times of the bench's events, per channel.
struct InFlight {
    /// When channel `i`'s latest event was published (`monotonic_ns`); 0 = none in flight.
    sent_at: Vec<AtomicU64>,
    latencies_us: std::sync::Mutex<Vec<u32>>,
    received: AtomicU64,
}

impl InFlight {
    fn arrived(&self, i: usize, parsed_ns: u64) {
        let Some(slot) = self.sent_at.get(i) else {
            return;
        };
        let sent = slot.swap(0, Ordering::AcqRel);
        if sent == 0 {
            return;
        }
        let us = parsed_ns.saturating_sub(sent) / 1000;
        if let Ok(mut l) = self.latencies_us.lock() {
            l.push(u32::try_from(us).unwrap_or(u32::MAX));
        }
        self.received.fetch_add(1, Ordering::Relaxed);
    }
}

/// The bench's end of the client side: commands out, reports in.
struct ClientLink {
    cmds: tokio::sync::mpsc::UnboundedSender<ClientCmd>,
    /// Every report but `Event` (those go straight to [`InFlight`]).
    reports: tokio::sync::mpsc::UnboundedReceiver<ClientReport>,
    child: Option<tokio::process::Child>,
    task: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

impl ClientLink {
    /// Starts the client side.
    fn start(
        side: &ClientSide,
        cfg: ClientsConfig,
        inflight: Arc<InFlight>,
    ) -> Result<ClientLink, String> {
        let (cmd_tx, mut cmd_rx) = tokio::sync::mpsc::unbounded_channel::<ClientCmd>();
        let (raw_tx, mut raw_rx) = tokio::sync::mpsc::unbounded_channel::<ClientReport>();
        let (rep_tx, rep_rx) = tokio::sync::mpsc::unbounded_channel();
        // Events are handled here as they come; the rest goes to the bench's main flow.
        tokio::spawn(async move {
            while let Some(r) = raw_rx.recv().await {
                match r {
                    ClientReport::Event { i, t } => inflight.arrived(i, t),
                    other => {
                        let _ = rep_tx.send(other);
                    }
                }
            }
        });
        match side {
            ClientSide::InProcess => {
                let task = tokio::spawn(run_events_clients(cfg, cmd_rx, raw_tx));
                Ok(ClientLink {
                    cmds: cmd_tx,
                    reports: rep_rx,
                    child: None,
                    task: Some(task),
                })
            }
            ClientSide::ChildProcess(exe) => {
                use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
                let mut child = tokio::process::Command::new(exe)
                    .args(["bench", "events-clients"])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::inherit())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| {
                        format!("cannot start the client process {}: {e}", exe.display())
                    })?;
                let mut stdin = child.stdin.take().ok_or("no stdin to the client process")?;
                let stdout = child
                    .stdout
                    .take()
                    .ok_or("no stdout from the client process")?;
                let first = serde_json::to_string(&cfg).map_err(|e| e.to_string())?;
                tokio::spawn(async move {
                    if stdin
                        .write_all(format!("{first}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                    while let Some(cmd) = cmd_rx.recv().await {
                        let Ok(line) = serde_json::to_string(&cmd) else {
                            continue;
                        };
                        if stdin
                            .write_all(format!("{line}\n").as_bytes())
                            .await
                            .is_err()
                            || stdin.flush().await.is_err()
                        {
                            return;
                        }
                    }
                    // Dropping stdin closes it: the child stops.
                });
                tokio::spawn(async move {
                    let mut lines = tokio::io::BufReader::new(stdout).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        match serde_json::from_str::<ClientReport>(&line) {
                            Ok(r) => {
                                if raw_tx.send(r).is_err() {
                                    break;
                                }
                            }
                            Err(e) => {
                                let _ = raw_tx.send(ClientReport::Fatal {
                                    message: format!("bad report {line:?}: {e}"),
                                });
                            }
                        }
                    }
                });
                Ok(ClientLink {
                    cmds: cmd_tx,
                    reports: rep_rx,
                    child: Some(child),
                    task: None,
                })
            }
        }
    }

    /// The next report (not `Event`); an error if the client side ended or failed.
    async fn next(&mut self) -> Result<ClientReport, String> {
        match self.reports.recv().await {
            Some(ClientReport::Fatal { message }) => Err(format!("client side: {message}")),
            Some(r) => Ok(r),
            None => Err("the client side ended early".into()),
        }
    }

    fn send(&self, cmd: ClientCmd) -> Result<(), String> {
        self.cmds
            .send(cmd)
            .map_err(|_| "the client side is gone".to_string())
    }

    /// Counters of the client side now.
    async fn stats(&mut self) -> Result<ClientStats, String> {
        self.send(ClientCmd::Stats)?;
        loop {
            if let ClientReport::Stats(s) = self.next().await? {
                return Ok(s);
            }
        }
    }

    /// Stops the client side and waits for it (5 s at most, then kills a child).
    async fn stop(mut self) {
        let _ = self.cmds.send(ClientCmd::Stop);
        drop(self.cmds);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        if let Some(mut child) = self.child.take()
            && tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
        {
            let _ = child.kill().await;
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

const MIB: f64 = 1_048_576.0;

/// Runs `bwlab bench events`. `progress` gets a one-line status about every second.
pub async fn run_events(
    cfg: &EventsBenchConfig,
    mut progress: impl FnMut(&str),
) -> Result<EventsBenchResult, String> {
    let workers = cfg.workers.max(1);
    let in_process = cfg.clients == ClientSide::InProcess;
    let mut result = EventsBenchResult {
        channels_requested: cfg.channels,
        client_mode: if in_process {
            "in-process"
        } else {
            "child-process"
        }
        .into(),
        client_tasks: workers,
        includes_client_side: in_process,
        event_timeout_s: cfg.event_timeout.as_secs_f64(),
        heartbeat_every_s: cfg.event_timeout.as_secs_f64() / 2.0,
        target_rate: cfg.rate,
        latency_clock: "CLOCK_MONOTONIC".into(),
        ..EventsBenchResult::default()
    };
    // Two descriptors per channel in one process, one in each of two; raise the limit (the
    // child inherits it) or plan fewer channels.
    let per_channel: u64 = if in_process { 2 } else { 1 };
    let wanted = FD_RESERVE + 2 * workers as u64 + per_channel * cfg.channels as u64;
    result.fd_limit = procfs::raise_nofile(wanted);
    let planned = cfg
        .channels
        .min(channels_for_fd_limit(result.fd_limit, workers, per_channel));
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
    let inflight = Arc::new(InFlight {
        sent_at: (0..planned).map(|_| AtomicU64::new(0)).collect(),
        latencies_us: std::sync::Mutex::new(Vec::new()),
        received: AtomicU64::new(0),
    });
    let period = cfg.event_timeout / 2;
    let clients_cfg = ClientsConfig {
        addr: node.endpoint.addr,
        server_name: node.endpoint.server_name.clone(),
        ca_pem: node.ca_pem.clone(),
        domain: BENCH_DOMAIN.into(),
        password: BENCH_PASSWORD.into(),
        channel_set: BENCH_SET.into(),
        application: BENCH_APP.into(),
        channels: planned,
        heartbeat_every_ms: u64::try_from(period.as_millis()).unwrap_or(u64::MAX),
        workers,
        open_concurrency: 64,
        own_process: !in_process,
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = procfs::rss_bytes();

    // (a) open the channels.
    progress(&format!(
        "opening {planned} channels from {}",
        if in_process {
            "this process"
        } else {
            "a client process"
        }
    ));
    let mut link = match ClientLink::start(&cfg.clients, clients_cfg, inflight.clone()) {
        Ok(l) => l,
        Err(e) => {
            node.xsp.shutdown().await;
            return Err(e);
        }
    };
    let outcome = measure_events(
        cfg,
        planned,
        &node,
        &inflight,
        &mut link,
        &mut result,
        rss_before,
        &mut progress,
    )
    .await;
    progress("stopping");
    link.stop().await;
    node.xsp.shutdown().await;
    outcome.map(|()| result)
}

/// Everything after the client side started: (a) channels and memory, the CPU window,
/// (b) event latency.
#[allow(clippy::too_many_arguments)]
async fn measure_events(
    cfg: &EventsBenchConfig,
    planned: usize,
    node: &EventsNode,
    inflight: &InFlight,
    link: &mut ClientLink,
    result: &mut EventsBenchResult,
    rss_before: u64,
    progress: &mut impl FnMut(&str),
) -> Result<(), String> {
    loop {
        match link.next().await? {
            ClientReport::Progress { opened, failed } => progress(&format!(
                "opening channels: {opened}/{planned} ({failed} failed)"
            )),
            ClientReport::Opened {
                opened,
                failed,
                seconds,
                last_error,
                rss_before: c_before,
                rss_open: c_open,
                fd_limit,
            } => {
                result.open_seconds = seconds;
                result.channels_opened = usize::try_from(opened).unwrap_or(usize::MAX);
                result.open_errors = failed;
                result.open_error = last_error;
                result.client_fd_limit = fd_limit;
                result.client_rss_before_mib = c_before as f64 / MIB;
                result.client_rss_open_mib = c_open as f64 / MIB;
                if opened > 0 {
                    result.client_memory_per_channel_kib =
                        c_open.saturating_sub(c_before) as f64 / 1024.0 / opened as f64;
                }
                break;
            }
            _ => {}
        }
    }
    if result.channels_opened == 0 {
        return Err(format!(
            "no channel opened: {}",
            result.open_error.clone().unwrap_or_default()
        ));
    }
    if let Some(e) = &result.open_error {
        progress(&format!(
            "note: {} channel adds failed, the last with: {e}",
            result.open_errors
        ));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_open = procfs::rss_bytes();
    result.rss_before_mib = rss_before as f64 / MIB;
    result.rss_open_mib = rss_open as f64 / MIB;
    result.memory_per_channel_kib =
        rss_open.saturating_sub(rss_before) as f64 / 1024.0 / result.channels_opened as f64;

    // CPU while heartbeats run.
    let c0 = link.stats().await?;
    let (u0, s0) = procfs::cpu_seconds();
    let window_start = Instant::now();
    while window_start.elapsed() < cfg.window {
        let left = cfg.window.saturating_sub(window_start.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        if window_start.elapsed() < cfg.window {
            let now = link.stats().await?;
            progress(&format!(
                "heartbeats: {:.0}/{:.0} s, {} sent, {} channels open",
                window_start.elapsed().as_secs_f64(),
                cfg.window.as_secs_f64(),
                now.heartbeats_sent - c0.heartbeats_sent,
                node.xsp.open_channels()
            ));
        }
    }
    let (u1, s1) = procfs::cpu_seconds();
    let window = window_start.elapsed().as_secs_f64();
    let c1 = link.stats().await?;
    result.window_s = window;
    result.cpu_user_percent = (u1 - u0) / window * 100.0;
    result.cpu_sys_percent = (s1 - s0) / window * 100.0;
    result.cpu_percent = result.cpu_user_percent + result.cpu_sys_percent;
    result.client_cpu_user_percent = (c1.cpu_user_s - c0.cpu_user_s) / window * 100.0;
    result.client_cpu_sys_percent = (c1.cpu_sys_s - c0.cpu_sys_s) / window * 100.0;
    result.client_cpu_percent = result.client_cpu_user_percent + result.client_cpu_sys_percent;
    result.heartbeats_per_s = (c1.heartbeats_sent - c0.heartbeats_sent) as f64 / window;
    result.channels_alive_after_window = node.xsp.open_channels();

    // (b) latency: subscribe enough users for the rate (one event in flight per user).
    let subscribed = planned.min((cfg.rate as usize).max(1));
    progress(&format!("subscribing {subscribed} users to Advanced Call"));
    link.send(ClientCmd::Subscribe { count: subscribed })?;
    loop {
        if let ClientReport::Subscribed { ok } = link.next().await? {
            result.subscribed = ok;
            break;
        }
    }

    let users: Vec<String> = (0..subscribed).map(bench_user).collect();
    let received0 = inflight.received.load(Ordering::Relaxed);
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
                if inflight.sent_at[i].load(Ordering::Acquire) == 0 {
                    found = Some(i);
                    break;
                }
            }
            let Some(i) = found else {
                skipped += 1;
                continue;
            };
            inflight.sent_at[i].store(monotonic_ns(), Ordering::Release);
            let data = bwlab_appserver::EventData::HookStatus(if published.is_multiple_of(2) {
                bwlab_appserver::HookStatus::OffHook
            } else {
                bwlab_appserver::HookStatus::OnHook
            });
            if node.app_server.publish(&users[i], data) {
                published += 1;
            } else {
                inflight.sent_at[i].store(0, Ordering::Release);
                skipped += 1;
            }
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress(&format!(
                "events: {:.0}/{:.0} s, {published} published, {} received",
                started.elapsed().as_secs_f64(),
                cfg.duration.as_secs_f64(),
                inflight.received.load(Ordering::Relaxed) - received0
            ));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // Let the last events arrive.
    let drain = Instant::now();
    while inflight
        .sent_at
        .iter()
        .any(|s| s.load(Ordering::Acquire) != 0)
        && drain.elapsed() < Duration::from_secs(2)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Acknowledgements queued behind the last events.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let last = link.stats().await?;
    let received = inflight.received.load(Ordering::Relaxed) - received0;
    result.latency_seconds = seconds;
    result.events_published = published;
    result.events_received = received;
    result.events_lost = inflight
        .sent_at
        .iter()
        .filter(|s| s.load(Ordering::Acquire) != 0)
        .count() as u64;
    result.events_skipped = skipped;
    result.achieved_rate = received as f64 / seconds;
    let mut lat = inflight
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    lat.sort_unstable();
    result.latency_p50_ms = percentile_ms(&lat, 0.50);
    result.latency_p99_ms = percentile_ms(&lat, 0.99);
    result.latency_max_ms = percentile_ms(&lat, 1.0);
    result.acks = last.acks;
    result.ack_errors = last.ack_errors;
    result.heartbeat_errors = last.heartbeat_errors;
    result.streams_closed = last.streams_closed;
    Ok(())
}

#[cfg(test)]
mod events_tests {
    use super::*;

    #[test]
    fn fd_planning_per_mode() {
        // In process: two descriptors per channel; in a child process: one in each.
        assert_eq!(channels_for_fd_limit(20_000, 32, 2), 9_872);
        assert_eq!(channels_for_fd_limit(20_000, 32, 1), 19_744);
        assert_eq!(channels_for_fd_limit(100, 32, 1), 0);
    }

    #[test]
    fn monotonic_clock_moves_forward() {
        let a = monotonic_ns();
        std::thread::sleep(Duration::from_millis(2));
        let b = monotonic_ns();
        assert!(a > 0 && b >= a + 1_000_000, "{a} {b}");
    }

    /// The wire format between the bench and its client process: one JSON object per line.
    #[test]
    fn reports_and_commands_round_trip_as_json_lines() {
        let line = serde_json::to_string(&ClientReport::Event { i: 7, t: 42 }).unwrap();
        assert_eq!(line, r#"{"type":"event","i":7,"t":42}"#);
        let back: ClientReport = serde_json::from_str(&line).unwrap();
        assert!(matches!(back, ClientReport::Event { i: 7, t: 42 }));
        let stats = serde_json::to_string(&ClientReport::Stats(ClientStats {
            acks: 3,
            ..ClientStats::default()
        }))
        .unwrap();
        assert!(stats.starts_with(r#"{"type":"stats","#), "{stats}");
        assert!(matches!(
            serde_json::from_str::<ClientReport>(&stats).unwrap(),
            ClientReport::Stats(ClientStats { acks: 3, .. })
        ));
        let cmd = serde_json::to_string(&ClientCmd::Subscribe { count: 5 }).unwrap();
        assert_eq!(cmd, r#"{"cmd":"subscribe","count":5}"#);
        assert!(matches!(
            serde_json::from_str::<ClientCmd>(r#"{"cmd":"stop"}"#).unwrap(),
            ClientCmd::Stop
        ));
    }

    /// The in-process mode (same client code, reports over a channel) end to end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_process_mode_runs_end_to_end() {
        let cfg = EventsBenchConfig {
            channels: 8,
            rate: 40,
            duration: Duration::from_millis(500),
            window: Duration::from_millis(200),
            workers: 2,
            clients: ClientSide::InProcess,
            ..EventsBenchConfig::default()
        };
        let r = run_events(&cfg, |_| {}).await.unwrap();
        assert_eq!(r.channels_opened, 8, "{r}");
        assert!(r.includes_client_side);
        assert!(r.events_received > 0, "{r}");
        assert_eq!(r.events_lost, 0, "{r}");
        assert!(r.acks >= r.events_received, "{r}");
    }
}
