//! The SVG diagram, laid out here rather than by Graphviz: sites in columns by their distance
//! (in site links) from the sites that hold connector source servers, those sites rightmost;
//! then an Edge column, a connector column and the Internet on the right edge. Links run
//! between box edges through the gaps between columns, so no line crosses a box it does not
//! belong to. The file is self-contained: presentation attributes only, no scripts, no links.

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::model::{LinkId, SendConnector, ServerId, Site, SiteId, Topology};

use super::{
    Highlight, RED, adjacency, connector_lines, cost_label, edge_servers, external, hops, layers,
    roles_label, servers_of_site, site_pairs,
};

const FONT: u32 = 12;
const TITLE_FONT: u32 = 13;
/// Padding inside a site box; the highlight's lanes run in it.
const PAD: i32 = 10;
const TITLE_H: i32 = 30;
const ROW_H: i32 = 22;
const ROW_GAP: i32 = 4;
const LINE_H: i32 = 16;
/// Vertical gap between boxes of one column (a link label fits in it).
const BOX_GAP: i32 = 48;
const MARGIN: i32 = 24;
const HEADER_H: i32 = 36;
const MIN_SITE_W: i32 = 170;

const INK: &str = "#1f2937";
const MUTED: &str = "#4b5563";
const LINK: &str = "#5b6b7f";
const CONNECTOR: &str = "#2f855a";
const EDGE: &str = "#c05621";

