//! The exhaustive check: hand-computed exposures at K = 0, 1, 2; pruning that changes nothing;
//! check at K = 0 agreeing with `route`; shards that merge into the unsharded report; diff.

use tlsflow::check::{self, CheckOptions, Shard};
use tlsflow::model::fault::Named;
use tlsflow::report::check::check_report;

use crate::support::{at, data, load, repo};

fn options(k: usize) -> CheckOptions {
    CheckOptions {
        failures_max: k,
        at: at(),
        shard: None,
        no_pruning: false,
    }
}

/// One line per exposure: `ORIGIN -> DOMAIN required LEVEL CODE [FAILURES]`.
fn lines(topology: &tlsflow::model::Topology, k: usize) -> Vec<String> {
    let result = check::check(topology, &options(k), &|_| {});
    result
        .exposures
        .iter()
        .map(|e| {
            let failures: Vec<String> = e
                .failure_set
                .iter()
                .map(|&c| Named(topology, c).to_string())
                .collect();
            format!(
                "{} -> {} required {} {} [{}]",
                e.origin_text(topology),
                e.recipient_domain,
                e.required_tls,
                e.code,
                failures.join(", ")
            )
        })
        .collect()
}

/// Worked by hand: Branch has no connector, so its rules' requirement is lost on the relay to
/// HQ-MBX1; HQ mail that copies a Branch mailbox is submitted in Branch (reference §1.10) and
/// fares the same; Branch mail that copies an HQ mailbox runs its rules on HQ-MBX1, a source
/// server, and is safe. Fabrikam's two connectors enforce TLS themselves until both are
/// disabled (K = 2).
#[test]
fn hand_computed_exposures_at_k_0_1_2() {
    let t = load(&data("check/two-enforcing-connectors.yaml"));
    let today = [
        "Branch -> * required encryption_only TLS003 []",
        "HQ mail that also goes to a mailbox in Branch -> * required encryption_only TLS003 []",
    ];
    assert_eq!(lines(&t, 0), today);
    assert_eq!(lines(&t, 1), today, "no single failure exposes more");
    assert_eq!(
        lines(&t, 2),
        [
            "Branch -> fabrikam.com required encryption_only TLS001 [connector:Fabrikam A, connector:Fabrikam B]",
            "HQ mail that also goes to a mailbox in Branch -> fabrikam.com required encryption_only TLS001 [connector:Fabrikam A, connector:Fabrikam B]",
            today[0],
            today[1],
        ],
        "both enforcing connectors disabled: the minimal failure set"
    );
}

#[test]
fn the_defect_is_found_with_its_fixes_re_checked() {
    let t = load(&repo("scenarios/topologies/contoso-cross-site.yaml"));
    let analysis = check::analyse(&t, &options(1), &|_| {});
    let fixes = check::verified_fixes(&t, &analysis);
    let result = analysis.result;
    let report = check_report(
        &t,
        "contoso-cross-site.yaml",
        "2026-06-01T00:00:00Z".to_owned(),
        &result,
        &fixes,
        None,
    );
    let tls001 = report
        .exposures
        .iter()
        .find(|e| e.code.as_str() == "TLS001")
        .expect("the defect");
    assert_eq!(
        (
            tls001.origin_site.as_str(),
            tls001.recipient_domain.as_str()
        ),
        ("Branch", "fabrikam.com")
    );
    let fixes: Vec<&str> = tls001
        .fixes
        .iter()
        .map(|f| f.description.as_str())
        .collect();
    assert!(
        fixes.contains(&"add BR-MBX1 to the source servers of Internet"),
        "{fixes:?}"
    );
    assert!(
        !fixes.iter().any(|f| f.contains("frontend_proxy")),
        "a proxy with no Front End service would block all mail: not a fix: {fixes:?}"
    );
    insta::assert_snapshot!(report.to_text());
    insta::assert_json_snapshot!(report);
}

/// Property: pruning the components that cannot change a route changes no exposure (K <= 2).
#[test]
fn pruning_changes_nothing_on_the_shipped_topologies() {
    for entry in std::fs::read_dir(repo("scenarios/topologies")).expect("dir") {
        let path = entry.expect("entry").path();
        let t = load(&path);
        for k in 0..=2 {
            let pruned = check::check(&t, &options(k), &|_| {});
            let all = check::check(
                &t,
                &CheckOptions {
                    no_pruning: true,
                    ..options(k)
                },
                &|_| {},
            );
            assert_eq!(
                pruned.exposures,
                all.exposures,
                "{} at K = {k}",
                path.display()
            );
            assert!(pruned.scenarios_checked <= all.scenarios_checked);
        }
    }
}

