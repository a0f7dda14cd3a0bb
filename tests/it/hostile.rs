//! Hostile input (issue 15): each class of defect a hostile run found, with a reproducer and
//! variants of it, run through the real binary. None may panic (exit 3 or an abort), run
//! unbounded, or answer silently wrong.

use std::fmt::Write as _;
use std::path::Path;

use crate::support::{repo, tlsflow};

/// Runs tlsflow; returns (exit code, stdout, stderr). A panic is never an answer.
fn run(args: &[&str], files: &[&Path]) -> (i32, String, String) {
    let mut cmd = tlsflow();
    cmd.args(args);
    for f in files {
        cmd.arg(f);
    }
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "tlsflow {args:?} panicked:\n{stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// A one-line JSON topology of `sites` sites whose only error is at its far end.
fn one_line_topology(sites: usize) -> String {
    let mut s = String::from("{\"format\": 1, \"sites\": [");
    for i in 0..sites {
        let _ = write!(
            s,
            "{}{{\"name\": \"S{i:05}\"}}",
            if i > 0 { ", " } else { "" }
        );
    }
    s.push_str("], \"servers\": [{\"name\": \"M\", \"site\": \"S00000\", \"roles\": [\"mailbox\"]}], \"site_links\": [{\"name\": \"L\", \"sites\": [\"S00000\", \"NOPE\"]}]}\n");
    s
}

/// Panics, class 1: a diagnostic at a column past 65,535 made miette panic ("Formatting
/// argument out of range") in every command that loads a topology. The snippet now shows the
/// line cut around the position, and the header keeps the true column.
#[test]
fn a_diagnostic_past_column_65535_is_rendered_not_a_panic() {
    let dir = tempfile::tempdir().expect("a temp dir");
    for sites in [6_000, 12_000] {
        let text = one_line_topology(sites);
        let column = text.find("\"NOPE\"").expect("the bad reference") + 1;
        assert!(sites < 12_000 || column > 65_535, "column {column}");
        let path = dir.path().join(format!("wide-{sites}.yaml"));
        std::fs::write(&path, &text).expect("written");
        for command in [
            &["validate"][..],
            &["check", "--at", "2026-06-01T00:00:00Z"],
            &["graph"],
            &["route", "--from", "M", "--to", "a@example.com"],
        ] {
            let (code, stdout, stderr) = run(command, &[&path]);
            assert_eq!(code, 2, "{command:?}: {stdout}{stderr}");
            let all = format!("{stdout}{stderr}");
            let header = format!(":1:{column}: error[CFG005]: unknown site `NOPE`");
            assert!(all.contains(&header), "{command:?}: {all}");
            assert!(
                all.contains(&format!("╭─[{}:1:{column}]", path.display())),
                "the snippet names the true column: {all}"
            );
            assert!(all.contains(" 1 │ …"), "the line is cut: {all}");
            let longest = all.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            assert!(longest < 400, "a line of {longest} characters");
        }
    }
}

/// Panics, class 2: durations, instants and rates are bounded at load time, so simulated time
/// cannot overflow; `9999-12-31`, a common "never expires", is a date.
#[test]
fn durations_are_bounded_and_far_dates_read() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let topology = repo("scenarios/topologies/busy-four-sites.yaml");
    for (duration, expected) in [
        (
            "18446744073709551615ms",
            "is longer than tlsflow reads: at most 3650d",
        ),
        ("3651d", "is longer than tlsflow reads: at most 3650d"),
        (
            "99999999.00:00:00",
            "is longer than tlsflow reads: at most 3650d",
        ),
    ] {
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            format!(
                "format: 1\nname: n\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: {duration}\nmessages:\n  - {{at: 1h, from: anne@wideworldimporters.com, to: [x@fabrikam.com]}}\n",
                topology.display()
            ),
        )
        .expect("written");
        let (code, stdout, stderr) = run(&["simulate"], &[&path]);
        assert_eq!(code, 2, "{duration}: {stdout}{stderr}");
        assert!(
            stderr.contains(expected) && stderr.contains("(at duration)"),
            "{duration}: {stderr}"
        );
    }
    let never = dir.path().join("never.yaml");
    std::fs::write(
        &never,
        "format: 1\nsites: [{name: HQ}]\nservers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\nsend_connectors: [{name: I, address_spaces: [\"SMTP:*;1\"], source_servers: [HQ-MBX1]}]\nexternal_domains:\n  - {domain: \"*\", mx: [{host: mx.example.com, certificate: {subject: mx.example.com, trusted: true, not_before: 2000-01-01, not_after: 9999-12-31}}]}\n",
    )
    .expect("written");
    let (code, stdout, stderr) = run(&["validate"], &[&never]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// Unbounded work: a valid 9-line scenario of 100,000,000 messages an hour for a year ran for
/// two minutes and then panicked on the engine's event bound. The work is estimated at load
/// time and refused with the numbers; `--replications` is bounded before anything is allocated.
#[test]
fn work_beyond_the_limits_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("year.yaml");
    std::fs::write(
        &path,
        format!(
            "format: 1\nname: a year at full rate\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: 365d\nworkload:\n  - site: Chicago\n    rate: 100000000/h\n    to: {{fabrikam.com: 1}}\n",
            repo("scenarios/topologies/busy-four-sites.yaml").display()
        ),
    )
    .expect("written");
    let (code, _, stderr) = run(&["simulate"], &[&path]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "error[CFG007]: this scenario would submit about 876,000,000,000 messages per run"
        ) && stderr.contains("more than the 600,000,000 tlsflow simulates in one run"),
        "{stderr}"
    );
    for n in ["1000000000", "18446744073709551615"] {
        let (code, _, stderr) = run(
            &["simulate", "scenarios/busy-week.yaml", "--replications", n],
            &[],
        );
        assert_eq!(code, 2, "{n}: {stderr}");
        assert!(
            stderr.contains("at most 10000") || stderr.contains("invalid value"),
            "{n}: {stderr}"
        );
    }
    // Within the count, the total work is bounded too: busy-week's 3 variants are ~17,000
    // messages a run; 10,000 runs of each fit, so shorten the bound with a denser scenario.
    let dense = dir.path().join("dense.yaml");
    std::fs::write(
        &dense,
        format!(
            "format: 1\nname: dense\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: 30d\nworkload:\n  - site: Chicago\n    rate: 400000/h\n    to: {{fabrikam.com: 1}}\n",
            repo("scenarios/topologies/busy-four-sites.yaml").display()
        ),
    )
    .expect("written");
    let (code, _, stderr) = run(&["simulate", "--replications", "40"], &[&dense]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("1 variants × 40 runs of about 288,000,000 messages each"),
        "{stderr}"
    );
}

