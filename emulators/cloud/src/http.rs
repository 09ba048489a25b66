//! Server side: TLS accept loop per host, HTTP/1.1 via hyper, request journalling.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab_core::Kind;
use bwlab_net::http_faults::{
    self, ConnTrap, DribbleBody, HttpFaultAction, HttpFaultHit, HttpRequestInfo,
};
use bwlab_pki::rustls::ServerConfig;
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::Shared;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 128;
/// Largest accepted request body; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a host serves.
#[derive(Clone, Debug)]
pub(crate) enum Role {
    /// CI / IdBroker for the region at this index of `Shared::regions`.
    Ci(usize),
    /// BroadWorks IdP proxy.
    Idp,
}

impl Role {
    pub(crate) fn node(&self) -> &'static str {
        match self {
            Role::Ci(_) => crate::NODE_CI,
            Role::Idp => crate::NODE_IDP,
        }
    }
}

/// One host the cloud serves.
pub(crate) struct HostCtx {
    pub host: String,
    pub role: Role,
    /// Transport faults under this host's listener.
    pub net_faults: bwlab_net::faults::NetFaults,
    /// HTTP faults per route on this host's requests.
    pub http_faults: bwlab_net::http_faults::HttpFaults,
}

/// A whole JSON answer, or one dribbled by a `chunked_dribble` fault.
pub(crate) type CloudBody = Either<Full<Bytes>, DribbleBody>;

/// A request read in full.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The token of an `Authorization: Bearer …` header (scheme matched case-insensitively).
    pub(crate) fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?.trim();
        let (scheme, rest) = v.split_once(char::is_whitespace)?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim())
            .filter(|t| !t.is_empty())
    }
}

/// A JSON answer plus what the journal should say about it.
pub(crate) struct Out {
    pub status: StatusCode,
    pub body: Value,
    /// Short outcome word for the journal (`ok`, `expired`, `100006`, …).
    pub outcome: String,
    /// Extra journal attributes.
    pub attrs: Vec<(&'static str, String)>,
}

impl Out {
    pub(crate) fn new(status: StatusCode, body: Value, outcome: impl Into<String>) -> Self {
        Out {
            status,
            body,
            outcome: outcome.into(),
            attrs: Vec::new(),
        }
    }

    pub(crate) fn attr(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.attrs.push((k, v.into()));
        self
    }

    /// `{"error": code, "message": message}`.
    pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Out::new(
            status,
            json!({"error": code, "message": message}),
            code.to_owned(),
        )
    }
}

pub(crate) struct Listener {
    pub local_addr: SocketAddr,
    tcp: TcpListener,
    tls: TlsAcceptor,
    host: Arc<HostCtx>,
    shared: Arc<Shared>,
}

impl Listener {
    pub(crate) async fn bind(
        addr: SocketAddr,
        tls: Arc<ServerConfig>,
        host: HostCtx,
        shared: Arc<Shared>,
    ) -> std::io::Result<Self> {
        let tcp = TcpListener::bind(addr).await?;
        Ok(Listener {
            local_addr: tcp.local_addr()?,
            tcp,
            tls: TlsAcceptor::from(tls),
            host: Arc::new(host),
            shared,
        })
    }

    pub(crate) fn spawn(self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let limits = bwlab_net::AcceptLimits {
            max_connections: MAX_CONNECTIONS,
            drain_timeout: DRAIN_TIMEOUT,
        };
        let acceptor = self.tls.clone();
        let shared = Arc::clone(&self.shared);
        let host = Arc::clone(&self.host);
        let conn_stop = stop.clone();
        tokio::spawn(bwlab_net::accept_loop(
            self.tcp,
            limits,
            stop,
            move |tcp, peer| {
                serve_connection(
                    acceptor.clone(),
                    tcp,
                    peer,
                    host.clone(),
                    Arc::clone(&shared),
                    conn_stop.clone(),
                )
            },
        ))
    }
}

async fn serve_connection(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    host: Arc<HostCtx>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let tcp = host.net_faults.wrap(tcp, peer);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return journal_tls_failure(&shared, &host, peer, &e.to_string()),
        Err(_) => return journal_tls_failure(&shared, &host, peer, "handshake timed out"),
    };
    // HTTP faults that break the connection act above TLS, where hyper writes.
    let (tls, trap) = http_faults::trap(tls, |tls| {
        http_faults::reset_on_drop(tls.get_ref().0.get_ref());
    });
    let svc_shared = Arc::clone(&shared);
    let svc_host = Arc::clone(&host);
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&svc_shared);
        let host = Arc::clone(&svc_host);
        let trap = trap.clone();
        async move { Ok::<_, Infallible>(handle(shared, host, peer, trap, req).await) }
    });
    let timeouts = bwlab_net::HttpTimeouts {
        header_read: HEADER_READ_TIMEOUT,
        drain: DRAIN_TIMEOUT,
    };
    bwlab_net::serve_http1(tls, service, peer, timeouts, stop).await;
}

