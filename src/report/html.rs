//! The audit report as one self-contained HTML file: inline CSS, inline SVG diagrams (the sites
//! of the first violation with its path in red, and the whole topology as an appendix), a matrix
//! of origin sites × recipient domains, a print stylesheet, no script and no external resource,
//! so it opens offline, prints, and can be attached to an audit.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_xml::escape::escape;

use crate::model::{Severity, Topology};
use crate::policy::docs::doc;

use super::audit::Audit;
use super::diagram::{Highlight, focus, svg};

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #1f2328; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
.conclusion { font-size: 1.1em; padding: .8em 1em; border-left: 5px solid #cf222e; background: #fff5f5; }
.conclusion.warn { border-color: #bf8700; background: #fff8e6; }
.conclusion.ok { border-color: #1a7f37; background: #f0fff4; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
table.matrix td, table.matrix th { font-size: .85em; padding: .2em .4em; white-space: nowrap; }
table.matrix td.error { background: #cf222e; color: #fff; font-weight: 600; }
table.matrix td.error.later { background: #ffd7d5; color: #82071e; font-weight: normal; }
table.matrix td.warning { background: #f2cc60; color: #3b2300; }
table.matrix td.warning.later { background: #fff1c2; }
table.matrix td.info { background: #ddf4ff; }
table.matrix td.none { color: #8c959f; }
.finding { border: 1px solid #d0d7de; border-radius: 6px; padding: .3em 1em; margin: .6em 0; }
.finding.error { border-left: 6px solid #cf222e; }
.finding.warning { border-left: 6px solid #bf8700; }
.finding.info { border-left: 6px solid #0969da; }
.finding summary { cursor: pointer; padding: .3em 0; }
.code { font-family: ui-monospace, Consolas, monospace; font-weight: bold; }
.sev { text-transform: uppercase; font-size: .8em; padding: .1em .4em; border-radius: 3px; color: #fff; }
.sev.error { background: #cf222e; } .sev.warning { background: #9a6700; } .sev.info { background: #0969da; }
.lost { background: #fff8c5; padding: .4em .6em; border-radius: 4px; }
code, pre { font-family: ui-monospace, Consolas, monospace; font-size: .9em; background: #f6f8fa; }
pre { padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.diagram { border: 1px solid #d0d7de; border-radius: 6px; padding: .5em; background: #fff; }
.diagram svg { max-width: 100%; height: auto; display: block; }
.doc { margin: 1em 0 1.5em; }
.wide { overflow-x: auto; }
.appendix { margin-top: 3em; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  .wide { overflow: visible; }
  table { page-break-inside: auto; }
  tr, .finding, .diagram, .doc { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  .appendix { break-before: page; }
  details.finding:not([open]) { padding: .1em 1em; margin: .2em 0; }
}
";

fn e(text: &str) -> String {
    escape(text).into_owned()
}

/// Findings listed in full per code and section; the matrix shows them all, the JSON lists
/// them all (a 200-site organisation has thousands, and its report must stay readable).
const MAX_LISTED_PER_CODE: usize = 50;

/// The worst severity and code of the findings of one cell of the matrix, and whether one of
/// them holds today (else only under failures).
type Cell = (Severity, crate::model::Code, bool);

/// Renders the audit. The first screen says what matters: the conclusion (red for an error,
/// amber for a warning, green only when nothing at warning or above was found; a check's counts
/// today's exposures apart from those that need failures), a matrix of origin sites × recipient
/// domains coloured by the worst finding, and the sites the first violation runs through, with
/// its path in red. The findings follow, each folded but the first of each code; the whole
/// topology is an appendix (issue 16: from four sites on, the whole diagram hid the violation).
pub fn render(a: &Audit, topology: Option<&Topology>) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        e(&a.title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", e(&a.title));
    let worst = a
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .map(|i| i.severity)
        .max();
    let class = match worst {
        Some(Severity::Error) => "",
        Some(Severity::Warning) => " warn",
        _ => " ok",
    };
    let _ = writeln!(
        out,
        "<p class=\"conclusion{class}\">{}</p>",
        e(&a.conclusion)
    );
    if let Some(topology) = topology {
        violation(&mut out, a, topology);
    }
    if let Some(first) = a.sections.first() {
        matrix(&mut out, &first.items, topology);
    }

    out.push_str("<h2>What was analysed</h2>\n<table>\n");
    for (k, v) in &a.analysed {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", e(k), e(v));
    }
    out.push_str("</table>\n<h2>Summary</h2>\n<div class=\"wide\"><table>\n<tr>");
    for h in &a.summary_header {
        let _ = write!(out, "<th>{}</th>", e(h));
    }
    out.push_str("</tr>\n");
    for row in &a.summary_rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", e(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n<h2>Findings</h2>\n");
    for s in &a.sections {
        let _ = writeln!(out, "<h3>{}</h3>", e(&s.title));
        if s.items.is_empty() {
            out.push_str("<p>No finding.</p>\n");
        }
        let mut listed: BTreeMap<crate::model::Code, usize> = BTreeMap::new();
        for i in &s.items {
            let n = listed.entry(i.code).or_default();
            *n += 1;
            if *n <= MAX_LISTED_PER_CODE {
                finding(&mut out, i, *n == 1);
            }
        }
        for (code, n) in listed {
            if n > MAX_LISTED_PER_CODE {
                let _ = writeln!(
                    out,
                    "<p>{} more <span class=\"code\">{code}</span> findings are not listed here: the matrix above counts them, and <code>--format json</code> lists every one.</p>",
                    n - MAX_LISTED_PER_CODE
                );
            }
        }
    }
    if !a.codes.is_empty() {
        out.push_str("<h2>The finding codes</h2>\n");
        for &c in &a.codes {
            let d = doc(c);
            let _ = writeln!(
                out,
                "<div class=\"doc\"><h3 id=\"{c}\"><span class=\"code\">{c}</span> {}</h3>",
                e(c.title())
            );
            let _ = writeln!(out, "<p><b>What it detects.</b> {}</p>", e(d.what));
            let _ = writeln!(out, "<p><b>Why it matters.</b> {}</p>", e(d.why));
            let _ = writeln!(out, "<p><b>Example.</b></p><pre>{}</pre>", e(d.example));
            let _ = writeln!(out, "<p><b>Fix.</b> {}</p></div>", e(d.fix));
        }
    }
    if let Some(topology) = topology {
        out.push_str("<div class=\"appendix\">\n<h2>Appendix: the whole topology</h2>\n");
        // The appendix's SVG gets its own marker ids: two inline SVGs share one document, and
        // an id must be unique in it.
        let _ = writeln!(
            out,
            "<div class=\"diagram\">{}</div>\n</div>",
            svg(topology, highlight_of(a, topology).as_ref())
                .replace("tlsflow-arrow", "tlsflow-appendix-arrow")
        );
    }
    let _ = writeln!(
        out,
        "<p><small>Generated by tlsflow {}.</small></p>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// The path of the audit's first violation, in `topology`'s terms.
fn highlight_of(a: &Audit, topology: &Topology) -> Option<Highlight> {
    a.violating_path().map(|path| Highlight {
        servers: path
            .iter()
            .filter_map(|n| topology.server_by_name(n))
            .collect(),
        external_host: path
            .last()
            .filter(|n| topology.server_by_name(n).is_none())
            .cloned(),
    })
}

/// Origin sites × recipient domains, each cell the worst finding there: the whole organisation
/// at a glance. Sites with a finding come first (worst first); the others are counted.
fn matrix(out: &mut String, items: &[super::audit::Item], topology: Option<&Topology>) {
    if items.is_empty() {
        return;
    }
    let mut cells: BTreeMap<(String, String), Cell> = BTreeMap::new();
    let mut domains: Vec<String> = Vec::new();
    for i in items {
        if !domains.contains(&i.domain) {
            domains.push(i.domain.clone());
        }
        for origin in &i.origins {
            let cell = cells
                .entry((origin.clone(), i.domain.clone()))
                .or_insert((i.severity, i.code, i.today));
            if (i.severity, i.today) > (cell.0, cell.2) {
                *cell = (i.severity, i.code, i.today);
            }
        }
    }
    domains.sort_by_key(|d| (d == "*", d.to_lowercase()));
    let mut origins: Vec<String> = cells.keys().map(|(o, _)| o.clone()).collect();
    origins.dedup();
    let worst = |o: &String| {
        domains
            .iter()
            .filter_map(|d| cells.get(&(o.clone(), d.clone())))
            .map(|c| (c.0, c.2))
            .max()
    };
    origins.sort_by(|a, b| {
        worst(b)
            .cmp(&worst(a))
            .then_with(|| a.to_lowercase().cmp(&b.to_lowercase()))
    });
    // Sites whose rows read alike share one row, so 200 sites fit a screen.
    let mut rows: Vec<(Vec<Option<Cell>>, Vec<&String>)> = Vec::new();
    for o in &origins {
        let pattern: Vec<Option<Cell>> = domains
            .iter()
            .map(|d| cells.get(&(o.clone(), d.clone())).copied())
            .collect();
        match rows.iter_mut().find(|(p, _)| *p == pattern) {
            Some((_, sites)) => sites.push(o),
            None => rows.push((pattern, vec![o])),
        }
    }
    out.push_str("<h2>At a glance: origin sites × recipient domains</h2>\n");
    out.push_str("<p>Each cell: the worst finding for mail from those sites to that domain");
    if items.iter().any(|i| !i.today) {
        out.push_str("; dark: with nothing failed, today; light: only when components fail");
    }
    out.push_str(".</p>\n");
    out.push_str("<div class=\"wide\"><table class=\"matrix\">\n<tr><th>origin site</th>");
    for d in &domains {
        let _ = write!(out, "<th>{}</th>", e(d));
    }
    out.push_str("</tr>\n");
    for (pattern, sites) in &rows {
        let label = match sites.len() {
            1..=4 => sites
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            n => format!(
                "{}, … and {} more ({n} sites)",
                sites[..3]
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                n - 3
            ),
        };
        let _ = write!(out, "<tr><th>{}</th>", e(&label));
        for cell in pattern {
            match cell {
                Some((severity, code, today)) => {
                    let _ = write!(
                        out,
                        "<td class=\"{}{}\">{code}</td>",
                        severity.as_str(),
                        if *today { "" } else { " later" }
                    );
                }
                None => out.push_str("<td class=\"none\">·</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
    let clean = topology.map_or(0, |t| {
        t.sites
            .iter()
            .filter(|s| !origins.iter().any(|o| o.eq_ignore_ascii_case(&s.name)))
            .count()
    });
    if clean > 0 {
        let _ = writeln!(
            out,
            "<p>{clean} other site(s): no finding for mail from them.</p>"
        );
    }
}

/// The sites the first violation runs through, and their neighbours, with its path in red.
fn violation(out: &mut String, a: &Audit, topology: &Topology) {
    let Some(item) = a
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .find(|i| i.severity == Severity::Error && !i.path.is_empty())
    else {
        return;
    };
    let Some(highlight) = highlight_of(a, topology) else {
        return;
    };
    let Some((view, highlight)) = focus(topology, &highlight) else {
        return;
    };
    out.push_str("<h2>Where required mail leaves in clear text</h2>\n");
    let _ = writeln!(
        out,
        "<p>In red, the path of the first: <span class=\"code\">{}</span> {}</p>",
        item.code,
        e(&item.headline)
    );
    let _ = writeln!(
        out,
        "<div class=\"diagram\">{}</div>",
        svg(&view, Some(&highlight))
    );
}

/// One finding, folded unless `open`.
fn finding(out: &mut String, i: &super::audit::Item, open: bool) {
    let sev = i.severity.as_str();
    let _ = writeln!(
        out,
        "<details class=\"finding {sev}\"{}><summary><span class=\"sev {sev}\">{sev}</span> <span class=\"code\">{}</span> {}</summary>",
        if open { " open" } else { "" },
        i.code,
        e(&i.headline)
    );
    let _ = writeln!(out, "<p>{}</p>\n<ul>", e(i.code.title()));
    for (k, v) in &i.facts {
        let _ = writeln!(out, "<li><b>{}</b>: {}</li>", e(k), e(v));
    }
    out.push_str("</ul>\n");
    if !i.trace.is_empty() {
        out.push_str("<p>Hop by hop, as message tracking logs it:</p>\n<table><tr><th>event</th><th>from</th><th>to</th><th>detail</th></tr>\n");
        for t in &i.trace {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&t.event),
                e(&t.from),
                e(&t.to),
                e(&t.detail)
            );
        }
        out.push_str("</table>\n");
    }
    if !i.evidence.is_empty() {
        out.push_str("<p>The log lines that prove it:</p>\n<pre class=\"evidence\">");
        for (at, line) in &i.evidence {
            let _ = writeln!(out, "<b>{}</b>: {}", e(at), e(line));
        }
        out.push_str("</pre>\n");
    }
    if let Some(l) = &i.lost {
        let _ = writeln!(
            out,
            "<p class=\"lost\"><b>Where and why the requirement was lost</b>: {}</p>",
            e(l)
        );
    }
    if !i.fixes.is_empty() {
        out.push_str("<p><b>Fixes re-checked by tlsflow</b> (each removes this finding and adds none):</p>\n<ul>\n");
        for f in &i.fixes {
            let _ = writeln!(
                out,
                "<li>{}<br><code>{}</code></li>",
                e(&f.description),
                e(&f.command)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</details>\n");
}
