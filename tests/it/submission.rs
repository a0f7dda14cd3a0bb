//! Mailbox Transport Submission (reference §1.10): which Transport service receives a message
//! first, and so runs the transport rules. One fixture test per rule of §1.10, the two Contoso
//! commands and a simulation through the real entry points, and properties on generated
//! organisations against an oracle written here from the rules alone (not from
//! `src/route/submission.rs`). `TLSFLOW_PROPTEST_CASES` raises the case count (default 48).
//!
//! The rules, as the oracle reads them:
//! - an Exchange 2010 sender (`version: "14.x"`): the 2010 store driver submits to an Exchange
//!   2010 Mailbox (Hub Transport) server of the sender's own AD site;
//! - otherwise, of the message's first 20 mailbox recipients, those whose mailbox is on an
//!   Exchange 2013+ server decide: none -> any Mailbox server of the sender's own delivery group
//!   (a DAG: any member, in any of its sites); one delivery group -> a server of that group in
//!   its closest AD site; several -> the closest of those groups, in its closest site.
//! - A delivery group is a DAG (whatever sites its members are in) or the Mailbox servers of one
//!   major version (14 or 15) in one site that are in no DAG. Closeness is the least cost over
//!   the site links.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use assert_cmd::Command;
use proptest::prelude::*;
use proptest::test_runner::Config;

use tlsflow::check::{self, CheckOptions};
use tlsflow::load::{self, SourceFile};
use tlsflow::model::{Bytes, Code, Faults, ServerId, Topology};
use tlsflow::policy::{self, Explanation, Outcome, Request, Sender};
use tlsflow::route::SubmissionReason;
use tlsflow::sim::{self, RunOptions, TrackingEvent, TrackingRow, TrackingSink};

use crate::support::{AT, at, data, load, repo};

const CONTOSO: &str = "scenarios/topologies/contoso-cross-site.yaml";
const DAG_STRETCHED: &str = "scenarios/topologies/dag-stretched.yaml";

/// A message from `from` to `to` (in order), explained for its first recipient, nothing failed.
fn explain(t: &Topology, from: &str, to: &[&str], subject: &str) -> Explanation {
    policy::explain(t, &request(from, to, subject), &Faults::none()).expect("a valid request")
}

