//! The `bwlab` command. Parsing lives in `cli.rs`, the lab in `lab.rs`; this file only
//! wires commands to them and turns errors into messages and exit codes.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use bwlab::cli::{
    self, Cli, Command, LabArgs, PkiCommand, PortsArg, ProfilesArgs, ProfilesCommand, exit,
};
use bwlab::core::addr::{AddressPlan, Host, Ports};
use bwlab::profiles::Profiles;
use bwlab::{Lab, LabBuilder, LabError, Topology};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                exit::ENVIRONMENT,
                &format!("cannot start the async runtime: {e}"),
            );
        }
    };
    let code = runtime.block_on(run(cli));
    // Servers are already shut down; don't let a stuck blocking task delay the exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    ExitCode::from(code as u8)
}

async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Up(args) => up(args).await,
        Command::Plan(args) => plan(args),
        Command::Pki(PkiCommand::Export { dir, domain, json }) => pki_export(&dir, &domain, json),
        Command::Profiles(args) => profiles(args),
        Command::Bench(cli::BenchCommand::Xsi(args)) => bench_xsi(args).await,
        Command::Bench(cli::BenchCommand::Events(args)) => bench_events(args).await,
        Command::Validate(args) => bwlab::validate::validate(&args),
        Command::Schema(args) => bwlab::validate::schema(&args),
        Command::Run(args) => bwlab::run::cli::run(&args).await,
        Command::Bench(cli::BenchCommand::EventsClients) => {
            match bwlab::bench::run_events_clients_stdio().await {
                Ok(()) => exit::OK,
                Err(e) => fail_code(exit::FAILED, &e),
            }
        }
    }
}

/// Writes to stdout; a closed pipe (`bwlab profiles | head -1`) ends the program quietly
/// instead of panicking, as command-line tools are expected to.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(exit::OK);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(exit::ENVIRONMENT);
    }
}

macro_rules! outln {
    ($($arg:tt)*) => { emit(&format!("{}\n", format_args!($($arg)*))) };
}

fn fail(code: i32, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code as u8)
}

fn report(err: &LabError) -> i32 {
    eprintln!("error: {err}");
    err.exit_code()
}

fn builder(args: &LabArgs) -> LabBuilder {
    let host = if args.localhost {
        Host::Localhost
    } else {
        Host::Loopback { base: args.base }
    };
    let ports = match args.ports {
        PortsArg::Wellknown => Ports::Wellknown,
        PortsArg::Unprivileged => Ports::Unprivileged,
        PortsArg::Ephemeral => Ports::Ephemeral,
        PortsArg::Auto => {
            let first = std::net::Ipv4Addr::from(u32::from(args.base).saturating_add(1));
            if AddressPlan::privileged_ports_usable(first.into()) {
                Ports::Wellknown
            } else {
                Ports::Unprivileged
            }
        }
    };
    let mut b = Lab::builder()
        .profile(args.profile.clone())
        .domain(args.domain.clone())
        .host(host)
        .ports(ports)
        .xsp_layout(args.layout);
    if let Some(t) = args
        .topology
        .as_deref()
        .and_then(|name| bwlab::Topology::builtin(name, &args.domain))
    {
        b = b.topology(t);
    }
    if let Some(f) = &args.profiles_file {
        b = b.profiles_file(f.clone());
    }
    if let Some(d) = &args.data {
        b = b.data_file(d.clone());
    }
    b
}

