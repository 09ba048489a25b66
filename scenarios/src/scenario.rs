//! The top of a scenario file: name, profiles, topology, subscribers, SUT.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::de::STR_OR_STRUCT;
use crate::expect::Expectation;
use crate::fault::FaultRule;
use crate::timeline::Step;
use crate::value::LabDuration;

/// A scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
#[schemars(title = "bwlab scenario")]
pub struct Scenario {
    /// One line shown in progress output and reports.
    pub name: String,
    /// What the scenario shows and why (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Release profiles to run against (default: r22, r23, r24).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// A built-in topology name, or an explicit topology (default: `single-xsp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<TopologySpec>,
    /// Users created in the lab, inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribers: Vec<Subscriber>,
    /// A lab data file (bwlab-model format, path relative to the scenario file) and system
    /// settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSpec>,
    /// The system under test.
    pub sut: Sut,
    /// Seed for every random choice (fault probabilities, random balancing); `--seed`
    /// overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Fault rules active from the start (first match wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRule>,
    /// What happens when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<Step>,
    /// Checked when the timeline is over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expectation>,
}

impl Scenario {
    /// Top-level keys, in documentation order.
    pub const KEYS: &'static [&'static str] = &[
        "name",
        "description",
        "profiles",
        "topology",
        "subscribers",
        "data",
        "sut",
        "seed",
        "faults",
        "timeline",
        "expect",
    ];
}

// ---------------------------------------------------------------------------------------------
// Topology
// ---------------------------------------------------------------------------------------------

/// The built-in topologies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BuiltinTopology {
    /// One XSP (`xsp1`), no load balancer.
    SingleXsp,
    /// One farm (`xsp1`, `xsp2`); each node has a TLS interface and an mTLS interface for
    /// CTI.
    Option1,
    /// Two farms: `xsp1`, `xsp2` serve TLS only (Xsi, AuthService, DMS); `xsp-mtls1`,
    /// `xsp-mtls2` serve only mTLS (CTI and the mTLS AuthService).
    Option2,
    /// Site A: `lb-site-a` in front of `xsp1`, `xsp2`; site B: `lb-site-b` in front of
    /// `xsp3`, `xsp4`; the cloud's A record lists both LBs, the App's SRV records point at
    /// per-site names.
    DualSite,
    /// `xsp1`, `xsp2` published directly: round-robin A record for the cloud, prioritised
    /// SRV records for the App.
    InternetFacing,
}

impl BuiltinTopology {
    /// Every built-in, with its name.
    pub const ALL: [(BuiltinTopology, &'static str); 5] = [
        (BuiltinTopology::SingleXsp, "single-xsp"),
        (BuiltinTopology::Option1, "option1"),
        (BuiltinTopology::Option2, "option2"),
        (BuiltinTopology::DualSite, "dual-site"),
        (BuiltinTopology::InternetFacing, "internet-facing"),
    ];

    /// The name used in files.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, n)| *n)
            .unwrap_or("single-xsp")
    }

    /// Looks a name up.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }

    /// The topology spelled out: its sites, farms, load balancers (DNS records are the
    /// runner's conventions and are not listed).
    pub fn expand(self) -> ExplicitTopology {
        let farm = |name: &str, site: Option<&str>, nodes: &[&str]| Farm {
            name: name.into(),
            site: site.map(Into::into),
            nodes: nodes.iter().map(|n| (*n).into()).collect(),
            mtls: false,
        };
        let lb = |name: &str, site: &str, farm: &str| LoadBalancer {
            name: name.into(),
            site: Some(site.into()),
            farm: farm.into(),
            mode: LbMode::TlsTerminating,
            balancing: Balancing::RoundRobin,
            cookie_affinity: true,
            health_check: None,
            misconfigurations: Vec::new(),
        };
        let mut t = ExplicitTopology::default();
        match self {
            BuiltinTopology::SingleXsp => t.farms.push(farm("webex", None, &["xsp1"])),
            BuiltinTopology::Option1 => t.farms.push(farm("webex", None, &["xsp1", "xsp2"])),
            BuiltinTopology::Option2 => {
                t.farms.push(farm("webex", None, &["xsp1", "xsp2"]));
                t.farms.push(Farm {
                    mtls: true,
                    ..farm("xsp-mtls", None, &["xsp-mtls1", "xsp-mtls2"])
                });
            }
            BuiltinTopology::DualSite => {
                t.sites = vec!["site-a".into(), "site-b".into()];
                t.farms
                    .push(farm("farm-a", Some("site-a"), &["xsp1", "xsp2"]));
                t.farms
                    .push(farm("farm-b", Some("site-b"), &["xsp3", "xsp4"]));
                t.load_balancers.push(lb("lb-site-a", "site-a", "farm-a"));
                t.load_balancers.push(lb("lb-site-b", "site-b", "farm-b"));
            }
            BuiltinTopology::InternetFacing => t.farms.push(farm("webex", None, &["xsp1", "xsp2"])),
        }
        t
    }
}

