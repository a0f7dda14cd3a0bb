//! The audit report (SPEC §6.2): one model, built from a simulation or a check, rendered to
//! Markdown and to self-contained HTML, so both formats say the same thing. It states what was
//! analysed (files and their SHA-256, profile, seed, tlsflow version), summarises, and gives each
//! finding with its hop-by-hop trace in message tracking terms, where and why the requirement was
//! lost, the re-verified fixes, and the documentation of every code it uses.

use std::collections::BTreeMap;

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::model::{Code, Severity};

use super::check::{CheckReport, FixReport};
use super::simulate::SimulateReport;

/// An input file and its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalysedFile {
    pub name: String,
    pub sha256: String,
}

impl AnalysedFile {
    pub fn new(name: &str, text: &str) -> AnalysedFile {
        AnalysedFile {
            name: name.to_owned(),
            sha256: sha256_hex(text.as_bytes()),
        }
    }
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Findings that read alike: (severity, code, origin site, domain, connector).
type GroupKey = (std::cmp::Reverse<Severity>, Code, String, String, String);

/// Re-verified fixes, by (origin site, recipient domain class, code).
pub type FixIndex = BTreeMap<(String, String, Code), Vec<FixReport>>;

/// A row of a hop-by-hop trace, in message tracking terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRow {
    pub event: String,
    pub from: String,
    pub to: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub code: Code,
    pub severity: Severity,
    pub headline: String,
    pub facts: Vec<(String, String)>,
    pub trace: Vec<TraceRow>,
    /// Log lines that prove the finding (`tlsflow logs`): where (`file:line`), and the line.
    pub evidence: Vec<(String, String)>,
    pub lost: Option<String>,
    pub fixes: Vec<FixReport>,
    /// Servers of the path, then the external host (for the diagram).
    pub path: Vec<String>,
    /// The senders' sites this finding concerns, and its recipient domain (for the matrix of
    /// origin sites × recipient domains).
    pub origins: Vec<String>,
    pub domain: String,
    /// With nothing failed (today's configuration), as opposed to only under failures.
    pub today: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    pub title: String,
    pub analysed: Vec<(String, String)>,
    pub summary_header: Vec<String>,
    pub summary_rows: Vec<Vec<String>>,
    pub sections: Vec<Section>,
    pub conclusion: String,
    pub codes: Vec<Code>,
}

impl Audit {
    /// The first error-level finding's path, for the diagram.
    pub fn violating_path(&self) -> Option<&[String]> {
        self.sections
            .iter()
            .flat_map(|s| s.items.iter())
            .find(|i| i.severity == Severity::Error && !i.path.is_empty())
            .map(|i| i.path.as_slice())
    }
}

fn trace_of(hops: &[String], connector: Option<&str>) -> (Vec<TraceRow>, Vec<String>) {
    let mut rows = Vec::new();
    let mut path = Vec::new();
    for h in hops {
        // "FROM -> TO (kind)"
        let (ends, kind) = h
            .rsplit_once(" (")
            .map_or((h.as_str(), ""), |(e, k)| (e, k.trim_end_matches(')')));
        let (from, to) = ends.split_once(" -> ").unwrap_or((ends, ""));
        if path.is_empty() {
            path.push(from.to_owned());
        }
        path.push(to.to_owned());
        let via = if kind == "external" {
            format!("connector-id {}", connector.unwrap_or("?"))
        } else {
            "connector-id Intra-Organization SMTP Send Connector".to_owned()
        };
        rows.push(TraceRow {
            event: "SEND (SMTP)".to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            detail: format!("{kind}; {via}"),
        });
        if kind != "external" {
            rows.push(TraceRow {
                event: "RECEIVE (SMTP)".to_owned(),
                from: from.to_owned(),
                to: to.to_owned(),
                detail: format!("logged by {to}"),
            });
        }
    }
    (rows, path)
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0".to_owned();
    }
    #[expect(clippy::cast_precision_loss, reason = "report counts")]
    let p = part as f64 * 100.0 / whole as f64;
    format!("{part} ({p:.1}%)")
}

