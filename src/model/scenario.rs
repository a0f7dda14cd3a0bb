//! A validated scenario (SPEC §4): a topology, traffic, a timeline of faults and changes, what-if
//! variants and expectations. Times are milliseconds since the scenario's `start`.

use std::collections::BTreeMap;

use super::code::Code;
use super::topology::{Origin, StartTls, Topology};
use super::units::{Bytes, Millis, Timestamp};

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    /// The file the baseline topology was read from (the scenario file for an inline one).
    pub topology_file: String,
    pub seed: u64,
    /// The wall-clock instant of simulated time 0 (certificates are judged against it).
    pub start: Timestamp,
    pub duration: Millis,
    pub latency: HopLatency,
    pub messages: Vec<ExplicitMessage>,
    pub workload: Vec<Workload>,
    pub events: Vec<TimedEvent>,
    /// The baseline first, then each variant, each with its own validated topology.
    pub runs: Vec<Variant>,
    pub expect: BTreeMap<String, Expectation>,
}

impl Scenario {
    /// Messages one run submits on average (the work estimate of issue 15).
    pub fn expected_messages(&self) -> f64 {
        expected_messages(&self.workload, self.messages.len(), self.duration)
    }
}

/// Messages a run submits on average: every workload's rate over the run, and the explicit ones.
pub(crate) fn expected_messages(workload: &[Workload], explicit: usize, duration: Millis) -> f64 {
    #[expect(
        clippy::cast_precision_loss,
        reason = "an estimate: durations are bounded to ten years of milliseconds (2^43)"
    )]
    let hours = duration.0 as f64 / 3_600_000.0;
    #[expect(clippy::cast_precision_loss, reason = "an estimate")]
    let explicit = explicit as f64;
    workload
        .iter()
        .map(|w| w.rate_per_hour * hours)
        .sum::<f64>()
        + explicit
}

/// How long a hop takes (SPEC §4: small and configurable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopLatency {
    pub same_site: Millis,
    pub cross_site: Millis,
}

impl Default for HopLatency {
    fn default() -> Self {
        HopLatency {
            same_site: Millis(5),
            cross_site: Millis(50),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Variant {
    pub name: String,
    pub topology: Topology,
}

#[derive(Clone, Debug)]
pub struct ExplicitMessage {
    pub at: Millis,
    /// Lower case.
    pub from: String,
    /// Lower case.
    pub to: Vec<String>,
    pub subject: String,
    pub size: Bytes,
    pub origin: Origin,
}

/// Who sends generated traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderPattern {
    /// `*@branch.contoso.com` (lower-case domain) or an exact address.
    Address(String),
    /// Every mailbox of a site.
    Site(String),
}

#[derive(Clone, Debug)]
pub struct Workload {
    pub from: SenderPattern,
    /// Recipients with their weights (lower case), in file order: a domain (a generated
    /// `user{n}@domain`) or one address (it contains `@`).
    pub to: Vec<(String, f64)>,
    /// Addresses every generated message also goes to (lower case), after the drawn one.
    pub cc: Vec<String>,
    pub rate_per_hour: f64,
    /// Subjects with their weights, in file order.
    pub subjects: Vec<(String, f64)>,
    pub size_min: Bytes,
    pub size_max: Bytes,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct TimedEvent {
    pub at: Millis,
    pub action: Action,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `server:NAME`, `site:NAME`, `link:NAME`, `connector:NAME`, resolved per run.
    Down(String),
    Up(String),
    Set(MxChange),
}

/// A change of an external MX host's behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxChange {
    /// Lower case, or `*`.
    pub domain: String,
    /// Lower case; `None` = every MX host of the domain.
    pub mx: Option<String>,
    pub starttls: Option<StartTls>,
    pub available: Option<bool>,
    pub certificate_trusted: Option<bool>,
    pub certificate_not_after: Option<Timestamp>,
}

/// A comparison in an expectation: `0`, `">= 1"`, `"< 5"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub op: Comparison,
    pub value: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

impl Bound {
    pub fn holds(self, actual: u64) -> bool {
        match self.op {
            Comparison::Eq => actual == self.value,
            Comparison::Ge => actual >= self.value,
            Comparison::Gt => actual > self.value,
            Comparison::Le => actual <= self.value,
            Comparison::Lt => actual < self.value,
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            Comparison::Eq => "==",
            Comparison::Ge => ">=",
            Comparison::Gt => ">",
            Comparison::Le => "<=",
            Comparison::Lt => "<",
        };
        write!(f, "{op} {}", self.value)
    }
}

/// What a run must show: counts of findings per code and of outcomes.
#[derive(Clone, Debug, Default)]
pub struct Expectation {
    pub violations: Vec<(Code, Bound)>,
    /// `delivered`, `ndr`, `queued`, or `delivered_<tls>`.
    pub outcomes: Vec<(String, Bound)>,
    pub origin: Origin,
}
