//! Re-verified remediation (issue 4): for an exposure, the fixes an Exchange architect would try,
//! each applied to a copy of the topology and re-checked; only fixes that remove the exposure
//! and add no other exposure are reported.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    AddressPattern, AddressSpace, Component, ServerId, TlsLevel, Topology, name_key,
};

use super::{CheckOptions, CheckResult, Exposure, OriginKey, check};

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

/// How many distinct candidate fixes are re-checked, at most. Each re-check is a whole `check`
/// of a changed copy at the same K (2.4 s at K = 2 on 200 sites / 1,000 servers), and a large
/// organisation proposes hundreds (a candidate per exposed site): past this budget, exposures
/// are marked "fixes not re-checked" rather than the run taking an hour. The shipped
/// topologies need far fewer.
pub const RECHECK_BUDGET: usize = 24;

/// The re-checked fixes of a check's exposures.
#[derive(Clone, Debug, Default)]
pub struct VerifiedFixes {
    /// Confirmed fixes, by exposure index in `baseline.exposures`.
    pub by_exposure: BTreeMap<usize, Vec<Fix>>,
    /// Exposures whose candidates were not all re-checked: the budget was spent.
    pub unchecked: BTreeSet<usize>,
}

/// For every exposure with an empty failure set (today's configuration), the candidate fixes
/// that the re-check confirms, in the order of the exposures, within `RECHECK_BUDGET`
/// re-checks.
///
/// A fix is confirmed when, re-checked with the same K on the changed copy: the exposure is gone
/// with no failure; every remaining exposure was already there before with a subset of its
/// failure set (a fix may fail when its own new components fail, as long as that only brings back
/// an exposure that exists today); and all mail that was deliverable without a requirement
/// still is (a fix that blocks all mail is no fix).
pub fn verified_fixes(
    topology: &Topology,
    options: &CheckOptions,
    baseline: &CheckResult,
) -> VerifiedFixes {
    verified_fixes_observed(topology, options, baseline, &|_| {})
}

/// How many exposures [`verified_fixes`] looks at: those with no failure.
pub fn exposures_to_fix(baseline: &CheckResult) -> u64 {
    baseline
        .exposures
        .iter()
        .filter(|e| e.failure_set.is_empty())
        .count() as u64
}

/// [`verified_fixes`], calling `progress` with the number of exposures done (of
/// [`exposures_to_fix`]) after each, for a progress bar.
pub fn verified_fixes_observed(
    topology: &Topology,
    options: &CheckOptions,
    baseline: &CheckResult,
    progress: &dyn Fn(u64),
) -> VerifiedFixes {
    let before = &baseline.exposures;
    let mut done = 0;
    let deliverable_before = deliverable(topology, options);
    // Each candidate is re-checked once, however many exposures propose it.
    let mut rechecked: BTreeMap<String, bool> = BTreeMap::new();
    let mut removed: BTreeMap<String, BTreeSet<Key>> = BTreeMap::new();
    let mut out = VerifiedFixes::default();
    let options = CheckOptions {
        shard: None,
        ..options.clone()
    };
    for (i, e) in before.iter().enumerate() {
        if !e.failure_set.is_empty() {
            continue;
        }
        let mut good = Vec::new();
        for (fix, changed) in candidates(topology, e) {
            if !rechecked.contains_key(&fix.description) && rechecked.len() >= RECHECK_BUDGET {
                out.unchecked.insert(i);
                continue;
            }
            let ok = *rechecked.entry(fix.description.clone()).or_insert_with(|| {
                let after = check(&changed, &options, &|_| {}).exposures;
                let no_worse = after.iter().all(|a| {
                    before.iter().any(|b| {
                        (b.origin_key(), &b.recipient_domain, b.required_tls, b.code)
                            == (a.origin_key(), &a.recipient_domain, a.required_tls, a.code)
                            && b.failure_set.iter().all(|c| a.failure_set.contains(c))
                    })
                });
                let still_delivers = deliverable_before.is_subset(&deliverable(&changed, &options));
                removed.insert(fix.description.clone(), after.iter().map(key).collect());
                no_worse && still_delivers
            });
            let removes = !removed[&fix.description].contains(&key(e));
            if ok && removes {
                good.push(fix);
            }
        }
        if !good.is_empty() {
            out.by_exposure.insert(i, good);
        }
        done += 1;
        progress(done);
    }
    out
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
        if whole_fixes.unchecked.contains(&j) {
            out.unchecked.insert(i);
        }
    }
    out
}

