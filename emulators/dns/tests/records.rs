//! Records served through real sockets, checked with a real resolver over UDP and TCP.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_dns::{RecordData, RecordType};
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RData;

#[tokio::test]
async fn multi_a_keeps_configured_order_over_udp_and_tcp() {
    let dns = lab().await;
    for tcp in [false, true] {
        for _ in 0..3 {
            let got = lookup(&dns, tcp, "xsp.lab.example", RecordType::A)
                .await
                .unwrap();
            assert_eq!(
                shown(&got),
                ["127.77.0.2", "127.77.0.3", "127.77.0.4"],
                "tcp={tcp}"
            );
        }
    }
    dns.shutdown().await.unwrap();
}

#[tokio::test]
async fn rotation_shifts_the_first_address_per_query() {
    let dns = lab().await;
    assert!(
        dns.records()
            .set_rotation("xsp.lab.example", RecordType::A, true)
            .unwrap()
    );
    let mut firsts = Vec::new();
    for _ in 0..4 {
        let got = lookup(&dns, false, "xsp.lab.example", RecordType::A)
            .await
            .unwrap();
        assert_eq!(got.answers().len(), 3);
        firsts.push(shown(&got)[0].clone());
    }
    assert_eq!(
        firsts,
        ["127.77.0.2", "127.77.0.3", "127.77.0.4", "127.77.0.2"]
    );
    dns.records()
        .set_rotation("xsp.lab.example", RecordType::A, false)
        .unwrap();
    let got = lookup(&dns, false, "xsp.lab.example", RecordType::A)
        .await
        .unwrap();
    assert_eq!(shown(&got)[0], "127.77.0.2");
}

#[tokio::test]
async fn aaaa_answers() {
    let dns = lab().await;
    let got = lookup(&dns, false, "v6.lab.example", RecordType::AAAA)
        .await
        .unwrap();
    assert_eq!(shown(&got), ["fd00::2", "fd00::3"]);
    let ips: Vec<_> = udp_resolver(&dns)
        .lookup_ip("xsp1.lab.example.")
        .await
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ips, [std::net::IpAddr::from(Ipv4Addr::new(127, 77, 0, 2))]);
}

#[tokio::test]
async fn srv_fields_for_the_guide_names() {
    let dns = lab().await;
    for tcp in [false, true] {
        let got = lookup(&dns, tcp, "_xsi-client._tcp.lab.example", RecordType::SRV)
            .await
            .unwrap();
        let srvs: Vec<_> = got
            .answers()
            .iter()
            .map(|r| match &r.data {
                RData::SRV(s) => (s.priority, s.weight, s.port, s.target.to_ascii()),
                other => panic!("not SRV: {other:?}"),
            })
            .collect();
        assert_eq!(
            srvs,
            [
                (10, 10, 443, "xsp1.lab.example.".to_string()),
                (20, 10, 443, "xsp2.lab.example.".to_string())
            ]
        );
    }
    let push = lookup(
        &dns,
        false,
        "_pushnotification-client._tcp.lab.example",
        RecordType::SRV,
    )
    .await
    .unwrap();
    assert_eq!(shown(&push), ["20 20 443 nps1.lab.example."]);
    // The SRV targets' addresses ride along as additionals.
    let raw = udp_query(&dns, "_xsi-client._tcp.lab.example", RecordType::SRV).await;
    let extra: Vec<_> = raw.additionals.iter().map(|r| r.data.to_string()).collect();
    assert_eq!(extra, ["127.77.0.2", "127.77.0.3"]);
}

