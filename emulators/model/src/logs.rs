//! Per-user call logs and voice messages.
//!
//! Both are bounded per user so a long soak test cannot grow memory without limit: call
//! logs keep the newest entries per kind (BroadWorks drops the oldest), the mailbox refuses
//! deposits when full (as a full BroadWorks mailbox does).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::E164;

/// Placed, received or missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallLogKind {
    /// Outgoing.
    Placed,
    /// Incoming, answered.
    Received,
    /// Incoming, not answered.
    Missed,
}

impl CallLogKind {
    /// All kinds in Xsi order (`placed`, `received`, `missed`).
    pub const ALL: [CallLogKind; 3] = [Self::Placed, Self::Received, Self::Missed];

    fn slot(self) -> usize {
        match self {
            Self::Placed => 0,
            Self::Received => 1,
            Self::Missed => 2,
        }
    }
}

/// A call log entry to record (the store assigns the id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCallLog {
    /// Placed, received or missed.
    pub kind: CallLogKind,
    /// The other party's name (Xsi: 1–62 characters).
    pub name: String,
    /// The other party's number or SIP URI.
    pub number: String,
    /// Start of the call.
    pub time: OffsetDateTime,
}

/// A stored call log entry, shaped after Xsi `callLogsEntry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLogEntry {
    /// Placed, received or missed.
    pub kind: CallLogKind,
    /// The other party's name.
    pub name: String,
    /// The number as Xsi shows it: national digits when `country_code` is set, else as given.
    pub phone_number: String,
    /// Country calling code when the number was E.164.
    pub country_code: Option<String>,
    /// Start of the call.
    pub time: OffsetDateTime,
    /// Unique per user, e.g. `17:0`.
    pub call_log_id: String,
}

impl CallLogEntry {
    pub(crate) fn new(entry: NewCallLog, seq: u64) -> Self {
        let (phone_number, country_code) = match E164::parse(&entry.number) {
            Ok(n) => (n.national().to_owned(), Some(n.country_code().to_owned())),
            Err(_) => (entry.number, None),
        };
        Self {
            kind: entry.kind,
            name: entry.name,
            phone_number,
            country_code,
            time: entry.time,
            call_log_id: format!("{seq}:0"),
        }
    }
}

/// Audio/video/fax container of a voice message (Xsi `MessageMediaFileType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaType {
    /// WAV audio (the common case).
    #[default]
    #[serde(rename = "WAV")]
    Wav,
    /// MP3 audio.
    #[serde(rename = "MP3")]
    Mp3,
    /// Video message.
    #[serde(rename = "MOV")]
    Mov,
    /// Fax.
    #[serde(rename = "TIF")]
    Tif,
}

impl MediaType {
    /// Xsi `mediaType` text.
    pub fn xsi_name(self) -> &'static str {
        match self {
            Self::Wav => "WAV",
            Self::Mp3 => "MP3",
            Self::Mov => "MOV",
            Self::Tif => "TIF",
        }
    }

    /// MIME type for HTTP downloads.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Wav => "audio/wav",
            Self::Mp3 => "audio/mpeg",
            Self::Mov => "video/quicktime",
            Self::Tif => "image/tiff",
        }
    }
}

/// Who left a voice message (Xsi `callingPartyInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CallingParty {
    /// Display name.
    pub name: Option<String>,
    /// BroadWorks user id, when the caller is a lab user.
    pub user_id: Option<String>,
    /// Number or URI (`tel:+15550142`).
    pub address: Option<String>,
    /// Caller withheld their identity.
    pub privacy: bool,
}

/// A voice message to deposit (the store assigns the id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewVoiceMessage {
    /// Who called.
    pub from: CallingParty,
    /// When it was left.
    pub time: Option<OffsetDateTime>,
    /// Length in milliseconds (absent for fax).
    pub duration_ms: Option<u32>,
    /// Already listened to.
    pub read: bool,
    /// Marked urgent.
    pub urgent: bool,
    /// Marked confidential.
    pub confidential: bool,
    /// Container type.
    pub media_type: MediaType,
    /// Media bytes; `None` lets the Xsi server synthesise content.
    pub content: Option<Arc<[u8]>>,
}

/// A stored voice message (Xsi `messageInfo` plus media).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoiceMessage {
    /// Opaque id (the last segment of the Xsi `messageId` URI).
    pub id: String,
    /// Who called.
    pub from: CallingParty,
    /// When it was left.
    pub time: OffsetDateTime,
    /// Length in milliseconds.
    pub duration_ms: Option<u32>,
    /// Listened to.
    pub read: bool,
    /// Urgent.
    pub urgent: bool,
    /// Confidential.
    pub confidential: bool,
    /// Container type.
    pub media_type: MediaType,
    /// Media bytes, if provided.
    pub content: Option<Arc<[u8]>>,
}

