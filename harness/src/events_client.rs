//! A small Xsi-Events client: event channels over TLS with Basic credentials, for tests,
//! benchmarks (`bwlab bench events`) and, later, the reference Webex clients.
//!
//! * [`EventsClient`] sends the ordinary commands — heartbeat, event response,
//!   subscription, channel delete — on one keep-alive HTTPS connection (hyper's client).
//!   Clones made with [`EventsClient::as_user`] share that connection, so a few connections
//!   can serve many subscribers' channels.
//! * [`EventChannel`] is one streaming channel. The channel-add request is written by hand
//!   and the chunked answer read by [`ChunkDecoder`], so every HTTP chunk is seen exactly
//!   as the server sent it: one XML document per chunk.
//!
//! ```no_run
//! # async fn demo(lab: &bwlab::Lab) -> Result<(), bwlab::events_client::EventsError> {
//! use bwlab::events_client::{ChannelRequest, Endpoint, EventsClient, StreamItem};
//! let (_, xsp) = lab.xsps().next().unwrap();
//! let endpoint = Endpoint::new(xsp.https_addr(), "xsp1.lab.example", lab.pki().lab_trust_bundle())?;
//! let client = EventsClient::new(endpoint, "alice@lab.example", "Alice-pw1");
//! let mut channel = client.open_channel(&ChannelRequest::new("set-1", "my-app")).await?;
//! client.subscribe("alice@lab.example", "Advanced Call", "set-1", "my-app").await?;
//! while let Some(item) = channel.next_event().await? {
//!     match item {
//!         StreamItem::Event(ev) => {
//!             if let Some(id) = ev.event_id() {
//!                 client.ack(id, 200).await?;
//!             }
//!         }
//!         StreamItem::Heartbeat => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Heartbeats are the caller's job: [`EventsClient::heartbeat`] every `eventTimeout / 2`
//! (15 s with the default 30 s), or the XSP closes the channel.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bwlab_xsi::documents::XsiDocument;
use bwlab_xsi::documents::events::{
    Channel, ChannelHeartBeat, Event, EventPackages, EventResponse, EventStatus, Subscription,
};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Context root of the Xsi-Events commands.
pub const EVENTS_ROOT: &str = "/com.broadsoft.xsi-events/v2.0";
/// Path of the streaming channel add (the only request under `/com.broadsoft.async`).
pub const CHANNEL_ADD_PATH: &str = "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0/channel";

/// Largest response head accepted (status line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// Largest chunk accepted (the XSP's biggest documents are call snapshots of busy users).
pub const MAX_CHUNK: usize = 4 * 1024 * 1024;
/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 1024;

/// What went wrong talking to an XSP.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// TCP connect failed.
    #[error("connect {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The TLS handshake failed (certificate, name, protocol).
    #[error("TLS with {server}: {source}")]
    Tls {
        server: String,
        source: std::io::Error,
    },
    /// The server name is not a valid DNS name or IP address.
    #[error("invalid server name {0:?}")]
    ServerName(String),
    /// Building the TLS client configuration failed.
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// Reading or writing the stream failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// hyper reported an error on the command connection.
    #[error("HTTP: {0}")]
    Http(String),
    /// The response head could not be read.
    #[error("bad response head: {0}")]
    Head(String),
    /// The server answered with an unexpected status.
    #[error("{what}: HTTP {status}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
    },
    /// The chunked body was malformed or cut short.
    #[error("chunked stream: {0}")]
    Chunk(#[from] ChunkError),
    /// A chunk or answer was not the expected XML document.
    #[error("unexpected document: {message}: {text}")]
    Document { message: String, text: String },
}

impl EventsError {
    fn document(message: impl std::fmt::Display, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
        EventsError::Document {
            message: message.to_string(),
            text,
        }
    }
}

/// The future a [`Dialer`] returns: the address for one new connection.
pub type DialFuture = Pin<Box<dyn Future<Output = Result<SocketAddr, String>> + Send>>;

/// Chooses the address of every new connection (e.g. by resolving a name again, as an OS
/// resolver does). With a dialer, an endpoint keeps no command connection open: each
/// command uses a new connection, and so a new choice.
pub type Dialer = Arc<dyn Fn() -> DialFuture + Send + Sync>;

