//! The format's names line up with the fault types the emulators already have.

use bwlab_scenario::fault::{BadCertificate, DnsReply};

#[test]
fn bad_certificate_names_are_bwlab_pki_bad_cert_names() {
    for bad in bwlab_pki::BadCert::ALL {
        let name = serde_json::to_value(bad).unwrap();
        let ours: BadCertificate = serde_json::from_value(name.clone())
            .unwrap_or_else(|e| panic!("{name} is not a scenario bad_certificate: {e}"));
        assert_eq!(serde_json::to_value(ours).unwrap(), name);
    }
}

#[test]
fn dns_replies_are_bwlab_dns_faults() {
    let replies = [
        DnsReply::Nxdomain,
        DnsReply::Servfail,
        DnsReply::Refused,
        DnsReply::NoAnswer,
        DnsReply::Delay { ms: 250 },
        DnsReply::Truncate,
        DnsReply::Drop,
    ];
    for r in replies {
        let v = serde_json::to_value(r).unwrap();
        let theirs: bwlab_dns::DnsFault = serde_json::from_value(v.clone())
            .unwrap_or_else(|e| panic!("{v} is not a bwlab_dns::DnsFault: {e}"));
        assert_eq!(serde_json::to_value(theirs).unwrap(), v);
    }
}

#[test]
fn transport_rules_are_bwlab_net_toxic_rules() {
    let src = "\
name: toxics
sut: {reference: webex-app}
faults:
  - {latency: {latency: 300ms, jitter: 50ms}, stream: upstream, toxicity: 0.5}
  - {bandwidth: {rate: 16}}
  - {slow_close: {delay: 3s}}
  - {timeout: {timeout: 0s}}
  - {reset_peer: {timeout: 500ms}}
  - {slicer: {average_size: 64, size_variation: 16, delay: 5ms}}
  - {limit_data: {bytes: 2048}}
  - {http_status: {status: 503}}
";
    let s = bwlab_scenario::parse_str(src, "t.yaml").unwrap();
    let json: Vec<_> = s.faults.iter().map(|f| f.toxiproxy_json()).collect();
    assert!(json[7].is_none(), "not a transport fault");
    for v in json.into_iter().flatten() {
        let rule: bwlab_net::faults::ToxicRule = serde_json::from_value(v.clone())
            .unwrap_or_else(|e| panic!("{v} is not a bwlab_net toxic rule: {e}"));
        assert_eq!(rule.toxic.name(), v["type"]);
    }
    let first = s.faults[0].toxiproxy_json().unwrap();
    assert_eq!(
        first,
        serde_json::json!({"type": "latency", "latency": 300, "jitter": 50, "stream": "upstream", "toxicity": 0.5})
    );
    let slicer = s.faults[5].toxiproxy_json().unwrap();
    assert_eq!(
        slicer["delay"], 5000,
        "Toxiproxy's slicer delay is in microseconds"
    );
}
