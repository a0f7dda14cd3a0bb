//! One message, one recipient, no time: the submission (which Transport service runs the rules,
//! from the message's mailbox recipients: `route::submission`), the rules it runs, the route, the
//! requirement hop by hop, the external hop and the findings (`tlsflow route`).

use crate::model::profile::CarryRule;
use crate::model::{
    Bytes, ConnectorId, Faults, ServerId, Severity, SiteId, Timestamp, TlsLevel, Topology,
};
use crate::route::{self, Hop, Route, RouteEnd, Submission, Target};

use super::carry::{Carried, rules_skipped_on};
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
    /// Every recipient of the message, in order (the explained `recipient` among them): the
    /// mailbox recipients decide where the message is submitted (reference §1.10). Empty: the
    /// message has `recipient` alone.
    pub message_recipients: Vec<String>,
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
    /// Its site (transport rules' `from_site` look at it).
    pub sender_site: SiteId,
    /// Where Mailbox Transport Submission hands the message, and why (reference §1.10).
    pub submission: Submission,
    /// The Transport services Exchange picks among under the faults (it load-balances); this
    /// explanation is the worst of them (`origin`).
    pub candidates: Vec<ServerId>,
    /// The first Transport service: it runs the transport rules.
    pub origin: ServerId,
    /// Its site.
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

/// Explains one recipient of a message. When Exchange may pick among several Transport services
/// for the submission (it load-balances within the group), every candidate is explained and the
/// worst outcome is returned — the same stance as for MX hosts of equal preference (SPEC §5.1):
/// an exposure that one of Exchange's choices produces is an exposure.
pub fn explain(
    topology: &Topology,
    request: &Request,
    faults: &Faults,
) -> Result<Explanation, RequestError> {
    let message = Message::of(topology, request)?;
    let candidates = message.submission.candidates(topology, faults);
    Ok(worst(picks(&candidates), severity_of, |pick| {
        explain_from(topology, request, faults, &message, pick, &candidates)
    }))
}

/// Explains every recipient of a message (`route --to A --to B`): one submission for all of
/// them, and, when Exchange may pick among several Transport services, the candidate whose
/// worst recipient is worst (ties: the first candidate).
pub fn explain_message(
    topology: &Topology,
    request: &Request,
    faults: &Faults,
) -> Result<Vec<Explanation>, RequestError> {
    let recipients: Vec<String> = if request.message_recipients.is_empty() {
        vec![request.recipient.clone()]
    } else {
        request.message_recipients.clone()
    };
    for r in &recipients {
        parse_recipient(r)?;
    }
    let message = Message::of(topology, request)?;
    let candidates = message.submission.candidates(topology, faults);
    let severity = |all: &Vec<Explanation>| all.iter().filter_map(severity_of).max();
    Ok(worst(picks(&candidates), severity, |pick| {
        recipients
            .iter()
            .map(|r| {
                let one = Request {
                    recipient: r.clone(),
                    message_recipients: recipients.clone(),
                    ..request.clone()
                };
                explain_from(topology, &one, faults, &message, pick, &candidates)
            })
            .collect()
    }))
}

/// The first Transport services to explain: every candidate, or `None` when none is up.
fn picks(candidates: &[ServerId]) -> Vec<Option<ServerId>> {
    if candidates.is_empty() {
        vec![None]
    } else {
        candidates.iter().copied().map(Some).collect()
    }
}

fn severity_of(e: &Explanation) -> Option<Severity> {
    e.findings.iter().map(|f| f.severity).max()
}

/// What `explain` gives for the pick whose result is most severe; the first among equals.
fn worst<T>(
    picks: Vec<Option<ServerId>>,
    severity: impl Fn(&T) -> Option<Severity>,
    explain: impl Fn(Option<ServerId>) -> T,
) -> T {
    let mut best: Option<(Option<Severity>, T)> = None;
    for pick in picks {
        let e = explain(pick);
        let s = severity(&e);
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, e));
        }
    }
    best.expect("at least one pick").1
}

/// What a message's recipients decide before any Transport service sees it.
struct Message {
    mailbox_server: ServerId,
    sender_site: SiteId,
    submission: Submission,
}

impl Message {
    fn of(topology: &Topology, request: &Request) -> Result<Message, RequestError> {
        let (mailbox_server, pinned) = sender_server(topology, &request.sender)?;
        parse_recipient(&request.recipient)?;
        let sender_site = topology
            .server(mailbox_server)
            .site
            .expect("Mailbox servers are in a site");
        // Mailbox Transport Submission picks the first Transport service from the message's
        // mailbox recipients (reference §1.10): the same function for route, check and simulate.
        let submission = if pinned {
            route::pinned(topology, mailbox_server)
        } else {
            let all: Vec<&str> = if request.message_recipients.is_empty() {
                vec![request.recipient.as_str()]
            } else {
                request
                    .message_recipients
                    .iter()
                    .map(String::as_str)
                    .collect()
            };
            let mailbox_recipients: Vec<ServerId> = all
                .into_iter()
                .filter_map(|r| mailbox_of(topology, r))
                .collect();
            route::submission(topology, mailbox_server, &mailbox_recipients)
        };
        Ok(Message {
            mailbox_server,
            sender_site,
            submission,
        })
    }
}

