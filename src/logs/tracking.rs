//! Message tracking rows (reference §5.2) as `tlsflow logs` reads them, and the parts of
//! `custom-data` it needs: the Transport Rule agent's `TRA=ETR` entries (reference §5.3) and the
//! recipient's `RequiredTlsAuthLevel` (reference §3.6).

use std::fmt::Write as _;
use std::io::Read;

use sha2::{Digest, Sha256};

use super::Mark;
use super::w3c::LogReader;

/// The positions of the fields this command reads.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    time: Option<usize>,
    client_hostname: Option<usize>,
    server_hostname: Option<usize>,
    connector: Option<usize>,
    source: Option<usize>,
    event: Option<usize>,
    message_id: Option<usize>,
    recipients: Option<usize>,
    subject: Option<usize>,
    sender: Option<usize>,
    custom: Option<usize>,
    /// `PSComputerName` of an export from a remote session: the server that logged the row.
    computer: Option<usize>,
}

impl Columns {
    pub fn of<R: Read>(r: &LogReader<R>) -> Columns {
        Columns {
            time: r.index("date-time"),
            client_hostname: r.index("client-hostname"),
            server_hostname: r.index("server-hostname"),
            connector: r.index("connector-id"),
            source: r.index("source"),
            event: r.index("event-id"),
            message_id: r.index("message-id"),
            recipients: r.index("recipient-address"),
            subject: r.index("message-subject"),
            sender: r.index("sender-address"),
            custom: r.index("custom-data"),
            computer: r.index("pscomputername"),
        }
    }

    /// Whether the current record is an event this command reads (cheap: no allocation).
    pub fn wanted<R: Read>(&self, r: &LogReader<R>) -> bool {
        let Some(i) = self.event else {
            return false;
        };
        let event = r.bytes_of(i);
        [&b"AGENTINFO"[..], b"SEND", b"RECEIVE", b"DEFER", b"FAIL"]
            .iter()
            .any(|e| event.eq_ignore_ascii_case(e))
    }
}

/// One tracking row, owned.
#[derive(Clone, Debug)]
pub struct TrackingRow {
    pub time: String,
    pub client_hostname: String,
    pub server_hostname: String,
    pub connector_id: String,
    pub source: String,
    pub event: String,
    /// Without angle brackets, lower case (as [`super::protocol::normalise_id`]).
    pub message_id: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub sender: String,
    pub custom_data: String,
    /// The server the file belongs to, when its path says (the export script's layout).
    pub file_server: Option<String>,
    /// Where the row is, to quote it in a report.
    pub mark: Mark,
}

impl TrackingRow {
    pub fn of<R: Read>(
        r: &LogReader<R>,
        c: &Columns,
        file: u32,
        file_server: Option<&str>,
    ) -> TrackingRow {
        let get = |i: Option<usize>| i.map(|i| r.field(i).into_owned()).unwrap_or_default();
        let recipients = get(c.recipients)
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        TrackingRow {
            time: get(c.time),
            client_hostname: get(c.client_hostname),
            server_hostname: get(c.server_hostname),
            connector_id: get(c.connector),
            source: get(c.source),
            event: get(c.event),
            message_id: super::protocol::normalise_id(&get(c.message_id)),
            recipients,
            subject: get(c.subject),
            sender: get(c.sender),
            custom_data: get(c.custom),
            file_server: file_server
                .map(str::to_owned)
                .or_else(|| c.computer.map(|i| r.field(i).into_owned()))
                .filter(|s| !s.is_empty()),
            mark: Mark {
                subject: c.subject.and_then(|i| u16::try_from(i).ok()),
                ..r.mark(file)
            },
        }
    }

    /// The server that logged the row. `RECEIVE` is logged by the receiving server
    /// (`server-hostname`); the others by the server acting, which a `SEND` names as
    /// `client-hostname` and other events leave in `server-hostname` (reference §5.2). The
    /// file's own server (its folder) wins when the path says.
    pub fn acting_server(&self) -> &str {
        if let Some(s) = &self.file_server {
            return s;
        }
        let first = if self.event.eq_ignore_ascii_case("SEND") {
            [&self.client_hostname, &self.server_hostname]
        } else {
            [&self.server_hostname, &self.client_hostname]
        };
        first
            .into_iter()
            .find(|s| !s.is_empty())
            .map_or("", String::as_str)
    }
}

/// One `TRA=ETR` entry of the Transport Rule agent: a rule that matched (reference §5.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EtrEntry {
    pub rule_id: String,
    pub actions: Vec<String>,
    /// `Enforce`, `Audit`, `AuditAndNotify`; empty when not logged.
    pub mode: String,
}

impl EtrEntry {
    /// Whether the rule's actions were taken: `mode=Enforce`, or no mode logged. The test modes
    /// (`Audit`, `AuditAndNotify`) log the match and take no action.
    pub fn enforced(&self) -> bool {
        self.mode.is_empty() || self.mode.eq_ignore_ascii_case("Enforce")
    }
}

