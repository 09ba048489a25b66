//! The request handler: one function from a parsed query to an answer (or a fault).
//!
//! hickory-server's `Server` owns the sockets and framing; everything the lab decides per
//! query happens here, in plain code, so a fault is a branch rather than a layer. The zone
//! logic is deliberately small: exact names, CNAME chasing inside the lab zones, NODATA for
//! empty non-terminals, SOA in negative answers, AA on everything authoritative.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bwlab_core::Kind;
use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncoder};
use hickory_server::net::NetError;
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{MessageResponse, MessageResponseBuilder};
use parking_lot::Mutex;

use crate::faults::{DnsFault, FaultId, Faults};
use crate::records::{Records, Snapshot, name_text};
use crate::server::Ctx;

/// Longest CNAME chain followed inside the lab zones (loops stop earlier).
const MAX_CNAME_HOPS: usize = 8;
/// Largest UDP payload we agree to send, whatever the client advertises.
const MAX_UDP_PAYLOAD: u16 = 4096;

/// The lab's request handler; `Clone` is cheap (it shares the server's records and faults).
///
/// Besides serving the sockets it can answer raw bytes directly
/// ([`answer_bytes`](Self::answer_bytes)), which is how unit and property tests reach the
/// parse path without a network.
#[derive(Clone)]
pub struct DnsHandler {
    records: Records,
    faults: Faults,
    ctx: Ctx,
}

/// What the zone data says about one question.
struct Answer {
    rcode: ResponseCode,
    authoritative: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    additionals: Vec<Record>,
}

impl Answer {
    fn code(rcode: ResponseCode, authoritative: bool) -> Self {
        Self {
            rcode,
            authoritative,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }
}

/// How a faulted answer is described in the journal.
struct FaultNote {
    id: FaultId,
    fault: DnsFault,
}

impl DnsHandler {
    pub(crate) fn new(records: Records, faults: Faults, ctx: Ctx) -> Self {
        Self {
            records,
            faults,
            ctx,
        }
    }

    /// Answers one DNS message exactly as the server does over `protocol`, without a socket.
    ///
    /// Returns the response bytes, or `None` where the server stays silent (fewer than 12
    /// bytes, a message that is itself a response, a `drop` fault). A message whose header
    /// parses but whose body does not gets `FORMERR`, as hickory-server's socket loop does.
    /// Never panics, whatever the bytes.
    pub async fn answer_bytes(
        &self,
        bytes: &[u8],
        src: SocketAddr,
        protocol: Protocol,
    ) -> Option<Vec<u8>> {
        let mut decoder = BinDecoder::new(bytes);
        let header = Header::read(&mut decoder).ok()?;
        let request = match Request::from_bytes(bytes.to_vec(), src, protocol) {
            Ok(request) => request,
            Err(_) => return Some(formerr_bytes(&header)),
        };
        if request.metadata.message_type == MessageType::Response {
            return None;
        }
        let capture = Capture {
            protocol,
            out: Arc::new(Mutex::new(None)),
        };
        self.handle(&request, capture.clone()).await;
        capture.out.lock().take()
    }

