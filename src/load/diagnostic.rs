//! Diagnostics about input files: code, severity, message, position, YAML path and hint, and
//! their rendering (one grep-able header line `file:line:column: severity[CODE]: message`,
//! then a source snippet drawn by miette).

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Code, Severity, printable, shown_char};

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
    ///
    /// A message quotes what it refuses, and a refused value may hold an escape sequence or a
    /// newline: every part is written through [`printable`], so it is shown, never obeyed, and
    /// never starts a forged line (issue 15).
    pub fn header(&self) -> String {
        let mut s = printable(&self.file).into_owned();
        if self.line > 0 {
            let _ = write!(s, ":{}:{}", self.line, self.column);
        }
        let _ = write!(
            s,
            ": {}[{}]: {}",
            self.severity,
            self.code,
            printable(&self.message)
        );
        if !self.yaml_path.is_empty() {
            let _ = write!(s, " (at {})", printable(&self.yaml_path));
        }
        s
    }

    /// The header, a snippet of `source` around the position, and the hint. To render many
    /// diagnostics of one file, index it once and use [`Diagnostic::render_in`].
    pub fn render(&self, source: &str) -> String {
        self.render_in(&SourceIndex::new(source))
    }

    /// [`Diagnostic::render`] with the file's line index built once: each diagnostic then costs
    /// its few lines of context, not a scan of the file (38,000 diagnostics of one file used to
    /// take 21 s, issue 15).
    pub fn render_in(&self, index: &SourceIndex<'_>) -> String {
        let mut out = self.header();
        out.push('\n');
        if let Some(window) = index.window(self) {
            out.push_str(&snippet(self, window));
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = hint: {}", printable(hint));
        }
        out
    }
}

/// The start of every line of a source, for rendering its diagnostics.
pub struct SourceIndex<'a> {
    text: &'a str,
    /// Byte offset of each line's first byte.
    starts: Vec<usize>,
}

/// Characters of a source line shown around a position; longer lines are cut to this many
/// around it, with `…` where they were cut (a one-line 64 KB JSON topology used to make miette
/// panic on a column past 65,535, issue 15).
const SHOWN_CHARS: usize = 120;

/// The lines a snippet shows, each cut to [`SHOWN_CHARS`], and the label's place among them.
struct Window {
    text: String,
    /// 0-based number of the first line shown.
    first_line: usize,
    /// The label: byte offset in `text` and byte length.
    label: (usize, usize),
    /// The label's 0-based column in characters, as the header line counts it (miette would
    /// count bytes, and the cut line no longer gives either).
    label_column: usize,
}

impl<'a> SourceIndex<'a> {
    pub fn new(text: &'a str) -> SourceIndex<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceIndex { text, starts }
    }

    fn line(&self, i: usize) -> Option<&'a str> {
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).map_or(self.text.len(), |&e| e - 1);
        Some(self.text[start..end].trim_end_matches('\r'))
    }

    /// The line of a 1-based (line, column-in-characters) position and the one on each side.
    fn window(&self, d: &Diagnostic) -> Option<Window> {
        let line = usize::try_from(d.line).ok()?.checked_sub(1)?;
        let column = usize::try_from(d.column).ok()?.checked_sub(1)?;
        let here = self.line(line)?;
        let chars = here.chars().count();
        if column > chars {
            return None;
        }
        // The same character range of every shown line, so the lines stay aligned: the start
        // of the line unless the position lies beyond what is shown, then around it.
        let from = if chars <= SHOWN_CHARS || column < SHOWN_CHARS / 2 {
            0
        } else {
            column
                .saturating_sub(SHOWN_CHARS / 2)
                .min(chars.saturating_sub(SHOWN_CHARS))
        };
        let clip = |text: &str| -> (String, usize) {
            let mut out = String::new();
            let mut prefix = 0;
            if from > 0 && text.chars().count() > from {
                out.push('…');
                prefix = '…'.len_utf8();
            }
            out.extend(text.chars().skip(from).take(SHOWN_CHARS).map(shown_char));
            if text.chars().count() > from + SHOWN_CHARS {
                out.push('…');
            }
            (out, prefix)
        };
        let first_line = line.saturating_sub(1);
        let mut text = String::new();
        let mut label = (0, 1);
        let label_column = here
            .char_indices()
            .nth(column)
            .map_or(here.len(), |(i, _)| i);
        for i in first_line..=line + 1 {
            let Some(source_line) = self.line(i) else {
                break;
            };
            let (shown, prefix) = clip(source_line);
            if i > first_line {
                text.push('\n');
            }
            if i == line {
                let rest: String = source_line.chars().skip(column).collect();
                let in_shown: usize = shown[prefix..]
                    .chars()
                    .take(column - from.min(column))
                    .map(char::len_utf8)
                    .sum();
                let start = text.len() + prefix + in_shown;
                let room = shown.len() - (prefix + in_shown);
                label = (start, token_len(&rest).min(room).max(1));
            }
            text.push_str(&shown);
        }
        // A last empty line is shown only when more of the file follows, as miette shows it.
        let last = (line + 1).min(self.starts.len() - 1);
        if self
            .starts
            .get(last + 1)
            .is_some_and(|&s| s < self.text.len())
            && self.line(last).is_some_and(str::is_empty)
        {
            text.push('\n');
        }
        Some(Window {
            text,
            first_line,
            label,
            label_column,
        })
    }
}

/// The snippet, drawn by miette without colour so the bytes are the same on every terminal.
fn snippet(d: &Diagnostic, window: Window) -> String {
    let label = window.label;
    let report = Snippet {
        source: WindowSource {
            name: d.file.clone(),
            window,
        },
        span: label.into(),
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

/// The window as miette's source: its lines numbered as in the file.
#[derive(Debug)]
struct WindowSource {
    name: String,
    window: Window,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Window")
            .field("first_line", &self.first_line)
            .finish_non_exhaustive()
    }
}

impl miette::SourceCode for WindowSource {
    /// miette's own reading of the window's text, with the line numbers moved to the file's.
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self.window.text.as_str().read_span(span, before, after)?;
        let column = if span.offset() == self.window.label.0 {
            self.window.label_column
        } else {
            contents.column()
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line() + self.window.first_line,
            column,
            contents.line_count(),
        )))
    }
}

#[derive(Debug)]
struct Snippet {
    source: WindowSource,
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
