//! The `ErrorInfo` document and bwlab's catalogue of Xsi error codes.
//!
//! The Xsi schema defines the shape of error bodies (`summary`?, `summaryEnglish`,
//! `errorCode`) but the interface specification lists no error numbers and no status-code
//! table. The numbers below are therefore **lab-defined**: stable within bwlab, grouped by
//! cause, and not taken from any BroadWorks release. Clients must not (and real ones do
//! not) depend on them; tests may.
//!
//! | Range | Cause | Typical status |
//! |---|---|---|
//! | 1000–1099 | request body | 400, 413, 415 |
//! | 1100–1199 | query parameters | 400 |
//! | 2000–2099 | authentication and scope | 401, 403 |
//! | 3000–3099 | resources, methods, versions | 400, 404, 405, 409 |
//! | 4000–4099 | service and call rules | 400, 409 |
//! | 5000–5099 | server side (injected faults) | 500, 503 |

use crate::documents::read::{expect_root, non_empty, number, once, required, unexpected};
use crate::documents::{BodyError, DocError, XsiDocument};
use crate::negotiate::{Format, Rendered, RequestMeta};
use crate::xml::{Element, ParseError, ParseErrorKind};

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $status:literal, $text:literal; )*) => {
        /// bwlab's error catalogue (lab-defined numbers, see the module docs).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The `errorCode` value.
            pub const fn code(self) -> i32 {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status bwlab answers with.
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// The `summaryEnglish` text.
            pub const fn summary_english(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text,)* }
            }
        }
    };
}

catalogue! {
    /// The body is not well-formed XML/JSON or breaks a parser rule (DTD, entity, charset).
    MalformedBody = 1000, 400, "The request body is not well-formed";
    /// Well-formed, but not the document the resource expects.
    InvalidDocument = 1001, 400, "The request body does not match the Xsi schema";
    /// Larger than the configured body limit.
    BodyTooLarge = 1002, 413, "The request body is too large";
    /// Neither XML nor JSON, or a charset bwlab does not read.
    UnsupportedMediaType = 1003, 415, "The request body has an unsupported media type or charset";
    /// A PUT/POST that needs a body arrived without one.
    BodyRequired = 1004, 400, "This request requires a body";
    /// A query parameter has a value outside its type or range.
    InvalidParameter = 1100, 400, "Invalid value for a request parameter";
    /// A mandatory query parameter is missing.
    MissingParameter = 1101, 400, "A mandatory request parameter is missing";
    /// A search value contains an unescaped `/` (spec §3.5.17).
    InvalidSearchCriteria = 1102, 400, "Invalid search criteria";
    /// `start` or `results` is zero or not a number.
    InvalidPaging = 1103, 400, "Invalid paging parameters";
    /// EnhancedCallLogs `startTime`/`endTime` do not form a range.
    InvalidDateRange = 1104, 400, "Invalid date range";
    /// EnhancedCallLogs account or call authorization code filter is invalid.
    InvalidAuthorizationCode = 1105, 400, "Invalid authorization code";
    /// No credentials were sent.
    Unauthenticated = 2000, 401, "Authentication required";
    /// Wrong user ID, password, passcode or token.
    InvalidCredentials = 2001, 401, "Invalid credentials";
    /// The password has expired and must be changed.
    PasswordExpired = 2002, 401, "The password has expired";
    /// The authenticated identity may not act on the target.
    OutOfScope = 2003, 403, "Not authorized to access this resource";
    /// A login or device token is older than its lifetime.
    TokenExpired = 2004, 401, "The token has expired";
    /// No such user.
    UserNotFound = 3000, 404, "User not found";
    /// No such resource (service, criterion, schedule, entry, message…).
    ResourceNotFound = 3001, 404, "Resource not found";
    /// No such call ID.
    CallNotFound = 3002, 404, "Call not found";
    /// The resource does not support the method.
    MethodNotAllowed = 3003, 405, "Method not allowed for this resource";
    /// The service behind the resource is not assigned to the user.
    ServiceNotAssigned = 3004, 400, "The service is not assigned to the user";
    /// POST of an entry that already exists.
    AlreadyExists = 3005, 409, "The entry already exists";
    /// An AS-only command for a user hosted elsewhere (spec §2.3.1).
    ApplicationServerOnly = 3006, 400, "The command is only supported for Application Server users";
    /// The requested protocol version is unknown or no longer supported (spec §3.4.1).
    VersionNotSupported = 3007, 400, "Method not supported for the requested version";
    /// A phone number or address is not valid.
    InvalidPhoneNumber = 4000, 400, "Invalid phone number";
    /// `numberOfRings` outside 0 and 2–20.
    InvalidNumberOfRings = 4001, 400, "Invalid number of rings";
    /// The call is not in a state that allows the action.
    InvalidCallState = 4002, 400, "The call state does not allow this action";
    /// A conference request named no call (spec §3.5.4.32.1).
    ConferenceNeedsCall = 4003, 400, "A call ID is required";
    /// Transfer or call push refused (spec §3.5.4.13).
    CallPushRefused = 4004, 400, "The call cannot be transferred or pushed";
    /// A second concurrent download of one voice message (spec §3.5.8.1.3).
    DownloadInProgress = 4005, 409, "The message is already being downloaded";
    /// The user lacks Third-Party Voice Mail Support (spec §3.5.4.40).
    ThirdPartyVoiceMailRequired = 4006, 400, "Third-Party Voice Mail Support is required";
    /// Mobility policy "Mobile" with an empty alert list (spec §3.5.3.10).
    MobileAlertListEmpty = 4007, 400, "The mobile alert list must not be empty";
    /// A list or count limit of the service was exceeded.
    LimitExceeded = 4008, 400, "A service limit was exceeded";
    /// Unexpected server failure (used for injected faults).
    InternalError = 5000, 500, "Internal server error";
    /// The server is overloaded or shutting down (used for injected faults).
    ServiceUnavailable = 5001, 503, "Service temporarily unavailable";
}