/// A self-contained SVG (no external fonts, scripts, or links; inline styles only), laid out in
/// Rust: a layered layout of the sites (BFS layers from the site(s) holding Internet connector
/// source servers), each site a rounded box with its name (and "hub" marker) and its servers
/// listed inside with roles, site links between box edges with the cost label at the midpoint,
/// connectors drawn as small labelled shapes right of their source servers' site with a line to
/// an "Internet" box on the right edge, Edge servers as boxes between their site and the
/// Internet. The highlighted path is drawn in red over the rest (thicker red lines between the
/// servers' positions, following the site links, and to the Internet box if external_host is
/// set, labelled with the host).
pub fn svg(topology: &Topology, highlight: Option<&Highlight>) -> String {
    let host = highlight.and_then(|h| h.external_host.as_deref());
    let layout = Layout::new(topology, host);
    let red = Red::new(topology, &layout, highlight);
    let legend = red.legend.as_ref().map(|l| (l, text_width(l, FONT, true)));
    let width = layout
        .width
        .max(legend.map_or(0, |(_, w)| w + 2 * MARGIN))
        .max(text_width(&header(topology), TITLE_FONT, true) + 2 * MARGIN);
    let height = layout.height + if legend.is_some() { 26 } else { 0 };

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"{FONT}\" \
         role=\"img\" aria-label=\"{}\">",
        xml(&header(topology))
    );
    let _ = writeln!(out, "<title>{}</title>", xml(&header(topology)));
    out.push_str(concat!(
        "<defs>",
        "<marker id=\"tlsflow-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" ",
        "markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\">",
        "<path d=\"M0 0L10 5L0 10z\" fill=\"#2f855a\"/></marker>",
    ));
    if !red.paths.is_empty() {
        let _ = write!(
            out,
            "<marker id=\"tlsflow-arrow-red\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
             markerUnits=\"userSpaceOnUse\" markerWidth=\"11\" markerHeight=\"11\" orient=\"auto\">\
             <path d=\"M0 0L10 5L0 10z\" fill=\"{RED}\"/></marker>"
        );
    }
    out.push_str("</defs>\n");
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        out,
        "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"{TITLE_FONT}\" font-weight=\"bold\" fill=\"{INK}\">{}</text>",
        MARGIN + 4,
        xml(&header(topology))
    );

    layout.draw_lines(&mut out, topology);
    layout.draw_boxes(&mut out, topology);
    red.draw_paths(&mut out, &layout);
    // Labels go over the red path too: a line may pass under a label, a label never under a line.
    layout.draw_link_labels(&mut out, topology);
    red.draw_host(&mut out);
    if let Some((text, _)) = legend {
        let _ = writeln!(
            out,
            "<text x=\"{MARGIN}\" y=\"{}\" font-weight=\"bold\" fill=\"{RED}\">{}</text>",
            height - MARGIN + 6,
            xml(text)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn header(topology: &Topology) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}: {}, {}, {}",
        topology.organization,
        plural(topology.sites.len(), "AD site", "AD sites"),
        plural(topology.servers.len(), "server", "servers"),
        plural(
            topology.send_connectors.len(),
            "Send connector",
            "Send connectors"
        ),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pt {
    x: i32,
    y: i32,
}

fn pt(x: i32, y: i32) -> Pt {
    Pt { x, y }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Rect {
    x: i32,
    y: i32,
    w: i32,
    h: i32,
}

impl Rect {
    fn right(self) -> i32 {
        self.x + self.w
    }
    fn bottom(self) -> i32 {
        self.y + self.h
    }
    fn cx(self) -> i32 {
        self.x + self.w / 2
    }
    fn cy(self) -> i32 {
        self.y + self.h / 2
    }
    /// Whether the two rectangles, each grown by `margin`, overlap.
    fn overlaps(self, other: Rect, margin: i32) -> bool {
        self.x - margin < other.right()
            && other.x - margin < self.right()
            && self.y - margin < other.bottom()
            && other.y - margin < self.bottom()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    Top,
    Bottom,
}

struct SiteBox {
    rect: Rect,
    /// The site's servers in file order, each a row inside the box.
    rows: Vec<(ServerId, Rect)>,
}

/// One drawn site link between two sites (a link naming more than two sites gives one per
/// pair). `control` makes it a quadratic curve (two sites of one column, not neighbours).
struct LinkGeom {
    link: usize,
    a: SiteId,
    b: SiteId,
    a_end: (Pt, Side),
    b_end: (Pt, Side),
    control: Option<Pt>,
    label: Rect,
}

struct Layout {
    sites: Vec<SiteBox>,
    links: Vec<LinkGeom>,
    /// Edge servers, in file order.
    edges: Vec<(ServerId, Rect)>,
    /// Per site: where lines to its subscribed Edge servers leave the box (right border).
    ports: Vec<Pt>,
    /// Per connector, in the topology's order.
    connectors: Vec<Rect>,
    internet: Rect,
    width: i32,
    height: i32,
}

impl Layout {
    fn new(topology: &Topology, host: Option<&str>) -> Layout {
        let pairs = site_pairs(topology);
        let n = topology.sites.len();
        let adjacent = adjacency(topology, &pairs);
        let layer = layers(topology, &adjacent);
        // Columns left to right: the farthest layer first, the connector sites last.
        let mut columns = order_layers(&layer, &adjacent);
        columns.reverse();
        let mut column_of = vec![0usize; n];
        let mut slot_of = vec![0usize; n];
        for (c, column) in columns.iter().enumerate() {
            for (k, &s) in column.iter().enumerate() {
                column_of[s] = c;
                slot_of[s] = k;
            }
        }

        // Box sizes: one width per column, so that lines leaving a box to the right cross
        // no other box of its column.
        let sizes: Vec<(i32, i32)> = (0..n)
            .map(|s| measure_site(topology, SiteId::from_index(s)))
            .collect();
        let column_w: Vec<i32> = columns
            .iter()
            .map(|c| c.iter().map(|&s| sizes[s].0).max().unwrap_or(MIN_SITE_W))
            .collect();
        let top = MARGIN + HEADER_H;
        // Heights: the connector column stacked from the top; every other box as level as it
        // can be with its neighbours in the column to its right (already placed), in order.
        let mut box_y = vec![top; n];
        for c in (0..columns.len()).rev() {
            let mut next_free = top;
            for &s in &columns[c] {
                let h = sizes[s].1;
                // Level by the middle of the server rows, where links attach.
                let middle = |t: usize| TITLE_H + (sizes[t].1 - TITLE_H - PAD) / 2;
                let right: Vec<i32> = adjacent[s]
                    .iter()
                    .filter(|&&t| column_of[t] == c + 1)
                    .map(|&t| box_y[t] + middle(t))
                    .collect();
                let wanted = match i32::try_from(right.len()) {
                    Ok(count) if count > 0 => right.iter().sum::<i32>() / count - middle(s),
                    _ => top,
                };
                box_y[s] = wanted.max(next_free);
                next_free = box_y[s] + h + BOX_GAP;
            }
        }

        // Kinds of links, and the room their labels need to the left of each column.
        let kinds: Vec<Kind> = pairs
            .iter()
            .map(|&(_, a, b)| {
                let (a, b) = (a.index(), b.index());
                match column_of[a].cmp(&column_of[b]) {
                    Ordering::Less => Kind::Across { left: a, right: b },
                    Ordering::Greater => Kind::Across { left: b, right: a },
                    Ordering::Equal => {
                        let (upper, lower) = if slot_of[a] < slot_of[b] {
                            (a, b)
                        } else {
                            (b, a)
                        };
                        if slot_of[lower] == slot_of[upper] + 1 {
                            Kind::Vertical { upper, lower }
                        } else {
                            Kind::Curve {
                                upper,
                                lower,
                                bulge: 40 + 16 * gaps(slot_of[lower] - slot_of[upper]).min(6),
                            }
                        }
                    }
                }
            })
            .collect();
        let label_sizes: Vec<(i32, i32)> = pairs
            .iter()
            .map(|&(link, _, _)| {
                let link = topology.link(link);
                link_label_size(&link.name, &cost_label(link))
            })
            .collect();
        let mut room_left = vec![0i32; columns.len()];
        let mut gap_left = vec![110i32; columns.len()];
        for (kind, &(w, _)) in kinds.iter().zip(&label_sizes) {
            match *kind {
                Kind::Across { left, right } => {
                    let c = column_of[right];
                    if column_of[left] + 1 == c {
                        gap_left[c] = gap_left[c].max(w + 48);
                    }
                }
                Kind::Curve { upper, bulge, .. } => {
                    let c = column_of[upper];
                    room_left[c] = room_left[c].max(bulge / 2 + 6 + w + 14);
                }
                Kind::Vertical { .. } => {}
            }
        }
        let mut column_x = Vec::with_capacity(columns.len());
        let mut x = MARGIN;
        for c in 0..columns.len() {
            x += if c == 0 {
                room_left[0]
            } else {
                gap_left[c].max(room_left[c])
            };
            column_x.push(x);
            x += column_w[c];
        }

        let mut sites: Vec<SiteBox> = (0..n)
            .map(|_| SiteBox {
                rect: Rect::default(),
                rows: Vec::new(),
            })
            .collect();
        for (c, column) in columns.iter().enumerate() {
            for &s in column {
                let y = box_y[s];
                let rect = Rect {
                    x: column_x[c],
                    y,
                    w: column_w[c],
                    h: sizes[s].1,
                };
                let mut row_y = y + TITLE_H;
                for (server, _) in servers_of_site(topology, SiteId::from_index(s)) {
                    let row = Rect {
                        x: rect.x + PAD,
                        y: row_y,
                        w: rect.w - 2 * PAD,
                        h: ROW_H,
                    };
                    sites[s].rows.push((server, row));
                    row_y += ROW_H + ROW_GAP;
                }
                sites[s].rect = rect;
            }
        }
        let boxes: Vec<Rect> = sites.iter().map(|s| s.rect).collect();
        let links = link_geometry(&pairs, &kinds, &label_sizes, &boxes);
        let ports: Vec<Pt> = boxes
            .iter()
            .map(|r| pt(r.right(), r.y + TITLE_H / 2))
            .collect();

        let mut layout = Layout {
            sites,
            links,
            edges: Vec::new(),
            ports,
            connectors: vec![Rect::default(); topology.send_connectors.len()],
            internet: Rect::default(),
            width: 0,
            height: 0,
        };
        let sites_right = column_x
            .last()
            .map_or(MARGIN, |x| x + column_w.last().unwrap_or(&0));
        layout.place_right_side(topology, sites_right, top, host);
        layout
    }

    /// Places the Edge column, the connector column and the Internet box, right of the sites.
    fn place_right_side(
        &mut self,
        topology: &Topology,
        sites_right: i32,
        top: i32,
        host: Option<&str>,
    ) {
        let edges: Vec<(ServerId, Option<SiteId>, Vec<String>)> = edge_servers(topology)
            .map(|(s, server)| (s, server.subscribed_site, edge_lines(topology, s)))
            .collect();
        let edge_w = edges
            .iter()
            .flat_map(|(_, _, lines)| {
                lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| text_width(l, FONT, i == 0))
            })
            .max()
            .map_or(0, |w| w + 2 * PAD);
        let edge_h = 2 * LINE_H + 14;
        let edge_x = sites_right + 90;
        let connector_x = if edges.is_empty() {
            sites_right + 100
        } else {
            edge_x + edge_w + 80
        };
        let connector_lines: Vec<Vec<String>> = topology
            .send_connectors
            .iter()
            .map(connector_lines)
            .collect();
        let connector_w = connector_lines
            .iter()
            .flat_map(|lines| {
                lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| text_width(l, FONT, i == 0))
            })
            .max()
            .map_or(0, |w| w + 2 * PAD + 14);
        let is_edge_sourced = |c: usize| {
            topology.send_connectors[c]
                .source_servers
                .iter()
                .any(|&s| topology.server(s).site.is_none())
        };

        // Places the connectors sourced (or not) on Edge servers, each level with the mean of
        // its source servers, clear of those placed before.
        let place = |this: &mut Self, placed: &mut Vec<Rect>, edge_sourced: bool| {
            let mut wanted: Vec<(i32, usize)> = (0..topology.send_connectors.len())
                .filter(|&c| is_edge_sourced(c) == edge_sourced)
                .map(|c| (this.mean_source_y(topology, c), c))
                .collect();
            wanted.sort_unstable();
            for (cy, c) in wanted {
                let h = connector_height(connector_lines[c].len());
                let y = free_y(cy - h / 2, h, top, placed, 16);
                let rect = Rect {
                    x: connector_x,
                    y,
                    w: connector_w,
                    h,
                };
                placed.push(rect);
                this.connectors[c] = rect;
            }
        };

        // Connectors of Mailbox servers first, level with their source servers.
        let mut placed: Vec<Rect> = Vec::new();
        place(self, &mut placed, false);

        // Edge servers level with their site's title, clear of the lines that cross their
        // column on the way to a connector.
        let mut obstacles: Vec<Rect> = Vec::new();
        for (c, rect) in self.connectors.iter().enumerate() {
            if is_edge_sourced(c) {
                continue;
            }
            for &s in &topology.send_connectors[c].source_servers {
                if let Some(row) = self.row(s) {
                    let from = pt(row.right(), row.cy());
                    let to = pt(rect.x, rect.cy());
                    let (y1, y2) = (
                        y_at(from, to, edge_x - 8),
                        y_at(from, to, edge_x + edge_w + 8),
                    );
                    obstacles.push(Rect {
                        x: edge_x,
                        y: y1.min(y2) - 8,
                        w: edge_w,
                        h: (y1 - y2).abs() + 16,
                    });
                }
            }
        }
        for (s, site, _) in &edges {
            let cy = site.map_or(top + edge_h / 2, |site| self.ports[site.index()].y);
            let y = free_y(cy - edge_h / 2, edge_h, top, &obstacles, 14);
            let rect = Rect {
                x: edge_x,
                y,
                w: edge_w,
                h: edge_h,
            };
            obstacles.push(rect);
            self.edges.push((*s, rect));
        }

        // Connectors of Edge servers (EdgeSync), level with their Edge servers.
        place(self, &mut placed, true);

        let internet_x = if placed.is_empty() {
            self.edges
                .iter()
                .map(|(_, r)| r.right() + 80)
                .max()
                .unwrap_or(sites_right + 100)
        } else {
            connector_x + connector_w + 70
        };
        let internet_w = 130.max(host.map_or(0, |h| text_width(h, FONT, true) + 34));
        let content_bottom = self
            .sites
            .iter()
            .map(|s| s.rect.bottom())
            .chain(self.edges.iter().map(|(_, r)| r.bottom()))
            .chain(placed.iter().map(|r| r.bottom()))
            .max()
            .unwrap_or(top);
        self.internet = match (
            placed.iter().map(|r| r.cy()).min(),
            placed.iter().map(|r| r.cy()).max(),
        ) {
            (Some(lo), Some(hi)) => Rect {
                x: internet_x,
                y: lo - 40,
                w: internet_w,
                h: hi - lo + 80,
            },
            _ => Rect {
                x: internet_x,
                y: top + (content_bottom - top - 80).max(0) / 2,
                w: internet_w,
                h: 80,
            },
        };
        self.width = self.internet.right() + MARGIN;
        self.height = content_bottom.max(self.internet.bottom()) + MARGIN;
    }

    /// The mean height of a connector's source servers (rows or Edge boxes).
    fn mean_source_y(&self, topology: &Topology, c: usize) -> i32 {
        let ys: Vec<i32> = topology.send_connectors[c]
            .source_servers
            .iter()
            .filter_map(|&s| self.server_rect(s).map(Rect::cy))
            .collect();
        match i32::try_from(ys.len()) {
            Ok(count) if count > 0 => ys.iter().sum::<i32>() / count,
            _ => MARGIN + HEADER_H,
        }
    }

    fn row(&self, server: ServerId) -> Option<Rect> {
        self.sites
            .iter()
            .flat_map(|s| s.rows.iter())
            .find(|(s, _)| *s == server)
            .map(|&(_, r)| r)
    }

    fn edge(&self, server: ServerId) -> Option<Rect> {
        self.edges
            .iter()
            .find(|(s, _)| *s == server)
            .map(|&(_, r)| r)
    }

    fn server_rect(&self, server: ServerId) -> Option<Rect> {
        self.row(server).or_else(|| self.edge(server))
    }

    fn draw_lines(&self, out: &mut String, topology: &Topology) {
        out.push_str("<g fill=\"none\">\n");
        for g in &self.links {
            let mut path = PathBuilder::default();
            path.to(g.a_end.0);
            path.follow(g, g.a);
            let _ = writeln!(
                out,
                "<path d=\"{}\" stroke=\"{LINK}\" stroke-width=\"2\"/>",
                path.d
            );
        }
        for (s, rect) in &self.edges {
            if let Some(site) = topology.server(*s).subscribed_site {
                let port = self.ports[site.index()];
                let _ = writeln!(
                    out,
                    "<path d=\"M{} {} L{} {}\" stroke=\"{EDGE}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
                    port.x,
                    port.y,
                    rect.x,
                    rect.cy()
                );
            }
        }
        for (c, connector) in topology.send_connectors.iter().enumerate() {
            let rect = self.connectors[c];
            let dash = disabled_dash(connector);
            for &s in &connector.source_servers {
                if let Some(from) = self.server_rect(s) {
                    let _ = writeln!(
                        out,
                        "<path d=\"M{} {} L{} {}\" stroke=\"{CONNECTOR}\" stroke-width=\"1.5\"{dash}/>",
                        from.right(),
                        from.cy(),
                        rect.x,
                        rect.cy()
                    );
                }
            }
            let _ = writeln!(
                out,
                "<path d=\"M{} {} L{} {}\" stroke=\"{CONNECTOR}\" stroke-width=\"1.5\"{dash} marker-end=\"url(#tlsflow-arrow)\"/>",
                rect.right(),
                rect.cy(),
                self.internet.x,
                rect.cy()
            );
        }
        out.push_str("</g>\n");
    }

    fn draw_boxes(&self, out: &mut String, topology: &Topology) {
        for (i, site) in topology.sites.iter().enumerate() {
            draw_site(out, site, &self.sites[i], topology);
        }
        for (s, rect) in &self.edges {
            let _ = writeln!(
                out,
                "<rect class=\"edge\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"#fff1e6\" stroke=\"{EDGE}\" stroke-width=\"1.5\"/>",
                rect.x, rect.y, rect.w, rect.h
            );
            for (i, line) in edge_lines(topology, *s).iter().enumerate() {
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\"{} fill=\"{}\">{}</text>",
                    rect.x + PAD,
                    rect.y + 19 + LINE_H * px(i),
                    if i == 0 { " font-weight=\"bold\"" } else { "" },
                    if i == 0 { INK } else { MUTED },
                    xml(line)
                );
            }
        }
        for (c, connector) in topology.send_connectors.iter().enumerate() {
            let r = self.connectors[c];
            let tip = 12;
            let dash = disabled_dash(connector);
            let _ = writeln!(
                out,
                "<path class=\"connector\" d=\"M{} {} H{} L{} {} L{} {} H{} Z\" fill=\"#e8f5e9\" stroke=\"{CONNECTOR}\" stroke-width=\"1.5\"{dash}/>",
                r.x,
                r.y,
                r.right() - tip,
                r.right(),
                r.cy(),
                r.right() - tip,
                r.bottom(),
                r.x
            );
            for (i, line) in connector_lines(connector).iter().enumerate() {
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\"{} fill=\"{}\">{}</text>",
                    r.x + PAD,
                    r.y + 18 + LINE_H * px(i),
                    if i == 0 { " font-weight=\"bold\"" } else { "" },
                    if i == 0 { INK } else { MUTED },
                    xml(line)
                );
            }
        }
        let r = self.internet;
        let _ = writeln!(
            out,
            "<rect class=\"internet\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"18\" fill=\"#e0f2fe\" stroke=\"#0369a1\" stroke-width=\"1.5\"/>",
            r.x, r.y, r.w, r.h
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{TITLE_FONT}\" font-weight=\"bold\" fill=\"#0c4a6e\">Internet</text>",
            r.cx(),
            r.y + 22
        );
    }

    fn draw_link_labels(&self, out: &mut String, topology: &Topology) {
        for g in &self.links {
            let link = &topology.site_links[g.link];
            let r = g.label;
            let _ = writeln!(
                out,
                "<rect class=\"link-label\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"#ffffff\" stroke=\"#cbd5e1\"/>",
                r.x, r.y, r.w, r.h
            );
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\">{}</text>",
                r.cx(),
                r.y + 14,
                xml(&link.name)
            );
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
                r.cx(),
                r.y + 14 + LINE_H,
                xml(&cost_label(link))
            );
        }
    }
}

