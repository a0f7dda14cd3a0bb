//! Routing and the TLS fate of one message, one fixture per rule and tie-break (reference §1.4-
//! §1.11, §2.1, §3.9), each checked against the documented behaviour as one summary line (see
//! `support::summary`).

use tlsflow::model::Bytes;
use tlsflow::model::profile::Evidence;

use crate::support::{check, check_hops, check_sized, data, explain, load, repo};

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
        // A Transport service in the sender's site routes this internal mail (pinned: with
        // an address, submission would hand it straight to the recipient's group, §1.10).
        "BR-MBX1",
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

// -------------------------------------------------------------------------------------------
// One fixture per routing rule and tie-break (tests/data/routing/). Every expected line was
// worked out by hand from the reference section named on the test, before running it.

/// A subject no rule matches: nothing is required.
const LUNCH: &str = "Lunch on Friday";

const TO_INTERNET: &str = "carol@tailspintoys.com";

// --- Least-cost path (reference §1.4) ------------------------------------------------------

/// Reference §1.4 step 1: the lowest sum of link costs (20 via Brussels) beats the direct link
/// (30), and the sender connects directly to the destination's servers: Brussels is no stop.
#[test]
fn least_cost_path_is_the_lowest_sum_of_link_costs() {
    let t = load(&data("routing/lcp-sum-of-costs.yaml"));
    check(
        &t,
        "paul@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=Paris>Brussels>London cost=20 hops=PAR-MBX1>LON-MBX1:relay_to_connector_source_servers,LON-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        // A Transport service in the sender's site routes this internal mail (pinned: with
        // an address, submission would hand it straight to the recipient's group, §1.10).
        "PAR-MBX1",
        "lisa@contoso.com",
        LUNCH,
        &[],
        "connector=- path=Paris>Brussels>London cost=20 hops=PAR-MBX1>LON-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
}

/// Reference §1.4 "Site link costs": ExchangeCost replaces the AD cost of its link (lowered on
/// Oslo-Bergen, raised on Oslo-Trondheim): via Bergen 10 + 10 = 20 beats direct 50.
#[test]
fn exchange_cost_replaces_the_ad_cost_of_its_link() {
    let t = load(&data("routing/lcp-exchange-cost.yaml"));
    check(
        &t,
        "olav@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=Oslo>Bergen>Trondheim cost=20 hops=OSL-MBX1>TRD-MBX1:relay_to_connector_source_servers,TRD-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Reference §1.4 step 2: at equal cost (20) the one-hop path wins, although the name
/// tie-break alone would pick the path via Amsterdam.
#[test]
fn equal_cost_paths_prefer_fewer_hops() {
    let t = load(&data("routing/lcp-fewest-hops.yaml"));
    check(
        &t,
        "paul@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=Paris>London cost=20 hops=PAR-MBX1>LON-MBX1:relay_to_connector_source_servers,LON-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Reference §1.4 step 3, the diamond: equal cost, equal hops, the site nearest the
/// destination sorting lowest wins ("Berlin" < "Madrid"), for connectors and mailboxes alike.
#[test]
fn equal_cost_and_hops_prefer_the_lowest_site_name_nearest_the_destination() {
    let t = load(&data("routing/lcp-name-diamond.yaml"));
    check(
        &t,
        "olav@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=Oslo>Berlin>Dublin cost=20 hops=OSL-MBX1>DUB-MBX1:relay_to_connector_source_servers,DUB-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        // A Transport service in the sender's site routes this internal mail (pinned: with
        // an address, submission would hand it straight to the recipient's group, §1.10).
        "OSL-MBX1",
        "doreen@contoso.com",
        LUNCH,
        &[],
        "connector=- path=Oslo>Berlin>Dublin cost=20 hops=OSL-MBX1>DUB-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
}

/// Reference §1.4 step 3, walking back: nearest Echo, "Mike" beats "November"; then "Juliet"
/// beats "Kilo". In the other direction the nearest site to Sierra decides first, so the
/// path is not simply reversed: "Alpha" < "Juliet" < "Kilo".
#[test]
fn the_name_tie_break_walks_back_from_the_destination() {
    let t = load(&data("routing/lcp-name-walk-back.yaml"));
    check(
        &t,
        "sam@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=Sierra>Juliet>Mike>Echo cost=30 hops=SIE-MBX1>ECH-MBX1:relay_to_connector_source_servers,ECH-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        // A Transport service in the sender's site routes this internal mail (pinned: with
        // an address, submission would hand it straight to the recipient's group, §1.10).
        "SIE-MBX1",
        "eve@contoso.com",
        LUNCH,
        &[],
        "connector=- path=Sierra>Juliet>Mike>Echo cost=30 hops=SIE-MBX1>ECH-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
    check(
        &t,
        // Pinned: a Transport service in the sender's site routes this internal mail (§1.10).
        "ECH-MBX1",
        "sam@contoso.com",
        LUNCH,
        &[],
        "connector=- path=Echo>November>Alpha>Sierra cost=30 hops=ECH-MBX1>SIE-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
}

// --- Send connector selection (reference §2.1) ---------------------------------------------

/// Reference §2.1 step 1: the size filter comes before cost; larger than every connector: NDR.
#[test]
fn connectors_smaller_than_the_message_are_dropped_first() {
    let t = load(&data("routing/conn-size-filter.yaml"));
    let mb = |n: u64| Bytes(n * 1024 * 1024);
    check_sized(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        Bytes(100 * 1024),
        &[],
        "connector=Small Messages path=HQ cost=0 hops=HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check_sized(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        mb(5),
        &[],
        "connector=Large Messages path=HQ cost=0 hops=HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check_sized(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        mb(60),
        &[],
        "connector=- path=HQ cost=0 hops=- outcome=ndr findings=-",
    );
}

/// Reference §2.1 step 2b: a disabled connector is no candidate; `connector:NAME` down
/// disables one and Exchange re-selects; none left: Unreachable (DLV002).
#[test]
fn disabled_connectors_are_skipped_and_down_connectors_reselect() {
    let t = load(&data("routing/conn-disabled.yaml"));
    check(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet HQ path=HQ cost=0 hops=HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        &["connector:Internet HQ"],
        "connector=Internet DR path=HQ>DR cost=10 hops=HQ-MBX1>DR-MBX1:relay_to_connector_source_servers,DR-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        &["connector:Internet HQ", "connector:Internet DR"],
        "connector=- path=HQ cost=0 hops=- outcome=unreachable findings=DLV002",
    );
}

/// Reference §2.1 step 2a, "Scope": a scoped connector serves its own site only; other sites
/// do not see it even when it is cheaper, or the only one.
#[test]
fn a_scoped_connector_is_invisible_from_other_sites() {
    let t = load(&data("routing/conn-scoped.yaml"));
    check(
        &t,
        "alice@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Branch Local path=Branch cost=0 hops=BR-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=HQ cost=0 hops=HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        &["connector:Internet"],
        "connector=- path=HQ cost=0 hops=- outcome=unreachable findings=DLV002",
    );
    check(
        &t,
        "alice@contoso.com",
        TO_INTERNET,
        LUNCH,
        &["connector:Branch Local"],
        "connector=Internet path=Branch>HQ cost=5 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers,HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Reference §2.1 step 3, the documented example: `marketing.contoso.com` > `*.contoso.com` >
/// `*`, whatever the cost; `*.domain` includes the domain, an exact space no subdomain.
#[test]
fn the_most_specific_address_space_wins() {
    let t = load(&data("routing/conn-address-space.yaml"));
    let via = |connector: &str, site: &str, server: &str| {
        format!(
            "connector={connector} path=HQ>{site} cost=10 hops=HQ-MBX1>{server}:relay_to_connector_source_servers,{server}>mx.internet.example:external outcome=delivered tls=encrypted findings=-"
        )
    };
    let fred = "fred@fabrikam.com";
    let marketing = via("Contoso Marketing", "Paris", "PAR-MBX1");
    let contoso = via("Contoso", "Berlin", "BER-MBX1");
    check(
        &t,
        fred,
        "julia@marketing.contoso.com",
        LUNCH,
        &[],
        &marketing,
    );
    check(&t, fred, "sam@sales.contoso.com", LUNCH, &[], &contoso);
    check(&t, fred, "info@contoso.com", LUNCH, &[], &contoso);
    check(
        &t,
        fred,
        "eva@eu.marketing.contoso.com",
        LUNCH,
        &[],
        &contoso,
    );
    check(
        &t,
        fred,
        "bob@tailspintoys.com",
        LUNCH,
        &[],
        "connector=Internet path=HQ cost=0 hops=HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    // Without the exact match, the next most specific space takes over.
    check(
        &t,
        fred,
        "julia@marketing.contoso.com",
        LUNCH,
        &["connector:Contoso Marketing"],
        &contoso,
    );
}

/// Reference §2.1 step 3.1: lowest aggregate cost (path 20 + space 10 = 30), not the lowest
/// path cost (Denver, 0 + 40) nor the lowest space cost (Chicago, 35 + 1); cost before
/// proximity.
#[test]
fn the_lowest_aggregate_cost_wins() {
    let t = load(&data("routing/conn-aggregate-cost.yaml"));
    check(
        &t,
        "dana@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Phoenix Internet path=Denver>Phoenix cost=20 hops=DEN-MBX1>PHX-MBX1:relay_to_connector_source_servers,PHX-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "dana@contoso.com",
        TO_INTERNET,
        LUNCH,
        &["connector:Phoenix Internet"],
        "connector=Chicago Internet path=Denver>Chicago cost=35 hops=DEN-MBX1>CHI-MBX1:relay_to_connector_source_servers,CHI-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Reference §2.1 step 3.2: at equal aggregate cost, local server > local site > remote site
/// (the names sort the other way round).
#[test]
fn at_equal_cost_the_closest_source_server_wins() {
    let t = load(&data("routing/conn-proximity.yaml"));
    check(
        &t,
        "HQ-MBX1",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Zulu Local Server path=HQ cost=0 hops=HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "HQ-MBX1",
        TO_INTERNET,
        LUNCH,
        &["connector:Zulu Local Server"],
        "connector=Yankee Local Site path=HQ cost=0 hops=HQ-MBX1>HQ-MBX2:relay_to_connector_source_servers,HQ-MBX2>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Reference §2.1 step 3.3: everything else equal, the lowest connector name wins.
#[test]
fn the_lowest_connector_name_breaks_the_last_tie() {
    let t = load(&data("routing/conn-name-tiebreak.yaml"));
    check(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Outbound Alpha path=HQ>DR cost=10 hops=HQ-MBX1>DR-MBX1:relay_to_connector_source_servers,DR-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Reference §2.1 "Unroutable outcomes": no matching connector -> Unreachable queue, DLV002.
#[test]
fn no_matching_connector_is_unreachable() {
    let t = load(&data("routing/unreachable.yaml"));
    check(
        &t,
        "dave@contoso.com",
        TO_INTERNET,
        SECRET,
        &[],
        "connector=- path=HQ cost=0 hops=- outcome=unreachable findings=DLV002",
    );
    check(
        &t,
        "dave@contoso.com",
        "bob@fabrikam.com",
        LUNCH,
        &[],
        "connector=Fabrikam Partner path=HQ cost=0 hops=HQ-MBX1>mx1.fabrikam.com:external outcome=delivered tls=encrypted findings=-",
    );
}

// --- Hub sites (reference §1.6) --------------------------------------------------------------

/// Reference §1.6, the documented example A-B-C-D-E with C a hub: relay A -> C, then C -> E.
/// exchange2013 drops the requirement on the hub relay (inferred, §3.8-3.9): TLS001.
#[test]
fn a_hub_site_on_the_path_is_a_stop() {
    let t = load(&data("routing/hub-abcde.yaml"));
    let fab = "bob@fabrikam.com";
    check(
        &t,
        "amy@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=A>B>C>D>E cost=40 hops=A-MBX1>C-MBX1:relay_to_hub_site[enc->none],C-MBX1>E-MBX1:relay_to_connector_source_servers,E-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "ben@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=B>C>D>E cost=30 hops=B-MBX1>C-MBX1:relay_to_hub_site[enc->none],C-MBX1>E-MBX1:relay_to_connector_source_servers,E-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    // From the hub itself, and from beyond it, nothing stops the direct relay.
    check(
        &t,
        "cat@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=C>D>E cost=20 hops=C-MBX1>E-MBX1:relay_to_connector_source_servers[enc->none],E-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "don@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=D>E cost=10 hops=D-MBX1>E-MBX1:relay_to_connector_source_servers[enc->none],E-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "erin@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=E cost=0 hops=E-MBX1>mx1.fabrikam.com:external outcome=deferred findings=-",
    );
    // Mailbox destinations stop at the hub too, in both directions.
    check(
        &t,
        // A Transport service in the sender's site routes this internal mail (pinned: with
        // an address, submission would hand it straight to the recipient's group, §1.10).
        "A-MBX1",
        "erin@contoso.com",
        LUNCH,
        &[],
        "connector=- path=A>B>C>D>E cost=40 hops=A-MBX1>C-MBX1:relay_to_hub_site,C-MBX1>E-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
    check(
        &t,
        // Pinned: a Transport service in the sender's site routes this internal mail (§1.10).
        "E-MBX1",
        "amy@contoso.com",
        LUNCH,
        &[],
        "connector=- path=E>D>C>B>A cost=40 hops=E-MBX1>C-MBX1:relay_to_hub_site,C-MBX1>A-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
}

/// Reference §1.6: a hub site not on the least-cost path is never used.
#[test]
fn a_hub_site_off_the_least_cost_path_is_ignored() {
    let t = load(&data("routing/hub-off-path.yaml"));
    check(
        &t,
        "amy@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=A>B>C cost=20 hops=A-MBX1>C-MBX1:relay_to_connector_source_servers,C-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "hal@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=H>C cost=50 hops=H-MBX1>C-MBX1:relay_to_connector_source_servers,C-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        // A Transport service in the sender's site routes this internal mail (pinned: with
        // an address, submission would hand it straight to the recipient's group, §1.10).
        "A-MBX1",
        "hal@contoso.com",
        LUNCH,
        &[],
        "connector=- path=A>H cost=50 hops=A-MBX1>H-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
}

/// Reference §1.6 ("stops at every hub site") and §1.5 (after a hub, routing continues along
/// the least-cost path): two hubs, two hub relays; exchange-fixed carries through both.
#[test]
fn consecutive_hub_sites_are_each_a_stop() {
    let mut t = load(&data("routing/hub-consecutive.yaml"));
    check(
        &t,
        "mere@tailspintoys.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "connector=Internet path=Auckland>Sydney>Singapore>London cost=30 hops=AKL-MBX1>SYD-MBX1:relay_to_hub_site[enc->none],SYD-MBX1>SIN-MBX1:relay_to_hub_site,SIN-MBX1>LON-MBX1:relay_to_connector_source_servers,LON-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    t.profile = tlsflow::load::profile::builtin("exchange-fixed").expect("built in");
    check(
        &t,
        "mere@tailspintoys.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "connector=Internet path=Auckland>Sydney>Singapore>London cost=30 hops=AKL-MBX1>SYD-MBX1:relay_to_hub_site,SYD-MBX1>SIN-MBX1:relay_to_hub_site,SIN-MBX1>LON-MBX1:relay_to_connector_source_servers,LON-MBX1>mx1.fabrikam.com:external outcome=deferred findings=-",
    );
}

// --- Relay to connector source servers (reference §3.9) ------------------------------------

/// Reference §3.9: lost on the relay to the connector's source servers both within the site
/// (evidence "inferred", the same-site variant) and across sites (evidence "reported", §0);
/// enforced when the first Transport service is itself a source server.
#[test]
fn relay_to_source_servers_loses_the_requirement_same_site_and_cross_site() {
    let t = load(&data("routing/relay-source-servers.yaml"));
    let fab = "bob@fabrikam.com";
    check(
        &t,
        "dave@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=HQ cost=0 hops=HQ-MBX1>HQ-MBX2:relay_to_connector_source_servers[enc->none],HQ-MBX2>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "alice@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX2:relay_to_connector_source_servers[enc->none],HQ-MBX2>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "HQ-MBX2",
        fab,
        SECRET,
        &[],
        "connector=Internet path=HQ cost=0 hops=HQ-MBX2>mx1.fabrikam.com:external outcome=deferred findings=-",
    );
    for (from, evidence, variant) in [
        ("dave@contoso.com", Evidence::Inferred, "same site"),
        ("alice@contoso.com", Evidence::Reported, "cross-site"),
    ] {
        let r = explain(&t, from, fab, SECRET, &[]);
        let hop = &r.hops[0];
        assert_eq!(hop.evidence, Some(evidence), "{from}: evidence of the drop");
        let because = hop.dropped_because.as_deref().unwrap_or_default();
        assert!(
            because.contains(variant),
            "{from}: {because:?} names the {variant} variant"
        );
        let lost = r.findings[0]
            .lost_at
            .as_ref()
            .expect("TLS001 says where it was lost");
        assert_eq!(lost.evidence, evidence, "{from}: evidence of the finding");
    }
}

// --- Front End Transport outbound proxy (reference §1.9, §3.8) -----------------------------

/// Reference §1.9 and §3.8: the source server proxies through the Front End Transport service
/// of its own site (SEA-CAS1, not POR-CAS1); XPROXYTO carries the requirement, so a rule run on
/// the source server is enforced (deferred); a rule run elsewhere is lost before the proxy.
/// Dana's mailbox is on the source server, but Mailbox Transport Submission may hand her
/// external-only mail to either Mailbox server of Seattle (§1.10: the local delivery group, the
/// sender's own server not preferred): `route` reports the worse, SEA-MBX2.
#[test]
fn frontend_proxy_carries_the_requirement_only_if_it_reached_the_source_server() {
    let t = load(&data("routing/frontend-proxy.yaml"));
    let fab = "bob@fabrikam.com";
    check(
        &t,
        "SEA-MBX1",
        fab,
        SECRET,
        &[],
        "connector=Internet path=Seattle cost=0 hops=SEA-MBX1>SEA-CAS1:frontend_proxy,SEA-CAS1>mx1.fabrikam.com:external outcome=deferred findings=-",
    );
    check(
        &t,
        "dana@adventure-works.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=Seattle cost=0 hops=SEA-MBX2>SEA-MBX1:relay_to_connector_source_servers[enc->none],SEA-MBX1>SEA-CAS1:frontend_proxy,SEA-CAS1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "erik@adventure-works.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=Seattle cost=0 hops=SEA-MBX2>SEA-MBX1:relay_to_connector_source_servers[enc->none],SEA-MBX1>SEA-CAS1:frontend_proxy,SEA-CAS1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "pat@adventure-works.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=Portland>Seattle cost=20 hops=POR-MBX1>SEA-MBX1:relay_to_connector_source_servers[enc->none],SEA-MBX1>SEA-CAS1:frontend_proxy,SEA-CAS1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "SEA-MBX1",
        TO_INTERNET,
        SECRET,
        &[],
        "connector=Internet path=Seattle cost=0 hops=SEA-MBX1>SEA-CAS1:frontend_proxy,SEA-CAS1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

// --- Edge subscription (reference §1.11) -----------------------------------------------------

/// Reference §1.11, §4.2: from the subscribed site straight to the Edge
/// (SmtpRelayWithinAdSiteToEdge); from another site first to the subscribed site
/// (SmtpRelayToRemoteActiveDirectorySite), then to the Edge. exchange2013 drops the requirement
/// on the first Transport-to-Transport hop (inferred): TLS001 either way.
#[test]
fn edge_subscription_routes_via_the_subscribed_site() {
    let t = load(&data("routing/edge-subscription.yaml"));
    let fab = "bob@fabrikam.com";
    check(
        &t,
        "anna@northwindtraders.com",
        fab,
        SECRET,
        &[],
        "connector=EdgeSync - Amsterdam to Internet path=Amsterdam cost=0 hops=AMS-MBX1>EDGE1:relay_to_edge[enc->none],EDGE1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check(
        &t,
        "bram@northwindtraders.com",
        fab,
        SECRET,
        &[],
        "connector=EdgeSync - Amsterdam to Internet path=Rotterdam>Amsterdam cost=100 hops=RTM-MBX1>AMS-MBX1:relay_to_remote_site[enc->none],AMS-MBX1>EDGE1:relay_to_edge,EDGE1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    ); // Domain Secure on the EdgeSync connector (reference §1.11, §3.3): mutual TLS from the Edge;
    // the rule's requirement is lost on the way, but Domain Secure enforces more: no TLS003.
    check(
        &t,
        "bram@northwindtraders.com",
        "ed@adatum.com",
        LUNCH,
        &[],
        "connector=EdgeSync - Amsterdam to Internet path=Rotterdam>Amsterdam cost=100 hops=RTM-MBX1>AMS-MBX1:relay_to_remote_site,AMS-MBX1>EDGE1:relay_to_edge,EDGE1>mail.adatum.com:external outcome=delivered tls=domain_validated findings=-",
    );
    check(
        &t,
        "anna@northwindtraders.com",
        "ed@adatum.com",
        SECRET,
        &[],
        "connector=EdgeSync - Amsterdam to Internet path=Amsterdam cost=0 hops=AMS-MBX1>EDGE1:relay_to_edge[enc->none],EDGE1>mail.adatum.com:external outcome=delivered tls=domain_validated findings=-",
    );
}

/// Reference §1.11 (EdgeSync connector SMTP:*;100) with §2.1 step 3.1: a cheaper explicit
/// connector (10 + 1) beats the EdgeSync connector (0 + 100); disabled, EdgeSync takes over.
#[test]
fn the_edgesync_connector_cost_100_loses_to_a_cheaper_connector() {
    let t = load(&data("routing/edge-vs-explicit.yaml"));
    check(
        &t,
        "anna@northwindtraders.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Rotterdam Internet path=Amsterdam>Rotterdam cost=10 hops=AMS-MBX1>RTM-MBX1:relay_to_connector_source_servers,RTM-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "anna@northwindtraders.com",
        TO_INTERNET,
        LUNCH,
        &["connector:Rotterdam Internet"],
        "connector=EdgeSync - Amsterdam to Internet path=Amsterdam cost=0 hops=AMS-MBX1>EDGE1:relay_to_edge,EDGE1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

// --- Failures (reference §1.5) ---------------------------------------------------------------

/// Reference §1.5: routing keeps its least-cost decision (path Branch > Transit > HQ); the
/// sender falls back through the target servers, the group's servers in other sites, the
/// other servers of the primary site, then backs off toward the source and queues at the point
/// of failure.
///
/// Which target server is used first when all are up is Exchange's load balancing; tlsflow
/// takes the first by name (SPEC §5.5 determinism). A hop made only because of a failure
/// (to a server outside the delivery group, queued there) is written `relay_to_remote_site`:
/// the reference names no delivery type for it; the delivery group reached is an AD site.
#[test]
fn failures_fall_back_then_queue_at_the_point_of_failure() {
    let t = load(&data("routing/failover.yaml"));
    let alice = "alice@contoso.com";
    let routed = "connector=Internet path=Branch>Transit>HQ cost=20";
    let sent = |to: &str| {
        format!(
            "{routed} hops=BR-MBX1>{to}:relay_to_connector_source_servers,{to}>mx.internet.example:external outcome=delivered tls=encrypted findings=-"
        )
    };
    check(&t, alice, TO_INTERNET, LUNCH, &[], &sent("HQ-MBX1"));
    // One of two target servers down: the other.
    check(
        &t,
        alice,
        TO_INTERNET,
        LUNCH,
        &["server:HQ-MBX1"],
        &sent("HQ-MBX2"),
    );
    // Every target server in the primary site down: the group's server in DR.
    check(
        &t,
        alice,
        TO_INTERNET,
        LUNCH,
        &["server:HQ-MBX1", "server:HQ-MBX2"],
        &sent("DR-MBX1"),
    );
    // The whole group down: another server of the primary site, where it queues.
    check(
        &t,
        alice,
        TO_INTERNET,
        LUNCH,
        &["server:HQ-MBX1", "server:HQ-MBX2", "server:DR-MBX1"],
        &format!("{routed} hops=BR-MBX1>HQ-MBX3:relay_to_remote_site outcome=deferred findings=-"),
    );
    // Nothing in HQ or DR answers: back off to Transit and queue there.
    check(
        &t,
        alice,
        TO_INTERNET,
        LUNCH,
        &[
            "server:HQ-MBX1",
            "server:HQ-MBX2",
            "server:HQ-MBX3",
            "server:DR-MBX1",
        ],
        &format!("{routed} hops=BR-MBX1>TR-MBX1:relay_to_remote_site outcome=deferred findings=-"),
    );
    // A link down: HQ and DR are cut off, back off to Transit.
    check(
        &t,
        alice,
        TO_INTERNET,
        LUNCH,
        &["link:Transit-HQ"],
        &format!("{routed} hops=BR-MBX1>TR-MBX1:relay_to_remote_site outcome=deferred findings=-"),
    );
    // No server reachable at all: queued on the sender's server.
    check(
        &t,
        alice,
        TO_INTERNET,
        LUNCH,
        &["link:Branch-Transit"],
        &format!("{routed} hops=- outcome=deferred findings=-"),
    );
}

/// Reference §1.10 and §3.7: with the sender's Mailbox server down, another Mailbox server of
/// its site is the first Transport service and runs the rules; the requirement is then lost
/// on its relay to HQ like any other (TLS003: the remote offers TLS).
#[test]
fn origin_server_down_another_server_of_the_site_runs_the_rules() {
    let t = load(&data("routing/failover.yaml"));
    check(
        &t,
        "alice@contoso.com",
        TO_INTERNET,
        SECRET,
        &["server:BR-MBX1"],
        "connector=Internet path=Branch>Transit>HQ cost=20 hops=BR-MBX2>HQ-MBX1:relay_to_connector_source_servers[enc->none],HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=TLS003",
    );
}

/// Reference §1.6 (InboundMailEnabled $false) with §1.5: HQ does not accept mail from Branch,
/// so Branch relays to the group's server in DR. Whether routing itself already skips the site
/// (reporting the path to DR) or only the connection fails (reporting the path to HQ) the
/// reference does not say, so only the hops and the outcome are pinned.
#[test]
fn a_site_with_inbound_mail_disabled_is_not_a_relay_target() {
    let t = load(&data("routing/inbound-mail-disabled.yaml"));
    check_hops(
        &t,
        "alice@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "hops=BR-MBX1>DR-MBX1:relay_to_connector_source_servers,DR-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

// --- The external hop (SPEC §5.2; reference §3.1-3.3, §3.6) --------------------------------

/// SPEC §5.2's table, cell by cell: required none (opportunistic), encryption_only (the rule,
/// on a source server), certificate_validation and domain_validation (connector RequireTLS +
/// TlsAuthLevel), against each remote behaviour.
#[test]
fn the_external_hop_follows_the_tls_table() {
    let t = load(&data("routing/tls-external-table.yaml"));
    // (sender, subject, connector) per required level.
    let none = ("HQ-OPP", LUNCH, "Opportunistic");
    let enc = ("HQ-OPP", SECRET, "Opportunistic");
    let cert = ("HQ-CERT", LUNCH, "Certificate Validation");
    let domain = ("HQ-DOM", LUNCH, "Domain Validation");
    let clear = "outcome=delivered tls=none";
    let tls = "outcome=delivered tls=encrypted";
    let cert_ok = "outcome=delivered tls=certificate_validated";
    let domain_ok = "outcome=delivered tls=domain_validated";
    let transient = "outcome=deferred";
    let table = [
        ("notls", [clear, transient, transient, transient]),
        ("badtls", [clear, transient, transient, transient]),
        ("untrusted", [tls, tls, transient, transient]),
        ("expired", [tls, tls, transient, transient]),
        ("mismatch", [tls, tls, cert_ok, transient]),
        ("valid", [tls, tls, cert_ok, domain_ok]),
    ];
    for (remote, outcomes) in table {
        for ((from, subject, connector), outcome) in
            [none, enc, cert, domain].into_iter().zip(outcomes)
        {
            check(
                &t,
                from,
                &format!("postmaster@{remote}.example"),
                subject,
                &[],
                &format!(
                    "connector={connector} path=HQ cost=0 hops={from}>mx.{remote}.example:external {outcome} findings=-"
                ),
            );
        }
    }
    // Reference §3.2: the refusal is the transient 451 5.7.3 (SPEC §5.2).
    let r = explain(&t, "HQ-OPP", "postmaster@notls.example", SECRET, &[]);
    let status = r.status.unwrap_or_default();
    assert!(status.contains("451 5.7.3"), "status {status:?}");
}

/// Reference §3.6 (the rule's level overrides the connector's TLS settings wholesale; a
/// DomainValidation connector is downgraded to EncryptionOnly, UNCONFIRMED in practice) and
/// SPEC §5.2/§5.4: delivered with TLS weaker than the connector requires: TLS002.
#[test]
fn the_rules_requirement_downgrades_a_domain_validation_connector() {
    let t = load(&data("routing/tls-external-table.yaml"));
    for remote in ["untrusted", "mismatch", "valid"] {
        check(
            &t,
            "HQ-DOM",
            &format!("postmaster@{remote}.example"),
            SECRET,
            &[],
            &format!(
                "connector=Domain Validation path=HQ cost=0 hops=HQ-DOM>mx.{remote}.example:external outcome=delivered tls=encrypted findings=TLS002"
            ),
        );
    }
}

/// Reference §3.6 marks the override UNCONFIRMED, so it is the profile setting
/// `rule_level_overrides_connector`: without it the stricter level holds, the connector's
/// domain validation is kept, and a host that fails it is retried, not downgraded.
#[test]
fn without_the_override_the_connectors_stricter_level_holds() {
    let mut t = load(&data("routing/tls-external-table.yaml"));
    t.profile.rule_level_overrides_connector.supported = false;
    check(
        &t,
        "HQ-DOM",
        "postmaster@valid.example",
        SECRET,
        &[],
        "connector=Domain Validation path=HQ cost=0 hops=HQ-DOM>mx.valid.example:external outcome=delivered tls=domain_validated findings=-",
    );
    for remote in ["untrusted", "mismatch"] {
        check(
            &t,
            "HQ-DOM",
            &format!("postmaster@{remote}.example"),
            SECRET,
            &[],
            &format!(
                "connector=Domain Validation path=HQ cost=0 hops=HQ-DOM>mx.{remote}.example:external outcome=deferred findings=-"
            ),
        );
    }
    // The built-in requiretls profile keeps the connector's level (RFC 8689 only adds).
    assert!(
        !tlsflow::load::profile::builtin("requiretls")
            .expect("built in")
            .rule_level_overrides_connector
            .supported
    );
    assert!(
        tlsflow::load::profile::builtin("exchange2013")
            .expect("built in")
            .rule_level_overrides_connector
            .supported
    );
}

/// Reference §3.2 (fail over to the next MX) and SPEC §5.2 (per MX host in preference order):
/// a refused connection or a 451 5.7.3 moves on to the next MX; without a requirement the
/// first MX takes the message in clear text.
#[test]
fn mx_hosts_are_tried_in_preference_order() {
    let t = load(&data("routing/tls-mx-failover.yaml"));
    let dave = "dave@contoso.com";
    let line = |host: &str, outcome: &str| {
        format!(
            "connector=Internet path=HQ cost=0 hops=HQ-MBX1>{host}:external {outcome} findings=-"
        )
    };
    check(
        &t,
        dave,
        "x@failover.example",
        LUNCH,
        &[],
        &line("mx2.failover.example", "outcome=delivered tls=encrypted"),
    );
    check(
        &t,
        dave,
        "x@backup.example",
        LUNCH,
        &[],
        &line("mx1.backup.example", "outcome=delivered tls=none"),
    );
    check(
        &t,
        dave,
        "x@backup.example",
        SECRET,
        &[],
        &line("mx2.backup.example", "outcome=delivered tls=encrypted"),
    );
    check(
        &t,
        dave,
        "x@alldown.example",
        LUNCH,
        &[],
        &line("mx2.alldown.example", "outcome=deferred"),
    );
    let r = explain(&t, dave, "x@backup.example", SECRET, &[]);
    let tried: Vec<&str> = r.hops[0].attempts.iter().map(|a| a.host.as_str()).collect();
    assert_eq!(tried, ["mx1.backup.example", "mx2.backup.example"]);
    assert!(
        r.hops[0].attempts[0].response.contains("451 5.7.3"),
        "{:?}",
        r.hops[0].attempts[0].response
    );
}

/// Reference §3.3 and SPEC §5.2/§5.4: Domain Secure without a proxy is mutual TLS with the
/// partner domain validated, wherever the message came from and whatever the rule asked;
/// through a Front End proxy it is broken: plain TLS, TLS004.
///
/// TLS004 is the finding for this case; the weaker-than-required TLS002 would report the same
/// root cause twice, so only TLS004 is expected.
#[test]
fn domain_secure_holds_direct_and_breaks_through_the_frontend_proxy() {
    let t = load(&data("routing/tls-domain-secure.yaml"));
    let woodgrove = "connector=Woodgrove Domain Secure";
    check(
        &t,
        "cara@fourthcoffee.com",
        "kim@woodgrove.com",
        LUNCH,
        &[],
        &format!(
            "{woodgrove} path=Dallas cost=0 hops=DAL-MBX1>mail.woodgrove.com:external outcome=delivered tls=domain_validated findings=-"
        ),
    );
    check(
        &t,
        "cara@fourthcoffee.com",
        "kim@woodgrove.com",
        SECRET,
        &[],
        &format!(
            "{woodgrove} path=Dallas cost=0 hops=DAL-MBX1>mail.woodgrove.com:external outcome=delivered tls=domain_validated findings=-"
        ),
    );
    check(
        &t,
        "chen@fourthcoffee.com",
        "kim@woodgrove.com",
        LUNCH,
        &[],
        &format!(
            "{woodgrove} path=Chicago>Dallas cost=100 hops=CHI-MBX1>DAL-MBX1:relay_to_connector_source_servers,DAL-MBX1>mail.woodgrove.com:external outcome=delivered tls=domain_validated findings=-"
        ),
    );
    // The rule's requirement is lost on the relay, but Domain Secure enforces more than it
    // asked: no TLS003 (nothing was left to luck).
    check(
        &t,
        "chen@fourthcoffee.com",
        "kim@woodgrove.com",
        SECRET,
        &[],
        &format!(
            "{woodgrove} path=Chicago>Dallas cost=100 hops=CHI-MBX1>DAL-MBX1:relay_to_connector_source_servers[enc->none],DAL-MBX1>mail.woodgrove.com:external outcome=delivered tls=domain_validated findings=-"
        ),
    );
    check(
        &t,
        "cara@fourthcoffee.com",
        "lee@adatum.com",
        LUNCH,
        &[],
        "connector=Adatum Domain Secure path=Dallas cost=0 hops=DAL-MBX1>DAL-CAS1:frontend_proxy,DAL-CAS1>mail.adatum.com:external outcome=delivered tls=encrypted findings=TLS004",
    );
}

/// Reference §7.1 and SPEC §5.3 (`requiretls`): the requirement travels on every hop and a hop
/// that cannot meet it returns the message with 5.7.30 (no retry, no clear text).
#[test]
fn requiretls_profile_returns_the_message_with_5_7_30() {
    let t = load(&data("routing/tls-requiretls.yaml"));
    let fab = "bob@fabrikam.com";
    check(
        &t,
        "dave@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=HQ cost=0 hops=HQ-MBX1>mx1.fabrikam.com:external outcome=ndr findings=-",
    );
    check(
        &t,
        "alice@contoso.com",
        fab,
        SECRET,
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers,HQ-MBX1>mx1.fabrikam.com:external outcome=ndr findings=-",
    );
    let r = explain(&t, "alice@contoso.com", fab, SECRET, &[]);
    let status = r.status.unwrap_or_default();
    assert!(status.contains("5.7.30"), "status {status:?}");
    check(
        &t,
        "alice@contoso.com",
        TO_INTERNET,
        SECRET,
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers,HQ-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        "alice@contoso.com",
        fab,
        LUNCH,
        &[],
        "connector=Internet path=Branch>HQ cost=10 hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers,HQ-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=-",
    );
}

/// Reference §1.5 and Microsoft's mail-routing page ("If the primary site happens to be a hub
/// site, the primary site is still considered a hub site ... the source server should only
/// attempt to connect to the servers in the hub site"): with the preferred source server H-MBX1
/// down, A-MBX1 connects to the other server of the hub site, never straight to the group's
/// server in site Z. H-MBX2 then applies the first fallback itself (the group's servers in
/// other sites, Z-MBX1).
#[test]
fn a_hub_primary_site_is_the_only_site_the_sender_connects_to() {
    let t = load(&data("routing/hub-primary-site.yaml"));
    check_hops(
        &t,
        "amy@contoso.com",
        TO_INTERNET,
        LUNCH,
        &["server:H-MBX1"],
        "hops=A-MBX1>H-MBX2:relay_to_hub_site,H-MBX2>Z-MBX1:relay_to_connector_source_servers,Z-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// The same page: a hub primary site is "still considered a hub site", and the closest hub
/// site on the path "is selected as a new delivery group of the type AD site" — so the hop into
/// it is a hub-site relay (SmtpRelayToRemoteActiveDirectorySite, `relay_to_hub_site`, §4.2),
/// even when it lands on a source server of the connector. The reference does not spell out
/// the delivery type for this case; this is the reading that follows from "treated as a hub
/// site" (and it decides which profile rule, and which evidence, a lost requirement shows).
#[test]
fn a_hub_primary_site_is_reached_by_a_hub_site_relay() {
    let t = load(&data("routing/hub-primary-site.yaml"));
    check(
        &t,
        "amy@contoso.com",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Internet path=A>H cost=10 hops=A-MBX1>H-MBX1:relay_to_hub_site,H-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Reference §1.5 (Microsoft's text: "the first fallback option is all other servers in the
/// destination delivery group in other Active Directory sites ... If the destination delivery
/// group has any servers in the local Active Directory site, there are no OTHER fallback
/// options"): a server in the group's primary site whose local source servers are down still
/// falls back to the group's servers in other sites; only the later options (other servers of
/// the primary site, back-off) do not apply to a local group.
#[test]
fn a_local_group_still_falls_back_to_its_servers_in_other_sites() {
    let t = load(&data("routing/failover.yaml"));
    check(
        &t,
        "HQ-MBX3",
        TO_INTERNET,
        LUNCH,
        &["server:HQ-MBX1", "server:HQ-MBX2"],
        "connector=Internet path=HQ cost=0 hops=HQ-MBX3>DR-MBX1:relay_to_connector_source_servers,DR-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    // The whole group down: nothing closer to try, it queues where it is.
    check(
        &t,
        "HQ-MBX3",
        TO_INTERNET,
        LUNCH,
        &["server:HQ-MBX1", "server:HQ-MBX2", "server:DR-MBX1"],
        "connector=Internet path=HQ cost=0 hops=- outcome=deferred findings=-",
    );
}

/// Reference §2.2 (IgnoreSTARTTLS; TlsDomain is the name DomainValidation checks, the recipient
/// domain only when it is empty) and §3.6 (the rule's level switches IgnoreSTARTTLS off).
#[test]
fn connector_tls_settings_ignore_starttls_and_tls_domain() {
    let t = load(&data("routing/tls-connector-settings.yaml"));
    let dave = "dave@contoso.com";
    check(
        &t,
        dave,
        "x@plain.example",
        LUNCH,
        &[],
        "connector=Ignore STARTTLS path=HQ cost=0 hops=HQ-MBX1>mx.plain.example:external outcome=delivered tls=none findings=-",
    );
    check(
        &t,
        dave,
        "x@plain.example",
        SECRET,
        &[],
        "connector=Ignore STARTTLS path=HQ cost=0 hops=HQ-MBX1>mx.plain.example:external outcome=delivered tls=encrypted findings=-",
    );
    check(
        &t,
        dave,
        "x@hosted.example",
        LUNCH,
        &[],
        "connector=Hosted Partner path=HQ cost=0 hops=HQ-MBX1>mx.hosted.example:external outcome=delivered tls=domain_validated findings=-",
    );
    check(
        &t,
        dave,
        "x@wronghost.example",
        LUNCH,
        &[],
        "connector=Hosted Partner path=HQ cost=0 hops=HQ-MBX1>mx.wronghost.example:external outcome=deferred findings=-",
    );
}

// --- Delivery groups (reference §1.3) ---------------------------------------------------------

/// Reference §1.3: a DAG is one delivery group across sites. A-MBX1, a member of DAG1, is in
/// the destination's group for a mailbox on B-MBX1: the destination is the next hop, with no
/// stop at the hub site H between them. A-MBX2, outside the DAG, routes along the least-cost
/// path and stops at the hub site (§1.6).
#[test]
fn a_dag_member_delivers_to_its_dag_without_hub_stops() {
    let t = load(&data("routing/dag-across-a-hub-site.yaml"));
    check_hops(
        &t,
        "A-MBX1",
        "bea@contoso.com",
        LUNCH,
        &[],
        "hops=A-MBX1>B-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
    check_hops(
        &t,
        "A-MBX2",
        "bea@contoso.com",
        LUNCH,
        &[],
        "hops=A-MBX2>H-MBX1:relay_to_hub_site,H-MBX1>B-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
}

/// Reference §2.1 step 3.2 (issue 13): after the aggregate cost (21 for both), the connector
/// whose source server is the fewest site-link hops away wins — Zulu, one hop to D — before the
/// name tie-break would pick Alpha (two hops to C).
#[test]
fn equal_aggregate_cost_prefers_the_fewest_hops_before_the_name() {
    let t = load(&data("routing/connector-tie-fewest-hops.yaml"));
    check(
        &t,
        "A-MBX1",
        TO_INTERNET,
        LUNCH,
        &[],
        "connector=Zulu path=A>D cost=20 hops=A-MBX1>D-MBX1:relay_to_connector_source_servers,D-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Set-SendConnector -TlsDomain takes an SmtpDomainWithSubdomains (issue 13): `*.fabrikam.com`
/// accepts a certificate naming any subdomain of fabrikam.com (here three labels deep; TLS005:
/// the relay is a smart host), and `*.woodgrove.com` refuses a certificate for
/// relay.example.net (451, retried).
#[test]
fn tls_domain_with_a_wildcard_covers_the_subdomains() {
    let t = load(&data("routing/tls-domain-with-subdomains.yaml"));
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@fabrikam.com",
        LUNCH,
        &[],
        "hops=HQ-MBX1>relay.eu.fabrikam.com:external outcome=delivered tls=domain_validated findings=TLS005",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@woodgrove.com",
        LUNCH,
        &[],
        "hops=HQ-MBX1>relay.example.net:external outcome=deferred findings=-",
    );
}

/// Issue 13: Domain Secure on the `*` address space is accepted and works as Exchange's own
/// EdgeSync connector does: the partner on TLSSendDomainSecureList (woodgrove.com) gets mutual
/// TLS with domain validation, any other domain the connector's own opportunistic TLS (here in
/// clear, no finding: nothing required TLS). A Domain Secure connector that routes through a
/// smart host is accepted with the warning CFG108, and its partner (adatum.com) gets the
/// connector's own TLS to the relay, not Domain Secure — and no TLS004, since Domain Secure
/// never applied.
#[test]
fn domain_secure_on_the_wildcard_works_for_partners_only() {
    let loaded = tlsflow::load::load_topology(&data("routing/domain-secure-hardened.yaml"))
        .expect("a hardened organisation loads");
    let warnings: Vec<&str> = loaded.warnings.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(warnings, ["CFG108"], "{:?}", loaded.warnings);
    let t = loaded.topology;
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@woodgrove.com",
        LUNCH,
        &[],
        "hops=HQ-MBX1>mail.woodgrove.com:external outcome=delivered tls=domain_validated findings=-",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@litware.example",
        LUNCH,
        &[],
        "hops=HQ-MBX1>mx.internet.example:external outcome=delivered tls=none findings=-",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@adatum.com",
        LUNCH,
        &[],
        "hops=HQ-MBX1>relay.contoso.net:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Issue 13, Edge-sourced Send connectors (reference §1.11): with no EdgeSync Internet
/// connector, Internet mail goes to the subscribed site, then the Edge, then its smart host;
/// partner mail takes the Edge's TLS connector and is domain-validated. From Branch the mail is
/// first relayed to the subscribed site (relay_to_remote_site). A rule's requirement does not
/// survive the relay to the Edge (profile exchange2013, inferred): top-secret mail to the
/// Internet reaches the relay encrypted only because the relay offers TLS (TLS003), and beyond
/// the relay Exchange enforces nothing (TLS005).
#[test]
fn edge_sourced_connectors_carry_internet_and_partner_mail() {
    let t = load(&data("routing/edge-sourced-connectors.yaml"));
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@woodgrove.com",
        LUNCH,
        &[],
        "hops=HQ-MBX1>EDGE1:relay_to_edge,EDGE1>mail.woodgrove.com:external outcome=delivered tls=domain_validated findings=-",
    );
    check_hops(
        &t,
        "alice@contoso.com",
        "bob@woodgrove.com",
        LUNCH,
        &[],
        "hops=BR-MBX1>HQ-MBX1:relay_to_remote_site,HQ-MBX1>EDGE1:relay_to_edge,EDGE1>mail.woodgrove.com:external outcome=delivered tls=domain_validated findings=-",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@litware.example",
        SECRET,
        &[],
        "hops=HQ-MBX1>EDGE1:relay_to_edge[enc->none],EDGE1>relay.isp.example:external outcome=delivered tls=encrypted findings=TLS003,TLS005",
    );
}

/// Issue 13 point 11, decided: a Mailbox server of version 15.1 or later always has Front End
/// Transport (Exchange 2016 merged the roles, reference §6), so tlsflow gives it the role: the
/// 2016 source server proxies through its own Front End service; the 2013 one, without a
/// Client Access role, has none and the message waits.
#[test]
fn a_2016_mailbox_server_runs_front_end_transport() {
    let t = load(&data("routing/frontend-on-2016-mailbox.yaml"));
    check_hops(
        &t,
        "A-MBX1",
        TO_INTERNET,
        LUNCH,
        &[],
        "hops=A-MBX1>A-MBX1:frontend_proxy,A-MBX1>mx.internet.example:external outcome=delivered tls=encrypted findings=-",
    );
    check_hops(
        &t,
        "B-MBX1",
        TO_INTERNET,
        LUNCH,
        &[],
        "hops=- outcome=deferred findings=-",
    );
}

/// Issue 13 point 6: MX hosts of equal preference are tried in random order (RFC 5321 §5.1), so
/// `route` reports the worst order. Alice's lost requirement meets mx1 (no STARTTLS) first:
/// clear text, TLS001 — not "safe by luck". Dave's requirement holds: whatever the order, mx1
/// refuses (451 5.7.3) and mx2 takes it over TLS; mx3 (preference 20) is never needed.
#[test]
fn equal_preference_mx_hosts_are_judged_in_the_worst_order() {
    let t = load(&data("routing/mx-equal-preference.yaml"));
    check_hops(
        &t,
        "alice@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers[enc->none],HQ-MBX1>mx1.fabrikam.com:external outcome=delivered tls=none findings=TLS001",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "hops=HQ-MBX1>mx2.fabrikam.com:external outcome=delivered tls=encrypted findings=-",
    );
}

/// Issue 13 point 8: a hybrid connector's TlsCertificateName and CloudServicesMailEnabled load
/// and are reported beside the connector; the hop is judged by its TLS settings as any other
/// (domain validation against TlsDomain: delivered, domain validated).
#[test]
fn hybrid_connector_settings_are_reported() {
    let t = load(&data("routing/hybrid-connector.yaml"));
    let r = explain(
        &t,
        "dave@contoso.com",
        "user@contoso.mail.onmicrosoft.com",
        LUNCH,
        &[],
    );
    assert_eq!(
        r.tls.map(tlsflow::model::tls::TlsAchieved::as_str),
        Some("domain_validated")
    );
    let notes = &r.recipients[0].connector_notes;
    assert!(
        notes.iter().any(|n| n.contains("CloudServicesMailEnabled"))
            && notes
                .iter()
                .any(|n| n.contains("<I>CN=DigiCert<S>CN=mail.contoso.com")),
        "{notes:?}"
    );
}

/// Issue 13 point 4 (New-AcceptedDomain -DomainType): an internal relay domain's recipient
/// without a mailbox leaves by the connector for its address space (in clear: no rule applies,
/// the domain is inside the organisation); an external relay domain's recipient leaves by the
/// Internet connector and the NotInOrganization rule requires TLS (deferred: no STARTTLS); an
/// authoritative domain's unknown recipient is refused, including under a `*.` wildcard, whose
/// subdomains hold mailboxes.
#[test]
fn accepted_domain_types_decide_relay_and_scope() {
    let t = load(&data("routing/accepted-domain-types.yaml"));
    check_hops(
        &t,
        "dave@contoso.com",
        "lotus@legacy.contoso.com",
        SECRET,
        &[],
        "hops=HQ-MBX1>notes.legacy.contoso.com:external outcome=delivered tls=none findings=-",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "ann@partner.example",
        SECRET,
        &[],
        "hops=HQ-MBX1>mx.internet.example:external outcome=deferred findings=-",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "nobody@contoso.com",
        SECRET,
        &[],
        "hops=- outcome=ndr findings=-",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "eva@eu.branch.contoso.com",
        SECRET,
        &[],
        "hops=HQ-MBX1>HQ-MBX1:mailbox_delivery outcome=delivered findings=-",
    );
    check_hops(
        &t,
        "dave@contoso.com",
        "x@other.branch.contoso.com",
        SECRET,
        &[],
        "hops=- outcome=ndr findings=-",
    );
}

/// Issue 13 point 5, worked from the cmdlet help: an 8MB message from Branch crosses the 5MB
/// site link on its least-cost path to the connector: NDR 5.3.4 (routing); the same from HQ
/// leaves (the connector allows 50MB); 16MB to a mailbox exceeds the organisation's 15MB
/// MaxReceiveSize: NDR 5.2.3 RecipSizeLimit; 25MB exceeds the 20MB MaxSendSize: NDR 5.2.3
/// SendSizeLimit.Org, whatever the recipient.
#[test]
fn size_limits_of_the_organisation_and_the_site_links() {
    let t = load(&data("routing/size-limits.yaml"));
    let mb = |n: u64| Bytes(n * 1024 * 1024);
    let status = |from: &str, to: &str, size: Bytes| {
        let r = crate::support::explain_sized(&t, from, to, LUNCH, size, &[]);
        (r.outcome, r.status.unwrap_or_default())
    };
    let (outcome, s) = status("alice@contoso.com", "bob@fabrikam.com", mb(8));
    assert_eq!(outcome, "ndr");
    assert!(
        s.starts_with("550 5.3.4 ROUTING.SizeLimit") && s.contains("HQ-Branch"),
        "{s}"
    );
    assert_eq!(
        status("dave@contoso.com", "bob@fabrikam.com", mb(8)).0,
        "delivered"
    );
    let (outcome, s) = status("dave@contoso.com", "erin@contoso.com", mb(16));
    assert_eq!(outcome, "ndr");
    assert!(
        s.starts_with("550 5.2.3 RESOLVER.RST.RecipSizeLimit"),
        "{s}"
    );
    let (outcome, s) = status("dave@contoso.com", "bob@fabrikam.com", mb(25));
    assert_eq!(outcome, "ndr");
    assert!(
        s.starts_with("550 5.2.3 RESOLVER.RST.SendSizeLimit.Org"),
        "{s}"
    );
}

/// Issue 13 point 9: an MX host's `tls_versions` against the profile's (exchange2013 speaks
/// 1.2): a 1.3-only host fails the handshake. Dave's requirement holds: 451, deferred. Alice's
/// was lost on the relay: the opportunistic connection falls back to clear text, which is the
/// UNCONFIRMED profile setting `opportunistic_handshake_failure: clear_text`, and TLS001 says
/// so. Under `requiretls` (TLS 1.2 and 1.3) the handshake succeeds.
#[test]
fn tls_versions_and_the_handshake_failure_setting() {
    let t = load(&data("routing/tls-versions.yaml"));
    check_hops(
        &t,
        "dave@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "hops=HQ-MBX1>mx13.fabrikam.com:external outcome=deferred findings=-",
    );
    let r = explain(&t, "alice@contoso.com", "bob@fabrikam.com", SECRET, &[]);
    assert_eq!(
        r.tls.map(tlsflow::model::tls::TlsAchieved::as_str),
        Some("none")
    );
    let f = &r.findings[0];
    assert_eq!(f.code.as_str(), "TLS001");
    assert!(
        f.message
            .contains("opportunistic_handshake_failure, UNCONFIRMED"),
        "{}",
        f.message
    );
    let mut transient = t.clone();
    transient.profile.opportunistic_handshake_failure.behaviour =
        tlsflow::model::profile::OnHandshakeFailure::Transient;
    check_hops(
        &transient,
        "alice@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "hops=BR-MBX1>HQ-MBX1:relay_to_connector_source_servers[enc->none],HQ-MBX1>mx13.fabrikam.com:external outcome=deferred findings=-",
    );
    let mut modern = t.clone();
    modern.profile = tlsflow::load::profile::builtin("requiretls").expect("built in");
    check_hops(
        &modern,
        "dave@contoso.com",
        "bob@fabrikam.com",
        SECRET,
        &[],
        "hops=HQ-MBX1>mx13.fabrikam.com:external outcome=delivered tls=encrypted findings=-",
    );
}
