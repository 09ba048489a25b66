//! The record store: zones and record sets, changeable at run time.
//!
//! Queries read an immutable [`Snapshot`] through an [`ArcSwap`], so the hot path takes no
//! lock at all. Writers serialise on a small mutex, copy the (lab-sized) map, change the copy
//! and swap it in; a query in flight keeps answering from the snapshot it loaded.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arc_swap::ArcSwap;
use bwlab_core::Kind;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NAPTR, NS, SOA, SRV, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::config::RecordConfig;
use crate::error::DnsError;
use crate::server::Ctx;

/// Record TTL when none is given: short, because lab records change under running clients.
pub const DEFAULT_TTL: u32 = 60;
/// Negative-caching TTL (SOA minimum) when none is given: 0, so a reverted fault or a newly
/// added record is seen on the very next query even by a caching resolver.
pub const DEFAULT_NEGATIVE_TTL: u32 = 0;

/// One SRV target (RFC 2782).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Host name of the target; `"."` means "service decidedly not available here".
    pub target: String,
}

impl Srv {
    pub fn new(priority: u16, weight: u16, port: u16, target: impl Into<String>) -> Self {
        Self {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }
}

/// One NAPTR record (RFC 3403), e.g. the RoomOS `"s" "SIPS+D2T"` pointer to `_sip._tls`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Naptr {
    pub order: u16,
    pub preference: u16,
    #[serde(default)]
    pub flags: String,
    #[serde(default)]
    pub services: String,
    #[serde(default)]
    pub regexp: String,
    /// Next name to look up; `"."` when a regexp is used instead.
    #[serde(default = "root")]
    pub replacement: String,
}

fn root() -> String {
    ".".to_string()
}

/// The data of one record. Names inside (CNAME, SRV and NAPTR targets) are host names with or
/// without the trailing dot; they are stored lower-case without it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Srv(Srv),
    Naptr(Naptr),
    /// One TXT record; text longer than 255 bytes is split into several character-strings.
    Txt(String),
}

impl RecordData {
    pub fn srv(priority: u16, weight: u16, port: u16, target: impl Into<String>) -> Self {
        Self::Srv(Srv::new(priority, weight, port, target))
    }

    pub fn cname(target: impl Into<String>) -> Self {
        Self::Cname(target.into())
    }

    pub fn txt(text: impl Into<String>) -> Self {
        Self::Txt(text.into())
    }

    /// The NAPTR a RoomOS device follows to `_sip._tls.<domain>` (flag `s`, service `SIPS+D2T`).
    pub fn naptr_sip_tls(order: u16, preference: u16, domain: &str) -> Self {
        Self::Naptr(Naptr {
            order,
            preference,
            flags: "s".into(),
            services: "SIPS+D2T".into(),
            regexp: String::new(),
            replacement: crate::names::sip_tls(domain),
        })
    }

    /// The DNS type this value belongs to.
    pub fn record_type(&self) -> RecordType {
        match self {
            Self::A(_) => RecordType::A,
            Self::Aaaa(_) => RecordType::AAAA,
            Self::Cname(_) => RecordType::CNAME,
            Self::Srv(_) => RecordType::SRV,
            Self::Naptr(_) => RecordType::NAPTR,
            Self::Txt(_) => RecordType::TXT,
        }
    }

    /// Zone-file style text, as journal summaries and `dig +short` show it.
    pub fn presentation(&self) -> String {
        match self {
            Self::A(ip) => ip.to_string(),
            Self::Aaaa(ip) => ip.to_string(),
            Self::Cname(t) => fqdn_text(t),
            Self::Srv(s) => format!(
                "{} {} {} {}",
                s.priority,
                s.weight,
                s.port,
                fqdn_text(&s.target)
            ),
            Self::Naptr(n) => format!(
                "{} {} {:?} {:?} {:?} {}",
                n.order,
                n.preference,
                n.flags,
                n.services,
                n.regexp,
                fqdn_text(&n.replacement)
            ),
            Self::Txt(t) => format!("{t:?}"),
        }
    }

