//! Command-line interface of `bwlab`. Kept apart from `main.rs` so the help text can be
//! tested and so every subcommand's behaviour is a plain function.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, documented in `docs/cli.md` and `bwlab --help`.
pub mod exit {
    /// Everything worked.
    pub const OK: i32 = 0;
    /// A check failed (a profile diff was requested with `--fail-on-diff`, a scenario failed).
    pub const FAILED: i32 = 1;
    /// The command line was wrong (clap's own code).
    pub const USAGE: i32 = 2;
    /// An input file (lab data, profile overrides) was invalid.
    pub const BAD_INPUT: i32 = 3;
    /// The environment refused something: an address or port could not be bound, a
    /// directory could not be written.
    pub const ENVIRONMENT: i32 = 4;
}

const AFTER_HELP: &str = "\
Examples:
  bwlab up                          start the default lab and print its endpoints
  bwlab up --json                   the same, as one JSON object on stdout
  bwlab up --profile r22 --data my-lab.yaml --ports ephemeral
  bwlab pki export ./pki            write the lab CA bundle, node and client certificates
  bwlab profiles                    list release profiles
  bwlab profiles diff r22 r24       what changes between two releases
  bwlab plan --json                 the address plan, without starting anything

Exit codes:
  0  success
  1  a check failed
  2  usage error
  3  invalid input file (lab data, profile file)
  4  environment error (cannot bind an address, cannot write a directory)

Docs: README.md and docs/ (docs/cli.md for every command).";

/// bwlab — a Cisco BroadWorks lab on your machine, for testing Webex-for-BroadWorks
/// components against real protocols over real sockets.
#[derive(Debug, Parser)]
#[command(name = "bwlab", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the lab and keep it running until Ctrl-C.
    ///
    /// Prints every endpoint, the DNS server, the CA bundle and the test subscribers with
    /// their passwords.
    Up(UpArgs),
    /// Show the address plan (which node listens where) without starting anything.
    Plan(PlanArgs),
    /// Lab certificates.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Release behaviour profiles (r22, r23, r24 and their unpatched variants).
    Profiles(ProfilesArgs),
}

/// Options shared by commands that build a lab.
#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// Release profile, e.g. r22, r23, r24, r22-unpatched.
    #[arg(long, short, default_value = "r24", env = "BWLAB_PROFILE")]
    pub profile: String,
    /// Extra or overriding profiles from a TOML file.
    #[arg(long, value_name = "FILE")]
    pub profiles_file: Option<PathBuf>,
    /// Lab data file (YAML) with providers, groups, users and devices; default: the
    /// built-in lab (see docs/lab-data.md).
    #[arg(long, short, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Which ports nodes listen on.
    #[arg(long, value_enum, default_value_t = PortsArg::Auto)]
    pub ports: PortsArg,
    /// Put every node on 127.0.0.1 (ephemeral ports) instead of one loopback address per node.
    #[arg(long)]
    pub localhost: bool,
    /// First loopback address of the plan; nodes get the following ones.
    #[arg(long, default_value = "127.77.0.0", value_name = "IPV4")]
    pub base: std::net::Ipv4Addr,
    /// DNS zone of the lab.
    #[arg(long, default_value = "lab.example", value_name = "DOMAIN")]
    pub domain: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PortsArg {
    /// Well-known ports if this process may bind them (root), otherwise unprivileged ones.
    Auto,
    /// 53, 443, 5060 …
    Wellknown,
    /// 1053, 8443, 5060 … (no privileges needed)
    Unprivileged,
    /// Let the OS choose (several labs side by side).
    Ephemeral,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Directory for the lab's state (exported certificates); default `.bwlab` here.
    #[arg(long, value_name = "DIR", default_value = ".bwlab")]
    pub state_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub lab: LabArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Write the lab PKI as PEM files into DIR: CA bundle, the Webex client chain (root
    /// first), each node's key, certificate and chain, and the bad variants.
    Export {
        /// Target directory (created if missing).
        dir: PathBuf,
        /// DNS zone of the lab.
        #[arg(long, default_value = "lab.example", value_name = "DOMAIN")]
        domain: String,
        /// Print the manifest of written files as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ProfilesArgs {
    #[command(subcommand)]
    pub command: Option<ProfilesCommand>,
    /// Extra or overriding profiles from a TOML file.
    #[arg(long, value_name = "FILE", global = true)]
    pub file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// List the profiles (the default when no subcommand is given).
    List,
    /// The features × profiles table (`--markdown` for docs).
    Matrix {
        /// Print a Markdown table.
        #[arg(long)]
        markdown: bool,
    },
    /// Show every feature and setting of one profile.
    Show { name: String },
    /// What changes from profile A to profile B.
    Diff {
        a: String,
        b: String,
        /// Exit with code 1 when the profiles differ.
        #[arg(long)]
        fail_on_diff: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_examples_and_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("bwlab profiles diff r22 r24"));
        assert!(help.contains("Exit codes"));
    }

    #[test]
    fn parses_up_with_options() {
        let cli = Cli::try_parse_from([
            "bwlab",
            "up",
            "--json",
            "--profile",
            "r22",
            "--ports",
            "ephemeral",
        ])
        .unwrap();
        match cli.command {
            Command::Up(up) => {
                assert!(up.json);
                assert_eq!(up.lab.profile, "r22");
                assert_eq!(up.lab.ports, PortsArg::Ephemeral);
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
