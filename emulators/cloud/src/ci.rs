//! The fake CI / IdBroker: access tokens for lab users, introspection, revocation.
//!
//! Tokens are opaque (`<64 hex>_<region>_<org id>`, the shape of real Webex tokens) and
//! live in memory; expiry is measured on the lab clock, so advancing the clock expires
//! them without waiting.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use bwlab_core::LabClock;
use hyper::{Method, StatusCode};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::Shared;
use crate::http::{Out, Req};
use crate::url::parse_form;

/// OAuth token endpoint on every CI host.
pub const PATH_ACCESS_TOKEN: &str = "/idb/oauth2/v1/access_token";
/// Introspection endpoint on every CI host.
pub const PATH_TOKEN_INFO: &str = "/idb/oauth2/v1/tokeninfo";
/// Revocation endpoint on every CI host.
pub const PATH_REVOKE: &str = "/idb/oauth2/v1/revoke";
/// Lifetime of tokens from the OAuth endpoint unless the client asks for less.
pub const DEFAULT_TOKEN_LIFETIME: time::Duration = time::Duration::hours(12);
/// A refresh token from a service request must be used within 60 days (§6, §15).
pub const REFRESH_FIRST_USE_WINDOW: time::Duration = time::Duration::days(60);

/// A CI cluster: host name and issuer URL (§6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiRegion {
    /// Short name used in tokens and the journal (`us-a`, `eu`, `us-b`).
    pub name: String,
    /// Host the IdBroker answers on.
    pub host: String,
    /// `issuerName` = `issuerUrl` for AuthService.
    pub issuer: String,
}

impl CiRegion {
    /// A region `name` on `host`, issuer `https://<host>/idb`.
    pub fn new(name: &str, host: &str) -> Self {
        CiRegion {
            name: name.to_owned(),
            host: host.to_ascii_lowercase(),
            issuer: format!("https://{}/idb", host.to_ascii_lowercase()),
        }
    }

    /// US-A: `idbroker.webex.com`.
    pub fn us_a() -> Self {
        Self::new("us-a", "idbroker.webex.com")
    }

    /// EU: `idbroker-eu.webex.com`.
    pub fn eu() -> Self {
        Self::new("eu", "idbroker-eu.webex.com")
    }

    /// US-B: `idbroker-b-us.webex.com`.
    pub fn us_b() -> Self {
        Self::new("us-b", "idbroker-b-us.webex.com")
    }

    /// The three verified clusters, US-A first.
    pub fn defaults() -> Vec<Self> {
        vec![Self::us_a(), Self::eu(), Self::us_b()]
    }
}

/// What to put into a token ([`CiHandle::issue`]).
#[derive(Clone, Debug)]
pub struct TokenSpec {
    /// User's email (primary Webex identity); for a machine client, its client id.
    pub email: String,
    /// Webex org id.
    pub org_id: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Lifetime from now (lab clock).
    pub lifetime: time::Duration,
    /// Issuer URL (region); `None` = the first configured region (US-A by default).
    pub issuer: Option<String>,
    /// BroadWorks user id, when known (tokens minted by the IdP proxy).
    pub broadworks_user_id: Option<String>,
    /// OAuth client the token was issued to.
    pub client_id: Option<String>,
}

impl TokenSpec {
    /// A user token with everything else defaulted.
    pub fn user(email: &str, org_id: &str, scopes: &[&str], lifetime: time::Duration) -> Self {
        TokenSpec {
            email: email.to_owned(),
            org_id: org_id.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            lifetime,
            issuer: None,
            broadworks_user_id: None,
            client_id: None,
        }
    }
}

#[derive(Clone, Debug)]
struct TokenRecord {
    email: String,
    user_id: String,
    org_id: String,
    scopes: Vec<String>,
    issuer: String,
    client_id: Option<String>,
    broadworks_user_id: Option<String>,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    revoked: bool,
}

/// Introspection result (also the JSON body of the token-info endpoints).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Usable now.
    pub active: bool,
    /// Why not active: `expired`, `revoked` or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// User email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// CI user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Org id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// Space-separated scopes (OAuth style).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Issuer URL of the region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// BroadWorks user id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadworks_user_id: Option<String>,
    /// Issue time, Unix seconds (lab clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Expiry, Unix seconds (lab clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Seconds left (0 once expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

impl TokenInfo {
    fn inactive(reason: &str) -> Self {
        TokenInfo {
            active: false,
            reason: Some(reason.to_owned()),
            email: None,
            user_id: None,
            org_id: None,
            scope: None,
            iss: None,
            client_id: None,
            broadworks_user_id: None,
            iat: None,
            exp: None,
            expires_in: None,
        }
    }

