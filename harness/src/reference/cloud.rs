//! The reference Webex cloud microservice.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bwlab_pki::BadCert;
use bytes::Bytes;
use hyper::Method;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::{
    CLOUD_NODE, HttpAnswer, IdpLogin, LabView, Rng, https_exchange, idp_authenticate, lab_resolver,
    resolve_addresses, tls11,
};
use crate::events_client::{ChannelRequest, Endpoint, EventsClient, EventsError, StreamItem};
use crate::topology::Farm;

/// Highest TLS version the microservice offers ([`CloudClientOptions::tls_max_version`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
}

impl TlsVersion {
    /// `1.0` … `1.3`.
    pub fn label(self) -> &'static str {
        match self {
            TlsVersion::V1_0 => "1.0",
            TlsVersion::V1_1 => "1.1",
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }
}

impl std::str::FromStr for TlsVersion {
    type Err = String;

    /// `1.0`, `1.1`, `1.2`, `1.3` (also `TLSv1.2`, `tls1.2`).
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        let t = t.trim_start_matches("tlsv").trim_start_matches("tls");
        match t {
            "1.0" | "1" => Ok(TlsVersion::V1_0),
            "1.1" => Ok(TlsVersion::V1_1),
            "1.2" => Ok(TlsVersion::V1_2),
            "1.3" => Ok(TlsVersion::V1_3),
            _ => Err(format!("unknown TLS version {s:?}")),
        }
    }
}

/// The Webex CTI event channel of a started microservice ([`CloudClient::start`]).
#[derive(Clone, Debug)]
pub struct CtiOptions {
    /// Present this bad client certificate instead of the Webex client identity.
    pub bad_certificate: Option<BadCert>,
    /// Channel set of the CTI channel.
    pub channel_set_id: String,
    /// Package subscribed for the signed-in user once the channel is open (none: no
    /// subscription).
    pub package: Option<String>,
}

impl Default for CtiOptions {
    fn default() -> Self {
        CtiOptions {
            bad_certificate: None,
            channel_set_id: "webex-cti".into(),
            package: Some("Advanced Call".into()),
        }
    }
}

/// Context root of Xsi-Actions; relative request paths are taken from here.
pub const XSI_ACTIONS_ROOT: &str = "/com.broadsoft.xsi-actions/v2.0";

/// How the reference microservice behaves; every field has the documented default.
#[derive(Clone, Debug)]
pub struct CloudClientOptions {
    /// The host Xsi requests go to (default: the lab's cloud farm name, `xsp.<domain>`).
    pub host: Option<String>,
    /// Time for one try: connect, TLS, request and the whole answer (2 s).
    pub try_timeout: Duration,
    /// Tries per request before the error reaches the caller (3).
    pub tries: u32,
    /// How long a failed address stays blocked (unspecified in the guides; 5 min here).
    pub block_for: Duration,
    /// Port per address. Empty: where the lab's XSPs listen (ports may be ephemeral, and
    /// A records carry none), else `default_port`.
    pub ports: HashMap<IpAddr, u16>,
    pub default_port: u16,
    /// Seed of the random pick among blocked addresses.
    pub seed: u64,
    /// Time between the Xsi-Actions polls of a started microservice
    /// ([`CloudClient::start`]); `None`: no polling.
    pub poll_interval: Option<Duration>,
    /// Open the Webex CTI event channel when started ([`CloudClient::start`]).
    pub cti: Option<CtiOptions>,
    /// Highest TLS version offered on every connection (`None`: TLS 1.2 and 1.3). Below
    /// 1.2 the client sends a hand-built TLS 1.1 ClientHello and never an HTTP request.
    pub tls_max_version: Option<TlsVersion>,
}

impl Default for CloudClientOptions {
    fn default() -> Self {
        CloudClientOptions {
            host: None,
            try_timeout: Duration::from_secs(2),
            tries: 3,
            block_for: Duration::from_secs(300),
            ports: HashMap::new(),
            default_port: 443,
            seed: 0x5eed,
            poll_interval: Some(Duration::from_secs(5)),
            cti: None,
            tls_max_version: None,
        }
    }
}

/// Credentials of a request.
#[derive(Clone, Debug)]
pub enum Auth {
    /// HTTP Basic (user id and password, UTF-8).
    Basic { user: String, password: String },
    /// `Authorization: Bearer …` (a BroadWorks JWT or a CI token).
    Bearer(String),
    /// No `Authorization` header.
    None,
}

