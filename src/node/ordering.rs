//! Ordered delivery per restaurant: each restaurant's channel holds the
//! delivery lock, the last seq delivered here, and events that arrived ahead
//! of a missing one; gaps are filled from the event log.
//!
//! Events of one restaurant are delivered under its lock, in seq order, once
//! each; joining a room takes the same lock, so the `seq` a session is told
//! it joined at and the events it then receives fit together with no gap.
//! Publishing never reads the log and never waits: only a gap (or opening a
//! channel for a session) reads it.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use restohub_protocol::ws::Room;

use super::Node;
use crate::events::{event_frame, Event};

/// Per restaurant: the delivery lock, the last seq delivered, and events
/// that arrived ahead of a missing one.
#[derive(Default)]
pub(super) struct Channel {
    /// `last_seq` is a known position in the log: read from it when a
    /// session of the restaurant arrived, or taken from the first events
    /// published while the restaurant had no local session (none needs
    /// what came before).
    pub(super) ready: bool,
    pub(super) last_seq: u64,
    pub(super) waiting: BTreeMap<u64, Event>,
}

pub(super) fn lock(channel: &Mutex<Channel>) -> MutexGuard<'_, Channel> {
    channel.lock().unwrap_or_else(|e| e.into_inner())
}

impl Node {
    pub(super) fn channel(&self, restaurant: i64) -> Arc<Mutex<Channel>> {
        self.channels.entry(restaurant).or_default().clone()
    }

    /// Delivers one event now, whatever came before it: the primitive under
    /// [`Node::publish`], which keeps seq order (tests use it to place events
    /// exactly).
    pub fn deliver(&self, event: &Event) {
        let channel = self.channel(event.restaurant_id);
        let mut channel = lock(&channel);
        self.fan_out(event);
        channel.last_seq = channel.last_seq.max(event.seq);
    }

    /// Sends one event to every local session in any of its rooms, once
    /// each. The caller holds the restaurant's channel lock. Never waits on
    /// a client.
    fn fan_out(&self, event: &Event) {
        let body = event.shared_body();
        let mut delivered = 0;
        // Sessions in step with the channel share one frame (the same
        // `prev`): one allocation per event, not per recipient.
        let mut shared: Option<(u64, Utf8Bytes)> = None;
        self.registry.for_each_recipient(&event.rooms, |session| {
            // Under the channel lock: no other delivery to this session races.
            let prev = session.last_seq.load(Ordering::Acquire);
            if event.seq <= prev {
                // Already sent (a resumed session that was ahead of this instance).
                return;
            }
            session.last_seq.store(event.seq, Ordering::Release);
            let frame = match &shared {
                Some((p, frame)) if *p == prev => frame.clone(),
                _ => {
                    let frame = Utf8Bytes::from(event_frame(prev, &body));
                    shared = Some((prev, frame.clone()));
                    frame
                }
            };
            if session.push(frame, &self.stats) {
                delivered += 1;
            }
        });
        self.stats
            .events_delivered
            .fetch_add(delivered, Ordering::Relaxed);
        if delivered > 0 {
            // Once per event, not per recipient: how late this instance's
            // screens got it.
            self.metrics.delivered(event.at);
        }
        self.dashboard_changed(event.restaurant_id);
        if event
            .rooms
            .iter()
            .any(|room| matches!(room, Room::Kitchen(_) | Room::Station(..)))
        {
            self.kitchen_changed(event.restaurant_id);
        }
    }

    /// Makes sure the restaurant's channel stands at a known position before
    /// a session of it joins: reads the log's current seq unless it is known.
    pub async fn open_channel(&self, restaurant: i64) -> anyhow::Result<()> {
        if lock(&self.channel(restaurant)).ready {
            return Ok(());
        }
        let seq = self.log.current_seq(restaurant).await?;
        let channel = self.channel(restaurant);
        let mut channel = lock(&channel);
        if !channel.ready {
            channel.ready = true;
            channel.last_seq = channel.last_seq.max(seq);
        }
        Ok(())
    }

    /// Delivers committed events (of one restaurant) in seq order. Events
    /// ahead of a missing seq wait, and the log poller is woken to read the
    /// missing ones. Seqs already delivered are ignored, so nothing reaches
    /// a session twice.
    pub(super) fn deliver_in_order(&self, events: Vec<Event>) {
        let Some(first) = events.iter().min_by_key(|e| e.seq) else {
            return;
        };
        let channel = self.channel(first.restaurant_id);
        let mut channel = lock(&channel);
        if !channel.ready {
            // No local session has joined this restaurant yet, so none
            // misses what came before: start at these events.
            channel.ready = true;
            channel.last_seq = channel.last_seq.max(first.seq.saturating_sub(1));
        }
        for event in events {
            if event.seq > channel.last_seq {
                channel.waiting.insert(event.seq, event);
            }
        }
        self.drain_in_order(&mut channel);
        if !channel.waiting.is_empty() {
            self.gap.notify_one();
        }
    }

    fn drain_in_order(&self, channel: &mut Channel) {
        while let Some(entry) = channel.waiting.first_entry() {
            let seq = *entry.key();
            if seq <= channel.last_seq {
                entry.remove();
            } else if seq == channel.last_seq + 1 {
                let event = entry.remove();
                self.fan_out(&event);
                channel.last_seq = seq;
            } else {
                break;
            }
        }
    }

    /// Reads the events a restaurant's log has beyond what this instance
    /// delivered, up to `current` (its last committed seq), and delivers
    /// them in order. A seq the log no longer has (pruned) is skipped rather
    /// than waited for.
    pub(super) async fn catch_up(&self, restaurant: i64, current: u64) -> anyhow::Result<()> {
        let delivered = self.last_seq(restaurant);
        if current <= delivered {
            return Ok(());
        }
        let events = self
            .log
            .events_between(restaurant, delivered, current, 10_000)
            .await?;
        tracing::debug!(
            restaurant,
            delivered,
            current,
            found = events.len(),
            "caught up from the log"
        );
        let first_in_log = events.first().map_or(current + 1, |e| e.seq);
        let channel = self.channel(restaurant);
        let mut channel = lock(&channel);
        if first_in_log > channel.last_seq + 1 {
            tracing::warn!(
                restaurant,
                from = channel.last_seq + 1,
                to = first_in_log - 1,
                "events missing from the log skipped"
            );
            channel.last_seq = first_in_log - 1;
        }
        let mut found = 0;
        for event in events {
            if event.seq > channel.last_seq && !channel.waiting.contains_key(&event.seq) {
                found += 1;
                channel.waiting.insert(event.seq, event);
            }
        }
        self.drain_in_order(&mut channel);
        self.metrics.caught_up(found);
        Ok(())
    }

    /// The restaurant's last delivered seq.
    pub fn last_seq(&self, restaurant: i64) -> u64 {
        let channel = self.channel(restaurant);
        let seq = lock(&channel).last_seq;
        seq
    }
}
