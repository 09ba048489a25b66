//! `Lab`: one running BroadWorks lab — profile, subscriber data, PKI, address plan, clock,
//! journal and the servers started so far.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bwlab_appserver::{AppServer, AsSettings, ScriptedCall};
use bwlab_cloud::{AuthServiceTarget, BwTokenMode, Cloud, CloudHandle, StorePolicySource};
use bwlab_core::addr::{AddressPlan, Host, Ports, Role};
use bwlab_core::{Journal, Kind, LabClock};
use bwlab_dns::{DnsHandle, DnsServer};
use bwlab_lb::{Affinity, HealthCheck, LbHandle, LoadBalancer, Mode as LbMode, Policy};
use bwlab_model::Store;
use bwlab_pki::{DeviceSpec, ExportManifest, LabPki, NodeSpec, PkiConfig};
use bwlab_profiles::{Profile, Profiles};
use bwlab_xsp::{
    AuthKeys, AuthServiceSettings, CiFuture, CiTokenValidator, EventsSettings, HttpCiValidator,
    XspHandle, XspNode, XspSettings,
};

use crate::error::LabError;
use crate::topology::{Farm, TopoRecordData, Topology, XspLayout};

/// The lab data used when none is given: a small enterprise with a few users.
pub const DEFAULT_DATA: &str = include_str!("../data/default-lab.yaml");

/// Where the subscriber data comes from.
#[derive(Clone, Debug)]
enum DataSource {
    Builtin,
    File(PathBuf),
    Text { name: String, text: String },
    Store(Store),
}

/// Configures a [`Lab`]. Every setting has a sensible default, so
/// `Lab::builder().start().await` gives the default lab on ephemeral ports.
#[derive(Clone, Debug)]
pub struct LabBuilder {
    profile: String,
    profiles_file: Option<PathBuf>,
    data: DataSource,
    domain: String,
    host: Host,
    ports: Ports,
    clock: Option<LabClock>,
    state_dir: Option<PathBuf>,
    authservice_keys_file: Option<PathBuf>,
    app_server: AsSettings,
    events: EventsSettings,
    events_per_node: Vec<(String, EventsSettings)>,
    layout: XspLayout,
    topology: Option<Topology>,
    seed: u64,
}

impl Default for LabBuilder {
    fn default() -> Self {
        Self {
            profile: "r24".into(),
            profiles_file: None,
            data: DataSource::Builtin,
            domain: "lab.example".into(),
            host: Host::default(),
            ports: Ports::Ephemeral,
            clock: None,
            state_dir: None,
            authservice_keys_file: None,
            app_server: AsSettings::default(),
            events: EventsSettings::default(),
            events_per_node: Vec::new(),
            layout: XspLayout::default(),
            topology: None,
            seed: 0x5eed,
        }
    }
}

