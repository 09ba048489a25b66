//! The AuthService web app (`/authService`): BroadWorks long-lived tokens (RS256 JWTs),
//! their validation by the node's Xsi web apps (`Authorization: Bearer …`), and the
//! 60-second single-use `LoginToken`/`DeviceToken` of Xsi-Actions.
//!
//! The token request format is lab-defined (the guide leaves it open) and documented in
//! docs/xsp.md, section "AuthService":
//!
//! `GET /authService/token[?user=<id>][&key=<base64url public key>]` (also under
//! `/authService/v2.0/token`) → `200 {"token": "<jwt>", "tokenType": "Bearer",
//! "expiresIn": <seconds>, "userId": "<BroadWorks userId>"}`; with `key`, `token` is the JWT
//! encrypted for that key (a JWE, see `jwt.rs`) and `"encryption": "RSA-OAEP-256+A256GCM"`
//! is added. Refusals are `ErrorInfo` documents.

mod ci_http;
mod jwt;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bwlab_core::Kind;
use bwlab_model::User;
use bwlab_profiles::Feature;
use bwlab_xsi::{Element, ErrorCode, ErrorInfo};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Response, StatusCode};
use parking_lot::Mutex;
use serde_json::json;
use time::OffsetDateTime;

pub use ci_http::{CI_RESPONSE_MAX_BYTES, HttpCiValidator};
pub use jwt::{AUTH_KEY_BITS, AuthKeys};

use crate::auth::Principal;
use crate::errors::{Fail, Resp, rendered};
use crate::journal::Exchange;
use crate::{CLIENT_CERT_REQUIRED_CODE, Shared};

/// Context path of the AuthService web app.
pub const AUTHSERVICE_ROOT: &str = "/authService";
/// Default `TokenManagement tokenIssuer`.
pub const DEFAULT_TOKEN_ISSUER: &str = "BroadWorks";
/// Default `TokenManagement tokenDurationInHours` (30 days).
pub const DEFAULT_TOKEN_DURATION_HOURS: u32 = 720;
/// Largest accepted `tokenDurationInHours` (180 days).
pub const MAX_TOKEN_DURATION_HOURS: u32 = 4320;
/// CI scopes that entitle a user to a BroadWorks token (the second spelling is the DMS one,
/// accepted too).
pub const CI_SCOPES: [&str; 2] = ["broadworks-connector:user", "broadworks-connector-user"];
/// Lifetime of `LoginToken` and `DeviceToken`.
pub const SSO_TOKEN_LIFETIME: time::Duration = time::Duration::seconds(60);
/// Lab-defined `errorCode`: the AuthService refused to issue a token.
pub const AUTHSERVICE_REFUSED_CODE: i32 = 2110;
/// Lab-defined `errorCode`: CI token validation is not available on this release.
pub const CI_VALIDATION_UNSUPPORTED_CODE: i32 = 2111;

/// How the AuthService authenticates the party asking for a user's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthServiceMode {
    /// TLS without client certificates; the caller presents the user's Webex CI access
    /// token as `Authorization: Bearer …`, checked by a [`CiTokenValidator`]. One partner
    /// org per node; needs `Feature::CiTokenValidation`.
    CiTokenValidation,
    /// The caller presents the Webex client certificate and names the user (`?user=`).
    /// Several partner orgs; Basic credentials are refused on the web app.
    Mtls,
    /// Legacy: the user authenticates with Basic credentials and gets their own token.
    Basic,
}

impl AuthServiceMode {
    /// Label used in the journal and in the token's `bwmode` claim.
    pub fn label(self) -> &'static str {
        match self {
            AuthServiceMode::CiTokenValidation => "ci",
            AuthServiceMode::Mtls => "mtls",
            AuthServiceMode::Basic => "basic",
        }
    }
}

