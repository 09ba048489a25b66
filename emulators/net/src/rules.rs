//! The rule list both fault layers keep: copy-on-write, so the hot path reads one `Arc`
//! snapshot (after one atomic load while there are no rules), and a generation counter that
//! lets open connections notice changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;

/// Rules of type `R`, each under a numeric id (1, 2, …), in insertion order.
pub(crate) struct RuleList<R> {
    rules: RwLock<Arc<[(u64, R)]>>,
    any: AtomicBool,
    next: AtomicU64,
    generation: AtomicU64,
}

impl<R: Clone> RuleList<R> {
    pub(crate) fn new() -> Self {
        RuleList {
            rules: RwLock::new(Arc::from(Vec::new())),
            any: AtomicBool::new(false),
            next: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// The id the next [`push`](Self::push) will use (to journal before publishing).
    pub(crate) fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Appends `rule` under `id` (from [`next_id`](Self::next_id)).
    pub(crate) fn push(&self, id: u64, rule: R) {
        let mut rules = self.rules.write();
        let mut v = rules.to_vec();
        v.push((id, rule));
        *rules = Arc::from(v);
        self.any.store(true, Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Removes the rule `id`, returning it.
    pub(crate) fn remove(&self, id: u64) -> Option<R> {
        let mut rules = self.rules.write();
        let pos = rules.iter().position(|(i, _)| *i == id)?;
        let mut v = rules.to_vec();
        let (_, rule) = v.remove(pos);
        self.any.store(!v.is_empty(), Ordering::Release);
        *rules = Arc::from(v);
        self.generation.fetch_add(1, Ordering::Release);
        Some(rule)
    }

    /// True while there are no rules: one atomic load.
    pub(crate) fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Acquire)
    }

    /// Bumped by every change.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The rules as they are now.
    pub(crate) fn snapshot(&self) -> Arc<[(u64, R)]> {
        Arc::clone(&self.rules.read())
    }

    pub(crate) fn to_vec(&self) -> Vec<(u64, R)> {
        self.rules.read().to_vec()
    }
}
