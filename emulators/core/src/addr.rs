//! The address plan: which IP address and ports each lab node listens on.
//!
//! Real deployments give every server its own address, and DNS records, load balancers and
//! failover logic all depend on that. So by default each node gets its own loopback address
//! (`127.77.0.1`, `127.77.0.2`, …; all of 127/8 is loopback on Linux) and the ports its real
//! counterpart uses. Where extra loopback addresses are unavailable (macOS without aliases)
//! the [`Host::Localhost`] plan puts every node on `127.0.0.1` with ephemeral ports.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

/// What a node is, which decides its conventional ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Dns,
    /// Application Server.
    As,
    /// Network Server.
    Ns,
    /// Profile Server.
    Ps,
    /// An XSP|ADP of the Webex farm.
    Xsp,
    /// An XSP|ADP running the Notification Push Server.
    Nps,
    /// A load balancer in front of a farm.
    Lb,
    /// A fake Webex cloud service (CI, IdP proxy, …).
    Cloud,
    /// A fake APNS or FCM endpoint.
    Push,
}

impl Role {
    /// The named ports a node of this role listens on, with their well-known numbers.
    pub fn wellknown_ports(self) -> &'static [(&'static str, Proto, u16)] {
        use Proto::{Tcp, Udp};
        match self {
            Role::Dns => &[("dns", Udp, 53), ("dns-tcp", Tcp, 53)],
            Role::As => &[
                ("sip", Udp, 5060),
                ("sip-tls", Tcp, 5061),
                ("http", Tcp, 80),
            ],
            Role::Ns => &[("sip", Udp, 5060)],
            Role::Ps | Role::Nps | Role::Cloud | Role::Push => &[("https", Tcp, 443)],
            Role::Xsp => &[
                ("https", Tcp, 443),
                ("https-mtls", Tcp, 444),
                ("cti", Tcp, 8012),
            ],
            Role::Lb => &[("https", Tcp, 443)],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Role::Dns => "dns",
            Role::As => "as",
            Role::Ns => "ns",
            Role::Ps => "ps",
            Role::Xsp => "xsp",
            Role::Nps => "nps",
            Role::Lb => "lb",
            Role::Cloud => "cloud",
            Role::Push => "push",
        };
        f.write_str(s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

/// Where nodes get their IP addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Host {
    /// One loopback address per node, counting up from `base + 1`.
    Loopback { base: Ipv4Addr },
    /// Every node on 127.0.0.1 (ports are then always ephemeral so they cannot clash).
    Localhost,
}

impl Default for Host {
    fn default() -> Self {
        Host::Loopback {
            base: Ipv4Addr::new(127, 77, 0, 0),
        }
    }
}

/// Which port numbers nodes get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ports {
    /// The real ports (53, 443, 5060 …); needs root or `CAP_NET_BIND_SERVICE` for those < 1024.
    Wellknown,
    /// The real ports where ≥ 1024, else a conventional unprivileged stand-in
    /// (53 → 1053, 80 → 8080, 443 → 8443, 444 → 8444). Not 5353: that is mDNS, taken on
    /// most desktops.
    #[default]
    Unprivileged,
    /// Port 0: the OS picks. Used by tests so many labs can run at once.
    Ephemeral,
}

impl Ports {
    fn map(self, wellknown: u16) -> u16 {
        match self {
            Ports::Wellknown => wellknown,
            Ports::Ephemeral => 0,
            Ports::Unprivileged => match wellknown {
                53 => 1053,
                p if p < 1024 => 8000 + p,
                p => p,
            },
        }
    }
}

/// A planned listening port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortPlan {
    pub name: String,
    pub proto: Proto,
    /// Requested port; 0 means ephemeral (the bound port is known once the node runs).
    pub port: u16,
}

/// A planned node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlan {
    pub name: String,
    pub role: Role,
    pub ip: IpAddr,
    pub ports: Vec<PortPlan>,
}

impl NodePlan {
    /// The socket address for the port named `name`, if the node has one.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.ports
            .iter()
            .find(|p| p.name == name)
            .map(|p| SocketAddr::new(self.ip, p.port))
    }
}

