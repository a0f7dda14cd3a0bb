//! Whether the rule-imposed requirement travels across a hop, per the behaviour profile
//! (SPEC §5.3; reference §3.8-§3.9).

use crate::model::TlsLevel;
use crate::model::profile::{CarryRule, Profile};
use crate::route::{Hop, HopKind};

/// The requirement after a hop, and the profile rule that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carried<'p> {
    pub after: TlsLevel,
    /// The profile rule consulted (none for hops the requirement trivially survives).
    pub rule: Option<&'p CarryRule>,
    /// Set when the requirement was dropped on this hop.
    pub dropped: bool,
}

/// The profile rule for a hop kind; `None` for hops that stay inside one service or deliver to
/// a mailbox (the requirement concerns only the way out of the organisation).
pub fn carry_rule<'p>(profile: &'p Profile, hop: &Hop) -> Option<&'p CarryRule> {
    let r = &profile.requirement_travels;
    match hop.kind {
        HopKind::RelayToConnectorSourceServers if hop.cross_site => {
            Some(&r.relay_to_connector_source_servers_cross_site)
        }
        HopKind::RelayToConnectorSourceServers => {
            Some(&r.relay_to_connector_source_servers_same_site)
        }
        HopKind::RelayToHubSite => Some(&r.relay_to_hub_site),
        HopKind::RelayToRemoteSite => Some(&r.relay_to_remote_site),
        HopKind::RelayToEdge => Some(&r.relay_to_edge),
        HopKind::FrontendProxy => Some(&r.frontend_proxy),
        HopKind::Submission | HopKind::MailboxDelivery | HopKind::External => None,
    }
}

impl<'p> Carried<'p> {
    /// Applies `hop` to a requirement `before`.
    pub fn across(profile: &'p Profile, hop: &Hop, before: TlsLevel) -> Carried<'p> {
        let rule = carry_rule(profile, hop);
        let travels = rule.is_none_or(|r| r.travels);
        let after = if travels { before } else { TlsLevel::None };
        Carried {
            after,
            rule,
            dropped: before != TlsLevel::None && after == TlsLevel::None,
        }
    }
}
