//! Faults as data: one rule names where (`on`, `route`), how often (`probability`) and
//! exactly one fault kind. Rules form first-match lists.
//!
//! The kinds come in families:
//! - **transport** (Toxiproxy's vocabulary, under every listener; `bwlab_net::faults::Toxic`,
//!   see [`FaultRule::toxiproxy_json`]): `latency`, `bandwidth`, `slow_close`, `timeout`,
//!   `reset_peer`, `slicer`, `limit_data`, with `stream` and `toxicity`;
//! - **HTTP** (WireMock's vocabulary, per route): `http_fault`, `response_delay`,
//!   `chunked_dribble`, plus `http_status` and `http_redirect`;
//! - **Xsi-Events**, owned by the XSP (`bwlab_xsp::XspEventFault`): `drop_heartbeats`,
//!   `stall_stream`, `kill_channel`, `event_queue_size`; and by the AS
//!   (`bwlab_appserver::EventFault`): `lose_events`, `delay_events`, `duplicate_events`,
//!   `reorder_events`;
//! - **DNS** (`bwlab_dns::DnsFault`): `dns`;
//! - **TLS and certificates** (`bwlab_pki::BadCert`): `bad_certificate`, `tls`;
//! - **node**: `clock_skew`; node down/up/restart are timeline actions (`node:`);
//! - **configuration drift** between nodes of a farm: `config_drift`.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::value::LabDuration;

/// `deserialize_with` for kind fields: a key that is present means the kind is chosen, even
/// with nothing after it (`drop_heartbeats:` = every channel).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Which family a fault kind belongs to (decides which common keys apply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultFamily {
    /// Toxiproxy-style, on a TCP/TLS stream: `stream` and `toxicity` apply.
    Transport,
    /// Per HTTP request: `route` applies.
    Http,
    /// Xsi-Events channels and AS event delivery.
    Events,
    /// The lab DNS server.
    Dns,
    /// Certificates and TLS versions.
    Tls,
    /// A node's state (clock).
    Node,
    /// Configuration that should be identical across a farm and is not.
    Config,
}

