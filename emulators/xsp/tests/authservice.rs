//! AuthService over real sockets: BroadWorks JWTs issued in CI-token-validation and mTLS
//! modes, bearer authentication on Xsi-Actions (expiry on the lab clock, shared and
//! non-shared key sets, nodes without the AuthService URL), release-profile gating, and the
//! 60-second single-use LoginToken/DeviceToken.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use bwlab_core::{Filter, Kind};
use bwlab_xsp::{
    AuthKeys, AuthServiceSettings, CI_VALIDATION_UNSUPPORTED_CODE, CiIdentity, Interface,
    StaticCiValidator, WebAppClientAuth, XspError, XspHandle, XspNode, XspSettings,
};
use bytes::Bytes;
use common::{Client, Lab, LabOptions, basic, user_path};
use hyper::Method;
use serde_json::Value;

const TOKEN_PATH: &str = "/authService/token";
const ORG1: &str = "11111111-2222-3333-4444-555555555555";
const ORG2: &str = "66666666-7777-8888-9999-000000000000";

/// One key set for the whole test binary (RSA key generation is slow).
fn shared_keys() -> AuthKeys {
    static KEYS: OnceLock<AuthKeys> = OnceLock::new();
    KEYS.get_or_init(AuthKeys::new).clone()
}

fn identity(user: &str, org: &str, scopes: &[&str]) -> CiIdentity {
    CiIdentity {
        user: user.into(),
        org_id: org.into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn validator() -> Arc<StaticCiValidator> {
    let v = StaticCiValidator::new();
    // Alice is known to CI by her email (also her BroadWorks alternate ID).
    v.insert(
        "ci-alice",
        identity(
            "alice@acme.example",
            ORG1,
            &["spark:all", "broadworks-connector:user"],
        ),
    );
    v.insert(
        "ci-bob-dms-scope",
        identity("bob@lab.example", ORG1, &["broadworks-connector-user"]),
    );
    v.insert(
        "ci-bob-noscope",
        identity("bob@lab.example", ORG1, &["spark:all"]),
    );
    v.insert(
        "ci-bob-org2",
        identity("bob@lab.example", ORG2, &["broadworks-connector:user"]),
    );
    Arc::new(v)
}

fn ci_settings(keys: AuthKeys) -> XspSettings {
    XspSettings {
        authservice: Some(AuthServiceSettings::ci(keys, validator())),
        ..Default::default()
    }
}

async fn ci_lab(profile: &'static str) -> Lab {
    Lab::start_with(LabOptions {
        profile,
        settings: ci_settings(shared_keys()),
        ..Default::default()
    })
    .await
}

/// A second node on the same store, clock, journal and certificate as `lab`'s.
async fn extra_node(
    lab: &Lab,
    name: &str,
    mut settings: XspSettings,
) -> Result<XspHandle, XspError> {
    settings.client_trust_anchors = lab.pki.webex_trust_anchors();
    XspNode::builder(name)
        .identity(lab.pki.node("xsp1").expect("identity").clone())
        .store(lab.store.clone())
        .profile(
            bwlab_profiles::Profiles::builtin()
                .get("r24")
                .expect("profile")
                .clone(),
        )
        .journal(lab.journal.clone())
        .clock(lab.clock.clone())
        .settings(settings)
        .start()
        .await
}

async fn client_to(lab: &Lab, node: &XspHandle) -> Client {
    Client::connect(node.https_addr(), lab.client_config(None))
        .await
        .expect("connect")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn fetch_token(c: &mut Client, path: &str, auth: &str) -> common::Reply {
    c.get_with(path, &[("authorization", auth)]).await
}

fn token_of(reply: &common::Reply) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(v["tokenType"], "Bearer");
    v["token"].as_str().expect("token").to_owned()
}

fn claims(jwt: &str) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap()
}

#[tokio::test]
async fn ci_token_is_issued_and_accepted_until_it_expires() {
    let lab = ci_lab("r24").await;
    let mut c = lab.client().await;
    let reply = fetch_token(&mut c, TOKEN_PATH, &bearer("ci-alice")).await;
    let jwt = token_of(&reply);
    let v: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["expiresIn"], 720 * 3600);
    assert_eq!(v["userId"], "alice@lab.example");
    let cl = claims(&jwt);
    assert_eq!(cl["iss"], "BroadWorks");
    assert_eq!(cl["sub"], "alice@lab.example");
    assert_eq!(cl["iat"], lab.clock.now().unix_timestamp());
    assert_eq!(
        cl["exp"].as_i64().unwrap() - cl["iat"].as_i64().unwrap(),
        720 * 3600
    );
    assert!(cl["jti"].as_str().is_some_and(|j| !j.is_empty()));

    let profile = user_path("alice@lab.example", "profile");
    let r = c
        .get_with(&profile, &[("authorization", &bearer(&jwt))])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().contains("<userId>alice@lab.example</userId>"));
    // The scheme is case-insensitive.
    let r = c
        .get_with(&profile, &[("authorization", &format!("bEARER {jwt}"))])
        .await;
    assert_eq!(r.status, 200);
    // A bearer is still only the `sub` user.
    let bob = user_path("bob@lab.example", "profile");
    let r = c.get_with(&bob, &[("authorization", &bearer(&jwt))]).await;
    assert_eq!(r.status, 403);
    // The /v2.0/ form of the AuthService URL works too.
    let r = fetch_token(&mut c, "/authService/v2.0/token", &bearer("ci-alice")).await;
    token_of(&r);

    let entry = lab
        .journal
        .query(&Filter::kind(Kind::Http).attr("token", "issued"))
        .into_iter()
        .next()
        .expect("issue journalled");
    assert_eq!(entry.attr("sub"), Some("alice@lab.example"));
    assert_eq!(entry.attr("mode"), Some("ci"));

    // Bearer requests get a session cookie (load balancers keep affinity on it), and the
    // same token always names the same session: a client that never sends the cookie back
    // does not grow the session table.
    let before = lab.xsp.session_count();
    let mut cookies = Vec::new();
    for _ in 0..5 {
        let r = c
            .get_with(&profile, &[("authorization", &bearer(&jwt))])
            .await;
        assert_eq!(r.status, 200);
        cookies.push(r.header("set-cookie").map(str::to_owned));
    }
    assert!(
        cookies[0]
            .as_deref()
            .is_some_and(|c| c.starts_with("JSESSIONID="))
    );
    assert!(cookies.windows(2).all(|w| w[0] == w[1]), "{cookies:?}");
    assert!(lab.xsp.session_count() <= before + 1);

    lab.clock.advance(Duration::from_secs(719 * 3600));
    let r = c
        .get_with(&profile, &[("authorization", &bearer(&jwt))])
        .await;
    assert_eq!(r.status, 200);
    lab.clock.advance(Duration::from_secs(2 * 3600));
    let r = c
        .get_with(&profile, &[("authorization", &bearer(&jwt))])
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.text().contains("ErrorInfo"));
}

