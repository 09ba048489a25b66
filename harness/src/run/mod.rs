//! The scenario runner: executes a parsed [`Scenario`] once per release profile against a
//! fresh [`Lab`](crate::Lab), walks its timeline on tokio time and checks its expectations
//! against the journal.
//!
//! From `cargo test`, a scenario file (or an inline one) runs like this; cases with a
//! reference SUT run on paused tokio time, so the minutes below take milliseconds:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use bwlab::run::{RunOptions, run_case};
//!
//! let scenario = bwlab::scenario::parse_str(
//!     r#"
//! name: site A dies, the App moves to site B
//! topology: dual-site
//! sut: {reference: webex-app, user: alice}
//! timeline:
//!   - at: 0s
//!     sut: sign-in
//!   - within: 20s
//!     expect: {channel_open: {user: alice, via: lb-site-a}}
//!   - at: 30s
//!     node: {down: lb-site-a}
//!   - within: 1m
//!     expect: {channel_open: {user: alice, via: lb-site-b}}
//! "#,
//!     "inline.yaml",
//! )
//! .unwrap();
//! for profile in ["r22", "r23", "r24"] {
//!     let result = run_case(&scenario, None, profile, &RunOptions::default()).await;
//!     assert!(result.outcome.is_pass(), "{}", result.outcome.message());
//! }
//! # }
//! ```
//!
//! A test that drives a [`Lab`](crate::Lab) itself (its own clients, faults through the
//! handles) awaits the same expectations with [`await_expectation`]. What runs and what is
//! reported as skipped is listed in `docs/scenarios.md` ("Running scenarios").
//! Unsupported features never run half-way: the case is `skipped` with `unsupported: …`
//! before the lab starts.

pub mod cli;
mod exec;
mod matcher;
pub mod report;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bwlab_scenario::Scenario;
use serde::Serialize;

pub use exec::run_case;

/// Settings of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the scenario's `seed`.
    pub seed: Option<u64>,
    /// How long a `when:` condition may take before the case fails (default 10 min).
    pub when_limit: Option<Duration>,
    /// Run reference-SUT cases in real time too (default: paused tokio time, see
    /// [`run_case`]).
    pub real_time: bool,
    /// Real time a paused-time case may take before it is stopped and failed (default
    /// 5 min); a guard against a timeline that never ends.
    pub wall_limit: Option<Duration>,
}

/// The result of one scenario on one profile.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "status", content = "message", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

impl Outcome {
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass)
    }
    pub fn is_fail(&self) -> bool {
        matches!(self, Outcome::Fail(_))
    }
    pub fn is_skip(&self) -> bool {
        matches!(self, Outcome::Skip(_))
    }
    /// The failure text or the skip reason (empty for a pass).
    pub fn message(&self) -> &str {
        match self {
            Outcome::Pass => "",
            Outcome::Fail(m) | Outcome::Skip(m) => m,
        }
    }
    /// `pass`, `FAIL` or `skip`, as in the matrix.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "skip",
        }
    }
}

/// One scenario × profile.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// Row label: the file stem (or the scenario name without a file).
    pub scenario: String,
    pub name: String,
    pub file: Option<PathBuf>,
    pub profile: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Wall-clock seconds the case took.
    pub seconds: f64,
    /// The run's log: steps as they ran (for reports).
    pub log: Vec<String>,
    /// The journal of the run, for the HTML report (not in the JSON output).
    #[serde(skip)]
    pub trace: Vec<TraceEntry>,
}

/// One journal entry of a run, as the HTML report draws it.
#[derive(Clone, Debug, Default)]
pub struct TraceEntry {
    /// Milliseconds since the case started (tokio time, the same origin as the run log;
    /// lab clock advances are taken out). Entries from before the start count as 0.
    pub ms: u64,
    /// The journal sequence number.
    pub seq: u64,
    pub node: String,
    pub kind: String,
    pub summary: String,
    /// `out` for entries the node sent towards the SUT (events on a channel), `outbound`
    /// for requests a node made itself (the IdP proxy).
    pub direction: Option<String>,
    /// The other side of the connection, when the node knew it.
    pub peer: Option<String>,
    /// The entry's attributes (`method`, `path`, `status`, `user`, `channel`, `qname`…).
    pub attrs: Vec<(String, String)>,
}

impl TraceEntry {
    /// The value of attribute `key`, if recorded.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The seed of a scenario that names none and runs without `--seed`.
pub const DEFAULT_SEED: u64 = 0x5eed;

/// The profiles a scenario runs on (its own list, or r22, r23, r24).
pub fn scenario_profiles(s: &Scenario) -> Vec<String> {
    if s.profiles.is_empty() {
        vec!["r22".into(), "r23".into(), "r24".into()]
    } else {
        s.profiles.clone()
    }
}

/// Why `scenario` cannot run in this build, if it cannot.
pub fn unsupported(scenario: &Scenario) -> Option<String> {
    support::unsupported(scenario)
}

/// The row label of a scenario file.
pub fn label(file: Option<&Path>, s: &Scenario) -> String {
    file.and_then(|f| f.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| s.name.clone())
}

/// Waits until `exp` holds over the lab's journal (entries from `since` on: a
/// [`Journal::next_seq`](bwlab_core::Journal::next_seq) taken earlier, or 0 for the whole
/// run), at most `within` of tokio time — the `within:` step of a scenario, for tests that
/// drive a [`Lab`](crate::Lab) themselves. Expectations with an upper bound (`count`,
/// `at_most`) are judged when `within` is over. The error says what was expected and lists
/// the closest journal entries.
///
/// ```no_run
/// # async fn demo(lab: &bwlab::Lab) {
/// use bwlab::scenario::Expectation;
/// use bwlab::scenario::expect::ChannelMatch;
/// let open = Expectation {
///     channel_open: Some(ChannelMatch { user: "alice".into(), ..Default::default() }),
///     ..Default::default()
/// };
/// bwlab::run::await_expectation(lab, &open, 0, std::time::Duration::from_secs(20))
///     .await
///     .unwrap();
/// # }
/// ```
pub async fn await_expectation(
    lab: &crate::Lab,
    exp: &bwlab_scenario::Expectation,
    since: u64,
    within: Duration,
) -> Result<(), String> {
    exec::await_on(lab, exp, since, tokio::time::Instant::now() + within).await
}
