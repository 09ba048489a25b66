//! Faults as data: what the server should do wrong, for which names and types.
//!
//! A fault is a plain serde value so scenario files can list them and reports can show them.
//! Injected faults live in a lock-free list (the query path only loads an `Arc`); the most
//! recently injected matching fault wins, and reverting it uncovers the one below.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use bwlab_core::Kind;
use hickory_proto::rr::RecordType;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::DnsError;
use crate::records::parse_record_type;
use crate::server::Ctx;

/// What a faulted query gets instead of its normal answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsFault {
    /// `NXDOMAIN`: the name does not exist (with the zone SOA, so resolvers cache it briefly).
    #[serde(rename = "nxdomain", alias = "nx_domain")]
    NxDomain,
    /// `SERVFAIL`: the server cannot answer right now.
    #[serde(rename = "servfail", alias = "serv_fail")]
    ServFail,
    /// `REFUSED`: the server will not answer this client.
    Refused,
    /// `NOERROR` with an empty answer (NODATA): the name exists but has no such records.
    #[serde(alias = "noanswer", alias = "nodata")]
    NoAnswer,
    /// The normal answer, `ms` milliseconds late (tokio time, so paused-time tests are instant).
    Delay { ms: u64 },
    /// Over UDP: an empty answer with the TC bit set, so the client must retry over TCP.
    /// Over TCP the normal answer is sent.
    Truncate,
    /// No response at all: the client times out.
    Drop,
}

impl fmt::Display for DnsFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NxDomain => f.write_str("nxdomain"),
            Self::ServFail => f.write_str("servfail"),
            Self::Refused => f.write_str("refused"),
            Self::NoAnswer => f.write_str("no_answer"),
            Self::Delay { ms } => write!(f, "delay {ms} ms"),
            Self::Truncate => f.write_str("truncate"),
            Self::Drop => f.write_str("drop"),
        }
    }
}

/// Identifies one injection, for [`Faults::revert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(pub u64);

impl fmt::Display for FaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A fault in config form: `{ name: "*.lab.example", type: "A", fault: nxdomain }`.
///
/// `name` is a pattern: an exact name (case-insensitive, trailing dot optional), `*.zone`
/// for every name *below* `zone` (not `zone` itself), or `*` for every name. A missing
/// `type` means every query type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub name: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub rtype: Option<String>,
    pub fault: DnsFault,
}

/// An injected fault, as [`Faults::list`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActiveFault {
    pub id: FaultId,
    #[serde(flatten)]
    pub rule: FaultRule,
}

/// A compiled name pattern. Names are compared lower-case without the trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NamePattern {
    Any,
    Exact(String),
    /// `".lab.example"` for `*.lab.example`.
    Below(String),
}

impl NamePattern {
    fn parse(pattern: &str) -> Self {
        let p = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
        if p == "*" || p.is_empty() {
            NamePattern::Any
        } else if let Some(rest) = p.strip_prefix("*.") {
            NamePattern::Below(format!(".{rest}"))
        } else {
            NamePattern::Exact(p)
        }
    }

    fn matches(&self, qname: &str) -> bool {
        match self {
            NamePattern::Any => true,
            NamePattern::Exact(n) => n == qname,
            NamePattern::Below(suffix) => {
                qname.len() > suffix.len() && qname.ends_with(suffix.as_str())
            }
        }
    }
}

struct Injected {
    id: FaultId,
    rule: FaultRule,
    pattern: NamePattern,
    rtype: Option<RecordType>,
}

/// The server's fault table. Cloning is cheap; clones share one table.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<FaultsInner>,
}

struct FaultsInner {
    /// Oldest first; lookups scan from the end so the newest injection wins.
    active: ArcSwap<Vec<Arc<Injected>>>,
    next_id: AtomicU64,
    write: Mutex<()>,
    ctx: Ctx,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field("active", &self.list())
            .finish_non_exhaustive()
    }
}

