//! Exchange's W3C-style log files, streamed record by record (reference §5.1): header lines that
//! start with `#` (`#Software`, `#Version`, `#Log-type`, `#Date`, `#Fields`), then one CSV
//! record per line. The same reader takes a `Get-MessageTrackingLog | Export-Csv` file: an
//! optional `#TYPE` line, then a header row of property names, which are mapped to the log's
//! own field names.
//!
//! Memory is one line at a time; a record's fields are borrowed from the line buffer until the
//! next call. Bytes that are not UTF-8 are replaced (U+FFFD), never fatal.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// What a file holds, from its `#Log-type` line or its header row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// `#Log-type: Message Tracking Log` (MSGTRK*.LOG).
    Tracking,
    /// `Get-MessageTrackingLog ... | Export-Csv`: property names mapped to field names.
    TrackingExport,
    /// `Get-MessageTrackingLog ... | ConvertTo-Json`: one object per event, streamed.
    TrackingJson,
    /// `#Log-type: SMTP Send Protocol Log` (ProtocolLog\SmtpSend\SEND*.LOG).
    SmtpSend,
    /// Another Exchange log (Receive protocol log, connectivity log, ...): skipped.
    Other(String),
    /// Not a log tlsflow recognises (no `#Fields` header nor export header row).
    Unknown,
}

/// The `Get-MessageTrackingLog` property names (Export-Csv header) and the raw log field each
/// stands for (reference §5.2; the cmdlet's `EventData` is the raw log's `custom-data`).
const EXPORT_NAMES: &[(&str, &str)] = &[
    ("timestamp", "date-time"),
    ("clientip", "client-ip"),
    ("clienthostname", "client-hostname"),
    ("serverip", "server-ip"),
    ("serverhostname", "server-hostname"),
    ("sourcecontext", "source-context"),
    ("connectorid", "connector-id"),
    ("source", "source"),
    ("eventid", "event-id"),
    ("internalmessageid", "internal-message-id"),
    ("messageid", "message-id"),
    ("networkmessageid", "network-message-id"),
    ("recipients", "recipient-address"),
    ("recipientstatus", "recipient-status"),
    ("totalbytes", "total-bytes"),
    ("recipientcount", "recipient-count"),
    ("relatedrecipientaddress", "related-recipient-address"),
    ("reference", "reference"),
    ("messagesubject", "message-subject"),
    ("sender", "sender-address"),
    ("returnpath", "return-path"),
    ("messageinfo", "message-info"),
    ("directionality", "directionality"),
    ("tenantid", "tenant-id"),
    ("originalclientip", "original-client-ip"),
    ("originalserverip", "original-server-ip"),
    ("eventdata", "custom-data"),
    ("customdata", "custom-data"),
    ("schemaversion", "schema-version"),
    // The server a remote session's row came from (not a log field; kept under its own name).
    ("pscomputername", "pscomputername"),
];

/// An error that stops the reading of one file (the others go on).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the file is UTF-16 ({0}); export it again with `-Encoding UTF8`, or convert it (iconv -f UTF-16 -t UTF-8)"
    )]
    Utf16(&'static str),
    #[error("line {line}: a record longer than {limit} bytes (is this a log file?)")]
    TooLong { line: u64, limit: usize },
}

/// No Exchange log line is near this long; a longer one is not a log.
const MAX_RECORD: usize = 1 << 20;

/// A log file being read.
pub struct LogReader<R: Read> {
    input: BufReader<R>,
    kind: LogKind,
    fields: Vec<String>,
    /// 1-based number of the line the current record starts on.
    line: u64,
    /// Lines read so far.
    lines: u64,
    /// The current record's raw text (its lines, without the final line break).
    raw: Vec<u8>,
    /// Unescaped fields of the current record, and where each ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    parser: csv_core::Reader,
    /// A data line read while looking for the header (the export header row, or a first record).
    pending: Option<Vec<u8>>,
    /// Bytes read, for progress.
    bytes: u64,
    /// Where the current record starts in the file, and where the pending line starts.
    offset: u64,
    pending_offset: u64,
    /// A JSON export being scanned: the line, where in it, and the object being gathered.
    json: Option<JsonScan>,
}

