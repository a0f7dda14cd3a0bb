//! Diagnostics about input files: code, severity, message, position, YAML path and hint, and
//! their rendering (one grep-able header line `file:line:column: severity[CODE]: message`,
//! then a source snippet drawn by miette).

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Code, Severity};

use super::yaml::Pos;

/// One problem found in an input file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The file as the user named it.
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u64,
    pub column: u64,
    /// `send_connectors[2].source_servers[0]`; empty for the whole file.
    pub yaml_path: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(
        code: Code,
        file: &str,
        pos: Pos,
        yaml_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            file: file.to_owned(),
            line: pos.line,
            column: pos.column,
            yaml_path: yaml_path.into(),
            hint: None,
        }
    }

    /// A diagnostic about an object of a validated topology.
    pub fn at_origin(
        code: Code,
        file: &str,
        origin: &crate::model::Origin,
        message: impl Into<String>,
    ) -> Self {
        let pos = Pos {
            line: origin.line,
            column: origin.column,
            byte: None,
        };
        Diagnostic::new(code, file, pos, origin.yaml_path.clone(), message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn hint_opt(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The header line: `file:line:column: severity[CODE]: message (at yaml.path)`.
    pub fn header(&self) -> String {
        let mut s = self.file.clone();
        if self.line > 0 {
            let _ = write!(s, ":{}:{}", self.line, self.column);
        }
        let _ = write!(s, ": {}[{}]: {}", self.severity, self.code, self.message);
        if !self.yaml_path.is_empty() {
            let _ = write!(s, " (at {})", self.yaml_path);
        }
        s
    }

    /// The header, a snippet of `source` around the position, and the hint.
    pub fn render(&self, source: &str) -> String {
        let mut out = self.header();
        out.push('\n');
        if let Some(offset) = byte_offset(source, self.line, self.column) {
            out.push_str(&snippet(self, source, offset));
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = hint: {hint}");
        }
        out
    }
}

/// The byte offset of a 1-based (line, column-in-characters) position, if it is in `source`.
fn byte_offset(source: &str, line: u64, column: u64) -> Option<usize> {
    if line == 0 || column == 0 {
        return None;
    }
    let mut start = 0;
    for _ in 1..line {
        start += source[start..].find('\n')? + 1;
    }
    let text = &source[start..];
    let line_text = &text[..text.find('\n').unwrap_or(text.len())];
    let skip = usize::try_from(column - 1).ok()?;
    match line_text.char_indices().nth(skip) {
        Some((i, _)) => Some(start + i),
        None if skip == line_text.chars().count() => Some(start + line_text.len()),
        None => None,
    }
}

/// The snippet, drawn by miette without colour so the bytes are the same on every terminal.
fn snippet(d: &Diagnostic, source: &str, offset: usize) -> String {
    let len = token_len(&source[offset..]);
    let report = Snippet {
        source: miette::NamedSource::new(&d.file, source.to_owned()),
        span: (offset, len.min(source.len() - offset)).into(),
        label: d.code.title().to_owned(),
    };
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_context_lines(1)
            .with_links(false);
    let mut rendered = String::new();
    if handler.render_report(&mut rendered, &report).is_err() {
        return String::new();
    }
    // miette prints the (empty) message line first; keep only the snippet.
    rendered
        .lines()
        .skip_while(|l| !l.trim_start().starts_with('╭'))
        .fold(String::new(), |mut out, l| {
            out.push_str(l.trim_end());
            out.push('\n');
            out
        })
}

/// The length in bytes of the YAML token starting `rest`: a quoted scalar, a flow scalar up to
/// its delimiter, or the rest of the line (a mapping entry).
fn token_len(rest: &str) -> usize {
    let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
    let len = match line.chars().next() {
        Some(q @ ('"' | '\'')) => line[1..].find(q).map_or(line.len(), |i| i + 2),
        Some('[' | '{') | None => line.len(),
        Some(_) => line
            .find([',', ']', '}'])
            .or_else(|| line.find(" #"))
            .unwrap_or(line.len()),
    };
    line[..len].trim_end().len().max(1).min(line.len().max(1))
}

#[derive(Debug)]
struct Snippet {
    source: miette::NamedSource<String>,
    span: miette::SourceSpan,
    label: String,
}

impl std::fmt::Display for Snippet {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

impl std::error::Error for Snippet {}

impl miette::Diagnostic for Snippet {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(Some(self.label.clone()), self.span),
        )))
    }
}

/// "did you mean `Branch`?" for a name close to one of `candidates` (case-insensitive).
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|&(distance, c)| distance <= (c.chars().count() / 3).max(2))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}