impl Auth {
    pub fn basic(user: impl Into<String>, password: impl Into<String>) -> Self {
        Auth::Basic {
            user: user.into(),
            password: password.into(),
        }
    }

    pub fn bearer(token: impl Into<String>) -> Self {
        Auth::Bearer(token.into())
    }

    fn header(&self) -> Option<String> {
        match self {
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
            Auth::None => None,
        }
    }
}

/// An answer that reached the caller (any status below 500).
#[derive(Clone, Debug)]
pub struct CloudResponse {
    pub status: u16,
    /// `Location`, for a redirect (never followed).
    pub location: Option<String>,
    pub body: Bytes,
    /// The address that answered.
    pub ip: IpAddr,
    /// The try that got it (1-based).
    pub tries: u32,
}

impl CloudResponse {
    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The host did not resolve.
    #[error("resolving {host}: {message}")]
    Resolve { host: String, message: String },
    /// Every try failed; `last` is the last try's error.
    #[error("{tries} tries failed; last: {last}")]
    Failed { tries: u32, last: String },
    /// The IdP proxy refused the user's login; `message` is its text.
    #[error("login refused by the IdP proxy (HTTP {status}): {message}")]
    LoginRefused { status: u16, message: String },
    /// The IdP proxy could not be reached or answered nonsense.
    #[error("IdP proxy: {0}")]
    Idp(String),
    /// AuthService did not issue the user's BroadWorks token.
    #[error("AuthService ({mode}) refused the token (HTTP {status}): {message}")]
    Token {
        mode: &'static str,
        status: u16,
        message: String,
    },
    /// The client configuration could not be built (certificates…).
    #[error("client configuration: {0}")]
    Config(String),
}

/// A signed-in user, as [`CloudClient::sign_in`] leaves it.
#[derive(Clone, Debug)]
pub struct CloudSignIn {
    /// The BroadWorks user id.
    pub user: String,
    /// The user's CI access token, from the IdP proxy.
    pub ci_token: String,
    /// The user's BroadWorks token (JWT) from AuthService.
    pub bw_token: String,
    /// `ci` (TLS AuthService, CI token) or `mtls` (mTLS AuthService, client certificate).
    pub mode: &'static str,
    /// The lab node whose AuthService issued the token.
    pub node: Option<String>,
    /// The IdP proxy's password warning, if any.
    pub warning: Option<String>,
}

/// The reference Webex cloud microservice: Xsi-Actions requests to the XSP farm's cloud
/// name, with the documented address handling.
///
/// 1. The A/AAAA records of the configured host (`xsp.<domain>`), in answer order; no SRV.
/// 2. Each try goes to the **first** address that is not blocked, and gets `try_timeout`
///    (2 s) for the whole exchange.
/// 3. A TCP/TLS error, a 5xx or no answer in time **blocks** that address for `block_for`
///    and the next try starts at once on the next address. A 4xx is an answer: it reaches
///    the caller without another try. Redirects are never followed.
/// 4. When every address is blocked, a blocked one is picked at random (seeded); an answer
///    from it unblocks it.
/// 5. After `tries` (3) failed tries the error reaches the caller.
///
/// Cheap to clone; clones share the blocked list.
#[derive(Clone)]
pub struct CloudClient {
    inner: Arc<Inner>,
}

struct Inner {
    view: LabView,
    host: String,
    opts: CloudClientOptions,
    ports: HashMap<IpAddr, u16>,
    tls: Result<Arc<rustls::ClientConfig>, String>,
    /// The mTLS AuthService: the mTLS farm (option 2) or the `https-mtls` ports.
    mtls: Target,
    /// The CTI interface of the mTLS farm (option 2) or of every node (option 1).
    cti_ports: HashMap<IpAddr, u16>,
    /// TLS with a bad client certificate, per variant, for the CTI channel.
    bad_tls: HashMap<BadCert, Result<Arc<rustls::ClientConfig>, String>>,
    /// Whether the release validates CI tokens in AuthService.
    ci_validation: bool,
    domain: String,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    rng: Mutex<Rng>,
}