/// What CI says about a valid access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiIdentity {
    /// The user: email, BroadWorks alternate ID or userId.
    pub user: String,
    /// Webex org id of the partner.
    pub org_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// Why a CI token could not be validated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CiError {
    /// CI says the token is not valid (unknown, expired, revoked).
    #[error("CI token invalid: {0}")]
    Invalid(String),
    /// CI (or the IdP proxy) could not be reached or answered nonsense.
    #[error("CI unavailable: {0}")]
    Unavailable(String),
}

/// The future a [`CiTokenValidator`] returns.
pub type CiFuture<'a> = Pin<Box<dyn Future<Output = Result<CiIdentity, CiError>> + Send + 'a>>;

/// Validates a Webex CI access token (mode [`AuthServiceMode::CiTokenValidation`]). The
/// real implementation calls the fake CI / IdP proxy over HTTPS; tests use
/// [`StaticCiValidator`].
pub trait CiTokenValidator: Send + Sync {
    /// Introspects `token`.
    fn validate<'a>(&'a self, token: &'a str) -> CiFuture<'a>;
}

/// An in-memory [`CiTokenValidator`]: a table of known tokens.
#[derive(Default)]
pub struct StaticCiValidator {
    tokens: Mutex<HashMap<String, CiIdentity>>,
}

impl StaticCiValidator {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `token` valid for `identity`.
    pub fn insert(&self, token: impl Into<String>, identity: CiIdentity) {
        self.tokens.lock().insert(token.into(), identity);
    }

    /// Makes `token` invalid again.
    pub fn revoke(&self, token: &str) {
        self.tokens.lock().remove(token);
    }
}

impl CiTokenValidator for StaticCiValidator {
    fn validate<'a>(&'a self, token: &'a str) -> CiFuture<'a> {
        let r = self
            .tokens
            .lock()
            .get(token)
            .cloned()
            .ok_or_else(|| CiError::Invalid("unknown token".into()));
        Box::pin(async move { r })
    }
}

/// AuthService settings of one node (`XspSettings::authservice`).
#[derive(Clone)]
pub struct AuthServiceSettings {
    /// The RSA key set: the same handle on every node of a farm, or one per node for the
    /// "non-shared keys" fault.
    pub keys: AuthKeys,
    /// How callers are authenticated.
    pub mode: AuthServiceMode,
    /// `tokenDurationInHours`, 1..=4320.
    pub token_duration_hours: u32,
    /// `tokenIssuer` (`iss` claim).
    pub token_issuer: String,
    /// CI token validator (mode CI); `None` makes every CI request fail with 503, as a
    /// node without a working `tokenInfoUrl` would.
    pub ci_validator: Option<Arc<dyn CiTokenValidator>>,
    /// The one partner org allowed in CI mode; `None` pins the first org seen.
    pub partner_org_id: Option<String>,
}

impl fmt::Debug for AuthServiceSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServiceSettings")
            .field("keys", &self.keys)
            .field("mode", &self.mode)
            .field("token_duration_hours", &self.token_duration_hours)
            .field("token_issuer", &self.token_issuer)
            .field("ci_validator", &self.ci_validator.is_some())
            .field("partner_org_id", &self.partner_org_id)
            .finish()
    }
}

impl AuthServiceSettings {
    /// Defaults (720 h, issuer `BroadWorks`) in `mode` with `keys`.
    pub fn new(keys: AuthKeys, mode: AuthServiceMode) -> Self {
        AuthServiceSettings {
            keys,
            mode,
            token_duration_hours: DEFAULT_TOKEN_DURATION_HOURS,
            token_issuer: DEFAULT_TOKEN_ISSUER.to_owned(),
            ci_validator: None,
            partner_org_id: None,
        }
    }

    /// CI token validation mode with `validator`.
    pub fn ci(keys: AuthKeys, validator: Arc<dyn CiTokenValidator>) -> Self {
        let mut s = Self::new(keys, AuthServiceMode::CiTokenValidation);
        s.ci_validator = Some(validator);
        s
    }

    /// mTLS mode.
    pub fn mtls(keys: AuthKeys) -> Self {
        Self::new(keys, AuthServiceMode::Mtls)
    }

