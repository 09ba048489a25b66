//! `directories/CallLogs[/{Placed|Received|Missed}[/{callLogId}]]` (basic, §5.8) and
//! `directories/EnhancedCallLogs[...]` (enhanced, paged): GET and DELETE.
//!
//! Call log ids are the model's (`17:0`). A single-type basic GET answers, by default, with a
//! `CallLogs` document holding only that type's list, which the schema accepts (every list is
//! optional there). The spec's examples show the bare `<placed>`/`<received>`/`<missed>` as
//! the root instead (spec §7.1 item 3), which the schema does not define as a document;
//! [`CallLogSubsetShape::BareList`] selects that shape per node to test client tolerance.

use bwlab_model::{CallLogEntry as MEntry, CallLogKind as MKind, ServiceKind, User};
use bwlab_xsi::ErrorCode;
use bwlab_xsi::documents::call_logs::{
    CallLogEntry, CallLogKind, CallLogList, CallLogs, EnhancedCallLogList, EnhancedCallLogs,
    EnhancedEntries,
};
use bwlab_xsi::negotiate::render;
use hyper::StatusCode;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, macros::format_description};

use super::directories::{paging, query_params};
use crate::Shared;
use crate::errors::{Fail, Resp, empty, rendered};
use crate::journal::Exchange;

/// The document a single-type basic call-log GET (`directories/CallLogs/Missed`) answers
/// with (`XspSettings::call_log_subset_shape`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallLogSubsetShape {
    /// `<CallLogs><missed>…</missed></CallLogs>`: valid against the schema (default).
    #[default]
    CallLogsRoot,
    /// `<missed xmlns=…>…</missed>` as root, as the spec's examples print it; not a
    /// document the schema defines.
    BareList,
}

/// Basic or enhanced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavour {
    Basic,
    Enhanced,
}

impl Flavour {
    pub(crate) fn find(seg: &str) -> Option<Self> {
        if seg.eq_ignore_ascii_case("CallLogs") {
            Some(Self::Basic)
        } else if seg.eq_ignore_ascii_case("EnhancedCallLogs") {
            Some(Self::Enhanced)
        } else {
            None
        }
    }

    fn service(self) -> ServiceKind {
        match self {
            Self::Basic => ServiceKind::BasicCallLogs,
            Self::Enhanced => ServiceKind::EnhancedCallLogs,
        }
    }
}

/// `Placed`, `Received` or `Missed` (case-insensitive).
pub(crate) fn kind(seg: &str) -> Option<MKind> {
    MKind::ALL.into_iter().find(|k| {
        let name = match k {
            MKind::Placed => "Placed",
            MKind::Received => "Received",
            MKind::Missed => "Missed",
        };
        name.eq_ignore_ascii_case(seg)
    })
}

fn xsi_kind(k: MKind) -> CallLogKind {
    match k {
        MKind::Placed => CallLogKind::Placed,
        MKind::Received => CallLogKind::Received,
        MKind::Missed => CallLogKind::Missed,
    }
}

fn xs_date_time(t: OffsetDateTime) -> String {
    let f = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
    );
    t.format(f).unwrap_or_default()
}

fn entry(e: &MEntry) -> CallLogEntry {
    CallLogEntry {
        country_code: e.country_code.as_deref().and_then(|c| c.parse().ok()),
        phone_number: e.phone_number.clone(),
        name: e.name.clone(),
        time: xs_date_time(e.time),
        call_log_id: e.call_log_id.clone(),
    }
}

fn require_service(u: &User, flavour: Flavour) -> Result<(), Fail> {
    let kind = flavour.service();
    if u.has_service(kind) {
        Ok(())
    } else {
        Err(Fail::detail(
            ErrorCode::ServiceNotAssigned,
            kind.display_name(),
        ))
    }
}

