//! SMTP Send protocol log sessions (reference §5; docs/evidence.md#logs): the lines of each
//! session (`date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,
//! event,data,context`; events `+` connect, `-` disconnect, `>` sent, `<` received, `*`
//! information) are followed as they come, interleaved with other sessions, and each message a
//! session carried is handed over when the next message starts or the session ends.
//!
//! What decides: whether `TLS protocol … negotiation succeeded` was logged before the message's
//! `sending message with RecordId … and InternetMessageId …` line, and whether its content was
//! sent (`DATA` or `BDAT`). Whether the remote offered STARTTLS is read from its EHLO reply,
//! logged as one line (`250 Hello … STARTTLS …`, 2016) or one line per keyword (`250-STARTTLS`,
//! 2013).

use std::collections::HashMap;
use std::io::Read;

use super::Mark;
use super::w3c::LogReader;

/// One message of one session, with the lines that show what happened to it.
#[derive(Clone, Debug)]
pub struct SessionMessage {
    /// The file, by its number in the run, and the server it belongs to when its path says.
    pub file: u32,
    pub server: Option<String>,
    /// From a Front End Transport log (`FrontEnd\ProtocolLog\SmtpSend`).
    pub frontend: bool,
    pub session: String,
    pub connector: String,
    /// `IP:port`, as logged.
    pub remote: String,
    /// The host part of `remote`.
    pub remote_host: String,
    /// Without its angle brackets, as the tracking log's `message-id` is compared.
    pub message_id: String,
    pub record_id: String,
    /// `TLS1_2` when TLS was negotiated before the message, else `None`.
    pub tls: Option<String>,
    pub starttls_offered: bool,
    /// `TLS negotiation failed …` was logged before the message.
    pub handshake_failed: bool,
    /// Each `RCPT TO` address (lower case) and its line.
    pub recipients: Vec<(String, Mark)>,
    /// The line that sent the content (`DATA`/`BDAT`).
    pub data_sent: Option<u64>,
    pub accepted: bool,
    /// The `TLS protocol … negotiation succeeded` line, if any.
    pub tls_line: Option<Mark>,
    /// The session's lines that matter (connect, offer, STARTTLS, TLS, the message, its data,
    /// the reply).
    lines: Vec<Mark>,
}

impl SessionMessage {
    /// The evidence for one recipient: the session's lines, with that recipient's `RCPT TO`.
    pub fn evidence_for(&self, rcpt: &str) -> Vec<Mark> {
        let mut out = self.lines.clone();
        out.extend(
            self.recipients
                .iter()
                .filter(|(r, _)| r == rcpt)
                .map(|(_, e)| *e),
        );
        out.sort_by_key(|e| e.line);
        out
    }
}

/// A session being read.
#[derive(Default)]
struct Session {
    connector: String,
    remote: String,
    starttls_offered: bool,
    tls: Option<String>,
    tls_line: Option<Mark>,
    handshake_failed: bool,
    /// Lines kept for every message of the session.
    lines: Vec<Mark>,
    current: Option<SessionMessage>,
}

/// The sessions of one file, by session id.
pub struct Sessions {
    file: u32,
    server: Option<String>,
    frontend: bool,
    open: HashMap<String, Session>,
    columns: Option<[Option<usize>; 6]>,
}

/// A normalised message id: without angle brackets, lower case.
pub fn normalise_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

impl Sessions {
    pub fn new(file: u32, server: Option<String>, frontend: bool) -> Sessions {
        Sessions {
            file,
            server,
            frontend,
            open: HashMap::new(),
            columns: None,
        }
    }

