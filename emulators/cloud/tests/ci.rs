//! The fake CI / IdBroker over real HTTPS sockets.

mod common;

use bwlab_cloud::{
    CiError, CiTokenInfoClient, PATH_ACCESS_TOKEN, PATH_REVOKE, PATH_TOKEN_INFO,
    SCOPE_BROADWORKS_USER,
};
use bwlab_core::{Filter, Kind};
use common::{CI_EU, CI_US, IDP, Lab, ORG, request};
use hyper::Method;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

#[tokio::test]
async fn issued_token_introspects_active_with_region_issuer() {
    let lab = Lab::start().await;
    let token = lab.cloud.ci().issue_token(
        "alice@acme.example",
        ORG,
        &[SCOPE_BROADWORKS_USER, "spark:people_read"],
        time::Duration::hours(1),
    );
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_TOKEN_INFO,
            &[FORM],
            format!("access_token={token}").as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.content_type.unwrap().starts_with("application/json"));
    assert_eq!(r.json["active"], true);
    assert_eq!(r.json["email"], "alice@acme.example");
    assert_eq!(r.json["org_id"], ORG);
    assert_eq!(r.json["iss"], "https://idbroker.webex.com/idb");
    assert_eq!(
        r.json["scope"],
        "broadworks-connector:user spark:people_read"
    );
    assert_eq!(r.json["expires_in"], 3600);
    assert_eq!(
        r.json["user_id"],
        bwlab_cloud::ci_user_id("alice@acme.example")
    );

    // Bearer form works too.
    let bearer = format!("Bearer {token}");
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_TOKEN_INFO,
            &[("authorization", &bearer)],
            b"",
        )
        .await;
    assert_eq!(r.json["active"], true, "{r:?}");
}

#[tokio::test]
async fn token_expires_on_the_lab_clock_and_can_be_revoked() {
    let lab = Lab::start().await;
    let ci = lab.cloud.ci();
    let t1 = ci.issue_token(
        "a@acme.example",
        ORG,
        &[SCOPE_BROADWORKS_USER],
        time::Duration::minutes(30),
    );
    let t2 = ci.issue_token(
        "b@acme.example",
        ORG,
        &[SCOPE_BROADWORKS_USER],
        time::Duration::hours(2),
    );
    assert!(ci.introspect(&t1).active);

    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_REVOKE,
            &[FORM],
            format!("token={t2}").as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_TOKEN_INFO,
            &[FORM],
            format!("access_token={t2}").as_bytes(),
        )
        .await;
    assert_eq!(r.json["active"], false);
    assert_eq!(r.json["reason"], "revoked");

    lab.clock.advance(std::time::Duration::from_secs(31 * 60));
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_TOKEN_INFO,
            &[FORM],
            format!("access_token={t1}").as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["active"], false, "{r:?}");
    assert_eq!(r.json["reason"], "expired");
    assert!(r.json.get("email").is_none());

    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_TOKEN_INFO,
            &[FORM],
            b"access_token=nonsense",
        )
        .await;
    assert_eq!(r.json["reason"], "unknown");
    let r = lab
        .call(CI_US, Method::POST, PATH_TOKEN_INFO, &[FORM], b"")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"], "invalid_request");
}

