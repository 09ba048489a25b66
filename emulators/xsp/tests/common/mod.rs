//! Shared test harness: a lab (PKI, store, XSP node) and a small keep-alive HTTPS client
//! built on hyper's client connection and tokio-rustls.

#![allow(dead_code)]

pub mod jwe;
pub mod stream;

use std::net::SocketAddr;
use std::sync::Arc;

use bwlab_core::{Journal, LabClock};
use bwlab_model::{AuthEncoding, Store, encode_basic};
use bwlab_pki::rustls::ClientConfig;
use bwlab_pki::rustls::pki_types::ServerName;
use bwlab_pki::{ClientOptions, Identity, LabPki, PkiConfig};
use bwlab_profiles::Profiles;
use bwlab_xsp::{XspHandle, XspNode, XspSettings};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Method, Request};
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;

pub const BASE: &str = "/com.broadsoft.xsi-actions/v2.0";
pub const SERVER_NAME: &str = "xsp1.lab.example";

pub const LAB_YAML: &str = r#"
system:
  enforcePasswordChangeOnExpiry: true
  lockoutThreshold: 0
enterprises:
  - id: acme
    defaultDomain: lab.example
    groups:
      - {id: hq, locationDialingCode: "12"}
      - {id: branch, locationDialingCode: "34"}
serviceProviders:
  - id: telco
    groups:
      - id: smallbiz
users:
  - userId: alice@lab.example
    group: hq
    firstName: Alice
    lastName: Liddell
    password: Alice-pw1
    passwordExpiresInDays: 30
    alternateIds: [alice@acme.example]
    email: alice@acme.example
    number: "+15550100101"
    extension: "101"
    services:
      integratedImp: {}
      doNotDisturb: {active: false, ringSplash: true}
      callForwardingAlways: {active: false}
      callForwardingBusy: {active: true, forwardToPhoneNumber: "+15550100102"}
      callForwardingNoAnswer: {active: true, forwardToPhoneNumber: "102", numberOfRings: 4}
      callForwardingNotReachable: {active: false}
      callWaiting: {active: true}
      broadWorksAnywhere:
        locations:
          - {phoneNumber: "+15550199101", description: Mobile, active: true}
      simultaneousRingPersonal: {active: false}
      remoteOffice: {active: false}
      basicCallLogs: {}
      sharedCallAppearance: {}
  - userId: bob@lab.example
    group: hq
    firstName: Bob
    lastName: Li
    password: Bob-pw1
    number: "+15550100102"
    extension: "102"
    services: [callWaiting, doNotDisturb]
  - userId: carol@lab.example
    group: branch
    firstName: Carol
    lastName: Ng
    password: "pässwörd"
    extension: "3401"
    services: [doNotDisturb]
  - userId: dave@lab.example
    group: hq
    firstName: Dave
    lastName: Locked
    password: Dave-pw1
    locked: true
  - userId: erin@lab.example
    group: hq
    firstName: Erin
    lastName: Expired
    password: Erin-pw1
    passwordExpires: 2020-01-01
    services: [doNotDisturb]
  - userId: eve@telco.example
    group: smallbiz
    firstName: Eve
    lastName: Other
    password: Eve-pw1
    services: [doNotDisturb]
devices:
  - name: alice-8851
    type: Cisco 8851
    mac: "00:1B:44:11:3A:B7"
    lines:
      - {linePort: alice_1@lab.example, user: alice@lab.example}
  - name: alice-desktop
    type: Business Communicator - PC
    lines:
      - {linePort: alice_sca_pc@lab.example, user: alice@lab.example, endpoint: sharedCallAppearance, owner: true}
admins:
  - {login: sys-admin@lab.example, password: Sys-pw1}
  - {login: acme-admin@lab.example, password: Acme-pw1, enterprise: acme}
  - {login: hq-admin@lab.example, password: Hq-pw1, enterprise: acme, group: hq}
  - {login: hq-viewer@lab.example, password: View-pw1, enterprise: acme, group: hq, readOnly: true}
  - {login: telco-admin@lab.example, password: Telco-pw1, enterprise: telco}
"#;

/// A profile without push notification registrations (none of the built-in ones lacks them).
const NO_PUSH_PROFILE: &str = r#"
name = "r22-no-push"
extends = "r22-unpatched"
description = "R22 without Xsi push notification registrations (tests only)"

[features]
xsi_push_notification_registrations = false
xsi_push_event_detail = false
"#;

