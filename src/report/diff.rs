//! `tlsflow diff` and `tlsflow merge`: comparing and joining check reports.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::model::{Code, Severity, TlsLevel};

use super::check::{CheckReport, ExposureReport, conclusion};
use super::text::wrap;

/// Where and under which failures: an exposure without its code.
type Situation = (String, String, TlsLevel, Option<u64>, Vec<String>);

/// Who an exposure concerns (`check::OriginKey` by name): a site's mail, or every site's mail
/// that also goes to a mailbox in a group.
fn origin_key(e: &ExposureReport) -> String {
    match &e.mailbox_recipient_group {
        Some(g) => format!("mail that also goes to a mailbox in {g}"),
        None => e.origin_label().to_owned(),
    }
}

fn situation(e: &ExposureReport) -> Situation {
    (
        origin_key(e),
        e.recipient_domain.clone(),
        e.required_tls,
        e.larger_than_bytes,
        e.failure_set.clone(),
    )
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiffReport {
    pub format_version: u32,
    pub old: String,
    pub new: String,
    pub failures_max: usize,
    /// Exposures of NEW that OLD does not have.
    pub added: Vec<ExposureReport>,
    /// Exposures of OLD that NEW does not have.
    pub removed: Vec<ExposureReport>,
    /// The same situation with other codes.
    pub changed: Vec<ChangedReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangedReport {
    pub origin_site: String,
    pub recipient_domain: String,
    pub required_tls: TlsLevel,
    /// Only messages larger than this many bytes (see `ExposureReport::larger_than_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub larger_than_bytes: Option<u64>,
    pub failure_set: Vec<String>,
    pub old_codes: Vec<Code>,
    pub new_codes: Vec<Code>,
}

/// Compares two check reports (same K).
pub fn diff(old: &CheckReport, new: &CheckReport, old_name: &str, new_name: &str) -> DiffReport {
    let codes = |r: &CheckReport| {
        let mut m: BTreeMap<Situation, BTreeSet<Code>> = BTreeMap::new();
        for e in &r.exposures {
            m.entry(situation(e)).or_default().insert(e.code);
        }
        m
    };
    let (old_codes, new_codes) = (codes(old), codes(new));
    let mut changed = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for e in &new.exposures {
        match old_codes.get(&situation(e)) {
            None => added.push(e.clone()),
            Some(c) if !c.contains(&e.code) => added.push(e.clone()),
            Some(_) => {}
        }
    }
    for e in &old.exposures {
        match new_codes.get(&situation(e)) {
            None => removed.push(e.clone()),
            Some(c) if !c.contains(&e.code) => removed.push(e.clone()),
            Some(_) => {}
        }
    }
    for (s, o) in &old_codes {
        if let Some(n) = new_codes.get(s)
            && o != n
        {
            changed.push(ChangedReport {
                origin_site: s.0.clone(),
                recipient_domain: s.1.clone(),
                required_tls: s.2,
                larger_than_bytes: s.3,
                failure_set: s.4.clone(),
                old_codes: o.iter().copied().collect(),
                new_codes: n.iter().copied().collect(),
            });
        }
    }
    DiffReport {
        format_version: 1,
        old: old_name.to_owned(),
        new: new_name.to_owned(),
        failures_max: new.failures_max,
        added,
        removed,
        changed,
    }
}

impl DiffReport {
    /// The worst severity that the new side adds.
    pub fn worse(&self) -> Option<Severity> {
        self.added.iter().map(|e| e.severity).max()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "diff  {} -> {}", self.old, self.new);
        let _ = writeln!(out, "      up to {} failed components", self.failures_max);
        out.push('\n');
        if self.added.is_empty() && self.removed.is_empty() {
            out.push_str("no change in exposures\n");
            return out;
        }
        for (title, list) in [
            ("added (worse)", &self.added),
            ("removed (better)", &self.removed),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{title}");
            for e in list {
                let failures = if e.failure_set.is_empty() {
                    "no failure".to_owned()
                } else {
                    format!("down: {}", e.failure_set.join(", "))
                };
                let origin = if e.origin.is_empty() {
                    &e.origin_site
                } else {
                    &e.origin
                };
                let line = format!(
                    "{} {origin} -> {}, required {}, {failures}",
                    e.code, e.recipient_domain, e.required_tls
                );
                let _ = writeln!(
                    out,
                    "  {:<8}{}",
                    e.severity.as_str(),
                    wrap(&line, 10, 12, 80)
                );
            }
        }
        if !self.changed.is_empty() {
            out.push_str("changed code\n");
            for c in &self.changed {
                let fmt = |v: &[Code]| v.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("+");
                let failures = if c.failure_set.is_empty() {
                    "no failure".to_owned()
                } else {
                    format!("down: {}", c.failure_set.join(", "))
                };
                let line = format!(
                    "{} -> {}, required {}, {failures}: {} -> {}",
                    c.origin_site,
                    c.recipient_domain,
                    c.required_tls,
                    fmt(&c.old_codes),
                    fmt(&c.new_codes)
                );
                let _ = writeln!(out, "  {}", wrap(&line, 2, 4, 80));
            }
        }
        out
    }
}

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    #[error(
        "{0} is not a shard of the same analysis as the first file (topology, profile, instant and K must match)"
    )]
    Mismatch(String),
    #[error(
        "{0} is not a shard (it has no `shard` field); merge the outputs of `check --shard i/n`"
    )]
    NotAShard(String),
    #[error("the shards do not cover the analysis: expected shards 1..{count}, got {got}")]
    Incomplete { count: usize, got: String },
    #[error(
        "{0} is a shard of another split of the analysis (the shards of one run are i/n with the same n)"
    )]
    OtherSplit(String),
    #[error(
        "{0} has no input fingerprint, or one that differs from the first file's: it is a shard of another topology, profile, instant or K, or of an older tlsflow, or it was edited"
    )]
    OtherInput(String),
    #[error("{name} is damaged: {what}")]
    Damaged { name: String, what: String },
}

