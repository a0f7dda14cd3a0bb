//! Re-verified remediation (issue 4): for an exposure, the fixes an Exchange architect would try,
//! each applied to a copy of the topology and re-checked; only fixes that remove the exposure
//! and add no other exposure are reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use rayon::prelude::*;

use crate::model::{
    AddressPattern, AddressSpace, Component, ConnectorId, SendConnector, ServerId, TlsLevel,
    Topology, name_key,
};
use crate::route::reads::Read;

use super::{Analysis, CheckResult, Exposure, OriginKey, Scope};

/// A candidate change, described in an administrator's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub description: String,
    /// What the fix is, in Exchange terms (for the report).
    pub command: String,
}

type Key = (
    OriginKey,
    String,
    TlsLevel,
    crate::model::Code,
    Vec<Component>,
);

fn key(e: &Exposure) -> Key {
    (
        e.origin_key(),
        e.recipient_domain.clone(),
        e.required_tls,
        e.code,
        e.failure_set.clone(),
    )
}

/// The re-checked fixes of a check's exposures.
#[derive(Clone, Debug, Default)]
pub struct VerifiedFixes {
    /// Confirmed fixes, by exposure index in `baseline.exposures`.
    pub by_exposure: BTreeMap<usize, Vec<Fix>>,
}

/// For every exposure with an empty failure set (today's configuration), the candidate fixes
/// that the re-check confirms. Every candidate of every exposure is re-checked.
///
/// A fix is confirmed when, re-checked with the same K on the changed copy: the exposure is gone
/// with no failure; every remaining exposure was already there before with a subset of its
/// failure set (a fix may fail when its own new components fail, as long as that only brings back
/// an exposure that exists today); and all mail that was deliverable without a requirement
/// still is (a fix that blocks all mail is no fix).
///
/// Each candidate is re-checked incrementally ([`super::recheck`]): only the units whose routes
/// read what it changes are checked again (issue 17); the answer is that of a whole check of the
/// changed copy.
pub fn verified_fixes(topology: &Topology, analysis: &Analysis) -> VerifiedFixes {
    verified_fixes_observed(topology, analysis, &|_, _| {})
}

/// [`verified_fixes`], calling `progress(done, total)` as distinct candidates are re-checked,
/// for a progress bar.
pub fn verified_fixes_observed(
    topology: &Topology,
    analysis: &Analysis,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> VerifiedFixes {
    verified_fixes_by(topology, analysis, progress, Recheck::Incremental)
}

/// How each candidate is re-checked.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recheck {
    /// Only the units and routes a candidate can change ([`super::recheck`]).
    Incremental,
    /// A whole check and every route of the changed copy (the reference the incremental
    /// re-check is tested against).
    Full,
    /// Incremental, forgetting one kind of read (a mutation the tests must catch).
    Forgetting(super::Forget),
}

/// [`verified_fixes`], with every candidate re-checked as `how` says.
#[doc(hidden)]
pub fn verified_fixes_by(
    topology: &Topology,
    analysis: &Analysis,
    progress: &(dyn Fn(u64, u64) + Sync),
    how: Recheck,
) -> VerifiedFixes {
    let before = &analysis.result.exposures;
    let (distinct, proposed) = distinct_candidates(topology, before);
    let total = distinct.len() as u64;
    let baseline = Baseline::new(topology, analysis, how);
    // Per candidate, the exposures that proposed it: the verdict asks only whether it removes
    // those.
    let mut proposers: Vec<Vec<usize>> = vec![Vec::new(); distinct.len()];
    for (i, mine) in &proposed {
        for &c in mine {
            proposers[c].push(*i);
        }
    }
    let done = std::sync::atomic::AtomicU64::new(0);
    let verdicts: Vec<Verdict> = distinct
        .par_iter()
        .zip(&proposers)
        .map(|(c, proposers)| {
            let v = baseline.verdict(c, proposers);
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                total,
            );
            v
        })
        .collect();
    let mut out = VerifiedFixes::default();
    for (i, mine) in proposed {
        let good: Vec<Fix> = mine
            .into_iter()
            .filter(|&c| verdicts[c].no_worse && !verdicts[c].left_today.contains(&key(&before[i])))
            .map(|c| distinct[c].fix.clone())
            .collect();
        if !good.is_empty() {
            out.by_exposure.insert(i, good);
        }
    }
    out
}

