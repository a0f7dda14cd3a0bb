//! The discrete-event engine: the demo's promised outcome (SPEC §8), Exchange's retry schedule to
//! the minute, determinism, conservation of recipients, and the tracking log.

use tlsflow::model::Code;
use tlsflow::sim::{self, RecipientState, RunOptions, TrackingEvent, TrackingRow, TrackingSink};

use crate::support::repo;

/// Collects tracking rows as (time, server, event, recipient-status).
#[derive(Default)]
struct Rows(Vec<(u64, String, TrackingEvent, String, String)>);

impl TrackingSink for Rows {
    fn row(&mut self, r: &TrackingRow<'_>) {
        self.0.push((
            r.time_ms,
            r.server.to_owned(),
            r.event,
            r.recipients.join(";"),
            r.recipient_status.to_owned(),
        ));
    }
}

const MINUTE: u64 = 60_000;
const DAY: u64 = 86_400_000;

/// SPEC §8: Alice's mail leaves HQ in clear text (TLS001, lost on the Branch -> HQ relay);
/// Dave's is deferred, retried and returned at two days (DLV001); Carol's, from HQ but copied to
/// Alice, is submitted in Branch (reference §1.10) and leaves in clear like Alice's; no variant
/// sends required mail in clear.
#[test]
fn the_demo_shows_the_defect_and_the_variants_close_it() {
    let report = tlsflow::demo::report();
    let baseline = &report.runs[0];
    assert_eq!(baseline.variant, "baseline");
    let tls001: Vec<_> = baseline
        .findings
        .iter()
        .filter(|f| f.code == Code::Tls001)
        .collect();
    assert_eq!(tls001.len(), 2);
    assert_eq!(tls001[0].sender, "alice@contoso.com");
    assert_eq!(tls001[1].sender, "carol@contoso.com");
    assert_eq!(tls001[1].recipient, "bob@fabrikam.com");
    for f in &tls001 {
        let lost = f.lost_at.as_ref().expect("where it was lost");
        assert_eq!(
            (lost.from.as_str(), lost.to.as_str()),
            ("BR-MBX1", "HQ-MBX1"),
            "the rules ran in Branch for {}",
            f.sender
        );
    }
    let dlv001: Vec<_> = baseline
        .findings
        .iter()
        .filter(|f| f.code == Code::Dlv001)
        .collect();
    assert_eq!(dlv001.len(), 1);
    assert_eq!(dlv001[0].sender, "dave@contoso.com");
    assert_eq!(
        dlv001[0].time_ms,
        2 * DAY,
        "NDR exactly at message_expiration_timeout"
    );
    let dave = baseline
        .recipients
        .as_ref()
        .expect("recorded")
        .iter()
        .find(|r| r.sender == "dave@contoso.com")
        .expect("dave");
    assert_eq!(
        dave.status.as_deref(),
        Some("550 4.4.7 QUEUE.Expired; message expired")
    );
    for run in &report.runs[1..] {
        assert!(
            run.findings.iter().all(|f| f.code != Code::Tls001),
            "{}: no clear-text delivery of required mail",
            run.variant
        );
        assert_eq!(run.summary.delivered.none, 0, "{}", run.variant);
    }
    for run in &report.runs {
        assert!(
            run.findings.iter().all(|f| f.code != Code::Exp001),
            "{}: the scenario's expectations hold",
            run.variant
        );
    }
}

