//! Topology diagrams for `tlsflow graph` and the html report (SPEC §2, §6.2): Graphviz DOT,
//! Mermaid, and a self-contained SVG laid out here (`diagram/svg.rs`), each with an optional
//! path drawn in red. Every renderer walks the topology's vectors in order, so the same
//! topology gives the same bytes; names are escaped for the target syntax.

mod svg;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::model::{LinkId, Role, SendConnector, Server, ServerId, SiteId, SiteLink, Topology};

pub use svg::svg;

/// A path to draw in red: servers in order, optionally ending at an external host name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Highlight {
    pub servers: Vec<ServerId>,
    pub external_host: Option<String>,
}

/// The part of `topology` a finding's path runs through, to draw instead of the whole
/// organisation (issue 16: from four sites on, the whole diagram hides the violation): the sites
/// of the path's servers (an Edge counts as its subscribed site), their neighbours over site
/// links, the servers, links and connectors among them, and the highlight renumbered for that
/// view. The view is for drawing only: it keeps no mailbox, rule, DAG or external domain.
/// `None` without a highlighted server.
pub fn focus(topology: &Topology, highlight: &Highlight) -> Option<(Topology, Highlight)> {
    let site_of = |s: ServerId| {
        let server = topology.server(s);
        server.site.or(server.subscribed_site)
    };
    let on_path: std::collections::BTreeSet<SiteId> = highlight
        .servers
        .iter()
        .filter_map(|&s| site_of(s))
        .collect();
    if on_path.is_empty() {
        return None;
    }
    let mut keep = on_path.clone();
    for link in topology.site_links.iter() {
        if link.sites.iter().any(|s| on_path.contains(s)) {
            keep.extend(link.sites.iter().copied());
        }
    }
    let mut site_map = vec![None; topology.sites.len()];
    let mut sites = Vec::new();
    for (i, site) in topology.sites.iter().enumerate() {
        if keep.contains(&SiteId::from_index(i)) {
            site_map[i] = Some(SiteId::from_index(sites.len()));
            sites.push(site.clone());
        }
    }
    let map_site = |s: Option<SiteId>| s.and_then(|s| site_map[s.index()]);
    let mut server_map = vec![None; topology.servers.len()];
    let mut servers = Vec::new();
    for (i, server) in topology.servers.iter().enumerate() {
        let site = map_site(server.site);
        let subscribed = map_site(server.subscribed_site);
        if site.is_some() || (server.site.is_none() && subscribed.is_some()) {
            server_map[i] = Some(ServerId::from_index(servers.len()));
            let mut server = server.clone();
            server.site = site;
            server.subscribed_site = subscribed;
            servers.push(server);
        }
    }
    let site_links: Vec<SiteLink> = topology
        .site_links
        .iter()
        .filter_map(|link| {
            let sites: Vec<SiteId> = link
                .sites
                .iter()
                .filter_map(|&s| map_site(Some(s)))
                .collect();
            (sites.len() >= 2).then(|| SiteLink {
                sites,
                ..link.clone()
            })
        })
        .collect();
    let send_connectors: Vec<SendConnector> = topology
        .send_connectors
        .iter()
        .filter_map(|c| {
            let source_servers: Vec<ServerId> = c
                .source_servers
                .iter()
                .filter_map(|s| server_map[s.index()])
                .collect();
            (!source_servers.is_empty()).then(|| SendConnector {
                source_servers,
                ..c.clone()
            })
        })
        .collect();
    let site_graph = crate::model::SiteGraph::of(&sites, &site_links);
    let index = crate::model::ServerIndex::new(&servers, sites.len(), &[]);
    let view = Topology {
        organization: format!(
            "{}, the sites of this path and their neighbours",
            topology.organization
        ),
        profile: topology.profile.clone(),
        accepted_domains: topology.accepted_domains.clone(),
        sites: sites.into(),
        site_links: site_links.into(),
        servers: servers.into(),
        dags: Arc::from([]),
        send_connectors,
        transport_rules: Arc::from([]),
        transport_config: topology.transport_config.clone(),
        mailboxes: Arc::from([]),
        external_domains: Arc::from([]),
        site_graph,
        index: Arc::new(index),
        accepted_index: topology.accepted_index.clone(),
        mailbox_index: Arc::default(),
    };
    let highlight = Highlight {
        servers: highlight
            .servers
            .iter()
            .filter_map(|s| server_map[s.index()])
            .collect(),
        external_host: highlight.external_host.clone(),
    };
    Some((view, highlight))
}

