//! Each fault through real sockets: what a resolver sees, and what the journal says.

mod common;

use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_dns::{DnsFault, RecordType};
use common::*;
use hickory_proto::op::{Message, ResponseCode};

#[tokio::test]
async fn nxdomain_fault_and_revert() {
    let dns = lab().await;
    let id = dns.inject("xsp1.lab.example", Some(RecordType::A), DnsFault::NxDomain);
    let err = lookup(&dns, false, "xsp1.lab.example", RecordType::A)
        .await
        .unwrap_err();
    assert!(err.is_nx_domain(), "{err}");
    let raw = udp_query(&dns, "xsp1.lab.example", RecordType::A).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NXDomain);
    assert!(raw.metadata.authoritative);
    assert_eq!(raw.authorities[0].record_type(), RecordType::SOA);
    // Other types and names are untouched.
    assert!(
        lookup(&dns, false, "xsp2.lab.example", RecordType::A)
            .await
            .is_ok()
    );

    let entry = dns
        .journal()
        .query(&Filter::kind(Kind::Dns).attr("fault", "nxdomain"))
        .pop()
        .expect("faulted query journalled");
    assert_eq!(entry.summary, "A xsp1.lab.example → NXDOMAIN (fault)");
    assert_eq!(entry.attr("rcode"), Some("NXDOMAIN"));

    assert!(dns.revert(id));
    assert!(!dns.revert(id), "second revert is a no-op");
    let got = lookup(&dns, false, "xsp1.lab.example", RecordType::A)
        .await
        .unwrap();
    assert_eq!(shown(&got), ["127.77.0.2"]);

    let lifecycle: Vec<_> = dns
        .journal()
        .query(&Filter::kind(Kind::Fault))
        .iter()
        .map(|e| e.attr("action").unwrap_or("").to_string())
        .collect();
    assert_eq!(lifecycle, ["inject", "revert"]);
}

#[tokio::test]
async fn servfail_refused_and_no_answer() {
    let dns = lab().await;
    let cases = [
        (DnsFault::ServFail, ResponseCode::ServFail, "SERVFAIL"),
        (DnsFault::Refused, ResponseCode::Refused, "REFUSED"),
        (DnsFault::NoAnswer, ResponseCode::NoError, "NOERROR"),
    ];
    for (fault, rcode, name) in cases {
        let id = dns.inject("_xsi-client._tcp.lab.example", Some(RecordType::SRV), fault);
        let raw = udp_query(&dns, "_xsi-client._tcp.lab.example", RecordType::SRV).await;
        assert_eq!(raw.metadata.response_code, rcode, "{fault}");
        assert!(raw.answers.is_empty(), "{fault}");
        let err = lookup(&dns, true, "_xsi-client._tcp.lab.example", RecordType::SRV)
            .await
            .unwrap_err();
        if fault == DnsFault::NoAnswer {
            assert!(err.is_no_records_found(), "{err}");
        }
        let entry = dns
            .journal()
            .query(
                &Filter::kind(Kind::Dns)
                    .attr("rcode", name)
                    .attr("proto", "tcp"),
            )
            .pop()
            .unwrap_or_else(|| panic!("{fault} over TCP journalled"));
        assert!(entry.summary.ends_with("(fault)"), "{}", entry.summary);
        dns.revert(id);
    }
    let got = lookup(&dns, false, "_xsi-client._tcp.lab.example", RecordType::SRV)
        .await
        .unwrap();
    assert_eq!(got.answers().len(), 2);
}

#[tokio::test]
async fn wildcard_pattern_and_any_type() {
    let dns = lab().await;
    let id = dns.inject("*.lab.example", None, DnsFault::Refused);
    for name in [
        "xsp1.lab.example",
        "_sip._tls.lab.example",
        "whatever.lab.example",
    ] {
        let raw = udp_query(&dns, name, RecordType::A).await;
        assert_eq!(raw.metadata.response_code, ResponseCode::Refused, "{name}");
    }
    // The apex is not below itself.
    let raw = udp_query(&dns, ZONE, RecordType::SOA).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NoError);
    // The newest matching fault wins; reverting it uncovers the older one.
    let newer = dns.inject("xsp1.lab.example", None, DnsFault::NxDomain);
    let raw = udp_query(&dns, "xsp1.lab.example", RecordType::A).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::NXDomain);
    dns.revert(newer);
    let raw = udp_query(&dns, "xsp1.lab.example", RecordType::A).await;
    assert_eq!(raw.metadata.response_code, ResponseCode::Refused);
    assert_eq!(dns.faults().list().len(), 1);
    dns.revert(id);
    assert!(dns.faults().list().is_empty());
}

