//! One message, one recipient, no time: the first Transport service, the rules it runs, the
//! route, the requirement hop by hop, the external hop and the findings (`tlsflow route`).

use crate::model::profile::CarryRule;
use crate::model::{Bytes, ConnectorId, Faults, ServerId, SiteId, Timestamp, TlsLevel, Topology};
use crate::route::{self, Hop, Route, RouteEnd, Target};

use super::carry::Carried;
use super::external::{ExternalOutcome, ExternalResult, external_hop};
use super::findings::{Finding, FindingInput, LostAt, judge};
use super::rules::{MessageFacts, RuleOutcome, evaluate_rules};

/// Who sends: a mailbox address, or a server or site standing for one (SPEC §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    Address(String),
    Server(ServerId),
    Site(SiteId),
}

/// A message to explain.
#[derive(Clone, Debug)]
pub struct Request {
    pub sender: Sender,
    /// The sender as the user wrote it.
    pub sender_text: String,
    /// An address or a bare domain.
    pub recipient: String,
    pub subject: String,
    pub size: Bytes,
    /// Certificates are judged at this instant.
    pub at: Timestamp,
    /// Instead of running the transport rules, assume they required this level (the exhaustive
    /// check asks "what if a rule required TLS for this mail").
    pub assume_required: Option<TlsLevel>,
}

/// A request that names things the topology does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error(
        "sender {0} has no mailbox in the topology: add it under `mailboxes`, or name a server or site as the sender"
    )]
    UnknownSender(String),
    #[error("{0} is not a Mailbox server, so it cannot be the first Transport service")]
    NotTransport(String),
    #[error("site {0} has no Mailbox server to send from")]
    EmptySite(String),
    #[error("`{0}` is neither an address nor a domain")]
    BadRecipient(String),
}

/// The requirement across one hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HopStep {
    pub hop: Hop,
    pub before: TlsLevel,
    pub after: TlsLevel,
    pub rule: Option<CarryRule>,
    pub dropped: bool,
}

/// The route's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// A transient failure: Exchange retries until expiry.
    Deferred {
        status: String,
    },
    Ndr {
        status: String,
    },
    Unreachable,
}

/// Everything `tlsflow route` shows.
#[derive(Clone, Debug)]
pub struct Explanation {
    pub request: Request,
    pub recipient_domain: String,
    pub recipient_internal: bool,
    /// The server that holds the sender's mailbox (or was named).
    pub mailbox_server: ServerId,
    /// The first Transport service (differs from `mailbox_server` when that one is down).
    pub origin: ServerId,
    pub origin_site: SiteId,
    pub rules: RuleOutcome,
    pub route: Route,
    pub steps: Vec<HopStep>,
    /// The connector the message leaves by, the server that sends, and the external hop.
    pub external: Option<(ConnectorId, ServerId, ExternalOutcome)>,
    pub outcome: Outcome,
    pub lost_at: Option<LostAt>,
    pub findings: Vec<Finding>,
}