/// A disabled connector (`Enabled $false`) is drawn dashed, with its lines.
fn disabled_dash(connector: &SendConnector) -> &'static str {
    if connector.enabled {
        ""
    } else {
        " stroke-dasharray=\"5 3\""
    }
}

fn draw_site(out: &mut String, site: &Site, b: &SiteBox, topology: &Topology) {
    let r = b.rect;
    let (fill, stroke) = if site.hub {
        ("#fff7e0", "#b7791f")
    } else {
        ("#eef3fb", "#5b7db1")
    };
    let _ = writeln!(
        out,
        "<rect class=\"site\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
        r.x, r.y, r.w, r.h
    );
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"{TITLE_FONT}\" font-weight=\"bold\" fill=\"{INK}\">{}</text>",
        r.x + PAD,
        r.y + 20,
        xml(&site.name)
    );
    let mut x = r.x + PAD + text_width(&site.name, TITLE_FONT, true) + 8;
    for (badge, fill, ink) in site_badges(site) {
        let w = text_width(badge, FONT, false) + 12;
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"18\" rx=\"9\" fill=\"{fill}\"/>",
            r.y + 7
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{ink}\">{badge}</text>",
            x + w / 2,
            r.y + 20
        );
        x += w + 6;
    }
    if b.rows.is_empty() {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" font-style=\"italic\" fill=\"{MUTED}\">(no servers)</text>",
            r.x + PAD,
            r.y + TITLE_H + 15
        );
    }
    for &(s, row) in &b.rows {
        let server = topology.server(s);
        let _ = writeln!(
            out,
            "<rect class=\"server\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\" fill=\"#ffffff\" stroke=\"#c5ccd6\"/>",
            row.x, row.y, row.w, row.h
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"{INK}\">{}</text>",
            row.x + 8,
            row.y + 15,
            xml(&server.name)
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{MUTED}\">{}</text>",
            row.right() - 8,
            row.y + 15,
            xml(&roles_label(server))
        );
    }
}