impl LabBuilder {
    /// Release profile by name (`r22`, `r23`, `r24`, `r22-unpatched`, or one from
    /// [`profiles_file`](Self::profiles_file)).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = name.into();
        self
    }

    /// Extra or overriding profiles from a TOML file.
    pub fn profiles_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.profiles_file = Some(path.into());
        self
    }

    /// Subscriber data from a YAML lab data file.
    pub fn data_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.data = DataSource::File(path.into());
        self
    }

    /// Subscriber data from YAML text; `name` is used in error messages.
    pub fn data_yaml(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.data = DataSource::Text {
            name: name.into(),
            text: text.into(),
        };
        self
    }

    /// Subscriber data already built (e.g. with the `bwlab_model` builder).
    pub fn data_store(mut self, store: Store) -> Self {
        self.data = DataSource::Store(store);
        self
    }

    /// The lab's DNS zone (default `lab.example`).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    /// Where nodes get addresses (default: one loopback address each from 127.77.0.1).
    pub fn host(mut self, host: Host) -> Self {
        self.host = host;
        self
    }

    /// Which ports nodes get (default: ephemeral, so tests never collide).
    pub fn ports(mut self, ports: Ports) -> Self {
        self.ports = ports;
        self
    }

    /// The lab clock (default: the host's wall time, running with tokio time).
    pub fn clock(mut self, clock: LabClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Writes the PKI (CA bundle and certificates) under `dir/pki` when the lab starts.
    /// The AuthService key pair of the farm as a PEM file (`KeyManagement> exportKeys` /
    /// `importKeys`): imported when the file exists, otherwise created at start and exported
    /// there, so another lab (or a later run) started with the same file shares the keys and
    /// accepts this lab's BroadWorks tokens. Default: a fresh pair per lab, in memory.
    pub fn authservice_keys_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.authservice_keys_file = Some(path.into());
        self
    }

    /// The XSP layout: `Option1` (default: every node has TLS, mTLS and CTI interfaces)
    /// or `Option2` (a TLS-only farm xsp1/xsp2 and an mTLS-only farm xsp-mtls1/xsp-mtls2).
    pub fn xsp_layout(mut self, layout: XspLayout) -> Self {
        self.layout = layout;
        self
    }

    /// A whole topology (farms, sites, load balancers, extra DNS records), e.g.
    /// [`Topology::dual_site`]; overrides [`xsp_layout`](Self::xsp_layout) and
    /// [`domain`](Self::domain) (the topology has its own).
    pub fn topology(mut self, topology: Topology) -> Self {
        self.topology = Some(topology);
        self
    }

    /// Seed of the lab's own random choices (load balancers balancing at random; default
    /// `0x5eed`), so a run replays.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn effective_topology(&self) -> Topology {
        self.topology
            .clone()
            .unwrap_or_else(|| Topology::with_layout(&self.domain, self.layout))
    }

    /// Application server settings (`ClientIdentity`, subscription limits, ack timeout…).
    pub fn app_server_settings(mut self, settings: AsSettings) -> Self {
        self.app_server = settings;
        self
    }

    /// Xsi-Events settings of every XSP (`callControlApplicationName`, `eventTimeout`…).
    pub fn events_settings(mut self, settings: EventsSettings) -> Self {
        self.events = settings;
        self
    }

    /// Xsi-Events settings of one XSP, overriding [`events_settings`](Self::events_settings)
    /// there — e.g. a different `callControlApplicationName` on xsp2, the configuration
    /// drift that loses events.
    pub fn events_settings_for(
        mut self,
        node: impl Into<String>,
        settings: EventsSettings,
    ) -> Self {
        self.events_per_node.push((node.into(), settings));
        self
    }

    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// The address plan this builder would use, without starting anything.
    pub fn plan(&self) -> Result<AddressPlan, LabError> {
        Ok(self
            .effective_topology()
            .plan(self.effective_host(), self.ports)?)
    }

    /// Falls back to 127.0.0.1 only when a loopback base is valid but unusable on this host
    /// (macOS without aliases); an invalid base stays and is reported by the plan.
    fn effective_host(&self) -> Host {
        match self.host {
            Host::Loopback { base }
                if base.is_loopback()
                    && u32::from(base) & 0x00ff_ffff < 0x00ff_fffe
                    && !AddressPlan::loopback_usable(base) =>
            {
                Host::Localhost
            }
            h => h,
        }
    }

    /// Loads the profile and the lab data without starting anything, reporting the first
    /// problem (data errors list every problem in the file).
    pub fn validate(&self) -> Result<(), LabError> {
        self.load_profile()?;
        self.load_data(LabClock::default())?;
        Ok(())
    }

    fn load_profile(&self) -> Result<Profile, LabError> {
        let mut profiles = Profiles::builtin();
        if let Some(path) = &self.profiles_file {
            profiles.load_file(path)?;
        }
        Ok(profiles.get(&self.profile)?.clone())
    }

    fn load_data(&self, clock: LabClock) -> Result<Store, LabError> {
        Ok(match self.data.clone() {
            DataSource::Builtin => {
                Store::from_yaml_str(DEFAULT_DATA, "<built-in lab data>", clock)?
            }
            DataSource::File(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| LabError::Read {
                    path: path.clone(),
                    source,
                })?;
                Store::from_yaml_str(&text, &path.display().to_string(), clock)?
            }
            DataSource::Text { name, text } => Store::from_yaml_str(&text, &name, clock)?,
            DataSource::Store(store) => store,
        })
    }

    /// Loads everything, generates the PKI and starts the servers.
    pub async fn start(self) -> Result<Lab, LabError> {
        let clock = self.clock.clone().unwrap_or_default();
        let journal = Journal::new(clock.clone());
        let profile = self.load_profile()?;
        let store = self.load_data(clock.clone())?;

        let topology = self.effective_topology();
        let host = self.effective_host();
        let plan = topology.plan(host, self.ports)?;

        let pki = Arc::new(lab_pki(&topology, &store, &clock)?);
        let pki_files = match &self.state_dir {
            Some(dir) => Some(pki.export(dir.join("pki"))?),
            None => None,
        };

        let dns_name = plan
            .nodes
            .iter()
            .find(|n| n.role == Role::Dns)
            .map(|n| n.name.clone())
            .ok_or(LabError::NoDnsNode)?;

        // XSPs bind first so DNS records carry their real (possibly ephemeral) ports. Their
        // AuthServices share one key set (as the guide requires) and validate CI tokens at
        // the IdP proxy, whose address is known only once the cloud runs.
        let auth_keys = match &self.authservice_keys_file {
            Some(path) => {
                AuthKeys::load_or_create(path)
                    .map_err(|message| LabError::AuthKeys { message })?
                    .0
            }
            None => AuthKeys::new(),
        };
        let ci_validator = Arc::new(LateValidator::default());
        // One application server behind the whole XSP farm: subscriptions and channel sets
        // are cluster-wide.
        let app_server = AppServer::new(
            store.clone(),
            profile.clone(),
            journal.clone(),
            self.app_server.clone(),
        );
        let mut xsps = Vec::new();
        for node in topology.xsp_nodes().filter(|n| n.implemented) {
            let Some(node_plan) = plan.node(&node.name) else {
                continue;
            };
            let identity = pki
                .node(&node.name)
                .cloned()
                .ok_or_else(|| LabError::MissingCertificate(node.name.clone()))?;
            // CI token validation needs the release's patch; the mTLS-only farm (and any
            // node of a release without the patch) runs the mTLS AuthService.
            let mut authservice = if node.farm == Farm::Mtls
                || !profile.supports(bwlab_profiles::Feature::CiTokenValidation)
            {
                AuthServiceSettings::mtls(auth_keys.clone())
            } else {
                AuthServiceSettings::ci(auth_keys.clone(), ci_validator.clone())
            };
            authservice.partner_org_id = Some(bwlab_cloud::DEFAULT_PARTNER_ORG.to_string());
            let settings = XspSettings {
                cluster_fqdn: Some(match node.farm {
                    Farm::Mtls => topology.mtls_xsp_fqdn(),
                    _ => topology.cloud_xsp_fqdn(),
                }),
                client_trust_anchors: pki.webex_trust_anchors(),
                authservice: Some(authservice),
                // Option 2's mTLS farm demands the Webex client certificate everywhere.
                https_client_auth: node.farm == Farm::Mtls,
                ..XspSettings::default()
            };
            let mut events = self
                .events_per_node
                .iter()
                .rev()
                .find(|(n, _)| *n == node.name)
                .map_or_else(|| self.events.clone(), |(_, e)| e.clone());
            if events.http_contact_trust.is_empty() {
                events.http_contact_trust = pki.lab_trust_bundle();
            }
            let make = |https: Option<SocketAddr>| {
                let mut builder = XspNode::builder(node.name.clone()).plan(node_plan);
                if let Some(a) = https {
                    builder = builder.https_addr(a);
                }
                if node.farm == Farm::Tls {
                    // Option 2's TLS farm has no mTLS interfaces at all.
                    builder = builder.mtls_addr(None).cti_addr(None);
                }
                builder
                    .identity(identity.clone())
                    .store(store.clone())
                    .profile(profile.clone())
                    .journal(journal.clone())
                    .clock(clock.clone())
                    .settings(settings.clone())
                    .app_server(app_server.clone())
                    .events(events.clone())
            };
            // With ephemeral ports, every node still tries the first node's HTTPS port on
            // its own address: one port per farm, as on real XSPs behind one SRV/A name.
            let shared_port = ephemeral_https(node_plan, &xsps);
            let started = match shared_port {
                Some(a) => match make(Some(a)).start().await {
                    Err(bwlab_xsp::XspError::Bind { source, .. })
                        if source.kind() == std::io::ErrorKind::AddrInUse =>
                    {
                        port_taken(&journal, &node.name, a);
                        make(None).start().await
                    }
                    other => other,
                },
                None => make(None).start().await,
            };
            match started {
                Ok(h) => xsps.push((node.name.clone(), h)),
                Err(e) => {
                    stop_all(xsps).await;
                    return Err(e.into());
                }
            }
        }
        let lbs = match start_lbs(&topology, &plan, &pki, &journal, &xsps, self.seed).await {
            Ok(l) => l,
            Err(e) => {
                stop_all(xsps).await;
                return Err(e);
            }
        };
        let doors: Vec<SocketAddr> = topology
            .front_doors()
            .into_iter()
            .filter_map(|door| {
                lbs.iter()
                    .find(|(n, _)| *n == door)
                    .map(|(_, l)| l.addr())
                    .or_else(|| {
                        xsps.iter()
                            .find(|(n, _)| *n == door)
                            .map(|(_, x)| x.https_addr())
                    })
            })
            .collect();
        // Releases without CI token validation fetch BroadWorks tokens from the mTLS
        // AuthService: the mTLS farm (option 2), else the XSPs' mTLS interfaces, in order.
        let mtls_authservice = if profile.supports(bwlab_profiles::Feature::CiTokenValidation) {
            None
        } else {
            let farm: Vec<SocketAddr> = topology
                .xsp_nodes()
                .filter(|n| n.farm == Farm::Mtls)
                .filter_map(|n| xsps.iter().find(|(name, _)| *name == n.name))
                .map(|(_, x)| x.https_addr())
                .collect();
            if farm.is_empty() {
                let addrs: Vec<SocketAddr> =
                    xsps.iter().filter_map(|(_, x)| x.mtls_addr()).collect();
                (!addrs.is_empty()).then(|| (topology.cloud_xsp_fqdn(), addrs))
            } else {
                Some((topology.mtls_xsp_fqdn(), farm))
            }
        };
        let cloud = match start_cloud(
            &topology,
            &plan,
            &pki,
            &store,
            &journal,
            &clock,
            &doors,
            mtls_authservice,
        )
        .await
        {
            Ok(c) => c,
            Err(e) => {
                stop_lbs(lbs).await;
                stop_all(xsps).await;
                return Err(e);
            }
        };
        if let Some(addr) = cloud.addr(bwlab_cloud::DEFAULT_IDP_HOST) {
            let tls =
                bwlab_pki::client_config(&bwlab_pki::ClientOptions::new(pki.lab_trust_bundle()))?;
            let _ = ci_validator.0.set(HttpCiValidator::new(
                addr,
                bwlab_cloud::DEFAULT_IDP_HOST,
                bwlab_cloud::PATH_AUTHENTICATE,
                tls,
            ));
        }

        // Record the ports the OS actually gave, so DNS (SRV) and summaries tell the truth.
        let mut plan = plan;
        for (host, addr) in cloud.hosts() {
            let node = topology.nodes.iter().find(|n| n.hosts.contains(&host));
            if let Some(node) = node.and_then(|n| plan.nodes.iter_mut().find(|p| p.name == n.name))
            {
                for p in node.ports.iter_mut().filter(|p| p.name == "https") {
                    p.port = addr.port();
                }
            }
        }
        for (name, h) in &xsps {
            if let Some(node) = plan.nodes.iter_mut().find(|n| &n.name == name) {
                for p in &mut node.ports {
                    if p.name == "https" {
                        p.port = h.https_addr().port();
                    } else if p.name == "https-mtls" {
                        p.port = h.mtls_addr().map_or(0, |a| a.port());
                    } else if p.name == bwlab_xsp::PORT_CTI {
                        p.port = h.cti_addr().map_or(0, |a| a.port());
                    }
                }
            }
        }
        for (name, lb) in &lbs {
            if let Some(node) = plan.nodes.iter_mut().find(|n| &n.name == name) {
                for p in node.ports.iter_mut().filter(|p| p.name == "https") {
                    p.port = lb.addr().port();
                }
            }
        }
        let dns_node = plan.node(&dns_name).ok_or(LabError::NoDnsNode)?;
        let dns = topology
            .dns_records(&plan)
            .into_iter()
            .fold(
                topology
                    .zones()
                    .into_iter()
                    .fold(DnsServer::builder(), |b, z| b.zone(z))
                    .journal(journal.clone())
                    .node_name(dns_node.name.clone())
                    .bind_plan(dns_node),
                |b, (name, data)| b.record(name, data),
            )
            .start()
            .await;
        let dns = match dns {
            Ok(d) => {
                for r in &topology.records {
                    if let Some(ttl) = r.ttl {
                        let rtype = match r.data {
                            TopoRecordData::A(_) => bwlab_dns::RecordType::A,
                            TopoRecordData::Srv(_) => bwlab_dns::RecordType::SRV,
                            TopoRecordData::Cname(_) => bwlab_dns::RecordType::CNAME,
                        };
                        let _ = d.records().set_ttl(&topology.qualify(&r.name), rtype, ttl);
                    }
                }
                d
            }
            Err(e) => {
                cloud.shutdown().await;
                stop_lbs(lbs).await;
                stop_all(xsps).await;
                return Err(e.into());
            }
        };
        journal
            .record(
                "lab",
                Kind::Lab,
                format!("lab up: profile {}", profile.name()),
            )
            .attr("profile", profile.name())
            .commit();

        Ok(Lab {
            clock,
            journal,
            profile,
            store,
            pki,
            pki_files,
            topology,
            plan,
            dns,
            xsps,
            lbs,
            cloud: Some(cloud),
            auth_keys,
            app_server,
        })
    }
}

