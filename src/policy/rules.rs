//! Transport rules, evaluated once, by the first Transport service that handles the message
//! (reference §3.7): priority order, conditions ANDed (each condition's values ORed), any
//! exception vetoes, audit mode records the match without applying the action. The
//! `RouteMessageOutboundRequireTls` action sets the recipient's required level to
//! `EncryptionOnly` (reference §3.6).

use crate::model::{RuleId, RuleMode, RulePredicates, Scope, SiteId, TlsLevel, Topology};

/// What the rules see of one message and one recipient.
#[derive(Clone, Debug)]
pub struct MessageFacts<'a> {
    /// Lower case.
    pub subject: &'a str,
    pub sender_site: SiteId,
    /// Lower-case recipient domain.
    pub recipient_domain: &'a str,
    pub recipient_internal: bool,
}

/// A rule whose conditions held and no exception vetoed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    pub rule: RuleId,
    /// False in audit mode: logged, not applied.
    pub applied: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleOutcome {
    pub matches: Vec<RuleMatch>,
    /// The level the rules require for this recipient.
    pub required: TlsLevel,
    /// The first applied rule that required TLS.
    pub origin: Option<RuleId>,
}

pub fn evaluate_rules(topology: &Topology, facts: &MessageFacts<'_>) -> RuleOutcome {
    let mut outcome = RuleOutcome {
        matches: Vec::new(),
        required: TlsLevel::None,
        origin: None,
    };
    for rule in topology.transport_rules.iter() {
        if !holds_all(&rule.conditions, facts) || holds_any(&rule.exceptions, facts) {
            continue;
        }
        let applied = rule.mode == RuleMode::Enforce;
        outcome.matches.push(RuleMatch {
            rule: rule.id,
            applied,
        });
        if applied && rule.actions.require_tls && outcome.origin.is_none() {
            outcome.required = TlsLevel::EncryptionOnly;
            outcome.origin = Some(rule.id);
        }
    }
    outcome
}

/// Every present condition holds (an empty condition set matches every message, as in Exchange).
fn holds_all(p: &RulePredicates, facts: &MessageFacts<'_>) -> bool {
    predicate_results(p, facts).into_iter().flatten().all(|b| b)
}

/// At least one present exception holds.
fn holds_any(p: &RulePredicates, facts: &MessageFacts<'_>) -> bool {
    predicate_results(p, facts).into_iter().flatten().any(|b| b)
}

/// Each predicate's result, `None` when the predicate is absent.
fn predicate_results(p: &RulePredicates, facts: &MessageFacts<'_>) -> [Option<bool>; 4] {
    let some_if = |present: bool, value: bool| present.then_some(value);
    [
        some_if(
            !p.subject_or_body_contains.is_empty(),
            p.subject_or_body_contains
                .iter()
                .any(|w| facts.subject.contains(w.as_str())),
        ),
        p.sent_to_scope.map(|scope| match scope {
            Scope::InOrganization => facts.recipient_internal,
            Scope::NotInOrganization => !facts.recipient_internal,
        }),
        some_if(
            !p.recipient_domain_is.is_empty(),
            p.recipient_domain_is.iter().any(|d| {
                facts.recipient_domain == d || facts.recipient_domain.ends_with(&format!(".{d}"))
            }),
        ),
        some_if(
            !p.from_site.is_empty(),
            p.from_site.contains(&facts.sender_site),
        ),
    ]
}
