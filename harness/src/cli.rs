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
  bwlab bench xsi --clients 32      Xsi-Actions throughput and latency
  bwlab bench events                10,000 event channels: memory, CPU, event latency
  bwlab validate scenarios/         check scenario files (file:line:col: error + hint)
  bwlab schema > scenario.json      JSON Schema of scenario files, for editors
  bwlab run scenarios/ --profile r22,r23,r24 --junit junit.xml
                                    run scenarios: matrix of pass/FAIL/skip

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
    /// Load generators that measure the lab's servers.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Check scenario files: every error with file:line:col and a hint (exit 1 if any).
    Validate(crate::validate::ValidateArgs),
    /// Print the JSON Schema of scenario files, for editors.
    Schema(crate::validate::SchemaArgs),
    /// Run scenario files against fresh labs, once per profile: progress on stderr, a
    /// scenario × profile matrix (pass/FAIL/skip) on stdout; exit 1 if any failed, 2 on
    /// invalid files.
    Run(crate::run::cli::RunArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Throughput and latency of Xsi-Actions over TLS keep-alive connections.
    ///
    /// Without --url it starts a lab in this process and measures xsp1.
    Xsi(BenchXsiArgs),
    /// Xsi-Events: memory and CPU of many open event channels, and event latency.
    ///
    /// Starts its own XSP node (with an application server and one generated subscriber per
    /// channel) in this process and the clients in a child process, opens --channels
    /// streaming channels kept alive by heartbeats every eventTimeout/2, measures the
    /// server's and the clients' memory per channel and CPU over --window, then publishes
    /// events at --rate for --duration and measures the time from publish to the event
    /// parsed on the client's stream (every event is acknowledged).
    Events(BenchEventsArgs),
    /// The client process of `bench events` (configuration and commands as JSON lines on
    /// stdin, reports as JSON lines on stdout).
    #[command(hide = true)]
    EventsClients,
}

#[derive(Debug, Args)]
pub struct BenchEventsArgs {
    /// Event channels to open (one subscriber and one TLS connection each). Lowered, with
    /// a note, when the open-file limit cannot be raised far enough.
    #[arg(long, default_value_t = 10_000)]
    pub channels: usize,
    /// Target events per second in the latency phase.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    /// Length of the latency phase, e.g. 10s, 500ms, 1m.
    #[arg(long, short, default_value = "10s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// CPU measurement window while only heartbeats run.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub window: std::time::Duration,
    /// The node's eventTimeout; clients heartbeat every half of it.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub event_timeout: std::time::Duration,
    /// Client tasks sending heartbeats and event responses (one keep-alive connection each).
    #[arg(long, default_value_t = 32)]
    pub workers: usize,
    /// Release profile of the node.
    #[arg(long, default_value = "r24")]
    pub profile: String,
    /// Run the clients in this process instead of a child process (two file descriptors
    /// per channel; memory and CPU then include both ends).
    #[arg(long)]
    pub in_process: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchXsiArgs {
    /// Concurrent clients, each with one keep-alive connection.
    #[arg(long, short, default_value_t = 16)]
    pub clients: usize,
    /// How long each operation runs, e.g. 10s, 500ms, 1m.
    #[arg(long, short, default_value = "10s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// Operations to measure (repeat the option for several).
    #[arg(long = "op", value_enum, default_values_t = [crate::bench::Op::GetProfile, crate::bench::Op::PutDnd])]
    pub ops: Vec<crate::bench::Op>,
    /// An XSP to measure instead of an in-process lab: https://HOST:PORT (needs --ca).
    #[arg(long, value_name = "URL", requires = "ca")]
    pub url: Option<String>,
    /// Connect to this address instead of resolving the --url host (like curl --resolve).
    #[arg(long, value_name = "IP:PORT")]
    pub connect_to: Option<std::net::SocketAddr>,
    /// CA bundle (PEM) that signs the XSP's certificate.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Subscriber to act as.
    #[arg(long, default_value = "alice@lab.example")]
    pub user: String,
    /// Their password.
    #[arg(long, default_value = "Alice-pw1")]
    pub password: String,
    /// Release profile of the in-process lab.
    #[arg(long, default_value = "r24")]
    pub profile: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `10s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (num, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |i| text.split_at(i));
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 10s, 500ms or 1m"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?} (use ms, s or m)"
            ));
        }
    };
    if !(secs.is_finite() && secs > 0.0 && secs < 86_400.0) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
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
    /// XSP layout: `option1` (each XSP has TLS, mTLS and CTI interfaces) or `option2` (a
    /// TLS-only farm plus an mTLS-only farm for CTI and the mTLS AuthService).
    #[arg(long, default_value = "option1", value_name = "LAYOUT")]
    pub layout: crate::XspLayout,
    /// A built-in topology instead of a layout: `single-xsp`, `option1`, `option2`,
    /// `dual-site` (two sites, each a load balancer in front of two XSPs) or
    /// `internet-facing`.
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(crate::Topology::BUILTIN))]
    pub topology: Option<String>,
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
    /// AuthService key pair of the XSP farm as a PEM file: imported if it exists, else
    /// created and written there (share it between labs to share BroadWorks tokens).
    #[arg(long, value_name = "FILE")]
    pub authservice_keys: Option<PathBuf>,
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
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap().as_secs(), 10);
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert_eq!(parse_duration("2m").unwrap().as_secs(), 120);
        assert_eq!(parse_duration("3").unwrap().as_secs(), 3);
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("0s").is_err());
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
