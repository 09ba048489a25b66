//! Xsi-Events and CTI against a whole lab, over real sockets: the Webex App finds an XSP
//! through the lab DNS, opens an event channel, subscribes and follows a call; server
//! affinity across the farm; a `callControlApplicationName` that drifted on one node; the
//! CTI interface with the Webex client certificate; and what the release profile allows
//! over CTI.
//!
//! Time-dependent tests run on paused tokio time: when every task waits, tokio jumps to the
//! next timer, so a scripted call's "answer after 2 s" passes at once. The lab's own timers
//! keep running on that clock too (acknowledgement timeout 10 s, `eventTimeout` 30 s), so
//! every event is acknowledged as soon as it is read and nothing waits longer than needed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bwlab::Lab;
use bwlab::core::{Filter, Kind};
use bwlab::pki::Identity;
use bwlab::profiles::Feature;
use bwlab::xsp::{EventsSettings, ForeignChannelPolicy};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use rustls::ClientConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

const EV: &str = "/com.broadsoft.xsi-events/v2.0";
const ASYNC_CHANNEL: &str = "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0/channel";
const ALICE: &str = "alice@lab.example:Alice-pw1";
/// Longest wait for something that must happen (tokio time).
const WAIT: Duration = Duration::from_secs(10);

// ----- clients --------------------------------------------------------------------------

fn tls(lab: &Lab, identity: Option<&Identity>) -> Arc<ClientConfig> {
    let mut opts = bwlab::pki::ClientOptions::new(lab.pki().lab_trust_bundle());
    opts.identity = identity.cloned();
    bwlab::pki::client_config(&opts).unwrap()
}

fn basic(credentials: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// Where a client talks to: TLS settings, the name the certificate must carry, the address.
#[derive(Clone)]
struct Peer {
    tls: Arc<ClientConfig>,
    host: String,
    addr: SocketAddr,
    authorization: Option<String>,
}

impl Peer {
    fn new(lab: &Lab, host: &str, addr: SocketAddr, credentials: &str) -> Self {
        Peer {
            tls: tls(lab, None),
            host: host.to_owned(),
            addr,
            authorization: Some(basic(credentials)),
        }
    }

    /// The node's `https` listener, with Basic credentials.
    fn xsp(lab: &Lab, node: &str, credentials: &str) -> Self {
        let addr = lab.xsp(node).unwrap().https_addr();
        Self::new(lab, &format!("{node}.lab.example"), addr, credentials)
    }

    /// The node's CTI listener, as the Webex CTI client (or with another certificate).
    fn cti(lab: &Lab, node: &str, identity: Option<&Identity>) -> Self {
        Peer {
            tls: tls(lab, identity),
            host: format!("{node}.lab.example"),
            addr: lab.xsp(node).unwrap().cti_addr().expect("CTI listener"),
            authorization: None,
        }
    }

    async fn connect(&self) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(self.addr).await?;
        let name = rustls::pki_types::ServerName::try_from(self.host.clone()).unwrap();
        tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
    }

    fn head(&self, method: &str, path: &str, body: &str) -> String {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/xml; charset=UTF-8\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if let Some(a) = &self.authorization {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        req
    }

    /// One request on a fresh connection; (status, body). An I/O or TLS failure is `Err`.
    async fn try_request(
        &self,
        method: &str,
        path: &str,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let mut io = self.connect().await?;
        let req = format!(
            "{}Connection: close\r\n\r\n{body}",
            self.head(method, path, body)
        );
        io.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        let read = io.read_to_end(&mut raw).await;
        if raw.is_empty() {
            read?;
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }

    async fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.try_request(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path} on {}: {e}", self.addr))
    }

    /// `POST {EV}/user/{user}` with one package on channel set `set`; the subscription id.
    async fn subscribe(&self, user: &str, package: &str, set: &str) -> (u16, String) {
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Subscription xmlns="http://schema.broadsoft.com/xsi"><event>{package}</event><expires>7200</expires><channelSetId>{set}</channelSetId><applicationId>bwlab-tests</applicationId></Subscription>"#
        );
        self.request("POST", &format!("{EV}/user/{user}"), &body)
            .await
    }

    /// Acknowledges an event with 200 (must reach the XSP that hosts the channel).
    async fn ack(&self, event_id: &str) -> u16 {
        let body = format!(
            r#"<EventResponse xmlns="http://schema.broadsoft.com/xsi"><eventID>{event_id}</eventID><statusCode>200</statusCode><reason>OK</reason></EventResponse>"#
        );
        self.request("POST", &format!("{EV}/channel/eventresponse"), &body)
            .await
            .0
    }

    async fn heartbeat(&self, channel: &str) -> (u16, String) {
        self.request("PUT", &format!("{EV}/channel/{channel}/heartbeat"), "")
            .await
    }

    /// Opens an event channel in `set`; the stream (first chunk read) and the channel id.
    async fn open_channel(&self, set: &str) -> (EventStream, String) {
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Channel xmlns="http://schema.broadsoft.com/xsi"><channelSetId>{set}</channelSetId><priority>1</priority><weight>50</weight><expires>3600</expires><applicationId>bwlab-tests</applicationId></Channel>"#
        );
        let mut io = self.connect().await.expect("TLS to the XSP");
        let req = format!("{}\r\n{body}", self.head("POST", ASYNC_CHANNEL, &body));
        io.write_all(req.as_bytes()).await.unwrap();
        let mut s = EventStream {
            io,
            buf: Vec::new(),
        };
        let head = s.read_until(b"\r\n\r\n").await.expect("response head");
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        let first = s.next_text().await.expect("the Channel document");
        assert!(first.contains("<Channel "), "{first}");
        let id = between(&first, "<channelId>", "</channelId>");
        (s, id)
    }
}