/// The audit of a simulation: each run a section; identical findings (same code, site,
/// domain, connector) are grouped, with the first message as the example.
pub fn of_simulation(r: &SimulateReport, files: &[AnalysedFile], fixes: &FixIndex) -> Audit {
    let mut analysed = vec![("tlsflow".to_owned(), env!("CARGO_PKG_VERSION").to_owned())];
    for f in files {
        analysed.push((
            "file".to_owned(),
            format!("{} (sha256 {})", f.name, f.sha256),
        ));
    }
    analysed.push(("profile".to_owned(), r.profile.clone()));
    analysed.push(("seed".to_owned(), r.seed.to_string()));
    analysed.push((
        "simulated time 0".to_owned(),
        format!(
            "{}, duration {}",
            r.start,
            crate::model::Millis(r.duration_ms)
        ),
    ));
    // The run's own findings, then the scenario's unmet expectations.
    let mut codes_in_use = crate::sim::FINDING_CODES.to_vec();
    codes_in_use.push(Code::Exp001);
    let mut summary_header: Vec<String> = [
        "run",
        "profile",
        "recipients",
        "in clear",
        "encrypted",
        "validated",
        "ndr",
        "queued",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    summary_header.extend(codes_in_use.iter().map(|c| c.as_str().to_owned()));
    let mut summary_rows = Vec::new();
    let mut sections = Vec::new();
    let mut codes = Vec::new();
    for run in &r.runs {
        let s = &run.summary;
        let d = &s.delivered;
        let mut row = vec![
            run.variant.clone(),
            run.profile.clone(),
            s.recipients.to_string(),
            pct(d.none, s.recipients),
            d.encrypted.to_string(),
            (d.certificate_validated + d.domain_validated).to_string(),
            s.ndr.to_string(),
            s.queued.to_string(),
        ];
        // Every finding counted, also those past the ones a run keeps (`finding_counts`).
        row.extend(codes_in_use.iter().map(|c| {
            run.finding_counts
                .get(c)
                .copied()
                .unwrap_or_else(|| run.findings.iter().filter(|f| f.code == *c).count() as u64)
                .to_string()
        }));
        summary_rows.push(row);
        let mut groups: BTreeMap<GroupKey, Vec<&super::simulate::SimFindingReport>> =
            BTreeMap::new();
        for f in &run.findings {
            let domain = f
                .recipient
                .rsplit_once('@')
                .map_or(f.recipient.clone(), |(_, d)| d.to_owned());
            groups
                .entry((
                    std::cmp::Reverse(f.severity),
                    f.code,
                    f.origin_site.clone(),
                    domain,
                    f.connector.clone().unwrap_or_default(),
                ))
                .or_default()
                .push(f);
        }
        let mut items = Vec::new();
        for ((_, code, site, domain, connector), list) in groups {
            codes.push(code);
            let f = list[0];
            let when = crate::model::Timestamp(
                crate::load::values::instant(&r.start)
                    .map_or(0, |t| t.0)
                    .saturating_add(i64::try_from(f.time_ms).unwrap_or(i64::MAX)),
            );
            let listed = if run.findings_omitted > 0 {
                format!(
                    "{} listed (past the first {} per code, origin site and connector, findings are counted in the summary, not listed)",
                    list.len(),
                    crate::sim::FINDINGS_KEPT_PER_GROUP
                )
            } else {
                list.len().to_string()
            };
            let mut facts = vec![("messages".to_owned(), listed)];
            if !f.message_id.is_empty() {
                facts.push((
                    "example".to_owned(),
                    format!("{} {} -> {} at {when}", f.message_id, f.sender, f.recipient),
                ));
                facts.push(("origin site".to_owned(), format!("{site} (the sender's)")));
            }
            // The first hop starts on the Transport service that ran the rules: Mailbox
            // Transport Submission chose it from the message's mailbox recipients (§1.10).
            if let Some(first) = f.hops.first().and_then(|h| h.split(" -> ").next()) {
                facts.push((
                    "rules ran on".to_owned(),
                    format!(
                        "{first} (the submission's choice, from the message's mailbox recipients)"
                    ),
                ));
            }
            if !connector.is_empty() {
                facts.push(("send connector".to_owned(), connector.clone()));
            }
            if let Some(l) = &f.location {
                facts.push((
                    "in the topology".to_owned(),
                    format!("{}:{}:{} ({})", l.file, l.line, l.column, l.yaml_path),
                ));
            }
            let (trace, path) = trace_of(&f.hops, f.connector.as_deref());
            let class = if fixes.keys().any(|(s, d, _)| *s == site && *d == domain) {
                domain.clone()
            } else {
                "*".to_owned()
            };
            items.push(Item {
                code,
                severity: f.severity,
                headline: f.message.clone(),
                facts,
                trace,
                evidence: Vec::new(),
                lost: f.lost_at.as_ref().map(|l| {
                    format!(
                        "on {} -> {} ({}): {} [evidence: {}; {}]",
                        l.from,
                        l.to,
                        l.kind,
                        l.because,
                        l.evidence.as_str(),
                        l.source
                    )
                }),
                fixes: fixes
                    .get(&(site.clone(), class, code))
                    .cloned()
                    .unwrap_or_default(),
                path,
                origins: vec![site.clone()],
                domain: domain.clone(),
                today: true,
            });
        }
        sections.push(Section {
            title: format!("{} (profile {})", run.variant, run.profile),
            items,
        });
    }
    codes.sort();
    codes.dedup();
    let clear: u64 = r.runs.first().map_or(0, |b| {
        // Counted in full when some findings were left out of the list.
        b.finding_counts
            .get(&Code::Tls001)
            .copied()
            .unwrap_or_else(|| b.findings.iter().filter(|f| f.code == Code::Tls001).count() as u64)
    });
    let conclusion = if clear == 0 {
        "In the baseline, no mail that a rule required to leave over TLS left in clear text."
            .to_owned()
    } else {
        format!(
            "In the baseline, {clear} recipient(s) that a transport rule required to receive mail over TLS got it in clear text (TLS001): \
             the requirement was dropped inside the organisation, and nothing reported it."
        )
    };
    Audit {
        title: format!("tlsflow audit: {}", r.scenario),
        analysed,
        summary_header,
        summary_rows,
        sections,
        conclusion,
        codes,
    }
}

/// The audit of a check.
pub fn of_check(r: &CheckReport, files: &[AnalysedFile]) -> Audit {
    let mut analysed = vec![("tlsflow".to_owned(), env!("CARGO_PKG_VERSION").to_owned())];
    for f in files {
        analysed.push((
            "file".to_owned(),
            format!("{} (sha256 {})", f.name, f.sha256),
        ));
    }
    analysed.push(("profile".to_owned(), r.profile.clone()));
    analysed.push((
        "failures considered".to_owned(),
        format!("every set of up to {} components", r.failures_max),
    ));
    analysed.push(("certificates judged at".to_owned(), r.at.clone()));
    analysed.push((
        "situations routed".to_owned(),
        r.scenarios_checked.to_string(),
    ));
    let summary_header: Vec<String> = ["code", "severity", "exposures"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut counts: BTreeMap<Code, usize> = BTreeMap::new();
    for e in &r.exposures {
        *counts.entry(e.code).or_default() += 1;
    }
    let summary_rows = counts
        .iter()
        .map(|(c, n)| {
            vec![
                c.as_str().to_owned(),
                c.severity().as_str().to_owned(),
                n.to_string(),
            ]
        })
        .collect();
    let items = r
        .exposures
        .iter()
        .map(|e| {
            let mut facts = vec![
                ("rules run on".to_owned(), e.origin_servers.join(", ")),
                (
                    "failure set".to_owned(),
                    if e.failure_set.is_empty() {
                        "none (today's configuration)".to_owned()
                    } else {
                        e.failure_set.join(", ")
                    },
                ),
            ];
            if let Some(c) = &e.connector {
                facts.push(("send connector".to_owned(), c.clone()));
            }
            if let Some(l) = &e.location {
                facts.push((
                    "in the topology".to_owned(),
                    format!("{}:{}:{} ({})", l.file, l.line, l.column, l.yaml_path),
                ));
            }
            let (trace, path) = trace_of(&e.hops, e.connector.as_deref());
            Item {
                code: e.code,
                severity: e.severity,
                headline: format!(
                    "{} -> {}{}, required {}: {}",
                    e.origin_label(),
                    e.recipient_domain,
                    e.size_text(),
                    e.required_tls,
                    e.message
                ),
                facts,
                trace,
                evidence: Vec::new(),
                lost: e.lost_at.as_ref().map(|l| {
                    format!(
                        "on {} -> {} ({}): {} [evidence: {}; {}]",
                        l.from,
                        l.to,
                        l.kind,
                        l.because,
                        l.evidence.as_str(),
                        l.source
                    )
                }),
                fixes: e.fixes.clone(),
                path,
                origins: e.origin_sites.clone(),
                domain: e.recipient_domain.clone(),
                today: e.failure_set.is_empty(),
            }
        })
        .collect::<Vec<Item>>();
    let mut codes: Vec<Code> = counts.keys().copied().collect();
    codes.sort();
    Audit {
        title: format!("tlsflow check: {}", r.topology),
        analysed,
        summary_header,
        summary_rows,
        sections: vec![Section {
            title: "exposures".to_owned(),
            items,
        }],
        conclusion: r.conclusion.clone(),
        codes,
    }
}
