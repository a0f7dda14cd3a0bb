//! The engine's one event queue, ordered by (time, insertion sequence): events at the same
//! millisecond pop in the order they were scheduled (nexosim's rule), so a run is a pure
//! function of its input and seed.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

struct Scheduled<E> {
    time_ms: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time_ms, self.seq) == (other.time_ms, other.seq)
    }
}

impl<E> Eq for Scheduled<E> {}

impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time_ms, self.seq).cmp(&(other.time_ms, other.seq))
    }
}

/// A min-queue of events keyed by integer milliseconds.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
    seq: u64,
    now_ms: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
            now_ms: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time_ms`, which must not be in the past.
    pub fn push(&mut self, time_ms: u64, event: E) {
        assert!(
            time_ms >= self.now_ms,
            "time never runs backwards: {time_ms} < {}",
            self.now_ms
        );
        self.heap.push(Reverse(Scheduled {
            time_ms,
            seq: self.seq,
            event,
        }));
        self.seq += 1;
    }

    /// The next event and its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let Reverse(s) = self.heap.pop()?;
        self.now_ms = s.time_ms;
        Some((s.time_ms, s.event))
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(s)| s.time_ms)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
}
