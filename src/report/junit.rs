//! JUnit XML (SPEC §6.2): one test case per (origin site, recipient domain), failed when it has
//! findings at or above `--fail-on`, so that a CI system shows each exposed pair as a failing
//! test.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_xml::escape::escape;

use crate::model::{OTHER_DOMAIN, Severity, Topology};

use super::check::CheckReport;
use super::simulate::SimulateReport;

/// A finding attached to a test case.
struct Failure {
    code: String,
    message: String,
}

/// One suite: (site, domain) -> failures at or above the threshold.
struct Suite {
    name: String,
    cases: BTreeMap<(String, String), Vec<Failure>>,
}

fn pairs(topology: &Topology) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for site in topology.sites.iter() {
        for d in topology.domain_classes() {
            let domain = if d == OTHER_DOMAIN { "*".to_owned() } else { d };
            out.push((site.name.clone(), domain));
        }
    }
    out
}

fn counts(fail_on: Option<Severity>, severity: Severity) -> bool {
    fail_on.is_some_and(|f| severity >= f)
}

/// The JUnit XML of a check: every (origin site, domain class) of the topology is a test case.
pub fn from_check(r: &CheckReport, topology: &Topology, fail_on: Option<Severity>) -> String {
    let mut cases: BTreeMap<(String, String), Vec<Failure>> = pairs(topology)
        .into_iter()
        .map(|p| (p, Vec::new()))
        .collect();
    for e in r.exposures.iter().filter(|e| counts(fail_on, e.severity)) {
        let failures = if e.failure_set.is_empty() {
            "no failure".to_owned()
        } else {
            format!("down: {}", e.failure_set.join(", "))
        };
        cases
            .entry((e.origin_label().to_owned(), e.recipient_domain.clone()))
            .or_default()
            .push(Failure {
                code: e.code.as_str().to_owned(),
                message: format!("{} ({failures}): {}", e.code, e.message),
            });
    }
    render(&[Suite {
        name: format!("tlsflow check {}", r.topology),
        cases,
    }])
}

/// The JUnit XML of a simulation: one suite per run; a case per (origin site, recipient domain)
/// of the topology, plus any pair a finding names.
pub fn from_simulate(
    r: &SimulateReport,
    topologies: &[(String, &Topology)],
    fail_on: Option<Severity>,
) -> String {
    let suites: Vec<Suite> = r
        .runs
        .iter()
        .map(|run| {
            let topology = topologies
                .iter()
                .find(|(n, _)| *n == run.variant)
                .map(|(_, t)| *t);
            let mut cases: BTreeMap<(String, String), Vec<Failure>> = topology
                .map(pairs)
                .unwrap_or_default()
                .into_iter()
                .map(|p| (p, Vec::new()))
                .collect();
            for f in run.findings.iter().filter(|f| counts(fail_on, f.severity)) {
                let domain = f
                    .recipient
                    .rsplit_once('@')
                    .map_or(f.recipient.clone(), |(_, d)| d.to_owned());
                let domain = if topology
                    .is_some_and(|t| t.external_domains.iter().any(|d| d.domain == domain))
                    || domain.is_empty()
                {
                    domain
                } else {
                    "*".to_owned()
                };
                let key = if f.origin_site.is_empty() {
                    ("(scenario)".to_owned(), "expect".to_owned())
                } else {
                    (f.origin_site.clone(), domain)
                };
                cases.entry(key).or_default().push(Failure {
                    code: f.code.as_str().to_owned(),
                    message: f.message.clone(),
                });
            }
            Suite {
                name: format!("tlsflow simulate {} ({})", r.scenario, run.variant),
                cases,
            }
        })
        .collect();
    render(&suites)
}

/// One suite of cases named by (first part, second part), each with its (code, message)
/// failures; for reports that are not a check's or a simulation's (`tlsflow logs`).
pub fn render_cases(
    name: &str,
    cases: &BTreeMap<(String, String), Vec<(String, String)>>,
) -> String {
    render(&[Suite {
        name: name.to_owned(),
        cases: cases
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.iter()
                        .map(|(code, message)| Failure {
                            code: code.clone(),
                            message: message.clone(),
                        })
                        .collect(),
                )
            })
            .collect(),
    }])
}

fn render(suites: &[Suite]) -> String {
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failed: usize = suites
        .iter()
        .map(|s| s.cases.values().filter(|f| !f.is_empty()).count())
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"tlsflow\" tests=\"{total}\" failures=\"{failed}\">"
    );
    for s in suites {
        let failed = s.cases.values().filter(|f| !f.is_empty()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
            escape(&s.name),
            s.cases.len()
        );
        for ((site, domain), failures) in &s.cases {
            let name = format!("{site} -> {domain}");
            if failures.is_empty() {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\"/>",
                    escape(site.as_str()),
                    escape(&name)
                );
                continue;
            }
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\">",
                escape(site.as_str()),
                escape(&name)
            );
            let codes: Vec<&str> = failures.iter().map(|f| f.code.as_str()).collect();
            let text: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                escape(codes.join(",")),
                escape(format!(
                    "{} finding(s): {}",
                    failures.len(),
                    codes.join(", ")
                )),
                escape(text.join("\n"))
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
