//! The load balancer over real sockets, in front of small in-test HTTPS backends.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bwlab_core::{Filter, Journal, Kind, LabClock};
use bwlab_lb::{Affinity, HealthCheck, LbHandle, LoadBalancer, Mode, Policy};
use bwlab_pki::rustls::pki_types::ServerName;
use bwlab_pki::{ClientOptions, LabPki, NodeSpec, PkiConfig, ServerOptions};
use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{COOKIE, HOST, LOCATION, SET_COOKIE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

fn pki() -> LabPki {
    let now = time::OffsetDateTime::now_utc();
    let config = PkiConfig::new("xsp.lab.example", now)
        .with_node(NodeSpec::new("lb", "lb.lab.example"))
        .with_node(NodeSpec::new("xsp1", "xsp1.lab.example"))
        .with_node(NodeSpec::new("xsp2", "xsp2.lab.example"))
        .with_node(NodeSpec::new("xsp3", "xsp3.lab.example"));
    LabPki::generate(config).expect("lab PKI")
}

type TestBody = BoxBody<Bytes, Infallible>;

/// A tiny HTTPS backend: answers its name, sets `JSESSIONID` when the request has none, and
/// on `/stream` answers a chunked body fed by the test.
struct TestBackend {
    name: &'static str,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    streams: mpsc::UnboundedReceiver<Sender<Bytes>>,
}

impl TestBackend {
    async fn start(pki: &LabPki, name: &'static str) -> TestBackend {
        Self::start_at(pki, name, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    async fn start_at(pki: &LabPki, name: &'static str, addr: SocketAddr) -> TestBackend {
        let tls = bwlab_pki::server_config(pki.node(name).unwrap(), &ServerOptions::default())
            .expect("backend TLS");
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let tcp = TcpListener::bind(addr).await.expect("bind backend");
        let addr = tcp.local_addr().unwrap();
        let (stop, stop_rx) = watch::channel(false);
        let (stream_tx, streams) = mpsc::unbounded_channel();
        let sessions = Arc::new(AtomicUsize::new(0));
        let limits = bwlab_net::AcceptLimits {
            max_connections: 64,
            drain_timeout: Duration::from_millis(100),
        };
        let conn_stop = stop_rx.clone();
        let task = tokio::spawn(bwlab_net::accept_loop(
            tcp,
            limits,
            stop_rx,
            move |tcp, peer| {
                let acceptor = acceptor.clone();
                let stop = conn_stop.clone();
                let sessions = Arc::clone(&sessions);
                let stream_tx = stream_tx.clone();
                async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |req: Request<Incoming>| {
                        let sessions = Arc::clone(&sessions);
                        let stream_tx = stream_tx.clone();
                        async move {
                            Ok::<_, Infallible>(answer(name, &sessions, &stream_tx, req).await)
                        }
                    });
                    let timeouts = bwlab_net::HttpTimeouts {
                        header_read: Duration::from_secs(30),
                        drain: Duration::from_millis(100),
                    };
                    bwlab_net::serve_http1(tls, service, peer, timeouts, stop).await;
                }
            },
        ));
        TestBackend {
            name,
            addr,
            stop,
            task,
            streams,
        }
    }

    fn spec(&self) -> (&'static str, SocketAddr, String) {
        (self.name, self.addr, format!("{}.lab.example", self.name))
    }

    /// Stops and waits until the listener is closed.
    async fn stop(self) -> SocketAddr {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
        self.addr
    }
}

async fn answer(
    name: &'static str,
    sessions: &AtomicUsize,
    streams: &mpsc::UnboundedSender<Sender<Bytes>>,
    req: Request<Incoming>,
) -> Response<TestBody> {
    if req.uri().path() == "/stream" {
        let (tx, body) = Channel::<Bytes>::new(4);
        let _ = streams.send(tx);
        return Response::builder()
            .header("x-backend", name)
            .body(body.boxed())
            .unwrap();
    }
    if req.uri().path() == "/echo" {
        let body = req.into_body().collect().await.unwrap().to_bytes();
        return Response::builder()
            .status(StatusCode::CREATED)
            .header("x-backend", name)
            .header("x-echo", body.len().to_string())
            .body(Full::new(body).boxed())
            .unwrap();
    }
    let has_session = req
        .headers()
        .get_all(COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap_or("").contains("JSESSIONID="));
    let mut resp = Response::builder().header("x-backend", name);
    if !has_session {
        let n = sessions.fetch_add(1, Ordering::Relaxed);
        resp = resp.header(SET_COOKIE, format!("JSESSIONID={name}-{n}; Path=/; Secure"));
    }
    resp.body(Full::new(Bytes::from(name)).boxed()).unwrap()
}

/// A keep-alive HTTPS client of the LB.
struct Client {
    sender: SendRequest<Empty<Bytes>>,
    cookie: Option<String>,
}

impl Client {
    async fn connect(pki: &LabPki, addr: SocketAddr, server_name: &str) -> Client {
        let (sender, _) = connect_raw(pki, addr, server_name).await;
        Client {
            sender,
            cookie: None,
        }
    }

    /// GET `path`, keeping the session cookie like a browser; returns status, `x-backend`
    /// and the response (body unread).
    async fn get_response(&mut self, path: &str) -> Response<Incoming> {
        let mut req = Request::get(path).header(HOST, "lb.lab.example");
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c.as_str());
        }
        let resp = self
            .sender
            .send_request(req.body(Empty::new()).unwrap())
            .await
            .expect("response");
        if let Some(v) = resp.headers().get(SET_COOKIE) {
            let pair = v.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        resp
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let resp = self.get_response(path).await;
        let status = resp.status();
        let backend = resp
            .headers()
            .get("x-backend")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        if !backend.is_empty() {
            assert_eq!(body, backend.as_bytes());
        }
        (status, backend)
    }
}