/// Every distinct candidate fix of the exposures with no failure, with the changed copy and what
/// the change may touch (for the tests of the incremental re-check).
#[doc(hidden)]
pub fn candidate_copies(topology: &Topology, analysis: &Analysis) -> Vec<(Fix, Topology, Scope)> {
    distinct_candidates(topology, &analysis.result.exposures)
        .0
        .into_iter()
        .map(|c| {
            let changed = c.change.apply(topology);
            (c.fix, changed, c.change.scope())
        })
        .collect()
}

/// Every distinct candidate of the exposures with no failure once, however many exposures
/// propose it, in the order first proposed (told apart by words and change: two exposures'
/// copies of different connectors read alike); and, per such exposure, its candidates' indexes.
#[allow(clippy::type_complexity)]
fn distinct_candidates(
    topology: &Topology,
    exposures: &[Exposure],
) -> (Vec<Candidate>, Vec<(usize, Vec<usize>)>) {
    let mut distinct: Vec<Candidate> = Vec::new();
    let mut index: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut proposed: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, e) in exposures.iter().enumerate() {
        if !e.failure_set.is_empty() {
            continue;
        }
        let mine = candidates(topology, e)
            .into_iter()
            .map(|c| {
                let same = index
                    .entry((c.fix.description.clone(), c.fix.command.clone()))
                    .or_default();
                if let Some(&j) = same.iter().find(|&&j| distinct[j].change == c.change) {
                    j
                } else {
                    distinct.push(c);
                    same.push(distinct.len() - 1);
                    distinct.len() - 1
                }
            })
            .collect();
        proposed.push((i, mine));
    }
    (distinct, proposed)
}

/// What the re-check of one candidate says.
struct Verdict {
    /// No exposure it leaves was not there before with a subset of its failures, and all mail
    /// deliverable before still is.
    no_worse: bool,
    /// The exposures left with no failure (at least those of the origins, domains and
    /// requirements of the exposures that proposed the candidate).
    left_today: BTreeSet<Key>,
}

/// What every candidate is compared with.
struct Baseline<'a> {
    topology: &'a Topology,
    analysis: &'a Analysis,
    /// Today's exposures' failure sets by (origin, domain, requirement, code).
    exposed: BTreeMap<(OriginKey, &'a str, TlsLevel, crate::model::Code), Vec<&'a [Component]>>,
    deliverable: Deliverable,
    how: Recheck,
    /// Where each unit's exposures go, for verdicts without the whole report of each copy.
    contributions: super::incremental::Contributions<'a>,
}

