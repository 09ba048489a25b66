//! `GET user/{u}/directories/{Enterprise,Group,Personal,EnterpriseCommon,GroupCommon}`:
//! search criteria with wildcards and the `/i` flag, `searchCriteriaModeOr`, `sortColumn`
//! (with `/I` and `/desc`) and paging (`start`, `results`), per spec §1.9, §1.10 and §5.7.
//!
//! Cost per request: one pass over the scope's user indexes (`Store::group_users` /
//! `enterprise_users` copy the index list, each user is an `Arc` clone), a sort of the
//! matches only, and documents built for the requested page only. No per-request copy of
//! user records.

use std::cmp::Ordering;
use std::sync::Arc;

use bwlab_model::User;
use bwlab_profiles::Feature;
use bwlab_xsi::ErrorCode;
use bwlab_xsi::documents::directories::{
    DirectoryDetails, EnterpriseCommonDirectory, EnterpriseDirectory, GroupCommonDirectory,
    GroupDirectory, Paging, PersonalDirectory,
};
use bwlab_xsi::documents::profile::{ServiceProvider, UserAdditionalDetails, UserDetails};

use crate::Shared;
use crate::errors::{Fail, Resp};
use crate::journal::Exchange;

/// Page size when `results` is absent (the spec leaves it to a system option).
pub const DEFAULT_RESULTS: u32 = 50;
/// Largest page; a larger `results` is silently clamped (spec bound 1–1000).
pub const MAX_RESULTS: u32 = 1000;

/// Which directory a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Directory {
    Enterprise,
    Group,
    Personal,
    EnterpriseCommon,
    GroupCommon,
}

impl Directory {
    pub(crate) fn find(seg: &str) -> Option<Self> {
        [
            ("Enterprise", Self::Enterprise),
            ("Group", Self::Group),
            ("Personal", Self::Personal),
            ("EnterpriseCommon", Self::EnterpriseCommon),
            ("GroupCommon", Self::GroupCommon),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(seg))
        .map(|(_, d)| d)
    }
}

// ----- query parsing ---------------------------------------------------------------------

/// Decodes `%XX` escapes (a `+` stays a `+`: numbers are searched as `+1555...`).
fn percent_decode(s: &str) -> Result<String, Fail> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Fail::detail(ErrorCode::InvalidParameter, "bad %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Fail::detail(ErrorCode::InvalidParameter, "not UTF-8"))
}

/// All query parameters, decoded, in order.
pub(crate) fn query_params(ex: &Exchange) -> Result<Vec<(String, String)>, Fail> {
    let Some(q) = ex.query.as_deref() else {
        return Ok(Vec::new());
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

/// `start` and `results` (§1.9): 1-based start, default 1; results 1–1000, default
/// [`DEFAULT_RESULTS`], clamped to [`MAX_RESULTS`]. Zero or non-numbers → 400.
pub(crate) fn paging(params: &[(String, String)]) -> Result<(u32, u32), Fail> {
    let get = |name: &str, default: u32| -> Result<u32, Fail> {
        match params.iter().find(|(k, _)| k == name) {
            None => Ok(default),
            Some((_, v)) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n.min(u64::from(u32::MAX)) as u32),
                _ => Err(Fail::detail(
                    ErrorCode::InvalidPaging,
                    format!("{name}={v:?}"),
                )),
            },
        }
    };
    Ok((
        get("start", 1)?,
        get("results", DEFAULT_RESULTS)?.min(MAX_RESULTS),
    ))
}

/// A parsed search value (§1.10): `*` wildcards, trailing `/i`, `\/` for a literal slash.
#[derive(Debug)]
struct Pattern {
    /// Literal pieces between `*`s.
    parts: Vec<String>,
    leading_star: bool,
    trailing_star: bool,
    insensitive: bool,
}