/// Where a kind of request goes: a name, a port per address, TLS settings.
#[derive(Clone)]
struct Target {
    host: String,
    ports: HashMap<IpAddr, u16>,
    tls: Result<Arc<rustls::ClientConfig>, String>,
}

impl CloudClient {
    /// A microservice pointed at the lab's farm (`opts.host`, default `xsp.<domain>`).
    pub fn new(lab: &crate::Lab, opts: CloudClientOptions) -> Self {
        let host = opts
            .host
            .clone()
            .unwrap_or_else(|| lab.topology().cloud_xsp_fqdn());
        let view = LabView::of(lab);
        let ports = if opts.ports.is_empty() {
            view.port_map()
        } else {
            opts.ports.clone()
        };
        let client_opts = |identity: Option<bwlab_pki::Identity>| {
            let mut o = bwlab_pki::ClientOptions::new(view.trust.clone());
            o.identity = identity;
            if let Some(v) = opts.tls_max_version {
                o.versions = if v >= TlsVersion::V1_3 {
                    bwlab_pki::TlsVersions::Tls12And13
                } else {
                    bwlab_pki::TlsVersions::Tls12Only
                };
            }
            bwlab_pki::client_config(&o).map_err(|e| e.to_string())
        };
        let tls = client_opts(None);
        let webex = client_opts(Some(lab.pki().webex_client().clone()));
        let topo = lab.topology();
        let option2 = topo.xsp_nodes().any(|n| n.farm == Farm::Mtls);
        let mut mtls_ports = HashMap::new();
        let mut cti_ports = HashMap::new();
        for n in topo.xsp_nodes() {
            let Some(x) = lab.xsp(&n.name) else { continue };
            let https = if option2 {
                (n.farm == Farm::Mtls).then(|| x.https_addr())
            } else {
                x.mtls_addr()
            };
            if let Some(a) = https {
                mtls_ports.entry(a.ip()).or_insert(a.port());
            }
            if let Some(a) = x.cti_addr()
                && (!option2 || n.farm == Farm::Mtls)
            {
                cti_ports.entry(a.ip()).or_insert(a.port());
            }
        }
        let mtls = Target {
            host: if option2 {
                topo.mtls_xsp_fqdn()
            } else {
                topo.cloud_xsp_fqdn()
            },
            ports: mtls_ports,
            tls: webex,
        };
        let mut bad_tls = HashMap::new();
        // Bad client certificates are made only when asked for (key generation is slow).
        let wanted = opts.cti.as_ref().and_then(|c| c.bad_certificate);
        if let Some(kind) = wanted {
            let cfg = lab
                .pki()
                .bad_cert(kind)
                .map_err(|e| e.to_string())
                .and_then(|b| client_opts(Some(b.identity)));
            bad_tls.insert(kind, cfg);
        }
        CloudClient {
            inner: Arc::new(Inner {
                rng: Mutex::new(Rng::new(opts.seed)),
                view,
                host,
                opts,
                ports,
                tls,
                mtls,
                cti_ports,
                bad_tls,
                ci_validation: lab
                    .profile()
                    .supports(bwlab_profiles::Feature::CiTokenValidation),
                domain: topo.domain.clone(),
                blocked: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The host requests go to.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// Addresses blocked now, in no particular order.
    pub fn blocked(&self) -> Vec<IpAddr> {
        let now = Instant::now();
        let mut list: Vec<IpAddr> = self
            .inner
            .blocked()
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(ip, _)| *ip)
            .collect();
        list.sort();
        list
    }

    /// `GET` an Xsi-Actions path (`user/alice@lab.example/profile`, relative to
    /// [`XSI_ACTIONS_ROOT`], or absolute when it starts with `/`).
    pub async fn get(&self, path: &str, auth: &Auth) -> Result<CloudResponse, CloudError> {
        self.request(Method::GET, path, auth, Bytes::new()).await
    }

    /// Any request, with the documented tries, timeouts and blocked list.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Bytes,
    ) -> Result<CloudResponse, CloudError> {
        let target = self.inner.xsi_target();
        self.request_on(&target, method, path, auth, body).await
    }

    /// A request to `target` under the 16.2 rules: first address not blocked, `tries`
    /// tries of `try_timeout` each; transport errors, 5xx, timeouts and redirects block
    /// the address and move on.
    async fn request_on(
        &self,
        target: &Target,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Bytes,
    ) -> Result<CloudResponse, CloudError> {
        let inner = &self.inner;
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("{XSI_ACTIONS_ROOT}/{path}")
        };
        let ips = self.resolve(&target.host).await?;
        let mut last = String::new();
        let tries = inner.opts.tries.max(1);
        for attempt in 1..=tries {
            let (ip, was_blocked) = self.pick(&ips, attempt);
            let addr = SocketAddr::new(ip, target.port(ip, inner.opts.default_port));
            let exchange = inner.exchange(target, addr, method.clone(), &path, auth, body.clone());
            let result = match tokio::time::timeout(inner.opts.try_timeout, exchange).await {
                Ok(Ok(r)) if r.status >= 500 => Err(format!("HTTP {}", r.status)),
                // Redirects are never followed: the try failed.
                Ok(Ok(r)) if (300..400).contains(&r.status) => Err(format!(
                    "redirect (HTTP {}) to {} not followed",
                    r.status,
                    r.location.as_deref().unwrap_or("(no Location)")
                )),
                Ok(Ok(r)) => Ok(r),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(format!("no answer within {:?}", inner.opts.try_timeout)),
            };
            match result {
                Ok(answer) => {
                    if was_blocked {
                        inner.blocked().remove(&ip);
                        inner
                            .log("unblocked", format!("{ip} answered: unblocked"))
                            .attr("ip", ip.to_string())
                            .attr("try", attempt.to_string())
                            .commit();
                    }
                    inner
                        .log_for(
                            &target.host,
                            "response",
                            format!("{method} {path} → {} from {ip}", answer.status),
                        )
                        .attr("ip", ip.to_string())
                        .attr("xsp", inner.view.label(addr))
                        .attr("method", method.as_str())
                        .attr("path", path.as_str())
                        .attr("status", answer.status.to_string())
                        .attr("try", attempt.to_string())
                        .commit();
                    return Ok(CloudResponse {
                        status: answer.status,
                        location: answer.location,
                        body: answer.body,
                        ip,
                        tries: attempt,
                    });
                }
                Err(e) => {
                    let until = Instant::now() + inner.opts.block_for;
                    inner.blocked().insert(ip, until);
                    let mut rec = inner
                        .log_for(
                            &target.host,
                            "blocked",
                            format!("try {attempt} on {ip} failed ({e}): blocked"),
                        )
                        .attr("ip", ip.to_string())
                        .attr("xsp", inner.view.label(addr))
                        .attr("method", method.as_str())
                        .attr("path", path.as_str())
                        .attr("try", attempt.to_string())
                        .attr("error", e.as_str())
                        .attr(
                            "blocked_for_ms",
                            inner.opts.block_for.as_millis().to_string(),
                        );
                    if e.starts_with("redirect") {
                        rec = rec.attr("redirect", "not-followed");
                    }
                    rec.commit();
                    last = e;
                }
            }
        }
        inner
            .log_for(
                &target.host,
                "failed",
                format!("{method} {path}: {tries} tries failed; last: {last}"),
            )
            .attr("method", method.as_str())
            .attr("path", path.as_str())
            .attr("tries", tries.to_string())
            .attr("error", last.as_str())
            .commit();
        Err(CloudError::Failed { tries, last })
    }

    async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, CloudError> {
        let inner = &self.inner;
        let fail = |message: String| {
            inner
                .log_for(host, "resolve-failed", format!("{host}: {message}"))
                .commit();
            CloudError::Resolve {
                host: host.to_owned(),
                message,
            }
        };
        let resolver =
            lab_resolver(inner.view.dns, inner.opts.try_timeout).map_err(|m| fail(m.clone()))?;
        resolve_addresses(&resolver, host).await.map_err(fail)
    }

    /// The first address not blocked; when all are, a random one. Expired blocks lapse.
    fn pick(&self, ips: &[IpAddr], attempt: u32) -> (IpAddr, bool) {
        let inner = &self.inner;
        let now = Instant::now();
        let mut expired = Vec::new();
        let choice = {
            let mut blocked = inner.blocked();
            blocked.retain(|ip, until| {
                let keep = *until > now;
                if !keep {
                    expired.push(*ip);
                }
                keep
            });
            match ips.iter().find(|ip| !blocked.contains_key(ip)) {
                Some(ip) => (*ip, false),
                None => {
                    let i = inner
                        .rng
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .below(ips.len() as u64) as usize;
                    (ips[i], true)
                }
            }
        };
        for ip in expired {
            inner
                .log("block-expired", format!("{ip} is no longer blocked"))
                .attr("ip", ip.to_string())
                .commit();
        }
        if choice.1 {
            inner
                .log(
                    "random-pick",
                    format!("every address is blocked: trying {} at random", choice.0),
                )
                .attr("ip", choice.0.to_string())
                .attr("try", attempt.to_string())
                .commit();
        }
        choice
    }

    /// The user id for `user` (`alice` → `alice@<domain>`).
    fn user_id(&self, user: &str) -> String {
        if user.contains('@') {
            user.to_owned()
        } else {
            format!("{user}@{}", self.inner.domain)
        }
    }

    /// Validates `user` as the IdP proxy does for Webex (the password-expiry rules and
    /// the `w4bwks-password-expiry-fail-login` flag apply), then gets the user's
    /// BroadWorks token from AuthService the way Webex does on this release: with the
    /// user's CI token on the TLS farm when the release validates CI tokens, else with
    /// the Webex client certificate on the mTLS AuthService.
    ///
    /// Journals the IdP proxy's refusal or warning text, the token, and "mTLS Auth
    /// Misconfigured" when the mTLS AuthService refuses.
    pub async fn sign_in(&self, user: &str, password: &str) -> Result<CloudSignIn, CloudError> {
        let inner = &self.inner;
        let user = self.user_id(user);
        inner
            .log("sign-in", format!("validating {user} at the IdP proxy"))
            .attr("user", user.as_str())
            .commit();
        let tls = inner.tls.clone().map_err(CloudError::Config)?;
        let login = match inner.opts.tls_max_version.filter(|v| *v < TlsVersion::V1_2) {
            Some(v) => {
                let host = bwlab_cloud::DEFAULT_IDP_HOST;
                let port = inner.view.idp.map_or(443, |a| a.port());
                let probe = async {
                    let resolver = lab_resolver(inner.view.dns, inner.opts.try_timeout)?;
                    let ips = resolve_addresses(&resolver, host).await?;
                    Err::<IdpLogin, String>(
                        tls11::refused(SocketAddr::new(ips[0], port), host, v).await,
                    )
                };
                tokio::time::timeout(inner.opts.try_timeout, probe)
                    .await
                    .unwrap_or_else(|_| Err(format!("{host}: no answer")))
            }
            None => {
                idp_authenticate(&inner.view, tls, &user, password, inner.opts.try_timeout).await
            }
        };
        let (ci_token, warning) = match login {
            Ok(IdpLogin::Accepted { ci_token, warning }) => {
                if let Some(w) = &warning {
                    inner
                        .log("password-warning", w.clone())
                        .attr("user", user.as_str())
                        .commit();
                }
                (ci_token, warning)
            }
            Ok(IdpLogin::Refused { status, message }) => {
                let action = if status >= 500 {
                    "idp-failed"
                } else {
                    "login-refused"
                };
                inner
                    .log(action, message.clone())
                    .attr("user", user.as_str())
                    .attr("status", status.to_string())
                    .commit();
                return Err(if status >= 500 {
                    CloudError::Idp(format!("HTTP {status}: {message}"))
                } else {
                    CloudError::LoginRefused { status, message }
                });
            }
            Err(e) => {
                inner
                    .log("idp-unreachable", format!("IdP proxy: {e}"))
                    .attr("user", user.as_str())
                    .attr("error", e.as_str())
                    .commit();
                return Err(CloudError::Idp(e));
            }
        };
        let (mode, result) = if inner.ci_validation {
            let target = inner.xsi_target();
            let r = self
                .request_on(
                    &target,
                    Method::GET,
                    "/authService/token",
                    &Auth::bearer(ci_token.clone()),
                    Bytes::new(),
                )
                .await;
            ("ci", r)
        } else {
            let target = inner.mtls.clone();
            let path = format!(
                "/authService/token?user={}&orgId={}",
                query_escape(&user),
                bwlab_cloud::DEFAULT_PARTNER_ORG
            );
            let r = self
                .request_on(&target, Method::GET, &path, &Auth::None, Bytes::new())
                .await;
            ("mtls", r)
        };
        let misconfigured = |why: &str| {
            inner
                .log(
                    "mtls-auth-misconfigured",
                    format!("mTLS Auth Misconfigured: {why}"),
                )
                .attr("user", user.as_str())
                .commit();
        };
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                if mode == "mtls" {
                    misconfigured(&e.to_string());
                }
                return Err(e);
            }
        };
        let token = (answer.status == 200)
            .then(|| serde_json::from_slice::<serde_json::Value>(&answer.body).ok())
            .flatten()
            .and_then(|v| v.get("token").and_then(|t| t.as_str()).map(str::to_owned));
        let addr_node = inner
            .view
            .xsps
            .iter()
            .chain(&inner.view.mtls)
            .find(|(_, a)| a.ip() == answer.ip)
            .map(|(n, _)| n.clone());
        match token {
            Some(bw_token) => {
                inner
                    .log(
                        "token",
                        format!(
                            "BroadWorks token for {user} from AuthService ({mode}) on {}",
                            addr_node.as_deref().unwrap_or("?")
                        ),
                    )
                    .attr("user", user.as_str())
                    .attr("mode", mode)
                    .attr("xsp", addr_node.clone().unwrap_or_default())
                    .commit();
                Ok(CloudSignIn {
                    user,
                    ci_token,
                    bw_token,
                    mode,
                    node: addr_node,
                    warning,
                })
            }
            None => {
                let message = answer.text();
                if mode == "mtls" && matches!(answer.status, 401 | 403) {
                    misconfigured(&format!("AuthService answered HTTP {}", answer.status));
                }
                inner
                    .log(
                        "token-refused",
                        format!("AuthService ({mode}) answered HTTP {}", answer.status),
                    )
                    .attr("user", user.as_str())
                    .attr("mode", mode)
                    .attr("status", answer.status.to_string())
                    .commit();
                Err(CloudError::Token {
                    mode,
                    status: answer.status,
                    message,
                })
            }
        }
    }

    /// Starts the microservice working for `user`: signs in (when `password` is given),
    /// opens the CTI channel (`opts.cti`), then polls the user's profile every
    /// `opts.poll_interval` with the BroadWorks token (Basic without one), through the
    /// 16.2 rules. Runs until [`CloudRunner::stop`] or until the runner is dropped.
    pub fn start(&self, user: &str, password: Option<&str>) -> CloudRunner {
        let (stop, stop_rx) = watch::channel(false);
        let state = Arc::new(Mutex::new(RunState::default()));
        let me = self.clone();
        let user = self.user_id(user);
        let password = password.map(str::to_owned);
        let st = state.clone();
        let task = tokio::spawn(async move { me.run(user, password, st, stop_rx).await });
        CloudRunner {
            client: self.clone(),
            state,
            stop,
            task: Some(task),
        }
    }

    async fn run(
        self,
        user: String,
        password: Option<String>,
        state: Arc<Mutex<RunState>>,
        mut stop: watch::Receiver<bool>,
    ) {
        let set =
            |f: &dyn Fn(&mut RunState)| f(&mut state.lock().unwrap_or_else(|e| e.into_inner()));
        set(&|s| s.running = true);
        let mut auth = match &password {
            Some(p) => Auth::basic(user.clone(), p.clone()),
            None => Auth::None,
        };
        if let Some(p) = &password {
            let signed = tokio::select! {
                _ = stopped(&mut stop) => None,
                r = self.sign_in(&user, p) => Some(r),
            };
            match signed {
                None => {
                    set(&|s| s.running = false);
                    return;
                }
                Some(Ok(s)) => {
                    auth = Auth::bearer(s.bw_token.clone());
                    let s2 = s.clone();
                    state.lock().unwrap_or_else(|e| e.into_inner()).sign_in = Some(s2);
                }
                Some(Err(_)) => {}
            }
        }
        let _cti = match self.inner.opts.cti.clone() {
            Some(c) => {
                let opened = tokio::select! {
                    _ = stopped(&mut stop) => None,
                    r = self.open_cti(&user, &c) => Some(r),
                };
                match opened {
                    None => {
                        set(&|s| s.running = false);
                        return;
                    }
                    Some(r) => {
                        let ok = r.is_ok();
                        set(&|s| s.cti_open = ok);
                        r.ok()
                    }
                }
            }
            None => None,
        };
        if let Some(every) = self.inner.opts.poll_interval {
            let path = format!("user/{user}/profile");
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stopped(&mut stop) => break,
                    _ = ticks.tick() => {
                        let r = self.get(&path, &auth).await;
                        let ok = matches!(&r, Ok(a) if a.status == 200);
                        let ip = r.as_ref().ok().map(|a| a.ip);
                        set(&|s| {
                            s.polls += 1;
                            if ok {
                                s.polls_ok += 1;
                            }
                            s.last_ip = ip.or(s.last_ip);
                        });
                    }
                }
            }
        } else {
            stopped(&mut stop).await;
        }
        set(&|s| s.running = false);
        self.inner
            .log("stopped", format!("microservice for {user} stopped"))
            .attr("user", user.as_str())
            .commit();
    }

    /// Opens the Webex CTI event channel (Xsi-Events on the `cti` interface) with the
    /// Webex client certificate or the bad one asked for, and subscribes `package` for
    /// `user`. A refused handshake or request is journalled with the word "certificate".
    async fn open_cti(&self, user: &str, opts: &CtiOptions) -> Result<CtiChannel, String> {
        let inner = &self.inner;
        let (tls, which) = match opts.bad_certificate {
            Some(kind) => (
                inner
                    .bad_tls
                    .get(&kind)
                    .cloned()
                    .unwrap_or_else(|| Err(format!("no {kind} certificate"))),
                format!("bad client certificate {kind}"),
            ),
            None => (
                inner.mtls.tls.clone(),
                "Webex client certificate".to_owned(),
            ),
        };
        let tls = tls?;
        let host = inner.mtls.host.clone();
        let ips = self.resolve(&host).await.map_err(|e| e.to_string())?;
        let (ip, _) = self.pick(&ips, 1);
        let port = inner.cti_ports.get(&ip).copied().unwrap_or(8012);
        let addr = SocketAddr::new(ip, port);
        let node = inner.view.label(addr);
        let refused = |what: &str, e: &EventsError| {
            let reason = match e {
                EventsError::Tls { source, .. } => format!("TLS handshake failed: {source}"),
                EventsError::Io(e) => format!("connection closed: {e}"),
                other => other.to_string(),
            };
            let text = format!("CTI {what} on {node} refused with the {which}: {reason}");
            inner
                .log_for(&host, "cti-refused", format!("certificate refused: {text}"))
                .attr("xsp", node.as_str())
                .attr("ip", ip.to_string())
                .attr("certificate", which.as_str())
                .attr("error", reason.as_str())
                .commit();
            text
        };
        if let Some(v) = inner.opts.tls_max_version.filter(|v| *v < TlsVersion::V1_2) {
            let e = tls11::refused(addr, &host, v).await;
            inner
                .log("cti-refused", format!("CTI on {node}: {e}"))
                .attr("xsp", node.as_str())
                .commit();
            return Err(e);
        }
        let endpoint = Endpoint::with_tls(addr, host.clone(), tls);
        let client = EventsClient::with_authorization(endpoint, None);
        let req = ChannelRequest::new(&opts.channel_set_id, "webex-cti");
        let channel = tokio::time::timeout(inner.opts.try_timeout * 5, client.open_channel(&req))
            .await
            .map_err(|_| format!("CTI channel add on {node}: no answer"))?
            .map_err(|e| refused("channel add", &e))?;
        let id = channel.id().to_owned();
        inner
            .log_for(
                &host,
                "cti-channel-opened",
                format!("CTI channel {id} on {node} with the {which}"),
            )
            .attr("xsp", node.as_str())
            .attr("channel", id.as_str())
            .commit();
        if let Some(package) = &opts.package {
            let sub = client
                .subscribe(user, package, &opts.channel_set_id, "webex-cti")
                .await
                .map_err(|e| refused("subscription", &e))?;
            inner
                .log(
                    "cti-subscribed",
                    format!("CTI subscription {sub} for {user} ({package}) on {node}"),
                )
                .attr("xsp", node.as_str())
                .attr("user", user)
                .attr("subscription", sub.as_str())
                .commit();
        }
        Ok(CtiChannel::spawn(
            client,
            channel,
            inner.opts.try_timeout * 5,
        ))
    }
}

