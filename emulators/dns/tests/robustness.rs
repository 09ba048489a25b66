//! Bad input never takes the server down: malformed datagrams and streams, odd requests,
//! and random bytes through the parse path.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_dns::{Protocol, RecordType};
use common::*;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use proptest::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_millis(500);

fn rcode_of(bytes: &[u8]) -> ResponseCode {
    Message::from_vec(bytes)
        .expect("response parses")
        .metadata
        .response_code
}

#[tokio::test]
async fn malformed_udp_never_stops_the_server() {
    let dns = lab().await;
    let addr = dns.udp_addr();
    // Shorter than a header: silently dropped.
    assert!(udp_exchange(addr, b"\x01\x02\x03", WAIT).await.is_none());
    assert!(udp_exchange(addr, b"", WAIT).await.is_none());
    // A header announcing a question that is not there: FORMERR (from the socket layer).
    let header_only = [0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    let resp = udp_exchange(addr, &header_only, WAIT)
        .await
        .expect("FORMERR");
    assert_eq!(rcode_of(&resp), ResponseCode::FormErr);
    assert_eq!(&resp[..2], &[0xab, 0xcd]);
    // A label running past the end.
    let mut truncated = query_bytes(5, "xsp1.lab.example", RecordType::A, false);
    truncated.truncate(20);
    let resp = udp_exchange(addr, &truncated, WAIT).await.expect("FORMERR");
    assert_eq!(rcode_of(&resp), ResponseCode::FormErr);
    // Random garbage of header size and more.
    let garbage: Vec<u8> = (0..300u32)
        .map(|i| (i.wrapping_mul(97) ^ 0x5a) as u8)
        .collect();
    let _ = udp_exchange(addr, &garbage, WAIT).await;
    // A message that is itself a response: ignored (no reflection).
    let mut response = Message::new(6, MessageType::Response, OpCode::Query);
    response.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("xsp1.lab.example.").unwrap(),
        RecordType::A,
    ));
    assert!(
        udp_exchange(addr, &response.to_vec().unwrap(), WAIT)
            .await
            .is_none()
    );

    // Still serving.
    let good = udp_query(&dns, "xsp1.lab.example", RecordType::A).await;
    assert_eq!(good.answers.len(), 1);
}

#[tokio::test]
async fn requests_the_lab_does_not_serve_are_answered_and_journalled() {
    let dns = lab().await;
    let addr = dns.udp_addr();
    // No question at all.
    let empty = Message::new(11, MessageType::Query, OpCode::Query)
        .to_vec()
        .unwrap();
    let resp = udp_exchange(addr, &empty, WAIT).await.expect("answer");
    assert_eq!(rcode_of(&resp), ResponseCode::FormErr);
    // Two questions.
    let mut two = Message::new(12, MessageType::Query, OpCode::Query);
    for n in ["xsp1.lab.example.", "xsp2.lab.example."] {
        two.add_query(hickory_proto::op::Query::query(
            hickory_proto::rr::Name::from_ascii(n).unwrap(),
            RecordType::A,
        ));
    }
    let resp = udp_exchange(addr, &two.to_vec().unwrap(), WAIT)
        .await
        .expect("answer");
    assert_eq!(rcode_of(&resp), ResponseCode::FormErr);
    // A NOTIFY.
    let mut notify = Message::new(13, MessageType::Query, OpCode::Notify);
    notify.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("lab.example.").unwrap(),
        RecordType::SOA,
    ));
    let resp = udp_exchange(addr, &notify.to_vec().unwrap(), WAIT)
        .await
        .expect("answer");
    assert_eq!(rcode_of(&resp), ResponseCode::NotImp);
    // EDNS version 1.
    let mut v1 = Message::new(14, MessageType::Query, OpCode::Query);
    v1.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("xsp1.lab.example.").unwrap(),
        RecordType::A,
    ));
    let mut edns = hickory_proto::op::Edns::new();
    edns.set_version(1);
    v1.set_edns(edns);
    let resp = udp_exchange(addr, &v1.to_vec().unwrap(), WAIT)
        .await
        .expect("answer");
    // Extended rcode 16 is both BADVERS and BADSIG; hickory decodes it as BADSIG.
    assert!(matches!(
        rcode_of(&resp),
        ResponseCode::BADVERS | ResponseCode::BADSIG
    ));
    // Zone transfers are refused.
    let axfr = tcp_exchange(
        dns.tcp_addr(),
        &query_bytes(15, "lab.example", RecordType::AXFR, false),
        WAIT,
    )
    .await
    .expect("answer");
    assert_eq!(rcode_of(&axfr), ResponseCode::Refused);

    let j = dns.journal();
    assert_eq!(
        j.query(&Filter::kind(Kind::Dns).attr("rcode", "FORMERR"))
            .len(),
        2
    );
    assert_eq!(
        j.query(&Filter::kind(Kind::Dns).attr("rcode", "NOTIMP"))
            .len(),
        1
    );
    assert_eq!(
        j.query(&Filter::kind(Kind::Dns).attr("rcode", "BADVERS"))
            .len(),
        1
    );
}

