//! `user/{u}/directories/{Enterprise,Group,Personal,EnterpriseCommon,GroupCommon}` over
//! real TLS sockets: search criteria, wildcards, `/i`, OR mode, sorting and paging.

mod common;

use bwlab_xsi::XsiDocument;
use bwlab_xsi::documents::directories::{EnterpriseDirectory, GroupDirectory, Paging};
use common::{Client, Lab, user_path};

const ALICE: &str = "alice@lab.example";

async fn alice(lab: &Lab) -> Client {
    lab.client().await.with_auth(ALICE, "Alice-pw1")
}

/// GET `directories/{dir_query}` as Alice; asserts 200 and parses a Group directory.
async fn group(c: &mut Client, query: &str) -> GroupDirectory {
    let r = c
        .get(&user_path(ALICE, &format!("directories/{query}")))
        .await;
    assert_eq!(r.status, 200, "{query}: {r:?}");
    GroupDirectory::from_xml(&r.body).unwrap_or_else(|e| panic!("{query}: {e}: {r:?}"))
}

fn ids(d: &GroupDirectory) -> Vec<&str> {
    d.entries
        .iter()
        .map(|e| e.details.user_id.as_str())
        .collect()
}

#[tokio::test]
async fn group_search_wildcards_case_flag_and_default_sort() {
    let lab = Lab::start().await;
    let mut c = alice(&lab).await;

    // Starts-with, case-sensitive; sorted by lastName ascending (Li < Liddell < Locked).
    let d = group(&mut c, "Group?lastName=L*").await;
    assert_eq!(
        ids(&d),
        ["bob@lab.example", "alice@lab.example", "dave@lab.example"]
    );
    assert_eq!(
        d.paging,
        Paging {
            start_index: 1,
            number_of_records: 3,
            total_available_records: 3
        }
    );

    // Case-sensitive by default: lower-case finds nothing; `/i` makes it insensitive.
    assert_eq!(group(&mut c, "Group?lastName=l*").await.entries.len(), 0);
    assert_eq!(group(&mut c, "Group?lastName=l*/i").await.entries.len(), 3);
    // Exact match without a wildcard; contains with `*x*`.
    assert_eq!(
        ids(&group(&mut c, "Group?lastName=Li").await),
        ["bob@lab.example"]
    );
    assert_eq!(
        ids(&group(&mut c, "Group?lastName=*idd*").await),
        ["alice@lab.example"]
    );
    // Case-insensitive path segment.
    assert_eq!(
        group(&mut c, "group?firstName=ALICE/i").await.entries.len(),
        1
    );
    // Number and extension criteria.
    assert_eq!(
        ids(&group(&mut c, "Group?extension=102").await),
        ["bob@lab.example"]
    );
    assert_eq!(
        ids(&group(&mut c, "Group?number=*0100101").await),
        ["alice@lab.example"]
    );
    // Each entry carries the user's details.
    let d = group(&mut c, "Group?userId=alice@lab.example").await;
    let e = &d.entries[0];
    assert_eq!(e.details.first_name.as_deref(), Some("Alice"));
    assert_eq!(e.details.extension.as_deref(), Some("101"));
    assert_eq!(e.details.group_id.as_deref(), Some("hq"));
}

#[tokio::test]
async fn or_mode_and_sorting() {
    let lab = Lab::start().await;
    let mut c = alice(&lab).await;

    // AND (default): nobody is both Bob and Locked.
    assert_eq!(
        group(&mut c, "Group?firstName=Bob&lastName=Locked")
            .await
            .entries
            .len(),
        0
    );
    let d = group(
        &mut c,
        "Group?firstName=Bob&lastName=Locked&searchCriteriaModeOr=true",
    )
    .await;
    assert_eq!(ids(&d), ["bob@lab.example", "dave@lab.example"]);

    // A repeated single-valued parameter counts once, with its first value (§1.2).
    assert_eq!(
        ids(&group(
            &mut c,
            "Group?lastName=Li&lastName=Locked&searchCriteriaModeOr=true"
        )
        .await),
        ["bob@lab.example"]
    );
    // `mpName` repeats; every value must be contained in the name.
    assert_eq!(
        ids(&group(&mut c, "Group?mpName=Lid&mpName=Ali").await),
        ["alice@lab.example"]
    );
    assert!(
        group(&mut c, "Group?mpName=Lid&mpName=Bob")
            .await
            .entries
            .is_empty()
    );
    let d = group(&mut c, "Group?sortColumn=firstName/desc").await;
    assert_eq!(
        ids(&d),
        [
            "erin@lab.example",
            "dave@lab.example",
            "bob@lab.example",
            "alice@lab.example"
        ]
    );
    let d = group(&mut c, "Group?sortColumn=lastName").await;
    assert_eq!(ids(&d)[0], "erin@lab.example", "Expired < Li < ...");

    let r = c
        .get(&user_path(ALICE, "directories/Group?sortColumn=shoeSize"))
        .await;
    assert_eq!(r.status, 400, "{r:?}");
}

