//! The engine: one closed `Event` enum, one dispatch loop, integer time.
//!
//! A message is submitted to a Transport service chosen from its mailbox recipients
//! (`route::submission`, reference §1.10; a seeded choice within the group); that service runs the transport rules once (§3.7) and categorizes: each recipient's
//! next hop is decided by `route::next_step`, and recipients with the same next hop and required
//! TLS level travel together as one *item* (bifurcation per route). Items wait in per-server
//! delivery queues keyed like Exchange's NextHopSolutionKey (delivery type, next hop, TLS level,
//! §3.6, §4.2). A failed connection puts the queue in Retry on Exchange's schedule (§4.3); a
//! delay DSN goes out at `delay_notification_timeout` and the message expires with
//! `550 4.4.7 QUEUE.Expired` at `message_expiration_timeout`. Every Transport service that
//! receives an item categorizes it again (§3.9 step 4); at each hop the behaviour profile decides
//! whether the requirement travels.
//!
//! Messages and items live in slot arenas addressed by `u32` with a generation, so that events
//! about finished messages are recognised and skipped; finished messages leave only counts,
//! findings and (on request) their outcome.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap as HashMap;
use smallvec::SmallVec;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::model::scenario::{Action, Scenario};
use crate::model::tls::TlsAchieved;
use crate::model::{
    Code, ConnectorId, Faults, RuleId, ServerId, Severity, SiteId, Timestamp, TlsLevel, Topology,
};
use crate::policy::{
    Carried, ExternalResult, FindingInput, LostAt, MessageFacts, evaluate_rules, external_hop,
    judge,
};
use crate::route::{Hop, HopKind, RouteEnd, Step, Submission, Target, next_step};

use super::event_queue::EventQueue;
use super::schedule::retry_delay;
use super::tracking::{TrackingEvent, TrackingRow, TrackingSink};
use super::traffic;

/// What to run and what to keep.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub seed: u64,
    /// Keep every recipient's outcome (SPEC §6.1 `--recipients`).
    pub record_recipients: bool,
}

/// Deliveries by the TLS level the external hop achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Delivered {
    pub none: u64,
    pub encrypted: u64,
    pub certificate_validated: u64,
    pub domain_validated: u64,
}

impl Delivered {
    pub fn total(&self) -> u64 {
        self.none + self.encrypted + self.certificate_validated + self.domain_validated
    }

    fn add(&mut self, tls: TlsAchieved) {
        match tls {
            TlsAchieved::None => self.none += 1,
            TlsAchieved::Encrypted => self.encrypted += 1,
            TlsAchieved::CertificateValidated => self.certificate_validated += 1,
            TlsAchieved::DomainValidated => self.domain_validated += 1,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub messages: u64,
    pub recipients: u64,
    pub delivered: Delivered,
    pub ndr: u64,
    pub queued: u64,
    pub events: u64,
    /// Recipients a transport rule required TLS for.
    pub required_tls: u64,
}

/// A finding of the simulation (SPEC §5.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFinding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub message_id: String,
    pub time_ms: u64,
    pub sender: String,
    pub recipient: String,
    pub origin_site: String,
    pub connector: Option<String>,
    /// `FROM -> TO (kind)`, in order.
    pub hops: Vec<String>,
    pub lost_at: Option<LostAt>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientState {
    Delivered { tls: TlsAchieved },
    Ndr { status: String },
    Queued { at: String, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientOutcome {
    pub message_id: String,
    pub sender: String,
    pub recipient: String,
    pub submitted_ms: u64,
    /// When the final state was reached (the end of the run for `queued`).
    pub time_ms: u64,
    pub state: RecipientState,
    pub hops: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    pub peak_in_flight: u64,
    /// Items (a message's recipients on one route) alive at once: follows the messages in
    /// flight, never the messages of the whole run.
    pub peak_items: u64,
    pub peak_queue_len: u64,
}

#[derive(Clone, Debug)]
pub struct RunResult {
    pub variant: String,
    pub profile: String,
    /// [`crate::model::Profile::declared_caveat`] of the run's profile.
    pub profile_caveat: Option<String>,
    pub summary: Summary,
    /// The findings kept: at most `FINDINGS_KEPT_PER_GROUP` per (code, origin site,
    /// connector), in time order.
    pub findings: Vec<SimFinding>,
    /// Every finding of the run, by code, kept or not.
    pub finding_counts: BTreeMap<Code, u64>,
    /// Findings counted but not kept.
    pub findings_omitted: u64,
    pub recipients: Vec<RecipientOutcome>,
    pub stats: Stats,
    /// Why the run stopped before its end, when it did: its report would be incomplete, so
    /// the caller refuses to give one (the load-time estimate makes this rare; issue 15).
    pub stopped: Option<String>,
}

/// How many findings a run keeps per (code, origin site, connector): the earliest. Every
/// finding is counted (`RunResult::finding_counts`); past this many of one kind, a finding
/// tells an auditor nothing new, and a week of a large organisation would otherwise hold
/// hundreds of thousands of them in memory.
pub const FINDINGS_KEPT_PER_GROUP: u64 = 100;

/// A bound on events per run: hitting it is reported, never looped past silently.
const MAX_EVENTS: u64 = 2_000_000_000;

#[derive(Clone, Copy, Debug)]
enum Event {
    /// A generated or explicit message enters its first Transport service.
    Submit {
        msg: u32,
        generation: u32,
    },
    /// An item reaches `item.at` after a hop.
    Arrive {
        item: u32,
        generation: u32,
    },
    QueueRetry {
        queue: u32,
        generation: u32,
    },
    DelayDsn {
        msg: u32,
        generation: u32,
    },
    Expire {
        msg: u32,
        generation: u32,
    },
    Timeline(u32),
    /// The next arrival of a workload.
    Workload(u32),
    Explicit(u32),
}

struct Rcpt {
    /// The address, in `Engine::addresses`: a generated address is formatted once, and a
    /// message holds a number, not a counted reference (cloning and dropping one touched a
    /// cache line of its own per recipient, issue 18).
    address: u32,
    /// The domain (after the last `@`), interned: `Engine::domains`.
    domain: u32,
    /// Where routing takes the recipient; `None`: an internal address with no mailbox.
    key: Option<TargetKey>,
    required: TlsLevel,
    rule: Option<RuleId>,
    /// The strongest level a Send connector (or Domain Secure) enforced on a failed external
    /// attempt, and the connector: a connector's requirement is a TLS requirement too.
    enforced: Option<(TlsLevel, ConnectorId)>,
    done: bool,
}

/// A recipient address resolved once: where routing takes it and its interned domain.
#[derive(Clone, Copy)]
struct Resolved {
    /// In `Engine::addresses`.
    address: u32,
    key: Option<TargetKey>,
    domain: u32,
}

/// A recipient domain, interned when a recipient is first resolved: its name and whether it is
/// one of the organisation's (for the rules' SentToScope).
struct Domain {
    name: Rc<str>,
    internal: bool,
}

struct Msg {
    /// The InternalMessageId; the Message-Id is `message_id(org_domain, seq)`, formatted only
    /// when a row, a finding or an outcome needs it.
    seq: u64,
    /// The sender's address (`Engine::senders`) and the subject (`Engine::subjects`) as
    /// indices: read for reports and the rules, never copied per message.
    sender: u32,
    subject: u32,
    mailbox_server: ServerId,
    origin_site: SiteId,
    size: crate::model::Bytes,
    submitted_ms: u64,
    /// Most messages have one recipient: inline, no allocation.
    rcpts: SmallVec<[Rcpt; 1]>,
    pending: u32,
    /// The delay DSN and expiry events are scheduled.
    timers_armed: bool,
}

struct Item {
    generation: u32,
    msg: u32,
    msg_gen: u32,
    /// The message's recipients this item carries (indices), inline up to four.
    rcpts: RcptIndices,
    at: ServerId,
    /// Whether the rules have run (the item left its first Transport service's categorizer).
    categorized: bool,
    level: TlsLevel,
    /// Boxed: rare, and an item is moved often.
    lost: Option<Box<LostAt>>,
    /// The hops so far, inline up to two (most routes; a longer one spills to the heap):
    /// read only for reports and the tracking log.
    hops: SmallVec<[Hop; 2]>,
    /// Where the route ends after the hop in flight (`Step::RelayThenEnd`).
    then: Option<Then>,
    queue: Option<u32>,
}

/// What an item does on arrival after a relay that routing already decided the end of: the
/// numbers of a `RouteEnd`, without its texts (an item is moved and copied often).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// The external hop from `from` over `connector` (after a Front End proxy or to an Edge).
    External {
        from: ServerId,
        connector: ConnectorId,
        via_frontend: bool,
    },
    /// Delivery to the mailbox server the item arrives on.
    Mailbox,
    /// Categorized again on arrival (a route that queues, is unreachable or ends in an NDR:
    /// the receiving Transport service decides anew, §3.9 step 4).
    Categorize,
}

impl From<RouteEnd> for Then {
    fn from(end: RouteEnd) -> Self {
        match end {
            RouteEnd::External {
                from,
                connector,
                via_frontend,
            } => Then::External {
                from,
                connector,
                via_frontend,
            },
            RouteEnd::Mailbox { .. } => Then::Mailbox,
            RouteEnd::Queued { .. } | RouteEnd::Unreachable { .. } | RouteEnd::Ndr { .. } => {
                Then::Categorize
            }
        }
    }
}

/// A delivery queue: Exchange's NextHopSolutionKey (delivery type, next hop, TLS level,
/// reference §3.6, §4.2) on a server; `target` keeps one queue per destination server where
/// Exchange's next hop names a group (a connector, a site, a DAG), so that routing to each
/// target server stays exact.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    server: ServerId,
    delivery_type: &'static str,
    next_hop: String,
    target: Option<ServerId>,
    level: TlsLevel,
}

struct Queue {
    key: QueueKey,
    items: VecDeque<(u32, u32)>,
    retry: bool,
    failures: u32,
    generation: u32,
    last_error: String,
    /// What the tracking log names as `connector-id` for this queue.
    connector_id: String,
    /// When the queue entered Retry, and the Send connectors disabled then: under
    /// `retry_queue_reroute: after_max_idle` it is routed with those until it has been idle
    /// in Retry for MaxIdleTimeBeforeResubmit.
    retry_since: u64,
    connectors_down_at_retry: Vec<ConnectorId>,
}

/// MaxIdleTimeBeforeResubmit (reference §4.3).
const MAX_IDLE_TIME_BEFORE_RESUBMIT: u64 = 12 * 60 * 60 * 1000;

/// A routing target as numbers: the mailbox's server, or the interned recipient domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum TargetKey {
    Mailbox(ServerId),
    Domain(u32),
}

/// What a delivery queue is found by once its name is known: the next hop as numbers
/// (relays: the kind and the receiving server; the external hop: the connector and the
/// interned domain), on a server, at a TLS level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum QueueHop {
    Relay(HopKind, ServerId),
    External(ConnectorId, u32),
}

/// The recipients an item carries: indices into its message's recipients, inline up to four.
type RcptIndices = SmallVec<[u16; 4]>;

/// What an external hop's outcome depends on: connector, interned domain, carried level, via
/// a Front End proxy, and the certificate epoch (instants before and at-or-before the time).
type ExternalKey = (ConnectorId, u32, TlsLevel, bool, (usize, usize));

/// Every certificate validity instant of the external world, sorted and distinct.
fn certificate_instants(topology: &Topology) -> Vec<Timestamp> {
    let mut instants: Vec<Timestamp> = topology
        .external_domains
        .iter()
        .flat_map(|d| &d.mx)
        .filter_map(|mx| mx.certificate.as_ref())
        .flat_map(|c| [c.not_before, c.not_after])
        .flatten()
        .collect();
    instants.sort_unstable();
    instants.dedup();
    instants
}

