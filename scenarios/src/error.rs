//! Diagnostics: every problem of a scenario file, each with file, line, column, field path,
//! message and (when there is one) a hint.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Field path, e.g. `timeline[2].fault.latency.jitter` (`<root>` for the whole file).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when the validator can tell ("did you mean `latency`?").
    pub hint: Option<String>,
}

impl Diagnostic {
    /// Renders as `file:line:col: error: path: message`, plus `  = hint: …` on a second line.
    /// With `color`, the parts get ANSI colours like compiler output.
    pub fn render(&self, color: bool) -> String {
        let (bold, red, cyan, reset) = if color {
            ("\x1b[1m", "\x1b[1;31m", "\x1b[1;36m", "\x1b[0m")
        } else {
            ("", "", "", "")
        };
        let mut out = format!(
            "{bold}{}:{}:{}:{reset} {red}error:{reset} {bold}{}{reset}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.path,
            self.message
        );
        if let Some(h) = &self.hint {
            out.push_str(&format!("\n  {cyan}= hint:{reset} {h}"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// Every problem of one file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The problems.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a returned error; here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn single(file: &Path, message: String, hint: Option<String>) -> Self {
        Diagnostics(vec![Diagnostic {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            path: "<root>".into(),
            message,
            hint,
        }])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The candidate closest to `word`, if it is close enough to be a likely typo: at most a
/// third of the word's length in edits (at least one), where a transposition counts as one
/// edit and case and `-`/`_` differences are free.
pub use bwlab_yaml::de::did_you_mean;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let keys = ["timeline", "topology", "subscribers", "profiles"];
        assert_eq!(did_you_mean("timelnie", keys), Some("timeline"));
        assert_eq!(did_you_mean("Topology", keys), Some("topology"));
        assert_eq!(did_you_mean("profile", keys), Some("profiles"));
        assert_eq!(did_you_mean("zzz", keys), None);
        assert_eq!(
            did_you_mean("reset-peer", ["reset_peer"]),
            Some("reset_peer")
        );
    }

    #[test]
    fn rendering() {
        let d = Diagnostic {
            file: "s.yaml".into(),
            line: 3,
            column: 5,
            path: "timeline[0].at".into(),
            message: "bad".into(),
            hint: Some("fix it".into()),
        };
        assert_eq!(
            d.to_string(),
            "s.yaml:3:5: error: timeline[0].at: bad\n  = hint: fix it"
        );
        assert!(d.render(true).contains("\x1b[1;31merror:"));
    }
}
