//! Basic authentication, session cookies and the authorisation (scope) rules.
//!
//! Every request must carry `Authorization: Basic …` (Xsi §3.2.2): the `JSESSIONID` cookie
//! only spares the node a second password check when the header is unchanged, it never
//! replaces the header. Refusals for a wrong password, an unknown login, a locked account
//! and an expired password under `enforcePasswordChangeOnExpiry` are byte-identical; the
//! journal keeps the real reason.
//!
//! Sessions live in a sharded map (16 `parking_lot` mutexes picked by the random session
//! id) rather than a signed stateless cookie, because `j_logout` must be able to revoke a
//! session server-side and because lookups for different sessions then never contend on
//! one lock.

use std::collections::HashMap;
use std::sync::Arc;

use bwlab_model::{Admin, AuthOutcome, User, decode_basic};
use bwlab_xsi::ErrorCode;
use hyper::StatusCode;
use hyper::header::{HeaderValue, SET_COOKIE};
use parking_lot::Mutex;
use time::OffsetDateTime;

use crate::Shared;
use crate::errors::{Fail, Resp, empty};
use crate::journal::Exchange;

/// Cookie name, as Tomcat (the XSP's web container) spells it.
pub(crate) const COOKIE_NAME: &str = "JSESSIONID";
const SHARDS: usize = 16;
/// Pruning of idle sessions starts when a shard holds this many.
const PRUNE_AT: usize = 1024;

/// Who is calling.
#[derive(Clone, Debug)]
pub(crate) enum Principal {
    User(Arc<User>),
    Admin(Arc<Admin>),
}

impl Principal {
    pub(crate) fn describe(&self) -> String {
        match self {
            Principal::User(u) => u.user_id.clone(),
            Principal::Admin(a) => format!("admin:{}", a.login),
        }
    }

    /// Whether the caller may read `target`'s resources.
    pub(crate) fn may_read(&self, target: &User) -> bool {
        match self {
            Principal::User(u) => u.idx == target.idx,
            Principal::Admin(a) => a.can_access_user(target),
        }
    }

    /// Whether the caller may change `target`'s resources (read-only admins may not).
    pub(crate) fn may_write(&self, target: &User) -> bool {
        match self {
            Principal::User(u) => u.idx == target.idx,
            Principal::Admin(a) => a.can_modify_user(target),
        }
    }
}

#[derive(Clone)]
struct Session {
    /// The exact `Authorization` value that opened the session.
    authorization: Vec<u8>,
    login: String,
    admin: bool,
    /// The account's credential generation when the session was opened: a lock, a
    /// password or passcode change since makes the session stale.
    generation: u64,
    last_used: OffsetDateTime,
}

/// Live sessions.
pub(crate) struct Sessions {
    shards: Vec<Mutex<HashMap<String, Session>>>,
    idle: time::Duration,
    /// Keys of the session id a bearer token gets (two SipHash keys: 128 bits).
    bearer_keys: (
        std::collections::hash_map::RandomState,
        std::collections::hash_map::RandomState,
    ),
}

impl Sessions {
    pub(crate) fn new(idle: time::Duration) -> Self {
        Sessions {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            idle,
            bearer_keys: Default::default(),
        }
    }

    /// The session id of a bearer token: the same token always names the same session, so
    /// clients that never send the cookie back do not grow the table request by request.
    /// Keyed per node, so the id says nothing about the token.
    fn bearer_id(&self, authorization: &[u8]) -> String {
        use std::hash::BuildHasher;
        let a = self.bearer_keys.0.hash_one(authorization);
        let b = self.bearer_keys.1.hash_one(authorization);
        format!("{a:016X}{b:016X}")
    }

    fn shard(&self, id: &str) -> &Mutex<HashMap<String, Session>> {
        let h = id
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        &self.shards[h % SHARDS]
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    fn lookup(&self, id: &str, now: OffsetDateTime) -> Option<Session> {
        let mut shard = self.shard(id).lock();
        let s = shard.get_mut(id)?;
        if now - s.last_used > self.idle {
            shard.remove(id);
            return None;
        }
        s.last_used = now;
        Some(s.clone())
    }

    fn insert(&self, id: String, session: Session) {
        let now = session.last_used;
        let mut shard = self.shard(&id).lock();
        if shard.len() >= PRUNE_AT {
            shard.retain(|_, s| now - s.last_used <= self.idle);
        }
        shard.insert(id, session);
    }

    fn remove(&self, id: &str) -> bool {
        self.shard(id).lock().remove(id).is_some()
    }
}

fn new_session_id() -> String {
    let mut buf = [0u8; 16];
    let rng = bwlab_pki::rustls::crypto::ring::default_provider().secure_random;
    if rng.fill(&mut buf).is_err() {
        // Never expected; fall back to something unique rather than failing the login.
        let t = OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .to_le_bytes();
        buf.copy_from_slice(&t[..16]);
    }
    buf.iter().map(|b| format!("{b:02X}")).collect()
}

fn session_cookie(cookie_header: Option<&str>) -> Option<&str> {
    cookie_header?.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE_NAME && !v.is_empty()).then_some(v.trim_matches('"'))
    })
}

fn set_cookie(id: &str) -> String {
    format!(
        "{COOKIE_NAME}={id}; Path={}; Secure; HttpOnly",
        crate::XSI_ACTIONS_ROOT
    )
}