impl VoiceMessage {
    /// Video message.
    pub fn is_video(&self) -> bool {
        self.media_type == MediaType::Mov
    }

    /// Fax message.
    pub fn is_fax(&self) -> bool {
        self.media_type == MediaType::Tif
    }
}

/// Counts for the message-waiting indicator (Xsi `MessageSummary`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageSummary {
    /// Unread, not urgent.
    pub new_messages: u32,
    /// Read, not urgent.
    pub old_messages: u32,
    /// Unread, urgent.
    pub new_urgent_messages: u32,
    /// Read, urgent.
    pub old_urgent_messages: u32,
}

/// The mailbox is full: the deposit was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("mailbox full ({limit} messages)")]
pub struct MailboxFull {
    /// The mailbox limit.
    pub limit: u32,
}

/// One user's call logs and mailbox. Allocated on first use: most users of a big lab
/// never get a call log, and an empty one would still cost ~130 bytes each.
#[derive(Debug, Default)]
pub(crate) struct UserLogs(Option<Box<LogsInner>>);

#[derive(Debug, Default)]
struct LogsInner {
    calls: [VecDeque<CallLogEntry>; 3],
    messages: Vec<VoiceMessage>,
    next_call_seq: u64,
    push: Vec<crate::push::PushRegistration>,
}

static MESSAGE_IDS: AtomicU64 = AtomicU64::new(1);

impl LogsInner {
    pub fn append_call(&mut self, entry: NewCallLog, limit: usize) -> CallLogEntry {
        self.next_call_seq += 1;
        let e = CallLogEntry::new(entry, self.next_call_seq);
        let list = &mut self.calls[e.kind.slot()];
        list.push_back(e.clone());
        while list.len() > limit.max(1) {
            list.pop_front();
        }
        e
    }

    /// Entries of one kind (or all), newest first as Xsi lists them.
    pub fn calls(&self, kind: Option<CallLogKind>) -> Vec<CallLogEntry> {
        let mut out: Vec<CallLogEntry> = match kind {
            Some(k) => self.calls[k.slot()].iter().rev().cloned().collect(),
            None => CallLogKind::ALL
                .iter()
                .flat_map(|k| self.calls[k.slot()].iter().rev().cloned())
                .collect(),
        };
        if kind.is_none() {
            out.sort_by_key(|e| std::cmp::Reverse(e.time));
        }
        out
    }

    pub fn delete_call(&mut self, kind: CallLogKind, id: &str) -> bool {
        let list = &mut self.calls[kind.slot()];
        let before = list.len();
        list.retain(|e| e.call_log_id != id);
        list.len() != before
    }

    pub fn clear_calls(&mut self, kind: Option<CallLogKind>) {
        match kind {
            Some(k) => self.calls[k.slot()].clear(),
            None => self.calls.iter_mut().for_each(VecDeque::clear),
        }
    }

    pub fn deposit(
        &mut self,
        msg: NewVoiceMessage,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<VoiceMessage, MailboxFull> {
        if self.messages.len() >= limit as usize {
            return Err(MailboxFull { limit });
        }
        // Unique across the process, UUID-shaped: clients treat the id as opaque, but some
        // log or validate it as a UUID.
        let n = MESSAGE_IDS.fetch_add(1, Ordering::Relaxed);
        let m = VoiceMessage {
            id: format!(
                "{:08x}-0000-4000-8000-{:012x}",
                n >> 48,
                n & 0xffff_ffff_ffff
            ),
            from: msg.from,
            time: msg.time.unwrap_or(now),
            duration_ms: msg.duration_ms,
            read: msg.read,
            urgent: msg.urgent,
            confidential: msg.confidential,
            media_type: msg.media_type,
            content: msg.content,
        };
        self.messages.push(m.clone());
        Ok(m)
    }

    /// Messages, newest first.
    pub fn messages(&self) -> Vec<VoiceMessage> {
        let mut v = self.messages.clone();
        v.sort_by_key(|m| std::cmp::Reverse(m.time));
        v
    }

    pub fn message(&self, id: &str) -> Option<VoiceMessage> {
        self.messages.iter().find(|m| m.id == id).cloned()
    }

    pub fn mark(&mut self, id: &str, read: bool) -> bool {
        match self.messages.iter_mut().find(|m| m.id == id) {
            Some(m) => {
                m.read = read;
                true
            }
            None => false,
        }
    }

    pub fn mark_all(&mut self, read: bool) {
        self.messages.iter_mut().for_each(|m| m.read = read);
    }

    pub fn delete_message(&mut self, id: &str) -> bool {
        let before = self.messages.len();
        self.messages.retain(|m| m.id != id);
        self.messages.len() != before
    }

    pub fn summary(&self) -> MessageSummary {
        let mut s = MessageSummary::default();
        for m in &self.messages {
            match (m.read, m.urgent) {
                (false, false) => s.new_messages += 1,
                (true, false) => s.old_messages += 1,
                (false, true) => s.new_urgent_messages += 1,
                (true, true) => s.old_urgent_messages += 1,
            }
        }
        s
    }
}

impl UserLogs {
    fn inner(&mut self) -> &mut LogsInner {
        self.0.get_or_insert_with(Default::default)
    }

