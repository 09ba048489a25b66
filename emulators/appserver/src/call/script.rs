//! Scripted calls on tokio time: `as_.call("alice", "bob").answer_after(d).release_after(d).start()`.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::{CallError, CallHandle};
use crate::server::AppServer;

/// Who hangs up a scripted call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Releaser {
    Caller,
    Callee,
}

/// A call that runs by itself: dial now, then answer/hold/release after delays (tokio time).
#[derive(Debug)]
#[must_use = "nothing happens until start()"]
pub struct ScriptedCall {
    server: AppServer,
    caller: String,
    dialed: String,
    answer_after: Option<Duration>,
    hold_after: Option<Duration>,
    release_after: Option<Duration>,
    releaser: Releaser,
}

impl ScriptedCall {
    pub(crate) fn new(server: AppServer, caller: &str, dialed: &str) -> Self {
        Self {
            server,
            caller: caller.to_owned(),
            dialed: dialed.to_owned(),
            answer_after: None,
            hold_after: None,
            release_after: None,
            releaser: Releaser::Caller,
        }
    }

    /// The callee answers this long after the dial.
    pub fn answer_after(mut self, d: Duration) -> Self {
        self.answer_after = Some(d);
        self
    }

    /// The caller holds this long after the answer.
    pub fn hold_after(mut self, d: Duration) -> Self {
        self.hold_after = Some(d);
        self
    }

    /// The call is released this long after the answer (or after the dial when it is never
    /// answered).
    pub fn release_after(mut self, d: Duration) -> Self {
        self.release_after = Some(d);
        self
    }

    /// The callee, not the caller, hangs up.
    pub fn released_by_callee(mut self) -> Self {
        self.releaser = Releaser::Callee;
        self
    }

    /// Dials now; the rest of the script runs in a task. Steps that no longer apply (the
    /// call went to voice mail, the other side hung up) are skipped.
    pub fn start(self) -> Result<(CallHandle, JoinHandle<()>), CallError> {
        let handle = self.server.calls().dial(&self.caller, &self.dialed)?;
        let orig = handle.originator.clone();
        let task = tokio::spawn(async move {
            let calls = self.server.calls();
            if let Some(d) = self.answer_after {
                tokio::time::sleep(d).await;
                let _ = calls.answer(&orig);
            }
            if let Some(d) = self.hold_after {
                tokio::time::sleep(d).await;
                let _ = calls.hold(&orig);
            }
            if let Some(d) = self.release_after {
                tokio::time::sleep(d).await;
                let target = match self.releaser {
                    Releaser::Caller => Some(orig.clone()),
                    Releaser::Callee => calls.session(&orig).and_then(|h| h.terminator),
                };
                if let Some(id) = target {
                    let _ = calls.release(&id);
                }
            }
        });
        Ok((handle, task))
    }
}
