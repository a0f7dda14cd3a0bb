//! `tlsflow import exchange` (issue 8): golden files of the YAML imported from the export folders
//! under `tests/data/import/`, which load without errors; the check at K = 0 finds the exposures
//! an Exchange architect predicts; malformed exports are refused with the file and JSON path;
//! the real binary writes the file atomically, or nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tlsflow::check::{self, CheckOptions};
use tlsflow::import;
use tlsflow::load;

use crate::support::{at, data, tlsflow};

const CONTOSO: &str = "import/contoso-2016";
const NORTHWIND: &str = "import/northwind-2013-2016-edge";

/// The export's files by name, as the CLI hands them over.
fn export(relative: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = data(relative);
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("the fixture folder") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 name")
            .to_owned();
        files.insert(name, std::fs::read(&path).expect("readable"));
    }
    files
}

fn imported(relative: &str) -> import::Imported {
    import::exchange("export", &export(relative))
        .unwrap_or_else(|e| panic!("{relative} does not import:\n{}", e.join("\n")))
}

fn topology(relative: &str) -> tlsflow::model::Topology {
    let yaml = imported(relative).yaml;
    let source =
        load::source_from_bytes("topology.yaml", yaml.as_bytes(), None).expect("the YAML is text");
    match load::topology_from_source(source) {
        Ok(loaded) => loaded.topology,
        Err(failure) => panic!("the imported YAML does not load:\n{}", failure.render()),
    }
}

fn errors(files: &BTreeMap<String, Vec<u8>>) -> String {
    match import::exchange("export", files) {
        Ok(_) => panic!("a malformed export was imported"),
        Err(errors) => errors.join("\n"),
    }
}

#[test]
fn contoso_2016_two_sites_scoped_connector_and_tls_rule() {
    let imported = imported(CONTOSO);
    insta::assert_snapshot!("contoso-2016", imported.yaml);
}

#[test]
fn northwind_2013_2016_mix_with_an_edge_subscription() {
    let imported = imported(NORTHWIND);
    assert!(imported.yaml.contains("subscribed_site: \"Amsterdam\""));
    assert!(
        !imported.yaml.contains("name: \"EdgeSync"),
        "the EdgeSync connectors come from the subscription, not from Get-SendConnector"
    );
    insta::assert_snapshot!("northwind-2013-2016-edge", imported.yaml);
}

#[test]
fn imported_yaml_loads_without_errors() {
    for fixture in [CONTOSO, NORTHWIND] {
        let yaml = imported(fixture).yaml;
        let source = load::source_from_bytes("topology.yaml", yaml.as_bytes(), None)
            .expect("the YAML is text");
        let loaded = load::topology_from_source(source)
            .unwrap_or_else(|f| panic!("{fixture}: does not load:\n{}", f.render()));
        assert!(
            loaded.warnings.iter().all(|d| !d.is_error()),
            "{fixture}: errors among the warnings"
        );
    }
}

#[test]
fn unmapped_items_are_listed_in_the_yaml_and_returned() {
    let imported = imported(CONTOSO);
    assert!(!imported.unmapped.is_empty());
    for item in &imported.unmapped {
        assert!(
            imported.yaml.contains(item.as_str()),
            "not in the YAML's comment block: {item}"
        );
    }
    let joined = imported.unmapped.join("\n");
    assert!(joined.contains("`External disclaimer`"), "{joined}");
    assert!(joined.contains("HasClassification"), "{joined}");
    assert!(joined.contains("Receive connectors"), "{joined}");
}

/// One line per exposure at K = 0: `ORIGIN -> DOMAIN CODE`.
fn exposures(relative: &str) -> Vec<String> {
    let t = topology(relative);
    let options = CheckOptions {
        failures_max: 0,
        at: at(),
        shard: None,
        no_pruning: false,
    };
    let result = check::check(&t, &options, &|_| {});
    result
        .exposures
        .iter()
        .map(|e| format!("{} -> {} {}", e.origin_text(&t), e.recipient_domain, e.code))
        .collect()
}

/// Contoso: Branch has no Internet connector, so the rule's requirement is lost on the relay to
/// HQ (reference §3.9) and mail to a domain without STARTTLS leaves in clear: TLS001 from
/// Branch, none from HQ, whose servers are the connector's source servers. HQ's only exposure is
/// TLS002 to adatum.com: the rule's EncryptionOnly replaces the scoped connector's
/// CertificateValidation (reference §3.6, `rule_level_overrides_connector`). Mail that copies a
/// mailbox in the other site runs its rules there (reference §1.10): HQ mail copying Branch
/// fares as Branch's, Branch mail copying HQ as HQ's.
#[test]
fn check_of_contoso_finds_the_branch_exposure_an_architect_predicts() {
    let lines = exposures(CONTOSO);
    assert_eq!(
        lines,
        [
            "Branch -> cleartext.example TLS001",
            "HQ mail that also goes to a mailbox in Branch -> cleartext.example TLS001",
            "Branch -> * TLS003",
            "HQ -> adatum.com TLS002",
            "HQ mail that also goes to a mailbox in Branch -> * TLS003",
            "Branch mail that also goes to a mailbox in HQ -> adatum.com TLS002",
        ]
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("HQ -> ") && (l.ends_with("TLS001") || l.ends_with("TLS003"))),
        "HQ holds the connector: its requirement survives"
    );
}

