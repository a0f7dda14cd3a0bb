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

/// The official OASIS SARIF 2.1.0 schema (`tests/data/sarif/PROVENANCE.md`), compiled once.
pub(crate) fn sarif_schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(repo("tests/data/sarif/sarif-schema-2.1.0.json"))
            .expect("the SARIF schema");
        // The official schema's own `run.language` pattern has an unbalanced `]`, which fails
        // its meta-schema's `regex` format: that one pattern is mended here, in memory (the
        // file stays byte for byte the official one). Every format is then checked (uri,
        // uri-reference, date-time, ...).
        let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
        assert!(text.contains(broken), "the known erratum");
        let text = text.replace(broken, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
        let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles")
    })
}

/// Valid against the official SARIF 2.1.0 schema and the `serde-sarif` model; returns the JSON.
fn sarif_is_valid(text: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(text).expect("JSON");
    let errors: Vec<String> = sarif_schema()
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
    let typed: serde_sarif::sarif::Sarif =
        serde_json::from_str(text).expect("deserialises into the SARIF 2.1.0 model");
    let round = serde_json::to_value(&typed).expect("round trip");
    assert_eq!(round["version"], "2.1.0");
    value
}

/// Code scanning (issue 16): every SARIF log tlsflow ships or writes — the shipped reports,
/// check, validate, a simulation with variants, input that does not load — is valid against
/// the official schema; URIs are relative to %SRCROOT%, percent-encoded, with forward slashes;
/// each security rule carries `security-severity` and the `security` tag (TLS001 High); a
/// what-if variant's findings are left out, and named.
#[test]
fn every_sarif_log_is_valid_and_ready_for_code_scanning() {
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(repo("reports")).expect("reports") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "sarif") {
            logs.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).expect("readable"),
            ));
        }
    }
    assert!(logs.len() >= 5, "{}", logs.len());
    for args in [
        &["check", TOPOLOGY, "--failures", "1", "--at", AT][..],
        &["validate", "scenarios/topologies/hub-site-chain.yaml"],
        &["simulate", DEMO, "--all-variants"],
        &[
            "validate",
            "tests/data/invalid/cfg002-unknown-key-hubb.yaml",
        ],
        &[
            "check",
            "tests/data/invalid/cfg005-unknown-mailbox-server.yaml",
        ],
    ] {
        let (_, text) = tlsflow(&[args, &["--format", "sarif"]].concat());
        logs.push((args.join(" "), text));
    }
    for (name, text) in &logs {
        let sarif = sarif_is_valid(text);
        let run = &sarif["runs"][0];
        assert!(run["originalUriBaseIds"]["%SRCROOT%"].is_object(), "{name}");
        for result in run["results"].as_array().expect("results") {
            let location = &result["locations"][0]["physicalLocation"]["artifactLocation"];
            let uri = location["uri"].as_str().expect("a uri");
            assert_eq!(location["uriBaseId"], "%SRCROOT%", "{name}: {uri}");
            assert!(
                !uri.starts_with('/') && !uri.contains('\\') && !uri.contains(' '),
                "{name}: {uri}"
            );
        }
        for rule in run["tool"]["driver"]["rules"].as_array().expect("rules") {
            let tags = rule["properties"]["tags"].as_array().expect("tags");
            let security = tags.iter().any(|t| t == "security");
            let severity = rule["properties"]["security-severity"].as_str();
            assert_eq!(security, severity.is_some(), "{name}: {rule}");
            if rule["id"] == "TLS001" {
                let high: f64 = severity
                    .expect("TLS001 is a security alert")
                    .parse()
                    .expect("a number");
                assert!(
                    (7.0..9.0).contains(&high),
                    "{name}: TLS001 is High, not {high}"
                );
            }
        }
    }
    // The demo's variants are what-ifs: only the baseline's findings are alerts.
    let (_, text) = tlsflow(&["simulate", DEMO, "--all-variants", "--format", "sarif"]);
    let sarif = sarif_is_valid(&text);
    let left_out = sarif["runs"][0]["properties"]["variantsLeftOut"]
        .as_array()
        .expect("the variants left out");
    assert!(!left_out.is_empty());
    for result in sarif["runs"][0]["results"].as_array().expect("results") {
        let message = result["message"]["text"].as_str().expect("a message");
        assert!(
            left_out.iter().all(|v| !message.starts_with(&format!("variant {}:", v.as_str().expect("a name")))),
            "{message}"
        );
    }
}

