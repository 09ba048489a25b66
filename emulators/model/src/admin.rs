//! Administrators: system, service provider / enterprise and group level.
//!
//! Admins authenticate with their own login and password (the same lockout and expiry
//! rules as users) and may act on the users in their scope. The flow-through provisioning
//! account is a system-level admin of type `Provisioning`, not read-only.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::ids::{AdminIdx, EnterpriseIdx, GroupIdx};
use crate::password::PasswordState;
use crate::user::User;

/// What an administrator administers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdminScope {
    /// Everything.
    System,
    /// One service provider / enterprise and all its groups.
    ServiceProvider(EnterpriseIdx),
    /// One group.
    Group(EnterpriseIdx, GroupIdx),
}

/// BroadWorks administrator type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AdminType {
    /// Full administrator of its level.
    #[default]
    Normal,
    /// System-level provisioning account (OCI-P; used by flow-through provisioning).
    Provisioning,
    /// Service-provider customer administrator (limited).
    Customer,
    /// May only reset passwords.
    PasswordResetOnly,
}

/// An administrator.
#[derive(Debug)]
pub struct Admin {
    /// Slot in the store.
    pub idx: AdminIdx,
    /// Login id (shares the namespace with user ids).
    pub login: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// What it administers.
    pub scope: AdminScope,
    /// Administrator type.
    pub admin_type: AdminType,
    /// Read-only admins may look but not change.
    pub read_only: bool,
    /// Language.
    pub language: String,
    pub(crate) password: Mutex<PasswordState>,
}

impl Admin {
    /// Whether `user` is within this administrator's scope.
    pub fn can_access_user(&self, user: &User) -> bool {
        match self.scope {
            AdminScope::System => true,
            AdminScope::ServiceProvider(e) => user.enterprise == e,
            AdminScope::Group(_, g) => user.group == g,
        }
    }

    /// Whether this administrator may change `user` (in scope, not read-only, and not a
    /// password-reset-only admin).
    pub fn can_modify_user(&self, user: &User) -> bool {
        self.can_access_user(user)
            && !self.read_only
            && self.admin_type != AdminType::PasswordResetOnly
    }

    /// Whether this administrator may reset `user`'s password or unlock it.
    pub fn can_reset_password(&self, user: &User) -> bool {
        self.can_access_user(user) && !self.read_only
    }

    /// A snapshot of the password state.
    pub fn password_state(&self) -> PasswordState {
        self.password.lock().clone()
    }
}