async fn up(args: cli::UpArgs) -> i32 {
    let mut builder = builder(&args.lab).state_dir(args.state_dir.clone());
    if let Some(keys) = &args.authservice_keys {
        builder = builder.authservice_keys_file(keys);
    }
    if !args.lab.localhost && builder.plan().is_ok_and(|p| p.host == Host::Localhost) {
        eprintln!("note: extra loopback addresses are not usable here; every node is on 127.0.0.1");
    }
    let lab = match builder.start().await {
        Ok(lab) => lab,
        Err(e) => return report(&e),
    };
    // Listen for Ctrl-C/SIGTERM before announcing the lab: a script that reads the summary
    // and signals at once must not hit the default (killing) action.
    let stop = StopSignals::install();
    let summary = lab.summary();
    let mut stdout = std::io::stdout().lock();
    let printed = if args.json {
        serde_json::to_string(&summary)
            .map_err(std::io::Error::other)
            .and_then(|s| writeln!(stdout, "{s}"))
    } else {
        write!(stdout, "{}", summary.render_text())
            .and_then(|()| writeln!(stdout, "\nThe lab is running. Press Ctrl-C to stop."))
    };
    let _ = stdout.flush();
    drop(stdout);
    if printed.is_ok() {
        stop.wait().await;
    }
    // Shutting down is bounded: a wedged server must not keep the terminal hostage.
    if tokio::time::timeout(Duration::from_millis(900), lab.shutdown())
        .await
        .is_err()
    {
        eprintln!("warning: some servers did not stop in time");
    }
    if !args.json {
        eprintln!("bwlab stopped.");
    }
    exit::OK
}

