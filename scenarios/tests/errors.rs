//! Diagnostics: exact positions, hints, and every error of a file in one run.

use bwlab_scenario::parse_str;

fn errors(src: &str) -> Vec<String> {
    match parse_str(src, "t.yaml") {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(|d| d.to_string()).collect(),
    }
}

const HEAD: &str = "name: t\nsut: {reference: webex-app}\n";

#[test]
fn valid_minimal_file() {
    assert_eq!(errors(HEAD), Vec::<String>::new());
}

#[test]
fn unknown_top_level_key_has_position_and_hint() {
    let e = errors(&format!("{HEAD}timelnie: []\n"));
    assert_eq!(
        e,
        ["t.yaml:3:1: error: timelnie: unknown key `timelnie`\n  = hint: did you mean `timeline`?"]
    );
}

#[test]
fn unknown_nested_key_points_at_the_key() {
    let src = format!(
        "{HEAD}timeline:\n  - at: 1s\n    fault:\n      latency: {{latency: 1s, jittr: 5ms}}\n"
    );
    assert_eq!(
        errors(&src),
        [
            "t.yaml:6:30: error: timeline[0].fault.latency.jittr: unknown key `jittr`\n  = hint: did you mean `jitter`?"
        ]
    );
}

#[test]
fn unknown_key_without_close_match_lists_the_keys() {
    let src = format!("{HEAD}timeline:\n  - at: 1s\n    clock: {{advance: 1d}}\n    zzzzzz: 1\n");
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.yaml:6:5: error: timeline[0].zzzzzz: unknown key `zzzzzz`\n  = hint: expected one of `name`, `at`"), "{}", e[0]);
}

#[test]
fn every_error_of_the_file_is_reported() {
    let src = "\
name: many
profiles: [r22, r99]
topology: dual-sit
sut: {reference: webex-app}
timeline:
  - at: 5
    fault: {on: xsp9, latency: {latency: 1s}, probability: 1.5}
  - after: 1s
    node: {dwn: xsp1}
  - within: 5s
    expect: {channel_open: {user: alcie}}
  - at: 1s
    revert: nothing
";
    let e = errors(src);
    let heads: Vec<&str> = e
        .iter()
        .map(|l| l.split(": error").next().unwrap())
        .collect();
    assert_eq!(
        heads,
        [
            "t.yaml:2:17",  // r99
            "t.yaml:3:11",  // dual-sit
            "t.yaml:6:9",   // 5 (no unit)
            "t.yaml:7:17",  // xsp9
            "t.yaml:7:60",  // probability 1.5
            "t.yaml:9:12",  // dwn
            "t.yaml:11:35", // alcie
            "t.yaml:13:13", // revert nothing
        ],
        "{e:#?}"
    );
    assert!(e[1].contains("did you mean `dual-site`?"));
    assert!(e[2].contains("has no unit") && e[2].contains("hint: write a number with a unit"));
    assert!(e[3].contains("did you mean `xsp1`?"));
    assert!(e[5].contains("did you mean `down`?"));
    assert!(e[6].contains("unknown user `alcie`") && e[6].contains("did you mean `alice`?"));
}

#[test]
fn yaml_syntax_errors_are_placed() {
    let e = errors("name: x\nsut: {reference: webex-app\ntimeline: []\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("t.yaml:3:"), "{}", e[0]);
    let e = errors("name: x\nname: y\nsut: {reference: webex-app}\n");
    assert_eq!(
        e[0].lines().next().unwrap(),
        "t.yaml:2:1: error: name: duplicate key \"name\""
    );
}

#[test]
fn missing_required_keys() {
    let e = errors("description: nothing else\n");
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].starts_with("t.yaml:1:1: error: name: missing required key `name`"));
    assert!(e[1].contains("sut: missing required key `sut`"));
    let e = errors("- a list\n");
    assert!(
        e[0].starts_with("t.yaml:1:1: error: <root>: expected a mapping"),
        "{e:?}"
    );
}

