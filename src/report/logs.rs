//! The report of `tlsflow logs` (issue 19): the canonical JSON model, and its renderings as text,
//! the audit (Markdown, HTML), SARIF and JUnit. Findings OBS001–OBS004 carry the log lines that
//! prove them, by file and line.
//!
//! The conclusion never says more than the logs show: "left over TLS" is said of the recipients
//! followed, in the period and on the servers whose logs were read, and what could not be
//! decided is counted and named.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::logs::{Comparison, Counts, Evidence, FileSummary, Followed, LogsResult, Verdict};
use crate::model::{Code, Severity};

use super::audit::{AnalysedFile, Audit, Item, Section};
use super::location::SourceLocation;
use super::sarif::SarifItem;

#[derive(Clone, Debug, Serialize)]
pub struct LogsReport {
    pub tool: String,
    pub command: &'static str,
    /// The topology compared with, if any.
    pub topology: Option<String>,
    /// Addresses hashed and subjects dropped (`--redact`).
    pub redacted: bool,
    pub conclusion: String,
    pub counts: Counts,
    pub findings: Vec<LogFinding>,
    /// Every required recipient that left, with its verdict.
    pub followed: Vec<Followed>,
    pub comparison: Option<Comparison>,
    pub files: Vec<FileSummary>,
}

/// One finding, with its evidence.
#[derive(Clone, Debug, Serialize)]
pub struct LogFinding {
    pub code: Code,
    pub severity: Severity,
    pub message_id: String,
    pub recipient: String,
    /// The Transport service that ran the rule (and its site, with a topology), and the
    /// recipient's domain.
    pub rule_server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_site: Option<String>,
    pub recipient_domain: String,
    pub message: String,
    pub evidence: Vec<Evidence>,
}

/// The report of a run.
pub fn logs_report(
    result: LogsResult,
    comparison: Option<Comparison>,
    topology: Option<String>,
    redacted: bool,
) -> LogsReport {
    let mut findings = Vec::new();
    for f in &result.followed {
        let domain = crate::logs::domain_of(&f.recipient);
        let finding = |code: Code, message: String| LogFinding {
            code,
            severity: code.severity(),
            message_id: f.message_id.clone(),
            recipient: f.recipient.clone(),
            rule_server: f.rule_server.clone(),
            rule_site: f.rule_site.clone(),
            recipient_domain: domain.clone(),
            message,
            evidence: f.evidence.clone(),
        };
        if let Some(code) = f.code {
            findings.push(finding(code, f.message.clone()));
        }
        if let Some(m) = f.model.as_ref().filter(|m| !m.predicted) {
            findings.push(finding(
                Code::Obs004,
                format!(
                    "{} -> {}: observed ({}), but the model did not predict it: {}",
                    f.message_id,
                    f.recipient,
                    f.code.map_or("?", Code::as_str),
                    m.detail
                ),
            ));
        }
    }
    findings.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), a.code).cmp(&(std::cmp::Reverse(b.severity), b.code))
    });
    let conclusion = conclusion(&result, comparison.as_ref());
    LogsReport {
        tool: format!("tlsflow {}", env!("CARGO_PKG_VERSION")),
        command: "logs",
        topology,
        redacted,
        conclusion,
        counts: result.counts,
        findings,
        // A finding carries the evidence; the list of recipients keeps the rest.
        followed: result
            .followed
            .into_iter()
            .map(|mut f| {
                if f.code.is_some() {
                    f.evidence = Vec::new();
                }
                f
            })
            .collect(),
        comparison,
        files: result.files,
    }
}

fn conclusion(r: &LogsResult, comparison: Option<&Comparison>) -> String {
    let c = &r.counts;
    let tracking = r
        .files
        .iter()
        .filter(|f| f.kind.starts_with("tracking"))
        .count();
    let protocol = r.files.iter().filter(|f| f.kind == "smtp_send").count();
    let scope =
        format!("{tracking} message tracking file(s) and {protocol} SmtpSend protocol log file(s)");
    let mut out = if tracking == 0 {
        format!("No message tracking log among the files given: nothing can be followed ({scope}).")
    } else if c.required_messages == 0 {
        format!(
            "No message matched an enforced require-TLS rule in {scope}: nothing to follow. The Transport Rule agent logs its AGENTINFO on the server that ran the rule: check that its logs are among the files."
        )
    } else if c.recipients_followed == 0 {
        format!(
            "{} required message(s) in {scope}, and none of their recipients left the organisation in these logs (internal, still queued, or returned): nothing to decide.",
            c.required_messages
        )
    } else if c.left_in_clear_text > 0 {
        format!(
            "{} required recipient(s) left the organisation in clear text (OBS001), of {} followed in {scope}.",
            c.left_in_clear_text, c.recipients_followed
        )
    } else if c.undetermined > 0 {
        format!(
            "No recipient is proven to have left in clear text, but {} of {} cannot be decided (OBS003: a log is missing). This is not a proof that the requirement held.",
            c.undetermined, c.recipients_followed
        )
    } else {
        format!(
            "Every one of the {} required recipient(s) that left the organisation in {scope} left over TLS{}. This covers those logs only: their period and their servers.",
            c.recipients_followed,
            if c.downgraded > 0 {
                format!(
                    "; for {} of them only because the remote offered it (OBS002)",
                    c.downgraded
                )
            } else {
                String::new()
            }
        )
    };
    if let Some(m) = comparison {
        if m.unpredicted > 0 {
            let _ = write!(
                out,
                " THE MODEL IS WRONG SOMEWHERE: {} observed incident(s) that check does not predict at up to {} failure(s) (OBS004).",
                m.unpredicted, m.failures_max
            );
        } else if m.confirmed > 0 {
            let _ = write!(
                out,
                " Each observed incident is one check predicts ({} confirmed).",
                m.confirmed
            );
        }
    }
    out
}

