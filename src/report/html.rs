//! The audit report as one self-contained HTML file: inline CSS, an inline SVG diagram of the
//! topology with the first violating path in red, no script and no external resource, so it
//! opens offline and can be attached to an audit.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use crate::model::{Severity, Topology};
use crate::policy::docs::doc;

use super::audit::Audit;
use super::diagram::{Highlight, svg};

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #1f2328; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
.conclusion { font-size: 1.1em; padding: .8em 1em; border-left: 5px solid #cf222e; background: #fff5f5; }
.conclusion.ok { border-color: #1a7f37; background: #f0fff4; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.finding { border: 1px solid #d0d7de; border-radius: 6px; padding: .6em 1em; margin: 1em 0; }
.finding.error { border-left: 6px solid #cf222e; }
.finding.warning { border-left: 6px solid #bf8700; }
.finding.info { border-left: 6px solid #0969da; }
.code { font-family: ui-monospace, Consolas, monospace; font-weight: bold; }
.sev { text-transform: uppercase; font-size: .8em; padding: .1em .4em; border-radius: 3px; color: #fff; }
.sev.error { background: #cf222e; } .sev.warning { background: #9a6700; } .sev.info { background: #0969da; }
.lost { background: #fff8c5; padding: .4em .6em; border-radius: 4px; }
code, pre { font-family: ui-monospace, Consolas, monospace; font-size: .9em; background: #f6f8fa; }
pre { padding: .6em; overflow-x: auto; }
.diagram { overflow-x: auto; border: 1px solid #d0d7de; border-radius: 6px; padding: .5em; background: #fff; }
.doc { margin: 1em 0 1.5em; }
.wide { overflow-x: auto; }
";

fn e(text: &str) -> String {
    escape(text).into_owned()
}

/// Renders the audit; the diagram shows `topology` with the audit's first violating path.
pub fn render(a: &Audit, topology: &Topology) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        e(&a.title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", e(&a.title));
    let has_errors = a
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .any(|i| i.severity == Severity::Error);
    let _ = writeln!(
        out,
        "<p class=\"conclusion{}\">{}</p>",
        if has_errors { "" } else { " ok" },
        e(&a.conclusion)
    );

    out.push_str("<h2>The topology</h2>\n");
    let highlight = a.violating_path().map(|path| {
        let servers = path
            .iter()
            .filter_map(|n| topology.server_by_name(n))
            .collect();
        let external_host = path
            .last()
            .filter(|n| topology.server_by_name(n).is_none())
            .cloned();
        Highlight {
            servers,
            external_host,
        }
    });
    if highlight.is_some() {
        out.push_str("<p>In red: the path of the first message that left in clear text.</p>\n");
    }
    let _ = writeln!(
        out,
        "<div class=\"diagram\">{}</div>",
        svg(topology, highlight.as_ref())
    );

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
        for i in &s.items {
            let sev = i.severity.as_str();
            let _ = writeln!(
                out,
                "<div class=\"finding {sev}\"><p><span class=\"sev {sev}\">{sev}</span> <span class=\"code\">{}</span> {}</p>",
                i.code,
                e(i.code.title())
            );
            let _ = writeln!(out, "<p>{}</p>\n<ul>", e(&i.headline));
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
            out.push_str("</div>\n");
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
    let _ = writeln!(
        out,
        "<p><small>Generated by tlsflow {}.</small></p>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}
