//! tlsflow: simulate and check Exchange mail flow across Active Directory sites, and prove
//! whether the TLS requirement of a transport rule (`RouteMessageOutboundRequireTls`) is really
//! enforced on the hop that leaves the organisation.
//!
//! The crate is a sans-I/O core (`model`, `route`, `policy`) with a loader (`load`, the only
//! module that knows YAML) and renderers (`report`, the only module that knows output formats).
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod check;
pub mod cli;
pub mod demo;
pub mod error;
pub mod generate;
pub mod import;
pub mod lint;
pub mod load;
pub mod logs;
pub mod model;
pub mod policy;
pub mod report;
pub mod route;
pub mod sim;