/// Panics, class 3: more than 255 distinct connector size limits overflowed a `u8` size class in
/// `simulate`.
#[test]
fn hundreds_of_distinct_size_limits_simulate() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut t = String::from(
        "format: 1\nsites: [{name: HQ}]\nservers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\nmailboxes: [{address: alice@contoso.com, server: HQ-MBX1}]\naccepted_domains: [contoso.com]\nsend_connectors:\n",
    );
    for i in 0..300 {
        let _ = writeln!(
            t,
            "  - {{name: C{i}, address_spaces: [\"SMTP:d{i}.example;1\"], source_servers: [HQ-MBX1], max_message_size: {}}}",
            1_000_000 + i
        );
    }
    t.push_str("external_domains:\n  - {domain: \"*\", mx: [{host: mx.example.com}]}\n");
    let topology = dir.path().join("t.yaml");
    std::fs::write(&topology, t).expect("written");
    let mut s = format!(
        "format: 1\nname: sizes\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: 1h\nmessages:\n",
        topology.display()
    );
    for i in (0..300).step_by(7) {
        let _ = writeln!(
            s,
            "  - {{at: 1m, from: alice@contoso.com, to: [bob@d{i}.example], size: {}}}",
            1_000_000 + i
        );
    }
    let scenario = dir.path().join("s.yaml");
    std::fs::write(&scenario, s).expect("written");
    let (code, stdout, stderr) = run(&["simulate"], &[&scenario]);
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    assert!(stdout.contains("messages"), "{stdout}");
}

/// Panics, class 6: a closed pipe is a normal end (`tlsflow … | head`), a closed stderr is no
/// reason to abort, and a full disk behind a redirection is an error with its cause, not a
/// truncated report with exit 0.
#[cfg(unix)]
#[test]
fn closed_pipes_closed_stderr_and_full_disks() {
    let bin = assert_cmd::cargo::cargo_bin("tlsflow");
    let dir = tempfile::tempdir().expect("a temp dir");
    let (code, _, stderr) = run(
        &["generate", "--sites", "300", "--seed", "7", "--out"],
        &[dir.path()],
    );
    assert_eq!(code, 0, "{stderr}");
    let topology = dir.path().join("topology.yaml");
    let shell = |script: &str| {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(repo(""))
            .output()
            .expect("bash runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A reader that leaves at once (`| true`) or after a few bytes, of a short message and of
    // more than a pipe holds (64 KiB): tlsflow's own exit status must be 0.
    let gen_dir = dir.path().join("again");
    for writer in [
        format!(
            "'{}' generate --sites 3 --out '{}'",
            bin.display(),
            gen_dir.display()
        ),
        format!("'{}' graph '{}'", bin.display(), topology.display()),
        format!("'{}' schema", bin.display()),
    ] {
        for reader in ["true", "head -c 100 >/dev/null"] {
            let (_, stdout, stderr) =
                shell(&format!("{writer} | {reader}; echo \"${{PIPESTATUS[0]}}\""));
            assert!(
                !stderr.contains("internal error"),
                "{writer} | {reader}: {stderr}"
            );
            assert_eq!(stdout.trim(), "0", "{writer} | {reader}: {stderr}");
        }
    }
    for script in [
        format!("'{}' validate /nonexistent 2>&-; echo $?", bin.display()),
        format!(
            "'{}' validate scenarios/topologies/contoso-cross-site.yaml 2>&-; echo $?",
            bin.display()
        ),
    ] {
        let (_, stdout, _) = shell(&script);
        let code = stdout.lines().last().unwrap_or_default();
        assert!(
            code == "0" || code == "2",
            "{script}: exit {code} (134 is an abort)"
        );
    }
    if Path::new("/dev/full").exists() {
        let (_, stdout, stderr) = shell(&format!(
            "'{}' graph '{}' > /dev/full; echo $?",
            bin.display(),
            topology.display()
        ));
        assert_eq!(stdout.trim(), "2", "{stderr}");
        assert!(
            stderr.contains("cannot write standard output: no space left on device"),
            "{stderr}"
        );
    }
}

/// Every syntax node of a PowerShell text: its kind, and its text for variables (`$true`).
fn powershell_kinds(text: &str) -> Vec<String> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    let tree = parser.parse(text, None).expect("a tree");
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "variable" {
            let name = node.utf8_text(text.as_bytes()).unwrap_or("?");
            out.push(format!("variable {}", name.to_lowercase()));
        } else {
            out.push(node.kind().to_owned());
        }
        stack.extend(node.children(&mut cursor));
    }
    out
}