/// Joins the reports of `check --shard i/n`, i = 1..n, into the report one run gives.
pub fn merge(reports: &[(String, CheckReport)]) -> Result<CheckReport, MergeError> {
    let Some((_, first)) = reports.first() else {
        return Err(MergeError::Incomplete {
            count: 0,
            got: String::new(),
        });
    };
    let mut seen = BTreeSet::new();
    let mut count = 0;
    for (name, r) in reports {
        if (&r.topology, &r.profile, &r.at, r.failures_max)
            != (
                &first.topology,
                &first.profile,
                &first.at,
                first.failures_max,
            )
        {
            return Err(MergeError::Mismatch(name.clone()));
        }
        let Some((i, n)) = r.shard.as_deref().and_then(|s| s.split_once('/')) else {
            return Err(MergeError::NotAShard(name.clone()));
        };
        let (i, n): (usize, usize) = (i.parse().unwrap_or(0), n.parse().unwrap_or(0));
        if r.input_sha256.is_none() || r.input_sha256 != first.input_sha256 {
            return Err(MergeError::OtherInput(name.clone()));
        }
        if count != 0 && n != count {
            return Err(MergeError::OtherSplit(name.clone()));
        }
        if !seen.insert(i) {
            return Err(MergeError::Damaged {
                name: name.clone(),
                what: format!("shard {i}/{n} is given twice"),
            });
        }
        count = n;
        if let Some(e) = r.exposures.iter().find(|e| e.origin_servers.is_empty()) {
            return Err(MergeError::Damaged {
                name: name.clone(),
                what: format!(
                    "an exposure ({} to {}) names no origin server",
                    e.origin_site, e.recipient_domain
                ),
            });
        }
    }
    if seen != (1..=count).collect() {
        let got = seen
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        return Err(MergeError::Incomplete { count, got });
    }
    // The same situation and code from several shards: one exposure, its origin servers joined.
    let mut by_key: BTreeMap<(Situation, Code), ExposureReport> = BTreeMap::new();
    for (_, r) in reports {
        for e in &r.exposures {
            match by_key.get_mut(&(situation(e), e.code)) {
                Some(x) => {
                    // The details are those of the lowest-named origin server (as in `check`).
                    let mut servers = std::mem::take(&mut x.origin_servers);
                    let mut sites = std::mem::take(&mut x.origin_sites);
                    if e.origin_servers[0].to_lowercase() < servers[0].to_lowercase() {
                        *x = e.clone();
                    }
                    for s in &e.origin_servers {
                        if !servers.contains(s) {
                            servers.push(s.clone());
                        }
                    }
                    for s in &e.origin_sites {
                        if !sites.contains(s) {
                            sites.push(s.clone());
                        }
                    }
                    servers.sort_by_key(|s| s.to_lowercase());
                    sites.sort_by_key(|s| s.to_lowercase());
                    x.origin_servers = servers;
                    if let Some(first) = sites.first() {
                        x.origin_site.clone_from(first);
                    }
                    if let Some(g) = &x.mailbox_recipient_group {
                        x.origin = format!(
                            "{} mail that also goes to a mailbox in {g}",
                            sites.join(", ")
                        );
                    }
                    x.origin_sites = sites;
                }
                None => {
                    by_key.insert((situation(e), e.code), e.clone());
                }
            }
        }
    }
    let all: Vec<ExposureReport> = by_key.into_values().collect();
    // Minimal across shards: drop a failure set that strictly contains another for the same
    // site, domain, requirement and code.
    let mut exposures: Vec<ExposureReport> = all
        .iter()
        .filter(|e| {
            !all.iter().any(|o| {
                (origin_key(o), &o.recipient_domain, o.required_tls, o.code)
                    == (origin_key(e), &e.recipient_domain, e.required_tls, e.code)
                    && o.failure_set.len() < e.failure_set.len()
                    && o.failure_set.iter().all(|c| e.failure_set.contains(c))
            })
        })
        .cloned()
        .collect();
    exposures.sort_by(|a, b| {
        let key = |e: &ExposureReport| {
            (
                std::cmp::Reverse(e.severity),
                e.mailbox_recipient_group.as_ref().map(|g| g.to_lowercase()),
                e.origin_site.to_lowercase(),
                e.origin_label().to_lowercase(),
                e.recipient_domain.clone(),
                e.required_tls,
                e.code,
                e.failure_set.len(),
                e.failure_set.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(CheckReport {
        format_version: 1,
        topology: first.topology.clone(),
        profile: first.profile.clone(),
        at: first.at.clone(),
        failures_max: first.failures_max,
        components: first.components,
        scenarios_checked: reports.iter().map(|(_, r)| r.scenarios_checked).sum(),
        shard: None,
        input_sha256: None,
        conclusion: conclusion(
            &first.profile,
            first.failures_max,
            &exposures,
            &first.caveats,
        ),
        caveats: first.caveats.clone(),
        exposures,
    })
}
