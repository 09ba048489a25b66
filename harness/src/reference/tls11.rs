//! A TLS 1.0/1.1 ClientHello written by hand: rustls speaks only TLS 1.2 and 1.3, and a
//! client limited to an older version must still be able to knock and be turned away.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cloud::TlsVersion;

/// `protocol_version` alert description.
const ALERT_PROTOCOL_VERSION: u8 = 70;

/// The ClientHello record for `version` (1.0 or 1.1) with `server_name` in SNI.
pub(crate) fn client_hello(version: TlsVersion, server_name: &str, random: [u8; 32]) -> Vec<u8> {
    let minor = match version {
        TlsVersion::V1_0 => 1,
        _ => 2,
    };
    let mut hello = Vec::new();
    hello.extend_from_slice(&[3, minor]); // client_version
    hello.extend_from_slice(&random);
    hello.push(0); // no session id
    // A few suites a TLS 1.1 client would offer, and the renegotiation SCSV.
    let suites: [u16; 6] = [0xc013, 0xc014, 0xc009, 0x002f, 0x0035, 0x00ff];
    hello.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        hello.extend_from_slice(&s.to_be_bytes());
    }
    hello.extend_from_slice(&[1, 0]); // compression: null only
    let mut ext = Vec::new();
    // server_name
    let name = server_name.as_bytes();
    let mut sni = Vec::new();
    sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni.push(0); // host_name
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    ext.extend_from_slice(&0u16.to_be_bytes());
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sni);
    // supported_groups: secp256r1, secp384r1
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18]);
    // ec_point_formats: uncompressed
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    hello.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    hello.extend_from_slice(&ext);

    let mut handshake = vec![1]; // client_hello
    let len = hello.len() as u32;
    handshake.extend_from_slice(&len.to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);

    let mut record = vec![22, 3, 1]; // handshake, record version 3.1
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

fn alert_name(desc: u8) -> String {
    match desc {
        40 => "handshake_failure".into(),
        47 => "illegal_parameter".into(),
        50 => "decode_error".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        d => d.to_string(),
    }
}

/// What the server did with an old ClientHello, as text for the journal.
pub(crate) fn describe(version: TlsVersion, answer: &[u8]) -> String {
    let v = version.label();
    match answer {
        [] => format!(
            "TLS {v} refused: the server closed the connection (no common protocol version)"
        ),
        [21, _, _, _, _, _, desc, ..] => {
            if *desc == ALERT_PROTOCOL_VERSION {
                format!(
                    "TLS {v} refused: the server sent a protocol_version alert (no common protocol version)"
                )
            } else {
                format!(
                    "TLS {v} refused: no common protocol version (the server sent alert {})",
                    alert_name(*desc)
                )
            }
        }
        [22, major, minor, ..] => format!(
            "TLS {v} handshake answered (record version {major}.{minor}); no request sent, this client cannot go on"
        ),
        other => format!(
            "TLS {v} refused: unexpected answer ({} bytes, first byte {}; no protocol version agreed)",
            other.len(),
            other[0]
        ),
    }
}

/// Sends the old ClientHello to `addr` and reads the first answer. Always an error for the
/// caller: an HTTP request is never sent.
pub(crate) async fn refused(addr: SocketAddr, server_name: &str, version: TlsVersion) -> String {
    let mut tcp = match TcpStream::connect(addr).await {
        Ok(t) => t,
        Err(e) => return format!("connect {addr}: {e}"),
    };
    let mut random = [0u8; 32];
    for (i, b) in random.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    if let Err(e) = tcp
        .write_all(&client_hello(version, server_name, random))
        .await
    {
        return format!("TLS {} ClientHello to {addr}: {e}", version.label());
    }
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 7 {
        match tcp.read(&mut buf[got..]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    describe(version, &buf[..got])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_well_formed() {
        let r = client_hello(TlsVersion::V1_1, "xsp1.lab.example", [7; 32]);
        assert_eq!(&r[..3], &[22, 3, 1]);
        let len = u16::from_be_bytes([r[3], r[4]]) as usize;
        assert_eq!(len, r.len() - 5);
        assert_eq!(r[5], 1);
        let hs_len = u32::from_be_bytes([0, r[6], r[7], r[8]]) as usize;
        assert_eq!(hs_len, len - 4);
        assert_eq!(&r[9..11], &[3, 2]);
        let text = String::from_utf8_lossy(&r);
        assert!(text.contains("xsp1.lab.example"));
    }

    #[test]
    fn answers_are_described() {
        assert!(describe(TlsVersion::V1_1, &[21, 3, 3, 0, 2, 2, 70]).contains("protocol version"));
        assert!(describe(TlsVersion::V1_1, &[21, 3, 3, 0, 2, 2, 40]).contains("protocol version"));
        assert!(describe(TlsVersion::V1_1, &[]).contains("protocol version"));
        assert!(describe(TlsVersion::V1_1, &[22, 3, 2, 0, 10, 2, 0]).contains("no request"));
    }
}
