//! The audit report as Markdown (GitHub-flavoured tables).

use std::fmt::Write as _;

use crate::policy::docs::doc;

use super::audit::Audit;

/// Escapes table-breaking characters in a cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(a: &Audit) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", a.title);
    let _ = writeln!(out, "{}\n", a.conclusion);
    out.push_str("## What was analysed\n\n| | |\n|---|---|\n");
    for (k, v) in &a.analysed {
        let _ = writeln!(out, "| {} | {} |", cell(k), cell(v));
    }
    out.push_str("\n## Summary\n\n");
    let _ = writeln!(
        out,
        "| {} |",
        a.summary_header
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}", "---|".repeat(a.summary_header.len()));
    for row in &a.summary_rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    out.push_str("\n## Findings\n");
    for s in &a.sections {
        let _ = writeln!(out, "\n### {}\n", s.title);
        if s.items.is_empty() {
            out.push_str("No finding.\n");
        }
        for i in &s.items {
            let _ = writeln!(
                out,
                "#### {} ({}): {}\n",
                i.code,
                i.severity.as_str(),
                i.code.title()
            );
            let _ = writeln!(out, "{}\n", i.headline);
            for (k, v) in &i.facts {
                let _ = writeln!(out, "- **{k}**: {v}");
            }
            if !i.trace.is_empty() {
                out.push_str("\nHop by hop, as message tracking logs it:\n\n| event | from | to | detail |\n|---|---|---|---|\n");
                for t in &i.trace {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} |",
                        cell(&t.event),
                        cell(&t.from),
                        cell(&t.to),
                        cell(&t.detail)
                    );
                }
            }
            if !i.evidence.is_empty() {
                out.push_str("\nThe log lines that prove it:\n\n```text\n");
                for (at, line) in &i.evidence {
                    let _ = writeln!(out, "{at}: {line}");
                }
                out.push_str("```\n");
            }
            if let Some(l) = &i.lost {
                let _ = writeln!(out, "\n**Where and why the requirement was lost**: {l}");
            }
            if !i.fixes.is_empty() {
                out.push_str("\n**Fixes re-checked by tlsflow** (each removes this finding and adds none):\n\n");
                for f in &i.fixes {
                    let _ = writeln!(out, "- {}: `{}`", f.description, f.command);
                }
            }
            out.push('\n');
        }
    }
    if !a.codes.is_empty() {
        out.push_str("## The finding codes\n");
        for &c in &a.codes {
            let d = doc(c);
            let _ = writeln!(out, "\n### {} — {}\n", c, c.title());
            let _ = writeln!(out, "**What it detects.** {}\n", d.what);
            let _ = writeln!(out, "**Why it matters.** {}\n", d.why);
            let _ = writeln!(out, "**Example.**\n\n```\n{}\n```\n", d.example);
            let _ = writeln!(out, "**Fix.** {}", d.fix);
        }
    }
    out
}
