//! Lab files: YAML → [`LabData`] → validated model, with every error placed at
//! `file:line:column` and named by its field path.
//!
//! Decoding runs item by item (each user, device, admin… on its own), so one broken item
//! does not hide problems in the others; semantic validation then runs on everything that
//! decoded, and its paths are mapped back to the nodes they came from.
//!
//! Besides the ordinary `users:` list, a file may carry a `userTable:` — one user per line,
//! cells separated by `|`. YAML parsing costs about a microsecond per token, so a 100,000-user
//! lab in mapping form takes over a second just to tokenise; the table is one token per
//! line-block and loads in a fraction of that. Positions stay exact: each cell knows its
//! line and column.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::de::{Ctx, Found, NodeDe, PathLink, Step, kind_of, yaml_kind};
use crate::error::{ErrorKind, FieldPath, LabError, LabErrors, Seg, SourcePos, hint};
use crate::ids::login_key;
use crate::services::ServiceKind;
use crate::spec::{AdminSpec, DeviceSpec, EnterpriseSpec, LabData, SystemSpec, UserSpec};
use crate::validate::{Known, Model, validate};
use bwlab_yaml::tree::{Kind, Node, ScalarStyle, SyntaxError, parse_file};

/// Top-level keys of a lab file.
const TOP_KEYS: &[&str] = &[
    "system",
    "enterprises",
    "serviceProviders",
    "users",
    "userTable",
    "devices",
    "admins",
];

/// `UserSpec` fields a `userTable` may have as columns (scalars and simple lists).
const TABLE_COLUMNS: &[&str] = &[
    "userId",
    "enterprise",
    "group",
    "firstName",
    "lastName",
    "password",
    "email",
    "alternateIds",
    "number",
    "extension",
    "mobile",
    "language",
    "timeZone",
    "timeZoneDisplayName",
    "title",
    "department",
    "impId",
    "passcode",
    "passwordExpires",
    "passwordExpiresInDays",
    "locked",
    "services",
];

/// Columns whose cells are comma-separated lists.
const LIST_COLUMNS: &[&str] = &["alternateIds", "services"];

/// Where a top-level item came from.
#[derive(Clone, Copy)]
struct Origin<'a> {
    section: &'static str,
    index: usize,
    src: Src<'a>,
}

/// A node of the tree, or a `userTable` row (rebuilt on demand: keeping 100k row nodes
/// alive just in case one has an error would double the load time).
#[derive(Clone, Copy)]
enum Src<'a> {
    Node(&'a Node<'a>),
    Row { line: u32, text: &'a str },
}

#[derive(Default)]
struct Origins<'a> {
    system: Option<&'a Node<'a>>,
    enterprises: Vec<Origin<'a>>,
    users: Vec<Origin<'a>>,
    devices: Vec<Origin<'a>>,
    admins: Vec<Origin<'a>>,
}

/// Decodes a lab file without semantic validation (types and field names only).
pub fn parse_lab_yaml(src: &str, file_name: &str) -> Result<LabData, LabErrors> {
    let file: Arc<str> = file_name.into();
    let tree = parse_file(src, "a lab file").map_err(|e| syntax_errors(&file, e))?;
    let ctx = crate::de::ctx();
    let table = Table::extract(&tree, &ctx);
    let (data, _, _) = decode(&tree, table.as_ref(), &ctx);
    let errors = ctx.errors.into_inner();
    if errors.is_empty() {
        Ok(data)
    } else {
        Err(finish(
            errors.into_iter().map(|f| found(&file, f)).collect(),
        ))
    }
}

/// Loads a lab file into a validated model.
pub(crate) fn load(src: &str, file_name: &str, now: OffsetDateTime) -> Result<Model, LabErrors> {
    let file: Arc<str> = file_name.into();
    let tree = parse_file(src, "a lab file").map_err(|e| syntax_errors(&file, e))?;
    let ctx = crate::de::ctx();
    let table = Table::extract(&tree, &ctx);
    let (data, origins, known) = decode(&tree, table.as_ref(), &ctx);
    let result = validate(data, now, &known);
    let mut errors: Vec<LabError> = ctx
        .errors
        .borrow()
        .iter()
        .cloned()
        .map(|f| found(&file, f))
        .collect();
    let model = match result {
        Ok(model) => Some(model),
        Err(issues) => {
            for i in issues {
                let (path, line, column) = locate(&origins, table.as_ref(), &tree, &i.path);
                if ctx.is_poisoned(&path) {
                    continue;
                }
                errors.push(LabError {
                    pos: Some(SourcePos {
                        file: file.clone(),
                        line,
                        column,
                    }),
                    path,
                    message: i.message,
                    kind: i.kind,
                });
            }
            None
        }
    };
    match model {
        Some(m) if errors.is_empty() => Ok(m),
        _ => Err(finish(errors)),
    }
}