/// One recipient, with the first Transport service `origin` (`None`: none is up).
fn explain_from(
    topology: &Topology,
    request: &Request,
    faults: &Faults,
    message: &Message,
    origin: Option<ServerId>,
    candidates: &[ServerId],
) -> Explanation {
    let (mailbox_server, sender_site) = (message.mailbox_server, message.sender_site);
    let submission = message.submission.clone();
    let (local, domain, recipient) =
        parse_recipient(&request.recipient).expect("checked by Message::of");
    // For the rules (SentToScope): authoritative and internal relay domains are inside.
    let internal = topology.is_internal_domain(&domain);
    let facts = MessageFacts {
        subject: &request.subject.to_lowercase(),
        sender_site,
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
            "no Transport service of {} is up",
            topology.group_name(submission.group)
        );
        return Explanation {
            request: request.clone(),
            recipient_domain: domain,
            recipient_internal: internal,
            mailbox_server,
            sender_site,
            submission,
            candidates: candidates.to_vec(),
            origin: mailbox_server,
            origin_site: sender_site,
            rules,
            route: Route {
                origin: mailbox_server,
                selection: None,
                site_path: vec![sender_site],
                path_cost: 0,
                hops: Vec::new(),
                end: RouteEnd::Queued {
                    at: mailbox_server,
                    reason: reason.clone(),
                    waiting_for: None,
                },
            },
            steps: Vec::new(),
            external: None,
            outcome: Outcome::Deferred {
                status: format!("451 4.4.0 {reason}"),
            },
            lost_at: None,
            findings: Vec::new(),
        };
    };
    let origin_site = topology
        .server(origin)
        .site
        .expect("Mailbox servers are in a site");
    let target = if topology.is_accepted_domain(&domain) {
        let address = match &local {
            Some(l) => format!("{l}@{domain}"),
            None => format!("*@{domain}"),
        };
        match topology.mailbox_for(&address) {
            Some(m) => Some(Target::Mailbox(m.server)),
            // A relay domain's recipient without a mailbox leaves by a Send connector
            // (New-AcceptedDomain -DomainType InternalRelay / ExternalRelay).
            None if topology.is_relay_domain(&domain) => Some(Target::External(domain.clone())),
            None => None,
        }
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

    // What the explanation reads of the connectors beyond routing, which notes its own reads
    // (`route::reads`, for check's incremental re-check of fixes): the settings of every
    // connector on the route (the external hop, the carry across its hops, the findings).
    let external_connector = match route.end {
        RouteEnd::External { connector, .. } => Some(connector),
        _ => None,
    };
    for c in route
        .hops
        .iter()
        .filter_map(|h| h.connector)
        .chain(route.selection.as_ref().map(|s| s.connector))
        .chain(external_connector)
    {
        crate::route::reads::note(crate::route::reads::Read::Settings(c));
    }

    // The requirement hop by hop (SPEC §5.2): it starts on the server that ran the rules —
    // unless that server is an Exchange 2010 Hub Transport, which never ran them.
    let mut lost_at = rules_skipped_on(topology, mailbox_server, origin, rules.required);
    let mut level = if lost_at.is_some() {
        TlsLevel::None
    } else {
        rules.required
    };
    let mut steps = Vec::new();
    for hop in &route.hops {
        let carried = Carried::across(topology, hop, level);
        if lost_at.is_none() {
            lost_at = carried.lost_at(topology, hop);
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
                super::external::MxOrder::Worst,
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
    Explanation {
        request: request.clone(),
        recipient_domain: domain,
        recipient_internal: internal,
        mailbox_server,
        sender_site,
        submission,
        candidates: candidates.to_vec(),
        origin,
        origin_site,
        rules,
        route,
        steps,
        external,
        outcome,
        lost_at,
        findings,
    }
}

/// The lower-case recipient: its local part (none for a bare domain), its domain, and the whole.
fn parse_recipient(text: &str) -> Result<(Option<String>, String, String), RequestError> {
    let recipient = text.trim().to_lowercase();
    // The absolute form `bob@fabrikam.com.` names fabrikam.com (issue 15).
    let recipient = recipient
        .strip_suffix('.')
        .map_or(recipient.clone(), str::to_owned);
    let (local, domain) = match recipient.rsplit_once('@') {
        Some((l, d)) => (Some(l.to_owned()), d.to_owned()),
        None => (None, recipient.clone()),
    };
    if domain.is_empty() || domain.contains(char::is_whitespace) {
        return Err(RequestError::BadRecipient(text.to_owned()));
    }
    Ok((local, domain, recipient))
}

/// The server holding the mailbox of `recipient` (an address in an accepted domain), if any.
pub fn mailbox_of(topology: &Topology, recipient: &str) -> Option<ServerId> {
    let (local, domain, _) = parse_recipient(recipient).ok()?;
    if !topology.is_accepted_domain(&domain) {
        return None;
    }
    topology
        .mailbox_for(&format!("{}@{domain}", local.as_deref().unwrap_or("*")))
        .map(|m| m.server)
}

/// The sender's mailbox server, and whether it was named (a pinned first Transport service).
fn sender_server(topology: &Topology, sender: &Sender) -> Result<(ServerId, bool), RequestError> {
    match sender {
        Sender::Address(address) => topology
            .mailbox_for(&address.to_lowercase())
            .map(|m| (m.server, false))
            .ok_or_else(|| RequestError::UnknownSender(address.clone())),
        Sender::Server(server) => {
            if topology.server(*server).is_transport() {
                Ok((*server, true))
            } else {
                Err(RequestError::NotTransport(
                    topology.server(*server).name.clone(),
                ))
            }
        }
        Sender::Site(site) => topology
            .transport_servers_in(*site)
            .next()
            .map(|s| (s, false))
            .ok_or_else(|| RequestError::EmptySite(topology.site(*site).name.clone())),
    }
}
