//! The path of one recipient through the organisation, Transport service by Transport service.
//!
//! Every Transport service routes again when it receives the message (the categorizer runs on
//! each; reference §3.9 step 4), so the route is built one decision at a time from the server
//! holding the message: relay toward the next hub site on the least-cost path (reference §1.6),
//! else straight to the destination delivery group (reference §1.4: direct connection to the
//! target servers), with Exchange's fallback when they are unreachable (reference §1.5): other
//! servers of the group in other sites, other servers of the primary site, then back off toward
//! the source and queue at the point of failure.

use std::collections::BTreeSet;

use crate::model::{Bytes, ConnectorId, Faults, Role, ServerId, SiteId, SitePath, Topology};

use super::connector::{ConnectorChoice, Selected, closest, select_connector};
use super::reads::{Read, note};

/// The kind of a hop, named after the delivery type Exchange uses for it (reference §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HopKind {
    /// Mailbox Transport Submission → Transport (reference §1.10).
    Submission,
    /// `SmtpRelayToConnectorSourceServers`.
    RelayToConnectorSourceServers,
    /// `SmtpRelayToRemoteActiveDirectorySite` toward a hub site on the path.
    RelayToHubSite,
    /// `SmtpRelayToRemoteActiveDirectorySite` to a site that is not a hub: an Edge-subscribed
    /// site, or a site reached while backing off after a failure (queue at point of failure).
    RelayToRemoteSite,
    /// `SmtpRelayWithinAdSiteToEdge`.
    RelayToEdge,
    /// Transport → Front End Transport outbound proxy (port 717, reference §1.9).
    FrontendProxy,
    /// Transport → Mailbox Transport Delivery (`SmtpDeliveryToMailbox`).
    MailboxDelivery,
    /// The hop that leaves the organisation.
    External,
}

impl HopKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HopKind::Submission => "submission",
            HopKind::RelayToConnectorSourceServers => "relay_to_connector_source_servers",
            HopKind::RelayToHubSite => "relay_to_hub_site",
            HopKind::RelayToRemoteSite => "relay_to_remote_site",
            HopKind::RelayToEdge => "relay_to_edge",
            HopKind::FrontendProxy => "frontend_proxy",
            HopKind::MailboxDelivery => "mailbox_delivery",
            HopKind::External => "external",
        }
    }
}

/// One hop between two servers of the organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub from: ServerId,
    pub to: ServerId,
    pub kind: HopKind,
    /// The two servers are in different AD sites (an Edge counts as its subscribed site).
    pub cross_site: bool,
    /// The Send connector the hop serves (relays to its source servers or Edge, Front End
    /// proxy): it names the delivery queue (reference §4.2).
    pub connector: Option<ConnectorId>,
}

/// Where the route ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteEnd {
    /// Ready for the external hop from `from` over `connector`.
    External {
        from: ServerId,
        connector: ConnectorId,
        via_frontend: bool,
    },
    /// Delivered to the mailbox on `server`.
    Mailbox { server: ServerId },
    /// Queued on `at` in Retry: the next hop is unreachable (queue at the point of failure);
    /// `waiting_for` is the kind of the hop it waits to take, when known (the queue's delivery
    /// type: Retry is a status, not a delivery type).
    Queued {
        at: ServerId,
        reason: String,
        waiting_for: Option<HopKind>,
    },
    /// No connector matches: the Unreachable queue on `at`.
    Unreachable { at: ServerId },
    /// Refused with a non-delivery report.
    Ndr { at: ServerId, status: String },
}

/// A recipient as routing sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Outside the organisation (lower-case domain).
    External(String),
    /// A mailbox on this server.
    Mailbox(ServerId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub origin: ServerId,
    /// The routing decision taken on the origin server, for external recipients.
    pub selection: Option<Selected>,
    /// The least-cost site path the origin routes along (to the connector's primary site or the
    /// mailbox's site).
    pub site_path: Vec<SiteId>,
    /// Its site-link cost (without the address-space cost).
    pub path_cost: u64,
    pub hops: Vec<Hop>,
    pub end: RouteEnd,
}

/// The decision of one Transport service for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Relay to another Transport service, which routes again.
    Relay(Hop),
    /// A last hop inside the organisation: the route ends where it leads.
    RelayThenEnd(Hop, RouteEnd),
    End(RouteEnd),
}