fn verdict_text(f: &Followed) -> String {
    match &f.verdict {
        Verdict::Tls { protocol, enforced } => format!(
            "over TLS{}{}",
            protocol
                .as_ref()
                .map_or(String::new(), |p| format!(" ({p})")),
            if *enforced { ", enforced" } else { "" }
        ),
        Verdict::ClearText { .. } => "in clear text".to_owned(),
        Verdict::Undetermined { .. } => "undetermined".to_owned(),
    }
}

/// The text report.
pub fn text(r: &LogsReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "logs  {}", super::wrap(&r.conclusion, 6, 6, 80));
    let c = &r.counts;
    let _ = writeln!(
        out,
        "read  {} tracking records, {} protocol-log records ({} bytes)",
        c.tracking_records, c.protocol_records, c.bytes
    );
    let counts = format!(
        "{} required message(s); {} recipient(s) left: {} over TLS ({} only by luck), {} in clear text, {} undetermined; {} not sent out in these logs",
        c.required_messages,
        c.recipients_followed,
        c.left_over_tls,
        c.downgraded,
        c.left_in_clear_text,
        c.undetermined,
        c.not_sent_out
    );
    let _ = writeln!(out, "      {}", super::wrap(&counts, 6, 6, 80));
    if !r.findings.is_empty() {
        out.push_str("findings\n");
    }
    for f in &r.findings {
        let _ = writeln!(
            out,
            "  {:<7} {}  {}",
            f.severity.as_str(),
            f.code,
            super::wrap(&f.message, 18, 18, 80)
        );
        for e in &f.evidence {
            let _ = writeln!(out, "                  {}:{}", e.file, e.line);
            let _ = writeln!(out, "                    {}", e.text);
        }
    }
    let quiet: Vec<&Followed> = r.followed.iter().filter(|f| f.code.is_none()).collect();
    if !quiet.is_empty() {
        out.push_str("left over TLS\n");
        for f in quiet {
            let _ = writeln!(
                out,
                "  {} -> {}: {} via {}",
                f.message_id,
                f.recipient,
                verdict_text(f),
                f.connector.as_deref().unwrap_or("?")
            );
        }
    }
    if let Some(m) = &r.comparison {
        let seen = m.predictions.iter().filter(|p| p.observed > 0).count();
        let _ = writeln!(
            out,
            "model check at up to {} failure(s): {} incident(s) confirmed, {} not predicted; {} of {} predicted exposure(s) observed in the period",
            m.failures_max,
            m.confirmed,
            m.unpredicted,
            seen,
            m.predictions.len()
        );
    }
    let skipped: Vec<&FileSummary> = r
        .files
        .iter()
        .filter(|f| f.kind == "skipped" || f.note.is_some())
        .collect();
    if !skipped.is_empty() {
        out.push_str("files not read, or not to the end\n");
        for f in skipped {
            let _ = writeln!(
                out,
                "  {}: {}",
                f.file,
                f.note.as_deref().unwrap_or("skipped")
            );
        }
    }
    out
}

