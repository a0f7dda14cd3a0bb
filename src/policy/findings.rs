//! The findings of one routed recipient (SPEC §5.4): TLS001-TLS004 and DLV002.

use crate::model::profile::Evidence;
use crate::model::tls::TlsAchieved;
use crate::model::{Code, Severity, TlsLevel};

use super::external::{ExternalOutcome, ExternalResult};

/// Where the requirement was lost, and the profile rule that dropped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostAt {
    pub from: String,
    pub to: String,
    pub kind: &'static str,
    /// `profile exchange2013: requirement does not travel on relay_to_connector_source_servers`.
    pub because: String,
    pub evidence: Evidence,
    /// The reference sections behind the profile rule.
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub lost_at: Option<LostAt>,
}

impl Finding {
    fn new(code: Code, message: String, lost_at: Option<LostAt>) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            message,
            lost_at,
        }
    }
}

/// What the judge needs to know about one recipient's route.
#[derive(Clone, Debug)]
pub struct FindingInput<'a> {
    pub recipient: &'a str,
    /// The level the rules required on the first Transport service, and the rule's name.
    pub rule_required: TlsLevel,
    pub rule_name: Option<&'a str>,
    pub lost_at: Option<&'a LostAt>,
    pub external: Option<&'a ExternalOutcome>,
    /// `Some(server)` when no connector matched (Unreachable queue on that server).
    pub unreachable_at: Option<&'a str>,
    pub connector: Option<&'a str>,
    pub sender_server: Option<&'a str>,
}

/// The findings for one recipient, in code order.
pub fn judge(input: &FindingInput<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(at) = input.unreachable_at {
        findings.push(Finding::new(
            Code::Dlv002,
            format!(
                "no Send connector matches {}: the message waits in the Unreachable queue on {at}",
                input.recipient
            ),
            None,
        ));
    }
    let Some(external) = input.external else {
        return findings;
    };
    let ExternalResult::Delivered { host, tls } = &external.result else {
        return findings;
    };
    let rule = input
        .rule_name
        .map_or_else(String::new, |r| format!(" (rule \"{r}\")"));
    let sender = input.sender_server.unwrap_or("?");
    if input.rule_required > TlsLevel::None && *tls == TlsAchieved::None {
        // A finding that rests on an UNCONFIRMED profile setting says so.
        let unconfirmed = if external.fell_back_to_clear_text {
            " after a failed TLS handshake (the fall-back to clear text is the profile setting opportunistic_handshake_failure, UNCONFIRMED)"
        } else {
            ""
        };
        findings.push(Finding::new(
            Code::Tls001,
            format!(
                "{} required {}{rule} but {sender} sent it in clear text to {host}{unconfirmed}",
                input.recipient, input.rule_required
            ),
            input.lost_at.cloned(),
        ));
    }
    // A Domain Secure that a proxy broke is TLS004's business, not TLS002's.
    let intended = input.rule_required.max(external.connector_level).max(
        if external.domain_secure_expected && !external.domain_secure_broken {
            TlsLevel::DomainValidation
        } else {
            TlsLevel::None
        },
    );
    if *tls != TlsAchieved::None && !tls.satisfies(intended) {
        let connector = input.connector.unwrap_or("?");
        findings.push(Finding::new(
            Code::Tls002,
            format!(
                "{} was delivered to {host} with TLS {tls}, weaker than the {intended} that {connector} requires{}",
                input.recipient,
                if external.effective < external.connector_level { " (the rule's requirement overrode the connector's TLS settings)" } else { "" }
            ),
            None,
        ));
    }
    // Lost, and nothing else (the connector, Domain Secure) enforced as much on the way out.
    if input.lost_at.is_some()
        && external.effective < input.rule_required
        && *tls != TlsAchieved::None
    {
        findings.push(Finding::new(
            Code::Tls003,
            format!(
                "{} required {}{rule}; the requirement was lost on the way, but {host} offered TLS, so it left encrypted by luck",
                input.recipient, input.rule_required
            ),
            input.lost_at.cloned(),
        ));
    }
    // A smart host is the end of what Exchange can enforce (SPEC §5.1): the hop to it is judged
    // above; what the gateway does next is outside the organisation's Exchange configuration.
    if external.via_smart_host && intended > TlsLevel::None {
        findings.push(Finding::new(
            Code::Tls005,
            format!(
                "{} required {intended}: it was handed to smart host {host} with TLS {tls}; whether {host} enforces TLS onward is outside Exchange",
                input.recipient
            ),
            None,
        ));
    }
    if external.domain_secure_broken {
        findings.push(Finding::new(
            Code::Tls004,
            format!(
                "{} is a Domain Secure partner, but {} proxies through Front End Transport, which breaks Domain Secure",
                input.recipient,
                input.connector.unwrap_or("the connector")
            ),
            None,
        ));
    }
    findings.sort_by_key(|f| f.code);
    findings
}

/// Whether `severity` is at or above the `fail_on` threshold.
pub fn at_or_above(severity: Severity, fail_on: Option<Severity>) -> bool {
    fail_on.is_some_and(|f| severity >= f)
}