impl ErrorCode {
    /// Looks a code up by number.
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }

    /// The `ErrorInfo` for this code.
    pub fn info(self) -> ErrorInfo {
        ErrorInfo::new(self)
    }
}

/// The `ErrorInfo` error body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Localised text; optional in the schema.
    pub summary: Option<String>,
    /// English text; always present.
    pub summary_english: String,
    /// Numeric code (`xs:int`).
    pub error_code: i32,
}

impl ErrorInfo {
    /// The catalogue entry's text and number, without localised summary.
    pub fn new(code: ErrorCode) -> Self {
        ErrorInfo {
            summary: None,
            summary_english: code.summary_english().to_owned(),
            error_code: code.code(),
        }
    }

    /// An error outside the catalogue (e.g. to mimic a captured real-server body).
    pub fn custom(error_code: i32, summary_english: impl Into<String>) -> Self {
        ErrorInfo {
            summary: None,
            summary_english: summary_english.into(),
            error_code,
        }
    }

    /// Builder: adds the localised `summary`.
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// Builder: appends a detail to `summaryEnglish` ("Invalid phone number: abc").
    pub fn with_detail(mut self, detail: impl std::fmt::Display) -> Self {
        self.summary_english = format!("{}: {detail}", self.summary_english);
        self
    }

    /// The catalogue entry for a rejected body.
    pub fn for_parse_error(err: &ParseError) -> Self {
        let code = match err.kind {
            ParseErrorKind::TooLarge { .. } => ErrorCode::BodyTooLarge,
            ParseErrorKind::UnsupportedEncoding(_) => ErrorCode::UnsupportedMediaType,
            ParseErrorKind::Empty => ErrorCode::BodyRequired,
            _ => ErrorCode::MalformedBody,
        };
        ErrorInfo::new(code).with_detail(err)
    }

    /// The catalogue entry for a well-formed body that is not the expected document.
    pub fn for_doc_error(err: &DocError) -> Self {
        ErrorInfo::new(ErrorCode::InvalidDocument).with_detail(err)
    }

    /// Either of the above.
    pub fn for_body_error(err: &BodyError) -> Self {
        match err {
            BodyError::Parse(e) => ErrorInfo::for_parse_error(e),
            BodyError::Doc(e) => ErrorInfo::for_doc_error(e),
        }
    }

    /// The catalogue entry this body came from, if any.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.error_code)
    }

    /// Renders the body in the format the request asked for.
    pub fn render_for(&self, request: &RequestMeta<'_>) -> Rendered {
        self.render(request.response_format())
    }

    /// The HTTP status for this body: the catalogue's, or 400 for custom codes.
    pub fn http_status(&self) -> u16 {
        self.code().map_or(400, ErrorCode::http_status)
    }
}

impl From<ErrorCode> for ErrorInfo {
    fn from(code: ErrorCode) -> Self {
        ErrorInfo::new(code)
    }
}

impl XsiDocument for ErrorInfo {
    const ROOT: &'static str = "ErrorInfo";

