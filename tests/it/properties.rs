//! Property tests (proptest) on generated organisations: routing against brute-force oracles
//! written here independently of the production code, invariants of the TLS policy, and hostile
//! input to the loader. `TLSFLOW_PROPTEST_CASES` raises the case count for deep runs (default 48).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::Config;

use tlsflow::load::{self, SourceFile};
use tlsflow::model::{Bytes, Faults, ServerId, SiteId, Topology};
use tlsflow::policy::{self, Request, Sender};
use tlsflow::sim::RecipientState as State;

fn config() -> Config {
    crate::support::proptest_config("proptest-regressions/properties.txt")
}

/// (address space, cost, source servers as (site, server index), scoped, frontend proxy, TLS
/// the connector requires: `None`, or `Some(tls_auth_level)` with `""` for plain `require_tls`).
type Connector = (
    String,
    u32,
    Vec<(usize, usize)>,
    bool,
    bool,
    Option<&'static str>,
);

/// The roles of one generated server: a Mailbox server runs the Transport service, a Front End
/// (Client Access) server the Front End Transport service; an Exchange 2013 server may hold
/// either or both (reference §1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Roles {
    Mailbox,
    MailboxFrontend,
    Frontend,
}

impl Roles {
    fn has_mailbox(self) -> bool {
        self != Self::Frontend
    }
}

/// A generated AD site: its servers (the first always holds the Mailbox role) and whether it
/// is a hub site.
#[derive(Clone, Debug)]
struct Site {
    servers: Vec<Roles>,
    hub: bool,
}

/// Transport rule predicates (conditions or exceptions); empty lists and `None` are absent.
#[derive(Clone, Debug, Default)]
struct Predicates {
    words: Vec<&'static str>,
    /// SentToScope: `Some(true)` in_organization, `Some(false)` not_in_organization.
    in_organization: Option<bool>,
    domains: Vec<&'static str>,
    from_sites: Vec<usize>,
}

impl Predicates {
    fn is_empty(&self) -> bool {
        self.words.is_empty()
            && self.in_organization.is_none()
            && self.domains.is_empty()
            && self.from_sites.is_empty()
    }
}

/// A generated transport rule, `R{k}` in file order.
#[derive(Clone, Debug)]
struct Rule {
    /// An explicit priority (unique), or `None`: the next free number in file order.
    priority: Option<u32>,
    audit: bool,
    conditions: Predicates,
    exceptions: Predicates,
    require_tls: bool,
}

/// A generated organisation, as the numbers that describe it.
#[derive(Clone, Debug)]
struct Org {
    sites: Vec<Site>,
    /// (site a, site b, cost, exchange cost).
    links: Vec<(usize, usize, u32, Option<u32>)>,
    connectors: Vec<Connector>,
    rules: Vec<Rule>,
    /// The subject of every test message (the rules match words in it).
    subject: &'static str,
    /// STARTTLS of fabrikam.com's MX and of every other domain's.
    fabrikam_starttls: &'static str,
    other_starttls: &'static str,
    /// Whether fabrikam.com's and every other domain's MX certificate chains to a trusted root.
    certificates_trusted: (bool, bool),
    /// The site an Edge server (EDGE1) is subscribed to, if any (reference §1.11).
    edge: Option<usize>,
}

fn predicates(n: usize) -> impl Strategy<Value = Predicates> {
    (
        proptest::collection::vec(prop::sample::select(vec!["secret", "budget"]), 0..=1),
        proptest::option::weighted(0.2, any::<bool>()),
        proptest::collection::vec(
            prop::sample::select(vec!["fabrikam.com", "other.example", "contoso.com"]),
            0..=1,
        ),
        proptest::collection::vec(0..n, 0..=1),
    )
        .prop_map(|(words, in_organization, domains, from_sites)| Predicates {
            words,
            in_organization,
            domains,
            from_sites,
        })
}

fn rules(n: usize) -> impl Strategy<Value = Vec<Rule>> {
    proptest::collection::vec(
        (
            proptest::option::weighted(0.5, 0u32..4),
            proptest::bool::weighted(0.15),
            predicates(n),
            proptest::option::weighted(0.3, predicates(n)),
            proptest::bool::weighted(0.85),
        )
            .prop_map(
                |(priority, audit, conditions, exceptions, require_tls)| Rule {
                    priority,
                    audit,
                    conditions,
                    exceptions: exceptions.unwrap_or_default(),
                    require_tls,
                },
            ),
        1..=3,
    )
    .prop_map(|mut rules| {
        // Each explicit priority once (the loader refuses a duplicate, CFG error).
        let mut used = BTreeSet::new();
        for r in &mut rules {
            if let Some(p) = r.priority
                && !used.insert(p)
            {
                r.priority = None;
            }
        }
        rules
    })
}

fn org(hubs: bool) -> impl Strategy<Value = Org> {
    (1usize..=10)
        .prop_flat_map(move |n| {
            let roles = || {
                prop::sample::select(vec![
                    Roles::Mailbox,
                    Roles::MailboxFrontend,
                    Roles::Frontend,
                ])
            };
            let sites = proptest::collection::vec(
                (
                    prop::sample::select(vec![Roles::Mailbox, Roles::MailboxFrontend]),
                    proptest::collection::vec(roles(), 0..=3),
                    any::<bool>().prop_map(move |h| h && hubs),
                )
                    .prop_map(|(first, more, hub)| Site {
                        servers: std::iter::once(first).chain(more).collect(),
                        hub,
                    }),
                n,
            );
            // Few distinct costs, so that equal-cost paths (and the tie-breaks) are common.
            let cost = || prop::sample::select(vec![10u32, 10, 20, 30]);
            let tree = proptest::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    cost(),
                    proptest::option::weighted(0.3, cost()),
                ),
                n - 1,
            );
            let extra = proptest::collection::vec((0..n, 0..n, cost()), 0..=3);
            let connectors = proptest::collection::vec(
                (
                    prop::sample::select(vec!["*", "fabrikam.com", "*.com"]),
                    1u32..=10,
                    proptest::collection::vec((0..n, 0usize..4), 1..=2),
                    proptest::bool::weighted(0.2),
                    proptest::bool::weighted(0.2),
                    proptest::option::weighted(
                        0.4,
                        prop::sample::select(vec!["", "encryption_only", "certificate_validation"]),
                    ),
                ),
                1..=3,
            );
            let starttls =
                || prop::sample::select(vec!["offered", "not_offered", "handshake_fails"]);
            (
                (sites, tree, extra, connectors),
                rules(n),
                prop::sample::select(vec!["Top secret", "Budget review", "Lunch"]),
                (starttls(), starttls()),
                (any::<bool>(), any::<bool>()),
                proptest::option::weighted(0.3, 0..n),
            )
        })
        .prop_map(
            |(
                (sites, tree, extra, connectors),
                rules,
                subject,
                (fabrikam_starttls, other_starttls),
                certificates_trusted,
                edge,
            )| {
                let mut links: Vec<(usize, usize, u32, Option<u32>)> = tree
                    .iter()
                    .enumerate()
                    .map(|(i, (parent, cost, ex))| (parent.index(i + 1), i + 1, *cost, *ex))
                    .collect();
                links.extend(
                    extra
                        .into_iter()
                        .filter(|(a, b, _)| a != b)
                        .map(|(a, b, c)| (a, b, c, None)),
                );
                let connectors = connectors
                    .into_iter()
                    .map(|(space, cost, sources, scoped, proxy, tls)| {
                        // Source servers are Mailbox servers (reference §1.2).
                        let sources = sources
                            .into_iter()
                            .map(|(s, i)| {
                                let mailboxes: Vec<usize> = (0..sites[s].servers.len())
                                    .filter(|&m| sites[s].servers[m].has_mailbox())
                                    .collect();
                                (s, mailboxes[i % mailboxes.len()])
                            })
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        (space.to_owned(), cost, sources, scoped, proxy, tls)
                    })
                    .collect();
                Org {
                    sites,
                    links,
                    connectors,
                    rules,
                    subject,
                    fabrikam_starttls,
                    other_starttls,
                    certificates_trusted,
                    edge,
                }
            },
        )
}