/// Regression found by review (check 2.6 times slower than before on a generated 200-site 2016
/// organisation): the Front End role, which every 15.1+ Mailbox server has, split every origin
/// class although no connector proxies through Front End. In hardened-edge HQ-MBX1 and HQ-MBX2
/// (2019, no outbound proxy) route alike: one of them stands for both.
#[test]
fn front_end_servers_share_an_origin_class_without_outbound_proxy() {
    let t = load(&repo("scenarios/topologies/hardened-edge.yaml"));
    assert!(t.send_connectors.iter().all(|c| !c.frontend_proxy));
    let pruned = check::check(&t, &options(1), &|_| {});
    let all = check::check(
        &t,
        &CheckOptions {
            no_pruning: true,
            ..options(1)
        },
        &|_| {},
    );
    assert_eq!(pruned.exposures, all.exposures);
    // Each of the three servers checked on its own routed 48 situations (the regression).
    assert_eq!(
        pruned.scenarios_checked, 36,
        "HQ-MBX2 is checked through HQ-MBX1"
    );
}

/// Property: every reported failure set is minimal (no proper subset causes the exposure) and
/// really causes it when routed.
#[test]
fn every_failure_set_is_minimal_and_causes_its_exposure() {
    for name in [
        "hub-site-chain.yaml",
        "edge-subscribed.yaml",
        "frontend-proxy.yaml",
        "contoso-cross-site.yaml",
        "dag-stretched.yaml",
        "migration-2010-2016.yaml",
    ] {
        let t = load(&repo(&format!("scenarios/topologies/{name}")));
        let result = check::check(&t, &options(2), &|_| {});
        for e in &result.exposures {
            for other in result.exposures.iter().filter(|o| {
                (o.origin_key(), &o.recipient_domain, o.required_tls, o.code)
                    == (e.origin_key(), &e.recipient_domain, e.required_tls, e.code)
            }) {
                let proper_subset = other.failure_set.len() < e.failure_set.len()
                    && other.failure_set.iter().all(|c| e.failure_set.contains(c));
                assert!(!proper_subset, "{name}: {:?} is not minimal", e.failure_set);
            }
            let domain = if e.recipient_domain == "*" {
                tlsflow::model::OTHER_DOMAIN.to_owned()
            } else {
                e.recipient_domain.clone()
            };
            let request = tlsflow::policy::Request {
                sender: tlsflow::policy::Sender::Server(e.origin_servers[0]),
                sender_text: String::new(),
                recipient: format!("x@{domain}"),
                subject: String::new(),
                size: tlsflow::model::Bytes(0),
                at: at(),
                assume_required: Some(e.required_tls),
                message_recipients: Vec::new(),
            };
            let faults = tlsflow::model::Faults::new(e.failure_set.iter().copied().collect());
            let explained = tlsflow::policy::explain(&t, &request, &faults).expect("explains");
            assert!(
                explained.findings.iter().any(|f| f.code == e.code),
                "{name}: {e:?} does not reproduce"
            );
        }
    }
}

/// Property: `check` at K = 0 agrees with `route` for every origin and domain.
#[test]
fn check_at_k0_agrees_with_route() {
    let t = load(&repo("scenarios/topologies/hub-site-chain.yaml"));
    let result = check::check(&t, &options(0), &|_| {});
    for origin in t
        .servers_sorted_by_name()
        .filter(|&s| t.server(s).is_transport())
    {
        for domain in t.domain_classes() {
            let request = tlsflow::policy::Request {
                sender: tlsflow::policy::Sender::Server(origin),
                sender_text: String::new(),
                recipient: format!("x@{domain}"),
                subject: "top secret".to_owned(),
                size: tlsflow::model::Bytes(0),
                at: at(),
                assume_required: Some(tlsflow::model::TlsLevel::EncryptionOnly),
                message_recipients: Vec::new(),
            };
            let routed = tlsflow::policy::explain(&t, &request, &tlsflow::model::Faults::none())
                .expect("explains");
            let class = if domain == tlsflow::model::OTHER_DOMAIN {
                "*".to_owned()
            } else {
                domain.clone()
            };
            for f in routed
                .findings
                .iter()
                .filter(|f| f.code.as_str().starts_with("TLS"))
            {
                assert!(
                    result
                        .exposures
                        .iter()
                        .any(|e| e.origin_servers.contains(&origin)
                            && e.recipient_domain == class
                            && e.code == f.code
                            && e.failure_set.is_empty()),
                    "route finds {} from {} to {domain}; check does not",
                    f.code,
                    t.server(origin).name
                );
            }
        }
    }
}

