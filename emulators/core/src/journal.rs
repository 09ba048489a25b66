//! The journal: a bounded record of everything that crosses a lab boundary — each DNS
//! query, HTTP request, TLS handshake, event, SIP message and injected fault.
//!
//! Expectations query it, reports draw it. Appends happen on every request of every
//! emulator, so an append takes no journal-wide lock: entries go into a ring of individually
//! locked slots chosen by a sequence number, and readers take one slot lock at a time.
//! Waking waiters (tokio's `Notify`, which has a lock of its own) happens only while somebody
//! actually waits. When the ring is full the oldest entries are overwritten (and counted as
//! dropped).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::clock::LabClock;

/// Default number of entries kept.
pub const DEFAULT_CAPACITY: usize = 65_536;
/// Default cap on a stored body; longer bodies are truncated (and marked so).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// What crossed the boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A DNS query and its answer.
    Dns,
    /// An HTTP request and its response.
    Http,
    /// A TLS handshake (accepted or refused).
    Tls,
    /// A SIP message.
    Sip,
    /// An Xsi event delivered (or not) to a channel.
    Event,
    /// A fault injected or reverted.
    Fault,
    /// Lab lifecycle: node up/down, clock advanced, data changed.
    Lab,
    /// Output of the system under test.
    Sut,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Kind::Dns => "dns",
            Kind::Http => "http",
            Kind::Tls => "tls",
            Kind::Sip => "sip",
            Kind::Event => "event",
            Kind::Fault => "fault",
            Kind::Lab => "lab",
            Kind::Sut => "sut",
        };
        f.write_str(s)
    }
}

/// One journal record.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// Position in the journal; strictly increasing, never reused.
    pub seq: u64,
    /// Lab wall time when it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The lab node that saw it (`dns`, `xsp1`, `lb-site-a`, …).
    pub node: Arc<str>,
    /// The other side, when known.
    pub peer: Option<SocketAddr>,
    pub kind: Kind,
    /// One line, readable in a terminal: `GET /com.broadsoft.xsi-actions/v2.0/user/alice/profile → 200`.
    pub summary: String,
    /// Machine-readable attributes for expectations (`method`, `path`, `status`, `qname`…).
    pub attrs: Vec<(Arc<str>, String)>,
    /// The body, if the recorder captured one (truncated to the journal's body limit).
    #[serde(skip)]
    pub body: Option<Bytes>,
    /// True when `body` was cut to the limit.
    pub body_truncated: bool,
}

impl Entry {
    /// The value of attribute `key`, if recorded.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (lossy), if captured.
    pub fn body_text(&self) -> Option<String> {
        self.body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.at.time();
        write!(
            f,
            "#{:<6} {:02}:{:02}:{:02}.{:03} {:<10} {:<5} ",
            self.seq,
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond(),
            self.node,
            self.kind
        )?;
        if let Some(peer) = self.peer {
            write!(f, "{peer} ")?;
        }
        f.write_str(&self.summary)
    }
}

/// A record under construction; see [`Journal::record`].
#[must_use = "call .commit() to store the entry"]
pub struct Record<'a> {
    journal: &'a Journal,
    node: Arc<str>,
    kind: Kind,
    summary: String,
    peer: Option<SocketAddr>,
    attrs: Vec<(Arc<str>, String)>,
    body: Option<Bytes>,
}

impl Record<'_> {
    pub fn peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    pub fn attr(mut self, key: impl Into<Arc<str>>, value: impl Into<String>) -> Self {
        self.attrs.push((key.into(), value.into()));
        self
    }

    /// Attaches a body; it is kept only if the journal captures bodies.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        if self.journal.inner.body_limit > 0 {
            self.body = Some(body.into());
        }
        self
    }

    /// Stores the entry and wakes anyone waiting for new entries. Returns its sequence number.
    pub fn commit(self) -> u64 {
        let Record {
            journal,
            node,
            kind,
            summary,
            peer,
            attrs,
            body,
        } = self;
        let limit = journal.inner.body_limit;
        let (body, body_truncated) = match body {
            Some(b) if b.len() > limit => (Some(b.slice(..limit)), true),
            other => (other, false),
        };
        journal.push(Entry {
            seq: 0,
            at: journal.inner.clock.now(),
            node,
            peer,
            kind,
            summary,
            attrs,
            body,
            body_truncated,
        })
    }
}