/// Slot arena with generations. The generations live apart from the values: measured, a
/// `Vec` of (generation, value) slots ran the engine about 6 % slower (3.8 against 4.1 M
/// events/s, BENCHMARKS.md), the wider slot costing more than the second access saves.
///
/// Freed slots are reused first freed, first reused. Reused last-in-first-out, a long run
/// scatters the live messages over the whole arena (the slot freed last is seldom near the
/// ones in use), and the engine ran at 3.4 M events/s over 100 simulated hours against 4.6 M
/// over 5 (issue 18, `engine-long` in BENCHMARKS.md). In order, slots come back roughly in the
/// order the messages were created, and neighbours in time stay neighbours in memory.
struct Arena<T> {
    slots: Vec<Option<T>>,
    gens: Vec<u32>,
    free: VecDeque<u32>,
    live: u64,
}

impl<T> Arena<T> {
    /// An arena with room for `capacity` live slots before it grows. Reserving touches no
    /// memory (the pages are the kernel's until a slot is written), and growing copies the
    /// arena, so a generous estimate costs nothing and saves the copies.
    fn with_capacity(capacity: usize) -> Self {
        Arena {
            slots: Vec::with_capacity(capacity),
            gens: Vec::with_capacity(capacity),
            free: VecDeque::with_capacity(capacity),
            live: 0,
        }
    }

    fn insert(&mut self, make: impl FnOnce(u32) -> T) -> (u32, u32) {
        self.live += 1;
        if let Some(i) = self.free.pop_front() {
            let generation = self.gens[i as usize].wrapping_add(1);
            self.gens[i as usize] = generation;
            self.slots[i as usize] = Some(make(generation));
            (i, generation)
        } else {
            let i = u32::try_from(self.slots.len()).expect("fewer than 2^32 live slots");
            self.slots.push(Some(make(0)));
            self.gens.push(0);
            (i, 0)
        }
    }

    /// The value in slot `i`, whatever its generation.
    fn at(&self, i: u32) -> Option<&T> {
        self.slots.get(i as usize)?.as_ref()
    }

    fn at_mut(&mut self, i: u32) -> Option<&mut T> {
        self.slots.get_mut(i as usize)?.as_mut()
    }

    fn get(&self, i: u32, generation: u32) -> Option<&T> {
        (self.gens.get(i as usize) == Some(&generation))
            .then(|| self.slots[i as usize].as_ref())
            .flatten()
    }

    fn get_mut(&mut self, i: u32, generation: u32) -> Option<&mut T> {
        if self.gens.get(i as usize) == Some(&generation) {
            self.slots[i as usize].as_mut()
        } else {
            None
        }
    }

    /// Gives slot `i` its next generation (what `remove` then `insert` would give it).
    fn renew(&mut self, i: u32) -> u32 {
        let generation = self.gens[i as usize].wrapping_add(1);
        self.gens[i as usize] = generation;
        generation
    }

    /// Empties slot `i` (the value is dropped where it lies).
    fn remove(&mut self, i: u32) {
        if let Some(slot) = self.slots.get_mut(i as usize)
            && slot.take().is_some()
        {
            self.free.push_back(i);
            self.live -= 1;
        }
    }

    /// Every live value, in slot order.
    fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }
}

struct Engine<'a, 's> {
    scenario: &'a Scenario,
    topology: Topology,
    faults: Faults,
    options: &'a RunOptions,
    sink: &'s mut dyn TrackingSink,
    events: EventQueue<Event>,
    route_rng: ChaCha8Rng,
    traffic_rng: ChaCha8Rng,
    /// Per workload, the exact time of its latest arrival (ms, unrounded): gaps add up exactly.
    arrival_clock: Vec<f64>,
    /// Every sender address of the run: the workloads' first, then each explicit message's.
    senders: Vec<Rc<str>>,
    /// Every subject of the run with its lower-case form for the rules: the workloads' mixes
    /// first, then each explicit message's.
    subjects: Vec<(Rc<str>, Rc<str>)>,
    /// Per workload: its senders (into `senders`) and their mailbox servers (`None`: no
    /// mailbox, the message is not sent), and its subject mix (into `subjects`).
    workload_senders: Vec<Vec<(u32, Option<ServerId>)>>,
    workload_subjects: Vec<Vec<u32>>,
    /// Every recipient domain seen, interned (`Rcpt::domain`), and the ids by name.
    domains: Vec<Domain>,
    domain_index: HashMap<Rc<str>, u32>,
    /// The transport rules' outcome per (subject, sender's site, recipient domain): the rules
    /// read nothing else (`policy::MessageFacts`), so each combination is evaluated once.
    rule_outcomes: HashMap<(u32, SiteId, u32), Rc<crate::policy::RuleOutcome>>,
    /// Per workload, its recipient domains as indices into the distinct workload domains.
    workload_domains: Vec<Vec<u32>>,
    /// Generated recipients by (distinct workload domain, local part): formatted and resolved
    /// once. A map, not a table: it holds only the addresses traffic has drawn.
    generated_addresses: HashMap<(u32, u32), Resolved>,
    /// Every recipient address resolved (`Rcpt::address`).
    addresses: Vec<Rc<str>>,
    /// Per workload, its `cc` addresses resolved once.
    workload_cc: Vec<Vec<Resolved>>,
    msgs: Arena<Msg>,
    items: Arena<Item>,
    queues: Vec<Queue>,
    queue_index: BTreeMap<QueueKey, u32>,
    /// Findings per (code, origin site, connector), for `FINDINGS_KEPT_PER_GROUP`.
    finding_groups: HashMap<(Code, SiteId, Option<String>), u64>,
    /// The queue each numeric next hop resolved to: the queue's name is built once, when the
    /// first item takes that hop.
    queue_cache: HashMap<(ServerId, QueueHop, TlsLevel), u32>,
    /// Recipient domains as numbers (interned when a message is created).
    domain_ids: HashMap<String, u32>,
    domain_names: Vec<String>,
    /// `route::next_step` decisions per (server, target, size class), valid while the faults
    /// stay as they are: every timeline event clears it. Routing is a pure function of these.
    /// Keyed by (server, target, size class): the size class is the number of distinct size
    /// limits below the message's size (a `u32`: a topology may have thousands of limits; a
    /// `u8` panicked past 255, issue 15).
    step_cache: HashMap<(ServerId, TargetKey, u32), Step>,
    /// Submissions per (sender's mailbox server, the one mailbox recipient's server): they
    /// depend on the configured topology only.
    submission_cache: HashMap<(ServerId, Option<ServerId>), Rc<Submission>>,
    /// External hop outcomes per (connector, domain, level, via Front End, certificate
    /// epoch); every `set` timeline event clears it.
    external_cache: HashMap<ExternalKey, Rc<crate::policy::ExternalOutcome>>,
    /// Every certificate `not_before` and `not_after` of the external world, sorted: between
    /// two of them, no certificate's validity changes.
    certificate_instants: Vec<Timestamp>,
    /// The distinct size limits of the Send connectors, the site links and the organisation,
    /// sorted: a message's size class is how many of them it exceeds, which is all that routing
    /// looks at (§1.4, §2.1).
    size_limits: Vec<crate::model::Bytes>,
    next_seq: u64,
    org_domain: String,
    result: RunResult,
    /// The bound on events of this run ([`run_bounded`]).
    max_events: u64,
    /// Where [`run_observed`] publishes the simulated time reached (ms), for a progress bar.
    progress: Option<Arc<AtomicU64>>,
}

/// Runs one variant (`runs[variant]`) of a scenario to its end.
pub fn run(
    scenario: &Scenario,
    variant: usize,
    options: &RunOptions,
    sink: &mut dyn TrackingSink,
) -> RunResult {
    run_bounded(scenario, variant, options, sink, MAX_EVENTS)
}

/// [`run`] with another bound on events than tlsflow's (2,000,000,000): a run that reaches it
/// stops with `RunResult::stopped` set, never a panic (tests use a small bound).
pub fn run_bounded(
    scenario: &Scenario,
    variant: usize,
    options: &RunOptions,
    sink: &mut dyn TrackingSink,
    max_events: u64,
) -> RunResult {
    run_inner(scenario, variant, options, sink, max_events, None)
}

/// [`run`], publishing the simulated time it has reached (ms since the start) into `progress`
/// every 65,536 events and at the end, for a progress bar; the output is [`run`]'s, byte for
/// byte.
pub fn run_observed(
    scenario: &Scenario,
    variant: usize,
    options: &RunOptions,
    sink: &mut dyn TrackingSink,
    progress: Arc<AtomicU64>,
) -> RunResult {
    run_inner(scenario, variant, options, sink, MAX_EVENTS, Some(progress))
}

fn run_inner(
    scenario: &Scenario,
    variant: usize,
    options: &RunOptions,
    sink: &mut dyn TrackingSink,
    max_events: u64,
    progress: Option<Arc<AtomicU64>>,
) -> RunResult {
    let run = &scenario.runs[variant];
    let topology = run.topology.clone();
    let org_domain = topology
        .default_domain()
        .unwrap_or("tlsflow.invalid")
        .to_owned();
    let mut senders: Vec<Rc<str>> = Vec::new();
    let workload_senders = scenario
        .workload
        .iter()
        .map(|w| {
            traffic::senders(&topology, &w.from)
                .into_iter()
                .map(|a| {
                    let server = topology.mailbox_for(&a).map(|m| m.server);
                    let id = u32::try_from(senders.len()).expect("senders fit u32");
                    senders.push(Rc::from(a));
                    (id, server)
                })
                .collect()
        })
        .collect();
    let mut subjects: Vec<(Rc<str>, Rc<str>)> = Vec::new();
    let workload_subjects = scenario
        .workload
        .iter()
        .map(|w| {
            w.subjects
                .iter()
                .map(|(s, _)| {
                    let id = u32::try_from(subjects.len()).expect("subjects fit u32");
                    subjects.push((Rc::from(s.as_str()), Rc::from(s.to_lowercase())));
                    id
                })
                .collect()
        })
        .collect();
    let mut distinct: BTreeMap<&str, u32> = BTreeMap::new();
    let workload_domains: Vec<Vec<u32>> = scenario
        .workload
        .iter()
        .map(|w| {
            w.to.iter()
                .map(|(d, _)| {
                    let next = u32::try_from(distinct.len()).expect("domains fit u32");
                    *distinct.entry(d.as_str()).or_insert(next)
                })
                .collect()
        })
        .collect();
    // Every size limit routing looks at: connectors, site links, the organisation's.
    let mut size_limits: Vec<crate::model::Bytes> = topology
        .path_size_limits(|_| true)
        .chain(topology.transport_config.max_send_size)
        .chain(topology.transport_config.max_receive_size)
        .collect();
    size_limits.sort_unstable();
    size_limits.dedup();
    let in_flight = expected_in_flight(scenario);
    let mut traffic_rng = ChaCha8Rng::seed_from_u64(options.seed);
    traffic_rng.set_stream(1);
    let mut route_rng = ChaCha8Rng::seed_from_u64(options.seed);
    route_rng.set_stream(2);
    let mut engine = Engine {
        max_events,
        progress,
        scenario,
        result: RunResult {
            variant: run.name.clone(),
            profile: topology.profile.declared_name().to_owned(),
            profile_caveat: topology.profile.declared_caveat(),
            summary: Summary::default(),
            findings: Vec::new(),
            finding_counts: BTreeMap::new(),
            findings_omitted: 0,
            recipients: Vec::new(),
            stats: Stats::default(),
            stopped: None,
        },
        finding_groups: HashMap::default(),
        topology,
        faults: Faults::none(),
        options,
        sink,
        events: EventQueue::default(),
        route_rng,
        traffic_rng,
        arrival_clock: vec![0.0; scenario.workload.len()],
        senders,
        subjects,
        workload_senders,
        workload_subjects,
        domains: Vec::new(),
        domain_index: HashMap::default(),
        rule_outcomes: HashMap::default(),
        workload_domains,
        generated_addresses: HashMap::default(),
        addresses: Vec::new(),
        workload_cc: Vec::new(),
        msgs: Arena::with_capacity(in_flight),
        items: Arena::with_capacity(in_flight),
        queues: Vec::new(),
        queue_index: BTreeMap::new(),
        queue_cache: HashMap::default(),
        domain_ids: HashMap::default(),
        domain_names: Vec::new(),
        step_cache: HashMap::default(),
        submission_cache: HashMap::default(),
        external_cache: HashMap::default(),
        certificate_instants: Vec::new(),
        size_limits,
        next_seq: 1,
        org_domain,
    };
    engine.certificate_instants = certificate_instants(&engine.topology);
    engine.workload_cc = scenario
        .workload
        .iter()
        .map(|w| {
            w.cc.iter()
                .map(|a| engine.resolve(Rc::from(a.as_str())))
                .collect()
        })
        .collect();
    engine.schedule_inputs();
    engine.run_loop();
    engine.finish()
}