/// The red of highlighted paths, shared by every format.
const RED: &str = "#d62728";

/// Graphviz DOT: sites as clusters with their servers inside, site links as edges labelled with
/// their routing cost (exchange_cost if set, shown as "cost 100 (Exchange 10)"), send connectors
/// as nodes attached to their source servers, an "Internet" node, hub sites marked, Edge servers
/// outside any site attached to their subscribed site; the highlighted hops in red.
pub fn dot(topology: &Topology, highlight: Option<&Highlight>) -> String {
    let hops = hops(topology, highlight);
    let marked = |s: ServerId| hops.iter().any(|&(a, b)| a == s || b == s);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// {}: AD sites, site links and Send connectors (tlsflow graph)",
        topology.organization.replace(['\n', '\r'], " ")
    );
    let _ = writeln!(out, "digraph {} {{", dot_quote(&topology.organization));
    out.push_str(concat!(
        "  graph [rankdir=LR, compound=true, newrank=true, nodesep=0.35, ranksep=0.9, ",
        "fontname=\"sans-serif\", fontsize=13];\n",
        "  node [fontname=\"sans-serif\", fontsize=12, shape=box, style=\"rounded,filled\", ",
        "fillcolor=\"#f5f7fa\", color=\"#8a94a3\"];\n",
        "  edge [fontname=\"sans-serif\", fontsize=11, color=\"#6b7280\"];\n",
    ));

    for (i, site) in topology.sites.iter().enumerate() {
        let id = SiteId::from_index(i);
        let mut label = site.name.clone();
        if site.hub {
            label.push_str(" (hub site)");
        }
        if !site.inbound_mail_enabled {
            label.push_str(" (inbound mail disabled)");
        }
        let _ = writeln!(out, "\n  subgraph \"cluster_site_{i}\" {{");
        let _ = writeln!(out, "    label={};", dot_quote(&label));
        let (fill, border) = if site.hub {
            ("#fff7e0", "#b7791f")
        } else {
            ("#eef3fb", "#5b7db1")
        };
        let _ = writeln!(
            out,
            "    style=\"rounded,filled\"; fillcolor=\"{fill}\"; color=\"{border}\";"
        );
        let mut any = false;
        for (s, server) in servers_of_site(topology, id) {
            any = true;
            dot_server(&mut out, "    ", s, server, marked(s));
        }
        if !any {
            let _ = writeln!(
                out,
                "    \"site_{i}\" [label=\"(no servers)\", shape=plaintext, style=\"\"];"
            );
        }
        out.push_str("  }\n");
    }

    if !topology.site_links.is_empty() {
        out.push_str(
            "\n  // Site links: AD cost, and the Exchange cost that replaces it when set.\n",
        );
    }
    for (link, a, b) in oriented_pairs(topology) {
        let link = topology.link(link);
        let _ = writeln!(
            out,
            "  {} -> {} [dir=none, ltail=\"cluster_site_{}\", lhead=\"cluster_site_{}\", label={}];",
            dot_anchor(topology, a),
            dot_anchor(topology, b),
            a.index(),
            b.index(),
            dot_quote(&format!("{}\n{}", link.name, cost_label(link))),
        );
    }

    let edges: Vec<(ServerId, &Server)> = edge_servers(topology).collect();
    if !edges.is_empty() {
        out.push_str("\n  // Edge servers: in the perimeter network, subscribed to a site.\n");
    }
    for &(s, server) in &edges {
        dot_server(&mut out, "  ", s, server, marked(s));
        if let Some(site) = server.subscribed_site {
            let _ = writeln!(
                out,
                "  {} -> \"server_{}\" [ltail=\"cluster_site_{}\", style=dashed, label=\"Edge subscription\"];",
                dot_anchor(topology, site),
                s.index(),
                site.index(),
            );
        }
    }

    out.push_str("\n  // Send connectors, from their source servers to the Internet.\n");
    out.push_str(
        "  \"internet\" [label=\"Internet\", shape=ellipse, fillcolor=\"#e0f2fe\", color=\"#0369a1\"];\n",
    );
    for (i, connector) in topology.send_connectors.iter().enumerate() {
        let _ = writeln!(
            out,
            "  \"connector_{i}\" [label={}, shape=cds, margin=\"0.2,0.06\", fillcolor=\"#e8f5e9\", color=\"#2f855a\"];",
            dot_quote(&connector_lines(connector).join("\n")),
        );
        for s in &connector.source_servers {
            let _ = writeln!(out, "  \"server_{}\" -> \"connector_{i}\";", s.index());
        }
        let _ = writeln!(out, "  \"connector_{i}\" -> \"internet\";");
    }

    if let Some(h) =
        highlight.filter(|_| !hops.is_empty() || external(topology, highlight).is_some())
    {
        out.push_str("\n  // The highlighted path.\n");
        for &(a, b) in &hops {
            let _ = writeln!(
                out,
                "  \"server_{}\" -> \"server_{}\" [color=\"{RED}\", penwidth=3, constraint=false];",
                a.index(),
                b.index()
            );
        }
        if let (Some(host), Some(last)) = (&h.external_host, external(topology, highlight)) {
            let _ = writeln!(
                out,
                "  \"server_{}\" -> \"internet\" [color=\"{RED}\", fontcolor=\"{RED}\", penwidth=3, constraint=false, label={}];",
                last.index(),
                dot_quote(host),
            );
        }
    }
    out.push_str("}\n");
    out
}

