//! YAML text → a tree of nodes that remember their line and column.
//!
//! Built from the event stream of serde-saphyr's parser (granit-parser), so every key, value
//! and list item keeps its position and its text exactly as written (`0100` stays `0100`,
//! `+15550100` stays a string). Typing happens afterwards, field by field ([`crate::de`]),
//! so one pass reports many errors and never guesses a type, and semantic checks can map a
//! field path back to a line and column ([`Node::locate`]).
//!
//! Anchors, aliases and `<<` merge keys work; alias expansion and nesting depth are bounded
//! so a hostile file can exhaust neither memory nor the stack.

use std::borrow::Cow;
use std::collections::HashMap;

pub use serde_saphyr::granit_parser::ScalarStyle;
use serde_saphyr::granit_parser::{Event, Parser};

/// Nesting deeper than this is refused (lab and scenario files are five or six levels deep).
const MAX_DEPTH: usize = 64;
/// Nodes that alias expansion may produce in total (defuses "billion laughs").
const MAX_ALIAS_NODES: usize = 1_000_000;

/// A value in the document, with its 1-based position.
#[derive(Clone, Debug)]
pub struct Node<'s> {
    pub line: u32,
    pub col: u32,
    pub kind: Kind<'s>,
}

#[derive(Clone, Debug)]
pub enum Kind<'s> {
    Scalar(Scalar<'s>),
    Seq(Vec<Node<'s>>),
    Map(Vec<(Node<'s>, Node<'s>)>),
}

#[derive(Clone, Debug)]
pub struct Scalar<'s> {
    pub text: Cow<'s, str>,
    pub style: ScalarStyle,
    /// Explicit `!!str`: never resolve to null/bool/number.
    pub str_tag: bool,
}

impl Scalar<'_> {
    /// Plain (unquoted, untagged) scalars are the only ones YAML resolves to null/bool/int.
    pub fn is_plain(&self) -> bool {
        self.style == ScalarStyle::Plain && !self.str_tag
    }

    /// `~`, `null` or nothing at all, unquoted.
    pub fn is_null(&self) -> bool {
        self.is_plain() && matches!(&*self.text, "" | "~" | "null" | "Null" | "NULL")
    }
}

impl<'s> Node<'s> {
    /// A scalar node (for callers that build trees from other formats).
    pub fn scalar(line: u32, col: u32, text: Cow<'s, str>, style: ScalarStyle) -> Self {
        Node {
            line,
            col,
            kind: Kind::Scalar(Scalar {
                text,
                style,
                str_tag: false,
            }),
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar<'s>> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        self.as_scalar().map(|s| &*s.text)
    }

    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(Scalar::is_null)
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node<'s>> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// How the value reads in an error message.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Scalar(s) if s.is_null() => "null".into(),
            Kind::Scalar(s) => format!("{:?}", s.text),
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
        }
    }

    /// The deepest node along a field path such as `timeline[2].fault.latency`; stops at
    /// the last step that exists (so an error about a missing field points at its parent).
    pub fn locate(&self, path: &str) -> &Node<'s> {
        let mut cur = self;
        for step in split_path(path) {
            let next = match (step, &cur.kind) {
                (PathStep::Key(k), Kind::Map(entries)) => entries
                    .iter()
                    .find(|(key, _)| key.text() == Some(k))
                    .map(|(_, v)| v),
                (PathStep::Index(i), Kind::Seq(items)) => items.get(i),
                // A one-item list standing for its item (`fault: [{...}]`).
                (PathStep::Key(k), Kind::Seq(items)) if items.len() == 1 => items[0].get(k),
                // A single mapping given where a list is accepted is item 0.
                (PathStep::Index(0), Kind::Map(_)) => Some(cur),
                _ => None,
            };
            match next {
                Some(n) => cur = n,
                None => break,
            }
        }
        cur
    }

    /// The key node of a field path's last step, when it names a mapping key (so an error
    /// about an unexpected key points at the key itself).
    pub fn locate_key(&self, path: &str) -> Option<&Node<'s>> {
        let (parent, last) = match path.rfind('.') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        if last.contains('[') {
            return None;
        }
        match &self.locate(parent).kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text() == Some(last))
                .map(|(k, _)| k),
            _ => None,
        }
    }

    fn count(&self) -> usize {
        match &self.kind {
            Kind::Scalar(_) => 1,
            Kind::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Kind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.count() + v.count())
                    .sum::<usize>()
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathStep<'p> {
    Key(&'p str),
    Index(usize),
}

/// `a.b[2].c` → `a`, `b`, `[2]`, `c`.
fn split_path(path: &str) -> Vec<PathStep<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(PathStep::Key(key));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(PathStep::Index(i));
            }
        }
    }
    out
}

/// A document that isn't well-formed YAML (or breaks a tree limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: u32,
    pub col: u32,
    pub path: String,
    pub message: String,
}