    pub fn push_registrations(&self) -> Vec<crate::push::PushRegistration> {
        self.0.as_ref().map_or_else(Vec::new, |i| i.push.clone())
    }

    pub fn add_push_registration(&mut self, reg: crate::push::PushRegistration) -> bool {
        crate::push::add(&mut self.inner().push, reg)
    }

    pub fn delete_push_registration(
        &mut self,
        registration_id: Option<&str>,
        token: Option<&str>,
    ) -> usize {
        self.0.as_mut().map_or(0, |i| {
            crate::push::delete(&mut i.push, registration_id, token)
        })
    }

    pub fn append_call(&mut self, entry: NewCallLog, limit: usize) -> CallLogEntry {
        self.inner().append_call(entry, limit)
    }

    pub fn calls(&self, kind: Option<CallLogKind>) -> Vec<CallLogEntry> {
        self.0.as_ref().map_or_else(Vec::new, |i| i.calls(kind))
    }

    pub fn delete_call(&mut self, kind: CallLogKind, id: &str) -> bool {
        self.0.as_mut().is_some_and(|i| i.delete_call(kind, id))
    }

    pub fn clear_calls(&mut self, kind: Option<CallLogKind>) {
        if let Some(i) = self.0.as_mut() {
            i.clear_calls(kind);
        }
    }

    pub fn deposit(
        &mut self,
        msg: NewVoiceMessage,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<VoiceMessage, MailboxFull> {
        self.inner().deposit(msg, now, limit)
    }

    pub fn messages(&self) -> Vec<VoiceMessage> {
        self.0.as_ref().map_or_else(Vec::new, |i| i.messages())
    }

    pub fn message(&self, id: &str) -> Option<VoiceMessage> {
        self.0.as_ref().and_then(|i| i.message(id))
    }

    pub fn mark(&mut self, id: &str, read: bool) -> bool {
        self.0.as_mut().is_some_and(|i| i.mark(id, read))
    }

    pub fn mark_all(&mut self, read: bool) {
        if let Some(i) = self.0.as_mut() {
            i.mark_all(read);
        }
    }

    pub fn delete_message(&mut self, id: &str) -> bool {
        self.0.as_mut().is_some_and(|i| i.delete_message(id))
    }

    pub fn summary(&self) -> MessageSummary {
        self.0
            .as_ref()
            .map_or_else(MessageSummary::default, |i| i.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn call(kind: CallLogKind, n: u32) -> NewCallLog {
        NewCallLog {
            kind,
            name: format!("Caller {n}"),
            number: "+15550142".into(),
            time: datetime!(2026-01-01 0:00 UTC) + time::Duration::minutes(n.into()),
        }
    }

    #[test]
    fn call_logs_are_bounded_per_kind() {
        let mut l = UserLogs::default();
        for n in 0..5 {
            l.append_call(call(CallLogKind::Missed, n), 3);
        }
        let e = l.append_call(call(CallLogKind::Placed, 9), 3);
        assert_eq!(e.country_code.as_deref(), Some("1"));
        assert_eq!(e.phone_number, "5550142");
        let missed = l.calls(Some(CallLogKind::Missed));
        assert_eq!(missed.len(), 3);
        assert_eq!(missed[0].name, "Caller 4", "newest first");
        assert_eq!(l.calls(None).len(), 4);
        assert!(l.delete_call(CallLogKind::Missed, &missed[1].call_log_id));
        assert!(!l.delete_call(CallLogKind::Missed, "nope"));
        l.clear_calls(Some(CallLogKind::Missed));
        assert_eq!(l.calls(None).len(), 1);
    }

    #[test]
    fn mailbox_limit_and_flags() {
        let mut l = UserLogs::default();
        let now = datetime!(2026-01-01 0:00 UTC);
        let a = l.deposit(NewVoiceMessage::default(), now, 2).unwrap();
        let _b = l
            .deposit(
                NewVoiceMessage {
                    urgent: true,
                    ..Default::default()
                },
                now,
                2,
            )
            .unwrap();
        assert_eq!(
            l.deposit(NewVoiceMessage::default(), now, 2),
            Err(MailboxFull { limit: 2 })
        );
        assert_eq!(l.summary().new_messages, 1);
        assert_eq!(l.summary().new_urgent_messages, 1);
        assert!(l.mark(&a.id, true));
        assert_eq!(l.summary().old_messages, 1);
        l.mark_all(false);
        assert_eq!(l.summary().old_messages, 0);
        assert!(l.delete_message(&a.id));
        assert!(l.message(&a.id).is_none());
        assert_eq!(l.messages().len(), 1);
    }
}
