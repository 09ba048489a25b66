//! Push notification registrations of a user (Xsi `profile/PushNotificationRegistrations`).
//!
//! A registration belongs to one app instance (`registration_id`) and carries the device
//! tokens the push network assigned, each with the events it wants. The list lives with
//! the user's call logs and voice messages, behind the same per-user lock.

/// One name/value parameter sent along with a push.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushParam {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// An event a token wants pushed, with its delivery options (all optional: the legacy
/// form carries only the name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushEvent {
    /// Event name, e.g. `NEW_CALL`.
    pub name: String,
    /// Silent push.
    pub silent: Option<bool>,
    /// The client may modify the content.
    pub mutable_content: Option<bool>,
    /// iOS parameters.
    pub ios_params: Option<Vec<PushParam>>,
    /// Android parameters.
    pub android_params: Option<Vec<PushParam>>,
    /// Application data parameters.
    pub app_data_params: Option<Vec<PushParam>>,
}

/// One device token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushToken {
    /// Token assigned by the push network.
    pub token: String,
    /// Token type as sent (`VoIP`, `Normal`), if any.
    pub token_type: Option<String>,
    /// Whether the events were sent in the detailed form (`eventDetail`).
    pub detailed: bool,
    /// Wanted events.
    pub events: Vec<PushEvent>,
}

/// One registration (one app instance of one user).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushRegistration {
    /// Application id.
    pub application_id: String,
    /// Application version.
    pub application_version: String,
    /// Unique per app instance and user.
    pub registration_id: String,
    /// `iOS`, `Android`, ...
    pub device_os_type: String,
    /// OS version.
    pub device_os_version: String,
    /// At least one token.
    pub tokens: Vec<PushToken>,
}

/// Adds `reg`, replacing any registration with the same `registration_id`. Returns whether
/// one was replaced.
pub(crate) fn add(list: &mut Vec<PushRegistration>, reg: PushRegistration) -> bool {
    if let Some(old) = list
        .iter_mut()
        .find(|r| r.registration_id == reg.registration_id)
    {
        *old = reg;
        true
    } else {
        list.push(reg);
        false
    }
}

/// Removes registrations matching `registration_id` (all when `None`); with `token`, only
/// that token is removed from them, and a registration left without tokens goes too.
/// Returns how many registrations or tokens were removed.
pub(crate) fn delete(
    list: &mut Vec<PushRegistration>,
    registration_id: Option<&str>,
    token: Option<&str>,
) -> usize {
    let selected = |r: &PushRegistration| registration_id.is_none_or(|id| r.registration_id == id);
    let mut removed = 0;
    match token {
        None => list.retain(|r| {
            let hit = selected(r);
            removed += usize::from(hit);
            !hit
        }),
        Some(t) => {
            for r in list.iter_mut().filter(|r| selected(r)) {
                let before = r.tokens.len();
                r.tokens.retain(|k| k.token != t);
                removed += before - r.tokens.len();
            }
            list.retain(|r| !r.tokens.is_empty());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(id: &str, tokens: &[&str]) -> PushRegistration {
        PushRegistration {
            application_id: "app".into(),
            registration_id: id.into(),
            tokens: tokens
                .iter()
                .map(|t| PushToken {
                    token: (*t).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn add_replaces_same_registration_id() {
        let mut l = Vec::new();
        assert!(!add(&mut l, reg("a", &["t1"])));
        assert!(!add(&mut l, reg("b", &["t2"])));
        assert!(add(&mut l, reg("a", &["t3"])));
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].tokens[0].token, "t3");
    }

    #[test]
    fn delete_by_id_token_or_all() {
        let mut l = vec![
            reg("a", &["t1", "t2"]),
            reg("b", &["t1"]),
            reg("c", &["t3"]),
        ];
        assert_eq!(delete(&mut l, None, Some("t1")), 2);
        assert_eq!(l.len(), 2, "b lost its only token");
        assert_eq!(delete(&mut l, Some("a"), Some("t2")), 1);
        assert_eq!(delete(&mut l, Some("zz"), None), 0);
        assert_eq!(delete(&mut l, Some("c"), None), 1);
        assert!(l.is_empty());
        let mut l = vec![reg("a", &["t1"]), reg("b", &["t2"])];
        assert_eq!(delete(&mut l, None, None), 2);
        assert!(l.is_empty());
    }
}