/// The messages a run holds at once, estimated by Little's law: the arrival rate times the time
/// a message takes to cross the organisation when nothing waits (two cross-site and two
/// same-site hops), at most every message of the run, at most 2^24 (the arenas then grow as
/// they need). Only sizes the arenas: a wrong estimate costs speed, never a result.
fn expected_in_flight(scenario: &Scenario) -> usize {
    let per_ms: f64 = scenario
        .workload
        .iter()
        .map(|w| w.rate_per_hour / 3_600_000.0)
        .sum();
    let latency = &scenario.latency;
    #[expect(
        clippy::cast_precision_loss,
        reason = "latencies are bounded to ten years of milliseconds (2^43)"
    )]
    let crossing = 2.0 * (latency.cross_site.0 as f64 + latency.same_site.0 as f64);
    let estimate = (per_ms * crossing).min(scenario.expected_messages()) + 1.0;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "finite, positive, clamped to 2^24 first"
    )]
    let slots = estimate.clamp(1.0, f64::from(1u32 << 24)) as usize;
    slots
}

impl Engine<'_, '_> {
    fn now(&self) -> u64 {
        self.events.now_ms()
    }

    fn end_ms(&self) -> u64 {
        self.scenario.duration.0
    }

    fn schedule_inputs(&mut self) {
        for (i, m) in self.scenario.messages.iter().enumerate() {
            self.events.push(
                m.at.0,
                Event::Explicit(u32::try_from(i).expect("message count fits u32")),
            );
        }
        for i in 0..self.scenario.workload.len() {
            let rate = self.scenario.workload[i].rate_per_hour;
            if let Some(dt) = traffic::interarrival_ms(&mut self.traffic_rng, rate) {
                self.arrival_clock[i] = dt;
                self.events.push(
                    traffic::arrival_ms(dt),
                    Event::Workload(u32::try_from(i).expect("workload count fits u32")),
                );
            }
        }
        for (i, e) in self.scenario.events.iter().enumerate() {
            self.events.push(
                e.at.0,
                Event::Timeline(u32::try_from(i).expect("event count fits u32")),
            );
        }
    }

    fn run_loop(&mut self) {
        let end = self.end_ms();
        while let Some((time, event)) = self.events.pop_until(end) {
            self.result.stats.events += 1;
            if self.result.stats.events >= self.max_events {
                self.result.stopped = Some(format!(
                    "the run reached tlsflow's bound of {} events at simulated time {} of {}: messages retry or wait more than the workload estimate allowed for; shorten `duration`, lower the rates, or shorten the retry and expiry timers",
                    self.max_events,
                    crate::model::Millis(time),
                    crate::model::Millis(end)
                ));
                break;
            }
            if self.result.stats.events.trailing_zeros() >= 16
                && let Some(p) = &self.progress
            {
                p.store(time, Ordering::Relaxed);
            }
            self.dispatch(event);
            self.result.stats.peak_in_flight = self.result.stats.peak_in_flight.max(self.msgs.live);
            self.result.stats.peak_items = self.result.stats.peak_items.max(self.items.live);
            self.result.stats.peak_queue_len = self
                .result
                .stats
                .peak_queue_len
                .max(self.events.len() as u64);
        }
        if let Some(p) = &self.progress {
            p.store(end, Ordering::Relaxed);
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Explicit(i) => {
                let m = &self.scenario.messages[i as usize];
                let Some(mailbox) = self.topology.mailbox_for(&m.from) else {
                    return;
                };
                let (server, size) = (mailbox.server, m.size);
                let to: SmallVec<[Resolved; 1]> =
                    m.to.iter()
                        .map(|a| self.resolve(Rc::from(a.as_str())))
                        .collect();
                let from = u32::try_from(self.senders.len()).expect("senders fit u32");
                self.senders.push(Rc::from(m.from.as_str()));
                let subject = u32::try_from(self.subjects.len()).expect("subjects fit u32");
                self.subjects.push((
                    Rc::from(m.subject.as_str()),
                    Rc::from(m.subject.to_lowercase()),
                ));
                self.new_message(from, server, to, subject, size);
            }
            Event::Workload(i) => self.workload_arrival(i),
            Event::Submit { msg, generation } => self.submit(msg, generation),
            Event::Arrive { item, generation } => self.arrive(item, generation),
            Event::QueueRetry { queue, generation } => {
                if self.queues[queue as usize].generation == generation {
                    self.attempt_queue(queue);
                }
            }
            Event::DelayDsn { msg, generation } => self.delay_dsn(msg, generation),
            Event::Expire { msg, generation } => self.expire(msg, generation),
            Event::Timeline(i) => self.timeline(i),
        }
    }

    fn workload_arrival(&mut self, i: u32) {
        let w = &self.scenario.workload[i as usize];
        let senders = &self.workload_senders[i as usize];
        if let Some(g) = traffic::generate(&mut self.traffic_rng, w, senders.len()) {
            let (from, server) = senders[g.from];
            let subject = self.workload_subjects[i as usize][g.subject];
            if let Some(server) = server {
                let to = self.generated_recipient(i, g.domain, g.local);
                if self.workload_cc[i as usize].is_empty() {
                    self.new_message(from, server, [to], subject, g.size);
                } else {
                    let all: SmallVec<[Resolved; 1]> = std::iter::once(to)
                        .chain(self.workload_cc[i as usize].iter().copied())
                        .collect();
                    self.new_message(from, server, all, subject, g.size);
                }
            }
        }
        if let Some(dt) = traffic::interarrival_ms(&mut self.traffic_rng, w.rate_per_hour) {
            let exact = self.arrival_clock[i as usize] + dt;
            self.arrival_clock[i as usize] = exact;
            let at = traffic::arrival_ms(exact).max(self.now());
            if at <= self.end_ms() {
                self.events.push(at, Event::Workload(i));
            }
        }
    }

    /// A new message from sender `from`, whose mailbox is on `mailbox_server`, with subject
    /// `subject` (indices into `senders` and `subjects`).
    fn new_message(
        &mut self,
        from: u32,
        mailbox_server: ServerId,
        to: impl IntoIterator<Item = Resolved>,
        subject: u32,
        size: crate::model::Bytes,
    ) {
        let origin_site = self
            .topology
            .server(mailbox_server)
            .site
            .expect("mailbox servers are in a site");
        let seq = self.next_seq;
        self.next_seq += 1;
        let now = self.now();
        let rcpts: SmallVec<[Rcpt; 1]> = to
            .into_iter()
            .map(|r| Rcpt {
                address: r.address,
                domain: r.domain,
                key: r.key,
                required: TlsLevel::None,
                rule: None,
                enforced: None,
                done: false,
            })
            .collect();
        let pending = u32::try_from(rcpts.len()).expect("recipient count fits u32");
        self.result.summary.messages += 1;
        self.result.summary.recipients += u64::from(pending);
        let (msg, generation) = self.msgs.insert(|_| Msg {
            seq,
            sender: from,
            mailbox_server,
            origin_site,
            subject,
            size,
            submitted_ms: now,
            rcpts,
            pending,
            timers_armed: false,
        });
        self.events.push(now, Event::Submit { msg, generation });
    }

    /// `address` resolved: where routing takes it, and its domain interned.
    fn resolve(&mut self, address: Rc<str>) -> Resolved {
        let key = self.target_key(&address);
        let name = address.rsplit_once('@').map_or("", |(_, d)| d);
        let domain = if let Some(&id) = self.domain_index.get(name) {
            id
        } else {
            let id = u32::try_from(self.domains.len()).expect("domains fit u32");
            let name: Rc<str> = Rc::from(name);
            self.domains.push(Domain {
                internal: self.topology.is_internal_domain(&name),
                name: name.clone(),
            });
            self.domain_index.insert(name, id);
            id
        };
        let index = u32::try_from(self.addresses.len()).expect("fewer than 2^32 addresses");
        self.addresses.push(address);
        Resolved {
            address: index,
            key,
            domain,
        }
    }

    /// Where routing takes `address`: its mailbox's server for an accepted domain (`None`: no
    /// such mailbox), else its interned domain.
    fn target_key(&mut self, address: &str) -> Option<TargetKey> {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        if self.topology.is_accepted_domain(domain) {
            if let Some(m) = self.topology.mailbox_for(address) {
                return Some(TargetKey::Mailbox(m.server));
            }
            // A relay domain's recipient without a mailbox leaves by a Send connector.
            if !self.topology.is_relay_domain(domain) {
                return None;
            }
        }
        if let Some(&id) = self.domain_ids.get(domain) {
            Some(TargetKey::Domain(id))
        } else {
            let id = u32::try_from(self.domain_names.len()).expect("domains fit u32");
            self.domain_ids.insert(domain.to_owned(), id);
            self.domain_names.push(domain.to_owned());
            Some(TargetKey::Domain(id))
        }
    }

    /// The generated recipient `user{local}@{domain}` of workload `w`'s `domain`-th domain,
    /// with where routing takes it: formatted and resolved the first time, then shared.
    fn generated_recipient(&mut self, w: u32, domain: usize, local: u32) -> Resolved {
        let slot = (self.workload_domains[w as usize][domain], local);
        if let Some(&known) = self.generated_addresses.get(&slot) {
            return known;
        }
        let key = &self.scenario.workload[w as usize].to[domain].0;
        let address: Rc<str> = if key.contains('@') {
            Rc::from(key.as_str())
        } else {
            Rc::from(format!("user{local}@{key}"))
        };
        let resolved = self.resolve(address);
        self.generated_addresses.insert(slot, resolved);
        resolved
    }

    /// Schedules a message's delay DSN and expiry the first time it has to wait. Messages that
    /// go straight through never hold timers, so the event queue follows messages in flight.
    fn arm_timers(&mut self, msg: u32, generation: u32) {
        let now = self.now();
        let config = &self.topology.transport_config;
        let (dsn, expiry) = (
            config.delay_notification_timeout.0,
            config.message_expiration_timeout.0,
        );
        let Some(m) = self.msgs.get_mut(msg, generation) else {
            return;
        };
        if m.timers_armed {
            return;
        }
        m.timers_armed = true;
        let submitted = m.submitted_ms;
        self.events.push(
            (submitted + dsn).max(now),
            Event::DelayDsn { msg, generation },
        );
        self.events.push(
            (submitted + expiry).max(now),
            Event::Expire { msg, generation },
        );
    }

    /// Arms the timers of every message waiting in a queue.
    fn arm_queue(&mut self, q: u32) {
        let waiting: Vec<(u32, u32)> = self.queues[q as usize]
            .items
            .iter()
            .filter_map(|&(item, generation)| {
                self.items
                    .get(item, generation)
                    .map(|it| (it.msg, it.msg_gen))
            })
            .collect();
        for (msg, generation) in waiting {
            self.arm_timers(msg, generation);
        }
    }