/// Errors building a plan.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("node name {0:?} is used twice in the address plan")]
    DuplicateNode(String),
    #[error("{0} is not a loopback address: the plan's base must be in 127.0.0.0/8")]
    NotLoopback(Ipv4Addr),
    #[error("the loopback range starting at {base} has no room for {count} nodes")]
    RangeExhausted { base: Ipv4Addr, count: usize },
}

/// The lab's address plan. Build with [`AddressPlan::builder`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPlan {
    pub host: Host,
    pub ports: Ports,
    pub nodes: Vec<NodePlan>,
}

impl AddressPlan {
    pub fn builder(host: Host, ports: Ports) -> PlanBuilder {
        PlanBuilder {
            host,
            ports,
            nodes: Vec::new(),
            overrides: BTreeMap::new(),
        }
    }

    pub fn node(&self, name: &str) -> Option<&NodePlan> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Whether this host can actually use extra loopback addresses: binds a UDP socket on
    /// the plan's first address. On Linux this always works; on macOS only with aliases.
    pub fn loopback_usable(base: Ipv4Addr) -> bool {
        let Some(first) = u32::from(base).checked_add(1).map(Ipv4Addr::from) else {
            return false;
        };
        first.is_loopback() && std::net::UdpSocket::bind((first, 0)).is_ok()
    }

    /// Whether this process may bind ports below 1024 on the plan's first address.
    pub fn privileged_ports_usable(ip: IpAddr) -> bool {
        // Port 1 is never used by anything real; a permission error is what we probe for.
        match std::net::TcpListener::bind((ip, 1)) {
            Ok(_) => true,
            Err(e) => e.kind() != std::io::ErrorKind::PermissionDenied,
        }
    }
}

/// Builder for an [`AddressPlan`].
pub struct PlanBuilder {
    host: Host,
    ports: Ports,
    nodes: Vec<(String, Role)>,
    overrides: BTreeMap<(String, String), u16>,
}

impl PlanBuilder {
    /// Adds a node; nodes get addresses in the order they are added.
    pub fn node(mut self, name: impl Into<String>, role: Role) -> Self {
        self.nodes.push((name.into(), role));
        self
    }

    /// Overrides one port of one node (e.g. CTI on 8013).
    pub fn port(
        mut self,
        node: impl Into<String>,
        port_name: impl Into<String>,
        port: u16,
    ) -> Self {
        self.overrides.insert((node.into(), port_name.into()), port);
        self
    }

