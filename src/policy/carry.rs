//! Whether the rule-imposed requirement travels across a hop, per the behaviour profile
//! (SPEC §5.3; reference §3.8-§3.9), and per the version of the server it reaches (SPEC §5.1
//! "Version coexistence": an Exchange 2010 Hub Transport has no `RouteMessageOutboundRequireTls`
//! and carries no rule requirement, whatever the profile of the 2013+ servers says).

use std::sync::LazyLock;

use crate::model::profile::{CarryRule, Evidence, Profile};
use crate::model::{ServerId, TlsLevel, Topology};
use crate::route::{Hop, HopKind};

use super::findings::LostAt;

/// The requirement after a hop, and the profile rule that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carried<'p> {
    pub after: TlsLevel,
    /// The profile rule consulted (none for hops the requirement trivially survives).
    pub rule: Option<&'p CarryRule>,
    /// Set when the requirement was dropped on this hop.
    pub dropped: bool,
}

/// The rule for a hop into an Exchange 2010 server (reference §1.10, §6).
static TO_EXCHANGE2010: LazyLock<CarryRule> = LazyLock::new(|| {
    CarryRule {
    travels: false,
    evidence: Evidence::Documented,
    source: "docs/evidence.md#where-rules-run, #versions: an Exchange 2010 Hub Transport has no RouteMessageOutboundRequireTls (Microsoft Learn, \"Mail flow rules in Exchange 2013\", rules in mixed environments)".to_owned(),
}
});

/// The rule for rules run by an Exchange 2010 server (reference §1.10).
static RULES_ON_EXCHANGE2010: LazyLock<CarryRule> = LazyLock::new(|| {
    CarryRule {
    travels: false,
    evidence: Evidence::Documented,
    source: "docs/evidence.md#where-rules-run: transport rules are stored per version; an Exchange 2010 Hub Transport never evaluates rules made with Exchange 2013 or later (Microsoft Learn, \"Mail flow rules in Exchange 2013\", rule replication and storage in mixed environments)".to_owned(),
}
});

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
    /// Applies `hop` to a requirement `before`, under the topology's profile and the version of
    /// the server the hop reaches.
    pub fn across(topology: &'p Topology, hop: &Hop, before: TlsLevel) -> Carried<'p> {
        let to_2010 = hop.kind != HopKind::MailboxDelivery
            && hop.kind != HopKind::External
            && topology.server(hop.to).is_exchange2010();
        let rule = if to_2010 {
            Some(&*TO_EXCHANGE2010)
        } else {
            carry_rule(&topology.profile, hop)
        };
        let travels = rule.is_none_or(|r| r.travels);
        let after = if travels { before } else { TlsLevel::None };
        Carried {
            after,
            rule,
            dropped: before != TlsLevel::None && after == TlsLevel::None,
        }
    }

    /// Where and why the requirement was lost, when this hop dropped it.
    pub fn lost_at(&self, topology: &Topology, hop: &Hop) -> Option<LostAt> {
        if !self.dropped {
            return None;
        }
        let rule = self.rule.expect("a drop comes from a rule");
        let to = topology.server(hop.to);
        let because = if std::ptr::eq(rule, std::ptr::from_ref(&*TO_EXCHANGE2010)) {
            format!(
                "{} is Exchange 2010 ({}): a 2010 Hub Transport has no RouteMessageOutboundRequireTls and carries no rule requirement",
                to.name,
                to.version.as_deref().unwrap_or("14")
            )
        } else {
            format!(
                "profile {}: requirement does not travel on {}{}",
                topology.profile.shown_name(),
                hop.kind.as_str(),
                match hop.kind {
                    HopKind::RelayToConnectorSourceServers if hop.cross_site => " (cross-site)",
                    HopKind::RelayToConnectorSourceServers => " (same site)",
                    _ => "",
                }
            )
        };
        Some(LostAt {
            from: topology.server(hop.from).name.clone(),
            to: to.name.clone(),
            kind: hop.kind.as_str(),
            because,
            evidence: rule.evidence,
            source: rule.source.clone(),
        })
    }
}

/// When the first Transport service is an Exchange 2010 Hub Transport in an organisation whose
/// rules are 2013+ rules: the rules never ran there, so a requirement they would impose is lost
/// at submission (SPEC §5.1 "Version coexistence"). `None` otherwise.
pub fn rules_skipped_on(
    topology: &Topology,
    sender: ServerId,
    first: ServerId,
    required: TlsLevel,
) -> Option<LostAt> {
    let server = topology.server(first);
    if required == TlsLevel::None || !server.is_exchange2010() {
        return None;
    }
    let rule = &*RULES_ON_EXCHANGE2010;
    Some(LostAt {
        from: topology.server(sender).name.clone(),
        to: server.name.clone(),
        kind: HopKind::Submission.as_str(),
        because: format!(
            "the rules ran on {} (Exchange 2010, {}): a 2010 Hub Transport never evaluates rules made with Exchange 2013 or later, so the requirement was never set",
            server.name,
            server.version.as_deref().unwrap_or("14")
        ),
        evidence: rule.evidence,
        source: rule.source.clone(),
    })
}
