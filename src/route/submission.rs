//! Mailbox Transport Submission: which Transport service receives a message first, and so runs
//! the transport rules (reference §1.10; SPEC §5.1 "Submission").
//!
//! The sender's Mailbox Transport Submission service does not hand a message to the Transport
//! service of its own server or site by default. It looks at the message's *mailbox recipients*:
//!
//! - one mailbox recipient (or several, all in one delivery group): a Mailbox server of that
//!   recipient's delivery group, closest AD site preferred;
//! - several in different groups: the closest delivery group among the first 20 mailbox
//!   recipients;
//! - none (only external recipients): a Mailbox server of the sender's own delivery group.
//!
//! A delivery group is a DAG (which may span sites) or the servers of one major version in one
//! site (reference §1.3). This one function is used by `route`, `check` and `simulate`.
//!
//! Choices where the documentation is silent (ARCHITECTURE.md, "Modelling choices"):
//! - Ties between equally close groups: the sender's own group, then the lower group name.
//! - An Exchange 2013+ sender's submission considers only groups of 2013+ servers: a mailbox
//!   recipient on Exchange 2010 does not draw the message to a 2010 Hub Transport (2010
//!   databases are served by 2010 Hubs, §1.10; Mailbox Transport Submission is a 2013+ service).
//! - An Exchange 2010 sender's message is submitted by the 2010 store driver to a Hub Transport
//!   server of its own site (2010 routing has one site per recipient and no DAG groups, §1.5).
//! - When every server of the chosen group is down, the submission waits (SUBMITDEFER); it does
//!   not fall back to the sender's own group.

use crate::model::{Faults, GroupId, GroupKind, ServerId, SiteId, Topology, name_key};

use super::connector::{closest, path_order};

/// How many mailbox recipients Mailbox Transport Submission looks at (reference §1.10).
pub const RECIPIENTS_CONSIDERED: usize = 20;

/// Why the message goes to its submission group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmissionReason {
    /// No mailbox recipient: the sender's own delivery group.
    NoMailboxRecipient,
    /// The mailbox recipients (the first 20) are all in this one group.
    MailboxRecipients,
    /// Mailbox recipients in several groups: the closest of them (`groups` distinct groups).
    ClosestOfSeveral { groups: usize },
    /// An Exchange 2010 mailbox: the store driver submits to a Hub Transport of its own site.
    Exchange2010Sender,
    /// The first Transport service was named (`--from SERVER`), not chosen.
    Pinned,
}

/// Where a message is submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The sender's mailbox server.
    pub sender: ServerId,
    pub group: GroupId,
    pub reason: SubmissionReason,
    /// How many of the message's first 20 mailbox recipients were considered.
    pub mailbox_recipients: usize,
    /// How many of them were ignored because their mailbox is on Exchange 2010.
    pub ignored_exchange2010: usize,
    /// The Transport services that may run the rules, in tiers: Exchange picks among the servers
    /// of the first tier that has one up (load-balanced: `simulate` draws from its seed, `route`
    /// takes the first). Later tiers are the group's servers in other sites, closest first
    /// (reference §1.5 fallback). Within a tier, servers are ordered by site closeness, then name.
    pub tiers: Vec<Vec<ServerId>>,
}

impl Submission {
    /// The servers Exchange picks among under `faults`: the up servers of the first tier that
    /// has any (empty: none is up, the submission waits).
    pub fn candidates(&self, topology: &Topology, faults: &Faults) -> Vec<ServerId> {
        self.tiers
            .iter()
            .map(|t| {
                t.iter()
                    .copied()
                    .filter(|&s| faults.server_up(topology, s))
                    .collect::<Vec<_>>()
            })
            .find(|t| !t.is_empty())
            .unwrap_or_default()
    }

    /// The deterministic pick (`route`, `check`): the first candidate.
    pub fn pick(&self, topology: &Topology, faults: &Faults) -> Option<ServerId> {
        self.candidates(topology, faults).first().copied()
    }

    /// Every server of the first tier: those Exchange picks among with nothing failed.
    pub fn preferred(&self) -> &[ServerId] {
        self.tiers.first().map_or(&[], Vec::as_slice)
    }
}

/// The submission of a message from the mailbox on `sender` whose mailbox recipients are on
/// `mailbox_recipients` (in recipient order; only the first 20 count). Routing sees the
/// configured topology, not outages (reference §1.5): faults only decide which candidate
/// answers ([`Submission::candidates`]).
pub fn submission(
    topology: &Topology,
    sender: ServerId,
    mailbox_recipients: &[ServerId],
) -> Submission {
    let server = topology.server(sender);
    let sender_site = server.site.expect("Mailbox servers are in a site");
    let own = topology
        .group_of(sender)
        .expect("a mailbox server belongs to a delivery group");
    if server.is_exchange2010() {
        // The 2010 store driver submits to a Hub Transport server of the mailbox's site.
        let hubs: Vec<ServerId> = topology
            .transport_servers_in(sender_site)
            .filter(|&s| topology.server(s).is_exchange2010())
            .collect();
        return Submission {
            sender,
            group: own,
            reason: SubmissionReason::Exchange2010Sender,
            mailbox_recipients: 0,
            ignored_exchange2010: 0,
            tiers: vec![hubs],
        };
    }
    let mut groups: Vec<GroupId> = Vec::new();
    let (mut considered, mut ignored) = (0, 0);
    for &r in mailbox_recipients.iter().take(RECIPIENTS_CONSIDERED) {
        if topology.server(r).is_exchange2010() {
            ignored += 1;
            continue;
        }
        considered += 1;
        if let Some(g) = topology.group_of(r)
            && !groups.contains(&g)
        {
            groups.push(g);
        }
    }
    let (group, reason) = match groups.len() {
        0 => (own, SubmissionReason::NoMailboxRecipient),
        1 => (groups[0], SubmissionReason::MailboxRecipients),
        n => (
            closest_group(topology, sender_site, own, &groups),
            SubmissionReason::ClosestOfSeveral { groups: n },
        ),
    };
    let tiers = if reason == SubmissionReason::NoMailboxRecipient {
        // "A Mailbox server in the local delivery group": any member, in any of its sites.
        vec![by_closeness(topology, sender_site, group).concat()]
    } else {
        by_closeness(topology, sender_site, group)
    };
    Submission {
        sender,
        group,
        reason,
        mailbox_recipients: considered,
        ignored_exchange2010: ignored,
        tiers,
    }
}