    /// Checks the values a real XSP's CLI would refuse.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_TOKEN_DURATION_HOURS).contains(&self.token_duration_hours) {
            return Err(format!(
                "AuthService tokenDurationInHours {} is outside 1..={MAX_TOKEN_DURATION_HOURS}",
                self.token_duration_hours
            ));
        }
        if self.token_issuer.trim().is_empty() {
            return Err("AuthService tokenIssuer is empty".into());
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SsoKind {
    Login,
    Device,
}

struct Sso {
    kind: SsoKind,
    user_id: String,
    expires: OffsetDateTime,
}

/// Run-time AuthService state of a node.
#[derive(Default)]
pub(crate) struct State {
    /// The partner org pinned in CI mode.
    org: Mutex<Option<String>>,
    sso: Mutex<HashMap<String, Sso>>,
}

/// Whether `path` belongs to the AuthService web app.
pub(crate) fn owns(path: &str) -> bool {
    let p = path.trim_start_matches('/');
    let first = p.split('/').next().unwrap_or("");
    first.eq_ignore_ascii_case(&AUTHSERVICE_ROOT[1..])
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| {
            let v = v.replace('+', " ");
            crate::webapps::segments(&format!("/{v}"))
                .and_then(|s| s.into_iter().next())
                .unwrap_or_default()
        })
    })
}

