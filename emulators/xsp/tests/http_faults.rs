//! HTTP faults per route (WireMock's vocabulary) on the XSP, seen by a client over real
//! sockets: status and redirect answers, delays on paused tokio time, chunked dribble, and
//! the four faults that break the connection; first-match order, seeded probability,
//! revert, and the journal.

mod common;

use std::time::Duration;

use bwlab_core::{Filter, Kind};
use bwlab_net::http_faults::{
    DelayDist, HttpFaultAction, HttpFaultRule, MALFORMED_CHUNK, RouteMatch,
};
use bwlab_xsi::{ErrorInfo, XsiDocument};
use common::{Client, Lab, SERVER_NAME, basic, user_path};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ALICE: (&str, &str) = ("alice@lab.example", "Alice-pw1");

fn status(status: u16, retry_after: Option<Duration>) -> HttpFaultAction {
    HttpFaultAction::Status {
        status,
        body: None,
        retry_after,
    }
}

async fn alice(lab: &Lab) -> Client {
    lab.client().await.with_auth(ALICE.0, ALICE.1)
}

/// Sends `GET path` by hand (`Connection: close`) and reads until the server closes:
/// the bytes received, and the error that ended the read, if any.
async fn raw_get(lab: &Lab, path: &str) -> (Vec<u8>, Option<std::io::Error>) {
    let tcp = tokio::net::TcpStream::connect(lab.xsp.https_addr())
        .await
        .unwrap();
    let mut io = tokio_rustls::TlsConnector::from(lab.client_config(None))
        .connect(SERVER_NAME.try_into().unwrap(), tcp)
        .await
        .unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {SERVER_NAME}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        basic(ALICE.0, ALICE.1)
    );
    io.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match io.read(&mut buf).await {
            Ok(0) => return (out, None),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Some(e)),
        }
    }
}

/// The head and the chunks of a chunked response.
fn split_chunked(raw: &[u8]) -> (String, Vec<Vec<u8>>) {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut rest = &raw[end..];
    let mut chunks = Vec::new();
    loop {
        let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap(), 16).unwrap();
        rest = &rest[nl + 2..];
        if size == 0 {
            break;
        }
        chunks.push(rest[..size].to_vec());
        rest = &rest[size + 2..];
    }
    (head, chunks)
}

#[tokio::test]
async fn status_fault_answers_error_info_with_retry_after_and_is_journalled() {
    let lab = Lab::start().await;
    let path = user_path(ALICE.0, "profile");
    lab.xsp.http_faults().add(
        HttpFaultRule::new(status(503, Some(Duration::from_secs(30)))).route(
            RouteMatch::any()
                .method("GET")
                .path("/com.broadsoft.xsi-actions/*/profile"),
        ),
    );
    let mut c = alice(&lab).await;
    let r = c.get(&path).await;
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.header("retry-after"), Some("30"));
    let info = ErrorInfo::from_xml(&r.body).expect("a schema-shaped ErrorInfo");
    assert_eq!(info.error_code, 5001);
    // Other routes and methods are served normally.
    assert_eq!(c.get(&user_path(ALICE.0, "services")).await.status, 200);
    // JSON clients get the ErrorInfo in JSON; a status outside the catalogue gets the
    // lab's fault code.
    lab.xsp.http_faults().clear();
    lab.xsp
        .http_faults()
        .add(HttpFaultRule::new(status(429, None)));
    let r = c.get(&format!("{path}?format=json")).await;
    assert_eq!(r.status, 429);
    assert!(
        r.text().contains(&bwlab_xsp::HTTP_FAULT_CODE.to_string()),
        "{r:?}"
    );
    assert!(r.header("content-type").unwrap().contains("json"), "{r:?}");
    // A given body replaces the ErrorInfo.
    lab.xsp.http_faults().clear();
    lab.xsp
        .http_faults()
        .add(HttpFaultRule::new(HttpFaultAction::Status {
            status: 500,
            body: Some("<html>oops</html>".into()),
            retry_after: None,
        }));
    let r = c.get(&path).await;
    assert_eq!((r.status, r.text().as_str()), (500, "<html>oops</html>"));

    // The request entries carry the status actually sent, and the fault applied.
    let reqs = lab
        .journal
        .query(&Filter::kind(Kind::Http).attr("fault", "http_status"));
    let statuses: Vec<_> = reqs.iter().map(|e| e.attr("status").unwrap()).collect();
    assert_eq!(statuses, ["503", "429", "500"]);
    assert_eq!(reqs[0].attr("path"), Some(path.as_str()));
    assert_eq!(&*reqs[0].node, "xsp1");
    let applied = lab.journal.query(
        &Filter::kind(Kind::Fault)
            .attr("fault", "http_status")
            .attr("action", "applied"),
    );
    assert_eq!(applied.len(), 3);
    assert_eq!(applied[0].attr("method"), Some("GET"));
    assert_eq!(applied[0].attr("path"), Some(path.as_str()));
    assert_eq!(applied[0].attr("user"), Some(ALICE.0));
}

