//! `bwlab run FILE|DIR… [--profile r22,r23,r24] [--junit FILE] [--report FILE.html] [--json]
//! [--seed N]`.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::{CaseResult, Outcome, RunOptions, report, run_case, scenario_profiles};
use crate::cli::exit;

/// `bwlab run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, or directories to search for `*.yaml` / `*.yml` files.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Profiles to run on (the matrix columns), comma-separated; default: each scenario's
    /// own `profiles` (r22, r23, r24 when it names none). A profile the scenario does not
    /// list is reported as skipped.
    #[arg(long, short, value_delimiter = ',', value_name = "PROFILES")]
    pub profile: Vec<String>,
    /// Write a JUnit XML report (one test case per scenario × profile).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report (inline CSS and SVG): the run header, the matrix,
    /// and per case the outcome with its failure text, an SVG timeline (steps, fault and
    /// node-down spans, expectation checkpoints), an SVG sequence diagram of the journal
    /// (SUT, DNS, load balancers, XSPs, cloud hosts), the run log and the journal.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Print the results as JSON on stdout instead of the matrix.
    #[arg(long)]
    pub json: bool,
    /// Seed of every random choice (overrides the scenarios' `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs the command; returns the exit code (0 all passed or skipped, 1 a failure, 2 bad
/// files or arguments, 4 a report that cannot be written).
pub async fn run(args: &RunArgs) -> i32 {
    let files = match crate::validate::scenario_files(&args.paths) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let registry = bwlab_profiles::Profiles::builtin();
    for p in &args.profile {
        if registry.get(p).is_err() {
            eprintln!("error: unknown profile `{p}` (see `bwlab profiles`)");
            return exit::USAGE;
        }
    }
    let mut scenarios = Vec::new();
    let mut bad = false;
    for f in &files {
        match bwlab_scenario::parse_file(f) {
            Ok(s) => scenarios.push((f.clone(), s)),
            Err(diags) => {
                bad = true;
                for d in diags.iter() {
                    eprintln!("{}", d.render(false));
                }
            }
        }
    }
    if bad {
        eprintln!("error: invalid scenario files; nothing was run (see `bwlab validate`)");
        return exit::USAGE;
    }
    let mut plan = Vec::new();
    for (f, s) in &scenarios {
        let own = scenario_profiles(s);
        let cols = if args.profile.is_empty() {
            own.clone()
        } else {
            args.profile.clone()
        };
        for p in cols {
            plan.push((f, s, p.clone(), own.contains(&p)));
        }
    }
    let opts = RunOptions {
        seed: args.seed,
        ..RunOptions::default()
    };
    let info = report::RunInfo {
        started: Some(report::now_text()),
        profiles: args.profile.clone(),
        seed: args.seed,
        seeds: scenarios
            .iter()
            .map(|(f, s)| {
                (
                    super::label(Some(f), s),
                    args.seed.or(s.seed).unwrap_or(super::DEFAULT_SEED),
                )
            })
            .collect(),
        command: Some(std::env::args().collect::<Vec<_>>().join(" ")),
    };
    let total = plan.len();
    let mut results: Vec<CaseResult> = Vec::with_capacity(total);
    for (i, (f, s, profile, listed)) in plan.into_iter().enumerate() {
        let label = super::label(Some(f), s);
        eprint!("[{}/{total}] {label} [{profile}] … ", i + 1);
        let _ = std::io::stderr().flush();
        let r = if listed {
            run_case(s, Some(f), &profile, &opts).await
        } else {
            CaseResult {
                scenario: label.clone(),
                name: s.name.clone(),
                file: Some(f.clone()),
                profile: profile.clone(),
                outcome: Outcome::Skip(format!(
                    "profile {profile} is not in the scenario's profiles"
                )),
                seconds: 0.0,
                log: Vec::new(),
                trace: Vec::new(),
            }
        };
        eprintln!("{} ({:.1}s)", r.outcome.label(), r.seconds);
        results.push(r);
    }
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, report::junit(&results))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return exit::ENVIRONMENT;
    }
    if let Some(path) = &args.report
        && let Err(e) = std::fs::write(path, report::html_report(&results, &info))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return exit::ENVIRONMENT;
    }
    let text = if args.json {
        format!("{:#}\n", report::json(&results))
    } else {
        report::matrix(&results)
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    let (_, failed, _) = report::counts(&results);
    if failed > 0 { exit::FAILED } else { exit::OK }
}