impl<'a> Baseline<'a> {
    fn new(topology: &'a Topology, analysis: &'a Analysis, how: Recheck) -> Baseline<'a> {
        let mut exposed: BTreeMap<_, Vec<&[Component]>> = BTreeMap::new();
        for b in &analysis.result.exposures {
            exposed
                .entry((
                    b.origin_key(),
                    b.recipient_domain.as_str(),
                    b.required_tls,
                    b.code,
                ))
                .or_default()
                .push(b.failure_set.as_slice());
        }
        Baseline {
            topology,
            analysis,
            exposed,
            deliverable: Deliverable::of(topology, analysis.options.at),
            how,
            contributions: super::incremental::Contributions::of(topology, analysis),
        }
    }

    /// `proposers`: the indexes of the exposures that proposed `candidate`.
    fn verdict(&self, candidate: &Candidate, proposers: &[usize]) -> Verdict {
        let changed = candidate.change.apply(self.topology);
        let scope = match self.how {
            Recheck::Full => Scope::Everything,
            _ => candidate.change.scope(),
        };
        let forget = match self.how {
            Recheck::Forgetting(f) => Some(f),
            _ => None,
        };
        let covered = |p: &super::incremental::Prefix<'_>, failure_set: &[Component]| {
            self.exposed.get(p).is_some_and(|sets| {
                sets.iter()
                    .any(|b| b.iter().all(|c| failure_set.contains(c)))
            })
        };
        let fast = match self.how {
            Recheck::Full => None,
            _ => super::incremental::verdict(
                self.topology,
                &self.contributions,
                &changed,
                scope,
                forget,
                &covered,
                &|origin: &OriginKey, domain: &str, level: TlsLevel| {
                    proposers.iter().any(|&i| {
                        let e = &self.analysis.result.exposures[i];
                        e.required_tls == level
                            && e.recipient_domain == domain
                            && e.origin_key() == *origin
                    })
                },
            ),
        };
        let (no_worse, left_today) = if let Some((no_worse, today)) = fast {
            (
                no_worse,
                today
                    .into_iter()
                    .map(|(o, d, l, c)| (o, d, l, c, Vec::new()))
                    .collect(),
            )
        } else {
            // New domain classes, an analysis that is unpruned or lacks a unit's reads, or
            // `Recheck::Full`: the re-check with its report.
            let after = super::incremental::recheck_forgetting(
                self.topology,
                self.analysis,
                &changed,
                scope,
                forget,
            )
            .exposures;
            let no_worse = after.iter().all(|a| {
                covered(
                    &(
                        a.origin_key(),
                        a.recipient_domain.as_str(),
                        a.required_tls,
                        a.code,
                    ),
                    &a.failure_set,
                )
            });
            let today = after
                .iter()
                .filter(|a| a.failure_set.is_empty())
                .map(key)
                .collect();
            (no_worse, today)
        };
        let still_delivers = no_worse
            && self.deliverable.still(
                self.topology,
                &changed,
                scope,
                self.analysis,
                self.how != Recheck::Full,
            );
        Verdict {
            no_worse: no_worse && still_delivers,
            left_today,
        }
    }
}

/// The fixes of a shard's exposures, taken from those of the whole analysis (`whole`,
/// `whole_fixes`): a fix is re-checked against every exposure of the organisation, so a shard
/// cannot verify one alone. Each shard exposure gets the fixes of the exposure of the same
/// origin, domain, requirement, code and failure set, so `merge` gives what one unsharded run
/// gives (issue 16).
pub fn for_shard(
    whole: &CheckResult,
    whole_fixes: &VerifiedFixes,
    shard: &CheckResult,
) -> VerifiedFixes {
    let index: BTreeMap<Key, usize> = whole
        .exposures
        .iter()
        .enumerate()
        .map(|(i, e)| (key(e), i))
        .collect();
    let mut out = VerifiedFixes::default();
    for (i, e) in shard.exposures.iter().enumerate() {
        let Some(&j) = index.get(&key(e)) else {
            continue;
        };
        if let Some(fixes) = whole_fixes.by_exposure.get(&j) {
            out.by_exposure.insert(i, fixes.clone());
        }
    }
    out
}

/// A candidate fix: what it is in words, and the change it makes (applied only when it is
/// re-checked, so that hundreds of candidates do not mean hundreds of topologies in memory).
struct Candidate {
    fix: Fix,
    change: Change,
}

/// A change to a topology.
#[derive(PartialEq)]
enum Change {
    /// Add servers to a connector's source servers.
    AddSources(ConnectorId, Vec<ServerId>),
    /// Add a connector (at the end: existing ids stay).
    NewConnector(Box<SendConnector>),
    /// Turn on outbound proxy through Front End Transport on a connector.
    FrontendProxy(ConnectorId),
    /// Another behaviour (a what-if).
    Profile(Box<crate::model::Profile>),
}

