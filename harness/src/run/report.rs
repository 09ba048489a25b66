//! Run outputs: the scenario × profile matrix, JUnit XML and JSON.

use std::fmt::Write as _;

use super::CaseResult;

/// Profiles in first-seen order.
fn columns(results: &[CaseResult]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for r in results {
        if !cols.contains(&r.profile) {
            cols.push(r.profile.clone());
        }
    }
    cols
}

fn rows(results: &[CaseResult]) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    for r in results {
        if !rows.contains(&r.scenario) {
            rows.push(r.scenario.clone());
        }
    }
    rows
}

/// Counts: passed, failed, skipped.
pub fn counts(results: &[CaseResult]) -> (usize, usize, usize) {
    let p = results.iter().filter(|r| r.outcome.is_pass()).count();
    let f = results.iter().filter(|r| r.outcome.is_fail()).count();
    let s = results.iter().filter(|r| r.outcome.is_skip()).count();
    (p, f, s)
}

/// The matrix, the failures and skip reasons, and a summary line.
pub fn matrix(results: &[CaseResult]) -> String {
    let cols = columns(results);
    let rows = rows(results);
    let width = rows.iter().map(|r| r.len()).max().unwrap_or(8).max(8);
    let mut out = String::new();
    let _ = write!(out, "{:<width$}", "SCENARIO");
    for c in &cols {
        let _ = write!(out, "  {c:<6}");
    }
    out.push('\n');
    for row in &rows {
        let _ = write!(out, "{row:<width$}");
        for c in &cols {
            let cell = results
                .iter()
                .find(|r| &r.scenario == row && &r.profile == c)
                .map_or("-", |r| r.outcome.label());
            let _ = write!(out, "  {cell:<6}");
        }
        out.push('\n');
    }
    let mut notes = String::new();
    for r in results.iter().filter(|r| !r.outcome.is_pass()) {
        let _ = writeln!(
            notes,
            "{} {} [{}]: {}",
            r.outcome.label(),
            r.scenario,
            r.profile,
            r.outcome.message()
        );
    }
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes);
    }
    let (p, f, s) = counts(results);
    let _ = writeln!(
        out,
        "\n{} run: {p} passed, {f} failed, {s} skipped",
        results.len()
    );
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `testsuite` per profile, one `testcase` per scenario × profile.
pub fn junit(results: &[CaseResult]) -> String {
    let (_, f, s) = counts(results);
    let total: f64 = results.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"bwlab\" tests=\"{}\" failures=\"{f}\" skipped=\"{s}\" time=\"{total:.3}\">",
        results.len()
    );
    for profile in columns(results) {
        let cases: Vec<&CaseResult> = results.iter().filter(|r| r.profile == profile).collect();
        let fails = cases.iter().filter(|r| r.outcome.is_fail()).count();
        let skips = cases.iter().filter(|r| r.outcome.is_skip()).count();
        let time: f64 = cases.iter().map(|r| r.seconds).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" errors=\"0\" skipped=\"{skips}\" time=\"{time:.3}\">",
            xml_escape(&profile),
            cases.len()
        );
        for r in cases {
            let _ = write!(
                out,
                "    <testcase name=\"{} [{}]\" classname=\"{}\" time=\"{:.3}\"",
                xml_escape(&r.scenario),
                xml_escape(&r.profile),
                xml_escape(&format!("bwlab.{}", r.profile)),
                r.seconds
            );
            match &r.outcome {
                super::Outcome::Pass => out.push_str("/>\n"),
                super::Outcome::Skip(m) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_escape(m)
                    );
                }
                super::Outcome::Fail(m) => {
                    let first = m.lines().next().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"expectation\">{}</failure>\n      <system-out>{}</system-out>\n    </testcase>",
                        xml_escape(first),
                        xml_escape(m),
                        xml_escape(&r.log.join("\n"))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Every result as JSON, with the counts.
pub fn json(results: &[CaseResult]) -> serde_json::Value {
    let (p, f, s) = counts(results);
    serde_json::json!({
        "passed": p,
        "failed": f,
        "skipped": s,
        "results": results,
    })
}

/// Arrows drawn per case in the sequence diagram.
const DIAGRAM_LIMIT: usize = 400;

/// A self-contained HTML report: the matrix, and per case its outcome, an SVG sequence
/// diagram of the journal's HTTP, DNS and event entries between the SUT and the lab nodes,
/// and the timeline of journal entries.
pub fn html(results: &[CaseResult]) -> String {
    let (p, f, s) = counts(results);
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bwlab run</title>\n<style>\
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}\
.pass{background:#d9f2d9}.FAIL{background:#f8d0d0}.skip{background:#eee}\
pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}details{margin:1em 0}\
svg text{font-size:11px;font-family:monospace}</style></head><body>\n<h1>bwlab run</h1>\n",
    );
    let _ = writeln!(
        out,
        "<p>{} run: {p} passed, {f} failed, {s} skipped</p>",
        results.len()
    );
    let cols = columns(results);
    out.push_str("<table><tr><th>scenario</th>");
    for c in &cols {
        let _ = write!(out, "<th>{}</th>", xml_escape(c));
    }
    out.push_str("</tr>\n");
    for row in rows(results) {
        let _ = write!(out, "<tr><td>{}</td>", xml_escape(&row));
        for c in &cols {
            match results
                .iter()
                .position(|r| r.scenario == row && &r.profile == c)
            {
                Some(i) => {
                    let l = results[i].outcome.label();
                    let _ = write!(out, "<td class=\"{l}\"><a href=\"#case{i}\">{l}</a></td>");
                }
                None => out.push_str("<td>-</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    for (i, r) in results.iter().enumerate() {
        let l = r.outcome.label();
        let _ = writeln!(
            out,
            "<h2 id=\"case{i}\"><span class=\"{l}\">{l}</span> {} [{}]</h2>\n<p>{}</p>",
            xml_escape(&r.scenario),
            xml_escape(&r.profile),
            xml_escape(&r.name)
        );
        if !r.outcome.message().is_empty() {
            let _ = writeln!(out, "<pre>{}</pre>", xml_escape(r.outcome.message()));
        }
        if r.trace.is_empty() {
            continue;
        }
        out.push_str(&sequence_svg(r));
        out.push_str("<details><summary>journal</summary><table><tr><th>ms</th><th>node</th><th>kind</th><th>entry</th></tr>\n");
        for t in &r.trace {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                t.ms,
                xml_escape(&t.node),
                xml_escape(&t.kind),
                xml_escape(&t.summary)
            );
        }
        out.push_str("</table></details>\n");
        if !r.log.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>run log</summary><pre>{}</pre></details>",
                xml_escape(&r.log.join("\n"))
            );
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// Lanes: the SUT first, then every lab node that journalled HTTP, DNS or events.
fn sequence_svg(r: &CaseResult) -> String {
    let drawn: Vec<&super::TraceEntry> = r
        .trace
        .iter()
        .filter(|t| t.kind != "fault")
        .take(DIAGRAM_LIMIT)
        .collect();
    let mut lanes: Vec<String> = vec!["SUT".into()];
    for t in &drawn {
        if t.kind != "sut" && !lanes.contains(&t.node) {
            lanes.push(t.node.clone());
        }
    }
    let lane_w = 180usize;
    let row_h = 18usize;
    let width = lane_w * lanes.len() + 420;
    let height = 40 + row_h * (drawn.len() + 1);
    let x = |lane: usize| 60 + lane * lane_w;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"sequence diagram\">\n\
<defs><marker id=\"a\" markerWidth=\"8\" markerHeight=\"8\" refX=\"8\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker></defs>\n"
    );
    for (i, lane) in lanes.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">{}</text><line x1=\"{0}\" y1=\"20\" x2=\"{0}\" y2=\"{height}\" stroke=\"#bbb\"/>",
            x(i),
            xml_escape(lane)
        );
    }
    let label_x = x(lanes.len() - 1) + 40;
    for (row, t) in drawn.iter().enumerate() {
        let y = 34 + row * row_h;
        let colour = match t.kind.as_str() {
            "http" => "#2a6fdb",
            "event" => "#b25d00",
            "dns" => "#2e8b57",
            _ => "#666",
        };
        if t.kind == "sut" {
            let _ = writeln!(
                svg,
                "<circle cx=\"{}\" cy=\"{y}\" r=\"3\" fill=\"{colour}\"/>",
                x(0)
            );
        } else {
            let node = lanes.iter().position(|l| l == &t.node).unwrap_or(0);
            let (from, to) = if t.direction.as_deref() == Some("out") {
                (x(node), x(0))
            } else {
                (x(0), x(node))
            };
            let _ = writeln!(
                svg,
                "<line x1=\"{from}\" y1=\"{y}\" x2=\"{to}\" y2=\"{y}\" stroke=\"{colour}\" marker-end=\"url(#a)\"/>"
            );
        }
        let mut label: String = t.summary.chars().take(70).collect();
        if t.summary.chars().count() > 70 {
            label.push('…');
        }
        let _ = writeln!(
            svg,
            "<text x=\"{label_x}\" y=\"{}\" fill=\"{colour}\">{:>7} ms {}: {}</text>",
            y + 4,
            t.ms,
            xml_escape(&t.node),
            xml_escape(&label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Outcome;

    fn case(s: &str, p: &str, o: Outcome) -> CaseResult {
        CaseResult {
            scenario: s.into(),
            name: s.into(),
            file: None,
            profile: p.into(),
            outcome: o,
            seconds: 0.5,
            log: vec!["a <b>".into()],
            trace: Vec::new(),
        }
    }

    #[test]
    fn matrix_and_junit() {
        let rs = vec![
            case("one", "r22", Outcome::Pass),
            case("one", "r24", Outcome::Fail("expected <x> & y".into())),
            case(
                "two",
                "r22",
                Outcome::Skip("unsupported: topology dual-site".into()),
            ),
        ];
        let m = matrix(&rs);
        assert!(m.contains("pass") && m.contains("FAIL") && m.contains("skip"));
        assert!(m.contains("3 run: 1 passed, 1 failed, 1 skipped"));
        let x = junit(&rs);
        assert_eq!(x.matches("<testcase ").count(), 3);
        assert!(x.contains("<skipped message=\"unsupported: topology dual-site\"/>"));
        assert!(x.contains("expected &lt;x&gt; &amp; y"));
        assert_eq!(json(&rs)["failed"], 1);
    }

    #[test]
    fn html_has_the_matrix_and_a_sequence_diagram() {
        let mut c = case("one", "r24", Outcome::Fail("expected <x>".into()));
        c.trace = vec![
            crate::run::TraceEntry {
                ms: 5,
                node: "xsp1".into(),
                kind: "http".into(),
                summary: "POST /channel → 200".into(),
                direction: None,
            },
            crate::run::TraceEntry {
                ms: 9,
                node: "xsp1".into(),
                kind: "event".into(),
                summary: "CallReceivedEvent <x>".into(),
                direction: Some("out".into()),
            },
        ];
        let h = html(&[c]);
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("<svg") && h.contains("</svg>"));
        assert_eq!(h.matches("marker-end").count(), 2);
        assert!(h.contains("CallReceivedEvent &lt;x&gt;"));
        assert!(!h.contains("<x>"));
    }
}