/// A CI-token validator whose target (the IdP proxy) is known only once the cloud runs.
#[derive(Default)]
struct LateValidator(std::sync::OnceLock<HttpCiValidator>);

impl CiTokenValidator for LateValidator {
    fn validate<'a>(&'a self, token: &'a str) -> CiFuture<'a> {
        Box::pin(async move {
            match self.0.get() {
                Some(v) => v.validate(token).await,
                None => Err(bwlab_xsp::CiError::Unavailable(
                    "the IdP proxy is not running".into(),
                )),
            }
        })
    }
}

/// Starts the fake Webex cloud on the cloud nodes' addresses, pointed at the XSP farm.
#[allow(clippy::too_many_arguments)]
async fn start_cloud(
    topology: &Topology,
    plan: &AddressPlan,
    pki: &LabPki,
    store: &Store,
    journal: &Journal,
    clock: &LabClock,
    doors: &[SocketAddr],
    mtls_authservice: Option<(String, Vec<SocketAddr>)>,
) -> Result<CloudHandle, LabError> {
    let farm = topology.cloud_xsp_fqdn();
    let mut b = Cloud::builder()
        .pki(pki)
        .journal(journal.clone())
        .clock(clock.clone())
        .xsi_trust(pki.lab_trust_bundle())
        .password_policy(Arc::new(StorePolicySource(store.clone())))
        .partner_org_id(bwlab_cloud::DEFAULT_PARTNER_ORG);
    // Webex microservices use the farm's A-record name: its first address, then the next
    // ones when it fails.
    if let Some((_, addrs)) = &mtls_authservice {
        b = b.authservice_fallback(addrs.iter().skip(1).copied().collect());
    }
    if let Some((&addr, rest)) = doors.split_first() {
        let port = addr.port();
        b = b
            .xsi_fallback(rest.to_vec())
            .xsi_base_url(&format!(
                "https://{farm}:{port}/com.broadsoft.xsi-actions/v2.0"
            ))
            .xsi_connect(addr)
            .authservice(
                match mtls_authservice
                    .as_ref()
                    .and_then(|(h, a)| Some((h, a.split_first()?)))
                {
                    Some((host, (a, _))) => AuthServiceTarget {
                        url: format!("https://{host}:{}/authService", a.port()),
                        connect: Some(*a),
                        mode: BwTokenMode::Mtls,
                        client_identity: Some(pki.webex_client().clone()),
                    },
                    None => AuthServiceTarget {
                        url: format!("https://{farm}:{port}/authService"),
                        connect: Some(addr),
                        mode: BwTokenMode::CiToken,
                        client_identity: None,
                    },
                },
            );
    }
    for node in topology.nodes.iter().filter(|n| n.role == Role::Cloud) {
        let Some(addr) = plan.node(&node.name).and_then(|n| n.addr("https")) else {
            continue;
        };
        for host in &node.hosts {
            b = b.bind_host(host, addr);
        }
    }
    Ok(b.start().await?)
}

