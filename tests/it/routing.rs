//! Routing and the TLS fate of one message, one fixture per rule and tie-break (reference §1.4-
//! §1.11, §2.1, §3.9), each checked against the documented behaviour as one summary line (see
//! `support::summary`).

use crate::support::{check, data, load, repo};

const SECRET: &str = "Top secret merger plans";

/// SPEC §8 / reference §0: the requirement is lost on the Branch -> HQ relay and the message
/// leaves HQ in clear text; from the connector's own source server it is enforced.
#[test]
fn the_defect_cross_site_relay_loses_the_requirement() {
    let t = load(&repo("scenarios/topologies/contoso-cross-site.yaml"));
    check(
        &t,
        "alice@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers[enc->none],HQ-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "dave@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "connector=Internet path=HQ cost=0 hops=HQ-MBX1>mx1.fabrikam.com:external outcome=deferred findings=-",
    );
    check(
        &t,
        "HQ-MBX1",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "connector=Internet path=HQ cost=0 hops=HQ-MBX1>mx1.fabrikam.com:external outcome=deferred findings=-",
    );
}

#[test]
fn without_the_rule_nothing_is_required_and_nothing_is_found() {
    let t = load(&repo("scenarios/topologies/contoso-cross-site.yaml"));
    check(
        &t,
        "alice@contoso.com",
        "bob@fabrikam.com",
        "Lunch",
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers,HQ-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=-",
    );
}

#[test]
fn lost_requirement_but_remote_offers_tls_is_tls003() {
    let t = load(&repo("scenarios/topologies/contoso-cross-site.yaml"));
    check(
        &t,
        "alice@contoso.com",
        "carol@tailspintoys.com",
        SECRET,
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers[enc->none],HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=TLS003",
    );
}

#[test]
fn internal_recipients_are_delivered_to_their_mailbox_server() {
    let t = load(&repo("scenarios/topologies/contoso-cross-site.yaml"));
    check(
        &t,
        "alice@contoso.com",
        "dave@contoso.com",
        SECRET,
        &[],
        "connector=- path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
}

#[test]
fn exchange_fixed_and_requiretls_keep_the_requirement() {
    let mut t = load(&repo("scenarios/topologies/contoso-cross-site.yaml"));
    t.profile = tlsflow::load::profile::builtin("exchange-fixed").expect("built in");
    check(
        &t,
        "alice@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers,HQ-MBX1>mx1.fabrikam.com:external outcome=deferred findings=-",
    );
    t.profile = tlsflow::load::profile::builtin("requiretls").expect("built in");
    check(
        &t,
        "alice@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers,HQ-MBX1>mx1.fabrikam.com:external outcome=ndr findings=-",
    );
    let _ = data("routing");
}