/// The state of the scan of a JSON export: objects are found by their braces (strings and
/// escapes skipped), one at a time, so a file of any size is read in constant memory.
#[derive(Default)]
struct JsonScan {
    line: Vec<u8>,
    /// Where `line` starts in the file, its number, and the next byte to look at.
    line_offset: u64,
    line_number: u64,
    at: usize,
    depth: u32,
    top_is_array: bool,
    in_string: bool,
    escaped: bool,
    /// The object being gathered: its bytes, the depth it opened at, where it starts.
    object: Vec<u8>,
    open_depth: Option<u32>,
    object_offset: u64,
    object_line: u64,
}

/// A file's bytes as UTF-8: as they are, or decoded from UTF-16 when a byte-order mark says so.
pub type Input = Box<dyn Read + Send>;

/// Opens `path` as UTF-8 text (UTF-16 with a byte-order mark is decoded); `true` when decoded.
pub fn open_input(path: &Path) -> std::io::Result<(Input, bool)> {
    use std::io::{Seek as _, SeekFrom};
    let mut file = File::open(path)?;
    let mut bom = [0u8; 2];
    let mut n = 0;
    while n < 2 {
        match file.read(&mut bom[n..])? {
            0 => break,
            k => n += k,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(match &bom[..n] {
        [0xFF, 0xFE] => (Box::new(super::decode::Utf16Reader::new(file, false)), true),
        [0xFE, 0xFF] => (Box::new(super::decode::Utf16Reader::new(file, true)), true),
        _ => (Box::new(file), false),
    })
}

/// Opens a log file and reads its header. `Unknown` files are returned too: the caller decides.
pub fn open(path: &Path) -> Result<LogReader<Input>, ReadError> {
    LogReader::new(open_input(path)?.0)
}

impl<R: Read> LogReader<R> {
    pub fn new(input: R) -> Result<Self, ReadError> {
        let mut reader = LogReader {
            input: BufReader::with_capacity(256 * 1024, input),
            kind: LogKind::Unknown,
            fields: Vec::new(),
            line: 0,
            lines: 0,
            raw: Vec::new(),
            out: Vec::new(),
            ends: Vec::new(),
            parser: csv_core::Reader::new(),
            pending: None,
            bytes: 0,
            offset: 0,
            pending_offset: 0,
            json: None,
        };
        reader.header()?;
        Ok(reader)
    }

    pub fn kind(&self) -> &LogKind {
        &self.kind
    }

    /// The position of a field (by its raw-log name), if the file has it.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name))
    }

    /// Bytes consumed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Reads one physical line into `buf` (without the line break); `false` at the end.
    fn read_line(&mut self, buf: &mut Vec<u8>) -> Result<bool, ReadError> {
        buf.clear();
        let n = (&mut self.input)
            .take(MAX_RECORD as u64 + 1)
            .read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(false);
        }
        self.bytes += n as u64;
        self.lines += 1;
        if buf.len() > MAX_RECORD {
            return Err(ReadError::TooLong {
                line: self.lines,
                limit: MAX_RECORD,
            });
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(true)
    }

    fn header(&mut self) -> Result<(), ReadError> {
        let mut line = Vec::new();
        let mut first = true;
        let mut at = self.bytes;
        while self.read_line(&mut line)? {
            if first {
                first = false;
                if line.starts_with(&[0xFF, 0xFE]) {
                    return Err(ReadError::Utf16("little-endian"));
                }
                if line.starts_with(&[0xFE, 0xFF]) {
                    return Err(ReadError::Utf16("big-endian"));
                }
                if line.starts_with(&[0xEF, 0xBB, 0xBF]) {
                    line.drain(..3);
                    at += 3;
                }
                // `ConvertTo-Json`: an array of objects, or one object.
                let start = line.iter().position(|b| !b.is_ascii_whitespace());
                if let Some(i) = start.filter(|&i| matches!(line[i], b'[' | b'{')) {
                    self.kind = LogKind::TrackingJson;
                    self.fields = EXPORT_NAMES.iter().map(|(_, f)| (*f).to_owned()).collect();
                    self.fields.dedup();
                    // The line's ending, which `read_line` took off, belongs to the text.
                    let ending = usize::try_from(self.bytes - at)
                        .unwrap_or(0)
                        .saturating_sub(line.len());
                    line.extend_from_slice(&b"\r\n"[2 - ending.min(2)..]);
                    self.json = Some(JsonScan {
                        line: std::mem::take(&mut line),
                        line_offset: at,
                        line_number: self.lines,
                        at: i,
                        ..JsonScan::default()
                    });
                    return Ok(());
                }
            }
            if line.is_empty() {
                at = self.bytes;
                continue;
            }
            if let Some(rest) = line.strip_prefix(b"#") {
                at = self.bytes;
                let text = String::from_utf8_lossy(rest);
                if let Some((key, value)) = text.split_once(':') {
                    let value = value.trim();
                    match key.trim().to_ascii_lowercase().as_str() {
                        "log-type" => self.kind = kind_of(value),
                        "fields" => {
                            self.fields = value.split(',').map(|f| f.trim().to_owned()).collect();
                        }
                        _ => {}
                    }
                }
                // `#TYPE Microsoft.Exchange...MessageTrackingEvent` (Export-Csv) has no colon.
                continue;
            }
            if self.fields.is_empty() {
                // No `#Fields` header: an Export-Csv header row, or not a log at all.
                self.line = self.lines;
                if self.parse(&line) {
                    let names: Vec<String> = (0..self.ends.len())
                        .map(|i| self.field(i).trim().to_ascii_lowercase())
                        .collect();
                    let export = names.iter().any(|n| n == "eventid")
                        && names.iter().any(|n| n == "messageid");
                    if export {
                        self.kind = LogKind::TrackingExport;
                        self.fields = names
                            .iter()
                            .map(|n| {
                                EXPORT_NAMES
                                    .iter()
                                    .find(|(p, _)| p == n)
                                    .map_or_else(|| n.clone(), |(_, f)| (*f).to_owned())
                            })
                            .collect();
                        return Ok(());
                    }
                }
                self.kind = LogKind::Unknown;
                return Ok(());
            }
            self.pending = Some(std::mem::take(&mut line));
            self.pending_offset = at;
            return Ok(());
        }
        if self.fields.is_empty() {
            self.kind = LogKind::Unknown;
        }
        Ok(())
    }

    /// Parses `line` as one whole CSV record into `out` and `ends`.
    fn parse(&mut self, line: &[u8]) -> bool {
        self.parser.reset();
        self.out.clear();
        self.ends.clear();
        self.out.resize(line.len() + 1, 0);
        self.ends.resize(16, 0);
        let mut input = line;
        let (mut nout, mut nend) = (0, 0);
        // `read_record` on an empty slice marks the end of the input, which ends the record.
        loop {
            let (result, nin, o, e) =
                self.parser
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            input = &input[nin..];
            nout += o;
            nend += e;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    let len = self.out.len();
                    self.out.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.out.truncate(nout);
                    self.ends.truncate(nend);
                    return true;
                }
                csv_core::ReadRecordResult::End => {
                    self.out.clear();
                    self.ends.clear();
                    return false;
                }
            }
        }
    }

    /// Whether `line` leaves a double quote open (a field that goes on on the next line).
    fn in_quote(line: &[u8]) -> bool {
        let mut open = false;
        let mut at_start = true;
        for &b in line {
            match b {
                b'"' if open || at_start => open = !open,
                b',' if !open => {
                    at_start = true;
                    continue;
                }
                _ => {}
            }
            at_start = false;
        }
        open
    }

    /// Reads the next record; `false` at the end of the file. Header lines in the middle of a
    /// file (a service restart writes them again) are skipped; a new `#Fields` line applies.
    pub fn next_record(&mut self) -> Result<bool, ReadError> {
        if self.json.is_some() {
            return self.next_json_record();
        }
        let mut line = Vec::new();
        loop {
            if let Some(p) = self.pending.take() {
                line = p;
                self.line = self.lines;
                self.offset = self.pending_offset;
            } else {
                self.offset = self.bytes;
                if !self.read_line(&mut line)? {
                    return Ok(false);
                }
                self.line = self.lines;
            }
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix(b"#") {
                let text = String::from_utf8_lossy(rest);
                if let Some(value) = text.strip_prefix("Fields:") {
                    self.fields = value.split(',').map(|f| f.trim().to_owned()).collect();
                }
                continue;
            }
            // A field that holds a line break goes on on the next line.
            while Self::in_quote(&line) && line.len() <= MAX_RECORD {
                let mut more = Vec::new();
                if !self.read_line(&mut more)? {
                    break;
                }
                line.push(b'\n');
                line.extend_from_slice(&more);
            }
            let line_copy = std::mem::take(&mut line);
            self.parse(&line_copy);
            self.raw = line_copy;
            return Ok(true);
        }
    }

    /// The next object of a JSON export, as a record of the log's fields (arrays joined with
    /// `;`, EventData's `{Key, Value}` pairs as `S:Key=Value`).
    fn next_json_record(&mut self) -> Result<bool, ReadError> {
        // Bytes come from the first line (kept by `header`, its line ending restored), then
        // straight from the file: an export written with `-Compress` is one line of any length.
        loop {
            let Some(scan) = self.json.as_mut() else {
                return Ok(false);
            };
            let (chunk, from_line): (&[u8], bool) = if scan.at < scan.line.len() {
                (&scan.line[scan.at..], true)
            } else {
                let buf = self.input.fill_buf()?;
                if buf.is_empty() {
                    return Ok(false);
                }
                (buf, false)
            };
            let base = if from_line {
                scan.line_offset + scan.at as u64
            } else {
                self.bytes
            };
            let mut used = 0;
            let mut done: Option<(Vec<u8>, u64, u64)> = None;
            for (i, &b) in chunk.iter().enumerate() {
                used = i + 1;
                if scan.open_depth.is_some() {
                    scan.object.push(b);
                    if scan.object.len() > MAX_RECORD {
                        return Err(ReadError::TooLong {
                            line: scan.object_line,
                            limit: MAX_RECORD,
                        });
                    }
                }
                if b == b'\n' {
                    scan.line_number += 1;
                }
                if scan.in_string {
                    match (scan.escaped, b) {
                        (true, _) => scan.escaped = false,
                        (false, b'\\') => scan.escaped = true,
                        (false, b'"') => scan.in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => scan.in_string = true,
                    b'[' => {
                        if scan.depth == 0 {
                            scan.top_is_array = true;
                        }
                        scan.depth += 1;
                    }
                    b'{' => {
                        let element = u32::from(scan.top_is_array);
                        if scan.open_depth.is_none() && scan.depth == element {
                            scan.open_depth = Some(scan.depth);
                            scan.object = vec![b'{'];
                            scan.object_offset = base + i as u64;
                            scan.object_line = scan.line_number;
                        }
                        scan.depth += 1;
                    }
                    b']' | b'}' => {
                        scan.depth = scan.depth.saturating_sub(1);
                        if b == b'}' && scan.open_depth == Some(scan.depth) {
                            scan.open_depth = None;
                            done = Some((
                                std::mem::take(&mut scan.object),
                                scan.object_offset,
                                scan.object_line,
                            ));
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if from_line {
                scan.at += used;
            } else {
                self.input.consume(used);
                self.bytes += used as u64;
            }
            if let Some((object, offset, line)) = done {
                self.offset = offset;
                self.line = line;
                self.fill_from_json(&object);
                self.raw = object;
                return Ok(true);
            }
        }
    }

    fn fill_from_json(&mut self, object: &[u8]) {
        self.out.clear();
        self.ends.clear();
        let value: serde_json::Value = serde_json::from_slice(object).unwrap_or_default();
        let props: Vec<(String, &serde_json::Value)> = value
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect())
            .unwrap_or_default();
        for field in &self.fields {
            let text = EXPORT_NAMES
                .iter()
                .filter(|(_, f)| f == field)
                .find_map(|(p, _)| props.iter().find(|(k, _)| k == p))
                .map(|(_, v)| json_text(v))
                .unwrap_or_default();
            self.out.extend_from_slice(text.as_bytes());
            self.ends.push(self.out.len());
        }
    }

    /// The number of fields of the current record.
    pub fn field_count(&self) -> usize {
        self.ends.len()
    }

    /// Field `i` of the current record ("" past the end), as text.
    pub fn field(&self, i: usize) -> std::borrow::Cow<'_, str> {
        let Some(&end) = self.ends.get(i) else {
            return std::borrow::Cow::Borrowed("");
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        String::from_utf8_lossy(&self.out[start..end])
    }

    /// Field `i` as raw bytes ("" past the end).
    pub fn bytes_of(&self, i: usize) -> &[u8] {
        let Some(&end) = self.ends.get(i) else {
            return b"";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.out[start..end]
    }

    /// The 1-based line the current record starts on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Where the current record stands in file number `file`: enough to read it again for a
    /// report (`len` bytes from `offset`, line breaks included).
    pub fn mark(&self, file: u32) -> super::Mark {
        super::Mark {
            file,
            line: self.line,
            offset: self.offset,
            // A JSON object is its own bytes (others may follow on its line); a CSV record
            // runs to the end of its last line.
            len: u32::try_from(if self.json.is_some() {
                self.raw.len() as u64
            } else {
                self.bytes.saturating_sub(self.offset)
            })
            .unwrap_or(u32::MAX),
            subject: None,
        }
    }

    /// The current record as it stands in the file.
    pub fn raw(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.raw)
    }
}

/// A JSON value as the text a log field would hold.
fn json_text(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                // EventData: `[{"Key": "…", "Value": "…"}]`.
                Value::Object(o) if o.contains_key("Key") => format!(
                    "S:{}={}",
                    o.get("Key").map(json_text).unwrap_or_default(),
                    o.get("Value").map(json_text).unwrap_or_default()
                ),
                other => json_text(other),
            })
            .collect::<Vec<_>>()
            .join(";"),
        // A DateTime as PowerShell 5.1 writes it: `{"value": "/Date(…)/", "DateTime": "…"}`.
        Value::Object(o) => o
            .get("DateTime")
            .or_else(|| o.get("value"))
            .map(json_text)
            .unwrap_or_default(),
    }
}

