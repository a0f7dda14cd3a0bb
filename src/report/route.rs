//! `tlsflow route`: the canonical report of one explained message (SPEC §6.1) and its text view.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::profile::Evidence;
use crate::model::tls::TlsAchieved;
use crate::model::{Code, Severity, TlsLevel, Topology};
use crate::policy::{Explanation, ExternalResult, Outcome};

use super::text::wrap;

#[derive(Clone, Debug, Serialize)]
pub struct RouteReport {
    pub format_version: u32,
    pub profile: String,
    /// Present when the profile was declared by an alias no source confirms
    /// ([`crate::model::Profile::declared_caveat`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_caveat: Option<String>,
    /// Certificates were judged at this instant (RFC 3339, UTC).
    pub at: String,
    pub sender: String,
    pub origin_server: String,
    pub origin_site: String,
    pub recipient: String,
    pub subject: String,
    pub size_bytes: u64,
    pub connector: Option<String>,
    pub site_path: Vec<String>,
    pub path_cost: u64,
    /// `path_cost` + the matching address space's cost, for external recipients.
    pub aggregate_cost: Option<u64>,
    pub required_tls: TlsLevel,
    pub requirement_origin: Option<String>,
    pub rules: Vec<RuleReport>,
    pub hops: Vec<HopReport>,
    pub outcome: &'static str,
    /// The final SMTP status for `deferred` and `ndr`.
    pub status: Option<String>,
    pub tls: Option<TlsAchieved>,
    pub findings: Vec<FindingReport>,
    /// Where Mailbox Transport Submission handed the message (reference §1.10).
    pub submission: SubmissionReport,
    /// Every recipient of the message, in order, from the same submission (the fields above
    /// are those of the first).
    pub recipients: Vec<RecipientReport>,
}

/// Which Transport service runs the rules, and why.
#[derive(Clone, Debug, Serialize)]
pub struct SubmissionReport {
    /// The server holding the sender's mailbox, and its site.
    pub sender_server: String,
    pub sender_site: String,
    /// The delivery group (a DAG, or a site's Mailbox servers of one major version).
    pub delivery_group: String,
    /// The first Transport service this report follows (`null`: none of the group is up).
    pub server: Option<String>,
    pub site: Option<String>,
    /// `no_mailbox_recipient`, `mailbox_recipients`, `closest_of_several`,
    /// `exchange2010_sender` or `pinned`.
    pub reason_code: &'static str,
    /// The reason in words.
    pub reason: String,
    /// The servers Exchange load-balances among; when there are several, this report follows
    /// the one with the worst outcome.
    pub candidates: Vec<String>,
}