/// Reference §4.3: 4 glitch retries 1 minute apart, then 6 transient retries 5 minutes apart,
/// then every 10 minutes; a delay DSN at 4 hours; expiry at 2 days.
#[test]
fn dave_is_retried_on_exchanges_schedule_and_expires_at_two_days() {
    let loaded = tlsflow::demo::scenario();
    let mut rows = Rows::default();
    let result = sim::run(
        &loaded.scenario,
        0,
        &RunOptions {
            seed: 7,
            record_recipients: true,
        },
        &mut rows,
    );
    let defers: Vec<u64> = rows
        .0
        .iter()
        .filter(|(_, server, event, rcpt, _)| {
            *event == TrackingEvent::Defer && server == "HQ-MBX1" && rcpt == "bob@fabrikam.com"
        })
        .map(|(t, ..)| *t)
        .collect();
    // Dave's queue on HQ-MBX1: the first attempt at 0, then the schedule.
    let mut expected = vec![0];
    let mut t = 0;
    for _ in 0..4 {
        t += MINUTE;
        expected.push(t);
    }
    for _ in 0..6 {
        t += 5 * MINUTE;
        expected.push(t);
    }
    for _ in 0..3 {
        t += 10 * MINUTE;
        expected.push(t);
    }
    assert_eq!(
        &defers[..expected.len()],
        &expected[..],
        "retry times in ms"
    );
    assert!(
        defers.iter().all(|&t| t < 2 * DAY),
        "no attempt after expiry"
    );
    let dsn_delay = rows
        .0
        .iter()
        .find(|(_, _, e, _, status)| *e == TrackingEvent::Dsn && status.starts_with("400"))
        .expect("a delay DSN");
    assert_eq!(
        dsn_delay.0,
        4 * 60 * MINUTE,
        "delay DSN at delay_notification_timeout"
    );
    let expired = rows
        .0
        .iter()
        .find(|(_, _, e, _, status)| *e == TrackingEvent::Fail && status.contains("4.4.7"))
        .expect("expiry");
    assert_eq!(expired.0, 2 * DAY);
    let s = &result.summary;
    assert_eq!(
        s.delivered.total() + s.ndr + s.queued,
        s.recipients,
        "every recipient ends in exactly one state"
    );
    assert!(
        result
            .recipients
            .iter()
            .any(|r| matches!(&r.state, RecipientState::Delivered { .. }))
    );
}

fn simulate(args: &[&str]) -> Vec<u8> {
    let out = assert_cmd::Command::cargo_bin("tlsflow")
        .expect("binary")
        .current_dir(repo(""))
        .arg("simulate")
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// SPEC §5.5: the same input and seed give the same bytes (JSON and tracking log); another seed
/// gives other traffic.
#[test]
fn same_seed_same_bytes_other_seed_other_traffic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("traffic.yaml");
    std::fs::write(
        &scenario,
        format!(
            "format: 1\nname: random traffic\ntopology: {}\nseed: 1\nstart: 2026-06-01T00:00:00Z\nduration: 6h\n\
             workload:\n  - site: Branch\n    to: {{fabrikam.com: 1, tailspintoys.com: 3}}\n    rate: 120/h\n    subject: {{\"Top secret: status\": 0.2, \"Lunch\": 0.8}}\n",
            repo("scenarios/topologies/contoso-cross-site.yaml").display()
        ),
    )
    .expect("write scenario");
    let s = scenario.to_str().expect("utf-8 path");
    let log = |name: &str| dir.path().join(name);
    let a = simulate(&[
        s,
        "--format",
        "json",
        "--tracking-log",
        log("a.csv").to_str().expect("path"),
    ]);
    let b = simulate(&[
        s,
        "--format",
        "json",
        "--tracking-log",
        log("b.csv").to_str().expect("path"),
    ]);
    assert_eq!(a, b, "same seed, same JSON");
    assert_eq!(
        std::fs::read(log("a.csv")).expect("a"),
        std::fs::read(log("b.csv")).expect("b"),
        "same seed, same CSV"
    );
    let c = simulate(&[s, "--format", "json", "--seed", "2"]);
    assert_ne!(a, c, "another seed, other traffic");
    let json: serde_json::Value = serde_json::from_slice(&a).expect("JSON");
    let summary = &json["runs"][0]["summary"];
    let delivered: u64 = [
        "none",
        "encrypted",
        "certificate_validated",
        "domain_validated",
    ]
    .iter()
    .map(|k| summary["delivered"][k].as_u64().expect("count"))
    .sum();
    let total = delivered
        + summary["ndr"].as_u64().expect("ndr")
        + summary["queued"].as_u64().expect("queued");
    assert_eq!(total, summary["recipients"].as_u64().expect("recipients"));
    assert!(
        summary["messages"].as_u64().expect("messages") > 100,
        "about 720 messages in 6 hours"
    );
}

