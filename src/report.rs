//! Output: one canonical serde model per command (SPEC §6.1), rendered to the formats. This is
//! the only module that knows output formats; it sees results, never the engine.

pub mod audit;
pub mod check;
pub mod diagram;
pub mod diff;
pub mod html;
pub mod junit;
pub mod location;
pub mod logs;
pub mod markdown;
pub mod protocol_log;
pub mod replications;
mod route;
pub mod sarif;
pub mod simulate;
mod text;
pub mod tracking;
pub mod validate;

pub use route::{FindingReport, HopReport, LostAtReport, RouteReport, route_report};
pub use text::wrap;
pub use validate::{FileReport, ValidateReport};

/// Output format (SPEC §2). Not every command supports every format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// A name as one file-name component: letters, digits, `-` and `_` kept, every other
/// character `_` (never empty), so `a/../b` cannot leave the folder it is written in (issue 15):
/// a variant's `--tracking-log`, a server's `--protocol-log` folder.
pub fn file_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "_".to_owned()
    } else {
        safe
    }
}

/// Pretty JSON with a trailing newline: byte-stable for a given value.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("report models serialise");
    s.push('\n');
    s
}
