//! SARIF 2.1.0 (SPEC §6.2): one rule per finding code with its documentation, one result per
//! finding with a physical location in the YAML (file, line, column of the object at fault) and
//! a logical one (its JSON pointer), and a stable partial fingerprint.

use std::path::{Component, Path, PathBuf};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
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

/// What a SARIF consumer (GitHub code scanning) needs to weigh a finding as a security alert
/// (GitHub Docs, "SARIF support for code scanning", reportingDescriptor object:
/// https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning):
/// `security-severity` (GitHub: 7.0–8.9 High, 4.0–6.9 Medium, 0.1–3.9 Low) for the codes that
/// say required mail is or may be unprotected; `None` for configuration and delivery codes.
fn security_severity(code: Code) -> Option<&'static str> {
    match code {
        // Required mail left in clear text.
        Code::Tls001 => Some("8.0"),
        // The configuration that loses the requirement (the defect, statically).
        Code::Cfg101 => Some("7.0"),
        // Domain Secure broken, a weaker level than required, encrypted by luck only.
        Code::Tls004 => Some("6.0"),
        Code::Tls002 => Some("5.5"),
        Code::Tls003 => Some("5.0"),
        Code::Cfg102 | Code::Cfg107 | Code::Cfg108 => Some("4.0"),
        // Handed to a smart host: the guarantee ends outside Exchange.
        Code::Tls005 => Some("3.0"),
        _ => None,
    }
}

/// The base every artifact URI is relative to, as SARIF 2.1.0 §3.14.14 names it.
pub const SRCROOT: &str = "%SRCROOT%";

/// Characters percent-encoded in a URI path segment (RFC 3986: everything but unreserved
/// characters and the sub-delimiters a path allows).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `path`'s components as a percent-encoded URI path with forward slashes.
fn uri_path(path: &Path) -> String {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => {
                out.push(utf8_percent_encode(&part.to_string_lossy(), SEGMENT).to_string());
            }
            Component::Prefix(prefix) => match prefix.kind() {
                // `C:` of a Windows path, also as `canonicalize` writes it (`\\?\C:`).
                std::path::Prefix::Disk(d) | std::path::Prefix::VerbatimDisk(d) => {
                    out.push(format!("{}:", char::from(d)));
                }
                // A share (`\\server\share`): its parts, as a `file://server/share` path.
                std::path::Prefix::UNC(server, share)
                | std::path::Prefix::VerbatimUNC(server, share) => {
                    for part in [server, share] {
                        out.push(utf8_percent_encode(&part.to_string_lossy(), SEGMENT).to_string());
                    }
                }
                _ => out.push(
                    utf8_percent_encode(&prefix.as_os_str().to_string_lossy(), SEGMENT).to_string(),
                ),
            },
            Component::ParentDir => out.push("..".to_owned()),
            Component::RootDir | Component::CurDir => {}
        }
    }
    out.join("/")
}

/// A path made absolute against the current directory, symlinks resolved where it exists.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |d| d.join(path))
    })
}

/// The `artifactLocation` of `file`: relative to `root` with `uriBaseId` %SRCROOT% when it lies
/// under it, else an absolute `file:` URI; percent-encoded, forward slashes.
pub fn artifact_location(file: &str, root: &SarifRoot) -> Value {
    let file = absolute(Path::new(file));
    match file.strip_prefix(&root.dir) {
        Ok(relative) => json!({"uri": uri_path(relative), "uriBaseId": SRCROOT}),
        Err(_) => json!({"uri": format!("file:///{}", uri_path(&file))}),
    }
}

/// The directory artifact URIs are relative to.
#[derive(Clone, Debug)]
pub struct SarifRoot {
    pub dir: PathBuf,
    /// Named with `--sarif-root`: its `file:` URI is written into `originalUriBaseIds`.
    /// Otherwise (the current directory) it is left to the consumer — GitHub resolves
    /// %SRCROOT% to the checkout — so the log holds no machine's paths and stays byte-identical
    /// everywhere.
    pub explicit: bool,
}

impl SarifRoot {
    /// `--sarif-root`, else the current directory (where a CI job checks the repository out).
    pub fn new(given: Option<&Path>) -> SarifRoot {
        SarifRoot {
            dir: absolute(given.unwrap_or(Path::new("."))),
            explicit: given.is_some(),
        }
    }

    /// The `originalUriBaseIds` entry.
    fn base(&self) -> Value {
        if self.explicit {
            let path = uri_path(&self.dir);
            let uri = if path.is_empty() {
                "file:///".to_owned()
            } else {
                format!("file:///{path}/")
            };
            json!({"uri": uri})
        } else {
            json!({"description": {"text": "the directory tlsflow ran in: the repository root in CI (set it with --sarif-root)"}})
        }
    }
}

/// A SARIF log with one run of tlsflow; artifact URIs relative to `root`.
pub fn sarif(items: &[SarifItem], root: &SarifRoot) -> Value {
    let mut codes: Vec<Code> = items.iter().map(|i| i.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .map(|&c| {
            let d = doc(c);
            let mut rule = json!({
                "id": c.as_str(),
                "name": c.title(),
                "shortDescription": {"text": c.title()},
                "fullDescription": {"text": d.what},
                "help": {
                    "text": format!("{}\n\nWhy it matters: {}\n\nExample:\n{}\n\nFix: {}", d.what, d.why, d.example, d.fix),
                },
                "defaultConfiguration": {"level": level(c.severity())},
            });
            if let Some(severity) = security_severity(c) {
                rule["properties"] = json!({
                    "security-severity": severity,
                    "tags": ["security", "tls", "mail-flow"],
                    "precision": "high",
                });
            } else {
                rule["properties"] = json!({"tags": ["configuration", "mail-flow"]});
            }
            rule
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
                let mut physical = json!({"artifactLocation": artifact_location(&l.file, root)});
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
            "originalUriBaseIds": {SRCROOT: root.base()},
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

/// The SARIF log of a simulation: the findings of the baseline run only (an expectation
/// failure points at the scenario). A variant is a what-if — a changed copy of the topology —
/// so its findings are not alerts on the real file: variants are left out and named in the
/// run's `properties.variantsLeftOut` (use `--format json` for them).
pub fn of_simulation(
    r: &SimulateReport,
    scenario_file: &str,
    baseline: &str,
    root: &SarifRoot,
) -> Value {
    let left_out: Vec<&str> = r
        .runs
        .iter()
        .map(|run| run.variant.as_str())
        .filter(|&v| v != baseline)
        .collect();
    let mut log = sarif(&from_simulate(r, scenario_file, baseline), root);
    if !left_out.is_empty() {
        log["runs"][0]["properties"] = json!({
            "variantsLeftOut": left_out,
            "note": "what-if variants are not alerts on the real configuration; their findings are in `tlsflow simulate --format json`",
        });
    }
    log
}

/// The findings of the baseline run of a simulation.
fn from_simulate(r: &SimulateReport, scenario_file: &str, baseline: &str) -> Vec<SarifItem> {
    r.runs
        .iter()
        .filter(|run| run.variant == baseline)
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