/// What an administrator reads: the tracking log of the demo's baseline.
#[test]
fn tracking_log_of_the_demo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("demo.csv");
    simulate(&[
        "scenarios/seed-cross-site-tls-loss.yaml",
        "--tracking-log",
        log.to_str().expect("path"),
        "--quiet",
    ]);
    let text = std::fs::read_to_string(&log).expect("written");
    // The first rows (submission, rules, relay, clear-text send, the first deferrals) and the end.
    let lines: Vec<&str> = text.lines().collect();
    let head = lines[..lines.len().min(16)].join("\n");
    let tail = lines[lines.len().saturating_sub(4)..].join("\n");
    insta::assert_snapshot!(format!("{head}\n...\n{tail}"));
}

/// SPEC §5.4: each finding code has a fixture that produces it (`tests/data/scenarios/`, named
/// after the code); its expectations hold, and its text report is what a person reads.
#[test]
fn each_finding_code_from_its_own_fixture() {
    insta::glob!("../data/scenarios", "*.yaml", |path| {
        let name = path
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        let code = name
            .split('-')
            .next()
            .expect("a code prefix")
            .to_uppercase();
        let loaded = tlsflow::load::scenario::load_scenario(path)
            .unwrap_or_else(|f| panic!("{name}:\n{}", f.render()));
        let s = &loaded.scenario;
        let options = RunOptions {
            seed: s.seed,
            record_recipients: false,
        };
        let runs: Vec<_> = (0..s.runs.len())
            .map(|i| {
                tlsflow::report::simulate::run_report(
                    s,
                    &sim::run(s, i, &options, &mut sim::NullSink),
                    false,
                )
            })
            .collect();
        let findings: Vec<_> = runs.iter().flat_map(|r| r.findings.iter()).collect();
        assert!(
            findings.iter().any(|f| f.code.as_str() == code),
            "{name}: no {code}"
        );
        assert!(
            findings.iter().all(|f| f.code != Code::Exp001),
            "{name}: an expectation failed: {findings:#?}"
        );
        let report = tlsflow::report::simulate::SimulateReport::new(s, s.seed, runs);
        insta::assert_snapshot!(report.to_text(s.start));
    });
}