/// Ctrl-C or SIGTERM, with the handlers installed when this is created.
struct StopSignals {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                signals: signal(SignalKind::interrupt())
                    .and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.signals {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn plan(args: cli::PlanArgs) -> i32 {
    let builder = builder(&args.lab);
    // `plan` starts nothing, but it still checks the inputs `up` would use.
    if let Err(e) = builder.validate() {
        return report(&e);
    }
    let plan = match builder.plan() {
        Ok(p) => p,
        Err(e) => return report(&e),
    };
    if !args.lab.localhost && plan.host == Host::Localhost {
        eprintln!("note: extra loopback addresses are not usable here; every node is on 127.0.0.1");
    }
    if args.json {
        match serde_json::to_string_pretty(&plan) {
            Ok(s) => outln!("{s}"),
            Err(e) => return fail_code(exit::FAILED, &e.to_string()),
        }
        return exit::OK;
    }
    outln!("{:<8} {:<6} {:<12} PORTS", "NODE", "ROLE", "ADDRESS");
    for n in &plan.nodes {
        let ports: Vec<String> = n
            .ports
            .iter()
            .map(|p| {
                let port = if p.port == 0 {
                    "auto".to_string()
                } else {
                    p.port.to_string()
                };
                format!(
                    "{}={}/{}",
                    p.name,
                    port,
                    match p.proto {
                        bwlab::core::addr::Proto::Tcp => "tcp",
                        bwlab::core::addr::Proto::Udp => "udp",
                    }
                )
            })
            .collect();
        outln!(
            "{:<8} {:<6} {:<12} {}",
            n.name,
            n.role.to_string(),
            n.ip,
            ports.join(" ")
        );
    }
    exit::OK
}

fn fail_code(code: i32, message: &str) -> i32 {
    eprintln!("error: {message}");
    code
}

fn pki_export(dir: &std::path::Path, domain: &str, json: bool) -> i32 {
    let topo = Topology::default_lab(domain);
    let clock = bwlab::core::LabClock::system();
    let data = match bwlab::model::Store::from_yaml_str(
        bwlab::DEFAULT_DATA,
        "<built-in lab data>",
        clock.clone(),
    ) {
        Ok(d) => d,
        Err(e) => return fail_code(exit::BAD_INPUT, &e.to_string()),
    };
    let pki = match bwlab::lab_pki(&topo, &data, &clock) {
        Ok(p) => p,
        Err(e) => return report(&e),
    };
    match pki.export(dir) {
        Ok(manifest) => {
            if json {
                match serde_json::to_string_pretty(&manifest) {
                    Ok(s) => outln!("{s}"),
                    Err(e) => return fail_code(exit::FAILED, &e.to_string()),
                }
            } else {
                outln!("Wrote the lab PKI to {}", dir.display());
                outln!("  CA bundle           {}", manifest.ca_bundle.display());
                outln!(
                    "  Webex client chain  {}",
                    manifest.webex_combined_chain.display()
                );
                outln!("  index of all files  {}", manifest.readme.display());
            }
            exit::OK
        }
        Err(e) => fail_code(exit::ENVIRONMENT, &e.to_string()),
    }
}

fn profiles(args: ProfilesArgs) -> i32 {
    let registry = match &args.file {
        Some(f) => Profiles::with_overrides(f),
        None => Ok(Profiles::builtin()),
    };
    let registry = match registry {
        Ok(r) => r,
        Err(e) => return fail_code(exit::BAD_INPUT, &e.to_string()),
    };
    match args.command.unwrap_or(ProfilesCommand::List) {
        ProfilesCommand::List => {
            if args.json {
                let list: Vec<_> = registry
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name(),
                            "release": p.release().to_string(),
                            "build": p.build().to_string(),
                            "platform": p.platform().to_string(),
                            "description": p.description(),
                            "features": p.features().iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                outln!("{}", serde_json::Value::Array(list));
            } else {
                outln!(
                    "{:<16} {:<8} {:<12} {:<4} DESCRIPTION",
                    "PROFILE",
                    "RELEASE",
                    "BUILD",
                    "PLAT"
                );
                for p in registry.iter() {
                    outln!(
                        "{:<16} {:<8} {:<12} {:<4} {}",
                        p.name(),
                        p.release().to_string(),
                        p.build().to_string(),
                        p.platform().to_string(),
                        p.description()
                    );
                }
                outln!(
                    "\nShow one: bwlab profiles show r24    Compare: bwlab profiles diff r22 r24"
                );
            }
            exit::OK
        }
        ProfilesCommand::Matrix { markdown } => {
            let matrix = registry.matrix();
            if args.json {
                match serde_json::to_string_pretty(&matrix) {
                    Ok(j) => outln!("{j}"),
                    Err(e) => return fail_code(exit::FAILED, &e.to_string()),
                }
            } else if markdown {
                outln!("{}", matrix.to_markdown().trim_end());
            } else {
                outln!("{}", matrix.to_string().trim_end());
            }
            exit::OK
        }
        ProfilesCommand::Show { name } => match registry.get(&name) {
            Ok(p) => {
                if args.json {
                    match serde_json::to_string_pretty(p) {
                        Ok(j) => outln!("{j}"),
                        Err(e) => return fail_code(exit::FAILED, &e.to_string()),
                    }
                } else {
                    outln!("{}", p.to_string().trim_end());
                }
                exit::OK
            }
            Err(e) => fail_code(exit::BAD_INPUT, &e.to_string()),
        },
        ProfilesCommand::Diff { a, b, fail_on_diff } => match registry.diff(&a, &b) {
            Ok(d) => {
                if args.json {
                    match serde_json::to_string_pretty(&d) {
                        Ok(j) => outln!("{j}"),
                        Err(e) => return fail_code(exit::FAILED, &e.to_string()),
                    }
                } else {
                    outln!("{}", d.to_string().trim_end());
                }
                if fail_on_diff && !d.is_empty() {
                    exit::FAILED
                } else {
                    exit::OK
                }
            }
            Err(e) => fail_code(exit::BAD_INPUT, &e.to_string()),
        },
    }
}

async fn bench_xsi(args: cli::BenchXsiArgs) -> i32 {
    use bwlab::bench::{BenchConfig, run};
    let mut lab = None;
    let (addr, server_name, trust) = match &args.url {
        Some(url) => {
            let Some(hostport) = url
                .strip_prefix("https://")
                .map(|r| r.split('/').next().unwrap_or(r))
            else {
                return fail_code(exit::USAGE, "--url must look like https://HOST:PORT");
            };
            let host = hostport
                .rsplit_once(':')
                .map_or(hostport, |(h, _)| h)
                .to_string();
            let addr = match args.connect_to {
                Some(a) => a,
                None => match tokio::net::lookup_host(hostport)
                    .await
                    .map(|mut a| a.next())
                {
                    Ok(Some(a)) => a,
                    _ => {
                        return fail_code(
                            exit::ENVIRONMENT,
                            &format!("cannot resolve {hostport} (try --connect-to IP:PORT)"),
                        );
                    }
                },
            };
            let pem = match args.ca.as_ref().map(std::fs::read_to_string) {
                Some(Ok(p)) => p,
                Some(Err(e)) => return fail_code(exit::BAD_INPUT, &format!("--ca: {e}")),
                None => return fail_code(exit::USAGE, "--url needs --ca"),
            };
            let trust = match bwlab::pki::pem::decode_certs(&pem) {
                Ok(t) => t,
                Err(e) => return fail_code(exit::BAD_INPUT, &format!("--ca: {e}")),
            };
            (addr, host, trust)
        }
        None => {
            let started = match Lab::builder().profile(args.profile.clone()).start().await {
                Ok(l) => l,
                Err(e) => return report(&e),
            };
            let Some(addr) = started.xsps().next().map(|(_, h)| h.https_addr()) else {
                return fail_code(exit::FAILED, "the lab has no XSP");
            };
            let trust = started.pki().lab_trust_bundle();
            lab = Some(started);
            (addr, "xsp.lab.example".to_string(), trust)
        }
    };
    let config = BenchConfig {
        addr,
        server_name,
        trust,
        user: args.user.clone(),
        password: args.password.clone(),
        clients: args.clients.max(1),
        duration: args.duration,
        ops: args.ops.clone(),
    };
    if !args.json {
        eprintln!(
            "measuring {} for {:?} per operation with {} clients ({} cores here)",
            config.addr,
            config.duration,
            config.clients,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    let quiet = args.json;
    let mut last = None;
    let result = run(&config, |op, n, t| {
        if quiet {
            return;
        }
        if last.is_some_and(|l| l != op) {
            eprintln!();
        }
        last = Some(op);
        eprint!("\r  {op:?}: {n} requests in {:.0} s   ", t.as_secs_f64());
    })
    .await;
    if !quiet {
        eprintln!();
    }
    if let Some(lab) = lab {
        lab.shutdown().await;
    }
    match result {
        Ok(results) => {
            if args.json {
                match serde_json::to_string_pretty(&results) {
                    Ok(j) => outln!("{j}"),
                    Err(e) => return fail_code(exit::FAILED, &e.to_string()),
                }
            } else {
                for r in &results {
                    outln!("{r}");
                }
            }
            if results.iter().any(|r| r.errors > 0) {
                exit::FAILED
            } else {
                exit::OK
            }
        }
        Err(e) => fail_code(exit::ENVIRONMENT, &e),
    }
}

async fn bench_events(args: cli::BenchEventsArgs) -> i32 {
    use bwlab::bench::{ClientSide, EventsBenchConfig, run_events};
    if args.channels == 0 || args.rate == 0 {
        return fail_code(exit::USAGE, "--channels and --rate must be positive");
    }
    let clients = if args.in_process {
        ClientSide::InProcess
    } else {
        match std::env::current_exe() {
            Ok(exe) => ClientSide::ChildProcess(exe),
            Err(e) => {
                return fail_code(
                    exit::ENVIRONMENT,
                    &format!("cannot find this executable for the client process: {e}"),
                );
            }
        }
    };
    let config = EventsBenchConfig {
        channels: args.channels,
        rate: args.rate,
        duration: args.duration,
        window: args.window,
        event_timeout: args.event_timeout,
        workers: args.workers.max(1),
        profile: args.profile.clone(),
        clients,
    };
    let quiet = args.json;
    if !quiet {
        eprintln!(
            "{} channels, heartbeats every {:?}, {} events/s for {:?} ({} cores here)",
            config.channels,
            config.event_timeout / 2,
            config.rate,
            config.duration,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    let result = run_events(&config, |line| {
        if line.starts_with("note:") {
            eprintln!("{line}");
        } else if !quiet {
            eprintln!("  {line}");
        }
    })
    .await;
    match result {
        Ok(r) => {
            if args.json {
                match serde_json::to_string_pretty(&r) {
                    Ok(j) => outln!("{j}"),
                    Err(e) => return fail_code(exit::FAILED, &e.to_string()),
                }
            } else {
                outln!("{r}");
            }
            if r.open_errors > 0 || r.ack_errors > 0 || r.heartbeat_errors > 0 || r.events_lost > 0
            {
                exit::FAILED
            } else {
                exit::OK
            }
        }
        Err(e) => fail_code(exit::ENVIRONMENT, &e),
    }
}