    /// Checks the value and returns it with its names normalised, plus its wire form.
    fn normalise(&self, owner: &str) -> Result<(RecordData, RData), DnsError> {
        let bad = |reason: String| DnsError::InvalidValue {
            name: owner.to_string(),
            rtype: self.record_type().to_string(),
            reason,
        };
        let char_string = |field: &str, s: &str| {
            if s.len() > 255 {
                Err(bad(format!("{field} is longer than 255 bytes")))
            } else {
                Ok(s.as_bytes().to_vec().into_boxed_slice())
            }
        };
        Ok(match self {
            Self::A(ip) => (self.clone(), RData::A(A(*ip))),
            Self::Aaaa(ip) => (self.clone(), RData::AAAA(AAAA(*ip))),
            Self::Cname(t) => {
                let (text, name) = parse_target(t).map_err(|e| bad(e.to_string()))?;
                (Self::Cname(text), RData::CNAME(CNAME(name)))
            }
            Self::Srv(s) => {
                let (text, name) = parse_target(&s.target).map_err(|e| bad(e.to_string()))?;
                (
                    Self::Srv(Srv {
                        target: text,
                        ..s.clone()
                    }),
                    RData::SRV(SRV::new(s.priority, s.weight, s.port, name)),
                )
            }
            Self::Naptr(n) => {
                let (text, name) = parse_target(&n.replacement).map_err(|e| bad(e.to_string()))?;
                let rdata = NAPTR::new(
                    n.order,
                    n.preference,
                    char_string("flags", &n.flags)?,
                    char_string("services", &n.services)?,
                    char_string("regexp", &n.regexp)?,
                    name,
                );
                (
                    Self::Naptr(Naptr {
                        replacement: text,
                        ..n.clone()
                    }),
                    RData::NAPTR(rdata),
                )
            }
            Self::Txt(t) => (self.clone(), RData::TXT(TXT::new(split_txt(t)))),
        })
    }
}

impl From<Ipv4Addr> for RecordData {
    fn from(ip: Ipv4Addr) -> Self {
        Self::A(ip)
    }
}

impl From<Ipv6Addr> for RecordData {
    fn from(ip: Ipv6Addr) -> Self {
        Self::Aaaa(ip)
    }
}

impl From<IpAddr> for RecordData {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::A(v4),
            IpAddr::V6(v6) => Self::Aaaa(v6),
        }
    }
}

impl From<Srv> for RecordData {
    fn from(srv: Srv) -> Self {
        Self::Srv(srv)
    }
}

impl From<Naptr> for RecordData {
    fn from(naptr: Naptr) -> Self {
        Self::Naptr(naptr)
    }
}