    async fn handle<R: ResponseHandler>(&self, request: &Request, mut out: R) -> ResponseInfo {
        let proto = proto_name(request.protocol());
        let peer = request.src();
        let response_edns = request.edns.as_ref().map(|req| {
            let mut edns = Edns::new();
            edns.set_version(0);
            edns.set_dnssec_ok(false);
            edns.set_max_payload(req.max_payload().clamp(512, MAX_UDP_PAYLOAD));
            edns
        });

        // Requests the lab does not serve: answered, journalled, no zone lookup.
        let unserved = if request.metadata.op_code != OpCode::Query {
            Some((
                ResponseCode::NotImp,
                format!("opcode {:?}", request.metadata.op_code),
            ))
        } else if request.queries.len() != 1 {
            Some((
                ResponseCode::FormErr,
                format!("{} questions", request.queries.len()),
            ))
        } else if request.edns.as_ref().is_some_and(|e| e.version() > 0) {
            Some((ResponseCode::BADVERS, "EDNS version > 0".to_string()))
        } else {
            None
        };
        if let Some((rcode, what)) = unserved {
            self.ctx
                .journal
                .record(
                    self.ctx.node.clone(),
                    Kind::Dns,
                    format!("{what} → {}", rcode_name(rcode)),
                )
                .peer(peer)
                .attr("rcode", rcode_name(rcode))
                .attr("proto", proto)
                .commit();
            let answer = Answer::code(rcode, false);
            return send(&mut out, request, response_edns.as_ref(), answer, false).await;
        }

        let query = &request.queries.queries()[0];
        let qname = name_text(query.name());
        let qtype = query.query_type();

        let fault = self
            .faults
            .matching(&qname, qtype)
            .map(|(id, fault)| FaultNote { id, fault });
        let mut truncate = false;
        let answer = match &fault {
            Some(FaultNote {
                fault: DnsFault::Drop,
                ..
            }) => {
                self.journal(request, &qname, qtype, proto, None, fault.as_ref(), false);
                let mut metadata = Metadata::response_from_request(&request.metadata);
                metadata.response_code = ResponseCode::NoError;
                return ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                });
            }
            Some(FaultNote {
                fault: DnsFault::Delay { ms },
                ..
            }) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                self.lookup(query.name(), qtype, query.query_class())
            }
            Some(FaultNote {
                fault: DnsFault::Truncate,
                ..
            }) if request.protocol() == Protocol::Udp => {
                truncate = true;
                let mut a = self.lookup(query.name(), qtype, query.query_class());
                a.answers.clear();
                a.authorities.clear();
                a.additionals.clear();
                a
            }
            Some(FaultNote {
                fault: DnsFault::Truncate,
                ..
            }) => self.lookup(query.name(), qtype, query.query_class()),
            Some(FaultNote { fault, .. }) => self.faulted(query.name(), *fault),
            None => self.lookup(query.name(), qtype, query.query_class()),
        };
        // Truncation only matters over UDP; over TCP the answer is normal and so is the entry.
        let note = fault
            .as_ref()
            .filter(|f| f.fault != DnsFault::Truncate || truncate);
        self.journal(request, &qname, qtype, proto, Some(&answer), note, truncate);
        send(&mut out, request, response_edns.as_ref(), answer, truncate).await
    }

    /// The normal answer from the current snapshot.
    fn lookup(&self, name: &LowerName, qtype: RecordType, class: DNSClass) -> Answer {
        let snap = self.records.snapshot();
        let Some(zone) = snap.zone_for(name) else {
            return Answer::code(ResponseCode::Refused, false);
        };
        if class != DNSClass::IN && class != DNSClass::ANY {
            return Answer::code(ResponseCode::Refused, false);
        }
        if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
            // Zone transfers are not part of the lab; say so the way a locked-down server does.
            return Answer::code(ResponseCode::Refused, true);
        }
        let mut answer = Answer::code(ResponseCode::NoError, true);
        let mut current = name.clone();
        let mut zone = zone.clone();
        let mut seen = HashSet::new();
        loop {
            seen.insert(current.clone());
            let found = records_at(&snap, &current, qtype);
            if !found.is_empty() {
                answer.answers.extend(found);
                break;
            }
            let cname = (qtype != RecordType::CNAME)
                .then(|| snap.set(&current, RecordType::CNAME))
                .flatten();
            if let Some(set) = cname {
                let records = set.answer();
                let target = records.first().and_then(|r| match &r.data {
                    RData::CNAME(t) => Some(LowerName::new(&t.0)),
                    _ => None,
                });
                answer.answers.extend(records);
                // Chase the chain while it stays inside the lab; a resolver follows the rest.
                match target.and_then(|t| snap.zone_for(&t).cloned().map(|z| (t, z))) {
                    Some((t, z)) if !seen.contains(&t) && seen.len() < MAX_CNAME_HOPS => {
                        current = t;
                        zone = z;
                        continue;
                    }
                    _ => break,
                }
            }
            if !snap.exists(&current) {
                answer.rcode = ResponseCode::NXDomain;
            }
            answer.authorities.push(zone.soa.clone());
            break;
        }
        answer.additionals = additionals(&snap, &answer.answers);
        answer
    }

    /// The answer a rcode-style fault gives: the zone's SOA goes with NXDOMAIN and NODATA so
    /// resolvers treat them as authoritative negatives.
    fn faulted(&self, name: &LowerName, fault: DnsFault) -> Answer {
        let snap = self.records.snapshot();
        let zone = snap.zone_for(name);
        let in_zone = zone.is_some();
        let mut answer = match fault {
            DnsFault::NxDomain => Answer::code(ResponseCode::NXDomain, in_zone),
            DnsFault::NoAnswer => Answer::code(ResponseCode::NoError, in_zone),
            DnsFault::ServFail => Answer::code(ResponseCode::ServFail, false),
            _ => Answer::code(ResponseCode::Refused, false),
        };
        if matches!(fault, DnsFault::NxDomain | DnsFault::NoAnswer)
            && let Some(zone) = zone
        {
            answer.authorities.push(zone.soa.clone());
        }
        answer
    }

    #[allow(clippy::too_many_arguments)]
    fn journal(
        &self,
        request: &Request,
        qname: &str,
        qtype: RecordType,
        proto: &'static str,
        answer: Option<&Answer>,
        fault: Option<&FaultNote>,
        truncated: bool,
    ) {
        let outcome = match answer {
            None => "no response".to_string(),
            Some(a) if truncated => format!("{} TC", rcode_name(a.rcode)),
            Some(a) if a.rcode == ResponseCode::NoError && a.answers.is_empty() => {
                "NOERROR (no answer)".to_string()
            }
            Some(a) if a.rcode == ResponseCode::NoError => a
                .answers
                .iter()
                .map(|r| {
                    if r.record_type() == qtype && qtype != RecordType::ANY {
                        r.data.to_string()
                    } else {
                        format!("{} {}", r.record_type(), r.data)
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            Some(a) => rcode_name(a.rcode).to_string(),
        };
        let suffix = match fault {
            Some(FaultNote {
                fault: DnsFault::Delay { ms },
                ..
            }) => format!(" (fault: delayed {ms} ms)"),
            Some(_) => " (fault)".to_string(),
            None => String::new(),
        };
        let rcode = answer.map_or("none", |a| rcode_name(a.rcode));
        let mut entry = self
            .ctx
            .journal
            .record(
                self.ctx.node.clone(),
                Kind::Dns,
                format!("{qtype} {qname} → {outcome}{suffix}"),
            )
            .peer(request.src())
            .attr("qname", qname)
            .attr("qtype", qtype.to_string())
            .attr("rcode", rcode)
            .attr("proto", proto)
            .attr("answers", answer.map_or(0, |a| a.answers.len()).to_string());
        if truncated {
            entry = entry.attr("tc", "1");
        }
        if let Some(f) = fault {
            entry = entry
                .attr("fault", fault_kind(f.fault))
                .attr("fault_id", f.id.0.to_string());
        }
        entry.commit();
    }
}

#[async_trait::async_trait]
impl RequestHandler for DnsHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        self.handle(request, response_handle).await
    }
}

