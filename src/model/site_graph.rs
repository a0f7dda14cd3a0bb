//! The IP site-link graph and Exchange's least-cost site paths (reference §1.4).
//!
//! This is the only file that knows petgraph's index types. Paths compare by
//! (aggregate cost, number of hops, names of the sites nearest the destination walking back,
//! case-insensitively), which is a total order; because extending two equal-length paths by the
//! same edge preserves that order, Dijkstra run *from the destination* with these labels finds
//! the best path exactly, tie-breaks included.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;

use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;

use super::ids::{LinkId, SiteId};

/// The site graph: one node per site, one edge per pair of sites a link joins.
#[derive(Clone, Debug)]
pub struct SiteGraph {
    /// The graph, the ranks and the links' sites are shared by a topology's clones too.
    graph: std::sync::Arc<UnGraph<SiteId, Edge>>,
    /// Rank of each site in case-insensitive name order, for the tie-break.
    name_rank: std::sync::Arc<[u32]>,
    /// The best paths to each destination, computed once on first use: routing sees only the
    /// configured topology, which never changes after loading (a changed topology is a new
    /// `SiteGraph`).
    /// Per destination, the best way from every site toward it, as a tree (cost, hops, the next
    /// site and link): a path is rebuilt from it when asked for. Storing every path whole took
    /// 2.6 GB for 10,000 sites and 1,000 connector sites (issue 15).
    /// Shared by the clones of a topology (a fix's changed copy): the graph never changes.
    paths_to: std::sync::Arc<[OnceLock<Vec<Option<Toward>>>]>,
    /// Per link, the sites it joins (where a failed link's searches start).
    link_sites: std::sync::Arc<[Vec<SiteId>]>,
    /// Whether every site reaches every other (validation requires it of a topology; a
    /// diagram's partial view need not be).
    connected: bool,
}

#[derive(Clone, Copy, Debug)]
struct Edge {
    link: LinkId,
    cost: u32,
}

/// A least-cost path between two sites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SitePath {
    /// From the source site to the destination site, both included.
    pub sites: Vec<SiteId>,
    /// The link used between consecutive sites.
    pub links: Vec<LinkId>,
    /// Sum of the routing costs of `links`.
    pub cost: u64,
}

impl SitePath {
    pub fn hops(&self) -> usize {
        self.links.len()
    }
}

/// Dijkstra label: cost, hops, then name ranks of the sites walking away from the destination.
type Label = (u64, usize, Vec<u32>);

impl SiteGraph {
    /// The graph of a topology's sites and site links, each link at the cost Exchange routes
    /// with (`ExchangeCost`, else the AD cost).
    pub fn of(sites: &[super::Site], links: &[super::SiteLink]) -> SiteGraph {
        SiteGraph::new(
            &sites.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            &links
                .iter()
                .map(|l| (l.sites.clone(), l.routing_cost()))
                .collect::<Vec<_>>(),
        )
    }

