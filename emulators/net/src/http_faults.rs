//! The HTTP fault layer: per-request faults in WireMock's vocabulary, chosen by route.
//!
//! Where the transport layer ([`crate::faults`]) breaks bytes on a TCP connection, this
//! layer breaks *requests*: a server asks its [`HttpFaults`] about each request before
//! routing it ([`HttpFaults::check`]) and, when a rule applies, answers with a status or a
//! redirect, waits before serving, dribbles the real body in chunks, or breaks the
//! connection the request came on (reset, empty response, malformed chunk, random data).
//!
//! Rules are checked in insertion order; the first whose [`RouteMatch`] matches the
//! request *and* whose `probability` draw hits applies (so `probability` makes a rule match
//! only sometimes, and a later rule may catch the rest). Draws come from a seeded
//! generator ([`HttpFaults::new`], [`HttpFaults::reseed`]) so a run replays.
//!
//! Connection-breaking faults need the raw connection under HTTP: servers wrap the stream
//! hyper serves with [`trap`], hand the returned [`ConnTrap`] to the request handler, and
//! [`ConnTrap::arm`] it with the hit's [`ConnFault`]; the handler then returns any response
//! (it is never sent) and the wrapper carries the fault out on the connection instead.
//!
//! Without rules, [`HttpFaults::check`] is one atomic load.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bwlab_core::{Journal, Kind};

use crate::rules::RuleList;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Which requests a rule applies to. Every field is optional; an empty match takes every
/// request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteMatch {
    /// HTTP method, compared case-insensitively (any when `None`).
    pub method: Option<String>,
    /// Path glob (without the query): `*` stands for any run of characters, `/` included,
    /// so `/a/*` is a prefix and `/a/*/b` has a wildcard segment. Compared
    /// ASCII-case-insensitively, as the XSP routes paths (any when `None`).
    pub path: Option<String>,
    /// The user the request is about, when the server knows it (the XSP: the `user/{id}`
    /// segment of the path); compared case-insensitively. A rule with a user never matches
    /// a request without one.
    pub user: Option<String>,
}

impl RouteMatch {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests with this method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Requests whose path matches this glob.
    pub fn path(mut self, glob: impl Into<String>) -> Self {
        self.path = Some(glob.into());
        self
    }

    /// Requests about this user.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Whether `req` is one of these requests.
    pub fn matches(&self, req: &HttpRequestInfo<'_>) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(req.method)
        {
            return false;
        }
        if let Some(p) = &self.path
            && !glob_match(p, req.path)
        {
            return false;
        }
        if let Some(u) = &self.user
            && !req.user.is_some_and(|r| r.eq_ignore_ascii_case(u))
        {
            return false;
        }
        true
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters (possibly empty)
/// and everything else compares ASCII-case-insensitively.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    // Backtrack point: the last `*` seen and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A response delay distribution (WireMock's `fixedDelay`, `uniform`, `lognormal`).
#[derive(Clone, Debug, PartialEq)]
pub enum DelayDist {
    /// Always this long.
    Fixed(Duration),
    /// Uniform between `lower` and `upper`.
    Uniform {
        /// Shortest delay.
        lower: Duration,
        /// Longest delay.
        upper: Duration,
    },
    /// Log-normal with this median and shape (`sigma` > 0; larger means a longer tail).
    Lognormal {
        /// Median delay.
        median: Duration,
        /// Shape.
        sigma: f64,
    },
}

/// What happens to a request a rule applies to.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpFaultAction {
    /// WireMock `CONNECTION_RESET_BY_PEER`: the TCP connection is reset (RST), nothing sent.
    Reset,
    /// WireMock `EMPTY_RESPONSE`: the connection closes without an answer.
    EmptyResponse,
    /// WireMock `MALFORMED_RESPONSE_CHUNK`: a valid status line and headers announcing
    /// chunked encoding, then a garbled chunk, then the connection closes.
    MalformedChunk,
    /// WireMock `RANDOM_DATA_THEN_CLOSE`: random bytes (seeded), then the connection closes.
    RandomDataThenClose,
    /// The request is served normally after this delay (tokio time).
    Delay(DelayDist),
    /// The real response, its body cut into `chunks` pieces sent with chunked transfer
    /// encoding, the last one `total` after the head (the pieces evenly spaced).
    ChunkedDribble {
        /// Number of pieces (at least 1).
        chunks: u32,
        /// Time over which they are spread.
        total: Duration,
    },
    /// Answer with this status instead of routing: `body` if given, else the server's usual
    /// error document (an Xsi `ErrorInfo` on the XSP); `Retry-After` (whole seconds,
    /// rounded up) when set.
    Status {
        /// HTTP status, 100–599.
        status: u16,
        /// Body sent instead of the server's error document.
        body: Option<String>,
        /// `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Answer with a redirect to `location`.
    Redirect {
        /// The `Location` header.
        location: String,
        /// A 3xx status (302 is WireMock's and the scenario format's default).
        status: u16,
    },
}

impl HttpFaultAction {
    /// The fault's name in the journal (`fault` attribute); the scenario format's kind
    /// names, WireMock's fault names in lower case.
    pub fn name(&self) -> &'static str {
        match self {
            HttpFaultAction::Reset => "connection_reset_by_peer",
            HttpFaultAction::EmptyResponse => "empty_response",
            HttpFaultAction::MalformedChunk => "malformed_response_chunk",
            HttpFaultAction::RandomDataThenClose => "random_data_then_close",
            HttpFaultAction::Delay(_) => "response_delay",
            HttpFaultAction::ChunkedDribble { .. } => "chunked_dribble",
            HttpFaultAction::Status { .. } => "http_status",
            HttpFaultAction::Redirect { .. } => "http_redirect",
        }
    }

    /// Whether the fault breaks the connection instead of answering.
    pub fn breaks_connection(&self) -> bool {
        matches!(
            self,
            HttpFaultAction::Reset
                | HttpFaultAction::EmptyResponse
                | HttpFaultAction::MalformedChunk
                | HttpFaultAction::RandomDataThenClose
        )
    }
}

/// One rule: which requests, how often, what happens.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpFaultRule {
    /// Which requests.
    pub route: RouteMatch,
    /// Share of matching requests affected, 0–1 (1 = every one).
    pub probability: f64,
    /// What happens.
    pub action: HttpFaultAction,
}