fn syntax_errors(file: &Arc<str>, e: SyntaxError) -> LabErrors {
    LabErrors(vec![LabError {
        pos: Some(SourcePos {
            file: file.clone(),
            line: e.line,
            column: e.col,
        }),
        path: e.path,
        message: e.message,
        kind: ErrorKind::Syntax,
    }])
}

fn found(file: &Arc<str>, f: Found) -> LabError {
    LabError {
        pos: Some(SourcePos {
            file: file.clone(),
            line: f.line,
            column: f.col,
        }),
        path: f.path,
        message: f.message,
        kind: kind_of(f.kind),
    }
}

/// Sorts by position and folds repeats (a bad `userTable.defaults` value would otherwise be
/// reported once per row).
fn finish(mut errors: Vec<LabError>) -> LabErrors {
    let pos_key = |e: &LabError| e.pos.as_ref().map_or((0, 0), |p| (p.line, p.column));
    errors.sort_by_key(pos_key);
    let mut out: Vec<(LabError, usize)> = Vec::with_capacity(errors.len());
    for e in errors {
        if let Some((last, n)) = out.last_mut()
            && pos_key(last) == pos_key(&e)
            && last.message == e.message
        {
            *n += 1;
            continue;
        }
        out.push((e, 0));
    }
    LabErrors(
        out.into_iter()
            .map(|(mut e, n)| {
                if n > 0 {
                    e.message.push_str(&format!(" (and {n} more like it)"));
                }
                e
            })
            .collect(),
    )
}

fn report(ctx: &Ctx, node: &Node<'_>, path: String, kind: ErrorKind, message: String) {
    ctx.report(
        node,
        path,
        bwlab_yaml::Wording::new(yaml_kind(kind), message, None),
    );
}

/// Decodes each item of a top-level list on its own.
fn decode_list<'a, T: DeserializeOwned>(
    node: &'a Node<'a>,
    section: &'static str,
    ctx: &Ctx,
    out: &mut Vec<T>,
    origins: &mut Vec<Origin<'a>>,
    mut on_fail: impl FnMut(&Node<'_>),
) {
    let items: &[Node<'_>] = match &node.kind {
        Kind::Seq(items) => items,
        _ if node.is_null() => return,
        _ => {
            report(
                ctx,
                node,
                section.into(),
                ErrorKind::WrongType,
                format!("expected a list, found {}", node.describe()),
            );
            return;
        }
    };
    let root = PathLink::root(Step::Key(section));
    for (i, item) in items.iter().enumerate() {
        let link = root.child(Step::Index(i));
        match T::deserialize(NodeDe::new(item, &link, ctx)) {
            Ok(v) => {
                out.push(v);
                origins.push(Origin {
                    section,
                    index: i,
                    src: Src::Node(item),
                });
            }
            Err(_) => on_fail(item),
        }
    }
}