async fn connect_raw(
    pki: &LabPki,
    addr: SocketAddr,
    server_name: &str,
) -> (SendRequest<Empty<Bytes>>, Vec<u8>) {
    let tls = bwlab_pki::client_config(&ClientOptions::new(pki.lab_trust_bundle())).unwrap();
    let tcp = TcpStream::connect(addr).await.expect("connect to LB");
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from(server_name.to_owned()).unwrap(), tcp)
        .await
        .expect("TLS with LB");
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    (sender, leaf)
}

async fn lb(
    pki: &LabPki,
    backends: &[&TestBackend],
    configure: impl FnOnce(bwlab_lb::LbBuilder) -> bwlab_lb::LbBuilder,
) -> LbHandle {
    let builder = LoadBalancer::builder("lb1")
        .backends(backends.iter().map(|b| b.spec()))
        .identity(pki.node("lb").unwrap().clone())
        .trust(pki.lab_trust_bundle());
    configure(builder).start().await.expect("LB starts")
}

fn http_entries(lb: &LbHandle) -> Vec<Arc<bwlab_core::Entry>> {
    lb.journal().query(&Filter::kind(Kind::Http).node("lb1"))
}

#[tokio::test]
async fn round_robin_spreads_requests_in_order() {
    let pki = pki();
    let (b1, b2, b3) = (
        TestBackend::start(&pki, "xsp1").await,
        TestBackend::start(&pki, "xsp2").await,
        TestBackend::start(&pki, "xsp3").await,
    );
    let lb = lb(&pki, &[&b1, &b2, &b3], |b| {
        b.affinity(Affinity::Off).policy(Policy::RoundRobin)
    })
    .await;
    let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        let (status, backend) = client
            .get("/com.broadsoft.xsi-actions/v2.0/user/alice")
            .await;
        assert_eq!(status, StatusCode::OK);
        seen.push(backend);
    }
    assert_eq!(seen, ["xsp1", "xsp2", "xsp3", "xsp1", "xsp2", "xsp3"]);
    let entries = http_entries(&lb);
    assert_eq!(entries.len(), 6);
    let e = &entries[0];
    assert_eq!(e.attr("method"), Some("GET"));
    assert_eq!(
        e.attr("path"),
        Some("/com.broadsoft.xsi-actions/v2.0/user/alice")
    );
    assert_eq!(e.attr("status"), Some("200"));
    assert_eq!(e.attr("backend"), Some("xsp1"));
    assert_eq!(e.attr("why"), Some("round-robin"));
    assert_eq!(e.attr("affinity"), Some("off"));
    lb.shutdown().await;
}