impl Change {
    fn apply(&self, topology: &Topology) -> Topology {
        let mut t = topology.clone();
        match self {
            Change::AddSources(id, servers) => {
                let c = &mut t.send_connectors[id.index()];
                for &s in servers {
                    if !c.source_servers.contains(&s) {
                        c.source_servers.push(s);
                    }
                }
            }
            Change::NewConnector(c) => t.send_connectors.push((**c).clone()),
            Change::FrontendProxy(id) => t.send_connectors[id.index()].frontend_proxy = true,
            Change::Profile(p) => t.profile = (**p).clone(),
        }
        t
    }

    fn scope(&self) -> Scope {
        match self {
            Change::Profile(_) => Scope::Everything,
            _ => Scope::Connectors,
        }
    }
}

/// The fixes worth trying for an exposure.
fn candidates(topology: &Topology, e: &Exposure) -> Vec<Candidate> {
    let mut out = Vec::new();
    let Some(connector_id) = e.connector else {
        return out;
    };
    // Where the rules run: the site of the first Transport services (for mail copied to a
    // mailbox in another group, that group's site, not the senders').
    let Some(submission_site) = e
        .origin_servers
        .first()
        .and_then(|&s| topology.server(s).site)
    else {
        return out;
    };
    let site = topology.site(submission_site).name.clone();
    let connector = topology.connector(connector_id).clone();
    let origin_names: Vec<String> = e
        .origin_servers
        .iter()
        .map(|&s| topology.server(s).name.clone())
        .collect();

    // 1. Add the origin servers to the connector's source servers (not for Edge connectors).
    if !connector.implicit {
        let names = origin_names.join(", ");
        out.push(Candidate {
            fix: Fix {
                description: format!("add {names} to the source servers of {}", connector.name),
                command: format!(
                    "Set-SendConnector {} -SourceTransportServers @{{Add={}}}",
                    ps_quote(&connector.name),
                    ps_list(&origin_names)
                ),
            },
            change: Change::AddSources(connector_id, e.origin_servers.clone()),
        });
    }

    // 2. A connector scoped to the origin site, sourced on its Mailbox servers, for the address
    // spaces and with the settings of the connector the mail leaves by today.
    let site_servers: Vec<ServerId> = topology.transport_servers_in(submission_site).collect();
    if !site_servers.is_empty() {
        let name = unique_name(topology, &format!("{site} to Internet (scoped)"));
        let mut c = connector.clone();
        c.name.clone_from(&name);
        c.source_servers.clone_from(&site_servers);
        c.scoped = true;
        c.implicit = false;
        c.origin = crate::model::Origin::default();
        let servers: Vec<&str> = site_servers
            .iter()
            .map(|&s| topology.server(s).name.as_str())
            .collect();
        let spaces = if c
            .address_spaces
            .iter()
            .all(|a| a.pattern == AddressPattern::Any)
        {
            String::new()
        } else {
            let shown: Vec<String> = c
                .address_spaces
                .iter()
                .map(|a| a.pattern.to_string())
                .collect();
            format!(" for {}", shown.join(", "))
        };
        out.push(Candidate {
            fix: Fix {
                description: format!(
                    "a send connector scoped to site {site}{spaces}, sourced on {}",
                    servers.join(", ")
                ),
                command: format!(
                    "New-SendConnector -Name {} -AddressSpaces {} -SourceTransportServers {} -IsScopedConnector $true{}",
                    ps_quote(&name),
                    address_spaces(&c),
                    ps_list(&servers),
                    copied_settings(&c)
                ),
            },
            change: Change::NewConnector(Box::new(c)),
        });
    }

    // 3. A connector for this domain that requires TLS itself (not for the "*" class), sending
    // from where the domain's mail leaves today: the source servers of every enabled, unscoped
    // connector that serves the domain most specifically (so that one connector fixes the
    // domain for every origin and moves no mail to another exit); for a scoped connector its
    // own servers, scoped alike; for an Edge subscription's connector, the site's Mailbox
    // servers. Its other settings are those of the connector the mail leaves by today.
    if e.recipient_domain != "*" {
        let name = unique_name(topology, &format!("TLS to {}", e.recipient_domain));
        let mut c = connector.clone();
        c.name.clone_from(&name);
        c.address_spaces = vec![AddressSpace {
            pattern: AddressPattern::Exact(e.recipient_domain.clone()),
            cost: 1,
        }];
        c.require_tls = true;
        c.tls_auth_level = None;
        c.tls_domain = None;
        c.ignore_starttls = false;
        c.domain_secure = false;
        c.implicit = false;
        c.origin = crate::model::Origin::default();
        if connector.implicit {
            // An Edge subscription's connector lives on the Edge; the new one on the site's servers.
            c.source_servers.clone_from(&site_servers);
        } else if !connector.scoped {
            // The connectors whose address space matches the domain most specifically: those
            // its mail leaves by (a `*` connector beside a partner connector does not).
            let specificity = |x: &SendConnector| {
                x.address_spaces
                    .iter()
                    .filter_map(|a| a.pattern.specificity(&e.recipient_domain))
                    .max()
            };
            let serving: Vec<&SendConnector> = topology
                .send_connectors
                .iter()
                .filter(|x| x.enabled && !x.implicit && !x.scoped)
                .collect();
            let best = serving.iter().filter_map(|x| specificity(x)).max();
            let mut sources: Vec<ServerId> = serving
                .iter()
                .filter(|x| best.is_some() && specificity(x) == best)
                .flat_map(|x| x.source_servers.iter().copied())
                .collect();
            sources.sort_by_key(|&s| name_key(&topology.server(s).name));
            sources.dedup();
            c.source_servers = sources;
        }
        let sources: Vec<&str> = c
            .source_servers
            .iter()
            .map(|&s| topology.server(s).name.as_str())
            .collect();
        let mut command = format!(
            "New-SendConnector -Name {} -AddressSpaces {} -SourceTransportServers {}",
            ps_quote(&name),
            address_spaces(&c),
            ps_list(&sources)
        );
        if c.scoped {
            command.push_str(" -IsScopedConnector $true");
        }
        command.push_str(&copied_settings(&c));
        out.push(Candidate {
            fix: Fix {
                description: format!(
                    "a send connector for {} with require_tls, so the connector itself enforces TLS (for all mail to {}, with or without the rule)",
                    e.recipient_domain, e.recipient_domain
                ),
                command,
            },
            change: Change::NewConnector(Box::new(c)),
        });
    }

    // 4. Outbound proxy through Front End Transport (the route's TLS settings travel, §3.8).
    if !connector.frontend_proxy && !connector.implicit && topology.profile.frontend_proxy.supported
    {
        out.push(Candidate {
            fix: Fix {
                description: format!(
                    "turn on frontend_proxy (outbound proxy through Front End Transport) on {}",
                    connector.name
                ),
                command: format!(
                    "Set-SendConnector {} -FrontendProxyEnabled $true",
                    ps_quote(&connector.name)
                ),
            },
            change: Change::FrontendProxy(connector_id),
        });
    }

    // 5. Another behaviour (a what-if, not a configuration change).
    for profile in ["exchange-fixed", "requiretls"] {
        if topology.profile.name == profile {
            continue;
        }
        if let Some(p) = crate::load::profile::builtin(profile) {
            out.push(Candidate {
                fix: Fix {
                    description: format!("what-if: profile {profile} (not a configuration change)"),
                    command: format!("profile: {profile}"),
                },
                change: Change::Profile(Box::new(p)),
            });
        }
    }
    out
}

