//! Errors of lab data: where (file, line, column), which field (a path such as
//! `users[3].number`) and what is wrong. Loading reports every problem it can find at
//! once, so a lab author fixes a file in one round instead of one error per run.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A mapping key / struct field.
    Key(Cow<'static, str>),
    /// A sequence index.
    Index(usize),
}

/// Path to a field in lab data, rendered as `users[3].services.doNotDisturb.active`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// The empty path (the document itself).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// `section[index]`, the start of most paths.
    pub fn item(section: &'static str, index: usize) -> Self {
        Self(vec![Seg::Key(Cow::Borrowed(section)), Seg::Index(index)])
    }

    /// This path extended by a key.
    #[must_use]
    pub fn key(mut self, key: impl Into<Cow<'static, str>>) -> Self {
        self.0.push(Seg::Key(key.into()));
        self
    }

    /// This path extended by an index.
    #[must_use]
    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Seg::Index(index));
        self
    }

    /// True when `self` starts with `prefix` (used to hide follow-up errors).
    pub fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("<root>");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Where in a source file a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePos {
    /// File name as given to the loader (e.g. `lab.yaml`).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// What kind of problem; lets tests and tools tell errors apart without parsing text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The YAML itself is malformed.
    Syntax,
    /// A key the format doesn't know.
    UnknownField,
    /// A required key is absent.
    MissingField,
    /// A value of the wrong shape or type (text where a number belongs, a list for a map).
    WrongType,
    /// A value of the right type that fails a rule (bad E.164, bad MAC, out of range…).
    Invalid,
    /// Two things share an id, number, extension… that must be unique.
    Duplicate,
    /// A reference to something that doesn't exist (group, user, enterprise).
    UnknownReference,
}

/// One problem in lab data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabError {
    /// Position in the source file; `None` for data built in Rust.
    pub pos: Option<SourcePos>,
    /// The offending field, e.g. `users[3].number`.
    pub path: String,
    /// What is wrong, e.g. `"5550100" is not E.164 (expected +<digits>)`.
    pub message: String,
    /// Category of the problem.
    pub kind: ErrorKind,
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.pos {
            write!(f, "{}:{}:{}: ", p.file, p.line, p.column)?;
        }
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for LabError {}

/// Every problem found in one load or one build, in source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabErrors(pub Vec<LabError>);

impl LabErrors {
    /// The individual errors.
    pub fn errors(&self) -> &[LabError] {
        &self.0
    }

    /// True when one of the errors renders exactly as `text` (handy in tests).
    pub fn contains(&self, text: &str) -> bool {
        self.0.iter().any(|e| e.to_string() == text)
    }

    pub(crate) fn single(path: String, message: String, kind: ErrorKind) -> Self {
        Self(vec![LabError {
            pos: None,
            path,
            message,
            kind,
        }])
    }
}

impl fmt::Display for LabErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} problem{} in lab data",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LabErrors {}

/// A problem found by semantic validation: a path into the data plus a message. The YAML
/// loader turns the path into a file position; data built in Rust shows the path alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issue {
    pub path: FieldPath,
    pub message: String,
    pub kind: ErrorKind,
}

impl Issue {
    pub fn new(path: FieldPath, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
            kind,
        }
    }

    pub fn into_lab_error(self) -> LabError {
        LabError {
            pos: None,
            path: self.path.to_string(),
            message: self.message,
            kind: self.kind,
        }
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely
/// typo (at most a third of the word's length, at least 1; case differences are free).
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_l = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = edit_distance(&word_l, &c.to_ascii_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 8 {
        return usize::MAX;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        d[i * w] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// `" (did you mean \"x\"?)"` or nothing.
pub(crate) fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(word, candidates)
        .map(|h| format!(" (did you mean {h:?}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display() {
        let p = FieldPath::item("users", 3).key("number");
        assert_eq!(p.to_string(), "users[3].number");
        assert_eq!(FieldPath::root().to_string(), "<root>");
    }

    #[test]
    fn suggestions() {
        let fields = ["userId", "number", "extension", "firstName"];
        assert_eq!(did_you_mean("numbr", fields), Some("number"));
        assert_eq!(did_you_mean("UserID", fields), Some("userId"));
        assert_eq!(did_you_mean("extnesion", fields), Some("extension"));
        assert_eq!(did_you_mean("zzz", fields), None);
    }
}
