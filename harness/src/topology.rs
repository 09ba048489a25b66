//! The lab's topology: which nodes exist (XSPs, load balancers, DNS, cloud hosts), how XSPs
//! form farms and sites, and the DNS records that tie them together.
//!
//! Built-ins follow the Webex-for-BroadWorks guides ([`Topology::with_layout`] for the two
//! XSP layouts, [`Topology::single_xsp`], [`Topology::dual_site`]); anything else is an
//! explicit topology ([`Topology::from_parts`], what a scenario's `topology:` map
//! becomes). The naming conventions are the same for all of them:
//!
//! - every node has `<name>.<domain>`;
//! - a farm's *front doors* are its load balancers, or its nodes when it has none;
//! - the cloud farm name `xsp.<domain>` has one A record per front door of the TLS farms;
//! - the App's `_xsi-client._tcp.xsp-app.<domain>` has one SRV record per front door,
//!   priorities 10, 20, … in topology order (site A before site B), and `xsp-app.<domain>`
//!   itself one A record (the first front door), as the guide requires;
//! - `xsp-mtls.<domain>` names the mTLS-only farm (layout option 2);
//! - explicit `dns:` records replace the conventional records of the same name.

use std::net::IpAddr;

use bwlab_core::addr::{AddressPlan, Host, PlanError, Ports, Role};
use bwlab_dns::{RecordData, Srv};
use serde::Serialize;

/// A node of the topology.
#[derive(Clone, Debug, Serialize)]
pub struct TopoNode {
    pub name: String,
    pub role: Role,
    /// Whether this build of bwlab can start the node yet. Planned nodes already have an
    /// address, DNS names and certificates.
    pub implemented: bool,
    /// Names outside the lab zone this node answers for (the Webex cloud hosts), each with
    /// its own certificate.
    pub hosts: Vec<String>,
    /// For XSPs: which farm of the layout the node belongs to.
    pub farm: Farm,
}

/// The two XSP|ADP layouts of the Webex-for-BroadWorks guide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum XspLayout {
    /// One farm; every node has a TLS interface (`https`) plus the mTLS interfaces
    /// (`https-mtls`, and `cti` for the Webex CTI client).
    #[default]
    Option1,
    /// Two farms: `xsp1`/`xsp2` serve TLS only (Xsi, AuthService, DMS); `xsp-mtls1`/
    /// `xsp-mtls2` serve only mTLS (CTI and the mTLS AuthService), under their own farm
    /// name `xsp-mtls.<domain>`.
    Option2,
}

impl std::str::FromStr for XspLayout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "option1" | "option-1" | "1" => Ok(XspLayout::Option1),
            "option2" | "option-2" | "2" => Ok(XspLayout::Option2),
            _ => Err(format!("unknown XSP layout {s:?} (option1 or option2)")),
        }
    }
}

/// Which interfaces an XSP serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Farm {
    /// TLS and mTLS interfaces on one node (layout option 1); also used for non-XSPs.
    #[default]
    Combined,
    /// TLS only (layout option 2).
    Tls,
    /// mTLS only (layout option 2).
    Mtls,
}

/// A farm of XSP|ADP nodes with the same applications and configuration.
#[derive(Clone, Debug, Serialize)]
pub struct TopoFarm {
    pub name: String,
    pub site: Option<String>,
    pub nodes: Vec<String>,
    /// Which interfaces its nodes serve.
    pub kind: Farm,
}

/// A load balancer in front of one farm.
#[derive(Clone, Debug, Serialize)]
pub struct TopoLb {
    pub name: String,
    pub site: Option<String>,
    pub farm: String,
    /// TLS-terminating (re-encrypting to the XSP) or pass-through.
    pub passthrough: bool,
    /// Seeded random instead of round-robin.
    pub random: bool,
    /// Session persistence on the XSP's cookie.
    pub affinity: bool,
    /// Health-check interval and HTTP path (TCP connect without a path).
    pub health: Option<(std::time::Duration, Option<String>)>,
    /// The guide's misconfiguration: answer with a redirect to a backend.
    pub redirect: bool,
}

