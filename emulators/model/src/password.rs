//! Passwords, expiry, lockout and HTTP Basic decoding.
//!
//! BroadWorks behaviour modelled here (see docs/lab-data.md for the full semantics):
//! - a password may carry an expiry instant; within [`PasswordPolicy::warning_days`] of it a
//!   login succeeds with a warning (the Webex login page shows the days left);
//! - once expired, the system flag `enforcePasswordChangeOnExpiry` decides: enforced →
//!   refused, indistinguishable from a wrong password on Xsi; not enforced → allowed, and the
//!   caller (e.g. the IdP proxy) decides what to tell the user;
//! - consecutive failures lock the account at a configurable threshold; a success resets the
//!   counter; an administrator (or a scenario) unlocks.

use std::time::Duration as StdDuration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How the XSP turns the bytes of a Basic header into text (`authenticationEncoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthEncoding {
    /// The XSP default: each byte is one character. A browser that sends UTF-8 makes a
    /// non-ASCII password arrive mangled, so the login fails.
    #[default]
    #[serde(rename = "ISO-8859-1")]
    Iso8859_1,
    /// `set authenticationEncoding UTF-8`.
    #[serde(rename = "UTF-8")]
    Utf8,
}

/// Credentials taken from an `Authorization: Basic …` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicCredentials {
    /// Text before the first `:`.
    pub login: String,
    /// Text after the first `:` (may itself contain `:`).
    pub password: String,
}

/// Why a Basic header could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BasicAuthError {
    /// The value does not start with the `Basic` scheme.
    #[error("not a Basic authorization header")]
    NotBasic,
    /// The credentials are not valid base64.
    #[error("credentials are not valid base64")]
    BadBase64,
    /// UTF-8 decoding was requested and the bytes are not UTF-8.
    #[error("credentials are not valid UTF-8")]
    BadUtf8,
    /// The decoded text has no `:` separating login and password.
    #[error("credentials have no ':' between login and password")]
    NoColon,
}

/// Decodes an `Authorization` header value (`Basic dXNlcjpwdw==`) with the XSP's
/// `authenticationEncoding`. Never panics, whatever the input.
pub fn decode_basic(
    header_value: impl AsRef<[u8]>,
    encoding: AuthEncoding,
) -> Result<BasicCredentials, BasicAuthError> {
    let raw = header_value.as_ref().trim_ascii();
    let (scheme, rest) = match raw.iter().position(|b| b.is_ascii_whitespace()) {
        Some(i) => (&raw[..i], raw[i..].trim_ascii()),
        None => (raw, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(BasicAuthError::NotBasic);
    }
    // Some clients omit the padding; accept both forms.
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(rest))
        .map_err(|_| BasicAuthError::BadBase64)?;
    let text = match encoding {
        AuthEncoding::Iso8859_1 => bytes.iter().map(|&b| char::from(b)).collect(),
        AuthEncoding::Utf8 => String::from_utf8(bytes).map_err(|_| BasicAuthError::BadUtf8)?,
    };
    let (login, password) = text.split_once(':').ok_or(BasicAuthError::NoColon)?;
    Ok(BasicCredentials {
        login: login.to_owned(),
        password: password.to_owned(),
    })
}

/// Builds a Basic header value the way a client in the given encoding would (test helper
/// for callers; e.g. a browser sends UTF-8).
pub fn encode_basic(login: &str, password: &str, encoding: AuthEncoding) -> Option<String> {
    let text = format!("{login}:{password}");
    let bytes: Vec<u8> = match encoding {
        AuthEncoding::Utf8 => text.into_bytes(),
        AuthEncoding::Iso8859_1 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<_>>()?,
    };
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// System-wide password rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordPolicy {
    /// Refuse logins with an expired password (BroadWorks `enforcePasswordChangeOnExpiry`).
    pub enforce_password_change_on_expiry: bool,
    /// Consecutive failed logins that lock an account; 0 never locks.
    pub lockout_threshold: u32,
    /// A password expiring within this many days logs in with a warning (BroadWorks: 10).
    pub warning_days: i64,
    /// Lifetime given to a password when it is changed; `None` never expires.
    pub expires_after_days: Option<u32>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            enforce_password_change_on_expiry: false,
            lockout_threshold: 5,
            warning_days: 10,
            expires_after_days: None,
        }
    }
}

/// The password side of one account (user or administrator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordState {
    /// Web-portal password (Xsi Basic, OCI-P, CommPilot). Plain text: this is a lab.
    pub portal: String,
    /// Voice-portal passcode (digits), used with a directory number instead of a user id.
    pub passcode: Option<String>,
    /// When the portal password stops working; `None` never.
    pub expires_at: Option<OffsetDateTime>,
    /// Consecutive failed attempts since the last success or unlock.
    pub failed_attempts: u32,
    /// Locked accounts refuse every login until unlocked.
    pub locked: bool,
    /// Credential generation: goes up whenever a secret changes or the account is locked,
    /// so that anything that authenticated earlier (an Xsi session cookie) can tell that
    /// it must check again. See [`PasswordState::still_admits`].
    pub generation: u64,
}

/// Which secret a login attempt presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// User id or alternate id + portal password.
    Portal,
    /// Directory number + voice-portal passcode.
    Passcode,
}

/// Result of checking a secret against a [`PasswordState`], before the store attaches the
/// account. Mirrors [`AuthOutcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted.
    Ok {
        /// Whole days until expiry (rounded down), if the password expires.
        days_to_expiry: Option<i64>,
        /// `days_to_expiry` is within the warning window.
        expiring_soon: bool,
    },
    /// Wrong secret (counted towards lockout).
    WrongPassword,
    /// The account is locked; the secret was not even checked.
    Locked,
    /// Right password, expired, and the policy enforces a change.
    ExpiredEnforced {
        /// Whole days since expiry.
        days_ago: i64,
    },
    /// Right password, expired, policy does not enforce: allowed.
    Expired {
        /// Whole days since expiry.
        days_ago: i64,
    },
}