fn decode<'a>(
    tree: &'a Node<'a>,
    table: Option<&Table<'a>>,
    ctx: &Ctx,
) -> (LabData, Origins<'a>, Known) {
    let mut data = LabData::default();
    let mut origins = Origins::default();
    let mut known = Known::default();
    let Kind::Map(entries) = &tree.kind else {
        report(
            ctx,
            tree,
            "<root>".into(),
            ErrorKind::WrongType,
            format!(
                "a lab file is a mapping of sections, found {}",
                tree.describe()
            ),
        );
        return (data, origins, known);
    };
    if let Some(t) = table {
        // One row per line at most: reserve once instead of regrowing 600-byte items.
        let n = t.text.bytes().filter(|&b| b == b'\n').count() + 1;
        data.users.reserve(n);
        origins.users.reserve(n);
    }
    for (k, v) in entries {
        let key = k.text().unwrap_or("");
        match key {
            "system" => {
                let link = PathLink::root(Step::Key("system"));
                origins.system = Some(v);
                if let Ok(s) = SystemSpec::deserialize(NodeDe::new(v, &link, ctx)) {
                    data.system = s;
                }
            }
            "enterprises" | "serviceProviders" => {
                let section = if key == "enterprises" {
                    "enterprises"
                } else {
                    "serviceProviders"
                };
                let start = data.enterprises.len();
                decode_list::<EnterpriseSpec>(
                    v,
                    section,
                    ctx,
                    &mut data.enterprises,
                    &mut origins.enterprises,
                    |item| {
                        if let Some(id) = item.get("id").and_then(Node::text) {
                            known.enterprises.insert(id.to_owned());
                        }
                        if let Some(Kind::Seq(gs)) = item.get("groups").map(|g| &g.kind) {
                            for g in gs {
                                if let Some(id) = g.get("id").and_then(Node::text) {
                                    known.groups.insert(id.to_owned());
                                }
                            }
                        }
                    },
                );
                for e in &mut data.enterprises[start..] {
                    e.is_enterprise.get_or_insert(key == "enterprises");
                }
            }
            "users" => decode_list::<UserSpec>(
                v,
                "users",
                ctx,
                &mut data.users,
                &mut origins.users,
                |item| remember_logins(item, &mut known),
            ),
            "userTable" => {} // decoded below, after `users`
            "devices" => decode_list::<DeviceSpec>(
                v,
                "devices",
                ctx,
                &mut data.devices,
                &mut origins.devices,
                |_| {},
            ),
            "admins" => decode_list::<AdminSpec>(
                v,
                "admins",
                ctx,
                &mut data.admins,
                &mut origins.admins,
                |_| {},
            ),
            other => {
                let h = hint(other, TOP_KEYS.iter().copied());
                let message = if h.is_empty() {
                    format!("unknown section (expected one of {})", TOP_KEYS.join(", "))
                } else {
                    format!("unknown section{h}")
                };
                report(ctx, k, other.into(), ErrorKind::UnknownField, message);
            }
        }
    }
    // Table rows come after the `users` list, in file order. Buffers are recycled from
    // row to row, so a row costs no allocation beyond the strings it decodes into.
    if let Some(table) = table {
        let root = PathLink::root(Step::Key("userTable"));
        let rows_link = root.child(Step::Key("rows"));
        let mut entries = Vec::new();
        let mut pool = Vec::new();
        let mut cells = Vec::new();
        for (r, line, text) in table.rows() {
            let node = match table.row_node(
                line,
                text,
                std::mem::take(&mut entries),
                &mut pool,
                &mut cells,
            ) {
                Ok(node) => node,
                Err(found) => {
                    report(
                        ctx,
                        &Node::scalar(line, table.col0, Cow::Borrowed(""), ScalarStyle::Plain),
                        format!("userTable.rows[{r}]"),
                        ErrorKind::WrongType,
                        format!(
                            "expected {} cells ({}), found {found}",
                            table.columns.len(),
                            table.columns.join(" | "),
                        ),
                    );
                    continue;
                }
            };
            let link = rows_link.child(Step::Index(r));
            match UserSpec::deserialize(NodeDe::new(&node, &link, ctx)) {
                Ok(u) => {
                    data.users.push(u);
                    origins.users.push(Origin {
                        section: "userTable.rows",
                        index: r,
                        src: Src::Row { line, text },
                    });
                }
                Err(_) => remember_logins(&node, &mut known),
            }
            entries = recycle(node, &mut pool);
        }
    }
    (data, origins, known)
}

fn remember_logins(item: &Node<'_>, known: &mut Known) {
    if let Some(id) = item.get("userId").and_then(Node::text) {
        known.logins.insert(login_key(id).into_owned());
    }
    if let Some(Kind::Seq(ids)) = item.get("alternateIds").map(|n| &n.kind) {
        for a in ids.iter().filter_map(Node::text) {
            known.logins.insert(login_key(a).into_owned());
        }
    }
}

/// The `userTable` section: columns, defaults and the rows block.
struct Table<'a> {
    columns: Vec<&'static str>,
    defaults: &'a [(Node<'a>, Node<'a>)],
    text: &'a str,
    line0: u32,
    col0: u32,
}

