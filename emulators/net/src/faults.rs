//! The transport fault layer: Toxiproxy-style "toxics" applied to the accepted TCP
//! connections of a listener, under TLS and HTTP, so a client sees a slow, cut or reset
//! network exactly where a real one would fail.
//!
//! A [`NetFaults`] set belongs to a listener (or a node); servers wrap each accepted socket
//! with [`NetFaults::wrap`]. Rules can be added and removed at run time and take effect on
//! open connections too — a long-lived event stream feels a fault injected mid-way. Each
//! connection decides once per rule whether the rule's `toxicity` hits it, with a seeded
//! generator, so a run replays.
//!
//! Direction follows Toxiproxy: `upstream` is data the client sends (what the server reads),
//! `downstream` is what the server sends back.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use crate::rules::RuleList;
use bwlab_core::{Journal, Kind};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// One toxic, with Toxiproxy's names and parameters (durations in milliseconds, sizes in
/// bytes, rates in KB/s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Toxic {
    /// Delay every piece of data by `latency` ± `jitter` ms.
    Latency {
        /// Milliseconds.
        latency: u64,
        /// Milliseconds, uniform in ±jitter.
        #[serde(default)]
        jitter: u64,
    },
    /// Limit throughput to `rate` KB/s.
    Bandwidth {
        /// Kilobytes per second (0 = nothing passes).
        rate: u64,
    },
    /// Delay the close of the connection by `delay` ms.
    SlowClose {
        /// Milliseconds.
        delay: u64,
    },
    /// Stop all data and close the connection after `timeout` ms (0 = never close: data
    /// just stops).
    Timeout {
        /// Milliseconds.
        timeout: u64,
    },
    /// Reset the connection (TCP RST) after `timeout` ms.
    ResetPeer {
        /// Milliseconds.
        #[serde(default)]
        timeout: u64,
    },
    /// Cut data into pieces of `average_size` ± `size_variation` bytes, `delay` µs apart.
    Slicer {
        /// Bytes.
        average_size: usize,
        /// Bytes.
        #[serde(default)]
        size_variation: usize,
        /// Microseconds between pieces.
        #[serde(default)]
        delay: u64,
    },
    /// Close the connection once `bytes` have passed.
    LimitData {
        /// Bytes.
        bytes: u64,
    },
}

impl Toxic {
    /// Toxiproxy's type name.
    pub fn name(&self) -> &'static str {
        match self {
            Toxic::Latency { .. } => "latency",
            Toxic::Bandwidth { .. } => "bandwidth",
            Toxic::SlowClose { .. } => "slow_close",
            Toxic::Timeout { .. } => "timeout",
            Toxic::ResetPeer { .. } => "reset_peer",
            Toxic::Slicer { .. } => "slicer",
            Toxic::LimitData { .. } => "limit_data",
        }
    }
}

/// Which way the data flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client to server.
    Upstream,
    /// Server to client (Toxiproxy's default).
    #[default]
    Downstream,
}

/// A toxic with where it applies and how often.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToxicRule {
    /// The toxic.
    #[serde(flatten)]
    pub toxic: Toxic,
    /// Direction (`stream` in Toxiproxy).
    #[serde(default)]
    pub stream: Direction,
    /// Share of connections affected, 0–1 (default 1).
    #[serde(default = "one")]
    pub toxicity: f64,
}

fn one() -> f64 {
    1.0
}

impl ToxicRule {
    /// A downstream rule hitting every connection.
    pub fn new(toxic: Toxic) -> Self {
        ToxicRule {
            toxic,
            stream: Direction::Downstream,
            toxicity: 1.0,
        }
    }

    /// The same rule for the other direction.
    pub fn upstream(mut self) -> Self {
        self.stream = Direction::Upstream;
        self
    }

    /// The same rule hitting only this share of connections.
    pub fn toxicity(mut self, t: f64) -> Self {
        self.toxicity = t.clamp(0.0, 1.0);
        self
    }
}

/// Handle of an injected rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetFaultId(pub u64);

struct Shared {
    /// Its generation is bumped on every change, so open connections notice.
    rules: RuleList<ToxicRule>,
    connections: AtomicU64,
    seed: AtomicU64,
    journal: Option<(Journal, Arc<str>)>,
}

/// The fault rules of one listener or node. Cheap to clone.
#[derive(Clone)]
pub struct NetFaults {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for NetFaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetFaults")
            .field("rules", &self.list())
            .finish()
    }
}