/// Records of `qtype` owned by `name`, including the synthesised SOA/NS at a zone apex.
fn records_at(snap: &Snapshot, name: &LowerName, qtype: RecordType) -> Vec<Record> {
    let apex = snap.zone_for(name).filter(|z| &z.apex == name);
    let mut out = Vec::new();
    if let Some(zone) = apex {
        if matches!(qtype, RecordType::SOA | RecordType::ANY) {
            out.push(zone.soa.clone());
        }
        if matches!(qtype, RecordType::NS | RecordType::ANY) {
            out.extend(zone.ns.iter().cloned());
        }
    }
    if qtype == RecordType::ANY {
        for set in snap.sets_at(name) {
            out.extend(set.answer());
        }
    } else if let Some(set) = snap.set(name, qtype) {
        out.extend(set.answer());
    }
    out
}

/// Addresses of in-zone SRV targets (and the SRV set a NAPTR points to), so a client can
/// connect without another round trip. Never rotates: only answers count as queries.
fn additionals(snap: &Snapshot, answers: &[Record]) -> Vec<Record> {
    let mut names = Vec::new();
    let mut out = Vec::new();
    for r in answers {
        match &r.data {
            RData::SRV(srv) => names.push(LowerName::new(&srv.target)),
            RData::NAPTR(naptr) if !naptr.replacement.is_root() => {
                let replacement = LowerName::new(&naptr.replacement);
                if let Some(set) = snap.set(&replacement, RecordType::SRV) {
                    for rec in set.records() {
                        if let RData::SRV(srv) = &rec.data {
                            names.push(LowerName::new(&srv.target));
                        }
                        out.push(rec.clone());
                    }
                }
            }
            _ => {}
        }
    }
    let mut seen = HashSet::new();
    for name in names {
        if name.is_root() || !seen.insert(name.clone()) {
            continue;
        }
        for rtype in [RecordType::A, RecordType::AAAA] {
            if let Some(set) = snap.set(&name, rtype) {
                out.extend(set.records().iter().cloned());
            }
        }
    }
    out
}