impl PasswordState {
    /// A fresh account with the given portal password.
    pub fn new(portal: impl Into<String>) -> Self {
        Self {
            portal: portal.into(),
            passcode: None,
            expires_at: None,
            failed_attempts: 0,
            locked: false,
            generation: 0,
        }
    }

    /// Whether a login made at credential generation `generation` may still be relied on
    /// at `now`: the account is not locked, no secret changed and no lock happened since
    /// (the generation is the same), and the password has not expired under an enforcing
    /// policy. An expired password without enforcement still admits, as at login.
    pub fn still_admits(
        &self,
        generation: u64,
        policy: &PasswordPolicy,
        now: OffsetDateTime,
    ) -> bool {
        !self.locked
            && self.generation == generation
            && !(policy.enforce_password_change_on_expiry && self.days_since_expiry(now).is_some())
    }

    /// Locks the account (a new credential generation).
    pub fn lock(&mut self) {
        if !self.locked {
            self.locked = true;
            self.generation = self.generation.wrapping_add(1);
        }
    }

    /// Sets the voice-portal passcode (a new credential generation).
    pub fn set_passcode(&mut self, passcode: Option<String>) {
        self.passcode = passcode;
        self.generation = self.generation.wrapping_add(1);
    }

    /// Checks `candidate` at `now` and updates the failure counter and lock.
    ///
    /// An expired-but-correct password is not a failed attempt: the user knows the secret,
    /// and counting it would lock people out for trying the password they were told to use.
    pub fn check(
        &mut self,
        candidate: &str,
        secret: Secret,
        policy: &PasswordPolicy,
        now: OffsetDateTime,
    ) -> Verdict {
        if self.locked {
            return Verdict::Locked;
        }
        let expected = match secret {
            Secret::Portal => Some(self.portal.as_str()),
            Secret::Passcode => self.passcode.as_deref(),
        };
        if expected != Some(candidate) {
            self.failed_attempts = self.failed_attempts.saturating_add(1);
            if policy.lockout_threshold > 0 && self.failed_attempts >= policy.lockout_threshold {
                self.lock();
            }
            return Verdict::WrongPassword;
        }
        // Expiry applies to the portal password; the passcode has no expiry in this model.
        if secret == Secret::Portal
            && let Some(days_ago) = self.days_since_expiry(now)
        {
            if policy.enforce_password_change_on_expiry {
                return Verdict::ExpiredEnforced { days_ago };
            }
            self.failed_attempts = 0;
            return Verdict::Expired { days_ago };
        }
        self.failed_attempts = 0;
        let days_to_expiry = self.days_to_expiry(now);
        Verdict::Ok {
            days_to_expiry,
            expiring_soon: days_to_expiry.is_some_and(|d| d <= policy.warning_days),
        }
    }

    /// Whole days (rounded down) until the password expires; `None` if it never does or
    /// already has.
    pub fn days_to_expiry(&self, now: OffsetDateTime) -> Option<i64> {
        let exp = self.expires_at?;
        (exp > now).then(|| (exp - now).whole_days())
    }

    /// Whole days (rounded down) since expiry; `Some(0)` from the expiry instant on.
    pub fn days_since_expiry(&self, now: OffsetDateTime) -> Option<i64> {
        let exp = self.expires_at?;
        (exp <= now).then(|| (now - exp).whole_days())
    }

