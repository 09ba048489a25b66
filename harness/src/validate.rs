//! `bwlab schema` and `bwlab validate`: the scenario format's commands. Parsing and checking
//! live in `bwlab-scenario`; this module prints.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::exit;

/// `bwlab schema`
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the schema on one line instead of indented.
    #[arg(long)]
    pub compact: bool,
}

/// `bwlab validate`
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files, or directories to search for `*.yaml` / `*.yml` files.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Colour the output: `auto` when stdout is a terminal and NO_COLOR is not set.
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub color: Color,
    /// Print only errors, not the line per valid file nor the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// When stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Writes to stdout; a closed pipe ends the program quietly.
fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(exit::OK);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(exit::ENVIRONMENT);
    }
}

/// `bwlab schema`: the JSON Schema of scenario files on stdout.
pub fn schema(args: &SchemaArgs) -> i32 {
    let schema = bwlab_scenario::json_schema();
    let text = if args.compact {
        serde_json::to_string(&schema)
    } else {
        serde_json::to_string_pretty(&schema)
    };
    match text {
        Ok(t) => {
            out(&t);
            out("\n");
            exit::OK
        }
        Err(e) => {
            eprintln!("error: cannot render the schema: {e}");
            exit::FAILED
        }
    }
}

/// `bwlab validate FILE|DIR…`: every error of every file as `file:line:col: error: …` with a
/// hint line; exit 0 when all are valid, 1 when any is not, 2 on a usage error (a path that
/// does not exist, a directory without scenario files).
pub fn validate(args: &ValidateArgs) -> i32 {
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let files = match crate::validate::scenario_files(&args.paths) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let (green, reset) = if color {
        ("\x1b[32m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut invalid = 0usize;
    let mut errors = 0usize;
    for f in &files {
        match bwlab_scenario::parse_file(f) {
            Ok(_) => {
                if !args.quiet {
                    out(&format!("{}: {green}ok{reset}\n", f.display()));
                }
            }
            Err(diags) => {
                invalid += 1;
                errors += diags.len();
                let mut text = String::new();
                for d in diags.iter() {
                    text.push_str(&d.render(color));
                    text.push('\n');
                }
                out(&text);
            }
        }
    }
    if !args.quiet {
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        if invalid == 0 {
            eprintln!("{} valid", plural(files.len(), "scenario file"));
        } else {
            eprintln!(
                "{} checked, {invalid} invalid, {}",
                plural(files.len(), "scenario file"),
                plural(errors, "error")
            );
        }
    }
    if invalid == 0 { exit::OK } else { exit::FAILED }
}

/// The scenario files under `paths` (files as given, directories searched recursively), or
/// the exit code after printing why not: a path that does not exist, a directory without
/// scenario files, an unreadable directory. Shared by `bwlab validate` and `bwlab run`.
pub(crate) fn scenario_files(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>, i32> {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            eprintln!("error: {}: no such file or directory", p.display());
            return Err(exit::USAGE);
        }
        match bwlab_scenario::scenario_files(p) {
            Ok(found) if found.is_empty() => {
                eprintln!(
                    "error: {}: no scenario files (*.yaml, *.yml) here",
                    p.display()
                );
                return Err(exit::USAGE);
            }
            Ok(found) => files.extend(found),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return Err(exit::USAGE);
            }
        }
    }
    Ok(files)
}