/// Returns a row node's buffers for reuse: its entry vector, and list vectors to `pool`.
fn recycle<'a>(node: Node<'a>, pool: &mut Vec<Vec<Node<'a>>>) -> Vec<(Node<'a>, Node<'a>)> {
    match node.kind {
        Kind::Map(mut entries) => {
            for (_, v) in entries.drain(..) {
                if let Kind::Seq(mut items) = v.kind {
                    items.clear();
                    pool.push(items);
                }
            }
            entries
        }
        _ => Vec::new(),
    }
}

impl<'a> Table<'a> {
    /// Checks the section's shape; `None` (after reporting) when rows can't be read.
    fn extract(tree: &'a Node<'a>, ctx: &Ctx) -> Option<Self> {
        let table = tree.get("userTable")?;
        if table.is_null() {
            return None;
        }
        let Kind::Map(entries) = &table.kind else {
            report(
                ctx,
                table,
                "userTable".into(),
                ErrorKind::WrongType,
                format!(
                    "expected a mapping with columns and rows, found {}",
                    table.describe()
                ),
            );
            return None;
        };
        for (k, _) in entries {
            let key = k.text().unwrap_or("");
            if !matches!(key, "columns" | "rows" | "defaults") {
                report(
                    ctx,
                    k,
                    format!("userTable.{key}"),
                    ErrorKind::UnknownField,
                    format!(
                        "unknown field{}",
                        hint(key, ["columns", "rows", "defaults"])
                    ),
                );
            }
        }
        let mut columns: Vec<&'static str> = Vec::new();
        let mut columns_ok = true;
        match table.get("columns").map(|c| &c.kind) {
            Some(Kind::Seq(items)) => {
                for (i, c) in items.iter().enumerate() {
                    let name = c.text().unwrap_or("");
                    match TABLE_COLUMNS.iter().find(|&&t| t == name) {
                        Some(&t) if !columns.contains(&t) => columns.push(t),
                        Some(_) => {
                            report(
                                ctx,
                                c,
                                format!("userTable.columns[{i}]"),
                                ErrorKind::Duplicate,
                                format!("column {name:?} is listed twice"),
                            );
                            columns_ok = false;
                        }
                        None => {
                            report(
                                ctx,
                                c,
                                format!("userTable.columns[{i}]"),
                                ErrorKind::UnknownField,
                                format!(
                                    "{name:?} cannot be a column{}",
                                    hint(name, TABLE_COLUMNS.iter().copied())
                                ),
                            );
                            columns_ok = false;
                        }
                    }
                }
            }
            _ => {
                report(
                    ctx,
                    table,
                    "userTable.columns".into(),
                    ErrorKind::MissingField,
                    "missing (a list of column names)".into(),
                );
                columns_ok = false;
            }
        }
        let defaults: &'a [(Node<'a>, Node<'a>)] = match table.get("defaults") {
            Some(Node {
                kind: Kind::Map(es),
                ..
            }) => es,
            Some(d) if !d.is_null() => {
                report(
                    ctx,
                    d,
                    "userTable.defaults".into(),
                    ErrorKind::WrongType,
                    format!("expected a mapping of user fields, found {}", d.describe()),
                );
                &[]
            }
            _ => &[],
        };
        let Some(rows) = table.get("rows") else {
            report(
                ctx,
                table,
                "userTable.rows".into(),
                ErrorKind::MissingField,
                "missing (a literal block: `rows: |`)".into(),
            );
            return None;
        };
        let text: &'a str = match rows.as_scalar() {
            Some(s) if s.style == ScalarStyle::Literal => s.text.as_ref(),
            _ if rows.is_null() => return None,
            _ => {
                report(
                    ctx,
                    rows,
                    "userTable.rows".into(),
                    ErrorKind::WrongType,
                    "rows must be a literal block (`rows: |` followed by one user per line)".into(),
                );
                return None;
            }
        };
        columns_ok.then_some(Self {
            columns,
            defaults,
            text,
            line0: rows.line,
            col0: rows.col,
        })
    }

    /// Data rows as `(row number, source line, text)`; blank and `#` lines are skipped.
    fn rows(&self) -> impl Iterator<Item = (usize, u32, &'a str)> + '_ {
        // The block's position is its first non-empty line; leading empty lines precede it.
        let leading_blank = self.text.split('\n').take_while(|l| l.is_empty()).count();
        self.text
            .split('\n')
            .enumerate()
            .skip(leading_blank)
            .filter(|(_, t)| {
                let t = t.trim();
                !t.is_empty() && !t.starts_with('#')
            })
            .enumerate()
            .map(move |(r, (k, t))| {
                let line = self.line0 + u32::try_from(k - leading_blank).unwrap_or(u32::MAX);
                (r, line, t)
            })
    }

    /// Builds one row's mapping node (cells keep their positions) using the given buffers.
    /// `Err(n)` when the row has `n` cells instead of one per column.
    fn row_node(
        &self,
        line: u32,
        text: &'a str,
        mut entries: Vec<(Node<'a>, Node<'a>)>,
        pool: &mut Vec<Vec<Node<'a>>>,
        cells: &mut Vec<(&'a str, u32)>,
    ) -> Result<Node<'a>, usize> {
        cells.clear();
        let mut start_byte = 0;
        let mut start_col = 0u32;
        for (col, (b, ch)) in (0u32..).zip(text.char_indices()) {
            if ch == '|' {
                cells.push(cell(&text[start_byte..b], self.col0 + start_col));
                start_byte = b + 1;
                start_col = col + 1;
            }
        }
        cells.push(cell(&text[start_byte..], self.col0 + start_col));
        if cells.len() != self.columns.len() {
            return Err(cells.len());
        }
        entries.clear();
        for (&name, &(value, c)) in self.columns.iter().zip(cells.iter()) {
            if value.is_empty() {
                continue;
            }
            let key = Node::scalar(line, c, Cow::Borrowed(name), ScalarStyle::Plain);
            let val = if LIST_COLUMNS.contains(&name) {
                list_cell(value, line, c, pool.pop().unwrap_or_default())
            } else {
                Node::scalar(line, c, Cow::Borrowed(value), ScalarStyle::SingleQuoted)
            };
            entries.push((key, val));
        }
        // Defaults fill what the row leaves empty (a default for a column applies only
        // when that cell is empty).
        for (dk, dv) in self.defaults {
            let overridden = match self.columns.iter().position(|c| Some(*c) == dk.text()) {
                Some(i) => !cells[i].0.is_empty(),
                None => false,
            };
            if !overridden {
                entries.push((dk.clone(), dv.clone()));
            }
        }
        Ok(Node {
            line,
            col: self.col0,
            kind: Kind::Map(entries),
        })
    }
}

