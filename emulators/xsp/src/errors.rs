//! Error responses: every failure leaves the node as an `ErrorInfo` document in the format
//! the request negotiated, with the status the bwlab-xsi catalogue assigns (or an explicit
//! override), so clients never have to parse an HTML error page.

use bwlab_model::StoreError;
use bwlab_xsi::negotiate::Rendered;
use bwlab_xsi::{ErrorCode, ErrorInfo, RequestMeta};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

/// The response type of every handler.
pub(crate) type Resp = Response<crate::body::XspBody>;

/// The Basic challenge a real XSP sends.
pub(crate) const CHALLENGE: &str = "Basic realm=\"BroadWorks\"";

/// A failed request, turned into a response at the edge.
#[derive(Debug)]
pub(crate) struct Fail {
    pub info: ErrorInfo,
    pub status: u16,
    pub allow: Option<&'static str>,
    pub challenge: bool,
    /// Why, for the journal (e.g. `locked`); never sent to the client.
    pub reason: Option<&'static str>,
}

impl Fail {
    pub(crate) fn new(code: ErrorCode) -> Self {
        Self::info(code.info())
    }

    pub(crate) fn info(info: ErrorInfo) -> Self {
        Fail {
            status: info.http_status(),
            info,
            allow: None,
            challenge: false,
            reason: None,
        }
    }

    pub(crate) fn detail(code: ErrorCode, detail: impl std::fmt::Display) -> Self {
        Self::info(ErrorInfo::new(code).with_detail(detail))
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub(crate) fn method_not_allowed(allow: &'static str) -> Self {
        let mut f = Self::new(ErrorCode::MethodNotAllowed);
        f.allow = Some(allow);
        f
    }

    /// 401 with the Basic challenge. All refused logins share one body so that a client
    /// cannot tell a wrong password from an unknown, locked or expired account.
    pub(crate) fn unauthorized(code: ErrorCode, reason: &'static str) -> Self {
        let mut f = Self::new(code).with_status(401);
        f.challenge = true;
        f.reason = Some(reason);
        f
    }

    pub(crate) fn into_response(self, meta: &RequestMeta<'_>) -> Resp {
        let mut resp = rendered(self.status, self.info.render_for(meta));
        if let Some(allow) = self.allow {
            resp.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
        }
        if self.challenge {
            resp.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        }
        resp
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchUser => Fail::new(ErrorCode::UserNotFound),
            StoreError::NotAssigned(kind) => {
                Fail::detail(ErrorCode::ServiceNotAssigned, kind.display_name())
            }
            StoreError::InvalidSettings(problems) => {
                let text = problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                let phone = problems.iter().any(|p| {
                    let path = p.path.to_string();
                    ["PhoneNumber", "Number", "address"]
                        .iter()
                        .any(|k| path.contains(k))
                });
                let code = if phone {
                    ErrorCode::InvalidPhoneNumber
                } else {
                    ErrorCode::InvalidParameter
                };
                Fail::detail(code, text)
            }
            other => Fail::detail(ErrorCode::LimitExceeded, other),
        }
    }
}

/// A response with a rendered body.
pub(crate) fn rendered(status: u16, r: Rendered) -> Resp {
    let mut resp = Response::new(crate::body::XspBody::full(r.body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(r.content_type));
    resp
}

/// A response without a body (PUT success, logout).
pub(crate) fn empty(status: StatusCode) -> Resp {
    let mut resp = Response::new(crate::body::XspBody::empty());
    *resp.status_mut() = status;
    resp
}
