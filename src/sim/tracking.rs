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

/// Where tracking rows go.
pub trait TrackingSink {
    fn row(&mut self, row: &TrackingRow<'_>);
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
