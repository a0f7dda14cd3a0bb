//! `tlsflow schema`: JSON Schemas (draft 2020-12) of the topology (SPEC §3) and scenario (SPEC
//! §4) files, generated from the raw serde types the loader parses, so the schema cannot drift
//! from what the loader accepts. Editors use them to validate and complete YAML
//! (`# yaml-language-server: $schema=...`).
//!
//! The schema checks the shape of a file (keys, types, enumerations, ranges); cross-references
//! (a connector's source server exists, sites are connected) are for `tlsflow validate`.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::raw::RawTopology;
use super::scenario::RawScenario;

/// The `$id` of the topology schema.
pub const TOPOLOGY_SCHEMA_ID: &str = "urn:tlsflow:schema:topology:1";
/// The `$id` of the scenario schema.
pub const SCENARIO_SCHEMA_ID: &str = "urn:tlsflow:schema:scenario:1";

/// The JSON Schema of a topology file (format 1).
pub fn topology_schema() -> Value {
    schema_of::<RawTopology>(TOPOLOGY_SCHEMA_ID, "tlsflow topology (format 1)")
}

/// The JSON Schema of a scenario file (format 1); an inline topology is checked against the
/// topology's definitions, which it carries in its own `$defs`.
pub fn scenario_schema() -> Value {
    schema_of::<RawScenario>(SCENARIO_SCHEMA_ID, "tlsflow scenario (format 1)")
}

fn schema_of<T: JsonSchema>(id: &str, title: &str) -> Value {
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.insert("$id".to_owned(), id.into());
    schema.insert("title".to_owned(), title.into());
    let mut value = schema.to_value();
    unwrap_descriptions(&mut value);
    value
}

/// Doc comments keep their source line breaks; a description reads as one paragraph.
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "description" => {
                        *text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    }
                    _ => unwrap_descriptions(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}
