//! Every kind of lab-file error names file, line, column and field path, and a file with
//! many problems reports all of them.

use bwlab_core::clock::LabClock;
use bwlab_model::{ErrorKind, LabErrors, Store};
use time::macros::datetime;

fn load(src: &str) -> Result<Store, LabErrors> {
    Store::from_yaml_str(
        src,
        "lab.yaml",
        LabClock::frozen_at(datetime!(2026-01-01 0:00 UTC)),
    )
}

/// The rendered errors of a file that must fail.
fn errors(src: &str) -> Vec<String> {
    match load(src) {
        Ok(_) => panic!("expected errors for:\n{src}"),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}

/// Asserts that loading `src` fails with exactly `expected` (in source order).
#[track_caller]
fn assert_errors(src: &str, expected: &[&str]) {
    let got = errors(src);
    assert_eq!(got, expected, "\nfull output:\n{}", got.join("\n"));
}

const ORG: &str = "enterprises:
  - id: ent1
    groups:
      - {id: grp1, locationDialingCode: \"12\"}
      - {id: grp2, locationDialingCode: \"1\"}
";

fn with_org(rest: &str) -> String {
    format!("{ORG}{rest}")
}

#[test]
fn syntax_error_has_position_and_path() {
    assert_errors(
        "users:\n  - userId: a@lab\n    alternateIds: [x, y\n",
        &["lab.yaml:3:19: users[0].alternateIds[1]: unclosed bracket '['"],
    );
    assert_errors(
        "a: b: c\n",
        &["lab.yaml:1:5: <root>: mapping values are not allowed in this context"],
    );
}

#[test]
fn unknown_fields_with_hints() {
    assert_errors(
        &with_org(
            "users:
  - userId: a@lab.example
    group: grp1
    firstName: A
    lastName: B
    password: pw
    numbr: \"+15550100\"
    services:
      doNotDisturb: {active: true, ringSplsh: true}
      callWaitng: {}
devicez: []
",
        ),
        &[
            "lab.yaml:12:5: users[0].numbr: unknown field (did you mean \"number\"?)",
            "lab.yaml:14:36: users[0].services.doNotDisturb.ringSplsh: unknown field (did you mean \"ringSplash\"?)",
            "lab.yaml:15:7: users[0].services.callWaitng: unknown service \"callWaitng\" (did you mean \"callWaiting\"?)",
            "lab.yaml:16:1: devicez: unknown section (did you mean \"devices\"?)",
        ],
    );
}

#[test]
fn wrong_types() {
    assert_errors(
        &with_org(
            "system:
  lockoutThreshold: three
  enforcePasswordChangeOnExpiry: yes
users:
  - userId: a@lab.example
    group: grp1
    firstName: [A]
    lastName: B
    password: pw
    locked: 1
",
        ),
        &[
            "lab.yaml:7:21: system.lockoutThreshold: expected a whole number, found \"three\"",
            "lab.yaml:8:34: system.enforcePasswordChangeOnExpiry: expected true or false, found \"yes\" (YAML 1.2 has no yes/no booleans)",
            "lab.yaml:12:16: users[0].firstName: expected text, found a list",
            "lab.yaml:15:13: users[0].locked: expected true or false, found \"1\"",
        ],
    );
    assert_errors(
        "users: {a: 1}\n",
        &["lab.yaml:1:8: users: expected a list, found a mapping"],
    );
    assert_errors(
        "- 1\n",
        &["lab.yaml:1:1: <root>: a lab file is a mapping of sections, found a list"],
    );
}

#[test]
fn missing_required_field() {
    assert_errors(
        &with_org("users:\n  - {userId: a@lab.example, group: grp1, firstName: A, lastName: B}\n"),
        &["lab.yaml:7:5: users[0].password: missing (required field)"],
    );
}

#[test]
fn bad_values() {
    assert_errors(
        &with_org(
            "users:
  - userId: alice
    group: grp1
    firstName: A
    lastName: B
    password: pw
    number: \"5550100\"
    mobile: \"+0123\"
    extension: \"1x\"
    timeZone: Europe/Pariss
    passwordExpires: 2026-02-30
    email: nope
devices:
  - name: d1
    type: Cisco 8851
    mac: 00:11:22:33:44:5G
",
        ),
        &[
            "lab.yaml:7:13: users[0].userId: \"alice\" is not of the form user@domain",
            "lab.yaml:12:13: users[0].number: \"5550100\" is not E.164 (expected +<digits>)",
            "lab.yaml:13:13: users[0].mobile: \"+0123\" is not E.164 (expected +<digits>)",
            "lab.yaml:14:16: users[0].extension: \"1x\" is not an extension (expected 2-20 digits)",
            "lab.yaml:15:15: users[0].timeZone: \"Europe/Pariss\" is not an IANA time zone name (did you mean \"Europe/Paris\"?)",
            "lab.yaml:16:22: users[0].passwordExpires: \"2026-02-30\" is not a date (expected YYYY-MM-DD or RFC 3339 like 2026-03-01T09:00:00Z)",
            "lab.yaml:17:12: users[0].email: \"nope\" is not an e-mail address",
            "lab.yaml:21:10: devices[0].mac: \"00:11:22:33:44:5G\" is not a MAC address (expected 12 hex digits, e.g. 00:1B:44:11:3A:B7)",
        ],
    );
}

#[test]
fn duplicates() {
    assert_errors(
        &with_org(
            "users:
  - {userId: a@lab.example, group: grp1, firstName: A, lastName: A, password: pw, number: \"+15550100\", extension: \"100\", alternateIds: [alias@corp]}
  - {userId: A@LAB.example, group: grp1, firstName: B, lastName: B, password: pw}
  - {userId: c@lab.example, group: grp1, firstName: C, lastName: C, password: pw, alternateIds: [Alias@Corp]}
  - {userId: d@lab.example, group: grp1, firstName: D, lastName: D, password: pw, number: \"+1 555 0100\", extension: \"100\"}
  - {userId: e@lab.example, group: grp2, firstName: E, lastName: E, password: pw, extension: \"2100\"}
  - {userId: f@lab.example, group: grp2, firstName: F, lastName: F, password: pw, extension: \"100\"}
",
        ),
        &[
            "lab.yaml:8:14: users[1].userId: \"A@LAB.example\" is already a login id of a@lab.example",
            "lab.yaml:9:98: users[2].alternateIds[0]: \"Alias@Corp\" is already a login id of a@lab.example",
            "lab.yaml:10:91: users[3].number: \"+15550100\" is already the number of a@lab.example",
            "lab.yaml:10:117: users[3].extension: extension \"100\" is already used in group grp1 by a@lab.example",
            "lab.yaml:11:94: users[4].extension: location code \"1\" + extension \"2100\" dials 12100, which already reaches a@lab.example in group grp1",
        ],
    );
    let e = load(&with_org(
        "users:\n  - {userId: a@lab.example, group: grp1, firstName: A, lastName: A, password: pw, extension: \"100\"}\n  - {userId: b@lab.example, group: grp1, firstName: B, lastName: B, password: pw, extension: \"100\"}\n",
    ))
    .unwrap_err();
    assert_eq!(e.errors()[0].kind, ErrorKind::Duplicate);
}

#[test]
fn unknown_references() {
    assert_errors(
        &with_org(
            "users:
  - {userId: a@lab.example, group: grp3, firstName: A, lastName: A, password: pw}
  - {userId: b@lab.example, enterprise: ent2, group: grp1, firstName: B, lastName: B, password: pw}
  - userId: c@lab.example
    group: grp1
    firstName: C
    lastName: C
    password: pw
    services:
      busyLampField: {monitoredUsers: [a@lab.example, zed@lab.example]}
devices:
  - name: d1
    type: Cisco 8851
    lines:
      - {linePort: l1@lab.example, user: cc@lab.example}
admins:
  - {login: ga, password: pw, enterprise: ent1, group: grp7}
",
        ),
        &[
            "lab.yaml:7:36: users[0].group: no group \"grp3\" (did you mean \"grp1\"?)",
            "lab.yaml:8:41: users[1].enterprise: no enterprise or service provider \"ent2\" (did you mean \"ent1\"?)",
            "lab.yaml:15:55: users[2].services.busyLampField.monitoredUsers[1]: no user \"zed@lab.example\"",
            "lab.yaml:20:42: devices[0].lines[0].user: no user \"cc@lab.example\" (did you mean \"c@lab.example\"?)",
            "lab.yaml:22:56: admins[0].group: no group \"grp7\" in ent1 (did you mean \"grp1\"?)",
        ],
    );
}

#[test]
fn device_rules() {
    assert_errors(
        &with_org(
            "users:
  - {userId: a@lab.example, group: grp1, firstName: A, lastName: A, password: pw}
devices:
  - name: d1
    type: Cisco 8851
    mac: 001b44113ab7
    lines: [{linePort: a1@lab.example, user: a@lab.example}]
  - name: d1
    type: Cisco 8851
    mac: 00-1B-44-11-3A-B7
    lines:
      - {linePort: A1@lab.example, user: a@lab.example}
      - {linePort: a2@lab.example, user: a@lab.example, endpoint: sharedCallAppearance}
",
        ),
        &[
            "lab.yaml:13:11: devices[1].name: device name \"d1\" is already used by devices[0]",
            "lab.yaml:15:10: devices[1].mac: MAC 001B44113AB7 is already used by device \"d1\"",
            "lab.yaml:17:9: devices[1].lines[0].endpoint: a@lab.example already has a primary endpoint (use sharedCallAppearance for more)",
            "lab.yaml:17:20: devices[1].lines[0].linePort: line port \"A1@lab.example\" is already used on device \"d1\"",
            "lab.yaml:18:67: devices[1].lines[1].endpoint: a@lab.example has no sharedCallAppearance service, needed for a shared line",
        ],
    );
}

#[test]
fn service_rules() {
    assert_errors(
        &with_org(
            "users:
  - userId: a@lab.example
    group: grp1
    firstName: A
    lastName: A
    password: pw
    services:
      callForwardingNoAnswer: {active: true, numberOfRings: 1}
      callRecording: {recordingMode: sometimes}
      simultaneousRingPersonal:
        simRingLocations: [{address: nowhere}]
",
        ),
        &[
            "lab.yaml:13:31: users[0].services.callForwardingNoAnswer.forwardToPhoneNumber: required when active is true",
            "lab.yaml:13:61: users[0].services.callForwardingNoAnswer.numberOfRings: 1 is out of range (0 or 2-20)",
            "lab.yaml:14:38: users[0].services.callRecording.recordingMode: unknown value \"sometimes\" (expected one of \"always\", \"never\", \"on-demand\", \"always-pause-resume\", \"on-demand-user-start\")",
            "lab.yaml:16:38: users[0].services.simultaneousRingPersonal.simRingLocations[0].address: \"nowhere\" is not a phone number or SIP URI (expected +<digits>, digits or sip:user@host)",
        ],
    );
}

#[test]
fn table_form_errors_point_at_cells() {
    assert_errors(
        &with_org(
            "userTable:
  columns: [userId, group, firstName, lastName, number, password, extension]
  defaults: {enterprise: ent1}
  rows: |
    a@lab.example | grp1 | A | A | +15550100 | pw | 100
    b@lab.example | grp1 | B | B | 5550101   | pw | 101

    # a comment line
    c@lab.example | grp1 | C | C | +15550102 | pw
    d@lab.example | grp1 | D | D | +15550100 | pw | 100
",
        ),
        &[
            "lab.yaml:11:36: userTable.rows[1].number: \"5550101\" is not E.164 (expected +<digits>)",
            "lab.yaml:14:5: userTable.rows[2]: expected 7 cells (userId | group | firstName | lastName | number | password | extension), found 6",
            "lab.yaml:15:36: userTable.rows[3].number: \"+15550100\" is already the number of a@lab.example",
            "lab.yaml:15:53: userTable.rows[3].extension: extension \"100\" is already used in group grp1 by a@lab.example",
        ],
    );
    assert_errors(
        "userTable:\n  columns: [userId, grup]\n  rows: |\n    a | b\n",
        &[
            "lab.yaml:2:21: userTable.columns[1]: \"grup\" cannot be a column (did you mean \"group\"?)",
        ],
    );
}

#[test]
fn all_problems_are_reported_in_source_order() {
    let src = with_org(
        "users:
  - {userId: a@lab.example, group: grp1, firstName: A, lastName: A, password: pw, number: \"1\"}
  - {userId: b@lab.example, group: nope, firstName: B, lastName: B, password: pw}
  - {userId: c@lab.example, group: grp1, firstName: C, lastName: C, password: pw, timeZone: Nowhere}
",
    );
    let e = errors(&src);
    assert_eq!(e.len(), 3, "{e:#?}");
    let lines: Vec<&str> = e.iter().map(|s| s.split(':').nth(1).unwrap()).collect();
    assert_eq!(lines, ["7", "8", "9"]);
    let joined = load(&src).unwrap_err().to_string();
    assert!(
        joined.starts_with("3 problems in lab data\n  lab.yaml:7:"),
        "{joined}"
    );
}

#[test]
fn anchors_and_merges_work_and_errors_point_at_the_definition() {
    let ok = with_org(
        "x-defaults: &user
  group: grp1
  lastName: Same
  password: pw
users:
  - {<<: *user, userId: a@lab.example, firstName: A}
  - {<<: *user, userId: b@lab.example, firstName: B}
",
    );
    // `x-defaults` is not a known section: anchors must live inside known sections.
    assert!(errors(&ok)[0].contains("unknown section"));
    let ok = with_org(
        "users:
  - &first {userId: a@lab.example, group: grp1, firstName: A, lastName: Same, password: pw, timeZone: Mars/Base}
  - {<<: *first, userId: b@lab.example, firstName: B}
",
    );
    // Both users inherit the bad value from the anchor: one error at the definition, folded.
    assert_errors(
        &ok,
        &[
            "lab.yaml:7:103: users[0].timeZone: \"Mars/Base\" is not an IANA time zone name (and 1 more like it)",
        ],
    );
    let good = with_org(
        "users:
  - &first {userId: a@lab.example, group: grp1, firstName: A, lastName: Same, password: pw}
  - {<<: *first, userId: b@lab.example, firstName: B}
",
    );
    let store = load(&good).unwrap();
    assert_eq!(store.find_user("b@lab.example").unwrap().last_name, "Same");
}

#[test]
fn runtime_add_user_reports_paths() {
    let store = load(&with_org(
        "users:\n  - {userId: a@lab.example, group: grp1, firstName: A, lastName: A, password: pw, extension: \"100\"}\n",
    ))
    .unwrap();
    let spec = bwlab_model::spec::UserSpec {
        user_id: "b@lab.example".into(),
        group: "grp1".into(),
        first_name: "B".into(),
        last_name: "B".into(),
        password: "pw".into(),
        extension: Some("100".into()),
        number: Some("555".into()),
        ..Default::default()
    };
    let e = store.add_user(spec).unwrap_err();
    let text: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "user.number: \"555\" is not E.164 (expected +<digits>)",
            "user.extension: extension \"100\" is already used in group grp1 by a@lab.example",
        ]
    );
}

#[test]
fn file_loading_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken-lab.yaml");
    std::fs::write(&path, "users:\n  - userId: a@lab.example\n    grup: g\n").unwrap();
    let clock = LabClock::frozen_at(datetime!(2026-01-01 0:00 UTC));
    let e = Store::from_yaml_file(&path, clock.clone()).unwrap_err();
    let all: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
    let p = path.display();
    assert_eq!(
        all,
        [
            format!("{p}:2:5: users[0].group: missing (required field)"),
            format!("{p}:3:5: users[0].grup: unknown field (did you mean \"group\"?)"),
        ]
    );
    let missing = Store::from_yaml_file(dir.path().join("nope.yaml"), clock).unwrap_err();
    assert!(
        missing.to_string().contains("cannot read lab file"),
        "{missing}"
    );
}