impl Pattern {
    fn parse(raw: &str, wildcards: bool) -> Result<Self, Fail> {
        let (body, insensitive) = match raw.strip_suffix("/i") {
            Some(b) if !b.ends_with('\\') => (b, true),
            _ => (raw, false),
        };
        let mut text = String::with_capacity(body.len());
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'/') => {
                    text.push('/');
                    chars.next();
                }
                '/' => {
                    return Err(Fail::detail(
                        ErrorCode::InvalidSearchCriteria,
                        format!("unescaped '/' in {raw:?}"),
                    ));
                }
                c => text.push(c),
            }
        }
        let fold = |s: &str| {
            if insensitive {
                s.to_lowercase()
            } else {
                s.to_owned()
            }
        };
        if !wildcards {
            return Ok(Pattern {
                parts: vec![fold(&text)],
                leading_star: false,
                trailing_star: false,
                insensitive,
            });
        }
        Ok(Pattern {
            leading_star: text.starts_with('*'),
            trailing_star: text.len() > 1 && text.ends_with('*') || text == "*",
            parts: text
                .split('*')
                .filter(|p| !p.is_empty())
                .map(fold)
                .collect(),
            insensitive,
        })
    }

    /// Glob match; `contains` makes a plain value match anywhere (used by `mpName`).
    fn matches(&self, value: &str) -> bool {
        let folded;
        let v = if self.insensitive {
            folded = value.to_lowercase();
            folded.as_str()
        } else {
            value
        };
        if self.parts.is_empty() {
            return self.leading_star || v.is_empty();
        }
        let mut rest = v;
        let n = self.parts.len();
        for (i, part) in self.parts.iter().enumerate() {
            let first = i == 0;
            let last = i == n - 1;
            if first && !self.leading_star {
                if !rest.starts_with(part.as_str()) {
                    return false;
                }
                rest = &rest[part.len()..];
                if last && !self.trailing_star {
                    return rest.is_empty();
                }
                continue;
            }
            if last && !self.trailing_star {
                return rest.ends_with(part.as_str());
            }
            match rest.find(part.as_str()) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
        true
    }

    fn contains(&self, value: &str) -> bool {
        if self.leading_star || self.trailing_star || self.parts.len() != 1 {
            return self.matches(value);
        }
        let folded;
        let v = if self.insensitive {
            folded = value.to_lowercase();
            folded.as_str()
        } else {
            value
        };
        v.contains(self.parts[0].as_str())
    }
}

/// One criterion: a field and a pattern.
#[derive(Debug)]
struct Criterion {
    field: &'static str,
    patterns: Vec<Pattern>,
}

/// Something a directory search looks at: the values of a field (none → no match).
trait Candidate {
    fn values(&self, field: &str) -> Vec<&str>;
}

/// Criteria, mode and sort order of one request.
struct Search {
    criteria: Vec<Criterion>,
    or: bool,
    sort: Sort,
    start: u32,
    results: u32,
}

struct Sort {
    column: &'static str,
    insensitive: bool,
    descending: bool,
}