#[tokio::test]
async fn oauth_grants_per_region() {
    let lab = Lab::start().await;
    let ci = lab.cloud.ci();
    ci.add_client(
        "authservice-xsp",
        "s3cret",
        ORG,
        &[SCOPE_BROADWORKS_USER, "Identity:SCIM"],
    );
    ci.add_user(
        "alice@acme.example",
        "Webex-pw1",
        ORG,
        &[SCOPE_BROADWORKS_USER],
    );

    // Client credentials with Basic client authentication on the EU cluster.
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "authservice-xsp:s3cret"
        )
    );
    let r = lab
        .call(
            CI_EU,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM, ("authorization", &basic)],
            b"grant_type=client_credentials&scope=Identity%3ASCIM",
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["scope"], "Identity:SCIM");
    let token = r.json["access_token"].as_str().unwrap().to_owned();
    let info = ci.introspect(&token);
    assert!(info.active);
    assert_eq!(
        info.iss.as_deref(),
        Some("https://idbroker-eu.webex.com/idb")
    );
    assert_eq!(info.client_id.as_deref(), Some("authservice-xsp"));

    // Password grant on US-A.
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            b"grant_type=password&username=alice%40acme.example&password=Webex-pw1",
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let info = ci.introspect(r.json["access_token"].as_str().unwrap());
    assert_eq!(info.email.as_deref(), Some("alice@acme.example"));
    assert_eq!(info.iss.as_deref(), Some("https://idbroker.webex.com/idb"));

    // Refusals.
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            b"grant_type=password&username=alice%40acme.example&password=nope",
        )
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            b"grant_type=client_credentials&client_id=authservice-xsp&client_secret=bad",
        )
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let r = lab
        .call(CI_US, Method::POST, PATH_ACCESS_TOKEN, &[FORM],
            b"grant_type=client_credentials&client_id=authservice-xsp&client_secret=s3cret&scope=spark%3Aall")
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            b"grant_type=implicit",
        )
        .await;
    assert_eq!(r.json["error"], "unsupported_grant_type");
    let r = lab
        .call(CI_US, Method::GET, PATH_ACCESS_TOKEN, &[], b"")
        .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn each_host_presents_a_certificate_for_its_own_name() {
    let lab = Lab::start().await;
    for host in [CI_US, CI_EU, "idbroker-b-us.webex.com", IDP] {
        let addr = lab.cloud.addr(host).unwrap();
        let ok = request(lab.tls(), addr, host, Method::GET, "/nowhere", &[], b"").await;
        assert_eq!(ok.unwrap().status, 404, "{host}");
        // The certificate is for `host` only: another name fails the handshake.
        let wrong = request(
            lab.tls(),
            addr,
            "idbroker-ca.webex.com",
            Method::GET,
            "/",
            &[],
            b"",
        )
        .await;
        assert!(wrong.is_err(), "{host} accepted a wrong server name");
    }
    let tls_refusals = lab.journal.query(&Filter::kind(Kind::Tls).node("ci"));
    assert!(!tls_refusals.is_empty());
}

#[tokio::test]
async fn token_info_client_validates_through_the_idp_proxy() {
    let lab = Lab::start().await;
    let ci = lab.cloud.ci();
    let url = lab.cloud.token_info_url().unwrap();
    assert_eq!(
        url,
        "https://broadworks-idp-proxy-a.wbx2.com/broadworks-idp-proxy/api/v1/idp/authenticate"
    );
    let client = CiTokenInfoClient::new(&url, lab.pki.lab_trust_bundle())
        .unwrap()
        .connect_to(lab.cloud.addr(IDP).unwrap())
        .issuer("https://idbroker.webex.com/idb");

    let good = ci.issue_token(
        "alice@acme.example",
        ORG,
        &[SCOPE_BROADWORKS_USER],
        time::Duration::hours(1),
    );
    let who = client.validate(&good).await.expect("valid token");
    assert_eq!(who.email, "alice@acme.example");
    assert_eq!(who.org_id, ORG);
    assert_eq!(who.scopes, vec![SCOPE_BROADWORKS_USER.to_owned()]);
    assert_eq!(who.user_id, bwlab_cloud::ci_user_id("alice@acme.example"));

    // The DMS spelling of the scope is accepted too (§19.5).
    let alt = ci.issue_token(
        "alice@acme.example",
        ORG,
        &["broadworks-connector-user"],
        time::Duration::hours(1),
    );
    assert!(client.validate(&alt).await.is_ok());

    let wrong_scope = ci.issue_token(
        "alice@acme.example",
        ORG,
        &["spark:all"],
        time::Duration::hours(1),
    );
    assert!(matches!(
        client.validate(&wrong_scope).await,
        Err(CiError::MissingScope { .. })
    ));

    let eu = ci.issue(bwlab_cloud::TokenSpec {
        issuer: Some("https://idbroker-eu.webex.com/idb".into()),
        ..bwlab_cloud::TokenSpec::user(
            "alice@acme.example",
            ORG,
            &[SCOPE_BROADWORKS_USER],
            time::Duration::hours(1),
        )
    });
    assert!(matches!(
        client.validate(&eu).await,
        Err(CiError::WrongIssuer { .. })
    ));

    assert_eq!(
        client.validate("garbage").await,
        Err(CiError::Refused {
            reason: "unknown".into()
        })
    );
    lab.clock.advance(std::time::Duration::from_secs(2 * 3600));
    assert_eq!(
        client.validate(&good).await,
        Err(CiError::Refused {
            reason: "expired".into()
        })
    );
    assert!(ci.revoke(&alt));

    // Hostname is always verified: the CI host's address presents another name.
    let wrong_host = CiTokenInfoClient::new(&url, lab.pki.lab_trust_bundle())
        .unwrap()
        .connect_to(lab.cloud.addr(CI_US).unwrap());
    assert!(matches!(
        wrong_host.validate(&alt).await,
        Err(CiError::Unavailable(_))
    ));

    let entries = lab
        .journal
        .query(&Filter::kind(Kind::Http).node("idp-proxy"));
    assert!(
        entries
            .iter()
            .any(|e| e.attr("outcome") == Some("token-active"))
    );
    assert!(
        entries
            .iter()
            .any(|e| e.attr("outcome") == Some("token-expired"))
    );
}