    /// Scopes as a list.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split_ascii_whitespace()
            .collect()
    }
}

#[derive(Clone, Debug)]
struct Account {
    secret: String,
    org_id: String,
    scopes: Vec<String>,
}

/// A refresh token handed to a service (AuthService, NPS, …) out of band.
#[derive(Clone, Debug)]
struct RefreshRecord {
    client_id: String,
    spec: TokenSpec,
    /// Must be first used before this instant; `None` once used.
    use_before: Option<OffsetDateTime>,
}

pub(crate) struct CiState {
    clock: LabClock,
    regions: Vec<CiRegion>,
    tokens: Mutex<HashMap<String, TokenRecord>>,
    refresh: Mutex<HashMap<String, RefreshRecord>>,
    users: Mutex<HashMap<String, Account>>,
    clients: Mutex<HashMap<String, Account>>,
}

impl CiState {
    pub(crate) fn new(clock: LabClock, regions: Vec<CiRegion>) -> Self {
        CiState {
            clock,
            regions,
            tokens: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }
}

/// Admin/test API of the fake CI. Cheap to clone.
#[derive(Clone)]
pub struct CiHandle(pub(crate) Arc<CiState>);

impl std::fmt::Debug for CiHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CiHandle")
            .field("regions", &self.0.regions)
            .finish()
    }
}

impl CiHandle {
    /// Issues an access token for `email` in `org_id` with `scopes`, valid for `lifetime`
    /// on the lab clock, from the first region (US-A by default).
    pub fn issue_token(
        &self,
        email: &str,
        org_id: &str,
        scopes: &[&str],
        lifetime: time::Duration,
    ) -> String {
        self.issue(TokenSpec::user(email, org_id, scopes, lifetime))
    }

