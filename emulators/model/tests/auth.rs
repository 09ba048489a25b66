//! Password policy through the store: expiry warning boundary, expired with and without
//! enforcement, lockout and unlock, passcodes, password changes. Time moves only through
//! the lab clock (no sleeps).

use std::time::Duration;

use bwlab_core::clock::LabClock;
use bwlab_model::{
    AuthEncoding, AuthOutcome, LabData, PasswordError, Store, decode_basic, encode_basic,
};
use time::OffsetDateTime;
use time::macros::datetime;

const DAY: Duration = Duration::from_secs(86_400);
const T0: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

fn lab(enforce: bool) -> (Store, LabClock) {
    let clock = LabClock::frozen_at(T0);
    let store = LabData::builder()
        .system(|s| {
            s.enforce_password_change_on_expiry(enforce)
                .lockout_threshold(3)
                .password_expires_after_days(30)
        })
        .enterprise("e", |e| {
            e.group("g", |g| {
                g.user("alice@lab.example", |u| {
                    u.name("Alice", "L")
                        .password("pw-alice")
                        .password_expires(T0 + 12 * DAY)
                        .number("+15550100")
                        .passcode("2468")
                        .alternate_id("alice@corp.example")
                })
                .user("bob@lab.example", |u| {
                    u.name("Bob", "L")
                        .password("pw-bob")
                        .password_expires_in_days(-3)
                })
                .user("utf@lab.example", |u| u.name("U", "T").password("grüße"))
            })
        })
        .admin("admin@lab.example", "pw-admin", |a| a)
        .build(clock.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    (store, clock)
}

fn days(o: &AuthOutcome<std::sync::Arc<bwlab_model::User>>) -> (Option<i64>, bool) {
    match o {
        AuthOutcome::Ok {
            days_to_expiry,
            expiring_soon,
            ..
        } => (*days_to_expiry, *expiring_soon),
        other => panic!("expected Ok, got {}", other.name()),
    }
}

#[test]
fn warning_window_boundary() {
    let (s, clock) = lab(true);
    let login = |s: &Store| s.authenticate("alice@lab.example", "pw-alice", clock.now());
    assert_eq!(days(&login(&s)), (Some(12), false));
    clock.advance(DAY);
    assert_eq!(
        days(&login(&s)),
        (Some(11), false),
        "11 days: no warning yet"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        days(&login(&s)),
        (Some(10), true),
        "just under 11 days counts as 10"
    );
    clock.advance(DAY - Duration::from_secs(1));
    assert_eq!(
        days(&login(&s)),
        (Some(10), true),
        "exactly 10 days: warning"
    );
    clock.advance(10 * DAY - Duration::from_secs(1));
    assert_eq!(days(&login(&s)), (Some(0), true), "last second");
    let alice = s.find_user("alice@lab.example").unwrap();
    assert_eq!(s.days_to_expiry(alice.idx, clock.now()).unwrap(), Some(0));
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        login(&s),
        AuthOutcome::ExpiredEnforced { days_ago: 0 }
    ));
    assert_eq!(s.days_to_expiry(alice.idx, clock.now()).unwrap(), None);
}

#[test]
fn expired_enforced_versus_not() {
    let (s, clock) = lab(true);
    let now = clock.now();
    match s.authenticate("bob@lab.example", "pw-bob", now) {
        AuthOutcome::ExpiredEnforced { days_ago } => assert_eq!(days_ago, 3),
        other => panic!("{}", other.name()),
    }
    // Refused like a wrong password: not allowed, no user handed out.
    let o = s.authenticate("bob@lab.example", "pw-bob", now);
    assert!(!o.is_allowed() && o.user().is_none());

    let (s, clock) = lab(false);
    match s.authenticate("bob@lab.example", "pw-bob", clock.now()) {
        AuthOutcome::Expired { user, days_ago } => {
            assert_eq!(days_ago, 3);
            assert_eq!(user.user_id, "bob@lab.example");
        }
        other => panic!("{}", other.name()),
    }
    // The scenario flips the system flag at run time.
    s.set_enforce_password_change_on_expiry(true);
    assert!(s.policy().enforce_password_change_on_expiry);
    assert!(matches!(
        s.authenticate("bob@lab.example", "pw-bob", clock.now()),
        AuthOutcome::ExpiredEnforced { .. }
    ));
    // A wrong password for an expired account is still just wrong.
    assert!(matches!(
        s.authenticate("bob@lab.example", "nope", clock.now()),
        AuthOutcome::WrongPassword
    ));
}