async fn send<R: ResponseHandler>(
    out: &mut R,
    request: &Request,
    edns: Option<&Edns>,
    answer: Answer,
    truncate: bool,
) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.authoritative = answer.authoritative;
    metadata.response_code = answer.rcode;
    metadata.truncation = truncate;
    metadata.recursion_available = false;
    let mut builder = MessageResponseBuilder::new(&request.queries, None);
    if let Some(edns) = edns {
        builder.edns(edns);
    }
    let response = builder.build(
        metadata,
        answer.answers.iter(),
        answer.authorities.iter(),
        std::iter::empty(),
        answer.additionals.iter(),
    );
    match out.send_response(response).await {
        Ok(info) => info,
        Err(error) => {
            tracing::warn!(%error, "failed to send DNS response");
            metadata.response_code = ResponseCode::ServFail;
            ResponseInfo::from(Header {
                metadata,
                counts: HeaderCounts::default(),
            })
        }
    }
}

/// The FORMERR hickory-server sends for a message whose header parsed but body did not.
fn formerr_bytes(header: &Header) -> Vec<u8> {
    let mut metadata = Metadata::response_from_request(&header.metadata);
    metadata.response_code = ResponseCode::FormErr;
    let header = Header {
        metadata,
        counts: HeaderCounts::default(),
    };
    let mut bytes = Vec::with_capacity(12);
    let mut encoder = BinEncoder::new(&mut bytes);
    // A bare header always fits; if it somehow did not, silence is the safe answer.
    if hickory_proto::serialize::binary::BinEncodable::emit(&header, &mut encoder).is_err() {
        bytes.clear();
    }
    bytes
}

/// A response handler that keeps the encoded bytes instead of sending them.
#[derive(Clone)]
struct Capture {
    protocol: Protocol,
    out: Arc<Mutex<Option<Vec<u8>>>>,
}

#[async_trait::async_trait]
impl ResponseHandler for Capture {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let max = if self.protocol == Protocol::Udp {
            response.edns().map_or(512, |e| e.max_payload().max(512))
        } else {
            u16::MAX
        };
        let mut bytes = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(max);
        let info = response.destructive_emit(&mut encoder)?;
        *self.out.lock() = Some(bytes);
        Ok(info)
    }
}

fn proto_name(protocol: Protocol) -> &'static str {
    if protocol == Protocol::Udp {
        "udp"
    } else if protocol == Protocol::Tcp {
        "tcp"
    } else {
        "other"
    }
}

/// Response codes as `dig` prints them, for summaries and the `rcode` attribute.
pub(crate) fn rcode_name(rcode: ResponseCode) -> &'static str {
    match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::BADVERS => "BADVERS",
        _ => "OTHER",
    }
}

fn fault_kind(fault: DnsFault) -> &'static str {
    match fault {
        DnsFault::NxDomain => "nxdomain",
        DnsFault::ServFail => "servfail",
        DnsFault::Refused => "refused",
        DnsFault::NoAnswer => "no_answer",
        DnsFault::Delay { .. } => "delay",
        DnsFault::Truncate => "truncate",
        DnsFault::Drop => "drop",
    }
}
