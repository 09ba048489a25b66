//! Errors of loading and looking up profiles.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::names::join;

/// A place in a profile file: `my-profiles.toml:12:5`. Lines and columns count from 1; the
/// column counts characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    /// The file path, or the name given to [`Profiles::load_str`](crate::Profiles::load_str);
    /// `builtin:r22.toml` for the embedded profiles.
    pub source: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub(crate) fn at(source: &str, text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Location {
            source: source.into(),
            line: clamp(before.matches('\n').count() + 1),
            column: clamp(before[line_start..].chars().count() + 1),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// Everything that can go wrong when loading or looking up profiles. Messages are meant for a
/// terminal: positioned errors start with `file:line:column:`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// A profile file could not be read.
    #[error("cannot read profile file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type or an unknown name.
    #[error("{location}: {message}")]
    Syntax {
        /// Where the parser stopped.
        location: Location,
        /// The parser's message.
        message: String,
    },
    /// A `[features]` key is not a known feature.
    #[error("{location}: unknown feature `{name}`{}", did_you_mean(.suggestion.as_deref()))]
    UnknownFeature {
        /// The key.
        location: Location,
        /// The name as written.
        name: String,
        /// The closest known feature name.
        suggestion: Option<String>,
    },
    /// No profile has this name.
    #[error("unknown profile `{name}`{}; available: {}", did_you_mean(.suggestion.as_deref()), join(.available, ", "))]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The closest available name.
        suggestion: Option<String>,
        /// Every available name.
        available: Vec<String>,
    },
    /// `extends` names a profile that does not exist.
    #[error(
        "{location}: profile `{profile}` extends unknown profile `{parent}`{}; available: {}",
        did_you_mean(.suggestion.as_deref()),
        join(.available, ", ")
    )]
    UnknownParent {
        /// The `extends` value.
        location: Location,
        /// The profile being defined.
        profile: String,
        /// The name it extends.
        parent: String,
        /// The closest available name.
        suggestion: Option<String>,
        /// Every available name.
        available: Vec<String>,
    },
    /// Profiles extend each other in a loop.
    #[error("{location}: `extends` forms a cycle: {}", join(.chain, " → "))]
    ExtendsCycle {
        /// The `extends` that closes the loop.
        location: Location,
        /// The profiles in the loop, first repeated at the end.
        chain: Vec<String>,
    },
    /// The profile parsed, but its merged content is inconsistent or incomplete.
    #[error("{location}: profile `{profile}`: {message}")]
    Invalid {
        /// The profile's `name` key.
        location: Location,
        /// The profile.
        profile: String,
        /// What is wrong.
        message: String,
    },
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

impl ProfileError {
    /// Where in which file the problem is, when the error has a position.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ProfileError::Syntax { location, .. }
            | ProfileError::UnknownFeature { location, .. }
            | ProfileError::UnknownParent { location, .. }
            | ProfileError::ExtendsCycle { location, .. }
            | ProfileError::Invalid { location, .. } => Some(location),
            ProfileError::Io { .. } | ProfileError::UnknownProfile { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(Location::at("f", text, 0).to_string(), "f:1:1");
        let offset = text.find('=').unwrap();
        assert_eq!(Location::at("f", text, offset).to_string(), "f:1:3");
        let offset = text.rfind('=').unwrap();
        assert_eq!(Location::at("f", text, offset).to_string(), "f:2:4");
        // Past the end and inside a character are clamped, never a panic.
        assert_eq!(Location::at("f", text, 999).line, 3);
        let inside_e = text.find('é').unwrap() + 1;
        assert_eq!(Location::at("f", text, inside_e).to_string(), "f:2:2");
    }
}