/// A pinned first Transport service (`--from SERVER`, and the exhaustive check, which
/// enumerates every server that submission can pick).
pub fn pinned(topology: &Topology, server: ServerId) -> Submission {
    Submission {
        sender: server,
        group: topology
            .group_of(server)
            .expect("a pinned first Transport service is a Mailbox server"),
        reason: SubmissionReason::Pinned,
        mailbox_recipients: 0,
        ignored_exchange2010: 0,
        tiers: vec![vec![server]],
    }
}

/// The group's servers per site, the closest site to `from` first (reference §1.4 order), each
/// site's servers by name.
fn by_closeness(topology: &Topology, from: SiteId, group: GroupId) -> Vec<Vec<ServerId>> {
    let g = topology.group(group);
    let mut sites = g.sites.clone();
    sites.sort_by(|&a, &b| {
        let (pa, pb) = (
            topology.site_graph.least_cost_path(from, a),
            topology.site_graph.least_cost_path(from, b),
        );
        match (pa, pb) {
            (Some(pa), Some(pb)) => path_order(topology, &pa, &pb),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(&b),
        }
    });
    sites
        .into_iter()
        .map(|site| {
            g.servers
                .iter()
                .copied()
                .filter(|&s| topology.server(s).site == Some(site))
                .collect()
        })
        .collect()
}

/// The closest of several groups from `from` (reference §1.4 path order to each group's
/// closest site); ties: the sender's own group, then the lower name.
fn closest_group(topology: &Topology, from: SiteId, own: GroupId, groups: &[GroupId]) -> GroupId {
    let mut best: Option<(GroupId, crate::model::SitePath)> = None;
    for &g in groups {
        let Some(path) = closest(topology, from, &topology.group(g).sites) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((b, bp)) => match path_order(topology, &path, bp) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => {
                    (g != own, name_key(&topology.group_name(g)))
                        < (*b != own, name_key(&topology.group_name(*b)))
                }
            },
        };
        if better {
            best = Some((g, path));
        }
    }
    best.map_or(groups[0], |(g, _)| g)
}

/// What a person reads about a submission: "submitted to Branch on BR-MBX1: the message has one
/// mailbox recipient there".
pub fn describe(topology: &Topology, s: &Submission, picked: Option<ServerId>) -> String {
    let group = topology.group_name(s.group);
    let at = picked.map_or_else(
        || " (no server of the group is up: the submission waits)".to_owned(),
        |p| format!(" on {}", topology.server(p).name),
    );
    let why = match s.reason {
        SubmissionReason::NoMailboxRecipient if s.ignored_exchange2010 > 0 => format!(
            "the message's mailbox recipients are all on Exchange 2010 (served by 2010 Hub Transport servers), so a Mailbox server of the sender's own delivery group runs the rules{}",
            spans_note(topology, s)
        ),
        SubmissionReason::NoMailboxRecipient => format!(
            "the message has no mailbox recipient, so a Mailbox server of the sender's own delivery group runs the rules{}",
            spans_note(topology, s)
        ),
        SubmissionReason::MailboxRecipients if s.mailbox_recipients == 1 => {
            "the message has one mailbox recipient there (closest site of the group preferred)"
                .to_owned()
        }
        SubmissionReason::MailboxRecipients => format!(
            "the message's {} mailbox recipients are all there (closest site of the group preferred)",
            s.mailbox_recipients
        ),
        SubmissionReason::ClosestOfSeveral { groups } => format!(
            "the closest of the {groups} delivery groups of the message's first {RECIPIENTS_CONSIDERED} mailbox recipients"
        ),
        SubmissionReason::Exchange2010Sender => {
            "the sender's mailbox is on Exchange 2010, whose store driver submits to a Hub Transport server of its own site"
                .to_owned()
        }
        SubmissionReason::Pinned => "the first Transport service was named with --from".to_owned(),
    };
    format!("submitted to {group}{at}: {why}")
}

/// For a DAG spanning sites with no mailbox recipient: any member may be picked.
fn spans_note(topology: &Topology, s: &Submission) -> String {
    let g = topology.group(s.group);
    if !matches!(g.kind, GroupKind::Dag(_)) || g.sites.len() < 2 {
        return String::new();
    }
    let sites: Vec<&str> = g
        .sites
        .iter()
        .map(|&x| topology.site(x).name.as_str())
        .collect();
    format!(
        "; the DAG spans {}, so Exchange may pick a member in any of them (`tlsflow check` covers each)",
        sites.join(", ")
    )
}
