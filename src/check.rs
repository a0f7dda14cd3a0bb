//! The exhaustive check (SPEC §2, §6.1): every origin × every recipient domain class × every
//! requirement a rule can impose × every set of up to K failed components, routed the way
//! Exchange falls back, with each exposure reported once with its *minimal* failure sets.
//!
//! An origin is a site's mail with no mailbox recipient in another delivery group, or a site's
//! mail that also goes to a mailbox in another group; Mailbox Transport Submission
//! (`route::submission`, reference §1.10) decides which servers may run its rules, and each of
//! them is checked (units are per server class; exposures are then relabelled per origin).
//!
//! Pruning keeps it fast and stays exact: only components that can change the route of a given
//! origin and domain are enumerated — the connectors matching the domain, the servers of the
//! sites on the least-cost paths between the sites that matter, those sites, and the links of
//! those paths; for K = 2, also the sites and links of the detour around each element of those
//! paths (every 2-cut between two sites meets the least-cost path and the best detour around
//! that element); for K > 2, every site and link. Routing sees only the configured topology, so
//! a component off all these paths cannot change a decision or a connection.

mod fixes;
mod incremental;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::model::{
    Bytes, Code, Component, ConnectorId, Faults, GroupId, OTHER_DOMAIN, Role, RuleMode, ServerId,
    SiteId, Timestamp, TlsLevel, Topology,
};
use crate::policy::{self, LostAt, Request, Sender};
use crate::route::reads::{Read, note};

pub use fixes::{
    Fix, Recheck, VerifiedFixes, candidate_copies, for_shard, verified_fixes, verified_fixes_by,
    verified_fixes_observed,
};
pub use incremental::{Forget, Scope, possible_codes, recheck, recheck_forgetting};

/// Which part of the work this run does (`--shard i/n`, 1-based on the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: usize,
    pub count: usize,
}

#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub failures_max: usize,
    pub at: Timestamp,
    pub shard: Option<Shard>,
    /// Enumerate every component for every origin (slow; for testing the pruning).
    pub no_pruning: bool,
}

/// One exposure: what happens, from where, to which domain, under which failures.
///
/// Its origin is (the senders' sites, the delivery group of a mailbox recipient that drew the
/// submission, or none): Mailbox Transport Submission hands the message to that group, or to
/// the sender's own when there is no mailbox recipient (reference §1.10), and the rules run on
/// the server it picks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// The sites of the senders whose mail this happens to (name order; never empty).
    pub origin_sites: Vec<SiteId>,
    /// The delivery group of a mailbox recipient that drew the submission there; `None`: mail
    /// with no mailbox recipient in another delivery group (submitted in the sender's own).
    pub copy_group: Option<GroupId>,
    /// The delivery group whose Transport service runs the rules.
    pub submission_group: GroupId,
    /// The first Transport services (of the submission group) this happens from: every other
    /// server Exchange may pick is safe under this failure set, or fails differently.
    pub origin_servers: Vec<ServerId>,
    /// A listed domain, or `*` for every other domain.
    pub recipient_domain: String,
    pub required_tls: TlsLevel,
    pub code: Code,
    /// Minimal: no proper subset causes the same exposure. Sorted.
    pub failure_set: Vec<Component>,
    pub connector: Option<ConnectorId>,
    pub lost_at: Option<LostAt>,
    /// Shared: an exposure is copied to every origin it concerns, and for every fix re-checked.
    pub hops: std::sync::Arc<[String]>,
    pub message: std::sync::Arc<str>,
    /// `Some(limit)`: the exposure is of messages larger than `limit` only (a size limit on the
    /// way sends them another way, issue 15); `None`: of messages of any size.
    pub larger_than: Option<Bytes>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    pub failures_max: usize,
    /// The components that can fail: servers, sites, site links and enabled connectors.
    pub components: usize,
    /// Situations routed: (origin, domain, requirement, failure set).
    pub scenarios_checked: u64,
    pub exposures: Vec<Exposure>,
    /// Why the check could not finish within its bounds, when it could not: its answer would
    /// be partial, so the caller refuses to report it (issue 15).
    pub limit: Option<String>,
}

/// The most failure sets of one size kept for one unit: past it, the next size would not fit
/// in memory on an ordinary machine (K = 50 on 200 sites reached 5.7 GiB).
pub const MAX_SETS_PER_SIZE: usize = 1_000_000;

/// The most failure sets `--no-pruning` enumerates for one unit (every combination of every
/// component, a debugging aid).
pub const MAX_UNPRUNED_SETS: u128 = 10_000_000;

/// The components that can fail: servers, sites, site links and enabled connectors.
pub fn component_count(topology: &Topology) -> usize {
    topology.servers.len()
        + topology.sites.len()
        + topology.site_links.len()
        + topology
            .send_connectors
            .iter()
            .filter(|c| c.enabled)
            .count()
}

/// The codes the check looks for: the TLS guarantee, not availability.
const EXPOSURE_CODES: [Code; 4] = [Code::Tls001, Code::Tls002, Code::Tls003, Code::Tls004];

/// One unit of work.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Unit {
    /// The representative of its origin class (the lowest name).
    origin: ServerId,
    /// Every origin server that routes exactly like `origin` (`origin` first).
    class: Vec<ServerId>,
    domain: String,
    level: TlsLevel,
    /// The message size routed: 0, or one byte over a size limit that can change the route.
    size: Bytes,
}

