//! Xsi wire formats: every Xsi-Actions request and response body the XSP emulator handles
//! passes through this crate.
//!
//! Layers, bottom up:
//!
//! * [`xml`] — a small document model ([`Element`]), a writer that emits UTF-8 (or
//!   ISO-8859-1) documents in the Xsi namespace straight into a byte buffer, and a hardened
//!   parser for request bodies (size, depth, element and attribute limits; no DTDs, no
//!   custom entities; errors with line and column).
//! * [`json`] — the Xsi JSON form (BadgerFish), both directions.
//! * [`negotiate`] — which format a request body is in, which one a response should use,
//!   and the `Content-Type` strings.
//! * [`documents`] — typed documents (profile, services, directories, call logs, voice
//!   messages, calls, versions, push registrations) that convert to and from [`Element`]
//!   in schema order, with partial-update semantics for PUT bodies; and the Xsi-Events
//!   documents ([`documents::events`]): channels, subscriptions, event responses, and the
//!   `xsi:`-prefixed events written straight into a byte buffer.
//! * [`error_info`] — the `ErrorInfo` body and bwlab's (lab-defined) error catalogue.
//!
//! A PUT handler, end to end:
//!
//! ```
//! use bwlab_xsi::documents::services::CallForwardingNoAnswer;
//! use bwlab_xsi::{ErrorCode, ErrorInfo, Nillable, ParseOptions, RequestMeta, XsiDocument};
//!
//! // The request: a JSON body that changes the number of rings and clears the number.
//! let request = RequestMeta {
//!     accept: Some("application/json"),
//!     content_type: Some("application/json"),
//!     query: None,
//! };
//! let body = br#"{"CallForwardingNoAnswer": {"numberOfRings": {"$": "5"},
//!                  "forwardToPhoneNumber": {"@xsi:nil": "true"}}}"#;
//! let tree = request.parse_body(body, &ParseOptions::default()).unwrap();
//! let put = CallForwardingNoAnswer::from_element(&tree).unwrap();
//! assert_eq!(put.active, None); // omitted: leave unchanged
//! assert_eq!(put.number_of_rings, Some(5));
//! assert_eq!(put.forward_to_phone_number, Nillable::Nil); // nil: clear
//!
//! // Apply it to the stored settings and answer the next GET in the negotiated format.
//! let mut stored = CallForwardingNoAnswer {
//!     active: Some(true),
//!     forward_to_phone_number: Nillable::Value("+15551230000".into()),
//!     number_of_rings: Some(3),
//! };
//! stored.number_of_rings = put.number_of_rings.or(stored.number_of_rings);
//! if put.forward_to_phone_number != Nillable::Absent {
//!     stored.forward_to_phone_number = Nillable::Absent; // cleared: omitted on GET
//! }
//! let response = stored.render(request.response_format());
//! assert_eq!(response.content_type, "application/json; charset=UTF-8");
//! assert_eq!(
//!     &response.body[..],
//!     br#"{"CallForwardingNoAnswer":{"@xmlns":{"$":"http://schema.broadsoft.com/xsi"},"active":{"$":"true"},"numberOfRings":{"$":"5"}}}"#
//! );
//!
//! // A malformed body becomes an ErrorInfo in the same format.
//! let err = request.parse_body(b"{oops", &ParseOptions::default()).unwrap_err();
//! let info = ErrorInfo::for_parse_error(&err);
//! assert_eq!(info.code(), Some(ErrorCode::MalformedBody));
//! assert_eq!(info.http_status(), 400);
//! assert!(info.render_for(&request).body.starts_with(b"{\"ErrorInfo\":"));
//! ```

#![warn(missing_docs)]

pub mod documents;
pub mod error_info;
pub mod json;
pub mod negotiate;
pub mod xml;

pub use documents::{Address, BodyError, DocError, Nillable, XsiDocument};
pub use error_info::{ErrorCode, ErrorInfo};
pub use negotiate::{Format, Rendered, RequestMeta};
pub use xml::{Charset, Element, Limits, NamespacePolicy, ParseError, ParseOptions};
