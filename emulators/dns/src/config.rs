//! The serde shape of the server's data, as scenario files write it.
//!
//! Records are grouped in sets (one name, one type) with their values in answer order:
//!
//! ```yaml
//! zones: [lab.example]
//! records:
//!   - { name: xsp.lab.example, type: A, values: [127.77.0.2, 127.77.0.3], rotate: true }
//!   - name: _xsi-client._tcp.lab.example
//!     type: SRV
//!     values:
//!       - { priority: 10, weight: 10, port: 443, target: xsp1.lab.example }
//!       - "20 10 443 xsp2.lab.example"      # zone-file form works too
//! faults:
//!   - { name: "*.lab.example", type: AAAA, fault: nxdomain }
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::RecordType;
use serde::{Deserialize, Serialize};

use crate::error::DnsError;
use crate::faults::FaultRule;
use crate::records::{
    DEFAULT_NEGATIVE_TTL, DEFAULT_TTL, Naptr, RecordData, Srv, parse_record_type,
};

/// Everything the DNS server serves, in config form. Build a server from it with
/// [`DnsServer::from_config`](crate::DnsServer::from_config); get the current state back with
/// [`DnsHandle::config`](crate::DnsHandle::config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// Zones the server is authoritative for; any other name is `REFUSED`.
    pub zones: Vec<String>,
    #[serde(default)]
    pub records: Vec<RecordConfig>,
    /// Faults active from the start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRule>,
    /// TTL of records that do not give their own (seconds).
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// How long resolvers may cache "no such name/record" (the SOA minimum, seconds).
    #[serde(default)]
    pub negative_ttl: u32,
    /// Journal node name; `dns` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
}

fn default_ttl() -> u32 {
    DEFAULT_TTL
}

impl DnsConfig {
    /// A config serving `zones` with no records yet.
    pub fn new(zones: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            zones: zones.into_iter().map(Into::into).collect(),
            records: Vec::new(),
            faults: Vec::new(),
            ttl: DEFAULT_TTL,
            negative_ttl: DEFAULT_NEGATIVE_TTL,
            node_name: None,
        }
    }
}

/// One record set: `{ name: xsp1.lab.example, type: A, values: [127.77.0.2] }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordConfig {
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, `SRV`, `NAPTR` or `TXT` (any case).
    #[serde(rename = "type")]
    pub rtype: String,
    /// Seconds; the server default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// Round-robin: each answer starts one value further along.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rotate: bool,
    /// In answer order.
    pub values: Vec<RecordValue>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One value of a record set. Addresses, CNAME targets and TXT text are strings; SRV may be
/// an object or the zone-file string `"10 10 443 xsp1.lab.example"`; NAPTR is an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RecordValue {
    Text(String),
    Srv(Srv),
    Naptr(Naptr),
}

impl RecordConfig {
    /// A set from typed values (all of one type; the type of the first wins).
    pub fn new(name: impl Into<String>, values: &[RecordData]) -> Self {
        let rtype = values
            .first()
            .map_or(RecordType::A, RecordData::record_type);
        Self::from_values(&name.into(), rtype, None, false, values)
    }

    pub(crate) fn from_values(
        name: &str,
        rtype: RecordType,
        ttl: Option<u32>,
        rotate: bool,
        values: &[RecordData],
    ) -> Self {
        Self {
            name: name.to_string(),
            rtype: rtype.to_string(),
            ttl,
            rotate,
            values: values
                .iter()
                .map(|v| match v {
                    RecordData::A(ip) => RecordValue::Text(ip.to_string()),
                    RecordData::Aaaa(ip) => RecordValue::Text(ip.to_string()),
                    RecordData::Cname(t) | RecordData::Txt(t) => RecordValue::Text(t.clone()),
                    RecordData::Srv(s) => RecordValue::Srv(s.clone()),
                    RecordData::Naptr(n) => RecordValue::Naptr(n.clone()),
                })
                .collect(),
        }
    }

    /// The record type, checked.
    pub fn record_type(&self) -> Result<RecordType, DnsError> {
        parse_record_type(&self.rtype)
    }

