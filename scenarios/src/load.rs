//! Text → [`Scenario`]: syntax, then types field by field, then semantic checks, each error
//! placed at its line and column.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::check::{self, Decoded};
use crate::de::{Ctx, Found, NodeDe, PathLink, Step, hint_for, report};
use crate::error::{Diagnostic, Diagnostics};
use crate::scenario::Scenario;
use bwlab_yaml::tree::{self, Kind, Node};

/// Files larger than this are refused before parsing (scenarios are a few KB).
const MAX_FILE_BYTES: usize = 4 << 20;

/// How a scenario is loaded.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Directory that relative paths in the file (`data.file`, `sut.command.cwd`) are
    /// resolved against; `None` skips the checks that read other files.
    pub base_dir: Option<PathBuf>,
}

/// Parses and validates a scenario given as text. `file` names it in diagnostics; files it
/// refers to are not read (see [`parse_str_with`]).
pub fn parse_str(src: &str, file: impl AsRef<Path>) -> Result<Scenario, Diagnostics> {
    parse_str_with(src, file, &LoadOptions::default())
}

/// Reads, parses and validates a scenario file; `data.file` is resolved next to it.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Scenario, Diagnostics> {
    let path = path.as_ref();
    let text = std::fs::read(path)
        .map_err(|e| Diagnostics::single(path, format!("cannot read the file: {e}"), None))?;
    let text = String::from_utf8(text).map_err(|e| {
        Diagnostics::single(
            path,
            format!(
                "the file is not UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ),
            Some("save it as UTF-8".into()),
        )
    })?;
    let base_dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .map(Path::to_path_buf);
    parse_str_with(&text, path, &LoadOptions { base_dir })
}

/// [`parse_str`] with options.
pub fn parse_str_with(
    src: &str,
    file: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<Scenario, Diagnostics> {
    let file = file.as_ref();
    if src.len() > MAX_FILE_BYTES {
        return Err(Diagnostics::single(
            file,
            format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            None,
        ));
    }
    let tree = tree::parse_file(src, "a scenario file").map_err(|e| {
        Diagnostics(vec![Diagnostic {
            file: file.to_path_buf(),
            line: e.line.max(1),
            column: e.col.max(1),
            path: e.path,
            message: e.message,
            hint: Some(
                "the file is not valid YAML here; everything after it was not checked".into(),
            ),
        }])
    })?;
    let ctx = crate::de::ctx();
    let decoded = decode(&tree, &ctx);
    let issues = check::check(&decoded, options);
    for i in issues {
        if ctx.is_poisoned(&i.path) {
            continue;
        }
        let node = match i.at_key {
            true => tree
                .locate_key(&i.path)
                .unwrap_or_else(|| tree.locate(&i.path)),
            false => tree.locate(&i.path),
        };
        report(&ctx, node, i.path, i.message, i.hint);
    }
    let mut errors = ctx.errors.into_inner();
    if errors.is_empty()
        && let Some(s) = decoded.into_scenario()
    {
        return Ok(s);
    }
    errors.sort_by_key(|f| (f.line, f.col));
    Err(Diagnostics(
        errors
            .into_iter()
            .map(|f: Found| Diagnostic {
                file: file.to_path_buf(),
                line: f.line,
                column: f.col,
                hint: f.hint.or_else(|| Some(guide_hint(&f.path))),
                path: if f.path.is_empty() {
                    "<root>".into()
                } else {
                    f.path
                },
                message: f.message,
            })
            .collect(),
    ))
}

/// The section of the guide that describes a field, for errors that have no better hint.
fn guide_hint(path: &str) -> String {
    let first = path.split(['.', '[']).next().unwrap_or("");
    let section = if path.contains(".fault") || first == "faults" {
        "faults"
    } else if path.contains(".expect") || path.contains(".when") || first == "expect" {
        "expectations"
    } else {
        match first {
            "timeline" => "timeline",
            "topology" => "topology",
            "subscribers" | "data" => "subscribers-and-data",
            "sut" => "the-system-under-test",
            "profiles" => "profiles",
            _ => "the-file",
        }
    };
    format!("see docs/scenarios.md#{section}")
}

fn one<T: DeserializeOwned>(node: &Node<'_>, key: &str, ctx: &Ctx) -> Option<T> {
    let link = PathLink::root(Step::Key(key));
    T::deserialize(NodeDe::new(node, &link, ctx)).ok()
}

/// Each item on its own, so one broken item does not hide the others' problems.
fn list<T: DeserializeOwned>(node: &Node<'_>, key: &str, ctx: &Ctx) -> Vec<(usize, T)> {
    let link = PathLink::root(Step::Key(key));
    match &node.kind {
        Kind::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let l = link.child(Step::Index(i));
                T::deserialize(NodeDe::new(item, &l, ctx))
                    .ok()
                    .map(|v| (i, v))
            })
            .collect(),
        _ if node.is_null() => Vec::new(),
        _ => {
            report(
                ctx,
                node,
                key.to_string(),
                format!("expected a list, found {}", node.describe()),
                Some(format!(
                    "write each item on its own line starting with `- ` under `{key}:`"
                )),
            );
            Vec::new()
        }
    }
}

fn decode(tree: &Node<'_>, ctx: &Ctx) -> Decoded {
    let mut d = Decoded::default();
    let Kind::Map(entries) = &tree.kind else {
        report(
            ctx,
            tree,
            "<root>".into(),
            format!(
                "expected a mapping of keys (name, sut, timeline…), found {}",
                tree.describe()
            ),
            None,
        );
        return d;
    };
    for (k, v) in entries {
        let key = k.text().unwrap_or("");
        match key {
            "name" => d.name = one(v, key, ctx),
            "description" => d.description = one(v, key, ctx),
            "profiles" => d.profiles = one(v, key, ctx),
            "topology" => d.topology = one(v, key, ctx),
            "subscribers" => d.subscribers = list(v, key, ctx),
            "data" => d.data = one(v, key, ctx),
            "sut" => d.sut = one(v, key, ctx),
            "seed" => d.seed = one(v, key, ctx),
            "faults" => d.faults = list(v, key, ctx),
            "timeline" => d.timeline = list(v, key, ctx),
            "expect" => d.expect = list(v, key, ctx),
            _ => report(
                ctx,
                k,
                key.to_string(),
                format!("unknown key `{key}`"),
                hint_for(key, Scenario::KEYS),
            ),
        }
    }
    for required in ["name", "sut"] {
        if !entries.iter().any(|(k, _)| k.text() == Some(required)) {
            report(
                ctx,
                tree,
                required.to_string(),
                format!("missing required key `{required}`"),
                Some(match required {
                    "name" => "add `name: <one line saying what the scenario shows>`".to_string(),
                    _ => "add `sut: {reference: webex-app}` (or `webex-cloud`, `command:`, `url:`)"
                        .to_string(),
                }),
            );
        }
    }
    d.poisoned_any = !ctx.errors.borrow().is_empty();
    d
}
