//! `profile/PushNotificationRegistrations` over real TLS sockets.

mod common;

use bytes::Bytes;
use common::{Lab, LabOptions, user_path};
use hyper::Method;

const REG: &str = r#"<PushNotificationRegistration xmlns="http://schema.broadsoft.com/xsi"><applicationId>com.example.softphone</applicationId><applicationVersion>5.2.0</applicationVersion><registrationId>inst-1</registrationId><deviceOSType>Android</deviceOSType><deviceOSVersion>14</deviceOSVersion><deviceTokenList><deviceToken><token>tok-a</token><type>VoIP</type><pushNotificationEvents><eventDetail><name>NEW_CALL</name><silent>false</silent></eventDetail></pushNotificationEvents></deviceToken></deviceTokenList></PushNotificationRegistration>"#;

const LEGACY: &str = r#"<PushNotificationRegistration xmlns="http://schema.broadsoft.com/xsi"><applicationId>com.example.softphone</applicationId><applicationVersion>5.2.0</applicationVersion><registrationId>inst-2</registrationId><deviceOSType>iOS</deviceOSType><deviceOSVersion>17</deviceOSVersion><deviceTokenList><deviceToken><token>tok-b</token><pushNotificationEvents><event>NEW_CALL</event><event>MWI</event></pushNotificationEvents></deviceToken></deviceTokenList></PushNotificationRegistration>"#;

async fn send(c: &mut common::Client, method: Method, path: &str, body: &str) -> common::Reply {
    c.request(
        method,
        path,
        &[("content-type", "application/xml")],
        Bytes::from(body.to_owned()),
    )
    .await
    .expect("request")
}

#[tokio::test]
async fn register_list_and_deregister() {
    let lab = Lab::start().await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let list = user_path("alice@lab.example", "profile/PushNotificationRegistrations");
    let new = format!("{list}/new");

    let r = c.get(&list).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.text().contains("pushNotificationRegistration>"), "{r:?}");

    let r = send(&mut c, Method::POST, &new, REG).await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = send(&mut c, Method::POST, &new, LEGACY).await;
    assert_eq!(r.status, 201, "{r:?}");

    let r = c.get(&list).await;
    assert_eq!(r.status, 200, "{r:?}");
    let t = r.text();
    assert!(t.contains("<registrationId>inst-1</registrationId>"), "{t}");
    assert!(t.contains("<type>VoIP</type>"), "{t}");
    assert!(
        t.contains("<eventDetail><name>NEW_CALL</name><silent>false</silent></eventDetail>"),
        "{t}"
    );
    assert!(
        t.contains("<event>NEW_CALL</event><event>MWI</event>"),
        "{t}"
    );
    assert_eq!(
        lab.store
            .push_registrations(lab.store.find_user("alice@lab.example").unwrap().idx)
            .unwrap()
            .len(),
        2
    );

    let r = c.get(&format!("{list}?registrationId=inst-2")).await;
    assert!(!r.text().contains("inst-1"), "{r:?}");
    assert!(r.text().contains("inst-2"), "{r:?}");

    // Same registrationId again replaces.
    let r = send(&mut c, Method::POST, &new, &REG.replace("tok-a", "tok-c")).await;
    assert_eq!(r.status, 201, "{r:?}");
    let t = c.get(&list).await.text();
    assert!(t.contains("tok-c") && !t.contains("tok-a"), "{t}");

    // Bad bodies, wrong methods.
    let r = send(&mut c, Method::POST, &new, "<nope/>").await;
    assert_eq!(r.status, 400, "{r:?}");
    let r = send(&mut c, Method::PUT, &list, REG).await;
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(c.get(&new).await.status, 405);

    // Deregister by token, by id, nothing left.
    let r = send(&mut c, Method::DELETE, &format!("{list}?token=tok-b"), "").await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = send(
        &mut c,
        Method::DELETE,
        &format!("{list}?registrationId=gone"),
        "",
    )
    .await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = send(
        &mut c,
        Method::DELETE,
        &format!("{list}?registrationId=inst-1"),
        "",
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert!(!c.get(&list).await.text().contains("registrationId"));

    // Another user's registrations are out of scope.
    let bob = user_path("bob@lab.example", "profile/PushNotificationRegistrations");
    let r = c.get(&bob).await;
    assert_eq!(r.status, 403, "{r:?}");
}

#[tokio::test]
async fn release_without_the_feature_answers_404() {
    let lab = Lab::start_with(LabOptions {
        profile: "r22-no-push",
        ..Default::default()
    })
    .await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let list = user_path("alice@lab.example", "profile/PushNotificationRegistrations");
    let r = c.get(&list).await;
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.text().contains("ErrorInfo"), "{r:?}");
    let r = send(&mut c, Method::POST, &format!("{list}/new"), LEGACY).await;
    assert_eq!(r.status, 404, "{r:?}");
}

#[tokio::test]
async fn event_detail_needs_the_patch() {
    let lab = Lab::start_with(LabOptions {
        profile: "r22-unpatched",
        ..Default::default()
    })
    .await;
    let mut c = lab
        .client()
        .await
        .with_auth("alice@lab.example", "Alice-pw1");
    let list = user_path("alice@lab.example", "profile/PushNotificationRegistrations");
    let new = format!("{list}/new");
    let r = send(&mut c, Method::POST, &new, REG).await;
    assert_eq!(r.status, 400, "{r:?}");
    let r = send(&mut c, Method::POST, &new, LEGACY).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert!(c.get(&list).await.text().contains("<event>MWI</event>"));
}