/// Injection: suggested fix commands put names inside double quotes, so a connector named
/// `Internet $(…)` ran code when an administrator pasted the fix. Names are now PowerShell
/// single-quoted literals (quotes, typographic ones too, doubled): parsed with a PowerShell
/// grammar, a command has no subexpression, no variable and no expandable string.
#[test]
fn fix_commands_never_run_what_a_name_holds() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let original = std::fs::read_to_string(repo("scenarios/topologies/contoso-cross-site.yaml"))
        .expect("the topology");
    for hostile in [
        "Internet $(Remove-Item -Recurse C:\\\\)",
        "Internet'; Remove-Item C:\\\\ -Recurse; '",
        "Internet\u{2019}; Stop-Computer; \u{2018}",
        "Internet `$env:USERNAME \\\"x\\\"",
    ] {
        let text = original.replacen(
            "  - name: Internet\n",
            &format!("  - name: \"{hostile}\"\n"),
            1,
        );
        assert_ne!(text, original);
        let path = dir.path().join("t.yaml");
        std::fs::write(&path, text).expect("written");
        let (code, stdout, stderr) = run(
            &["check", "--at", "2026-06-01T00:00:00Z", "--format", "json"],
            &[&path],
        );
        assert_eq!(code, 1, "{hostile}: {stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        let commands: Vec<String> = report["exposures"]
            .as_array()
            .expect("exposures")
            .iter()
            .flat_map(|e| e["fixes"].as_array().cloned().unwrap_or_default())
            .filter_map(|f| f["command"].as_str().map(str::to_owned))
            .filter(|c| c.contains("SendConnector"))
            .collect();
        assert!(!commands.is_empty(), "{hostile}: no command to check");
        for command in commands {
            let kinds = powershell_kinds(&command);
            for kind in &kinds {
                let bad = matches!(
                    kind.as_str(),
                    "sub_expression" | "expandable_string_literal" | "ERROR"
                ) || (kind.starts_with("variable ")
                    && kind != "variable $true"
                    && kind != "variable $false");
                assert!(!bad, "{hostile}: `{command}` has a {kind}");
            }
            let commands_in_it = kinds.iter().filter(|k| *k == "command").count();
            assert_eq!(
                commands_in_it, 1,
                "{hostile}: `{command}` is more than one command"
            );
        }
    }
}

/// Silent wrong answers and escaping paths in scenarios: an expectation keyed `Übergang` for the
/// variant `übergang` was never evaluated (ASCII-only case folding), so CI passed; a variant
/// named with `/` and `..` wrote its tracking log outside the folder asked for.
#[test]
fn variant_names_match_in_unicode_and_stay_in_their_folder() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let original =
        std::fs::read_to_string(repo("scenarios/connector-outage.yaml")).expect("the scenario");
    let text = original
        .replace(
            "  - name: sourced-on-hq-mbx2\n",
            "  - name: übergang\n    changes:\n      - modify_send_connector: {name: Internet, source_servers: [HQ-MBX2]}\n  - name: \"../../escape\"\n",
        )
        .replace(
            "  sourced-on-hq-mbx2:\n",
            "  Übergang:\n    outcomes: {ndr: 0}\n  ../../escape:\n",
        );
    assert_ne!(text, original);
    let scenario = dir.path().join("s.yaml");
    std::fs::write(&scenario, &text).expect("written");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("a folder");
    let log = logs.join("track.csv");
    let (code, stdout, stderr) = run(
        &["simulate", "--all-variants", "--tracking-log"],
        &[&log, &scenario],
    );
    assert_eq!(
        code, 1,
        "the expectation for übergang fails: {stdout}{stderr}"
    );
    assert!(
        stdout.contains("EXP001"),
        "the expectation keyed `Übergang` is evaluated for `übergang`: {stdout}"
    );
    let mut written: Vec<String> = std::fs::read_dir(&logs)
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["track-______escape.csv", "track-übergang.csv", "track.csv"],
        "{written:?}"
    );
    assert!(!dir.path().join("escape.csv").exists());
}