/// Badges after a site's name: (text, fill, ink).
fn site_badges(site: &Site) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut badges = Vec::new();
    if site.hub {
        badges.push(("hub site", "#f6c453", "#5f370e"));
    }
    if !site.inbound_mail_enabled {
        badges.push(("inbound off", "#e5e7eb", "#374151"));
    }
    badges
}

/// A site box's width and height.
fn measure_site(topology: &Topology, site: SiteId) -> (i32, i32) {
    let s = topology.site(site);
    let title = text_width(&s.name, TITLE_FONT, true)
        + site_badges(s)
            .iter()
            .map(|(b, _, _)| text_width(b, FONT, false) + 18)
            .sum::<i32>()
        + 8;
    let mut width = MIN_SITE_W.max(title + 2 * PAD);
    let mut rows = 0;
    for (_, server) in servers_of_site(topology, site) {
        rows += 1;
        let row = 8
            + text_width(&server.name, FONT, false)
            + 24
            + text_width(&roles_label(server), FONT, false)
            + 8;
        width = width.max(row + 2 * PAD);
    }
    let height = TITLE_H + (ROW_H + ROW_GAP) * rows.max(1) - ROW_GAP + PAD;
    (width, height)
}

fn edge_lines(topology: &Topology, s: ServerId) -> Vec<String> {
    let server = topology.server(s);
    let second = match server.subscribed_site {
        Some(site) => format!(
            "{}, subscribed to {}",
            roles_label(server),
            topology.site(site).name
        ),
        None => format!("{}, no subscription", roles_label(server)),
    };
    vec![server.name.clone(), second]
}

fn connector_height(lines: usize) -> i32 {
    LINE_H * px(lines) + 12
}

fn link_label_size(name: &str, cost: &str) -> (i32, i32) {
    (
        text_width(name, FONT, false).max(text_width(cost, FONT, false)) + 12,
        2 * LINE_H + 6,
    )
}

#[derive(Clone, Copy)]
enum Kind {
    /// Between neighbouring columns (BFS layers differ by at most one).
    Across { left: usize, right: usize },
    /// Neighbours in one column: a vertical line from the bottom of one to the top of the other.
    Vertical { upper: usize, lower: usize },
    /// Two sites of one column with boxes between them: a curve to the left of the column.
    Curve {
        upper: usize,
        lower: usize,
        bulge: i32,
    },
}