/// Routes one recipient from its first Transport service, `origin`.
pub fn route(
    topology: &Topology,
    origin: ServerId,
    target: &Target,
    size: Bytes,
    faults: &Faults,
) -> Route {
    let origin_site = site_of(topology, origin);
    let (selection, site_path, path_cost) = match target {
        Target::External(domain) => {
            match select_connector(topology, origin, domain, size, faults) {
                ConnectorChoice::Selected(s) => {
                    let (sites, cost) = (s.path.sites.clone(), s.path.cost);
                    (Some(s), sites, cost)
                }
                _ => (None, vec![origin_site], 0),
            }
        }
        Target::Mailbox(m) => {
            let path = topology
                .site_graph
                .least_cost_path(origin_site, site_of(topology, *m));
            path.map_or((None, vec![origin_site], 0), |p| {
                (None, p.sites.clone(), p.cost)
            })
        }
    };
    let mut hops = Vec::new();
    let mut visited = BTreeSet::from([origin]);
    let mut at = origin;
    // A route visits each server at most once, so this bounds the loop.
    for _ in 0..=topology.servers.len() {
        let (hop, end) = match next_step(topology, at, target, size, faults) {
            Step::End(end) => {
                return Route {
                    origin,
                    selection,
                    site_path,
                    path_cost,
                    hops,
                    end,
                };
            }
            Step::Relay(hop) => (hop, None),
            Step::RelayThenEnd(hop, end) => (hop, Some(end)),
        };
        if hop.from != hop.to && !visited.insert(hop.to) {
            let reason = format!(
                "routing loop: {} was already on the route",
                topology.server(hop.to).name
            );
            return Route {
                origin,
                selection,
                site_path,
                path_cost,
                hops,
                end: RouteEnd::Queued {
                    at,
                    reason,
                    waiting_for: None,
                },
            };
        }
        at = hop.to;
        hops.push(hop);
        if let Some(end) = end {
            return Route {
                origin,
                selection,
                site_path,
                path_cost,
                hops,
                end,
            };
        }
    }
    unreachable!("a route longer than the number of servers revisits a server")
}

fn site_of(topology: &Topology, server: ServerId) -> SiteId {
    let s = topology.server(server);
    s.site
        .or(s.subscribed_site)
        .expect("every server has a site or a subscription")
}

fn hop(topology: &Topology, from: ServerId, to: ServerId, kind: HopKind) -> Hop {
    Hop {
        from,
        to,
        kind,
        cross_site: site_of(topology, from) != site_of(topology, to),
        connector: None,
    }
}

/// The decision of the Transport service on `at` for a recipient, under the current faults.
pub fn next_step(
    topology: &Topology,
    at: ServerId,
    target: &Target,
    size: Bytes,
    faults: &Faults,
) -> Step {
    let here = site_of(topology, at);
    // The organisation's limits (Set-TransportConfig MaxSendSize / MaxReceiveSize), applied by
    // the categorizer before any routing decision.
    let config = &topology.transport_config;
    if let Some(limit) = config.max_send_size.filter(|&l| l < size) {
        return Step::End(RouteEnd::Ndr {
            at,
            status: format!(
                "550 5.2.3 RESOLVER.RST.SendSizeLimit.Org; message too large for this organization ({limit})"
            ),
        });
    }
    match target {
        Target::Mailbox(_) if config.max_receive_size.is_some_and(|l| l < size) => {
            let limit = config.max_receive_size.expect("checked");
            Step::End(RouteEnd::Ndr {
                at,
                status: format!(
                    "550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient ({limit})"
                ),
            })
        }
        Target::Mailbox(mailbox) => {
            let there = site_of(topology, *mailbox);
            // Same delivery group (the same site, or one DAG across sites): no routing decision,
            // the destination is the next hop (reference §1.3, SmtpDeliveryToMailbox).
            let same_dag = topology.group_of(at).is_some_and(|g| {
                Some(g) == topology.group_of(*mailbox)
                    && matches!(topology.group(g).kind, crate::model::GroupKind::Dag(_))
            });
            if here == there || *mailbox == at {
                return to_servers(
                    topology,
                    at,
                    &[*mailbox],
                    HopKind::MailboxDelivery,
                    None,
                    faults,
                );
            }
            let Some(path) = topology.site_graph.least_cost_path(here, there) else {
                return Step::End(RouteEnd::Queued {
                    at,
                    reason: "no site path to the mailbox's site".to_owned(),
                    waiting_for: Some(HopKind::MailboxDelivery),
                });
            };
            if let Some(ndr) = link_size_limit(topology, at, &path, size) {
                return ndr;
            }
            if !same_dag && let Some(step) = toward_hub(topology, at, &path, faults, None) {
                return step;
            }
            to_servers(
                topology,
                at,
                &[*mailbox],
                HopKind::MailboxDelivery,
                Some(&path),
                faults,
            )
        }
        Target::External(domain) => {
            let selected = match select_connector(topology, at, domain, size, faults) {
                ConnectorChoice::Selected(s) => s,
                ConnectorChoice::NoMatch => return Step::End(RouteEnd::Unreachable { at }),
                ConnectorChoice::TooLarge { largest } => {
                    let limit = largest.map_or_else(String::new, |b| format!(" ({b})"));
                    return Step::End(RouteEnd::Ndr {
                        at,
                        status: format!(
                            "550 5.3.4 ROUTING.SizeLimit; message size exceeds fixed maximum size for route{limit}"
                        ),
                    });
                }
            };
            if let Some(ndr) = link_size_limit(topology, at, &selected.path, size) {
                return ndr;
            }
            external_step(topology, at, &selected, faults)
        }
    }
}