/// Journals that a node could not get the farm's shared HTTPS port (another process has it
/// on that address) and listens on another one; names with several of the farm's addresses
/// then point some clients at the wrong port.
fn port_taken(journal: &Journal, node: &str, wanted: SocketAddr) {
    journal
        .record(
            node.to_owned(),
            Kind::Lab,
            format!("{wanted} is taken: {node} listens on another HTTPS port than its farm"),
        )
        .attr("warning", "port-taken")
        .commit();
}

/// The HTTPS address a node should try when the plan leaves the port to the OS: its own IP
/// with the port the first XSP got.
fn ephemeral_https(
    node: &bwlab_core::addr::NodePlan,
    xsps: &[(String, XspHandle)],
) -> Option<SocketAddr> {
    let planned = node.addr("https")?;
    if planned.port() != 0 {
        return None;
    }
    let (_, first) = xsps.first()?;
    Some(SocketAddr::new(planned.ip(), first.https_addr().port()))
}

/// Starts the topology's load balancers in front of their farms' running XSPs.
async fn start_lbs(
    topology: &Topology,
    plan: &AddressPlan,
    pki: &LabPki,
    journal: &Journal,
    xsps: &[(String, XspHandle)],
    seed: u64,
) -> Result<Vec<(String, LbHandle)>, LabError> {
    let mut out: Vec<(String, LbHandle)> = Vec::new();
    for (i, lb) in topology.lbs.iter().enumerate() {
        let farm = topology.farms.iter().find(|f| f.name == lb.farm);
        let backends: Vec<_> = farm
            .into_iter()
            .flat_map(|f| &f.nodes)
            .filter_map(|n| {
                let x = xsps.iter().find(|(name, _)| name == n)?;
                Some((n.clone(), x.1.https_addr(), topology.fqdn(n)))
            })
            .collect();
        let planned = plan
            .node(&lb.name)
            .and_then(|n| n.addr("https"))
            .ok_or_else(|| LabError::Lb(format!("{}: no address in the plan", lb.name)))?;
        let make = |listen: SocketAddr| {
            let mut b = LoadBalancer::builder(lb.name.clone())
                .listen(listen)
                .backends(backends.clone())
                .journal(journal.clone())
                .trust(pki.lab_trust_bundle())
                .mode(if lb.passthrough {
                    LbMode::Passthrough
                } else {
                    LbMode::Terminate
                })
                .policy(if lb.random {
                    Policy::Random {
                        seed: seed ^ i as u64,
                    }
                } else {
                    Policy::RoundRobin
                })
                .affinity(if lb.affinity {
                    Affinity::jsessionid()
                } else {
                    Affinity::Off
                })
                .redirect(lb.redirect);
            if let Some(identity) = pki.node(&lb.name) {
                b = b.identity(identity.clone());
            }
            if let Some((interval, path)) = &lb.health {
                b = b.health(match path {
                    Some(p) => HealthCheck::http(p.clone(), *interval),
                    None => HealthCheck::tcp(*interval),
                });
            }
            b
        };
        // Like the XSPs: the farm's HTTPS port when the OS picks ports, if it is free.
        let started = match xsps.first() {
            Some((_, x)) if planned.port() == 0 => {
                let want = SocketAddr::new(planned.ip(), x.https_addr().port());
                match make(want).start().await {
                    Err(bwlab_lb::LbError::Bind { source, .. })
                        if source.kind() == std::io::ErrorKind::AddrInUse =>
                    {
                        port_taken(journal, &lb.name, want);
                        make(planned).start().await
                    }
                    other => other,
                }
            }
            _ => make(planned).start().await,
        };
        match started {
            Ok(h) => out.push((lb.name.clone(), h)),
            Err(e) => {
                stop_lbs(out).await;
                return Err(LabError::Lb(format!("{}: {e}", lb.name)));
            }
        }
    }
    Ok(out)
}