fn request(from: &str, to: &[&str], subject: &str) -> Request {
    Request {
        sender: Sender::Address(from.to_owned()),
        sender_text: from.to_owned(),
        recipient: to[0].to_owned(),
        subject: subject.to_owned(),
        size: Bytes(100 * 1024),
        at: at(),
        assume_required: None,
        message_recipients: to.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn server(t: &Topology, name: &str) -> ServerId {
    t.server_by_name(name)
        .unwrap_or_else(|| panic!("no server {name}"))
}

fn names(t: &Topology, servers: &[ServerId]) -> Vec<String> {
    servers.iter().map(|&s| t.server(s).name.clone()).collect()
}

fn codes(e: &Explanation) -> Vec<Code> {
    e.findings.iter().map(|f| f.code).collect()
}

fn has_tls001(e: &Explanation) -> bool {
    codes(e).contains(&Code::Tls001)
}

/// §1.10, no mailbox recipient: "a Mailbox server in the local delivery group". Alice's and
/// Dave's messages to bob@fabrikam.com have no mailbox recipient, so each is submitted in the
/// sender's own group: Branch (its one server BR-MBX1) for Alice, HQ for Dave. Alice's rules
/// run in Branch, which has no connector, so the requirement is lost on the relay to HQ-MBX1
/// (TLS001); Dave's run on HQ-MBX1, the connector's source server, and the requirement holds:
/// fabrikam.com offers no STARTTLS, so the message is deferred.
#[test]
fn no_mailbox_recipient_is_submitted_in_the_senders_own_group() {
    let t = load(&repo(CONTOSO));
    let alice = explain(&t, "alice@contoso.com", &["bob@fabrikam.com"], "Top secret");
    assert_eq!(
        alice.submission.reason,
        SubmissionReason::NoMailboxRecipient
    );
    assert_eq!(
        Some(alice.submission.group),
        t.group_of(server(&t, "BR-MBX1"))
    );
    assert_eq!(names(&t, &alice.candidates), ["BR-MBX1"]);
    assert_eq!(t.server(alice.origin).name, "BR-MBX1");
    assert!(has_tls001(&alice), "{:?}", codes(&alice));

    let dave = explain(&t, "dave@contoso.com", &["bob@fabrikam.com"], "Top secret");
    assert_eq!(dave.submission.reason, SubmissionReason::NoMailboxRecipient);
    assert_eq!(
        Some(dave.submission.group),
        t.group_of(server(&t, "HQ-MBX1"))
    );
    assert_eq!(t.server(dave.origin).name, "HQ-MBX1");
    assert!(
        matches!(dave.outcome, Outcome::Deferred { .. }),
        "{:?}",
        dave.outcome
    );
    assert!(!has_tls001(&dave), "{:?}", codes(&dave));
}

/// §1.10, one mailbox recipient: the message goes to that recipient's delivery group, not the
/// sender's. Dave (HQ) copying Alice (Branch) is submitted in Branch: the rules run on BR-MBX1
/// and bob's copy is relayed to HQ-MBX1 without its requirement (TLS001), although Dave sits
/// next to the connector. Alice copying Dave is submitted in HQ: the rules run on the source
/// server HQ-MBX1 and the requirement holds (deferred, no TLS001), although Alice's own site has
/// no connector.
#[test]
fn one_mailbox_recipient_in_another_site_moves_the_submission_there() {
    let t = load(&repo(CONTOSO));
    let dave = explain(
        &t,
        "dave@contoso.com",
        &["bob@fabrikam.com", "alice@contoso.com"],
        "Top secret",
    );
    assert_eq!(dave.submission.reason, SubmissionReason::MailboxRecipients);
    assert_eq!(t.group_name(dave.submission.group), "Branch");
    assert_eq!(t.server(dave.origin).name, "BR-MBX1");
    assert!(has_tls001(&dave), "{:?}", codes(&dave));
    let lost = dave.findings[0]
        .lost_at
        .as_ref()
        .expect("where it was lost");
    assert_eq!(
        (lost.from.as_str(), lost.to.as_str()),
        ("BR-MBX1", "HQ-MBX1")
    );

    let alice = explain(
        &t,
        "alice@contoso.com",
        &["bob@fabrikam.com", "dave@contoso.com"],
        "Top secret",
    );
    assert_eq!(alice.submission.reason, SubmissionReason::MailboxRecipients);
    assert_eq!(t.group_name(alice.submission.group), "HQ");
    assert_eq!(t.server(alice.origin).name, "HQ-MBX1");
    assert!(!has_tls001(&alice), "{:?}", codes(&alice));
    // Every recipient of the message is explained from the same submission.
    let all = policy::explain_message(
        &t,
        &request(
            "alice@contoso.com",
            &["bob@fabrikam.com", "dave@contoso.com"],
            "Top secret",
        ),
        &Faults::none(),
    )
    .expect("a valid request");
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|e| t.server(e.origin).name == "HQ-MBX1"));
    assert!(all.iter().all(|e| !has_tls001(e)));
}

/// §1.10, several mailbox recipients in different delivery groups: the closest group. From A,
/// B costs 10 and C costs 20, so a message to c1@c.contoso.com (C) and then bea@contoso.com (B)
/// goes to B, whatever the recipients' order. The rules run on B-MBX1, which relays to the only
/// source server C-MBX1 across sites: TLS001.
#[test]
fn several_mailbox_recipients_go_to_the_closest_group() {
    let t = load(&data("submission/three-sites.yaml"));
    let e = explain(
        &t,
        "alice@contoso.com",
        &["bob@fabrikam.com", "c1@c.contoso.com", "bea@contoso.com"],
        "Top secret",
    );
    assert_eq!(
        e.submission.reason,
        SubmissionReason::ClosestOfSeveral { groups: 2 }
    );
    assert_eq!(t.group_name(e.submission.group), "B");
    assert_eq!(names(&t, &e.candidates), ["B-MBX1"]);
    assert!(has_tls001(&e), "{:?}", codes(&e));
}