impl Default for NetFaults {
    fn default() -> Self {
        Self::new(0x5eed)
    }
}

impl NetFaults {
    /// An empty set; `seed` drives every random choice.
    pub fn new(seed: u64) -> Self {
        NetFaults {
            shared: Arc::new(Shared {
                rules: RuleList::new(),
                connections: AtomicU64::new(0),
                seed: AtomicU64::new(seed),
                journal: None,
            }),
        }
    }

    /// An empty set that journals injections and reverts as `node`.
    pub fn with_journal(seed: u64, journal: Journal, node: impl Into<Arc<str>>) -> Self {
        let mut f = Self::new(seed);
        if let Some(s) = Arc::get_mut(&mut f.shared) {
            s.journal = Some((journal, node.into()));
        }
        f
    }

    /// Restarts the random choices from `seed` (connections accepted from now on), so a
    /// run's `--seed` replays toxicity draws on listeners that started with another seed.
    pub fn reseed(&self, seed: u64) {
        self.shared.seed.store(seed, Ordering::Relaxed);
        self.shared.connections.store(0, Ordering::Relaxed);
    }

    fn record(&self, rule: &ToxicRule, id: NetFaultId, action: &'static str) {
        if let Some((j, node)) = &self.shared.journal {
            j.record(
                Arc::clone(node),
                Kind::Fault,
                format!("network fault {} {action}", rule.toxic.name()),
            )
            .attr("fault", rule.toxic.name())
            .attr("fault_id", id.0.to_string())
            .attr("action", action)
            .attr(
                "stream",
                match rule.stream {
                    Direction::Upstream => "upstream",
                    Direction::Downstream => "downstream",
                },
            )
            .commit();
        }
    }

    /// Adds a rule; it applies to new and open connections.
    pub fn add(&self, rule: ToxicRule) -> NetFaultId {
        let id = NetFaultId(self.shared.rules.next_id());
        self.record(&rule, id, "injected");
        self.shared.rules.push(id.0, rule);
        id
    }

    /// Removes a rule; false if it was not there.
    pub fn remove(&self, id: NetFaultId) -> bool {
        let Some(rule) = self.shared.rules.remove(id.0) else {
            return false;
        };
        self.record(&rule, id, "reverted");
        true
    }

    /// Removes every rule.
    pub fn clear(&self) {
        for (id, _) in self.list() {
            self.remove(id);
        }
    }

    /// The active rules.
    pub fn list(&self) -> Vec<(NetFaultId, ToxicRule)> {
        self.shared
            .rules
            .to_vec()
            .into_iter()
            .map(|(i, r)| (NetFaultId(i), r))
            .collect()
    }

    /// Wraps an accepted connection. Without rules the wrapper only passes data through.
    pub fn wrap(&self, tcp: TcpStream, peer: SocketAddr) -> ToxicStream {
        let n = self.shared.connections.fetch_add(1, Ordering::Relaxed);
        ToxicStream {
            inner: tcp,
            peer,
            faults: self.clone(),
            generation: u64::MAX,
            active: Vec::new(),
            rng: Rng(
                self.shared.seed.load(Ordering::Relaxed) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ),
            decided: Vec::new(),
            read: Side::default(),
            write: Side::default(),
            close_delay: None,
            kill: None,
            dead: None,
        }
    }
}

/// splitmix64: small, seeded, good enough for fault dice.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[base - spread, base + spread]`, at least 0.
    fn around(&mut self, base: u64, spread: u64) -> u64 {
        if spread == 0 {
            return base;
        }
        let off = self.next() % (2 * spread + 1);
        (base + off).saturating_sub(spread)
    }
}

/// Per-direction state.
#[derive(Default)]
struct Side {
    /// Data read from the socket but held back by a delay (read side only).
    held: Vec<u8>,
    held_pos: usize,
    /// A delay that must pass before the next data moves.
    wait: Option<Pin<Box<Sleep>>>,
    /// The pre-write latency for the current write has already been waited out.
    waited: bool,
    bytes: u64,
}

/// How a killed connection ends.
#[derive(Clone, Copy)]
enum Death {
    Closed,
    Reset,
}