    pub fn build(self) -> Result<AddressPlan, PlanError> {
        let ports_style = match self.host {
            Host::Localhost => Ports::Ephemeral,
            Host::Loopback { .. } => self.ports,
        };
        let mut nodes: Vec<NodePlan> = Vec::with_capacity(self.nodes.len());
        for (i, (name, role)) in self.nodes.iter().enumerate() {
            if nodes.iter().any(|n| &n.name == name) {
                return Err(PlanError::DuplicateNode(name.clone()));
            }
            let ip = match self.host {
                Host::Localhost => IpAddr::V4(Ipv4Addr::LOCALHOST),
                Host::Loopback { base } => {
                    if !base.is_loopback() {
                        return Err(PlanError::NotLoopback(base));
                    }
                    let raw = u32::try_from(i)
                        .ok()
                        .and_then(|i| u32::from(base).checked_add(1)?.checked_add(i))
                        .unwrap_or(u32::MAX);
                    // Stay inside 127/8 and off the broadcast-looking .255 end of the range.
                    if raw >> 24 != 127 || raw & 0x00ff_ffff == 0x00ff_ffff {
                        return Err(PlanError::RangeExhausted {
                            base,
                            count: self.nodes.len(),
                        });
                    }
                    IpAddr::V4(Ipv4Addr::from(raw))
                }
            };
            let ports = role
                .wellknown_ports()
                .iter()
                .map(|&(pname, proto, wk)| PortPlan {
                    name: pname.to_string(),
                    proto,
                    port: self
                        .overrides
                        .get(&(name.clone(), pname.to_string()))
                        .copied()
                        .unwrap_or_else(|| ports_style.map(wk)),
                })
                .collect();
            nodes.push(NodePlan {
                name: name.clone(),
                role: *role,
                ip,
                ports,
            });
        }
        Ok(AddressPlan {
            host: self.host,
            ports: ports_style,
            nodes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_plan_gives_each_node_its_own_address_and_conventional_ports() {
        let plan = AddressPlan::builder(Host::default(), Ports::Wellknown)
            .node("dns", Role::Dns)
            .node("xsp1", Role::Xsp)
            .node("xsp2", Role::Xsp)
            .port("xsp2", "cti", 8013)
            .build()
            .unwrap();
        assert_eq!(
            plan.node("dns").unwrap().addr("dns").unwrap().to_string(),
            "127.77.0.1:53"
        );
        let xsp1 = plan.node("xsp1").unwrap();
        assert_eq!(xsp1.addr("https").unwrap().to_string(), "127.77.0.2:443");
        assert_eq!(xsp1.addr("cti").unwrap().to_string(), "127.77.0.2:8012");
        assert_eq!(plan.node("xsp2").unwrap().addr("cti").unwrap().port(), 8013);
    }

    #[test]
    fn unprivileged_and_localhost_styles() {
        let plan = AddressPlan::builder(Host::default(), Ports::Unprivileged)
            .node("dns", Role::Dns)
            .node("xsp1", Role::Xsp)
            .build()
            .unwrap();
        assert_eq!(plan.node("dns").unwrap().addr("dns").unwrap().port(), 1053);
        assert_eq!(
            plan.node("xsp1").unwrap().addr("https").unwrap().port(),
            8443
        );
        assert_eq!(plan.node("xsp1").unwrap().addr("cti").unwrap().port(), 8012);

        let local = AddressPlan::builder(Host::Localhost, Ports::Wellknown)
            .node("dns", Role::Dns)
            .node("xsp1", Role::Xsp)
            .build()
            .unwrap();
        assert!(
            local
                .nodes
                .iter()
                .all(|n| n.ip == IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert!(
            local
                .nodes
                .iter()
                .flat_map(|n| &n.ports)
                .all(|p| p.port == 0)
        );
    }

    #[test]
    fn duplicate_names_and_exhaustion_are_errors() {
        let dup = AddressPlan::builder(Host::default(), Ports::Ephemeral)
            .node("a", Role::Xsp)
            .node("a", Role::Xsp)
            .build();
        assert_eq!(dup, Err(PlanError::DuplicateNode("a".into())));
        let full = AddressPlan::builder(
            Host::Loopback {
                base: Ipv4Addr::new(127, 255, 255, 253),
            },
            Ports::Ephemeral,
        )
        .node("a", Role::Xsp)
        .node("b", Role::Xsp)
        .build();
        assert!(matches!(full, Err(PlanError::RangeExhausted { .. })));
        let top = AddressPlan::builder(
            Host::Loopback {
                base: Ipv4Addr::new(255, 255, 255, 255),
            },
            Ports::Ephemeral,
        )
        .node("a", Role::Xsp)
        .build();
        assert!(matches!(top, Err(PlanError::NotLoopback(_))));
        let edge = AddressPlan::builder(
            Host::Loopback {
                base: Ipv4Addr::new(127, 255, 255, 255),
            },
            Ports::Ephemeral,
        )
        .node("a", Role::Xsp)
        .build();
        assert!(matches!(edge, Err(PlanError::RangeExhausted { .. })));
        assert!(!AddressPlan::loopback_usable(Ipv4Addr::new(
            255, 255, 255, 255
        )));
    }

    #[test]
    fn plan_round_trips_as_json() {
        let plan = AddressPlan::builder(Host::default(), Ports::Ephemeral)
            .node("dns", Role::Dns)
            .build()
            .unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        let back: AddressPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(plan, back);
    }
}
