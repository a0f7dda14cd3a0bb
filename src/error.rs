//! The two kinds of failure (STYLE rule 4): what a user can cause is a [`UserError`], mapped to
//! exit code 2; what only a bug can cause is an assertion, and the panic hook in `main` maps it
//! to exit code 3.

use std::process::ExitCode;

/// Exit codes (SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Ran; no finding at or above `--fail-on`.
    Clean = 0,
    /// Ran; findings at or above `--fail-on`.
    Findings = 1,
    /// Bad input or usage.
    BadInput = 2,
    /// A bug.
    Internal = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Something the user can fix.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// An input file did not load; the diagnostics are already rendered. `diagnostics` holds
    /// them for a SARIF report of the failure (empty for failures that are not a file's).
    #[error("{rendered}")]
    Load {
        rendered: String,
        diagnostics: Vec<crate::load::Diagnostic>,
    },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Request(#[from] crate::policy::RequestError),
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}
