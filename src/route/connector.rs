//! Send connector selection for an external recipient (reference §2.1):
//! size filter → enabled, unscoped or scoped to the local site, address space matches → most
//! specific match → lowest aggregate cost (site-link path cost + address-space cost) →
//! fewest hops to the source server (local server > local site > fewest site-link hops) →
//! lowest connector name.

use smallvec::SmallVec;

use crate::model::{Bytes, ConnectorId, Faults, ServerId, SiteId, SitePath, Topology, name_key};

/// How close a connector's source servers are to the server that routes (reference §2.1 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proximity {
    LocalServer,
    LocalSite,
    RemoteSite,
}

/// The winning connector and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    pub connector: ConnectorId,
    /// Index of the matching address space in the connector.
    pub address_space: usize,
    /// Path from the routing server's site to the connector's primary site (the closest site
    /// holding its source servers; for an EdgeSync connector, the subscribed site).
    pub path: SitePath,
    /// `path.cost` + the address-space cost.
    pub aggregate_cost: u64,
    pub proximity: Proximity,
}

impl Selected {
    pub fn primary_site(&self) -> SiteId {
        *self
            .path
            .sites
            .last()
            .expect("a path has at least one site")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectorChoice {
    Selected(Selected),
    /// No enabled connector visible from here matches the domain: the Unreachable queue.
    NoMatch,
    /// Connectors match, but every one is smaller than the message: NDR.
    TooLarge {
        largest: Option<Bytes>,
    },
}

/// The site whose servers act for a connector: source servers' sites, or, for a connector whose
/// source servers are Edge servers, their subscribed sites (reference §1.11).
pub(crate) fn connector_sites(topology: &Topology, connector: ConnectorId) -> Sites {
    let mut sites: Sites = topology
        .connector(connector)
        .source_servers
        .iter()
        .filter_map(|&s| {
            let server = topology.server(s);
            server.site.or(server.subscribed_site)
        })
        .collect();
    sites.sort();
    sites.dedup();
    sites
}

/// A connector's source sites: a few, asked for on every connector selection (without the heap).
pub(crate) type Sites = smallvec::SmallVec<[SiteId; 8]>;

/// The connector selections of one topology for one recipient domain, by (routing server,
/// size, disabled connectors): `check` routes the same message under thousands of failure sets,
/// and a selection reads the failures only through the connectors they disable (servers, sites
/// and links that are down are outages routing does not know about, reference §1.5). Evaluating
/// every connector again for each set was more than half of `check --failures 2` on 1,000
/// sites (issue 18). Attached to [`Faults`] by the caller that owns the topology
/// ([`Faults::with_selections`]); a selection for another domain is not memoised.
pub struct SelectionMemo {
    domain: String,
    by: std::sync::Mutex<SelectionMap>,
}

/// The domain and how many selections are held (not the selections: a `Faults` printed for
/// debugging would print them all).
impl std::fmt::Debug for SelectionMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.by.lock().map_or(0, |m| m.len());
        f.debug_struct("SelectionMemo")
            .field("domain", &self.domain)
            .field("held", &held)
            .finish()
    }
}

type SelectionMap =
    std::collections::HashMap<(ServerId, Bytes, SmallVec<[ConnectorId; 2]>), ConnectorChoice>;

impl SelectionMemo {
    /// An empty memo for selections toward `domain` (lower case) in one topology.
    pub fn new(domain: &str) -> SelectionMemo {
        SelectionMemo {
            domain: domain.to_owned(),
            by: std::sync::Mutex::default(),
        }
    }
}

