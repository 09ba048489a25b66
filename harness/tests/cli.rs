//! The `bwlab` binary as a user runs it: real process, real sockets, real signals.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RecordType;

fn bwlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bwlab"))
}

/// Kills the child if a test fails half-way, so no lab outlives its test.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the child to exit; the bound only guards against a hang.
fn wait_exit(child: &mut Child, bound: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::yield_now();
    }
}

fn resolver(addr: SocketAddr, proto: ProtocolConfig) -> TokioResolver {
    let mut conn = ConnectionConfig::new(proto);
    conn.port = addr.port();
    let ns = NameServerConfig::new(addr.ip(), true, vec![conn]);
    let cfg = ResolverConfig::from_parts(None, vec![], vec![ns]);
    TokioResolver::builder_with_config(cfg, TokioRuntimeProvider::default())
        .build()
        .expect("resolver")
}

#[test]
fn up_json_prints_the_lab_serves_dns_and_stops_on_ctrl_c() {
    let state = tempfile::tempdir().unwrap();
    let child = bwlab()
        .args(["up", "--json", "--ports", "ephemeral", "--state-dir"])
        .arg(state.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn bwlab up");
    let mut lab = Running(child);
    let stdout = lab.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    // A hang guard only: the line normally arrives as soon as the lab is up.
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("bwlab up printed its JSON line");
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");

    // The keys scripts rely on (documented in docs/cli.md).
    let dns_ip: IpAddr = v["dns"]["address"].as_str().unwrap().parse().unwrap();
    let dns_port = v["dns"]["port"].as_u64().unwrap() as u16;
    assert_ne!(dns_port, 0);
    let ca = v["ca_bundle"].as_str().expect("ca_bundle path");
    let pem = std::fs::read_to_string(ca).expect("CA bundle exists");
    assert!(pem.contains("BEGIN CERTIFICATE"));
    let nodes = v["nodes"].as_array().unwrap();
    let dns_node = nodes.iter().find(|n| n["role"] == "dns").expect("dns node");
    assert_eq!(dns_node["name"], "dns");
    assert_eq!(dns_node["status"], "running");
    assert!(dns_node["address"].is_string());
    assert!(dns_node["urls"].as_array().is_some_and(|u| !u.is_empty()));
    for n in nodes {
        assert!(n["name"].is_string() && n["role"].is_string() && n["address"].is_string());
    }
    let users = v["users"].as_array().unwrap();
    let alice = users
        .iter()
        .find(|u| u["user_id"] == "alice@lab.example")
        .expect("alice is a default subscriber");
    assert_eq!(alice["password"], "Alice-pw1");
    assert_eq!(v["profile"]["name"], "r24");

    // The DNS server really answers, over UDP and TCP.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let addr = SocketAddr::new(dns_ip, dns_port);
        for proto in [ProtocolConfig::Udp, ProtocolConfig::Tcp] {
            let r = resolver(addr, proto);
            let srv = r
                .lookup("_xsi-client._tcp.xsp-app.lab.example.", RecordType::SRV)
                .await
                .expect("SRV answer");
            assert_eq!(srv.answers().len(), 2);
            let a = r
                .lookup("xsp.lab.example.", RecordType::A)
                .await
                .expect("A answer");
            assert_eq!(a.answers().len(), 2, "cloud name has both XSP addresses");
        }
    });

    // Ctrl-C: the lab stops cleanly and quickly.
    let pid = lab.0.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let status = wait_exit(&mut lab.0, Duration::from_secs(10)).expect("bwlab exits after SIGINT");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn bad_data_file_is_reported_with_position_and_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lab.yaml");
    std::fs::write(
        &file,
        "enterprises:\n  - id: e\n    groups: [{id: g}]\nusers:\n  - userId: a@lab.example\n    group: g\n    firstName: A\n    lastName: B\n    password: pw\n    number: \"5550100\"\n",
    )
    .unwrap();
    let out = bwlab()
        .args(["up", "--ports", "ephemeral", "--data"])
        .arg(&file)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lab.yaml:10:"), "stderr: {err}");
    assert!(err.contains("number"), "stderr: {err}");
}

