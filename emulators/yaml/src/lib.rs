//! Positioned YAML for bwlab's file formats (lab data in `bwlab-model`, scenarios in
//! `bwlab-scenario`).
//!
//! [`tree`] parses one YAML document into nodes that keep their line, column and text as
//! written (anchors, aliases and `<<` merges resolved, duplicate keys refused, depth and
//! alias expansion bounded). [`de`] runs derived serde `Deserialize` impls over that tree and
//! turns every problem into a [`de::Found`] with line, column, field path and message,
//! recovering where it can so one load reports many problems. Each format words its
//! problems through its own [`de::Dialect`].
//!
//! ```
//! use bwlab_yaml::de::{Ctx, NodeDe, PathLink, Step};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Limits {
//!     #[allow(dead_code)]
//!     rate: u32,
//! }
//!
//! let tree = bwlab_yaml::tree::parse("rate: fast\nburts: 3\n").unwrap();
//! let ctx = Ctx::default();
//! let root = PathLink::root(Step::Key("limits"));
//! let _ = Limits::deserialize(NodeDe::new(&tree, &root, &ctx));
//! let errors: Vec<String> = ctx
//!     .errors
//!     .borrow()
//!     .iter()
//!     .map(|f| format!("{}:{}: {}: {}", f.line, f.col, f.path, f.message))
//!     .collect();
//! assert_eq!(
//!     errors,
//!     [
//!         "1:7: limits.rate: expected a whole number, found \"fast\"",
//!         "2:1: limits.burts: unknown key `burts`",
//!     ]
//! );
//! ```

pub mod de;
pub mod tree;

pub use de::{Ctx, Dialect, ErrorKind, Found, NodeDe, PathLink, Problem, Step, Wording};
pub use tree::{Node, SyntaxError};
