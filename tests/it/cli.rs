//! The real binary: exit codes (SPEC §2), output formats, the demo.

use assert_cmd::Command;

use crate::support::{AT, repo};

fn tlsflow() -> Command {
    let mut cmd = Command::cargo_bin("tlsflow").expect("the binary builds");
    cmd.current_dir(repo("")).env("NO_COLOR", "1");
    cmd
}

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
