//! Test lab: PKI, model, one XSP node, the cloud fakes, and a small HTTPS client that
//! connects to a host's listener with SNI and certificate checks for that host name.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bwlab_cloud::{AuthServiceTarget, BwTokenMode, Cloud, CloudHandle, StorePolicySource};
use bwlab_core::{Journal, LabClock};
use bwlab_model::Store;
use bwlab_pki::rustls::ClientConfig;
use bwlab_pki::rustls::pki_types::ServerName;
use bwlab_pki::{ClientOptions, LabPki, PkiConfig};
use bwlab_profiles::Profiles;
use bwlab_xsp::{
    AuthKeys, AuthServiceSettings, CiFuture, CiTokenValidator, HttpCiValidator, XspHandle, XspNode,
    XspSettings,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use time::OffsetDateTime;

pub const IDP: &str = "broadworks-idp-proxy-a.wbx2.com";
pub const CI_US: &str = "idbroker.webex.com";
pub const CI_EU: &str = "idbroker-eu.webex.com";
pub const ORG: &str = "1eb65fdf-9643-417f-9974-ad72cae0e10f";
pub const XSI: &str = "https://xsp1.lab.example/com.broadsoft.xsi-actions/v2.0";

pub const LAB_YAML: &str = r#"
system:
  enforcePasswordChangeOnExpiry: true
  lockoutThreshold: 0
enterprises:
  - id: acme
    defaultDomain: lab.example
    groups:
      - {id: hq}
users:
  - userId: alice@lab.example
    group: hq
    firstName: Alice
    lastName: Liddell
    password: Alice-pw1
    passwordExpiresInDays: 30
    alternateIds: [alice@acme.example]
    email: alice@acme.example
  - userId: walt@lab.example
    group: hq
    firstName: Walt
    lastName: Warned
    password: Walt-pw1
    passwordExpiresInDays: 7
  - userId: erin@lab.example
    group: hq
    firstName: Erin
    lastName: Expired
    password: Erin-pw1
    email: erin@acme.example
"#;

pub struct Lab {
    pub pki: LabPki,
    pub store: Store,
    pub clock: LabClock,
    pub journal: Journal,
    pub xsp: XspHandle,
    pub cloud: CloudHandle,
}

/// A `CiTokenValidator` whose target is known only once the cloud runs.
#[derive(Default)]
pub struct LateValidator(pub OnceLock<HttpCiValidator>);

impl CiTokenValidator for LateValidator {
    fn validate<'a>(&'a self, token: &'a str) -> CiFuture<'a> {
        Box::pin(async move {
            match self.0.get() {
                Some(v) => v.validate(token).await,
                None => Err(bwlab_xsp::CiError::Unavailable("not wired".into())),
            }
        })
    }
}

impl Lab {
    pub async fn start() -> Lab {
        Self::start_with(None).await
    }

    /// `authservice`: run the XSP's AuthService in that mode and point the proxy's
    /// `bwtoken/fetch` at it.
    pub async fn start_with(authservice: Option<BwTokenMode>) -> Lab {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let clock = LabClock::frozen_at(now);
        let pki = LabPki::generate(PkiConfig::example(now)).expect("pki");
        let store = Store::from_yaml_str(LAB_YAML, "cloud-test.yaml", clock.clone()).expect("lab");
        // Erin's password expired 3 days and a few hours ago.
        let erin = store.find_user("erin@lab.example").unwrap();
        store
            .set_password_expiry(
                erin.idx,
                Some(now - time::Duration::days(3) - time::Duration::hours(2)),
            )
            .unwrap();
        let journal = Journal::with_limits(clock.clone(), 10_000, 64 * 1024);
        let profile = Profiles::builtin().get("r24").expect("profile").clone();
        let late = Arc::new(LateValidator::default());
        // Create the key pair up front: lazy creation is the XSP's own test subject, and
        // under a loaded CI machine it could outlast the proxy's 2 s timeout here.
        let keys = AuthKeys::new();
        keys.ensure().expect("RSA key pair");
        let auth_settings = authservice.map(|mode| match mode {
            BwTokenMode::CiToken => AuthServiceSettings::ci(keys.clone(), late.clone()),
            BwTokenMode::Mtls => AuthServiceSettings::mtls(keys.clone()),
        });
        let xsp = XspNode::builder("xsp1")
            .identity(pki.node("xsp1").expect("xsp1 identity").clone())
            .store(store.clone())
            .profile(profile)
            .journal(journal.clone())
            .clock(clock.clone())
            .settings(XspSettings {
                client_trust_anchors: pki.webex_trust_anchors(),
                authservice: auth_settings,
                ..XspSettings::default()
            })
            .start()
            .await
            .expect("xsp starts");
        let mut builder = Cloud::builder();
        if let Some(mode) = authservice {
            let (connect, identity) = match mode {
                BwTokenMode::CiToken => (xsp.https_addr(), None),
                BwTokenMode::Mtls => (xsp.mtls_addr().unwrap(), Some(pki.webex_client().clone())),
            };
            builder = builder.authservice(AuthServiceTarget {
                url: "https://xsp1.lab.example/authService".into(),
                connect: Some(connect),
                mode,
                client_identity: identity,
            });
        }
        let cloud = builder
            .pki(&pki)
            .journal(journal.clone())
            .clock(clock.clone())
            .xsi_base_url(XSI)
            .xsi_trust(pki.lab_trust_bundle())
            .xsi_connect(xsp.https_addr())
            .password_policy(Arc::new(StorePolicySource(store.clone())))
            .partner_org_id(ORG)
            .start()
            .await
            .expect("cloud starts");
        let mut opts = ClientOptions::new(pki.lab_trust_bundle());
        opts.key_log = false;
        let _ = late.0.set(HttpCiValidator::new(
            cloud.addr(IDP).unwrap(),
            IDP,
            bwlab_cloud::PATH_AUTHENTICATE,
            bwlab_pki::client_config(&opts).unwrap(),
        ));
        Lab {
            pki,
            store,
            clock,
            journal,
            xsp,
            cloud,
        }
    }

    pub fn tls(&self) -> Arc<ClientConfig> {
        let mut opts = ClientOptions::new(self.pki.lab_trust_bundle());
        opts.key_log = false;
        bwlab_pki::client_config(&opts).expect("client config")
    }

    /// One request to `host` (SNI and certificate name = `host`).
    pub async fn call(
        &self,
        host: &str,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let addr = self.cloud.addr(host).expect("host is served");
        request(self.tls(), addr, host, method, path, headers, body)
            .await
            .expect("request")
    }

    pub async fn authenticate(&self, body: &str) -> Reply {
        self.call(
            IDP,
            Method::POST,
            bwlab_cloud::PATH_AUTHENTICATE,
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await
    }

    pub async fn login(&self, user: &str, password: &str) -> Reply {
        self.authenticate(&serde_json::json!({"userId": user, "password": password}).to_string())
            .await
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub json: Value,
    pub text: String,
}

pub async fn request(
    tls: Arc<ClientConfig>,
    addr: SocketAddr,
    server_name: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let tls = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from(server_name.to_owned()).unwrap(), tcp)
        .await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", server_name);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
    let resp = sender
        .send_request(req)
        .await
        .map_err(std::io::Error::other)?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Reply {
        status,
        content_type,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    })
}
