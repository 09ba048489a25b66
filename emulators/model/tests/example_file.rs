//! The documented example lab file must load, and must mean what the docs say it means.

use std::path::PathBuf;
use std::time::Duration;

use bwlab_core::clock::LabClock;
use bwlab_model::services::{BusyLampField, CallForwardingNoAnswer, RecordingMode};
use bwlab_model::{
    AuthEncoding, AuthOutcome, EndpointType, ServiceKind, Store, decode_basic, encode_basic,
};
use time::macros::datetime;

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/lab.yaml")
}

fn load() -> (Store, LabClock) {
    let clock = LabClock::frozen_at(datetime!(2026-01-10 12:00 UTC));
    let store = match Store::from_yaml_file(example_path(), clock.clone()) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    (store, clock)
}

#[test]
fn example_loads_with_everything_in_it() {
    let (store, _) = load();
    assert_eq!(store.enterprises().len(), 2);
    assert_eq!(store.groups().len(), 3);
    assert_eq!(store.user_count(), 6);
    assert_eq!(store.device_count(), 3);
    assert_eq!(store.admins().len(), 4);
    assert!(!store.find_enterprise("telco").unwrap().is_enterprise);
    assert!(store.find_enterprise("acme").unwrap().is_enterprise);
}

#[test]
fn example_users_services_and_devices() {
    let (store, _) = load();
    let alice = store.find_user("alice@acme.example").unwrap();
    assert_eq!(alice.user_id, "alice@lab.example");
    assert_eq!(alice.time_zone.name, "America/New_York");
    assert_eq!(alice.location_dialing_code.as_deref(), Some("12"));
    assert_eq!(alice.extension_with_ldc().as_deref(), Some("12101"));
    let cfna: CallForwardingNoAnswer = store.service(alice.idx).unwrap();
    assert_eq!(cfna.number_of_rings, 4);
    let blf: BusyLampField = store.service(alice.idx).unwrap();
    assert_eq!(blf.monitored_users.len(), 2);
    let rec: bwlab_model::services::CallRecording = store.service(alice.idx).unwrap();
    assert_eq!(rec.recording_mode, RecordingMode::OnDemand);
    assert!(alice.has_service(ServiceKind::IntegratedImp));
    assert_eq!(store.call_logs(alice.idx, None).unwrap().len(), 2);
    assert_eq!(
        store
            .message_summary(alice.idx)
            .unwrap()
            .new_urgent_messages,
        1
    );

    let carol = store.find_user("carol@lab.example").unwrap();
    assert_eq!(
        carol.time_zone.name, "Europe/Paris",
        "inherited from the branch group"
    );
    assert_eq!(&*carol.language, "French");
    let frank = store.find_user("frank@lab.example").unwrap();
    assert_eq!(frank.group_id.as_ref(), "branch");
    assert_eq!(
        store
            .dial(&alice, "343402")
            .map(|u| u.user_id.clone())
            .as_deref(),
        Some("frank@lab.example"),
        "LDC 34 + extension 3402 from another group"
    );

    let bob = store.find_user("bob@lab.example").unwrap();
    let eps = store.user_endpoints(bob.idx).unwrap();
    assert_eq!(eps.len(), 2);
    let (phone, line) = &eps[0];
    assert_eq!(phone.name, "alice-8851");
    assert_eq!(
        phone.lines[*line].endpoint,
        EndpointType::SharedCallAppearance
    );
    assert!(!phone.lines[*line].owner);
    assert_eq!(
        store.find_device_by_mac("00-1b-44-11-3a-b7").unwrap().name,
        "alice-8851"
    );
}

#[test]
fn example_password_semantics() {
    let (store, clock) = load();
    let now = clock.now();
    match store.authenticate("alice@lab.example", "s3cret!", now) {
        AuthOutcome::Ok {
            days_to_expiry: Some(7),
            expiring_soon: true,
            ..
        } => {}
        other => panic!("unexpected {}", other.name()),
    }
    assert!(matches!(
        store.authenticate("bob@lab.example", "hunter2-bob", now),
        AuthOutcome::ExpiredEnforced { .. }
    ));
    assert!(matches!(
        store.authenticate("dave@telco.example", "dave-pw", now),
        AuthOutcome::Locked
    ));
    // Carol's password is not ASCII: the XSP default encoding refuses a browser's login.
    let header = encode_basic("carol@lab.example", "pässwörd", AuthEncoding::Utf8).unwrap();
    let latin = decode_basic(&header, AuthEncoding::Iso8859_1).unwrap();
    assert!(matches!(
        store.authenticate(&latin.login, &latin.password, now),
        AuthOutcome::WrongPassword
    ));
    let utf8 = decode_basic(&header, AuthEncoding::Utf8).unwrap();
    assert!(
        store
            .authenticate(&utf8.login, &utf8.password, now)
            .is_allowed()
    );
    // Alice's passcode works with her number, not with her user id.
    assert!(store.authenticate("+15550100101", "4321", now).is_allowed());
    assert!(
        !store
            .authenticate("alice@lab.example", "4321", now)
            .is_allowed()
    );
    // A week later Alice's password has expired too.
    clock.advance(Duration::from_secs(7 * 86_400));
    assert!(matches!(
        store.authenticate("alice@acme.example", "s3cret!", clock.now()),
        AuthOutcome::ExpiredEnforced { days_ago: 0 }
    ));
}

#[test]
fn example_admin_scopes() {
    let (store, _) = load();
    let alice = store.find_user("alice@lab.example").unwrap();
    let carol = store.find_user("carol@lab.example").unwrap();
    let dave = store.find_user("dave@telco.example").unwrap();
    let sys = store.find_admin("admin@lab.example").unwrap();
    let acme = store.find_admin("acme-admin@lab.example").unwrap();
    let viewer = store.find_admin("HQ-Viewer@lab.example").unwrap();
    assert!(sys.can_access_user(&dave));
    assert!(acme.can_access_user(&carol) && !acme.can_access_user(&dave));
    assert!(viewer.can_access_user(&alice) && !viewer.can_access_user(&carol));
    assert!(!viewer.can_modify_user(&alice), "read-only");
    let prov = store.find_admin("provisioning@lab.example").unwrap();
    assert_eq!(prov.admin_type, bwlab_model::AdminType::Provisioning);
    assert!(!prov.read_only);
}

#[test]
fn guide_shows_the_example_file_verbatim() {
    let guide = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/lab-data.md"),
    )
    .unwrap();
    let start = guide.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let len = guide[start..].find("```").unwrap();
    let file = std::fs::read_to_string(example_path()).unwrap();
    assert_eq!(
        &guide[start..start + len],
        file,
        "docs/lab-data.md and docs/examples/lab.yaml differ"
    );
}