impl Faults {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Self {
            inner: Arc::new(FaultsInner {
                active: ArcSwap::from_pointee(Vec::new()),
                next_id: AtomicU64::new(1),
                write: Mutex::new(()),
                ctx,
            }),
        }
    }

    /// Makes queries for names matching `name_pattern` (and of type `rtype`, or any type when
    /// `None`) fail with `fault` until [`revert`](Self::revert)ed. Journalled as `Kind::Fault`.
    pub fn inject(
        &self,
        name_pattern: &str,
        rtype: Option<RecordType>,
        fault: DnsFault,
    ) -> FaultId {
        let rule = FaultRule {
            name: name_pattern.trim().to_string(),
            rtype: rtype.map(|t| t.to_string()),
            fault,
        };
        self.insert(rule, rtype)
    }

    /// [`inject`](Self::inject) from the config form; fails only on an unknown type name.
    pub fn inject_rule(&self, rule: &FaultRule) -> Result<FaultId, DnsError> {
        let rtype = match rule.rtype.as_deref().map(str::trim) {
            None | Some("" | "*") => None,
            Some(text) => Some(parse_any_type(text)?),
        };
        let rule = FaultRule {
            rtype: rtype.map(|t| t.to_string()),
            ..rule.clone()
        };
        Ok(self.insert(rule, rtype))
    }

    /// Removes one injected fault. Returns false if it was not active (already reverted).
    pub fn revert(&self, id: FaultId) -> bool {
        let removed = {
            let _writer = self.inner.write.lock();
            let current = self.inner.active.load_full();
            let Some(found) = current.iter().find(|f| f.id == id).cloned() else {
                return false;
            };
            let rest: Vec<_> = current.iter().filter(|f| f.id != id).cloned().collect();
            self.inner.active.store(Arc::new(rest));
            found
        };
        let ctx = &self.inner.ctx;
        ctx.journal
            .record(
                ctx.node.clone(),
                Kind::Fault,
                format!("dns revert {id}: {}", describe(&removed.rule)),
            )
            .attr("fault_id", id.0.to_string())
            .attr("fault", removed.rule.fault.to_string())
            .attr("action", "revert")
            .commit();
        true
    }

    /// Reverts every active fault; returns how many there were.
    pub fn clear(&self) -> usize {
        let ids: Vec<FaultId> = self.inner.active.load().iter().map(|f| f.id).collect();
        ids.into_iter().filter(|id| self.revert(*id)).count()
    }

    /// Active faults, oldest first.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.inner
            .active
            .load()
            .iter()
            .map(|f| ActiveFault {
                id: f.id,
                rule: f.rule.clone(),
            })
            .collect()
    }

    /// The newest fault matching a query. `qname` is lower-case without the trailing dot.
    pub(crate) fn matching(&self, qname: &str, qtype: RecordType) -> Option<(FaultId, DnsFault)> {
        let active = self.inner.active.load();
        active
            .iter()
            .rev()
            .find(|f| f.rtype.is_none_or(|t| t == qtype) && f.pattern.matches(qname))
            .map(|f| (f.id, f.rule.fault))
    }

    fn insert(&self, rule: FaultRule, rtype: Option<RecordType>) -> FaultId {
        let id = FaultId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let summary = format!("dns inject {id}: {}", describe(&rule));
        let injected = Arc::new(Injected {
            id,
            pattern: NamePattern::parse(&rule.name),
            rtype,
            rule,
        });
        {
            let _writer = self.inner.write.lock();
            let mut next = Vec::clone(&self.inner.active.load_full());
            next.push(injected.clone());
            self.inner.active.store(Arc::new(next));
        }
        let ctx = &self.inner.ctx;
        ctx.journal
            .record(ctx.node.clone(), Kind::Fault, summary)
            .attr("fault_id", id.0.to_string())
            .attr("fault", injected.rule.fault.to_string())
            .attr("pattern", injected.rule.name.clone())
            .attr(
                "qtype",
                injected.rule.rtype.clone().unwrap_or_else(|| "*".into()),
            )
            .attr("action", "inject")
            .commit();
        id
    }
}

fn describe(rule: &FaultRule) -> String {
    format!(
        "{} on {} {}",
        rule.fault,
        rule.rtype.as_deref().unwrap_or("*"),
        rule.name
    )
}

/// Faults may target any query type, including ones the server never stores (SOA, NS, ANY…).
fn parse_any_type(text: &str) -> Result<RecordType, DnsError> {
    let upper = text.trim().to_ascii_uppercase();
    parse_record_type(&upper).or_else(|_| {
        upper
            .parse::<RecordType>()
            .map_err(|_| DnsError::UnsupportedType(text.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exact_below_and_any() {
        let exact = NamePattern::parse("XSP1.Lab.Example.");
        assert!(exact.matches("xsp1.lab.example"));
        assert!(!exact.matches("xsp2.lab.example"));
        let below = NamePattern::parse("*.lab.example");
        assert!(below.matches("xsp1.lab.example"));
        assert!(below.matches("_xsi-client._tcp.lab.example"));
        assert!(!below.matches("lab.example"));
        assert!(!below.matches("evillab.example"));
        assert!(NamePattern::parse("*").matches("anything.at.all"));
    }

    #[test]
    fn fault_serde_shapes_are_scenario_friendly() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"name":"*.lab.example","type":"A","fault":"nxdomain"}"#)
                .unwrap();
        assert_eq!(rule.fault, DnsFault::NxDomain);
        let delay: DnsFault = serde_json::from_str(r#"{"delay":{"ms":250}}"#).unwrap();
        assert_eq!(delay, DnsFault::Delay { ms: 250 });
        assert_eq!(
            serde_json::to_string(&DnsFault::NoAnswer).unwrap(),
            r#""no_answer""#
        );
        assert_eq!(
            serde_json::to_string(&DnsFault::ServFail).unwrap(),
            r#""servfail""#
        );
    }
}