/// What an explicit DNS record holds.
#[derive(Clone, Debug, Serialize)]
pub enum TopoRecordData {
    /// Node names (their lab addresses) or literal IP addresses.
    A(Vec<String>),
    /// `(target, priority, weight, port)`; a target that is a node name means its FQDN, and
    /// port 443 on a node means wherever its HTTPS listener really is.
    Srv(Vec<(String, u16, u16, u16)>),
    Cname(String),
}

/// An explicit DNS record; it replaces the conventional records of the same name.
#[derive(Clone, Debug, Serialize)]
pub struct TopoRecord {
    pub name: String,
    pub data: TopoRecordData,
    /// Time to live in seconds (the DNS server's default when `None`).
    pub ttl: Option<u32>,
}

/// Nodes plus the DNS naming conventions of the Webex-for-BroadWorks guides.
#[derive(Clone, Debug, Serialize)]
pub struct Topology {
    /// The lab zone, e.g. `lab.example`.
    pub domain: String,
    pub nodes: Vec<TopoNode>,
    pub sites: Vec<String>,
    pub farms: Vec<TopoFarm>,
    pub lbs: Vec<TopoLb>,
    pub records: Vec<TopoRecord>,
}

impl Topology {
    /// The default lab: the DNS server and a two-node XSP farm.
    pub fn default_lab(domain: &str) -> Self {
        Self::with_layout(domain, XspLayout::Option1)
    }

    /// The built-in topologies by name: `single-xsp`, `option1`, `internet-facing` (the
    /// same lab as `option1`: XSPs published directly), `option2`, `dual-site`.
    pub const BUILTIN: [&'static str; 5] = [
        "single-xsp",
        "option1",
        "option2",
        "dual-site",
        "internet-facing",
    ];

    /// A built-in topology by name (see [`BUILTIN`](Self::BUILTIN)).
    pub fn builtin(name: &str, domain: &str) -> Option<Self> {
        Some(match name {
            "single-xsp" => Self::single_xsp(domain),
            "option1" | "internet-facing" => Self::with_layout(domain, XspLayout::Option1),
            "option2" => Self::with_layout(domain, XspLayout::Option2),
            "dual-site" => Self::dual_site(domain),
            _ => return None,
        })
    }

    /// The default lab with the XSPs in `layout`.
    pub fn with_layout(domain: &str, layout: XspLayout) -> Self {
        let mut farms = vec![farm("webex", None, &["xsp1", "xsp2"], Farm::Combined)];
        if layout == XspLayout::Option2 {
            farms[0].kind = Farm::Tls;
            farms.push(farm(
                "xsp-mtls",
                None,
                &["xsp-mtls1", "xsp-mtls2"],
                Farm::Mtls,
            ));
        }
        Self::build(domain, Vec::new(), farms, Vec::new(), Vec::new(), &[])
    }

    /// One XSP (`xsp1`) published directly.
    pub fn single_xsp(domain: &str) -> Self {
        let farms = vec![farm("webex", None, &["xsp1"], Farm::Combined)];
        Self::build(domain, Vec::new(), farms, Vec::new(), Vec::new(), &[])
    }

    /// Two sites: `lb-site-a` in front of `xsp1`+`xsp2`, `lb-site-b` in front of
    /// `xsp3`+`xsp4` (TLS-terminating, round-robin, cookie affinity, HTTPS health checks
    /// every 5 s). The cloud's A record lists both LBs; the App's SRV records point at the
    /// per-site LB names, site A first.
    pub fn dual_site(domain: &str) -> Self {
        let sites = vec!["site-a".to_owned(), "site-b".to_owned()];
        let farms = vec![
            farm("farm-a", Some("site-a"), &["xsp1", "xsp2"], Farm::Combined),
            farm("farm-b", Some("site-b"), &["xsp3", "xsp4"], Farm::Combined),
        ];
        let lb = |name: &str, site: &str, farm: &str| TopoLb {
            name: name.to_owned(),
            site: Some(site.to_owned()),
            farm: farm.to_owned(),
            passthrough: false,
            random: false,
            affinity: true,
            // HTTPS probes: a node taken down still accepts TCP, then resets.
            health: Some((
                std::time::Duration::from_secs(5),
                Some("/com.broadsoft.xsi-actions/v2.0/".to_owned()),
            )),
            redirect: false,
        };
        let lbs = vec![
            lb("lb-site-a", "site-a", "farm-a"),
            lb("lb-site-b", "site-b", "farm-b"),
        ];
        Self::build(domain, sites, farms, lbs, Vec::new(), &[])
    }