    /// Issues a token from a full [`TokenSpec`]. An unknown `issuer` is used verbatim (a
    /// scenario can mint tokens from a cluster the XSP does not trust).
    pub fn issue(&self, spec: TokenSpec) -> String {
        let st = &self.0;
        let issuer = spec
            .issuer
            .clone()
            .or_else(|| st.regions.first().map(|r| r.issuer.clone()))
            .unwrap_or_else(|| CiRegion::us_a().issuer);
        let region = st
            .regions
            .iter()
            .find(|r| r.issuer == issuer)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| "ext".to_owned());
        let token = format!(
            "{}_{}_{}",
            random_hex(32),
            region.to_ascii_uppercase(),
            spec.org_id
        );
        let now = st.clock.now();
        let rec = TokenRecord {
            user_id: ci_user_id(&spec.email),
            email: spec.email,
            org_id: spec.org_id,
            scopes: spec.scopes,
            issuer,
            client_id: spec.client_id,
            broadworks_user_id: spec.broadworks_user_id,
            issued_at: now,
            expires_at: now + spec.lifetime,
            revoked: false,
        };
        st.tokens.lock().insert(token.clone(), rec);
        token
    }

    /// What introspection says about `token` now.
    pub fn introspect(&self, token: &str) -> TokenInfo {
        let now = self.0.clock.now();
        let Some(rec) = self.0.tokens.lock().get(token).cloned() else {
            return TokenInfo::inactive("unknown");
        };
        if rec.revoked {
            return TokenInfo::inactive("revoked");
        }
        if rec.expires_at <= now {
            return TokenInfo::inactive("expired");
        }
        TokenInfo {
            active: true,
            reason: None,
            email: Some(rec.email),
            user_id: Some(rec.user_id),
            org_id: Some(rec.org_id),
            scope: Some(rec.scopes.join(" ")),
            iss: Some(rec.issuer),
            client_id: rec.client_id,
            broadworks_user_id: rec.broadworks_user_id,
            iat: Some(rec.issued_at.unix_timestamp()),
            exp: Some(rec.expires_at.unix_timestamp()),
            expires_in: Some((rec.expires_at - now).whole_seconds().max(0)),
        }
    }

    /// Revokes an access or refresh token; `false` if it was unknown.
    pub fn revoke(&self, token: &str) -> bool {
        if self.0.refresh.lock().remove(token).is_some() {
            return true;
        }
        match self.0.tokens.lock().get_mut(token) {
            Some(r) => {
                r.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Creates a refresh token for OAuth client `client_id` (the credential a Cisco service
    /// request hands out). Each use of `grant_type=refresh_token` yields an access token
    /// shaped by `spec`. It must be used for the first time within `use_within` of now on
    /// the lab clock (60 days in the guide, [`REFRESH_FIRST_USE_WINDOW`]); after that first
    /// use it keeps working until revoked.
    pub fn issue_refresh_token(
        &self,
        client_id: &str,
        spec: TokenSpec,
        use_within: time::Duration,
    ) -> String {
        let token = format!("rt_{}", random_hex(32));
        let use_before = Some(self.0.clock.now() + use_within);
        self.0.refresh.lock().insert(
            token.clone(),
            RefreshRecord {
                client_id: client_id.to_owned(),
                spec,
                use_before,
            },
        );
        token
    }

    /// Exchanges a refresh token (what the OAuth endpoint does); `Err` names the reason.
    fn redeem_refresh(&self, token: &str, client_id: &str) -> Result<TokenSpec, &'static str> {
        let now = self.0.clock.now();
        let mut map = self.0.refresh.lock();
        let rec = map.get_mut(token).ok_or("unknown refresh token")?;
        if rec.client_id != client_id {
            return Err("refresh token belongs to another client");
        }
        if let Some(limit) = rec.use_before {
            if now >= limit {
                return Err("refresh token expired before its first use");
            }
            rec.use_before = None;
        }
        Ok(rec.spec.clone())
    }

    /// Number of tokens issued and not yet forgotten.
    pub fn token_count(&self) -> usize {
        self.0.tokens.lock().len()
    }

    /// Registers a CI user for the OAuth password grant.
    pub fn add_user(&self, email: &str, password: &str, org_id: &str, scopes: &[&str]) {
        self.0.users.lock().insert(
            email.to_ascii_lowercase(),
            Account {
                secret: password.to_owned(),
                org_id: org_id.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        );
    }

    /// Registers an OAuth client for the client-credentials grant (AuthService, NPS, …).
    pub fn add_client(&self, client_id: &str, secret: &str, org_id: &str, scopes: &[&str]) {
        self.0.clients.lock().insert(
            client_id.to_owned(),
            Account {
                secret: secret.to_owned(),
                org_id: org_id.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        );
    }

    /// Configured regions.
    pub fn regions(&self) -> &[CiRegion] {
        &self.0.regions
    }
}

/// Deterministic CI user id (UUID form) for an email, so the same lab user always has the
/// same id.
pub fn ci_user_id(email: &str) -> String {
    let lower = email.to_ascii_lowercase();
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in lower.bytes() {
        a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3 ^ 0x5bd1_e995);
    }
    let h = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let rng = bwlab_pki::rustls::crypto::ring::default_provider().secure_random;
    if rng.fill(&mut buf).is_err() {
        let t = OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .to_le_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = t[i % t.len()] ^ (i as u8);
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn form_get<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Client id/secret from `Authorization: Basic` or the form.
fn client_credentials(req: &Req, form: &[(String, String)]) -> Option<(String, String)> {
    if let Some(v) = req.header("authorization")
        && let Some((scheme, rest)) = v.trim().split_once(' ')
        && scheme.eq_ignore_ascii_case("basic")
        && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(rest.trim())
        && let Ok(text) = String::from_utf8(bytes)
        && let Some((id, secret)) = text.split_once(':')
    {
        return Some((id.to_owned(), secret.to_owned()));
    }
    Some((
        form_get(form, "client_id")?.to_owned(),
        form_get(form, "client_secret")?.to_owned(),
    ))
}

/// Requested scopes narrowed to what the account has; `None` if something not granted
/// was asked for.
fn narrow(requested: Option<&str>, granted: &[String]) -> Option<Vec<String>> {
    match requested {
        None => Some(granted.to_vec()),
        Some(r) => {
            let want: Vec<String> = r.split_ascii_whitespace().map(str::to_owned).collect();
            want.iter().all(|w| granted.contains(w)).then_some(want)
        }
    }
}

pub(crate) fn route(shared: &Shared, region: usize, req: &Req) -> Out {
    let ci = CiHandle(Arc::clone(&shared.ci));
    let issuer = shared.ci.regions[region].issuer.clone();
    match (req.method.clone(), req.path.as_str()) {
        (Method::POST, PATH_ACCESS_TOKEN) => access_token(&ci, &issuer, req),
        (Method::POST | Method::GET, PATH_TOKEN_INFO) => {
            let form = parse_form(&req.body);
            let token = req
                .bearer()
                .map(str::to_owned)
                .or_else(|| form_get(&form, "access_token").map(str::to_owned))
                .or_else(|| form_get(&form, "token").map(str::to_owned));
            let Some(token) = token else {
                return Out::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "no token: send Authorization: Bearer <token> or access_token=<token>",
                );
            };
            let info = ci.introspect(&token);
            let outcome = info.reason.clone().unwrap_or_else(|| "active".to_owned());
            let body = serde_json::to_value(&info).unwrap_or_else(|_| json!({"active": false}));
            Out::new(StatusCode::OK, body, outcome)
        }
        (Method::POST, PATH_REVOKE) => {
            let form = parse_form(&req.body);
            match form_get(&form, "token") {
                Some(t) => {
                    let known = ci.revoke(t);
                    // RFC 7009: 200 whether or not the token was known.
                    Out::new(
                        StatusCode::OK,
                        json!({}),
                        if known { "revoked" } else { "unknown" },
                    )
                }
                None => Out::error(StatusCode::BAD_REQUEST, "invalid_request", "no token"),
            }
        }
        (Method::GET, "/idb/ping" | "/ping") => Out::new(
            StatusCode::OK,
            json!({"status": "UP", "issuer": issuer}),
            "ok",
        ),
        (_, PATH_ACCESS_TOKEN | PATH_TOKEN_INFO | PATH_REVOKE) => Out::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} not allowed here", req.method),
        ),
        _ => Out::error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
    }
}

fn access_token(ci: &CiHandle, issuer: &str, req: &Req) -> Out {
    let form = parse_form(&req.body);
    let grant = form_get(&form, "grant_type").unwrap_or("");
    let scope = form_get(&form, "scope");
    let lifetime = form_get(&form, "expires_in")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s > 0)
        .map(time::Duration::seconds)
        .map_or(DEFAULT_TOKEN_LIFETIME, |d| d.min(DEFAULT_TOKEN_LIFETIME));
    let (email, org_id, scopes, client_id) = match grant {
        "client_credentials" => {
            let Some((id, secret)) = client_credentials(req, &form) else {
                return Out::error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication missing",
                );
            };
            let acct = ci.0.clients.lock().get(&id).cloned();
            match acct {
                Some(a) if a.secret == secret => match narrow(scope, &a.scopes) {
                    Some(s) => (id.clone(), a.org_id, s, Some(id)),
                    None => {
                        return Out::error(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "scope not granted to this client",
                        );
                    }
                },
                _ => {
                    return Out::error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "unknown client or wrong secret",
                    );
                }
            }
        }
        "password" => {
            let (Some(user), Some(pw)) = (form_get(&form, "username"), form_get(&form, "password"))
            else {
                return Out::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "username and password are required",
                );
            };
            let acct = ci.0.users.lock().get(&user.to_ascii_lowercase()).cloned();
            match acct {
                Some(a) if a.secret == pw => match narrow(scope, &a.scopes) {
                    Some(s) => (
                        user.to_ascii_lowercase(),
                        a.org_id,
                        s,
                        client_credentials(req, &form).map(|c| c.0),
                    ),
                    None => {
                        return Out::error(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "scope not granted to this user",
                        );
                    }
                },
                _ => {
                    return Out::error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "unknown user or wrong password",
                    );
                }
            }
        }
        "refresh_token" => {
            let Some((id, secret)) = client_credentials(req, &form) else {
                return Out::error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication missing",
                );
            };
            let known = ci.0.clients.lock().get(&id).cloned();
            if known.is_none_or(|a| a.secret != secret) {
                return Out::error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "unknown client or wrong secret",
                );
            }
            let Some(rt) = form_get(&form, "refresh_token") else {
                return Out::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            match ci.redeem_refresh(rt, &id) {
                Ok(spec) => match narrow(scope, &spec.scopes) {
                    Some(s) => (spec.email, spec.org_id, s, Some(id)),
                    None => {
                        return Out::error(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "scope not granted to this refresh token",
                        );
                    }
                },
                Err(why) => return Out::error(StatusCode::BAD_REQUEST, "invalid_grant", why),
            }
        }
        "" => {
            return Out::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        other => {
            return Out::error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type {other} is not supported by the lab CI"),
            );
        }
    };
    let token = ci.issue(TokenSpec {
        email: email.clone(),
        org_id: org_id.clone(),
        scopes: scopes.clone(),
        lifetime,
        issuer: Some(issuer.to_owned()),
        broadworks_user_id: None,
        client_id,
    });
    Out::new(
        StatusCode::OK,
        json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime.whole_seconds(),
            "scope": scopes.join(" "),
            "org_id": org_id,
        }),
        "issued",
    )
    .attr("subject", email)
    .attr("grant", grant.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_stable_uuids() {
        let a = ci_user_id("Alice@Acme.example");
        assert_eq!(a, ci_user_id("alice@acme.example"));
        assert_ne!(a, ci_user_id("bob@acme.example"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    proptest::proptest! {
        #[test]
        fn form_parser_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse_form(&bytes);
        }
    }

    #[test]
    fn narrowing_scopes() {
        let g = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(narrow(None, &g), Some(g.clone()));
        assert_eq!(narrow(Some("b"), &g), Some(vec!["b".to_owned()]));
        assert_eq!(narrow(Some("c"), &g), None);
    }
}