/// The credential of an `Authorization: Bearer …` header (scheme matched case-insensitively).
pub(crate) fn bearer(header: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(header).ok()?.trim();
    let (scheme, rest) = s.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

fn is_basic(header: &[u8]) -> bool {
    header.len() >= 6 && header[..6].eq_ignore_ascii_case(b"basic ")
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Resp {
    let mut resp = Response::new(crate::body::XspBody::full(v.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A refusal of the token endpoint, with its journal reason.
struct Refusal {
    fail: Fail,
    reason: &'static str,
}

fn refuse(status: u16, code: i32, reason: &'static str, text: impl Into<String>) -> Refusal {
    Refusal {
        fail: Fail::info(ErrorInfo::custom(code, text.into())).with_status(status),
        reason,
    }
}

fn refuse_auth(reason: &'static str) -> Refusal {
    Refusal {
        fail: Fail::unauthorized(ErrorCode::InvalidCredentials, reason),
        reason,
    }
}

/// Polls the inner future behind a panic guard: a panic becomes `Err(message)`.
struct CatchUnwind<'a, T>(Pin<Box<dyn Future<Output = T> + Send + 'a>>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T, String>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(p) => std::task::Poll::Ready(Err(p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into()))),
        }
    }
}

/// Serves a request below `/authService` (only called when the node has AuthService
/// settings; otherwise the path stays reserved). A panic in a handler becomes a 500
/// `ErrorInfo` and a journal attribute, as on the synchronous web apps.
pub(crate) async fn handle(shared: &Shared, ex: &mut Exchange) -> Resp {
    let r = CatchUnwind(Box::pin(handle_inner(shared, ex))).await;
    match r {
        Ok(resp) => resp,
        Err(msg) => crate::journal::panicked(shared, ex, msg),
    }
}

async fn handle_inner(shared: &Shared, ex: &mut Exchange) -> Resp {
    let Some(mut settings) = shared.settings.authservice.clone() else {
        return crate::webapps::not_found(ex);
    };
    // The "non-shared keys" drift: this node signs with its own pair.
    if let Some(own) = shared.drift.own_keys() {
        settings.keys = own;
    }
    let segs = crate::webapps::segments(&ex.path).unwrap_or_default();
    let is_token = match &segs[..] {
        [_, t] => t.eq_ignore_ascii_case("token"),
        [_, v, t] => v.eq_ignore_ascii_case("v2.0") && t.eq_ignore_ascii_case("token"),
        _ => false,
    };
    if !is_token {
        return crate::webapps::not_found(ex);
    }
    if ex.method != Method::GET {
        return Fail::method_not_allowed("GET").into_response(&ex.meta());
    }
    match issue(shared, ex, &settings).await {
        Ok(resp) => resp,
        Err(r) => {
            ex.auth.get_or_insert(r.reason);
            journal_token(
                shared,
                ex,
                &settings,
                "refused",
                None,
                Some(r.reason),
                false,
            );
            r.fail.into_response(&ex.meta())
        }
    }
}

async fn issue(
    shared: &Shared,
    ex: &mut Exchange,
    settings: &AuthServiceSettings,
) -> Result<Resp, Refusal> {
    // `?key=`: the caller's RSA public key; the token is then answered encrypted for it.
    let caller_key = match query_param(ex.query.as_deref(), "key") {
        None => None,
        Some(k) => {
            let parsed = jwt::decode_b64url(&k)
                .filter(|b| !b.is_empty())
                .ok_or_else(|| "key must be base64url".to_owned())
                .and_then(|der| jwt::parse_caller_key(&der));
            match parsed {
                Ok(key) => Some(key),
                Err(msg) => {
                    return Err(Refusal {
                        fail: Fail::detail(ErrorCode::InvalidParameter, msg),
                        reason: "bad-key-parameter",
                    });
                }
            }
        }
    };
    let named = query_param(ex.query.as_deref(), "user").filter(|u| !u.is_empty());
    let header = ex.authorization.clone();
    let (user, org) = match settings.mode {
        AuthServiceMode::CiTokenValidation => {
            ci_caller(shared, ex, settings, header.as_deref()).await?
        }
        AuthServiceMode::Mtls => {
            if header.as_deref().is_some_and(is_basic) {
                return Err(refuse(
                    403,
                    AUTHSERVICE_REFUSED_CODE,
                    "basic-refused-mtls",
                    "Basic authentication is not accepted by AuthService in mTLS mode",
                ));
            }
            if !shared.client_cert_required(ex.conn.interface, AUTHSERVICE_ROOT)
                || !ex.conn.client_cert
            {
                return Err(refuse(
                    403,
                    CLIENT_CERT_REQUIRED_CODE,
                    "client-cert-required",
                    "AuthService in mTLS mode requires the Webex client certificate",
                ));
            }
            let Some(id) = named.clone() else {
                return Err(Refusal {
                    fail: Fail::detail(ErrorCode::InvalidParameter, "user parameter is required"),
                    reason: "no-user",
                });
            };
            let user = shared.store.find_user(&id).ok_or(Refusal {
                fail: Fail::detail(ErrorCode::UserNotFound, &id),
                reason: "unknown-user",
            })?;
            (user, query_param(ex.query.as_deref(), "orgId"))
        }
        AuthServiceMode::Basic => match crate::auth::authenticate(shared, ex) {
            Ok((Principal::User(u), _)) => (u, None),
            Ok((Principal::Admin(_), _)) => {
                return Err(refuse(
                    403,
                    AUTHSERVICE_REFUSED_CODE,
                    "admin-caller",
                    "Tokens are issued to users only",
                ));
            }
            Err(f) => {
                let reason = f.reason.unwrap_or("basic-refused");
                return Err(Refusal { fail: f, reason });
            }
        },
    };
    if let Some(n) = &named
        && !user.has_login(n)
    {
        return Err(Refusal {
            fail: Fail::new(ErrorCode::OutOfScope),
            reason: "user-mismatch",
        });
    }
    let keys = settings.keys.clone();
    let created = match tokio::task::spawn_blocking(move || keys.ensure()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(refuse(500, AUTHSERVICE_REFUSED_CODE, "keygen-failed", e)),
        Err(e) => {
            return Err(refuse(
                500,
                AUTHSERVICE_REFUSED_CODE,
                "keygen-failed",
                e.to_string(),
            ));
        }
    };
    let now = shared.clock.now();
    let lifetime = i64::from(settings.token_duration_hours) * 3600;
    let iat = now.unix_timestamp();
    let mut claims = json!({
        "iss": settings.token_issuer,
        "sub": user.user_id,
        "iat": iat,
        "nbf": iat,
        "exp": iat + lifetime,
        "jti": jwt::random_hex(),
        "bwmode": settings.mode.label(),
    });
    if let Some(o) = &org {
        claims["org"] = json!(o);
    }
    let mut token = settings
        .keys
        .sign(&claims)
        .map_err(|e| refuse(500, AUTHSERVICE_REFUSED_CODE, "sign-failed", e))?;
    if let Some(key) = caller_key {
        let jwt = token;
        token = tokio::task::spawn_blocking(move || jwt::encrypt_for(&key, &jwt))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)
            .map_err(|e| refuse(500, AUTHSERVICE_REFUSED_CODE, "encrypt-failed", e))?;
        ex.auth = Some("token-issued-encrypted");
    }
    let encrypted = ex.auth == Some("token-issued-encrypted");
    ex.identity = Some(user.user_id.clone());
    if !encrypted {
        ex.auth = Some("token-issued");
    }
    journal_token(
        shared,
        ex,
        settings,
        "issued",
        Some(&user.user_id),
        None,
        created,
    );
    let mut body = json!({
        "token": token,
        "tokenType": "Bearer",
        "expiresIn": lifetime,
        "userId": user.user_id,
    });
    if encrypted {
        body["encryption"] = json!(jwt::TOKEN_ENCRYPTION);
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// Journals one issue or refusal (`token=issued|refused`, `mode`, `sub`, `reason`).
fn journal_token(
    shared: &Shared,
    ex: &Exchange,
    settings: &AuthServiceSettings,
    outcome: &'static str,
    sub: Option<&str>,
    reason: Option<&'static str>,
    key_created: bool,
) {
    let mut rec = shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Http,
            format!("AuthService token {outcome}"),
        )
        .peer(ex.conn.peer)
        .attr("token", outcome)
        .attr("mode", settings.mode.label())
        .attr("interface", ex.conn.interface.name());
    if let Some(s) = sub {
        rec = rec.attr("sub", s.to_owned());
    }
    if let Some(r) = reason {
        rec = rec.attr("reason", r);
    }
    if key_created {
        rec = rec.attr("key_created", "true");
    }
    rec.commit();
}

async fn ci_caller(
    shared: &Shared,
    ex: &mut Exchange,
    settings: &AuthServiceSettings,
    header: Option<&[u8]>,
) -> Result<(Arc<User>, Option<String>), Refusal> {
    if !shared.profile.supports(Feature::CiTokenValidation) {
        return Err(refuse(
            403,
            CI_VALIDATION_UNSUPPORTED_CODE,
            "ci-unsupported",
            format!(
                "CI token validation is not available on release profile {}",
                shared.profile.name()
            ),
        ));
    }
    if shared.client_cert_required(ex.conn.interface, AUTHSERVICE_ROOT) {
        return Err(refuse(
            403,
            AUTHSERVICE_REFUSED_CODE,
            "ci-client-cert-on",
            "CI token validation needs client authentication off for /authService",
        ));
    }
    let Some(token) = header.and_then(bearer).map(str::to_owned) else {
        ex.auth = Some("no-credentials");
        return Err(Refusal {
            fail: Fail::unauthorized(ErrorCode::Unauthenticated, "no-credentials"),
            reason: "no-credentials",
        });
    };
    let Some(validator) = settings.ci_validator.clone() else {
        return Err(refuse(
            503,
            AUTHSERVICE_REFUSED_CODE,
            "ci-no-validator",
            "No CI token validator (tokenInfoUrl) is configured",
        ));
    };
    let id = match validator.validate(&token).await {
        Ok(id) => id,
        Err(CiError::Invalid(_)) => return Err(refuse_auth("ci-token-invalid")),
        Err(CiError::Unavailable(e)) => {
            return Err(refuse(
                503,
                AUTHSERVICE_REFUSED_CODE,
                "ci-unavailable",
                format!("CI token validation failed: {e}"),
            ));
        }
    };
    ex.login = Some(id.user.clone());
    if !id.scopes.iter().any(|s| CI_SCOPES.contains(&s.as_str())) {
        return Err(refuse_auth("ci-scope-missing"));
    }
    {
        let mut pinned = shared.authservice.org.lock();
        let allowed = settings
            .partner_org_id
            .as_deref()
            .or(pinned.as_deref())
            .unwrap_or(&id.org_id);
        if !allowed.eq_ignore_ascii_case(&id.org_id) {
            return Err(refuse(
                403,
                AUTHSERVICE_REFUSED_CODE,
                "ci-second-org",
                "Only one partner org may use CI token validation on this node",
            ));
        }
        if pinned.is_none() {
            *pinned = Some(id.org_id.clone());
        }
    }
    let user = shared
        .store
        .find_user(&id.user)
        .or_else(|| {
            shared.store.users().find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&id.user))
            })
        })
        .ok_or(Refusal {
            fail: Fail::detail(ErrorCode::UserNotFound, &id.user),
            reason: "ci-unknown-user",
        })?;
    Ok((user, Some(id.org_id)))
}