fn tlsflow_json(args: &[&str]) -> serde_json::Value {
    let out = assert_cmd::Command::cargo_bin("tlsflow")
        .expect("binary")
        .current_dir(repo(""))
        .args(args)
        .args(["--fail-on", "never"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// CI (issue 16): `--fail-on` holds for replications as for one run — a finding in any seed
/// fails the job, in the sharded runs and in their merge too — and flags replications cannot
/// honour are refused instead of ignored.
#[test]
fn replications_fail_the_job_like_one_run() {
    let code = |args: &[&str]| -> (Option<i32>, String) {
        let out = assert_cmd::Command::cargo_bin("tlsflow")
            .expect("binary")
            .current_dir(repo(""))
            .args(args)
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let scenario = "scenarios/same-site-relay.yaml";
    let base = ["simulate", scenario, "--replications", "4"];
    assert_eq!(code(&base).0, Some(1), "TLS001 in a seed: exit 1");
    assert_eq!(
        code(&[&base[..], &["--fail-on", "never"]].concat()).0,
        Some(0)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mut shards = Vec::new();
    for i in 1..=2 {
        let path = dir.path().join(format!("shard{i}.json"));
        let shard = format!("{i}/2");
        let path_text = path.to_str().expect("utf-8").to_owned();
        let args = [
            &base[..],
            &["--shard", &shard, "--format", "json", "--out", &path_text],
        ]
        .concat();
        assert_eq!(code(&args).0, Some(1), "shard {shard}");
        shards.push(path_text);
    }
    let mut merge = vec!["merge"];
    merge.extend(shards.iter().map(String::as_str));
    assert_eq!(code(&merge).0, Some(1), "the merge fails the job too");
    merge.extend(["--fail-on", "never"]);
    assert_eq!(code(&merge).0, Some(0));
    let log = dir.path().join("log.csv");
    let log_text = log.to_str().expect("utf-8");
    for flag in [
        &["--tracking-log", log_text][..],
        &["--recipients"],
        &["--stats"],
    ] {
        let (exit, stderr) = code(&[&base[..], flag].concat());
        assert_eq!(exit, Some(2), "{flag:?}: {stderr}");
        assert!(stderr.contains("cannot be used with"), "{flag:?}: {stderr}");
    }
    assert!(!log.exists(), "no tracking log is written");
}

/// Replications: the share of required mail sent in clear varies with Exchange's choice of the
/// first Transport service (half the servers of the site are exposed); shards merge exactly.
#[test]
fn replications_report_a_confidence_interval_and_shards_merge_exactly() {
    let scenario = "scenarios/same-site-relay.yaml";
    let whole = tlsflow_json(&[
        "simulate",
        scenario,
        "--replications",
        "12",
        "--format",
        "json",
    ]);
    let share = whole["runs"][0]["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["name"] == "required_sent_in_clear_share")
        .expect("the share")
        .clone();
    let (low, high) = (
        share["ci95_low"].as_f64().expect("low"),
        share["ci95_high"].as_f64().expect("high"),
    );
    assert!(
        low < 0.5 && 0.5 < high,
        "the interval [{low}, {high}] holds the expected 50%"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for i in 1..=3 {
        let path = dir.path().join(format!("shard{i}.json"));
        let shard = format!("{i}/3");
        let report = tlsflow_json(&[
            "simulate",
            scenario,
            "--replications",
            "12",
            "--shard",
            &shard,
            "--format",
            "json",
        ]);
        std::fs::write(&path, report.to_string()).expect("write");
        files.push(path.to_str().expect("utf-8").to_owned());
    }
    let mut args = vec!["merge", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    assert_eq!(tlsflow_json(&args), whole, "merged == unsharded");
}

/// SPEC §4: every kind of change (profile; add, remove, modify sites, links, servers,
/// connectors, rules, mailboxes, external domains; transport_config), each checked by the
/// variant's own `expect`.
#[test]
fn every_kind_of_change_does_what_it_says() {
    let loaded =
        tlsflow::load::scenario::load_scenario(&crate::support::data("variants/every-change.yaml"))
            .unwrap_or_else(|f| panic!("{}", f.render()));
    let s = &loaded.scenario;
    assert_eq!(s.runs.len(), 10);
    let options = RunOptions {
        seed: s.seed,
        record_recipients: false,
    };
    for i in 0..s.runs.len() {
        let report = tlsflow::report::simulate::run_report(
            s,
            &sim::run(s, i, &options, &mut sim::NullSink),
            false,
        );
        let failed: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.code == Code::Exp001)
            .map(|f| f.message.as_str())
            .collect();
        assert!(failed.is_empty(), "{}: {failed:?}", s.runs[i].name);
    }
    let t = |name: &str| {
        &s.runs
            .iter()
            .find(|r| r.name == name)
            .expect("variant")
            .topology
    };
    assert!(
        t("hub-and-cost")
            .site(t("hub-and-cost").site_by_name("HQ").expect("HQ"))
            .hub
    );
    assert_eq!(t("new-site").sites.len(), 3);
    assert_eq!(t("new-site-removed").sites.len(), 2);
    assert_eq!(
        t("new-site-removed").mailboxes.len(),
        2,
        "alice and carol remain"
    );
}

/// A change that names nothing, or makes the organisation invalid, is reported at the change,
/// in the scenario file.
#[test]
fn bad_changes_are_reported_at_the_change() {
    let failure = tlsflow::load::scenario::load_scenario(std::path::Path::new(
        "tests/data/variants/bad-changes.yaml",
    ))
    .expect_err("invalid");
    let text = failure.source.as_ref().map_or("", |s| s.text.as_str());
    let rendered: Vec<String> = failure.diagnostics.iter().map(|d| d.render(text)).collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

/// Every finding is counted, but only the first `FINDINGS_KEPT_PER_GROUP` of each (code, origin
/// site, connector) are kept: a week of a large organisation cannot fill memory with findings,
/// and expectations, the text report and replications count them all.
#[test]
fn findings_are_all_counted_but_only_the_first_of_each_kind_are_kept() {
    let loaded = tlsflow::load::scenario::load_scenario(&repo("scenarios/busy-week.yaml"))
        .expect("busy-week loads");
    let mut scenario = loaded.scenario;
    // Ten times the traffic: about 250,000 messages, several hundred TLS001.
    for w in &mut scenario.workload {
        w.rate_per_hour *= 10.0;
    }
    let options = RunOptions {
        seed: 1,
        record_recipients: false,
    };
    let run = sim::run(&scenario, 0, &options, &mut sim::NullSink);
    let counted: u64 = run.finding_counts.values().sum();
    assert!(run.findings_omitted > 0, "{:?}", run.finding_counts);
    assert_eq!(counted, run.findings.len() as u64 + run.findings_omitted);
    let mut groups = std::collections::BTreeMap::new();
    for f in &run.findings {
        *groups
            .entry((f.code, f.origin_site.clone(), f.connector.clone()))
            .or_insert(0u64) += 1;
    }
    assert!(groups.values().all(|&n| n <= sim::FINDINGS_KEPT_PER_GROUP));
    assert!(groups.values().any(|&n| n == sim::FINDINGS_KEPT_PER_GROUP));
    let report = tlsflow::report::simulate::run_report(&scenario, &run, false);
    let text = {
        let mut r = tlsflow::report::simulate::SimulateReport::new(&scenario, 1, Vec::new());
        r.runs.push(report);
        r.to_text(scenario.start)
    };
    let tls001 = run.finding_counts[&Code::Tls001];
    assert!(
        text.contains(&format!("and {} more TLS001", tls001 - 5)),
        "the text counts every TLS001 ({tls001}):\n{text}"
    );
    assert!(text.contains("findings counted, not kept"), "{text}");
    // The auditor's summary counts every finding too, and says the list is partial.
    let mut full = tlsflow::report::simulate::SimulateReport::new(&scenario, 1, Vec::new());
    full.runs.push(tlsflow::report::simulate::run_report(
        &scenario, &run, false,
    ));
    let audit =
        tlsflow::report::audit::of_simulation(&full, &[], &std::collections::BTreeMap::default());
    let markdown = tlsflow::report::markdown::render(&audit);
    assert!(
        markdown.contains(&format!("| {tls001} |")),
        "the summary has the full TLS001 count {tls001}:\n{markdown}"
    );
    assert!(
        markdown.contains("listed (past the first 100"),
        "{markdown}"
    );
}

/// Issue 13 point 6: `simulate` draws the order of equal-preference MX hosts at each attempt
/// from its seed, so both fates occur over a run (the scenario's `expect` says so), and the
/// same seed gives the same split.
#[test]
fn equal_preference_mx_order_is_drawn_per_attempt() {
    let loaded = tlsflow::load::scenario::load_scenario(&crate::support::data(
        "mx/equal-preference-over-time.yaml",
    ))
    .expect("loads");
    let s = &loaded.scenario;
    let options = RunOptions {
        seed: s.seed,
        record_recipients: false,
    };
    let counts = || {
        let r = sim::run(s, 0, &options, &mut sim::NullSink);
        let report = tlsflow::report::simulate::run_report(s, &r, false);
        assert!(
            report.findings.iter().all(|f| f.code != Code::Exp001),
            "{:?}",
            report.findings
        );
        (
            r.finding_counts.get(&Code::Tls001).copied(),
            r.finding_counts.get(&Code::Tls003).copied(),
        )
    };
    let first = counts();
    assert!(
        first.0.is_some_and(|n| n > 0) && first.1.is_some_and(|n| n > 0),
        "{first:?}"
    );
    assert_eq!(counts(), first, "same seed, same split");
}

/// Issue 13 point 5: the engine applies the same size limits as `route` (the site link's, the
/// organisation's send and receive limits): three NDRs and one delivery, with Exchange's
/// status codes.
#[test]
fn size_limits_are_applied_by_the_engine() {
    let report = baseline_with_recipients("sizes/size-limits-over-time.yaml");
    assert!(
        report.findings.iter().all(|f| f.code != Code::Exp001),
        "{:?}",
        report.findings
    );
    let mut statuses: Vec<String> = report
        .recipients
        .as_ref()
        .expect("recorded")
        .iter()
        .filter_map(|r| r.status.as_deref())
        .map(|st| st.split(';').next().unwrap_or(st).to_owned())
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            "550 5.2.3 RESOLVER.RST.RecipSizeLimit",
            "550 5.2.3 RESOLVER.RST.SendSizeLimit.Org",
            "550 5.3.4 ROUTING.SizeLimit"
        ]
    );
}

/// Issue 13 point 10: a message queued at the point of failure waits in the queue of the hop it
/// could not take, named with Exchange's delivery type (SmtpRelayToConnectorSourceServers), in
/// Retry status — not in a queue whose delivery type is "Retry".
#[test]
fn a_queue_is_named_by_its_delivery_type_and_retry_is_its_status() {
    let report = baseline_with_recipients("queues/queued-at-the-point-of-failure.yaml");
    let queued: Vec<String> = report
        .recipients
        .as_ref()
        .expect("recorded")
        .iter()
        .filter_map(|r| r.reason.clone())
        .collect();
    let text = format!("{queued:?}");
    assert!(
        text.contains("queue SmtpRelayToConnectorSourceServers:") && text.contains("(Retry)"),
        "{text}"
    );
    assert!(!text.contains("queue Retry:"), "{text}");
}

/// The baseline run of a fixture scenario under `tests/data/`, with every recipient's outcome.
fn baseline_with_recipients(fixture: &str) -> tlsflow::report::simulate::RunReport {
    let loaded = tlsflow::load::scenario::load_scenario(&crate::support::data(fixture))
        .unwrap_or_else(|f| panic!("{fixture}:\n{}", f.render()));
    let s = &loaded.scenario;
    let options = RunOptions {
        seed: s.seed,
        record_recipients: true,
    };
    tlsflow::report::simulate::run_report(s, &sim::run(s, 0, &options, &mut sim::NullSink), true)
}

/// Issue 13 point 9: whether a routing change re-routes a message already in a Retry queue at
/// once or only after MaxIdleTimeBeforeResubmit (12 h) is the UNCONFIRMED profile setting
/// `retry_queue_reroute`. The same run leaves by the new connector at 30 minutes under
/// `at_once`, and only past 12 hours under `after_max_idle` (the default).
#[test]
fn a_routing_change_reaches_a_retry_queue_as_the_profile_says() {
    use tlsflow::model::profile::RetryReroute;
    let loaded = tlsflow::load::scenario::load_scenario(&crate::support::data(
        "queues/routing-change-during-retry.yaml",
    ))
    .expect("loads");
    let delivered_at = |behaviour: RetryReroute| {
        let mut s = loaded.scenario.clone();
        s.runs[0].topology.profile.retry_queue_reroute.behaviour = behaviour;
        let options = RunOptions {
            seed: s.seed,
            record_recipients: true,
        };
        let report = tlsflow::report::simulate::run_report(
            &s,
            &sim::run(&s, 0, &options, &mut sim::NullSink),
            true,
        );
        let r = &report.recipients.as_ref().expect("recorded")[0];
        assert_eq!(r.outcome, "delivered", "{r:?}");
        assert!(
            r.hops
                .iter()
                .any(|h| h.contains("BR-MBX1 -> mx.internet.example")),
            "{r:?}"
        );
        r.time_ms
    };
    let minute = 60_000;
    let at_once = delivered_at(RetryReroute::AtOnce);
    assert_eq!(at_once, 30 * minute, "resubmitted when Backup is enabled");
    let after_idle = delivered_at(RetryReroute::AfterMaxIdle);
    assert!(
        after_idle >= minute + 12 * 60 * minute && after_idle < 13 * 60 * minute,
        "resubmitted after 12 h idle in Retry: {after_idle} ms"
    );
}