/// A cell trimmed of spaces, with the column of its first character.
fn cell(raw: &str, col: u32) -> (&str, u32) {
    let lead = raw.len() - raw.trim_start().len();
    let lead_chars = u32::try_from(raw[..lead].chars().count()).unwrap_or(0);
    (raw.trim(), col + lead_chars)
}

fn list_cell<'a>(value: &'a str, line: u32, col: u32, mut items: Vec<Node<'a>>) -> Node<'a> {
    items.clear();
    let mut offset = 0u32;
    for part in value.split(',') {
        let (t, c) = cell(part, col + offset);
        if !t.is_empty() {
            items.push(Node::scalar(
                line,
                c,
                Cow::Borrowed(t),
                ScalarStyle::SingleQuoted,
            ));
        }
        offset += u32::try_from(part.chars().count()).unwrap_or(0) + 1;
    }
    Node {
        line,
        col,
        kind: Kind::Seq(items),
    }
}

/// Maps a path into [`LabData`] to the source path and the position of the deepest node
/// that exists on it.
fn locate(
    origins: &Origins<'_>,
    table: Option<&Table<'_>>,
    tree: &Node<'_>,
    path: &FieldPath,
) -> (String, u32, u32) {
    let segs = &path.0;
    let (shown, start, rest): (FieldPath, Src<'_>, &[Seg]) = match segs.as_slice() {
        [Seg::Key(k), Seg::Index(i), rest @ ..] => {
            let list = match k.as_ref() {
                "enterprises" => &origins.enterprises,
                "users" => &origins.users,
                "devices" => &origins.devices,
                "admins" => &origins.admins,
                _ => return (path.to_string(), tree.line, tree.col),
            };
            match list.get(*i) {
                Some(o) => (FieldPath::root().key(o.section).index(o.index), o.src, rest),
                None => return (path.to_string(), tree.line, tree.col),
            }
        }
        [Seg::Key(k), rest @ ..] if k == "system" => (
            FieldPath::root().key("system"),
            Src::Node(origins.system.unwrap_or(tree)),
            rest,
        ),
        _ => return (path.to_string(), tree.line, tree.col),
    };
    match start {
        Src::Node(n) => walk(shown, n, rest),
        Src::Row { line, text } => {
            let row = table.and_then(|t| {
                t.row_node(line, text, Vec::new(), &mut Vec::new(), &mut Vec::new())
                    .ok()
            });
            match row {
                Some(n) => walk(shown, &n, rest),
                None => {
                    let mut shown = shown;
                    shown.0.extend(rest.iter().cloned());
                    (shown.to_string(), line, table.map_or(1, |t| t.col0))
                }
            }
        }
    }
}