pub struct Lab {
    pub pki: LabPki,
    pub store: Store,
    pub clock: LabClock,
    pub journal: Journal,
    pub xsp: XspHandle,
    /// The application server, when the lab was started with Xsi-Events.
    pub app_server: Option<bwlab_appserver::AppServer>,
    pub profile: bwlab_profiles::Profile,
}

pub struct LabOptions {
    pub profile: &'static str,
    pub settings: XspSettings,
    /// Start an application server and serve Xsi-Events (and CTI) with these settings.
    pub events: Option<bwlab_xsp::EventsSettings>,
    pub as_settings: bwlab_appserver::AsSettings,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            profile: "r24",
            settings: XspSettings::default(),
            events: None,
            as_settings: bwlab_appserver::AsSettings::default(),
        }
    }
}

impl Lab {
    pub async fn start() -> Lab {
        Self::start_with(LabOptions::default()).await
    }

    pub async fn start_with(opts: LabOptions) -> Lab {
        // The lab clock is frozen at the host's current second so that certificates
        // (checked against the host clock by the client) and passwords agree.
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let clock = LabClock::frozen_at(now);
        let pki = LabPki::generate(PkiConfig::example(now)).expect("pki");
        let store = Store::from_yaml_str(LAB_YAML, "test-lab.yaml", clock.clone()).expect("lab");
        let journal = Journal::with_limits(clock.clone(), 10_000, 64 * 1024);
        let mut settings = opts.settings;
        if settings.client_trust_anchors.is_empty() {
            settings.client_trust_anchors = pki.webex_trust_anchors();
        }
        let mut profiles = Profiles::builtin();
        profiles
            .load_str("test-profiles", NO_PUSH_PROFILE)
            .expect("test profile");
        let profile = profiles.get(opts.profile).expect("profile").clone();
        let app_server = opts.events.as_ref().map(|_| {
            bwlab_appserver::AppServer::new(
                store.clone(),
                profile.clone(),
                journal.clone(),
                opts.as_settings.clone(),
            )
        });
        let mut b = XspNode::builder("xsp1")
            .identity(pki.node("xsp1").expect("node identity").clone())
            .store(store.clone())
            .profile(profile.clone())
            .journal(journal.clone())
            .clock(clock.clone())
            .settings(settings);
        if let (Some(a), Some(ev)) = (&app_server, opts.events) {
            b = b
                .app_server(a.clone())
                .events(ev)
                .cti_addr(Some("127.0.0.1:0".parse().unwrap()));
        }
        let xsp = b.start().await.expect("xsp starts");
        Lab {
            pki,
            store,
            clock,
            journal,
            xsp,
            app_server,
            profile,
        }
    }

    pub fn client_config(&self, identity: Option<Identity>) -> Arc<ClientConfig> {
        let mut opts = ClientOptions::new(self.pki.lab_trust_bundle());
        opts.identity = identity;
        opts.key_log = false;
        bwlab_pki::client_config(&opts).expect("client config")
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.xsp.https_addr(), self.client_config(None))
            .await
            .expect("connect")
    }
}

pub fn basic(login: &str, password: &str) -> String {
    encode_basic(login, password, AuthEncoding::Utf8).unwrap()
}

pub fn basic_latin1(login: &str, password: &str) -> String {
    encode_basic(login, password, AuthEncoding::Iso8859_1).unwrap()
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {}", self.status, self.headers, self.text())
    }
}

/// One keep-alive HTTPS connection.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
    pub auth: Option<String>,
}

impl Client {
    pub async fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> std::io::Result<Client> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let tls = connector
            .connect(ServerName::try_from(SERVER_NAME).unwrap(), tcp)
            .await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client { sender, auth: None })
    }

    pub fn with_auth(mut self, login: &str, password: &str) -> Self {
        self.auth = Some(basic(login, password));
        self
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> hyper::Result<Reply> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", SERVER_NAME);
        if let Some(a) = &self.auth
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            b = b.header("authorization", a.as_str());
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(body.into())).unwrap();
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.request(Method::GET, path, &[], Bytes::new())
            .await
            .expect("GET")
    }

    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request(Method::GET, path, headers, Bytes::new())
            .await
            .expect("GET")
    }

    pub async fn put(&mut self, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        self.request(Method::PUT, path, headers, body.to_owned())
            .await
            .expect("PUT")
    }
}

pub fn user_path(user: &str, rest: &str) -> String {
    format!("{BASE}/user/{user}/{rest}")
}