/// §1.10: only the first 20 mailbox recipients are looked at. Twenty recipients in C and a
/// 21st in B: B, although closer, is not among the first 20, so the message goes to C. The
/// rules run on C-MBX1, the source server, and the requirement holds (deferred, no TLS001).
/// With the B recipient moved to 20th place, B is considered again and wins.
#[test]
fn only_the_first_20_mailbox_recipients_count() {
    let t = load(&data("submission/three-sites.yaml"));
    let mut to: Vec<String> = vec!["bob@fabrikam.com".to_owned()];
    to.extend((1..=20).map(|k| format!("c{k}@c.contoso.com")));
    to.push("bea@contoso.com".to_owned());
    let to_refs: Vec<&str> = to.iter().map(String::as_str).collect();
    let e = explain(&t, "alice@contoso.com", &to_refs, "Top secret");
    assert_eq!(e.submission.mailbox_recipients, 20);
    assert_eq!(e.submission.reason, SubmissionReason::MailboxRecipients);
    assert_eq!(t.group_name(e.submission.group), "C");
    assert_eq!(t.server(e.origin).name, "C-MBX1");
    assert!(
        matches!(e.outcome, Outcome::Deferred { .. }),
        "{:?}",
        e.outcome
    );
    assert!(!has_tls001(&e), "{:?}", codes(&e));

    // bea as the 20th mailbox recipient (c20 moves after her): now within the window.
    to.swap(20, 21);
    let to_refs: Vec<&str> = to.iter().map(String::as_str).collect();
    let e = explain(&t, "alice@contoso.com", &to_refs, "Top secret");
    assert_eq!(t.group_name(e.submission.group), "B");
    assert!(has_tls001(&e), "{:?}", codes(&e));
}

/// §1.3, §1.10: a DAG is one delivery group. Erin's mailbox is on MBX2, the member that does not
/// source the connector; with no mailbox recipient her message may be submitted to either
/// member. On MBX1 the requirement holds (deferred); on MBX2 it is lost on the relay to MBX1
/// (TLS001). Exchange load-balances, so both happen: route lists both candidates and reports the
/// worse, TLS001 from MBX2.
#[test]
fn a_dag_in_one_site_may_submit_to_any_member() {
    let t = load(&data("submission/dag-one-site.yaml"));
    let e = explain(&t, "erin@contoso.com", &["bob@fabrikam.com"], "Top secret");
    assert_eq!(e.submission.reason, SubmissionReason::NoMailboxRecipient);
    assert_eq!(t.group_name(e.submission.group), "DAG DAG1");
    let mut candidates = names(&t, &e.candidates);
    candidates.sort();
    assert_eq!(candidates, ["MBX1", "MBX2"]);
    assert_eq!(t.server(e.origin).name, "MBX2");
    assert!(has_tls001(&e), "{:?}", codes(&e));
    // The better choice exists: pinned to MBX1 the requirement holds.
    let pinned = policy::explain(
        &t,
        &Request {
            sender: Sender::Server(server(&t, "MBX1")),
            ..request("erin@contoso.com", &["bob@fabrikam.com"], "Top secret")
        },
        &Faults::none(),
    )
    .expect("a valid request");
    assert!(
        matches!(pinned.outcome, Outcome::Deferred { .. }),
        "{:?}",
        pinned.outcome
    );
}

/// §1.3, §1.10: a DAG stretched across Primary and DR is still one delivery group, so Ana's
/// message with no mailbox recipient may be submitted to DR-MBX1, in the other site, which does
/// not source the connector: the requirement is lost on its relay back to Primary (TLS001 from
/// DR-MBX1). The check finds the same exposure with nothing failed, for Primary's mail, from
/// DR-MBX1.
#[test]
fn a_dag_across_sites_may_submit_in_the_other_site() {
    let t = load(&repo(DAG_STRETCHED));
    let e = explain(
        &t,
        "ana@tailspintoys.com",
        &["bob@fabrikam.com"],
        "Top secret",
    );
    assert_eq!(e.submission.reason, SubmissionReason::NoMailboxRecipient);
    let mut candidates = names(&t, &e.candidates);
    candidates.sort();
    assert_eq!(candidates, ["DR-MBX1", "PRI-MBX1", "PRI-MBX2"]);
    assert_eq!(t.server(e.origin).name, "DR-MBX1");
    assert!(has_tls001(&e), "{:?}", codes(&e));

    let result = check::check(&t, &check_options(), &|_| {});
    let primary = t.site_by_name("Primary").expect("Primary");
    let dr = server(&t, "DR-MBX1");
    assert!(
        result.exposures.iter().any(|x| x.code == Code::Tls001
            && x.failure_set.is_empty()
            && x.recipient_domain == "fabrikam.com"
            && x.origin_sites.contains(&primary)
            && x.origin_servers.contains(&dr)),
        "{:#?}",
        result.exposures
    );
}