/// Runs the check. `progress` is called with the number of units done so far (from any thread).
pub fn check(
    topology: &Topology,
    options: &CheckOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> CheckResult {
    analyse_with(topology, options, progress, false).result
}

/// A check with what each unit found and read: fixes are re-checked from it, one unit at a
/// time ([`recheck`]).
#[derive(Clone, Debug)]
pub struct Analysis {
    pub result: CheckResult,
    /// The options as run (K capped at the components).
    options: CheckOptions,
    units: Vec<Unit>,
    /// By unit index: what this run checked (every unit, or the shard's).
    done: Vec<(usize, UnitResult)>,
    origins: Vec<Origin>,
    /// Connector rankings seen from servers, for the fix re-checks.
    rankings: std::sync::Arc<incremental::Rankings>,
    /// The units' reads were recorded (else a re-check is a whole check: an empty list of
    /// reads would read as "nothing changed").
    recorded: bool,
}

/// What one unit found, and what its routes read of the connectors.
#[derive(Clone, Debug)]
struct UnitResult {
    exposures: Vec<Exposure>,
    checked: u64,
    limit: Option<String>,
    reads: Vec<crate::route::reads::Read>,
}

/// [`check`], keeping each unit's answer and what its routes read of the connectors, for
/// [`verified_fixes`] (recording the reads costs time and memory `check` alone does not spend).
pub fn analyse(
    topology: &Topology,
    options: &CheckOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Analysis {
    analyse_with(topology, options, progress, true)
}

/// The analysis; `record`: keep each unit's reads (without them [`verified_fixes`] re-checks
/// every unit of every candidate).
pub fn analyse_with(
    topology: &Topology,
    options: &CheckOptions,
    progress: &(dyn Fn(u64) + Sync),
    record: bool,
) -> Analysis {
    // No failure set is larger than the components there are: K is capped, so
    // `--failures 18446744073709551615` checks every set once instead of looping forever.
    let components = component_count(topology);
    let options = CheckOptions {
        failures_max: options.failures_max.min(components),
        ..options.clone()
    };
    let units = units(topology, options.no_pruning);
    let mine: Vec<usize> = (0..units.len())
        .filter(|i| options.shard.is_none_or(|s| i % s.count == s.index))
        .collect();
    let done_count = std::sync::atomic::AtomicU64::new(0);
    let done: Vec<(usize, UnitResult)> = mine
        .par_iter()
        .map(|&i| {
            let result = check_unit(topology, &units[i], &options, record);
            progress(done_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
            (i, result)
        })
        .collect();
    let origins = origins(topology);
    let result = finish(topology, &options, &units, &done, &origins);
    Analysis {
        result,
        options,
        units,
        done,
        origins,
        rankings: std::sync::Arc::default(),
        recorded: record,
    }
}

/// The check's answer from each unit's: exposures of one unit covered by a smaller message's
/// dropped, relabelled per origin, merged.
fn finish(
    topology: &Topology,
    options: &CheckOptions,
    units: &[Unit],
    done: &[(usize, UnitResult)],
    origins: &[Origin],
) -> CheckResult {
    let mut scenarios_checked = 0;
    let mut limit = None;
    let mut by_unit: BTreeMap<(ServerId, &str, TlsLevel), Vec<Exposure>> = BTreeMap::new();
    for (i, r) in done {
        let unit = &units[*i];
        if limit.is_none() {
            limit.clone_from(&r.limit);
        }
        scenarios_checked += r.checked;
        by_unit
            .entry((unit.origin, unit.domain.as_str(), unit.level))
            .or_default()
            .extend(r.exposures.iter().cloned());
    }
    for exposures in by_unit.values_mut() {
        drop_covered_by_smaller_sizes(exposures);
    }
    let exposures = origin_exposures(topology, options.failures_max, units, origins, &by_unit);
    let exposures = merge_exposures(topology, exposures);
    CheckResult {
        failures_max: options.failures_max,
        components: component_count(topology),
        scenarios_checked,
        exposures,
        limit,
    }
}

/// A message's origin for the check: the senders' site and delivery group, and the delivery
/// group of a mailbox recipient that draws the submission elsewhere (`None`: no mailbox
/// recipient outside the sender's own group). Several mailbox recipients are covered: the
/// closest of their groups is one of these (reference §1.10).
#[derive(Clone, Debug)]
struct Origin {
    /// The senders' sites: one for a site's own mail; for mail copied to a group, every site
    /// whose submission picks the same servers.
    sender_sites: Vec<SiteId>,
    copy: Option<GroupId>,
    submission_group: GroupId,
    /// The servers Exchange picks among with nothing failed (the submission's first tier).
    servers: Vec<ServerId>,
    /// The later tiers (the group's servers in other sites, reference §1.5), each picked only
    /// when every server of the earlier tiers is down: those servers are added to the failure set.
    fallbacks: Vec<(Vec<ServerId>, Vec<Component>)>,
}

/// What makes two origins alike: the site for a site's own mail (`None` for copies), the group
/// a copy goes to, the submission group, and its tiers.
type OriginShape = (
    Option<SiteId>,
    Option<GroupId>,
    GroupId,
    Vec<ServerId>,
    Vec<(Vec<ServerId>, Vec<Component>)>,
);

/// Every origin of the organisation: for each (site, delivery group) holding Mailbox servers,
/// its mail with no mailbox recipient elsewhere, and its mail that also goes to a mailbox in
/// each other group (when that changes where the rules run). Copies that every sender site
/// submits alike are one origin with all those sites.
fn origins(topology: &Topology) -> Vec<Origin> {
    let mut senders: BTreeMap<(SiteId, GroupId), ServerId> = BTreeMap::new();
    for s in topology
        .servers_sorted_by_name()
        .filter(|&s| topology.server(s).is_transport())
    {
        let (Some(site), Some(group)) = (topology.server(s).site, topology.group_of(s)) else {
            continue;
        };
        senders.entry((site, group)).or_insert(s);
    }
    let mut shapes: BTreeMap<OriginShape, Vec<SiteId>> = BTreeMap::new();
    for (&(site, _), &sender) in &senders {
        let own = crate::route::submission(topology, sender, &[]);
        let mut push = |copy: Option<GroupId>, sub: &crate::route::Submission| {
            let mut servers = sub.preferred().to_vec();
            servers.sort();
            if servers.is_empty() {
                return;
            }
            let mut down: Vec<Component> = Vec::new();
            let mut fallbacks = Vec::new();
            for tier in &sub.tiers {
                if !down.is_empty() {
                    fallbacks.push((tier.clone(), down.clone()));
                }
                down.extend(tier.iter().map(|&s| Component::Server(s)));
            }
            let key = (
                copy.is_none().then_some(site),
                copy,
                sub.group,
                servers,
                fallbacks,
            );
            let sites = shapes.entry(key).or_default();
            if !sites.contains(&site) {
                sites.push(site);
            }
        };
        let own_servers: BTreeSet<ServerId> = own.preferred().iter().copied().collect();
        push(None, &own);
        for (g, group) in topology.groups() {
            let Some(&first) = group.servers.first() else {
                continue;
            };
            let sub = crate::route::submission(topology, sender, &[first]);
            // The same servers as the sender's own submission, or a subset of them: covered.
            if sub.reason == crate::route::SubmissionReason::NoMailboxRecipient
                || sub.reason == crate::route::SubmissionReason::Exchange2010Sender
                || sub.preferred().iter().all(|s| own_servers.contains(s))
            {
                continue;
            }
            push(Some(g), &sub);
        }
    }
    shapes
        .into_iter()
        .map(
            |((_, copy, submission_group, servers, fallbacks), sender_sites)| Origin {
                sender_sites,
                copy,
                submission_group,
                servers,
                fallbacks,
            },
        )
        .collect()
}

/// Where the exposures of one (representative, domain, requirement) go: one tier of one origin's
/// submission, for the senders' sites a rule can impose that requirement on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    rep: ServerId,
    /// Index into [`Topology::domain_classes`].
    domain: usize,
    level: TlsLevel,
    /// Index into the origins.
    origin: usize,
    /// 0: the first tier; `i`: the origin's fallback `i - 1`.
    tier: usize,
    /// The senders' sites whose mail to the domain a rule can give this requirement.
    sites: std::sync::Arc<[SiteId]>,
}

/// Where each origin's exposures go, but for the representatives: (origin, tier, domain,
/// requirement, senders' sites) in the order the report's exposures are made, with the domain
/// classes they index and the requirements a rule can impose per (site, domain).
#[derive(Clone, Debug)]
struct Slots {
    domains: Vec<String>,
    site_levels: Vec<Vec<Vec<TlsLevel>>>,
    list: Vec<Slot>,
}

/// (origin, tier, domain, requirement, senders' sites): a [`Target`] without its representative.
type Slot = (usize, usize, usize, TlsLevel, std::sync::Arc<[SiteId]>);

/// The requirements a rule can impose, per (site, domain).
fn site_levels(topology: &Topology, domains: &[String]) -> Vec<Vec<Vec<TlsLevel>>> {
    (0..topology.sites.len())
        .map(|s| {
            domains
                .iter()
                .map(|d| levels(topology, SiteId::from_index(s), d))
                .collect()
        })
        .collect()
}

impl Slots {
    fn of(topology: &Topology, origins: &[Origin]) -> Slots {
        let domains = topology.domain_classes();
        let site_levels = site_levels(topology, &domains);
        Slots::with(domains, site_levels, origins)
    }

    fn with(
        domains: Vec<String>,
        site_levels: Vec<Vec<Vec<TlsLevel>>>,
        origins: &[Origin],
    ) -> Slots {
        let mut list = Vec::new();
        for (o, origin) in origins.iter().enumerate() {
            let mut per_domain = Vec::new();
            for (d, _) in domains.iter().enumerate() {
                let mut any: Vec<TlsLevel> = origin
                    .sender_sites
                    .iter()
                    .flat_map(|s| site_levels[s.index()][d].iter().copied())
                    .collect();
                any.sort();
                any.dedup();
                for level in any {
                    let sites: std::sync::Arc<[SiteId]> = origin
                        .sender_sites
                        .iter()
                        .copied()
                        .filter(|s| site_levels[s.index()][d].contains(&level))
                        .collect();
                    per_domain.push((d, level, sites));
                }
            }
            for tier in 0..=origin.fallbacks.len() {
                list.extend(
                    per_domain
                        .iter()
                        .map(|(d, level, sites)| (o, tier, *d, *level, sites.clone())),
                );
            }
        }
        Slots {
            domains,
            site_levels,
            list,
        }
    }

    /// The targets: each slot for each representative of its tier's servers' classes.
    fn targets(&self, units: &[Unit], origins: &[Origin]) -> Vec<Target> {
        // The representative of each origin server's class, by server (a fix's re-check builds
        // this for every candidate whose copy splits a class).
        let representative = representatives(units);
        let mut out = Vec::new();
        let mut reps: (Option<(usize, usize)>, Vec<ServerId>) = (None, Vec::new());
        for (o, tier, domain, level, sites) in &self.list {
            if reps.0 != Some((*o, *tier)) {
                reps = (
                    Some((*o, *tier)),
                    tier_representatives(&origins[*o], *tier, &representative),
                );
            }
            for &rep in &reps.1 {
                out.push(Target {
                    rep,
                    domain: *domain,
                    level: *level,
                    origin: *o,
                    tier: *tier,
                    sites: sites.clone(),
                });
            }
        }
        out
    }
}

/// The representative of each origin server's class, by server index (`None` for a server in
/// no unit's class).
fn representatives(units: &[Unit]) -> Vec<Option<ServerId>> {
    let servers = units
        .iter()
        .flat_map(|u| &u.class)
        .map(|s| s.index() + 1)
        .max()
        .unwrap_or(0);
    let mut representative: Vec<Option<ServerId>> = vec![None; servers];
    for u in units {
        for &s in &u.class {
            representative[s.index()] = Some(u.origin);
        }
    }
    representative
}

/// The representatives of the classes of tier `tier`'s servers, sorted.
fn tier_representatives(
    origin: &Origin,
    tier: usize,
    representative: &[Option<ServerId>],
) -> Vec<ServerId> {
    let mut out: Vec<ServerId> = origin
        .tier(tier)
        .0
        .iter()
        .filter_map(|s| representative.get(s.index()).copied().flatten())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The representatives whose targets may differ between two sets of units over the same
/// origins and slots (a fix's copy that splits origin classes), by server index: those of every
/// origin tier whose representatives differ. Every other representative stands for the same
/// origin tiers, so [`Slots::targets`] gives it the same targets.
fn moved_representatives(before: &[Unit], after: &[Unit], origins: &[Origin]) -> Vec<bool> {
    let (before, after) = (representatives(before), representatives(after));
    let mut moved = vec![false; before.len().max(after.len())];
    for origin in origins {
        for tier in 0..=origin.fallbacks.len() {
            let (was, now) = (
                tier_representatives(origin, tier, &before),
                tier_representatives(origin, tier, &after),
            );
            if was != now {
                for s in was.into_iter().chain(now) {
                    moved[s.index()] = true;
                }
            }
        }
    }
    moved
}

/// Every origin's targets, in the order the report's exposures are made (origin, tier, domain,
/// requirement, representative), with the domain classes they index. A server of a fallback
/// tier is picked only when the earlier tiers' servers are all down.
fn targets(topology: &Topology, units: &[Unit], origins: &[Origin]) -> (Vec<String>, Vec<Target>) {
    let slots = Slots::of(topology, origins);
    let targets = slots.targets(units, origins);
    (slots.domains, targets)
}

impl Origin {
    /// Tier `i`: its servers and the servers down for it to be picked.
    fn tier(&self, i: usize) -> (&[ServerId], &[Component]) {
        if i == 0 {
            (&self.servers, &[])
        } else {
            let (servers, down) = &self.fallbacks[i - 1];
            (servers, down)
        }
    }
}

/// A unit's exposure as its origin sees it through `target`: the failure set with the earlier
/// tiers' servers added, and the first of the senders' sites it leaves up. `None` when that set
/// is larger than K or takes down every sender's site (a failure set that takes down a sender's
/// own site is not that sender's).
fn relabel(
    e: &Exposure,
    target: &Target,
    origins: &[Origin],
    failures_max: usize,
) -> Option<(Vec<Component>, SiteId)> {
    relabel_set(&e.failure_set, target, origins, failures_max)
}

/// [`relabel`] of a failure set.
fn relabel_set(
    set: &[Component],
    target: &Target,
    origins: &[Origin],
    failures_max: usize,
) -> Option<(Vec<Component>, SiteId)> {
    let down = origins[target.origin].tier(target.tier).1;
    let mut failure_set = set.to_vec();
    failure_set.extend(down.iter().copied());
    failure_set.sort();
    failure_set.dedup();
    if failure_set.len() > failures_max {
        return None;
    }
    let first = target
        .sites
        .iter()
        .copied()
        .find(|s| !failure_set.contains(&Component::Site(*s)))?;
    Some((failure_set, first))
}

/// The origin an exposure relabelled through `target` is reported for, `first` the first of
/// the senders' sites it leaves up.
fn target_origin_key(target: &Target, origins: &[Origin], first: SiteId) -> OriginKey {
    let origin = &origins[target.origin];
    match origin.copy {
        Some(g) => OriginKey::CopiesTo(g),
        None => OriginKey::Site(first, origin.submission_group),
    }
}

/// The exposures of every origin: the exposures found from each server the origin's submission
/// may pick, for the requirements a rule can impose on the origin's mail, relabelled with the
/// origin ([`targets`], [`relabel`]).
fn origin_exposures(
    topology: &Topology,
    failures_max: usize,
    units: &[Unit],
    origins: &[Origin],
    by_unit: &BTreeMap<(ServerId, &str, TlsLevel), Vec<Exposure>>,
) -> Vec<Exposure> {
    let (domains, targets) = targets(topology, units, origins);
    let mut out = Vec::new();
    for t in &targets {
        let Some(found) = by_unit.get(&(t.rep, domains[t.domain].as_str(), t.level)) else {
            continue;
        };
        let origin = &origins[t.origin];
        let servers = origin.tier(t.tier).0;
        for e in found {
            let Some((failure_set, _)) = relabel(e, t, origins, failures_max) else {
                continue;
            };
            let senders: Vec<SiteId> = t
                .sites
                .iter()
                .copied()
                .filter(|s| !failure_set.contains(&Component::Site(*s)))
                .collect();
            let mut e = e.clone();
            e.failure_set = failure_set;
            e.origin_sites = senders;
            e.copy_group = origin.copy;
            e.submission_group = origin.submission_group;
            e.origin_servers.retain(|s| servers.contains(s));
            out.push(e);
        }
    }
    out
}

/// Number of units (for a progress bar).
pub fn unit_count(topology: &Topology, shard: Option<Shard>) -> u64 {
    let n = units(topology, false).len();
    match shard {
        Some(s) => ((n + s.count - 1 - s.index) / s.count) as u64,
        None => n as u64,
    }
}

/// Every (origin server, domain class, requirement), in a fixed order.
fn units(topology: &Topology, one_per_origin: bool) -> Vec<Unit> {
    let domains = topology.domain_classes();
    let mut out = Vec::new();
    let classes = if one_per_origin {
        origin_classes(topology)
            .into_iter()
            .flatten()
            .map(|s| vec![s])
            .collect()
    } else {
        origin_classes(topology)
    };
    // The senders whose mail a server may run the rules for are in any site: the levels any
    // site's rules can impose, per domain (independent of the server).
    let levels_by_domain: Vec<Vec<TlsLevel>> = domains
        .iter()
        .map(|domain| {
            let mut any_site: Vec<TlsLevel> = (0..topology.sites.len())
                .flat_map(|s| levels(topology, SiteId::from_index(s), domain))
                .collect();
            any_site.sort();
            any_site.dedup();
            any_site
        })
        .collect();
    let sizes_by_domain: Vec<Vec<Bytes>> =
        domains.iter().map(|d| size_classes(topology, d)).collect();
    for class in classes {
        let origin = class[0];
        for ((domain, any_site), sizes) in
            domains.iter().zip(&levels_by_domain).zip(&sizes_by_domain)
        {
            for &level in any_site {
                for &size in sizes {
                    out.push(Unit {
                        origin,
                        class: class.clone(),
                        domain: domain.clone(),
                        level,
                        size,
                    });
                }
            }
        }
    }
    out
}

/// The message sizes worth routing for `domain`: 0, and one byte over each size limit that can
/// change the route (a connector that serves the domain, a site link), below the organisation's
/// own limits (a larger message is refused at submission and leaks nothing). `route --size`
/// showed a TLS001 that `check`, routing only small messages, missed (issue 15).
fn size_classes(topology: &Topology, domain: &str) -> Vec<Bytes> {
    let config = &topology.transport_config;
    let cap = config
        .max_send_size
        .into_iter()
        .chain(config.max_receive_size)
        .min();
    let mut limits: Vec<u64> = topology
        .path_size_limits(|c| {
            c.enabled
                && c.address_spaces
                    .iter()
                    .any(|a| a.pattern.specificity(domain).is_some())
        })
        .map(|b| b.0)
        .filter(|&l| cap.is_none_or(|c| l < c.0))
        .collect();
    limits.sort_unstable();
    limits.dedup();
    std::iter::once(Bytes(0))
        .chain(limits.into_iter().map(|l| Bytes(l.saturating_add(1))))
        .collect()
}

/// Drops the exposures that a smaller message already shows with a subset of the failures:
/// they say nothing new (the same code, origin, domain and requirement).
fn drop_covered_by_smaller_sizes(exposures: &mut Vec<Exposure>) {
    let covers = |a: &Exposure, b: &Exposure| {
        a.code == b.code
            && a.recipient_domain == b.recipient_domain
            && a.required_tls == b.required_tls
            && a.larger_than < b.larger_than
            && a.failure_set.iter().all(|c| b.failure_set.contains(c))
    };
    let keep: Vec<bool> = exposures
        .iter()
        .map(|b| !exposures.iter().any(|a| covers(a, b)))
        .collect();
    let mut i = 0;
    exposures.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// What makes two origin servers route alike: site, delivery group, sourced connectors, roles.
type ClassKey = (SiteId, Option<GroupId>, Vec<ConnectorId>, Vec<Role>);

/// Origin servers that route alike: same site and delivery group, same connectors they source,
/// same roles. A route never passes through a server of its own class (they are not targets of
/// anything the origin does), so one representative stands for all: a failure set of the
/// representative is a failure set of every member.
pub(crate) fn origin_classes(topology: &Topology) -> Vec<Vec<ServerId>> {
    // Per server, the connectors it sources (one pass over the connectors: this runs for every
    // fix re-checked).
    let mut sourced: Vec<Vec<ConnectorId>> = vec![Vec::new(); topology.servers.len()];
    for (c, connector) in topology.send_connectors.iter().enumerate() {
        for &s in &connector.source_servers {
            let mine = &mut sourced[s.index()];
            if mine.last() != Some(&ConnectorId::from_index(c)) {
                mine.push(ConnectorId::from_index(c));
            }
        }
    }
    let mut classes: BTreeMap<ClassKey, Vec<ServerId>> = BTreeMap::new();
    for origin in topology
        .servers_sorted_by_name()
        .filter(|&s| topology.server(s).is_transport())
    {
        let server = topology.server(origin);
        let site = server.site.expect("Mailbox servers are in a site");
        classes
            .entry((
                site,
                topology.group_of(origin),
                sourced[origin.index()].clone(),
                server.roles.clone(),
            ))
            .or_default()
            .push(origin);
    }
    let mut out: Vec<Vec<ServerId>> = classes.into_values().collect();
    // Sourcing servers are targets of their siblings, and so are Front End servers in a site
    // where a source server of a connector proxies through Front End Transport (the proxy is
    // the sending server's own Front End service or one in its site: the only route to a
    // sibling's Front End service): they stand alone. Elsewhere the Front End role (implicit
    // on every 15.1+ Mailbox server) changes no route and must not split the classes; turning
    // on one connector's proxy splits only its source sites (issue 17: the fix re-check).
    let mut proxied = vec![false; topology.sites.len()];
    for c in topology.send_connectors.iter().filter(|c| c.frontend_proxy) {
        for &s in &c.source_servers {
            if let Some(site) = topology.server(s).site {
                proxied[site.index()] = true;
            }
        }
    }
    let mut split = Vec::new();
    for class in out.drain(..) {
        let special = |&s: &ServerId| {
            (topology.server(s).has_role(Role::Frontend)
                && topology
                    .server(s)
                    .site
                    .is_some_and(|site| proxied[site.index()]))
                || !sourced[s.index()].is_empty()
        };
        if class.iter().any(special) {
            split.extend(class.into_iter().map(|s| vec![s]));
        } else {
            split.push(class);
        }
    }
    split.sort_by_cached_key(|c| crate::model::name_key(&topology.server(c[0]).name));
    split
}

/// The requirements a rule can impose on mail from `site` to `domain`, and `none` (connector
/// settings and Domain Secure apply without any rule).
fn levels(topology: &Topology, site: SiteId, domain: &str) -> Vec<TlsLevel> {
    let can_require = topology.transport_rules.iter().any(|r| {
        r.mode == RuleMode::Enforce
            && r.actions.require_tls
            && rule_can_match(r, site, domain, topology.is_internal_domain(domain))
    });
    // Without a rule's requirement only Domain Secure broken by a proxy (TLS004) can expose
    // mail: the connector's own settings are enforced wherever it sends.
    let domain_secure = topology
        .transport_config
        .tls_send_domain_secure_list
        .iter()
        .any(|d| d == domain)
        && topology
            .send_connectors
            .iter()
            .any(crate::model::SendConnector::domain_secure_effective);
    let mut out = Vec::new();
    if domain_secure {
        out.push(TlsLevel::None);
    }
    if can_require {
        out.push(TlsLevel::EncryptionOnly);
    }
    out
}

/// Whether some message from `site` to `domain` satisfies the rule's conditions and none of
/// its exceptions; `internal`: the domain is inside the organisation for SentToScope (an
/// internal relay domain). Subject words can always be chosen to match, or to avoid a match.
pub fn rule_can_match(
    rule: &crate::model::TransportRule,
    site: SiteId,
    domain: &str,
    internal: bool,
) -> bool {
    use crate::model::Scope;
    let domain_matches = |list: &[String]| {
        domain != OTHER_DOMAIN
            && list
                .iter()
                .any(|d| domain == d || domain.ends_with(&format!(".{d}")))
    };
    let scope_holds = |scope: Scope| match scope {
        Scope::InOrganization => internal,
        Scope::NotInOrganization => !internal,
    };
    let c = &rule.conditions;
    let conditions = (c.from_site.is_empty() || c.from_site.contains(&site))
        && (c.recipient_domain_is.is_empty() || domain_matches(&c.recipient_domain_is))
        && c.sent_to_scope.is_none_or(scope_holds);
    let e = &rule.exceptions;
    let always_excepted = e.from_site.contains(&site)
        || domain_matches(&e.recipient_domain_is)
        || e.sent_to_scope.is_some_and(scope_holds);
    conditions && !always_excepted
}

/// Checks one unit under every failure set of up to K relevant components.
///
/// Without `no_pruning`, failure sets grow one component at a time, and only by components the
/// current route depends on (its support): a component outside the support of the route under
/// F cannot change that route, so a minimal exposing set is always reached this way (each of its
/// proper subsets routes without the exposure, and some missing element is in that route's
/// support, or adding them all would change nothing).
/// Checks one unit: its exposures, the situations routed, and why it stopped short of
/// `failures_max` when a bound stopped it.
fn check_unit(
    topology: &Topology,
    unit: &Unit,
    options: &CheckOptions,
    record: bool,
) -> UnitResult {
    let ((exposures, checked, limit), reads) = if record {
        crate::route::reads::recorded(|| search_unit(topology, unit, options, &|_| false))
    } else {
        (search_unit(topology, unit, options, &|_| false), Vec::new())
    };
    UnitResult {
        exposures,
        checked,
        limit,
        reads,
    }
}

/// [`check_unit`]'s search. `skip(set)`: neither that failure set nor any larger one can give
/// an exposure the caller wants (it must hold for every superset of a set it holds for): the
/// set is neither routed nor grown. The set with no failure is always routed.
fn search_unit(
    topology: &Topology,
    unit: &Unit,
    options: &CheckOptions,
    skip: &dyn Fn(&[Component]) -> bool,
) -> (Vec<Exposure>, u64, Option<String>) {
    let mut ctx = UnitCheck {
        topology,
        unit,
        options,
        found: BTreeMap::new(),
        exposures: Vec::new(),
        checked: 0,
        candidates: BTreeMap::new(),
        selections: std::sync::Arc::new(crate::route::SelectionMemo::new(&unit.domain)),
    };
    let origin = &topology.server(unit.origin).name;
    if options.no_pruning {
        let components = all_components(topology, unit.origin);
        let k = options.failures_max.min(components.len());
        let sets: u128 = (0..=k).map(|s| binomial(components.len(), s)).sum();
        if sets > MAX_UNPRUNED_SETS {
            return (
                Vec::new(),
                0,
                Some(format!(
                    "--no-pruning with --failures {k}: {sets} failure sets of {} components for origin {origin}, more than the {MAX_UNPRUNED_SETS} tlsflow enumerates; drop --no-pruning (the pruned check finds the same minimal sets) or lower --failures",
                    components.len()
                )),
            );
        }
        for size in 0..=k {
            for_each_combination(components.len(), size, &mut |indices| {
                let set: Vec<Component> = indices.iter().map(|&i| components[i]).collect();
                ctx.evaluate(&set);
            });
        }
        return (ctx.exposures, ctx.checked, None);
    }
    // What a set grows by: [`relevant_components`], as a test on each component of a route's
    // support ([`counted`]: a set of every component, built for each unit grown, was a third of
    // a fix's re-check), and the list itself, built on first use, for a route with no known
    // support.
    let origin_site = topology.server(unit.origin).site;
    let relevant = |c: &Component| counted(topology, unit.origin, origin_site, *c);
    let mut every: Option<Vec<Component>> = None;
    let mut seen: BTreeSet<Vec<Component>> = BTreeSet::new();
    let mut layer: Vec<Vec<Component>> = vec![Vec::new()];
    for size in 0..=options.failures_max {
        // No set left to grow: no larger minimal set can exist.
        if layer.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for set in &layer {
            let skipped = skip(set);
            if size > 0 && skipped {
                continue;
            }
            let support = ctx.evaluate(set);
            // A skipped set (only the one with no failure is routed) is not grown: `skip` holds
            // for every larger set too.
            if size == options.failures_max || skipped {
                continue;
            }
            // Either iterator, on the stack: a box per grown set was an allocation per set.
            let (mut from_support, mut from_every);
            let grow_by: &mut dyn Iterator<Item = &Component> = if let Some(support) = &support {
                from_support = support.iter().filter(|c| relevant(c));
                &mut from_support
            } else {
                from_every = every
                    .get_or_insert_with(|| {
                        relevant_components(topology, unit.origin, options.failures_max)
                    })
                    .iter();
                &mut from_every
            };
            for c in grow_by {
                if set.contains(c) {
                    continue;
                }
                let mut bigger = set.clone();
                bigger.push(*c);
                bigger.sort();
                if seen.insert(bigger.clone()) {
                    next.push(bigger);
                }
            }
            if next.len() > MAX_SETS_PER_SIZE {
                return (
                    ctx.exposures,
                    ctx.checked,
                    Some(format!(
                        "--failures {}: origin {origin} to {} has more than {MAX_SETS_PER_SIZE} failure sets of size {} that could change its route, more than tlsflow holds; a check up to --failures {size} fits",
                        options.failures_max,
                        unit.domain,
                        size + 1
                    )),
                );
            }
        }
        next.sort();
        layer = next;
    }
    (ctx.exposures, ctx.checked, None)
}

/// C(n, k), saturating.
fn binomial(n: usize, k: usize) -> u128 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut out: u128 = 1;
    for i in 0..k {
        out = out.saturating_mul((n - i) as u128) / (i as u128 + 1);
    }
    out
}

/// The state of one unit's check.
struct UnitCheck<'a> {
    topology: &'a Topology,
    unit: &'a Unit,
    options: &'a CheckOptions,
    /// Failure sets already found per code, for minimality.
    found: BTreeMap<Code, Vec<Vec<Component>>>,
    exposures: Vec<Exposure>,
    checked: u64,
    /// Per routing server: the connectors that are candidates there for this unit's domain and
    /// size (the support of a route that did not leave; the same servers recur across sets).
    candidates: BTreeMap<ServerId, Vec<ConnectorId>>,
    /// Connector selections toward the unit's domain, shared by the failure sets it tries.
    selections: std::sync::Arc<crate::route::SelectionMemo>,
}

impl UnitCheck<'_> {
    /// Routes under `set`, records its exposures if minimal, and returns the support of the
    /// route (`None`: everything relevant).
    fn evaluate(&mut self, set: &[Component]) -> Option<BTreeSet<Component>> {
        let (topology, unit) = (self.topology, self.unit);
        self.checked += 1;
        let recipient = format!("someone@{}", unit.domain);
        let faults = Faults::with_network(set.iter().copied().collect(), &topology.site_graph)
            .with_selections(self.selections.clone());
        let request = Request {
            sender: Sender::Server(unit.origin),
            sender_text: topology.server(unit.origin).name.clone(),
            recipient: recipient.clone(),
            subject: String::new(),
            size: unit.size,
            at: self.options.at,
            assume_required: Some(unit.level),
            message_recipients: Vec::new(),
        };
        let Ok(e) = policy::explain(topology, &request, &faults) else {
            return Some(BTreeSet::new());
        };
        if e.origin != unit.origin {
            return Some(BTreeSet::new());
        }
        let class = if unit.domain == OTHER_DOMAIN {
            "*"
        } else {
            unit.domain.as_str()
        };
        for f in e
            .findings
            .iter()
            .filter(|f| EXPOSURE_CODES.contains(&f.code))
        {
            let sets = self.found.entry(f.code).or_default();
            if sets.iter().any(|s| s.iter().all(|c| set.contains(c))) {
                continue;
            }
            sets.push(set.to_vec());
            let mut hops: Vec<String> = e
                .steps
                .iter()
                .map(|s| {
                    format!(
                        "{} -> {} ({})",
                        topology.server(s.hop.from).name,
                        topology.server(s.hop.to).name,
                        s.hop.kind.as_str()
                    )
                })
                .collect();
            if let Some((_, from, ext)) = &e.external
                && let crate::policy::ExternalResult::Delivered { host, .. } = &ext.result
            {
                hops.push(format!(
                    "{} -> {host} (external)",
                    topology.server(*from).name
                ));
            }
            self.exposures.push(Exposure {
                origin_sites: vec![e.origin_site],
                copy_group: None,
                submission_group: topology
                    .group_of(unit.origin)
                    .expect("origins are Mailbox servers"),
                origin_servers: unit.class.clone(),
                recipient_domain: class.to_owned(),
                required_tls: unit.level,
                code: f.code,
                failure_set: set.to_vec(),
                connector: e.external.as_ref().map(|(c, _, _)| *c),
                lost_at: f.lost_at.clone(),
                hops: hops.into(),
                message: f
                    .message
                    .replace(&recipient, &format!("mail to {class}"))
                    .into(),
                larger_than: unit.size.0.checked_sub(1).map(Bytes),
            });
        }
        // `explain` noted what it read of the connectors; the support notes its own reads.
        let support = support(topology, &e, &faults, &mut self.candidates);
        if support.is_none() {
            note(Read::AllComponents);
        }
        support
    }
}

/// The components whose failure could change this route: its connector, the servers it passes
/// (and their sites), and the sites and links of a path that connects each hop.
///
/// A route that did not reach the Internet (queued at a point of failure) stays so under more
/// server, site or link failures — they only take reachability away, and routing decisions do
/// not see them — so only disabling a connector (which changes selection) can change it. `None`
/// when no witness path is known: then anything relevant may matter.
fn support(
    topology: &Topology,
    e: &policy::Explanation,
    faults: &Faults,
    candidates: &mut BTreeMap<ServerId, Vec<ConnectorId>>,
) -> Option<BTreeSet<Component>> {
    let Some((connector, _, _)) = e.external.as_ref() else {
        // Disabling a connector changes a selection only where it was a candidate: matching,
        // and visible from there (scoping). The selections of this route ran on its origin and
        // on each server it reached.
        let routing = std::iter::once(e.route.origin).chain(e.route.hops.iter().map(|h| h.to));
        // Gathered, then built into a set in bulk (a hundred candidates per server inserted
        // one by one were 15 % of `check --failures 2` on 1,000 sites, issue 18).
        let mut out = Vec::new();
        for at in routing {
            let Some(site) = topology.server(at).site else {
                continue;
            };
            note(Read::Selection(at));
            let here = candidates.entry(at).or_insert_with(|| {
                (0..topology.send_connectors.len())
                    .map(ConnectorId::from_index)
                    .filter(|&c| crate::route::is_candidate(topology, site, c, &e.recipient_domain))
                    .collect()
            });
            out.extend(here.iter().map(|&c| Component::Connector(c)));
        }
        return Some(out.into_iter().collect());
    };
    // Gathered in a vector and built into a set at once (sorted, in bulk): inserting a long
    // path's sites and links one by one dominated `check` on a 500-site chain (issue 15).
    let mut out = vec![Component::Connector(*connector)];
    // The origin may have chosen another connector than the one the mail finally left by (a
    // hub site re-selects): disabling it changes the route too.
    if let Some(selected) = &e.route.selection {
        out.push(Component::Connector(selected.connector));
    }
    for step in &e.steps {
        for server in [step.hop.from, step.hop.to] {
            out.push(Component::Server(server));
            let s = topology.server(server);
            if let Some(site) = s.site.or(s.subscribed_site) {
                out.push(Component::Site(site));
            }
        }
        let site_of = |x: ServerId| {
            let s = topology.server(x);
            s.site.or(s.subscribed_site)
        };
        if let (Some(a), Some(b)) = (site_of(step.hop.from), site_of(step.hop.to))
            && a != b
        {
            // The hop could connect: a path of usable sites and links is its witness; failing
            // anything off it leaves the connection possible.
            let intact = topology.site_graph.least_cost_path(a, b).filter(|p| {
                !p.links
                    .iter()
                    .any(|l| faults.down.contains(&Component::Link(*l)))
                    && !p
                        .sites
                        .iter()
                        .any(|s| faults.down.contains(&Component::Site(*s)))
            });
            let (sites, links) = match intact {
                Some(p) => (p.sites.clone(), p.links.clone()),
                None => topology.site_graph.witness_path(
                    a,
                    b,
                    |x| faults.site_up(x),
                    |l| faults.link_up(l),
                )?,
            };
            out.extend(links.iter().map(|&l| Component::Link(l)));
            out.extend(sites.iter().map(|&s| Component::Site(s)));
        }
    }
    Some(out.into_iter().collect())
}

/// Calls `f` with every `k`-subset of `0..n`, in lexicographic order.
fn for_each_combination(n: usize, k: usize, f: &mut dyn FnMut(&[usize])) {
    let mut indices: Vec<usize> = (0..k).collect();
    if k > n {
        return;
    }
    loop {
        f(&indices);
        // The rightmost index that can still move.
        let Some(i) = (0..k).rev().find(|&i| indices[i] < n - k + i) else {
            return;
        };
        indices[i] += 1;
        for j in i + 1..k {
            indices[j] = indices[j - 1] + 1;
        }
    }
}

/// Every component except the origin, its site and the disabled connectors.
fn all_components(topology: &Topology, origin: ServerId) -> Vec<Component> {
    let origin_site = topology.server(origin).site;
    let mut out: Vec<Component> = (0..topology.servers.len())
        .map(|s| Component::Server(ServerId::from_index(s)))
        .chain((0..topology.sites.len()).map(|s| Component::Site(SiteId::from_index(s))))
        .chain(
            (0..topology.site_links.len())
                .map(|l| Component::Link(crate::model::LinkId::from_index(l))),
        )
        .chain(
            (0..topology.send_connectors.len())
                .map(|c| Component::Connector(ConnectorId::from_index(c))),
        )
        .filter(|&c| counted(topology, origin, origin_site, c))
        .collect();
    out.sort();
    out
}

/// Whether [`all_components`] holds `c`: the test `search_unit` grows a failure set by,
/// without building the list.
fn counted(
    topology: &Topology,
    origin: ServerId,
    origin_site: Option<SiteId>,
    c: Component,
) -> bool {
    match c {
        Component::Server(s) => s != origin,
        Component::Site(s) => Some(s) != origin_site,
        Component::Link(_) => true,
        Component::Connector(c) => topology.connector(c).enabled,
    }
}

/// The components that can change the route from `origin` to `domain` under up to `k` failures:
/// a superset is enough, since each route's support drives the search (a failure set grows
/// only by what its route passes). Every component is one. An earlier closure of the sites
/// under least-cost paths, kept for K = 1, cost O(sites² × path) per unit: a 500-site chain
/// spent a minute in it (issue 15; issue 18 measured 275 s -> 1.7 s on 1,000 sites), for a
/// subset that could only leave out what the support would have tried.
///
/// With K > 0: [`all_components`]; `search_unit` tests a component for it ([`counted`])
/// without building the list.
fn relevant_components(topology: &Topology, origin: ServerId, k: usize) -> Vec<Component> {
    if k == 0 {
        return Vec::new();
    }
    all_components(topology, origin)
}

/// Who an exposure concerns: the senders of one site (mail with no mailbox recipient in another
/// delivery group), or every site's mail that also goes to a mailbox in one group (where the
/// sender's site does not matter: the rules run in that group).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OriginKey {
    /// A site's mail submitted in this (its own) delivery group.
    Site(SiteId, GroupId),
    CopiesTo(GroupId),
}

