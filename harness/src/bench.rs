//! `bwlab bench xsi`: a load generator for an XSP's Xsi-Actions. N clients each keep one TLS
//! connection alive and send requests back to back for a fixed time; the result is
//! throughput and latency percentiles per operation.
//!
//! It measures an in-process lab by default (server and clients share the machine, as a
//! developer's laptop or CI would), or any XSP given with `--url`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Serialize;

/// Which request each client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// `GET user/{u}/profile`.
    GetProfile,
    /// `PUT user/{u}/services/DoNotDisturb`, toggling `active`.
    PutDnd,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::GetProfile => "GET profile",
            Op::PutDnd => "PUT DoNotDisturb",
        }
    }
}

/// What to load and how hard.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub addr: SocketAddr,
    /// TLS server name (SNI and certificate check).
    pub server_name: String,
    pub trust: Vec<CertificateDer<'static>>,
    pub user: String,
    pub password: String,
    pub clients: usize,
    pub duration: Duration,
    pub ops: Vec<Op>,
}

/// Result of one operation's run.
#[derive(Clone, Debug, Serialize)]
pub struct OpResult {
    pub op: Op,
    pub clients: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl std::fmt::Display for OpResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<18} {:>3} clients  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} requests, {} errors)",
            self.op.label(),
            self.clients,
            self.per_second,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.requests,
            self.errors
        )
    }
}

/// Runs each operation in turn; `progress` is called about once a second with the running
/// request count so a terminal can show that something is happening.
pub async fn run(
    config: &BenchConfig,
    mut progress: impl FnMut(Op, u64, Duration),
) -> Result<Vec<OpResult>, String> {
    let tls = bwlab_pki::client_config(&bwlab_pki::ClientOptions::new(config.trust.clone()))
        .map_err(|e| e.to_string())?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", config.user, config.password))
    );
    let mut results = Vec::new();
    for &op in &config.ops {
        let done = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + config.duration;
        let mut tasks = Vec::with_capacity(config.clients);
        for _ in 0..config.clients {
            let tls = tls.clone();
            let auth = auth.clone();
            let cfg = config.clone();
            let done = done.clone();
            tasks.push(tokio::spawn(async move {
                client_loop(cfg, tls, auth, op, deadline, done).await
            }));
        }
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.tick().await;
        while tokio::time::Instant::now() < deadline {
            ticker.tick().await;
            progress(op, done.load(Ordering::Relaxed), started.elapsed());
        }
        let mut latencies: Vec<u32> = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (lat, err) = t.await.map_err(|e| e.to_string())??;
            latencies.extend(lat);
            errors += err;
        }
        let seconds = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let pct = |p: f64| -> f64 {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
            f64::from(latencies[i]) / 1000.0
        };
        results.push(OpResult {
            op,
            clients: config.clients,
            seconds,
            requests: latencies.len() as u64,
            errors,
            per_second: latencies.len() as f64 / seconds,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
        });
    }
    Ok(results)
}

/// One keep-alive connection sending requests until the deadline. Latencies in µs.
async fn client_loop(
    cfg: BenchConfig,
    tls: Arc<rustls::ClientConfig>,
    auth: String,
    op: Op,
    deadline: tokio::time::Instant,
    done: Arc<AtomicU64>,
) -> Result<(Vec<u32>, u64), String> {
    let tcp = tokio::net::TcpStream::connect(cfg.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", cfg.addr))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(cfg.server_name.clone()).map_err(|e| e.to_string())?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let base = format!("/com.broadsoft.xsi-actions/v2.0/user/{}", cfg.user);
    let profile_path = format!("{base}/profile");
    let dnd_path = format!("{base}/services/DoNotDisturb");
    let mut latencies = Vec::with_capacity(4096);
    let mut errors = 0u64;
    let mut active = false;
    while tokio::time::Instant::now() < deadline {
        let req = match op {
            Op::GetProfile => Request::get(profile_path.as_str())
                .header("host", cfg.server_name.as_str())
                .header("authorization", auth.as_str())
                .body(Full::new(Bytes::new())),
            Op::PutDnd => {
                active = !active;
                let body = if active { DND_ON } else { DND_OFF };
                Request::put(dnd_path.as_str())
                    .header("host", cfg.server_name.as_str())
                    .header("authorization", auth.as_str())
                    .header("content-type", "application/xml")
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
            }
        }
        .map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        match sender.send_request(req).await {
            Ok(resp) => {
                let ok = resp.status().is_success();
                // Read the whole body: a real client does, and keep-alive needs it.
                let _ = resp.into_body().collect().await;
                let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                if ok {
                    latencies.push(us);
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors += 1;
                }
            }
            Err(e) => return Err(format!("request failed: {e}")),
        }
    }
    Ok((latencies, errors))
}

const DND_ON: &str = r#"<?xml version="1.0" encoding="UTF-8"?><DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>true</active></DoNotDisturb>"#;
const DND_OFF: &str = r#"<?xml version="1.0" encoding="UTF-8"?><DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>false</active></DoNotDisturb>"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator works end to end against a real lab (a smoke test: no timing asserted).
    #[tokio::test]
    async fn drives_a_lab_xsp() {
        let lab = crate::Lab::builder().start().await.unwrap();
        let (_, xsp) = lab.xsps().next().unwrap();
        let config = BenchConfig {
            addr: xsp.https_addr(),
            server_name: "xsp.lab.example".into(),
            trust: lab.pki().lab_trust_bundle(),
            user: "alice@lab.example".into(),
            password: "Alice-pw1".into(),
            clients: 2,
            duration: Duration::from_millis(300),
            ops: vec![Op::GetProfile, Op::PutDnd],
        };
        let results = run(&config, |_, _, _| {}).await.unwrap();
        assert_eq!(results.len(), 2);
        for r in &results {
            assert!(r.requests > 0, "{r}");
            assert_eq!(r.errors, 0, "{r}");
        }
        lab.shutdown().await;
    }
}
