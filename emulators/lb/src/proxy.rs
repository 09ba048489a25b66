//! Terminating mode: TLS from the client, HTTP/1.1 keep-alive, a backend per request,
//! re-encrypted connections to the backends (one per backend per client connection, kept
//! alive), bodies streamed frame by frame in both directions.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab_core::Kind;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{
    CONNECTION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName, HeaderValue, LOCATION, SET_COOKIE,
    UPGRADE,
};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::state::{Backend, Shared};
use crate::{Affinity, Why};

/// What the redirect misconfiguration answers.
pub(crate) const REDIRECT_STATUS: StatusCode = StatusCode::FOUND;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) type Body = BoxBody<Bytes, hyper::Error>;

/// Hop-by-hop headers: meaningful for one connection only, never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Upstream connections of one client connection, by backend index.
#[derive(Default)]
struct Upstreams(Mutex<HashMap<usize, SendRequest<Incoming>>>);

pub(crate) async fn serve_connection(
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    tcp: bwlab_net::faults::ToxicStream,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return journal_tls_refused(&shared, peer, &e.to_string()),
        Err(_) => return journal_tls_refused(&shared, peer, "handshake timed out"),
    };
    let upstreams = Arc::new(Upstreams::default());
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&shared);
        let upstreams = Arc::clone(&upstreams);
        async move { Ok::<_, Infallible>(handle(&shared, &upstreams, peer, req).await) }
    });
    let timeouts = bwlab_net::HttpTimeouts {
        header_read: HEADER_READ_TIMEOUT,
        drain: DRAIN_TIMEOUT,
    };
    bwlab_net::serve_http1(tls, service, peer, timeouts, stop).await;
}

fn journal_tls_refused(shared: &Shared, peer: SocketAddr, error: &str) {
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Tls,
            format!("TLS handshake refused: {error}"),
        )
        .peer(peer)
        .attr("outcome", "refused")
        .attr("error", error.to_owned())
        .commit();
}

/// What one request turned into, for the journal.
struct Outcome<'a> {
    status: StatusCode,
    backend: Option<&'a Backend>,
    why: Option<Why>,
    fault: Option<&'static str>,
    error: Option<String>,
}

async fn handle(
    shared: &Shared,
    upstreams: &Upstreams,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Body> {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let affinity = shared.affinity.read().clone();
    let pinned = match &affinity {
        Affinity::Off => None,
        Affinity::Cookie(name) => {
            request_cookie(req.headers(), name).and_then(|v| shared.learned_session(v))
        }
        Affinity::Insert(name) => {
            request_cookie(req.headers(), name).and_then(|v| shared.backend_index(v))
        }
    };
    let (resp, outcome) = match shared.choose(pinned) {
        None => (
            text(StatusCode::SERVICE_UNAVAILABLE, "no backend available\n"),
            Outcome {
                status: StatusCode::SERVICE_UNAVAILABLE,
                backend: None,
                why: None,
                fault: None,
                error: None,
            },
        ),
        Some((i, why)) => {
            let backend = &shared.backends[i];
            if shared.redirect.load(std::sync::atomic::Ordering::Acquire) {
                (
                    redirect(backend, &path),
                    Outcome {
                        status: REDIRECT_STATUS,
                        backend: Some(backend),
                        why: Some(why),
                        fault: Some("redirect"),
                        error: None,
                    },
                )
            } else {
                match forward(shared, upstreams, i, peer, req).await {
                    Ok(mut resp) => {
                        after_response(shared, &affinity, i, why, resp.headers_mut());
                        let status = resp.status();
                        (
                            resp.map(BodyExt::boxed),
                            Outcome {
                                status,
                                backend: Some(backend),
                                why: Some(why),
                                fault: None,
                                error: None,
                            },
                        )
                    }
                    Err(error) => (
                        text(StatusCode::BAD_GATEWAY, "backend unreachable\n"),
                        Outcome {
                            status: StatusCode::BAD_GATEWAY,
                            backend: Some(backend),
                            why: Some(why),
                            fault: None,
                            error: Some(error),
                        },
                    ),
                }
            }
        }
    };
    let backend_name = outcome.backend.map_or("none", |b| &*b.name);
    let why = outcome.why.map_or("none", Why::as_str);
    let mut record = shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Http,
            format!(
                "{method} {path} → {} via {backend_name} ({why})",
                outcome.status.as_u16()
            ),
        )
        .peer(peer)
        .attr("method", method.as_str())
        .attr("path", path)
        .attr("status", outcome.status.as_u16().to_string())
        .attr("backend", backend_name)
        .attr("why", why)
        .attr("affinity", affinity.as_str())
        .attr("mode", "terminate");
    if let Some(fault) = outcome.fault {
        record = record.attr("fault", fault);
    }
    if let Some(error) = outcome.error {
        record = record.attr("error", error);
    }
    record.commit();
    resp
}