#[test]
fn step_rules() {
    let src = format!(
        "{HEAD}timeline:\n  - within: 5s\n    expect: {{heartbeat: {{}}}}\n  - at: 2s\n    after: 1s\n    clock: {{advance: 1d}}\n  - at: 1s\n    clock: {{advance: 1d}}\n    node: {{down: xsp1}}\n  - after: 1s\n  - within: 1s\n    clock: {{advance: 1d}}\n"
    );
    let e = errors(&src);
    let has = |needle: &str| e.iter().any(|l| l.contains(needle));
    assert!(
        has("t.yaml:4:13: error: timeline[0].within: `within` counts from the previous step"),
        "{e:#?}"
    );
    assert!(
        has("t.yaml:7:5: error: timeline[1].after: a step has one timing"),
        "{e:#?}"
    );
    assert!(
        has("t.yaml:10:5: error: timeline[2].clock: a step has one action"),
        "{e:#?}"
    );
    assert!(
        has("t.yaml:9:9: error: timeline[2].at: `at: 1s` is earlier than"),
        "{e:#?}"
    );
    assert!(has("timeline[3]: the step does nothing"), "{e:#?}");
    assert!(
        has("timeline[4].within: `within` is a deadline for an expectation"),
        "{e:#?}"
    );
}

#[test]
fn fault_rules() {
    let src = format!(
        "{HEAD}faults:
  - {{latency: {{latency: 1s}}, bandwidth: {{rate: 1}}}}
  - {{http_status: {{status: 700}}, stream: upstream}}
  - {{slicer: {{average_size: 10, size_variation: 10, delay: 1ms}}, toxicity: 2}}
  - {{bad_certificate: client-no-eku-oid, on: xsp1}}
  - {{config_drift: non_shared_authservice_keys}}
  - {{drop_heartbeats: {{user: zed}}, route: {{path: /x}}}}
  - {{kill_channel: {{reason: Bored}}}}
  - {{lose_events: {{package: Basic Cal}}}}
  - {{}}
"
    );
    let e = errors(&src);
    let has = |needle: &str| e.iter().any(|l| l.contains(needle));
    assert!(
        has("t.yaml:4:30: error: faults[0].bandwidth: a rule has one fault"),
        "{e:#?}"
    );
    assert!(
        has(
            "faults[1].http_status.status: 700 is not an HTTP status (100–599)\n  = hint: see docs/scenarios.md#faults"
        ),
        "{e:#?}"
    );
    assert!(
        has("t.yaml:5:34: error: faults[1].stream: `stream` applies to transport faults"),
        "{e:#?}"
    );
    assert!(
        has("faults[2].slicer.size_variation: `size_variation` must be smaller"),
        "{e:#?}"
    );
    assert!(has("faults[2].toxicity: 2 is outside 0–1"), "{e:#?}");
    assert!(
        has("faults[3].bad_certificate: a client certificate fault"),
        "{e:#?}"
    );
    assert!(has("faults[4]: `config_drift` needs the node"), "{e:#?}");
    assert!(
        has("faults[5].drop_heartbeats.user: unknown user `zed`"),
        "{e:#?}"
    );
    assert!(
        has("faults[5].route: `route` applies to HTTP faults"),
        "{e:#?}"
    );
    assert!(
        has("faults[6].kill_channel.reason: unknown channel termination reason `Bored`"),
        "{e:#?}"
    );
    assert!(
        has("faults[7].lose_events.package: unknown event package `Basic Cal`"),
        "{e:#?}"
    );
    assert!(has("faults[8]: the fault rule names no fault"), "{e:#?}");
}