/// §1.10 coexistence: the 2010 store driver submits to an Exchange 2010 Hub Transport of the
/// mailbox's site, and a 2010 Hub Transport never evaluates rules made with 2013 or later. Old's
/// mailbox is on HQ-EX2010, so its rules never run and the requirement is never set: lost at
/// submission (TLS001, saying Exchange 2010). New's mailbox is on HQ-MBX1 (2016), whose own group
/// is HQ's 2016 servers: the rules run on the source server and the requirement holds
/// (deferred). New copying Old is still submitted in the 2016 group: a 2013+ submission does not
/// hand a message to a 2010 Hub Transport for a 2010 mailbox recipient.
#[test]
fn exchange_2010_mailboxes_are_submitted_to_2010_in_their_site() {
    let t = load(&data("submission/exchange2010-coexistence.yaml"));
    let old = explain(&t, "old@contoso.com", &["bob@fabrikam.com"], "Top secret");
    assert_eq!(old.submission.reason, SubmissionReason::Exchange2010Sender);
    assert_eq!(t.server(old.origin).name, "HQ-EX2010");
    let tls001 = old
        .findings
        .iter()
        .find(|f| f.code == Code::Tls001)
        .unwrap_or_else(|| panic!("TLS001: {:?}", codes(&old)));
    let lost = tls001.lost_at.as_ref().expect("where it was lost");
    assert_eq!(lost.kind, "submission");
    assert!(lost.because.contains("Exchange 2010"), "{}", lost.because);

    let new = explain(&t, "new@contoso.com", &["bob@fabrikam.com"], "Top secret");
    assert_eq!(t.server(new.origin).name, "HQ-MBX1");
    assert!(
        matches!(new.outcome, Outcome::Deferred { .. }),
        "{:?}",
        new.outcome
    );
    assert!(!has_tls001(&new), "{:?}", codes(&new));

    let copy = explain(
        &t,
        "new@contoso.com",
        &["bob@fabrikam.com", "old@contoso.com"],
        "Top secret",
    );
    assert_eq!(
        Some(copy.submission.group),
        t.group_of(server(&t, "HQ-MBX1"))
    );
    assert_eq!(names(&t, &copy.candidates), ["HQ-MBX1"]);
    assert!(!has_tls001(&copy), "{:?}", codes(&copy));
}

fn tlsflow() -> Command {
    let mut cmd = Command::cargo_bin("tlsflow").expect("the binary builds");
    cmd.current_dir(repo("")).env("NO_COLOR", "1");
    cmd
}

fn route_json(args: &[&str], code: i32) -> serde_json::Value {
    let out = tlsflow()
        .args(["route", CONTOSO])
        .args(args)
        .args(["--subject", "Top secret", "--at", AT, "--format", "json"])
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_str(&String::from_utf8(out).expect("utf-8")).expect("valid JSON")
}

/// The binary: `route --from dave --to bob --to alice` is submitted in Branch, bob's copy has
/// TLS001, exit 1.
#[test]
fn route_dave_copying_alice_exits_1_submitted_in_branch() {
    let json = route_json(
        &[
            "--from",
            "dave@contoso.com",
            "--to",
            "bob@fabrikam.com",
            "--to",
            "alice@contoso.com",
        ],
        1,
    );
    assert_eq!(json["submission"]["delivery_group"], "Branch");
    let recipients = json["recipients"].as_array().expect("recipients[]");
    assert_eq!(recipients.len(), 2);
    let bob = recipients
        .iter()
        .find(|r| r["recipient"] == "bob@fabrikam.com")
        .expect("bob");
    let findings = bob["findings"].as_array().expect("findings");
    assert!(findings.iter().any(|f| f["code"] == "TLS001"), "{bob:#}");
}

/// The binary: `route --from alice --to bob --cc dave` is submitted in HQ, no TLS001, exit 0.
#[test]
fn route_alice_copying_dave_exits_0_submitted_in_hq() {
    let json = route_json(
        &[
            "--from",
            "alice@contoso.com",
            "--to",
            "bob@fabrikam.com",
            "--cc",
            "dave@contoso.com",
        ],
        0,
    );
    assert_eq!(json["submission"]["delivery_group"], "HQ");
    assert_eq!(
        json["recipients"].as_array().expect("recipients[]").len(),
        2
    );
    assert!(
        !json.to_string().contains("TLS001"),
        "no TLS001 anywhere: {json:#}"
    );
}

/// Tracking rows as (server, event, source).
#[derive(Default)]
struct Rows(Vec<(String, TrackingEvent, String)>);