/// Chooses the Send connector that the Transport service on `at` uses for `domain`.
pub fn select_connector(
    topology: &Topology,
    at: ServerId,
    domain: &str,
    size: Bytes,
    faults: &Faults,
) -> ConnectorChoice {
    super::reads::note(super::reads::Read::Selection(at));
    let memo = faults
        .selections()
        .filter(|m| m.domain == domain)
        .map(|m| (m, (at, size, faults.disabled_connectors().collect())));
    if let Some((m, key)) = &memo
        && let Some(hit) = m.by.lock().expect("not poisoned").get(key)
    {
        return hit.clone();
    }
    let choice = choose_connector(topology, at, domain, size, faults);
    if let Some((m, key)) = memo {
        m.by.lock()
            .expect("not poisoned")
            .insert(key, choice.clone());
    }
    choice
}

fn choose_connector(
    topology: &Topology,
    at: ServerId,
    domain: &str,
    size: Bytes,
    faults: &Faults,
) -> ConnectorChoice {
    let local_site = topology
        .server(at)
        .site
        .expect("routing servers are in a site");
    let mut best: Option<(Key, Selected)> = None;
    let mut matched_but_too_large: Option<Option<Bytes>> = None;
    for i in 0..topology.send_connectors.len() {
        let id = ConnectorId::from_index(i);
        if !faults.connector_enabled(topology, id) {
            continue;
        }
        match candidate(topology, at, local_site, id, domain, size) {
            Candidate::Skip | Candidate::Unreachable => {}
            Candidate::TooLarge(max) => {
                let largest = matched_but_too_large.flatten().max(max);
                matched_but_too_large = Some(largest);
            }
            Candidate::Eligible {
                key,
                target,
                address_space,
                aggregate_cost,
                proximity,
            } => {
                // The path is built only for a candidate that beats the best so far.
                if best.as_ref().is_none_or(|(k, _)| key < *k)
                    && let Some(path) = topology.site_graph.least_cost_path(local_site, target)
                {
                    let selected = Selected {
                        connector: id,
                        address_space,
                        path,
                        aggregate_cost,
                        proximity,
                    };
                    best = Some((key, selected));
                }
            }
        }
    }
    match (best, matched_but_too_large) {
        (Some((_, s)), _) => ConnectorChoice::Selected(s),
        (None, Some(largest)) => ConnectorChoice::TooLarge { largest },
        (None, None) => ConnectorChoice::NoMatch,
    }
}

/// What one enabled connector is to the selection on `at` for `domain` and `size`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// Not a candidate: no address space matches, or scoped to other sites.
    Skip,
    /// A candidate with no site-link path to its source servers: never chosen.
    Unreachable,
    /// Matches, but its limit is below the message's size.
    TooLarge(Option<Bytes>),
    Eligible {
        key: Key,
        /// Its primary site from here.
        target: SiteId,
        address_space: usize,
        aggregate_cost: u64,
        proximity: Proximity,
    },
}

/// Whether connector `id` is a candidate for `domain` on a server of `local_site`, enabled or
/// not: an address space matches, and it is not scoped to other sites. Disabling any other
/// connector changes no selection there ([`candidate`] is `Skip` exactly when this is false).
/// The address space first: it is cheap, and most connectors do not match (a 10,000-site
/// organisation with 1,000 connectors spent minutes on the paths of connectors that could never
/// be chosen, issue 15).
pub fn is_candidate(
    topology: &Topology,
    local_site: SiteId,
    id: ConnectorId,
    domain: &str,
) -> bool {
    let connector = topology.connector(id);
    connector
        .address_spaces
        .iter()
        .any(|a| a.pattern.specificity(domain).is_some())
        && (!connector.scoped || connector_sites(topology, id).contains(&local_site))
}

