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
        let node = |name: &str, role, implemented| TopoNode {
            name: name.to_string(),
            role,
            implemented,
            hosts: Vec::new(),
        };
        let cloud = |name: &str, host: &str| TopoNode {
            hosts: vec![host.to_string()],
            ..node(name, Role::Cloud, true)
        };
        Self {
            domain: domain.to_ascii_lowercase(),
            nodes: vec![
                node("dns", Role::Dns, true),
                node("xsp1", Role::Xsp, true),
                node("xsp2", Role::Xsp, true),
                cloud("ci-us-a", "idbroker.webex.com"),
                cloud("ci-eu", "idbroker-eu.webex.com"),
                cloud("ci-us-b", "idbroker-b-us.webex.com"),
                cloud("idp-proxy", "broadworks-idp-proxy-a.wbx2.com"),
            ],
        }
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
        let xsps: Vec<_> = self
            .xsp_nodes()
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