    /// Mailbox Transport Submission hands the message to a Transport service chosen from its
    /// mailbox recipients (`route::submission`, reference §1.10, the same function `route` and
    /// `check` use): a seeded choice among the up servers of the submission's first tier that
    /// has any.
    fn submit(&mut self, msg: u32, generation: u32) {
        let Some(m) = self.msgs.get(msg, generation) else {
            return;
        };
        let (sender, n) = (m.mailbox_server, m.rcpts.len());
        let mailbox_recipients: SmallVec<[ServerId; 4]> = m
            .rcpts
            .iter()
            .filter_map(|r| match r.key {
                Some(TargetKey::Mailbox(s)) => Some(s),
                _ => None,
            })
            .take(crate::route::RECIPIENTS_CONSIDERED)
            .collect();
        let submission = self.submission_for(sender, &mailbox_recipients);
        let up = |s: &&ServerId| self.faults.server_up(&self.topology, **s);
        let Some(tier) = submission.tiers.iter().find(|t| t.iter().any(|s| up(&s))) else {
            // SUBMITDEFER: Mailbox Transport Submission tries again later.
            self.arm_timers(msg, generation);
            let retry = self.topology.transport_config.queue_glitch_retry_interval.0;
            self.events
                .push(self.now() + retry, Event::Submit { msg, generation });
            return;
        };
        let count = tier.iter().filter(up).count();
        let k = self.route_rng.random_range(0..count);
        let origin = *tier.iter().filter(up).nth(k).expect("k < count");
        let rcpts: RcptIndices = (0..n)
            .map(|i| u16::try_from(i).expect("recipients per message fit u16"))
            .collect();
        let (item, item_gen) = self.items.insert(|g| Item {
            generation: g,
            msg,
            msg_gen: generation,
            rcpts,
            at: origin,
            categorized: false,
            level: TlsLevel::None,
            lost: None,
            hops: SmallVec::new(),
            then: None,
            queue: None,
        });
        self.track(item, TrackingEvent::Receive, "STOREDRIVER", "", "", "", "");
        self.run_rules(item, item_gen);
        // An Exchange 2010 Hub Transport never evaluates 2013+ rules (SPEC §5.1): what they
        // would require is lost at submission.
        let required = self
            .msgs
            .get(msg, generation)
            .and_then(|m| m.rcpts.iter().map(|r| r.required).max())
            .unwrap_or(TlsLevel::None);
        if let Some(lost) =
            crate::policy::rules_skipped_on(&self.topology, sender, origin, required)
        {
            self.items.at_mut(item).expect("live item").lost = Some(Box::new(lost));
        }
        self.categorize(item);
    }

    /// The submission of a message from `sender` with these mailbox recipients: from the cache
    /// when the message has at most one mailbox recipient (most do), else computed. Submission
    /// depends on the configured topology only, never on faults.
    fn submission_for(
        &mut self,
        sender: ServerId,
        mailbox_recipients: &[ServerId],
    ) -> Rc<Submission> {
        if mailbox_recipients.len() > 1 {
            return Rc::new(crate::route::submission(
                &self.topology,
                sender,
                mailbox_recipients,
            ));
        }
        let key = (sender, mailbox_recipients.first().copied());
        if let Some(s) = self.submission_cache.get(&key) {
            return s.clone();
        }
        let s = Rc::new(crate::route::submission(
            &self.topology,
            sender,
            mailbox_recipients,
        ));
        self.submission_cache.insert(key, s.clone());
        s
    }

    /// The Transport Rule agent on the first Transport service (§3.7).
    fn run_rules(&mut self, item: u32, item_gen: u32) {
        let (msg, msg_gen) = {
            let it = self.items.get(item, item_gen).expect("live item");
            (it.msg, it.msg_gen)
        };
        let tracking = self.sink.enabled();
        let mut matched: Vec<RuleId> = Vec::new();
        let count = self
            .msgs
            .get(msg, msg_gen)
            .expect("live message")
            .rcpts
            .len();
        for i in 0..count {
            let m = self.msgs.get(msg, msg_gen).expect("live message");
            let key = (m.subject, m.origin_site, m.rcpts[i].domain);
            let outcome = if let Some(known) = self.rule_outcomes.get(&key) {
                Rc::clone(known)
            } else {
                let domain = &self.domains[key.2 as usize];
                let facts = MessageFacts {
                    subject: &self.subjects[key.0 as usize].1,
                    sender_site: key.1,
                    recipient_domain: &domain.name,
                    recipient_internal: domain.internal,
                };
                let outcome = Rc::new(evaluate_rules(&self.topology, &facts));
                self.rule_outcomes.insert(key, Rc::clone(&outcome));
                outcome
            };
            if tracking {
                matched.extend(outcome.matches.iter().map(|x| x.rule));
            }
            if outcome.required > TlsLevel::None {
                self.result.summary.required_tls += 1;
            }
            let r = &mut self.msgs.get_mut(msg, msg_gen).expect("live message").rcpts[i];
            r.required = outcome.required;
            r.rule = outcome.origin;
        }
        matched.sort();
        matched.dedup();
        for rule in matched {
            let r = &self.topology.transport_rules[rule.index()];
            let action = if r.actions.require_tls {
                "RouteMessageOutboundRequireTls"
            } else {
                "None"
            };
            let mode = match r.mode {
                crate::model::RuleMode::Enforce => "Enforce",
                crate::model::RuleMode::Audit => "Audit",
            };
            // The rule's GUID as Exchange logs it (docs/evidence.md#logs); its name when the
            // topology gives no `guid`.
            let custom = format!(
                "S:TRA=ETR|ruleId={}|action={action}|sev=1|mode={mode}",
                r.guid.as_deref().unwrap_or(&r.name)
            );
            self.track(item, TrackingEvent::AgentInfo, "AGENT", "", "", "", &custom);
        }
    }

    /// Decides each recipient's next hop on the item's server and splits the item by route.
    fn categorize(&mut self, item: u32) {
        let Some(it) = self.items.at(item) else {
            return;
        };
        let (msg, msg_gen, at, first, item_level) =
            (it.msg, it.msg_gen, it.at, !it.categorized, it.level);
        let Some(m) = self.msgs.get(msg, msg_gen) else {
            self.items.remove(item);
            return;
        };
        let size = m.size;
        // A requirement already lost before the first categorization was never set: the rules
        // ran on an Exchange 2010 Hub Transport (`submit`).
        let never_set = first && it.lost.is_some();
        let level_of = |rcpt: &Rcpt| {
            if never_set {
                TlsLevel::None
            } else if first {
                rcpt.required
            } else {
                item_level
            }
        };
        // One pending recipient (most messages): no grouping, no allocation.
        let mut pending = it
            .rcpts
            .iter()
            .copied()
            .filter(|&r| !m.rcpts[r as usize].done);
        if let (Some(r), None) = (pending.next(), pending.next()) {
            let rcpt = &m.rcpts[r as usize];
            let (key, level) = (rcpt.key, level_of(rcpt));
            let step = self.step(at, key, size);
            let it = self.items.at_mut(item).expect("live item");
            it.rcpts.clear();
            it.rcpts.push(r);
            it.level = level;
            it.categorized = true;
            self.route_item(item, &step);
            self.collect_if_finished(item);
            return;
        }
        let pending: Vec<(u16, Option<TargetKey>, TlsLevel, u32)> = it
            .rcpts
            .iter()
            .map(|&r| (r, &m.rcpts[r as usize]))
            .filter(|(_, rcpt)| !rcpt.done)
            .map(|(r, rcpt)| (r, rcpt.key, level_of(rcpt), rcpt.domain))
            .collect();
        let template_lost = it.lost.clone();
        let template_hops = it.hops.clone();
        let mut groups: BTreeMap<(String, TlsLevel), (Step, RcptIndices)> = BTreeMap::new();
        for (r, key, level, domain) in pending {
            let step = self.step(at, key, size);
            groups
                .entry((group_key(&step, &self.domains[domain as usize].name), level))
                .or_insert_with(|| (step, SmallVec::new()))
                .1
                .push(r);
        }
        let mut first_group = true;
        for ((_, level), (step, rcpts)) in groups {
            let target_item = if first_group {
                first_group = false;
                let it = self.items.at_mut(item).expect("live item");
                it.rcpts = rcpts;
                it.level = level;
                it.categorized = true;
                item
            } else {
                let (lost, hops) = (template_lost.clone(), template_hops.clone());
                self.items
                    .insert(|g| Item {
                        generation: g,
                        msg,
                        msg_gen,
                        rcpts,
                        at,
                        categorized: true,
                        level,
                        lost,
                        hops,
                        then: None,
                        queue: None,
                    })
                    .0
            };
            self.route_item(target_item, &step);
            self.collect_if_finished(target_item);
        }
        self.collect_if_finished(item);
    }

    /// The decision of the Transport service on `at` for a recipient (`route::next_step`),
    /// from the cache when the same server, target and size class were decided under the same
    /// faults. `None`: an internal address without a mailbox.
    fn step(&mut self, at: ServerId, key: Option<TargetKey>, size: crate::model::Bytes) -> Step {
        let Some(key) = key else {
            return Step::End(RouteEnd::Ndr {
                at,
                status: "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found".to_owned(),
            });
        };
        // At most one class per connector and site link, which the 8 MiB input bounds far
        // below u32::MAX.
        let class =
            u32::try_from(self.size_limits.partition_point(|&l| l < size)).unwrap_or(u32::MAX);
        if let Some(step) = self.step_cache.get(&(at, key, class)) {
            return step.clone();
        }
        let step = next_step(&self.topology, at, &self.target_of(key), size, &self.faults);
        self.step_cache.insert((at, key, class), step.clone());
        step
    }

    /// The routing target a key stands for.
    fn target_of(&self, key: TargetKey) -> Target {
        match key {
            TargetKey::Mailbox(server) => Target::Mailbox(server),
            TargetKey::Domain(id) => Target::External(self.domain_names[id as usize].clone()),
        }
    }

    /// Frees an item whose recipients are all finished (or whose message is gone).
    fn collect_if_finished(&mut self, item: u32) {
        let Some(it) = self.items.at(item) else {
            return;
        };
        if !self.item_alive(item, it.generation) {
            self.items.remove(item);
        }
    }

    /// Puts a categorized item where its decision says: a delivery queue, the Unreachable queue,
    /// or straight to an NDR.
    fn route_item(&mut self, item: u32, step: &Step) {
        match step {
            Step::End(RouteEnd::Ndr { status, .. }) => {
                let status = status.clone();
                self.fail_item(item, &status, "ROUTING");
            }
            Step::End(RouteEnd::Unreachable { .. }) => self.park_unreachable(item),
            _ => {
                let hop = match step {
                    Step::Relay(h) | Step::RelayThenEnd(h, _) => {
                        Some(QueueHop::Relay(h.kind, h.to))
                    }
                    Step::End(RouteEnd::External { connector, .. }) => self
                        .item_domain_id(item)
                        .map(|d| QueueHop::External(*connector, d)),
                    // A queue named by its reason (Retry at the point of failure): by name.
                    Step::End(_) => None,
                };
                self.enqueue_by_hop(item, hop, |topology, domain| {
                    queue_name(topology, step, domain)
                });
            }
        }
    }

    /// Enqueues an item on its server's queue for `hop` at its TLS level: found by numbers
    /// when that hop was taken before, else by the queue's name (`name`, from the topology
    /// and the item's recipient domain), which is then remembered.
    fn enqueue_by_hop(
        &mut self,
        item: u32,
        hop: Option<QueueHop>,
        name: impl FnOnce(&Topology, &str) -> QueueName,
    ) {
        let it = self.items.at(item).expect("live item");
        let (server, level) = (it.at, it.level);
        if let Some(hop) = hop
            && let Some(&q) = self.queue_cache.get(&(server, hop, level))
        {
            self.enqueue_into(item, q);
            return;
        }
        let domain = self.item_domain(item);
        let (delivery_type, next_hop, connector_id, target) = name(&self.topology, &domain);
        let key = QueueKey {
            server,
            delivery_type,
            next_hop,
            target,
            level,
        };
        let q = self.queue_for(key, connector_id);
        if let Some(hop) = hop {
            self.queue_cache.insert((server, hop, level), q);
        }
        self.enqueue_into(item, q);
    }

