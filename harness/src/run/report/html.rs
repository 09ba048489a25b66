//! The HTML report of `bwlab run --report FILE.html`: one self-contained file (inline CSS
//! and SVG, no script, no external assets) with the run header, the scenario × profile
//! matrix and, per case, the outcome, an SVG timeline of the run (steps, fault and node-down
//! spans, expectation checkpoints) and an SVG sequence diagram drawn from the journal.
//!
//! The output is well-formed XML as well as HTML (every element closed, attributes quoted,
//! no named entities beyond XML's five), so tests and tools can parse it as XHTML.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{columns, counts, rows, xml_escape as esc};
use crate::run::{CaseResult, Outcome, TraceEntry};

/// Rows drawn per case in the sequence diagram; the rest is elided with a note.
pub const DIAGRAM_ROWS: usize = 400;
/// Journal entries the runner keeps per case (see `exec.rs`); a trace this long was cut.
const TRACE_CAP: usize = 2000;
/// Characters of a label in the diagram's text column.
const LABEL_CHARS: usize = 110;

/// What the report says about the run as a whole (its header).
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// When the run started, as shown (e.g. `2026-11-23 00:40:12 UTC`); default: now.
    pub started: Option<String>,
    /// The profiles asked for (`--profile`); default: the matrix columns.
    pub profiles: Vec<String>,
    /// `--seed`, when given.
    pub seed: Option<u64>,
    /// The seed each scenario (row label) ran with.
    pub seeds: Vec<(String, u64)>,
    /// The command line.
    pub command: Option<String>,
}

impl RunInfo {
    fn seed_of(&self, scenario: &str) -> Option<u64> {
        self.seeds
            .iter()
            .find(|(s, _)| s == scenario)
            .map(|(_, v)| *v)
            .or(self.seed)
    }
}