fn server_name(o: &Org, site: usize, index: usize) -> String {
    if o.sites[site].servers[index].has_mailbox() {
        format!("S{site}-MBX{index}")
    } else {
        format!("S{site}-CAS{index}")
    }
}

fn predicates_yaml(p: &Predicates) -> String {
    let mut parts = Vec::new();
    if !p.words.is_empty() {
        parts.push(format!(
            "subject_or_body_contains: [{}]",
            p.words.join(", ")
        ));
    }
    if let Some(inside) = p.in_organization {
        parts.push(format!(
            "sent_to_scope: {}",
            if inside {
                "in_organization"
            } else {
                "not_in_organization"
            }
        ));
    }
    if !p.domains.is_empty() {
        parts.push(format!("recipient_domain_is: [{}]", p.domains.join(", ")));
    }
    if !p.from_sites.is_empty() {
        let sites: Vec<String> = p.from_sites.iter().map(|s| format!("S{s}")).collect();
        parts.push(format!("from_site: [{}]", sites.join(", ")));
    }
    format!("{{{}}}", parts.join(", "))
}

fn yaml(o: &Org, profile: &str) -> String {
    let mut y = format!(
        "format: 1\norganization: Generated\nprofile: {profile}\naccepted_domains: [contoso.com]\nsites:\n"
    );
    for (i, site) in o.sites.iter().enumerate() {
        let _ = writeln!(y, "  - {{name: S{i}, hub: {}}}", site.hub);
    }
    y.push_str(if o.links.is_empty() {
        "site_links: []\n"
    } else {
        "site_links:\n"
    });
    for (k, (a, b, cost, ex)) in o.links.iter().enumerate() {
        let ex = ex.map_or_else(String::new, |e| format!(", exchange_cost: {e}"));
        let _ = writeln!(
            y,
            "  - {{name: L{k}, sites: [S{a}, S{b}], cost: {cost}{ex}}}"
        );
    }
    y.push_str("servers:\n");
    for (i, site) in o.sites.iter().enumerate() {
        for (m, roles) in site.servers.iter().enumerate() {
            let roles = match roles {
                Roles::Mailbox => "[mailbox]",
                Roles::MailboxFrontend => "[mailbox, frontend]",
                Roles::Frontend => "[frontend]",
            };
            let _ = writeln!(
                y,
                "  - {{name: {}, site: S{i}, roles: {roles}}}",
                server_name(o, i, m)
            );
        }
    }
    if let Some(k) = o.edge {
        let _ = writeln!(
            y,
            "  - {{name: EDGE1, roles: [edge], subscribed_site: S{k}}}"
        );
    }
    y.push_str("send_connectors:\n");
    for (k, (space, cost, sources, scoped, proxy, tls)) in o.connectors.iter().enumerate() {
        let sources: Vec<String> = sources.iter().map(|&(s, i)| server_name(o, s, i)).collect();
        let tls = match tls {
            None => String::new(),
            Some("") => ", require_tls: true".to_owned(),
            Some(level) => format!(", require_tls: true, tls_auth_level: {level}"),
        };
        let _ = writeln!(
            y,
            "  - {{name: C{k}, address_spaces: [\"SMTP:{space};{cost}\"], source_servers: [{}], scoped: {scoped}, frontend_proxy: {proxy}{tls}}}",
            sources.join(", ")
        );
    }
    y.push_str("transport_rules:\n");
    for (k, r) in o.rules.iter().enumerate() {
        let mut fields = vec![format!("name: R{k}")];
        if let Some(p) = r.priority {
            fields.push(format!("priority: {p}"));
        }
        if r.audit {
            fields.push("mode: audit".to_owned());
        }
        if !r.conditions.is_empty() {
            fields.push(format!("conditions: {}", predicates_yaml(&r.conditions)));
        }
        if !r.exceptions.is_empty() {
            fields.push(format!("exceptions: {}", predicates_yaml(&r.exceptions)));
        }
        fields.push(format!("actions: {{require_tls: {}}}", r.require_tls));
        let _ = writeln!(y, "  - {{{}}}", fields.join(", "));
    }
    y.push_str("mailboxes:\n  - {address: \"*@contoso.com\", server: S0-MBX0}\n");
    let _ = write!(
        y,
        "external_domains:\n  - {{domain: fabrikam.com, mx: [{{host: mx.fabrikam.com, starttls: {}, certificate: {{trusted: {}}}}}]}}\n  - {{domain: \"*\", mx: [{{host: mx.other.example, starttls: {}, certificate: {{trusted: {}}}}}]}}\n",
        o.fabrikam_starttls, o.certificates_trusted.0, o.other_starttls, o.certificates_trusted.1
    );
    y
}

/// Brute force, from the rules as generated (reference §3.7): the name of the rule that makes
/// this recipient require TLS — the enforced `require_tls` rule with the lowest priority
/// (explicit, or the next free number in file order) whose conditions all hold (each
/// condition's values ORed) and none of whose exceptions holds — or `None`.
fn oracle_requiring_rule(
    o: &Org,
    subject: &str,
    sender_site: usize,
    recipient_domain: &str,
) -> Option<String> {
    let internal = recipient_domain == "contoso.com";
    let results =
        |p: &Predicates| -> Vec<bool> {
            let mut r = Vec::new();
            if !p.words.is_empty() {
                r.push(p.words.iter().any(|w| subject.to_lowercase().contains(w)));
            }
            if let Some(inside) = p.in_organization {
                r.push(inside == internal);
            }
            if !p.domains.is_empty() {
                r.push(p.domains.iter().any(|d| {
                    recipient_domain == *d || recipient_domain.ends_with(&format!(".{d}"))
                }));
            }
            if !p.from_sites.is_empty() {
                r.push(p.from_sites.contains(&sender_site));
            }
            r
        };
    let mut used: BTreeSet<u32> = o.rules.iter().filter_map(|r| r.priority).collect();
    let mut next = 0;
    let mut ordered: Vec<(u32, usize)> = Vec::new();
    for (k, r) in o.rules.iter().enumerate() {
        let p = r.priority.unwrap_or_else(|| {
            while used.contains(&next) {
                next += 1;
            }
            used.insert(next);
            next
        });
        ordered.push((p, k));
    }
    ordered.sort_unstable();
    ordered.into_iter().find_map(|(_, k)| {
        let r = &o.rules[k];
        let applies = !r.audit
            && r.require_tls
            && results(&r.conditions).iter().all(|&b| b)
            && !results(&r.exceptions).iter().any(|&b| b);
        applies.then(|| format!("R{k}"))
    })
}

