//! Health checks: one round over every backend per interval, transitions journalled.

use std::sync::Arc;

use bwlab_core::Kind;
use http_body_util::Empty;
use hyper::Request;
use hyper::header::HOST;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::state::{Backend, Shared};
use crate::{HealthCheck, Probe};

pub(crate) async fn run(shared: Arc<Shared>, check: HealthCheck, mut stop: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(check.interval.max(std::time::Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = bwlab_net::stopped(&mut stop) => return,
            _ = ticks.tick() => {}
        }
        let mut round = JoinSet::new();
        for index in 0..shared.backends.len() {
            let shared = Arc::clone(&shared);
            let check = check.clone();
            round.spawn(async move {
                let backend = &shared.backends[index];
                let result =
                    tokio::time::timeout(check.timeout, probe(&shared, backend, &check.probe))
                        .await
                        .unwrap_or_else(|_| Err("probe timed out".to_owned()));
                (index, result)
            });
        }
        while let Some(done) = tokio::select! {
            _ = bwlab_net::stopped(&mut stop) => return,
            r = round.join_next() => r,
        } {
            let Ok((index, result)) = done else { continue };
            record(&shared, &shared.backends[index], &check.probe, result);
        }
    }
}

fn record(shared: &Shared, backend: &Backend, probe: &Probe, result: Result<(), String>) {
    let healthy = result.is_ok();
    if !backend.set_healthy(healthy) {
        return;
    }
    let state = if healthy { "up" } else { "down" };
    let probe_name = match probe {
        Probe::Tcp => "tcp",
        Probe::Http { .. } => "http",
    };
    let summary = match &result {
        Ok(()) => format!("backend {} marked up by health check", backend.name),
        Err(e) => format!("backend {} marked down by health check: {e}", backend.name),
    };
    let mut entry = shared
        .journal
        .record(Arc::clone(&shared.name), Kind::Lab, summary)
        .attr("backend", &*backend.name)
        .attr("state", state)
        .attr("source", "health")
        .attr("probe", probe_name);
    if let Err(e) = result {
        entry = entry.attr("error", e);
    }
    entry.commit();
}

async fn probe(shared: &Shared, backend: &Backend, probe: &Probe) -> Result<(), String> {
    match probe {
        Probe::Tcp => crate::state::connect_from(shared.source_ip, backend.spec.addr)
            .await
            .map(drop)
            .map_err(|e| format!("connect to {}: {e}", backend.spec.addr)),
        Probe::Http { path } => {
            let tls = crate::proxy::connect_tls(shared, backend).await?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| format!("HTTP handshake: {e}"))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let req = Request::get(path.as_str())
                .header(HOST, backend.spec.server_name.as_str())
                .body(Empty::<bytes::Bytes>::new())
                .map_err(|e| format!("health request: {e}"))?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("GET {path}: {e}"))?;
            if resp.status().as_u16() < 500 {
                Ok(())
            } else {
                Err(format!("GET {path} answered {}", resp.status()))
            }
        }
    }
}
