//! The report formats (SPEC §6.2): SARIF valid against the 2.1.0 model, JUnit well-formed XML,
//! self-contained HTML, snapshots of every format for the demo, `explain`, and the `reports/`
//! directory kept current.

use crate::support::repo;

fn tlsflow(args: &[&str]) -> (Option<i32>, String) {
    let out = assert_cmd::Command::cargo_bin("tlsflow")
        .expect("binary")
        .current_dir(repo(""))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("utf-8"),
    )
}

const DEMO: &str = "scenarios/seed-cross-site-tls-loss.yaml";
const TOPOLOGY: &str = "scenarios/topologies/contoso-cross-site.yaml";
const AT: &str = "2026-06-01T00:00:00Z";

fn sarif_is_valid(text: &str) -> serde_json::Value {
    let typed: serde_sarif::sarif::Sarif =
        serde_json::from_str(text).expect("deserialises into the SARIF 2.1.0 model");
    let value = serde_json::to_value(&typed).expect("round trip");
    assert_eq!(value["version"], "2.1.0");
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn sarif_of_check_points_at_the_connector_line() {
    let (code, text) = tlsflow(&[
        "check",
        TOPOLOGY,
        "--at",
        AT,
        "--format",
        "sarif",
        "--no-fixes",
    ]);
    assert_eq!(code, Some(1));
    let sarif = sarif_is_valid(&text);
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(rules, ["TLS001", "TLS003"]);
    let tls001 = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "TLS001")
        .expect("TLS001");
    let location = &tls001["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        TOPOLOGY
    );
    // `send_connectors[0]` ("Internet") starts on line 66 of the topology file.
    let line = location["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .expect("line");
    let file = std::fs::read_to_string(repo(TOPOLOGY)).expect("topology");
    assert!(
        file.lines()
            .nth(usize::try_from(line).expect("line") - 1)
            .expect("that line")
            .contains("name: Internet")
    );
    assert_eq!(
        location["logicalLocations"][0]["fullyQualifiedName"],
        "/send_connectors/0"
    );
    let fp = tls001["partialFingerprints"]["tlsflowFinding/v1"]
        .as_str()
        .expect("fingerprint");
    let (_, again) = tlsflow(&[
        "check",
        TOPOLOGY,
        "--at",
        AT,
        "--format",
        "sarif",
        "--no-fixes",
    ]);
    assert!(again.contains(fp), "fingerprints are stable");
}

#[test]
fn sarif_of_validate_points_at_each_diagnostic() {
    let (code, text) = tlsflow(&[
        "validate",
        "tests/data/invalid/cfg012-tls-auth-level-without-require-tls.yaml",
        "--format",
        "sarif",
    ]);
    assert_eq!(code, Some(2));
    let sarif = sarif_is_valid(&text);
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "CFG012");
    assert!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .expect("line")
            > 1
    );
}