/// The fixes worth trying for an exposure, each with the changed topology.
fn candidates(topology: &Topology, e: &Exposure) -> Vec<(Fix, Topology)> {
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
        let mut t = topology.clone();
        let c = &mut t.send_connectors[connector_id.index()];
        for &s in &e.origin_servers {
            if !c.source_servers.contains(&s) {
                c.source_servers.push(s);
            }
        }
        let names = origin_names.join(", ");
        out.push((
            Fix {
                description: format!("add {names} to the source servers of {}", connector.name),
                command: format!(
                    "Set-SendConnector {} -SourceTransportServers @{{Add={}}}",
                    ps_quote(&connector.name),
                    ps_list(&origin_names)
                ),
            },
            t,
        ));
    }

    // 2. A connector scoped to the origin site, sourced on its Mailbox servers.
    let site_servers: Vec<ServerId> = topology.transport_servers_in(submission_site).collect();
    if !site_servers.is_empty() {
        let mut t = topology.clone();
        let name = unique_name(topology, &format!("{site} to Internet (scoped)"));
        let mut c = connector.clone();
        c.name.clone_from(&name);
        c.source_servers.clone_from(&site_servers);
        c.scoped = true;
        c.implicit = false;
        if c.address_spaces
            .iter()
            .all(|a| a.pattern == AddressPattern::Any)
            && connector.implicit
        {
            c.address_spaces = vec![AddressSpace {
                pattern: AddressPattern::Any,
                cost: 1,
            }];
        }
        t.send_connectors.push(c);
        let servers: Vec<&str> = site_servers
            .iter()
            .map(|&s| topology.server(s).name.as_str())
            .collect();
        out.push((
            Fix {
                description: format!("a send connector scoped to site {site}, sourced on {}", servers.join(", ")),
                command: format!(
                    "New-SendConnector -Name {} -AddressSpaces 'SMTP:*;1' -SourceTransportServers {} -IsScopedConnector $true",
                    ps_quote(&name),
                    ps_list(&servers)
                ),
            },
            t,
        ));
    }

    // 3. A connector for this domain that requires TLS itself (not for the "*" class).
    if e.recipient_domain != "*" {
        let mut t = topology.clone();
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
        if connector.implicit {
            // An Edge subscription's connector lives on the Edge; the new one on the site's servers.
            c.source_servers.clone_from(&site_servers);
        }
        let sources: Vec<&str> = c
            .source_servers
            .iter()
            .map(|&s| topology.server(s).name.as_str())
            .collect();
        let command = format!(
            "New-SendConnector -Name {} -AddressSpaces {} -SourceTransportServers {} -RequireTLS $true",
            ps_quote(&name),
            ps_quote(&format!("SMTP:{};1", e.recipient_domain)),
            ps_list(&sources)
        );
        t.send_connectors.push(c);
        out.push((
            Fix {
                description: format!(
                    "a send connector for {} with require_tls, so the connector itself enforces TLS (for all mail to {}, with or without the rule)",
                    e.recipient_domain, e.recipient_domain
                ),
                command,
            },
            t,
        ));
    }

    // 4. Outbound proxy through Front End Transport (the route's TLS settings travel, §3.8).
    if !connector.frontend_proxy && !connector.implicit && topology.profile.frontend_proxy.supported
    {
        let mut t = topology.clone();
        t.send_connectors[connector_id.index()].frontend_proxy = true;
        out.push((
            Fix {
                description: format!(
                    "turn on frontend_proxy (outbound proxy through Front End Transport) on {}",
                    connector.name
                ),
                command: format!(
                    "Set-SendConnector {} -FrontendProxyEnabled $true",
                    ps_quote(&connector.name)
                ),
            },
            t,
        ));
    }

    // 5. Another behaviour (a what-if, not a configuration change).
    for profile in ["exchange-fixed", "requiretls"] {
        if topology.profile.name == profile {
            continue;
        }
        if let Some(p) = crate::load::profile::builtin(profile) {
            let mut t = topology.clone();
            t.profile = p;
            out.push((
                Fix {
                    description: format!("what-if: profile {profile} (not a configuration change)"),
                    command: format!("profile: {profile}"),
                },
                t,
            ));
        }
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
/// fix states). Mail queued for a routing reason is not.
fn deliverable(topology: &Topology, options: &CheckOptions) -> BTreeSet<(ServerId, String)> {
    let mut out = BTreeSet::new();
    for origin in topology
        .servers_sorted_by_name()
        .filter(|&s| topology.server(s).is_transport())
    {
        for domain in topology.domain_classes() {
            let request = crate::policy::Request {
                sender: crate::policy::Sender::Server(origin),
                sender_text: String::new(),
                recipient: format!("someone@{domain}"),
                subject: String::new(),
                size: crate::model::Bytes(0),
                at: options.at,
                assume_required: Some(TlsLevel::None),
                message_recipients: Vec::new(),
            };
            let faults = crate::model::Faults::none();
            if let Ok(e) = crate::policy::explain(topology, &request, &faults) {
                let refused_for_tls = e.external.as_ref().is_some_and(|(_, _, x)| {
                    x.attempts.iter().any(|a| {
                        a.failure == Some(crate::policy::AttemptFailure::TlsRequirementUnmet)
                    })
                });
                if e.outcome == crate::policy::Outcome::Delivered || refused_for_tls {
                    out.insert((origin, domain));
                }
            }
        }
    }
    out
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
