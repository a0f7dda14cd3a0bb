//! `manifest.json`: what the export script says about its own run (issue 14). One entry per
//! cmdlet with its status (`ok`, `failed`, `skipped`), the number of objects it wrote and the
//! error it met, and `complete` set only once the script reached its end. Without it a cmdlet
//! that failed cannot be told from one that returned nothing, and an empty `[]` would import as
//! an organisation without connectors or rules: the importer refuses an export whose required
//! cmdlets failed, and says loudly when there is no manifest to tell.
//!
//! The manifest is written by `scripts/Export-TlsflowInventory.ps1`; its fields are the script's
//! (camelCase, as PowerShell's `ConvertTo-Json` writes an ordered hashtable).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The file name of the manifest in an export folder.
pub const MANIFEST: &str = "manifest.json";

/// The manifest format this tlsflow reads.
const SCHEMA: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    tool: String,
    schema: u32,
    #[serde(default)]
    complete: bool,
    #[serde(default)]
    powershell: Option<String>,
    #[serde(default)]
    shell: Option<String>,
    #[serde(default)]
    started_utc: Option<String>,
    cmdlets: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    file: String,
    #[serde(default)]
    command: Option<String>,
    status: Status,
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    error: Option<String>,
}

/// What happened to one cmdlet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Status {
    /// It ran and its output was written.
    Ok,
    /// It failed; its file holds `[]` or nothing.
    Failed,
    /// It was not run on purpose (e.g. `-MailboxSample 0`).
    Skipped,
}

/// One cmdlet's entry.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) command: String,
    pub(super) status: Status,
    pub(super) count: Option<u64>,
    pub(super) error: Option<String>,
}

/// A parsed manifest: entries by file name, lowercase.
#[derive(Clone, Debug)]
pub(super) struct Manifest {
    pub(super) complete: bool,
    /// One line on where the export ran: PowerShell version, shell, start time.
    pub(super) provenance: String,
    entries: BTreeMap<String, Entry>,
}

impl Manifest {
    /// Parses the manifest's text; the error says what is wrong with it.
    pub(super) fn parse(text: &str) -> Result<Manifest, String> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| {
            format!(
                "not a manifest of scripts/Export-TlsflowInventory.ps1 (line {}, column {}): {}",
                e.line(),
                e.column(),
                e.to_string().split(" at line ").next().unwrap_or_default()
            )
        })?;
        if raw.tool != "Export-TlsflowInventory" {
            return Err(format!(
                "written by `{}`, not by scripts/Export-TlsflowInventory.ps1",
                raw.tool
            ));
        }
        if raw.schema != SCHEMA {
            return Err(format!(
                "manifest schema {} is not one this tlsflow reads ({SCHEMA}): use the export script shipped with this tlsflow",
                raw.schema
            ));
        }
        let mut entries = BTreeMap::new();
        for e in raw.cmdlets {
            let command = e
                .command
                .unwrap_or_else(|| e.file.trim_end_matches(".json").to_owned());
            entries.insert(
                e.file.to_lowercase(),
                Entry {
                    command,
                    status: e.status,
                    count: e.count,
                    error: e.error.filter(|t| !t.trim().is_empty()),
                },
            );
        }
        let provenance = [
            raw.shell.map(|s| format!("shell {s}")),
            raw.powershell.map(|v| format!("PowerShell {v}")),
            raw.started_utc.map(|t| format!("started {t}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        Ok(Manifest {
            complete: raw.complete,
            provenance,
            entries,
        })
    }

    /// The entry of a file of the export, if the manifest has one.
    pub(super) fn entry(&self, file: &str) -> Option<&Entry> {
        self.entries.get(&file.to_lowercase())
    }
}