#[tokio::test]
async fn random_policy_replays_with_its_seed() {
    let pki = pki();
    let (b1, b2) = (
        TestBackend::start(&pki, "xsp1").await,
        TestBackend::start(&pki, "xsp2").await,
    );
    let mut runs = Vec::new();
    for _ in 0..2 {
        let lb = lb(&pki, &[&b1, &b2], |b| {
            b.affinity(Affinity::Off)
                .policy(Policy::Random { seed: 42 })
        })
        .await;
        let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
        let mut seen = Vec::new();
        for _ in 0..12 {
            seen.push(client.get("/").await.1);
        }
        assert!(
            http_entries(&lb)
                .iter()
                .all(|e| e.attr("why") == Some("random"))
        );
        lb.shutdown().await;
        runs.push(seen);
    }
    assert_eq!(runs[0], runs[1], "same seed, same choices");
    assert!(runs[0].contains(&"xsp1".to_owned()) && runs[0].contains(&"xsp2".to_owned()));
}

#[tokio::test]
async fn cookie_affinity_pins_a_client_and_its_absence_spreads_it() {
    let pki = pki();
    let (b1, b2) = (
        TestBackend::start(&pki, "xsp1").await,
        TestBackend::start(&pki, "xsp2").await,
    );
    let lb = lb(&pki, &[&b1, &b2], |b| b.affinity(Affinity::jsessionid())).await;
    // A second client first, so the interesting one starts on xsp2.
    let mut other = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    assert_eq!(other.get("/").await.1, "xsp1");
    let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    assert_eq!(client.get("/").await.1, "xsp2");
    assert_eq!(client.cookie.as_deref(), Some("JSESSIONID=xsp2-0"));
    for _ in 0..5 {
        assert_eq!(client.get("/heartbeat").await.1, "xsp2");
    }
    let pinned = http_entries(&lb);
    assert!(
        pinned[2..]
            .iter()
            .all(|e| e.attr("why") == Some("affinity"))
    );

    // The misconfiguration: no persistence. The same cookie now lands anywhere.
    lb.set_affinity(Affinity::Off);
    let fault = lb.journal().query(
        &Filter::kind(Kind::Fault)
            .node("lb1")
            .attr("affinity", "off"),
    );
    assert_eq!(fault.len(), 1);
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(client.get("/heartbeat").await.1);
    }
    assert!(seen.contains(&"xsp1".to_owned()) && seen.contains(&"xsp2".to_owned()));

    // Reverted: the learned session still pins the client.
    lb.set_affinity(Affinity::jsessionid());
    for _ in 0..3 {
        assert_eq!(client.get("/heartbeat").await.1, "xsp2");
    }
    lb.shutdown().await;
}

#[tokio::test]
async fn inserted_cookie_pins_a_client() {
    let pki = pki();
    let (b1, b2) = (
        TestBackend::start(&pki, "xsp1").await,
        TestBackend::start(&pki, "xsp2").await,
    );
    let lb = lb(&pki, &[&b1, &b2], |b| {
        b.affinity(Affinity::Insert("BWLB".into()))
    })
    .await;
    let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    let resp = client.get_response("/").await;
    let cookies: Vec<_> = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("BWLB=xsp1;")),
        "{cookies:?}"
    );
    // Send only the LB's cookie from now on.
    client.cookie = Some("BWLB=xsp1".into());
    for _ in 0..4 {
        assert_eq!(client.get("/").await.1, "xsp1");
        client.cookie = Some("BWLB=xsp1".into());
    }
    lb.shutdown().await;
}

