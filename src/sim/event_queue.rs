//! The engine's one event queue, ordered by (time, insertion sequence): events at the same
//! millisecond pop in the order they were scheduled (nexosim's rule), so a run is a pure
//! function of its input and seed.
//!
//! Simulated time never runs backwards, so the queue is a monotone priority queue: a radix heap
//! (the `radix-heap` crate) keyed by the pair (time, sequence). Pushing is O(1) and popping is
//! amortised O(log d) in the distance d from the last popped key, independent of how many
//! events are pending, and the buckets are contiguous vectors: far fewer cache misses than a
//! binary heap once 100,000 events wait (BENCHMARKS.md). The sequence makes every key unique,
//! which gives the FIFO tie-break (the crate's own tie-break is LIFO).

use std::cmp::Reverse;

use radix_heap::RadixHeapMap;

/// An event scheduled before the queue's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("time never runs backwards: {time_ms} < {now_ms}")]
pub struct InThePast {
    /// The time asked for.
    pub time_ms: u64,
    /// The clock: the time of the last popped event.
    pub now_ms: u64,
}

/// A min-queue of events keyed by integer milliseconds, FIFO among equal times.
pub struct EventQueue<E> {
    /// A max-heap on reversed keys is a min-heap on (time, sequence).
    heap: RadixHeapMap<Reverse<(u64, u64)>, E>,
    seq: u64,
    now_ms: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: RadixHeapMap::new(),
            seq: 0,
            now_ms: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time_ms`, which must not be in the past: the engine never does
    /// that, so a past time is a bug and stops the run (STYLE 9, assert invariants).
    pub fn push(&mut self, time_ms: u64, event: E) {
        if let Err(e) = self.try_push(time_ms, event) {
            panic!("{e}");
        }
    }

    /// Schedules `event` at `time_ms`, or refuses (and leaves the queue as it was) when
    /// `time_ms` is before the clock.
    pub fn try_push(&mut self, time_ms: u64, event: E) -> Result<(), InThePast> {
        if time_ms < self.now_ms {
            return Err(InThePast {
                time_ms,
                now_ms: self.now_ms,
            });
        }
        self.heap.push(Reverse((time_ms, self.seq)), event);
        self.seq += 1;
        Ok(())
    }

    /// The next event and its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.pop_until(u64::MAX)
    }

    /// The next event and its time if that time is at most `limit_ms`; otherwise the event
    /// stays queued and the clock does not move.
    pub fn pop_until(&mut self, limit_ms: u64) -> Option<(u64, E)> {
        let (key, event) = self.heap.pop()?;
        let Reverse((time_ms, _)) = key;
        if time_ms > limit_ms {
            // Keys equal to the heap's top may be pushed again: the order is unchanged.
            self.heap.push(key, event);
            return None;
        }
        self.now_ms = time_ms;
        Some((time_ms, event))
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

#[cfg(test)]
mod tests {
    use super::{EventQueue, InThePast};

    #[test]
    fn pops_in_time_order_and_fifo_among_equal_times() {
        let mut q = EventQueue::default();
        for (t, e) in [(5, 'a'), (1, 'b'), (5, 'c'), (1, 'd'), (3, 'e'), (5, 'f')] {
            q.push(t, e);
        }
        assert_eq!(q.pop_until(0).map(|(t, _)| t), None, "nothing is due at 0");
        let mut order = Vec::new();
        while let Some((t, e)) = q.pop() {
            order.push((t, e));
            if e == 'b' {
                // Scheduled at the current time: after 'd', which was scheduled earlier.
                q.push(1, 'g');
            }
        }
        assert_eq!(
            order,
            [
                (1, 'b'),
                (1, 'd'),
                (1, 'g'),
                (3, 'e'),
                (5, 'a'),
                (5, 'c'),
                (5, 'f')
            ]
        );
    }

    #[test]
    fn pop_until_leaves_later_events_queued() {
        let mut q = EventQueue::default();
        q.push(10, 'a');
        q.push(20, 'b');
        assert_eq!(q.pop_until(15), Some((10, 'a')));
        assert_eq!(q.pop_until(15), None);
        assert_eq!((q.len(), q.now_ms()), (1, 10));
        assert_eq!(q.pop(), Some((20, 'b')));
    }

    #[test]
    fn refuses_an_event_in_the_past() {
        let mut q = EventQueue::default();
        q.push(10, ());
        let _ = q.pop();
        let refused = q.try_push(9, ());
        assert_eq!(
            refused,
            Err(InThePast {
                time_ms: 9,
                now_ms: 10
            })
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "time never runs backwards: 9 < 10"
        );
        assert_eq!((q.len(), q.now_ms()), (0, 10), "the queue is unchanged");
        assert_eq!(q.try_push(10, ()), Ok(()), "now is not the past");
    }
}
