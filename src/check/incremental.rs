//! The check of a topology that differs from an analysed one in its Send connectors only, unit by
//! unit (issue 17): a unit whose recorded reads ([`crate::route::reads`]) would read the same
//! there keeps its answer; every other unit is checked again. The result is the whole check of
//! the changed topology, exactly (`tests/it/properties.rs` and `tests/it/check.rs` compare the
//! two on random, generated and shipped organisations, and show that forgetting one kind of
//! read makes them differ).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::model::{Bytes, ConnectorId, Role, SendConnector, ServerId, SiteId, Topology};
use crate::route::reads::Read;

use super::{Analysis, CheckResult, UnitResult, check, check_unit, component_count, finish, units};

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
    let whole = analysis.done.len() == analysis.units.len();
    let k_same = options.failures_max == options.failures_max.min(component_count(after));
    if scope == Scope::Everything
        || !analysis.recorded
        || !whole
        || options.no_pruning
        || !k_same
        || after.send_connectors.len() < before.send_connectors.len()
    {
        return check(after, options, &|_| {});
    }
    let delta = Delta::new(
        before,
        after,
        forget,
        options.failures_max,
        &analysis.rankings,
    );
    let old: BTreeMap<UnitKey<'_>, &UnitResult> = analysis
        .done
        .iter()
        .map(|(i, r)| (key(&analysis.units[*i]), r))
        .collect();
    let units = units(after, false);
    let done: Vec<(usize, UnitResult)> = units
        .par_iter()
        .enumerate()
        .map(|(i, unit)| {
            let reused = old.get(&key(unit)).filter(|r| {
                r.reads
                    .iter()
                    .all(|read| delta.unchanged(*read, &unit.domain, unit.size))
            });
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
    /// [`Delta::selection_same`] per (server, domain, size).
    memo: Mutex<HashMap<(ServerId, String, Bytes), bool>>,
}

/// Per (server, domain, size): every enabled candidate connector of the analysed topology, best
/// first, with its selection key. Built when first asked, shared by every fix re-checked.
#[derive(Debug, Default)]
pub(super) struct Rankings {
    #[allow(clippy::type_complexity)]
    by: Mutex<HashMap<(ServerId, String, Bytes), Arc<[(crate::route::Key, ConnectorId)]>>>,
}

impl Rankings {
    fn of(
        &self,
        topology: &Topology,
        at: ServerId,
        site: SiteId,
        domain: &str,
        size: Bytes,
    ) -> Arc<[(crate::route::Key, ConnectorId)]> {
        let key = (at, domain.to_owned(), size);
        if let Some(r) = self.by.lock().expect("not poisoned").get(&key) {
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
            .insert(key, ranking.clone());
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
            memo: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the selection on `at` for `domain` and `size` is the same in both topologies
    /// under any `k` disabled connectors, although a changed connector looks different from
    /// there: it is when every changed connector, in each version where it is a candidate, has
    /// more than `k` unchanged candidates ahead of it (disabling `k` of them leaves one, which
    /// wins in both), and a connector too large for the message has more than `k` unchanged
    /// candidates beside it (the "too large" answer needs every candidate gone).
    fn selection_same(&self, at: ServerId, site: SiteId, domain: &str, size: Bytes) -> bool {
        let memo_key = (at, domain.to_owned(), size);
        if let Some(&same) = self.memo.lock().expect("not poisoned").get(&memo_key) {
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
            .insert(memo_key, same);
        same
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
                    let matches = |t: &Topology| {
                        t.send_connectors.get(c.id.index()).is_some_and(|x| {
                            x.address_spaces
                                .iter()
                                .any(|a| a.pattern.specificity(domain).is_some())
                        })
                    };
                    if !matches(self.before) && !matches(self.after) {
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
