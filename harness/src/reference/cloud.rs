//! The reference Webex cloud microservice.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{CLOUD_NODE, LabView, Rng, lab_resolver, resolve_addresses};

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
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    rng: Mutex<Rng>,
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
        let tls = bwlab_pki::client_config(&bwlab_pki::ClientOptions::new(view.trust.clone()))
            .map_err(|e| e.to_string());
        CloudClient {
            inner: Arc::new(Inner {
                rng: Mutex::new(Rng::new(opts.seed)),
                view,
                host,
                opts,
                ports,
                tls,
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
        let inner = &self.inner;
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("{XSI_ACTIONS_ROOT}/{path}")
        };
        let ips = self.resolve().await?;
        let mut last = String::new();
        let tries = inner.opts.tries.max(1);
        for attempt in 1..=tries {
            let (ip, was_blocked) = self.pick(&ips, attempt);
            let addr = SocketAddr::new(ip, inner.port(ip));
            let exchange = inner.exchange(addr, method.clone(), &path, auth, body.clone());
            let result = match tokio::time::timeout(inner.opts.try_timeout, exchange).await {
                Ok(Ok(r)) if r.status >= 500 => Err(format!("HTTP {}", r.status)),
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
                    let mut rec = inner
                        .log(
                            "response",
                            format!("{method} {path} → {} from {ip}", answer.status),
                        )
                        .attr("ip", ip.to_string())
                        .attr("xsp", inner.label(addr))
                        .attr("method", method.as_str())
                        .attr("path", path.as_str())
                        .attr("status", answer.status.to_string())
                        .attr("try", attempt.to_string());
                    if (300..400).contains(&answer.status) {
                        rec = rec.attr("redirect", "not-followed");
                    }
                    rec.commit();
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
                    inner
                        .log(
                            "blocked",
                            format!("try {attempt} on {ip} failed ({e}): blocked"),
                        )
                        .attr("ip", ip.to_string())
                        .attr("xsp", inner.label(addr))
                        .attr("method", method.as_str())
                        .attr("path", path.as_str())
                        .attr("try", attempt.to_string())
                        .attr("error", e.as_str())
                        .attr(
                            "blocked_for_ms",
                            inner.opts.block_for.as_millis().to_string(),
                        )
                        .commit();
                    last = e;
                }
            }
        }
        inner
            .log(
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

    async fn resolve(&self) -> Result<Vec<IpAddr>, CloudError> {
        let inner = &self.inner;
        let fail = |message: String| {
            inner
                .log("resolve-failed", format!("{}: {message}", inner.host))
                .attr("host", inner.host.as_str())
                .commit();
            CloudError::Resolve {
                host: inner.host.clone(),
                message,
            }
        };
        let resolver =
            lab_resolver(inner.view.dns, inner.opts.try_timeout).map_err(|m| fail(m.clone()))?;
        resolve_addresses(&resolver, &inner.host)
            .await
            .map_err(fail)
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
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: Bytes,
}

impl Inner {
    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn port(&self, ip: IpAddr) -> u16 {
        self.ports
            .get(&ip)
            .copied()
            .unwrap_or(self.opts.default_port)
    }

    fn label(&self, addr: SocketAddr) -> String {
        self.view
            .node_at(addr)
            .map_or_else(|| addr.to_string(), str::to_owned)
    }

    fn log(&self, action: &str, summary: String) -> bwlab_core::journal::Record<'_> {
        self.view
            .log(CLOUD_NODE, action, summary)
            .attr("host", self.host.as_str())
    }

    /// One try: a fresh connection, TLS with the host's name, one HTTP/1.1 exchange.
    async fn exchange(
        &self,
        addr: SocketAddr,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Bytes,
    ) -> Result<Answer, String> {
        let tls = self.tls.clone()?;
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let name = ServerName::try_from(self.host.clone())
            .map_err(|_| format!("invalid server name {:?}", self.host))?;
        let io = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {}: {e}", self.host))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let host_header = match addr.port() {
            443 => self.host.clone(),
            p => format!("{}:{p}", self.host),
        };
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", host_header)
            .header("accept", "application/xml");
        if let Some(h) = auth.header() {
            b = b.header("authorization", h);
        }
        if !body.is_empty() {
            b = b.header("content-type", "application/xml; charset=UTF-8");
        }
        let req = b.body(Full::new(body)).map_err(|e| e.to_string())?;
        let result = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("HTTP: {e}"))?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("HTTP body: {e}"))?
                .to_bytes();
            Ok(Answer {
                status,
                location,
                body,
            })
        }
        .await;
        driver.abort();
        result
    }
}