/// `-AddressSpaces` of a connector: `'SMTP:*;1'`, `'SMTP:fabrikam.com;1','SMTP:*.com;5'`.
fn address_spaces(c: &SendConnector) -> String {
    let spaces: Vec<String> = c
        .address_spaces
        .iter()
        .map(|a| format!("SMTP:{};{}", a.pattern, a.cost))
        .collect();
    ps_list(&spaces)
}

/// The settings a new connector copies from the connector the mail leaves by today, as
/// New-SendConnector parameters (none at Exchange's defaults), so that the command creates the
/// connector tlsflow re-checked.
fn copied_settings(c: &SendConnector) -> String {
    let mut out = String::new();
    if c.require_tls {
        out.push_str(" -RequireTLS $true");
    }
    if let Some(level) = c.tls_auth_level {
        let level = match level {
            TlsLevel::None => "None",
            TlsLevel::EncryptionOnly => "EncryptionOnly",
            TlsLevel::CertificateValidation => "CertificateValidation",
            TlsLevel::DomainValidation => "DomainValidation",
        };
        let _ = write!(out, " -TlsAuthLevel {level}");
    }
    if let Some(domain) = &c.tls_domain {
        let _ = write!(out, " -TlsDomain {}", ps_quote(domain));
    }
    if c.ignore_starttls {
        out.push_str(" -IgnoreSTARTTLS $true");
    }
    if c.domain_secure {
        out.push_str(" -DomainSecureEnabled $true");
    }
    if !c.dns_routing {
        let _ = write!(
            out,
            " -DNSRoutingEnabled $false -SmartHosts {}",
            ps_list(&c.smart_hosts)
        );
    }
    if c.frontend_proxy {
        out.push_str(" -FrontendProxyEnabled $true");
    }
    if let Some(max) = c.max_message_size {
        let _ = write!(out, " -MaxMessageSize {}", ps_quote(&max.to_string()));
    }
    out
}

