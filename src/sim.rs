//! The discrete-event simulation of Exchange transport (SPEC §5): messages submitted over time,
//! routed Transport service by Transport service through per-server delivery queues, retried on
//! Exchange's schedule, expired, with the TLS requirement followed hop by hop.
//!
//! Sans-I/O: the engine takes a scenario run and returns counts, findings and outcomes; the
//! message tracking log goes to a [`TrackingSink`] that the caller provides.

mod engine;
mod event_queue;
pub mod replications;
mod schedule;
mod tracking;
mod traffic;

pub use engine::{
    Delivered, FINDINGS_KEPT_PER_GROUP, RecipientOutcome, RecipientState, RunOptions, RunResult,
    SimFinding, Stats, Summary, run, run_bounded, run_observed,
};
pub use event_queue::EventQueue;
pub use schedule::retry_delay;
pub use tracking::{NullSink, SessionEnd, SmtpSession, TrackingEvent, TrackingRow, TrackingSink};

/// How many senders of a workload pattern have a mailbox server in `topology`: a workload with
/// none sends nothing (the loader warns, CFG110).
pub(crate) fn sending_mailboxes(
    topology: &crate::model::Topology,
    pattern: &crate::model::scenario::SenderPattern,
) -> usize {
    traffic::senders(topology, pattern)
        .iter()
        .filter(|a| topology.mailbox_for(a).is_some())
        .count()
}

use crate::model::Code;

/// The finding codes a run reports (SPEC §5.4), in the order summaries count them.
pub const FINDING_CODES: [Code; 7] = [
    Code::Tls001,
    Code::Tls002,
    Code::Tls003,
    Code::Tls004,
    Code::Tls005,
    Code::Dlv001,
    Code::Dlv002,
];