impl Exposure {
    /// The first of `origin_sites` (name order, once merged).
    pub fn origin_site(&self) -> SiteId {
        self.origin_sites[0]
    }

    pub fn origin_key(&self) -> OriginKey {
        match self.copy_group {
            Some(g) => OriginKey::CopiesTo(g),
            None => OriginKey::Site(self.origin_site(), self.submission_group),
        }
    }

    /// The origin in words: "Branch", "Primary (mailboxes in DAG DAG1)", "HQ (mailboxes on
    /// Exchange 2010)", "HQ, Paris mail that also goes to a mailbox in Branch".
    pub fn origin_text(&self, topology: &Topology) -> String {
        let sites: Vec<&str> = self
            .origin_sites
            .iter()
            .map(|&s| topology.site(s).name.as_str())
            .collect();
        let group = topology.group(self.submission_group);
        match self.copy_group {
            None => match group.kind {
                crate::model::GroupKind::Dag(_) if group.sites.len() > 1 => format!(
                    "{} (mailboxes in {})",
                    sites.join(", "),
                    topology.group_name(self.submission_group)
                ),
                crate::model::GroupKind::Site { major: 14, .. } => {
                    format!("{} (mailboxes on Exchange 2010)", sites.join(", "))
                }
                _ => sites.join(", "),
            },
            Some(g) => format!(
                "{} mail that also goes to a mailbox in {}",
                sites.join(", "),
                topology.group_name(g)
            ),
        }
    }
}