/// `topology:` — a built-in name or an explicit topology.
#[derive(Clone, Debug, PartialEq)]
pub enum TopologySpec {
    /// `topology: dual-site`
    Builtin(BuiltinTopology),
    /// `topology: {farms: …, load_balancers: …}`
    Explicit(ExplicitTopology),
}

impl TopologySpec {
    /// The topology spelled out.
    pub fn expand(&self) -> ExplicitTopology {
        match self {
            TopologySpec::Builtin(b) => b.expand(),
            TopologySpec::Explicit(e) => e.clone(),
        }
    }
}

impl Serialize for TopologySpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TopologySpec::Builtin(b) => s.serialize_str(b.name()),
            TopologySpec::Explicit(e) => e.serialize(s),
        }
    }
}

/// Names a struct's keys for [`STR_OR_STRUCT`] deserialization.
macro_rules! str_or_struct {
    ($ty:ty, $inner:ty, $keys:expr, $expecting:literal, |$text:ident| $from_str:expr, |$v:ident| $from_struct:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, $text: &str) -> Result<$ty, E> {
                        $from_str
                    }
                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                        // The tree deserializer already knows the keys (the outer
                        // `deserialize_struct` call named them), so unknown keys are
                        // reported at the key, with a hint.
                        let $v = <$inner>::deserialize(de::value::MapAccessDeserializer::new(map))?;
                        Ok($from_struct)
                    }
                }
                d.deserialize_struct(STR_OR_STRUCT, $keys, V)
            }
        }
    };
}
pub(crate) use str_or_struct;

str_or_struct!(
    TopologySpec,
    ExplicitTopology,
    ExplicitTopology::KEYS,
    "a built-in topology name or an explicit topology",
    |text| match BuiltinTopology::from_name(text) {
        Some(b) => Ok(TopologySpec::Builtin(b)),
        None => {
            let names: Vec<&str> = BuiltinTopology::ALL.iter().map(|(_, n)| *n).collect();
            Err(E::custom(format!(
                "unknown built-in topology `{text}`\nhint: {}",
                crate::de::hint_for(text, &names).unwrap_or_default()
            )))
        }
    },
    |v| TopologySpec::Explicit(v)
);

impl JsonSchema for TopologySpec {
    fn schema_name() -> Cow<'static, str> {
        "Topology".into()
    }

    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let builtin = g.subschema_for::<BuiltinTopology>();
        let explicit = g.subschema_for::<ExplicitTopology>();
        json_schema!({
            "description": "A built-in topology name, or an explicit topology.",
            "anyOf": [builtin, explicit]
        })
    }
}

/// An explicit topology: sites, farms of XSP nodes, load balancers, other nodes, extra DNS
/// records. The lab's DNS server, Application Server and cloud fakes always exist.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ExplicitTopology {
    /// Site names (for grouping farms and load balancers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
    /// XSP|ADP farms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub farms: Vec<Farm>,
    /// Load balancers, each in front of one farm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancer>,
    /// Nodes outside farms (an NPS, a second AS…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSpec>,
    /// DNS records added to (or replacing) the lab's conventional ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<DnsRecord>,
}

impl ExplicitTopology {
    /// Keys of the explicit form.
    pub const KEYS: &'static [&'static str] = &["sites", "farms", "load_balancers", "nodes", "dns"];
}

/// A farm of XSP|ADP nodes with the same applications and configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Farm {
    /// Farm name.
    pub name: String,
    /// The site it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Node names (`xsp1`, `xsp2`…).
    pub nodes: Vec<String>,
    /// A CTI farm whose interface requires client certificates (option 2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mtls: bool,
}

