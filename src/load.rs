//! Input files to validated values: topology YAML (SPEC §3) and behaviour profiles (SPEC §5.3).
//!
//! Two stages: the YAML is parsed into raw serde structs that keep a position on every value
//! (`raw`, through the one YAML wall `yaml`); the raw structs are then validated into a
//! [`Topology`] that cannot be wrong, collecting *every* problem with its file, line, column,
//! YAML path and a hint. A file that is not YAML of the right shape (syntax, unknown key, wrong
//! type) stops at the first such problem, since the parser cannot resume after it; every
//! problem in a well-formed file is reported in one run.

mod diagnostic;
pub mod profile;
mod raw;
pub mod scenario;
pub mod schema;
mod validate;
pub mod values;
mod yaml;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, SourceIndex};

use crate::model::{Code, Topology};

/// Input files larger than this are refused before parsing (a topology of 10,000 servers is
/// about 2 MB).
pub const MAX_INPUT_BYTES: u64 = 8 * 1024 * 1024;

/// A file's name as the user gave it and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// The directory relative paths inside the file are resolved against.
    pub base_dir: Option<PathBuf>,
}

/// A validated topology and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub topology: Topology,
    pub warnings: Vec<Diagnostic>,
    pub source: SourceFile,
}

/// Why a file could not be loaded: every diagnostic found (errors and warnings), and the source
/// when it could be read (for snippets).
#[derive(Debug)]
pub struct LoadFailure {
    pub diagnostics: Vec<Diagnostic>,
    pub source: Option<SourceFile>,
}

impl LoadFailure {
    /// Every diagnostic rendered with its snippet.
    pub fn render(&self) -> String {
        let index = SourceIndex::new(self.source.as_ref().map_or("", |s| s.text.as_str()));
        self.diagnostics
            .iter()
            .map(|d| d.render_in(&index))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Reads a file as UTF-8 text, refusing directories, oversized and binary files.
pub fn read_source(path: &Path) -> Result<SourceFile, LoadFailure> {
    let name = path.display().to_string();
    let fail = |message: String| LoadFailure {
        diagnostics: vec![Diagnostic::new(
            Code::Cfg001,
            &name,
            yaml::Pos::default(),
            "",
            message,
        )],
        source: None,
    };
    let bytes = read_bounded(path, MAX_INPUT_BYTES).map_err(fail)?;
    let base_dir = path.parent().map(Path::to_path_buf);
    source_from_bytes(&name, &bytes, base_dir)
}

/// Reads a whole input once, at most `limit` bytes, whatever the path names (issue 15): a
/// regular file (its size checked on the opened file, so a symlink cannot lead past the check),
/// a pipe such as `<(cat x.yaml)` (read once, not twice), a character device such as
/// `/dev/zero` (read up to the limit, then refused), or a named pipe with no writer (opened
/// without blocking, so it reads as empty instead of hanging). `Err` is the reason, in words.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let too_big = |len: u64| {
        format!(
            "the file is {len} bytes; tlsflow reads input files of at most {limit} bytes ({} MiB)",
            limit >> 20
        )
    };
    let file =
        open_for_reading(path).map_err(|e| format!("cannot read the file: {}", io_reason(&e)))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the file: {}", io_reason(&e)))?;
    if meta.is_dir() {
        return Err("is a directory, not a YAML file".to_owned());
    }
    if meta.is_file() && meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {}", io_reason(&e)))?;
    if bytes.len() as u64 > limit {
        return Err(if meta.is_file() {
            too_big(bytes.len() as u64)
        } else {
            format!(
                "more than {limit} bytes came from it ({} MiB is tlsflow's limit for an input; is it a device such as /dev/zero?)",
                limit >> 20
            )
        });
    }
    Ok(bytes)
}

/// Opens a file to read; a named pipe is opened without waiting for a writer, then read
/// blocking (a writer that is there, as with `<(…)`, is read to its end).
#[cfg(unix)]
fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    if !fifo {
        return std::fs::File::open(path);
    }
    let nonblock = i32::try_from(OFlags::NONBLOCK.bits()).unwrap_or(0);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nonblock)
        .open(path)?;
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// Checks that `bytes` are text tlsflow can parse: within the size cap, UTF-8, no NUL.
const UTF16_WITHOUT_BOM: &str = "the file looks like UTF-16 without a byte-order mark: save it as UTF-8 or UTF-16 with one (PowerShell: `Out-File -Encoding utf8`)";

/// Every other byte of the start is NUL: ASCII text in UTF-16 LE (or BE, shifted by one).
fn looks_like_utf16(bytes: &[u8]) -> bool {
    let half = |skip: usize| bytes.iter().skip(skip).step_by(2).take(64).all(|&b| b == 0);
    bytes.len() >= 4 && (half(0) || half(1))
}

