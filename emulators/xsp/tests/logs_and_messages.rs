//! Call logs, voice messages and the calls list over real TLS sockets.

mod common;

use std::sync::Arc;

use bwlab_model::{
    CallLogKind, CallingParty, MediaType, NewCallLog, NewVoiceMessage, ServiceKind, UserIdx,
};
use bwlab_xsi::XsiDocument;
use bwlab_xsi::documents::call_logs::{CallLogs, EnhancedCallLogs};
use bwlab_xsi::documents::voice_messages::{VoiceMessage, VoiceMessagingMessages};
use bytes::Bytes;
use common::{Client, Lab, Reply, user_path};
use hyper::Method;

const ALICE: &str = "alice@lab.example";

async fn alice(lab: &Lab) -> Client {
    lab.client().await.with_auth(ALICE, "Alice-pw1")
}

async fn send(c: &mut Client, method: Method, rest: &str) -> Reply {
    c.request(method, &user_path(ALICE, rest), &[], Bytes::new())
        .await
        .expect("request")
}

fn alice_idx(lab: &Lab) -> UserIdx {
    lab.store.find_user(ALICE).unwrap().idx
}

fn seed_logs(lab: &Lab) {
    let idx = alice_idx(lab);
    let now = lab.clock.now();
    for (kind, name, number) in [
        (CallLogKind::Placed, "Bob Li", "+15550100102"),
        (CallLogKind::Placed, "Carol Ng", "3401"),
        (CallLogKind::Received, "Bob Li", "+15550100102"),
        (CallLogKind::Missed, "Eve Other", "+15550177777"),
    ] {
        lab.store
            .append_call_log(
                idx,
                NewCallLog {
                    kind,
                    name: name.into(),
                    number: number.into(),
                    time: now,
                },
            )
            .unwrap();
    }
}

#[tokio::test]
async fn call_logs_list_and_delete() {
    let lab = Lab::start().await;
    seed_logs(&lab);
    let idx = alice_idx(&lab);
    let mut c = alice(&lab).await;

    let r = send(&mut c, Method::GET, "directories/CallLogs").await;
    assert_eq!(r.status, 200, "{r:?}");
    let logs = CallLogs::from_xml(&r.body).unwrap();
    let placed = logs.placed.unwrap().entries;
    assert_eq!(placed.len(), 2);
    assert_eq!(placed[0].name, "Carol Ng", "newest first");
    assert_eq!(placed[1].country_code, Some(1));
    assert_eq!(placed[1].phone_number, "5550100102");
    assert_eq!(logs.received.unwrap().entries.len(), 1);
    let missed = logs.missed.unwrap().entries;
    assert_eq!(missed.len(), 1);
    assert!(missed[0].call_log_id.ends_with(":0"), "{missed:?}");

    // One type: a CallLogs document with only that list (what the schema accepts).
    let r = send(&mut c, Method::GET, "directories/calllogs/Missed").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text().contains(
            r#"<CallLogs xmlns="http://schema.broadsoft.com/xsi"><missed><callLogsEntry>"#
        ),
        "{r:?}"
    );
    let only = CallLogs::from_xml(&r.body).unwrap();
    assert!(only.placed.is_none() && only.received.is_none());
    assert_eq!(only.missed.unwrap().entries.len(), 1);

    // Delete one entry by id.
    let id = placed[0].call_log_id.clone();
    let r = send(
        &mut c,
        Method::DELETE,
        &format!("directories/CallLogs/Placed/{id}"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let left = lab.store.call_logs(idx, Some(CallLogKind::Placed)).unwrap();
    assert_eq!(left.len(), 1);
    assert_ne!(left[0].call_log_id, id);
    // Again: gone → 404 ErrorInfo. GET on an entry is not a thing → 405.
    let r = send(
        &mut c,
        Method::DELETE,
        &format!("directories/CallLogs/Placed/{id}"),
    )
    .await;
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.text().contains("<ErrorInfo"), "{r:?}");
    let r = send(
        &mut c,
        Method::GET,
        &format!("directories/CallLogs/Placed/{id}"),
    )
    .await;
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.header("allow"), Some("DELETE"));

    // Clear one type, then everything.
    let r = send(&mut c, Method::DELETE, "directories/CallLogs/Received").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        lab.store
            .call_logs(idx, Some(CallLogKind::Received))
            .unwrap()
            .is_empty()
    );
    assert_eq!(lab.store.call_logs(idx, None).unwrap().len(), 2);
    let r = send(&mut c, Method::DELETE, "directories/CallLogs").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(lab.store.call_logs(idx, None).unwrap().is_empty());

    // JSON of an empty list.
    let r = send(
        &mut c,
        Method::GET,
        "directories/CallLogs/Placed?format=json",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.text(),
        r#"{"CallLogs":{"@xmlns":{"$":"http://schema.broadsoft.com/xsi"},"placed":{}}}"#
    );
}

