//! The real binary: exit codes (SPEC §2), output formats, the demo.

use crate::support::{AT, repo, tlsflow};

#[test]
fn bare_tlsflow_runs_the_demo() {
    let out = tlsflow().assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).expect("utf-8");
    insta::assert_snapshot!(text);
}

#[test]
fn route_of_the_defect_exits_1_with_tls001() {
    let out = tlsflow()
        .args([
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "alice@contoso.com",
        ])
        .args([
            "--to",
            "bob@fabrikam.com",
            "--subject",
            "Top secret",
            "--at",
            AT,
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).expect("utf-8"));
}

#[test]
fn route_json_matches_the_spec_shape() {
    let out = tlsflow()
        .args([
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "alice@contoso.com",
        ])
        .args([
            "--to",
            "bob@fabrikam.com",
            "--subject",
            "Top secret",
            "--at",
            AT,
            "--format",
            "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("utf-8");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["origin_server"], "BR-MBX1");
    assert_eq!(json["site_path"], serde_json::json!(["Branch", "HQ"]));
    assert_eq!(json["hops"][0]["requirement_after"], "none");
    assert_eq!(json["findings"][0]["code"], "TLS001");
    insta::assert_snapshot!(text);
}

#[test]
fn route_from_the_source_server_is_deferred_and_exits_0() {
    let assert = tlsflow()
        .args([
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "HQ-MBX1",
        ])
        .args([
            "--to",
            "bob@fabrikam.com",
            "--subject",
            "Top secret",
            "--at",
            AT,
        ])
        .assert()
        .code(0);
    assert!(stdout(&assert).contains("outcome    deferred"));
}

#[test]
fn route_with_exchange_fixed_has_no_tls001() {
    let assert = tlsflow()
        .args([
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "alice@contoso.com",
        ])
        .args([
            "--to",
            "bob@fabrikam.com",
            "--subject",
            "Top secret",
            "--at",
            AT,
            "--profile",
            "exchange-fixed",
        ])
        .assert()
        .code(0);
    assert!(stdout(&assert).contains("findings   none"));
}

#[test]
fn bad_usage_and_bad_input_exit_2() {
    tlsflow()
        .args([
            "route",
            "no-such-file.yaml",
            "--from",
            "a@b.c",
            "--to",
            "d@e.f",
        ])
        .assert()
        .code(2);
    tlsflow().args(["validate"]).assert().code(2);
    tlsflow().args(["--no-such-flag"]).assert().code(2);
    tlsflow()
        .args([
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "nobody@contoso.com",
        ])
        .args(["--to", "bob@fabrikam.com"])
        .assert()
        .code(2);
    tlsflow()
        .args([
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "alice@contoso.com",
        ])
        .args(["--to", "bob@fabrikam.com", "--down", "server:NOPE"])
        .assert()
        .code(2);
}

#[test]
fn validate_shipped_topologies_exits_0_and_warnings_can_fail() {
    let files = [
        "scenarios/topologies/contoso-cross-site.yaml",
        "scenarios/topologies/hub-site-chain.yaml",
        "scenarios/topologies/edge-subscribed.yaml",
        "scenarios/topologies/frontend-proxy.yaml",
        "scenarios/topologies/domain-secure-partner.yaml",
    ];
    let out = tlsflow()
        .arg("validate")
        .args(files)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).expect("utf-8"));
    tlsflow()
        .arg("validate")
        .arg(files[0])
        .args(["--fail-on", "warning"])
        .assert()
        .code(1);
}

#[test]
fn out_is_written_atomically_and_completely() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("route.json");
    tlsflow()
        .args([
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "alice@contoso.com",
        ])
        .args([
            "--to",
            "bob@fabrikam.com",
            "--at",
            AT,
            "--format",
            "json",
            "--out",
        ])
        .arg(&path)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&path).expect("written");
    serde_json::from_str::<serde_json::Value>(&text).expect("complete JSON");
    let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(leftovers, 1, "no temporary file is left behind");
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

/// Every file of the invalid corpus, run through the real binary: refused with exit 2, located
/// on stdout, never an internal error, never a hang (a run that takes 10 s is killed and fails).
#[test]
fn validate_refuses_every_invalid_corpus_file_in_time() {
    // The loader reports these whole-file problems without a line (line 0 means "the whole
    // file"); every other corpus file must be located. An entry that starts getting a line
    // must be removed from this list.
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

    let mut names: Vec<String> = std::fs::read_dir(repo("tests/data/invalid"))
        .expect("the corpus directory")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| {
            std::path::Path::new(name)
                .extension()
                .is_some_and(|e| e == "yaml")
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "the invalid corpus has only {} files",
        names.len()
    );

    let mut problems = Vec::new();
    for name in &names {
        let file = format!("tests/data/invalid/{name}");
        let started = std::time::Instant::now();
        let output = tlsflow()
            .args(["validate", &file])
            .timeout(LIMIT)
            .output()
            .expect("the binary runs");
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if elapsed >= LIMIT || output.status.code().is_none() {
            problems.push(format!(
                "{file}: did not finish within {LIMIT:?} (killed after {elapsed:?})"
            ));
            continue;
        }
        if output.status.code() != Some(2) {
            problems.push(format!(
                "{file}: exit code {:?}, expected 2\n{stdout}{stderr}",
                output.status.code()
            ));
        }
        let located = stdout.lines().any(|line| {
            line.strip_prefix(&file)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        });
        if !located {
            problems.push(format!(
                "{file}: stdout has no `{file}:LINE:COLUMN` diagnostic\n{stdout}"
            ));
        }
        if stderr.contains("internal error") || stderr.contains("panicked") {
            problems.push(format!("{file}: internal error\n{stderr}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} corpus files misbehave:\n{}",
        problems.len(),
        names.len(),
        problems.join("\n")
    );
}

/// Issue 13: hardened organisations validate with no error — Domain Secure on `*` (Exchange's
/// own EdgeSync connector has it), an Edge subscription as a connector's source, Domain Secure
/// behind a smart host (accepted, with the warning CFG108).
#[test]
fn hardened_organisations_validate_with_no_error() {
    let out = tlsflow()
        .arg("validate")
        .args([
            "scenarios/topologies/hardened-edge.yaml",
            "scenarios/topologies/domain-secure-everywhere.yaml",
        ])
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(!text.contains("error["), "{text}");
    assert!(text.contains("warning[CFG108]"), "{text}");
    assert_eq!(text.matches(": valid,").count(), 2, "{text}");
}