fn unique_name(topology: &Topology, base: &str) -> String {
    let taken = |n: &str| {
        topology
            .send_connectors
            .iter()
            .any(|c| name_key(&c.name) == name_key(n))
    };
    if !taken(base) {
        return base.to_owned();
    }
    (2..=topology.send_connectors.len() + 2)
        .map(|i| format!("{base} {i}"))
        .find(|n| !taken(n))
        .expect("a free name")
}

/// The (origin, domain) pairs whose mail without any TLS requirement reaches the remote host:
/// delivered, or refused there only because a connector now requires TLS (a policy choice the
/// fix states). Mail queued for a routing reason is not. What each pair's route read of the
/// connectors is indexed, so that a changed copy routes again only the pairs a change can move.
struct Deliverable {
    /// The deliverable pairs.
    pairs: Vec<(ServerId, String)>,
    reads: super::incremental::ReadIndex,
}

impl Deliverable {
    fn of(topology: &Topology, at: crate::model::Timestamp) -> Deliverable {
        let routed: Vec<((ServerId, String), bool, Vec<Read>)> = pairs(topology)
            .into_par_iter()
            .map(|(origin, domain)| {
                let (yes, reads) = crate::route::reads::recorded(|| {
                    delivers(topology, at, origin, &domain, &crate::model::Faults::none())
                });
                ((origin, domain), yes, reads)
            })
            .collect();
        let mut index = super::incremental::ReadIndex::builder();
        let mut pairs = Vec::new();
        for (pair, yes, reads) in routed {
            if yes {
                index.add(&reads, &pair.1, crate::model::Bytes(0));
                pairs.push(pair);
            }
        }
        Deliverable {
            pairs,
            reads: index.build(topology),
        }
    }