/// An accepted connection with the listener's toxics applied.
pub struct ToxicStream {
    inner: TcpStream,
    peer: SocketAddr,
    faults: NetFaults,
    generation: u64,
    /// Rules that hit this connection, as of `generation`.
    active: Vec<(NetFaultId, ToxicRule)>,
    rng: Rng,
    /// Toxicity decisions already made (one per rule and connection).
    decided: Vec<(NetFaultId, bool)>,
    read: Side,
    write: Side,
    close_delay: Option<Pin<Box<Sleep>>>,
    /// When a timeout/reset toxic ends the connection.
    kill: Option<(Pin<Box<Sleep>>, Death)>,
    dead: Option<Death>,
}

impl ToxicStream {
    /// The client address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The socket underneath.
    pub fn get_ref(&self) -> &TcpStream {
        &self.inner
    }

    /// Picks up rule changes (cheap when nothing changed).
    fn refresh(&mut self) {
        let shared = &self.faults.shared;
        if shared.rules.is_empty() {
            if !self.active.is_empty() {
                self.active.clear();
                self.kill = None;
            }
            self.generation = shared.rules.generation();
            return;
        }
        let g = shared.rules.generation();
        if g == self.generation {
            return;
        }
        self.generation = g;
        let rules = shared.rules.snapshot();
        self.active.clear();
        for (id, rule) in rules.iter() {
            let id = &NetFaultId(*id);
            let hit = match self.decided.iter().find(|(i, _)| i == id) {
                Some((_, h)) => *h,
                None => {
                    let h = self.rng.unit() < rule.toxicity;
                    self.decided.push((*id, h));
                    h
                }
            };
            if hit {
                self.active.push((*id, rule.clone()));
            }
        }
        // A connection-ending toxic starts its clock when it starts to apply.
        let ending = self.active.iter().find_map(|(_, r)| match r.toxic {
            Toxic::Timeout { timeout } if timeout > 0 => Some((timeout, Death::Closed)),
            Toxic::ResetPeer { timeout } => Some((timeout, Death::Reset)),
            _ => None,
        });
        self.kill =
            ending.map(|(ms, d)| (Box::pin(tokio::time::sleep(Duration::from_millis(ms))), d));
    }

    fn toxics(&self, dir: Direction) -> impl Iterator<Item = &Toxic> {
        self.active
            .iter()
            .filter(move |(_, r)| r.stream == dir)
            .map(|(_, r)| &r.toxic)
    }

    /// Whether data is frozen in `dir` (a timeout toxic).
    fn frozen(&self, dir: Direction) -> bool {
        self.active.iter().any(|(_, r)| {
            matches!(r.toxic, Toxic::Timeout { .. } | Toxic::ResetPeer { .. })
                && (r.stream == dir || matches!(r.toxic, Toxic::ResetPeer { .. }))
        })
    }

    /// Polls a pending kill; `Some(err)` once the connection is over.
    fn poll_kill(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        if self.dead.is_none()
            && let Some((sleep, death)) = &mut self.kill
            && sleep.as_mut().poll(cx).is_ready()
        {
            let death = *death;
            if let Death::Reset = death {
                // SO_LINGER 0: dropping the socket sends RST.
                #[allow(deprecated)]
                let _ = self.inner.set_linger(Some(Duration::ZERO));
            }
            self.dead = Some(death);
        }
        self.dead.map(|d| match d {
            Death::Closed => io::Error::new(io::ErrorKind::ConnectionAborted, "timeout toxic"),
            Death::Reset => io::Error::new(io::ErrorKind::ConnectionReset, "reset_peer toxic"),
        })
    }

    /// Delay after moving `n` bytes in `dir` (bandwidth, slicer).
    fn post_delay(&mut self, dir: Direction, n: usize) -> Duration {
        let mut d = Duration::ZERO;
        let toxics: Vec<Toxic> = self.toxics(dir).cloned().collect();
        for t in toxics {
            match t {
                Toxic::Bandwidth { rate } if rate > 0 => {
                    d += Duration::from_secs_f64(n as f64 / (rate as f64 * 1000.0));
                }
                Toxic::Slicer { delay, .. } => d += Duration::from_micros(delay),
                _ => {}
            }
        }
        d
    }

    /// Delay before data moves in `dir` (latency).
    fn pre_delay(&mut self, dir: Direction) -> Duration {
        let toxics: Vec<Toxic> = self.toxics(dir).cloned().collect();
        let mut d = Duration::ZERO;
        for t in toxics {
            if let Toxic::Latency { latency, jitter } = t {
                d += Duration::from_millis(self.rng.around(latency, jitter));
            }
        }
        d
    }