pub fn source_from_bytes(
    name: &str,
    bytes: &[u8],
    base_dir: Option<PathBuf>,
) -> Result<SourceFile, LoadFailure> {
    let fail = |pos: yaml::Pos, message: String| LoadFailure {
        diagnostics: vec![Diagnostic::new(Code::Cfg001, name, pos, "", message)],
        source: None,
    };
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(fail(
            yaml::Pos::default(),
            format!(
                "the input is {} bytes; tlsflow reads input files of at most {MAX_INPUT_BYTES} bytes (8 MiB)",
                bytes.len()
            ),
        ));
    }
    // Windows PowerShell 5.1 writes UTF-16 LE with a byte-order mark on `>` and Out-File: read
    // it (and UTF-16 BE) by its BOM, as Exchange administrators produce such files (issue 16).
    let decoded;
    let text = match encoding_rs::Encoding::for_bom(bytes) {
        Some((encoding, bom)) if encoding != encoding_rs::UTF_8 => {
            match encoding.decode_without_bom_handling_and_without_replacement(&bytes[bom..]) {
                Some(text) => {
                    decoded = text.into_owned();
                    decoded.as_str()
                }
                None => {
                    return Err(fail(
                        yaml::Pos::default(),
                        format!(
                            "the file starts with a {} byte-order mark but is not valid {} text",
                            encoding.name(),
                            encoding.name()
                        ),
                    ));
                }
            }
        }
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let pos = position_of(bytes, e.valid_up_to());
                return Err(fail(
                    pos,
                    if looks_like_utf16(bytes) {
                        UTF16_WITHOUT_BOM.to_owned()
                    } else {
                        "the file is not UTF-8 text (is it a binary file?); UTF-8 and UTF-16 with a byte-order mark are read".to_owned()
                    },
                ));
            }
        },
    };
    if let Some(nul) = text.find('\0') {
        return Err(fail(
            position_of(bytes, nul),
            if looks_like_utf16(bytes) {
                UTF16_WITHOUT_BOM.to_owned()
            } else {
                "the file contains a NUL byte (is it a binary file?)".to_owned()
            },
        ));
    }
    Ok(SourceFile {
        name: name.to_owned(),
        text: text.to_owned(),
        base_dir,
    })
}

fn position_of(bytes: &[u8], offset: usize) -> yaml::Pos {
    let before = &bytes[..offset];
    let line = before.split(|&b| b == b'\n').count() as u64;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u64
        + 1;
    yaml::Pos {
        line,
        column,
        byte: None,
    }
}

/// An I/O error as an administrator reads it (lowercase, no OS error number).
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string().to_lowercase(),
    }
}

/// Loads and validates a topology file.
pub fn load_topology(path: &Path) -> Result<Loaded, LoadFailure> {
    let source = read_source(path)?;
    topology_from_source(source)
}

/// Validates a topology held in memory.
pub fn topology_from_source(source: SourceFile) -> Result<Loaded, LoadFailure> {
    match validate::topology(&source) {
        Ok((topology, warnings)) => Ok(Loaded {
            topology,
            warnings,
            source,
        }),
        Err(diagnostics) => Err(LoadFailure {
            diagnostics: wrong_kind(&source, FileKind::Topology).map_or(diagnostics, |d| vec![d]),
            source: Some(source),
        }),
    }
}

/// The two kinds of input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Topology,
    Scenario,
}

/// Top-level keys only a topology has, and only a scenario has.
const TOPOLOGY_KEYS: [&str; 8] = [
    "organization",
    "sites",
    "site_links",
    "servers",
    "send_connectors",
    "transport_rules",
    "external_domains",
    "accepted_domains",
];
const SCENARIO_KEYS: [&str; 6] = [
    "topology", "workload", "messages", "start", "duration", "variants",
];

/// The kind a file's top-level keys say it is, with the first such key's line; `None` when
/// they say neither (or both).
fn kind_of(text: &str) -> Option<(FileKind, u64, String)> {
    let top = |keys: &[&str]| {
        text.lines().enumerate().find_map(|(i, l)| {
            let key = l.split(':').next()?;
            (keys.contains(&key) && l[key.len()..].starts_with(':'))
                .then(|| (i as u64 + 1, key.to_owned()))
        })
    };
    match (top(&TOPOLOGY_KEYS), top(&SCENARIO_KEYS)) {
        (Some((line, key)), None) => Some((FileKind::Topology, line, key)),
        (None, Some((line, key))) => Some((FileKind::Scenario, line, key)),
        _ => None,
    }
}

/// When a file that did not load as `expected` is plainly the other kind, the one diagnostic
/// worth reading: which kind it is, and which command reads it (issue 16). The shape errors
/// it would get instead ("unknown key `organization`") say nothing useful.
pub(crate) fn wrong_kind(source: &SourceFile, expected: FileKind) -> Option<Diagnostic> {
    let (kind, line, key) = kind_of(&source.text)?;
    if kind == expected {
        return None;
    }
    let message = match kind {
        FileKind::Topology => format!(
            "this is a topology file (it has `{key}`), not a scenario: `tlsflow simulate` reads a scenario, a file that names its topology (`topology: my-org.yaml`), a `start`, a `duration` and its traffic (`tlsflow schema --kind scenario`)"
        ),
        FileKind::Scenario => format!(
            "this is a scenario file (it has `{key}`), not a topology: `tlsflow simulate` reads it; `check`, `route` and `graph` read a topology, such as the one its `topology:` names"
        ),
    };
    Some(
        Diagnostic::new(
            Code::Cfg002,
            &source.name,
            yaml::Pos {
                line,
                column: 1,
                byte: None,
            },
            key,
            message,
        )
        .hint(match kind {
            FileKind::Topology => "check a topology with `tlsflow check FILE`; simulate it by writing a scenario that names it",
            FileKind::Scenario => "simulate it with `tlsflow simulate FILE`, or check the topology it names",
        }),
    )
}
