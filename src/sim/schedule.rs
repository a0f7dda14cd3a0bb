//! Exchange's retry schedule for a delivery queue after a failed connection (reference §4.3):
//! up to `QueueGlitchRetryCount` retries `QueueGlitchRetryInterval` apart, then up to
//! `TransientFailureRetryCount` retries `TransientFailureRetryInterval` apart, then every
//! `OutboundConnectionFailureRetryInterval`. (The interleaving with `MessageRetryInterval` is
//! UNCONFIRMED in the reference; this is its suggested schedule.)

use crate::model::{Millis, TransportConfig};

/// The delay before the next attempt after the `failures`-th consecutive failure (1-based).
pub fn retry_delay(config: &TransportConfig, failures: u32) -> Millis {
    let glitch = config.queue_glitch_retry_count;
    let transient = config.transient_failure_retry_count;
    if failures <= glitch {
        config.queue_glitch_retry_interval
    } else if failures <= glitch + transient {
        config.transient_failure_retry_interval
    } else {
        config.outbound_connection_failure_retry_interval
    }
}
