//! The request layer: reads the body under the size limit, runs the router behind a
//! panic guard, and journals every exchange (method, path, status, identity, peer, and the
//! request body when the journal captures bodies).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bwlab_core::Kind;
use bwlab_net::http_faults::{HttpFaultAction, HttpFaultHit, HttpRequestInfo};
use bwlab_xsi::ErrorInfo;
use bwlab_xsi::{ErrorCode, RequestMeta};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HeaderValue, LOCATION, RETRY_AFTER,
};
use hyper::{Method, Request, StatusCode};

use crate::Shared;
use crate::errors::{Fail, Resp};
use crate::listener::ConnInfo;

/// Request header naming the Xsi protocol version the client speaks (§3.4.1.1).
const PROTOCOL_VERSION: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("x-broadworks-protocol-version");

/// One request as the handlers see it (owned, so the router stays synchronous).
pub(crate) struct Exchange {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub authorization: Option<Vec<u8>>,
    pub cookie: Option<String>,
    /// `Via` (the proxies a request came through), for the journal.
    pub via: Option<String>,
    /// `X-BroadWorks-Protocol-Version`, if sent.
    pub protocol_version: Option<String>,
    pub body: Bytes,
    pub conn: ConnInfo,
    /// Authenticated identity, filled in by the auth step (for the journal).
    pub identity: Option<String>,
    /// Login named in the credentials, even when refused (for the journal).
    pub login: Option<String>,
    /// Authentication outcome (`ok`, `wrong-password`, …), for the journal.
    pub auth: Option<&'static str>,
}

impl Exchange {
    pub(crate) fn meta(&self) -> RequestMeta<'_> {
        RequestMeta {
            accept: self.accept.as_deref(),
            content_type: self.content_type.as_deref(),
            query: self.query.as_deref(),
        }
    }
}

fn header(req: &Request<Incoming>, name: hyper::header::HeaderName) -> Option<String> {
    let mut values = req.headers().get_all(name).iter();
    let first = values.next()?;
    let mut s = String::from_utf8_lossy(first.as_bytes()).into_owned();
    for v in values {
        s.push_str("; ");
        s.push_str(&String::from_utf8_lossy(v.as_bytes()));
    }
    Some(s)
}

pub(crate) async fn handle(shared: Arc<Shared>, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    let max = shared.settings.max_body_bytes;
    let mut ex = Exchange {
        method: req.method().clone(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        accept: header(&req, ACCEPT),
        content_type: header(&req, CONTENT_TYPE),
        authorization: req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec()),
        cookie: header(&req, COOKIE),
        via: header(&req, hyper::header::VIA),
        protocol_version: header(&req, PROTOCOL_VERSION),
        body: Bytes::new(),
        conn,
        identity: None,
        login: None,
        auth: None,
    };
    let hit = check_faults(&shared, &ex);
    if let Some(h) = &hit {
        if let Some(cf) = h.conn_fault() {
            // The response below is never sent: the connection carries the fault out.
            ex.conn.trap.arm(cf);
            record_broken(&shared, &ex, h);
            return crate::errors::empty(hyper::StatusCode::OK);
        }
        if !h.delay.is_zero() {
            tokio::time::sleep(h.delay).await;
        }
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = declared.is_some_and(|n| n > max as u64);
    let resp = if let Some(r) = hit.as_ref().and_then(|h| fault_answer(h, &ex)) {
        // A status or redirect fault answers whatever the request; its body is still read
        // (for the journal) when it fits.
        if !too_large && let Ok(c) = Limited::new(req.into_body(), max).collect().await {
            ex.body = c.to_bytes();
        }
        r
    } else if too_large {
        Fail::detail(ErrorCode::BodyTooLarge, format!("limit is {max} bytes"))
            .into_response(&ex.meta())
    } else {
        match Limited::new(req.into_body(), max).collect().await {
            Ok(c) => {
                ex.body = c.to_bytes();
                if shared.settings.authservice.is_some() && crate::authservice::owns(&ex.path) {
                    crate::authservice::handle(&shared, &mut ex).await
                } else {
                    run(&shared, &mut ex)
                }
            }
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                Fail::detail(ErrorCode::BodyTooLarge, format!("limit is {max} bytes"))
                    .into_response(&ex.meta())
            }
            Err(e) => Fail::detail(ErrorCode::MalformedBody, e).into_response(&ex.meta()),
        }
    };
    let resp = match &hit {
        Some(HttpFaultHit {
            action: HttpFaultAction::ChunkedDribble { chunks, total },
            ..
        }) => {
            let (mut parts, body) = resp.into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            hyper::Response::from_parts(parts, body.dribble(*chunks, *total))
        }
        _ => resp,
    };
    record(&shared, &ex, &resp, hit.as_ref());
    resp
}

/// Lab-defined `errorCode` of the `ErrorInfo` an injected `http_status` fault answers with
/// when its status is neither 500 nor 503 (those use the catalogue's 5000 and 5001).
pub const HTTP_FAULT_CODE: i32 = 5002;

/// The HTTP fault for this request, if any (nothing is computed while the node has none).
fn check_faults(shared: &Shared, ex: &Exchange) -> Option<HttpFaultHit> {
    if shared.http_faults.is_empty() {
        return None;
    }
    let user = user_in_path(&ex.path);
    shared.http_faults.check(&HttpRequestInfo {
        method: ex.method.as_str(),
        path: &ex.path,
        user: user.as_deref(),
        host: None,
        peer: Some(ex.conn.peer),
    })
}

