//! `report::diagram`: the DOT, Mermaid and SVG renderings of the shipped topologies contain
//! every name, escape what they must, stay self-contained and well-formed, lay boxes out without
//! overlaps, and draw a highlighted path in red.
//!
//! With `TLSFLOW_DIAGRAM_DIR` set, `diagrams_of_every_shipped_topology` also writes each
//! rendering there (SVG inside an HTML page too), for a person to look at.

use std::fmt::Write as _;
use std::path::PathBuf;

use tlsflow::load;
use tlsflow::model::Topology;
use tlsflow::report::diagram::{self, Highlight};

use crate::support;

const RED: &str = "#d62728";

fn shipped() -> Vec<(String, Topology)> {
    let dir = support::repo("scenarios/topologies");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/topologies")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 3, "shipped topologies in {}", dir.display());
    paths
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            (name, support::load(p))
        })
        .collect()
}

fn from_yaml(yaml: &str) -> Topology {
    let source = load::source_from_bytes("inline.yaml", yaml.as_bytes(), None)
        .expect("the inline topology is text");
    match load::topology_from_source(source) {
        Ok(loaded) => loaded.topology,
        Err(failure) => panic!("the inline topology does not load:\n{}", failure.render()),
    }
}

fn path_of(topology: &Topology, servers: &[&str], host: Option<&str>) -> Highlight {
    Highlight {
        servers: servers
            .iter()
            .map(|s| {
                topology
                    .server_by_name(s)
                    .unwrap_or_else(|| panic!("no server {s}"))
            })
            .collect(),
        external_host: host.map(str::to_owned),
    }
}

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[test]
fn every_site_server_and_connector_is_named_in_every_format() {
    for (file, topology) in shipped() {
        let dot = diagram::dot(&topology, None);
        let mermaid = diagram::mermaid(&topology, None);
        let svg = diagram::svg(&topology, None);
        let names = topology
            .sites
            .iter()
            .map(|s| &s.name)
            .chain(topology.servers.iter().map(|s| &s.name))
            .chain(topology.send_connectors.iter().map(|c| &c.name));
        for name in names {
            assert!(dot.contains(name.as_str()), "{file}: DOT lacks {name}");
            assert!(
                mermaid.contains(name.as_str()),
                "{file}: Mermaid lacks {name}"
            );
            assert!(svg.contains(&xml_text(name)), "{file}: SVG lacks {name}");
        }
        assert!(dot.contains("\"internet\" [label=\"Internet\""), "{file}");
        assert!(
            mermaid.starts_with("%%") && mermaid.contains("\ngraph LR\n"),
            "{file}"
        );
        for link in topology.site_links.iter() {
            assert!(
                svg.contains(&xml_text(&link.name)),
                "{file}: SVG lacks {}",
                link.name
            );
        }
    }
}

#[test]
fn the_svg_is_well_formed_self_contained_and_free_of_overlaps() {
    for (file, topology) in shipped() {
        let svg = diagram::svg(&topology, None);
        check_svg(&file, &svg);
    }
}

#[test]
fn a_highlighted_path_is_red_in_every_format() {
    let topology = support::load(&support::repo(
        "scenarios/topologies/contoso-cross-site.yaml",
    ));
    let plain = diagram::svg(&topology, None);
    assert!(!plain.contains(RED), "nothing is red without a highlight");
    let path = path_of(&topology, &["BR-MBX1", "HQ-MBX1"], Some("mx1.fabrikam.com"));

    let svg = diagram::svg(&topology, Some(&path));
    check_svg("contoso-cross-site.yaml (highlighted)", &svg);
    let red: Vec<Element> = parse_xml(&svg)
        .expect("well-formed")
        .into_iter()
        .filter(|e| e.attr("stroke") == Some(RED))
        .collect();
    // Two hops (BR-MBX1 -> HQ-MBX1, HQ-MBX1 -> Internet), two server rows, one connector.
    assert!(
        red.iter().filter(|e| e.name == "path").count() >= 3,
        "{svg}"
    );
    assert_eq!(red.iter().filter(|e| e.name == "rect").count(), 2, "{svg}");
    assert!(
        svg.contains(">mx1.fabrikam.com</text>"),
        "the host labels the Internet hop"
    );
    assert!(svg.contains("Highlighted path: BR-MBX1 \u{2192} HQ-MBX1 \u{2192} mx1.fabrikam.com"));

    let dot = diagram::dot(&topology, Some(&path));
    let br = topology.server_by_name("BR-MBX1").expect("BR-MBX1").index();
    let hq = topology.server_by_name("HQ-MBX1").expect("HQ-MBX1").index();
    assert!(dot.contains(&format!(
        "\"server_{br}\" -> \"server_{hq}\" [color=\"{RED}\""
    )));
    assert!(dot.contains(&format!("\"server_{hq}\" -> \"internet\" [color=\"{RED}\"")));
    assert!(dot.contains("label=\"mx1.fabrikam.com\""));

    let mermaid = diagram::mermaid(&topology, Some(&path));
    assert!(mermaid.contains(&format!("server_{br} ==> server_{hq}")));
    assert!(mermaid.contains(&format!("server_{hq} ==>|\"mx1.fabrikam.com\"| internet")));
    assert!(mermaid.contains(&format!("stroke:{RED}")));
}