#[tokio::test]
async fn paging_boundaries() {
    let lab = Lab::start().await;
    let mut c = alice(&lab).await;

    let d = group(&mut c, "Group?start=2&results=2").await;
    assert_eq!(ids(&d), ["bob@lab.example", "alice@lab.example"]);
    assert_eq!(
        d.paging,
        Paging {
            start_index: 2,
            number_of_records: 2,
            total_available_records: 4
        }
    );
    // Last partial page.
    let d = group(&mut c, "Group?start=4&results=2").await;
    assert_eq!(ids(&d), ["dave@lab.example"]);
    // Start beyond the total: an empty page with the true total.
    let d = group(&mut c, "Group?start=9").await;
    assert!(d.entries.is_empty());
    assert_eq!(
        d.paging,
        Paging {
            start_index: 9,
            number_of_records: 0,
            total_available_records: 4
        }
    );
    // Over-large results are clamped, not refused.
    assert_eq!(group(&mut c, "Group?results=5000").await.entries.len(), 4);
    // Zero or garbage is refused with InvalidPaging (1103).
    for q in ["start=0", "results=0", "start=x"] {
        let r = c
            .get(&user_path(ALICE, &format!("directories/Group?{q}")))
            .await;
        assert_eq!(r.status, 400, "{q}: {r:?}");
        assert!(r.text().contains("<errorCode>1103</errorCode>"), "{r:?}");
    }
}

