//! The message tracking log as CSV (SPEC §6.2; reference §5): Exchange's header lines and field
//! names, one row per event per server, streamed through the writer it is given.

use std::io::Write;

use crate::model::Timestamp;
use crate::sim::{TrackingEvent, TrackingRow, TrackingSink};

/// Exchange's message tracking fields, in order (reference §5.2).
pub const FIELDS: &[&str] = &[
    "date-time",
    "client-ip",
    "client-hostname",
    "server-ip",
    "server-hostname",
    "source-context",
    "connector-id",
    "source",
    "event-id",
    "internal-message-id",
    "message-id",
    "network-message-id",
    "recipient-address",
    "recipient-status",
    "total-bytes",
    "recipient-count",
    "related-recipient-address",
    "reference",
    "message-subject",
    "sender-address",
    "return-path",
    "message-info",
    "directionality",
    "tenant-id",
    "original-client-ip",
    "original-server-ip",
    "custom-data",
    "transport-traffic-type",
    "log-id",
    "schema-version",
];

/// Writes tracking rows as CSV to `W`; the first I/O error is kept and reported by `finish`.
pub struct TrackingCsv<W: Write> {
    writer: csv::Writer<W>,
    start: Timestamp,
    error: Option<String>,
    rows: u64,
}

impl<W: Write> TrackingCsv<W> {
    pub fn new(mut out: W, start: Timestamp) -> Self {
        let header = format!(
            "#Software: Microsoft Exchange Server (simulated by tlsflow {})\n#Version: 15.02.0000.000\n#Log-type: Message Tracking Log\n#Date: {start}\n#Fields: {}\n",
            env!("CARGO_PKG_VERSION"),
            FIELDS.join(",")
        );
        let error = out
            .write_all(header.as_bytes())
            .err()
            .map(|e| e.to_string());
        let writer = csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(out);
        TrackingCsv {
            writer,
            start,
            error,
            rows: 0,
        }
    }

    /// Flushes; returns the number of rows written, or the first error.
    pub fn finish(mut self) -> Result<u64, String> {
        if let Err(e) = self.writer.flush() {
            self.error.get_or_insert(e.to_string());
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.rows),
        }
    }
}

impl<W: Write> TrackingSink for TrackingCsv<W> {
    fn row(&mut self, row: &TrackingRow<'_>) {
        if self.error.is_some() {
            return;
        }
        let when = Timestamp(
            self.start
                .0
                .saturating_add(i64::try_from(row.time_ms).unwrap_or(i64::MAX)),
        );
        let date = match jiff::Timestamp::from_millisecond(when.0) {
            Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            Err(_) => when.to_string(),
        };
        // RECEIVE is logged by the receiving server; every other event by the server acting.
        let (client, server) = if row.event == TrackingEvent::Receive {
            (row.server_hostname, row.server)
        } else {
            (row.server, row.server_hostname)
        };
        let internal = row.internal_message_id.to_string();
        let bytes = row.total_bytes.to_string();
        let count = row.recipients.len().to_string();
        let recipients = row.recipients.join(";");
        let record: [&str; 30] = [
            &date,
            "",
            client,
            "",
            server,
            row.source_context,
            row.connector_id,
            row.source,
            row.event.as_str(),
            &internal,
            row.message_id,
            row.message_id,
            &recipients,
            row.recipient_status,
            &bytes,
            &count,
            "",
            "",
            row.subject,
            row.sender,
            row.sender,
            "",
            row.directionality,
            "",
            "",
            "",
            row.custom_data,
            "Email",
            "",
            "15.02.0000.000",
        ];
        if let Err(e) = self.writer.write_record(record) {
            self.error = Some(e.to_string());
        }
        self.rows += 1;
    }
}