impl HttpFaultRule {
    /// A rule hitting every request.
    pub fn new(action: HttpFaultAction) -> Self {
        HttpFaultRule {
            route: RouteMatch::any(),
            probability: 1.0,
            action,
        }
    }

    /// The same rule for these requests only.
    pub fn route(mut self, route: RouteMatch) -> Self {
        self.route = route;
        self
    }

    /// The same rule hitting only this share of matching requests.
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self
    }
}

/// Handle of an added rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpFaultId(pub u64);

/// What a server tells [`HttpFaults::check`] about a request.
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpRequestInfo<'a> {
    /// Method (`GET`).
    pub method: &'a str,
    /// Path without the query.
    pub path: &'a str,
    /// The user the request is about, if the server knows.
    pub user: Option<&'a str>,
    /// The host that was asked (journalled when set).
    pub host: Option<&'a str>,
    /// The client (journalled when set).
    pub peer: Option<std::net::SocketAddr>,
}

/// A rule that applied to a request, with its random draws made.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpFaultHit {
    /// The rule.
    pub id: HttpFaultId,
    /// What to do.
    pub action: HttpFaultAction,
    /// For [`HttpFaultAction::Delay`]: the drawn delay (zero otherwise).
    pub delay: Duration,
    /// For [`HttpFaultAction::RandomDataThenClose`]: the drawn bytes (empty otherwise).
    pub random: Bytes,
}

impl HttpFaultHit {
    /// The connection fault to [`ConnTrap::arm`], for the four faults that break the
    /// connection.
    pub fn conn_fault(&self) -> Option<ConnFault> {
        Some(ConnFault(match &self.action {
            HttpFaultAction::Reset => ConnFaultKind::Reset,
            HttpFaultAction::EmptyResponse => ConnFaultKind::SendThenClose(Bytes::new()),
            HttpFaultAction::MalformedChunk => {
                ConnFaultKind::SendThenClose(Bytes::from_static(MALFORMED_CHUNK))
            }
            HttpFaultAction::RandomDataThenClose => {
                ConnFaultKind::SendThenClose(self.random.clone())
            }
            _ => return None,
        }))
    }

    /// The `Retry-After` value of a status fault (whole seconds, rounded up).
    pub fn retry_after_header(&self) -> Option<String> {
        match &self.action {
            HttpFaultAction::Status {
                retry_after: Some(d),
                ..
            } => {
                let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
                Some(secs.to_string())
            }
            _ => None,
        }
    }
}