/// The current UTC time as the report shows it.
pub fn now_text() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#fafbfc}\
main{max-width:1500px;margin:0 auto;padding:1.5em 2em}\
h1{margin:0 0 .3em 0;font-size:1.6em}h2{font-size:1.15em;margin:0}\
h3{font-size:1em;margin:1.2em 0 .4em 0;color:#444}\
a{color:#1b5fc1;text-decoration:none}a:hover{text-decoration:underline}\
.hdr{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:1em 1.4em;margin-bottom:1.2em}\
.hdr dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em;margin:.6em 0 0 0;font-size:13px}\
.hdr dt{color:#667}.hdr dd{margin:0;font-family:ui-monospace,monospace}\
.tot span{display:inline-block;padding:.15em .7em;border-radius:1em;margin-right:.4em;font-weight:600;font-size:14px}\
table{border-collapse:collapse;background:#fff}\
td,th{border:1px solid #d5d9e0;padding:3px 10px;text-align:left;font-size:13px}\
th{background:#f0f2f5}\
table.matrix td.cell{text-align:center;min-width:4em;font-weight:600}\
table.matrix td.cell a{display:block;color:inherit}\
.pass{background:#d7f0d7;color:#185c18}.FAIL{background:#f7cfcf;color:#8a1010}.skip{background:#ececec;color:#555}\
.badge{display:inline-block;padding:0 .6em;border-radius:4px;font-weight:700;font-size:13px;margin-right:.5em}\
section.case{background:#fff;border:1px solid #dde1e7;border-radius:8px;margin:1em 0;padding:.2em 1.2em}\
section.case>details>summary{cursor:pointer;padding:.6em 0;list-style-position:outside}\
section.case>details>summary h2{display:inline}\
.meta{font-size:12px;color:#667;margin-left:.5em}\
pre{background:#f6f7f9;border:1px solid #e3e6ea;padding:8px 10px;white-space:pre-wrap;font-size:12px;overflow-x:auto}\
pre.fail{background:#fff4f4;border-color:#f0c4c4}\
details.more{margin:.6em 0}details.more>summary{cursor:pointer;color:#1b5fc1;font-size:13px}\
.scroll{overflow-x:auto;border:1px solid #eceef2;border-radius:4px;background:#fff}\
svg text{font-family:ui-monospace,'SFMono-Regular',Menlo,monospace;font-size:11px}\
.note{font-size:12px;color:#667}\
.legend span{display:inline-block;margin-right:1.2em;font-size:12px}\
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;vertical-align:middle}\
table.journal td{font-family:ui-monospace,monospace;font-size:11px;padding:1px 6px}\
";

/// A self-contained HTML report with the default header (started now, no seed).
pub fn html(results: &[CaseResult]) -> String {
    html_report(results, &RunInfo::default())
}

/// A self-contained HTML report: header, matrix, and per case outcome, timeline and
/// sequence diagram.
pub fn html_report(results: &[CaseResult], info: &RunInfo) -> String {
    let (p, f, s) = counts(results);
    let cols = columns(results);
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    let title = if f > 0 {
        format!("bwlab run: {f} failed")
    } else {
        format!("bwlab run: {p} passed")
    };
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");

    // ----- header ---------------------------------------------------------------------
    out.push_str("<header class=\"hdr\" id=\"top\">\n<h1>bwlab run</h1>\n<div class=\"tot\">");
    let _ = write!(
        out,
        "<span class=\"pass\">{p} passed</span><span class=\"FAIL\">{f} failed</span><span class=\"skip\">{s} skipped</span><span>{} case{}</span>",
        results.len(),
        if results.len() == 1 { "" } else { "s" }
    );
    out.push_str("</div>\n<dl>");
    let started = info.started.clone().unwrap_or_else(now_text);
    let _ = write!(out, "<dt>date</dt><dd>{}</dd>", esc(&started));
    let profiles = if info.profiles.is_empty() {
        cols.clone()
    } else {
        info.profiles.clone()
    };
    let _ = write!(
        out,
        "<dt>profiles</dt><dd>{}</dd>",
        esc(&profiles.join(", "))
    );
    let seed = match info.seed {
        Some(v) => format!("{v} (--seed)"),
        None if info.seeds.is_empty() => "each scenario's own".to_owned(),
        None => {
            let mut vs: Vec<u64> = info.seeds.iter().map(|(_, v)| *v).collect();
            vs.sort_unstable();
            vs.dedup();
            if vs.len() == 1 {
                format!("{} (from the scenario files)", vs[0])
            } else {
                "per scenario (shown with each case)".to_owned()
            }
        }
    };
    let _ = write!(out, "<dt>seed</dt><dd>{}</dd>", esc(&seed));
    let secs: f64 = results.iter().map(|r| r.seconds).sum();
    let _ = write!(out, "<dt>duration</dt><dd>{secs:.1} s (wall clock)</dd>");
    if let Some(c) = &info.command {
        let _ = write!(out, "<dt>command</dt><dd>{}</dd>", esc(c));
    }
    out.push_str("</dl>\n</header>\n");

    // ----- matrix -----------------------------------------------------------------------
    out.push_str("<section id=\"matrix\">\n<table class=\"matrix\">\n<tr><th>scenario</th>");
    for c in &cols {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr>\n");
    for row in rows(results) {
        let name = results
            .iter()
            .find(|r| r.scenario == row)
            .map(|r| r.name.as_str())
            .unwrap_or_default();
        let _ = write!(out, "<tr><td title=\"{}\">{}</td>", esc(name), esc(&row));
        for c in &cols {
            match results
                .iter()
                .position(|r| r.scenario == row && &r.profile == c)
            {
                Some(i) => {
                    let r = &results[i];
                    let l = r.outcome.label();
                    let tip = first_line(r.outcome.message());
                    let _ = write!(
                        out,
                        "<td class=\"cell {l}\" title=\"{}\"><a href=\"#case{i}\">{l}</a></td>",
                        esc(tip)
                    );
                }
                None => out.push_str("<td class=\"cell\">-</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    if f > 0 {
        out.push_str("<h3>Failures</h3>\n<ul>\n");
        for (i, r) in results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.outcome.is_fail())
        {
            let _ = writeln!(
                out,
                "<li><a href=\"#case{i}\">{} [{}]</a>: {}</li>",
                esc(&r.scenario),
                esc(&r.profile),
                esc(first_line(r.outcome.message()))
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");

    // ----- cases ------------------------------------------------------------------------
    for (i, r) in results.iter().enumerate() {
        case_section(&mut out, i, r, info);
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

fn case_section(out: &mut String, i: usize, r: &CaseResult, info: &RunInfo) {
    let l = r.outcome.label();
    let _ = writeln!(out, "<section class=\"case\" id=\"case{i}\">");
    let open = if r.outcome.is_fail() {
        " open=\"open\""
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<details{open}><summary><h2><span class=\"badge {l}\">{l}</span>{} [{}]</h2><span class=\"meta\">{}</span></summary>",
        esc(&r.scenario),
        esc(&r.profile),
        esc(&r.name)
    );
    out.push_str("<p class=\"note\">");
    if let Some(file) = &r.file {
        let _ = write!(
            out,
            "file <code>{}</code> · ",
            esc(&file.display().to_string())
        );
    }
    let _ = write!(out, "profile <code>{}</code> · ", esc(&r.profile));
    if let Some(seed) = info.seed_of(&r.scenario) {
        let _ = write!(out, "seed <code>{seed}</code> · ");
    }
    let _ = write!(out, "{:.1} s wall clock", r.seconds);
    if let Some(t) = run_span(r) {
        let _ = write!(out, " · {t:.1} s lab time");
    }
    out.push_str(" · <a href=\"#top\">top</a></p>\n");
    match &r.outcome {
        Outcome::Pass => {}
        Outcome::Fail(m) => {
            let _ = writeln!(out, "<pre class=\"fail\">{}</pre>", esc(m));
        }
        Outcome::Skip(m) => {
            let _ = writeln!(out, "<pre>{}</pre>", esc(m));
        }
    }
    if !r.log.is_empty() || !r.trace.is_empty() {
        out.push_str("<h3>Timeline</h3>\n");
        out.push_str(&timeline_svg(r));
    }
    if !r.trace.is_empty() {
        out.push_str("<h3>Sequence</h3>\n");
        out.push_str(&sequence_svg(r, i));
    }
    if !r.log.is_empty() {
        let _ = writeln!(
            out,
            "<details class=\"more\"><summary>run log ({} lines)</summary><pre>{}</pre></details>",
            r.log.len(),
            esc(&r.log.join("\n"))
        );
    }
    if !r.trace.is_empty() {
        let _ = writeln!(
            out,
            "<details class=\"more\"><summary>journal ({} entries{})</summary>\n<table class=\"journal\"><tr><th>s</th><th>#</th><th>node</th><th>kind</th><th>entry</th></tr>",
            r.trace.len(),
            if r.trace.len() >= TRACE_CAP {
                ", the first ones only"
            } else {
                ""
            }
        );
        for t in &r.trace {
            let _ = writeln!(
                out,
                "<tr><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                t.ms as f64 / 1000.0,
                t.seq,
                esc(&t.node),
                esc(&t.kind),
                esc(&t.summary)
            );
        }
        out.push_str("</table></details>\n");
    }
    out.push_str("</details>\n</section>\n");
}

/// Seconds from the start of the case to its last log line or journal entry.
fn run_span(r: &CaseResult) -> Option<f64> {
    let log = r.log.iter().filter_map(|l| parse_log(l)).map(|(t, _)| t);
    let trace = r.trace.iter().map(|t| t.ms as f64 / 1000.0);
    log.chain(trace).reduce(f64::max)
}

/// A run-log line: `   12.345s text`.
fn parse_log(line: &str) -> Option<(f64, &str)> {
    let (t, text) = line.trim_start().split_once("s ")?;
    Some((t.parse().ok()?, text))
}

// ===== timeline ========================================================================

#[derive(Debug)]
struct Span {
    label: String,
    from: f64,
    to: Option<f64>,
    tip: String,
}

#[derive(Debug, Default)]
struct Timeline {
    /// (time, text, colour) of steps and actions.
    steps: Vec<(f64, String, &'static str)>,
    /// Expectation checkpoints: (time, text, held).
    checks: Vec<(f64, String, bool)>,
    faults: Vec<Span>,
    nodes: Vec<Span>,
    end: f64,
}

const C_FAULT: &str = "#e8871e";
const C_DOWN: &str = "#c62828";
const C_OK: &str = "#2e8b3a";
const C_BAD: &str = "#c62828";

fn timeline_of(r: &CaseResult) -> Timeline {
    let mut tl = Timeline::default();
    let mut open_faults: Vec<usize> = Vec::new();
    for line in &r.log {
        let Some((t, text)) = parse_log(line) else {
            continue;
        };
        tl.end = tl.end.max(t);
        if let Some(rest) = text.strip_prefix("fault ")
            && let Some((id, more)) = rest.split_once(' ')
            && more.contains(") injected")
        {
            let on = more.split(" injected on ").nth(1).unwrap_or("");
            let kind = more
                .trim_start_matches('(')
                .split(')')
                .next()
                .unwrap_or_default();
            let label = if on.is_empty() {
                format!("{id} ({kind})")
            } else {
                format!("{id} ({kind}) on {on}")
            };
            tl.faults.push(Span {
                label,
                from: t,
                to: None,
                tip: text.to_owned(),
            });
            open_faults.push(tl.faults.len() - 1);
        } else if let Some(rest) = text.strip_prefix("revert ") {
            let id = rest.split(':').next().unwrap_or_default();
            open_faults.retain(|&k| {
                let f = &mut tl.faults[k];
                let fid = f.label.split(' ').next().unwrap_or_default();
                if id == "all" || fid == id {
                    f.to = Some(t);
                    false
                } else {
                    true
                }
            });
            tl.steps.push((t, text.to_owned(), C_FAULT));
        } else if let Some(rest) = text.strip_prefix("node ") {
            let (node, what) = rest.rsplit_once(' ').unwrap_or((rest, ""));
            match what {
                "down" => tl.nodes.push(Span {
                    label: format!("{node} down"),
                    from: t,
                    to: None,
                    tip: text.to_owned(),
                }),
                "up" => {
                    if let Some(s) = tl
                        .nodes
                        .iter_mut()
                        .rev()
                        .find(|s| s.to.is_none() && s.label == format!("{node} down"))
                    {
                        s.to = Some(t);
                    }
                    tl.steps.push((t, text.to_owned(), C_DOWN));
                }
                _ => tl.steps.push((t, text.to_owned(), C_DOWN)),
            }
        } else if text.ends_with(": expectations held") {
            tl.checks.push((t, text.to_owned(), true));
        } else {
            let colour = if text.starts_with("webex-") || text.starts_with("sut:") {
                "#1b5fc1"
            } else if text.contains("lab clock advanced") || text.starts_with("data:") {
                "#7b3fb5"
            } else if text.contains(": call ") {
                "#0b8a8a"
            } else {
                "#666"
            };
            tl.steps.push((t, text.to_owned(), colour));
        }
    }
    for t in &r.trace {
        tl.end = tl.end.max(t.ms as f64 / 1000.0);
    }
    match &r.outcome {
        Outcome::Fail(m) => tl.checks.push((tl.end, m.clone(), false)),
        Outcome::Pass if !r.log.is_empty() => {
            tl.checks
                .push((tl.end, "final expectations held".to_owned(), true));
        }
        _ => {}
    }
    tl
}

/// A tick step giving at most ~12 ticks over `total` seconds.
fn tick_step(total: f64) -> f64 {
    const STEPS: [f64; 16] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
        7200.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| total / s <= 12.0)
        .unwrap_or(total / 12.0)
}

fn secs_text(t: f64) -> String {
    if t >= 120.0 && (t % 60.0).abs() < 1e-6 {
        format!("{}m", (t / 60.0).round())
    } else if t.fract().abs() < 1e-6 {
        format!("{t:.0}s")
    } else {
        format!("{t:.1}s")
    }
}

fn timeline_svg(r: &CaseResult) -> String {
    let tl = timeline_of(r);
    let total = (tl.end * 1.02).max(1.0);
    let (left, right, width) = (170.0, 20.0, 1100.0);
    let x = |t: f64| left + t / total * (width - left - right);
    let row_h = 22.0;
    let mut rows_y: Vec<(String, f64)> = Vec::new();
    let mut y = 30.0;
    let mut row = |name: String, rows_y: &mut Vec<(String, f64)>| {
        let this = y;
        rows_y.push((name, this));
        y += row_h;
        this
    };
    let y_steps = row("steps".into(), &mut rows_y);
    let y_checks = row("expectations".into(), &mut rows_y);
    let fault_rows: Vec<f64> = tl
        .faults
        .iter()
        .map(|f| {
            row(
                format!("fault {}", f.label.split(' ').next().unwrap_or("")),
                &mut rows_y,
            )
        })
        .collect();
    let node_rows: Vec<f64> = tl
        .nodes
        .iter()
        .map(|n| {
            row(
                format!("node {}", n.label.trim_end_matches(" down")),
                &mut rows_y,
            )
        })
        .collect();
    let y_journal = if r.trace.is_empty() {
        None
    } else {
        Some(row("journal".into(), &mut rows_y))
    };
    let height = y + 24.0;
    let mut svg = format!(
        "<div class=\"scroll\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"timeline\">\n"
    );
    // Row bands and labels.
    for (k, (name, ry)) in rows_y.iter().enumerate() {
        if k % 2 == 0 {
            let _ = writeln!(
                svg,
                "<rect x=\"0\" y=\"{}\" width=\"{width}\" height=\"{row_h}\" fill=\"#f5f7fa\"/>",
                ry - row_h / 2.0
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"8\" y=\"{}\" fill=\"#445\">{}</text>",
            ry + 4.0,
            esc(&clip(name, 22))
        );
    }
    // Axis.
    let step = tick_step(total);
    let mut t = 0.0;
    while t <= total + 1e-9 {
        let tx = x(t);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx:.1}\" y1=\"16\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#e1e4e8\"/><text x=\"{tx:.1}\" y=\"12\" text-anchor=\"middle\" fill=\"#667\">{}</text>",
            height - 20.0,
            secs_text(t)
        );
        t += step;
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#889\">tokio time since the case started (s)</text>",
        width - right,
        height - 6.0
    );
    // Fault and node spans.
    for (spans, ys, colour) in [
        (&tl.faults, &fault_rows, C_FAULT),
        (&tl.nodes, &node_rows, C_DOWN),
    ] {
        for (sp, sy) in spans.iter().zip(ys.iter()) {
            let x1 = x(sp.from);
            let x2 = x(sp.to.unwrap_or(total)).max(x1 + 3.0);
            let until = sp
                .to
                .map_or_else(|| "until the end".to_owned(), |t| format!("until {t:.3}s"));
            let _ = writeln!(
                svg,
                "<rect x=\"{x1:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"12\" rx=\"3\" fill=\"{colour}\" fill-opacity=\"{}\"><title>{}</title></rect>",
                sy - 6.0,
                x2 - x1,
                if sp.to.is_some() { "0.75" } else { "0.45" },
                esc(&format!("{:.3}s {} — {until}", sp.from, sp.tip))
            );
            let label = clip(&sp.label, ((x2 - x1) / 7.0) as usize);
            if label.chars().count() > 3 {
                let _ = writeln!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#fff\">{}</text>",
                    x1 + 4.0,
                    sy + 4.0,
                    esc(&label)
                );
            }
        }
    }
    // Steps.
    for (t, text, colour) in &tl.steps {
        let _ = writeln!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{y_steps}\" r=\"5\" fill=\"{colour}\" fill-opacity=\"0.85\"><title>{}</title></circle>",
            x(*t),
            esc(&format!("{t:.3}s {text}"))
        );
    }
    // Checkpoints.
    for (t, text, held) in &tl.checks {
        let cx = x(*t);
        let colour = if *held { C_OK } else { C_BAD };
        let _ = writeln!(
            svg,
            "<path d=\"M{cx:.1},{a:.1} l6,6 l-6,6 l-6,-6 z\" fill=\"{colour}\"><title>{}</title></path>",
            esc(&format!("{t:.3}s {text}")),
            a = y_checks - 6.0
        );
    }
    // Journal density.
    if let Some(jy) = y_journal {
        for t in &r.trace {
            let tx = x(t.ms as f64 / 1000.0);
            let _ = writeln!(
                svg,
                "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-opacity=\"0.6\"/>",
                jy - 7.0,
                jy + 7.0,
                kind_colour(t)
            );
        }
    }
    svg.push_str("</svg></div>\n");
    svg.push_str("<div class=\"legend note\">");
    for (c, what) in [
        ("#1b5fc1", "SUT action"),
        ("#7b3fb5", "clock / data"),
        (C_FAULT, "fault injected (bar) / reverted"),
        (C_DOWN, "node down"),
        (C_OK, "expectations held"),
        (C_BAD, "expectation failed"),
    ] {
        let _ = write!(svg, "<span><i style=\"background:{c}\"></i>{what}</span>");
    }
    svg.push_str("<span>hover a marker for details</span></div>\n");
    svg
}

fn kind_colour(t: &TraceEntry) -> &'static str {
    match t.kind.as_str() {
        "http" => match status_of(t) {
            Some(s) if s >= 400 => C_BAD,
            _ => "#1b5fc1",
        },
        "event" => "#b25d00",
        "dns" => C_OK,
        "fault" => C_FAULT,
        "tls" => C_BAD,
        "sut" => "#555",
        _ => "#999",
    }
}

fn status_of(t: &TraceEntry) -> Option<u16> {
    t.attr("status").and_then(|s| s.parse().ok())
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut c: String = s.chars().take(n.saturating_sub(1)).collect();
    c.push('…');
    c
}

// ===== sequence diagram ================================================================

/// The SUT's journal nodes: the reference clients and a `command:` SUT.
fn is_sut(node: &str) -> bool {
    matches!(node, "webex-app" | "webex-cloud" | "sut")
}

/// The application server: internal, never a lane.
fn is_app_server(node: &str) -> bool {
    node == "appserver"
        || node
            .strip_prefix("as")
            .is_some_and(|n| n.is_empty() || n.chars().all(|c| c.is_ascii_digit()))
}

/// Lane order: SUT, DNS, load balancers, XSPs, then everything else (cloud hosts).
fn lane_rank(node: &str) -> u8 {
    if node == "SUT" {
        0
    } else if node == "dns" {
        1
    } else if node.starts_with("lb") {
        2
    } else if node.starts_with("xsp") || node.starts_with("adp") {
        3
    } else {
        4
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Shape {
    /// A request (`from` → `to`) and, when `reply` is set, a dashed answer back.
    Exchange {
        from: String,
        to: String,
        reply: bool,
    },
    /// One-way arrow (events towards the SUT).
    Arrow { from: String, to: String },
    /// A note on a lane.
    Note { lane: String },
    /// A note across the whole diagram (the lab, the application server).
    Band,
}

#[derive(Clone, Debug)]
struct Row {
    ms: u64,
    /// Until (collapsed rows).
    ms_to: u64,
    shape: Shape,
    text: String,
    tip: String,
    colour: &'static str,
    /// Rows with the same key in a run of heartbeat rows collapse into one.
    heartbeat: Option<String>,
    count: usize,
}

/// The diagram's rows, before collapsing and capping; and the number of entries not drawn
/// (internal application-server bookkeeping, redundant annotations).
fn diagram_rows(trace: &[TraceEntry]) -> (Vec<Row>, usize) {
    // Channel → the XSP that owns it.
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for t in trace {
        if t.kind == "event"
            && !is_app_server(&t.node)
            && !is_sut(&t.node)
            && let Some(c) = t.attr("channel")
        {
            owner.entry(c).or_insert(&t.node);
        }
    }
    let mut rows = Vec::new();
    let mut hidden = 0;
    let sut = || "SUT".to_owned();
    // The lab's start-up entries (`XSP up`, `dns up`…) come before anything else.
    let started = trace
        .iter()
        .position(|t| t.kind != "lab")
        .unwrap_or(trace.len());
    for (k, t) in trace.iter().enumerate() {
        if k < started {
            hidden += 1;
            continue;
        }
        let tip = format!(
            "{:.3}s #{} {} {}: {}",
            t.ms as f64 / 1000.0,
            t.seq,
            t.node,
            t.kind,
            t.summary
        );
        let mut row = Row {
            ms: t.ms,
            ms_to: t.ms,
            shape: Shape::Band,
            text: String::new(),
            tip,
            colour: kind_colour(t),
            heartbeat: None,
            count: 1,
        };
        let node = t.node.clone();
        if is_app_server(&t.node) {
            let channel = t.attr("channel").or(t.attr("channel_id"));
            let xsp = channel.and_then(|c| owner.get(c).copied());
            let event = t.attr("event_type").or(t.attr("event"));
            if t.kind == "fault" {
                row.text = format!("application server: {}", t.summary);
            } else if let (Some(xsp), Some(_)) = (xsp, event) {
                row.shape = Shape::Arrow {
                    from: xsp.to_owned(),
                    to: sut(),
                };
                row.text = format!("{}: {}", xsp, short(&t.summary));
            } else if t.kind == "event" && t.summary.starts_with("event ") {
                // Lost, dropped, refused or timed-out events: worth seeing.
                row.text = format!("application server: {}", short(&t.summary));
                row.colour = C_BAD;
            } else {
                hidden += 1;
                continue;
            }
            rows.push(row);
            continue;
        }
        if is_sut(&t.node) {
            if t.kind != "sut" {
                hidden += 1;
                continue;
            }
            if t.summary.starts_with("heartbeat on ") && !t.summary.contains("fail") {
                // The HTTP entry of the heartbeat says the same.
                hidden += 1;
                continue;
            }
            row.shape = Shape::Note { lane: sut() };
            row.text = format!("{}: {}", t.node, short(&t.summary));
            row.colour = if t.summary.contains("fail") {
                C_BAD
            } else {
                "#555"
            };
            rows.push(row);
            continue;
        }
        match t.kind.as_str() {
            "http" => {
                if t.direction.as_deref() == Some("outbound") {
                    row.shape = Shape::Note { lane: node.clone() };
                    row.text = format!("{node} → {}", short(&t.summary));
                } else {
                    row.shape = Shape::Exchange {
                        from: sut(),
                        to: node.clone(),
                        reply: true,
                    };
                    row.text = match (t.attr("method"), t.attr("path"), t.attr("status")) {
                        (Some(m), Some(p), Some(s)) => {
                            let user = t
                                .attr("user")
                                .map(|u| format!(" ({u})"))
                                .unwrap_or_default();
                            let via = t
                                .attr("backend")
                                .map(|b| format!(" via {b}"))
                                .unwrap_or_default();
                            format!("{m} {} → {s}{via}{user}", short(p))
                        }
                        _ => short(&t.summary),
                    };
                    if let (Some(p), Some(s)) = (t.attr("path"), t.attr("status"))
                        && p.ends_with("/heartbeat")
                    {
                        row.heartbeat = Some(format!("{node} {s}"));
                    }
                }
            }
            "event" => {
                let dir = t.direction.as_deref();
                if dir == Some("out") {
                    row.shape = Shape::Arrow {
                        from: node.clone(),
                        to: sut(),
                    };
                    row.text = short(&t.summary);
                    if t.attr("outcome").is_some_and(|o| o != "queued") {
                        row.colour = C_BAD;
                    }
                } else if dir == Some("in") && matches!(t.attr("outcome"), Some("ok" | "applied")) {
                    // Annotations of a heartbeat or event response that went well.
                    hidden += 1;
                    continue;
                } else {
                    row.shape = Shape::Note { lane: node.clone() };
                    row.text = format!("{node}: {}", short(&t.summary));
                    if t.attr("heartbeat").is_some() {
                        row.heartbeat = Some(format!(
                            "{node} note {}",
                            t.attr("outcome").unwrap_or_default()
                        ));
                    }
                    if t.attr("outcome") == Some("closed")
                        || t.attr("heartbeat").is_some()
                        || t.attr("outcome") == Some("foreign-channel")
                    {
                        row.colour = C_BAD;
                    }
                }
            }
            "dns" => {
                row.shape = Shape::Exchange {
                    from: sut(),
                    to: node.clone(),
                    reply: t.attr("rcode") != Some("DROP"),
                };
                row.text = short(&t.summary);
                if t.attr("rcode").is_some_and(|c| c != "NOERROR") || t.attr("fault").is_some() {
                    row.colour = C_BAD;
                }
            }
            "tls" => {
                row.shape = Shape::Exchange {
                    from: sut(),
                    to: node.clone(),
                    reply: false,
                };
                row.text = short(&t.summary);
                row.colour = C_BAD;
            }
            "fault" => {
                row.shape = Shape::Note { lane: node.clone() };
                row.text = format!("{node}: {}", short(&t.summary));
                row.colour = C_FAULT;
            }
            "lab" => {
                let on = t.attr("node").unwrap_or(&t.node).to_owned();
                row.shape = Shape::Note { lane: on };
                row.text = short(&t.summary);
                row.colour = C_DOWN;
            }
            _ => {
                hidden += 1;
                continue;
            }
        }
        rows.push(row);
    }
    (rows, hidden)
}

/// Collapses each run of heartbeat rows (only heartbeats between two other rows) into one
/// row per kind of heartbeat: `× 12 heartbeats 200`.
fn collapse_heartbeats(rows: Vec<Row>) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::with_capacity(rows.len());
    let mut run: Vec<Row> = Vec::new();
    let flush = |run: &mut Vec<Row>, out: &mut Vec<Row>| {
        let mut groups: Vec<Row> = Vec::new();
        for r in run.drain(..) {
            match groups.iter_mut().find(|g| g.heartbeat == r.heartbeat) {
                Some(g) => {
                    g.count += 1;
                    g.ms_to = r.ms;
                }
                None => groups.push(r),
            }
        }
        for mut g in groups {
            if g.count > 1 {
                let key = g.heartbeat.clone().unwrap_or_default();
                let what = match key.split_once(" note ") {
                    Some((node, outcome)) => format!("{node}: heartbeats {outcome}"),
                    None => {
                        let status = key.rsplit(' ').next().unwrap_or_default();
                        format!("heartbeats {status}")
                    }
                };
                g.text = format!(
                    "× {} {what} ({:.1}s – {:.1}s)",
                    g.count,
                    g.ms as f64 / 1000.0,
                    g.ms_to as f64 / 1000.0
                );
                g.tip = format!("{} collapsed rows; first: {}", g.count, g.tip);
            }
            out.push(g);
        }
    };
    for r in rows {
        if r.heartbeat.is_some() {
            run.push(r);
        } else {
            flush(&mut run, &mut out);
            out.push(r);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Shortens the long parts of a label: Xsi path prefixes and UUIDs.
fn short(s: &str) -> String {
    let s = s
        .replace(
            "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0",
            "/…async/xsi-events",
        )
        .replace("/com.broadsoft.xsi-events/v2.0", "/…xsi-events")
        .replace("/com.broadsoft.xsi-actions/v2.0", "/…xsi-actions");
    let b = s.as_bytes();
    let uuid_at = |i: usize| {
        b.len() >= i + 36
            && b[i..i + 36].iter().enumerate().all(|(k, c)| {
                if matches!(k, 8 | 13 | 18 | 23) {
                    *c == b'-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if uuid_at(i) {
            out.push_str(&s[i..i + 8]);
            out.push('…');
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn sequence_svg(r: &CaseResult, case: usize) -> String {
    let (rows, hidden) = diagram_rows(&r.trace);
    let mut rows = collapse_heartbeats(rows);
    let elided = rows.len().saturating_sub(DIAGRAM_ROWS);
    rows.truncate(DIAGRAM_ROWS);

    let mut lanes: Vec<String> = vec!["SUT".into()];
    for row in &rows {
        let names: Vec<&String> = match &row.shape {
            Shape::Exchange { from, to, .. } | Shape::Arrow { from, to } => vec![from, to],
            Shape::Note { lane } => vec![lane],
            Shape::Band => vec![],
        };
        for n in names {
            if !lanes.contains(n) {
                lanes.push(n.clone());
            }
        }
    }
    lanes.sort_by_key(|l| lane_rank(l));
    let sut_nodes: Vec<&str> = {
        let mut v: Vec<&str> = r
            .trace
            .iter()
            .map(|t| t.node.as_str())
            .filter(|n| is_sut(n))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };

    let time_w = 70.0;
    let lane_w = 130.0;
    let row_h = 18.0;
    let top = 44.0;
    let lane_x = |k: usize| time_w + 50.0 + k as f64 * lane_w;
    let text_x = lane_x(lanes.len() - 1) + 40.0;
    let width = text_x + LABEL_CHARS as f64 * 6.7 + 20.0;
    let n_rows = rows.len() + usize::from(elided > 0);
    let height = top + row_h * (n_rows as f64 + 1.0) + 24.0;
    let lane_of = |n: &str| lanes.iter().position(|l| l == n).unwrap_or(0);

    let marker = format!("arrow{case}");
    let mut svg = format!(
        "<div class=\"scroll\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"sequence diagram\">\n\
<defs><marker id=\"{marker}\" markerWidth=\"8\" markerHeight=\"8\" refX=\"8\" refY=\"4\" orient=\"auto\" markerUnits=\"userSpaceOnUse\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker></defs>\n"
    );
    // Lane heads and life lines.
    for (k, lane) in lanes.iter().enumerate() {
        let lx = lane_x(k);
        let label = if lane == "SUT" && !sut_nodes.is_empty() {
            format!("SUT ({})", sut_nodes.join(", "))
        } else {
            lane.clone()
        };
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"6\" width=\"{:.1}\" height=\"22\" rx=\"4\" fill=\"{}\" stroke=\"#9aa4b2\"/><text x=\"{lx:.1}\" y=\"21\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
<line x1=\"{lx:.1}\" y1=\"28\" x2=\"{lx:.1}\" y2=\"{:.1}\" stroke=\"#b8c0cc\" stroke-dasharray=\"2,3\"/>",
            lx - lane_w / 2.0 + 8.0,
            lane_w - 16.0,
            if k == 0 { "#e6effc" } else { "#f2f4f7" },
            esc(&clip(&label, 17)),
            height - 20.0
        );
    }
    let _ = writeln!(svg, "<text x=\"4\" y=\"21\" fill=\"#667\">time (s)</text>");
    for (k, row) in rows.iter().enumerate() {
        let y = top + row_h * k as f64;
        if row.count > 1 || k % 2 == 1 {
            let _ = writeln!(
                svg,
                "<rect x=\"0\" y=\"{:.1}\" width=\"{width:.0}\" height=\"{row_h}\" fill=\"{}\"/>",
                y - row_h / 2.0 - 1.0,
                if row.count > 1 { "#fff7e0" } else { "#fafbfc" }
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{:.1}\" fill=\"#667\">{:.3}</text>",
            y + 4.0,
            row.ms as f64 / 1000.0
        );
        let _ = write!(svg, "<g><title>{}</title>", esc(&row.tip));
        match &row.shape {
            Shape::Exchange { from, to, reply } => {
                let (x1, x2) = (lane_x(lane_of(from)), lane_x(lane_of(to)));
                let _ = write!(
                    svg,
                    "<line x1=\"{x1:.1}\" y1=\"{:.1}\" x2=\"{x2:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"1.4\" marker-end=\"url(#{marker})\"/>",
                    y - 3.0,
                    y - 3.0,
                    row.colour
                );
                if *reply {
                    let _ = write!(
                        svg,
                        "<line x1=\"{x2:.1}\" y1=\"{:.1}\" x2=\"{x1:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-dasharray=\"4,3\" marker-end=\"url(#{marker})\"/>",
                        y + 4.0,
                        y + 4.0,
                        row.colour
                    );
                }
            }
            Shape::Arrow { from, to } => {
                let (x1, x2) = (lane_x(lane_of(from)), lane_x(lane_of(to)));
                let _ = write!(
                    svg,
                    "<line x1=\"{x1:.1}\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"1.4\" marker-end=\"url(#{marker})\"/>",
                    row.colour
                );
            }
            Shape::Note { lane } => {
                let lx = lane_x(lane_of(lane));
                let _ = write!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"16\" height=\"12\" rx=\"2\" fill=\"{}\" fill-opacity=\"0.8\"/>",
                    lx - 8.0,
                    y - 6.0,
                    row.colour
                );
            }
            Shape::Band => {
                let _ = write!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"12\" rx=\"2\" fill=\"{}\" fill-opacity=\"0.25\"/>",
                    lane_x(0) - 10.0,
                    y - 6.0,
                    lane_x(lanes.len() - 1) - lane_x(0) + 20.0,
                    row.colour
                );
            }
        }
        if row.count > 1 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\" fill=\"#8a5a00\">×{}</text>",
                time_w + 8.0,
                y + 4.0,
                row.count
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{text_x:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text></g>",
            y + 4.0,
            row.colour,
            esc(&clip(&row.text, LABEL_CHARS))
        );
    }
    if elided > 0 {
        let y = top + row_h * rows.len() as f64;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a1010\" font-weight=\"bold\">… {elided} more row{} elided after the first {DIAGRAM_ROWS} (the journal below has every entry)</text>",
            lane_x(0),
            y + 4.0,
            if elided == 1 { "" } else { "s" }
        );
    }
    svg.push_str("</svg></div>\n<p class=\"note\">");
    let mut notes: Vec<String> = Vec::new();
    if elided > 0 {
        notes.push(format!(
            "{elided} row{} elided after the first {DIAGRAM_ROWS}.",
            if elided == 1 { "" } else { "s" }
        ));
    }
    if hidden > 0 {
        notes.push(format!(
            "{hidden} journal entr{} not drawn (lab start-up, application-server bookkeeping, successful heartbeat and event-response annotations, SUT heartbeat lines).",
            if hidden == 1 { "y" } else { "ies" }
        ));
    }
    if r.trace.len() >= TRACE_CAP {
        notes.push(format!(
            "The journal was cut at {TRACE_CAP} entries for the report."
        ));
    }
    notes.push(
        "Solid arrows: requests and events; dashed: answers; squares: notes on a lane; shaded rows span the lab. Hover a row for the journal entry."
            .to_owned(),
    );
    svg.push_str(&esc(&notes.join(" ")));
    svg.push_str("</p>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ms: u64, node: &str, kind: &str, summary: &str, attrs: &[(&str, &str)]) -> TraceEntry {
        TraceEntry {
            ms,
            seq: ms,
            node: node.into(),
            kind: kind.into(),
            summary: summary.into(),
            direction: attrs
                .iter()
                .find(|(k, _)| *k == "direction")
                .map(|(_, v)| (*v).to_owned()),
            peer: None,
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn case(outcome: Outcome, log: &[&str], trace: Vec<TraceEntry>) -> CaseResult {
        CaseResult {
            scenario: "hb <one>".into(),
            name: "heartbeats & \"friends\"".into(),
            file: None,
            profile: "r24".into(),
            outcome,
            seconds: 1.5,
            log: log.iter().map(|l| (*l).to_owned()).collect(),
            trace,
        }
    }

    const CH: &str = "6f7460ca-9b21-4d8d-ad82-f6f6c37f1242";

    fn heartbeat(ms: u64, status: &str) -> TraceEntry {
        let path = format!("/com.broadsoft.xsi-events/v2.0/channel/{CH}/heartbeat");
        entry(
            ms,
            "xsp1",
            "http",
            &format!("PUT {path} → {status}"),
            &[("method", "PUT"), ("path", &path), ("status", status)],
        )
    }

    fn sample() -> CaseResult {
        let mut trace = vec![
            entry(1, "webex-app", "sut", "alice signs in <now>", &[]),
            entry(
                2,
                "dns",
                "dns",
                "SRV _xsi-client._tcp.xsp → xsp1",
                &[("rcode", "NOERROR")],
            ),
            entry(
                7,
                "as1",
                "event",
                &format!("channel {CH} opened in set s"),
                &[("channel_id", CH), ("owner", "alice")],
            ),
            entry(
                7,
                "xsp1",
                "event",
                &format!("channel {CH} opened for alice"),
                &[("channel", CH), ("owner", "alice")],
            ),
            entry(
                8,
                "xsp1",
                "http",
                "POST /com.broadsoft.async/com.broadsoft.xsi-events/v2.0/channel → 200",
                &[
                    ("method", "POST"),
                    (
                        "path",
                        "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0/channel",
                    ),
                    ("status", "200"),
                    ("user", "alice@lab.example"),
                ],
            ),
            entry(
                9,
                "xsp1",
                "event",
                &format!("CallReceivedEvent #1 <x> → channel {CH}: queued"),
                &[("direction", "out"), ("channel", CH), ("outcome", "queued")],
            ),
            entry(
                9,
                "as1",
                "event",
                "CallReceived delivered",
                &[("channel_id", CH), ("event", "CallReceivedEvent")],
            ),
            entry(10, "xsp1", "fault", "fault drop_heartbeats injected", &[]),
        ];
        for k in 0..12 {
            let ms = 15_000 * (k + 1);
            trace.push(heartbeat(ms, "200"));
            trace.push(entry(
                ms,
                "webex-app",
                "sut",
                "heartbeat on xsp1.lab.example",
                &[],
            ));
            trace.push(entry(
                ms,
                "xsp1",
                "event",
                &format!("heartbeat for channel {CH}: ok"),
                &[
                    ("direction", "in"),
                    ("heartbeat", "true"),
                    ("outcome", "ok"),
                ],
            ));
        }
        trace.push(heartbeat(200_000, "404"));
        case(
            Outcome::Fail("timeline[1] (within 2m): expected <404> & more\n  closest journal entries:\n    #3 PUT → 200".into()),
            &[
                "   0.007s webex-app: alice signed in",
                "   0.007s fault no-heartbeats (drop_heartbeats) injected on xsp1",
                "  20.000s node xsp2 down",
                "  45.009s timeline[1]: expectations held",
                "  46.011s revert no-heartbeats: 1 fault(s)",
                "  50.000s node xsp2 up",
            ],
            trace,
        )
    }

    /// Parses `html` as XML and checks every element is closed in order.
    fn well_formed(html: &str) -> Vec<String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(html);
        reader.config_mut().check_end_names = true;
        let mut stack: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    let n = e.name().0.to_owned();
                    seen.push(n.clone());
                    stack.push(n);
                }
                Ok(Event::Empty(e)) => {
                    seen.push(e.name().0.to_owned());
                }
                Ok(Event::End(e)) => {
                    let n = e.name().0.to_owned();
                    assert_eq!(stack.pop().as_deref(), Some(n.as_str()));
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!(
                    "not well-formed at {}: {e}\n{}",
                    reader.buffer_position(),
                    &html[..usize::try_from(reader.buffer_position())
                        .unwrap()
                        .min(html.len())]
                        .chars()
                        .rev()
                        .take(300)
                        .collect::<String>()
                        .chars()
                        .rev()
                        .collect::<String>()
                ),
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        seen
    }

    #[test]
    fn report_is_well_formed_with_every_section() {
        let rs = vec![
            sample(),
            case(Outcome::Pass, &[], Vec::new()),
            case(
                Outcome::Skip("unsupported: topology <x>".into()),
                &[],
                Vec::new(),
            ),
        ];
        let info = RunInfo {
            started: Some("2026-11-23 00:40:00 UTC".into()),
            profiles: vec!["r24".into()],
            seed: None,
            seeds: vec![("hb <one>".into(), 24301)],
            command: Some("bwlab run x.yaml --report r.html".into()),
        };
        let h = html_report(&rs, &info);
        assert!(h.starts_with("<!DOCTYPE html>"));
        let tags = well_formed(&h);
        for t in [
            "html", "head", "style", "body", "header", "table", "section", "details", "svg",
        ] {
            assert!(tags.iter().any(|x| x == t), "no <{t}>");
        }
        assert!(h.contains("2026-11-23 00:40:00 UTC") && h.contains("24301"));
        assert!(h.contains("1 passed") && h.contains("1 failed") && h.contains("1 skipped"));
        assert!(h.contains("href=\"#case0\"") && h.contains("id=\"case0\""));
        // One timeline and one sequence diagram for the case with a trace.
        assert_eq!(h.matches("aria-label=\"timeline\"").count(), 1);
        assert_eq!(h.matches("aria-label=\"sequence diagram\"").count(), 1);
        // The fault span and the node-down span.
        assert!(h.contains(
            "0.007s fault no-heartbeats (drop_heartbeats) injected on xsp1 — until 46.011s"
        ));
        assert!(h.contains("fault no-heartbeats") && h.contains("node xsp2"));
        // Failure text preformatted with its near-misses.
        assert!(h.contains("<pre class=\"fail\">timeline[1] (within 2m): expected &lt;404&gt; &amp; more\n  closest journal entries:"));
    }

    #[test]
    fn everything_is_escaped() {
        let h = html(&[sample()]);
        well_formed(&h);
        assert!(!h.contains("<x>") && !h.contains("<now>") && !h.contains("<one>"));
        assert!(h.contains("CallReceivedEvent #1 &lt;x&gt;"));
        assert!(h.contains("hb &lt;one&gt;"));
        assert!(h.contains("heartbeats &amp; &quot;friends&quot;"));
        assert_eq!(esc("a<b>&\"'\u{1}"), "a&lt;b&gt;&amp;&quot;&apos;?");
    }

    #[test]
    fn no_application_server_lane() {
        let r = sample();
        let svg = sequence_svg(&r, 0);
        assert!(!svg.contains(">as1<"), "an as1 lane: {svg}");
        assert!(svg.contains(">xsp1<") && svg.contains(">dns<") && svg.contains("SUT (webex-app)"));
        // The event the AS delivered is an arrow from the XSP owning its channel.
        let (rows, hidden) = diagram_rows(&r.trace);
        let delivered = rows
            .iter()
            .find(|row| row.text.contains("CallReceived delivered"))
            .expect("AS event drawn");
        assert_eq!(
            delivered.shape,
            Shape::Arrow {
                from: "xsp1".into(),
                to: "SUT".into()
            }
        );
        assert!(rows.iter().all(|row| !row.text.contains("opened in set")));
        assert!(hidden > 0);
        assert!(!is_app_server("xsp1") && is_app_server("as1") && is_app_server("as"));
        assert!(!is_app_server("asterisk"));
    }

    #[test]
    fn lab_start_up_is_not_drawn_but_node_actions_are() {
        let mut trace = vec![entry(0, "xsp1", "lab", "XSP up: https=…", &[])];
        trace.extend(sample().trace);
        trace.push(entry(
            20_000,
            "lab",
            "lab",
            "node xsp2 down",
            &[("node", "xsp2"), ("action", "down")],
        ));
        let (rows, _) = diagram_rows(&trace);
        assert!(rows.iter().all(|r| !r.text.contains("XSP up")));
        let down = rows.iter().find(|r| r.text == "node xsp2 down").unwrap();
        assert_eq!(
            down.shape,
            Shape::Note {
                lane: "xsp2".into()
            }
        );
    }

    #[test]
    fn heartbeats_collapse() {
        let r = sample();
        let (rows, _) = diagram_rows(&r.trace);
        let rows = collapse_heartbeats(rows);
        let hb: Vec<&Row> = rows.iter().filter(|r| r.heartbeat.is_some()).collect();
        assert_eq!(hb.len(), 2, "{hb:#?}");
        assert_eq!(hb[0].count, 12);
        assert!(
            hb[0]
                .text
                .starts_with("× 12 heartbeats 200 (15.0s – 180.0s)"),
            "{}",
            hb[0].text
        );
        // A heartbeat with another status is not folded in.
        assert_eq!(hb[1].count, 1);
        assert!(hb[1].text.contains("heartbeat → 404"));
        let svg = sequence_svg(&r, 0);
        assert!(svg.contains("× 12 heartbeats 200"));
        assert!(svg.contains(">×12<"));
        // Successful-heartbeat annotations and SUT heartbeat lines are not drawn.
        assert!(!svg.contains("heartbeat on xsp1.lab.example<"));
    }

    #[test]
    fn long_diagrams_are_elided_with_a_note() {
        let trace: Vec<TraceEntry> = (0..DIAGRAM_ROWS as u64 + 57)
            .map(|k| {
                entry(
                    k * 10,
                    "xsp1",
                    "http",
                    "GET /x → 200",
                    &[
                        ("method", "GET"),
                        ("path", &format!("/x/{k}")),
                        ("status", "200"),
                    ],
                )
            })
            .collect();
        let r = case(Outcome::Pass, &[], trace);
        let svg = sequence_svg(&r, 3);
        assert!(svg.contains("… 57 more rows elided after the first 400"));
        assert_eq!(
            svg.matches("stroke-dasharray=\"4,3\"").count(),
            DIAGRAM_ROWS
        );
        assert!(svg.contains("marker id=\"arrow3\""));
        well_formed(&html(&[r]));
    }

    #[test]
    fn shortened_labels() {
        assert_eq!(
            short(&format!(
                "PUT /com.broadsoft.xsi-events/v2.0/channel/{CH}/heartbeat"
            )),
            "PUT /…xsi-events/channel/6f7460ca…/heartbeat"
        );
        assert_eq!(short("ü 6f7460ca-9b21"), "ü 6f7460ca-9b21");
        assert_eq!(tick_step(60.0), 5.0);
        assert_eq!(
            parse_log("  45.009s timeline[1]: x"),
            Some((45.009, "timeline[1]: x"))
        );
    }

    #[test]
    fn timeline_spans_and_checkpoints() {
        let tl = timeline_of(&sample());
        assert_eq!(tl.faults.len(), 1);
        assert_eq!(tl.faults[0].from, 0.007);
        assert_eq!(tl.faults[0].to, Some(46.011));
        assert_eq!(tl.nodes.len(), 1);
        assert_eq!(tl.nodes[0].to, Some(50.0));
        assert_eq!(tl.checks.len(), 2);
        assert!(tl.checks[0].2 && !tl.checks[1].2);
        assert_eq!(tl.end, 200.0);
    }
}
