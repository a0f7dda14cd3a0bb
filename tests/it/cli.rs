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

/// Installing (issue 16): completion scripts for every shell clap supports, from the real
/// command definitions; bash accepts its script and registers `tlsflow`.
#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = tlsflow()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let script = String::from_utf8(out).expect("utf-8");
        for word in ["tlsflow", "check", "failures", "highlight"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let script = dir.path().join("tlsflow.bash");
    tlsflow()
        .args(["completions", "bash", "--out"])
        .arg(&script)
        .assert()
        .success();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p tlsflow",
            script.display()
        ))
        .output()
        .expect("bash runs");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("-F _tlsflow tlsflow"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Installing (issue 16): `tlsflow man` prints the roff page; `--dir` writes one page per
/// command, each with the global options in its synopsis.
#[test]
fn man_pages_for_every_command() {
    let out = tlsflow()
        .arg("man")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let page = String::from_utf8(out).expect("utf-8");
    assert!(page.contains(".TH tlsflow 1"), "{page}");
    let dir = tempfile::tempdir().expect("a temp dir");
    let into = dir.path().join("man1");
    tlsflow()
        .args(["man", "--dir"])
        .arg(&into)
        .assert()
        .success();
    let mut pages: Vec<String> = std::fs::read_dir(&into)
        .expect("the pages")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    pages.sort();
    for command in ["check", "simulate", "route", "import", "merge", "validate"] {
        assert!(pages.contains(&format!("tlsflow-{command}.1")), "{pages:?}");
    }
    let check = std::fs::read_to_string(into.join("tlsflow-check.1")).expect("the page");
    for word in [".TH tlsflow-check 1", "\\-\\-failures", "\\-\\-fail\\-on"] {
        assert!(check.contains(word), "no {word}:\n{check}");
    }
}

/// Windows (issue 16): Windows PowerShell 5.1 writes UTF-16 LE with a byte-order mark on `>`.
/// A topology and a scenario saved that way (or as UTF-16 BE, or UTF-8 with a BOM) load as
/// their UTF-8 originals do; UTF-16 without a BOM is refused with the cause and the fix.
#[test]
fn files_written_by_windows_powershell_are_read() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let topology = std::fs::read_to_string(repo("scenarios/topologies/contoso-cross-site.yaml"))
        .expect("the topology")
        .replace('\n', "\r\n");
    let utf16 = |text: &str, big_endian: bool| -> Vec<u8> {
        let mut bytes = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    };
    let check = |path: &std::path::Path| {
        let out = tlsflow()
            .args(["check", "--no-fixes", "--format", "json", "--at", AT])
            .arg(path)
            .output()
            .expect("runs");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        report["exposures"].as_array().expect("exposures").len()
    };
    let expected = check(&repo("scenarios/topologies/contoso-cross-site.yaml"));
    assert!(expected > 0);
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend(topology.as_bytes());
    for (name, bytes) in [
        ("le.yaml", utf16(&topology, false)),
        ("be.yaml", utf16(&topology, true)),
        ("bom8.yaml", bom8),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("written");
        assert_eq!(check(&path), expected, "{name}");
    }
    let scenario = "format: 1\r\nname: ps\r\ntopology: le.yaml\r\nstart: 2026-06-01T08:00:00Z\r\nduration: 1h\r\nmessages:\r\n  - {at: 1m, from: alice@contoso.com, to: [bob@fabrikam.com], subject: Top secret}\r\n";
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, utf16(scenario, false)).expect("written");
    let out = tlsflow().arg("simulate").arg(&path).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("TLS001"));

    let mut bare = Vec::new();
    for unit in topology.encode_utf16() {
        bare.extend(unit.to_le_bytes());
    }
    let path = dir.path().join("nobom.yaml");
    std::fs::write(&path, bare).expect("written");
    let out = tlsflow().arg("validate").arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("UTF-16 without a byte-order mark"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// CI (issue 16): `--quiet` keeps back only a successful run's output; a failing run (findings,
/// or a file that does not load) prints why.
#[test]
fn quiet_hides_success_only() {
    let run = |args: &[&str]| {
        let out = tlsflow().args(args).output().expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let topology = "scenarios/topologies/contoso-cross-site.yaml";
    let (code, stdout) = run(&["check", topology, "--no-fixes", "--at", AT, "--quiet"]);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("TLS001"), "{stdout}");
    let (code, stdout) = run(&[
        "check",
        topology,
        "--no-fixes",
        "--at",
        AT,
        "--quiet",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, Some(0));
    assert!(stdout.is_empty(), "{stdout}");
    let (code, stdout) = run(&[
        "validate",
        "--quiet",
        "tests/data/invalid/cfg002-unknown-key-hubb.yaml",
    ]);
    assert_eq!(code, Some(2));
    assert!(stdout.contains("error[CFG002]"), "{stdout}");
    let (code, stdout) = run(&["validate", "--quiet", topology]);
    assert_eq!(code, Some(0));
    assert!(stdout.is_empty(), "{stdout}");
}

/// CI (issue 16): with `--format sarif`, a file that does not load still gives a SARIF report
/// — its configuration errors as results at their lines — so the upload step finds its file;
/// the exit code stays 2.
#[test]
fn sarif_is_written_for_input_that_does_not_load() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("report.sarif");
    let invalid = "tests/data/invalid/cfg002-unknown-key-hubb.yaml";
    for command in ["check", "route", "graph"] {
        let mut args = vec![command, invalid, "--format", "sarif", "--out"];
        let out_text = out.to_str().expect("utf-8");
        args.push(out_text);
        if command == "route" {
            args.extend(["--from", "a@contoso.com", "--to", "b@fabrikam.com"]);
        }
        let output = tlsflow().args(&args).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{command}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("error[CFG002]"),
            "{command}: the error is still said"
        );
        let sarif: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).expect("a SARIF file")).expect("JSON");
        let result = &sarif["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "CFG002", "{command}: {sarif}");
        assert_eq!(result["level"], "error");
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l > 0),
            "{command}: {result}"
        );
        std::fs::remove_file(&out).expect("removed");
    }
    let scenario = tlsflow()
        .args(["simulate", invalid, "--format", "sarif"])
        .output()
        .expect("runs");
    assert_eq!(scenario.status.code(), Some(2));
    let sarif: serde_json::Value =
        serde_json::from_slice(&scenario.stdout).expect("SARIF on stdout");
    assert!(
        !sarif["runs"][0]["results"]
            .as_array()
            .expect("results")
            .is_empty()
    );
}

