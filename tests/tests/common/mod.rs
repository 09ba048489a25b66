//! Helpers shared by the end-to-end tests: asking the lab DNS server like a client would.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

/// A resolver that asks only the lab DNS server at `addr` (UDP), without a cache.
pub fn resolver(addr: SocketAddr) -> TokioResolver {
    let mut conn = ConnectionConfig::new(ProtocolConfig::Udp);
    conn.port = addr.port();
    let ns = NameServerConfig::new(addr.ip(), true, vec![conn]);
    let cfg = ResolverConfig::from_parts(None, vec![], vec![ns]);
    let mut b = TokioResolver::builder_with_config(cfg, TokioRuntimeProvider::default());
    b.options_mut().cache_size = 0;
    b.build().unwrap()
}

/// The A records of `name`, sorted (empty when there are none).
pub async fn a_records(r: &TokioResolver, name: &str) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = r
        .lookup(name, RecordType::A)
        .await
        .map(|l| {
            l.answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `(priority, port, target)` of the SRV records of `name`, sorted.
pub async fn srv_records(r: &TokioResolver, name: &str) -> Vec<(u16, u16, String)> {
    let mut v: Vec<_> = r
        .lookup(name, RecordType::SRV)
        .await
        .map(|l| {
            l.answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::SRV(s) => Some((
                        s.priority,
                        s.port,
                        s.target.to_string().trim_end_matches('.').to_owned(),
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