macro_rules! fault_rule {
    ( $( $(#[$doc:meta])* $field:ident : $ty:ty => $family:ident ),* $(,)? ) => {
        /// One fault rule: where, how often, and exactly one fault kind.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "snake_case")]
        pub struct FaultRule {
            /// Name used by `revert:` (default: the kind's name).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub id: Option<String>,
            /// Where: a node or load balancer name, `dns`, or `sut` (faults of the SUT's
            /// own side, such as the client certificate it is given). Default: every node
            /// the fault applies to.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub on: Option<String>,
            /// HTTP faults only: which requests.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub route: Option<RouteMatch>,
            /// Share of matching requests, events or queries affected, 0–1 (default 1).
            /// Draws come from the scenario's seeded random source.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub probability: Option<f64>,
            /// Transport faults only: which direction (default `downstream`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub stream: Option<Stream>,
            /// Transport faults only: share of connections affected, 0–1 (default 1).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub toxicity: Option<f64>,
            $(
                $(#[$doc])*
                #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
                pub $field: Option<$ty>,
            )*
        }

        impl FaultRule {
            /// Every fault kind with its family, in documentation order.
            pub const KINDS: &'static [(&'static str, FaultFamily)] =
                &[ $( (stringify!($field), FaultFamily::$family), )* ];

            /// The kinds set in this rule (a valid rule has exactly one).
            pub fn kinds(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $( if self.$field.is_some() { out.push(stringify!($field)); } )*
                out
            }
        }
    };
}

fault_rule! {
    /// Toxiproxy `latency`: delay data by `latency` ± `jitter`.
    latency: Latency => Transport,
    /// Toxiproxy `bandwidth`: limit to `rate` KB/s.
    bandwidth: Bandwidth => Transport,
    /// Toxiproxy `slow_close`: delay the TCP close by `delay`.
    slow_close: SlowClose => Transport,
    /// Toxiproxy `timeout`: stop all data, close after `timeout` (0s: never).
    timeout: Timeout => Transport,
    /// Toxiproxy `reset_peer`: reset the connection (RST) after `timeout`.
    reset_peer: ResetPeer => Transport,
    /// Toxiproxy `slicer`: cut data into small pieces with a delay between them.
    slicer: Slicer => Transport,
    /// Toxiproxy `limit_data`: close the connection after `bytes`.
    limit_data: LimitData => Transport,
    /// WireMock fault: what goes wrong instead of a response.
    http_fault: WireMockFault => Http,
    /// WireMock delay: fixed, uniform or lognormal, before the response.
    response_delay: ResponseDelay => Http,
    /// WireMock chunked dribble: the body in `chunks` pieces spread over `total`.
    chunked_dribble: ChunkedDribble => Http,
    /// Answer with this HTTP status (an Xsi `ErrorInfo` body unless `body` is given).
    http_status: HttpStatus => Http,
    /// Answer with a redirect (Webex never follows them).
    http_redirect: HttpRedirect => Http,
    /// Heartbeats answered 200 but without effect (`XspEventFault::DropHeartbeats`).
    drop_heartbeats: ChannelScope => Events,
    /// Nothing reaches the event stream until reverted (`XspEventFault::StallStream`).
    stall_stream: ChannelScope => Events,
    /// Kill channels once: with a `reason` the client gets a `ChannelTerminatedEvent`,
    /// without one the stream just closes.
    kill_channel: KillChannel => Events,
    /// Override the node's `eventQueueSize`.
    event_queue_size: EventQueueSize => Events,
    /// The AS loses matching events (`EventFault::Lose`).
    lose_events: EventScope => Events,
    /// The AS delays matching events (`EventFault::Delay`).
    delay_events: DelayEvents => Events,
    /// The AS delivers matching events twice (`EventFault::Duplicate`).
    duplicate_events: EventScope => Events,
    /// The AS holds matching events back so later ones overtake them (`EventFault::Reorder`).
    reorder_events: ReorderEvents => Events,
    /// The lab DNS server answers matching queries wrongly (`DnsFault`).
    dns: DnsFaultSpec => Dns,
    /// The node presents (or, `on: sut`, the SUT is given) a bad certificate (`BadCert`).
    bad_certificate: BadCertificate => Tls,
    /// Restrict the TLS versions a node accepts or (`on: sut`) the SUT offers.
    tls: TlsVersions => Tls,
    /// The node's wall clock is off (no NTP).
    clock_skew: ClockSkew => Node,
    /// The node's configuration differs from its farm.
    config_drift: ConfigDrift => Config,
}

impl FaultRule {
    /// A transport rule as Toxiproxy writes a toxic: `{"type": "latency", "latency": 300,
    /// "jitter": 50, "stream": "downstream", "toxicity": 1.0}`, durations in milliseconds
    /// (the slicer's `delay` in microseconds). This is also what `bwlab_net`'s toxic rules
    /// read. `None` for other fault families.
    pub fn toxiproxy_json(&self) -> Option<serde_json::Value> {
        use serde_json::json;
        let ms = |d: &LabDuration| u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX);
        let mut v = if let Some(l) = &self.latency {
            json!({"type": "latency", "latency": ms(&l.latency), "jitter": l.jitter.as_ref().map_or(0, ms)})
        } else if let Some(b) = &self.bandwidth {
            json!({"type": "bandwidth", "rate": b.rate})
        } else if let Some(s) = &self.slow_close {
            json!({"type": "slow_close", "delay": ms(&s.delay)})
        } else if let Some(t) = &self.timeout {
            json!({"type": "timeout", "timeout": ms(&t.timeout)})
        } else if let Some(r) = &self.reset_peer {
            json!({"type": "reset_peer", "timeout": r.timeout.as_ref().map_or(0, ms)})
        } else if let Some(s) = &self.slicer {
            let us = u64::try_from(s.delay.0.as_micros()).unwrap_or(u64::MAX);
            json!({"type": "slicer", "average_size": s.average_size, "size_variation": s.size_variation, "delay": us})
        } else if let Some(l) = &self.limit_data {
            json!({"type": "limit_data", "bytes": l.bytes})
        } else {
            return None;
        };
        v["stream"] = json!(self.stream.unwrap_or(Stream::Downstream));
        v["toxicity"] = json!(self.toxicity.unwrap_or(1.0));
        Some(v)
    }
}