/// Authenticates `Authorization: Bearer <token>` on an Xsi web app: a BroadWorks JWT, or
/// a `LoginToken` (single use).
pub(crate) fn authenticate_bearer(
    shared: &Shared,
    ex: &mut Exchange,
    token: &str,
) -> Result<Principal, Fail> {
    let refuse = |ex: &mut Exchange, reason: &'static str| {
        ex.auth = Some(reason);
        Fail::unauthorized(ErrorCode::InvalidCredentials, reason)
    };
    let Some(settings) = shared.settings.authservice.as_ref() else {
        return Err(refuse(ex, "bearer-no-authservice"));
    };
    if !shared.drift.authservice_url_configured() {
        return Err(refuse(ex, "bearer-no-authservice-url"));
    }
    let now = shared.clock.now();
    if !token.contains('.') {
        return match redeem(shared, token, SsoKind::Login, now) {
            Some(u) => {
                ex.auth = Some("login-token");
                ex.identity = Some(u.user_id.clone());
                Ok(Principal::User(u))
            }
            None => Err(refuse(ex, "login-token-invalid")),
        };
    }
    // The "non-shared keys" drift: this node validates with its own pair.
    let own = shared.drift.own_keys();
    let keys = own.as_ref().unwrap_or(&settings.keys);
    let claims = match keys.verify(token) {
        Ok(c) => c,
        Err(jwt::JwtError::Malformed) => return Err(refuse(ex, "bearer-malformed")),
        Err(jwt::JwtError::BadSignature) => return Err(refuse(ex, "bearer-bad-signature")),
    };
    if claims.get("iss").and_then(|v| v.as_str()) != Some(settings.token_issuer.as_str()) {
        return Err(refuse(ex, "bearer-wrong-issuer"));
    }
    let Some(exp) = claims.get("exp").and_then(|v| v.as_i64()) else {
        return Err(refuse(ex, "bearer-malformed"));
    };
    if now.unix_timestamp() >= exp {
        return Err(refuse(ex, "bearer-expired"));
    }
    if claims
        .get("nbf")
        .and_then(|v| v.as_i64())
        .is_some_and(|nbf| now.unix_timestamp() < nbf)
    {
        return Err(refuse(ex, "bearer-not-yet-valid"));
    }
    let Some(sub) = claims.get("sub").and_then(|v| v.as_str()) else {
        return Err(refuse(ex, "bearer-malformed"));
    };
    ex.login = Some(sub.to_owned());
    let Some(user) = shared.store.find_user(sub) else {
        return Err(refuse(ex, "bearer-unknown-user"));
    };
    ex.auth = Some("bearer");
    ex.identity = Some(user.user_id.clone());
    Ok(Principal::User(user))
}