/// The end points of every link, spread along the box sides they attach to and sorted by the
/// position of the other end (so that lines leaving one side do not cross), and the labels.
fn link_geometry(
    pairs: &[(LinkId, SiteId, SiteId)],
    kinds: &[Kind],
    label_sizes: &[(i32, i32)],
    boxes: &[Rect],
) -> Vec<LinkGeom> {
    // Per site, its left and right sides: [(sort key, link index, which end: true = a)].
    let mut sides: Vec<[Vec<(i32, usize, bool)>; 2]> =
        (0..boxes.len()).map(|_| Default::default()).collect();
    let mut ends: Vec<[(Pt, Side); 2]> = vec![[(pt(0, 0), Side::Left); 2]; pairs.len()];
    // Vertical links: how many join each pair of boxes, and the slot of each among them.
    let mut vertical_count: Vec<((usize, usize), usize)> = Vec::new();
    let mut vertical_slot = vec![0i32; pairs.len()];
    for (i, (&(_, a, _), kind)) in pairs.iter().zip(kinds).enumerate() {
        let a = a.index();
        match *kind {
            Kind::Across { left, right } => {
                sides[left][1].push((boxes[right].cy(), i, left == a));
                sides[right][0].push((boxes[left].cy(), i, right == a));
            }
            Kind::Curve { upper, lower, .. } => {
                sides[upper][0].push((boxes[lower].cy(), i, upper == a));
                sides[lower][0].push((boxes[upper].cy(), i, lower == a));
            }
            Kind::Vertical { upper, lower } => {
                let pair = (upper, lower);
                let k =
                    if let Some((_, count)) = vertical_count.iter_mut().find(|(p, _)| *p == pair) {
                        *count += 1;
                        *count - 1
                    } else {
                        vertical_count.push((pair, 1));
                        0
                    };
                vertical_slot[i] = px(k);
            }
        }
    }
    for (s, per_side) in sides.iter_mut().enumerate() {
        let r = boxes[s];
        for (side_i, list) in per_side.iter_mut().enumerate() {
            list.sort_unstable();
            let count = px(list.len()) + 1;
            // Spread over the server rows, below the title: a single link leaves level with
            // the middle row.
            let (top, span) = (r.y + TITLE_H, r.h - TITLE_H - PAD);
            for (k, &(_, i, is_a)) in list.iter().enumerate() {
                let y = top + span * (px(k) + 1) / count;
                let side = if side_i == 0 { Side::Left } else { Side::Right };
                let x = if side == Side::Right { r.right() } else { r.x };
                ends[i][usize::from(!is_a)] = (pt(x, y), side);
            }
        }
    }

    let mut geoms = Vec::with_capacity(pairs.len());
    let mut candidates: Vec<Vec<Rect>> = Vec::with_capacity(pairs.len());
    for (i, (&(link, a, b), kind)) in pairs.iter().zip(kinds).enumerate() {
        let (label_w, label_h) = label_sizes[i];
        let (a_end, b_end, control, options) = match *kind {
            Kind::Vertical { upper, lower } => {
                let (up, low) = (boxes[upper], boxes[lower]);
                let count = vertical_count
                    .iter()
                    .find(|(p, _)| *p == (upper, lower))
                    .map_or(1, |&(_, c)| px(c));
                let k = vertical_slot[i];
                let x = up.x + up.w.min(low.w) * (k + 1) / (count + 1);
                let top = (pt(x, up.bottom()), Side::Bottom);
                let bottom = (pt(x, low.y), Side::Top);
                // Beside the line, in the gap between the two boxes.
                let label = Rect {
                    x: x + 8,
                    y: (up.bottom() + low.y - label_h) / 2,
                    w: label_w,
                    h: label_h,
                };
                let (a_end, b_end) = if upper == a.index() {
                    (top, bottom)
                } else {
                    (bottom, top)
                };
                (a_end, b_end, None, vec![label])
            }
            Kind::Across { .. } => {
                let (p, q) = (ends[i][0].0, ends[i][1].0);
                let points: Vec<Pt> = ALONG.iter().map(|&(n, d)| lerp(p, q, n, d)).collect();
                let centred = |c: Pt| pt(c.x - label_w / 2, c.y - label_h / 2);
                let options = label_candidates(&points, label_w, label_h, centred);
                (ends[i][0], ends[i][1], None, options)
            }
            Kind::Curve { bulge, .. } => {
                let (p, q) = (ends[i][0].0, ends[i][1].0);
                let bend = pt(p.x.min(q.x) - bulge, i32::midpoint(p.y, q.y));
                // Left of the curve, which bulges left of its column: never over the column.
                let points: Vec<Pt> = ALONG
                    .iter()
                    .map(|&(n, d)| quad_at(p, bend, q, n, d))
                    .collect();
                let beside = |c: Pt| pt(c.x - 6 - label_w, c.y - label_h / 2);
                let options = label_candidates(&points, label_w, label_h, beside);
                (ends[i][0], ends[i][1], Some(bend), options)
            }
        };
        candidates.push(options);
        geoms.push(LinkGeom {
            link: link.index(),
            a,
            b,
            a_end,
            b_end,
            control,
            label: Rect::default(),
        });
    }
    // Straight links first: a curve's label has the whole curve to choose from.
    let mut order: Vec<usize> = (0..geoms.len()).collect();
    order.sort_by_key(|&i| (geoms[i].control.is_some(), i));
    let mut placed: Vec<Rect> = Vec::new();
    for i in order {
        let label = place_label(&candidates[i], boxes, &placed);
        geoms[i].label = label;
        placed.push(label);
    }
    geoms
}

/// The first candidate that overlaps neither a box nor an earlier label; the first when none is
/// free.
fn place_label(candidates: &[Rect], boxes: &[Rect], placed: &[Rect]) -> Rect {
    candidates
        .iter()
        .copied()
        .find(|r| {
            !boxes.iter().any(|b| r.overlaps(*b, 4)) && !placed.iter().any(|p| r.overlaps(*p, 4))
        })
        .unwrap_or(candidates[0])
}

/// Label positions to try: `at` each point (a function of the label's top-left from the point),
/// then the first point shifted up and down by whole label heights.
fn label_candidates(points: &[Pt], w: i32, h: i32, at: impl Fn(Pt) -> Pt) -> Vec<Rect> {
    let rect = |p: Pt| {
        let corner = at(p);
        Rect {
            x: corner.x,
            y: corner.y,
            w,
            h,
        }
    };
    let mut candidates: Vec<Rect> = points.iter().map(|&p| rect(p)).collect();
    let first = candidates[0];
    for k in 1..=4 {
        for sign in [-1, 1] {
            candidates.push(Rect {
                y: first.y + sign * k * (h + 4),
                ..first
            });
        }
    }
    candidates
}

/// Fractions along a link where its label may go, middle first.
const ALONG: [(i32, i32); 7] = [(1, 2), (2, 5), (3, 5), (1, 3), (2, 3), (1, 4), (3, 4)];

fn lerp(p: Pt, q: Pt, num: i32, den: i32) -> Pt {
    pt(p.x + (q.x - p.x) * num / den, p.y + (q.y - p.y) * num / den)
}

