//! A raw event-channel client: writes the channel-add request by hand and reads the
//! chunked response chunk by chunk, so tests see exactly one document per HTTP chunk.

use std::net::SocketAddr;
use std::sync::Arc;

use bwlab_pki::rustls::ClientConfig;
use bwlab_pki::rustls::pki_types::ServerName;
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

pub const ASYNC_CHANNEL: &str = "/com.broadsoft.async/com.broadsoft.xsi-events/v2.0/channel";

/// One open streaming connection.
pub struct EventStream {
    io: TlsStream<TcpStream>,
    buf: BytesMut,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    ended: bool,
}

impl EventStream {
    /// Sends `POST path` with `body` and reads the response head.
    pub async fn open(
        addr: SocketAddr,
        config: Arc<ClientConfig>,
        path: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> std::io::Result<EventStream> {
        let tcp = TcpStream::connect(addr).await?;
        let mut io = tokio_rustls::TlsConnector::from(config)
            .connect(ServerName::try_from(super::SERVER_NAME).unwrap(), tcp)
            .await?;
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/xml; charset=UTF-8\r\nContent-Length: {}\r\n",
            super::SERVER_NAME,
            body.len()
        );
        if let Some(a) = authorization {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        io.write_all(req.as_bytes()).await?;
        let mut s = EventStream {
            io,
            buf: BytesMut::new(),
            status: 0,
            headers: Vec::new(),
            ended: false,
        };
        let head = s.read_until(b"\r\n\r\n").await?;
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        s.status = status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        for l in lines.filter(|l| !l.is_empty()) {
            if let Some((k, v)) = l.split_once(':') {
                s.headers
                    .push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        Ok(s)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    async fn fill(&mut self) -> std::io::Result<bool> {
        let mut tmp = [0u8; 8192];
        let n = self.io.read(&mut tmp).await?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n > 0)
    }

    async fn read_until(&mut self, delim: &[u8]) -> std::io::Result<Bytes> {
        loop {
            if let Some(pos) = self.buf.windows(delim.len()).position(|w| w == delim) {
                let out = self.buf.split_to(pos).freeze();
                self.buf.advance(delim.len());
                return Ok(out);
            }
            if !self.fill().await? {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// The next chunk's payload; `None` once the stream ended (last chunk, or the
    /// connection closed).
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.ended {
            return None;
        }
        let line = match self.read_until(b"\r\n").await {
            Ok(l) => l,
            Err(_) => {
                self.ended = true;
                return None;
            }
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&line).trim(), 16).ok()?;
        if size == 0 {
            self.ended = true;
            return None;
        }
        while self.buf.len() < size + 2 {
            if !self.fill().await.ok()? {
                self.ended = true;
                return None;
            }
        }
        let data = self.buf.split_to(size).freeze();
        self.buf.advance(2);
        Some(data)
    }

    /// The next chunk as text (panics if the stream ended).
    pub async fn next_text(&mut self) -> String {
        let c = self.next_chunk().await.expect("stream ended");
        String::from_utf8(c.to_vec()).expect("utf-8")
    }
}
