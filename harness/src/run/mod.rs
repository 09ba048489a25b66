//! The scenario runner: executes a parsed [`Scenario`] once per release profile against a
//! fresh [`Lab`], walks its timeline on tokio time and checks its expectations against the
//! journal.
//!
//! ```no_run
//! # async fn demo() {
//! let scenario = bwlab::scenario::parse_file("scenarios/dropped-heartbeats-reinit.yaml").unwrap();
//! let result = bwlab::run::run_case(&scenario, None, "r24", &bwlab::run::RunOptions::default()).await;
//! assert!(result.outcome.is_pass(), "{}", result.outcome.message());
//! # }
//! ```
//!
//! What runs and what is reported as skipped is listed in `docs/scenarios.md`
//! ("Running scenarios"). Unsupported features never run half-way: the case is `skipped`
//! with `unsupported: …` before the lab starts.

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
#[derive(Clone, Debug)]
pub struct TraceEntry {
    /// Milliseconds since the case started (tokio time).
    pub ms: u64,
    pub node: String,
    pub kind: String,
    pub summary: String,
    /// `out` for entries the node sent towards the SUT (events on a channel).
    pub direction: Option<String>,
}

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