    /// Builds the graph. `links` gives, per link, its sites and routing cost. `site_names` are
    /// used only for the name tie-break.
    pub fn new(site_names: &[String], links: &[(Vec<SiteId>, u32)]) -> SiteGraph {
        let mut graph = UnGraph::with_capacity(site_names.len(), links.len());
        for i in 0..site_names.len() {
            graph.add_node(SiteId::from_index(i));
        }
        for (i, (sites, cost)) in links.iter().enumerate() {
            for (a, &x) in sites.iter().enumerate() {
                for &y in &sites[a + 1..] {
                    if x != y {
                        let edge = Edge {
                            link: LinkId::from_index(i),
                            cost: *cost,
                        };
                        graph.add_edge(node(x), node(y), edge);
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..site_names.len()).collect();
        order.sort_by(|&a, &b| {
            site_names[a]
                .to_lowercase()
                .cmp(&site_names[b].to_lowercase())
                .then_with(|| site_names[a].cmp(&site_names[b]))
        });
        let mut name_rank = vec![0; site_names.len()];
        for (rank, &site) in order.iter().enumerate() {
            name_rank[site] = u32::try_from(rank).expect("site count fits u32");
        }
        let paths_to = (0..site_names.len()).map(|_| OnceLock::new()).collect();
        let link_sites: Vec<Vec<SiteId>> = links.iter().map(|(sites, _)| sites.clone()).collect();
        let connected = petgraph::algo::connected_components(&graph) <= 1;
        SiteGraph {
            graph: std::sync::Arc::new(graph),
            name_rank: name_rank.into(),
            paths_to,
            link_sites: link_sites.into(),
            connected,
        }
    }

    pub fn site_count(&self) -> usize {
        self.graph.node_count()
    }

    /// A label per site: sites with one label are connected through usable sites and links;
    /// an unusable site is `u32::MAX`.
    pub fn component_labels(
        &self,
        site_usable: impl Fn(SiteId) -> bool,
        link_usable: impl Fn(LinkId) -> bool,
    ) -> Vec<u32> {
        let n = self.graph.node_count();
        let mut labels = vec![u32::MAX; n];
        let mut next_label = 0;
        let mut stack = Vec::new();
        for start in 0..n {
            let site = self.graph[NodeIndex::new(start)];
            if labels[site.index()] != u32::MAX || !site_usable(site) {
                continue;
            }
            labels[site.index()] = next_label;
            stack.push(NodeIndex::new(start));
            while let Some(at) = stack.pop() {
                for e in self.graph.edges(at) {
                    let to = self.graph[e.target()];
                    if labels[to.index()] == u32::MAX
                        && link_usable(e.weight().link)
                        && site_usable(to)
                    {
                        labels[to.index()] = next_label;
                        stack.push(e.target());
                    }
                }
            }
            next_label += 1;
        }
        labels
    }

    /// The parts of the network with `down_sites` and `down_links` failed: the partition
    /// [`SiteGraph::component_labels`] gives (the numbers may differ), left unresolved, so a
    /// site's part is looked up when asked for, not written for every site (most never are).
    ///
    /// Every part of a connected graph left by failures holds a site next to a failed site or
    /// link: searches start from those sites, one step each in turn. A search that meets
    /// another's site joins it; a group of joined searches with nothing left to visit has
    /// labelled a whole part. When a single group is still searching, every site not yet
    /// labelled is in its part. The biggest part, usually nearly every site, is thus never
    /// walked whole: `check` labels once per failure set it tries, and walking every site each
    /// time was 16 % of `check --failures 2` on 1,000 sites (issue 18).
    pub fn parts_without(&self, down_sites: &[SiteId], down_links: &[LinkId]) -> Parts {
        let site_up = |s: SiteId| !down_sites.contains(&s);
        let link_up = |l: LinkId| !down_links.contains(&l);
        let n = self.graph.node_count();
        if !self.connected {
            let labels = self.component_labels(site_up, link_up);
            let group = (0..u32::try_from(n).expect("site count fits u32")).collect();
            return Parts {
                labels,
                group,
                rest: u32::MAX,
                sites: n,
            };
        }
        if down_sites.is_empty() && down_links.is_empty() {
            return Parts {
                labels: Vec::new(),
                group: Vec::new(),
                rest: 0,
                sites: n,
            };
        }
        let mut roots: Vec<SiteId> = Vec::new();
        for &s in down_sites {
            roots.extend(
                self.graph
                    .neighbors(node(s))
                    .map(|t| self.graph[t])
                    .filter(|&t| site_up(t)),
            );
        }
        for &l in down_links {
            if let Some(sites) = self.link_sites.get(l.index()) {
                roots.extend(sites.iter().copied().filter(|&t| site_up(t)));
            }
        }
        let mut labels = vec![u32::MAX; n];
        // One search per root not already taken; `group[i]`: the search that search `i`
        // joined (union-find, the smaller index the representative).
        let mut group: Vec<u32> = Vec::new();
        let mut stacks: Vec<Vec<SiteId>> = Vec::new();
        for &r in &roots {
            if labels[r.index()] == u32::MAX {
                let id = u32::try_from(group.len()).expect("fewer than 2^32 searches");
                labels[r.index()] = id;
                group.push(id);
                stacks.push(vec![r]);
            }
        }
        let last_group = loop {
            // The groups still searching: stop when at most one is.
            let mut searching: Option<u32> = None;
            let mut several = false;
            for (i, stack) in stacks.iter().enumerate() {
                if !stack.is_empty() {
                    let g = find_group(&mut group, u32::try_from(i).expect("few searches"));
                    match searching {
                        None => searching = Some(g),
                        Some(h) if h != g => several = true,
                        Some(_) => {}
                    }
                }
            }
            if !several {
                break searching;
            }
            for (i, stack) in stacks.iter_mut().enumerate() {
                let Some(at) = stack.pop() else {
                    continue;
                };
                let me = u32::try_from(i).expect("few searches");
                for e in self.graph.edges(node(at)) {
                    let to = self.graph[e.target()];
                    if !link_up(e.weight().link) || !site_up(to) {
                        continue;
                    }
                    match labels[to.index()] {
                        u32::MAX => {
                            labels[to.index()] = me;
                            stack.push(to);
                        }
                        other => {
                            let (a, b) =
                                (find_group(&mut group, me), find_group(&mut group, other));
                            if a != b {
                                group[a.max(b) as usize] = a.min(b);
                            }
                        }
                    }
                }
            }
        };
        // Each search straight to its group, so that a lookup is two reads.
        for i in 0..group.len() {
            let g = find_group(&mut group, u32::try_from(i).expect("few searches"));
            group[i] = g;
        }
        Parts {
            labels,
            rest: last_group.map_or(u32::MAX, |g| group[g as usize]),
            group,
            sites: n,
        }
    }

    /// Sets of sites connected through the usable links, each sorted, ordered by first site.
    pub fn components(&self, link_usable: impl Fn(LinkId) -> bool) -> Vec<Vec<SiteId>> {
        let n = self.graph.node_count();
        let mut seen = vec![false; n];
        let mut components = Vec::new();
        for start in 0..n {
            if seen[start] {
                continue;
            }
            seen[start] = true;
            let mut component = vec![SiteId::from_index(start)];
            let mut stack = vec![NodeIndex::new(start)];
            while let Some(at) = stack.pop() {
                for e in self.graph.edges(at) {
                    let next = e.target().index();
                    if link_usable(e.weight().link) && !seen[next] {
                        seen[next] = true;
                        component.push(SiteId::from_index(next));
                        stack.push(e.target());
                    }
                }
            }
            component.sort();
            components.push(component);
        }
        components
    }

    /// Whether `to` can be reached from `from` using only usable sites and links (the physical
    /// network under failures; both end sites must be usable too).
    pub fn reachable(
        &self,
        from: SiteId,
        to: SiteId,
        site_usable: impl Fn(SiteId) -> bool,
        link_usable: impl Fn(LinkId) -> bool,
    ) -> bool {
        if !site_usable(from) || !site_usable(to) {
            return false;
        }
        let mut seen = vec![false; self.graph.node_count()];
        seen[from.index()] = true;
        let mut stack = vec![node(from)];
        while let Some(at) = stack.pop() {
            if self.graph[at] == to {
                return true;
            }
            for e in self.graph.edges(at) {
                let next = self.graph[e.target()];
                if !seen[next.index()] && link_usable(e.weight().link) && site_usable(next) {
                    seen[next.index()] = true;
                    stack.push(e.target());
                }
            }
        }
        false
    }

    /// Some path from `from` to `to` through usable sites and links (breadth-first), as the
    /// sites and the links it uses: the witness that a connection is possible under failures.
    pub fn witness_path(
        &self,
        from: SiteId,
        to: SiteId,
        site_usable: impl Fn(SiteId) -> bool,
        link_usable: impl Fn(LinkId) -> bool,
    ) -> Option<(Vec<SiteId>, Vec<LinkId>)> {
        if !site_usable(from) || !site_usable(to) {
            return None;
        }
        let mut parent: Vec<Option<(SiteId, LinkId)>> = vec![None; self.graph.node_count()];
        let mut seen = vec![false; self.graph.node_count()];
        seen[from.index()] = true;
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(at) = queue.pop_front() {
            if at == to {
                let (mut sites, mut links) = (vec![to], Vec::new());
                let mut cur = to;
                while let Some((prev, link)) = parent[cur.index()] {
                    sites.push(prev);
                    links.push(link);
                    cur = prev;
                }
                return Some((sites, links));
            }
            for e in self.graph.edges(node(at)) {
                let next = self.graph[e.target()];
                if !seen[next.index()] && link_usable(e.weight().link) && site_usable(next) {
                    seen[next.index()] = true;
                    parent[next.index()] = Some((at, e.weight().link));
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Exchange's least-cost path from `from` to `to` over the configured topology (routing
    /// does not see outages: reference §1.5), or `None` when no link joins them.
    pub fn least_cost_path(&self, from: SiteId, to: SiteId) -> Option<SitePath> {
        let tree = self.tree_to(to);
        tree[from.index()].as_ref()?;
        Some(path_in(tree, from, to))
    }

    /// The cost and the number of hops of [`SiteGraph::least_cost_path`], without building it.
    pub fn least_cost(&self, from: SiteId, to: SiteId) -> Option<(u64, usize)> {
        self.tree_to(to)[from.index()]
            .as_ref()
            .map(|t| (t.cost, t.hops as usize))
    }

    fn tree_to(&self, to: SiteId) -> &[Option<Toward>] {
        self.paths_to[to.index()].get_or_init(|| self.tree_filtered(to, None, None))
    }

    /// The rank of a site's name in case-insensitive order (for the name tie-break).
    pub fn name_rank(&self, site: SiteId) -> u32 {
        self.name_rank[site.index()]
    }

    /// Exchange's least-cost path without the given link or intermediate site (a detour), for
    /// the failure analysis. Not cached.
    pub fn least_cost_path_avoiding(
        &self,
        from: SiteId,
        to: SiteId,
        avoid_link: Option<LinkId>,
        avoid_site: Option<SiteId>,
    ) -> Option<SitePath> {
        let tree = self.tree_filtered(to, avoid_link, avoid_site);
        tree[from.index()].as_ref()?;
        Some(path_in(&tree, from, to))
    }

    /// Every link of the graph, with the two sites it joins (one entry per pair a link joins).
    pub fn edges(&self) -> impl Iterator<Item = (LinkId, SiteId, SiteId)> + '_ {
        self.graph.edge_indices().filter_map(|e| {
            let (a, b) = self.graph.edge_endpoints(e)?;
            Some((self.graph[e].link, self.graph[a], self.graph[b]))
        })
    }

    /// Dijkstra toward `to`: for every site its best label's cost and hops and the next site
    /// and link on the way.
    fn tree_filtered(
        &self,
        to: SiteId,
        avoid_link: Option<LinkId>,
        avoid_site: Option<SiteId>,
    ) -> Vec<Option<Toward>> {
        let n = self.graph.node_count();
        let mut best: Vec<Option<Label>> = vec![None; n];
        // Predecessor toward the destination: (next site, link).
        let mut toward: Vec<Option<(SiteId, LinkId)>> = vec![None; n];
        let mut done = vec![false; n];
        let mut heap = BinaryHeap::new();
        best[to.index()] = Some((0, 0, Vec::new()));
        heap.push(Reverse(((0u64, 0usize, Vec::<u32>::new()), to)));
        while let Some(Reverse((label, at))) = heap.pop() {
            if done[at.index()] || best[at.index()].as_ref() != Some(&label) {
                continue;
            }
            done[at.index()] = true;
            for e in self.graph.edges(node(at)) {
                let next = self.graph[e.target()];
                if done[next.index()]
                    || Some(e.weight().link) == avoid_link
                    || Some(next) == avoid_site
                {
                    continue;
                }
                let mut seq = label.2.clone();
                seq.push(self.name_rank[next.index()]);
                let candidate = (label.0 + u64::from(e.weight().cost), label.1 + 1, seq);
                let improves = match &best[next.index()] {
                    None => true,
                    Some(current) => candidate < *current,
                };
                // Parallel links between the same two sites: the cheaper wins (above), then the
                // lower link index (file order); the site sequence is identical either way.
                let same_via_earlier_link = matches!(&best[next.index()], Some(current)
                    if candidate == *current
                        && toward[next.index()].is_some_and(|(_, l)| e.weight().link < l));
                if improves || same_via_earlier_link {
                    best[next.index()] = Some(candidate.clone());
                    toward[next.index()] = Some((at, e.weight().link));
                    heap.push(Reverse((candidate, next)));
                }
            }
        }
        (0..n)
            .map(|i| {
                let (cost, hops, _) = best[i].as_ref()?;
                Some(Toward {
                    cost: *cost,
                    hops: u32::try_from(*hops).unwrap_or(u32::MAX),
                    next: toward[i],
                })
            })
            .collect()
    }
}

/// A site's way toward a destination: the cost and hops of its best path, and the next site and
/// link (`None` at the destination itself).
#[derive(Clone, Copy, Debug)]
struct Toward {
    cost: u64,
    hops: u32,
    next: Option<(SiteId, LinkId)>,
}

/// The path from `from` (which has a way) to `to` in a tree toward `to`.
fn path_in(tree: &[Option<Toward>], from: SiteId, to: SiteId) -> SitePath {
    let mut sites = vec![from];
    let mut links = Vec::new();
    let mut at = from;
    let cost = tree[from.index()].map_or(0, |t| t.cost);
    while at != to {
        let Some((next, link)) = tree[at.index()].and_then(|t| t.next) else {
            break;
        };
        sites.push(next);
        links.push(link);
        at = next;
        if sites.len() > tree.len() {
            break;
        }
    }
    SitePath { sites, links, cost }
}

/// The parts of the network under failures ([`SiteGraph::parts_without`]).
#[derive(Clone, Debug)]
pub struct Parts {
    /// Per site, the search that reached it (`u32::MAX`: none did, or all sites when nothing
    /// failed and this is empty).
    labels: Vec<u32>,
    /// Per search, the group it joined: the part's number.
    group: Vec<u32>,
    /// The part of the sites no search reached: the one group still searching at the end.
    rest: u32,
    /// The graph's site count (parts of another graph are not used).
    sites: usize,
}

impl Parts {
    /// How many sites the graph had.
    pub fn site_count(&self) -> usize {
        self.sites
    }

    /// The part of `site`, which must be up (a failed site has none).
    pub fn of(&self, site: SiteId) -> u32 {
        match self.labels.get(site.index()) {
            Some(&l) if l != u32::MAX => self.group[l as usize],
            _ => self.rest,
        }
    }
}

/// The search that search `i` joined, halving the path on the way (union-find).
fn find_group(group: &mut [u32], mut i: u32) -> u32 {
    while group[i as usize] != i {
        let up = group[group[i as usize] as usize];
        group[i as usize] = up;
        i = up;
    }
    i
}

fn node(site: SiteId) -> NodeIndex {
    NodeIndex::new(site.index())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{LinkId, SiteGraph, SiteId};

    /// A connected graph of `n` sites (a random tree plus extra links, some joining three
    /// sites), and some failed sites and links.
    fn graph_and_failures() -> impl Strategy<Value = (SiteGraph, Vec<SiteId>, Vec<LinkId>)> {
        (2usize..40).prop_flat_map(|n| {
            let tree = prop::collection::vec(any::<prop::sample::Index>(), n - 1);
            let extra = prop::collection::vec(prop::collection::vec(0..n, 2..4), 0..n);
            let failures = (
                prop::collection::vec(0..n, 0..4),
                prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            );
            (Just(n), tree, extra, failures).prop_map(|(n, tree, extra, (sites, links))| {
                let mut all: Vec<(Vec<SiteId>, u32)> = tree
                    .iter()
                    .enumerate()
                    .map(|(i, parent)| {
                        let child = i + 1;
                        (
                            vec![
                                SiteId::from_index(parent.index(child)),
                                SiteId::from_index(child),
                            ],
                            1,
                        )
                    })
                    .collect();
                all.extend(
                    extra
                        .into_iter()
                        .map(|s| (s.into_iter().map(SiteId::from_index).collect(), 1)),
                );
                let names: Vec<String> = (0..n).map(|i| format!("S{i}")).collect();
                let graph = SiteGraph::new(&names, &all);
                let links = links
                    .iter()
                    .map(|l| LinkId::from_index(l.index(all.len())))
                    .collect();
                (
                    graph,
                    sites.into_iter().map(SiteId::from_index).collect(),
                    links,
                )
            })
        })
    }

    /// Every site's part from [`SiteGraph::parts_without`] (`u32::MAX` for a failed site).
    fn labels_without(graph: &SiteGraph, down_sites: &[SiteId], down_links: &[LinkId]) -> Vec<u32> {
        let parts = graph.parts_without(down_sites, down_links);
        (0..graph.site_count())
            .map(|i| {
                let site = SiteId::from_index(i);
                if down_sites.contains(&site) {
                    u32::MAX
                } else {
                    parts.of(site)
                }
            })
            .collect()
    }

    proptest! {
        /// Labelling from the failures' neighbours gives the same parts as walking every site.
        #[test]
        fn labels_from_the_failures_give_the_same_parts((graph, sites, links) in graph_and_failures()) {
            let walked = graph.component_labels(|s| !sites.contains(&s), |l| !links.contains(&l));
            let fast = labels_without(&graph, &sites, &links);
            prop_assert_eq!(walked.len(), fast.len());
            for a in 0..walked.len() {
                prop_assert_eq!(walked[a] == u32::MAX, fast[a] == u32::MAX, "site {}", a);
                for b in 0..walked.len() {
                    prop_assert_eq!(
                        walked[a] == walked[b],
                        fast[a] == fast[b],
                        "sites {} and {}", a, b
                    );
                }
            }
        }
    }
}