/// Which entries a query selects. All set fields must match.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub node: Option<String>,
    pub kind: Option<Kind>,
    /// Substring of the summary.
    pub contains: Option<String>,
    /// Attribute equalities.
    pub attrs: Vec<(String, String)>,
    /// Only entries with `seq >= since`.
    pub since: u64,
}

impl Filter {
    pub fn kind(kind: Kind) -> Self {
        Self {
            kind: Some(kind),
            ..Self::default()
        }
    }

    pub fn node(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }

    pub fn contains(mut self, text: impl Into<String>) -> Self {
        self.contains = Some(text.into());
        self
    }

    pub fn attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.push((key.into(), value.into()));
        self
    }

    pub fn since(mut self, seq: u64) -> Self {
        self.since = seq;
        self
    }

    pub fn matches(&self, e: &Entry) -> bool {
        e.seq >= self.since
            && self.kind.is_none_or(|k| k == e.kind)
            && self.node.as_deref().is_none_or(|n| n == &*e.node)
            && self
                .contains
                .as_deref()
                .is_none_or(|c| e.summary.contains(c))
            && self
                .attrs
                .iter()
                .all(|(k, v)| e.attr(k) == Some(v.as_str()))
    }
}

/// The lab journal. Cloning is cheap; clones share the same record.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    slots: Box<[Mutex<Option<Arc<Entry>>>]>,
    next: AtomicU64,
    notify: Notify,
    /// Tasks inside `wait_for`; appends skip the `Notify` (and its lock) when zero.
    waiters: AtomicUsize,
    clock: LabClock,
    body_limit: usize,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

impl Journal {
    /// A journal with the default capacity and body limit.
    pub fn new(clock: LabClock) -> Self {
        Self::with_limits(clock, DEFAULT_CAPACITY, DEFAULT_BODY_LIMIT)
    }

    /// `capacity` entries are kept (at least one); bodies are cut at `body_limit` bytes
    /// (0: bodies are not kept at all).
    pub fn with_limits(clock: LabClock, capacity: usize, body_limit: usize) -> Self {
        let slots = (0..capacity.max(1)).map(|_| Mutex::new(None)).collect();
        Self {
            inner: Arc::new(Inner {
                slots,
                next: AtomicU64::new(1),
                notify: Notify::new(),
                waiters: AtomicUsize::new(0),
                clock,
                body_limit,
            }),
        }
    }

    /// The clock that timestamps entries.
    pub fn clock(&self) -> &LabClock {
        &self.inner.clock
    }

    pub fn capacity(&self) -> usize {
        self.inner.slots.len()
    }

    /// Entries currently held.
    pub fn len(&self) -> usize {
        let written = self.inner.next.load(Ordering::Acquire) - 1;
        usize::try_from(written).map_or(self.capacity(), |w| w.min(self.capacity()))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries overwritten because the ring was full.
    pub fn dropped(&self) -> u64 {
        let written = self.inner.next.load(Ordering::Acquire) - 1;
        written.saturating_sub(self.capacity() as u64)
    }

    /// The sequence number the next entry will get; use it as a `since` bookmark.
    pub fn next_seq(&self) -> u64 {
        self.inner.next.load(Ordering::Acquire)
    }

    /// Starts an entry: `journal.record("dns", Kind::Dns, "A xsp1.lab.example → 127.77.0.3").peer(p).commit()`.
    pub fn record(
        &self,
        node: impl Into<Arc<str>>,
        kind: Kind,
        summary: impl Into<String>,
    ) -> Record<'_> {
        Record {
            journal: self,
            node: node.into(),
            kind,
            summary: summary.into(),
            peer: None,
            attrs: Vec::new(),
            body: None,
        }
    }

    fn push(&self, mut entry: Entry) -> u64 {
        let seq = self.inner.next.fetch_add(1, Ordering::AcqRel);
        entry.seq = seq;
        let idx = (seq % self.inner.slots.len() as u64) as usize;
        {
            let mut slot = self.inner.slots[idx].lock();
            // A slower writer holding an older sequence number must not overwrite a newer one.
            if slot.as_ref().is_none_or(|old| old.seq < seq) {
                *slot = Some(Arc::new(entry));
            }
        }
        // The slot write above happens before this load; a waiter that registered after
        // our load scans after our write and sees the entry without a wake-up.
        if self.inner.waiters.load(Ordering::SeqCst) > 0 {
            self.inner.notify.notify_waiters();
        }
        seq
    }