async fn stop_lbs(lbs: Vec<(String, LbHandle)>) {
    for (_, h) in lbs {
        h.shutdown().await;
    }
}

/// Stops nodes already started when a later one fails, so a failed start leaks no sockets.
async fn stop_all(xsps: Vec<(String, XspHandle)>) {
    for (_, h) in xsps {
        h.shutdown().await;
    }
}

/// The lab PKI for a topology: a server certificate per node (the farm and App names in
/// the SAN of XSPs), the Webex client chain and the other CAs.
///
/// Every device of the lab data with a MAC gets a manufacturing certificate (MPP-style).
pub fn lab_pki(topology: &Topology, data: &Store, clock: &LabClock) -> Result<LabPki, LabError> {
    // No cluster-wide SAN: only XSPs carry the farm names. XSPs come first so the bad
    // certificate variants are issued for a host that serves TLS (xsp1).
    let mut config = PkiConfig::new(topology.cloud_xsp_fqdn(), clock.now());
    config.cluster_domains.clear();
    let mut nodes: Vec<_> = topology.nodes.iter().collect();
    nodes.sort_by_key(|n| n.role != Role::Xsp);
    for node in nodes {
        let mut spec = NodeSpec::new(node.name.clone(), topology.fqdn(&node.name));
        for name in topology.certificate_names(&node.name) {
            spec = spec.with_san(name);
        }
        config = config.with_node(spec);
    }
    for device in data.devices() {
        if let Some(mac) = &device.mac {
            let mut spec = DeviceSpec::new(mac.to_string());
            // `Cisco 8851` → CN `CP-8851-SEP<MAC>`, as the phone's own certificate reads.
            if let Some(model) = device.device_type.strip_prefix("Cisco ") {
                spec.model = Some(model.replace(' ', "-"));
            }
            config = config.with_device(spec);
        }
    }
    Ok(LabPki::generate(config)?)
}

