//! SMTP Send protocol logs as Exchange writes them (`simulate --protocol-log DIR`; issue 19):
//! one file per sending server, `DIR/<SERVER>/SmtpSend/SEND<yyyymmdd>-1.LOG`, the layout the
//! export script's `-CollectLogs` writes, so `tlsflow logs` reads both alike.
//!
//! Every line form comes from a public sample (docs/evidence.md#logs): the header and fields,
//! `attempting to connect`, the connect `+`, the banner, `EHLO`, the remote's EHLO reply on one
//! line (Exchange 2016), `STARTTLS` and `220 2.0.0 SMTP server ready`, `TLS protocol
//! SP_PROT_…_CLIENT negotiation succeeded using …`, `sending message with RecordId … and
//! InternetMessageId …`, `MAIL FROM`, `RCPT TO`, `DATA`, `354`, `QUIT` and the disconnect `-`.
//! Addresses and host IPs are documentation values: the remote's IP is 192.0.2.x (RFC 5737)
//! drawn from its name, the local one 10.0.0.x.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::model::Timestamp;
use crate::sim::{SessionEnd, SmtpSession};

/// The fields of an SMTP protocol log (reference §5; Microsoft Learn, Protocol logging).
pub const FIELDS: &str = "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context";

/// Writes sessions into a folder, one file per server; the first I/O error is kept.
pub struct ProtocolLog {
    root: PathBuf,
    start: Timestamp,
    files: BTreeMap<String, csv::Writer<BufWriter<File>>>,
    sessions: u64,
    error: Option<String>,
}

