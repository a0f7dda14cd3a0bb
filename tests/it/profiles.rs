//! The built-in behaviour profiles (SPEC §5.3).

use tlsflow::load::profile;
use tlsflow::model::profile::{Evidence, TlsFailure};

#[test]
fn every_builtin_profile_parses_and_names_its_evidence() {
    let profiles = profile::builtins();
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "exchange2010",
            "exchange2013",
            "exchange-fixed",
            "requiretls"
        ]
    );
    for p in &profiles {
        let r = &p.requirement_travels;
        for rule in [
            &r.relay_to_connector_source_servers_cross_site,
            &r.relay_to_connector_source_servers_same_site,
            &r.relay_to_hub_site,
            &r.relay_to_remote_site,
            &r.relay_to_edge,
            &r.frontend_proxy,
        ] {
            assert!(
                rule.source.contains("docs/evidence.md#"),
                "{}: every rule cites its evidence: {}",
                p.name,
                rule.source
            );
        }
    }
}

#[test]
fn exchange2013_drops_the_requirement_except_through_the_front_end_proxy() {
    let p = profile::builtin("exchange2013").expect("built in");
    let r = &p.requirement_travels;
    assert!(!r.relay_to_connector_source_servers_cross_site.travels);
    assert_eq!(
        r.relay_to_connector_source_servers_cross_site.evidence,
        Evidence::Reported
    );
    assert_eq!(
        r.relay_to_connector_source_servers_same_site.evidence,
        Evidence::Inferred
    );
    assert_eq!(r.relay_to_edge.evidence, Evidence::Inferred);
    assert!(!r.relay_to_hub_site.travels && !r.relay_to_edge.travels);
    assert!(r.frontend_proxy.travels);
    assert_eq!(p.tls_failure, TlsFailure::Transient);
}

#[test]
fn aliases_resolve_to_exchange2013() {
    for alias in ["exchange2016", "exchange2019", "Exchange2019"] {
        assert_eq!(profile::builtin(alias).expect("alias").name, "exchange2013");
    }
}

#[test]
fn requiretls_returns_to_sender_and_exchange2010_has_no_rule_action() {
    let requiretls = profile::builtin("requiretls").expect("built in");
    assert_eq!(requiretls.tls_failure, TlsFailure::ReturnToSender);
    let e2010 = profile::builtin("exchange2010").expect("built in");
    assert!(!e2010.rule_action_require_tls.supported);
    assert!(!e2010.frontend_proxy.supported);
}

/// The profile shown is the profile declared (issue 16): a topology that says `exchange2019`
/// is reported as `exchange2019`, never as `exchange2013`; since its requirement rules come
/// from Exchange 2013 reports, every finding they decide is `unconfirmed` and says why in
/// words, in `route`, `check` and `simulate`. A topology that says `exchange2013` keeps
/// `reported` and has no caveat.
#[test]
fn the_declared_profile_is_shown_with_its_caveat() {
    let run = |args: &[&str]| -> serde_json::Value {
        let out = crate::support::tlsflow()
            .args(args)
            .args(["--format", "json"])
            .output()
            .expect("runs");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    let route = |topology: &str, from: &str| {
        run(&[
            "route",
            topology,
            "--from",
            from,
            "--to",
            "bob@fabrikam.com",
            "--subject",
            "top secret",
            "--at",
            "2026-06-01T00:00:00Z",
        ])
    };
    let y2019 = route(
        "scenarios/topologies/busy-four-sites.yaml",
        "dina@wideworldimporters.com",
    );
    assert_eq!(y2019["profile"], "exchange2019");
    let caveat = y2019["profile_caveat"].as_str().expect("a caveat");
    assert!(caveat.contains("UNCONFIRMED for exchange2019"), "{caveat}");
    assert!(
        caveat.contains("docs/evidence.md#later-versions"),
        "{caveat}"
    );
    let lost = &y2019["findings"][0]["lost_at"];
    assert_eq!(lost["evidence"], "unconfirmed", "{lost}");
    assert!(
        lost["because"]
            .as_str()
            .is_some_and(|b| b.starts_with("profile exchange2019, modelled as exchange2013")),
        "{lost}"
    );
    assert!(
        lost["source"]
            .as_str()
            .is_some_and(|s| s.contains("UNCONFIRMED for exchange2019")),
        "{lost}"
    );

    let y2013 = route(
        "scenarios/topologies/contoso-cross-site.yaml",
        "alice@contoso.com",
    );
    assert_eq!(y2013["profile"], "exchange2013");
    assert!(y2013.get("profile_caveat").is_none(), "{y2013}");
    assert_eq!(y2013["findings"][0]["lost_at"]["evidence"], "reported");

    let check = run(&[
        "check",
        "scenarios/topologies/busy-four-sites.yaml",
        "--no-fixes",
        "--at",
        "2026-06-01T00:00:00Z",
    ]);
    assert_eq!(check["profile"], "exchange2019");
    assert!(
        check["caveats"][0]
            .as_str()
            .is_some_and(|c| c.contains("UNCONFIRMED for exchange2019")),
        "{}",
        check["caveats"]
    );
    let conclusion = check["conclusion"].as_str().expect("a conclusion");
    assert!(
        conclusion.contains(
            "(profile exchange2019); profile exchange2019 is modelled as exchange2013, UNCONFIRMED"
        ),
        "{conclusion}"
    );
    let lost: Vec<_> = check["exposures"]
        .as_array()
        .expect("exposures")
        .iter()
        .filter(|e| !e["lost_at"].is_null())
        .map(|e| e["lost_at"]["evidence"].clone())
        .collect();
    assert!(!lost.is_empty());
    assert!(lost.iter().all(|e| e == "unconfirmed"), "{lost:?}");

    let dir = tempfile::tempdir().expect("a temp dir");
    let scenario = dir.path().join("hour.yaml");
    std::fs::write(
        &scenario,
        format!(
            "format: 1\nname: hour\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: 1h\nmessages:\n  - {{at: 1m, from: dina@wideworldimporters.com, to: [bob@fabrikam.com], subject: top secret}}\n",
            crate::support::repo("scenarios/topologies/busy-four-sites.yaml").display()
        ),
    )
    .expect("written");
    let simulate = run(&["simulate", &scenario.to_string_lossy()]);
    assert_eq!(simulate["profile"], "exchange2019");
    assert!(
        simulate["runs"][0]["profile_caveat"]
            .as_str()
            .is_some_and(|c| c.contains("UNCONFIRMED for exchange2019")),
        "{}",
        simulate["runs"][0]
    );
}