/// Joins per-origin exposures: the same (origin, domain, requirement, code, failure set) from
/// several origin servers (or, for mail copied to a group, several senders' sites) becomes one,
/// and a failure set that is a superset of another for the same (origin, domain, requirement,
/// code) is dropped (minimality across origins).
pub fn merge_exposures(topology: &Topology, exposures: Vec<Exposure>) -> Vec<Exposure> {
    let ranks = NameRanks::of(topology, &exposures);
    // Grouped by (origin, domain, requirement, code, failure set), each group in input order.
    let mut order: Vec<usize> = (0..exposures.len()).collect();
    order.sort_by(|&a, &b| merge_key(&exposures[a]).cmp(&merge_key(&exposures[b])));
    let mut slots: Vec<Option<Exposure>> = exposures.into_iter().map(Some).collect();
    let mut merged: Vec<Exposure> = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let mut existing = slots[order[i]].take().expect("each once");
        let mut j = i + 1;
        while j < order.len() {
            let e = slots[order[j]].as_ref().expect("each once");
            if merge_key(e) != merge_key(&existing) {
                break;
            }
            let e = slots[order[j]].take().expect("each once");
            // The details (hops, where lost) are those of the lowest-named origin server, so
            // that the order of the work (threads, shards) cannot change the report.
            let name = |x: &Exposure| ranks.server[x.origin_servers[0].index()];
            let replace = !e.origin_servers.is_empty()
                && (existing.origin_servers.is_empty() || name(&e) < name(&existing));
            let mut servers = std::mem::take(&mut existing.origin_servers);
            let mut sites = std::mem::take(&mut existing.origin_sites);
            for &s in &e.origin_servers {
                if !servers.contains(&s) {
                    servers.push(s);
                }
            }
            for &s in &e.origin_sites {
                if !sites.contains(&s) {
                    sites.push(s);
                }
            }
            if replace {
                existing = e;
            }
            existing.origin_servers = servers;
            existing.origin_sites = sites;
            j += 1;
        }
        merged.push(existing);
        i = j;
    }
    // Minimality: within each run of equal (origin, domain, requirement, code), drop a failure
    // set that holds a smaller one (a scan of every pair took 8 M comparisons on 2,800
    // exposures, for each fix re-checked).
    let mut out: Vec<Exposure> = Vec::with_capacity(merged.len());
    let prefix = |e: &Exposure| {
        (
            e.origin_key(),
            e.recipient_domain.clone(),
            e.required_tls,
            e.code,
        )
    };
    let mut start = 0;
    while start < merged.len() {
        let p = prefix(&merged[start]);
        let mut end = start + 1;
        while end < merged.len() && prefix(&merged[end]) == p {
            end += 1;
        }
        let group = &merged[start..end];
        for (i, e) in group.iter().enumerate() {
            let covered = group.iter().enumerate().any(|(j, o)| {
                j != i
                    && o.failure_set.len() < e.failure_set.len()
                    && o.failure_set.iter().all(|c| e.failure_set.contains(c))
            });
            if !covered {
                out.push(e.clone());
            }
        }
        start = end;
    }
    for e in &mut out {
        e.origin_servers.sort_by_key(|&s| ranks.server[s.index()]);
        e.origin_sites.sort_by_key(|&s| ranks.site[s.index()]);
    }
    out.sort_by_cached_key(|e| {
        (
            std::cmp::Reverse(e.code.severity()),
            e.copy_group.map(|g| ranks.group[g.index()]),
            ranks.site[e.origin_site().index()],
            e.recipient_domain.clone(),
            e.required_tls,
            e.code,
            e.failure_set.len(),
            e.failure_set
                .iter()
                .map(|c| ranks.component[c])
                .collect::<Vec<_>>(),
        )
    });
    out
}

