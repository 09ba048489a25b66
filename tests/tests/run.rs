//! The scenario runner over real labs on paused tokio time: library scenarios pass on every
//! release profile, unsupported features are skipped with a reason, failures name the
//! closest journal entries.

use std::path::{Path, PathBuf};

use bwlab::run::{Outcome, RunOptions, run_case};

fn library(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(file)
}

async fn run_library(file: &str, profile: &str) -> bwlab::run::CaseResult {
    let path = library(file);
    let scenario = bwlab::scenario::parse_file(&path).unwrap();
    run_case(&scenario, Some(&path), profile, &RunOptions::default()).await
}

async fn assert_passes(file: &str) {
    for profile in ["r22", "r23", "r24"] {
        let r = run_library(file, profile).await;
        assert_eq!(
            r.outcome,
            Outcome::Pass,
            "{file} on {profile}:\n{}\nlog:\n{}",
            r.outcome.message(),
            r.log.join("\n")
        );
    }
}

#[tokio::test(start_paused = true)]
async fn dropped_heartbeats_reinit_passes_on_r22_r23_r24() {
    assert_passes("dropped-heartbeats-reinit.yaml").await;
}

#[tokio::test(start_paused = true)]
async fn srv_failover_and_nxdomain_passes_on_r22_r23_r24() {
    assert_passes("srv-failover-and-nxdomain.yaml").await;
}

#[tokio::test(start_paused = true)]
async fn unsupported_features_are_skipped_with_the_reason() {
    let r = run_library("dual-site-failover-app.yaml", "r24").await;
    assert_eq!(
        r.outcome,
        Outcome::Skip("unsupported: topology dual-site".into())
    );
    let r = run_library("xsp-clock-skew.yaml", "r24").await;
    assert_eq!(
        r.outcome,
        Outcome::Skip("unsupported: fault clock_skew".into())
    );
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

/// `single-xsp` is the two-node lab with xsp2 out of the farm names: with xsp1 down the App
/// has nowhere else to go.
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
    let scenario = bwlab::scenario::parse_str(src, "inline.yaml").unwrap();
    let r = run_case(&scenario, None, "r24", &RunOptions::default()).await;
    assert_eq!(
        r.outcome,
        Outcome::Pass,
        "{}\n{}",
        r.outcome.message(),
        r.log.join("\n")
    );
}