/// `--sarif-root`: a path with a space, `#` and a non-ASCII letter is percent-encoded under
/// the named root, and the root's own URI is written; outside it, an absolute `file:` URI.
#[test]
fn sarif_uris_are_relative_and_encoded() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let folder = dir.path().join("a b#c");
    std::fs::create_dir(&folder).expect("a folder");
    let file = folder.join("t é.yaml");
    std::fs::copy(repo(TOPOLOGY), &file).expect("copied");
    let file_text = file.to_str().expect("utf-8");
    let root = dir.path().to_str().expect("utf-8");
    let (_, text) = tlsflow(&[
        "check",
        file_text,
        "--no-fixes",
        "--at",
        AT,
        "--format",
        "sarif",
        "--sarif-root",
        root,
    ]);
    let sarif = sarif_is_valid(&text);
    let run = &sarif["runs"][0];
    let location = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uri"], "a%20b%23c/t%20%C3%A9.yaml", "{location}");
    assert_eq!(location["uriBaseId"], "%SRCROOT%");
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("the root's URI");
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    let (_, text) = tlsflow(&[
        "check",
        file_text,
        "--no-fixes",
        "--at",
        AT,
        "--format",
        "sarif",
        "--sarif-root",
        "tests",
    ]);
    let sarif = sarif_is_valid(&text);
    let uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .expect("a uri");
    assert!(
        uri.starts_with("file:///") && uri.ends_with("a%20b%23c/t%20%C3%A9.yaml"),
        "{uri}"
    );
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

/// The audit of a large organisation (issue 16): on a generated 30-site organisation, the
/// first diagram is the violation's — only the sites of its path and their neighbours, with
/// the path in red, before the matrix — and it scales to the page; the matrix of origin sites ×
/// recipient domains folds sites whose rows read alike; the whole topology is an appendix that
/// prints on its own page; the banner is red, amber for warnings only, green only with no
/// finding at warning or above.
#[test]
fn html_of_a_large_organisation_shows_the_violation_first() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("g30");
    let out_text = out.to_str().expect("utf-8");
    let (code, _) = tlsflow(&[
        "generate",
        "--sites",
        "30",
        "--servers-per-site",
        "2",
        "--mailboxes",
        "600",
        "--seed",
        "7",
        "--out",
        out_text,
    ]);
    assert_eq!(code, Some(0));
    let topology = out.join("topology.yaml");
    let (_, html) = tlsflow(&[
        "check",
        topology.to_str().expect("utf-8"),
        "--failures",
        "1",
        "--no-fixes",
        "--at",
        AT,
        "--format",
        "html",
    ]);
    let violation = html
        .find("Where required mail leaves in clear text")
        .expect("the violation section");
    let glance = html.find("At a glance").expect("the matrix");
    let first_svg = html.find("<svg").expect("a diagram");
    assert!(
        violation < first_svg && first_svg < glance,
        "the violation's diagram comes first"
    );
    let focused = &html[first_svg..html[first_svg..].find("</svg>").expect("closed") + first_svg];
    assert!(focused.contains("#d62728"), "the path is red");
    assert!(focused.contains("the sites of this path and their neighbours"));
    let sites: usize = focused
        .split("AD sites")
        .next()
        .and_then(|s| s.trim_end().rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the count of sites drawn");
    assert!(
        sites < 30,
        "a focused view, not the organisation ({sites} sites)"
    );
    assert!(
        html.contains(".diagram svg { max-width: 100%; height: auto;"),
        "scales to the page"
    );
    // Thirty sites that fare alike are one row.
    let matrix = &html[glance..html[glance..].find("</table>").expect("a table") + glance];
    let rows = matrix.matches("<tr>").count() - 1;
    assert!(rows < 30, "{rows} rows: {matrix}");
    assert!(matrix.contains("sites)"), "{matrix}");
    let appendix = html
        .find("Appendix: the whole topology")
        .expect("the appendix");
    assert!(
        html[appendix..].contains("30 AD sites"),
        "the whole topology is in the appendix"
    );
    assert!(html.contains("@media print") && html.contains(".appendix { break-before: page; }"));
    // Two inline SVGs in one document: every id is unique, so each arrow finds its marker.
    let ids: Vec<&str> = html
        .split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "duplicate ids: {ids:?}");
    assert!(html.contains("<p class=\"conclusion\">"), "red for errors");

    // Amber with warnings only: Fabrikam's MX offers STARTTLS, so the lost requirement is
    // "encrypted by luck" (TLS003), not clear text.
    let text = std::fs::read_to_string(repo(TOPOLOGY)).expect("the topology");
    let lucky = dir.path().join("lucky.yaml");
    std::fs::write(
        &lucky,
        text.replacen("starttls: not_offered", "starttls: offered", 1),
    )
    .expect("written");
    let (_, html) = tlsflow(&[
        "check",
        lucky.to_str().expect("utf-8"),
        "--no-fixes",
        "--at",
        AT,
        "--format",
        "html",
    ]);
    assert!(
        html.contains("TLS003") && !html.contains("sev error"),
        "warnings only"
    );
    assert!(
        html.contains("<p class=\"conclusion warn\">"),
        "amber, not green"
    );
    let (_, html) = tlsflow(&[
        "check",
        "scenarios/topologies/domain-secure-everywhere.yaml",
        "--no-fixes",
        "--at",
        AT,
        "--format",
        "html",
    ]);
    assert!(
        html.contains("<p class=\"conclusion ok\">"),
        "green with no finding"
    );
}
