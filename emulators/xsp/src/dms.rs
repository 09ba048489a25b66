//! A minimal Device Management System web app (`/dms`): serves a device's configuration
//! file to an authenticated caller.
//!
//! The guides name the flow (the app asks Xsi for a device-management token, fetches its
//! profile from DMS with it, and on any failure retries with the device user name and
//! password) but not the DMS paths or file formats, so both are lab-defined here (docs/xsp.md,
//! section "DMS"):
//!
//! * `GET /dms/{DeviceType}/{file}`, where `{DeviceType}` is the device's profile type with
//!   spaces written as `_` (`Business_Communicator_-_PC`, `Cisco_8851`; case-insensitive)
//!   and `{file}` is `config-wxt.xml` for the Webex soft-client types or `{MAC}.xml` (12 hex
//!   digits, any case) for a device with a MAC;
//! * credentials: `Authorization: Bearer <DeviceToken>` (from Xsi `profile/DeviceToken`;
//!   single use, 60 s), `Authorization: Bearer <BroadWorks JWT>` (where the node validates
//!   AuthService tokens), or `Authorization: Basic` with the device access credentials of
//!   the lab data (`deviceUserNamePassword`). A token gives access to the devices the user
//!   has a line on; device credentials to that one device.
//!
//! No or refused credentials → 401 with the Basic challenge; authenticated but no such
//! device/file for that caller → 404; other methods → 405. Every served file is journalled.

use std::sync::Arc;

use bwlab_core::Kind;
use bwlab_model::{Device, User, decode_basic};
use bwlab_xsi::{ErrorCode, ErrorInfo};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Response, StatusCode};

use crate::auth::Principal;
use crate::errors::{Fail, Resp};
use crate::journal::Exchange;
use crate::{CLIENT_CERT_REQUIRED_CODE, Shared};

/// Context path of the DMS web app.
pub const DMS_ROOT: &str = "/dms";

/// The file a Webex soft client fetches (its DTAF template file, `config-wxt.xml`).
pub const SOFT_CLIENT_CONFIG_FILE: &str = "config-wxt.xml";

/// `Business Communicator - PC` → `Business_Communicator_-_PC`: the path segment of a device
/// profile type below `/dms/`.
pub fn device_type_dir(device_type: &str) -> String {
    device_type.replace(' ', "_")
}

/// Who is asking.
enum Caller {
    /// A user, by DeviceToken or BroadWorks JWT: any device the user has a line on.
    User(Arc<User>),
    /// A device, by its access credentials: that device only.
    Device(Arc<Device>),
}

fn unauthorized(ex: &mut Exchange, reason: &'static str) -> Fail {
    ex.auth = Some(reason);
    let code = if reason == "dms-no-credentials" {
        ErrorCode::Unauthenticated
    } else {
        ErrorCode::InvalidCredentials
    };
    Fail::unauthorized(code, reason)
}

fn authenticate(shared: &Shared, ex: &mut Exchange) -> Result<Caller, Fail> {
    let Some(header) = ex.authorization.clone() else {
        return Err(unauthorized(ex, "dms-no-credentials"));
    };
    if let Some(token) = crate::authservice::bearer(&header) {
        if token.contains('.') {
            // A BroadWorks long-lived token, validated as on every Xsi web app.
            return match crate::authservice::authenticate_bearer(shared, ex, token)? {
                Principal::User(u) => Ok(Caller::User(u)),
                Principal::Admin(_) => Err(unauthorized(ex, "dms-admin")),
            };
        }
        let token = token.to_owned();
        let Some(user) = crate::authservice::redeem_device_token(shared, &token)
            .and_then(|id| shared.store.find_user(&id))
        else {
            return Err(unauthorized(ex, "device-token-invalid"));
        };
        ex.auth = Some("device-token");
        ex.identity = Some(user.user_id.clone());
        return Ok(Caller::User(user));
    }
    let Ok(creds) = decode_basic(&header, shared.settings.authentication_encoding) else {
        return Err(unauthorized(ex, "bad-header"));
    };
    ex.login = Some(creds.login.clone());
    let device = shared.store.devices().find(|d| {
        d.credentials
            .as_ref()
            .is_some_and(|c| c.user_name == creds.login && c.password == creds.password)
    });
    match device {
        Some(d) => {
            ex.auth = Some("device-credentials");
            ex.identity = Some(format!("device:{}", d.name));
            Ok(Caller::Device(d))
        }
        None => Err(unauthorized(ex, "device-credentials-invalid")),
    }
}