/// Toxiproxy stream direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Client → server.
    Upstream,
    /// Server → client.
    Downstream,
}

/// Which HTTP requests an HTTP fault applies to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RouteMatch {
    /// HTTP method (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path, exact or ending in `*` for a prefix (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `latency: {latency: 500ms, jitter: 50ms}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Added delay.
    pub latency: LabDuration,
    /// Random variation, ±.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<LabDuration>,
}

/// `bandwidth: {rate: 64}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bandwidth {
    /// KB per second.
    pub rate: u64,
}

/// `slow_close: {delay: 5s}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlowClose {
    /// Delay before the close goes through.
    pub delay: LabDuration,
}

/// `timeout: {timeout: 0s}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeout {
    /// When to close the connection after data stopped; 0s keeps it open forever.
    pub timeout: LabDuration,
}

/// `reset_peer: {timeout: 1s}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPeer {
    /// Delay before the reset (default 0s: at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<LabDuration>,
}

/// `slicer: {average_size: 64, size_variation: 32, delay: 10ms}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slicer {
    /// Average piece size in bytes.
    pub average_size: u64,
    /// Variation of the piece size in bytes (less than `average_size`).
    #[serde(default)]
    pub size_variation: u64,
    /// Delay between pieces.
    pub delay: LabDuration,
}

/// `limit_data: {bytes: 1024}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitData {
    /// Bytes let through before the connection is closed.
    pub bytes: u64,
}

/// WireMock's fault names, spelled as WireMock spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WireMockFault {
    /// Close the connection with a TCP reset.
    #[serde(rename = "CONNECTION_RESET_BY_PEER")]
    ConnectionResetByPeer,
    /// Close the connection without sending anything.
    #[serde(rename = "EMPTY_RESPONSE")]
    EmptyResponse,
    /// Send a valid status line and headers, then a garbled chunk.
    #[serde(rename = "MALFORMED_RESPONSE_CHUNK")]
    MalformedResponseChunk,
    /// Send random bytes, then close.
    #[serde(rename = "RANDOM_DATA_THEN_CLOSE")]
    RandomDataThenClose,
}

/// WireMock delay distributions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseDelay {
    /// `response_delay: {fixed: 2s}`
    Fixed(LabDuration),
    /// `response_delay: {uniform: {lower: 1s, upper: 3s}}`
    Uniform {
        /// Shortest delay.
        lower: LabDuration,
        /// Longest delay.
        upper: LabDuration,
    },
    /// `response_delay: {lognormal: {median: 1s, sigma: 0.4}}`
    Lognormal {
        /// Median delay.
        median: LabDuration,
        /// Shape (greater than 0; larger means a longer tail).
        sigma: f64,
    },
}

/// `chunked_dribble: {chunks: 5, total: 2s}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChunkedDribble {
    /// Number of pieces (at least 1).
    pub chunks: u32,
    /// Time over which they are spread.
    pub total: LabDuration,
}

/// `http_status: {status: 503}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpStatus {
    /// Status code, 100–599.
    pub status: u16,
    /// Body sent instead of an `ErrorInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<LabDuration>,
}

