//! Configurations Exchange accepts but that are risky (SPEC §3, `CFG1xx` warnings). These need
//! routing to detect, so they run on a validated topology, after loading.

use std::collections::BTreeSet;

use crate::load::Diagnostic;
use crate::model::{Code, ConnectorId, Faults, Role, RuleMode, ServerId, SiteId, Topology};
use crate::policy::Carried;
use crate::route::{ConnectorChoice, Target, route, select_connector};

/// Every warning for `topology`, read from `file`.
pub fn lint(topology: &Topology, file: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    rule_sites_without_local_source(topology, file, &mut out);
    domain_secure(topology, file, &mut out);
    unused_connectors(topology, file, &mut out);
    frontend_without_service(topology, file, &mut out);
    out.sort_by_key(|d| (d.line, d.column, d.code));
    out
}

/// The Mailbox servers that may run the rules for a site's mail with no mailbox recipient
/// elsewhere: the submission candidates of every delivery group with servers in the site (for a
/// DAG stretched across sites, members in other sites too: reference §1.10), in name order.
fn origin_servers(topology: &Topology, site: SiteId) -> Vec<ServerId> {
    let mut out: BTreeSet<ServerId> = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for s in topology.transport_servers_in(site) {
        if groups.insert(topology.group_of(s)) {
            out.extend(crate::route::submission(topology, s, &[]).preferred());
        }
    }
    topology
        .servers_sorted_by_name()
        .filter(|s| out.contains(s))
        .collect()
}

/// The servers of [`origin_servers`] that stand for their origin class (`check::origin_classes`:
/// the others of the class route alike and come later in name order, so whatever they would
/// report, their representative reported first).
fn representatives(topology: &Topology, site: SiteId, reps: &BTreeSet<ServerId>) -> Vec<ServerId> {
    origin_servers(topology, site)
        .into_iter()
        .filter(|s| reps.contains(s))
        .collect()
}

fn class_representatives(topology: &Topology) -> BTreeSet<ServerId> {
    crate::check::origin_classes(topology)
        .iter()
        .map(|class| class[0])
        .collect()
}

/// CFG101: a require-TLS rule can match mail from a site whose route to the Internet drops the
/// requirement under the profile (the defect, reference §3.9).
fn rule_sites_without_local_source(topology: &Topology, file: &str, out: &mut Vec<Diagnostic>) {
    let mut reported: BTreeSet<(SiteId, ConnectorId)> = BTreeSet::new();
    let reps = class_representatives(topology);
    for rule in topology.transport_rules.iter() {
        if !rule.actions.require_tls || rule.mode != RuleMode::Enforce {
            continue;
        }
        let domains: Vec<String> = if rule.conditions.recipient_domain_is.is_empty() {
            topology.domain_classes()
        } else {
            rule.conditions.recipient_domain_is.clone()
        };
        for (i, site) in topology.sites.iter().enumerate() {
            let site_id = SiteId::from_index(i);
            for &origin in &representatives(topology, site_id, &reps) {
                // The same test as `check`: conditions, scope and every exception.
                for domain in domains.iter().filter(|d| {
                    crate::check::rule_can_match(rule, site_id, d, topology.is_internal_domain(d))
                }) {
                    let r = route(
                        topology,
                        origin,
                        &Target::External(domain.clone()),
                        crate::model::Bytes(0),
                        &Faults::none(),
                    );
                    let Some(selection) = &r.selection else {
                        continue;
                    };
                    if connector_enforces(topology, selection.connector, domain) {
                        continue;
                    }
                    if topology.server(origin).is_exchange2010() {
                        // The rule never runs there at all (SPEC §5.1 "Version coexistence").
                        if reported.insert((site_id, selection.connector)) {
                            out.push(
                                Diagnostic::at_origin(
                                    Code::Cfg101,
                                    file,
                                    &site.origin,
                                    format!(
                                        "rule \"{}\" requires TLS for mail from site {}, but its Exchange 2010 mailboxes are categorized by {}, an Exchange 2010 Hub Transport that never runs rules made with Exchange 2013 or later: the requirement is never set [evidence: documented]",
                                        rule.name,
                                        site.name,
                                        topology.server(origin).name
                                    ),
                                )
                                .hint(format!(
                                    "move the mailboxes of {} to Exchange 2013 or later, or give the domains that need TLS a connector with require_tls (its own setting holds whoever runs the rules)",
                                    topology.server(origin).name
                                )),
                            );
                        }
                        continue;
                    }
                    let mut level = crate::model::TlsLevel::EncryptionOnly;
                    let mut drop = None;
                    for hop in &r.hops {
                        let c = Carried::across(topology, hop, level);
                        if c.dropped && drop.is_none() {
                            drop = Some((hop.clone(), c.rule.map(|r| r.evidence)));
                        }
                        level = c.after;
                    }
                    let Some((hop, evidence)) = drop else {
                        continue;
                    };
                    if !reported.insert((site_id, selection.connector)) {
                        continue;
                    }
                    let connector = topology.connector(selection.connector);
                    let ev = evidence.map_or("", |e| e.as_str());
                    out.push(
                        Diagnostic::at_origin(
                            Code::Cfg101,
                            file,
                            &site.origin,
                            format!(
                                "rule \"{}\" requires TLS for mail from site {}, but that mail leaves through `{}` via {} -> {} ({}), where profile {} drops the requirement [evidence: {ev}]",
                                rule.name,
                                site.name,
                                connector.name,
                                topology.server(hop.from).name,
                                topology.server(hop.to).name,
                                hop.kind.as_str(),
                                topology.profile.shown_name()
                            ),
                        )
                        .hint(if connector.implicit {
                            format!(
                                "the Edge cannot apply the rule's requirement: send rule-matched mail from {} through a Send connector sourced on its Mailbox servers, with require_tls for the domains that need it",
                                site.name
                            )
                        } else {
                            let missing: Vec<&str> = origin_servers(topology, site_id)
                                .into_iter()
                                .filter(|s| !connector.source_servers.contains(s))
                                .map(|s| topology.server(s).name.as_str())
                                .collect();
                            format!(
                                "add {} to the source servers of `{}`, or give site {} its own connector with require_tls for the domains that need it",
                                missing.join(", "),
                                connector.name,
                                site.name
                            )
                        }),
                    );
                }
            }
        }
    }
}