fn dot_server(out: &mut String, indent: &str, s: ServerId, server: &Server, marked: bool) {
    let label = format!("{}\n{}", server.name, roles_label(server));
    let style = if server.has_role(Role::Edge) {
        ", fillcolor=\"#fff1e6\", color=\"#c05621\""
    } else {
        ""
    };
    let mark = if marked {
        format!(", color=\"{RED}\", penwidth=2")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{indent}\"server_{}\" [label={}{style}{mark}];",
        s.index(),
        dot_quote(&label)
    );
}

/// A node inside the site's cluster, for edges to and from the cluster (`ltail`/`lhead`).
fn dot_anchor(topology: &Topology, site: SiteId) -> String {
    match servers_of_site(topology, site).next() {
        Some((s, _)) => format!("\"server_{}\"", s.index()),
        None => format!("\"site_{}\"", site.index()),
    }
}

/// A DOT double-quoted string. `\n` in `text` becomes a centred line break; every other
/// backslash is doubled so that names cannot smuggle in escapes such as `\N` or `\l`.
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Mermaid flowchart (graph LR) with the same content (subgraphs per site).
pub fn mermaid(topology: &Topology, highlight: Option<&Highlight>) -> String {
    let hops = hops(topology, highlight);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "%% {}: AD sites, site links and Send connectors (tlsflow graph)",
        topology.organization.replace(['\n', '\r'], " ")
    );
    out.push_str("graph LR\n");
    // Mermaid numbers links in the order they are written; linkStyle refers to these numbers.
    let mut links = 0usize;

    for (i, site) in topology.sites.iter().enumerate() {
        let id = SiteId::from_index(i);
        let mut title = mermaid_text(&site.name);
        if site.hub {
            title.push_str(" (hub site)");
        }
        if !site.inbound_mail_enabled {
            title.push_str(" (inbound mail disabled)");
        }
        let _ = writeln!(out, "  subgraph site_{i}[\"{title}\"]");
        let mut any = false;
        for (s, server) in servers_of_site(topology, id) {
            any = true;
            let _ = writeln!(
                out,
                "    server_{}[\"{}\"]",
                s.index(),
                mermaid_server(server)
            );
        }
        if !any {
            let _ = writeln!(out, "    site_{i}_empty[\"(no servers)\"]");
        }
        out.push_str("  end\n");
        if site.hub {
            let _ = writeln!(out, "  style site_{i} fill:#fff7e0,stroke:#b7791f");
        }
    }

    for (link, a, b) in oriented_pairs(topology) {
        let link = topology.link(link);
        let _ = writeln!(
            out,
            "  site_{} ---|\"{}: {}\"| site_{}",
            a.index(),
            mermaid_text(&link.name),
            cost_label(link),
            b.index()
        );
        links += 1;
    }

    for (s, server) in edge_servers(topology) {
        let _ = writeln!(
            out,
            "  server_{}[\"{}\"]",
            s.index(),
            mermaid_server(server)
        );
        let _ = writeln!(
            out,
            "  style server_{} fill:#fff1e6,stroke:#c05621",
            s.index()
        );
        if let Some(site) = server.subscribed_site {
            let _ = writeln!(
                out,
                "  site_{} -.-|\"Edge subscription\"| server_{}",
                site.index(),
                s.index()
            );
            links += 1;
        }
    }

    out.push_str("  internet((\"Internet\"))\n");
    for (i, connector) in topology.send_connectors.iter().enumerate() {
        let label: Vec<String> = connector_lines(connector)
            .iter()
            .map(|l| mermaid_text(l))
            .collect();
        let _ = writeln!(out, "  connector_{i}>\"{}\"]", label.join("<br/>"));
        let _ = writeln!(out, "  style connector_{i} fill:#e8f5e9,stroke:#2f855a");
        for s in &connector.source_servers {
            let _ = writeln!(out, "  server_{} --> connector_{i}", s.index());
            links += 1;
        }
        let _ = writeln!(out, "  connector_{i} --> internet");
        links += 1;
    }

    let mut red_links = Vec::new();
    for &(a, b) in &hops {
        let _ = writeln!(out, "  server_{} ==> server_{}", a.index(), b.index());
        red_links.push(links);
        links += 1;
    }
    if let (Some(host), Some(last)) = (
        highlight.and_then(|h| h.external_host.as_ref()),
        external(topology, highlight),
    ) {
        let _ = writeln!(
            out,
            "  server_{} ==>|\"{}\"| internet",
            last.index(),
            mermaid_text(host)
        );
        red_links.push(links);
    }
    let mut marked: Vec<ServerId> = hops.iter().flat_map(|&(a, b)| [a, b]).collect();
    marked.extend(external(topology, highlight));
    marked.sort_unstable();
    marked.dedup();
    for s in marked {
        let _ = writeln!(
            out,
            "  style server_{} stroke:{RED},stroke-width:3px",
            s.index()
        );
    }
    if !red_links.is_empty() {
        let list: Vec<String> = red_links.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:{RED},stroke-width:3px,color:{RED}",
            list.join(",")
        );
    }
    out
}