impl Search {
    /// `fields` lists the accepted search parameters; those in `exact` take no wildcards.
    /// Unknown parameters are ignored (as a real server does with e.g. `format`).
    fn parse(
        params: &[(String, String)],
        fields: &[&'static str],
        exact: &[&'static str],
        columns: &[&'static str],
    ) -> Result<Self, Fail> {
        let mut criteria = Vec::new();
        let mut or = false;
        let mut sort = Sort {
            column: columns[0],
            insensitive: false,
            descending: false,
        };
        // §1.2: a repeated single-valued parameter counts once (its first value); only
        // `mpName` is repeatable.
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in params {
            if k != "mpName" {
                if seen.contains(&k.as_str()) {
                    continue;
                }
                seen.push(k);
            }
            if k == "searchCriteriaModeOr" {
                or = match v.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(Fail::detail(
                            ErrorCode::InvalidParameter,
                            format!("searchCriteriaModeOr={v:?}"),
                        ));
                    }
                };
            } else if k == "sortColumn" {
                sort = parse_sort(v, columns)?;
            } else if k == "mpName" {
                let patterns = v
                    .split_whitespace()
                    .map(|p| Pattern::parse(p, true))
                    .collect::<Result<Vec<_>, _>>()?;
                criteria.push(Criterion {
                    field: "mpName",
                    patterns,
                });
            } else if let Some(&field) = fields.iter().find(|f| **f == k.as_str()) {
                let wildcards = !exact.contains(&field);
                criteria.push(Criterion {
                    field,
                    patterns: vec![Pattern::parse(v, wildcards)?],
                });
            }
        }
        let (start, results) = paging(params)?;
        Ok(Search {
            criteria,
            or,
            sort,
            start,
            results,
        })
    }

    /// Whether a candidate meets the criteria (AND, or OR with `searchCriteriaModeOr`).
    fn accepts(&self, c: &impl Candidate) -> bool {
        if self.criteria.is_empty() {
            return true;
        }
        let test = |cr: &Criterion| {
            let values = c.values(cr.field);
            if cr.field == "mpName" {
                return values
                    .iter()
                    .any(|n| cr.patterns.iter().all(|p| p.contains(n)));
            }
            values
                .iter()
                .any(|v| cr.patterns.iter().all(|p| p.matches(v)))
        };
        if self.or {
            self.criteria.iter().any(test)
        } else {
            self.criteria.iter().all(test)
        }
    }

    /// Sorts `items` by the sort column (`key`), ties broken by `tie`, then pages.
    /// Case-sensitive sorting borrows the keys; `/I` lower-cases each key once.
    fn sort_and_page<T, K, B>(&self, mut items: Vec<T>, key: K, tie: B) -> (Paging, Vec<T>)
    where
        K: for<'a> Fn(&'a T, &str) -> &'a str,
        B: Fn(&T, &T) -> Ordering,
    {
        let col = self.sort.column;
        if self.sort.insensitive {
            let mut keyed: Vec<(String, T)> = items
                .into_iter()
                .map(|t| (key(&t, col).to_lowercase(), t))
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| tie(&a.1, &b.1)));
            items = keyed.into_iter().map(|(_, t)| t).collect();
        } else {
            items.sort_by(|a, b| key(a, col).cmp(key(b, col)).then_with(|| tie(a, b)));
        }
        if self.sort.descending {
            items.reverse();
        }
        let total = u32::try_from(items.len()).unwrap_or(u32::MAX);
        let paging = Paging::for_page(self.start, self.results, total);
        let skip = (self.start - 1) as usize;
        let page = items
            .into_iter()
            .skip(skip)
            .take(paging.number_of_records as usize)
            .collect();
        (paging, page)
    }
}

/// `sortColumn` value with optional `/I` (case-insensitive) and `/desc` suffixes, in any
/// order and case.
fn parse_sort(v: &str, columns: &[&'static str]) -> Result<Sort, Fail> {
    let bad = || Fail::detail(ErrorCode::InvalidParameter, format!("sortColumn={v:?}"));
    let mut parts = v.split('/');
    let name = parts.next().unwrap_or_default();
    let column = columns
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(bad)?;
    let mut sort = Sort {
        column,
        insensitive: false,
        descending: false,
    };
    for flag in parts {
        if flag.eq_ignore_ascii_case("i") {
            sort.insensitive = true;
        } else if flag.eq_ignore_ascii_case("desc") {
            sort.descending = true;
        } else {
            return Err(bad());
        }
    }
    Ok(sort)
}

// ----- Enterprise and Group ----------------------------------------------------------------

const USER_FIELDS: [&str; 13] = [
    "firstName",
    "lastName",
    "name",
    "userId",
    "groupId",
    "number",
    "extension",
    "yahooId",
    "mobileNo",
    "department",
    "emailAddress",
    "impId",
    "locationDialingCode",
];
const USER_COLUMNS: [&str; 3] = ["lastName", "firstName", "department"];

fn opt(o: &Option<String>) -> Vec<&str> {
    o.as_deref().into_iter().collect()
}

/// A user seen by the search; `name`/`mpName` match "First Last" or "Last First".
struct UserCandidate<'a> {
    user: &'a User,
    full: String,
    reversed: String,
}