impl TrackingSink for Rows {
    fn row(&mut self, r: &TrackingRow<'_>) {
        self.0
            .push((r.server.to_owned(), r.event, r.source.to_owned()));
    }
}

impl Rows {
    /// The server of the first STOREDRIVER RECEIVE: where the submission was received.
    fn submitted_to(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, event, source)| *event == TrackingEvent::Receive && source == "STOREDRIVER")
            .map(|(server, _, _)| server.as_str())
    }
}

/// The simulator submits Dave's message copied to Alice in Branch too: the store driver hands it
/// to BR-MBX1 and bob's copy leaves in clear text (TLS001, lost on BR-MBX1 -> HQ-MBX1); the
/// scenario's own expectation holds.
#[test]
fn simulate_dave_copying_alice_leaves_in_clear() {
    let loaded = load::scenario::load_scenario(&data("submission/dave-copies-alice.yaml"))
        .unwrap_or_else(|f| panic!("the scenario loads:\n{}", f.render()));
    let scenario = &loaded.scenario;
    let mut rows = Rows::default();
    let run = sim::run(
        scenario,
        0,
        &RunOptions {
            seed: scenario.seed,
            record_recipients: true,
        },
        &mut rows,
    );
    assert_eq!(rows.submitted_to(), Some("BR-MBX1"));
    let tls001: Vec<_> = run
        .findings
        .iter()
        .filter(|f| f.code == Code::Tls001)
        .collect();
    assert_eq!(tls001.len(), 1, "{:#?}", run.findings);
    assert_eq!(tls001[0].sender, "dave@contoso.com");
    assert_eq!(tls001[0].recipient, "bob@fabrikam.com");
    let lost = tls001[0].lost_at.as_ref().expect("where it was lost");
    assert_eq!(
        (lost.from.as_str(), lost.to.as_str()),
        ("BR-MBX1", "HQ-MBX1")
    );
    let report = tlsflow::report::simulate::run_report(scenario, &run, false);
    assert!(
        report.findings.iter().all(|f| f.code != Code::Exp001),
        "the scenario's expectation holds"
    );
}

fn check_options() -> CheckOptions {
    CheckOptions {
        failures_max: 0,
        at: at(),
        shard: None,
        no_pruning: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Properties on generated organisations.

fn config() -> Config {
    crate::support::proptest_config("proptest-regressions/submission.txt")
}

/// One generated Mailbox server.
#[derive(Clone, Debug)]
struct Mbx {
    site: usize,
    index: usize,
    exchange2010: bool,
}

impl Mbx {
    fn name(&self) -> String {
        format!("S{}-MBX{}", self.site, self.index)
    }

    /// The domain of its mailboxes: `*@s{site}-m{index}.contoso.com`.
    fn domain(&self) -> String {
        format!("s{}-m{}.contoso.com", self.site, self.index)
    }
}

/// A generated organisation and one message through it.
#[derive(Clone, Debug)]
struct Org {
    sites: usize,
    /// Site `i + 1` hangs off `links[i].0` (a spanning tree) at cost `links[i].1`.
    links: Vec<(usize, u32)>,
    servers: Vec<Mbx>,
    /// DAG1's members (indices into `servers`, all Exchange 2016, at least 2), if any.
    dag: Vec<usize>,
    /// The Internet connector's source servers (Exchange 2016, at least 1).
    sources: Vec<usize>,
    sender: usize,
    /// The internal recipients' servers, in order (after bob@fabrikam.com).
    recipients: Vec<usize>,
}

/// Recipients: uniform draws, or a run of one server followed by a few others (so that the
/// 20-recipient window decides: the tail is often closer than the head).
fn recipients() -> impl Strategy<Value = Vec<prop::sample::Index>> {
    prop_oneof![
        1 => Just(Vec::new()),
        2 => proptest::collection::vec(any::<prop::sample::Index>(), 1..=25),
        2 => (
            any::<prop::sample::Index>(),
            18usize..=22,
            proptest::collection::vec(any::<prop::sample::Index>(), 1..=3)
        )
            .prop_map(|(head, n, tail)| std::iter::repeat_n(head, n).chain(tail).collect()),
    ]
}

fn org() -> impl Strategy<Value = Org> {
    (2usize..=5)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec(
                    (
                        1usize..=3,
                        proptest::collection::vec(proptest::bool::weighted(0.12), 3),
                    ),
                    n,
                ),
                proptest::collection::vec(
                    (
                        any::<prop::sample::Index>(),
                        prop::sample::select(vec![1u32, 10, 20]),
                    ),
                    n - 1,
                ),
                proptest::option::weighted(0.6, proptest::collection::vec(any::<bool>(), 15)),
                (
                    proptest::collection::vec(any::<bool>(), 15),
                    any::<prop::sample::Index>(),
                ),
                any::<prop::sample::Index>(),
                recipients(),
            )
        })
        .prop_map(
            |(sites, tree, dag, (sources, source), sender, recipients)| {
                let mut servers: Vec<Mbx> = sites
                    .iter()
                    .enumerate()
                    .flat_map(|(site, (count, old))| {
                        (0..*count).map(move |index| Mbx {
                            site,
                            index,
                            exchange2010: old[index],
                        })
                    })
                    .collect();
                // At least one Exchange 2016 server, to source the connector.
                if servers.iter().all(|s| s.exchange2010) {
                    servers[0].exchange2010 = false;
                }
                let modern: Vec<usize> = (0..servers.len())
                    .filter(|&i| !servers[i].exchange2010)
                    .collect();
                let dag: Vec<usize> = dag.map_or_else(Vec::new, |mask| {
                    modern.iter().copied().filter(|&i| mask[i]).collect()
                });
                let dag = if dag.len() >= 2 { dag } else { Vec::new() };
                let mut sources: Vec<usize> =
                    modern.iter().copied().filter(|&i| sources[i]).collect();
                if sources.is_empty() {
                    sources.push(modern[source.index(modern.len())]);
                }
                Org {
                    sites: sites.len(),
                    links: tree
                        .iter()
                        .enumerate()
                        .map(|(i, (parent, cost))| (parent.index(i + 1), *cost))
                        .collect(),
                    sender: sender.index(servers.len()),
                    recipients: recipients.iter().map(|r| r.index(servers.len())).collect(),
                    servers,
                    dag,
                    sources,
                }
            },
        )
}

