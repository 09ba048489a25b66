//! Shared test plumbing: a lab server with the guide's records, a resolver that talks only to
//! it, and a raw DNS client for what a resolver hides (flags, timing, malformed input).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bwlab_core::{Journal, LabClock};
use bwlab_dns::{DnsHandle, DnsServer, RecordData, RecordType, Srv};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::Name;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolveHosts, ResolverConfig,
};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

pub const ZONE: &str = "lab.example";

/// A server with the records the guides describe: a multi-A cloud name, the app's SRV, the
/// AS→NPS SRV, RoomOS NAPTR → `_sip._tls` SRV, a CNAME chain and some TXT.
pub async fn lab() -> DnsHandle {
    lab_with_journal(Journal::new(LabClock::system())).await
}

pub async fn lab_with_journal(journal: Journal) -> DnsHandle {
    DnsServer::builder()
        .zone(ZONE)
        .journal(journal)
        .addresses(
            "xsp.lab.example",
            ["127.77.0.2", "127.77.0.3", "127.77.0.4"],
        )
        .addresses("xsp1.lab.example", ["127.77.0.2"])
        .addresses("xsp2.lab.example", ["127.77.0.3"])
        .addresses("v6.lab.example", ["fd00::2", "fd00::3"])
        .addresses("nps1.lab.example", ["127.77.0.9"])
        .addresses("sbc.lab.example", ["127.77.0.20"])
        .xsi_client_srv(
            ZONE,
            [
                Srv::new(10, 10, 443, "xsp1.lab.example"),
                Srv::new(20, 10, 443, "xsp2.lab.example"),
            ],
        )
        .push_notification_srv(ZONE, [Srv::new(20, 20, 443, "nps1.lab.example")])
        .sip_tls_srv(ZONE, [Srv::new(10, 10, 5061, "sbc.lab.example")])
        .sip_tls_naptr(ZONE)
        .record("alias.lab.example", RecordData::cname("alias2.lab.example"))
        .record("alias2.lab.example", RecordData::cname("xsp1.lab.example"))
        .record(
            "outside.lab.example",
            RecordData::cname("www.elsewhere.example"),
        )
        .record("info.lab.example", RecordData::txt("bwlab test zone"))
        .start()
        .await
        .expect("lab DNS starts")
}

/// A resolver that knows only the lab server, over UDP, TCP or both, with no cache worth
/// mentioning (a fresh one per call in tests that change data) and short timeouts.
pub fn resolver(dns: &DnsHandle, udp: bool, tcp: bool, timeout: Duration) -> TokioResolver {
    let mut connections = Vec::new();
    if udp {
        let mut c = ConnectionConfig::new(ProtocolConfig::Udp);
        c.port = dns.udp_addr().port();
        connections.push(c);
    }
    if tcp {
        let mut c = ConnectionConfig::new(ProtocolConfig::Tcp);
        c.port = dns.tcp_addr().port();
        connections.push(c);
    }
    let ns = NameServerConfig::new(dns.udp_addr().ip(), true, connections);
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![ns]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let opts = builder.options_mut();
    opts.timeout = timeout;
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.edns0 = true;
    opts.ndots = 0;
    builder.build().expect("resolver builds")
}

pub fn udp_resolver(dns: &DnsHandle) -> TokioResolver {
    resolver(dns, true, false, Duration::from_secs(3))
}

pub fn tcp_resolver(dns: &DnsHandle) -> TokioResolver {
    resolver(dns, false, true, Duration::from_secs(3))
}

/// One lookup through a fresh UDP (or TCP) resolver, so nothing is cached between calls.
pub async fn lookup(
    dns: &DnsHandle,
    tcp: bool,
    name: &str,
    rtype: RecordType,
) -> Result<Lookup, NetError> {
    let r = if tcp {
        tcp_resolver(dns)
    } else {
        udp_resolver(dns)
    };
    r.lookup(format!("{name}."), rtype).await
}

/// The answers' data as presentation strings, in answer order.
pub fn shown(lookup: &Lookup) -> Vec<String> {
    lookup
        .answers()
        .iter()
        .map(|r| r.data.to_string())
        .collect()
}

/// Query bytes for `name`/`rtype`, optionally with EDNS.
pub fn query_bytes(id: u16, name: &str, rtype: RecordType, edns: bool) -> Vec<u8> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        msg.set_edns(e);
    }
    msg.to_vec().unwrap()
}

/// Sends raw bytes over UDP and waits up to `wait` (tokio time) for a datagram back.
pub async fn udp_exchange(server: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(bytes, server).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    match tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

/// A raw UDP query, parsed.
pub async fn udp_query(dns: &DnsHandle, name: &str, rtype: RecordType) -> Message {
    let bytes = udp_exchange(
        dns.udp_addr(),
        &query_bytes(0x4242, name, rtype, true),
        Duration::from_secs(3),
    )
    .await
    .expect("a UDP response");
    Message::from_vec(&bytes).expect("response parses")
}

/// Sends one length-prefixed message over a new TCP connection and reads one back.
pub async fn tcp_exchange(server: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(server).await.ok()?;
    let len = u16::try_from(bytes.len()).ok()?;
    stream.write_all(&len.to_be_bytes()).await.ok()?;
    stream.write_all(bytes).await.ok()?;
    let read = async {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await.ok()?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).await.ok()?;
        Some(buf)
    };
    tokio::time::timeout(wait, read).await.ok().flatten()
}