    /// All held entries matching `filter`, oldest first.
    pub fn query(&self, filter: &Filter) -> Vec<Arc<Entry>> {
        let end = self.next_seq();
        let cap = self.capacity() as u64;
        let start = filter.since.max(end.saturating_sub(cap)).max(1);
        (start..end)
            .filter_map(|seq| {
                let slot = self.inner.slots[(seq % cap) as usize].lock();
                slot.as_ref()
                    .filter(|e| e.seq == seq && filter.matches(e))
                    .cloned()
            })
            .collect()
    }

    /// Every held entry, oldest first.
    pub fn entries(&self) -> Vec<Arc<Entry>> {
        self.query(&Filter::default())
    }

    /// Waits until an entry matching `filter` exists (including ones already recorded) and
    /// returns the first. `None` when `timeout` (tokio time) passes first.
    pub async fn wait_for(&self, filter: &Filter, timeout: Duration) -> Option<Arc<Entry>> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.inner.waiters.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.inner.waiters);

        let deadline = tokio::time::Instant::now() + timeout;
        let mut filter = filter.clone();
        loop {
            // Register interest before scanning so an append between scan and await is not missed.
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let scan_end = self.next_seq();
            if let Some(e) = self.query(&filter).into_iter().next() {
                return Some(e);
            }
            // Resume from the first sequence number whose writer had not finished yet, so a
            // slow writer's entry is not skipped.
            filter.since = self.first_unwritten(filter.since, scan_end);
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// The first `seq` in `from..end` whose slot does not hold it yet (or `end`).
    fn first_unwritten(&self, from: u64, end: u64) -> u64 {
        let cap = self.capacity() as u64;
        let from = from.max(end.saturating_sub(cap)).max(1);
        (from..end)
            .find(|&seq| {
                let slot = self.inner.slots[(seq % cap) as usize].lock();
                slot.as_ref().is_none_or(|e| e.seq < seq)
            })
            .unwrap_or(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn journal(cap: usize) -> Journal {
        Journal::with_limits(LabClock::frozen_at(datetime!(2026-01-01 0:00 UTC)), cap, 8)
    }

    #[test]
    fn records_and_queries_by_fields() {
        let j = journal(16);
        j.record("dns", Kind::Dns, "A xsp.lab.example")
            .attr("qname", "xsp.lab.example")
            .commit();
        j.record("xsp1", Kind::Http, "GET /versions → 200")
            .attr("status", "200")
            .body("0123456789abcdef")
            .commit();
        assert_eq!(j.len(), 2);
        let http = j.query(&Filter::kind(Kind::Http).attr("status", "200"));
        assert_eq!(http.len(), 1);
        assert_eq!(http[0].node.as_ref(), "xsp1");
        assert_eq!(http[0].body_text().as_deref(), Some("01234567"));
        assert!(http[0].body_truncated);
        assert!(j.query(&Filter::default().node("xsp2")).is_empty());
        assert_eq!(j.query(&Filter::default().contains("versions")).len(), 1);
    }

    #[test]
    fn ring_overwrites_oldest_and_counts_drops() {
        let j = journal(4);
        for i in 0..10 {
            j.record("n", Kind::Lab, format!("e{i}")).commit();
        }
        let all: Vec<_> = j.entries().iter().map(|e| e.summary.clone()).collect();
        assert_eq!(all, ["e6", "e7", "e8", "e9"]);
        assert_eq!(j.dropped(), 6);
        assert_eq!(j.len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_sees_later_entries_and_times_out() {
        let j = journal(64);
        let j2 = j.clone();
        let waiter = tokio::spawn(async move {
            j2.wait_for(&Filter::kind(Kind::Fault), Duration::from_secs(5))
                .await
        });
        tokio::task::yield_now().await;
        j.record("lab", Kind::Lab, "noise").commit();
        j.record("lab", Kind::Fault, "node_down xsp1").commit();
        let got = waiter.await.unwrap().expect("fault entry");
        assert_eq!(got.summary, "node_down xsp1");

        let none = j
            .wait_for(&Filter::kind(Kind::Sip), Duration::from_secs(1))
            .await;
        assert!(none.is_none());
    }

    #[test]
    fn concurrent_writers_lose_nothing_within_capacity() {
        let j = journal(10_000);
        std::thread::scope(|s| {
            for t in 0..4 {
                let j = j.clone();
                s.spawn(move || {
                    for i in 0..1000 {
                        j.record("n", Kind::Http, format!("{t}-{i}")).commit();
                    }
                });
            }
        });
        assert_eq!(j.entries().len(), 4000);
        assert_eq!(j.dropped(), 0);
    }
}