/// What [`HttpFaultAction::MalformedChunk`] sends: a valid head announcing chunked
/// encoding, then a chunk whose size line is not hexadecimal.
pub const MALFORMED_CHUNK: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/plain\r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
lorem ipsum\r\nZZ\r\n\x00\x01\x02\r\n";

struct Shared {
    rules: RuleList<HttpFaultRule>,
    /// Splitmix64 state: every draw takes the next value, lock-free.
    rng: AtomicU64,
    journal: Option<(Journal, Arc<str>)>,
}

/// The HTTP fault rules of one node or host. Cheap to clone; clones share the rules.
#[derive(Clone)]
pub struct HttpFaults {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HttpFaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFaults")
            .field("rules", &self.rules())
            .finish()
    }
}

impl Default for HttpFaults {
    fn default() -> Self {
        Self::new(0x5eed)
    }
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl HttpFaults {
    /// An empty set; `seed` drives every random choice (probabilities, random delays and
    /// random data).
    pub fn new(seed: u64) -> Self {
        HttpFaults {
            shared: Arc::new(Shared {
                rules: RuleList::new(),
                rng: AtomicU64::new(seed),
                journal: None,
            }),
        }
    }

    /// An empty set that journals additions, removals and every applied fault as `node`.
    pub fn with_journal(seed: u64, journal: Journal, node: impl Into<Arc<str>>) -> Self {
        let mut f = Self::new(seed);
        if let Some(s) = Arc::get_mut(&mut f.shared) {
            s.journal = Some((journal, node.into()));
        }
        f
    }

    /// Restarts the random sequence from `seed` (e.g. a scenario's seed), so the draws that
    /// follow replay.
    pub fn reseed(&self, seed: u64) {
        self.shared.rng.store(seed, Ordering::Relaxed);
    }

    fn next_u64(&self) -> u64 {
        mix(self
            .shared
            .rng
            .fetch_add(GOLDEN, Ordering::Relaxed)
            .wrapping_add(GOLDEN))
    }

    /// Uniform in [0, 1).
    fn unit(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn record_change(&self, rule: &HttpFaultRule, id: HttpFaultId, action: &'static str) {
        if let Some((j, node)) = &self.shared.journal {
            let mut rec = j
                .record(
                    Arc::clone(node),
                    Kind::Fault,
                    format!("HTTP fault {} {action}", rule.action.name()),
                )
                .attr("fault", rule.action.name())
                .attr("fault_id", id.0.to_string())
                .attr("action", action)
                .attr("probability", rule.probability.to_string());
            if let Some(m) = &rule.route.method {
                rec = rec.attr("route_method", m.clone());
            }
            if let Some(p) = &rule.route.path {
                rec = rec.attr("route_path", p.clone());
            }
            if let Some(u) = &rule.route.user {
                rec = rec.attr("route_user", u.clone());
            }
            rec.commit();
        }
    }

    /// Adds a rule after the existing ones; it applies from the next request on.
    pub fn add(&self, rule: HttpFaultRule) -> HttpFaultId {
        let id = HttpFaultId(self.shared.rules.next_id());
        self.record_change(&rule, id, "injected");
        self.shared.rules.push(id.0, rule);
        id
    }

    /// Removes a rule; false if it was not there.
    pub fn remove(&self, id: HttpFaultId) -> bool {
        let Some(rule) = self.shared.rules.remove(id.0) else {
            return false;
        };
        self.record_change(&rule, id, "reverted");
        true
    }

    /// Removes every rule.
    pub fn clear(&self) {
        for (id, _) in self.rules() {
            self.remove(id);
        }
    }

    /// True while there are no rules (one atomic load: servers skip all fault work).
    pub fn is_empty(&self) -> bool {
        self.shared.rules.is_empty()
    }

    /// The rules, in the order they are checked.
    pub fn rules(&self) -> Vec<(HttpFaultId, HttpFaultRule)> {
        self.shared
            .rules
            .to_vec()
            .into_iter()
            .map(|(i, r)| (HttpFaultId(i), r))
            .collect()
    }

    /// The fault that applies to `req`, if any: the first rule (in insertion order) whose
    /// route matches and whose probability draw hits. The hit is journalled (`Kind::Fault`,
    /// `action` = `applied`, with `fault`, `fault_id`, `method`, `path` and the node).
    pub fn check(&self, req: &HttpRequestInfo<'_>) -> Option<HttpFaultHit> {
        if self.shared.rules.is_empty() {
            return None;
        }
        let rules = self.shared.rules.snapshot();
        let (id, rule) = rules.iter().find(|(_, r)| {
            r.route.matches(req)
                && (r.probability >= 1.0 || (r.probability > 0.0 && self.unit() < r.probability))
        })?;
        let delay = match &rule.action {
            HttpFaultAction::Delay(d) => self.draw_delay(d),
            _ => Duration::ZERO,
        };
        let random = match rule.action {
            HttpFaultAction::RandomDataThenClose => self.random_bytes(),
            _ => Bytes::new(),
        };
        let hit = HttpFaultHit {
            id: HttpFaultId(*id),
            action: rule.action.clone(),
            delay,
            random,
        };
        self.record_hit(&hit, req);
        Some(hit)
    }

    fn record_hit(&self, hit: &HttpFaultHit, req: &HttpRequestInfo<'_>) {
        let Some((j, node)) = &self.shared.journal else {
            return;
        };
        let name = hit.action.name();
        let mut rec = j
            .record(
                Arc::clone(node),
                Kind::Fault,
                format!("HTTP fault {name} on {} {}", req.method, req.path),
            )
            .attr("fault", name)
            .attr("fault_id", hit.id.0.to_string())
            .attr("action", "applied")
            .attr("method", req.method.to_owned())
            .attr("path", req.path.to_owned());
        if let Some(p) = req.peer {
            rec = rec.peer(p);
        }
        if let Some(h) = req.host {
            rec = rec.attr("host", h.to_owned());
        }
        if let Some(u) = req.user {
            rec = rec.attr("user", u.to_owned());
        }
        match &hit.action {
            HttpFaultAction::Delay(_) => {
                rec = rec.attr("delay_ms", hit.delay.as_millis().to_string());
            }
            HttpFaultAction::Status { status, .. } | HttpFaultAction::Redirect { status, .. } => {
                rec = rec.attr("status", status.to_string());
            }
            HttpFaultAction::ChunkedDribble { chunks, total } => {
                rec = rec
                    .attr("chunks", chunks.to_string())
                    .attr("total_ms", total.as_millis().to_string());
            }
            _ => {}
        }
        rec.commit();
    }

    fn draw_delay(&self, d: &DelayDist) -> Duration {
        match *d {
            DelayDist::Fixed(d) => d,
            DelayDist::Uniform { lower, upper } => {
                let (lo, hi) = if lower <= upper {
                    (lower, upper)
                } else {
                    (upper, lower)
                };
                lo + (hi - lo).mul_f64(self.unit())
            }
            DelayDist::Lognormal { median, sigma } => {
                // Box–Muller: one standard normal from two uniforms.
                let u1 = self.unit().max(f64::MIN_POSITIVE);
                let u2 = self.unit();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let f = (sigma.max(0.0) * z).exp();
                // Capped at an hour: a long tail, not a hang.
                Duration::from_secs_f64((median.as_secs_f64() * f).min(3600.0))
            }
        }
    }

    fn random_bytes(&self) -> Bytes {
        let n = 64 + (self.next_u64() % 449) as usize;
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        Bytes::from(out)
    }
}

/// A connection-breaking fault, ready for [`ConnTrap::arm`].
#[derive(Clone, Debug, PartialEq)]
pub struct ConnFault(ConnFaultKind);

#[derive(Clone, Debug, PartialEq)]
enum ConnFaultKind {
    /// SO_LINGER 0, then drop: RST.
    Reset,
    /// Send these bytes (possibly none), flush, close.
    SendThenClose(Bytes),
}

/// Sets SO_LINGER 0 on `tcp`, so that dropping it sends a TCP RST instead of a FIN.
pub fn reset_on_drop(tcp: &tokio::net::TcpStream) {
    #[allow(deprecated)]
    let _ = tcp.set_linger(Some(Duration::ZERO));
}

#[derive(Default)]
struct TrapState {
    armed: AtomicBool,
    fault: Mutex<Option<ConnFault>>,
}

/// The request side of a [`TrappedIo`]: arming it makes the connection carry out a
/// [`ConnFault`] the next time the server writes. One per connection; cheap to clone.
#[derive(Clone, Default)]
pub struct ConnTrap(Arc<TrapState>);

impl std::fmt::Debug for ConnTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ConnTrap")
            .field(&self.0.armed.load(Ordering::Relaxed))
            .finish()
    }
}

