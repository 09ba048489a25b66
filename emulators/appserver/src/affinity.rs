//! Ending a channel from outside its host: when a heartbeat or event response for a channel
//! reaches another Xsi-Events instance (server affinity broken), that instance asks the AS
//! to drop the channel, and the AS tells the host to close the stream without a
//! `ChannelTerminatedEvent` (no termination reason describes it).

use crate::server::AppServer;

impl AppServer {
    /// Forgets a channel and asks its host to close the stream silently. Subscriptions of
    /// the set stay. Returns false for an unknown channel.
    pub fn drop_channel(&self, channel_id: &str) -> bool {
        let Some(ch) = self.inner.channels.get(channel_id) else {
            return false;
        };
        let host = self.inner.app(ch.host);
        self.inner.remove_channel(&ch, None);
        if let Some(app) = host {
            app.sink.drop_channel(channel_id);
        }
        true
    }
}