    /// An explicit topology. A farm marked mTLS makes the other farms TLS-only (layout
    /// option 2); without farms the default two-node farm is used. `planned` are nodes
    /// outside the farms: XSPs (started) and other roles (AS, NS, …: an address, a DNS name
    /// and a certificate, not started).
    pub fn from_parts(
        domain: &str,
        sites: Vec<String>,
        mut farms: Vec<TopoFarm>,
        lbs: Vec<TopoLb>,
        records: Vec<TopoRecord>,
        planned: &[(String, Role)],
    ) -> Self {
        if farms.is_empty() {
            farms.push(farm("webex", None, &["xsp1", "xsp2"], Farm::Combined));
        }
        if farms.iter().any(|f| f.kind == Farm::Mtls) {
            for f in farms.iter_mut().filter(|f| f.kind == Farm::Combined) {
                f.kind = Farm::Tls;
            }
        }
        Self::build(domain, sites, farms, lbs, records, planned)
    }

    fn build(
        domain: &str,
        sites: Vec<String>,
        farms: Vec<TopoFarm>,
        lbs: Vec<TopoLb>,
        records: Vec<TopoRecord>,
        planned: &[(String, Role)],
    ) -> Self {
        let node = |name: &str, role, implemented| TopoNode {
            name: name.to_string(),
            role,
            implemented,
            hosts: Vec::new(),
            farm: Farm::Combined,
        };
        let cloud = |name: &str, host: &str| TopoNode {
            hosts: vec![host.to_string()],
            ..node(name, Role::Cloud, true)
        };
        let mut nodes = vec![node("dns", Role::Dns, true)];
        for f in &farms {
            for n in &f.nodes {
                if !nodes.iter().any(|x| &x.name == n) {
                    nodes.push(TopoNode {
                        farm: f.kind,
                        ..node(n, Role::Xsp, true)
                    });
                }
            }
        }
        for lb in &lbs {
            nodes.push(node(&lb.name, Role::Lb, true));
        }
        for (name, role) in planned {
            if !nodes.iter().any(|x| &x.name == name) {
                let implemented = *role == Role::Xsp;
                nodes.push(node(name, *role, implemented));
            }
        }
        nodes.extend([
            cloud("ci-us-a", "idbroker.webex.com"),
            cloud("ci-eu", "idbroker-eu.webex.com"),
            cloud("ci-us-b", "idbroker-b-us.webex.com"),
            cloud("idp-proxy", "broadworks-idp-proxy-a.wbx2.com"),
        ]);
        Self {
            domain: domain.to_ascii_lowercase(),
            nodes,
            sites,
            farms,
            lbs,
            records,
        }
    }

    /// The farm name of the mTLS-only nodes (layout option 2): what Partner Hub's CTI URL
    /// and the mTLS AuthService URL name.
    pub fn mtls_xsp_fqdn(&self) -> String {
        format!("xsp-mtls.{}", self.domain)
    }

    /// XSPs that serve the TLS interface (the cloud and App farm names point at these).
    pub fn tls_xsp_nodes(&self) -> impl Iterator<Item = &TopoNode> {
        self.xsp_nodes().filter(|n| n.farm != Farm::Mtls)
    }

    /// A node's own FQDN: `<name>.<domain>`.
    pub fn fqdn(&self, node: &str) -> String {
        format!("{node}.{}", self.domain)
    }

