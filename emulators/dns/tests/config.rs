//! The server built from the serde config form, as scenario files will write it.

mod common;

use bwlab_core::{AddressPlan, Filter, Host, Kind, Ports, Role};
use bwlab_dns::{DnsConfig, DnsError, DnsServer, RecordType};
use common::shown;
use hickory_proto::op::ResponseCode;

const YAML: &str = r#"
zones: [lab.example, webex-app-xsp.example.com]
ttl: 30
records:
  - { name: webex-cloud-xsp.lab.example, type: A, values: [127.77.0.48, 127.77.0.49] }
  - { name: xsp-dc1.webex-app-xsp.example.com, type: A, values: [127.77.0.48] }
  - { name: xsp-dc2.webex-app-xsp.example.com, type: a, values: [127.77.0.49], ttl: 5 }
  - name: _xsi-client._tcp.webex-app-xsp.example.com
    type: SRV
    values:
      - { priority: 10, weight: 10, port: 443, target: xsp-dc1.webex-app-xsp.example.com }
      - "20 10 443 xsp-dc2.webex-app-xsp.example.com."
  - name: lab.example
    type: NAPTR
    values:
      - { order: 10, preference: 10, flags: s, services: "SIPS+D2T", replacement: _sip._tls.lab.example }
  - { name: rr.lab.example, type: AAAA, values: ["fd00::1", "fd00::2"], rotate: true }
faults:
  - { name: "*.lab.example", type: AAAA, fault: servfail }
  - { name: slow.lab.example, fault: { delay: { ms: 10 } } }
"#;

#[tokio::test]
async fn yaml_config_starts_a_working_server() {
    let config: DnsConfig = serde_saphyr::from_str(YAML).expect("YAML parses");
    assert_eq!(config.records.len(), 6);
    let dns = DnsServer::from_config(&config).start().await.unwrap();

    let got = common::lookup(&dns, false, "webex-cloud-xsp.lab.example", RecordType::A)
        .await
        .unwrap();
    assert_eq!(shown(&got), ["127.77.0.48", "127.77.0.49"]);
    assert_eq!(got.answers()[0].ttl, 30);
    let srv = common::lookup(
        &dns,
        true,
        "_xsi-client._tcp.webex-app-xsp.example.com",
        RecordType::SRV,
    )
    .await
    .unwrap();
    assert_eq!(
        shown(&srv),
        [
            "10 10 443 xsp-dc1.webex-app-xsp.example.com.",
            "20 10 443 xsp-dc2.webex-app-xsp.example.com."
        ]
    );
    let faulted = common::udp_query(&dns, "rr.lab.example", RecordType::AAAA).await;
    assert_eq!(faulted.metadata.response_code, ResponseCode::ServFail);
    dns.faults().clear();
    let rr = common::lookup(&dns, false, "rr.lab.example", RecordType::AAAA)
        .await
        .unwrap();
    assert_eq!(rr.answers().len(), 2);

    // The running state comes back in the same shape, and round-trips.
    let back = dns.config();
    let dc2 = back
        .records
        .iter()
        .find(|r| r.name == "xsp-dc2.webex-app-xsp.example.com")
        .unwrap();
    assert_eq!((dc2.rtype.as_str(), dc2.ttl), ("A", Some(5)));
    assert!(
        back.records
            .iter()
            .any(|r| r.name == "rr.lab.example" && r.rotate)
    );
    let json = serde_json::to_string(&back).unwrap();
    let again: DnsConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(again, back);
    let again_dns = DnsServer::from_config(&again).start().await.unwrap();
    assert_eq!(again_dns.records().list(), dns.records().list());
}

#[tokio::test]
async fn report_serialises_records_and_faults() {
    let config: DnsConfig = serde_saphyr::from_str(YAML).unwrap();
    let dns = DnsServer::from_config(&config).start().await.unwrap();
    let report = serde_json::to_value(dns.report()).unwrap();
    assert_eq!(report["node"], "dns");
    assert_eq!(report["running"], true);
    assert_eq!(report["zones"].as_array().unwrap().len(), 2);
    let srv = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "SRV")
        .unwrap();
    assert_eq!(
        srv["values"][1]["target"],
        "xsp-dc2.webex-app-xsp.example.com"
    );
    assert_eq!(report["faults"][0]["fault"], "servfail");
    assert_eq!(report["faults"][0]["id"], 1);
    assert_eq!(report["faults"][1]["fault"]["delay"]["ms"], 10);
}

#[tokio::test]
async fn config_errors_are_reported_not_panicked() {
    let bad_ip: DnsConfig = serde_json::from_value(serde_json::json!({
        "zones": ["lab.example"],
        "records": [{"name": "x.lab.example", "type": "A", "values": ["300.1.1.1"]}]
    }))
    .unwrap();
    assert!(matches!(
        DnsServer::from_config(&bad_ip).start().await,
        Err(DnsError::InvalidValue { .. })
    ));
    let out_of_zone: DnsConfig = serde_json::from_value(serde_json::json!({
        "zones": ["lab.example"],
        "records": [{"name": "x.other.example", "type": "A", "values": ["127.0.0.1"]}]
    }))
    .unwrap();
    assert!(matches!(
        DnsServer::from_config(&out_of_zone).start().await,
        Err(DnsError::OutOfZone { .. })
    ));
    let no_zone = DnsConfig::new(Vec::<String>::new());
    assert!(matches!(
        DnsServer::from_config(&no_zone).start().await,
        Err(DnsError::NoZones)
    ));
    let bad_fault: Result<DnsConfig, _> = serde_json::from_value(serde_json::json!({
        "zones": ["lab.example"],
        "faults": [{"name": "x.lab.example", "fault": "explode"}]
    }));
    assert!(bad_fault.is_err());
    let unknown_field: Result<DnsConfig, _> = serde_json::from_value(serde_json::json!({
        "zones": ["lab.example"], "recrods": []
    }));
    assert!(unknown_field.is_err());
    let bad_bind = DnsServer::builder()
        .zone("lab.example")
        .bind(
            "192.0.2.1:0".parse().unwrap(),
            "192.0.2.1:0".parse().unwrap(),
        )
        .start()
        .await;
    assert!(
        matches!(bad_bind, Err(DnsError::Bind { .. })),
        "{bad_bind:?}"
    );
}

#[tokio::test]
async fn address_plan_node_and_journal_node_name() {
    let plan = AddressPlan::builder(Host::Localhost, Ports::Ephemeral)
        .node("dns-a", Role::Dns)
        .build()
        .unwrap();
    let journal = bwlab_core::Journal::new(bwlab_core::LabClock::system());
    let dns = DnsServer::builder()
        .zone("lab.example")
        .addresses("xsp1.lab.example", ["127.77.0.2"])
        .bind_plan(plan.node("dns-a").unwrap())
        .journal(journal.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(dns.node_name(), "dns-a");
    assert!(dns.udp_addr().ip().is_loopback());
    common::lookup(&dns, false, "xsp1.lab.example", RecordType::A)
        .await
        .unwrap();
    let entry = journal
        .query(&Filter::kind(Kind::Dns).node("dns-a"))
        .pop()
        .expect("entry under the plan's node name");
    assert_eq!(entry.attr("qname"), Some("xsp1.lab.example"));
    assert!(
        !journal
            .query(&Filter::kind(Kind::Lab).contains("dns up"))
            .is_empty()
    );
}