impl ConnTrap {
    /// From the next write on, the connection carries out `fault` instead of sending what
    /// the server writes (the response to the current request is never sent).
    pub fn arm(&self, fault: ConnFault) {
        *self.0.fault.lock() = Some(fault);
        self.0.armed.store(true, Ordering::Release);
    }

    fn take(&self) -> Option<ConnFault> {
        if !self.0.armed.load(Ordering::Acquire) {
            return None;
        }
        self.0.armed.store(false, Ordering::Release);
        self.0.fault.lock().take()
    }
}

/// Wraps the stream a server speaks HTTP on (above TLS, so what a fault sends is
/// encrypted like any response). `reset` must make dropping `io` send a TCP RST (see
/// [`reset_on_drop`]); it is called for [`HttpFaultAction::Reset`].
pub fn trap<I>(io: I, reset: fn(&I)) -> (TrappedIo<I>, ConnTrap) {
    let t = ConnTrap::default();
    (
        TrappedIo {
            inner: io,
            trap: t.clone(),
            reset,
            phase: Phase::Normal,
        },
        t,
    )
}

enum Phase {
    Normal,
    Sending(Bytes),
    Flushing,
    Closing,
    Dead(io::ErrorKind),
}

/// A stream that passes everything through until its [`ConnTrap`] is armed; see [`trap`].
pub struct TrappedIo<I> {
    inner: I,
    trap: ConnTrap,
    reset: fn(&I),
    phase: Phase,
}

