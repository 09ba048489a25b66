//! Pass-through mode: a TCP splice to one backend per client connection; TLS stays end to end.

use std::net::SocketAddr;
use std::sync::Arc;

use bwlab_core::Kind;
use tokio::sync::watch;

use crate::Affinity;
use crate::state::Shared;

pub(crate) async fn splice(
    shared: Arc<Shared>,
    mut client: bwlab_net::faults::ToxicStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let affinity = shared.affinity.read().clone();
    let pinned = match affinity {
        Affinity::Off => None,
        Affinity::Cookie(_) | Affinity::Insert(_) => shared.client_backend(peer.ip()),
    };
    let Some((index, why)) = shared.choose(pinned) else {
        shared
            .journal
            .record(
                Arc::clone(&shared.name),
                Kind::Tls,
                "connection refused: no backend available",
            )
            .peer(peer)
            .attr("backend", "none")
            .attr("outcome", "no-backend")
            .attr("affinity", affinity.as_str())
            .attr("mode", "passthrough")
            .commit();
        return;
    };
    let backend = &shared.backends[index];
    let connected = tokio::time::timeout(
        shared.connect_timeout,
        crate::state::connect_from(shared.source_ip, backend.spec.addr),
    )
    .await;
    let mut upstream = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return journal_splice(&shared, peer, index, why, &affinity, Some(e.to_string()));
        }
        Err(_) => {
            return journal_splice(
                &shared,
                peer,
                index,
                why,
                &affinity,
                Some("connect timed out".into()),
            );
        }
    };
    let _ = upstream.set_nodelay(true);
    if affinity.is_on() {
        shared.pin_client(peer.ip(), index);
    }
    journal_splice(&shared, peer, index, why, &affinity, None);
    tokio::select! {
        r = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
            if let Err(e) = r {
                tracing::debug!(error = %e, %peer, "pass-through connection ended with an error");
            }
        }
        _ = bwlab_net::stopped(&mut stop) => {}
    }
}

fn journal_splice(
    shared: &Shared,
    peer: SocketAddr,
    index: usize,
    why: crate::Why,
    affinity: &Affinity,
    error: Option<String>,
) {
    let backend = &shared.backends[index];
    let outcome = if error.is_some() {
        "backend-unreachable"
    } else {
        "spliced"
    };
    let summary = match &error {
        None => format!("TLS passed through to {} ({})", backend.name, why.as_str()),
        Some(e) => format!("cannot reach {} ({}): {e}", backend.name, why.as_str()),
    };
    let mut record = shared
        .journal
        .record(Arc::clone(&shared.name), Kind::Tls, summary)
        .peer(peer)
        .attr("backend", &*backend.name)
        .attr("why", why.as_str())
        .attr("outcome", outcome)
        .attr("affinity", affinity.as_str())
        .attr("mode", "passthrough");
    if let Some(e) = error {
        record = record.attr("error", e);
    }
    record.commit();
}
