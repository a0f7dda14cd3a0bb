//! The vocabulary: identifiers, the validated topology, TLS levels, units and time.
//!
//! `model` depends on nothing else in the crate. Everything here is already validated: a value
//! of these types cannot name a site that does not exist or hold a cost out of range.

pub mod code;
pub mod fault;
pub mod ids;
pub mod profile;
pub mod scenario;
pub mod site_graph;
pub mod tls;
pub mod topology;
pub mod units;

pub use code::{Code, Severity};
pub use fault::{Component, Faults};
pub use ids::{ConnectorId, DagId, GroupId, LinkId, RuleId, ServerId, SiteId};
pub use profile::Profile;
pub use site_graph::{SiteGraph, SitePath};
pub use tls::TlsLevel;
pub use topology::*;
pub use units::{Bytes, Millis, Timestamp};
