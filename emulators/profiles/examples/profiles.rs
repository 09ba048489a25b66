//! A stand-in for `bwlab profiles` while the CLI is not wired:
//!
//! ```text
//! cargo run -p bwlab-profiles --example profiles                   # matrix
//! cargo run -p bwlab-profiles --example profiles -- show r22
//! cargo run -p bwlab-profiles --example profiles -- diff r22 r24
//! cargo run -p bwlab-profiles --example profiles -- --file my.toml show my-lab
//! cargo run -p bwlab-profiles --example profiles -- markdown       # table for docs/profiles.md
//! ```

use std::process::ExitCode;

use bwlab_profiles::{ProfileError, Profiles};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(3)
        }
    }
}

fn run(mut args: Vec<String>) -> Result<(), ProfileError> {
    let mut profiles = Profiles::builtin();
    if args.first().map(String::as_str) == Some("--file") && args.len() >= 2 {
        profiles.load_file(&args[1])?;
        args.drain(..2);
    }
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["list"] => print!("{}", profiles.matrix()),
        ["markdown"] => print!("{}", profiles.matrix().to_markdown()),
        ["show", name] => println!("{}", profiles.get(name)?),
        ["diff", a, b] => println!("{}", profiles.diff(a, b)?),
        _ => eprintln!("usage: profiles [--file FILE] [list | show NAME | diff A B | markdown]"),
    }
    Ok(())
}
