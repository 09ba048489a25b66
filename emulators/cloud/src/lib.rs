//! Fake Webex identity services for the lab, each on its own HTTPS host with a lab PKI
//! certificate:
//!
//! * **CI / IdBroker** (`idbroker.webex.com`, `idbroker-eu.webex.com`,
//!   `idbroker-b-us.webex.com`): OAuth access tokens for lab users and clients,
//!   introspection with the region's issuer URL, revocation; expiry on the lab clock.
//! * **BroadWorks IdP proxy** (`broadworks-idp-proxy-a.wbx2.com`): BroadWorks logins checked
//!   through Xsi-Actions of the cluster over HTTPS, with the password outcomes of the
//!   Webex-for-BroadWorks guide, a ping, and CI-token validation on the `tokenInfoUrl`.
//!
//! [`CiTokenInfoClient`] is the client side an XSP's AuthService uses. See `docs/cloud.md`.
//!
//! ```no_run
//! # async fn run(pki: bwlab_pki::LabPki, journal: bwlab_core::Journal, clock: bwlab_core::LabClock) {
//! use bwlab_cloud::Cloud;
//! let cloud = Cloud::builder()
//!     .pki(&pki)
//!     .journal(journal)
//!     .clock(clock)
//!     .xsi_base_url("https://xsp.lab.example/com.broadsoft.xsi-actions/v2.0")
//!     .xsi_trust(pki.lab_trust_bundle())
//!     .bind("127.77.0.40:0".parse().unwrap())
//!     .start()
//!     .await
//!     .unwrap();
//! let token = cloud.ci().issue_token("alice@acme.example", "org", &["broadworks-connector:user"],
//!     time::Duration::hours(1));
//! cloud.shutdown().await;
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ci;
mod client;
mod http;
mod idp;
mod policy;
mod url;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bwlab_core::{Journal, Kind, LabClock};
use bwlab_pki::rustls::pki_types::CertificateDer;
use bwlab_pki::{LabPki, ServerOptions};
use tokio::sync::watch;

pub use ci::{
    CiHandle, CiRegion, DEFAULT_TOKEN_LIFETIME, PATH_ACCESS_TOKEN, PATH_REVOKE, PATH_TOKEN_INFO,
    REFRESH_FIRST_USE_WINDOW, TokenInfo, TokenSpec, ci_user_id,
};
pub use client::{
    CiError, CiIdentity, CiTokenInfoClient, DEFAULT_TIMEOUT, SCOPE_BROADWORKS_USER,
    SCOPE_BROADWORKS_USER_ALT,
};
pub use http::MAX_BODY_BYTES;
pub use idp::{
    AuthenticateRequest, BodyError, BwTokenMode, IDP_API_ROOT, LOGIN_FAILED_CODE,
    LOGIN_FAILED_MESSAGE, MAX_CREDENTIAL_CHARS, PASSWORD_EXPIRY_FAIL_LOGIN_FLAG, PATH_AUTHENTICATE,
    PATH_BWTOKEN_FETCH, PATH_BWTOKEN_FETCH_API, PATH_PING, parse_authenticate_request,
};
pub use policy::{PasswordPolicySource, PasswordStatus, StorePolicySource};
pub use url::HttpsUrl;

/// Journal node name of the CI hosts.
pub const NODE_CI: &str = "ci";
/// Journal node name of the IdP proxy hosts.
pub const NODE_IDP: &str = "idp-proxy";
/// Default IdP proxy host (Teams cluster ACHM).
pub const DEFAULT_IDP_HOST: &str = "broadworks-idp-proxy-a.wbx2.com";
/// Default partner org id used when a request names none.
pub const DEFAULT_PARTNER_ORG: &str = "0f3c2a51-7d4e-4b8a-9c61-5e2f8a7b1d00";