impl Candidate for UserCandidate<'_> {
    fn values(&self, field: &str) -> Vec<&str> {
        let u = self.user;
        match field {
            "name" | "mpName" => vec![&self.full, &self.reversed],
            "firstName" => vec![&u.first_name],
            "lastName" => vec![&u.last_name],
            "userId" => vec![&u.user_id],
            "groupId" => vec![&u.group_id],
            "number" => u
                .number
                .iter()
                .flat_map(|n| [n.national(), n.as_str()])
                .collect(),
            "extension" => opt(&u.extension),
            "mobileNo" => u
                .mobile
                .iter()
                .flat_map(|n| [n.national(), n.as_str()])
                .collect(),
            "department" => opt(&u.department),
            "emailAddress" => opt(&u.email),
            "impId" => opt(&u.imp_id),
            "locationDialingCode" => u.location_dialing_code.as_deref().into_iter().collect(),
            // yahooId: the model has no such field, so it never matches.
            _ => Vec::new(),
        }
    }
}

fn directory_details(shared: &Shared, u: &User) -> DirectoryDetails {
    let mut details = UserDetails::new(u.user_id.clone());
    details.first_name = Some(u.first_name.clone());
    details.last_name = Some(u.last_name.clone());
    details.group_id = Some(u.group_id.to_string());
    details.service_provider = Some(ServiceProvider {
        id: u.enterprise_id.to_string(),
        is_enterprise: Some(u.is_enterprise),
    });
    details.number = u.number.as_ref().map(|n| n.national().to_owned());
    details.extension = u.extension.clone();
    let mut extra = UserAdditionalDetails {
        mobile: u.mobile.as_ref().map(|m| m.national().to_owned()),
        email_address: u.email.clone(),
        title: u.title.clone(),
        department: u.department.clone(),
        imp_id: u.imp_id.clone(),
        ..Default::default()
    };
    if shared.profile.supports(Feature::ExtensionDialing) {
        extra.location_dialing_code = u.location_dialing_code.as_deref().map(str::to_owned);
    }
    DirectoryDetails {
        details,
        additional_details: Some(extra),
        extra: Vec::new(),
    }
}

fn user_sort_key<'a>(c: &'a Arc<User>, column: &str) -> &'a str {
    match column {
        "firstName" => &c.first_name,
        "department" => c.department.as_deref().unwrap_or_default(),
        _ => &c.last_name,
    }
}

fn no_key<'a>(_: &'a (), _: &str) -> &'a str {
    ""
}

fn search_users(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    enterprise: bool,
) -> Result<(Paging, Vec<DirectoryDetails>), Fail> {
    let params = query_params(ex)?;
    let fields: &[&str] = if enterprise {
        &USER_FIELDS
    } else {
        &USER_FIELDS[..12] // all but locationDialingCode
    };
    let search = Search::parse(&params, fields, &["groupId"], &USER_COLUMNS)?;
    // Users of a service provider (not an enterprise) see their own group only.
    let scope = if enterprise && u.is_enterprise {
        shared.store.enterprise_users(u.enterprise)
    } else {
        shared.store.group_users(u.group)
    };
    let names = search
        .criteria
        .iter()
        .any(|c| matches!(c.field, "name" | "mpName"));
    let matches: Vec<Arc<User>> = scope
        .into_iter()
        .filter_map(|i| shared.store.user(i))
        .filter(|c| {
            search.accepts(&UserCandidate {
                user: c,
                // Built only when a criterion needs them (no allocation per user otherwise).
                full: if names {
                    format!("{} {}", c.first_name, c.last_name)
                } else {
                    String::new()
                },
                reversed: if names {
                    format!("{} {}", c.last_name, c.first_name)
                } else {
                    String::new()
                },
            })
        })
        .collect();
    let (paging, page) = search.sort_and_page(matches, user_sort_key, |a, b| {
        (&a.last_name, &a.first_name, &a.user_id).cmp(&(&b.last_name, &b.first_name, &b.user_id))
    });
    Ok((
        paging,
        page.iter().map(|c| directory_details(shared, c)).collect(),
    ))
}

