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

/// Builds the canonical report of an explanation.
pub fn route_report(topology: &Topology, e: &Explanation) -> RouteReport {
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
    RouteReport {
        format_version: 1,
        profile: topology.profile.name.clone(),
        at: e.request.at.to_string(),
        sender: e.request.sender_text.clone(),
        origin_server: name(e.origin),
        origin_site: topology.site(e.origin_site).name.clone(),
        recipient: e.request.recipient.clone(),
        subject: e.request.subject.clone(),
        size_bytes: e.request.size.0,
        connector: e
            .external
            .as_ref()
            .map(|(c, _, _)| *c)
            .or(selection.map(|s| s.connector))
            .map(|c| topology.connector(c).name.clone()),
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
    /// The terminal view: findings first, then the message, the decisions and the hops.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "route  {} -> {}", self.sender, self.recipient);
        let _ = writeln!(
            out,
            "       profile {}, certificates judged at {}",
            self.profile, self.at
        );
        out.push('\n');
        if self.findings.is_empty() {
            out.push_str("findings   none\n");
        } else {
            out.push_str("findings\n");
            for f in &self.findings {
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
        }
        out.push('\n');
        let field = |out: &mut String, label: &str, value: &str| {
            let _ = writeln!(out, "{label:<11}{}", wrap(value, 11, 11, WIDTH));
        };
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
        if self.rules.is_empty() {
            field(&mut out, "rules", "none matched");
        }
        for (i, r) in self.rules.iter().enumerate() {
            let action = match (r.require_tls, r.applied) {
                (true, true) => "require TLS -> encryption_only",
                (true, false) => "require TLS (audit mode: not applied)",
                (false, _) => "no TLS action",
            };
            let label = if i == 0 { "rules" } else { "" };
            field(
                &mut out,
                label,
                &format!(
                    "\"{}\" (priority {}, {}): {action}",
                    r.name, r.priority, r.mode
                ),
            );
        }
        if let Some(c) = &self.connector {
            field(&mut out, "connector", c);
        }
        let path = self.site_path.join(" -> ");
        let cost = match self.aggregate_cost {
            Some(a) => format!(
                "cost {} (aggregate with the address space: {a})",
                self.path_cost
            ),
            None => format!("cost {}", self.path_cost),
        };
        field(&mut out, "site path", &format!("{path}, {cost}"));
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
        field(
            &mut out,
            "outcome",
            &format!("{}{tls}{status}", self.outcome),
        );
        out
    }

    /// The highest severity among the findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}