#[test]
fn highlights_through_hub_sites_and_edge_servers_stay_well_formed() {
    let chain = support::load(&support::repo("scenarios/topologies/hub-site-chain.yaml"));
    let path = path_of(
        &chain,
        &["AKL-MBX1", "SIN-MBX1", "LON-MBX1"],
        Some("mx1.fabrikam.com"),
    );
    let svg = diagram::svg(&chain, Some(&path));
    check_svg("hub-site-chain.yaml (highlighted)", &svg);
    assert!(svg.matches("class=\"highlight\"").count() >= 6, "{svg}");

    let edge = support::load(&support::repo("scenarios/topologies/edge-subscribed.yaml"));
    let path = path_of(
        &edge,
        &["RTM-MBX1", "AMS-MBX1", "EDGE1"],
        Some("mx1.fabrikam.com"),
    );
    let svg = diagram::svg(&edge, Some(&path));
    check_svg("edge-subscribed.yaml (highlighted)", &svg);
    assert!(svg.contains(">mx1.fabrikam.com</text>"));
}

#[test]
fn the_same_topology_gives_the_same_bytes() {
    for (file, topology) in shipped() {
        assert_eq!(
            diagram::svg(&topology, None),
            diagram::svg(&topology, None),
            "{file}"
        );
        assert_eq!(
            diagram::dot(&topology, None),
            diagram::dot(&topology, None),
            "{file}"
        );
    }
}