/// Whether `file` is this device's configuration file.
fn is_config_file(device: &Device, file: &str) -> bool {
    if device.is_soft_client() && file.eq_ignore_ascii_case(SOFT_CLIENT_CONFIG_FILE) {
        return true;
    }
    let Some(mac) = device.mac else {
        return false;
    };
    let digits: String = mac
        .to_string()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    file.len() == digits.len() + 4
        && file[..digits.len()].eq_ignore_ascii_case(&digits)
        && file[digits.len()..].eq_ignore_ascii_case(".xml")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The lab's configuration file for `device`: device identity, the Xsi paths (the
/// `%XSI_ROOT_WXT%`, `%XSI_ACTIONS_PATH_WXT%`, `%XSI_EVENTS_PATH_WXT%` tags of
/// `config-wxt.xml`) and one `<line>` per line with its SIP credentials.
fn config_file(shared: &Shared, device: &Device) -> String {
    let host = shared
        .settings
        .cluster_fqdn
        .clone()
        .unwrap_or_else(|| shared.name.to_string());
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<config device=\"{}\" type=\"{}\"",
        escape(&device.name),
        escape(&device.device_type)
    ));
    if let Some(mac) = device.mac {
        x.push_str(&format!(" mac=\"{mac}\""));
    }
    x.push_str(">\n  <protocols>\n");
    x.push_str(&format!(
        "    <xsi>\n      <paths>\n        <root>https://{}/</root>\n        <actions>/com.broadsoft.xsi-actions/</actions>\n        <events>/com.broadsoft.xsi-events/</events>\n      </paths>\n    </xsi>\n",
        escape(&host)
    ));
    x.push_str("    <sip>\n      <lines>\n");
    for (i, line) in device.lines.iter().enumerate() {
        let user = shared.store.user(line.user);
        x.push_str(&format!("        <line index=\"{}\">\n", i + 1));
        if let Some(u) = &user {
            x.push_str(&format!(
                "          <external-id>{}</external-id>\n          <display-name>{}</display-name>\n",
                escape(&u.user_id),
                escape(&u.display_name())
            ));
        }
        x.push_str(&format!(
            "          <identity>{}</identity>\n          <endpoint>{}</endpoint>\n",
            escape(&line.line_port),
            line.endpoint.xsi_text()
        ));
        if let (Some(name), Some(pw)) = (&line.auth_username, &line.auth_password) {
            x.push_str(&format!(
                "          <credentials>\n            <username>{}</username>\n            <password>{}</password>\n          </credentials>\n",
                escape(name),
                escape(pw)
            ));
        }
        x.push_str("        </line>\n");
    }
    x.push_str("      </lines>\n    </sip>\n  </protocols>\n</config>\n");
    x
}

/// Serves `/dms/…`; `segs` are the path segments after `dms`.
pub(crate) fn route(shared: &Shared, ex: &mut Exchange, segs: &[String]) -> Resp {
    match serve(shared, ex, segs) {
        Ok(r) => r,
        Err(f) => f.into_response(&ex.meta()),
    }
}

fn serve(shared: &Shared, ex: &mut Exchange, segs: &[String]) -> Result<Resp, Fail> {
    if shared.client_cert_required(ex.conn.interface, DMS_ROOT) && !ex.conn.client_cert {
        ex.auth = Some("client-cert-required");
        return Err(Fail::info(ErrorInfo::custom(
            CLIENT_CERT_REQUIRED_CODE,
            "A client certificate is required for this web app",
        ))
        .with_status(403));
    }
    let not_found = |ex: &Exchange| Fail::detail(ErrorCode::ResourceNotFound, &ex.path);
    let [type_dir, file] = segs else {
        return Err(not_found(ex));
    };
    if ex.method != Method::GET {
        return Err(Fail::method_not_allowed("GET"));
    }
    let caller = authenticate(shared, ex)?;
    let candidates: Vec<Arc<Device>> = match &caller {
        Caller::Device(d) => vec![Arc::clone(d)],
        Caller::User(u) => shared
            .store
            .user_endpoints(u.idx)?
            .into_iter()
            .map(|(d, _)| d)
            .collect(),
    };
    let device = candidates
        .into_iter()
        .find(|d| {
            device_type_dir(&d.device_type).eq_ignore_ascii_case(type_dir)
                && is_config_file(d, file)
        })
        .ok_or_else(|| not_found(ex))?;
    let body = config_file(shared, &device);
    shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Http,
            format!("DMS {file} served for device {}", device.name),
        )
        .peer(ex.conn.peer)
        .attr("dms", "served")
        .attr("device", device.name.clone())
        .attr("file", file.clone())
        .attr("auth", ex.auth.unwrap_or("?"))
        .commit();
    let mut resp = Response::new(crate::body::XspBody::full(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=UTF-8"),
    );
    Ok(resp)
}