#[tokio::test]
async fn ci_mode_refusals() {
    let lab = ci_lab("r24").await;
    let mut c = lab.client().await;
    // No credentials, unknown CI token, missing scope.
    assert_eq!(c.get(TOKEN_PATH).await.status, 401);
    assert_eq!(
        fetch_token(&mut c, TOKEN_PATH, &bearer("ci-unknown"))
            .await
            .status,
        401
    );
    assert_eq!(
        fetch_token(&mut c, TOKEN_PATH, &bearer("ci-bob-noscope"))
            .await
            .status,
        401
    );
    // The DMS spelling of the scope is accepted (first org pinned: ORG1).
    token_of(&fetch_token(&mut c, TOKEN_PATH, &bearer("ci-bob-dms-scope")).await);
    // A second partner org on the same node is refused.
    let r = fetch_token(&mut c, TOKEN_PATH, &bearer("ci-bob-org2")).await;
    assert_eq!(r.status, 403, "{r:?}");
    // Basic credentials are not a CI token.
    let r = fetch_token(&mut c, TOKEN_PATH, &basic("bob@lab.example", "Bob-pw1")).await;
    assert_eq!(r.status, 401);
    // Naming another user than the CI identity is out of scope.
    let r = fetch_token(
        &mut c,
        &format!("{TOKEN_PATH}?user=alice@lab.example"),
        &bearer("ci-bob-dms-scope"),
    )
    .await;
    assert_eq!(r.status, 403);
    for reason in ["ci-token-invalid", "ci-scope-missing", "ci-second-org"] {
        assert!(
            !lab.journal
                .query(
                    &Filter::kind(Kind::Http)
                        .attr("token", "refused")
                        .attr("reason", reason)
                )
                .is_empty(),
            "{reason} journalled"
        );
    }
    // Only POST-less GET is defined.
    let r = c
        .request(
            Method::POST,
            TOKEN_PATH,
            &[("authorization", &bearer("ci-alice"))],
            Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn ci_validation_is_refused_on_r22_unpatched() {
    let lab = ci_lab("r22-unpatched").await;
    let mut c = lab.client().await;
    let r = fetch_token(&mut c, TOKEN_PATH, &bearer("ci-alice")).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        r.text().contains(&format!(
            "<errorCode>{CI_VALIDATION_UNSUPPORTED_CODE}</errorCode>"
        )),
        "{r:?}"
    );
    assert!(r.text().contains("r22-unpatched"));
}

#[tokio::test]
async fn ci_validation_needs_client_auth_off_on_the_web_app() {
    let mut settings = ci_settings(shared_keys());
    settings.webapp_client_auth = vec![WebAppClientAuth {
        interface: Interface::Https,
        context_path: "/authService".into(),
        required: true,
    }];
    let lab = Lab::start_with(LabOptions {
        profile: "r24",
        settings,
        ..Default::default()
    })
    .await;
    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut c = Client::connect(lab.xsp.https_addr(), webex).await.unwrap();
    let r = fetch_token(&mut c, TOKEN_PATH, &bearer("ci-alice")).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        !lab.journal
            .query(&Filter::kind(Kind::Http).attr("reason", "ci-client-cert-on"))
            .is_empty()
    );
}