#[tokio::test]
async fn every_request_is_journalled() {
    let lab = Lab::start().await;
    let before = lab
        .journal
        .query(&Filter::kind(Kind::Http).node("ci"))
        .len();
    lab.call(
        CI_US,
        Method::POST,
        PATH_TOKEN_INFO,
        &[FORM],
        b"access_token=x",
    )
    .await;
    lab.call(CI_EU, Method::GET, "/idb/ping", &[], b"").await;
    let after = lab.journal.query(&Filter::kind(Kind::Http).node("ci"));
    assert_eq!(after.len(), before + 2);
    let last = after.last().unwrap();
    assert_eq!(last.attr("host"), Some(CI_EU));
    assert_eq!(last.attr("status"), Some("200"));
}

#[tokio::test]
async fn refresh_token_must_be_used_within_sixty_days_then_keeps_working() {
    let lab = Lab::start().await;
    let ci = lab.cloud.ci();
    ci.add_client("authservice-xsp", "s3cret", ORG, &[SCOPE_BROADWORKS_USER]);
    let spec = bwlab_cloud::TokenSpec::user(
        "authservice-xsp",
        ORG,
        &[SCOPE_BROADWORKS_USER],
        time::Duration::hours(1),
    );
    let early = ci.issue_refresh_token(
        "authservice-xsp",
        spec.clone(),
        bwlab_cloud::REFRESH_FIRST_USE_WINDOW,
    );
    let late = ci.issue_refresh_token(
        "authservice-xsp",
        spec,
        bwlab_cloud::REFRESH_FIRST_USE_WINDOW,
    );
    let body = |rt: &str| {
        format!(
            "grant_type=refresh_token&refresh_token={rt}&client_id=authservice-xsp&client_secret=s3cret"
        )
    };

    lab.clock
        .advance(std::time::Duration::from_secs(59 * 86_400));
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            body(&early).as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        ci.introspect(r.json["access_token"].as_str().unwrap())
            .active
    );

    lab.clock
        .advance(std::time::Duration::from_secs(2 * 86_400));
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            body(&late).as_bytes(),
        )
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (400, Some("invalid_grant")),
        "{r:?}"
    );
    // Used once in time: still good after the window.
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            body(&early).as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Wrong client secret.
    let bad = body(&early).replace("s3cret", "nope");
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            bad.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 401);
    // Revoked.
    assert!(ci.revoke(&early));
    let r = lab
        .call(
            CI_US,
            Method::POST,
            PATH_ACCESS_TOKEN,
            &[FORM],
            body(&early).as_bytes(),
        )
        .await;
    assert_eq!(r.json["error"], "invalid_grant");
}