    /// A name as written in a topology: as written when it ends with a trailing dot or with
    /// one of the lab's zones (the lab zone, `webex.com`, …), else relative to the lab zone.
    pub fn qualify(&self, name: &str) -> String {
        let n = name.trim_end_matches('.').to_ascii_lowercase();
        let in_zone = self
            .zones()
            .iter()
            .any(|z| n == *z || n.ends_with(&format!(".{z}")));
        if name.ends_with('.') || in_zone {
            n
        } else {
            format!("{n}.{}", self.domain)
        }
    }

    /// The node a name stands for: a node name, or `<node>.<domain>`.
    fn node_named<'p>(
        &self,
        plan: &'p AddressPlan,
        name: &str,
    ) -> Option<&'p bwlab_core::addr::NodePlan> {
        let q = self.qualify(name);
        let short = q.strip_suffix(&format!(".{}", self.domain)).unwrap_or(&q);
        plan.node(name).or_else(|| plan.node(short))
    }

    /// The farm name Webex cloud services use: A records with every XSP address.
    pub fn cloud_xsp_fqdn(&self) -> String {
        format!("xsp.{}", self.domain)
    }

    /// The Xsi host the Webex App is given; it discovers XSPs through
    /// `_xsi-client._tcp.<this>` and must never see more than one address per name.
    pub fn app_xsp_fqdn(&self) -> String {
        format!("xsp-app.{}", self.domain)
    }

    /// DNS zones the lab server is authoritative for: the lab zone plus the parent domains
    /// of the cloud hosts (`webex.com`, `wbx2.com`), so a SUT pointed at the lab DNS finds
    /// the fake cloud under its real names.
    pub fn zones(&self) -> Vec<String> {
        let mut zones = vec![self.domain.clone()];
        for host in self.nodes.iter().flat_map(|n| &n.hosts) {
            let labels: Vec<&str> = host.rsplitn(3, '.').collect();
            if labels.len() >= 2 {
                let zone = format!("{}.{}", labels[1], labels[0]);
                if !zones.contains(&zone) {
                    zones.push(zone);
                }
            }
        }
        zones
    }

    pub fn xsp_nodes(&self) -> impl Iterator<Item = &TopoNode> {
        self.nodes.iter().filter(|n| n.role == Role::Xsp)
    }

    /// The load balancers in front of `farm`.
    pub fn lbs_of(&self, farm: &str) -> impl Iterator<Item = &TopoLb> {
        self.lbs.iter().filter(move |l| l.farm == farm)
    }

    /// The farm a node belongs to.
    pub fn farm_of(&self, node: &str) -> Option<&TopoFarm> {
        self.farms
            .iter()
            .find(|f| f.nodes.iter().any(|n| n == node))
    }

    /// Where clients of the TLS farms enter, in order: each farm's load balancers, or its
    /// nodes when it has none. XSPs outside any farm come last.
    pub fn front_doors(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in self.farms.iter().filter(|f| f.kind != Farm::Mtls) {
            let lbs: Vec<_> = self.lbs_of(&f.name).map(|l| l.name.clone()).collect();
            if lbs.is_empty() {
                out.extend(f.nodes.iter().cloned());
            } else {
                out.extend(lbs);
            }
        }
        for n in self.xsp_nodes() {
            if n.farm != Farm::Mtls && self.farm_of(&n.name).is_none() {
                out.push(n.name.clone());
            }
        }
        out
    }

    /// Extra names a node's certificate must carry: the farm names for XSPs, the names
    /// of LBs that pass TLS through to it, and every explicit record that points at it.
    pub fn certificate_names(&self, node: &str) -> Vec<String> {
        let mut out = Vec::new();
        let Some(n) = self.nodes.iter().find(|n| n.name == node) else {
            return out;
        };
        match (n.role, n.farm) {
            (Role::Xsp, Farm::Mtls) => out.push(self.mtls_xsp_fqdn()),
            (Role::Xsp, _) | (Role::Lb, _) => {
                out.push(self.cloud_xsp_fqdn());
                out.push(self.app_xsp_fqdn());
            }
            _ => {}
        }
        if n.role == Role::Xsp
            && let Some(f) = self.farm_of(node)
        {
            for lb in self.lbs_of(&f.name).filter(|l| l.passthrough) {
                out.push(self.fqdn(&lb.name));
            }
        }
        // Whoever presents this node's certificate for a name: the node itself, or the XSPs
        // behind a pass-through LB (TLS goes through it untouched).
        let presents = |target: &str| {
            target == node
                || (n.role == Role::Xsp
                    && self.farm_of(node).is_some_and(|f| {
                        self.lbs_of(&f.name)
                            .any(|l| l.passthrough && l.name == target)
                    }))
        };
        for r in &self.records {
            let targets = match &r.data {
                TopoRecordData::A(targets) => {
                    targets.iter().filter_map(|t| self.node_of(t)).collect()
                }
                TopoRecordData::Cname(t) => self.nodes_behind(t),
                TopoRecordData::Srv(_) => Vec::new(),
            };
            if targets.iter().any(|t| presents(t)) {
                out.push(self.qualify(&r.name));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The node a name written in a topology stands for (`xsp1` or `xsp1.<domain>`).
    fn node_of(&self, name: &str) -> Option<String> {
        let q = self.qualify(name);
        let short = q.strip_suffix(&format!(".{}", self.domain)).unwrap_or(&q);
        self.nodes
            .iter()
            .find(|n| n.name == name || n.name == short)
            .map(|n| n.name.clone())
    }

    /// The nodes a name leads to: a node, the targets of its explicit A records, or the
    /// nodes behind a conventional farm name.
    fn nodes_behind(&self, name: &str) -> Vec<String> {
        if let Some(n) = self.node_of(name) {
            return vec![n];
        }
        let q = self.qualify(name);
        let explicit: Vec<String> = self
            .records
            .iter()
            .filter(|r| self.qualify(&r.name) == q)
            .flat_map(|r| match &r.data {
                TopoRecordData::A(t) => t.iter().filter_map(|t| self.node_of(t)).collect(),
                _ => Vec::new(),
            })
            .collect();
        if !explicit.is_empty() {
            explicit
        } else if q == self.cloud_xsp_fqdn() || q == self.app_xsp_fqdn() {
            self.front_doors()
        } else if q == self.mtls_xsp_fqdn() {
            self.xsp_nodes()
                .filter(|n| n.farm == Farm::Mtls)
                .map(|n| n.name.clone())
                .collect()
        } else {
            Vec::new()
        }
    }

    /// Assigns addresses to every node.
    pub fn plan(&self, host: Host, ports: Ports) -> Result<AddressPlan, PlanError> {
        self.nodes
            .iter()
            .fold(AddressPlan::builder(host, ports), |b, n| {
                b.node(n.name.clone(), n.role)
            })
            .build()
    }

    /// The DNS records that make the topology reachable by name.
    pub fn dns_records(&self, plan: &AddressPlan) -> Vec<(String, RecordData)> {
        let mut out = Vec::new();
        let v4 = |ip: IpAddr| match ip {
            IpAddr::V4(a) => RecordData::A(a),
            IpAddr::V6(a) => RecordData::Aaaa(a),
        };
        for node in &plan.nodes {
            out.push((self.fqdn(&node.name), v4(node.ip)));
            let hosts = self.nodes.iter().filter(|n| n.name == node.name);
            for host in hosts.flat_map(|n| &n.hosts) {
                out.push((host.clone(), v4(node.ip)));
            }
        }
        for n in self.xsp_nodes().filter(|n| n.farm == Farm::Mtls) {
            if let Some(p) = plan.node(&n.name) {
                out.push((self.mtls_xsp_fqdn(), v4(p.ip)));
            }
        }
        let doors: Vec<_> = self
            .front_doors()
            .into_iter()
            .filter_map(|n| plan.node(&n))
            .collect();
        for door in &doors {
            out.push((self.cloud_xsp_fqdn(), v4(door.ip)));
        }
        for (i, door) in doors.iter().enumerate() {
            let port = door.addr("https").map_or(443, |a| a.port());
            let priority = 10 * (i as u16 + 1);
            out.push((
                format!("_xsi-client._tcp.{}", self.app_xsp_fqdn()),
                RecordData::Srv(Srv::new(priority, 10, port, self.fqdn(&door.name))),
            ));
        }
        if let Some(first) = doors.first() {
            // Fallback for clients without SRV: exactly one address, as the guide requires.
            out.push((self.app_xsp_fqdn(), v4(first.ip)));
        }
        self.apply_explicit(plan, &mut out);
        out
    }

    /// Explicit records replace the conventional ones of the same name.
    fn apply_explicit(&self, plan: &AddressPlan, out: &mut Vec<(String, RecordData)>) {
        let names: Vec<String> = self.records.iter().map(|r| self.qualify(&r.name)).collect();
        out.retain(|(n, _)| !names.contains(n));
        // SRV records last: their ports come from the A records of their targets.
        let mut order: Vec<_> = self.records.iter().zip(names).collect();
        order.sort_by_key(|(r, _)| matches!(r.data, TopoRecordData::Srv(_)));
        for (r, name) in order {
            match &r.data {
                TopoRecordData::A(targets) => {
                    for t in targets {
                        let ip = self
                            .node_named(plan, t)
                            .map(|n| n.ip)
                            .or_else(|| t.parse::<IpAddr>().ok());
                        if let Some(ip) = ip {
                            out.push((
                                name.clone(),
                                match ip {
                                    IpAddr::V4(a) => RecordData::A(a),
                                    IpAddr::V6(a) => RecordData::Aaaa(a),
                                },
                            ));
                        }
                    }
                }
                TopoRecordData::Srv(targets) => {
                    for (target, priority, weight, port) in targets {
                        let node = self.node_named(plan, target);
                        let fqdn = match node {
                            Some(n) => self.fqdn(&n.name),
                            None => self.qualify(target),
                        };
                        // Port 443 means "the HTTPS listener": where the node (or the first
                        // node the name's A records point at) really listens.
                        let real = node
                            .or_else(|| first_node_at(plan, out, &fqdn))
                            .and_then(|n| n.addr("https"))
                            .map(|a| a.port());
                        let port = match (port, real) {
                            (443, Some(p)) => p,
                            (p, _) => *p,
                        };
                        out.push((
                            name.clone(),
                            RecordData::Srv(Srv::new(*priority, *weight, port, fqdn)),
                        ));
                    }
                }
                TopoRecordData::Cname(target) => {
                    let t = match self.node_named(plan, target) {
                        Some(n) => self.fqdn(&n.name),
                        None => self.qualify(target),
                    };
                    out.push((name.clone(), RecordData::Cname(t)));
                }
            }
        }
    }
}

/// The first lab node `fqdn`'s A records (explicit or conventional, as built so far) point
/// at.
fn first_node_at<'p>(
    plan: &'p AddressPlan,
    records: &[(String, RecordData)],
    fqdn: &str,
) -> Option<&'p bwlab_core::addr::NodePlan> {
    records
        .iter()
        .filter(|(n, _)| n == fqdn)
        .find_map(|(_, d)| {
            let ip = match d {
                RecordData::A(a) => IpAddr::V4(*a),
                RecordData::Aaaa(a) => IpAddr::V6(*a),
                _ => return None,
            };
            plan.nodes.iter().find(|n| n.ip == ip)
        })
}