impl<I> TrappedIo<I> {
    /// The stream underneath.
    pub fn get_ref(&self) -> &I {
        &self.inner
    }
}

impl<I: AsyncWrite + Unpin> TrappedIo<I> {
    /// Drives an armed fault to its end; always ends in an error for the writer, which makes
    /// the server drop the connection.
    fn poll_fault(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            match &mut self.phase {
                Phase::Normal => return Poll::Ready(io::ErrorKind::Other.into()),
                Phase::Sending(b) => {
                    if b.is_empty() {
                        self.phase = Phase::Flushing;
                        continue;
                    }
                    match ready!(Pin::new(&mut self.inner).poll_write(cx, b)) {
                        Ok(0) | Err(_) => self.phase = Phase::Dead(io::ErrorKind::BrokenPipe),
                        Ok(n) => {
                            let _ = b.split_to(n);
                        }
                    }
                }
                Phase::Flushing => {
                    let _ = ready!(Pin::new(&mut self.inner).poll_flush(cx));
                    self.phase = Phase::Closing;
                }
                Phase::Closing => {
                    let _ = ready!(Pin::new(&mut self.inner).poll_shutdown(cx));
                    self.phase = Phase::Dead(io::ErrorKind::BrokenPipe);
                }
                Phase::Dead(kind) => {
                    return Poll::Ready(io::Error::new(*kind, "HTTP fault closed the connection"));
                }
            }
        }
    }

    /// Starts a fault if the trap was armed; true if the connection is now faulty.
    fn fire(&mut self) -> bool {
        if matches!(self.phase, Phase::Normal) {
            match self.trap.take() {
                None => return false,
                Some(ConnFault(ConnFaultKind::Reset)) => {
                    (self.reset)(&self.inner);
                    self.phase = Phase::Dead(io::ErrorKind::ConnectionReset);
                }
                Some(ConnFault(ConnFaultKind::SendThenClose(b))) => {
                    self.phase = Phase::Sending(b);
                }
            }
        }
        true
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for TrappedIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Phase::Dead(kind) = this.phase {
            return Poll::Ready(Err(kind.into()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for TrappedIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if !this.fire() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        Poll::Ready(Err(ready!(this.poll_fault(cx))))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.fire() {
            return Pin::new(&mut this.inner).poll_flush(cx);
        }
        Poll::Ready(Err(ready!(this.poll_fault(cx))))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.fire() {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        }
        Poll::Ready(Err(ready!(this.poll_fault(cx))))
    }
}

/// A response body sent in `chunks` evenly spaced pieces (chunked transfer encoding: the
/// size is never announced), the last one `total` after the body starts.
pub struct DribbleBody {
    pieces: VecDeque<Bytes>,
    interval: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for DribbleBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DribbleBody")
            .field("pieces", &self.pieces.len())
            .field("interval", &self.interval)
            .finish()
    }
}

impl DribbleBody {
    /// `body` cut into `chunks` pieces of (nearly) equal size — fewer when the body is
    /// shorter than `chunks` bytes — one every `total / chunks`.
    pub fn new(body: Bytes, chunks: u32, total: Duration) -> Self {
        let chunks = chunks.max(1);
        let n = (chunks as usize).min(body.len()).max(1);
        let mut pieces = VecDeque::with_capacity(n);
        let mut rest = body;
        for i in 0..n {
            let left = n - i;
            let take = rest.len().div_ceil(left);
            pieces.push_back(rest.split_to(take));
        }
        pieces.retain(|p| !p.is_empty());
        DribbleBody {
            pieces,
            interval: total / chunks,
            sleep: None,
        }
    }

    /// Pieces still to send.
    pub fn remaining(&self) -> usize {
        self.pieces.len()
    }
}

impl Body for DribbleBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.pieces.is_empty() {
            return Poll::Ready(None);
        }
        let interval = this.interval;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        ready!(sleep.as_mut().poll(cx));
        this.sleep = None;
        Poll::Ready(this.pieces.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown on purpose: hyper then sends every piece as its own chunk.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(method: &'a str, path: &'a str) -> HttpRequestInfo<'a> {
        HttpRequestInfo {
            method,
            path,
            ..Default::default()
        }
    }

    #[test]
    fn glob_matches_prefixes_middles_and_ignores_ascii_case() {
        assert!(glob_match("/a/b", "/a/b"));
        assert!(!glob_match("/a/b", "/a/bc"));
        assert!(glob_match("/a/*", "/a/"));
        assert!(glob_match("/a/*", "/a/b/c"));
        assert!(!glob_match("/a/*", "/a"));
        assert!(glob_match("*", ""));
        assert!(glob_match("/authservice/*", "/authService/token"));
        assert!(glob_match(
            "/com.broadsoft.xsi-actions/v2.0/user/*/profile",
            "/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/profile"
        ));
        assert!(!glob_match(
            "/com.broadsoft.xsi-actions/v2.0/user/*/profile",
            "/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/profile/fac"
        ));
        assert!(glob_match("*/heartbeat", "/x/channel/1/heartbeat"));
        assert!(glob_match("/a*b*c", "/aXbYbZc"));
        assert!(!glob_match("/a*b*c", "/aXbYbZ"));
    }

    #[test]
    fn route_match_checks_method_path_and_user() {
        let r = RouteMatch::any().method("get").path("/x/*");
        assert!(r.matches(&req("GET", "/x/1")));
        assert!(!r.matches(&req("PUT", "/x/1")));
        assert!(!r.matches(&req("GET", "/y/1")));
        assert!(RouteMatch::any().matches(&req("DELETE", "/")));
        let u = RouteMatch::any().user("Alice@lab.example");
        assert!(!u.matches(&req("GET", "/x")));
        assert!(u.matches(&HttpRequestInfo {
            user: Some("alice@lab.example"),
            ..req("GET", "/x")
        }));
    }

    #[test]
    fn first_match_wins_and_probability_falls_through() {
        let f = HttpFaults::new(1);
        let status = |s| HttpFaultAction::Status {
            status: s,
            body: None,
            retry_after: None,
        };
        let a = f.add(HttpFaultRule::new(status(500)).route(RouteMatch::any().path("/a/*")));
        let b = f.add(HttpFaultRule::new(status(503)));
        assert_eq!(f.check(&req("GET", "/a/1")).unwrap().id, a);
        assert_eq!(f.check(&req("GET", "/b")).unwrap().id, b);
        assert!(f.remove(a));
        assert!(!f.remove(a));
        assert_eq!(f.check(&req("GET", "/a/1")).unwrap().id, b);
        f.clear();
        assert!(f.check(&req("GET", "/a/1")).is_none());
        // A rule that never hits lets the next one apply.
        f.add(HttpFaultRule::new(status(500)).probability(0.0));
        let c = f.add(HttpFaultRule::new(status(502)));
        assert_eq!(f.check(&req("GET", "/")).unwrap().id, c);
    }

    #[test]
    fn draws_replay_with_the_seed() {
        let run = |seed| {
            let f = HttpFaults::new(seed);
            f.add(HttpFaultRule::new(HttpFaultAction::EmptyResponse).probability(0.3));
            f.add(HttpFaultRule::new(HttpFaultAction::Delay(
                DelayDist::Lognormal {
                    median: Duration::from_millis(400),
                    sigma: 0.5,
                },
            )));
            (0..200)
                .map(|_| f.check(&req("GET", "/")).unwrap())
                .map(|h| (h.action.name(), h.delay))
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let empties = a.iter().filter(|(n, _)| *n == "empty_response").count();
        assert!((30..90).contains(&empties), "{empties}");
        // Reseeding restarts the sequence.
        let f = HttpFaults::new(1);
        f.add(HttpFaultRule::new(HttpFaultAction::RandomDataThenClose));
        f.reseed(9);
        let x = f.check(&req("GET", "/")).unwrap().random;
        f.reseed(9);
        assert_eq!(x, f.check(&req("GET", "/")).unwrap().random);
        assert!(x.len() >= 64);
    }

    #[test]
    fn uniform_delay_stays_in_bounds() {
        let f = HttpFaults::new(3);
        let (lo, hi) = (Duration::from_millis(100), Duration::from_secs(3));
        f.add(HttpFaultRule::new(HttpFaultAction::Delay(
            DelayDist::Uniform {
                lower: lo,
                upper: hi,
            },
        )));
        for _ in 0..100 {
            let d = f.check(&req("GET", "/")).unwrap().delay;
            assert!(d >= lo && d <= hi, "{d:?}");
        }
    }

    #[test]
    fn hits_and_changes_are_journalled() {
        let clock = bwlab_core::LabClock::frozen_at(time::OffsetDateTime::UNIX_EPOCH);
        let j = Journal::new(clock);
        let f = HttpFaults::with_journal(1, j.clone(), "xsp1");
        let id = f
            .add(HttpFaultRule::new(HttpFaultAction::Reset).route(RouteMatch::any().method("GET")));
        assert!(f.check(&req("POST", "/p")).is_none());
        assert!(f.check(&req("GET", "/p")).is_some());
        f.remove(id);
        let all = j.query(&bwlab_core::Filter::kind(Kind::Fault));
        let actions: Vec<_> = all.iter().map(|e| e.attr("action").unwrap()).collect();
        assert_eq!(actions, ["injected", "applied", "reverted"]);
        let hit = &all[1];
        assert_eq!(&*hit.node, "xsp1");
        assert_eq!(hit.attr("fault"), Some("connection_reset_by_peer"));
        assert_eq!(hit.attr("method"), Some("GET"));
        assert_eq!(hit.attr("path"), Some("/p"));
    }

    #[test]
    fn retry_after_rounds_up() {
        let hit = HttpFaultHit {
            id: HttpFaultId(1),
            action: HttpFaultAction::Status {
                status: 503,
                body: None,
                retry_after: Some(Duration::from_millis(1500)),
            },
            delay: Duration::ZERO,
            random: Bytes::new(),
        };
        assert_eq!(hit.retry_after_header().as_deref(), Some("2"));
        assert!(hit.conn_fault().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn dribble_spreads_the_body() {
        use http_body_util::BodyExt;
        let mut b = DribbleBody::new(Bytes::from_static(b"0123456789"), 4, Duration::from_secs(4));
        let t0 = tokio::time::Instant::now();
        let mut got = Vec::new();
        while let Some(f) = b.frame().await {
            let d = f.unwrap().into_data().unwrap();
            got.push((d, t0.elapsed()));
        }
        let parts: Vec<&[u8]> = got.iter().map(|(d, _)| &d[..]).collect();
        assert_eq!(parts, [&b"012"[..], b"345", b"67", b"89"]);
        assert_eq!(got[3].1, Duration::from_secs(4));
        assert_eq!(got[0].1, Duration::from_secs(1));
    }

    #[tokio::test]
    async fn trapped_io_passes_through_then_breaks() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (a, mut b) = tokio::io::duplex(1024);
        let (mut io, t) = trap(a, |_| {});
        io.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        let hit = HttpFaultHit {
            id: HttpFaultId(1),
            action: HttpFaultAction::MalformedChunk,
            delay: Duration::ZERO,
            random: Bytes::new(),
        };
        t.arm(hit.conn_fault().unwrap());
        assert!(io.write_all(b"HTTP/1.1 200 OK\r\n").await.is_err());
        drop(io);
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, MALFORMED_CHUNK);
    }
}