/// An NDR when a site link on the least-cost path is smaller than the message: "If any link on
/// the least-cost path has a limit smaller than the message, routing generates an NDR"
/// (Set-AdSiteLink -MaxMessageSize; reference §1.4).
fn link_size_limit(
    topology: &Topology,
    at: ServerId,
    path: &SitePath,
    size: Bytes,
) -> Option<Step> {
    let link = path
        .links
        .iter()
        .map(|&l| topology.link(l))
        .find(|l| l.max_message_size.is_some_and(|m| m < size))?;
    Some(Step::End(RouteEnd::Ndr {
        at,
        status: format!(
            "550 5.3.4 ROUTING.SizeLimit; message size exceeds fixed maximum size for route (site link {}: {})",
            link.name,
            link.max_message_size.expect("found by its limit")
        ),
    }))
}

/// The step toward `selected`'s connector, its hops tagged with the connector.
fn external_step(topology: &Topology, at: ServerId, selected: &Selected, faults: &Faults) -> Step {
    let tag = |mut h: Hop| {
        if matches!(
            h.kind,
            HopKind::RelayToConnectorSourceServers | HopKind::RelayToEdge | HopKind::FrontendProxy
        ) {
            h.connector = Some(selected.connector);
        }
        h
    };
    match toward_connector(topology, at, selected, faults) {
        Step::Relay(h) => Step::Relay(tag(h)),
        Step::RelayThenEnd(h, end) => Step::RelayThenEnd(tag(h), end),
        end @ Step::End(_) => end,
    }
}

fn toward_connector(
    topology: &Topology,
    at: ServerId,
    selected: &Selected,
    faults: &Faults,
) -> Step {
    let here = site_of(topology, at);
    let id = selected.connector;
    let connector = topology.connector(id);
    let via_edge = connector
        .source_servers
        .iter()
        .any(|&s| topology.server(s).has_role(Role::Edge));
    note(Read::EdgeSourced(id));
    if via_edge {
        note(Read::Sources(id));
        let subscribed = selected.primary_site();
        if here == subscribed {
            let mut edges = connector.source_servers.clone();
            edges.sort_by_key(|&s| crate::model::name_key(&topology.server(s).name));
            return match edges.iter().find(|&&e| faults.server_up(topology, e)) {
                // The Edge sends with the EdgeSync connector of its subscription.
                Some(&edge) => Step::RelayThenEnd(
                    hop(topology, at, edge, HopKind::RelayToEdge),
                    RouteEnd::External {
                        from: edge,
                        connector: selected.connector,
                        via_frontend: false,
                    },
                ),
                None => Step::End(RouteEnd::Queued {
                    at,
                    reason: format!("no Edge server of {} is up", connector.name),
                    waiting_for: Some(HopKind::RelayToEdge),
                }),
            };
        }
        if let Some(step) = toward_hub(topology, at, &selected.path, faults, Some(&[])) {
            return step;
        }
        let site_servers: Vec<ServerId> = topology.transport_servers_in(subscribed).collect();
        return to_servers(
            topology,
            at,
            &site_servers,
            HopKind::RelayToRemoteSite,
            Some(&selected.path),
            faults,
        );
    }
    note(Read::SourcesIn(id, here));
    if connector.source_servers.contains(&at) {
        note(Read::Settings(id));
        if !connector.frontend_proxy {
            return Step::End(RouteEnd::External {
                from: at,
                connector: selected.connector,
                via_frontend: false,
            });
        }
        return frontend_proxy(topology, at, selected.connector, faults);
    }
    // The servers preferred in a hub site on the way, and the targets in the primary site.
    if super::reads::active() {
        for &site in &selected.path.sites {
            note(Read::SourcesIn(id, site));
        }
    }
    if let Some(step) = toward_hub(
        topology,
        at,
        &selected.path,
        faults,
        Some(&connector.source_servers),
    ) {
        return step;
    }
    let mut group = connector.source_servers.clone();
    group.sort_by_key(|&s| crate::model::name_key(&topology.server(s).name));
    to_servers_of(
        topology,
        at,
        &group,
        HopKind::RelayToConnectorSourceServers,
        Some(&selected.path),
        faults,
        Some(id),
    )
}