async fn handle(
    shared: Arc<Shared>,
    host: Arc<HostCtx>,
    peer: SocketAddr,
    trap: ConnTrap,
    req: Request<Incoming>,
) -> Response<CloudBody> {
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let summary_path = path.split('?').next().unwrap_or("/").to_owned();
    let hit = if host.http_faults.is_empty() {
        None
    } else {
        host.http_faults.check(&HttpRequestInfo {
            method: parts.method.as_str(),
            path: &summary_path,
            user: None,
            host: Some(&host.host),
            peer: Some(peer),
        })
    };
    if let Some(h) = &hit {
        if let Some(cf) = h.conn_fault() {
            // Never sent: the connection carries the fault out instead.
            trap.arm(cf);
            let fault = h.action.name();
            shared
                .journal
                .record(
                    host.role.node(),
                    Kind::Http,
                    format!(
                        "{} https://{}{} → {fault}",
                        parts.method, host.host, summary_path
                    ),
                )
                .peer(peer)
                .attr("host", host.host.clone())
                .attr("method", parts.method.to_string())
                .attr("path", summary_path)
                .attr("fault", fault)
                .attr("fault_id", h.id.0.to_string())
                .commit();
            return Response::new(Either::Left(Full::new(Bytes::new())));
        }
        if !h.delay.is_zero() {
            tokio::time::sleep(h.delay).await;
        }
    }
    let collected = Limited::new(body, MAX_BODY_BYTES).collect().await;
    let mut extra: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let mut raw: Option<(Bytes, &'static str)> = None;
    let out = match (&hit, collected) {
        (
            Some(HttpFaultHit {
                action: HttpFaultAction::Status { status, body, .. },
                ..
            }),
            _,
        ) => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let Some(v) = hit
                .as_ref()
                .and_then(HttpFaultHit::retry_after_header)
                .and_then(|v| HeaderValue::from_str(&v).ok())
            {
                extra.push((RETRY_AFTER, v));
            }
            if let Some(b) = body {
                let t = b.trim_start();
                let ct = if t.starts_with('{') || t.starts_with('[') {
                    "application/json;charset=UTF-8"
                } else if t.starts_with('<') {
                    "application/xml;charset=UTF-8"
                } else {
                    "text/plain;charset=UTF-8"
                };
                raw = Some((Bytes::from(b.clone()), ct));
            }
            let reason = code.canonical_reason().unwrap_or("error");
            Out::error(
                code,
                &reason.to_ascii_lowercase().replace(' ', "_"),
                format!("injected HTTP fault: {} {reason}", code.as_u16()),
            )
        }
        (
            Some(HttpFaultHit {
                action: HttpFaultAction::Redirect { location, status },
                ..
            }),
            _,
        ) => {
            if let Ok(v) = HeaderValue::from_str(location) {
                extra.push((LOCATION, v));
            }
            raw = Some((Bytes::new(), ""));
            let code = StatusCode::from_u16(*status)
                .ok()
                .filter(StatusCode::is_redirection)
                .unwrap_or(StatusCode::FOUND);
            Out::new(code, Value::Null, "redirect")
        }
        (_, Ok(b)) => {
            let req = Req {
                method: parts.method.clone(),
                path: summary_path.clone(),
                headers: parts.headers,
                body: b.to_bytes(),
            };
            match host.role {
                Role::Ci(region) => crate::ci::route(&shared, region, &req),
                Role::Idp => crate::idp::route(&shared, &req).await,
            }
        }
        (_, Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Out::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request body over {MAX_BODY_BYTES} bytes"),
                )
            } else {
                Out::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "request body could not be read",
                )
            }
        }
    };
    let (text, content_type) = match raw {
        Some((b, ct)) => (b, ct),
        None => (
            Bytes::from(serde_json::to_vec(&out.body).unwrap_or_else(|_| b"{}".to_vec())),
            "application/json;charset=UTF-8",
        ),
    };
    let mut rec = shared
        .journal
        .record(
            host.role.node(),
            Kind::Http,
            format!(
                "{} https://{}{} → {}",
                parts.method,
                host.host,
                summary_path,
                out.status.as_u16()
            ),
        )
        .peer(peer)
        .attr("host", host.host.clone())
        .attr("method", parts.method.to_string())
        .attr("path", summary_path)
        .attr("status", out.status.as_u16().to_string())
        .attr("outcome", out.outcome.clone());
    for (k, v) in out.attrs {
        rec = rec.attr(k, v);
    }
    if let Some(h) = &hit {
        rec = rec
            .attr("fault", h.action.name())
            .attr("fault_id", h.id.0.to_string());
    }
    rec.body(text.clone()).commit();
    let body = match &hit {
        Some(HttpFaultHit {
            action: HttpFaultAction::ChunkedDribble { chunks, total },
            ..
        }) => Either::Right(DribbleBody::new(text, *chunks, *total)),
        _ => Either::Left(Full::new(text)),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = out.status;
    if !content_type.is_empty() {
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    for (k, v) in extra {
        resp.headers_mut().insert(k, v);
    }
    resp
}

fn journal_tls_failure(shared: &Shared, host: &HostCtx, peer: SocketAddr, error: &str) {
    shared
        .journal
        .record(
            host.role.node(),
            Kind::Tls,
            format!("TLS handshake refused on {}: {error}", host.host),
        )
        .peer(peer)
        .attr("host", host.host.clone())
        .attr("outcome", "refused")
        .attr("error", error.to_owned())
        .commit();
}