    /// Reads the current record of `r`; messages that are complete go to `done`.
    pub fn line<R: Read>(&mut self, r: &LogReader<R>, done: &mut dyn FnMut(SessionMessage)) {
        let [connector, session, remote, event, data, context] =
            *self.columns.get_or_insert_with(|| {
                [
                    r.index("connector-id"),
                    r.index("session-id"),
                    r.index("remote-endpoint"),
                    r.index("event"),
                    r.index("data"),
                    r.index("context"),
                ]
            });
        let get = |i: Option<usize>| i.map(|i| r.field(i)).unwrap_or_default();
        let id = get(session);
        if id.is_empty() {
            return;
        }
        let event = get(event);
        let data = get(data);
        let context = get(context);
        let file = self.file;
        let evidence = || r.mark(file);
        let s = self.open.entry(id.clone().into_owned()).or_default();
        if s.connector.is_empty() {
            s.connector = get(connector).into_owned();
        }
        let rem = get(remote);
        if !rem.is_empty() {
            s.remote = rem.into_owned();
        }
        match event.as_ref() {
            "+" => s.lines.push(evidence()),
            "<" => {
                let offers = data
                    .split(|c: char| c.is_whitespace() || c == '-')
                    .any(|w| w.eq_ignore_ascii_case("STARTTLS"));
                if offers && data.starts_with("250") && !s.starttls_offered {
                    s.starttls_offered = true;
                    s.lines.push(evidence());
                }
                if let Some(m) = &mut s.current
                    && m.data_sent.is_some()
                    && data.starts_with("250")
                    && !m.accepted
                {
                    m.accepted = true;
                    m.lines.push(evidence());
                }
            }
            ">" => {
                let upper = data.trim().to_ascii_uppercase();
                if upper == "STARTTLS" {
                    s.lines.push(evidence());
                } else if let Some(m) = &mut s.current {
                    if let Some(rest) = upper.strip_prefix("RCPT TO:") {
                        let addr = rest
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_lowercase();
                        m.recipients.push((addr, evidence()));
                    } else if (upper.starts_with("DATA") || upper.starts_with("BDAT"))
                        && m.data_sent.is_none()
                    {
                        m.data_sent = Some(r.line());
                        m.lines.push(evidence());
                    }
                }
            }
            "*" => {
                if context.starts_with("TLS negotiation failed") {
                    s.handshake_failed = true;
                    s.lines.push(evidence());
                } else if let Some(rest) = context.strip_prefix("TLS protocol ") {
                    if rest.contains("negotiation succeeded") {
                        let name = rest.split_whitespace().next().unwrap_or("");
                        s.tls = Some(protocol_name(name));
                        s.tls_line = Some(evidence());
                        s.lines.push(evidence());
                    }
                } else if let Some(rest) = context.strip_prefix("sending message with RecordId ") {
                    let (record, message) = rest
                        .split_once(" and InternetMessageId ")
                        .unwrap_or((rest, ""));
                    let remote_host = s
                        .remote
                        .rsplit_once(':')
                        .map_or(s.remote.as_str(), |(h, _)| h)
                        .to_owned();
                    let mut lines = s.lines.clone();
                    lines.push(evidence());
                    let m = SessionMessage {
                        file: self.file,
                        server: self.server.clone(),
                        frontend: self.frontend,
                        session: id.clone().into_owned(),
                        connector: s.connector.clone(),
                        remote: s.remote.clone(),
                        remote_host,
                        message_id: normalise_id(message),
                        record_id: record.trim().to_owned(),
                        tls: s.tls.clone(),
                        tls_line: s.tls_line,
                        starttls_offered: s.starttls_offered,
                        handshake_failed: s.handshake_failed,
                        recipients: Vec::new(),
                        data_sent: None,
                        accepted: false,
                        lines,
                    };
                    if let Some(previous) = s.current.replace(m) {
                        done(previous);
                    }
                }
            }
            "-" => {
                if let Some(mut s) = self.open.remove(id.as_ref())
                    && let Some(m) = s.current.take()
                {
                    done(m);
                }
            }
            _ => {}
        }
    }

    /// The end of the file: sessions still open hand over their last message.
    pub fn finish(&mut self, done: &mut dyn FnMut(SessionMessage)) {
        let mut ids: Vec<String> = self.open.keys().cloned().collect();
        ids.sort();
        for id in ids {
            if let Some(mut s) = self.open.remove(&id)
                && let Some(m) = s.current.take()
            {
                done(m);
            }
        }
    }
}