/// A running lab. Dropping it stops its servers; [`shutdown`](Self::shutdown) does so
/// gracefully.
pub struct Lab {
    clock: LabClock,
    journal: Journal,
    profile: Profile,
    store: Store,
    pki: Arc<LabPki>,
    pki_files: Option<ExportManifest>,
    topology: Topology,
    plan: AddressPlan,
    dns: DnsHandle,
    xsps: Vec<(String, XspHandle)>,
    lbs: Vec<(String, LbHandle)>,
    cloud: Option<CloudHandle>,
    auth_keys: AuthKeys,
    app_server: AppServer,
}

impl Lab {
    pub fn builder() -> LabBuilder {
        LabBuilder::default()
    }

    pub fn clock(&self) -> &LabClock {
        &self.clock
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The Application Server's subscriber data.
    pub fn data(&self) -> &Store {
        &self.store
    }

    pub fn pki(&self) -> &LabPki {
        &self.pki
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn plan(&self) -> &AddressPlan {
        &self.plan
    }

    /// The DNS server: change records, inject faults.
    pub fn dns(&self) -> &DnsHandle {
        &self.dns
    }

    /// The running XSP|ADP nodes, in topology order.
    pub fn xsps(&self) -> impl Iterator<Item = (&str, &XspHandle)> {
        self.xsps.iter().map(|(n, h)| (n.as_str(), h))
    }

    /// One XSP|ADP node by name (`xsp1`).
    pub fn xsp(&self, name: &str) -> Option<&XspHandle> {
        self.xsps.iter().find(|(n, _)| n == name).map(|(_, h)| h)
    }

    /// The running load balancers, in topology order.
    pub fn lbs(&self) -> impl Iterator<Item = (&str, &LbHandle)> {
        self.lbs.iter().map(|(n, h)| (n.as_str(), h))
    }

    /// One load balancer by name (`lb-site-a`).
    pub fn lb(&self, name: &str) -> Option<&LbHandle> {
        self.lbs.iter().find(|(n, _)| n == name).map(|(_, h)| h)
    }

    /// The AuthService key set every XSP of the farm shares. The pair is created on first
    /// need (the first token); a test can create it up front with `ensure()`.
    pub fn auth_keys(&self) -> &AuthKeys {
        &self.auth_keys
    }

    /// The application server: calls, Xsi-Events subscriptions and channel sets, event
    /// faults. Every XSP of the lab serves Xsi-Events from it.
    pub fn app_server(&self) -> &AppServer {
        &self.app_server
    }

    /// A scripted call on tokio time, e.g.
    /// `lab.call("alice", "bob").answer_after(2s).release_after(10s).start()`.
    ///
    /// `caller` is a user id, or its part before `@` in the lab domain; `dialed` is what the
    /// caller dials (a number, an extension), or a lab user named the same way — then the
    /// call dials that user's extension (or number).
    pub fn call(&self, caller: &str, dialed: &str) -> ScriptedCall {
        let caller_id = self.user_id(caller);
        let target = self
            .store
            .find_user(&self.user_id(dialed))
            .and_then(|u| {
                u.extension
                    .clone()
                    .or_else(|| u.number.as_ref().map(|n| n.to_string()))
            })
            .unwrap_or_else(|| dialed.to_owned());
        self.app_server.call(&caller_id, &target)
    }

    /// A user id from `alice` or `alice@lab.example` (unknown names are returned as given).
    pub fn user_id(&self, name: &str) -> String {
        if self.store.find_user(name).is_some() || name.contains('@') {
            return name.to_owned();
        }
        let qualified = format!("{name}@{}", self.topology.domain);
        if self.store.find_user(&qualified).is_some() {
            qualified
        } else {
            name.to_owned()
        }
    }

    /// The fake Webex cloud: CI (issue tokens for tests), the IdP proxy.
    pub fn cloud(&self) -> &CloudHandle {
        // Always set by `start`; an Option only so `shutdown` can take it.
        self.cloud
            .as_ref()
            .expect("the cloud runs while the lab does")
    }

    /// Where the DNS server answers (UDP and TCP share the port).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.udp_addr()
    }

    /// The exported CA bundle, when the lab has a state directory.
    pub fn ca_bundle_path(&self) -> Option<&Path> {
        self.pki_files.as_ref().map(|m| m.ca_bundle.as_path())
    }

    /// Everything a person or a script needs to point a SUT at the lab.
    pub fn summary(&self) -> crate::summary::LabSummary {
        crate::summary::LabSummary::of(self)
    }

    pub(crate) fn pki_files(&self) -> Option<&ExportManifest> {
        self.pki_files.as_ref()
    }

    /// Stops every server and waits until their sockets are closed.
    pub async fn shutdown(self) {
        if let Some(cloud) = self.cloud {
            cloud.shutdown().await;
        }
        stop_lbs(self.lbs).await;
        for (_, xsp) in self.xsps {
            xsp.shutdown().await;
        }
        let _ = self.dns.shutdown().await;
        self.journal.record("lab", Kind::Lab, "lab down").commit();
    }
}