#[tokio::test]
async fn naptr_leads_to_sip_tls_srv() {
    let dns = lab().await;
    let got = lookup(&dns, false, ZONE, RecordType::NAPTR).await.unwrap();
    let RData::NAPTR(naptr) = &got.answers()[0].data else {
        panic!("not NAPTR");
    };
    assert_eq!((naptr.order, naptr.preference), (10, 10));
    assert_eq!(&*naptr.flags, b"s");
    assert_eq!(&*naptr.services, b"SIPS+D2T");
    assert!(naptr.regexp.is_empty());
    assert_eq!(naptr.replacement.to_ascii(), "_sip._tls.lab.example.");
    let srv = lookup(&dns, true, "_sip._tls.lab.example", RecordType::SRV)
        .await
        .unwrap();
    assert_eq!(shown(&srv), ["10 10 5061 sbc.lab.example."]);
}

#[tokio::test]
async fn cname_chain_is_followed_inside_the_zone() {
    let dns = lab().await;
    let raw = udp_query(&dns, "alias.lab.example", RecordType::A).await;
    let answers: Vec<_> = raw
        .answers
        .iter()
        .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
        .collect();
    assert_eq!(
        answers,
        [
            "alias.lab.example. CNAME alias2.lab.example.",
            "alias2.lab.example. CNAME xsp1.lab.example.",
            "xsp1.lab.example. A 127.77.0.2"
        ]
    );
    let ips: Vec<_> = udp_resolver(&dns)
        .lookup_ip("alias.lab.example.")
        .await
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ips, [std::net::IpAddr::from(Ipv4Addr::new(127, 77, 0, 2))]);
    // A target outside the lab: the CNAME alone, the client's resolver goes on from there.
    let raw = udp_query(&dns, "outside.lab.example", RecordType::A).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NoError);
    assert_eq!(raw.answers.len(), 1);
    // Asking for the CNAME itself does not chase it.
    let raw = udp_query(&dns, "alias.lab.example", RecordType::CNAME).await;
    assert_eq!(raw.answers.len(), 1);
}

#[tokio::test]
async fn txt_answers() {
    let dns = lab().await;
    let got = lookup(&dns, false, "info.lab.example", RecordType::TXT)
        .await
        .unwrap();
    let RData::TXT(txt) = &got.answers()[0].data else {
        panic!("not TXT")
    };
    assert_eq!(&*txt.txt_data[0], b"bwlab test zone");
}

#[tokio::test]
async fn authoritative_soa_ns_and_negative_answers() {
    let dns = lab().await;
    let soa = udp_query(&dns, ZONE, RecordType::SOA).await;
    assert!(soa.metadata.authoritative);
    assert!(!soa.metadata.recursion_available);
    assert_eq!(soa.answers[0].record_type(), RecordType::SOA);
    let ns = udp_query(&dns, ZONE, RecordType::NS).await;
    assert_eq!(ns.answers[0].data.to_string(), "ns1.lab.example.");
    assert!(ns.metadata.authoritative);

    let a = udp_query(&dns, "xsp1.lab.example", RecordType::A).await;
    assert!(a.metadata.authoritative);
    // Name exists, type does not: NODATA with the SOA.
    let nodata = udp_query(&dns, "xsp1.lab.example", RecordType::AAAA).await;
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authorities[0].record_type(), RecordType::SOA);
    // Empty non-terminal: NODATA, not NXDOMAIN.
    let ent = udp_query(&dns, "_tcp.lab.example", RecordType::A).await;
    assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
    // No such name.
    let nx = udp_query(&dns, "nope.lab.example", RecordType::A).await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(nx.metadata.authoritative);
    assert_eq!(nx.authorities[0].record_type(), RecordType::SOA);
    let err = lookup(&dns, false, "nope.lab.example", RecordType::A)
        .await
        .unwrap_err();
    assert!(err.is_nx_domain(), "{err}");
}

#[tokio::test]
async fn names_outside_the_lab_are_refused() {
    let dns = lab().await;
    let raw = udp_query(&dns, "www.example.com", RecordType::A).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::Refused);
    assert!(!raw.metadata.authoritative);
    let err = lookup(&dns, true, "www.example.com", RecordType::A)
        .await
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    // A zone's parent is outside it too.
    let raw = udp_query(&dns, "example", RecordType::SOA).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::Refused);
}

