//! Exchange's routing as pure functions over a validated topology (reference §1.4-§1.11, §2.1):
//! Mailbox Transport Submission (which Transport service runs the rules, §1.10),
//! Send connector selection, least-cost site paths with hub sites, relay to connector source
//! servers, Front End outbound proxy, Edge subscriptions, mailbox delivery, and the fallback
//! when target servers are down (queue at the point of failure).
//!
//! Routing says *where* a message goes. What happens to its TLS requirement on each hop is
//! `policy`'s job.

mod connector;
mod delivery;
pub mod reads;
mod submission;

pub use connector::{
    Candidate, ConnectorChoice, Key, Proximity, Selected, SelectionMemo, candidate, is_candidate,
    select_connector,
};
pub(crate) use connector::{closest_site, connector_sites};
pub use delivery::{Hop, HopKind, Route, RouteEnd, Step, Target, next_step, route};
pub use submission::{
    RECIPIENTS_CONSIDERED, Submission, SubmissionReason, describe as describe_submission, pinned,
    submission,
};