    /// Most bytes that may move at once in `dir`; `Some(0)` when the data limit is reached.
    fn cap(&mut self, dir: Direction, wanted: usize) -> Option<usize> {
        let done = match dir {
            Direction::Upstream => self.read.bytes,
            Direction::Downstream => self.write.bytes,
        };
        let toxics: Vec<Toxic> = self.toxics(dir).cloned().collect();
        let mut cap = wanted;
        let mut limited = false;
        for t in toxics {
            match t {
                Toxic::Slicer {
                    average_size,
                    size_variation,
                    ..
                } => {
                    let s = self
                        .rng
                        .around(average_size as u64, size_variation as u64)
                        .max(1);
                    cap = cap.min(s as usize);
                }
                Toxic::LimitData { bytes } => {
                    limited = true;
                    cap = cap.min(bytes.saturating_sub(done) as usize);
                }
                Toxic::Bandwidth { rate: 0 } => return None,
                _ => {}
            }
        }
        if limited && cap == 0 {
            return Some(0);
        }
        Some(cap.max(1).min(wanted.max(1)))
    }
}

fn poll_wait(wait: &mut Option<Pin<Box<Sleep>>>, cx: &mut Context<'_>) -> Poll<()> {
    if let Some(s) = wait {
        ready!(s.as_mut().poll(cx));
        *wait = None;
    }
    Poll::Ready(())
}

impl AsyncRead for ToxicStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.refresh();
        if let Some(e) = this.poll_kill(cx) {
            return Poll::Ready(Err(e));
        }
        if this.active.is_empty() && this.read.held_pos >= this.read.held.len() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        if this.frozen(Direction::Upstream) {
            // Nothing passes until the kill timer (if any) fires.
            return Poll::Pending;
        }
        loop {
            if this.read.held_pos < this.read.held.len() {
                ready!(poll_wait(&mut this.read.wait, cx));
                let avail = this.read.held.len() - this.read.held_pos;
                let n = match this.cap(Direction::Upstream, avail.min(buf.remaining())) {
                    None => return Poll::Pending,
                    Some(0) => return Poll::Ready(Ok(())), // limit reached: EOF
                    Some(n) => n,
                };
                let start = this.read.held_pos;
                buf.put_slice(&this.read.held[start..start + n]);
                this.read.held_pos += n;
                this.read.bytes += n as u64;
                let post = this.post_delay(Direction::Upstream, n);
                if !post.is_zero() {
                    this.read.wait = Some(Box::pin(tokio::time::sleep(post)));
                }
                return Poll::Ready(Ok(()));
            }
            let mut tmp = [0u8; 16 * 1024];
            let mut rb = ReadBuf::new(&mut tmp);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.read.held.clear();
            this.read.held.extend_from_slice(rb.filled());
            this.read.held_pos = 0;
            let pre = this.pre_delay(Direction::Upstream);
            if !pre.is_zero() {
                this.read.wait = Some(Box::pin(tokio::time::sleep(pre)));
            }
        }
    }
}