/// Where the XSP is and how to trust it.
#[derive(Clone)]
pub struct Endpoint {
    /// Socket address to connect to (unless [`dialer`](Self::dialer) chooses).
    pub addr: SocketAddr,
    /// TLS server name (SNI, certificate check) and `Host` header.
    pub server_name: String,
    /// Client TLS configuration.
    pub tls: Arc<rustls::ClientConfig>,
    /// Chooses the address of each new connection instead of `addr`.
    pub dialer: Option<Dialer>,
}

impl Endpoint {
    /// An endpoint trusting the given CA certificates (e.g. `lab.pki().lab_trust_bundle()`).
    pub fn new(
        addr: SocketAddr,
        server_name: impl Into<String>,
        trust: Vec<CertificateDer<'static>>,
    ) -> Result<Self, EventsError> {
        let tls = bwlab_pki::client_config(&bwlab_pki::ClientOptions::new(trust))
            .map_err(|e| EventsError::TlsConfig(e.to_string()))?;
        Ok(Endpoint {
            addr,
            server_name: server_name.into(),
            tls,
            dialer: None,
        })
    }

    /// An endpoint with a ready TLS configuration (client certificates, pinned suites…).
    pub fn with_tls(
        addr: SocketAddr,
        server_name: impl Into<String>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Self {
        Endpoint {
            addr,
            server_name: server_name.into(),
            tls,
            dialer: None,
        }
    }

    /// The same endpoint, with every new connection's address chosen by `dialer`.
    pub fn dialing(mut self, dialer: Dialer) -> Self {
        self.dialer = Some(dialer);
        self
    }

    async fn connect(&self) -> Result<TlsStream<TcpStream>, EventsError> {
        let addr = match &self.dialer {
            Some(dial) => dial().await.map_err(|e| EventsError::Connect {
                addr: self.addr,
                source: std::io::Error::other(e),
            })?,
            None => self.addr,
        };
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|source| EventsError::Connect { addr, source })?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from(self.server_name.clone())
            .map_err(|_| EventsError::ServerName(self.server_name.clone()))?;
        tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|source| EventsError::Tls {
                server: self.server_name.clone(),
                source,
            })
    }
}

/// The `<Channel>` of a channel add.
#[derive(Clone, Debug)]
pub struct ChannelRequest {
    pub channel_set_id: String,
    pub priority: u32,
    pub weight: u32,
    /// Requested lifetime in seconds.
    pub expires: u32,
    pub application_id: String,
}

impl ChannelRequest {
    /// Priority 1, weight 50, one hour.
    pub fn new(channel_set_id: impl Into<String>, application_id: impl Into<String>) -> Self {
        ChannelRequest {
            channel_set_id: channel_set_id.into(),
            priority: 1,
            weight: 50,
            expires: 3600,
            application_id: application_id.into(),
        }
    }

    fn to_xml(&self) -> Vec<u8> {
        Channel {
            channel_id: None,
            channel_set_id: Some(self.channel_set_id.clone()),
            priority: Some(self.priority),
            weight: Some(self.weight),
            expires: Some(self.expires),
            application_id: Some(self.application_id.clone()),
        }
        .to_xml()
    }
}

type Sender = SendRequest<Full<Bytes>>;

/// Commands for one subscriber (Basic credentials) over a shared keep-alive connection.
///
/// Cheap to clone; clones share the connection and the captured cookie.
#[derive(Clone)]
pub struct EventsClient {
    endpoint: Arc<Endpoint>,
    /// The `Authorization` header value; empty: no header (a client known by its
    /// certificate, as on the CTI interface).
    authorization: Arc<str>,
    conn: Arc<tokio::sync::Mutex<Option<Sender>>>,
    cookie: Arc<Mutex<Option<String>>>,
}