#[tokio::test]
async fn key_sets_shared_or_not_and_the_authservice_url() {
    let lab = ci_lab("r24").await;
    let mut a = lab.client().await;
    let jwt = token_of(&fetch_token(&mut a, TOKEN_PATH, &bearer("ci-alice")).await);
    let profile = user_path("alice@lab.example", "profile");
    let auth = bearer(&jwt);

    // Shared keys: accepted on another node.
    let shared = extra_node(&lab, "xsp2", ci_settings(shared_keys()))
        .await
        .unwrap();
    let mut c = client_to(&lab, &shared).await;
    assert_eq!(
        c.get_with(&profile, &[("authorization", &auth)])
            .await
            .status,
        200
    );

    // Non-shared keys: the other node creates its own pair on first need (`?key=`), and
    // refuses the first node's token.
    let own = AuthKeys::new();
    let other = extra_node(&lab, "xsp3", ci_settings(own.clone()))
        .await
        .unwrap();
    let mut c = client_to(&lab, &other).await;
    let r = c.get_with(&profile, &[("authorization", &auth)]).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(!own.is_created());
    let bad_key = fetch_token(
        &mut c,
        &format!("{TOKEN_PATH}?key=***"),
        &bearer("ci-alice"),
    )
    .await;
    assert_eq!(bad_key.status, 400, "{bad_key:?}");
    // The first token request with the caller's public key creates the pair; the answer is
    // the token encrypted for that key.
    let caller = common::jwe::Caller::new();
    let key = caller.key_param();
    let own_jwt = caller
        .decrypt(&token_of(
            &fetch_token(
                &mut c,
                &format!("{TOKEN_PATH}?key={key}"),
                &bearer("ci-alice"),
            )
            .await,
        ))
        .expect("JWE for the caller's key");
    assert!(own.is_created());
    assert!(
        lab.journal
            .query(
                &Filter::kind(Kind::Http)
                    .node("xsp3")
                    .attr("token", "issued")
            )
            .iter()
            .any(|e| e.attr("key_created") == Some("true"))
    );
    assert_eq!(
        c.get_with(&profile, &[("authorization", &bearer(&own_jwt))])
            .await
            .status,
        200
    );
    let mut a = lab.client().await;
    assert_eq!(
        a.get_with(&profile, &[("authorization", &bearer(&own_jwt))])
            .await
            .status,
        401
    );

    // Same keys but no AuthService URL on the node: bearer refused there.
    let mut no_url = ci_settings(shared_keys());
    no_url.authservice_url_configured = false;
    let no_url = extra_node(&lab, "xsp4", no_url).await.unwrap();
    let mut c = client_to(&lab, &no_url).await;
    assert_eq!(
        c.get_with(&profile, &[("authorization", &auth)])
            .await
            .status,
        401
    );
    // Basic still works there.
    let r = c
        .get_with(
            &profile,
            &[("authorization", &basic("alice@lab.example", "Alice-pw1"))],
        )
        .await;
    assert_eq!(r.status, 200);

    // Same keys, different issuer configured: wrong `iss`.
    let mut other_iss = ci_settings(shared_keys());
    other_iss.authservice.as_mut().unwrap().token_issuer = "SomeoneElse".into();
    let other_iss = extra_node(&lab, "xsp5", other_iss).await.unwrap();
    let mut c = client_to(&lab, &other_iss).await;
    assert_eq!(
        c.get_with(&profile, &[("authorization", &auth)])
            .await
            .status,
        401
    );

    // Malformed and tampered tokens.
    let mut a = lab.client().await;
    for t in ["garbage.token.here", "a.b", &format!("{jwt}x")] {
        let r = a.get_with(&profile, &[("authorization", &bearer(t))]).await;
        assert_eq!(r.status, 401, "{t}");
    }
    // A node without AuthService at all keeps /authService reserved and refuses bearers.
    let none = extra_node(&lab, "xsp6", XspSettings::default())
        .await
        .unwrap();
    let mut c = client_to(&lab, &none).await;
    assert_eq!(
        c.get_with(&profile, &[("authorization", &auth)])
            .await
            .status,
        401
    );
    assert_eq!(c.get(TOKEN_PATH).await.status, 501);
}