fn load_org(o: &Org, profile: &str) -> Topology {
    load_generated(&yaml(o, profile))
}

fn load_generated(text: &str) -> Topology {
    match load::topology_from_source(SourceFile {
        name: "generated.yaml".to_owned(),
        text: text.to_owned(),
        base_dir: None,
    }) {
        Ok(l) => l.topology,
        Err(f) => panic!(
            "a generated organisation must load:\n{text}\n{}",
            f.render()
        ),
    }
}

/// Brute force: every simple path from `a` to `b`, the best under Exchange's order (reference
/// §1.4): lowest cost, then fewest hops, then the lowest site name nearest the destination,
/// walking back.
fn oracle_path(t: &Topology, a: SiteId, b: SiteId) -> Option<(Vec<SiteId>, u64)> {
    let mut best: Option<(u64, usize, Vec<String>, Vec<SiteId>)> = None;
    let mut stack = vec![(vec![a], 0u64)];
    while let Some((path, cost)) = stack.pop() {
        let last = *path.last().expect("non-empty");
        if last == b {
            let names: Vec<String> = path
                .iter()
                .rev()
                .map(|&s| t.site(s).name.to_lowercase())
                .collect();
            let key = (cost, path.len() - 1, names, path.clone());
            if best
                .as_ref()
                .is_none_or(|k| (key.0, key.1, &key.2) < (k.0, k.1, &k.2))
            {
                best = Some(key);
            }
            continue;
        }
        for link in t.site_links.iter() {
            if !link.sites.contains(&last) {
                continue;
            }
            for &next in &link.sites {
                if next != last && !path.contains(&next) {
                    let mut p = path.clone();
                    p.push(next);
                    stack.push((p, cost + u64::from(link.exchange_cost.unwrap_or(link.cost))));
                }
            }
        }
    }
    best.map(|(cost, _, _, path)| (path, cost))
}

fn explain(
    t: &Topology,
    subject: &str,
    origin: ServerId,
    to: &str,
    faults: &Faults,
) -> policy::Explanation {
    let request = Request {
        sender: Sender::Server(origin),
        sender_text: String::new(),
        recipient: to.to_owned(),
        subject: subject.to_owned(),
        size: Bytes(1000),
        at: tlsflow::load::values::instant("2026-06-01T00:00:00Z").expect("instant"),
        assume_required: None,
        message_recipients: Vec::new(),
    };
    policy::explain(t, &request, faults).expect("a valid request")
}

fn origins(t: &Topology) -> Vec<ServerId> {
    t.servers_sorted_by_name()
        .filter(|&s| t.server(s).is_transport())
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// Property: the chosen site path equals the best of all simple paths under Exchange's order.
    #[test]
    fn least_cost_path_equals_the_brute_force_best(o in org(true)) {
        let t = load_org(&o, "exchange2013");
        for a in 0..t.sites.len() {
            for b in 0..t.sites.len() {
                let (a, b) = (SiteId::from_index(a), SiteId::from_index(b));
                let got = t.site_graph.least_cost_path(a, b).map(|p| (p.sites.clone(), p.cost));
                prop_assert_eq!(got, oracle_path(&t, a, b));
            }
        }
    }

    /// Property: the chosen connector is the best under the documented selection order
    /// (reference §2.1), computed here by brute force.
    #[test]
    fn chosen_connector_equals_the_documented_order(o in org(false)) {
        let t = load_org(&o, "exchange2013");
        for origin in origins(&t) {
            let here = t.server(origin).site.expect("site");
            for domain in ["fabrikam.com", "mail.other.com", "other.example"] {
                let mut candidates = Vec::new();
                for (i, c) in t.send_connectors.iter().enumerate() {
                    // An Edge server has no site: its EdgeSync connector belongs to the
                    // subscribed site (reference §1.11).
                    let sites: BTreeSet<SiteId> = c.source_servers.iter().filter_map(|&s| t.server(s).site.or(t.server(s).subscribed_site)).collect();
                    if c.scoped && !sites.contains(&here) {
                        continue;
                    }
                    let Some((spec, cost)) = c.address_spaces.iter().filter_map(|a| {
                        let p = a.pattern.to_string();
                        let spec = if p == "*" { Some((0, 0)) }
                            else if let Some(sfx) = p.strip_prefix("*.") { (domain == sfx || domain.ends_with(&format!(".{sfx}"))).then(|| (sfx.split('.').count(), 0)) }
                            else { (domain == p).then(|| (p.split('.').count(), 1)) };
                        spec.map(|s| (s, a.cost))
                    }).max_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1))) else { continue };
                    // The closest source site: least cost, then fewest hops (reference §1.4).
                    let closest = sites.iter().filter_map(|&s| oracle_path(&t, here, s).map(|p| (p.1, p.0.len() - 1))).min();
                    let Some((path_cost, hops)) = closest else { continue };
                    let proximity = if c.source_servers.contains(&origin) { 0 } else if sites.contains(&here) { 1 } else { 2 };
                    // Then fewest hops to the source server (local server, local site, site-link
                    // hops), then the name (reference §2.1 step 3.2).
                    candidates.push((std::cmp::Reverse(spec), path_cost + u64::from(cost), proximity, hops, c.name.to_lowercase(), i));
                }
                candidates.sort();
                let expected = candidates.first().map(|c| c.5);
                let got = match tlsflow::route::select_connector(&t, origin, domain, Bytes(1000), &Faults::none()) {
                    tlsflow::route::ConnectorChoice::Selected(s) => Some(s.connector.index()),
                    _ => None,
                };
                prop_assert_eq!(got, expected, "from {} to {}", t.server(origin).name, domain);
            }
        }
    }

}

