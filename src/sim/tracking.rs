//! Message tracking rows (reference §5): what each server logs, with Exchange's event ids and
//! field names. The engine emits rows to a sink; writing them is the caller's business.

/// Exchange's event ids that tlsflow emits (reference §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackingEvent {
    Receive,
    AgentInfo,
    HaRedirect,
    Send,
    Defer,
    Fail,
    Dsn,
    Deliver,
}

impl TrackingEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingEvent::Receive => "RECEIVE",
            TrackingEvent::AgentInfo => "AGENTINFO",
            TrackingEvent::HaRedirect => "HAREDIRECT",
            TrackingEvent::Send => "SEND",
            TrackingEvent::Defer => "DEFER",
            TrackingEvent::Fail => "FAIL",
            TrackingEvent::Dsn => "DSN",
            TrackingEvent::Deliver => "DELIVER",
        }
    }
}

/// One row, borrowed from the engine for the duration of the call.
#[derive(Clone, Debug)]
pub struct TrackingRow<'a> {
    pub time_ms: u64,
    /// The server that logs the row.
    pub server: &'a str,
    pub client_hostname: &'a str,
    pub server_hostname: &'a str,
    pub source_context: &'a str,
    pub connector_id: &'a str,
    /// SMTP, STOREDRIVER, AGENT, QUEUE, DSN, ROUTING.
    pub source: &'a str,
    pub event: TrackingEvent,
    pub internal_message_id: u64,
    pub message_id: &'a str,
    pub recipients: &'a [&'a str],
    pub recipient_status: &'a str,
    pub total_bytes: u64,
    pub subject: &'a str,
    pub sender: &'a str,
    pub directionality: &'a str,
    pub custom_data: &'a str,
    /// `RequiredTlsAuthLevel` as logged in EventData (reference §3.6).
    pub required_tls: &'a str,
}

/// How one SMTP session to a host outside the organisation ended (`simulate --protocol-log`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd<'a> {
    /// The message was handed over (`250` after its content).
    Delivered,
    /// The connection failed, or the session stopped before the message (a required TLS that
    /// could not be had, a failed handshake): the response or error as logged.
    Failed(&'a str),
    /// The remote refused the recipients for good (a `5xx` reply).
    Refused(&'a str),
}

/// One SMTP Send session of an external hop, as the SmtpSend protocol log records it.
#[derive(Clone, Debug)]
pub struct SmtpSession<'a> {
    pub time_ms: u64,
    /// The sending server (its protocol log), and its FQDN for EHLO.
    pub server: &'a str,
    pub server_fqdn: &'a str,
    pub connector: &'a str,
    pub remote_host: &'a str,
    /// The remote's EHLO reply lists STARTTLS.
    pub starttls_offered: bool,
    /// The session issued STARTTLS.
    pub starttls_used: bool,
    /// `Some(protocol)` (`TLS1_2`) when the handshake succeeded.
    pub tls: Option<&'a str>,
    pub record_id: u64,
    pub message_id: &'a str,
    pub sender: &'a str,
    pub recipients: &'a [&'a str],
    pub size: u64,
    pub end: SessionEnd<'a>,
}

/// Where tracking rows go.
pub trait TrackingSink {
    fn row(&mut self, row: &TrackingRow<'_>);
    /// An SMTP Send session to outside the organisation (only when [`Self::wants_sessions`]).
    fn session(&mut self, _session: &SmtpSession<'_>) {}
    /// Whether sessions are wanted (`simulate --protocol-log`).
    fn wants_sessions(&self) -> bool {
        false
    }
    /// Whether rows are wanted at all (the engine skips building them otherwise).
    fn enabled(&self) -> bool {
        true
    }
}

/// Discards rows.
pub struct NullSink;

impl TrackingSink for NullSink {
    fn row(&mut self, _: &TrackingRow<'_>) {}

    fn enabled(&self) -> bool {
        false
    }
}
