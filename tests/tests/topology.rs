//! Topologies beyond the two layouts: dual-site behind load balancers, and explicit
//! topologies (farms, LBs with misconfigurations, DNS records), seen from outside through
//! the lab DNS and real sockets.

mod common;

use std::net::SocketAddr;

use common::{a_records, resolver, srv_records};

use base64::Engine as _;
use bwlab::core::{Filter, Kind};
use bwlab::topology::{Farm, TopoFarm, TopoLb, TopoRecord, TopoRecordData};
use bwlab::{Lab, Topology};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTPS GET with Basic credentials, `Connection: close`; status and raw answer.
async fn get(lab: &Lab, addr: SocketAddr, host: &str, path: &str) -> Result<(u16, String), String> {
    let cfg = bwlab::pki::client_config(&bwlab::pki::ClientOptions::new(
        lab.pki().lab_trust_bundle(),
    ))
    .unwrap();
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let password = lab
        .data()
        .find_user("alice@lab.example")
        .unwrap()
        .password_state()
        .portal;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("alice@lab.example:{password}"));
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {text:?}"))?;
    Ok((status, text))
}

const PROFILE: &str = "/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/profile";

#[tokio::test]
async fn dual_site_publishes_both_lbs_and_proxies_to_the_site_farm() {
    let lab = Lab::builder()
        .topology(Topology::dual_site("lab.example"))
        .start()
        .await
        .unwrap();
    let names: Vec<_> = lab.xsps().map(|(n, _)| n.to_owned()).collect();
    assert_eq!(names, ["xsp1", "xsp2", "xsp3", "xsp4"]);
    let lb_a = lab.lb("lb-site-a").expect("site A LB");
    let lb_b = lab.lb("lb-site-b").expect("site B LB");

    // The cloud's farm name lists both LBs; the App's SRV records name the per-site LBs,
    // site A first, with the ports the LBs really listen on.
    let r = resolver(lab.dns_addr());
    let mut want = vec![lb_a.addr().ip(), lb_b.addr().ip()];
    want.sort();
    assert_eq!(a_records(&r, "xsp.lab.example").await, want);
    let srv = srv_records(&r, "_xsi-client._tcp.xsp-app.lab.example").await;
    assert_eq!(
        srv,
        [
            (10, lb_a.addr().port(), "lb-site-a.lab.example".to_owned()),
            (20, lb_b.addr().port(), "lb-site-b.lab.example".to_owned()),
        ]
    );
    assert_eq!(
        a_records(&r, "xsp-app.lab.example").await,
        [lb_a.addr().ip()]
    );

    // Through site B's LB (TLS terminated with the LB's certificate for the farm name), the
    // request reaches xsp3 or xsp4, which see the LB as their peer.
    let (status, _) = get(&lab, lb_b.addr(), "xsp.lab.example", PROFILE)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let seen = lab.journal().query(&Filter::kind(Kind::Http));
    let on_xsp = seen
        .iter()
        .find(|e| e.attr("path") == Some(PROFILE) && e.node.starts_with("xsp"))
        .expect("the XSP journalled the request");
    assert!(["xsp3", "xsp4"].contains(&&*on_xsp.node), "{}", on_xsp.node);
    assert_eq!(on_xsp.peer.map(|p| p.ip()), Some(lb_b.addr().ip()));
    let on_lb = seen
        .iter()
        .find(|e| &*e.node == "lb-site-b" && e.attr("path") == Some(PROFILE))
        .expect("the LB journalled the request");
    assert_eq!(on_lb.attr("backend"), Some(&*on_xsp.node));

    // Site A down: its LB resets every connection; site B still answers.
    let id = lb_a.net_faults().add(bwlab::net::faults::ToxicRule::new(
        bwlab::net::faults::Toxic::ResetPeer { timeout: 0 },
    ));
    assert!(
        get(&lab, lb_a.addr(), "xsp.lab.example", PROFILE)
            .await
            .is_err()
    );
    assert_eq!(
        get(&lab, lb_b.addr(), "xsp.lab.example", PROFILE)
            .await
            .unwrap()
            .0,
        200
    );
    lb_a.net_faults().remove(id);
    assert_eq!(
        get(&lab, lb_a.addr(), "xsp.lab.example", PROFILE)
            .await
            .unwrap()
            .0,
        200
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn explicit_topology_records_and_a_redirecting_lb() {
    let topo = Topology::from_parts(
        "lab.example",
        vec!["main".into()],
        vec![TopoFarm {
            name: "webex".into(),
            site: Some("main".into()),
            nodes: vec!["xsp1".into(), "xsp2".into()],
            kind: Farm::Combined,
        }],
        vec![TopoLb {
            name: "lb1".into(),
            site: Some("main".into()),
            farm: "webex".into(),
            passthrough: false,
            random: false,
            affinity: true,
            health: None,
            redirect: true,
        }],
        vec![TopoRecord {
            name: "xsi".into(),
            data: TopoRecordData::A(vec!["xsp1".into(), "xsp2".into()]),
            ttl: Some(5),
        }],
        &[],
    );
    let lab = Lab::builder().topology(topo).start().await.unwrap();
    let r = resolver(lab.dns_addr());
    let ips = |n: &str| lab.plan().node(n).unwrap().ip;
    let mut both = vec![ips("xsp1"), ips("xsp2")];
    both.sort();
    // An explicit record: one name, several XSPs (no LB) — and the certificates carry it.
    assert_eq!(a_records(&r, "xsi.lab.example").await, both);
    let set = lab
        .dns()
        .records()
        .get("xsi.lab.example", bwlab::dns::RecordType::A)
        .unwrap();
    assert_eq!(set.ttl, Some(5));
    let xsp2 = lab.xsp("xsp2").unwrap().https_addr();
    assert_eq!(
        get(&lab, xsp2, "xsi.lab.example", PROFILE).await.unwrap().0,
        200
    );
    // The LB is the farm's front door, and it answers with a redirect to a backend.
    assert_eq!(a_records(&r, "xsp.lab.example").await, [ips("lb1")]);
    let lb = lab.lb("lb1").unwrap();
    let (status, text) = get(&lab, lb.addr(), "xsp.lab.example", PROFILE)
        .await
        .unwrap();
    assert!((300..400).contains(&status), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("location: https://xsp"),
        "{text}"
    );
    lab.shutdown().await;
}

#[test]
fn certificate_names_follow_the_topology() {
    let t = Topology::dual_site("lab.example");
    let lb = t.certificate_names("lb-site-a");
    assert!(lb.contains(&"xsp.lab.example".to_owned()), "{lb:?}");
    assert!(lb.contains(&"xsp-app.lab.example".to_owned()), "{lb:?}");
    assert_eq!(t.front_doors(), ["lb-site-a", "lb-site-b"]);
    let single = Topology::single_xsp("lab.example");
    assert_eq!(single.front_doors(), ["xsp1"]);
}

/// A node taken down the way scenarios do it (connections accepted, then reset) is noticed
/// by the dual-site LBs' HTTPS health checks, and taken back when it is up again.
#[tokio::test(start_paused = true)]
async fn dual_site_health_checks_notice_a_node_taken_down() {
    use bwlab::net::faults::{Toxic, ToxicRule};
    use std::time::Duration;
    let lab = Lab::builder()
        .topology(Topology::dual_site("lab.example"))
        .start()
        .await
        .unwrap();
    let lb = lab.lb("lb-site-a").unwrap();
    let xsp1 = lab.xsp("xsp1").unwrap();
    let id = xsp1
        .net_faults()
        .add(ToxicRule::new(Toxic::ResetPeer { timeout: 0 }));
    let down = Filter::kind(Kind::Lab)
        .node("lb-site-a")
        .attr("backend", "xsp1")
        .attr("state", "down");
    lab.journal()
        .wait_for(&down, Duration::from_secs(30))
        .await
        .expect("xsp1 marked down by the health check");
    assert_eq!(lb.backend_up("xsp1"), Some(false));
    assert_eq!(lb.backend_up("xsp2"), Some(true));
    xsp1.net_faults().remove(id);
    let up = Filter::kind(Kind::Lab)
        .node("lb-site-a")
        .attr("backend", "xsp1")
        .attr("state", "up");
    lab.journal()
        .wait_for(&up, Duration::from_secs(30))
        .await
        .expect("xsp1 marked up again");
    lab.shutdown().await;
}