/// Unbounded reads and reads twice: `/dev/zero` is read up to the 8 MiB cap and refused; a named
/// pipe with no writer does not hang; `<(cat x.yaml)` is read once (it used to be "empty"); an
/// import file reached through a symlink is measured on the file it names.
#[cfg(unix)]
#[test]
fn devices_pipes_and_symlinks_are_read_bounded_and_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut cmd = tlsflow();
    let out = cmd
        .args(["validate", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("more than 8388608 bytes came from it"),
        "{stdout}"
    );

    let fifo = dir.path().join("fifo.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let out = tlsflow()
            .arg("validate")
            .arg(&fifo)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(2),
            "a writer-less pipe reads as empty: {stdout}"
        );
        assert!(stdout.contains("the file is empty"), "{stdout}");
    }

    let bin = assert_cmd::cargo::cargo_bin("tlsflow");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' validate <(cat scenarios/topologies/contoso-cross-site.yaml) <(cat scenarios/connector-outage.yaml)",
            bin.display()
        ))
        .current_dir(repo(""))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches(": valid,").count(), 2, "{stdout}");

    let export = dir.path().join("export");
    std::fs::create_dir(&export).expect("a folder");
    for entry in std::fs::read_dir(repo("tests/data/import/contoso-2016")).expect("fixture") {
        let entry = entry.expect("an entry");
        std::fs::copy(entry.path(), export.join(entry.file_name())).expect("copied");
    }
    let big = dir.path().join("big.json");
    let file = std::fs::File::create(&big).expect("created");
    file.set_len(40 * 1024 * 1024)
        .expect("a sparse 40 MiB file");
    std::fs::remove_file(export.join("Get-Mailbox.json")).expect("removed");
    std::os::unix::fs::symlink(&big, export.join("Get-Mailbox.json")).expect("a symlink");
    let (code, _, stderr) = run(&["import", "exchange"], &[&export]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("Get-Mailbox.json: the file is 41943040 bytes"),
        "{stderr}"
    );
}

/// Destroyed and clobbered files: `--out` naming an input (however reached) is refused; an
/// output that is a device, a pipe or a symlink is written through, never replaced by a regular
/// file (as root, `--out /dev/null` replaced the device node).
#[cfg(unix)]
#[test]
fn outputs_never_replace_inputs_devices_or_links() {
    use std::os::unix::fs::FileTypeExt as _;
    let dir = tempfile::tempdir().expect("a temp dir");
    let topology = dir.path().join("t.yaml");
    std::fs::copy(
        repo("scenarios/topologies/contoso-cross-site.yaml"),
        &topology,
    )
    .expect("copy");
    let before = std::fs::read(&topology).expect("read");
    let alias = dir.path().join("alias.yaml");
    std::os::unix::fs::symlink(&topology, &alias).expect("a symlink");
    for out in [&topology, &alias] {
        let (code, _, stderr) = run(
            &["check", "--at", "2026-06-01T00:00:00Z", "--out"],
            &[out.as_path(), topology.as_path()],
        );
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("writing the report there would destroy it"),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read(&topology).expect("read"),
            before,
            "the input is intact"
        );
    }
    let scenario = dir.path().join("s.yaml");
    std::fs::copy(repo("scenarios/connector-outage.yaml"), &scenario).expect("copy");
    let (code, _, stderr) = run(&["simulate", "--tracking-log"], &[&scenario, &scenario]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--tracking-log"), "{stderr}");
    let export = repo("tests/data/import/contoso-2016/Get-ADSite.json");
    let (code, _, stderr) = run(
        &[
            "import",
            "exchange",
            "tests/data/import/contoso-2016",
            "--out",
        ],
        &[&export],
    );
    assert_eq!(code, 2, "{stderr}");

    // A symlink to a report: the link stays, the file it names gets the report.
    let report = dir.path().join("report.txt");
    std::fs::write(&report, "old").expect("written");
    let link = dir.path().join("latest.txt");
    std::os::unix::fs::symlink(&report, &link).expect("a symlink");
    let (code, _, stderr) = run(
        &["check", "--at", "2026-06-01T00:00:00Z", "--out"],
        &[link.as_path(), topology.as_path()],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("the link")
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&report)
            .expect("the report")
            .contains("TLS001")
    );

    // A named pipe: written through, still a pipe.
    let fifo = dir.path().join("out.fifo");
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read the pipe"))
        };
        let (code, _, stderr) = run(
            &["check", "--at", "2026-06-01T00:00:00Z", "--out"],
            &[fifo.as_path(), topology.as_path()],
        );
        assert_eq!(code, 1, "{stderr}");
        assert!(reader.join().expect("the reader").contains("TLS001"));
        assert!(
            std::fs::metadata(&fifo)
                .expect("the pipe")
                .file_type()
                .is_fifo()
        );
    }

    // A character device (a private null device, made only when running as root): still one.
    let null = dir.path().join("null");
    let made = std::process::Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status();
    if made.is_ok_and(|s| s.success()) {
        let (code, _, stderr) = run(
            &["check", "--at", "2026-06-01T00:00:00Z", "--out"],
            &[null.as_path(), topology.as_path()],
        );
        assert_eq!(code, 1, "{stderr}");
        assert!(
            std::fs::metadata(&null)
                .expect("the device")
                .file_type()
                .is_char_device(),
            "the device node was replaced"
        );
    }
}

