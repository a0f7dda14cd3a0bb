//! The embedded demo (SPEC §8): the defect, explained with `route` for Alice (Branch) and Dave
//! (HQ), then the same two messages under the what-if variants. Runs on the topology compiled
//! into the binary, the same file as `scenarios/topologies/contoso-cross-site.yaml`.

use std::fmt::Write as _;

use crate::load::{self, SourceFile};
use crate::model::{Bytes, Faults, SendConnector, Timestamp, Topology};
use crate::policy::{self, Request, Sender};
use crate::report;

/// The demo topology, compiled in.
pub const TOPOLOGY_YAML: &str = include_str!("../scenarios/topologies/contoso-cross-site.yaml");
/// Its name in reports.
pub const TOPOLOGY_NAME: &str = "scenarios/topologies/contoso-cross-site.yaml";

/// The demo judges certificates at a fixed instant so that its output never changes.
const AT: &str = "2026-06-01T08:00:00Z";

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

fn request(sender: &str, at: Timestamp) -> Request {
    Request {
        sender: Sender::Address(sender.to_owned()),
        sender_text: sender.to_owned(),
        recipient: "bob@fabrikam.com".to_owned(),
        subject: "Top secret merger plans".to_owned(),
        size: Bytes(120 * 1024),
        at,
    }
}

/// The demo's text report.
pub fn run() -> String {
    let baseline = topology();
    let at = load::values::instant(AT).expect("a valid instant");
    let mut out = String::new();
    out.push_str(
        "tlsflow demo: Contoso, sites HQ and Branch; the only Internet Send connector is sourced on\n\
         HQ-MBX1; a transport rule requires TLS for mail whose subject contains \"top secret\";\n\
         fabrikam.com's MX does not offer STARTTLS. Alice (Branch) and Dave (HQ) each send a\n\
         top-secret mail to bob@fabrikam.com. (Topology: scenarios/topologies/contoso-cross-site.yaml)\n\n",
    );
    for sender in ["alice@contoso.com", "dave@contoso.com"] {
        let _ = writeln!(out, "=== {sender}, profile {} ===\n", baseline.profile.name);
        out.push_str(&explain_text(&baseline, &request(sender, at)));
        out.push('\n');
    }
    out.push_str("=== what if ===\n\n");
    let _ = writeln!(out, "{:<36} {:<29} dave -> bob", "variant", "alice -> bob");
    for (name, topology) in variants(&baseline) {
        let cell = |sender: &str| summary(&topology, &request(sender, at));
        let _ = writeln!(
            out,
            "{name:<36} {:<29} {}",
            cell("alice@contoso.com"),
            cell("dave@contoso.com")
        );
    }
    out.push_str(
        "\n\"deferred\" means Exchange retries (451 5.7.3) until the message expires and is returned\n\
         with 550 4.4.7 QUEUE.Expired after 2 days: the guarantee held. Run `tlsflow route --help`\n\
         to explain your own messages, and `tlsflow validate` to lint a topology.\n",
    );
    out
}

fn explain_text(topology: &Topology, request: &Request) -> String {
    match policy::explain(topology, request, &Faults::none()) {
        Ok(e) => report::route_report(topology, &e).to_text(),
        Err(e) => format!("error: {e}\n"),
    }
}

/// One cell of the what-if table: the outcome and the worst finding.
fn summary(topology: &Topology, request: &Request) -> String {
    match policy::explain(topology, request, &Faults::none()) {
        Ok(e) => {
            let r = report::route_report(topology, &e);
            let tls = r.tls.map_or_else(String::new, |t| format!(" (tls {t})"));
            // The enhanced status code of an NDR (`550 5.7.30 ...` -> `5.7.30`).
            let code = r
                .status
                .as_deref()
                .filter(|_| r.outcome == "ndr")
                .and_then(|s| s.split(' ').nth(1));
            let code = code.map_or_else(String::new, |c| format!(" {c}"));
            let finding = r
                .findings
                .first()
                .map_or_else(String::new, |f| format!(" {}", f.code));
            format!("{}{tls}{code}{finding}", r.outcome)
        }
        Err(e) => format!("error: {e}"),
    }
}

/// The variants of SPEC §8: the baseline, two profiles, and a connector in Branch.
fn variants(baseline: &Topology) -> Vec<(String, Topology)> {
    let mut out = vec![("baseline (exchange2013)".to_owned(), baseline.clone())];
    for name in ["exchange-fixed", "requiretls"] {
        let mut t = baseline.clone();
        t.profile = load::profile::builtin(name).expect("built-in profile");
        out.push((format!("profile {name}"), t));
    }
    let mut t = baseline.clone();
    if let (Some(internet), Some(branch)) =
        (t.connector_by_name("Internet"), t.server_by_name("BR-MBX1"))
    {
        let connector = SendConnector {
            name: "Branch-Internet".to_owned(),
            source_servers: vec![branch],
            ..t.connector(internet).clone()
        };
        t.send_connectors.push(connector);
        out.push(("connector Branch-Internet (BR-MBX1)".to_owned(), t));
    }
    out
}
