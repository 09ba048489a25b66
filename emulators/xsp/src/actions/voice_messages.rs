//! `user/{u}/VoiceMessagingMessages` (§5.9): the list (message ids as absolute paths
//! `/v2.0/user/{u}/voicemessagingmessages/{id}`), one message with base64 media, mark
//! read/unread (one or all) and delete. Needs the Voice Messaging service.
//!
//! Messages deposited without media get a small synthetic WAV (0.25 s of 8 kHz 8-bit mono
//! silence), so clients always have something to play.

use bwlab_model::{ServiceKind, User, VoiceMessage as MMessage};
use bwlab_xsi::documents::voice_messages::{
    CallingPartyInfo, MediaType, MessageInfo, MessageMedia, VoiceMessage, VoiceMessagingMessages,
};
use bwlab_xsi::{Address, ErrorCode};
use hyper::StatusCode;

use crate::Shared;
use crate::errors::{Fail, Resp, empty};
use crate::journal::Exchange;

fn require_service(u: &User) -> Result<(), Fail> {
    if u.has_service(ServiceKind::VoiceMessaging) {
        Ok(())
    } else {
        Err(Fail::detail(
            ErrorCode::ServiceNotAssigned,
            ServiceKind::VoiceMessaging.display_name(),
        ))
    }
}

fn not_found(ex: &Exchange) -> Fail {
    Fail::detail(ErrorCode::ResourceNotFound, &ex.path)
}

/// The `messageId` of a message: an absolute path below the Xsi-Actions root.
pub(crate) fn message_path(u: &User, id: &str) -> String {
    format!("/v2.0/user/{}/voicemessagingmessages/{id}", u.user_id)
}

fn info(u: &User, m: &MMessage) -> MessageInfo {
    let from = &m.from;
    let party =
        (from.name.is_some() || from.user_id.is_some() || from.address.is_some() || from.privacy)
            .then(|| CallingPartyInfo {
                name: from.name.clone(),
                user_id: from.user_id.clone(),
                address: from.address.clone().map(Address::new),
                privacy: from.privacy,
            });
    MessageInfo {
        duration: if m.is_fax() { None } else { m.duration_ms },
        calling_party_info: party,
        read: m.read,
        urgent: m.urgent,
        confidential: m.confidential,
        video: m.is_video(),
        fax: m.is_fax(),
        time: i64::try_from(m.time.unix_timestamp_nanos() / 1_000_000).unwrap_or_default(),
        fax_page_count: None,
        message_id: Some(message_path(u, &m.id)),
    }
}

pub(crate) fn list(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    require_service(u)?;
    let messages = shared.store.voice_messages(u.idx)?;
    let doc = VoiceMessagingMessages {
        messages: messages.iter().map(|m| info(u, m)).collect(),
    };
    Ok(super::ok_doc(ex, &doc))
}

fn media_type(m: &MMessage) -> MediaType {
    match m.media_type.xsi_name() {
        "TIF" => MediaType::Tif,
        "MOV" => MediaType::Mov,
        "MP3" => MediaType::Mp3,
        _ => MediaType::Wav,
    }
}

pub(crate) fn get(shared: &Shared, ex: &Exchange, u: &User, id: &str) -> Result<Resp, Fail> {
    require_service(u)?;
    let m = shared
        .store
        .voice_message(u.idx, id)?
        .ok_or_else(|| not_found(ex))?;
    let content = match &m.content {
        Some(bytes) => base64(bytes),
        None => base64(&synthetic_wav()),
    };
    let kind = media_type(&m);
    let doc = VoiceMessage {
        message_info: info(u, &m),
        media: MessageMedia {
            description: format!("{}.{}", m.id, kind.as_str().to_ascii_lowercase()),
            media_type: if m.content.is_some() {
                kind
            } else {
                MediaType::Wav
            },
            content_base64: content,
        },
    };
    Ok(super::ok_doc(ex, &doc))
}

/// PUT `{id}/MarkAsRead` / `MarkAsUnread`.
pub(crate) fn mark(
    shared: &Shared,
    ex: &Exchange,
    u: &User,
    id: &str,
    read: bool,
) -> Result<Resp, Fail> {
    require_service(u)?;
    if !shared.store.mark_voice_message(u.idx, id, read)? {
        return Err(not_found(ex));
    }
    crate::events::notify(shared, |a| a.voice_messages_changed(&u.user_id));
    Ok(empty(StatusCode::OK))
}

/// PUT `MarkAllAsRead` / `MarkAllAsUnread`.
pub(crate) fn mark_all(shared: &Shared, u: &User, read: bool) -> Result<Resp, Fail> {
    require_service(u)?;
    shared.store.mark_all_voice_messages(u.idx, read)?;
    crate::events::notify(shared, |a| a.voice_messages_changed(&u.user_id));
    Ok(empty(StatusCode::OK))
}

pub(crate) fn delete(shared: &Shared, ex: &Exchange, u: &User, id: &str) -> Result<Resp, Fail> {
    require_service(u)?;
    if !shared.store.delete_voice_message(u.idx, id)? {
        return Err(not_found(ex));
    }
    crate::events::notify(shared, |a| a.voice_messages_changed(&u.user_id));
    Ok(empty(StatusCode::OK))
}

/// A valid RIFF/WAVE file: 8 kHz, 8-bit unsigned PCM, mono, 2000 samples of silence.
pub(crate) fn synthetic_wav() -> Vec<u8> {
    const SAMPLES: u32 = 2000;
    let mut w = Vec::with_capacity(44 + SAMPLES as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + SAMPLES).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    w.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    w.extend_from_slice(&1u16.to_le_bytes()); // block align
    w.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    w.extend_from_slice(b"data");
    w.extend_from_slice(&SAMPLES.to_le_bytes());
    w.resize(44 + SAMPLES as usize, 0x80);
    w
}

/// Standard base64 with padding (RFC 4648 §4), as `xs:base64Binary` expects.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn synthetic_wav_header_is_consistent() {
        let w = synthetic_wav();
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(&w[8..12], b"WAVE");
        let riff_len = u32::from_le_bytes(w[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_len + 8, w.len());
    }
}
