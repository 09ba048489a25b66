//! Which web app a path belongs to.
//!
//! Context paths and the segments below them are matched case-insensitively (Xsi clients
//! and the spec itself mix `profile/Fac` and `profile/fac`). Context paths a real XSP may
//! serve but this build does not implement yet are *reserved*: they answer 501 with an
//! `ErrorInfo` naming the missing web app, so a misconfigured client URL is easy to tell
//! from a missing resource.

use bwlab_xsi::{ErrorCode, ErrorInfo};

use crate::Shared;
use crate::errors::{Fail, Resp};
use crate::journal::Exchange;

/// Context path of the Xsi-Actions web app.
pub const XSI_ACTIONS_ROOT: &str = "/com.broadsoft.xsi-actions";

/// Context paths reserved for web apps that later issues add.
pub const RESERVED_WEBAPPS: &[&str] = &[
    "/authService",
    "/com.broadsoft.xsi-events",
    "/com.broadsoft.async",
    "/callsettings",
];

/// Lab-defined `errorCode` for "web app not deployed" (3000s: resources).
pub const WEBAPP_NOT_DEPLOYED_CODE: i32 = 3100;
/// Lab-defined `errorCode` for "client certificate required by this web app".
pub const CLIENT_CERT_REQUIRED_CODE: i32 = 2100;

/// Splits a raw path into percent-decoded, non-empty segments. `None` if a segment does
/// not decode to UTF-8.
pub(crate) fn segments(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

pub(crate) fn dispatch(shared: &Shared, ex: &mut Exchange) -> Resp {
    let Some(segs) = segments(&ex.path) else {
        return Fail::detail(ErrorCode::ResourceNotFound, "path is not valid UTF-8")
            .into_response(&ex.meta());
    };
    if segs
        .last()
        .is_some_and(|s| s.eq_ignore_ascii_case("j_logout"))
    {
        return crate::auth::logout(shared, ex);
    }
    let Some(first) = segs.first() else {
        return not_found(ex);
    };
    if shared.events.is_some() {
        if first.eq_ignore_ascii_case(&crate::events::XSI_EVENTS_ROOT[1..]) {
            return crate::events::route(shared, ex, &segs[1..], false);
        }
        if first.eq_ignore_ascii_case(&crate::events::ASYNC_ROOT[1..])
            && segs
                .get(1)
                .is_some_and(|s| s.eq_ignore_ascii_case(&crate::events::XSI_EVENTS_ROOT[1..]))
        {
            return crate::events::route(shared, ex, &segs[2..], true);
        }
    }
    // The CTI interface serves Xsi-Events only.
    if ex.conn.interface == crate::Interface::Cti {
        return not_found(ex);
    }
    if first.eq_ignore_ascii_case(&XSI_ACTIONS_ROOT[1..]) {
        if shared.client_cert_required(ex.conn.interface, XSI_ACTIONS_ROOT) && !ex.conn.client_cert
        {
            ex.auth = Some("client-cert-required");
            return Fail::info(ErrorInfo::custom(
                CLIENT_CERT_REQUIRED_CODE,
                "A client certificate is required for this web app",
            ))
            .with_status(403)
            .into_response(&ex.meta());
        }
        return match segs.get(1) {
            Some(v) if v.eq_ignore_ascii_case("v2.0") => {
                crate::actions::route(shared, ex, &segs[2..])
            }
            _ => Fail::detail(
                ErrorCode::ResourceNotFound,
                "Xsi-Actions is served under /com.broadsoft.xsi-actions/v2.0",
            )
            .into_response(&ex.meta()),
        };
    }
    if first.eq_ignore_ascii_case(&crate::dms::DMS_ROOT[1..]) {
        return crate::dms::route(shared, ex, &segs[1..]);
    }
    if let Some(ctx) = RESERVED_WEBAPPS
        .iter()
        .find(|c| c[1..].eq_ignore_ascii_case(first))
    {
        return Fail::info(ErrorInfo::custom(
            WEBAPP_NOT_DEPLOYED_CODE,
            format!("Web app {ctx} is not deployed in this lab build"),
        ))
        .with_status(501)
        .into_response(&ex.meta());
    }
    not_found(ex)
}

pub(crate) fn not_found(ex: &Exchange) -> Resp {
    Fail::detail(ErrorCode::ResourceNotFound, &ex.path).into_response(&ex.meta())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_segments() {
        assert_eq!(
            segments("/a/user/alice%40lab.example//x%2").unwrap(),
            vec!["a", "user", "alice@lab.example", "x%2"]
        );
        assert!(segments("/%ff").is_none());
    }
}
