//! The BroadWorks IdP proxy: BroadWorks credentials checked through Xsi-Actions, the
//! password outcomes of §12.4, and CI-token validation on the same URL (AuthService's
//! `tokenInfoUrl`).

use std::collections::HashMap;
use std::sync::Arc;

use bwlab_model::{AuthEncoding, encode_basic};
use bytes::Bytes;
use hyper::{Method, StatusCode};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::ci::{CiHandle, TokenSpec};
use crate::client::{SCOPE_BROADWORKS_USER, Upstream};
use crate::http::{Out, Req};
use crate::policy::PasswordPolicySource;
use crate::url::encode_segment;

/// Path prefix of the proxy's API.
pub const IDP_API_ROOT: &str = "/broadworks-idp-proxy/api/v1";
/// `POST` BroadWorks credentials here; AuthService also validates CI tokens here.
pub const PATH_AUTHENTICATE: &str = "/broadworks-idp-proxy/api/v1/idp/authenticate";
/// Health check.
pub const PATH_PING: &str = "/broadworks-idp-proxy/api/v1/ping";
/// The refusal text for a wrong password and for an expired password under
/// `enforcePasswordChangeOnExpiry=true` (§12.4, §18).
pub const LOGIN_FAILED_MESSAGE: &str = "The login attempt failed. The combination of the User ID and password provided does not match our records or your password needs to be updated. Try again or contact your administrator to update the password. Error code 100006";
/// Numeric code at the end of [`LOGIN_FAILED_MESSAGE`].
pub const LOGIN_FAILED_CODE: u32 = 100_006;
/// Per-partner Webex feature flag: refuse logins with an expired (not enforced) password.
pub const PASSWORD_EXPIRY_FAIL_LOGIN_FLAG: &str = "w4bwks-password-expiry-fail-login";
/// `GET` with the user's CI access token: the user's BroadWorks token from AuthService.
pub const PATH_BWTOKEN_FETCH: &str = "/idp/bwtoken/fetch";
/// The same endpoint under the API root.
pub const PATH_BWTOKEN_FETCH_API: &str = "/broadworks-idp-proxy/api/v1/idp/bwtoken/fetch";

/// How the proxy authenticates to the cluster's AuthService for `bwtoken/fetch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BwTokenMode {
    /// Forward the user's CI token as `Authorization: Bearer …` (AuthService validates it
    /// against CI through the `tokenInfoUrl`).
    CiToken,
    /// Present the Webex client certificate and name the user with `?user=`.
    Mtls,
}

/// Longest accepted user id / password in an authenticate request.
pub const MAX_CREDENTIAL_CHARS: usize = 256;

/// The JSON body of `POST …/idp/authenticate` with BroadWorks credentials.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateRequest {
    /// BroadWorks user id or an alternate id (e.g. the email when it is the alternate id).
    /// Also accepted under the names `username`, `email` and `alternateId` (exactly one).
    #[serde(alias = "username", alias = "email", alias = "alternateId")]
    pub user_id: String,
    /// Web-portal password.
    pub password: String,
    /// Partner org on whose behalf the login happens (selects the per-partner flag and the
    /// org of the minted CI token); default: the proxy's configured partner org.
    #[serde(default)]
    pub org_id: Option<String>,
}

