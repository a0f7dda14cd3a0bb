//! `tlsflow schema` (SPEC §2, §3, §4): the JSON Schemas name every documented key and enum
//! value, refuse unknown keys like the loader, are themselves valid draft 2020-12, and accept
//! every shipped topology and scenario (each YAML file converted to JSON and validated with the
//! `jsonschema` crate).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tlsflow::load::schema::{scenario_schema, topology_schema};

use crate::support::{data, repo};

const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// The top-level keys of a topology file, in SPEC §3's order.
const TOPOLOGY_KEYS: &[&str] = &[
    "format",
    "organization",
    "profile",
    "accepted_domains",
    "sites",
    "site_links",
    "servers",
    "database_availability_groups",
    "send_connectors",
    "transport_rules",
    "transport_config",
    "mailboxes",
    "external_domains",
];

/// The top-level keys of a scenario file, in SPEC §4's order.
const SCENARIO_KEYS: &[&str] = &[
    "format", "name", "topology", "seed", "start", "duration", "messages", "workload", "events",
    "variants", "expect",
];

/// The subschema at `path` below `schema`: each step is a property name, or `[]` for the items
/// of an array. `$ref`s to `#/$defs/...` are followed, and a nullable `anyOf` (an optional
/// key) is looked through to its non-null branch.
fn at<'a>(root: &'a Value, path: &[&str]) -> &'a Value {
    let mut node = resolve(root, root);
    for step in path {
        node = if *step == "[]" {
            &node["items"]
        } else {
            &node["properties"][*step]
        };
        assert!(!node.is_null(), "no `{step}` on the way to {path:?}");
        node = resolve(root, node);
    }
    node
}

fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(r) = node["$ref"].as_str() {
            let name = r.strip_prefix("#/$defs/").expect("a local $ref");
            node = &root["$defs"][name];
        } else if let Some(branches) = node["anyOf"].as_array() {
            let real: Vec<&Value> = branches.iter().filter(|b| b["type"] != "null").collect();
            assert_eq!(real.len(), 1, "an anyOf that is not just nullable: {node}");
            node = real[0];
        } else {
            return node;
        }
    }
    panic!("$ref chain too long at {node}");
}