/// Connector `id` as the selection on `at` (in `local_site`) sees it, enabled or not: the
/// whole of what [`select_connector`] reads of it. Two topologies whose changed connectors give
/// the same `Candidate` on a server select the same connector there under any failures
/// (issue 17: the incremental re-check of fixes).
pub fn candidate(
    topology: &Topology,
    at: ServerId,
    local_site: SiteId,
    id: ConnectorId,
    domain: &str,
    size: Bytes,
) -> Candidate {
    let connector = topology.connector(id);
    let Some((address_space, specificity, space_cost)) = connector
        .address_spaces
        .iter()
        .enumerate()
        .filter_map(|(k, a)| a.pattern.specificity(domain).map(|s| (k, s, a.cost)))
        .max_by(|a, b| {
            a.1.cmp(&b.1)
                .then_with(|| b.2.cmp(&a.2))
                .then_with(|| b.0.cmp(&a.0))
        })
    else {
        return Candidate::Skip;
    };
    // The same two tests as `is_candidate`, in the same order, sharing the source sites.
    let sites = connector_sites(topology, id);
    if connector.scoped && !sites.contains(&local_site) {
        return Candidate::Skip;
    }
    if connector.max_message_size.is_some_and(|max| max < size) {
        return Candidate::TooLarge(connector.max_message_size);
    }
    let Some((target, path_cost, path_hops)) = closest_site(topology, local_site, &sites) else {
        return Candidate::Unreachable;
    };
    let proximity = if connector.source_servers.contains(&at) {
        Proximity::LocalServer
    } else if sites.contains(&local_site) {
        Proximity::LocalSite
    } else {
        Proximity::RemoteSite
    };
    let aggregate_cost = path_cost + u64::from(space_cost);
    Candidate::Eligible {
        key: Key {
            specificity: std::cmp::Reverse(specificity),
            aggregate_cost,
            proximity,
            hops: path_hops,
            name: name_key(&connector.name),
        },
        target,
        address_space,
        aggregate_cost,
        proximity,
    }
}

/// Ordering key: smaller is better.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    specificity: std::cmp::Reverse<(usize, u8)>,
    aggregate_cost: u64,
    proximity: Proximity,
    /// Site-link hops to the connector's closest source site: "the source server ... that can
    /// be reached in the least number of hops" (reference §2.1 step 3.2).
    hops: usize,
    name: String,
}

/// The least-cost path from `from` to the closest of `sites` (reference §1.4, §1.5: the primary
/// site is the closest site of the delivery group by the same rules).
pub(crate) fn closest(topology: &Topology, from: SiteId, sites: &[SiteId]) -> Option<SitePath> {
    let to = closest_site(topology, from, sites)?.0;
    topology.site_graph.least_cost_path(from, to)
}

/// The closest of `sites` by Exchange's order ([`path_order`]), with the cost and hops of the
/// path there: the paths themselves are built only to break a tie of cost and hops.
pub(crate) fn closest_site(
    topology: &Topology,
    from: SiteId,
    sites: &[SiteId],
) -> Option<(SiteId, u64, usize)> {
    let g = &topology.site_graph;
    let mut best: Option<(SiteId, u64, usize)> = None;
    for &s in sites {
        let Some((cost, hops)) = g.least_cost(from, s) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((b, bc, bh)) => match (cost, hops).cmp(&(bc, bh)) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => {
                    match (g.least_cost_path(from, s), g.least_cost_path(from, b)) {
                        (Some(mine), Some(theirs)) => path_order(topology, &mine, &theirs).is_lt(),
                        _ => false,
                    }
                }
            },
        };
        if better {
            best = Some((s, cost, hops));
        }
    }
    best
}

/// Exchange's order between two candidate paths from the same source: cost, hops, then the
/// names of the sites nearest the destination, walking back (reference §1.4).
pub(crate) fn path_order(topology: &Topology, a: &SitePath, b: &SitePath) -> std::cmp::Ordering {
    let g = &topology.site_graph;
    a.cost
        .cmp(&b.cost)
        .then_with(|| a.hops().cmp(&b.hops()))
        .then_with(|| {
            let rank = |&s: &SiteId| g.name_rank(s);
            a.sites
                .iter()
                .rev()
                .map(rank)
                .cmp(b.sites.iter().rev().map(rank))
        })
}
