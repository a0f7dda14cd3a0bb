//! What Exchange does with the TLS requirement (SPEC §5.2-§5.4): transport rules, whether the
//! requirement travels across each hop under the behaviour profile, the outcome of the external
//! hop, and the findings.

mod carry;
pub mod docs;
mod explain;
mod external;
mod findings;
mod rules;

pub use carry::{Carried, carry_rule, rules_skipped_on};
pub use explain::{
    Explanation, HopStep, Outcome, Request, RequestError, Sender, explain, explain_message,
    mailbox_of,
};
pub use external::{
    Attempt, AttemptFailure, ExternalOutcome, ExternalResult, MxOrder, external_hop,
    mx_order_matters,
};
pub use findings::{Finding, FindingInput, LostAt, at_or_above, judge};
pub use rules::{MessageFacts, RuleMatch, RuleOutcome, evaluate_rules};
