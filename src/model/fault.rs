//! Components that can fail (`server:NAME`, `site:NAME`, `link:NAME`, `connector:NAME`, SPEC §2)
//! and a set of them that is down.
//!
//! Semantics (reference §1.5): a down server, site or link is an outage that routing does not
//! know about, so Exchange still routes as configured and falls back when connections fail; a
//! down connector is one that is disabled (`Set-SendConnector -Enabled $false`), a configuration
//! change that connector selection sees.

use std::collections::BTreeSet;
use std::fmt;

use super::ids::{ConnectorId, LinkId, ServerId, SiteId};
use super::topology::Topology;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    Server(ServerId),
    Site(SiteId),
    Link(LinkId),
    Connector(ConnectorId),
}

/// The components that are down.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub down: BTreeSet<Component>,
    /// Which sites the usable network connects, computed once for `down` as it was then
    /// ([`Faults::with_network`]): `check` asks the same question of one failure set for every
    /// hop it routes (a 500-site chain spent its minute in depth-first searches, issue 15). A
    /// `down` changed since is noticed, and the graph searched instead.
    network: Option<std::sync::Arc<(BTreeSet<Component>, super::site_graph::Parts)>>,
    /// Connector selections already made in the caller's topology, shared by the failure sets
    /// it routes under ([`Faults::with_selections`]).
    selections: Option<std::sync::Arc<crate::route::SelectionMemo>>,
}

impl PartialEq for Faults {
    fn eq(&self, other: &Self) -> bool {
        self.down == other.down
    }
}

impl Eq for Faults {}

impl Faults {
    pub fn none() -> Faults {
        Faults::default()
    }

    /// The components in `down` are down.
    pub fn new(down: BTreeSet<Component>) -> Faults {
        Faults {
            down,
            network: None,
            selections: None,
        }
    }

    /// [`Faults::new`], with the connected parts of the network under these failures labelled
    /// once, so that every reachability question is a lookup.
    pub fn with_network(down: BTreeSet<Component>, graph: &super::SiteGraph) -> Faults {
        let mut faults = Faults::new(down);
        if !faults.network_intact() {
            // The few failed sites and links, searched in a list rather than in the set.
            let (mut sites, mut links) = (Vec::new(), Vec::new());
            for c in &faults.down {
                match *c {
                    Component::Site(s) => sites.push(s),
                    Component::Link(l) => links.push(l),
                    Component::Server(_) | Component::Connector(_) => {}
                }
            }
            let parts = graph.parts_without(&sites, &links);
            faults.network = Some(std::sync::Arc::new((faults.down.clone(), parts)));
        }
        faults
    }

    /// These failures, sharing `memo`'s connector selections with the other failure sets its
    /// owner routes under. The memo must belong to the topology these faults are routed in.
    #[must_use]
    pub fn with_selections(mut self, memo: std::sync::Arc<crate::route::SelectionMemo>) -> Faults {
        self.selections = Some(memo);
        self
    }

    pub(crate) fn selections(&self) -> Option<&crate::route::SelectionMemo> {
        self.selections.as_deref()
    }

    /// The connectors these failures disable, in id order.
    pub fn disabled_connectors(&self) -> impl Iterator<Item = ConnectorId> + '_ {
        self.down.iter().filter_map(|c| match *c {
            Component::Connector(id) => Some(id),
            _ => None,
        })
    }

    /// Whether the usable network connects sites `a` and `b` (both up).
    pub fn sites_connected(&self, graph: &super::SiteGraph, a: SiteId, b: SiteId) -> bool {
        if self.network_intact() {
            return true;
        }
        match &self.network {
            Some(network)
                if network.0 == self.down && network.1.site_count() == graph.site_count() =>
            {
                let parts = &network.1;
                self.site_up(a)
                    && self.site_up(b)
                    && parts.of(a) != u32::MAX
                    && parts.of(a) == parts.of(b)
            }
            _ => graph.reachable(a, b, |s| self.site_up(s), |l| self.link_up(l)),
        }
    }

    /// Whether any site or link is down (else every site reaches every other: validation
    /// guarantees the site graph is connected).
    pub fn network_intact(&self) -> bool {
        !self
            .down
            .iter()
            .any(|c| matches!(c, Component::Site(_) | Component::Link(_)))
    }

    pub fn site_up(&self, site: SiteId) -> bool {
        !self.down.contains(&Component::Site(site))
    }

    pub fn link_up(&self, link: LinkId) -> bool {
        !self.down.contains(&Component::Link(link))
    }

    /// A server is up when neither it nor its site is down (Edge servers have no site).
    pub fn server_up(&self, topology: &Topology, server: ServerId) -> bool {
        !self.down.contains(&Component::Server(server))
            && topology.server(server).site.is_none_or(|s| self.site_up(s))
    }

    pub fn connector_enabled(&self, topology: &Topology, connector: ConnectorId) -> bool {
        topology.connector(connector).enabled
            && !self.down.contains(&Component::Connector(connector))
    }
}

/// A component with its name, for display.
pub struct Named<'a>(pub &'a Topology, pub Component);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Named(t, c) = self;
        match *c {
            Component::Server(s) => write!(f, "server:{}", t.server(s).name),
            Component::Site(s) => write!(f, "site:{}", t.site(s).name),
            Component::Link(l) => write!(f, "link:{}", t.link(l).name),
            Component::Connector(c) => write!(f, "connector:{}", t.connector(c).name),
        }
    }
}

impl Topology {
    /// Parses `server:NAME`, `site:NAME`, `link:NAME` or `connector:NAME`.
    pub fn parse_component(&self, text: &str) -> Result<Component, String> {
        let Some((kind, name)) = text.split_once(':') else {
            return Err(format!(
                "`{text}` names no component: write server:NAME, site:NAME, link:NAME or connector:NAME"
            ));
        };
        let found = match kind.trim() {
            "server" => self.server_by_name(name).map(Component::Server),
            "site" => self.site_by_name(name).map(Component::Site),
            "link" => self.link_by_name(name).map(Component::Link),
            "connector" => self.connector_by_name(name).map(Component::Connector),
            other => {
                return Err(format!(
                    "unknown component kind `{other}`: use server, site, link or connector"
                ));
            }
        };
        found.ok_or_else(|| format!("no {} named `{name}` in the topology", kind.trim()))
    }
}
