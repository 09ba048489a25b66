//! The event channels this node hosts: one streaming connection each.
//!
//! The application server decides *which* channel of a set gets an event; this registry
//! only knows the streams that end on this node. Events go straight from the caller into the
//! stream's bounded buffer (`try_send`, never blocking): a full buffer is a slow consumer,
//! and the refusal travels back to the AS as back-pressure. Everything else that happens to
//! a channel — heartbeats, the `eventTimeout` deadline, termination — is handled by one small
//! supervisor task per channel.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::body::Chunk;

const SHARDS: usize = 32;

/// Commands to a channel's supervisor.
#[derive(Debug)]
pub(crate) enum Ctl {
    /// A heartbeat arrived: push the `eventTimeout` deadline out.
    Heartbeat,
    /// Write `ChannelTerminatedEvent` with this body, then close the stream.
    Terminate(Bytes, &'static str),
    /// Close the stream at once, without a word (killed connection, node restart).
    Kill(&'static str),
}

/// Result of offering a chunk to a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Queued for the socket.
    Queued,
    /// This node does not host the channel (or its stream has just closed).
    NotHere,
    /// The channel's buffer or the node's `eventQueueSize` is exhausted.
    Full,
}

struct Live {
    out: mpsc::Sender<Chunk>,
    ctl: mpsc::Sender<Ctl>,
    user: Arc<str>,
    /// Set while a stall fault holds the stream: chunks wait here, bounded like the buffer.
    backlog: Option<VecDeque<Chunk>>,
}

type Shard = Mutex<HashMap<Arc<str>, Live>>;

/// Streams hosted by this node, sharded so concurrent deliveries rarely contend.
pub(crate) struct LiveChannels {
    shards: Box<[Shard]>,
    hasher: RandomState,
    /// Events accepted but not yet taken by a socket, node-wide (`eventQueueSize`).
    pub queued: Arc<AtomicUsize>,
    /// Per-channel buffer size.
    buffer: usize,
}

/// What a newly registered stream needs: the body side and the supervisor side.
pub(crate) struct Opened {
    pub body: mpsc::Receiver<Chunk>,
    pub out: mpsc::Sender<Chunk>,
    pub ctl: mpsc::Receiver<Ctl>,
}

impl LiveChannels {
    pub(crate) fn new(buffer: usize) -> Self {
        LiveChannels {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            queued: Arc::new(AtomicUsize::new(0)),
            buffer: buffer.max(1),
        }
    }

    fn shard(&self, id: &str) -> &Shard {
        let h = self.hasher.hash_one(id) as usize;
        &self.shards[h % SHARDS]
    }

    /// Registers a stream for `id`, with `first` (the `Channel` document) already queued.
    pub(crate) fn open(&self, id: Arc<str>, user: Arc<str>, first: Bytes) -> Opened {
        let (out, body) = mpsc::channel(self.buffer + 2);
        let (ctl_tx, ctl) = mpsc::channel(8);
        // Cannot fail: the channel is new and has room.
        let _ = out.try_send(Chunk {
            bytes: first,
            counted: false,
        });
        self.shard(&id).lock().insert(
            id,
            Live {
                out: out.clone(),
                ctl: ctl_tx,
                user,
                backlog: None,
            },
        );
        Opened { body, out, ctl }
    }