/// Persistence bookkeeping on a backend's response: learn its session cookie, or insert ours.
fn after_response(
    shared: &Shared,
    affinity: &Affinity,
    backend: usize,
    why: Why,
    headers: &mut HeaderMap,
) {
    match affinity {
        Affinity::Off => {}
        Affinity::Cookie(name) => {
            for v in headers.get_all(SET_COOKIE) {
                let Some((value, expired)) = v.to_str().ok().and_then(|v| set_cookie(v, name))
                else {
                    continue;
                };
                if expired {
                    shared.forget_session(value);
                } else {
                    shared.learn_session(value, backend);
                }
            }
        }
        Affinity::Insert(name) => {
            if why != Why::Affinity {
                let cookie = format!(
                    "{name}={}; Path=/; Secure; HttpOnly",
                    shared.backends[backend].name
                );
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    headers.append(SET_COOKIE, v);
                }
            }
        }
    }
}

async fn forward(
    shared: &Shared,
    upstreams: &Upstreams,
    index: usize,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Result<Response<Incoming>, String> {
    strip_hop_by_hop(req.headers_mut());
    if let Ok(v) = HeaderValue::from_str(&peer.ip().to_string()) {
        req.headers_mut()
            .append(HeaderName::from_static("x-forwarded-for"), v);
    }
    req.headers_mut().insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("https"),
    );
    // A proxy names itself in `Via` (RFC 9110 §7.6.3); the XSP journals it, which is how a
    // scenario tells which LB a request came through.
    if let Ok(v) = HeaderValue::from_str(&format!("1.1 {}", shared.name)) {
        req.headers_mut().append(hyper::header::VIA, v);
    }
    // Reuse this client connection's idle connection to the backend, else open one.
    let cached = upstreams.0.lock().remove(&index);
    let reusable = match cached {
        Some(mut s) if !s.is_closed() => s.ready().await.is_ok().then_some(s),
        _ => None,
    };
    let backend = &shared.backends[index];
    let (mut sender, reused) = match reusable {
        Some(s) => (s, true),
        None => (connect(shared, backend).await?, false),
    };
    let resp = match sender.try_send_request(req).await {
        Ok(resp) => resp,
        Err(mut e) => match e.take_message() {
            // The backend closed the idle connection just as we reused it; the request was
            // not sent, so it is safe to send it once more on a fresh connection.
            Some(req) if reused => {
                sender = connect(shared, backend).await?;
                sender
                    .send_request(req)
                    .await
                    .map_err(|e| format!("request to backend: {e}"))?
            }
            _ => return Err(format!("request to backend: {}", e.error())),
        },
    };
    let mut resp = resp;
    upstreams.0.lock().insert(index, sender);
    strip_hop_by_hop(resp.headers_mut());
    Ok(resp)
}

pub(crate) async fn connect(
    shared: &Shared,
    backend: &Backend,
) -> Result<SendRequest<Incoming>, String> {
    let tls = connect_tls(shared, backend).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP handshake with backend: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "backend connection ended with an error");
        }
    });
    Ok(sender)
}

pub(crate) async fn connect_tls(
    shared: &Shared,
    backend: &Backend,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let Some(tls) = shared.client_tls.clone() else {
        return Err("no TLS client configuration".to_owned());
    };
    let work = async {
        let tcp = crate::state::connect_from(shared.source_ip, backend.spec.addr)
            .await
            .map_err(|e| format!("connect to {}: {e}", backend.spec.addr))?;
        let _ = tcp.set_nodelay(true);
        tokio_rustls::TlsConnector::from(tls)
            .connect(backend.server_name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS with backend: {e}"))
    };
    tokio::time::timeout(shared.connect_timeout, work)
        .await
        .map_err(|_| format!("connect to {} timed out", backend.spec.addr))?
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        headers.remove(n);
    }
    headers.remove(UPGRADE);
}

fn redirect(backend: &Backend, path: &str) -> Response<Body> {
    let host = &backend.spec.server_name;
    let port = backend.spec.addr.port();
    let location = if port == 443 {
        format!("https://{host}{path}")
    } else {
        format!("https://{host}:{port}{path}")
    };
    let mut resp = text(REDIRECT_STATUS, "");
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn request_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The value set by a `Set-Cookie` header for cookie `name`, and whether it expires the cookie
/// (empty value or `Max-Age=0`).
pub(crate) fn set_cookie<'a>(header: &'a str, name: &str) -> Option<(&'a str, bool)> {
    let mut parts = header.split(';');
    let (n, v) = parts.next()?.trim().split_once('=')?;
    if n.trim() != name {
        return None;
    }
    let v = v.trim().trim_matches('"');
    let expired = v.is_empty()
        || parts.any(|a| {
            a.trim().split_once('=').is_some_and(|(k, val)| {
                k.trim().eq_ignore_ascii_case("max-age") && val.trim() == "0"
            })
        });
    Some((v, expired))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; JSESSIONID=abc"));
        h.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(request_cookie(&h, "JSESSIONID"), Some("abc"));
        assert_eq!(request_cookie(&h, "b"), Some("2"));
        assert_eq!(request_cookie(&h, "c"), None);
        assert_eq!(
            set_cookie("JSESSIONID=xyz; Path=/; Secure", "JSESSIONID"),
            Some(("xyz", false))
        );
        assert_eq!(
            set_cookie("JSESSIONID=; Path=/; Max-Age=0", "JSESSIONID"),
            Some(("", true))
        );
        assert_eq!(set_cookie("OTHER=1", "JSESSIONID"), None);
    }

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }
}