#[tokio::test]
async fn truncation_makes_the_resolver_retry_over_tcp() {
    let dns = lab().await;
    dns.inject("xsp.lab.example", Some(RecordType::A), DnsFault::Truncate);
    // Raw UDP: TC set, no answers.
    let raw = udp_query(&dns, "xsp.lab.example", RecordType::A).await;
    assert!(raw.metadata.truncation);
    assert!(raw.answers.is_empty());

    let since = dns.journal().next_seq();
    let r = resolver(&dns, true, true, Duration::from_secs(3));
    let got = r.lookup("xsp.lab.example.", RecordType::A).await.unwrap();
    assert_eq!(shown(&got), ["127.77.0.2", "127.77.0.3", "127.77.0.4"]);

    let entries = dns.journal().query(
        &Filter::kind(Kind::Dns)
            .since(since)
            .attr("qname", "xsp.lab.example"),
    );
    let protos: Vec<_> = entries
        .iter()
        .map(|e| e.attr("proto").unwrap_or(""))
        .collect();
    assert_eq!(protos, ["udp", "tcp"], "{entries:?}");
    assert_eq!(entries[0].attr("tc"), Some("1"));
    assert_eq!(entries[0].summary, "A xsp.lab.example → NOERROR TC (fault)");
    assert_eq!(entries[1].attr("fault"), None, "TCP answers normally");
}

#[tokio::test]
async fn drop_means_no_response_and_a_client_timeout() {
    let dns = lab().await;
    let id = dns.inject("xsp1.lab.example", None, DnsFault::Drop);
    let started = std::time::Instant::now();
    let r = resolver(&dns, true, false, Duration::from_millis(300));
    let err = r
        .lookup("xsp1.lab.example.", RecordType::A)
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300), "{err}");
    assert!(
        udp_exchange(
            dns.udp_addr(),
            &query_bytes(1, "xsp1.lab.example", RecordType::A, true),
            Duration::from_millis(300)
        )
        .await
        .is_none()
    );
    // Over TCP, too.
    assert!(
        tcp_exchange(
            dns.tcp_addr(),
            &query_bytes(2, "xsp1.lab.example", RecordType::A, true),
            Duration::from_millis(300)
        )
        .await
        .is_none()
    );
    let dropped = dns
        .journal()
        .query(&Filter::kind(Kind::Dns).attr("fault", "drop"));
    assert!(dropped.len() >= 3, "{dropped:?}");
    assert_eq!(
        dropped[0].summary,
        "A xsp1.lab.example → no response (fault)"
    );
    assert_eq!(dropped[0].attr("rcode"), Some("none"));
    dns.revert(id);
    assert!(
        lookup(&dns, false, "xsp1.lab.example", RecordType::A)
            .await
            .is_ok()
    );
}

/// Tokio time is paused: the 30-second delay passes instantly in wall time but fully in
/// tokio time, so scenarios can test client timeouts without waiting.
#[tokio::test(start_paused = true)]
async fn delay_is_in_tokio_time_raw_client() {
    let dns = lab().await;
    dns.inject(
        "xsp1.lab.example",
        Some(RecordType::A),
        DnsFault::Delay { ms: 30_000 },
    );
    let wall = std::time::Instant::now();
    let virt = tokio::time::Instant::now();
    let bytes = udp_exchange(
        dns.udp_addr(),
        &query_bytes(9, "xsp1.lab.example", RecordType::A, true),
        Duration::from_secs(60),
    )
    .await
    .expect("delayed answer arrives");
    let msg = Message::from_vec(&bytes).unwrap();
    assert_eq!(msg.answers.len(), 1);
    assert!(
        virt.elapsed() >= Duration::from_secs(30),
        "{:?}",
        virt.elapsed()
    );
    assert!(virt.elapsed() < Duration::from_secs(60));
    assert!(
        wall.elapsed() < Duration::from_secs(10),
        "wall {:?}",
        wall.elapsed()
    );
    let entry = dns
        .journal()
        .query(&Filter::kind(Kind::Dns).attr("fault", "delay"))
        .pop()
        .unwrap();
    assert_eq!(
        entry.summary,
        "A xsp1.lab.example → 127.77.0.2 (fault: delayed 30000 ms)"
    );
}

/// The same with the real resolver: a delay shorter than its timeout is just late, a longer
/// one is a timeout.
#[tokio::test(start_paused = true)]
async fn delay_is_in_tokio_time_resolver() {
    let dns = lab().await;
    dns.inject(
        "xsp1.lab.example",
        Some(RecordType::A),
        DnsFault::Delay { ms: 4_000 },
    );
    let virt = tokio::time::Instant::now();
    let r = resolver(&dns, true, false, Duration::from_secs(10));
    let got = r.lookup("xsp1.lab.example.", RecordType::A).await.unwrap();
    assert_eq!(shown(&got), ["127.77.0.2"]);
    assert!(virt.elapsed() >= Duration::from_secs(4));

    let r = resolver(&dns, true, false, Duration::from_secs(2));
    assert!(r.lookup("xsp1.lab.example.", RecordType::A).await.is_err());
}