impl EventsClient {
    /// A client acting as `user` (Basic, UTF-8). Nothing is connected yet.
    pub fn new(endpoint: Endpoint, user: &str, password: &str) -> Self {
        EventsClient {
            endpoint: Arc::new(endpoint),
            authorization: basic(user, password).into(),
            conn: Arc::new(tokio::sync::Mutex::new(None)),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    /// A client sending `authorization` as the `Authorization` header (`Bearer <JWT>`…),
    /// or no such header with `None` (a CTI client, known by its certificate).
    pub fn with_authorization(endpoint: Endpoint, authorization: Option<String>) -> Self {
        EventsClient {
            endpoint: Arc::new(endpoint),
            authorization: authorization.unwrap_or_default().into(),
            conn: Arc::new(tokio::sync::Mutex::new(None)),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    /// Another subscriber's client on the same command connection (its own cookie).
    pub fn as_user(&self, user: &str, password: &str) -> Self {
        EventsClient {
            endpoint: self.endpoint.clone(),
            authorization: basic(user, password).into(),
            conn: self.conn.clone(),
            cookie: Arc::new(Mutex::new(None)),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The cookie captured from the last channel add (`name=value; …`), sent with every
    /// command so a load balancer with cookie affinity keeps them on the channel's node.
    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().ok().and_then(|c| c.clone())
    }

    /// Opens a channel: connects, sends the channel add and reads the answer up to the
    /// first chunk (the `<Channel>` with the `channelId`). Captures `Set-Cookie`.
    pub async fn open_channel(&self, req: &ChannelRequest) -> Result<EventChannel, EventsError> {
        let mut io = self.endpoint.connect().await?;
        let body = req.to_xml();
        let mut head = format!(
            "POST {CHANNEL_ADD_PATH} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/xml; charset=UTF-8\r\nContent-Length: {}\r\n",
            self.endpoint.server_name,
            body.len()
        );
        if !self.authorization.is_empty() {
            head.push_str(&format!("Authorization: {}\r\n", self.authorization));
        }
        if let Some(c) = self.cookie() {
            head.push_str(&format!("Cookie: {c}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        io.write_all(&out).await?;
        io.flush().await?;
        let mut ch = EventChannel {
            io,
            buf: BytesMut::with_capacity(2048),
            decoder: ChunkDecoder::new(),
            status: 0,
            headers: Vec::new(),
            channel_id: String::new(),
            channel: Channel::default(),
            ended: false,
        };
        ch.read_head().await?;
        let cookies: Vec<String> = ch
            .headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next().map(|p| p.trim().to_owned()))
            .filter(|p| p.contains('='))
            .collect();
        if !cookies.is_empty()
            && let Ok(mut c) = self.cookie.lock()
        {
            *c = Some(cookies.join("; "));
        }
        let chunked = ch
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if !chunked {
            // A refusal with a plain body (the XSP chunks even those, but be lenient).
            let len: usize = ch
                .header("content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
                .min(64 * 1024);
            let body = ch.read_exact_body(len).await.unwrap_or_default();
            let mut text = String::from_utf8_lossy(&body).into_owned();
            if let Some(location) = ch.header("location") {
                text = format!("Location: {location} {text}");
            }
            return Err(EventsError::Status {
                what: "channel add",
                status: ch.status,
                body: text,
            });
        }
        let first = ch.next_chunk().await?.unwrap_or_default();
        if ch.status != 200 {
            return Err(EventsError::Status {
                what: "channel add",
                status: ch.status,
                body: String::from_utf8_lossy(&first).into_owned(),
            });
        }
        let channel =
            Channel::from_xml(&first).map_err(|e| EventsError::document(e.to_string(), &first))?;
        ch.channel_id = channel
            .channel_id
            .clone()
            .ok_or_else(|| EventsError::document("no channelId", &first))?;
        ch.channel = channel;
        Ok(ch)
    }

    /// `PUT channel/{id}/heartbeat`.
    pub async fn heartbeat(&self, channel_id: &str) -> Result<(), EventsError> {
        let path = format!("{EVENTS_ROOT}/channel/{channel_id}/heartbeat");
        self.expect_ok("heartbeat", Method::PUT, &path, Bytes::new())
            .await
            .map(drop)
    }

    /// `POST channel/eventresponse` for `event_id` with status `code` (200, 400, 404, 481
    /// or 500; other codes are sent as 500).
    pub async fn ack(&self, event_id: &str, code: u16) -> Result<(), EventsError> {
        let status = EventStatus::from_code(code).unwrap_or(EventStatus::ServerError);
        let reason = if status == EventStatus::Ok {
            "OK"
        } else {
            "refused"
        };
        let body = EventResponse {
            event_id: event_id.to_owned(),
            status,
            reason: reason.into(),
        }
        .to_xml();
        let path = format!("{EVENTS_ROOT}/channel/eventresponse");
        self.expect_ok("event response", Method::POST, &path, body.into())
            .await
            .map(drop)
    }

    /// `POST user/{user}`: subscribes `package` (e.g. `Advanced Call`) for one hour on
    /// `channel_set`. Returns the subscription id.
    pub async fn subscribe(
        &self,
        user: &str,
        package: &str,
        channel_set: &str,
        application_id: &str,
    ) -> Result<String, EventsError> {
        let body = Subscription {
            events: Some(EventPackages::Single(package.to_owned())),
            expires: Some(3600),
            channel_set_id: Some(channel_set.to_owned()),
            application_id: Some(application_id.to_owned()),
            ..Subscription::default()
        }
        .to_xml();
        let path = format!("{EVENTS_ROOT}/user/{user}");
        let answer = self
            .expect_ok("subscribe", Method::POST, &path, body.into())
            .await?;
        let sub = Subscription::from_xml(&answer)
            .map_err(|e| EventsError::document(e.to_string(), &answer))?;
        sub.subscription_id
            .ok_or_else(|| EventsError::document("no subscriptionId", &answer))
    }

    /// `DELETE channel/{id}`: the XSP writes `ChannelTerminatedEvent` and ends the stream.
    pub async fn delete_channel(&self, channel_id: &str) -> Result<(), EventsError> {
        let path = format!("{EVENTS_ROOT}/channel/{channel_id}");
        self.expect_ok("channel delete", Method::DELETE, &path, Bytes::new())
            .await
            .map(drop)
    }

    async fn expect_ok(
        &self,
        what: &'static str,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<Bytes, EventsError> {
        let (status, answer) = self.request(method, path, body).await?;
        if status == 200 {
            Ok(answer)
        } else {
            Err(EventsError::Status {
                what,
                status,
                body: String::from_utf8_lossy(&answer).into_owned(),
            })
        }
    }

    /// One request on the shared connection; reconnects once if the connection was closed
    /// (idle keep-alive timeout on the server).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), EventsError> {
        let mut conn = self.conn.lock().await;
        let mut retried = false;
        loop {
            // With a dialer every command gets a new connection (and a new address choice).
            let reused =
                self.endpoint.dialer.is_none() && conn.as_ref().is_some_and(|s| !s.is_closed());
            if !reused {
                *conn = Some(self.connect_commands().await?);
            }
            let Some(sender) = conn.as_mut() else {
                continue;
            };
            let mut b = Request::builder()
                .method(method.clone())
                .uri(path)
                .header("host", self.endpoint.server_name.as_str());
            if !self.authorization.is_empty() {
                b = b.header("authorization", &*self.authorization);
            }
            if !body.is_empty() {
                b = b.header("content-type", "application/xml; charset=UTF-8");
            }
            if let Some(c) = self.cookie() {
                b = b.header("cookie", c);
            }
            let req = b
                .body(Full::new(body.clone()))
                .map_err(|e| EventsError::Http(e.to_string()))?;
            let sent = match sender.ready().await {
                Ok(()) => sender.send_request(req).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let answer = resp
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| EventsError::Http(e.to_string()))?
                        .to_bytes();
                    return Ok((status, answer));
                }
                Err(e) => {
                    *conn = None;
                    if reused && !retried {
                        retried = true;
                        continue;
                    }
                    return Err(EventsError::Http(e.to_string()));
                }
            }
        }
    }

    async fn connect_commands(&self) -> Result<Sender, EventsError> {
        let io = self.endpoint.connect().await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| EventsError::Http(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// One document from a channel's stream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // read, handled, dropped
pub enum StreamItem {
    /// An `<xsi:Event>`: a subscription event (acknowledge it), `ChannelTerminatedEvent`
    /// (the stream ends after it) or the legacy `ErrorEvent`.
    Event(Event),
    /// `<ChannelHeartBeat/>`, the echo of a heartbeat.
    Heartbeat,
}

/// One open event channel (one streaming TLS connection).
pub struct EventChannel {
    io: TlsStream<TcpStream>,
    buf: BytesMut,
    decoder: ChunkDecoder,
    status: u16,
    headers: Vec<(String, String)>,
    channel_id: String,
    channel: Channel,
    ended: bool,
}

impl EventChannel {
    /// The server-assigned channel id.
    pub fn id(&self) -> &str {
        &self.channel_id
    }

    /// The `<Channel>` the stream started with (granted `expires`…).
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The address the channel's connection went to.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.io.get_ref().0.peer_addr().ok()
    }

    /// HTTP status of the channel add.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// A response header (name in lower case), first occurrence.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The next document, parsed. `Ok(None)` once the stream ended (last chunk, or the
    /// server closed the connection between chunks); an error for a malformed stream, a
    /// connection cut inside a chunk or a chunk that is neither an event nor a heartbeat.
    pub async fn next_event(&mut self) -> Result<Option<StreamItem>, EventsError> {
        let Some(chunk) = self.next_chunk().await? else {
            return Ok(None);
        };
        parse_item(&chunk).map(Some)
    }

    /// The next chunk's payload, unparsed (`Ok(None)` at the end of the stream).
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, EventsError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            match self.decoder.decode(&mut self.buf)? {
                Some(Decoded::Chunk(c)) => return Ok(Some(c)),
                Some(Decoded::End) => {
                    self.ended = true;
                    return Ok(None);
                }
                None => {}
            }
            if !self.fill().await? {
                self.ended = true;
                self.decoder.eof(&self.buf)?;
                return Ok(None);
            }
        }
    }

    /// Closes the connection cleanly (TLS `close_notify`, then FIN). The server notices and
    /// drops the stream; the channel itself lives on until its heartbeats stop (use
    /// [`EventsClient::delete_channel`] to end it at once).
    pub async fn close(mut self) -> Result<(), EventsError> {
        self.io.shutdown().await?;
        Ok(())
    }

    async fn fill(&mut self) -> Result<bool, EventsError> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(4096);
        }
        let n = self.io.read_buf(&mut self.buf).await?;
        Ok(n > 0)
    }

    async fn read_head(&mut self) -> Result<(), EventsError> {
        let end = loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(EventsError::Head(format!("longer than {MAX_HEAD} bytes")));
            }
            if !self.fill().await? {
                return Err(EventsError::Head(
                    "connection closed before the head".into(),
                ));
            }
        };
        let head = self.buf.split_to(end);
        self.buf.advance(4);
        let text = std::str::from_utf8(&head)
            .map_err(|_| EventsError::Head("not UTF-8".into()))?
            .to_owned();
        let (status, headers) = parse_head(&text)?;
        self.status = status;
        self.headers = headers;
        Ok(())
    }

    async fn read_exact_body(&mut self, len: usize) -> Result<Bytes, EventsError> {
        while self.buf.len() < len {
            if !self.fill().await? {
                break;
            }
        }
        let n = len.min(self.buf.len());
        Ok(self.buf.split_to(n).freeze())
    }
}

/// Reads one chunk as a stream document.
pub fn parse_item(chunk: &[u8]) -> Result<StreamItem, EventsError> {
    if chunk == ChannelHeartBeat::BYTES.as_slice() {
        return Ok(StreamItem::Heartbeat);
    }
    match Event::from_xml(chunk) {
        Ok(ev) => Ok(StreamItem::Event(ev)),
        Err(e) => match ChannelHeartBeat::from_xml(chunk) {
            Ok(_) => Ok(StreamItem::Heartbeat),
            Err(_) => Err(EventsError::document(e.to_string(), chunk)),
        },
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Status code and headers (names lower-cased) of an HTTP/1.1 response head.
fn parse_head(text: &str) -> Result<(u16, Vec<(String, String)>), EventsError> {
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(EventsError::Head(format!("status line {status_line:?}")));
    }
    let status = parts
        .next()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (100..1000).contains(c))
        .ok_or_else(|| EventsError::Head(format!("status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| EventsError::Head(format!("header line {line:?}")))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    Ok((status, headers))
}

// ----- chunked transfer coding ------------------------------------------------------------

/// A malformed chunked body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The chunk-size line is not a hexadecimal number (extensions after `;` are allowed).
    #[error("bad chunk-size line {0:?}")]
    BadSize(String),
    /// A chunk larger than [`MAX_CHUNK`].
    #[error("chunk of {0} bytes is larger than the {MAX_CHUNK}-byte limit")]
    TooLarge(u64),
    /// Chunk data not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    MissingCrlf,
    /// A size or trailer line without CRLF within 1,024 bytes.
    #[error("line longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// The connection closed inside a chunk (or its size line, or the trailers).
    #[error("connection closed inside a chunk")]
    Truncated,
}

/// What [`ChunkDecoder::decode`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// One chunk's data (never empty).
    Chunk(Bytes),
    /// The last chunk and its trailers: the body is complete.
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Size,
    Data(usize),
    Trailers,
    Done,
}

/// A sans-I/O decoder of the chunked transfer coding (RFC 9112 §7.1): feed it the bytes
/// after the response head; it hands out whole chunks, one at a time, without copying.
/// Chunk extensions and trailers are read and ignored.
#[derive(Debug)]
pub struct ChunkDecoder {
    state: State,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkDecoder {
    pub fn new() -> Self {
        ChunkDecoder { state: State::Size }
    }

    /// Takes the next complete chunk off the front of `buf`; `Ok(None)` when more bytes
    /// are needed. After [`Decoded::End`] it keeps answering `End` and leaves `buf` alone.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ChunkError> {
        loop {
            match self.state {
                State::Done => return Ok(Some(Decoded::End)),
                State::Size => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    let size = parse_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(size) => {
                    if buf.len() < size + 2 {
                        return Ok(None);
                    }
                    if &buf[size..size + 2] != b"\r\n" {
                        return Err(ChunkError::MissingCrlf);
                    }
                    let data = buf.split_to(size).freeze();
                    buf.advance(2);
                    self.state = State::Size;
                    return Ok(Some(Decoded::Chunk(data)));
                }
                State::Trailers => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(None);
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                    }
                }
            }
        }
    }