proptest! {
    // Cheap (a route per origin and domain), and the certificate cases are rare: more cases.
    #![proptest_config(Config { cases: config().cases * 8, ..config() })]

    /// Property: under exchange2013 (no hub sites, no Edge), mail a rule requires (by the rules
    /// oracle) leaves in clear iff the rule's server is not a source server of the connector,
    /// the connector does not require TLS, and the MX offers no usable STARTTLS (the Front End
    /// proxy carries the requirement, so it never leaves in clear from a source server); a
    /// TLS-requiring connector delivers iff STARTTLS works and, under certificate_validation,
    /// the certificate is trusted.
    #[test]
    fn tls001_follows_the_profile_formula(o in org(false)) {
        let t = load_org(&o, "exchange2013");
        for origin in origins(&t) {
            let site = t.server(origin).site.expect("a Mailbox server has a site").index();
            for (to, starttls, trusted) in [("bob@fabrikam.com", o.fabrikam_starttls, o.certificates_trusted.0), ("bob@other.example", o.other_starttls, o.certificates_trusted.1)] {
                let e = explain(&t, o.subject, origin, to, &Faults::none());
                // Only routes that reach the Internet can leave in clear.
                let Some((connector, _, ext)) = &e.external else { continue };
                let c = t.connector(*connector);
                let required = oracle_requiring_rule(&o, o.subject, site, to.split('@').nth(1).expect("domain")).is_some();
                let expected = required && !c.source_servers.contains(&origin) && !c.require_tls && starttls != "offered";
                let in_clear = matches!(ext.result, policy::ExternalResult::Delivered { tls: tlsflow::model::tls::TlsAchieved::None, .. });
                let got = e.findings.iter().any(|f| f.code == tlsflow::model::Code::Tls001);
                prop_assert_eq!(got, in_clear && required, "TLS001 is exactly required mail in clear");
                prop_assert_eq!(got, expected, "{} -> {} via {}", t.server(origin).name, to, c.name);
                // Which TLS settings the external hop uses: the rule's level, carried from a
                // source server, overrides the connector's wholesale, even a stricter
                // TlsAuthLevel (reference §3.6); otherwise the connector's own (§3.2):
                // certificate_validation needs a certificate that chains to a trusted root.
                let delivered = matches!(ext.result, policy::ExternalResult::Delivered { .. });
                let carried = required && c.source_servers.contains(&origin);
                let offered = starttls == "offered";
                let certificate_validation = c.tls_auth_level == Some(tlsflow::model::tls::TlsLevel::CertificateValidation);
                let expected_delivered = match (carried, c.require_tls) {
                    (false, false) => true,
                    (false, true) if certificate_validation => offered && trusted,
                    _ => offered,
                };
                prop_assert_eq!(delivered, expected_delivered, "{} -> {} via {}: {:?}", t.server(origin).name, to, c.name, ext);
            }
        }
    }

}

proptest! {
    #![proptest_config(config())]

    /// Property: the rules require TLS for exactly the recipients the rules oracle says, set by
    /// the rule it names (priority order, conditions ANDed, exceptions veto, audit never applies).
    #[test]
    fn rules_require_tls_as_the_oracle_says(o in org(true)) {
        let t = load_org(&o, "exchange2013");
        for origin in origins(&t) {
            let site = t.server(origin).site.expect("a Mailbox server has a site").index();
            for subject in ["Top secret", "Budget review", "Lunch"] {
                for domain in ["fabrikam.com", "other.example", "contoso.com"] {
                    let e = explain(&t, subject, origin, &format!("bob@{domain}"), &Faults::none());
                    let got = e.rules.origin.map(|r| t.transport_rules[r.index()].name.clone());
                    prop_assert_eq!(&got, &oracle_requiring_rule(&o, subject, site, domain), "{} from {}: {}", subject, t.server(origin).name, domain);
                    prop_assert_eq!(got.is_some(), e.rules.required != tlsflow::model::tls::TlsLevel::None);
                }
            }
        }
    }

    /// Property: under exchange-fixed and requiretls no TLS001 ever occurs, under any single
    /// failure.
    #[test]
    fn no_tls001_when_the_requirement_travels(o in org(true)) {
        for profile in ["exchange-fixed", "requiretls"] {
            let t = load_org(&o, profile);
            let result = tlsflow::check::check(&t, &tlsflow::check::CheckOptions {
                failures_max: 1, at: tlsflow::load::values::instant("2026-06-01T00:00:00Z").expect("instant"), shard: None, no_pruning: false,
            }, &|_| {});
            prop_assert!(result.exposures.iter().all(|e| e.code != tlsflow::model::Code::Tls001), "{profile}: {:?}", result.exposures);
        }
    }

    /// Property: adding the origin server to the chosen connector's source servers never adds a
    /// TLS001; and a route never visits a server twice.
    #[test]
    fn adding_the_origin_as_a_source_server_never_adds_tls001(o in org(true)) {
        let t = load_org(&o, "exchange2013");
        for origin in origins(&t) {
            for to in ["bob@fabrikam.com", "bob@other.example"] {
                let before = explain(&t, o.subject, origin, to, &Faults::none());
                let mut seen = BTreeSet::from([origin]);
                for s in &before.steps {
                    prop_assert!(s.hop.from == s.hop.to || seen.insert(s.hop.to), "{} visited twice", t.server(s.hop.to).name);
                }
                let Some((connector, _, _)) = &before.external else { continue };
                // A Mailbox server cannot be a source server of an EdgeSync connector.
                if t.connector(*connector).implicit { continue; }
                let mut fixed = t.clone();
                fixed.send_connectors[connector.index()].source_servers.push(origin);
                let after = explain(&fixed, o.subject, origin, to, &Faults::none());
                let tls001 = |e: &policy::Explanation| e.findings.iter().any(|f| f.code == tlsflow::model::Code::Tls001);
                prop_assert!(!tls001(&after) || tls001(&before), "{} -> {to}", t.server(origin).name);
            }
        }
    }

    /// Property: check at K = 0 agrees with route for every origin and domain.
    #[test]
    fn check_at_k0_agrees_with_route(o in org(true)) {
        let t = load_org(&o, "exchange2013");
        let at = tlsflow::load::values::instant("2026-06-01T00:00:00Z").expect("instant");
        let result = tlsflow::check::check(&t, &tlsflow::check::CheckOptions { failures_max: 0, at, shard: None, no_pruning: false }, &|_| {});
        for origin in origins(&t) {
            for (to, class) in [("bob@fabrikam.com", "fabrikam.com"), (&*format!("bob@{}", tlsflow::model::OTHER_DOMAIN), "*")] {
                let e = explain(&t, o.subject, origin, to, &Faults::none());
                for f in e.findings.iter().filter(|f| f.code.as_str().starts_with("TLS")) {
                    prop_assert!(result.exposures.iter().any(|x| x.origin_servers.contains(&origin) && x.recipient_domain == class && x.code == f.code),
                        "route: {} {} -> {}; check disagrees", f.code, t.server(origin).name, to);
                }
            }
        }
    }

    /// Property: no byte string makes the loader panic; it answers quickly with a diagnostic.
    #[test]
    fn arbitrary_bytes_get_a_clean_error(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let start = std::time::Instant::now();
        match load::source_from_bytes("fuzz.yaml", &bytes, None) {
            Ok(source) => {
                let _ = load::topology_from_source(source);
            }
            Err(f) => prop_assert!(!f.diagnostics.is_empty()),
        }
        prop_assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    /// Property: a valid file, mutated (lines dropped, duplicated or swapped, characters
    /// replaced), loads or is refused with located diagnostics, never a panic.
    #[test]
    fn mutated_files_get_a_clean_answer(o in org(true), edits in proptest::collection::vec((0usize..200, 0usize..200, 0u8..4, any::<char>()), 1..6)) {
        let text = yaml(&o, "exchange2013");
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for (i, j, kind, c) in edits {
            let n = lines.len().max(1);
            let (i, j) = (i % n, j % n);
            match kind {
                0 if lines.len() > 1 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.insert(j, l); }
                2 => lines.swap(i, j),
                _ => {
                    let mut chars: Vec<char> = lines[i].chars().collect();
                    if !chars.is_empty() { let k = j % chars.len(); chars[k] = c; }
                    lines[i] = chars.into_iter().collect();
                }
            }
        }
        let mutated = lines.join("\n");
        let result = load::source_from_bytes("mutated.yaml", mutated.as_bytes(), None).and_then(load::topology_from_source);
        if let Err(f) = result {
            prop_assert!(!f.diagnostics.is_empty());
            prop_assert!(f.diagnostics.iter().any(|d| d.line > 0), "located: {:?}", f.diagnostics);
        }
    }
}