#[tokio::test]
async fn mtls_mode_issues_with_the_webex_certificate_and_refuses_basic() {
    let lab = Lab::start_with(LabOptions {
        profile: "r24",
        settings: XspSettings {
            authservice: Some(AuthServiceSettings::mtls(shared_keys())),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mtls = lab.xsp.mtls_addr().expect("mtls listener");
    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut w = Client::connect(mtls, webex).await.unwrap();
    let path = format!("{TOKEN_PATH}?user=bob@lab.example&orgId={ORG2}");
    let r = w.get(&path).await;
    let jwt = token_of(&r);
    assert_eq!(claims(&jwt)["sub"], "bob@lab.example");
    // Several orgs are fine in mTLS mode.
    token_of(
        &w.get(&format!("{TOKEN_PATH}?user=alice@lab.example&orgId={ORG1}"))
            .await,
    );
    // The token works on the TLS interface's Xsi-Actions.
    let mut c = lab.client().await;
    let r = c
        .get_with(
            &user_path("bob@lab.example", "profile"),
            &[("authorization", &bearer(&jwt))],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Basic callers are refused, with or without the certificate.
    let bob = basic("bob@lab.example", "Bob-pw1");
    assert_eq!(fetch_token(&mut w, &path, &bob).await.status, 403);
    assert_eq!(fetch_token(&mut c, &path, &bob).await.status, 403);
    // Without the client certificate (TLS interface) and without naming a user.
    assert_eq!(c.get(&path).await.status, 403);
    assert_eq!(w.get(TOKEN_PATH).await.status, 400);
    assert_eq!(
        w.get(&format!("{TOKEN_PATH}?user=nobody@x")).await.status,
        404
    );
    let entry = lab
        .journal
        .query(
            &Filter::kind(Kind::Http)
                .attr("token", "issued")
                .attr("mode", "mtls"),
        )
        .into_iter()
        .next()
        .expect("journalled");
    assert_eq!(entry.attr("sub"), Some("bob@lab.example"));
    assert!(
        !lab.journal
            .query(&Filter::kind(Kind::Http).attr("reason", "basic-refused-mtls"))
            .is_empty()
    );
}

#[tokio::test]
async fn token_duration_is_validated_and_applied() {
    let lab = Lab::start().await;
    let mut s = AuthServiceSettings::mtls(shared_keys());
    s.token_duration_hours = 4321;
    let settings = XspSettings {
        authservice: Some(s.clone()),
        ..Default::default()
    };
    match extra_node(&lab, "xsp2", settings).await {
        Err(XspError::Config { message, .. }) => assert!(message.contains("4321"), "{message}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("4321 hours accepted"),
    }
    s.token_duration_hours = 4320;
    let node = extra_node(
        &lab,
        "xsp3",
        XspSettings {
            authservice: Some(s),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut w = Client::connect(node.mtls_addr().unwrap(), webex)
        .await
        .unwrap();
    let r = w.get(&format!("{TOKEN_PATH}?user=bob@lab.example")).await;
    let cl = claims(&token_of(&r));
    assert_eq!(
        cl["exp"].as_i64().unwrap() - cl["iat"].as_i64().unwrap(),
        4320 * 3600
    );
}

async fn post(c: &mut Client, path: String) -> common::Reply {
    c.request(Method::POST, &path, &[], Bytes::new())
        .await
        .unwrap()
}

fn sso_token(reply: &common::Reply, root: &str) -> String {
    let text = reply.text();
    assert!(
        text.contains(&format!(
            "<{root} xmlns=\"http://schema.broadsoft.com/xsi\""
        )),
        "{text}"
    );
    let start = text.find("<token>").expect("token") + "<token>".len();
    let end = text.find("</token>").unwrap();
    text[start..end].to_owned()
}

#[tokio::test]
async fn login_and_device_tokens_are_single_use_and_expire_after_60_s() {
    let lab = Lab::start_with(LabOptions {
        profile: "r24",
        settings: XspSettings {
            authservice: Some(AuthServiceSettings::mtls(shared_keys())),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let login = user_path("alice@lab.example", "profile/LoginToken");
    let r = post(&mut c, login.clone()).await;
    assert_eq!(r.status, 201, "{r:?}");
    let token = sso_token(&r, "LoginToken");
    let mut anon = lab.client().await;
    let profile = user_path("alice@lab.example", "profile");
    let auth = bearer(&token);
    assert_eq!(
        anon.get_with(&profile, &[("authorization", &auth)])
            .await
            .status,
        200
    );
    assert_eq!(
        anon.get_with(&profile, &[("authorization", &auth)])
            .await
            .status,
        401
    );
    // GET works too; a token older than 60 s is refused.
    let r = c.get(&login).await;
    assert_eq!(r.status, 200);
    let token = sso_token(&r, "LoginToken");
    lab.clock.advance(Duration::from_secs(61));
    let r = anon
        .get_with(&profile, &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(r.status, 401);
    // JSON form.
    let r = c.get(&format!("{login}?format=json")).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("\"LoginToken\""), "{r:?}");

    // Only for yourself or a managed user.
    let mut bob = lab.client().await.with_auth("bob@lab.example", "Bob-pw1");
    assert_eq!(post(&mut bob, login.clone()).await.status, 403);
    let mut admin = lab
        .client()
        .await
        .with_auth("hq-admin@lab.example", "Hq-pw1");
    assert_eq!(post(&mut admin, login.clone()).await.status, 201);

    // DeviceToken: only with a device.
    let device = user_path("alice@lab.example", "profile/DeviceToken");
    let r = post(
        &mut c,
        format!("{device}?deviceName=alice-8851&deviceLevel=Group"),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    let dt = sso_token(&r, "DeviceToken");
    assert_eq!(
        lab.xsp.redeem_device_token(&dt).as_deref(),
        Some("alice@lab.example")
    );
    assert_eq!(lab.xsp.redeem_device_token(&dt), None);
    let dt = sso_token(&post(&mut c, device.clone()).await, "DeviceToken");
    lab.clock.advance(Duration::from_secs(60));
    assert_eq!(lab.xsp.redeem_device_token(&dt), None);
    // A device token is not a login token.
    let dt = sso_token(&post(&mut c, device.clone()).await, "DeviceToken");
    assert_eq!(
        anon.get_with(&profile, &[("authorization", &bearer(&dt))])
            .await
            .status,
        401
    );
    assert_eq!(
        post(&mut c, format!("{device}?deviceName=not-hers"))
            .await
            .status,
        404
    );
    let bob_device = user_path("bob@lab.example", "profile/DeviceToken");
    assert_eq!(post(&mut bob, bob_device).await.status, 404);
    let r = c
        .request(Method::DELETE, &login, &[], Bytes::new())
        .await
        .unwrap();
    assert_eq!(r.status, 405);
}

/// A minimal HTTPS token-info endpoint: `Bearer good` is active with the connector scope,
/// `Bearer expired` is inactive, anything else is a 500.
async fn token_info_server(lab: &Lab) -> std::net::SocketAddr {
    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    let tls = bwlab_pki::server_config(
        lab.pki.node("xsp2").expect("identity"),
        &bwlab_pki::ServerOptions::default(),
    )
    .expect("tls");
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let (status, body) = match auth {
                        "Bearer good" => (
                            200,
                            format!(
                                r#"{{"active":true,"email":"alice@acme.example","org_id":"{ORG1}","scope":"spark:all broadworks-connector:user"}}"#
                            ),
                        ),
                        "Bearer expired" => {
                            (200, r#"{"active":false,"reason":"expired"}"#.to_owned())
                        }
                        _ => (500, "{}".to_owned()),
                    };
                    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
                    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                    Ok::<_, std::convert::Infallible>(resp)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn ci_mode_with_https_token_introspection() {
    let boot = Lab::start().await;
    let addr = token_info_server(&boot).await;
    let validator = bwlab_xsp::HttpCiValidator::new(
        addr,
        "xsp2.lab.example",
        "/idb/oauth2/v1/tokeninfo",
        boot.client_config(None),
    );
    let node = extra_node(
        &boot,
        "xsp-ci",
        XspSettings {
            authservice: Some(AuthServiceSettings::ci(shared_keys(), Arc::new(validator))),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut c = client_to(&boot, &node).await;
    let jwt = token_of(&fetch_token(&mut c, TOKEN_PATH, &bearer("good")).await);
    assert_eq!(claims(&jwt)["sub"], "alice@lab.example");
    assert_eq!(
        fetch_token(&mut c, TOKEN_PATH, &bearer("expired"))
            .await
            .status,
        401
    );
    // CI answering 5xx: the AuthService cannot validate (503).
    assert_eq!(
        fetch_token(&mut c, TOKEN_PATH, &bearer("other"))
            .await
            .status,
        503
    );
}

#[tokio::test]
async fn mtls_mode_on_the_tls_interface_needs_per_web_app_client_auth_r24() {
    let settings = || XspSettings {
        authservice: Some(AuthServiceSettings::mtls(shared_keys())),
        webapp_client_auth: vec![WebAppClientAuth {
            interface: Interface::Https,
            context_path: "/authService".into(),
            required: true,
        }],
        ..Default::default()
    };
    let path = format!("{TOKEN_PATH}?user=bob@lab.example");
    // R24 honours the per-web-app rule: the Webex certificate is asked for on `https`.
    let lab = Lab::start_with(LabOptions {
        profile: "r24",
        settings: settings(),
        ..Default::default()
    })
    .await;
    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut w = Client::connect(lab.xsp.https_addr(), webex).await.unwrap();
    token_of(&w.get(&path).await);
    drop(lab);
    // R22 ignores it: on `https` the web app does not require certificates, so mTLS mode
    // refuses there.
    let lab = Lab::start_with(LabOptions {
        profile: "r22",
        settings: settings(),
        ..Default::default()
    })
    .await;
    let webex = lab.client_config(Some(lab.pki.webex_client().clone()));
    let mut w = Client::connect(lab.xsp.https_addr(), webex).await.unwrap();
    let r = w.get(&path).await;
    assert_eq!(r.status, 403, "{r:?}");
}

#[tokio::test]
async fn basic_mode_issues_the_callers_own_token() {
    let lab = Lab::start_with(LabOptions {
        profile: "r22-unpatched",
        settings: XspSettings {
            authservice: Some(AuthServiceSettings::new(
                shared_keys(),
                bwlab_xsp::AuthServiceMode::Basic,
            )),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut c = lab.client().await;
    let alice = basic("alice@lab.example", "Alice-pw1");
    let jwt = token_of(&fetch_token(&mut c, TOKEN_PATH, &alice).await);
    assert_eq!(claims(&jwt)["sub"], "alice@lab.example");
    assert_eq!(claims(&jwt)["bwmode"], "basic");
    let wrong = basic("alice@lab.example", "nope");
    assert_eq!(fetch_token(&mut c, TOKEN_PATH, &wrong).await.status, 401);
    let admin = basic("hq-admin@lab.example", "Hq-pw1");
    assert_eq!(fetch_token(&mut c, TOKEN_PATH, &admin).await.status, 403);
    let r = fetch_token(
        &mut c,
        &format!("{TOKEN_PATH}?user=bob@lab.example"),
        &alice,
    )
    .await;
    assert_eq!(r.status, 403);
}