    /// Sets a new portal password and restarts its lifetime per `policy`.
    pub fn set_portal(&mut self, new: &str, policy: &PasswordPolicy, now: OffsetDateTime) {
        self.portal = new.to_owned();
        self.generation = self.generation.wrapping_add(1);
        self.expires_at = policy
            .expires_after_days
            .map(|d| now + StdDuration::from_secs(u64::from(d) * 86_400));
        self.failed_attempts = 0;
    }

    /// Clears the lock and the failure counter.
    pub fn unlock(&mut self) {
        self.locked = false;
        self.failed_attempts = 0;
    }
}

/// Checks a new portal password against the Xsi `Password` type (1–60 characters).
pub fn check_password_text(text: &str) -> Result<(), PasswordError> {
    let n = text.chars().count();
    if (1..=60).contains(&n) && !text.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(PasswordError::InvalidNewPassword)
    }
}

/// Checks a voice-portal passcode (4–30 digits).
pub fn check_passcode_text(text: &str) -> Result<(), PasswordError> {
    if (4..=30).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PasswordError::InvalidPasscode)
    }
}

/// Why a password change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The old password given does not match.
    #[error("old password does not match")]
    OldPasswordMismatch,
    /// The new password breaks the rules (1–60 characters, no control characters).
    #[error("new password must be 1-60 characters without control characters")]
    InvalidNewPassword,
    /// The new password equals the current one.
    #[error("new password must differ from the current one")]
    SameAsOld,
    /// A passcode must be 4–30 digits.
    #[error("passcode must be 4-30 digits")]
    InvalidPasscode,
    /// No such user or administrator.
    #[error("no such account")]
    NoSuchAccount,
}

/// The outcome of a login attempt, with the account when it is allowed in.
///
/// Xsi refuses [`WrongPassword`](Self::WrongPassword), [`UnknownUser`](Self::UnknownUser),
/// [`Locked`](Self::Locked) and [`ExpiredEnforced`](Self::ExpiredEnforced) with the same
/// 401; they stay distinct here so the IdP proxy and the journal can say more.
#[derive(Clone, Debug)]
pub enum AuthOutcome<P> {
    /// Accepted.
    Ok {
        /// The account.
        user: P,
        /// Whole days until the password expires (rounded down), if it expires.
        days_to_expiry: Option<i64>,
        /// Expires within the warning window (≤ 10 days by default): show a warning.
        expiring_soon: bool,
    },
    /// Known account, wrong secret.
    WrongPassword,
    /// No account with that login id (nothing is counted).
    UnknownUser,
    /// The account is locked after too many failures.
    Locked,
    /// Expired and `enforcePasswordChangeOnExpiry` is on: refused like a wrong password.
    ExpiredEnforced {
        /// Whole days since expiry.
        days_ago: i64,
    },
    /// Expired but not enforced: allowed; the caller decides whether to warn or refuse.
    Expired {
        /// The account.
        user: P,
        /// Whole days since expiry.
        days_ago: i64,
    },
}

impl<P> AuthOutcome<P> {
    /// The account, when the login is allowed (`Ok` or non-enforced `Expired`).
    pub fn user(&self) -> Option<&P> {
        match self {
            Self::Ok { user, .. } | Self::Expired { user, .. } => Some(user),
            _ => None,
        }
    }

    /// Whether BroadWorks lets this login in.
    pub fn is_allowed(&self) -> bool {
        self.user().is_some()
    }

