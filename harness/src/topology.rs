//! The lab's topology: which nodes exist, their names in DNS, and the records that tie them
//! together. The scenario runner will add explicit topologies; for now there is the default
//! lab.

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

/// Nodes plus the DNS naming conventions of the Webex-for-BroadWorks guides.
#[derive(Clone, Debug, Serialize)]
pub struct Topology {
    /// The lab zone, e.g. `lab.example`.
    pub domain: String,
    pub nodes: Vec<TopoNode>,
}

impl Topology {
    /// The default lab: the DNS server and a two-node XSP farm.
    pub fn default_lab(domain: &str) -> Self {
        Self::with_layout(domain, XspLayout::Option1)
    }

    /// The default lab with the XSPs in `layout`.
    pub fn with_layout(domain: &str, layout: XspLayout) -> Self {
        let node = |name: &str, role, implemented| TopoNode {
            name: name.to_string(),
            role,
            implemented,
            hosts: Vec::new(),
            farm: Farm::Combined,
        };
        let xsp = |name: &str, farm| TopoNode {
            farm,
            ..node(name, Role::Xsp, true)
        };
        let cloud = |name: &str, host: &str| TopoNode {
            hosts: vec![host.to_string()],
            ..node(name, Role::Cloud, true)
        };
        Self {
            domain: domain.to_ascii_lowercase(),
            nodes: match layout {
                XspLayout::Option1 => vec![
                    node("dns", Role::Dns, true),
                    xsp("xsp1", Farm::Combined),
                    xsp("xsp2", Farm::Combined),
                ],
                XspLayout::Option2 => vec![
                    node("dns", Role::Dns, true),
                    xsp("xsp1", Farm::Tls),
                    xsp("xsp2", Farm::Tls),
                    xsp("xsp-mtls1", Farm::Mtls),
                    xsp("xsp-mtls2", Farm::Mtls),
                ],
            }
            .into_iter()
            .chain([
                cloud("ci-us-a", "idbroker.webex.com"),
                cloud("ci-eu", "idbroker-eu.webex.com"),
                cloud("ci-us-b", "idbroker-b-us.webex.com"),
                cloud("idp-proxy", "broadworks-idp-proxy-a.wbx2.com"),
            ])
            .collect(),
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
        let xsps: Vec<_> = self
            .tls_xsp_nodes()
            .filter_map(|n| plan.node(&n.name))
            .collect();
        for xsp in &xsps {
            out.push((self.cloud_xsp_fqdn(), v4(xsp.ip)));
        }
        for (i, xsp) in xsps.iter().enumerate() {
            let port = xsp.addr("https").map_or(443, |a| a.port());
            let priority = 10 * (i as u16 + 1);
            out.push((
                format!("_xsi-client._tcp.{}", self.app_xsp_fqdn()),
                RecordData::Srv(Srv::new(priority, 10, port, self.fqdn(&xsp.name))),
            ));
        }
        if let Some(first) = xsps.first() {
            // Fallback for clients without SRV: exactly one address, as the guide requires.
            out.push((self.app_xsp_fqdn(), v4(first.ip)));
        }
        out
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
}