/// Why an authenticate body was refused (→ `400`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON, or not the expected object.
    #[error("malformed JSON body: {0}")]
    Json(String),
    /// A field is empty, too long or unusable in HTTP Basic.
    #[error("invalid {field}: {reason}")]
    Field {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Parses and checks an authenticate body. Never panics, whatever the bytes.
pub fn parse_authenticate_request(body: &[u8]) -> Result<AuthenticateRequest, BodyError> {
    let req: AuthenticateRequest =
        serde_json::from_slice(body).map_err(|e| BodyError::Json(e.to_string()))?;
    let check = |field, v: &str| {
        if v.is_empty() {
            Err(BodyError::Field {
                field,
                reason: "empty",
            })
        } else if v.chars().count() > MAX_CREDENTIAL_CHARS {
            Err(BodyError::Field {
                field,
                reason: "too long",
            })
        } else if v.chars().any(char::is_control) {
            Err(BodyError::Field {
                field,
                reason: "control characters",
            })
        } else {
            Ok(())
        }
    };
    check("userId", &req.user_id)?;
    check("password", &req.password)?;
    if req.user_id.contains(':') {
        return Err(BodyError::Field {
            field: "userId",
            reason: "contains ':'",
        });
    }
    Ok(req)
}

#[derive(Default)]
struct Flags {
    default: bool,
    per_org: HashMap<String, bool>,
}

/// IdP proxy configuration and state.
pub(crate) struct IdpState {
    pub xsi: Option<Upstream>,
    pub authservice: Option<(Upstream, BwTokenMode)>,
    pub policy: Option<Arc<dyn PasswordPolicySource>>,
    flags: Mutex<Flags>,
    pub partner_org_id: String,
    pub warning_days: i64,
    pub token_lifetime: time::Duration,
    pub token_scopes: Vec<String>,
}

impl IdpState {
    pub(crate) fn new(
        xsi: Option<Upstream>,
        policy: Option<Arc<dyn PasswordPolicySource>>,
        partner_org_id: String,
    ) -> Self {
        IdpState {
            xsi,
            authservice: None,
            policy,
            flags: Mutex::new(Flags::default()),
            partner_org_id,
            warning_days: 10,
            token_lifetime: time::Duration::hours(12),
            token_scopes: vec![
                SCOPE_BROADWORKS_USER.to_owned(),
                "spark:people_read".to_owned(),
            ],
        }
    }

    pub(crate) fn set_flag(&self, org: Option<&str>, on: bool) {
        let mut f = self.flags.lock();
        match org {
            Some(o) => {
                f.per_org.insert(o.to_ascii_lowercase(), on);
            }
            None => f.default = on,
        }
    }

    fn flag(&self, org: &str) -> bool {
        let f = self.flags.lock();
        f.per_org
            .get(&org.to_ascii_lowercase())
            .copied()
            .unwrap_or(f.default)
    }
}

pub(crate) async fn route(shared: &Shared, req: &Req) -> Out {
    match (req.method.clone(), req.path.as_str()) {
        (Method::GET | Method::HEAD, PATH_PING) => Out::new(
            StatusCode::OK,
            json!({"status": "UP", "service": "broadworks-idp-proxy"}),
            "ok",
        ),
        (Method::POST | Method::GET, PATH_AUTHENTICATE) if req.bearer().is_some() => {
            token_info(shared, req.bearer().unwrap_or_default())
        }
        (Method::POST, PATH_AUTHENTICATE) => authenticate(shared, req).await,
        (Method::GET, PATH_BWTOKEN_FETCH | PATH_BWTOKEN_FETCH_API) => {
            bwtoken_fetch(shared, req).await
        }
        (_, PATH_AUTHENTICATE | PATH_PING | PATH_BWTOKEN_FETCH | PATH_BWTOKEN_FETCH_API) => {
            Out::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} not allowed here", req.method),
            )
        }
        _ => Out::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
    }
}

/// AuthService's CI-token validation (`tokenInfoUrl`).
fn token_info(shared: &Shared, token: &str) -> Out {
    let info = CiHandle(Arc::clone(&shared.ci)).introspect(token);
    let body = serde_json::to_value(&info).unwrap_or_else(|_| json!({"active": false}));
    if info.active {
        Out::new(StatusCode::OK, body, "token-active")
            .attr("subject", info.email.clone().unwrap_or_default())
    } else {
        // Introspection semantics (as on the CI host): the question was answered, the
        // answer is "not active". Callers must look at `active`, not only the status.
        let reason = info.reason.clone().unwrap_or_default();
        Out::new(StatusCode::OK, body, format!("token-{reason}"))
    }
}