/// TXT character-strings are at most 255 bytes; cut on character boundaries.
fn split_txt(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if current.len() + c.len_utf8() > 255 {
            parts.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

fn fqdn_text(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// Parses a host name the way the lab writes them: case-insensitive, trailing dot optional,
/// underscores allowed (`_xsi-client._tcp…`). The root name is rejected: nothing lives there.
pub(crate) fn parse_name(text: &str) -> Result<Name, DnsError> {
    let invalid = |reason: &str| DnsError::InvalidName {
        name: text.to_string(),
        reason: reason.to_string(),
    };
    let t = text.trim();
    if t.is_empty() || t == "." {
        return Err(invalid("empty name"));
    }
    if !t.is_ascii() {
        return Err(invalid("only ASCII names are supported"));
    }
    let mut name = Name::from_ascii(t).map_err(|e| invalid(&e.to_string()))?;
    name.set_fqdn(true);
    Ok(name.to_lowercase())
}

/// Like [`parse_name`] but also accepts `"."`, which SRV and NAPTR use to mean "nothing".
fn parse_target(text: &str) -> Result<(String, Name), DnsError> {
    if text.trim() == "." {
        return Ok((".".to_string(), Name::root()));
    }
    let name = parse_name(text)?;
    Ok((name_text(&name), name))
}

/// `xsp1.lab.example` for the name `xsp1.lab.example.`: how names appear in journal attributes.
pub(crate) fn name_text(name: &Name) -> String {
    let s = name.to_ascii();
    match s.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_ascii_lowercase(),
        _ => s.to_ascii_lowercase(),
    }
}

/// Parses a record type name (`a`, `AAAA`, `srv`…) into one the server can store.
pub fn parse_record_type(text: &str) -> Result<RecordType, DnsError> {
    let upper = text.trim().to_ascii_uppercase();
    match upper.parse::<RecordType>() {
        Ok(
            t @ (RecordType::A
            | RecordType::AAAA
            | RecordType::CNAME
            | RecordType::SRV
            | RecordType::NAPTR
            | RecordType::TXT),
        ) => Ok(t),
        _ => Err(DnsError::UnsupportedType(text.to_string())),
    }
}

/// One record set: all records of one type at one name, in their configured order.
#[derive(Debug)]
pub(crate) struct RrSet {
    pub(crate) name: String,
    pub(crate) rtype: RecordType,
    pub(crate) ttl: u32,
    pub(crate) rotate: bool,
    pub(crate) values: Vec<RecordData>,
    records: Vec<Record>,
    /// Queries answered so far; with `rotate` the answer starts at `cursor % len`. Shared
    /// across copy-on-write updates of the same set so rotation does not restart.
    cursor: Arc<AtomicUsize>,
}

impl RrSet {
    /// The records in answer order (rotated one further per call when rotation is on).
    pub(crate) fn answer(&self) -> Vec<Record> {
        let len = self.records.len();
        let start = if self.rotate && len > 1 {
            self.cursor.fetch_add(1, Ordering::Relaxed) % len
        } else {
            0
        };
        (0..len)
            .map(|i| self.records[(start + i) % len].clone())
            .collect()
    }

    /// The records in configured order, without counting as a query.
    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    fn to_config(&self) -> RecordConfig {
        RecordConfig::from_values(
            &self.name,
            self.rtype,
            Some(self.ttl),
            self.rotate,
            &self.values,
        )
    }
}

/// A lab zone and its synthesised SOA and NS records.
#[derive(Debug)]
pub(crate) struct ZoneData {
    pub(crate) apex: LowerName,
    pub(crate) name: String,
    pub(crate) soa: Record,
    pub(crate) ns: Vec<Record>,
}

/// An immutable view of every zone and record, as one query sees it.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Most specific (most labels) first, so the first match is the right zone.
    zones: Vec<Arc<ZoneData>>,
    names: HashMap<LowerName, Vec<Arc<RrSet>>>,
    /// Every name that owns records, plus its ancestors down to the zone apex (empty
    /// non-terminals such as `_tcp.lab.example` answer NODATA, not NXDOMAIN).
    existing: HashSet<LowerName>,
    serial: u32,
}

impl Snapshot {
    pub(crate) fn zone_for(&self, name: &LowerName) -> Option<&Arc<ZoneData>> {
        self.zones.iter().find(|z| z.apex.zone_of(name))
    }

    pub(crate) fn set(&self, name: &LowerName, rtype: RecordType) -> Option<&Arc<RrSet>> {
        self.names
            .get(name)
            .and_then(|sets| sets.iter().find(|s| s.rtype == rtype))
    }

    pub(crate) fn sets_at(&self, name: &LowerName) -> &[Arc<RrSet>] {
        self.names.get(name).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn exists(&self, name: &LowerName) -> bool {
        self.existing.contains(name) || self.zones.iter().any(|z| &z.apex == name)
    }
}

/// Settings fixed at start that shape synthesised records.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ttls {
    pub(crate) ttl: u32,
    pub(crate) negative_ttl: u32,
}

/// Run-time access to the server's zones and records. Cloning is cheap; clones (and the
/// [`DnsHandle`](crate::DnsHandle) they came from) share one store, and every change is
/// visible to the next query.
#[derive(Clone)]
pub struct Records {
    inner: Arc<RecordsInner>,
}

struct RecordsInner {
    snapshot: ArcSwap<Snapshot>,
    /// Serialises writers so concurrent copy-on-write updates do not lose each other.
    write: Mutex<()>,
    ttls: Ttls,
    ctx: Ctx,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("zones", &self.zones())
            .field("serial", &self.serial())
            .finish_non_exhaustive()
    }
}

impl Records {
    pub(crate) fn new(ttls: Ttls, ctx: Ctx) -> Self {
        Self {
            inner: Arc::new(RecordsInner {
                snapshot: ArcSwap::from_pointee(Snapshot {
                    serial: 1,
                    ..Snapshot::default()
                }),
                write: Mutex::new(()),
                ttls,
                ctx,
            }),
        }
    }

    /// The same records, journalling changes under `ctx` from now on.
    pub(crate) fn with_ctx(self, ctx: Ctx) -> Self {
        Self {
            inner: Arc::new(RecordsInner {
                snapshot: ArcSwap::new(self.snapshot()),
                write: Mutex::new(()),
                ttls: self.inner.ttls,
                ctx,
            }),
        }
    }

