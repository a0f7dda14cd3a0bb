//! The check of a topology that differs from an analysed one in its Send connectors only, unit by
//! unit (issue 17): a unit whose recorded reads ([`crate::route::reads`]) would read the same
//! there keeps its answer; every other unit is checked again. The result is the whole check of
//! the changed topology, exactly (`tests/it/properties.rs` and `tests/it/check.rs` compare the
//! two on random, generated and shipped organisations, and show that forgetting one kind of
//! read makes them differ).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

// The maps here are asked once per unit or read of every fix re-checked: Fx hashing, not SipHash
// (their keys are the analysed topology's own units and reads).
use rustc_hash::FxHashMap as HashMap;

use rayon::prelude::*;

use crate::model::{Bytes, ConnectorId, Role, SendConnector, ServerId, SiteId, Topology};
use crate::route::reads::Read;

use super::{
    Analysis, CheckResult, EXPOSURE_CODES, Exposure, OriginKey, Slots, Target, UnitResult, check,
    check_unit, component_count, finish, moved_representatives, relabel, relabel_set, search_unit,
    site_levels, target_origin_key, units,
};
use crate::model::{Code, Component, OTHER_DOMAIN, TlsLevel};

/// What a changed copy of a topology may differ in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Send connectors only: some changed, some added at the end, none removed.
    Connectors,
    /// Anything (a profile, a server): the copy is checked whole.
    Everything,
}

/// A kind of read the incremental check may be told to forget, to show that its tests catch it
/// (a mutation test: the comparison with a full check must fail).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forget {
    /// Ignore the fallback to a connector's source servers in its other sites.
    Sources,
    /// Ignore changes to the connectors' views from a Transport service.
    Selection,
    /// Ignore that a unit not checked again still gives today's exposures (no failure) it gave.
    TodayElsewhere,
    /// In a what-if's verdict (a profile, every unit searched), ignore the exposures with no
    /// failure the units give.
    WhatIfToday,
    /// Skip a unit whose every failure set is covered even when it gives, with no failure, an
    /// exposure of an origin that proposed the fix.
    Proposers,
}

/// The check of `after`, which differs from the analysed `before` as `scope` says, reusing the
/// answer of every unit whose reads are unchanged. Exactly [`check`] of `after`.
pub fn recheck(
    before: &Topology,
    analysis: &Analysis,
    after: &Topology,
    scope: Scope,
) -> CheckResult {
    recheck_forgetting(before, analysis, after, scope, None)
}

/// [`recheck`], leaving out one kind of read when `forget` says so (for the mutation test).
#[doc(hidden)]
pub fn recheck_forgetting(
    before: &Topology,
    analysis: &Analysis,
    after: &Topology,
    scope: Scope,
    forget: Option<Forget>,
) -> CheckResult {
    let options = &analysis.options;
    if !incremental_applies(before, analysis, after, scope) {
        return check(after, options, &|_| {});
    }
    let answers = Answers::of(before, analysis);
    let reuse = Reuse::new(before, analysis, &answers, after, forget);
    let units = units(after, false);
    let done: Vec<(usize, UnitResult)> = units
        .par_iter()
        .enumerate()
        .map(|(i, unit)| {
            let reused = reuse.of(unit);
            let result = match reused {
                // The same representative with the same reads: the same search, the same
                // answer; only the class it stands for may have split.
                Some(r) => UnitResult {
                    exposures: r
                        .exposures
                        .iter()
                        .map(|e| super::Exposure {
                            origin_servers: unit.class.clone(),
                            ..e.clone()
                        })
                        .collect(),
                    checked: r.checked,
                    limit: r.limit.clone(),
                    reads: Vec::new(),
                },
                None => check_unit(after, unit, options, false),
            };
            (i, result)
        })
        .collect();
    // Connectors do not change where a message is submitted: the origins are the same.
    finish(after, options, &units, &done, &analysis.origins)
}

/// Whether a re-check of `after` can reuse the analysis unit by unit: connectors changed only,
/// none removed, every unit analysed with its reads, and the same K.
fn incremental_applies(
    before: &Topology,
    analysis: &Analysis,
    after: &Topology,
    scope: Scope,
) -> bool {
    let options = &analysis.options;
    let whole = analysis.done.len() == analysis.units.len();
    let k_same = options.failures_max == options.failures_max.min(component_count(after));
    scope == Scope::Connectors
        && analysis.recorded
        && whole
        && !options.no_pruning
        && k_same
        && after.send_connectors.len() >= before.send_connectors.len()
}

/// What `check` merges exposures by, and a fix's verdict compares them by: origin, domain,
/// requirement, code.
pub(super) type Prefix<'a> = (
    OriginKey,
    &'a str,
    crate::model::TlsLevel,
    crate::model::Code,
);

/// An owned [`Prefix`].
pub(super) type PrefixOwned = (
    OriginKey,
    String,
    crate::model::TlsLevel,
    crate::model::Code,
);

fn owned(p: Prefix<'_>) -> PrefixOwned {
    (p.0, p.1.to_owned(), p.2, p.3)
}

/// Every origin's [`Target`]s of a topology, by (representative, domain, requirement).
struct Targets {
    domains: Vec<String>,
    list: Vec<Target>,
    index: HashMap<(ServerId, usize, crate::model::TlsLevel), Vec<usize>>,
}