fn walk(mut shown: FieldPath, mut node: &Node<'_>, rest: &[Seg]) -> (String, u32, u32) {
    let mut found_all = true;
    for seg in rest {
        shown.0.push(seg.clone());
        if !found_all {
            continue;
        }
        let is_service =
            |t: &str, k: &str| ServiceKind::from_name(t).is_some_and(|s| s.yaml_name() == k);
        let next = match (seg, &node.kind) {
            (Seg::Key(k), Kind::Map(entries)) => entries
                .iter()
                .find(|(key, _)| key.text() == Some(k))
                .or_else(|| {
                    entries
                        .iter()
                        .find(|(key, _)| key.text().is_some_and(|t| is_service(t, k)))
                })
                .map(|(_, v)| v),
            (Seg::Key(k), Kind::Seq(items)) => items
                .iter()
                .find(|n| n.text().is_some_and(|t| is_service(t, k))),
            (Seg::Index(i), Kind::Seq(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => found_all = false,
        }
    }
    (shown.to_string(), node.line, node.col)
}

/// A lab file with `n` users (1,000 per group, one enterprise), in the compact table form,
/// plus a few devices and administrators. Used by benchmarks and scale tests.
///
/// User `i` is `u{i}@synth.example`, alternate id `alt{i}@corp.example`, number
/// `+1555{i:07}`, extension `{1000 + i % 1000}` in group `g{i / 1000}`, password `pw{i}-secret`.
pub fn synthetic_lab_yaml(n: usize) -> String {
    use std::fmt::Write as _;
    let groups = n.div_ceil(1000).max(1);
    let width = groups.to_string().len().max(2);
    let mut s = String::with_capacity(200 + n * 130);
    let _ = writeln!(s, "# Synthetic lab: {n} users in {groups} groups.");
    s.push_str("system:\n  lockoutThreshold: 5\n  defaultTimeZone: America/New_York\n");
    s.push_str("enterprises:\n  - id: synth\n    name: Synthetic Enterprise\n    defaultDomain: synth.example\n    groups:\n");
    for g in 0..groups {
        let _ = writeln!(
            s,
            "      - {{id: g{g}, locationDialingCode: \"{:0width$}\"}}",
            g + 1
        );
    }
    s.push_str("userTable:\n");
    s.push_str("  columns: [userId, group, firstName, lastName, number, extension, password, alternateIds, services]\n");
    s.push_str("  defaults: {enterprise: synth, language: English}\n");
    s.push_str("  rows: |\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "    u{i}@synth.example | g{} | First{i} | Last{i} | +1555{i:07} | {} | pw{i}-secret | alt{i}@corp.example | doNotDisturb, callWaiting, basicCallLogs",
            i / 1000,
            1000 + i % 1000
        );
    }
    let devices = n.min(10);
    if devices > 0 {
        s.push_str("devices:\n");
        for i in 0..devices {
            let _ = writeln!(
                s,
                "  - {{name: dev{i}, type: Cisco 8851, mac: \"00:00:5E:00:53:{i:02X}\", lines: [{{linePort: u{i}_lp@synth.example, user: u{i}@synth.example}}]}}"
            );
        }
    }
    s.push_str("admins:\n  - {login: provisioning@synth.example, password: prov-secret, type: provisioning}\n");
    s
}