    /// The interned recipient domain of an external item.
    fn item_domain_id(&self, item: u32) -> Option<u32> {
        let it = self.items.at(item)?;
        let m = self.msgs.get(it.msg, it.msg_gen)?;
        match m.rcpts[it.rcpts[0] as usize].key {
            Some(TargetKey::Domain(id)) => Some(id),
            _ => None,
        }
    }

    /// Reports DLV002 and parks the item in its server's Unreachable queue (reference §4.1).
    fn park_unreachable(&mut self, item: u32) {
        let it = self.items.at(item).expect("live item");
        let (server, level) = (it.at, it.level);
        self.report_unreachable(item);
        let key = QueueKey {
            server,
            delivery_type: "Unreachable",
            next_hop: "Unreachable Domain".to_owned(),
            target: None,
            level,
        };
        self.enqueue(item, key, String::new());
    }

    /// The recipient domain of an item (items never mix domains on the external hop).
    fn item_domain(&self, item: u32) -> String {
        let it = self.items.at(item).expect("live item");
        self.msgs
            .get(it.msg, it.msg_gen)
            .map_or_else(String::new, |m| {
                self.domains[m.rcpts[it.rcpts[0] as usize].domain as usize]
                    .name
                    .to_string()
            })
    }

    fn enqueue(&mut self, item: u32, key: QueueKey, connector_id: String) {
        let q = self.queue_for(key, connector_id);
        self.enqueue_into(item, q);
    }

    /// The queue with this key, created (empty, Active) on first use.
    fn queue_for(&mut self, key: QueueKey, connector_id: String) -> u32 {
        if let Some(&q) = self.queue_index.get(&key) {
            q
        } else {
            let q = u32::try_from(self.queues.len()).expect("queue count fits u32");
            self.queues.push(Queue {
                key: key.clone(),
                items: VecDeque::new(),
                retry: false,
                failures: 0,
                generation: 0,
                last_error: String::new(),
                connector_id,
                retry_since: 0,
                connectors_down_at_retry: Vec::new(),
            });
            self.queue_index.insert(key, q);
            q
        }
    }

    fn enqueue_into(&mut self, item: u32, q: u32) {
        let unreachable = self.queues[q as usize].key.delivery_type == "Unreachable";
        let it = self.items.at_mut(item).expect("live item");
        it.queue = Some(q);
        let generation = it.generation;
        self.queues[q as usize].items.push_back((item, generation));
        if unreachable {
            "no Send connector matches the recipient domain"
                .clone_into(&mut self.queues[q as usize].last_error);
            self.arm_queue(q);
            return;
        }
        if self.queues[q as usize].retry {
            self.arm_queue(q);
        } else {
            self.attempt_queue(q);
        }
    }

    /// Tries to deliver every item of a queue, in order, until one fails.
    fn attempt_queue(&mut self, q: u32) {
        let server = self.queues[q as usize].key.server;
        if self.queues[q as usize].key.delivery_type == "Unreachable" {
            return;
        }
        if !self.faults.server_up(&self.topology, server) {
            // The server is down: its queues resume when it comes back (see `timeline`).
            self.arm_queue(q);
            return;
        }
        // A queue in Retry keeps the routing of the moment it entered Retry until it has been
        // idle for MaxIdleTimeBeforeResubmit, under `after_max_idle` (reference §4.3).
        let frozen: Option<Vec<ConnectorId>> = {
            let queue = &self.queues[q as usize];
            (queue.retry
                && self.topology.profile.retry_queue_reroute.behaviour
                    == crate::model::profile::RetryReroute::AfterMaxIdle
                && self.now()
                    < queue
                        .retry_since
                        .saturating_add(MAX_IDLE_TIME_BEFORE_RESUBMIT))
            .then(|| queue.connectors_down_at_retry.clone())
        };
        while let Some(&(item, generation)) = self.queues[q as usize].items.front() {
            if !self.item_alive(item, generation) {
                self.queues[q as usize].items.pop_front();
                self.items.remove(item);
                continue;
            }
            match self.deliver(item, frozen.as_deref()) {
                Ok(()) => {
                    self.queues[q as usize].items.pop_front();
                    if self.items.get(item, generation).is_some() {
                        self.collect_if_finished(item);
                    }
                    let queue = &mut self.queues[q as usize];
                    queue.retry = false;
                    queue.failures = 0;
                }
                Err(error) => {
                    self.track(
                        item,
                        TrackingEvent::Defer,
                        "SMTP",
                        "",
                        &self.queues[q as usize].connector_id.clone(),
                        &error,
                        "",
                    );
                    let now = self.now();
                    let down_now: Vec<ConnectorId> = self
                        .faults
                        .down
                        .iter()
                        .filter_map(|c| match c {
                            crate::model::Component::Connector(id) => Some(*id),
                            _ => None,
                        })
                        .collect();
                    let queue = &mut self.queues[q as usize];
                    if !queue.retry {
                        queue.retry_since = now;
                        queue.connectors_down_at_retry = down_now;
                    }
                    queue.retry = true;
                    queue.failures += 1;
                    queue.generation = queue.generation.wrapping_add(1);
                    queue.last_error = error;
                    let delay = retry_delay(&self.topology.transport_config, queue.failures).0;
                    let generation = queue.generation;
                    self.events.push(
                        now + delay,
                        Event::QueueRetry {
                            queue: q,
                            generation,
                        },
                    );
                    self.arm_queue(q);
                    return;
                }
            }
        }
    }

    /// Whether an item still carries recipients of a live message.
    fn item_alive(&self, item: u32, generation: u32) -> bool {
        let Some(it) = self.items.get(item, generation) else {
            return false;
        };
        self.msgs
            .get(it.msg, it.msg_gen)
            .is_some_and(|m| it.rcpts.iter().any(|&r| !m.rcpts[r as usize].done))
    }

    /// One delivery attempt of an item from its server. `Err` is a transient failure.
    /// Hands an item to its next hop. `frozen`: route with the Send connectors disabled as
    /// listed (a Retry queue's routing table) instead of the current ones.
    fn deliver(&mut self, item: u32, frozen: Option<&[ConnectorId]>) -> Result<(), String> {
        let it = self.items.at(item).expect("live item");
        if let Some(Then::External {
            from,
            connector,
            via_frontend,
        }) = it.then
        {
            return self.external(item, from, connector, via_frontend);
        }
        let m = self.msgs.get(it.msg, it.msg_gen).expect("live message");
        let (at, key, size) = (it.at, m.rcpts[it.rcpts[0] as usize].key, m.size);
        if key.is_none() {
            return Ok(());
        }
        let step = match (frozen, key) {
            (Some(down), Some(k)) => {
                // The queue's routing table: today's outages, the connectors of its Retry start.
                let mut faults = self.faults.clone();
                faults
                    .down
                    .retain(|c| !matches!(c, crate::model::Component::Connector(_)));
                faults
                    .down
                    .extend(down.iter().map(|&c| crate::model::Component::Connector(c)));
                next_step(&self.topology, at, &self.target_of(k), size, &faults)
            }
            _ => self.step(at, key, size),
        };
        match step {
            Step::Relay(hop) => {
                self.relay(item, hop, None);
                Ok(())
            }
            Step::RelayThenEnd(hop, end) => {
                self.relay(item, hop, Some(end));
                Ok(())
            }
            Step::End(RouteEnd::External {
                from,
                connector,
                via_frontend,
            }) => self.external(item, from, connector, via_frontend),
            Step::End(RouteEnd::Queued { reason, .. }) => Err(format!("451 4.4.0 {reason}")),
            Step::End(RouteEnd::Unreachable { .. }) => {
                // A configuration change made the domain unroutable: to the Unreachable queue.
                let (new_item, _) = self.clone_item(item);
                self.park_unreachable(new_item);
                Ok(())
            }
            Step::End(RouteEnd::Ndr { status, .. }) => {
                self.fail_item(item, &status, "ROUTING");
                Ok(())
            }
            Step::End(RouteEnd::Mailbox { .. }) => Ok(()),
        }
    }

    /// Moves an item's content to a fresh slot (the old one is left for its queue to drop).
    fn clone_item(&mut self, item: u32) -> (u32, u32) {
        let it = self.items.at_mut(item).expect("live item");
        let (msg, msg_gen, rcpts, at, level, lost, hops) = (
            it.msg,
            it.msg_gen,
            std::mem::take(&mut it.rcpts),
            it.at,
            it.level,
            it.lost.take(),
            std::mem::take(&mut it.hops),
        );
        self.items.insert(|g| Item {
            generation: g,
            msg,
            msg_gen,
            rcpts,
            at,
            categorized: true,
            level,
            lost,
            hops,
            then: None,
            queue: None,
        })
    }

    /// Sends an item to the next server; the requirement crosses the hop per the profile.
    fn relay(&mut self, item: u32, hop: Hop, then: Option<RouteEnd>) {
        if self.sink.enabled() {
            let to_name = self.topology.server(hop.to).name.clone();
            self.track(
                item,
                TrackingEvent::Send,
                "SMTP",
                &to_name,
                "Intra-Organization SMTP Send Connector",
                "",
                "",
            );
        }
        let carried = Carried::across(
            &self.topology,
            &hop,
            self.items.at(item).expect("live").level,
        );
        let lost = carried.lost_at(&self.topology, &hop).map(Box::new);
        let (latency, lane) = self.latency(&hop);
        let it = self.items.at_mut(item).expect("live item");
        it.level = carried.after;
        if it.lost.is_none() {
            it.lost = lost;
        }
        it.at = hop.to;
        it.then = then.map(Then::from);
        it.queue = None;
        it.hops.push(hop);
        // The item leaves this queue: give it a new identity so stale references are skipped.
        let (new_item, new_gen) = self.move_item(item);
        self.events.push_in_lane(
            lane,
            self.now() + latency,
            Event::Arrive {
                item: new_item,
                generation: new_gen,
            },
        );
    }

    /// A new identity for an item, in its slot: events and queue entries that name the old
    /// one are recognised as stale and skipped.
    fn move_item(&mut self, item: u32) -> (u32, u32) {
        let generation = self.items.renew(item);
        self.items.at_mut(item).expect("live item").generation = generation;
        (item, generation)
    }

    /// A hop's latency, and the event queue's lane of the arrivals after it: each latency is
    /// fixed for a run, so arrivals after one latency are scheduled in time order
    /// ([`EventQueue::push_in_lane`]).
    fn latency(&self, hop: &Hop) -> (u64, usize) {
        let l = &self.scenario.latency;
        if hop.cross_site {
            (l.cross_site.0, 1)
        } else {
            (l.same_site.0, 0)
        }
    }

    fn arrive(&mut self, item: u32, generation: u32) {
        if !self.item_alive(item, generation) {
            self.items.remove(item);
            return;
        }
        let it = self.items.at(item).expect("live item");
        let then = it.then;
        if self.sink.enabled() {
            let from = it
                .hops
                .last()
                .map(|h| self.topology.server(h.from).name.clone())
                .unwrap_or_default();
            self.track(item, TrackingEvent::Receive, "SMTP", &from, "", "", "");
        }
        match then {
            Some(Then::Mailbox) => {
                self.track(item, TrackingEvent::Deliver, "STOREDRIVER", "", "", "", "");
                // Intra-organisation hops are always TLS (Exchange server authentication, §3.1).
                self.finish_item(
                    item,
                    &RecipientState::Delivered {
                        tls: TlsAchieved::Encrypted,
                    },
                    None,
                );
                self.collect_if_finished(item);
            }
            Some(Then::External { connector, .. }) => {
                let hop = self
                    .item_domain_id(item)
                    .map(|d| QueueHop::External(connector, d));
                self.enqueue_by_hop(item, hop, |topology, domain| {
                    let (t, next_hop, id) = external_queue_name(topology, connector, domain);
                    (t, next_hop, id, None)
                });
            }
            Some(Then::Categorize) | None => {
                if let Some(it) = self.items.at_mut(item) {
                    it.then = None;
                }
                self.categorize(item);
            }
        }
    }

