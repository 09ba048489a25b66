//! `GET /idp/bwtoken/fetch`: CI token in, BroadWorks JWT out, via the XSP's AuthService.

mod common;

use base64::Engine as _;
use bwlab_cloud::{BwTokenMode, PATH_BWTOKEN_FETCH, SCOPE_BROADWORKS_USER};
use common::{IDP, Lab, ORG, request};
use hyper::Method;

fn jwt_sub(jwt: &str) -> String {
    let payload = jwt.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("claims");
    v["sub"].as_str().unwrap().to_owned()
}

async fn fetch(lab: &Lab, auth: &str) -> common::Reply {
    lab.call(
        IDP,
        Method::GET,
        PATH_BWTOKEN_FETCH,
        &[("authorization", auth)],
        b"",
    )
    .await
}

async fn xsi_profile_with(lab: &Lab, jwt: &str) -> u16 {
    request(
        lab.tls(),
        lab.xsp.https_addr(),
        "xsp1.lab.example",
        Method::GET,
        "/com.broadsoft.xsi-actions/v2.0/user/alice@lab.example/profile",
        &[("authorization", &format!("Bearer {jwt}"))],
        b"",
    )
    .await
    .unwrap()
    .status
}

#[tokio::test]
async fn ci_mode_login_then_fetch_gives_a_working_broadworks_jwt() {
    let lab = Lab::start_with(Some(BwTokenMode::CiToken)).await;
    let login = lab.login("alice@acme.example", "Alice-pw1").await;
    assert_eq!(login.status, 200, "{login:?}");
    let ci_token = login.json["accessToken"].as_str().unwrap();

    // Scheme name matched case-insensitively.
    let r = fetch(&lab, &format!("bearer {ci_token}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let jwt = r.json["token"]["bearer"]
        .as_str()
        .expect("token.bearer")
        .to_owned();
    assert_eq!(jwt_sub(&jwt), "alice@lab.example");
    assert_eq!(xsi_profile_with(&lab, &jwt).await, 200);
}

#[tokio::test]
async fn ci_mode_refusals() {
    let lab = Lab::start_with(Some(BwTokenMode::CiToken)).await;
    let ci = lab.cloud.ci();

    let r = lab
        .call(IDP, Method::GET, PATH_BWTOKEN_FETCH, &[], b"")
        .await;
    assert_eq!(r.status, 401, "{r:?}");

    let r = fetch(&lab, "Bearer not-a-token").await;
    assert_eq!(
        (r.status, r.json["reason"].as_str()),
        (401, Some("unknown"))
    );

    // Valid CI token without the BroadWorks scope: AuthService refuses.
    let no_scope = ci.issue_token(
        "alice@acme.example",
        ORG,
        &["spark:all"],
        time::Duration::hours(1),
    );
    let r = fetch(&lab, &format!("Bearer {no_scope}")).await;
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(r.json["error"], "authservice_refused");

    let short = ci.issue_token(
        "alice@acme.example",
        ORG,
        &[SCOPE_BROADWORKS_USER],
        time::Duration::minutes(5),
    );
    lab.clock.advance(std::time::Duration::from_secs(600));
    let r = fetch(&lab, &format!("Bearer {short}")).await;
    assert_eq!(
        (r.status, r.json["reason"].as_str()),
        (401, Some("expired"))
    );
}

#[tokio::test]
async fn mtls_mode_fetch_uses_the_webex_client_certificate() {
    let lab = Lab::start_with(Some(BwTokenMode::Mtls)).await;
    let ci_token = lab.cloud.ci().issue(bwlab_cloud::TokenSpec {
        broadworks_user_id: Some("alice@lab.example".into()),
        ..bwlab_cloud::TokenSpec::user(
            "alice@acme.example",
            ORG,
            &[SCOPE_BROADWORKS_USER],
            time::Duration::hours(1),
        )
    });
    let r = fetch(&lab, &format!("Bearer {ci_token}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let jwt = r.json["token"]["bearer"].as_str().unwrap().to_owned();
    assert_eq!(jwt_sub(&jwt), "alice@lab.example");
    assert_eq!(xsi_profile_with(&lab, &jwt).await, 200);
}