fn redeem(shared: &Shared, token: &str, kind: SsoKind, now: OffsetDateTime) -> Option<Arc<User>> {
    let mut map = shared.authservice.sso.lock();
    if map.get(token)?.kind != kind {
        return None;
    }
    let sso = map.remove(token)?;
    if now >= sso.expires {
        return None;
    }
    shared.store.find_user(&sso.user_id)
}

/// Redeems a `DeviceToken` (single use, 60 s): the BroadWorks userId it was issued for.
pub(crate) fn redeem_device_token(shared: &Shared, token: &str) -> Option<String> {
    redeem(shared, token, SsoKind::Device, shared.clock.now()).map(|u| u.user_id.clone())
}

/// `user/{u}/profile/LoginToken` and `…/DeviceToken` (GET → 200, POST → 201). `None` when
/// `segs` is another resource.
pub(crate) fn sso_route(
    shared: &Shared,
    ex: &Exchange,
    principal: &Principal,
    segs: &[String],
) -> Option<Result<Resp, Fail>> {
    let [u, id, p, name] = segs else {
        return None;
    };
    if !u.eq_ignore_ascii_case("user") || !p.eq_ignore_ascii_case("profile") {
        return None;
    }
    let kind = if name.eq_ignore_ascii_case("LoginToken") {
        SsoKind::Login
    } else if name.eq_ignore_ascii_case("DeviceToken") {
        SsoKind::Device
    } else {
        return None;
    };
    Some(sso_issue(shared, ex, principal, id, kind))
}