/// A message per origin server and domain, sent at time 0.
fn scenario_of(t: &Topology, subject: &str, seed: u64) -> tlsflow::model::scenario::Scenario {
    use tlsflow::model::scenario::{ExplicitMessage, HopLatency, Scenario, Variant};
    let mut messages = Vec::new();
    for (i, site) in t.sites.iter().enumerate() {
        let _ = site;
        let domain = format!("s{i}.contoso.com");
        for to in ["bob@fabrikam.com", "bob@other.example"] {
            messages.push(ExplicitMessage {
                at: tlsflow::model::Millis(0),
                from: format!("alice@{domain}"),
                to: vec![to.to_owned()],
                subject: subject.to_owned(),
                size: Bytes(1000),
                origin: tlsflow::model::Origin::default(),
            });
        }
    }
    Scenario {
        name: "generated".to_owned(),
        topology_file: "generated.yaml".to_owned(),
        seed,
        start: tlsflow::load::values::instant("2026-06-01T00:00:00Z").expect("instant"),
        duration: tlsflow::model::Millis::DAY.times(3),
        latency: HopLatency::default(),
        messages,
        workload: Vec::new(),
        events: Vec::new(),
        runs: vec![Variant {
            name: "baseline".to_owned(),
            topology: t.clone(),
        }],
        expect: std::collections::BTreeMap::new(),
    }
}

/// The generated organisation with one Mailbox server per site and a mailbox domain per site.
fn one_server_per_site(o: &Org) -> Topology {
    let mut o = o.clone();
    for s in &mut o.sites {
        s.servers.truncate(1);
    }
    for c in &mut o.connectors {
        for src in &mut c.2 {
            src.1 = 0;
        }
        c.2.dedup();
    }
    let mut text = yaml(&o, "exchange2013");
    let mut mailboxes = String::new();
    let mut domains = String::from("contoso.com");
    for i in 0..o.sites.len() {
        let _ = writeln!(
            mailboxes,
            "  - {{address: \"*@s{i}.contoso.com\", server: S{i}-MBX0}}"
        );
        let _ = write!(domains, ", s{i}.contoso.com");
    }
    text = text.replace(
        "mailboxes:\n  - {address: \"*@contoso.com\", server: S0-MBX0}\n",
        &format!("mailboxes:\n{mailboxes}"),
    );
    text = text.replace(
        "accepted_domains: [contoso.com]",
        &format!("accepted_domains: [{domains}]"),
    );
    load_generated(&text)
}

proptest! {
    #![proptest_config(config())]

    /// Property: on a fault-free run, every message's fate in the engine is the one `route`
    /// explains (clear text exactly where route finds TLS001; delivered, or NDR'd at expiry
    /// where route defers); every recipient ends in one state; the same seed gives the same
    /// result.
    #[test]
    fn simulate_agrees_with_route_on_a_fault_free_run(o in org(true)) {
        let t = one_server_per_site(&o);
        let scenario = scenario_of(&t, o.subject, 1);
        let options = tlsflow::sim::RunOptions { seed: 1, record_recipients: true };
        let run = tlsflow::sim::run(&scenario, 0, &options, &mut tlsflow::sim::NullSink);
        let again = tlsflow::sim::run(&scenario, 0, &options, &mut tlsflow::sim::NullSink);
        prop_assert_eq!(format!("{:?}", run.findings), format!("{:?}", again.findings), "same seed, same findings");
        let s = &run.summary;
        prop_assert_eq!(s.delivered.total() + s.ndr + s.queued, s.recipients);
        for m in &scenario.messages {
            let request = Request {
                sender: Sender::Address(m.from.clone()),
                sender_text: m.from.clone(),
                recipient: m.to[0].clone(),
                subject: m.subject.clone(),
                size: m.size,
                at: scenario.start,
                assume_required: None,
                message_recipients: Vec::new(),
            };
            let e = policy::explain(&t, &request, &Faults::none()).expect("explains");
            let routed_clear = e.findings.iter().any(|f| f.code == tlsflow::model::Code::Tls001);
            let simulated_clear = run.findings.iter().any(|f| f.code == tlsflow::model::Code::Tls001 && f.sender == m.from && f.recipient == m.to[0]);
            prop_assert_eq!(routed_clear, simulated_clear, "{} -> {}", m.from, m.to[0]);
            let outcome = run.recipients.iter().find(|r| r.sender == m.from && r.recipient == m.to[0]).expect("an outcome");
            if let (policy::Outcome::Deferred { .. }, State::Ndr { status }) = (&e.outcome, &outcome.state) {
                prop_assert!(status.contains("4.4.7"));
                // Expiry happens at message_expiration_timeout (the timer, not a retry).
                prop_assert_eq!(outcome.time_ms, t.transport_config.message_expiration_timeout.0);
            } else {
                let agrees = matches!(
                    (&e.outcome, &outcome.state),
                    (policy::Outcome::Delivered, State::Delivered { .. })
                        | (policy::Outcome::Ndr { .. } | policy::Outcome::Unreachable, State::Ndr { .. })
                );
                prop_assert!(agrees, "route says {:?}, the engine {:?} for {} -> {}", e.outcome, outcome.state, m.from, m.to[0]);
            }
        }
    }
}

/// A 10 MB file is refused before parsing, with a clear message, at once.
#[test]
fn a_ten_megabyte_file_is_refused_by_the_size_cap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("huge.yaml");
    let mut text = String::from("format: 1\nsites: [{name: HQ}]\n");
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(
            "# padding padding padding padding padding padding padding padding padding\n",
        );
    }
    std::fs::write(&path, &text).expect("write");
    let start = std::time::Instant::now();
    let failure = load::load_topology(&path).expect_err("refused");
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
    assert!(
        failure.diagnostics[0]
            .message
            .contains("at most 8388608 bytes"),
        "{}",
        failure.diagnostics[0].message
    );
}

/// One fault of a generated timeline: minute of the down event, kind (server, site, link,
/// connector, fabrikam.com's MX), index of the component, minutes until it comes back (`None`:
/// stays down).
type Fault = (u64, u8, usize, Option<u64>);

fn timeline() -> impl Strategy<Value = (Vec<u64>, Vec<Fault>)> {
    (
        // Submission minute of each generated message (within the first day).
        proptest::collection::vec(0u64..1440, 1..6),
        proptest::collection::vec(
            (
                0u64..2880,
                0u8..5,
                0usize..8,
                proptest::option::weighted(0.7, 1u64..1440),
            ),
            0..5,
        ),
    )
}