/// `SP_PROT_TLS1_2_CLIENT` -> `TLS1_2`; other names as logged.
fn protocol_name(schannel: &str) -> String {
    schannel.strip_prefix("SP_PROT_").map_or_else(
        || schannel.to_owned(),
        |p| {
            p.trim_end_matches("_CLIENT")
                .trim_end_matches("_SERVER")
                .to_owned()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "#Software: Microsoft Exchange Server\n#Version: 15.0.0.0\n#Log-type: SMTP Send Protocol Log\n#Date: 2022-10-19T08:44:41.856Z\n#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\n";

    fn messages(text: &str) -> Vec<SessionMessage> {
        let mut r = LogReader::new(text.as_bytes()).expect("reads");
        let mut s = Sessions::new(0, None, false);
        let mut out = Vec::new();
        while r.next_record().expect("reads") {
            s.line(&r, &mut |m| out.push(m));
        }
        s.finish(&mut |m| out.push(m));
        out
    }

    #[test]
    fn a_clear_text_session_and_a_tls_session_interleaved() {
        let text = format!(
            "{HEADER}\
2022-10-19T08:44:32.784Z,Internet,A1,0,,192.0.2.1:25,,SendRoutingHeaders,Set Session Permissions
2022-10-19T08:44:32.784Z,Internet,B2,0,,198.51.100.7:25,,,attempting to connect
2022-10-19T08:44:32.910Z,Internet,A1,2,10.0.0.1:10437,192.0.2.1:25,+,,
2022-10-19T08:44:32.911Z,Internet,B2,1,10.0.0.1:10438,198.51.100.7:25,+,,
2022-10-19T08:44:33.159Z,Internet,A1,5,10.0.0.1:10437,192.0.2.1:25,<,250 mx Hello [203.0.113.9] SIZE 1000000 HELP ENHANCEDSTATUSCODES OK,
2022-10-19T08:44:33.160Z,Internet,B2,2,10.0.0.1:10438,198.51.100.7:25,<,250-STARTTLS,
2022-10-19T08:44:33.161Z,Internet,B2,3,10.0.0.1:10438,198.51.100.7:25,>,STARTTLS,
2022-10-19T08:44:33.162Z,Internet,B2,4,10.0.0.1:10438,198.51.100.7:25,*,,\"TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits\"
2022-10-19T08:44:33.159Z,Internet,A1,6,10.0.0.1:10437,192.0.2.1:25,*,,sending message with RecordId 167503004549 and InternetMessageId <M1@contoso.com>
2022-10-19T08:44:33.163Z,Internet,B2,5,10.0.0.1:10438,198.51.100.7:25,*,,sending message with RecordId 7 and InternetMessageId <M2@contoso.com>
2022-10-19T08:44:33.281Z,Internet,A1,9,10.0.0.1:10437,192.0.2.1:25,>,RCPT TO:<Bob@Fabrikam.com>,
2022-10-19T08:44:33.282Z,Internet,B2,6,10.0.0.1:10438,198.51.100.7:25,>,RCPT TO:<eve@tailspin.com>,
2022-10-19T08:44:33.421Z,Internet,A1,11,10.0.0.1:10437,192.0.2.1:25,>,DATA,
2022-10-19T08:44:33.720Z,Internet,A1,13,10.0.0.1:10437,192.0.2.1:25,<,250 ok 1666169082 30910,
2022-10-19T08:44:33.722Z,Internet,A1,15,10.0.0.1:10437,192.0.2.1:25,-,,Remote
2022-10-19T08:44:33.723Z,Internet,B2,7,10.0.0.1:10438,198.51.100.7:25,>,BDAT 1234 LAST,
"
        );
        let m = messages(&text);
        assert_eq!(m.len(), 2);
        let clear = &m[0];
        assert_eq!(clear.message_id, "m1@contoso.com");
        assert_eq!(clear.record_id, "167503004549");
        assert_eq!(clear.tls, None);
        assert!(!clear.starttls_offered);
        assert_eq!(clear.recipients[0].0, "bob@fabrikam.com");
        assert_eq!(clear.data_sent, Some(18));
        assert!(clear.accepted);
        assert_eq!(clear.remote_host, "192.0.2.1");
        let lines: Vec<u64> = clear
            .evidence_for("bob@fabrikam.com")
            .iter()
            .map(|e| e.line)
            .collect();
        assert_eq!(lines, [8, 14, 16, 18, 19]);
        let tls = &m[1];
        assert_eq!(tls.tls.as_deref(), Some("TLS1_2"));
        assert!(tls.starttls_offered);
        assert_eq!(tls.data_sent, Some(21));
        assert!(!tls.accepted, "no reply logged before the end of the file");
    }

    #[test]
    fn a_failed_handshake_then_the_message_is_clear_text() {
        let text = format!(
            "{HEADER}\
2026-06-01T00:00:00.000Z,Internet,C3,0,10.0.0.1:1,192.0.2.9:25,<,250 mx Hello SIZE STARTTLS,
2026-06-01T00:00:00.000Z,Internet,C3,1,10.0.0.1:1,192.0.2.9:25,>,STARTTLS,
2026-06-01T00:00:00.000Z,Internet,C3,2,10.0.0.1:1,192.0.2.9:25,*,,TLS negotiation failed with error UnknownCredentials
2026-06-01T00:00:00.000Z,Internet,C3,3,10.0.0.1:1,192.0.2.9:25,*,,sending message with RecordId 9 and InternetMessageId <m@c>
2026-06-01T00:00:00.000Z,Internet,C3,4,10.0.0.1:1,192.0.2.9:25,>,DATA,
"
        );
        let m = messages(&text);
        assert_eq!(m.len(), 1);
        assert!(m[0].handshake_failed && m[0].starttls_offered);
        assert_eq!(m[0].tls, None);
        assert_eq!(m[0].data_sent, Some(10));
    }
}