fn kind_of(log_type: &str) -> LogKind {
    let t = log_type.to_ascii_lowercase();
    if t.contains("message tracking") {
        LogKind::Tracking
    } else if t.contains("send protocol") {
        LogKind::SmtpSend
    } else {
        LogKind::Other(log_type.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &str) -> LogReader<&[u8]> {
        LogReader::new(text.as_bytes()).expect("reads")
    }

    #[test]
    fn a_tracking_log_is_read_field_by_field_with_its_line_numbers() {
        let mut r = reader(
            "#Software: Microsoft Exchange Server\r\n#Version: 15.02.1118.007\r\n#Log-type: Message Tracking Log\r\n#Date: 2023-01-01T00:00:00.000Z\r\n#Fields: date-time,event-id,message-subject\r\n2023-01-01T00:00:01.000Z,SEND,\"Hello, world\"\r\n2023-01-01T00:00:02.000Z,RECEIVE,\"two\nlines\"\r\n",
        );
        assert_eq!(r.kind(), &LogKind::Tracking);
        assert_eq!(r.index("EVENT-ID"), Some(1));
        assert!(r.next_record().expect("reads"));
        assert_eq!(r.line(), 6);
        assert_eq!(r.field(2), "Hello, world");
        assert_eq!(r.raw(), "2023-01-01T00:00:01.000Z,SEND,\"Hello, world\"");
        assert!(r.next_record().expect("reads"));
        assert_eq!(r.line(), 7);
        assert_eq!(r.field(2), "two\nlines");
        assert_eq!(r.field(9), "");
        assert!(!r.next_record().expect("reads"));
    }

    #[test]
    fn an_export_csv_header_row_is_mapped_to_the_log_field_names() {
        let mut r = reader(
            "\u{feff}#TYPE Microsoft.Exchange.Management.TransportLogSearchTasks.MessageTrackingEvent\n\"Timestamp\",\"EventId\",\"Source\",\"MessageId\",\"Recipients\"\n\"1/2/2023 3:04:05 PM\",\"SEND\",\"SMTP\",\"<a@b>\",\"x@y.com\"\n",
        );
        assert_eq!(r.kind(), &LogKind::TrackingExport);
        assert_eq!(r.index("event-id"), Some(1));
        assert_eq!(r.index("recipient-address"), Some(4));
        assert!(r.next_record().expect("reads"));
        assert_eq!(r.line(), 3);
        assert_eq!(r.field(3), "<a@b>");
    }

    #[test]
    fn a_json_export_is_read_object_by_object_at_its_offsets() {
        // `ConvertTo-Json -Compress`: one line, CRLF, any length.
        let one = r#"{"EventId":"SEND","MessageId":"<a@b>","Recipients":["x@y.com","z@y.com"],"EventData":[{"Key":"K","Value":"V"}],"MessageSubject":"a \"}\" b"}"#;
        let text = format!("[{}]\r\n", vec![one; 3000].join(","));
        let mut r = reader(&text);
        assert_eq!(r.kind(), &LogKind::TrackingJson);
        let mut n = 0;
        while r.next_record().expect("reads") {
            let m = r.mark(0);
            let at = usize::try_from(m.offset).expect("small");
            assert_eq!(&text[at..at + m.len as usize], one);
            assert_eq!(m.line, 1);
            n += 1;
        }
        assert_eq!(n, 3000);
        let pretty = format!("[\r\n  {one},\r\n  {one}\r\n]\r\n");
        let mut r = reader(&pretty);
        assert!(r.next_record().expect("reads"));
        assert_eq!(
            r.field(r.index("recipient-address").expect("field")),
            "x@y.com;z@y.com"
        );
        assert_eq!(r.field(r.index("custom-data").expect("field")), "S:K=V");
        assert_eq!(
            r.field(r.index("message-subject").expect("field")),
            "a \"}\" b"
        );
        assert!(r.next_record().expect("reads"));
        assert_eq!(r.line(), 3);
        assert!(!r.next_record().expect("reads"));
    }

    #[test]
    fn other_files_are_told_apart() {
        assert_eq!(
            reader("#Log-type: SMTP Send Protocol Log\n#Fields: a\n").kind(),
            &LogKind::SmtpSend
        );
        assert_eq!(
            reader("#Log-type: SMTP Receive Protocol Log\n#Fields: a\n").kind(),
            &LogKind::Other("SMTP Receive Protocol Log".to_owned())
        );
        assert_eq!(reader("hello\nworld\n").kind(), &LogKind::Unknown);
        assert_eq!(reader("").kind(), &LogKind::Unknown);
        assert!(matches!(
            LogReader::new(&b"\xFF\xFE#\0"[..]),
            Err(ReadError::Utf16(_))
        ));
    }
}
