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
    }
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
            let first = std::net::Ipv4Addr::from(u32::from(args.base) + 1);
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
        .ports(ports);
    if let Some(f) = &args.profiles_file {
        b = b.profiles_file(f.clone());
    }
    if let Some(d) = &args.data {
        b = b.data_file(d.clone());
    }
    b
}

async fn up(args: cli::UpArgs) -> i32 {
    let builder = builder(&args.lab).state_dir(args.state_dir.clone());
    if !args.lab.localhost && builder.plan().is_ok_and(|p| p.host == Host::Localhost) {
        eprintln!("note: extra loopback addresses are not usable here; every node is on 127.0.0.1");
    }
    let lab = match builder.start().await {
        Ok(lab) => lab,
        Err(e) => return report(&e),
    };
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
        wait_for_stop().await;
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

/// Ctrl-C, SIGTERM, or stdin closing when stdin is not a terminal (a parent process that
/// started `bwlab up` and went away).
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn plan(args: cli::PlanArgs) -> i32 {
    let plan = match builder(&args.lab).plan() {
        Ok(p) => p,
        Err(e) => return report(&e),
    };
    if args.json {
        match serde_json::to_string_pretty(&plan) {
            Ok(s) => println!("{s}"),
            Err(e) => return fail_code(exit::FAILED, &e.to_string()),
        }
        return exit::OK;
    }
    println!("{:<8} {:<6} {:<12} PORTS", "NODE", "ROLE", "ADDRESS");
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
        println!(
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
    let pki = match bwlab::lab_pki(&topo, &clock) {
        Ok(p) => p,
        Err(e) => return report(&e),
    };
    match pki.export(dir) {
        Ok(manifest) => {
            if json {
                match serde_json::to_string_pretty(&manifest) {
                    Ok(s) => println!("{s}"),
                    Err(e) => return fail_code(exit::FAILED, &e.to_string()),
                }
            } else {
                println!("Wrote the lab PKI to {}", dir.display());
                println!("  CA bundle           {}", manifest.ca_bundle.display());
                println!(
                    "  Webex client chain  {}",
                    manifest.webex_combined_chain.display()
                );
                println!("  index of all files  {}", manifest.readme.display());
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
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!(
                    "{:<16} {:<8} {:<12} {:<4} DESCRIPTION",
                    "PROFILE", "RELEASE", "BUILD", "PLAT"
                );
                for p in registry.iter() {
                    println!(
                        "{:<16} {:<8} {:<12} {:<4} {}",
                        p.name(),
                        p.release().to_string(),
                        p.build().to_string(),
                        p.platform().to_string(),
                        p.description()
                    );
                }
                println!(
                    "\nShow one: bwlab profiles show r24    Compare: bwlab profiles diff r22 r24"
                );
            }
            exit::OK
        }
        ProfilesCommand::Show { name } => match registry.get(&name) {
            Ok(p) => {
                println!("{p}");
                exit::OK
            }
            Err(e) => fail_code(exit::BAD_INPUT, &e.to_string()),
        },
        ProfilesCommand::Diff { a, b, fail_on_diff } => match registry.diff(&a, &b) {
            Ok(d) => {
                print!("{d}");
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
