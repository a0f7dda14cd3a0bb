//! Citations lead somewhere (issue 16): every `docs/evidence.md#anchor` tlsflow prints, or that
//! a shipped file, profile or report carries, names an anchor of `docs/evidence.md`, and no
//! printed text cites the section numbers of documents users do not have.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::repo;

const DOC: &str = "docs/evidence.md#";

/// The anchors `docs/evidence.md` defines (`<a id="…"></a>`).
fn defined() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo("docs/evidence.md")).expect("docs/evidence.md");
    text.split("<a id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

fn anchor_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The anchors a line cites: after `docs/evidence.md#`, then each `, #x`, ` and #x`, ` to #x`
/// that follows in the same citation.
fn cited(line: &str, continued: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    if continued && let Some(after) = line.trim_start().strip_prefix('#') {
        out.push(anchor_at(after).to_owned());
    }
    while let Some(i) = rest.find(DOC) {
        rest = &rest[i + DOC.len()..];
        loop {
            let anchor = anchor_at(rest);
            out.push(anchor.to_owned());
            rest = &rest[anchor.len()..];
            let Some(next) = [", #", " and #", " to #"]
                .iter()
                .find_map(|sep| rest.strip_prefix(sep))
            else {
                break;
            };
            rest = next;
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_citation_names_an_anchor_of_the_evidence() {
    let defined = defined();
    let mut paths = Vec::new();
    for dir in ["src", "scenarios", "profiles", "reports"] {
        files(&repo(dir), &mut paths);
    }
    paths.push(repo("README.md"));
    paths.sort();
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for path in &paths {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let rust = path.extension().is_some_and(|e| e == "rs");
        let mut previous = "";
        for (number, line) in text.lines().enumerate() {
            let continued = previous.trim_end().ends_with(", \\");
            for anchor in cited(line, continued) {
                if !defined.contains(&anchor) {
                    problems.push(format!(
                        "{}:{}: #{anchor} is not an anchor of docs/evidence.md",
                        path.display(),
                        number + 1
                    ));
                }
                seen.insert(anchor);
            }
            // Code comments may cite the project's internal reference; nothing users read may:
            // in src/cli.rs every `///` line counts, as clap turns doc comments into help.
            let comment = rust && line.trim_start().starts_with("//");
            let clap_help =
                rust && line.trim_start().starts_with("///") && path.ends_with("src/cli.rs");
            if line.contains('§') && (!comment || clap_help) {
                problems.push(format!(
                    "{}:{}: a section number users cannot follow: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
            previous = line;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The scan sees the citations: the defect's own anchors at least.
    for anchor in [
        "the-defect",
        "cross-site-loss",
        "where-rules-run",
        "rule-action",
    ] {
        assert!(seen.contains(anchor), "{anchor} is never cited");
    }
}
