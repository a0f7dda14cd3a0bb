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
                rule.source.contains('§'),
                "{}: every rule cites the reference: {}",
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