/// What merges two exposures: origin, domain, requirement, code and failure set.
fn merge_key(e: &Exposure) -> (OriginKey, &str, TlsLevel, Code, &[Component]) {
    (
        e.origin_key(),
        e.recipient_domain.as_str(),
        e.required_tls,
        e.code,
        e.failure_set.as_slice(),
    )
}

/// The order of names the report sorts by (case-insensitive, [`crate::model::name_key`]), as
/// ranks computed once: sorting thousands of exposures compared freshly lowered names.
struct NameRanks {
    server: Vec<u32>,
    site: Vec<u32>,
    group: Vec<u32>,
    /// Components by their shown name (`server:NAME`, ...), as written, of those in failure sets.
    component: BTreeMap<Component, u32>,
}

impl NameRanks {
    fn of(topology: &Topology, exposures: &[Exposure]) -> NameRanks {
        fn ranks<K: Ord + Clone>(keys: &[K]) -> Vec<u32> {
            let mut sorted = keys.to_vec();
            sorted.sort();
            sorted.dedup();
            keys.iter()
                .map(|k| u32::try_from(sorted.binary_search(k).expect("present")).expect("fits"))
                .collect()
        }
        let server = ranks(
            &topology
                .servers
                .iter()
                .map(|s| crate::model::name_key(&s.name))
                .collect::<Vec<_>>(),
        );
        let site = ranks(
            &topology
                .sites
                .iter()
                .map(|s| crate::model::name_key(&s.name))
                .collect::<Vec<_>>(),
        );
        let group = ranks(
            &(0..topology.groups().count())
                .map(|g| crate::model::name_key(&topology.group_name(GroupId::from_index(g))))
                .collect::<Vec<_>>(),
        );
        let components: Vec<Component> = exposures
            .iter()
            .flat_map(|e| e.failure_set.iter().copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let names = ranks(
            &components
                .iter()
                .map(|&c| crate::model::fault::Named(topology, c).to_string())
                .collect::<Vec<_>>(),
        );
        NameRanks {
            server,
            site,
            group,
            component: components.into_iter().zip(names).collect(),
        }
    }
}