#[test]
fn shards_merge_into_the_unsharded_report() {
    let t = load(&repo("scenarios/topologies/hub-site-chain.yaml"));
    let none = check::VerifiedFixes::default();
    let whole = check_report(
        &t,
        "t",
        "x".to_owned(),
        &check::check(&t, &options(2), &|_| {}),
        &none,
        None,
    );
    let shards: Vec<(String, tlsflow::report::check::CheckReport)> = (0..3)
        .map(|i| {
            let shard = Shard { index: i, count: 3 };
            let r = check::check(
                &t,
                &CheckOptions {
                    shard: Some(shard),
                    ..options(2)
                },
                &|_| {},
            );
            // Through JSON, as a batch scheduler would hand them over.
            let mut report = check_report(
                &t,
                "t",
                "x".to_owned(),
                &r,
                &none,
                Some(format!("{}/3", i + 1)),
            );
            report.input_sha256 = Some(tlsflow::report::check::input_fingerprint(
                "t's text", &report,
            ));
            let json = tlsflow::report::to_json(&report);
            (
                format!("shard{i}"),
                serde_json::from_str(&json).expect("round trip"),
            )
        })
        .collect();
    let merged = tlsflow::report::diff::merge(&shards).expect("complete shards");
    assert_eq!(merged, whole);
    assert!(
        tlsflow::report::diff::merge(&shards[..2]).is_err(),
        "a missing shard is refused"
    );
    // Issue 15: shards of another input, of another split, given twice, or tampered with are
    // refused, each by name; none may panic or merge into a wrong report.
    let refused = |shards: &[(String, tlsflow::report::check::CheckReport)], needle: &str| {
        let e = tlsflow::report::diff::merge(shards)
            .expect_err("refused")
            .to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    };
    let mut other = shards.clone();
    other[1].1.input_sha256 = Some("0".repeat(64));
    refused(
        &other,
        "shard1 has no input fingerprint, or one that differs",
    );
    let mut old = shards.clone();
    old[2].1.input_sha256 = None;
    refused(&old, "shard2 has no input fingerprint");
    let mut split = shards.clone();
    split[1].1.shard = Some("2/4".to_owned());
    refused(&split, "shard1 is a shard of another split");
    let mut twice = shards.clone();
    twice[1] = twice[0].clone();
    refused(&twice, "shard 1/3 is given twice");
    let mut tampered = shards.clone();
    let with = tampered
        .iter_mut()
        .find(|(_, r)| !r.exposures.is_empty())
        .expect("a shard with an exposure");
    with.1.exposures[0].origin_servers.clear();
    refused(&tampered, "names no origin server");
}

#[test]
fn diff_exits_1_when_the_new_side_is_worse() {
    let run = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("tlsflow")
            .expect("binary")
            .current_dir(repo(""))
            .args(args)
            .args(["--at", "2026-06-01T00:00:00Z"])
            .output()
            .expect("runs")
    };
    // The variant adds a Branch connector: strictly better.
    let better = run(&[
        "diff",
        "scenarios/seed-cross-site-tls-loss.yaml",
        "--variant",
        "connector-in-branch",
    ]);
    assert_eq!(
        better.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&better.stderr)
    );
    let text = String::from_utf8_lossy(&better.stdout);
    assert!(
        text.contains("removed (better)") && text.contains("TLS001 Branch -> fabrikam.com"),
        "{text}"
    );
    // The other way round: worse.
    let worse = run(&[
        "diff",
        "tests/data/check/two-enforcing-connectors.yaml",
        "scenarios/topologies/contoso-cross-site.yaml",
    ]);
    assert_eq!(worse.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&worse.stdout));
}

