//! Xsi-Actions resources and the authorisation rules, over real TLS sockets.

mod common;

use bwlab_model::AuthEncoding;
use bwlab_model::services::{CallForwardingAlways, DoNotDisturb};
use bwlab_xsp::XspSettings;
use common::{BASE, Lab, LabOptions, basic, basic_latin1, user_path};

const XML: &str = "application/xml; charset=UTF-8";
const JSON: &str = "application/json; charset=UTF-8";

#[tokio::test]
async fn dnd_round_trip_xml_and_json() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let path = user_path("alice@lab.example", "services/DoNotDisturb");

    let r = c.get(&path).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some(XML));
    assert!(
        r.text()
            .contains("<active>false</active><ringSplash>true</ringSplash>"),
        "{r:?}"
    );

    let body = r#"<DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>true</active></DoNotDisturb>"#;
    let r = c
        .put(&path, &[("content-type", "application/xml")], body)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.get(&path).await;
    assert!(
        r.text()
            .contains("<active>true</active><ringSplash>true</ringSplash>"),
        "{r:?}"
    );
    let idx = lab.store.find_user("alice@lab.example").unwrap().idx;
    let dnd: DoNotDisturb = lab.store.service(idx).unwrap();
    assert!(dnd.active && dnd.ring_splash, "partial PUT kept ringSplash");

    // JSON body via Content-Type, JSON answer via Accept.
    let r = c
        .put(
            &path,
            &[("content-type", "application/json")],
            r#"{"DoNotDisturb":{"ringSplash":{"$":"false"}}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.get_with(&path, &[("accept", "application/json")]).await;
    assert_eq!(r.header("content-type"), Some(JSON));
    assert_eq!(
        r.text(),
        r#"{"DoNotDisturb":{"@xmlns":{"$":"http://schema.broadsoft.com/xsi"},"active":{"$":"true"},"ringSplash":{"$":"false"}}}"#
    );
    // format=json works both ways.
    let r = c
        .put(
            &format!("{path}?format=json"),
            &[],
            r#"{"DoNotDisturb":{"active":false}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.get(&format!("{path}?format=json")).await;
    assert!(r.text().contains(r#""active":{"$":"false"}"#), "{r:?}");
    assert!(!lab.store.service::<DoNotDisturb>(idx).unwrap().active);
}

#[tokio::test]
async fn cfa_round_trip_with_nil_clearing() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let path = user_path("alice@lab.example", "services/callforwardingalways");
    let body = r#"<CallForwardingAlways xmlns="http://schema.broadsoft.com/xsi"><active>true</active><forwardToPhoneNumber>+15550109999</forwardToPhoneNumber></CallForwardingAlways>"#;
    let r = c.put(&path, &[], body).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.get(&path).await;
    assert!(
        r.text().contains(
            "<active>true</active><forwardToPhoneNumber>+15550109999</forwardToPhoneNumber>"
        ),
        "{r:?}"
    );
    let idx = lab.store.find_user("alice@lab.example").unwrap().idx;
    let cfa: CallForwardingAlways = lab.store.service(idx).unwrap();
    assert_eq!(cfa.forward_to_phone_number.as_deref(), Some("+15550109999"));

    // JSON: deactivate and clear the number with a nil.
    let r = c
        .put(
            &path,
            &[("content-type", "application/json")],
            r#"{"CallForwardingAlways":{"active":{"$":"false"},"forwardToPhoneNumber":{"@xsi:nil":"true"}}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.get(&format!("{path}?format=json")).await;
    assert_eq!(
        r.text(),
        r#"{"CallForwardingAlways":{"@xmlns":{"$":"http://schema.broadsoft.com/xsi"},"active":{"$":"false"},"ringSplash":{"$":"false"}}}"#
    );
    assert_eq!(
        lab.store
            .service::<CallForwardingAlways>(idx)
            .unwrap()
            .forward_to_phone_number,
        None
    );

    // Activating without a number is refused by the model's rules: 400 ErrorInfo.
    let r = c
        .put(&path, &[], r#"<CallForwardingAlways xmlns="http://schema.broadsoft.com/xsi"><active>true</active></CallForwardingAlways>"#)
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("<ErrorInfo"), "{r:?}");
}

#[tokio::test]
async fn other_services_get_and_put() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let cases = [
        (
            "CallForwardingBusy",
            "<CallForwardingBusy xmlns=\"http://schema.broadsoft.com/xsi\"><active>false</active></CallForwardingBusy>",
            "<active>false</active><forwardToPhoneNumber>+15550100102</forwardToPhoneNumber>",
        ),
        (
            "CallForwardingNoAnswer",
            "<CallForwardingNoAnswer xmlns=\"http://schema.broadsoft.com/xsi\"><numberOfRings>6</numberOfRings></CallForwardingNoAnswer>",
            "<numberOfRings>6</numberOfRings>",
        ),
        (
            "CallForwardingNotReachable",
            "<CallForwardingNotReachable xmlns=\"http://schema.broadsoft.com/xsi\"><active>true</active><forwardToPhoneNumber>+15550100999</forwardToPhoneNumber></CallForwardingNotReachable>",
            "<active>true</active>",
        ),
        (
            "CallWaiting",
            "<CallWaiting xmlns=\"http://schema.broadsoft.com/xsi\"><active>false</active></CallWaiting>",
            "<active>false</active>",
        ),
        (
            "SimultaneousRingPersonal",
            "<SimultaneousRingPersonal xmlns=\"http://schema.broadsoft.com/xsi\"><active>true</active><incomingCalls>Do not Ring if on a Call</incomingCalls><simRingLocations><simRingLocation><address>+15550177777</address></simRingLocation></simRingLocations></SimultaneousRingPersonal>",
            "<address>+15550177777</address>",
        ),
        (
            "BroadWorksAnywhere",
            "<BroadWorksAnywhere xmlns=\"http://schema.broadsoft.com/xsi\"><alertAllLocationsForClickToDialCalls>true</alertAllLocationsForClickToDialCalls><locations><location><phoneNumber>+15550199101</phoneNumber><active>false</active></location></locations></BroadWorksAnywhere>",
            "<active>false</active><description>Mobile</description>",
        ),
        (
            "RemoteOffice",
            "<RemoteOffice xmlns=\"http://schema.broadsoft.com/xsi\"><active>true</active><remoteOfficeNumber>+15550166666</remoteOfficeNumber></RemoteOffice>",
            "<remoteOfficeNumber>+15550166666</remoteOfficeNumber>",
        ),
        (
            "IntegratedIMP",
            "<IntegratedIMPService xmlns=\"http://schema.broadsoft.com/xsi\"><active>false</active></IntegratedIMPService>",
            "<IntegratedIMPService xmlns=\"http://schema.broadsoft.com/xsi\"><active>false</active>",
        ),
    ];
    for (name, body, expect) in cases {
        let path = user_path("alice@lab.example", &format!("services/{name}"));
        let r = c.get(&path).await;
        assert_eq!(r.status, 200, "{name}: {r:?}");
        let r = c.put(&path, &[], body).await;
        assert_eq!(r.status, 200, "{name}: {r:?}");
        let r = c.get(&path).await;
        assert!(r.text().contains(expect), "{name}: {r:?}");
    }
    // Invalid values: numberOfRings 1 and a new BWA location are refused with 400.
    for (name, body) in [
        (
            "CallForwardingNoAnswer",
            "<CallForwardingNoAnswer xmlns=\"http://schema.broadsoft.com/xsi\"><numberOfRings>1</numberOfRings></CallForwardingNoAnswer>",
        ),
        (
            "BroadWorksAnywhere",
            "<BroadWorksAnywhere xmlns=\"http://schema.broadsoft.com/xsi\"><locations><location><phoneNumber>+15550000000</phoneNumber></location></locations></BroadWorksAnywhere>",
        ),
        (
            "DoNotDisturb",
            "<DoNotDisturb xmlns=\"http://schema.broadsoft.com/xsi\"><active>maybe</active></DoNotDisturb>",
        ),
    ] {
        let r = c
            .put(
                &user_path("alice@lab.example", &format!("services/{name}")),
                &[],
                body,
            )
            .await;
        assert_eq!(r.status, 400, "{name}: {r:?}");
        assert!(r.text().contains("<errorCode>"), "{name}: {r:?}");
    }
}

#[tokio::test]
async fn services_list_profile_devices_versions() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let r = c.get(&user_path("alice@lab.example", "services")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let t = r.text();
    assert!(t.contains("<service><name>Do Not Disturb</name><uri>/v2.0/user/alice@lab.example/services/donotdisturb</uri></service>"), "{t}");
    assert!(
        t.contains("<name>Basic Call Logs</name><uri xsi:nil=\"true\"/>"),
        "{t}"
    );

    let r = c.get(&user_path("alice@lab.example", "profile")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let t = r.text();
    assert!(t.contains("<details><userId>alice@lab.example</userId><firstName>Alice</firstName><lastName>Liddell</lastName><groupId>hq</groupId><serviceProvider isEnterprise=\"true\">acme</serviceProvider><number>5550100101</number><extension>101</extension></details>"), "{t}");
    assert!(
        t.contains("<locationDialingCode>12</locationDialingCode>"),
        "{t}"
    );
    assert!(t.contains("<countryCode>1</countryCode>"), "{t}");
    assert!(t.contains("<passwordExpiresDays>"), "{t}");
    assert!(t.contains("<timeZone>"), "{t}");
    assert!(
        t.contains("<fac>/v2.0/user/alice@lab.example/profile/Fac</fac>"),
        "{t}"
    );

    let r = c
        .get(&user_path("alice@lab.example", "profile/Device"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let t = r.text();
    assert!(
        t.contains("<deviceLinePort>alice_1@lab.example</deviceLinePort>"),
        "{t}"
    );
    assert!(
        t.contains("<endpointType>Shared Call Appearance</endpointType><isOwner>true</isOwner>"),
        "{t}"
    );
    let r = c
        .get(&user_path(
            "alice@lab.example",
            "profile/device?onlySoftClient=true",
        ))
        .await;
    assert!(!r.text().contains("alice_1@lab.example"), "{r:?}");

    let r = c.get(&format!("{BASE}/versions")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text()
            .contains("<commands><baseline>24.0</baseline></commands>"),
        "{r:?}"
    );
}

#[tokio::test]
async fn owner_flag_follows_the_profile() {
    let lab = Lab::start_with(LabOptions {
        profile: "r24-unpatched",
        ..Default::default()
    })
    .await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let r = c
        .get(&user_path("alice@lab.example", "profile/Device"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.text().contains("isOwner"), "{r:?}");
    let r = c.get(&user_path("alice@lab.example", "profile")).await;
    assert!(!r.text().contains("locationDialingCode"), "{r:?}");
}

/// Status of GET profile, GET DND and PUT DND on `target` for the given credentials.
async fn matrix_row(lab: &Lab, auth: Option<String>, target: &str) -> [u16; 3] {
    let mut c = lab.client().await;
    c.auth = auth;
    let put = r#"<DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><ringSplash>false</ringSplash></DoNotDisturb>"#;
    [
        c.get(&user_path(target, "profile")).await.status,
        c.get(&user_path(target, "services/DoNotDisturb"))
            .await
            .status,
        c.put(&user_path(target, "services/DoNotDisturb"), &[], put)
            .await
            .status,
    ]
}

#[tokio::test]
async fn authorisation_matrix() {
    let lab = Lab::start().await;
    let b = |l: &str, p: &str| Some(basic(l, p));
    let alice = "alice@lab.example";
    let rows: Vec<(&str, Option<String>, &str, [u16; 3])> = vec![
        ("no credentials", None, alice, [401; 3]),
        ("wrong password", b(alice, "nope"), alice, [401; 3]),
        (
            "unknown user",
            b("nobody@lab.example", "x"),
            alice,
            [401; 3],
        ),
        (
            "locked",
            b("dave@lab.example", "Dave-pw1"),
            "dave@lab.example",
            [401; 3],
        ),
        (
            "expired+enforced",
            b("erin@lab.example", "Erin-pw1"),
            "erin@lab.example",
            [401; 3],
        ),
        ("self", b(alice, "Alice-pw1"), alice, [200; 3]),
        (
            "other user",
            b("bob@lab.example", "Bob-pw1"),
            alice,
            [403; 3],
        ),
        (
            "unknown target",
            b(alice, "Alice-pw1"),
            "ghost@lab.example",
            [404; 3],
        ),
        (
            "group admin in scope",
            b("hq-admin@lab.example", "Hq-pw1"),
            alice,
            [200; 3],
        ),
        (
            "group admin out of scope",
            b("hq-admin@lab.example", "Hq-pw1"),
            "carol@lab.example",
            [403; 3],
        ),
        (
            "enterprise admin",
            b("acme-admin@lab.example", "Acme-pw1"),
            "carol@lab.example",
            [200; 3],
        ),
        (
            "enterprise admin, other SP",
            b("acme-admin@lab.example", "Acme-pw1"),
            "eve@telco.example",
            [403; 3],
        ),
        (
            "SP admin",
            b("telco-admin@lab.example", "Telco-pw1"),
            "eve@telco.example",
            [200; 3],
        ),
        (
            "system admin",
            b("sys-admin@lab.example", "Sys-pw1"),
            "eve@telco.example",
            [200; 3],
        ),
        (
            "read-only admin",
            b("hq-viewer@lab.example", "View-pw1"),
            alice,
            [200, 200, 403],
        ),
    ];
    for (name, auth, target, want) in rows {
        assert_eq!(matrix_row(&lab, auth, target).await, want, "{name}");
    }
}

#[tokio::test]
async fn refusals_are_indistinguishable() {
    let lab = Lab::start().await;
    let mut c = lab.client().await;
    let path = user_path("erin@lab.example", "profile");
    let mut replies = Vec::new();
    for (l, p) in [
        ("erin@lab.example", "wrong"),
        ("erin@lab.example", "Erin-pw1"),
        ("nobody@lab.example", "Erin-pw1"),
        ("dave@lab.example", "Dave-pw1"),
    ] {
        let r = c.get_with(&path, &[("authorization", &basic(l, p))]).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"BroadWorks\"")
        );
        assert!(r.header("set-cookie").is_none());
        replies.push(r);
    }
    for r in &replies[1..] {
        assert_eq!(r.body, replies[0].body, "bodies differ");
        let mut a = r.headers.clone();
        let mut b = replies[0].headers.clone();
        a.remove("date");
        b.remove("date");
        assert_eq!(a, b, "headers differ");
    }
    // The journal still knows why.
    let reasons: Vec<String> = lab
        .journal
        .entries()
        .iter()
        .filter_map(|e| e.attr("auth").map(str::to_owned))
        .collect();
    for want in [
        "wrong-password",
        "expired-enforced",
        "unknown-user",
        "locked",
    ] {
        assert!(reasons.iter().any(|r| r == want), "{want} in {reasons:?}");
    }
    // Missing credentials: 401 with the challenge and an ErrorInfo.
    let r = c.get(&path).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"BroadWorks\"")
    );
    assert!(r.text().contains("<ErrorInfo"));
}

#[tokio::test]
async fn expired_without_enforcement_is_allowed() {
    let lab = Lab::start().await;
    lab.store.set_enforce_password_change_on_expiry(false);
    let mut c = lab.client().await.with_auth("erin@lab.example", "Erin-pw1");
    let r = c.get(&user_path("erin@lab.example", "profile")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text().contains("<userId>erin@lab.example</userId>"),
        "{r:?}"
    );
}

#[tokio::test]
async fn alternate_id_login_and_path() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("Alice@Acme.Example", "Alice-pw1");
    let r = c.get(&user_path("alice@lab.example", "profile")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.get(&user_path("alice%40acme.example", "services")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let e = lab.journal.entries();
    let last = e
        .iter()
        .rev()
        .find(|e| e.attr("status") == Some("200"))
        .unwrap();
    assert_eq!(last.attr("user"), Some("alice@lab.example"));
}

#[tokio::test]
async fn non_ascii_password_needs_utf8_decoding() {
    let path = user_path("carol@lab.example", "profile");
    // Default ISO-8859-1: a UTF-8 client (browser) fails, a Latin-1 client succeeds.
    let lab = Lab::start().await;
    let mut c = lab.client().await;
    let utf8 = basic("carol@lab.example", "pässwörd");
    let latin1 = basic_latin1("carol@lab.example", "pässwörd");
    assert_eq!(
        c.get_with(&path, &[("authorization", &utf8)]).await.status,
        401
    );
    assert_eq!(
        c.get_with(&path, &[("authorization", &latin1)])
            .await
            .status,
        200
    );
    drop(lab);
    // authenticationEncoding UTF-8: the other way round.
    let lab = Lab::start_with(LabOptions {
        settings: XspSettings {
            authentication_encoding: AuthEncoding::Utf8,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut c = lab.client().await;
    assert_eq!(
        c.get_with(&path, &[("authorization", &utf8)]).await.status,
        200
    );
    assert_eq!(
        c.get_with(&path, &[("authorization", &latin1)])
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn session_cookie_and_logout() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let path = user_path("alice@lab.example", "profile");
    let r = c.get(&path).await;
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").expect("session cookie").to_owned();
    assert!(cookie.starts_with("JSESSIONID="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Secure"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(lab.xsp.session_count(), 1);

    // Reusing the cookie: no new cookie, and the journal says the session was used.
    let r = c.get_with(&path, &[("cookie", &pair)]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(
        lab.journal.entries().last().unwrap().attr("auth"),
        Some("session")
    );

    // The cookie alone is not enough.
    let mut bare = lab.client().await;
    let r = bare.get_with(&path, &[("cookie", &pair)]).await;
    assert_eq!(r.status, 401);

    // j_logout (any path ending in it) invalidates the session.
    let r = c
        .get_with(
            &format!("{BASE}/user/alice@lab.example/j_logout"),
            &[("cookie", &pair)],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(lab.xsp.session_count(), 0);
    let r = c.get_with(&path, &[("cookie", &pair)]).await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").is_some(), "a new session is opened");
}

#[tokio::test]
async fn single_device_get_and_allow_termination_put() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let path = user_path("alice@lab.example", "profile/Device/alice_1@lab.example");
    let r = c.get(&path).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text()
            .contains("<allowTermination>true</allowTermination>"),
        "{r:?}"
    );
    let body = r#"<AccessDevice xmlns="http://schema.broadsoft.com/xsi"><allowTermination>false</allowTermination></AccessDevice>"#;
    let r = c.put(&path, &[], body).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c.get(&path).await;
    assert!(
        r.text()
            .contains("<allowTermination>false</allowTermination>"),
        "{r:?}"
    );
    let (dev, i) = lab.store.find_endpoint("alice_1@lab.example").unwrap();
    assert!(!dev.lines[i].allow_termination());
    // Another user's line port is not alice's resource.
    let r = c
        .get(&user_path(
            "alice@lab.example",
            "profile/Device/bob_1@lab.example",
        ))
        .await;
    assert_eq!(r.status, 404, "{r:?}");
}

#[tokio::test]
async fn refused_login_is_journalled_with_the_login() {
    let lab = Lab::start().await;
    let mut c = lab.client().await.with_auth("bob@lab.example", "nope");
    assert_eq!(
        c.get(&user_path("bob@lab.example", "profile")).await.status,
        401
    );
    let e = lab.journal.entries();
    let e = e
        .iter()
        .rev()
        .find(|e| e.attr("status") == Some("401"))
        .unwrap();
    assert_eq!(e.attr("login"), Some("bob@lab.example"));
    assert_eq!(e.attr("auth"), Some("wrong-password"));
    assert_eq!(e.attr("user"), None);
}

#[tokio::test]
async fn protocol_version_header() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let path = user_path("alice@lab.example", "services/DoNotDisturb");
    let v = |v: &'static str| [("x-broadworks-protocol-version", v)];
    assert_eq!(c.get_with(&path, &v("24.0")).await.status, 200);
    for bad in ["14.0", "99.0", "latest"] {
        let r = c.get_with(&path, &v(bad)).await;
        assert_eq!(r.status, 400, "{bad}: {r:?}");
        assert!(
            r.text().contains("<errorCode>3007</errorCode>"),
            "{bad}: {r:?}"
        );
    }
}