#[tokio::test]
async fn chunked_stream_passes_through_chunk_by_chunk() {
    let pki = pki();
    let mut b1 = TestBackend::start(&pki, "xsp1").await;
    let lb = lb(&pki, &[&b1], |b| b).await;
    let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    let resp = client.get_response("/stream").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers().get("x-backend").unwrap(), "xsp1");
    // The proxied request is journalled when the headers pass, not when the body ends.
    let entry = lb
        .journal()
        .wait_for(&Filter::kind(Kind::Http).attr("path", "/stream"), WAIT)
        .await
        .expect("journalled");
    assert_eq!(entry.attr("status"), Some("200"));
    let mut body = resp.into_body();
    let mut feed = b1.streams.recv().await.expect("backend stream");
    for chunk in ["<Channel>", "<ChannelHeartBeat/>", "<Event/>"] {
        // The next chunk is sent only after the previous one reached the client.
        feed.send_data(Bytes::from(chunk)).await.unwrap();
        let frame = tokio::time::timeout(WAIT, body.frame())
            .await
            .expect("chunk forwarded without waiting for the rest")
            .expect("stream open")
            .unwrap();
        assert_eq!(frame.into_data().unwrap(), chunk.as_bytes());
    }
    drop(feed);
    assert!(body.frame().await.is_none(), "end of stream forwarded");
    // The keep-alive connection is still usable afterwards.
    assert_eq!(client.get("/").await.1, "xsp1");
    lb.shutdown().await;
}

