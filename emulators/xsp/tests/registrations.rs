//! `GET user/{u}/profile/Registrations` over real sockets: the live SIP bindings of the
//! user's endpoints, from the store's registrar state, in XML and JSON.

mod common;

use bwlab_model::Registration;
use common::{Lab, user_path};

fn seed(lab: &Lab) {
    let now = lab.clock.now();
    let mut primary = Registration::new(
        "sip:alice_1@198.51.100.7:5061;transport=tls",
        now + time::Duration::seconds(3600),
    );
    primary.public_addr = Some("198.51.100.7:5061".parse().unwrap());
    primary.private_addr = Some("10.0.0.7:5060".parse().unwrap());
    primary.user_agent = Some("Cisco-CP8851/14.2".into());
    primary.path = Some("<sip:sbc.lab.example;lr>".into());
    assert!(lab.store.register("alice_1@lab.example", primary));
    assert!(lab.store.register(
        "alice_sca_pc@lab.example",
        Registration::new(
            "sip:alice_sca_pc@10.0.0.9:5060",
            now + time::Duration::seconds(60)
        ),
    ));
    // Lapsed: not listed.
    assert!(lab.store.register(
        "alice_1@lab.example",
        Registration::new("sip:alice_1@10.9.9.9", now - time::Duration::seconds(1)),
    ));
}

#[tokio::test]
async fn registrations_xml_json_and_scope() {
    let lab = Lab::start().await;
    seed(&lab);
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let path = user_path("alice@lab.example", "profile/Registrations");
    let r = c.get(&path).await;
    assert_eq!(r.status, 200, "{r:?}");
    let expires = (lab.clock.now() + time::Duration::seconds(3600))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let first = format!(
        "<registration><endpointType>Primary</endpointType>\
         <uri>sip:alice_1@198.51.100.7:5061;transport=tls</uri>\
         <expiration>{expires}</expiration><linePort>alice_1@lab.example</linePort>\
         <publicIP>198.51.100.7</publicIP><publicPort>5061</publicPort>\
         <privateIP>10.0.0.7</privateIP><privatePort>5060</privatePort>\
         <userAgent>Cisco-CP8851/14.2</userAgent>\
         <pathHeader>&lt;sip:sbc.lab.example;lr&gt;</pathHeader></registration>"
    );
    let text = r.text();
    assert!(text.contains(&first), "{text}");
    assert!(
        text.contains(
            "<endpointType>Shared Call Appearance</endpointType><uri>sip:alice_sca_pc@10.0.0.9:5060</uri>"
        ),
        "{text}"
    );
    assert_eq!(text.matches("<registration>").count(), 2, "{text}");
    assert!(!text.contains("10.9.9.9"), "expired binding listed: {text}");

    // JSON, path matched case-insensitively.
    let r = c
        .get(&user_path(
            "alice@lab.example",
            "PROFILE/registrations?format=json",
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    let text = r.text();
    assert!(text.starts_with(r#"{"Registrations":{"#), "{text}");
    assert!(text.contains(r#""publicPort":{"$":"5061"}"#), "{text}");
    assert!(
        text.contains(r#""linePort":{"$":"alice_sca_pc@lab.example"}"#),
        "{text}"
    );

    // Unregistering empties the list; a user without bindings gets an empty document.
    lab.store.unregister("alice_1@lab.example", None);
    lab.store.unregister("alice_sca_pc@lab.example", None);
    let r = c.get(&path).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text()
            .ends_with("<Registrations xmlns=\"http://schema.broadsoft.com/xsi\"/>"),
        "{r:?}"
    );

    // Scope and method rules as for every profile resource.
    let r = c
        .get(&user_path("bob@lab.example", "profile/Registrations"))
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    let r = c.put(&path, &[], "<x/>").await;
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.header("allow"), Some("GET"));
    let mut admin = lab
        .client()
        .await
        .with_auth("hq-admin@lab.example", "Hq-pw1");
    assert_eq!(admin.get(&path).await.status, 200);
}