/// `GET /idp/bwtoken/fetch`: the caller (a Webex client) presents the user's CI access
/// token; the proxy gets the user's BroadWorks JWT from the cluster's AuthService.
async fn bwtoken_fetch(shared: &Shared, req: &Req) -> Out {
    let Some(token) = req.bearer() else {
        return Out::error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Authorization: Bearer <CI access token> is required",
        );
    };
    let info = CiHandle(Arc::clone(&shared.ci)).introspect(token);
    if !info.active {
        let reason = info.reason.unwrap_or_default();
        return Out::new(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_token", "reason": reason}),
            format!("token-{reason}"),
        );
    }
    let Some((upstream, mode)) = &shared.idp.authservice else {
        return Out::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "authservice_not_configured",
            "no AuthService URL configured for this IdP proxy",
        );
    };
    let user = info
        .broadworks_user_id
        .clone()
        .or_else(|| info.email.clone())
        .unwrap_or_default();
    let org = info.org_id.clone().unwrap_or_default();
    let base = upstream.url.join("token");
    let (path, headers) = match mode {
        BwTokenMode::CiToken => (
            base.path.clone(),
            vec![("authorization", format!("Bearer {token}"))],
        ),
        BwTokenMode::Mtls => (
            format!(
                "{}?user={}&orgId={}",
                base.path,
                encode_segment(&user),
                encode_segment(&org)
            ),
            Vec::new(),
        ),
    };
    let mut headers = headers;
    headers.push(("accept", "application/json".to_owned()));
    let reply = upstream
        .send(Method::GET, &path, &headers, Bytes::new())
        .await;
    let mode_word = match mode {
        BwTokenMode::CiToken => "ci",
        BwTokenMode::Mtls => "mtls",
    };
    let reply = match reply {
        Ok(r) => r,
        Err(e) => {
            return Out::error(
                StatusCode::BAD_GATEWAY,
                "authservice_unreachable",
                format!("AuthService could not be reached: {e}"),
            )
            .attr("mode", mode_word);
        }
    };
    shared
        .journal
        .record(
            crate::NODE_IDP,
            bwlab_core::Kind::Http,
            format!("GET {base} → {}", reply.status),
        )
        .attr("direction", "outbound")
        .attr("mode", mode_word)
        .attr("status", reply.status.to_string())
        .commit();
    let jwt = (reply.status == 200)
        .then(|| serde_json::from_slice::<Value>(&reply.body).ok())
        .flatten()
        .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_owned));
    match jwt {
        Some(jwt) => Out::new(StatusCode::OK, json!({"token": {"bearer": jwt}}), "bwtoken")
            .attr("subject", user)
            .attr("mode", mode_word),
        None => Out::new(
            StatusCode::BAD_GATEWAY,
            json!({
                "error": "authservice_refused",
                "status": reply.status,
                "message": format!("AuthService answered HTTP {}", reply.status),
            }),
            "authservice-refused",
        )
        .attr("mode", mode_word),
    }
}

fn failure_100006(reason: &str, login: &str) -> Out {
    Out::new(
        StatusCode::UNAUTHORIZED,
        json!({
            "result": "failure",
            "error": "login_failed",
            "errorCode": LOGIN_FAILED_CODE,
            "message": LOGIN_FAILED_MESSAGE,
        }),
        "100006",
    )
    .attr("reason", reason.to_owned())
    .attr("login", login.to_owned())
}