#[tokio::test]
async fn passthrough_keeps_tls_end_to_end() {
    let pki = pki();
    let (b1, b2) = (
        TestBackend::start(&pki, "xsp1").await,
        TestBackend::start(&pki, "xsp2").await,
    );
    let lb = LoadBalancer::builder("lb1")
        .backends([b1.spec(), b2.spec()])
        .mode(Mode::Passthrough)
        .affinity(Affinity::Off)
        .start()
        .await
        .unwrap();
    // No affinity: connections alternate; each client sees the backend's own certificate.
    for name in ["xsp1", "xsp2"] {
        let (mut sender, leaf) = connect_raw(&pki, lb.addr(), "xsp.lab.example").await;
        assert_eq!(leaf, pki.node(name).unwrap().leaf().to_vec());
        let resp = sender
            .send_request(Request::get("/").body(Empty::new()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.headers().get("x-backend").unwrap(), name);
    }
    let spliced = lb.journal().query(&Filter::kind(Kind::Tls).node("lb1"));
    assert_eq!(spliced.len(), 2);
    assert_eq!(spliced[1].attr("backend"), Some("xsp2"));
    assert_eq!(spliced[1].attr("why"), Some("round-robin"));

    // With affinity: by client address, so this client stays on one backend.
    lb.set_affinity(Affinity::jsessionid());
    let mut first = None;
    for _ in 0..3 {
        let (_, leaf) = connect_raw(&pki, lb.addr(), "xsp.lab.example").await;
        first.get_or_insert_with(|| leaf.clone());
        assert_eq!(Some(&leaf), first.as_ref());
    }
    let last = lb.journal().query(&Filter::kind(Kind::Tls).node("lb1"));
    assert_eq!(last.last().unwrap().attr("why"), Some("affinity"));
    lb.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn health_check_marks_a_dead_backend_down_and_back_up() {
    let pki = pki();
    let (b1, b2) = (
        TestBackend::start(&pki, "xsp1").await,
        TestBackend::start(&pki, "xsp2").await,
    );
    let journal = Journal::new(LabClock::system());
    let lb = lb(&pki, &[&b1, &b2], |b| {
        b.affinity(Affinity::Off)
            .health(HealthCheck::tcp(Duration::from_secs(5)))
            .journal(journal.clone())
    })
    .await;
    let addr2 = b2.stop().await;
    let down = journal
        .wait_for(
            &Filter::kind(Kind::Lab)
                .node("lb1")
                .attr("backend", "xsp2")
                .attr("state", "down"),
            Duration::from_secs(60),
        )
        .await
        .expect("xsp2 marked down");
    assert_eq!(down.attr("source"), Some("health"));
    assert_eq!(lb.backend_up("xsp2"), Some(false));
    let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    for _ in 0..4 {
        assert_eq!(client.get("/").await.1, "xsp1");
    }

    let _b2 = TestBackend::start_at(&pki, "xsp2", addr2).await;
    journal
        .wait_for(
            &Filter::kind(Kind::Lab)
                .node("lb1")
                .attr("backend", "xsp2")
                .attr("state", "up"),
            Duration::from_secs(60),
        )
        .await
        .expect("xsp2 marked up again");
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(client.get("/").await.1);
    }
    seen.sort();
    assert_eq!(seen, ["xsp1", "xsp2"]);
    lb.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn https_health_check_uses_the_path() {
    let pki = pki();
    let b1 = TestBackend::start(&pki, "xsp1").await;
    let lb = lb(&pki, &[&b1], |b| {
        b.health(HealthCheck::http("/health", Duration::from_secs(5)))
    })
    .await;
    let addr = b1.stop().await;
    lb.journal()
        .wait_for(
            &Filter::kind(Kind::Lab)
                .attr("backend", "xsp1")
                .attr("state", "down"),
            Duration::from_secs(60),
        )
        .await
        .expect("down");
    let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    assert_eq!(client.get("/").await.0, StatusCode::SERVICE_UNAVAILABLE);
    let _b1 = TestBackend::start_at(&pki, "xsp1", addr).await;
    lb.journal()
        .wait_for(
            &Filter::kind(Kind::Lab)
                .attr("backend", "xsp1")
                .attr("state", "up"),
            Duration::from_secs(60),
        )
        .await
        .expect("up");
    assert_eq!(client.get("/").await.1, "xsp1");
    lb.shutdown().await;
}

#[tokio::test]
async fn redirect_misconfiguration_answers_3xx_to_the_backend() {
    let pki = pki();
    let b1 = TestBackend::start(&pki, "xsp1").await;
    let lb = lb(&pki, &[&b1], |b| b).await;
    let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    lb.set_redirect(true);
    let resp = client
        .get_response("/com.broadsoft.xsi-actions/v2.0/user/a?x=1")
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(
        resp.headers().get(LOCATION).unwrap().to_str().unwrap(),
        format!(
            "https://xsp1.lab.example:{}/com.broadsoft.xsi-actions/v2.0/user/a?x=1",
            b1.addr.port()
        )
    );
    resp.into_body().collect().await.unwrap();
    let entry = http_entries(&lb).pop().unwrap();
    assert_eq!(entry.attr("status"), Some("302"));
    assert_eq!(entry.attr("fault"), Some("redirect"));
    assert_eq!(entry.attr("backend"), Some("xsp1"));
    let faults = lb
        .journal()
        .query(&Filter::kind(Kind::Fault).attr("fault", "redirect"));
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].attr("status"), Some("302"));

    lb.set_redirect(false);
    assert_eq!(client.get("/").await, (StatusCode::OK, "xsp1".to_owned()));
    lb.shutdown().await;
}