/// A small deterministic hash (FNV-1a) for documentation addresses.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl ProtocolLog {
    pub fn new(root: &Path, start: Timestamp) -> ProtocolLog {
        ProtocolLog {
            root: root.to_path_buf(),
            start,
            files: BTreeMap::new(),
            sessions: 0,
            error: None,
        }
    }

    fn date(&self, time_ms: u64) -> String {
        let when = self
            .start
            .0
            .saturating_add(i64::try_from(time_ms).unwrap_or(i64::MAX));
        match jiff::Timestamp::from_millisecond(when) {
            Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            Err(_) => Timestamp(when).to_string(),
        }
    }

    fn writer(&mut self, server: &str) -> Option<&mut csv::Writer<BufWriter<File>>> {
        if !self.files.contains_key(server) {
            let day = jiff::Timestamp::from_millisecond(self.start.0).map_or_else(
                |_| "19700101".to_owned(),
                |t| t.strftime("%Y%m%d").to_string(),
            );
            let dir = self.root.join(super::file_safe(server)).join("SmtpSend");
            let opened = std::fs::create_dir_all(&dir)
                .and_then(|()| File::create(dir.join(format!("SEND{day}-1.LOG"))))
                .and_then(|f| {
                    let mut out = BufWriter::new(f);
                    write!(
                        out,
                        "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n#Date: {}\r\n#Fields: {FIELDS}\r\n",
                        self.date(0)
                    )?;
                    Ok(out)
                });
            match opened {
                Ok(out) => {
                    let w = csv::WriterBuilder::new()
                        .has_headers(false)
                        .terminator(csv::Terminator::CRLF)
                        .from_writer(out);
                    self.files.insert(server.to_owned(), w);
                }
                Err(e) => {
                    self.error.get_or_insert(e.to_string());
                    return None;
                }
            }
        }
        self.files.get_mut(server)
    }

    /// Writes one session.
    pub fn session(&mut self, s: &SmtpSession<'_>) {
        if self.error.is_some() {
            return;
        }
        self.sessions += 1;
        let id = format!("08DE{:012X}", self.sessions);
        let date = self.date(s.time_ms);
        let remote = format!("192.0.2.{}:25", 1 + fnv(s.remote_host) % 254);
        let local_ip = format!("10.0.0.{}", 1 + fnv(s.server) % 254);
        let local = format!("{local_ip}:{}", 10_000 + self.sessions % 50_000);
        let mut lines: Vec<(&str, &str, String, String)> = Vec::new();
        // (event, endpoint?, data, context): `endpoint` "" before the connection.
        let mut push =
            |event: &'static str, connected: &'static str, data: String, context: String| {
                lines.push((event, connected, data, context));
            };
        push(
            "*",
            "",
            "SendRoutingHeaders".into(),
            "Set Session Permissions".into(),
        );
        push("*", "", String::new(), "attempting to connect".into());
        if let SessionEnd::Failed(why) = s.end
            && why.contains("Connection refused")
        {
            push("*", "", String::new(), format!("Failed to connect: {why}"));
            push("-", "", String::new(), "Local".into());
        } else {
            push("+", "y", String::new(), String::new());
            push(
                "<",
                "y",
                format!("220 {} ESMTP MAIL Service ready", s.remote_host),
                String::new(),
            );
            push(">", "y", format!("EHLO {}", s.server_fqdn), String::new());
            let hello = |tls_keyword: bool| {
                format!(
                    "250 {} Hello [{local_ip}] SIZE 36700160 PIPELINING DSN ENHANCEDSTATUSCODES{} 8BITMIME BINARYMIME CHUNKING",
                    s.remote_host,
                    if tls_keyword { " STARTTLS" } else { "" }
                )
            };
            push("<", "y", hello(s.starttls_offered), String::new());
            if s.starttls_used {
                push(">", "y", "STARTTLS".into(), String::new());
                push(
                    "<",
                    "y",
                    "220 2.0.0 SMTP server ready".into(),
                    String::new(),
                );
                match s.tls {
                    Some(protocol) => {
                        push(
                            "*",
                            "y",
                            String::new(),
                            format!(
                                "TLS protocol SP_PROT_{protocol}_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits"
                            ),
                        );
                        push(">", "y", format!("EHLO {}", s.server_fqdn), String::new());
                        push("<", "y", hello(false), String::new());
                    }
                    None => push(
                        "*",
                        "y",
                        String::new(),
                        "TLS negotiation failed with error UnknownCredentials".into(),
                    ),
                }
            }
            match s.end {
                SessionEnd::Failed(why) => {
                    push("*", "y", String::new(), why.to_owned());
                    push(">", "y", "QUIT".into(), String::new());
                    push("-", "y", String::new(), "Local".into());
                }
                SessionEnd::Delivered | SessionEnd::Refused(_) => {
                    push(
                        "*",
                        "y",
                        String::new(),
                        format!(
                            "sending message with RecordId {} and InternetMessageId {}",
                            s.record_id, s.message_id
                        ),
                    );
                    push(
                        ">",
                        "y",
                        format!("MAIL FROM:<{}> SIZE={}", s.sender, s.size),
                        String::new(),
                    );
                    push("<", "y", "250 2.1.0 Sender OK".into(), String::new());
                    for r in s.recipients {
                        push(">", "y", format!("RCPT TO:<{r}>"), String::new());
                        match s.end {
                            SessionEnd::Refused(status) => {
                                push("<", "y", status.to_owned(), String::new());
                            }
                            _ => push("<", "y", "250 2.1.5 Recipient OK".into(), String::new()),
                        }
                    }
                    if s.end == SessionEnd::Delivered {
                        push(">", "y", "DATA".into(), String::new());
                        push(
                            "<",
                            "y",
                            "354 Start mail input; end with <CRLF>.<CRLF>".into(),
                            String::new(),
                        );
                        push(
                            "<",
                            "y",
                            format!("250 2.6.0 {} Queued mail for delivery", s.message_id),
                            String::new(),
                        );
                    }
                    push(">", "y", "QUIT".into(), String::new());
                    push(
                        "<",
                        "y",
                        "221 2.0.0 Service closing transmission channel".into(),
                        String::new(),
                    );
                    push("-", "y", String::new(), "Local".into());
                }
            }
        }
        let connector = s.connector.to_owned();
        let Some(w) = self.writer(s.server) else {
            return;
        };
        let mut error = None;
        for (seq, (event, connected, data, context)) in lines.iter().enumerate() {
            let seq = seq.to_string();
            let local = if connected.is_empty() {
                ""
            } else {
                local.as_str()
            };
            if let Err(e) = w.write_record([
                date.as_str(),
                connector.as_str(),
                id.as_str(),
                seq.as_str(),
                local,
                remote.as_str(),
                event,
                data.as_str(),
                context.as_str(),
            ]) {
                error = Some(e.to_string());
                break;
            }
        }
        if let Some(e) = error {
            self.error.get_or_insert(e);
        }
    }

    /// Flushes every file; the number of sessions written, or the first error.
    pub fn finish(mut self) -> Result<u64, String> {
        for w in self.files.values_mut() {
            if let Err(e) = w.flush() {
                self.error.get_or_insert(e.to_string());
            }
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.sessions),
        }
    }
}

/// Both logs' sinks in one, for a run: tracking rows to `tracking`, sessions to `protocol`.
pub struct LogSinks<'a> {
    pub tracking: &'a mut dyn crate::sim::TrackingSink,
    pub protocol: Option<&'a mut ProtocolLog>,
}

impl crate::sim::TrackingSink for LogSinks<'_> {
    fn row(&mut self, row: &crate::sim::TrackingRow<'_>) {
        self.tracking.row(row);
    }

    fn enabled(&self) -> bool {
        self.tracking.enabled()
    }

    fn session(&mut self, session: &SmtpSession<'_>) {
        if let Some(p) = &mut self.protocol {
            p.session(session);
        }
    }

    fn wants_sessions(&self) -> bool {
        self.protocol.is_some()
    }
}
