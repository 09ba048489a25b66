//! Consistency of account and service state under concurrent or interleaved requests, over
//! real TLS sockets: partial PUTs racing on one service never lose each other's fields, and
//! a session cookie stops working once the account behind it is locked, has its password
//! changed or reset, or its password expires under enforcement.

mod common;

use bwlab_model::services::{CallForwardingNoAnswer, DoNotDisturb};
use bwlab_model::{PasswordPolicy, Store};
use common::{Client, Lab, user_path};

const XML: &[(&str, &str)] = &[("content-type", "application/xml")];

fn dnd(field: &str, value: bool) -> String {
    format!(
        r#"<DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><{field}>{value}</{field}></DoNotDisturb>"#
    )
}

async fn clients(lab: &Lab, n: usize) -> Vec<Client> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(
            lab.client()
                .await
                .with_auth("alice@lab.example", "Alice-pw1"),
        );
    }
    v
}

/// Many rounds of two partial PUTs on disjoint fields of the same service, sent at the same
/// time on separate connections: after each round both fields carry the PUT values.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_partial_puts_keep_every_field() {
    let lab = Lab::start().await;
    let idx = lab.store.find_user("alice@lab.example").unwrap().idx;
    let path = user_path("alice@lab.example", "services/DoNotDisturb");
    let mut cs = clients(&lab, 8).await;
    for round in 0..40 {
        let on = round % 2 == 0;
        // Start every round from the opposite of what the PUTs will set.
        lab.store
            .put_service(
                idx,
                DoNotDisturb {
                    active: !on,
                    ring_splash: !on,
                },
            )
            .unwrap();
        let mut tasks = Vec::new();
        for (i, mut c) in cs.drain(..).enumerate() {
            let path = path.clone();
            let body = dnd(if i % 2 == 0 { "active" } else { "ringSplash" }, on);
            tasks.push(tokio::spawn(async move {
                let r = c.put(&path, XML, &body).await;
                assert_eq!(r.status, 200, "{r:?}");
                c
            }));
        }
        for t in tasks {
            cs.push(t.await.unwrap());
        }
        let d: DoNotDisturb = lab.store.service(idx).unwrap();
        assert_eq!(
            (d.active, d.ring_splash),
            (on, on),
            "round {round}: a concurrent PUT lost a field"
        );
    }
    // Three fields of Call Forwarding No Answer, three writers, one read at the end.
    let path = user_path("alice@lab.example", "services/CallForwardingNoAnswer");
    let bodies = [
        "<numberOfRings>6</numberOfRings>",
        "<forwardToPhoneNumber>+15550100199</forwardToPhoneNumber>",
        "<active>false</active>",
    ];
    let mut tasks = Vec::new();
    for (mut c, b) in cs.drain(..).zip(bodies) {
        let path = path.clone();
        let body = format!(
            r#"<CallForwardingNoAnswer xmlns="http://schema.broadsoft.com/xsi">{b}</CallForwardingNoAnswer>"#
        );
        tasks.push(tokio::spawn(async move {
            let r = c.put(&path, XML, &body).await;
            assert_eq!(r.status, 200, "{r:?}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s: CallForwardingNoAnswer = lab.store.service(idx).unwrap();
    assert_eq!(s.number_of_rings, 6);
    assert_eq!(s.forward_to_phone_number.as_deref(), Some("+15550100199"));
    assert!(!s.active);
}

/// A client that logged in and keeps its cookie: the first request opens the session, the
/// second uses it.
async fn open_session(lab: &Lab, login: &str, password: &str) -> (Client, String) {
    let mut c = lab.client().await.with_auth(login, password);
    let path = user_path("alice@lab.example", "profile");
    let r = c.get(&path).await;
    assert_eq!(r.status, 200, "{r:?}");
    let cookie = r
        .header("set-cookie")
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let r = c.get_with(&path, &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(last_auth(lab).as_deref(), Some("session"));
    (c, cookie)
}

fn last_auth(lab: &Lab) -> Option<String> {
    lab.journal
        .entries()
        .iter()
        .rev()
        .find(|e| e.attr("path").is_some_and(|p| p.contains("/profile")))
        .and_then(|e| e.attr("auth").map(str::to_owned))
}

async fn refused_after(lab: &Lab, change: impl FnOnce(&Store), expected_auth: &str) {
    let (mut c, cookie) = open_session(lab, "alice@lab.example", "Alice-pw1").await;
    let before = lab.xsp.session_count();
    change(&lab.store);
    let path = user_path("alice@lab.example", "profile");
    let r = c.get_with(&path, &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 401, "{expected_auth}: {r:?}");
    assert!(r.header("set-cookie").is_none(), "{r:?}");
    assert_eq!(last_auth(lab).as_deref(), Some(expected_auth));
    assert_eq!(
        lab.xsp.session_count(),
        before - 1,
        "the stale session is gone"
    );
}

#[tokio::test]
async fn session_stops_after_lock() {
    let lab = Lab::start().await;
    refused_after(
        &lab,
        |s| {
            let a = s.find_user("alice@lab.example").unwrap().idx;
            s.lock(a).unwrap();
        },
        "session-stale-locked",
    )
    .await;
    // Unlocking does not revive the old cookie's session, but the same credentials log in.
    let a = lab.store.find_user("alice@lab.example").unwrap().idx;
    lab.store.unlock(a).unwrap();
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let r = c.get(&user_path("alice@lab.example", "profile")).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn session_stops_after_password_change_and_reset() {
    let lab = Lab::start().await;
    let now = lab.clock.now();
    refused_after(
        &lab,
        |s| {
            let a = s.find_user("alice@lab.example").unwrap().idx;
            s.change_password(a, Some("Alice-pw1"), "Alice-pw2", now)
                .unwrap();
        },
        "session-stale-wrong-password",
    )
    .await;
    // A reset to the *same* password still ends sessions opened before it: the credential
    // generation changed, and the fresh check with the unchanged header succeeds and
    // opens a new session.
    let (mut c, cookie) = open_session(&lab, "alice@lab.example", "Alice-pw2").await;
    let a = lab.store.find_user("alice@lab.example").unwrap().idx;
    lab.store.reset_password(a, "Alice-pw2", now).unwrap();
    let r = c
        .get_with(
            &user_path("alice@lab.example", "profile"),
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.header("set-cookie").is_some(), "a new session: {r:?}");
    assert_eq!(last_auth(&lab).as_deref(), Some("session-stale-ok"));
    lab.store.reset_password(a, "Alice-pw3", now).unwrap();
    let r = c
        .get_with(
            &user_path("alice@lab.example", "profile"),
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(r.status, 401, "{r:?}");
}

#[tokio::test]
async fn session_stops_when_the_password_expires_under_enforcement() {
    let lab = Lab::start().await;
    // Without enforcement an expired password keeps working, in a session or not.
    lab.store.set_enforce_password_change_on_expiry(false);
    let (mut c, cookie) = open_session(&lab, "alice@lab.example", "Alice-pw1").await;
    let a = lab.store.find_user("alice@lab.example").unwrap().idx;
    let past = lab.clock.now() - time::Duration::days(1);
    lab.store.set_password_expiry(a, Some(past)).unwrap();
    let path = user_path("alice@lab.example", "profile");
    let r = c.get_with(&path, &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(last_auth(&lab).as_deref(), Some("session"));
    // With enforcement (the lab file's setting) the same cookie is refused.
    lab.store.set_policy(&PasswordPolicy {
        enforce_password_change_on_expiry: true,
        ..lab.store.policy()
    });
    let r = c.get_with(&path, &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        last_auth(&lab).as_deref(),
        Some("session-stale-expired-enforced")
    );
}

#[tokio::test]
async fn admin_session_stops_after_lock_by_threshold() {
    let lab = Lab::start().await;
    let (mut c, cookie) = open_session(&lab, "hq-admin@lab.example", "Hq-pw1").await;
    // Another client guesses wrong until the admin account locks.
    lab.store.set_policy(&PasswordPolicy {
        lockout_threshold: 3,
        ..lab.store.policy()
    });
    let mut guesser = lab
        .client()
        .await
        .with_auth("hq-admin@lab.example", "guess");
    for _ in 0..3 {
        let r = guesser
            .get(&user_path("alice@lab.example", "profile"))
            .await;
        assert_eq!(r.status, 401);
    }
    let r = c
        .get_with(
            &user_path("alice@lab.example", "profile"),
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(last_auth(&lab).as_deref(), Some("session-stale-locked"));
}
