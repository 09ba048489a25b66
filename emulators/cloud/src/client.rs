//! Outbound HTTPS: a one-request-per-connection client used by the IdP proxy (towards
//! Xsi-Actions) and by [`CiTokenInfoClient`] (towards the IdP proxy's token-info URL).
//!
//! The server name sent in SNI and checked against the certificate is always the URL's
//! host; an optional fixed socket address replaces DNS (the lab resolves hosts through its
//! own DNS server, tests through explicit addresses).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab_pki::rustls::ClientConfig;
use bwlab_pki::rustls::pki_types::{CertificateDer, ServerName};
use bwlab_pki::{ClientOptions, Identity, TlsError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Deserialize;

use crate::url::HttpsUrl;

/// Largest response body read from an upstream (the XSP's `ciResponseBodyMaxSizeInBytes`
/// default is 65536 too).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Default per-request timeout (the Webex microservices give up after 2 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// An HTTPS endpoint: URL, trust, optional fixed address.
#[derive(Clone)]
pub(crate) struct Upstream {
    pub url: HttpsUrl,
    pub connect: Option<SocketAddr>,
    /// Further addresses of the same farm, tried in order when one fails (TCP/TLS error,
    /// no answer within `timeout`, or 5xx), as Webex microservices move to the next IP.
    pub fallback: Vec<SocketAddr>,
    pub tls: Arc<ClientConfig>,
    pub timeout: Duration,
}

/// A response read in full.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Bytes,
}

pub(crate) fn tls_config(
    trust: Vec<CertificateDer<'static>>,
    identity: Option<Identity>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut opts = ClientOptions::new(trust);
    opts.identity = identity;
    opts.key_log = false;
    opts.alpn = vec![b"http/1.1".to_vec()];
    bwlab_pki::client_config(&opts)
}

impl Upstream {
    /// Sends one request to `path` (absolute, with query) and reads the whole answer.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Reply, String> {
        let first = match self.connect {
            Some(a) => a,
            None => tokio::net::lookup_host((self.url.host.as_str(), self.url.port))
                .await
                .map_err(|e| format!("cannot resolve {}: {e}", self.url.host))?
                .next()
                .ok_or_else(|| format!("{} has no address", self.url.host))?,
        };
        let mut last = Err(String::new());
        for (i, addr) in std::iter::once(first)
            .chain(self.fallback.iter().copied().filter(|a| *a != first))
            .enumerate()
        {
            let work = self.send_to(addr, method.clone(), path, headers, body.clone());
            last = match tokio::time::timeout(self.timeout, work).await {
                Ok(r) => r,
                Err(_) => Err(format!("no response within {:?}", self.timeout)),
            };
            let failed = match &last {
                Ok(reply) => reply.status >= 500,
                Err(_) => true,
            };
            if !failed || i == self.fallback.len() {
                break;
            }
        }
        last
    }

    async fn send_to(
        &self,
        addr: SocketAddr,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Reply, String> {
        let name = ServerName::try_from(self.url.host.clone())
            .map_err(|e| format!("bad server name {}: {e}", self.url.host))?;
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {} ({addr}): {e}", self.url.host))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let host = if self.url.port == 443 {
            self.url.host.clone()
        } else {
            format!("{}:{}", self.url.host, self.url.port)
        };
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", host);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| format!("bad request: {e}"))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading response: {e}"))?
            .to_bytes();
        driver.abort();
        Ok(Reply { status, body })
    }
}

/// The identity behind a valid CI access token, as the token-info URL reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiIdentity {
    /// Primary Webex identity.
    pub email: String,
    /// CI user id (UUID form).
    pub user_id: String,
    /// Webex org id (UUID form).
    pub org_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Issuer URL of the CI cluster that issued the token (e.g. `https://idbroker.webex.com/idb`).
    pub issuer: String,
    /// BroadWorks user id, when the token was minted by the IdP proxy after a BroadWorks
    /// login (`None` for tokens issued by other means).
    pub broadworks_user_id: Option<String>,
}

/// Why a CI token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CiError {
    /// The token-info service refused the token (unknown, expired, revoked).
    #[error("CI token refused: {reason}")]
    Refused {
        /// `expired`, `revoked`, `unknown` or the service's own word.
        reason: String,
    },
    /// The token is valid but lacks the required scope.
    #[error("CI token lacks scope {required}")]
    MissingScope {
        /// The scope that was required.
        required: String,
    },
    /// The token was issued by another CI cluster than the one configured.
    #[error("CI token issuer {actual} is not the configured {expected}")]
    WrongIssuer {
        /// Configured `issuerUrl`.
        expected: String,
        /// Issuer reported for the token.
        actual: String,
    },
    /// The service could not be reached (DNS, TCP, TLS — including a certificate that does
    /// not match the host — or timeout).
    #[error("token-info service unreachable: {0}")]
    Unavailable(String),
    /// The service answered something unexpected.
    #[error("unexpected token-info answer: {0}")]
    Protocol(String),
}

/// Scope a CI token must carry for AuthService (§6).
pub const SCOPE_BROADWORKS_USER: &str = "broadworks-connector:user";
/// The DMS spelling of the same scope (§19.5: accept both).
pub const SCOPE_BROADWORKS_USER_ALT: &str = "broadworks-connector-user";