fn farm(name: &str, site: Option<&str>, nodes: &[&str], kind: Farm) -> TopoFarm {
    TopoFarm {
        name: name.to_owned(),
        site: site.map(str::to_owned),
        nodes: nodes.iter().map(|n| (*n).to_owned()).collect(),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lab_records_follow_the_guide() {
        let topo = Topology::default_lab("Lab.Example");
        let plan = topo.plan(Host::default(), Ports::Wellknown).unwrap();
        let records = topo.dns_records(&plan);
        let of = |name: &str| -> Vec<String> {
            records
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, d)| d.presentation())
                .collect()
        };
        assert_eq!(of("xsp.lab.example"), ["127.77.0.2", "127.77.0.3"]);
        assert_eq!(of("xsp-app.lab.example"), ["127.77.0.2"]);
        let srv = of("_xsi-client._tcp.xsp-app.lab.example");
        assert_eq!(srv.len(), 2);
        assert!(srv[0].starts_with("10 10 443 xsp1.lab.example"));
        assert!(srv[1].starts_with("20 10 443 xsp2.lab.example"));
        assert_eq!(of("idbroker.webex.com").len(), 1);
        assert_eq!(topo.zones(), ["lab.example", "webex.com", "wbx2.com"]);
    }

    #[test]
    fn explicit_records_qualify_names_and_map_port_443_to_the_real_port() {
        let topo = Topology::from_parts(
            "lab.example",
            Vec::new(),
            Vec::new(),
            Vec::new(),
            vec![
                TopoRecord {
                    name: "_xsi-client._tcp.xsp-app".into(),
                    data: TopoRecordData::Srv(vec![
                        ("xsp2.lab.example".into(), 10, 10, 443),
                        ("xsi".into(), 20, 10, 443),
                        ("elsewhere.example.org.".into(), 30, 10, 443),
                    ]),
                    ttl: None,
                },
                TopoRecord {
                    name: "xsi".into(),
                    data: TopoRecordData::A(vec!["xsp1".into(), "xsp2".into()]),
                    ttl: Some(5),
                },
                TopoRecord {
                    name: "alias.webex.com".into(),
                    data: TopoRecordData::Cname("xsp1".into()),
                    ttl: None,
                },
            ],
            &[],
        );
        assert_eq!(topo.qualify("xsp.site-a"), "xsp.site-a.lab.example");
        assert_eq!(topo.qualify("idbroker.webex.com"), "idbroker.webex.com");
        assert_eq!(topo.qualify("other.example.org."), "other.example.org");
        let plan = topo.plan(Host::default(), Ports::Unprivileged).unwrap();
        let records = topo.dns_records(&plan);
        let of = |name: &str| -> Vec<String> {
            records
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, d)| d.presentation())
                .collect()
        };
        // The explicit SRV set replaced the conventional one; 443 became the HTTPS port of
        // the node behind the target (by FQDN, or through the target's A records).
        let srv = of("_xsi-client._tcp.xsp-app.lab.example");
        assert_eq!(srv.len(), 3, "{srv:?}");
        assert!(srv[0].starts_with("10 10 8443 xsp2.lab.example"), "{srv:?}");
        assert!(srv[1].starts_with("20 10 8443 xsi.lab.example"), "{srv:?}");
        assert!(
            srv[2].starts_with("30 10 443 elsewhere.example.org"),
            "{srv:?}"
        );
        assert_eq!(of("xsi.lab.example").len(), 2);
        assert!(of("alias.webex.com")[0].starts_with("xsp1.lab.example"));
        assert!(
            topo.certificate_names("xsp1")
                .contains(&"xsi.lab.example".to_owned())
        );
        // A CNAME to a node: the alias is on that node's certificate.
        assert!(
            topo.certificate_names("xsp1")
                .contains(&"alias.webex.com".to_owned())
        );
    }

    #[test]
    fn names_of_a_pass_through_lb_are_on_the_certificates_behind_it() {
        let topo = Topology::from_parts(
            "lab.example",
            Vec::new(),
            vec![farm("webex", None, &["xsp1", "xsp2"], Farm::Combined)],
            vec![TopoLb {
                name: "lb1".into(),
                site: None,
                farm: "webex".into(),
                passthrough: true,
                random: false,
                affinity: false,
                health: None,
                redirect: false,
            }],
            vec![
                TopoRecord {
                    name: "xsi-west".into(),
                    data: TopoRecordData::A(vec!["lb1".into()]),
                    ttl: None,
                },
                TopoRecord {
                    name: "portal".into(),
                    data: TopoRecordData::Cname("xsi-west".into()),
                    ttl: None,
                },
            ],
            &[],
        );
        for node in ["xsp1", "xsp2"] {
            let names = topo.certificate_names(node);
            for want in [
                "lb1.lab.example",
                "xsi-west.lab.example",
                "portal.lab.example",
            ] {
                assert!(names.contains(&want.to_owned()), "{node}: {names:?}");
            }
        }
    }
}
