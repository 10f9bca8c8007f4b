//! Serenity hands every gateway event to a task of its own, so two messages a member sends
//! back to back may be handled in either order. A step's answer must hold every part sent
//! before "done", so "done" waits until the channel's earlier messages have been handled.

use poise::serenity_prelude::{ChannelId, MessageId};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

/// How long an earlier message's task may take to begin after a later one has: tasks start
/// within microseconds, so this only matters on a starved runtime.
const SETTLE: Duration = Duration::from_millis(150);
/// An earlier message whose handling takes longer than this is not waited for.
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// The messages of each channel being handled now.
#[derive(Default)]
pub struct MessageOrder {
    in_flight: Mutex<HashMap<ChannelId, BTreeSet<MessageId>>>,
    handled: Notify,
}

/// Marks a message handled when dropped, so an error or panic in its handler never leaves
/// "done" waiting.
pub struct Handling<'a> {
    order: &'a MessageOrder,
    channel: ChannelId,
    message: MessageId,
}

impl MessageOrder {
    /// Called first thing for every message, before anything is awaited.
    pub fn begin(&self, channel: ChannelId, message: MessageId) -> Handling<'_> {
        self.lock().entry(channel).or_default().insert(message);
        Handling { order: self, channel, message }
    }

    /// Waits until no message of `channel` older than `message` is still being handled.
    pub async fn after_earlier(&self, channel: ChannelId, message: MessageId) {
        tokio::time::sleep(SETTLE).await;
        let waited = tokio::time::timeout(LONGEST_WAIT, async {
            loop {
                let handled = self.handled.notified();
                if !self.earlier_in_flight(channel, message) {
                    return;
                }
                handled.await;
            }
        })
        .await;
        if waited.is_err() {
            tracing::warn!(%channel, %message, "an earlier message is still being handled; going on without it");
        }
    }

    fn earlier_in_flight(&self, channel: ChannelId, message: MessageId) -> bool {
        self.lock().get(&channel).is_some_and(|ids| ids.range(..message).next().is_some())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, BTreeSet<MessageId>>> {
        self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.order.lock();
        if let Some(ids) = in_flight.get_mut(&self.channel) {
            ids.remove(&self.message);
            if ids.is_empty() {
                in_flight.remove(&self.channel);
            }
        }
        drop(in_flight);
        self.order.handled.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn done_waits_for_an_earlier_message_and_not_for_a_later_one() {
        let order = Arc::new(MessageOrder::default());
        let channel = ChannelId::new(7);
        let earlier = order.begin(channel, MessageId::new(10));
        let later = order.begin(channel, MessageId::new(30));
        let other_channel = order.begin(ChannelId::new(8), MessageId::new(5));
        let waiting = {
            let order = order.clone();
            tokio::spawn(async move { order.after_earlier(channel, MessageId::new(20)).await })
        };
        tokio::time::sleep(SETTLE * 3).await;
        assert!(!waiting.is_finished(), "the earlier part is still being appended");
        drop(earlier);
        tokio::time::timeout(Duration::from_secs(1), waiting).await.expect("done goes on").expect("no panic");
        drop((later, other_channel));
        assert!(order.lock().is_empty(), "nothing is kept once handled");
    }

    #[tokio::test(start_paused = true)]
    async fn done_goes_on_without_a_message_that_never_finishes() {
        let order = MessageOrder::default();
        let channel = ChannelId::new(7);
        let _stuck = order.begin(channel, MessageId::new(1));
        tokio::time::timeout(SETTLE + LONGEST_WAIT * 2, order.after_earlier(channel, MessageId::new(2)))
            .await
            .expect("done is not held forever");
    }
}
