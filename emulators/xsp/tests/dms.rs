//! The minimal DMS (`/dms`) over real sockets: a device's configuration file for a
//! DeviceToken, a BroadWorks JWT or the device access credentials; 401 / 404 / 405
//! otherwise; every served file journalled.

mod common;

use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_model::device::DeviceCredentials;
use bwlab_model::spec::{DeviceSpec, LineSpec};
use bwlab_xsp::{AuthKeys, AuthServiceMode, AuthServiceSettings, XspSettings};
use common::{Lab, LabOptions, basic, user_path};
use serde_json::Value;

const PC_CONFIG: &str = "/dms/Business_Communicator_-_PC/config-wxt.xml";
const MPP_CONFIG: &str = "/dms/Cisco_8851/001B44113AB7.xml";

async fn lab() -> Lab {
    let lab = Lab::start_with(LabOptions {
        settings: XspSettings {
            authservice: Some(AuthServiceSettings::new(
                AuthKeys::new(),
                AuthServiceMode::Basic,
            )),
            cluster_fqdn: Some("xsp.lab.example".into()),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    // Bob's Webex desktop profile, with device access credentials and SIP credentials.
    lab.store
        .add_device(&DeviceSpec {
            name: "bob-webex".into(),
            device_type: "Business Communicator - PC".into(),
            credentials: Some(DeviceCredentials {
                user_name: "bob-dms".into(),
                password: "dms-secret".into(),
            }),
            lines: vec![LineSpec {
                line_port: "bob_pc@lab.example".into(),
                user: "bob@lab.example".into(),
                auth_username: Some("bob_sip".into()),
                auth_password: Some("bob-sip-pw".into()),
                allow_termination: true,
                endpoint: bwlab_model::EndpointType::Primary,
                owner: None,
            }],
            ..Default::default()
        })
        .expect("device");
    lab
}

async fn device_token(lab: &Lab) -> String {
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let r = c
        .request(
            hyper::Method::POST,
            &user_path("alice@lab.example", "profile/DeviceToken"),
            &[],
            bytes::Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{r:?}");
    let text = r.text();
    let start = text.find("<token>").unwrap() + "<token>".len();
    let end = text.find("</token>").unwrap();
    text[start..end].to_owned()
}

#[tokio::test]
async fn device_credentials_fetch_that_devices_file() {
    let lab = lab().await;
    let mut c = lab.client().await.with_auth("bob-dms", "dms-secret");
    let r = c.get(PC_CONFIG).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/xml; charset=UTF-8")
    );
    let text = r.text();
    for part in [
        r#"<config device="bob-webex" type="Business Communicator - PC">"#,
        "<root>https://xsp.lab.example/</root>",
        "<actions>/com.broadsoft.xsi-actions/</actions>",
        "<events>/com.broadsoft.xsi-events/</events>",
        "<external-id>bob@lab.example</external-id>",
        "<identity>bob_pc@lab.example</identity>",
        "<username>bob_sip</username>",
        "<password>bob-sip-pw</password>",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let e = lab
        .journal
        .query(&Filter::kind(Kind::Http).attr("dms", "served"));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].attr("device"), Some("bob-webex"));
    assert_eq!(e[0].attr("auth"), Some("device-credentials"));
    let http = lab
        .journal
        .query(&Filter::kind(Kind::Http).attr("path", PC_CONFIG));
    assert_eq!(http.last().unwrap().attr("user"), Some("device:bob-webex"));

    // Path and file names are case-insensitive; another device's file is not this one's.
    assert_eq!(
        c.get("/dms/business_communicator_-_pc/CONFIG-WXT.XML")
            .await
            .status,
        200
    );
    assert_eq!(c.get(MPP_CONFIG).await.status, 404);
    assert_eq!(
        c.get("/dms/Business_Communicator_-_PC/other.xml")
            .await
            .status,
        404
    );
    let r = c.put(PC_CONFIG, &[], "x").await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));

    // Refusals: 401 with the Basic challenge and an ErrorInfo.
    let mut wrong = lab.client().await.with_auth("bob-dms", "nope");
    let mut portal = lab.client().await.with_auth("bob@lab.example", "Bob-pw1");
    let mut none = lab.client().await;
    for (who, client) in [
        ("wrong", &mut wrong),
        ("portal", &mut portal),
        ("none", &mut none),
    ] {
        let r = client.get(PC_CONFIG).await;
        assert_eq!(r.status, 401, "{who}: {r:?}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"BroadWorks\"")
        );
        assert!(r.text().contains("<ErrorInfo"), "{who}: {r:?}");
    }
    let reasons: Vec<String> = lab
        .journal
        .query(&Filter::kind(Kind::Http).attr("path", PC_CONFIG))
        .iter()
        .filter_map(|e| e.attr("auth").map(str::to_owned))
        .collect();
    assert!(
        reasons.contains(&"device-credentials-invalid".to_owned()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"dms-no-credentials".to_owned()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn device_token_is_single_use_and_covers_the_users_devices() {
    let lab = lab().await;
    let mut c = lab.client().await;

    // Alice's Webex desktop (a shared appearance on a soft client) and her MPP phone.
    let token = device_token(&lab).await;
    let auth = format!("Bearer {token}");
    let r = c.get_with(PC_CONFIG, &[("authorization", &auth)]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text()
            .contains("<identity>alice_sca_pc@lab.example</identity>"),
        "{r:?}"
    );
    assert!(
        r.text()
            .contains("<endpoint>Shared Call Appearance</endpoint>"),
        "{r:?}"
    );
    // Single use.
    let r = c.get_with(PC_CONFIG, &[("authorization", &auth)]).await;
    assert_eq!(r.status, 401, "{r:?}");

    let token = device_token(&lab).await;
    let r = c
        .get_with(MPP_CONFIG, &[("authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text()
            .contains(r#"<config device="alice-8851" type="Cisco 8851" mac="001B44113AB7">"#),
        "{r:?}"
    );
    assert!(
        r.text()
            .contains("<identity>alice_1@lab.example</identity>"),
        "{r:?}"
    );

    // A phone that is not one of hers: 404 for her token.
    let token = device_token(&lab).await;
    let r = c
        .get_with(
            "/dms/Cisco_8851/AABBCCDDEEFF.xml",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(r.status, 404, "{r:?}");

    // Tokens live 60 s on the lab clock.
    let token = device_token(&lab).await;
    lab.clock.advance(Duration::from_secs(61));
    let r = c
        .get_with(PC_CONFIG, &[("authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        lab.journal
            .query(&Filter::kind(Kind::Http).attr("auth", "device-token-invalid"))
            .len()
            >= 2
    );
}

#[tokio::test]
async fn broadworks_jwt_is_accepted_by_the_dms() {
    let lab = lab().await;
    let mut c = lab.client().await;
    let r = c
        .get_with(
            "/authService/token",
            &[("authorization", &basic("bob@lab.example", "Bob-pw1"))],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    let jwt = v["token"].as_str().unwrap().to_owned();
    let r = c
        .get_with(PC_CONFIG, &[("authorization", &format!("Bearer {jwt}"))])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text().contains("<identity>bob_pc@lab.example</identity>"),
        "{r:?}"
    );
    // A JWT with a broken signature is refused like any bad credential.
    let bad = format!("{}x", &jwt[..jwt.len() - 1]);
    let r = c
        .get_with(PC_CONFIG, &[("authorization", &format!("Bearer {bad}"))])
        .await;
    assert_eq!(r.status, 401, "{r:?}");
}