enum Frame<'s> {
    Seq {
        line: u32,
        col: u32,
        anchor: usize,
        items: Vec<Node<'s>>,
    },
    Map {
        line: u32,
        col: u32,
        anchor: usize,
        entries: Vec<(Node<'s>, Node<'s>)>,
        key: Option<Node<'s>>,
    },
}

struct Builder<'s> {
    stack: Vec<Frame<'s>>,
    root: Option<Node<'s>>,
    anchors: HashMap<usize, (Node<'s>, usize)>,
    alias_nodes: usize,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Parses one YAML document. An empty document yields an empty mapping.
pub fn parse(src: &str) -> Result<Node<'_>, SyntaxError> {
    parse_file(src, "a file")
}

/// Like [`parse`], naming the kind of file in the "one YAML document" error
/// (`a lab file`, `a scenario file`).
pub fn parse_file<'s>(src: &'s str, what: &str) -> Result<Node<'s>, SyntaxError> {
    let mut b = Builder {
        stack: Vec::new(),
        root: None,
        anchors: HashMap::new(),
        alias_nodes: 0,
    };
    let mut documents = 0;
    for item in Parser::new_from_str(src) {
        let (event, span) = match item {
            Ok(x) => x,
            Err(e) => {
                return Err(b.error(
                    to_u32(e.marker().line()),
                    to_u32(e.marker().col() + 1),
                    e.info(),
                ));
            }
        };
        let (line, col) = (to_u32(span.start.line()), to_u32(span.start.col() + 1));
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(b.error(line, col, format!("{what} holds one YAML document")));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let str_tag = tag.is_some_and(|t| t.is_yaml_core_schema_tag("str"));
                let node = Node {
                    line,
                    col,
                    kind: Kind::Scalar(Scalar {
                        text,
                        style,
                        str_tag,
                    }),
                };
                b.complete(node, anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                b.open(
                    Frame::Seq {
                        line,
                        col,
                        anchor,
                        items: Vec::new(),
                    },
                    line,
                    col,
                )?;
            }
            Event::MappingStart(_, anchor, _) => {
                b.open(
                    Frame::Map {
                        line,
                        col,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                    },
                    line,
                    col,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = b
                    .stack
                    .pop()
                    .ok_or_else(|| b.error(line, col, "unbalanced collection end".into()))?;
                let (node, anchor) = match frame {
                    Frame::Seq {
                        line,
                        col,
                        anchor,
                        items,
                    } => (
                        Node {
                            line,
                            col,
                            kind: Kind::Seq(items),
                        },
                        anchor,
                    ),
                    Frame::Map {
                        line,
                        col,
                        anchor,
                        entries,
                        ..
                    } => (b.finish_map(line, col, entries)?, anchor),
                };
                b.complete(node, anchor)?;
            }
            Event::Alias(id) => {
                let (node, count) = b
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| b.error(line, col, "alias to an unknown anchor".into()))?;
                b.alias_nodes = b.alias_nodes.saturating_add(count);
                if b.alias_nodes > MAX_ALIAS_NODES {
                    return Err(b.error(
                        line,
                        col,
                        format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                    ));
                }
                b.complete(node, 0)?;
            }
            _ => {}
        }
    }
    Ok(b.root.unwrap_or(Node {
        line: 1,
        col: 1,
        kind: Kind::Map(Vec::new()),
    }))
}

