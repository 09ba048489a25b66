//! A [`CiTokenValidator`] that asks a token-info endpoint over HTTPS (the fake CI's
//! `/idb/oauth2/v1/tokeninfo`, or the IdP proxy in front of it).
//!
//! Request: `GET <path>` with `Authorization: Bearer <CI token>`. Expected answer: `200` with
//! a JSON object `{"active": bool, "reason"?, "email"?, "user_id"?, "broadworks_user_id"?,
//! "org_id"?, "scope"? (space-separated)}`. `active=false` → [`CiError::Invalid`]; anything
//! else unusable (connection, TLS, status, JSON, timeout) → [`CiError::Unavailable`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab_pki::rustls::ClientConfig;
use bwlab_pki::rustls::pki_types::ServerName;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::{CiError, CiFuture, CiIdentity, CiTokenValidator};

/// Largest token-info answer read (`ciResponseBodyMaxSizeInBytes`).
pub const CI_RESPONSE_MAX_BYTES: usize = 65536;

/// HTTPS token introspection (see the module docs for the exchange).
#[derive(Clone)]
pub struct HttpCiValidator {
    addr: SocketAddr,
    host: String,
    path: String,
    tls: Arc<ClientConfig>,
    /// Whole-exchange timeout (default 2 s, like the Webex cloud's per-attempt limit).
    pub timeout: Duration,
}

impl HttpCiValidator {
    /// Asks `https://<host>:<addr.port()><path>` at `addr`; `host` is the TLS server name and
    /// `Host` header; `tls` must trust the endpoint's certificate.
    pub fn new(
        addr: SocketAddr,
        host: impl Into<String>,
        path: impl Into<String>,
        tls: Arc<ClientConfig>,
    ) -> Self {
        HttpCiValidator {
            addr,
            host: host.into(),
            path: path.into(),
            tls,
            timeout: Duration::from_secs(2),
        }
    }

    async fn ask(&self, token: &str) -> Result<Value, String> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        let name = ServerName::try_from(self.host.clone()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::get(self.path.as_str())
            .header("host", self.host.as_str())
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), CI_RESPONSE_MAX_BYTES)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("token info answered {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("token info JSON: {e}"))
    }
}

/// Turns a token-info JSON object into an identity.
pub(crate) fn identity_from(info: &Value) -> Result<CiIdentity, CiError> {
    let s = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_owned);
    match info.get("active").and_then(Value::as_bool) {
        Some(true) => {}
        Some(false) => {
            return Err(CiError::Invalid(
                s("reason").unwrap_or_else(|| "inactive".into()),
            ));
        }
        None => return Err(CiError::Unavailable("token info without `active`".into())),
    }
    let user = s("broadworks_user_id")
        .or_else(|| s("email"))
        .or_else(|| s("user_id"))
        .ok_or_else(|| CiError::Unavailable("token info names no user".into()))?;
    Ok(CiIdentity {
        user,
        org_id: s("org_id").unwrap_or_default(),
        scopes: s("scope")
            .unwrap_or_default()
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect(),
    })
}

impl CiTokenValidator for HttpCiValidator {
    fn validate<'a>(&'a self, token: &'a str) -> CiFuture<'a> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.ask(token)).await {
                Ok(Ok(v)) => identity_from(&v),
                Ok(Err(e)) => Err(CiError::Unavailable(e)),
                Err(_) => Err(CiError::Unavailable("token info timed out".into())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_token_info() {
        let id = identity_from(&json!({
            "active": true, "email": "a@x", "org_id": "o",
            "scope": "spark:all broadworks-connector:user"
        }))
        .unwrap();
        assert_eq!(id.user, "a@x");
        assert_eq!(id.scopes, ["spark:all", "broadworks-connector:user"]);
        let id = identity_from(&json!({"active": true, "email": "a@x", "broadworks_user_id": "b"}))
            .unwrap();
        assert_eq!(id.user, "b");
        assert_eq!(
            identity_from(&json!({"active": false, "reason": "expired"})),
            Err(CiError::Invalid("expired".into()))
        );
        assert!(matches!(
            identity_from(&json!({})),
            Err(CiError::Unavailable(_))
        ));
    }
}