/// Names with quotes, ampersands and angle brackets survive every syntax.
#[test]
fn names_are_escaped_for_each_syntax() {
    let topology = from_yaml(
        r#"
format: 1
organization: "R&D <Labs> \"Ltd\""
profile: exchange2013
accepted_domains: [contoso.com]
sites:
  - name: "R&D \"North\""
  - name: "Ops <South>"
    hub: true
site_links:
  - {name: "N&S", sites: ["R&D \"North\"", "Ops <South>"], cost: 100, exchange_cost: 10}
servers:
  - {name: "MBX \"1\"", site: "R&D \"North\"", roles: [mailbox]}
  - {name: "MBX<2>&#3", site: "Ops <South>", roles: [mailbox]}
send_connectors:
  - name: "Out & \"away\" <now> \\N |x| #35;"
    address_spaces: ["SMTP:*;1"]
    source_servers: ["MBX<2>&#3"]
"#,
    );
    let path = path_of(
        &topology,
        &["MBX \"1\"", "MBX<2>&#3"],
        Some("mx.<evil>.example"),
    );
    let svg = diagram::svg(&topology, Some(&path));
    dump("escapes", &svg);
    check_svg("escapes", &svg);
    assert!(svg.contains("R&amp;D &quot;North&quot;"));
    assert!(svg.contains("MBX&lt;2&gt;&amp;#3"));
    assert!(svg.contains("mx.&lt;evil&gt;.example"));

    let dot = diagram::dot(&topology, Some(&path));
    dump_text("escapes.dot", &dot);
    assert!(dot.contains(r#"label="R&D \"North\"";"#), "{dot}");
    assert!(
        dot.contains(r#"label="Out & \"away\" <now> \\N |x| #35;\nSMTP:*;1"#),
        "{dot}"
    );
    assert!(dot.contains(r#"digraph "R&D <Labs> \"Ltd\"" {"#), "{dot}");

    let mermaid = diagram::mermaid(&topology, Some(&path));
    dump_text("escapes.mmd", &mermaid);
    assert!(mermaid.contains("R#38;D #34;North#34;"), "{mermaid}");
    assert!(mermaid.contains("MBX#60;2#62;#38;#35;3"), "{mermaid}");
    assert!(mermaid.contains("#124;x#124; #35;35;"), "{mermaid}");
    for line in mermaid.lines().filter(|l| !l.starts_with("%%")) {
        // Outside the <br/> the renderer inserts, no raw markup reaches Mermaid's HTML labels.
        let rest = line.replace("<br/>", "");
        assert!(!rest.contains(['<', '&']), "unescaped: {line}");
    }
}

/// Fifty sites (a chain with cross links, two connector sites, hub sites and an Edge server):
/// big, but every box stands clear of the others.
#[test]
fn fifty_sites_lay_out_without_overlaps() {
    let mut yaml = String::from(
        "format: 1\norganization: Big\nprofile: exchange2013\naccepted_domains: [big.example]\nsites:\n",
    );
    for i in 0..50 {
        writeln!(yaml, "  - {{name: Site-{i:02}, hub: {}}}", i % 10 == 5)
            .expect("a String takes any text");
    }
    yaml.push_str("site_links:\n");
    for i in 1..50 {
        writeln!(
            yaml,
            "  - {{name: L{i:02}, sites: [Site-{:02}, Site-{i:02}], cost: {}}}",
            i - 1,
            10 * i
        )
        .expect("a String takes any text");
        if i % 7 == 0 && i >= 5 {
            writeln!(
            yaml,
                "  - {{name: X{i:02}, sites: [Site-{:02}, Site-{i:02}], cost: 500, exchange_cost: 50}}",
                i - 5
            ).expect("a String takes any text");
        }
    }
    yaml.push_str("servers:\n");
    for i in 0..50 {
        for k in 1..=(1 + i % 3) {
            writeln!(
                yaml,
                "  - {{name: S{i:02}-MBX{k}, site: Site-{i:02}, roles: [mailbox, frontend]}}"
            )
            .expect("a String takes any text");
        }
    }
    yaml.push_str("  - {name: EDGE-A, roles: [edge], subscribed_site: Site-40}\n");
    yaml.push_str(concat!(
        "send_connectors:\n",
        "  - {name: Internet, address_spaces: [\"SMTP:*;1\"], source_servers: [S00-MBX1]}\n",
        "  - {name: Partner, address_spaces: [\"SMTP:partner.example;1\"], source_servers: [S25-MBX1, S25-MBX2]}\n",
    ));
    let topology = from_yaml(&yaml);
    let path = path_of(
        &topology,
        &["S49-MBX1", "S45-MBX1", "S00-MBX1"],
        Some("mx.example"),
    );
    let svg = diagram::svg(&topology, Some(&path));
    dump("fifty-sites", &svg);
    check_svg("fifty sites", &svg);
    for s in topology.servers.iter() {
        assert!(svg.contains(&s.name), "{}", s.name);
    }
}

/// Shapes the shipped files lack: sites of one column linked around the site between them (a
/// curve), a site without servers, a site with inbound mail off, an Edge server without a
/// subscription, a disabled connector, a link naming three sites.
#[test]
fn unusual_shapes_stay_clear_of_each_other() {
    let topology = from_yaml(
        r#"
format: 1
organization: Odd Shapes
profile: exchange2013
accepted_domains: [odd.example]
sites:
  - name: Core
  - name: North
  - name: Middle
    inbound_mail_enabled: false
  - name: South
  - name: Empty
site_links:
  - {name: C-N, sites: [Core, North], cost: 10}
  - {name: C-M, sites: [Core, Middle], cost: 10}
  - {name: C-S, sites: [Core, South], cost: 10}
  - {name: N-S, sites: [North, South], cost: 5, exchange_cost: 1}
  - {name: Triangle, sites: [North, Middle, Empty], cost: 300}
servers:
  - {name: CORE-MBX1, site: Core, roles: [mailbox]}
  - {name: N-MBX1, site: North, roles: [mailbox]}
  - {name: M-MBX1, site: Middle, roles: [mailbox, frontend]}
  - {name: S-MBX1, site: South, roles: [mailbox]}
  - {name: LONELY-EDGE, roles: [edge]}
send_connectors:
  - {name: Out, address_spaces: ["SMTP:*;1"], source_servers: [CORE-MBX1]}
  - {name: Old path, address_spaces: ["SMTP:*;5"], source_servers: [CORE-MBX1], enabled: false}
"#,
    );
    let path = path_of(
        &topology,
        &["S-MBX1", "N-MBX1", "CORE-MBX1"],
        Some("mx.example"),
    );
    let svg = diagram::svg(&topology, Some(&path));
    dump("unusual-shapes", &svg);
    check_svg("unusual shapes", &svg);
    assert!(
        svg.contains(" Q"),
        "the North-South link curves around Middle"
    );
    assert!(
        svg.contains("(no servers)") && svg.contains("inbound off") && svg.contains("disabled")
    );
    assert!(svg.contains("edge, no subscription"));
    let dot = diagram::dot(&topology, Some(&path));
    assert!(dot.contains("\"site_4\" [label=\"(no servers)\""), "{dot}");
    assert!(diagram::mermaid(&topology, None).contains("site_4_empty[\"(no servers)\"]"));
}

#[test]
fn the_dot_of_the_defect() {
    let topology = support::load(&support::repo(
        "scenarios/topologies/contoso-cross-site.yaml",
    ));
    insta::assert_snapshot!(diagram::dot(&topology, None));
}

/// Writes every rendering to `$TLSFLOW_DIAGRAM_DIR` when it is set (to look at them).
#[test]
fn diagrams_of_every_shipped_topology() {
    if std::env::var_os("TLSFLOW_DIAGRAM_DIR").is_none() {
        return;
    }
    let highlights: &[(&str, &[&str], &str)] = &[
        (
            "contoso-cross-site.yaml",
            &["BR-MBX1", "HQ-MBX1"],
            "mx1.fabrikam.com",
        ),
        (
            "hub-site-chain.yaml",
            &["AKL-MBX1", "SIN-MBX1", "LON-MBX1"],
            "mx1.fabrikam.com",
        ),
        (
            "edge-subscribed.yaml",
            &["RTM-MBX1", "AMS-MBX1", "EDGE1"],
            "mx1.fabrikam.com",
        ),
    ];
    for (file, topology) in shipped() {
        let stem = file.trim_end_matches(".yaml");
        let path = highlights
            .iter()
            .find(|(f, _, _)| *f == file)
            .map(|(_, servers, host)| path_of(&topology, servers, Some(host)));
        let svg = diagram::svg(&topology, path.as_ref());
        dump(stem, &svg);
        dump_text(&format!("{stem}.svg"), &svg);
        dump_text(
            &format!("{stem}.dot"),
            &diagram::dot(&topology, path.as_ref()),
        );
        dump_text(
            &format!("{stem}.mmd"),
            &diagram::mermaid(&topology, path.as_ref()),
        );
    }
}

/// Writes `svg` inside an HTML page to `$TLSFLOW_DIAGRAM_DIR` when it is set.
fn dump(stem: &str, svg: &str) {
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{stem}</title></head>\
         <body style=\"margin:0;background:#fff\">{svg}</body></html>\n"
    );
    dump_text(&format!("{stem}.html"), &page);
}

/// Writes `text` to `$TLSFLOW_DIAGRAM_DIR/name` when the variable is set.
fn dump_text(name: &str, text: &str) {
    if let Some(dir) = std::env::var_os("TLSFLOW_DIAGRAM_DIR") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("the diagram directory");
        std::fs::write(dir.join(name), text).expect("a diagram file");
    }
}

/// Well-formed XML, nothing that loads or runs anything, and no two boxes (sites, Edge servers,
/// connectors, the Internet) or link labels overlapping a box.
fn check_svg(what: &str, svg: &str) {
    let elements = parse_xml(svg).unwrap_or_else(|e| panic!("{what}: not well-formed: {e}"));
    assert_eq!(elements[0].name, "svg", "{what}");
    assert_eq!(
        elements[0].attr("xmlns"),
        Some("http://www.w3.org/2000/svg")
    );
    let lower = svg.to_lowercase();
    for banned in [
        "<script",
        "<style",
        "<foreignobject",
        "<image",
        "<a ",
        "href",
        "@import",
        "javascript:",
    ] {
        assert!(!lower.contains(banned), "{what}: contains {banned}");
    }
    assert_eq!(
        lower.matches("http").count(),
        1,
        "{what}: only the SVG namespace is a URL"
    );
    assert!(
        !lower.replace("url(#", "").contains("url("),
        "{what}: external url()"
    );
    for e in &elements {
        assert!(
            !e.attrs.iter().any(|(k, _)| k.starts_with("on")),
            "{what}: event handler on {}",
            e.name
        );
    }

    let boxes: Vec<(String, [i64; 4])> = elements
        .iter()
        .filter_map(|e| {
            let class = e.attr("class")?;
            let bounds = match (e.name.as_str(), class) {
                ("rect", "site" | "edge" | "internet") => rect_bounds(e),
                ("path", "connector") => {
                    let n = numbers(e.attr("d")?);
                    [n[0], n[1], n[3], n[6]]
                }
                _ => return None,
            };
            Some((class.to_owned(), bounds))
        })
        .collect();
    for (i, (ka, a)) in boxes.iter().enumerate() {
        for (kb, b) in &boxes[i + 1..] {
            assert!(!overlap(*a, *b), "{what}: {ka} {a:?} overlaps {kb} {b:?}");
        }
    }
    let labels: Vec<[i64; 4]> = elements
        .iter()
        .filter(|e| e.attr("class") == Some("link-label"))
        .map(rect_bounds)
        .collect();
    for (i, l) in labels.iter().enumerate() {
        for (k, b) in &boxes {
            assert!(
                !overlap(*l, *b),
                "{what}: a link label {l:?} overlaps {k} {b:?}"
            );
        }
        for m in &labels[i + 1..] {
            assert!(
                !overlap(*l, *m),
                "{what}: link labels {l:?} and {m:?} overlap"
            );
        }
    }
    let (w, h) = (
        elements[0].attr("width").expect("width"),
        elements[0].attr("height").expect("height"),
    );
    assert_eq!(
        elements[0].attr("viewBox"),
        Some(format!("0 0 {w} {h}").as_str())
    );
}

fn rect_bounds(e: &Element) -> [i64; 4] {
    let n = |k: &str| -> i64 {
        e.attr(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{k} of {e:?}"))
    };
    [n("x"), n("y"), n("x") + n("width"), n("y") + n("height")]
}

fn overlap(a: [i64; 4], b: [i64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

fn numbers(d: &str) -> Vec<i64> {
    d.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("an integer"))
        .collect()
}

#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Element {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A small XML well-formedness check: one root, balanced tags, quoted attributes without
/// duplicates, and only the predefined or numeric entities. Returns the elements in order.
fn parse_xml(text: &str) -> Result<Vec<Element>, String> {
    let mut elements = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            check_text(rest, open.is_empty())?;
            break;
        };
        check_text(&rest[..lt], open.is_empty())?;
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("unterminated comment")?;
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or("unterminated end tag")?;
            let name = after[..end].trim_end();
            match open.pop() {
                Some(o) if o == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            rest = &after[end + 1..];
        } else {
            let (element, self_closing, after) = parse_start_tag(&rest[1..])?;
            if open.is_empty() {
                roots += 1;
            }
            if !self_closing {
                open.push(element.name.clone());
            }
            elements.push(element);
            rest = after;
        }
    }
    if !open.is_empty() {
        return Err(format!("unclosed: {open:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(elements)
}

fn parse_start_tag(text: &str) -> Result<(Element, bool, &str), String> {
    let is_name = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.');
    let name_end = text.find(|c: char| !is_name(c)).ok_or("unterminated tag")?;
    if name_end == 0 {
        return Err(format!("bad tag at {:?}", &text[..text.len().min(20)]));
    }
    let mut element = Element {
        name: text[..name_end].to_owned(),
        attrs: Vec::new(),
    };
    let mut rest = &text[name_end..];
    loop {
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix("/>") {
            return Ok((element, true, after));
        }
        if let Some(after) = trimmed.strip_prefix('>') {
            return Ok((element, false, after));
        }
        if trimmed.len() == rest.len() {
            return Err(format!(
                "no space before an attribute in <{}>",
                element.name
            ));
        }
        let key_end = trimmed
            .find(|c: char| !is_name(c))
            .ok_or("unterminated attribute")?;
        let key = &trimmed[..key_end];
        let after_key = trimmed[key_end..]
            .strip_prefix('=')
            .ok_or(format!("attribute {key} without ="))?;
        let quote = after_key
            .chars()
            .next()
            .filter(|&c| c == '"' || c == '\'')
            .ok_or(format!("unquoted {key}"))?;
        let value_end = after_key[1..]
            .find(quote)
            .ok_or(format!("unterminated {key}"))?;
        let value = &after_key[1..=value_end];
        if value.contains('<') {
            return Err(format!("< in attribute {key}"));
        }
        check_entities(value)?;
        if element.attr(key).is_some() {
            return Err(format!("duplicate attribute {key} in <{}>", element.name));
        }
        element.attrs.push((key.to_owned(), value.to_owned()));
        rest = &after_key[value_end + 2..];
    }
}

fn check_text(text: &str, outside: bool) -> Result<(), String> {
    if outside && !text.trim().is_empty() {
        return Err(format!("text outside the root: {text:?}"));
    }
    check_entities(text)
}

fn check_entities(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let after = &rest[amp + 1..];
        let end = after.find(';').ok_or("& without ;")?;
        let entity = &after[..end];
        let ok = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity
                .strip_prefix("#x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || entity
                .strip_prefix('#')
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            return Err(format!("bad entity &{entity};"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}
