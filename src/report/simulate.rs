//! `tlsflow simulate`: the canonical report of a scenario's runs (SPEC §6.1) and its text view.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::profile::Evidence;
use crate::model::scenario::Scenario;
use crate::model::tls::TlsAchieved;
use crate::model::{Code, Severity, Timestamp};
use crate::sim::{Delivered, RecipientState, RunResult};

use super::text::wrap;

#[derive(Clone, Debug, Serialize)]
pub struct SimulateReport {
    pub format_version: u32,
    pub scenario: String,
    pub seed: u64,
    pub profile: String,
    /// Simulated time 0, RFC 3339 UTC.
    pub start: String,
    pub duration_ms: u64,
    pub runs: Vec<RunReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub variant: String,
    pub profile: String,
    /// Present when the profile was declared by an alias no source confirms
    /// ([`crate::model::Profile::declared_caveat`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_caveat: Option<String>,
    pub summary: SummaryReport,
    pub findings: Vec<SimFindingReport>,
    /// Findings counted but not listed: only the first `sim::FINDINGS_KEPT_PER_GROUP` per
    /// code, origin site and connector are kept (absent when none was left out).
    #[serde(skip_serializing_if = "is_zero")]
    pub findings_omitted: u64,
    /// Every finding by code, listed or not (present when some were left out).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub finding_counts: BTreeMap<Code, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<RecipientReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<StatsReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SummaryReport {
    pub messages: u64,
    pub recipients: u64,
    pub delivered: Delivered,
    pub ndr: u64,
    pub queued: u64,
    pub events: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SimFindingReport {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub message_id: String,
    pub time_ms: u64,
    pub sender: String,
    pub recipient: String,
    pub origin_site: String,
    pub connector: Option<String>,
    pub hops: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<super::route::LostAtReport>,
    /// The object at fault in the topology file (the connector the mail left by, else the
    /// origin site); none for expectation failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<super::location::SourceLocation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecipientReport {
    pub message_id: String,
    pub sender: String,
    pub recipient: String,
    pub submitted_ms: u64,
    pub time_ms: u64,
    pub outcome: &'static str,
    pub tls: Option<TlsAchieved>,
    pub status: Option<String>,
    /// Where a `queued` recipient waits, and why.
    pub queued_at: Option<String>,
    pub reason: Option<String>,
    pub hops: Vec<String>,
}

/// Measured by the command line (wall time and memory are not the engine's business).
#[derive(Clone, Debug, Serialize)]
pub struct StatsReport {
    pub events: u64,
    pub wall_ms: u64,
    pub events_per_s: u64,
    pub messages: u64,
    pub messages_per_s: u64,
    pub peak_in_flight: u64,
    pub peak_queue_len: u64,
    pub peak_rss_bytes: Option<u64>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Builds one run's report; expectation failures become `EXP001` findings.
pub fn run_report(scenario: &Scenario, run: &RunResult, recipients: bool) -> RunReport {
    let mut findings: Vec<SimFindingReport> = run
        .findings
        .iter()
        .map(|f| SimFindingReport {
            code: f.code,
            severity: f.severity,
            message: f.message.clone(),
            message_id: f.message_id.clone(),
            time_ms: f.time_ms,
            sender: f.sender.clone(),
            recipient: f.recipient.clone(),
            origin_site: f.origin_site.clone(),
            connector: f.connector.clone(),
            hops: f.hops.clone(),
            lost_at: f.lost_at.as_ref().map(super::route::LostAtReport::from),
            location: finding_location(scenario, run, f),
        })
        .collect();
    findings.extend(expectation_findings(scenario, run));
    let s = &run.summary;
    RunReport {
        variant: run.variant.clone(),
        profile: run.profile.clone(),
        profile_caveat: run.profile_caveat.clone(),
        summary: SummaryReport {
            messages: s.messages,
            recipients: s.recipients,
            delivered: s.delivered,
            ndr: s.ndr,
            queued: s.queued,
            events: s.events,
        },
        findings,
        findings_omitted: run.findings_omitted,
        finding_counts: if run.findings_omitted > 0 {
            run.finding_counts.clone()
        } else {
            BTreeMap::new()
        },
        recipients: recipients.then(|| run.recipients.iter().map(recipient_report).collect()),
        stats: None,
    }
}

/// Where a finding points in the topology file: its connector, else its origin site.
fn finding_location(
    scenario: &Scenario,
    run: &RunResult,
    f: &crate::sim::SimFinding,
) -> Option<super::location::SourceLocation> {
    let topology = &scenario
        .runs
        .iter()
        .find(|r| r.name == run.variant)?
        .topology;
    let origin = match f
        .connector
        .as_deref()
        .and_then(|c| topology.connector_by_name(c))
    {
        Some(c) => &topology.connector(c).origin,
        None => &topology.site(topology.site_by_name(&f.origin_site)?).origin,
    };
    Some(super::location::SourceLocation::of(
        &scenario.topology_file,
        origin,
    ))
}

fn recipient_report(r: &crate::sim::RecipientOutcome) -> RecipientReport {
    let (outcome, tls, status, queued_at, reason) = match &r.state {
        RecipientState::Delivered { tls } => ("delivered", Some(*tls), None, None, None),
        RecipientState::Ndr { status } => ("ndr", None, Some(status.clone()), None, None),
        RecipientState::Queued { at, reason } => {
            ("queued", None, None, Some(at.clone()), Some(reason.clone()))
        }
    };
    RecipientReport {
        message_id: r.message_id.clone(),
        sender: r.sender.clone(),
        recipient: r.recipient.clone(),
        submitted_ms: r.submitted_ms,
        time_ms: r.time_ms,
        outcome,
        tls,
        status,
        queued_at,
        reason,
        hops: r.hops.clone(),
    }
}

/// The scenario's `expect` for this run, checked; each failure is an error finding.
fn expectation_findings(scenario: &Scenario, run: &RunResult) -> Vec<SimFindingReport> {
    let Some(e) = scenario
        .expect
        .iter()
        // The loader matched the key to a variant with `name_key`; the same comparison here
        // (ASCII-only case folding never found `Übergang` for `übergang`, issue 15).
        .find(|(name, _)| crate::model::name_key(name) == crate::model::name_key(&run.variant))
        .map(|(_, e)| e)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut fail = |what: String| {
        out.push(SimFindingReport {
            code: Code::Exp001,
            severity: Severity::Error,
            message: what,
            message_id: String::new(),
            time_ms: 0,
            sender: String::new(),
            recipient: String::new(),
            origin_site: String::new(),
            connector: None,
            hops: Vec::new(),
            lost_at: None,
            location: None,
        });
    };
    for (code, bound) in &e.violations {
        let actual = run.finding_counts.get(code).copied().unwrap_or(0);
        if !bound.holds(actual) {
            fail(format!(
                "variant {}: expected {code} {bound}, found {actual} (scenario line {})",
                run.variant, e.origin.line
            ));
        }
    }
    for (name, bound) in &e.outcomes {
        let d = &run.summary.delivered;
        let actual = match name.as_str() {
            "delivered" => d.total(),
            "delivered_none" => d.none,
            "delivered_encrypted" => d.encrypted,
            "delivered_certificate_validated" => d.certificate_validated,
            "delivered_domain_validated" => d.domain_validated,
            "ndr" => run.summary.ndr,
            _ => run.summary.queued,
        };
        if !bound.holds(actual) {
            fail(format!(
                "variant {}: expected {name} {bound}, found {actual} (scenario line {})",
                run.variant, e.origin.line
            ));
        }
    }
    out
}

/// How many findings of one code the text view lists before summarising the rest.
const SHOWN_PER_CODE: usize = 5;
const WIDTH: usize = 80;

impl SimulateReport {
    /// The report of `runs` of `scenario` with `seed`.
    pub fn new(scenario: &Scenario, seed: u64, runs: Vec<RunReport>) -> SimulateReport {
        SimulateReport {
            format_version: 1,
            scenario: scenario.name.clone(),
            seed,
            profile: scenario.runs[0].topology.profile.declared_name().to_owned(),
            start: scenario.start.to_string(),
            duration_ms: scenario.duration.0,
            runs,
        }
    }