impl Targets {
    fn of(slots: &Slots, units: &[super::Unit], origins: &[super::Origin]) -> Targets {
        let (domains, list) = (slots.domains.clone(), slots.targets(units, origins));
        let mut index: HashMap<_, Vec<usize>> = HashMap::default();
        for (i, t) in list.iter().enumerate() {
            index.entry((t.rep, t.domain, t.level)).or_default().push(i);
        }
        Targets {
            domains,
            list,
            index,
        }
    }

    /// Where the exposures of `unit` go.
    fn of_unit(&self, unit: &super::Unit) -> impl Iterator<Item = &Target> {
        self.domains
            .binary_search(&unit.domain)
            .ok()
            .and_then(|d| self.index.get(&(unit.origin, d, unit.level)))
            .into_iter()
            .flatten()
            .map(|&i| &self.list[i])
    }

    /// Calls `f` with each of `exposures` of `unit` as each origin it concerns sees it (prefix
    /// and failure set), exactly as `check` relabels it; false as soon as `f` is.
    fn each<'e>(
        &self,
        unit: &super::Unit,
        exposures: &'e [Exposure],
        origins: &[super::Origin],
        k: usize,
        f: &mut dyn FnMut(Prefix<'e>, &[crate::model::Component]) -> bool,
    ) -> bool {
        for e in exposures {
            for target in self.of_unit(unit) {
                let Some((failure_set, first)) = relabel(e, target, origins, k) else {
                    continue;
                };
                let prefix = (
                    target_origin_key(target, origins, first),
                    e.recipient_domain.as_str(),
                    e.required_tls,
                    e.code,
                );
                if !f(prefix, &failure_set) {
                    return false;
                }
            }
        }
        true
    }
}

/// Where each unit's exposures go in an analysed topology, and which of today's exposures (no
/// failure) each unit gives: built once, for the verdicts of every candidate fix
/// ([`verdict`]).
pub(super) struct Contributions<'a> {
    analysis: &'a Analysis,
    /// The analysed topology's slots: a changed copy with the same domain classes and
    /// requirements has the same.
    slots: Slots,
    targets: Targets,
    /// Per analysed answer (as [`Answers`] numbers them): the exposures with no failure its
    /// unit gives, as prefixes.
    today: Vec<Vec<PrefixOwned>>,
    /// The analysed topology's terms of [`possible_codes`] ([`connector_codes`]), filled on
    /// first use and shared by every candidate: a copy's unchanged connectors have the same.
    codes: ConnectorCodes,
    answers: Answers<'a>,
}

/// Per connector, its [`connector_codes`], by requirement and domain.
type ConnectorCodes = ByLevelAndDomain<Arc<[Vec<Code>]>>;

/// Values by (requirement, domain), shared by threads: by requirement, then domain, looked up
/// by `&str` without an owned key.
struct ByLevelAndDomain<T>(Mutex<HashMap<TlsLevel, HashMap<String, T>>>);

impl<T: Clone> ByLevelAndDomain<T> {
    fn new() -> ByLevelAndDomain<T> {
        ByLevelAndDomain(Mutex::default())
    }

    /// The value for (`level`, `domain`), made by `make` the first time it is asked for.
    fn get_or_make(&self, level: TlsLevel, domain: &str, make: impl FnOnce() -> T) -> T {
        let known =
            |map: &HashMap<TlsLevel, HashMap<String, T>>| map.get(&level)?.get(domain).cloned();
        if let Some(value) = known(&self.0.lock().expect("not poisoned")) {
            return value;
        }
        let value = make();
        self.0
            .lock()
            .expect("not poisoned")
            .entry(level)
            .or_default()
            .insert(domain.to_owned(), value.clone());
        value
    }
}

