//! `tlsflow validate`: per file, every diagnostic, and a one-line summary of what was loaded.

use std::fmt::Write as _;

use serde::Serialize;

use crate::load::Diagnostic;
use crate::model::{Severity, Topology};

#[derive(Clone, Debug, Serialize)]
pub struct ValidateReport {
    pub format_version: u32,
    pub files: Vec<FileReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub file: String,
    /// True when the file loaded (it may still have warnings).
    pub valid: bool,
    pub profile: Option<String>,
    pub summary: Option<Summary>,
    pub diagnostics: Vec<Diagnostic>,
    /// Diagnostics rendered with their source snippet (text view only).
    #[serde(skip)]
    pub rendered: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub sites: usize,
    pub site_links: usize,
    pub servers: usize,
    /// Database availability groups.
    pub database_availability_groups: usize,
    pub send_connectors: usize,
    pub transport_rules: usize,
    pub mailboxes: usize,
    pub external_domains: usize,
}

impl Summary {
    pub fn of(t: &Topology) -> Summary {
        Summary {
            sites: t.sites.len(),
            site_links: t.site_links.len(),
            servers: t.servers.len(),
            database_availability_groups: t.dags.len(),
            send_connectors: t.send_connectors.len(),
            transport_rules: t.transport_rules.len(),
            mailboxes: t.mailboxes.len(),
            external_domains: t.external_domains.len(),
        }
    }
}

impl ValidateReport {
    pub fn max_severity(&self) -> Option<Severity> {
        self.files
            .iter()
            .flat_map(|f| f.diagnostics.iter().map(|d| d.severity))
            .max()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            for r in &f.rendered {
                out.push_str(r);
                out.push('\n');
            }
            let count = |s: Severity| f.diagnostics.iter().filter(|d| d.severity == s).count();
            let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
            let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
            let _ = match (&f.summary, &f.profile) {
                (Some(s), Some(p)) => writeln!(
                    out,
                    "{}: valid, {} (profile {p}; {}, {}, {}{}, {}, {})",
                    f.file,
                    plural(warnings, "warning"),
                    plural(s.sites, "site"),
                    plural(s.site_links, "site link"),
                    plural(s.servers, "server"),
                    if s.database_availability_groups == 0 {
                        String::new()
                    } else {
                        format!(", {}", plural(s.database_availability_groups, "DAG"))
                    },
                    plural(s.send_connectors, "send connector"),
                    plural(s.transport_rules, "transport rule"),
                ),
                _ => writeln!(
                    out,
                    "{}: invalid, {}, {}",
                    f.file,
                    plural(errors, "error"),
                    plural(warnings, "warning")
                ),
            };
        }
        out
    }
}
