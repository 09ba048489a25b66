//! Run outputs: the scenario × profile matrix, JUnit XML, JSON and the HTML report
//! ([`html`], in `report/html.rs`).

mod html;

pub use html::{DIAGRAM_ROWS, RunInfo, html, html_report, now_text};

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
                ..Default::default()
            },
            crate::run::TraceEntry {
                ms: 9,
                node: "xsp1".into(),
                kind: "event".into(),
                summary: "CallReceivedEvent <x>".into(),
                direction: Some("out".into()),
                ..Default::default()
            },
        ];
        let h = html(&[c]);
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("<svg") && h.contains("</svg>"));
        // The request with its dashed answer, and the event.
        assert_eq!(h.matches("marker-end").count(), 3);
        assert!(h.contains("CallReceivedEvent &lt;x&gt;"));
        assert!(!h.contains("<x>"));
    }
}