/// The point of the quadratic Bézier (p, bend, q) at t = num / den.
fn quad_at(p: Pt, bend: Pt, q: Pt, num: i32, den: i32) -> Pt {
    let (before, after) = (den - num, num);
    let weights = [before * before, 2 * before * after, after * after];
    let mix =
        |a: i32, b: i32, c: i32| (weights[0] * a + weights[1] * b + weights[2] * c) / (den * den);
    pt(mix(p.x, bend.x, q.x), mix(p.y, bend.y, q.y))
}

/// The height of the line from `p` to `q` at `x` (clamped to the segment).
fn y_at(p: Pt, q: Pt, x: i32) -> i32 {
    if p.x == q.x {
        return p.y;
    }
    let x = x.clamp(p.x.min(q.x), p.x.max(q.x));
    p.y + (q.y - p.y) * (x - p.x) / (q.x - p.x)
}

/// The lowest top at or below `wanted` (and `top`) where a box of height `h` overlaps no
/// obstacle's vertical extent (plus `gap`). Obstacles share the box's column.
fn free_y(wanted: i32, h: i32, top: i32, obstacles: &[Rect], gap: i32) -> i32 {
    let mut y = wanted.max(top);
    // Each pass either finds no overlap or moves below one obstacle: bounded by their count.
    for _ in 0..=obstacles.len() {
        match obstacles
            .iter()
            .filter(|o| y < o.bottom() + gap && o.y < y + h + gap)
            .map(|o| o.bottom() + gap)
            .max()
        {
            Some(below) => y = below,
            None => break,
        }
    }
    y
}

/// Sites per layer, ordered to reduce crossings: a few sweeps sorting each layer by the mean
/// position of its neighbours in the layer before (barycentre heuristic), ties by file order.
fn order_layers(layer: &[usize], adjacent: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let depth = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (s, &l) in layer.iter().enumerate() {
        layers[l].push(s);
    }
    let mut pos = vec![0usize; layer.len()];
    for l in &layers {
        for (k, &s) in l.iter().enumerate() {
            pos[s] = k;
        }
    }
    let sorting = Sorting { layer, adjacent };
    for _ in 0..2 {
        for l in 1..depth {
            sorting.sweep(&mut layers, l, l - 1, &mut pos);
        }
        for l in (0..depth.saturating_sub(1)).rev() {
            sorting.sweep(&mut layers, l, l + 1, &mut pos);
        }
    }
    for l in 1..depth {
        sorting.sweep(&mut layers, l, l - 1, &mut pos);
    }
    layers
}

struct Sorting<'a> {
    layer: &'a [usize],
    adjacent: &'a [Vec<usize>],
}

impl Sorting<'_> {
    /// Sorts layer `l` by the mean position of its sites' neighbours in layer `towards`; a site
    /// without any keeps its own position.
    fn sweep(&self, layers: &mut [Vec<usize>], l: usize, towards: usize, pos: &mut [usize]) {
        let sites = &mut layers[l];
        let key = |s: usize| {
            let near: Vec<usize> = self.adjacent[s]
                .iter()
                .copied()
                .filter(|&t| self.layer[t] == towards)
                .collect();
            if near.is_empty() {
                (pos[s], 1usize)
            } else {
                (near.iter().map(|&t| pos[t]).sum(), near.len())
            }
        };
        let mut keyed: Vec<((usize, usize), usize)> = sites.iter().map(|&s| (key(s), s)).collect();
        // Compare the means sum/count as fractions: no floating point in the layout.
        keyed.sort_by(|&((sa, ca), a), &((sb, cb), b)| {
            (sa * cb)
                .cmp(&(sb * ca))
                .then(pos[a].cmp(&pos[b]))
                .then(a.cmp(&b))
        });
        *sites = keyed.into_iter().map(|(_, s)| s).collect();
        for (k, &s) in sites.iter().enumerate() {
            pos[s] = k;
        }
    }
}

fn gaps(count: usize) -> i32 {
    px(count.saturating_sub(1))
}

/// An SVG path's `d`, built point by point (repeated points are dropped).
#[derive(Default)]
struct PathBuilder {
    d: String,
    last: Option<Pt>,
}

impl PathBuilder {
    fn to(&mut self, p: Pt) {
        match self.last {
            None => {
                let _ = write!(self.d, "M{} {}", p.x, p.y);
            }
            Some(last) if last == p => return,
            Some(_) => {
                let _ = write!(self.d, " L{} {}", p.x, p.y);
            }
        }
        self.last = Some(p);
    }

    fn all(&mut self, points: &[Pt]) {
        for &p in points {
            self.to(p);
        }
    }

    /// Follows link `g` from its end at site `from` to its other end.
    fn follow(&mut self, g: &LinkGeom, from: SiteId) {
        let (start, end) = if from == g.a {
            (g.a_end.0, g.b_end.0)
        } else {
            (g.b_end.0, g.a_end.0)
        };
        self.to(start);
        match g.control {
            Some(c) => {
                let _ = write!(self.d, " Q{} {} {} {}", c.x, c.y, end.x, end.y);
                self.last = Some(end);
            }
            None => self.to(end),
        }
    }
}

/// Points from a server row to a point `p` on its box's border: sideways into the padding
/// lane, along it, then out (the lanes keep the path off the other rows).
fn row_to_border(b: Rect, row: Rect, p: Pt, side: Side) -> Vec<Pt> {
    let left = b.x + PAD / 2;
    let right = b.right() - PAD / 2;
    match side {
        Side::Right => vec![
            pt(row.right(), row.cy()),
            pt(right, row.cy()),
            pt(right, p.y),
            p,
        ],
        Side::Left => vec![pt(row.x, row.cy()), pt(left, row.cy()), pt(left, p.y), p],
        Side::Top => vec![pt(row.x, row.cy()), pt(left, row.cy()), pt(left, b.y), p],
        Side::Bottom => vec![
            pt(row.x, row.cy()),
            pt(left, row.cy()),
            pt(left, b.bottom()),
            p,
        ],
    }
}

/// From border point `from` to border point `to` of `r`, around the box just outside its border
/// (a path that passes a site without stopping there).
fn around(r: Rect, (from, from_side): (Pt, Side), (to, to_side): (Pt, Side)) -> Vec<Pt> {
    const OUT: i32 = 6;
    let grown = Rect {
        x: r.x - OUT,
        y: r.y - OUT,
        w: r.w + 2 * OUT,
        h: r.h + 2 * OUT,
    };
    let out = |p: Pt, side: Side| match side {
        Side::Left => pt(p.x - OUT, p.y),
        Side::Right => pt(p.x + OUT, p.y),
        Side::Top => pt(p.x, p.y - OUT),
        Side::Bottom => pt(p.x, p.y + OUT),
    };
    if from_side == to_side {
        // In and out on one side: along the border, no detour.
        return vec![from, to];
    }
    let (a, b) = (out(from, from_side), out(to, to_side));
    let mut points = vec![from, a];
    points.extend(border_walk(grown, a, b));
    points.push(to);
    points
}