    /// Whether every pair deliverable in `before` (this) is in `after`, a copy changed as
    /// `scope` says. A pair whose route reads nothing the change touches is not routed again;
    /// with `by_class`, the others are routed once per origin class of `after` (its members
    /// route alike, [`super::origin_classes`]: what the check's own units rely on), else once
    /// per server (the whole re-check the incremental one is tested against).
    fn still(
        &self,
        before: &Topology,
        after: &Topology,
        scope: Scope,
        analysis: &Analysis,
        by_class: bool,
    ) -> bool {
        let at = analysis.options.at;
        let domains = after.domain_classes();
        let gone = self.pairs.iter().any(|(origin, domain)| {
            origin.index() >= after.servers.len()
                || !after.server(*origin).is_transport()
                || domains.binary_search(domain).is_err()
        });
        if gone {
            return false;
        }
        let changed = (scope == Scope::Connectors
            && after.send_connectors.len() >= before.send_connectors.len())
        .then(|| {
            let delta = super::incremental::Delta::new(before, after, None, 0, &analysis.rankings);
            self.reads.changed(&delta)
        });
        let mut to_route: Vec<(ServerId, &str)> = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(i, _)| changed.as_ref().is_none_or(|c| c[*i]))
            .map(|(_, (origin, domain))| (*origin, domain.as_str()))
            .collect();
        if by_class && !to_route.is_empty() {
            let mut rep = vec![None; after.servers.len()];
            for class in super::origin_classes(after) {
                for &s in &class {
                    rep[s.index()] = Some(class[0]);
                }
            }
            for (origin, _) in &mut to_route {
                *origin = rep[origin.index()].unwrap_or(*origin);
            }
            to_route.sort_unstable();
            to_route.dedup();
        }
        // One memo of connector selections per domain: the routes of different origins meet
        // on the same servers (the connector's), and selection does not depend on the origin.
        let mut memos: HashMap<&str, std::sync::Arc<crate::route::SelectionMemo>> = HashMap::new();
        for &(_, domain) in &to_route {
            memos
                .entry(domain)
                .or_insert_with(|| std::sync::Arc::new(crate::route::SelectionMemo::new(domain)));
        }
        to_route.par_iter().all(|&(origin, domain)| {
            let faults = crate::model::Faults::none().with_selections(memos[domain].clone());
            delivers(after, at, origin, domain, &faults)
        })
    }
}

/// Every (Transport service, domain class) of a topology.
fn pairs(topology: &Topology) -> Vec<(ServerId, String)> {
    let domains = topology.domain_classes();
    topology
        .servers_sorted_by_name()
        .filter(|&s| topology.server(s).is_transport())
        .flat_map(|s| domains.iter().map(move |d| (s, d.clone())))
        .collect()
}

/// Whether `origin`'s mail to `domain`, with no requirement, reaches the remote host.
fn delivers(
    topology: &Topology,
    at: crate::model::Timestamp,
    origin: ServerId,
    domain: &str,
    faults: &crate::model::Faults,
) -> bool {
    let request = crate::policy::Request {
        sender: crate::policy::Sender::Server(origin),
        sender_text: String::new(),
        recipient: format!("someone@{domain}"),
        subject: String::new(),
        size: crate::model::Bytes(0),
        at,
        assume_required: Some(TlsLevel::None),
        message_recipients: Vec::new(),
    };
    let Ok(e) = crate::policy::explain(topology, &request, faults) else {
        return false;
    };
    let refused_for_tls = e.external.as_ref().is_some_and(|(_, _, x)| {
        x.attempts
            .iter()
            .any(|a| a.failure == Some(crate::policy::AttemptFailure::TlsRequirementUnmet))
    });
    e.outcome == crate::policy::Outcome::Delivered || refused_for_tls
}

/// A PowerShell single-quoted string literal of `text`: nothing in it is expanded (`$(…)`,
/// `$var` and backticks stay text), and each quote character PowerShell ends such a string on —
/// `'` and the typographic `‘ ’ ‚ ‛` — is doubled. Every name tlsflow puts into a suggested
/// command goes through here, so pasting the command never runs what a name holds (issue 15:
/// a connector named `Internet $(…)` ran code inside double quotes).
fn ps_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A PowerShell array of single-quoted strings: `'a','b'`.
fn ps_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|i| ps_quote(i.as_ref()))
        .collect::<Vec<_>>()
        .join(",")
}