/// Whether the connector itself enforces TLS for `domain` (RequireTLS, or Domain Secure that
/// no Front End proxy breaks), so that losing the rule's requirement changes nothing.
fn connector_enforces(topology: &Topology, connector: ConnectorId, domain: &str) -> bool {
    let c = topology.connector(connector);
    let secure_partner = topology
        .transport_config
        .tls_send_domain_secure_list
        .iter()
        .any(|d| d == domain);
    c.require_tls
        || (c.domain_secure_effective()
            && secure_partner
            && (!c.frontend_proxy || topology.profile.domain_secure_through_frontend.supported))
}

/// CFG102 and CFG107: Domain Secure partners reached through a Front End proxy connector, or
/// through no Domain Secure connector at all.
fn domain_secure(topology: &Topology, file: &str, out: &mut Vec<Diagnostic>) {
    let Some(config_origin) = topology.sites.first().map(|s| s.origin.clone()) else {
        return;
    };
    let reps = class_representatives(topology);
    for domain in &topology.transport_config.tls_send_domain_secure_list {
        let mut via_proxy = BTreeSet::new();
        let mut secure = false;
        for (i, _) in topology.sites.iter().enumerate() {
            for origin in representatives(topology, SiteId::from_index(i), &reps) {
                if let ConnectorChoice::Selected(s) = select_connector(
                    topology,
                    origin,
                    domain,
                    crate::model::Bytes(0),
                    &Faults::none(),
                ) {
                    let c = topology.connector(s.connector);
                    secure |= c.domain_secure_effective();
                    if c.domain_secure_effective()
                        && c.frontend_proxy
                        && !topology.profile.domain_secure_through_frontend.supported
                    {
                        via_proxy.insert(s.connector);
                    }
                }
            }
        }
        for c in via_proxy {
            let connector = topology.connector(c);
            out.push(
                Diagnostic::at_origin(
                    Code::Cfg102,
                    file,
                    &connector.origin,
                    format!("Domain Secure partner {domain} is sent through `{}`, which proxies through Front End Transport: Domain Secure does not survive the proxy", connector.name),
                )
                .hint("turn off frontend_proxy on this connector (docs/evidence.md#domain-security)"),
            );
        }
        if !secure {
            out.push(
                Diagnostic::at_origin(
                    Code::Cfg107,
                    file,
                    &crate::model::Origin { yaml_path: "transport_config.tls_send_domain_secure_list".to_owned(), ..config_origin.clone() },
                    format!("{domain} is on tls_send_domain_secure_list, but no site selects a Domain Secure connector for it"),
                )
                .hint(format!("add a send connector with address space {domain} and domain_secure: true")),
            );
        }
    }
}

/// CFG103: an enabled connector that no Transport service ever selects, for any domain.
fn unused_connectors(topology: &Topology, file: &str, out: &mut Vec<Diagnostic>) {
    let domains = topology.domain_classes();
    let mut used: BTreeSet<ConnectorId> = BTreeSet::new();
    // Members of an origin class select alike: their representative stands for them.
    for server in class_representatives(topology) {
        for domain in &domains {
            if let ConnectorChoice::Selected(s) = select_connector(
                topology,
                server,
                domain,
                crate::model::Bytes(0),
                &Faults::none(),
            ) {
                used.insert(s.connector);
            }
        }
    }
    for (i, c) in topology.send_connectors.iter().enumerate() {
        if !c.enabled || used.contains(&ConnectorId::from_index(i)) {
            continue;
        }
        let why = if c.scoped {
            "it is scoped to its source servers' sites, and a better connector wins there"
        } else {
            "a more specific or cheaper connector always wins"
        };
        out.push(
            Diagnostic::at_origin(
                Code::Cfg103,
                file,
                &c.origin,
                format!("send connector `{}` is never selected: {why}", c.name),
            )
            .hint("check its address spaces, costs and scope; remove it if it is not needed"),
        );
    }
}

/// CFG106: a Front End proxy connector whose source servers' sites have no Front End service.
fn frontend_without_service(topology: &Topology, file: &str, out: &mut Vec<Diagnostic>) {
    for c in topology.send_connectors.iter().filter(|c| c.frontend_proxy) {
        for &s in &c.source_servers {
            let site = topology.server(s).site;
            let has_fet = topology
                .servers
                .iter()
                .any(|x| x.site == site && x.has_role(Role::Frontend));
            if !has_fet {
                let site_name = site.map_or("?", |x| topology.site(x).name.as_str());
                out.push(
                    Diagnostic::at_origin(
                        Code::Cfg106,
                        file,
                        &c.origin,
                        format!("`{}` proxies through Front End Transport, but site {site_name} of its source server {} has no Front End service", c.name, topology.server(s).name),
                    )
                    .hint("add the frontend role to a server of that site, or turn off frontend_proxy"),
                );
            }
        }
    }
}