/// Ctrl-C during a long write leaves no temporary file, and exits 130; temporaries a killed run
/// left over an hour ago are removed by the next write in that folder.
#[cfg(unix)]
#[test]
fn interrupted_runs_leave_no_temporary_files() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let stale = dir.path().join(".tlsflow-stale.tmp");
    let fresh = dir.path().join(".tlsflow-fresh.tmp");
    std::fs::write(&stale, "left by a killed run").expect("written");
    std::fs::write(&fresh, "a run writing now").expect("written");
    let touched = std::process::Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(&stale)
        .status();
    assert!(touched.is_ok_and(|s| s.success()));
    let (code, _, stderr) = run(
        &[
            "check",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--at",
            "2026-06-01T00:00:00Z",
            "--out",
        ],
        &[&dir.path().join("r.txt")],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(!stale.exists(), "the stale temporary is removed");
    assert!(fresh.exists(), "a young one may be another run's");
    std::fs::remove_file(&fresh).expect("removed");

    // A week of a busy organisation with its tracking log: interrupted while the log is written.
    let log = dir.path().join("week.csv");
    let bin = assert_cmd::cargo::cargo_bin("tlsflow");
    let mut child = std::process::Command::new(bin)
        .args([
            "simulate",
            "scenarios/busy-week.yaml",
            "--all-variants",
            "--tracking-log",
        ])
        .arg(&log)
        .current_dir(repo(""))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    let temporaries = || {
        std::fs::read_dir(dir.path())
            .expect("the folder")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tlsflow-"))
            .count()
    };
    let started = std::time::Instant::now();
    while temporaries() == 0 && started.elapsed() < std::time::Duration::from_secs(30) {
        if child.try_wait().expect("waits").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    if child.try_wait().expect("waits").is_none() {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let status = child.wait().expect("ends");
        assert_eq!(status.code(), Some(130), "interrupted");
        assert_eq!(temporaries(), 0, "no temporary file is left");
        assert!(!log.exists(), "no half-written log");
    } else {
        // The machine was fast enough to finish first: then the log is whole.
        assert!(log.exists());
        assert_eq!(temporaries(), 0);
    }
}

/// Unbounded work in `check`: `--failures` past the number of components is capped (2^64 - 1
/// never ended); `--no-pruning` refuses an enumeration out of reach with its size instead of
/// running for hours.
#[test]
fn check_failures_are_capped_and_estimated() {
    let (code, stdout, stderr) = run(
        &[
            "check",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--at",
            "2026-06-01T00:00:00Z",
            "--no-fixes",
            "--failures",
            "18446744073709551615",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "the organisation has 6 components that can fail; checking every set of up to 6"
        ),
        "{stderr}"
    );
    let words = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("under any 6 simultaneous failures"),
        "{stdout}"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let (code, _, stderr) = run(
        &["generate", "--sites", "30", "--seed", "3", "--out"],
        &[dir.path()],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(
        &[
            "check",
            "--at",
            "2026-06-01T00:00:00Z",
            "--no-fixes",
            "--no-pruning",
            "--failures",
            "6",
        ],
        &[&dir.path().join("topology.yaml")],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("--no-pruning with --failures 6:")
            && stderr.contains("more than the 10000000 tlsflow enumerates")
            && stderr.contains("No report is written"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}

/// The worst inputs of this file under an address-space limit of 1 GiB (`ulimit -v`): a
/// regression that reads, allocates or enumerates without a bound fails here instead of
/// swapping the machine.
#[cfg(target_os = "linux")]
#[test]
fn the_worst_inputs_stay_under_a_gigabyte() {
    let bin = assert_cmd::cargo::cargo_bin("tlsflow");
    let dir = tempfile::tempdir().expect("a temp dir");
    let year = dir.path().join("year.yaml");
    std::fs::write(
        &year,
        format!(
            "format: 1\nname: y\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: 3650d\nworkload:\n  - site: Chicago\n    rate: 100000000/h\n    to: {{fabrikam.com: 1}}\n",
            repo("scenarios/topologies/busy-four-sites.yaml").display()
        ),
    )
    .expect("written");
    let b = bin.display();
    for (command, expected) in [
        (format!("'{b}' validate /dev/zero"), 2),
        (format!("'{b}' simulate '{}'", year.display()), 2),
        (
            format!("'{b}' simulate scenarios/busy-week.yaml --replications 1000000000"),
            2,
        ),
        (
            format!(
                "'{b}' check scenarios/topologies/busy-four-sites.yaml --failures 18446744073709551615 --no-fixes --at 2026-06-01T00:00:00Z"
            ),
            1,
        ),
    ] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -v 1048576; {command} > /dev/null"))
            .current_dir(repo(""))
            .output()
            .expect("bash runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(expected), "{command}: {stderr}");
        assert!(
            !stderr.contains("memory allocation") && !stderr.contains("internal error"),
            "{command}: {stderr}"
        );
    }
}

/// Silent wrong answers in the traffic: Poisson gaps were rounded to whole milliseconds one by
/// one, so rates whose mean gap is under a millisecond ran far too fast (+36 % at 10^7/h). Now
/// arrivals are rounded, gaps are not: 36,000,000/h for one second is 10,000 messages, within
/// the Poisson spread (σ = 100).
#[test]
fn high_rates_are_not_biased_by_rounding() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("fast.yaml");
    std::fs::write(
        &path,
        format!(
            "format: 1\nname: fast\nseed: 5\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: 1s\nworkload:\n  - site: Chicago\n    rate: 36000000/h\n    to: {{fabrikam.com: 1}}\n",
            repo("scenarios/topologies/busy-four-sites.yaml").display()
        ),
    )
    .expect("written");
    let (code, stdout, stderr) = run(&["simulate", "--format", "json"], &[&path]);
    assert!(code == 0 || code == 1, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let messages = report["runs"][0]["summary"]["messages"]
        .as_u64()
        .unwrap_or_else(|| panic!("no message count: {stdout:.2000}"));
    assert!(
        (9_500..=10_500).contains(&messages),
        "{messages} messages for an expected 10,000"
    );
}

/// Silent wrong answers in addresses: the absolute form `bob@fabrikam.com.` is fabrikam.com, not
/// a domain that falls to `*` (it flipped TLS001 to TLS003).
#[test]
fn a_trailing_dot_is_the_same_domain() {
    let verdict = |to: &str| {
        let (_, stdout, stderr) = run(
            &[
                "route",
                "scenarios/topologies/contoso-cross-site.yaml",
                "--from",
                "alice@contoso.com",
                "--subject",
                "top secret",
                "--to",
                to,
            ],
            &[],
        );
        assert!(stderr.is_empty(), "{stderr}");
        stdout
            .lines()
            .find(|l| l.contains("TLS00"))
            .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(verdict("bob@fabrikam.com"), "TLS001");
    assert_eq!(verdict("bob@fabrikam.com."), "TLS001");
    assert_eq!(verdict("BOB@Fabrikam.COM."), "TLS001");
}

/// Weights that are each finite but add up to infinity picked the first domain every time.
#[test]
fn weights_must_add_up_to_a_finite_number() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("w.yaml");
    std::fs::write(
        &path,
        format!(
            "format: 1\nname: w\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: 1h\nworkload:\n  - site: Chicago\n    rate: 60/h\n    to: {{fabrikam.com: 1e308, woodgrove.com: 1e308}}\n",
            repo("scenarios/topologies/busy-four-sites.yaml").display()
        ),
    )
    .expect("written");
    let (code, _, stderr) = run(&["simulate"], &[&path]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error[CFG007]: the weights add up to inf"),
        "{stderr}"
    );
}

/// Silent parts of a scenario: a message after the end of the run, a workload that matches no
/// mailbox, a variant that removes every sender of a workload; each silently produced nothing,
/// so expectations of "no TLS001" passed. Each is now the warning CFG110, at its place.
#[test]
fn parts_of_a_scenario_that_send_nothing_are_said() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("silent.yaml");
    std::fs::write(
        &path,
        format!(
            "format: 1\nname: silent\ntopology: {}\nstart: 2026-06-01T08:00:00Z\nduration: 1d\nmessages:\n  - {{at: 2d, from: carl@wideworldimporters.com, to: [x@fabrikam.com]}}\nworkload:\n  - from: \"*@nowhere.example\"\n    rate: 10/h\n    to: {{fabrikam.com: 1}}\n  - from: cleo@wideworldimporters.com\n    rate: 10/h\n    to: {{fabrikam.com: 1}}\nvariants:\n  - name: no-cleo\n    changes:\n      - remove_mailbox: cleo@wideworldimporters.com\n",
            repo("scenarios/topologies/busy-four-sites.yaml").display()
        ),
    )
    .expect("written");
    let (code, stdout, stderr) = run(&["validate"], &[&path]);
    let all = format!("{stdout}{stderr}");
    for needle in [
        "warning[CFG110]: this message is sent at 2d, when the run of 1d has ended",
        "warning[CFG110]: no mailbox of the topology matches this workload's senders",
        "warning[CFG110]: variant `no-cleo` leaves workload[1] no sender with a mailbox",
    ] {
        assert!(all.contains(needle), "{needle} not in:\n{all}");
    }
    assert_eq!(code, 0, "warnings, not errors: {all}");
    let (code, stdout, _) = run(&["explain", "CFG110"], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("sends nothing"), "{stdout}");
}

/// Silent wrong answers between commands: `route --size 20MB` showed a TLS001 that `check`,
/// routing only small messages, never reported. `check` now routes one byte over every size
/// limit that can change the route, and says which messages an exposure is of.
#[test]
fn check_sees_what_route_sees_for_large_messages() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("sizes.yaml");
    std::fs::write(
        &path,
        "format: 1\naccepted_domains: [contoso.com]\nsites: [{name: HQ}, {name: Branch}]\nsite_links: [{name: L, sites: [HQ, Branch], cost: 10}]\nservers:\n  - {name: HQ-MBX1, site: HQ, roles: [mailbox]}\n  - {name: BR-MBX1, site: Branch, roles: [mailbox]}\nsend_connectors:\n  - {name: Branch Internet, address_spaces: [\"SMTP:*;1\"], source_servers: [BR-MBX1], max_message_size: 10MB}\n  - {name: HQ Internet, address_spaces: [\"SMTP:*;1\"], source_servers: [HQ-MBX1]}\ntransport_rules: [{name: TLS, actions: {require_tls: true}}]\ntransport_config: {max_send_size: 50MB, max_receive_size: 50MB}\nmailboxes: [{address: alice@contoso.com, server: BR-MBX1}]\nexternal_domains:\n  - {domain: \"*\", mx: [{host: mx.example.com, starttls: not_offered}]}\n",
    )
    .expect("written");
    let route = |size: &str| {
        let (_, stdout, _) = run(
            &[
                "route",
                "--from",
                "alice@contoso.com",
                "--to",
                "bob@fabrikam.com",
                "--size",
                size,
            ],
            &[&path],
        );
        stdout
    };
    assert!(
        !route("1MB").contains("TLS001"),
        "the Branch connector keeps the requirement"
    );
    assert!(
        route("20MB").contains("TLS001"),
        "too large for it: relayed to HQ, requirement lost"
    );
    assert!(
        !route("60MB").contains("TLS001"),
        "over the organisation's limit: refused"
    );
    let (code, stdout, stderr) = run(
        &[
            "check",
            "--at",
            "2026-06-01T00:00:00Z",
            "--no-fixes",
            "--format",
            "json",
        ],
        &[&path],
    );
    assert_eq!(code, 1, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let branch: Vec<&serde_json::Value> = report["exposures"]
        .as_array()
        .expect("exposures")
        .iter()
        .filter(|e| e["origin"] == "Branch" && e["code"] == "TLS001")
        .collect();
    assert_eq!(branch.len(), 1, "{stdout}");
    assert_eq!(branch[0]["larger_than_bytes"], 10 * 1024 * 1024);
    let (_, text, _) = run(
        &["check", "--at", "2026-06-01T00:00:00Z", "--no-fixes"],
        &[&path],
    );
    assert!(
        text.contains("Branch -> *, messages over 10MB, required"),
        "{text}"
    );
}

/// Injection into text output: an argument, an organisation name, a rule word, a certificate
/// subject or a message subject with a newline or an escape sequence could forge a line in a report (a fake
/// `error TLS001`) or drive the terminal. Each is refused where it is given.
#[test]
fn control_characters_never_reach_a_report() {
    let (code, _, stderr) = run(
        &[
            "route",
            "scenarios/topologies/contoso-cross-site.yaml",
            "--from",
            "alice@contoso.com",
            "--to",
            "bob@fabrikam.com",
            "--subject",
            "top secret\n  error   TLS001  forged",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("contains the character U+000A"), "{stderr}");
    let dir = tempfile::tempdir().expect("a temp dir");
    let original = std::fs::read_to_string(repo("scenarios/topologies/contoso-cross-site.yaml"))
        .expect("the topology");
    for (from, to) in [
        (
            "organization: Contoso\n",
            "organization: \"Contoso\\e[2J\"\n",
        ),
        ("[\"top secret\"]", "[\"top secret\\u202E\"]"),
        (
            "subject: mx.internet.example\n",
            "subject: \"mx.internet.example\\r\\n  error   TLS001\"\n",
        ),
    ] {
        assert!(original.contains(from), "{from}");
        let path = dir.path().join("t.yaml");
        std::fs::write(&path, original.replacen(from, to, 1)).expect("written");
        let (code, stdout, _) = run(&["validate"], &[&path]);
        assert_eq!(code, 2, "{to}: {stdout}");
        assert!(stdout.contains("error[CFG018]"), "{to}: {stdout}");
    }
}

/// Panics, class 4: a run that reaches the engine's bound on events stopped with a panic
/// ("event bound reached") after minutes. It now stops with `stopped` set and its reason, and
/// the command writes no report. Checked with a small bound on a real scenario.
#[test]
fn a_run_at_its_event_bound_stops_without_a_panic() {
    let loaded = tlsflow::load::scenario::load_scenario(&repo("scenarios/busy-week.yaml"))
        .unwrap_or_else(|f| panic!("{}", f.render()));
    let options = tlsflow::sim::RunOptions {
        seed: 1,
        record_recipients: false,
    };
    let full = tlsflow::sim::run(&loaded.scenario, 0, &options, &mut tlsflow::sim::NullSink);
    assert!(full.stopped.is_none());
    assert!(full.stats.events > 10_000);
    let cut = tlsflow::sim::run_bounded(
        &loaded.scenario,
        0,
        &options,
        &mut tlsflow::sim::NullSink,
        10_000,
    );
    let why = cut.stopped.expect("stopped at the bound");
    assert!(
        why.contains("the run reached tlsflow's bound of 10000 events at simulated time"),
        "{why}"
    );
    assert_eq!(cut.stats.events, 10_000);
}

/// Injection, every field: each scalar of every shipped topology in turn is given an escape
/// sequence, then a newline followed by a forged finding line, then a raw escape byte in a
/// comment. Whatever tlsflow makes of it —
/// refused with a diagnostic that quotes it, or accepted where the text is not a name — no
/// raw control character reaches stdout or stderr, and no forged line appears in `validate` or
/// `check` output.
#[test]
fn no_field_of_any_topology_carries_a_control_character_to_the_output() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("poisoned.yaml");
    let mut poisoned = 0;
    let topologies = std::fs::read_dir(repo("scenarios/topologies")).expect("the topologies");
    let mut files: Vec<_> = topologies.map(|e| e.expect("an entry").path()).collect();
    files.sort();
    for file in files {
        let original = std::fs::read_to_string(&file).expect("readable");
        for (number, line) in original.lines().enumerate() {
            let Some((start, end)) = plain_scalar(line) else {
                continue;
            };
            // Escapes inside a quoted value, and a raw escape byte in a comment (YAML refuses
            // it; the snippet that shows the line must not send it to the terminal).
            for poison in ["\\e[2J\\e[31m", "\\n  error   TLS001  forged", "\u{1b}[2J"] {
                let mut text = String::new();
                for (n, l) in original.lines().enumerate() {
                    if n == number && poison.starts_with('\u{1b}') {
                        let _ = writeln!(text, "{l} # {poison}");
                    } else if n == number {
                        let _ = writeln!(
                            text,
                            "{}\"{}{poison}\"{}",
                            &l[..start],
                            &l[start..end],
                            &l[end..]
                        );
                    } else {
                        let _ = writeln!(text, "{l}");
                    }
                }
                std::fs::write(&path, &text).expect("written");
                poisoned += 1;
                let (code, stdout, stderr) = run(&["validate"], &[&path]);
                let mut outputs = vec![(format!("validate: {code}"), stdout, stderr)];
                if code != 2 {
                    let (code, stdout, stderr) = run(
                        &["check", "--no-fixes", "--at", "2026-06-01T00:00:00Z"],
                        &[&path],
                    );
                    outputs.push((format!("check: {code}"), stdout, stderr));
                }
                for (what, stdout, stderr) in outputs {
                    for output in [&stdout, &stderr] {
                        let context = || {
                            format!(
                                "{} line {}: {line}\n{what}\n{output}",
                                file.display(),
                                number + 1
                            )
                        };
                        assert!(
                            !output
                                .chars()
                                .any(|c| c.is_control() && c != '\n' && c != '\t'),
                            "{}",
                            context()
                        );
                        assert!(
                            !output
                                .lines()
                                .any(|l| l.trim_start().starts_with("error   TLS001  forged")),
                            "{}",
                            context()
                        );
                    }
                }
            }
        }
    }
    assert!(poisoned > 500, "only {poisoned} fields poisoned");
}

/// The byte range of a line's plain scalar value (`key: value`, `- value` or the first item of
/// `key: [value, ...]`), without its trailing comment.
fn plain_scalar(line: &str) -> Option<(usize, usize)> {
    let body = line.split(" #").next().unwrap_or(line);
    if body.trim_start().starts_with('#') {
        return None;
    }
    let start = if let Some(i) = body.find(": [") {
        i + 3
    } else if let Some(i) = body.find(": ") {
        i + 2
    } else if let Some(i) = body.find("- ").filter(|&i| body[..i].trim().is_empty()) {
        i + 2
    } else {
        return None;
    };
    let rest = &body[start..];
    let first = rest.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let len = rest.find([',', ']', '}', '{', '[']).unwrap_or(rest.len());
    let value = rest[..len].trim_end();
    // A mapping key (`- name: HQ`) is not a value.
    if value.contains(": ") || value.ends_with(':') {
        return None;
    }
    Some((start, start + value.len()))
}

/// Injection through an export: a Send connector name and a smart host holding an escape
/// sequence and a newline. The import is refused (the topology it would write refuses such
/// names), and its message — rendered diagnostics of several lines — shows each character
/// escaped: no raw control character on stderr, no forged line.
#[test]
fn an_export_cannot_forge_lines_through_import() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let export = repo("tests/data/import/solo-lab-names");
    for entry in std::fs::read_dir(&export).expect("the fixture") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        if name != "manifest.json" {
            std::fs::copy(entry.path(), dir.path().join(name)).expect("copied");
        }
    }
    let connectors = dir.path().join("Get-SendConnector.json");
    let text = std::fs::read_to_string(&connectors).expect("the connectors");
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let forged = "\u{1b}[2J\n  error   TLS001  forged";
    // Refused by the loader (rendered diagnostics), then by the importer itself (its own
    // message quotes the value).
    for (key, poisoned, expected) in [
        ("Name", format!("Mail to O365{forged}").into(), "CFG018"),
        (
            "SmartHosts",
            serde_json::json!([format!("relay{forged}.example")]),
            "CFG018",
        ),
        (
            "MaxMessageSize",
            format!("35 MB{forged}").into(),
            "is not a size",
        ),
    ] {
        let mut value = value.clone();
        value[0][key] = poisoned;
        std::fs::write(&connectors, value.to_string()).expect("written");
        let (code, stdout, stderr) = run(&["import", "exchange"], &[dir.path()]);
        assert_eq!(code, 2, "{key}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains(expected), "{key}: {stderr}");
        assert!(
            !stderr
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{key}: {stderr}"
        );
        assert!(
            !stderr
                .lines()
                .any(|l| l.trim_start().starts_with("error   TLS001  forged")),
            "{key}: {stderr}"
        );
    }
}