#[tokio::test]
async fn malformed_tcp_never_stops_the_server() {
    let dns = lab().await;
    let addr = dns.tcp_addr();
    // Garbage frame, then the connection just goes away.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0x00, 0x05, 1, 2, 3, 4, 5]).await.unwrap();
    drop(s);
    // A length prefix promising more than is sent.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0x01, 0x00, 9, 9, 9]).await.unwrap();
    drop(s);
    // A half length prefix.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0x01]).await.unwrap();
    drop(s);
    // A framed header without its question: FORMERR.
    let header_only = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    let resp = tcp_exchange(addr, &header_only, WAIT)
        .await
        .expect("FORMERR");
    assert_eq!(rcode_of(&resp), ResponseCode::FormErr);

    let good = tcp_exchange(
        addr,
        &query_bytes(3, "xsp1.lab.example", RecordType::A, false),
        WAIT,
    )
    .await
    .expect("answer after garbage");
    let msg = Message::from_vec(&good).unwrap();
    assert_eq!(msg.answers.len(), 1);
    assert!(
        lookup(&dns, true, "xsp1.lab.example", RecordType::A)
            .await
            .is_ok()
    );
    assert!(
        lookup(&dns, false, "xsp1.lab.example", RecordType::A)
            .await
            .is_ok()
    );
}

/// Checks one raw answer: if there is one, it parses and carries the request's id.
fn check_answer(input: &[u8], output: Option<Vec<u8>>) -> Result<(), TestCaseError> {
    if let Some(out) = output {
        prop_assert!(out.len() >= 12, "short answer {out:?}");
        prop_assert_eq!(&out[..2], &input[..2]);
        let msg = Message::from_vec(&out);
        prop_assert!(msg.is_ok(), "unparseable answer for {:?}", input);
    }
    Ok(())
}

#[test]
fn random_bytes_through_the_parse_path_never_panic() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dns = rt.block_on(lab());
    let handler = dns.handler().clone();
    let src: SocketAddr = "127.0.0.1:5353".parse().unwrap();
    let seed = query_bytes(
        0x7777,
        "_xsi-client._tcp.lab.example",
        RecordType::SRV,
        true,
    );

    proptest!(ProptestConfig::with_cases(3000), |(bytes in proptest::collection::vec(any::<u8>(), 0..700), tcp in any::<bool>())| {
        let proto = if tcp { Protocol::Tcp } else { Protocol::Udp };
        let out = rt.block_on(handler.answer_bytes(&bytes, src, proto));
        check_answer(&bytes, out)?;
    });

    // Mutations of a real query reach much deeper than pure noise.
    proptest!(ProptestConfig::with_cases(3000), |(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>())| {
        let mut bytes = seed.clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if cut.index(4) == 0 {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let out = rt.block_on(handler.answer_bytes(&bytes, src, Protocol::Udp));
        if bytes.len() >= 12 {
            check_answer(&bytes, out)?;
        }
    });

    // And the server is still fine over a real socket.
    let msg = rt.block_on(udp_query(&dns, "xsp1.lab.example", RecordType::A));
    assert_eq!(msg.answers.len(), 1);
}

#[tokio::test]
async fn answer_bytes_matches_the_socket_answer() {
    let dns = lab().await;
    let q = query_bytes(0x1111, "xsp.lab.example", RecordType::A, true);
    let direct = dns
        .handler()
        .answer_bytes(&q, "127.0.0.1:4000".parse().unwrap(), Protocol::Udp)
        .await
        .unwrap();
    let wire = udp_exchange(dns.udp_addr(), &q, WAIT).await.unwrap();
    assert_eq!(direct, wire);
}

/// `dig` as a person would use it; CI installs dnsutils, elsewhere this skips loudly.
#[tokio::test]
async fn dig_sees_the_lab() {
    if tokio::process::Command::new("dig")
        .arg("-v")
        .output()
        .await
        .is_err()
    {
        eprintln!("SKIP dig_sees_the_lab: `dig` is not on PATH (apt-get install dnsutils)");
        return;
    }
    let dns = lab().await;
    let port = dns.udp_addr().port().to_string();
    let dig = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new("dig");
        cmd.args(["@127.0.0.1", "-p", &port, "+time=2", "+tries=1"])
            .args(args);
        cmd
    };
    let out = dig(&["SRV", "_xsi-client._tcp.lab.example", "+short"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["10 10 443 xsp1.lab.example.", "20 10 443 xsp2.lab.example."],
        "dig said: {text}"
    );
    let out = dig(&["+tcp", "A", "xsp.lab.example", "+short"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["127.77.0.2", "127.77.0.3", "127.77.0.4"]
    );
    let out = dig(&["NAPTR", "lab.example", "+short"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        "10 10 \"s\" \"SIPS+D2T\" \"\" _sip._tls.lab.example."
    );
    let out = dig(&["A", "nope.lab.example"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("status: NXDOMAIN"), "{text}");
    assert!(text.contains(" aa"), "authoritative flag shown: {text}");
    let tcp = dns
        .journal()
        .query(&Filter::kind(Kind::Dns).attr("proto", "tcp"));
    assert_eq!(tcp.len(), 1);
}