    pub fn max_severity(&self) -> Option<Severity> {
        self.runs
            .iter()
            .flat_map(|r| r.findings.iter().map(|f| f.severity))
            .max()
    }

    /// The terminal view: per run, findings first, then the counts.
    pub fn to_text(&self, start: Timestamp) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "simulate  {}", self.scenario);
        let _ = writeln!(
            out,
            "          seed {}, start {}, duration {}",
            self.seed,
            self.start,
            crate::model::Millis(self.duration_ms)
        );
        for run in &self.runs {
            out.push('\n');
            let _ = writeln!(out, "=== {} (profile {}) ===", run.variant, run.profile);
            if let Some(caveat) = &run.profile_caveat {
                let _ = writeln!(out, "caveat     {}", wrap(caveat, 11, 11, WIDTH));
            }
            if run.findings.is_empty() {
                out.push_str("findings   none\n");
            } else {
                out.push_str("findings\n");
                let mut codes: Vec<Code> = run.findings.iter().map(|f| f.code).collect();
                codes.sort_by_key(|c| (std::cmp::Reverse(c.severity()), *c));
                codes.dedup();
                for code in codes {
                    let of_code: Vec<&SimFindingReport> =
                        run.findings.iter().filter(|f| f.code == code).collect();
                    for f in of_code.iter().take(SHOWN_PER_CODE) {
                        finding_text(&mut out, f, start);
                    }
                    let total = run
                        .finding_counts
                        .get(&code)
                        .map_or(of_code.len(), |&n| usize::try_from(n).unwrap_or(usize::MAX));
                    if total > SHOWN_PER_CODE {
                        let _ = writeln!(out, "  ... and {} more {code}", total - SHOWN_PER_CODE);
                    }
                }
                if run.findings_omitted > 0 {
                    let _ = writeln!(
                        out,
                        "  ({} findings counted, not kept: only the first {} per code, origin site and connector are listed)",
                        run.findings_omitted,
                        crate::sim::FINDINGS_KEPT_PER_GROUP
                    );
                }
            }
            let s = &run.summary;
            let d = &s.delivered;
            let _ = writeln!(
                out,
                "{:<11}{}",
                "outcomes",
                wrap(
                    &format!(
                        "{}, {}: delivered {} (in clear {}, encrypted {}, certificate validated {}, domain validated {}), ndr {}, queued {}; {} events",
                        plural(s.messages, "message"),
                        plural(s.recipients, "recipient"),
                        d.total(),
                        d.none,
                        d.encrypted,
                        d.certificate_validated,
                        d.domain_validated,
                        s.ndr,
                        s.queued,
                        s.events
                    ),
                    11,
                    11,
                    WIDTH
                )
            );
            if let Some(st) = &run.stats {
                let rss = st.peak_rss_bytes.map_or_else(
                    || "n/a".to_owned(),
                    |b| format!("{} MiB", b / (1024 * 1024)),
                );
                let _ = writeln!(
                    out,
                    "{:<11}{} events in {} ms ({} events/s, {} messages/s); peak {} messages in flight, {} queued events; peak RSS {rss}",
                    "stats",
                    st.events,
                    st.wall_ms,
                    st.events_per_s,
                    st.messages_per_s,
                    st.peak_in_flight,
                    st.peak_queue_len
                );
            }
            if let Some(recipients) = &run.recipients {
                out.push_str("recipients\n");
                for r in recipients {
                    let detail = match (r.tls, &r.status, &r.reason) {
                        (Some(t), _, _) => format!("tls {t}"),
                        (_, Some(s), _) => s.clone(),
                        (_, _, Some(reason)) => {
                            format!("at {}: {reason}", r.queued_at.as_deref().unwrap_or("?"))
                        }
                        _ => String::new(),
                    };
                    let line = format!(
                        "{} {} -> {}: {} {detail}",
                        r.message_id, r.sender, r.recipient, r.outcome
                    );
                    let _ = writeln!(out, "  {}", wrap(&line, 2, 6, WIDTH));
                }
            }
        }
        out
    }
}