/// Outbound proxy through Front End Transport: the Front End service on the same server when it
/// has one, else one in the local site (reference §1.9).
fn frontend_proxy(
    topology: &Topology,
    at: ServerId,
    connector: ConnectorId,
    faults: &Faults,
) -> Step {
    let here = site_of(topology, at);
    let candidates = std::iter::once(at)
        .chain(topology.servers_sorted_by_name())
        .find(|&s| {
            let server = topology.server(s);
            server.has_role(Role::Frontend)
                && server.site == Some(here)
                && faults.server_up(topology, s)
        });
    match candidates {
        // The Front End service sends with the route's settings (XPROXYTO, reference §3.8).
        Some(fet) => Step::RelayThenEnd(
            hop(topology, at, fet, HopKind::FrontendProxy),
            RouteEnd::External {
                from: fet,
                connector,
                via_frontend: true,
            },
        ),
        None => Step::End(RouteEnd::Queued {
            at,
            waiting_for: Some(HopKind::FrontendProxy),
            reason: format!(
                "no Front End Transport service is available in site {}",
                topology.site(here).name
            ),
        }),
    }
}

/// The first hub site strictly between the current site and the destination on `path`, if
/// any: the message must stop there (reference §1.6).
fn toward_hub(
    topology: &Topology,
    at: ServerId,
    path: &SitePath,
    faults: &Faults,
    primary_hub: Option<&[ServerId]>,
) -> Option<Step> {
    let here = site_of(topology, at);
    let start = path.sites.iter().position(|&s| s == here)?;
    let last = path.sites.len() - 1;
    // A primary site that is itself a hub site is still a hub site: the sender connects only to
    // its servers, preferring those of the destination group (reference §1.5).
    let end = if primary_hub.is_some() && topology.site(path.sites[last]).hub {
        last + 1
    } else {
        last
    };
    let hub = path
        .sites
        .get(start + 1..end)?
        .iter()
        .copied()
        .find(|&s| topology.site(s).hub)?;
    let hub_index = path
        .sites
        .iter()
        .position(|&s| s == hub)
        .expect("hub is on the path");
    let prefix = SitePath {
        sites: path.sites[start..=hub_index].to_vec(),
        links: path.links[start..hub_index].to_vec(),
        cost: 0,
    };
    let preferred = primary_hub.unwrap_or(&[]);
    let mut servers: Vec<ServerId> = topology
        .transport_servers_in(hub)
        .filter(|s| preferred.contains(s))
        .collect();
    servers.extend(
        topology
            .transport_servers_in(hub)
            .filter(|s| !preferred.contains(s)),
    );
    Some(to_servers(
        topology,
        at,
        &servers,
        HopKind::RelayToHubSite,
        Some(&prefix),
        faults,
    ))
}

/// Whether `at` can open a connection to `to`: both up, the network between their sites up,
/// and the target's site accepting mail from other sites (`InboundMailEnabled`).
fn can_connect(topology: &Topology, at: ServerId, to: ServerId, faults: &Faults) -> bool {
    if !faults.server_up(topology, to) {
        return false;
    }
    let (a, b) = (site_of(topology, at), site_of(topology, to));
    if a == b {
        return true;
    }
    topology.site(b).inbound_mail_enabled
        && faults.site_up(a)
        && faults.site_up(b)
        && faults.sites_connected(&topology.site_graph, a, b)
}