    /// The values as typed data, checked against the type.
    pub fn values(&self) -> Result<Vec<RecordData>, DnsError> {
        let rtype = self.record_type()?;
        let bad = |reason: String| DnsError::InvalidValue {
            name: self.name.clone(),
            rtype: rtype.to_string(),
            reason,
        };
        self.values
            .iter()
            .map(|value| match (rtype, value) {
                (RecordType::A, RecordValue::Text(t)) => t
                    .trim()
                    .parse::<Ipv4Addr>()
                    .map(RecordData::A)
                    .map_err(|_| bad(format!("{t:?} is not an IPv4 address"))),
                (RecordType::AAAA, RecordValue::Text(t)) => t
                    .trim()
                    .parse::<Ipv6Addr>()
                    .map(RecordData::Aaaa)
                    .map_err(|_| bad(format!("{t:?} is not an IPv6 address"))),
                (RecordType::CNAME, RecordValue::Text(t)) => Ok(RecordData::Cname(t.clone())),
                (RecordType::TXT, RecordValue::Text(t)) => Ok(RecordData::Txt(t.clone())),
                (RecordType::SRV, RecordValue::Srv(s)) => Ok(RecordData::Srv(s.clone())),
                (RecordType::SRV, RecordValue::Text(t)) => parse_srv_text(t)
                    .ok_or_else(|| bad(format!("{t:?} is not \"priority weight port target\""))),
                (RecordType::NAPTR, RecordValue::Naptr(n)) => Ok(RecordData::Naptr(n.clone())),
                (_, other) => Err(bad(format!("{other:?} does not fit this type"))),
            })
            .collect()
    }
}

fn parse_srv_text(text: &str) -> Option<RecordData> {
    let mut parts = text.split_whitespace();
    let priority = parts.next()?.parse().ok()?;
    let weight = parts.next()?.parse().ok()?;
    let port = parts.next()?.parse().ok()?;
    let target = parts.next()?.to_string();
    if parts.next().is_some() {
        return None;
    }
    Some(RecordData::Srv(Srv {
        priority,
        weight,
        port,
        target,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_against_the_type() {
        let json = r#"{"name":"xsp.lab.example","type":"a","values":["127.77.0.2","127.77.0.3"]}"#;
        let rec: RecordConfig = serde_json::from_str(json).unwrap();
        assert_eq!(
            rec.values().unwrap(),
            vec![
                RecordData::A(Ipv4Addr::new(127, 77, 0, 2)),
                RecordData::A(Ipv4Addr::new(127, 77, 0, 3))
            ]
        );
        let bad: RecordConfig =
            serde_json::from_str(r#"{"name":"x.lab.example","type":"A","values":["nope"]}"#)
                .unwrap();
        assert!(matches!(bad.values(), Err(DnsError::InvalidValue { .. })));
        let mx: RecordConfig =
            serde_json::from_str(r#"{"name":"x.lab.example","type":"MX","values":["x"]}"#).unwrap();
        assert!(matches!(mx.values(), Err(DnsError::UnsupportedType(_))));
    }

    #[test]
    fn srv_object_and_text_forms_agree() {
        let json = r#"{"name":"_xsi-client._tcp.lab.example","type":"SRV","values":[
            {"priority":10,"weight":10,"port":443,"target":"xsp1.lab.example"},
            "20 10 443 xsp2.lab.example."]}"#;
        let rec: RecordConfig = serde_json::from_str(json).unwrap();
        let values = rec.values().unwrap();
        assert_eq!(values[0], RecordData::srv(10, 10, 443, "xsp1.lab.example"));
        assert_eq!(values[1], RecordData::srv(20, 10, 443, "xsp2.lab.example."));
        assert!(parse_srv_text("10 10 x target").is_none());
        assert!(parse_srv_text("10 10 443").is_none());
    }

    #[test]
    fn naptr_object_with_defaults() {
        let json = r#"{"name":"lab.example","type":"NAPTR","values":[
            {"order":10,"preference":10,"flags":"s","services":"SIPS+D2T","replacement":"_sip._tls.lab.example"}]}"#;
        let rec: RecordConfig = serde_json::from_str(json).unwrap();
        assert_eq!(
            rec.values().unwrap(),
            vec![RecordData::naptr_sip_tls(10, 10, "lab.example")]
        );
    }
}
