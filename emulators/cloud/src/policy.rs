//! Where the IdP proxy learns *why* a password is not simply valid.
//!
//! Xsi-Actions tells the proxy only two things: `401` (wrong password, unknown user,
//! locked, or expired with `enforcePasswordChangeOnExpiry=true` — all byte-identical on
//! the wire) or `200` with a profile whose `passwordExpiresDays` is present while the
//! password has not yet expired. An expired password under a non-enforcing policy also
//! gets `200`, with no `passwordExpiresDays` at all, so the "password got expired x days
//! ago" message needs a second source. The real proxy has one (BroadWorks' login
//! interfaces report the reason); the representation is not in the sources (§12.4), so the
//! lab plugs it in through this trait, implemented from the model by [`StorePolicySource`].
//!
//! The credential check itself never goes through this trait: it is always an Xsi request.

use bwlab_model::Store;

/// Password facts about one BroadWorks login.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PasswordStatus {
    /// Whole days until expiry, if the password expires in the future.
    pub days_to_expiry: Option<i64>,
    /// Whole days since expiry, if the password has expired.
    pub expired_days_ago: Option<i64>,
    /// `enforcePasswordChangeOnExpiry`.
    pub enforced: bool,
}

/// Supplies [`PasswordStatus`] for a login id (user id or alternate id).
pub trait PasswordPolicySource: Send + Sync + 'static {
    /// `None` when the login is unknown.
    fn password_status(&self, login: &str) -> Option<PasswordStatus>;
}

/// [`PasswordPolicySource`] reading the lab model (`Store`), on the store's lab clock.
#[derive(Clone)]
pub struct StorePolicySource(pub Store);

impl PasswordPolicySource for StorePolicySource {
    fn password_status(&self, login: &str) -> Option<PasswordStatus> {
        let user = self.0.find_user(login)?;
        let now = self.0.now();
        let pw = user.password_state();
        Some(PasswordStatus {
            days_to_expiry: pw.days_to_expiry(now),
            expired_days_ago: pw.days_since_expiry(now),
            enforced: self.0.policy().enforce_password_change_on_expiry,
        })
    }
}
