//! **bwlab-scenario** — the scenario file format of bwlab: types, a YAML parser whose every
//! error carries file, line, column and a hint, semantic validation, and a JSON Schema for
//! editors. The runner that executes scenarios lives in the `bwlab` harness.
//!
//! ```
//! let src = r#"
//! name: heartbeats dropped on xsp1 re-initialise the channel
//! profiles: [r22, r24]
//! topology: option1
//! sut: {reference: webex-app}
//! timeline:
//!   - when: 1st channel open of alice
//!     fault: {on: xsp1, drop_heartbeats: {user: alice}}
//!   - within: 3m
//!     expect: {channel_open: {user: alice}, at_least: 2}
//! "#;
//! let scenario = bwlab_scenario::parse_str(src, "hb.yaml").unwrap();
//! assert_eq!(scenario.timeline.len(), 2);
//!
//! // Every problem is reported, each with its place and a hint.
//! let bad = "name: x\nsut: {reference: webex-app}\ntimelnie: []\n";
//! let err = bwlab_scenario::parse_str(bad, "bad.yaml").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "bad.yaml:3:1: error: timelnie: unknown key `timelnie`\n  = hint: did you mean `timeline`?"
//! );
//! ```
//!
//! The format is described in `docs/scenarios.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod check;
mod de;
pub mod error;
pub mod expect;
pub mod fault;
mod load;
pub mod scenario;
mod schema;
pub mod timeline;
pub mod value;

use std::path::{Path, PathBuf};

pub use error::{Diagnostic, Diagnostics};
pub use expect::Expectation;
pub use fault::FaultRule;
pub use load::{LoadOptions, parse_file, parse_str, parse_str_with};
pub use scenario::{BuiltinTopology, Scenario, Sut, TopologySpec};
pub use schema::{SCHEMA_ID, json_schema};
pub use timeline::{Condition, Step};
pub use value::{LabDuration, OneOrMany};

/// The scenario files a command-line argument names: the file itself, or the `.yaml` and
/// `.yml` files under a directory (recursively, sorted), except those in directories named
/// `data` (lab data files that scenarios refer to).
pub fn scenario_files(arg: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !arg.is_dir() {
        // Let reading report a missing file with the usual diagnostic.
        return Ok(vec![arg.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![arg.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "data") {
                    stack.push(path);
                }
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e == "yaml" || e == "yml")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The Rust snippets of `docs/scenarios.md` run as doc-tests.
#[doc = include_str!("../../docs/scenarios.md")]
#[cfg(doctest)]
pub struct ScenarioGuide;
