//! `bwlab run`: exit codes, the matrix, JUnit XML and JSON, over tiny scenarios that run in
//! well under a second (paused tokio time).

use std::process::{Command, Output};

fn bwlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bwlab"))
}

const PASSES: &str = "\
name: the App signs in and its channel opens on xsp1
profiles: [r24]
topology: option1
sut: {reference: webex-app, user: alice}
timeline:
  - at: 0s
    sut: sign-in
  - within: 20s
    expect: {channel_open: {user: alice, node: xsp1}}
expect:
  - {dns_query: {name: _xsi-client._tcp.xsp-app.lab.example, type: SRV, rcode: NOERROR}}
  - {request: {node: xsp1, method: POST, path: /com.broadsoft.xsi-events/*, user: alice}}
";

const FAILS: &str = "\
name: the channel is expected on xsp2, but the App prefers xsp1
profiles: [r24]
topology: option1
sut: {reference: webex-app, user: alice}
timeline:
  - at: 0s
    sut: sign-in
  - within: 1s
    expect: {channel_open: {user: alice, node: xsp2}}
";

const SKIPS: &str = "\
name: a node role the lab does not run yet
profiles: [r24]
topology:
  nodes: [{name: nps1, role: nps}]
sut: {reference: webex-app}
";

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn passing_failing_and_skipped_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("passes.yaml"), PASSES).unwrap();
    std::fs::write(dir.path().join("skips.yaml"), SKIPS).unwrap();

    // Pass and skip only: exit 0, and the summary counts the skip.
    let out = bwlab()
        .arg("run")
        .arg(dir.path())
        .args(["--profile", "r24"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("[1/2] passes [r24]"), "{stderr}");
    assert!(stdout.contains("SCENARIO"), "{stdout}");
    assert!(
        stdout.contains("unsupported: node nps1 (role nps)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 run: 1 passed, 0 failed, 1 skipped"),
        "{stdout}"
    );

    // A failure: exit 1, near-misses in the matrix notes and in the JUnit file.
    std::fs::write(dir.path().join("fails.yaml"), FAILS).unwrap();
    let junit = dir.path().join("junit.xml");
    let html = dir.path().join("report.html");
    let out = bwlab()
        .arg("run")
        .arg(dir.path())
        .arg("--junit")
        .arg(&junit)
        .arg("--report")
        .arg(&html)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let row = stdout.lines().find(|l| l.starts_with("fails ")).unwrap();
    assert!(row.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("node=xsp1 (want xsp2)"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert_eq!(xml.matches("<skipped ").count(), 1, "{xml}");
    assert!(xml.contains("closest journal entries"), "{xml}");
    assert!(xml.trim_end().ends_with("</testsuites>"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains("<svg") && page.contains("marker-end"),
        "{page}"
    );
    assert!(page.contains("unsupported: node nps1 (role nps)"));

    // JSON on stdout.
    let out = bwlab()
        .arg("run")
        .arg(dir.path().join("passes.yaml"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], 1);
    assert_eq!(v["results"][0]["status"], "pass");
    assert_eq!(v["results"][0]["profile"], "r24");
}

/// A `command:` SUT gets the lab's coordinates in its environment; its output is journalled
/// and read by `sut_log`.
#[test]
fn a_command_sut_gets_the_lab_in_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("command.yaml");
    std::fs::write(
        &file,
        r#"name: a process SUT
profiles: [r23]
sut:
  user: bob
  command:
    argv: [sh, -c, 'test -s "$BWLAB_CA_BUNDLE" && echo "probe done $BWLAB_USER $BWLAB_XSI_ACTIONS_URL dns=$BWLAB_DNS"; echo oops >&2']
timeline:
  - at: 0s
    clock: {advance: 1s}
  - within: 10s
    expect:
      - {sut_log: {contains: "probe done bob@lab.example https://xsp1.lab.example:"}}
      - {sut_log: {contains: "oops"}}
"#,
    )
    .unwrap();
    let out = bwlab().arg("run").arg(&file).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
}

#[test]
fn invalid_files_exit_2_with_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad\ntopology: dual-sit\nsut: {reference: webex-app}\n",
    )
    .unwrap();
    let out = bwlab().arg("run").arg(&bad).output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.yaml:2:11"), "{stderr}");
    assert!(stderr.contains("did you mean `dual-site`"), "{stderr}");

    let out = bwlab()
        .arg("run")
        .arg(dir.path().join("missing.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bwlab()
        .args(["run", "--profile", "r99"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