/// The corners passed walking along the border of `r` from `from` to `to` the shorter way,
/// then `to`.
fn border_walk(r: Rect, from: Pt, to: Pt) -> Vec<Pt> {
    let perimeter = 2 * (r.w + r.h);
    let t = |p: Pt| {
        if p.y <= r.y {
            p.x - r.x
        } else if p.x >= r.right() {
            r.w + (p.y - r.y)
        } else if p.y >= r.bottom() {
            r.w + r.h + (r.right() - p.x)
        } else {
            2 * r.w + r.h + (r.bottom() - p.y)
        }
    };
    let corners = [
        (0, pt(r.x, r.y)),
        (r.w, pt(r.right(), r.y)),
        (r.w + r.h, pt(r.right(), r.bottom())),
        (2 * r.w + r.h, pt(r.x, r.bottom())),
    ];
    let (t1, t2) = (t(from), t(to));
    let clockwise = (t2 - t1).rem_euclid(perimeter);
    let forward = clockwise <= perimeter - clockwise;
    let mut passed: Vec<(i32, Pt)> = corners
        .iter()
        .filter_map(|&(tc, p)| {
            let d = if forward {
                (tc - t1).rem_euclid(perimeter)
            } else {
                (t1 - tc).rem_euclid(perimeter)
            };
            let limit = if forward {
                clockwise
            } else {
                perimeter - clockwise
            };
            (d > 0 && d < limit).then_some((d, p))
        })
        .collect();
    passed.sort_unstable_by_key(|&(d, _)| d);
    let mut points: Vec<Pt> = passed.into_iter().map(|(_, p)| p).collect();
    points.push(to);
    points
}

/// Where a server sits for the highlight: a row in a site box, or an Edge box.
#[derive(Clone, Copy)]
enum Place {
    Row { site: SiteId, row: Rect },
    Edge { rect: Rect, site: Option<SiteId> },
}

/// The highlighted path, computed before drawing.
struct Red {
    paths: Vec<String>,
    servers: Vec<Rect>,
    connector: Option<usize>,
    host: Option<(String, Pt)>,
    legend: Option<String>,
}

impl Red {
    fn new(topology: &Topology, layout: &Layout, highlight: Option<&Highlight>) -> Red {
        let mut red = Red {
            paths: Vec::new(),
            servers: Vec::new(),
            connector: None,
            host: None,
            legend: None,
        };
        let Some(h) = highlight else {
            return red;
        };
        let place = |s: ServerId| -> Option<Place> {
            let server = topology.servers.get(s.index())?;
            match server.site {
                Some(site) => layout.row(s).map(|row| Place::Row { site, row }),
                None => layout.edge(s).map(|rect| Place::Edge {
                    rect,
                    site: server.subscribed_site,
                }),
            }
        };
        for (a, b) in hops(topology, highlight) {
            if let (Some(pa), Some(pb)) = (place(a), place(b)) {
                red.paths.push(hop_path(topology, layout, pa, pb).d);
            }
        }
        let mut names: Vec<String> = Vec::new();
        for &s in &h.servers {
            if let (Some(server), Some(p)) = (topology.servers.get(s.index()), place(s)) {
                names.push(server.name.clone());
                red.servers.push(match p {
                    Place::Row { row, .. } => row,
                    Place::Edge { rect, .. } => rect,
                });
            }
        }
        if let (Some(host), Some(last)) = (&h.external_host, external(topology, highlight)) {
            names.push(host.clone());
            if let Some(from) = place(last) {
                let (d, c, entry) = external_path(topology, layout, last, from, host);
                red.paths.push(d);
                red.connector = c;
                red.host = Some((host.clone(), entry));
            }
        }
        if !names.is_empty() {
            red.legend = Some(format!("Highlighted path: {}", names.join(" \u{2192} ")));
        }
        red
    }

    fn draw_paths(&self, out: &mut String, layout: &Layout) {
        if self.paths.is_empty() && self.servers.is_empty() {
            return;
        }
        out.push_str("<g fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n");
        for r in &self.servers {
            let _ = writeln!(
                out,
                "<rect class=\"highlight\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\" stroke=\"{RED}\" stroke-width=\"2.5\"/>",
                r.x, r.y, r.w, r.h
            );
        }
        if let Some(c) = self.connector {
            let r = layout.connectors[c];
            let _ = writeln!(
                out,
                "<path class=\"highlight\" d=\"M{} {} H{} L{} {} L{} {} H{} Z\" stroke=\"{RED}\" stroke-width=\"2.5\"/>",
                r.x,
                r.y,
                r.right() - 12,
                r.right(),
                r.cy(),
                r.right() - 12,
                r.bottom(),
                r.x
            );
        }
        for d in &self.paths {
            let _ = writeln!(
                out,
                "<path class=\"highlight\" d=\"{d}\" stroke=\"{RED}\" stroke-width=\"3.5\" marker-end=\"url(#tlsflow-arrow-red)\"/>"
            );
        }
        out.push_str("</g>\n");
    }

    fn draw_host(&self, out: &mut String) {
        if let Some((host, entry)) = &self.host {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" font-weight=\"bold\" fill=\"{RED}\">{}</text>",
                entry.x + 10,
                entry.y + 20,
                xml(host)
            );
        }
    }
}