/// The `TRA=ETR` entries of a `custom-data` (raw log) or `EventData` (cmdlet) value. Entries are
/// separated by `;`, each may start with `S:`, and its properties are `key=value` separated by
/// `|`: `S:TRA=ETR|ruleId=<guid>|st=<time>|action=<Action>|sev=1|mode=Enforce`.
pub fn etr_entries(custom: &str) -> Vec<EtrEntry> {
    let mut out = Vec::new();
    for part in custom.split(';') {
        let part = part.trim().trim_start_matches('[').trim_end_matches(']');
        let part = part.strip_prefix("S:").unwrap_or(part);
        let mut props = part.split('|');
        let Some(first) = props.next() else { continue };
        let is_etr = first
            .split_once('=')
            .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("TRA") && v.trim() == "ETR");
        if !is_etr {
            continue;
        }
        let mut entry = EtrEntry::default();
        for p in props {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            match k.trim().to_ascii_lowercase().as_str() {
                "ruleid" => v.trim().clone_into(&mut entry.rule_id),
                "action" => entry.actions.push(v.trim().to_owned()),
                "mode" => v.trim().clone_into(&mut entry.mode),
                _ => {}
            }
        }
        if !entry.rule_id.is_empty() {
            out.push(entry);
        }
    }
    out
}

/// The `RequiredTlsAuthLevel` of a `custom-data` or `EventData` value, in any of its forms:
/// `S:Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel=Opportunistic` (raw log),
/// `[Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel, Opportunistic]` (cmdlet).
pub fn required_tls_level(custom: &str) -> Option<String> {
    for part in custom.split(';') {
        let part = part.trim().trim_start_matches('{').trim_end_matches('}');
        let part = part.trim().trim_start_matches('[').trim_end_matches(']');
        let part = part.strip_prefix("S:").unwrap_or(part);
        let (key, value) = match part.split_once('=') {
            Some(kv) => kv,
            None => match part.split_once(',') {
                Some(kv) => kv,
                None => continue,
            },
        };
        if key.trim().ends_with("RequiredTlsAuthLevel") {
            let v = value.trim();
            if !v.is_empty() {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// `text` with the local part of every address replaced by a hash (`h-1a2b3c4d5e@domain`): the
/// same address gives the same hash, so messages can still be followed; the domain stays, as
/// the model compares by domain. A pseudonym, not anonymity: whoever guesses an address can
/// check the guess.
pub fn redact_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let local_char = |b: u8| b.is_ascii_alphanumeric() || b"._%+-'!#$&*/=?^`{|}~".contains(&b);
    let domain_char = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'@' {
            let mut start = i;
            while start > copied && local_char(bytes[start - 1]) {
                start -= 1;
            }
            let mut end = i + 1;
            while end < bytes.len() && domain_char(bytes[end]) {
                end += 1;
            }
            if start < i && end > i + 1 {
                out.push_str(&text[copied..start]);
                let address = text[start..end].to_lowercase();
                let digest = Sha256::digest(address.as_bytes());
                out.push_str("h-");
                for b in &digest[..5] {
                    let _ = write!(out, "{b:02x}");
                }
                out.push_str(&text[i..end]);
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// A tracking record (one CSV line) with its subject field (`subject`, by position) dropped
/// and every address hashed, written back as a CSV line.
pub fn redact_record(line: &str, subject: Option<usize>) -> String {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let Some(Ok(record)) = reader.records().next() else {
        return redact_text(line);
    };
    let fields: Vec<String> = record
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if Some(i) == subject && !f.is_empty() {
                "[subject removed]".to_owned()
            } else {
                redact_text(f)
            }
        })
        .collect();
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = writer.write_record(&fields);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etr_entries_are_read_from_custom_data() {
        let e = etr_entries(
            "S:TRA=ETR|ruleId=0b9a3a2c-1f5e-4c1a-9f0e-5c8d6f0e2a11|st=6/1/2026 8:00:00 AM|action=RouteMessageOutboundRequireTls|sev=1|mode=Enforce;S:TRA=ETRP|ruleId=x|st=y;S:TRA=ETR|ruleId=r2|action=SetHeader|mode=Audit",
        );
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].rule_id, "0b9a3a2c-1f5e-4c1a-9f0e-5c8d6f0e2a11");
        assert_eq!(e[0].actions, ["RouteMessageOutboundRequireTls"]);
        assert!(e[0].enforced());
        assert!(!e[1].enforced(), "Audit mode takes no action");
        assert!(etr_entries("S:E2ELatency=0.1;S:DeliveryPriority=Normal").is_empty());
    }

    #[test]
    fn the_required_level_is_read_in_each_form() {
        assert_eq!(
            required_tls_level(
                "S:E2ELatency=1;S:Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel=Opportunistic;S:DeliveryPriority=Normal"
            )
            .as_deref(),
            Some("Opportunistic")
        );
        assert_eq!(
            required_tls_level(
                "[E2ELatency, 1]; [Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel, EncryptionOnly]"
            )
            .as_deref(),
            Some("EncryptionOnly")
        );
        assert_eq!(required_tls_level("S:DeliveryPriority=Normal"), None);
    }

    #[test]
    fn redaction_hashes_local_parts_consistently() {
        let a = redact_text("MAIL FROM:<Alice@contoso.com> SIZE=1; to bob@fabrikam.com");
        assert!(!a.contains("Alice") && !a.contains("bob@"), "{a}");
        assert!(
            a.contains("@contoso.com") && a.contains("@fabrikam.com"),
            "{a}"
        );
        assert_eq!(
            redact_text("alice@contoso.com"),
            redact_text("ALICE@contoso.com")
        );
        assert_eq!(redact_text("no address @ here"), "no address @ here");
    }
}