/// Northwind: Internet mail leaves through the Edge, which cannot carry the rule's requirement
/// (reference §1.11, §3.7): both sites are exposed. The mailboxes are in DAG1, imported from
/// Get-DatabaseAvailabilityGroup, so the rules run on a DAG member (reference §1.10).
#[test]
fn check_of_northwind_finds_both_sites_exposed_through_the_edge() {
    let lines = exposures(NORTHWIND);
    for site in ["Amsterdam", "Rotterdam"] {
        let line = format!("{site} (mailboxes in DAG DAG1) -> cleartext.example TLS001");
        assert!(lines.contains(&line), "{line} not in {lines:?}");
    }
}

#[test]
fn invalid_json_names_the_file_line_and_column() {
    let mut files = export(CONTOSO);
    files.insert(
        "Get-SendConnector.json".to_owned(),
        b"[\n  {\"Name\": \"Internet\",\n   \"AddressSpaces\": [\"SMTP:*;1\"\n  }\n]\n".to_vec(),
    );
    let text = errors(&files);
    assert!(
        text.starts_with("export/Get-SendConnector.json:4:"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_missing_required_file_is_named() {
    let mut files = export(CONTOSO);
    files.remove("Get-ExchangeServer.json");
    files.remove("Get-TransportRule.json");
    let text = errors(&files);
    assert!(
        text.contains("export/Get-ExchangeServer.json: missing"),
        "{text}"
    );
    assert!(
        text.contains("export/Get-TransportRule.json: missing"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn an_unknown_tls_auth_level_names_the_json_path() {
    let mut files = export(CONTOSO);
    let text = String::from_utf8(files["Get-SendConnector.json"].clone()).expect("utf-8");
    let text = text.replace(
        "\"TlsAuthLevel\":  \"CertificateValidation\"",
        "\"TlsAuthLevel\":  \"CertificateValidated\"",
    );
    files.insert("Get-SendConnector.json".to_owned(), text.into_bytes());
    let text = errors(&files);
    assert!(
        text.contains("export/Get-SendConnector.json: [1].TlsAuthLevel: unknown TlsAuthLevel"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    let cases: [(&str, &[u8]); 6] = [
        ("Get-ADSite.json", b"42"),
        ("Get-ADSite.json", b"[{\"HubSiteEnabled\": \"maybe\"}]"),
        (
            "Get-AdSiteLink.json",
            b"{\"Name\": \"L\", \"Cost\": \"cheap\"}",
        ),
        ("Get-SendConnector.json", b"\xff\xfe\x00"),
        (
            "Get-TransportRule.json",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        ),
        (
            "Get-ExchangeServer.json",
            b"{\"Name\": \"X\", \"Site\": \"a/b/Nowhere\", \"IsMailboxServer\": true}",
        ),
    ];
    for (name, bytes) in cases {
        let mut files = export(CONTOSO);
        files.insert(name.to_owned(), bytes.to_vec());
        let text = errors(&files);
        assert!(text.contains(name), "{name}: {text}");
    }
}

#[test]
fn utf16_and_bom_exports_are_read() {
    let mut files = export(CONTOSO);
    let json = String::from_utf8(files["Get-ADSite.json"].clone()).expect("utf-8");
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(json.encode_utf16().flat_map(u16::to_le_bytes));
    files.insert("Get-ADSite.json".to_owned(), utf16);
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(files["Get-AcceptedDomain.json"].clone());
    files.insert("Get-AcceptedDomain.json".to_owned(), bom);
    let yaml = import::exchange("export", &files).expect("imports").yaml;
    assert_eq!(yaml, imported(CONTOSO).yaml);
}

#[test]
fn cli_writes_the_topology_and_warns_about_what_is_not_mapped() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().join("topology.yaml");
    let assert = tlsflow()
        .args([
            "import",
            "exchange",
            "tests/data/import/contoso-2016",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with("warning: manifest.json: missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nwarning: 5 items of the export are not mapped"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&out).expect("written");
    assert_eq!(written, imported(CONTOSO).yaml);
    tlsflow().args(["validate"]).arg(&out).assert().code(0);
    tlsflow()
        .args(["check"])
        .arg(&out)
        .args(["--at", "2026-06-01T00:00:00Z", "--no-fixes"])
        .assert()
        .code(1);
}

#[test]
fn cli_refuses_a_malformed_export_with_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let export_dir = dir.path().join("export");
    std::fs::create_dir(&export_dir).expect("created");
    for (name, bytes) in export(CONTOSO) {
        std::fs::write(export_dir.join(name), bytes).expect("written");
    }
    std::fs::write(
        export_dir.join("Get-TransportConfig.json"),
        "{\"TLSSendDomainSecureList\": [",
    )
    .expect("written");
    let out = dir.path().join("topology.yaml");
    let assert = tlsflow()
        .args(["import", "exchange"])
        .arg(&export_dir)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("Get-TransportConfig.json:1:"), "{stderr}");
    assert!(stderr.contains("invalid JSON"), "{stderr}");
    assert!(!out.exists(), "nothing is written for a malformed export");
    tlsflow()
        .args(["import", "exchange", "tests/data/import/does-not-exist"])
        .assert()
        .code(2);
}

/// Property: whatever type a property of the export has, the import returns the YAML or
/// errors, never panics (every property of every object of the Contoso export, replaced by
/// values of every JSON type).
#[test]
fn any_property_of_any_type_is_imported_or_refused_never_a_panic() {
    let base = export(CONTOSO);
    let replacements = [
        serde_json::json!(null),
        serde_json::json!(-1),
        serde_json::json!(1e300),
        serde_json::json!(""),
        serde_json::json!("CN=,/;:*"),
        serde_json::json!([{"Name": []}]),
        serde_json::json!({"IsUnlimited": false, "Value": {}}),
        serde_json::json!(true),
    ];
    let mut runs = 0;
    for (name, bytes) in &base {
        let Ok(serde_json::Value::Array(items)) = serde_json::from_slice(bytes) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let serde_json::Value::Object(map) = item else {
                continue;
            };
            for key in map.keys() {
                for replacement in &replacements {
                    let mut mutated = items.clone();
                    mutated[i][key] = replacement.clone();
                    let mut files = base.clone();
                    files.insert(
                        name.clone(),
                        serde_json::to_vec(&mutated).expect("serialises"),
                    );
                    if let Err(errors) = import::exchange("export", &files) {
                        assert!(!errors.is_empty());
                        assert!(errors.iter().all(|e| !e.trim().is_empty()));
                    }
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 1000, "only {runs} mutations");
}

/// A hardened organisation imports cleanly (issue 13): Domain Secure on the `*` Internet
/// connector, as DISA STIG and EDCA-TLS-014 require and as Exchange's own EdgeSync connector
/// has it, is accepted by Exchange and so by the importer.
#[test]
fn domain_secure_on_the_wildcard_connector_imports() {
    let mut files = export(CONTOSO);
    let text = String::from_utf8(files["Get-SendConnector.json"].clone()).expect("utf-8");
    let text = text.replacen(
        "\"DomainSecureEnabled\":  false",
        "\"DomainSecureEnabled\":  true",
        1,
    );
    files.insert("Get-SendConnector.json".to_owned(), text.into_bytes());
    let imported = import::exchange("export", &files).expect("a hardened export imports");
    assert!(
        imported.yaml.contains("domain_secure: true"),
        "{}",
        imported.yaml
    );
}

/// An export that maps onto a topology the loader refuses (a TlsAuthLevel on a connector that
/// does not require TLS, which Set-SendConnector refuses: "You can't specify a value for this
/// parameter ... if the RequireTLS parameter is set to $false") is an error with the loader's
/// diagnostic, not a bad file.
#[test]
fn an_export_the_loader_refuses_is_an_error_with_its_diagnostic() {
    let mut files = export(CONTOSO);
    let text = String::from_utf8(files["Get-SendConnector.json"].clone()).expect("utf-8");
    let text = text.replacen(
        "\"TlsAuthLevel\":  null",
        "\"TlsAuthLevel\":  \"CertificateValidation\"",
        1,
    );
    files.insert("Get-SendConnector.json".to_owned(), text.into_bytes());
    let text = errors(&files);
    assert!(text.contains("error[CFG012]"), "{text}");
    assert!(text.contains("send connector `Internet`"), "{text}");
}

/// An Edge subscription whose server is missing from Get-ExchangeServer still gives the Edge
/// (and its EdgeSync connector), with a note; an unsubscribed Edge is left out, with a note.
#[test]
fn edge_subscriptions_decide_which_edges_are_imported() {
    let mut files = export(NORTHWIND);
    let servers: serde_json::Value =
        serde_json::from_slice(&files["Get-ExchangeServer.json"]).expect("JSON");
    let without_edge: Vec<&serde_json::Value> = servers
        .as_array()
        .expect("an array")
        .iter()
        .filter(|s| s["Name"] != "EDGE1")
        .collect();
    files.insert(
        "Get-ExchangeServer.json".to_owned(),
        serde_json::to_vec(&without_edge).expect("serialises"),
    );
    let imported = import::exchange("export", &files).expect("imports");
    assert!(
        imported.yaml.contains("name: \"EDGE1\""),
        "{}",
        imported.yaml
    );
    assert!(
        imported
            .unmapped
            .iter()
            .any(|u| u.contains("Edge subscription `EDGE1` (site Amsterdam) has no server")),
        "{:?}",
        imported.unmapped
    );

    let mut files = export(NORTHWIND);
    files.insert("Get-EdgeSubscription.json".to_owned(), b"[]".to_vec());
    let imported = import::exchange("export", &files).expect("imports");
    assert!(!imported.yaml.contains("name: \"EDGE1\""));
    assert!(
        imported
            .unmapped
            .iter()
            .any(|u| u.contains("Edge server `EDGE1` has no Edge subscription")),
        "{:?}",
        imported.unmapped
    );
}

/// An enum written as a number (a remote session's deserialized enum) is read by Exchange's
/// numbering where captures confirm it (TlsAuthLevel CertificateValidation = 2), with no guess to
/// report.
#[test]
fn a_numeric_enum_with_known_numbering_is_read() {
    let mut files = export(CONTOSO);
    let connectors = String::from_utf8(files["Get-SendConnector.json"].clone()).expect("UTF-8");
    let numeric = connectors.replace(
        "\"TlsAuthLevel\":  \"CertificateValidation\"",
        "\"TlsAuthLevel\":  2",
    );
    assert_ne!(numeric, connectors, "the fixture names the level");
    files.insert("Get-SendConnector.json".to_owned(), numeric.into_bytes());
    let imported = import::exchange("export", &files).expect("imports");
    assert!(
        imported
            .yaml
            .contains("tls_auth_level: certificate_validation")
    );
    assert_eq!(body(&imported.yaml), body(&self::imported(CONTOSO).yaml));
}

/// SentToScope's numbering is confirmed by no capture: a number is refused by name, with the
/// fix, rather than guessed (issue 14 point 2).
#[test]
fn a_number_of_an_enum_with_unconfirmed_numbering_is_refused() {
    let mut files = export(CONTOSO);
    let rules = String::from_utf8(files["Get-TransportRule.json"].clone()).expect("UTF-8");
    let numeric = rules.replacen("\"NotInOrganization\"", "1", 1);
    assert_ne!(numeric, rules, "the fixture has a SentToScope");
    files.insert("Get-TransportRule.json".to_owned(), numeric.into_bytes());
    let text = errors(&files);
    assert!(
        text.contains(".SentToScope: SentToScope 1 is a number"),
        "{text}"
    );
    assert!(
        text.contains("Export-TlsflowInventory.ps1 writes their names"),
        "{text}"
    );
}

/// Issue 14: Exchange's enum numbers as a plain remote PowerShell session writes them. The
/// tables tlsflow had (Audit 0 / AuditAndNotify 1 / Enforce 2, Disabled 0 / Enabled 1,
/// DomainValidation 3) refused every enforced rule, dropped enabled rules as disabled and
/// imported a switched-off rule as enforced. Each case here failed with them.
#[test]
fn numeric_enums_read_with_exchange_numbering() {
    let with = |file: &str, from: &str, to: &str| {
        let mut files = export(CONTOSO);
        let text = String::from_utf8(files[file].clone()).expect("UTF-8");
        let changed = text.replacen(from, to, 1);
        assert_ne!(changed, text, "{from} is in {file}");
        files.insert(file.to_owned(), changed.into_bytes());
        import::exchange("export", &files)
    };
    // Enforce = 3: imported as enforce (the default mode, so no `mode:` line for the rule).
    let enforce = with(
        "Get-TransportRule.json",
        "\"Mode\":  \"Enforce\"",
        "\"Mode\":  3",
    )
    .expect("Enforce 3 imports");
    assert!(
        enforce.yaml.contains("Top secret must use TLS"),
        "{}",
        enforce.yaml
    );
    // AuditAndNotify = 2: audit, never enforce.
    let audit = with(
        "Get-TransportRule.json",
        "\"Mode\":  \"Enforce\"",
        "\"Mode\":  2",
    )
    .expect("AuditAndNotify 2 imports");
    let rule = audit
        .yaml
        .split("- name: ")
        .find(|r| {
            r.starts_with("\"Top secret must use TLS\"") || r.starts_with("Top secret must use TLS")
        })
        .expect("the rule is imported");
    assert!(rule.contains("mode: audit"), "{rule}");
    // Enabled = 0: the rule is kept; Disabled = 1: it is left out.
    let enabled = with(
        "Get-TransportRule.json",
        "\"State\":  \"Enabled\"",
        "\"State\":  0",
    )
    .expect("Enabled 0 imports");
    assert!(
        enabled.yaml.contains("Top secret must use TLS"),
        "{}",
        enabled.yaml
    );
    let disabled = with(
        "Get-TransportRule.json",
        "\"State\":  \"Enabled\"",
        "\"State\":  1",
    )
    .expect("Disabled 1 imports");
    assert!(
        !disabled.yaml.contains("name: \"Top secret must use TLS\""),
        "{}",
        disabled.yaml
    );
    // DomainValidation = 4; there is no 3. (The connector is a smart-host one, so it needs a
    // TlsDomain too: CFG025.)
    let dv = {
        let mut files = export(CONTOSO);
        let text = String::from_utf8(files["Get-SendConnector.json"].clone()).expect("UTF-8");
        let text = text
            .replacen(
                "\"TlsAuthLevel\":  \"CertificateValidation\"",
                "\"TlsAuthLevel\":  4",
                1,
            )
            .replace(
                "\"TlsDomain\":  null",
                "\"TlsDomain\":  \"relay.adatum.com\"",
            );
        files.insert("Get-SendConnector.json".to_owned(), text.into_bytes());
        import::exchange("export", &files)
    };
    match dv {
        Ok(i) => assert!(
            i.yaml.contains("tls_auth_level: domain_validation"),
            "{}",
            i.yaml
        ),
        Err(e) => panic!("DomainValidation 4 does not import: {e:?}"),
    }
    let three = with(
        "Get-SendConnector.json",
        "\"TlsAuthLevel\":  \"CertificateValidation\"",
        "\"TlsAuthLevel\":  3",
    )
    .expect_err("there is no TlsAuthLevel 3");
    assert!(
        three.join("\n").contains("unknown TlsAuthLevel 3"),
        "{three:?}"
    );
}

// ---- issue 14: exports built from real captured cmdlet output ---------------------------------

/// SoloORG in the three shapes a real run produces: the export script's names (with a
/// manifest), a remote session's numbers, and a hand-run raw `ConvertTo-Json` of deserialized
/// objects. Every value form comes from a capture in microsoft/CSS-Exchange: each folder's
/// PROVENANCE.md names the capture of each value.
const SOLO_SHAPES: [&str; 3] = [
    "import/solo-lab-names",
    "import/solo-lab-numbers",
    "import/solo-lab-raw",
];

/// The YAML without its comment lines (the header says how the export was read).
fn body(yaml: &str) -> String {
    yaml.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_three_shapes_of_one_export_import_alike() {
    let names = imported(SOLO_SHAPES[0]);
    assert!(names.warnings.is_empty(), "{:?}", names.warnings);
    for shape in &SOLO_SHAPES[1..] {
        let other = imported(shape);
        assert_eq!(body(&other.yaml), body(&names.yaml), "{shape}");
        assert_eq!(other.warnings.len(), 1, "{shape}: {:?}", other.warnings);
        assert!(
            other.warnings[0].contains("manifest.json: missing"),
            "{shape}: {:?}",
            other.warnings
        );
    }
    insta::assert_snapshot!("solo-lab", names.yaml);
}

/// Field by field, in every shape, against the captures (PROVENANCE.md): versions and roles of
/// E15/E16/E19 and the Edge, the accepted domains with their wildcards and types, rule modes and
/// states, the TLS level, smart hosts (a name, and an IP as `[a.b.c.d]`), the size, the
/// mailboxes and the DAG.
#[test]
fn solo_lab_imports_field_by_field_as_the_captures_say() {
    use tlsflow::model::{AcceptedDomainType, MailboxAddress, RuleMode, TlsLevel};
    for shape in SOLO_SHAPES {
        let t = topology(shape);
        let server = |name: &str| {
            t.servers
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("{shape}: no server {name}"))
        };
        assert_eq!(t.organization, "SoloORG", "{shape}");
        for (name, version) in [
            ("SOLO-E15A", "15.0"),
            ("SOLO-E16A", "15.1"),
            ("SOLO-E19A", "15.2"),
        ] {
            let s = server(name);
            assert_eq!(s.version.as_deref(), Some(version), "{shape}: {name}");
            assert!(s.is_transport(), "{shape}: {name} runs Transport");
        }
        let edge = server("SOLO-EDGE1");
        assert!(
            edge.site.is_none() && edge.subscribed_site.is_some(),
            "{shape}"
        );
        assert!(edge.create_internet_send_connector, "{shape}");
        let site_of = |name: &str| server(name).site.map(|s| t.sites[s.index()].name.clone());
        assert_eq!(site_of("SOLO-E15A").as_deref(), Some("Branch"), "{shape}");
        assert_eq!(
            site_of("SOLO-E19A").as_deref(),
            Some("Default-First-Site-Name"),
            "{shape}"
        );
        let domains: Vec<(String, bool, AcceptedDomainType)> = t
            .accepted_domains
            .iter()
            .map(|d| (d.domain.clone(), d.subdomains, d.kind))
            .collect();
        assert_eq!(
            domains,
            [
                (
                    "solo.com".to_owned(),
                    false,
                    AcceptedDomainType::Authoritative
                ),
                (
                    "contoso.local".to_owned(),
                    true,
                    AcceptedDomainType::Authoritative
                ),
                ("com".to_owned(), true, AcceptedDomainType::InternalRelay),
            ],
            "{shape}: `*.contoso.local` and `*.com` keep their wildcard, `Wild .com` is InternalRelay (2)"
        );
        let rules: Vec<(&str, u32, RuleMode)> = t
            .transport_rules
            .iter()
            .map(|r| (r.name.as_str(), r.priority, r.mode))
            .collect();
        assert_eq!(
            rules,
            [
                ("Require TLS to Adatum", 0, RuleMode::Enforce),
                ("Pilot: TLS for all mail", 2, RuleMode::Audit),
                ("Confidential: TLS (notify)", 3, RuleMode::Audit),
            ],
            "{shape}: Enforce 3, Audit 1, AuditAndNotify 2; the Disabled (1) rule is left out"
        );
        let connector = |name: &str| {
            t.send_connectors
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{shape}: no connector {name}"))
        };
        let o365 = connector("Mail to O365");
        assert_eq!(
            o365.smart_hosts,
            ["contoso-com.mail.protection.outlook.com"],
            "{shape}"
        );
        assert_eq!(
            o365.max_message_size.map(|b| b.0),
            Some(36_700_160),
            "{shape}"
        );
        assert_eq!(o365.tls_auth_level, None, "{shape}");
        let adatum = connector("Relay to Adatum");
        assert_eq!(adatum.smart_hosts, ["[192.168.10.25]"], "{shape}");
        assert!(adatum.require_tls, "{shape}");
        assert_eq!(
            adatum.tls_auth_level,
            Some(TlsLevel::CertificateValidation),
            "{shape}"
        );
        let mailboxes: Vec<(String, String)> = t
            .mailboxes
            .iter()
            .map(|m| {
                let address = match &m.address {
                    MailboxAddress::Exact(a) => a.clone(),
                    MailboxAddress::Domain(d) => format!("*@{d}"),
                };
                (address, t.servers[m.server.index()].name.clone())
            })
            .collect();
        assert_eq!(
            mailboxes,
            [
                ("alice@solo.com".to_owned(), "SOLO-E19A".to_owned()),
                ("bob@solo.com".to_owned(), "SOLO-E16A".to_owned()),
                ("carol@solo.com".to_owned(), "SOLO-E15A".to_owned()),
            ],
            "{shape}: addresses from SmtpAddress.Address, never its Domain"
        );
        assert_eq!(t.dags.len(), 1, "{shape}");
        assert_eq!(t.dags[0].name, "DAG19", "{shape}");
        assert_eq!(t.site_links[0].cost, 100, "{shape}");
        assert_eq!(
            t.transport_config.message_expiration_timeout.0, 172_800_000,
            "{shape}"
        );
    }
}

/// `export("import/solo-lab-names")` with its manifest changed by `edit`.
fn with_manifest(edit: impl FnOnce(&mut serde_json::Value)) -> BTreeMap<String, Vec<u8>> {
    let mut files = export(SOLO_SHAPES[0]);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&files["manifest.json"]).expect("the fixture's manifest");
    edit(&mut manifest);
    files.insert(
        "manifest.json".to_owned(),
        serde_json::to_vec(&manifest).expect("JSON"),
    );
    files
}

fn entry<'a>(manifest: &'a mut serde_json::Value, file: &str) -> &'a mut serde_json::Value {
    manifest["cmdlets"]
        .as_array_mut()
        .expect("cmdlets")
        .iter_mut()
        .find(|e| e["file"] == file)
        .expect("the file is in the manifest")
}

/// Issue 14 point 4: a failed cmdlet is not an empty organisation. The script records it in
/// manifest.json and writes `[]`; the importer refuses the export, naming the cmdlet and its
/// error, unless the cmdlet feeds nothing the check depends on (then a warning).
#[test]
fn a_failed_cmdlet_refuses_the_import_and_never_reads_as_empty() {
    let mut files = with_manifest(|m| {
        let e = entry(m, "Get-SendConnector.json");
        e["status"] = "failed".into();
        e["count"] = 0.into();
        e["error"] = "Active Directory operation failed on DC1: insufficient access rights".into();
    });
    files.insert("Get-SendConnector.json".to_owned(), b"[]".to_vec());
    let text = errors(&files);
    assert!(
        text.contains("export/Get-SendConnector.json: `Get-SendConnector` failed during the export: Active Directory operation failed on DC1: insufficient access rights"),
        "{text}"
    );
    assert!(
        text.contains("a failed cmdlet is not an empty one"),
        "{text}"
    );

    let mut files = with_manifest(|m| {
        let e = entry(m, "Get-ReceiveConnector.json");
        e["status"] = "failed".into();
        e["error"] = "The operation couldn't be performed".into();
    });
    files.insert("Get-ReceiveConnector.json".to_owned(), b"[]".to_vec());
    let imported = import::exchange("export", &files).expect("Receive connectors are not modelled");
    assert!(
        imported.warnings.iter().any(|w| w
            .starts_with("Get-ReceiveConnector.json: `Get-ReceiveConnector` failed during the export (The operation couldn't be performed)")),
        "{:?}",
        imported.warnings
    );
    assert!(
        imported.yaml.contains("# WARNINGS (1)"),
        "{}",
        imported.yaml
    );
}

/// The manifest also catches a partial run, a cut or edited file, and a file left behind.
#[test]
fn the_manifest_catches_partial_cut_and_missing_files() {
    let incomplete = with_manifest(|m| m["complete"] = false.into());
    let text = errors(&incomplete);
    assert!(
        text.contains("export/manifest.json: the export script did not finish"),
        "{text}"
    );

    let cut = with_manifest(|m| entry(m, "Get-TransportRule.json")["count"] = 6.into());
    let text = errors(&cut);
    assert!(
        text.contains("export/Get-TransportRule.json: holds 5 objects, but manifest.json says `Get-TransportRule -ResultSize Unlimited` returned 6"),
        "{text}"
    );

    let mut missing = export(SOLO_SHAPES[0]);
    missing.remove("Get-DatabaseAvailabilityGroup.json");
    let text = errors(&missing);
    assert!(
        text.contains(
            "export/Get-DatabaseAvailabilityGroup.json: missing, although manifest.json says"
        ),
        "{text}"
    );

    let mut foreign = export(SOLO_SHAPES[0]);
    foreign.insert(
        "manifest.json".to_owned(),
        b"{\"tool\": \"Other\", \"schema\": 1, \"cmdlets\": []}".to_vec(),
    );
    assert!(errors(&foreign).contains("written by `Other`"));
    foreign.insert("manifest.json".to_owned(), b"[1, 2".to_vec());
    assert!(errors(&foreign).contains("export/manifest.json: not a manifest"));
}

/// Without a manifest, an empty Send connector list or no rule with the TLS action is said
/// loudly, in the YAML and on stderr, because `check` would find nothing to report.
#[test]
fn an_export_with_nothing_to_check_is_warned_about() {
    let mut files = export(CONTOSO);
    files.insert("Get-SendConnector.json".to_owned(), b"[]".to_vec());
    files.insert("Get-TransportRule.json".to_owned(), b"[]".to_vec());
    let imported = import::exchange("export", &files).expect("imports");
    let warnings = imported.warnings.join("\n");
    for needle in [
        "Get-SendConnector.json: empty, and with no manifest.json",
        "Get-TransportRule.json: empty, and with no manifest.json",
        "no Send connector was imported",
        "no enabled transport rule has the action RouteMessageOutboundRequireTls",
    ] {
        assert!(warnings.contains(needle), "{needle} not in:\n{warnings}");
        assert!(imported.yaml.contains(needle), "{needle} not in the YAML");
    }
}

/// A raw ConvertTo-Json of live objects writes Exchange's sizes as `{}`: the size is lost, and
/// the import says so by name instead of writing a wrong value. An IPAddress without its
/// `IPAddressToString` is read from its little-endian `Address` (420128960 = 192.168.10.25, as issue 14 saw it).
#[test]
fn raw_objects_that_lost_their_value_are_said_or_decoded() {
    let mut files = export(SOLO_SHAPES[2]);
    let text = String::from_utf8(files["Get-SendConnector.json"].clone()).expect("UTF-8");
    let mut connectors: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    connectors[0]["MaxMessageSize"] = serde_json::json!({"IsUnlimited": false, "Value": {}});
    let ip = &mut connectors[1]["SmartHosts"][0]["Address"];
    ip.as_object_mut()
        .expect("an IPAddress object")
        .remove("IPAddressToString");
    assert_eq!(ip["Address"], 420_128_960);
    files.insert(
        "Get-SendConnector.json".to_owned(),
        serde_json::to_vec(&connectors).expect("JSON"),
    );
    let imported = import::exchange("export", &files).expect("imports");
    assert!(
        imported.warnings.iter().any(|w| w.starts_with(
            "Get-SendConnector.json: connector `Mail to O365`: MaxMessageSize is lost — this file is a raw ConvertTo-Json export"
        )),
        "{:?}",
        imported.warnings
    );
    let o365 = imported
        .yaml
        .split("- name: \"Mail to O365\"")
        .nth(1)
        .and_then(|s| s.split("- name:").next())
        .expect("the connector");
    assert!(!o365.contains("max_message_size"), "{o365}");
    assert!(imported.yaml.contains("smart_hosts: [\"[192.168.10.25]\"]"));
}

/// Issue 14 point 5: UTF-16 BE with its byte-order mark reads like UTF-8; a file in the ANSI
/// code page (Windows PowerShell 5.1's Set-Content) is read as Windows-1252 with a warning that
/// names the byte, the line and the fix; UTF-16 without a byte-order mark is refused with the
/// likely cause.
#[test]
fn ansi_and_utf16_be_exports_are_read_and_said() {
    let mut files = export(CONTOSO);
    let sites = String::from_utf8(files["Get-ADSite.json"].clone()).expect("UTF-8");
    let mut be = vec![0xFE, 0xFF];
    be.extend(sites.encode_utf16().flat_map(u16::to_be_bytes));
    files.insert("Get-ADSite.json".to_owned(), be);
    let imported_be = import::exchange("export", &files).expect("UTF-16 BE imports");
    assert_eq!(imported_be.yaml, imported(CONTOSO).yaml);

    let rules = String::from_utf8(files["Get-TransportRule.json"].clone()).expect("UTF-8");
    let renamed = rules.replace(
        "Top secret must use TLS",
        "Top secret must use TLS (Zürich)",
    );
    let ansi: Vec<u8> = renamed
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1 text"))
        .collect();
    files.insert("Get-TransportRule.json".to_owned(), ansi);
    let imported = import::exchange("export", &files).expect("ANSI imports");
    assert!(
        imported
            .yaml
            .contains("name: \"Top secret must use TLS (Zürich)\""),
        "the rule name is decoded"
    );
    let warning = imported
        .warnings
        .iter()
        .find(|w| w.starts_with("Get-TransportRule.json: not UTF-8"))
        .unwrap_or_else(|| panic!("{:?}", imported.warnings));
    assert!(
        warning.contains("Windows-1252")
            && warning.contains("`ü`")
            && warning.contains("re-export"),
        "{warning}"
    );

    let mut no_bom = export(CONTOSO);
    no_bom.insert(
        "Get-ADSite.json".to_owned(),
        sites.encode_utf16().flat_map(u16::to_le_bytes).collect(),
    );
    let text = errors(&no_bom);
    assert!(
        text.contains(
            "export/Get-ADSite.json: not text: byte 1 is 0x00. UTF-16 without a byte-order mark?"
        ),
        "{text}"
    );
}

/// The SoloORG export with `n` mailboxes spread over its three databases, as the export script
/// writes them (compact JSON), plus one address repeated in another case.
fn solo_with_mailboxes(n: usize) -> BTreeMap<String, Vec<u8>> {
    let mut files = export(SOLO_SHAPES[0]);
    files.remove("manifest.json");
    let mut json = String::from("[");
    for i in 0..n {
        let db = ["DB19", "DB16", "DB15"][i % 3];
        let _ = write!(
            json,
            "{{\"PrimarySmtpAddress\":\"firstname.lastname{i:06}@Solo.com\",\"Database\":\"{db}\"}},"
        );
    }
    json.push_str(
        "{\"PrimarySmtpAddress\":\"FIRSTNAME.LASTNAME000000@solo.com\",\"Database\":\"DB16\"}]",
    );
    files.insert("Get-Mailbox.json".to_owned(), json.into_bytes());
    files
}

/// Issue 14 point 7: the script's maximum sample, 100,000 mailboxes, imports (the duplicate
/// check is a set, not a scan: `cargo bench --bench scale -- import` measures it) and the topology
/// loads; an address repeated in another case is one mailbox.
#[test]
fn a_100000_mailbox_export_imports() {
    let imported = import::exchange("export", &solo_with_mailboxes(100_000)).expect("imports");
    assert!(
        imported.summary.contains("mailboxes 100000;"),
        "{}",
        imported.summary
    );
    let source = load::source_from_bytes("topology.yaml", imported.yaml.as_bytes(), None)
        .expect("under the input cap");
    let loaded = load::topology_from_source(source).expect("loads");
    assert_eq!(loaded.topology.mailboxes.len(), 100_000);
}

/// Get-AdSiteLink's `Cost` is ExchangeCost when that is set: the AD cost is `ADCost`, and both
/// are kept. Without ADCost, `Cost` cannot stand for it, and the import says so.
#[test]
fn site_links_keep_the_ad_cost_and_the_exchange_cost() {
    let with_link = |link: &str| {
        let mut files = export(SOLO_SHAPES[0]);
        files.remove("manifest.json");
        let text = format!(
            "[{{\"Name\": \"DEFAULTIPSITELINK\", \"Sites\": [\"Solo.com/Configuration/Sites/Default-First-Site-Name\", \"Solo.com/Configuration/Sites/Branch\"], {link}}}]"
        );
        files.insert("Get-AdSiteLink.json".to_owned(), text.into_bytes());
        import::exchange("export", &files).expect("imports")
    };
    let both = with_link("\"Cost\": 50, \"ADCost\": 200, \"ExchangeCost\": 50");
    assert!(
        both.yaml
            .contains("    cost: 200   # ADCost\n    exchange_cost: 50"),
        "{}",
        both.yaml
    );
    let no_ad = with_link("\"Cost\": 50, \"ExchangeCost\": 50");
    assert!(!no_ad.yaml.contains("    cost: 50"), "{}", no_ad.yaml);
    assert!(no_ad.yaml.contains("    exchange_cost: 50"));
    assert!(
        no_ad
            .unmapped
            .iter()
            .any(|u| u.contains("no ADCost in the export (its `Cost` is the ExchangeCost)")),
        "{:?}",
        no_ad.unmapped
    );
}

/// New-EdgeSubscription -CreateInternetSendConnector $false leaves no "EdgeSync - SITE to
/// Internet" connector: the Edge is imported with `create_internet_send_connector: false`, and a
/// Send connector sourced on the Edge subscription is imported (not dropped as EdgeSync's).
#[test]
fn an_edge_without_its_edgesync_connector_is_imported_as_such() {
    let mut files = export(SOLO_SHAPES[0]);
    files.remove("manifest.json");
    let mut connectors: serde_json::Value =
        serde_json::from_slice(&files["Get-SendConnector.json"]).expect("JSON");
    let list = connectors.as_array_mut().expect("an array");
    list.retain(|c| !c["Name"].as_str().unwrap_or("").starts_with("EdgeSync - "));
    let mut via_edge = list[0].clone();
    via_edge["Name"] = "Internet via SOLO-EDGE1".into();
    via_edge["AddressSpaces"] = serde_json::json!(["SMTP:*;1"]);
    via_edge["SourceTransportServers"] = serde_json::json!(["SOLO-EDGE1"]);
    via_edge["DNSRoutingEnabled"] = true.into();
    via_edge["SmartHosts"] = serde_json::json!([]);
    list.push(via_edge);
    files.insert(
        "Get-SendConnector.json".to_owned(),
        serde_json::to_vec(&connectors).expect("JSON"),
    );
    let imported = import::exchange("export", &files).expect("imports");
    assert!(
        imported
            .yaml
            .contains("    create_internet_send_connector: false"),
        "{}",
        imported.yaml
    );
    assert!(imported.yaml.contains("source_servers: [\"SOLO-EDGE1\"]"));
    let t = {
        let source =
            load::source_from_bytes("t.yaml", imported.yaml.as_bytes(), None).expect("text");
        load::topology_from_source(source).expect("loads").topology
    };
    assert!(
        !t.send_connectors.iter().any(|c| c.implicit),
        "no implicit EdgeSync connector"
    );
}

/// An IP smart host is one host however it is written: `192.168.10.25` on the connector finds
/// the `[192.168.10.25]` entry the import template writes (its behaviour, not `*`'s, decides),
/// and that entry is not a recipient domain.
#[test]
fn an_ip_smart_host_finds_its_bracketed_entry() {
    let yaml = "format: 1\nsites: [{name: HQ}]\nservers: [{name: HQ-MBX1, site: HQ, roles: [mailbox]}]\nsend_connectors: [{name: Relay, address_spaces: [\"SMTP:*;1\"], source_servers: [HQ-MBX1], dns_routing: false, smart_hosts: [\"192.168.10.25\"]}]\ntransport_rules: [{name: TLS, actions: {require_tls: true}}]\nexternal_domains:\n  - {domain: \"[192.168.10.25]\", mx: [{host: \"[192.168.10.25]\", starttls: not_offered}]}\n  - {domain: \"*\", mx: [{host: mx.example.com, certificate: {subject: mx.example.com, trusted: true}}]}\n";
    let source = load::source_from_bytes("t.yaml", yaml.as_bytes(), None).expect("text");
    let t = load::topology_from_source(source)
        .unwrap_or_else(|f| panic!("{}", f.render()))
        .topology;
    assert_eq!(t.send_connectors[0].smart_hosts, ["[192.168.10.25]"]);
    assert!(
        !t.domain_classes().iter().any(|d| d.starts_with('[')),
        "{:?}",
        t.domain_classes()
    );
    // The rule runs on the connector's source server, so the requirement holds: the relay's
    // own entry (no STARTTLS) defers the message; `*` (a trusted certificate) would deliver it.
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, yaml).expect("written");
    let out = tlsflow()
        .arg("route")
        .arg(&path)
        .args(["--from", "HQ-MBX1", "--to", "a@fabrikam.com"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("[192.168.10.25]: 451 5.7.3 STARTTLS is required to send mail"),
        "{stdout}"
    );
}