impl<'s> Builder<'s> {
    fn error(&self, line: u32, col: u32, message: String) -> SyntaxError {
        let mut path = String::new();
        for f in &self.stack {
            match f {
                Frame::Seq { items, .. } => path.push_str(&format!("[{}]", items.len())),
                Frame::Map { key: Some(k), .. } => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k.text().unwrap_or("?"));
                }
                Frame::Map { key: None, .. } => {}
            }
        }
        if path.is_empty() {
            path.push_str("<root>");
        }
        SyntaxError {
            line,
            col,
            path,
            message,
        }
    }

    /// A repeated key, with the key itself in the path (`users[2].name`).
    fn duplicate(&self, k: &Node<'s>) -> SyntaxError {
        let key = k.text().unwrap_or("");
        let mut e = self.error(k.line, k.col, format!("duplicate key {key:?}"));
        e.path = match e.path.as_str() {
            "<root>" => key.to_string(),
            parent => format!("{parent}.{key}"),
        };
        e
    }

    fn open(&mut self, frame: Frame<'s>, line: u32, col: u32) -> Result<(), SyntaxError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(line, col, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn complete(&mut self, node: Node<'s>, anchor: usize) -> Result<(), SyntaxError> {
        if anchor != 0 {
            let count = node.count();
            self.anchors.insert(anchor, (node.clone(), count));
        }
        let (line, col) = (node.line, node.col);
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None if node.as_scalar().is_some() => *key = Some(node),
                None => {
                    return Err(self.error(line, col, "mapping keys must be plain text".into()));
                }
            },
        }
        Ok(())
    }

    /// Applies `<<` merges (explicit keys win, earlier merge sources win) and rejects
    /// duplicate keys, which YAML forbids and which would silently hide a value.
    fn finish_map(
        &self,
        line: u32,
        col: u32,
        entries: Vec<(Node<'s>, Node<'s>)>,
    ) -> Result<Node<'s>, SyntaxError> {
        let is_merge = |k: &Node<'_>| {
            k.as_scalar()
                .is_some_and(|s| s.is_plain() && s.text == "<<")
        };
        let mut out: Vec<(Node<'s>, Node<'s>)> = Vec::with_capacity(entries.len());
        let mut merged: Vec<(Node<'s>, Node<'s>)> = Vec::new();
        for (k, v) in entries {
            if is_merge(&k) {
                let sources: Vec<Node<'s>> = match v.kind {
                    Kind::Map(_) => vec![v],
                    Kind::Seq(items) => items,
                    _ => {
                        return Err(self.error(
                            v.line,
                            v.col,
                            "`<<` needs a mapping or a list of mappings".into(),
                        ));
                    }
                };
                for s in sources {
                    match s.kind {
                        Kind::Map(es) => {
                            for (mk, mv) in es {
                                if !merged.iter().any(|(e, _)| e.text() == mk.text()) {
                                    merged.push((mk, mv));
                                }
                            }
                        }
                        _ => {
                            return Err(self.error(
                                s.line,
                                s.col,
                                "`<<` needs a mapping or a list of mappings".into(),
                            ));
                        }
                    }
                }
                continue;
            }
            out.push((k, v));
        }
        // Duplicate check: quadratic is fine for the small mappings scenario files have; big
        // ones switch to a set.
        if out.len() <= 32 {
            for i in 1..out.len() {
                if out[..i].iter().any(|(k, _)| k.text() == out[i].0.text()) {
                    return Err(self.duplicate(&out[i].0));
                }
            }
        } else {
            let mut seen = std::collections::HashSet::with_capacity(out.len());
            for (k, _) in &out {
                if !seen.insert(k.text().unwrap_or("")) {
                    return Err(self.duplicate(k));
                }
            }
        }
        for (mk, mv) in merged {
            if !out.iter().any(|(k, _)| k.text() == mk.text()) {
                out.push((mk, mv));
            }
        }
        Ok(Node {
            line,
            col,
            kind: Kind::Map(out),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_text_kept() {
        let t = parse("a:\n  b: 0100\n  c: [x, \"+1\"]\n").unwrap();
        let b = t.get("a").unwrap().get("b").unwrap();
        assert_eq!((b.line, b.col, b.text()), (2, 6, Some("0100")));
        let c = t.get("a").unwrap().get("c").unwrap();
        let Kind::Seq(items) = &c.kind else { panic!() };
        assert_eq!(
            (items[1].line, items[1].col, items[1].text()),
            (3, 10, Some("+1"))
        );
    }

    #[test]
    fn merge_and_alias() {
        let t = parse("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n").unwrap();
        let m = t.get("m").unwrap();
        assert_eq!(m.get("x").unwrap().text(), Some("1"));
        assert_eq!(m.get("y").unwrap().text(), Some("3"));
    }

    #[test]
    fn errors_have_positions_and_paths() {
        let e = parse("a:\n  b: [1, 2\n").unwrap_err();
        assert_eq!(e.path, "a.b[1]");
        assert_eq!(e.line, 2);
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(
            (e.line, e.col, e.message.as_str()),
            (2, 1, "duplicate key \"a\"")
        );
        let e = parse("a:\n  b: 1\n  b: 2\n").unwrap_err();
        assert_eq!((e.path.as_str(), e.line, e.col), ("a.b", 3, 3));
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.message, "a file holds one YAML document");
        let e = parse_file("a: 1\n---\nb: 2\n", "a lab file").unwrap_err();
        assert_eq!(e.message, "a lab file holds one YAML document");
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        assert!(parse(bomb).unwrap_err().message.contains("aliases expand"));
    }

    #[test]
    fn locate_follows_paths() {
        let t = parse("a:\n  - x: 1\n  - y: [p, q]\n").unwrap();
        let n = t.locate("a[1].y[1]");
        assert_eq!((n.line, n.col, n.text()), (3, 12, Some("q")));
        // Missing steps stop at the deepest existing node.
        let n = t.locate("a[1].z");
        assert_eq!((n.line, n.col), (3, 5));
        let k = t.locate_key("a[1].y").unwrap();
        assert_eq!((k.line, k.col), (3, 5));
    }

    #[test]
    fn empty_document_is_empty_map() {
        assert!(matches!(parse("").unwrap().kind, Kind::Map(ref e) if e.is_empty()));
        assert!(matches!(
            parse("# only a comment\n").unwrap().kind,
            Kind::Map(_)
        ));
    }
}
