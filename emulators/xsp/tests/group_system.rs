//! `group/{g}/services/CallCenter/…` and `system/services/RoutePoint/ApplicationController/{id}`
//! over real sockets: the documents of a lab without call centres or route points, the
//! group and system scope rules, and the `ready` refusal.

mod common;

use bytes::Bytes;
use common::{BASE, Client, Lab, Reply};
use hyper::Method;

async fn as_(lab: &Lab, login: &str, password: &str) -> Client {
    lab.client().await.with_auth(login, password)
}

async fn send(c: &mut Client, method: Method, rest: &str, body: &str) -> Reply {
    c.request(
        method,
        &format!("{BASE}/{rest}"),
        &[("content-type", "application/xml")],
        Bytes::from(body.to_owned()),
    )
    .await
    .expect("request")
}

const EXTERNAL: &str = "group/hq/services/CallCenter/ExternalReporting";
const CODES: &str = "group/hq/services/CallCenter/UnavailableCodes";
const CONTROLLER: &str = "system/services/RoutePoint/ApplicationController/ac-1";

#[tokio::test]
async fn group_call_center_settings() {
    let lab = Lab::start().await;
    let mut alice = as_(&lab, "alice@lab.example", "Alice-pw1").await;

    let r = send(&mut alice, Method::GET, EXTERNAL, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text().ends_with(
            r#"<ACDExternalReporting xmlns="http://schema.broadsoft.com/xsi"><mode>Off</mode></ACDExternalReporting>"#
        ),
        "{r:?}"
    );
    let r = send(
        &mut alice,
        Method::GET,
        &format!("{EXTERNAL}?enterpriseId=acme&format=json"),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().contains(r#""mode":{"$":"Off"}"#), "{r:?}");

    // UnavailableCodes needs the provider; enterpriseId wins over serviceProviderId.
    let r = send(&mut alice, Method::GET, CODES, "").await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("<errorCode>1101</errorCode>"), "{r:?}");
    let r = send(
        &mut alice,
        Method::GET,
        &format!("{CODES}?serviceProviderId=telco&enterpriseId=acme"),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text().contains(
            "<enableAgentUnavailableCodes>false</enableAgentUnavailableCodes><forceUseOfAgentUnavailableCodes>false</forceUseOfAgentUnavailableCodes><unavailableCodes/>"
        ),
        "{r:?}"
    );
    let r = send(
        &mut alice,
        Method::GET,
        &format!("{CODES}?enterpriseId=telco"),
        "",
    )
    .await;
    assert_eq!(r.status, 404, "{r:?}");

    // Methods and paths the spec does not define.
    let r = send(&mut alice, Method::PUT, EXTERNAL, "<x/>").await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));
    for rest in [
        "group/hq/services",
        "system/services",
        "group/hq/services/CallCenter/Other",
        "group/nowhere/services/CallCenter/ExternalReporting",
    ] {
        assert_eq!(
            send(&mut alice, Method::GET, rest, "").await.status,
            404,
            "{rest}"
        );
    }

    // Scope: the group's users and the administrators over it; nobody else.
    for (login, password, want) in [
        ("carol@lab.example", "pässwörd", 403),
        ("eve@telco.example", "Eve-pw1", 403),
        ("hq-admin@lab.example", "Hq-pw1", 200),
        ("hq-viewer@lab.example", "View-pw1", 200),
        ("acme-admin@lab.example", "Acme-pw1", 200),
        ("telco-admin@lab.example", "Telco-pw1", 403),
        ("sys-admin@lab.example", "Sys-pw1", 200),
    ] {
        let mut c = as_(&lab, login, password).await;
        c.auth = Some(common::basic_latin1(login, password));
        let r = send(&mut c, Method::GET, EXTERNAL, "").await;
        assert_eq!(r.status, want, "{login}: {r:?}");
    }
    let mut none = lab.client().await;
    assert_eq!(send(&mut none, Method::GET, EXTERNAL, "").await.status, 401);
}

#[tokio::test]
async fn route_point_application_controller() {
    let lab = Lab::start().await;
    let mut sys = as_(&lab, "sys-admin@lab.example", "Sys-pw1").await;
    let r = send(&mut sys, Method::GET, CONTROLLER, "").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text().ends_with(
            r#"<ApplicationController xmlns="http://schema.broadsoft.com/xsi"><state>not ready</state></ApplicationController>"#
        ),
        "{r:?}"
    );
    let doc = |state: &str| {
        format!(
            r#"<ApplicationController xmlns="http://schema.broadsoft.com/xsi"><state>{state}</state></ApplicationController>"#
        )
    };
    let r = send(&mut sys, Method::PUT, CONTROLLER, &doc("not ready")).await;
    assert_eq!(r.status, 200, "{r:?}");
    // No event channel set is associated with any controller: `ready` is refused.
    let r = send(&mut sys, Method::PUT, CONTROLLER, &doc("ready")).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.text().contains(&format!(
            "<errorCode>{}</errorCode>",
            bwlab_xsp::APPLICATION_CONTROLLER_NOT_READY_CODE
        )),
        "{r:?}"
    );
    for bad in [
        doc("busy"),
        r#"<Other xmlns="http://schema.broadsoft.com/xsi"/>"#.to_owned(),
    ] {
        let r = send(&mut sys, Method::PUT, CONTROLLER, &bad).await;
        assert_eq!(r.status, 400, "{bad}: {r:?}");
        assert!(r.text().contains("<errorCode>1001</errorCode>"), "{r:?}");
    }
    assert_eq!(
        send(&mut sys, Method::PUT, CONTROLLER, "").await.status,
        400
    );
    let r = send(&mut sys, Method::DELETE, CONTROLLER, "").await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, PUT")));

    // System resources are for system administrators only.
    for (login, password) in [
        ("alice@lab.example", "Alice-pw1"),
        ("acme-admin@lab.example", "Acme-pw1"),
        ("hq-admin@lab.example", "Hq-pw1"),
    ] {
        let mut c = as_(&lab, login, password).await;
        let r = send(&mut c, Method::GET, CONTROLLER, "").await;
        assert_eq!(r.status, 403, "{login}: {r:?}");
    }
}