#[test]
fn wrong_types_recover_and_keep_checking() {
    let src = format!(
        "{HEAD}topology:\n  farms:\n    - {{name: f, nodes: [xsp1]}}\n  load_balancers:\n    - {{name: lb, farm: g, cookie_affinity: yes, balancing: roundrobin}}\n"
    );
    let e = errors(&src);
    let has = |needle: &str| e.iter().any(|l| l.contains(needle));
    assert!(
        has("topology.load_balancers[0].cookie_affinity: expected true or false, found \"yes\""),
        "{e:#?}"
    );
    assert!(has("hint: YAML 1.2 has no yes/no booleans"), "{e:#?}");
    assert!(
        has("topology.load_balancers[0].balancing: unknown value `roundrobin`"),
        "{e:#?}"
    );
    assert!(has("did you mean `round-robin`?"), "{e:#?}");
}

#[test]
fn references_and_overrides() {
    let src = "\
name: refs
profiles: [r22, r24]
topology: dual-site
subscribers:
  - {user: zoe@lab.example, password: pw}
sut: {reference: webex-app, user: zoe}
timeline:
  - at: 1s
    expect:
      channel_open: {user: zoe, via: lb-site-c}
      r23: {count: 0}
  - after: 1s
    data: {add_user: {user: yan@lab.example, password: pw}}
  - after: 1s
    call: {from: yan, to: \"+15550100\"}
  - after: 1s
    call: {from: alice, to: zoe}
";
    let e = errors(src);
    let has = |needle: &str| e.iter().any(|l| l.contains(needle));
    assert!(
        has("timeline[0].expect.channel_open.via: unknown load balancer `lb-site-c`"),
        "{e:#?}"
    );
    assert!(
        has("timeline[0].expect.r23: override for `r23`, but the scenario does not run on it"),
        "{e:#?}"
    );
    // yan was added by a step; alice is not in the inline subscribers.
    assert!(!has("`yan`"), "{e:#?}");
    assert!(has("timeline[3].call.from: unknown user `alice`"), "{e:#?}");
    assert_eq!(e.len(), 3, "{e:#?}");
}

#[test]
fn conditions_in_words_are_checked() {
    let src = format!(
        "{HEAD}timeline:\n  - when: 3th heartbeat of alice\n    clock: {{advance: 1d}}\n  - when: 2nd heartbeat of nobody\n    clock: {{advance: 1d}}\n"
    );
    let e = errors(&src);
    assert!(
        e[0].starts_with("t.yaml:4:11: error: timeline[0].when: `3th` is not an ordinal"),
        "{e:#?}"
    );
    assert!(e[0].contains("hint: write `<nth>"), "{e:#?}");
    assert!(
        e[1].contains("timeline[1].when.heartbeat.user: unknown user `nobody`"),
        "{e:#?}"
    );
}

#[test]
fn data_file_is_read_relative_to_the_scenario() {
    let dir = std::env::temp_dir().join(format!("bwlab-scn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lab.yaml"),
        "enterprises:\n  - id: e\n    groups: [{id: g}]\nusers:\n  - {userId: max@x.example, group: g, firstName: M, lastName: X, password: pw}\n",
    )
    .unwrap();
    let scn = dir.join("s.yaml");
    std::fs::write(
        &scn,
        "name: d\ndata: {file: lab.yaml}\nsut: {reference: webex-app, user: max}\n",
    )
    .unwrap();
    assert!(bwlab_scenario::parse_file(&scn).is_ok());
    std::fs::write(
        &scn,
        "name: d\ndata: {file: missing.yaml}\nsut: {reference: webex-app, user: max}\n",
    )
    .unwrap();
    let e = bwlab_scenario::parse_file(&scn).unwrap_err().to_string();
    assert!(
        e.contains("s.yaml:2:14: error: data.file: cannot read"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn topology_names_cannot_take_a_built_in_node_name() {
    let e = errors(
        "name: x\nsut: {reference: webex-app}\ntopology:\n  farms:\n    - {name: webex, nodes: [xsp1, dns]}\n",
    );
    assert!(
        e.iter()
            .any(|m| m.contains("`dns` is already used at the lab's built-in nodes")),
        "{e:?}"
    );
}