/// Authenticates the request. On success returns the caller and, for a fresh session,
/// the `Set-Cookie` value to send.
pub(crate) fn authenticate(
    shared: &Shared,
    ex: &mut Exchange,
) -> Result<(Principal, Option<String>), Fail> {
    let Some(header) = ex.authorization.clone() else {
        ex.auth = Some("no-credentials");
        return Err(Fail::unauthorized(
            ErrorCode::Unauthenticated,
            "no-credentials",
        ));
    };
    if let Some(token) = crate::authservice::bearer(&header) {
        let principal = crate::authservice::authenticate_bearer(shared, ex, token)?;
        // The token is checked on every request, but like Tomcat the node still opens a
        // session for the caller: its cookie is what load balancers keep affinity on.
        let now = shared.clock.now();
        let id = shared.sessions.bearer_id(&header);
        let sent = session_cookie(ex.cookie.as_deref()) == Some(id.as_str());
        if sent && shared.sessions.lookup(&id, now).is_some() {
            return Ok((principal, None));
        }
        let login = match &principal {
            Principal::User(u) => &u.user_id,
            Principal::Admin(a) => &a.login,
        };
        let generation = shared.store.credential_generation(login).unwrap_or(0);
        let cookie = open_session(shared, Some(id), header, &principal, generation, now);
        return Ok((principal, Some(cookie)));
    }
    let now = shared.clock.now();
    let mut stale = false;
    if let Some(id) = session_cookie(ex.cookie.as_deref())
        && let Some(s) = shared.sessions.lookup(id, now)
        && s.authorization == header
    {
        // The session is re-checked against the account on every use: locked, a secret
        // changed, or expired under enforcement since it was opened → it is dropped and
        // the request is authenticated afresh (which then refuses it like any login).
        let principal = if s.admin {
            shared
                .store
                .find_admin(&s.login)
                .filter(|a| shared.store.session_valid_for_admin(a, s.generation, now))
                .map(Principal::Admin)
        } else {
            shared
                .store
                .find_user(&s.login)
                .filter(|u| shared.store.session_valid_for_user(u, s.generation, now))
                .map(Principal::User)
        };
        match principal {
            Some(p) => {
                ex.auth = Some("session");
                ex.identity = Some(p.describe());
                return Ok((p, None));
            }
            None => {
                shared.sessions.remove(id);
                stale = true;
            }
        }
    }
    let refuse = |ex: &mut Exchange, reason: &'static str| {
        let reason = if stale {
            after_stale_session(reason)
        } else {
            reason
        };
        ex.auth = Some(reason);
        Fail::unauthorized(ErrorCode::InvalidCredentials, reason)
    };
    let creds = match decode_basic(&header, shared.settings.authentication_encoding) {
        Ok(c) => c,
        Err(_) => return Err(refuse(ex, "bad-header")),
    };
    ex.login = Some(creds.login.clone());
    // Read before the check, so a change racing with this login leaves the session stale.
    let generation = shared
        .store
        .credential_generation(&creds.login)
        .unwrap_or(0);
    let (principal, outcome) = match shared
        .store
        .authenticate(&creds.login, &creds.password, now)
    {
        AuthOutcome::UnknownUser => {
            match shared
                .store
                .authenticate_admin(&creds.login, &creds.password, now)
            {
                AuthOutcome::Ok { user, .. } | AuthOutcome::Expired { user, .. } => {
                    (Principal::Admin(user), "ok")
                }
                other => return Err(refuse(ex, other.name())),
            }
        }
        AuthOutcome::Ok { user, .. } => (Principal::User(user), "ok"),
        AuthOutcome::Expired { user, .. } => (Principal::User(user), "expired"),
        other => return Err(refuse(ex, other.name())),
    };
    ex.auth = Some(if stale {
        after_stale_session(outcome)
    } else {
        outcome
    });
    ex.identity = Some(principal.describe());
    let cookie = open_session(shared, None, header, &principal, generation, now);
    Ok((principal, Some(cookie)))
}

/// Opens (or renews) the session `id` — a fresh random one when `None` — for `principal`
/// authenticated by `authorization`; returns the `Set-Cookie` value that names it.
fn open_session(
    shared: &Shared,
    id: Option<String>,
    authorization: Vec<u8>,
    principal: &Principal,
    generation: u64,
    now: time::OffsetDateTime,
) -> String {
    let id = id.unwrap_or_else(new_session_id);
    let (login, admin) = match principal {
        Principal::User(u) => (u.user_id.clone(), false),
        Principal::Admin(a) => (a.login.clone(), true),
    };
    shared.sessions.insert(
        id.clone(),
        Session {
            authorization,
            login,
            admin,
            generation,
            last_used: now,
        },
    );
    set_cookie(&id)
}

/// The journal's `auth` value when a request came with a session that no longer stands
/// (the account was locked, a secret changed, or the password expired under enforcement)
/// and was therefore authenticated again: the outcome of that fresh check, marked.
fn after_stale_session(outcome: &'static str) -> &'static str {
    match outcome {
        "ok" => "session-stale-ok",
        "expired" => "session-stale-expired",
        "locked" => "session-stale-locked",
        "wrong-password" => "session-stale-wrong-password",
        "expired-enforced" => "session-stale-expired-enforced",
        "unknown-user" => "session-stale-unknown-user",
        _ => "session-stale",
    }
}

/// `…/j_logout`: invalidates the session named by the cookie (if any) and expires the
/// cookie. Needs no credentials: it can only ever take access away.
pub(crate) fn logout(shared: &Shared, ex: &mut Exchange) -> Resp {
    let removed = session_cookie(ex.cookie.as_deref())
        .map(|id| shared.sessions.remove(id))
        .unwrap_or(false);
    ex.auth = Some(if removed {
        "logout"
    } else {
        "logout-no-session"
    });
    let mut resp = empty(StatusCode::OK);
    let expired = format!(
        "{COOKIE_NAME}=; Path={}; Max-Age=0; Secure; HttpOnly",
        crate::XSI_ACTIONS_ROOT
    );
    if let Ok(v) = HeaderValue::from_str(&expired) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    resp
}