/// A load balancer in front of a farm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct LoadBalancer {
    /// LB name (also its DNS name in the lab zone).
    pub name: String,
    /// The site it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The farm behind it.
    pub farm: String,
    /// TLS handling.
    #[serde(default)]
    pub mode: LbMode,
    /// How a backend is picked for a new client.
    #[serde(default)]
    pub balancing: Balancing,
    /// Route by the XSP's session cookie once the client has one (session persistence).
    #[serde(default = "yes")]
    pub cookie_affinity: bool,
    /// Backend health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Mistakes from the deployment guides, on purpose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub misconfigurations: Vec<LbMisconfiguration>,
}

fn yes() -> bool {
    true
}

/// TLS handling of a load balancer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LbMode {
    /// Reverse TLS proxy: terminates TLS and re-encrypts to the XSP (recommended).
    #[default]
    TlsTerminating,
    /// Forwards the TLS stream untouched (no cookie affinity possible).
    PassThrough,
}

/// Backend choice for a new client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Balancing {
    /// In turn.
    #[default]
    RoundRobin,
    /// Seeded random.
    Random,
}

/// Health checks of a load balancer's backends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct HealthCheck {
    /// Time between checks.
    pub interval: LabDuration,
    /// HTTP path probed (default: the Xsi-Actions root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Load-balancer mistakes the guides warn about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LbMisconfiguration {
    /// Answers the first request with an HTTP redirect to a backend instead of proxying.
    Redirect,
    /// Ignores the session cookie: every request may land on another XSP.
    NoAffinity,
}

/// A node outside the farms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct NodeSpec {
    /// Node name.
    pub name: String,
    /// What it is.
    pub role: NodeRole,
    /// The site it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// Roles of extra nodes (names as in the lab's address plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// An XSP|ADP outside any farm.
    Xsp,
    /// Application Server.
    As,
    /// Network Server.
    Ns,
    /// Profile Server.
    Ps,
    /// Notification Push Server.
    Nps,
    /// A fake Webex cloud service.
    Cloud,
}

/// An extra DNS record. Exactly one of `a`, `srv`, `cname`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct DnsRecord {
    /// Owner name (fully qualified, or relative to the lab zone).
    pub name: String,
    /// A records: node names (their lab addresses) or literal IPv4 addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<Vec<String>>,
    /// SRV records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srv: Option<Vec<SrvTarget>>,
    /// A CNAME to another name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Time to live in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

/// One SRV target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SrvTarget {
    /// Target: a node name or a host name.
    pub target: String,
    /// Lower is preferred.
    #[serde(default)]
    pub priority: u16,
    /// Share among equal priorities.
    #[serde(default)]
    pub weight: u16,
    /// Port (default 443).
    #[serde(default = "https_port")]
    pub port: u16,
}

fn https_port() -> u16 {
    443
}

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/// An inline user: the common fields of a lab-data user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Subscriber {
    /// BroadWorks user ID (`alice@lab.example`); `alice` refers to it elsewhere.
    pub user: String,
    /// Password.
    pub password: String,
    /// E.164 number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Days until the password expires (negative: expired that many days ago).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_expires_in_days: Option<i64>,
    /// Services assigned (lab-data service names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

/// `data:` — a lab data file and system settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct DataSpec {
    /// A lab data file (bwlab-model format), relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// System-wide settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemSettings>,
}

/// System-wide settings of the lab (the lab-data `system:` section).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SystemSettings {
    /// Refuse logins with an expired password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_password_change_on_expiry: Option<bool>,
    /// Days before expiry from which logins carry a warning (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_warning_days: Option<u32>,
    /// Failed logins before lockout (0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout_threshold: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// SUT
// ---------------------------------------------------------------------------------------------

/// The system under test: exactly one of `reference`, `command`, `url`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Sut {
    /// A built-in client implementing the documented Webex behaviours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceClient>,
    /// A process started by the runner, with the lab's DNS server, CA bundle, URLs and
    /// credentials in its environment; its output goes into the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<SutCommand>,
    /// An already running component, reached at this URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The user the SUT signs in as (default: the first subscriber).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Webex-side feature flags (e.g. `w4bwks-password-expiry-fail-login`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flags: BTreeMap<String, bool>,
}

/// Built-in reference clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceClient {
    /// The Webex App: SRV discovery once at sign-in, priority then weight, cookie affinity,
    /// channel re-initialised after two consecutive heartbeat failures, no fail-back.
    WebexApp,
    /// A Webex cloud microservice: first IP of the A record, 2 s timeout, three tries,
    /// blocked-IP list with expiry, random pick when all are blocked.
    WebexCloud,
}

/// A SUT started as a process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SutCommand {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Extra environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}
