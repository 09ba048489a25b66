//! The authorisation matrix over real sockets: every implemented Xsi-Actions resource (and
//! method) × every kind of caller, with the status each cell must answer.
//!
//! Callers: no credentials, wrong password, locked account, expired password under
//! enforcement, another user, group / enterprise / service-provider / system administrator
//! (in and out of scope), read-only administrator, the user itself by Basic, a valid
//! BroadWorks bearer token, a token signed by another node's (non-shared) keys, and an expired
//! token. Authentication comes first (401), then the scope (403); a caller allowed to read but
//! not to write (read-only admin) gets 403 on every changing method. Group resources are open
//! to the group's users and the administrators over the group; system resources to system
//! administrators only.
//!
//! Resources that consume state (DELETE of one message, one call log, one push registration)
//! seed a fresh item for every cell, so each cell sees the resource as it should.

mod common;

use std::time::Duration;

use bwlab_model::{
    CallLogKind, NewCallLog, NewVoiceMessage, PushEvent, PushRegistration, PushToken, ServiceKind,
};
use bwlab_xsp::{AuthKeys, AuthServiceMode, AuthServiceSettings, XspNode, XspSettings};
use bytes::Bytes;
use common::{Client, Lab, LabOptions, basic};
use hyper::Method;
use serde_json::Value;

const ALICE: &str = "alice@lab.example";
const NS: &str = "xmlns=\"http://schema.broadsoft.com/xsi\"";

/// What a resource needs from the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// Any authenticated caller (`/versions`).
    Login,
    /// Read scope on the target user.
    Read,
    /// Write scope on the target user.
    Write,
    /// Read access to group `hq` (its users and the administrators over it).
    Group,
    /// A system administrator (not read-only for changes).
    System,
}

/// One resource × method of the matrix.
struct Res {
    name: &'static str,
    method: Method,
    need: Need,
    /// Status when allowed.
    ok: u16,
    /// Builds the path below `/v2.0` for target `u` (and the body), seeding whatever the
    /// request consumes.
    make: fn(&Lab, &str) -> (String, String),
}

fn user(u: &str, rest: &str) -> String {
    format!("user/{u}/{rest}")
}

fn body(root: &str, inner: &str) -> String {
    format!("<{root} {NS}>{inner}</{root}>")
}

macro_rules! res {
    ($name:literal, $method:ident, $need:ident, $ok:literal, $make:expr) => {
        Res {
            name: $name,
            method: Method::$method,
            need: Need::$need,
            ok: $ok,
            make: $make,
        }
    };
}

macro_rules! get {
    ($rest:literal) => {
        res!($rest, GET, Read, 200, |_, u| (
            user(u, $rest),
            String::new()
        ))
    };
}

macro_rules! put_service {
    ($svc:literal, $inner:literal) => {
        put_service!($svc, $svc, $inner)
    };
    ($svc:literal, $root:literal, $inner:literal) => {
        res!($svc, PUT, Write, 200, |_, u| (
            user(u, concat!("services/", $svc)),
            body($root, $inner)
        ))
    };
}

fn alice_idx(lab: &Lab) -> bwlab_model::UserIdx {
    lab.store.find_user(ALICE).unwrap().idx
}

fn seed_message(lab: &Lab) -> String {
    lab.store
        .deposit_voice_message(
            alice_idx(lab),
            NewVoiceMessage {
                duration_ms: Some(1000),
                ..Default::default()
            },
        )
        .unwrap()
        .id
}

fn seed_missed_call(lab: &Lab) -> String {
    lab.store
        .append_call_log(
            alice_idx(lab),
            NewCallLog {
                kind: CallLogKind::Missed,
                name: "Bob Li".into(),
                number: "+15550100102".into(),
                time: lab.clock.now(),
            },
        )
        .unwrap()
        .call_log_id
}