#[test]
fn unknown_profile_suggests_a_name() {
    let out = bwlab().args(["plan", "--profile", "r2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("available"), "stderr: {err}");
    let out = bwlab().args(["profiles", "show", "r25"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("r24"), "stderr: {err}");
}

#[test]
fn profiles_list_and_diff() {
    let out = bwlab().arg("profiles").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["r22", "r23", "r24", "r22-unpatched"] {
        assert!(text.contains(name), "{name} missing in:\n{text}");
    }
    let out = bwlab()
        .args(["profiles", "diff", "r22", "r24"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("platform"), "{text}");
    let out = bwlab()
        .args(["profiles", "diff", "r22", "r24", "--fail-on-diff"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = bwlab()
        .args(["profiles", "diff", "r24", "r24", "--fail-on-diff"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn pki_export_writes_the_documented_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = bwlab()
        .args(["pki", "export"])
        .arg(dir.path())
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(manifest["ca_bundle"].is_string());
    for f in [
        "ca-bundle.pem",
        "webex/combined-chain.pem",
        "nodes/xsp1/cert.pem",
        "nodes/xsp1/key.pem",
        "nodes/xsp1/chain.pem",
        "devices/001B44113AB8/cert.pem",
        "README.txt",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
}

#[test]
fn plan_json_lists_every_node_with_its_address() {
    let out = bwlab()
        .args(["plan", "--json", "--ports", "wellknown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = plan["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["name"], "dns");
    assert_eq!(nodes[0]["ip"], "127.77.0.1");
    assert!(nodes.iter().any(|n| n["name"] == "xsp1"));
}

#[test]
fn help_has_examples_and_exit_codes() {
    let out = bwlab().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Examples:"));
    assert!(text.contains("Exit codes:"));
    let out = bwlab().arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn closed_stdout_ends_quietly_without_a_panic() {
    let mut child = bwlab()
        .arg("profiles")
        .arg("matrix")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end before the child writes: its writes hit a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn plan_checks_inputs_and_the_base_address() {
    let out = bwlab()
        .args(["plan", "--base", "255.255.255.255"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "users: [\n").unwrap();
    let out = bwlab()
        .arg("plan")
        .arg("--data")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:1:"));
}

#[test]
fn profiles_show_and_diff_speak_json() {
    let out = bwlab()
        .args(["profiles", "show", "r22", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "r22");
    let out = bwlab()
        .args(["profiles", "diff", "r22", "r24", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let _: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = bwlab()
        .args(["profiles", "matrix", "--markdown"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("| r22"));
}

/// `bench events` with tiny numbers: the wiring works end to end (the clients run in a child
/// process, this same `bwlab` binary) and the JSON carries the documented keys (no timing
/// asserted).
#[test]
fn bench_events_json_has_the_documented_keys() {
    let out = bwlab()
        .args([
            "bench",
            "events",
            "--channels",
            "20",
            "--rate",
            "50",
            "--duration",
            "1s",
            "--window",
            "300ms",
            "--workers",
            "4",
            "--json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in [
        "channels_requested",
        "channels_opened",
        "open_seconds",
        "fd_limit",
        "memory_per_channel_kib",
        "includes_client_side",
        "cpu_percent",
        "client_mode",
        "client_fd_limit",
        "client_rss_before_mib",
        "client_rss_open_mib",
        "client_memory_per_channel_kib",
        "client_cpu_percent",
        "client_cpu_user_percent",
        "client_cpu_sys_percent",
        "heartbeats_per_s",
        "target_rate",
        "achieved_rate",
        "latency_p50_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "latency_clock",
        "events_published",
        "events_received",
        "acks",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(v["channels_opened"], 20);
    assert_eq!(v["includes_client_side"], false);
    assert_eq!(v["client_mode"], "child-process");
    // The child reported its own process figures.
    assert!(v["client_rss_open_mib"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["client_fd_limit"].as_u64().unwrap() > 0, "{v}");
    assert!(v["events_received"].as_u64().unwrap() > 0, "{v}");
    // Every event is acknowledged: the bench events plus the initial subscription events.
    assert!(v["acks"].as_u64().unwrap() >= v["events_received"].as_u64().unwrap());
}

// ----- bwlab validate / bwlab schema -------------------------------------------------------

fn run_out(args: &[&str], paths: &[&std::path::Path]) -> (i32, String, String) {
    let out = bwlab()
        .args(args)
        .args(paths)
        .env_remove("NO_COLOR")
        .output()
        .expect("run bwlab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_accepts_the_scenario_library() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let (code, stdout, stderr) = run_out(&["validate"], &[&dir]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("dual-site-failover-app.yaml: ok"),
        "{stdout}"
    );
    assert!(stdout.contains("examples/minimal.yaml: ok"), "{stdout}");
    assert!(stderr.contains("scenario files valid"), "{stderr}");
}

#[test]
fn validate_reports_every_error_with_position_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.yaml");
    std::fs::write(
        &bad,
        "name: broken\ntopology: dual-sit\nsut: {reference: webex-app}\ntimeline:\n  - at: 5\n    fault: {on: xsp1, latency: {latency: 1s, jittr: 2ms}}\n",
    )
    .unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "name: good\nsut: {url: \"https://localhost:9443/\"}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_out(&["validate", "--color", "never"], &[&bad, &good]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let b = bad.display();
    let expected = format!(
        "{b}:2:11: error: topology: unknown built-in topology `dual-sit`\n  = hint: did you mean `dual-site`?\n\
         {b}:5:9: error: timeline[0].at: \"5\" has no unit\n  = hint: write a number with a unit: 250ms, 5s, 2m, 1h, 11d (or a sum like 1m30s)\n\
         {b}:6:46: error: timeline[0].fault.latency.jittr: unknown key `jittr`\n  = hint: did you mean `jitter`?\n"
    );
    assert!(stdout.starts_with(&expected), "{stdout}");
    assert!(stdout.contains("good.yaml: ok"), "{stdout}");
    assert!(
        stderr.contains("2 scenario files checked, 1 invalid, 3 errors"),
        "{stderr}"
    );
    assert!(!stdout.contains('\x1b'), "no colour when asked for none");

    let (code, stdout, _) = run_out(&["validate", "--color", "always", "-q"], &[&bad]);
    assert_eq!(code, 1);
    assert!(stdout.contains("\x1b[1;31merror:\x1b[0m"), "{stdout:?}");
    assert!(
        !stdout.contains(": ok"),
        "--quiet prints only errors: {stdout}"
    );
}

#[test]
fn validate_usage_errors_exit_2() {
    let (code, _, stderr) = run_out(&["validate", "/nonexistent/scenario.yaml"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no such file or directory"), "{stderr}");
    let empty = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_out(&["validate"], &[empty.path()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no scenario files"), "{stderr}");
    let (code, _, _) = run_out(&["validate"], &[]);
    assert_eq!(code, 2, "a path is required");
}

#[test]
fn schema_prints_a_draft_2020_12_json_schema() {
    let (code, stdout, stderr) = run_out(&["schema"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    for key in [
        "name",
        "profiles",
        "topology",
        "subscribers",
        "sut",
        "timeline",
        "expect",
    ] {
        assert!(v["properties"].get(key).is_some(), "{key} missing");
    }
    let (code, compact, _) = run_out(&["schema", "--compact"], &[]);
    assert_eq!(code, 0);
    assert_eq!(compact.lines().count(), 1);
}