/// A CTI channel kept alive: events acknowledged, heartbeats every 15 s.
struct CtiChannel {
    task: JoinHandle<()>,
}

impl CtiChannel {
    fn spawn(
        client: EventsClient,
        mut channel: crate::events_client::EventChannel,
        timeout: Duration,
    ) -> Self {
        let task = tokio::spawn(async move {
            let id = channel.id().to_owned();
            let every = Duration::from_secs(15);
            let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
            loop {
                tokio::select! {
                    item = channel.next_event() => match item {
                        Ok(Some(StreamItem::Event(bwlab_xsi::documents::events::Event::Subscription(ev)))) => {
                            let _ = tokio::time::timeout(timeout, client.ack(&ev.event_id, 200)).await;
                        }
                        Ok(Some(_)) => {}
                        _ => return,
                    },
                    _ = ticks.tick() => {
                        let _ = tokio::time::timeout(timeout, client.heartbeat(&id)).await;
                    }
                }
            }
        });
        CtiChannel { task }
    }
}

impl Drop for CtiChannel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct RunState {
    running: bool,
    sign_in: Option<CloudSignIn>,
    cti_open: bool,
    polls: u64,
    polls_ok: u64,
    last_ip: Option<IpAddr>,
}

/// A started microservice ([`CloudClient::start`]). Dropping it stops the task too.
pub struct CloudRunner {
    client: CloudClient,
    state: Arc<Mutex<RunState>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl CloudRunner {
    fn state<R>(&self, f: impl FnOnce(&RunState) -> R) -> R {
        f(&self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The client (shares the blocked list with the task).
    pub fn client(&self) -> &CloudClient {
        &self.client
    }

    /// The sign-in, once it succeeded.
    pub fn signed_in(&self) -> Option<CloudSignIn> {
        self.state(|s| s.sign_in.clone())
    }

    /// Whether the CTI channel is open.
    pub fn cti_open(&self) -> bool {
        self.state(|s| s.cti_open)
    }

    /// Polls made, and polls answered 200.
    pub fn polls(&self) -> (u64, u64) {
        self.state(|s| (s.polls, s.polls_ok))
    }

    /// The address of the latest answered poll.
    pub fn last_ip(&self) -> Option<IpAddr> {
        self.state(|s| s.last_ip)
    }

    /// Whether the task still runs.
    pub fn is_running(&self) -> bool {
        self.state(|s| s.running)
    }

    /// Stops the task and waits for it (the CTI channel's connection closes).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for CloudRunner {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Until `stop` says so (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Percent-encodes a query value.
fn query_escape(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Target {
    fn port(&self, ip: IpAddr, default: u16) -> u16 {
        self.ports.get(&ip).copied().unwrap_or(default)
    }
}

impl Inner {
    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Xsi-Actions / TLS AuthService target: the farm's cloud name.
    fn xsi_target(&self) -> Target {
        Target {
            host: self.host.clone(),
            ports: self.ports.clone(),
            tls: self.tls.clone(),
        }
    }

    fn log(&self, action: &str, summary: String) -> bwlab_core::journal::Record<'_> {
        self.log_for(&self.host, action, summary)
    }

    fn log_for(
        &self,
        host: &str,
        action: &str,
        summary: String,
    ) -> bwlab_core::journal::Record<'_> {
        self.view
            .log(CLOUD_NODE, action, summary)
            .attr("host", host.to_owned())
    }

    /// One try: a fresh connection, TLS with the host's name, one HTTP/1.1 exchange. With
    /// a TLS maximum below 1.2, only the hand-built ClientHello goes out.
    async fn exchange(
        &self,
        target: &Target,
        addr: SocketAddr,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Bytes,
    ) -> Result<HttpAnswer, String> {
        if let Some(v) = self.opts.tls_max_version.filter(|v| *v < TlsVersion::V1_2) {
            return Err(tls11::refused(addr, &target.host, v).await);
        }
        let tls = target.tls.clone()?;
        let mut headers = vec![("accept", "application/xml".to_owned())];
        if let Some(h) = auth.header() {
            headers.push(("authorization", h));
        }
        if !body.is_empty() {
            headers.push(("content-type", "application/xml; charset=UTF-8".to_owned()));
        }
        https_exchange(tls, addr, &target.host, method, path, &headers, body).await
    }
}