/// The channel's streaming response, read one chunk (one document) at a time.
struct EventStream {
    io: TlsStream<TcpStream>,
    buf: Vec<u8>,
}

impl EventStream {
    async fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 8192];
        match self.io.read(&mut tmp).await {
            Ok(n) if n > 0 => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            _ => false,
        }
    }

    async fn read_until(&mut self, delim: &[u8]) -> Option<Vec<u8>> {
        loop {
            if let Some(pos) = self.buf.windows(delim.len()).position(|w| w == delim) {
                let out = self.buf[..pos].to_vec();
                self.buf.drain(..pos + delim.len());
                return Some(out);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The next chunk as text; `None` when the stream ended.
    async fn next_text(&mut self) -> Option<String> {
        let line = self.read_until(b"\r\n").await?;
        let size = usize::from_str_radix(String::from_utf8_lossy(&line).trim(), 16).ok()?;
        if size == 0 {
            return None;
        }
        while self.buf.len() < size + 2 {
            if !self.fill().await {
                return None;
            }
        }
        let chunk = String::from_utf8(self.buf[..size].to_vec()).expect("UTF-8");
        self.buf.drain(..size + 2);
        Some(chunk)
    }

    /// The next document, within [`WAIT`]; `None` when the stream ended.
    async fn next(&mut self) -> Option<String> {
        tokio::time::timeout(WAIT, self.next_text())
            .await
            .expect("a document or the end of the stream in time")
    }

    /// The next event, skipping heartbeats; panics if the stream ends.
    async fn next_event(&mut self) -> String {
        loop {
            let doc = self.next().await.expect("stream open");
            if !doc.contains("ChannelHeartBeat") {
                return doc;
            }
        }
    }
}

fn between(s: &str, a: &str, b: &str) -> String {
    let i = s.find(a).unwrap_or_else(|| panic!("{a} in {s}")) + a.len();
    let j = s[i..].find(b).unwrap_or_else(|| panic!("{b} in {s}")) + i;
    s[i..j].to_owned()
}

/// `CallReceivedEvent` for a subscription event, `ChannelTerminatedEvent` for that one.
fn event_type(doc: &str) -> String {
    let from = doc.find("eventData").unwrap_or(0);
    let t = between(&doc[from..], "type=\"", "\"");
    t.rsplit(':').next().unwrap().to_owned()
}

fn resolver(addr: SocketAddr) -> TokioResolver {
    let mut conn = ConnectionConfig::new(ProtocolConfig::Udp);
    conn.port = addr.port();
    let ns = NameServerConfig::new(addr.ip(), true, vec![conn]);
    let cfg = ResolverConfig::from_parts(None, vec![], vec![ns]);
    TokioResolver::builder_with_config(cfg, TokioRuntimeProvider::default())
        .build()
        .unwrap()
}

/// The Webex App's choice: the SRV target with the lowest priority, then its A record.
async fn discover_xsp(lab: &Lab) -> (String, SocketAddr) {
    let r = resolver(lab.dns_addr());
    let srv = r
        .lookup("_xsi-client._tcp.xsp-app.lab.example.", RecordType::SRV)
        .await
        .unwrap();
    let (_, port, target) = srv
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::SRV(s) => Some((s.priority, s.port, s.target.to_ascii())),
            _ => None,
        })
        .min()
        .expect("an SRV target");
    let a = r.lookup(target.as_str(), RecordType::A).await.unwrap();
    let ip = a
        .answers()
        .iter()
        .find_map(|rec| match &rec.data {
            RData::A(ip) => Some(IpAddr::V4(ip.0)),
            _ => None,
        })
        .expect("an A record");
    (
        target.trim_end_matches('.').to_owned(),
        SocketAddr::new(ip, port),
    )
}