/// Relay to the first reachable server of `group` in its primary site (the closest site of the
/// group; `path` leads there), with Exchange's fallback (reference §1.5).
fn to_servers(
    topology: &Topology,
    at: ServerId,
    group: &[ServerId],
    kind: HopKind,
    path: Option<&SitePath>,
    faults: &Faults,
) -> Step {
    to_servers_of(topology, at, group, kind, path, faults, None)
}

/// [`to_servers`]; `connector`: `group` is that connector's source servers (its fallback to
/// other sites reads all of them, [`Read::Sources`]).
fn to_servers_of(
    topology: &Topology,
    at: ServerId,
    group: &[ServerId],
    kind: HopKind,
    path: Option<&SitePath>,
    faults: &Faults,
    connector: Option<ConnectorId>,
) -> Step {
    let here = site_of(topology, at);
    let mut sites: Vec<SiteId> = group.iter().map(|&s| site_of(topology, s)).collect();
    sites.sort();
    sites.dedup();
    let primary = path.and_then(|p| p.sites.last().copied()).unwrap_or(here);
    let by_name = |mut v: Vec<ServerId>| {
        v.sort_by_key(|&s| crate::model::name_key(&topology.server(s).name));
        v
    };
    // 1. The target servers: the group's servers in the primary site, in the caller's order.
    let targets: Vec<ServerId> = group
        .iter()
        .copied()
        .filter(|&s| site_of(topology, s) == primary)
        .collect();
    if let Some(&to) = targets.iter().find(|&&s| {
        (s != at || kind == HopKind::MailboxDelivery) && can_connect(topology, at, s, faults)
    }) {
        return relay(topology, at, to, kind);
    }
    // 2. The group's servers in other sites, closest site first.
    if let Some(id) = connector {
        note(Read::Sources(id));
    }
    let mut others: Vec<SiteId> = sites.iter().copied().filter(|&s| s != primary).collect();
    while let Some(path_to) = closest(topology, here, &others) {
        let site = *path_to.sites.last().expect("non-empty path");
        others.retain(|&s| s != site);
        let in_site = by_name(
            group
                .iter()
                .copied()
                .filter(|&s| site_of(topology, s) == site)
                .collect(),
        );
        if let Some(&to) = in_site
            .iter()
            .find(|&&s| s != at && can_connect(topology, at, s, faults))
        {
            return relay(topology, at, to, kind);
        }
    }
    if primary == here {
        // A group with servers in the local site has no further options (reference §1.5).
        let names: Vec<&str> = targets
            .iter()
            .map(|&s| topology.server(s).name.as_str())
            .collect();
        return Step::End(RouteEnd::Queued {
            at,
            reason: format!("{} unreachable", names.join(", ")),
            waiting_for: Some(kind),
        });
    }
    let reason = format!(
        "{} in site {} unreachable; queued at the point of failure",
        if kind == HopKind::RelayToHubSite {
            "hub site servers".to_owned()
        } else {
            describe(topology, &targets)
        },
        topology.site(primary).name
    );
    // 3. Any other Transport server of the primary site; 4. back off along the path.
    let back_off: Vec<SiteId> = path.map_or_else(Vec::new, |p| {
        let start = p.sites.iter().position(|&s| s == here).unwrap_or(0);
        p.sites[start + 1..].iter().rev().copied().collect()
    });
    for site in back_off {
        if let Some(to) = topology
            .transport_servers_in(site)
            .find(|&s| s != at && can_connect(topology, at, s, faults))
        {
            return Step::RelayThenEnd(
                hop(topology, at, to, HopKind::RelayToRemoteSite),
                RouteEnd::Queued {
                    at: to,
                    reason,
                    waiting_for: Some(kind),
                },
            );
        }
    }
    Step::End(RouteEnd::Queued {
        at,
        reason,
        waiting_for: Some(kind),
    })
}

fn describe(topology: &Topology, servers: &[ServerId]) -> String {
    let names: Vec<&str> = servers
        .iter()
        .map(|&s| topology.server(s).name.as_str())
        .collect();
    if names.is_empty() {
        "no target server".to_owned()
    } else {
        names.join(", ")
    }
}

/// A relay; mailbox delivery ends the route at the mailbox.
fn relay(topology: &Topology, at: ServerId, to: ServerId, kind: HopKind) -> Step {
    let h = hop(topology, at, to, kind);
    if kind == HopKind::MailboxDelivery {
        Step::RelayThenEnd(h, RouteEnd::Mailbox { server: to })
    } else {
        Step::Relay(h)
    }
}
