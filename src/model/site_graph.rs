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
    graph: UnGraph<SiteId, Edge>,
    /// Rank of each site in case-insensitive name order, for the tie-break.
    name_rank: Vec<u32>,
    /// The best paths to each destination, computed once on first use: routing sees only the
    /// configured topology, which never changes after loading (a changed topology is a new
    /// `SiteGraph`).
    /// Per destination, the best way from every site toward it, as a tree (cost, hops, the next
    /// site and link): a path is rebuilt from it when asked for. Storing every path whole took
    /// 2.6 GB for 10,000 sites and 1,000 connector sites (issue 15).
    paths_to: Vec<OnceLock<Vec<Option<Toward>>>>,
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
        SiteGraph {
            graph,
            name_rank,
            paths_to,
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

fn node(site: SiteId) -> NodeIndex {
    NodeIndex::new(site.index())
}