    /// Short machine-readable name (journal, metrics).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ok { .. } => "ok",
            Self::WrongPassword => "wrong-password",
            Self::UnknownUser => "unknown-user",
            Self::Locked => "locked",
            Self::ExpiredEnforced { .. } => "expired-enforced",
            Self::Expired { .. } => "expired",
        }
    }

    pub(crate) fn from_verdict(v: Verdict, user: P) -> Self {
        match v {
            Verdict::Ok {
                days_to_expiry,
                expiring_soon,
            } => Self::Ok {
                user,
                days_to_expiry,
                expiring_soon,
            },
            Verdict::WrongPassword => Self::WrongPassword,
            Verdict::Locked => Self::Locked,
            Verdict::ExpiredEnforced { days_ago } => Self::ExpiredEnforced { days_ago },
            Verdict::Expired { days_ago } => Self::Expired { user, days_ago },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn basic_both_encodings() {
        let h = encode_basic("alice@lab.example", "pä:ss", AuthEncoding::Utf8).unwrap();
        let utf8 = decode_basic(&h, AuthEncoding::Utf8).unwrap();
        assert_eq!(utf8.login, "alice@lab.example");
        assert_eq!(utf8.password, "pä:ss");
        // The XSP default mangles a browser's UTF-8 password: 'ä' becomes "Ã¤".
        let latin = decode_basic(&h, AuthEncoding::Iso8859_1).unwrap();
        assert_eq!(latin.password, "pÃ¤:ss");
        // A client that really sends ISO-8859-1 works under the default.
        let h = encode_basic("bob", "pä", AuthEncoding::Iso8859_1).unwrap();
        assert_eq!(
            decode_basic(&h, AuthEncoding::Iso8859_1).unwrap().password,
            "pä"
        );
        assert_eq!(
            decode_basic(&h, AuthEncoding::Utf8),
            Err(BasicAuthError::BadUtf8)
        );
    }

    #[test]
    fn basic_malformed() {
        use BasicAuthError::*;
        assert_eq!(
            decode_basic("Bearer abc", AuthEncoding::Utf8),
            Err(NotBasic)
        );
        assert_eq!(decode_basic("", AuthEncoding::Utf8), Err(NotBasic));
        assert_eq!(
            decode_basic("Basic !!!", AuthEncoding::Utf8),
            Err(BadBase64)
        );
        assert_eq!(
            decode_basic("Basic bm9jb2xvbg==", AuthEncoding::Utf8),
            Err(NoColon)
        );
        assert_eq!(
            decode_basic("basic   YTpi  ", AuthEncoding::Utf8).unwrap(),
            BasicCredentials {
                login: "a".into(),
                password: "b".into()
            }
        );
        // Missing padding is tolerated.
        assert_eq!(
            decode_basic("Basic YTpi", AuthEncoding::Utf8)
                .unwrap()
                .login,
            "a"
        );
        assert_eq!(
            decode_basic("Basic YTpiYw", AuthEncoding::Utf8)
                .unwrap()
                .password,
            "bc"
        );
    }

    fn policy(enforce: bool) -> PasswordPolicy {
        PasswordPolicy {
            enforce_password_change_on_expiry: enforce,
            lockout_threshold: 3,
            ..PasswordPolicy::default()
        }
    }

    #[test]
    fn expiry_boundaries() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let mut s = PasswordState::new("pw");
        s.expires_at = Some(now + StdDuration::from_secs(10 * 86_400));
        let p = policy(false);
        assert_eq!(
            s.check("pw", Secret::Portal, &p, now),
            Verdict::Ok {
                days_to_expiry: Some(10),
                expiring_soon: true
            }
        );
        s.expires_at = Some(now + StdDuration::from_secs(11 * 86_400));
        assert_eq!(
            s.check("pw", Secret::Portal, &p, now),
            Verdict::Ok {
                days_to_expiry: Some(11),
                expiring_soon: false
            }
        );
        s.expires_at = Some(now);
        assert_eq!(
            s.check("pw", Secret::Portal, &p, now),
            Verdict::Expired { days_ago: 0 }
        );
        assert_eq!(
            s.check("pw", Secret::Portal, &policy(true), now),
            Verdict::ExpiredEnforced { days_ago: 0 }
        );
    }

    #[test]
    fn lockout_and_reset() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let p = policy(false);
        let mut s = PasswordState::new("pw");
        assert_eq!(
            s.check("x", Secret::Portal, &p, now),
            Verdict::WrongPassword
        );
        assert_eq!(
            s.check("x", Secret::Portal, &p, now),
            Verdict::WrongPassword
        );
        assert!(matches!(
            s.check("pw", Secret::Portal, &p, now),
            Verdict::Ok { .. }
        ));
        assert_eq!(s.failed_attempts, 0);
        for _ in 0..3 {
            assert_eq!(
                s.check("x", Secret::Portal, &p, now),
                Verdict::WrongPassword
            );
        }
        assert!(s.locked);
        assert_eq!(s.check("pw", Secret::Portal, &p, now), Verdict::Locked);
        s.unlock();
        assert!(matches!(
            s.check("pw", Secret::Portal, &p, now),
            Verdict::Ok { .. }
        ));
    }

    #[test]
    fn passcode_is_separate() {
        let now = datetime!(2026-01-01 0:00 UTC);
        let p = policy(false);
        let mut s = PasswordState::new("pw");
        assert_eq!(
            s.check("1234", Secret::Passcode, &p, now),
            Verdict::WrongPassword
        );
        s.passcode = Some("1234".into());
        assert!(matches!(
            s.check("1234", Secret::Passcode, &p, now),
            Verdict::Ok { .. }
        ));
        assert_eq!(
            s.check("pw", Secret::Passcode, &p, now),
            Verdict::WrongPassword
        );
    }
}