fn property_names(schema: &Value) -> Vec<&str> {
    schema["properties"]
        .as_object()
        .expect("an object schema")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The enumeration a (possibly nullable) schema allows, without `null`.
fn enum_values(schema: &Value) -> Vec<&str> {
    schema["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("not an enum: {schema}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn both_schemas_are_draft_2020_12_with_an_id_and_a_title() {
    for (schema, id) in [
        (topology_schema(), "urn:tlsflow:schema:topology:1"),
        (scenario_schema(), "urn:tlsflow:schema:scenario:1"),
    ] {
        assert_eq!(schema["$schema"], DRAFT_2020_12);
        assert_eq!(schema["$id"], id);
        assert!(
            schema["title"]
                .as_str()
                .is_some_and(|t| t.contains("format 1"))
        );
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("{id} is not a valid JSON Schema: {e}");
        }
    }
}

#[test]
fn the_topology_schema_has_every_key_of_spec_3() {
    let schema = topology_schema();
    let keys = property_names(&schema);
    for key in TOPOLOGY_KEYS {
        assert!(
            keys.contains(key),
            "topology schema lacks `{key}`: {keys:?}"
        );
    }
    assert_eq!(
        keys.len(),
        TOPOLOGY_KEYS.len(),
        "keys SPEC §3 does not list: {keys:?}"
    );
    assert_eq!(schema["required"], serde_json::json!(["format"]));
    assert_eq!(schema["properties"]["format"]["const"], 1);
}

#[test]
fn the_scenario_schema_has_every_key_of_spec_4() {
    let schema = scenario_schema();
    let keys = property_names(&schema);
    for key in SCENARIO_KEYS {
        assert!(
            keys.contains(key),
            "scenario schema lacks `{key}`: {keys:?}"
        );
    }
    // `latency` is the one key the SPEC example leaves out.
    assert_eq!(keys.len(), SCENARIO_KEYS.len() + 1, "{keys:?}");
    // The topology is a path or an inline topology with every key of §3.
    let topology = at(&schema, &["topology"]);
    let branches = topology["oneOf"].as_array().expect("path or inline");
    assert_eq!(branches[0]["type"], "string");
    let inline = resolve(&schema, &branches[1]);
    for key in TOPOLOGY_KEYS {
        assert!(
            !inline["properties"][*key].is_null(),
            "inline topology lacks `{key}`"
        );
    }
}

#[test]
fn enum_values_are_listed() {
    let t = topology_schema();
    assert_eq!(
        enum_values(at(&t, &["servers", "[]", "roles", "[]"])),
        ["mailbox", "frontend", "edge"]
    );
    assert_eq!(
        enum_values(at(&t, &["send_connectors", "[]", "tls_auth_level"])),
        [
            "encryption_only",
            "certificate_validation",
            "domain_validation"
        ]
    );
    assert_eq!(
        enum_values(at(&t, &["external_domains", "[]", "mx", "[]", "starttls"])),
        ["offered", "not_offered", "handshake_fails"]
    );
    assert_eq!(
        enum_values(at(&t, &["transport_rules", "[]", "mode"])),
        ["enforce", "audit"]
    );
    assert_eq!(
        enum_values(at(
            &t,
            &["transport_rules", "[]", "conditions", "sent_to_scope"]
        )),
        ["in_organization", "not_in_organization"]
    );
    let s = scenario_schema();
    assert_eq!(
        enum_values(at(&s, &["events", "[]", "set", "starttls"])),
        ["offered", "not_offered", "handshake_fails"]
    );
    let expectation = resolve(&s, &at(&s, &["expect"])["additionalProperties"]);
    let outcomes = &expectation["properties"]["outcomes"]["propertyNames"];
    assert!(enum_values(outcomes).contains(&"delivered_domain_validated"));
}

#[test]
fn unknown_keys_are_refused_like_the_loader_does() {
    let t = topology_schema();
    assert_eq!(t["additionalProperties"], false);
    for path in [
        &["sites", "[]"][..],
        &["site_links", "[]"],
        &["servers", "[]"],
        &["send_connectors", "[]"],
        &["transport_rules", "[]", "conditions"],
        &["transport_config"],
        &["external_domains", "[]", "mx", "[]", "certificate"],
    ] {
        assert_eq!(at(&t, path)["additionalProperties"], false, "{path:?}");
    }
    let s = scenario_schema();
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(at(&s, &["events", "[]"])["additionalProperties"], false);
}

#[test]
fn descriptions_carry_exchange_names_defaults_and_ranges() {
    let t = topology_schema();
    let cost = at(&t, &["site_links", "[]", "cost"]);
    assert_eq!(cost["minimum"], 1);
    assert_eq!(cost["maximum"], 99_999);
    let described = |path: &[&str]| {
        let mut node = &t;
        for step in path {
            node = if *step == "[]" {
                resolve(&t, &node["items"])
            } else {
                &resolve(&t, node)["properties"][*step]
            };
        }
        node["description"].as_str().unwrap_or_default().to_owned()
    };
    assert!(described(&["site_links", "[]", "cost"]).contains("default 100"));
    assert!(described(&["sites", "[]", "hub"]).contains("HubSiteEnabled"));
    assert!(described(&["send_connectors", "[]", "require_tls"]).contains("RequireTLS"));
}

/// The YAML files under `dir` (not recursive), sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// A YAML file as the JSON value an editor's YAML language server validates: YAML 1.2, so
/// `yes` is a string (strict booleans, as in the loader).
fn as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("readable file");
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options(&text, options)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// Every error of `files` against `schema`, one line each.
fn violations(schema: &Value, files: &[PathBuf]) -> Vec<String> {
    let validator = jsonschema::draft202012::new(schema).expect("a valid schema");
    let mut out = Vec::new();
    for path in files {
        let instance = as_json(path);
        for e in validator.iter_errors(&instance) {
            out.push(format!("{}: {}: {e}", path.display(), e.instance_path()));
        }
    }
    out
}

#[test]
fn every_shipped_topology_validates_against_the_topology_schema() {
    let files = yaml_files(&repo("scenarios/topologies"));
    assert!(files.len() >= 6, "{files:?}");
    let errors = violations(&topology_schema(), &files);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn every_shipped_scenario_validates_against_the_scenario_schema() {
    let files = yaml_files(&repo("scenarios"));
    assert!(files.len() >= 9, "{files:?}");
    let errors = violations(&scenario_schema(), &files);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The schema refuses what the loader refuses for its shape (CFG002), so an editor flags it
/// before `tlsflow validate` does.
#[test]
fn shape_errors_the_loader_refuses_are_schema_errors_too() {
    let schema = topology_schema();
    let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
    for name in [
        "cfg002-missing-format.yaml",
        "cfg002-missing-required-key-roles.yaml",
        "cfg002-null-site-name.yaml",
        "cfg002-server-with-no-role.yaml",
        "cfg002-transport-rule-without-action.yaml",
        "cfg002-unknown-key-hubb.yaml",
        "cfg002-unknown-role.yaml",
        "cfg002-wrong-type-cost-string.yaml",
        "cfg002-yaml11-boolean-yes.yaml",
        "cfg003-format-2.yaml",
        "cfg007-address-space-cost-101.yaml",
        "cfg007-address-space-map-cost-0.yaml",
        "cfg007-exchange-cost-out-of-range.yaml",
        "cfg007-mx-preference-out-of-range.yaml",
        "cfg007-retry-count-16.yaml",
        "cfg007-rule-priority-negative.yaml",
        "cfg007-site-link-cost-0.yaml",
        "cfg007-site-link-cost-100000.yaml",
        "cfg009-address-space-double-dash.yaml",
        "cfg009-address-space-star-without-dot.yaml",
        "cfg009-address-space-x400.yaml",
        "cfg009-empty-address-spaces.yaml",
    ] {
        let instance = as_json(&data(&format!("invalid/{name}")));
        assert!(
            !validator.is_valid(&instance),
            "{name} passes the schema but the loader refuses it"
        );
    }
}

#[test]
fn the_topology_schema_is_unchanged() {
    insta::assert_json_snapshot!(topology_schema());
}