fn mermaid_server(server: &Server) -> String {
    format!(
        "{}<br/>{}",
        mermaid_text(&server.name),
        mermaid_text(&roles_label(server))
    )
}

/// Text for inside a Mermaid `"..."` label: characters Mermaid or its HTML labels would read
/// become entity codes (`#34;`), line breaks become spaces.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '#' | '<' | '>' | '&' | '`' | '|' => {
                let _ = write!(out, "#{};", u32::from(c));
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The consecutive server pairs of the highlight, without repeats and ids of another topology.
fn hops(topology: &Topology, highlight: Option<&Highlight>) -> Vec<(ServerId, ServerId)> {
    let Some(h) = highlight else {
        return Vec::new();
    };
    let valid: Vec<ServerId> = h
        .servers
        .iter()
        .copied()
        .filter(|s| s.index() < topology.servers.len())
        .collect();
    valid
        .windows(2)
        .filter(|w| w[0] != w[1])
        .map(|w| (w[0], w[1]))
        .collect()
}

/// The server that hands the highlighted message to `external_host`, when there is one.
fn external(topology: &Topology, highlight: Option<&Highlight>) -> Option<ServerId> {
    let h = highlight?;
    h.external_host.as_ref()?;
    h.servers
        .iter()
        .copied()
        .rfind(|s| s.index() < topology.servers.len())
}

/// The servers of a site, in file order.
fn servers_of_site(
    topology: &Topology,
    site: SiteId,
) -> impl Iterator<Item = (ServerId, &Server)> + '_ {
    topology
        .servers
        .iter()
        .enumerate()
        .filter(move |(_, s)| s.site == Some(site))
        .map(|(i, s)| (ServerId::from_index(i), s))
}

/// Servers outside every site (Edge servers), in file order.
fn edge_servers(topology: &Topology) -> impl Iterator<Item = (ServerId, &Server)> + '_ {
    topology
        .servers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.site.is_none())
        .map(|(i, s)| (ServerId::from_index(i), s))
}

/// Every pair of distinct sites a link joins, in file order (a link may name more than two).
fn site_pairs(topology: &Topology) -> Vec<(LinkId, SiteId, SiteId)> {
    let mut pairs = Vec::new();
    for (l, link) in topology.site_links.iter().enumerate() {
        for (i, &a) in link.sites.iter().enumerate() {
            for &b in &link.sites[i + 1..] {
                if a != b && a.index() < topology.sites.len() && b.index() < topology.sites.len() {
                    pairs.push((LinkId::from_index(l), a, b));
                }
            }
        }
    }
    pairs
}