pub(crate) fn get(shared: &Shared, ex: &Exchange, u: &User, dir: Directory) -> Result<Resp, Fail> {
    match dir {
        Directory::Enterprise => {
            let (paging, entries) = search_users(shared, ex, u, true)?;
            Ok(super::ok_doc(ex, &EnterpriseDirectory { paging, entries }))
        }
        Directory::Group => {
            let (paging, entries) = search_users(shared, ex, u, false)?;
            Ok(super::ok_doc(ex, &GroupDirectory { paging, entries }))
        }
        // The model has no common phone lists or personal directory yet: the criteria are
        // validated and an empty, schema-valid page is returned.
        Directory::EnterpriseCommon | Directory::GroupCommon | Directory::Personal => {
            let params = query_params(ex)?;
            let search = Search::parse(&params, &["name", "number"], &[], &["name", "number"])?;
            let (paging, _) =
                search.sort_and_page(Vec::<()>::new(), no_key, |_, _| Ordering::Equal);
            Ok(match dir {
                Directory::EnterpriseCommon => super::ok_doc(
                    ex,
                    &EnterpriseCommonDirectory {
                        paging,
                        entries: Vec::new(),
                    },
                ),
                Directory::GroupCommon => super::ok_doc(
                    ex,
                    &GroupCommonDirectory {
                        paging,
                        entries: Vec::new(),
                    },
                ),
                _ => super::ok_doc(
                    ex,
                    &PersonalDirectory {
                        paging: Some(paging),
                        entries: Vec::new(),
                    },
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, value: &str) -> bool {
        Pattern::parse(pattern, true).unwrap().matches(value)
    }

    #[test]
    fn wildcards_and_case_flag() {
        assert!(m("Li", "Li") && !m("Li", "Liddell") && !m("Li", "li"));
        assert!(m("Li*", "Liddell") && m("Li*", "Li") && !m("Li*", "Ali"));
        assert!(m("*dd*", "Liddell") && !m("*dd*", "Li"));
        assert!(m("*ell", "Liddell") && !m("*ell", "Liddello"));
        assert!(m("L*d*l", "Liddell") && !m("L*d*l", "Lid"));
        assert!(m("*", "") && m("*", "anything"));
        assert!(m("li*/i", "LIDDELL") && !m("li*", "LIDDELL"));
        assert!(m("a\\/b", "a/b") && !m("a\\/b", "a\\/b"));
        assert!(m("a\\/i", "a/i"), "escaped slash before i is not the flag");
        assert!(Pattern::parse("a/b", true).is_err());
        assert!(Pattern::parse("a/", true).is_err());
        // Without wildcards a `*` is literal.
        assert!(Pattern::parse("h*", false).unwrap().matches("h*"));
        assert!(!Pattern::parse("h*", false).unwrap().matches("hq"));
    }

    #[test]
    fn sort_column_suffixes() {
        let s = parse_sort("firstname/I/desc", &USER_COLUMNS).unwrap();
        assert_eq!(s.column, "firstName");
        assert!(s.insensitive && s.descending);
        assert!(parse_sort("firstName/up", &USER_COLUMNS).is_err());
        assert!(parse_sort("number", &USER_COLUMNS).is_err());
    }

    #[test]
    fn paging_parameters() {
        let p = |q: &[(&str, &str)]| {
            paging(
                &q.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(p(&[]).unwrap(), (1, DEFAULT_RESULTS));
        assert_eq!(
            p(&[("start", "3"), ("results", "99999")]).unwrap(),
            (3, 1000)
        );
        assert!(p(&[("start", "0")]).is_err());
        assert!(p(&[("results", "-1")]).is_err());
    }
}