fn seed_push(lab: &Lab) -> String {
    let id = format!("inst-{}", lab.journal.next_seq());
    lab.store
        .add_push_registration(
            alice_idx(lab),
            PushRegistration {
                application_id: "com.example.softphone".into(),
                application_version: "5.2.0".into(),
                registration_id: id.clone(),
                device_os_type: "Android".into(),
                device_os_version: "14".into(),
                tokens: vec![PushToken {
                    token: "tok".into(),
                    events: vec![PushEvent {
                        name: "NEW_CALL".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            },
        )
        .unwrap();
    id
}

/// Alice's calls ended, then a fresh one to bob (extension 102); `answered` lets bob pick
/// up, `held` then puts it on hold. Returns alice's call id.
fn seed_call(lab: &Lab, answered: bool, held: bool) -> String {
    let calls = lab.app_server.as_ref().expect("application server").calls();
    for c in calls.calls_of(ALICE) {
        let _ = calls.release(&c.call_id);
    }
    let h = calls.dial(ALICE, "102").expect("dial");
    if answered {
        calls
            .answer(h.terminator.as_deref().expect("routed"))
            .expect("answer");
    }
    if held {
        calls.hold(&h.originator).expect("hold");
    }
    h.originator.to_string()
}

fn no_calls(lab: &Lab) {
    let calls = lab.app_server.as_ref().expect("application server").calls();
    for c in calls.calls_of(ALICE) {
        let _ = calls.release(&c.call_id);
    }
}

const PUSH_BODY: &str = "<applicationId>com.example.softphone</applicationId><applicationVersion>5.2.0</applicationVersion><registrationId>inst-new</registrationId><deviceOSType>Android</deviceOSType><deviceOSVersion>14</deviceOSVersion><deviceTokenList><deviceToken><token>tok-a</token><pushNotificationEvents><event>NEW_CALL</event></pushNotificationEvents></deviceToken></deviceTokenList>";

/// Every implemented Xsi-Actions resource and method.
fn resources() -> Vec<Res> {
    vec![
        res!("versions", GET, Login, 200, |_, _| (
            "versions".into(),
            String::new()
        )),
        get!("profile"),
        get!("profile/Device"),
        get!("profile/Device/alice_1@lab.example"),
        res!("PUT profile/Device/{linePort}", PUT, Write, 200, |_, u| (
            user(u, "profile/Device/alice_1@lab.example"),
            body("AccessDevice", "<allowTermination>true</allowTermination>")
        )),
        get!("profile/Registrations"),
        res!("GET profile/LoginToken", GET, Write, 200, |_, u| (
            user(u, "profile/LoginToken"),
            String::new()
        )),
        res!("POST profile/LoginToken", POST, Write, 201, |_, u| (
            user(u, "profile/LoginToken"),
            String::new()
        )),
        res!("GET profile/DeviceToken", GET, Write, 200, |_, u| (
            user(u, "profile/DeviceToken"),
            String::new()
        )),
        res!("POST profile/DeviceToken", POST, Write, 201, |_, u| (
            user(u, "profile/DeviceToken"),
            String::new()
        )),
        get!("profile/PushNotificationRegistrations"),
        res!(
            "POST PushNotificationRegistrations/new",
            POST,
            Write,
            201,
            |_, u| (
                user(u, "profile/PushNotificationRegistrations/new"),
                body("PushNotificationRegistration", PUSH_BODY)
            )
        ),
        res!(
            "DELETE PushNotificationRegistrations",
            DELETE,
            Write,
            201,
            |lab, u| (
                user(
                    u,
                    &format!(
                        "profile/PushNotificationRegistrations?registrationId={}",
                        seed_push(lab)
                    )
                ),
                String::new()
            )
        ),
        get!("services"),
        get!("services/DoNotDisturb"),
        put_service!("DoNotDisturb", "<ringSplash>false</ringSplash>"),
        get!("services/CallForwardingAlways"),
        put_service!("CallForwardingAlways", "<ringSplash>false</ringSplash>"),
        get!("services/CallForwardingBusy"),
        put_service!("CallForwardingBusy", "<active>true</active>"),
        get!("services/CallForwardingNoAnswer"),
        put_service!("CallForwardingNoAnswer", "<numberOfRings>4</numberOfRings>"),
        get!("services/CallForwardingNotReachable"),
        put_service!("CallForwardingNotReachable", "<active>false</active>"),
        get!("services/CallWaiting"),
        put_service!("CallWaiting", "<active>true</active>"),
        get!("services/SimultaneousRingPersonal"),
        put_service!("SimultaneousRingPersonal", "<active>false</active>"),
        get!("services/BroadWorksAnywhere"),
        put_service!(
            "BroadWorksAnywhere",
            "<alertAllLocationsForClickToDialCalls>false</alertAllLocationsForClickToDialCalls>"
        ),
        get!("services/RemoteOffice"),
        put_service!("RemoteOffice", "<active>false</active>"),
        get!("services/IntegratedIMP"),
        put_service!(
            "IntegratedIMP",
            "IntegratedIMPService",
            "<active>true</active>"
        ),
        get!("directories/Enterprise"),
        get!("directories/Group"),
        get!("directories/Personal"),
        get!("directories/EnterpriseCommon"),
        get!("directories/GroupCommon"),
        get!("directories/CallLogs"),
        res!("DELETE directories/CallLogs", DELETE, Write, 200, |_, u| (
            user(u, "directories/CallLogs"),
            String::new()
        )),
        get!("directories/CallLogs/Missed"),
        res!(
            "DELETE directories/CallLogs/Missed",
            DELETE,
            Write,
            200,
            |_, u| (user(u, "directories/CallLogs/Missed"), String::new())
        ),
        res!(
            "DELETE directories/CallLogs/Missed/{id}",
            DELETE,
            Write,
            200,
            |lab, u| (
                user(
                    u,
                    &format!("directories/CallLogs/Missed/{}", seed_missed_call(lab))
                ),
                String::new()
            )
        ),
        get!("directories/EnhancedCallLogs"),
        get!("directories/EnhancedCallLogs/Placed"),
        res!(
            "DELETE directories/EnhancedCallLogs",
            DELETE,
            Write,
            200,
            |_, u| (user(u, "directories/EnhancedCallLogs"), String::new())
        ),
        get!("VoiceMessagingMessages"),
        res!(
            "GET VoiceMessagingMessages/{id}",
            GET,
            Read,
            200,
            |lab, u| (
                user(u, &format!("VoiceMessagingMessages/{}", seed_message(lab))),
                String::new()
            )
        ),
        res!(
            "DELETE VoiceMessagingMessages/{id}",
            DELETE,
            Write,
            200,
            |lab, u| (
                user(u, &format!("VoiceMessagingMessages/{}", seed_message(lab))),
                String::new()
            )
        ),
        res!(
            "PUT VoiceMessagingMessages/{id}/MarkAsRead",
            PUT,
            Write,
            200,
            |lab, u| (
                user(
                    u,
                    &format!("VoiceMessagingMessages/{}/MarkAsRead", seed_message(lab))
                ),
                String::new()
            )
        ),
        res!(
            "PUT VoiceMessagingMessages/{id}/MarkAsUnread",
            PUT,
            Write,
            200,
            |lab, u| (
                user(
                    u,
                    &format!("VoiceMessagingMessages/{}/MarkAsUnread", seed_message(lab))
                ),
                String::new()
            )
        ),
        res!(
            "PUT VoiceMessagingMessages/MarkAllAsRead",
            PUT,
            Write,
            200,
            |_, u| (
                user(u, "VoiceMessagingMessages/MarkAllAsRead"),
                String::new()
            )
        ),
        res!(
            "PUT VoiceMessagingMessages/MarkAllAsUnread",
            PUT,
            Write,
            200,
            |_, u| (
                user(u, "VoiceMessagingMessages/MarkAllAsUnread"),
                String::new()
            )
        ),
        get!("calls"),
        get!("calls/HookStatus"),
        res!("POST calls/New", POST, Write, 201, |lab, u| {
            no_calls(lab);
            (user(u, "calls/New?address=102"), String::new())
        }),
        res!("GET calls/{cid}", GET, Read, 200, |lab, u| (
            user(u, &format!("calls/{}", seed_call(lab, false, false))),
            String::new()
        )),
        res!("DELETE calls/{cid}", DELETE, Write, 200, |lab, u| (
            user(u, &format!("calls/{}", seed_call(lab, false, false))),
            String::new()
        )),
        res!("PUT calls/{cid}/Hold", PUT, Write, 200, |lab, u| (
            user(u, &format!("calls/{}/Hold", seed_call(lab, true, false))),
            String::new()
        )),
        res!("PUT calls/{cid}/Talk", PUT, Write, 200, |lab, u| (
            user(u, &format!("calls/{}/Talk", seed_call(lab, true, true))),
            String::new()
        )),
        res!(
            "PUT calls/{cid}/BlindTransfer",
            PUT,
            Write,
            200,
            |lab, u| (
                user(
                    u,
                    &format!(
                        "calls/{}/BlindTransfer?address=343401",
                        seed_call(lab, true, false)
                    )
                ),
                String::new()
            )
        ),
        res!(
            "GET group CallCenter/ExternalReporting",
            GET,
            Group,
            200,
            |_, _| (
                "group/hq/services/CallCenter/ExternalReporting".into(),
                String::new()
            )
        ),
        res!(
            "GET group CallCenter/UnavailableCodes",
            GET,
            Group,
            200,
            |_, _| (
                "group/hq/services/CallCenter/UnavailableCodes?enterpriseId=acme".into(),
                String::new()
            )
        ),
        res!(
            "GET system RoutePoint/ApplicationController",
            GET,
            System,
            200,
            |_, _| (
                "system/services/RoutePoint/ApplicationController/ac-1".into(),
                String::new()
            )
        ),
        res!(
            "PUT system RoutePoint/ApplicationController",
            PUT,
            System,
            200,
            |_, _| (
                "system/services/RoutePoint/ApplicationController/ac-1".into(),
                body("ApplicationController", "<state>not ready</state>")
            )
        ),
    ]
}

/// How a caller fares: refused at authentication, authenticated without scope on the
/// target, with read scope only, or with full scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Unauthenticated,
    NoScope,
    ReadOnly,
    Full,
}

impl Access {
    /// The status `caller` (with this access to the user resources) gets from `r`.
    fn expect(self, r: &Res, caller: &str) -> u16 {
        match (self, r.need) {
            (Access::Unauthenticated, _) => 401,
            (_, Need::Login) => r.ok,
            // Every authenticated caller of the matrix is in group hq or administers it,
            // except the other provider's administrator.
            (_, Need::Group) if caller.starts_with("service-provider admin") => 403,
            (_, Need::Group) => r.ok,
            (_, Need::System) if caller == "system admin" => r.ok,
            (_, Need::System) => 403,
            (Access::NoScope, _) | (Access::ReadOnly, Need::Write) => 403,
            _ => r.ok,
        }
    }
}

struct Caller {
    name: &'static str,
    auth: Option<String>,
    target: &'static str,
    access: Access,
}

/// Node with a Basic-mode AuthService so the test can get BroadWorks tokens directly;
/// tokens last one hour, so advancing the lab clock two hours expires the first one.
async fn lab() -> Lab {
    let mut auth = AuthServiceSettings::new(shared_keys(), AuthServiceMode::Basic);
    auth.token_duration_hours = 1;
    let lab = Lab::start_with(LabOptions {
        settings: XspSettings {
            authservice: Some(auth),
            ..Default::default()
        },
        // An application server behind the node, for the call commands.
        events: Some(bwlab_xsp::EventsSettings::default()),
        ..Default::default()
    })
    .await;
    let a = alice_idx(&lab);
    lab.store
        .assign_service(a, ServiceKind::VoiceMessaging)
        .unwrap();
    lab.store
        .assign_service(a, ServiceKind::EnhancedCallLogs)
        .unwrap();
    lab
}

fn shared_keys() -> AuthKeys {
    static KEYS: std::sync::OnceLock<AuthKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(AuthKeys::new).clone()
}

async fn token_from(client: &mut Client) -> String {
    let r = client
        .get_with(
            "/authService/token",
            &[("authorization", &basic(ALICE, "Alice-pw1"))],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resource_by_every_caller() {
    let lab = lab().await;
    let mut c = lab.client().await;

    // An expired token: issued now with a one-hour lifetime, then two hours pass.
    let expired = token_from(&mut c).await;
    lab.clock.advance(Duration::from_secs(2 * 3600));
    let valid = token_from(&mut c).await;
    // A token from a node with its own key pair (the non-shared-keys fault).
    let other = XspNode::builder("xsp9")
        .identity(lab.pki.node("xsp1").unwrap().clone())
        .store(lab.store.clone())
        .profile(
            bwlab_profiles::Profiles::builtin()
                .get("r24")
                .unwrap()
                .clone(),
        )
        .journal(lab.journal.clone())
        .clock(lab.clock.clone())
        .settings(XspSettings {
            authservice: Some(AuthServiceSettings::new(
                AuthKeys::new(),
                AuthServiceMode::Basic,
            )),
            client_trust_anchors: lab.pki.webex_trust_anchors(),
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let mut oc = Client::connect(other.https_addr(), lab.client_config(None))
        .await
        .unwrap();
    let foreign = token_from(&mut oc).await;

    let b = |l: &str, p: &str| Some(basic(l, p));
    let bearer = |t: &str| Some(format!("Bearer {t}"));
    let callers = vec![
        Caller {
            name: "no credentials",
            auth: None,
            target: ALICE,
            access: Access::Unauthenticated,
        },
        Caller {
            name: "wrong password",
            auth: b(ALICE, "nope"),
            target: ALICE,
            access: Access::Unauthenticated,
        },
        Caller {
            name: "locked",
            auth: b("dave@lab.example", "Dave-pw1"),
            target: ALICE,
            access: Access::Unauthenticated,
        },
        Caller {
            name: "expired+enforced",
            auth: b("erin@lab.example", "Erin-pw1"),
            target: ALICE,
            access: Access::Unauthenticated,
        },
        Caller {
            name: "bearer from non-shared keys",
            auth: bearer(&foreign),
            target: ALICE,
            access: Access::Unauthenticated,
        },
        Caller {
            name: "expired bearer",
            auth: bearer(&expired),
            target: ALICE,
            access: Access::Unauthenticated,
        },
        Caller {
            name: "other user",
            auth: b("bob@lab.example", "Bob-pw1"),
            target: ALICE,
            access: Access::NoScope,
        },
        Caller {
            name: "group admin, other group",
            auth: b("hq-admin@lab.example", "Hq-pw1"),
            target: "carol@lab.example",
            access: Access::NoScope,
        },
        Caller {
            name: "enterprise admin, other provider",
            auth: b("acme-admin@lab.example", "Acme-pw1"),
            target: "eve@telco.example",
            access: Access::NoScope,
        },
        Caller {
            name: "read-only admin",
            auth: b("hq-viewer@lab.example", "View-pw1"),
            target: ALICE,
            access: Access::ReadOnly,
        },
        Caller {
            name: "self",
            auth: b(ALICE, "Alice-pw1"),
            target: ALICE,
            access: Access::Full,
        },
        Caller {
            name: "self by alternate id",
            auth: b("alice@acme.example", "Alice-pw1"),
            target: ALICE,
            access: Access::Full,
        },
        Caller {
            name: "valid bearer",
            auth: bearer(&valid),
            target: ALICE,
            access: Access::Full,
        },
        Caller {
            name: "group admin",
            auth: b("hq-admin@lab.example", "Hq-pw1"),
            target: ALICE,
            access: Access::Full,
        },
        Caller {
            name: "enterprise admin",
            auth: b("acme-admin@lab.example", "Acme-pw1"),
            target: ALICE,
            access: Access::Full,
        },
        Caller {
            name: "service-provider admin, other provider",
            auth: b("telco-admin@lab.example", "Telco-pw1"),
            target: ALICE,
            access: Access::NoScope,
        },
        Caller {
            name: "system admin",
            auth: b("sys-admin@lab.example", "Sys-pw1"),
            target: ALICE,
            access: Access::Full,
        },
    ];

    let resources = resources();
    let mut failures = Vec::new();
    let mut cells = 0;
    for caller in &callers {
        let mut client = lab.client().await;
        client.auth = caller.auth.clone();
        for r in &resources {
            let (path, body) = (r.make)(&lab, caller.target);
            let path = format!("{}/{path}", common::BASE);
            let headers: &[(&str, &str)] = if body.is_empty() {
                &[]
            } else {
                &[("content-type", "application/xml")]
            };
            let reply = client
                .request(r.method.clone(), &path, headers, Bytes::from(body))
                .await
                .expect("request");
            cells += 1;
            let want = caller.access.expect(r, caller.name);
            let got = reply.status;
            if got != want {
                failures.push(format!(
                    "{:<32} {:<7} {:<48} want {want}, got {got}: {}",
                    caller.name,
                    r.method.as_str(),
                    r.name,
                    reply.text().chars().take(160).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, callers.len() * resources.len());

    // The service-provider administrator in scope: eve is in its provider (she has only
    // Do Not Disturb, so the positive cells are the resources she has data for).
    let mut sp = lab.client().await;
    sp.auth = b("telco-admin@lab.example", "Telco-pw1");
    let eve = "eve@telco.example";
    for rest in [
        "profile",
        "profile/Device",
        "profile/Registrations",
        "services",
        "services/DoNotDisturb",
        "directories/Group",
        "calls",
    ] {
        let r = sp.get(&common::user_path(eve, rest)).await;
        assert_eq!(r.status, 200, "{rest}: {r:?}");
    }
    let r = sp
        .put(
            &common::user_path(eve, "services/DoNotDisturb"),
            &[],
            &body("DoNotDisturb", "<active>true</active>"),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    other.shutdown().await;
}
