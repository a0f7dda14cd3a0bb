//! The embedded demo (SPEC §8): `scenarios/seed-cross-site-tls-loss.yaml` and its topology,
//! compiled into the binary, simulated with all their variants, followed by a one-line-per-variant
//! summary of Alice's, Dave's and Carol's messages to bob.

use std::fmt::Write as _;

use crate::load::scenario::{LoadedScenario, scenario_with_topology};
use crate::load::{self, SourceFile};
use crate::model::Topology;
use crate::report::simulate::{RunReport, SimulateReport, run_report};
use crate::sim::{NullSink, RunOptions};

/// The demo scenario and its topology, compiled in.
pub const SCENARIO_YAML: &str = include_str!("../scenarios/seed-cross-site-tls-loss.yaml");
pub const SCENARIO_NAME: &str = "scenarios/seed-cross-site-tls-loss.yaml";
pub const TOPOLOGY_YAML: &str = include_str!("../scenarios/topologies/contoso-cross-site.yaml");
pub const TOPOLOGY_NAME: &str = "scenarios/topologies/contoso-cross-site.yaml";

/// The demo scenario, loaded.
pub fn scenario() -> LoadedScenario {
    let source = SourceFile {
        name: SCENARIO_NAME.to_owned(),
        text: SCENARIO_YAML.to_owned(),
        base_dir: None,
    };
    let topology = SourceFile {
        name: TOPOLOGY_NAME.to_owned(),
        text: TOPOLOGY_YAML.to_owned(),
        base_dir: None,
    };
    scenario_with_topology(source, Some(topology)).expect("the embedded demo scenario is valid")
}

/// The demo topology, loaded.
pub fn topology() -> Topology {
    let source = SourceFile {
        name: TOPOLOGY_NAME.to_owned(),
        text: TOPOLOGY_YAML.to_owned(),
        base_dir: None,
    };
    load::topology_from_source(source)
        .expect("the embedded demo topology is valid")
        .topology
}

/// Runs every variant of the demo scenario.
pub fn report() -> SimulateReport {
    let loaded = scenario();
    let s = &loaded.scenario;
    let options = RunOptions {
        seed: s.seed,
        record_recipients: true,
    };
    let runs = (0..s.runs.len())
        .map(|i| run_report(s, &crate::sim::run(s, i, &options, &mut NullSink), true))
        .collect();
    SimulateReport::new(s, s.seed, runs)
}

/// The demo's text report.
pub fn run() -> String {
    let loaded = scenario();
    let mut report = report();
    let mut out = String::new();
    out.push_str(
        "tlsflow demo (docs/evidence.md#demo): Contoso has sites HQ and Branch; the only Internet Send connector is\n\
         sourced on HQ-MBX1; a transport rule requires TLS for mail whose subject contains \"top\n\
         secret\"; fabrikam.com's MX does not offer STARTTLS. Alice (Branch) and Dave (HQ) each send\n\
         a top-secret mail to bob@fabrikam.com; Carol (HQ) sends one to bob that also goes to\n\
         Alice. Scenario: scenarios/seed-cross-site-tls-loss.yaml\n\n",
    );
    let table = what_if_table(&report.runs);
    // The full per-recipient list is for `--recipients`; the demo shows the table instead.
    for run in &mut report.runs {
        run.recipients = None;
    }
    out.push_str(&report.to_text(loaded.scenario.start));
    out.push_str("\n=== what if ===\n\n");
    out.push_str(&table);
    out.push_str(
        "\nAlice's requirement is dropped on the Branch -> HQ relay and HQ sends in clear text.\n\
         Dave's message, sent from the connector's own source server, is retried and returned after\n\
         two days: the guarantee held. Carol sits in HQ too, but her message also goes to Alice's\n\
         mailbox, so Exchange submits it in Branch: the rules run there and bob's copy leaves in\n\
         clear text like Alice's. Explain one message hop by hop with\n  \
         tlsflow route scenarios/topologies/contoso-cross-site.yaml --from carol@contoso.com \\\n    \
         --to bob@fabrikam.com --cc alice@contoso.com --subject \"Top secret\"\n",
    );
    out
}

/// One line per variant: what happened to bob's copy of Alice's, Dave's and Carol's message.
fn what_if_table(runs: &[RunReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<21} {:<19} {:<19} carol, cc alice",
        "variant", "alice -> bob", "dave -> bob"
    );
    for run in runs {
        let cell = |sender: &str| {
            let bob = "bob@fabrikam.com";
            let Some(r) = run
                .recipients
                .as_ref()
                .and_then(|rs| rs.iter().find(|r| r.sender == sender && r.recipient == bob))
            else {
                return "-".to_owned();
            };
            let day = |ms: u64| crate::model::Millis(ms);
            let what = match (r.outcome, r.tls, &r.status) {
                ("delivered", Some(t), _) if t.as_str() == "none" => "IN CLEAR".to_owned(),
                ("delivered", Some(t), _) => format!("delivered, tls {t}"),
                ("ndr", _, Some(s)) => format!(
                    "ndr {} at {}",
                    s.split(' ').nth(1).unwrap_or(s),
                    day(r.time_ms)
                ),
                (o, _, _) => o.to_owned(),
            };
            let code = run
                .findings
                .iter()
                .find(|f| {
                    f.sender == sender
                        && f.recipient == bob
                        && f.code.severity() >= crate::model::Severity::Warning
                })
                .map_or_else(String::new, |f| format!(" {}", f.code));
            format!("{what}{code}")
        };
        let _ = writeln!(
            out,
            "{:<21} {:<19} {:<19} {}",
            run.variant,
            cell("alice@contoso.com"),
            cell("dave@contoso.com"),
            cell("carol@contoso.com")
        );
    }
    out
}