    /// Whether a connection closing now, with `buf` left over, ends the body cleanly:
    /// only between chunks with nothing buffered, or after the last chunk.
    pub fn eof(&self, buf: &BytesMut) -> Result<(), ChunkError> {
        match self.state {
            State::Done => Ok(()),
            State::Size if buf.is_empty() => Ok(()),
            _ => Err(ChunkError::Truncated),
        }
    }
}

/// Takes one CRLF-terminated line (without the CRLF) off `buf`.
fn take_line(buf: &mut BytesMut) -> Result<Option<Bytes>, ChunkError> {
    let window = &buf[..buf.len().min(MAX_LINE + 2)];
    match find(window, b"\r\n") {
        Some(pos) => {
            let line = buf.split_to(pos).freeze();
            buf.advance(2);
            Ok(Some(line))
        }
        None if buf.len() > MAX_LINE + 1 => Err(ChunkError::LineTooLong),
        None => Ok(None),
    }
}

fn parse_size(line: &[u8]) -> Result<usize, ChunkError> {
    let bad = || ChunkError::BadSize(String::from_utf8_lossy(line).into_owned());
    let digits = line.split(|&b| b == b';').next().unwrap_or_default();
    let digits = digits.trim_ascii();
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    let text = std::str::from_utf8(digits).map_err(|_| bad())?;
    let size = u64::from_str_radix(text, 16).map_err(|_| bad())?;
    if size > MAX_CHUNK as u64 {
        return Err(ChunkError::TooLarge(size));
    }
    Ok(size as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `input` in pieces cut at `cuts` and collects everything decoded.
    fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Result<(Vec<Bytes>, bool), ChunkError> {
        let mut dec = ChunkDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut ended = false;
        let mut start = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        points.sort_unstable();
        points.push(input.len());
        for p in points {
            buf.extend_from_slice(&input[start..p.max(start)]);
            start = p.max(start);
            while !ended {
                match dec.decode(&mut buf)? {
                    Some(Decoded::Chunk(c)) => out.push(c),
                    Some(Decoded::End) => ended = true,
                    None => break,
                }
            }
        }
        if !ended {
            dec.eof(&buf)?;
        }
        Ok((out, ended))
    }

    fn encode(chunks: &[Vec<u8>], last: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        if last {
            out.extend_from_slice(b"0\r\n\r\n");
        }
        out
    }

    #[test]
    fn whole_and_split_chunks() {
        let input = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        for cut in 0..input.len() {
            let (chunks, ended) = decode_in_pieces(input, &[cut]).unwrap();
            assert_eq!(chunks, vec![Bytes::from("hello"), Bytes::from(" world")]);
            assert!(ended);
        }
    }

    #[test]
    fn extensions_and_trailers_are_ignored() {
        let input =
            b"5;name=value;x\r\nhello\r\nA ; ext\r\n0123456789\r\n0;end\r\nX-Trailer: 1\r\n\r\n";
        let (chunks, ended) = decode_in_pieces(input, &[]).unwrap();
        assert_eq!(
            chunks,
            vec![Bytes::from("hello"), Bytes::from("0123456789")]
        );
        assert!(ended);
    }

    #[test]
    fn chunk_data_may_hold_crlf_and_must_end_with_one() {
        let (chunks, _) = decode_in_pieces(b"4\r\n\r\n\r\n\r\n", &[]).unwrap();
        assert_eq!(chunks, vec![Bytes::from("\r\n\r\n")]);
        assert_eq!(
            decode_in_pieces(b"3\r\nabcd\r\n", &[]),
            Err(ChunkError::MissingCrlf)
        );
    }

    #[test]
    fn eof_between_chunks_ends_the_stream_inside_one_is_an_error() {
        let (chunks, ended) = decode_in_pieces(b"3\r\nabc\r\n", &[]).unwrap();
        assert_eq!(chunks.len(), 1);
        assert!(!ended);
        for cut in [
            b"3\r\nab".as_slice(),
            b"3\r\nabc",
            b"3\r\nabc\r",
            b"3",
            b"0\r\n",
        ] {
            assert_eq!(
                decode_in_pieces(cut, &[]),
                Err(ChunkError::Truncated),
                "{cut:?}"
            );
        }
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert!(matches!(
            decode_in_pieces(b"xyz\r\n", &[]),
            Err(ChunkError::BadSize(_))
        ));
        assert!(matches!(
            decode_in_pieces(b"\r\n", &[]),
            Err(ChunkError::BadSize(_))
        ));
        assert!(matches!(
            decode_in_pieces(b"-1\r\n", &[]),
            Err(ChunkError::BadSize(_))
        ));
        assert!(matches!(
            decode_in_pieces(b"ffffffffffffffffff\r\n", &[]),
            Err(ChunkError::BadSize(_))
        ));
        assert_eq!(
            decode_in_pieces(b"7fffffff\r\n", &[]),
            Err(ChunkError::TooLarge(0x7fff_ffff))
        );
        let long = vec![b'1'; MAX_LINE + 10];
        assert_eq!(decode_in_pieces(&long, &[]), Err(ChunkError::LineTooLong));
    }

    #[test]
    fn head_parsing() {
        let (status, headers) =
            parse_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=b; Path=/")
                .unwrap();
        assert_eq!(status, 200);
        assert_eq!(headers[0], ("transfer-encoding".into(), "chunked".into()));
        assert!(parse_head("SIP/2.0 200 OK").is_err());
        assert!(parse_head("HTTP/1.1 abc").is_err());
        assert!(parse_head("HTTP/1.1 200 OK\r\nno colon").is_err());
    }

    #[test]
    fn heartbeat_and_event_chunks() {
        assert_eq!(
            parse_item(ChannelHeartBeat::BYTES).unwrap(),
            StreamItem::Heartbeat
        );
        let other =
            br#"<?xml version="1.0"?><ChannelHeartbeat xmlns="http://schema.broadsoft.com/xsi"/>"#;
        assert_eq!(parse_item(other).unwrap(), StreamItem::Heartbeat);
        assert!(parse_item(b"<nonsense/>").is_err());
        assert!(parse_item(b"\xff\xfe").is_err());
    }

    /// The client against a real lab XSP: channel, subscription, initial event and its
    /// acknowledgement, heartbeat echo, explicit delete.
    #[tokio::test]
    async fn drives_a_lab_channel() {
        let lab = crate::Lab::builder().start().await.unwrap();
        let (_, xsp) = lab.xsps().next().unwrap();
        let endpoint = Endpoint::new(
            xsp.https_addr(),
            "xsp.lab.example",
            lab.pki().lab_trust_bundle(),
        )
        .unwrap();
        let alice = EventsClient::new(endpoint, "alice@lab.example", "Alice-pw1");
        let mut ch = alice
            .open_channel(&ChannelRequest::new("set-1", "unit-test"))
            .await
            .unwrap();
        assert_eq!(ch.status(), 200);
        assert_eq!(ch.id().len(), 36);
        // The XSP's session cookie, sent with every later command.
        assert!(alice.cookie().is_some_and(|c| c.contains('=')));
        alice
            .subscribe("alice@lab.example", "Advanced Call", "set-1", "unit-test")
            .await
            .unwrap();
        let Some(StreamItem::Event(ev)) = ch.next_event().await.unwrap() else {
            panic!("an event first");
        };
        let sub = ev.as_subscription().expect("a subscription event");
        assert_eq!(sub.data.type_name(), "CallSubscriptionEvent");
        alice.ack(&sub.event_id, 200).await.unwrap();
        alice.heartbeat(ch.id()).await.unwrap();
        assert_eq!(ch.next_event().await.unwrap(), Some(StreamItem::Heartbeat));
        // Another user's clone shares the connection but not the credentials.
        let bob = alice.as_user("bob@lab.example", "Bob-pw1");
        assert!(matches!(
            bob.heartbeat(ch.id()).await,
            Err(EventsError::Status { .. })
        ));
        alice.delete_channel(ch.id()).await.unwrap();
        let Some(StreamItem::Event(Event::ChannelTerminated(_))) = ch.next_event().await.unwrap()
        else {
            panic!("ChannelTerminatedEvent");
        };
        assert_eq!(ch.next_event().await.unwrap(), None);
        ch.close().await.ok();
        // A wrong password is refused before any stream starts.
        let endpoint = alice.endpoint().clone();
        let wrong = EventsClient::new(endpoint, "alice@lab.example", "nope");
        match wrong
            .open_channel(&ChannelRequest::new("set-2", "unit-test"))
            .await
        {
            Err(EventsError::Status { status, .. }) => assert_eq!(status, 401),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened with a wrong password"),
        }
        lab.shutdown().await;
    }

    proptest! {
        /// Any chunk sequence, cut anywhere, decodes to the same chunks.
        #[test]
        fn round_trip_with_arbitrary_splits(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..8),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let input = encode(&chunks, true);
            let (out, ended) = decode_in_pieces(&input, &cuts).unwrap();
            prop_assert!(ended);
            let want: Vec<Bytes> = chunks.iter().map(|c| Bytes::copy_from_slice(c)).collect();
            prop_assert_eq!(out, want);
        }

        /// Arbitrary bytes never panic, and a truncated valid stream is never mistaken for
        /// a complete one.
        #[test]
        fn garbage_and_truncation_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..50), 1..5),
            cut in any::<usize>(),
        ) {
            let _ = decode_in_pieces(&bytes, &[cut]);
            let input = encode(&chunks, true);
            let cut = cut % input.len();
            match decode_in_pieces(&input[..cut], &[]) {
                Ok((_, ended)) => prop_assert!(!ended),
                Err(e) => prop_assert_eq!(e, ChunkError::Truncated),
            }
        }
    }
}