fn finding_text(out: &mut String, f: &SimFindingReport, start: Timestamp) {
    let head = format!("  {:<8}{}  ", f.severity.as_str(), f.code);
    let when = Timestamp(
        start
            .0
            .saturating_add(i64::try_from(f.time_ms).unwrap_or(i64::MAX)),
    );
    let first = if f.message_id.is_empty() {
        f.message.clone()
    } else {
        format!(
            "{when} {} {} -> {} (site {}): {}",
            f.message_id, f.sender, f.recipient, f.origin_site, f.message
        )
    };
    let _ = writeln!(out, "{head}{}", wrap(&first, head.len(), head.len(), WIDTH));
    let pad = " ".repeat(head.len());
    if !f.hops.is_empty() {
        let _ = writeln!(
            out,
            "{pad}{}",
            wrap(
                &format!("hops: {}", f.hops.join(", ")),
                head.len(),
                head.len(),
                WIDTH
            )
        );
    }
    if let Some(l) = &f.lost_at {
        let why = format!(
            "lost on {} -> {} ({}): {} [evidence: {}]",
            l.from,
            l.to,
            l.kind,
            l.because,
            evidence(l.evidence)
        );
        let _ = writeln!(out, "{pad}{}", wrap(&why, head.len(), head.len(), WIDTH));
    }
}

fn evidence(e: Evidence) -> &'static str {
    e.as_str()
}

fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
