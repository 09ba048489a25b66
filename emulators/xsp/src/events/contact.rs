//! HTTP-contact delivery: one POST per event to the subscription's `httpContact/uri`.
//!
//! The receiver's `200 OK` is the acknowledgement (headers and body are ignored). POSTs run
//! in their own tasks, bounded by a semaphore: when every slot is busy the event is refused
//! as overflow instead of queueing without limit.

use std::sync::Arc;
use std::time::Duration;

use bwlab_appserver::{Delivery, Notification};
use bwlab_core::Kind;
use bwlab_pki::rustls::ClientConfig;
use bwlab_pki::rustls::pki_types::ServerName;
use bwlab_xsi::documents::events::{ContactUrl, Scheme};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;

use super::EventsSettings;
use crate::Shared;

pub(crate) struct ContactClient {
    slots: Arc<Semaphore>,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
}

impl ContactClient {
    pub(crate) fn new(settings: &EventsSettings) -> Self {
        let tls = (!settings.http_contact_trust.is_empty())
            .then(|| {
                bwlab_pki::client_config(&bwlab_pki::ClientOptions::new(
                    settings.http_contact_trust.clone(),
                ))
                .ok()
            })
            .flatten();
        ContactClient {
            slots: Arc::new(Semaphore::new(settings.http_contact_concurrency.max(1))),
            tls,
            timeout: settings.http_contact_timeout,
        }
    }

    /// Starts the POST; never blocks.
    pub(crate) fn post(
        &self,
        shared: &Arc<Shared>,
        uri: &str,
        body: Bytes,
        n: &Notification,
    ) -> Delivery {
        let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() else {
            journal(shared, uri, n, "overflow", None);
            return Delivery::QueueFull;
        };
        let url = match ContactUrl::parse(uri) {
            Ok(u) => u,
            Err(e) => {
                journal(shared, uri, n, "bad-uri", Some(e.to_string()));
                return Delivery::NotHere;
            }
        };
        let tls = self.tls.clone();
        let timeout = self.timeout;
        let shared = Arc::clone(shared);
        let uri = uri.to_owned();
        let event_type = n.data.kind().type_name();
        let meta = (
            n.event_id.clone(),
            n.sequence_number,
            n.subscription_id.clone(),
        );
        tokio::spawn(async move {
            let _permit = permit;
            let result = tokio::time::timeout(timeout, send(&url, tls, body))
                .await
                .unwrap_or_else(|_| Err("timed out".into()));
            let (outcome, detail) = match result {
                Ok(status) if (200..300).contains(&status) => ("delivered", status.to_string()),
                Ok(status) => ("refused", status.to_string()),
                Err(e) => ("failed", e),
            };
            shared
                .journal
                .record(
                    Arc::clone(&shared.name),
                    Kind::Event,
                    format!("{event_type} #{} → {uri}: {outcome} ({detail})", meta.1),
                )
                .attr("direction", "out")
                .attr("event_type", event_type)
                .attr("event_id", meta.0.to_string())
                .attr("sequence", meta.1.to_string())
                .attr("subscription", meta.2.to_string())
                .attr("http_contact", uri)
                .attr("outcome", outcome)
                .attr("detail", detail)
                .commit();
        });
        Delivery::Delivered
    }
}

fn journal(shared: &Shared, uri: &str, n: &Notification, outcome: &'static str, e: Option<String>) {
    let mut rec = shared
        .journal
        .record(
            Arc::clone(&shared.name),
            Kind::Event,
            format!(
                "{} #{} → {uri}: {outcome}",
                n.data.kind().type_name(),
                n.sequence_number
            ),
        )
        .attr("direction", "out")
        .attr("event_id", n.event_id.to_string())
        .attr("http_contact", uri.to_owned())
        .attr("outcome", outcome);
    if let Some(e) = e {
        rec = rec.attr("detail", e);
    }
    rec.commit();
}

async fn send(
    url: &ContactUrl,
    tls: Option<Arc<ClientConfig>>,
    body: Bytes,
) -> Result<u16, String> {
    let port = url.port();
    let tcp = tokio::net::TcpStream::connect((url.host.as_str(), port))
        .await
        .map_err(|e| format!("connect {}:{port}: {e}", url.host))?;
    match url.scheme {
        Scheme::Http => exchange(tcp, url, body).await,
        Scheme::Https => {
            let tls = tls.ok_or("no trust anchors for https contacts")?;
            let name = ServerName::try_from(url.host.clone()).map_err(|e| e.to_string())?;
            let stream = tokio_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            exchange(stream, url, body).await
        }
    }
}

async fn exchange<S>(io: S, url: &ContactUrl, body: Bytes) -> Result<u16, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let host = match url.explicit_port {
        Some(p) => format!("{}:{p}", url.host),
        None => url.host.clone(),
    };
    let req = Request::post(url.path.as_str())
        .header("host", host)
        .header("content-type", "application/xml; charset=UTF-8")
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    Ok(resp.status().as_u16())
}