    pub(crate) fn ttls(&self) -> Ttls {
        self.inner.ttls
    }

    /// The current snapshot; cheap, lock-free.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    /// The lab zones served, most specific first.
    pub fn zones(&self) -> Vec<String> {
        self.inner
            .snapshot
            .load()
            .zones
            .iter()
            .map(|z| z.name.clone())
            .collect()
    }

    /// The SOA serial; it goes up by one with every change.
    pub fn serial(&self) -> u32 {
        self.inner.snapshot.load().serial
    }

    /// Starts serving `zone` (SOA and NS are synthesised). Adding an existing zone is a no-op.
    pub fn add_zone(&self, zone: &str) -> Result<(), DnsError> {
        let apex = LowerName::new(&parse_name(zone)?);
        self.edit(|_, snap| {
            if snap.zones.iter().any(|z| z.apex == apex) {
                return Ok(None);
            }
            let name = name_text(&Name::from(&apex));
            // SOA and NS are filled in by `rebuild`, which runs after every change.
            snap.zones.push(Arc::new(ZoneData {
                name: name.clone(),
                apex: apex.clone(),
                soa: Record::from_rdata(Name::root(), 0, RData::A(A(Ipv4Addr::UNSPECIFIED))),
                ns: Vec::new(),
            }));
            Ok(Some(format!("dns zone {name} added")))
        })
        .map(|_| ())
    }

    /// Replaces every record of the values' type at `name` (all values must share one type).
    /// The set keeps its rotation setting; its TTL becomes the default.
    pub fn replace(
        &self,
        name: &str,
        values: impl IntoIterator<Item = RecordData>,
    ) -> Result<(), DnsError> {
        let values: Vec<RecordData> = values.into_iter().collect();
        self.edit(|this, snap| this.put_set(snap, name, None, None, values).map(Some))
            .map(|_| ())
    }

    /// Replaces a record set from its config form (type, TTL, rotation and values).
    pub fn apply(&self, record: &RecordConfig) -> Result<(), DnsError> {
        let values = record.values()?;
        self.edit(|this, snap| {
            this.put_set(snap, &record.name, record.ttl, Some(record.rotate), values)
                .map(Some)
        })
        .map(|_| ())
    }

    /// Appends one value to the set of its type at `name` (creating the set if needed).
    /// Adding a value that is already there changes nothing.
    pub fn add(&self, name: &str, value: RecordData) -> Result<(), DnsError> {
        let key = LowerName::new(&parse_name(name)?);
        let rtype = value.record_type();
        let (normalised, _) = value.normalise(name)?;
        self.edit(|this, snap| {
            let (mut values, ttl, rotate) = snap
                .set(&key, rtype)
                .map(|s| (s.values.clone(), s.ttl, s.rotate))
                .unwrap_or((Vec::new(), this.inner.ttls.ttl, false));
            if values.contains(&normalised) {
                return Ok(None);
            }
            values.push(normalised);
            this.put_set(snap, name, Some(ttl), Some(rotate), values)
                .map(Some)
        })
        .map(|_| ())
    }

    /// Removes one value from its set (e.g. take one load balancer out of a multi-A name).
    /// Returns whether it was there.
    pub fn remove_value(&self, name: &str, value: &RecordData) -> Result<bool, DnsError> {
        let key = LowerName::new(&parse_name(name)?);
        let (normalised, _) = value.normalise(name)?;
        let rtype = value.record_type();
        self.edit(|this, snap| {
            let Some(set) = snap.set(&key, rtype).cloned() else {
                return Ok(None);
            };
            if !set.values.contains(&normalised) {
                return Ok(None);
            }
            let rest: Vec<_> = set
                .values
                .iter()
                .filter(|v| **v != normalised)
                .cloned()
                .collect();
            if rest.is_empty() {
                remove_set(snap, &key, rtype);
                return Ok(Some(format!("dns records: {rtype} {} removed", set.name)));
            }
            this.put_set(snap, name, Some(set.ttl), Some(set.rotate), rest)
                .map(Some)
        })
    }