/// Every TLS001 exposure that `check` reports at K <= 1 happens in the discrete-event engine too:
/// the components of the failure set go down at time 0, and top-secret mail from the exposed
/// site to the domain is sent in clear.
#[test]
fn every_tls001_exposure_happens_when_simulated() {
    use tlsflow::model::scenario::{
        Action, ExplicitMessage, HopLatency, Scenario, TimedEvent, Variant,
    };
    for name in [
        "contoso-cross-site.yaml",
        "hub-site-chain.yaml",
        "frontend-proxy.yaml",
        "edge-subscribed.yaml",
    ] {
        let t = load(&repo(&format!("scenarios/topologies/{name}")));
        let result = check::check(&t, &options(1), &|_| {});
        for e in result
            .exposures
            .iter()
            .filter(|e| e.code == tlsflow::model::Code::Tls001)
        {
            let sender = t
                .mailboxes
                .iter()
                .find_map(|m| match &m.address {
                    tlsflow::model::MailboxAddress::Exact(a)
                        if e.origin_servers.contains(&m.server) =>
                    {
                        Some(a.clone())
                    }
                    tlsflow::model::MailboxAddress::Domain(d)
                        if e.origin_servers.contains(&m.server) =>
                    {
                        Some(format!("someone@{d}"))
                    }
                    _ => None,
                })
                .expect("a mailbox on an exposed origin server");
            let domain = if e.recipient_domain == "*" {
                tlsflow::model::OTHER_DOMAIN.to_owned()
            } else {
                e.recipient_domain.clone()
            };
            let message = |i: u64| ExplicitMessage {
                at: tlsflow::model::Millis(i * 1000),
                from: sender.clone(),
                to: vec![format!("bob@{domain}")],
                subject: "Top secret".to_owned(),
                size: tlsflow::model::Bytes(1024),
                origin: tlsflow::model::Origin::default(),
            };
            let events = e
                .failure_set
                .iter()
                .map(|&c| TimedEvent {
                    at: tlsflow::model::Millis(0),
                    action: Action::Down(Named(&t, c).to_string()),
                    origin: tlsflow::model::Origin::default(),
                })
                .collect();
            let scenario = Scenario {
                name: "exposure".to_owned(),
                topology_file: name.to_owned(),
                seed: 1,
                start: at(),
                duration: tlsflow::model::Millis::HOUR,
                latency: HopLatency::default(),
                // The first Transport service is a seeded choice among the site's servers: send
                // enough messages that the exposed ones get some.
                messages: (0..16).map(message).collect(),
                workload: Vec::new(),
                events,
                runs: vec![Variant {
                    name: "baseline".to_owned(),
                    topology: t.clone(),
                }],
                expect: std::collections::BTreeMap::new(),
            };
            let run = tlsflow::sim::run(
                &scenario,
                0,
                &tlsflow::sim::RunOptions {
                    seed: 1,
                    record_recipients: false,
                },
                &mut tlsflow::sim::NullSink,
            );
            assert!(
                run.findings
                    .iter()
                    .any(|f| f.code == tlsflow::model::Code::Tls001),
                "{name}: {} -> {} with {:?} down is not sent in clear when simulated",
                t.site(e.origin_site()).name,
                e.recipient_domain,
                e.failure_set
            );
        }
    }
}

/// What an architect reads: `check --failures 1` of every shipped topology, fixes included.
#[test]
fn check_of_every_shipped_topology() {
    insta::glob!("../../scenarios/topologies", "*.yaml", |path| {
        let t = load(path);
        let analysis = check::analyse(&t, &options(1), &|_| {});
        let fixes = check::verified_fixes(&t, &analysis);
        let result = analysis.result;
        let name = format!(
            "scenarios/topologies/{}",
            path.file_name().expect("file").to_string_lossy()
        );
        let report = check_report(
            &t,
            &name,
            "2026-06-01T00:00:00Z".to_owned(),
            &result,
            &fixes,
            None,
        );
        insta::assert_snapshot!(report.to_text());
    });
}

/// The brief: never call a result a proof where the model does not cover the case. A topology
/// whose connector sends to a smart host is proven up to the smart host only (TLS005), and the
/// conclusion says so; a topology with no require-TLS rule and no Domain Secure partner has
/// nothing to prove, and the conclusion says that instead of "a proof".
#[test]
fn the_conclusion_says_what_the_check_cannot_prove() {
    let report = |t: &tlsflow::model::Topology| {
        let analysis = check::analyse(t, &options(1), &|_| {});
        let fixes = check::verified_fixes(t, &analysis);
        let result = analysis.result;
        check_report(
            t,
            "t.yaml",
            "2026-06-01T00:00:00Z".to_owned(),
            &result,
            &fixes,
            None,
        )
    };
    let relay = report(&load(&data("routing/smart-host-relay.yaml")));
    assert!(relay.exposures.is_empty(), "{:?}", relay.exposures);
    assert!(
        relay.conclusion.contains("a proof")
            && relay
                .conclusion
                .contains("judged up to the smart host only")
            && relay.conclusion.contains("relay.contoso.net"),
        "{}",
        relay.conclusion
    );
    let bare = tlsflow::load::topology_from_source(tlsflow::load::SourceFile {
        name: "bare.yaml".to_owned(),
        text: "format: 1\nsites: [{name: HQ}]\nservers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\nsend_connectors: [{name: Internet, address_spaces: [\"SMTP:*;1\"], source_servers: [HQ-MBX1]}]\n".to_owned(),
        base_dir: None,
    })
    .expect("loads")
    .topology;
    let none = report(&bare);
    assert!(
        none.conclusion.contains("nothing to prove") && !none.conclusion.contains("a proof"),
        "{}",
        none.conclusion
    );
    // Issue 14: an export whose Get-SendConnector failed imports with no connector. The rule is
    // there, but no mail leaves: no exposure, and still no proof.
    let closed = tlsflow::load::topology_from_source(tlsflow::load::SourceFile {
        name: "closed.yaml".to_owned(),
        text: "format: 1\nsites: [{name: HQ}]\nservers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\ntransport_rules: [{name: TLS, actions: {require_tls: true}}]\nexternal_domains: [{domain: \"*\", mx: [{host: mx.example.com, starttls: not_offered}]}]\n".to_owned(),
        base_dir: None,
    })
    .expect("loads")
    .topology;
    let closed = report(&closed);
    assert!(closed.exposures.is_empty(), "{:?}", closed.exposures);
    assert!(
        closed.conclusion.contains("no enabled Send connector")
            && !closed.conclusion.contains("a proof"),
        "{}",
        closed.conclusion
    );
}

