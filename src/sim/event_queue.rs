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
//!
//! Streams whose times never decrease (arrivals after a fixed latency) can skip the heap in
//! lanes ([`EventQueue::push_in_lane`]); every event then carries its sequence number, and
//! a pop takes the least (time, sequence) among the heap and the lanes (issue 17).

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

/// An event with its time and its place in the order of scheduling.
type Entry<E> = (u64, u64, E);

/// A min-queue of events keyed by integer milliseconds, FIFO among equal times.
///
/// Besides the radix heap, events may be scheduled in a *lane*: a FIFO for a stream whose
/// times never decrease, such as every hop's arrival after the same fixed latency (the
/// engine's cross-site hop takes one simulated hour). A lane pops from its front with no
/// bucket moves, where the heap would move each such event down once per bit of the hour it
/// waits (at 100,000 messages in flight, those moves through memory cost the engine a quarter
/// of its time, issue 17). An
/// event scheduled in a lane before the lane's last one goes to the heap instead. The order
/// is the same either way: every event carries its sequence number, and the queue pops the
/// least (time, sequence) among the heap's next event and the lanes' fronts.
pub struct EventQueue<E> {
    /// `buckets[i]`: the heap's events whose time first differs from `heap_last` at bit
    /// `i - 1`, in the order they were scheduled; `buckets[0]`: those at `heap_last`.
    buckets: Box<[VecDeque<Entry<E>>; BUCKETS]>,
    /// Bit `i` is set when `buckets[i]` is not empty.
    non_empty: u128,
    /// The radix heap's `last`: the time of the last event popped from the heap (at most the
    /// clock; the heap's events are at or after it).
    heap_last: u64,
    /// The earliest time in buckets 1 and up, when known (kept as events are pushed, forgotten
    /// when a bucket moves down): a pop that a lane wins does not scan the heap again.
    heap_min: Option<u64>,
    lanes: Vec<VecDeque<Entry<E>>>,
    len: usize,
    /// The clock: the time of the last popped event.
    now_ms: u64,
    /// The sequence number of the next event scheduled.
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            buckets: Box::new(std::array::from_fn(|_| VecDeque::new())),
            non_empty: 0,
            heap_last: 0,
            heap_min: None,
            lanes: Vec::new(),
            len: 0,
            now_ms: 0,
            seq: 0,
        }
    }
}