// ----- tests ----------------------------------------------------------------------------

/// (a) The Webex App path: SRV → XSP → channel → Advanced Call → a call from Bob, every
/// event acknowledged; afterwards the call is in Alice's call logs.
#[tokio::test(start_paused = true)]
async fn webex_app_follows_a_call_on_its_event_channel() {
    let lab = Lab::builder().start().await.unwrap();
    let (host, addr) = discover_xsp(&lab).await;
    assert_eq!(host, "xsp1.lab.example", "priority 10 wins");
    let app = Peer::new(&lab, &host, addr, ALICE);
    let alice = lab.user_id("alice");

    let (mut stream, channel) = app.open_channel("webex-app-alice").await;
    let (status, body) = app
        .subscribe(&alice, "Advanced Call", "webex-app-alice")
        .await;
    assert_eq!(status, 200, "{body}");
    let subscription = between(&body, "<subscriptionId>", "</subscriptionId>");

    // The initial state: idle.
    let initial = stream.next_event().await;
    assert_eq!(event_type(&initial), "CallSubscriptionEvent", "{initial}");
    assert!(initial.contains("On-Hook"), "{initial}");
    assert_eq!(app.ack(&between(&initial, "<xsi:eventID>", "<")).await, 200);

    let (_call, script) = lab
        .call("bob", "alice")
        .answer_after(Duration::from_secs(2))
        .release_after(Duration::from_secs(3))
        .start()
        .unwrap();

    let mut seen = Vec::new();
    let mut sequence = 1;
    while !seen.iter().any(|t| t == "CallReleasedEvent") {
        let doc = stream.next_event().await;
        assert!(doc.contains(&format!("<xsi:channelId>{channel}<")), "{doc}");
        assert!(doc.contains(&subscription), "{doc}");
        let n: u32 = between(&doc, "<xsi:sequenceNumber>", "<").parse().unwrap();
        assert!(
            n > sequence,
            "sequence numbers increase: {n} after {sequence}"
        );
        sequence = n;
        let t = event_type(&doc);
        if t.starts_with("Call") && t != "CallSubscriptionEvent" {
            assert!(doc.contains("<xsi:personality>Terminator<"), "{doc}");
            assert!(doc.contains("Bob"), "the caller in remoteParty: {doc}");
        }
        assert_eq!(app.ack(&between(&doc, "<xsi:eventID>", "<")).await, 200);
        seen.push(t);
    }
    script.await.unwrap();
    let calls: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "HookStatusEvent")
        .collect();
    assert_eq!(
        calls,
        [
            "CallReceivedEvent",
            "CallAnsweredEvent",
            "CallReleasedEvent"
        ],
        "all events: {seen:?}"
    );

    // Every event was acknowledged on the XSP that hosts the channel.
    let stats = lab.app_server().stats();
    assert_eq!(stats.ack_timeouts, 0);
    let applied = Filter::kind(Kind::Event)
        .node("xsp1")
        .attr("outcome", "applied");
    assert_eq!(lab.journal().query(&applied).len(), seen.len() + 1);

    // The call log, through Xsi-Actions.
    let (status, logs) = app
        .request(
            "GET",
            &format!("/com.broadsoft.xsi-actions/v2.0/user/{alice}/directories/CallLogs"),
            "",
        )
        .await;
    assert_eq!(status, 200, "{logs}");
    let received = between(&logs, "<received>", "</received>");
    assert!(received.contains("<callLogsEntry>"), "{logs}");
    assert!(received.contains("Bob"), "{logs}");
    lab.shutdown().await;
}