async fn authenticate(shared: &Shared, req: &Req) -> Out {
    let creds = match parse_authenticate_request(&req.body) {
        Ok(c) => c,
        Err(e) => return Out::error(StatusCode::BAD_REQUEST, "invalid_request", e.to_string()),
    };
    let idp = &shared.idp;
    let Some(xsi) = &idp.xsi else {
        return Out::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "broadworks_not_configured",
            "no Xsi-Actions URL configured for this IdP proxy",
        );
    };
    let org = creds
        .org_id
        .clone()
        .unwrap_or_else(|| idp.partner_org_id.clone());
    let url = xsi
        .url
        .join(&format!("user/{}/profile", encode_segment(&creds.user_id)));
    // UTF-8, like a browser: with the XSP's default ISO-8859-1 decoding a non-ASCII
    // password fails, which is the documented fault (§18).
    let auth =
        encode_basic(&creds.user_id, &creds.password, AuthEncoding::Utf8).unwrap_or_default();
    let reply = xsi
        .send(
            Method::GET,
            &url.path,
            &[
                ("authorization", auth),
                ("accept", "application/xml".to_owned()),
            ],
            Bytes::new(),
        )
        .await;
    let status_of = |login: &str| idp.policy.as_ref().and_then(|p| p.password_status(login));
    let reply = match reply {
        Ok(r) => r,
        Err(e) => {
            shared
                .journal
                .record(
                    crate::NODE_IDP,
                    bwlab_core::Kind::Http,
                    format!("GET {url} failed: {e}"),
                )
                .attr("direction", "outbound")
                .attr("error", e.clone())
                .commit();
            return Out::error(
                StatusCode::BAD_GATEWAY,
                "broadworks_unreachable",
                format!("Xsi-Actions could not be reached: {e}"),
            );
        }
    };
    shared
        .journal
        .record(
            crate::NODE_IDP,
            bwlab_core::Kind::Http,
            format!("GET {url} → {}", reply.status),
        )
        .attr("direction", "outbound")
        .attr("status", reply.status.to_string())
        .commit();
    match reply.status {
        200 => {}
        401 | 403 | 404 => {
            let reason = match status_of(&creds.user_id) {
                Some(s) if s.expired_days_ago.is_some() && s.enforced => "expired-enforced",
                _ => "invalid-credentials",
            };
            return failure_100006(reason, &creds.user_id);
        }
        s => {
            return Out::error(
                StatusCode::BAD_GATEWAY,
                "broadworks_error",
                format!("Xsi-Actions answered HTTP {s}"),
            );
        }
    }
    let xml = String::from_utf8_lossy(&reply.body);
    let user_id = xml_text(&xml, "userId").unwrap_or_else(|| creds.user_id.clone());
    let email = xml_text(&xml, "emailAddress");
    let expires_days: Option<i64> =
        xml_text(&xml, "passwordExpiresDays").and_then(|d| d.trim().parse().ok());

    let mut warning = Value::Null;
    let mut outcome = "ok";
    if let Some(d) = expires_days.filter(|d| *d <= idp.warning_days) {
        outcome = "warning";
        warning = json!({
            "code": "password_expiring",
            "daysLeft": d,
            "message": format!(
                "Your password expires in {d} day{}. Contact your service provider, or use Forgot Password, to change it.",
                if d == 1 { "" } else { "s" }
            ),
        });
    } else if expires_days.is_none()
        && let Some(s) = status_of(&user_id).or_else(|| status_of(&creds.user_id))
        && let Some(days_ago) = s.expired_days_ago
        && !s.enforced
    {
        if idp.flag(&org) {
            return Out::new(
                StatusCode::UNAUTHORIZED,
                json!({
                    "result": "failure",
                    "error": "password_expired",
                    "daysAgo": days_ago,
                    "message": format!("password got expired {days_ago} days ago"),
                }),
                "expired-refused",
            )
            .attr("login", creds.user_id.clone())
            .attr("flag", PASSWORD_EXPIRY_FAIL_LOGIN_FLAG);
        }
        outcome = "expired-allowed";
    }

    let ci_email = email.clone().unwrap_or_else(|| user_id.clone());
    let token = CiHandle(Arc::clone(&shared.ci)).issue(TokenSpec {
        email: ci_email.clone(),
        org_id: org.clone(),
        scopes: idp.token_scopes.clone(),
        lifetime: idp.token_lifetime,
        issuer: None,
        broadworks_user_id: Some(user_id.clone()),
        client_id: None,
    });
    let mut body = json!({
        "result": "success",
        "userId": user_id,
        "email": ci_email,
        "orgId": org,
        "accessToken": token,
        "tokenType": "Bearer",
        "expiresIn": idp.token_lifetime.whole_seconds(),
        "scope": idp.token_scopes.join(" "),
    });
    if let Some(d) = expires_days {
        body["passwordExpiresDays"] = json!(d);
    }
    if !warning.is_null() {
        body["warning"] = warning;
    }
    Out::new(StatusCode::OK, body, outcome).attr("login", creds.user_id)
}

/// Text of the first `<name>` element (namespace prefixes allowed), entity-decoded.
fn xml_text(xml: &str, name: &str) -> Option<String> {
    let mut rest = xml;
    loop {
        let start = rest.find('<')?;
        rest = &rest[start + 1..];
        let end = rest.find('>')?;
        let tag = &rest[..end];
        let local = tag.rsplit(':').next().unwrap_or(tag);
        if local == name {
            let body = &rest[end + 1..];
            let close = body.find("</")?;
            return Some(
                body[..close]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&"),
            );
        }
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_extraction() {
        let x = r#"<?xml version="1.0"?><Profile xmlns="http://schema.broadsoft.com/xsi"><details><userId>a&amp;b@x</userId></details><passwordExpiresDays>7</passwordExpiresDays></Profile>"#;
        assert_eq!(xml_text(x, "userId").as_deref(), Some("a&b@x"));
        assert_eq!(xml_text(x, "passwordExpiresDays").as_deref(), Some("7"));
        assert_eq!(xml_text(x, "emailAddress"), None);
        assert_eq!(
            xml_text("<x:userId>q</x:userId>", "userId").as_deref(),
            Some("q")
        );
        assert_eq!(xml_text("<userId>", "userId"), None);
    }

    #[test]
    fn body_parser_accepts_aliases_and_refuses_junk() {
        let r = parse_authenticate_request(br#"{"email":"a@b","password":"p"}"#).unwrap();
        assert_eq!(r.user_id, "a@b");
        assert!(parse_authenticate_request(br#"{"userId":"a","password":""}"#).is_err());
        assert!(parse_authenticate_request(br#"{"userId":"a:b","password":"x"}"#).is_err());
        assert!(parse_authenticate_request(b"nope").is_err());
        assert!(
            parse_authenticate_request(br#"{"userId":"a","email":"b","password":"x"}"#).is_err()
        );
    }
}