#[tokio::test]
async fn redirect_answers_location_and_remove_restores_service() {
    let lab = Lab::start().await;
    let path = user_path(ALICE.0, "profile");
    let id = lab
        .xsp
        .http_faults()
        .add(HttpFaultRule::new(HttpFaultAction::Redirect {
            location: "https://xsp2.lab.example/com.broadsoft.xsi-actions".into(),
            status: 307,
        }));
    let mut c = alice(&lab).await;
    let r = c.get(&path).await;
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("location"),
        Some("https://xsp2.lab.example/com.broadsoft.xsi-actions")
    );
    assert!(lab.xsp.http_faults().remove(id));
    assert!(lab.xsp.http_faults().rules().is_empty());
    assert_eq!(c.get(&path).await.status, 200);
    let reverted = lab
        .journal
        .query(&Filter::kind(Kind::Fault).attr("action", "reverted"));
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].attr("fault"), Some("http_redirect"));
}

#[tokio::test]
async fn reset_is_a_connection_reset() {
    let lab = Lab::start().await;
    lab.xsp
        .http_faults()
        .add(HttpFaultRule::new(HttpFaultAction::Reset));
    let (got, err) = raw_get(&lab, &user_path(ALICE.0, "profile")).await;
    assert!(got.is_empty());
    let err = err.expect("the read fails");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err:?}");
    // A hyper client sees an error too, and the request is journalled without a status.
    let mut c = alice(&lab).await;
    assert!(
        c.request(hyper::Method::GET, "/x", &[], bytes::Bytes::new())
            .await
            .is_err()
    );
    let reqs = lab
        .journal
        .query(&Filter::kind(Kind::Http).attr("fault", "connection_reset_by_peer"));
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|e| e.attr("status").is_none()));
}

#[tokio::test]
async fn empty_response_closes_without_a_byte() {
    let lab = Lab::start().await;
    lab.xsp
        .http_faults()
        .add(HttpFaultRule::new(HttpFaultAction::EmptyResponse));
    let (got, _) = raw_get(&lab, &user_path(ALICE.0, "profile")).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    let mut c = alice(&lab).await;
    let e = c
        .request(hyper::Method::GET, "/x", &[], bytes::Bytes::new())
        .await
        .unwrap_err();
    assert!(e.is_incomplete_message() || e.is_closed(), "{e:?}");
}

#[tokio::test]
async fn malformed_chunk_sends_a_head_then_garbage() {
    let lab = Lab::start().await;
    lab.xsp
        .http_faults()
        .add(HttpFaultRule::new(HttpFaultAction::MalformedChunk));
    let (got, _) = raw_get(&lab, &user_path(ALICE.0, "profile")).await;
    assert_eq!(got, MALFORMED_CHUNK);
    // A client gets the head, then fails on the body.
    let mut c = alice(&lab).await;
    let e = c
        .request(hyper::Method::GET, "/x", &[], bytes::Bytes::new())
        .await
        .unwrap_err();
    assert!(
        !e.is_incomplete_message(),
        "a parse error, not a cut: {e:?}"
    );
}