pub fn explain(
    topology: &Topology,
    request: &Request,
    faults: &Faults,
) -> Result<Explanation, RequestError> {
    let mailbox_server = sender_server(topology, &request.sender)?;
    let recipient = request.recipient.trim().to_lowercase();
    let (local, domain) = match recipient.rsplit_once('@') {
        Some((l, d)) => (Some(l.to_owned()), d.to_owned()),
        None => (None, recipient.clone()),
    };
    if domain.is_empty() || domain.contains(char::is_whitespace) {
        return Err(RequestError::BadRecipient(request.recipient.clone()));
    }
    let internal = topology.is_accepted_domain(&domain);
    let origin_site = topology
        .server(mailbox_server)
        .site
        .expect("Mailbox servers are in a site");
    // Mailbox Transport Submission hands external-only mail to a Transport service in the local
    // delivery group (reference §1.10): the mailbox's own server, or another one when it is down.
    let origin = std::iter::once(mailbox_server)
        .chain(topology.transport_servers_in(origin_site))
        .find(|&s| faults.server_up(topology, s));
    let facts = MessageFacts {
        subject: &request.subject.to_lowercase(),
        sender_site: origin_site,
        recipient_domain: &domain,
        recipient_internal: internal,
    };
    let rules = match request.assume_required {
        Some(level) => RuleOutcome {
            matches: Vec::new(),
            required: level,
            origin: None,
        },
        None => evaluate_rules(topology, &facts),
    };
    let Some(origin) = origin else {
        let reason = format!(
            "no Transport service is up in site {}",
            topology.site(origin_site).name
        );
        return Ok(Explanation {
            request: request.clone(),
            recipient_domain: domain,
            recipient_internal: internal,
            mailbox_server,
            origin: mailbox_server,
            origin_site,
            rules,
            route: Route {
                origin: mailbox_server,
                selection: None,
                site_path: vec![origin_site],
                path_cost: 0,
                hops: Vec::new(),
                end: RouteEnd::Queued {
                    at: mailbox_server,
                    reason: reason.clone(),
                },
            },
            steps: Vec::new(),
            external: None,
            outcome: Outcome::Deferred {
                status: format!("451 4.4.0 {reason}"),
            },
            lost_at: None,
            findings: Vec::new(),
        });
    };
    let target = if internal {
        let address = match &local {
            Some(l) => format!("{l}@{domain}"),
            None => format!("*@{domain}"),
        };
        topology
            .mailbox_for(&address)
            .map(|m| Target::Mailbox(m.server))
    } else {
        Some(Target::External(domain.clone()))
    };
    let route = match &target {
        Some(t) => route::route(topology, origin, t, request.size, faults),
        None => Route {
            origin,
            selection: None,
            site_path: vec![origin_site],
            path_cost: 0,
            hops: Vec::new(),
            end: RouteEnd::Ndr {
                at: origin,
                status: "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found".to_owned(),
            },
        },
    };

    // The requirement hop by hop (SPEC §5.2): it starts on the server that ran the rules.
    let mut level = rules.required;
    let mut steps = Vec::new();
    let mut lost_at = None;
    for hop in &route.hops {
        let carried = Carried::across(&topology.profile, hop, level);
        if carried.dropped && lost_at.is_none() {
            let rule = carried.rule.expect("a drop comes from a profile rule");
            lost_at = Some(LostAt {
                from: topology.server(hop.from).name.clone(),
                to: topology.server(hop.to).name.clone(),
                kind: hop.kind.as_str(),
                because: format!(
                    "profile {}: requirement does not travel on {}{}",
                    topology.profile.name,
                    hop.kind.as_str(),
                    match hop.kind {
                        route::HopKind::RelayToConnectorSourceServers if hop.cross_site =>
                            " (cross-site)",
                        route::HopKind::RelayToConnectorSourceServers => " (same site)",
                        _ => "",
                    }
                ),
                evidence: rule.evidence,
                source: rule.source.clone(),
            });
        }
        steps.push(HopStep {
            hop: hop.clone(),
            before: level,
            after: carried.after,
            rule: carried.rule.cloned(),
            dropped: carried.dropped,
        });
        level = carried.after;
    }

    let (outcome, external) = match &route.end {
        RouteEnd::External {
            from,
            connector,
            via_frontend,
        } => {
            let ext = external_hop(
                topology,
                *connector,
                *from,
                &domain,
                level,
                *via_frontend,
                request.at,
            );
            let outcome = match &ext.result {
                ExternalResult::Delivered { .. } => Outcome::Delivered,
                ExternalResult::Deferred { status } => Outcome::Deferred {
                    status: status.clone(),
                },
                ExternalResult::Ndr { status } => Outcome::Ndr {
                    status: status.clone(),
                },
            };
            (outcome, Some((*connector, *from, ext)))
        }
        RouteEnd::Mailbox { .. } => (Outcome::Delivered, None),
        RouteEnd::Queued { reason, .. } => (
            Outcome::Deferred {
                status: format!("451 4.4.0 {reason}"),
            },
            None,
        ),
        RouteEnd::Unreachable { .. } => (Outcome::Unreachable, None),
        RouteEnd::Ndr { status, .. } => (
            Outcome::Ndr {
                status: status.clone(),
            },
            None,
        ),
    };
    let rule_name = rules
        .origin
        .map(|r| topology.transport_rules[r.index()].name.as_str());
    let unreachable_at = match &route.end {
        RouteEnd::Unreachable { at } => Some(topology.server(*at).name.as_str()),
        _ => None,
    };
    let findings = judge(&FindingInput {
        recipient: &recipient,
        rule_required: rules.required,
        rule_name,
        lost_at: lost_at.as_ref(),
        external: external.as_ref().map(|(_, _, e)| e),
        unreachable_at,
        connector: external
            .as_ref()
            .map(|(c, _, _)| topology.connector(*c).name.as_str()),
        sender_server: external
            .as_ref()
            .map(|(_, s, _)| topology.server(*s).name.as_str()),
    });
    Ok(Explanation {
        request: request.clone(),
        recipient_domain: domain,
        recipient_internal: internal,
        mailbox_server,
        origin,
        origin_site,
        rules,
        route,
        steps,
        external,
        outcome,
        lost_at,
        findings,
    })
}

fn sender_server(topology: &Topology, sender: &Sender) -> Result<ServerId, RequestError> {
    match sender {
        Sender::Address(address) => topology
            .mailbox_for(&address.to_lowercase())
            .map(|m| m.server)
            .ok_or_else(|| RequestError::UnknownSender(address.clone())),
        Sender::Server(server) => {
            if topology.server(*server).is_transport() {
                Ok(*server)
            } else {
                Err(RequestError::NotTransport(
                    topology.server(*server).name.clone(),
                ))
            }
        }
        Sender::Site(site) => topology
            .transport_servers_in(*site)
            .next()
            .ok_or_else(|| RequestError::EmptySite(topology.site(*site).name.clone())),
    }
}
