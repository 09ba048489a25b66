//! HTTP faults per route on the fake cloud hosts (one rule set per host).

mod common;

use std::time::Duration;

use bwlab_cloud::PATH_TOKEN_INFO;
use bwlab_core::{Filter, Kind};
use bwlab_net::http_faults::{HttpFaultAction, HttpFaultRule, RouteMatch};
use bytes::Bytes;
use common::{CI_EU, CI_US, Lab, request};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// `POST PATH_TOKEN_INFO` on `host`: status, headers, body.
async fn token_info(lab: &Lab, host: &str) -> std::io::Result<(u16, hyper::HeaderMap, Bytes)> {
    let tcp = tokio::net::TcpStream::connect(lab.cloud.addr(host).unwrap()).await?;
    let tls = tokio_rustls::TlsConnector::from(lab.tls())
        .connect(host.to_owned().try_into().unwrap(), tcp)
        .await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::builder()
        .method(Method::POST)
        .uri(PATH_TOKEN_INFO)
        .header("host", host)
        .header(FORM.0, FORM.1)
        .body(Full::new(Bytes::from_static(b"access_token=nope")))
        .unwrap();
    let resp = sender
        .send_request(req)
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok((parts.status.as_u16(), parts.headers, body))
}

#[tokio::test]
async fn status_and_reset_on_one_host_only() {
    let lab = Lab::start().await;
    let us = lab.cloud.http_faults(CI_US).expect("host is served");
    assert!(lab.cloud.http_faults("nowhere.example").is_none());
    let normal = token_info(&lab, CI_US).await.unwrap();

    let id = us.add(
        HttpFaultRule::new(HttpFaultAction::Status {
            status: 503,
            body: None,
            retry_after: Some(Duration::from_secs(5)),
        })
        .route(RouteMatch::any().method("POST").path(PATH_TOKEN_INFO)),
    );
    let (status, headers, body) = token_info(&lab, CI_US).await.unwrap();
    assert_eq!(status, 503);
    assert_eq!(headers.get("retry-after").unwrap(), "5");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "service_unavailable");
    // The EU host has its own (empty) rule set.
    assert_eq!(token_info(&lab, CI_EU).await.unwrap().0, normal.0);
    us.remove(id);

    us.add(HttpFaultRule::new(HttpFaultAction::Reset));
    let e = request(
        lab.tls(),
        lab.cloud.addr(CI_US).unwrap(),
        CI_US,
        Method::POST,
        PATH_TOKEN_INFO,
        &[FORM],
        b"access_token=nope",
    )
    .await
    .unwrap_err();
    assert!(!e.to_string().is_empty());
    us.clear();
    assert_eq!(token_info(&lab, CI_US).await.unwrap().0, normal.0);

    let http = lab.journal.query(
        &Filter::kind(Kind::Http)
            .attr("host", CI_US)
            .attr("fault", "http_status"),
    );
    assert_eq!(http.len(), 1);
    assert_eq!(http[0].attr("status"), Some("503"));
    let applied = lab
        .journal
        .query(&Filter::kind(Kind::Fault).attr("action", "applied"));
    let kinds: Vec<_> = applied.iter().map(|e| e.attr("fault").unwrap()).collect();
    assert_eq!(kinds, ["http_status", "connection_reset_by_peer"]);
    assert!(applied.iter().all(|e| e.attr("host") == Some(CI_US)));
}

#[tokio::test(start_paused = true)]
async fn dribble_and_redirect_on_a_cloud_host() {
    let lab = Lab::start().await;
    let normal = token_info(&lab, CI_US).await.unwrap();
    let f = lab.cloud.http_faults(CI_US).unwrap();
    let id = f.add(HttpFaultRule::new(HttpFaultAction::ChunkedDribble {
        chunks: 3,
        total: Duration::from_secs(3),
    }));
    let t0 = tokio::time::Instant::now();
    let (status, headers, body) = token_info(&lab, CI_US).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(3));
    assert_eq!(status, normal.0);
    assert_eq!(headers.get("transfer-encoding").unwrap(), "chunked");
    assert_eq!(body, normal.2);
    f.remove(id);
    f.add(HttpFaultRule::new(HttpFaultAction::Redirect {
        location: "https://idbroker-eu.webex.com/idb/oauth2/v1/tokeninfo".into(),
        status: 302,
    }));
    let (status, headers, _) = token_info(&lab, CI_US).await.unwrap();
    assert_eq!(status, 302);
    assert_eq!(
        headers.get("location").unwrap(),
        "https://idbroker-eu.webex.com/idb/oauth2/v1/tokeninfo"
    );
}