impl<'a> Contributions<'a> {
    pub(super) fn of(topology: &Topology, analysis: &'a Analysis) -> Contributions<'a> {
        let slots = Slots::of(topology, &analysis.origins);
        let targets = Targets::of(&slots, &analysis.units, &analysis.origins);
        let (origins, k) = (&analysis.origins, analysis.options.failures_max);
        let answers = Answers::of(topology, analysis);
        let today = answers
            .results
            .iter()
            .zip(&answers.units)
            .map(|(r, unit)| {
                let mut mine = Vec::new();
                targets.each(unit, &r.exposures, origins, k, &mut |p, failure_set| {
                    if failure_set.is_empty() {
                        mine.push(owned(p));
                    }
                    true
                });
                mine
            })
            .collect();
        Contributions {
            analysis,
            slots,
            targets,
            today,
            codes: ByLevelAndDomain::new(),
            answers,
        }
    }

    /// Every connector's [`connector_codes`] in the analysed `topology`.
    fn analysed_codes(
        &self,
        topology: &Topology,
        domain: &str,
        level: TlsLevel,
        at: crate::model::Timestamp,
    ) -> Arc<[Vec<Code>]> {
        self.codes.get_or_make(level, domain, || {
            (0..topology.send_connectors.len())
                .map(|c| connector_codes(topology, ConnectorId::from_index(c), domain, level, at))
                .collect()
        })
    }
}

/// Every exposure code a route of mail to `domain` with requirement `level` can end in, in
/// `topology`: the findings ([`crate::policy::judge`]) of the external hop of every Send
/// connector, with every level the requirement may still have when it leaves, through a Front
/// End proxy or not, lost on the way or not. A bound, not a route: routing decides which of
/// them occur, so a code missing here occurs on no route.
#[doc(hidden)]
pub fn possible_codes(
    topology: &Topology,
    domain: &str,
    level: TlsLevel,
    at: crate::model::Timestamp,
) -> Vec<Code> {
    let mut out: Vec<Code> = (0..topology.send_connectors.len())
        .flat_map(|c| connector_codes(topology, ConnectorId::from_index(c), domain, level, at))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One connector's term of [`possible_codes`]: the codes its external hop can give, sorted. It
/// reads the connector, the profile, the transport config and the external domains, never the
/// other connectors, so a copy that changed other connectors has the same term.
fn connector_codes(
    topology: &Topology,
    c: ConnectorId,
    domain: &str,
    level: TlsLevel,
    at: crate::model::Timestamp,
) -> Vec<Code> {
    let mut out: Vec<Code> = Vec::new();
    let lost = crate::policy::LostAt {
        from: String::new(),
        to: String::new(),
        kind: "",
        because: String::new(),
        evidence: crate::model::profile::Evidence::Documented,
        source: String::new(),
    };
    let levels = [
        TlsLevel::None,
        TlsLevel::EncryptionOnly,
        TlsLevel::CertificateValidation,
        TlsLevel::DomainValidation,
    ];
    // The sending server does not change the external hop (`external_hop` does not read it);
    // should it ever, this bound must try every server that can send for the connector.
    let Some(from) = topology.servers_sorted_by_name().next() else {
        return out;
    };
    for carried in levels {
        for via_frontend in [false, true] {
            let external = crate::policy::external_hop(
                topology,
                c,
                from,
                domain,
                carried,
                via_frontend,
                at,
                crate::policy::MxOrder::Worst,
            );
            for lost_at in [None, Some(&lost)] {
                let findings = crate::policy::judge(&crate::policy::FindingInput {
                    recipient: domain,
                    rule_required: level,
                    rule_name: None,
                    lost_at,
                    external: Some(&external),
                    unreachable_at: None,
                    connector: None,
                    sender_server: None,
                });
                out.extend(
                    findings
                        .iter()
                        .map(|f| f.code)
                        .filter(|c| EXPOSURE_CODES.contains(c)),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// What a fix's verdict needs of the check of its changed copy `after`, without making that
/// check's whole report: whether each of its exposures has one of the analysis with the same
/// prefix and a subset of its failures (`covered` says), and the prefixes of its exposures
/// with no failure that `wanted` asks about (by origin, domain and requirement: those of the
/// exposures that proposed the fix, whether it removes them), exactly as the whole check's
/// exposures give them.
///
/// The check's merge keeps, for each prefix, the minimal failure sets of the relabelled
/// exposures of all its units (a larger message's exposure is dropped only for a smaller one's
/// with a subset of its failures). So every exposure of `after` is covered exactly when every
/// relabelled exposure of every unit is, and a prefix has an exposure with no failure exactly
/// when one of its units gives one. A unit whose reads are unchanged has the same exposures;
/// when its targets are the same too, it gives the same relabelled exposures as in the
/// analysis, which the analysis's own exposures cover. So only the units checked again, or
/// whose targets changed (a server class split), are relabelled, and the first uncovered
/// exposure ends the re-check.
///
/// A unit checked again does not route a failure set (nor grow it) when, for each origin it
/// concerns, every code a route of its domain and requirement can end in
/// ([`possible_codes`]) already has an exposure in the analysis with a subset of that set's
/// failures: nothing that set or a larger one finds can be uncovered. Only the set with no
/// failure is always routed (today's exposures), unless the set with no failure is skipped too
/// and none of the unit's origins is one `wanted` asks about: then the unit cannot change
/// the verdict and is not searched at all. This is what makes a fix that adds a site to a
/// connector cheap: the origins whose fallback it changes relay today, their exposure with no
/// failure covers all they can find under failures, and only the origins of the exposures that
/// proposed the fix are routed.
///
/// A copy changed in anything else (`Scope::Everything`: a profile what-if) has no unit's answer
/// reused: its origins, units and targets are its own, and every unit is searched, with the same
/// skipping. That is still far less than the copy's whole check, whose report it never makes.
///
/// `None` when the re-check cannot be incremental or the domain classes changed: the caller
/// checks the copy whole.
pub(super) fn verdict(
    before: &Topology,
    contributions: &Contributions<'_>,
    after: &Topology,
    scope: Scope,
    forget: Option<Forget>,
    covered: &(dyn Fn(&Prefix<'_>, &[crate::model::Component]) -> bool + Sync),
    wanted: &(dyn Fn(&OriginKey, &str, TlsLevel) -> bool + Sync),
) -> Option<(bool, BTreeSet<PrefixOwned>)> {
    let analysis = contributions.analysis;
    let options = &analysis.options;
    let whole = scope == Scope::Everything;
    if whole {
        // The same K as a check of the copy: the components it counts are the same. An
        // unpruned analysis asked for every set of every origin server: its what-ifs too.
        let mutation =
            forget.is_some_and(|f| !matches!(f, Forget::WhatIfToday | Forget::Proposers));
        if component_count(after) != component_count(before) || options.no_pruning || mutation {
            return None;
        }
    } else if !incremental_applies(before, analysis, after, scope) {
        return None;
    }
    let units = units(after, false);
    let domains = after.domain_classes();
    if !whole && domains != contributions.slots.domains {
        return None;
    }
    let own_origins;
    let origins = if whole {
        own_origins = super::origins(after);
        &own_origins
    } else {
        &analysis.origins
    };
    let levels = site_levels(after, &domains);
    let same_slots = !whole && levels == contributions.slots.site_levels;
    // The same units (no origin class split, as when a connector is added on servers that
    // already source one): the analysis's targets.
    let own_targets;
    let kept_targets = same_slots && units == analysis.units;
    let targets = if kept_targets {
        &contributions.targets
    } else if same_slots {
        own_targets = Targets::of(&contributions.slots, &units, origins);
        &own_targets
    } else {
        let slots = Slots::with(domains, levels, origins);
        own_targets = Targets::of(&slots, &units, origins);
        &own_targets
    };
    // Where the targets may differ from the analysis's: the representatives of the origin
    // tiers a class split changed (comparing every unit's targets was a tenth of a fix's
    // re-check).
    let moved = if same_slots && !kept_targets {
        moved_representatives(&analysis.units, &units, origins)
    } else {
        Vec::new()
    };
    let reuse =
        (!whole).then(|| Reuse::new(before, analysis, &contributions.answers, after, forget));
    let worse = std::sync::atomic::AtomicBool::new(false);
    let k = options.failures_max;
    // Per connector of the copy: whether it is the analysed topology's, whose term of
    // `possible_codes` it then has (only connectors differ in a copy that is not whole).
    let same_connector: Vec<bool> = if whole {
        Vec::new()
    } else {
        (0..after.send_connectors.len())
            .map(|c| before.send_connectors.get(c) == Some(&after.send_connectors[c]))
            .collect()
    };
    let make_codes = |unit: &super::Unit| -> Arc<[Code]> {
        if whole {
            possible_codes(after, &unit.domain, unit.level, options.at).into()
        } else {
            // The union of the connectors' terms, the analysis's for those unchanged.
            let analysed =
                contributions.analysed_codes(before, &unit.domain, unit.level, options.at);
            let mut union: Vec<Code> = same_connector
                .iter()
                .enumerate()
                .flat_map(|(c, &same)| {
                    if same {
                        analysed[c].clone()
                    } else {
                        let c = ConnectorId::from_index(c);
                        connector_codes(after, c, &unit.domain, unit.level, options.at)
                    }
                })
                .collect();
            union.sort();
            union.dedup();
            debug_assert_eq!(
                union,
                possible_codes(after, &unit.domain, unit.level, options.at),
                "possible codes from the analysed connectors' terms"
            );
            union.into()
        }
    };
    // [`possible_codes`] of the copy, by requirement and domain.
    let codes: ByLevelAndDomain<Arc<[Code]>> = ByLevelAndDomain::new();
    let codes_of = |unit: &super::Unit| -> Arc<[Code]> {
        codes.get_or_make(unit.level, &unit.domain, || make_codes(unit))
    };
    let today: Vec<Vec<PrefixOwned>> = units
        .par_iter()
        .map(|unit| {
            if worse.load(std::sync::atomic::Ordering::Relaxed) {
                return Vec::new();
            }
            let reused = reuse.as_ref().and_then(|r| r.index_of(unit));
            let same_targets = kept_targets
                || (same_slots && !moved.get(unit.origin.index()).copied().unwrap_or(false));
            debug_assert!(
                !same_targets
                    || targets
                        .of_unit(unit)
                        .eq(contributions.targets.of_unit(unit)),
                "a representative not moved has the analysis's targets"
            );
            if let Some(i) = reused
                && same_targets
            {
                if forget == Some(Forget::TodayElsewhere) {
                    return Vec::new();
                }
                return contributions.today[i]
                    .iter()
                    .filter(|p| wanted(&p.0, &p.1, p.2))
                    .cloned()
                    .collect();
            }
            let searched;
            let exposures = if let Some(i) = reused {
                &contributions.answers.results[i].exposures
            } else {
                // A failure set for which every exposure it could give is covered, as
                // every exposure of each larger set is: not worth routing.
                let possible = codes_of(unit);
                let class = if unit.domain == OTHER_DOMAIN {
                    "*"
                } else {
                    unit.domain.as_str()
                };
                let skip = |set: &[Component]| {
                    targets.of_unit(unit).all(|t| {
                        relabel_set(set, t, origins, k).is_none_or(|(failure_set, first)| {
                            let origin = target_origin_key(t, origins, first);
                            possible.iter().all(|&code| {
                                covered(&(origin.clone(), class, unit.level, code), &failure_set)
                            })
                        })
                    })
                };
                // Every set skipped, and no exposure with no failure the verdict asks about:
                // nothing this unit finds can change the verdict.
                let asked = || {
                    targets.of_unit(unit).any(|t| {
                        relabel_set(&[], t, origins, k).is_some_and(|(failure_set, first)| {
                            failure_set.is_empty()
                                && wanted(&target_origin_key(t, origins, first), class, unit.level)
                        })
                    })
                };
                if skip(&[]) && (forget == Some(Forget::Proposers) || !asked()) {
                    return Vec::new();
                }
                searched = search_unit(after, unit, options, &skip).0;
                &searched
            };
            let mut mine = Vec::new();
            let all_covered = targets.each(unit, exposures, origins, k, &mut |p, failure_set| {
                if !covered(&p, failure_set) {
                    return false;
                }
                let forgotten = whole && forget == Some(Forget::WhatIfToday);
                if failure_set.is_empty() && !forgotten && wanted(&p.0, p.1, p.2) {
                    mine.push(owned(p));
                }
                true
            });
            if !all_covered {
                worse.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            mine
        })
        .collect();
    let no_worse = !worse.load(std::sync::atomic::Ordering::Relaxed);
    Some((no_worse, today.into_iter().flatten().collect()))
}

/// The analysis's answer of each unit, by what its search saw ([`UnitKey`]), and what each
/// read: built once for every fix re-checked.
pub(super) struct Answers<'a> {
    by_key: HashMap<UnitKey<'a>, usize>,
    /// Each answer's unit and result, numbered as `by_key` and `reads` number them.
    units: Vec<&'a super::Unit>,
    results: Vec<&'a UnitResult>,
    reads: ReadIndex,
}

impl<'a> Answers<'a> {
    pub(super) fn of(topology: &Topology, analysis: &'a Analysis) -> Answers<'a> {
        let mut by_key = HashMap::default();
        let mut units = Vec::new();
        let mut results = Vec::new();
        let mut reads = ReadIndex::builder();
        for (i, r) in &analysis.done {
            let unit = &analysis.units[*i];
            by_key.insert(key(unit), results.len());
            reads.add(&r.reads, &unit.domain, unit.size);
            units.push(unit);
            results.push(r);
        }
        Answers {
            by_key,
            units,
            results,
            reads: reads.build(topology),
        }
    }
}

/// The analysis's answer of each unit, and what tells whether a changed copy keeps it: the
/// same representative, domain, requirement and size, and every read unchanged.
struct Reuse<'a, 'b> {
    old: &'b Answers<'a>,
    /// Per answer: a read reads otherwise in the copy.
    changed: Vec<bool>,
}

impl<'a, 'b> Reuse<'a, 'b> {
    fn new(
        before: &'a Topology,
        analysis: &'a Analysis,
        old: &'b Answers<'a>,
        after: &'a Topology,
        forget: Option<Forget>,
    ) -> Reuse<'a, 'b> {
        let delta = Delta::new(
            before,
            after,
            forget,
            analysis.options.failures_max,
            &analysis.rankings,
        );
        Reuse {
            changed: old.reads.changed(&delta),
            old,
        }
    }

    /// The number of the analysis's answer for `unit` ([`Answers`]), when the copy's routes
    /// read all it read alike.
    fn index_of(&self, unit: &super::Unit) -> Option<usize> {
        let &i = self.old.by_key.get(&key(unit))?;
        (!self.changed[i]).then_some(i)
    }

    /// The analysis's answer for `unit`, when the copy's routes read all it read alike.
    fn of(&self, unit: &super::Unit) -> Option<&'a UnitResult> {
        self.index_of(unit).map(|i| self.old.results[i])
    }
}

/// The distinct reads of many readers (the analysis's units, the deliverable pairs of a fix's
/// check), each as read for a domain and a size, with the readers that made it. A changed copy
/// is asked about each distinct read once, and only about those its change can touch: the reads
/// of the connectors it changes, every connector selection (for a domain a changed connector
/// matches) in the sites where a changed connector looks different and on the servers it adds
/// or removes as sources, and
/// [`Read::AllComponents`] when the enabled connectors differ. Every other read is unchanged by
/// [`Delta::unchanged`]'s own rules (asking every read of every unit was most of a fix's
/// re-check, issue 17). Debug builds (the tests) check each answer against asking every read.
pub(super) struct ReadIndex {
    contexts: Vec<(String, Bytes)>,
    /// Reads of one connector ([`Read::Sources`], [`Read::SourcesIn`], [`Read::Settings`],
    /// [`Read::EdgeSourced`]), by connector.
    connector: Vec<Vec<Entry>>,
    /// [`Read::Selection`], by the site of the routing server, then the server.
    selection: Vec<Entry>,
    /// Per site, its range of `selection`.
    selection_in_site: Vec<std::ops::Range<usize>>,
    /// Per server, its range of `selection`.
    selection_on_server: HashMap<ServerId, std::ops::Range<usize>>,
    /// [`Read::AllComponents`].
    all: Vec<Entry>,
    readers: usize,
}

/// One distinct read: what, for which domain and size ([`ReadIndex::contexts`]), and who read it.
struct Entry {
    read: Read,
    context: u32,
    readers: Vec<u32>,
}

/// [`ReadIndex`] as it is filled.
pub(super) struct ReadIndexBuilder {
    contexts: HashMap<(String, Bytes), u32>,
    entries: HashMap<(Read, u32), Vec<u32>>,
    readers: u32,
}

impl ReadIndex {
    pub(super) fn builder() -> ReadIndexBuilder {
        ReadIndexBuilder {
            contexts: HashMap::default(),
            entries: HashMap::default(),
            readers: 0,
        }
    }

    /// Per reader (in the order added): whether one of its reads reads otherwise in the copy
    /// `delta` describes.
    pub(super) fn changed(&self, delta: &Delta<'_>) -> Vec<bool> {
        let mut changed = vec![false; self.readers];
        let mut ask = |e: &Entry| {
            if e.readers.iter().all(|&r| changed[r as usize]) {
                return;
            }
            let (domain, size) = &self.contexts[e.context as usize];
            if !delta.unchanged(e.read, domain, *size) {
                for &r in &e.readers {
                    changed[r as usize] = true;
                }
            }
        };
        for c in &delta.changes {
            for e in self.connector.get(c.id.index()).into_iter().flatten() {
                ask(e);
            }
        }
        if delta.enabled {
            self.all.iter().for_each(&mut ask);
        }
        // A selection for a domain no changed connector matches reads the same.
        let matched: Vec<bool> = self
            .contexts
            .iter()
            .map(|(domain, _)| delta.changes.iter().any(|c| delta.matches(c, domain)))
            .collect();
        let mut ask_selection = |e: &Entry| {
            if matched[e.context as usize] {
                ask(e);
            }
        };
        let mut asked_site = vec![false; self.selection_in_site.len()];
        for (site, range) in self.selection_in_site.iter().enumerate() {
            if delta.selection_may_differ_in(SiteId::from_index(site)) {
                asked_site[site] = true;
                self.selection[range.clone()]
                    .iter()
                    .for_each(&mut ask_selection);
            }
        }
        for c in &delta.changes {
            for server in &c.source_server {
                let in_asked_site = delta
                    .before
                    .servers
                    .get(server.index())
                    .and_then(|s| s.site)
                    .is_some_and(|site| asked_site[site.index()]);
                if in_asked_site {
                    continue;
                }
                if let Some(range) = self.selection_on_server.get(server) {
                    self.selection[range.clone()]
                        .iter()
                        .for_each(&mut ask_selection);
                }
            }
        }
        if cfg!(debug_assertions) {
            let mut every = vec![false; self.readers];
            let entries = self
                .connector
                .iter()
                .flatten()
                .chain(&self.selection)
                .chain(&self.all);
            for e in entries {
                let (domain, size) = &self.contexts[e.context as usize];
                if !delta.unchanged(e.read, domain, *size) {
                    for &r in &e.readers {
                        every[r as usize] = true;
                    }
                }
            }
            assert_eq!(changed, every, "the read index skipped a read that changed");
        }
        changed
    }
}

impl ReadIndexBuilder {
    /// A reader with these reads, made for `domain` and `size`.
    pub(super) fn add(&mut self, reads: &[Read], domain: &str, size: Bytes) {
        let next = u32::try_from(self.contexts.len()).expect("fewer than 2^32 contexts");
        let context = *self
            .contexts
            .entry((domain.to_owned(), size))
            .or_insert(next);
        for &read in reads {
            self.entries
                .entry((read, context))
                .or_default()
                .push(self.readers);
        }
        self.readers += 1;
    }

    pub(super) fn build(self, topology: &Topology) -> ReadIndex {
        let mut contexts = vec![(String::new(), Bytes(0)); self.contexts.len()];
        for (c, i) in self.contexts {
            contexts[i as usize] = c;
        }
        let mut connector: Vec<Vec<Entry>> = Vec::new();
        let mut selection: Vec<(SiteId, Entry)> = Vec::new();
        let mut all = Vec::new();
        let mut entries: Vec<((Read, u32), Vec<u32>)> = self.entries.into_iter().collect();
        entries.sort_unstable_by_key(|(k, _)| *k);
        for ((read, context), readers) in entries {
            let entry = Entry {
                read,
                context,
                readers,
            };
            match read {
                Read::Selection(at) => {
                    // A server in no site reads the same everywhere (`Delta::unchanged`).
                    if let Some(site) = topology.servers.get(at.index()).and_then(|s| s.site) {
                        selection.push((site, entry));
                    }
                }
                Read::EdgeSourced(id)
                | Read::SourcesIn(id, _)
                | Read::Sources(id)
                | Read::Settings(id) => {
                    if connector.len() <= id.index() {
                        connector.resize_with(id.index() + 1, Vec::new);
                    }
                    connector[id.index()].push(entry);
                }
                Read::AllComponents => all.push(entry),
            }
        }
        selection.sort_by_key(|(site, e)| (*site, e.read));
        let mut selection_in_site = vec![0..0; topology.sites.len()];
        let mut selection_on_server: HashMap<ServerId, std::ops::Range<usize>> = HashMap::default();
        for (i, (site, e)) in selection.iter().enumerate() {
            let r = &mut selection_in_site[site.index()];
            if r.end == 0 {
                r.start = i;
            }
            r.end = i + 1;
            if let Read::Selection(at) = e.read {
                selection_on_server
                    .entry(at)
                    .and_modify(|r| r.end = i + 1)
                    .or_insert(i..i + 1);
            }
        }
        ReadIndex {
            contexts,
            connector,
            selection: selection.into_iter().map(|(_, e)| e).collect(),
            selection_in_site,
            selection_on_server,
            all,
            readers: self.readers as usize,
        }
    }
}

/// A unit as its search sees it: the representative, the domain, the requirement, the size.
type UnitKey<'a> = (ServerId, &'a str, crate::model::TlsLevel, Bytes);

fn key(unit: &super::Unit) -> UnitKey<'_> {
    (unit.origin, unit.domain.as_str(), unit.level, unit.size)
}

/// How one connector changed between the two topologies.
struct Change {
    id: ConnectorId,
    /// Absent before: a new connector.
    new: bool,
    /// Anything but the source servers differs (settings read on the route).
    settings: bool,
    /// Something connector selection reads differs other than the source servers (address
    /// spaces, scoping, enabled, size limit, name): its view may change wherever it matches.
    view: bool,
    /// The source servers differ (as a set).
    sources: bool,
    /// Per site: the source servers in it differ.
    sources_in: Vec<bool>,
    /// Per site: whether it holds source servers, or which source site is closest from it,
    /// differs (so do the connector's cost, hops and proximity from there).
    selection_from_site: Vec<bool>,
    /// Per server: whether it is a source server differs.
    source_server: BTreeSet<ServerId>,
    /// Whether its source servers are Edge servers differs.
    edge: bool,
}

pub(super) struct Delta<'a> {
    before: &'a Topology,
    after: &'a Topology,
    changes: Vec<Change>,
    /// The enabled connectors differ.
    enabled: bool,
    forget: Option<Forget>,
    /// The most connectors a failure set disables.
    k: usize,
    rankings: &'a Rankings,
    /// [`Delta::selection_same`] per (server or site, size) and domain.
    memo: Mutex<HashMap<(Memo, Bytes), HashMap<String, bool>>>,
}

/// Per (server, domain, size): every enabled candidate connector of the analysed topology, best
/// first, with its selection key. Built when first asked, shared by every fix re-checked.
#[derive(Debug, Default)]
pub(super) struct Rankings {
    by: Mutex<ByDomain<Ranking>>,
}

/// Every enabled candidate connector from one server, best first, with its selection key.
type Ranking = Arc<[(crate::route::Key, ConnectorId)]>;

/// Whom a [`Delta::selection_same`] answer is for: a server that sources a connector, or
/// every other server of a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Memo {
    Server(ServerId),
    Site(SiteId),
}

/// Per (server, size), per domain: looked up by `&str`, with no key to allocate or SipHash to
/// run (these memos are asked once per read of every unit of every fix).
type ByDomain<T> = HashMap<(ServerId, Bytes), HashMap<String, T>>;

impl Rankings {
    fn of(
        &self,
        topology: &Topology,
        at: ServerId,
        site: SiteId,
        domain: &str,
        size: Bytes,
    ) -> Ranking {
        if let Some(r) = self
            .by
            .lock()
            .expect("not poisoned")
            .get(&(at, size))
            .and_then(|m| m.get(domain))
        {
            return r.clone();
        }
        let mut ranking: Vec<(crate::route::Key, ConnectorId)> =
            (0..topology.send_connectors.len())
                .map(ConnectorId::from_index)
                .filter(|&c| topology.connector(c).enabled)
                .filter_map(|c| {
                    match crate::route::candidate(topology, at, site, c, domain, size) {
                        crate::route::Candidate::Eligible { key, .. } => Some((key, c)),
                        _ => None,
                    }
                })
                .collect();
        ranking.sort();
        let ranking: Arc<[_]> = ranking.into();
        self.by
            .lock()
            .expect("not poisoned")
            .entry((at, size))
            .or_default()
            .insert(domain.to_owned(), ranking.clone());
        ranking
    }
}

impl<'a> Delta<'a> {
    pub(super) fn new(
        before: &'a Topology,
        after: &'a Topology,
        forget: Option<Forget>,
        k: usize,
        rankings: &'a Rankings,
    ) -> Delta<'a> {
        let sites = after.sites.len();
        let mut changes = Vec::new();
        for (i, a) in after.send_connectors.iter().enumerate() {
            let id = ConnectorId::from_index(i);
            let Some(b) = before.send_connectors.get(i) else {
                changes.push(Change {
                    id,
                    new: true,
                    settings: true,
                    view: true,
                    sources: true,
                    sources_in: vec![true; sites],
                    selection_from_site: vec![true; sites],
                    source_server: a.source_servers.iter().copied().collect(),
                    edge: true,
                });
                continue;
            };
            let set = |c: &SendConnector| c.source_servers.iter().copied().collect::<BTreeSet<_>>();
            let (sb, sa) = (set(b), set(a));
            let settings = !same_except_sources(a, b);
            if !settings && sb == sa {
                continue;
            }
            let view = a.address_spaces != b.address_spaces
                || a.scoped != b.scoped
                || a.enabled != b.enabled
                || a.max_message_size != b.max_message_size
                || crate::model::name_key(&a.name) != crate::model::name_key(&b.name);
            let site_of = |t: &Topology, s: ServerId| {
                let server = t.server(s);
                server.site.or(server.subscribed_site)
            };
            let mut sources_in = vec![false; sites];
            for &s in sb.symmetric_difference(&sa) {
                if let Some(site) = site_of(after, s) {
                    sources_in[site.index()] = true;
                }
            }
            let (sites_b, sites_a) = (
                crate::route::connector_sites(before, id),
                crate::route::connector_sites(after, id),
            );
            let selection_from_site = (0..sites)
                .map(SiteId::from_index)
                .map(|s| {
                    sites_b.contains(&s) != sites_a.contains(&s)
                        || crate::route::closest_site(before, s, &sites_b)
                            != crate::route::closest_site(after, s, &sites_a)
                })
                .collect();
            let edge = |t: &Topology, c: &SendConnector| {
                c.source_servers
                    .iter()
                    .any(|&s| t.server(s).has_role(Role::Edge))
            };
            changes.push(Change {
                id,
                new: false,
                settings,
                view,
                sources: sb != sa,
                sources_in,
                selection_from_site,
                source_server: sb.symmetric_difference(&sa).copied().collect(),
                edge: edge(before, b) != edge(after, a),
            });
        }
        let enabled =
            |t: &Topology| -> Vec<bool> { t.send_connectors.iter().map(|c| c.enabled).collect() };
        let mut enabled_before = enabled(before);
        enabled_before.resize(after.send_connectors.len(), false);
        Delta {
            before,
            after,
            enabled: enabled_before != enabled(after),
            changes,
            forget,
            k,
            rankings,
            memo: Mutex::default(),
        }
    }

    /// Whether the selection on `at` for `domain` and `size` is the same in both topologies
    /// under any `k` disabled connectors, although a changed connector looks different from
    /// there: it is when every changed connector, in each version where it is a candidate, has
    /// more than `k` unchanged candidates ahead of it (disabling `k` of them leaves one, which
    /// wins in both), and a connector too large for the message has more than `k` unchanged
    /// candidates beside it (the "too large" answer needs every candidate gone).
    ///
    /// A server that sources no connector in either topology sees every connector as any other
    /// such server of its site does (it differs only in a connector's proximity, "local
    /// server"), so the answer is memoised for all of them at once.
    fn selection_same(&self, at: ServerId, site: SiteId, domain: &str, size: Bytes) -> bool {
        let sources = |t: &Topology| {
            t.send_connectors
                .iter()
                .any(|c| c.source_servers.contains(&at))
        };
        let memo_at = if sources(self.before) || sources(self.after) {
            Memo::Server(at)
        } else {
            Memo::Site(site)
        };
        if let Some(&same) = self
            .memo
            .lock()
            .expect("not poisoned")
            .get(&(memo_at, size))
            .and_then(|m| m.get(domain))
        {
            return same;
        }
        let ranking = self.rankings.of(self.before, at, site, domain, size);
        let changed = |id: ConnectorId| self.changes.iter().any(|c| c.id == id);
        let unchanged_ahead = |key: Option<&crate::route::Key>| {
            ranking
                .iter()
                .take_while(|(k, _)| key.is_none_or(|key| k < key))
                .filter(|(_, id)| !changed(*id))
                .count()
        };
        let same = self.changes.iter().all(|c| {
            // Whether it is in the support of a route that did not leave (enabled or not).
            let member = |t: &Topology| {
                c.id.index() < t.send_connectors.len()
                    && crate::route::is_candidate(t, site, c.id, domain)
            };
            if member(self.before) != member(self.after) {
                return false;
            }
            // The failure search grows a set by the enabled candidates of a route's selections
            // (`check::counted`): a candidate enabled on one side only is failed in other sets
            // there. The answer may be the same, but not the situations routed, which a reused
            // answer must also give (a count the property test compares).
            let enabled = |t: &Topology| t.send_connectors.get(c.id.index()).map(|x| x.enabled);
            if member(self.before) && enabled(self.before) != enabled(self.after) {
                return false;
            }
            let view = |t: &Topology| {
                t.send_connectors
                    .get(c.id.index())
                    .filter(|x| x.enabled)
                    .map(|_| crate::route::candidate(t, at, site, c.id, domain, size))
            };
            let (b, a) = (view(self.before), view(self.after));
            b == a
                || [b, a].into_iter().flatten().all(|v| match v {
                    crate::route::Candidate::Skip | crate::route::Candidate::Unreachable => true,
                    crate::route::Candidate::TooLarge(_) => unchanged_ahead(None) > self.k,
                    crate::route::Candidate::Eligible { key, .. } => {
                        unchanged_ahead(Some(&key)) > self.k
                    }
                })
        });
        self.memo
            .lock()
            .expect("not poisoned")
            .entry((memo_at, size))
            .or_default()
            .insert(domain.to_owned(), same);
        same
    }

    /// Whether a connector selection on a server of `site` may read otherwise, other than on
    /// the servers a change adds to or removes from a connector's sources: the negation of
    /// what [`Delta::unchanged`] holds alike without asking further ([`ReadIndex`]).
    fn selection_may_differ_in(&self, site: SiteId) -> bool {
        self.changes
            .iter()
            .any(|c| c.new || c.view || c.selection_from_site[site.index()])
    }

    /// Whether `c`, in either topology, has an address space that matches `domain`: a
    /// connector that matches it in neither does not change a selection for it.
    fn matches(&self, c: &Change, domain: &str) -> bool {
        [self.before, self.after].iter().any(|t| {
            t.send_connectors.get(c.id.index()).is_some_and(|x| {
                x.address_spaces
                    .iter()
                    .any(|a| a.pattern.specificity(domain).is_some())
            })
        })
    }

    fn change(&self, id: ConnectorId) -> Option<&Change> {
        self.changes.iter().find(|c| c.id == id)
    }

    /// Whether `read`, made for a route to `domain` of a message of `size`, reads the same in
    /// both topologies.
    pub(super) fn unchanged(&self, read: Read, domain: &str, size: Bytes) -> bool {
        match read {
            Read::Selection(at) => {
                if self.forget == Some(Forget::Selection) {
                    return true;
                }
                let server = self.after.server(at);
                let Some(site) = server.site else {
                    return true;
                };
                let seen_alike = self.changes.iter().all(|c| {
                    if !self.matches(c, domain) {
                        return true;
                    }
                    if c.new {
                        // Seen from here only when not scoped to other sites.
                        let x = self.after.connector(c.id);
                        return x.scoped
                            && !crate::route::connector_sites(self.after, c.id).contains(&site);
                    }
                    !c.view
                        && !c.selection_from_site[site.index()]
                        && !c.source_server.contains(&at)
                });
                seen_alike || self.selection_same(at, site, domain, size)
            }
            Read::EdgeSourced(id) => self.change(id).is_none_or(|c| !c.edge),
            Read::SourcesIn(id, site) => {
                self.change(id).is_none_or(|c| !c.sources_in[site.index()])
            }
            Read::Sources(id) => {
                self.forget == Some(Forget::Sources) || self.change(id).is_none_or(|c| !c.sources)
            }
            Read::Settings(id) => self.change(id).is_none_or(|c| !c.settings),
            Read::AllComponents => !self.enabled,
        }
    }
}

/// Two versions of a connector alike in everything but their source servers.
fn same_except_sources(a: &SendConnector, b: &SendConnector) -> bool {
    let strip = |c: &SendConnector| SendConnector {
        source_servers: Vec::new(),
        ..c.clone()
    };
    strip(a) == strip(b)
}
