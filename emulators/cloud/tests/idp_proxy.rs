//! The BroadWorks IdP proxy against a real XSP node, over real HTTPS sockets.

mod common;

use std::sync::Arc;

use bwlab_cloud::{
    Cloud, LOGIN_FAILED_MESSAGE, PATH_AUTHENTICATE, PATH_PING, parse_authenticate_request,
};
use bwlab_core::{Filter, Kind};
use common::{IDP, Lab, ORG};
use hyper::Method;
use proptest::prelude::*;

const EXACT_100006: &str = "The login attempt failed. The combination of the User ID and password provided does not match our records or your password needs to be updated. Try again or contact your administrator to update the password. Error code 100006";

#[test]
fn message_is_the_guide_text() {
    assert_eq!(LOGIN_FAILED_MESSAGE, EXACT_100006);
}

#[tokio::test]
async fn ping_answers() {
    let lab = Lab::start().await;
    let r = lab.call(IDP, Method::GET, PATH_PING, &[], b"").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["status"], "UP");
    let r = lab.call(IDP, Method::DELETE, PATH_PING, &[], b"").await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn correct_password_logs_in_through_xsi_and_mints_a_ci_token() {
    let lab = Lab::start().await;
    let xsi_before = lab
        .journal
        .query(&Filter::kind(Kind::Http).node("xsp1"))
        .len();
    // The alternate id (email) works as the login, as on BroadWorks.
    let r = lab.login("alice@acme.example", "Alice-pw1").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["result"], "success");
    assert_eq!(r.json["userId"], "alice@lab.example");
    assert_eq!(r.json["email"], "alice@acme.example");
    assert_eq!(r.json["passwordExpiresDays"], 30);
    assert!(r.json.get("warning").is_none(), "{r:?}");
    // The check went over the network to the XSP.
    let xsi = lab.journal.query(&Filter::kind(Kind::Http).node("xsp1"));
    assert!(xsi.len() > xsi_before, "no Xsi request reached the XSP");
    let token = r.json["accessToken"].as_str().unwrap();
    let info = lab.cloud.ci().introspect(token);
    assert!(info.active);
    assert_eq!(info.org_id.as_deref(), Some(ORG));
    assert_eq!(
        info.broadworks_user_id.as_deref(),
        Some("alice@lab.example")
    );
    assert!(info.scopes().contains(&"broadworks-connector:user"));
}

#[tokio::test]
async fn wrong_password_gets_error_100006() {
    let lab = Lab::start().await;
    for (user, pw) in [("alice@lab.example", "wrong"), ("nobody@lab.example", "x")] {
        let r = lab.login(user, pw).await;
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(r.json["message"], EXACT_100006);
        assert_eq!(r.json["errorCode"], 100006);
        assert!(r.json.get("accessToken").is_none());
    }
    let e = lab.journal.query(
        &Filter::kind(Kind::Http)
            .node("idp-proxy")
            .attr("outcome", "100006"),
    );
    assert_eq!(
        e.last().unwrap().attr("reason"),
        Some("invalid-credentials")
    );
}

#[tokio::test]
async fn expiring_in_seven_days_warns_with_seven() {
    let lab = Lab::start().await;
    let r = lab.login("walt@lab.example", "Walt-pw1").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["warning"]["daysLeft"], 7);
    assert!(
        r.json["warning"]["message"]
            .as_str()
            .unwrap()
            .contains("7 days")
    );
    assert!(r.json["accessToken"].is_string());
}

#[tokio::test]
async fn expired_and_enforced_gets_100006() {
    let lab = Lab::start().await;
    assert!(lab.store.policy().enforce_password_change_on_expiry);
    let r = lab.login("erin@lab.example", "Erin-pw1").await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.json["message"], EXACT_100006);
    let e = lab.journal.query(
        &Filter::kind(Kind::Http)
            .node("idp-proxy")
            .attr("outcome", "100006"),
    );
    assert_eq!(e.last().unwrap().attr("reason"), Some("expired-enforced"));
}

#[tokio::test]
async fn expired_not_enforced_depends_on_the_partner_flag() {
    let lab = Lab::start().await;
    lab.store.set_enforce_password_change_on_expiry(false);

    let r = lab.login("erin@lab.example", "Erin-pw1").await;
    assert_eq!(r.status, 200, "flag off → allowed: {r:?}");
    assert_eq!(r.json["result"], "success");

    lab.cloud.set_password_expiry_fail_login(Some(ORG), true);
    let r = lab.login("erin@lab.example", "Erin-pw1").await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.json["message"], "password got expired 3 days ago");
    assert_eq!(r.json["daysAgo"], 3);

    // The flag is per partner: another org is unaffected.
    let other = serde_json::json!({"userId": "erin@lab.example", "password": "Erin-pw1",
        "orgId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"});
    let r = lab.authenticate(&other.to_string()).await;
    assert_eq!(r.status, 200, "{r:?}");

    // Wrong password stays 100006 whatever the flag.
    let r = lab.login("erin@lab.example", "nope").await;
    assert_eq!(r.json["message"], EXACT_100006);
}

#[tokio::test]
async fn malformed_bodies_get_400_json() {
    let lab = Lab::start().await;
    for body in [
        "",
        "{",
        "[]",
        "null",
        r#"{"userId": 5, "password": "x"}"#,
        r#"{"password": "x"}"#,
        r#"{"userId": "a", "password": ""}"#,
        "\u{0}\u{1}garbage",
    ] {
        let r = lab.authenticate(body).await;
        assert_eq!(r.status, 400, "{body:?} → {r:?}");
        assert_eq!(r.json["error"], "invalid_request", "{body:?}");
        assert!(r.json["message"].is_string());
    }
    // Oversized body.
    let big = "x".repeat(bwlab_cloud::MAX_BODY_BYTES + 10);
    let r = lab.authenticate(&big).await;
    assert_eq!(r.status, 413);
    // The server is still alive.
    let r = lab.call(IDP, Method::GET, PATH_PING, &[], b"").await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn unreachable_xsi_is_a_502_not_a_login_failure() {
    let lab = Lab::start().await;
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let cloud = Cloud::builder()
        .pki(&lab.pki)
        .journal(lab.journal.clone())
        .clock(lab.clock.clone())
        .ci_regions(vec![])
        .xsi_base_url(common::XSI)
        .xsi_trust(lab.pki.lab_trust_bundle())
        .xsi_connect(dead_addr)
        .password_policy(Arc::new(bwlab_cloud::StorePolicySource(lab.store.clone())))
        .start()
        .await
        .unwrap();
    let addr = cloud.addr(IDP).unwrap();
    let r = common::request(
        lab.tls(),
        addr,
        IDP,
        Method::POST,
        PATH_AUTHENTICATE,
        &[],
        br#"{"userId":"alice@lab.example","password":"Alice-pw1"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(r.json["error"], "broadworks_unreachable");
    cloud.shutdown().await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn body_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_authenticate_request(&bytes);
    }

    #[test]
    fn body_parser_round_trips_valid_credentials(
        user in "[a-z0-9._@-]{1,40}",
        pw in "[ -~]{1,40}",
    ) {
        let body = serde_json::json!({"userId": user, "password": pw}).to_string();
        let r = parse_authenticate_request(body.as_bytes()).unwrap();
        prop_assert_eq!(r.user_id, user);
        prop_assert_eq!(r.password, pw);
    }
}