    /// Owner of a hosted channel.
    pub(crate) fn owner(&self, id: &str) -> Option<Arc<str>> {
        self.shard(id).lock().get(id).map(|l| Arc::clone(&l.user))
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    pub(crate) fn ids(&self) -> Vec<Arc<str>> {
        self.shards
            .iter()
            .flat_map(|s| s.lock().keys().cloned().collect::<Vec<_>>())
            .collect()
    }

    /// Offers one event document; `limit` is the node's `eventQueueSize`.
    pub(crate) fn offer_event(&self, id: &str, bytes: Bytes, limit: usize) -> Offer {
        if self.queued.load(Ordering::Relaxed) >= limit {
            return Offer::Full;
        }
        let mut shard = self.shard(id).lock();
        let Some(live) = shard.get_mut(id) else {
            return Offer::NotHere;
        };
        let chunk = Chunk {
            bytes,
            counted: true,
        };
        if let Some(backlog) = &mut live.backlog {
            if backlog.len() >= self.buffer {
                return Offer::Full;
            }
            backlog.push_back(chunk);
            self.queued.fetch_add(1, Ordering::Relaxed);
            return Offer::Queued;
        }
        // Count first: the socket may take the chunk before `try_send` returns.
        self.queued.fetch_add(1, Ordering::Relaxed);
        match live.out.try_send(chunk) {
            Ok(()) => Offer::Queued,
            Err(e) => {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                match e {
                    TrySendError::Full(_) => Offer::Full,
                    TrySendError::Closed(_) => Offer::NotHere,
                }
            }
        }
    }

    /// Writes an uncounted document (a heartbeat) unless the stream is stalled or full.
    pub(crate) fn offer_plain(&self, id: &str, bytes: Bytes) -> Offer {
        let shard = self.shard(id).lock();
        let Some(live) = shard.get(id) else {
            return Offer::NotHere;
        };
        if live.backlog.is_some() {
            return Offer::Full;
        }
        match live.out.try_send(Chunk {
            bytes,
            counted: false,
        }) {
            Ok(()) => Offer::Queued,
            Err(TrySendError::Full(_)) => Offer::Full,
            Err(TrySendError::Closed(_)) => Offer::NotHere,
        }
    }

    /// Sends a command to a channel's supervisor; `false` if the channel is not here.
    pub(crate) fn control(&self, id: &str, ctl: Ctl) -> bool {
        let sender = self.shard(id).lock().get(id).map(|l| l.ctl.clone());
        match sender {
            // A full control queue means a terminate or kill is already pending.
            Some(tx) => !matches!(tx.try_send(ctl), Err(TrySendError::Closed(_))),
            None => false,
        }
    }

    /// Holds (or releases) a stream: while held nothing reaches the socket. Returns whether
    /// the channel is hosted here.
    pub(crate) fn set_stalled(&self, id: &str, stalled: bool) -> bool {
        let mut shard = self.shard(id).lock();
        let Some(live) = shard.get_mut(id) else {
            return false;
        };
        match (stalled, live.backlog.take()) {
            (true, None) => live.backlog = Some(VecDeque::new()),
            (true, Some(b)) => live.backlog = Some(b),
            (false, Some(mut b)) => {
                while let Some(c) = b.pop_front() {
                    let counted = c.counted;
                    if live.out.try_send(c).is_err() && counted {
                        self.queued.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            }
            (false, None) => {}
        }
        true
    }

    /// Forgets a channel (its supervisor ended). Chunks held by a stall are released from
    /// the node's queue count.
    pub(crate) fn remove(&self, id: &str) {
        if let Some(live) = self.shard(id).lock().remove(id)
            && let Some(b) = live.backlog
        {
            let n = b.iter().filter(|c| c.counted).count();
            self.queued.fetch_sub(n, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn offers_respect_buffer_and_queue_limit() {
        let live = LiveChannels::new(2);
        let mut o = live.open("c1".into(), "alice".into(), b("<Channel/>"));
        assert_eq!(live.offer_event("c1", b("e1"), 10), Offer::Queued);
        assert_eq!(live.offer_event("c1", b("e2"), 10), Offer::Queued);
        assert_eq!(
            live.offer_event("c1", b("e3"), 2),
            Offer::Full,
            "node queue"
        );
        assert_eq!(live.offer_event("nope", b("e"), 10), Offer::NotHere);
        assert_eq!(live.queued.load(Ordering::Relaxed), 2);
        assert_eq!(&o.body.try_recv().unwrap().bytes[..], b"<Channel/>");
        let c = o.body.try_recv().unwrap();
        assert!(c.counted);
    }

    #[test]
    fn stall_holds_then_flushes() {
        let live = LiveChannels::new(4);
        let mut o = live.open("c1".into(), "alice".into(), b("first"));
        let _ = o.body.try_recv();
        assert!(live.set_stalled("c1", true));
        assert_eq!(live.offer_event("c1", b("e1"), 10), Offer::Queued);
        assert_eq!(live.offer_plain("c1", b("hb")), Offer::Full);
        assert!(o.body.try_recv().is_err(), "nothing reaches the socket");
        live.set_stalled("c1", false);
        assert_eq!(&o.body.try_recv().unwrap().bytes[..], b"e1");
    }

    #[test]
    fn closed_stream_is_not_here() {
        let live = LiveChannels::new(4);
        let o = live.open("c1".into(), "alice".into(), b("first"));
        drop(o.body);
        assert_eq!(live.offer_event("c1", b("e"), 10), Offer::NotHere);
        assert_eq!(live.queued.load(Ordering::Relaxed), 0);
    }
}
