//! What `bwlab up` prints: every endpoint, the DNS server, the CA bundle and the test
//! subscribers — as tables for people and as one JSON object for scripts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use bwlab_core::addr::Role;
use bwlab_model::AdminScope;
use serde::Serialize;

use crate::Lab;

/// The JSON shape of `bwlab up --json` (keys documented in docs/cli.md).
#[derive(Clone, Debug, Serialize)]
pub struct LabSummary {
    pub domain: String,
    pub profile: ProfileSummary,
    pub dns: DnsSummary,
    /// Absolute path of the exported CA bundle (None when the lab has no state directory).
    pub ca_bundle: Option<PathBuf>,
    /// Absolute path of the exported PKI directory.
    pub pki_dir: Option<PathBuf>,
    pub nodes: Vec<NodeSummary>,
    pub users: Vec<UserSummary>,
    /// Administrators, for testing what each scope may reach.
    pub admins: Vec<AdminSummary>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AdminSummary {
    pub login: String,
    pub password: String,
    /// `system`, `enterprise <id>` or `group <enterprise>/<group>`.
    pub scope: String,
    /// `normal`, `provisioning`, `customer` or `passwordResetOnly`.
    pub admin_type: String,
    pub read_only: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProfileSummary {
    pub name: String,
    pub release: String,
    pub build: String,
    pub platform: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct DnsSummary {
    pub address: String,
    pub port: u16,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeSummary {
    pub name: String,
    pub role: Role,
    pub fqdn: String,
    pub address: String,
    /// `running`, or `planned` for nodes this build cannot start yet (they already have an
    /// address, DNS names and certificates).
    pub status: &'static str,
    pub ports: BTreeMap<String, u16>,
    pub urls: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct UserSummary {
    pub user_id: String,
    pub password: String,
    pub name: String,
    pub number: Option<String>,
    pub extension: Option<String>,
    pub alternate_ids: Vec<String>,
    pub group: String,
}

impl LabSummary {
    pub(crate) fn of(lab: &Lab) -> Self {
        let profile = lab.profile();
        let topo = lab.topology();
        let dns = lab.dns();
        let nodes = lab
            .plan()
            .nodes
            .iter()
            .map(|n| {
                let mut ports: BTreeMap<String, u16> =
                    n.ports.iter().map(|p| (p.name.clone(), p.port)).collect();
                let mut running = false;
                if n.role == Role::Dns {
                    running = true;
                    ports.insert("dns".into(), dns.udp_addr().port());
                    ports.insert("dns-tcp".into(), dns.tcp_addr().port());
                }
                if let Some(xsp) = lab.xsp(&n.name) {
                    running = true;
                    ports.insert("https".into(), xsp.https_addr().port());
                    match xsp.mtls_addr() {
                        Some(a) => ports.insert("https-mtls".into(), a.port()),
                        None => ports.remove("https-mtls"),
                    };
                    match xsp.cti_addr() {
                        Some(a) => ports.insert("cti".into(), a.port()),
                        None => ports.remove("cti"),
                    };
                }
                if let Some(lb) = lab.lb(&n.name) {
                    running = true;
                    ports.insert("https".into(), lb.addr().port());
                }
                let fqdn = topo.fqdn(&n.name);
                let mut urls = node_urls(n.role, &fqdn, &ports);
                let hosts = topo.nodes.iter().filter(|t| t.name == n.name);
                for host in hosts.flat_map(|t| &t.hosts) {
                    if let Some(addr) = lab.cloud().addr(host) {
                        running = true;
                        ports.insert("https".into(), addr.port());
                        let path = if host.contains("idp-proxy") {
                            "/broadworks-idp-proxy/api/v1/idp/authenticate"
                        } else {
                            "/idb"
                        };
                        urls = vec![format!("https://{host}:{}{path}", addr.port())];
                    }
                }
                NodeSummary {
                    name: n.name.clone(),
                    role: n.role,
                    fqdn,
                    address: n.ip.to_string(),
                    status: if running { "running" } else { "planned" },
                    ports,
                    urls,
                }
            })
            .collect();
        let users = lab
            .data()
            .users()
            .map(|u| UserSummary {
                user_id: u.user_id.clone(),
                password: u.password_state().portal,
                name: u.display_name(),
                number: u.number.as_ref().map(|n| n.to_string()),
                extension: u.extension.clone(),
                alternate_ids: u.alternate_ids.clone(),
                group: format!("{}/{}", u.enterprise_id, u.group_id),
            })
            .collect();
        let store = lab.data();
        let admins = store
            .admins()
            .iter()
            .map(|a| {
                let ent = |e| store.enterprise(e).map_or("?", |e| &*e.id).to_string();
                let scope = match a.scope {
                    AdminScope::System => "system".to_string(),
                    AdminScope::ServiceProvider(e) => format!("enterprise {}", ent(e)),
                    AdminScope::Group(e, g) => format!(
                        "group {}/{}",
                        ent(e),
                        store.group(g).map_or("?", |g| &*g.id)
                    ),
                };
                AdminSummary {
                    login: a.login.clone(),
                    password: a.password_state().portal,
                    scope,
                    admin_type: serde_json::to_value(a.admin_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    read_only: a.read_only,
                }
            })
            .collect();
        let files = lab.pki_files();
        LabSummary {
            domain: topo.domain.clone(),
            profile: ProfileSummary {
                name: profile.name().to_string(),
                release: profile.release().to_string(),
                build: profile.build().to_string(),
                platform: profile.platform().to_string(),
            },
            dns: DnsSummary {
                address: dns.udp_addr().ip().to_string(),
                port: dns.udp_addr().port(),
                udp: dns.udp_addr(),
                tcp: dns.tcp_addr(),
            },
            ca_bundle: files.map(|f| absolute(&f.ca_bundle)),
            pki_dir: files.map(|f| absolute(&f.dir)),
            nodes,
            users,
            admins,
        }
    }

    /// Tables for a terminal.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "bwlab lab \"{}\" — profile {} (BroadWorks {} build {}, {})\n",
            self.domain,
            self.profile.name,
            self.profile.release,
            self.profile.build,
            self.profile.platform
        );
        let rows: Vec<[String; 5]> = self
            .nodes
            .iter()
            .map(|n| {
                [
                    n.name.clone(),
                    n.role.to_string(),
                    n.address.clone(),
                    n.status.to_string(),
                    n.urls.join("  "),
                ]
            })
            .collect();
        table(
            &mut out,
            ["NODE", "ROLE", "ADDRESS", "STATUS", "ENDPOINTS"],
            &rows,
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "DNS server   {} (udp and tcp)   try: dig @{} -p {} SRV _xsi-client._tcp.xsp-app.{}",
            self.dns.udp, self.dns.address, self.dns.port, self.domain
        );
        match &self.ca_bundle {
            Some(p) => {
                let _ = writeln!(out, "CA bundle    {}", p.display());
            }
            None => {
                let _ = writeln!(out, "CA bundle    (not exported; use --state-dir)");
            }
        }
        if let Some(p) = &self.pki_dir {
            let _ = writeln!(out, "PKI files    {} (see README.txt there)", p.display());
        }
        let _ = writeln!(out);
        let rows: Vec<[String; 5]> = self
            .users
            .iter()
            .map(|u| {
                [
                    u.user_id.clone(),
                    u.password.clone(),
                    u.number.clone().unwrap_or_default(),
                    u.extension.clone().unwrap_or_default(),
                    u.name.clone(),
                ]
            })
            .collect();
        table(
            &mut out,
            ["USER", "PASSWORD", "NUMBER", "EXT", "NAME"],
            &rows,
        );
        if !self.admins.is_empty() {
            let _ = writeln!(out);
            let rows: Vec<[String; 4]> = self
                .admins
                .iter()
                .map(|a| {
                    let mut kind = a.admin_type.clone();
                    if a.read_only {
                        kind.push_str(", read-only");
                    }
                    [a.login.clone(), a.password.clone(), a.scope.clone(), kind]
                })
                .collect();
            table(&mut out, ["ADMIN", "PASSWORD", "SCOPE", "TYPE"], &rows);
        }
        out
    }
}

fn node_urls(role: Role, fqdn: &str, ports: &BTreeMap<String, u16>) -> Vec<String> {
    let port = |name: &str| ports.get(name).copied().unwrap_or(0);
    match role {
        Role::Dns => vec![
            format!("udp://{fqdn}:{}", port("dns")),
            format!("tcp://{fqdn}:{}", port("dns-tcp")),
        ],
        Role::Xsp => {
            let mut urls = vec![
                format!(
                    "https://{fqdn}:{}/com.broadsoft.xsi-actions/v2.0/",
                    port("https")
                ),
                format!(
                    "https://{fqdn}:{}/com.broadsoft.xsi-events/v2.0/",
                    port("https")
                ),
            ];
            if ports.contains_key("https-mtls") {
                urls.push(format!("https+mtls://{fqdn}:{}/", port("https-mtls")));
            }
            if ports.contains_key("cti") {
                urls.push(format!("cti://{fqdn}:{}", port("cti")));
            }
            urls
        }
        _ => ports
            .iter()
            .map(|(name, p)| format!("{name}://{fqdn}:{p}"))
            .collect(),
    }
}

fn absolute(p: &std::path::Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// A plain left-aligned table; no dependency needed for five columns.
fn table<const N: usize>(out: &mut String, head: [&str; N], rows: &[[String; N]]) {
    let mut width = head.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                let _ = write!(s, "{cell:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", s.trim_end());
    };
    line(head.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
