use super::*;
use crate::documents::BodyError;
use crate::documents::profile::ServiceProvider;
use crate::documents::test_util::{names, round_trip, xml_body};

fn entry(user: &str, first: &str, last: &str, number: &str) -> DirectoryDetails {
    DirectoryDetails {
        details: UserDetails {
            user_id: user.into(),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            group_id: Some("grp1".into()),
            service_provider: Some(ServiceProvider {
                id: "ent1".into(),
                is_enterprise: Some(true),
            }),
            number: Some(number.into()),
            extension: Some(number[number.len() - 4..].into()),
            ..UserDetails::default()
        },
        additional_details: Some(UserAdditionalDetails {
            email_address: Some(user.into()),
            department: Some("Sales".into()),
            ..UserAdditionalDetails::default()
        }),
        extra: vec![],
    }
}

#[test]
fn paging_counters() {
    assert_eq!(
        Paging::for_page(1, 50, 3),
        Paging {
            start_index: 1,
            number_of_records: 3,
            total_available_records: 3
        }
    );
    assert_eq!(Paging::for_page(51, 50, 120).number_of_records, 50);
    assert_eq!(Paging::for_page(101, 50, 120).number_of_records, 20);
    assert_eq!(Paging::for_page(200, 50, 120).number_of_records, 0);
    assert_eq!(Paging::for_page(0, 10, 5).start_index, 1);
}

#[test]
fn enterprise_directory() {
    let dir = EnterpriseDirectory {
        paging: Paging::for_page(1, 50, 2),
        entries: vec![
            entry("alice@example.com", "Alice", "Ng", "2025550101"),
            entry("bob@example.com", "Bob", "Li", "2025550102"),
        ],
    };
    let el = dir.to_element();
    assert_eq!(el.name, "Enterprise");
    assert_eq!(
        names(&el),
        [
            "startIndex",
            "numberOfRecords",
            "totalAvailableRecords",
            "enterpriseDirectory"
        ]
    );
    assert_eq!(el.child_text("totalAvailableRecords"), Some("2"));
    let list = el.child("enterpriseDirectory").unwrap();
    assert_eq!(names(list), ["directoryDetails", "directoryDetails"]);
    assert_eq!(
        names(&list.children[0]),
        [
            "userId",
            "firstName",
            "lastName",
            "groupId",
            "serviceProvider",
            "number",
            "extension",
            "additionalDetails"
        ]
    );
    round_trip(&dir);
}

#[test]
fn group_directory_and_extras() {
    let mut e = entry("carol@example.com", "Carol", "Diaz", "2025550103");
    e.additional_details = None;
    e.extra = vec![
        Element::leaf("firstNameUnicode", "Carol"),
        Element::leaf("lastNameUnicode", "Díaz"),
    ];
    let dir = GroupDirectory {
        paging: Paging::for_page(1, 1, 7),
        entries: vec![e],
    };
    let el = dir.to_element();
    assert_eq!(el.name, "Group");
    assert_eq!(names(&el)[3], "groupDirectory");
    let d = &el.child("groupDirectory").unwrap().children[0];
    assert_eq!(names(d).last(), Some(&"lastNameUnicode"));
    round_trip(&dir);
    // An empty page still carries the (empty) list element.
    let empty = GroupDirectory {
        paging: Paging::for_page(1, 50, 0),
        entries: vec![],
    };
    assert!(empty.to_xml().ends_with(b"<groupDirectory/></Group>"));
    round_trip(&empty);
}

#[test]
fn directory_requires_counters() {
    let body = xml_body(
        "Enterprise",
        "<startIndex>1</startIndex><enterpriseDirectory/>",
    );
    assert!(matches!(
        EnterpriseDirectory::from_xml(&body),
        Err(BodyError::Doc(DocError::Missing {
            element: "numberOfRecords",
            ..
        }))
    ));
}

#[test]
fn personal_directory() {
    // POST body: entries only.
    let body = xml_body(
        "Personal",
        "<entry><name>Dentist</name><number>5551239876</number></entry>",
    );
    let post = PersonalDirectory::from_xml(&body).unwrap();
    assert_eq!(post.paging, None);
    assert_eq!(
        post.entries,
        vec![PhoneListEntry::new("Dentist", "5551239876")]
    );
    round_trip(&post);

    let get = PersonalDirectory {
        paging: Some(Paging::for_page(1, 50, 2)),
        entries: vec![
            PhoneListEntry::new("Dentist", "5551239876"),
            PhoneListEntry::new("Plumber", "5551230001"),
        ],
    };
    let el = get.to_element();
    assert_eq!(
        names(&el),
        [
            "startIndex",
            "numberOfRecords",
            "totalAvailableRecords",
            "entry",
            "entry"
        ]
    );
    assert_eq!(names(&el.children[3]), ["name", "number"]);
    round_trip(&get);

    for bad in [
        "<entry><name>x</name></entry>",
        "<entry><name>x</name><number>1</number><extra/></entry>",
        "<contact/>",
        "<startIndex>1</startIndex>",
    ] {
        assert!(
            PersonalDirectory::from_xml(&xml_body("Personal", bad)).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn common_phone_lists() {
    let ent = EnterpriseCommonDirectory {
        paging: Paging::for_page(1, 50, 1),
        entries: vec![PhoneListEntry::new("Front desk", "2025550100")],
    };
    let el = ent.to_element();
    assert_eq!(el.name, "EnterpriseCommon");
    assert_eq!(names(&el)[3], "commonPhoneEntry");
    round_trip(&ent);
    let grp = GroupCommonDirectory {
        paging: Paging::for_page(1, 50, 0),
        entries: vec![],
    };
    assert_eq!(grp.to_element().name, "GroupCommon");
    round_trip(&grp);
}
