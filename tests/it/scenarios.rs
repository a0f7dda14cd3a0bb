//! Every shipped scenario is a CI test: its `expect` block (SPEC §4) holds for the baseline and
//! every variant, i.e. the simulation produces no `EXP001` finding.

use std::path::PathBuf;

use tlsflow::load::scenario::load_scenario;
use tlsflow::model::Code;
use tlsflow::report::simulate::run_report;
use tlsflow::sim::{NullSink, RunOptions, run};

use crate::support::repo;

/// `scenarios/*.yaml`, sorted; the topologies under `scenarios/topologies/` are not scenarios.
fn shipped_scenarios() -> Vec<PathBuf> {
    let dir = repo("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_meets_its_expectations() {
    let files = shipped_scenarios();
    assert!(!files.is_empty(), "no scenarios found under scenarios/");
    let mut failures = Vec::new();
    for path in &files {
        let file = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let loaded = match load_scenario(path) {
            Ok(loaded) => loaded,
            Err(failure) => {
                failures.push(format!("{file}: does not load:\n{}", failure.render()));
                continue;
            }
        };
        let scenario = &loaded.scenario;
        if !scenario
            .expect
            .keys()
            .any(|k| k.eq_ignore_ascii_case("baseline"))
        {
            failures.push(format!(
                "{file}: no `expect` entry for the baseline (every shipped scenario is a test)"
            ));
        }
        let options = RunOptions {
            seed: scenario.seed,
            record_recipients: false,
        };
        for i in 0..scenario.runs.len() {
            let result = run(scenario, i, &options, &mut NullSink);
            // The EXP001 message names the variant and the line of its `expect` entry.
            let report = run_report(scenario, &result, false);
            for finding in report.findings.iter().filter(|f| f.code == Code::Exp001) {
                failures.push(format!("{file} ({}): {}", scenario.name, finding.message));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed expectation(s) in {} shipped scenario(s):\n  {}",
        failures.len(),
        files.len(),
        failures.join("\n  ")
    );
}