/// `http_redirect: {to: xsp1, status: 302}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRedirect {
    /// A node name (redirect to its own URL) or a full URL.
    pub to: String,
    /// A 3xx status (default 302).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// Which event channels (all when empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelScope {
    /// Channels of this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// One channel by ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// `kill_channel: {user: alice, reason: ExplicitDelete}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillChannel {
    /// Channels of this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// One channel by ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// A `ChannelTerminatedEvent` reason (`ExplicitDelete`, `Expired`, `UserDeleted`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `event_queue_size: {size: 0}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventQueueSize {
    /// The new limit.
    pub size: u32,
}

/// Which events (all when empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventScope {
    /// Events about this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Events of this package (`Basic Call`, `Do Not Disturb`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// `delay_events: {delay: 3s, user: alice}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayEvents {
    /// How long.
    pub delay: LabDuration,
    /// Events about this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Events of this package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// `reorder_events: {hold: 2s}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderEvents {
    /// How long an event is held back.
    pub hold: LabDuration,
    /// Events about this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Events of this package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// `dns: {name: _xsi-client._tcp.lab.example, type: SRV, reply: nxdomain}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsFaultSpec {
    /// The name (or, with a leading `*.`, the names below it); all names when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Record type (`A`, `AAAA`, `SRV`, `NAPTR`…); all types when absent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// What the server does instead of answering.
    pub reply: DnsReply,
}

/// What a faulted DNS query gets (names as in `bwlab_dns::DnsFault`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DnsReply {
    /// NXDOMAIN.
    Nxdomain,
    /// SERVFAIL.
    Servfail,
    /// REFUSED.
    Refused,
    /// NOERROR without answers (NODATA).
    NoAnswer,
    /// The right answer, late.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// UDP answer with the TC bit: the client must retry over TCP.
    Truncate,
    /// No answer at all.
    Drop,
}

/// Bad certificates (names as in `bwlab_pki::BadCert`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BadCertificate {
    /// Validity ended before the lab's "now".
    Expired,
    /// Validity starts after the lab's "now".
    NotYetValid,
    /// Self-signed.
    SelfSigned,
    /// Issued for another host name.
    WrongHost,
    /// The intermediate CA is not sent.
    MissingIntermediate,
    /// Client certificate without the BroadWorks EKU OID (`on: sut`).
    ClientNoEkuOid,
    /// Client certificate with a subjectAltName (`on: sut`).
    ClientWithSan,
    /// 1024-bit RSA key.
    #[serde(rename = "rsa-1024")]
    Rsa1024,
}

impl BadCertificate {
    /// Whether this is a client certificate (given to the SUT, `on: sut`).
    pub fn is_client(self) -> bool {
        matches!(self, Self::ClientNoEkuOid | Self::ClientWithSan)
    }
}

/// TLS protocol versions.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum TlsVersion {
    /// TLS 1.0.
    #[serde(rename = "1.0")]
    Tls10,
    /// TLS 1.1.
    #[serde(rename = "1.1")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "1.3")]
    Tls13,
}

/// `tls: {max_version: "1.1"}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsVersions {
    /// Lowest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
    /// Highest version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<TlsVersion>,
}

/// `clock_skew: {ahead: 10m}` or `{behind: 10m}`
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockSkew {
    /// The node's clock runs ahead by this much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead: Option<LabDuration>,
    /// The node's clock runs behind by this much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind: Option<LabDuration>,
}

/// Configuration drift of one node against its farm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfigDrift {
    /// The node has its own AuthService RSA key pair: tokens it signs fail elsewhere.
    NonSharedAuthserviceKeys,
    /// The node uses another `callControlApplicationName`.
    CallControlApplicationName(String),
    /// The node's Xsi containers lack the AuthService URL: it cannot validate tokens.
    MissingAuthserviceUrl,
    /// The node's trust store lacks an anchor.
    MissingTrustAnchor(TrustAnchor),
}

/// Trust anchors a node needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TrustAnchor {
    /// The Webex CA that signs the cloud's client certificates (AuthService mTLS).
    WebexCa,
    /// IdenTrust (IdBroker's chain).
    Identrust,
    /// Go Daddy G2 (IdBroker's chain).
    GodaddyG2,
}
