//! Concurrency primitives for the store's hot paths.
//!
//! Reads vastly outnumber writes: the AS answers thousands of Xsi lookups per second while a
//! scenario adds a user now and then. So:
//! - [`AppendVec`] is an append-only table whose reads take no lock at all (chunks that never
//!   move, each slot a `OnceLock`);
//! - [`LookupMap`] is a hash map frozen at load time plus a small locked overlay for
//!   additions made afterwards; the overlay is consulted only after it first gets an entry
//!   and only on a miss, so lookups of loaded data never touch a lock.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

/// Hasher for every index: foldhash is among the fastest for short string keys.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

pub(crate) fn fast_map<K, V>(capacity: usize) -> FastMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, foldhash::fast::RandomState::default())
}

const FIRST_CHUNK_BITS: u32 = 10;
const CHUNKS: usize = 22; // 1024 * (2^22 - 1) slots: far beyond any lab.

/// One chunk of an [`AppendVec`]: allocated whole on first use, slots filled one by one.
type Chunk<T> = OnceLock<Box<[OnceLock<T>]>>;

/// Append-only table with lock-free reads. Slots never move once written.
pub(crate) struct AppendVec<T> {
    chunks: Box<[Chunk<T>]>,
    len: AtomicUsize,
    writer: Mutex<()>,
}

impl<T> AppendVec<T> {
    pub fn new() -> Self {
        Self {
            chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect(),
            len: AtomicUsize::new(0),
            writer: Mutex::new(()),
        }
    }

    fn locate(i: usize) -> (usize, usize) {
        let j = i + (1 << FIRST_CHUNK_BITS);
        let bit = usize::BITS - 1 - j.leading_zeros();
        let chunk = (bit - FIRST_CHUNK_BITS) as usize;
        (chunk, j - (1 << bit))
    }

    /// Number of slots written.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The value at `i`, if written. Lock-free.
    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len() {
            return None;
        }
        let (c, off) = Self::locate(i);
        self.chunks.get(c)?.get()?.get(off)?.get()
    }

    /// Appends and returns the new index. `make` receives the index before the value is
    /// visible, so a value can carry its own index.
    pub fn push_with(&self, make: impl FnOnce(usize) -> T) -> Option<usize> {
        let _w = self.writer.lock();
        let i = self.len.load(Ordering::Relaxed);
        let (c, off) = Self::locate(i);
        let chunk = self.chunks.get(c)?.get_or_init(|| {
            (0..(1usize << (c as u32 + FIRST_CHUNK_BITS)))
                .map(|_| OnceLock::new())
                .collect()
        });
        chunk.get(off)?.set(make(i)).ok()?;
        self.len.store(i + 1, Ordering::Release);
        Some(i)
    }

    /// Values in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Hash index frozen at load, plus a locked overlay for run-time additions.
pub(crate) struct LookupMap<K, V> {
    base: FastMap<K, V>,
    extra: RwLock<FastMap<K, V>>,
    has_extra: AtomicBool,
}

impl<K: Hash + Eq, V: Copy> LookupMap<K, V> {
    pub fn new(base: FastMap<K, V>) -> Self {
        Self {
            base,
            extra: RwLock::new(fast_map(0)),
            has_extra: AtomicBool::new(false),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(v) = self.base.get(key) {
            return Some(*v);
        }
        if self.has_extra.load(Ordering::Acquire) {
            return self.extra.read().get(key).copied();
        }
        None
    }

    /// Adds an entry after load. The caller serialises writers and checks for duplicates.
    pub fn insert(&self, key: K, value: V) {
        self.extra.write().insert(key, value);
        self.has_extra.store(true, Ordering::Release);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.base.len() + self.extra.read().len()
    }
}

impl<K: Hash + Eq, V: Copy> Default for LookupMap<K, V> {
    fn default() -> Self {
        Self::new(fast_map(0))
    }
}

impl<K, V> std::fmt::Debug for LookupMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupMap")
            .field("base", &self.base.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn append_vec_chunks() {
        assert_eq!(AppendVec::<u8>::locate(0), (0, 0));
        assert_eq!(AppendVec::<u8>::locate(1023), (0, 1023));
        assert_eq!(AppendVec::<u8>::locate(1024), (1, 0));
        assert_eq!(AppendVec::<u8>::locate(3071), (1, 2047));
        assert_eq!(AppendVec::<u8>::locate(3072), (2, 0));
        let v = AppendVec::new();
        for i in 0..5000 {
            assert_eq!(v.push_with(|j| j * 2), Some(i));
        }
        assert_eq!(v.len(), 5000);
        assert_eq!(v.get(4321), Some(&8642));
        assert_eq!(v.get(5000), None);
        assert_eq!(v.iter().count(), 5000);
    }

    #[test]
    fn readers_see_concurrent_appends() {
        let v = Arc::new(AppendVec::new());
        let w = {
            let v = v.clone();
            std::thread::spawn(move || {
                for i in 0..20_000usize {
                    v.push_with(|_| i);
                }
            })
        };
        let mut seen = 0;
        while seen < 20_000 {
            let n = v.len();
            for i in seen..n {
                assert_eq!(v.get(i), Some(&i));
            }
            seen = n;
        }
        w.join().unwrap();
    }

    #[test]
    fn lookup_overlay() {
        let mut base = fast_map(4);
        base.insert(Box::<str>::from("a"), 1u32);
        let m = LookupMap::new(base);
        assert_eq!(m.get("a"), Some(1));
        assert_eq!(m.get("b"), None);
        m.insert("b".into(), 2);
        assert_eq!(m.get("b"), Some(2));
        assert_eq!(m.len(), 2);
    }
}