    fn to_element(&self) -> Element {
        let mut el = Element::new(Self::ROOT);
        el.put_opt("summary", self.summary.as_ref());
        el.put("summaryEnglish", self.summary_english.as_str());
        el.put("errorCode", self.error_code.to_string());
        el
    }

    fn from_element(el: &Element) -> Result<Self, DocError> {
        expect_root(el, Self::ROOT)?;
        let (mut summary, mut english, mut code) = (None, None, None);
        for c in &el.children {
            match &*c.name {
                "summary" => once(&mut summary, "summary", non_empty(c, "summary")?)?,
                "summaryEnglish" => once(
                    &mut english,
                    "summaryEnglish",
                    non_empty(c, "summaryEnglish")?,
                )?,
                "errorCode" => once(&mut code, "errorCode", number(c, "errorCode", "an int")?)?,
                _ => return Err(unexpected(Self::ROOT, c)),
            }
        }
        Ok(ErrorInfo {
            summary,
            summary_english: required(english, Self::ROOT, "summaryEnglish")?,
            error_code: required(code, Self::ROOT, "errorCode")?,
        })
    }
}

/// Shorthand: the status and rendered body for a catalogue entry.
pub fn error_response(code: ErrorCode, format: Format) -> (u16, Rendered) {
    (code.http_status(), ErrorInfo::new(code).render(format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        let mut last = 0;
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate {}", c.code());
            assert!(c.code() > last, "not in numeric order: {c:?}");
            last = c.code();
            assert!((400..600).contains(&c.http_status()));
            assert!(!c.summary_english().is_empty());
            assert_eq!(ErrorCode::from_code(c.code()), Some(*c));
        }
    }

    #[test]
    fn xml_body() {
        let info = ErrorInfo::new(ErrorCode::InvalidPhoneNumber)
            .with_summary("Le numéro est invalide")
            .with_detail("abc");
        let xml = String::from_utf8(info.to_xml()).unwrap();
        assert!(xml.ends_with(
            "<ErrorInfo xmlns=\"http://schema.broadsoft.com/xsi\">\
             <summary>Le numéro est invalide</summary>\
             <summaryEnglish>Invalid phone number: abc</summaryEnglish>\
             <errorCode>4000</errorCode></ErrorInfo>"
        ));
        assert_eq!(ErrorInfo::from_xml(xml.as_bytes()).unwrap(), info);
    }

    #[test]
    fn summary_is_optional() {
        let info = ErrorInfo::new(ErrorCode::OutOfScope);
        let el = info.to_element();
        assert_eq!(el.children.len(), 2);
        assert_eq!(el.children[0].name, "summaryEnglish");
        assert_eq!(ErrorInfo::from_element(&el).unwrap(), info);
    }

    #[test]
    fn json_body_and_format_choice() {
        let info = ErrorInfo::new(ErrorCode::CallNotFound);
        let req = RequestMeta {
            accept: Some("application/json"),
            ..RequestMeta::default()
        };
        let r = info.render_for(&req);
        assert_eq!(r.content_type, "application/json; charset=UTF-8");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["ErrorInfo"]["errorCode"]["$"], "3002");
        assert_eq!(v["ErrorInfo"]["summaryEnglish"]["$"], "Call not found");
        let r = info.render_for(&RequestMeta::default());
        assert_eq!(r.content_type, "application/xml; charset=UTF-8");
        let (status, body) = error_response(ErrorCode::MethodNotAllowed, Format::Json);
        assert_eq!(status, 405);
        assert!(body.body.starts_with(b"{\"ErrorInfo\":"));
    }

    #[test]
    fn from_body_errors() {
        let e = crate::xml::Element::from_xml(b"<a").unwrap_err();
        let info = ErrorInfo::for_parse_error(&e);
        assert_eq!(info.code(), Some(ErrorCode::MalformedBody));
        assert!(
            info.summary_english
                .starts_with("The request body is not well-formed: ")
        );
        let e = ErrorInfo::from_xml(
            b"<ErrorInfo xmlns=\"http://schema.broadsoft.com/xsi\"><errorCode>x</errorCode></ErrorInfo>",
        )
        .unwrap_err();
        let info = ErrorInfo::for_body_error(&e);
        assert_eq!(info.code(), Some(ErrorCode::InvalidDocument));
        assert_eq!(info.http_status(), 400);
        assert_eq!(ErrorInfo::custom(110_832, "x").http_status(), 400);
    }
}
