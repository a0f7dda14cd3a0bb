//! SARIF 2.1.0 (SPEC §6.2): one rule per finding code with its documentation, one result per
//! finding with a physical location in the YAML (file, line, column of the object at fault) and
//! a logical one (its JSON pointer), and a stable partial fingerprint.

use serde_json::{Value, json};

use crate::model::{Code, Severity};
use crate::policy::docs::doc;

use super::check::CheckReport;
use super::location::{SourceLocation, yaml_path_to_pointer};
use super::simulate::SimulateReport;
use super::validate::ValidateReport;

/// One result to report.
#[derive(Clone, Debug)]
pub struct SarifItem {
    pub code: Code,
    pub message: String,
    pub location: Option<SourceLocation>,
    /// What identifies this finding across runs (not its instance): hashed into the fingerprint.
    pub identity: String,
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF log with one run of tlsflow.
pub fn sarif(items: &[SarifItem]) -> Value {
    let mut codes: Vec<Code> = items.iter().map(|i| i.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .map(|&c| {
            let d = doc(c);
            json!({
                "id": c.as_str(),
                "name": c.title(),
                "shortDescription": {"text": c.title()},
                "fullDescription": {"text": d.what},
                "help": {
                    "text": format!("{}\n\nWhy it matters: {}\n\nExample:\n{}\n\nFix: {}", d.what, d.why, d.example, d.fix),
                },
                "defaultConfiguration": {"level": level(c.severity())},
            })
        })
        .collect();
    let results: Vec<Value> = items
        .iter()
        .map(|i| {
            let rule_index = codes
                .iter()
                .position(|&c| c == i.code)
                .expect("a rule per code");
            let mut result = json!({
                "ruleId": i.code.as_str(),
                "ruleIndex": rule_index,
                "level": level(i.code.severity()),
                "message": {"text": i.message},
                "partialFingerprints": {"tlsflowFinding/v1": fingerprint(i)},
            });
            if let Some(l) = &i.location {
                let mut physical = json!({"artifactLocation": {"uri": l.file}});
                if l.line > 0 {
                    physical["region"] =
                        json!({"startLine": l.line, "startColumn": l.column.max(1)});
                }
                let mut location = json!({"physicalLocation": physical});
                if !l.yaml_path.is_empty() {
                    location["logicalLocations"] = json!([{
                        "fullyQualifiedName": yaml_path_to_pointer(&l.yaml_path),
                        "name": l.yaml_path,
                        "kind": "object",
                    }]);
                }
                result["locations"] = json!([location]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tlsflow",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn fingerprint(item: &SarifItem) -> String {
    let mut hex =
        super::audit::sha256_hex(format!("{}|{}", item.code.as_str(), item.identity).as_bytes());
    hex.truncate(32);
    hex
}

/// The exposures of a check.
pub fn from_check(r: &CheckReport) -> Vec<SarifItem> {
    r.exposures
        .iter()
        .map(|e| {
            let failures = if e.failure_set.is_empty() {
                "with no failure".to_owned()
            } else {
                format!("with {} down", e.failure_set.join(", "))
            };
            SarifItem {
                code: e.code,
                message: format!(
                    "{} -> {}{}, required {}, {failures}: {}",
                    e.origin_label(),
                    e.recipient_domain,
                    e.size_text(),
                    e.required_tls,
                    e.message
                ),
                location: e.location.clone(),
                identity: format!(
                    "{}|{}|{}|{}{}",
                    e.origin_identity(),
                    e.recipient_domain,
                    e.required_tls,
                    e.failure_set.join(","),
                    e.larger_than_bytes
                        .map_or_else(String::new, |b| format!("|>{b}"))
                ),
            }
        })
        .collect()
}

/// The findings of every run of a simulation (an expectation failure points at the scenario).
pub fn from_simulate(r: &SimulateReport, scenario_file: &str) -> Vec<SarifItem> {
    r.runs
        .iter()
        .flat_map(|run| {
            run.findings.iter().map(move |f| {
                let domain = f
                    .recipient
                    .rsplit_once('@')
                    .map_or(f.recipient.as_str(), |(_, d)| d);
                SarifItem {
                    code: f.code,
                    message: if f.message_id.is_empty() {
                        format!("variant {}: {}", run.variant, f.message)
                    } else {
                        format!(
                            "variant {}: {} {} -> {}: {}",
                            run.variant, f.message_id, f.sender, f.recipient, f.message
                        )
                    },
                    location: f.location.clone().or_else(|| {
                        Some(SourceLocation {
                            file: scenario_file.to_owned(),
                            line: 1,
                            column: 1,
                            yaml_path: "expect".to_owned(),
                        })
                    }),
                    identity: format!(
                        "{}|{}|{}|{}",
                        run.variant,
                        f.origin_site,
                        domain,
                        f.connector.as_deref().unwrap_or("")
                    ),
                }
            })
        })
        .collect()
}

/// The diagnostics of `validate` (CFG codes).
pub fn from_validate(r: &ValidateReport) -> Vec<SarifItem> {
    r.files
        .iter()
        .flat_map(|f| from_diagnostics(&f.diagnostics))
        .collect()
}

/// One result per diagnostic, at its file, line and column.
pub fn from_diagnostics(diagnostics: &[crate::load::Diagnostic]) -> Vec<SarifItem> {
    diagnostics
        .iter()
        .map(|d| SarifItem {
            code: d.code,
            message: match &d.hint {
                Some(h) => format!("{} ({h})", d.message),
                None => d.message.clone(),
            },
            location: Some(SourceLocation {
                file: d.file.clone(),
                line: d.line,
                column: d.column,
                yaml_path: d.yaml_path.clone(),
            }),
            identity: format!("{}|{}|{}", d.file, d.yaml_path, d.message),
        })
        .collect()
}