    /// Removes the whole set of type `rtype` at `name`. Returns whether it existed.
    pub fn remove(&self, name: &str, rtype: RecordType) -> Result<bool, DnsError> {
        let key = LowerName::new(&parse_name(name)?);
        self.edit(|_, snap| {
            Ok(remove_set(snap, &key, rtype)
                .then(|| format!("dns records: {rtype} {} removed", name_text(&key))))
        })
    }

    /// Removes every record at `name`. Returns whether there were any.
    pub fn remove_name(&self, name: &str) -> Result<bool, DnsError> {
        let key = LowerName::new(&parse_name(name)?);
        self.edit(|_, snap| {
            Ok(snap
                .names
                .remove(&key)
                .map(|_| format!("dns records: {} removed", name_text(&key))))
        })
    }

    /// Turns per-query round-robin on or off for one set. Returns false if there is no such set.
    pub fn set_rotation(
        &self,
        name: &str,
        rtype: RecordType,
        rotate: bool,
    ) -> Result<bool, DnsError> {
        let state = if rotate { "on" } else { "off" };
        self.modify_set(name, rtype, &format!("rotation {state}"), |set| {
            set.rotate = rotate
        })
    }

    /// Changes the TTL of one set. Returns false if there is no such set.
    pub fn set_ttl(&self, name: &str, rtype: RecordType, ttl: u32) -> Result<bool, DnsError> {
        self.modify_set(name, rtype, &format!("ttl {ttl}"), |set| set.ttl = ttl)
    }

    /// One set in config form, if it exists.
    pub fn get(&self, name: &str, rtype: RecordType) -> Option<RecordConfig> {
        let key = LowerName::new(&parse_name(name).ok()?);
        self.snapshot().set(&key, rtype).map(|s| s.to_config())
    }

    /// Every record set in config form, sorted by name then type: what a report shows and
    /// what [`DnsConfig`](crate::DnsConfig) accepts back.
    pub fn list(&self) -> Vec<RecordConfig> {
        let snap = self.snapshot();
        let mut all: Vec<RecordConfig> = snap
            .names
            .values()
            .flatten()
            .map(|s| s.to_config())
            .collect();
        all.sort_by(|a, b| (&a.name, &a.rtype).cmp(&(&b.name, &b.rtype)));
        all
    }

    fn modify_set(
        &self,
        name: &str,
        rtype: RecordType,
        what: &str,
        change: impl FnOnce(&mut RrSet),
    ) -> Result<bool, DnsError> {
        let key = LowerName::new(&parse_name(name)?);
        self.edit(|_, snap| {
            let Some(slot) = snap
                .names
                .get_mut(&key)
                .and_then(|sets| sets.iter_mut().find(|s| s.rtype == rtype))
            else {
                return Ok(None);
            };
            let mut set = RrSet {
                name: slot.name.clone(),
                rtype,
                ttl: slot.ttl,
                rotate: slot.rotate,
                values: slot.values.clone(),
                records: slot.records.clone(),
                cursor: slot.cursor.clone(),
            };
            change(&mut set);
            for r in &mut set.records {
                r.ttl = set.ttl;
            }
            let summary = format!("dns records: {rtype} {} {what}", set.name);
            *slot = Arc::new(set);
            Ok(Some(summary))
        })
    }