/// `startTime`/`endTime` (xs:dateTime) of the enhanced logs; defaults: start of the
/// previous month → now.
fn time_window(
    shared: &Shared,
    params: &[(String, String)],
) -> Result<(OffsetDateTime, OffsetDateTime), Fail> {
    let now = shared.store.now();
    let parse = |name: &str| -> Result<Option<OffsetDateTime>, Fail> {
        match params.iter().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, v)) => OffsetDateTime::parse(v, &Rfc3339)
                .map(Some)
                .map_err(|_| Fail::detail(ErrorCode::InvalidDateRange, format!("{name}={v:?}"))),
        }
    };
    let default_start = {
        let d = now.date();
        let (y, m) = match d.month() {
            time::Month::January => (d.year() - 1, time::Month::December),
            m => (d.year(), m.previous()),
        };
        time::Date::from_calendar_date(y, m, 1)
            .map(|d| d.midnight().assume_offset(now.offset()))
            .unwrap_or(now)
    };
    let start = parse("startTime")?.unwrap_or(default_start);
    let end = parse("endTime")?.unwrap_or(now);
    if start > end {
        return Err(Fail::detail(
            ErrorCode::InvalidDateRange,
            "startTime is after endTime",
        ));
    }
    Ok((start, end))
}

pub(crate) fn get(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    flavour: Flavour,
    only: Option<MKind>,
) -> Result<Resp, Fail> {
    require_service(u, flavour)?;
    let kinds: Vec<MKind> = match only {
        Some(k) => vec![k],
        None => MKind::ALL.to_vec(),
    };
    let format = ex.meta().response_format();
    match flavour {
        Flavour::Basic => {
            let mut lists = [None, None, None];
            for k in &kinds {
                let entries = shared.store.call_logs(u.idx, Some(*k))?;
                let list = CallLogList {
                    entries: entries.iter().map(entry).collect(),
                    ..Default::default()
                };
                if only.is_some()
                    && shared.settings.call_log_subset_shape == CallLogSubsetShape::BareList
                {
                    let el = list.to_element_as(xsi_kind(*k));
                    return Ok(rendered(200, render(&el, format)));
                }
                lists[slot(*k)] = Some(list);
            }
            let [placed, received, missed] = lists;
            Ok(super::ok_doc(
                ex,
                &CallLogs {
                    placed,
                    received,
                    missed,
                },
            ))
        }
        Flavour::Enhanced => {
            let params = query_params(ex)?;
            let (start, results) = paging(&params)?;
            let (from, to) = time_window(shared, &params)?;
            let mut lists = [None, None, None];
            let mut total_returned = 0u32;
            for k in &kinds {
                let entries: Vec<CallLogEntry> = shared
                    .store
                    .call_logs(u.idx, Some(*k))?
                    .iter()
                    .filter(|e| e.time >= from && e.time <= to)
                    .skip((start - 1) as usize)
                    .take(results as usize)
                    .map(entry)
                    .collect();
                let n = u32::try_from(entries.len()).unwrap_or(u32::MAX);
                total_returned = total_returned.saturating_add(n);
                lists[slot(*k)] = Some(EnhancedCallLogList {
                    start_index: Some(start),
                    number_of_records: Some(n),
                    entries: EnhancedEntries::Basic(entries),
                });
            }
            let [placed, received, missed] = lists;
            Ok(super::ok_doc(
                ex,
                &EnhancedCallLogs {
                    start_index: start,
                    number_of_records: total_returned,
                    placed,
                    received,
                    missed,
                },
            ))
        }
    }
}

fn slot(k: MKind) -> usize {
    match k {
        MKind::Placed => 0,
        MKind::Received => 1,
        MKind::Missed => 2,
    }
}

/// DELETE all, one type, or one entry (`{type}/{callLogId}`); unknown id → 404.
pub(crate) fn delete(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    flavour: Flavour,
    only: Option<MKind>,
    id: Option<&str>,
) -> Result<Resp, Fail> {
    require_service(u, flavour)?;
    match (only, id) {
        (Some(k), Some(id)) => {
            if !shared.store.delete_call_log(u.idx, k, id)? {
                return Err(Fail::detail(ErrorCode::ResourceNotFound, &ex.path));
            }
        }
        (k, _) => shared.store.clear_call_logs(u.idx, k)?,
    }
    Ok(empty(StatusCode::OK))
}