#[tokio::test]
async fn names_are_case_insensitive() {
    let dns = lab().await;
    let raw = udp_query(&dns, "XSP1.Lab.EXAMPLE", RecordType::A).await;
    assert_eq!(raw.answers.len(), 1);
    // The question comes back as it was asked (0x20-style resolvers check this).
    assert_eq!(raw.queries[0].name().to_ascii(), "XSP1.Lab.EXAMPLE.");
    let got = lookup(&dns, false, "_XSI-Client._TCP.lab.example", RecordType::SRV)
        .await
        .unwrap();
    assert_eq!(got.answers().len(), 2);
}

#[tokio::test]
async fn edns_is_answered_with_edns_and_plain_with_plain() {
    let dns = lab().await;
    let with = udp_query(&dns, "xsp.lab.example", RecordType::A).await;
    assert!(with.edns.is_some());
    let bytes = udp_exchange(
        dns.udp_addr(),
        &query_bytes(7, "xsp.lab.example", RecordType::A, false),
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    let without = hickory_proto::op::Message::from_vec(&bytes).unwrap();
    assert!(without.edns.is_none());
    assert_eq!(without.answers.len(), 3);
    assert_eq!(without.metadata.id, 7);
}

#[tokio::test]
async fn runtime_changes_are_visible_on_the_next_query() {
    let dns = lab().await;
    let records = dns.records().clone();
    records
        .replace(
            "xsp.lab.example",
            [RecordData::A(Ipv4Addr::new(127, 77, 0, 9))],
        )
        .unwrap();
    let got = lookup(&dns, false, "xsp.lab.example", RecordType::A)
        .await
        .unwrap();
    assert_eq!(shown(&got), ["127.77.0.9"]);

    records
        .add(
            "new.lab.example",
            RecordData::A(Ipv4Addr::new(127, 77, 0, 10)),
        )
        .unwrap();
    records
        .add(
            "new.lab.example",
            RecordData::A(Ipv4Addr::new(127, 77, 0, 11)),
        )
        .unwrap();
    let got = lookup(&dns, true, "new.lab.example", RecordType::A)
        .await
        .unwrap();
    assert_eq!(shown(&got), ["127.77.0.10", "127.77.0.11"]);

    assert!(
        records
            .remove_value(
                "new.lab.example",
                &RecordData::A(Ipv4Addr::new(127, 77, 0, 10))
            )
            .unwrap()
    );
    let got = lookup(&dns, false, "new.lab.example", RecordType::A)
        .await
        .unwrap();
    assert_eq!(shown(&got), ["127.77.0.11"]);

    assert!(records.remove("new.lab.example", RecordType::A).unwrap());
    let err = lookup(&dns, false, "new.lab.example", RecordType::A)
        .await
        .unwrap_err();
    assert!(err.is_nx_domain());

    // Re-point the app's SRV to a single target.
    records
        .replace(
            &bwlab_dns::names::xsi_client(ZONE),
            [RecordData::srv(5, 0, 8443, "xsp2.lab.example")],
        )
        .unwrap();
    let got = lookup(&dns, false, "_xsi-client._tcp.lab.example", RecordType::SRV)
        .await
        .unwrap();
    assert_eq!(shown(&got), ["5 0 8443 xsp2.lab.example."]);

    // Every change is a lab event, and the serial moved.
    let changes = dns
        .journal()
        .query(&Filter::kind(Kind::Lab).contains("dns records"));
    assert!(changes.len() >= 5, "{changes:?}");
    assert!(records.serial() > 1);
}

#[tokio::test]
async fn bad_runtime_input_is_an_error_not_a_panic() {
    let dns = lab().await;
    let r = dns.records();
    assert!(
        r.replace(
            "www.elsewhere.example",
            [RecordData::A(Ipv4Addr::LOCALHOST)]
        )
        .is_err()
    );
    assert!(
        r.replace(
            "bad..name.lab.example",
            [RecordData::A(Ipv4Addr::LOCALHOST)]
        )
        .is_err()
    );
    assert!(r.replace("x.lab.example", []).is_err());
    assert!(
        r.replace(
            "x.lab.example",
            [RecordData::A(Ipv4Addr::LOCALHOST), RecordData::txt("mixed")]
        )
        .is_err()
    );
    assert!(
        r.add("alias.lab.example", RecordData::A(Ipv4Addr::LOCALHOST))
            .is_err()
    );
    assert!(
        r.add("xsp1.lab.example", RecordData::cname("xsp2.lab.example"))
            .is_err()
    );
    assert!(
        r.add("x.lab.example", RecordData::srv(1, 1, 1, "bad target!"))
            .is_err()
    );
    assert!(
        r.add("x.lab.example", RecordData::txt("x".repeat(1000)))
            .is_ok()
    );
    assert!(
        !r.set_rotation("missing.lab.example", RecordType::A, true)
            .unwrap()
    );
}

#[tokio::test]
async fn every_query_is_journalled_with_attrs() {
    let journal = bwlab_core::Journal::new(bwlab_core::LabClock::system());
    let dns = lab_with_journal(journal.clone()).await;
    let since = journal.next_seq();
    lookup(&dns, false, "xsp.lab.example", RecordType::A)
        .await
        .unwrap();
    lookup(&dns, true, "_xsi-client._tcp.lab.example", RecordType::SRV)
        .await
        .unwrap();
    let _ = lookup(&dns, false, "nope.lab.example", RecordType::A).await;

    let a = journal
        .query(
            &Filter::kind(Kind::Dns)
                .since(since)
                .attr("qname", "xsp.lab.example"),
        )
        .pop()
        .expect("A entry");
    assert_eq!(a.node.as_ref(), "dns");
    assert_eq!(
        a.summary,
        "A xsp.lab.example → 127.77.0.2, 127.77.0.3, 127.77.0.4"
    );
    assert_eq!(a.attr("qtype"), Some("A"));
    assert_eq!(a.attr("rcode"), Some("NOERROR"));
    assert_eq!(a.attr("proto"), Some("udp"));
    assert!(a.peer.is_some_and(|p| p.ip().is_loopback()));

    let srv = journal
        .query(&Filter::kind(Kind::Dns).since(since).attr("qtype", "SRV"))
        .pop()
        .expect("SRV entry");
    assert_eq!(
        srv.summary,
        "SRV _xsi-client._tcp.lab.example → 10 10 443 xsp1.lab.example., 20 10 443 xsp2.lab.example."
    );
    assert_eq!(srv.attr("proto"), Some("tcp"));

    let nx = journal
        .query(
            &Filter::kind(Kind::Dns)
                .since(since)
                .attr("rcode", "NXDOMAIN"),
        )
        .pop()
        .expect("NXDOMAIN entry");
    assert_eq!(nx.summary, "A nope.lab.example → NXDOMAIN");
}

#[tokio::test]
async fn ephemeral_udp_and_tcp_share_a_port_and_shutdown_frees_it() {
    let dns = lab().await;
    assert_eq!(
        dns.udp_addr(),
        dns.tcp_addr(),
        "one host:port for both transports"
    );
    let addr = dns.udp_addr();
    let started = std::time::Instant::now();
    dns.shutdown().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!dns.is_running());
    dns.shutdown().await.unwrap(); // idempotent
    // The port is free again for both transports.
    std::net::UdpSocket::bind(addr).expect("UDP port released");
    std::net::TcpListener::bind(addr).expect("TCP port released");
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_server() {
    let dns = lab().await;
    let addr = dns.udp_addr();
    drop(dns);
    // Aborted tasks release their sockets the next time the runtime gets to them.
    let mut freed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if std::net::UdpSocket::bind(addr).is_ok() && std::net::TcpListener::bind(addr).is_ok() {
            freed = true;
            break;
        }
    }
    assert!(freed, "sockets still bound after the last handle went away");
}