#[test]
fn lockout_counts_failures_and_unlock_resets() {
    let (s, clock) = lab(false);
    let now = clock.now();
    let try_ = |pw: &str| s.authenticate("alice@corp.example", pw, now);
    assert!(matches!(try_("x"), AuthOutcome::WrongPassword));
    assert!(matches!(try_("x"), AuthOutcome::WrongPassword));
    assert!(try_("pw-alice").is_allowed(), "success resets the counter");
    let alice = s.find_user("alice@lab.example").unwrap();
    assert_eq!(alice.password_state().failed_attempts, 0);
    for _ in 0..3 {
        assert!(matches!(try_("x"), AuthOutcome::WrongPassword));
    }
    assert!(
        matches!(try_("pw-alice"), AuthOutcome::Locked),
        "locked at the threshold"
    );
    assert!(
        matches!(
            s.authenticate("+15550100", "2468", now),
            AuthOutcome::Locked
        ),
        "the passcode is locked out too"
    );
    s.unlock(alice.idx).unwrap();
    assert!(try_("pw-alice").is_allowed());
    s.lock(alice.idx).unwrap();
    assert!(matches!(try_("pw-alice"), AuthOutcome::Locked));
    // Unknown users are not counted anywhere.
    assert!(matches!(
        s.authenticate("ghost@lab.example", "x", now),
        AuthOutcome::UnknownUser
    ));
}

#[test]
fn directory_number_with_passcode_only() {
    let (s, clock) = lab(false);
    let now = clock.now();
    assert!(s.authenticate("+15550100", "2468", now).is_allowed());
    assert!(s.authenticate("15550100", "2468", now).is_allowed());
    assert!(matches!(
        s.authenticate("+15550100", "pw-alice", now),
        AuthOutcome::WrongPassword
    ));
    assert!(matches!(
        s.authenticate("alice@lab.example", "2468", now),
        AuthOutcome::WrongPassword
    ));
    let alice = s.find_user("alice@lab.example").unwrap();
    s.set_passcode(alice.idx, "13579").unwrap();
    assert!(s.authenticate("+15550100", "13579", now).is_allowed());
    assert_eq!(
        s.set_passcode(alice.idx, "12a"),
        Err(PasswordError::InvalidPasscode)
    );
}

#[test]
fn change_password_restarts_expiry() {
    let (s, clock) = lab(true);
    let bob = s.find_user("bob@lab.example").unwrap();
    let now = clock.now();
    assert_eq!(
        s.change_password(bob.idx, Some("wrong"), "new-pw", now),
        Err(PasswordError::OldPasswordMismatch)
    );
    assert_eq!(
        s.change_password(bob.idx, None, "pw-bob", now),
        Err(PasswordError::SameAsOld)
    );
    assert_eq!(
        s.change_password(bob.idx, None, "", now),
        Err(PasswordError::InvalidNewPassword)
    );
    s.change_password(bob.idx, Some("pw-bob"), "new-pw", now)
        .unwrap();
    assert_eq!(
        days(&s.authenticate("bob@lab.example", "new-pw", now)),
        (Some(30), false)
    );
    assert!(matches!(
        s.authenticate("bob@lab.example", "pw-bob", now),
        AuthOutcome::WrongPassword
    ));
    // Admin reset and explicit expiry moves.
    s.reset_password(bob.idx, "reset-pw", now).unwrap();
    s.set_password_expiry(bob.idx, Some(now - DAY)).unwrap();
    assert!(matches!(
        s.authenticate("bob@lab.example", "reset-pw", clock.now()),
        AuthOutcome::ExpiredEnforced { days_ago: 1 }
    ));
    s.set_password_expiry(bob.idx, None).unwrap();
    assert_eq!(
        days(&s.authenticate("bob@lab.example", "reset-pw", now)),
        (None, false)
    );
}

#[test]
fn basic_header_encodings_end_to_end() {
    let (s, clock) = lab(false);
    let now = clock.now();
    let browser = encode_basic("utf@lab.example", "grüße", AuthEncoding::Utf8).unwrap();
    let xsp_default = decode_basic(&browser, AuthEncoding::Iso8859_1).unwrap();
    assert_eq!(
        xsp_default.password, "grÃ¼Ã\u{9f}e",
        "each UTF-8 byte became one character"
    );
    assert!(matches!(
        s.authenticate(&xsp_default.login, &xsp_default.password, now),
        AuthOutcome::WrongPassword
    ));
    let utf8 = decode_basic(&browser, AuthEncoding::Utf8).unwrap();
    assert!(
        s.authenticate(&utf8.login, &utf8.password, now)
            .is_allowed()
    );
    // Plain ASCII works either way.
    let ascii = encode_basic("alice@lab.example", "pw-alice", AuthEncoding::Utf8).unwrap();
    for enc in [AuthEncoding::Iso8859_1, AuthEncoding::Utf8] {
        let c = decode_basic(&ascii, enc).unwrap();
        assert!(s.authenticate(&c.login, &c.password, now).is_allowed());
    }
}

#[test]
fn admin_lockout_and_unlock() {
    let (s, clock) = lab(false);
    let now = clock.now();
    for _ in 0..3 {
        assert!(matches!(
            s.authenticate_admin("admin@lab.example", "x", now),
            AuthOutcome::WrongPassword
        ));
    }
    assert!(matches!(
        s.authenticate_admin("admin@lab.example", "pw-admin", now),
        AuthOutcome::Locked
    ));
    assert!(s.unlock_admin("admin@lab.example"));
    assert!(
        s.authenticate_admin("admin@lab.example", "pw-admin", now)
            .is_allowed()
    );
}