/// What an XSP's AuthService uses to validate a Webex CI access token: it POSTs the token
/// as `Authorization: Bearer …` to the configured `tokenInfoUrl` (the IdP proxy's
/// `…/api/v1/idp/authenticate`) over HTTPS, verifying the server certificate against the
/// given roots **and its host name, always**.
///
/// ```no_run
/// # async fn f(roots: Vec<bwlab_pki::rustls::pki_types::CertificateDer<'static>>) {
/// use bwlab_cloud::CiTokenInfoClient;
/// let client = CiTokenInfoClient::new(
///     "https://broadworks-idp-proxy-a.wbx2.com/broadworks-idp-proxy/api/v1/idp/authenticate",
///     roots,
/// )
/// .unwrap()
/// .issuer("https://idbroker.webex.com/idb");
/// let who = client.validate("token").await;
/// # }
/// ```
#[derive(Clone)]
pub struct CiTokenInfoClient {
    upstream: Upstream,
    required_scope: Option<String>,
    issuer: Option<String>,
}

impl std::fmt::Debug for CiTokenInfoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CiTokenInfoClient")
            .field("url", &self.upstream.url.to_string())
            .field("connect", &self.upstream.connect)
            .field("required_scope", &self.required_scope)
            .field("issuer", &self.issuer)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenInfoBody {
    #[serde(default)]
    active: bool,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    org_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    broadworks_user_id: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl CiTokenInfoClient {
    /// A client for `token_info_url` (must be `https://`), trusting `roots` (DER; in the lab
    /// `LabPki::lab_trust_bundle()`). Requires scope `broadworks-connector:user` (or its
    /// DMS spelling) by default; checks no issuer until [`issuer`](Self::issuer) is set.
    pub fn new(token_info_url: &str, roots: Vec<CertificateDer<'static>>) -> Result<Self, CiError> {
        let url = HttpsUrl::parse(token_info_url).map_err(CiError::Protocol)?;
        let tls = tls_config(roots, None).map_err(|e| CiError::Protocol(e.to_string()))?;
        Ok(CiTokenInfoClient {
            upstream: Upstream {
                url,
                connect: None,
                fallback: Vec::new(),
                tls,
                timeout: DEFAULT_TIMEOUT,
            },
            required_scope: Some(SCOPE_BROADWORKS_USER.to_owned()),
            issuer: None,
        })
    }

    /// Connects to this address instead of resolving the URL's host (the TLS server name
    /// is still the URL's host).
    pub fn connect_to(mut self, addr: SocketAddr) -> Self {
        self.upstream.connect = Some(addr);
        self
    }

    /// Scope to require; `None` accepts any valid token.
    pub fn required_scope(mut self, scope: Option<&str>) -> Self {
        self.required_scope = scope.map(str::to_owned);
        self
    }

    /// Issuer URL (`issuerUrl`) the token must come from.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Per-request timeout (default 2 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.upstream.timeout = t;
        self
    }

    /// Validates `token`, returning who it belongs to.
    pub async fn validate(&self, token: &str) -> Result<CiIdentity, CiError> {
        let reply = self
            .upstream
            .send(
                Method::POST,
                &self.upstream.url.path,
                &[
                    ("authorization", format!("Bearer {token}")),
                    ("accept", "application/json".to_owned()),
                    ("content-length", "0".to_owned()),
                ],
                Bytes::new(),
            )
            .await
            .map_err(CiError::Unavailable)?;
        let parsed: Option<TokenInfoBody> = serde_json::from_slice(&reply.body).ok();
        match (reply.status, parsed) {
            (200, Some(b)) if b.active => {
                let scopes: Vec<String> = b
                    .scope
                    .unwrap_or_default()
                    .split_ascii_whitespace()
                    .map(str::to_owned)
                    .collect();
                if let Some(req) = &self.required_scope {
                    let ok = scopes.iter().any(|s| {
                        s == req || (req == SCOPE_BROADWORKS_USER && s == SCOPE_BROADWORKS_USER_ALT)
                    });
                    if !ok {
                        return Err(CiError::MissingScope {
                            required: req.clone(),
                        });
                    }
                }
                let iss = b.iss.unwrap_or_default();
                if let Some(expected) = &self.issuer
                    && expected.trim_end_matches('/') != iss.trim_end_matches('/')
                {
                    return Err(CiError::WrongIssuer {
                        expected: expected.clone(),
                        actual: iss,
                    });
                }
                Ok(CiIdentity {
                    email: b.email.unwrap_or_default(),
                    user_id: b.user_id.unwrap_or_default(),
                    org_id: b.org_id.unwrap_or_default(),
                    scopes,
                    issuer: iss,
                    broadworks_user_id: b.broadworks_user_id,
                })
            }
            (200 | 401 | 403, Some(b)) => Err(CiError::Refused {
                reason: b.reason.unwrap_or_else(|| "inactive".to_owned()),
            }),
            (401 | 403, None) => Err(CiError::Refused {
                reason: format!("HTTP {}", reply.status),
            }),
            (s, _) => Err(CiError::Protocol(format!(
                "HTTP {s}: {}",
                String::from_utf8_lossy(&reply.body[..reply.body.len().min(200)])
            ))),
        }
    }
}