    /// The hop that leaves the organisation (SPEC §5.2).
    fn external(
        &mut self,
        item: u32,
        from: ServerId,
        connector: ConnectorId,
        via_frontend: bool,
    ) -> Result<(), String> {
        let at = Timestamp(
            self.scenario
                .start
                .0
                .saturating_add(i64::try_from(self.now()).unwrap_or(i64::MAX)),
        );
        let outcome = self.external_outcome(item, from, connector, via_frontend, at);
        if self.sink.wants_sessions() {
            self.log_sessions(item, from, connector, &outcome);
        }
        match &outcome.result {
            ExternalResult::Delivered { host, tls } => {
                if self.sink.enabled() {
                    let status = format!("250 2.0.0 OK; TLS {}", tls.as_str());
                    let connector_name = self.topology.connector(connector).name.clone();
                    let required = outcome.effective.exchange_name();
                    self.track(
                        item,
                        TrackingEvent::Send,
                        "SMTP",
                        host,
                        &connector_name,
                        &status,
                        &format!("S:{REQUIRED_TLS_KEY}={required}"),
                    );
                }
                let hop_text =
                    || format!("{} -> {host} (external)", self.topology.server(from).name);
                let last_hop = self.options.record_recipients.then(hop_text);
                self.judge_delivery(item, &outcome, connector, from, host);
                self.finish_item(item, &RecipientState::Delivered { tls: *tls }, last_hop);
                Ok(())
            }
            ExternalResult::Deferred { status } => {
                let (effective, status) = (outcome.effective, status.clone());
                if effective > TlsLevel::None {
                    let it = self.items.at(item).expect("live item");
                    let rcpts = it.rcpts.clone();
                    let m = self.msgs.get_mut(it.msg, it.msg_gen).expect("live message");
                    for r in rcpts {
                        let rcpt = &mut m.rcpts[r as usize];
                        if rcpt.enforced.is_none_or(|(l, _)| l < effective) {
                            rcpt.enforced = Some((effective, connector));
                        }
                    }
                }
                Err(status)
            }
            ExternalResult::Ndr { status } => {
                let status = status.clone();
                self.fail_item(item, &status, "SMTP");
                Ok(())
            }
        }
    }

    /// The SmtpSend protocol-log sessions of an external hop, one per attempt
    /// (`simulate --protocol-log`; the line forms are in docs/evidence.md#logs). What the remote
    /// offers comes from its MX entry; a smart host not listed as MX offers STARTTLS when the
    /// attempt got TLS.
    fn log_sessions(
        &mut self,
        item: u32,
        from: ServerId,
        connector: ConnectorId,
        outcome: &crate::policy::ExternalOutcome,
    ) {
        let Some(rcpts) = self.item_addresses(item) else {
            return;
        };
        let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
        let it = self.items.at(item).expect("live item");
        let m = self.msgs.get(it.msg, it.msg_gen).expect("live message");
        let message_id = message_id(&self.org_domain, m.seq);
        let (record_id, size) = (m.seq, m.size.0);
        let sender = self.senders[m.sender as usize].clone();
        let server = self.topology.server(from).name.clone();
        let fqdn = format!("{server}.{}", self.org_domain);
        let c = self.topology.connector(connector);
        let (connector_name, ignore_starttls) = (c.name.clone(), c.ignore_starttls);
        let profile_versions = self.topology.profile.tls_versions.clone();
        for attempt in &outcome.attempts {
            let mx = self
                .topology
                .external_domains
                .iter()
                .flat_map(|d| &d.mx)
                .find(|h| h.host.eq_ignore_ascii_case(&attempt.host));
            let got_tls = attempt
                .tls
                .is_some_and(|t| t != crate::model::tls::TlsAchieved::None);
            let offered = mx.map_or(got_tls, |h| {
                h.available && h.starttls != crate::model::StartTls::NotOffered
            });
            // A carried requirement overrides IgnoreSTARTTLS (reference §3.6): the connector's
            // setting applies only when nothing is enforced on this hop.
            let ignore = ignore_starttls && outcome.effective == TlsLevel::None;
            let used = offered && !ignore;
            let handshake_fails = mx.is_some_and(|h| {
                h.starttls == crate::model::StartTls::HandshakeFails
                    || (!h.tls_versions.is_empty()
                        && !h.tls_versions.iter().any(|v| profile_versions.contains(v)))
            });
            // The highest version both sides speak.
            let version = mx
                .and_then(|h| {
                    h.tls_versions
                        .iter()
                        .filter(|v| profile_versions.contains(v))
                        .max()
                })
                .or(profile_versions.iter().max())
                .map_or_else(
                    || "TLS1_2".to_owned(),
                    |v| format!("TLS{}", v.replace('.', "_")),
                );
            let end = match (attempt.failure, &outcome.result) {
                (None, crate::policy::ExternalResult::Ndr { status }) => {
                    super::tracking::SessionEnd::Refused(status)
                }
                (None, _) => super::tracking::SessionEnd::Delivered,
                (Some(_), _) => super::tracking::SessionEnd::Failed(&attempt.response),
            };
            // A hand-over logs TLS exactly when the attempt got it, so the log says what the
            // simulation decided; a failed attempt negotiated TLS if it tried and the
            // handshake could succeed (a certificate refused after it, say).
            let tls = if end == super::tracking::SessionEnd::Delivered {
                got_tls.then_some(version.as_str())
            } else {
                (used && !handshake_fails).then_some(version.as_str())
            };
            let session = super::tracking::SmtpSession {
                time_ms: self.events.now_ms(),
                server: &server,
                server_fqdn: &fqdn,
                connector: &connector_name,
                remote_host: &attempt.host,
                starttls_offered: offered,
                starttls_used: used,
                tls,
                record_id,
                message_id: &message_id,
                sender: &sender,
                recipients: &refs,
                size,
                end,
            };
            self.sink.session(&session);
        }
    }

    /// The findings of a delivery to `host` (SPEC §5.4), for each pending recipient.
    /// The external hop's outcome (`policy::external_hop`), from the cache when the same
    /// connector, domain, level and Front End path were tried in the same certificate epoch
    /// (between two `not_before`/`not_after` instants) since the last timeline event: the
    /// outcome is a pure function of these and the MX settings, which only timeline events
    /// change.
    fn external_outcome(
        &mut self,
        item: u32,
        from: ServerId,
        connector: ConnectorId,
        via_frontend: bool,
        at: Timestamp,
    ) -> Rc<crate::policy::ExternalOutcome> {
        let it = self.items.at(item).expect("live item");
        let m = self.msgs.get(it.msg, it.msg_gen).expect("live message");
        let rcpt = &m.rcpts[it.rcpts[0] as usize];
        let epoch = (
            self.certificate_instants.partition_point(|&t| t < at),
            self.certificate_instants.partition_point(|&t| t <= at),
        );
        let domain = &*self.domains[rcpt.domain as usize].name;
        let key = match rcpt.key {
            Some(TargetKey::Domain(id)) => Some((connector, id, it.level, via_frontend, epoch)),
            _ => None,
        };
        // Only outcomes that involve no random choice are cached.
        if let Some(outcome) = key.and_then(|k| self.external_cache.get(&k)) {
            return Rc::clone(outcome);
        }
        // MX hosts of equal preference are tried in a random order at each attempt (RFC 5321
        // §5.1): drawn from Exchange's stream, and not cached.
        let random = crate::policy::mx_order_matters(&self.topology, connector, domain);
        let rng = &mut self.route_rng;
        let mut draw = |n: usize| rng.random_range(0..n);
        let order = if random {
            crate::policy::MxOrder::Random(&mut draw)
        } else {
            crate::policy::MxOrder::Worst
        };
        let outcome = Rc::new(external_hop(
            &self.topology,
            connector,
            from,
            domain,
            it.level,
            via_frontend,
            at,
            order,
        ));
        if random {
            return outcome;
        }
        if let Some(k) = key {
            self.external_cache.insert(k, Rc::clone(&outcome));
        }
        outcome
    }

    fn judge_delivery(
        &mut self,
        item: u32,
        outcome: &crate::policy::ExternalOutcome,
        connector: ConnectorId,
        from: ServerId,
        host: &str,
    ) {
        let it = self.items.at(item).expect("live item");
        let m = self.msgs.get(it.msg, it.msg_gen).expect("live message");
        let connector_name = &self.topology.connector(connector).name;
        let sender_server = &self.topology.server(from).name;
        let mut found = Vec::new();
        for &r in &it.rcpts {
            let rcpt = &m.rcpts[r as usize];
            if rcpt.done {
                continue;
            }
            let rule_name = rcpt
                .rule
                .map(|id| self.topology.transport_rules[id.index()].name.as_str());
            let findings = judge(&FindingInput {
                recipient: &self.addresses[rcpt.address as usize],
                rule_required: rcpt.required,
                rule_name,
                lost_at: it.lost.as_deref(),
                external: Some(outcome),
                unreachable_at: None,
                connector: Some(connector_name),
                sender_server: Some(sender_server),
            });
            for f in findings {
                found.push((self.addresses[rcpt.address as usize].to_string(), f));
            }
        }
        if found.is_empty() {
            return;
        }
        let mut hops = self.hop_texts(it);
        hops.push(format!("{sender_server} -> {host} (external)"));
        let (msg, msg_gen, connector_name) = (it.msg, it.msg_gen, connector_name.clone());
        for (recipient, f) in found {
            self.push_finding(
                msg,
                msg_gen,
                recipient,
                f.code,
                f.message,
                Some(connector_name.clone()),
                hops.clone(),
                f.lost_at,
            );
        }
    }

    fn hop_texts(&self, it: &Item) -> Vec<String> {
        it.hops
            .iter()
            .map(|h| {
                format!(
                    "{} -> {} ({})",
                    self.topology.server(h.from).name,
                    self.topology.server(h.to).name,
                    h.kind.as_str()
                )
            })
            .collect()
    }

    #[expect(clippy::too_many_arguments, reason = "a finding has many fields")]
    fn push_finding(
        &mut self,
        msg: u32,
        msg_gen: u32,
        recipient: String,
        code: Code,
        message: String,
        connector: Option<String>,
        hops: Vec<String>,
        lost_at: Option<LostAt>,
    ) {
        let m = self.msgs.get(msg, msg_gen).expect("live message");
        *self.result.finding_counts.entry(code).or_insert(0) += 1;
        let kept = self
            .finding_groups
            .entry((code, m.origin_site, connector.clone()))
            .or_insert(0);
        *kept += 1;
        if *kept > FINDINGS_KEPT_PER_GROUP {
            self.result.findings_omitted += 1;
            return;
        }
        self.result.findings.push(SimFinding {
            code,
            severity: code.severity(),
            message,
            message_id: message_id(&self.org_domain, m.seq),
            time_ms: self.events.now_ms(),
            sender: self.senders[m.sender as usize].to_string(),
            recipient,
            origin_site: self.topology.site(m.origin_site).name.clone(),
            connector,
            hops,
            lost_at,
        });
    }