#[test]
fn junit_is_well_formed_with_a_failing_case_per_exposed_pair() {
    let (_, text) = tlsflow(&[
        "check",
        TOPOLOGY,
        "--at",
        AT,
        "--format",
        "junit",
        "--no-fixes",
    ]);
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut cases, mut failures) = (0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    "testcase" => cases += 1,
                    "failure" => failures += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Sites HQ and Branch x domain classes fabrikam.com and *, and the exposed copy origin
    // (HQ mail that also goes to a mailbox in Branch -> fabrikam.com).
    assert_eq!(
        (cases, failures),
        (5, 2),
        "Branch -> fabrikam.com and HQ mail copying Branch fail (TLS001 is an error)"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn html_is_self_contained_and_shows_the_violating_path() {
    let (_, html) = tlsflow(&["simulate", DEMO, "--all-variants", "--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for forbidden in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(http",
        "url(//",
    ] {
        assert!(
            !html.contains(forbidden),
            "the HTML must not reference `{forbidden}`"
        );
    }
    // Every `url(...)` is a fragment inside the document (SVG markers).
    assert!(
        html.match_indices("url(")
            .all(|(i, _)| html[i + 4..].starts_with('#'))
    );
    assert!(html.contains("<svg"), "an inline diagram");
    assert!(html.contains("TLS001") && html.contains("BR-MBX1") && html.contains("HQ-MBX1"));
    assert!(html.contains("What it detects"), "the codes' documentation");
}

#[test]
fn markdown_audit_of_the_demo() {
    let (_, md) = tlsflow(&["simulate", DEMO, "--all-variants", "--format", "markdown"]);
    assert!(md.contains("sha256"), "the files' hashes");
    insta::assert_snapshot!(md);
}

#[test]
fn explain_every_code() {
    for code in tlsflow::model::Code::ALL {
        let (status, text) = tlsflow(&["explain", code.as_str()]);
        assert_eq!(status, Some(0));
        for section in ["What it detects", "Why it matters", "Example", "Fix"] {
            assert!(text.contains(section), "{code}: {section}");
        }
    }
    insta::assert_snapshot!(tlsflow(&["explain", "tls001"]).1);
    assert_eq!(tlsflow(&["explain", "TLS999"]).0, Some(2));
}

/// `reports/` holds what `tlsflow reports` writes today: regenerate with
/// `cargo run --release -- reports` when this fails.
#[test]
fn the_reports_directory_is_current() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_str().expect("utf-8");
    let (status, _) = tlsflow(&["reports", "--into", out, "--quiet"]);
    assert_eq!(status, Some(0));
    let mut stale = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let fresh = std::fs::read_to_string(dir.path().join(name)).expect("fresh");
        let committed = std::fs::read_to_string(repo("reports").join(name)).unwrap_or_default();
        if fresh != committed {
            stale.push(name.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "stale reports (run `cargo run --release -- reports`): {stale:?}"
    );
    assert!(
        names.len() >= 4 * 9,
        "four formats for every shipped scenario"
    );
}

#[test]
fn junit_of_the_demo_simulation() {
    let (code, text) = tlsflow(&["simulate", DEMO, "--all-variants", "--format", "junit"]);
    assert_eq!(code, Some(1), "TLS001 in the baseline");
    insta::assert_snapshot!(text);
}

#[test]
fn sarif_of_the_demo_simulation_is_valid() {
    let (_, text) = tlsflow(&["simulate", DEMO, "--all-variants", "--format", "sarif"]);
    let sarif = sarif_is_valid(&text);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "TLS001"));
}

#[test]
fn unsupported_formats_are_refused() {
    assert_eq!(
        tlsflow(&[
            "route",
            TOPOLOGY,
            "--from",
            "alice@contoso.com",
            "--to",
            "bob@fabrikam.com",
            "--format",
            "sarif"
        ])
        .0,
        Some(2)
    );
    assert_eq!(
        tlsflow(&["graph", TOPOLOGY, "--format", "junit"]).0,
        Some(2)
    );
}

/// Colour on a terminal only, and never with `NO_COLOR` (SPEC §2). `script` (util-linux) gives
/// the binary a pseudo-terminal.
#[test]
fn colour_on_a_terminal_only_and_no_color_honoured() {
    let bin = assert_cmd::cargo::cargo_bin("tlsflow");
    let command = format!(
        "{} route {TOPOLOGY} --from alice@contoso.com --to bob@fabrikam.com --subject 'top secret' --at {AT}",
        bin.display()
    );
    let run = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"])
            .current_dir(repo(""));
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&cmd.output().expect("script runs").stdout).into_owned()
    };
    assert!(
        run(false).contains("\u{1b}[31merror"),
        "red severity on a terminal"
    );
    assert!(!run(true).contains('\u{1b}'), "no colour with NO_COLOR");
    assert!(
        !tlsflow(&[
            "route",
            TOPOLOGY,
            "--from",
            "alice@contoso.com",
            "--to",
            "bob@fabrikam.com",
            "--subject",
            "top secret",
            "--at",
            AT
        ])
        .1
        .contains('\u{1b}'),
        "no colour into a pipe"
    );
}

#[test]
fn graph_highlights_a_message_or_a_finding() {
    // `:` needs no quoting in bash or PowerShell; `->` (quoted) still works.
    for highlight in [
        "alice@contoso.com:bob@fabrikam.com",
        "alice@contoso.com->bob@fabrikam.com",
        "TLS001",
    ] {
        for format in ["dot", "mermaid", "svg"] {
            let (code, text) = tlsflow(&[
                "graph",
                TOPOLOGY,
                "--highlight",
                highlight,
                "--format",
                format,
                "--at",
                AT,
            ]);
            assert_eq!(code, Some(0), "{highlight} {format}");
            assert!(
                text.contains("#d62728"),
                "{highlight} {format}: the path is red"
            );
            assert!(
                text.contains("mx1.fabrikam.com"),
                "{highlight} {format}: up to the remote host"
            );
        }
    }
    assert_eq!(
        tlsflow(&["graph", TOPOLOGY, "--highlight", "TLS004", "--at", AT]).0,
        Some(2),
        "no such exposure"
    );
}

#[test]
fn schema_command_prints_both_schemas() {
    for (kind, key) in [("topology", "send_connectors"), ("scenario", "variants")] {
        let (code, text) = tlsflow(&["schema", "--kind", kind]);
        assert_eq!(code, Some(0));
        let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert!(
            schema["properties"].get(key).is_some(),
            "{kind} schema has `{key}`"
        );
    }
}