#[tokio::test]
async fn all_backends_down_gives_503() {
    let pki = pki();
    let (b1, b2) = (
        TestBackend::start(&pki, "xsp1").await,
        TestBackend::start(&pki, "xsp2").await,
    );
    let lb = lb(&pki, &[&b1, &b2], |b| b).await;
    let mut client = Client::connect(&pki, lb.addr(), "lb.lab.example").await;
    lb.set_backend_up("xsp1", false).unwrap();
    assert_eq!(client.get("/").await.1, "xsp2");
    lb.set_backend_up("xsp2", false).unwrap();
    let (status, _) = client.get("/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let entry = http_entries(&lb).pop().unwrap();
    assert_eq!(entry.attr("status"), Some("503"));
    assert_eq!(entry.attr("backend"), Some("none"));
    let faults = lb.journal().query(
        &Filter::kind(Kind::Fault)
            .node("lb1")
            .attr("fault", "backend-down"),
    );
    assert_eq!(faults.len(), 2);
    assert_eq!(faults[0].attr("backend"), Some("xsp1"));
    assert_eq!(faults[0].attr("state"), Some("down"));

    // Reverted at run time: the cookie learned on xsp2 no longer helps, xsp1 takes it.
    lb.set_backend_up("xsp1", true).unwrap();
    assert_eq!(client.get("/").await.1, "xsp1");
    assert!(lb.set_backend_up("nope", true).is_err());
    let states: Vec<bool> = lb.backends().iter().map(|b| b.up).collect();
    assert_eq!(states, [true, false]);
    lb.shutdown().await;
}

#[tokio::test]
async fn request_bodies_pass_and_a_dead_backend_gives_502() {
    let pki = pki();
    let (b1, b2) = (
        TestBackend::start(&pki, "xsp1").await,
        TestBackend::start(&pki, "xsp2").await,
    );
    let lb = lb(&pki, &[&b1, &b2], |b| b.affinity(Affinity::Off)).await;
    let tls = bwlab_pki::client_config(&ClientOptions::new(pki.lab_trust_bundle())).unwrap();
    let tcp = TcpStream::connect(lb.addr()).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from("lb.lab.example").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let post = Request::post("/echo")
        .header(HOST, "lb.lab.example")
        .body(Full::new(Bytes::from_static(b"<Subscription/>")))
        .unwrap();
    let resp = sender.send_request(post).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "<Subscription/>");

    // xsp2 dies without health checks: the request it gets fails with 502, journalled.
    b2.stop().await;
    let get = |path: &'static str| Request::get(path).body(Full::new(Bytes::new())).unwrap();
    let resp = sender.send_request(get("/")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    resp.into_body().collect().await.unwrap();
    let entry = http_entries(&lb).pop().unwrap();
    assert_eq!(entry.attr("status"), Some("502"));
    assert_eq!(entry.attr("backend"), Some("xsp2"));
    assert!(entry.attr("error").is_some());
    let resp = sender.send_request(get("/")).await.unwrap();
    assert_eq!(resp.headers().get("x-backend").unwrap(), "xsp1");
    lb.shutdown().await;
}

#[tokio::test]
async fn terminating_lb_presents_its_own_certificate_and_verifies_backends() {
    let pki = pki();
    let b1 = TestBackend::start(&pki, "xsp1").await;
    // xsp1's address under xsp2's name: the backend's certificate does not match.
    let lb = LoadBalancer::builder("lb1")
        .backends([("xsp2", b1.addr, "xsp2.lab.example")])
        .identity(pki.node("lb").unwrap().clone())
        .trust(pki.lab_trust_bundle())
        .start()
        .await
        .unwrap();
    let (mut sender, leaf) = connect_raw(&pki, lb.addr(), "lb.lab.example").await;
    assert_eq!(leaf, pki.node("lb").unwrap().leaf().to_vec());
    let resp = sender
        .send_request(Request::get("/").body(Empty::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let entry = http_entries(&lb).pop().unwrap();
    assert!(
        entry.attr("error").unwrap().contains("TLS with backend"),
        "{entry:?}"
    );
    lb.shutdown().await;
}
