//! The response body of every XSP answer: either a whole document (sent with
//! `Content-Length`) or an event-channel stream (sent chunked, one XML document per chunk,
//! for as long as the channel lives).
//!
//! hyper writes every data frame of a body without a known length as one HTTP chunk, which
//! is exactly the framing Xsi-Events clients rely on, so a stream is simply a bounded
//! receiver of ready-made documents.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// A whole document or a live event stream.
pub(crate) enum XspBody {
    /// Sent once, with `Content-Length`.
    Full(Option<Bytes>),
    /// One chunk per received item; ends when every sender is gone.
    Stream(mpsc::Receiver<Chunk>, Arc<AtomicUsize>),
    /// A whole document sent slowly in chunks (the `chunked_dribble` HTTP fault).
    Dribble(bwlab_net::http_faults::DribbleBody),
}

/// One document of an event stream.
pub(crate) struct Chunk {
    pub bytes: Bytes,
    /// An event counted against the node's `eventQueueSize` until the socket takes it.
    pub counted: bool,
}

impl XspBody {
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let b = bytes.into();
        XspBody::Full((!b.is_empty()).then_some(b))
    }

    pub(crate) fn empty() -> Self {
        XspBody::Full(None)
    }

    /// The whole body, if this is not a stream (tests and the journal).
    #[allow(dead_code)]
    pub(crate) fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            XspBody::Full(b) => b.as_ref(),
            XspBody::Stream(..) | XspBody::Dribble(..) => None,
        }
    }

    /// This body dribbled in `chunks` pieces over `total` (streams are left alone).
    pub(crate) fn dribble(mut self, chunks: u32, total: std::time::Duration) -> Self {
        match &mut self {
            XspBody::Full(b) => XspBody::Dribble(bwlab_net::http_faults::DribbleBody::new(
                b.take().unwrap_or_default(),
                chunks,
                total,
            )),
            _ => self,
        }
    }
}

impl Body for XspBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            XspBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            XspBody::Stream(rx, queued) => rx.poll_recv(cx).map(|o| {
                o.map(|c| {
                    if c.counted {
                        queued.fetch_sub(1, Ordering::Relaxed);
                    }
                    Ok(Frame::data(c.bytes))
                })
            }),
            XspBody::Dribble(d) => Pin::new(d).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            XspBody::Full(b) => b.is_none(),
            XspBody::Stream(..) => false,
            XspBody::Dribble(d) => d.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            XspBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            XspBody::Stream(..) | XspBody::Dribble(..) => SizeHint::default(),
        }
    }
}

impl Drop for XspBody {
    /// Chunks still queued when the client goes away no longer occupy the node's queue.
    fn drop(&mut self) {
        if let XspBody::Stream(rx, queued) = self {
            rx.close();
            while let Ok(c) = rx.try_recv() {
                if c.counted {
                    queued.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }
}