/// The audit (Markdown, HTML).
pub fn audit(r: &LogsReport, files: &[AnalysedFile]) -> Audit {
    let mut analysed: Vec<(String, String)> = vec![("tool".into(), r.tool.clone())];
    for f in files {
        analysed.push((f.name.clone(), format!("sha256 {}", f.sha256)));
    }
    let mut by_kind: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for f in &r.files {
        let e = by_kind.entry(f.kind.as_str()).or_default();
        e.0 += 1;
        e.1 += f.records;
    }
    for (kind, (n, records)) in by_kind {
        analysed.push((format!("{kind} files"), format!("{n} ({records} records)")));
    }
    if r.redacted {
        analysed.push((
            "redacted".into(),
            "addresses hashed (local parts), subjects removed".into(),
        ));
    }
    let c = &r.counts;
    let summary_header = [
        "required messages",
        "recipients that left",
        "over TLS",
        "of which by luck (OBS002)",
        "clear text (OBS001)",
        "undetermined (OBS003)",
        "not sent out",
    ]
    .map(str::to_owned)
    .to_vec();
    let summary_rows = vec![
        [
            c.required_messages,
            c.recipients_followed,
            c.left_over_tls,
            c.downgraded,
            c.left_in_clear_text,
            c.undetermined,
            c.not_sent_out,
        ]
        .map(|n| n.to_string())
        .to_vec(),
    ];
    let items = r
        .findings
        .iter()
        .map(|f| {
            let followed = r
                .followed
                .iter()
                .find(|x| x.message_id == f.message_id && x.recipient == f.recipient);
            let mut facts = vec![
                ("message-id".to_owned(), f.message_id.clone()),
                ("recipient".to_owned(), f.recipient.clone()),
            ];
            if let Some(x) = followed {
                let rule = match &x.rule_name {
                    Some(n) if !n.eq_ignore_ascii_case(&x.rule) => format!("{n} ({})", x.rule),
                    _ => x.rule.clone(),
                };
                facts.push(("rule".to_owned(), rule));
                facts.push(("rule ran on".to_owned(), x.rule_server.clone()));
                for (k, v) in [
                    ("sent out by", &x.sent_by),
                    ("connector", &x.connector),
                    ("remote", &x.remote),
                    ("RequiredTlsAuthLevel on the SEND", &x.required_at_send),
                ] {
                    if let Some(v) = v {
                        facts.push((k.to_owned(), v.clone()));
                    }
                }
                facts.push(("verdict".to_owned(), verdict_text(x)));
                if let Some(m) = &x.model {
                    facts.push((
                        "model".to_owned(),
                        if m.predicted {
                            format!("predicted: {}", m.detail)
                        } else {
                            format!("NOT predicted: {}", m.detail)
                        },
                    ));
                }
            }
            Item {
                code: f.code,
                severity: f.severity,
                headline: f.message.clone(),
                facts,
                trace: Vec::new(),
                evidence: f
                    .evidence
                    .iter()
                    .map(|e| (format!("{}:{}", e.file, e.line), e.text.clone()))
                    .collect(),
                lost: None,
                fixes: Vec::new(),
                path: Vec::new(),
                origins: vec![f.rule_site.clone().unwrap_or_else(|| f.rule_server.clone())],
                domain: f.recipient_domain.clone(),
                today: true,
            }
        })
        .collect();
    let mut codes: Vec<Code> = r.findings.iter().map(|f| f.code).collect();
    codes.sort();
    codes.dedup();
    let mut sections = vec![Section {
        title: "Observed".to_owned(),
        items,
    }];
    // What check predicts, each exposure with the incidents of the period it explains: "not
    // seen" is not "safe", only "did not happen while these logs were written".
    if let Some(m) = &r.comparison {
        let items = m
            .predictions
            .iter()
            .map(|p| {
                let when = if p.failure_set.is_empty() {
                    "with no failure".to_owned()
                } else {
                    format!("with {} down", p.failure_set.join(", "))
                };
                let seen = if p.observed > 0 {
                    format!("observed {} time(s) in these logs", p.observed)
                } else {
                    "not seen in these logs".to_owned()
                };
                Item {
                    code: p.code,
                    severity: Severity::Info,
                    headline: format!(
                        "{} from {} to {} {when}: {seen}",
                        p.code,
                        p.origin_servers.join(", "),
                        p.recipient_domain
                    ),
                    facts: Vec::new(),
                    trace: Vec::new(),
                    evidence: Vec::new(),
                    lost: None,
                    fixes: Vec::new(),
                    path: Vec::new(),
                    origins: Vec::new(),
                    domain: p.recipient_domain.clone(),
                    today: p.failure_set.is_empty(),
                }
            })
            .collect();
        sections.push(Section {
            title: format!(
                "Predicted by check (up to {} failed component(s)), against the logs",
                m.failures_max
            ),
            items,
        });
    }
    Audit {
        title: "tlsflow logs: required mail, as Exchange logged it".to_owned(),
        analysed,
        summary_header,
        summary_rows,
        sections,
        conclusion: r.conclusion.clone(),
        codes,
    }
}

/// SARIF results: each finding located at its first evidence line that is not the rule's own
/// AGENTINFO row (the line that shows the hand-over), else the first.
pub fn sarif_items(r: &LogsReport) -> Vec<SarifItem> {
    r.findings
        .iter()
        .map(|f| SarifItem {
            code: f.code,
            message: f.message.clone(),
            location: f
                .evidence
                .get(1)
                .or(f.evidence.first())
                .map(|e| SourceLocation {
                    file: e.file.clone(),
                    line: e.line,
                    column: 1,
                    yaml_path: String::new(),
                }),
            identity: format!("{}|{}", f.message_id, f.recipient),
        })
        .collect()
}

/// JUnit: one case per (server that ran the rule, recipient domain), failed by its findings at
/// or above `fail_on`.
pub fn junit(r: &LogsReport, fail_on: Option<Severity>) -> String {
    let mut cases: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for f in &r.followed {
        let domain = crate::logs::domain_of(&f.recipient);
        cases.entry((f.rule_server.clone(), domain)).or_default();
    }
    for f in &r.findings {
        if fail_on.is_some_and(|t| f.severity >= t) {
            cases
                .entry((f.rule_server.clone(), f.recipient_domain.clone()))
                .or_default()
                .push((f.code.as_str().to_owned(), f.message.clone()));
        }
    }
    super::junit::render_cases("tlsflow logs", &cases)
}