#[tokio::test]
async fn random_data_then_close_replays_with_the_seed() {
    let lab = Lab::start().await;
    let f = lab.xsp.http_faults();
    f.add(HttpFaultRule::new(HttpFaultAction::RandomDataThenClose));
    f.reseed(42);
    let (a, _) = raw_get(&lab, "/x").await;
    f.reseed(42);
    let (b, _) = raw_get(&lab, "/x").await;
    assert!(a.len() >= 64);
    assert_eq!(a, b);
    assert!(!a.starts_with(b"HTTP/1.1"));
    let mut c = alice(&lab).await;
    assert!(
        c.request(hyper::Method::GET, "/x", &[], bytes::Bytes::new())
            .await
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn delay_waits_on_tokio_time_then_serves() {
    let lab = Lab::start().await;
    let path = user_path(ALICE.0, "profile");
    lab.xsp.http_faults().add(
        HttpFaultRule::new(HttpFaultAction::Delay(DelayDist::Fixed(
            Duration::from_millis(2500),
        )))
        .route(RouteMatch::any().user(ALICE.0)),
    );
    let mut c = alice(&lab).await;
    let t0 = tokio::time::Instant::now();
    assert_eq!(c.get(&path).await.status, 200);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(4),
        "{took:?}"
    );
    // Another user's requests are not delayed.
    let mut bob = lab.client().await.with_auth("bob@lab.example", "Bob-pw1");
    let t0 = tokio::time::Instant::now();
    assert_eq!(
        bob.get(&user_path("bob@lab.example", "profile"))
            .await
            .status,
        200
    );
    assert!(t0.elapsed() < Duration::from_secs(1));
    let e = lab.journal.query(
        &Filter::kind(Kind::Fault)
            .attr("fault", "response_delay")
            .attr("action", "applied"),
    );
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].attr("delay_ms"), Some("2500"));
    let r = lab
        .journal
        .query(&Filter::kind(Kind::Http).attr("fault", "response_delay"));
    assert_eq!(r[0].attr("status"), Some("200"));
}

#[tokio::test(start_paused = true)]
async fn chunked_dribble_delivers_the_whole_body_in_pieces() {
    let lab = Lab::start().await;
    let path = user_path(ALICE.0, "profile");
    let normal = alice(&lab).await.get(&path).await;
    assert_eq!(normal.status, 200);
    lab.xsp
        .http_faults()
        .add(HttpFaultRule::new(HttpFaultAction::ChunkedDribble {
            chunks: 4,
            total: Duration::from_secs(2),
        }));
    let t0 = tokio::time::Instant::now();
    let (raw, _) = raw_get(&lab, &path).await;
    let took = t0.elapsed();
    let (head, chunks) = split_chunked(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunks.concat(), normal.body.to_vec());
    assert!(took >= Duration::from_secs(2), "{took:?}");
    // A regular client reads the same document.
    let r = alice(&lab).await.get(&path).await;
    assert_eq!(r.body, normal.body);
}

#[tokio::test]
async fn first_match_wins_and_probability_replays() {
    let lab = Lab::start().await;
    let f = lab.xsp.http_faults();
    f.add(HttpFaultRule::new(status(500, None)).route(RouteMatch::any().path("*/profile")));
    f.add(HttpFaultRule::new(status(502, None)));
    let mut c = alice(&lab).await;
    assert_eq!(c.get(&user_path(ALICE.0, "profile")).await.status, 500);
    assert_eq!(c.get(&user_path(ALICE.0, "services")).await.status, 502);
    f.clear();

    // Half the requests get 503, the others fall through to normal service; the same
    // seed gives the same sequence.
    f.add(HttpFaultRule::new(status(503, None)).probability(0.5));
    let mut run = async |seed| {
        f.reseed(seed);
        let mut out = Vec::new();
        for _ in 0..24 {
            out.push(c.get(&user_path(ALICE.0, "profile")).await.status);
        }
        out
    };
    let a = run(7).await;
    let b = run(7).await;
    assert_eq!(a, b);
    let hits = a.iter().filter(|s| **s == 503).count();
    assert!((4..=20).contains(&hits), "{a:?}");
    assert!(a.iter().all(|s| *s == 503 || *s == 200));
}