    /// Installs a set in `snap` (under the write lock); returns the journal summary.
    fn put_set(
        &self,
        snap: &mut Snapshot,
        name: &str,
        ttl: Option<u32>,
        rotate: Option<bool>,
        values: Vec<RecordData>,
    ) -> Result<String, DnsError> {
        let owner = parse_name(name)?;
        let key = LowerName::new(&owner);
        let display = name_text(&owner);
        let Some(first) = values.first() else {
            return Err(DnsError::InvalidRecordSet {
                name: display,
                reason: "no values (use remove to delete a set)".into(),
            });
        };
        let rtype = first.record_type();
        if values.iter().any(|v| v.record_type() != rtype) {
            return Err(DnsError::InvalidRecordSet {
                name: display,
                reason: "values of different types; give one set per type".into(),
            });
        }
        if rtype == RecordType::CNAME && values.len() > 1 {
            return Err(DnsError::InvalidRecordSet {
                name: display,
                reason: "a name has at most one CNAME".into(),
            });
        }
        let ttl_value = ttl.unwrap_or(self.inner.ttls.ttl);
        let mut normalised = Vec::with_capacity(values.len());
        let mut records = Vec::with_capacity(values.len());
        for v in &values {
            let (value, rdata) = v.normalise(&display)?;
            if normalised.contains(&value) {
                continue;
            }
            records.push(Record::from_rdata(owner.clone(), ttl_value, rdata));
            normalised.push(value);
        }
        let summary = format!(
            "dns records: {rtype} {display} = {}",
            normalised
                .iter()
                .map(RecordData::presentation)
                .collect::<Vec<_>>()
                .join(", ")
        );
        {
            if snap.zone_for(&key).is_none() {
                return Err(DnsError::OutOfZone {
                    name: display.clone(),
                    zones: snap
                        .zones
                        .iter()
                        .map(|z| z.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            let sets = snap.names.entry(key.clone()).or_default();
            let others = sets.iter().any(|s| s.rtype != rtype);
            let has_cname = sets.iter().any(|s| s.rtype == RecordType::CNAME);
            if (rtype == RecordType::CNAME && others) || (rtype != RecordType::CNAME && has_cname) {
                return Err(DnsError::CnameConflict {
                    name: display.clone(),
                });
            }
            let old = sets.iter().position(|s| s.rtype == rtype);
            let (cursor, old_rotate) = old.map_or((Arc::default(), false), |i| {
                (sets[i].cursor.clone(), sets[i].rotate)
            });
            let set = Arc::new(RrSet {
                name: display.clone(),
                rtype,
                ttl: ttl_value,
                rotate: rotate.unwrap_or(old_rotate),
                values: normalised,
                records,
                cursor,
            });
            match old {
                Some(i) => sets[i] = set,
                None => sets.push(set),
            }
        }
        Ok(summary)
    }

    /// A journalled change: `change` returns the summary of what it did, or `None` when
    /// there was nothing to do (then no new snapshot, serial or journal entry).
    fn edit(
        &self,
        change: impl FnOnce(&Self, &mut Snapshot) -> Result<Option<String>, DnsError>,
    ) -> Result<bool, DnsError> {
        let mut summary = None;
        self.update(|snap| {
            summary = change(self, snap)?;
            Ok(summary.is_some())
        })?;
        match summary {
            Some(text) => {
                self.journal_change(text);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Copy-on-write update. `change` returns whether it changed anything; only then is the
    /// serial bumped, the derived data rebuilt and the new snapshot published.
    fn update(
        &self,
        change: impl FnOnce(&mut Snapshot) -> Result<bool, DnsError>,
    ) -> Result<bool, DnsError> {
        let _writer = self.inner.write.lock();
        let current = self.inner.snapshot.load_full();
        let mut next = Snapshot {
            zones: current.zones.clone(),
            names: current.names.clone(),
            existing: HashSet::new(),
            serial: current.serial,
        };
        let changed = change(&mut next)?;
        if changed {
            next.serial = next.serial.wrapping_add(1).max(1);
            self.rebuild(&mut next);
            self.inner.snapshot.store(Arc::new(next));
        }
        Ok(changed)
    }

    /// Recomputes SOA/NS records (new serial) and the set of existing names.
    fn rebuild(&self, snap: &mut Snapshot) {
        let Ttls { ttl, negative_ttl } = self.inner.ttls;
        snap.zones.sort_by(|a, b| {
            b.apex
                .num_labels()
                .cmp(&a.apex.num_labels())
                .then(a.name.cmp(&b.name))
        });
        snap.zones = snap
            .zones
            .iter()
            .map(|z| {
                let apex = Name::from(&z.apex);
                let ns_name = Name::from_ascii("ns1").and_then(|n| n.append_domain(&apex));
                let host_name = Name::from_ascii("hostmaster").and_then(|n| n.append_domain(&apex));
                let (Ok(ns_name), Ok(host_name)) = (ns_name, host_name) else {
                    // The apex is too long to prefix; serve the zone without NS rather than fail.
                    return z.clone();
                };
                let soa = SOA::new(
                    ns_name.clone(),
                    host_name,
                    snap.serial,
                    3600,
                    600,
                    86_400,
                    negative_ttl,
                );
                Arc::new(ZoneData {
                    apex: z.apex.clone(),
                    name: z.name.clone(),
                    soa: Record::from_rdata(apex.clone(), ttl, RData::SOA(soa)),
                    ns: vec![Record::from_rdata(apex, ttl, RData::NS(NS(ns_name)))],
                })
            })
            .collect();
        let mut existing = HashSet::new();
        for name in snap.names.keys() {
            let mut n = name.clone();
            loop {
                if !existing.insert(n.clone())
                    || snap.zones.iter().any(|z| z.apex == n)
                    || n.is_root()
                {
                    break;
                }
                n = n.base_name();
            }
        }
        snap.existing = existing;
    }

    fn journal_change(&self, summary: String) {
        let ctx = &self.inner.ctx;
        ctx.journal
            .record(ctx.node.clone(), Kind::Lab, summary)
            .commit();
    }
}

/// Drops the `rtype` set at `key` (and the name when nothing is left); true if it existed.
fn remove_set(snap: &mut Snapshot, key: &LowerName, rtype: RecordType) -> bool {
    let Some(sets) = snap.names.get_mut(key) else {
        return false;
    };
    let before = sets.len();
    sets.retain(|s| s.rtype != rtype);
    let removed = sets.len() != before;
    if sets.is_empty() {
        snap.names.remove(key);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use bwlab_core::{Journal, LabClock};

    fn records() -> Records {
        let ctx = Ctx {
            journal: Journal::new(LabClock::system()),
            node: Arc::from("dns"),
        };
        let r = Records::new(
            Ttls {
                ttl: DEFAULT_TTL,
                negative_ttl: DEFAULT_NEGATIVE_TTL,
            },
            ctx,
        );
        r.add_zone("lab.example").unwrap();
        r
    }

    fn key(name: &str) -> LowerName {
        LowerName::new(&parse_name(name).unwrap())
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let r = records();
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let r = r.clone();
                s.spawn(move || {
                    for i in 0..25u8 {
                        r.add(
                            "many.lab.example",
                            RecordData::A(Ipv4Addr::new(10, 0, t, i)),
                        )
                        .unwrap();
                    }
                });
            }
        });
        let set = r.get("many.lab.example", RecordType::A).unwrap();
        assert_eq!(set.values.len(), 200);
    }

    #[test]
    fn unchanged_data_keeps_the_serial() {
        let r = records();
        r.add("x.lab.example", RecordData::A(Ipv4Addr::LOCALHOST))
            .unwrap();
        let serial = r.serial();
        r.add("X.Lab.Example.", RecordData::A(Ipv4Addr::LOCALHOST))
            .unwrap();
        assert_eq!(r.serial(), serial);
        assert!(!r.remove("y.lab.example", RecordType::A).unwrap());
        assert_eq!(r.serial(), serial);
        r.set_ttl("x.lab.example", RecordType::A, 5).unwrap();
        assert_eq!(r.serial(), serial + 1);
        assert_eq!(r.get("x.lab.example", RecordType::A).unwrap().ttl, Some(5));
    }

    #[test]
    fn empty_non_terminals_exist_but_unknown_names_do_not() {
        let r = records();
        r.replace(
            "_xsi-client._tcp.lab.example",
            [RecordData::srv(10, 10, 443, "xsp1.lab.example")],
        )
        .unwrap();
        let snap = r.snapshot();
        assert!(snap.exists(&key("_tcp.lab.example")));
        assert!(snap.exists(&key("lab.example")));
        assert!(!snap.exists(&key("_udp.lab.example")));
        assert!(snap.zone_for(&key("lab.example.com")).is_none());
    }

    #[test]
    fn rotation_survives_unrelated_updates() {
        let r = records();
        r.replace(
            "rr.lab.example",
            [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)].map(RecordData::A),
        )
        .unwrap();
        r.set_rotation("rr.lab.example", RecordType::A, true)
            .unwrap();
        let first = |r: &Records| {
            r.snapshot()
                .set(&key("rr.lab.example"), RecordType::A)
                .unwrap()
                .answer()[0]
                .data
                .to_string()
        };
        assert_eq!(first(&r), "10.0.0.1");
        r.add("other.lab.example", RecordData::txt("x")).unwrap();
        assert_eq!(first(&r), "10.0.0.2");
        assert_eq!(first(&r), "10.0.0.1");
    }

    #[test]
    fn txt_longer_than_255_bytes_is_split() {
        let parts = split_txt(&"é".repeat(200));
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), "é".repeat(200));
    }
}