fn sso_issue(
    shared: &Shared,
    ex: &Exchange,
    principal: &Principal,
    id: &str,
    kind: SsoKind,
) -> Result<Resp, Fail> {
    let status = match ex.method {
        Method::GET => 200,
        Method::POST => 201,
        _ => return Err(Fail::method_not_allowed("GET, POST")),
    };
    let user = shared
        .store
        .find_user(id)
        .ok_or_else(|| Fail::detail(ErrorCode::UserNotFound, id))?;
    if !principal.may_write(&user) {
        return Err(Fail::new(ErrorCode::OutOfScope));
    }
    if kind == SsoKind::Device {
        let endpoints = shared.store.user_endpoints(user.idx)?;
        let name = query_param(ex.query.as_deref(), "deviceName");
        let level = query_param(ex.query.as_deref(), "deviceLevel");
        let found = endpoints.iter().any(|(d, _)| {
            name.as_deref().is_none_or(|n| d.name == n)
                && level
                    .as_deref()
                    .is_none_or(|l| d.level.xsi_text().eq_ignore_ascii_case(l))
        });
        if !found {
            return Err(Fail::detail(
                ErrorCode::ResourceNotFound,
                "the user has no such device",
            ));
        }
    }
    let now = shared.clock.now();
    let token = jwt::random_hex();
    {
        let mut map = shared.authservice.sso.lock();
        if map.len() >= 1024 {
            map.retain(|_, s| s.expires > now);
        }
        map.insert(
            token.clone(),
            Sso {
                kind,
                user_id: user.user_id.clone(),
                expires: now + SSO_TOKEN_LIFETIME,
            },
        );
    }
    let root = match kind {
        SsoKind::Login => "LoginToken",
        SsoKind::Device => "DeviceToken",
    };
    let doc = Element::new(root).with_child(Element::leaf("token", token));
    Ok(rendered(
        status,
        bwlab_xsi::negotiate::render(&doc, ex.meta().response_format()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer(b"bEaReR  abc "), Some("abc"));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer "), None);
    }

    #[test]
    fn duration_bounds() {
        let mut s = AuthServiceSettings::mtls(AuthKeys::new());
        assert!(s.validate().is_ok());
        s.token_duration_hours = 4320;
        assert!(s.validate().is_ok());
        s.token_duration_hours = 4321;
        assert!(s.validate().is_err());
        s.token_duration_hours = 0;
        assert!(s.validate().is_err());
    }

    #[test]
    fn owns_paths() {
        assert!(owns("/authService/token"));
        assert!(owns("/AUTHSERVICE"));
        assert!(!owns("/authServiceX/token"));
        assert!(!owns("/com.broadsoft.xsi-actions/v2.0"));
    }
}