/// The red path of one hop: out of the first server's row, along the site links of Exchange's
/// least-cost path (around the boxes of the sites in between), into the second server's row.
fn hop_path(topology: &Topology, layout: &Layout, from: Place, to: Place) -> PathBuilder {
    let mut path = PathBuilder::default();
    // An Edge server is reached through its subscribed site's port.
    let (from_site, from_inner) = match from {
        Place::Row { site, row } => (Some(site), Inner::Row(row)),
        Place::Edge { rect, site } => {
            path.to(pt(rect.x, rect.cy()));
            (site, Inner::Port)
        }
    };
    let (to_site, to_inner) = match to {
        Place::Row { site, row } => (Some(site), Inner::Row(row)),
        Place::Edge { site, .. } => (site, Inner::Port),
    };
    match (from, to, from_site, to_site) {
        (Place::Edge { rect: a, .. }, Place::Edge { rect: b, .. }, _, _) => {
            let x = a.right().max(b.right()) + 10;
            path.all(&[
                pt(a.right(), a.cy()),
                pt(x, a.cy()),
                pt(x, b.cy()),
                pt(b.right(), b.cy()),
            ]);
        }
        (Place::Row { row: a, .. }, Place::Row { row: b, .. }, Some(sa), Some(sb)) if sa == sb => {
            let lane = layout.sites[sa.index()].rect.x + PAD / 2;
            path.all(&[
                pt(a.x, a.cy()),
                pt(lane, a.cy()),
                pt(lane, b.cy()),
                pt(b.x, b.cy()),
            ]);
        }
        (_, _, Some(sa), Some(sb)) => {
            let steps = if sa == sb {
                Vec::new()
            } else {
                topology
                    .site_graph
                    .least_cost_path(sa, sb)
                    .map(|p| {
                        p.sites
                            .windows(2)
                            .zip(&p.links)
                            .map(|(w, l)| (w[0], w[1], l.index()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let geoms: Vec<&LinkGeom> = steps
                .iter()
                .filter_map(|&(x, y, link)| {
                    layout.links.iter().find(|g| {
                        g.link == link && ((g.a == x && g.b == y) || (g.a == y && g.b == x))
                    })
                })
                .collect();
            if geoms.len() == steps.len() {
                let end_at =
                    |g: &LinkGeom, site: SiteId| if g.a == site { g.a_end } else { g.b_end };
                // Leave the first site.
                let exit = geoms.first().map_or_else(
                    || (layout.ports[sb.index()], Side::Right),
                    |g| end_at(g, sa),
                );
                path.all(&inner_to_border(layout, sa, from_inner, exit));
                let mut at = sa;
                for (k, g) in geoms.iter().enumerate() {
                    path.follow(g, at);
                    at = if g.a == at { g.b } else { g.a };
                    if let Some(next) = geoms.get(k + 1) {
                        let rect = layout.sites[at.index()].rect;
                        path.all(&around(rect, end_at(g, at), end_at(next, at)));
                    }
                }
                // Enter the last site.
                let entry = geoms.last().map_or(exit, |g| end_at(g, sb));
                let mut back = inner_to_border(layout, sb, to_inner, entry);
                back.reverse();
                if geoms.is_empty() && matches!(to_inner, Inner::Port) {
                    back.clear();
                }
                path.all(&back);
            } else {
                straight(&mut path, from, to);
            }
        }
        _ => straight(&mut path, from, to),
    }
    if let Place::Edge { rect, .. } = to {
        path.to(pt(rect.x, rect.cy()));
    }
    path
}

#[derive(Clone, Copy)]
enum Inner {
    Row(Rect),
    /// The right-border point where Edge subscription lines leave the site.
    Port,
}

/// Points from inside a site (a row, or its port) to a border point: the port walks the border.
fn inner_to_border(layout: &Layout, site: SiteId, inner: Inner, (p, side): (Pt, Side)) -> Vec<Pt> {
    let b = layout.sites[site.index()].rect;
    match inner {
        Inner::Row(row) => row_to_border(b, row, p, side),
        Inner::Port => {
            let port = layout.ports[site.index()];
            if port == p {
                vec![port]
            } else {
                around(b, (port, Side::Right), (p, side))
            }
        }
    }
}

fn straight(path: &mut PathBuilder, from: Place, to: Place) {
    let centre = |p: Place| match p {
        Place::Row { row, .. } => pt(row.right(), row.cy()),
        Place::Edge { rect, .. } => pt(rect.x, rect.cy()),
    };
    path.to(centre(from));
    path.to(centre(to));
}

/// The red path from the last server to the Internet box, through the connector it most likely
/// used (the one of its connectors whose address space best matches the host), the connector,
/// and where the path enters the Internet box.
fn external_path(
    topology: &Topology,
    layout: &Layout,
    server: ServerId,
    from: Place,
    host: &str,
) -> (String, Option<usize>, Pt) {
    let mut path = PathBuilder::default();
    let start = match from {
        Place::Row { row, .. } => pt(row.right(), row.cy()),
        Place::Edge { rect, .. } => pt(rect.right(), rect.cy()),
    };
    path.to(start);
    let connector = connector_for(topology, server, host);
    let internet = layout.internet;
    let entry = if let Some(c) = connector {
        let r = layout.connectors[c];
        path.to(pt(r.x, r.cy()));
        // Across the connector's shape is drawn as its red outline; resume at the tip.
        let _ = write!(path.d, " M{} {}", r.right(), r.cy());
        path.last = Some(pt(r.right(), r.cy()));
        pt(internet.x, r.cy())
    } else {
        // No connector of this server (a highlight of another route): straight out of its box.
        if let Place::Row { site, .. } = from {
            let b = layout.sites[site.index()].rect;
            path.to(pt(b.right(), start.y));
        }
        pt(
            internet.x,
            start.y.clamp(internet.y + 30, internet.bottom() - 30),
        )
    };
    path.to(entry);
    (path.d, connector, entry)
}

/// Among the connectors `server` is a source server of, the one whose address space matches
/// `host` (or its parent domains) most specifically; the first in order on ties.
fn connector_for(topology: &Topology, server: ServerId, host: &str) -> Option<usize> {
    let host = host.to_lowercase();
    let mut suffixes = vec![host.as_str()];
    let mut rest = host.as_str();
    while let Some((_, parent)) = rest.split_once('.') {
        suffixes.push(parent);
        rest = parent;
    }
    let mut best: Option<(Option<(usize, u8)>, usize)> = None;
    for (c, connector) in topology.send_connectors.iter().enumerate() {
        if !connector.source_servers.contains(&server) {
            continue;
        }
        let score = connector
            .address_spaces
            .iter()
            .flat_map(|a| suffixes.iter().map(move |d| a.pattern.specificity(d)))
            .max()
            .flatten();
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// An estimate of the width of `text` in pixels, from per-character advances close to DejaVu
/// Sans (wider than Arial, so boxes err on the roomy side).
fn text_width(text: &str, size: u32, bold: bool) -> i32 {
    let mut units: u64 = 0;
    for c in text.chars() {
        units += match c {
            'i' | 'l' | 'j' | '\'' | '|' | '.' | ',' | ':' | ';' | '!' | 'I' => 300,
            ' ' => 330,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | '/' | '\\' => 400,
            'm' | 'w' => 920,
            'M' | 'W' => 980,
            'A'..='Z'
            | '_'
            | '*'
            | '"'
            | '#'
            | '$'
            | '%'
            | '&'
            | '?'
            | '<'
            | '>'
            | '='
            | '+'
            | '~' => 740,
            'a'..='z' | '0'..='9' => 640,
            '@' => 1000,
            c if u32::from(c) >= 0x2E80 => 1000,
            _ => 760,
        };
    }
    let per_mille = if bold { 1100 } else { 1000 };
    let pixels = units * u64::from(size) * per_mille / 1_000_000 + 1;
    i32::try_from(pixels).unwrap_or(i32::MAX / 4)
}

fn px(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX / 4)
}

/// Text for XML character data and attribute values. Control characters, which XML 1.0 cannot
/// carry even escaped, become U+FFFD.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