/// Long runs are not silent (issue 16): on a terminal, `check` shows a bar through the check
/// and another through the fix re-checks, and `simulate` one per run over the simulated time;
/// the reports are byte for byte those of a run without a terminal. Run under `script`, which
/// gives the command a terminal (util-linux; skipped where it is missing).
#[cfg(target_os = "linux")]
#[test]
fn long_runs_show_progress_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("tlsflow");
    let dir = tempfile::tempdir().expect("a temp dir");
    for (args, bars) in [
        (
            "check scenarios/topologies/hub-site-chain.yaml --failures 1 --at 2026-06-01T00:00:00Z",
            &["checking [", "re-checking fixes ["][..],
        ),
        (
            "simulate scenarios/busy-week.yaml --all-variants",
            &["% of the simulated time"],
        ),
    ] {
        let on_terminal = dir.path().join("terminal.txt");
        let out = std::process::Command::new("script")
            .args(["-qec"])
            .arg(format!(
                "'{}' {args} --fail-on never > '{}'",
                bin.display(),
                on_terminal.display()
            ))
            .arg("/dev/null")
            .current_dir(repo(""))
            .output()
            .expect("script runs");
        let terminal = String::from_utf8_lossy(&out.stdout);
        for bar in bars {
            assert!(terminal.contains(bar), "{args}: no `{bar}` in {terminal:?}");
        }
        let plain = tlsflow()
            .args(args.split(' '))
            .args(["--fail-on", "never"])
            .output()
            .expect("runs");
        assert_eq!(
            std::fs::read(&on_terminal).expect("the report"),
            plain.stdout,
            "{args}: the same report"
        );
    }
}

/// Writing files by hand (issue 16): a topology given to `simulate` is named as one, with the
/// command that reads it; each command's help lists only the formats it writes, and a refusal
/// names the command.
#[test]
fn the_wrong_kind_of_file_and_format_are_named() {
    let out = tlsflow()
        .args(["simulate", "scenarios/topologies/contoso-cross-site.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this is a topology file (it has `organization`), not a scenario"),
        "{stderr}"
    );
    assert!(!stderr.contains("unknown key `organization`"), "{stderr}");
    let out = tlsflow()
        .args(["check", "scenarios/busy-week.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this is a scenario file (it has `topology`), not a topology"),
        "{stderr}"
    );
    for (command, listed, absent) in [
        ("route", "Formats (--format): text, json.", "mermaid"),
        (
            "graph",
            "Formats (--format): dot (the default), mermaid, svg.",
            "junit",
        ),
        ("validate", "Formats (--format): text, json, sarif.", "html"),
    ] {
        let help = tlsflow()
            .args([command, "--help"])
            .output()
            .expect("runs")
            .stdout;
        let help = String::from_utf8_lossy(&help);
        assert!(help.contains(listed), "{command}: {help}");
        assert!(!help.contains(absent), "{command} lists {absent}: {help}");
    }
    let out = tlsflow()
        .args([
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "alice@contoso.com",
            "--to",
            "bob@fabrikam.com",
            "--format",
            "mermaid",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--format mermaid is not available for `route`: use text or json"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
