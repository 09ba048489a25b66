//! The scenario runner over real labs on paused tokio time: library scenarios pass on every
//! release profile, unsupported features are skipped with a reason, failures name the
//! closest journal entries.

use std::path::{Path, PathBuf};

use bwlab::run::{Outcome, RunOptions, run_case};

/// Runs an inline scenario on `profile` and fails the test with the runner's message and
/// log unless it passes.
async fn assert_passes(src: &str, profile: &str) {
    let scenario = bwlab::scenario::parse_str(src, "inline.yaml").unwrap();
    let r = run_case(&scenario, None, profile, &RunOptions::default()).await;
    assert_eq!(
        r.outcome,
        Outcome::Pass,
        "{profile}: {}\n{}",
        r.outcome.message(),
        r.log.join("\n")
    );
}

/// Every file of the scenario library passes on each of its profiles (r22, r23, r24, and
/// r22-unpatched where a file lists it).
#[tokio::test]
async fn the_whole_library_passes_on_its_profiles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "the library has {} files", files.len());
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in &files {
        let scenario = bwlab::scenario::parse_file(path).unwrap();
        for profile in bwlab::run::scenario_profiles(&scenario) {
            cases += 1;
            let r = run_case(&scenario, Some(path), &profile, &RunOptions::default()).await;
            if !r.outcome.is_pass() {
                failures.push(format!(
                    "{} [{profile}]: {}\nlog:\n{}",
                    path.display(),
                    r.outcome.message(),
                    r.log.join("\n")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases did not pass:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[tokio::test(start_paused = true)]
async fn unsupported_features_are_skipped_with_the_reason() {
    let src = r#"
name: not yet
topology:
  nodes: [{name: nps1, role: nps}]
sut: {reference: webex-app}
"#;
    let scenario = bwlab::scenario::parse_str(src, "inline.yaml").unwrap();
    let r = run_case(&scenario, None, "r24", &RunOptions::default()).await;
    assert_eq!(
        r.outcome,
        Outcome::Skip("unsupported: node nps1 (role nps)".into())
    );
    let src = r#"
name: http fault on an LB
topology: dual-site
sut: {reference: webex-app}
faults:
  - {on: lb-site-a, http_status: {status: 503}}
"#;
    let scenario = bwlab::scenario::parse_str(src, "inline.yaml").unwrap();
    let r = run_case(&scenario, None, "r24", &RunOptions::default()).await;
    assert_eq!(
        r.outcome,
        Outcome::Skip("unsupported: HTTP fault http_status on a load balancer".into())
    );
}

/// The library API without a scenario file: a lab from a built-in topology, a reference
/// client, a fault, and expectations awaited on the journal.
#[tokio::test(start_paused = true)]
async fn a_test_drives_a_dual_site_lab_and_awaits_expectations() {
    use bwlab::reference::{WebexApp, WebexAppOptions};
    use bwlab::scenario::Expectation;
    use bwlab::scenario::expect::ChannelMatch;
    use std::time::Duration;

    let lab = bwlab::Lab::builder()
        .topology(bwlab::Topology::dual_site("lab.example"))
        .start()
        .await
        .unwrap();
    let password = lab
        .data()
        .find_user("alice@lab.example")
        .unwrap()
        .password_state()
        .portal;
    let app = WebexApp::sign_in(&lab, "alice", &password, WebexAppOptions::default())
        .await
        .unwrap();
    let via = |lb: &str| Expectation {
        channel_open: Some(ChannelMatch {
            user: "alice".into(),
            via: Some(lb.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    bwlab::run::await_expectation(&lab, &via("lb-site-a"), 0, Duration::from_secs(20))
        .await
        .unwrap();
    // Site A's load balancer dies: two heartbeats fail, the channel moves to site B.
    let since = lab.journal().next_seq();
    lab.lb("lb-site-a")
        .unwrap()
        .net_faults()
        .add(bwlab::net::faults::ToxicRule::new(
            bwlab::net::faults::Toxic::ResetPeer { timeout: 0 },
        ));
    bwlab::run::await_expectation(&lab, &via("lb-site-b"), since, Duration::from_secs(90))
        .await
        .unwrap();
    // And it was not there before.
    let err = bwlab::run::await_expectation(&lab, &via("lb-site-b"), u64::MAX, Duration::ZERO)
        .await
        .unwrap_err();
    assert!(err.contains("0 matching entries"), "{err}");
    app.stop().await;
    lab.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_expectation_lists_near_misses_and_profile_overrides_apply() {
    let src = r#"
name: channel on the wrong node
profiles: [r22, r24]
topology: option1
sut: {reference: webex-app, user: alice}
timeline:
  - at: 0s
    sut: sign-in
  - within: 20s
    expect:
      channel_open: {user: alice, node: xsp2}
      r24: {channel_open: {user: alice, node: xsp1}}
"#;
    let scenario = bwlab::scenario::parse_str(src, "inline.yaml").unwrap();
    let r = run_case(&scenario, None, "r24", &RunOptions::default()).await;
    assert_eq!(r.outcome, Outcome::Pass, "{}", r.outcome.message());
    let r = run_case(&scenario, None, "r22", &RunOptions::default()).await;
    let msg = r.outcome.message();
    assert!(r.outcome.is_fail(), "{msg}");
    assert!(msg.contains("closest journal entries"), "{msg}");
    assert!(msg.contains("node=xsp1 (want xsp2)"), "{msg}");
}

/// `single-xsp` is one XSP: with xsp1 down the App has nowhere else to go.
#[tokio::test(start_paused = true)]
async fn single_xsp_publishes_only_xsp1() {
    let src = r#"
name: single node down
profiles: [r24]
topology: single-xsp
sut: {reference: webex-app, user: alice}
timeline:
  - at: 0s
    node: {down: xsp1}
  - at: 1s
    sut: sign-in
  - within: 1m
    expect: {sut_log: {contains: "sign-in failed"}}
expect:
  - {channel_open: {user: alice}, count: 0}
  - {request: {path: /com.broadsoft.xsi-events/*, status: 200}, count: 0}
"#;
    assert_passes(src, "r24").await;
}

/// Releases without the CI token-validation patch: the IdP proxy fetches the App's
/// BroadWorks token from the mTLS AuthService (the mTLS farm in option 2, the XSP's mTLS
/// interface in option 1), and the App signs in either way.
#[tokio::test(start_paused = true)]
async fn the_app_gets_its_token_from_the_mtls_authservice_on_r22_unpatched() {
    for topology in ["option1", "option2"] {
        let src = format!(
            r#"
name: sign-in without CI token validation
profiles: [r22-unpatched]
topology: {topology}
sut: {{reference: webex-app, user: alice}}
timeline:
  - at: 0s
    sut: sign-in
  - within: 20s
    expect:
      - {{token: {{user: alice}}}}
      - {{channel_open: {{user: alice}}}}
"#
        );
        assert_passes(&src, "r22-unpatched").await;
    }
}

/// A paused-time case whose timeline would run for a century of lab time (the App's
/// heartbeats keep the clock busy) is stopped by the real-time watchdog and fails.
#[tokio::test]
async fn a_case_that_never_ends_is_stopped_by_the_watchdog() {
    let src = r#"
name: forever
profiles: [r24]
sut: {reference: webex-app, user: alice}
timeline:
  - at: 36500d
    sut: sign-out
"#;
    let scenario = bwlab::scenario::parse_str(src, "inline.yaml").unwrap();
    let opts = RunOptions {
        wall_limit: Some(std::time::Duration::from_secs(2)),
        ..RunOptions::default()
    };
    let r = run_case(&scenario, None, "r24", &opts).await;
    assert!(r.outcome.is_fail(), "{:?}", r.outcome);
    assert!(
        r.outcome.message().contains("ran longer than"),
        "{}",
        r.outcome.message()
    );
}

/// A certificate fault on a node, from a scenario: xsp1 serves an expired certificate, so
/// the App (and the cloud's sign-in path) move on to xsp2; reverted, xsp1 serves again.
#[tokio::test(start_paused = true)]
async fn an_expired_certificate_on_a_node_moves_the_app_to_the_next_host() {
    let src = r#"
name: expired certificate on xsp1
profiles: [r24]
topology: option1
faults:
  - {id: bad, on: xsp1, bad_certificate: expired}
sut: {reference: webex-app, user: alice}
timeline:
  - at: 0s
    sut: sign-in
  - within: 20s
    expect: {channel_open: {user: alice, node: xsp2}}
  - at: 1m
    revert: bad
  - after: 1s
    sut: sign-in
  - within: 20s
    expect: {channel_open: {user: alice, node: xsp1}}
"#;
    assert_passes(src, "r24").await;
}

/// The fake IdP proxy's mTLS AuthService calls move on to the next node of the mTLS farm
/// when the first is down (releases without CI token validation).
#[tokio::test(start_paused = true)]
async fn the_mtls_authservice_fails_over_to_the_next_node() {
    let src = r#"
name: mTLS AuthService fail-over
profiles: [r22-unpatched]
topology: option2
sut: {reference: webex-app, user: alice}
timeline:
  - at: 0s
    node: {down: xsp-mtls1}
  - at: 1s
    sut: sign-in
  - within: 20s
    expect:
      - {token: {user: alice, node: xsp-mtls2}}
      - {channel_open: {user: alice}}
"#;
    assert_passes(src, "r22-unpatched").await;
}