/// Why the cloud could not start.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// A mandatory builder input is missing.
    #[error("cloud: missing {0}")]
    Missing(&'static str),
    /// Inconsistent settings.
    #[error("cloud: {0}")]
    Config(String),
    /// A certificate could not be issued.
    #[error("cloud: certificate for {host}: {source}")]
    Pki {
        /// Host name.
        host: String,
        /// Cause.
        source: bwlab_pki::PkiError,
    },
    /// A TLS configuration could not be built.
    #[error("cloud: TLS for {host}: {source}")]
    Tls {
        /// Host name.
        host: String,
        /// Cause.
        source: bwlab_pki::TlsError,
    },
    /// A socket could not be bound.
    #[error("cloud: cannot listen on {addr} for {host}: {source}")]
    Bind {
        /// Host name.
        host: String,
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// State shared by every listener.
pub(crate) struct Shared {
    pub ci: Arc<ci::CiState>,
    pub idp: idp::IdpState,
    pub journal: Journal,
}

/// Entry point: [`Cloud::builder`].
pub struct Cloud;

impl Cloud {
    /// Starts describing the cloud fakes.
    pub fn builder<'a>() -> CloudBuilder<'a> {
        CloudBuilder {
            pki: None,
            journal: None,
            clock: None,
            xsi_base_url: None,
            xsi_trust: Vec::new(),
            xsi_connect: None,
            xsi_fallback: Vec::new(),
            authservice_fallback: None,
            xsi_timeout: DEFAULT_TIMEOUT,
            authservice: None,
            policy: None,
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            host_binds: HashMap::new(),
            regions: CiRegion::defaults(),
            idp_hosts: vec![DEFAULT_IDP_HOST.to_owned()],
            partner_org_id: DEFAULT_PARTNER_ORG.to_owned(),
            warning_days: 10,
        }
    }
}

/// Where and how the IdP proxy asks the cluster's AuthService for a user's BroadWorks token.
#[derive(Clone, Debug)]
pub struct AuthServiceTarget {
    /// AuthService root, e.g. `https://xsp.lab.example/authService` (the proxy calls
    /// `{url}/token`).
    pub url: String,
    /// Connect here instead of resolving the URL's host.
    pub connect: Option<SocketAddr>,
    /// How the proxy authenticates.
    pub mode: BwTokenMode,
    /// Client certificate to present (the Webex client certificate; required for mTLS).
    pub client_identity: Option<bwlab_pki::Identity>,
}

/// Builder returned by [`Cloud::builder`].
pub struct CloudBuilder<'a> {
    pki: Option<&'a LabPki>,
    journal: Option<Journal>,
    clock: Option<LabClock>,
    xsi_base_url: Option<String>,
    xsi_trust: Vec<CertificateDer<'static>>,
    xsi_connect: Option<SocketAddr>,
    xsi_fallback: Vec<SocketAddr>,
    authservice_fallback: Option<Vec<SocketAddr>>,
    xsi_timeout: Duration,
    authservice: Option<AuthServiceTarget>,
    policy: Option<Arc<dyn PasswordPolicySource>>,
    bind: SocketAddr,
    host_binds: HashMap<String, SocketAddr>,
    regions: Vec<CiRegion>,
    idp_hosts: Vec<String>,
    partner_org_id: String,
    warning_days: i64,
}

impl<'a> CloudBuilder<'a> {
    /// Lab PKI: every host gets `pki.server_cert_for_host(host)` (required).
    pub fn pki(mut self, pki: &'a LabPki) -> Self {
        self.pki = Some(pki);
        self
    }

    /// Journal to record into (default: a new one on the clock).
    pub fn journal(mut self, journal: Journal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Lab clock for token expiry and certificate checks (default: the system clock).
    pub fn clock(mut self, clock: LabClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Xsi-Actions root of the cluster the IdP proxy logs users in against, e.g.
    /// `https://xsp.lab.example/com.broadsoft.xsi-actions/v2.0`.
    pub fn xsi_base_url(mut self, url: &str) -> Self {
        self.xsi_base_url = Some(url.to_owned());
        self
    }

    /// Roots (DER) the IdP proxy trusts for the Xsi host. The host name is always checked.
    pub fn xsi_trust(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.xsi_trust = roots;
        self
    }

    /// Connect to this address for Xsi instead of resolving the URL's host.
    pub fn xsi_connect(mut self, addr: SocketAddr) -> Self {
        self.xsi_connect = Some(addr);
        self
    }

    /// Further addresses of the XSP farm (the rest of its A record), tried in order when
    /// the first fails, for Xsi and AuthService alike.
    pub fn xsi_fallback(mut self, addrs: Vec<SocketAddr>) -> Self {
        self.xsi_fallback = addrs;
        self
    }

    /// Further AuthService addresses, tried in order when the first fails (e.g. the other
    /// nodes of an mTLS farm); default: the Xsi fallback list in CI-token mode, none in
    /// mTLS mode.
    pub fn authservice_fallback(mut self, addrs: Vec<SocketAddr>) -> Self {
        self.authservice_fallback = Some(addrs);
        self
    }

    /// Timeout of one Xsi request (default 2 s).
    pub fn xsi_timeout(mut self, t: Duration) -> Self {
        self.xsi_timeout = t;
        self
    }

    /// The cluster's AuthService for `GET /idp/bwtoken/fetch` (trust = [`xsi_trust`](Self::xsi_trust)).
    pub fn authservice(mut self, target: AuthServiceTarget) -> Self {
        self.authservice = Some(target);
        self
    }

    /// Where the proxy learns password-expiry reasons (see [`PasswordPolicySource`]).
    pub fn password_policy(mut self, source: Arc<dyn PasswordPolicySource>) -> Self {
        self.policy = Some(source);
        self
    }

    /// Default address of every host's listener. With a fixed port, give each host its own
    /// address with [`bind_host`](Self::bind_host); port 0 picks a free port per host.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Address of one host's listener (the lab gives each host its own loopback address).
    pub fn bind_host(mut self, host: &str, addr: SocketAddr) -> Self {
        self.host_binds.insert(host.to_ascii_lowercase(), addr);
        self
    }

    /// CI clusters to serve (default: US-A, EU, US-B). The first issues tokens by default.
    pub fn ci_regions(mut self, regions: Vec<CiRegion>) -> Self {
        self.regions = regions;
        self
    }

    /// IdP proxy hosts (default: `broadworks-idp-proxy-a.wbx2.com`).
    pub fn idp_hosts(mut self, hosts: Vec<String>) -> Self {
        self.idp_hosts = hosts;
        self
    }

    /// Partner org id used when an authenticate request names none.
    pub fn partner_org_id(mut self, org: &str) -> Self {
        self.partner_org_id = org.to_owned();
        self
    }

    /// Days-left threshold for the expiry warning (default 10).
    pub fn warning_days(mut self, days: i64) -> Self {
        self.warning_days = days;
        self
    }

    /// Issues the certificates, binds every host and starts serving.
    pub async fn start(self) -> Result<CloudHandle, CloudError> {
        let pki = self.pki.ok_or(CloudError::Missing("pki"))?;
        let clock = self.clock.unwrap_or_else(LabClock::system);
        let journal = self.journal.unwrap_or_else(|| Journal::new(clock.clone()));
        if self.regions.is_empty() && self.idp_hosts.is_empty() {
            return Err(CloudError::Config("no hosts to serve".into()));
        }
        let xsi = match &self.xsi_base_url {
            None => None,
            Some(u) => {
                let url = HttpsUrl::parse(u).map_err(CloudError::Config)?;
                if self.xsi_trust.is_empty() {
                    return Err(CloudError::Missing("xsi_trust"));
                }
                let tls = client::tls_config(self.xsi_trust.clone(), None).map_err(|source| {
                    CloudError::Tls {
                        host: url.host.clone(),
                        source,
                    }
                })?;
                Some(client::Upstream {
                    url,
                    connect: self.xsi_connect,
                    fallback: self.xsi_fallback.clone(),
                    tls,
                    timeout: self.xsi_timeout,
                })
            }
        };
        let mut idp_state = idp::IdpState::new(xsi, self.policy, self.partner_org_id);
        if let Some(a) = self.authservice {
            let url = HttpsUrl::parse(&a.url).map_err(CloudError::Config)?;
            if self.xsi_trust.is_empty() {
                return Err(CloudError::Missing("xsi_trust"));
            }
            if a.mode == BwTokenMode::Mtls && a.client_identity.is_none() {
                return Err(CloudError::Missing(
                    "authservice client identity (mTLS mode)",
                ));
            }
            let tls = client::tls_config(self.xsi_trust.clone(), a.client_identity).map_err(
                |source| CloudError::Tls {
                    host: url.host.clone(),
                    source,
                },
            )?;
            idp_state.authservice = Some((
                client::Upstream {
                    url,
                    connect: a.connect,
                    // Without a list of its own, the farm's other addresses: its TLS
                    // interfaces, no use for mTLS.
                    fallback: match (&self.authservice_fallback, a.mode) {
                        (Some(list), _) => list.clone(),
                        (None, BwTokenMode::Mtls) => Vec::new(),
                        (None, _) => self.xsi_fallback.clone(),
                    },
                    tls,
                    timeout: self.xsi_timeout,
                },
                a.mode,
            ));
        }
        idp_state.warning_days = self.warning_days;
        let shared = Arc::new(Shared {
            ci: Arc::new(ci::CiState::new(clock.clone(), self.regions.clone())),
            idp: idp_state,
            journal: journal.clone(),
        });

        let mut wanted: Vec<(String, http::Role)> = self
            .regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.host.clone(), http::Role::Ci(i)))
            .collect();
        wanted.extend(
            self.idp_hosts
                .iter()
                .map(|h| (h.to_ascii_lowercase(), http::Role::Idp)),
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut hosts = Vec::new();
        let mut tasks = Vec::new();
        for (host, role) in wanted {
            let identity = pki
                .server_cert_for_host(&host)
                .map_err(|source| CloudError::Pki {
                    host: host.clone(),
                    source,
                })?;
            let pki_clock = clock.clone();
            let opts = ServerOptions {
                alpn: vec![b"http/1.1".to_vec()],
                clock: Some(bwlab_pki::LabClock::new(move || pki_clock.now())),
                ..ServerOptions::default()
            };
            let tls =
                bwlab_pki::server_config(&identity, &opts).map_err(|source| CloudError::Tls {
                    host: host.clone(),
                    source,
                })?;
            let addr = self.host_binds.get(&host).copied().unwrap_or(self.bind);
            let net_faults =
                bwlab_net::faults::NetFaults::with_journal(0x5eed, journal.clone(), role.node());
            let http_faults = bwlab_net::http_faults::HttpFaults::with_journal(
                0x5eed,
                journal.clone(),
                role.node(),
            );
            let ctx = http::HostCtx {
                host: host.clone(),
                role: role.clone(),
                net_faults: net_faults.clone(),
                http_faults: http_faults.clone(),
            };
            let l = http::Listener::bind(addr, tls, ctx, Arc::clone(&shared))
                .await
                .map_err(|source| CloudError::Bind {
                    host: host.clone(),
                    addr,
                    source,
                })?;
            journal
                .record(
                    role.node(),
                    Kind::Lab,
                    format!("{host} up on {}", l.local_addr),
                )
                .attr("host", host.clone())
                .commit();
            hosts.push(HostEntry {
                host,
                addr: l.local_addr,
                idp: matches!(role, http::Role::Idp),
                net_faults,
                http_faults,
            });
            tasks.push(l.spawn(stop_rx.clone()));
        }
        Ok(CloudHandle {
            shared,
            hosts,
            stop: stop_tx,
            tasks,
        })
    }
}

struct HostEntry {
    host: String,
    addr: SocketAddr,
    idp: bool,
    net_faults: bwlab_net::faults::NetFaults,
    http_faults: bwlab_net::http_faults::HttpFaults,
}

/// The running cloud fakes. Dropping it stops accepting; [`shutdown`](Self::shutdown)
/// also waits for open connections.
pub struct CloudHandle {
    shared: Arc<Shared>,
    hosts: Vec<HostEntry>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl CloudHandle {
    /// Transport faults under the listener of `host` (e.g. `idbroker-eu.webex.com`).
    pub fn net_faults(&self, host: &str) -> Option<&bwlab_net::faults::NetFaults> {
        self.hosts
            .iter()
            .find(|h| h.host.eq_ignore_ascii_case(host))
            .map(|h| &h.net_faults)
    }

    /// HTTP faults per route on the requests of `host` (WireMock's vocabulary plus status
    /// and redirect answers; see `bwlab_net::http_faults`). A status fault without a body
    /// answers the host's JSON error shape (`{"error", "message"}`).
    pub fn http_faults(&self, host: &str) -> Option<&bwlab_net::http_faults::HttpFaults> {
        self.hosts
            .iter()
            .find(|h| h.host.eq_ignore_ascii_case(host))
            .map(|h| &h.http_faults)
    }

    /// Admin/test API of the CI fake.
    pub fn ci(&self) -> CiHandle {
        CiHandle(Arc::clone(&self.shared.ci))
    }

    /// Bound address of `host`.
    pub fn addr(&self, host: &str) -> Option<SocketAddr> {
        self.hosts
            .iter()
            .find(|h| h.host.eq_ignore_ascii_case(host))
            .map(|h| h.addr)
    }

    /// Every host with its bound address (for the lab DNS).
    pub fn hosts(&self) -> Vec<(String, SocketAddr)> {
        self.hosts
            .iter()
            .map(|h| (h.host.clone(), h.addr))
            .collect()
    }

    /// First IdP proxy host name.
    pub fn idp_host(&self) -> Option<&str> {
        self.hosts.iter().find(|h| h.idp).map(|h| h.host.as_str())
    }

    /// `tokenInfoUrl` to configure on AuthService (first IdP proxy host, port 443 — the
    /// lab DNS maps the name to the listener's address).
    pub fn token_info_url(&self) -> Option<String> {
        self.idp_host()
            .map(|h| format!("https://{h}{PATH_AUTHENTICATE}"))
    }

    /// Turns the per-partner flag `w4bwks-password-expiry-fail-login` on or off for one
    /// partner org (`Some(org)`) or for every org without its own setting (`None`).
    pub fn set_password_expiry_fail_login(&self, org: Option<&str>, on: bool) {
        self.shared.idp.set_flag(org, on);
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.shared.journal
    }

    /// Stops every listener and waits (bounded) for open connections.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.shared
            .journal
            .record(NODE_CI, Kind::Lab, "cloud fakes down")
            .commit();
    }
}

impl Drop for CloudHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