/// Per site, its neighbours through site links (sorted, without repeats).
fn adjacency(topology: &Topology, pairs: &[(LinkId, SiteId, SiteId)]) -> Vec<Vec<usize>> {
    let mut adjacent = vec![Vec::new(); topology.sites.len()];
    for &(_, a, b) in pairs {
        adjacent[a.index()].push(b.index());
        adjacent[b.index()].push(a.index());
    }
    for list in &mut adjacent {
        list.sort_unstable();
        list.dedup();
    }
    adjacent
}

/// BFS layers of the site graph from the sites that hold connector source servers (an Edge
/// server counts for its subscribed site): layer 0 is nearest the Internet, drawn rightmost.
fn layers(topology: &Topology, adjacent: &[Vec<usize>]) -> Vec<usize> {
    let n = topology.sites.len();
    let mut layer = vec![usize::MAX; n];
    let mut queue = VecDeque::new();
    for connector in &topology.send_connectors {
        for &s in &connector.source_servers {
            let server = topology.server(s);
            if let Some(site) = server.site.or(server.subscribed_site)
                && layer[site.index()] == usize::MAX
            {
                layer[site.index()] = 0;
                queue.push_back(site.index());
            }
        }
    }
    bfs(&mut layer, &mut queue, adjacent);
    // No connector (or sites no link reaches, which validation forbids): start a new BFS one
    // layer beyond the deepest so far, so that every site gets a column.
    for start in 0..n {
        if layer[start] != usize::MAX {
            continue;
        }
        if queue.is_empty() && !layer.contains(&0) {
            layer[start] = 0;
        } else {
            layer[start] = layer
                .iter()
                .filter(|&&l| l != usize::MAX)
                .max()
                .map_or(0, |m| m + 1);
        }
        queue.push_back(start);
        bfs(&mut layer, &mut queue, adjacent);
    }
    layer
}

fn bfs(layer: &mut [usize], queue: &mut VecDeque<usize>, adjacent: &[Vec<usize>]) {
    while let Some(s) = queue.pop_front() {
        for &t in &adjacent[s] {
            if layer[t] == usize::MAX {
                layer[t] = layer[s] + 1;
                queue.push_back(t);
            }
        }
    }
}

/// The site pairs, each written from the site farther from the connectors to the nearer one,
/// so that a left-to-right layout puts the Internet on the right, as the SVG does.
fn oriented_pairs(topology: &Topology) -> Vec<(LinkId, SiteId, SiteId)> {
    let pairs = site_pairs(topology);
    let layer = layers(topology, &adjacency(topology, &pairs));
    pairs
        .into_iter()
        .map(|(link, a, b)| {
            if layer[a.index()] < layer[b.index()] {
                (link, b, a)
            } else {
                (link, a, b)
            }
        })
        .collect()
}

/// "cost 100", or "cost 100 (Exchange 10)" when an Exchange cost replaces the AD cost.
fn cost_label(link: &SiteLink) -> String {
    match link.exchange_cost {
        Some(exchange) => format!("cost {} (Exchange {exchange})", link.cost),
        None => format!("cost {}", link.cost),
    }
}

fn roles_label(server: &Server) -> String {
    let roles: Vec<&str> = server.roles.iter().map(|r| r.as_str()).collect();
    roles.join(", ")
}

/// A connector as up to three lines: its name, its address spaces, and what is not default.
fn connector_lines(connector: &SendConnector) -> Vec<String> {
    let spaces: Vec<String> = connector
        .address_spaces
        .iter()
        .map(|a| format!("SMTP:{};{}", a.pattern, a.cost))
        .collect();
    let mut flags: Vec<String> = Vec::new();
    if !connector.enabled {
        flags.push("disabled".to_owned());
    }
    if connector.scoped {
        flags.push("scoped".to_owned());
    }
    if connector.require_tls {
        flags.push(match connector.tls_auth_level {
            Some(level) => format!("RequireTLS {level}"),
            None => "RequireTLS".to_owned(),
        });
    }
    if connector.domain_secure {
        flags.push("Domain Secure".to_owned());
    }
    if connector.frontend_proxy {
        flags.push("Front End proxy".to_owned());
    }
    if !connector.dns_routing {
        flags.push(format!("smart host {}", connector.smart_hosts.join(", ")));
    }
    let mut lines = vec![connector.name.clone(), spaces.join(", ")];
    if !flags.is_empty() {
        lines.push(flags.join(", "));
    }
    lines
}