/// The bucket of an event at `time` when the heap's `last` reads `last` (`time >= last`).
fn bucket(time: u64, last: u64) -> usize {
    (u64::BITS - (time ^ last).leading_zeros()) as usize
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `time_ms`, which must not be in the past: the engine never does
    /// that, so a past time is a bug and stops the run (STYLE 9, assert invariants).
    pub fn push(&mut self, time_ms: u64, event: E) {
        if let Err(e) = self.try_push(time_ms, event) {
            panic!("{e}");
        }
    }

    /// Schedules `event` at `time_ms` in lane `lane` (a stream whose times never decrease,
    /// such as arrivals after one fixed latency), or in the heap when `time_ms` is before the
    /// lane's last event. It pops exactly when [`push`](Self::push) would have it pop.
    pub fn push_in_lane(&mut self, lane: usize, time_ms: u64, event: E) {
        self.check(time_ms).unwrap_or_else(|e| panic!("{e}"));
        if self.lanes.len() <= lane {
            self.lanes.resize_with(lane + 1, VecDeque::new);
        }
        if self.lanes[lane]
            .back()
            .is_none_or(|&(t, _, _)| t <= time_ms)
        {
            let seq = self.next_seq();
            self.lanes[lane].push_back((time_ms, seq, event));
            self.len += 1;
        } else {
            self.push_heap(time_ms, event);
        }
    }

    /// Schedules `event` at `time_ms`, or refuses (and leaves the queue as it was) when
    /// `time_ms` is before the clock.
    pub fn try_push(&mut self, time_ms: u64, event: E) -> Result<(), InThePast> {
        self.check(time_ms)?;
        self.push_heap(time_ms, event);
        Ok(())
    }

    fn check(&self, time_ms: u64) -> Result<(), InThePast> {
        if time_ms < self.now_ms {
            return Err(InThePast {
                time_ms,
                now_ms: self.now_ms,
            });
        }
        Ok(())
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }

    /// Into the radix heap (`time_ms` is at or after the clock, hence after `heap_last`).
    fn push_heap(&mut self, time_ms: u64, event: E) {
        let seq = self.next_seq();
        let b = bucket(time_ms, self.heap_last);
        self.buckets[b].push_back((time_ms, seq, event));
        self.non_empty |= 1 << b;
        if b > 0 {
            self.heap_min = self.heap_min.map(|m| m.min(time_ms));
        }
        self.len += 1;
    }

    /// The time of the heap's next event (`None`: the heap is empty).
    fn heap_next(&mut self) -> Option<u64> {
        if self.non_empty & 1 != 0 {
            return Some(self.heap_last);
        }
        if self.non_empty == 0 {
            return None;
        }
        if self.heap_min.is_none() {
            // Bucket 0 is empty: the smallest non-empty bucket holds the next time.
            let i = self.non_empty.trailing_zeros() as usize;
            self.heap_min = self.buckets[i].iter().map(|&(t, _, _)| t).min();
        }
        self.heap_min
    }

    /// Moves the smallest non-empty bucket's events down, in order, relative to the heap's
    /// next time `next`, which becomes `heap_last`: they land in bucket 0 and up.
    fn settle(&mut self, next: u64) {
        let i = self.non_empty.trailing_zeros() as usize;
        let mut moving = std::mem::take(&mut self.buckets[i]);
        self.non_empty &= !(1 << i);
        self.heap_last = next;
        self.heap_min = None;
        for (t, s, e) in moving.drain(..) {
            let b = bucket(t, next);
            self.buckets[b].push_back((t, s, e));
            self.non_empty |= 1 << b;
        }
        // The emptied bucket keeps its memory for the events that will fill it again.
        self.buckets[i] = moving;
    }

    /// The next event and its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.pop_until(u64::MAX)
    }

    /// The next event and its time if that time is at most `limit_ms`; otherwise the event
    /// stays queued and the clock does not move.
    pub fn pop_until(&mut self, limit_ms: u64) -> Option<(u64, E)> {
        let heap = self.heap_next();
        // The lane whose front is the least (time, sequence).
        let mut lane: Option<(usize, u64, u64)> = None;
        for (i, l) in self.lanes.iter().enumerate() {
            if let Some(&(t, s, _)) = l.front()
                && lane.is_none_or(|(_, bt, bs)| (t, s) < (bt, bs))
            {
                lane = Some((i, t, s));
            }
        }
        let next = match (heap, lane) {
            (None, None) => return None,
            (Some(h), None) => h,
            (None, Some((_, t, _))) => t,
            (Some(h), Some((_, t, _))) => h.min(t),
        };
        if next > limit_ms {
            return None;
        }
        let from_heap = heap == Some(next) && {
            if self.non_empty & 1 == 0 {
                // The heap's next time is the queue's: its bucket moves down now (never
                // earlier: `heap_last` must stay at or before the clock).
                self.settle(next);
            }
            let heap_seq = self.buckets[0].front().expect("bucket 0 is not empty").1;
            lane.is_none_or(|(_, t, s)| t > next || s > heap_seq)
        };
        let (time_ms, _, event) = if from_heap {
            let entry = self.buckets[0].pop_front().expect("bucket 0 is not empty");
            if self.buckets[0].is_empty() {
                self.non_empty &= !1;
            }
            entry
        } else {
            let (i, _, _) = lane.expect("a lane holds the next event");
            self.lanes[i].pop_front().expect("the lane is not empty")
        };
        self.now_ms = time_ms;
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
    fn lanes_pop_in_time_then_scheduling_order_with_the_heap() {
        let mut q = EventQueue::default();
        q.push_in_lane(1, 10, 'a');
        q.push(10, 'b');
        q.push_in_lane(0, 5, 'c');
        q.push_in_lane(1, 10, 'd');
        // Before lane 1's last event: to the heap, in its place all the same.
        q.push_in_lane(1, 7, 'e');
        q.push(3, 'f');
        let mut order = Vec::new();
        while let Some((t, e)) = q.pop() {
            order.push((t, e));
            if e == 'c' {
                q.push_in_lane(0, 10, 'g');
            }
        }
        assert_eq!(
            order,
            [
                (3, 'f'),
                (5, 'c'),
                (7, 'e'),
                (10, 'a'),
                (10, 'b'),
                (10, 'd'),
                (10, 'g')
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