    fn report_unreachable(&mut self, item: u32) {
        let it = self.items.at(item).expect("live item");
        let m = self.msgs.get(it.msg, it.msg_gen).expect("live message");
        let at = self.topology.server(it.at).name.clone();
        let hops = self.hop_texts(it);
        let found: Vec<(String, crate::policy::Finding)> = it
            .rcpts
            .iter()
            .filter(|&&r| !m.rcpts[r as usize].done)
            .flat_map(|&r| {
                let rcpt = &m.rcpts[r as usize];
                judge(&FindingInput {
                    recipient: &self.addresses[rcpt.address as usize],
                    rule_required: rcpt.required,
                    rule_name: None,
                    lost_at: None,
                    external: None,
                    unreachable_at: Some(&at),
                    connector: None,
                    sender_server: None,
                })
                .into_iter()
                .map(|f| (self.addresses[rcpt.address as usize].to_string(), f))
                .collect::<Vec<_>>()
            })
            .collect();
        let (msg, msg_gen) = (it.msg, it.msg_gen);
        for (recipient, f) in found {
            self.push_finding(
                msg,
                msg_gen,
                recipient,
                f.code,
                f.message,
                None,
                hops.clone(),
                None,
            );
        }
    }

    /// NDR for every pending recipient of an item.
    fn fail_item(&mut self, item: u32, status: &str, source: &str) {
        self.track(item, TrackingEvent::Fail, source, "", "", status, "");
        self.track(item, TrackingEvent::Dsn, "DSN", "", "", status, "");
        self.finish_item(
            item,
            &RecipientState::Ndr {
                status: status.to_owned(),
            },
            None,
        );
    }

    /// Records the final state of an item's pending recipients and frees what is finished.
    fn finish_item(&mut self, item: u32, state: &RecipientState, last_hop: Option<String>) {
        let it = self.items.at(item).expect("live item");
        let (msg, msg_gen) = (it.msg, it.msg_gen);
        let mut hops = if self.options.record_recipients {
            self.hop_texts(it)
        } else {
            Vec::new()
        };
        if let Some(h) = last_hop.filter(|_| self.options.record_recipients) {
            hops.push(h);
        }
        let rcpts = it.rcpts.clone();
        let now = self.now();
        let record = self.options.record_recipients;
        let Some(m) = self.msgs.get_mut(msg, msg_gen) else {
            return;
        };
        let mut outcomes = Vec::new();
        for r in rcpts {
            let rcpt = &mut m.rcpts[r as usize];
            if rcpt.done {
                continue;
            }
            rcpt.done = true;
            m.pending -= 1;
            match state {
                RecipientState::Delivered { tls } => self.result.summary.delivered.add(*tls),
                RecipientState::Ndr { .. } => self.result.summary.ndr += 1,
                RecipientState::Queued { .. } => self.result.summary.queued += 1,
            }
            if record {
                outcomes.push(RecipientOutcome {
                    message_id: message_id(&self.org_domain, m.seq),
                    sender: self.senders[m.sender as usize].to_string(),
                    recipient: self.addresses[rcpt.address as usize].to_string(),
                    submitted_ms: m.submitted_ms,
                    time_ms: now,
                    state: state.clone(),
                    hops: hops.clone(),
                });
            }
        }
        let finished = m.pending == 0;
        self.result.recipients.extend(outcomes);
        if finished {
            self.msgs.remove(msg);
        }
    }

    fn delay_dsn(&mut self, msg: u32, generation: u32) {
        let Some(m) = self.msgs.get(msg, generation) else {
            return;
        };
        if m.pending == 0 {
            return;
        }
        let pending: Vec<String> = m
            .rcpts
            .iter()
            .filter(|r| !r.done)
            .map(|r| self.addresses[r.address as usize].to_string())
            .collect();
        let server = self.topology.server(m.mailbox_server).name.clone();
        let refs: Vec<&str> = pending.iter().map(String::as_str).collect();
        self.emit(
            msg,
            generation,
            &server,
            TrackingEvent::Dsn,
            "DSN",
            "",
            "",
            &refs,
            "400 4.4.7 Message delayed",
            "",
        );
    }

    /// `MessageExpirationTimeout`: every recipient still undelivered gets an NDR (§3.2, §4.3).
    fn expire(&mut self, msg: u32, generation: u32) {
        let Some(m) = self.msgs.get(msg, generation) else {
            return;
        };
        let status = "550 4.4.7 QUEUE.Expired; message expired";
        let pending: Vec<usize> = (0..m.rcpts.len()).filter(|&i| !m.rcpts[i].done).collect();
        let server = self.topology.server(m.mailbox_server).name.clone();
        for i in pending {
            let m = self.msgs.get(msg, generation).expect("live message");
            let rcpt = &m.rcpts[i];
            let (address, rule_level, rule, enforced) = (
                self.addresses[rcpt.address as usize].to_string(),
                rcpt.required,
                rcpt.rule,
                rcpt.enforced,
            );
            // The requirement that held: the rule's, or the one a connector enforced.
            let required = rule_level.max(enforced.map_or(TlsLevel::None, |(l, _)| l));
            let refs = [address.as_str()];
            self.emit(
                msg,
                generation,
                &server,
                TrackingEvent::Fail,
                "QUEUE",
                "",
                "",
                &refs,
                status,
                "",
            );
            self.emit(
                msg,
                generation,
                &server,
                TrackingEvent::Dsn,
                "DSN",
                "",
                "",
                &refs,
                status,
                "",
            );
            if required > TlsLevel::None {
                let rule_name = match (rule, enforced) {
                    (Some(r), _) if rule_level >= required => {
                        format!(
                            " (rule \"{}\")",
                            self.topology.transport_rules[r.index()].name
                        )
                    }
                    (_, Some((_, c))) => {
                        format!(" (send connector {})", self.topology.connector(c).name)
                    }
                    _ => String::new(),
                };
                let message = format!(
                    "{address} required {required}{rule_name}; it was never sent in clear text and expired undelivered: {status}"
                );
                self.push_finding(
                    msg,
                    generation,
                    address.clone(),
                    Code::Dlv001,
                    message,
                    None,
                    Vec::new(),
                    None,
                );
            }
            let m = self.msgs.get_mut(msg, generation).expect("live message");
            m.rcpts[i].done = true;
            m.pending -= 1;
            self.result.summary.ndr += 1;
            if self.options.record_recipients {
                let m = self.msgs.get(msg, generation).expect("live message");
                let outcome = RecipientOutcome {
                    message_id: message_id(&self.org_domain, m.seq),
                    sender: self.senders[m.sender as usize].to_string(),
                    recipient: address,
                    submitted_ms: m.submitted_ms,
                    time_ms: self.now(),
                    state: RecipientState::Ndr {
                        status: status.to_owned(),
                    },
                    hops: Vec::new(),
                };
                self.result.recipients.push(outcome);
            }
        }
        self.msgs.remove(msg);
    }

    fn timeline(&mut self, i: u32) {
        // Routing decisions were taken under the faults before this event.
        self.step_cache.clear();
        let event = &self.scenario.events[i as usize];
        match &event.action {
            Action::Down(item) | Action::Up(item) => {
                let Ok(component) = self.topology.parse_component(item) else {
                    return;
                };
                let up = matches!(event.action, Action::Up(_));
                if up {
                    self.faults.down.remove(&component);
                } else {
                    self.faults.down.insert(component);
                }
                if up {
                    self.resume_after_recovery(component);
                }
                if matches!(component, crate::model::Component::Connector(_)) {
                    self.resubmit_unreachable();
                    if self.topology.profile.retry_queue_reroute.behaviour
                        == crate::model::profile::RetryReroute::AtOnce
                    {
                        self.retry_queues_now();
                    }
                }
            }
            Action::Set(change) => {
                let change = change.clone();
                self.external_cache.clear();
                for d in Arc::make_mut(&mut self.topology.external_domains)
                    .iter_mut()
                    .filter(|d| d.domain == change.domain)
                {
                    for mx in
                        d.mx.iter_mut()
                            .filter(|m| change.mx.as_ref().is_none_or(|h| *h == m.host))
                    {
                        if let Some(s) = change.starttls {
                            mx.starttls = s;
                        }
                        if let Some(a) = change.available {
                            mx.available = a;
                        }
                        if change.certificate_trusted.is_some()
                            || change.certificate_not_after.is_some()
                        {
                            let cert = mx
                                .certificate
                                .get_or_insert_with(crate::model::Certificate::default);
                            if let Some(t) = change.certificate_trusted {
                                cert.trusted = t;
                            }
                            if let Some(n) = change.certificate_not_after {
                                cert.not_after = Some(n);
                            }
                        }
                    }
                }
                self.certificate_instants = certificate_instants(&self.topology);
            }
        }
    }

    /// A server (or its site) that comes back resumes its own queues at once; other queues keep
    /// their retry timers (a recovered remote is found at the next retry, as in Exchange).
    fn resume_after_recovery(&mut self, component: crate::model::Component) {
        let servers: Vec<ServerId> = match component {
            crate::model::Component::Server(s) => vec![s],
            crate::model::Component::Site(site) => {
                self.topology.transport_servers_in(site).collect()
            }
            _ => return,
        };
        let queues: Vec<u32> = (0..self.queues.len())
            .filter(|&q| {
                servers.contains(&self.queues[q].key.server) && !self.queues[q].items.is_empty()
            })
            .map(|q| u32::try_from(q).expect("queue count fits u32"))
            .collect();
        for q in queues {
            let queue = &mut self.queues[q as usize];
            queue.generation = queue.generation.wrapping_add(1);
            let generation = queue.generation;
            self.events.push(
                self.now(),
                Event::QueueRetry {
                    queue: q,
                    generation,
                },
            );
        }
    }

    /// Under `retry_queue_reroute: at_once`, a routing change resubmits every queue in Retry at
    /// once: each is attempted now, routed by the new table.
    fn retry_queues_now(&mut self) {
        let now = self.now();
        for q in 0..self.queues.len() {
            let queue = &mut self.queues[q];
            if queue.retry && !queue.items.is_empty() && queue.key.delivery_type != "Unreachable" {
                queue.generation = queue.generation.wrapping_add(1);
                let generation = queue.generation;
                self.events.push(
                    now,
                    Event::QueueRetry {
                        queue: u32::try_from(q).expect("queue count fits u32"),
                        generation,
                    },
                );
            }
        }
    }

    /// The Unreachable queues are resubmitted on a configuration change (reference §4.1).
    fn resubmit_unreachable(&mut self) {
        let queues: Vec<usize> = (0..self.queues.len())
            .filter(|&q| self.queues[q].key.delivery_type == "Unreachable")
            .collect();
        for q in queues {
            let items: Vec<(u32, u32)> = self.queues[q].items.drain(..).collect();
            for (item, generation) in items {
                if self.item_alive(item, generation) {
                    if let Some(it) = self.items.get_mut(item, generation) {
                        it.queue = None;
                    }
                    self.categorize(item);
                } else {
                    self.items.remove(item);
                }
            }
        }
    }

    /// The addresses of an item's recipients, for the logs; `None` when its message is gone.
    fn item_addresses(&self, item: u32) -> Option<Vec<String>> {
        let it = self.items.at(item).expect("live item");
        let m = self.msgs.get(it.msg, it.msg_gen)?;
        Some(
            it.rcpts
                .iter()
                .map(|&r| self.addresses[m.rcpts[r as usize].address as usize].to_string())
                .collect(),
        )
    }

    #[expect(clippy::too_many_arguments, reason = "a tracking row has many fields")]
    fn track(
        &mut self,
        item: u32,
        event: TrackingEvent,
        source: &str,
        server_hostname: &str,
        connector: &str,
        status: &str,
        custom: &str,
    ) {
        if !self.sink.enabled() {
            return;
        }
        let Some(rcpts) = self.item_addresses(item) else {
            return;
        };
        let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
        let it = self.items.at(item).expect("live item");
        let (msg, msg_gen, at, level) = (it.msg, it.msg_gen, it.at, it.level);
        let server = self.topology.server(at).name.clone();
        let custom = if custom.is_empty() && event == TrackingEvent::Send {
            format!("S:{REQUIRED_TLS_KEY}={}", level.exchange_name())
        } else {
            custom.to_owned()
        };
        self.emit(
            msg,
            msg_gen,
            &server,
            event,
            source,
            server_hostname,
            connector,
            &refs,
            status,
            &custom,
        );
    }