/// (b) Server affinity: a heartbeat for a channel of xsp1 that lands on xsp2 is refused and
/// the channel is torn down (the default policy).
#[tokio::test]
async fn heartbeat_on_the_wrong_xsp_is_refused_and_ends_the_channel() {
    let lab = Lab::builder().start().await.unwrap();
    let xsp1 = Peer::xsp(&lab, "xsp1", ALICE);
    let xsp2 = Peer::xsp(&lab, "xsp2", ALICE);
    let (mut stream, channel) = xsp1.open_channel("affinity").await;

    // On its own XSP the heartbeat is answered and echoed on the stream.
    assert_eq!(xsp1.heartbeat(&channel).await.0, 200);
    let hb = stream.next().await.expect("heartbeat chunk");
    assert!(hb.contains("<ChannelHeartBeat "), "{hb}");

    let (status, body) = xsp2.heartbeat(&channel).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("ErrorInfo"), "{body}");
    // The stream on xsp1 ends without a ChannelTerminatedEvent.
    assert_eq!(stream.next().await, None);
    assert!(lab.app_server().channel(&channel).is_none());
    let foreign = Filter::kind(Kind::Event)
        .node("xsp2")
        .attr("outcome", "foreign-channel")
        .attr("host_node", "xsp1");
    assert_eq!(lab.journal().query(&foreign).len(), 1);
    lab.shutdown().await;
}

/// (b, other mode) `IgnoreSilently`: the wrong XSP answers 200 and does nothing, so the
/// channel dies of its `eventTimeout` although the client "heartbeats" all along.
#[tokio::test(start_paused = true)]
async fn silently_ignored_heartbeats_let_the_channel_time_out() {
    let lab = Lab::builder()
        .events_settings(EventsSettings {
            foreign_channel: ForeignChannelPolicy::IgnoreSilently,
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let timeout = EventsSettings::default().event_timeout;
    let xsp1 = Peer::xsp(&lab, "xsp1", ALICE);
    let xsp2 = Peer::xsp(&lab, "xsp2", ALICE);
    let (mut stream, channel) = xsp1.open_channel("affinity-silent").await;
    let opened = tokio::time::Instant::now();
    // Heartbeats every third of eventTimeout, all to the wrong node.
    for _ in 0..2 {
        tokio::time::advance(timeout / 3).await;
        assert_eq!(xsp2.heartbeat(&channel).await.0, 200);
    }
    // Nothing reaches the stream; it closes at eventTimeout after the open.
    let end = tokio::time::timeout(timeout * 2, stream.next_text())
        .await
        .expect("closed in time");
    assert_eq!(end, None, "no ChannelTerminatedEvent");
    assert!(opened.elapsed() >= timeout);
    let closed = Filter::kind(Kind::Event)
        .node("xsp1")
        .attr("channel", channel.as_str())
        .attr("reason", "heartbeat timeout");
    assert!(lab.journal().wait_for(&closed, WAIT).await.is_some());
    lab.shutdown().await;
}

/// (c) Configuration drift: xsp2's Xsi-Events is named differently. A subscription created
/// through xsp2 is tagged with that name, so its events never reach the channel on xsp1 —
/// and the AS journal says why.
#[tokio::test(start_paused = true)]
async fn renamed_call_control_application_loses_events() {
    let lab = Lab::builder()
        .events_settings_for(
            "xsp2",
            EventsSettings {
                call_control_application_name: "renamed".into(),
                ..Default::default()
            },
        )
        .start()
        .await
        .unwrap();
    let alice = lab.user_id("alice");
    let xsp1 = Peer::xsp(&lab, "xsp1", ALICE);
    let xsp2 = Peer::xsp(&lab, "xsp2", ALICE);
    let (mut stream, _channel) = xsp1.open_channel("drift").await;

    // Accepted: nothing tells the client that anything is wrong.
    let (status, body) = xsp2.subscribe(&alice, "Advanced Call", "drift").await;
    assert_eq!(status, 200, "{body}");
    let subscription = between(&body, "<subscriptionId>", "</subscriptionId>");
    let lost = Filter::kind(Kind::Event)
        .node("as1")
        .attr("lost", "call_control_application_name")
        .attr("call_control_application_name", "renamed")
        .attr("subscription_id", subscription.as_str());
    let entry = lab
        .journal()
        .wait_for(&lost, WAIT)
        .await
        .expect("the initial event is lost");
    assert_eq!(entry.attr("event"), Some("CallSubscriptionEvent"));

    // A call: still nothing on the stream.
    lab.call("bob", "alice")
        .answer_after(Duration::from_secs(1))
        .release_after(Duration::from_secs(1))
        .start()
        .unwrap()
        .1
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(3), stream.next_text())
            .await
            .is_err(),
        "no event reaches the channel"
    );
    let stats = lab.app_server().stats();
    assert!(stats.lost_app_name >= 4, "{stats:?}");
    assert_eq!(stats.delivered, 0, "{stats:?}");

    // The same subscription made through xsp1 (the name the channel's host carries) works.
    let (status, _) = xsp1.subscribe(&alice, "Do Not Disturb", "drift").await;
    assert_eq!(status, 200);
    let ev = stream.next_event().await;
    assert_eq!(event_type(&ev), "DoNotDisturbEvent", "{ev}");
    assert_eq!(xsp1.ack(&between(&ev, "<xsi:eventID>", "<")).await, 200);
    lab.shutdown().await;
}