/// One recipient's route and fate.
#[derive(Clone, Debug, Serialize)]
pub struct RecipientReport {
    pub recipient: String,
    pub connector: Option<String>,
    /// Settings of the connector reported but not judged (hybrid: TlsCertificateName,
    /// CloudServicesMailEnabled).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connector_notes: Vec<String>,
    pub site_path: Vec<String>,
    pub path_cost: u64,
    pub aggregate_cost: Option<u64>,
    pub required_tls: TlsLevel,
    pub requirement_origin: Option<String>,
    pub rules: Vec<RuleReport>,
    pub hops: Vec<HopReport>,
    pub outcome: &'static str,
    pub status: Option<String>,
    pub tls: Option<TlsAchieved>,
    pub findings: Vec<FindingReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleReport {
    pub name: String,
    pub priority: u32,
    pub mode: &'static str,
    /// False in audit mode.
    pub applied: bool,
    pub require_tls: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct HopReport {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
    pub requirement_before: TlsLevel,
    pub requirement_after: TlsLevel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_because: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsAchieved>,
    /// External hop: every MX host tried, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<AttemptReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AttemptReport {
    pub host: String,
    pub response: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct FindingReport {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<LostAtReport>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LostAtReport {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub because: String,
    pub evidence: Evidence,
    pub source: String,
}

impl From<&crate::policy::LostAt> for LostAtReport {
    fn from(l: &crate::policy::LostAt) -> Self {
        LostAtReport {
            from: l.from.clone(),
            to: l.to.clone(),
            kind: l.kind.to_owned(),
            because: l.because.clone(),
            evidence: l.evidence,
            source: l.source.clone(),
        }
    }
}

/// Builds the canonical report of a message: `explanations` are its recipients, in order, all
/// from one submission (`policy::explain_message`).
pub fn route_report(topology: &Topology, explanations: &[Explanation]) -> RouteReport {
    let e = explanations.first().expect("a message has a recipient");
    let recipients: Vec<RecipientReport> = explanations
        .iter()
        .map(|x| recipient_report(topology, x))
        .collect();
    let first = recipients[0].clone();
    let name = |s: crate::model::ServerId| topology.server(s).name.clone();
    let picked = (!e.candidates.is_empty()).then_some(e.origin);
    let sub = &e.submission;
    let submission = SubmissionReport {
        sender_server: name(e.mailbox_server),
        sender_site: topology.site(e.sender_site).name.clone(),
        delivery_group: topology.group_name(sub.group),
        server: picked.map(name),
        site: picked
            .and_then(|p| topology.server(p).site)
            .map(|s| topology.site(s).name.clone()),
        reason_code: match sub.reason {
            crate::route::SubmissionReason::NoMailboxRecipient => "no_mailbox_recipient",
            crate::route::SubmissionReason::MailboxRecipients => "mailbox_recipients",
            crate::route::SubmissionReason::ClosestOfSeveral { .. } => "closest_of_several",
            crate::route::SubmissionReason::Exchange2010Sender => "exchange2010_sender",
            crate::route::SubmissionReason::Pinned => "pinned",
        },
        reason: crate::route::describe_submission(topology, sub, picked),
        candidates: e.candidates.iter().map(|&c| name(c)).collect(),
    };
    RouteReport {
        format_version: 1,
        profile: topology.profile.declared_name().to_owned(),
        profile_caveat: topology.profile.declared_caveat(),
        at: e.request.at.to_string(),
        sender: e.request.sender_text.clone(),
        origin_server: name(e.origin),
        origin_site: topology.site(e.origin_site).name.clone(),
        recipient: first.recipient,
        subject: e.request.subject.clone(),
        size_bytes: e.request.size.0,
        connector: first.connector,
        site_path: first.site_path,
        path_cost: first.path_cost,
        aggregate_cost: first.aggregate_cost,
        required_tls: first.required_tls,
        requirement_origin: first.requirement_origin,
        rules: first.rules,
        hops: first.hops,
        outcome: first.outcome,
        status: first.status,
        tls: first.tls,
        findings: first.findings,
        submission,
        recipients,
    }
}

/// One recipient's part of the report.
fn recipient_report(topology: &Topology, e: &Explanation) -> RecipientReport {
    let name = |s: crate::model::ServerId| topology.server(s).name.clone();
    let mut hops: Vec<HopReport> = e
        .steps
        .iter()
        .map(|step| HopReport {
            from: name(step.hop.from),
            to: name(step.hop.to),
            kind: step.hop.kind.as_str(),
            requirement_before: step.before,
            requirement_after: step.after,
            dropped_because: e
                .lost_at
                .as_ref()
                .filter(|_| step.dropped)
                .map(|l| l.because.clone()),
            evidence: step
                .rule
                .as_ref()
                .filter(|_| step.dropped)
                .map(|r| r.evidence),
            tls: None,
            attempts: Vec::new(),
        })
        .collect();
    let mut tls = None;
    if let Some((_, from, ext)) = &e.external {
        let level = e.steps.last().map_or(e.rules.required, |s| s.after);
        let (to, achieved) = match &ext.result {
            ExternalResult::Delivered { host, tls } => (host.clone(), Some(*tls)),
            _ => (
                ext.attempts
                    .last()
                    .map_or_else(|| "(no host)".to_owned(), |a| a.host.clone()),
                None,
            ),
        };
        tls = achieved;
        hops.push(HopReport {
            from: name(*from),
            to,
            kind: "external",
            requirement_before: level,
            requirement_after: level,
            dropped_because: None,
            evidence: None,
            tls: achieved,
            attempts: ext
                .attempts
                .iter()
                .map(|a| AttemptReport {
                    host: a.host.clone(),
                    response: a.response.clone(),
                })
                .collect(),
        });
    }
    let (outcome, status) = match &e.outcome {
        Outcome::Delivered => ("delivered", None),
        Outcome::Deferred { status } => ("deferred", Some(status.clone())),
        Outcome::Ndr { status } => ("ndr", Some(status.clone())),
        Outcome::Unreachable => ("unreachable", None),
    };
    let selection = e.route.selection.as_ref();
    let connector = e
        .external
        .as_ref()
        .map(|(c, _, _)| *c)
        .or(selection.map(|s| s.connector))
        .map(|c| topology.connector(c));
    let mut connector_notes = Vec::new();
    if let Some(c) = connector {
        if c.cloud_services_mail_enabled {
            connector_notes
                .push("CloudServicesMailEnabled: a hybrid connector to Exchange Online".to_owned());
        }
        if let Some(name) = &c.tls_certificate_name {
            connector_notes.push(format!(
                "offers the certificate {name} (TlsCertificateName)"
            ));
        }
        if !c.dns_routing {
            connector_notes.push(format!(
                "sends to smart hosts ({}): the guarantee ends there",
                c.smart_hosts.join(", ")
            ));
        }
    }
    RecipientReport {
        recipient: e.request.recipient.clone(),
        connector: connector.map(|c| c.name.clone()),
        connector_notes,
        site_path: e
            .route
            .site_path
            .iter()
            .map(|&s| topology.site(s).name.clone())
            .collect(),
        path_cost: e.route.path_cost,
        aggregate_cost: selection.map(|s| s.aggregate_cost),
        required_tls: e.rules.required,
        requirement_origin: e
            .rules
            .origin
            .map(|r| format!("rule:{}", topology.transport_rules[r.index()].name)),
        rules: e
            .rules
            .matches
            .iter()
            .map(|m| {
                let rule = &topology.transport_rules[m.rule.index()];
                RuleReport {
                    name: rule.name.clone(),
                    priority: rule.priority,
                    mode: rule.mode.as_str(),
                    applied: m.applied,
                    require_tls: rule.actions.require_tls,
                }
            })
            .collect(),
        hops,
        outcome,
        status,
        tls,
        findings: e
            .findings
            .iter()
            .map(|f| FindingReport {
                code: f.code,
                severity: f.severity,
                message: f.message.clone(),
                lost_at: f.lost_at.as_ref().map(LostAtReport::from),
            })
            .collect(),
    }
}

const WIDTH: usize = 80;

impl RouteReport {
    /// The terminal view: findings first, then the message, the submission, and per recipient
    /// the decisions and the hops.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let several = self.recipients.len() > 1;
        let to: Vec<&str> = self
            .recipients
            .iter()
            .map(|r| r.recipient.as_str())
            .collect();
        let _ = writeln!(out, "route  {} -> {}", self.sender, to.join(", "));
        let _ = writeln!(
            out,
            "       profile {}, certificates judged at {}",
            self.profile, self.at
        );
        if let Some(caveat) = &self.profile_caveat {
            let _ = writeln!(out, "       caveat: {}", wrap(caveat, 15, 15, WIDTH));
        }
        out.push('\n');
        if self.recipients.iter().all(|r| r.findings.is_empty()) {
            out.push_str("findings   none\n");
        } else {
            out.push_str("findings\n");
            for r in &self.recipients {
                for f in &r.findings {
                    finding_text(&mut out, f);
                }
            }
        }
        out.push('\n');
        let subject = if self.subject.is_empty() {
            String::new()
        } else {
            format!("\"{}\", ", self.subject)
        };
        field(
            &mut out,
            "message",
            &format!("{subject}{}", crate::model::Bytes(self.size_bytes)),
        );
        field(
            &mut out,
            "origin",
            &format!(
                "{} in site {} (first Transport service: runs the transport rules)",
                self.origin_server, self.origin_site
            ),
        );
        let mut submission = self.submission.reason.clone();
        if self.submission.candidates.len() > 1 {
            let _ = write!(
                submission,
                "; Exchange load-balances among {}: shown, the worst outcome",
                self.submission.candidates.join(", ")
            );
        }
        field(&mut out, "submission", &submission);
        for r in &self.recipients {
            if several {
                out.push('\n');
                field(&mut out, "recipient", &r.recipient);
            }
            r.text(&mut out);
        }
        out
    }

    /// The highest severity among every recipient's findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.recipients
            .iter()
            .flat_map(|r| &r.findings)
            .map(|f| f.severity)
            .max()
    }
}

fn field(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "{label:<11}{}", wrap(value, 11, 11, WIDTH));
}

fn finding_text(out: &mut String, f: &FindingReport) {
    let head = format!("  {:<8}{}  ", f.severity.as_str(), f.code);
    let _ = writeln!(
        out,
        "{head}{}",
        wrap(&f.message, head.len(), head.len(), WIDTH)
    );
    if let Some(l) = &f.lost_at {
        let why = format!(
            "lost on {} -> {} ({}): {} [evidence: {}]",
            l.from,
            l.to,
            l.kind,
            l.because,
            l.evidence.as_str()
        );
        let _ = writeln!(
            out,
            "{}{}",
            " ".repeat(head.len()),
            wrap(&why, head.len(), head.len(), WIDTH)
        );
    }
}

impl RecipientReport {
    /// The rules, connector, site path, hops and outcome of one recipient.
    fn text(&self, out: &mut String) {
        if self.rules.is_empty() {
            field(out, "rules", "none matched");
        }
        for (i, r) in self.rules.iter().enumerate() {
            let action = match (r.require_tls, r.applied) {
                (true, true) => "require TLS -> encryption_only",
                (true, false) => "require TLS (audit mode: not applied)",
                (false, _) => "no TLS action",
            };
            let label = if i == 0 { "rules" } else { "" };
            field(
                out,
                label,
                &format!(
                    "\"{}\" (priority {}, {}): {action}",
                    r.name, r.priority, r.mode
                ),
            );
        }
        if let Some(c) = &self.connector {
            let notes = if self.connector_notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.connector_notes.join("; "))
            };
            field(out, "connector", &format!("{c}{notes}"));
        }
        let path = self.site_path.join(" -> ");
        let cost = match self.aggregate_cost {
            Some(a) => format!(
                "cost {} (aggregate with the address space: {a})",
                self.path_cost
            ),
            None => format!("cost {}", self.path_cost),
        };
        field(out, "site path", &format!("{path}, {cost}"));
        out.push('\n');
        out.push_str("hops\n");
        if self.hops.is_empty() {
            out.push_str("  (none)\n");
        }
        for (i, h) in self.hops.iter().enumerate() {
            let head = format!("  {:>2}  ", i + 1);
            let _ = writeln!(out, "{head}{} -> {}  {}", h.from, h.to, h.kind);
            let pad = " ".repeat(head.len());
            let requirement = if h.requirement_before == h.requirement_after {
                format!("requirement {}", h.requirement_before)
            } else {
                format!(
                    "requirement {} -> {}",
                    h.requirement_before, h.requirement_after
                )
            };
            let detail = match (&h.dropped_because, h.evidence) {
                (Some(why), Some(ev)) => {
                    format!("{requirement}: DROPPED, {why} [evidence: {}]", ev.as_str())
                }
                _ => requirement,
            };
            let _ = writeln!(out, "{pad}{}", wrap(&detail, pad.len(), pad.len(), WIDTH));
            for a in &h.attempts {
                let line = format!("{}: {}", a.host, a.response);
                let _ = writeln!(out, "{pad}{}", wrap(&line, pad.len(), pad.len() + 2, WIDTH));
            }
        }
        out.push('\n');
        let tls = self.tls.map_or_else(String::new, |t| format!(", tls {t}"));
        let status = self
            .status
            .as_ref()
            .map_or_else(String::new, |s| format!(": {s}"));
        field(out, "outcome", &format!("{}{tls}{status}", self.outcome));
    }
}