/// The user a path is about: the segment after `user` (Xsi-Actions, Xsi-Events).
fn user_in_path(path: &str) -> Option<String> {
    let segs = crate::webapps::segments(path)?;
    let i = segs.iter().position(|s| s.eq_ignore_ascii_case("user"))?;
    segs.into_iter().nth(i + 1)
}

/// The answer of a status or redirect fault, instead of routing.
fn fault_answer(hit: &HttpFaultHit, ex: &Exchange) -> Option<Resp> {
    match &hit.action {
        HttpFaultAction::Status { status, body, .. } => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = if code.is_informational()
                || code == StatusCode::NO_CONTENT
                || code == StatusCode::NOT_MODIFIED
            {
                crate::errors::empty(code)
            } else if let Some(b) = body {
                let t = b.trim_start();
                let ct = if t.starts_with('<') {
                    "application/xml;charset=UTF-8"
                } else if t.starts_with('{') || t.starts_with('[') {
                    "application/json;charset=UTF-8"
                } else {
                    "text/plain;charset=UTF-8"
                };
                let mut r = hyper::Response::new(crate::body::XspBody::full(b.clone()));
                *r.status_mut() = code;
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
                r
            } else {
                let info = match code.as_u16() {
                    500 => ErrorInfo::new(ErrorCode::InternalError),
                    503 => ErrorInfo::new(ErrorCode::ServiceUnavailable),
                    n => ErrorInfo::custom(
                        HTTP_FAULT_CODE,
                        format!(
                            "Injected HTTP fault: {n} {}",
                            code.canonical_reason().unwrap_or("")
                        )
                        .trim_end()
                        .to_owned(),
                    ),
                };
                Fail::info(info)
                    .with_status(code.as_u16())
                    .into_response(&ex.meta())
            };
            if let Some(v) = hit
                .retry_after_header()
                .and_then(|v| HeaderValue::from_str(&v).ok())
            {
                resp.headers_mut().insert(RETRY_AFTER, v);
            }
            Some(resp)
        }
        HttpFaultAction::Redirect { location, status } => {
            let mut resp = crate::errors::empty(
                StatusCode::from_u16(*status)
                    .ok()
                    .filter(StatusCode::is_redirection)
                    .unwrap_or(StatusCode::FOUND),
            );
            if let Ok(v) = HeaderValue::from_str(location) {
                resp.headers_mut().insert(LOCATION, v);
            }
            Some(resp)
        }
        _ => None,
    }
}

/// The journal entry of a request whose connection a fault broke: no status was sent.
fn record_broken(shared: &Shared, ex: &Exchange, hit: &HttpFaultHit) {
    let fault = hit.action.name();
    let mut rec = shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Http,
            format!("{} {} → {fault}", ex.method, ex.path),
        )
        .peer(ex.conn.peer)
        .attr("method", ex.method.as_str().to_owned())
        .attr("path", ex.path.clone())
        .attr("interface", ex.conn.interface.name())
        .attr("fault", fault)
        .attr("fault_id", hit.id.0.to_string());
    if let Some(q) = &ex.query {
        rec = rec.attr("query", q.clone());
    }
    rec.commit();
}

/// Runs the router; a panic becomes a 500 `ErrorInfo` (and a journal attribute) instead of
/// a dropped connection.
fn run(shared: &Shared, ex: &mut Exchange) -> Resp {
    match guard(|| crate::webapps::dispatch(shared, ex)) {
        Ok(r) => r,
        Err(msg) => panicked(shared, ex, msg),
    }
}

/// The answer to a handler that panicked: journalled, and a 500 `ErrorInfo` to the client.
pub(crate) fn panicked(shared: &Shared, ex: &mut Exchange, msg: String) -> Resp {
    ex.auth.get_or_insert("panic");
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Http,
            format!("handler panicked on {} {}: {msg}", ex.method, ex.path),
        )
        .peer(ex.conn.peer)
        .attr("panic", msg)
        .commit();
    Fail::new(ErrorCode::InternalError).into_response(&ex.meta())
}

/// Runs `f`, turning a panic into its message.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into())
    })
}

fn record(shared: &Shared, ex: &Exchange, resp: &Resp, fault: Option<&HttpFaultHit>) {
    let status = resp.status().as_u16();
    let mut rec = shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Http,
            format!("{} {} → {status}", ex.method, ex.path),
        )
        .peer(ex.conn.peer)
        .attr("method", ex.method.as_str().to_owned())
        .attr("path", ex.path.clone())
        .attr("status", status.to_string())
        .attr("interface", ex.conn.interface.name());
    if let Some(q) = &ex.query {
        rec = rec.attr("query", q.clone());
    }
    if let Some(v) = &ex.via {
        rec = rec.attr("via", v.clone());
    }
    if let Some(id) = &ex.identity {
        rec = rec.attr("user", id.clone());
    }
    if let Some(l) = &ex.login {
        rec = rec.attr("login", l.clone());
    }
    if let Some(a) = ex.auth {
        rec = rec.attr("auth", a);
    }
    if let Some(h) = fault {
        rec = rec
            .attr("fault", h.action.name())
            .attr("fault_id", h.id.0.to_string());
    }
    if !ex.body.is_empty() {
        rec = rec.body(ex.body.clone());
    }
    rec.commit();
}

#[cfg(test)]
mod tests {
    use super::guard;

    #[test]
    fn guard_catches_panics() {
        assert_eq!(guard(|| 7), Ok(7));
        let n = 3;
        let r: Result<(), String> = guard(|| panic!("boom {n}"));
        assert_eq!(r, Err("boom 3".into()));
    }
}