#[tokio::test]
async fn enterprise_scope_slash_rule_and_json() {
    let lab = Lab::start().await;
    let mut c = alice(&lab).await;

    // Enterprise covers both acme groups but not the other provider's users.
    let r = c
        .get(&user_path(
            ALICE,
            "directories/Enterprise?sortColumn=firstName",
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let d = EnterpriseDirectory::from_xml(&r.body).unwrap();
    assert_eq!(d.paging.total_available_records, 5);
    assert!(
        d.entries
            .iter()
            .any(|e| e.details.user_id == "carol@lab.example")
    );
    assert!(
        !d.entries
            .iter()
            .any(|e| e.details.user_id == "eve@telco.example")
    );
    // Group is limited to the user's own group.
    assert!(
        group(&mut c, "Group?firstName=Carol")
            .await
            .entries
            .is_empty()
    );

    // An unescaped `/` is an error; `\/` is a literal slash.
    let r = c
        .get(&user_path(ALICE, "directories/Group?lastName=a/b"))
        .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("<errorCode>1102</errorCode>"), "{r:?}");
    assert_eq!(
        group(&mut c, "Group?lastName=a%5C/b").await.entries.len(),
        0
    );

    // JSON.
    let r = c
        .get(&user_path(
            ALICE,
            "directories/Group?lastName=Li&format=json",
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let t = r.text();
    assert!(t.starts_with(r#"{"Group":{"#), "{t}");
    assert!(t.contains(r#""totalAvailableRecords":{"$":"1"}"#), "{t}");
    assert!(t.contains(r#""userId":{"$":"bob@lab.example"}"#), "{t}");
}

#[tokio::test]
async fn common_and_personal_lists_are_empty_but_valid() {
    let lab = Lab::start().await;
    let mut c = alice(&lab).await;
    for dir in ["Personal", "EnterpriseCommon", "GroupCommon"] {
        let r = c
            .get(&user_path(ALICE, &format!("directories/{dir}?name=*a*")))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            r.text().contains(&format!(
                "<{dir} xmlns=\"http://schema.broadsoft.com/xsi\"><startIndex>1</startIndex>\
                 <numberOfRecords>0</numberOfRecords><totalAvailableRecords>0</totalAvailableRecords></{dir}>"
            )),
            "{r:?}"
        );
    }
    let r = c
        .get(&user_path(
            ALICE,
            "directories/GroupCommon?sortColumn=number/I/desc",
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = c
        .get(&user_path(
            ALICE,
            "directories/GroupCommon?sortColumn=lastName",
        ))
        .await;
    assert_eq!(r.status, 400, "{r:?}");
}

#[tokio::test]
async fn directory_authorisation() {
    let lab = Lab::start().await;
    // A group admin in scope may read; a user of another provider may not.
    let mut admin = lab
        .client()
        .await
        .with_auth("hq-admin@lab.example", "Hq-pw1");
    let r = admin.get(&user_path(ALICE, "directories/Group")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut eve = lab.client().await.with_auth("eve@telco.example", "Eve-pw1");
    let r = eve.get(&user_path(ALICE, "directories/Group")).await;
    assert_eq!(r.status, 403, "{r:?}");
    // Directories are read-only here.
    let r = admin
        .put(&user_path(ALICE, "directories/Group"), &[], "")
        .await;
    assert_eq!(r.status, 405, "{r:?}");
}

/// Scale check: an Enterprise search over 100,000 users through the socket. Ignored by
/// default (building the lab takes a while in debug builds); run with
/// `cargo test -p bwlab-xsp --release --test directories -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn enterprise_search_scales_to_100k_users() {
    use bwlab_core::{Journal, LabClock};
    use bwlab_model::{Store, synthetic_lab_yaml};
    use bwlab_pki::{LabPki, PkiConfig};
    use bwlab_profiles::Profiles;
    use bwlab_xsp::{XspNode, XspSettings};
    use std::time::Instant;

    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let clock = LabClock::frozen_at(now);
    let pki = LabPki::generate(PkiConfig::example(now)).expect("pki");
    let t = Instant::now();
    let store = Store::from_yaml_str(&synthetic_lab_yaml(100_000), "synth.yaml", clock.clone())
        .expect("lab");
    eprintln!("store: {:?}", t.elapsed());
    let journal = Journal::with_limits(clock.clone(), 1_000, 1024);
    let xsp = XspNode::builder("xsp1")
        .identity(pki.node("xsp1").expect("node identity").clone())
        .store(store.clone())
        .profile(Profiles::builtin().get("r24").expect("profile").clone())
        .journal(journal)
        .clock(clock)
        .settings(XspSettings {
            client_trust_anchors: pki.webex_trust_anchors(),
            ..XspSettings::default()
        })
        .start()
        .await
        .expect("xsp starts");
    let mut opts = bwlab_pki::ClientOptions::new(pki.lab_trust_bundle());
    opts.key_log = false;
    let config = bwlab_pki::client_config(&opts).expect("client config");
    let mut c = Client::connect(xsp.https_addr(), config)
        .await
        .expect("connect")
        .with_auth("u1@synth.example", "pw1-secret");
    for q in [
        "Enterprise",
        "Enterprise?lastName=*9*/i&sortColumn=firstName/I/desc",
        "Enterprise?number=+155500999*&searchCriteriaModeOr=true&extension=1999",
    ] {
        let t = Instant::now();
        let r = c
            .get(&user_path("u1@synth.example", &format!("directories/{q}")))
            .await;
        let took = t.elapsed();
        assert_eq!(r.status, 200, "{q}: {r:?}");
        let d = EnterpriseDirectory::from_xml(&r.body).unwrap();
        eprintln!(
            "{q}: {took:?}, {} of {}",
            d.paging.number_of_records, d.paging.total_available_records
        );
        assert!(d.paging.total_available_records > 0, "{q}");
        assert!(took.as_secs() < 10, "{q} took {took:?}");
    }
}