/// Records every tracking row's time and a digest of the whole log.
#[derive(Default)]
struct Recorder {
    times: Vec<u64>,
    log: String,
}

impl tlsflow::sim::TrackingSink for Recorder {
    fn row(&mut self, row: &tlsflow::sim::TrackingRow<'_>) {
        self.times.push(row.time_ms);
        let _ = writeln!(
            self.log,
            "{} {} {} {:?} {} {}",
            row.time_ms,
            row.server,
            row.event.as_str(),
            row.recipients,
            row.recipient_status,
            row.required_tls
        );
    }
}

proptest! {
    #![proptest_config(config())]

    /// Property: under a random timeline of outages and MX changes, time never runs backwards,
    /// every recipient ends in exactly one state, the same seed gives identical tracking logs,
    /// and a message that expires does so at `message_expiration_timeout` after submission,
    /// within one retry interval.
    #[test]
    fn a_fault_timeline_keeps_time_counts_and_expiry(o in org(true), (minutes, faults) in timeline()) {
        use tlsflow::model::Millis;
        use tlsflow::model::scenario::{Action, MxChange, TimedEvent};
        let t = one_server_per_site(&o);
        let mut scenario = scenario_of(&t, o.subject, 7);
        for (m, minute) in scenario.messages.iter_mut().zip(minutes.iter().cycle()) {
            m.at = Millis::MINUTE.times(*minute);
        }
        for &(at, kind, index, back) in &faults {
            let (down, up) = match kind {
                0 => {
                    let name = &t.servers[index % t.servers.len()].name;
                    (Action::Down(format!("server:{name}")), Action::Up(format!("server:{name}")))
                }
                1 => {
                    let name = &t.sites[index % t.sites.len()].name;
                    (Action::Down(format!("site:{name}")), Action::Up(format!("site:{name}")))
                }
                2 if !o.links.is_empty() => {
                    let k = index % o.links.len();
                    (Action::Down(format!("link:L{k}")), Action::Up(format!("link:L{k}")))
                }
                3 if !o.connectors.is_empty() => {
                    let k = index % o.connectors.len();
                    (Action::Down(format!("connector:C{k}")), Action::Up(format!("connector:C{k}")))
                }
                _ => {
                    let set = |available: bool| MxChange {
                        domain: "fabrikam.com".to_owned(),
                        mx: None,
                        starttls: Some(if index % 2 == 0 {
                            tlsflow::model::StartTls::NotOffered
                        } else {
                            tlsflow::model::StartTls::Offered
                        }),
                        available: Some(available),
                        certificate_trusted: None,
                        certificate_not_after: None,
                    };
                    (Action::Set(set(false)), Action::Set(set(true)))
                }
            };
            let origin = tlsflow::model::Origin::default();
            scenario.events.push(TimedEvent { at: Millis::MINUTE.times(at), action: down, origin: origin.clone() });
            if let Some(back) = back {
                scenario.events.push(TimedEvent { at: Millis::MINUTE.times(at + back), action: up, origin });
            }
        }
        scenario.events.sort_by_key(|e| e.at);
        let options = tlsflow::sim::RunOptions { seed: 7, record_recipients: true };
        let mut first = Recorder::default();
        let run = tlsflow::sim::run(&scenario, 0, &options, &mut first);
        let mut second = Recorder::default();
        let _ = tlsflow::sim::run(&scenario, 0, &options, &mut second);
        prop_assert_eq!(&first.log, &second.log, "same seed, same tracking log");
        prop_assert!(first.times.windows(2).all(|w| w[0] <= w[1]), "time ran backwards");
        let s = &run.summary;
        prop_assert_eq!(s.delivered.total() + s.ndr + s.queued, s.recipients);
        prop_assert_eq!(run.recipients.len() as u64, s.recipients, "one final state per recipient");
        let c = &t.transport_config;
        let expiry = c.message_expiration_timeout.0;
        let interval = c
            .transient_failure_retry_interval
            .0
            .max(c.outbound_connection_failure_retry_interval.0)
            .max(c.queue_glitch_retry_interval.0);
        for r in &run.recipients {
            if let State::Ndr { status } = &r.state
                && status.contains("4.4.7")
            {
                let after = r.time_ms - r.submitted_ms;
                prop_assert!(
                    (expiry..=expiry + interval).contains(&after),
                    "{} -> {} expired {after} ms after submission (timeout {expiry}, interval {interval})",
                    r.sender, r.recipient
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Property: the same seed gives the same bytes: two runs of generated traffic (Poisson
    /// arrivals, weighted domains) through a generated organisation, where Exchange's seeded
    /// choice of the first Transport service matters, write identical tracking logs.
    #[test]
    fn the_same_seed_gives_identical_tracking_logs(o in org(true), seed in any::<u64>()) {
        use tlsflow::model::scenario::{SenderPattern, Workload};
        let t = load_org(&o, "exchange2013");
        let mut scenario = scenario_of(&t, o.subject, seed);
        scenario.messages.clear();
        scenario.duration = tlsflow::model::Millis::HOUR.times(6);
        scenario.workload.push(Workload {
            from: SenderPattern::Address("*@contoso.com".to_owned()),
            to: vec![("fabrikam.com".to_owned(), 0.5), ("other.example".to_owned(), 0.5)],
            cc: Vec::new(),
            rate_per_hour: 60.0,
            subjects: vec![(o.subject.to_owned(), 1.0)],
            size_min: Bytes(1_000),
            size_max: Bytes(100_000),
            origin: tlsflow::model::Origin::default(),
        });
        let options = tlsflow::sim::RunOptions { seed, record_recipients: true };
        let mut first = Recorder::default();
        let a = tlsflow::sim::run(&scenario, 0, &options, &mut first);
        let mut second = Recorder::default();
        let b = tlsflow::sim::run(&scenario, 0, &options, &mut second);
        prop_assert!(a.summary.messages > 0);
        prop_assert_eq!(&first.log, &second.log);
        prop_assert_eq!(format!("{:?}", a.recipients), format!("{:?}", b.recipients));
    }
}

/// An edit of the Send connectors of a loaded topology (the incremental re-check of fixes,
/// issue 17): each changes what one kind of routing read sees.
#[derive(Clone, Debug)]
enum Edit {
    /// Add a Mailbox server to a connector's source servers.
    AddSource(prop::sample::Index, prop::sample::Index),
    /// Remove a connector's first source server (when it has another).
    RemoveSource(prop::sample::Index),
    FrontendProxy(prop::sample::Index),
    RequireTls(prop::sample::Index),
    Scoped(prop::sample::Index),
    Enabled(prop::sample::Index),
    Cost(prop::sample::Index, u32),
    /// A copy of a connector, sourced on one Mailbox server, for an address space, scoped or
    /// not, requiring TLS or not.
    NewConnector(
        prop::sample::Index,
        prop::sample::Index,
        &'static str,
        bool,
        bool,
    ),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let i = || any::<prop::sample::Index>();
    let edit = prop_oneof![
        (i(), i()).prop_map(|(c, s)| Edit::AddSource(c, s)),
        i().prop_map(Edit::RemoveSource),
        i().prop_map(Edit::FrontendProxy),
        i().prop_map(Edit::RequireTls),
        i().prop_map(Edit::Scoped),
        i().prop_map(Edit::Enabled),
        (i(), 1u32..=20).prop_map(|(c, cost)| Edit::Cost(c, cost)),
        (
            i(),
            i(),
            prop::sample::select(vec!["*", "fabrikam.com", "*.com", "other.example"]),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(c, s, space, scoped, tls)| Edit::NewConnector(c, s, space, scoped, tls)),
    ];
    proptest::collection::vec(edit, 1..=2)
}

/// `t` with the edits applied (to its connectors only).
fn edited(topology: &Topology, edits: &[Edit]) -> Topology {
    let mut out = topology.clone();
    let mailboxes = origins(topology);
    for edit in edits {
        let count = out.send_connectors.len();
        match edit {
            Edit::AddSource(c, s) => {
                let server = *s.get(&mailboxes);
                let c = &mut out.send_connectors[c.index(count)];
                if !c.source_servers.contains(&server) {
                    c.source_servers.push(server);
                }
            }
            Edit::RemoveSource(c) => {
                let c = &mut out.send_connectors[c.index(count)];
                if c.source_servers.len() > 1 {
                    c.source_servers.remove(0);
                }
            }
            Edit::FrontendProxy(c) => {
                let c = &mut out.send_connectors[c.index(count)];
                c.frontend_proxy = !c.frontend_proxy;
            }
            Edit::RequireTls(c) => {
                let c = &mut out.send_connectors[c.index(count)];
                c.require_tls = !c.require_tls;
            }
            Edit::Scoped(c) => {
                let c = &mut out.send_connectors[c.index(count)];
                c.scoped = !c.scoped;
            }
            Edit::Enabled(c) => {
                let c = &mut out.send_connectors[c.index(count)];
                c.enabled = !c.enabled;
            }
            Edit::Cost(c, cost) => {
                for a in &mut out.send_connectors[c.index(count)].address_spaces {
                    a.cost = *cost;
                }
            }
            Edit::NewConnector(c, s, space, scoped, tls) => {
                let mut new = out.send_connectors[c.index(count)].clone();
                new.name = format!("Added {count}");
                new.source_servers = vec![*s.get(&mailboxes)];
                new.address_spaces = vec![tlsflow::model::AddressSpace {
                    pattern: match *space {
                        "*" => tlsflow::model::AddressPattern::Any,
                        "*.com" => tlsflow::model::AddressPattern::WithSubdomains("com".to_owned()),
                        d => tlsflow::model::AddressPattern::Exact(d.to_owned()),
                    },
                    cost: 1,
                }];
                new.scoped = *scoped;
                new.require_tls = *tls;
                new.implicit = false;
                out.send_connectors.push(new);
            }
        }
    }
    out
}

fn check_options(k: usize) -> tlsflow::check::CheckOptions {
    tlsflow::check::CheckOptions {
        failures_max: k,
        at: tlsflow::load::values::instant("2026-06-01T00:00:00Z").expect("instant"),
        shard: None,
        no_pruning: false,
    }
}

/// The incremental re-check of an edited copy gives the whole check of that copy, exposure for
/// exposure and count for count; `forget` leaves out one kind of read (a mutation).
fn incremental_equals_full(
    o: &Org,
    edits: &[Edit],
    k: usize,
    forget: Option<tlsflow::check::Forget>,
) -> Result<(), TestCaseError> {
    let t = load_org(o, "exchange2013");
    let options = check_options(k);
    let analysis = tlsflow::check::analyse(&t, &options, &|_| {});
    let after = edited(&t, edits);
    let incremental = tlsflow::check::recheck_forgetting(
        &t,
        &analysis,
        &after,
        tlsflow::check::Scope::Connectors,
        forget,
    );
    let full = tlsflow::check::check(&after, &options, &|_| {});
    prop_assert_eq!(incremental, full, "edits {:?}", edits);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Property (issue 17): re-checking only the units whose routes read what an edit of the
    /// connectors changes gives exactly the whole check of the edited copy.
    #[test]
    fn incremental_recheck_equals_a_full_check(o in org(true), e in edits(), k in 0usize..=2) {
        incremental_equals_full(&o, &e, k, None)?;
    }

    /// Property: the fixes confirmed with incremental re-checks are those confirmed with whole
    /// checks of every candidate.
    #[test]
    fn fixes_confirmed_incrementally_are_those_confirmed_by_full_rechecks(o in org(true), k in 0usize..=1) {
        let t = load_org(&o, "exchange2013");
        let analysis = tlsflow::check::analyse(&t, &check_options(k), &|_| {});
        let by = |how| tlsflow::check::verified_fixes_by(&t, &analysis, &|_, _| {}, how).by_exposure;
        prop_assert_eq!(by(tlsflow::check::Recheck::Incremental), by(tlsflow::check::Recheck::Full));
    }
}

/// A runner for a mutation test: `cases` organisations from a fixed seed, no failure file, and
/// no shrinking (finding a failing case is the point; shrinking it would take minutes).
fn mutation_runner(cases: u32) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 0,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

/// The property above bites: an incremental re-check that forgets one kind of read (the fallback
/// to a connector's other source sites, or a change in what connector selection sees from a
/// server) gives a wrong answer on some organisation, and the property finds it.
#[test]
fn the_incremental_property_fails_when_a_kind_of_read_is_forgotten() {
    for forget in [
        tlsflow::check::Forget::Sources,
        tlsflow::check::Forget::Selection,
    ] {
        let mut runner = mutation_runner(2000);
        let found = runner.run(&(org(true), edits(), 0usize..=2), |(o, e, k)| {
            incremental_equals_full(&o, &e, k, Some(forget))
        });
        assert!(
            found.is_err(),
            "forgetting {forget:?} went unnoticed in 2,000 organisations"
        );
    }
}

/// Every exposure `check` finds, under any failure set, has a code that
/// `check::possible_codes` allows for its domain and requirement: the bound by which a fix's
/// verdict skips failure sets whose every possible exposure is already covered (issue 17).
fn codes_within(
    o: &Org,
    profile: &str,
    k: usize,
    bound: &dyn Fn(&Topology, &str, tlsflow::model::TlsLevel) -> Vec<tlsflow::model::Code>,
) -> Result<(), TestCaseError> {
    let t = load_org(o, profile);
    let options = check_options(k);
    for e in tlsflow::check::check(&t, &options, &|_| {}).exposures {
        let domain = if e.recipient_domain == "*" {
            tlsflow::model::OTHER_DOMAIN
        } else {
            e.recipient_domain.as_str()
        };
        prop_assert!(
            bound(&t, domain, e.required_tls).contains(&e.code),
            "{} to {domain} with {:?} under {:?}: {:?} not in the bound",
            profile,
            e.required_tls,
            e.failure_set,
            e.code
        );
    }
    Ok(())
}

fn any_profile() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["exchange2013", "exchange-fixed", "requiretls"])
}

proptest! {
    #![proptest_config(config())]

    /// Property: the codes a route can end in are within `possible_codes`.
    #[test]
    fn every_exposure_code_is_within_the_bound_the_fix_verdicts_skip_by(
        o in org(true),
        profile in any_profile(),
        k in 0usize..=2,
    ) {
        let at = check_options(k).at;
        codes_within(&o, profile, k, &|t, d, l| tlsflow::check::possible_codes(t, d, l, at))?;
    }
}

/// The bound's property bites: a bound that only knows TLS001 (as if a route under failure
/// could only end as it does today) fails it on some organisation.
#[test]
fn the_code_bound_property_fails_for_a_bound_of_tls001_alone() {
    let mut runner = mutation_runner(500);
    let found = runner.run(
        &(org(true), any_profile(), 0usize..=2),
        |(o, profile, k)| {
            codes_within(&o, profile, k, &|_, _, _| {
                vec![tlsflow::model::Code::Tls001]
            })
        },
    );
    assert!(found.is_err(), "a bound of TLS001 alone went unnoticed");
}

/// The fix verdicts bite too: a verdict that forgets that a unit not checked again still gives
/// today's exposures (so that a fix looks as if it removed an exposure some other origin server
/// still has), or that forgets a kind of read, or whose profile what-if forgets the exposures
/// that remain today, or that skips the units of the origins that proposed the fix, confirms
/// other fixes than whole re-checks on some organisation, and the property above finds it.
#[test]
fn the_fix_property_fails_when_the_verdict_forgets_something() {
    for forget in [
        tlsflow::check::Forget::TodayElsewhere,
        tlsflow::check::Forget::Sources,
        tlsflow::check::Forget::Selection,
        tlsflow::check::Forget::WhatIfToday,
        tlsflow::check::Forget::Proposers,
    ] {
        let mut runner = mutation_runner(2000);
        let found = runner.run(&(org(true), 0usize..=1), |(o, k)| {
            let t = load_org(&o, "exchange2013");
            let analysis = tlsflow::check::analyse(&t, &check_options(k), &|_| {});
            let by =
                |how| tlsflow::check::verified_fixes_by(&t, &analysis, &|_, _| {}, how).by_exposure;
            prop_assert_eq!(
                by(tlsflow::check::Recheck::Forgetting(forget)),
                by(tlsflow::check::Recheck::Full)
            );
            Ok(())
        });
        assert!(
            found.is_err(),
            "a verdict forgetting {forget:?} went unnoticed in 2,000 organisations"
        );
    }
}

fn generated_org() -> impl Strategy<Value = tlsflow::generate::GenerateOptions> {
    (
        4usize..=12,
        1usize..=3,
        0usize..=2,
        2usize..=4,
        any::<bool>(),
        any::<bool>(),
        0u64..1_000,
    )
        .prop_map(
            |(sites, servers_per_site, hub_sites, connector_sites, edge, partner, seed)| {
                tlsflow::generate::GenerateOptions {
                    sites,
                    servers_per_site,
                    hub_sites: hub_sites.min(sites / 2),
                    connector_sites: Some(connector_sites.min(sites)),
                    edge,
                    partner,
                    link_density: 0.3,
                    seed,
                    ..tlsflow::generate::GenerateOptions::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(config())]

    /// Property (issue 17): on generated organisations with several Internet connectors (where a
    /// changed connector is often ranked behind more than K others), every candidate fix's
    /// incremental re-check equals the whole check of its copy.
    #[test]
    fn incremental_recheck_of_every_candidate_equals_a_full_check(g in generated_org(), k in 0usize..=2) {
        let generated = tlsflow::generate::generate(&g).expect("generates");
        let t = load_generated(&generated.topology);
        let options = check_options(k);
        let analysis = tlsflow::check::analyse(&t, &options, &|_| {});
        for (fix, changed, scope) in tlsflow::check::candidate_copies(&t, &analysis) {
            prop_assert_eq!(
                tlsflow::check::recheck(&t, &analysis, &changed, scope),
                tlsflow::check::check(&changed, &options, &|_| {}),
                "{}", fix.description
            );
        }
    }
}

/// One operation on an event queue: schedule an event `dt` ms after the clock, pop, or pop only
/// what is due `dt` ms after the clock.
#[derive(Clone, Debug)]
enum QueueOp {
    Push(u64),
    /// Scheduled in a lane (issue 17): in its FIFO when not before the lane's last event, in
    /// the heap otherwise.
    PushInLane(usize, u64),
    Pop,
    PopUntil(u64),
}

fn queue_ops() -> impl Strategy<Value = Vec<QueueOp>> {
    // Small offsets make equal times common (FIFO ties); large ones cross many bits.
    let dt = prop_oneof![
        4 => 0u64..4,
        2 => 0u64..5_000,
        1 => (0u32..64).prop_map(|b| 1u64 << b),
        1 => Just(u64::MAX / 2),
    ];
    prop::collection::vec(
        prop_oneof![
            5 => dt.clone().prop_map(QueueOp::Push),
            3 => (0usize..3, dt.clone()).prop_map(|(lane, dt)| QueueOp::PushInLane(lane, dt)),
            3 => Just(QueueOp::Pop),
            1 => dt.prop_map(QueueOp::PopUntil),
        ],
        0..300,
    )
}

proptest! {
    #![proptest_config(config())]

    /// Property (issue 18): the engine's radix heap on the time alone pops exactly what a binary
    /// heap ordered by (time, insertion sequence) pops, with the same clock, for any sequence of
    /// pushes, pushes in lanes (issue 17), pops and bounded pops: time order, FIFO among equal
    /// times.
    #[test]
    fn the_event_queue_pops_in_time_then_insertion_order(ops in queue_ops()) {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut queue = tlsflow::sim::EventQueue::default();
        let mut oracle: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
        let (mut seq, mut now) = (0u64, 0u64);
        for op in ops {
            match op {
                QueueOp::Push(dt) => {
                    let t = now.saturating_add(dt);
                    queue.push(t, seq);
                    oracle.push(Reverse((t, seq)));
                    seq += 1;
                }
                QueueOp::PushInLane(lane, dt) => {
                    let t = now.saturating_add(dt);
                    queue.push_in_lane(lane, t, seq);
                    oracle.push(Reverse((t, seq)));
                    seq += 1;
                }
                QueueOp::Pop | QueueOp::PopUntil(_) => {
                    let limit = match op {
                        QueueOp::PopUntil(dt) => now.saturating_add(dt),
                        _ => u64::MAX,
                    };
                    let expected = match oracle.peek() {
                        Some(&Reverse((t, s))) if t <= limit => {
                            oracle.pop();
                            now = t;
                            Some((t, s))
                        }
                        _ => None,
                    };
                    prop_assert_eq!(queue.pop_until(limit), expected);
                }
            }
            prop_assert_eq!((queue.len(), queue.now_ms()), (oracle.len(), now));
        }
    }
}