    #[expect(clippy::too_many_arguments, reason = "a tracking row has many fields")]
    fn emit(
        &mut self,
        msg: u32,
        msg_gen: u32,
        server: &str,
        event: TrackingEvent,
        source: &str,
        server_hostname: &str,
        connector: &str,
        recipients: &[&str],
        status: &str,
        custom: &str,
    ) {
        if !self.sink.enabled() {
            return;
        }
        let Some(m) = self.msgs.get(msg, msg_gen) else {
            return;
        };
        let message_id = message_id(&self.org_domain, m.seq);
        let row = TrackingRow {
            time_ms: self.events.now_ms(),
            server,
            client_hostname: server,
            server_hostname,
            source_context: "",
            connector_id: connector,
            source,
            event,
            internal_message_id: m.seq,
            message_id: &message_id,
            recipients,
            recipient_status: status,
            total_bytes: m.size.0,
            subject: &self.subjects[m.subject as usize].0,
            sender: &self.senders[m.sender as usize],
            directionality: "Originating",
            custom_data: custom,
            required_tls: "",
        };
        self.sink.row(&row);
    }

    /// Every recipient still pending at the end is `queued`, with where and why.
    fn finish(mut self) -> RunResult {
        let mut pending: Vec<(u32, u32, RcptIndices, String, String)> = Vec::new();
        for it in self.items.values() {
            let reason = it.queue.map_or_else(
                || {
                    if it.hops.is_empty() {
                        "awaiting categorization".to_owned()
                    } else {
                        "in transit".to_owned()
                    }
                },
                |q| {
                    let queue = &self.queues[q as usize];
                    let state = if queue.retry { "Retry" } else { "Active" };
                    let error = if queue.last_error.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", queue.last_error)
                    };
                    format!(
                        "queue {}:{} ({state}){error}",
                        queue.key.delivery_type, queue.key.next_hop
                    )
                },
            );
            pending.push((
                it.msg,
                it.msg_gen,
                it.rcpts.clone(),
                self.topology.server(it.at).name.clone(),
                reason,
            ));
        }
        for (msg, generation, rcpts, at, reason) in pending {
            let Some(m) = self.msgs.get_mut(msg, generation) else {
                continue;
            };
            for r in rcpts {
                let rcpt = &mut m.rcpts[r as usize];
                if rcpt.done {
                    continue;
                }
                rcpt.done = true;
                m.pending -= 1;
                self.result.summary.queued += 1;
                if self.options.record_recipients {
                    self.result.recipients.push(RecipientOutcome {
                        message_id: message_id(&self.org_domain, m.seq),
                        sender: self.senders[m.sender as usize].to_string(),
                        recipient: self.addresses[rcpt.address as usize].to_string(),
                        submitted_ms: m.submitted_ms,
                        time_ms: self.scenario.duration.0,
                        state: RecipientState::Queued {
                            at: at.clone(),
                            reason: reason.clone(),
                        },
                        hops: Vec::new(),
                    });
                }
            }
        }
        // Messages never handed to a Transport service (no server of the submission's group up).
        for m in self.msgs.values_mut() {
            for rcpt in m.rcpts.iter_mut().filter(|r| !r.done) {
                rcpt.done = true;
                self.result.summary.queued += 1;
                if self.options.record_recipients {
                    self.result.recipients.push(RecipientOutcome {
                        message_id: message_id(&self.org_domain, m.seq),
                        sender: self.senders[m.sender as usize].to_string(),
                        recipient: self.addresses[rcpt.address as usize].to_string(),
                        submitted_ms: m.submitted_ms,
                        time_ms: self.scenario.duration.0,
                        state: RecipientState::Queued {
                            at: String::new(),
                            reason:
                                "awaiting submission: no Transport service of the submission's delivery group is up"
                                    .to_owned(),
                        },
                        hops: Vec::new(),
                    });
                }
            }
            m.pending = 0;
        }
        let s = &self.result.summary;
        assert_eq!(
            s.delivered.total() + s.ndr + s.queued,
            s.recipients,
            "every recipient ends in exactly one state"
        );
        self.result.summary.events = self.result.stats.events;
        self.result.findings.sort_by(|a, b| {
            (a.time_ms, &a.message_id, &a.recipient, a.code).cmp(&(
                b.time_ms,
                &b.message_id,
                &b.recipient,
                b.code,
            ))
        });
        self.result
            .recipients
            .sort_by(|a, b| (&a.message_id, &a.recipient).cmp(&(&b.message_id, &b.recipient)));
        self.result
    }
}

/// The Message-Id of the message with InternalMessageId `seq`.
/// The `custom-data` key of the recipient's required TLS level (reference §3.6; the raw-file form
/// of the cmdlet's EventData key, docs/evidence.md#logs).
const REQUIRED_TLS_KEY: &str = "Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel";

fn message_id(org_domain: &str, seq: u64) -> String {
    format!("<{seq}@{org_domain}>")
}

/// The grouping key of a decision: recipients with the same key travel together.
fn group_key(step: &Step, domain: &str) -> String {
    match step {
        Step::Relay(h) => format!("relay:{}:{}", h.kind.as_str(), h.to.0),
        Step::RelayThenEnd(h, _) => format!("relay-end:{}:{}", h.kind.as_str(), h.to.0),
        Step::End(RouteEnd::External { connector, .. }) => {
            format!("external:{}:{domain}", connector.0)
        }
        Step::End(RouteEnd::Queued { reason, .. }) => format!("queued:{reason}"),
        Step::End(RouteEnd::Unreachable { .. }) => "unreachable".to_owned(),
        Step::End(RouteEnd::Ndr { status, .. }) => format!("ndr:{status}"),
        Step::End(RouteEnd::Mailbox { server }) => format!("mailbox:{}", server.0),
    }
}

/// The delivery type and next hop of the queue a decision puts a recipient in, and the
/// connector the tracking log names (reference §4.2: DNS delivery queues are per remote domain,
/// smart-host queues per smart host list, relays per next hop).
/// A queue's name: delivery type, next hop, the connector the tracking log names, and the
/// destination server that keeps queues exact.
type QueueName = (&'static str, String, String, Option<ServerId>);

/// The delivery type and next hop Exchange gives the queue for `step` (NextHopSolutionKey,
/// reference §4.2): a relay to connector source servers or to an Edge is named after the
/// connector, a relay to another site after the site, mailbox delivery after the database (own
/// delivery group), the DAG (`SmtpRelayToDag`) or the mailbox delivery group
/// (`SmtpRelayToMailboxDeliveryGroup`); a Front End proxy uses the connector's delivery queue;
/// a message queued at the point of failure waits in the queue of the hop it could not take
/// (Retry is that queue's status, not a delivery type).
fn queue_name(topology: &Topology, step: &Step, domain: &str) -> QueueName {
    const INTRA_ORG: &str = "Intra-Organization SMTP Send Connector";
    let site_name = |s: ServerId| {
        let server = topology.server(s);
        server
            .site
            .or(server.subscribed_site)
            .map_or_else(String::new, |x| topology.site(x).name.clone())
    };
    match step {
        Step::Relay(h) | Step::RelayThenEnd(h, _) => {
            let connector = h.connector.map(|c| topology.connector(c).name.clone());
            let (t, next_hop) = match h.kind {
                HopKind::RelayToConnectorSourceServers | HopKind::RelayToEdge => (
                    delivery_type(h.kind),
                    connector.unwrap_or_else(|| topology.server(h.to).name.clone()),
                ),
                HopKind::RelayToHubSite | HopKind::RelayToRemoteSite => {
                    (delivery_type(h.kind), site_name(h.to))
                }
                HopKind::FrontendProxy => {
                    if let Some(c) = h.connector {
                        let (t, next_hop, id) = external_queue_name(topology, c, domain);
                        return (t, next_hop, id, Some(h.to));
                    }
                    (
                        "SmtpRelayToFrontendTransport",
                        topology.server(h.to).name.clone(),
                    )
                }
                HopKind::MailboxDelivery => mailbox_queue(topology, h.from, h.to),
                HopKind::Submission | HopKind::External => {
                    ("Undefined", topology.server(h.to).name.clone())
                }
            };
            (t, next_hop, INTRA_ORG.to_owned(), Some(h.to))
        }
        Step::End(RouteEnd::External { connector, .. }) => {
            let (t, next_hop, id) = external_queue_name(topology, *connector, domain);
            (t, next_hop, id, None)
        }
        Step::End(RouteEnd::Queued {
            reason,
            waiting_for,
            ..
        }) => {
            let t = waiting_for.map_or("Undefined", delivery_type);
            (t, reason.clone(), String::new(), None)
        }
        Step::End(_) => ("Undefined", String::new(), String::new(), None),
    }
}

/// The delivery type of the queue for a hop of `kind`, where it does not depend on the hop's
/// ends (reference §4.2). A Front End proxy waits in the connector's delivery queue (its DNS
/// form; `queue_name` names a smart-host connector's when the connector is known).
fn delivery_type(kind: HopKind) -> &'static str {
    match kind {
        HopKind::RelayToConnectorSourceServers => "SmtpRelayToConnectorSourceServers",
        HopKind::RelayToHubSite | HopKind::RelayToRemoteSite => {
            "SmtpRelayToRemoteActiveDirectorySite"
        }
        HopKind::RelayToEdge => "SmtpRelayWithinAdSiteToEdge",
        HopKind::MailboxDelivery => "SmtpDeliveryToMailbox",
        HopKind::FrontendProxy => "DnsConnectorDelivery",
        HopKind::Submission | HopKind::External => "Undefined",
    }
}

/// Mailbox delivery from `from` to the mailbox on `to`: inside the delivery group, to the
/// database (tlsflow names a server's databases after it); else to the DAG or the remote
/// mailbox delivery group (reference §4.2).
fn mailbox_queue(topology: &Topology, from: ServerId, to: ServerId) -> (&'static str, String) {
    let group = topology.group_of(to);
    if group.is_some() && group == topology.group_of(from) {
        return (
            "SmtpDeliveryToMailbox",
            format!("Mailbox Database on {}", topology.server(to).name),
        );
    }
    match group.map(|g| topology.group(g).kind) {
        Some(crate::model::GroupKind::Dag(d)) => {
            ("SmtpRelayToDag", topology.dags[d.index()].name.clone())
        }
        Some(crate::model::GroupKind::Site { site, major }) => (
            "SmtpRelayToMailboxDeliveryGroup",
            format!("Site:{};Version:{major}", topology.site(site).name),
        ),
        None => ("SmtpDeliveryToMailbox", topology.server(to).name.clone()),
    }
}

fn external_queue_name(
    topology: &Topology,
    connector: ConnectorId,
    domain: &str,
) -> (&'static str, String, String) {
    let c = topology.connector(connector);
    if c.dns_routing {
        ("DnsConnectorDelivery", domain.to_owned(), c.name.clone())
    } else {
        (
            "SmartHostConnectorDelivery",
            c.smart_hosts.join(","),
            c.name.clone(),
        )
    }
}
#[cfg(test)]
mod layout {
    /// Messages and items are what a run holds per message in flight (issue 17): they stay
    /// small, and a field that would grow them belongs in a side table.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn messages_and_items_stay_small() {
        assert!(std::mem::size_of::<super::Msg>() <= 96);
        assert!(std::mem::size_of::<super::Item>() <= 128);
        assert!(std::mem::size_of::<super::Event>() <= 12);
    }
}