/// (d) CTI: the Webex client certificate opens a channel and subscribes a user on the CTI
/// listener; a client without a certificate is refused at the handshake.
#[tokio::test]
async fn cti_client_subscribes_with_the_webex_certificate() {
    let lab = Lab::builder().start().await.unwrap();
    let alice = lab.user_id("alice");
    let webex = Peer::cti(&lab, "xsp1", Some(lab.pki().webex_client()));

    let (mut stream, channel) = webex.open_channel("webex-cti").await;
    let (status, body) = webex.subscribe(&alice, "Advanced Call", "webex-cti").await;
    assert_eq!(status, 200, "{body}");
    let ev = stream.next_event().await;
    assert_eq!(event_type(&ev), "CallSubscriptionEvent", "{ev}");
    // The CTI client owns the subscription by its certificate CN.
    assert!(
        ev.contains("<xsi:clientId>bwcticlient.webex.com</xsi:clientId>"),
        "{ev}"
    );
    assert!(ev.contains(&format!("<xsi:targetId>{alice}<")), "{ev}");
    assert_eq!(webex.ack(&between(&ev, "<xsi:eventID>", "<")).await, 200);
    assert_eq!(webex.heartbeat(&channel).await.0, 200);
    let created = Filter::kind(Kind::Event)
        .node("as1")
        .attr("cti", "true")
        .attr("owner", "bwcticlient.webex.com");
    assert_eq!(lab.journal().query(&created).len(), 1);

    // No client certificate: the handshake fails, nothing is served.
    let anonymous = Peer::cti(&lab, "xsp1", None);
    let refused = anonymous
        .try_request("POST", &format!("{EV}/user/{alice}"), "")
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let tls = Filter::kind(Kind::Tls)
        .node("xsp1")
        .attr("interface", "cti")
        .attr("outcome", "refused");
    assert!(lab.journal().wait_for(&tls, WAIT).await.is_some());
    lab.shutdown().await;
}

/// (e) Release profiles: DND sync over CTI needs the `dnd_sync` patches. Without them
/// (`r22-unpatched`) a CTI subscription to Do Not Disturb is refused; on `r24` it is
/// accepted and delivers the DND state.
#[tokio::test(start_paused = true)]
async fn dnd_over_cti_depends_on_the_release_profile() {
    for (profile, accepted) in [("r22-unpatched", false), ("r24", true)] {
        let lab = Lab::builder().profile(profile).start().await.unwrap();
        assert_eq!(lab.profile().supports(Feature::DndSync), accepted);
        let alice = lab.user_id("alice");
        let webex = Peer::cti(&lab, "xsp1", Some(lab.pki().webex_client()));
        let (mut stream, _) = webex.open_channel("webex-dnd").await;
        let (status, body) = webex.subscribe(&alice, "Do Not Disturb", "webex-dnd").await;
        if accepted {
            assert_eq!(status, 200, "{profile}: {body}");
            let ev = stream.next_event().await;
            assert_eq!(event_type(&ev), "DoNotDisturbEvent", "{ev}");
            assert_eq!(webex.ack(&between(&ev, "<xsi:eventID>", "<")).await, 200);
        } else {
            assert_eq!(status, 403, "{profile}: {body}");
            assert!(body.contains("ErrorInfo"), "{body}");
            assert!(body.contains("not allowed over CTI"), "{body}");
            // Advanced Call is accepted, but without the CTI hook-status and call-history
            // patches nothing of it reaches the CTI client, not even the initial state.
            let (status, _) = webex.subscribe(&alice, "Advanced Call", "webex-dnd").await;
            assert_eq!(status, 200);
            lab.call("bob", "alice")
                .release_after(Duration::from_secs(1))
                .start()
                .unwrap()
                .1
                .await
                .unwrap();
            assert!(
                tokio::time::timeout(Duration::from_secs(2), stream.next_text())
                    .await
                    .is_err(),
                "no call event over CTI on {profile}"
            );
            // The same package through Xsi-Events as the user is fine: only CTI is gated.
            let user = Peer::xsp(&lab, "xsp1", ALICE);
            let (_s, _) = user.open_channel("alice-dnd").await;
            assert_eq!(
                user.subscribe(&alice, "Do Not Disturb", "alice-dnd")
                    .await
                    .0,
                200
            );
        }
        lab.shutdown().await;
    }
}

