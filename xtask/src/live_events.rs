//! The live Xsi-Events part of the conformance run: against a running lab, open an event
//! channel, subscribe to every package the lab emits, drive calls and service changes
//! through Xsi-Actions, and keep every document that crossed the wire — command answers,
//! refusals, and each chunk of the stream — for schema validation.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bwlab::Lab;
use bwlab::pki::rustls::ClientConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::{Fetched, NEWER_THAN_SCHEMA, strip_elements};

const EV: &str = "/com.broadsoft.xsi-events/v2.0";
const XSI: &str = "/com.broadsoft.xsi-actions/v2.0";
const HOST: &str = "xsp.lab.example";
const ALICE: (&str, &str) = ("alice@lab.example", "Alice-pw1");
const BOB: (&str, &str) = ("bob@lab.example", "Bob-pw1");

/// Packages subscribed on alice's channel (the ones the lab emits events for).
const PACKAGES: &[&str] = &[
    "Advanced Call",
    "Do Not Disturb",
    "Call Forwarding Always",
    "Call Forwarding Busy",
    "Call Forwarding No Answer",
    "Call Waiting",
    "Voice Messaging",
    "Voice Mail Message Summary",
    "Remote Office",
    "Simultaneous Ring Personal",
    "BroadWorks Anywhere",
];

fn basic(who: (&str, &str)) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", who.0, who.1));
    format!("Basic {b}")
}

async fn connect(
    cfg: &Arc<ClientConfig>,
    addr: SocketAddr,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(HOST).map_err(|e| e.to_string())?;
    tokio_rustls::TlsConnector::from(Arc::clone(cfg))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())
}

/// One request on its own connection: (status, content type, body).
async fn exchange(
    cfg: &Arc<ClientConfig>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    who: (&str, &str),
    body: &str,
) -> Result<(u16, String, Vec<u8>), String> {
    let mut tls = connect(cfg, addr).await?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: {}\r\nContent-Type: application/xml; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        basic(who),
        body.len()
    );
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let (_, status, content_type, body) = crate::split_response(&raw)?;
    Ok((status, content_type, body))
}

/// Opens alice's channel; chunks arrive on the returned receiver (the first is `Channel`).
async fn open_channel(
    cfg: &Arc<ClientConfig>,
    addr: SocketAddr,
) -> Result<mpsc::UnboundedReceiver<Vec<u8>>, String> {
    let mut tls = connect(cfg, addr).await?;
    let body = r#"<Channel xmlns="http://schema.broadsoft.com/xsi"><channelSetId>conformance</channelSetId><priority>1</priority><weight>50</weight><expires>3600</expires><applicationId>xtask</applicationId></Channel>"#;
    let req = format!(
        "POST /com.broadsoft.async{EV}/channel HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: {}\r\nContent-Type: application/xml; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
        basic(ALICE),
        body.len()
    );
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buf = Vec::new();
        let mut tmp = [0u8; 16 * 1024];
        let mut head_done = false;
        loop {
            // Parse whatever is complete.
            loop {
                if !head_done {
                    match buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        Some(p) => {
                            buf.drain(..p + 4);
                            head_done = true;
                        }
                        None => break,
                    }
                }
                let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
                    break;
                };
                let Some(size) = std::str::from_utf8(&buf[..eol])
                    .ok()
                    .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                else {
                    return;
                };
                if size == 0 {
                    return;
                }
                if buf.len() < eol + 2 + size + 2 {
                    break;
                }
                let chunk = buf[eol + 2..eol + 2 + size].to_vec();
                buf.drain(..eol + 2 + size + 2);
                if tx.send(chunk).is_err() {
                    return;
                }
            }
            match tls.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
    });
    Ok(rx)
}

fn between(s: &str, a: &str, b: &str) -> Option<String> {
    let i = s.find(a)? + a.len();
    let j = s[i..].find(b)? + i;
    Some(s[i..j].to_owned())
}

/// Keeps a document for validation (or records why it is not one).
struct Collector<'a> {
    dir: &'a Path,
    out: Vec<Fetched>,
}