/// CI (issue 16): shards carry their exposures' fixes, re-checked against the whole analysis,
/// so `merge` gives byte for byte the report of one unsharded run — fixes and "fixes not
/// re-checked" marks included — on every shipped topology with fixes, through the binary.
#[test]
fn sharded_checks_with_fixes_merge_into_the_unsharded_report() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut with_fixes = 0;
    for file in [
        "contoso-cross-site.yaml",
        "hub-site-chain.yaml",
        "busy-four-sites.yaml",
        "dag-stretched.yaml",
    ] {
        let topology = format!("scenarios/topologies/{file}");
        let check = |extra: &[&str]| -> Vec<u8> {
            let out = crate::support::tlsflow()
                .args(["check", &topology, "--failures", "1", "--format", "json"])
                .args(["--at", crate::support::AT, "--fail-on", "never"])
                .args(extra)
                .output()
                .expect("runs");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let whole = check(&[]);
        let report: serde_json::Value = serde_json::from_slice(&whole).expect("JSON");
        with_fixes += report["exposures"]
            .as_array()
            .expect("exposures")
            .iter()
            .filter(|e| !e["fixes"].as_array().expect("fixes").is_empty())
            .count();
        let mut shards = Vec::new();
        for i in 1..=3 {
            let path = dir.path().join(format!("{file}.{i}.json"));
            std::fs::write(&path, check(&["--shard", &format!("{i}/3")])).expect("written");
            shards.push(path);
        }
        let merged = crate::support::tlsflow()
            .args(["merge", "--format", "json", "--fail-on", "never"])
            .args(&shards)
            .output()
            .expect("runs");
        assert_eq!(
            String::from_utf8_lossy(&merged.stdout),
            String::from_utf8_lossy(&whole),
            "{file}"
        );
    }
    assert!(with_fixes > 5, "the comparison covers fixes ({with_fixes})");
}

/// Every shipped topology: the fixes confirmed with incremental re-checks are those that whole
/// re-checks of every candidate confirm (issue 17), at K = 0, 1 and 2.
#[test]
fn incremental_fix_rechecks_match_whole_rechecks_on_every_shipped_topology() {
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(repo("scenarios/topologies"))
        .expect("the shipped topologies")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "{paths:?}");
    for path in &paths {
        let t = load(path);
        for k in 0..=2 {
            let analysis = check::analyse(&t, &options(k), &|_| {});
            let by = |how| check::verified_fixes_by(&t, &analysis, &|_, _| {}, how).by_exposure;
            assert_eq!(
                by(check::Recheck::Incremental),
                by(check::Recheck::Full),
                "{} at K = {k}",
                path.display()
            );
            // An analysis that kept no reads re-checks every unit: the same fixes.
            let without_reads = check::analyse_with(&t, &options(k), &|_| {}, false);
            assert_eq!(
                check::verified_fixes(&t, &without_reads).by_exposure,
                by(check::Recheck::Full),
                "{} at K = {k}, no reads",
                path.display()
            );
            for (fix, changed, scope) in check::candidate_copies(&t, &analysis) {
                assert_eq!(
                    check::recheck(&t, &analysis, &changed, scope),
                    check::check(&changed, &options(k), &|_| {}),
                    "{} at K = {k}: {}",
                    path.display(),
                    fix.description
                );
            }
        }
    }
}