fn yaml(o: &Org) -> String {
    let mut domains = vec!["contoso.com".to_owned()];
    domains.extend(o.servers.iter().map(Mbx::domain));
    let mut y = format!(
        "format: 1\norganization: Generated\nprofile: exchange2016\naccepted_domains: [{}]\nsites:\n",
        domains.join(", ")
    );
    for i in 0..o.sites {
        let _ = writeln!(y, "  - {{name: S{i}}}");
    }
    y.push_str("site_links:\n");
    for (i, (parent, cost)) in o.links.iter().enumerate() {
        let _ = writeln!(
            y,
            "  - {{name: L{}, sites: [S{parent}, S{}], cost: {cost}}}",
            i + 1,
            i + 1
        );
    }
    y.push_str("servers:\n");
    for s in &o.servers {
        let version = if s.exchange2010 { "14.3" } else { "15.1" };
        let _ = writeln!(
            y,
            "  - {{name: {}, site: S{}, roles: [mailbox], version: \"{version}\"}}",
            s.name(),
            s.site
        );
    }
    let list = |ix: &[usize]| -> String {
        ix.iter()
            .map(|&i| o.servers[i].name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !o.dag.is_empty() {
        let _ = writeln!(
            y,
            "database_availability_groups:\n  - {{name: DAG1, members: [{}]}}",
            list(&o.dag)
        );
    }
    let _ = writeln!(
        y,
        "send_connectors:\n  - {{name: Internet, address_spaces: [\"SMTP:*;1\"], source_servers: [{}]}}",
        list(&o.sources)
    );
    y.push_str("transport_rules:\n  - {name: Secret, conditions: {subject_or_body_contains: [secret]}, actions: {require_tls: true}}\n");
    y.push_str("mailboxes:\n");
    for s in &o.servers {
        let _ = writeln!(
            y,
            "  - {{address: \"*@{}\", server: {}}}",
            s.domain(),
            s.name()
        );
    }
    y.push_str("external_domains:\n  - {domain: fabrikam.com, mx: [{host: mx1.fabrikam.com, starttls: not_offered}]}\n");
    y
}

fn load_org(o: &Org) -> Topology {
    let text = yaml(o);
    match load::topology_from_source(SourceFile {
        name: "generated.yaml".to_owned(),
        text: text.clone(),
        base_dir: None,
    }) {
        Ok(l) => l.topology,
        Err(f) => panic!(
            "a generated organisation must load:\n{text}\n{}",
            f.render()
        ),
    }
}

/// The message: from `sender@` the sender's server, to bob@fabrikam.com and then one distinct
/// address per internal recipient.
fn message(o: &Org) -> (String, Vec<String>) {
    let from = format!("sender@{}", o.servers[o.sender].domain());
    let mut to = vec!["bob@fabrikam.com".to_owned()];
    to.extend(
        o.recipients
            .iter()
            .enumerate()
            .map(|(k, &r)| format!("r{k}@{}", o.servers[r].domain())),
    );
    (from, to)
}

const SUBJECT: &str = "Top secret";

/// A failing case as a person reproduces it: the topology and the `tlsflow route` command.
fn case(o: &Org) -> String {
    let (from, to) = message(o);
    let to: Vec<String> = to.iter().map(|r| format!("--to {r}")).collect();
    format!(
        "{}message: tlsflow route generated.yaml --from {from} {} --subject {SUBJECT:?}",
        yaml(o),
        to.join(" ")
    )
}

/// What the oracle allows: the names of the servers Exchange may hand the message to, and
/// whether a tie on cost (between groups, or between a group's sites) was resolved by
/// accepting all tied choices.
struct Allowed {
    servers: BTreeSet<String>,
    tie: bool,
}

/// Least site-to-site costs (Floyd–Warshall over the generated links).
fn site_costs(org: &Org) -> Vec<Vec<u64>> {
    let sites = org.sites;
    let mut cost = vec![vec![u64::MAX / 4; sites]; sites];
    for (i, row) in cost.iter_mut().enumerate() {
        row[i] = 0;
    }
    for (child, &(parent, link)) in org.links.iter().enumerate() {
        let child = child + 1;
        cost[parent][child] = cost[parent][child].min(u64::from(link));
        cost[child][parent] = cost[parent][child];
    }
    for via in 0..sites {
        for i in 0..sites {
            for j in 0..sites {
                if cost[i][via] + cost[via][j] < cost[i][j] {
                    cost[i][j] = cost[i][via] + cost[via][j];
                }
            }
        }
    }
    cost
}

/// A delivery group as the oracle names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Dag,
    Site { site: usize, major: u8 },
}

fn group(o: &Org, i: usize) -> Group {
    if o.dag.contains(&i) {
        Group::Dag
    } else {
        Group::Site {
            site: o.servers[i].site,
            major: if o.servers[i].exchange2010 { 14 } else { 15 },
        }
    }
}

/// The rules of §1.10 (module documentation), from the generated numbers.
fn oracle(o: &Org) -> Allowed {
    let costs = site_costs(o);
    let sender = &o.servers[o.sender];
    let from = sender.site;
    let members = |g: Group| (0..o.servers.len()).filter(move |&i| group(o, i) == g);
    let named = |ix: &mut dyn Iterator<Item = usize>| -> BTreeSet<String> {
        ix.map(|i| o.servers[i].name()).collect()
    };
    if sender.exchange2010 {
        let mut hubs = (0..o.servers.len())
            .filter(|&i| o.servers[i].exchange2010 && o.servers[i].site == from);
        return Allowed {
            servers: named(&mut hubs),
            tie: false,
        };
    }
    let mut groups: Vec<Group> = Vec::new();
    for &r in o.recipients.iter().take(20) {
        let g = group(o, r);
        if !o.servers[r].exchange2010 && !groups.contains(&g) {
            groups.push(g);
        }
    }
    if groups.is_empty() {
        return Allowed {
            servers: named(&mut members(group(o, o.sender))),
            tie: false,
        };
    }
    let distance = |g: Group| {
        members(g)
            .map(|i| costs[from][o.servers[i].site])
            .min()
            .expect("a group has members")
    };
    let best = groups.iter().map(|&g| distance(g)).min().expect("a group");
    let tied: Vec<Group> = groups
        .iter()
        .copied()
        .filter(|&g| distance(g) == best)
        .collect();
    let mut sites = BTreeSet::new();
    let mut servers = BTreeSet::new();
    for &g in &tied {
        for i in members(g).filter(|&i| costs[from][o.servers[i].site] == best) {
            sites.insert((g, o.servers[i].site));
            servers.insert(o.servers[i].name());
        }
    }
    Allowed {
        servers,
        tie: sites.len() > 1,
    }
}

fn explain_org(t: &Topology, o: &Org) -> Explanation {
    let (from, to) = message(o);
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    explain(t, &from, &to, SUBJECT)
}

fn scenario(t: &Topology, o: &Org, seed: u64) -> tlsflow::model::scenario::Scenario {
    use tlsflow::model::scenario::{ExplicitMessage, HopLatency, Scenario, Variant};
    let (from, to) = message(o);
    Scenario {
        name: "generated".to_owned(),
        topology_file: "generated.yaml".to_owned(),
        seed,
        start: at(),
        duration: tlsflow::model::Millis::HOUR,
        latency: HopLatency::default(),
        messages: vec![ExplicitMessage {
            at: tlsflow::model::Millis(0),
            from,
            to,
            subject: SUBJECT.to_owned(),
            size: Bytes(1000),
            origin: tlsflow::model::Origin::default(),
        }],
        workload: Vec::new(),
        events: Vec::new(),
        runs: vec![Variant {
            name: "baseline".to_owned(),
            topology: t.clone(),
        }],
        expect: std::collections::BTreeMap::new(),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Property: route's first Transport service (and every candidate it lists) is one the
    /// rules of §1.10 allow; where no cost tie leaves a choice, route lists exactly the servers
    /// the rules allow.
    #[test]
    fn route_submits_where_the_rules_say(o in org()) {
        let t = load_org(&o);
        let allowed = oracle(&o);
        let e = explain_org(&t, &o);
        let origin = t.server(e.origin).name.clone();
        let candidates: BTreeSet<String> = names(&t, &e.candidates).into_iter().collect();
        prop_assert!(allowed.servers.contains(&origin),
            "route submits to {origin}; the rules allow {:?}\n{}", allowed.servers, case(&o));
        prop_assert!(candidates.contains(&origin));
        prop_assert!(candidates.is_subset(&allowed.servers),
            "route's candidates {candidates:?}; the rules allow {:?}\n{}", allowed.servers, case(&o));
        if !allowed.tie {
            prop_assert_eq!(&candidates, &allowed.servers, "no tie: every allowed server is a candidate\n{}", case(&o));
        }
    }

    /// Property: the simulator's store driver hands the message to a server the rules of §1.10
    /// allow, in the delivery group route chose.
    #[test]
    fn simulate_submits_where_route_does(o in org(), seed in any::<u64>()) {
        let t = load_org(&o);
        let allowed = oracle(&o);
        let e = explain_org(&t, &o);
        let scenario = scenario(&t, &o, seed);
        let mut rows = Rows::default();
        let _ = sim::run(&scenario, 0, &RunOptions { seed, record_recipients: false }, &mut rows);
        let Some(first) = rows.submitted_to() else {
            return Err(TestCaseError::fail(format!("no STOREDRIVER RECEIVE row\n{}", case(&o))));
        };
        prop_assert!(allowed.servers.contains(first),
            "simulate submits to {first}; the rules allow {:?}\n{}", allowed.servers, case(&o));
        let server = t.server_by_name(first).expect("a server of the topology");
        prop_assert_eq!(t.group_of(server), Some(e.submission.group),
            "simulate submits to {} in {}, route to {}\n{}", first,
            t.group_of(server).map_or_else(String::new, |g| t.group_name(g)),
            t.group_name(e.submission.group), case(&o));
    }

    /// Property: the check is sound against route: a TLS001 that route finds for bob from first
    /// Transport service X, with nothing failed, is an exposure of the check at K = 0 for
    /// fabrikam.com from the sender's site with X among its origin servers.
    #[test]
    fn check_reports_what_route_finds(o in org()) {
        let t = load_org(&o);
        let e = explain_org(&t, &o);
        if has_tls001(&e) {
            let result = check::check(&t, &check_options(), &|_| {});
            let site = t.server(e.mailbox_server).site.expect("in a site");
            let found = result.exposures.iter().any(|x| x.code == Code::Tls001
                && x.recipient_domain == "fabrikam.com"
                && x.failure_set.is_empty()
                && x.origin_sites.contains(&site)
                && x.origin_servers.contains(&e.origin));
            prop_assert!(found,
                "route: TLS001 from {} ({:?}); check at K=0: {:?}\n{}",
                t.server(e.origin).name,
                e.submission.reason,
                result.exposures.iter().map(|x| format!("{} {} {:?} servers {:?} sites {:?}", x.code, x.recipient_domain, x.failure_set,
                    names(&t, &x.origin_servers),
                    x.origin_sites.iter().map(|&s| t.site(s).name.clone()).collect::<Vec<_>>())).collect::<Vec<_>>(),
                case(&o));
        }
    }
}