impl Collector<'_> {
    fn keep(
        &mut self,
        method: &'static str,
        path: String,
        status: u16,
        expected: u16,
        body: &[u8],
    ) {
        let mut f = Fetched {
            method,
            path,
            status,
            file: None,
            problem: None,
            stripped: Vec::new(),
        };
        if status != expected {
            f.problem = Some(format!(
                "status {status}, expected {expected}: {}",
                String::from_utf8_lossy(body)
            ));
        } else if body.is_empty() {
            f.problem = Some("no document in the answer".into());
        } else {
            let mut text = String::from_utf8_lossy(body).into_owned();
            for name in NEWER_THAN_SCHEMA {
                if strip_elements(&mut text, name) > 0 {
                    f.stripped.push(name);
                }
            }
            let file = self.dir.join(format!("events-{:03}.xml", self.out.len()));
            if let Err(e) = std::fs::write(&file, text) {
                f.problem = Some(e.to_string());
            } else {
                f.file = Some(file);
            }
        }
        self.out.push(f);
    }
}

/// Drives the lab and returns every Xsi-Events (and call-control) document it produced.
pub(crate) async fn fetch(lab: &Lab, addr: SocketAddr, dir: &Path) -> Result<Vec<Fetched>, String> {
    let cfg = bwlab::pki::client_config(&bwlab::pki::ClientOptions::new(
        lab.pki().lab_trust_bundle(),
    ))
    .map_err(|e| e.to_string())?;
    let mut c = Collector {
        dir,
        out: Vec::new(),
    };
    let mut stream = open_channel(&cfg, addr).await?;
    let first = tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .map_err(|_| "no Channel document on the stream")?
        .ok_or("the stream closed")?;
    let channel_id = between(
        &String::from_utf8_lossy(&first),
        "<channelId>",
        "</channelId>",
    )
    .ok_or("no channelId")?;
    c.keep(
        "POST",
        "/com.broadsoft.async …/channel (first chunk)".into(),
        200,
        200,
        &first,
    );

    // Subscriptions (answers), then the command documents.
    let mut sub_id = None;
    for p in PACKAGES {
        let body = format!(
            r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>{p}</event><expires>3600</expires><channelSetId>conformance</channelSetId><applicationId>xtask-{}</applicationId></Subscription>"#,
            p.replace(' ', "-")
        );
        let path = format!("{EV}/user/{}", ALICE.0);
        let (s, _, b) = exchange(&cfg, addr, "POST", &path, ALICE, &body).await?;
        sub_id.get_or_insert_with(|| {
            between(
                &String::from_utf8_lossy(&b),
                "<subscriptionId>",
                "</subscriptionId>",
            )
        });
        c.keep("POST", format!("{path} ({p})"), s, 200, &b);
    }
    let sub_id = sub_id.flatten().ok_or("no subscriptionId")?;
    for (method, path, body, expected, who) in [
        ("GET", format!("{EV}/subscription"), String::new(), 200, ALICE),
        ("GET", format!("{EV}/subscription/{sub_id}"), String::new(), 200, ALICE),
        ("GET", format!("{EV}/channelset/conformance"), String::new(), 200, ALICE),
        (
            "PUT",
            format!("{EV}/channel/{channel_id}"),
            r#"<Channel xmlns="http://schema.broadsoft.com/xsi"><expires>7200</expires></Channel>"#
                .to_owned(),
            200,
            ALICE,
        ),
        (
            "PUT",
            format!("{EV}/subscription/{sub_id}"),
            r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><expires>7200</expires></Subscription>"#
                .to_owned(),
            200,
            ALICE,
        ),
        // Refusals are documents too.
        (
            "POST",
            format!("{EV}/user/{}", ALICE.0),
            r#"<Subscription xmlns="http://schema.broadsoft.com/xsi"><event>No Such Package</event><channelSetId>conformance</channelSetId></Subscription>"#.to_owned(),
            400,
            ALICE,
        ),
        ("GET", format!("{EV}/subscription/{sub_id}"), String::new(), 403, BOB),
        ("PUT", format!("{EV}/channel/nope/heartbeat"), String::new(), 404, ALICE),
    ] {
        let (s, _, b) = exchange(&cfg, addr, method, &path, who, &body).await?;
        c.keep(method, path, s, expected, &b);
    }
    // A heartbeat: its chunk comes on the stream.
    exchange(
        &cfg,
        addr,
        "PUT",
        &format!("{EV}/channel/{channel_id}/heartbeat"),
        ALICE,
        "",
    )
    .await?;

    // Calls through Xsi-Actions: alice dials bob, bob answers, hold, retrieve, release.
    let calls = |u: &str| format!("{XSI}/user/{u}/calls");
    let (s, _, b) = exchange(
        &cfg,
        addr,
        "POST",
        &format!("{}/New?address=102", calls(ALICE.0)),
        ALICE,
        "",
    )
    .await?;
    let cid = between(&String::from_utf8_lossy(&b), "<callId>", "</callId>").ok_or("no callId")?;
    c.keep(
        "POST",
        format!("{}/New?address=102", calls(ALICE.0)),
        s,
        201,
        &b,
    );
    let (s, _, b) = exchange(&cfg, addr, "GET", &calls(BOB.0), BOB, "").await?;
    let bcid =
        between(&String::from_utf8_lossy(&b), "<callId>", "</callId>").ok_or("bob has no call")?;
    c.keep("GET", calls(BOB.0), s, 200, &b);
    for (method, path, who, expected, keep) in [
        ("GET", format!("{}/{bcid}", calls(BOB.0)), BOB, 200, true),
        (
            "PUT",
            format!("{}/{bcid}/Talk", calls(BOB.0)),
            BOB,
            200,
            false,
        ),
        ("GET", format!("{}/{cid}", calls(ALICE.0)), ALICE, 200, true),
        (
            "GET",
            format!("{}/HookStatus", calls(ALICE.0)),
            ALICE,
            200,
            true,
        ),
        (
            "PUT",
            format!("{}/{cid}/Hold", calls(ALICE.0)),
            ALICE,
            200,
            false,
        ),
        ("GET", format!("{}/{cid}", calls(ALICE.0)), ALICE, 200, true),
        (
            "PUT",
            format!("{}/{cid}/Talk", calls(ALICE.0)),
            ALICE,
            200,
            false,
        ),
        (
            "DELETE",
            format!("{}/{cid}", calls(ALICE.0)),
            ALICE,
            200,
            false,
        ),
        (
            "GET",
            format!("{}/callhalf-0:0", calls(ALICE.0)),
            ALICE,
            404,
            true,
        ),
    ] {
        let (s, _, b) = exchange(&cfg, addr, method, &path, who, "").await?;
        if keep {
            c.keep(method, path, s, expected, &b);
        } else if s != expected {
            return Err(format!("{method} {path}: {s}"));
        }
    }
    // Service changes (service events), then a call refused by Do Not Disturb.
    let dnd = format!("{XSI}/user/{}/services/DoNotDisturb", ALICE.0);
    let on = r#"<DoNotDisturb xmlns="http://schema.broadsoft.com/xsi"><active>true</active></DoNotDisturb>"#;
    exchange(&cfg, addr, "PUT", &dnd, ALICE, on).await?;
    let (s, _, b) = exchange(
        &cfg,
        addr,
        "POST",
        &format!("{}/New?address=101", calls(BOB.0)),
        BOB,
        "",
    )
    .await?;
    if s != 201 {
        return Err(format!("bob's call: {s} {}", String::from_utf8_lossy(&b)));
    }

    // Every event on the stream: acknowledge and keep it, until the stream is quiet.
    let mut events = 0;
    while let Ok(Some(chunk)) =
        tokio::time::timeout(Duration::from_millis(700), stream.recv()).await
    {
        let text = String::from_utf8_lossy(&chunk).into_owned();
        if let Some(id) = between(&text, "<xsi:eventID>", "</xsi:eventID>") {
            let ack = format!(
                r#"<EventResponse xmlns="http://schema.broadsoft.com/xsi"><eventID>{id}</eventID><statusCode>200</statusCode><reason>OK</reason></EventResponse>"#
            );
            exchange(
                &cfg,
                addr,
                "POST",
                &format!("{EV}/channel/eventresponse"),
                ALICE,
                &ack,
            )
            .await?;
        }
        let kind = between(&text, "<xsi:eventData xsi1:type=\"xsi:", "\"")
            .unwrap_or_else(|| "ChannelHeartBeat".into());
        c.keep(
            "STREAM",
            format!("chunk {events}: {kind}"),
            200,
            200,
            &chunk,
        );
        events += 1;
    }
    if events < PACKAGES.len() + 4 {
        return Err(format!("only {events} chunks on the stream"));
    }
    // Deleting the channel ends the stream with ChannelTerminatedEvent.
    exchange(
        &cfg,
        addr,
        "DELETE",
        &format!("{EV}/channel/{channel_id}"),
        ALICE,
        "",
    )
    .await?;
    let last = tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .map_err(|_| "no ChannelTerminatedEvent")?
        .ok_or("stream closed without ChannelTerminatedEvent")?;
    c.keep(
        "STREAM",
        "last chunk: ChannelTerminatedEvent".into(),
        200,
        200,
        &last,
    );
    Ok(c.out)
}
