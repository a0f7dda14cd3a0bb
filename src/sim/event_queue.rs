//! The engine's one event queue, ordered by (time, insertion sequence): events at the same
//! millisecond pop in the order they were scheduled (nexosim's rule), so a run is a pure
//! function of its input and seed.
//!
//! Simulated time never runs backwards, so the queue is a monotone priority queue: a radix
//! heap on the time alone (Ahuja, Mehlhorn, Orlin and Tarjan's one-level radix heap). Bucket
//! `i > 0` holds the events whose time differs from the last popped time `last` first at bit
//! `i - 1` (counting from the least significant); bucket 0 holds the events at `last`. A
//! bit-mask says which buckets are non-empty, so a pop finds the next one with one
//! `trailing_zeros`, and only when bucket 0 is empty moves the smallest non-empty bucket's
//! events down (each event moves at most 64 times over its life, usually once or twice).
//!
//! FIFO among equal times comes for free: all events of one time are always in the same
//! bucket (an event's bucket is a function of its time and `last`), each bucket is a FIFO that
//! keeps its events in the order they came, and moving a bucket down keeps that order. This
//! replaced the `radix-heap` crate keyed by
//! (time, sequence): 128-bit keys meant up to 129 buckets scanned per pop, and the crate
//! breaks ties LIFO, which the sequence had to undo (issue 18; BENCHMARKS.md has both).

use std::collections::VecDeque;

/// An event scheduled before the queue's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("time never runs backwards: {time_ms} < {now_ms}")]
pub struct InThePast {
    /// The time asked for.
    pub time_ms: u64,
    /// The clock: the time of the last popped event.
    pub now_ms: u64,
}

/// Bucket 0 and one bucket per bit of a `u64` time.
const BUCKETS: usize = 65;

/// A min-queue of events keyed by integer milliseconds, FIFO among equal times.
pub struct EventQueue<E> {
    /// `buckets[i]`: the events whose time first differs from `now_ms` at bit `i - 1`, in the
    /// order they were scheduled; `buckets[0]`: those at `now_ms`.
    buckets: Box<[VecDeque<(u64, E)>; BUCKETS]>,
    /// Bit `i` is set when `buckets[i]` is not empty.
    non_empty: u128,
    len: usize,
    /// The clock: the time of the last popped event (the radix heap's `last`).
    now_ms: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            buckets: Box::new(std::array::from_fn(|_| VecDeque::new())),
            non_empty: 0,
            len: 0,
            now_ms: 0,
        }
    }
}

/// The bucket of an event at `time` when the clock reads `now` (`time >= now`).
fn bucket(time: u64, now: u64) -> usize {
    (u64::BITS - (time ^ now).leading_zeros()) as usize
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
        let b = bucket(time_ms, self.now_ms);
        self.buckets[b].push_back((time_ms, event));
        self.non_empty |= 1 << b;
        self.len += 1;
        Ok(())
    }

    /// The next event and its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.pop_until(u64::MAX)
    }

    /// The next event and its time if that time is at most `limit_ms`; otherwise the event
    /// stays queued and the clock does not move.
    pub fn pop_until(&mut self, limit_ms: u64) -> Option<(u64, E)> {
        if self.non_empty & 1 == 0 {
            if self.non_empty == 0 {
                return None;
            }
            // Bucket 0 is empty: the smallest non-empty bucket holds the next time. Its events
            // move down, in order, relative to that time, which becomes the clock.
            let i = self.non_empty.trailing_zeros() as usize;
            let next = self.buckets[i]
                .iter()
                .map(|&(t, _)| t)
                .min()
                .expect("a non-empty bucket");
            if next > limit_ms {
                return None;
            }
            let mut moving = std::mem::take(&mut self.buckets[i]);
            self.non_empty &= !(1 << i);
            self.now_ms = next;
            for (t, e) in moving.drain(..) {
                let b = bucket(t, next);
                self.buckets[b].push_back((t, e));
                self.non_empty |= 1 << b;
            }
            // The emptied bucket keeps its memory for the events that will fill it again.
            self.buckets[i] = moving;
        } else if self.now_ms > limit_ms {
            return None;
        }
        let (time_ms, event) = self.buckets[0].pop_front().expect("bucket 0 is not empty");
        if self.buckets[0].is_empty() {
            self.non_empty &= !1;
        }
        self.len -= 1;
        Some((time_ms, event))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
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