#[tokio::test]
async fn single_type_call_logs_as_bare_list_when_asked() {
    let lab = Lab::start_with(common::LabOptions {
        settings: bwlab_xsp::XspSettings {
            call_log_subset_shape: bwlab_xsp::CallLogSubsetShape::BareList,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    seed_logs(&lab);
    let mut c = alice(&lab).await;
    // The spec examples' shape: the list element itself is the root.
    let r = send(&mut c, Method::GET, "directories/CallLogs/Missed").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text()
            .contains(r#"<missed xmlns="http://schema.broadsoft.com/xsi"><callLogsEntry>"#),
        "{r:?}"
    );
    let r = send(
        &mut c,
        Method::GET,
        "directories/CallLogs/Placed?format=json",
    )
    .await;
    assert!(r.text().starts_with(r#"{"placed":{"@xmlns""#), "{r:?}");
    // The full list is unaffected.
    let r = send(&mut c, Method::GET, "directories/CallLogs").await;
    assert!(CallLogs::from_xml(&r.body).is_ok(), "{r:?}");
}

#[tokio::test]
async fn call_logs_need_the_service_and_enhanced_logs_page() {
    let lab = Lab::start().await;
    seed_logs(&lab);
    let mut c = alice(&lab).await;

    // Bob has no Basic Call Logs.
    let mut bob = lab.client().await.with_auth("bob@lab.example", "Bob-pw1");
    let r = bob
        .get(&user_path("bob@lab.example", "directories/CallLogs"))
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("<errorCode>3004</errorCode>"), "{r:?}");

    // Alice lacks Enhanced Call Logs until it is assigned.
    let r = send(&mut c, Method::GET, "directories/EnhancedCallLogs").await;
    assert_eq!(r.status, 400, "{r:?}");
    lab.store
        .assign_service(alice_idx(&lab), ServiceKind::EnhancedCallLogs)
        .unwrap();
    let r = send(
        &mut c,
        Method::GET,
        "directories/EnhancedCallLogs/Placed?results=1",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let logs = EnhancedCallLogs::from_xml(&r.body).unwrap();
    assert_eq!((logs.start_index, logs.number_of_records), (1, 1));
    assert!(logs.received.is_none() && logs.missed.is_none());
    let r = send(
        &mut c,
        Method::GET,
        "directories/EnhancedCallLogs?start=2&format=json",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text()
            .starts_with(r#"{"EnhancedCallLogs":{"@xmlns":{"$":"http://schema.broadsoft.com/xsi"},"startIndex":{"$":"2"},"numberOfRecords":{"$":"1"}"#),
        "{r:?}"
    );
    let r = send(&mut c, Method::GET, "directories/EnhancedCallLogs?start=0").await;
    assert_eq!(r.status, 400, "{r:?}");
}

fn seed_messages(lab: &Lab) -> (String, String) {
    let idx = alice_idx(lab);
    lab.store
        .assign_service(idx, ServiceKind::VoiceMessaging)
        .unwrap();
    let with_media = lab
        .store
        .deposit_voice_message(
            idx,
            NewVoiceMessage {
                from: CallingParty {
                    name: Some("Bob Li".into()),
                    address: Some("tel:+15550100102".into()),
                    ..Default::default()
                },
                duration_ms: Some(8200),
                urgent: true,
                media_type: MediaType::Mp3,
                content: Some(Arc::from(&b"foobar"[..])),
                ..Default::default()
            },
        )
        .unwrap();
    let synthetic = lab
        .store
        .deposit_voice_message(
            idx,
            NewVoiceMessage {
                duration_ms: Some(1000),
                ..Default::default()
            },
        )
        .unwrap();
    (with_media.id, synthetic.id)
}

#[tokio::test]
async fn voice_messages_list_get_mark_delete() {
    let lab = Lab::start().await;
    let (media_id, synth_id) = seed_messages(&lab);
    let idx = alice_idx(&lab);
    let mut c = alice(&lab).await;

    let r = send(&mut c, Method::GET, "VoiceMessagingMessages").await;
    assert_eq!(r.status, 200, "{r:?}");
    let list = VoiceMessagingMessages::from_xml(&r.body).unwrap();
    assert_eq!(list.messages.len(), 2);
    let prefix = format!("/v2.0/user/{ALICE}/voicemessagingmessages/");
    let ids: Vec<&str> = list
        .messages
        .iter()
        .map(|m| m.message_id.as_deref().unwrap())
        .collect();
    assert!(
        ids.contains(&format!("{prefix}{media_id}").as_str()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&format!("{prefix}{synth_id}").as_str()),
        "{ids:?}"
    );
    let m = list
        .messages
        .iter()
        .find(|m| m.urgent)
        .expect("urgent message");
    assert_eq!(m.duration, Some(8200));
    assert_eq!(
        m.calling_party_info.as_ref().unwrap().name.as_deref(),
        Some("Bob Li")
    );
    assert!(!m.read);

    // One message, fetched through its messageId path: base64 of the stored bytes.
    let r = c
        .get(&format!("/com.broadsoft.xsi-actions{prefix}{media_id}"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let vm = VoiceMessage::from_xml(&r.body).unwrap();
    assert_eq!(vm.media.content_base64, "Zm9vYmFy");
    assert_eq!(vm.media.media_type.as_str(), "MP3");
    // Without stored media: a synthetic WAV ("RIFF" → "UklGR").
    let r = send(
        &mut c,
        Method::GET,
        &format!("VoiceMessagingMessages/{synth_id}"),
    )
    .await;
    let vm = VoiceMessage::from_xml(&r.body).unwrap();
    assert_eq!(vm.media.media_type.as_str(), "WAV");
    assert!(vm.media.content_base64.starts_with("UklGR"), "{vm:?}");

    // Mark read / unread, visible in the message summary.
    assert_eq!(
        lab.store.message_summary(idx).unwrap().new_urgent_messages,
        1
    );
    let r = send(
        &mut c,
        Method::PUT,
        &format!("VoiceMessagingMessages/{media_id}/MarkAsRead"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let s = lab.store.message_summary(idx).unwrap();
    assert_eq!((s.new_urgent_messages, s.old_urgent_messages), (0, 1));
    let r = send(
        &mut c,
        Method::PUT,
        &format!("VoiceMessagingMessages/{media_id}/markasunread"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        lab.store.message_summary(idx).unwrap().new_urgent_messages,
        1
    );
    let r = send(&mut c, Method::PUT, "VoiceMessagingMessages/MarkAllAsRead").await;
    assert_eq!(r.status, 200, "{r:?}");
    let s = lab.store.message_summary(idx).unwrap();
    assert_eq!((s.new_messages, s.new_urgent_messages), (0, 0));
    let r = send(
        &mut c,
        Method::PUT,
        "VoiceMessagingMessages/MarkAllAsUnread",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(lab.store.message_summary(idx).unwrap().new_messages, 1);
    // GET on an action is refused.
    let r = send(&mut c, Method::GET, "VoiceMessagingMessages/MarkAllAsRead").await;
    assert_eq!(r.status, 405, "{r:?}");

    // Delete, then everything about that id is 404.
    let r = send(
        &mut c,
        Method::DELETE,
        &format!("VoiceMessagingMessages/{media_id}"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(lab.store.voice_message(idx, &media_id).unwrap().is_none());
    for (m, rest) in [
        (Method::GET, String::new()),
        (Method::DELETE, String::new()),
        (Method::PUT, "/MarkAsRead".to_owned()),
    ] {
        let r = send(
            &mut c,
            m,
            &format!("VoiceMessagingMessages/{media_id}{rest}"),
        )
        .await;
        assert_eq!(r.status, 404, "{rest}: {r:?}");
        assert!(r.text().contains("<errorCode>3001</errorCode>"), "{r:?}");
    }
}

#[tokio::test]
async fn voice_messages_json_service_and_scope() {
    let lab = Lab::start().await;
    let mut c = alice(&lab).await;
    // Not assigned yet.
    let r = send(&mut c, Method::GET, "VoiceMessagingMessages").await;
    assert_eq!(r.status, 400, "{r:?}");
    let (_, synth_id) = seed_messages(&lab);

    let r = send(&mut c, Method::GET, "VoiceMessagingMessages?format=json").await;
    assert_eq!(r.status, 200, "{r:?}");
    let t = r.text();
    assert!(t.starts_with(r#"{"VoiceMessagingMessages":{"#), "{t}");
    assert!(
        t.contains(&format!(
            r#""messageId":{{"$":"/v2.0/user/{ALICE}/voicemessagingmessages/{synth_id}"}}"#
        )),
        "{t}"
    );
    let r = send(
        &mut c,
        Method::GET,
        &format!("VoiceMessagingMessages/{synth_id}?format=json"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().contains(r#""mediaType":{"$":"WAV"}"#), "{r:?}");

    // A read-only admin may list but not mark; another user may not list.
    let mut viewer = lab
        .client()
        .await
        .with_auth("hq-viewer@lab.example", "View-pw1");
    let r = viewer
        .get(&user_path(ALICE, "VoiceMessagingMessages"))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = viewer
        .put(
            &user_path(ALICE, "VoiceMessagingMessages/MarkAllAsRead"),
            &[],
            "",
        )
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    let mut bob = lab.client().await.with_auth("bob@lab.example", "Bob-pw1");
    let r = bob.get(&user_path(ALICE, "VoiceMessagingMessages")).await;
    assert_eq!(r.status, 403, "{r:?}");
}

#[tokio::test]
async fn calls_list_is_empty_but_valid() {
    let lab = Lab::start().await;
    let mut c = alice(&lab).await;
    let r = send(&mut c, Method::GET, "calls").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.text()
            .ends_with(r#"<Calls xmlns="http://schema.broadsoft.com/xsi"/>"#)
            || r.text()
                .ends_with(r#"<Calls xmlns="http://schema.broadsoft.com/xsi"></Calls>"#),
        "{r:?}"
    );
    let r = send(&mut c, Method::GET, "Calls?format=json").await;
    assert_eq!(
        r.text(),
        r#"{"Calls":{"@xmlns":{"$":"http://schema.broadsoft.com/xsi"}}}"#
    );
    let r = send(&mut c, Method::DELETE, "calls").await;
    assert_eq!(r.status, 405, "{r:?}");
}