impl AsyncWrite for ToxicStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.refresh();
        if let Some(e) = this.poll_kill(cx) {
            return Poll::Ready(Err(e));
        }
        if this.active.is_empty() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        if this.frozen(Direction::Downstream) {
            return Poll::Pending;
        }
        // The delay left by the previous write (bandwidth, slicer).
        ready!(poll_wait(&mut this.write.wait, cx));
        if !this.write.waited {
            let pre = this.pre_delay(Direction::Downstream);
            this.write.waited = true;
            if !pre.is_zero() {
                this.write.wait = Some(Box::pin(tokio::time::sleep(pre)));
                ready!(poll_wait(&mut this.write.wait, cx));
            }
        }
        let n = match this.cap(Direction::Downstream, buf.len()) {
            None => return Poll::Pending,
            Some(0) => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "limit_data toxic",
                )));
            }
            Some(n) => n,
        };
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..n]))?;
        this.write.waited = false;
        this.write.bytes += n as u64;
        let post = this.post_delay(Direction::Downstream, n);
        if !post.is_zero() {
            this.write.wait = Some(Box::pin(tokio::time::sleep(post)));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(e) = this.poll_kill(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.refresh();
        if this.close_delay.is_none() {
            let delay: u64 = this
                .active
                .iter()
                .filter_map(|(_, r)| match r.toxic {
                    Toxic::SlowClose { delay } => Some(delay),
                    _ => None,
                })
                .sum();
            if delay > 0 {
                this.close_delay = Some(Box::pin(tokio::time::sleep(Duration::from_millis(delay))));
            }
        }
        if let Some(s) = &mut this.close_delay {
            ready!(s.as_mut().poll(cx));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A listener whose single connection echoes, wrapped in `faults`; returns the client.
    async fn echo(faults: NetFaults) -> TcpStream {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (s, peer) = l.accept().await.unwrap();
            let mut s = faults.wrap(s, peer);
            let mut buf = [0u8; 1024];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = s.shutdown().await;
        });
        TcpStream::connect(addr).await.unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn latency_delays_the_answer() {
        let f = NetFaults::new(1);
        f.add(ToxicRule::new(Toxic::Latency {
            latency: 500,
            jitter: 0,
        }));
        let mut c = echo(f).await;
        let t0 = tokio::time::Instant::now();
        c.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        assert!(t0.elapsed() >= Duration::from_millis(500));
    }

    #[tokio::test]
    async fn limit_data_cuts_the_connection() {
        let f = NetFaults::new(1);
        f.add(ToxicRule::new(Toxic::LimitData { bytes: 3 }));
        let mut c = echo(f).await;
        c.write_all(b"hello").await.unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out).await;
        assert_eq!(out, b"hel");
    }

    #[tokio::test]
    async fn slicer_splits_without_losing_bytes() {
        let f = NetFaults::new(7);
        f.add(ToxicRule::new(Toxic::Slicer {
            average_size: 2,
            size_variation: 1,
            delay: 10,
        }));
        let mut c = echo(f).await;
        c.write_all(b"0123456789").await.unwrap();
        let mut buf = [0u8; 10];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"0123456789");
    }

    #[tokio::test(start_paused = true)]
    async fn reset_peer_resets_open_connections_and_revert_restores_new_ones() {
        let f = NetFaults::new(1);
        let mut c = echo(f.clone()).await;
        c.write_all(b"a").await.unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).await.unwrap();
        // Injected while the connection is open.
        let id = f.add(ToxicRule::new(Toxic::ResetPeer { timeout: 100 }));
        c.write_all(b"b").await.unwrap();
        let r = c.read(&mut b).await;
        assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
        assert!(f.remove(id));
        let mut c = echo(f).await;
        c.write_all(b"c").await.unwrap();
        c.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"c");
    }

    #[tokio::test]
    async fn toxicity_zero_spares_every_connection() {
        let f = NetFaults::new(1);
        f.add(ToxicRule::new(Toxic::LimitData { bytes: 0 }).toxicity(0.0));
        let mut c = echo(f).await;
        c.write_all(b"ok").await.unwrap();
        let mut b = [0u8; 2];
        c.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"ok");
    }

    /// Which of `n` connections a half-toxic `limit_data: 0` cuts.
    async fn cut(f: &NetFaults, n: usize) -> Vec<bool> {
        let mut out = Vec::new();
        for _ in 0..n {
            let mut c = echo(f.clone()).await;
            let _ = c.write_all(b"x").await;
            let mut b = [0u8; 1];
            out.push(!matches!(c.read(&mut b).await, Ok(1)));
        }
        out
    }

    #[tokio::test]
    async fn reseed_replays_the_toxicity_draws() {
        let f = NetFaults::new(1);
        f.add(ToxicRule::new(Toxic::LimitData { bytes: 0 }).toxicity(0.5));
        f.reseed(42);
        let first = cut(&f, 12).await;
        assert!(first.contains(&true) && first.contains(&false), "{first:?}");
        f.reseed(42);
        assert_eq!(cut(&f, 12).await, first);
    }

    #[test]
    fn rules_are_data() {
        let r: ToxicRule = serde_json::from_str(
            r#"{"type":"latency","latency":100,"jitter":10,"stream":"upstream","toxicity":0.5}"#,
        )
        .unwrap();
        assert_eq!(r.stream, Direction::Upstream);
        assert_eq!(
            r.toxic,
            Toxic::Latency {
                latency: 100,
                jitter: 10
            }
        );
        assert!(serde_json::from_str::<ToxicRule>(r#"{"type":"latency","latncy":1}"#).is_err());
    }
}