/// (b) Affinity for event responses: an acknowledgement sent to xsp2 for an event on xsp1's
/// channel is refused, the channel is dropped, and the unacknowledged event is given up
/// after `ack_timeout` (no other channel in the set).
#[tokio::test(start_paused = true)]
async fn event_response_on_the_wrong_xsp_is_refused_and_ends_the_channel() {
    let lab = Lab::builder().start().await.unwrap();
    let alice = lab.user_id("alice");
    let xsp1 = Peer::xsp(&lab, "xsp1", ALICE);
    let xsp2 = Peer::xsp(&lab, "xsp2", ALICE);
    let (mut stream, channel) = xsp1.open_channel("affinity-ack").await;
    assert_eq!(
        xsp1.subscribe(&alice, "Do Not Disturb", "affinity-ack")
            .await
            .0,
        200
    );
    let ev = stream.next_event().await;
    assert_eq!(xsp2.ack(&between(&ev, "<xsi:eventID>", "<")).await, 404);
    assert_eq!(stream.next().await, None, "closed without a word");
    assert!(lab.app_server().channel(&channel).is_none());
    let given_up = Filter::kind(Kind::Event)
        .node("as1")
        .contains("every channel of the set failed");
    let ack_timeout = lab.app_server().settings().ack_timeout;
    assert!(
        lab.journal()
            .wait_for(&given_up, ack_timeout + WAIT)
            .await
            .is_some()
    );
    assert_eq!(lab.app_server().stats().ack_timeouts, 1);
    lab.shutdown().await;
}

/// A client that closes its stream: the XSP notices at once and the AS forgets the channel;
/// the subscription stays.
#[tokio::test(start_paused = true)]
async fn closing_the_stream_forgets_the_channel_at_once() {
    let lab = Lab::builder().start().await.unwrap();
    let alice = lab.user_id("alice");
    let xsp1 = Peer::xsp(&lab, "xsp1", ALICE);
    let (stream, channel) = xsp1.open_channel("closing").await;
    let (status, body) = xsp1.subscribe(&alice, "Do Not Disturb", "closing").await;
    assert_eq!(status, 200);
    let subscription = between(&body, "<subscriptionId>", "</subscriptionId>");
    let opened = tokio::time::Instant::now();
    drop(stream);
    let closed = Filter::kind(Kind::Event)
        .node("xsp1")
        .attr("channel", channel.as_str())
        .attr("reason", "client closed the stream");
    assert!(lab.journal().wait_for(&closed, WAIT).await.is_some());
    assert!(opened.elapsed() < WAIT, "not by the heartbeat timeout");
    assert!(lab.app_server().channel(&channel).is_none());
    assert!(lab.app_server().subscription(&subscription).is_some());
    lab.shutdown().await;
}

/// With `replay_queue`, an event for a set without a live channel waits for the set's next
/// channel.
#[tokio::test(start_paused = true)]
async fn replay_queue_delivers_on_the_next_channel() {
    let lab = Lab::builder()
        .app_server_settings(bwlab::appserver::AsSettings {
            replay_queue: 10,
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    let alice = lab.user_id("alice");
    let xsp1 = Peer::xsp(&lab, "xsp1", ALICE);
    // Subscribed before any channel of the set exists: the initial state waits.
    assert_eq!(
        xsp1.subscribe(&alice, "Do Not Disturb", "later").await.0,
        200
    );
    let (mut stream, channel) = xsp1.open_channel("later").await;
    let ev = stream.next_event().await;
    assert_eq!(event_type(&ev), "DoNotDisturbEvent", "{ev}");
    assert_eq!(xsp1.ack(&between(&ev, "<xsi:eventID>", "<")).await, 200);
    assert!(lab.app_server().channel(&channel).is_some());
    lab.shutdown().await;
}
